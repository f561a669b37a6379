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
import type { TcpSegment, TcpSegmentRepr } from '../wire/tcp.js';
import type { TcpEndpoints, TcpExtension } from './extension.js';
import { receiveSyn, segmentArrives } from './input.js';
import { nextSegment } from './output.js';
import { autotune, maybeWindowUpdate } from './receive.js';
import { pipeBytes } from './recovery.js';
import { STATE_FIN_WAIT_1, STATE_LAST_ACK, STATE_SYN_SENT, type ConnState } from './state.js';
import { Tcb } from './tcb.js';
import { runExpiredTimers } from './timeouts.js';
import { TcpTimer } from './timers.js';
import type { Micros, TcpConfig, TcpEvent, TcpInfo, TcpStateName } from './types.js';

/** Re-exported: the seam types live in ./extension.ts; importers of this file keep working. */
export type { TcpEndpoints, TcpExtension, TcpSegmentDraft, TcpSegmentKind } from './extension.js';

/**
 * One TCP connection: RFC 9293 state machine, reliable delivery with SACK/NewReno loss recovery, RTO,
 * delayed ACKs, Nagle, persist, keepalive, window scaling and autotuning, timestamps/PAWS. See the file
 * comment for the call order.
 */
export class TcpConnection {
  /** The 4-tuple. */
  readonly endpoints: TcpEndpoints;
  /** Every variable of the connection (./tcb.ts); the logic works on it through the functions below. */
  readonly #tcb: Tcb;

