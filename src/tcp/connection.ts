/**
 * One TCP connection (an MPTCP subflow, or plain TCP), sans-IO: the public surface. The protocol lives
 * beside it, one concern per file, each starting with the RFC sections to read:
 * - ./tcb.ts: every variable of the connection (RFC 9293 3.3.1), grouped, and every state transition;
 *   ./state.ts: the RFC 9293 state as a discriminated union;
 * - ./input.ts: segment arrival (RFC 9293 3.10.7, RFC 5961, PAWS);
 * - ./ack.ts: the ACK field (window update, SACK / D-SACK, cumulative ACK, the recovery state machine);
 * - ./recovery.ts: loss recovery glue (RFC 6675, RFC 6582, RACK-TLP RFC 8985, RTO RFC 6298, undo);
 * - ./receive.ts: received data, the ACK policy, the advertised window, autotuning;
 * - ./output.ts: the send path (NextSeg, SWS avoidance, Nagle, options);
 * - ./timeouts.ts: what each timer does (RFC 9293 3.10.8); ./timers.ts: the table of deadlines;
 * - ./info.ts: tcp_info; ./options.ts: option scanning and constants; ./extension.ts: the MPTCP seam.
 *
 * Heads up! Before working on this file read RFC 9293 sections 3.3.2 (the state machine) and 3.10.1-3.10.6
 * (OPEN, SEND, RECEIVE, CLOSE, ABORT, STATUS: the application commands below), and RFC 2525 section 2.17
 * (a close with unread data resets).
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
import type { TcpSegment, TcpSegmentRepr } from '../wire/tcp.js';
import { printableEndpoints, type TcpEndpoints, type TcpExtension } from './extension.js';
import { bytesAcked, connectionInfo } from './info.js';
import { receiveSyn, segmentArrives } from './input.js';
import { nextSegment } from './output.js';
import { autotune, maybeWindowUpdate } from './receive.js';
import { flightForReduction, pipeBytes } from './recovery.js';
import { STATE_SYN_SENT, type ConnState } from './state.js';
import { Recovery, Tcb } from './tcb.js';
import { runExpiredTimers } from './timeouts.js';
import { TcpTimer } from './timers.js';
import type { Micros, TcpConfig, TcpEvent, TcpInfo, TcpStateName } from './types.js';

/** Re-exported: the seam types live in ./extension.ts; importers of this file keep working. */
export type { TcpEndpoints, TcpExtension, TcpSegmentDraft, TcpSegmentKind } from './extension.js';

/**
 * One TCP connection: RFC 9293 state machine, reliable delivery with SACK/NewReno loss recovery, RTO,
 * delayed ACKs, Nagle, persist, keepalive, window scaling and autotuning, timestamps/PAWS. See the file
 * comment for the call order. Members are grouped as quinn's `Connection`: factories, getters, handle*,
 * application commands, poll*.
 */
export class TcpConnection {
  /** The 4-tuple. */
  readonly endpoints: TcpEndpoints;
  /** Called at every application command (its owner, the host, then looks at the connection again). */
  onCommand: (() => void) | undefined = undefined;
  /** Every variable of the connection (./tcb.ts); the functions of the files beside this one work on it. */
  readonly #tcb: Tcb;

  private constructor(now: Micros, endpoints: TcpEndpoints, iss: number, config: TcpConfig | undefined, extension: TcpExtension | undefined, state: ConnState) {
    this.endpoints = printableEndpoints(endpoints);
    this.#tcb = new Tcb(now, this.endpoints, iss, config, extension, state);
  }

  /** Active open: the SYN goes out at the first pollTransmit. */
  static connect(now: Micros, endpoints: TcpEndpoints, iss: number, config?: TcpConfig, extension?: TcpExtension): TcpConnection {
    const connection = new TcpConnection(now, endpoints, iss, config, extension, STATE_SYN_SENT);
    const tcb = connection.#tcb;
    tcb.send.synPending = true;
    tcb.send.nxt = 1;
    return connection;
  }

  /**
   * Passive open from a SYN a listener accepted (there is no LISTEN state here: the stack's listener owns
   * it). The connection starts in SYN-RECEIVED with the SYN/ACK pending.
   */
  static accept(now: Micros, endpoints: TcpEndpoints, iss: number, syn: TcpSegment, config?: TcpConfig, extension?: TcpExtension): TcpConnection {
    const connection = new TcpConnection(now, endpoints, iss, config, extension, { name: 'SYN-RECEIVED', passive: true });
    const tcb = connection.#tcb;
    extension?.onOptions?.(syn);
    tcb.counters.segmentsReceived++;
    receiveSyn(tcb, now, syn);
    tcb.send.synPending = true;
    tcb.send.nxt = 1;
    return connection;
  }

  // ------------------------------------------------------------------------------------------------
  // Getters. Cheap single values for per-segment callers (MPTCP's scheduler and stale checks); `info()`
  // builds a whole object.

