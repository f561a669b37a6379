import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Simulator } from '../../src/emu/sim.js';
import { Link } from '../../src/emu/link.js';
import { parseMahimahiTrace, traceFromMillis, traceMeanRate, TraceError, type DeliveryTrace } from '../../src/emu/trace.js';
import { loadMahimahiTrace } from '../../src/emu/trace-file.js';
import { packet, recordDeliveries } from './helpers.js';

const TRACES = join(process.cwd(), '..', 'shared', 'traces');

/** The Mahimahi traces live outside the repository (../shared/traces): without them, skip with the reason. */
function traceMissing(name: string): string | false {
  return existsSync(join(TRACES, name)) ? false : `${join(TRACES, name)} not found: the Mahimahi traces are read from ../shared/traces, next to the repository`;
}

function synthetic(millis: number[]): DeliveryTrace {
  const t = traceFromMillis(millis);
  assert.ok(!(t instanceof TraceError), String(t));
  return t;
}

test('trace: parsing, validation and mean rate', () => {
  const t = parseMahimahiTrace('0\n0\n\n5\n10\n');
  assert.ok(!(t instanceof TraceError));
  assert.deepEqual(Array.from(t.opportunitiesMicros), [0, 0, 5000, 10_000]);
  assert.equal(t.periodMicros, 10_000);
  assert.equal(traceMeanRate(t), (4 * 1500 * 8) / 0.01);
  const one = parseMahimahiTrace('1\n');
  assert.ok(!(one instanceof TraceError));
  assert.equal(traceMeanRate(one), 12_000_000); // the README's constant 12 Mbit/s link
  for (const [bad, line] of [
    ['', 0],
    ['0\n', 1],
    ['3\n2\n', 2],
    ['1\nx\n', 2],
    ['1\n-1\n', 2],
    ['1.5\n', 1],
  ] as const) {
    const r = parseMahimahiTrace(bad);
    assert.ok(r instanceof TraceError, JSON.stringify(bad));
    assert.equal(r.line, line, JSON.stringify(bad));
  }
});

test('trace: packets use opportunities exactly as a byte budget (shared, spanning, wasted when idle)', () => {
  // Opportunities at 2, 4, 4, 10 ms, repeating every 10 ms: 2, 4, 4, 10, 12, 14, 14, 20, 22, ...
  const trace = synthetic([2, 4, 4, 10]);
  const sim = new Simulator();
  const link = new Link(sim, { trace, delayMicros: 100 });
  const log = recordDeliveries(link);
  // Three 1000-byte packets at 0: #1 takes 1000 of the 2 ms budget; #2 the other 500 and 500 of the first 4 ms
  // one; #3 the remaining 1000 of that one.
  for (let i = 1; i <= 3; i++) link.offer(packet(i, 1000));
  // At 5 ms the budget of the second 4 ms opportunity went unused (queue empty): the next one is at 10 ms.
  sim.schedule(5000, () => link.offer(packet(4, 100)));
  // 1400 bytes are left in the 10 ms opportunity: a 1400-byte packet offered at 10 ms uses them ...
  sim.schedule(10_000, () => link.offer(packet(5, 1400)));
  // ... and one offered 1 µs later waits for 12 ms.
  sim.schedule(10_001, () => link.offer(packet(6, 4)));
  // A 4000-byte packet spans 3 opportunities: 14, 14 and 20 ms.
  sim.schedule(13_000, () => link.offer(packet(7, 4000)));
  // After a long idle spell the cursor jumps: at 35 ms the next opportunity is 40 ms; at 40.001 ms it is 42 ms.
  sim.schedule(35_000, () => link.offer(packet(8, 1500)));
  sim.schedule(40_001, () => link.offer(packet(9, 1500)));
  // An opportunity at exactly the arrival instant can carry the packet.
  sim.schedule(52_000, () => link.offer(packet(10, 1500)));
  sim.runUntilIdle();
  assert.deepEqual(log, [
    [2100, 1],
    [4100, 2],
    [4100, 3],
    [10_100, 4],
    [10_100, 5],
    [12_100, 6],
    [20_100, 7],
    [40_100, 8],
    [42_100, 9],
    [52_100, 10],
  ]);
});

test('trace: traceStartMicros shifts the schedule; queue limits apply to packets waiting for opportunities', () => {
  const sim = new Simulator();
  const link = new Link(sim, { trace: synthetic([1]), traceStartMicros: 500, queueLimitPackets: 2 });
  const log = recordDeliveries(link);
  for (let i = 0; i < 5; i++) link.offer(packet(i, 1500));
  sim.runUntilIdle();
  // Opportunities at 1.5, 2.5, 3.5 ms; all three packets wait (none can start at 0), so the limit of 2 holds.
  assert.deepEqual(log, [
    [1500, 0],
    [2500, 1],
  ]);
  assert.equal(link.counters.droppedPackets.queue, 3);
});

/** Mean rate straight from the file: opportunities * 1500 * 8 / duration (the last timestamp). */
function fileMeanRate(path: string): { rate: number; periodMicros: number } {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const lastMs = Number(lines.at(-1));
  return { rate: (lines.length * 1500 * 8) / (lastMs / 1000), periodMicros: lastMs * 1000 };
}

for (const [name, size] of [
  ['TMobile-LTE-short.down', 1500],
  ['Verizon-LTE-short.up', 1000],
] as const) {
  test(`trace: saturated ${name} link (${size}-byte packets) matches the trace's mean rate within 1%`, { skip: traceMissing(name) }, () => {
    const path = join(TRACES, name);
    const { rate: expected, periodMicros } = fileMeanRate(path);
    const trace = loadMahimahiTrace(path);
    assert.equal(trace.periodMicros, periodMicros);
    const sim = new Simulator();
    const link = new Link(sim, { trace, delayMicros: 0 });
    // Closed loop: 500 packets queued at 0, and a new one offered for every delivery, so the queue never empties.
    let bytes = 0;
    const p = packet(0, size);
    link.setReceiver((now, b) => {
      bytes += b.length;
      if (now < periodMicros) link.offer(p);
    });
    for (let i = 0; i < 500; i++) link.offer(p);
    sim.run(periodMicros);
    const measured = (bytes * 8 * 1e6) / periodMicros;
    assert.ok(Math.abs(measured - expected) / expected < 0.01, `${name}: ${measured} vs ${expected}`);
    assert.ok(Math.abs(traceMeanRate(trace) - expected) < 1e-6 * expected);
  });
}