  private constructor(now: Micros, endpoints: TcpEndpoints, iss: number, config: TcpConfig | undefined, extension: TcpExtension | undefined, state: ConnState) {
    this.endpoints = endpoints;
    this.#tcb = new Tcb(now, endpoints, iss, config, extension, state);
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
  // Public surface

  /** RFC 9293 state name. */
  get state(): TcpStateName {
    return this.#tcb.state.name;
  }

  /** Bytes that can be read now. */
  /** The peer's window scale shift (RFC 7323), 0 until negotiated. */
  get sendWindowShift(): number {
    return this.#tcb.negotiated.sendWindowShift;
  }

  get readableBytes(): number {
    return this.#tcb.receive.buffer?.readable ?? 0;
  }

  /** Bytes `write` would accept now. */
  get writableBytes(): number {
    return this.#tcb.writableBytes();
  }

  /**
   * Queues up to `writableBytes` of `data` by reference (the caller must not mutate it afterwards) and
   * returns the bytes accepted. After a short write a 'writable' event follows once half the send buffer
   * is free again. Returns 0 after shutdown/close.
   */
  write(data: Uint8Array): number {
    const room = this.writableBytes;
    const n = Math.min(room, data.length);
    if (n < data.length) this.#tcb.send.writeBlocked = true;
    if (n === 0) return 0;
    this.#tcb.send.buffer.push(n === data.length ? data : data.subarray(0, n));
    return n;
  }

  /** The next in-order bytes (at most `maxBytes`), a view into a received payload; undefined when none. */
  read(maxBytes = Infinity): Uint8Array | undefined {
    const receive = this.#tcb.receive.buffer;
    if (receive === undefined) return undefined;
    const out = receive.read(maxBytes);
    if (out === undefined) return undefined;
    if (receive.readable === 0) {
      this.#tcb.receive.readableReported = false;
      if (this.#tcb.receive.finReceived) this.#tcb.reportEnd();
    }
    this.#tcb.autotune.copiedSinceMark += out.length;
    autotune(this.#tcb);
    maybeWindowUpdate(this.#tcb);
    return out;
  }

  /**
   * Switches Nagle's algorithm off (true, like TCP_NODELAY) or on. Switching it off sends any small
   * segment Nagle was holding back on the next `pollTransmit`.
   */
  /** Sends an ACK at the next `pollTransmit` (an extension has something to say, e.g. MPTCP's DATA_FIN). */
  requestAck(): void {
    if (this.#tcb.receive.buffer !== undefined && this.#tcb.state.name !== 'CLOSED') this.#tcb.receive.ackNow = true;
  }

  /**
   * Like `requestAck`, but the ACK goes out as a segment of its own before any data (MPTCP's ADD_ADDR,
   * MP_PRIO, MP_FAIL... ride on pure ACKs, as Linux sends them).
   */
  requestPureAck(): void {
    if (this.#tcb.receive.buffer !== undefined && this.#tcb.state.name !== 'CLOSED') this.#tcb.send.pureAckNow = true;
  }

  setNoDelay(noDelay: boolean): void {
    this.#tcb.send.noDelay = noDelay;
  }

  /** Half-close: a FIN follows all queued data. */
  shutdown(): void {
    if (this.#tcb.send.finQueued) return;
    switch (this.#tcb.state.name) {
      case 'SYN-SENT':
      case 'SYN-RECEIVED':
        // RFC 9293 3.10.4: queue the FIN until the connection is established.
        this.#tcb.send.finQueued = true;
        return;
      case 'ESTABLISHED':
        this.#tcb.send.finQueued = true;
        this.#tcb.state = STATE_FIN_WAIT_1;
        return;
      case 'CLOSE-WAIT':
        this.#tcb.send.finQueued = true;
        this.#tcb.state = STATE_LAST_ACK;
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
    const name = this.#tcb.state.name;
    if (name === 'CLOSED' || name === 'TIME-WAIT') return;
    this.#tcb.receive.appClosed = true;
    if (name === 'SYN-SENT') {
      this.#tcb.enterClosed(undefined);
      return;
    }
    if (this.readableBytes > 0) {
      this.#tcb.sendReset();
      this.#tcb.enterClosed(undefined);
      return;
    }
    this.shutdown();
    if (this.#tcb.state.name === 'FIN-WAIT-2') this.#tcb.timers.set(TcpTimer.FinWait2, this.#tcb.now + this.#tcb.config.timeWaitMicros);
  }

  /** Sends RST now (when synchronized), CLOSED, 'closed' with ECONNABORTED. */
  abort(): void {
    const name = this.#tcb.state.name;
    if (name === 'CLOSED') return;
    if (name !== 'SYN-SENT' && name !== 'TIME-WAIT') this.#tcb.sendReset();
    this.#tcb.enterClosed({ code: 'ECONNABORTED', message: 'connection aborted locally' });
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

  // Cheap single values for per-segment callers (MPTCP's scheduler and stale checks); `info()` builds a
  // whole object.
  /** Smoothed RTT, or undefined before the first sample. */
  get srttMicros(): Micros | undefined {
    const srtt = this.#tcb.rtt.srtt;
    return srtt === undefined ? undefined : Math.round(srtt);
  }
  get rtoMicros(): Micros {
    return this.#tcb.rtt.rto;
  }
  get cwndBytes(): number {
    return this.#tcb.cc.cwnd;
  }
  /** Bytes in flight (RFC 6675 pipe). */
  get bytesInFlight(): number {
    return pipeBytes(this.#tcb);
  }
  /** The peer's window (bytes). */
  get sendWindowBytes(): number {
    return this.#tcb.send.window;
  }
  get sendMss(): number {
    return this.#tcb.send.mss;
  }
  /** Data bytes acknowledged by the peer (as `info().bytesAcked`). */
  get bytesAcked(): number {
    const finAcked = this.#tcb.send.finSent && this.#tcb.send.una > this.#tcb.send.buffer.end + 1;
    return Math.max(0, this.#tcb.send.una - 1 - (finAcked ? 1 : 0));
  }
  /** RTO expiries (as `info().timeouts`). */
  get timeouts(): number {
    return this.#tcb.counters.timeouts;
  }

  /** Connection info, like Linux's tcp_info. */
  info(): TcpInfo {
    const rtt = this.#tcb.rtt;
    const dataEnd = this.#tcb.send.buffer.end + 1;
    const finAcked = this.#tcb.send.finSent && this.#tcb.send.una > dataEnd;
    const receive = this.#tcb.receive.buffer;
    return {
      state: this.#tcb.state.name,
      srttMicros: rtt.srtt === undefined ? undefined : Math.round(rtt.srtt),
      rttvarMicros: rtt.rttvar === undefined ? undefined : Math.round(rtt.rttvar),
      minRttMicros: rtt.minRtt,
      rtoMicros: rtt.rto,
      sendMss: this.#tcb.send.mss,
      receiveMss: this.#tcb.receive.mss,
      cwndBytes: this.#tcb.cc.cwnd,
      ssthreshBytes: this.#tcb.cc.ssthresh,
      congestionControl: this.#tcb.cc.name,
      bytesInFlight: pipeBytes(this.#tcb),
      bytesSent: Math.max(0, Math.min(this.#tcb.send.nxt, dataEnd) - 1),
      bytesAcked: Math.max(0, this.#tcb.send.una - 1 - (finAcked ? 1 : 0)),
      bytesReceived: receive === undefined ? 0 : Math.max(0, receive.nxt - 1 - (this.#tcb.receive.finReceived ? 1 : 0)),
      bytesRetransmitted: this.#tcb.counters.bytesRetransmitted,
      segmentsSent: this.#tcb.counters.segmentsSent,
      segmentsReceived: this.#tcb.counters.segmentsReceived,
      retransmits: this.#tcb.counters.retransmits,
      timeouts: this.#tcb.counters.timeouts,
      lossProbes: this.#tcb.counters.lossProbes,
      undos: this.#tcb.counters.undos,
      sendWindow: this.#tcb.send.window,
      receiveWindow: receive === undefined ? this.#tcb.receive.bufferBytes : Math.max(0, this.#tcb.receive.advertisedEdge - receive.nxt),
      sendWindowScale: this.#tcb.negotiated.sendWindowShift,
      receiveWindowScale: this.#tcb.negotiated.receiveWindowShift,
      timestamps: this.#tcb.negotiated.timestamps,
      sack: this.#tcb.negotiated.sack,
    };
  }

  // ------------------------------------------------------------------------------------------------
  // Incoming segments

  /** A segment for this connection arrived (checksum already verified by the stack). */
  handleSegment(now: Micros, segment: TcpSegment): void {
    segmentArrives(this.#tcb, now, segment);
  }

  // ------------------------------------------------------------------------------------------------
  // Timers

  /** Runs every timer whose deadline is at or before `now`. */
  handleTimeout(now: Micros): void {
    runExpiredTimers(this.#tcb, now);
  }

  // ------------------------------------------------------------------------------------------------
  // Output

  /** The next segment to send, or undefined; call until undefined. */
  pollTransmit(now: Micros): TcpSegmentRepr | undefined {
    return nextSegment(this.#tcb, now);
  }

}
