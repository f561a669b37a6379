/**
 * The fixed subset of the scenario suite (issue 9) that `npm test` asserts: the simult_flows.sh bounds, the
 * RFC 6356 bounds of Wi-Fi + 3G (goal 1: >= 1.0 x plain TCP on Wi-Fi) and of the shared bottleneck (goal 2:
 * <= 1.3 x TCP for a coupled controller), and re-creation of a subflow reset by the peer. A bound today's
 * stack misses, or a policy not registered yet, is a `todo` test that still runs (when it can) and prints
 * its number. The shared-bottleneck tests of lia/olia/balia turn into assertions by themselves once the
 * controllers are registered (they met the bound with coupled-cc merged: 1.007, 0.876, 0.912), and so do
 * their simult_flows bounds (met since HyStart++ in their slow start, coupled-room); the others
 * name the number they miss by and become assertions when the todo is dropped. And the silent failover
 * (a path up but dropping everything, mptcp_net-next #585): detected (stale) within a few RTOs, and the
 * path used again soon after it returns (#581). Virtual time, seeded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { congestionControlNames } from '../../src/cc/registry.js';
import { COUPLED_CC, FAILOVER, SHARED_BOTTLENECK, SIMULT_FLOWS, WIFI_3G } from '../../src/harness/scenarios/definitions.js';
import { runScenario } from '../../src/harness/scenarios/runners.js';
import type { Row, SuiteEnvironment } from '../../src/harness/scenarios/types.js';

const env: SuiteEnvironment = { loadTrace: () => undefined };
const show = (rows: readonly Row[]): void => {
  for (const r of rows) console.log(`# ${r.scenario} | ${r.case} | ${r.scheduler}/${r.cc} | ${JSON.stringify(r.metrics)} | ${r.bound} | ${r.status}${r.note ? ` (${r.note})` : ''}`);
};
const notRegistered = (cc: string): string | false =>
  congestionControlNames().includes(cc) ? false : `"${cc}" is not in the congestion control registry yet (issue 9, coupled-cc)`;

test('simult_flows.sh: the five cases both ways, 16 MiB, within the kernel bound with the default scheduler and cubic', () => {
  const rows = runScenario(SIMULT_FLOWS, { scheduler: 'default', cc: 'cubic' }, env);
  show(rows);
  assert.equal(rows.length, 10);
  for (const r of rows) {
    assert.equal(r.metrics.intact, 'yes', `${r.case}: every byte arrived, SHA-256 equal`);
    assert.ok((r.metrics['time (s)'] as number) <= (r.metrics['bound (s)'] as number), `${r.case}: ${r.metrics['time (s)']} s <= ${r.metrics['bound (s)']} s`);
    assert.equal(r.status, 'pass');
  }
});

for (const cc of COUPLED_CC) {
  test(`simult_flows.sh: the five cases both ways within the kernel bound with the default scheduler and ${cc} (HyStart++ slow start)`, { todo: notRegistered(cc) }, () => {
    const rows = runScenario(SIMULT_FLOWS, { scheduler: 'default', cc }, env);
    show(rows);
    assert.equal(rows.length, 10);
    for (const r of rows) {
      assert.equal(r.metrics.intact, 'yes', `${r.case}: every byte arrived, SHA-256 equal`);
      assert.ok((r.metrics['time (s)'] as number) <= (r.metrics['bound (s)'] as number), `${r.case}: ${r.metrics['time (s)']} s <= ${r.metrics['bound (s)']} s`);
    }
  });
}

test('Wi-Fi + 3G (NSDI 2012 fig. 7), 60 s: MPTCP with the default scheduler and cubic gets at least plain TCP on Wi-Fi (RFC 6356 goal 1)', () => {
  const [r] = runScenario(WIFI_3G, { scheduler: 'default', cc: 'cubic' }, env);
  show([r!]);
  assert.ok((r!.metrics['MPTCP / TCP'] as number) >= 1.0, `MPTCP / TCP = ${r!.metrics['MPTCP / TCP']}`);
  assert.equal(r!.status, 'pass');
});

/**
 * MPTCP / TCP (plain cubic TCP on Wi-Fi) on Wi-Fi + 3G measured by the scenario suite on branch coupled-room
 * (whole-segment scheduler room, HyStart++ in the coupled slow start; three seeds): still below 1.0, so these
 * stay todo until the bound is met (then drop the todo). Against single-path TCP with the same controller
 * (Reno's increase and HyStart++) they are 0.892, 0.984 and 0.946: a coupled window, Reno-like in avoidance,
 * meets Wi-Fi's 2% random loss with a smaller window than CUBIC's.
 */
