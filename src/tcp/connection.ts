/**
 * One TCP connection (a future MPTCP subflow), sans-IO.
 *
 * Heads up! Before working on this file read:
 * - RFC 9293 section 3.3.2 (state machine), 3.10.7 ("SEGMENT ARRIVES": the order of checks below follows
 *   it), 3.8.6 (window management, silly window syndrome), 3.8.4 (keepalive);
 * - RFC 5961 sections 3-5 (blind RST, SYN and data injection: challenge ACKs, ACK acceptability);
 * - RFC 7323 (window scale, timestamps, PAWS, RTTM; section 4.3 for the TS.Recent rules);
 * - RFC 2018 (SACK), RFC 6675 (SACK-based loss recovery: IsLost, pipe, NextSeg), RFC 6582 (NewReno);
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
import { TcpFlags } from '../wire/tcp.js';
import type { TcpOption, TcpSegment, TcpSegmentRepr } from '../wire/tcp.js';
import { resolveTcpConfig } from './config.js';
import type { ResolvedTcpConfig } from './config.js';
import { InsertResult, ReceiveBuffer } from './receive-buffer.js';
import { RttEstimator } from './rtt.js';
import { DUP_THRESH, Scoreboard } from './scoreboard.js';
import { SendBuffer } from './send-buffer.js';
import { TcpTimer, TimerTable } from './timers.js';
import type { Micros, TcpConfig, TcpError, TcpEvent, TcpInfo, TcpStateName } from './types.js';

/** The 4-tuple of a connection, from our point of view. */
export interface TcpEndpoints {
  readonly localAddress: Uint8Array;
  readonly localPort: number;
  readonly remoteAddress: Uint8Array;
  readonly remotePort: number;
}

/** Which kind of segment is being built, for `TcpExtension.outgoingOptions`. */
export type TcpSegmentKind = 'syn' | 'synAck' | 'ack' | 'data' | 'rst';

/** What an extension sees of a segment under construction. */
export interface TcpSegmentDraft {
  readonly seq: number;
  readonly ack: number;
  readonly flags: number;
  /** Payload bytes in the segment (0 for pure ACKs, SYN, RST). */
  readonly payloadLength: number;
}

/**
 * The seam for MPTCP (issue 4): a subflow adds options to outgoing segments and sees incoming ones.
 * Every hook is optional.
 */
export interface TcpExtension {
  /** Option bytes to keep free on every data segment (payload is shortened by this much). */
  readonly reservedOptionBytes?: number;
  /** Extra options for a segment; must fit in 40 bytes together with ours (and the reservation). */
  outgoingOptions?(kind: TcpSegmentKind, draft: TcpSegmentDraft): readonly TcpOption[] | undefined;
  /** Every incoming segment, before the connection processes it. */
  onOptions?(segment: TcpSegment): void;
}

/** Per-state data (STYLE.md 8); the RFC 9293 name is `name`. */
type ConnState =
  | { readonly name: 'SYN-SENT' }
  /** `passive`: entered from accept() (a listener's SYN), not from a simultaneous open. */
  | { readonly name: 'SYN-RECEIVED'; readonly passive: boolean }
  | { readonly name: 'ESTABLISHED' }
  | { readonly name: 'FIN-WAIT-1' }
  | { readonly name: 'FIN-WAIT-2' }
  | { readonly name: 'CLOSE-WAIT' }
  | { readonly name: 'CLOSING' }
  | { readonly name: 'LAST-ACK' }
  | { readonly name: 'TIME-WAIT' }
  | { readonly name: 'CLOSED'; readonly error: TcpError | undefined };

