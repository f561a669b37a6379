/**
 * The suite takes its policies from the registries by name: a scheduler or controller registered later
 * appears in every scenario that selects 'registry' without a change to the suite; a controller a bound is
 * about but the registry lacks is listed and reported "not available" instead of failing the run; a missing
 * trace skips its scenario with the reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { registerScheduler } from '../../src/sched/registry.js';
import { createDefaultScheduler } from '../../src/sched/default.js';
import { registerCongestionControl, congestionControlNames } from '../../src/cc/registry.js';
import { createReno } from '../../src/cc/reno.js';
import { policiesOf, available } from '../../src/harness/scenarios/policies.js';
import { runDefinition } from '../../src/harness/scenarios/suite.js';
import { SIMULT_FLOWS, WIFI_LTE } from '../../src/harness/scenarios/definitions.js';
import { runScenario } from '../../src/harness/scenarios/runners.js';

test('star: every scheduler with cubic, every controller with default, the default pair first, each pair once', () => {
  const p = policiesOf({ schedulers: ['default', 'blest'], cc: ['cubic', 'reno'], combine: 'star', wantedCc: ['zz-wanted'] });
  assert.deepEqual(p, [
    { scheduler: 'default', cc: 'cubic' },
    { scheduler: 'blest', cc: 'cubic' },
    { scheduler: 'default', cc: 'reno' },
    { scheduler: 'default', cc: 'zz-wanted' },
  ]);
  assert.equal(policiesOf({ schedulers: ['default', 'blest'], cc: ['cubic', 'reno'], combine: 'full' }).length, 4);
});

test('a scheduler and a controller registered later appear in the suite by themselves', () => {
  const before = policiesOf(SIMULT_FLOWS.policies);
  assert.ok(!before.some((p) => p.scheduler === 'test-later' || p.cc === 'test-later-cc'));
  registerScheduler('test-later', createDefaultScheduler);
  registerCongestionControl('test-later-cc', createReno);
  const after = policiesOf(SIMULT_FLOWS.policies);
  assert.ok(after.some((p) => p.scheduler === 'test-later' && p.cc === 'cubic'));
  assert.ok(after.some((p) => p.scheduler === 'default' && p.cc === 'test-later-cc'));
  assert.ok(available({ scheduler: 'test-later', cc: 'test-later-cc' }));
});

test('a wanted controller that is not registered gets one "not available" row, and the run goes on', () => {
  const name = 'zz-not-registered';
  assert.ok(!congestionControlNames().includes(name));
  const def = { ...SIMULT_FLOWS, policies: { schedulers: ['default'], cc: ['cubic'], combine: 'star' as const, wantedCc: [name] }, cases: [], largeBytes: 0 };
  const rows = runDefinition(def, { loadTrace: () => undefined });
  assert.deepEqual(rows.map((r) => [r.cc, r.status]), [[name, 'not available']]);
  assert.match(rows[0]!.note ?? '', /not registered/);
});

test('a scenario whose Mahimahi trace is missing is skipped with the file named, not failed', () => {
  const rows = runScenario(WIFI_LTE, { scheduler: 'default', cc: 'cubic' }, { loadTrace: () => undefined });
  assert.deepEqual(rows.map((r) => r.status), ['skipped']);
  assert.match(rows[0]!.note ?? '', /trace missing: TMobile-LTE-short\.down/);
});
