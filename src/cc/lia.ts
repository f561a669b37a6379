/**
 * LIA, the Linked Increases Algorithm of RFC 6356 ("coupled" in Linux's out-of-tree MPTCP).
 *
 * Read before working on this file:
 * - RFC 6356 section 2: the three goals (1: do at least as well as a single path flow on the best path;
 *   2: take no more from a shared resource than a single flow would; 3: move traffic off the most congested
 *   paths);
 * - RFC 6356 section 3: equation (1), for each ACK on subflow i in congestion avoidance increase cwnd_i by
 *     min(alpha * bytes_acked * MSS_i / cwnd_total, bytes_acked * MSS_i / cwnd_i),
 *   and equation (2),
 *     alpha = cwnd_total * max_i(cwnd_i / rtt_i^2) / (sum_i cwnd_i / rtt_i)^2;
 *   everything else (slow start, fast retransmit and recovery, halving on loss) is standard TCP;
 * - RFC 6356 section 4: alpha is a ratio that need only be recomputed when the windows change, integer
 *   implementations scale it (alpha_scale), and an implementation counting whole segments grows cwnd_i by one
 *   when cwnd_cnt_i exceeds max(alpha_scale * cwnd_total / alpha, cwnd_i);
 * - Linux multipath-tcp/mptcp net/mptcp/mptcp_coupled.c (mptcp_ccc_recalc_alpha, mptcp_ccc_cong_avoid).
 *
 * As implemented: both terms of equation (1) are per byte acknowledged, so one MSS of window is earned per
 *   threshold_i = max(cwnd_total / alpha, cwnd_i) = max((sum_k cwnd_k / rtt_k)^2 / max_k(cwnd_k / rtt_k^2), cwnd_i)
 * bytes acknowledged (section 4's counter, in bytes; the second argument is Reno's own counter, so a subflow is
 * never more aggressive than TCP on its path). cwnd_total / alpha is computed from the group's cached sums,
 * refreshed when any member's window or SRTT changed. Windows are in bytes and rtt_i is the subflow's SRTT, as
 * in Linux; alpha does not depend on the unit of either (section 4). Alone (no group, or the only usable
 * member) the threshold is cwnd_i exactly: Reno.
 */
import { COUPLED_SUM } from './coupled.js';
import { CoupledController, type CoupledOptions } from './coupled-controller.js';
import type { CongestionControlFactory, CongestionControlParams } from './types.js';

/** RFC 6356 LIA; `"lia"` in the registry. */
export class LiaController extends CoupledController {
  constructor(params: CongestionControlParams, options: CoupledOptions = {}) {
    super('lia', params, options);
  }

  /**
   * RFC 6356 equation (2)'s alpha for the current windows and SRTTs of the group; 1 when not coupled (a single
   * path: equation (1)'s first term is then Reno's).
   */
  get alpha(): number {
    if (!this.isCoupled) return 1;
    const group = this.coupling!.group;
    const sums = group.sums;
    const rateSum = sums[COUPLED_SUM.rateSum]!;
    return (group.cwndTotal * sums[COUPLED_SUM.maxCwndOverSrttSquared]!) / (rateSum * rateSum);
  }

  /**
   * Bytes to acknowledge in congestion avoidance for one MSS of growth now, max(cwnd_total / alpha, cwnd_i), as
   * a real number (the window grows after this many bytes rounded to the nearest byte).
   */
  get avoidanceThreshold(): number {
    const cwnd = this.cwndBytes;
    if (!this.isCoupled) return cwnd;
    const totalOverAlpha = cwndTotalOverAlpha(this.coupling!.group.sums);
    return totalOverAlpha > cwnd ? totalOverAlpha : cwnd;
  }

  /** Equation (1) for `ackedBytes` acknowledged now in congestion avoidance, in bytes (before whole segments). */
  increaseFor(ackedBytes: number): number {
    return (ackedBytes * this.mss) / this.avoidanceThreshold;
  }

  protected congestionAvoidance(_avoidanceBytes: number): void {
    const cwnd = this.cwndBytes;
    if (!this.isCoupled) {
      this.growPerThreshold(cwnd);
      return;
    }
    // avoidanceThreshold, inline and rounded: only integers cross the call (see CoupledController).
    const sums = this.coupling!.group.sums;
    const rateSum = sums[COUPLED_SUM.rateSum]!;
    const totalOverAlpha = Math.round((rateSum * rateSum) / sums[COUPLED_SUM.maxCwndOverSrttSquared]!);
    this.growPerThreshold(totalOverAlpha > cwnd ? totalOverAlpha : cwnd);
  }
}

/** cwnd_total / alpha = (sum_i cwnd_i / rtt_i)^2 / max_i(cwnd_i / rtt_i^2), bytes (equation (2) inverted). */
function cwndTotalOverAlpha(sums: Readonly<Float64Array>): number {
  const rateSum = sums[COUPLED_SUM.rateSum]!;
  return (rateSum * rateSum) / sums[COUPLED_SUM.maxCwndOverSrttSquared]!;
}

/** Registry factory for `"lia"`. */
export const createLia: CongestionControlFactory = (params) => new LiaController(params);
