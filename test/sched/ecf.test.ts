/**
 * ECF (Lim et al., CoNEXT 2017) at explicit inputs, each expectation worked out by hand from the paper's
 * inequalities (see src/sched/ecf.ts), with k and CWND in bytes and k / CWND at least one round:
 *   wait if (1 + k / CWND_f) * RTT_f < (1 + waiting * beta) * (RTT_s + delta)
 *        and (k / CWND_s) * RTT_s >= 2 * RTT_f + delta;   beta = 0.25, delta = max(RTTVAR_f, RTTVAR_s).
 *
 * The usual pair: x_f has SRTT 10 ms and a full window of 10 segments, x_s has SRTT 100 ms and 10 segments
 * of room. The first test holds while 1 + k / 10 MSS < 10, i.e. k < 90 MSS (k < 115 MSS while waiting);
 * the second always holds (100 ms >= 20 ms). So ECF waits for x_f with less than 90 segments left.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ECF_BETA, createEcfScheduler } from '../../src/sched/ecf.js';
import type { SubflowView } from '../../src/sched/types.js';
import { MPTCP_SEND_BURST_SIZE, isBackup, rankingSrttMicros, roomBytes, usableSubflows } from '../../src/sched/view.js';
import { anySubflowViews, byteCount, connectionView } from './arbitraries.js';
import { MSS, connection, view } from './fixtures.js';

const NOW = 1_000_000;
const FAST_FULL = view(1, { srttMicros: 10_000, bytesInFlight: 10 * MSS });
const SLOW = view(2, { srttMicros: 100_000 });

/** One decision with `k` bytes waiting at the connection level, all of them allowed by the window. */
function withWaiting(sched: ReturnType<typeof createEcfScheduler>, views: SubflowView[], k: number) {
  return sched.selectSend(NOW, views, k, connection({ unsentBytes: k }));
}

test('ecf_fastIdlePathAlwaysChosen', () => {
  const sched = createEcfScheduler();
  const fast = view(1, { srttMicros: 10_000 });
  assert.deepEqual(withWaiting(sched, [SLOW, fast], 5 * MSS), { subflowId: 1, maxBytes: 5 * MSS, duplicateOn: [] });
  // Even while waiting (hysteresis armed): x_f has room, x_f gets it.
  assert.equal(withWaiting(sched, [FAST_FULL, SLOW], 20 * MSS), undefined);
  assert.equal(sched.waiting, true);
  assert.equal(withWaiting(sched, [SLOW, fast], 1_000 * MSS)?.subflowId, 1);
});

test('ecf_littleDataLeftWaitsForTheFastPath', () => {
  const sched = createEcfScheduler();
  // k = 20 MSS: (1 + 2) * 10 ms = 30 ms < 100 ms, and 2 * 100 ms >= 20 ms: wait.
  assert.equal(withWaiting(sched, [FAST_FULL, SLOW], 20 * MSS), undefined);
  assert.equal(sched.waiting, true);
  // k = 1 MSS: at least one round on each path: 2 * 10 ms < 100 ms and 1 * 100 ms >= 20 ms: wait. (With the
  // bare ratio, 0.1 * 100 ms = 10 ms < 20 ms would have sent the last segment on the 100 ms path.)
  assert.equal(withWaiting(createEcfScheduler(), [FAST_FULL, SLOW], 1 * MSS), undefined);
});

test('ecf_muchDataLeftUsesTheSlowPathUpToTheThreshold', () => {
  const sched = createEcfScheduler();
  // k = 95 MSS: (1 + 9.5) * 10 = 105 ms >= 100 ms: use x_s, but only for the 95 - 90 = 5 segments above
  // the point where per-segment ECF would start waiting.
  assert.deepEqual(withWaiting(sched, [FAST_FULL, SLOW], 95 * MSS), { subflowId: 2, maxBytes: 5 * MSS, duplicateOn: [] });
  assert.equal(sched.waiting, false);
  // k = 100 MSS: 10 segments above the threshold, the room of x_s: all of it.
  assert.equal(withWaiting(sched, [FAST_FULL, SLOW], 100 * MSS)?.maxBytes, 10 * MSS);
  // Exactly at the threshold (90 MSS: 100 ms is not < 100 ms): one segment, then the next call waits.
  assert.equal(withWaiting(sched, [FAST_FULL, SLOW], 90 * MSS)?.maxBytes, MSS);
  assert.equal(withWaiting(sched, [FAST_FULL, SLOW], 89 * MSS), undefined);
});

