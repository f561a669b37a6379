/**
 * The send path: which segment goes out next (RST, SYN, a pure ACK, the loss probe, a retransmission, new
 * data, the FIN, a window probe, an ACK), how it is cut (MSS, the extension's mapping limit, the windows,
 * Nagle) and which options it carries, and the bookkeeping of sending it.
 *
 * Heads up! Before working on this file read:
 * - RFC 9293 sections 3.8.6.2.1 (sender SWS avoidance), 3.8.6.1 (zero-window probing), 3.7.4 (Nagle,
 *   RFC 896; Minshall's variant as Linux) and 3.10.4 (a FIN after the queued data);
 * - RFC 6675 section 4 (NextSeg), RFC 6582 section 3.2 (NewReno retransmissions), RFC 8985 section 7.3 (the
 *   loss probe);
 * - RFC 7323 sections 2.2 and 3 (a SYN's options and unscaled window, timestamps on every segment), RFC 2018
 *   section 3 (at most 4 SACK blocks, 3 beside timestamps);
 * - Linux net/ipv4/tcp_output.c (tcp_write_xmit, tcp_syn_options, tcp_established_options, tcp_nagle_check).
 */
import { TcpFlags, tcpOptionsLength } from '../wire/tcp.js';
import type { TcpOption, TcpSegmentRepr } from '../wire/tcp.js';
import { NO_OPTIONS, NOP, SACK_PERMITTED, TIMESTAMPS_SPACE, tsNow } from './options.js';
import { onAckSent, sackBlocksToSend } from './receive.js';
import { armLossProbe, pipeBytes } from './recovery.js';
import { SegmentFlag, type SentSegment } from './sent-queue.js';
import { Recovery, type Tcb } from './tcb.js';
import { persistInterval } from './timeouts.js';
import { TcpTimer } from './timers.js';
import type { Micros } from './types.js';

/** The payload of segments without data (shared, no allocation). */
const EMPTY = new Uint8Array(0);

/**
 * The next segment to send, or undefined (`TcpConnection.pollTransmit`), in priority order: a pending RST; the
 * SYN or SYN/ACK; a pure ACK an extension asked for; data (loss probe, retransmission, new data, FIN); a
 * window probe or keepalive; an ACK.
 */
export function nextSegment(tcb: Tcb, now: Micros): TcpSegmentRepr | undefined {
  tcb.now = now;
  const rst = tcb.send.rstPending;
  if (rst !== undefined) {
    tcb.send.rstPending = undefined;
    return emitReset(tcb, rst.seq, rst.ack);
  }
  const name = tcb.state.name;
  switch (name) {
    case 'CLOSED':
      return undefined;
    case 'SYN-SENT':
      return tcb.send.synPending ? emitSyn(tcb, now, false) : undefined;
    case 'SYN-RECEIVED':
      if (tcb.send.synPending) return emitSyn(tcb, now, true);
      return tcb.receive.ackNow ? emitAck(tcb, now, tcb.send.nxt) : undefined;
    default:
      break;
  }
  if (tcb.send.pureAckNow) {
    tcb.send.pureAckNow = false;
    return emitAck(tcb, now, tcb.send.nxt);
  }
  if (name !== 'TIME-WAIT' && name !== 'FIN-WAIT-2') {
    const segment = nextDataSegment(tcb, now);
    if (segment !== undefined) return segment;
  }
  if (tcb.probes.pending) {
    tcb.probes.pending = false;
    // Linux tcp_xmit_probe_skb: an ACK with an old sequence number makes the peer answer with its window.
    return emitAck(tcb, now, tcb.send.una - 1);
  }
  if (tcb.receive.ackNow) return emitAck(tcb, now, tcb.send.nxt);
  return undefined;
}

/** A RST (with an ACK when `ack` is given): window 0, no options but the extension's. */
function emitReset(tcb: Tcb, seq: number, ack: number | undefined): TcpSegmentRepr {
  tcb.counters.segmentsSent++;
  const flags = ack === undefined ? TcpFlags.RST : TcpFlags.RST | TcpFlags.ACK;
  const extra = tcb.extension?.outgoingOptions?.('rst', { seq, ack: ack ?? 0, flags, payloadLength: 0 });
  return {
    srcPort: tcb.endpoints.localPort,
    dstPort: tcb.endpoints.remotePort,
    seq,
    ack: ack ?? 0,
    flags,
    window: 0,
    options: extra ?? NO_OPTIONS,
    payload: EMPTY,
  };
}

