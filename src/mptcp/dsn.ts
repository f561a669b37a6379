/**
 * Data sequence numbers on the wire and inside the connection (RFC 8684 section 3.3).
 *
 * Inside the connection a DSN is an OFFSET from IDSN + 1 (the first data byte is offset 0, RFC 8684 3.1: "the
 * first byte of data ... has the DSN of IDSN+1"), a plain number exact up to 2^53 (ARCHITECTURE.md).
 * The wire carries the absolute 64-bit value, or its low 32 bits, which the receiver expands against the
 * value it expects (like Linux's `expand_seq`/`__mptcp_expand_seq`).
 */
import { u64AddNumber, u64Diff, type U64 } from '../wire/u64.js';

const TWO32 = 0x1_0000_0000;
const TWO63 = 2 ** 63;

/** The absolute 64-bit DSN of `offset` (offset 0 is IDSN + 1). */
export function dsnFromOffset(idsn: U64, offset: number): U64 {
  return u64AddNumber(idsn, offset + 1);
}

/**
 * The offset of an absolute 64-bit DSN. A value before IDSN + 1 gives a negative number (approximate when
 * far away): callers treat any offset outside their window as invalid.
 */
export function offsetFromDsn64(idsn: U64, dsn: U64): number {
  const d = u64Diff(dsn, idsn);
  return (d >= TWO63 ? d - 2 ** 64 : d) - 1;
}

/**
 * The offset of a 32-bit (truncated) DSN or DATA_ACK: the offset whose low 32 bits match, nearest to
 * `expectedOffset` (within 2^31 either way).
 */
export function offsetFromDsn32(idsn: U64, low32: number, expectedOffset: number): number {
  const expectedLow = (idsn.lo + ((expectedOffset + 1) % TWO32)) >>> 0;
  const delta = ((low32 >>> 0) - expectedLow) | 0; // signed 32-bit distance
  return expectedOffset + delta;
}
