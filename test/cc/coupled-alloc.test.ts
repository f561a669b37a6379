/**
 * "No allocation per ACK" (src/cc/coupled.ts, "No allocation"), checked: each coupled controller takes three
 * million congestion-avoidance ACKs on three subflows in a child process with V8's inliner switched off
 * (--no-turbo-inlining, the worst case: every non-integer number returned from a call would be boxed), and
 * the young-generation garbage that --trace-gc reports for that run must stay under a tenth of a byte per
 * ACK (one boxed number per ACK would be 16). Deterministic input; no clock is read.
 * --no-concurrent-recompilation: V8 optimises on the main thread when a function gets hot, so the warm-up
 * ends with optimised code however loaded the machine is. With the default background compiler a starved
 * compile thread left the measured run in unoptimised code (boxing numbers) for part of it: 2.3 bytes per
 * ACK in one CI run at load 12, reproduced with --concurrent-recompilation-delay=1000 (167 scavenges; none
 * with this flag).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const RUNNER = fileURLToPath(new URL('./coupled-alloc-run.ts', import.meta.url));
const ACKS = 3_000_000;

/**
 * Megabytes collected by the main isolate's scavenges between the runner's markers ("[PID:0xISOLATE] ... Scavenge
 * 4.6 (4.7) -> 4.1 (5.7) MB"). --trace-gc prints the lines of every isolate of the process, and tsx's module
 * loader runs in a worker thread with its own heap: a scavenge of that isolate (an idle-time "task" one) that
 * falls between the markers is not the measured code's garbage. The main isolate is the one whose forced
 * collection (the runner's gc() call, "testing") is the last line before MEASURE-START.
 */
function scavengedMegabytes(output: string): number {
  const start = output.indexOf('MEASURE-START');
  const end = output.indexOf('MEASURE-END');
  assert.ok(start >= 0 && end > start, 'the runner printed both markers');
  const forced = [...output.slice(0, start).matchAll(/^\[\d+:(0x[0-9a-f]+)\].*Mark-Compact.*testing/gm)].at(-1);
  assert.ok(forced, "the runner's gc() before MEASURE-START is in the trace");
  const isolate = forced[1]!;
  let collected = 0;
  for (const line of output.slice(start, end).split('\n')) {
    const match = /^\[\d+:(0x[0-9a-f]+)\].*Scavenge(?:\s+\([^)]*\))?\s+([\d.]+)\s+\(([\d.]+)\)\s+->\s+([\d.]+)/.exec(line);
    if (match && match[1] === isolate) collected += Number(match[2]) - Number(match[4]);
  }
  return collected;
}

test('the scavenge count reads the main isolate only (not the module loader worker\'s)', () => {
  const trace = [
    '[7:0x3a8cdfb0]     2251 ms: Scavenge 6.1 (7.2) -> 5.7 (9.5) MB, 12.02 / 0.01 ms  (average mu = 1.000, current mu = 1.000) allocation failure; ',
    '[7:0x3a8cdfb0]     6538 ms: Mark-Compact 7.3 (10.2) -> 5.4 (7.5) MB, 47.27 / 0.01 ms  (average mu = 1.000, current mu = 1.000) testing; GC in old space requested',
    'MEASURE-START',
    '[7:0x7f0210000f00]     2506 ms: Scavenge 7.5 (10.0) -> 6.7 (10.7) MB, 2.71 / 0.01 ms  (average mu = 1.000, current mu = 1.000) task; ',
    '[7:0x3a8cdfb0]     7000 ms: Scavenge (interleaved) 6.0 (7.5) -> 5.5 (7.5) MB, 1.00 / 0.01 ms  (average mu = 1.000, current mu = 1.000) allocation failure; ',
    'MEASURE-END',
    '[7:0x3a8cdfb0]     9000 ms: Scavenge 9.0 (9.5) -> 5.0 (9.5) MB, 1.00 / 0.01 ms  (average mu = 1.000, current mu = 1.000) allocation failure; ',
  ].join('\n');
  assert.ok(Math.abs(scavengedMegabytes(trace) - 0.5) < 1e-9, `${scavengedMegabytes(trace)}`);
});

for (const name of ['lia', 'olia', 'balia']) {
  test(`${name}: no allocation per ACK, even with nothing inlined`, () => {
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--expose-gc', '--trace-gc', '--no-turbo-inlining', '--no-concurrent-recompilation', RUNNER, name, String(ACKS)],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    assert.equal(result.status, 0, result.stderr);
    const bytesPerAck = (scavengedMegabytes(result.stdout) * 1024 * 1024) / ACKS;
    assert.ok(bytesPerAck < 0.1, `${name}: ${bytesPerAck.toFixed(3)} bytes of garbage per ACK`);
  });
}
