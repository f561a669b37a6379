/**
 * What LIA, OLIA and BALIA share: Reno everywhere except the congestion-avoidance increase (and, for BALIA,
 * the size of the decrease), plus publishing the subflow's state to its coupled group.
 *
 * Read before working on this file:
 * - RFC 6356 section 3: "The algorithm we present only applies to the increase phase of the congestion
 *   avoidance state ... The slow start, fast retransmit, and fast recovery algorithms, as well as the
 *   multiplicative decrease of the congestion avoidance state are the same as in standard TCP [RFC5681]."
 *   OLIA and BALIA say the same of slow start and recovery, and Linux's mptcp_coupled.c, mptcp_olia.c and
 *   mptcp_balia.c call tcp_slow_start and the Reno ssthresh (BALIA its own) in exactly those places;
 * - src/cc/reno.ts (RFC 5681 3.1, RFC 3465, RFC 6928, RFC 7661 4.2), whose behaviour this reproduces line
 *   for line: a controller without a group, or alone in its group, is Reno (tests check this);
 * - src/cc/coupled.ts for the group.
 *
 * Slow start adds HyStart++ (RFC 9406) by default, as CUBIC's does (src/cc/hystart.ts; `hystart: false` gives
 * the plain slow start of RFC 6356 and Linux's out-of-tree controllers). RFC 6356 leaves slow start to
 * "standard TCP", and RFC 9406 is a standard change to TCP's slow start for any window-based controller; it
 * keeps one path's slow start from overshooting its queue by the window that filled it, which with
 * uncoupled slow starts on every path costs a coupled connection losses on all of them at once (after them
 * every window regrows at the coupled, Reno-like rate, not CUBIC's). The coupled formulas are untouched: they
 * start at the exit, with ssthresh = cwnd. Reno with `hystart: true` is still what a lone coupled controller
 * is, event for event.
 *
 * Congestion avoidance keeps Reno's byte counter: subclasses say how many acknowledged bytes earn one MSS of
 * window (`threshold`; Reno: cwnd), which is RFC 6356 section 4's "cwnd_cnt_i > max(alpha_scale * cwnd_total
 * / alpha, cwnd_i)" in bytes, so the window stays a whole number of bytes and moves in whole segments in
 * avoidance, as Linux's packet-counted windows do.
 */
import type { CoupledSubflow } from './coupled.js';
import { HystartPlusPlus, type HystartPhase } from './hystart.js';
import { ABC_LIMIT_SEGMENTS, initialWindowBytes } from './reno.js';
import type { AckSample, CongestionControlParams, CongestionController, Micros } from './types.js';

/** Switches for the coupled controllers' optional parts. */
export interface CoupledOptions {
  /** HyStart++ (RFC 9406) in the initial slow start. Default true (as CUBIC's). */
  readonly hystart?: boolean;
}

/** The common machinery; see the file comment. Subclasses implement `congestionAvoidance`. */
export abstract class CoupledController implements CongestionController {
  readonly name: string;
  /** The subflow's slot in its connection's group, if coupled. */
  readonly coupling: CoupledSubflow | undefined;
  protected mss: number;
  protected cwndBytes: number;
  protected ssthreshBytes = Infinity;
  /** Bytes acknowledged in congestion avoidance not yet turned into window (RFC 3465 "bytes_acked"). */
  protected bytesAckedInAvoidance = 0;
  /** Latest smoothed RTT from the sender, µs; 0 until the first. */
  protected srttMicros = 0;
  /** Nothing happened yet but the initial window: an MSS change recomputes the IW. */
  private pristine = true;
  /** An RTO fired and no ACK has advanced since: a repeated RTO keeps ssthresh (RFC 5681 section 3.1). */
  private timeoutPending = false;
  /** Between onCongestionEvent and the end of that recovery. */
  private recoveryPending = false;
  private readonly initialWindowSegments: number | undefined;
  /** cwnd and ssthresh before the latest reduction, for onUndo (NaN: nothing to undo). */
  private priorCwndBytes = NaN;
  private priorSsthreshBytes = NaN;
  /** Bytes delivered (cumulatively or SACKed) since creation, and that count at the last two losses. */
  private deliveredBytes = 0;
  private lastLossDelivered = 0;
  private previousLossDelivered = 0;
  /** HyStart++ state (RFC 9406 4.2; phase 'done' from the start when the option is off). */
  private readonly hystartState: HystartPlusPlus;
  /** The HyStart++ phase before the latest reduction, for onUndo. */
  private priorHystartPhase: HystartPhase = 'done';

