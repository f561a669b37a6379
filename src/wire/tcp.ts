/**
 * TCP segments (RFC 9293 section 3.1) and TCP options: MSS, window scale (RFC 7323), SACK-permitted and
 * SACK (RFC 2018), timestamps (RFC 7323), MPTCP (kind 30, RFC 8684; decoded by ./mptcp-option.ts), and
 * unknown kinds preserved as bytes.
 *
 * Parsing never throws. A broken option does not fail the segment: it becomes a `malformed` entry. When
 * the option's length octet itself is valid (a known kind with the wrong length, an MPTCP option whose
 * body does not parse) parsing continues with the next option, since the length still frames it; when the
 * length octet is < 2 or runs past the options area nothing after it can be framed, so parsing stops
 * there (as the kernel's tcp_parse_options stops). Either way the rest of the segment is still usable.
 */
import { WireError, ensureRoom } from './errors.js';
import { finishChecksum, foldSum, onesSum, pseudoHeaderSum } from './checksum.js';
import { emitMptcpOption, mptcpOptionLength, parseMptcpOption } from './mptcp-option.js';
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
  /**
   * A known kind with a bad length or body (parsing went on after it), or an option whose length octet is
   * missing, < 2 or runs past the header (parsing stopped here). `data` is the whole option from its kind
   * octet (to the end of the options area when the length cannot be trusted); emitting this entry writes
   * `data` verbatim, which lets tests inject broken options.
   */
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

/**
 * What `emitTcpSegment` needs. Options are written in order and padded with EOL (zero) octets to 4 bytes,
 * so a padded list parses back with one trailing `eol` entry.
 */
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

/** The TCP protocol number in the pseudo-header. */
const PROTOCOL_TCP = 6;

/** Shared result for segments without options: no allocation on the common path. */
const NO_OPTIONS: readonly TcpOption[] = Object.freeze([]);

/** Shared option objects that carry no data. */
const EOL_OPTION: TcpOption = Object.freeze({ kind: 'eol' });
const NOP_OPTION: TcpOption = Object.freeze({ kind: 'nop' });
const SACK_PERMITTED_OPTION: TcpOption = Object.freeze({ kind: 'sackPermitted' });

