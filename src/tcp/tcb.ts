/**
 * The Transmission Control Block of one connection (RFC 9293 section 3.3.1): every variable, grouped by
 * concern into typed sub-objects, and every state transition with its entry actions (STYLE.md 8: the rules
 * in one place), which the concern files call where their events are handled.
 *
 * Heads up! Before working on this file read:
 * - RFC 9293 sections 3.3.1 (the send and receive sequence variables: SND.UNA, SND.NXT, SND.WND, SND.WL1,
 *   SND.WL2, ISS, RCV.NXT, RCV.WND, IRS), 3.3.2 (states) and 3.6 (closing, TIME-WAIT);
 * - RFC 7323 section 4.3 (TS.Recent, Last.ACK.sent), RFC 6298 (the RTO), RFC 6675 / RFC 8985 (the loss
 *   recovery state);
 * - Linux include/linux/tcp.h (struct tcp_sock), whose fields most of these mirror.
 *
 * Why one block of state with functions beside it (./input.ts, ./ack.ts, ./recovery.ts, ./receive.ts,
 * ./output.ts, ./timeouts.ts, ./info.ts), rather than one object per concern: TCP's concerns share the
 * sequence variables (SND.UNA is read by ACK processing, loss recovery, the send path, the timers and
 * info()), so objects per concern would reach into each other. Linux's tcp_input.c / tcp_output.c /
 * tcp_timer.c work the same way on one struct tcp_sock. Every read stays one or two property loads, and the
 * per-segment path allocates nothing more than before.
 *
 * Positions: both sequence spaces are kept as plain numbers offset from the ISN on each side (our SYN is 0,
 * our first data byte 1; the same for the peer's ISN), so comparisons never wrap; `wireSend` and
 * `wireReceive` convert to the 32-bit wire values.
 */
import { createCongestionControl } from '../cc/registry.js';
import type { CongestionController } from '../cc/types.js';
import { seqDiff } from '../wire/seq.js';
import { resolveTcpConfig } from './config.js';
import type { ResolvedTcpConfig } from './config.js';
import type { TcpEndpoints, TcpExtension } from './extension.js';
import { DEFAULT_PEER_MSS } from './options.js';
import { Rack } from './rack.js';
import type { ReceiveBuffer } from './receive-buffer.js';
import { RttEstimator } from './rtt.js';
import type { Scoreboard } from './scoreboard.js';
import { SendBuffer } from './send-buffer.js';
import { SegmentFlag, SentQueue, type SentSegment } from './sent-queue.js';
import {
  STATE_CLOSE_WAIT,
  STATE_CLOSING,
  STATE_ESTABLISHED,
  STATE_FIN_WAIT_1,
  STATE_FIN_WAIT_2,
  STATE_LAST_ACK,
  STATE_TIME_WAIT,
  type ConnState,
} from './state.js';
import { TcpTimer, TimerTable } from './timers.js';
import type { Micros, TcpConfig, TcpError, TcpEvent } from './types.js';

/** Loss-recovery phase (Linux's CA states, reduced). */
export const Recovery = {
  None: 0,
  /** Fast recovery (RFC 6675 / RFC 6582), entered when RACK marks a segment lost (SACK) or on DupThresh dupACKs. */
  Fast: 1,
  /** After an RTO: everything outstanding is considered lost and resent in slow start. */
  Loss: 2,
} as const;
/** One loss-recovery phase. */
export type Recovery = (typeof Recovery)[keyof typeof Recovery];

/** The send side: RFC 9293's SND.* variables, the send buffer, the handshake and FIN, Nagle. */
export class SendState {
  /** ISS, as a 32-bit wire value. */
  readonly iss: number;
  /** SND.UNA. */
  una = 0;
  /** SND.NXT in the RFC sense of "highest sent" (SND.MAX); retransmissions do not move it. */
  nxt = 0;
  /** SND.WND in bytes (already scaled). */
  window = 0;
  /** The largest window the peer has offered (sender SWS avoidance, RFC 5961 5.2's MAX.SND.WND). */
  maxWindow = 0;
  /** SND.WL1 (peer position) and SND.WL2 (our position). */
  wl1 = 0;
  wl2 = 0;
  /** `requestPureAck`: an ACK of its own goes out before any data. */
  pureAckNow = false;
  /** Data written and not yet acknowledged (retransmissions are cut from it). */
  readonly buffer = new SendBuffer();
  /** shutdown() was called: FIN follows the last queued byte. */
  finQueued = false;
  finSent = false;
  /** A SYN or SYN/ACK is due (first send or retransmission). */
  synPending = false;
  synRetransmits = 0;
  /** Time the (first) SYN or SYN/ACK went out, for the handshake RTT sample. */
  synSentAt = -1;
  /** RST to send: its sequence number (wire) and whether it carries an ACK. */
  rstPending: { seq: number; ack: number | undefined } | undefined = undefined;
  /** Peer MSS (option or 536) clamped by ours: the largest segment including options space. */
  mssClamp: number;
  /** Effective send MSS: `mssClamp` minus the per-segment timestamps option. */
  mss: number;
  /** TCP_NODELAY: Nagle off. Starts from the config; `setNoDelay` switches it at any time. */
  noDelay: boolean;
  /** `write` returned less than asked: a 'writable' event is owed. */
  writeBlocked = false;
  /** End position of the last sub-MSS segment sent (Minshall's Nagle variant, as Linux). */
  lastSmallEnd = 0;

