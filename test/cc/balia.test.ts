/**
 * BALIA (Peng, Walid, Hwang, Low, "Multipath TCP: Analysis, Design, and Implementation", IEEE/ACM ToN 2016) at
 * explicit times: expected windows hand-computed from the paper's rules, with x_k = w_k / tau_k and
 * alpha_r = max_k x_k / x_r,
 *   per ACK on path r:  w_r += (x_r / (tau_r (sum_k x_k)^2)) * ((1 + alpha_r) / 2) * ((4 + alpha_r) / 5),
 *   per loss on path r: w_r -= (w_r / 2) * min(alpha_r, 1.5).
 * In bytes the increase is one MSS per threshold_r = 10 W_r (sum X)^2 / ((X_r + max X)(4 X_r + max X)) bytes
 * acknowledged (X in bytes per µs). MSS = 1000 bytes; windows in bytes, SRTTs in µs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BALIA_DECREASE_ALPHA_CAP, BaliaController, createBalia } from '../../src/cc/balia.js';
import { CoupledGroup } from '../../src/cc/coupled.js';
import { RenoController } from '../../src/cc/reno.js';
import { MSS, ack, assertAloneIsReno, assertClose, pathSpecsArb, pathsInGroup } from './coupled-fixtures.js';

const T = 4_000_000; // an explicit instant; BALIA does not depend on it

/** The paper's per-packet increase in packets, with windows in packets and rates in packets per µs. */
function paperIncreasePerPacket(windows: readonly number[], rtts: readonly number[], r: number): number {
  const rates = windows.map((w, k) => w / rtts[k]!);
  const sum = rates.reduce((a, b) => a + b, 0);
  const alpha = Math.max(...rates) / rates[r]!;
  return (rates[r]! / (rtts[r]! * sum * sum)) * ((1 + alpha) / 2) * ((4 + alpha) / 5);
}

test('balia: without a group, alone in one, or next to a sibling that cannot count, it is Reno (property)', () => {
  assertAloneIsReno(BaliaController);
});

test('balia: two paths, very different RTTs (10 ms, 100 ms): the increase and the decrease of each', () => {
  // A: 20000 at 10 ms (X = 2), B: 10000 at 100 ms (X = 0.1): sum 2.1, max 2; alpha_A = 1, alpha_B = 20.
  const { paths } = pathsInGroup(BaliaController, [
    { cwnd: 20_000, srttMicros: 10_000 },
    { cwnd: 10_000, srttMicros: 100_000 },
  ]);
  const [fast, slow] = paths as [BaliaController, BaliaController];
  assert.equal(fast.alphaR, 1);
  assert.equal(slow.alphaR, 20);
  // A: 10 * 20000 * 4.41 / ((2 + 2)(8 + 2)) = 22050 bytes per MSS; B: 10 * 10000 * 4.41 / (2.1 * 2.4) = 87500.
  assertClose(fast.avoidanceThreshold, 22_050);
  assertClose(slow.avoidanceThreshold, 87_500);
  // The same from the paper's formula in packets: B grows 1/87.5 packet per packet acknowledged.
  assertClose(slow.increaseFor(MSS) / MSS, paperIncreasePerPacket([20, 10], [10_000, 100_000], 1));
  assertClose(fast.increaseFor(MSS) / MSS, paperIncreasePerPacket([20, 10], [10_000, 100_000], 0));
  fast.onAck(T, ack(22_049));
  assert.equal(fast.cwnd, 20_000);
  fast.onAck(T + 1, ack(1));
  assert.equal(fast.cwnd, 21_000);
  // B sees A's 21000 now: X_A = 2.1, sum 2.2: 10 * 10000 * 4.84 / (2.2 * 2.5) = 88000.
  assertClose(slow.avoidanceThreshold, 88_000);
  slow.onAck(T + 2, ack(87_999));
  assert.equal(slow.cwnd, 10_000);
  slow.onAck(T + 3, ack(1));
  assert.equal(slow.cwnd, 11_000);
  // A loss on B (alpha 21000/10000 / (11000/100000) = 19.09, capped at 1.5): w - w/2 * 1.5 = w/4.
  slow.onCongestionEvent(T + 4, 11_000);
  assert.equal(slow.ssthresh, 2_750);
  assert.equal(slow.cwnd, 2_750);
  // A loss on A (alpha 1): halving, as Reno.
  fast.onCongestionEvent(T + 5, 21_000);
  assert.equal(fast.ssthresh, 10_500);
  assert.equal(fast.cwnd, 10_500);
});

