/**
 * `npm run bench`: runs every benchmark, prints a table, and writes bench/results/latest.json (numbers,
 * machine, date). BENCHMARKS.md records and explains them.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import { benchWire } from './wire.js';
import { benchTcp } from './tcp.js';
import { benchMptcp } from './mptcp.js';
import { benchProxy } from './proxy.js';
import { benchScale } from './scale.js';
import { benchTun } from './tun.js';
import { benchUdp } from './udp.js';
import type { BenchResult } from './measure.js';

const suites: Array<[string, () => Promise<BenchResult[]>]> = [
  ['wire', benchWire],
  ['tcp', benchTcp],
  ['mptcp', benchMptcp],
  ['proxy', benchProxy],
  ['scale', benchScale],
  ['tun', benchTun],
  ['udp', benchUdp],
];
try {
  const emu = (await import('./emu.js')) as { benchEmu?: () => Promise<BenchResult[]> };
  if (emu.benchEmu) suites.push(['emu', emu.benchEmu]);
} catch (e) {
  console.error(`emu benchmark unavailable: ${(e as Error).message}`);
}

try {
  const emulate = (await import('./emulate.js')) as { benchEmulate?: () => Promise<BenchResult[]> };
  if (emulate.benchEmulate) suites.push(['emulate', emulate.benchEmulate]);
} catch (e) {
  console.error(`emulate benchmark unavailable: ${(e as Error).message}`);
}

const filter = process.argv[2];
const loadAtStart = os.loadavg();
const started = new Date().toISOString();
const all: Array<BenchResult & { suite: string }> = [];
for (const [suite, fn] of suites) {
  if (filter && !suite.includes(filter)) continue;
  for (const r of await fn()) {
    all.push({ suite, ...r });
    console.log(`${suite.padEnd(5)} ${r.name.padEnd(78)} ${String(r.value).padStart(12)} ${r.unit}${r.note ? `   (${r.note})` : ''}`);
  }
}
mkdirSync('bench/results', { recursive: true });
const out = {
  date: new Date().toISOString(),
  started,
  // 1, 5 and 15 minute load averages when the run started and ended (the machine is shared: compare ratios).
  loadavg: { start: loadAtStart.map((l) => Math.round(l * 100) / 100), end: os.loadavg().map((l) => Math.round(l * 100) / 100) },
  node: process.version,
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cores: os.cpus().length,
  results: all,
};
// A run of some suites (`npm run bench scale`) keeps its own file, so it does not overwrite the full run's.
const file = filter ? `bench/results/${filter.replace(/[^a-z0-9-]/gi, '_')}.json` : 'bench/results/latest.json';
writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
console.log(`\nwritten: ${file}`);
