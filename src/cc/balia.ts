/**
 * BALIA, the Balanced Linked Adaptation algorithm.
 *
 * Read before working on this file:
 * - Q. Peng, A. Walid, J. Hwang, S. H. Low, "Multipath TCP: Analysis, Design, and Implementation", IEEE/ACM
 *   ToN 2016, the definition of Balia: with x_r = w_r / tau_r the rate of path r and
 *   alpha_r = max_k x_k / x_r,
 *     for each ACK on path r:  w_r += (x_r / (tau_r * (sum_k x_k)^2)) * ((1 + alpha_r) / 2) * ((4 + alpha_r) / 5),
 *     for each loss on path r: w_r -= (w_r / 2) * min(alpha_r, 1.5);
 *   (also draft-walid-mptcp-congestion-control, the same algorithm for implementers);
 * - Linux multipath-tcp/mptcp net/mptcp/mptcp_balia.c (mptcp_balia_recalc_ai, mptcp_balia_ssthresh): the
 *   increase as a counter threshold ai = (sum x)^2 * 10 * w_r / ((x_r + max x) * (4 x_r + max x)), the
 *   decrease through ssthresh, also on an RTO (tcp_enter_loss asks the same ssthresh function);
 * - src/cc/coupled-controller.ts: slow start, recovery and the RTO's loss window are Reno's.
 *
 * As implemented, in bytes (X_k = W_k / tau_k with windows in bytes and tau_k the SRTT): one MSS of window per
 *   threshold_r = 10 * tau_r^2 * (sum_k X_k)^2 / (W_r * (1 + alpha_r) * (4 + alpha_r))
 *               = 10 * W_r * (sum_k X_k)^2 / ((X_r + max X) * (4 X_r + max X))
 * bytes acknowledged in congestion avoidance: the paper's per-packet increase times the packets acknowledged
 * (b / MSS_r), and Linux's ai in bytes. It is never below W_r (never faster than Reno on the path): when r is
 * the fastest path the denominator is 10 X_r^2 <= 10 (sum X)^2, otherwise sum X >= X_r + max X and
 * 4 X_r + max X <= 4 (X_r + max X). On a loss
 *   ssthresh = max(FlightSize * (1 - min(alpha_r, 1.5) / 2), 2 * SMSS),
 * the paper's decrease applied to RFC 5681 equation (4)'s FlightSize as Reno does (w_r in the paper, cwnd in
 * Linux; the two agree when the sender is window-limited), with the real-valued alpha_r (Linux truncates
 * max_rate / rate to an integer, so it uses 1 for any alpha_r < 2), floored to a whole byte. Where Linux differs
 * otherwise: it counts ACKs, not segments acknowledged, toward ai (a delayed ACK counts once; here every byte
 * counts, RFC 3465), it recomputes ai only when a window or the CA state changes (here from the group's sums,
 * refreshed after any change, SRTT included), and its floor after a loss is 1 packet (here 2 * SMSS, RFC 5681
 * equation (4)). Alone (no group, or the only usable member) alpha_r = 1 and the controller is Reno exactly.
 */
import { COUPLED_SUM } from './coupled.js';
import { CoupledController, type CoupledOptions } from './coupled-controller.js';
import type { CongestionControlFactory, CongestionControlParams } from './types.js';

/** The cap on alpha_r in the decrease: "min(alpha_r, 1.5)". */
export const BALIA_DECREASE_ALPHA_CAP = 1.5;

/** Added before flooring the decreased window (bytes): far above rounding error, far below a byte. */
const FLOOR_SLACK_BYTES = 1e-6;

/** BALIA (Peng et al.); `"balia"` in the registry. */
export class BaliaController extends CoupledController {
  constructor(params: CongestionControlParams, options: CoupledOptions = {}) {
    super('balia', params, options);
  }

  /** alpha_r = max_k x_k / x_r for this path now (1 when not coupled). */
  get alphaR(): number {
    if (!this.isCoupled) return 1;
    const coupling = this.coupling!;
    return coupling.group.sums[COUPLED_SUM.maxRate]! / (coupling.cwnd / coupling.srttMicros);
  }

  /** Bytes to acknowledge in congestion avoidance for one MSS of growth now (Reno: cwnd), as a real number. */
  get avoidanceThreshold(): number {
    const cwnd = this.cwndBytes;
    if (!this.isCoupled) return cwnd;
    const sums = this.coupling!.group.sums;
    const rate = cwnd / this.srttMicros;
    const maxRate = sums[COUPLED_SUM.maxRate]!;
    const rateSum = sums[COUPLED_SUM.rateSum]!;
    return (10 * cwnd * rateSum * rateSum) / ((rate + maxRate) * (4 * rate + maxRate));
  }

  /** The increase for `ackedBytes` acknowledged now in congestion avoidance, in bytes (before whole segments). */
  increaseFor(ackedBytes: number): number {
    return (ackedBytes * this.mss) / this.avoidanceThreshold;
  }

  protected congestionAvoidance(_avoidanceBytes: number): void {
    const cwnd = this.cwndBytes;
    if (!this.isCoupled) {
      this.growPerThreshold(cwnd);
      return;
    }
    // avoidanceThreshold, inline and rounded: only integers cross a call on the per-ACK path.
    const sums = this.coupling!.group.sums;
    const rate = cwnd / this.srttMicros;
    const maxRate = sums[COUPLED_SUM.maxRate]!;
    const rateSum = sums[COUPLED_SUM.rateSum]!;
    this.growPerThreshold(Math.round((10 * cwnd * rateSum * rateSum) / ((rate + maxRate) * (4 * rate + maxRate))));
  }

  protected override reducedWindow(bytesInFlight: number): number {
    if (!this.isCoupled) return super.reducedWindow(bytesInFlight);
    const alpha = this.alphaR;
    const cut = alpha < BALIA_DECREASE_ALPHA_CAP ? alpha : BALIA_DECREASE_ALPHA_CAP;
    // Whole bytes, floored as Reno's FlightSize / 2 is; the millionth of a byte absorbs floating-point error, so
    // that 15000 * (1 - (4/3) / 2) is 5000 and not 4999.
    return Math.max(Math.floor(bytesInFlight * (1 - cut / 2) + FLOOR_SLACK_BYTES), 2 * this.mss);
  }
}

/** Registry factory for `"balia"`. */
export const createBalia: CongestionControlFactory = (params) => new BaliaController(params);
