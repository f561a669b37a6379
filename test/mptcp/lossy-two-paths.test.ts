/**
 * 100 MB over two paths, each with 1% loss and reordering in both directions (issue 4, emulator tests):
 * the client's `subflow` endpoint joins the second path at establishment; SHA-256 of what crossed both
 * ways, both subflows carry a substantial share in both directions, graceful close (DATA_FIN both ways, each
 * acknowledged), no mapping or reassembly error. Virtual time, seeded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Link, LinkConfig } from '../../src/emu/link.js';
import { MB, mptcpServer, scenario, summary } from '../../src/harness/scenario.js';

const impaired = (rate: number, delay: number): LinkConfig => ({
  rateBitsPerSecond: rate,
  delayMicros: delay,
  queueLimitBytes: 600_000,
  loss: 0.01,
  reorder: { probability: 0.01, extraDelayMicros: 4_000 },
});

function run(name: string, serverClosesAfterEnd: boolean): void {
  const wallStart = process.hrtime.bigint();
  const s = scenario({
    seed: 4242,
    up: 100 * MB,
    down: 20 * MB,
    paths: [{ config: impaired(200e6, 10_000) }, { config: impaired(120e6, 15_000) }],
    clientEndpoints: ['198.18.2.2 id 2 subflow'],
    serverClosesAfterEnd,
  });
  const thrown = s.finish();
  const wallMs = Number(process.hrtime.bigint() - wallStart) / 1e6;
  const server = mptcpServer(s);
  const cc = s.clientHost.mptcpCounters;
  const sc = s.serverHost.mptcpCounters;
  const counts = (f: (l: Link) => number) => s.paths.map((p) => `${f(p.forward)}+${f(p.backward)}`).join(', ');
  console.log(
    summary(name, s, `wall ${wallMs.toFixed(0)} ms; lost ${counts((l) => l.counters.droppedPackets.loss)}; reordered ${counts((l) => l.counters.reorderedPackets)}`) +
      (thrown ? `; THREW at ${(s.net.now / 1e6).toFixed(3)} s: ${thrown.message}` : ''),
  );
  assert.equal(thrown, undefined, 'the stack did not throw');

  assert.ok(s.up.intact(), `up: ${s.up.received} of ${s.up.data.length}, SHA-256 equal`);
  assert.ok(s.down.intact(), `down: ${s.down.received} of ${s.down.data.length}, SHA-256 equal`);
  // The impairments really happened, on both paths and both directions.
  for (const p of s.paths) {
    for (const l of [p.forward, p.backward]) {
      assert.ok(l.counters.droppedPackets.loss > 0 && l.counters.reorderedPackets > 0, `${l.name}: losses and reordering`);
    }
  }
  assert.equal(s.client.fallback, false);
  const subs = s.client.subflowInfo();
  const serverSubs = server.subflowInfo();
  assert.equal(subs.length, 2, 'two subflows');
  assert.equal(subs[1]!.join, true);
  // A substantial share: each subflow carried at least 15% of each direction.
  for (const sf of subs) assert.ok(sf.dataBytesSent > 0.15 * s.up.data.length, `client subflow ${sf.id} sent ${sf.dataBytesSent}`);
  for (const sf of serverSubs) assert.ok(sf.dataBytesSent > 0.1 * s.down.data.length, `server subflow ${sf.id} sent ${sf.dataBytesSent}`);
  for (const sf of [...subs, ...serverSubs]) assert.ok(sf.tcp.retransmits > 0, 'every subflow retransmitted (the loss was seen)');
  // Graceful close: DATA_FIN each way, acknowledged; both connections closed without error.
  assert.ok(s.up.closed && s.down.closed, 'both ends closed');
  assert.equal(s.up.closedError, undefined);
  assert.equal(s.down.closedError, undefined);
  assert.equal(cc.DataFinRx, 1);
  assert.equal(sc.DataFinRx, 1);
  assert.equal(s.client.mptcpInfo().bytesAcked, s.up.data.length + 1, 'DATA_ACK covers the data and the DATA_FIN (up)');
  assert.equal(server.mptcpInfo().bytesAcked, s.down.data.length + 1, '(down)');
  for (const c of [cc, sc]) assert.equal(c.DSSNotMatching + c.DSSNoMatchTCP + c.DataCsumErr + c.DssFallback, 0, 'no mapping error');
}

test(
  '100 MB up and 20 MB down over two paths with 1% loss and reordering each way: SHA-256 equal, both subflows used, DATA_FIN both ways',
  () => run('lossy two paths, both ends close when done', false),
);

test('the same, the server sending its DATA_FIN after the client\'s arrived (no SACK blocks next to a DATA_FIN)', () =>
  run('lossy two paths, server closes after end', true));
