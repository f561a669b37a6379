/**
 * The receive side's data: in-order bytes waiting for the application, and out-of-order ranges waiting for
 * a gap to fill (RFC 9293 section 3.10.7.4, "segment text"), with the SACK blocks to report (RFC 2018
 * section 4: "The first SACK block ... MUST specify the contiguous block of data containing the segment
 * which triggered this ACK ... the data receiver SHOULD include as many distinct SACK blocks as possible
 * in the SACK option, and SHOULD repeat the most recently reported blocks").
 *
 * Positions are plain numbers (sequence offsets from the peer's ISN, so they never wrap). Payloads are
 * kept as views into the received packets, never copied. The out-of-order structures are allocated only
 * when the first out-of-order segment arrives.
 */

/** A contiguous out-of-order range and its payload pieces, in order. */
interface OooRange {
  start: number;
  end: number;
  pieces: Uint8Array[];
}

/** What `insert` did with a segment's payload. */
export const InsertResult = {
  /** Entirely old data (below the next expected byte). */
  Duplicate: 0,
  /** Extended the in-order data, no gap was filled. */
  InOrder: 1,
  /** Extended the in-order data and (partly) filled a gap before queued out-of-order data. */
  FilledGap: 2,
  /** Queued out of order. */
  OutOfOrder: 3,
} as const;
export type InsertResult = (typeof InsertResult)[keyof typeof InsertResult];

const MAX_SACK_BLOCKS = 4;

/** In-order queue plus lazily allocated reassembly. */
export class ReceiveBuffer {
  /** Position of the next expected byte (RCV.NXT). */
  nxt: number;
  /** Bytes readable in order. */
  readable = 0;
  /** Bytes held out of order. */
  oooBytes = 0;
  #queue: Uint8Array[] = [];
  #queueHead = 0;
  #ooo: OooRange[] | undefined = undefined;
  /** SACK blocks, most recent first. */
  #sack: Array<[number, number]> | undefined = undefined;
  /**
   * The already-received part of the last inserted payload, [duplicateStart, duplicateEnd) (-1 when none):
   * what a D-SACK block reports (RFC 2883 section 4). One contiguous range, the lowest if several.
   */
  duplicateStart = -1;
  duplicateEnd = -1;

  constructor(nxt: number) {
    this.nxt = nxt;
  }

  /** Whether out-of-order data is queued. */
  get hasOutOfOrder(): boolean {
    return this.#ooo !== undefined && this.#ooo.length > 0;
  }

  /** The end of the highest out-of-order range, or `nxt`. */
  get highestReceived(): number {
    const ooo = this.#ooo;
    return ooo !== undefined && ooo.length > 0 ? ooo[ooo.length - 1]!.end : this.nxt;
  }

  /** Inserts a payload at `start` (already trimmed to the receive window by the caller). */
  insert(start: number, data: Uint8Array): InsertResult {
    const end = start + data.length;
    this.duplicateStart = -1;
    if (data.length === 0) return InsertResult.Duplicate;
    if (end <= this.nxt) {
      this.duplicateStart = start;
      this.duplicateEnd = end;
      return InsertResult.Duplicate;
    }
    if (start < this.nxt) {
      this.duplicateStart = start;
      this.duplicateEnd = this.nxt;
      data = data.subarray(this.nxt - start);
      start = this.nxt;
    }
    if (start === this.nxt) {
      this.#push(data);
      this.nxt = end;
      const ooo = this.#ooo;
      if (ooo === undefined || ooo.length === 0) return InsertResult.InOrder;
      this.#drain(ooo);
      return InsertResult.FilledGap;
    }
    this.#insertOutOfOrder(start, end, data);
    return InsertResult.OutOfOrder;
  }

