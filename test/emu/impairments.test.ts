import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Simulator } from '../../src/emu/sim.js';
import { Link, type LinkConfig } from '../../src/emu/link.js';
import { Rng } from '../../src/emu/random.js';
import { Network } from '../../src/emu/network.js';
import { PacketSink } from '../../src/emu/hosts.js';
import { idOf, offerEvery, packet, recordDeliveries, withinSigmas } from './helpers.js';

/** Offers n packets on an instant link; returns the loss pattern (the loss decision is made at offer time). */
function lossPattern(config: LinkConfig, n: number, seed: number): boolean[] {
  const sim = new Simulator();
  const link = new Link(sim, config, { rng: new Rng(seed) });
  const lost = new Array<boolean>(n);
  const bytes = packet(0, 40);
  const c = link.counters.droppedPackets;
  for (let i = 0; i < n; i++) {
    const before = c.loss;
    link.offer(bytes);
    lost[i] = c.loss > before;
  }
  sim.runUntilIdle();
  assert.equal(link.counters.deliveredPackets, lost.filter((x) => !x).length);
  return lost;
}

function meanBurst(lost: boolean[]): number {
  let bursts = 0;
  let losses = 0;
  for (let i = 0; i < lost.length; i++) {
    if (!lost[i]) continue;
    losses++;
    if (i === 0 || !lost[i - 1]) bursts++;
  }
  return losses / bursts;
}

test('loss: seeded Bernoulli p=0.01 over 100k packets is within 4 sigma, and same seed repeats', () => {
  const n = 100_000;
  for (const seed of [1, 2, 3]) {
    const lost = lossPattern({ loss: 0.01 }, n, seed);
    const count = lost.filter(Boolean).length;
    assert.ok(withinSigmas(count, n, 0.01), `seed ${seed}: ${count} losses`);
    assert.ok(meanBurst(lost) < 1.1);
  }
  assert.deepEqual(lossPattern({ loss: 0.01 }, 10_000, 5), lossPattern({ loss: { kind: 'bernoulli', probability: 0.01 } }, 10_000, 5));
  assert.notDeepEqual(lossPattern({ loss: 0.01 }, 10_000, 5), lossPattern({ loss: 0.01 }, 10_000, 6));
});

test('loss: Gilbert-Elliott matches its stationary rate and is bursty', () => {
  const ge = { kind: 'gilbert-elliott', goodToBad: 0.01, badToGood: 0.2, lossInGood: 0.001, lossInBad: 0.8 } as const;
  const piBad = ge.goodToBad / (ge.goodToBad + ge.badToGood);
  const stationary = (1 - piBad) * ge.lossInGood + piBad * ge.lossInBad;
  // Losses are correlated, so the spread is that of the bad-state episodes, not binomial: with E episodes of
  // geometric length L the relative standard deviation of the time spent bad is sqrt((Var L + E[L]^2) / E) / E[L].
  const n = 400_000;
  const episodes = n * (1 - piBad) * ge.goodToBad;
  const meanL = 1 / ge.badToGood;
  const varL = (1 - ge.badToGood) / ge.badToGood ** 2;
  const relSd = Math.sqrt((varL + meanL ** 2) / episodes) / meanL;
  for (const seed of [1, 2]) {
    const sim = new Simulator();
    const link = new Link(sim, { loss: ge }, { rng: new Rng(seed) });
    const bytes = packet(0, 40);
    for (let i = 0; i < n; i++) link.offer(bytes);
    const rate = link.counters.droppedPackets.loss / n;
    assert.ok(Math.abs(rate - stationary) / stationary < 4 * relSd, `seed ${seed}: ${rate} vs ${stationary} (4 sigma = ${4 * relSd})`);

    const burst = meanBurst(lossPattern({ loss: ge }, 100_000, seed));
    const bernoulliBurst = meanBurst(lossPattern({ loss: stationary }, 100_000, seed));
    assert.ok(burst > 2.5 && burst > 2 * bernoulliBurst, `mean burst ${burst} vs Bernoulli ${bernoulliBurst}`);
  }
});

test('duplication occurs at its configured rate; copies are distinct buffers delivered after the original', () => {
  const sim = new Simulator();
  const link = new Link(sim, { duplicateProbability: 0.05, delayMicros: 10, rateBitsPerSecond: 100_000_000 }, { rng: new Rng(11) });
  const log: Array<[number, Uint8Array]> = [];
  link.setReceiver((_t, b) => log.push([idOf(b), b]));
  const n = 20_000;
  offerEvery(sim, link, 0, 100, n * 100, 100);
  sim.runUntilIdle();
  const c = link.counters;
  assert.equal(c.offeredPackets, n);
  assert.ok(withinSigmas(c.duplicatedPackets, n, 0.05), `${c.duplicatedPackets} duplicates`);
  assert.equal(c.deliveredPackets, n + c.duplicatedPackets);
  for (let i = 1; i < log.length; i++) {
    assert.ok(log[i]![0] >= log[i - 1]![0]);
    if (log[i]![0] === log[i - 1]![0]) assert.notEqual(log[i]![1], log[i - 1]![1]);
  }
});

