/**
 * ACK processing (RFC 9293 3.10.7.4, fifth: "check the ACK field"): the send window update, SND.UNA's
 * advance with its RTT sample, SACK and D-SACK blocks, duplicate ACKs, and the loss-recovery state machine
 * each ACK drives (./recovery.ts); the congestion controller hears of every ACK here, and our FIN's
 * acknowledgment moves the close sequence on.
 *
 * Heads up! Before working on this file read:
 * - RFC 9293 section 3.10.7.4 (fifth: SND.WL1 / SND.WL2 and the window update) and RFC 5961 section 5.2
 *   (which ACKs are acceptable: checked by the caller, ./input.ts);
 * - RFC 2018 (SACK), RFC 2883 section 4 (D-SACK), RFC 6675 (scoreboard, pipe), RFC 6582 section 3.2
 *   (NewReno partial ACKs);
 * - RFC 7323 section 4.1 (RTTM), RFC 6298 section 5 (timer restart on new ACKs), RFC 5681 section 2 (what a
 *   duplicate ACK is);
 * - RFC 8985 sections 6.2 and 7.4 (RACK's per-ACK steps, the loss probe's outcome);
 * - Linux tcp_ack, tcp_sacktag_write_queue, tcp_check_dsack.
 */
import { seqDiff } from '../wire/seq.js';
import { TcpFlags } from '../wire/tcp.js';
import type { TcpSegment } from '../wire/tcp.js';
import { timestampRtt, type ParsedOptions } from './options.js';
import { Scoreboard, DUP_THRESH } from './scoreboard.js';
import { SegmentFlag } from './sent-queue.js';
import { armLossProbe, detectSpurious, enterFastRecovery, pipeBytes, rackDetectLoss, tlpProcessAck } from './recovery.js';
import { Recovery, type Tcb } from './tcb.js';
import { TcpTimer } from './timers.js';
import type { Micros } from './types.js';

/**
 * An acceptable ACK (the caller checked RFC 5961 5.2) at peer position `position` acknowledging up to our
 * position `ackPosition`: window update, SACK and D-SACK, cumulative advance, RTT sample, spurious
 * retransmission detection, the recovery state machine, and the controller's `onAck`.
 */
