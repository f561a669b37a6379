/**
 * Where a host's outgoing packets live: views carved one after another from a 64 KiB slab (a fresh one when
 * the current one is full), instead of one `Buffer.allocUnsafe` each. The views are plain `Uint8Array`s, so
 * the parsers' `subarray` calls on them are the engine's own (a `Buffer`'s goes through Node's JavaScript
 * `FastBuffer` constructor), and a slab serves about 40 full-size packets where Node's 8 KiB pool serves 5.
 *
 * Ownership is as before: each packet is the caller's for good (a receiver keeps payload views), so a slab
 * is never reused; it is garbage once no packet of it is referenced. Packets start 8-byte aligned (the
 * checksum's 32-bit fast path). Sans-IO: no clock, no I/O.
 */

const SLAB_BYTES = 64 * 1024;

/** Bump allocator of packet buffers (see the file comment). */
export class PacketSlab {
  private slab = new Uint8Array(0);
  private used = 0;

  /** A view of `length` bytes, not zeroed (a previous packet never shares it; the emitters write every byte). */
  take(length: number): Uint8Array {
    if (length > SLAB_BYTES / 4) return new Uint8Array(length);
    let at = this.used;
    if (at + length > this.slab.length) {
      this.slab = new Uint8Array(SLAB_BYTES);
      at = 0;
    }
    this.used = (at + length + 7) & ~7;
    return this.slab.subarray(at, at + length);
  }
}
