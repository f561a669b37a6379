/**
 * One TCP connection (a future MPTCP subflow), sans-IO.
 *
 * Heads up! Before working on this file read:
 * - RFC 9293 section 3.3.2 (state machine), 3.10.7 ("SEGMENT ARRIVES": the order of checks below follows
 *   it), 3.8.6 (window management, silly window syndrome), 3.8.4 (keepalive);
 * - RFC 5961 sections 3-5 (blind RST, SYN and data injection: challenge ACKs, ACK acceptability);
 * - RFC 7323 (window scale, timestamps, PAWS, RTTM; section 4.3 for the TS.Recent rules);
 * - RFC 2018 (SACK), RFC 2883 (D-SACK), RFC 6675 (SACK-based loss recovery: pipe, NextSeg), RFC 6582
 *   (NewReno, for peers without SACK);
 * - RFC 8985 (RACK-TLP: time-based loss detection replaces the DupThresh rule for SACK peers; ./rack.ts and
 *   ./sent-queue.ts), RFC 3522 (Eifel detection of spurious retransmissions with timestamps), RFC 3708 /
 *   RFC 2883 section 5 (D-SACK-based undo) as Linux's tcp_try_undo_* do;
 * - RFC 6298 (RTO), RFC 5681 (congestion control, dupACKs), RFC 3465 (ABC, done by the controller);
 * - Linux net/ipv4/tcp_input.c / tcp_output.c / tcp_timer.c for the choices the RFCs leave open.
 *
 * Call order (the host stack is the driver):
 *   handleSegment(now, seg) | handleTimeout(now) | write/read/shutdown/close/abort (app calls)
 *   then pollTransmit(now) until undefined, then pollEvent() until undefined, then pollTimeout().
 * The connection never reads a clock: `now` is integer microseconds. App calls that change what should be
 * sent (write, read opening the window, shutdown) take effect at the next pollTransmit.
 *
 * Sequence space: positions are kept as plain numbers offset from the ISN on each side (our SYN is 0, our
 * first data byte 1; the same for the peer's ISN), so comparisons inside never wrap; only the wire values
 * are 32-bit (converted with seqDiff on input, `(isn + position) >>> 0` on output).
 *
 * 'closed' is reported once: when the connection reaches TIME-WAIT (the application's view is complete)
 * or CLOSED directly (reset, timeout, abort, LAST-ACK done). The host may reap the connection when
 * `state === 'CLOSED'` (after TIME-WAIT expires).
 */
import { createCongestionControl } from '../cc/registry.js';
import type { CongestionController } from '../cc/types.js';
import { seqDiff } from '../wire/seq.js';
import { TcpFlags, tcpOptionsLength } from '../wire/tcp.js';
import type { TcpOption, TcpSegment, TcpSegmentRepr } from '../wire/tcp.js';
import { resolveTcpConfig } from './config.js';
import type { ResolvedTcpConfig } from './config.js';
import { InsertResult, ReceiveBuffer } from './receive-buffer.js';
import { Rack } from './rack.js';
import { RttEstimator } from './rtt.js';
import { DUP_THRESH, Scoreboard } from './scoreboard.js';
import { SendBuffer } from './send-buffer.js';
import { SegmentFlag, SentQueue, type SentSegment } from './sent-queue.js';
import { TcpTimer, TimerTable } from './timers.js';
import type { Micros, TcpConfig, TcpError, TcpEvent, TcpInfo, TcpStateName } from './types.js';
import type { TcpEndpoints, TcpExtension } from './extension.js';
import { DEFAULT_PEER_MSS, NO_BLOCKS, NO_OPTIONS, NOP, PAWS_IDLE_LIMIT_MICROS, SACK_PERMITTED, scanOptions, TIMESTAMPS_SPACE, timestampRtt, tsNow, type ParsedOptions } from './options.js';
import { STATE_CLOSE_WAIT, STATE_CLOSING, STATE_ESTABLISHED, STATE_FIN_WAIT_1, STATE_FIN_WAIT_2, STATE_LAST_ACK, STATE_SYN_SENT, STATE_TIME_WAIT, type ConnState } from './state.js';

/** Re-exported: the seam types live in ./extension.ts; importers of this file keep working. */
export type { TcpEndpoints, TcpExtension, TcpSegmentDraft, TcpSegmentKind } from './extension.js';

const EMPTY = new Uint8Array(0);

/** Loss-recovery phase (Linux's CA states, reduced). */
const Recovery = {
  None: 0,
  /** Fast recovery (RFC 6675 / RFC 6582), entered when RACK marks a segment lost (SACK) or on DupThresh dupACKs. */
  Fast: 1,
  /** After an RTO: everything outstanding is considered lost and resent in slow start. */
  Loss: 2,
} as const;
type Recovery = (typeof Recovery)[keyof typeof Recovery];

/**
 * One TCP connection: RFC 9293 state machine, reliable delivery with SACK/NewReno loss recovery, RTO,
 * delayed ACKs, Nagle, persist, keepalive, window scaling and autotuning, timestamps/PAWS. See the file
 * comment for the call order.
 */
export class TcpConnection {
  /** The 4-tuple. */
  readonly endpoints: TcpEndpoints;
  readonly #config: ResolvedTcpConfig;
  /** TCP_NODELAY: Nagle off. Starts from the config; `setNoDelay` switches it at any time. */
  #noDelay: boolean;
  readonly #extension: TcpExtension | undefined;
  #state: ConnState;
  readonly #timers = new TimerTable();
  #events: TcpEvent[] | undefined = undefined;
  #closedReported = false;
  /** Latest `now` seen by any entry point (read() has no `now`; autotuning uses this). */
  #now: Micros;

  // --- send side (positions from our ISN: SYN = 0, data byte k = 1 + k) ---
  readonly #iss: number;
  /** SND.UNA. */
  #una = 0;
  /** SND.NXT in the RFC sense of "highest sent" (SND.MAX); retransmissions do not move it. */
  #nxt = 0;
  /** SND.WND in bytes (already scaled). */
  #sendWindow = 0;
  #maxSendWindow = 0;
  /** SND.WL1 (peer position) and SND.WL2 (our position). */
  #wl1 = 0;
  #wl2 = 0;
  #sendWindowShift = 0;
  /** `requestPureAck`: an ACK of its own goes out before any data. */
  #pureAckNow = false;
  readonly #sendBuffer = new SendBuffer();
  /** shutdown() was called: FIN follows the last queued byte. */
  #finQueued = false;
  #finSent = false;
  /** A SYN or SYN/ACK is due (first send or retransmission). */
  #synPending = false;
  #synRetransmits = 0;
  /** Time the (first) SYN or SYN/ACK went out, for the handshake RTT sample. */
  #synSentAt = -1;
  /** RST to send: its sequence number (wire) and whether it carries an ACK. */
  #rstPending: { seq: number; ack: number | undefined } | undefined = undefined;
  /** Peer MSS (option or 536) clamped by ours: the largest segment including options space. */
  #mssClamp: number;
  /** Effective send MSS: #mssClamp minus the per-segment timestamps option. */
  #sendMss: number;
  #writeBlocked = false;
  /** End position of the last sub-MSS segment sent (Minshall's Nagle variant, as Linux). */
  #lastSmallEnd = 0;

  // --- loss recovery ---
  #recovery: Recovery = Recovery.None;
  /** RFC 6675 RecoveryPoint / RFC 6582 "recover". */
  #recoveryPoint = 0;
  /** Per-segment records of [SND.UNA, SND.MAX): transmit times, SACKed / lost / retransmitted marks. */
  readonly #sent = new SentQueue();
  readonly #rack = new Rack();
  /** RFC 8985 TLP.end_seq (-1: no probe outstanding) and TLP.is_retrans. */
  #tlpEnd = -1;
  #tlpIsRetrans = false;
  /** The loss-probe timer fired: the next pollTransmit sends the probe. */
  #tlpPending = false;
  /**
   * Undo of a spurious episode (Linux undo_marker / undo_retrans / retrans_stamp): SND.UNA when the episode
   * began (-1: nothing to undo), retransmissions not yet reported duplicate by D-SACK (-1: none made), and
   * the TSval of the episode's first retransmission (-1: none) for Eifel.
   */
  #undoMarker = -1;
  #undoRetrans = -1;
  #retransStamp = -1;
  /**
   * Retransmitted segments of the episode already cumulatively acknowledged, flat [start, end) pairs in
   * sequence order, so a later D-SACK is counted only when it reports one of them, once (Linux counts any
   * D-SACK below SND.UNA, which network duplication turns into false undos).
   */
  #undoAckedRanges: number[] = [];
  /** While processing one ACK: its D-SACK block end (-1: none). */
  #dsackEnd = -1;
  /** Spurious episodes undone, and loss probes sent (diagnostics, in info()). */
  #undos = 0;
  #lossProbes = 0;
  #dupAcks = 0;
  /** NewReno without SACK: dupACKs counted as SACKed segments (as Linux's tcp_add_reno_sack). */
  #renoSacked = 0;
  #scoreboard: Scoreboard | undefined = undefined;
  /** Consecutive RTOs without progress (for maxRetransmits). */
  #rtoCount = 0;
  /** Without timestamps: the one timed segment (Karn), its end position and send time. */
  #timedEnd = -1;
  #timedAt = 0;
  /** Whether the sender was cwnd-limited since the last ACK (for AckSample.appLimited). */
  #cwndLimited = false;
  readonly #rtt: RttEstimator;
  #cc: CongestionController;
  #persistBackoff = 0;
  #probesOut = 0;
  #probePending = false;
  #keepaliveProbes = 0;
  #lastReceiveAt: Micros;

  // --- receive side (positions from the peer's ISN: SYN = 0, data byte k = 1 + k) ---
  #irs = 0;
  #receive: ReceiveBuffer | undefined = undefined;
  /** Right edge of the window last advertised (never moves left: RFC 9293 3.8.6.2.2). */
  #advertisedEdge = 0;
  /** Receive buffer in bytes (grows with autotuning). */
  #receiveBuffer: number;
  #receiveWindowShift = 0;
  /** Estimated peer MSS (Linux rcv_mss): the largest payload seen. */
  #receiveMss = DEFAULT_PEER_MSS;
  /** The peer's FIN position when it has arrived (possibly out of order). */
  #peerFinAt = -1;
  #finReceived = false;
  #endReported = false;
  #readableReported = false;
  /** An ACK should go out at the next pollTransmit. */
  #ackNow = false;
  /** Bytes received in order since the last ACK we sent (delayed ACK: ACK every second full segment). */
  #unackedBytes = 0;
  /** RCV.NXT carried by the last ACK we sent (RFC 7323 Last.ACK.sent). */
  #lastAckSent = 0;
  /** close() was called: data arriving now is answered with RST (Linux tcp_rcv_state_process). */
  #appClosed = false;
  /** A D-SACK block [start, end) to report in the next segment (RFC 2883; -1: none). */
  #dsackStart = -1;
  #dsackStop = -1;

