import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CUBIC_ALPHA, CubicController, type CubicOptions } from '../../src/cc/cubic.js';
import { RenoController } from '../../src/cc/reno.js';
import type { AckSample, CongestionController } from '../../src/cc/types.js';

const MSS = 1460;
const C = 0.4;

function ack(ackedBytes: number, rttMicros: number, extra: Partial<AckSample> = {}): AckSample {
  return {
    ackedBytes,
    priorInFlight: ackedBytes,
    rttMicros,
    srttMicros: rttMicros,
    minRttMicros: rttMicros,
    appLimited: false,
    inRecovery: false,
    ...extra,
  };
}

/**
 * One round trip of ACK clocking on a path with a fixed RTT: the window sent at `now` is acknowledged one
 * segment per ACK, the ACKs spread evenly over the following RTT. Returns the time the round ends.
 */
function round(cc: CongestionController, now: number, rttMicros: number, sampleRtt = rttMicros): number {
  const segments = Math.max(1, Math.floor(cc.cwnd / MSS));
  for (let i = 1; i <= segments; i++) {
    const at = now + Math.round((rttMicros * i) / segments);
    cc.onAck(at, ack(MSS, sampleRtt, { priorInFlight: (segments - i + 1) * MSS }));
  }
  return now + rttMicros;
}

/**
 * A controller that reached exactly `wMaxSegments` in slow start, then lost a packet and finished recovery:
 * cwnd = 0.7 * W_max, the next ACK starts the congestion-avoidance epoch.
 */
function afterLoss(wMaxSegments: number, options: CubicOptions = {}): CubicController {
  const cc = new CubicController({ mss: MSS, now: 0 }, { hystart: false, ...options });
  let now = 0;
  while (cc.cwnd < wMaxSegments * MSS) cc.onAck((now += 10), ack(MSS, 1000));
  assert.equal(cc.cwnd, wMaxSegments * MSS);
  cc.onCongestionEvent(now, cc.cwnd);
  cc.onRecoveryEnd(now);
  return cc;
}

/** W_cubic(t) in segments for the classic epoch after a loss at W_max: K = cbrt(W_max (1 - beta) / C). */
function wCubic(wMaxSegments: number, tSeconds: number): number {
  const k = Math.cbrt((wMaxSegments * (1 - 0.7)) / C);
  return C * (tSeconds - k) ** 3 + wMaxSegments;
}

const segmentsOf = (cc: CongestionController) => cc.cwnd / MSS;

test('cubic: a loss reduces cwnd and ssthresh to 0.7 * cwnd and remembers W_max', () => {
  const cc = new CubicController({ mss: MSS, now: 0 });
  assert.equal(cc.cwnd, 14600);
  assert.equal(cc.ssthresh, Infinity);
  cc.onCongestionEvent(1000, 14600);
  assert.equal(cc.cwnd, 10220);
  assert.equal(cc.ssthresh, 10220);
  assert.equal(cc.wMax, 14600);
  assert.equal(cc.epochStart, undefined);
  // Never below 2 segments.
  const tiny = new CubicController({ mss: MSS, now: 0 });
  tiny.onRetransmissionTimeout(0, 14600);
  tiny.onAck(1, ack(MSS, 1000)); // progress, so the next event is a new episode
  tiny.onCongestionEvent(2, 2 * MSS);
  assert.equal(tiny.cwnd, 2 * MSS);
  assert.equal(tiny.ssthresh, 2 * MSS);
});

test('cubic: K = cbrt(W_max * (1 - beta) / C) at the start of the epoch', () => {
  for (const wMax of [20, 100, 1000]) {
    const cc = afterLoss(wMax);
    assert.ok(Math.abs(segmentsOf(cc) - 0.7 * wMax) < 1e-9);
    cc.onAck(5_000_000, ack(MSS, 100_000));
    assert.equal(cc.epochStart, 5_000_000);
    assert.ok(Math.abs(cc.k - Math.cbrt((wMax * 0.3) / C)) < 1e-9, `W_max ${wMax}: K ${cc.k}`);
    assert.ok(Math.abs(cc.cubicWindowAt(cc.k) - wMax * MSS) < 1e-6);
    assert.ok(Math.abs(cc.cubicWindowAt(0) - 0.7 * wMax * MSS) < 1e-6);
  }
  assert.ok(Math.abs(Math.cbrt(75) - 4.217163326508746) < 1e-12); // the value the next tests rely on
});