const STATE_SYN_SENT: ConnState = Object.freeze({ name: 'SYN-SENT' });
const STATE_ESTABLISHED: ConnState = Object.freeze({ name: 'ESTABLISHED' });
const STATE_FIN_WAIT_1: ConnState = Object.freeze({ name: 'FIN-WAIT-1' });
const STATE_FIN_WAIT_2: ConnState = Object.freeze({ name: 'FIN-WAIT-2' });
const STATE_CLOSE_WAIT: ConnState = Object.freeze({ name: 'CLOSE-WAIT' });
const STATE_CLOSING: ConnState = Object.freeze({ name: 'CLOSING' });
const STATE_LAST_ACK: ConnState = Object.freeze({ name: 'LAST-ACK' });
const STATE_TIME_WAIT: ConnState = Object.freeze({ name: 'TIME-WAIT' });

/** Loss-recovery phase (Linux's CA states, reduced). */
const Recovery = {
  None: 0,
  /** Fast recovery (RFC 6675 / RFC 6582), entered on DupThresh dupACKs or SACK-detected loss. */
  Fast: 1,
  /** After an RTO: everything outstanding is considered lost and resent in slow start. */
  Loss: 2,
} as const;
type Recovery = (typeof Recovery)[keyof typeof Recovery];

/** RFC 9293 3.7.1: the MSS assumed when the peer sends no MSS option. */
const DEFAULT_PEER_MSS = 536;
/** Bytes the timestamps option takes with its two NOPs (Linux's aligned layout). */
const TIMESTAMPS_SPACE = 12;
/** RFC 7323 5.5: TS.Recent is invalid after 24 days of idleness. */
const PAWS_IDLE_LIMIT_MICROS = 24 * 24 * 3600 * 1_000_000;

const NOP: TcpOption = Object.freeze({ kind: 'nop' });
const SACK_PERMITTED: TcpOption = Object.freeze({ kind: 'sackPermitted' });
const NO_OPTIONS: readonly TcpOption[] = Object.freeze([]);
const EMPTY = new Uint8Array(0);
const NO_BLOCKS: ReadonlyArray<readonly [number, number]> = Object.freeze([]);

/** Options of an incoming segment, gathered in one pass (scratch object: no allocation per segment). */
interface ParsedOptions {
  mss: number | undefined;
  windowShift: number | undefined;
  sackPermitted: boolean;
  hasTimestamps: boolean;
  tsVal: number;
  tsEcr: number;
  sackBlocks: ReadonlyArray<readonly [number, number]> | undefined;
}

const scratch: ParsedOptions = {
  mss: undefined,
  windowShift: undefined,
  sackPermitted: false,
  hasTimestamps: false,
  tsVal: 0,
  tsEcr: 0,
  sackBlocks: undefined,
};

function scanOptions(options: readonly TcpOption[]): ParsedOptions {
  const o = scratch;
  o.mss = undefined;
  o.windowShift = undefined;
  o.sackPermitted = false;
  o.hasTimestamps = false;
  o.sackBlocks = undefined;
  for (let k = 0; k < options.length; k++) {
    const option = options[k]!;
    switch (option.kind) {
      case 'timestamps':
        o.hasTimestamps = true;
        o.tsVal = option.tsVal;
        o.tsEcr = option.tsEcr;
        break;
      case 'sack':
        o.sackBlocks = option.blocks;
        break;
      case 'mss':
        o.mss = option.mss;
        break;
      case 'windowScale':
        // RFC 7323 2.3: "If a Window Scale option is received with a shift.cnt value larger than 14, the TCP
        // SHOULD log the error but MUST use 14 instead of the specified value."
        o.windowShift = Math.min(option.shift, 14);
        break;
      case 'sackPermitted':
        o.sackPermitted = true;
        break;
      default:
        break;
    }
  }
  return o;
}

/**
 * One TCP connection: RFC 9293 state machine, reliable delivery with SACK/NewReno loss recovery, RTO,
 * delayed ACKs, Nagle, persist, keepalive, window scaling and autotuning, timestamps/PAWS. See the file
 * comment for the call order.
 */
