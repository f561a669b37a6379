/**
 * Issue 4, interop scenario 6 against Linux through TUN: a path's link goes down in mid-transfer (every
 * packet between our stack and that TUN device dropped, as an unplugged cable; the interfaces stay up) and
 * the transfer completes on the other path, in both roles. Losing the initial subflow's path must not lose
 * the connection either. Each end detects the dead subflow (Linux's stale detection: more than
 * stale_loss_cnt = 4 RTOs without progress while another subflow works) and reinjects its data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { KERNEL_PEER, closed, exchange, jsonLines, kernelMib, kernelSkipReason, stateOf, tunPaths, until, within } from '../support/kernel.js';
import type { MptcpConnection } from '../../src/mptcp/connection.js';
import type { TcpSocket } from '../../src/api/socket.js';

const skip = kernelSkipReason();
const BYTES = 30_000_000;
const TWO_PATHS = [
  { ours: ['198.18.1.2/24'], kernel: ['198.18.1.1/24'] },
  { ours: ['198.18.2.2/24'], kernel: ['198.18.2.1/24'] },
];

function nonZero(mib: Map<string, number>): string {
  return [...mib].filter(([, v]) => v > 0).map(([k, v]) => `${k}=${v}`).join(' ');
}

test('MPTCP scenario 6: the initial path of our client goes down in mid-transfer; the transfer completes on the joined path', { skip, timeout: 150_000 }, async () => {
  const paths = tunPaths(TWO_PATHS);
  try {
    paths.namespace.ip('mptcp', 'limits', 'set', 'subflows', '2', 'add_addr_accepted', '2');
    const peer = paths.namespace.spawn('python3', [KERNEL_PEER, 'server', '198.18.1.1', '5201', String(BYTES), '--mptcp', '--keep-listening']);
    const out = jsonLines(peer);
    assert.deepEqual(await out.next(10_000), { listening: 5201 });
    const socket = paths.runtime.connect(5201, '198.18.1.1', { mptcp: true, localAddress: '198.18.1.2' }) as TcpSocket;
    await within(10_000, 'connect', once(socket, 'connect'));
    const connection = socket.connection as MptcpConnection;
    paths.runtime.addSubflow(socket, '198.18.2.2');
    const exchanged = exchange(socket, BYTES, 0x3117);
    await until(() => connection.subflowInfo()[1]?.fullyEstablished === true && connection.mptcpInfo().bytesReceived > 2_000_000, 'the joined subflow and some data');
    const atDown = connection.mptcpInfo().bytesReceived;
    paths.setDown(0, true);
    const ours = await within(120_000, '30 MB each way', exchanged, stateOf(paths));
    const kernel = await out.next(60_000).catch((e: Error) => {
      throw new Error(`${e.message}; state: ${stateOf(paths)()}`);
    });
    const mib = kernelMib(paths);
    const c = paths.runtime.host.mptcpCounters;
    const subflows = connection.subflowInfo();
    console.log(`# path 0 down at ${atDown} bytes received; kernel MPTcpExt: ${nonZero(mib)}`);
    console.log(`# our counters: SubflowStale=${c.SubflowStale} SubflowRecover=${c.SubflowRecover} MPTCPRetrans=${c.MPTCPRetrans} DuplicateData=${c.DuplicateData}`);
    console.log(`# our subflows (data bytes sent / received): ${subflows.map((s) => `${s.id}${s.join ? ' join' : ''} ${s.state}${s.stale ? ' stale' : ''} ${s.dataBytesSent}/${s.dataBytesReceived}`).join(', ')}`);
    assert.ok(atDown < BYTES, 'the path went down in mid-transfer');
    assert.equal(kernel['receivedSha256'], ours.sentSha256, 'the kernel received exactly what we sent');
    assert.equal(ours.receivedSha256, kernel['sentSha256'], 'we received exactly what the kernel sent');
    assert.ok(subflows[1]!.dataBytesReceived > BYTES - atDown - 5_000_000, 'the joined subflow carried the rest down');
    assert.ok(c.SubflowStale >= 1 || c.MPTCPRetrans >= 1, 'our side moved the dead subflow\'s data to the other path');
    await within(10_000, 'close', closed(socket), stateOf(paths));
  } finally {
    paths.dispose();
  }
});

test('MPTCP scenario 6: a kernel client\'s joined path to our server goes down in mid-transfer; the transfer completes on the initial path', { skip, timeout: 150_000 }, async () => {
  const paths = tunPaths(TWO_PATHS);
  try {
    paths.namespace.ip('mptcp', 'limits', 'set', 'add_addr_accepted', '1', 'subflows', '2');
    paths.runtime.host.setMptcpEndpoints(['198.18.2.2 signal']);
    const server = paths.runtime.createServer(undefined, undefined, { mptcp: true });
    server.listen(5201);
    await once(server, 'listening');
    const accepted = once(server, 'connection');
    const peer = paths.namespace.spawn('python3', [KERNEL_PEER, 'client', '198.18.1.2', '5201', String(BYTES), '--mptcp']);
    const out = jsonLines(peer);
    const [socket] = (await within(10_000, 'accept', accepted)) as [TcpSocket];
    const connection = socket.connection as MptcpConnection;
    const exchanged = exchange(socket, BYTES, 0x3117);
    await until(() => connection.subflowInfo()[1]?.fullyEstablished === true && connection.mptcpInfo().bytesReceived > 2_000_000, 'the joined subflow and some data');
    const atDown = connection.mptcpInfo().bytesReceived;
    paths.setDown(1, true);
    const ours = await within(120_000, '30 MB each way', exchanged, stateOf(paths));
    const kernel = await out.next(60_000).catch((e: Error) => {
      throw new Error(`${e.message}; state: ${stateOf(paths)()}`);
    });
    const mib = kernelMib(paths);
    const c = paths.runtime.host.mptcpCounters;
    const subflows = connection.subflowInfo();
    console.log(`# path 1 down at ${atDown} bytes received; kernel MPTcpExt: ${nonZero(mib)}`);
    console.log(`# our counters: SubflowStale=${c.SubflowStale} SubflowRecover=${c.SubflowRecover} MPTCPRetrans=${c.MPTCPRetrans} DuplicateData=${c.DuplicateData}`);
    console.log(`# our subflows (data bytes sent / received): ${subflows.map((s) => `${s.id}${s.join ? ' join' : ''} ${s.state}${s.stale ? ' stale' : ''} ${s.dataBytesSent}/${s.dataBytesReceived}`).join(', ')}`);
    assert.ok(atDown < BYTES, 'the path went down in mid-transfer');
    assert.equal(kernel['receivedSha256'], ours.sentSha256, 'the kernel received exactly what we sent');
    assert.equal(ours.receivedSha256, kernel['sentSha256'], 'we received exactly what the kernel sent');
    assert.equal(subflows.length, 2);
    assert.ok(subflows[0]!.dataBytesReceived > BYTES - atDown - 5_000_000, 'the initial subflow carried the rest up');
    await within(10_000, 'close', closed(socket), stateOf(paths));
    server.close();
  } finally {
    paths.dispose();
  }
});
