/**
 * CUBIC congestion control, with optional HyStart++ for the initial slow start.
 *
 * Read before working on this file:
 * - RFC 9438 (CUBIC): 4.2 window increase function and `target`, 4.3 Reno-friendly region, 4.4/4.5 concave
 *   and convex regions, 4.6 multiplicative decrease, 4.7 fast convergence, 4.8 timeout, 4.10 slow start,
 *   5.8 application-limited flows;
 * - RFC 9406 (HyStart++): 4.2 the algorithm, 4.3 the constants;
 * - Linux net/ipv4/tcp_cubic.c, which this follows where the RFC leaves a choice (listed below).
 *
 * Units: the RFC works in segments and seconds, and so does this file internally (`*Segments` fields are
 * floating-point segments of the current MSS, times are seconds derived from the `now` microseconds the
 * sender passes in). `cwnd` and `ssthresh` are exposed in bytes, rounded to whole bytes.
 *
 * Choices where the RFC allows several, and what Linux does:
 * - ssthresh after a congestion event is `cwnd * beta`, not `flight_size * beta` (RFC 9438 4.6: "Some
 *   implementations of CUBIC currently use cwnd instead of flight_size"; Linux's bictcp_recalc_ssthresh).
 *   The RFC requires such implementations to stop cwnd growing when flight is below cwnd: `appLimited`
 *   ACKs never grow the window.
 * - The increment in the concave and convex regions is `(target - cwnd) / cwnd` per *segment* acknowledged
 *   (byte-counted), as Linux's `ca->cnt` accounting does, so stretch ACKs and delayed ACKs grow the window as
 *   much as per-segment ACKs. W_est is byte-counted as RFC 9438 Figure 4 says.
 * - The congestion-avoidance epoch starts at the first ACK in congestion avoidance after a reduction (Linux
 *   `epoch_start = 0` on every event, set again in bictcp_update), and time spent application-limited is cut
 *   out of `t` (RFC 9438 5.8; Linux shifts `epoch_start` by the idle time on CA_EVENT_TX_START).
 * - target is clamped to [cwnd, 1.5 * cwnd] (RFC 9438 4.2; Linux's `ca->cnt = max(ca->cnt, 2U)`, "cwnd grows
 *   at most 1.5x per RTT").
 * - When slow start crosses ssthresh the remaining acknowledged bytes count toward congestion avoidance
 *   (Linux tcp_slow_start returns them).
 * - An RTO during fast recovery, or a repeated RTO with no progress in between, keeps ssthresh (Linux
 *   tcp_enter_loss; RFC 5681 3.1 for the repeated case). After an RTO the next epoch uses K = 0 and W_max =
 *   cwnd at its start (RFC 9438 4.8; Linux clears last_max_cwnd when entering the Loss state).
 * - A W_max below cwnd_epoch gives a negative K (RFC 9438 Figure 2 taken literally); Linux instead restarts
 *   the curve at cwnd with K = 0. Both put cwnd_epoch on the convex side.
 * - Slow start is Reno's (RFC 3465 byte counting with L = 2 * SMSS per ACK, also inside HyStart++, where
 *   RFC 9406 would allow up to L = 8 for unpaced senders).
 * - HyStart++ rounds are counted in delivered bytes (a round ends once the bytes in flight when it began are
 *   acknowledged) rather than with SND.NXT, since the controller does not see sequence numbers.
 * - Undo of a spurious congestion event (RFC 9438 4.9, `onUndo`) restores cwnd, ssthresh, cwnd_prior, W_max,
 *   W_est, K and the epoch start saved at the reduction; cwnd and ssthresh never shrink on undo (Linux
 *   tcp_undo_cwnd_reduction).
 * Not implemented: ECN-specific reductions.
 */
import { HYSTART, HystartPlusPlus, type HystartPhase } from './hystart.js';
import { ABC_LIMIT_SEGMENTS, initialWindowBytes } from './reno.js';
import type {
  AckSample,
  CongestionControlFactory,
  CongestionControlParams,
  CongestionController,
  Micros,
} from './types.js';

export { HYSTART, type HystartPhase };