test('cubic: under ACK clocking the window follows W_cubic(t) and reaches W_max at t = K', () => {
  for (const rtt of [100_000, 200_000]) {
    // Defaults (Reno-friendly region on): with 100 segments and these RTTs the cubic curve governs up to K
    // (at 20 ms W_est, +9/17 segment per RTT, would lead early on: see the Reno-friendly test).
    const cc = afterLoss(100);
    let now = 1_000_000;
    now = round(cc, now, rtt);
    const epoch = cc.epochStart!;
    const k = Math.cbrt(75);
    let closestToK = Infinity;
    let windowAtK = 0;
    while ((now - epoch) / 1e6 <= k + rtt / 1e6) {
      const t = (now - epoch) / 1e6;
      const expected = wCubic(100, t);
      assert.ok(Math.abs(segmentsOf(cc) - expected) <= 1, `rtt ${rtt} t=${t}: ${segmentsOf(cc)} vs ${expected}`);
      if (Math.abs(t - k) < closestToK) {
        closestToK = Math.abs(t - k);
        windowAtK = segmentsOf(cc);
      }
      now = round(cc, now, rtt);
    }
    assert.ok(Math.abs(windowAtK - 100) <= 1, `rtt ${rtt}: cwnd at K = ${windowAtK}`);
  }
  // Without the Reno-friendly region the curve is followed on both sides of K, for short and long RTTs.
  for (const rtt of [10_000, 200_000]) {
    const cc = afterLoss(100, { renoFriendly: false });
    let now = round(cc, 0, rtt);
    const epoch = cc.epochStart!;
    while ((now - epoch) / 1e6 <= 2 * Math.cbrt(75)) {
      const t = (now - epoch) / 1e6;
      assert.ok(Math.abs(segmentsOf(cc) - wCubic(100, t)) <= 1, `rtt ${rtt} t=${t}`);
      now = round(cc, now, rtt);
    }
  }
});

test('cubic: growth is concave below W_max, flat around K, convex above it', () => {
  const cc = afterLoss(100, { renoFriendly: false });
  const rtt = 100_000;
  let now = round(cc, 0, rtt);
  const epoch = cc.epochStart!;
  const k = Math.cbrt(75);
  const before: number[] = [];
  const after: number[] = [];
  let previous = segmentsOf(cc);
  while ((now - epoch) / 1e6 < 2 * k) {
    now = round(cc, now, rtt);
    const t = (now - epoch) / 1e6;
    const increment = segmentsOf(cc) - previous;
    previous = segmentsOf(cc);
    if (t < k - 0.2) {
      before.push(increment);
      assert.ok(segmentsOf(cc) < 100, `concave region stays below W_max at t=${t}`);
    } else if (t > k + 0.2) {
      after.push(increment);
      assert.ok(segmentsOf(cc) > 100, `convex region is above W_max at t=${t}`);
    }
  }
  const eps = 0.02;
  for (let i = 1; i < before.length; i++) assert.ok(before[i]! <= before[i - 1]! + eps, `concave at ${i}`);
  for (let i = 1; i < after.length; i++) assert.ok(after[i]! >= after[i - 1]! - eps, `convex at ${i}`);
  assert.ok(before[0]! > 1.5 && after.at(-1)! > 1.5, 'fast far from W_max');
  assert.ok(Math.min(...before, ...after) < 0.1, 'slow near W_max');
});

