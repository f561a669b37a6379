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
import type { LinkConfig } from '../../src/emu/link.js';
import { MB, mptcpServer, scenario, sha256, tcpSegmentOf } from '../../src/harness/scenario.js';

const fast: LinkConfig = { rateBitsPerSecond: 100e6, delayMicros: 10_000, queueLimitBytes: 500_000 };
const slow: LinkConfig = { rateBitsPerSecond: 60e6, delayMicros: 15_000, queueLimitBytes: 300_000 };

function run(remover: 'client' | 'server'): void {
  const rmAddrSeen: { from: 'client' | 'server'; ids: readonly number[]; payload: number }[] = [];
  const watch = (from: 'client' | 'server') => (bytes: Uint8Array) => {
    const seg = tcpSegmentOf(bytes);
    if (!seg) return;
    for (const o of seg.options) {
      if (o.kind === 'mptcp' && o.option.subtype === 'RM_ADDR') rmAddrSeen.push({ from, ids: o.option.addressIds, payload: seg.payload.length });
    }
  };
  const s = scenario({
    seed: remover === 'client' ? 11 : 12,
    secrets: [5, 6],
    dataSeeds: [0x2468ace, 0x1357bdf],
    up: 20 * MB,
    down: 20 * MB,
    paths: [{ config: fast }, { config: slow }],
    ...(remover === 'client'
      ? { clientEndpoints: ['198.18.2.2 id 2 subflow'] }
      : { serverEndpoints: ['198.18.2.1 id 2 signal'], clientLimits: 'subflows 2 add_addr_accepted 1' }),
    onPacketToServer: watch('client'),
    onPacketToClient: watch('server'),
  });
  const { up, down, client, clientHost, serverHost } = s;

  s.step(
    () =>
      up.received > 4 * MB &&
      down.received > 4 * MB &&
      s.server !== undefined &&
      client.subflowInfo().length === 2 &&
      client.subflowInfo()[1]!.dataBytesSent > 500_000 &&
      mptcpServer(s).subflowInfo()[1]!.dataBytesSent > 500_000,
    60_000_000,
  );
  assert.ok(s.server !== undefined);
  const server = mptcpServer(s);
  assert.equal(client.subflowInfo().length, 2, 'two subflows');
  assert.equal(client.mptcpInfo().subflows, 2);
  assert.equal(server.mptcpInfo().subflows, 2);
  assert.ok(up.received < 15 * MB && down.received < 15 * MB, 'mid-transfer');
  assert.equal(client.subflowInfo()[1]!.localAddressId, remover === 'client' ? 2 : client.subflowInfo()[1]!.localAddressId);

  const removerHost = remover === 'client' ? clientHost : serverHost;
  const peerHost = remover === 'client' ? serverHost : clientHost;
  assert.equal(removerHost.removeMptcpEndpoint(2, s.net.now), 1, 'one subflow closed');
  assert.equal(removerHost.mptcpEndpoints.get(2), undefined, 'the endpoint is gone');
  s.wake();
  s.step(() => client.mptcpInfo().subflows === 1 && server.mptcpInfo().subflows === 1, 5_000_000);
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

  assert.ifError(s.finish(600_000_000));
  assert.equal(up.received, up.data.length);
  assert.equal(up.hash.digest('hex'), sha256(up.data));
  assert.equal(down.received, down.data.length);
  assert.equal(down.hash.digest('hex'), sha256(down.data));
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
