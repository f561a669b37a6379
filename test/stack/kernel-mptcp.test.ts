/**
 * Issue 4, interop scenario 1 (one subflow): our MPTCP against the Linux kernel's MPTCP through a TUN device,
 * in both roles, 50 MB each way, SHA-256 equal, and the kernel's MPTcpExt counters (read with nstat in the
 * kernel's namespace) showing an MPTCP connection with no fallback.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { kernelMib, kernelSkipReason, stateOf, tunPair, tunPaths, until, within } from '../support/kernel.js';
import {
  TWO_PATHS,
  assertKernelAddAddrEchoed,
  closeRun,
  configurePathManagers,
  joinedAndUnderway,
  kernelClientToOurServer,
  logAndAssertIntact,
  nonZero,
  ourClientToKernelServer,
  startTransfer,
  subflowLine,
  transfer,
} from '../support/kernel-mptcp.js';
import { MptcpConnection } from '../../src/mptcp/connection.js';

const skip = kernelSkipReason();
const BYTES = 50_000_000;
/** The one-subflow topology: us at 198.18.0.2, the kernel at 198.18.0.1. */
const onePair = () => tunPair(['198.18.0.2/24'], ['198.18.0.1/24']);

test('MPTCP, one subflow: our client -> kernel MPTCP server, 50 MB each way', { skip, timeout: 120_000 }, async () => {
  const pair = onePair();
  try {
    const run = await ourClientToKernelServer(pair, { to: '198.18.0.1', bytes: BYTES });
    const outcome = await transfer(run, 90_000);
    const { mib, counters: c } = outcome;
    logAndAssertIntact(run, outcome);
    assert.equal(mib.get('MPCapableSYNRX'), 1, 'the kernel saw our MP_CAPABLE SYN');
    assert.equal(mib.get('MPCapableACKRX'), 1, 'and our third ACK with both keys');
    assert.equal(mib.get('MPCapableFallbackACK') ?? 0, 0, 'no fallback');
    assert.equal(mib.get('DSSNotMatching') ?? 0, 0);
    assert.equal(mib.get('DataCsumErr') ?? 0, 0);
    assert.equal(c.MPCapableSYNACKRX, 1, 'we saw the kernel MP_CAPABLE SYN/ACK');
    assert.equal(c.MPCapableFallbackSYNACK, 0);
    await closeRun(run);
  } finally {
    pair.dispose();
  }
});

test('MPTCP, one subflow: kernel MPTCP client -> our MPTCP server, 50 MB each way', { skip, timeout: 120_000 }, async () => {
  const pair = onePair();
  try {
    const run = await kernelClientToOurServer(pair, { to: '198.18.0.2', bytes: BYTES });
    const outcome = await transfer(run, 90_000);
    const { mib, counters: c } = outcome;
    logAndAssertIntact(run, outcome);
    assert.equal(mib.get('MPCapableSYNACKRX'), 1, 'the kernel saw our MP_CAPABLE SYN/ACK');
    assert.equal(mib.get('MPCapableFallbackSYNACK') ?? 0, 0, 'no fallback');
    assert.equal(c.MPCapableSYNRX, 1);
    assert.equal(c.MPCapableACKRX, 1);
    await closeRun(run);
  } finally {
    pair.dispose();
  }
});

test('MPTCP, two subflows: our client joins from its second address (MP_JOIN) to a kernel server, 30 MB each way', { skip, timeout: 120_000 }, async () => {
  const BYTES2 = 30_000_000;
  const paths = tunPaths(TWO_PATHS);
  try {
    configurePathManagers(paths, { kernel: { limits: 'subflows 2 add_addr_accepted 2' } });
    // Linux receives MP_JOIN SYNs on the listening socket: the peer keeps it open after accept().
    const run = await ourClientToKernelServer(paths, { to: '198.18.1.1', localAddress: '198.18.1.2', bytes: BYTES2, flags: ['--mptcp', '--keep-listening'] });
    paths.runtime.addSubflow(run.socket, '198.18.2.2');
    const outcome = await transfer(run, 90_000);
    const { mib, counters: c } = outcome;
    const connection = run.socket.connection;
    assert.ok(connection instanceof MptcpConnection);
    const subflows = connection.subflowInfo();
    logAndAssertIntact(run, outcome);
    assert.equal(mib.get('MPJoinSynRx'), 1, 'the kernel saw our MP_JOIN SYN');
    assert.equal(mib.get('MPJoinAckRx'), 1, 'and our third ACK with a valid HMAC');
    assert.equal(mib.get('MPJoinAckHMacFailure') ?? 0, 0);
    assert.equal(mib.get('DSSNotMatching') ?? 0, 0);
    assert.equal(c.MPJoinSynAckRx, 1, 'we verified the kernel SYN/ACK HMAC');
    assert.equal(c.MPJoinSynAckHMacFailure, 0);
    assert.equal(subflows.length, 2);
    for (const s of subflows) {
      assert.ok(s.dataBytesSent > 0, `subflow ${s.id} sent data`);
      assert.ok(s.dataBytesReceived > 0, `subflow ${s.id} received data`);
    }
    await closeRun(run);
  } finally {
    paths.dispose();
  }
});