test('cubic: fast convergence lowers W_max when a loss comes before the previous W_max', () => {
  const cc = afterLoss(100);
  assert.equal(cc.wMax, 100 * MSS);
  cc.onAck(1_000_000, ack(MSS, 50_000)); // progress; cwnd still about 70 segments < W_max
  const cwnd = segmentsOf(cc);
  cc.onCongestionEvent(1_100_000, cc.cwnd);
  assert.ok(Math.abs(cc.wMax / MSS - (cwnd * 1.7) / 2) < 1e-3); // cwnd read back in whole bytes
  assert.ok(Math.abs(segmentsOf(cc) - cwnd * 0.7) < 1e-3);

  const plain = afterLoss(100, { fastConvergence: false });
  plain.onAck(1_000_000, ack(MSS, 50_000));
  const plainCwnd = plain.cwnd;
  plain.onCongestionEvent(1_100_000, plain.cwnd);
  assert.ok(Math.abs(plain.wMax - plainCwnd) < 1);

  // A loss above the previous W_max keeps the plain rule even with fast convergence on.
  const growing = afterLoss(10, { renoFriendly: false });
  let now = 0;
  for (let i = 0; i < 200 && growing.cwnd <= 10 * MSS; i++) now = round(growing, now, 100_000);
  assert.ok(growing.cwnd > 10 * MSS);
  const above = growing.cwnd;
  growing.onCongestionEvent(now, above);
  assert.ok(Math.abs(growing.wMax - above) < 1);
});

test('cubic: the Reno-friendly region dominates at a small RTT * bandwidth', () => {
  const rtt = 1_000; // 1 ms: W_cubic barely moves per RTT, Reno's estimate gains alpha per RTT
  const cc = afterLoss(20);
  let now = round(cc, 0, rtt);
  const epoch = cc.epochStart!;
  for (let r = 1; r <= 10; r++) now = round(cc, now, rtt);
  const t = (now - epoch) / 1e6;
  assert.ok(wCubic(20, t) < 14.2, 'the cubic curve has hardly left cwnd_epoch');
  // W_est started at 14 and gains alpha_cubic = 9/17 per window of ACKs (11 rounds so far).
  const expected = 14 + 11 * CUBIC_ALPHA;
  assert.ok(Math.abs(segmentsOf(cc) - expected) < 0.5, `${segmentsOf(cc)} vs ${expected}`);
  assert.ok(Math.abs(cc.wEst - cc.cwnd) < 1);
  // Once W_est reaches cwnd_prior (20) alpha becomes 1: one segment per RTT, like Reno.
  while (segmentsOf(cc) < 21) now = round(cc, now, rtt);
  const start = segmentsOf(cc);
  for (let r = 0; r < 10; r++) now = round(cc, now, rtt);
  assert.ok(Math.abs(segmentsOf(cc) - start - 10) < 0.6, `${segmentsOf(cc) - start} per 10 RTTs`);

  // The same path without the Reno-friendly region stays on the (much lower) cubic curve.
  const pure = afterLoss(20, { renoFriendly: false });
  let pureNow = 0;
  for (let r = 0; r <= 11; r++) pureNow = round(pure, pureNow, rtt);
  assert.ok(segmentsOf(pure) < 14.5);
});

test('cubic: growth is capped at 1.5x cwnd per RTT', () => {
  const cc = afterLoss(10, { renoFriendly: false }); // cwnd 7, W_max 10, K = 1.96 s
  const rtt = 10_000_000; // W_cubic(t + RTT) is far above 1.5 * cwnd
  const now = round(cc, 0, rtt);
  assert.equal(cc.cwnd, Math.round(10.5 * MSS));
  round(cc, now, rtt);
  assert.ok(cc.cwnd <= Math.round(10.5 * 1.5 * MSS) + 1);
  // A single stretch ACK for the whole window cannot jump past the target either.
  const stretch = afterLoss(10, { renoFriendly: false });
  stretch.onAck(1, ack(7 * MSS, rtt, { priorInFlight: 7 * MSS }));
  assert.equal(stretch.cwnd, Math.round(10.5 * MSS));
});

