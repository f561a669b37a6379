/**
 * Segment arrival (RFC 9293 section 3.10.7, "SEGMENT ARRIVES"): SYN-SENT's checks, then for the synchronized
 * states the RFC's order of checks (sequence number, RST, SYN, ACK, text, FIN) with RFC 5961's hardening and
 * PAWS; the peer's SYN options; the RST and FIN transitions. ACK processing is ./ack.ts, the text ./receive.ts.
 *
 * Heads up! Before working on this file read:
 * - RFC 9293 sections 3.10.7.3 (SYN-SENT) and 3.10.7.4 (other states: the checks below follow its order),
 *   3.5 (the handshake, simultaneous open: figure 7) and 3.6 (closing);
 * - RFC 5961 sections 3 (blind RST: exact match or a challenge ACK), 4 (SYN in a synchronized state) and
 *   5 (ACK acceptability);
 * - RFC 7323 sections 2.2 (a SYN's window is never scaled), 4.3 (TS.Recent) and 5.3 / 5.5 (PAWS);
 * - RFC 2883 section 4.1 (a D-SACK for an old duplicate);
 * - Linux tcp_rcv_synsent_state_process, tcp_validate_incoming, tcp_sequence, tcp_paws_discard, tcp_fin.
 */
import { seqDiff } from '../wire/seq.js';
import { TcpFlags } from '../wire/tcp.js';
import type { TcpSegment } from '../wire/tcp.js';
import { processAck } from './ack.js';
import { DEFAULT_PEER_MSS, PAWS_IDLE_LIMIT_MICROS, scanOptions, TIMESTAMPS_SPACE, timestampRtt } from './options.js';
import { ReceiveBuffer } from './receive-buffer.js';
import { receiveData, setDsack } from './receive.js';
import type { Tcb } from './tcb.js';
import { TcpTimer } from './timers.js';
import type { Micros } from './types.js';

/** A segment for this connection arrived (`TcpConnection.handleSegment`; checksum verified by the stack). */
export function segmentArrives(tcb: Tcb, now: Micros, segment: TcpSegment): void {
  tcb.now = now;
  tcb.counters.segmentsReceived++;
  tcb.extension?.onOptions?.(segment);
  switch (tcb.state.name) {
    case 'CLOSED':
      segmentInClosed(tcb, segment);
      return;
    case 'SYN-SENT':
      segmentInSynSent(tcb, now, segment);
      return;
    default:
      segmentSynchronized(tcb, now, segment);
  }
}

/** Options and ISN from the peer's SYN (in SYN-SENT or accept). */
export function receiveSyn(tcb: Tcb, now: Micros, syn: TcpSegment): void {
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

/**
 * RFC 9293 3.10.7.1: CLOSED is a connection that does not exist: a segment without RST gets a RST, <SEQ=SEG.ACK>
 * if it has an ACK, else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. A closed connection still reachable by its
 * 4-tuple (an MPTCP subflow reset by us while its connection lives on) so answers the peer's challenge ACK
 * (RFC 5961 3.2) to our out-of-window RST, and the peer's subflow closes instead of living on.
 */
function segmentInClosed(tcb: Tcb, seg: TcpSegment): void {
  const flags = seg.flags;
  if ((flags & TcpFlags.RST) !== 0) return;
  if ((flags & TcpFlags.ACK) !== 0) {
    tcb.send.rstPending = { seq: seg.ack, ack: undefined };
    return;
  }
  const length = seg.payload.length + ((flags & TcpFlags.SYN) !== 0 ? 1 : 0) + ((flags & TcpFlags.FIN) !== 0 ? 1 : 0);
  tcb.send.rstPending = { seq: 0, ack: (seg.seq + length) >>> 0 };
}

/**
 * RFC 9293 3.10.7.3: in SYN-SENT only an ACK of our SYN, a RST with that ACK, or a SYN counts; a SYN/ACK
 * completes the handshake, a bare SYN is a simultaneous open.
 */
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
    tcb.enterSimultaneousOpen();
  }
}

/** The RTT sample of the handshake: from the echoed timestamp, else from our SYN's send time (Karn). */
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

/** RFC 9293 3.10.7.4: a segment in a synchronized state (or SYN-RECEIVED), checked in the RFC's order. */
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

  // Acceptable: the peer is alive (keepalive's idle period and probe count restart; an unacceptable or
  // PAWS-rejected segment above proves nothing, as in Linux, which refreshes only after tcp_validate_incoming).
  tcb.probes.lastReceiveAt = now;
  tcb.probes.keepaliveProbes = 0;

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

/** An acceptable RST (RFC 9293 3.10.7.4 second): the error depends on the state it ends. */
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

/** The peer's FIN reached RCV.NXT (RFC 9293 3.10.7.4 eighth): it is acknowledged, and 'end' may follow. */
function receiveFin(tcb: Tcb, now: Micros): void {
  const receive = tcb.receive.buffer!;
  receive.nxt += 1;
  tcb.receive.finReceived = true;
  tcb.receive.ackNow = true;
  if (receive.readable === 0) tcb.reportEnd();
  tcb.peerFinReached(now);
}