test('balia: two paths, equal RTTs (50 ms): alpha_r is the window ratio; the decrease uses it uncapped below 1.5', () => {
  // A: 10000 (X = 0.2), B: 20000 (X = 0.4): sum 0.6; alpha_A = 2, alpha_B = 1.
  const { paths } = pathsInGroup(BaliaController, [
    { cwnd: 10_000, srttMicros: 50_000 },
    { cwnd: 20_000, srttMicros: 50_000 },
  ]);
  const [small, large] = paths as [BaliaController, BaliaController];
  assert.equal(small.alphaR, 2);
  assert.equal(large.alphaR, 1);
  // A: 10 * 10000 * 0.36 / (0.6 * 1.2) = 50000; B: 10 * 20000 * 0.36 / (0.8 * 2.0) = 45000.
  assertClose(small.avoidanceThreshold, 50_000);
  assertClose(large.avoidanceThreshold, 45_000);
  for (let i = 0; i < 49; i++) small.onAck(T + i * 1000, ack(MSS));
  assert.equal(small.cwnd, 10_000);
  small.onAck(T + 49_000, ack(MSS)); // 50000 (computed as 49999.99999999999, rounded to the byte)
  assert.equal(small.cwnd, 11_000);
  // Now A = 11000: alpha_A = 20000 / 11000 = 1.818..., capped at 1.5: ssthresh = 11000 * (1 - 0.75) = 2750.
  small.onCongestionEvent(T + 50_000, 11_000);
  assert.equal(small.ssthresh, 2_750);
});

test('balia: a loss with 1 < alpha_r < 1.5 takes alpha_r itself (Linux truncates it to 1 and halves)', () => {
  // A: 15000 (X = 0.3), B: 20000 (X = 0.4), 50 ms each: alpha_A = 4/3; w - w/2 * 4/3 = w/3.
  const { paths } = pathsInGroup(BaliaController, [
    { cwnd: 15_000, srttMicros: 50_000 },
    { cwnd: 20_000, srttMicros: 50_000 },
  ]);
  const [a] = paths as [BaliaController];
  assertClose(a.alphaR, 4 / 3);
  assertClose(a.avoidanceThreshold, 65_625); // 10 * 15000 * 0.49 / (0.7 * 1.6)
  a.onCongestionEvent(T, 15_000);
  assert.equal(a.ssthresh, 5_000);
  assert.equal(a.cwnd, 5_000);
  assert.equal(BALIA_DECREASE_ALPHA_CAP, 1.5);
});

test('balia: three paths (10, 20, 40 ms)', () => {
  // X = 1, 1, 0.75: sum 2.75, max 1. alpha = 1, 1, 4/3.
  const { paths } = pathsInGroup(BaliaController, [
    { cwnd: 10_000, srttMicros: 10_000 },
    { cwnd: 20_000, srttMicros: 20_000 },
    { cwnd: 30_000, srttMicros: 40_000 },
  ]);
  const [a, b, c] = paths as [BaliaController, BaliaController, BaliaController];
  assertClose(a.avoidanceThreshold, 75_625); // 10 * 10000 * 7.5625 / (2 * 5)
  assertClose(b.avoidanceThreshold, 151_250); // 10 * 20000 * 7.5625 / (2 * 5)
  assertClose(c.avoidanceThreshold, 2_268_750 / 7); // 10 * 30000 * 7.5625 / (1.75 * 4)
  assertClose(c.increaseFor(MSS) / MSS, paperIncreasePerPacket([10, 20, 30], [10_000, 20_000, 40_000], 2));
  c.onAck(T, ack(324_106));
  assert.equal(c.cwnd, 30_000);
  c.onAck(T + 1, ack(1)); // 324107 bytes: 324107.14 rounded
  assert.equal(c.cwnd, 31_000);
  // Losses: a and b are among the fastest (alpha 1): halving; c (4/3): a third is left.
  a.onCongestionEvent(T + 2, 10_000);
  assert.equal(a.cwnd, 5_000);
  // c's alpha is now 1 / (31000 / 40000) = 40/31 (below the cap): 30000 * (1 - 20/31) = 10645.16, floored.
  c.onCongestionEvent(T + 3, 30_000);
  assert.equal(c.ssthresh, 10_645);
});

test('balia: three paths with very different RTTs (1 ms, 30 ms, 300 ms)', () => {
  // X = 5, 2/3, 0.2: sum 88/15, max 5; alpha = 1, 7.5, 25.
  const { paths } = pathsInGroup(BaliaController, [
    { cwnd: 5_000, srttMicros: 1_000 },
    { cwnd: 20_000, srttMicros: 30_000 },
    { cwnd: 60_000, srttMicros: 300_000 },
  ]);
  const [short, middle, long] = paths as [BaliaController, BaliaController, BaliaController];
  const sumSquared = (88 / 15) ** 2;
  assertClose(short.avoidanceThreshold, (10 * 5000 * sumSquared) / (10 * 25)); // 6883.6
  assertClose(middle.avoidanceThreshold, (10 * 20_000 * sumSquared) / ((17 / 3) * (23 / 3))); // 158445.0
  assertClose(long.avoidanceThreshold, (10 * 60_000 * sumSquared) / (5.2 * 5.8)); // 684703.8
  assertClose(long.alphaR, 25);
  short.onAck(T, ack(6_883));
  assert.equal(short.cwnd, 5_000);
  short.onAck(T + 1, ack(1));
  assert.equal(short.cwnd, 6_000);
  // The long path's loss: alpha 25, capped: a quarter is left.
  long.onCongestionEvent(T + 2, 60_000);
  assert.equal(long.cwnd, 15_000);
});

