/**
 * An address removed and re-added in mid-transfer (issue 4, emulator tests). Two subflows carry data; one
 * side deletes the endpoint of its second address (`Host.removeMptcpEndpoint`: RM_ADDR, the subflow is
 * reset, its data reinjected); then the endpoint is added again, as `ip mptcp endpoint add` would, and the
 * path manager uses it again: Linux's `mptcp_nl_add_subflow_or_signal_addr` runs the path manager of every
 * connection at once, so a `subflow` endpoint of the client opens a new MP_JOIN subflow, and a `signal`
 * endpoint of the server is announced again (ADD_ADDR) and joined by the client. The new subflow carries
 * data; SHA-256 of what crossed both ways. Also the same with the join opened by hand (`Host.addSubflow`).
 * Virtual time, seeded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LinkConfig } from '../../src/emu/link.js';
import type { MptcpConnection } from '../../src/mptcp/connection.js';
import { MB, mptcpServer, scenario, summary } from '../../src/harness/scenario.js';

const fast: LinkConfig = { rateBitsPerSecond: 100e6, delayMicros: 10_000, queueLimitBytes: 500_000 };
const slow: LinkConfig = { rateBitsPerSecond: 60e6, delayMicros: 15_000, queueLimitBytes: 300_000 };

type How = 'client endpoint' | 'server endpoint' | 'client addSubflow';

function run(how: How): void {
  const remover = how === 'server endpoint' ? 'server' : 'client';
  const s = scenario({
    seed: how === 'client endpoint' ? 31 : how === 'server endpoint' ? 32 : 33,
    up: 40 * MB,
    down: 20 * MB,
    paths: [{ config: fast }, { config: slow }],
    ...(remover === 'client' ? { clientEndpoints: ['198.18.2.2 id 2 subflow'] } : { serverEndpoints: ['198.18.2.1 id 2 signal'], clientLimits: 'subflows 2 add_addr_accepted 1' }),
  });
  const live = (c: MptcpConnection | undefined) => c?.subflowInfo().filter((x) => x.state !== 'CLOSED') ?? [];
  const server = (): MptcpConnection | undefined => (s.server ? mptcpServer(s) : undefined);
  assert.ok(
    s.step(() => live(s.client).length === 2 && (live(s.client)[1]?.dataBytesSent ?? 0) > 1 * MB && (live(server())[1]?.dataBytesSent ?? 0) > 500_000, 60_000_000),
    'two subflows carry data',
  );
  const removerHost = remover === 'client' ? s.clientHost : s.serverHost;
  const removedAt = s.net.now;
  const atRemoval = { up: s.up.received, down: s.down.received };
  assert.equal(removerHost.removeMptcpEndpoint(2, s.net.now), 1, 'one subflow closed');
  s.wake();
  assert.ok(s.step(() => s.client.mptcpInfo().subflows === 1 && server()!.mptcpInfo().subflows === 1, 5_000_000), 'the subflow is gone on both ends');
  assert.ok(s.up.received < s.up.data.length * 0.8, 'still mid-transfer');

  // Re-add.
  const readdedAt = s.net.now;
  if (how === 'client addSubflow') {
    // Into the table only (no path-manager turn), then joined by hand.
    s.clientHost.mptcpEndpoints.add('198.18.2.2 id 2 subflow');
    s.clientHost.addSubflow(s.net.now, s.client, '198.18.2.2', { addressId: 2, endpointId: 2 });
  } else if (how === 'client endpoint') {
    s.clientHost.addMptcpEndpoint('198.18.2.2 id 2 subflow');
  } else {
    s.serverHost.addMptcpEndpoint('198.18.2.1 id 2 signal');
  }
  s.wake();
  const newSubflow = () => s.client.subflowInfo().find((x, i) => i >= 2 && x.state === 'ESTABLISHED');
  const joined = s.step(() => (newSubflow()?.dataBytesSent ?? 0) > 500_000, 10_000_000);
  const joinedAt = s.net.now;
  const thrown = s.finish();
  const sf = s.client.subflowInfo();
  const ssf = server()!.subflowInfo();
  const cc = s.clientHost.mptcpCounters;
  const sc = s.serverHost.mptcpCounters;
  console.log(
    summary(
      `removed and re-added (${how})`,
      s,
      `removed at ${(removedAt / 1e6).toFixed(2)} s (up ${atRemoval.up} B), re-added at ${(readdedAt / 1e6).toFixed(2)} s; ` +
        (joined ? `new subflow carrying data ${((joinedAt - readdedAt) / 1e6).toFixed(2)} s later` : 'NO new subflow carried data within 10 s') +
        `; subflows client ${sf.length} (${sf.map((x) => `${x.localAddressId}:${x.state}`).join(' ')}), server ${ssf.length}; ` +
        `RmAddrTx ${removerHost.mptcpCounters.RmAddrTx} MPJoinSynTx ${cc.MPJoinSynTx} MPJoinAckRx ${sc.MPJoinAckRx} AddAddrTx ${sc.AddAddrTx}` +
        (thrown ? `; THREW: ${thrown.message}` : ''),
    ),
  );
  assert.equal(thrown, undefined);
  assert.ok(s.up.intact(), 'up: SHA-256 equal');
  assert.ok(s.down.intact(), 'down: SHA-256 equal');
  assert.ok(s.up.closed && s.down.closed, 'both ends closed');
  assert.equal(s.up.closedError, undefined);
  assert.equal(s.down.closedError, undefined);
  assert.equal(removerHost.mptcpCounters.RmAddrTx, 1);
  assert.ok(joined, 'a new subflow came up after the re-add and carried data');
  assert.equal(sf.length, 3, 'client: initial, removed, new');
  assert.equal(ssf.length, 3, 'server: initial, removed, new');
  const fresh = sf[2]!;
  assert.equal(fresh.join, true);
  assert.deepEqual([...fresh.endpoints.localAddress], [198, 18, 2, 2]);
  assert.ok(fresh.dataBytesSent > 1 * MB, `the new subflow carried data up (${fresh.dataBytesSent})`);
  assert.ok(ssf[2]!.dataBytesSent > 500_000, `and down (${ssf[2]!.dataBytesSent})`);
  assert.equal(cc.MPJoinSynTx, 2, 'two joins in all');
  assert.equal(sc.MPJoinAckRx, 2);
  if (how === 'server endpoint') {
    assert.equal(sc.AddAddrTx, 2, 'announced twice');
    assert.equal(cc.AddAddr, 2);
  }
}

test('a client `subflow` endpoint removed in mid-transfer and added again: a new MP_JOIN subflow carries data; SHA-256 equal', () =>
  run('client endpoint'));
test('a server `signal` endpoint removed in mid-transfer and added again: announced again, joined, carries data; SHA-256 equal', () =>
  run('server endpoint'));
test('a client address removed in mid-transfer, then joined again by hand (Host.addSubflow): the new subflow carries data; SHA-256 equal', () =>
  run('client addSubflow'));

test('the initial subflow\'s endpoint removed in mid-transfer and added again with the same id: the initial subflow closes (RM_ADDR id 0), a new MP_JOIN from its address with address id 0 carries data; SHA-256 equal (mptcp_net-next #615)', () => {
  const s = scenario({
    seed: 34,
    up: 40 * MB,
    down: 20 * MB,
    paths: [{ config: fast }, { config: slow }],
    clientEndpoints: ['198.18.1.2 id 42 subflow', '198.18.2.2 id 43 subflow'],
  });
  const live = (c: MptcpConnection | undefined) => c?.subflowInfo().filter((x) => x.state !== 'CLOSED') ?? [];
  const server = (): MptcpConnection | undefined => (s.server ? mptcpServer(s) : undefined);
  assert.ok(s.step(() => live(s.client).length === 2 && (live(s.client)[1]?.dataBytesSent ?? 0) > 1 * MB, 60_000_000), 'two subflows carry data');
  assert.equal(s.clientHost.removeMptcpEndpoint(42, s.net.now), 1, 'the initial subflow is closed with its endpoint');
  s.wake();
  assert.ok(s.step(() => live(s.client).length === 1 && live(server()).length === 1, 5_000_000), 'only the join on path 2 is left, on both ends');
  assert.ok(s.up.received < s.up.data.length * 0.8, 'still mid-transfer');
  s.clientHost.addMptcpEndpoint('198.18.1.2 id 42 subflow');
  s.wake();
  const fresh = () => s.client.subflowInfo().find((x, i) => i >= 2 && x.state === 'ESTABLISHED');
  const joined = s.step(() => (fresh()?.dataBytesSent ?? 0) > 1 * MB, 10_000_000);
  const f = fresh();
  const thrown = s.finish();
  console.log(`# MPC endpoint removed and re-added: ${joined ? `new subflow ${f!.endpoints.localAddress.join('.')} id ${f!.localAddressId}` : 'no new subflow'}; RmAddrTx ${s.clientHost.mptcpCounters.RmAddrTx}, server RmAddr ${s.serverHost.mptcpCounters.RmAddr}`);
  assert.equal(thrown, undefined);
  assert.ok(joined, 'a new subflow from the initial address carried data');
  assert.equal(f!.join, true);
  assert.deepEqual([...f!.endpoints.localAddress], [198, 18, 1, 2]);
  assert.equal(f!.localAddressId, 0, 'address id 0 stays the initial address (RFC 8684 3.1; Linux reuses id 0)');
  assert.equal(s.clientHost.mptcpCounters.RmAddrTx, 1);
  assert.equal(s.serverHost.mptcpCounters.RmAddr, 1);
  assert.ok(s.up.intact(), 'up: SHA-256 equal');
  assert.ok(s.down.intact(), 'down: SHA-256 equal');
});