export function processAck(tcb: Tcb, now: Micros, seg: TcpSegment, position: number, ackPosition: number, o: ParsedOptions): void {
  const priorUna = tcb.send.una;
  const priorInFlight = pipeBytes(tcb);
  const cwnd = tcb.cc.cwnd;
  tcb.probes.probesOut = 0;
  const rack = tcb.recovery.rack;
  rack.advanced = false;
  tcb.recovery.dsackEnd = -1;

  let newlySacked = 0;
  const blocks = o.sackBlocks;
  if (tcb.negotiated.sack && blocks !== undefined) newlySacked = processSackBlocks(tcb, now, blocks, ackPosition);

  // Send window update (RFC 9293 3.10.7.4 fifth, ESTABLISHED).
  const window = seg.window << tcb.negotiated.sendWindowShift;
  const windowChanged = window !== tcb.send.window;
  if (tcb.send.wl1 < position || (tcb.send.wl1 === position && tcb.send.wl2 <= ackPosition)) {
    const opened = window > tcb.send.window;
    tcb.send.window = window;
    if (window > tcb.send.maxWindow) tcb.send.maxWindow = window;
    tcb.send.wl1 = position;
    tcb.send.wl2 = ackPosition;
    if (opened && window > 0 && tcb.timers.isArmed(TcpTimer.Persist)) {
      tcb.timers.stop(TcpTimer.Persist);
      tcb.probes.persistBackoff = 0;
    }
  }

  let acked = 0;
  let rttSample: Micros | undefined;
  if (ackPosition > priorUna) {
    acked = ackPosition - priorUna;
    tcb.send.una = ackPosition;
    tcb.send.buffer.release(ackPosition - 1);
    tcb.recovery.scoreboard?.advance(ackPosition);
    tcb.recovery.sent.acknowledge(ackPosition, tcb.onCumulativelyAcked);
    tcb.recovery.rtoCount = 0;
    tcb.recovery.dupAcks = 0;
    // RTTM (RFC 7323 4.1) from TSecr on ACKs that advance the left edge; otherwise Karn's timed segment.
    if (tcb.negotiated.timestamps && o.hasTimestamps && o.tsEcr !== 0) {
      rttSample = timestampRtt(now, o.tsEcr);
    } else if (tcb.recovery.timedEnd >= 0 && ackPosition >= tcb.recovery.timedEnd) {
      rttSample = now - tcb.recovery.timedAt;
      tcb.recovery.timedEnd = -1;
    }
    if (rttSample !== undefined) tcb.rtt.sample(rttSample);
    // RFC 6298 5.2 / 5.3: stop the timer when all is acknowledged, else restart it.
    if (tcb.send.una >= tcb.send.nxt) {
      tcb.timers.stop(TcpTimer.Retransmit);
      tcb.timers.stop(TcpTimer.LossProbe);
      tcb.timers.stop(TcpTimer.ReorderTimeout);
    } else tcb.timers.set(TcpTimer.Retransmit, now + tcb.rtt.rto);
    if (tcb.send.writeBlocked && tcb.writableBytes() >= tcb.config.sendBufferBytes / 2) {
      tcb.send.writeBlocked = false;
      tcb.emit({ type: 'writable' });
    }
    if (!tcb.negotiated.sack && tcb.recovery.renoSacked > 0) {
      // Linux tcp_remove_reno_sacks: the cumulative ACK covers segments the dupACKs stood for.
      tcb.recovery.renoSacked = Math.max(0, tcb.recovery.renoSacked - Math.max(0, Math.ceil(acked / tcb.send.mss) - 1));
    }
  } else if (
    ackPosition === priorUna &&
    tcb.send.nxt > priorUna &&
    seg.payload.length === 0 &&
    (seg.flags & (TcpFlags.SYN | TcpFlags.FIN)) === 0 &&
    (!windowChanged || newlySacked > 0)
  ) {
    // RFC 5681 2: a duplicate acknowledgment.
    tcb.recovery.dupAcks++;
    if (!tcb.negotiated.sack) {
      const outstandingSegments = Math.ceil((tcb.send.nxt - tcb.send.una) / tcb.send.mss);
      if (tcb.recovery.renoSacked + 1 < outstandingSegments) tcb.recovery.renoSacked++;
    }
  }

  // Spurious retransmissions (Eifel, D-SACK) and the tail loss probe's outcome.
  detectSpurious(tcb, now, o, acked > 0);
  if (tcb.recovery.tlpEnd >= 0) tlpProcessAck(tcb, now, ackPosition, acked > 0 || newlySacked > 0);

  // Recovery state machine.
  const wasInFastRecovery = tcb.recovery.phase === Recovery.Fast;
  let reported = false;
  let recoveryEnded = false;
  if (tcb.recovery.phase !== Recovery.None && tcb.send.una >= tcb.recovery.point) {
    const kind = tcb.recovery.phase;
    tcb.recovery.phase = Recovery.None;
    tcb.recovery.renoSacked = 0;
    tcb.recovery.dupAcks = 0;
    recoveryEnded = true;
    if (kind === Recovery.Fast) {
      reportAck(tcb, now, acked + newlySacked, priorInFlight, rttSample, cwnd, true);
      tcb.cc.onRecoveryEnd(now);
      reported = true;
    }
  }
  if (tcb.negotiated.sack) {
    rack.updateReoWnd(tcb.recovery.dsackEnd >= 0, tcb.send.una, tcb.send.nxt, recoveryEnded);
    if (rack.advanced && tcb.send.nxt > tcb.send.una) rackDetectLoss(tcb, now);
  } else if (tcb.recovery.phase === Recovery.Fast) {
    if (acked > 0) {
      // RFC 6582 3.2 step 5, partial ACK: retransmit the first unacknowledged segment now, and reset the
      // retransmission timer on the first partial ACK only (the "Impatient" variant).
      const first = tcb.recovery.sent.at(0);
      if (first !== undefined) tcb.recovery.sent.markLost(first, first.start);
      tcb.recovery.retransmitNow = true;
      if (priorUna === tcb.recovery.entryUna) tcb.timers.set(TcpTimer.Retransmit, now + tcb.rtt.rto);
    }
  } else if (tcb.recovery.phase === Recovery.None && tcb.send.nxt > tcb.send.una) {
    // RFC 6582 3.2 step 2: without SACK, dupACKs start recovery only when the ACK covers more than
    // "recover" (no repeated fast retransmits for one window).
    if (tcb.recovery.dupAcks >= DUP_THRESH && tcb.send.una >= tcb.recovery.point) enterFastRecovery(tcb, now);
  }
  // RFC 8985 7.2: restart the probe timer on an ACK that advances SND.UNA (outside recovery).
  if (acked > 0 && tcb.send.nxt > tcb.send.una) armLossProbe(tcb, now);
  if (!reported) reportAck(tcb, now, acked + newlySacked, priorInFlight, rttSample, cwnd, wasInFastRecovery);
  afterAck(tcb, priorUna);
}

