/**
 * HyStart++ (RFC 9406) in the initial slow start of the coupled controllers (src/cc/coupled-controller.ts) and
 * as Reno's option, at explicit times: rounds of ACK clocking at a 20 ms RTT, one ACK per MSS (1000 bytes),
 * and the window at the round where the delay increase is seen, worked out by hand from RFC 9406 section 4.2:
 *   RttThresh = max(MIN_RTT_THRESH 4 ms, min(lastRoundMinRTT / MIN_RTT_DIVISOR 8, MAX_RTT_THRESH 16 ms)),
 *   checked once N_RTT_SAMPLE (8) RTT samples of the round arrived: currentRoundMinRTT >= lastRoundMinRTT +
 *   RttThresh enters CSS, where each ACK adds min(acked, L * SMSS) / CSS_GROWTH_DIVISOR (4); CSS_ROUNDS (5)
 *   rounds of CSS end slow start with ssthresh = cwnd.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BaliaController } from '../../src/cc/balia.js';
import { CoupledGroup } from '../../src/cc/coupled.js';
import type { CoupledController } from '../../src/cc/coupled-controller.js';
import { LiaController } from '../../src/cc/lia.js';
import { OliaController } from '../../src/cc/olia.js';
import { RenoController } from '../../src/cc/reno.js';
import type { CongestionController } from '../../src/cc/types.js';
import { MSS, ack, type CoupledCtor } from './coupled-fixtures.js';

const RTT = 20_000;

/**
 * One round of ACK clocking from `now`: the window is acknowledged one MSS per ACK, evenly over `RTT`, each ACK
 * carrying an RTT sample of `sampleRtt` and the bytes in flight before it (so a round is the window). Returns
 * the time the round ends.
 */
function round(cc: CongestionController, now: number, sampleRtt = RTT): number {
  const segments = Math.max(1, Math.floor(cc.cwnd / MSS));
  for (let i = 1; i <= segments; i++) {
    cc.onAck(now + Math.round((RTT * i) / segments), ack(MSS, { rttMicros: sampleRtt, srttMicros: RTT, priorInFlight: (segments - i + 1) * MSS }));
  }
  return now + RTT;
}

/** A fresh controller of `ctor` in a group whose other member is in congestion avoidance at 40 segments, 50 ms. */
function nextToASibling<T extends CoupledController>(ctor: CoupledCtor<T>): T {
  const group = new CoupledGroup();
  const sibling = new ctor({ mss: MSS, now: 0, coupling: group.join() });
  sibling.onCongestionEvent(0, 80 * MSS);
  sibling.onRecoveryEnd(0);
  sibling.onAck(0, ack(1, { srttMicros: 50_000, appLimited: true }));
  return new ctor({ mss: MSS, now: 0, coupling: group.join() });
}

const COUPLED: ReadonlyArray<[string, CoupledCtor<CoupledController>]> = [
  ['lia', LiaController],
  ['olia', OliaController],
  ['balia', BaliaController],
];

