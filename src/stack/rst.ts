/**
 * The reply to a segment that matches no connection (RFC 9293 section 3.10.7.1, CLOSED state; and 3.10.7.2
 * for a non-SYN to a listener), as a pure function: the host sends what it returns. Linux: tcp_v4_send_reset.
 */
import { TcpFlags, type TcpSegment, type TcpSegmentRepr } from '../wire/tcp.js';

const EMPTY = new Uint8Array(0);

/**
 * The RST answering `seg`, or undefined when none is due. RFC 9293 3.10.7.1: "If the ACK bit is off,
 * sequence number zero is used, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. If the ACK bit is on,
 * <SEQ=SEG.ACK><CTL=RST>." An incoming RST is never answered. With `mptcpReason` the RST carries MP_TCPRST
 * with that reason (RFC 8684 3.6; Linux refusing an MP_JOIN in subflow_check_req).
 */
export function resetReply(seg: TcpSegment, mptcpReason?: number): TcpSegmentRepr | undefined {
  if (seg.flags & TcpFlags.RST) return undefined;
  let repr: TcpSegmentRepr;
  if (seg.flags & TcpFlags.ACK) {
    repr = { srcPort: seg.dstPort, dstPort: seg.srcPort, seq: seg.ack, ack: 0, flags: TcpFlags.RST, window: 0, options: [], payload: EMPTY };
  } else {
    const segLen = seg.payload.length + (seg.flags & TcpFlags.SYN ? 1 : 0) + (seg.flags & TcpFlags.FIN ? 1 : 0);
    repr = { srcPort: seg.dstPort, dstPort: seg.srcPort, seq: 0, ack: (seg.seq + segLen) >>> 0, flags: TcpFlags.RST | TcpFlags.ACK, window: 0, options: [], payload: EMPTY };
  }
  if (mptcpReason !== undefined) repr = { ...repr, options: [{ kind: 'mptcp', option: { subtype: 'MP_TCPRST', flags: 0, reason: mptcpReason } }] };
  return repr;
}