test('ecf_hysteresisBeta', () => {
  assert.equal(ECF_BETA, 0.25);
  const sched = createEcfScheduler();
  assert.equal(withWaiting(sched, [FAST_FULL, SLOW], 20 * MSS), undefined); // waiting = 1
  // k = 100 MSS would use x_s from a fresh start (110 ms >= 100 ms), but while waiting the bar is
  // 1.25 * 100 ms = 125 ms: 110 ms < 125 ms, keep waiting.
  assert.equal(withWaiting(createEcfScheduler(), [FAST_FULL, SLOW], 100 * MSS)?.subflowId, 2);
  assert.equal(withWaiting(sched, [FAST_FULL, SLOW], 100 * MSS), undefined);
  // k = 114 MSS: 124 ms < 125 ms, still waiting; k = 115 MSS: 125 ms is not < 125 ms: use x_s, waiting = 0.
  assert.equal(withWaiting(sched, [FAST_FULL, SLOW], 114 * MSS), undefined);
  assert.equal(withWaiting(sched, [FAST_FULL, SLOW], 115 * MSS)?.subflowId, 2);
  assert.equal(sched.waiting, false);
  // Reset: the plain bar again (100 MSS uses x_s, 10 segments above 90).
  assert.equal(withWaiting(sched, [FAST_FULL, SLOW], 100 * MSS)?.maxBytes, 10 * MSS);
});

test('ecf_deltaIsTheLargerRttVariation', () => {
  // delta = 20 ms: bar 100 + 20 = 120 ms; k = 100 MSS: 110 ms < 120 ms, and 10 * 100 ms >= 20 + 20 ms: wait.
  const slowVarying = view(2, { srttMicros: 100_000, rttvarMicros: 20_000 });
  assert.equal(withWaiting(createEcfScheduler(), [FAST_FULL, slowVarying], 100 * MSS), undefined);
  const fastVarying = view(1, { srttMicros: 10_000, bytesInFlight: 10 * MSS, rttvarMicros: 20_000 });
  assert.equal(withWaiting(createEcfScheduler(), [fastVarying, SLOW], 100 * MSS), undefined);
  // max, not sum: 5 ms and 20 ms give delta = 20 ms. k = 115 MSS: 125 ms >= 120 ms: use x_s, above the
  // threshold (120 / 10 - 1) * 10 MSS = 110 MSS: 5 segments.
  const fastLittle = view(1, { srttMicros: 10_000, bytesInFlight: 10 * MSS, rttvarMicros: 5_000 });
  assert.equal(withWaiting(createEcfScheduler(), [fastLittle, slowVarying], 115 * MSS)?.maxBytes, 5 * MSS);
  assert.equal(withWaiting(createEcfScheduler(), [fastLittle, slowVarying], 110 * MSS)?.maxBytes, MSS);
  assert.equal(withWaiting(createEcfScheduler(), [fastLittle, slowVarying], 109 * MSS), undefined);
});

