/**
 * The connection's info, like Linux's struct tcp_info (RFC 9293 section 3.10.6, STATUS, leaves its content
 * to the implementation), and the counts it shares with the cheap single-value getters of `TcpConnection`.
 *
 * Heads up! Before working on this file read Linux include/uapi/linux/tcp.h (struct tcp_info) and
 * tcp_get_info() in net/ipv4/tcp.c: the fields keep their meaning (bytes_acked excludes the SYN and FIN).
 */
import { pipeBytes } from './recovery.js';
import type { Tcb } from './tcb.js';
import type { TcpInfo } from './types.js';

/** Data bytes acknowledged by the peer: SND.UNA less our SYN, and less our FIN once that is acknowledged. */
export function bytesAcked(tcb: Tcb): number {
  const finAcked = tcb.send.finSent && tcb.send.una > tcb.send.buffer.end + 1;
  return Math.max(0, tcb.send.una - 1 - (finAcked ? 1 : 0));
}

/** A snapshot of the connection's state, like Linux's tcp_info (one object per call). */
export function connectionInfo(tcb: Tcb): TcpInfo {
  const rtt = tcb.rtt;
  const dataEnd = tcb.send.buffer.end + 1;
  const receive = tcb.receive.buffer;
  return {
    state: tcb.state.name,
    srttMicros: rtt.srtt === undefined ? undefined : Math.round(rtt.srtt),
    rttvarMicros: rtt.rttvar === undefined ? undefined : Math.round(rtt.rttvar),
    minRttMicros: rtt.minRtt,
    rtoMicros: rtt.rto,
    sendMss: tcb.send.mss,
    receiveMss: tcb.receive.mss,
    cwndBytes: tcb.cc.cwnd,
    ssthreshBytes: tcb.cc.ssthresh,
    congestionControl: tcb.cc.name,
    bytesInFlight: pipeBytes(tcb),
    bytesSent: Math.max(0, Math.min(tcb.send.nxt, dataEnd) - 1),
    bytesAcked: bytesAcked(tcb),
    bytesReceived: receive === undefined ? 0 : Math.max(0, receive.nxt - 1 - (tcb.receive.finReceived ? 1 : 0)),
    bytesRetransmitted: tcb.counters.bytesRetransmitted,
    segmentsSent: tcb.counters.segmentsSent,
    segmentsReceived: tcb.counters.segmentsReceived,
    retransmits: tcb.counters.retransmits,
    timeouts: tcb.counters.timeouts,
    lossProbes: tcb.counters.lossProbes,
    undos: tcb.counters.undos,
    sendWindow: tcb.send.window,
    receiveWindow: receive === undefined ? tcb.receive.bufferBytes : Math.max(0, tcb.receive.advertisedEdge - receive.nxt),
    sendWindowScale: tcb.negotiated.sendWindowShift,
    receiveWindowScale: tcb.negotiated.receiveWindowShift,
    timestamps: tcb.negotiated.timestamps,
    sack: tcb.negotiated.sack,
  };
}
