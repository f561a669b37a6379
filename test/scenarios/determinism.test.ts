/**
 * The suite's snapshot is deterministic: a scenario run twice gives the same rows, the same Markdown and the
 * same JSON, byte for byte (no clock, no unseeded randomness anywhere in a run); and the output does follow
 * the definition (a different path delay gives a different table). A tiny simult_flows case and a failover
 * case, so the test is quick.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FAILOVER, SIMULT_FLOWS } from '../../src/harness/scenarios/definitions.js';
import { runSuite } from '../../src/harness/scenarios/suite.js';
import { toJson, toMarkdown } from '../../src/harness/scenarios/report.js';
import type { ScenarioDef, SimultFlowsScenario } from '../../src/harness/scenarios/types.js';

const env = { loadTrace: () => undefined };
const tiny = (delay2Ms: number): SimultFlowsScenario => ({
  ...SIMULT_FLOWS,
  cases: [{ name: 'tiny', rate1Mbps: 10, rate2Mbps: 5, delay1Ms: 1, delay2Ms }],
  largeBytes: 512 * 1024,
  smallBytes: 16 * 1024,
});
const shortFailover: ScenarioDef = {
  ...FAILOVER,
  cases: [{ name: 'down 2-4 s', paths: [{ ...FAILOVER.cases[0]!.paths[0]!, outages: [{ kind: 'down', atMs: 2000, untilMs: 4000 }] }, FAILOVER.cases[0]!.paths[1]!] }],
  seconds: 6,
};

function outputs(defs: ScenarioDef[]): { md: string; json: string } {
  const rows = runSuite(defs, env, { scheduler: 'default', cc: 'cubic' });
  return { md: toMarkdown(defs, rows, '# t'), json: toJson(rows) };
}

test('the same scenarios run twice give byte-identical RESULTS.md and results.json', () => {
  const a = outputs([tiny(25), shortFailover]);
  const b = outputs([tiny(25), shortFailover]);
  assert.equal(a.json, b.json);
  assert.equal(a.md, b.md);
  const rows = JSON.parse(a.json).rows as { scenario: string; status: string; metrics: Record<string, number> }[];
  assert.equal(rows.filter((r) => r.scenario === 'simult_flows').length, 2, 'both directions');
  assert.ok(rows.every((r) => r.status !== 'error'), a.md);
  assert.ok(rows.filter((r) => r.scenario === 'simult_flows').every((r) => r.metrics['time (s)']! > 0.3), 'a real transfer time');
});

test('the output follows the definition: another delay on path 2 gives another table', () => {
  assert.notEqual(outputs([tiny(25)]).json, outputs([tiny(40)]).json);
});
