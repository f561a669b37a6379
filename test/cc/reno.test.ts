import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RenoController, initialWindowBytes } from '../../src/cc/reno.js';
import type { AckSample } from '../../src/cc/types.js';

const MSS = 1460;

function ack(ackedBytes: number, extra: Partial<AckSample> = {}): AckSample {
  return { ackedBytes, priorInFlight: ackedBytes, appLimited: false, inRecovery: false, ...extra };
}

/** One round trip of full ACKing: every segment of the current window acknowledged, one ACK each. */
function ackWindow(cc: RenoController, now: number, rttMicros: number): number {
  const segments = Math.floor(cc.cwnd / MSS);
  for (let i = 1; i <= segments; i++) {
    cc.onAck(now + Math.round((rttMicros * i) / segments), ack(MSS, { priorInFlight: (segments - i + 1) * MSS }));
  }
  return now + rttMicros;
}

/** A controller in congestion avoidance with cwnd = ssthresh = `segments` MSS. */
function inAvoidance(segments: number): RenoController {
  const cc = new RenoController({ mss: MSS, now: 0 });
  cc.onCongestionEvent(0, 2 * segments * MSS);
  cc.onRecoveryEnd(0);
  assert.equal(cc.cwnd, segments * MSS);
  assert.equal(cc.ssthresh, segments * MSS);
  return cc;
}

test('reno: RFC 6928 initial window min(10*MSS, max(2*MSS, 14600)) for several MSS', () => {
  assert.equal(new RenoController({ mss: 1460, now: 0 }).cwnd, 14600);
  assert.equal(new RenoController({ mss: 1460, now: 0 }).ssthresh, Infinity);
  assert.equal(initialWindowBytes(536), 5360); // 10 segments
  assert.equal(initialWindowBytes(1000), 10000);
  assert.equal(initialWindowBytes(1220), 12200);
  assert.equal(initialWindowBytes(2000), 14600); // 7.3 segments: the 14600-byte cap
  assert.equal(initialWindowBytes(4000), 14600);
  assert.equal(initialWindowBytes(8960), 17920); // 2*MSS floor
  assert.equal(initialWindowBytes(1460, 4), 5840); // configured segments win
  assert.equal(new RenoController({ mss: 1000, now: 0, initialWindowSegments: 3 }).cwnd, 3000);
});

test('reno: setMss before any traffic recomputes the IW; afterwards keeps the segment count', () => {
  const fresh = new RenoController({ mss: 536, now: 0 });
  fresh.setMss(1460);
  assert.equal(fresh.cwnd, 14600);
  const used = inAvoidance(20);
  used.setMss(730);
  assert.equal(used.cwnd, 20 * 730);
  assert.equal(used.ssthresh, 20 * 730);
});

test('reno: slow start doubles cwnd each round trip under full ACKing', () => {
  const cc = new RenoController({ mss: MSS, now: 0 });
  let now = 0;
  for (let round = 1; round <= 5; round++) {
    now = ackWindow(cc, now, 50_000);
    assert.equal(cc.cwnd, 14600 * 2 ** round, `round ${round}`);
  }
});

test('reno: Appropriate Byte Counting limits slow start to 2*SMSS per ACK and counts partial segments', () => {
  const cc = new RenoController({ mss: MSS, now: 0 });
  cc.onAck(1, ack(10 * MSS)); // a stretch ACK for ten segments
  assert.equal(cc.cwnd, 14600 + 2 * MSS);
  cc.onAck(2, ack(500));
  assert.equal(cc.cwnd, 14600 + 2 * MSS + 500);
  cc.onAck(3, ack(2 * MSS));
  assert.equal(cc.cwnd, 14600 + 4 * MSS + 500);
});

test('reno: slow start stops at ssthresh and the rest of the ACK counts toward avoidance', () => {
  const cc = new RenoController({ mss: 1000, now: 0 });
  cc.onRetransmissionTimeout(0, 20_000); // ssthresh 10000, cwnd 1000
  assert.equal(cc.ssthresh, 10_000);
  assert.equal(cc.cwnd, 1000);
  for (let i = 0; i < 8; i++) cc.onAck(i + 1, ack(1000));
  assert.equal(cc.cwnd, 9000);
  cc.onAck(10, ack(2000)); // 1000 bytes of slow start, 1000 toward congestion avoidance
  assert.equal(cc.cwnd, 10_000);
  for (let i = 0; i < 8; i++) cc.onAck(20 + i, ack(1000));
  assert.equal(cc.cwnd, 10_000); // 9000 of 10000 bytes counted
  cc.onAck(30, ack(1000));
  assert.equal(cc.cwnd, 11_000);
});