/**
 * Our SYN, or SYN/ACK (`withAck`), in Linux's option order. The SYN offers what the config enables; the
 * SYN/ACK answers only what the peer's SYN offered. Arms the retransmission timer.
 */
function emitSyn(tcb: Tcb, now: Micros, withAck: boolean): TcpSegmentRepr {
  tcb.send.synPending = false;
  const c = tcb.config;
  const options: TcpOption[] = [{ kind: 'mss', mss: c.mss }];
  // Linux's order: MSS, SACK-permitted, timestamps, NOP, window scale (20 bytes).
  if (withAck) {
    if (tcb.negotiated.sack) options.push(SACK_PERMITTED);
    if (tcb.negotiated.timestamps) options.push({ kind: 'timestamps', tsVal: tsNow(now), tsEcr: tcb.receive.tsRecent });
    else if (tcb.negotiated.sack) options.push(NOP, NOP);
    if (tcb.negotiated.windowScaling) options.push(NOP, { kind: 'windowScale', shift: tcb.negotiated.receiveWindowShift });
  } else {
    if (c.sack) options.push(SACK_PERMITTED);
    if (c.timestamps) options.push({ kind: 'timestamps', tsVal: tsNow(now), tsEcr: 0 });
    if (c.windowScaling) options.push(NOP, { kind: 'windowScale', shift: c.receiveWindowShift });
  }
  const flags = withAck ? TcpFlags.SYN | TcpFlags.ACK : TcpFlags.SYN;
  const seq = tcb.send.iss;
  const ack = withAck ? tcb.wireReceive(tcb.receive.buffer!.nxt) : 0;
  const extra = tcb.extension?.outgoingOptions?.(withAck ? 'synAck' : 'syn', { seq, ack, flags, payloadLength: 0 });
  if (extra !== undefined) for (const option of extra) options.push(option);
  if (tcb.send.synSentAt < 0) tcb.send.synSentAt = now;
  if (!tcb.timers.isArmed(TcpTimer.Retransmit)) tcb.timers.set(TcpTimer.Retransmit, now + tcb.rtt.rto);
  tcb.counters.segmentsSent++;
  if (withAck) {
    tcb.receive.lastAckSent = tcb.receive.buffer!.nxt;
    tcb.receive.ackNow = false;
    tcb.receive.advertisedEdge = tcb.receive.buffer!.nxt + Math.min(tcb.receive.bufferBytes, 65535);
  }
  return {
    srcPort: tcb.endpoints.localPort,
    dstPort: tcb.endpoints.remotePort,
    seq,
    ack,
    flags,
    // RFC 7323 2.2: the window in a SYN is not scaled.
    window: Math.min(tcb.receive.bufferBytes, 65535),
    options,
    payload: EMPTY,
  };
}

/**
 * The options of a synchronized segment: timestamps, and SACK blocks when the receiver holds out-of-order
 * data or a D-SACK is owed, for a segment whose extension options take `reserved` bytes. `extraBytes`:
 * what the extension actually added; when even the timestamps do not fit beside it (40 bytes in all),
 * they are left out of this segment.
 */
function segmentOptions(tcb: Tcb, now: Micros, reserved = 0, extraBytes = 0): TcpOption[] | undefined {
  let options: TcpOption[] | undefined;
  if (tcb.negotiated.timestamps && TIMESTAMPS_SPACE + ((extraBytes + 3) & ~3) <= 40) {
    options = [NOP, NOP, { kind: 'timestamps', tsVal: tsNow(now), tsEcr: tcb.receive.tsRecent }];
  }
  if (tcb.negotiated.sack) {
    const blocks = sackBlocksToSend(tcb, reserved);
    if (blocks.length > 0) {
      const wire: Array<readonly [number, number]> = [];
      for (const block of blocks) wire.push([tcb.wireReceive(block[0]), tcb.wireReceive(block[1])]);
      (options ??= []).push(NOP, NOP, { kind: 'sack', blocks: wire });
    }
  }
  return options;
}

