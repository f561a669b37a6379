/**
 * `mptcp perf` on the emulator says when the emulator, not the link, set the rate: --link rate=10G cannot
 * be carried by one Node process running both ends and the link, and the output says so (text and the
 * JSON "emulator" object); a 10 Mbit/s link is carried and nothing is said. The rule itself
 * (emulatorVerdict) on fixed numbers: a lossy link or one whose queue overflowed is not blamed on it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emulatorVerdict } from '../../src/perf/emulated.js';
import { parseLinkSpec } from '../../src/cli/perf-options.js';
import { runPerfCli } from './helpers.js';

test('--link rate=10G: a warning that the emulator could not keep up; the JSON says kept_up false', { timeout: 60_000 }, async () => {
  const text = await runPerfCli(['-c', '198.18.0.2', '-t', '2', '--link', 'rate=10G']);
  assert.equal(text.code, 0, text.err);
  assert.match(text.out, /^Warning: the emulator could not keep up with the configured rate: the link carries 10\.0 Gbits\/sec, this test got [\d.]+ [MGK]bits\/sec while no queue ever filled \(emulation lag .*\): the result measures this process, not the link$/m);
  const json = await runPerfCli(['-c', '198.18.0.2', '-t', '2', '--link', 'rate=10G', '-J']);
  assert.equal(json.code, 0, json.err);
  const doc = JSON.parse(json.out) as { emulator: { kept_up: boolean; configured_bits_per_second: number; measured_bits_per_second: number }; end: unknown };
  assert.equal(doc.emulator.kept_up, false);
  assert.equal(doc.emulator.configured_bits_per_second, 10e9);
  assert.ok(doc.emulator.measured_bits_per_second < 7e9);
});

test('--link rate=10M: carried, no warning; kept_up true', { timeout: 60_000 }, async () => {
  const text = await runPerfCli(['-c', '198.18.0.2', '-t', '2', '--link', 'rate=10M']);
  assert.equal(text.code, 0, text.err);
  assert.doesNotMatch(text.out, /could not keep up/);
  const json = await runPerfCli(['-c', '198.18.0.2', '-t', '2', '--link', 'rate=10M', '-J']);
  assert.equal((JSON.parse(json.out) as { emulator: { kept_up: boolean } }).emulator.kept_up, true);
});

test('emulatorVerdict: short of the rate with no queue drop, no loss and windows that allow the rate -> not kept up; otherwise kept up', () => {
  const fast = [parseLinkSpec('rate=10G')];
  const base = { measuredBitsPerSecond: 1e9, seconds: 2, cpuPercent: 40, lagFraction: 0.3, queueDrops: 0 };
  assert.equal(emulatorVerdict(fast, true, base).keptUp, false);
  assert.equal(emulatorVerdict(fast, true, { ...base, measuredBitsPerSecond: 8e9 }).keptUp, true, 'near the rate');
  assert.equal(emulatorVerdict(fast, true, { ...base, queueDrops: 3 }).keptUp, true, 'a queue overflowed: the link was the limit');
  assert.equal(emulatorVerdict([parseLinkSpec('rate=10G,loss=1%')], true, base).keptUp, true, 'loss-limited TCP');
  assert.equal(emulatorVerdict([parseLinkSpec('rate=10G,delay=100ms')], true, base).keptUp, true, 'window-limited TCP (4 MiB over 200 ms)');
  assert.equal(emulatorVerdict([parseLinkSpec('rate=1K')], true, { ...base, measuredBitsPerSecond: 300, lagFraction: 0.004, cpuPercent: 140 }).keptUp, true, 'a 1 Kbit/s link is not the emulator\'s fault');
  assert.equal(emulatorVerdict([parseLinkSpec('rate=1G,delay=40ms')], true, { ...base, measuredBitsPerSecond: 3e8, seconds: 1 }).keptUp, true, 'slow start takes most of a short test');
  // Several paths with MPTCP add up; without MPTCP only the first carries the test.
  const two = [parseLinkSpec('rate=1G'), parseLinkSpec('rate=1G')];
  assert.equal(emulatorVerdict(two, true, { ...base, measuredBitsPerSecond: 1.2e9 }).configuredBitsPerSecond, 2e9);
  assert.equal(emulatorVerdict(two, true, { ...base, measuredBitsPerSecond: 1.2e9 }).keptUp, false);
  assert.equal(emulatorVerdict(two, false, { ...base, measuredBitsPerSecond: 0.9e9 }).keptUp, true);
});
