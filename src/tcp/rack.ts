/**
 * RACK, the time-based loss detection of RFC 8985 (read sections 6.1-6.3 and the pseudocode in 6.2; Linux
 * net/ipv4/tcp_recovery.c `tcp_rack_detect_loss`, `tcp_rack_advance`, `tcp_rack_reo_wnd`).
 *
 * "RACK.xmit_ts ... the latest transmission timestamp of the most recently delivered segment"; a segment is
 * lost once a segment sent after it has been delivered and a reordering window has passed since the
 * expected delivery: Segment.xmit_ts + RACK.rtt + RACK.reo_wnd <= now (6.2 step 5). The reordering window
 * is min_RTT / 4, zero before any reordering was seen while in recovery or once DupThresh segments are
 * SACKed (step 4, the DupThresh emulation), grown by min_RTT / 4 per round that sees a D-SACK and reset
 * after 16 D-SACK-free recoveries.
 *
 * The sender owns the per-segment records (./sent-queue.ts); this holds RACK's state and runs the steps.
 */
import { SegmentFlag, type SentQueue, type SentSegment } from './sent-queue.js';
import type { Micros } from './types.js';

/** RFC 8985 6.2 step 4: "RACK.reo_wnd_persist = 16". */
const REO_WND_PERSIST = 16;
/** RFC 6675 DupThresh, as RACK uses it before reordering is seen. */
const DUP_THRESH = 3;

/** RFC 8985 RACK_sent_after: whether (t1, seq1) was sent after (t2, seq2). */
export function sentAfter(t1: Micros, seq1: number, t2: Micros, seq2: number): boolean {
  return t1 > t2 || (t1 === t2 && seq1 > seq2);
}

/** RACK state of one connection (RFC 8985 section 5.2 "per-connection state"). */
export class Rack {
  /** RACK.xmit_ts and RACK.end_seq: the most recently sent segment known delivered. */
  xmitTs: Micros = -Infinity;
  endSeq = 0;
  /** RACK.rtt: the RTT of that segment, measured from its latest transmission. */
  rtt: Micros = 0;
  /** Minimum RTT over unambiguous deliveries (microsecond precise, unlike the timestamp option). */
  minRtt: Micros = Infinity;
  /** RACK.fack: the highest end position delivered (SACKed or cumulatively). */
  fack = 0;
  /** RACK.reordering_seen. */
  reorderingSeen = false;
  /** RACK.reo_wnd_mult, RACK.reo_wnd_persist, RACK.dsack_round (-1: none). */
  reoWndMult = 1;
  reoWndPersist = 0;
  dsackRound = -1;
  /** Some segment was delivered by the ACK being processed (Linux rack.advanced). */
  advanced = false;

  /**
   * RFC 8985 6.2 steps 2 and 3 for one newly delivered segment (SACKed or cumulatively acknowledged):
   * RACK_update and RACK_detect_reordering.
   */
  onDelivered(segment: SentSegment, now: Micros): void {
    const retransmitted = (segment.flags & SegmentFlag.EverRetransmitted) !== 0;
    if (segment.end > this.fack) this.fack = segment.end;
    else if (segment.end < this.fack && !retransmitted) this.reorderingSeen = true;
    const rtt = now - segment.xmitTs;
    // "If Segment.retransmitted is TRUE ... If rtt < RACK.min_RTT: Return" (the ACK may be for the original).
    if (retransmitted && rtt < this.minRtt) return;
    if (!retransmitted && rtt < this.minRtt) this.minRtt = rtt;
    this.rtt = rtt;
    this.advanced = true;
    if (sentAfter(segment.xmitTs, segment.end, this.xmitTs, this.endSeq)) {
      this.xmitTs = segment.xmitTs;
      this.endSeq = segment.end;
    }
  }

  /**
   * RFC 8985 6.2 step 4, the D-SACK part of RACK_update_reo_wnd: once per round trip that sees a D-SACK the
   * window grows; `recoveryEnded` counts down the persistence.
   */
  updateReoWnd(dsack: boolean, una: number, nxt: number, recoveryEnded: boolean): void {
    if (this.dsackRound >= 0 && una >= this.dsackRound) this.dsackRound = -1;
    if (this.dsackRound < 0 && dsack) {
      this.dsackRound = nxt;
      this.reoWndMult++;
      this.reoWndPersist = REO_WND_PERSIST;
    } else if (recoveryEnded) {
      this.reoWndPersist--;
      if (this.reoWndPersist <= 0) this.reoWndMult = 1;
    }
  }

  /**
   * RACK.reo_wnd (the rest of step 4): 0 before reordering was seen when in recovery or once DupThresh
   * segments are SACKed; else min(reo_wnd_mult * min_RTT / 4, SRTT).
   */
  reoWnd(inRecovery: boolean, segsSacked: number, srtt: number | undefined, fallbackMinRtt: Micros | undefined): Micros {
    if (!this.reorderingSeen && (inRecovery || segsSacked >= DUP_THRESH)) return 0;
    const minRtt = this.minRtt !== Infinity ? this.minRtt : (fallbackMinRtt ?? 0);
    const wnd = Math.floor((this.reoWndMult * minRtt) / 4);
    return srtt !== undefined && srtt < wnd ? Math.floor(srtt) : wnd;
  }

  /**
   * RFC 8985 6.2 step 5, RACK_detect_loss: marks lost every segment sent before RACK.xmit_ts whose
   * reordering window has passed. Returns the newly lost count and, in `timeout`, the longest remaining wait
   * (0 when none): "timeout = max(remaining, timeout)", the reordering timer's delay.
   */
  detectLoss(queue: SentQueue, now: Micros, reoWnd: Micros): { lost: number; timeout: Micros } {
    let lost = 0;
    let timeout = 0;
    let segment = queue.oldestInFlight;
    while (segment !== undefined) {
      const next = segment.tsNext;
      // The transmission-order list is sorted: the first segment not sent before RACK's ends the scan.
      if (!sentAfter(this.xmitTs, this.endSeq, segment.xmitTs, segment.end)) break;
      const remaining = segment.xmitTs + this.rtt + reoWnd - now;
      if (remaining <= 0) {
        queue.markLost(segment, segment.start);
        lost++;
      } else if (remaining > timeout) timeout = remaining;
      segment = next;
    }
    result.lost = lost;
    result.timeout = timeout;
    return result;
  }
}

const result = { lost: 0, timeout: 0 };
