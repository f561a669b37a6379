/**
 * The "blest" scheduler: BLocking ESTimation. Read first: S. Ferlin, Ö. Alay, O. Mehani, R. Boreli, "BLEST:
 * Blocking Estimation-based MPTCP Scheduler for Heterogeneous Networks", IFIP Networking 2016, section III
 * (the scheduler); RFC 8684 section 3.3.4 (one connection-level receive window, relative to the DATA_ACK,
 * shared by every subflow). The constants are those of the authors' out-of-tree Linux implementation
 * (multipath-tcp/mptcp, net/mptcp/mptcp_blest.c, "blest"); the code here is written from the equations.
 *
 * The problem it solves: a segment sent on a slow subflow x_s holds connection-level window space until it
 * is acknowledged, about RTT_s later. If during that time the fast subflow x_f could have sent more than the
 * window has left, x_f stalls behind x_s (head-of-line blocking at the sender) and the receiver waits too.
 *
 * The decision, per chunk (the paper decides per segment):
 * 1. MinRTT base, with the shared usability and backup rules (view.ts): x_f is the eligible subflow with the
 *    lowest SRTT. If it has room, it gets the chunk: a fast idle path is always used.
 * 2. Otherwise x_s is the eligible subflow with room and the lowest SRTT. BLEST estimates the bytes x_f can
 *    send during one RTT_s, its window growing by one MSS per RTT (congestion avoidance):
 *        rtts = RTT_s / RTT_f
 *        X    = MSS_f * (CWND_f + (rtts - 1) / 2) * rtts               (paper, eq. 1; CWND_f in segments)
 *    (the sum of CWND_f, CWND_f + 1, ... over rtts rounds), and does not use x_s when
 *        X * lambda > |MPTCP_SW| - (inflight_s + 1) * MSS_s             (paper, eq. 2)
 *    i.e. when, with one more segment on x_s, the window x_s holds leaves x_f less than it would use.
 *    A chunk may be longer than a segment here, so eq. 2 is applied to the chunk's length c: x_s may take c
 *    bytes when lambda * X <= |MPTCP_SW| - held_s - c, so it gets at most
 *        budget = |MPTCP_SW| - held_s - lambda * X
 *    bytes, and BLEST waits (answers undefined) when the budget is less than one segment (MSS_s, or the
 *    pending bytes if fewer). With c = MSS_s this is eq. 2 exactly.
 *    - |MPTCP_SW| is `ConnectionView.sendWindowBytes`, the peer's whole connection-level window.
 *    - held_s is what x_s holds (in flight and queued on it; Linux counts write_seq - snd_una, the same),
 *      or, if larger, the data-level bytes outstanding that are not on x_f (outstanding - x_f's in flight
 *      and queued). With two subflows and no holes the two are equal and this is the paper's term; the
 *      second also counts bytes on a third, slower subflow and bytes delivered above a hole, which hold the
 *      window for as long (our extension, for more than two subflows).
 * 3. lambda corrects the estimate (the paper's adaptive scaling factor). It starts at 1.2 and stays within
 *    [1.0, 1.3]; at most once per RTT_s, when BLEST weighs x_s, it rises by 0.04 if the connection-level
 *    window blocked since the last update (`ConnectionView.sendWindowBlockedCount` grew: the estimate was too
 *    optimistic) and falls by 0.01 otherwise (use the slow path more). Linux raises it when it made an
 *    opportunistic reinjection, which it does when the connection-level window (or the send buffer) is
 *    full; it times the update by x_s's minimum SRTT where this uses x_s's current SRTT. Kept in
 *    thousandths so repeated steps stay exact.
 *
 * Without a `ConnectionView` (today's connection passes none) or before the first DATA_ACK (window
 * `Infinity`) nothing can block, and BLEST is the MinRTT scheduler. A window that is not a number counts as
 * none (BLEST then waits for x_f whenever x_f is full). Reinjections use the shared tiers (view.ts
 * `retransmitTarget`): they never wait. Each decision is three passes over the views (O(subflows)) and
 * allocates nothing but the decision.
 */
import type {
  ConnectionView,
  Micros,
  SchedulerParams,
  SchedulerPolicy,
  SendDecision,
  SubflowView,
} from './types.js';
import {
  MPTCP_SEND_BURST_SIZE,
  burstOf,
  decide,
  eligibilityOf,
  lowestSrttEligible,
  nonNegative,
  pendingOf,
  rankingSrttMicros,
  retransmitTarget,
  roomBytes,
} from './view.js';

