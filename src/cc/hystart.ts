/**
 * HyStart++ (RFC 9406): the initial slow start's exit on a rising round-trip time, with Conservative Slow
 * Start (CSS) before congestion avoidance. State of its own, driven by the controller that uses it (CUBIC
 * here; Linux's tcp_cubic.c keeps the same fields inside bictcp).
 *
 * Rounds are counted in delivered bytes (a round ends once the bytes in flight when it began are
 * acknowledged) rather than with SND.NXT, since a controller does not see sequence numbers.
 */
import type { AckSample } from './types.js';

/** RFC 9406 4.3 recommended constants. */
export const HYSTART = {
  minRttThreshMicros: 4_000,
  maxRttThreshMicros: 16_000,
  minRttDivisor: 8,
  nRttSample: 8,
  cssGrowthDivisor: 4,
  cssRounds: 5,
} as const;

/** Where HyStart++ has the connection. */
export type HystartPhase = 'slow-start' | 'css' | 'done';

/** One connection's HyStart++ state. */
export class HystartPlusPlus {
  /** Where the connection is; the controller sets 'done' on a congestion event and restores it on undo. */
  phase: HystartPhase;
  /** Bytes acknowledged in slow start so far; the controller adds each slow-start ACK's bytes. */
  deliveredBytes = 0;
  private roundEndDelivered = 0;
  private lastRoundMinRttMicros = Infinity;
  private currentRoundMinRttMicros = Infinity;
  private rttSampleCount = 0;
  private cssBaselineMinRttMicros = Infinity;
  private cssRoundCount = 0;

  /** Set by `slowStartAck`: that ACK completed CSS_ROUNDS rounds of CSS (the caller sets ssthresh = cwnd). */
  exited = false;

  constructor(enabled: boolean) {
    this.phase = enabled ? 'slow-start' : 'done';
  }

  /**
   * One slow-start ACK of a byte-counted controller (Reno and the coupled ones): counts its bytes, runs 4.2 and
   * returns `increase` as this ACK may grow the window, divided by CSS_GROWTH_DIVISOR in CSS and floored to a
   * whole byte. `exited` then says whether the caller enters congestion avoidance ("If CSS_ROUNDS rounds are
   * complete, enter congestion avoidance by setting the ssthresh to the current cwnd"). Off or over: `increase`.
   */
  slowStartAck(sample: AckSample, acked: number, increase: number): number {
    this.exited = false;
    if (this.phase === 'done') return increase;
    this.deliveredBytes += acked;
    const scaled = this.phase === 'css' ? Math.floor(increase / HYSTART.cssGrowthDivisor) : increase;
    this.exited = this.onAck(sample, acked);
    return scaled;
  }

  /**
   * RFC 9406 4.2, run on each ACK of the initial slow start (before the window grows, with the ACK's bytes
   * already in `deliveredBytes`). True when CSS_ROUNDS rounds of CSS are complete: the caller then enters
   * congestion avoidance (ssthresh = cwnd) and the phase is 'done'.
   */
  onAck(sample: AckSample, acked: number): boolean {
    if (this.deliveredBytes - acked >= this.roundEndDelivered) {
      // A new round: it ends when everything in flight after this ACK has been delivered.
      this.roundEndDelivered = this.deliveredBytes + Math.max(0, sample.priorInFlight - acked);
      this.lastRoundMinRttMicros = this.currentRoundMinRttMicros;
      this.currentRoundMinRttMicros = Infinity;
      this.rttSampleCount = 0;
      if (this.phase === 'css' && ++this.cssRoundCount >= HYSTART.cssRounds) {
        // "If CSS_ROUNDS rounds are complete, enter congestion avoidance": the caller does.
        this.phase = 'done';
        return true;
      }
    }
    const rtt = sample.rttMicros;
    if (rtt === undefined) return false;
    if (rtt < this.currentRoundMinRttMicros) this.currentRoundMinRttMicros = rtt;
    this.rttSampleCount++;
    if (this.rttSampleCount < HYSTART.nRttSample) return false;
    if (this.phase === 'slow-start') {
      if (this.currentRoundMinRttMicros === Infinity || this.lastRoundMinRttMicros === Infinity) return false;
      const threshold = Math.max(
        HYSTART.minRttThreshMicros,
        Math.min(this.lastRoundMinRttMicros / HYSTART.minRttDivisor, HYSTART.maxRttThreshMicros),
      );
      if (this.currentRoundMinRttMicros >= this.lastRoundMinRttMicros + threshold) {
        this.cssBaselineMinRttMicros = this.currentRoundMinRttMicros;
        this.cssRoundCount = 0;
        this.phase = 'css';
      }
    } else if (this.currentRoundMinRttMicros < this.cssBaselineMinRttMicros) {
      // The delay increase was spurious: back to standard slow start.
      this.cssBaselineMinRttMicros = Infinity;
      this.phase = 'slow-start';
    }
    return false;
  }
}
