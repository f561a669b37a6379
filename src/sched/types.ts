/**
 * Packet schedulers behind one small interface and a registry by name (STYLE.md 10; ARCHITECTURE.md
 * "Policies"). Read first: RFC 8684 section 3.3.8 ("Use of Backup Subflows"): "a subflow with the B flag
 * set ... should only be used if there are no other (non-backup) subflows available"; and Linux
 * net/mptcp/protocol.c `mptcp_subflow_get_send` / `mptcp_subflow_get_retrans`, net/mptcp/sched.c
 * (`struct mptcp_sched_ops`, the "default" scheduler).
 *
 * A scheduler decides which subflow carries the next chunk of data-level bytes. It is pure and sans-IO:
 * it never reads a clock or touches a subflow; the connection hands it a read-only snapshot
 * (`SubflowView`) of every subflow, and `now`. Schedulers may keep private state (round-robin's position),
 * updated only from their own calls and hooks.
 *
 * Call order, from the connection:
 * - `onSubflowAdded` when a subflow joins the connection (before it is established is fine);
 * - `selectSend` whenever data-level bytes wait to be sent, repeatedly until it answers `undefined`
 *   (no subflow has room, or a delay-aware scheduler chose to wait for a faster subflow) or nothing is
 *   left; each answer is a promise to send at most `maxBytes` new data-level bytes, as one DSN range, on
 *   `subflowId` and on every subflow of `duplicateOn`. The connection also passes a `ConnectionView` of
 *   its data level when it has one (optional: BLEST and ECF use it, the other schedulers ignore it). A
 *   scheduler that waits relies on the connection calling `selectSend` again when a subflow's ACK (or
 *   window update) arrives, as it already does;
 * - `selectRetransmit` when data-level bytes must be reinjected (a subflow failed, went stale, or was
 *   closed with unacknowledged data; RFC 8684 section 3.3.6);
 * - `onAck` when a subflow's ACK acknowledges bytes (optional information, e.g. for a throughput estimate);
 * - `onSubflowRemoved` when a subflow is closed and forgotten.
 * Hooks are optional for implementers (`SchedulerPolicy`); `createScheduler` fills missing ones with no-ops
 * so the connection always calls them unconditionally (`Scheduler`).
 */

import type { Micros } from '../time/micros.js';
/** Re-exported: the project's one time type (src/time/micros.ts). */
export type { Micros };

/** The connection's identifier of a subflow (unique within the connection, never reused). */
export type SubflowId = number;

/** The IP version of a subflow's addresses (MPTCP never joins across families). */
export type AddressFamily = 4 | 6;

/** A read-only snapshot of one subflow, as a scheduler sees it. All byte counts are non-negative. */
export interface SubflowView {
  readonly id: SubflowId;
  /**
   * The subflow may carry data: TCP ESTABLISHED (or CLOSE-WAIT) and, for an MP_JOIN subflow, fully
   * established (the fourth ACK was acknowledged; RFC 8684 section 3.2).
   */
  readonly established: boolean;
  /** We asked the peer to treat this subflow as backup (B flag in our MP_JOIN, or our MP_PRIO). */
  readonly backupLocal: boolean;
  /** The peer marked this subflow as backup (B flag in its MP_JOIN, or its MP_PRIO). */
  readonly backupPeer: boolean;
  /** Smoothed RTT (RFC 6298 SRTT); undefined before the first sample. */
  readonly srttMicros: Micros | undefined;
  /**
   * RTT variation (RFC 6298 RTTVAR, the smoothed mean deviation of the RTT samples); undefined before the
   * first sample or when the connection does not report it. Optional: ECF's delta term reads it (absent = 0).
   */
  readonly rttvarMicros?: Micros;
  /** Congestion window in bytes. */
  readonly cwndBytes: number;
  /** Bytes sent and not yet acknowledged (SND.NXT - SND.UNA, less SACKed/lost bytes if known). */
  readonly bytesInFlight: number;
  /**
   * What the peer's receive window still allows on this subflow beyond the bytes in flight
   * (SND.UNA + SND.WND - SND.NXT), in bytes.
   */
  readonly sendWindowBytes: number;
  /** Sender maximum segment size in bytes. */
  readonly mss: number;
  /** Pacing rate in bytes per second, when the subflow knows one (Linux `sk_pacing_rate`). */
  readonly pacingRateBytesPerSecond?: number;
  /** Bytes already assigned to this subflow and not yet sent (its unsent write queue). */
  readonly queuedBytes: number;
  /**
   * The subflow made no progress recently (Linux `subflow->stale`: repeated RTOs with no ACK while another
   * subflow works). A stale subflow is only used when every established subflow is stale.
   */
  readonly stale: boolean;
  readonly family: AddressFamily;
}

