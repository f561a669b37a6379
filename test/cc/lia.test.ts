/**
 * LIA (RFC 6356) at explicit times: expected windows hand-computed from section 3's equations
 *   (1) increase = min(alpha * bytes_acked * MSS_i / cwnd_total, bytes_acked * MSS_i / cwnd_i)
 *   (2) alpha = cwnd_total * max_i(cwnd_i / rtt_i^2) / (sum_i cwnd_i / rtt_i)^2
 * and section 2's goals as properties. MSS = 1000 bytes; windows in bytes, SRTTs in µs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LiaController, createLia } from '../../src/cc/lia.js';
import { CoupledGroup } from '../../src/cc/coupled.js';
import { MSS, ack, assertAloneIsReno, assertClose, pathSpecsArb, pathsInGroup } from './coupled-fixtures.js';

const T = 2_000_000; // an explicit instant; LIA does not depend on it

test('lia: without a group, alone in one, or next to a sibling that cannot count, it is Reno (property)', () => {
  assertAloneIsReno(LiaController);
});

test('lia: two subflows with very different RTTs (10 ms, 100 ms): alpha and the increase of equation (1)', () => {
  // cwnd 20 and 10 segments; rates 20000/10000 = 2 and 10000/100000 = 0.1 bytes/µs, sum 2.1;
  // max cwnd/rtt^2 = 20000/1e8 = 2e-4; alpha = 30000 * 2e-4 / 2.1^2 = 6 / 4.41 = 1.360544...
  const { paths } = pathsInGroup(LiaController, [
    { cwnd: 20_000, srttMicros: 10_000 },
    { cwnd: 10_000, srttMicros: 100_000 },
  ]);
  const [fast, slow] = paths as [LiaController, LiaController];
  assertClose(fast.alpha, 6 / 4.41);
  assertClose(slow.alpha, 6 / 4.41);
  // Per 1000 bytes acked: min(1.3605 * 1000 * 1000 / 30000, 1000 * 1000 / 20000) = min(45.35, 50) on the
  // fast path, min(45.35, 100) on the slow one: the first (coupled) term binds on both.
  assertClose(fast.increaseFor(1000), (6 / 4.41) * 1e6 / 30_000);
  assertClose(slow.increaseFor(1000), (6 / 4.41) * 1e6 / 30_000);
  // One MSS per cwnd_total / alpha = 4.41 / 2e-4 = 22050 bytes acknowledged, on either path.
  assertClose(fast.avoidanceThreshold, 22_050);
  fast.onAck(T, ack(22_049));
  assert.equal(fast.cwnd, 20_000);
  fast.onAck(T + 100, ack(2));
  assert.equal(fast.cwnd, 21_000);
  // The group now has cwnd_total 31000 and rates 2.1 + 0.1: the slow path's threshold moved with it.
  // sum = 21000/10000 + 0.1 = 2.2, max = 21000/1e8 = 2.1e-4: 2.2^2 / 2.1e-4 = 23047.6...
  assertClose(slow.avoidanceThreshold, (2.2 * 2.2) / 2.1e-4);
  slow.onAck(T + 200, ack(23_047));
  assert.equal(slow.cwnd, 10_000);
  slow.onAck(T + 300, ack(1));
  assert.equal(slow.cwnd, 11_000);
});

test('lia: the second term binds on a large-window long-RTT path (it never beats Reno there)', () => {
  // 10 segments at 1 ms (rate 10, cwnd/rtt^2 = 1e-2) and 100 segments at 1 s (rate 0.1, 1e-7):
  // cwnd_total / alpha = 10.1^2 / 1e-2 = 10201 bytes, below the long path's window of 100000.
  const { paths } = pathsInGroup(LiaController, [
    { cwnd: 10_000, srttMicros: 1_000 },
    { cwnd: 100_000, srttMicros: 1_000_000 },
  ]);
  const [short, long] = paths as [LiaController, LiaController];
  assertClose(short.avoidanceThreshold, 10_201);
  assert.equal(long.avoidanceThreshold, 100_000); // bytes_acked * MSS / cwnd_i: Reno's
  assertClose(long.increaseFor(1000), 10);
  long.onAck(T, ack(99_999));
  assert.equal(long.cwnd, 100_000);
  long.onAck(T + 1, ack(1));
  assert.equal(long.cwnd, 101_000);
});

test('lia: two subflows with equal RTTs: alpha = max cwnd / cwnd_total, the total grows alpha MSS per RTT', () => {
  const { paths } = pathsInGroup(LiaController, [
    { cwnd: 10_000, srttMicros: 50_000 },
    { cwnd: 20_000, srttMicros: 50_000 },
  ]);
  const [a, b] = paths as [LiaController, LiaController];
  assertClose(a.alpha, 2 / 3);
  // Both paths: one MSS per cwnd_total / alpha = 30000 * 3 / 2 = 45000 bytes.
  assertClose(a.avoidanceThreshold, 45_000);
  assertClose(b.avoidanceThreshold, 45_000);
  // One round trip acknowledges both windows: 30000 of 45000 bytes, 2/3 of a segment in total, so nothing
  // yet; a second round trip completes the threshold on the larger path first.
  for (let i = 0; i < 10; i++) a.onAck(T + i * 5000, ack(MSS));
  for (let i = 0; i < 20; i++) b.onAck(T + i * 2500, ack(MSS));
  assert.equal(a.cwnd + b.cwnd, 30_000);
  for (let i = 0; i < 20; i++) b.onAck(T + 50_000 + i * 2500, ack(MSS));
  assert.equal(b.cwnd, 20_000); // 40000 < 45000
  for (let i = 0; i < 5; i++) b.onAck(T + 100_000 + i * 2500, ack(MSS));
  assert.equal(b.cwnd, 21_000);
  assert.equal(a.cwnd, 10_000);
});

test('lia: three subflows with equal RTTs (40 ms): alpha = max cwnd / cwnd_total = 1/2', () => {
  // Equal RTTs cancel in equation (2): alpha = cwnd_total * max cwnd / (sum cwnd)^2 = 30000 / 60000.
  const { paths } = pathsInGroup(LiaController, [
    { cwnd: 10_000, srttMicros: 40_000 },
    { cwnd: 20_000, srttMicros: 40_000 },
    { cwnd: 30_000, srttMicros: 40_000 },
  ]);
  for (const path of paths) {
    assertClose(path.alpha, 0.5);
    assertClose(path.avoidanceThreshold, 120_000); // cwnd_total / alpha
  }
  // One round trip on every path acknowledges 60000 bytes in all: half an MSS of total growth, the
  // equal-RTT case of "the total increases by alpha MSS per RTT" (RFC 6356 section 3).
  const [, , largest] = paths as [LiaController, LiaController, LiaController];
  largest.onAck(T, ack(119_999));
  assert.equal(largest.cwnd, 30_000);
  largest.onAck(T + 1, ack(1));
  assert.equal(largest.cwnd, 31_000);
});

test('lia: three subflows (10, 20, 40 ms): one shared threshold from equation (2)', () => {
  // rates 10000/10000 = 1, 20000/20000 = 1, 30000/40000 = 0.75: sum 2.75;
  // cwnd/rtt^2: 1e-4, 5e-5, 1.875e-5: max 1e-4; alpha = 60000 * 1e-4 / 2.75^2 = 0.793388...
  const { paths } = pathsInGroup(LiaController, [
    { cwnd: 10_000, srttMicros: 10_000 },
    { cwnd: 20_000, srttMicros: 20_000 },
    { cwnd: 30_000, srttMicros: 40_000 },
  ]);
  for (const path of paths) {
    assertClose(path.alpha, 6 / 7.5625);
    assertClose(path.avoidanceThreshold, 7.5625 / 1e-4); // 75625 bytes
    assertClose(path.increaseFor(1000), 1e6 / 75_625);
  }
  const [shortest] = paths as [LiaController];
  for (let i = 0; i < 75; i++) shortest.onAck(T + i * 100, ack(MSS));
  shortest.onAck(T + 7500, ack(624));
  assert.equal(shortest.cwnd, 10_000);
  shortest.onAck(T + 7600, ack(1));
  assert.equal(shortest.cwnd, 11_000);
});

test('lia: three subflows with very different RTTs (1 ms, 30 ms, 300 ms): only the shortest is coupled-bound', () => {
  // rates 5000/1000 = 5, 20000/30000 = 2/3, 60000/300000 = 0.2: sum 88/15; cwnd/rtt^2: 5e-3, 2.2e-5, 6.7e-7.
  // alpha = 85000 * 5e-3 / (88/15)^2 = 95625 / 7744 = 12.348...; cwnd_total / alpha = (88/15)^2 / 5e-3 =
  // 6883.55... bytes: above the 1 ms path's window (5000), below the others' (20000, 60000).
  const { paths } = pathsInGroup(LiaController, [
    { cwnd: 5_000, srttMicros: 1_000 },
    { cwnd: 20_000, srttMicros: 30_000 },
    { cwnd: 60_000, srttMicros: 300_000 },
  ]);
  const [short, middle, long] = paths as [LiaController, LiaController, LiaController];
  assertClose(short.alpha, 95_625 / 7744);
  assertClose(short.avoidanceThreshold, (88 / 15) ** 2 / 5e-3);
  assert.equal(middle.avoidanceThreshold, 20_000);
  assert.equal(long.avoidanceThreshold, 60_000);
  // The counter holds whole bytes: one MSS after 6884 bytes (6883.55 rounded).
  short.onAck(T, ack(6_883));
  assert.equal(short.cwnd, 5_000);
  short.onAck(T + 1, ack(1));
  assert.equal(short.cwnd, 6_000);
  // The long path, at Reno's bound: one MSS per 60000 bytes, its own window.
  long.onAck(T + 2, ack(59_999));
  assert.equal(long.cwnd, 60_000);
  long.onAck(T + 3, ack(1));
  assert.equal(long.cwnd, 61_000);
});

test('lia: a loss halves the flight (RFC 5681) whatever the siblings, and the siblings see the new window', () => {
  const { paths } = pathsInGroup(LiaController, [
    { cwnd: 20_000, srttMicros: 10_000 },
    { cwnd: 10_000, srttMicros: 100_000 },
  ]);
  const [fast, slow] = paths as [LiaController, LiaController];
  fast.onCongestionEvent(T, 20_000);
  assert.equal(fast.ssthresh, 10_000);
  assert.equal(fast.cwnd, 10_000);
  assert.equal(fast.inRecovery, true);
  assert.equal(fast.coupling!.inRecovery, true);
  // cwnd_total 20000; rates 1 + 0.1; max cwnd/rtt^2 = 1e-4: threshold 1.1^2 / 1e-4 = 12100 bytes.
  assertClose(slow.avoidanceThreshold, 12_100);
  // No growth in recovery; the end of recovery keeps the window.
  fast.onAck(T + 10_000, ack(5 * MSS, { inRecovery: true }));
  assert.equal(fast.cwnd, 10_000);
  fast.onRecoveryEnd(T + 20_000);
  assert.equal(fast.cwnd, 10_000);
  assert.equal(fast.coupling!.inRecovery, false);
});

test('lia: after a timeout the window is one segment and slow start is Reno\'s, uncoupled', () => {
  const { paths } = pathsInGroup(LiaController, [
    { cwnd: 20_000, srttMicros: 10_000 },
    { cwnd: 30_000, srttMicros: 100_000 },
  ]);
  const [a, b] = paths as [LiaController, LiaController];
  a.onRetransmissionTimeout(T, 20_000);
  assert.equal(a.cwnd, MSS);
  assert.equal(a.ssthresh, 10_000);
  // b sees a at one segment: rates 1000 / 10000 = 0.1 and 0.3, sum 0.4; max cwnd/rtt^2 = 1000 / 1e8 = 1e-5;
  // alpha = 31000 * 1e-5 / 0.16 = 1.9375, cwnd_total / alpha = 16000 < 30000: Reno's increase on b.
  assertClose(b.alpha, 1.9375);
  assert.equal(b.avoidanceThreshold, 30_000);
  a.onRetransmissionTimeout(T + 400_000, MSS); // backed off, no progress: ssthresh kept
  assert.equal(a.ssthresh, 10_000);
  // Slow start: min(acked, 2 * SMSS) per ACK, up to ssthresh, as Reno.
  a.onAck(T + 410_000, ack(MSS, { srttMicros: 10_000 }));
  assert.equal(a.cwnd, 2 * MSS);
  a.onAck(T + 420_000, ack(5 * MSS));
  assert.equal(a.cwnd, 4 * MSS);
  for (let i = 0; i < 3; i++) a.onAck(T + 430_000 + i, ack(2 * MSS));
  assert.equal(a.cwnd, 10_000); // reached ssthresh exactly
  // The sibling counted a's small window meanwhile: rates 10000 / 10000 = 1 and 30000 / 100000 = 0.3, sum 1.3;
  // max cwnd/rtt^2 = 10000 / 1e8 = 1e-4; alpha = 40000 * 1e-4 / 1.69 = 2.3669...; cwnd_total / alpha =
  // 1.69 / 1e-4 = 16900 bytes, below b's own 30000: the second term of equation (1) binds, Reno's increase.
  assertClose(b.alpha, 4 / 1.69);
  assert.equal(b.avoidanceThreshold, 30_000);

});

test('lia: a sibling that leaves or cannot send drops out of the sums; alone again means Reno', () => {
  const { group, paths } = pathsInGroup(LiaController, [
    { cwnd: 20_000, srttMicros: 10_000 },
    { cwnd: 10_000, srttMicros: 100_000 },
  ]);
  const [fast, slow] = paths as [LiaController, LiaController];
  assert.equal(group.usableCount, 2);
  slow.coupling!.setCanSend(false);
  assert.equal(group.usableCount, 1);
  assert.equal(fast.alpha, 1);
  assert.equal(fast.avoidanceThreshold, 20_000);
  slow.coupling!.setCanSend(true);
  assertClose(fast.avoidanceThreshold, 22_050);
  slow.coupling!.leave();
  assert.equal(group.members.length, 1);
  assert.equal(fast.avoidanceThreshold, 20_000);
  fast.onAck(T, ack(20_000));
  assert.equal(fast.cwnd, 21_000);
});

test('lia: slow start ignores the siblings (doubling per round trip, as Reno)', () => {
  const group = new CoupledGroup();
  const big = new LiaController({ mss: MSS, now: 0, coupling: group.join() });
  big.onCongestionEvent(0, 400_000);
  big.onRecoveryEnd(0);
  big.onAck(0, ack(1, { srttMicros: 5_000, appLimited: true }));
  const fresh = createLia({ mss: MSS, now: 0, coupling: group.join() }) as LiaController;
  assert.equal(fresh.cwnd, 10_000);
  let now = 0;
  for (let round = 1; round <= 3; round++) {
    const segments = fresh.cwnd / MSS;
    for (let i = 0; i < segments; i++) fresh.onAck((now += 100), ack(MSS, { srttMicros: 80_000 }));
    assert.equal(fresh.cwnd, 10_000 * 2 ** round);
  }
});

test('lia: no subflow ever grows faster than Reno on its path (RFC 6356 equation (1), second term) (property)', () => {
  fc.assert(
    fc.property(pathSpecsArb, (specs) => {
      const { paths } = pathsInGroup(LiaController, specs);
      for (const path of paths) {
        assert.ok(path.avoidanceThreshold >= path.cwnd);
        assert.ok(path.increaseFor(MSS) <= (MSS * MSS) / path.cwnd);
      }
    }),
    { numRuns: 300 },
  );
});

test('lia: the aggregate rate grows no faster than one TCP on the shortest-RTT path (property)', () => {
  // A TCP with RTT r gains one MSS per r: its rate grows by MSS / r^2 per unit of time. Path i acknowledges
  // cwnd_i bytes per rtt_i, gaining cwnd_i * MSS / threshold_i bytes of window, i.e. that over rtt_i^2 of rate
  // per unit of time. RFC 6356 section 3's alpha keeps the sum at or below the fastest single TCP's.
  fc.assert(
    fc.property(pathSpecsArb, (specs) => {
      const { paths } = pathsInGroup(LiaController, specs);
      let aggregate = 0;
      let minRtt = Infinity;
      for (const [i, path] of paths.entries()) {
        const rtt = specs[i]!.srttMicros;
        aggregate += (path.cwnd * MSS) / path.avoidanceThreshold / (rtt * rtt);
        minRtt = Math.min(minRtt, rtt);
      }
      assert.ok(aggregate <= (MSS / (minRtt * minRtt)) * (1 + 1e-9), `${aggregate} > ${MSS / (minRtt * minRtt)}`);
    }),
    { numRuns: 300 },
  );
});

test('lia: goals 1 and 2 at equilibrium: the multipath rate equals the best single-path TCP\'s (property)', () => {
  // RFC 6356 section 3's derivation. Take any windows and RTTs and the loss rates p_i that make them an
  // equilibrium of LIA: per packet acked the window grows inc_i = MSS / threshold_i packets and shrinks
  // p_i * w_i / 2, so p_i = 2 inc_i / w_i. A TCP alone on path i would settle at sqrt(2 / p_i) packets, a rate
  // of sqrt(w_i / inc_i) / rtt_i. Goal 1 (at least the best of those) and goal 2 (no more) make it equal.
  fc.assert(
    fc.property(pathSpecsArb, (specs) => {
      const { paths } = pathsInGroup(LiaController, specs);
      let multipathRate = 0;
      let bestTcpRate = 0;
      for (const [i, path] of paths.entries()) {
        const rtt = specs[i]!.srttMicros;
        const windowPackets = path.cwnd / MSS;
        const increasePerPacket = MSS / path.avoidanceThreshold;
        multipathRate += windowPackets / rtt;
        bestTcpRate = Math.max(bestTcpRate, Math.sqrt(windowPackets / increasePerPacket) / rtt);
      }
      assertClose(multipathRate, bestTcpRate, 1e-9);
    }),
    { numRuns: 300 },
  );
});