  constructor(iss: number, mss: number, noDelay: boolean) {
    this.iss = iss;
    this.mssClamp = mss;
    this.mss = mss;
    this.noDelay = noDelay;
  }
}

/** The receive side: RFC 9293's RCV.* variables, the advertised window, the ACK policy, TS.Recent. */
export class ReceiveState {
  /** IRS, as a 32-bit wire value (known once the peer's SYN arrived). */
  irs = 0;
  /** In-order and out-of-order data; created by the peer's SYN. Its `nxt` is RCV.NXT. */
  buffer: ReceiveBuffer | undefined = undefined;
  /** Right edge of the window last advertised (never moves left: RFC 9293 3.8.6.2.2). */
  advertisedEdge = 0;
  /** Receive buffer in bytes (grows with autotuning). */
  bufferBytes: number;
  /** Estimated peer MSS (Linux rcv_mss): the largest payload seen. */
  mss = DEFAULT_PEER_MSS;
  /** The peer's FIN position when it has arrived (possibly out of order). */
  peerFinAt = -1;
  finReceived = false;
  endReported = false;
  readableReported = false;
  /** An ACK should go out at the next pollTransmit. */
  ackNow = false;
  /** Bytes received in order since the last ACK we sent (delayed ACK: ACK every second full segment). */
  unackedBytes = 0;
  /** RCV.NXT carried by the last ACK we sent (RFC 7323 Last.ACK.sent). */
  lastAckSent = 0;
  /** close() was called: data arriving now is answered with RST (Linux tcp_rcv_state_process). */
  appClosed = false;
  /** A D-SACK block [start, end) to report in the next segment (RFC 2883; -1: none). */
  dsackStart = -1;
  dsackStop = -1;
  /** RFC 7323 TS.Recent and when it was last updated (PAWS idleness, 5.5). */
  tsRecent = 0;
  tsRecentAt: Micros = 0;

  constructor(bufferBytes: number) {
    this.bufferBytes = bufferBytes;
  }
}

/** What the handshake negotiated (RFC 7323 window scale and timestamps, RFC 2018 SACK). */
export class NegotiatedOptions {
  timestamps = false;
  sack = false;
  windowScaling = false;
  /** The peer's window scale shift (applied to its window fields), 0 until negotiated. */
  sendWindowShift = 0;
  /** Our window scale shift (applied to the window fields we send), 0 until negotiated. */
  receiveWindowShift = 0;
}

/** Receive-buffer autotuning (Linux tcp_rcv_space_adjust, "DRS") and the receiver's RTT estimate. */
export class ReceiveAutotune {
  /** Bytes the application read since `markAt`. */
  copiedSinceMark = 0;
  markAt: Micros;
  /** Bytes read in the last measured receiver RTT (Linux rcvq_space.space). */
  space = 0;
  /** Receiver RTT estimate (Linux rcv_rtt_est), from timestamps or one window's round trip. */
  rtt: number | undefined = undefined;
  /** Without timestamps: RCV.NXT target and start time of the per-window receiver RTT measurement. */
  rttEnd = -1;
  rttAt: Micros = 0;

  constructor(now: Micros) {
    this.markAt = now;
  }
}

