/**
 * Data-level reassembly of one MPTCP connection: bytes read from every subflow are placed by data offset;
 * in-order bytes go to the application's queue, the rest wait sorted by offset, duplicates (the same bytes
 * from a reinjection or a redundant scheduler) are dropped.
 *
 * Read first: RFC 8684 3.3.1 ("the receiver ... reassembles data ... using the data sequence number"),
 * 3.3.6 (reinjected data arrives twice); Linux net/mptcp/protocol.c `__mptcp_move_skb`,
 * `mptcp_data_queue_ofo` (an rbtree by DSN; here a sorted array with a head index, drained from the head:
 * binary insertion, the common case "beyond everything queued" in O(1)), `mptcp_ofo_queue`; quinn-proto
 * `connection/assembler.rs`.
 *
 * Offsets are from the peer's IDSN + 1, plain numbers; payloads are kept by reference (views of the
 * received packets), never copied.
 */
import type { MptcpCounters } from './mib.js';

const EMPTY = new Uint8Array(0);

/** The receive side of the data sequence space (see the file comment). */
export class Reassembly {
  /** Most bytes kept for the application before the subflows stop being read. */
  readonly limit: number;
  readonly #counters: MptcpCounters;
  /** Data offset of the next byte expected in order (the DATA_ACK we send). */
  #next = 0;
  /** Data beyond `#next`, sorted by offset (from `#oooHead` on); overlapping copies are trimmed on delivery. */
  readonly #outOfOrder: { at: number; data: Uint8Array }[] = [];
  #oooHead = 0;
  /** In-order bytes for the application (from `#readyHead` on). */
  readonly #ready: Uint8Array[] = [];
  #readyHead = 0;
  #readable = 0;
  /** The application closed: bytes still advance the DATA_ACK but are dropped. */
  #readClosed = false;
  /** Data delivered since the last `takeNewData()` ('readable' owed). */
  #newData = false;
  /** The DATA_ACK (data offset) on the last segment we built: what the peer may know of `#next`. */
  #dataAckSent = 0;

  constructor(limit: number, counters: MptcpCounters) {
    this.limit = limit;
    this.#counters = counters;
  }

  /** Data offset of the next byte expected in order. */
  get next(): number {
    return this.#next;
  }

  /** The DATA_ACK going out on a segment now (its data offset); remembered as what the peer knows. */
  dataAckForSegment(): number {
    this.#dataAckSent = this.#next;
    return this.#next;
  }

  /** Bytes acknowledged at the data level that no segment has told the peer of yet. */
  get dataAckOwed(): number {
    return this.#next - this.#dataAckSent;
  }

  /** Bytes the application can read. */
  get readable(): number {
    return this.#readable;
  }

  /** More bytes may be moved up from the subflows (the application is keeping up). */
  get hasRoom(): boolean {
    return this.#readable < this.limit;
  }

  /** The application will read no more. */
  get readClosed(): boolean {
    return this.#readClosed;
  }

  /**
   * Places `bytes` at data offset `offset`. Returns true when the in-order end moved (so a DATA_FIN at the
   * new end may now count); false for out-of-order or duplicate bytes.
   */
  insert(offset: number, bytes: Uint8Array): boolean {
    let data = bytes;
    let at = offset;
    if (at + data.length <= this.#next) {
      this.#counters.DuplicateData++;
      return false;
    }
    if (at < this.#next) {
      data = data.subarray(this.#next - at);
      at = this.#next;
    }
    if (at > this.#next) {
      this.#queueOutOfOrder(at, data);
      return false;
    }
    this.#deliver(data);
    // The queued data that now follows in order (copies that end at or before #next are dropped).
    const q = this.#outOfOrder;
    while (this.#oooHead < q.length && q[this.#oooHead]!.at <= this.#next) {
      const e = q[this.#oooHead++]!;
      const end = e.at + e.data.length;
      if (end > this.#next) this.#deliver(e.data.subarray(this.#next - e.at));
    }
    if (this.#oooHead === q.length) {
      q.length = 0;
      this.#oooHead = 0;
    } else if (this.#oooHead > 1024 && this.#oooHead * 2 > q.length) {
      q.splice(0, this.#oooHead);
      this.#oooHead = 0;
    }
    return true;
  }

  /** The next in-order bytes (at most `maxBytes`, one queued chunk), or undefined when none are ready. */
  read(maxBytes = Infinity): Uint8Array | undefined {
    if (this.#readable === 0) return undefined;
    const chunk = this.#ready[this.#readyHead]!;
    let out: Uint8Array;
    if (chunk.length <= maxBytes) {
      out = chunk;
      this.#ready[this.#readyHead++] = EMPTY;
      if (this.#readyHead > 1024 && this.#readyHead * 2 > this.#ready.length) {
        this.#ready.splice(0, this.#readyHead);
        this.#readyHead = 0;
      }
    } else {
      out = chunk.subarray(0, maxBytes);
      this.#ready[this.#readyHead] = chunk.subarray(maxBytes);
    }
    this.#readable -= out.length;
    return out;
  }

  /** RFC 8684 3.3.3: the DATA_FIN takes one data sequence number (the DATA_ACK covers it). */
  consumeDataFin(): void {
    this.#next += 1;
  }

  /** The application closed its side: later bytes are acknowledged and dropped. */
  closeRead(): void {
    this.#readClosed = true;
  }

  /** Whether bytes were delivered since the last call ('readable' is owed), and resets it. */
  takeNewData(): boolean {
    const had = this.#newData;
    this.#newData = false;
    return had;
  }

  /** The offsets of the first `n` queued out-of-order pieces (diagnostics). */
  pendingOffsets(n: number): number[] {
    return this.#outOfOrder.slice(this.#oooHead, this.#oooHead + n).map((e) => e.at);
  }

  /** Keeps `data` (at data offset `at` > #next) in offset order; a same-offset copy keeps the longer. */
  #queueOutOfOrder(at: number, data: Uint8Array): void {
    const q = this.#outOfOrder;
    let lo = this.#oooHead;
    let hi = q.length;
    if (hi > lo && q[hi - 1]!.at < at) lo = hi; // the common case: beyond everything queued
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (q[mid]!.at < at) lo = mid + 1;
      else hi = mid;
    }
    const same = q[lo];
    if (same !== undefined && same.at === at) {
      if (same.data.length < data.length) same.data = data;
      return;
    }
    q.splice(lo, 0, { at, data });
  }

  #deliver(data: Uint8Array): void {
    this.#next += data.length;
    if (this.#readClosed) return;
    this.#newData = true;
    this.#ready.push(data);
    this.#readable += data.length;
  }
}
