/**
 * Congestion control behind one small interface and a registry by name (STYLE.md 10; ARCHITECTURE.md
 * "Policies"). A controller belongs to one subflow; it sees ACK progress, congestion events and timeouts,
 * and exposes the congestion window in bytes. Sans-IO: `now` is passed in (integer microseconds).
 *
 * Call order, from the TCP sender:
 * - `onAck` for every ACK that advances SND.UNA (cumulatively or, with SACK, newly SACKed bytes), outside
 *   and inside recovery (controllers ignore growth during recovery themselves, via `inRecovery`);
 * - `onCongestionEvent` once when loss recovery starts (fast retransmit; RFC 5681 section 3.2, RFC 6675);
 * - `onRecoveryEnd` when recovery completes (SND.UNA passes the recovery point);
 * - `onRetransmissionTimeout` when the RTO fires (cwnd to the loss window, RFC 5681 section 3.1);
 * - `onUndo` (optional) when the sender finds that the reduction of the latest congestion episode (the last
 *   `onCongestionEvent` or first `onRetransmissionTimeout` of a run) was spurious: D-SACKs reported every
 *   retransmission as a duplicate (RFC 2883 section 5, RFC 3708) or the timestamps show the original was
 *   delivered (Eifel, RFC 3522). The controller restores the state it had before that reduction (RFC 9438
 *   section 4.9; Linux `tcp_undo_cwnd_reduction`: cwnd = max(cwnd, prior cwnd), ssthresh = max(ssthresh,
 *   prior ssthresh)). Controllers without it simply keep the reduced window.
 * Coupled controllers (LIA/OLIA/BALIA) see their sibling subflows through `CongestionControlParams.coupling`
 * (src/cc/coupled.ts); every other controller ignores it.
 */

import type { Micros } from '../time/micros.js';
import type { CoupledSubflow } from './coupled.js';
/** Re-exported: the project's one time type (src/time/micros.ts). */
export type { Micros };

/** What a controller is told about one ACK. */
export interface AckSample {
  /** Bytes newly acknowledged (cumulatively or by SACK) by this ACK. */
  readonly ackedBytes: number;
  /** Bytes in flight before this ACK was processed. */
  readonly priorInFlight: number;
  /** An RTT sample taken from this ACK (Karn's rule applied), if any. */
  readonly rttMicros?: Micros;
  /** The smoothed RTT (RFC 6298 SRTT) after this ACK, if known. */
  readonly srttMicros?: Micros;
  /** The minimum RTT seen on the path, if known. */
  readonly minRttMicros?: Micros;
  /** True when the sender was application-limited before this ACK (cwnd was not the limit). */
  readonly appLimited: boolean;
  /** True while in fast recovery. */
  readonly inRecovery: boolean;
}

/** One subflow's congestion controller. */
export interface CongestionController {
  /** Registry name, e.g. "reno", "cubic". */
  readonly name: string;
  /** Congestion window in bytes. */
  readonly cwnd: number;
  /** Slow-start threshold in bytes (Infinity until the first congestion event). */
  readonly ssthresh: number;
  onAck(now: Micros, sample: AckSample): void;
  /** Loss detected by duplicate ACKs / SACK: reduce once per recovery episode. */
  onCongestionEvent(now: Micros, bytesInFlight: number): void;
  onRecoveryEnd(now: Micros): void;
  onRetransmissionTimeout(now: Micros, bytesInFlight: number): void;
  /** The latest congestion reduction was spurious: restore the state from before it (see the file comment). */
  onUndo?(now: Micros): void;
  /** The sender's MSS changed (e.g. after the handshake). */
  setMss(mss: number): void;
}

/** What a controller is created with. */
export interface CongestionControlParams {
  /** Sender maximum segment size in bytes. */
  readonly mss: number;
  /** Initial window in segments; default 10 (RFC 6928). */
  readonly initialWindowSegments?: number;
  readonly now: Micros;
  /**
   * This subflow's slot in its MPTCP connection's `CoupledGroup` (from `group.join()`), for the coupled
   * controllers "lia", "olia" and "balia"; without it they behave as Reno on one path. Others ignore it.
   */
  readonly coupling?: CoupledSubflow;
}

export type CongestionControlFactory = (params: CongestionControlParams) => CongestionController;
