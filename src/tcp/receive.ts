/**
 * The receive side: in-window data into the receive buffer, the ACK policy (at once, delayed, D-SACK), the
 * window we advertise (never shrinking, receiver SWS avoidance), the window update after a read, receive
 * buffer autotuning, and the SACK blocks we report. The state is `Tcb.receive` and `Tcb.autotune`.
 *
 * Heads up! Before working on this file read:
 * - RFC 9293 sections 3.10.7.4 (seventh: segment text), 3.8.6.2.2 (receiver SWS avoidance) and 3.8.6.3
 *   (delayed acknowledgments);
 * - RFC 5681 section 4.2 (out-of-order and gap-filling segments are acknowledged at once);
 * - RFC 2018 section 4 and RFC 2883 section 4 (which SACK blocks, a D-SACK first and once);
 * - RFC 7323 section 2.3 (a scaled window is rounded, never shrunk);
 * - Linux tcp_rcv_space_adjust / tcp_rcv_rtt_measure (autotuning), tcp_cleanup_rbuf (window update after a
 *   read), __tcp_select_window.
 */
import { NO_BLOCKS, TIMESTAMPS_SPACE, timestampRtt, type ParsedOptions } from './options.js';
import { InsertResult } from './receive-buffer.js';
import type { Tcb } from './tcb.js';
import { TcpTimer } from './timers.js';
import type { Micros } from './types.js';

/**
 * In-window payload at `position` (RFC 9293 3.10.7.4 seventh): trimmed to the advertised window, queued,
 * and answered by the ACK policy (at once when out of order or filling a gap, else every second full segment
 * or after the delayed-ACK timeout).
 */
export function receiveData(tcb: Tcb, now: Micros, position: number, payload: Uint8Array, o: ParsedOptions): void {
  const receive = tcb.receive.buffer!;
  // Trim to the advertised window; bytes beyond its right edge are dropped.
  const edge = Math.max(tcb.receive.advertisedEdge, receive.nxt);
  let data = payload;
  if (position + data.length > edge) {
    if (position >= edge) {
      tcb.receive.ackNow = true;
      return;
    }
    data = data.subarray(0, edge - position);
  }
  if (payload.length > tcb.receive.mss) tcb.receive.mss = Math.min(payload.length, tcb.config.mss);
  const before = receive.nxt;
  const result = receive.insert(position, data);
  if (receive.duplicateStart >= 0) setDsack(tcb, receive.duplicateStart, receive.duplicateEnd);
  // Receiver RTT for autotuning (Linux tcp_rcv_rtt_measure / _ts).
  if (tcb.negotiated.timestamps && o.hasTimestamps) {
    if (o.tsEcr !== 0) receiveRttSample(tcb, timestampRtt(now, o.tsEcr));
  } else if (tcb.autotune.rttEnd < 0) {
    tcb.autotune.rttEnd = receive.nxt + Math.max(1, tcb.receive.advertisedEdge - receive.nxt);
    tcb.autotune.rttAt = now;
  } else if (receive.nxt >= tcb.autotune.rttEnd) {
    receiveRttSample(tcb, now - tcb.autotune.rttAt);
    tcb.autotune.rttEnd = -1;
  }
  switch (result) {
    case InsertResult.Duplicate:
    case InsertResult.OutOfOrder:
    case InsertResult.FilledGap:
      // RFC 5681 4.2: out-of-order and gap-filling segments are ACKed immediately (Linux quickack).
      tcb.receive.ackNow = true;
      break;
    case InsertResult.InOrder:
      tcb.receive.unackedBytes += receive.nxt - before;
      if (!tcb.config.delayedAck || tcb.receive.unackedBytes >= 2 * tcb.receive.mss) tcb.receive.ackNow = true;
      else if (!tcb.timers.isArmed(TcpTimer.DelayedAck)) tcb.timers.set(TcpTimer.DelayedAck, now + tcb.config.delayedAckMicros);
      break;
  }
  if (receive.readable > 0 && !tcb.receive.readableReported) {
    tcb.receive.readableReported = true;
    tcb.emit({ type: 'readable' });
  }
}

/** RFC 2883 4: the next ACK reports [start, end) as duplicate in its first SACK block. */
export function setDsack(tcb: Tcb, start: number, end: number): void {
  if (!tcb.negotiated.sack || end <= start) return;
  tcb.receive.dsackStart = start;
  tcb.receive.dsackStop = end;
  tcb.receive.ackNow = true;
}

/** A receiver RTT sample for autotuning: a lower one is taken at once, a higher one by 1/8 (Linux tcp_rcv_rtt_update). */
function receiveRttSample(tcb: Tcb, sample: Micros): void {
  const previous = tcb.autotune.rtt;
  tcb.autotune.rtt = previous === undefined ? sample : Math.min(sample, previous * 0.875 + sample * 0.125);
}

