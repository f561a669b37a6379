/**
 * The coupled controllers on the emulator against RFC 6356 section 2's goals (issue 9), both ends this stack,
 * virtual time, deterministic (src/harness/competition.ts builds the topologies):
 * - "do no harm": one MPTCP connection with two subflows through ONE shared bottleneck next to one plain
 *   TCP (Reno) connection takes at most 1.3 times the TCP connection's goodput with lia, olia and balia,
 *   while uncoupled subflows (cubic, reno) take far more: the same topology tells the two apart;
 * - "improve throughput": over two disjoint paths lia, olia and balia get at least 0.9 times what plain TCP
 *   gets on the better path alone;
 * - a regression of the TCP sender found with them: a loss never raises the window (the FlightSize halved
 *   is at most cwnd), which on a lossy path under MPTCP's large receive window used to grow cwnd to 1.2 MB.
 * Figures are printed (`# ...`) for the report and BENCHMARKS.md.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LinkConfig } from '../../src/emu/link.js';
import { disjointPaths, sharedBottleneck } from '../../src/harness/competition.js';

const mbit = (bps: number): string => (bps / 1e6).toFixed(2);

/** 20 Mbit/s, 20 ms one way, 250 KB of drop-tail queue (about two bandwidth-delay products). */
const BOTTLENECK: LinkConfig = { rateBitsPerSecond: 20e6, delayMicros: 20_000, queueLimitBytes: 250_000 };
const SHARED = { bottleneck: BOTTLENECK, seconds: 60, warmupSeconds: 15, seed: 7 };

test('shared bottleneck: lia, olia and balia take at most 1.3x one Reno TCP connection; uncoupled cubic and reno take much more', () => {
  const lines: string[] = [];
  for (const cc of ['lia', 'olia', 'balia']) {
    const r = sharedBottleneck({ ...SHARED, mptcpCc: cc, tcpCc: 'reno' });
    lines.push(`${cc}: MPTCP ${mbit(r.mptcpBitsPerSecond)} Mbit/s, TCP reno ${mbit(r.tcpBitsPerSecond)} Mbit/s, ratio ${r.ratio.toFixed(2)} (subflows ${r.subflowBytes.join('/')} B)`);
    assert.ok(r.ratio <= 1.3, `${cc}: ratio ${r.ratio.toFixed(2)} <= 1.3`);
    // Not starved either, and the link is used: both together fill most of it.
    assert.ok(r.ratio >= 0.6, `${cc}: ratio ${r.ratio.toFixed(2)} >= 0.6`);
    assert.ok(r.mptcpBitsPerSecond + r.tcpBitsPerSecond > 0.85 * 20e6, `${cc}: the bottleneck is used`);
    assert.ok(r.subflowBytes.length === 2 && r.subflowBytes.every((b) => b > 1_000_000), `${cc}: both subflows carried data`);
  }
  const cubic = sharedBottleneck({ ...SHARED, mptcpCc: 'cubic', tcpCc: 'cubic' });
  const reno = sharedBottleneck({ ...SHARED, mptcpCc: 'reno', tcpCc: 'reno' });
  lines.push(`cubic (uncoupled) vs TCP cubic: ${mbit(cubic.mptcpBitsPerSecond)} / ${mbit(cubic.tcpBitsPerSecond)} Mbit/s, ratio ${cubic.ratio.toFixed(2)}`);
  lines.push(`reno (uncoupled) vs TCP reno: ${mbit(reno.mptcpBitsPerSecond)} / ${mbit(reno.tcpBitsPerSecond)} Mbit/s, ratio ${reno.ratio.toFixed(2)}`);
  console.log(lines.map((l) => `# shared bottleneck 20 Mbit/s 20 ms 250 KB: ${l}`).join('\n'));
  assert.ok(cubic.ratio > 1.3, `uncoupled cubic takes more than 1.3x (${cubic.ratio.toFixed(2)}): the topology detects unfairness`);
  assert.ok(reno.ratio > 1.5, `uncoupled reno takes more than 1.5x (${reno.ratio.toFixed(2)})`);
});

test('disjoint paths: lia, olia and balia get at least 0.9x plain TCP on the better path alone', () => {
  const paths: LinkConfig[] = [
    { rateBitsPerSecond: 10e6, delayMicros: 10_000, queueLimitBytes: 60_000 },
    { rateBitsPerSecond: 5e6, delayMicros: 30_000, queueLimitBytes: 60_000 },
  ];
  const timing = { seconds: 40, warmupSeconds: 10, seed: 8 };
  const single = paths.map((_, i) => Math.max(...['reno', 'cubic'].map((cc) => disjointPaths({ ...timing, cc, paths, tcpPath: i }).bitsPerSecond)));
  const best = Math.max(...single);
  const lines = [`plain TCP (best of reno, cubic) per path: ${single.map(mbit).join(', ')} Mbit/s`];
  for (const cc of ['lia', 'olia', 'balia']) {
    const r = disjointPaths({ ...timing, cc, paths });
    lines.push(`${cc}: ${mbit(r.bitsPerSecond)} Mbit/s = ${(r.bitsPerSecond / best).toFixed(2)} x the better path (subflows ${r.subflowBytes.join('/')} B)`);
    assert.ok(r.bitsPerSecond >= 0.9 * best, `${cc}: ${mbit(r.bitsPerSecond)} >= 0.9 x ${mbit(best)} Mbit/s`);
    assert.ok(r.subflowBytes.length === 2 && r.subflowBytes[1]! > 1_000_000, `${cc}: the second path is used`);
  }
  console.log(lines.map((l) => `# disjoint 10 Mbit/s 10 ms + 5 Mbit/s 30 ms: ${l}`).join('\n'));
});

test('a loss never raises the window: Reno subflows on a 2%-loss path keep cwnd near the path\'s capacity', () => {
  // Wi-Fi + 3G (Raiciu et al., NSDI 2012). Seed 2 is the one that grew the Wi-Fi subflow's cwnd to 1.17 MB when
  // ssthresh was half of SND.NXT - SND.UNA after a long recovery (BDP + queue here: about 35 KB).
  const wifi: LinkConfig = { rateBitsPerSecond: 8e6, delayMicros: 10_000, loss: 0.02, queueLimitBytes: 15_000 };
  const g3: LinkConfig = { rateBitsPerSecond: 2e6, delayMicros: 75_000, loss: 0.01, queueLimitBytes: 96_000 };
  for (const cc of ['reno', 'lia']) {
    const r = disjointPaths({ cc, paths: [wifi, g3], seed: 2, seconds: 20, warmupSeconds: 2 });
    console.log(`# wifi+3g seed 2, ${cc}: ${mbit(r.bitsPerSecond)} Mbit/s, peak cwnd ${r.peakCwndBytes.join('/')} B`);
    assert.ok(r.peakCwndBytes[0]! < 150_000, `${cc}: Wi-Fi subflow peak cwnd ${r.peakCwndBytes[0]} < 150 KB`);
    assert.ok(r.bitsPerSecond < 8e6, `${cc}: goodput below the Wi-Fi path's rate`);
  }
});