test('balia: after a timeout the window is one segment, ssthresh takes BALIA\'s decrease, slow start is Reno\'s', () => {
  // Linux's tcp_enter_loss asks the controller's ssthresh: BALIA's, with alpha_B = 20 here.
  const { paths } = pathsInGroup(BaliaController, [
    { cwnd: 20_000, srttMicros: 10_000 },
    { cwnd: 10_000, srttMicros: 100_000 },
  ]);
  const [fast, slow] = paths as [BaliaController, BaliaController];
  slow.onRetransmissionTimeout(T, 10_000);
  assert.equal(slow.cwnd, MSS);
  assert.equal(slow.ssthresh, 2_500);
  slow.onRetransmissionTimeout(T + 400_000, MSS); // repeated: ssthresh kept
  assert.equal(slow.ssthresh, 2_500);
  slow.onAck(T + 500_000, ack(MSS));
  assert.equal(slow.cwnd, 2 * MSS);
  slow.onAck(T + 500_001, ack(2 * MSS));
  assert.equal(slow.cwnd, 2_500); // slow start stops at ssthresh; the rest counts toward avoidance
  fast.onRetransmissionTimeout(T + 600_000, 20_000);
  assert.equal(fast.ssthresh, 10_000); // alpha 1: Reno's half
});

test('balia: slow start ignores the siblings (doubling per round trip, as Reno)', () => {
  const group = new CoupledGroup();
  const big = new BaliaController({ mss: MSS, now: 0, coupling: group.join() });
  big.onCongestionEvent(0, 400_000);
  big.onRecoveryEnd(0);
  big.onAck(0, ack(1, { srttMicros: 5_000, appLimited: true }));
  const fresh = createBalia({ mss: MSS, now: 0, coupling: group.join() }) as BaliaController;
  const reno = new RenoController({ mss: MSS, now: 0 });
  let now = 0;
  for (let round = 1; round <= 3; round++) {
    const segments = fresh.cwnd / MSS;
    for (let i = 0; i < segments; i++) {
      now += 100;
      fresh.onAck(now, ack(MSS, { srttMicros: 80_000 }));
      reno.onAck(now, ack(MSS));
    }
    assert.equal(fresh.cwnd, reno.cwnd);
    assert.equal(fresh.cwnd, 10_000 * 2 ** round);
  }
});

test('balia: no path ever grows faster than Reno on it; its threshold matches the paper\'s formula (property)', () => {
  fc.assert(
    fc.property(pathSpecsArb, (specs) => {
      const { paths } = pathsInGroup(BaliaController, specs);
      const windows = specs.map((s) => s.cwnd / MSS);
      const rtts = specs.map((s) => s.srttMicros);
      paths.forEach((path, r) => {
        assert.ok(path.avoidanceThreshold >= path.cwnd * (1 - 1e-12), `${path.avoidanceThreshold} < ${path.cwnd}`);
        assertClose(path.increaseFor(MSS) / MSS, paperIncreasePerPacket(windows, rtts, r), 1e-9);
      });
    }),
    { numRuns: 300 },
  );
});

test('balia: a loss leaves between a quarter and a half of the flight, a half on the fastest path (property)', () => {
  fc.assert(
    fc.property(pathSpecsArb, fc.nat({ max: 3 }), (specs, pick) => {
      const { paths } = pathsInGroup(BaliaController, specs);
      const r = pick % paths.length;
      const path = paths[r]!;
      const alpha = path.alphaR;
      const rates = specs.map((s) => s.cwnd / s.srttMicros);
      const flight = path.cwnd;
      path.onCongestionEvent(T, flight);
      const floor = 2 * MSS;
      const expected = Math.max(flight * (1 - Math.min(alpha, 1.5) / 2), floor);
      assert.ok(Number.isInteger(path.ssthresh) && Math.abs(path.ssthresh - expected) < 1, `${path.ssthresh} ${expected}`);
      assert.ok(path.ssthresh >= Math.min(Math.floor(flight / 4), floor) && path.ssthresh <= Math.max(flight / 2, floor));
      if (rates[r] === Math.max(...rates)) assert.equal(path.ssthresh, Math.max(Math.floor(flight / 2), floor));
    }),
    { numRuns: 300 },
  );
});
