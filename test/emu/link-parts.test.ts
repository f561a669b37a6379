/**
 * The parts of an emulated Link on their own (link-backlog, link-transmitter, link-timeline, link-in-flight,
 * link-loss, Chance): the backlog ring against a plain-array model through growth and wrap-around, the
 * fixed-rate transmitter's exact long-run rate, the trace transmitter sharing one opportunity's budget,
 * the timeline's due / advance / arm, the in-flight list's outage hand-out, and the loss processes' draws.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Backlog } from '../../src/emu/link-backlog.js';
import { InFlight } from '../../src/emu/link-in-flight.js';
import { BernoulliLoss, GilbertElliottLoss, lossProcess } from '../../src/emu/link-loss.js';
import { LinkTimeline } from '../../src/emu/link-timeline.js';
import { RateTransmitter, TraceTransmitter, type WaitingRoom } from '../../src/emu/link-transmitter.js';
import { Chance, Rng } from '../../src/emu/random.js';
import { Simulator, type SimHandler } from '../../src/emu/sim.js';
import { traceFromMillis, type DeliveryTrace } from '../../src/emu/trace.js';

const ROOMY: WaitingRoom = { push: () => true };

test('backlog: a plain-array model agrees through growth, wrap-around and both limits', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ gap: fc.integer({ min: 0, max: 30 }), wait: fc.integer({ min: 1, max: 400 }), size: fc.integer({ min: 1, max: 1500 }) }), { maxLength: 300 }),
      fc.option(fc.integer({ min: 0, max: 200 }), { nil: undefined }),
      fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: undefined }),
      (ops, limitPackets, limitBytes) => {
        const backlog = new Backlog(limitPackets ?? Infinity, limitBytes ?? Infinity);
        let model: { start: number; size: number }[] = [];
        let now = 0;
        let lastStart = 0;
        for (const op of ops) {
          now += op.gap;
          model = model.filter((e) => e.start > now);
          const start = Math.max(now + op.wait, lastStart); // FIFO: starts never go backwards
          const bytes = model.reduce((s, e) => s + e.size, 0);
          const fits = model.length + 1 <= (limitPackets ?? Infinity) && bytes + op.size <= (limitBytes ?? Infinity);
          assert.equal(backlog.push(now, start, op.size), fits);
          if (fits) {
            model.push({ start, size: op.size });
            lastStart = start;
          }
          assert.equal(backlog.packetsAt(now), model.length);
          assert.equal(backlog.bytesAt(now), model.reduce((s, e) => s + e.size, 0));
        }
        backlog.clear();
        assert.equal(backlog.packetsAt(now), 0);
        assert.equal(backlog.bytesAt(now), 0);
      },
    ),
  );
});

test('backlog: the ring grows past its first 64 entries after wrapping, keeping every size in order', () => {
  const backlog = new Backlog(Infinity, Infinity);
  let start = 0;
  for (let i = 0; i < 40; i++) assert.ok(backlog.push(0, ++start, 1)); // fill part of the ring
  assert.equal(backlog.packetsAt(30), 10); // the head moves: the ring wraps from here
  for (let i = 0; i < 300; i++) assert.ok(backlog.push(30, ++start, 100 + i));
  for (let t = 40; t <= start; t += 37) {
    const waiting = start - t; // entries with start > t
    const model = Array.from({ length: 300 }, (_, i) => ({ start: 41 + i, size: 100 + i })).filter((e) => e.start > t);
    assert.equal(backlog.packetsAt(t), waiting);
    assert.equal(backlog.bytesAt(t), model.reduce((s, e) => s + e.size, 0), `at ${t}`);
  }
});

test('rate transmitter: back-to-back packets end at exactly ceil(total bits / rate) with no rounding drift', () => {
  for (const rate of [1, 7, 1_000_003, 97_000_001, 10_000_000_000]) {
    const tx = new RateTransmitter(rate, 5);
    let bits = 0;
    for (let i = 0; i < 2000; i++) {
      const size = 40 + ((i * 7919) % 1461);
      bits += size * 8;
      const finish = tx.transmit(5, size, ROOMY);
      assert.equal(finish, 5 + Math.ceil((bits * 1_000_000) / rate), `rate ${rate}, packet ${i}`);
    }
  }
  const instant = new RateTransmitter(Infinity, 0);
  assert.equal(instant.transmit(3, 1500, { push: () => assert.fail('an instant link never queues') }), 3);
});

test('rate transmitter: a packet that must wait asks the room, and a refused one changes nothing', () => {
  const tx = new RateTransmitter(8_000_000, 0); // 1 byte per µs
  assert.equal(tx.transmit(0, 1000, ROOMY), 1000);
  const asked: number[] = [];
  assert.equal(tx.transmit(10, 500, { push: (_now, start) => (asked.push(start), false) }), -1);
  assert.deepEqual(asked, [1000]);
  assert.equal(tx.transmit(10, 500, ROOMY), 1500); // as if the refused packet had never come
  tx.restart(20);
  assert.equal(tx.transmit(20, 100, { push: () => assert.fail('idle after restart') }), 120);
});

test('trace transmitter: one opportunity carries packets up to its budget; a large one spans several', () => {
  const trace = traceFromMillis([1, 2, 3, 4], 1500) as DeliveryTrace; // opportunities at 1, 2, 3, 4 ms, period 4 ms
  const tx = new TraceTransmitter('t', trace, 0);
  const starts: number[] = [];
  const room: WaitingRoom = { push: (_now, start) => (starts.push(start), true) };
  assert.equal(tx.transmit(0, 1000, room), 1000);
  assert.equal(tx.transmit(0, 500, room), 1000); // the rest of the same budget
  assert.equal(tx.transmit(0, 3000, room), 3000); // the opportunities at 2 and 3 ms
  assert.deepEqual(starts, [1000, 1000, 2000]);
  assert.equal(tx.transmit(4500, 100, room), 5000); // next period: 4 ms + 1 ms
  assert.throws(() => new TraceTransmitter('t', { ...trace, opportunitiesMicros: new Float64Array(0) }, 0), /t: empty trace/);
});

test('timeline: due / advance walk the entries; arm keeps one event at the next instant', () => {
  const sim = new Simulator();
  const fired: number[] = [];
  const handler: SimHandler = { handleEvent: (now, kind) => fired.push(now * 10 + kind) };
  const timeline = new LinkTimeline('l', [[10, 'down'], [10, 'up'], [30, 'down']], sim, handler, 2);
  assert.equal(timeline.nextAt, 10);
  assert.equal(timeline.due(9), undefined);
  assert.equal(timeline.due(10), 'down');
  timeline.advance();
  assert.equal(timeline.due(10), 'up');
  timeline.advance();
  assert.equal(timeline.due(10), undefined);
  timeline.arm();
  timeline.arm(); // still one event
  assert.equal(timeline.nextAt, 30);
  assert.equal(sim.pendingEvents, 1);
  sim.runUntilIdle();
  assert.deepEqual(fired, [302]);
  assert.throws(() => new LinkTimeline('l', [[5, 'up'], [4, 'down']], sim, handler, 2), /l: timeline must be in non-decreasing time order/);
});

test('in flight: an outage hands out exactly the deliveries still scheduled, then the list is empty', () => {
  const sim = new Simulator();
  const handler: SimHandler = { handleEvent: () => {} };
  const inFlight = new InFlight();
  const events = [1, 2, 3, 4, 5].map((at) => sim.schedule(at, handler, 1, at, inFlight.epoch));
  for (const ev of events) inFlight.add(ev);
  sim.cancel(events[1]!);
  sim.step(); // delivers at 1
  inFlight.landed();
  inFlight.trim();
  assert.equal(inFlight.packets, 4); // the cancelled one is still counted until the link takes it out
  inFlight.cut();
  assert.equal(inFlight.epoch, 1);
  const taken: unknown[] = [];
  for (let ev = inFlight.takeNext(); ev !== undefined; ev = inFlight.takeNext()) taken.push(ev.payload);
  assert.deepEqual(taken, [3, 4, 5]);
  assert.equal(inFlight.packets, 1);
  assert.equal(inFlight.takeNext(), undefined);
});

test('loss processes and Chance draw from their stream as documented', () => {
  const draws = (make: (rng: Rng) => { lose(): boolean } | { happens(): boolean }, n: number): [number, number[]] => {
    const rng = new Rng(9);
    const p = make(rng);
    let hits = 0;
    for (let i = 0; i < n; i++) if ('lose' in p ? p.lose() : p.happens()) hits++;
    return [hits, rng.state];
  };
  const reference = (n: number): number[] => {
    const r = new Rng(9);
    for (let i = 0; i < n; i++) r.next();
    return r.state;
  };
  assert.deepEqual(draws((r) => new BernoulliLoss(0, r), 100), [0, reference(100)]); // draws even at 0
  assert.deepEqual(draws((r) => new Chance(0, r), 100), [0, reference(0)]); // never draws at 0
  assert.deepEqual(draws((r) => new Chance(1, r), 100), [100, reference(100)]);
  // Always bad once there, always lost there: one step draw per packet, one loss draw in the bad state.
  const [lost] = draws((r) => new GilbertElliottLoss(1, 0, 0, 1, r), 50);
  assert.equal(lost, 50);
  assert.equal(lossProcess(0, new Rng(1)), undefined);
  assert.throws(() => lossProcess({ kind: 'gilbert-elliott', goodToBad: 2, badToGood: 0 }, new Rng(1)), /loss\.goodToBad must be a probability/);
});