/**
 * Validates and records SACK blocks (RFC 2018 5, RFC 6675 3); returns newly SACKed bytes. A first block
 * below the cumulative ACK or inside the second block is a D-SACK (RFC 2883 4, Linux tcp_check_dsack).
 */
function processSackBlocks(tcb: Tcb, now: Micros, blocks: ReadonlyArray<readonly [number, number]>, ackPosition: number): number {
  let added = 0;
  const una = Math.max(tcb.send.una, ackPosition);
  const base = tcb.wireSend(una);
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
        onDsack(tcb, now, start, end);
        continue;
      }
    }
    // Ignore blocks wholly below SND.UNA or beyond SND.MAX (inverted ones were skipped above); a block that
    // straddles SND.UNA is clipped to it (Linux tcp_is_sackblock_valid, tcp_sacktag_walk).
    if (end <= una || end > tcb.send.nxt) continue;
    const scoreboard = (tcb.recovery.scoreboard ??= new Scoreboard());
    added += scoreboard.add(Math.max(start, una), end, tcb.onNewlySacked);
  }
  return added;
}

/**
 * A D-SACK for [start, end): for RACK's reordering window (RFC 8985 6.2 step 4), the tail loss probe, and
 * undo accounting. Linux tcp_sacktag_one / tcp_check_dsack: a D-SACK at or above the episode's start
 * counts against its retransmissions (below SND.UNA the records are gone: counted by length, "dumb"
 * counting; above it only segments that were retransmitted count).
 */
function onDsack(tcb: Tcb, _now: Micros, start: number, end: number): void {
  if (end > tcb.recovery.dsackEnd) tcb.recovery.dsackEnd = end;
  if (tcb.undo.marker < 0 || tcb.undo.retrans <= 0 || end <= tcb.undo.marker) return;
  let segments = 0;
  if (start < tcb.send.una) {
    // Below SND.UNA: the retransmitted segments acknowledged in this episode that the D-SACK covers.
    const ranges = tcb.undo.ackedRanges;
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
    const sent = tcb.recovery.sent;
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
  tcb.recovery.rack.reorderingSeen = true;
  tcb.undo.retrans = Math.max(0, tcb.undo.retrans - segments);
}

/** Tells the controller of `ackedBytes` newly delivered, and whether the sender was cwnd-limited (Linux tcp_is_cwnd_limited). */
function reportAck(tcb: Tcb, now: Micros, ackedBytes: number, priorInFlight: number, rtt: Micros | undefined, cwnd: number, inRecovery: boolean): void {
  if (ackedBytes <= 0) return;
  const slowStart = cwnd < tcb.cc.ssthresh;
  const cwndLimited =
    tcb.recovery.cwndLimited || priorInFlight + tcb.send.mss > cwnd || (slowStart && 2 * priorInFlight >= cwnd);
  tcb.recovery.cwndLimited = false;
  const srtt = tcb.rtt.srtt;
  tcb.cc.onAck(now, {
    ackedBytes,
    priorInFlight,
    rttMicros: rtt,
    srttMicros: srtt === undefined ? undefined : Math.round(srtt),
    minRttMicros: tcb.rtt.minRtt,
    appLimited: !cwndLimited,
    inRecovery,
  });
}

/** Whether this ACK is the first to cover our FIN (the close sequence moves on). */
function afterAck(tcb: Tcb, priorUna: number): void {
  const finAt = tcb.send.buffer.end + 1;
  if (tcb.send.finSent && tcb.send.una > finAt && priorUna <= finAt) tcb.ourFinAcked();
}