/** lambda's start and bounds, and its steps per RTT_s, in thousandths (Linux `lambda`, `min_lambda`, ...). */
export const BLEST_LAMBDA = {
  initialMilli: 1200,
  minMilli: 1000,
  maxMilli: 1300,
  /** Subtracted after an RTT_s without window blocking (`dyn_lambda_good`). */
  goodStepMilli: 10,
  /** Added after an RTT_s in which the window blocked (`dyn_lambda_bad`). */
  badStepMilli: 40,
} as const;

/** The BLEST policy, with its current lambda readable (for tests and diagnostics). */
export interface BlestPolicy extends SchedulerPolicy {
  /** The current scaling factor lambda of eq. 2 (1.0 to 1.3). */
  readonly lambda: number;
}

/**
 * Eq. 1 and 2 for a chunk: how many bytes x_s (`slow`) may take now without, by the estimate, leaving x_f
 * (`fast`) short of connection-level window during one RTT_s. Negative or NaN means not even one byte.
 */
function blockingBudgetBytes(
  fast: SubflowView,
  slow: SubflowView,
  connection: ConnectionView,
  lambdaMilli: number,
): number {
  const window = connection.sendWindowBytes;
  if (window === Number.POSITIVE_INFINITY) return window;
  const rtts = rankingSrttMicros(slow) / rankingSrttMicros(fast);
  // X = MSS_f * (CWND_f + (rtts - 1) / 2) * rtts, with MSS_f * CWND_f = the window in bytes.
  const fastBytes = (nonNegative(fast.cwndBytes) + (nonNegative(fast.mss) * (rtts - 1)) / 2) * rtts;
  const slowHeld = nonNegative(slow.bytesInFlight) + nonNegative(slow.queuedBytes);
  const fastHeld = nonNegative(fast.bytesInFlight) + nonNegative(fast.queuedBytes);
  const held = Math.max(slowHeld, nonNegative(connection.outstandingBytes) - fastHeld);
  return nonNegative(window) - held - (lambdaMilli * fastBytes) / 1000;
}

/** Creates the "blest" scheduler (one per connection: lambda is per connection, as in Linux). */
export function createBlestScheduler(params: SchedulerParams = {}): BlestPolicy {
  const burstBytes = burstOf(params.burstBytes, MPTCP_SEND_BURST_SIZE);
  let lambdaMilli: number = BLEST_LAMBDA.initialMilli;
  let lastUpdate: Micros | undefined;
  let blockedSeen = 0;

  /** Step 3: at most once per RTT_s, up if the window blocked since the last step, else down. */
  function adaptLambda(now: Micros, slow: SubflowView, connection: ConnectionView): void {
    const blocked = connection.sendWindowBlockedCount;
    if (blocked === undefined || !Number.isFinite(blocked)) return;
    if (lastUpdate === undefined) {
      lastUpdate = now;
      blockedSeen = blocked;
      return;
    }
    if (!(now - lastUpdate >= rankingSrttMicros(slow))) return;
    lambdaMilli += blocked > blockedSeen ? BLEST_LAMBDA.badStepMilli : -BLEST_LAMBDA.goodStepMilli;
    lambdaMilli = Math.min(BLEST_LAMBDA.maxMilli, Math.max(BLEST_LAMBDA.minMilli, lambdaMilli));
    lastUpdate = now;
    blockedSeen = blocked;
  }

  return {
    name: 'blest',
    get lambda(): number {
      return lambdaMilli / 1000;
    },
    selectSend(now, views, pendingBytes, connection): SendDecision | undefined {
      const pending = pendingOf(pendingBytes);
      if (!(pending >= 1)) return undefined;
      const rule = eligibilityOf(views);
      const slow = lowestSrttEligible(views, rule, true);
      if (slow === undefined) return undefined;
      const fast = lowestSrttEligible(views, rule, false);
      if (fast === undefined || fast === slow || connection === undefined) return decide(slow, pending, burstBytes);
      adaptLambda(now, slow, connection);
      const budget = blockingBudgetBytes(fast, slow, connection, lambdaMilli);
      const segment = Math.min(Math.max(1, Math.floor(nonNegative(slow.mss))), pending, roomBytes(slow));
      if (!(budget >= segment)) return undefined;
      return decide(slow, pending, burstBytes, budget);
    },
    selectRetransmit(_now, views, request): SendDecision | undefined {
      const target = retransmitTarget(views, request.lostOn);
      return target === undefined ? undefined : decide(target, request.pendingBytes, burstBytes);
    },
  };
}
