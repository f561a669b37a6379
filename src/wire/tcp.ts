/**
 * TCP segments (RFC 9293 section 3.1) and TCP options: MSS, window scale (RFC 7323), SACK-permitted and
 * SACK (RFC 2018), timestamps (RFC 7323), MPTCP (kind 30, RFC 8684; decoded by ./mptcp-option.ts), and
 * unknown kinds preserved as bytes.
 *
 * Parsing never throws. A broken option does not fail the segment: it becomes a `malformed` entry and
 * option parsing stops there (as the kernel's parser stops), so the rest of the segment is still usable.
 */
import { WireError } from './errors.js';
import type { MptcpOption } from './mptcp-option.js';

/** TCP header flag bits (the low byte of the 13th-14th octets). */
export const TcpFlags = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

/** TCP option kinds. */
export const TcpOptionKind = {
  EOL: 0,
  NOP: 1,
  MSS: 2,
  WINDOW_SCALE: 3,
  SACK_PERMITTED: 4,
  SACK: 5,
  TIMESTAMPS: 8,
  MPTCP: 30,
} as const;

/** One TCP option. `mptcp` carries the decoded MPTCP option. */
export type TcpOption =
  | { readonly kind: 'eol' }
  | { readonly kind: 'nop' }
  | { readonly kind: 'mss'; readonly mss: number }
  | { readonly kind: 'windowScale'; readonly shift: number }
  | { readonly kind: 'sackPermitted' }
  /** SACK blocks as [left, right) pairs of 32-bit sequence numbers. */
  | { readonly kind: 'sack'; readonly blocks: ReadonlyArray<readonly [number, number]> }
  | { readonly kind: 'timestamps'; readonly tsVal: number; readonly tsEcr: number }
  | { readonly kind: 'mptcp'; readonly option: MptcpOption }
  /** An option kind we do not interpret: `data` is the bytes after kind and length. */
  | { readonly kind: 'unknown'; readonly type: number; readonly data: Uint8Array }
  /** A known kind with a bad length or body, or an option running past the header; parsing stopped here. */
  | { readonly kind: 'malformed'; readonly type: number; readonly data: Uint8Array; readonly error: WireError };

/** A parsed TCP segment; `payload` is a view into the input. */
export interface TcpSegment {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly seq: number;
  readonly ack: number;
  /** Header length in bytes (data offset * 4). */
  readonly headerLength: number;
  readonly flags: number;
  readonly window: number;
  readonly checksum: number;
  readonly urgentPointer: number;
  readonly options: readonly TcpOption[];
  readonly payload: Uint8Array;
}

/** What `emitTcpSegment` needs. Options are written in order and padded with NOP/EOL to 4 bytes. */
export interface TcpSegmentRepr {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly seq: number;
  readonly ack: number;
  readonly flags: number;
  readonly window: number;
  readonly urgentPointer?: number;
  readonly options: readonly TcpOption[];
  readonly payload: Uint8Array;
}

/**
 * Parses a TCP segment. With `pseudo` the checksum is verified over the IPv4/IPv6 pseudo-header and a
 * mismatch is a `checksum` WireError.
 */
export function parseTcpSegment(
  bytes: Uint8Array,
  pseudo?: { readonly src: Uint8Array; readonly dst: Uint8Array },
): TcpSegment | WireError {
  void bytes;
  void pseudo;
  return new WireError('unsupported', 'not implemented yet');
}

/** Parses an options area (the bytes between the fixed header and the payload). Never fails. */
export function parseTcpOptions(bytes: Uint8Array): TcpOption[] {
  void bytes;
  return [];
}

/** Bytes the options take on the wire, before padding. */
export function tcpOptionsLength(options: readonly TcpOption[]): number {
  void options;
  return 0;
}

/** Header length for these options: 20 + options padded to a multiple of 4 (at most 60). */
export function tcpHeaderLength(options: readonly TcpOption[]): number {
  return 20 + ((tcpOptionsLength(options) + 3) & ~3);
}

/**
 * Writes header, options and payload at `offset` and fills the checksum over the pseudo-header of
 * `src`/`dst`. Returns the bytes written (header + payload).
 */
export function emitTcpSegment(
  repr: TcpSegmentRepr,
  src: Uint8Array,
  dst: Uint8Array,
  buf: Uint8Array,
  offset: number,
): number {
  void repr;
  void src;
  void dst;
  void buf;
  void offset;
  throw new Error('not implemented yet');
}
