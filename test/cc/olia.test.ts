/**
 * OLIA (Khalili, Gast, Popovic, Le Boudec, "MPTCP is not Pareto-optimal", CoNEXT 2012 / ToN 2013) at explicit
 * times: expected windows hand-computed from the paper's increase, per ACK on path r,
 *   w_r += (w_r / rtt_r^2) / (sum_p w_p / rtt_p)^2 + alpha_r / w_r            (windows in packets)
 * which in bytes, for b bytes acknowledged, is b * MSS * ((W_r / rtt_r^2) / (sum_p W_p / rtt_p)^2 + alpha_r / W_r),
 * with alpha_r = 1 / (|R| |B \ M|) on the best paths outside M, -1 / (|R| |M|) on the largest-window paths M
 * (when B \ M is not empty), 0 otherwise; B ranked by l_r / rtt_r^2, l_r the bytes between the last two losses.
 * MSS = 1000 bytes; windows in bytes, SRTTs in µs. pathsInGroup sets l_r to `deliveredBytes`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { OliaController, createOlia } from '../../src/cc/olia.js';
import { CoupledGroup } from '../../src/cc/coupled.js';
import { RenoController } from '../../src/cc/reno.js';
import { MSS, ack, assertAloneIsReno, assertClose, pathSpecsArb, pathsInGroup } from './coupled-fixtures.js';

const T = 3_000_000; // an explicit instant; OLIA does not depend on it

test('olia: without a group, alone in one, or next to a sibling that cannot count, it is Reno (property)', () => {
  assertAloneIsReno(OliaController);
});

test('olia: two paths, very different RTTs (10 ms, 100 ms): the best path grows faster than Reno, M shrinks', () => {
  // A: 10000 bytes at 10 ms, l = 1e6 (l/rtt^2 = 0.01); B: 20000 at 100 ms, l = 1e6 (1e-4).
  // M = {B} (largest window), best = {A}, B \ M = {A}, |R| = 2: alpha_A = 1/2, alpha_B = -1/2.
  // Rates 1 and 0.2 bytes/µs, sum 1.2, squared 1.44.
  const { paths } = pathsInGroup(OliaController, [
    { cwnd: 10_000, srttMicros: 10_000, deliveredBytes: 1_000_000 },
    { cwnd: 20_000, srttMicros: 100_000, deliveredBytes: 1_000_000 },
  ]);
  const [best, largest] = paths as [OliaController, OliaController];
  assert.equal(best.alphaR, 0.5);
  assert.equal(largest.alphaR, -0.5);
  // A per 1000 bytes: 1e6 * ((1e4 / 1e8) / 1.44 + 0.5 / 1e4) = 69.44 + 50 = 1075/9 = 119.44 bytes, more than
  // Reno's 1e6 / 1e4 = 100. B: 1e6 * ((2e4 / 1e10) / 1.44 - 0.5 / 2e4) = 1.39 - 25 = -425/18 = -23.61 bytes.
  assertClose(best.increaseFor(1000), 1075 / 9);
  assertClose(largest.increaseFor(1000), -425 / 18);
  for (let i = 0; i < 8; i++) best.onAck(T + i * 1000, ack(MSS)); // 955.6 bytes of credit
  assert.equal(best.cwnd, 10_000);
  best.onAck(T + 8000, ack(MSS)); // 1075: one MSS, 75 kept
  assert.equal(best.cwnd, 11_000);
  assert.equal(best.ssthresh, 10_000);
  // B: the sums now hold A's 11000 (rates 1.1 + 0.2 = 1.3), the alphas are unchanged: per 1000 bytes
  // 1e6 * (2e-6 / 1.69 - 2.5e-5) = 1.1834 - 25 = -23.8166 bytes.
  assertClose(largest.increaseFor(1000), 1e6 * (2e-6 / 1.69 - 2.5e-5));
  for (let i = 0; i < 41; i++) largest.onAck(T + 10_000 + i * 1000, ack(MSS)); // -976.5
  assert.equal(largest.cwnd, 20_000);
  largest.onAck(T + 60_000, ack(MSS)); // -1000.3: one MSS less, and ssthresh follows it down
  assert.equal(largest.cwnd, 19_000);
  assert.equal(largest.ssthresh, 19_000);
});

test('olia: two paths, equal RTTs (50 ms), the best path has the largest window: alpha = 0, the linked term only', () => {
  // A: 10000, l = 1e6 (1e6 / 2.5e9); B: 20000, l = 4e6 (the best, and in M): B \ M is empty, alpha = 0.
  const { paths } = pathsInGroup(OliaController, [
    { cwnd: 10_000, srttMicros: 50_000, deliveredBytes: 1_000_000 },
    { cwnd: 20_000, srttMicros: 50_000, deliveredBytes: 4_000_000 },
  ]);
  const [small, large] = paths as [OliaController, OliaController];
  assert.equal(small.alphaR, 0);
  assert.equal(large.alphaR, 0);
  // Rates 0.2 + 0.4 = 0.6. A per 1000 bytes: 1e6 * (1e4 / 2.5e9) / 0.36 = 100/9 = 11.11; B: 200/9 = 22.22.
  assertClose(small.increaseFor(1000), 100 / 9);
  assertClose(large.increaseFor(1000), 200 / 9);
  // One round trip on each path (10000 and 20000 bytes): 111.1 + 444.4 bytes = 5/9 MSS in total, the
  // sum of x_r^2 / (sum x)^2 = (1 + 4) / 9 of one TCP's MSS per RTT.
  assertClose(small.increaseFor(10_000) + large.increaseFor(20_000), (5 / 9) * MSS);
  for (let i = 0; i < 89; i++) small.onAck(T + i * 500, ack(MSS)); // 988.9
  assert.equal(small.cwnd, 10_000);
  small.onAck(T + 89 * 500, ack(2 * MSS)); // 1011.1
  assert.equal(small.cwnd, 11_000);
});

test('olia: three paths: |R| = 3, two best paths outside M share alpha = 1/6, M gets -1/3', () => {
  // a: 10000 at 10 ms, l = 4e6 (0.04); b: 30000 at 20 ms, l = 1e6 (0.0025), the largest; c: 20000 at 20 ms,
  // l = 1.6e7 (0.04). Rates 1, 1.5, 1: sum 3.5, squared 12.25.
  const { paths } = pathsInGroup(OliaController, [
    { cwnd: 10_000, srttMicros: 10_000, deliveredBytes: 4_000_000 },
    { cwnd: 30_000, srttMicros: 20_000, deliveredBytes: 1_000_000 },
    { cwnd: 20_000, srttMicros: 20_000, deliveredBytes: 16_000_000 },
  ]);
  const [a, b, c] = paths as [OliaController, OliaController, OliaController];
  assertClose(a.alphaR, 1 / 6);
  assertClose(b.alphaR, -1 / 3);
  assertClose(c.alphaR, 1 / 6);
  // Per 1000 bytes: a 1e6 * (1e-4 / 12.25 + 1/60000) = 24.83; b 1e6 * (7.5e-5 / 12.25 - 1/90000) = -4.99;
  // c 1e6 * (5e-5 / 12.25 + 1/120000) = 12.41.
  assertClose(a.increaseFor(1000), 1e6 * (1e-4 / 12.25 + 1 / 60_000));
  assertClose(b.increaseFor(1000), 1e6 * (7.5e-5 / 12.25 - 1 / 90_000));
  assertClose(c.increaseFor(1000), 1e6 * (5e-5 / 12.25 + 1 / 120_000));
  // The alpha terms move window without adding any: over one RTT (each path acknowledging its window) they
  // sum to (1/6 + 1/6 - 1/3) MSS = 0, leaving the linked terms, (1 + 2.25 + 1) / 12.25 of an MSS.
  assertClose(a.increaseFor(10_000) + b.increaseFor(30_000) + c.increaseFor(20_000), (4.25 / 12.25) * MSS);
  for (let i = 0; i < 200; i++) b.onAck(T + i * 100, ack(MSS)); // -997.7
  assert.equal(b.cwnd, 30_000);
  b.onAck(T + 20_000, ack(MSS)); // -1002.7
  assert.equal(b.cwnd, 29_000);
});

test('olia: l_r is the bytes between the last two losses, or since the last if more; a repeated RTO is no loss', () => {
  const { paths } = pathsInGroup(OliaController, [
    { cwnd: 10_000, srttMicros: 10_000, deliveredBytes: 1_000_000 },
    { cwnd: 10_000, srttMicros: 10_000, deliveredBytes: 1 },
  ]);
  const [path] = paths as [OliaController];
  assert.equal(path.interLossBytes, 1_000_000); // no loss yet: everything delivered
  path.onAck(T, ack(5000));
  path.onCongestionEvent(T + 1, 10_000);
  assert.equal(path.interLossBytes, 1_005_000); // between the start and this loss
  assert.equal(path.coupling!.interLossBytes, 1_005_000);
  path.onRecoveryEnd(T + 2);
  path.onAck(T + 3, ack(2000));
  path.onCongestionEvent(T + 4, 10_000);
  assert.equal(path.interLossBytes, 2000);
  path.onRecoveryEnd(T + 5);
  path.onAck(T + 6, ack(3000));
  assert.equal(path.interLossBytes, 3000); // since the last loss is more
  path.onRetransmissionTimeout(T + 7, 5000);
  assert.equal(path.interLossBytes, 3000);
  path.onRetransmissionTimeout(T + 8, 1000); // repeated, nothing delivered: not a new loss
  assert.equal(path.interLossBytes, 3000);
  path.onAck(T + 9, ack(1000));
  assert.equal(path.interLossBytes, 3000);
  path.onAck(T + 10, ack(2500));
  assert.equal(path.interLossBytes, 3500);
});

test('olia: a loss halves the flight (RFC 5681) and moves the sets: the largest path leaves M', () => {
  // A: 30000 at 10 ms, l = 1e6 (0.01), in M; B: 20000 at 10 ms, l = 2e6 (0.02), best: alpha_A = -1/2, alpha_B = 1/2.
  const { paths } = pathsInGroup(OliaController, [
    { cwnd: 30_000, srttMicros: 10_000, deliveredBytes: 1_000_000 },
    { cwnd: 20_000, srttMicros: 10_000, deliveredBytes: 2_000_000 },
  ]);
  const [a, b] = paths as [OliaController, OliaController];
  assert.equal(a.alphaR, -0.5);
  assert.equal(b.alphaR, 0.5);
  a.onCongestionEvent(T, 30_000);
  assert.equal(a.cwnd, 15_000);
  assert.equal(a.ssthresh, 15_000);
  // Now B (20000) is the largest and also the best: B \ M is empty, every alpha is 0.
  assert.equal(b.alphaR, 0);
  assert.equal(a.alphaR, 0);
  // No growth during recovery; afterwards the linked term: rates 1.5 + 2 = 3.5;
  // A per 1000 bytes: 1e6 * (15000 / 1e8) / 12.25 = 12.24.
  a.onAck(T + 5000, ack(5 * MSS, { inRecovery: true }));
  assert.equal(a.cwnd, 15_000);
  a.onRecoveryEnd(T + 10_000);
  assertClose(a.increaseFor(1000), 1e6 * 1.5e-4 / 12.25);
});

test('olia: after a timeout the window is one segment and slow start is Reno\'s, uncoupled', () => {
  const { paths } = pathsInGroup(OliaController, [
    { cwnd: 20_000, srttMicros: 10_000, deliveredBytes: 5_000_000 },
    { cwnd: 30_000, srttMicros: 100_000, deliveredBytes: 1000 },
  ]);
  const [a] = paths as [OliaController];
  assert.equal(a.alphaR, 0.5); // best, not in M
  a.onRetransmissionTimeout(T, 20_000);
  assert.equal(a.cwnd, MSS);
  assert.equal(a.ssthresh, 10_000);
  a.onAck(T + 20_000, ack(MSS, { srttMicros: 10_000 }));
  assert.equal(a.cwnd, 2 * MSS);
  a.onAck(T + 30_000, ack(4 * MSS));
  assert.equal(a.cwnd, 4 * MSS); // ABC: at most 2 * SMSS per ACK
  for (let i = 0; i < 3; i++) a.onAck(T + 40_000 + i, ack(2 * MSS));
  assert.equal(a.cwnd, 10_000);
});

test('olia: slow start ignores the siblings (doubling per round trip, as Reno)', () => {
  const group = new CoupledGroup();
  const big = new OliaController({ mss: MSS, now: 0, coupling: group.join() });
  big.onCongestionEvent(0, 400_000);
  big.onRecoveryEnd(0);
  big.onAck(0, ack(1, { srttMicros: 5_000, appLimited: true }));
  const fresh = createOlia({ mss: MSS, now: 0, coupling: group.join() }) as OliaController;
  const reno = new RenoController({ mss: MSS, now: 0 });
  let now = 0;
  for (let round = 1; round <= 3; round++) {
    const segments = fresh.cwnd / MSS;
    for (let i = 0; i < segments; i++) {
      now += 100;
      fresh.onAck(now, ack(MSS, { srttMicros: 80_000 }));
      reno.onAck(now, ack(MSS));
    }
    assert.equal(fresh.cwnd, 10_000 * 2 ** round);
    assert.equal(fresh.cwnd, reno.cwnd);
  }
});

test('olia: a shrinking window stays in congestion avoidance and never goes below 2 MSS', () => {
  // big: 2000 bytes at 100 ms; other: 10000 at 10 ms with l = 1e6. An RTO puts other at one segment (slow
  // start): big is now the largest (M) and other the best outside M, so alpha_big = -1/2:
  // per 1000 bytes 1e6 * ((2000 / 1e10) / (0.02 + 0.1)^2 - 0.5 / 2000) = 13.9 - 250 = -236.1 bytes.
  const { paths } = pathsInGroup(OliaController, [
    { cwnd: 2_000, srttMicros: 100_000, deliveredBytes: 1 },
    { cwnd: 10_000, srttMicros: 10_000, deliveredBytes: 1_000_000 },
  ]);
  const [big, other] = paths as [OliaController, OliaController];
  other.onRetransmissionTimeout(T, 10_000);
  assert.equal(big.alphaR, -0.5);
  assertClose(big.increaseFor(1000), 1e6 * (2e-7 / 0.0144 - 0.5 / 2000));
  for (let i = 0; i < 10; i++) big.onAck(T + i, ack(MSS));
  assert.equal(big.cwnd, 2 * MSS);
  assert.equal(big.ssthresh, 2 * MSS);
});

test('olia: summed over the paths, one round trip grows the windows by at most one MSS, one TCP\'s (property)', () => {
  // sum_r W_r * MSS * ((W_r / rtt_r^2) / S^2 + alpha_r / W_r) = MSS * (sum_r x_r^2 / S^2 + sum_r alpha_r), and
  // the alphas sum to 0: the total is MSS * sum x_r^2 / (sum x_r)^2 <= MSS (RFC 6356 goal 2's "no more than a
  // single TCP" for the window growth). The alpha terms alone sum to zero.
  fc.assert(
    fc.property(pathSpecsArb, (specs) => {
      const { paths } = pathsInGroup(OliaController, specs);
      let total = 0;
      let alphaSum = 0;
      for (const path of paths) {
        total += path.increaseFor(path.cwnd);
        alphaSum += path.alphaR;
      }
      assert.ok(total <= MSS * (1 + 1e-9), `${total}`);
      assert.ok(Math.abs(alphaSum) <= 1e-12, `${alphaSum}`);
    }),
    { numRuns: 300 },
  );
});

test('olia: a path grows faster than Reno only by its own alpha_r; M paths and alpha = 0 paths never do (property)', () => {
  // The linked term alone is at most Reno's: (W_r / rtt_r^2) / S^2 <= 1 / W_r since S >= W_r / rtt_r.
  fc.assert(
    fc.property(pathSpecsArb, (specs) => {
      const { paths } = pathsInGroup(OliaController, specs);
      for (const path of paths) {
        const reno = (MSS * MSS) / path.cwnd;
        const bound = reno * (1 + Math.max(0, path.alphaR));
        assert.ok(path.increaseFor(MSS) <= bound * (1 + 1e-9));
        if (path.alphaR <= 0) assert.ok(path.increaseFor(MSS) <= reno * (1 + 1e-9));
      }
    }),
    { numRuns: 300 },
  );
});
