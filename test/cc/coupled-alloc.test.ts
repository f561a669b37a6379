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

/** Megabytes collected by scavenges between the runner's markers ("Scavenge 4.6 (4.7) -> 4.1 (5.7) MB"). */
function scavengedMegabytes(output: string): number {
  const start = output.indexOf('MEASURE-START');
  const end = output.indexOf('MEASURE-END');
  assert.ok(start >= 0 && end > start, 'the runner printed both markers');
  let collected = 0;
  for (const match of output.slice(start, end).matchAll(/Scavenge(?:\s+\([^)]*\))?\s+([\d.]+)\s+\(([\d.]+)\)\s+->\s+([\d.]+)/g)) {
    collected += Number(match[1]) - Number(match[3]);
  }
  return collected;
}

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