test('cubic: RTO gives the loss window, ssthresh 0.7 * cwnd, then an epoch with K = 0 and W_max = cwnd_epoch', () => {
  const cc = afterLoss(100);
  let now = 0;
  for (let r = 0; r < 10; r++) now = round(cc, now, 50_000);
  const before = segmentsOf(cc);
  cc.onRetransmissionTimeout(now, cc.cwnd);
  assert.equal(cc.cwnd, MSS);
  assert.ok(Math.abs(cc.ssthresh - Math.round(before * 0.7 * MSS)) <= 1);
  assert.equal(cc.epochStart, undefined);
  // A backed-off RTO without progress keeps ssthresh.
  const ssthresh = cc.ssthresh;
  cc.onRetransmissionTimeout(now + 1_000_000, MSS);
  assert.equal(cc.ssthresh, ssthresh);
  assert.equal(cc.cwnd, MSS);
  // Slow start back to ssthresh, then the first epoch starts at the plateau.
  now += 2_000_000;
  while (cc.cwnd < cc.ssthresh) now = round(cc, now, 50_000);
  assert.ok(cc.epochStart !== undefined);
  assert.equal(cc.k, 0);
  assert.ok(Math.abs(cc.wMax - cc.ssthresh) <= 1);
  // From there on the window is convex: it keeps growing, faster and faster.
  const increments: number[] = [];
  for (let r = 0; r < 30; r++) {
    const previous = cc.cwnd;
    now = round(cc, now, 50_000);
    increments.push(cc.cwnd - previous);
  }
  assert.ok(increments.every((d) => d >= 0));
  assert.ok(increments.at(-1)! > increments[0]!);
});

test('cubic: an RTO during fast recovery keeps the ssthresh recovery set', () => {
  const cc = afterLoss(100);
  cc.onAck(1, ack(MSS, 1000));
  cc.onCongestionEvent(2, cc.cwnd);
  const ssthresh = cc.ssthresh;
  cc.onAck(3, ack(MSS, 1000, { inRecovery: true }));
  cc.onRetransmissionTimeout(1_000_000, cc.cwnd);
  assert.equal(cc.ssthresh, ssthresh);
  assert.equal(cc.cwnd, MSS);
});

test('cubic: no growth in recovery or when application-limited, and t skips the limited time', () => {
  const limited = afterLoss(50);
  const reference = afterLoss(50);
  const rtt = 100_000;
  let a = 0;
  let b = 0;
  for (let r = 0; r < 5; r++) {
    a = round(reference, a, rtt);
    b = round(limited, b, rtt);
  }
  const frozen = limited.cwnd;
  for (let i = 1; i <= 100; i++) limited.onAck(b + i * 100_000, ack(MSS, rtt, { appLimited: true }));
  for (let i = 1; i <= 10; i++) limited.onAck(b + 10_000_000 + i, ack(MSS, rtt, { inRecovery: true }));
  assert.equal(limited.cwnd, frozen);
  b += 10_000_000; // 10 s application-limited: the curve must not jump ahead by 10 s
  limited.onRecoveryEnd(b);
  for (let r = 0; r < 5; r++) {
    a = round(reference, a, rtt);
    b = round(limited, b, rtt);
  }
  assert.ok(Math.abs(limited.cwnd - reference.cwnd) <= 1, `${limited.cwnd} vs ${reference.cwnd}`);
});

test('cubic: setMss keeps the window in segments, and recomputes the IW before any traffic', () => {
  const fresh = new CubicController({ mss: 536, now: 0 });
  assert.equal(fresh.cwnd, 5360);
  fresh.setMss(1460);
  assert.equal(fresh.cwnd, 14600);
  const cc = afterLoss(20);
  cc.setMss(730);
  assert.equal(cc.cwnd, 14 * 730);
  assert.equal(cc.ssthresh, 14 * 730);
});