  /** RFC 9293 state name. */
  get state(): TcpStateName {
    return this.#tcb.state.name;
  }

  /** The peer's window scale shift (RFC 7323), 0 until negotiated. */
  get sendWindowShift(): number {
    return this.#tcb.negotiated.sendWindowShift;
  }

  /** Bytes that can be read now. */
  get readableBytes(): number {
    return this.#tcb.receive.buffer?.readable ?? 0;
  }

  /** Bytes `write` would accept now. */
  get writableBytes(): number {
    return this.#tcb.writableBytes();
  }

  /** Smoothed RTT, or undefined before the first sample. */
  get srttMicros(): Micros | undefined {
    const srtt = this.#tcb.rtt.srtt;
    return srtt === undefined ? undefined : Math.round(srtt);
  }

  /** RTT variation (RFC 6298 RTTVAR), or undefined before the first sample. */
  get rttvarMicros(): Micros | undefined {
    const rttvar = this.#tcb.rtt.rttvar;
    return rttvar === undefined ? undefined : Math.round(rttvar);
  }

  /** The current retransmission timeout, backoff included (RFC 6298). */
  get rtoMicros(): Micros {
    return this.#tcb.rtt.rto;
  }

  /** The congestion window (bytes). */
  get cwndBytes(): number {
    return this.#tcb.cc.cwnd;
  }

  /**
   * A reduction outside loss recovery, the controller's own multiplicative decrease as after a repaired
   * TLP loss (onCongestionEvent then onRecoveryEnd): the MPTCP sender's penalisation of a subflow that holds
   * up the connection-level window (Raiciu et al., NSDI 2012, 4.2). Ignored during loss recovery (the window
   * was just reduced). Returns whether it reduced.
   */
  reduceCongestionWindow(now: Micros): boolean {
    const tcb = this.#tcb;
    if (tcb.recovery.phase !== Recovery.None) return false;
    tcb.cc.onCongestionEvent(now, flightForReduction(tcb));
    tcb.cc.onRecoveryEnd(now);
    return true;
  }

