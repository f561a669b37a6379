/**
 * Scale (issue 13): 10,000 concurrent MPTCP connections, two subflows each, on one host pair in the
 * emulator (test/support/many-connections.ts): they all establish both subflows within a bounded virtual
 * time, each moves 100 bytes to the server and gets them read, and the hosts' timers answer for all of
 * them (the client host's next deadline is the earliest of its connections'). Virtual time, seeded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { establishAll, establishedWithTwoSubflows, manyConnections } from '../support/many-connections.js';

const N = 10_000;

test(`scale: ${N} MPTCP connections with two subflows each establish on one host pair and each moves 100 bytes`, () => {
  const m = manyConnections(N);
  assert.ok(establishAll(m, 10_000_000), `only ${establishedWithTwoSubflows(m)} of ${N} have two established subflows after 10 s virtual`);
  assert.equal(m.servers.length, N);
  for (const s of m.servers) assert.equal(s.subflows().filter((x) => x.tcp.state === 'ESTABLISHED').length, 2);

  // The host's heap of deadlines agrees with asking every connection.
  const earliest = (): number | undefined => {
    let min: number | undefined;
    for (const c of m.pair.clientHost.mptcpConnections()) {
      const d = c.pollTimeout();
      if (d !== undefined && (min === undefined || d < min)) min = d;
    }
    return min;
  };
  const data = new Uint8Array(100).fill(7);
  m.clients.forEach((c, i) => {
    if (i % 2 === 0) assert.equal(c.write(data), 100);
  });
  m.pair.wakeClient();
  m.pair.runFor(2_000);
  assert.equal(m.pair.clientHost.pollTimeout(), earliest());
  m.clients.forEach((c, i) => {
    if (i % 2 === 1) assert.equal(c.write(data), 100);
  });
  m.pair.wakeClient();
  const end = m.pair.now + 5_000_000;
  const all = (): boolean => [...m.received.values()].every((v) => v === 100);
  assert.ok(m.pair.drive(all, end - m.pair.now, 100_000), `${[...m.received.values()].filter((v) => v === 100).length} of ${N} received 100 bytes`);
  assert.equal(m.pair.clientHost.pollTimeout(), earliest());
  for (const c of m.clients) assert.equal(c.bytesAcknowledged, 100);
});