  protected constructor(name: string, params: CongestionControlParams, options: CoupledOptions = {}) {
    this.name = name;
    this.mss = params.mss;
    this.initialWindowSegments = params.initialWindowSegments;
    this.cwndBytes = initialWindowBytes(params.mss, params.initialWindowSegments);
    this.hystartState = new HystartPlusPlus(options.hystart ?? true);
    this.coupling = params.coupling;
    this.coupling?.attach(name);
    this.publish();
  }

  get cwnd(): number {
    return this.cwndBytes;
  }

  get ssthresh(): number {
    return this.ssthreshBytes;
  }

  /** HyStart++ phase: standard slow start, Conservative Slow Start, or done (never enabled, or over). */
  get hystart(): HystartPhase {
    return this.hystartState.phase;
  }

  /** Between a congestion event and the end of its recovery. */
  get inRecovery(): boolean {
    return this.recoveryPending;
  }

  /**
   * OLIA's l_r = max(l1r, l2r): bytes delivered between the last two losses (l1r) or since the last one (l2r);
   * before any loss, everything delivered. Kept by every coupled controller and published to the group.
   */
  get interLossBytes(): number {
    const sinceLast = this.deliveredBytes - this.lastLossDelivered;
    const between = this.lastLossDelivered - this.previousLossDelivered;
    return sinceLast > between ? sinceLast : between;
  }

  /**
   * True when the coupled formulas apply: this subflow and at least one sibling are usable. Otherwise the
   * controller is Reno (Linux: "Only one subflow left - fall back to normal reno-behavior").
   */
  protected get isCoupled(): boolean {
    const coupling = this.coupling;
    return coupling !== undefined && coupling.usable && coupling.group.usableCount > 1;
  }

  onAck(_now: Micros, sample: AckSample): void {
    const acked = sample.ackedBytes;
    if (acked <= 0) return;
    this.pristine = false;
    this.timeoutPending = false;
    if (!sample.inRecovery) this.recoveryPending = false;
    this.deliveredBytes += acked;
    const srtt = sample.srttMicros;
    if (srtt !== undefined && srtt > 0) this.srttMicros = srtt;
    // During recovery the sender manages the window; an application-limited sender has not shown that the
    // network can carry the current window (RFC 7661 section 4.2). Exactly Reno's rules.
    if (sample.inRecovery || sample.appLimited) {
      this.publish();
      return;
    }
    let avoidanceBytes = acked;
    if (this.cwndBytes < this.ssthreshBytes) {
      // Slow start is uncoupled (RFC 6356 section 3), with ABC's L = 2*SMSS (RFC 3465 section 2.3), and
      // HyStart++ (RFC 9406 4.2) exactly as Reno's option (src/cc/reno.ts).
      const increase = this.hystartState.slowStartAck(sample, acked, Math.min(acked, ABC_LIMIT_SEGMENTS * this.mss));
      if (this.hystartState.exited) this.ssthreshBytes = this.cwndBytes;
      if (this.cwndBytes + increase <= this.ssthreshBytes) {
        this.cwndBytes += increase;
        this.publish();
        return;
      }
      avoidanceBytes = acked - (this.ssthreshBytes - this.cwndBytes);
      this.cwndBytes = this.ssthreshBytes;
    }
    // The siblings must see this ACK's SRTT (and the window slow start just reached) before the formulas run.
    this.publish();
    this.bytesAckedInAvoidance += avoidanceBytes;
    this.congestionAvoidance(avoidanceBytes);
    this.publish();
  }

  onCongestionEvent(_now: Micros, bytesInFlight: number): void {
    this.pristine = false;
    this.markLoss();
    this.recoveryPending = true;
    this.priorCwndBytes = this.cwndBytes;
    this.priorSsthreshBytes = this.ssthreshBytes;
    this.priorHystartPhase = this.hystartState.phase;
    this.hystartState.phase = 'done';
    this.ssthreshBytes = this.reducedWindow(bytesInFlight);
    this.cwndBytes = this.ssthreshBytes;
    this.resetAvoidance();
    this.publish();
  }

  onRecoveryEnd(_now: Micros): void {
    this.recoveryPending = false;
    this.resetAvoidance();
    this.publish();
  }