export class TcpConnection {
  /** The 4-tuple. */
  readonly endpoints: TcpEndpoints;
  readonly #config: ResolvedTcpConfig;
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
  /** HighRxt: retransmissions went out up to here in this episode. */
  #highRxt = 0;
  /** Every unSACKed byte below this is considered lost (IsLost as a boundary). */
  #lostEnd = 0;
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
        this.#rtt.sample(this.#timestampRtt(now, o.tsEcr));
        return;
      }
    }
    // Karn: no sample when the SYN was retransmitted.
    if (this.#synRetransmits === 0 && this.#synSentAt >= 0) this.#rtt.sample(now - this.#synSentAt);
  }

  /** RTT in microseconds from an echoed timestamp (ours tick in milliseconds). */
  #timestampRtt(now: Micros, tsEcr: number): Micros {
    return (((this.#tsNow(now) - tsEcr) >>> 0) & 0x7fffffff) * 1000;
  }

  #tsNow(now: Micros): number {
    return Math.floor(now / 1000) >>> 0;
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
      if (!isRst) this.#ackNow = true; // "send an acknowledgment ... and drop"
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
    // Receiver RTT for autotuning (Linux tcp_rcv_rtt_measure / _ts).
    if (this.#timestamps && o.hasTimestamps) {
      if (o.tsEcr !== 0) this.#receiveRttSample(this.#timestampRtt(now, o.tsEcr));
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

  #receiveRttSample(sample: Micros): void {
    const previous = this.#receiveRtt;
    this.#receiveRtt = previous === undefined ? sample : Math.min(sample, previous * 0.875 + sample * 0.125);
  }

  // ------------------------------------------------------------------------------------------------
  // ACK processing and loss recovery

  /** RFC 6675 pipe, in bytes: unSACKed bytes not considered lost, plus lost bytes retransmitted. */
  #pipe(): number {
    const outstanding = this.#nxt - this.#una;
    if (outstanding <= 0) return 0;
    let sacked: number;
    const scoreboard = this.#scoreboard;
    if (this.#sack) sacked = scoreboard === undefined ? 0 : scoreboard.sackedBytes;
    else sacked = Math.min(outstanding, this.#renoSacked * this.#sendMss);
    let lost = 0;
    if (this.#recovery !== Recovery.None) {
      const from = Math.max(this.#highRxt, this.#una);
      if (this.#lostEnd > from) {
        lost = this.#lostEnd - from;
        if (scoreboard !== undefined) lost -= scoreboard.sackedBetween(from, this.#lostEnd);
      }
    }
    const pipe = outstanding - sacked - lost;
    return pipe > 0 ? pipe : 0;
  }

  #processAck(now: Micros, seg: TcpSegment, position: number, ackPosition: number, o: ParsedOptions): void {
    const priorUna = this.#una;
    const priorInFlight = this.#pipe();
    const cwnd = this.#cc.cwnd;
    this.#probesOut = 0;

    let newlySacked = 0;
    const blocks = o.sackBlocks;
    if (this.#sack && blocks !== undefined) newlySacked = this.#processSackBlocks(blocks, ackPosition);

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
      this.#rtoCount = 0;
      this.#dupAcks = 0;
      // RTTM (RFC 7323 4.1) from TSecr on ACKs that advance the left edge; otherwise Karn's timed segment.
      if (this.#timestamps && o.hasTimestamps && o.tsEcr !== 0) {
        rttSample = this.#timestampRtt(now, o.tsEcr);
      } else if (this.#timedEnd >= 0 && ackPosition >= this.#timedEnd) {
        rttSample = now - this.#timedAt;
        this.#timedEnd = -1;
      }
      if (rttSample !== undefined) this.#rtt.sample(rttSample);
      // RFC 6298 5.2 / 5.3: stop the timer when all is acknowledged, else restart it.
      if (this.#una >= this.#nxt) this.#timers.stop(TcpTimer.Retransmit);
      else this.#timers.set(TcpTimer.Retransmit, now + this.#rtt.rto);
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

    // Recovery state machine.
    const wasInFastRecovery = this.#recovery === Recovery.Fast;
    if (this.#recovery !== Recovery.None) {
      if (this.#una >= this.#recoveryPoint) {
        const kind = this.#recovery;
        this.#recovery = Recovery.None;
        this.#renoSacked = 0;
        this.#dupAcks = 0;
        if (kind === Recovery.Fast) {
          this.#reportAck(now, acked + newlySacked, priorInFlight, rttSample, cwnd, true);
          this.#cc.onRecoveryEnd(now);
          this.#afterAck(priorUna);
          return;
        }
      } else if (this.#sack && this.#scoreboard !== undefined) {
        const boundary = this.#scoreboard.lostBoundary(this.#una, this.#sendMss);
        if (boundary > this.#lostEnd) this.#lostEnd = boundary;
      } else if (!this.#sack && acked > 0 && this.#recovery === Recovery.Fast) {
        // RFC 6582 3.2 step 5, partial ACK: retransmit the first unacknowledged segment now, and reset
        // the retransmission timer on the first partial ACK only (the "Impatient" variant).
        this.#highRxt = this.#una;
        this.#lostEnd = Math.min(this.#una + this.#sendMss, this.#nxt);
        this.#retransmitNow = true;
        if (priorUna === this.#recoveryEntryUna) this.#timers.set(TcpTimer.Retransmit, now + this.#rtt.rto);
      }
    } else if (this.#nxt > this.#una) {
      const lost = this.#sack && this.#scoreboard !== undefined && this.#scoreboard.lostBoundary(this.#una, this.#sendMss) > this.#una;
      // RFC 6582 3.2 step 2: without SACK, dupACKs start recovery only when the ACK covers more than
      // "recover" (no repeated fast retransmits for one window).
      if (lost || (this.#dupAcks >= DUP_THRESH && (this.#sack || this.#una >= this.#recoveryPoint))) this.#enterFastRecovery(now);
    }
    this.#reportAck(now, acked + newlySacked, priorInFlight, rttSample, cwnd, wasInFastRecovery);
    this.#afterAck(priorUna);
  }

  /** SND.UNA at the start of the current fast recovery (RFC 6582's "impatient" timer reset is once). */
  #recoveryEntryUna = 0;
  /** The next retransmission goes out regardless of cwnd (fast retransmit, NewReno partial ACK). */
  #retransmitNow = false;

  #enterFastRecovery(now: Micros): void {
    const outstanding = this.#nxt - this.#una;
    this.#recovery = Recovery.Fast;
    this.#recoveryPoint = this.#nxt;
    this.#recoveryEntryUna = this.#una;
    this.#highRxt = this.#una;
    let boundary = Math.min(this.#una + this.#sendMss, this.#nxt);
    if (this.#scoreboard !== undefined) boundary = Math.max(boundary, this.#scoreboard.lostBoundary(this.#una, this.#sendMss));
    this.#lostEnd = boundary;
    this.#timedEnd = -1;
    this.#retransmitNow = true;
    this.#cc.onCongestionEvent(now, outstanding);
  }

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

  /** Validates and records SACK blocks (RFC 2018 5, RFC 6675 3); returns newly SACKed bytes. */
  #processSackBlocks(blocks: ReadonlyArray<readonly [number, number]>, ackPosition: number): number {
    let added = 0;
    const una = Math.max(this.#una, ackPosition);
    const base = this.#wireSend(una);
    for (let k = 0; k < blocks.length; k++) {
      const block = blocks[k]!;
      const start = una + seqDiff(block[0], base);
      const end = una + seqDiff(block[1], base);
      // Ignore D-SACKs and blocks that are below SND.UNA, beyond SND.MAX or inverted.
      if (start <= una - 1 || end > this.#nxt || end <= start) continue;
      const scoreboard = (this.#scoreboard ??= new Scoreboard());
      added += scoreboard.add(Math.max(start, una), end);
    }
    return added;
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
    if (timers.expired(TcpTimer.Retransmit, now)) {
      timers.stop(TcpTimer.Retransmit);
      this.#onRetransmitTimeout(now);
      if (this.#state.name === 'CLOSED') return;
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
    // Linux tcp_enter_loss: everything outstanding and not SACKed is lost; resend from SND.UNA.
    this.#recovery = Recovery.Loss;
    this.#recoveryPoint = this.#nxt;
    this.#highRxt = this.#una;
    this.#lostEnd = this.#nxt;
    this.#dupAcks = 0;
    this.#renoSacked = 0;
    this.#timedEnd = -1;
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
      if (this.#timestamps) options.push({ kind: 'timestamps', tsVal: this.#tsNow(now), tsEcr: this.#tsRecent });
      else if (this.#sack) options.push(NOP, NOP);
      if (this.#windowScaling) options.push(NOP, { kind: 'windowScale', shift: this.#receiveWindowShift });
    } else {
      if (c.sack) options.push(SACK_PERMITTED);
      if (c.timestamps) options.push({ kind: 'timestamps', tsVal: this.#tsNow(now), tsEcr: 0 });
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
  #segmentOptions(now: Micros): TcpOption[] | undefined {
    let options: TcpOption[] | undefined;
    if (this.#timestamps) options = [NOP, NOP, { kind: 'timestamps', tsVal: this.#tsNow(now), tsEcr: this.#tsRecent }];
    if (this.#sack) {
      const blocks = this.#sackBlocksToSend();
      if (blocks.length > 0) {
        const wire: Array<readonly [number, number]> = [];
        for (const block of blocks) wire.push([this.#wireReceive(block[0]), this.#wireReceive(block[1])]);
        (options ??= []).push(NOP, NOP, { kind: 'sack', blocks: wire });
      }
    }
    return options;
  }

  /** RFC 2018 3: at most 4 blocks, 3 alongside timestamps. */
  #sackBlocksToSend(): ReadonlyArray<readonly [number, number]> {
    const receive = this.#receive!;
    return receive.hasOutOfOrder ? receive.sackBlocks(this.#timestamps ? 3 : 4) : NO_BLOCKS;
  }

  /** Option bytes the next data segment will carry (ours plus the extension's reservation), padded. */
  #optionSpace(): number {
    let bytes = this.#timestamps ? TIMESTAMPS_SPACE : 0;
    if (this.#sack) {
      const n = this.#sackBlocksToSend().length;
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
    this.#unackedBytes = 0;
    this.#timers.stop(TcpTimer.DelayedAck);
    this.#segmentsSent++;
    return this.#windowField();
  }

  #emitAck(now: Micros, seqPosition: number): TcpSegmentRepr {
    let options: readonly TcpOption[] = this.#segmentOptions(now) ?? NO_OPTIONS;
    const seq = this.#wireSend(seqPosition);
    const ack = this.#wireReceive(this.#receive!.nxt);
    const extension = this.#extension;
    if (extension?.outgoingOptions !== undefined) {
      const extra = extension.outgoingOptions('ack', { seq, ack, flags: TcpFlags.ACK, payloadLength: 0 });
      if (extra !== undefined && extra.length > 0) options = [...options, ...extra];
    }
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

  /** Whether the state allows sending data/FIN (our FIN not yet acknowledged or not yet sent). */
  #nextDataSegment(now: Micros): TcpSegmentRepr | undefined {
    const dataEnd = this.#sendBuffer.end + 1;
    const finPending = this.#finQueued && !this.#finSent;
    const recovering = this.#recovery !== Recovery.None;
    if (this.#nxt >= dataEnd && !finPending && !recovering) {
      // Nothing new to send: the application is the limit.
      return undefined;
    }
    const payloadMax = Math.max(1, this.#mssClamp - this.#optionSpace());
    const cwnd = this.#cc.cwnd;
    const pipe = this.#pipe();

    // RFC 6675 NextSeg (1): the first lost, unSACKed, not yet retransmitted segment.
    if (recovering) {
      let start = Math.max(this.#highRxt, this.#una);
      if (this.#scoreboard !== undefined) start = this.#scoreboard.nextUnsacked(start);
      if (start < this.#lostEnd && start < this.#nxt) {
        // RFC 6675 4.3 / RFC 6582 3.2 (4, 5): the first retransmission of an episode and the one answering
        // a NewReno partial ACK go out regardless of cwnd; the rest only while cwnd - pipe allows.
        const forced = this.#retransmitNow;
        this.#retransmitNow = false;
        if (!forced && cwnd - pipe < Math.min(payloadMax, this.#nxt - start) && pipe > 0) {
          this.#cwndLimited = true;
          return undefined;
        }
        let end = Math.min(start + payloadMax, dataEnd, this.#nxt);
        if (this.#scoreboard !== undefined) end = Math.min(end, this.#scoreboard.nextSackedAfter(start));
        const withFin = this.#finSent && end === dataEnd && this.#nxt > dataEnd;
        const payload = end > start ? this.#sendBuffer.slice(start - 1, end - start, Infinity) : EMPTY;
        this.#highRxt = start + payload.length + (withFin ? 1 : 0);
        this.#retransmits++;
        this.#bytesRetransmitted += payload.length;
        this.#timedEnd = -1; // Karn
        if (!this.#timers.isArmed(TcpTimer.Retransmit)) this.#timers.set(TcpTimer.Retransmit, now + this.#rtt.rto);
        return this.#emitData(now, start, payload, withFin);
      }
    }

    // NextSeg (2): new data within the send and congestion windows.
    const available = dataEnd - this.#nxt;
    if (available > 0) {
      const windowRoom = this.#una + this.#sendWindow - this.#nxt;
      let length = Math.min(payloadMax, available);
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
      if (length < payloadMax && length === available && !this.#config.noDelay && !this.#finQueued && this.#lastSmallEnd > this.#una) {
        return undefined;
      }
      const start = this.#nxt;
      const payload = this.#sendBuffer.slice(start - 1, length, Infinity);
      const end = start + payload.length;
      const withFin = this.#finQueued && end === dataEnd;
      if (payload.length < payloadMax) this.#lastSmallEnd = end;
      this.#nxt = end + (withFin ? 1 : 0);
      if (withFin) this.#finSent = true;
      if (!this.#timestamps && this.#timedEnd < 0 && !recovering) {
        this.#timedEnd = end;
        this.#timedAt = now;
      }
      this.#timers.stop(TcpTimer.Persist);
      if (!this.#timers.isArmed(TcpTimer.Retransmit)) this.#timers.set(TcpTimer.Retransmit, now + this.#rtt.rto);
      return this.#emitData(now, start, payload, withFin);
    }

    // A FIN on its own (all data already sent).
    if (finPending && this.#nxt === dataEnd) {
      if (this.#una + this.#sendWindow - this.#nxt < 1 && this.#nxt > this.#una) return undefined;
      const start = this.#nxt;
      this.#nxt = start + 1;
      this.#finSent = true;
      this.#timers.stop(TcpTimer.Persist);
      if (!this.#timers.isArmed(TcpTimer.Retransmit)) this.#timers.set(TcpTimer.Retransmit, now + this.#rtt.rto);
      return this.#emitData(now, start, EMPTY, true);
    }
    return undefined;
  }

  /** Zero (or too small) send window with nothing in flight: probe it later (RFC 9293 3.8.6.1). */
  #armPersistIfIdle(now: Micros): void {
    if (this.#nxt > this.#una || this.#timers.isArmed(TcpTimer.Persist)) return;
    this.#timers.stop(TcpTimer.Retransmit);
    this.#timers.set(TcpTimer.Persist, now + this.#persistInterval());
  }

  #emitData(now: Micros, start: number, payload: Uint8Array, fin: boolean): TcpSegmentRepr {
    let options = this.#segmentOptions(now);
    const seq = this.#wireSend(start);
    const ack = this.#wireReceive(this.#receive!.nxt);
    let flags = TcpFlags.ACK;
    if (payload.length > 0) flags |= TcpFlags.PSH;
    if (fin) flags |= TcpFlags.FIN;
    const extension = this.#extension;
    if (extension?.outgoingOptions !== undefined) {
      const extra = extension.outgoingOptions('data', { seq, ack, flags, payloadLength: payload.length });
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