/** RFC 9438 5.1: "C SHOULD be set to 0.4" (segments per second cubed). */
export const CUBIC_C = 0.4;
/** RFC 9438 4.6: "Parameter beta_cubic SHOULD be set to 0.7". */
export const CUBIC_BETA = 0.7;
/** RFC 9438 4.3: alpha_cubic = 3 * (1 - beta_cubic) / (1 + beta_cubic) = 9/17 for beta = 0.7. */
export const CUBIC_ALPHA = (3 * (1 - CUBIC_BETA)) / (1 + CUBIC_BETA);

/** Switches for CUBIC's optional parts; every one defaults to on, like Linux's module parameters. */
export interface CubicOptions {
  /** HyStart++ (RFC 9406) in the initial slow start; off gives plain Reno slow start. Default true. */
  readonly hystart?: boolean;
  /** Fast convergence (RFC 9438 4.7; Linux `fast_convergence`). Default true. */
  readonly fastConvergence?: boolean;
  /** The Reno-friendly region (RFC 9438 4.3; Linux `tcp_friendliness`). Default true. */
  readonly renoFriendly?: boolean;
}

const MICROS_PER_SECOND = 1_000_000;

/** The CUBIC controller; `"cubic"` in the registry. */
export class CubicController implements CongestionController {
  readonly name: string = 'cubic';
  private mss: number;
  private readonly initialWindowSegments: number | undefined;
  private readonly fastConvergence: boolean;
  private readonly renoFriendly: boolean;

  private cwndSegments: number;
  private ssthreshSegments = Infinity;
  /** W_max; 0 means "unset": the next epoch takes cwnd_epoch with K = 0 (RFC 9438 4.8, 4.10). */
  private wMaxSegments = 0;
  /** cwnd_prior (RFC 9438 4.1.2): cwnd when ssthresh was last set, where alpha_cubic switches to 1. */
  private cwndPriorSegments = 0;
  /** W_est (RFC 9438 4.3). */
  private wEstSegments = 0;
  /** K in seconds, computed once per epoch. */
  private kSeconds = 0;
  /** t_epoch in microseconds, shifted forward over application-limited time; NaN: no epoch running. */
  private epochStartMicros = NaN;
  private lastAckMicros = NaN;

  /** Nothing but the initial window so far: an MSS change recomputes it. */
  private pristine = true;
  /** An RTO fired with no ACK progress since (a repeated RTO keeps ssthresh). */
  private timeoutPending = false;
  /** Between onCongestionEvent and the end of that recovery. */
  private recoveryPending = false;

  /** State before the latest reduction (RFC 9438 4.9 "*_prior" values), for onUndo; undefined: none. */
  private undoState:
    | {
        cwnd: number;
        ssthresh: number;
        wMax: number;
        cwndPrior: number;
        wEst: number;
        k: number;
        epochStart: number;
        hystart: HystartPhase;
      }
    | undefined = undefined;

  // HyStart++ state (RFC 9406 4.2), rounds counted in delivered bytes.
  private readonly hystartState: HystartPlusPlus;

  constructor(params: CongestionControlParams, options: CubicOptions = {}) {
    this.mss = params.mss;
    this.initialWindowSegments = params.initialWindowSegments;
    this.fastConvergence = options.fastConvergence ?? true;
    this.renoFriendly = options.renoFriendly ?? true;
    this.hystartState = new HystartPlusPlus(options.hystart ?? true);
    this.cwndSegments = initialWindowBytes(params.mss, params.initialWindowSegments) / params.mss;
  }

  get cwnd(): number {
    return Math.round(this.cwndSegments * this.mss);
  }

  get ssthresh(): number {
    return Math.round(this.ssthreshSegments * this.mss);
  }

  /** W_max in bytes (0 until the first congestion event, and after an RTO until the next epoch). */
  get wMax(): number {
    return this.wMaxSegments * this.mss;
  }

  /** K of the current epoch in seconds (RFC 9438 Figure 2); meaningful while an epoch runs. */
  get k(): number {
    return this.kSeconds;
  }

  /** W_est in bytes (RFC 9438 4.3); meaningful while an epoch runs. */
  get wEst(): number {
    return this.wEstSegments * this.mss;
  }

  /** Start of the current congestion-avoidance epoch (µs, shifted by application-limited time), or undefined. */
  get epochStart(): Micros | undefined {
    return Number.isNaN(this.epochStartMicros) ? undefined : this.epochStartMicros;
  }

