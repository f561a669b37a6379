/**
 * `mptcp emulate`'s throughput ceiling (issue 10): a kernel TCP transfer (iperf3) between two namespaces
 * through one emulated path, at rate=1G,delay=1ms (the issue's target: at least 500 Mbit/s) and at
 * rate=10G,delay=1ms (where the emulator, not the link, is the limit). Root only; skipped with the reason
 * otherwise. Also `node --import tsx bench/emulate.ts` on its own.
 */
import { sig3, type BenchResult } from './measure.js';
import { emulateSkipReason, iperf3, startEmulate } from '../test/support/emulate.js';

async function throughput(link: string, seconds: number, rounds: number): Promise<{ samples: number[]; timing: string[]; drops: string[] }> {
  const samples: number[] = [];
  const timing: string[] = [];
  const drops: string[] = [];
  for (let r = 0; r < rounds; r++) {
    const run = await startEmulate([`198.18.1.1/24,198.18.1.2/24,${link}`], { label: 'bench' });
    try {
      const tcp = await iperf3(run.left, run.right, '198.18.1.2', ['-t', String(seconds)], (seconds + 30) * 1000);
      samples.push(tcp.receivedBps / 1e6);
      const stopped = await run.stop();
      timing.push(/timing: .*/.exec(stopped.out)?.[0] ?? '');
      drops.push(/up \d+ packets.*?dropped[^;]*/.exec(stopped.out)?.[0] ?? '');
    } finally {
      await run.dispose();
    }
  }
  return { samples, timing, drops };
}

export async function benchEmulate(): Promise<BenchResult[]> {
  const skip = emulateSkipReason(['iperf3']);
  if (skip) {
    console.error(`emulate benchmarks skipped: ${skip}`);
    return [];
  }
  const results: BenchResult[] = [];
  for (const link of ['rate=1G,delay=1ms', 'rate=10G,delay=1ms']) {
    const { samples, timing, drops } = await throughput(link, 8, 3);
    const sorted = [...samples].sort((a, b) => a - b);
    results.push({
      name: `kernel TCP (iperf3 -t 8) through mptcp emulate, ${link}`,
      value: sig3(sorted[1]!),
      unit: 'Mbit/s',
      note: `median of 3 (${samples.map(sig3).join(', ')}); ${drops.join(' | ')}; ${timing.join(' | ')}`,
    });
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await benchEmulate()) console.log(`${r.name}: ${r.value} ${r.unit} (${r.note})`);
}