/** Loss recovery: the phase, the per-segment record, RACK, the tail loss probe, and RTT timing (Karn). */
export class RecoveryState {
  phase: Recovery = Recovery.None;
  /** RFC 6675 RecoveryPoint / RFC 6582 "recover". */
  point = 0;
  /** SND.UNA at the start of the current fast recovery (RFC 6582's "impatient" timer reset is once). */
  entryUna = 0;
  /** The next retransmission goes out regardless of cwnd (fast retransmit, NewReno partial ACK). */
  retransmitNow = false;
  /** Per-segment records of [SND.UNA, SND.MAX): transmit times, SACKed / lost / retransmitted marks. */
  readonly sent = new SentQueue();
  readonly rack = new Rack();
  /** SACKed ranges above SND.UNA (created by the first SACK block). */
  scoreboard: Scoreboard | undefined = undefined;
  dupAcks = 0;
  /** NewReno without SACK: dupACKs counted as SACKed segments (as Linux's tcp_add_reno_sack). */
  renoSacked = 0;
  /** Consecutive RTOs without progress (for maxRetransmits). */
  rtoCount = 0;
  /** While processing one ACK: its D-SACK block end (-1: none). */
  dsackEnd = -1;
  /** RFC 8985 TLP.end_seq (-1: no probe outstanding) and TLP.is_retrans. */
  tlpEnd = -1;
  tlpIsRetrans = false;
  /** The loss-probe timer fired: the next pollTransmit sends the probe. */
  tlpPending = false;
  /** `TcpConnection.probePath`: the next pollTransmit resends the first unacknowledged segment. */
  pathProbePending = false;
  /** Without timestamps: the one timed segment (Karn), its end position and send time. */
  timedEnd = -1;
  timedAt = 0;
  /** Whether the sender was cwnd-limited since the last ACK (for AckSample.appLimited). */
  cwndLimited = false;
}

/**
 * Undo of a spurious episode (Linux undo_marker / undo_retrans / retrans_stamp; RFC 3522 Eifel, RFC 2883
 * section 5 / RFC 3708 D-SACK).
 */
export class UndoState {
  /** SND.UNA when the episode began (-1: nothing to undo). */
  marker = -1;
  /** Retransmissions not yet reported duplicate by D-SACK (-1: none made). */
  retrans = -1;
  /** The TSval of the episode's first retransmission (-1: none), for Eifel. */
  retransStamp = -1;
  /**
   * Retransmitted segments of the episode already cumulatively acknowledged, flat [start, end) pairs in
   * sequence order, so a later D-SACK is counted only when it reports one of them, once (Linux counts any
   * D-SACK below SND.UNA, which network duplication turns into false undos).
   */
  readonly ackedRanges: number[] = [];
}

/** Zero-window probing (RFC 9293 3.8.6.1) and keepalive (3.8.4). */
export class ProbeState {
  /** Exponent of the persist timer's backoff. */
  persistBackoff = 0;
  /** Zero-window probes sent without an answer. */
  probesOut = 0;
  /** A window probe or keepalive is due at the next pollTransmit. */
  pending = false;
  keepaliveProbes = 0;
  /** When the last segment arrived (keepalive idleness). */
  lastReceiveAt: Micros;

  constructor(now: Micros) {
    this.lastReceiveAt = now;
  }
}

/** Diagnostics counters, reported by info(). */
export class TcpCounters {
  segmentsSent = 0;
  segmentsReceived = 0;
  bytesRetransmitted = 0;
  retransmits = 0;
  timeouts = 0;
  /** Spurious episodes undone. */
  undos = 0;
  lossProbes = 0;
}

/** Every variable of one connection; see the file comment. */
export class Tcb {
  /** The 4-tuple. */
  readonly endpoints: TcpEndpoints;
  /** The configuration with every default filled in. */
  readonly config: ResolvedTcpConfig;
  /** MPTCP's hooks (./extension.ts), when this connection is a subflow. */
  readonly extension: TcpExtension | undefined;
  /** The RFC 9293 state; only the transition methods below change it. */
  state: ConnState;
  /** One deadline per timer kind (./timers.ts); `pollTimeout()` is their minimum. */
  readonly timers = new TimerTable();
  /** Events not yet polled (created with the first one). */
  events: TcpEvent[] | undefined = undefined;
  /** 'closed' was queued: it is reported once. */
  closedReported = false;
  /** Latest `now` seen by any entry point (read() has no `now`; autotuning uses this). */
  now: Micros;
  readonly send: SendState;
  readonly receive: ReceiveState;
  readonly negotiated = new NegotiatedOptions();
  readonly autotune: ReceiveAutotune;
  readonly recovery = new RecoveryState();
  readonly undo = new UndoState();
  /** SRTT, RTTVAR and the RTO with its backoff (RFC 6298; ./rtt.ts). */
  readonly rtt: RttEstimator;
  /** The congestion controller chosen by name in the config (../cc/registry.ts). */
  readonly cc: CongestionController;
  readonly probes: ProbeState;
  readonly counters = new TcpCounters();

