/**
 * The Internet checksum (RFC 1071) and the TCP/IP pseudo-headers (RFC 9293 section 3.1, RFC 8200 section
 * 8.1). Sums are kept as unfolded 32-bit-safe numbers and folded at the end, so partial sums over several
 * regions compose: `finish(sum(b, sum(a)))`.
 */

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Adds the 16-bit big-endian words of `bytes[start, end)` to `acc` (an odd tail is padded with zero).
 *
 * Fast path: where the range starts 4-byte aligned in memory on a little-endian machine, it sums 32-bit
 * native words through a Uint32Array view and byte-swaps the folded result, which RFC 1071 section 2(B)
 * ("byte order independence") makes equal to the big-endian sum. Otherwise the bytes are summed four
 * words per step. Sums are folded per MiB so they stay exact for any input.
 */
export function onesSum(bytes: Uint8Array, start = 0, end = bytes.length, acc = 0): number {
  let sum = acc;
  let i = start;
  if (LITTLE_ENDIAN && end - i >= 64 && ((bytes.byteOffset + i) & 3) === 0) {
    while (end - i >= 64) {
      const words = Math.min((end - i) >>> 2, 0x4_0000);
      const u32 = new Uint32Array(bytes.buffer, bytes.byteOffset + i, words);
      let wide = 0;
      for (let w = 0; w < words; w++) wide += u32[w]!;
      const folded = foldSum((wide % 0x10000) + Math.floor(wide / 0x10000));
      sum += ((folded & 0xff) << 8) | (folded >>> 8);
      i += words * 4;
    }
  }
  while (end - i >= 8) {
    const chunkEnd = Math.min(end, i + 0x10_0000) - 7;
    for (; i < chunkEnd; i += 8) {
      sum +=
        ((bytes[i]! << 8) | bytes[i + 1]!) +
        ((bytes[i + 2]! << 8) | bytes[i + 3]!) +
        ((bytes[i + 4]! << 8) | bytes[i + 5]!) +
        ((bytes[i + 6]! << 8) | bytes[i + 7]!);
    }
    sum = foldSum(sum);
  }
  const last = end - 1;
  for (; i < last; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (i < end) sum += bytes[i]! << 8;
  return sum;
}

/** Folds a sum to 16 bits (end-around carry). */
export function foldSum(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/** The checksum field value: ones' complement of the folded sum. */
export function finishChecksum(sum: number): number {
  return ~foldSum(sum) & 0xffff;
}

/** Sum of the IPv4 or IPv6 pseudo-header for an upper-layer packet of `length` bytes. */
export function pseudoHeaderSum(src: Uint8Array, dst: Uint8Array, protocol: number, length: number): number {
  let sum = onesSum(src) + onesSum(dst) + protocol;
  if (src.length === 16) sum += Math.floor(length / 0x10000) + (length & 0xffff);
  else sum += length & 0xffff;
  return sum;
}