  /** Bytes in flight (RFC 6675 pipe). */
  get bytesInFlight(): number {
    return pipeBytes(this.#tcb);
  }

  /** The peer's window (bytes). */
  get sendWindowBytes(): number {
    return this.#tcb.send.window;
  }

  /** Payload bytes per full segment we send (the peer's MSS clamped by ours, less the timestamps option). */
  get sendMss(): number {
    return this.#tcb.send.mss;
  }

  /** Data bytes acknowledged by the peer (as `info().bytesAcked`). */
  get bytesAcked(): number {
    return bytesAcked(this.#tcb);
  }

  /** RTO expiries (as `info().timeouts`). */
  get timeouts(): number {
    return this.#tcb.counters.timeouts;
  }

  /** The retransmission timeout without its backoff (RFC 6298 2.2-2.4: from SRTT and RTTVAR, clamped). */
  get baseRtoMicros(): Micros {
    return this.#tcb.rtt.baseRto;
  }

  /** Sequence space sent and not yet cumulatively acknowledged (SND.NXT - SND.UNA, SYN and FIN included). */
  get unacknowledgedBytes(): number {
    return this.#tcb.send.nxt - this.#tcb.send.una;
  }

  /** Connection info, like Linux's tcp_info. */
  info(): TcpInfo {
    return connectionInfo(this.#tcb);
  }

  // ------------------------------------------------------------------------------------------------
  // Entry points from the driver

  /** A segment for this connection arrived (checksum already verified by the stack). */
  handleSegment(now: Micros, segment: TcpSegment): void {
    segmentArrives(this.#tcb, now, segment);
  }

  /** Runs every timer whose deadline is at or before `now`. */
  handleTimeout(now: Micros): void {
    runExpiredTimers(this.#tcb, now);
  }

  // ------------------------------------------------------------------------------------------------
  // Application commands (RFC 9293 3.10.2-3.10.5)

  /**
   * Queues up to `writableBytes` of `data` by reference (the caller must not mutate it afterwards) and
   * returns the bytes accepted. After a short write a 'writable' event follows once half the send buffer
   * is free again. Returns 0 after shutdown/close.
   */
  write(data: Uint8Array): number {
    this.onCommand?.();
    const tcb = this.#tcb;
    const room = tcb.writableBytes();
    const n = Math.min(room, data.length);
    if (n < data.length) tcb.send.writeBlocked = true;
    if (n === 0) return 0;
    tcb.send.buffer.push(n === data.length ? data : data.subarray(0, n));
    return n;
  }

  /** The next in-order bytes (at most `maxBytes`), a view into a received payload; undefined when none. */
  read(maxBytes = Infinity): Uint8Array | undefined {
    this.onCommand?.();
    const tcb = this.#tcb;
    const receive = tcb.receive.buffer;
    if (receive === undefined) return undefined;
    const out = receive.read(maxBytes);
    if (out === undefined) return undefined;
    if (receive.readable === 0) {
      tcb.receive.readableReported = false;
      if (tcb.receive.finReceived) tcb.reportEnd();
    }
    tcb.autotune.copiedSinceMark += out.length;
    autotune(tcb);
    maybeWindowUpdate(tcb);
    return out;
  }

  /** Sends an ACK at the next `pollTransmit` (an extension has something to say, e.g. MPTCP's DATA_FIN). */
  requestAck(): void {
    this.onCommand?.();
    const tcb = this.#tcb;
    if (tcb.receive.buffer !== undefined && tcb.state.name !== 'CLOSED') tcb.receive.ackNow = true;
  }

  /**
   * Like `requestAck`, but the ACK goes out as a segment of its own before any data (MPTCP's ADD_ADDR,
   * MP_PRIO, MP_FAIL... ride on pure ACKs, as Linux sends them).
   */
  /**
   * Resends the first unacknowledged segment on the next `pollTransmit`, outside the congestion window,
   * without counting an RTO or backing off: a probe of a path the owner stopped relying on (MPTCP probes a
   * stale subflow with it, mptcp_net-next #348), answered by an ACK as soon as the path carries packets
   * again. Nothing happens when nothing is outstanding.
   */
  probePath(): void {
    this.onCommand?.();
    const tcb = this.#tcb;
    if (tcb.send.nxt > tcb.send.una && tcb.state.name !== 'CLOSED') tcb.recovery.pathProbePending = true;
  }

  requestPureAck(): void {
    this.onCommand?.();
    const tcb = this.#tcb;
    if (tcb.receive.buffer !== undefined && tcb.state.name !== 'CLOSED') tcb.send.pureAckNow = true;
  }

  /**
   * Switches Nagle's algorithm off (true, like TCP_NODELAY) or on. Switching it off sends any small
   * segment Nagle was holding back on the next `pollTransmit`.
   */
  setNoDelay(noDelay: boolean): void {
    this.onCommand?.();
    this.#tcb.send.noDelay = noDelay;
  }

  /** Half-close: a FIN follows all queued data. */
  shutdown(): void {
    this.onCommand?.();
    this.#tcb.queueFin();
  }

  /**
   * Like close(2): shut down both directions. With unread received data (or data arriving later) the
   * connection is reset instead, as Linux does (RFC 9293 3.10.4 leaves it open; RFC 2525 2.17).
   */
  close(): void {
    this.onCommand?.();
    const tcb = this.#tcb;
    const name = tcb.state.name;
    if (name === 'CLOSED' || name === 'TIME-WAIT') return;
    tcb.receive.appClosed = true;
    if (name === 'SYN-SENT') {
      tcb.enterClosed(undefined);
      return;
    }
    if (this.readableBytes > 0) {
      tcb.sendReset();
      tcb.enterClosed(undefined);
      return;
    }
    this.shutdown();
    if (tcb.state.name === 'FIN-WAIT-2') tcb.timers.set(TcpTimer.FinWait2, tcb.now + tcb.config.timeWaitMicros);
  }

  /**
   * A hard "port unreachable" came back for this connection's packets (an ICMP error, or the UDP path's
   * ECONNREFUSED). In SYN-SENT the connect fails with ECONNREFUSED, as Linux's tcp_v4_err does for a
   * connecting socket; in any other state it is ignored (a soft error: the retransmission timer decides).
   * Returns whether the connection was failed.
   */
  handleUnreachable(): boolean {
    if (this.#tcb.state.name !== 'SYN-SENT') return false;
    this.#tcb.fail({ code: 'ECONNREFUSED', message: 'connection refused: port unreachable' });
    return true;
  }

  /** Sends RST now (when synchronized), CLOSED, 'closed' with ECONNABORTED. */
  abort(): void {
    this.onCommand?.();
    const tcb = this.#tcb;
    const name = tcb.state.name;
    if (name === 'CLOSED') return;
    if (name !== 'SYN-SENT' && name !== 'TIME-WAIT') tcb.sendReset();
    tcb.enterClosed({ code: 'ECONNABORTED', message: 'connection aborted locally' });
  }

  // ------------------------------------------------------------------------------------------------
  // Polled output

  /** The next segment to send, or undefined; call until undefined. */
  pollTransmit(now: Micros): TcpSegmentRepr | undefined {
    return nextSegment(this.#tcb, now);
  }

  /** The next event, or undefined. */
  pollEvent(): TcpEvent | undefined {
    const events = this.#tcb.events;
    if (events === undefined || events.length === 0) return undefined;
    return events.shift();
  }

  /** The earliest armed timer, or undefined. */
  pollTimeout(): Micros | undefined {
    return this.#tcb.timers.next();
  }
}