  /** HyStart++ phase: standard slow start, Conservative Slow Start, or done (never enabled, or over). */
  get hystart(): HystartPhase {
    return this.hystartState.phase;
  }

  /** W_cubic(t) in bytes for `t` seconds into the current epoch (RFC 9438 Figure 1). */
  cubicWindowAt(tSeconds: number): number {
    const offset = tSeconds - this.kSeconds;
    return (CUBIC_C * offset * offset * offset + this.wMaxSegments) * this.mss;
  }

  onAck(now: Micros, sample: AckSample): void {
    const acked = sample.ackedBytes;
    if (!(acked > 0)) return;
    this.pristine = false;
    this.timeoutPending = false;
    if (!sample.inRecovery) this.recoveryPending = false;
    const previousAck = this.lastAckMicros;
    this.lastAckMicros = now;
    if (sample.inRecovery) return;
    if (sample.appLimited) {
      // RFC 9438 5.8: "t ... [must] not include application-limited periods"; the gap since the previous
      // ACK was one, so slide the epoch start over it. Nothing grows (RFC 7661 4.2).
      if (!Number.isNaN(this.epochStartMicros) && now > previousAck) {
        this.epochStartMicros = Math.min(now, this.epochStartMicros + (now - previousAck));
      }
      return;
    }
    const mss = this.mss;
    let avoidanceBytes = acked;
    if (this.cwndSegments < this.ssthreshSegments) {
      const hystart = this.hystartState;
      hystart.deliveredBytes += acked;
      let increase = Math.min(acked, ABC_LIMIT_SEGMENTS * mss) / mss;
      if (hystart.phase !== 'done') {
        if (hystart.phase === 'css') increase /= HYSTART.cssGrowthDivisor;
        if (hystart.onAck(sample, acked)) {
          // "If CSS_ROUNDS rounds are complete, enter congestion avoidance by setting the ssthresh to the
          // current cwnd." CUBIC then starts with W_max = cwnd, K = 0 (RFC 9438 4.10).
          this.ssthreshSegments = this.cwndSegments;
          this.cwndPriorSegments = this.cwndSegments;
          this.wMaxSegments = 0;
        }
      }
      if (this.cwndSegments + increase <= this.ssthreshSegments) {
        this.cwndSegments += increase;
        return;
      }
      avoidanceBytes = Math.max(0, acked - (this.ssthreshSegments - this.cwndSegments) * mss);
      this.cwndSegments = this.ssthreshSegments;
      if (avoidanceBytes === 0) return;
    }
    this.congestionAvoidance(now, sample, avoidanceBytes / mss);
  }

  onCongestionEvent(_now: Micros, _bytesInFlight: number): void {
    this.saveUndoState();
    this.pristine = false;
    this.recoveryPending = true;
    this.hystartState.phase = 'done';
    const cwnd = this.cwndSegments;
    // RFC 9438 4.7 fast convergence: a flow whose window stopped short of the previous W_max releases
    // bandwidth by remembering a lower maximum.
    this.wMaxSegments =
      this.fastConvergence && cwnd < this.wMaxSegments ? (cwnd * (1 + CUBIC_BETA)) / 2 : cwnd;
    this.cwndPriorSegments = cwnd;
    // RFC 9438 4.6: ssthresh = max(cwnd * beta_cubic, 2); on loss cwnd = max(ssthresh, 2).
    this.ssthreshSegments = Math.max(cwnd * CUBIC_BETA, 2);
    this.cwndSegments = this.ssthreshSegments;
    this.epochStartMicros = NaN;
  }

  onRecoveryEnd(_now: Micros): void {
    this.recoveryPending = false;
  }

  onRetransmissionTimeout(_now: Micros, _bytesInFlight: number): void {
    this.pristine = false;
    this.hystartState.phase = 'done';
    if (!this.timeoutPending && !this.recoveryPending) {
      this.saveUndoState();
      this.cwndPriorSegments = this.cwndSegments;
      this.ssthreshSegments = Math.max(this.cwndSegments * CUBIC_BETA, 2);
    }
    this.timeoutPending = true;
    this.recoveryPending = false;
    // RFC 9438 4.8: the first epoch after a timeout uses K = 0 and W_max = cwnd at its start.
    this.wMaxSegments = 0;
    this.cwndSegments = 1; // the loss window (RFC 5681 3.1)
    this.epochStartMicros = NaN;
  }