  constructor(now: Micros, endpoints: TcpEndpoints, iss: number, config: TcpConfig | undefined, extension: TcpExtension | undefined, state: ConnState) {
    this.endpoints = endpoints;
    this.config = resolveTcpConfig(config);
    const c = this.config;
    this.extension = extension;
    this.state = state;
    this.now = now;
    this.send = new SendState(iss >>> 0, c.mss, c.noDelay);
    this.receive = new ReceiveState(c.receiveBufferBytes);
    this.autotune = new ReceiveAutotune(now);
    this.probes = new ProbeState(now);
    this.rtt = new RttEstimator(c.rtoMinMicros, c.rtoMaxMicros, c.rtoInitialMicros);
    this.cc = createCongestionControl(c.congestionControl, { mss: c.mss, initialWindowSegments: c.initialWindowSegments, now, coupling: extension?.coupling });
  }

  // The two visitors of the per-ACK walks, created once per connection so that the walks allocate nothing.
  // They stay with the data they touch (the TCB imports none of the logic files: no import cycles).

  /** A record below the new SND.UNA (not SACKed before): RACK's view of a cumulative delivery. */
  readonly onCumulativelyAcked = (record: SentSegment): void => {
    if (!this.negotiated.sack) return;
    const flags = record.flags;
    if ((flags & SegmentFlag.Sacked) === 0) this.recovery.rack.onDelivered(record, this.now);
    if (this.undo.marker >= 0 && (flags & (SegmentFlag.EverRetransmitted | SegmentFlag.DsackCounted)) === SegmentFlag.EverRetransmitted) {
      this.undo.ackedRanges.push(record.start, record.end);
    }
  };

  /** Newly SACKed range [start, end) from the scoreboard: mark the records (splitting at the edges). */
  readonly onNewlySacked = (start: number, end: number): void => {
    const sent = this.recovery.sent;
    sent.splitAt(start);
    sent.splitAt(end);
    let i = sent.indexOf(start);
    if (i < 0) return;
    for (let record = sent.at(i); record !== undefined && record.start < end; record = sent.at(++i)) {
      if ((record.flags & SegmentFlag.Sacked) !== 0) continue;
      this.recovery.rack.onDelivered(record, this.now);
      sent.markSacked(record);
    }
  };

  // ------------------------------------------------------------------------------------------------
  // Sequence helpers

  /** Our position `position` as a 32-bit wire sequence number. */
  wireSend(position: number): number {
    return (this.send.iss + position) >>> 0;
  }

  /** The peer's position `position` as a 32-bit wire sequence number. */
  wireReceive(position: number): number {
    return (this.receive.irs + position) >>> 0;
  }

  /** The position of an incoming ACK number, relative to SND.UNA. */
  ackPosition(ack: number): number {
    return this.send.una + seqDiff(ack, this.wireSend(this.send.una));
  }

  // ------------------------------------------------------------------------------------------------
  // The application's view

  /** Whether `write` may queue data in this state. */
  canWrite(): boolean {
    if (this.send.finQueued) return false;
    const name = this.state.name;
    return name === 'ESTABLISHED' || name === 'CLOSE-WAIT' || name === 'SYN-SENT' || name === 'SYN-RECEIVED';
  }

  /** Bytes `write` would accept now. */
  writableBytes(): number {
    if (!this.canWrite()) return 0;
    return Math.max(0, this.config.sendBufferBytes - this.send.buffer.length);
  }

  // ------------------------------------------------------------------------------------------------
  // Events

  /** Queues an event for pollEvent(). */
  emit(event: TcpEvent): void {
    (this.events ??= []).push(event);
  }

  /** 'end', once: the peer's FIN arrived and everything before it was read. */
  reportEnd(): void {
    if (this.receive.endReported) return;
    this.receive.endReported = true;
    this.emit({ type: 'end' });
  }

  /** 'closed', once (at TIME-WAIT or CLOSED, whichever comes first). */
  reportClosed(error: TcpError | undefined): void {
    if (this.closedReported) return;
    this.closedReported = true;
    this.emit(error === undefined ? { type: 'closed' } : { type: 'closed', error });
  }

  // ------------------------------------------------------------------------------------------------
  // State transitions (RFC 9293 3.3.2, figure 5): every change of `state` after construction is made here,
  // called from where its event is handled (input.ts, ack.ts, timeouts.ts, the application commands).

  /** A bare SYN in SYN-SENT: simultaneous open (RFC 9293 figure 7); our SYN/ACK, from the same ISN, is due. */
  enterSimultaneousOpen(): void {
    this.state = { name: 'SYN-RECEIVED', passive: false };
    this.send.synPending = true;
  }