test('reno: congestion avoidance grows exactly one MSS per cwnd bytes acknowledged', () => {
  const cc = inAvoidance(20);
  const cwnd = cc.cwnd;
  cc.onAck(1, ack(cwnd - 1));
  assert.equal(cc.cwnd, cwnd);
  cc.onAck(2, ack(1));
  assert.equal(cc.cwnd, cwnd + MSS);
  // A stretch ACK covering two windows grows by two MSS; the remainder is kept.
  const big = inAvoidance(10);
  big.onAck(1, ack(2 * 10 * MSS + 100));
  assert.equal(big.cwnd, 12 * MSS);
  big.onAck(2, ack(12 * MSS - 100));
  assert.equal(big.cwnd, 13 * MSS);
});

test('reno: avoidance growth does not depend on how bytes are split into ACKs (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 4 * MSS }), { minLength: 1, maxLength: 300 }), (pieces) => {
      const split = inAvoidance(10);
      let total = 0;
      for (const [i, bytes] of pieces.entries()) {
        split.onAck(i, ack(bytes));
        total += bytes;
      }
      // Reference: +1 MSS each time a full current window has been counted.
      let cwnd = 10 * MSS;
      let counted = total;
      while (counted >= cwnd) {
        counted -= cwnd;
        cwnd += MSS;
      }
      assert.equal(split.cwnd, cwnd);
    }),
    { numRuns: 500 },
  );
});

test('reno: one round trip in congestion avoidance adds one MSS', () => {
  const cc = inAvoidance(30);
  let now = 0;
  for (let round = 1; round <= 10; round++) {
    now = ackWindow(cc, now, 20_000);
    assert.equal(cc.cwnd, (30 + round) * MSS);
  }
});

test('reno: a congestion event halves the flight size, never below 2*SMSS', () => {
  const cc = new RenoController({ mss: MSS, now: 0 });
  cc.onCongestionEvent(0, 30_000);
  assert.equal(cc.ssthresh, 15_000);
  assert.equal(cc.cwnd, 15_000);
  const small = new RenoController({ mss: MSS, now: 0 });
  small.onCongestionEvent(0, 2000);
  assert.equal(small.ssthresh, 2 * MSS);
  assert.equal(small.cwnd, 2 * MSS);
});

test('reno: no growth while in recovery or application-limited', () => {
  const cc = new RenoController({ mss: MSS, now: 0 });
  cc.onAck(1, ack(MSS, { appLimited: true }));
  assert.equal(cc.cwnd, 14600);
  cc.onCongestionEvent(2, 40 * MSS);
  const reduced = cc.cwnd;
  for (let i = 0; i < 100; i++) cc.onAck(3 + i, ack(MSS, { inRecovery: true }));
  assert.equal(cc.cwnd, reduced);
  assert.equal(cc.ssthresh, reduced);
  cc.onRecoveryEnd(200);
  assert.equal(cc.cwnd, reduced);
  for (let i = 0; i < 100; i++) cc.onAck(300 + i, ack(MSS, { appLimited: true }));
  assert.equal(cc.cwnd, reduced);
  // Bytes acknowledged while limited are not banked for later either.
  cc.onAck(500, ack(MSS));
  assert.equal(cc.cwnd, reduced);
});

test('reno: RTO sets the loss window and halves the flight size; a repeated RTO keeps ssthresh', () => {
  const cc = new RenoController({ mss: MSS, now: 0 });
  cc.onRetransmissionTimeout(1_000_000, 20 * MSS);
  assert.equal(cc.cwnd, MSS);
  assert.equal(cc.ssthresh, 10 * MSS);
  cc.onRetransmissionTimeout(3_000_000, MSS); // backed-off RTO, no progress in between
  assert.equal(cc.cwnd, MSS);
  assert.equal(cc.ssthresh, 10 * MSS);
  cc.onAck(3_100_000, ack(MSS));
  assert.equal(cc.cwnd, 2 * MSS); // slow start again
  cc.onRetransmissionTimeout(4_000_000, 2 * MSS); // after progress: a new loss episode
  assert.equal(cc.ssthresh, 2 * MSS);
});

test('reno: an RTO during fast recovery keeps the ssthresh the recovery chose', () => {
  const cc = new RenoController({ mss: MSS, now: 0 });
  cc.onCongestionEvent(0, 40 * MSS);
  cc.onAck(10, ack(MSS, { inRecovery: true }));
  cc.onRetransmissionTimeout(1_000_000, 39 * MSS);
  assert.equal(cc.ssthresh, 20 * MSS);
  assert.equal(cc.cwnd, MSS);
});
