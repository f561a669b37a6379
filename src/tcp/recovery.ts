/**
 * Loss recovery glue: the pipe, entering fast recovery, RACK's loss detection, the tail loss probe's
 * timer, the retransmission timeout, and the undo of spurious episodes. The data structures are
 * ./sent-queue.ts, ./scoreboard.ts and ./rack.ts; the state is `Tcb.recovery` and `Tcb.undo`; ./ack.ts
 * drives all of it from each ACK.
 *
 * Heads up! Before working on this file read:
 * - RFC 6675 (SACK-based loss recovery: pipe, RecoveryPoint) and RFC 6582 (NewReno, for peers without SACK);
 * - RFC 8985 (RACK-TLP: sections 6.2-6.3 loss detection and the reordering timer, 7 the loss probe);
 * - RFC 6298 section 5 (the RTO, its backoff) and RFC 5681 section 3.1 (after an RTO, slow start);
 * - RFC 3522 (Eifel) and RFC 3708 / RFC 2883 section 5 (D-SACK undo), as Linux's tcp_try_undo_*;
 * - Linux net/ipv4/tcp_input.c (tcp_enter_loss, tcp_enter_recovery, tcp_undo_cwnd_reduction) and
 *   tcp_recovery.c (RACK).
 */
import { seqDiff } from '../wire/seq.js';
import type { ParsedOptions } from './options.js';
import { Recovery, type Tcb } from './tcb.js';
import { TcpTimer } from './timers.js';
import type { Micros } from './types.js';

/**
 * RFC 6675 pipe, in bytes, as Linux's packets_in_flight: outstanding bytes minus SACKed bytes (or, without
 * SACK, the segments dupACKs stood for) minus bytes marked lost and not retransmitted since.
 */
export function pipeBytes(tcb: Tcb): number {
  const outstanding = tcb.send.nxt - tcb.send.una;
  if (outstanding <= 0) return 0;
  let sacked: number;
  const scoreboard = tcb.recovery.scoreboard;
  if (tcb.negotiated.sack) sacked = scoreboard === undefined ? 0 : scoreboard.sackedBytes;
  else sacked = Math.min(outstanding, tcb.recovery.renoSacked * tcb.send.mss);
  const pipe = outstanding - sacked - tcb.recovery.sent.lostBytes;
  return pipe > 0 ? pipe : 0;
}

/**
 * The FlightSize a congestion reduction starts from (RFC 5681 equation (4), RFC 6675 5 step 4.2): outstanding
 * bytes, at most cwnd. After a SACK recovery whose retransmissions were lost again (RFC 6675 keeps sending new
 * data while lost bytes leave the pipe), or after an RTO and slow start, SND.NXT - SND.UNA can be far above
 * cwnd, and halving it would raise the window at a loss, every loss a little more: seen with Reno on a 2%-loss
 * 8 Mbit/s path under an MPTCP-sized receive window (cwnd 1.2 MB, most of what was sent dropped at the
 * queue). A reduction never raises the window; Linux's reno halves cwnd (tcp_reno_ssthresh).
 */
export function flightForReduction(tcb: Tcb): number {
  const outstanding = tcb.send.nxt - tcb.send.una;
  const cwnd = tcb.cc.cwnd;
  return outstanding < cwnd ? outstanding : cwnd;
}

/**
 * Enters fast recovery (RFC 6675 5 / RFC 6582 3.2): RecoveryPoint is SND.MAX, the first retransmission
 * goes out regardless of cwnd, and the controller reduces once for the episode.
 */
export function enterFastRecovery(tcb: Tcb, now: Micros): void {
  const flight = flightForReduction(tcb);
  tcb.recovery.phase = Recovery.Fast;
  tcb.recovery.point = tcb.send.nxt;
  tcb.recovery.entryUna = tcb.send.una;
  if (!tcb.negotiated.sack) {
    // NewReno's fast retransmit: the first unacknowledged segment is the lost one.
    const first = tcb.recovery.sent.at(0);
    if (first !== undefined) tcb.recovery.sent.markLost(first, first.start);
  }
  startUndoEpisode(tcb);
  tcb.recovery.timedEnd = -1;
  tcb.recovery.retransmitNow = true;
  tcb.timers.stop(TcpTimer.LossProbe);
  tcb.cc.onCongestionEvent(now, flight);
}

