/**
 * The data-level send buffer of one MPTCP connection: the application's bytes from the DATA_ACK up, kept by
 * reference (retransmission storage is the buffer itself, ARCHITECTURE.md "Numbers and buffers"), handed
 * to subflows in slices by data offset, released by DATA_ACK.
 *
 * Read first: RFC 8684 3.3.2 (DATA_ACK: "the sender ... MUST keep data ... until it has been acknowledged
 * at the connection level"), 3.3.4 (the receive window is relative to the DATA_ACK and shared by every
 * subflow), 3.3.6 (reinjection reads the same bytes again); Linux net/mptcp/protocol.c `mptcp_sendmsg`,
 * `__mptcp_clean_una` (release on DATA_ACK), `mptcp_check_allowed_size` (the data-level window), and
 * quinn-proto `connection/send_buffer.rs`.
 *
 * Offsets are from IDSN + 1 (./dsn.ts), plain numbers.
 */

import type { ConnectionView } from '../sched/types.js';

const EMPTY = new Uint8Array(0);

/**
 * Written bytes by data offset, from the last DATA_ACK on (see the file comment). It is also the data level
 * as the schedulers see it (`ConnectionView`: BLEST, ECF), read through getters, so no view is built per
 * decision.
 */
export class SendBuffer implements ConnectionView {
  /** Most bytes written and not yet DATA_ACKed. */
  readonly limit: number;
  /** Data offset just past the last byte the application wrote. */
  #written = 0;
  /** Data offset just past the last byte handed to a subflow for the first time. */
  #scheduled = 0;
  /** The peer's DATA_ACK: every byte before it arrived. */
  #acked = 0;
  /**
   * RFC 8684 3.3.4: the peer's connection-level receive window ends at DATA_ACK + window (the TCP window
   * of a segment is relative to its DATA_ACK); new data never goes beyond it. Unlimited until a DATA_ACK.
   */
  #windowEnd = Infinity;
  /** Written chunks from data offset `#base` (<= the DATA_ACK) on, by reference. */
  readonly #chunks: Uint8Array[] = [];
  #base = 0;
  /** A write was cut short: 'writable' is owed once room is back. */
  #blocked = false;
  /** Scheduling passes that ended at the peer's window with more written (BLEST's lambda reads it). */
  sendWindowBlockedCount = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** ConnectionView: the peer's whole data-level window (Infinity before the first DATA_ACK). */
  get sendWindowBytes(): number {
    return this.#windowEnd - this.#acked;
  }

  /** ConnectionView: bytes handed to subflows and not DATA_ACKed. */
  get outstandingBytes(): number {
    return this.#scheduled - this.#acked;
  }

  /** ConnectionView: bytes written that no subflow has been given yet. */
  get unsentBytes(): number {
    return this.#written - this.#scheduled;
  }

  /** Data offset just past the last byte written. */
  get written(): number {
    return this.#written;
  }

  /** Data offset just past the last byte handed to a subflow for the first time. */
  get scheduled(): number {
    return this.#scheduled;
  }

  /** The DATA_ACK as a data offset. */
  get acked(): number {
    return this.#acked;
  }

  /** End of the peer's data-level receive window (Infinity before the first DATA_ACK). */
  get windowEnd(): number {
    return this.#windowEnd;
  }

  /** Room for the application within `limit`. */
  get room(): number {
    return Math.max(0, this.limit - (this.#written - this.#acked));
  }

  /** A write was cut short since the last `unblock()`. */
  get blocked(): boolean {
    return this.#blocked;
  }

  /** Buffered chunks (diagnostics). */
  get chunkCount(): number {
    return this.#chunks.length;
  }

  /**
   * Keeps up to `room` bytes of `data` (by reference); returns how many. A shorter write marks the buffer
   * blocked, so the connection owes a 'writable' event.
   */
  append(data: Uint8Array, room: number): number {
    const n = Math.min(room, data.length);
    if (n < data.length) this.#blocked = true;
    if (n === 0) return 0;
    this.#chunks.push(n === data.length ? data : data.subarray(0, n));
    this.#written += n;
    return n;
  }

  /** After a fallback the application writes into the subflow directly: `n` bytes written and sent at once. */
  appendDirect(n: number): void {
    this.#written += n;
    this.#scheduled += n;
    this.#base = this.#written;
  }

  /** `length` bytes (at most; one buffered chunk) of written data at `offset`, by reference. */
  slice(offset: number, length: number): Uint8Array {
    let at = this.#base;
    for (const chunk of this.#chunks) {
      if (offset < at + chunk.length) {
        const from = offset - at;
        return chunk.subarray(from, Math.min(chunk.length, from + length));
      }
      at += chunk.length;
    }
    return EMPTY;
  }

  /** `n` more bytes were handed to a subflow for the first time. */
  markScheduled(n: number): void {
    this.#scheduled += n;
  }

  /** A fallback during the handshake: nothing was mapped, everything goes to the subflow from the start. */
  unschedule(): void {
    this.#scheduled = 0;
  }

  /** A new DATA_ACK (beyond the previous one): the bytes before `offset` are released. */
  ack(offset: number): void {
    this.#acked = offset;
    const chunks = this.#chunks;
    let n = 0;
    let base = this.#base;
    while (n < chunks.length && base + chunks[n]!.length <= offset) base += chunks[n++]!.length;
    if (n > 0) {
      chunks.splice(0, n);
      this.#base = base;
    }
  }

  /** A DATA_ACK's window: the data-level window ends at `end` (it only grows, RFC 8684 3.3.4). */
  openWindow(end: number): void {
    if (end > this.#windowEnd || this.#windowEnd === Infinity) this.#windowEnd = end;
  }

  /** After a fallback every buffered byte went to the subflow: the buffer forgets them. */
  clear(): void {
    this.#chunks.length = 0;
    this.#base = this.#written;
  }

  /** The owed 'writable' event is being reported. */
  unblock(): void {
    this.#blocked = false;
  }
}
