/**
 * Coupled congestion control in virtual time (issue 9; src/harness/competition.ts): Wi-Fi + 3G (Raiciu et al.,
 * NSDI 2012, figure 7 parameters) goodput per controller against plain TCP on the Wi-Fi path alone, and the
 * shared-bottleneck share, over several seeds. Deterministic: the same numbers on every machine.
 *
 *   node --import tsx bench/coupled-cc.ts [seconds=60] [seeds=5]
 */
import type { LinkConfig } from '../src/emu/link.js';
import { disjointPaths, sharedBottleneck } from '../src/harness/competition.js';

const seconds = Number(process.argv[2] ?? 60);
const seeds = Number(process.argv[3] ?? 5);
const WIFI: LinkConfig = { rateBitsPerSecond: 8e6, delayMicros: 10_000, loss: 0.02, queueLimitBytes: 15_000 };
const G3: LinkConfig = { rateBitsPerSecond: 2e6, delayMicros: 75_000, loss: 0.01, queueLimitBytes: 96_000 };
const timing = { seconds, warmupSeconds: 5 };
const mbit = (bps: number): string => (bps / 1e6).toFixed(2);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const seedList = Array.from({ length: seeds }, (_, i) => i + 1);

const tcp = Object.fromEntries(
  ['cubic', 'reno'].map((cc) => [cc, seedList.map((seed) => disjointPaths({ ...timing, seed, cc, paths: [WIFI, G3], tcpPath: 0 }).bitsPerSecond)]),
) as Record<string, number[]>;
const g3 = seedList.map((seed) => disjointPaths({ ...timing, seed, cc: 'cubic', paths: [WIFI, G3], tcpPath: 1 }).bitsPerSecond);
console.log(`Wi-Fi + 3G, ${seconds} s virtual (goodput after ${timing.warmupSeconds} s), seeds 1-${seeds}, median Mbit/s [min-max]`);
const range = (xs: number[]): string => `${mbit(median(xs))} [${mbit(Math.min(...xs))}-${mbit(Math.max(...xs))}]`;
console.log(`| plain TCP cubic, Wi-Fi alone | ${range(tcp['cubic']!)} |`);
console.log(`| plain TCP reno, Wi-Fi alone | ${range(tcp['reno']!)} |`);
console.log(`| plain TCP cubic, 3G alone | ${range(g3)} |`);
for (const cc of ['cubic', 'lia', 'olia', 'balia']) {
  const runs = seedList.map((seed) => disjointPaths({ ...timing, seed, cc, paths: [WIFI, G3] }).bitsPerSecond);
  const ratio = runs.map((r, i) => r / tcp['cubic']![i]!);
  console.log(`| MPTCP ${cc}, default scheduler | ${range(runs)} | x ${median(ratio).toFixed(2)} of TCP cubic on Wi-Fi (same seed) |`);
}

console.log('\nShared bottleneck 20 Mbit/s, 20 ms, 250 KB: MPTCP (2 subflows) / one TCP, 60 s (goodput after 15 s)');
for (const [mp, t] of [['cubic', 'cubic'], ['reno', 'reno'], ['cubic', 'reno'], ['lia', 'reno'], ['olia', 'reno'], ['balia', 'reno'], ['lia', 'cubic'], ['olia', 'cubic'], ['balia', 'cubic']] as const) {
  const r = sharedBottleneck({ mptcpCc: mp, tcpCc: t, bottleneck: { rateBitsPerSecond: 20e6, delayMicros: 20_000, queueLimitBytes: 250_000 }, seconds: 60, warmupSeconds: 15 });
  console.log(`| MPTCP ${mp} vs TCP ${t} | ${mbit(r.mptcpBitsPerSecond)} | ${mbit(r.tcpBitsPerSecond)} | ${r.ratio.toFixed(2)} |`);
}