test('cubic: without HyStart++ (or with a constant RTT) slow start doubles per round like Reno', () => {
  for (const hystart of [false, true]) {
    const cc = new CubicController({ mss: MSS, now: 0 }, { hystart });
    let now = 0;
    for (let r = 1; r <= 6; r++) {
      now = round(cc, now, 30_000);
      assert.equal(cc.cwnd, 14600 * 2 ** r);
    }
    assert.equal(cc.hystart, hystart ? 'slow-start' : 'done');
    assert.equal(cc.ssthresh, Infinity);
  }
});

test('hystart++: an RTT increase enters CSS (1/4 growth); CSS_ROUNDS rounds later it is congestion avoidance', () => {
  const cc = new CubicController({ mss: MSS, now: 0 }, { hystart: true });
  let now = 0;
  for (let r = 0; r < 3; r++) now = round(cc, now, 20_000);
  assert.equal(cc.hystart, 'slow-start');
  // RttThresh = max(4 ms, min(20 ms / 8, 16 ms)) = 4 ms: a 3 ms rise is not enough, 5 ms is.
  now = round(cc, now, 20_000, 23_000);
  assert.equal(cc.hystart, 'slow-start');
  const beforeRise = cc.cwnd;
  now = round(cc, now, 20_000, 28_000);
  assert.equal(cc.hystart, 'css');
  // 8 samples at the full rate, the rest of the round at a quarter of it.
  const segments = beforeRise / MSS;
  assert.equal(cc.cwnd, beforeRise + 8 * MSS + ((segments - 8) * MSS) / 4);
  // The entering round counts as the first CSS round; four more full rounds grow at a quarter rate.
  for (let r = 0; r < 4; r++) {
    const before = cc.cwnd;
    now = round(cc, now, 20_000, 28_000);
    assert.equal(cc.hystart, 'css');
    assert.equal(cc.cwnd, before + (Math.floor(before / MSS) * MSS) / 4);
  }
  // The first ACK of the next round completes CSS_ROUNDS: ssthresh = cwnd, congestion avoidance from here.
  const cssEnd = cc.cwnd;
  cc.onAck(now + 5, ack(MSS, 28_000, { priorInFlight: cc.cwnd }));
  assert.equal(cc.hystart, 'done');
  assert.equal(cc.ssthresh, cssEnd);
  assert.ok(cc.cwnd >= cssEnd && cc.cwnd <= cssEnd + MSS);
  // CUBIC after a loss-free exit: K = 0 and W_max = the window at the start of the epoch (RFC 9438 4.10).
  assert.equal(cc.k, 0);
  assert.ok(Math.abs(cc.wMax - cc.ssthresh) <= 1);
});

test('hystart++: a spurious delay increase returns from CSS to slow start; disabled means no CSS', () => {
  const cc = new CubicController({ mss: MSS, now: 0 });
  let now = 0;
  for (let r = 0; r < 3; r++) now = round(cc, now, 20_000);
  now = round(cc, now, 20_000, 30_000);
  assert.equal(cc.hystart, 'css');
  now = round(cc, now, 20_000, 20_000); // the next round's minimum is below the CSS baseline
  assert.equal(cc.hystart, 'slow-start');

  const off = new CubicController({ mss: MSS, now: 0 }, { hystart: false });
  now = 0;
  for (let r = 0; r < 3; r++) now = round(off, now, 20_000);
  now = round(off, now, 20_000, 60_000);
  assert.equal(off.hystart, 'done');
  assert.equal(off.cwnd, 14600 * 16);
  assert.equal(off.ssthresh, Infinity);
});

test('hystart++: a loss during CSS ends HyStart++ and reduces as usual', () => {
  const cc = new CubicController({ mss: MSS, now: 0 });
  let now = 0;
  for (let r = 0; r < 3; r++) now = round(cc, now, 20_000);
  now = round(cc, now, 20_000, 30_000);
  assert.equal(cc.hystart, 'css');
  const cwnd = cc.cwnd;
  cc.onCongestionEvent(now, cwnd);
  assert.equal(cc.hystart, 'done');
  assert.ok(Math.abs(cc.cwnd - cwnd * 0.7) <= 1);
});