/**
 * A read-only snapshot of the connection's data level (the meta socket), for schedulers that weigh the
 * connection-level send window or the data still waiting (BLEST, ECF). Optional everywhere: a connection
 * that passes none gets each scheduler's behaviour without it (see each scheduler's file). Byte counts
 * are data-level bytes, >= 0.
 */
export interface ConnectionView {
  /**
   * The window the peer last advertised, relative to its DATA_ACK (RFC 8684 section 3.3.4): the right edge
   * DATA_ACK + window minus the DATA_ACK, i.e. how many data-level bytes may be outstanding at once. This is
   * BLEST's |MPTCP_SW|: the whole window, not what is left of it (that is this minus `outstandingBytes`).
   * `Infinity` before the first DATA_ACK (no bound known yet).
   */
  readonly sendWindowBytes: number;
  /** Data-level bytes handed to subflows and not yet covered by a DATA_ACK (from DATA_UNA to the send head). */
  readonly outstandingBytes: number;
  /**
   * Bytes the application wrote that no subflow has been given yet (the connection-level send buffer's
   * unsent part; ECF's k), whether or not the peer's window allows them now. Reinjections are not counted.
   */
  readonly unsentBytes: number;
  /**
   * How many times, since the connection started, the connection-level window stopped new data while the
   * application had data waiting (the send head reached DATA_ACK + window). Only increases; the scheduler
   * compares it with what it saw last. Incrementing it once per blocked scheduling pass is fine (any
   * increase means "it blocked"). Optional: without it BLEST keeps its lambda fixed.
   */
  readonly sendWindowBlockedCount?: number;
}

/** A scheduler's answer: where the next chunk of data-level bytes goes, and how much of it. */
export interface SendDecision {
  /** The subflow that carries the chunk. */
  readonly subflowId: SubflowId;
  /** At most this many bytes (>= 1) of the chunk; bounded by the room of every chosen subflow. */
  readonly maxBytes: number;
  /**
   * Further subflows that carry a copy of the same DSN range (the redundant scheduler; empty for every
   * single-path scheduler). Never contains `subflowId`.
   */
  readonly duplicateOn: readonly SubflowId[];
}

/** Why bytes are reinjected, as told to `selectRetransmit`. */
export interface RetransmitRequest {
  /** The subflow the bytes were first sent on, if it is known (it is avoided when another has room). */
  readonly lostOn: SubflowId | undefined;
  /** Data-level bytes waiting to be reinjected. */
  readonly pendingBytes: number;
}

/** What an implementer writes: the two decisions, and any hooks it needs. */
export interface SchedulerPolicy {
  /** Registry name, e.g. "default", "roundrobin". */
  readonly name: string;
  /**
   * Chooses the subflow(s) for the next chunk of up to `pendingBytes` new data-level bytes (already bounded
   * by the peer's connection-level window); undefined when no subflow may send now, when `pendingBytes` is
   * 0, or when the policy prefers to wait for a busy faster subflow. `connection`, when given, describes the
   * data level (schedulers that do not need it ignore it). Never throws.
   */
  selectSend(
    now: Micros,
    views: readonly SubflowView[],
    pendingBytes: number,
    connection?: ConnectionView,
  ): SendDecision | undefined;
  /**
   * Chooses a subflow to reinject data-level bytes on, preferring one other than `request.lostOn`;
   * undefined when none may send now. Never throws.
   */
  selectRetransmit(
    now: Micros,
    views: readonly SubflowView[],
    request: RetransmitRequest,
  ): SendDecision | undefined;
  onSubflowAdded?(now: Micros, view: SubflowView): void;
  onSubflowRemoved?(now: Micros, subflowId: SubflowId): void;
  /** `ackedBytes` newly acknowledged at the subflow level on `subflowId`. */
  onAck?(now: Micros, subflowId: SubflowId, ackedBytes: number): void;
}

/** What the connection holds: a policy with every hook present (missing ones are no-ops). */
export interface Scheduler extends SchedulerPolicy {
  onSubflowAdded(now: Micros, view: SubflowView): void;
  onSubflowRemoved(now: Micros, subflowId: SubflowId): void;
  onAck(now: Micros, subflowId: SubflowId, ackedBytes: number): void;
}

/** What a scheduler is created with (all optional). */
export interface SchedulerParams {
  /**
   * Most new bytes handed out per decision; default `MPTCP_SEND_BURST_SIZE` (64 KiB, as Linux).
   * The round-robin scheduler uses one MSS per turn unless this is given.
   */
  readonly burstBytes?: number;
}

export type SchedulerFactory = (params: SchedulerParams) => SchedulerPolicy;