test('MPTCP scenario 3: the kernel server signals its second address (ADD_ADDR); our client echoes and joins it', { skip, timeout: 120_000 }, async () => {
  const BYTES3 = 20_000_000;
  const paths = tunPaths(TWO_PATHS);
  try {
    configurePathManagers(paths, {
      kernel: { limits: 'subflows 2 add_addr_accepted 2', endpoints: [`198.18.2.1 dev ${paths.tuns[1]!.name} signal`] },
      ours: { limits: 'subflows 2 add_addr_accepted 1' },
    });
    // Bound to the wildcard address: the join to the announced address (no port) needs a listener there.
    const run = await ourClientToKernelServer(paths, { listen: '0.0.0.0', to: '198.18.1.1', localAddress: '198.18.1.2', bytes: BYTES3, flags: ['--mptcp', '--keep-listening'] });
    const outcome = await transfer(run, 90_000);
    const { mib, counters: c } = outcome;
    const subflows = run.connection.subflowInfo();
    logAndAssertIntact(run, outcome);
    assertKernelAddAddrEchoed(outcome);
    assert.equal(mib.get('MPJoinSynRx'), 1, 'and our MP_JOIN to its announced address');
    assert.equal(mib.get('MPJoinAckRx'), 1);
    assert.equal(subflows.length, 2);
    assert.deepEqual([...subflows[1]!.endpoints.remoteAddress], [198, 18, 2, 1]);
    assert.ok(subflows.every((s) => s.dataBytesSent > 0), 'data on both subflows');
    await closeRun(run);
  } finally {
    paths.dispose();
  }
});

test('MPTCP scenario 4: our server signals its second address; a kernel client with add_addr_accepted 1 joins it', { skip, timeout: 120_000 }, async () => {
  const BYTES4 = 20_000_000;
  const paths = tunPaths(TWO_PATHS);
  try {
    configurePathManagers(paths, { kernel: { limits: 'add_addr_accepted 1 subflows 2' }, ours: { endpoints: ['198.18.2.2 signal'] } });
    const run = await kernelClientToOurServer(paths, { to: '198.18.1.2', bytes: BYTES4 });
    const outcome = await transfer(run, 90_000);
    const { mib, counters: c } = outcome;
    const subflows = run.connection.subflowInfo();
    logAndAssertIntact(run, outcome);
    const diag = () => `kernel ${JSON.stringify(Object.fromEntries([...mib].filter(([, v]) => v > 0)))}; ours ${JSON.stringify(c)}; subflows ${subflows.length}`;
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
    await closeRun(run);
  } finally {
    paths.dispose();
  }
});

test('MPTCP scenario 4 with a port: our server signals 198.18.2.2 port 5300 (no listener there); the kernel client joins that port', { skip, timeout: 120_000 }, async () => {
  const BYTES = 10_000_000;
  const paths = tunPaths(TWO_PATHS);
  try {
    configurePathManagers(paths, { kernel: { limits: 'add_addr_accepted 1 subflows 2' }, ours: { endpoints: ['198.18.2.2 id 2 port 5300 signal'] } });
    const run = await kernelClientToOurServer(paths, { to: '198.18.1.2', bytes: BYTES });
    const outcome = await transfer(run, 90_000);
    const { mib, counters: c } = outcome;
    const subflows = run.connection.subflowInfo();
    logAndAssertIntact(run, outcome);
    assert.ok((mib.get('AddAddr') ?? 0) >= 1 && (mib.get('PortAdd') ?? 0) >= 1, 'the kernel accepted our ADD_ADDR with a port (PortAdd)');
    assert.equal(mib.get('MPJoinPortSynAckRx'), 1, 'the kernel joined the announced port');
    assert.equal(c.MPJoinAckRx, 1);
    assert.equal(subflows.length, 2);
    assert.equal(subflows[1]!.endpoints.localPort, 5300, 'the joined subflow is on port 5300');
    assert.ok(subflows[1]!.dataBytesReceived > 0, 'and carried data');
    await closeRun(run);
  } finally {
    paths.dispose();
  }
});

