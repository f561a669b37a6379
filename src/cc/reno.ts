/**
 * NewReno-style window management (the congestion-control half; loss recovery itself is the sender's).
 *
 * Read before working on this file:
 * - RFC 5681 (TCP Congestion Control): 3.1 slow start and congestion avoidance, equations (4) and (5);
 * - RFC 6928 (Increasing TCP's Initial Window): section 2, the initial window;
 * - RFC 3465 (Appropriate Byte Counting): section 2, slow start limit L = 2*SMSS per ACK;
 * - RFC 7661 (Congestion Window Validation) section 4.2: do not grow a window the sender is not using.
 *
 * The window is kept in bytes. Growth is byte-counted so it does not depend on how often the receiver
 * ACKs (delayed ACKs, stretch ACKs, SACK): slow start adds min(ackedBytes, 2*SMSS) per ACK; congestion
 * avoidance adds exactly one SMSS per cwnd bytes acknowledged (RFC 5681 section 3.1: "... cwnd += SMSS*SMSS/cwnd
 * ... [is] an acceptable way to ... increase cwnd by one full-sized segment per RTT"; the byte counter is
 * RFC 3465 section 2.1's exact form of it, as Linux's tcp_cong_avoid_ai does in segments).
 *
 * HyStart++ (RFC 9406) in the initial slow start is an option, off for `"reno"` (Linux's tcp_reno has none)
 * and on in the coupled controllers built on this behaviour (src/cc/coupled-controller.ts). With it, slow
 * start runs RFC 9406 section 4.2 on every slow-start ACK as CUBIC does (src/cc/hystart.ts): a round whose
 * minimum RTT rose by the threshold enters Conservative Slow Start (the increase divided by
 * CSS_GROWTH_DIVISOR, floored to a whole byte), and CSS_ROUNDS rounds of it end slow start (ssthresh = cwnd).
 * A congestion event or an RTO ends it too (the phase is 'done'; an undo restores the phase).
 */
import { HystartPlusPlus, type HystartPhase } from './hystart.js';
import type {
  AckSample,
  CongestionControlFactory,
  CongestionControlParams,
  CongestionController,
  Micros,
} from './types.js';

/** RFC 3465 section 2.3: "L = 2*SMSS bytes" is the slow-start increase limit per ACK. */
export const ABC_LIMIT_SEGMENTS = 2;

/** Switches for Reno's optional parts. */
export interface RenoOptions {
  /** HyStart++ (RFC 9406) in the initial slow start. Default false (Linux's reno has none). */
  readonly hystart?: boolean;
}

/**
 * The initial window in bytes. With `initialWindowSegments` given it is that many segments (like Linux's
 * `initcwnd` route option); otherwise RFC 6928 section 2: "IW = min (10*MSS, max (2*MSS, 14600))".
 */
export function initialWindowBytes(mss: number, initialWindowSegments?: number): number {
  if (initialWindowSegments !== undefined) return Math.max(1, initialWindowSegments) * mss;
  return Math.min(10 * mss, Math.max(2 * mss, 14600));
}

/**
 * Reno congestion control: slow start with ABC, additive increase, halving on loss, loss window after an
 * RTO. Used directly (`"reno"`) and as the reference the other controllers are compared to.
 */
export class RenoController implements CongestionController {
  readonly name: string = 'reno';
  private mss: number;
  private cwndBytes: number;
  private ssthreshBytes = Infinity;
  /** Bytes acknowledged in congestion avoidance since cwnd last grew (RFC 3465 "bytes_acked"). */
  private bytesAckedInAvoidance = 0;
  /** Nothing happened yet but the initial window: an MSS change recomputes the IW. */
  private pristine = true;
  /** An RTO fired and no ACK has advanced since: a repeated RTO keeps ssthresh (RFC 5681 section 3.1). */
  private timeoutPending = false;
  /** Between onCongestionEvent and the end of that recovery: an RTO keeps the ssthresh recovery set. */
  private recoveryPending = false;
  private readonly initialWindowSegments: number | undefined;
  /** cwnd and ssthresh before the latest reduction, for onUndo (NaN: nothing to undo). */
  private priorCwndBytes = NaN;
  private priorSsthreshBytes = NaN;
  /** HyStart++ state (RFC 9406 4.2; phase 'done' from the start when the option is off). */
  private readonly hystartState: HystartPlusPlus;
  /** The HyStart++ phase before the latest reduction, for onUndo. */
  private priorHystartPhase: HystartPhase = 'done';

  constructor(params: CongestionControlParams, options: RenoOptions = {}) {
    this.mss = params.mss;
    this.initialWindowSegments = params.initialWindowSegments;
    this.cwndBytes = initialWindowBytes(params.mss, params.initialWindowSegments);
    this.hystartState = new HystartPlusPlus(options.hystart ?? false);
  }

  /** HyStart++ phase: standard slow start, Conservative Slow Start, or done (never enabled, or over). */
  get hystart(): HystartPhase {
    return this.hystartState.phase;
  }