/** Option bytes the next data segment will carry (ours plus the extension's reservation), padded. */
function optionSpace(tcb: Tcb): number {
  let bytes = tcb.negotiated.timestamps ? TIMESTAMPS_SPACE : 0;
  if (tcb.negotiated.sack) {
    const n = sackBlocksToSend(tcb, tcb.extension?.reservedOptionBytes ?? 0).length;
    if (n > 0) bytes += 4 + 8 * n;
  }
  bytes += tcb.extension?.reservedOptionBytes ?? 0;
  return (bytes + 3) & ~3;
}

/** An ACK without data at our position `seqPosition` (SND.NXT, or SND.UNA - 1 for a window probe). */
function emitAck(tcb: Tcb, now: Micros, seqPosition: number): TcpSegmentRepr {
  const seq = tcb.wireSend(seqPosition);
  const ack = tcb.wireReceive(tcb.receive.buffer!.nxt);
  const extension = tcb.extension;
  // The extension's options first (Linux writes MPTCP's before fitting SACK blocks): SACK blocks take
  // what room is left, and a timestamp never pushes the total past 40 bytes.
  const extra = extension?.outgoingOptions?.('ack', { seq, ack, flags: TcpFlags.ACK, payloadLength: 0 });
  const extraBytes = extra !== undefined && extra.length > 0 ? tcpOptionsLength(extra) : 0;
  let options: readonly TcpOption[] = segmentOptions(tcb, now, Math.max(extension?.reservedAckOptionBytes ?? 0, extraBytes), extraBytes) ?? NO_OPTIONS;
  if (extra !== undefined && extra.length > 0) options = options.length > 0 ? [...options, ...extra] : extra;
  const window = onAckSent(tcb);
  return {
    srcPort: tcb.endpoints.localPort,
    dstPort: tcb.endpoints.remotePort,
    seq,
    ack,
    flags: TcpFlags.ACK,
    window,
    options,
    payload: EMPTY,
  };
}

/** The next data or FIN segment to send: a loss probe, a retransmission of a lost segment, or new data. */
function nextDataSegment(tcb: Tcb, now: Micros): TcpSegmentRepr | undefined {
  const dataEnd = tcb.send.buffer.end + 1;
  const finPending = tcb.send.finQueued && !tcb.send.finSent;
  const sent = tcb.recovery.sent;
  if (tcb.send.nxt >= dataEnd && !finPending && sent.lostBytes <= 0 && !tcb.recovery.tlpPending && !tcb.recovery.pathProbePending) {
    // Nothing new to send: the application is the limit.
    return undefined;
  }
  const payloadMax = Math.max(1, tcb.send.mssClamp - optionSpace(tcb));
  if (tcb.recovery.pathProbePending) {
    tcb.recovery.pathProbePending = false;
    const head = sent.at(0);
    if (head !== undefined && (head.flags & SegmentFlag.Sacked) === 0) {
      if (head.end - head.start > payloadMax) sent.splitAt(head.start + payloadMax);
      return retransmit(tcb, now, head, dataEnd);
    }
  }
  if (tcb.recovery.tlpPending) {
    tcb.recovery.tlpPending = false;
    const probe = lossProbe(tcb, now, dataEnd, payloadMax);
    if (probe !== undefined) {
      tcb.counters.lossProbes++;
      return probe;
    }
  }
  const cwnd = tcb.cc.cwnd;
  const pipe = pipeBytes(tcb);

  // RFC 6675 NextSeg (1): the first segment marked lost (by RACK, NewReno or the RTO) not retransmitted since.
  const lost = sent.lostBytes > 0 ? sent.firstLost() : undefined;
  if (lost !== undefined) {
    const start = lost.start;
    // RFC 6675 4.3 / RFC 6582 3.2 (4, 5): the first retransmission of an episode and the one answering
    // a NewReno partial ACK go out regardless of cwnd; the rest only while cwnd - pipe allows.
    const forced = tcb.recovery.retransmitNow;
    tcb.recovery.retransmitNow = false;
    if (!forced && cwnd - pipe < Math.min(payloadMax, lost.end - start) && pipe > 0) {
      tcb.recovery.cwndLimited = true;
      return undefined;
    }
    if (lost.end - start > payloadMax) sent.splitAt(start + payloadMax);
    return retransmit(tcb, now, lost, dataEnd);
  }

  // NextSeg (2): new data within the send and congestion windows.
  const available = dataEnd - tcb.send.nxt;
  if (available > 0) {
    const windowRoom = tcb.send.una + tcb.send.window - tcb.send.nxt;
    const limit = segmentLimit(tcb, payloadMax);
    let length = Math.min(limit, available);
    if (windowRoom < length) {
      // Sender SWS avoidance (RFC 9293 3.8.6.2.1): a partial segment only if it is at least half the
      // largest window the peer has offered.
      if (windowRoom > 0 && windowRoom >= tcb.send.maxWindow / 2) length = windowRoom;
      else {
        armPersistIfIdle(tcb, now);
        return undefined;
      }
    }
    if (cwnd - pipe < length) {
      tcb.recovery.cwndLimited = true;
      return undefined;
    }
    // Nagle (RFC 896) in Minshall's form as Linux: hold a small tail while a small segment is unacked.
    if (length < payloadMax && length === available && !tcb.send.noDelay && !tcb.send.finQueued && tcb.send.lastSmallEnd > tcb.send.una) {
      return undefined;
    }
    return sendNewData(tcb, now, length, dataEnd, limit);
  }

  // A FIN on its own (all data already sent).
  if (finPending && tcb.send.nxt === dataEnd) {
    if (tcb.send.una + tcb.send.window - tcb.send.nxt < 1 && tcb.send.nxt > tcb.send.una) return undefined;
    const start = tcb.send.nxt;
    tcb.send.nxt = start + 1;
    tcb.send.finSent = true;
    tcb.timers.stop(TcpTimer.Persist);
    if (!tcb.timers.isArmed(TcpTimer.Retransmit)) tcb.timers.set(TcpTimer.Retransmit, now + tcb.rtt.rto);
    sent.push(start, start + 1, now);
    armLossProbe(tcb, now);
    return emitData(tcb, now, start, EMPTY, true);
  }
  return undefined;
}

