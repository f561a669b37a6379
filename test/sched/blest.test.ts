/**
 * BLEST (Ferlin et al., IFIP Networking 2016) at explicit inputs, each expectation worked out by hand from
 * the paper's equations (see src/sched/blest.ts):
 *   rtts = RTT_s / RTT_f,  X = MSS_f * (CWND_f + (rtts - 1) / 2) * rtts                       (eq. 1)
 *   wait when X * lambda > |MPTCP_SW| - (inflight_s + 1) * MSS_s                               (eq. 2)
 *   per chunk: x_s may take budget = |MPTCP_SW| - held_s - lambda * X bytes (at least one MSS).
 *
 * The usual pair: x_f has SRTT 10 ms and a full window of 10 segments, x_s has SRTT 40 ms. Then rtts = 4 and
 * X = MSS * (10 + 3/2) * 4 = 46 MSS = 67 160 bytes; with lambda = 1.2, lambda * X = 55.2 MSS = 80 592 bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BLEST_LAMBDA, createBlestScheduler } from '../../src/sched/blest.js';
import type { SubflowView } from '../../src/sched/types.js';
import { MPTCP_SEND_BURST_SIZE, isBackup, roomBytes, usableSubflows } from '../../src/sched/view.js';
import { anySubflowViews, byteCount, connectionView } from './arbitraries.js';
import { MSS, connection, view } from './fixtures.js';

const NOW = 1_000_000;
const LOTS = 10_000_000;
const FAST_FULL = view(1, { srttMicros: 10_000, bytesInFlight: 10 * MSS });
const SLOW = view(2, { srttMicros: 40_000 });

test('blest_fastIdlePathAlwaysChosen', () => {
  const sched = createBlestScheduler();
  const fast = view(1, { srttMicros: 10_000 });
  // Whatever the window says: x_f has room, so it gets the chunk (its room, 10 segments).
  for (const conn of [connection(), connection({ sendWindowBytes: 1000 }), connection({ sendWindowBytes: 0 }), undefined]) {
    assert.deepEqual(sched.selectSend(NOW, [SLOW, fast], LOTS, conn), { subflowId: 1, maxBytes: 10 * MSS, duplicateOn: [] });
  }
  // Room for one more whole segment on x_f (cwnd - in flight = 2 MSS - 100): still x_f, for that segment.
  const almostFull = view(1, { srttMicros: 10_000, bytesInFlight: 8 * MSS + 100 });
  assert.deepEqual(sched.selectSend(NOW, [SLOW, almostFull], LOTS, connection()), { subflowId: 1, maxBytes: MSS, duplicateOn: [] });
  assert.equal(sched.lambda, 1.2);
});

test('blest_fastFullSlowWouldBlock_waits', () => {
  // x_s already holds 8 segments: eq. 2 is 55.2 MSS > 64 MSS - (8 + 1) MSS = 55 MSS, so BLEST waits for x_f
  // (budget 64 - 8 - 55.2 = 0.8 MSS, less than one segment).
  const slowBusy = view(2, { srttMicros: 40_000, bytesInFlight: 8 * MSS });
  const sched = createBlestScheduler();
  assert.equal(sched.selectSend(NOW, [FAST_FULL, slowBusy], LOTS, connection({ outstandingBytes: 18 * MSS })), undefined);
});

test('blest_fastFullSlowWouldNotBlock_sendsTheBudget', () => {
  const sched = createBlestScheduler();
  // x_s idle: budget = 64 MSS - 0 - 55.2 MSS = 8.8 MSS = 12 848 bytes, less than its room of 10 segments.
  const conn = connection({ outstandingBytes: 10 * MSS });
  assert.deepEqual(sched.selectSend(NOW, [FAST_FULL, SLOW], LOTS, conn), { subflowId: 2, maxBytes: 12_848, duplicateOn: [] });
  // A bigger window (80 MSS): budget 24.8 MSS, so the room (10 MSS) bounds the chunk.
  assert.equal(sched.selectSend(NOW, [FAST_FULL, SLOW], LOTS, connection({ sendWindowBytes: 80 * MSS }))?.maxBytes, 10 * MSS);
  // Pending bytes and the burst bound it as for every scheduler.
  assert.equal(sched.selectSend(NOW, [FAST_FULL, SLOW], 500, conn)?.maxBytes, 500);
  assert.equal(createBlestScheduler({ burstBytes: 4000 }).selectSend(NOW, [FAST_FULL, SLOW], LOTS, conn)?.maxBytes, 4000);
});

test('blest_eq2BoundaryIsOneSegment', () => {
  const sched = createBlestScheduler();
  // Window 80 592 + 1460 = 82 052 bytes: budget exactly one MSS, eq. 2 holds with equality -> send one MSS.
  assert.deepEqual(sched.selectSend(NOW, [FAST_FULL, SLOW], LOTS, connection({ sendWindowBytes: 82_052 })), {
    subflowId: 2,
    maxBytes: MSS,
    duplicateOn: [],
  });
  // One byte less: 1459 bytes of budget, not a segment -> wait.
  assert.equal(sched.selectSend(NOW, [FAST_FULL, SLOW], LOTS, connection({ sendWindowBytes: 82_051 })), undefined);
  // ... unless fewer bytes than a segment are pending and they fit.
  assert.equal(sched.selectSend(NOW, [FAST_FULL, SLOW], 1000, connection({ sendWindowBytes: 82_051 }))?.maxBytes, 1000);
});

test('blest_xFollowsTheRttRatioAndWindowGrowth', () => {
  const sched = createBlestScheduler();
  // RTT_f 20 ms, RTT_s 50 ms: rtts = 2.5, X = MSS * (10 + 1.5 / 2) * 2.5 = 26.875 MSS, lambda * X = 32.25 MSS.
  // Window 40 MSS: budget 7.75 MSS = 11 315 bytes.
  const fast = view(1, { srttMicros: 20_000, bytesInFlight: 10 * MSS });
  const slow = view(2, { srttMicros: 50_000 });
  assert.equal(sched.selectSend(NOW, [fast, slow], LOTS, connection({ sendWindowBytes: 40 * MSS }))?.maxBytes, 11_315);
  // A bigger fast window, 20 segments (all in flight): X = MSS * (20 + 0.75) * 2.5 = 51.875 MSS, and
  // lambda * X = 62.25 MSS > 40 MSS: no budget for x_s at all.
  const fastBig = view(1, { srttMicros: 20_000, cwndBytes: 20 * MSS, bytesInFlight: 20 * MSS });
  assert.equal(sched.selectSend(NOW, [fastBig, slow], LOTS, connection({ sendWindowBytes: 40 * MSS })), undefined);
});

test('blest_heldCountsOutstandingDataNotOnTheFastPath', () => {
  const sched = createBlestScheduler();
  // x_s idle, x_f holds its 10 segments, but 18 segments are outstanding at the data level: 8 are delivered
  // above a hole and hold the window too. held_s = max(0, 18 - 10) = 8 MSS: budget 0.8 MSS -> wait.
  assert.equal(sched.selectSend(NOW, [FAST_FULL, SLOW], LOTS, connection({ outstandingBytes: 18 * MSS })), undefined);
  // Bytes queued (not yet sent) on x_s count like bytes in flight (Linux: write_seq - snd_una).
  const slowQueued = view(2, { srttMicros: 40_000, cwndBytes: 20 * MSS, queuedBytes: 8 * MSS });
  assert.equal(sched.selectSend(NOW, [FAST_FULL, slowQueued], LOTS, connection({ outstandingBytes: 10 * MSS })), undefined);
});

test('blest_threeSubflowsWeighTheFastestAgainstTheCandidate', () => {
  const sched = createBlestScheduler();
  // x_f (10 ms) full; candidates 40 ms (idle) and 80 ms (idle): x_s is the 40 ms one, against x_f.
  const slower = view(3, { srttMicros: 80_000 });
  const conn = connection({ outstandingBytes: 10 * MSS });
  assert.equal(sched.selectSend(NOW, [slower, FAST_FULL, SLOW], LOTS, conn)?.subflowId, 2);
  // The 80 ms subflow holding 8 segments pins the window for x_s's RTT too: held_s = 18 - 10 = 8 MSS -> wait.
  const slowerBusy = view(3, { srttMicros: 80_000, bytesInFlight: 8 * MSS });
  assert.equal(sched.selectSend(NOW, [slowerBusy, FAST_FULL, SLOW], LOTS, connection({ outstandingBytes: 18 * MSS })), undefined);
});

test('blest_withoutAWindowIsMinRtt', () => {
  const sched = createBlestScheduler();
  const slowBusy = view(2, { srttMicros: 40_000, bytesInFlight: 8 * MSS });
  // No connection view (today's callers) or no DATA_ACK yet: nothing can block, x_s gets its room.
  assert.equal(sched.selectSend(NOW, [FAST_FULL, slowBusy], LOTS)?.maxBytes, 2 * MSS);
  assert.equal(sched.selectSend(NOW, [FAST_FULL, slowBusy], LOTS, connection({ sendWindowBytes: Infinity }))?.maxBytes, 2 * MSS);
  // Among subflows with room, the lowest SRTT (not the lowest linger time).
  const idleSlow = view(3, { srttMicros: 60_000 });
  const fastQueued = view(1, { srttMicros: 10_000, cwndBytes: 40 * MSS, bytesInFlight: 20 * MSS });
  assert.equal(sched.selectSend(NOW, [idleSlow, fastQueued], LOTS)?.subflowId, 1);
});

test('blest_lambdaAdaptsOncePerSlowRttWithinItsBounds', () => {
  // x_s holds 8 segments: at lambda 1.2 the budget is 0.8 MSS (wait); at 1.19 it is
  // 93 440 - 11 680 - 1.19 * 67 160 = 1839.6 bytes (send 1839).
  const slowBusy = view(2, { srttMicros: 40_000, bytesInFlight: 8 * MSS });
  const views = [FAST_FULL, slowBusy];
  const sched = createBlestScheduler();
  const at = (now: number, blocked: number) =>
    sched.selectSend(now, views, LOTS, connection({ outstandingBytes: 18 * MSS, sendWindowBlockedCount: blocked }));
  assert.equal(BLEST_LAMBDA.initialMilli, 1200);
  assert.equal(at(0, 0), undefined); // the first look only starts the clock
  assert.equal(sched.lambda, 1.2);
  assert.equal(at(39_999, 0), undefined); // less than RTT_s (40 ms) later: no step
  assert.equal(sched.lambda, 1.2);
  assert.equal(at(40_000, 0)?.maxBytes, 1839); // an RTT_s without blocking: 1.2 - 0.01
  assert.equal(sched.lambda, 1.19);
  assert.equal(at(80_000, 1), undefined); // the window blocked in the meantime: 1.19 + 0.04
  assert.equal(sched.lambda, 1.23);
  // Blocking every RTT_s: 1.27, then capped at 1.3.
  for (let i = 1; i <= 3; i++) at(80_000 + i * 40_000, 1 + i);
  assert.equal(sched.lambda, 1.3);
  // No more blocking: down 0.01 per RTT_s, to 1.0 and no lower.
  for (let i = 1; i <= 40; i++) at(200_000 + i * 40_000, 4);
  assert.equal(sched.lambda, 1.0);
});

test('blest_lambdaFixedWithoutABlockedCountAndWhileTheFastPathHasRoom', () => {
  const sched = createBlestScheduler();
  for (let i = 0; i < 5; i++) {
    sched.selectSend(i * 100_000, [FAST_FULL, SLOW], LOTS, connection({ sendWindowBlockedCount: undefined }));
  }
  assert.equal(sched.lambda, 1.2);
  const fastIdle = view(1, { srttMicros: 10_000 });
  for (let i = 0; i < 5; i++) sched.selectSend(i * 100_000, [fastIdle, SLOW], LOTS, connection());
  assert.equal(sched.lambda, 1.2);
});

test('blest_backupAndStaleRules', () => {
  const sched = createBlestScheduler();
  const wide = connection({ sendWindowBytes: 1_000 * MSS });
  // A full non-backup path: wait rather than spill onto an idle backup (RFC 8684 3.3.8, as "default").
  const backup = view(3, { srttMicros: 5_000, backupPeer: true });
  assert.equal(sched.selectSend(NOW, [FAST_FULL, backup], LOTS, wide), undefined);
  // A stale subflow is not x_f: the next one is, and being idle it is used.
  const staleFast = view(1, { srttMicros: 5_000, stale: true });
  assert.equal(sched.selectSend(NOW, [staleFast, SLOW], LOTS, connection({ sendWindowBytes: 0 }))?.subflowId, 2);
  // A full stale subflow does not make BLEST wait: x_f = the 10 ms one, which is idle.
  const staleFull = view(4, { srttMicros: 5_000, stale: true, bytesInFlight: 10 * MSS });
  assert.equal(sched.selectSend(NOW, [staleFull, view(1, { srttMicros: 10_000 }), SLOW], LOTS, connection())?.subflowId, 1);
  // Every non-backup path gone: BLEST runs among the backups (x_f = backup 10 ms, full).
  const down = view(1, { established: false });
  const backupFast = view(5, { srttMicros: 10_000, backupLocal: true, bytesInFlight: 10 * MSS });
  const backupSlow = view(6, { srttMicros: 40_000, backupPeer: true, bytesInFlight: 8 * MSS });
  assert.equal(sched.selectSend(NOW, [down, backupFast, backupSlow], LOTS, connection({ outstandingBytes: 18 * MSS })), undefined);
  assert.equal(sched.selectSend(NOW, [down, backupFast, backupSlow], LOTS, wide)?.subflowId, 6);
  // Only stale subflows: they are used (not stalling the connection), with BLEST among them.
  const stale1 = view(1, { srttMicros: 10_000, stale: true, bytesInFlight: 10 * MSS });
  const stale2 = view(2, { srttMicros: 40_000, stale: true });
  assert.equal(sched.selectSend(NOW, [stale1, stale2], LOTS, connection({ outstandingBytes: 10 * MSS }))?.maxBytes, 12_848);
});

test('blest_retransmitNeverWaitsAndFollowsTheTiers', () => {
  const sched = createBlestScheduler();
  const slowBusy = view(2, { srttMicros: 40_000, bytesInFlight: 8 * MSS });
  // Lost on x_f (full anyway): x_s, although new data would wait there.
  assert.deepEqual(sched.selectRetransmit(NOW, [FAST_FULL, slowBusy], { lostOn: 1, pendingBytes: 5000 }), {
    subflowId: 2,
    maxBytes: 2 * MSS,
    duplicateOn: [],
  });
  // Avoid the subflow that lost it; non-backup before backup; lowest linger time within a tier.
  const views = [view(1, { srttMicros: 1_000 }), view(2, { srttMicros: 60_000 }), view(3, { srttMicros: 30_000 }), view(4, { srttMicros: 2_000, backupPeer: true })];
  assert.equal(sched.selectRetransmit(NOW, views, { lostOn: 1, pendingBytes: 5000 })?.subflowId, 3);
  assert.equal(sched.selectRetransmit(NOW, [view(1), view(4, { backupLocal: true })], { lostOn: 1, pendingBytes: 5000 })?.subflowId, 4);
  // Only the subflow that lost it: reinject there. No room anywhere: undefined.
  assert.deepEqual(sched.selectRetransmit(NOW, [view(1)], { lostOn: 1, pendingBytes: 5000 }), { subflowId: 1, maxBytes: 5000, duplicateOn: [] });
  assert.equal(sched.selectRetransmit(NOW, [FAST_FULL], { lostOn: undefined, pendingBytes: 5000 }), undefined);
});

/** The eligible subflows (usable, backup rule), as view.ts defines them, recomputed independently. */
function eligible(views: readonly SubflowView[]): SubflowView[] {
  const usable = usableSubflows(views);
  const active = usable.filter((v) => !isBackup(v));
  return active.length > 0 ? active : usable;
}

