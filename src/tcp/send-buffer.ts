/**
 * The send buffer: the application's written chunks, kept by reference (no copy), indexed by data offset
 * (byte 0 is the first byte after the SYN). It is also the retransmission store: segments are views into
 * the chunks, so acknowledged bytes are released by dropping whole chunks.
 *
 * A segment that would span two chunks is cut at the chunk boundary when the rest of the first chunk is at
 * least `minSegment` bytes; otherwise (small writes) the bytes are copied into one new buffer for that
 * segment only.
 */

/** Unacknowledged and unsent bytes, as a queue of the application's chunks. */
export class SendBuffer {
  #chunks: Uint8Array[] = [];
  /** Data offset of the first byte of each chunk, parallel to #chunks. */
  #starts: number[] = [];
  /** Index of the first live chunk in #chunks. */
  #head = 0;
  /** Data offset of the first byte still held (SND.UNA's data offset, or less before release). */
  #base = 0;
  /** Data offset one past the last written byte. */
  #end = 0;
  /** Chunk index that served the last lookup (sequential sends hit it). */
  #cursor = 0;

  /** Data offset one past the last byte written. */
  get end(): number {
    return this.#end;
  }

  /** Bytes held (written and not yet released). */
  get length(): number {
    return this.#end - this.#base;
  }

  /** Appends `data` by reference. */
  push(data: Uint8Array): void {
    if (data.length === 0) return;
    this.#chunks.push(data);
    this.#starts.push(this.#end);
    this.#end += data.length;
  }

  /** Index of the chunk holding data offset `offset` (which must be in [base, end)). */
  #find(offset: number): number {
    const starts = this.#starts;
    const chunks = this.#chunks;
    let c = this.#cursor;
    if (c >= this.#head && c < chunks.length) {
      if (offset >= starts[c]! && offset < starts[c]! + chunks[c]!.length) return c;
      c++;
      if (c < chunks.length && offset >= starts[c]! && offset < starts[c]! + chunks[c]!.length) return c;
    }
    let lo = this.#head;
    let hi = chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * Up to `maxLength` bytes from data offset `offset` (in [base, end)): a view into one chunk when it can
   * be, else a copy spanning chunks. Cuts at a chunk boundary when at least `minSegment` bytes remain in
   * the chunk.
   */
  slice(offset: number, maxLength: number, minSegment: number): Uint8Array {
    const wanted = Math.min(maxLength, this.#end - offset);
    let c = this.#find(offset);
    this.#cursor = c;
    const chunk = this.#chunks[c]!;
    const inChunk = offset - this.#starts[c]!;
    const available = chunk.length - inChunk;
    if (available >= wanted) return chunk.subarray(inChunk, inChunk + wanted);
    if (available >= minSegment) return chunk.subarray(inChunk);
    const out = new Uint8Array(wanted);
    out.set(chunk.subarray(inChunk), 0);
    let filled = available;
    while (filled < wanted) {
      c++;
      const next = this.#chunks[c]!;
      const take = Math.min(next.length, wanted - filled);
      out.set(take === next.length ? next : next.subarray(0, take), filled);
      filled += take;
    }
    return out;
  }

  /** Releases every byte before data offset `upTo` (acknowledged). */
  release(upTo: number): void {
    if (upTo <= this.#base) return;
    this.#base = Math.min(upTo, this.#end);
    const chunks = this.#chunks;
    const starts = this.#starts;
    let h = this.#head;
    while (h < chunks.length && starts[h]! + chunks[h]!.length <= this.#base) {
      chunks[h] = EMPTY; // drop the reference now so the application's buffer can be collected
      h++;
    }
    this.#head = h;
    if (h === chunks.length) {
      this.#chunks = [];
      this.#starts = [];
      this.#head = 0;
      this.#cursor = 0;
    } else if (h >= 64 && h * 2 >= chunks.length) {
      this.#chunks = chunks.slice(h);
      this.#starts = starts.slice(h);
      this.#cursor = Math.max(0, this.#cursor - h);
      this.#head = 0;
    }
  }
}

const EMPTY = new Uint8Array(0);