test('MPTCP scenario 7: our client marks its joined subflow backup with MP_PRIO; the kernel counts MPPrioRx', { skip, timeout: 120_000 }, async () => {
  const BYTES7 = 20_000_000;
  const paths = tunPaths(TWO_PATHS);
  try {
    configurePathManagers(paths, { kernel: { limits: 'subflows 2 add_addr_accepted 2' } });
    const run = await ourClientToKernelServer(paths, { to: '198.18.1.1', localAddress: '198.18.1.2', bytes: BYTES7, flags: ['--mptcp', '--keep-listening'] });
    const { connection } = run;
    paths.runtime.addSubflow(run.socket, '198.18.2.2');
    const exchange = startTransfer(run);
    await until(() => connection.subflowInfo()[1]?.fullyEstablished === true, 'the joined subflow');
    const joinId = connection.subflowInfo()[1]!.id;
    assert.equal(connection.setBackup(joinId, true), true);
    paths.runtime.kick();
    const outcome = await exchange.finish(90_000);
    const { mib, counters: c } = outcome;
    const subflows = connection.subflowInfo();
    logAndAssertIntact(run, outcome);
    assert.equal(c.MPPrioTx, 1);
    assert.equal(mib.get('MPPrioRx'), 1, 'the kernel received our MP_PRIO');
    assert.equal(subflows[1]!.backupLocal, true);
    await closeRun(run);
  } finally {
    paths.dispose();
  }
});

test('MPTCP scenario 7, the other way: the kernel marks its signalled address backup (MP_PRIO to us); that subflow then carries nothing, and takes over when the initial path dies', { skip, timeout: 150_000 }, async () => {
  const BYTES7 = 40_000_000;
  const paths = tunPaths(TWO_PATHS);
  try {
    configurePathManagers(paths, { kernel: { limits: 'subflows 2 add_addr_accepted 2' }, ours: { limits: 'subflows 2 add_addr_accepted 1' } });
    paths.namespace.ip('mptcp', 'endpoint', 'add', '198.18.2.1', 'dev', paths.tuns[1]!.name, 'id', '2', 'signal');
    // The kernel's sending is paced to 10 MB/s (4 s for the 40 MB): unpaced, on an idle machine, it had sent
    // nearly everything before the MP_PRIO took effect, and '4 MB more on the active path' never came (a CI
    // rehearsal at load 2: timed out after 30 s). Our direction is not paced.
    const run = await ourClientToKernelServer(paths, { to: '198.18.1.1', listen: '0.0.0.0', localAddress: '198.18.1.2', bytes: BYTES7, flags: ['--mptcp', '--keep-listening', '--rate', '10000000'] });
    const { connection } = run;
    const c = paths.runtime.host.mptcpCounters;
    const exchange = startTransfer(run);
    await joinedAndUnderway(connection);
    paths.namespace.ip('mptcp', 'endpoint', 'change', 'id', '2', 'backup');
    await until(() => c.MPPrioRx >= 1, 'the kernel MP_PRIO');
    assert.equal(connection.subflowInfo()[1]!.backupPeer, true, 'the subflow is backup for the peer');
    await new Promise((r) => setTimeout(r, 300)); // what was queued before the switch drains
    const base = connection.subflowInfo()[1]!;
    const before = connection.mptcpInfo();
    console.log(`# the MP_PRIO in effect at ${before.bytesReceived} of the kernel's ${BYTES7} bytes received`);
    await until(() => connection.mptcpInfo().bytesReceived - before.bytesReceived > 4_000_000, '4 MB more on the active path', 30_000).catch((e: Error) => {
      const now = connection.mptcpInfo();
      throw new Error(`${e.message}: received ${before.bytesReceived} -> ${now.bytesReceived} of ${BYTES7}; subflows ${subflowLine(connection)}`);
    });
    const during = connection.subflowInfo()[1]!;
    const sentDuring = during.dataBytesSent - base.dataBytesSent;
    const receivedDuring = during.dataBytesReceived - base.dataBytesReceived;
    console.log(`# while the active path works, the backup subflow carried ${sentDuring} bytes up and ${receivedDuring} down`);
    assert.equal(sentDuring, 0, 'we send nothing on the backup subflow while the other works');
    assert.ok(receivedDuring <= 64 * 1024, `nor does the kernel (${receivedDuring} bytes)`);
    paths.setDown(0, true);
    const outcome = await exchange.finish(120_000);
    logAndAssertIntact(run, outcome, 'initial path down after the MP_PRIO');
    const after = connection.subflowInfo()[1]!;
    // Which direction still had data when the path went down depends on timing (we often finish sending
    // first): the backup must have carried what was left, over 1 MB in all.
    const tookOver = after.dataBytesSent - during.dataBytesSent + (after.dataBytesReceived - during.dataBytesReceived);
    assert.ok(tookOver > 1_000_000, `the backup subflow took over (${tookOver} bytes after the initial path died)`);
    assert.ok((outcome.mib.get('MPPrioTx') ?? 0) >= 1, 'the kernel counted its MP_PRIO');
    await closeRun(run);
  } finally {
    paths.dispose();
  }
});

