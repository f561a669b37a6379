/**
 * The sender's per-segment retransmission queue, for RACK-TLP (RFC 8985 section 5.2: "the sender needs to
 * store ... for each segment ... Segment.xmit_ts ... Segment.end_seq ... Segment.retransmitted ...
 * Segment.lost"). The bytes themselves stay in the SendBuffer; this holds only the bookkeeping.
 *
 * Two orders over the same records, as Linux keeps them (net/ipv4/tcp_output.c rtx queue and
 * `tsorted_sent_queue`):
 * - sequence order: an array (with a moving head) of records covering [SND.UNA, SND.MAX) without gaps, for
 *   cumulative ACKs, SACK marking and NextSeg (the first lost segment);
 * - transmission order: a doubly linked list of the records that are neither SACKed nor marked lost
 *   (awaiting retransmission), oldest transmission first, for RACK's loss detection, which stops at the first
 *   record sent after the most recently delivered one. A (re)transmission moves its record to the tail, so
 *   every operation on the common path is constant time.
 *
 * Positions are sequence offsets from our ISN (no wrap). A record's range includes the FIN when the segment
 * carried one. Records are split when a SACK block, cumulative ACK or shorter retransmission cuts one (rare:
 * receivers SACK whole segments).
 */
import type { Micros } from './types.js';

/** Per-record state bits. */
export const SegmentFlag = {
  /** Selectively acknowledged. */
  Sacked: 1,
  /** Marked lost and not retransmitted since (RFC 8985 Segment.lost; counts in `lostBytes`). */
  Lost: 2,
  /** A retransmission of it is in flight (Linux TCPCB_SACKED_RETRANS). */
  RetransOut: 4,
  /** Retransmitted at least once (RFC 8985 Segment.retransmitted; Linux TCPCB_EVER_RETRANS). */
  EverRetransmitted: 8,
  /** A D-SACK reported a retransmission of it as duplicate (counted once for undo). */
  DsackCounted: 16,
} as const;

/** One transmitted segment. */
export class SentSegment {
  /** Bit set of `SegmentFlag`. */
  flags = 0;
  /** Neighbours in transmission order (only while neither SACKed nor Lost). */
  tsPrev: SentSegment | undefined = undefined;
  tsNext: SentSegment | undefined = undefined;
  inTsList = false;

  constructor(
    /** First sequence position. */
    public start: number,
    /** One past the last position (FIN included). */
    public end: number,
    /** Time of the latest (re)transmission, microseconds (RFC 8985 Segment.xmit_ts). */
    public xmitTs: Micros,
  ) {}
}

/** The records of [SND.UNA, SND.MAX), in both orders, with the byte counts recovery needs. */
export class SentQueue {
  #segs: SentSegment[] = [];
  #head = 0;
  #tsHead: SentSegment | undefined = undefined;
  #tsTail: SentSegment | undefined = undefined;
  /** Lowest position that may hold a Lost record (NextSeg starts its scan here). */
  #lostHint = Infinity;
  /** Bytes marked lost and not yet retransmitted (not SACKed). */
  lostBytes = 0;
  /** Bytes whose retransmission is in flight (not SACKed). */
  retransOutBytes = 0;
  /** Records currently SACKed (RFC 8985 RACK.segs_sacked). */
  sackedCount = 0;

  /** Number of records. */
  get length(): number {
    return this.#segs.length - this.#head;
  }

  /** The record at sequence-order index `i` (0 is the oldest unacknowledged). */
  at(i: number): SentSegment | undefined {
    return this.#segs[this.#head + i];
  }

  /** The highest record (the last segment sent), if any. */
  get last(): SentSegment | undefined {
    return this.#segs.length > this.#head ? this.#segs[this.#segs.length - 1] : undefined;
  }

  /** The oldest transmission that is neither SACKed nor awaiting retransmission. */
  get oldestInFlight(): SentSegment | undefined {
    return this.#tsHead;
  }

  /** Records a new-data transmission [start, end) at `now` (start must be the current end). */
  push(start: number, end: number, now: Micros): SentSegment {
    const record = new SentSegment(start, end, now);
    this.#segs.push(record);
    this.#tsAppend(record);
    return record;
  }