  onUndo(_now: Micros): void {
    const saved = this.undoState;
    if (saved === undefined) return;
    this.undoState = undefined;
    this.cwndSegments = Math.max(this.cwndSegments, saved.cwnd);
    this.ssthreshSegments = Math.max(this.ssthreshSegments, saved.ssthresh);
    this.wMaxSegments = saved.wMax;
    this.cwndPriorSegments = saved.cwndPrior;
    this.wEstSegments = saved.wEst;
    this.kSeconds = saved.k;
    this.epochStartMicros = saved.epochStart;
    this.hystartState.phase = saved.hystart;
    this.recoveryPending = false;
    this.timeoutPending = false;
  }

  private saveUndoState(): void {
    this.undoState = {
      cwnd: this.cwndSegments,
      ssthresh: this.ssthreshSegments,
      wMax: this.wMaxSegments,
      cwndPrior: this.cwndPriorSegments,
      wEst: this.wEstSegments,
      k: this.kSeconds,
      epochStart: this.epochStartMicros,
      hystart: this.hystartState.phase,
    };
  }

  setMss(mss: number): void {
    if (!(mss > 0) || mss === this.mss) return;
    // The window stays the same number of segments (Linux counts cwnd in packets); before any traffic the
    // initial window is recomputed since RFC 6928's IW depends on the MSS.
    if (this.pristine) this.cwndSegments = initialWindowBytes(mss, this.initialWindowSegments) / mss;
    this.mss = mss;
  }

  /** RFC 9438 4.2-4.5 for one ACK worth `ackedSegments` in congestion avoidance. */
  private congestionAvoidance(now: Micros, sample: AckSample, ackedSegments: number): void {
    if (Number.isNaN(this.epochStartMicros)) this.startEpoch(now);
    const cwnd = this.cwndSegments;
    const tSeconds = Math.max(0, now - this.epochStartMicros) / MICROS_PER_SECOND;
    const rttMicros = sample.srttMicros ?? sample.minRttMicros ?? sample.rttMicros ?? 0;

    if (this.renoFriendly) {
      // RFC 9438 Figure 4, with alpha_cubic = 1 once W_est reaches cwnd_prior.
      const alpha = this.wEstSegments >= this.cwndPriorSegments ? 1 : CUBIC_ALPHA;
      this.wEstSegments += (alpha * ackedSegments) / cwnd;
      const offset = tSeconds - this.kSeconds;
      const cubicNow = CUBIC_C * offset * offset * offset + this.wMaxSegments;
      if (cubicNow < this.wEstSegments) {
        // Reno-friendly region: "cwnd SHOULD be set to W_est at each reception of a new ACK".
        if (this.wEstSegments > cwnd) this.cwndSegments = this.wEstSegments;
        return;
      }
    }

    const offset = tSeconds + rttMicros / MICROS_PER_SECOND - this.kSeconds;
    let target = CUBIC_C * offset * offset * offset + this.wMaxSegments;
    if (target > 1.5 * cwnd) target = 1.5 * cwnd;
    if (target <= cwnd) return;
    // (target - cwnd) / cwnd per segment acked; a huge stretch ACK must not overshoot the target.
    const grown = cwnd + ((target - cwnd) / cwnd) * ackedSegments;
    this.cwndSegments = grown < target ? grown : target;
  }

  private startEpoch(now: Micros): void {
    const cwnd = this.cwndSegments;
    this.epochStartMicros = now;
    this.wEstSegments = cwnd;
    if (this.wMaxSegments === 0) {
      // After an RTO or a HyStart++ exit there is no W_max: start at the plateau (RFC 9438 4.8, 4.10).
      this.wMaxSegments = cwnd;
      if (this.cwndPriorSegments === 0) this.cwndPriorSegments = cwnd;
      this.kSeconds = 0;
    } else {
      this.kSeconds = Math.cbrt((this.wMaxSegments - cwnd) / CUBIC_C);
    }
  }
}

/** A factory for CUBIC with the given switches (register it under another name to compare variants). */
export function cubicFactory(options: CubicOptions = {}): CongestionControlFactory {
  return (params) => new CubicController(params, options);
}

/** Registry factory for `"cubic"`: every option on, as Linux's defaults. */
export const createCubic: CongestionControlFactory = cubicFactory();