test('lia: HyStart++ exit at explicit times: the window at the round where the delay rises, CSS, then congestion avoidance', () => {
  const cc = nextToASibling(LiaController);
  assert.equal(cc.hystart, 'slow-start');
  let now = 0;
  // Three rounds at a constant 20 ms: doubling, 10 -> 80 segments (t = 60 ms).
  for (let r = 1; r <= 3; r++) {
    now = round(cc, now);
    assert.equal(cc.cwnd, 10_000 * 2 ** r);
  }
  assert.equal(cc.hystart, 'slow-start');
  // Round 4 (60-80 ms) at 23 ms: RttThresh = max(4 ms, min(20 / 8, 16) ms) = 4 ms, a 3 ms rise is not enough.
  now = round(cc, now, 23_000);
  assert.equal(cc.hystart, 'slow-start');
  assert.equal(cc.cwnd, 160_000);
  // Round 5 (80-100 ms) at 28 ms: lastRoundMinRTT = 23 ms, RttThresh = max(4, min(2.875, 16)) = 4 ms, and
  // 28 >= 23 + 4: the 8th sample of the round enters CSS. Window at the end of that round: 8 ACKs at the
  // full rate (+8000), the other 152 at a quarter (+152 * 250 = 38000): 160000 + 46000 = 206000 bytes.
  now = round(cc, now, 28_000);
  assert.equal(now, 100_000);
  assert.equal(cc.hystart, 'css');
  assert.equal(cc.cwnd, 206_000);
  assert.equal(cc.ssthresh, Infinity);
  // Four more CSS rounds (the entering round was the first): 250 bytes per ACK, floor(cwnd / MSS) ACKs per
  // round: 206000 -> 257500 -> 321750 -> 402000 -> 502500.
  let expected = 206_000;
  for (let r = 0; r < 4; r++) {
    now = round(cc, now, 28_000);
    expected += Math.floor(expected / MSS) * 250;
    assert.equal(cc.cwnd, expected);
    assert.equal(cc.hystart, 'css');
  }
  assert.equal(now, 180_000);
  assert.equal(expected, 502_500);
  // The first ACK of the next round (t = 180.1 ms) completes CSS_ROUNDS: ssthresh = cwnd = 502500 and the
  // ACK's 1000 bytes count toward LIA's congestion avoidance (no whole MSS earned yet).
  cc.onAck(now + 100, ack(MSS, { rttMicros: 28_000, srttMicros: RTT, priorInFlight: 502 * MSS }));
  assert.equal(cc.hystart, 'done');
  assert.equal(cc.ssthresh, 502_500);
  assert.equal(cc.cwnd, 502_500);
  // From here LIA's increase: one MSS per max(cwnd_total / alpha, cwnd_i) bytes acknowledged. With the
  // sibling at 40000 bytes / 50 ms and this path at 502500 / 20 ms: rates 25.125 + 0.8 = 25.925 bytes/us,
  // max cwnd / rtt^2 = 502500 / 4e8 (this path), cwnd_total / alpha = 25.925^2 / 1.25625e-3 = 535009.4... >
  // 502500: the coupled term binds.
  const threshold = cc.avoidanceThreshold;
  assert.ok(Math.abs(threshold - (25.925 * 25.925) / (502_500 / 4e8)) < 1e-6, `threshold ${threshold}`);
  cc.onAck(now + 200, ack(Math.round(threshold) - 1000 - 1, { rttMicros: 28_000, srttMicros: RTT }));
  assert.equal(cc.cwnd, 502_500);
  cc.onAck(now + 300, ack(1, { rttMicros: 28_000, srttMicros: RTT }));
  assert.equal(cc.cwnd, 503_500);
});

test('coupled controllers: HyStart++ is the same for lia, olia and balia, next to a sibling or not, and Reno\'s option is it', () => {
  for (const [name, ctor] of COUPLED) {
    const coupled = nextToASibling(ctor);
    const lone = new ctor({ mss: MSS, now: 0 });
    const reno = new RenoController({ mss: MSS, now: 0 }, { hystart: true });
    const windows: number[][] = [[], [], []];
    let now = 0;
    const rtts = [RTT, RTT, RTT, 23_000, 28_000, 28_000, 28_000, 28_000, 28_000];
    for (const rtt of rtts) {
      for (const [i, cc] of [coupled, lone, reno].entries()) {
        round(cc, now, rtt);
        windows[i]!.push(cc.cwnd);
      }
      now += RTT;
    }
    assert.deepEqual(windows[0], [20_000, 40_000, 80_000, 160_000, 206_000, 257_500, 321_750, 402_000, 502_500], name);
    assert.deepEqual(windows[1], windows[0], `${name} alone`);
    assert.deepEqual(windows[2], windows[0], `reno with hystart (${name})`);
    assert.equal(coupled.hystart, 'css', name);
  }
});

test('coupled controllers: a loss in CSS ends HyStart++ and reduces as usual; an undo of it returns to CSS', () => {
  for (const [name, ctor] of COUPLED) {
    const cc = new ctor({ mss: MSS, now: 0 });
    let now = 0;
    for (const rtt of [RTT, RTT, RTT, 30_000]) now = round(cc, now, rtt);
    assert.equal(cc.hystart, 'css', name);
    const cwnd = cc.cwnd;
    cc.onCongestionEvent(now, cwnd);
    assert.equal(cc.hystart, 'done', name);
    assert.equal(cc.cwnd, Math.floor(cwnd / 2), `${name}: Reno's halving alone`);
    cc.onUndo?.(now + 1000);
    assert.equal(cc.hystart, 'css', `${name}: undo`);
    assert.equal(cc.cwnd, cwnd);
    // An RTO ends it too, and slow start after it is plain (no HyStart++ after the first slow start).
    cc.onRetransmissionTimeout(now + 2000, cwnd);
    assert.equal(cc.hystart, 'done', `${name}: RTO`);
    assert.equal(cc.cwnd, MSS);
  }
});

test('hystart: false gives the plain slow start (a delay rise changes nothing); "reno" has no HyStart++ by default', () => {
  for (const cc of [new LiaController({ mss: MSS, now: 0 }, { hystart: false }), new RenoController({ mss: MSS, now: 0 })]) {
    assert.equal(cc.hystart, 'done');
    let now = 0;
    for (const rtt of [RTT, RTT, RTT, 60_000]) now = round(cc, now, rtt);
    assert.equal(cc.cwnd, 160_000);
    assert.equal(cc.ssthresh, Infinity);
  }
});