test('property_blestNeverThrowsAndWaitsOnlyForABusyFastestPath', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 10_000_000 }), anySubflowViews, byteCount, connectionView), { minLength: 1, maxLength: 5 }),
      (steps) => {
        const sched = createBlestScheduler();
        for (const [now, views, pending, conn] of steps) {
          const decision = sched.selectSend(now, views, pending, conn);
          const candidates = eligible(views);
          const withRoom = candidates.filter((v) => roomBytes(v) > 0);
          const fastest = [...candidates].sort((a, b) => (a.srttMicros || 1e6) - (b.srttMicros || 1e6) || a.id - b.id)[0];
          assert.ok(sched.lambda >= 1 && sched.lambda <= 1.3);
          if (decision === undefined) {
            // Waiting is only for a busy fastest path (or nothing to send, or nowhere to send it).
            assert.ok(!(pending >= 1) || withRoom.length === 0 || (fastest !== undefined && roomBytes(fastest) === 0));
            continue;
          }
          const chosen = withRoom.find((v) => v.id === decision.subflowId);
          assert.ok(chosen !== undefined, 'chosen subflow is not eligible with room');
          assert.deepEqual(decision.duplicateOn, []);
          assert.ok(Number.isInteger(decision.maxBytes) && decision.maxBytes >= 1);
          assert.ok(decision.maxBytes <= pending && decision.maxBytes <= MPTCP_SEND_BURST_SIZE && decision.maxBytes <= roomBytes(chosen));
          // A fastest path with room is always the one chosen.
          if (fastest !== undefined && roomBytes(fastest) > 0) assert.equal(decision.subflowId, fastest.id);
        }
      },
    ),
    { numRuns: 5_000 },
  );
});
