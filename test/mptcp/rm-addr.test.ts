/**
 * RM_ADDR on the emulator (issue 4, interop scenario 5's emulator twin): two subflows, 20 MB each way; in
 * mid-transfer one side deletes the endpoint of its second address (`Host.removeMptcpEndpoint`, like
 * `ip mptcp endpoint delete id 2`). RM_ADDR crosses on a pure ACK of the first subflow, the second subflow is
 * reset on both ends, its unacknowledged data is reinjected, and the rest of the transfer goes over the
 * first subflow. SHA-256 of what crossed both ways. Once from the client (a `subflow` endpoint it joined
 * from), once from the server (a `signal` endpoint it announced and the client joined). Virtual time, seeded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Network } from '../../src/emu/network.js';
import { Host } from '../../src/stack/host.js';
import type { MptcpConnection } from '../../src/mptcp/connection.js';
import type { Micros } from '../../src/tcp/types.js';
import type { LinkConfig } from '../../src/emu/link.js';
import { parseIpPacket } from '../../src/wire/ip.js';
import { parseTcpSegment } from '../../src/wire/tcp.js';
import { isWireError } from '../../src/wire/errors.js';
import { App, pattern, Side } from '../support/mptcp-emu.js';


const MB = 1_000_000;
const fast: LinkConfig = { rateBitsPerSecond: 100e6, delayMicros: 10_000, queueLimitBytes: 500_000 };
const slow: LinkConfig = { rateBitsPerSecond: 60e6, delayMicros: 15_000, queueLimitBytes: 300_000 };

function run(remover: 'client' | 'server'): void {
  const net = new Network({ seed: remover === 'client' ? 11 : 12 });
  const clientHost = new Host({ name: 'client', secret: new Uint8Array(32).fill(5) });
  const serverHost = new Host({ name: 'server', secret: new Uint8Array(32).fill(6) });
  clientHost.addInterface('eth0', ['198.18.1.2/24']);
  clientHost.addInterface('eth1', ['198.18.2.2/24']);
  serverHost.addInterface('eth0', ['198.18.1.1/24']);
  serverHost.addInterface('eth1', ['198.18.2.1/24']);
  if (remover === 'client') {
    clientHost.setMptcpEndpoints(['198.18.2.2 id 2 subflow']);
  } else {
    serverHost.setMptcpEndpoints(['198.18.2.1 id 2 signal']);
    clientHost.setMptcpLimits('subflows 2 add_addr_accepted 1');
  }
  const up = new Side(pattern(20 * MB, 0x2468ace));
  const down = new Side(pattern(20 * MB, 0x1357bdf));
  let server: MptcpConnection | undefined;
  const ch = new App(clientHost, (c, e) => {
    if (e === 'accepted') return;
    if (e.type === 'established' || e.type === 'writable') up.pump(c);
    if (e.type === 'readable' || e.type === 'end') down.drain(c);
    if (e.type === 'closed') {
      up.closed = true;
      up.closedError = e.error;
    }
  });
  const sh = new App(serverHost, (c, e) => {
    if (e === 'accepted') {
      server = c;
      down.pump(c);
      return;
    }
    if (e.type === 'writable') down.pump(c);
    if (e.type === 'readable' || e.type === 'end') up.drain(c);
    if (e.type === 'closed') {
      down.closed = true;
      down.closedError = e.error;
    }
  });
  const rmAddrSeen: { from: 'client' | 'server'; ids: readonly number[]; payload: number }[] = [];
  const watch = (from: 'client' | 'server') => (bytes: Uint8Array) => {
    const ip = parseIpPacket(bytes, { verifyChecksum: false });
    if (isWireError(ip)) return;
    const seg = parseTcpSegment(ip.payload, undefined);
    if (isWireError(seg)) return;
    for (const o of seg.options) {
      if (o.kind === 'mptcp' && o.option.subtype === 'RM_ADDR') rmAddrSeen.push({ from, ids: o.option.addressIds, payload: seg.payload.length });
    }
  };
  sh.beforePacket = watch('client');
  ch.beforePacket = watch('server');
  const c = net.addHost('c', ch);
  const s = net.addHost('s', sh);
  net.connect([c, 0], [s, 0], { config: fast });
  net.connect([c, 1], [s, 1], { config: slow });
  serverHost.listen(5201, { mptcp: true });
  const client = clientHost.connect(0, '198.18.1.1', 5201, { mptcp: true });
  net.wake(c);

  const step = (until: () => boolean, limit: Micros): void => {
    const end = net.now + limit;
    while (!until() && net.now < end) net.runFor(10_000);
  };
  step(
    () =>
      up.received > 4 * MB &&
      down.received > 4 * MB &&
      server !== undefined &&
      client.subflowInfo().length === 2 &&
      client.subflowInfo()[1]!.dataBytesSent > 500_000 &&
      server.subflowInfo()[1]!.dataBytesSent > 500_000,
    60_000_000,
  );
  assert.ok(server !== undefined);
  assert.equal(client.subflowInfo().length, 2, 'two subflows');
  assert.equal(client.mptcpInfo().subflows, 2);
  assert.equal(server.mptcpInfo().subflows, 2);
  assert.ok(up.received < 15 * MB && down.received < 15 * MB, 'mid-transfer');
  assert.equal(client.subflowInfo()[1]!.localAddressId, remover === 'client' ? 2 : client.subflowInfo()[1]!.localAddressId);

  const removerHost = remover === 'client' ? clientHost : serverHost;
  const peerHost = remover === 'client' ? serverHost : clientHost;
  assert.equal(removerHost.removeMptcpEndpoint(2, net.now), 1, 'one subflow closed');
  assert.equal(removerHost.mptcpEndpoints.get(2), undefined, 'the endpoint is gone');
  net.wake(c);
  net.wake(s);
  step(() => client.mptcpInfo().subflows === 1 && server!.mptcpInfo().subflows === 1, 5_000_000);
  assert.equal(client.mptcpInfo().subflows, 1, 'the subflow is gone on the client');
  assert.equal(server.mptcpInfo().subflows, 1, 'and on the server');
  assert.equal(client.subflowInfo()[1]!.state, 'CLOSED');
  assert.equal(server.subflowInfo()[1]!.state, 'CLOSED');
  assert.deepEqual(
    rmAddrSeen.map((r) => ({ from: r.from, ids: [...r.ids], payload: r.payload })),
    [{ from: remover, ids: [2], payload: 0 }],
    'one RM_ADDR with id 2, on a pure ACK',
  );
  assert.equal(removerHost.mptcpCounters.RmAddrTx, 1);
  assert.equal(removerHost.mptcpCounters.RmSubflow, 1);
  assert.equal(peerHost.mptcpCounters.RmAddr, 1, 'the peer received the RM_ADDR');
  const base = { c: client.subflowInfo()[1]!.dataBytesSent, s: server.subflowInfo()[1]!.dataBytesSent };
  const first = { c: client.subflowInfo()[0]!.dataBytesSent, s: server.subflowInfo()[0]!.dataBytesSent };
  const at = { up: up.received, down: down.received };

  net.driveBounded(net.now + 600_000_000, 80_000_000);
  assert.equal(up.received, up.data.length);
  assert.equal(up.hash.digest('hex'), createHash('sha256').update(up.data).digest('hex'));
  assert.equal(down.received, down.data.length);
  assert.equal(down.hash.digest('hex'), createHash('sha256').update(down.data).digest('hex'));
  assert.equal(client.subflowInfo().length, 2, 'the path manager did not re-join');
  assert.equal(server.subflowInfo().length, 2);
  assert.equal(client.subflowInfo()[1]!.dataBytesSent, base.c, 'no data on the removed subflow afterwards (up)');
  assert.equal(server.subflowInfo()[1]!.dataBytesSent, base.s, '(down)');
  const restUp = client.subflowInfo()[0]!.dataBytesSent - first.c;
  const restDown = server.subflowInfo()[0]!.dataBytesSent - first.s;
  // Everything not yet handed out at the removal (and the removed subflow's unacknowledged data) went over
  // the first subflow: together with what both subflows carried before, it covers the whole stream.
  assert.ok(first.c + base.c + restUp >= up.data.length, `the rest went over the first subflow (up ${restUp})`);
  assert.ok(first.s + base.s + restDown >= down.data.length, `(down ${restDown})`);
  assert.ok(restUp > (up.data.length - at.up) / 2 && restDown > (down.data.length - at.down) / 2);
  assert.ok(up.closed && down.closed, 'both ends closed');
  assert.equal(up.closedError, undefined);
  assert.equal(down.closedError, undefined);
  console.log(
    `# ${remover} removed id 2 at up ${at.up} / down ${at.down}; after: first subflow ${restUp} up, ${restDown} down; ` +
      `MPTCPRetrans ${clientHost.mptcpCounters.MPTCPRetrans}/${serverHost.mptcpCounters.MPTCPRetrans}; MPRstTx ${removerHost.mptcpCounters.MPRstTx}`,
  );
}

test('RM_ADDR from the client in mid-transfer: the subflow is gone on both ends, data intact', () => run('client'));
test('RM_ADDR from the server in mid-transfer: the subflow is gone on both ends, data intact', () => run('server'));
