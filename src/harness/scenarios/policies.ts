/**
 * The policies a scenario runs, from the registries by name: a scheduler or controller registered later
 * appears in the suite without a change here. A controller a scenario wants (`PolicySpec.wantedCc`) but the
 * registry does not have yet is still listed, as "not available".
 */
import { congestionControlNames, DEFAULT_CONGESTION_CONTROL } from '../../cc/registry.js';
import { DEFAULT_SCHEDULER, schedulerNames } from '../../sched/registry.js';
import type { Policy, PolicySelection, PolicySpec } from './types.js';

/** Default first, then the rest in registry (sorted) order, then wanted names the registry lacks. */
function resolve(selection: PolicySelection, registered: readonly string[], first: string, wanted: readonly string[] = []): string[] {
  const names = selection === 'registry' ? [...registered] : [...selection];
  for (const w of wanted) if (!names.includes(w)) names.push(w);
  return [first, ...names.filter((n) => n !== first)].filter((n) => names.includes(n));
}

/** Whether a controller or a scheduler can be chosen today. */
export function available(policy: Policy): boolean {
  return congestionControlNames().includes(policy.cc) && schedulerNames().includes(policy.scheduler);
}

/** Every policy of a spec, in table order (the default pair first). */
export function policiesOf(spec: PolicySpec): Policy[] {
  const schedulers = resolve(spec.schedulers, schedulerNames(), DEFAULT_SCHEDULER);
  const ccs = resolve(spec.cc, congestionControlNames(), DEFAULT_CONGESTION_CONTROL, spec.wantedCc);
  const out: Policy[] = [];
  if (spec.combine === 'full') {
    for (const scheduler of schedulers) for (const cc of ccs) out.push({ scheduler, cc });
    return out;
  }
  for (const scheduler of schedulers) out.push({ scheduler, cc: DEFAULT_CONGESTION_CONTROL });
  for (const cc of ccs) if (cc !== DEFAULT_CONGESTION_CONTROL) out.push({ scheduler: DEFAULT_SCHEDULER, cc });
  return out;
}