  /** Index (sequence order, relative) of the record holding `position`, or -1. */
  indexOf(position: number): number {
    const segs = this.#segs;
    let lo = this.#head;
    let hi = segs.length - 1;
    if (hi < lo || position < segs[lo]!.start || position >= segs[hi]!.end) return -1;
    // The common lookups are near the ends; binary search otherwise.
    if (position >= segs[hi]!.start) return hi - this.#head;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (segs[mid]!.start <= position) lo = mid;
      else hi = mid - 1;
    }
    return lo - this.#head;
  }

  /** Makes `position` a record boundary (splits the record holding it); no-op at a boundary or outside. */
  splitAt(position: number): void {
    const i = this.indexOf(position);
    if (i < 0) return;
    const record = this.#segs[this.#head + i]!;
    if (record.start === position) return;
    const tail = new SentSegment(position, record.end, record.xmitTs);
    tail.flags = record.flags;
    record.end = position;
    this.#segs.splice(this.#head + i + 1, 0, tail);
    if ((record.flags & SegmentFlag.Sacked) !== 0) this.sackedCount++;
    if (record.inTsList) {
      // Same transmission time: the tail goes right after the head part.
      tail.inTsList = true;
      tail.tsPrev = record;
      tail.tsNext = record.tsNext;
      if (record.tsNext !== undefined) record.tsNext.tsPrev = tail;
      else this.#tsTail = tail;
      record.tsNext = tail;
    }
  }

  /**
   * Cumulative ACK up to `una`: drops the records below it (calling `visit` for each, before removal, for
   * RACK and reordering detection) and trims a record that straddles it.
   */
  acknowledge(una: number, visit: (record: SentSegment) => void): void {
    const segs = this.#segs;
    let h = this.#head;
    while (h < segs.length && segs[h]!.end <= una) {
      const record = segs[h]!;
      visit(record);
      this.#forget(record, record.end - record.start);
      segs[h] = DEAD;
      h++;
    }
    if (h < segs.length && segs[h]!.start < una) {
      const record = segs[h]!;
      const cut = una - record.start;
      if ((record.flags & (SegmentFlag.Sacked | SegmentFlag.Lost | SegmentFlag.RetransOut)) !== 0) this.#adjust(record, -cut);
      record.start = una;
    }
    this.#head = h;
    if (h === segs.length) {
      this.#segs = [];
      this.#head = 0;
    } else if (h >= 256 && h * 2 >= segs.length) {
      this.#segs = segs.slice(h);
      this.#head = 0;
    }
  }

  /** Marks a record SACKed (it leaves the transmission-order list). */
  markSacked(record: SentSegment): void {
    if ((record.flags & SegmentFlag.Sacked) !== 0) return;
    this.#adjust(record, -(record.end - record.start));
    record.flags = (record.flags & ~(SegmentFlag.Lost | SegmentFlag.RetransOut)) | SegmentFlag.Sacked;
    this.sackedCount++;
    this.#tsRemove(record);
  }

  /** Marks a record lost (RFC 8985 "Segment.lost = TRUE"): it awaits retransmission. */
  markLost(record: SentSegment, position: number): void {
    if ((record.flags & (SegmentFlag.Sacked | SegmentFlag.Lost)) !== 0) return;
    const length = record.end - record.start;
    if ((record.flags & SegmentFlag.RetransOut) !== 0) this.retransOutBytes -= length;
    record.flags = (record.flags & ~SegmentFlag.RetransOut) | SegmentFlag.Lost;
    this.lostBytes += length;
    this.#tsRemove(record);
    if (position < this.#lostHint) this.#lostHint = position;
  }

  /** Marks every record that is not SACKed lost (RTO: Linux tcp_timeout_mark_lost). */
  markAllLost(): void {
    for (let k = this.#head; k < this.#segs.length; k++) {
      const record = this.#segs[k]!;
      this.markLost(record, record.start);
    }
  }

  /** Records that the record was (re)transmitted at `now`: it moves to the tail of transmission order. */
  markRetransmitted(record: SentSegment, now: Micros): void {
    const length = record.end - record.start;
    if ((record.flags & SegmentFlag.Lost) !== 0) this.lostBytes -= length;
    if ((record.flags & SegmentFlag.RetransOut) === 0) this.retransOutBytes += length;
    record.flags = (record.flags & ~SegmentFlag.Lost) | SegmentFlag.RetransOut | SegmentFlag.EverRetransmitted;
    record.xmitTs = now;
    this.#tsRemove(record);
    this.#tsAppend(record);
  }

  /** The first Lost record in sequence order, or undefined. */
  firstLost(): SentSegment | undefined {
    if (this.lostBytes <= 0) {
      this.#lostHint = Infinity;
      return undefined;
    }
    const segs = this.#segs;
    let k = this.#head;
    if (this.#lostHint > segs[k]!.start) {
      const i = this.indexOf(this.#lostHint);
      k = i < 0 ? segs.length : this.#head + i;
    }
    for (; k < segs.length; k++) {
      const record = segs[k]!;
      if ((record.flags & SegmentFlag.Lost) !== 0) {
        this.#lostHint = record.start;
        return record;
      }
    }
    this.#lostHint = Infinity;
    return undefined;
  }

  /**
   * Clears every Lost mark (undo of a spurious recovery, Linux tcp_undo_cwnd_reduction with unmark_loss) and
   * rebuilds the transmission order. Linear in the queue, once per undo.
   */
  unmarkAllLost(): void {
    if (this.lostBytes === 0) return;
    const revived: SentSegment[] = [];
    for (let k = this.#head; k < this.#segs.length; k++) {
      const record = this.#segs[k]!;
      if ((record.flags & SegmentFlag.Lost) === 0) continue;
      record.flags &= ~SegmentFlag.Lost;
      revived.push(record);
    }
    this.lostBytes = 0;
    this.#lostHint = Infinity;
    for (let r = this.#tsHead; r !== undefined; r = r.tsNext) revived.push(r);
    revived.sort((x, y) => x.xmitTs - y.xmitTs || x.end - y.end);
    this.#tsHead = undefined;
    this.#tsTail = undefined;
    for (const record of revived) {
      record.inTsList = false;
      this.#tsAppend(record);
    }
  }

  /** Drops everything (connection closed). */
  clear(): void {
    this.#segs = [];
    this.#head = 0;
    this.#tsHead = undefined;
    this.#tsTail = undefined;
    this.#lostHint = Infinity;
    this.lostBytes = 0;
    this.retransOutBytes = 0;
    this.sackedCount = 0;
  }

  #forget(record: SentSegment, length: number): void {
    const flags = record.flags;
    if ((flags & SegmentFlag.Sacked) !== 0) this.sackedCount--;
    else if ((flags & SegmentFlag.Lost) !== 0) this.lostBytes -= length;
    else if ((flags & SegmentFlag.RetransOut) !== 0) this.retransOutBytes -= length;
    this.#tsRemove(record);
  }

  /** Adds `delta` bytes to the counter the record's state belongs to. */
  #adjust(record: SentSegment, delta: number): void {
    const flags = record.flags;
    if ((flags & SegmentFlag.Sacked) !== 0) return;
    if ((flags & SegmentFlag.Lost) !== 0) this.lostBytes += delta;
    else if ((flags & SegmentFlag.RetransOut) !== 0) this.retransOutBytes += delta;
  }

  #tsAppend(record: SentSegment): void {
    record.inTsList = true;
    record.tsNext = undefined;
    record.tsPrev = this.#tsTail;
    if (this.#tsTail !== undefined) this.#tsTail.tsNext = record;
    else this.#tsHead = record;
    this.#tsTail = record;
  }

  #tsRemove(record: SentSegment): void {
    if (!record.inTsList) return;
    record.inTsList = false;
    const prev = record.tsPrev;
    const next = record.tsNext;
    if (prev !== undefined) prev.tsNext = next;
    else this.#tsHead = next;
    if (next !== undefined) next.tsPrev = prev;
    else this.#tsTail = prev;
    record.tsPrev = undefined;
    record.tsNext = undefined;
  }
}

const DEAD = new SentSegment(0, 0, 0);