/** The payload limit of a new segment at SND.NXT: the MSS, or less at the extension's boundary. */
function segmentLimit(tcb: Tcb, payloadMax: number): number {
  const f = tcb.extension?.segmentLimit;
  if (f === undefined) return payloadMax;
  const n = f(tcb.send.nxt);
  return n >= 1 && n < payloadMax ? n : payloadMax;
}

/**
 * Sends `length` new bytes from SND.NXT (the caller checked the windows). `payloadMax`: the most this
 * segment could have carried (a shorter one counts as small for Nagle).
 */
function sendNewData(tcb: Tcb, now: Micros, length: number, dataEnd: number, payloadMax: number): TcpSegmentRepr {
  const start = tcb.send.nxt;
  const payload = tcb.send.buffer.slice(start - 1, length, Infinity);
  const end = start + payload.length;
  const withFin = tcb.send.finQueued && end === dataEnd;
  if (payload.length < payloadMax) tcb.send.lastSmallEnd = end;
  tcb.send.nxt = end + (withFin ? 1 : 0);
  if (withFin) tcb.send.finSent = true;
  if (!tcb.negotiated.timestamps && tcb.recovery.timedEnd < 0 && tcb.recovery.phase === Recovery.None) {
    tcb.recovery.timedEnd = end;
    tcb.recovery.timedAt = now;
  }
  tcb.timers.stop(TcpTimer.Persist);
  if (!tcb.timers.isArmed(TcpTimer.Retransmit)) tcb.timers.set(TcpTimer.Retransmit, now + tcb.rtt.rto);
  tcb.recovery.sent.push(start, tcb.send.nxt, now);
  // RFC 8985 7.2: (re)start the probe timer after sending new data.
  armLossProbe(tcb, now);
  return emitData(tcb, now, start, payload, withFin);
}