/** Autotuning once per receiver RTT (Linux tcp_rcv_space_adjust). */
export function autotune(tcb: Tcb): void {
  const rtt = tcb.autotune.rtt ?? tcb.rtt.srtt;
  if (rtt === undefined) return;
  const now = tcb.now;
  if (now - tcb.autotune.markAt < rtt) return;
  const copied = tcb.autotune.copiedSinceMark;
  tcb.autotune.copiedSinceMark = 0;
  tcb.autotune.markAt = now;
  if (copied <= tcb.autotune.space) return;
  const previous = tcb.autotune.space;
  tcb.autotune.space = copied;
  // Room for twice what the application consumed in one RTT, plus slack for reordering (Linux: 2 *
  // copied + 16 * advmss, and more when the rate is growing).
  let target = 2 * copied + 16 * tcb.receive.mss;
  if (previous > 0) target += Math.min(target, Math.floor((target * (copied - previous)) / previous));
  const max = tcb.config.receiveBufferMaxBytes;
  if (target > tcb.receive.bufferBytes) tcb.receive.bufferBytes = Math.min(max, target);
}

/** The right window edge we would offer now (before SWS avoidance). */
function freeEdge(tcb: Tcb): number {
  const receive = tcb.receive.buffer!;
  const free = tcb.receive.bufferBytes - receive.readable - receive.oooBytes;
  return receive.nxt + (free > 0 ? free : 0);
}

/** Linux tcp_cleanup_rbuf: after a read, ACK if the window at least doubled. */
export function maybeWindowUpdate(tcb: Tcb): void {
  const receive = tcb.receive.buffer;
  if (receive === undefined || tcb.receive.finReceived) return;
  const name = tcb.state.name;
  if (name === 'CLOSED' || name === 'SYN-SENT' || name === 'SYN-RECEIVED' || name === 'TIME-WAIT') return;
  const current = Math.max(0, tcb.receive.advertisedEdge - receive.nxt);
  if (2 * current > tcb.receive.bufferBytes) return;
  const next = freeEdge(tcb) - receive.nxt;
  if (next >= 2 * current && next - current >= Math.min(tcb.receive.mss, tcb.receive.bufferBytes / 2)) tcb.receive.ackNow = true;
}

/** The window field for a segment carrying ACK, moving the advertised edge (never left). */
function windowField(tcb: Tcb): number {
  const receive = tcb.receive.buffer!;
  const shift = tcb.negotiated.receiveWindowShift;
  let edge = tcb.receive.advertisedEdge;
  const candidate = freeEdge(tcb);
  // Receiver SWS avoidance (RFC 9293 3.8.6.2.2): move the edge by at least min(buffer/2, MSS).
  if (candidate - edge >= Math.min(tcb.receive.bufferBytes / 2, tcb.receive.mss) || edge < receive.nxt) edge = Math.max(edge, candidate);
  let window = edge - receive.nxt;
  if (window < 0) window = 0;
  let field = window >>> shift;
  if (receive.nxt + field * 2 ** shift < tcb.receive.advertisedEdge) field++; // round up rather than shrink
  if (field > 65535) field = 65535;
  tcb.receive.advertisedEdge = Math.max(tcb.receive.advertisedEdge, receive.nxt + field * 2 ** shift);
  return field;
}

/**
 * RFC 2018 3: at most 4 blocks, 3 alongside timestamps. A pending D-SACK goes first (RFC 2883 4: "the
 * first SACK block is used to report ... the duplicate"), followed by the SACK blocks, the one containing
 * the duplicate (when above RCV.NXT) first since it holds the latest segment.
 */
export function sackBlocksToSend(tcb: Tcb, reserved = 0): ReadonlyArray<readonly [number, number]> {
  const receive = tcb.receive.buffer!;
  // 40 option bytes, minus timestamps and what the extension reserves; a SACK option is 2 NOPs + 2 + 8n.
  const max = Math.min(4, Math.floor((40 - (tcb.negotiated.timestamps ? TIMESTAMPS_SPACE : 0) - reserved - 4) / 8));
  if (max <= 0) return NO_BLOCKS;
  if (tcb.receive.dsackStart < 0) return receive.hasOutOfOrder ? receive.sackBlocks(max) : NO_BLOCKS;
  const blocks: Array<readonly [number, number]> = [[tcb.receive.dsackStart, tcb.receive.dsackStop]];
  if (receive.hasOutOfOrder) for (const block of receive.sackBlocks(max - 1)) blocks.push(block);
  return blocks;
}

/** Bookkeeping for every segment carrying an ACK; returns the window field. */
export function onAckSent(tcb: Tcb): number {
  const receive = tcb.receive.buffer!;
  tcb.receive.lastAckSent = receive.nxt;
  tcb.receive.ackNow = false;
  tcb.receive.dsackStart = -1; // RFC 2883 4: a D-SACK is reported once
  tcb.receive.unackedBytes = 0;
  tcb.timers.stop(TcpTimer.DelayedAck);
  tcb.counters.segmentsSent++;
  return windowField(tcb);
}
