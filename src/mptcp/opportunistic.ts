/**
 * Opportunistic reinjection and penalisation. Read first: C. Raiciu et al., "How Hard Can It Be? Designing
 * and Implementing a Deployable Multipath TCP", NSDI 2012, section 4.2 ("Opportunistic retransmission" and
 * "Penalizing slow subflows"); the out-of-tree Linux kernel (multipath-tcp/mptcp, net/mptcp/mptcp_sched.c
 * `mptcp_rcv_buf_optimization`). A connection option (`MptcpConnectionOptions.opportunisticReinjection`),
 * whatever the scheduler.
 *
 * When the connection-level window blocks, i.e. the send head reached the peer's DATA_ACK + window with more
 * written, or the send buffer is (nearly) full with everything in it handed to subflows, the data at the
 * DATA_ACK is what holds the window shut. The blocking data, from the DATA_ACK to the end of the holder's
 * mapping there (at most one chunk, never the same bytes twice), is sent again on another usable subflow
 * with room in its congestion window and nothing waiting (the lowest SRTT of them), as the paper's
 * "opportunistic retransmission" does on the subflow that has room; and when the holder is slower (higher
 * SRTT) than that subflow its congestion window is reduced by its controller's own decrease (TcpConnection
 * `reduceCongestionWindow`: halving for reno and the coupled controllers, x 0.7 for cubic), at most once
 * per the holder's SRTT, so a slow path stops taking more of the window than it can drain.
 *
 * Work: only while blocked, one pass over the subflows and the holder's mappings (the bytes in flight).
 */
import type { Micros } from '../time/micros.js';
import type { ConnectionContext } from './context.js';
import { isMptcp } from './context.js';
import type { Subflow } from './subflow.js';

/** Most bytes sent again per blocked pass (Linux's MPTCP_SEND_BURST_SIZE). */
export const OPPORTUNISTIC_CHUNK = 64 * 1024;

/** The reinjection state of one connection (see the file comment). */
export class Opportunistic {
  readonly #ctx: ConnectionContext;
  /** Data offset up to which blocking data was already sent again (never twice). */
  #reinjectedTo = 0;
  /** Bytes sent again and reductions made (diagnostics and tests). */
  bytes = 0;
  penalties = 0;

  constructor(ctx: ConnectionContext) {
    this.#ctx = ctx;
  }

  /** Whether the connection-level window blocks new data now (see the file comment). */
  blocked(): boolean {
    const send = this.#ctx.send;
    if (send.scheduled >= send.windowEnd && send.written > send.windowEnd) return true;
    // The send buffer: everything handed out, the application's last write cut short, and less than a third
    // of the buffer free (Linux mptcp.org: SOCK_NOSPACE and sk_stream_wspace < sk_stream_min_wspace).
    if (send.scheduled < send.written || send.acked >= send.scheduled) return false;
    return (send.blocked || send.room === 0) && send.room < (send.written - send.acked) / 2;
  }

  /** The blocked case: the data at the DATA_ACK again on a faster subflow, the slow holder penalised. */
  run(now: Micros): void {
    const ctx = this.#ctx;
    if (!isMptcp(ctx.state) || !this.blocked()) return;
    const send = ctx.send;
    const una = send.acked;
    let holder: Subflow | undefined;
    let holderEnd = 0;
    for (const s of ctx.subflows) {
      if (s.closed) continue;
      for (const m of s.send.maps) {
        if (m.dataOffset <= una && una < m.dataOffset + m.length) {
          holder = s;
          holderEnd = m.dataOffset + m.length;
          break;
        }
      }
      if (holder !== undefined) break;
    }
    if (holder === undefined) return;
    const holderSrtt = holder.tcp.srttMicros;
    if (holderSrtt === undefined) return;
    let target: Subflow | undefined;
    let targetSrtt = Infinity;
    for (const s of ctx.subflows) {
      if (s === holder || s.closed || !s.usable || s.stale) continue;
      if (s.tcp.cwndBytes - s.tcp.bytesInFlight < s.tcp.sendMss) continue;
      if (s.send.sentEnd < s.send.written + 1) continue; // bytes already wait on it
      const srtt = s.tcp.srttMicros ?? Infinity;
      if (target === undefined || srtt < targetSrtt) {
        target = s;
        targetSrtt = srtt;
      }
    }
    if (target === undefined) return;
    const start = Math.max(una, this.#reinjectedTo);
    const end = Math.min(holderEnd, start + OPPORTUNISTIC_CHUNK);
    if (start < end) {
      const n = target.push(send, start, end - start);
      if (n > 0) {
        this.#reinjectedTo = start + n;
        this.bytes += n;
        ctx.counters.MPTCPRetrans++;
        ctx.forbidInfiniteFallback();
      }
    }
    if (holderSrtt > targetSrtt && now - holder.progress.penalizedAt >= holderSrtt && holder.tcp.reduceCongestionWindow(now)) {
      holder.progress.penalizedAt = now;
      this.penalties++;
    }
  }
}
