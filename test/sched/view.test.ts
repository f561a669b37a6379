/** Property tests over random subflow views: the shared rules, for every built-in scheduler (BLEST and ECF, which may wait for a busy fast path, have their send properties in their own files). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createScheduler, schedulerNames } from '../../src/sched/registry.js';
import type { SendDecision, SubflowView } from '../../src/sched/types.js';
import {
  MPTCP_SEND_BURST_SIZE,
  eligibilityOf,
  eligibleSubflows,
  isBackup,
  isEligible,
  isUsable,
  retransmitTarget,
  roomBytes,
  selectRetransmitByTiers,
  usableSubflows,
} from '../../src/sched/view.js';
import { byteCount, subflowViews } from './arbitraries.js';
import { MSS, view } from './fixtures.js';

const BUILTINS = ['default', 'roundrobin', 'redundant'] as const;
/** Every built-in follows the same reinjection rules (BLEST and ECF never wait to reinject). */
const ALL_BUILTINS = [...BUILTINS, 'blest', 'ecf'] as const;

/** Usable = established, and not stale unless every established subflow is. */
function usable(views: readonly SubflowView[]): SubflowView[] {
  const established = views.filter((v) => v.established);
  const fresh = established.filter((v) => !v.stale);
  return fresh.length > 0 ? fresh : established;
}

function checkSendDecision(views: readonly SubflowView[], pending: number, decision: SendDecision | undefined): void {
  const candidates = usable(views);
  const activeExists = candidates.some((v) => !isBackup(v));
  const anyRoom = candidates.some((v) => roomBytes(v) > 0 && (!activeExists || !isBackup(v)));
  if (decision === undefined) {
    // Declining is only right when nothing is pending or no eligible subflow has room.
    assert.ok(!(pending >= 1) || !anyRoom, 'declined although an eligible subflow had room');
    return;
  }
  const ids = [decision.subflowId, ...decision.duplicateOn];
  assert.equal(new Set(ids).size, ids.length, 'a subflow chosen twice');
  assert.ok(Number.isInteger(decision.maxBytes) && decision.maxBytes >= 1, 'maxBytes must be a positive integer');
  assert.ok(decision.maxBytes <= pending, 'more than pending');
  assert.ok(decision.maxBytes <= MPTCP_SEND_BURST_SIZE, 'more than a burst');
  for (const id of ids) {
    const chosen = candidates.find((v) => v.id === id);
    assert.ok(chosen !== undefined, `subflow ${id} is not usable (not established, or stale with a fresh one)`);
    assert.ok(chosen.established);
    // The primary's room bounds the chunk; redundant's copies may queue on busy subflows.
    if (id === decision.subflowId) assert.ok(decision.maxBytes <= roomBytes(chosen), 'chunk exceeds the room of the chosen subflow');
    assert.ok(!isBackup(chosen) || !activeExists, 'backup chosen while a non-backup subflow is usable');
  }
}

test('roomBytes_congestionWindowInWholeSegments_peerWindowInBytes', () => {
  // cwnd 10 MSS: 2 MSS - 100 bytes left in flight's wake is room for one segment, not 2 MSS - 100 bytes.
  assert.equal(roomBytes(view(1, { bytesInFlight: 8 * MSS + 100 })), MSS);
  assert.equal(roomBytes(view(1, { bytesInFlight: 9 * MSS + 1 })), 0);
  assert.equal(roomBytes(view(1, { bytesInFlight: 7 * MSS })), 3 * MSS);
  // Queued bytes use up the window before the rounding: 3 MSS left less 100 queued is 2 whole segments.
  assert.equal(roomBytes(view(1, { bytesInFlight: 7 * MSS, queuedBytes: 100 })), 2 * MSS);
  // The peer's window is not rounded (the TCP's sender-side SWS avoidance decides about small windows).
  assert.equal(roomBytes(view(1, { sendWindowBytes: 1000 })), 1000);
  assert.equal(roomBytes(view(1, { sendWindowBytes: 3 * MSS + 7, queuedBytes: 7 })), 3 * MSS);
  // Without an MSS (0, NaN) the window counts in bytes.
  assert.equal(roomBytes(view(1, { mss: 0, bytesInFlight: 8 * MSS + 100 })), 2 * MSS - 100);
  assert.equal(roomBytes(view(1, { mss: Number.NaN, bytesInFlight: 8 * MSS + 100 })), 2 * MSS - 100);
});

test('property_everySchedulerChoiceIsEstablishedWithRoomAndRespectsBackup', () => {
  assert.ok(BUILTINS.every((name) => schedulerNames().includes(name)));
  fc.assert(
    fc.property(
      fc.constantFrom(...BUILTINS),
      fc.array(fc.tuple(subflowViews, byteCount), { minLength: 1, maxLength: 4 }),
      (name, steps) => {
        const sched = createScheduler(name);
        for (const [views, pending] of steps) {
          checkSendDecision(views, pending, sched.selectSend(0, views, pending));
        }
      },
    ),
    { numRuns: 12_000 },
  );
});

test('property_retransmitChoiceHasRoomAndAvoidsLostSubflowWhenPossible', () => {
  assert.ok(ALL_BUILTINS.every((name) => schedulerNames().includes(name)));
  fc.assert(
    fc.property(
      fc.constantFrom(...ALL_BUILTINS),
      subflowViews,
      fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }),
      byteCount,
      (name, views, lostOn, pending) => {
        const decision = createScheduler(name).selectRetransmit(0, views, { lostOn, pendingBytes: pending });
        const withRoom = usable(views).filter((v) => roomBytes(v) > 0);
        if (decision === undefined) {
          assert.ok(!(pending >= 1) || withRoom.length === 0);
          return;
        }
        const chosen = withRoom.find((v) => v.id === decision.subflowId);
        assert.ok(chosen !== undefined, 'retransmit on an unusable or full subflow');
        assert.ok(decision.maxBytes >= 1 && decision.maxBytes <= Math.min(pending, roomBytes(chosen)));
        if (chosen.id === lostOn) assert.ok(withRoom.every((v) => v.id === lostOn), 'an alternative was available');
        if (isBackup(chosen)) {
          assert.ok(withRoom.every((v) => isBackup(v) || v.id === lostOn), 'backup chosen over a non-backup alternative');
        }
      },
    ),
    { numRuns: 10_000 },
  );
});

test('property_allocationFreeRulesAgreeWithTheArrayHelpers', () => {
  fc.assert(
    fc.property(subflowViews, fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }), (views, lostOn) => {
      const rule = eligibilityOf(views);
      assert.deepEqual(views.filter((v) => isUsable(v, rule)), usableSubflows(views));
      assert.deepEqual(views.filter((v) => isEligible(v, rule)), eligibleSubflows(views));
      const target = retransmitTarget(views, lostOn);
      // One pending byte: any subflow with room can take it, so the two differ only if their choices do.
      const byTiers = selectRetransmitByTiers(views, lostOn, 1, MPTCP_SEND_BURST_SIZE);
      assert.equal(target?.id, byTiers?.subflowId);
    }),
    { numRuns: 10_000 },
  );
});