const WIFI_3G_MEASURED: Record<string, string> = { lia: '0.737', olia: '0.814', balia: '0.782' };

for (const cc of COUPLED_CC) {
  const goal1Todo = notRegistered(cc) || `RFC 6356 goal 1 not met yet: MPTCP / TCP ${WIFI_3G_MEASURED[cc]} with ${cc} (coupled-room)`;
  test(`Wi-Fi + 3G, 60 s: MPTCP with ${cc} gets at least plain TCP on Wi-Fi (RFC 6356 goal 1)`, { todo: goal1Todo }, () => {
    const [r] = runScenario(WIFI_3G, { scheduler: 'default', cc }, env);
    show([r!]);
    assert.ok((r!.metrics['MPTCP / TCP'] as number) >= 1.0, `MPTCP / TCP = ${r!.metrics['MPTCP / TCP']}`);
  });

  test(`shared bottleneck: MPTCP (two subflows, ${cc}) takes at most 1.3 x the TCP connection's share (RFC 6356 goal 2)`, { todo: notRegistered(cc) }, () => {
    const rows = runScenario(SHARED_BOTTLENECK, { scheduler: 'default', cc }, env);
    show(rows);
    for (const r of rows) assert.ok((r.metrics['MPTCP / TCP'] as number) <= 1.3, `${r.case}: MPTCP / TCP = ${r.metrics['MPTCP / TCP']}`);
  });
}

test('shared bottleneck with cubic (uncoupled): both connections get a share; the ratio is printed (about 2 expected, not bounded)', () => {
  const rows = runScenario(SHARED_BOTTLENECK, { scheduler: 'default', cc: 'cubic' }, env);
  show(rows);
  const r = rows.find((x) => x.case.startsWith('2 subflows'));
  assert.ok((r!.metrics['MPTCP (Mbit/s)'] as number) > 1 && (r!.metrics['TCP (Mbit/s)'] as number) > 1, 'both flows moved data');
  // Together they fill most of the 20 Mbit/s bottleneck.
  assert.ok((r!.metrics['MPTCP (Mbit/s)'] as number) + (r!.metrics['TCP (Mbit/s)'] as number) > 0.8 * 20);
});

const resetCase = { ...FAILOVER, cases: FAILOVER.cases.filter((c) => c.paths.some((p) => p.outages?.some((o) => o.kind === 'reset'))) };

test(
  'a subflow reset by the peer is re-created by the path manager within 5 s (issue 9, mptcp_net-next #440)',
  () => {
    const rows = runScenario(resetCase, { scheduler: 'default', cc: 'cubic' }, env);
    show(rows);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.status, 'pass', `re-created: ${rows[0]!.metrics['subflow re-created (ms)']}`);
  },
);

const silentCase = { ...FAILOVER, cases: FAILOVER.cases.filter((c) => c.paths.some((p) => p.outages?.some((o) => o.kind === 'silent'))) };

test(
  `a silent path (up, every packet dropped, no ICMP) is marked stale within ${FAILOVER.detectWithinMs} ms and used again within ${FAILOVER.reuseWithinMs} ms of its return (mptcp_net-next #585, #581)`,
  () => {
    const rows = runScenario(silentCase, { scheduler: 'default', cc: 'cubic' }, env);
    show(rows);
    assert.equal(rows.length, 1);
    const m = rows[0]!.metrics;
    assert.ok((m['stale after (ms)'] as number) <= FAILOVER.detectWithinMs, `stale after ${m['stale after (ms)']} ms`);
    assert.ok((m['path used again (ms)'] as number) <= FAILOVER.reuseWithinMs, `used again after ${m['path used again (ms)']} ms`);
    // Traffic moved meanwhile: goodput back at 80% of the surviving path's rate within 2 s of the failure.
    assert.ok((m['goodput back (ms)'] as number) <= 2_000, `goodput back after ${m['goodput back (ms)']} ms`);
    assert.equal(rows[0]!.status, 'pass');
  },
);
