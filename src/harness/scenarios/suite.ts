/**
 * Runs scenarios for their policies (from the registries) and collects the rows; a policy that cannot be
 * chosen yet gets one "not available" row instead of a run, and a run that throws an "error" row.
 */
import { congestionControlNames } from '../../cc/registry.js';
import { schedulerNames } from '../../sched/registry.js';
import { available, policiesOf } from './policies.js';
import { runScenario } from './runners.js';
import type { Policy, Row, ScenarioDef, SuiteEnvironment, SuiteFilter } from './types.js';

/** The definitions a filter keeps (`only` by id), with fewer seeds if asked. Throws on an unknown id. */
export function selectScenarios(defs: readonly ScenarioDef[], filter: SuiteFilter = {}): ScenarioDef[] {
  for (const id of filter.only ?? []) {
    if (!defs.some((d) => d.id === id)) throw new Error(`unknown scenario "${id}"; available: ${defs.map((d) => d.id).join(', ')}`);
  }
  return defs
    .filter((d) => filter.only === undefined || filter.only.length === 0 || filter.only.includes(d.id))
    .map((d) => (filter.seeds !== undefined ? { ...d, seeds: d.seeds.slice(0, Math.max(1, filter.seeds)) } : d));
}

/** The policies of a definition that a filter keeps. */
export function selectPolicies(def: ScenarioDef, filter: SuiteFilter = {}): Policy[] {
  return policiesOf(def.policies).filter(
    (p) => (filter.scheduler === undefined || p.scheduler === filter.scheduler) && (filter.cc === undefined || p.cc === filter.cc),
  );
}

function unavailable(def: ScenarioDef, policy: Policy): Row {
  const missing = !schedulerNames().includes(policy.scheduler)
    ? `scheduler "${policy.scheduler}" is not registered`
    : `congestion control "${policy.cc}" is not registered (available: ${congestionControlNames().join(', ')})`;
  return { scenario: def.id, case: 'all cases', scheduler: policy.scheduler, cc: policy.cc, source: def.source, metrics: {}, bound: '', status: 'not available', note: missing };
}

/** Runs one definition for every kept policy; `onRow` sees each row as it is made (progress). */
export function runDefinition(def: ScenarioDef, env: SuiteEnvironment, filter: SuiteFilter = {}, onRow?: (row: Row) => void): Row[] {
  const rows: Row[] = [];
  for (const policy of selectPolicies(def, filter)) {
    let made: Row[];
    if (!available(policy)) made = [unavailable(def, policy)];
    else {
      try {
        made = runScenario(def, policy, env);
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        made = [{ scenario: def.id, case: 'all cases', scheduler: policy.scheduler, cc: policy.cc, source: def.source, metrics: {}, bound: '', status: 'error', note: message }];
      }
    }
    for (const r of made) onRow?.(r);
    rows.push(...made);
  }
  return rows;
}

/** Runs every kept definition. */
export function runSuite(defs: readonly ScenarioDef[], env: SuiteEnvironment, filter: SuiteFilter = {}, onRow?: (row: Row) => void): Row[] {
  return selectScenarios(defs, filter).flatMap((d) => runDefinition(d, env, filter, onRow));
}
