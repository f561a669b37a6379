import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../../src/emu/sim.js';
import { Link } from '../../src/emu/link.js';
import { idOf, offerEvery, packet, recordDeliveries } from './helpers.js';

test('link: an idle link delivers at exactly t + ceil(size * 8e6 / rate) + delay', () => {
  const cases: Array<[rate: number, size: number, delay: number, serialization: number]> = [
    [10_000_000, 1500, 5_000, 1200], // exact
    [7_000_000, 1000, 2_500, 1143], // 1142.857.. rounds up
    [1_000_000_000, 40, 0, 1], // 0.32 µs rounds up to 1
    [Infinity, 1500, 777, 0],
  ];
  for (const [rate, size, delay, serialization] of cases) {
    const sim = new Simulator();
    const link = new Link(sim, { rateBitsPerSecond: rate, delayMicros: delay });
    const log = recordDeliveries(link);
    sim.schedule(12_345, () => link.offer(packet(1, size)));
    sim.schedule(1_000_000, () => link.offer(packet(2, size))); // idle again by then
    sim.runUntilIdle();
    assert.deepEqual(log, [
      [12_345 + serialization + delay, 1],
      [1_000_000 + serialization + delay, 2],
    ]);
  }
});

test('link: back-to-back packets carry the sub-microsecond remainder (no rounding drift)', () => {
  const sim = new Simulator();
  const link = new Link(sim, { rateBitsPerSecond: 7_000_000, delayMicros: 100 });
  const log = recordDeliveries(link);
  for (let i = 0; i < 1000; i++) link.offer(packet(i, 1000));
  sim.runUntilIdle();
  // Packet k (1-based) finishes serialization at exactly k * 8000 / 7 µs, rounded up.
  log.forEach(([t, id], i) => {
    assert.equal(id, i);
    assert.equal(t, Math.ceil(((i + 1) * 8000) / 7) + 100);
  });
});

test('link: a saturated 10 Mbit/s link delivers its rate within 1% over 10 s', () => {
  for (const rate of [10_000_000, 9_876_543]) {
    const sim = new Simulator();
    const link = new Link(sim, { rateBitsPerSecond: rate, delayMicros: 20_000, queueLimitPackets: 100 });
    let bytes = 0;
    link.setReceiver((now, b) => {
      if (now <= 10_000_000) bytes += b.length;
    });
    offerEvery(sim, link, 0, 1000, 10_000_000, 1500); // 12 Mbit/s offered
    sim.run(10_000_000);
    const measured = (bytes * 8) / 10;
    // The first 20 ms are propagation: compare against what the link could carry in 9.98 s.
    const expected = rate * 0.998;
    assert.ok(Math.abs(measured - expected) / expected < 0.01, `rate ${rate}: measured ${measured} vs ${expected}`);
    assert.ok(link.counters.droppedPackets.queue > 0, 'the source overran the queue, so the link was saturated');
  }
});

test('link: packet queue limit drops the tail; the packet being serialized does not count', () => {
  const sim = new Simulator();
  const link = new Link(sim, { rateBitsPerSecond: 1_000_000, queueLimitPackets: 3 }); // 12 ms per 1500 B
  const log = recordDeliveries(link);
  for (let i = 0; i < 10; i++) link.offer(packet(i, 1500));
  assert.equal(link.queuedPackets, 3);
  assert.equal(link.queuedBytes, 4500);
  assert.equal(link.counters.droppedPackets.queue, 6);
  sim.run(12_000); // the first one is done and the second has started: two wait
  assert.equal(link.queuedPackets, 2);
  link.offer(packet(10, 1500));
  link.offer(packet(11, 1500));
  sim.runUntilIdle();
  assert.deepEqual(
    log.map(([, id]) => id),
    [0, 1, 2, 3, 10],
  );
  assert.deepEqual(
    log.map(([t]) => t),
    [12_000, 24_000, 36_000, 48_000, 60_000],
  );
  assert.equal(link.counters.droppedPackets.queue, 7);
});

test('link: byte queue limit drops the tail', () => {
  const sim = new Simulator();
  const link = new Link(sim, { rateBitsPerSecond: 1_000_000, queueLimitBytes: 4000 });
  const log = recordDeliveries(link);
  for (let i = 0; i < 10; i++) link.offer(packet(i, 1000));
  sim.runUntilIdle();
  assert.deepEqual(
    log.map(([, id]) => id),
    [0, 1, 2, 3, 4],
  );
  assert.equal(link.counters.droppedPackets.queue, 5);
  assert.equal(link.counters.droppedBytes.queue, 5000);
  // A packet bigger than the byte limit still goes through an idle link (it never waits).
  link.offer(packet(99, 6000));
  sim.runUntilIdle();
  assert.equal(log.at(-1)![1], 99);
});

test('link: MTU drops oversize packets and counts them', () => {
  const sim = new Simulator();
  const link = new Link(sim, { mtu: 1500 });
  const log = recordDeliveries(link);
  link.offer(packet(1, 1500));
  link.offer(packet(2, 1501));
  link.offer(packet(3, 9000));
  sim.runUntilIdle();
  assert.deepEqual(log, [[0, 1]]);
  assert.equal(link.counters.droppedPackets.mtu, 2);
  assert.equal(link.counters.droppedBytes.mtu, 10_501);
  assert.equal(link.counters.offeredPackets, 3);
  assert.equal(link.counters.deliveredBytes, 1500);
});

