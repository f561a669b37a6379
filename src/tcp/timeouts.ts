/**
 * What each timer does when it fires (RFC 9293 section 3.10.8, "Timeouts"), in a fixed order: TIME-WAIT and
 * an orphaned FIN-WAIT-2 end the connection; the loss probe, retransmission and reordering timers hand over
 * to ./recovery.ts; the delayed ACK, the zero-window probe and keepalive are handled here. The deadlines
 * live in the table of ./timers.ts.
 *
 * Heads up! Before working on this file read RFC 9293 sections 3.10.8 (timeouts), 3.8.6.1 (zero-window
 * probing), 3.8.4 (keep-alives) and 3.6 (TIME-WAIT), RFC 8985 section 6.3 (the reordering timer), and Linux
 * net/ipv4/tcp_timer.c (tcp_probe_timer, tcp_keepalive_timer).
 */
import { onLossProbeTimeout, onRetransmitTimeout, rackDetectLoss } from './recovery.js';
import type { Tcb } from './tcb.js';
import { TcpTimer } from './timers.js';
import type { Micros } from './types.js';

/** Runs every timer whose deadline is at or before `now` (`TcpConnection.handleTimeout`). */
export function runExpiredTimers(tcb: Tcb, now: Micros): void {
  tcb.now = now;
  const timers = tcb.timers;
  if (timers.expired(TcpTimer.TimeWait, now)) {
    timers.stop(TcpTimer.TimeWait);
    tcb.enterClosed(undefined);
    return;
  }
  if (timers.expired(TcpTimer.FinWait2, now)) {
    timers.stop(TcpTimer.FinWait2);
    tcb.enterClosed(undefined);
    return;
  }
  if (timers.expired(TcpTimer.LossProbe, now)) {
    timers.stop(TcpTimer.LossProbe);
    onLossProbeTimeout(tcb, now);
  }
  if (timers.expired(TcpTimer.Retransmit, now)) {
    timers.stop(TcpTimer.Retransmit);
    onRetransmitTimeout(tcb, now);
    if (tcb.state.name === 'CLOSED') return;
  }
  if (timers.expired(TcpTimer.ReorderTimeout, now)) {
    timers.stop(TcpTimer.ReorderTimeout);
    // RFC 8985 6.3 (Linux tcp_rack_reo_timeout): the reordering window of some segment ended.
    if (tcb.negotiated.sack && tcb.send.nxt > tcb.send.una) rackDetectLoss(tcb, now);
  }
  if (timers.expired(TcpTimer.DelayedAck, now)) {
    timers.stop(TcpTimer.DelayedAck);
    if (tcb.receive.unackedBytes > 0) tcb.receive.ackNow = true;
  }
  if (timers.expired(TcpTimer.Persist, now)) {
    timers.stop(TcpTimer.Persist);
    onPersistTimeout(tcb, now);
    if (tcb.state.name === 'CLOSED') return;
  }
  if (timers.expired(TcpTimer.Keepalive, now)) {
    timers.stop(TcpTimer.Keepalive);
    onKeepaliveTimeout(tcb, now);
  }
}

/** The zero-window probe timer fired: one more probe, a longer interval, or the end after `maxRetransmits`. */
function onPersistTimeout(tcb: Tcb, now: Micros): void {
  if (tcb.probes.probesOut >= tcb.config.maxRetransmits) {
    tcb.fail({ code: 'ETIMEDOUT', message: `retransmission limit reached: ${tcb.probes.probesOut} zero-window probes unanswered` });
    return;
  }
  tcb.probes.probesOut++;
  tcb.probes.pending = true;
  tcb.probes.persistBackoff++;
  tcb.timers.set(TcpTimer.Persist, now + persistInterval(tcb));
}

/** Linux tcp_probe0_when: the RTO shifted by the probe backoff, at most rtoMax. */
export function persistInterval(tcb: Tcb): Micros {
  return Math.min(tcb.rtt.rto * 2 ** tcb.probes.persistBackoff, tcb.config.rtoMaxMicros);
}

/**
 * The keepalive timer fired (RFC 9293 3.8.4): re-armed while the peer was heard from recently or data is
 * outstanding; otherwise a probe, until `keepalive.probes` unanswered probes end the connection.
 */
function onKeepaliveTimeout(tcb: Tcb, now: Micros): void {
  const keepalive = tcb.config.keepalive;
  const name = tcb.state.name;
  if (keepalive === undefined || !(name === 'ESTABLISHED' || name === 'CLOSE-WAIT' || name === 'FIN-WAIT-2')) return;
  const idle = now - tcb.probes.lastReceiveAt;
  if (tcb.probes.keepaliveProbes === 0 && idle < keepalive.idleMicros) {
    tcb.timers.set(TcpTimer.Keepalive, tcb.probes.lastReceiveAt + keepalive.idleMicros);
    return;
  }
  // Linux tcp_keepalive_timer: no probes while data is outstanding or the window is probed.
  if (tcb.send.nxt > tcb.send.una || tcb.timers.isArmed(TcpTimer.Persist)) {
    tcb.timers.set(TcpTimer.Keepalive, now + keepalive.intervalMicros);
    return;
  }
  if (tcb.probes.keepaliveProbes >= keepalive.probes) {
    tcb.fail({ code: 'ETIMEDOUT', message: `connection timed out: ${tcb.probes.keepaliveProbes} keepalive probes unanswered` });
    return;
  }
  tcb.probes.keepaliveProbes++;
  tcb.probes.pending = true;
  tcb.timers.set(TcpTimer.Keepalive, now + keepalive.intervalMicros);
}