  /**
   * shutdown() (RFC 9293 3.10.4 CLOSE): the FIN follows the queued data; ESTABLISHED goes to FIN-WAIT-1 and
   * CLOSE-WAIT to LAST-ACK. During the handshake the FIN waits for ESTABLISHED (`enterEstablished`).
   */
  queueFin(): void {
    if (this.send.finQueued) return;
    switch (this.state.name) {
      case 'SYN-SENT':
      case 'SYN-RECEIVED':
        // RFC 9293 3.10.4: queue the FIN until the connection is established.
        this.send.finQueued = true;
        return;
      case 'ESTABLISHED':
        this.send.finQueued = true;
        this.state = STATE_FIN_WAIT_1;
        return;
      case 'CLOSE-WAIT':
        this.send.finQueued = true;
        this.state = STATE_LAST_ACK;
        return;
      default:
        return;
    }
  }

  /** The peer's FIN reached RCV.NXT: ESTABLISHED to CLOSE-WAIT, FIN-WAIT-1 to CLOSING, FIN-WAIT-2 to TIME-WAIT. */
  peerFinReached(now: Micros): void {
    switch (this.state.name) {
      case 'ESTABLISHED':
        this.state = STATE_CLOSE_WAIT;
        return;
      case 'FIN-WAIT-1':
        // Our FIN not yet acknowledged: simultaneous close.
        this.state = STATE_CLOSING;
        return;
      case 'FIN-WAIT-2':
        this.enterTimeWait(now);
        return;
      default:
        return;
    }
  }

  /**
   * Our FIN was acknowledged: FIN-WAIT-1 to FIN-WAIT-2 (with the orphan timer after close(), as Linux's
   * tcp_fin_timeout), CLOSING to TIME-WAIT, LAST-ACK to CLOSED.
   */
  ourFinAcked(): void {
    switch (this.state.name) {
      case 'FIN-WAIT-1':
        this.state = STATE_FIN_WAIT_2;
        if (this.receive.appClosed) this.timers.set(TcpTimer.FinWait2, this.now + this.config.timeWaitMicros);
        break;
      case 'CLOSING':
        this.enterTimeWait(this.now);
        break;
      case 'LAST-ACK':
        this.enterClosed(undefined);
        break;
      default:
        break;
    }
  }

  /** Enters CLOSED: timers stopped, buffers released, 'closed' reported. */
  enterClosed(error: TcpError | undefined): void {
    this.state = { name: 'CLOSED', error };
    this.timers.stopAll();
    this.send.buffer.release(Infinity);
    this.receive.buffer?.clear();
    this.recovery.scoreboard = undefined;
    this.recovery.sent.clear();
    this.reportClosed(error);
  }

  /** Enters TIME-WAIT (RFC 9293 3.6): only the 2*MSL timer runs; the application's view is complete. */
  enterTimeWait(now: Micros): void {
    this.state = STATE_TIME_WAIT;
    this.timers.stopAll();
    this.timers.set(TcpTimer.TimeWait, now + this.config.timeWaitMicros);
    this.reportClosed(undefined);
  }

  /** The handshake completed: ESTABLISHED, or FIN-WAIT-1 when shutdown() came first. */
  enterEstablished(now: Micros): void {
    this.state = STATE_ESTABLISHED;
    this.cc.setMss(this.send.mss);
    // RFC 6298 5.7: after a retransmitted SYN with no RTT sample, start data transfer with RTO 3 s.
    if (this.send.synRetransmits > 0 && this.rtt.srtt === undefined) this.rtt.baseRto = Math.max(this.rtt.baseRto, 3_000_000);
    this.rtt.backoff = 0;
    this.timers.stop(TcpTimer.Retransmit);
    this.emit({ type: 'established' });
    if (this.send.finQueued) this.state = STATE_FIN_WAIT_1;
    this.armKeepalive(now);
  }

  /** The connection ends with `error` (reset, timeout). */
  fail(error: TcpError): void {
    this.enterClosed(error);
  }

  /** Queues a RST from SND.NXT (with an ACK once the peer's SYN is known). */
  sendReset(): void {
    const receive = this.receive.buffer;
    this.send.rstPending = {
      seq: this.wireSend(this.send.nxt),
      ack: receive === undefined ? undefined : this.wireReceive(receive.nxt),
    };
  }

  /** Arms the keepalive timer from now (when keepalive is configured). */
  armKeepalive(now: Micros): void {
    const keepalive = this.config.keepalive;
    if (keepalive !== undefined) this.timers.set(TcpTimer.Keepalive, now + keepalive.idleMicros);
  }
}
