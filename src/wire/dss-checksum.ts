/**
 * The DSS checksum (RFC 8684 section 3.3.1): the Internet checksum over a pseudo-header of the 64-bit
 * DSN, the 32-bit relative subflow sequence number, the 16-bit data-level length and a 16-bit zero, followed
 * by the mapped payload. The full 64-bit DSN is used even when only 32 bits are sent.
 */
import type { U64 } from './u64.js';

/** The checksum field value for a mapping over `payload` (the mapped bytes). */
export function dssChecksum(dsn: U64, subflowSeq: number, dataLength: number, payload: Uint8Array): number {
  void dsn;
  void subflowSeq;
  void dataLength;
  void payload;
  throw new Error('not implemented yet');
}
