/**
 * `npm run scenarios`: the scenario suite of issue 9 (src/harness/scenarios/), every scenario for every
 * policy the registries hold, in virtual time; writes scenarios/RESULTS.md and scenarios/results.json (the
 * committed snapshot: a change in behaviour shows as a diff). Traces come from ../shared/traces.
 *
 *   npm run scenarios                                  the whole suite, rewrites the snapshot
 *   npm run scenarios -- --only simult_flows,wifi_3g   some scenarios (ids in the table), printed only
 *   npm run scenarios -- --scheduler blest --cc lia    one policy (either or both)
 *   npm run scenarios -- --seeds 1                     the first seed of each scenario only
 *   npm run scenarios -- --out DIR                     write RESULTS.md and results.json to DIR (also filtered)
 *   npm run scenarios -- --check                       run the whole suite, compare with the snapshot, exit 1 on a difference
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMahimahiTrace } from '../src/emu/trace-file.js';
import { SCENARIOS, runSuite, selectScenarios, tally, toJson, toMarkdown, type Row, type SuiteFilter } from '../src/harness/scenarios/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const traceDir = resolve(root, '../shared/traces');

function usage(message: string): never {
  console.error(`scenarios: ${message}\nusage: npm run scenarios -- [--only ID,ID] [--scheduler NAME] [--cc NAME] [--seeds N] [--out DIR] [--check]`);
  process.exit(2);
}

const args = process.argv.slice(2);
const filter: { only?: string[]; scheduler?: string; cc?: string; seeds?: number } = {};
let out: string | undefined;
let check = false;
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  const value = (): string => args[++i] ?? usage(`${a} needs a value`);
  if (a === '--only') filter.only = value().split(',').filter(Boolean);
  else if (a === '--scheduler') filter.scheduler = value();
  else if (a === '--cc') filter.cc = value();
  else if (a === '--seeds') {
    const n = Number(value());
    if (!Number.isInteger(n) || n < 1) usage('--seeds needs a whole number >= 1');
    filter.seeds = n;
  } else if (a === '--out') out = value();
  else if (a === '--check') check = true;
  else if (a === '--help' || a === '-h') usage('help');
  else usage(`unknown argument "${a}"`);
}
const filtered = Object.keys(filter).length > 0;
if (check && filtered) usage('--check runs the whole suite: no filter');
if (!filtered && out === undefined && !check) out = here;

const traces = new Map<string, ReturnType<typeof loadMahimahiTrace> | undefined>();
const env = {
  loadTrace: (name: string) => {
    if (!traces.has(name)) {
      const path = join(traceDir, name);
      traces.set(name, existsSync(path) ? loadMahimahiTrace(path) : undefined);
    }
    return traces.get(name);
  },
};

let defs;
try {
  defs = selectScenarios(SCENARIOS, filter as SuiteFilter);
} catch (e) {
  usage((e as Error).message);
}
const wallStart = performance.now();
const rows: Row[] = runSuite(defs, env, filter as SuiteFilter, (r) => {
  const m = Object.entries(r.metrics).map(([k, v]) => `${k} ${v}`).join(', ');
  console.log(`${r.scenario} | ${r.case} | ${r.scheduler}/${r.cc} | ${m}${r.bound ? ` | ${r.bound}` : ''} | ${r.status}${r.note ? ` (${r.note})` : ''}`);
});
const wallSeconds = (performance.now() - wallStart) / 1000;
const header = [
  '# Scenario suite results',
  '',
  'Written by `npm run scenarios` (scenarios/run.ts, definitions in src/harness/scenarios/definitions.ts): every scenario for',
  'every scheduler and congestion controller in the registries, on the emulator in virtual time with both ends this',
  'stack, seeded (the same code gives the same bytes). `pass`/`fail` is against the bound the row names; `info` is a',
  'measurement without a bound; `not available` is a policy the registries do not have yet. Issue 9 has the goals.',
].join('\n');
const md = toMarkdown(SCENARIOS, rows, header);
const json = toJson(rows);
console.log(`\n${rows.length} rows: ${tally(rows)}; wall ${wallSeconds.toFixed(1)} s`);
if (check) {
  const same = readFileSync(join(here, 'RESULTS.md'), 'utf8') === md && readFileSync(join(here, 'results.json'), 'utf8') === json;
  console.log(same ? 'scenarios: the snapshot is the same' : 'scenarios: the results differ from the committed snapshot (run `npm run scenarios` and look at the diff)');
  process.exit(same ? 0 : 1);
}
if (out !== undefined) {
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'RESULTS.md'), md);
  writeFileSync(join(out, 'results.json'), json);
  console.log(`wrote ${join(out, 'RESULTS.md')} and results.json`);
}