  #push(data: Uint8Array): void {
    this.#queue.push(data);
    this.readable += data.length;
  }

  /** Moves out-of-order ranges that now touch `nxt` to the in-order queue. */
  #drain(ooo: OooRange[]): void {
    let k = 0;
    while (k < ooo.length && ooo[k]!.start <= this.nxt) {
      const range = ooo[k]!;
      this.oooBytes -= range.end - range.start;
      let position = range.start;
      for (const piece of range.pieces) {
        const pieceEnd = position + piece.length;
        if (pieceEnd > this.nxt) this.#push(position >= this.nxt ? piece : piece.subarray(this.nxt - position));
        position = pieceEnd;
      }
      if (range.end > this.nxt) this.nxt = range.end;
      k++;
    }
    if (k > 0) ooo.splice(0, k);
    const sack = this.#sack;
    if (sack !== undefined) {
      for (let i = sack.length - 1; i >= 0; i--) if (sack[i]![1] <= this.nxt) sack.splice(i, 1);
      this.#refillSack(sack);
    }
  }

  #insertOutOfOrder(start: number, end: number, data: Uint8Array): void {
    const ooo = (this.#ooo ??= []);
    // First range whose end reaches `start` (adjacent ranges merge); the common case is the last one.
    let i: number;
    const last = ooo.length - 1;
    if (last < 0 || ooo[last]!.end < start) i = ooo.length;
    else {
      let lo = 0;
      let hi = last;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (ooo[mid]!.end >= start) hi = mid;
        else lo = mid + 1;
      }
      i = lo;
    }
    let j = i;
    while (j < ooo.length && ooo[j]!.start <= end) j++;
    for (let k = i; k < j; k++) {
      const overlapStart = Math.max(start, ooo[k]!.start);
      const overlapEnd = Math.min(end, ooo[k]!.end);
      if (overlapEnd > overlapStart) {
        this.duplicateStart = overlapStart;
        this.duplicateEnd = overlapEnd;
        break;
      }
    }
    let merged: OooRange;
    if (j === i) {
      merged = { start, end, pieces: [data] };
      ooo.splice(i, 0, merged);
      this.oooBytes += end - start;
    } else if (j === i + 1 && start >= ooo[i]!.start) {
      // Extends (or duplicates) one range at its right end: the common loss-recovery case.
      merged = ooo[i]!;
      if (end > merged.end) {
        merged.pieces.push(data.subarray(merged.end - start));
        this.oooBytes += end - merged.end;
        merged.end = end;
      }
    } else {
      const pieces: Uint8Array[] = [];
      let cursor = Math.min(start, ooo[i]!.start);
      const newStart = cursor;
      let held = 0;
      for (let k = i; k < j; k++) {
        const range = ooo[k]!;
        if (cursor < range.start) pieces.push(data.subarray(cursor - start, range.start - start));
        for (const piece of range.pieces) pieces.push(piece);
        held += range.end - range.start;
        cursor = range.end;
      }
      if (cursor < end) pieces.push(data.subarray(cursor - start));
      const newEnd = Math.max(end, cursor);
      merged = { start: newStart, end: newEnd, pieces };
      ooo.splice(i, j - i, merged);
      this.oooBytes += newEnd - newStart - held;
    }
    this.#noteSack(merged.start, merged.end);
  }

  /** RFC 2018: the block holding the latest segment first, then the previously reported ones. */
  #noteSack(start: number, end: number): void {
    const sack = (this.#sack ??= []);
    for (let k = sack.length - 1; k >= 0; k--) {
      const block = sack[k]!;
      if (block[0] >= start && block[1] <= end) sack.splice(k, 1);
    }
    sack.unshift([start, end]);
    if (sack.length > MAX_SACK_BLOCKS) sack.length = MAX_SACK_BLOCKS;
    else this.#refillSack(sack);
  }

  /**
   * After blocks merged or were acknowledged the list may hold fewer blocks than out-of-order ranges
   * exist: report more of them (highest first), "as many distinct SACK blocks as possible".
   */
  #refillSack(sack: Array<[number, number]>): void {
    const ooo = this.#ooo;
    if (ooo === undefined || sack.length >= MAX_SACK_BLOCKS || ooo.length <= sack.length) return;
    for (let k = ooo.length - 1; k >= 0 && sack.length < MAX_SACK_BLOCKS; k--) {
      const range = ooo[k]!;
      let present = false;
      for (const block of sack) if (block[0] === range.start) present = true;
      if (!present) sack.push([range.start, range.end]);
    }
  }

  /** SACK blocks to report (positions), most recent first; at most `max`. */
  sackBlocks(max: number): ReadonlyArray<readonly [number, number]> {
    const sack = this.#sack;
    if (sack === undefined || sack.length === 0) return NO_BLOCKS;
    return sack.length <= max ? sack : sack.slice(0, max);
  }

  /** Next in-order bytes, at most `maxBytes`; a view into a received payload. */
  read(maxBytes: number): Uint8Array | undefined {
    if (this.readable === 0 || maxBytes <= 0) return undefined;
    const queue = this.#queue;
    const head = queue[this.#queueHead]!;
    let out: Uint8Array;
    if (head.length <= maxBytes) {
      out = head;
      queue[this.#queueHead] = EMPTY;
      this.#queueHead++;
      if (this.#queueHead === queue.length) {
        this.#queue = [];
        this.#queueHead = 0;
      } else if (this.#queueHead >= 64 && this.#queueHead * 2 >= queue.length) {
        this.#queue = queue.slice(this.#queueHead);
        this.#queueHead = 0;
      }
    } else {
      out = head.subarray(0, maxBytes);
      queue[this.#queueHead] = head.subarray(maxBytes);
    }
    this.readable -= out.length;
    return out;
  }

  /** Drops everything (abort / close with unread data). */
  clear(): void {
    this.#queue = [];
    this.#queueHead = 0;
    this.readable = 0;
    this.#ooo = undefined;
    this.#sack = undefined;
    this.oooBytes = 0;
  }
}

const EMPTY = new Uint8Array(0);
const NO_BLOCKS: ReadonlyArray<readonly [number, number]> = Object.freeze([]);