test('ecf_slowPathNotReallySlowerIsUsed', () => {
  // RTT_f 10 ms, RTT_s 25 ms, delta 10 ms. k = 10 MSS: (1 + 1) * 10 = 20 ms < 35 ms (waiting looks
  // faster), but 1 * 25 ms < 2 * 10 + 10 = 30 ms (x_s finishes first anyway): use x_s, all its room.
  const slow = view(2, { srttMicros: 25_000, rttvarMicros: 10_000 });
  const sched = createEcfScheduler();
  assert.equal(withWaiting(sched, [FAST_FULL, slow], 10 * MSS)?.maxBytes, 10 * MSS);
  // k = 20 MSS: 30 ms < 35 ms, and 2 * 25 = 50 ms >= 30 ms: wait.
  assert.equal(withWaiting(sched, [FAST_FULL, slow], 20 * MSS), undefined);
  assert.equal(sched.waiting, true);
  // The second test failing does not clear `waiting` (only the first test failing does).
  assert.equal(withWaiting(sched, [FAST_FULL, slow], 10 * MSS)?.subflowId, 2);
  assert.equal(sched.waiting, true);
  // Thresholds that never overlap mean no cut: RTT_s 25 ms, delta 10 ms, CWND_s 40 segments: the
  // wait band would be [1.2 * 40, 2.5 * 10) MSS = [48, 25) MSS, empty. k = 60 MSS: 70 ms >= 35 ms, use x_s
  // for everything its room allows (40 segments, capped by the burst).
  const slowWide = view(2, { srttMicros: 25_000, rttvarMicros: 10_000, cwndBytes: 40 * MSS, sendWindowBytes: 1_000_000 });
  assert.equal(withWaiting(createEcfScheduler(), [FAST_FULL, slowWide], 60 * MSS)?.maxBytes, Math.min(40 * MSS, MPTCP_SEND_BURST_SIZE));
});

test('ecf_kIsTheConnectionLevelBacklogWhenKnown', () => {
  // The window allows 20 segments now (pending) but 200 wait at the connection level: k = 200 MSS,
  // 210 ms >= 100 ms, use x_s (110 segments above the threshold; the pending bytes and the room cap it).
  const sched = createEcfScheduler();
  assert.equal(sched.selectSend(NOW, [FAST_FULL, SLOW], 20 * MSS, connection({ unsentBytes: 200 * MSS }))?.maxBytes, 10 * MSS);
  // Without a connection view k is the pending bytes: 20 MSS, wait.
  assert.equal(createEcfScheduler().selectSend(NOW, [FAST_FULL, SLOW], 20 * MSS), undefined);
  assert.equal(createEcfScheduler().selectSend(NOW, [FAST_FULL, SLOW], 95 * MSS)?.maxBytes, 5 * MSS);
});

test('ecf_equalPathsAndWindowlessFastPathNeverWait', () => {
  // Same SRTT: (1 + k / CWND_f) * 10 ms is never < 10 ms: x_s, all its room.
  const twin = view(2, { srttMicros: 10_000 });
  assert.equal(withWaiting(createEcfScheduler(), [FAST_FULL, twin], 5 * MSS)?.subflowId, 2);
  // A "fastest" path with a zero window will not free up: nothing to wait for.
  const noWindow = view(1, { srttMicros: 10_000, cwndBytes: 0 });
  assert.equal(withWaiting(createEcfScheduler(), [noWindow, SLOW], 5 * MSS)?.subflowId, 2);
});

test('ecf_backupAndStaleRules', () => {
  const sched = createEcfScheduler();
  // A full non-backup path: wait rather than spill onto an idle backup (RFC 8684 3.3.8, as "default"),
  // however much data waits.
  const backup = view(3, { srttMicros: 5_000, backupPeer: true });
  assert.equal(withWaiting(sched, [FAST_FULL, backup], 10_000 * MSS), undefined);
  // A stale subflow is not x_f: the next one is, and being idle it is used.
  const staleFast = view(4, { srttMicros: 1_000, stale: true, bytesInFlight: 10 * MSS });
  assert.equal(withWaiting(createEcfScheduler(), [staleFast, SLOW], 1 * MSS)?.subflowId, 2);
  // Every non-backup path gone: ECF runs among the backups.
  const down = view(1, { established: false });
  const backupFast = view(5, { srttMicros: 10_000, backupLocal: true, bytesInFlight: 10 * MSS });
  const backupSlow = view(6, { srttMicros: 100_000, backupPeer: true });
  assert.equal(withWaiting(createEcfScheduler(), [down, backupFast, backupSlow], 20 * MSS), undefined);
  assert.equal(withWaiting(createEcfScheduler(), [down, backupFast, backupSlow], 95 * MSS)?.maxBytes, 5 * MSS);
  // Only stale subflows: they are used, with ECF among them.
  const stale1 = view(1, { srttMicros: 10_000, stale: true, bytesInFlight: 10 * MSS });
  const stale2 = view(2, { srttMicros: 100_000, stale: true });
  assert.equal(withWaiting(createEcfScheduler(), [stale1, stale2], 20 * MSS), undefined);
  assert.equal(withWaiting(createEcfScheduler(), [stale1, stale2], 95 * MSS)?.subflowId, 2);
});