function readU32(bytes: Uint8Array, i: number): number {
  return ((bytes[i]! << 24) | (bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!) >>> 0;
}

function writeU32(buf: Uint8Array, i: number, value: number): void {
  buf[i] = value >>> 24;
  buf[i + 1] = value >>> 16;
  buf[i + 2] = value >>> 8;
  buf[i + 3] = value;
}

/**
 * Parses a TCP segment. With `pseudo` the checksum is verified over the IPv4/IPv6 pseudo-header and a
 * mismatch is a `checksum` WireError. Never throws; `payload` and option data are views into `bytes`.
 */
export function parseTcpSegment(
  bytes: Uint8Array,
  pseudo?: { readonly src: Uint8Array; readonly dst: Uint8Array },
): TcpSegment | WireError {
  const length = bytes.length;
  if (length < 20) return new WireError('truncated', `TCP header needs 20 bytes, have ${length}`, 0);
  const headerLength = (bytes[12]! >> 4) * 4;
  if (headerLength < 20) return new WireError('malformed', `TCP data offset ${headerLength / 4}: must be at least 5`, 12);
  if (headerLength > length) {
    return new WireError('truncated', `TCP header with options needs ${headerLength} bytes, have ${length}`, 20);
  }
  if (pseudo !== undefined) {
    const sum = onesSum(bytes, 0, length, pseudoHeaderSum(pseudo.src, pseudo.dst, PROTOCOL_TCP, length));
    if (foldSum(sum) !== 0xffff) return new WireError('checksum', 'TCP checksum does not verify', 16);
  }
  return {
    srcPort: (bytes[0]! << 8) | bytes[1]!,
    dstPort: (bytes[2]! << 8) | bytes[3]!,
    seq: readU32(bytes, 4),
    ack: readU32(bytes, 8),
    headerLength,
    flags: bytes[13]!,
    window: (bytes[14]! << 8) | bytes[15]!,
    checksum: (bytes[16]! << 8) | bytes[17]!,
    urgentPointer: (bytes[18]! << 8) | bytes[19]!,
    options: headerLength === 20 ? NO_OPTIONS : parseOptionsIn(bytes, 20, headerLength),
    payload: bytes.subarray(headerLength),
  };
}

/**
 * A `malformed` entry for the option at `start`; `data` is the option from its kind octet to `end`, the
 * error offset is relative to the options area starting at `base`.
 */
function malformed(bytes: Uint8Array, base: number, start: number, end: number, message: string): TcpOption {
  return {
    kind: 'malformed',
    type: bytes[start]!,
    data: bytes.subarray(start, end),
    error: new WireError('malformed', message, start - base),
  };
}

/**
 * Parses an options area (the bytes between the fixed header and the payload). Never fails: see the file
 * comment for how broken options are reported. Offsets in `malformed` errors are relative to `bytes`.
 */
export function parseTcpOptions(bytes: Uint8Array): TcpOption[] {
  return parseOptionsIn(bytes, 0, bytes.length);
}

/** Parses the options in `bytes[base, end)` without making a view of the area (one less allocation). */
function parseOptionsIn(bytes: Uint8Array, base: number, end: number): TcpOption[] {
  const options: TcpOption[] = [];
  let i = base;
  while (i < end) {
    const type = bytes[i]!;
    if (type === 0) {
      // RFC 9293: End of Option List; what follows is padding.
      options.push(EOL_OPTION);
      break;
    }
    if (type === 1) {
      options.push(NOP_OPTION);
      i++;
      continue;
    }
    if (i + 1 >= end) {
      options.push(malformed(bytes, base, i, end, `TCP option ${type} has no length octet`));
      break;
    }
    const length = bytes[i + 1]!;
    if (length < 2 || i + length > end) {
      options.push(malformed(bytes, base, i, end, `TCP option ${type} length ${length} does not fit the ${end - i} bytes left`));
      break;
    }
    const next = i + length;
    switch (type) {
      case 2:
        options.push(
          length === 4
            ? { kind: 'mss', mss: (bytes[i + 2]! << 8) | bytes[i + 3]! }
            : malformed(bytes, base, i, next, `MSS option length ${length}: expected 4`),
        );
        break;
      case 3:
        // The shift is kept as sent; RFC 7323 section 2.3 has the receiver clamp values above 14.
        options.push(
          length === 3
            ? { kind: 'windowScale', shift: bytes[i + 2]! }
            : malformed(bytes, base, i, next, `window scale option length ${length}: expected 3`),
        );
        break;
      case 4:
        options.push(
          length === 2
            ? SACK_PERMITTED_OPTION
            : malformed(bytes, base, i, next, `SACK-permitted option length ${length}: expected 2`),
        );
        break;
      case 5: {
        if (length < 10 || (length - 2) % 8 !== 0) {
          options.push(malformed(bytes, base, i, next, `SACK option length ${length}: expected 2 + 8n`));
          break;
        }
        const blocks: Array<readonly [number, number]> = [];
        for (let j = i + 2; j < next; j += 8) blocks.push([readU32(bytes, j), readU32(bytes, j + 4)]);
        options.push({ kind: 'sack', blocks });
        break;
      }
      case 8:
        options.push(
          length === 10
            ? { kind: 'timestamps', tsVal: readU32(bytes, i + 2), tsEcr: readU32(bytes, i + 6) }
            : malformed(bytes, base, i, next, `timestamps option length ${length}: expected 10`),
        );
        break;
      case 30: {
        const data = bytes.subarray(i, next);
        const option = parseMptcpOption(data);
        if (option instanceof WireError) {
          options.push({
            kind: 'malformed',
            type,
            data,
            error: new WireError(option.code, option.message, i - base + option.offset),
          });
        } else {
          options.push({ kind: 'mptcp', option });
        }
        break;
      }
      default:
        options.push({ kind: 'unknown', type, data: bytes.subarray(i + 2, next) });
    }
    i = next;
  }
  return options;
}

/** Bytes one option takes on the wire. */
function tcpOptionLength(option: TcpOption): number {
  switch (option.kind) {
    case 'eol':
    case 'nop':
      return 1;
    case 'mss':
      return 4;
    case 'windowScale':
      return 3;
    case 'sackPermitted':
      return 2;
    case 'sack':
      return 2 + 8 * option.blocks.length;
    case 'timestamps':
      return 10;
    case 'mptcp':
      return mptcpOptionLength(option.option);
    case 'unknown':
      return 2 + option.data.length;
    case 'malformed':
      return option.data.length;
  }
}

/** Bytes the options take on the wire, before padding. */
export function tcpOptionsLength(options: readonly TcpOption[]): number {
  let total = 0;
  for (let k = 0; k < options.length; k++) total += tcpOptionLength(options[k]!);
  return total;
}

/** Header length for these options: 20 + options padded to a multiple of 4 (at most 60). */
export function tcpHeaderLength(options: readonly TcpOption[]): number {
  return 20 + ((tcpOptionsLength(options) + 3) & ~3);
}

/** Writes one option at `i`; returns the bytes written. */
function emitTcpOption(option: TcpOption, buf: Uint8Array, i: number): number {
  switch (option.kind) {
    case 'eol':
      buf[i] = 0;
      return 1;
    case 'nop':
      buf[i] = 1;
      return 1;
    case 'mss':
      buf[i] = 2;
      buf[i + 1] = 4;
      buf[i + 2] = option.mss >> 8;
      buf[i + 3] = option.mss;
      return 4;
    case 'windowScale':
      buf[i] = 3;
      buf[i + 1] = 3;
      buf[i + 2] = option.shift;
      return 3;
    case 'sackPermitted':
      buf[i] = 4;
      buf[i + 1] = 2;
      return 2;
    case 'sack': {
      const blocks = option.blocks;
      buf[i] = 5;
      buf[i + 1] = 2 + 8 * blocks.length;
      for (let k = 0; k < blocks.length; k++) {
        const block = blocks[k]!;
        writeU32(buf, i + 2 + 8 * k, block[0]);
        writeU32(buf, i + 6 + 8 * k, block[1]);
      }
      return 2 + 8 * blocks.length;
    }
    case 'timestamps':
      buf[i] = 8;
      buf[i + 1] = 10;
      writeU32(buf, i + 2, option.tsVal);
      writeU32(buf, i + 6, option.tsEcr);
      return 10;
    case 'mptcp':
      return emitMptcpOption(option.option, buf, i);
    case 'unknown':
      buf[i] = option.type;
      buf[i + 1] = 2 + option.data.length;
      buf.set(option.data, i + 2);
      return 2 + option.data.length;
    case 'malformed':
      buf.set(option.data, i);
      return option.data.length;
  }
}

/** The most option bytes a TCP header can hold (data offset 15). */
const MAX_OPTIONS_LENGTH = 40;

/**
 * Writes header, options and payload at `offset` and fills the checksum over the pseudo-header of
 * `src`/`dst`. Options are written in order and the options area is padded with EOL (zero) octets to a
 * multiple of 4. Returns the bytes written (header + payload). Throws `RangeError` when the options need
 * more than 40 bytes and `BufferTooSmallError` when `buf` is short (caller bugs).
 */
export function emitTcpSegment(
  repr: TcpSegmentRepr,
  src: Uint8Array,
  dst: Uint8Array,
  buf: Uint8Array,
  offset: number,
  /** False leaves the checksum field zero (checksum offload: in-process links that never corrupt). */
  computeChecksum = true,
): number {
  const options = repr.options;
  const optionsLength = tcpOptionsLength(options);
  if (optionsLength > MAX_OPTIONS_LENGTH) {
    throw new RangeError(`TCP options take ${optionsLength} bytes: at most ${MAX_OPTIONS_LENGTH} fit`);
  }
  const headerLength = 20 + ((optionsLength + 3) & ~3);
  const payload = repr.payload;
  const total = headerLength + payload.length;
  ensureRoom(buf, offset, total);
  const o = offset;
  buf[o] = repr.srcPort >> 8;
  buf[o + 1] = repr.srcPort;
  buf[o + 2] = repr.dstPort >> 8;
  buf[o + 3] = repr.dstPort;
  writeU32(buf, o + 4, repr.seq);
  writeU32(buf, o + 8, repr.ack);
  buf[o + 12] = (headerLength / 4) << 4;
  buf[o + 13] = repr.flags;
  buf[o + 14] = repr.window >> 8;
  buf[o + 15] = repr.window;
  buf[o + 16] = 0;
  buf[o + 17] = 0;
  const urgentPointer = repr.urgentPointer ?? 0;
  buf[o + 18] = urgentPointer >> 8;
  buf[o + 19] = urgentPointer;
  let i = o + 20;
  for (let k = 0; k < options.length; k++) i += emitTcpOption(options[k]!, buf, i);
  const headerEnd = o + headerLength;
  while (i < headerEnd) buf[i++] = 0;
  if (payload.length > 0) buf.set(payload, headerEnd);
  const checksum = computeChecksum ? finishChecksum(onesSum(buf, o, o + total, pseudoHeaderSum(src, dst, PROTOCOL_TCP, total))) : 0;
  buf[o + 16] = checksum >> 8;
  buf[o + 17] = checksum;
  return total;
}

/** Flag names in bit order, as Wireshark lists them ("SYN, ACK"); 0x100 is AE (RFC 3540's NS bit). */
const FLAG_NAMES = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR', 'AE'] as const;

/** Wireshark-like short text for the flags, e.g. "SYN, ACK" or "FIN, PSH, ACK"; "<None>" when none is set. */
export function tcpFlagsToString(flags: number): string {
  let text = '';
  for (let bit = 0; bit < FLAG_NAMES.length; bit++) {
    if ((flags & (1 << bit)) === 0) continue;
    text = text === '' ? FLAG_NAMES[bit]! : `${text}, ${FLAG_NAMES[bit]!}`;
  }
  return text === '' ? '<None>' : text;
}