  // --- options ---
  #timestamps = false;
  #sack = false;
  #windowScaling = false;
  #tsRecent = 0;
  #tsRecentAt: Micros = 0;

  // --- receive autotuning (Linux tcp_rcv_space_adjust, "DRS") ---
  #copiedSinceMark = 0;
  #markAt: Micros;
  #receiveSpace = 0;
  #receiveRtt: number | undefined = undefined;
  /** Without timestamps: RCV.NXT target and start time of the per-window receiver RTT measurement. */
  #receiveRttEnd = -1;
  #receiveRttAt: Micros = 0;

  // --- counters ---
  #segmentsSent = 0;
  #segmentsReceived = 0;
  #bytesRetransmitted = 0;
  #retransmits = 0;
  #timeouts = 0;

  private constructor(now: Micros, endpoints: TcpEndpoints, iss: number, config: TcpConfig | undefined, extension: TcpExtension | undefined, state: ConnState) {
    this.endpoints = endpoints;
    this.#config = resolveTcpConfig(config);
    this.#noDelay = this.#config.noDelay;
    this.#extension = extension;
    this.#state = state;
    this.#now = now;
    this.#markAt = now;
    this.#lastReceiveAt = now;
    this.#iss = iss >>> 0;
    const c = this.#config;
    this.#rtt = new RttEstimator(c.rtoMinMicros, c.rtoMaxMicros, c.rtoInitialMicros);
    this.#mssClamp = c.mss;
    this.#sendMss = c.mss;
    this.#receiveBuffer = c.receiveBufferBytes;
    this.#cc = createCongestionControl(c.congestionControl, { mss: c.mss, initialWindowSegments: c.initialWindowSegments, now });
  }

  /** Active open: the SYN goes out at the first pollTransmit. */
  static connect(now: Micros, endpoints: TcpEndpoints, iss: number, config?: TcpConfig, extension?: TcpExtension): TcpConnection {
    const connection = new TcpConnection(now, endpoints, iss, config, extension, STATE_SYN_SENT);
    connection.#synPending = true;
    connection.#nxt = 1;
    return connection;
  }

  /**
   * Passive open from a SYN a listener accepted (there is no LISTEN state here: the stack's listener owns
   * it). The connection starts in SYN-RECEIVED with the SYN/ACK pending.
   */
  static accept(now: Micros, endpoints: TcpEndpoints, iss: number, syn: TcpSegment, config?: TcpConfig, extension?: TcpExtension): TcpConnection {
    const connection = new TcpConnection(now, endpoints, iss, config, extension, { name: 'SYN-RECEIVED', passive: true });
    extension?.onOptions?.(syn);
    connection.#segmentsReceived++;
    connection.#receiveSyn(now, syn);
    connection.#synPending = true;
    connection.#nxt = 1;
    return connection;
  }

  // ------------------------------------------------------------------------------------------------
  // Public surface

  /** RFC 9293 state name. */
  get state(): TcpStateName {
    return this.#state.name;
  }

  /** Bytes that can be read now. */
  /** The peer's window scale shift (RFC 7323), 0 until negotiated. */
  get sendWindowShift(): number {
    return this.#sendWindowShift;
  }

  get readableBytes(): number {
    return this.#receive?.readable ?? 0;
  }

