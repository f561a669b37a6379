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
import { seqDiff } from '../wire/seq.js';
import { TcpFlags } from '../wire/tcp.js';
import type { TcpSegment, TcpSegmentRepr } from '../wire/tcp.js';
import { processAck } from './ack.js';
import type { TcpEndpoints, TcpExtension } from './extension.js';
import { DEFAULT_PEER_MSS, PAWS_IDLE_LIMIT_MICROS, scanOptions, TIMESTAMPS_SPACE, timestampRtt } from './options.js';
import { nextSegment } from './output.js';
import { ReceiveBuffer } from './receive-buffer.js';
import { autotune, maybeWindowUpdate, receiveData, setDsack } from './receive.js';
import { pipeBytes } from './recovery.js';
import { STATE_CLOSE_WAIT, STATE_CLOSING, STATE_FIN_WAIT_1, STATE_LAST_ACK, STATE_SYN_SENT, type ConnState } from './state.js';
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
    this.#tcb.now = now;
    this.#tcb.counters.segmentsReceived++;
    this.#tcb.extension?.onOptions?.(segment);
    switch (this.#tcb.state.name) {
      case 'CLOSED':
        return;
      case 'SYN-SENT':
        segmentInSynSent(this.#tcb, now, segment);
        return;
      default:
        segmentSynchronized(this.#tcb, now, segment);
    }
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

/** Options and ISN from the peer's SYN (in SYN-SENT or accept). */
function receiveSyn(tcb: Tcb, now: Micros, syn: TcpSegment): void {
  const o = scanOptions(syn.options);
  const c = tcb.config;
  tcb.receive.irs = syn.seq;
  tcb.receive.buffer = new ReceiveBuffer(1);
  const peerMss = o.mss ?? DEFAULT_PEER_MSS;
  tcb.send.mssClamp = Math.max(64, Math.min(peerMss, c.mss));
  tcb.negotiated.windowScaling = c.windowScaling && o.windowShift !== undefined;
  if (tcb.negotiated.windowScaling) {
    tcb.negotiated.sendWindowShift = o.windowShift!;
    tcb.negotiated.receiveWindowShift = c.receiveWindowShift;
  }
  tcb.negotiated.sack = c.sack && o.sackPermitted;
  tcb.negotiated.timestamps = c.timestamps && o.hasTimestamps;
  if (tcb.negotiated.timestamps) {
    tcb.receive.tsRecent = o.tsVal;
    tcb.receive.tsRecentAt = now;
  }
  tcb.send.mss = tcb.send.mssClamp - (tcb.negotiated.timestamps ? TIMESTAMPS_SPACE : 0);
  tcb.receive.mss = Math.min(c.mss, DEFAULT_PEER_MSS);
  // RFC 7323 2.2: the window field of a SYN is never scaled.
  tcb.send.window = syn.window;
  tcb.send.maxWindow = syn.window;
  tcb.send.wl1 = 0;
  tcb.probes.lastReceiveAt = now;
  // What our SYN (or SYN/ACK) offers: its window field is never scaled.
  tcb.receive.advertisedEdge = 1 + Math.min(tcb.receive.bufferBytes, 65535);
}

function segmentInSynSent(tcb: Tcb, now: Micros, seg: TcpSegment): void {
  const flags = seg.flags;
  const hasAck = (flags & TcpFlags.ACK) !== 0;
  // RFC 9293 3.10.7.3, first: the ACK must acknowledge our SYN exactly (ISS < SEG.ACK =< SND.NXT).
  if (hasAck && seqDiff(seg.ack, tcb.send.iss) !== 1) {
    if ((flags & TcpFlags.RST) === 0) tcb.send.rstPending = { seq: seg.ack, ack: undefined };
    return;
  }
  if ((flags & TcpFlags.RST) !== 0) {
    // Second: a RST is only believed with an acceptable ACK (RFC 5961 3: blind resets need the ACK).
    if (hasAck) tcb.fail({ code: 'ECONNREFUSED', message: 'connection refused: RST in answer to our SYN' });
    return;
  }
  if ((flags & TcpFlags.SYN) === 0) return;
  receiveSyn(tcb, now, seg);
  tcb.receive.ackNow = true;
  if (hasAck) {
    tcb.send.una = 1;
    tcb.send.wl2 = 1;
    handshakeRttSample(tcb, now, seg);
    tcb.enterEstablished(now);
  } else {
    // Simultaneous open (RFC 9293 figure 7): answer with SYN/ACK from our same ISN.
    tcb.state = { name: 'SYN-RECEIVED', passive: false };
    tcb.send.synPending = true;
  }
}

function handshakeRttSample(tcb: Tcb, now: Micros, seg: TcpSegment): void {
  if (tcb.negotiated.timestamps) {
    const o = scanOptions(seg.options);
    if (o.hasTimestamps && o.tsEcr !== 0) {
      tcb.rtt.sample(timestampRtt(now, o.tsEcr));
      return;
    }
  }
  // Karn: no sample when the SYN was retransmitted.
  if (tcb.send.synRetransmits === 0 && tcb.send.synSentAt >= 0) tcb.rtt.sample(now - tcb.send.synSentAt);
}

function segmentSynchronized(tcb: Tcb, now: Micros, seg: TcpSegment): void {
  const receive = tcb.receive.buffer!;
  const flags = seg.flags;
  const isRst = (flags & TcpFlags.RST) !== 0;
  const isSyn = (flags & TcpFlags.SYN) !== 0;
  const isFin = (flags & TcpFlags.FIN) !== 0;
  const payload = seg.payload;
  const o = scanOptions(seg.options);
  const rcvNxt = receive.nxt;
  const position = rcvNxt + seqDiff(seg.seq, tcb.wireReceive(rcvNxt));
  const segLength = payload.length + (isSyn ? 1 : 0) + (isFin ? 1 : 0);
  tcb.probes.lastReceiveAt = now;
  tcb.probes.keepaliveProbes = 0;

  // RFC 7323 5.3 R1 (PAWS), before the sequence check; RSTs are exempt (Linux tcp_paws_discard).
  if (tcb.negotiated.timestamps && o.hasTimestamps && !isRst) {
    if (now - tcb.receive.tsRecentAt > PAWS_IDLE_LIMIT_MICROS) {
      tcb.receive.tsRecent = o.tsVal; // 5.5: TS.Recent expired, so accept the new value
      tcb.receive.tsRecentAt = now;
    } else if (seqDiff(o.tsVal, tcb.receive.tsRecent) < 0) {
      tcb.receive.ackNow = true;
      return;
    }
  }

  // First: sequence number acceptability (RFC 9293 3.10.7.4), as Linux's tcp_sequence: the segment must
  // end at or after RCV.NXT and start no later than the right window edge.
  const window = Math.max(0, tcb.receive.advertisedEdge - rcvNxt);
  if (position + segLength < rcvNxt || position > rcvNxt + window) {
    if (!isRst) {
      tcb.receive.ackNow = true; // "send an acknowledgment ... and drop"
      // RFC 2883 4.1: an old duplicate is reported in a D-SACK block (Linux tcp_send_dupack).
      if (position < rcvNxt && payload.length > 0) setDsack(tcb, position, Math.min(position + payload.length, rcvNxt));
    }
    return;
  }

  // Second: RST (RFC 5961 3.2).
  if (isRst) {
    if (position === rcvNxt) receiveReset(tcb);
    else tcb.receive.ackNow = true; // challenge ACK: in window but not exact
    return;
  }

  // RFC 7323 4.3 (2): TS.Recent update when SEG.SEQ =< Last.ACK.sent.
  if (tcb.negotiated.timestamps && o.hasTimestamps && position <= tcb.receive.lastAckSent && seqDiff(o.tsVal, tcb.receive.tsRecent) >= 0) {
    tcb.receive.tsRecent = o.tsVal;
    tcb.receive.tsRecentAt = now;
  }

  // Fourth: SYN in a synchronized state (RFC 5961 4.2: challenge ACK).
  if (isSyn) {
    const state = tcb.state;
    const hasAck = (flags & TcpFlags.ACK) !== 0;
    if (state.name === 'SYN-RECEIVED' && position === 0 && !hasAck) {
      tcb.send.synPending = true; // a retransmitted SYN: our SYN/ACK was lost
      return;
    }
    // Simultaneous open: the peer's SYN/ACK for our SYN completes the handshake (as Linux's
    // tcp_validate_incoming lets it pass); any other SYN gets a challenge ACK.
    if (!(state.name === 'SYN-RECEIVED' && !state.passive && hasAck && position === 0 && tcb.ackPosition(seg.ack) === 1)) {
      tcb.receive.ackNow = true;
      return;
    }
  }

  // Fifth: ACK field.
  if ((flags & TcpFlags.ACK) === 0) return;
  const ackPosition = tcb.ackPosition(seg.ack);
  if (tcb.state.name === 'SYN-RECEIVED') {
    if (ackPosition !== 1) {
      tcb.send.rstPending = { seq: seg.ack, ack: undefined };
      return;
    }
    tcb.send.una = 1;
    tcb.send.window = seg.window << tcb.negotiated.sendWindowShift;
    tcb.send.maxWindow = Math.max(tcb.send.maxWindow, tcb.send.window);
    tcb.send.wl1 = position;
    tcb.send.wl2 = ackPosition;
    handshakeRttSample(tcb, now, seg);
    tcb.enterEstablished(now);
  }
  // RFC 5961 5.2: acceptable when SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.NXT.
  if (ackPosition > tcb.send.nxt || ackPosition < tcb.send.una - Math.max(tcb.send.maxWindow, 1)) {
    tcb.receive.ackNow = true;
    return;
  }
  processAck(tcb, now, seg, position, ackPosition, o);
  if (tcb.state.name === 'CLOSED') return;

  // Seventh: segment text.
  if (payload.length > 0) {
    const name = tcb.state.name;
    if (name === 'ESTABLISHED' || name === 'FIN-WAIT-1' || name === 'FIN-WAIT-2') {
      if (tcb.receive.appClosed && position + payload.length > receive.nxt) {
        // Linux: data for a socket the application closed is answered with RST (TCPAbortOnData).
        tcb.sendReset();
        tcb.enterClosed(undefined);
        return;
      }
      receiveData(tcb, now, position, payload, o);
    } else if (position < receive.nxt) {
      tcb.receive.ackNow = true; // a retransmission of data before the peer's FIN
    }
  }

  // Eighth: FIN.
  if (isFin) {
    const name = tcb.state.name;
    if (name === 'CLOSE-WAIT' || name === 'CLOSING' || name === 'LAST-ACK') {
      tcb.receive.ackNow = true;
    } else if (name === 'TIME-WAIT') {
      // RFC 9293: "Acknowledge it, and restart the 2 MSL timeout."
      tcb.receive.ackNow = true;
      tcb.timers.set(TcpTimer.TimeWait, now + tcb.config.timeWaitMicros);
    } else if (tcb.receive.peerFinAt < 0) {
      tcb.receive.peerFinAt = position + payload.length;
    }
  }
  if (tcb.receive.peerFinAt >= 0 && !tcb.receive.finReceived && receive.nxt === tcb.receive.peerFinAt) receiveFin(tcb, now);
}

function receiveReset(tcb: Tcb): void {
  const state = tcb.state;
  switch (state.name) {
    case 'SYN-RECEIVED':
      tcb.fail(
        state.passive
          ? { code: 'ECONNRESET', message: 'connection reset by peer during the handshake' }
          : { code: 'ECONNREFUSED', message: 'connection refused: RST in answer to our SYN/ACK' },
      );
      return;
    case 'CLOSING':
    case 'LAST-ACK':
    case 'TIME-WAIT':
      tcb.enterClosed(undefined);
      return;
    default:
      tcb.fail({ code: 'ECONNRESET', message: 'connection reset by peer' });
  }
}

function receiveFin(tcb: Tcb, now: Micros): void {
  const receive = tcb.receive.buffer!;
  receive.nxt += 1;
  tcb.receive.finReceived = true;
  tcb.receive.ackNow = true;
  if (receive.readable === 0) tcb.reportEnd();
  switch (tcb.state.name) {
    case 'ESTABLISHED':
      tcb.state = STATE_CLOSE_WAIT;
      return;
    case 'FIN-WAIT-1':
      // Our FIN not yet acknowledged: simultaneous close.
      tcb.state = STATE_CLOSING;
      return;
    case 'FIN-WAIT-2':
      tcb.enterTimeWait(now);
      return;
    default:
      return;
  }
}
