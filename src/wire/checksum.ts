/**
 * The Internet checksum (RFC 1071) and the TCP/IP pseudo-headers (RFC 9293 section 3.1, RFC 8200 section
 * 8.1). Sums are kept as unfolded 32-bit-safe numbers and folded at the end, so partial sums over several
 * regions compose: `finish(sum(b, sum(a)))`.
 */

/** Adds the 16-bit big-endian words of `bytes[start, end)` to `acc` (an odd tail is padded with zero). */
export function onesSum(bytes: Uint8Array, start = 0, end = bytes.length, acc = 0): number {
  let sum = acc;
  let i = start;
  const last = end - 1;
  for (; i < last; i += 2) {
    sum += (bytes[i]! << 8) | bytes[i + 1]!;
    // Fold occasionally to stay within 2^53 on very large inputs.
    if (sum > 0x7fff_ffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  }
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