/** RACK detection (RFC 8985 6.2 step 5 and 6.3): mark, maybe start recovery, arm the reordering timer. */
export function rackDetectLoss(tcb: Tcb, now: Micros): void {
  const sent = tcb.recovery.sent;
  const reoWnd = tcb.recovery.rack.reoWnd(tcb.recovery.phase !== Recovery.None, sent.sackedCount, tcb.rtt.srtt, tcb.rtt.minRtt);
  const { lost, timeout } = tcb.recovery.rack.detectLoss(sent, now, reoWnd);
  if (lost > 0 && tcb.recovery.phase === Recovery.None) enterFastRecovery(tcb, now);
  if (timeout > 0) tcb.timers.set(TcpTimer.ReorderTimeout, now + timeout);
  else tcb.timers.stop(TcpTimer.ReorderTimeout);
}

/**
 * RFC 8985 7.2: arm the probe timeout, PTO = 2 * SRTT (+ the worst-case delayed ACK when one segment is in
 * flight; Linux adds the minimum RTO), never later than the RTO. Only with SACK, outside recovery and while
 * nothing is SACKed (RACK then covers the tail).
 */
export function armLossProbe(tcb: Tcb, now: Micros): void {
  if (!tcb.negotiated.sack || tcb.recovery.phase !== Recovery.None || tcb.recovery.sent.sackedCount > 0 || tcb.send.nxt <= tcb.send.una) return;
  const srtt = tcb.rtt.srtt;
  let pto: Micros;
  if (srtt === undefined) pto = 1_000_000;
  else {
    pto = Math.round(2 * srtt);
    if (tcb.send.nxt - tcb.send.una <= tcb.send.mss) pto += tcb.config.rtoMinMicros;
  }
  let at = now + pto;
  const rtoAt = tcb.timers.get(TcpTimer.Retransmit);
  if (rtoAt !== undefined && rtoAt < at) at = rtoAt;
  tcb.timers.set(TcpTimer.LossProbe, at);
}

/** RFC 8985 7.4 TLP_process_ack, with Linux tcp_process_tlp_ack's choices. */
export function tlpProcessAck(tcb: Tcb, now: Micros, ackPosition: number, progress: boolean): void {
  const end = tcb.recovery.tlpEnd;
  if (ackPosition < end) return;
  if (!tcb.recovery.tlpIsRetrans) {
    tcb.recovery.tlpEnd = -1; // a probe of new data was delivered
  } else if (tcb.recovery.dsackEnd >= end) {
    tcb.recovery.tlpEnd = -1; // "the retransmission is a dupe": the original arrived, nothing was lost
  } else if (ackPosition > end) {
    // "Repaired the single loss": react to it as to a loss (Linux: a CWR-style reduction, no recovery).
    tcb.recovery.tlpEnd = -1;
    if (tcb.recovery.phase === Recovery.None) {
      tcb.cc.onCongestionEvent(now, flightForReduction(tcb));
      tcb.cc.onRecoveryEnd(now);
    }
  } else if (!progress) {
    tcb.recovery.tlpEnd = -1; // a pure dupACK at TLP.end_seq: original and probe both arrived
  }
}

/** A new congestion episode (Linux tcp_init_undo): its retransmissions are counted for undo. */
function startUndoEpisode(tcb: Tcb): void {
  tcb.undo.marker = tcb.send.una;
  tcb.undo.retrans = -1;
  tcb.undo.retransStamp = -1;
  tcb.undo.ackedRanges.length = 0;
}

/**
 * Spurious-retransmission detection, as Linux's tcp_try_undo_*:
 * - Eifel (RFC 3522 2): in recovery, an ACK advancing SND.UNA that echoes a timestamp older than the
 *   episode's first retransmission was triggered by an original transmission, so "the retransmission was
 *   spurious"; undone once no retransmission is in flight any more (Linux tcp_try_undo_partial / _loss);
 * - D-SACK (RFC 2883 5, RFC 3708): every retransmission of the episode was reported duplicate.
 */
export function detectSpurious(tcb: Tcb, now: Micros, o: ParsedOptions, unaAdvanced: boolean): void {
  if (tcb.undo.marker < 0 || tcb.undo.retrans < 0) return;
  if (tcb.undo.retrans === 0) {
    undo(tcb, now, false);
    return;
  }
  if (
    unaAdvanced &&
    tcb.recovery.phase !== Recovery.None &&
    tcb.negotiated.timestamps &&
    o.hasTimestamps &&
    o.tsEcr !== 0 &&
    tcb.undo.retransStamp >= 0 &&
    seqDiff(o.tsEcr, tcb.undo.retransStamp) < 0 &&
    tcb.recovery.sent.retransOutBytes === 0
  ) {
    undo(tcb, now, true);
  }
}