test('MPTCP scenario 8: our client sends MP_FASTCLOSE in mid-transfer; the kernel socket fails (MPFastcloseRx)', { skip, timeout: 120_000 }, async () => {
  const pair = onePair();
  try {
    const { socket, connection, peer } = await ourClientToKernelServer(pair, { to: '198.18.0.1', bytes: BYTES });
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
    const kernel = await peer.next(30_000);
    const mib = kernelMib(pair);
    console.log(`# kernel: ${JSON.stringify({ ...kernel, ss: undefined })}; MPTcpExt: ${nonZero(mib)}`);
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
  const pair = onePair();
  try {
    const { socket, peer } = await ourClientToKernelServer(pair, { to: '198.18.0.1', bytes: 0, flags: ['--mptcp', '--abort-after', '2000000'] });
    let error: NodeJS.ErrnoException | undefined;
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e));
    socket.on('data', () => {});
    const gone = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const chunk = Buffer.alloc(64 * 1024, 7);
    let written = 0;
    void (async () => {
      while (!error && !socket.destroyed && written < BYTES) {
        written += chunk.length;
        if (!socket.write(chunk)) await Promise.race([once(socket, 'drain'), gone]);
      }
    })().catch(() => {});
    await within(30_000, 'our socket closed', gone, stateOf(pair));
    const kernel = await peer.next(30_000);
    const mib = kernelMib(pair);
    const c = pair.runtime.host.mptcpCounters;
    console.log(`# kernel: ${JSON.stringify(kernel)}; MPTcpExt: ${nonZero(mib)}; ours: MPFastcloseRx=${c.MPFastcloseRx}`);
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
  const paths = tunPaths(TWO_PATHS);
  try {
    configurePathManagers(paths, { kernel: { limits: 'subflows 2 add_addr_accepted 2' }, ours: { endpoints: ['198.18.2.2 id 2 subflow'] } });
    const run = await ourClientToKernelServer(paths, { to: '198.18.1.1', localAddress: '198.18.1.2', bytes: BYTES5, flags: ['--mptcp', '--keep-listening'] });
    const { connection } = run;
    const exchange = startTransfer(run);
    const atRemoval = await joinedAndUnderway(connection);
    assert.equal(paths.runtime.host.removeMptcpEndpoint(2), 1, 'one subflow closed');
    paths.runtime.kick();
    const outcome = await exchange.finish(90_000);
    const { mib, counters: c } = outcome;
    const subflows = connection.subflowInfo();
    logAndAssertIntact(run, outcome, `removed at ${atRemoval} bytes received`);
    assert.ok(atRemoval < BYTES5, 'removed in mid-transfer');
    assert.equal(mib.get('RmAddr'), 1, 'the kernel received our RM_ADDR');
    assert.equal(c.RmAddrTx, 1);
    assert.equal(c.RmSubflow, 1);
    assert.equal(subflows.length, 2, 'no re-join');
    assert.equal(subflows[1]!.state, 'CLOSED', 'the subflow is gone');
    await closeRun(run);
  } finally {
    paths.dispose();
  }
});

