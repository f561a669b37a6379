/**
 * The Internet checksum (RFC 1071) and the TCP/IP pseudo-headers (RFC 9293 section 3.1, RFC 8200 section
 * 8.1). Sums are kept as unfolded 32-bit-safe numbers and folded at the end, so partial sums over several
 * regions compose: `finish(sum(b, sum(a)))`.
 */

/**
 * Adds the 16-bit big-endian words of `bytes[start, end)` to `acc` (an odd tail is padded with zero).
 * Unrolled by four words; the sum is folded once per MiB so it stays an exact integer for any input.
 */
export function onesSum(bytes: Uint8Array, start = 0, end = bytes.length, acc = 0): number {
  let sum = acc;
  let i = start;
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
