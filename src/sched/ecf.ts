/**
 * The "ecf" scheduler: Earliest Completion First. Read first: Y. Lim, E. Nahum, D. Towsley, R. Gibbens,
 * "ECF: An MPTCP Path Scheduler to Manage Heterogeneous Paths", CoNEXT 2017, section 4 (the algorithm and
 * its two inequalities). The constants and the "at least one round" reading of k / CWND are those of the
 * authors' out-of-tree Linux implementation (multipath-tcp/mptcp, net/mptcp/mptcp_ecf.c, "ecf"); the code
 * here is written from the inequalities.
 *
 * The problem it solves: when the fastest subflow x_f is busy, MinRTT sends on a slower one even when
 * waiting for x_f would deliver the remaining data sooner; with little data left (the end of a web object,
 * a video chunk) the slow path then decides the completion time.
 *
 * The decision, per chunk (the paper decides per segment). With the shared usability and backup rules
 * (view.ts): x_f is the eligible subflow with the lowest SRTT; if it has room it gets the chunk. Otherwise
 * x_s is the eligible subflow with room and the lowest SRTT, k the bytes waiting at the connection level
 * (`ConnectionView.unsentBytes`, else the pending bytes), delta = max(sigma_f, sigma_s), the larger RTT
 * variation (RFC 6298 RTTVAR, `SubflowView.rttvarMicros`; 0 when unknown), and
 *   n = 1 + k / CWND_f                          rounds on x_f: its current window drains, then k / CWND_f more
 *   if n * RTT_f < (1 + waiting * beta) * (RTT_s + delta):           waiting for x_f finishes first, unless
 *     if (k / CWND_s) * RTT_s >= 2 * RTT_f + delta:                  x_s is not really slower:
 *       waiting = 1; wait (answer undefined)
 *     else: use x_s
 *   else: waiting = 0; use x_s
 * k / CWND counts at least one round (Linux: "at least one time tx over fastest subflow is required"): with
 * less than a window of data left, the paper's ratio would otherwise send a last segment on a path ten
 * times slower than one about to free up. beta = 1/4 is the hysteresis (Linux `mptcp_ecf_r_beta` = 4): once
 * ECF has chosen to wait, waiting must look 25% worse than x_s before x_s is used again. CWND and k are in
 * bytes (the paper's packets times MSS; the ratios are the same). delta: the paper's sigma is the RTT's
 * standard deviation; the estimate TCP keeps is RTTVAR (a mean deviation, about 0.8 sigma for normal
 * noise), used as is. Linux takes rttvar_us >> 1, about 2 x RTTVAR with its scaling, so Linux's ECF waits
 * a little more often when RTTs are jittery; with steady RTTs the two agree.
 *
 * Per chunk: after a chunk of c bytes, k is smaller, so per-segment ECF may switch to waiting within what
 * one chunk would carry. A chunk on x_s is therefore cut where that would happen: with waiting = 0, the
 * first test holds exactly for k' < (T - 1) * CWND_f with T = (RTT_s + delta) / RTT_f (never if T <= 2), and
 * the second exactly for k' >= U * CWND_s with U = (2 RTT_f + delta) / RTT_s (always if U <= 1); per-segment
 * ECF keeps using x_s down to the first threshold and waits below it unless the second test fails there
 * too. So x_s gets k - (T - 1) * CWND_f bytes (at least one segment), or no cut when the two thresholds
 * never overlap; when the first test holds but the second fails, every smaller k fails it too: no cut.
 *
 * Without a `ConnectionView` (today's connection passes none) k is the pending bytes, which the connection
 * bounds by the peer's window: ECF then waits a little more often near the window's edge. Reinjections use
 * the shared tiers (view.ts `retransmitTarget`): they never wait. Each decision is three passes over the
 * views (O(subflows)) and allocates nothing but the decision.
 */
import type { SchedulerParams, SchedulerPolicy, SendDecision } from './types.js';
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
} from './view.js';

/**
 * The hysteresis beta: once ECF waits, x_s is used again only when waiting for x_f would take more than
 * (1 + beta) times x_s's completion time, not merely more.
 */
export const ECF_BETA = 0.25;

/** The ECF policy, with its hysteresis state readable (for tests and diagnostics). */
export interface EcfPolicy extends SchedulerPolicy {
  /** The paper's `waiting`: the last comparison chose to wait for x_f (so beta applies to the next one). */
  readonly waiting: boolean;
}

/** Creates the "ecf" scheduler (one per connection: `waiting` is per connection, as in Linux). */
export function createEcfScheduler(params: SchedulerParams = {}): EcfPolicy {
  const burstBytes = burstOf(params.burstBytes, MPTCP_SEND_BURST_SIZE);
  let waiting = false;
  return {
    name: 'ecf',
    get waiting(): boolean {
      return waiting;
    },
    selectSend(_now, views, pendingBytes, connection): SendDecision | undefined {
      const pending = pendingOf(pendingBytes);
      if (!(pending >= 1)) return undefined;
      const rule = eligibilityOf(views);
      const slow = lowestSrttEligible(views, rule, true);
      if (slow === undefined) return undefined;
      const fast = lowestSrttEligible(views, rule, false);
      if (fast === undefined || fast === slow) return decide(slow, pending, burstBytes);
      const cwndFast = nonNegative(fast.cwndBytes);
      const cwndSlow = nonNegative(slow.cwndBytes);
      // A fastest path with no window at all will not free up: nothing to wait for.
      if (cwndFast <= 0 || cwndSlow <= 0) return decide(slow, pending, burstBytes);
      const k = Math.max(pending, nonNegative(connection?.unsentBytes));
      const rttFast = rankingSrttMicros(fast);
      const rttSlow = rankingSrttMicros(slow);
      const delta = Math.max(nonNegative(fast.rttvarMicros), nonNegative(slow.rttvarMicros));
      const fastRounds = 1 + Math.max(1, k / cwndFast);
      if (fastRounds * rttFast < (1 + (waiting ? ECF_BETA : 0)) * (rttSlow + delta)) {
        if (Math.max(1, k / cwndSlow) * rttSlow >= 2 * rttFast + delta) {
          waiting = true;
          return undefined;
        }
        return decide(slow, pending, burstBytes);
      }
      waiting = false;
      // Where per-segment ECF (now with waiting = 0) would start waiting: see the file comment.
      const t = (rttSlow + delta) / rttFast;
      const u = (2 * rttFast + delta) / rttSlow;
      const waitBelow = t <= 2 ? 0 : (t - 1) * cwndFast;
      const slowerFrom = u <= 1 ? 0 : u * cwndSlow;
      if (slowerFrom >= waitBelow) return decide(slow, pending, burstBytes);
      const segment = Math.max(1, Math.floor(nonNegative(slow.mss)));
      return decide(slow, pending, burstBytes, Math.max(k - waitBelow, segment));
    },
    selectRetransmit(_now, views, request): SendDecision | undefined {
      const target = retransmitTarget(views, request.lostOn);
      return target === undefined ? undefined : decide(target, request.pendingBytes, burstBytes);
    },
  };
}