test('MPTCP scenario 5, #615: our client deletes the endpoint of its initial subflow in mid-transfer (RM_ADDR id 0) and adds it again with the same id; the kernel accepts the new MP_JOIN from that address with id 0, data intact', { skip, timeout: 120_000 }, async () => {
  const BYTES5 = 30_000_000;
  const paths = tunPaths(TWO_PATHS);
  try {
    configurePathManagers(paths, { kernel: { limits: 'subflows 2 add_addr_accepted 2' }, ours: { endpoints: ['198.18.1.2 id 42 subflow', '198.18.2.2 id 43 subflow'] } });
    const run = await ourClientToKernelServer(paths, { to: '198.18.1.1', localAddress: '198.18.1.2', bytes: BYTES5, flags: ['--mptcp', '--keep-listening'] });
    const { connection } = run;
    const exchange = startTransfer(run);
    const atRemoval = await joinedAndUnderway(connection);
    assert.equal(paths.runtime.host.removeMptcpEndpoint(42), 1, 'the initial subflow closed');
    paths.runtime.kick();
    await until(() => connection.subflowInfo()[0]!.state === 'CLOSED', 'the initial subflow closed');
    paths.runtime.host.addMptcpEndpoint('198.18.1.2 id 42 subflow');
    paths.runtime.kick();
    await until(() => connection.subflowInfo()[2]?.fullyEstablished === true, 'a new subflow from the initial address');
    const outcome = await exchange.finish(90_000);
    const { mib, counters: c } = outcome;
    const subflows = connection.subflowInfo();
    logAndAssertIntact(run, outcome, `removed at ${atRemoval} bytes received`);
    assert.ok(atRemoval < BYTES5, 'removed in mid-transfer');
    assert.equal(mib.get('RmAddr'), 1, 'the kernel received our RM_ADDR');
    assert.equal(c.RmAddrTx, 1);
    assert.equal(subflows.length, 3);
    assert.deepEqual([...subflows[2]!.endpoints.localAddress], [198, 18, 1, 2]);
    assert.equal(subflows[2]!.localAddressId, 0);
    assert.equal(mib.get('MPJoinAckRx'), 2, 'the kernel completed both joins');
    assert.ok(subflows[2]!.dataBytesSent > 0, 'the new subflow carried data');
    await closeRun(run);
  } finally {
    paths.dispose();
  }
});

test('MPTCP scenario 5: the kernel server deletes its signalled endpoint in mid-transfer (RM_ADDR); we count RmAddr, data intact', { skip, timeout: 120_000 }, async () => {
  const BYTES5 = 20_000_000;
  const paths = tunPaths(TWO_PATHS);
  try {
    configurePathManagers(paths, {
      kernel: { limits: 'subflows 2 add_addr_accepted 2', endpoints: [`198.18.2.1 dev ${paths.tuns[1]!.name} id 2 signal`] },
      ours: { limits: 'subflows 2 add_addr_accepted 1' },
    });
    const run = await ourClientToKernelServer(paths, { listen: '0.0.0.0', to: '198.18.1.1', localAddress: '198.18.1.2', bytes: BYTES5, flags: ['--mptcp', '--keep-listening'] });
    const { connection } = run;
    const exchange = startTransfer(run);
    const atRemoval = await joinedAndUnderway(connection);
    paths.namespace.ip('mptcp', 'endpoint', 'delete', 'id', '2');
    const c = paths.runtime.host.mptcpCounters;
    await until(() => c.RmAddr > 0, 'the RM_ADDR');
    const outcome = await exchange.finish(90_000);
    const { mib } = outcome;
    const subflows = connection.subflowInfo();
    logAndAssertIntact(run, outcome, `removed at ${atRemoval} bytes received`);
    assert.ok(atRemoval < BYTES5, 'removed in mid-transfer');
    assert.equal(c.RmAddr, 1, 'we received the kernel RM_ADDR');
    assert.equal(subflows.length, 2, 'no re-join of the removed address');
    assert.equal(subflows[1]!.state, 'CLOSED', 'the subflow is gone');
    assert.ok((mib.get('RmAddrTx') ?? 1) >= 1);
    await closeRun(run);
  } finally {
    paths.dispose();
  }
});