test('reordering: held-back packets occur at the configured rate and are overtaken', () => {
  const sim = new Simulator();
  const link = new Link(sim, { delayMicros: 1000, reorder: { probability: 0.1, extraDelayMicros: 5000 } }, { rng: new Rng(5) });
  const log = recordDeliveries(link);
  const n = 20_000;
  const sent = offerEvery(sim, link, 0, 100, n * 100, 100);
  sim.runUntilIdle();
  const held = link.counters.reorderedPackets;
  assert.ok(withinSigmas(held, n, 0.1), `${held} held back`);
  // A packet is late exactly when it was held back: delivered at offer + 6000 instead of offer + 1000.
  let late = 0;
  let overtaken = 0;
  let maxIdSoFar = -1;
  for (const [t, id] of log) {
    const d = t - sent.get(id)!;
    assert.ok(d === 1000 || d === 6000, `delay ${d}`);
    if (d === 6000) late++;
    if (id < maxIdSoFar) overtaken++;
    maxIdSoFar = Math.max(maxIdSoFar, id);
  }
  assert.equal(late, held);
  assert.equal(overtaken, held);
});

test('jitter: uniform and normal offsets stay within bounds; order preserved unless allowed', () => {
  for (const distribution of ['uniform', 'normal'] as const) {
    for (const allowReorder of [false, true]) {
      const sim = new Simulator();
      const link = new Link(sim, { delayMicros: 10_000, jitter: { maxMicros: 2000, distribution, stddevMicros: 800, allowReorder } }, { rng: new Rng(9) });
      const log = recordDeliveries(link);
      const n = 20_000;
      const sent = offerEvery(sim, link, 0, 500, n * 500, 100);
      sim.runUntilIdle();
      assert.equal(log.length, n);
      let inversions = 0;
      let min = Infinity;
      let max = -Infinity;
      let sum = 0;
      let sumSq = 0;
      for (let i = 0; i < log.length; i++) {
        const [t, id] = log[i]!;
        const d = t - sent.get(id)!;
        assert.ok(d >= 8000 && d <= 12_000, `${distribution}: delay ${d} out of bounds`);
        min = Math.min(min, d);
        max = Math.max(max, d);
        sum += d;
        sumSq += d * d;
        if (i > 0 && id < log[i - 1]![1]) inversions++;
      }
      if (allowReorder) assert.ok(inversions > 100, `${distribution}: expected reordering, got ${inversions}`);
      else assert.equal(inversions, 0);
      if (allowReorder) {
        // Without order preservation the offsets are the raw samples: check their spread.
        const sd = Math.sqrt(sumSq / n - (sum / n) ** 2);
        if (distribution === 'uniform') {
          assert.ok(min <= 8010 && max >= 11_990);
          assert.ok(Math.abs(sd - Math.sqrt((4001 ** 2 - 1) / 12)) < 25, `uniform sd ${sd}`); // discrete uniform on [-2000, 2000]
        } else {
          assert.ok(Math.abs(sd - 791) < 25, `normal sd ${sd}`); // sd 800 clamped at 2.5 sigma: 0.9887 * 800
          assert.ok(Math.abs(sum / n - 10_000) < 30);
        }
      }
    }
  }
});

test('jitter cannot make propagation negative', () => {
  const sim = new Simulator();
  const link = new Link(sim, { delayMicros: 100, jitter: { maxMicros: 1000, allowReorder: true } }, { rng: new Rng(2) });
  const log = recordDeliveries(link);
  const sent = offerEvery(sim, link, 0, 10, 20_000, 50);
  sim.runUntilIdle();
  assert.ok(log.every(([t, id]) => t - sent.get(id)! >= 0 && t - sent.get(id)! <= 1100));
  assert.ok(log.filter(([t, id]) => t === sent.get(id)).length > 100);
});

/** A full run through a network with every impairment on, hashed. */
function runHash(seed: number): string {
  const net = new Network({ seed });
  const sink = net.addHost('sink', new PacketSink());
  const source = net.addHost('source', new PacketSink());
  const { forward } = net.connect([source, 0], [sink, 0], {
    forward: {
      rateBitsPerSecond: 20_000_000,
      delayMicros: 5000,
      jitter: { maxMicros: 500, distribution: 'normal', allowReorder: true },
      loss: { kind: 'gilbert-elliott', goodToBad: 0.02, badToGood: 0.3 },
      reorder: { probability: 0.02, extraDelayMicros: 3000 },
      duplicateProbability: 0.01,
      queueLimitPackets: 20,
    },
  });
  offerEvery(net.sim, forward, 0, 400, 2_000_000, 1200);
  net.runUntilIdle();
  const h = createHash('sha256');
  for (const p of sink.received) h.update(`${p.time}:${idOf(p.bytes)};`);
  h.update(JSON.stringify(forward.counters));
  return h.digest('hex');
}

test('determinism: same seed gives an identical delivery log, a different seed a different one', () => {
  const a = runHash(1234);
  assert.equal(runHash(1234), a);
  assert.notEqual(runHash(1235), a);
});