  /** Bytes `write` would accept now. */
  get writableBytes(): number {
    if (!this.#canWrite()) return 0;
    return Math.max(0, this.#config.sendBufferBytes - this.#sendBuffer.length);
  }

  #canWrite(): boolean {
    if (this.#finQueued) return false;
    const name = this.#state.name;
    return name === 'ESTABLISHED' || name === 'CLOSE-WAIT' || name === 'SYN-SENT' || name === 'SYN-RECEIVED';
  }

  /**
   * Queues up to `writableBytes` of `data` by reference (the caller must not mutate it afterwards) and
   * returns the bytes accepted. After a short write a 'writable' event follows once half the send buffer
   * is free again. Returns 0 after shutdown/close.
   */
  write(data: Uint8Array): number {
    const room = this.writableBytes;
    const n = Math.min(room, data.length);
    if (n < data.length) this.#writeBlocked = true;
    if (n === 0) return 0;
    this.#sendBuffer.push(n === data.length ? data : data.subarray(0, n));
    return n;
  }

  /** The next in-order bytes (at most `maxBytes`), a view into a received payload; undefined when none. */
  read(maxBytes = Infinity): Uint8Array | undefined {
    const receive = this.#receive;
    if (receive === undefined) return undefined;
    const out = receive.read(maxBytes);
    if (out === undefined) return undefined;
    if (receive.readable === 0) {
      this.#readableReported = false;
      if (this.#finReceived) this.#reportEnd();
    }
    this.#copiedSinceMark += out.length;
    this.#autotune();
    this.#maybeWindowUpdate();
    return out;
  }

  /**
   * Switches Nagle's algorithm off (true, like TCP_NODELAY) or on. Switching it off sends any small
   * segment Nagle was holding back on the next `pollTransmit`.
   */
  /** Sends an ACK at the next `pollTransmit` (an extension has something to say, e.g. MPTCP's DATA_FIN). */
  requestAck(): void {
    if (this.#receive !== undefined && this.#state.name !== 'CLOSED') this.#ackNow = true;
  }

  /**
   * Like `requestAck`, but the ACK goes out as a segment of its own before any data (MPTCP's ADD_ADDR,
   * MP_PRIO, MP_FAIL... ride on pure ACKs, as Linux sends them).
   */
  requestPureAck(): void {
    if (this.#receive !== undefined && this.#state.name !== 'CLOSED') this.#pureAckNow = true;
  }

  setNoDelay(noDelay: boolean): void {
    this.#noDelay = noDelay;
  }

  /** Half-close: a FIN follows all queued data. */
  shutdown(): void {
    if (this.#finQueued) return;
    switch (this.#state.name) {
      case 'SYN-SENT':
      case 'SYN-RECEIVED':
        // RFC 9293 3.10.4: queue the FIN until the connection is established.
        this.#finQueued = true;
        return;
      case 'ESTABLISHED':
        this.#finQueued = true;
        this.#state = STATE_FIN_WAIT_1;
        return;
      case 'CLOSE-WAIT':
        this.#finQueued = true;
        this.#state = STATE_LAST_ACK;
        return;
      default:
        return;
    }
  }

  /**
   * Like close(2): shut down both directions. With unread received data (or data arriving later) the
   * connection is reset instead, as Linux does (RFC 9293 3.10.4 leaves it open; RFC 2525 2.17).
   */
  close(): void {
    const name = this.#state.name;
    if (name === 'CLOSED' || name === 'TIME-WAIT') return;
    this.#appClosed = true;
    if (name === 'SYN-SENT') {
      this.#enterClosed(undefined);
      return;
    }
    if (this.readableBytes > 0) {
      this.#sendReset();
      this.#enterClosed(undefined);
      return;
    }
    this.shutdown();
    if (this.#state.name === 'FIN-WAIT-2') this.#timers.set(TcpTimer.FinWait2, this.#now + this.#config.timeWaitMicros);
  }

  /** Sends RST now (when synchronized), CLOSED, 'closed' with ECONNABORTED. */
  abort(): void {
    const name = this.#state.name;
    if (name === 'CLOSED') return;
    if (name !== 'SYN-SENT' && name !== 'TIME-WAIT') this.#sendReset();
    this.#enterClosed({ code: 'ECONNABORTED', message: 'connection aborted locally' });
  }

  /** The next event, or undefined. */
  pollEvent(): TcpEvent | undefined {
    const events = this.#events;
    if (events === undefined || events.length === 0) return undefined;
    return events.shift();
  }

  /** The earliest armed timer, or undefined. */
  pollTimeout(): Micros | undefined {
    return this.#timers.next();
  }

  // Cheap single values for per-segment callers (MPTCP's scheduler and stale checks); `info()` builds a
  // whole object.
  /** Smoothed RTT, or undefined before the first sample. */
  get srttMicros(): Micros | undefined {
    const srtt = this.#rtt.srtt;
    return srtt === undefined ? undefined : Math.round(srtt);
  }
  get rtoMicros(): Micros {
    return this.#rtt.rto;
  }
  get cwndBytes(): number {
    return this.#cc.cwnd;
  }
  /** Bytes in flight (RFC 6675 pipe). */
  get bytesInFlight(): number {
    return this.#pipe();
  }
  /** The peer's window (bytes). */
  get sendWindowBytes(): number {
    return this.#sendWindow;
  }
  get sendMss(): number {
    return this.#sendMss;
  }
  /** Data bytes acknowledged by the peer (as `info().bytesAcked`). */
  get bytesAcked(): number {
    const finAcked = this.#finSent && this.#una > this.#sendBuffer.end + 1;
    return Math.max(0, this.#una - 1 - (finAcked ? 1 : 0));
  }
  /** RTO expiries (as `info().timeouts`). */
  get timeouts(): number {
    return this.#timeouts;
  }

  /** Connection info, like Linux's tcp_info. */
  info(): TcpInfo {
    const rtt = this.#rtt;
    const dataEnd = this.#sendBuffer.end + 1;
    const finAcked = this.#finSent && this.#una > dataEnd;
    const receive = this.#receive;
    return {
      state: this.#state.name,
      srttMicros: rtt.srtt === undefined ? undefined : Math.round(rtt.srtt),
      rttvarMicros: rtt.rttvar === undefined ? undefined : Math.round(rtt.rttvar),
      minRttMicros: rtt.minRtt,
      rtoMicros: rtt.rto,
      sendMss: this.#sendMss,
      receiveMss: this.#receiveMss,
      cwndBytes: this.#cc.cwnd,
      ssthreshBytes: this.#cc.ssthresh,
      congestionControl: this.#cc.name,
      bytesInFlight: this.#pipe(),
      bytesSent: Math.max(0, Math.min(this.#nxt, dataEnd) - 1),
      bytesAcked: Math.max(0, this.#una - 1 - (finAcked ? 1 : 0)),
      bytesReceived: receive === undefined ? 0 : Math.max(0, receive.nxt - 1 - (this.#finReceived ? 1 : 0)),
      bytesRetransmitted: this.#bytesRetransmitted,
      segmentsSent: this.#segmentsSent,
      segmentsReceived: this.#segmentsReceived,
      retransmits: this.#retransmits,
      timeouts: this.#timeouts,
      lossProbes: this.#lossProbes,
      undos: this.#undos,
      sendWindow: this.#sendWindow,
      receiveWindow: receive === undefined ? this.#receiveBuffer : Math.max(0, this.#advertisedEdge - receive.nxt),
      sendWindowScale: this.#sendWindowShift,
      receiveWindowScale: this.#receiveWindowShift,
      timestamps: this.#timestamps,
      sack: this.#sack,
    };
  }

  // ------------------------------------------------------------------------------------------------
  // Events and state changes

  #emit(event: TcpEvent): void {
    (this.#events ??= []).push(event);
  }

  #reportEnd(): void {
    if (this.#endReported) return;
    this.#endReported = true;
    this.#emit({ type: 'end' });
  }

  #reportClosed(error: TcpError | undefined): void {
    if (this.#closedReported) return;
    this.#closedReported = true;
    this.#emit(error === undefined ? { type: 'closed' } : { type: 'closed', error });
  }

  #enterClosed(error: TcpError | undefined): void {
    this.#state = { name: 'CLOSED', error };
    this.#timers.stopAll();
    this.#sendBuffer.release(Infinity);
    this.#receive?.clear();
    this.#scoreboard = undefined;
    this.#sent.clear();
    this.#reportClosed(error);
  }

  #enterTimeWait(now: Micros): void {
    this.#state = STATE_TIME_WAIT;
    this.#timers.stopAll();
    this.#timers.set(TcpTimer.TimeWait, now + this.#config.timeWaitMicros);
    this.#reportClosed(undefined);
  }

  #enterEstablished(now: Micros): void {
    this.#state = STATE_ESTABLISHED;
    this.#cc.setMss(this.#sendMss);
    // RFC 6298 5.7: after a retransmitted SYN with no RTT sample, start data transfer with RTO 3 s.
    if (this.#synRetransmits > 0 && this.#rtt.srtt === undefined) this.#rtt.baseRto = Math.max(this.#rtt.baseRto, 3_000_000);
    this.#rtt.backoff = 0;
    this.#timers.stop(TcpTimer.Retransmit);
    this.#emit({ type: 'established' });
    if (this.#finQueued) this.#state = STATE_FIN_WAIT_1;
    this.#armKeepalive(now);
  }

  #fail(error: TcpError): void {
    this.#enterClosed(error);
  }

  #sendReset(): void {
    const receive = this.#receive;
    this.#rstPending = {
      seq: this.#wireSend(this.#nxt),
      ack: receive === undefined ? undefined : this.#wireReceive(receive.nxt),
    };
  }

  // ------------------------------------------------------------------------------------------------
  // Sequence helpers

  #wireSend(position: number): number {
    return (this.#iss + position) >>> 0;
  }

  #wireReceive(position: number): number {
    return (this.#irs + position) >>> 0;
  }

  /** The position of an incoming ACK number, relative to SND.UNA. */
  #ackPosition(ack: number): number {
    return this.#una + seqDiff(ack, this.#wireSend(this.#una));
  }

  // ------------------------------------------------------------------------------------------------
  // Incoming segments

  /** A segment for this connection arrived (checksum already verified by the stack). */
  handleSegment(now: Micros, segment: TcpSegment): void {
    this.#now = now;
    this.#segmentsReceived++;
    this.#extension?.onOptions?.(segment);
    switch (this.#state.name) {
      case 'CLOSED':
        return;
      case 'SYN-SENT':
        this.#segmentInSynSent(now, segment);
        return;
      default:
        this.#segmentSynchronized(now, segment);
    }
  }

  /** Options and ISN from the peer's SYN (in SYN-SENT or accept). */
  #receiveSyn(now: Micros, syn: TcpSegment): void {
    const o = scanOptions(syn.options);
    const c = this.#config;
    this.#irs = syn.seq;
    this.#receive = new ReceiveBuffer(1);
    const peerMss = o.mss ?? DEFAULT_PEER_MSS;
    this.#mssClamp = Math.max(64, Math.min(peerMss, c.mss));
    this.#windowScaling = c.windowScaling && o.windowShift !== undefined;
    if (this.#windowScaling) {
      this.#sendWindowShift = o.windowShift!;
      this.#receiveWindowShift = c.receiveWindowShift;
    }
    this.#sack = c.sack && o.sackPermitted;
    this.#timestamps = c.timestamps && o.hasTimestamps;
    if (this.#timestamps) {
      this.#tsRecent = o.tsVal;
      this.#tsRecentAt = now;
    }
    this.#sendMss = this.#mssClamp - (this.#timestamps ? TIMESTAMPS_SPACE : 0);
    this.#receiveMss = Math.min(c.mss, DEFAULT_PEER_MSS);
    // RFC 7323 2.2: the window field of a SYN is never scaled.
    this.#sendWindow = syn.window;
    this.#maxSendWindow = syn.window;
    this.#wl1 = 0;
    this.#lastReceiveAt = now;
    // What our SYN (or SYN/ACK) offers: its window field is never scaled.
    this.#advertisedEdge = 1 + Math.min(this.#receiveBuffer, 65535);
  }

  #segmentInSynSent(now: Micros, seg: TcpSegment): void {
    const flags = seg.flags;
    const hasAck = (flags & TcpFlags.ACK) !== 0;
    // RFC 9293 3.10.7.3, first: the ACK must acknowledge our SYN exactly (ISS < SEG.ACK =< SND.NXT).
    if (hasAck && seqDiff(seg.ack, this.#iss) !== 1) {
      if ((flags & TcpFlags.RST) === 0) this.#rstPending = { seq: seg.ack, ack: undefined };
      return;
    }
    if ((flags & TcpFlags.RST) !== 0) {
      // Second: a RST is only believed with an acceptable ACK (RFC 5961 3: blind resets need the ACK).
      if (hasAck) this.#fail({ code: 'ECONNREFUSED', message: 'connection refused: RST in answer to our SYN' });
      return;
    }
    if ((flags & TcpFlags.SYN) === 0) return;
    this.#receiveSyn(now, seg);
    this.#ackNow = true;
    if (hasAck) {
      this.#una = 1;
      this.#wl2 = 1;
      this.#handshakeRttSample(now, seg);
      this.#enterEstablished(now);
    } else {
      // Simultaneous open (RFC 9293 figure 7): answer with SYN/ACK from our same ISN.
      this.#state = { name: 'SYN-RECEIVED', passive: false };
      this.#synPending = true;
    }
  }

  #handshakeRttSample(now: Micros, seg: TcpSegment): void {
    if (this.#timestamps) {
      const o = scanOptions(seg.options);
      if (o.hasTimestamps && o.tsEcr !== 0) {
        this.#rtt.sample(timestampRtt(now, o.tsEcr));
        return;
      }
    }
    // Karn: no sample when the SYN was retransmitted.
    if (this.#synRetransmits === 0 && this.#synSentAt >= 0) this.#rtt.sample(now - this.#synSentAt);
  }

  #segmentSynchronized(now: Micros, seg: TcpSegment): void {
    const receive = this.#receive!;
    const flags = seg.flags;
    const isRst = (flags & TcpFlags.RST) !== 0;
    const isSyn = (flags & TcpFlags.SYN) !== 0;
    const isFin = (flags & TcpFlags.FIN) !== 0;
    const payload = seg.payload;
    const o = scanOptions(seg.options);
    const rcvNxt = receive.nxt;
    const position = rcvNxt + seqDiff(seg.seq, this.#wireReceive(rcvNxt));
    const segLength = payload.length + (isSyn ? 1 : 0) + (isFin ? 1 : 0);
    this.#lastReceiveAt = now;
    this.#keepaliveProbes = 0;

    // RFC 7323 5.3 R1 (PAWS), before the sequence check; RSTs are exempt (Linux tcp_paws_discard).
    if (this.#timestamps && o.hasTimestamps && !isRst) {
      if (now - this.#tsRecentAt > PAWS_IDLE_LIMIT_MICROS) {
        this.#tsRecent = o.tsVal; // 5.5: TS.Recent expired, so accept the new value
        this.#tsRecentAt = now;
      } else if (seqDiff(o.tsVal, this.#tsRecent) < 0) {
        this.#ackNow = true;
        return;
      }
    }

    // First: sequence number acceptability (RFC 9293 3.10.7.4), as Linux's tcp_sequence: the segment must
    // end at or after RCV.NXT and start no later than the right window edge.
    const window = Math.max(0, this.#advertisedEdge - rcvNxt);
    if (position + segLength < rcvNxt || position > rcvNxt + window) {
      if (!isRst) {
        this.#ackNow = true; // "send an acknowledgment ... and drop"
        // RFC 2883 4.1: an old duplicate is reported in a D-SACK block (Linux tcp_send_dupack).
        if (position < rcvNxt && payload.length > 0) this.#setDsack(position, Math.min(position + payload.length, rcvNxt));
      }
      return;
    }

    // Second: RST (RFC 5961 3.2).
    if (isRst) {
      if (position === rcvNxt) this.#receiveReset();
      else this.#ackNow = true; // challenge ACK: in window but not exact
      return;
    }

    // RFC 7323 4.3 (2): TS.Recent update when SEG.SEQ =< Last.ACK.sent.
    if (this.#timestamps && o.hasTimestamps && position <= this.#lastAckSent && seqDiff(o.tsVal, this.#tsRecent) >= 0) {
      this.#tsRecent = o.tsVal;
      this.#tsRecentAt = now;
    }

    // Fourth: SYN in a synchronized state (RFC 5961 4.2: challenge ACK).
    if (isSyn) {
      const state = this.#state;
      const hasAck = (flags & TcpFlags.ACK) !== 0;
      if (state.name === 'SYN-RECEIVED' && position === 0 && !hasAck) {
        this.#synPending = true; // a retransmitted SYN: our SYN/ACK was lost
        return;
      }
      // Simultaneous open: the peer's SYN/ACK for our SYN completes the handshake (as Linux's
      // tcp_validate_incoming lets it pass); any other SYN gets a challenge ACK.
      if (!(state.name === 'SYN-RECEIVED' && !state.passive && hasAck && position === 0 && this.#ackPosition(seg.ack) === 1)) {
        this.#ackNow = true;
        return;
      }
    }

    // Fifth: ACK field.
    if ((flags & TcpFlags.ACK) === 0) return;
    const ackPosition = this.#ackPosition(seg.ack);
    if (this.#state.name === 'SYN-RECEIVED') {
      if (ackPosition !== 1) {
        this.#rstPending = { seq: seg.ack, ack: undefined };
        return;
      }
      this.#una = 1;
      this.#sendWindow = seg.window << this.#sendWindowShift;
      this.#maxSendWindow = Math.max(this.#maxSendWindow, this.#sendWindow);
      this.#wl1 = position;
      this.#wl2 = ackPosition;
      this.#handshakeRttSample(now, seg);
      this.#enterEstablished(now);
    }
    // RFC 5961 5.2: acceptable when SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.NXT.
    if (ackPosition > this.#nxt || ackPosition < this.#una - Math.max(this.#maxSendWindow, 1)) {
      this.#ackNow = true;
      return;
    }
    this.#processAck(now, seg, position, ackPosition, o);
    if (this.#state.name === 'CLOSED') return;

    // Seventh: segment text.
    if (payload.length > 0) {
      const name = this.#state.name;
      if (name === 'ESTABLISHED' || name === 'FIN-WAIT-1' || name === 'FIN-WAIT-2') {
        if (this.#appClosed && position + payload.length > receive.nxt) {
          // Linux: data for a socket the application closed is answered with RST (TCPAbortOnData).
          this.#sendReset();
          this.#enterClosed(undefined);
          return;
        }
        this.#receiveData(now, position, payload, o);
      } else if (position < receive.nxt) {
        this.#ackNow = true; // a retransmission of data before the peer's FIN
      }
    }

    // Eighth: FIN.
    if (isFin) {
      const name = this.#state.name;
      if (name === 'CLOSE-WAIT' || name === 'CLOSING' || name === 'LAST-ACK') {
        this.#ackNow = true;
      } else if (name === 'TIME-WAIT') {
        // RFC 9293: "Acknowledge it, and restart the 2 MSL timeout."
        this.#ackNow = true;
        this.#timers.set(TcpTimer.TimeWait, now + this.#config.timeWaitMicros);
      } else if (this.#peerFinAt < 0) {
        this.#peerFinAt = position + payload.length;
      }
    }
    if (this.#peerFinAt >= 0 && !this.#finReceived && receive.nxt === this.#peerFinAt) this.#receiveFin(now);
  }

  #receiveReset(): void {
    const state = this.#state;
    switch (state.name) {
      case 'SYN-RECEIVED':
        this.#fail(
          state.passive
            ? { code: 'ECONNRESET', message: 'connection reset by peer during the handshake' }
            : { code: 'ECONNREFUSED', message: 'connection refused: RST in answer to our SYN/ACK' },
        );
        return;
      case 'CLOSING':
      case 'LAST-ACK':
      case 'TIME-WAIT':
        this.#enterClosed(undefined);
        return;
      default:
        this.#fail({ code: 'ECONNRESET', message: 'connection reset by peer' });
    }
  }

  #receiveFin(now: Micros): void {
    const receive = this.#receive!;
    receive.nxt += 1;
    this.#finReceived = true;
    this.#ackNow = true;
    if (receive.readable === 0) this.#reportEnd();
    switch (this.#state.name) {
      case 'ESTABLISHED':
        this.#state = STATE_CLOSE_WAIT;
        return;
      case 'FIN-WAIT-1':
        // Our FIN not yet acknowledged: simultaneous close.
        this.#state = STATE_CLOSING;
        return;
      case 'FIN-WAIT-2':
        this.#enterTimeWait(now);
        return;
      default:
        return;
    }
  }

  #receiveData(now: Micros, position: number, payload: Uint8Array, o: ParsedOptions): void {
    const receive = this.#receive!;
    // Trim to the advertised window; bytes beyond its right edge are dropped.
    const edge = Math.max(this.#advertisedEdge, receive.nxt);
    let data = payload;
    if (position + data.length > edge) {
      if (position >= edge) {
        this.#ackNow = true;
        return;
      }
      data = data.subarray(0, edge - position);
    }
    if (payload.length > this.#receiveMss) this.#receiveMss = Math.min(payload.length, this.#config.mss);
    const before = receive.nxt;
    const result = receive.insert(position, data);
    if (receive.duplicateStart >= 0) this.#setDsack(receive.duplicateStart, receive.duplicateEnd);
    // Receiver RTT for autotuning (Linux tcp_rcv_rtt_measure / _ts).
    if (this.#timestamps && o.hasTimestamps) {
      if (o.tsEcr !== 0) this.#receiveRttSample(timestampRtt(now, o.tsEcr));
    } else if (this.#receiveRttEnd < 0) {
      this.#receiveRttEnd = receive.nxt + Math.max(1, this.#advertisedEdge - receive.nxt);
      this.#receiveRttAt = now;
    } else if (receive.nxt >= this.#receiveRttEnd) {
      this.#receiveRttSample(now - this.#receiveRttAt);
      this.#receiveRttEnd = -1;
    }
    switch (result) {
      case InsertResult.Duplicate:
      case InsertResult.OutOfOrder:
      case InsertResult.FilledGap:
        // RFC 5681 4.2: out-of-order and gap-filling segments are ACKed immediately (Linux quickack).
        this.#ackNow = true;
        break;
      case InsertResult.InOrder:
        this.#unackedBytes += receive.nxt - before;
        if (!this.#config.delayedAck || this.#unackedBytes >= 2 * this.#receiveMss) this.#ackNow = true;
        else if (!this.#timers.isArmed(TcpTimer.DelayedAck)) this.#timers.set(TcpTimer.DelayedAck, now + this.#config.delayedAckMicros);
        break;
    }
    if (receive.readable > 0 && !this.#readableReported) {
      this.#readableReported = true;
      this.#emit({ type: 'readable' });
    }
  }

  /** RFC 2883 4: the next ACK reports [start, end) as duplicate in its first SACK block. */
  #setDsack(start: number, end: number): void {
    if (!this.#sack || end <= start) return;
    this.#dsackStart = start;
    this.#dsackStop = end;
    this.#ackNow = true;
  }

  #receiveRttSample(sample: Micros): void {
    const previous = this.#receiveRtt;
    this.#receiveRtt = previous === undefined ? sample : Math.min(sample, previous * 0.875 + sample * 0.125);
  }

  // ------------------------------------------------------------------------------------------------
  // ACK processing and loss recovery

  /**
   * RFC 6675 pipe, in bytes, as Linux's packets_in_flight: outstanding bytes minus SACKed bytes (or, without
   * SACK, the segments dupACKs stood for) minus bytes marked lost and not retransmitted since.
   */
  #pipe(): number {
    const outstanding = this.#nxt - this.#una;
    if (outstanding <= 0) return 0;
    let sacked: number;
    const scoreboard = this.#scoreboard;
    if (this.#sack) sacked = scoreboard === undefined ? 0 : scoreboard.sackedBytes;
    else sacked = Math.min(outstanding, this.#renoSacked * this.#sendMss);
    const pipe = outstanding - sacked - this.#sent.lostBytes;
    return pipe > 0 ? pipe : 0;
  }

  #processAck(now: Micros, seg: TcpSegment, position: number, ackPosition: number, o: ParsedOptions): void {
    const priorUna = this.#una;
    const priorInFlight = this.#pipe();
    const cwnd = this.#cc.cwnd;
    this.#probesOut = 0;
    const rack = this.#rack;
    rack.advanced = false;
    this.#dsackEnd = -1;

    let newlySacked = 0;
    const blocks = o.sackBlocks;
    if (this.#sack && blocks !== undefined) newlySacked = this.#processSackBlocks(now, blocks, ackPosition);

    // Send window update (RFC 9293 3.10.7.4 fifth, ESTABLISHED).
    const window = seg.window << this.#sendWindowShift;
    const windowChanged = window !== this.#sendWindow;
    if (this.#wl1 < position || (this.#wl1 === position && this.#wl2 <= ackPosition)) {
      const opened = window > this.#sendWindow;
      this.#sendWindow = window;
      if (window > this.#maxSendWindow) this.#maxSendWindow = window;
      this.#wl1 = position;
      this.#wl2 = ackPosition;
      if (opened && window > 0 && this.#timers.isArmed(TcpTimer.Persist)) {
        this.#timers.stop(TcpTimer.Persist);
        this.#persistBackoff = 0;
      }
    }

    let acked = 0;
    let rttSample: Micros | undefined;
    if (ackPosition > priorUna) {
      acked = ackPosition - priorUna;
      this.#una = ackPosition;
      this.#sendBuffer.release(ackPosition - 1);
      this.#scoreboard?.advance(ackPosition);
      this.#sent.acknowledge(ackPosition, this.#onCumulativelyAcked);
      this.#rtoCount = 0;
      this.#dupAcks = 0;
      // RTTM (RFC 7323 4.1) from TSecr on ACKs that advance the left edge; otherwise Karn's timed segment.
      if (this.#timestamps && o.hasTimestamps && o.tsEcr !== 0) {
        rttSample = timestampRtt(now, o.tsEcr);
      } else if (this.#timedEnd >= 0 && ackPosition >= this.#timedEnd) {
        rttSample = now - this.#timedAt;
        this.#timedEnd = -1;
      }
      if (rttSample !== undefined) this.#rtt.sample(rttSample);
      // RFC 6298 5.2 / 5.3: stop the timer when all is acknowledged, else restart it.
      if (this.#una >= this.#nxt) {
        this.#timers.stop(TcpTimer.Retransmit);
        this.#timers.stop(TcpTimer.LossProbe);
        this.#timers.stop(TcpTimer.ReorderTimeout);
      } else this.#timers.set(TcpTimer.Retransmit, now + this.#rtt.rto);
      if (this.#writeBlocked && this.writableBytes >= this.#config.sendBufferBytes / 2) {
        this.#writeBlocked = false;
        this.#emit({ type: 'writable' });
      }
      if (!this.#sack && this.#renoSacked > 0) {
        // Linux tcp_remove_reno_sacks: the cumulative ACK covers segments the dupACKs stood for.
        this.#renoSacked = Math.max(0, this.#renoSacked - Math.max(0, Math.ceil(acked / this.#sendMss) - 1));
      }
    } else if (
      ackPosition === priorUna &&
      this.#nxt > priorUna &&
      seg.payload.length === 0 &&
      (seg.flags & (TcpFlags.SYN | TcpFlags.FIN)) === 0 &&
      (!windowChanged || newlySacked > 0)
    ) {
      // RFC 5681 2: a duplicate acknowledgment.
      this.#dupAcks++;
      if (!this.#sack) {
        const outstandingSegments = Math.ceil((this.#nxt - this.#una) / this.#sendMss);
        if (this.#renoSacked + 1 < outstandingSegments) this.#renoSacked++;
      }
    }

    // Spurious retransmissions (Eifel, D-SACK) and the tail loss probe's outcome.
    this.#detectSpurious(now, o, acked > 0);
    if (this.#tlpEnd >= 0) this.#tlpProcessAck(now, ackPosition, acked > 0 || newlySacked > 0);

    // Recovery state machine.
    const wasInFastRecovery = this.#recovery === Recovery.Fast;
    let reported = false;
    let recoveryEnded = false;
    if (this.#recovery !== Recovery.None && this.#una >= this.#recoveryPoint) {
      const kind = this.#recovery;
      this.#recovery = Recovery.None;
      this.#renoSacked = 0;
      this.#dupAcks = 0;
      recoveryEnded = true;
      if (kind === Recovery.Fast) {
        this.#reportAck(now, acked + newlySacked, priorInFlight, rttSample, cwnd, true);
        this.#cc.onRecoveryEnd(now);
        reported = true;
      }
    }
    if (this.#sack) {
      rack.updateReoWnd(this.#dsackEnd >= 0, this.#una, this.#nxt, recoveryEnded);
      if (rack.advanced && this.#nxt > this.#una) this.#rackDetectLoss(now);
    } else if (this.#recovery === Recovery.Fast) {
      if (acked > 0) {
        // RFC 6582 3.2 step 5, partial ACK: retransmit the first unacknowledged segment now, and reset the
        // retransmission timer on the first partial ACK only (the "Impatient" variant).
        const first = this.#sent.at(0);
        if (first !== undefined) this.#sent.markLost(first, first.start);
        this.#retransmitNow = true;
        if (priorUna === this.#recoveryEntryUna) this.#timers.set(TcpTimer.Retransmit, now + this.#rtt.rto);
      }
    } else if (this.#recovery === Recovery.None && this.#nxt > this.#una) {
      // RFC 6582 3.2 step 2: without SACK, dupACKs start recovery only when the ACK covers more than
      // "recover" (no repeated fast retransmits for one window).
      if (this.#dupAcks >= DUP_THRESH && this.#una >= this.#recoveryPoint) this.#enterFastRecovery(now);
    }
    // RFC 8985 7.2: restart the probe timer on an ACK that advances SND.UNA (outside recovery).
    if (acked > 0 && this.#nxt > this.#una) this.#armLossProbe(now);
    if (!reported) this.#reportAck(now, acked + newlySacked, priorInFlight, rttSample, cwnd, wasInFastRecovery);
    this.#afterAck(priorUna);
  }

  /** SND.UNA at the start of the current fast recovery (RFC 6582's "impatient" timer reset is once). */
  #recoveryEntryUna = 0;
  /** The next retransmission goes out regardless of cwnd (fast retransmit, NewReno partial ACK). */
  #retransmitNow = false;

  /** RACK detection (RFC 8985 6.2 step 5 and 6.3): mark, maybe start recovery, arm the reordering timer. */
  #rackDetectLoss(now: Micros): void {
    const sent = this.#sent;
    const reoWnd = this.#rack.reoWnd(this.#recovery !== Recovery.None, sent.sackedCount, this.#rtt.srtt, this.#rtt.minRtt);
    const { lost, timeout } = this.#rack.detectLoss(sent, now, reoWnd);
    if (lost > 0 && this.#recovery === Recovery.None) this.#enterFastRecovery(now);
    if (timeout > 0) this.#timers.set(TcpTimer.ReorderTimeout, now + timeout);
    else this.#timers.stop(TcpTimer.ReorderTimeout);
  }

  #enterFastRecovery(now: Micros): void {
    const outstanding = this.#nxt - this.#una;
    this.#recovery = Recovery.Fast;
    this.#recoveryPoint = this.#nxt;
    this.#recoveryEntryUna = this.#una;
    if (!this.#sack) {
      // NewReno's fast retransmit: the first unacknowledged segment is the lost one.
      const first = this.#sent.at(0);
      if (first !== undefined) this.#sent.markLost(first, first.start);
    }
    this.#startUndoEpisode();
    this.#timedEnd = -1;
    this.#retransmitNow = true;
    this.#timers.stop(TcpTimer.LossProbe);
    this.#cc.onCongestionEvent(now, outstanding);
  }

  /** A new congestion episode (Linux tcp_init_undo): its retransmissions are counted for undo. */
  #startUndoEpisode(): void {
    this.#undoMarker = this.#una;
    this.#undoRetrans = -1;
    this.#retransStamp = -1;
    this.#undoAckedRanges.length = 0;
  }

  /**
   * Spurious-retransmission detection, as Linux's tcp_try_undo_*:
   * - Eifel (RFC 3522 2): in recovery, an ACK advancing SND.UNA that echoes a timestamp older than the
   *   episode's first retransmission was triggered by an original transmission, so "the retransmission was
   *   spurious"; undone once no retransmission is in flight any more (Linux tcp_try_undo_partial / _loss);
   * - D-SACK (RFC 2883 5, RFC 3708): every retransmission of the episode was reported duplicate.
   */
  #detectSpurious(now: Micros, o: ParsedOptions, unaAdvanced: boolean): void {
    if (this.#undoMarker < 0 || this.#undoRetrans < 0) return;
    if (this.#undoRetrans === 0) {
      this.#undo(now, false);
      return;
    }
    if (
      unaAdvanced &&
      this.#recovery !== Recovery.None &&
      this.#timestamps &&
      o.hasTimestamps &&
      o.tsEcr !== 0 &&
      this.#retransStamp >= 0 &&
      seqDiff(o.tsEcr, this.#retransStamp) < 0 &&
      this.#sent.retransOutBytes === 0
    ) {
      this.#undo(now, true);
    }
  }

  /** Restores the congestion state from before the episode (Linux tcp_undo_cwnd_reduction). */
  #undo(now: Micros, unmarkLoss: boolean): void {
    this.#undos++;
    this.#cc.onUndo?.(now);
    this.#undoMarker = -1;
    this.#undoRetrans = -1;
    this.#retransStamp = -1;
    this.#undoAckedRanges.length = 0;
    // A spurious retransmission means the path reorders (or delayed the ACKs) more than assumed.
    this.#rack.reorderingSeen = true;
    if (unmarkLoss) this.#sent.unmarkAllLost();
    if (this.#recovery !== Recovery.None) {
      this.#recovery = Recovery.None;
      this.#recoveryPoint = this.#una;
      this.#renoSacked = 0;
      this.#dupAcks = 0;
    }
  }

  /** RFC 8985 7.4 TLP_process_ack, with Linux tcp_process_tlp_ack's choices. */
  #tlpProcessAck(now: Micros, ackPosition: number, progress: boolean): void {
    const end = this.#tlpEnd;
    if (ackPosition < end) return;
    if (!this.#tlpIsRetrans) {
      this.#tlpEnd = -1; // a probe of new data was delivered
    } else if (this.#dsackEnd >= end) {
      this.#tlpEnd = -1; // "the retransmission is a dupe": the original arrived, nothing was lost
    } else if (ackPosition > end) {
      // "Repaired the single loss": react to it as to a loss (Linux: a CWR-style reduction, no recovery).
      this.#tlpEnd = -1;
      if (this.#recovery === Recovery.None) {
        this.#cc.onCongestionEvent(now, this.#nxt - this.#una);
        this.#cc.onRecoveryEnd(now);
      }
    } else if (!progress) {
      this.#tlpEnd = -1; // a pure dupACK at TLP.end_seq: original and probe both arrived
    }
  }

  /**
   * RFC 8985 7.2: arm the probe timeout, PTO = 2 * SRTT (+ the worst-case delayed ACK when one segment is in
   * flight; Linux adds the minimum RTO), never later than the RTO. Only with SACK, outside recovery and while
   * nothing is SACKed (RACK then covers the tail).
   */
  #armLossProbe(now: Micros): void {
    if (!this.#sack || this.#recovery !== Recovery.None || this.#sent.sackedCount > 0 || this.#nxt <= this.#una) return;
    const srtt = this.#rtt.srtt;
    let pto: Micros;
    if (srtt === undefined) pto = 1_000_000;
    else {
      pto = Math.round(2 * srtt);
      if (this.#nxt - this.#una <= this.#sendMss) pto += this.#config.rtoMinMicros;
    }
    let at = now + pto;
    const rtoAt = this.#timers.get(TcpTimer.Retransmit);
    if (rtoAt !== undefined && rtoAt < at) at = rtoAt;
    this.#timers.set(TcpTimer.LossProbe, at);
  }

  /** A record below the new SND.UNA (not SACKed before): RACK's view of a cumulative delivery. */
  readonly #onCumulativelyAcked = (record: SentSegment): void => {
    if (!this.#sack) return;
    const flags = record.flags;
    if ((flags & SegmentFlag.Sacked) === 0) this.#rack.onDelivered(record, this.#now);
    if (this.#undoMarker >= 0 && (flags & (SegmentFlag.EverRetransmitted | SegmentFlag.DsackCounted)) === SegmentFlag.EverRetransmitted) {
      this.#undoAckedRanges.push(record.start, record.end);
    }
  };

  /** Newly SACKed range [start, end) from the scoreboard: mark the records (splitting at the edges). */
  readonly #onNewlySacked = (start: number, end: number): void => {
    const sent = this.#sent;
    sent.splitAt(start);
    sent.splitAt(end);
    let i = sent.indexOf(start);
    if (i < 0) return;
    for (let record = sent.at(i); record !== undefined && record.start < end; record = sent.at(++i)) {
      if ((record.flags & SegmentFlag.Sacked) !== 0) continue;
      this.#rack.onDelivered(record, this.#now);
      sent.markSacked(record);
    }
  };

  #reportAck(now: Micros, ackedBytes: number, priorInFlight: number, rtt: Micros | undefined, cwnd: number, inRecovery: boolean): void {
    if (ackedBytes <= 0) return;
    const slowStart = cwnd < this.#cc.ssthresh;
    const cwndLimited =
      this.#cwndLimited || priorInFlight + this.#sendMss > cwnd || (slowStart && 2 * priorInFlight >= cwnd);
    this.#cwndLimited = false;
    const srtt = this.#rtt.srtt;
    this.#cc.onAck(now, {
      ackedBytes,
      priorInFlight,
      rttMicros: rtt,
      srttMicros: srtt === undefined ? undefined : Math.round(srtt),
      minRttMicros: this.#rtt.minRtt,
      appLimited: !cwndLimited,
      inRecovery,
    });
  }

  #afterAck(priorUna: number): void {
    const finAt = this.#sendBuffer.end + 1;
    if (this.#finSent && this.#una > finAt && priorUna <= finAt) {
      switch (this.#state.name) {
        case 'FIN-WAIT-1':
          this.#state = STATE_FIN_WAIT_2;
          if (this.#appClosed) this.#timers.set(TcpTimer.FinWait2, this.#now + this.#config.timeWaitMicros);
          break;
        case 'CLOSING':
          this.#enterTimeWait(this.#now);
          break;
        case 'LAST-ACK':
          this.#enterClosed(undefined);
          break;
        default:
          break;
      }
    }
  }

  /**
   * Validates and records SACK blocks (RFC 2018 5, RFC 6675 3); returns newly SACKed bytes. A first block
   * below the cumulative ACK or inside the second block is a D-SACK (RFC 2883 4, Linux tcp_check_dsack).
   */
  #processSackBlocks(now: Micros, blocks: ReadonlyArray<readonly [number, number]>, ackPosition: number): number {
    let added = 0;
    const una = Math.max(this.#una, ackPosition);
    const base = this.#wireSend(una);
    for (let k = 0; k < blocks.length; k++) {
      const block = blocks[k]!;
      const start = una + seqDiff(block[0], base);
      const end = una + seqDiff(block[1], base);
      if (end <= start) continue;
      if (k === 0) {
        let dsack = start < ackPosition;
        if (!dsack && blocks.length > 1) {
          const start1 = una + seqDiff(blocks[1]![0], base);
          const end1 = una + seqDiff(blocks[1]![1], base);
          dsack = start >= start1 && end <= end1;
        }
        if (dsack) {
          this.#onDsack(now, start, end);
          continue;
        }
      }
      // Ignore blocks that are below SND.UNA, beyond SND.MAX or inverted.
      if (start <= una - 1 || end > this.#nxt) continue;
      const scoreboard = (this.#scoreboard ??= new Scoreboard());
      added += scoreboard.add(Math.max(start, una), end, this.#onNewlySacked);
    }
    return added;
  }

  /**
   * A D-SACK for [start, end): for RACK's reordering window (RFC 8985 6.2 step 4), the tail loss probe, and
   * undo accounting. Linux tcp_sacktag_one / tcp_check_dsack: a D-SACK at or above the episode's start
   * counts against its retransmissions (below SND.UNA the records are gone: counted by length, "dumb"
   * counting; above it only segments that were retransmitted count).
   */
  #onDsack(_now: Micros, start: number, end: number): void {
    if (end > this.#dsackEnd) this.#dsackEnd = end;
    if (this.#undoMarker < 0 || this.#undoRetrans <= 0 || end <= this.#undoMarker) return;
    let segments = 0;
    if (start < this.#una) {
      // Below SND.UNA: the retransmitted segments acknowledged in this episode that the D-SACK covers.
      const ranges = this.#undoAckedRanges;
      let lo = 0;
      let hi = ranges.length >> 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (ranges[2 * mid + 1]! > start) hi = mid;
        else lo = mid + 1;
      }
      for (let k = 2 * lo; k < ranges.length && ranges[k]! < end; k += 2) {
        if (ranges[k + 1]! > ranges[k]!) {
          segments++;
          ranges[k + 1] = ranges[k]!; // counted once
        }
      }
    } else {
      const sent = this.#sent;
      let i = sent.indexOf(start);
      if (i < 0) return;
      for (let record = sent.at(i); record !== undefined && record.start < end; record = sent.at(++i)) {
        if ((record.flags & (SegmentFlag.EverRetransmitted | SegmentFlag.DsackCounted)) === SegmentFlag.EverRetransmitted) {
          record.flags |= SegmentFlag.DsackCounted;
          segments++;
        }
      }
    }
    if (segments === 0) return;
    this.#rack.reorderingSeen = true;
    this.#undoRetrans = Math.max(0, this.#undoRetrans - segments);
  }

  // ------------------------------------------------------------------------------------------------
  // Timers

  /** Runs every timer whose deadline is at or before `now`. */
  handleTimeout(now: Micros): void {
    this.#now = now;
    const timers = this.#timers;
    if (timers.expired(TcpTimer.TimeWait, now)) {
      timers.stop(TcpTimer.TimeWait);
      this.#enterClosed(undefined);
      return;
    }
    if (timers.expired(TcpTimer.FinWait2, now)) {
      timers.stop(TcpTimer.FinWait2);
      this.#enterClosed(undefined);
      return;
    }
    if (timers.expired(TcpTimer.LossProbe, now)) {
      timers.stop(TcpTimer.LossProbe);
      this.#onLossProbeTimeout(now);
    }
    if (timers.expired(TcpTimer.Retransmit, now)) {
      timers.stop(TcpTimer.Retransmit);
      this.#onRetransmitTimeout(now);
      if (this.#state.name === 'CLOSED') return;
    }
    if (timers.expired(TcpTimer.ReorderTimeout, now)) {
      timers.stop(TcpTimer.ReorderTimeout);
      // RFC 8985 6.3 (Linux tcp_rack_reo_timeout): the reordering window of some segment ended.
      if (this.#sack && this.#nxt > this.#una) this.#rackDetectLoss(now);
    }
    if (timers.expired(TcpTimer.DelayedAck, now)) {
      timers.stop(TcpTimer.DelayedAck);
      if (this.#unackedBytes > 0) this.#ackNow = true;
    }
    if (timers.expired(TcpTimer.Persist, now)) {
      timers.stop(TcpTimer.Persist);
      this.#onPersistTimeout(now);
      if (this.#state.name === 'CLOSED') return;
    }
    if (timers.expired(TcpTimer.Keepalive, now)) {
      timers.stop(TcpTimer.Keepalive);
      this.#onKeepaliveTimeout(now);
    }
  }

  #onRetransmitTimeout(now: Micros): void {
    const name = this.#state.name;
    const c = this.#config;
    if (name === 'SYN-SENT' || name === 'SYN-RECEIVED') {
      if (this.#synRetransmits >= c.maxSynRetransmits) {
        this.#fail({
          code: 'ETIMEDOUT',
          message: `connection timed out: no answer after ${this.#synRetransmits} ${name === 'SYN-SENT' ? 'SYN' : 'SYN/ACK'} retransmissions`,
        });
        return;
      }
      this.#synRetransmits++;
      this.#timeouts++;
      this.#retransmits++;
      this.#rtt.backOff();
      this.#synPending = true;
      return;
    }
    if (this.#una >= this.#nxt) return;
    if (this.#rtoCount >= c.maxRetransmits) {
      this.#fail({
        code: 'ETIMEDOUT',
        message: `retransmission limit reached: ${this.#rtoCount} retransmissions of sequence ${this.#wireSend(this.#una)} unacknowledged`,
      });
      return;
    }
    this.#rtoCount++;
    this.#timeouts++;
    this.#cc.onRetransmissionTimeout(now, this.#nxt - this.#una);
    this.#rtt.backOff();
    // Linux tcp_enter_loss: a new undo episode unless one is running (an RTO during recovery, or a repeated
    // RTO, undoes back to before the first reduction); everything outstanding and not SACKed is lost.
    if (this.#recovery === Recovery.None) this.#startUndoEpisode();
    this.#recovery = Recovery.Loss;
    this.#recoveryPoint = this.#nxt;
    this.#sent.markAllLost();
    this.#dupAcks = 0;
    this.#renoSacked = 0;
    this.#timedEnd = -1;
    this.#tlpEnd = -1;
    this.#tlpPending = false;
    this.#timers.stop(TcpTimer.LossProbe);
    this.#timers.stop(TcpTimer.ReorderTimeout);
    this.#timers.set(TcpTimer.Retransmit, now + this.#rtt.rto);
  }

  /**
   * RFC 8985 7.3: the PTO fired. Send a probe unless one is outstanding (TLP.end_seq), and re-arm the RTO
   * ("After attempting to send a loss probe, regardless of whether a loss probe was sent, the sender MUST
   * re-arm the RTO timer, not the PTO timer").
   */
  #onLossProbeTimeout(now: Micros): void {
    if (this.#nxt <= this.#una || this.#recovery !== Recovery.None) return;
    if (this.#tlpEnd < 0) this.#tlpPending = true;
    this.#timers.set(TcpTimer.Retransmit, now + this.#rtt.rto);
  }

  #onPersistTimeout(now: Micros): void {
    if (this.#probesOut >= this.#config.maxRetransmits) {
      this.#fail({ code: 'ETIMEDOUT', message: `retransmission limit reached: ${this.#probesOut} zero-window probes unanswered` });
      return;
    }
    this.#probesOut++;
    this.#probePending = true;
    this.#persistBackoff++;
    this.#timers.set(TcpTimer.Persist, now + this.#persistInterval());
  }

  /** Linux tcp_probe0_when: the RTO shifted by the probe backoff, at most rtoMax. */
  #persistInterval(): Micros {
    return Math.min(this.#rtt.rto * 2 ** this.#persistBackoff, this.#config.rtoMaxMicros);
  }

  #armKeepalive(now: Micros): void {
    const keepalive = this.#config.keepalive;
    if (keepalive !== undefined) this.#timers.set(TcpTimer.Keepalive, now + keepalive.idleMicros);
  }

  #onKeepaliveTimeout(now: Micros): void {
    const keepalive = this.#config.keepalive;
    const name = this.#state.name;
    if (keepalive === undefined || !(name === 'ESTABLISHED' || name === 'CLOSE-WAIT' || name === 'FIN-WAIT-2')) return;
    const idle = now - this.#lastReceiveAt;
    if (this.#keepaliveProbes === 0 && idle < keepalive.idleMicros) {
      this.#timers.set(TcpTimer.Keepalive, this.#lastReceiveAt + keepalive.idleMicros);
      return;
    }
    // Linux tcp_keepalive_timer: no probes while data is outstanding or the window is probed.
    if (this.#nxt > this.#una || this.#timers.isArmed(TcpTimer.Persist)) {
      this.#timers.set(TcpTimer.Keepalive, now + keepalive.intervalMicros);
      return;
    }
    if (this.#keepaliveProbes >= keepalive.probes) {
      this.#fail({ code: 'ETIMEDOUT', message: `connection timed out: ${this.#keepaliveProbes} keepalive probes unanswered` });
      return;
    }
    this.#keepaliveProbes++;
    this.#probePending = true;
    this.#timers.set(TcpTimer.Keepalive, now + keepalive.intervalMicros);
  }

  // ------------------------------------------------------------------------------------------------
  // Receive window

  /** Autotuning once per receiver RTT (Linux tcp_rcv_space_adjust). */
  #autotune(): void {
    const rtt = this.#receiveRtt ?? this.#rtt.srtt;
    if (rtt === undefined) return;
    const now = this.#now;
    if (now - this.#markAt < rtt) return;
    const copied = this.#copiedSinceMark;
    this.#copiedSinceMark = 0;
    this.#markAt = now;
    if (copied <= this.#receiveSpace) return;
    const previous = this.#receiveSpace;
    this.#receiveSpace = copied;
    // Room for twice what the application consumed in one RTT, plus slack for reordering (Linux: 2 *
    // copied + 16 * advmss, and more when the rate is growing).
    let target = 2 * copied + 16 * this.#receiveMss;
    if (previous > 0) target += Math.min(target, Math.floor((target * (copied - previous)) / previous));
    const max = this.#config.receiveBufferMaxBytes;
    if (target > this.#receiveBuffer) this.#receiveBuffer = Math.min(max, target);
  }

  /** The right window edge we would offer now (before SWS avoidance). */
  #freeEdge(): number {
    const receive = this.#receive!;
    const free = this.#receiveBuffer - receive.readable - receive.oooBytes;
    return receive.nxt + (free > 0 ? free : 0);
  }

  /** Linux tcp_cleanup_rbuf: after a read, ACK if the window at least doubled. */
  #maybeWindowUpdate(): void {
    const receive = this.#receive;
    if (receive === undefined || this.#finReceived) return;
    const name = this.#state.name;
    if (name === 'CLOSED' || name === 'SYN-SENT' || name === 'SYN-RECEIVED' || name === 'TIME-WAIT') return;
    const current = Math.max(0, this.#advertisedEdge - receive.nxt);
    if (2 * current > this.#receiveBuffer) return;
    const next = this.#freeEdge() - receive.nxt;
    if (next >= 2 * current && next - current >= Math.min(this.#receiveMss, this.#receiveBuffer / 2)) this.#ackNow = true;
  }

  /** The window field for a segment carrying ACK, moving the advertised edge (never left). */
  #windowField(): number {
    const receive = this.#receive!;
    const shift = this.#receiveWindowShift;
    let edge = this.#advertisedEdge;
    const candidate = this.#freeEdge();
    // Receiver SWS avoidance (RFC 9293 3.8.6.2.2): move the edge by at least min(buffer/2, MSS).
    if (candidate - edge >= Math.min(this.#receiveBuffer / 2, this.#receiveMss) || edge < receive.nxt) edge = Math.max(edge, candidate);
    let window = edge - receive.nxt;
    if (window < 0) window = 0;
    let field = window >>> shift;
    if (receive.nxt + field * 2 ** shift < this.#advertisedEdge) field++; // round up rather than shrink
    if (field > 65535) field = 65535;
    this.#advertisedEdge = Math.max(this.#advertisedEdge, receive.nxt + field * 2 ** shift);
    return field;
  }

  // ------------------------------------------------------------------------------------------------
  // Output

  /** The next segment to send, or undefined; call until undefined. */
  pollTransmit(now: Micros): TcpSegmentRepr | undefined {
    this.#now = now;
    const rst = this.#rstPending;
    if (rst !== undefined) {
      this.#rstPending = undefined;
      return this.#emitReset(rst.seq, rst.ack);
    }
    const name = this.#state.name;
    switch (name) {
      case 'CLOSED':
        return undefined;
      case 'SYN-SENT':
        return this.#synPending ? this.#emitSyn(now, false) : undefined;
      case 'SYN-RECEIVED':
        if (this.#synPending) return this.#emitSyn(now, true);
        return this.#ackNow ? this.#emitAck(now, this.#nxt) : undefined;
      default:
        break;
    }
    if (this.#pureAckNow) {
      this.#pureAckNow = false;
      return this.#emitAck(now, this.#nxt);
    }
    if (name !== 'TIME-WAIT' && name !== 'FIN-WAIT-2') {
      const segment = this.#nextDataSegment(now);
      if (segment !== undefined) return segment;
    }
    if (this.#probePending) {
      this.#probePending = false;
      // Linux tcp_xmit_probe_skb: an ACK with an old sequence number makes the peer answer with its window.
      return this.#emitAck(now, this.#una - 1);
    }
    if (this.#ackNow) return this.#emitAck(now, this.#nxt);
    return undefined;
  }

  #emitReset(seq: number, ack: number | undefined): TcpSegmentRepr {
    this.#segmentsSent++;
    const flags = ack === undefined ? TcpFlags.RST : TcpFlags.RST | TcpFlags.ACK;
    const extra = this.#extension?.outgoingOptions?.('rst', { seq, ack: ack ?? 0, flags, payloadLength: 0 });
    return {
      srcPort: this.endpoints.localPort,
      dstPort: this.endpoints.remotePort,
      seq,
      ack: ack ?? 0,
      flags,
      window: 0,
      options: extra ?? NO_OPTIONS,
      payload: EMPTY,
    };
  }

  #emitSyn(now: Micros, withAck: boolean): TcpSegmentRepr {
    this.#synPending = false;
    const c = this.#config;
    const options: TcpOption[] = [{ kind: 'mss', mss: c.mss }];
    // Linux's order: MSS, SACK-permitted, timestamps, NOP, window scale (20 bytes).
    if (withAck) {
      if (this.#sack) options.push(SACK_PERMITTED);
      if (this.#timestamps) options.push({ kind: 'timestamps', tsVal: tsNow(now), tsEcr: this.#tsRecent });
      else if (this.#sack) options.push(NOP, NOP);
      if (this.#windowScaling) options.push(NOP, { kind: 'windowScale', shift: this.#receiveWindowShift });
    } else {
      if (c.sack) options.push(SACK_PERMITTED);
      if (c.timestamps) options.push({ kind: 'timestamps', tsVal: tsNow(now), tsEcr: 0 });
      if (c.windowScaling) options.push(NOP, { kind: 'windowScale', shift: c.receiveWindowShift });
    }
    const flags = withAck ? TcpFlags.SYN | TcpFlags.ACK : TcpFlags.SYN;
    const seq = this.#iss;
    const ack = withAck ? this.#wireReceive(this.#receive!.nxt) : 0;
    const extra = this.#extension?.outgoingOptions?.(withAck ? 'synAck' : 'syn', { seq, ack, flags, payloadLength: 0 });
    if (extra !== undefined) for (const option of extra) options.push(option);
    if (this.#synSentAt < 0) this.#synSentAt = now;
    if (!this.#timers.isArmed(TcpTimer.Retransmit)) this.#timers.set(TcpTimer.Retransmit, now + this.#rtt.rto);
    this.#segmentsSent++;
    if (withAck) {
      this.#lastAckSent = this.#receive!.nxt;
      this.#ackNow = false;
      this.#advertisedEdge = this.#receive!.nxt + Math.min(this.#receiveBuffer, 65535);
    }
    return {
      srcPort: this.endpoints.localPort,
      dstPort: this.endpoints.remotePort,
      seq,
      ack,
      flags,
      // RFC 7323 2.2: the window in a SYN is not scaled.
      window: Math.min(this.#receiveBuffer, 65535),
      options,
      payload: EMPTY,
    };
  }

  /** Options for a synchronized segment: timestamps, SACK blocks (the receiver has out-of-order data). */
  /**
   * Timestamps and SACK blocks for a segment whose extension options take `reserved` bytes. `extraBytes`:
   * what the extension actually added; when even the timestamps do not fit beside it (40 bytes in all),
   * they are left out of this segment.
   */
  #segmentOptions(now: Micros, reserved = 0, extraBytes = 0): TcpOption[] | undefined {
    let options: TcpOption[] | undefined;
    if (this.#timestamps && TIMESTAMPS_SPACE + ((extraBytes + 3) & ~3) <= 40) {
      options = [NOP, NOP, { kind: 'timestamps', tsVal: tsNow(now), tsEcr: this.#tsRecent }];
    }
    if (this.#sack) {
      const blocks = this.#sackBlocksToSend(reserved);
      if (blocks.length > 0) {
        const wire: Array<readonly [number, number]> = [];
        for (const block of blocks) wire.push([this.#wireReceive(block[0]), this.#wireReceive(block[1])]);
        (options ??= []).push(NOP, NOP, { kind: 'sack', blocks: wire });
      }
    }
    return options;
  }

  /**
   * RFC 2018 3: at most 4 blocks, 3 alongside timestamps. A pending D-SACK goes first (RFC 2883 4: "the
   * first SACK block is used to report ... the duplicate"), followed by the SACK blocks, the one containing
   * the duplicate (when above RCV.NXT) first since it holds the latest segment.
   */
  #sackBlocksToSend(reserved = 0): ReadonlyArray<readonly [number, number]> {
    const receive = this.#receive!;
    // 40 option bytes, minus timestamps and what the extension reserves; a SACK option is 2 NOPs + 2 + 8n.
    const max = Math.min(4, Math.floor((40 - (this.#timestamps ? TIMESTAMPS_SPACE : 0) - reserved - 4) / 8));
    if (max <= 0) return NO_BLOCKS;
    if (this.#dsackStart < 0) return receive.hasOutOfOrder ? receive.sackBlocks(max) : NO_BLOCKS;
    const blocks: Array<readonly [number, number]> = [[this.#dsackStart, this.#dsackStop]];
    if (receive.hasOutOfOrder) for (const block of receive.sackBlocks(max - 1)) blocks.push(block);
    return blocks;
  }

  /** Option bytes the next data segment will carry (ours plus the extension's reservation), padded. */
  #optionSpace(): number {
    let bytes = this.#timestamps ? TIMESTAMPS_SPACE : 0;
    if (this.#sack) {
      const n = this.#sackBlocksToSend(this.#extension?.reservedOptionBytes ?? 0).length;
      if (n > 0) bytes += 4 + 8 * n;
    }
    bytes += this.#extension?.reservedOptionBytes ?? 0;
    return (bytes + 3) & ~3;
  }

  /** Bookkeeping for every segment carrying an ACK; returns the window field. */
  #onAckSent(): number {
    const receive = this.#receive!;
    this.#lastAckSent = receive.nxt;
    this.#ackNow = false;
    this.#dsackStart = -1; // RFC 2883 4: a D-SACK is reported once
    this.#unackedBytes = 0;
    this.#timers.stop(TcpTimer.DelayedAck);
    this.#segmentsSent++;
    return this.#windowField();
  }

  #emitAck(now: Micros, seqPosition: number): TcpSegmentRepr {
    const seq = this.#wireSend(seqPosition);
    const ack = this.#wireReceive(this.#receive!.nxt);
    const extension = this.#extension;
    // The extension's options first (Linux writes MPTCP's before fitting SACK blocks): SACK blocks take
    // what room is left, and a timestamp never pushes the total past 40 bytes.
    const extra = extension?.outgoingOptions?.('ack', { seq, ack, flags: TcpFlags.ACK, payloadLength: 0 });
    const extraBytes = extra !== undefined && extra.length > 0 ? tcpOptionsLength(extra) : 0;
    let options: readonly TcpOption[] = this.#segmentOptions(now, Math.max(extension?.reservedAckOptionBytes ?? 0, extraBytes), extraBytes) ?? NO_OPTIONS;
    if (extra !== undefined && extra.length > 0) options = options.length > 0 ? [...options, ...extra] : extra;
    const window = this.#onAckSent();
    return {
      srcPort: this.endpoints.localPort,
      dstPort: this.endpoints.remotePort,
      seq,
      ack,
      flags: TcpFlags.ACK,
      window,
      options,
      payload: EMPTY,
    };
  }

  /** The next data or FIN segment to send: a loss probe, a retransmission of a lost segment, or new data. */
  #nextDataSegment(now: Micros): TcpSegmentRepr | undefined {
    const dataEnd = this.#sendBuffer.end + 1;
    const finPending = this.#finQueued && !this.#finSent;
    const sent = this.#sent;
    if (this.#nxt >= dataEnd && !finPending && sent.lostBytes <= 0 && !this.#tlpPending) {
      // Nothing new to send: the application is the limit.
      return undefined;
    }
    const payloadMax = Math.max(1, this.#mssClamp - this.#optionSpace());
    if (this.#tlpPending) {
      this.#tlpPending = false;
      const probe = this.#lossProbe(now, dataEnd, payloadMax);
      if (probe !== undefined) {
        this.#lossProbes++;
        return probe;
      }
    }
    const cwnd = this.#cc.cwnd;
    const pipe = this.#pipe();

    // RFC 6675 NextSeg (1): the first segment marked lost (by RACK, NewReno or the RTO) not retransmitted since.
    const lost = sent.lostBytes > 0 ? sent.firstLost() : undefined;
    if (lost !== undefined) {
      const start = lost.start;
      // RFC 6675 4.3 / RFC 6582 3.2 (4, 5): the first retransmission of an episode and the one answering
      // a NewReno partial ACK go out regardless of cwnd; the rest only while cwnd - pipe allows.
      const forced = this.#retransmitNow;
      this.#retransmitNow = false;
      if (!forced && cwnd - pipe < Math.min(payloadMax, lost.end - start) && pipe > 0) {
        this.#cwndLimited = true;
        return undefined;
      }
      if (lost.end - start > payloadMax) sent.splitAt(start + payloadMax);
      return this.#retransmit(now, lost, dataEnd);
    }

    // NextSeg (2): new data within the send and congestion windows.
    const available = dataEnd - this.#nxt;
    if (available > 0) {
      const windowRoom = this.#una + this.#sendWindow - this.#nxt;
      const limit = this.#segmentLimit(payloadMax);
      let length = Math.min(limit, available);
      if (windowRoom < length) {
        // Sender SWS avoidance (RFC 9293 3.8.6.2.1): a partial segment only if it is at least half the
        // largest window the peer has offered.
        if (windowRoom > 0 && windowRoom >= this.#maxSendWindow / 2) length = windowRoom;
        else {
          this.#armPersistIfIdle(now);
          return undefined;
        }
      }
      if (cwnd - pipe < length) {
        this.#cwndLimited = true;
        return undefined;
      }
      // Nagle (RFC 896) in Minshall's form as Linux: hold a small tail while a small segment is unacked.
      if (length < payloadMax && length === available && !this.#noDelay && !this.#finQueued && this.#lastSmallEnd > this.#una) {
        return undefined;
      }
      return this.#sendNewData(now, length, dataEnd, limit);
    }

    // A FIN on its own (all data already sent).
    if (finPending && this.#nxt === dataEnd) {
      if (this.#una + this.#sendWindow - this.#nxt < 1 && this.#nxt > this.#una) return undefined;
      const start = this.#nxt;
      this.#nxt = start + 1;
      this.#finSent = true;
      this.#timers.stop(TcpTimer.Persist);
      if (!this.#timers.isArmed(TcpTimer.Retransmit)) this.#timers.set(TcpTimer.Retransmit, now + this.#rtt.rto);
      sent.push(start, start + 1, now);
      this.#armLossProbe(now);
      return this.#emitData(now, start, EMPTY, true);
    }
    return undefined;
  }

  /** The payload limit of a new segment at SND.NXT: the MSS, or less at the extension's boundary. */
  #segmentLimit(payloadMax: number): number {
    const f = this.#extension?.segmentLimit;
    if (f === undefined) return payloadMax;
    const n = f(this.#nxt);
    return n >= 1 && n < payloadMax ? n : payloadMax;
  }

  /**
   * Sends `length` new bytes from SND.NXT (the caller checked the windows). `payloadMax`: the most this
   * segment could have carried (a shorter one counts as small for Nagle).
   */
  #sendNewData(now: Micros, length: number, dataEnd: number, payloadMax: number): TcpSegmentRepr {
    const start = this.#nxt;
    const payload = this.#sendBuffer.slice(start - 1, length, Infinity);
    const end = start + payload.length;
    const withFin = this.#finQueued && end === dataEnd;
    if (payload.length < payloadMax) this.#lastSmallEnd = end;
    this.#nxt = end + (withFin ? 1 : 0);
    if (withFin) this.#finSent = true;
    if (!this.#timestamps && this.#timedEnd < 0 && this.#recovery === Recovery.None) {
      this.#timedEnd = end;
      this.#timedAt = now;
    }
    this.#timers.stop(TcpTimer.Persist);
    if (!this.#timers.isArmed(TcpTimer.Retransmit)) this.#timers.set(TcpTimer.Retransmit, now + this.#rtt.rto);
    this.#sent.push(start, this.#nxt, now);
    // RFC 8985 7.2: (re)start the probe timer after sending new data.
    this.#armLossProbe(now);
    return this.#emitData(now, start, payload, withFin);
  }

  /** Retransmits one record (its payload and, when it covers it, the FIN). */
  #retransmit(now: Micros, record: SentSegment, dataEnd: number): TcpSegmentRepr {
    const start = record.start;
    const payloadEnd = Math.min(record.end, dataEnd);
    const withFin = record.end > dataEnd;
    const payload = payloadEnd > start ? this.#sendBuffer.slice(start - 1, payloadEnd - start, Infinity) : EMPTY;
    if (start + payload.length < payloadEnd) this.#sent.splitAt(start + payload.length); // cut at a chunk copy limit
    this.#sent.markRetransmitted(record, now);
    this.#retransmits++;
    this.#bytesRetransmitted += payload.length;
    if (this.#undoMarker >= 0) {
      this.#undoRetrans = this.#undoRetrans < 0 ? 1 : this.#undoRetrans + 1;
      if (this.#retransStamp < 0) this.#retransStamp = tsNow(now);
    }
    this.#timedEnd = -1; // Karn
    if (!this.#timers.isArmed(TcpTimer.Retransmit)) this.#timers.set(TcpTimer.Retransmit, now + this.#rtt.rto);
    return this.#emitData(now, start, payload, withFin && start + payload.length === payloadEnd);
  }

  /**
   * RFC 8985 7.3 TLP_send_probe: a new segment if there is one the peer's window allows (regardless of
   * cwnd), else a retransmission of the highest segment sent. TLP.end_seq is SND.NXT after it.
   */
  #lossProbe(now: Micros, dataEnd: number, payloadMax: number): TcpSegmentRepr | undefined {
    if (this.#tlpEnd >= 0 || this.#recovery !== Recovery.None || this.#nxt <= this.#una) return undefined;
    const available = dataEnd - this.#nxt;
    const windowRoom = this.#una + this.#sendWindow - this.#nxt;
    const limit = this.#segmentLimit(payloadMax);
    if (available > 0 && windowRoom >= Math.min(limit, available)) {
      this.#tlpIsRetrans = false;
      const segment = this.#sendNewData(now, Math.min(limit, available), dataEnd, limit);
      this.#tlpEnd = this.#nxt;
      return segment;
    }
    const sent = this.#sent;
    let last = sent.last;
    if (last === undefined) return undefined;
    if (last.end - last.start > payloadMax) {
      sent.splitAt(last.end - payloadMax);
      last = sent.last!;
    }
    if ((last.flags & SegmentFlag.Sacked) !== 0) return undefined;
    this.#tlpIsRetrans = true;
    this.#tlpEnd = this.#nxt;
    const segment = this.#retransmit(now, last, dataEnd);
    return segment;
  }

  /** Zero (or too small) send window with nothing in flight: probe it later (RFC 9293 3.8.6.1). */
  #armPersistIfIdle(now: Micros): void {
    if (this.#nxt > this.#una || this.#timers.isArmed(TcpTimer.Persist)) return;
    this.#timers.stop(TcpTimer.Retransmit);
    this.#timers.set(TcpTimer.Persist, now + this.#persistInterval());
  }

  #emitData(now: Micros, start: number, payload: Uint8Array, fin: boolean): TcpSegmentRepr {
    let options = this.#segmentOptions(now, this.#extension?.reservedOptionBytes ?? 0);
    const seq = this.#wireSend(start);
    const ack = this.#wireReceive(this.#receive!.nxt);
    let flags = TcpFlags.ACK;
    if (payload.length > 0) flags |= TcpFlags.PSH;
    if (fin) flags |= TcpFlags.FIN;
    const extension = this.#extension;
    if (extension?.outgoingOptions !== undefined) {
      const extra = extension.outgoingOptions('data', { seq, ack, flags, payloadLength: payload.length, payload });
      if (extra !== undefined && extra.length > 0) options = options === undefined ? [...extra] : [...options, ...extra];
    }
    const window = this.#onAckSent();
    return {
      srcPort: this.endpoints.localPort,
      dstPort: this.endpoints.remotePort,
      seq,
      ack,
      flags,
      window,
      options: options ?? NO_OPTIONS,
      payload,
    };
  }
}
