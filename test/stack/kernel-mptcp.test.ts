/**
 * Issue 4, interop scenario 1 (one subflow): our MPTCP against the Linux kernel's MPTCP through a TUN device,
 * in both roles, 50 MB each way, SHA-256 equal, and the kernel's MPTcpExt counters (read with nstat in the
 * kernel's namespace) showing an MPTCP connection with no fallback.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { KERNEL_PEER, closed, exchange, jsonLines, kernelMib, kernelSkipReason, stateOf, tunPair, tunPaths, until, within } from '../support/kernel.js';
import { MptcpConnection } from '../../src/mptcp/connection.js';
import type { TcpSocket } from '../../src/api/socket.js';

const skip = kernelSkipReason();
const BYTES = 50_000_000;

test('MPTCP, one subflow: our client -> kernel MPTCP server, 50 MB each way', { skip, timeout: 120_000 }, async () => {
  const pair = tunPair(['198.18.0.2/24'], ['198.18.0.1/24']);
  try {
    const peer = pair.namespace.spawn('python3', [KERNEL_PEER, 'server', '198.18.0.1', '5201', String(BYTES), '--mptcp']);
    const out = jsonLines(peer);
    assert.deepEqual(await out.next(10_000), { listening: 5201 });
    const socket = pair.runtime.connect(5201, '198.18.0.1', { mptcp: true });
    await within(10_000, 'connect', once(socket, 'connect'));
    const ours = await within(90_000, '50 MB each way', exchange(socket, BYTES, 0x3117), stateOf(pair));
    const kernel = await out.next(60_000);
    const mib = kernelMib(pair);
    console.log(`# kernel MPTcpExt: ${[...mib].filter(([, v]) => v > 0).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    console.log(`# our counters: ${JSON.stringify(pair.runtime.host.mptcpCounters)}`);
    assert.equal(kernel['received'], BYTES);
    assert.equal(kernel['receivedSha256'], ours.sentSha256, 'the kernel received exactly what we sent');
    assert.equal(ours.received, BYTES);
    assert.equal(ours.receivedSha256, kernel['sentSha256'], 'we received exactly what the kernel sent');
    assert.equal(mib.get('MPCapableSYNRX'), 1, 'the kernel saw our MP_CAPABLE SYN');
    assert.equal(mib.get('MPCapableACKRX'), 1, 'and our third ACK with both keys');
    assert.equal(mib.get('MPCapableFallbackACK') ?? 0, 0, 'no fallback');
    assert.equal(mib.get('DSSNotMatching') ?? 0, 0);
    assert.equal(mib.get('DataCsumErr') ?? 0, 0);
    assert.equal(pair.runtime.host.mptcpCounters.MPCapableSYNACKRX, 1, 'we saw the kernel MP_CAPABLE SYN/ACK');
    assert.equal(pair.runtime.host.mptcpCounters.MPCapableFallbackSYNACK, 0);
    await within(10_000, 'close', closed(socket));
  } finally {
    pair.dispose();
  }
});

test('MPTCP, one subflow: kernel MPTCP client -> our MPTCP server, 50 MB each way', { skip, timeout: 120_000 }, async () => {
  const pair = tunPair(['198.18.0.2/24'], ['198.18.0.1/24']);
  try {
    const server = pair.runtime.createServer(undefined, undefined, { mptcp: true });
    server.listen(5201);
    await once(server, 'listening');
    const accepted = once(server, 'connection');
    const peer = pair.namespace.spawn('python3', [KERNEL_PEER, 'client', '198.18.0.2', '5201', String(BYTES), '--mptcp']);
    const out = jsonLines(peer);
    const [socket] = (await within(10_000, 'accept', accepted)) as [Duplex & { closed: boolean }];
    const ours = await within(90_000, '50 MB each way', exchange(socket, BYTES, 0x3117), stateOf(pair));
    const kernel = await out.next(60_000);
    const mib = kernelMib(pair);
    console.log(`# kernel MPTcpExt: ${[...mib].filter(([, v]) => v > 0).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    assert.equal(kernel['received'], BYTES);
    assert.equal(kernel['receivedSha256'], ours.sentSha256);
    assert.equal(ours.received, BYTES);
    assert.equal(ours.receivedSha256, kernel['sentSha256']);
    assert.equal(mib.get('MPCapableSYNACKRX'), 1, 'the kernel saw our MP_CAPABLE SYN/ACK');
    assert.equal(mib.get('MPCapableFallbackSYNACK') ?? 0, 0, 'no fallback');
    assert.equal(pair.runtime.host.mptcpCounters.MPCapableSYNRX, 1);
    assert.equal(pair.runtime.host.mptcpCounters.MPCapableACKRX, 1);
    await within(10_000, 'close', closed(socket));
    server.close();
  } finally {
    pair.dispose();
  }
});

test('MPTCP, two subflows: our client joins from its second address (MP_JOIN) to a kernel server, 30 MB each way', { skip, timeout: 120_000 }, async () => {
  const BYTES2 = 30_000_000;
  const paths = tunPaths([
    { ours: ['198.18.1.2/24'], kernel: ['198.18.1.1/24'] },
    { ours: ['198.18.2.2/24'], kernel: ['198.18.2.1/24'] },
  ]);
  try {
    paths.namespace.ip('mptcp', 'limits', 'set', 'subflows', '2', 'add_addr_accepted', '2');
    // Linux receives MP_JOIN SYNs on the listening socket: the peer keeps it open after accept().
    const peer = paths.namespace.spawn('python3', [KERNEL_PEER, 'server', '198.18.1.1', '5201', String(BYTES2), '--mptcp', '--keep-listening']);
    const out = jsonLines(peer);
    assert.deepEqual(await out.next(10_000), { listening: 5201 });
    const socket = paths.runtime.connect(5201, '198.18.1.1', { mptcp: true, localAddress: '198.18.1.2' });
    await within(10_000, 'connect', once(socket, 'connect'));
    paths.runtime.addSubflow(socket as TcpSocket, '198.18.2.2');
    const ours = await within(90_000, '30 MB each way over two subflows', exchange(socket, BYTES2, 0x3117), stateOf(paths));
    const kernel = await out.next(60_000);
    const mib = kernelMib(paths);
    const connection = (socket as TcpSocket).connection as MptcpConnection;
    assert.ok(connection instanceof MptcpConnection);
    const subflows = connection.subflowInfo();
    console.log(`# kernel MPTcpExt: ${[...mib].filter(([, v]) => v > 0).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    console.log(`# our counters: ${JSON.stringify(paths.runtime.host.mptcpCounters)}`);
    console.log(`# our subflows (data bytes sent / received): ${subflows.map((s) => `${s.id}${s.join ? ' join' : ''} ${s.dataBytesSent}/${s.dataBytesReceived}`).join(', ')}`);
    assert.equal(kernel['received'], BYTES2);
    assert.equal(kernel['receivedSha256'], ours.sentSha256, 'the kernel received exactly what we sent');
    assert.equal(ours.received, BYTES2);
    assert.equal(ours.receivedSha256, kernel['sentSha256'], 'we received exactly what the kernel sent');
    assert.equal(mib.get('MPJoinSynRx'), 1, 'the kernel saw our MP_JOIN SYN');
    assert.equal(mib.get('MPJoinAckRx'), 1, 'and our third ACK with a valid HMAC');
    assert.equal(mib.get('MPJoinAckHMacFailure') ?? 0, 0);
    assert.equal(mib.get('DSSNotMatching') ?? 0, 0);
    const c = paths.runtime.host.mptcpCounters;
    assert.equal(c.MPJoinSynAckRx, 1, 'we verified the kernel SYN/ACK HMAC');
    assert.equal(c.MPJoinSynAckHMacFailure, 0);
    assert.equal(subflows.length, 2);
    for (const s of subflows) {
      assert.ok(s.dataBytesSent > 0, `subflow ${s.id} sent data`);
      assert.ok(s.dataBytesReceived > 0, `subflow ${s.id} received data`);
    }
    await within(10_000, 'close', closed(socket as TcpSocket));
  } finally {
    paths.dispose();
  }
});

test('MPTCP scenario 3: the kernel server signals its second address (ADD_ADDR); our client echoes and joins it', { skip, timeout: 120_000 }, async () => {
  const BYTES3 = 20_000_000;
  const paths = tunPaths([
    { ours: ['198.18.1.2/24'], kernel: ['198.18.1.1/24'] },
    { ours: ['198.18.2.2/24'], kernel: ['198.18.2.1/24'] },
  ]);
  try {
    paths.namespace.ip('mptcp', 'limits', 'set', 'subflows', '2', 'add_addr_accepted', '2');
    paths.namespace.ip('mptcp', 'endpoint', 'add', '198.18.2.1', 'dev', paths.tuns[1]!.name, 'signal');
    paths.runtime.host.setMptcpLimits('subflows 2 add_addr_accepted 1');
    // Bound to the wildcard address: the join to the announced address (no port) needs a listener there.
    const peer = paths.namespace.spawn('python3', [KERNEL_PEER, 'server', '0.0.0.0', '5201', String(BYTES3), '--mptcp', '--keep-listening']);
    const out = jsonLines(peer);
    assert.deepEqual(await out.next(10_000), { listening: 5201 });
    const socket = paths.runtime.connect(5201, '198.18.1.1', { mptcp: true, localAddress: '198.18.1.2' });
    await within(10_000, 'connect', once(socket, 'connect'));
    const ours = await within(90_000, '20 MB each way', exchange(socket, BYTES3, 0x3117), stateOf(paths));
    const kernel = await out.next(60_000);
    const mib = kernelMib(paths);
    const connection = (socket as TcpSocket).connection as MptcpConnection;
    const subflows = connection.subflowInfo();
    const c = paths.runtime.host.mptcpCounters;
    console.log(`# kernel MPTcpExt: ${[...mib].filter(([, v]) => v > 0).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    console.log(`# our counters: ${JSON.stringify(c)}`);
    console.log(`# our subflows (data bytes sent / received): ${subflows.map((s) => `${s.id}${s.join ? ' join' : ''} ${s.dataBytesSent}/${s.dataBytesReceived}`).join(', ')}`);
    assert.equal(kernel['receivedSha256'], ours.sentSha256, 'the kernel received exactly what we sent');
    assert.equal(ours.receivedSha256, kernel['sentSha256'], 'we received exactly what the kernel sent');
    assert.equal(c.AddAddr, 1, 'we verified the kernel ADD_ADDR HMAC');
    assert.equal(c.AddAddrDrop, 0);
    assert.ok(c.EchoAddTx >= 1);
    assert.ok((mib.get('AddAddrTx') ?? 0) >= 1, 'the kernel sent ADD_ADDR');
    assert.equal(mib.get('EchoAdd'), 1, 'the kernel received our echo');
    assert.equal(mib.get('MPJoinSynRx'), 1, 'and our MP_JOIN to its announced address');
    assert.equal(mib.get('MPJoinAckRx'), 1);
    assert.equal(subflows.length, 2);
    assert.deepEqual([...subflows[1]!.endpoints.remoteAddress], [198, 18, 2, 1]);
    assert.ok(subflows.every((s) => s.dataBytesSent > 0), 'data on both subflows');
    await within(10_000, 'close', closed(socket as TcpSocket));
  } finally {
    paths.dispose();
  }
});


test('MPTCP scenario 4: our server signals its second address; a kernel client with add_addr_accepted 1 joins it', { skip, timeout: 120_000 }, async () => {
  const BYTES4 = 20_000_000;
  const paths = tunPaths([
    { ours: ['198.18.1.2/24'], kernel: ['198.18.1.1/24'] },
    { ours: ['198.18.2.2/24'], kernel: ['198.18.2.1/24'] },
  ]);
  try {
    paths.namespace.ip('mptcp', 'limits', 'set', 'add_addr_accepted', '1', 'subflows', '2');
    paths.runtime.host.setMptcpEndpoints(['198.18.2.2 signal']);
    const server = paths.runtime.createServer(undefined, undefined, { mptcp: true });
    server.listen(5201);
    await once(server, 'listening');
    const accepted = once(server, 'connection');
    const peer = paths.namespace.spawn('python3', [KERNEL_PEER, 'client', '198.18.1.2', '5201', String(BYTES4), '--mptcp']);
    const out = jsonLines(peer);
    const [socket] = (await within(10_000, 'accept', accepted)) as [TcpSocket];
    const ours = await within(90_000, '20 MB each way', exchange(socket, BYTES4, 0x3117), stateOf(paths));
    const kernel = await out.next(60_000);
    const mib = kernelMib(paths);
    const connection = socket.connection as MptcpConnection;
    const subflows = connection.subflowInfo();
    const c = paths.runtime.host.mptcpCounters;
    console.log(`# kernel MPTcpExt: ${[...mib].filter(([, v]) => v > 0).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    console.log(`# our counters: ${JSON.stringify(c)}`);
    console.log(`# our subflows (data bytes sent / received): ${subflows.map((s) => `${s.id}${s.join ? ' join' : ''} ${s.dataBytesSent}/${s.dataBytesReceived}`).join(', ')}`);
    const diag = () => `kernel ${JSON.stringify(Object.fromEntries([...mib].filter(([, v]) => v > 0)))}; ours ${JSON.stringify(c)}; subflows ${subflows.length}`;
    assert.equal(kernel['receivedSha256'], ours.sentSha256);
    assert.equal(ours.receivedSha256, kernel['sentSha256']);
    // At least once: a retransmitted ADD_ADDR (no echo in time) is counted again by the kernel.
    assert.ok((mib.get('AddAddr') ?? 0) >= 1, `the kernel accepted our ADD_ADDR (HMAC verified): ${diag()}`);
    assert.ok((mib.get('EchoAddTx') ?? 0) >= 1, diag());
    assert.equal(mib.get('MPJoinSynAckRx'), 1, `the kernel joined our announced address: ${diag()}`);
    assert.ok(c.AddAddrTx >= 1, diag());
    assert.ok(c.EchoAdd >= 1, `we received the kernel echo: ${diag()}`);
    assert.equal(c.MPJoinSynRx, 1, diag());
    assert.equal(c.MPJoinAckRx, 1, diag());
    assert.equal(subflows.length, 2, diag());
    assert.deepEqual([...subflows[1]!.endpoints.localAddress], [198, 18, 2, 2]);
    assert.equal(subflows[1]!.localAddressId, 1);
    await within(10_000, 'close', closed(socket));
    server.close();
  } finally {
    paths.dispose();
  }
});

test('MPTCP scenario 7: our client marks its joined subflow backup with MP_PRIO; the kernel counts MPPrioRx', { skip, timeout: 120_000 }, async () => {
  const BYTES7 = 20_000_000;
  const paths = tunPaths([
    { ours: ['198.18.1.2/24'], kernel: ['198.18.1.1/24'] },
    { ours: ['198.18.2.2/24'], kernel: ['198.18.2.1/24'] },
  ]);
  try {
    paths.namespace.ip('mptcp', 'limits', 'set', 'subflows', '2', 'add_addr_accepted', '2');
    const peer = paths.namespace.spawn('python3', [KERNEL_PEER, 'server', '198.18.1.1', '5201', String(BYTES7), '--mptcp', '--keep-listening']);
    const out = jsonLines(peer);
    assert.deepEqual(await out.next(10_000), { listening: 5201 });
    const socket = paths.runtime.connect(5201, '198.18.1.1', { mptcp: true, localAddress: '198.18.1.2' });
    await within(10_000, 'connect', once(socket, 'connect'));
    const connection = (socket as TcpSocket).connection as MptcpConnection;
    paths.runtime.addSubflow(socket as TcpSocket, '198.18.2.2');
    const exchanged = exchange(socket, BYTES7, 0x3117);
    await until(() => connection.subflowInfo()[1]?.fullyEstablished === true, 'the joined subflow');
    const joinId = connection.subflowInfo()[1]!.id;
    assert.equal(connection.setBackup(joinId, true), true);
    paths.runtime.kick();
    const ours = await within(90_000, '20 MB each way', exchanged, stateOf(paths));
    const kernel = await out.next(60_000);
    const mib = kernelMib(paths);
    const subflows = connection.subflowInfo();
    const c = paths.runtime.host.mptcpCounters;
    console.log(`# kernel MPTcpExt: ${[...mib].filter(([, v]) => v > 0).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    console.log(`# our subflows (data bytes sent / received): ${subflows.map((s) => `${s.id}${s.join ? ' join' : ''}${s.backupLocal ? ' backup' : ''} ${s.dataBytesSent}/${s.dataBytesReceived}`).join(', ')}`);
    assert.equal(kernel['receivedSha256'], ours.sentSha256, 'the kernel received exactly what we sent');
    assert.equal(ours.receivedSha256, kernel['sentSha256'], 'we received exactly what the kernel sent');
    assert.equal(c.MPPrioTx, 1);
    assert.equal(mib.get('MPPrioRx'), 1, 'the kernel received our MP_PRIO');
    assert.equal(subflows[1]!.backupLocal, true);
    await within(10_000, 'close', closed(socket as TcpSocket));
  } finally {
    paths.dispose();
  }
});

test('MPTCP scenario 8: our client sends MP_FASTCLOSE in mid-transfer; the kernel socket fails (MPFastcloseRx)', { skip, timeout: 120_000 }, async () => {
  const pair = tunPair(['198.18.0.2/24'], ['198.18.0.1/24']);
  try {
    const peer = pair.namespace.spawn('python3', [KERNEL_PEER, 'server', '198.18.0.1', '5201', String(BYTES), '--mptcp']);
    const out = jsonLines(peer);
    assert.deepEqual(await out.next(10_000), { listening: 5201 });
    const socket = pair.runtime.connect(5201, '198.18.0.1', { mptcp: true });
    await within(10_000, 'connect', once(socket, 'connect'));
    const connection = (socket as TcpSocket).connection as MptcpConnection;
    let received = 0;
    let error: NodeJS.ErrnoException | undefined;
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e));
    const gone = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (b: Buffer) => {
      received += b.length;
      if (received >= 2_000_000 && !error) connection.fastClose();
      pair.runtime.kick();
    });
    await within(30_000, 'our socket closed', gone, stateOf(pair));
    const kernel = await out.next(30_000);
    const mib = kernelMib(pair);
    console.log(`# kernel: ${JSON.stringify({ ...kernel, ss: undefined })}; MPTcpExt: ${[...mib].filter(([, v]) => v > 0).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    assert.ok(received < BYTES, `we stopped in mid-transfer (${received})`);
    assert.ok(kernel['recvError'] || kernel['sendError'], 'the kernel socket failed');
    assert.ok((kernel['sent'] as number) < BYTES, 'the kernel did not finish sending');
    assert.equal(mib.get('MPFastcloseRx'), 1, 'the kernel counted our MP_FASTCLOSE');
    assert.ok(pair.runtime.host.mptcpCounters.MPFastcloseTx >= 1);
    assert.equal(error?.code ?? 'ECONNABORTED', 'ECONNABORTED');
  } finally {
    pair.dispose();
  }
});

test('MPTCP scenario 8: the kernel closes with SO_LINGER {1,0} in mid-transfer (MP_FASTCLOSE); our socket gets ECONNRESET', { skip, timeout: 120_000 }, async () => {
  const pair = tunPair(['198.18.0.2/24'], ['198.18.0.1/24']);
  try {
    const peer = pair.namespace.spawn('python3', [KERNEL_PEER, 'server', '198.18.0.1', '5201', '0', '--mptcp', '--abort-after', '2000000']);
    const out = jsonLines(peer);
    assert.deepEqual(await out.next(10_000), { listening: 5201 });
    const socket = pair.runtime.connect(5201, '198.18.0.1', { mptcp: true });
    await within(10_000, 'connect', once(socket, 'connect'));
    let error: NodeJS.ErrnoException | undefined;
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e));
    socket.on('data', () => {});
    const gone = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const chunk = Buffer.alloc(64 * 1024, 7);
    let written = 0;
    void (async () => {
      while (!error && !(socket as TcpSocket).destroyed && written < BYTES) {
        written += chunk.length;
        if (!socket.write(chunk)) await Promise.race([once(socket, 'drain'), gone]);
      }
    })().catch(() => {});
    await within(30_000, 'our socket closed', gone, stateOf(pair));
    const kernel = await out.next(30_000);
    const mib = kernelMib(pair);
    const c = pair.runtime.host.mptcpCounters;
    console.log(`# kernel: ${JSON.stringify(kernel)}; MPTcpExt: ${[...mib].filter(([, v]) => v > 0).map(([k, v]) => `${k}=${v}`).join(' ')}; ours: MPFastcloseRx=${c.MPFastcloseRx}`);
    assert.equal(kernel['aborted'], true);
    assert.ok(written < BYTES, `the transfer stopped in mid-way (${written})`);
    assert.equal(error?.code, 'ECONNRESET');
    assert.equal(c.MPFastcloseRx, 1, 'we received the kernel MP_FASTCLOSE');
    assert.equal(mib.get('MPFastcloseTx'), 1, 'the kernel sent it');
  } finally {
    pair.dispose();
  }
});

test('MPTCP scenario 5: our client deletes its endpoint 2 in mid-transfer (RM_ADDR); the kernel counts RmAddr, data intact', { skip, timeout: 120_000 }, async () => {
  const BYTES5 = 20_000_000;
  const paths = tunPaths([
    { ours: ['198.18.1.2/24'], kernel: ['198.18.1.1/24'] },
    { ours: ['198.18.2.2/24'], kernel: ['198.18.2.1/24'] },
  ]);
  try {
    paths.namespace.ip('mptcp', 'limits', 'set', 'subflows', '2', 'add_addr_accepted', '2');
    paths.runtime.host.setMptcpEndpoints(['198.18.2.2 id 2 subflow']);
    const peer = paths.namespace.spawn('python3', [KERNEL_PEER, 'server', '198.18.1.1', '5201', String(BYTES5), '--mptcp', '--keep-listening']);
    const out = jsonLines(peer);
    assert.deepEqual(await out.next(10_000), { listening: 5201 });
    const socket = paths.runtime.connect(5201, '198.18.1.1', { mptcp: true, localAddress: '198.18.1.2' });
    await within(10_000, 'connect', once(socket, 'connect'));
    const connection = (socket as TcpSocket).connection as MptcpConnection;
    const exchanged = exchange(socket, BYTES5, 0x3117);
    await until(() => connection.subflowInfo()[1]?.fullyEstablished === true && connection.mptcpInfo().bytesReceived > 2_000_000, 'the joined subflow and some data');
    const atRemoval = connection.mptcpInfo().bytesReceived;
    assert.equal(paths.runtime.host.removeMptcpEndpoint(2), 1, 'one subflow closed');
    paths.runtime.kick();
    const ours = await within(90_000, '20 MB each way', exchanged, stateOf(paths));
    const kernel = await out.next(60_000);
    const mib = kernelMib(paths);
    const subflows = connection.subflowInfo();
    const c = paths.runtime.host.mptcpCounters;
    console.log(`# removed at ${atRemoval} bytes received; kernel MPTcpExt: ${[...mib].filter(([, v]) => v > 0).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    console.log(`# our subflows (data bytes sent / received): ${subflows.map((s) => `${s.id}${s.join ? ' join' : ''} ${s.state} ${s.dataBytesSent}/${s.dataBytesReceived}`).join(', ')}`);
    assert.ok(atRemoval < BYTES5, 'removed in mid-transfer');
    assert.equal(kernel['receivedSha256'], ours.sentSha256, 'the kernel received exactly what we sent');
    assert.equal(ours.receivedSha256, kernel['sentSha256'], 'we received exactly what the kernel sent');
    assert.equal(mib.get('RmAddr'), 1, 'the kernel received our RM_ADDR');
    assert.equal(c.RmAddrTx, 1);
    assert.equal(c.RmSubflow, 1);
    assert.equal(subflows.length, 2, 'no re-join');
    assert.equal(subflows[1]!.state, 'CLOSED', 'the subflow is gone');
    await within(10_000, 'close', closed(socket as TcpSocket));
  } finally {
    paths.dispose();
  }
});

test('MPTCP scenario 5: the kernel server deletes its signalled endpoint in mid-transfer (RM_ADDR); we count RmAddr, data intact', { skip, timeout: 120_000 }, async () => {
  const BYTES5 = 20_000_000;
  const paths = tunPaths([
    { ours: ['198.18.1.2/24'], kernel: ['198.18.1.1/24'] },
    { ours: ['198.18.2.2/24'], kernel: ['198.18.2.1/24'] },
  ]);
  try {
    paths.namespace.ip('mptcp', 'limits', 'set', 'subflows', '2', 'add_addr_accepted', '2');
    paths.namespace.ip('mptcp', 'endpoint', 'add', '198.18.2.1', 'dev', paths.tuns[1]!.name, 'id', '2', 'signal');
    paths.runtime.host.setMptcpLimits('subflows 2 add_addr_accepted 1');
    const peer = paths.namespace.spawn('python3', [KERNEL_PEER, 'server', '0.0.0.0', '5201', String(BYTES5), '--mptcp', '--keep-listening']);
    const out = jsonLines(peer);
    assert.deepEqual(await out.next(10_000), { listening: 5201 });
    const socket = paths.runtime.connect(5201, '198.18.1.1', { mptcp: true, localAddress: '198.18.1.2' });
    await within(10_000, 'connect', once(socket, 'connect'));
    const connection = (socket as TcpSocket).connection as MptcpConnection;
    const exchanged = exchange(socket, BYTES5, 0x3117);
    await until(() => connection.subflowInfo()[1]?.fullyEstablished === true && connection.mptcpInfo().bytesReceived > 2_000_000, 'the joined subflow and some data');
    const atRemoval = connection.mptcpInfo().bytesReceived;
    paths.namespace.ip('mptcp', 'endpoint', 'delete', 'id', '2');
    const c = paths.runtime.host.mptcpCounters;
    await until(() => c.RmAddr > 0, 'the RM_ADDR');
    const ours = await within(90_000, '20 MB each way', exchanged, stateOf(paths));
    const kernel = await out.next(60_000);
    const mib = kernelMib(paths);
    const subflows = connection.subflowInfo();
    console.log(`# removed at ${atRemoval} bytes received; kernel MPTcpExt: ${[...mib].filter(([, v]) => v > 0).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    console.log(`# our counters: ${JSON.stringify(c)}`);
    console.log(`# our subflows (data bytes sent / received): ${subflows.map((s) => `${s.id}${s.join ? ' join' : ''} ${s.state} ${s.dataBytesSent}/${s.dataBytesReceived}`).join(', ')}`);
    assert.ok(atRemoval < BYTES5, 'removed in mid-transfer');
    assert.equal(kernel['receivedSha256'], ours.sentSha256, 'the kernel received exactly what we sent');
    assert.equal(ours.receivedSha256, kernel['sentSha256'], 'we received exactly what the kernel sent');
    assert.equal(c.RmAddr, 1, 'we received the kernel RM_ADDR');
    assert.equal(subflows.length, 2, 'no re-join of the removed address');
    assert.equal(subflows[1]!.state, 'CLOSED', 'the subflow is gone');
    assert.ok((mib.get('RmAddrTx') ?? 1) >= 1);
    await within(10_000, 'close', closed(socket as TcpSocket));
  } finally {
    paths.dispose();
  }
});
