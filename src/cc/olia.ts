/**
 * OLIA, the Opportunistic Linked-Increases Algorithm.
 *
 * Read before working on this file:
 * - R. Khalili, N. Gast, M. Popovic, J.-Y. Le Boudec, "MPTCP is not Pareto-optimal: performance issues and a
 *   possible solution", IEEE/ACM ToN 2013 (CoNEXT 2012), the definition of OLIA: for each ACK on path r
 *   increase w_r by
 *     (w_r / rtt_r^2) / (sum_p w_p / rtt_p)^2 + alpha_r / w_r,
 *   and halve w_r on each loss, where, with R the usable paths, M the paths with the largest window and B the
 *   presumably best paths (largest l_r / rtt_r^2, l_r the bytes delivered between the last two losses, or
 *   since the last loss if that is more),
 *     alpha_r = 1 / (|R| * |B \ M|)    if r is in B \ M,
 *     alpha_r = -1 / (|R| * |M|)       if r is in M and B \ M is not empty,
 *     alpha_r = 0                      otherwise;
 *   (also draft-khalili-mptcp-congestion-control, the same algorithm for implementers);
 * - Linux multipath-tcp/mptcp net/mptcp/mptcp_olia.c (mptcp_get_epsilon, mptcp_olia_cong_avoid,
 *   mptcp_olia_set_state), which this follows for l_r (updated at the entry to recovery or RTO, not for a
 *   repeated RTO) and for the ranking of B (l_r * rtt_best^2 compared with l_best * rtt_r^2);
 * - src/cc/coupled-controller.ts: slow start, recovery, RTO and the halving are Reno's.
 *
 * As implemented, in bytes: for `b` bytes acknowledged in congestion avoidance the window earns
 *   b * MSS_r * ((W_r / rtt_r^2) / (sum_p W_p / rtt_p)^2 + alpha_r / W_r)
 * bytes (the paper's per-packet increase times the packets acknowledged, b / MSS_r, with windows in bytes,
 * so the result is in bytes), accumulated in a signed credit and applied in whole segments as Linux's
 * mptcp_snd_cwnd_cnt does (+1 / -1 packet at +-1 packet of credit; here the remainder is kept). The first term
 * alone is at most Reno's b * MSS_r / W_r; alpha_r moves window from the largest-window paths to the best
 * ones, so a path in B \ M can grow faster than Reno and a path in M can shrink. Choices:
 * - The credit is per byte acknowledged (RFC 3465 byte counting; the paper's "for each ACK" means each packet
 *   acknowledged). Linux adds the per-ACK increase once per ACK whatever it covers, so delayed or stretch ACKs
 *   slow it down, and it drops the remainder whenever the window moves; here the remainder is kept.
 * - A shrinking window stays in congestion avoidance: ssthresh follows cwnd down (the paper's increase rule
 *   applies in avoidance; Linux's window would instead fall below ssthresh and slow-start back up at once),
 *   and never below 2 * MSS (RFC 5681's minimum ssthresh; Linux stops at 1 packet).
 * - |R| is the number of usable members (Linux uses the number of established subflows).
 * Alone (no group, or the only usable member) the controller is Reno exactly.
 */
import { COUPLED_SUM } from './coupled.js';
import { CoupledController, type CoupledOptions } from './coupled-controller.js';
import type { CongestionControlFactory, CongestionControlParams } from './types.js';

/** OLIA (Khalili et al.); `"olia"` in the registry. */
export class OliaController extends CoupledController {
  /** Signed window growth in bytes earned while coupled and not yet applied in whole segments. */
  private windowCredit = 0;

  constructor(params: CongestionControlParams, options: CoupledOptions = {}) {
    super('olia', params, options);
  }

  /** OLIA's alpha_r for this path now (0 when not coupled). */
  get alphaR(): number {
    if (!this.isCoupled) return 0;
    const denominator = this.alphaDenominator();
    return denominator === 0 ? 0 : 1 / denominator;
  }

  /** The window growth in bytes that `ackedBytes` acknowledged now in congestion avoidance earns (may be < 0). */
  increaseFor(ackedBytes: number): number {
    const cwnd = this.cwndBytes;
    if (!this.isCoupled) return (ackedBytes * this.mss) / cwnd;
    const rateSum = this.coupling!.group.sums[COUPLED_SUM.rateSum]!;
    const srtt = this.srttMicros;
    const linked = cwnd / (srtt * srtt) / (rateSum * rateSum);
    return ackedBytes * this.mss * (linked + this.alphaR / cwnd);
  }

  protected congestionAvoidance(avoidanceBytes: number): void {
    if (!this.isCoupled) {
      this.windowCredit = 0;
      this.growPerThreshold(this.cwndBytes);
      return;
    }
    this.bytesAckedInAvoidance = 0; // Reno's counter is not used while coupled
    const mss = this.mss;
    const cwnd = this.cwndBytes;
    // increaseFor, inline: only integers cross a call on the per-ACK path (see CoupledController).
    const rateSum = this.coupling!.group.sums[COUPLED_SUM.rateSum]!;
    const srtt = this.srttMicros;
    const denominator = this.alphaDenominator();
    const alphaOverCwnd = denominator === 0 ? 0 : 1 / (denominator * cwnd);
    const credit = this.windowCredit + avoidanceBytes * mss * (cwnd / (srtt * srtt) / (rateSum * rateSum) + alphaOverCwnd);
    if (credit >= mss) {
      const segments = Math.floor(credit / mss);
      this.cwndBytes += segments * mss;
      this.windowCredit = credit - segments * mss;
    } else if (credit <= -mss) {
      const segments = Math.floor(-credit / mss);
      this.windowCredit = credit + segments * mss;
      this.cwndBytes = Math.max(2 * mss, this.cwndBytes - segments * mss);
      if (this.cwndBytes < this.ssthreshBytes) this.ssthreshBytes = this.cwndBytes;
    } else {
      this.windowCredit = credit;
    }
  }

  /**
   * alpha_r as a signed integer d, alpha_r = 1 / d (0: alpha_r = 0): +|R| * |B \ M| on a best path outside M,
   * -|R| * |M| on a largest-window path when B \ M is not empty. Call only when coupled.
   */
  private alphaDenominator(): number {
    const coupling = this.coupling!;
    const group = coupling.group;
    const collected = group.bestNotMaxCwndCount;
    if (collected === 0) return 0;
    const paths = group.usableCount;
    if (coupling.cwnd === group.maxCwnd) return -paths * group.maxCwndCount;
    const srtt = coupling.srttMicros;
    // interLossMetric, inline (the same expression as the group's ranking, so equal paths compare equal).
    if (coupling.interLossBytes / (srtt * srtt) === group.sums[COUPLED_SUM.bestInterLossMetric]) return paths * collected;
    return 0;
  }

  protected override resetAvoidance(): void {
    super.resetAvoidance();
    this.windowCredit = 0;
  }
}

/** Registry factory for `"olia"`. */
export const createOlia: CongestionControlFactory = (params) => new OliaController(params);