  get cwnd(): number {
    return this.cwndBytes;
  }

  get ssthresh(): number {
    return this.ssthreshBytes;
  }

  onAck(_now: Micros, sample: AckSample): void {
    const acked = sample.ackedBytes;
    if (acked <= 0) return;
    this.pristine = false;
    this.timeoutPending = false;
    if (!sample.inRecovery) this.recoveryPending = false;
    // During recovery the sender manages the window (cwnd stays at ssthresh); an application-limited
    // sender has not shown that the network can carry the current window (RFC 7661 section 4.2).
    if (sample.inRecovery || sample.appLimited) return;
    let avoidanceBytes = acked;
    if (this.cwndBytes < this.ssthreshBytes) {
      const increase = this.hystartState.slowStartAck(sample, acked, Math.min(acked, ABC_LIMIT_SEGMENTS * this.mss));
      if (this.hystartState.exited) this.ssthreshBytes = this.cwndBytes;
      if (this.cwndBytes + increase <= this.ssthreshBytes) {
        this.cwndBytes += increase;
        return;
      }
      // Crossing ssthresh: the rest of this ACK counts toward congestion avoidance (Linux tcp_slow_start).
      avoidanceBytes = acked - (this.ssthreshBytes - this.cwndBytes);
      this.cwndBytes = this.ssthreshBytes;
    }
    this.bytesAckedInAvoidance += avoidanceBytes;
    if (this.bytesAckedInAvoidance >= this.cwndBytes) {
      // A stretch ACK may cover several windows' worth; grow once per full window, keep the remainder.
      const windows = Math.floor(this.bytesAckedInAvoidance / this.cwndBytes);
      this.bytesAckedInAvoidance -= windows * this.cwndBytes;
      this.cwndBytes += windows * this.mss;
    }
  }

  onCongestionEvent(_now: Micros, bytesInFlight: number): void {
    // RFC 5681 equation (4): ssthresh = max (FlightSize / 2, 2*SMSS); the sender does the inflation.
    this.pristine = false;
    this.recoveryPending = true;
    this.priorCwndBytes = this.cwndBytes;
    this.priorSsthreshBytes = this.ssthreshBytes;
    this.priorHystartPhase = this.hystartState.phase;
    this.hystartState.phase = 'done';
    this.ssthreshBytes = this.halvedFlight(bytesInFlight);
    this.cwndBytes = this.ssthreshBytes;
    this.bytesAckedInAvoidance = 0;
  }

  onRecoveryEnd(_now: Micros): void {
    // cwnd already sits at ssthresh (RFC 6582 section 3.2 step 3 "full acknowledgment" deflation).
    this.recoveryPending = false;
    this.bytesAckedInAvoidance = 0;
  }

  onRetransmissionTimeout(_now: Micros, bytesInFlight: number): void {
    this.pristine = false;
    // RFC 5681 section 3.1: "... when a TCP sender detects segment loss using the retransmission timer and
    // the given segment has already been retransmitted by way of the retransmission timer at least once,
    // the value of ssthresh is held constant." Likewise an RTO during fast recovery keeps the ssthresh the
    // recovery set (Linux tcp_enter_loss recomputes it only outside Recovery/Loss).
    if (!this.timeoutPending && !this.recoveryPending) {
      this.priorCwndBytes = this.cwndBytes;
      this.priorSsthreshBytes = this.ssthreshBytes;
      this.priorHystartPhase = this.hystartState.phase;
      this.ssthreshBytes = this.halvedFlight(bytesInFlight);
    }
    this.hystartState.phase = 'done';
    this.timeoutPending = true;
    this.recoveryPending = false;
    this.cwndBytes = this.mss; // the loss window, LW = 1 SMSS
    this.bytesAckedInAvoidance = 0;
  }

  onUndo(_now: Micros): void {
    if (Number.isNaN(this.priorCwndBytes)) return;
    // Linux tcp_undo_cwnd_reduction with tcp_reno_undo_cwnd: never shrink on undo.
    this.cwndBytes = Math.max(this.cwndBytes, this.priorCwndBytes);
    this.ssthreshBytes = Math.max(this.ssthreshBytes, this.priorSsthreshBytes);
    this.hystartState.phase = this.priorHystartPhase;
    this.priorCwndBytes = NaN;
    this.priorSsthreshBytes = NaN;
    this.recoveryPending = false;
    this.timeoutPending = false;
    this.bytesAckedInAvoidance = 0;
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
      this.bytesAckedInAvoidance = 0;
    }
    this.mss = mss;
  }

  private halvedFlight(bytesInFlight: number): number {
    return Math.max(Math.floor(bytesInFlight / 2), 2 * this.mss);
  }
}

/** Registry factory for `"reno"`. */
export const createReno: CongestionControlFactory = (params) => new RenoController(params);

/** A factory for Reno with the given switches (register it under another name to compare variants). */
export function renoFactory(options: RenoOptions = {}): CongestionControlFactory {
  return (params) => new RenoController(params, options);
}
