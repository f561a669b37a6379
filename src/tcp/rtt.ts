/**
 * Round-trip time estimation and the retransmission timeout, RFC 6298 (read sections 2 and 5).
 *
 * Linux-like bounds: RTO = max(rtoMin, SRTT + 4 * RTTVAR) clamped to rtoMax, with rtoMin 200 ms rather
 * than the RFC's 1 s ("RFC 6298 (2.4): Whenever RTO is computed, if it is less than 1 second, then the
 * RTO SHOULD be rounded up to 1 second" - Linux and this stack use 200 ms, configurable). Before the first
 * sample RTO is rtoInitial (1 s). Backoff ("5.5: set RTO <- RTO * 2") is kept as a shift so a new
 * sample ("Karn's algorithm": only from segments not retransmitted) restores the computed RTO.
 */
import type { Micros } from './types.js';

/** SRTT/RTTVAR/min-RTT and the (backed-off) RTO of one subflow. */
export class RttEstimator {
  /** Smoothed RTT in microseconds (fractional), undefined until the first sample. */
  srtt: number | undefined = undefined;
  /** RTT variation in microseconds (fractional). */
  rttvar: number | undefined = undefined;
  /** Smallest sample seen. */
  minRtt: Micros | undefined = undefined;
  /** Latest sample. */
  latest: Micros | undefined = undefined;
  /** The RTO without backoff. */
  baseRto: Micros;
  /** Exponential backoff exponent (number of consecutive timeouts). */
  backoff = 0;

  constructor(
    readonly rtoMin: Micros,
    readonly rtoMax: Micros,
    rtoInitial: Micros,
  ) {
    this.baseRto = rtoInitial;
  }

  /** The current RTO including backoff, clamped to rtoMax. */
  get rto(): Micros {
    const rto = this.baseRto * 2 ** this.backoff;
    return rto > this.rtoMax ? this.rtoMax : rto;
  }

  /** Feeds one RTT sample (RFC 6298 2.2 / 2.3) and clears the backoff. */
  sample(rtt: Micros): void {
    if (rtt < 0) rtt = 0;
    this.latest = rtt;
    if (this.minRtt === undefined || rtt < this.minRtt) this.minRtt = rtt;
    if (this.srtt === undefined || this.rttvar === undefined) {
      // (2.2) SRTT <- R, RTTVAR <- R/2
      this.srtt = rtt;
      this.rttvar = rtt / 2;
    } else {
      // (2.3) RTTVAR <- (1 - 1/4) * RTTVAR + 1/4 * |SRTT - R'|, then SRTT <- (1 - 1/8) * SRTT + 1/8 * R'
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - rtt);
      this.srtt = 0.875 * this.srtt + 0.125 * rtt;
    }
    const rto = Math.round(this.srtt + 4 * this.rttvar);
    this.baseRto = Math.min(this.rtoMax, Math.max(this.rtoMin, rto));
    this.backoff = 0;
  }

  /** RFC 6298 (5.5): back off the timer after a retransmission timeout. */
  backOff(): void {
    if (this.baseRto * 2 ** this.backoff < this.rtoMax) this.backoff++;
  }
}
