/**
 * Coupled congestion control wired into the MPTCP connection (issue 9): with a coupled controller (lia, olia,
 * balia) each connection owns one CoupledGroup, every subflow's controller claims a slot of it (so it sees
 * exactly its siblings: the other subflows of the same connection), a removed subflow leaves it, and the
 * transfer stays intact. With an uncoupled controller (cubic, reno) no group exists. Virtual time, seeded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LinkConfig } from '../../src/emu/link.js';
import { MB, mptcpServer, scenario, sha256 } from '../../src/harness/scenario.js';
import type { MptcpConnection } from '../../src/mptcp/connection.js';

const fast: LinkConfig = { rateBitsPerSecond: 40e6, delayMicros: 10_000, queueLimitBytes: 200_000 };
const slow: LinkConfig = { rateBitsPerSecond: 20e6, delayMicros: 20_000, queueLimitBytes: 200_000 };

function slots(c: MptcpConnection) {
  return c.subflows().map((sf) => sf.coupling);
}

for (const name of ['lia', 'olia', 'balia']) {
  test(`${name}: one group per connection, a slot per subflow claimed by its controller, left when the subflow is removed`, () => {
    const s = scenario({
      seed: 91,
      up: 12 * MB,
      down: 12 * MB,
      paths: [{ config: fast }, { config: slow }],
      clientEndpoints: ['198.18.2.2 id 2 subflow'],
      tcp: { congestionControl: name },
    });
    const { client, up, down } = s;
    s.step(
      () =>
        s.server !== undefined &&
        client.subflows().length === 2 &&
        client.subflowInfo()[1]!.dataBytesSent > 300_000 &&
        mptcpServer(s).subflowInfo().length === 2 &&
        mptcpServer(s).subflowInfo()[1]!.dataBytesSent > 300_000,
      30_000_000,
    );
    const server = mptcpServer(s);
    for (const c of [client, server]) {
      const [a, b] = slots(c);
      assert.ok(a !== undefined && b !== undefined, 'both subflows have a slot');
      assert.equal(a.group, b.group, 'the same group');
      assert.equal(a.controllerName, name);
      assert.equal(b.controllerName, name);
      assert.equal(a.group.members.length, 2);
      assert.equal(a.group.usableCount, 2, 'both subflows count in the sums');
      for (const sf of c.subflowInfo()) assert.equal(sf.tcp.congestionControl, name);
      // What the group sums is what the subflows' TCP connections report.
      assert.equal(a.group.cwndTotal, c.subflowInfo().reduce((n, sf) => n + sf.tcp.cwndBytes, 0));
    }
    assert.notEqual(slots(client)[0]!.group, slots(server)[0]!.group, 'each end, each connection, its own group');

    assert.equal(s.clientHost.removeMptcpEndpoint(2, s.net.now), 1, 'one subflow closed');
    s.wake();
    s.step(() => client.mptcpInfo().subflows === 1 && server.mptcpInfo().subflows === 1, 5_000_000);
    for (const c of [client, server]) {
      const [a, b] = slots(c);
      assert.equal(b!.left, true, 'the removed subflow left the group');
      assert.equal(a!.left, false);
      assert.deepEqual(a!.group.members, [a]);
      assert.equal(a!.group.usableCount, 1);
      assert.equal(a!.group.cwndTotal, c.subflowInfo()[0]!.tcp.cwndBytes);
    }

    assert.ifError(s.finish(300_000_000));
    assert.equal(up.received, up.data.length);
    assert.equal(up.hash.digest('hex'), sha256(up.data));
    assert.equal(down.received, down.data.length);
    assert.equal(down.hash.digest('hex'), sha256(down.data));
    for (const c of [client, server]) for (const slot of slots(c)) assert.equal(slot!.left, true, 'every subflow left once closed');
  });
}

test('cubic (the default) and reno: no coupled group, no slot', () => {
  for (const tcp of [{}, { congestionControl: 'reno' }]) {
    const s = scenario({ seed: 92, up: 2 * MB, down: 0, paths: [{ config: fast }, { config: slow }], clientEndpoints: ['198.18.2.2 id 2 subflow'], tcp });
    s.step(() => s.client.subflows().length === 2 && s.client.subflowInfo()[1]!.dataBytesSent > 100_000, 30_000_000);
    assert.deepEqual(slots(s.client), [undefined, undefined]);
    assert.equal(s.client.subflowInfo()[0]!.tcp.congestionControl, tcp.congestionControl ?? 'cubic');
    assert.ifError(s.finish(60_000_000));
    assert.equal(s.up.received, s.up.data.length);
  }
});
