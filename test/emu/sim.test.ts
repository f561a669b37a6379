import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator, type Micros } from '../../src/emu/sim.js';
import { Rng } from '../../src/emu/random.js';

test('sim: events run in (time, insertion) order and the clock jumps to each', () => {
  const sim = new Simulator();
  const log: string[] = [];
  sim.schedule(20, (now) => log.push(`b@${now}`));
  sim.schedule(10, (now) => log.push(`a@${now}`));
  sim.schedule(20, (now) => log.push(`c@${now}`));
  sim.schedule(10, (now) => {
    log.push(`d@${now}`);
    sim.schedule(10, (t) => log.push(`e@${t}`)); // same instant, scheduled later: runs after a and d
  });
  assert.equal(sim.nextEventTime(), 10);
  assert.equal(sim.runUntilIdle(), 5);
  assert.deepEqual(log, ['a@10', 'd@10', 'e@10', 'b@20', 'c@20']);
  assert.equal(sim.now, 20);
  assert.equal(sim.step(), false);
});

test('sim: handler objects get kind, payload and arg', () => {
  const sim = new Simulator(5);
  const seen: unknown[] = [];
  const h = { handleEvent: (now: Micros, kind: number, payload: unknown, arg: number) => seen.push([now, kind, payload, arg]) };
  sim.schedule(7, h, 3, 'x', 42);
  sim.scheduleAfter(1, h);
  sim.runUntilIdle();
  assert.deepEqual(seen, [
    [6, 0, undefined, 0],
    [7, 3, 'x', 42],
  ]);
});

test('sim: run(until) runs events at or before until and sets the clock to until', () => {
  const sim = new Simulator();
  const log: Micros[] = [];
  for (const t of [5, 10, 11]) sim.schedule(t, (now) => log.push(now));
  assert.equal(sim.run(10), 2);
  assert.equal(sim.now, 10);
  assert.deepEqual(log, [5, 10]);
  assert.equal(sim.runFor(5), 1);
  assert.equal(sim.now, 15);
  assert.throws(() => sim.run(14), RangeError);
  assert.throws(() => sim.schedule(14, () => {}), RangeError);
  assert.throws(() => sim.schedule(15.5, () => {}), RangeError);
});

test('sim: cancel is lazy but exact; a fired event cannot be cancelled', () => {
  const sim = new Simulator();
  const log: number[] = [];
  const a = sim.schedule(1, () => log.push(1));
  const b = sim.schedule(2, () => log.push(2));
  sim.schedule(3, () => log.push(3));
  assert.equal(sim.cancel(b), true);
  assert.equal(sim.cancel(b), false);
  assert.equal(b.pending, false);
  assert.equal(sim.pendingEvents, 2);
  sim.runUntilIdle();
  assert.deepEqual(log, [1, 3]);
  assert.equal(sim.cancel(a), false);
  assert.equal(sim.eventsProcessed, 2);
});

test('sim: random schedule/cancel matches a sorted reference (heap compaction included)', () => {
  const rng = new Rng('sim-property');
  for (let round = 0; round < 5; round++) {
    const sim = new Simulator();
    const expected: Array<[number, number]> = [];
    const fired: number[] = [];
    const handles: Array<{ id: number; h: ReturnType<Simulator['schedule']> }> = [];
    for (let id = 0; id < 20_000; id++) {
      const at = rng.nextInt(0, 500);
      handles.push({ id, h: sim.schedule(at, () => fired.push(id)) });
      expected.push([at, id]);
    }
    const cancelled = new Set<number>();
    for (const { id, h } of handles) if (rng.chance(0.7)) (sim.cancel(h), cancelled.add(id));
    const live = expected.filter(([, id]) => !cancelled.has(id)).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    assert.equal(sim.pendingEvents, live.length);
    sim.runUntilIdle();
    assert.deepEqual(fired, live.map(([, id]) => id));
  }
});

test('sim: runUntilIdle throws on a livelock; driveBounded reports which bound stopped it', () => {
  const sim = new Simulator();
  const loop = (now: Micros) => sim.schedule(now, loop); // re-schedules itself at the same instant forever
  sim.schedule(0, loop);
  assert.throws(() => sim.runUntilIdle(1000), /still busy/);

  const sim2 = new Simulator();
  for (let t = 0; t < 100; t += 10) sim2.schedule(t, () => {});
  assert.deepEqual(sim2.driveBounded(35, 100), { events: 4, stoppedBy: 'time', now: 35 });
  assert.deepEqual(sim2.driveBounded(1000, 2), { events: 2, stoppedBy: 'events', now: 50 });
  assert.deepEqual(sim2.driveBounded(1000, 100), { events: 4, stoppedBy: 'idle', now: 90 });
});