// ---- property: windows stay sane over arbitrary event sequences ----

type Event =
  | { kind: 'ack'; dt: number; bytes: number; rtt: number | null; appLimited: boolean; inRecovery: boolean }
  | { kind: 'loss'; dt: number; flight: number }
  | { kind: 'recoveryEnd'; dt: number }
  | { kind: 'rto'; dt: number; flight: number }
  | { kind: 'mss'; mss: number };

const eventArb: fc.Arbitrary<Event> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant('ack' as const),
      dt: fc.integer({ min: 0, max: 3_000_000 }),
      bytes: fc.integer({ min: 0, max: 200_000 }),
      rtt: fc.option(fc.integer({ min: 1, max: 2_000_000 })),
      appLimited: fc.boolean(),
      inRecovery: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('loss' as const), dt: fc.nat(1_000_000), flight: fc.nat(2_000_000) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('recoveryEnd' as const), dt: fc.nat(1_000_000) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('rto' as const), dt: fc.nat(5_000_000), flight: fc.nat(2_000_000) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('mss' as const), mss: fc.integer({ min: 536, max: 9000 }) }) },
);

function checkSane(cc: CongestionController, mss: number, after: Event['kind']): void {
  const { cwnd, ssthresh } = cc;
  assert.ok(Number.isFinite(cwnd), `cwnd ${cwnd}`);
  assert.ok(cwnd >= mss, `cwnd ${cwnd} below 1 MSS (${mss})`);
  assert.ok(ssthresh === Infinity || (Number.isFinite(ssthresh) && ssthresh >= 2 * mss), `ssthresh ${ssthresh}`);
  if (after === 'loss') {
    assert.ok(cwnd >= 2 * mss, `cwnd ${cwnd} below 2 MSS after a congestion event`);
    assert.ok(Number.isFinite(ssthresh));
  }
  if (after === 'rto') assert.equal(cwnd, mss);
  if (cc instanceof CubicController) {
    assert.ok(Number.isFinite(cc.wMax) && cc.wMax >= 0);
    assert.ok(Number.isFinite(cc.k));
    assert.ok(Number.isFinite(cc.wEst));
  }
}

test('cc property: cwnd >= 1 MSS (2 MSS after a congestion event), finite, over random event sequences', () => {
  fc.assert(
    fc.property(
      fc.constantFrom('reno', 'cubic'),
      fc.record({ hystart: fc.boolean(), fastConvergence: fc.boolean(), renoFriendly: fc.boolean() }),
      fc.integer({ min: 536, max: 9000 }),
      fc.option(fc.integer({ min: 1, max: 20 })),
      fc.array(eventArb, { maxLength: 60 }),
      (kind, options, initialMss, iw, events) => {
        const params = { mss: initialMss, now: 0, ...(iw === null ? {} : { initialWindowSegments: iw }) };
        const cc: CongestionController =
          kind === 'reno' ? new RenoController(params) : new CubicController(params, options);
        let mss = initialMss;
        let now = 0;
        checkSane(cc, mss, 'ack');
        for (const e of events) {
          if (e.kind !== 'mss') now += e.dt;
          switch (e.kind) {
            case 'ack':
              cc.onAck(now, {
                ackedBytes: e.bytes,
                priorInFlight: e.bytes + 1000,
                ...(e.rtt === null ? {} : { rttMicros: e.rtt, srttMicros: e.rtt, minRttMicros: e.rtt }),
                appLimited: e.appLimited,
                inRecovery: e.inRecovery,
              });
              break;
            case 'loss':
              cc.onCongestionEvent(now, e.flight);
              break;
            case 'recoveryEnd':
              cc.onRecoveryEnd(now);
              break;
            case 'rto':
              cc.onRetransmissionTimeout(now, e.flight);
              break;
            case 'mss':
              cc.setMss(e.mss);
              mss = e.mss;
              break;
          }
          checkSane(cc, mss, e.kind);
        }
      },
    ),
    { numRuns: 10_000 },
  );
});
