/**
 * The packet schedulers on a whole connection (emulator, two equal paths): `Host.setMptcpScheduler` as
 * Linux's `net.mptcp.scheduler`. "roundrobin" spreads the data over both subflows; "default" is covered by the
 * other tests. SHA-256 of what crossed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Host } from '../../src/stack/host.js';
import { MB, scenario, summary } from '../../src/harness/scenario.js';

const path = { config: { rateBitsPerSecond: 40e6, delayMicros: 5_000, queueLimitBytes: 200_000 } };

test('scheduler "redundant" on two equal paths: each subflow carries (nearly) the whole stream, data intact', () => {
  const s = scenario({ seed: 61, up: 6 * MB, down: 1 * MB, paths: [path, path], scheduler: 'redundant', clientEndpoints: ['198.18.2.2 id 2 subflow'], clientLimits: 'subflows 2', serverLimits: 'subflows 2' });
  assert.equal(s.finish(120_000_000), undefined);
  console.log(summary('scheduler redundant', s));
  assert.ok(s.up.intact() && s.down.intact(), 'SHA-256 equal both ways');
  const sent = s.client.subflowInfo().map((x) => x.dataBytesSent);
  assert.equal(sent.length, 2);
  // The second subflow joins after the first carried a little; from then on both carry every byte.
  for (const b of sent) assert.ok(b > 0.8 * s.up.data.length, `each subflow carries the stream (${sent.join(' / ')} of ${s.up.data.length})`);
});

for (const scheduler of ['roundrobin'] as const) {
  test(`scheduler "${scheduler}" on two equal paths: data intact, subflow shares as the policy says`, () => {
    const s = scenario({ seed: 61, up: 6 * MB, down: 1 * MB, paths: [path, path], scheduler, clientEndpoints: ['198.18.2.2 id 2 subflow'], clientLimits: 'subflows 2', serverLimits: 'subflows 2' });
    assert.equal(s.finish(120_000_000), undefined);
    const subs = s.client.subflowInfo();
    console.log(summary(`scheduler ${scheduler}`, s));
    assert.ok(s.up.intact() && s.down.intact(), 'SHA-256 equal both ways');
    assert.equal(subs.length, 2);
    const sent = subs.map((x) => x.dataBytesSent);
    const total = sent[0]! + sent[1]!;
    for (const b of sent) assert.ok(b > 0.1 * s.up.data.length, `each subflow carries a share (${sent.join(' / ')})`);
    assert.ok(total < 1.05 * s.up.data.length, `no copies (${total} for ${s.up.data.length})`);
  });
}

test('setMptcpScheduler refuses an unknown name with the list of known ones', () => {
  const h = new Host({ secret: new Uint8Array(32) });
  assert.throws(() => h.setMptcpScheduler('fastest'), /^Error: unknown MPTCP scheduler "fastest"; available: (?=.*default)(?=.*roundrobin)(?=.*redundant)/);
  assert.equal(h.mptcpScheduler, 'default');
});