/** Retransmits one record (its payload and, when it covers it, the FIN). */
function retransmit(tcb: Tcb, now: Micros, record: SentSegment, dataEnd: number): TcpSegmentRepr {
  const start = record.start;
  const payloadEnd = Math.min(record.end, dataEnd);
  const withFin = record.end > dataEnd;
  const payload = payloadEnd > start ? tcb.send.buffer.slice(start - 1, payloadEnd - start, Infinity) : EMPTY;
  if (start + payload.length < payloadEnd) tcb.recovery.sent.splitAt(start + payload.length); // cut at a chunk copy limit
  tcb.recovery.sent.markRetransmitted(record, now);
  tcb.counters.retransmits++;
  tcb.counters.bytesRetransmitted += payload.length;
  if (tcb.undo.marker >= 0) {
    tcb.undo.retrans = tcb.undo.retrans < 0 ? 1 : tcb.undo.retrans + 1;
    if (tcb.undo.retransStamp < 0) tcb.undo.retransStamp = tsNow(now);
  }
  tcb.recovery.timedEnd = -1; // Karn
  if (!tcb.timers.isArmed(TcpTimer.Retransmit)) tcb.timers.set(TcpTimer.Retransmit, now + tcb.rtt.rto);
  return emitData(tcb, now, start, payload, withFin && start + payload.length === payloadEnd);
}

/**
 * RFC 8985 7.3 TLP_send_probe: a new segment if there is one the peer's window allows (regardless of
 * cwnd), else a retransmission of the highest segment sent. TLP.end_seq is SND.NXT after it.
 */
function lossProbe(tcb: Tcb, now: Micros, dataEnd: number, payloadMax: number): TcpSegmentRepr | undefined {
  if (tcb.recovery.tlpEnd >= 0 || tcb.recovery.phase !== Recovery.None || tcb.send.nxt <= tcb.send.una) return undefined;
  const available = dataEnd - tcb.send.nxt;
  const windowRoom = tcb.send.una + tcb.send.window - tcb.send.nxt;
  const limit = segmentLimit(tcb, payloadMax);
  if (available > 0 && windowRoom >= Math.min(limit, available)) {
    tcb.recovery.tlpIsRetrans = false;
    const segment = sendNewData(tcb, now, Math.min(limit, available), dataEnd, limit);
    tcb.recovery.tlpEnd = tcb.send.nxt;
    return segment;
  }
  const sent = tcb.recovery.sent;
  let last = sent.last;
  if (last === undefined) return undefined;
  if (last.end - last.start > payloadMax) {
    sent.splitAt(last.end - payloadMax);
    last = sent.last!;
  }
  if ((last.flags & SegmentFlag.Sacked) !== 0) return undefined;
  tcb.recovery.tlpIsRetrans = true;
  tcb.recovery.tlpEnd = tcb.send.nxt;
  const segment = retransmit(tcb, now, last, dataEnd);
  return segment;
}

/** Zero (or too small) send window with nothing in flight: probe it later (RFC 9293 3.8.6.1). */
function armPersistIfIdle(tcb: Tcb, now: Micros): void {
  if (tcb.send.nxt > tcb.send.una || tcb.timers.isArmed(TcpTimer.Persist)) return;
  tcb.timers.stop(TcpTimer.Retransmit);
  tcb.timers.set(TcpTimer.Persist, now + persistInterval(tcb));
}

/** A data and/or FIN segment from our position `start`, with the ACK, the window and every option. */
function emitData(tcb: Tcb, now: Micros, start: number, payload: Uint8Array, fin: boolean): TcpSegmentRepr {
  let options = segmentOptions(tcb, now, tcb.extension?.reservedOptionBytes ?? 0);
  const seq = tcb.wireSend(start);
  const ack = tcb.wireReceive(tcb.receive.buffer!.nxt);
  let flags = TcpFlags.ACK;
  if (payload.length > 0) flags |= TcpFlags.PSH;
  if (fin) flags |= TcpFlags.FIN;
  const extension = tcb.extension;
  if (extension?.outgoingOptions !== undefined) {
    const extra = extension.outgoingOptions('data', { seq, ack, flags, payloadLength: payload.length, payload });
    if (extra !== undefined && extra.length > 0) options = options === undefined ? [...extra] : [...options, ...extra];
  }
  const window = onAckSent(tcb);
  return {
    srcPort: tcb.endpoints.localPort,
    dstPort: tcb.endpoints.remotePort,
    seq,
    ack,
    flags,
    window,
    options: options ?? NO_OPTIONS,
    payload,
  };
}
