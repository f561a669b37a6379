/**
 * The DSS checksum (RFC 8684 section 3.3.1): the Internet checksum over a pseudo-header of the 64-bit
 * DSN, the 32-bit relative subflow sequence number, the 16-bit data-level length and a 16-bit zero, followed
 * by the mapped payload. The full 64-bit DSN is used even when only 32 bits are sent.
 *
 * Heads up: read RFC 8684 section 3.3.1 ("the checksum is computed over the 'pseudo-header' ... followed by
 * the data covered by the mapping") before changing this file. Linux builds the same pseudo-header
 * (`struct csum_pseudo_header` in net/mptcp/protocol.h, summed by `__mptcp_make_csum`). A DATA_FIN counts in
 * the data-level length but has no payload byte, so callers pass `dataLength` and `payload` separately.
 *
 * A mapping may span several segments: `DssChecksumAccumulator` sums its payload piece by piece, handling
 * pieces of odd length (the byte after an odd piece is the low octet of a 16-bit word).
 */
import { finishChecksum, foldSum, onesSum } from './checksum.js';
import type { U64 } from './u64.js';

/** Unfolded sum of the pseudo-header (DSN, subflow sequence, data-level length, zero). */
export function dssPseudoHeaderSum(dsn: U64, subflowSeq: number, dataLength: number): number {
  return (
    (dsn.hi >>> 16) +
    (dsn.hi & 0xffff) +
    (dsn.lo >>> 16) +
    (dsn.lo & 0xffff) +
    (subflowSeq >>> 16) +
    (subflowSeq & 0xffff) +
    (dataLength & 0xffff)
  );
}

/** The checksum field value for a mapping over `payload` (the mapped bytes). */
export function dssChecksum(dsn: U64, subflowSeq: number, dataLength: number, payload: Uint8Array): number {
  return finishChecksum(onesSum(payload, 0, payload.length, dssPseudoHeaderSum(dsn, subflowSeq, dataLength)));
}

/**
 * True when `checksum` (as received in the DSS option or MP_CAPABLE) is right for the mapping: the sum over
 * pseudo-header, payload and the received checksum folds to 0xffff (RFC 1071 verification; like the
 * kernel's `csum_fold(...) == 0` test). So where `dssChecksum` gives 0x0000, 0xffff (the other ones'
 * complement zero) is accepted too.
 */
export function verifyDssChecksum(dsn: U64, subflowSeq: number, dataLength: number, payload: Uint8Array, checksum: number): boolean {
  const sum = onesSum(payload, 0, payload.length, dssPseudoHeaderSum(dsn, subflowSeq, dataLength) + (checksum & 0xffff));
  return foldSum(sum) === 0xffff;
}

/**
 * Incremental DSS checksum over a mapping whose payload arrives in several pieces (segments), in order.
 * `add` any number of pieces of any lengths, then `checksum()` or `verify(received)`.
 */
export class DssChecksumAccumulator {
  private sum: number;
  /** Whether an odd number of payload bytes has been added so far. */
  private odd = false;

  constructor(dsn: U64, subflowSeq: number, dataLength: number) {
    this.sum = dssPseudoHeaderSum(dsn, subflowSeq, dataLength);
  }

  /** Adds `bytes[start, end)`: the next payload bytes of the mapping. */
  add(bytes: Uint8Array, start = 0, end = bytes.length): this {
    if (end <= start) return this;
    let from = start;
    let sum = this.sum;
    if (this.odd) {
      // This byte completes the word started by the previous piece: it is the word's low octet.
      sum += bytes[from]!;
      from++;
    }
    this.sum = foldSum(onesSum(bytes, from, end, sum));
    if ((end - start) % 2 === 1) this.odd = !this.odd;
    return this;
  }

  /** The checksum field value over everything added. */
  checksum(): number {
    return finishChecksum(this.sum);
  }

  /** True when `received` is the right checksum for everything added (see `verifyDssChecksum`). */
  verify(received: number): boolean {
    return foldSum(this.sum + (received & 0xffff)) === 0xffff;
  }
}