test('link: up/down timeline takes effect at the exact instants; in-flight packets are lost; the link recovers', () => {
  const sim = new Simulator();
  const link = new Link(sim, {
    rateBitsPerSecond: 10_000_000, // 100 B = 80 µs
    delayMicros: 10_000,
    timeline: [
      [1_000_000, 'down'],
      [2_000_000, 'up'],
    ],
  });
  const delivered = new Map<number, number>();
  link.setReceiver((now, b) => delivered.set(idOf(b), now));
  // Periodic 100-byte packets at 50, 150, 250, ...: each busies the link for 80 µs, so it is idle in
  // [x30, x50) of every 100 µs, where the probes go.
  const sent = offerEvery(sim, link, 50, 100, 3_000_000, 100);
  // Boundary probes: one arriving exactly at the down instant (75 B = 60 µs: 989_940 + 60 + 10_000), one offered
  // 1 µs before the up instant, one offered exactly at it (10 B = 8 µs).
  const probes = { atDown: 1_000_000 + 1, beforeUp: 1_000_000 + 2, atUp: 1_000_000 + 3 };
  sim.schedule(989_940, () => link.offer(packet(probes.atDown, 75)));
  sim.schedule(1_999_999, () => link.offer(packet(probes.beforeUp, 100)));
  sim.schedule(2_000_000, () => link.offer(packet(probes.atUp, 10)));

  sim.run(1_000_000);
  assert.equal(link.up, false);
  // Everything in flight was lost at the down instant: the probe and the periodic offers in [989_920, 1_000_000].
  const lostInFlight = [...sent.values()].filter((t) => t + 10_080 >= 1_000_000 && t <= 1_000_000).length + 1;
  assert.equal(lostInFlight, 102);
  assert.equal(link.counters.droppedPackets.down, lostInFlight);
  assert.equal(link.inFlightPackets, 0);
  sim.run(4_000_000);
  assert.equal(link.up, true);

  for (const [id, t] of sent) {
    const arrival = t + 80 + 10_000;
    if (arrival < 1_000_000 || t >= 2_000_000) assert.equal(delivered.get(id), arrival, `packet sent at ${t}`);
    else assert.equal(delivered.has(id), false, `packet sent at ${t} should be lost`);
  }
  assert.equal(delivered.has(probes.atDown), false);
  assert.equal(delivered.has(probes.beforeUp), false);
  assert.equal(delivered.get(probes.atUp), 2_000_000 + 8 + 10_000);
  const c = link.counters;
  assert.equal(c.offeredPackets, c.deliveredPackets + c.droppedPackets.down);
});

test('link: setState goes down and up on demand; initialState down drops from the start', () => {
  const sim = new Simulator();
  const link = new Link(sim, { delayMicros: 1000, initialState: 'down' });
  const log = recordDeliveries(link);
  link.offer(packet(1, 100));
  link.setState('up');
  link.offer(packet(2, 100));
  sim.run(500);
  link.offer(packet(3, 100));
  link.setState('down');
  sim.run(2000);
  link.setState('up');
  link.offer(packet(4, 100));
  sim.runUntilIdle();
  assert.deepEqual(log, [[3000, 4]]);
  assert.equal(link.counters.droppedPackets.down, 3);
});

test('link: a delivery due at the instant the link goes down is lost whichever event runs first', () => {
  const sim = new Simulator();
  // The no-op 'up' at 100 makes the event for the 'down' at 1000 get scheduled only at time 100, after the
  // delivery event of the packet offered at 50, so that delivery event is dequeued first.
  const link = new Link(sim, {
    delayMicros: 950,
    timeline: [
      [100, 'up'],
      [1000, 'down'],
    ],
  });
  const log = recordDeliveries(link);
  sim.schedule(40, () => link.offer(packet(1, 100)));
  sim.schedule(50, () => link.offer(packet(2, 100)));
  sim.runUntilIdle();
  assert.deepEqual(log, [[990, 1]]);
  assert.equal(link.counters.droppedPackets.down, 1);
  assert.equal(link.inFlightPackets, 0);
});

test('link: offer with an arrival in the past queues and serializes from that instant, never delivers before now', () => {
  const sim = new Simulator();
  // 12 Mbit/s: a 1500-byte packet takes 1000 us; a queue of 2 packets behind the one on the wire.
  const link = new Link(sim, { rateBitsPerSecond: 12e6, delayMicros: 500, queueLimitPackets: 2 });
  const at: number[] = [];
  link.setReceiver((now) => at.push(now));
  sim.run(10_000);
  // Five packets read late, at 10 ms, that arrived one per ms from 5 ms: a line-rate stream, no queueing.
  for (let i = 0; i < 5; i++) link.offer(new Uint8Array(1500), 5000 + i * 1000);
  assert.equal(link.counters.droppedPackets.queue, 0);
  sim.run(20_000);
  // Serialized from their arrivals: due at 6.5, 7.5, 8.5, 9.5 ms (delivered now, at 10 ms) and 10.5 ms.
  assert.deepEqual(at, [10_000, 10_000, 10_000, 10_000, 10_500]);
  // The same five all offered at now: four wait behind the first, two are dropped.
  const late = new Link(sim, { rateBitsPerSecond: 12e6, delayMicros: 500, queueLimitPackets: 2 });
  for (let i = 0; i < 5; i++) late.offer(new Uint8Array(1500));
  assert.equal(late.counters.droppedPackets.queue, 2);
  // An arrival before the previous one is clamped to it (arrivals never go backwards).
  const sim2 = new Simulator();
  const back = new Link(sim2, { rateBitsPerSecond: 12e6, queueLimitPackets: 0 });
  sim2.run(20_000);
  back.offer(new Uint8Array(1500), 15_000);
  back.offer(new Uint8Array(1500), 14_000);
  assert.equal(back.counters.droppedPackets.queue, 1, 'the second arrival is at 15 ms too, behind the first');
});