  onRetransmissionTimeout(_now: Micros, bytesInFlight: number): void {
    this.pristine = false;
    // RFC 5681 section 3.1: a repeated RTO, or one during fast recovery, keeps the ssthresh already chosen
    // (Linux tcp_enter_loss); it is not a new loss for OLIA's l_r either (mptcp_olia_set_state skips it).
    if (!this.timeoutPending && !this.recoveryPending) {
      this.markLoss();
      this.priorCwndBytes = this.cwndBytes;
      this.priorSsthreshBytes = this.ssthreshBytes;
      this.priorHystartPhase = this.hystartState.phase;
      this.ssthreshBytes = this.reducedWindow(bytesInFlight);
    }
    this.hystartState.phase = 'done';
    this.timeoutPending = true;
    this.recoveryPending = false;
    this.cwndBytes = this.mss; // the loss window, LW = 1 SMSS
    this.resetAvoidance();
    this.publish();
  }

  onUndo(_now: Micros): void {
    if (Number.isNaN(this.priorCwndBytes)) return;
    // Linux tcp_undo_cwnd_reduction: never shrink on undo. The loss stays counted in l_r, as in Linux.
    this.cwndBytes = Math.max(this.cwndBytes, this.priorCwndBytes);
    this.ssthreshBytes = Math.max(this.ssthreshBytes, this.priorSsthreshBytes);
    this.hystartState.phase = this.priorHystartPhase;
    this.priorCwndBytes = NaN;
    this.priorSsthreshBytes = NaN;
    this.recoveryPending = false;
    this.timeoutPending = false;
    this.resetAvoidance();
    this.publish();
  }

  setMss(mss: number): void {
    if (!(mss > 0) || mss === this.mss) return;
    if (this.pristine) {
      this.cwndBytes = initialWindowBytes(mss, this.initialWindowSegments);
    } else {
      // Keep the window in segments, as Linux does (its cwnd is counted in packets).
      const scale = mss / this.mss;
      this.cwndBytes = Math.max(mss, Math.round(this.cwndBytes * scale));
      if (Number.isFinite(this.ssthreshBytes)) {
        this.ssthreshBytes = Math.max(2 * mss, Math.round(this.ssthreshBytes * scale));
      }
      this.resetAvoidance();
    }
    this.mss = mss;
    this.publish();
  }

  /**
   * Grows the window for `avoidanceBytes` newly acknowledged in congestion avoidance; those bytes have already
   * been added to `bytesAckedInAvoidance`. Called with the group's aggregates up to date with this ACK. This is
   * the per-ACK path: it reads the group's real-valued aggregates from `group.sums` and calls nothing that
   * returns a non-integer number (see "No allocation" in src/cc/coupled.ts).
   */
  protected abstract congestionAvoidance(avoidanceBytes: number): void;

  /** The ssthresh after a loss: RFC 5681 equation (4), max(FlightSize / 2, 2*SMSS). BALIA overrides it. */
  protected reducedWindow(bytesInFlight: number): number {
    return Math.max(Math.floor(bytesInFlight / 2), 2 * this.mss);
  }

  /** Forgets partial progress toward the next increase (at every reduction, as Reno). */
  protected resetAvoidance(): void {
    this.bytesAckedInAvoidance = 0;
  }

  /**
   * One MSS of window per `thresholdBytes` bytes acknowledged, remainder kept; with `thresholdBytes` = cwnd
   * this is Reno's counter exactly (a stretch ACK covering several thresholds grows once per threshold). The
   * counter holds whole bytes, so callers pass their real-valued threshold rounded to the nearest byte
   * (`Math.round`): half a byte in thousands, and a threshold that is mathematically 45000 but computed as
   * 45000.00000000001 (0.2 + 0.4 is not 0.6 in binary) does not cost an extra ACK. Rounding never takes a
   * threshold of at least cwnd, a whole number, below cwnd. (An integer argument is also never boxed.)
   */
  protected growPerThreshold(thresholdBytes: number): void {
    const threshold = thresholdBytes >= 1 ? thresholdBytes : 1;
    if (this.bytesAckedInAvoidance < threshold) return;
    const segments = Math.floor(this.bytesAckedInAvoidance / threshold);
    this.bytesAckedInAvoidance -= segments * threshold;
    this.cwndBytes += segments * this.mss;
  }

  /** Tells the group the current state (a no-op when nothing changed or there is no group). */
  protected publish(): void {
    this.coupling?.publish(this.cwndBytes, this.srttMicros, this.mss, this.recoveryPending, this.interLossBytes);
  }

  /** A new loss for l_r (Linux mptcp_olia_set_state: only if data was delivered since the previous one). */
  private markLoss(): void {
    if (this.deliveredBytes === this.lastLossDelivered) return;
    this.previousLossDelivered = this.lastLossDelivered;
    this.lastLossDelivered = this.deliveredBytes;
  }
}
