/**
 * 32-bit TCP sequence-number arithmetic (RFC 9293 section 3.4: "all arithmetic dealing with sequence
 * numbers must be performed modulo 2**32"). Sequence numbers are plain unsigned 32-bit `number`s; these
 * helpers compare them through their signed 32-bit difference, so `a` is "before" `b` when `b` is less
 * than 2^31 ahead of it. Never compare sequence numbers with raw `<` (ARCHITECTURE.md "Numbers and buffers").
 */

/** `a - b` as a signed 32-bit integer, in [-2^31, 2^31): how far `a` is ahead of `b`. */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** `a + n` modulo 2^32 (n may be negative), as an unsigned 32-bit number. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** `a` comes strictly before `b`. */
export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/** `a` comes before `b` or equals it. */
export function seqLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

/** `a` comes strictly after `b`. */
export function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

/** `a` comes after `b` or equals it. */
export function seqGe(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

/** The later of two sequence numbers. */
export function seqMax(a: number, b: number): number {
  return ((a - b) | 0) >= 0 ? a : b;
}

/** The earlier of two sequence numbers. */
export function seqMin(a: number, b: number): number {
  return ((a - b) | 0) <= 0 ? a : b;
}

/** `start <= x < end` in sequence space (the half-open window [start, end), empty when start == end). */
export function seqInRange(x: number, start: number, end: number): boolean {
  return ((x - start) >>> 0) < ((end - start) >>> 0);
}