/** Restores the congestion state from before the episode (Linux tcp_undo_cwnd_reduction). */
function undo(tcb: Tcb, now: Micros, unmarkLoss: boolean): void {
  tcb.counters.undos++;
  tcb.cc.onUndo?.(now);
  tcb.undo.marker = -1;
  tcb.undo.retrans = -1;
  tcb.undo.retransStamp = -1;
  tcb.undo.ackedRanges.length = 0;
  // A spurious retransmission means the path reorders (or delayed the ACKs) more than assumed.
  tcb.recovery.rack.reorderingSeen = true;
  if (unmarkLoss) tcb.recovery.sent.unmarkAllLost();
  if (tcb.recovery.phase !== Recovery.None) {
    tcb.recovery.phase = Recovery.None;
    tcb.recovery.point = tcb.send.una;
    tcb.recovery.renoSacked = 0;
    tcb.recovery.dupAcks = 0;
  }
}

/**
 * The retransmission timer fired (RFC 6298 5.4-5.6): the SYN or SYN/ACK is due again, or, with data
 * outstanding, everything not SACKed is marked lost and resent in slow start (Linux tcp_enter_loss), until
 * `maxRetransmits` RTOs without progress end the connection.
 */
export function onRetransmitTimeout(tcb: Tcb, now: Micros): void {
  const name = tcb.state.name;
  const c = tcb.config;
  if (name === 'SYN-SENT' || name === 'SYN-RECEIVED') {
    if (tcb.send.synRetransmits >= c.maxSynRetransmits) {
      tcb.fail({
        code: 'ETIMEDOUT',
        message: `connection timed out: no answer after ${tcb.send.synRetransmits} ${name === 'SYN-SENT' ? 'SYN' : 'SYN/ACK'} retransmissions`,
      });
      return;
    }
    tcb.send.synRetransmits++;
    tcb.counters.timeouts++;
    tcb.counters.retransmits++;
    tcb.rtt.backOff();
    tcb.send.synPending = true;
    return;
  }
  if (tcb.send.una >= tcb.send.nxt) return;
  if (tcb.recovery.rtoCount >= c.maxRetransmits) {
    tcb.fail({
      code: 'ETIMEDOUT',
      message: `retransmission limit reached: ${tcb.recovery.rtoCount} retransmissions of sequence ${tcb.wireSend(tcb.send.una)} unacknowledged`,
    });
    return;
  }
  tcb.recovery.rtoCount++;
  tcb.counters.timeouts++;
  tcb.cc.onRetransmissionTimeout(now, flightForReduction(tcb));
  tcb.rtt.backOff();
  // Linux tcp_enter_loss: a new undo episode unless one is running (an RTO during recovery, or a repeated
  // RTO, undoes back to before the first reduction); everything outstanding and not SACKed is lost.
  if (tcb.recovery.phase === Recovery.None) startUndoEpisode(tcb);
  tcb.recovery.phase = Recovery.Loss;
  tcb.recovery.point = tcb.send.nxt;
  tcb.recovery.sent.markAllLost();
  tcb.recovery.dupAcks = 0;
  tcb.recovery.renoSacked = 0;
  tcb.recovery.timedEnd = -1;
  tcb.recovery.tlpEnd = -1;
  tcb.recovery.tlpPending = false;
  tcb.timers.stop(TcpTimer.LossProbe);
  tcb.timers.stop(TcpTimer.ReorderTimeout);
  tcb.timers.set(TcpTimer.Retransmit, now + tcb.rtt.rto);
}

/**
 * RFC 8985 7.3: the PTO fired. Send a probe unless one is outstanding (TLP.end_seq), and re-arm the RTO
 * ("After attempting to send a loss probe, regardless of whether a loss probe was sent, the sender MUST
 * re-arm the RTO timer, not the PTO timer").
 */
export function onLossProbeTimeout(tcb: Tcb, now: Micros): void {
  if (tcb.send.nxt <= tcb.send.una || tcb.recovery.phase !== Recovery.None) return;
  if (tcb.recovery.tlpEnd < 0) tcb.recovery.tlpPending = true;
  tcb.timers.set(TcpTimer.Retransmit, now + tcb.rtt.rto);
}