test('ecf_retransmitNeverWaitsAndFollowsTheTiers', () => {
  const sched = createEcfScheduler();
  // New data would wait here (k = 20 MSS); a reinjection goes on x_s at once.
  assert.equal(withWaiting(sched, [FAST_FULL, SLOW], 20 * MSS), undefined);
  assert.deepEqual(sched.selectRetransmit(NOW, [FAST_FULL, SLOW], { lostOn: 1, pendingBytes: 5000 }), {
    subflowId: 2,
    maxBytes: 5000,
    duplicateOn: [],
  });
  const views = [view(1, { srttMicros: 1_000 }), view(2, { srttMicros: 60_000 }), view(3, { srttMicros: 30_000 }), view(4, { srttMicros: 2_000, backupPeer: true })];
  assert.equal(sched.selectRetransmit(NOW, views, { lostOn: 1, pendingBytes: 5000 })?.subflowId, 3);
  assert.equal(sched.selectRetransmit(NOW, [view(1), view(4, { backupLocal: true })], { lostOn: 1, pendingBytes: 5000 })?.subflowId, 4);
  assert.equal(sched.selectRetransmit(NOW, [view(1)], { lostOn: 1, pendingBytes: 5000 })?.subflowId, 1);
  assert.equal(sched.selectRetransmit(NOW, [FAST_FULL], { lostOn: undefined, pendingBytes: 5000 }), undefined);
});

function eligible(views: readonly SubflowView[]): SubflowView[] {
  const usable = usableSubflows(views);
  const active = usable.filter((v) => !isBackup(v));
  return active.length > 0 ? active : usable;
}

test('property_ecfNeverThrowsAndWaitsOnlyForABusyFastestPath', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(anySubflowViews, byteCount, connectionView), { minLength: 1, maxLength: 5 }), (steps) => {
      const sched = createEcfScheduler();
      for (const [views, pending, conn] of steps) {
        const decision = sched.selectSend(NOW, views, pending, conn);
        const candidates = eligible(views);
        const withRoom = candidates.filter((v) => roomBytes(v) > 0);
        const fastest = [...candidates].sort((a, b) => rankingSrttMicros(a) - rankingSrttMicros(b) || a.id - b.id)[0];
        if (decision === undefined) {
          assert.ok(!(pending >= 1) || withRoom.length === 0 || (fastest !== undefined && roomBytes(fastest) === 0));
          continue;
        }
        const chosen = withRoom.find((v) => v.id === decision.subflowId);
        assert.ok(chosen !== undefined, 'chosen subflow is not eligible with room');
        assert.deepEqual(decision.duplicateOn, []);
        assert.ok(Number.isInteger(decision.maxBytes) && decision.maxBytes >= 1);
        assert.ok(decision.maxBytes <= pending && decision.maxBytes <= MPTCP_SEND_BURST_SIZE && decision.maxBytes <= roomBytes(chosen));
        if (fastest !== undefined && roomBytes(fastest) > 0) assert.equal(decision.subflowId, fastest.id);
      }
    }),
    { numRuns: 5_000 },
  );
});
