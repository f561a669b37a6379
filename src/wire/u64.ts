/**
 * Unsigned 64-bit values (MPTCP keys, data sequence numbers, DATA_ACKs) as two 32-bit halves, so that the
 * per-segment paths never need `bigint` (ARCHITECTURE.md "Numbers and buffers"). `bigint` conversions are
 * provided for the slow paths only: key derivation, decode output, tests.
 */

/** An unsigned 64-bit value: `hi * 2^32 + lo`, both halves unsigned 32-bit integers. */
export interface U64 {
  readonly hi: number;
  readonly lo: number;
}

const TWO32 = 0x1_0000_0000;

/** Builds a U64 from two halves (normalised to unsigned 32-bit). */
export function u64(hi: number, lo: number): U64 {
  return { hi: hi >>> 0, lo: lo >>> 0 };
}

/** Reads a big-endian U64 at `offset` (caller checked bounds). */
export function readU64(view: DataView, offset: number): U64 {
  return { hi: view.getUint32(offset), lo: view.getUint32(offset + 4) };
}

/** Writes a big-endian U64 at `offset` (caller checked bounds). */
export function writeU64(view: DataView, offset: number, value: U64): void {
  view.setUint32(offset, value.hi);
  view.setUint32(offset + 4, value.lo);
}

export function u64Equal(a: U64, b: U64): boolean {
  return a.hi === b.hi && a.lo === b.lo;
}

/** `a + n` modulo 2^64, for a non-negative safe integer n. */
export function u64AddNumber(a: U64, n: number): U64 {
  const lo = a.lo + (n % TWO32);
  const hi = a.hi + Math.floor(n / TWO32) + (lo >= TWO32 ? 1 : 0);
  return { hi: hi >>> 0, lo: lo >>> 0 };
}

/**
 * `a - b` modulo 2^64 as a number. Exact when the true difference is below 2^53, which is how the
 * connection layer keeps data sequence numbers: offsets from the IDSN.
 */
export function u64Diff(a: U64, b: U64): number {
  let hi = (a.hi - b.hi) >>> 0;
  let lo = a.lo - b.lo;
  if (lo < 0) {
    lo += TWO32;
    hi = (hi - 1) >>> 0;
  }
  return hi * TWO32 + lo;
}

export function u64ToBigInt(a: U64): bigint {
  return (BigInt(a.hi) << 32n) | BigInt(a.lo);
}

export function u64FromBigInt(x: bigint): U64 {
  const v = BigInt.asUintN(64, x);
  return { hi: Number(v >> 32n), lo: Number(v & 0xffff_ffffn) };
}

/** Decimal string, as tshark and `mptcp decode --json` print 64-bit sequence numbers. */
export function u64ToDecimal(a: U64): string {
  return a.hi === 0 ? String(a.lo) : u64ToBigInt(a).toString(10);
}

/** 16 lowercase hex digits, as keys are printed. */
export function u64ToHex(a: U64): string {
  return a.hi.toString(16).padStart(8, '0') + a.lo.toString(16).padStart(8, '0');
}

/** Parses 1 to 16 hex digits (an optional 0x prefix) into a U64; undefined if not hex. */
export function u64FromHex(s: string): U64 | undefined {
  const t = s.startsWith('0x') || s.startsWith('0X') ? s.slice(2) : s;
  if (!/^[0-9a-fA-F]{1,16}$/.test(t)) return undefined;
  return u64FromBigInt(BigInt('0x' + t));
}
