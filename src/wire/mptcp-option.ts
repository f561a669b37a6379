/**
 * MPTCP options (TCP option kind 30), RFC 8684 section 3 and its IANA registry (section 7.2):
 * MP_CAPABLE, MP_JOIN, DSS, ADD_ADDR, RM_ADDR, MP_PRIO, MP_FAIL, MP_FASTCLOSE, MP_TCPRST; any other subtype
 * (e.g. 0xf, MP_EXPERIMENTAL) parses to `unknown`.
 *
 * Heads up: read RFC 8684 sections 3.1 (MP_CAPABLE), 3.2 (MP_JOIN), 3.3 (DSS), 3.4.1 (ADD_ADDR), 3.4.2
 * (RM_ADDR), 3.3.8 (MP_PRIO), 3.7 (MP_FAIL), 3.5 (MP_FASTCLOSE), 3.6 (MP_TCPRST) before changing this file,
 * and compare with Linux net/mptcp/options.c `mptcp_parse_option`.
 *
 * The variant of an option is determined by its length (and for DSS by its flags), exactly as a
 * receiver must: so every variant round-trips through `emit` and `parse`. Like Linux, MP_CAPABLE and DSS
 * accept a checksum whenever the length says one is there; whether checksums were negotiated is for the
 * connection layer to enforce (RFC 8684 section 3.3: a mismatch resets the subflow). Unlike Linux, which
 * also looks at the SYN/ACK flags of the segment, the MP_CAPABLE variant is chosen from the length alone.
 * Test vectors include options captured from Linux 6.18 (test/wire/mptcp-option.test.ts).
 * 64-bit values are `U64` (hi/lo halves), never `bigint`.
 */
import { WireError, ensureRoom } from './errors.js';
import type { U64 } from './u64.js';

/** MPTCP option subtypes (RFC 8684 section 7.2). */
export const MptcpSubtypeCode = {
  MP_CAPABLE: 0x0,
  MP_JOIN: 0x1,
  DSS: 0x2,
  ADD_ADDR: 0x3,
  RM_ADDR: 0x4,
  MP_PRIO: 0x5,
  MP_FAIL: 0x6,
  MP_FASTCLOSE: 0x7,
  MP_TCPRST: 0x8,
  MP_EXPERIMENTAL: 0xf,
} as const;

/** MP_CAPABLE flag bits (the octet after subtype/version). */
export const MpCapableFlag = {
  /** A: checksum required. */
  A: 0x80,
  /** B: extensibility (must be 0 in v1). */
  B: 0x40,
  /** C: do not attempt to establish new subflows to the source address of this SYN. */
  C: 0x20,
  /** H: HMAC-SHA256 is the crypto algorithm. */
  H: 0x01,
} as const;

/** DSS flag bits (RFC 8684 section 3.3: the low five bits of the flags octet). */
export const DssFlag = {
  /** A: DATA_ACK present. */
  DATA_ACK: 0x01,
  /** a: DATA_ACK is 8 octets. */
  DATA_ACK_64: 0x02,
  /** M: mapping (DSN, subflow sequence, data-level length, checksum) present. */
  MAPPING: 0x04,
  /** m: DSN is 8 octets. */
  DSN_64: 0x08,
  /** F: DATA_FIN. */
  DATA_FIN: 0x10,
} as const;

/** MP_TCPRST flag bits (low nibble of the subtype octet). */
export const MpTcpRstFlag = {
  U: 0x8,
  V: 0x4,
  W: 0x2,
  /** T: the error is transient; the subflow may be re-established. */
  T: 0x1,
} as const;

/** MP_TCPRST reason codes (RFC 8684 section 3.6). */
export const MpTcpRstReason = {
  UNSPECIFIED: 0x00,
  MPTCP_SPECIFIC: 0x01,
  LACK_OF_RESOURCES: 0x02,
  ADMIN_PROHIBITED: 0x03,
  TOO_MUCH_OUTSTANDING_DATA: 0x04,
  UNACCEPTABLE_PERFORMANCE: 0x05,
  MIDDLEBOX_INTERFERENCE: 0x06,
} as const;

/** TCP option kind of every MPTCP option (RFC 8684 section 3, IANA "TCP Option Kind Numbers"). */
export const MPTCP_OPTION_KIND = 30;

/** Lengths on the wire (kind and length octets included), named after the kernel's TCPOLEN_MPTCP_*. */
export const MptcpOptionLengths = {
  MP_CAPABLE_SYN: 4,
  MP_CAPABLE_SYNACK: 12,
  MP_CAPABLE_ACK: 20,
  MP_CAPABLE_ACK_DATA: 22,
  MP_CAPABLE_ACK_DATA_CSUM: 24,
  MP_JOIN_SYN: 12,
  MP_JOIN_SYNACK: 16,
  MP_JOIN_ACK: 24,
  /** DSS: kind, length, subtype, flags; the next five are what each part adds to it. */
  DSS_BASE: 4,
  DSS_ACK32: 4,
  DSS_ACK64: 8,
  /** DSN (4 or 8) + subflow sequence number (4) + data-level length (2). */
  DSS_MAP32: 10,
  DSS_MAP64: 14,
  DSS_CHECKSUM: 2,
  /** ADD_ADDR without port and HMAC; the next two are what a port and a truncated HMAC add. */
  ADD_ADDR4: 8,
  ADD_ADDR6: 20,
  ADD_ADDR_PORT: 2,
  ADD_ADDR_HMAC: 8,
  RM_ADDR_BASE: 3,
  MP_PRIO: 3,
  MP_PRIO_WITH_ID: 4,
  MP_FAIL: 12,
  MP_FASTCLOSE: 12,
  MP_TCPRST: 4,
} as const;

/** MP_JOIN SYN/ACK HMAC field size: the leftmost 64 bits of the HMAC (RFC 8684 section 3.2). */
export const MP_JOIN_SYNACK_HMAC_LENGTH = 8;
/** MP_JOIN third-ACK HMAC field size: the leftmost 160 bits of the HMAC (RFC 8684 section 3.2). */
export const MP_JOIN_ACK_HMAC_LENGTH = 20;
/** The ADD_ADDR truncated HMAC: the rightmost 64 bits (RFC 8684 section 3.4.1; see mptcp/keys.ts). */
export const ADD_ADDR_HMAC_LENGTH = 8;

/**
 * MP_CAPABLE. Lengths: 4 (v1 SYN: no key), 12 (SYN/ACK with the sender's key; also a v0 SYN), 20 (third ACK:
 * both keys), 22 (ACK with data-level length), 24 (ACK with data-level length and checksum).
 */
export interface MpCapableOption {
  readonly subtype: 'MP_CAPABLE';
  readonly version: number;
  /** The flags octet: see `MpCapableFlag`. */
  readonly flags: number;
  readonly senderKey?: U64;
  readonly receiverKey?: U64;
  readonly dataLength?: number;
  readonly checksum?: number;
}

/** MP_JOIN on a SYN (length 12). */
export interface MpJoinSynOption {
  readonly subtype: 'MP_JOIN';
  readonly form: 'syn';
  readonly backup: boolean;
  readonly addressId: number;
  /** Receiver's token (32 bits). */
  readonly token: number;
  /** Sender's random number (32 bits). */
  readonly nonce: number;
}

/** MP_JOIN on a SYN/ACK (length 16): truncated (leftmost 64 bits) HMAC. */
export interface MpJoinSynAckOption {
  readonly subtype: 'MP_JOIN';
  readonly form: 'synack';
  readonly backup: boolean;
  readonly addressId: number;
  /** 8 bytes. */
  readonly hmac: Uint8Array;
  readonly nonce: number;
}

/** MP_JOIN on the third ACK (length 24): leftmost 160 bits of the HMAC. */
export interface MpJoinAckOption {
  readonly subtype: 'MP_JOIN';
  readonly form: 'ack';
  /** 20 bytes. */
  readonly hmac: Uint8Array;
}

export type MpJoinOption = MpJoinSynOption | MpJoinSynAckOption | MpJoinAckOption;

/** A DSS mapping: `dataLength` bytes at data sequence `dsn` are at relative subflow sequence `subflowSeq`. */
export interface DssMapping {
  /** Data sequence number; with `dsn64` false only `lo` is on the wire (hi is 0 after parsing). */
  readonly dsn: U64;
  readonly dsn64: boolean;
  /** Relative subflow sequence number (from the subflow's ISN). */
  readonly subflowSeq: number;
  /** Data-level length; 0 with subflowSeq 0 is the infinite mapping. */
  readonly dataLength: number;
  /** DSS checksum; present when checksums were negotiated. */
  readonly checksum?: number;
}

/** DSS (length 4 + 0/4/8 DATA_ACK + 0 or (4/8 DSN + 4 SSN + 2 length + 0/2 checksum)). */
export interface DssOption {
  readonly subtype: 'DSS';
  readonly dataFin: boolean;
  /** DATA_ACK; with `dataAck64` false only `lo` is on the wire. */
  readonly dataAck?: U64;
  /**
   * The 'a' flag. Without a DATA_ACK it means nothing (Linux and tshark ignore it) but it is kept as read,
   * so that every repr round-trips; emit sets 'a' exactly when this is true.
   */
  readonly dataAck64: boolean;
  readonly mapping?: DssMapping;
}

/**
 * ADD_ADDR. Lengths: IPv4 8 / +port 10 / +HMAC 16 / +port+HMAC 18; IPv6 20 / 22 / 28 / 30.
 * An echo (E flag) normally carries no HMAC.
 */
export interface AddAddrOption {
  readonly subtype: 'ADD_ADDR';
  readonly echo: boolean;
  readonly addressId: number;
  /** 4 or 16 bytes. */
  readonly address: Uint8Array;
  readonly port?: number;
  /**
   * 8 bytes: the RIGHTMOST 64 bits of the ADD_ADDR HMAC (RFC 8684 section 3.4.1: "the rightmost 64 bits of
   * an HMAC"; Linux does the same since 2020), unlike MP_JOIN's leftmost bits. See `addAddrHmac`.
   */
  readonly hmac?: Uint8Array;
}

/** RM_ADDR: one or more address ids (length 3 + n). */
export interface RmAddrOption {
  readonly subtype: 'RM_ADDR';
  readonly addressIds: readonly number[];
}

/** MP_PRIO: length 3 (RFC 8684) or 4 (with an address id, as RFC 6824 allowed). */
export interface MpPrioOption {
  readonly subtype: 'MP_PRIO';
  readonly backup: boolean;
  readonly addressId?: number;
}

/** MP_FAIL (length 12): the DSN at which the checksum failed. */
export interface MpFailOption {
  readonly subtype: 'MP_FAIL';
  readonly dsn: U64;
}

/** MP_FASTCLOSE (length 12): the receiver's key. */
export interface MpFastcloseOption {
  readonly subtype: 'MP_FASTCLOSE';
  readonly receiverKey: U64;
}

/** MP_TCPRST (length 4). */
export interface MpTcpRstOption {
  readonly subtype: 'MP_TCPRST';
  /** U, V, W, T bits: see `MpTcpRstFlag`. */
  readonly flags: number;
  readonly reason: number;
}

/** Any other subtype: `data` is every byte after kind and length (the subtype nibble included). */
export interface MptcpUnknownOption {
  readonly subtype: 'unknown';
  readonly subtypeValue: number;
  readonly data: Uint8Array;
}

export type MptcpOption =
  | MpCapableOption
  | MpJoinOption
  | DssOption
  | AddAddrOption
  | RmAddrOption
  | MpPrioOption
  | MpFailOption
  | MpFastcloseOption
  | MpTcpRstOption
  | MptcpUnknownOption;

// ---------------------------------------------------------------------------------------------------------
// Parsing and emitting. Byte math is done directly on the Uint8Array (no DataView, no closures): DSS is on
// every segment, so parse and emit cost a constant amount of work and only the result objects are allocated.
// ---------------------------------------------------------------------------------------------------------

const SUBTYPE_NAMES = [
  'MP_CAPABLE',
  'MP_JOIN',
  'DSS',
  'ADD_ADDR',
  'RM_ADDR',
  'MP_PRIO',
  'MP_FAIL',
  'MP_FASTCLOSE',
  'MP_TCPRST',
] as const;

/**
 * The IANA name of a subtype value (0..15), as tshark and the kernel print it: `MP_CAPABLE` ..
 * `MP_TCPRST`, `MP_EXPERIMENTAL` for 0xf, and `unknown(0x9)` for unassigned values.
 */
export function mptcpSubtypeName(subtypeValue: number): string {
  const known = SUBTYPE_NAMES[subtypeValue];
  if (known !== undefined) return known;
  if (subtypeValue === MptcpSubtypeCode.MP_EXPERIMENTAL) return 'MP_EXPERIMENTAL';
  return `unknown(0x${subtypeValue.toString(16)})`;
}

/** The name of a parsed option's subtype (see `mptcpSubtypeName`). */
export function mptcpOptionName(option: MptcpOption): string {
  return option.subtype === 'unknown' ? mptcpSubtypeName(option.subtypeValue) : option.subtype;
}

/**
 * The infinite mapping (RFC 8684 section 3.3.1): "a data-level length of 0 ... and the subflow sequence
 * number of 0", which tells the receiver that every following byte maps onward from `dsn` (fallback).
 */
export function isInfiniteMapping(mapping: DssMapping): boolean {
  return mapping.dataLength === 0 && mapping.subflowSeq === 0;
}

/** The DSS flags octet the option is sent with (reserved bits zero). */
export function dssFlags(option: DssOption): number {
  let flags = 0;
  if (option.dataAck !== undefined) flags |= DssFlag.DATA_ACK;
  if (option.dataAck64) flags |= DssFlag.DATA_ACK_64;
  if (option.mapping !== undefined) flags |= option.mapping.dsn64 ? DssFlag.MAPPING | DssFlag.DSN_64 : DssFlag.MAPPING;
  if (option.dataFin) flags |= DssFlag.DATA_FIN;
  return flags;
}

function readU16(b: Uint8Array, i: number): number {
  return (b[i]! << 8) | b[i + 1]!;
}

function readU32(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}

function readU64At(b: Uint8Array, i: number): U64 {
  return { hi: readU32(b, i), lo: readU32(b, i + 4) };
}

function writeU16(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 8;
  b[i + 1] = v;
}

function writeU32(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 24;
  b[i + 1] = v >>> 16;
  b[i + 2] = v >>> 8;
  b[i + 3] = v;
}

function writeU64At(b: Uint8Array, i: number, v: U64): void {
  writeU32(b, i, v.hi);
  writeU32(b, i + 4, v.lo);
}

function malformed(what: string, length: number): WireError {
  return new WireError('malformed', `${what}: length ${length} is not valid`, 1);
}

/**
 * Parses one MPTCP option. `bytes` is the whole option: kind (30), length, then the body; its length is
 * the option's length field. Returns a WireError for a length no variant has, or a truncated option.
 *
 * Byte arrays in the result (HMACs, addresses, unknown data) are views into `bytes`: copy them to keep them
 * beyond the lifetime of the packet buffer. Reserved bits are ignored, as RFC 8684 requires of receivers.
 */
export function parseMptcpOption(bytes: Uint8Array): MptcpOption | WireError {
  const n = bytes.length;
  if (n < 2) return new WireError('truncated', `MPTCP option needs kind and length, got ${n} bytes`, 0);
  if (bytes[0] !== MPTCP_OPTION_KIND) return new WireError('malformed', `option kind ${bytes[0]} is not MPTCP (30)`, 0);
  const length = bytes[1]!;
  if (length > n) return new WireError('truncated', `length field ${length} but only ${n} bytes`, 1);
  if (length < n) return new WireError('malformed', `length field ${length} but ${n} bytes given`, 1);
  if (n < 3) return new WireError('truncated', `MPTCP option of length ${n} has no subtype`, 1);
  const subtypeValue = bytes[2]! >>> 4;
  switch (subtypeValue) {
    case MptcpSubtypeCode.DSS:
      return parseDss(bytes, n);
    case MptcpSubtypeCode.MP_CAPABLE:
      return parseMpCapable(bytes, n);
    case MptcpSubtypeCode.MP_JOIN:
      return parseMpJoin(bytes, n);
    case MptcpSubtypeCode.ADD_ADDR:
      return parseAddAddr(bytes, n);
    case MptcpSubtypeCode.RM_ADDR: {
      if (n < MptcpOptionLengths.RM_ADDR_BASE + 1) return malformed('RM_ADDR', n);
      const addressIds: number[] = [];
      for (let i = 3; i < n; i++) addressIds.push(bytes[i]!);
      return { subtype: 'RM_ADDR', addressIds };
    }
    case MptcpSubtypeCode.MP_PRIO: {
      const backup = (bytes[2]! & 0x01) !== 0;
      if (n === MptcpOptionLengths.MP_PRIO) return { subtype: 'MP_PRIO', backup };
      if (n === MptcpOptionLengths.MP_PRIO_WITH_ID) return { subtype: 'MP_PRIO', backup, addressId: bytes[3]! };
      return malformed('MP_PRIO', n);
    }
    case MptcpSubtypeCode.MP_FAIL:
      if (n !== MptcpOptionLengths.MP_FAIL) return malformed('MP_FAIL', n);
      return { subtype: 'MP_FAIL', dsn: readU64At(bytes, 4) };
    case MptcpSubtypeCode.MP_FASTCLOSE:
      if (n !== MptcpOptionLengths.MP_FASTCLOSE) return malformed('MP_FASTCLOSE', n);
      return { subtype: 'MP_FASTCLOSE', receiverKey: readU64At(bytes, 4) };
    case MptcpSubtypeCode.MP_TCPRST:
      if (n !== MptcpOptionLengths.MP_TCPRST) return malformed('MP_TCPRST', n);
      return { subtype: 'MP_TCPRST', flags: bytes[2]! & 0x0f, reason: bytes[3]! };
    default:
      return { subtype: 'unknown', subtypeValue, data: bytes.subarray(2) };
  }
}

function parseDss(bytes: Uint8Array, n: number): DssOption | WireError {
  if (n < 4) return new WireError('truncated', 'DSS option has no flags octet', 1);
  const flags = bytes[3]!;
  const hasAck = (flags & DssFlag.DATA_ACK) !== 0;
  // 'a' is kept as read even without 'A' (the kernel and tshark just ignore it then), so that every repr
  // round-trips; 'm' without 'M' has nowhere to live and is dropped.
  const dataAck64 = (flags & DssFlag.DATA_ACK_64) !== 0;
  const hasMapping = (flags & DssFlag.MAPPING) !== 0;
  const dsn64 = (flags & DssFlag.DSN_64) !== 0;
  const dataFin = (flags & DssFlag.DATA_FIN) !== 0;
  let expected = MptcpOptionLengths.DSS_BASE as number;
  if (hasAck) expected += dataAck64 ? MptcpOptionLengths.DSS_ACK64 : MptcpOptionLengths.DSS_ACK32;
  if (hasMapping) expected += dsn64 ? MptcpOptionLengths.DSS_MAP64 : MptcpOptionLengths.DSS_MAP32;
  // RFC 8684 3.3: the checksum is present iff negotiated; a receiver can only tell from the length.
  const withChecksum = hasMapping && n === expected + MptcpOptionLengths.DSS_CHECKSUM;
  if (n !== expected && !withChecksum) {
    return new WireError('malformed', `DSS flags 0x${flags.toString(16)} need length ${expected}${hasMapping ? ` or ${expected + 2}` : ''}, got ${n}`, 1);
  }
  let i = 4;
  let dataAck: U64 | undefined;
  if (hasAck) {
    if (dataAck64) {
      dataAck = readU64At(bytes, i);
      i += 8;
    } else {
      dataAck = { hi: 0, lo: readU32(bytes, i) };
      i += 4;
    }
  }
  let mapping: DssMapping | undefined;
  if (hasMapping) {
    let dsn: U64;
    if (dsn64) {
      dsn = readU64At(bytes, i);
      i += 8;
    } else {
      dsn = { hi: 0, lo: readU32(bytes, i) };
      i += 4;
    }
    const subflowSeq = readU32(bytes, i);
    const dataLength = readU16(bytes, i + 4);
    mapping = withChecksum
      ? { dsn, dsn64, subflowSeq, dataLength, checksum: readU16(bytes, i + 6) }
      : { dsn, dsn64, subflowSeq, dataLength };
  }
  // Absent fields are absent keys (not `undefined` values), so results compare equal to literal reprs.
  if (dataAck !== undefined) {
    return mapping !== undefined
      ? { subtype: 'DSS', dataFin, dataAck, dataAck64, mapping }
      : { subtype: 'DSS', dataFin, dataAck, dataAck64 };
  }
  return mapping !== undefined ? { subtype: 'DSS', dataFin, dataAck64, mapping } : { subtype: 'DSS', dataFin, dataAck64 };
}

function parseMpCapable(bytes: Uint8Array, n: number): MpCapableOption | WireError {
  if (n < 4) return new WireError('truncated', 'MP_CAPABLE option has no flags octet', 1);
  const version = bytes[2]! & 0x0f;
  const flags = bytes[3]!;
  switch (n) {
    case MptcpOptionLengths.MP_CAPABLE_SYN:
      return { subtype: 'MP_CAPABLE', version, flags };
    case MptcpOptionLengths.MP_CAPABLE_SYNACK:
      return { subtype: 'MP_CAPABLE', version, flags, senderKey: readU64At(bytes, 4) };
    case MptcpOptionLengths.MP_CAPABLE_ACK:
      return { subtype: 'MP_CAPABLE', version, flags, senderKey: readU64At(bytes, 4), receiverKey: readU64At(bytes, 12) };
    case MptcpOptionLengths.MP_CAPABLE_ACK_DATA:
      return {
        subtype: 'MP_CAPABLE',
        version,
        flags,
        senderKey: readU64At(bytes, 4),
        receiverKey: readU64At(bytes, 12),
        dataLength: readU16(bytes, 20),
      };
    case MptcpOptionLengths.MP_CAPABLE_ACK_DATA_CSUM:
      return {
        subtype: 'MP_CAPABLE',
        version,
        flags,
        senderKey: readU64At(bytes, 4),
        receiverKey: readU64At(bytes, 12),
        dataLength: readU16(bytes, 20),
        checksum: readU16(bytes, 22),
      };
    default:
      return malformed('MP_CAPABLE', n);
  }
}

function parseMpJoin(bytes: Uint8Array, n: number): MpJoinOption | WireError {
  const backup = (bytes[2]! & 0x01) !== 0;
  switch (n) {
    case MptcpOptionLengths.MP_JOIN_SYN:
      return { subtype: 'MP_JOIN', form: 'syn', backup, addressId: bytes[3]!, token: readU32(bytes, 4), nonce: readU32(bytes, 8) };
    case MptcpOptionLengths.MP_JOIN_SYNACK:
      return { subtype: 'MP_JOIN', form: 'synack', backup, addressId: bytes[3]!, hmac: bytes.subarray(4, 12), nonce: readU32(bytes, 12) };
    case MptcpOptionLengths.MP_JOIN_ACK:
      // RFC 8684 section 3.2: subtype, 12 reserved bits, then the 160-bit HMAC.
      return { subtype: 'MP_JOIN', form: 'ack', hmac: bytes.subarray(4, 24) };
    default:
      return malformed('MP_JOIN', n);
  }
}

function parseAddAddr(bytes: Uint8Array, n: number): AddAddrOption | WireError {
  // Each of the eight lengths names exactly one (family, port, HMAC) combination.
  let addressLength: number;
  let rest: number;
  if (n >= MptcpOptionLengths.ADD_ADDR6) {
    addressLength = 16;
    rest = n - MptcpOptionLengths.ADD_ADDR6;
  } else {
    addressLength = 4;
    rest = n - MptcpOptionLengths.ADD_ADDR4;
  }
  if (rest !== 0 && rest !== 2 && rest !== 8 && rest !== 10) return malformed('ADD_ADDR', n);
  const echo = (bytes[2]! & 0x01) !== 0;
  const addressId = bytes[3]!;
  const addressEnd = 4 + addressLength;
  const address = bytes.subarray(4, addressEnd);
  const hasPort = rest === 2 || rest === 10;
  const hasHmac = rest >= 8;
  const hmacStart = hasPort ? addressEnd + 2 : addressEnd;
  if (hasPort) {
    const port = readU16(bytes, addressEnd);
    return hasHmac
      ? { subtype: 'ADD_ADDR', echo, addressId, address, port, hmac: bytes.subarray(hmacStart, hmacStart + 8) }
      : { subtype: 'ADD_ADDR', echo, addressId, address, port };
  }
  return hasHmac
    ? { subtype: 'ADD_ADDR', echo, addressId, address, hmac: bytes.subarray(hmacStart, hmacStart + 8) }
    : { subtype: 'ADD_ADDR', echo, addressId, address };
}

/** The option's length on the wire (kind and length octets included). */
export function mptcpOptionLength(option: MptcpOption): number {
  switch (option.subtype) {
    case 'DSS': {
      let length = MptcpOptionLengths.DSS_BASE as number;
      if (option.dataAck !== undefined) length += option.dataAck64 ? MptcpOptionLengths.DSS_ACK64 : MptcpOptionLengths.DSS_ACK32;
      const mapping = option.mapping;
      if (mapping !== undefined) {
        length += mapping.dsn64 ? MptcpOptionLengths.DSS_MAP64 : MptcpOptionLengths.DSS_MAP32;
        if (mapping.checksum !== undefined) length += MptcpOptionLengths.DSS_CHECKSUM;
      }
      return length;
    }
    case 'MP_CAPABLE':
      if (option.checksum !== undefined) return MptcpOptionLengths.MP_CAPABLE_ACK_DATA_CSUM;
      if (option.dataLength !== undefined) return MptcpOptionLengths.MP_CAPABLE_ACK_DATA;
      if (option.receiverKey !== undefined) return MptcpOptionLengths.MP_CAPABLE_ACK;
      if (option.senderKey !== undefined) return MptcpOptionLengths.MP_CAPABLE_SYNACK;
      return MptcpOptionLengths.MP_CAPABLE_SYN;
    case 'MP_JOIN':
      return option.form === 'syn'
        ? MptcpOptionLengths.MP_JOIN_SYN
        : option.form === 'synack'
          ? MptcpOptionLengths.MP_JOIN_SYNACK
          : MptcpOptionLengths.MP_JOIN_ACK;
    case 'ADD_ADDR':
      return (
        (option.address.length === 16 ? MptcpOptionLengths.ADD_ADDR6 : MptcpOptionLengths.ADD_ADDR4) +
        (option.port !== undefined ? MptcpOptionLengths.ADD_ADDR_PORT : 0) +
        (option.hmac !== undefined ? MptcpOptionLengths.ADD_ADDR_HMAC : 0)
      );
    case 'RM_ADDR':
      return MptcpOptionLengths.RM_ADDR_BASE + option.addressIds.length;
    case 'MP_PRIO':
      return option.addressId !== undefined ? MptcpOptionLengths.MP_PRIO_WITH_ID : MptcpOptionLengths.MP_PRIO;
    case 'MP_FAIL':
      return MptcpOptionLengths.MP_FAIL;
    case 'MP_FASTCLOSE':
      return MptcpOptionLengths.MP_FASTCLOSE;
    case 'MP_TCPRST':
      return MptcpOptionLengths.MP_TCPRST;
    case 'unknown':
      return 2 + option.data.length;
  }
}

function checkBytes(what: string, bytes: Uint8Array, ...allowed: number[]): void {
  if (!allowed.includes(bytes.length)) {
    throw new RangeError(`${what} must be ${allowed.join(' or ')} bytes, got ${bytes.length}`);
  }
}

/**
 * Writes the option (kind and length included) at `offset`; returns the bytes written, always
 * `mptcpOptionLength(option)`. Reserved bits are written as zero; DSS flags come from the fields
 * (`dssFlags`). MP_CAPABLE's length is chosen by the last field present; fields before it that are absent
 * are written as zero.
 *
 * Throws BufferTooSmallError if `buf` lacks room, and RangeError for a repr no option can carry (an HMAC or
 * address of the wrong size, an empty RM_ADDR list, unknown data that is empty or over 253 bytes): those are
 * caller bugs. In particular an ADD_ADDR `hmac` must already be truncated (see `addAddrHmac`).
 */
export function emitMptcpOption(option: MptcpOption, buf: Uint8Array, offset: number): number {
  const length = mptcpOptionLength(option);
  ensureRoom(buf, offset, length);
  const o = offset;
  switch (option.subtype) {
    case 'DSS': {
      buf[o] = MPTCP_OPTION_KIND;
      buf[o + 1] = length;
      buf[o + 2] = MptcpSubtypeCode.DSS << 4;
      buf[o + 3] = dssFlags(option);
      let i = o + 4;
      const dataAck = option.dataAck;
      if (dataAck !== undefined) {
        if (option.dataAck64) {
          writeU64At(buf, i, dataAck);
          i += 8;
        } else {
          writeU32(buf, i, dataAck.lo);
          i += 4;
        }
      }
      const mapping = option.mapping;
      if (mapping !== undefined) {
        if (mapping.dsn64) {
          writeU64At(buf, i, mapping.dsn);
          i += 8;
        } else {
          writeU32(buf, i, mapping.dsn.lo);
          i += 4;
        }
        writeU32(buf, i, mapping.subflowSeq);
        writeU16(buf, i + 4, mapping.dataLength);
        if (mapping.checksum !== undefined) writeU16(buf, i + 6, mapping.checksum);
      }
      return length;
    }
    case 'MP_CAPABLE': {
      buf[o] = MPTCP_OPTION_KIND;
      buf[o + 1] = length;
      buf[o + 2] = (MptcpSubtypeCode.MP_CAPABLE << 4) | (option.version & 0x0f);
      buf[o + 3] = option.flags;
      if (length >= MptcpOptionLengths.MP_CAPABLE_SYNACK) writeU64At(buf, o + 4, option.senderKey ?? ZERO64);
      if (length >= MptcpOptionLengths.MP_CAPABLE_ACK) writeU64At(buf, o + 12, option.receiverKey ?? ZERO64);
      if (length >= MptcpOptionLengths.MP_CAPABLE_ACK_DATA) writeU16(buf, o + 20, option.dataLength ?? 0);
      if (length >= MptcpOptionLengths.MP_CAPABLE_ACK_DATA_CSUM) writeU16(buf, o + 22, option.checksum ?? 0);
      return length;
    }
    case 'MP_JOIN': {
      buf[o] = MPTCP_OPTION_KIND;
      buf[o + 1] = length;
      if (option.form === 'ack') {
        checkBytes('MP_JOIN ACK hmac', option.hmac, MP_JOIN_ACK_HMAC_LENGTH);
        buf[o + 2] = MptcpSubtypeCode.MP_JOIN << 4;
        buf[o + 3] = 0;
        buf.set(option.hmac, o + 4);
        return length;
      }
      buf[o + 2] = (MptcpSubtypeCode.MP_JOIN << 4) | (option.backup ? 0x01 : 0);
      buf[o + 3] = option.addressId;
      if (option.form === 'syn') {
        writeU32(buf, o + 4, option.token);
        writeU32(buf, o + 8, option.nonce);
      } else {
        checkBytes('MP_JOIN SYN/ACK hmac', option.hmac, MP_JOIN_SYNACK_HMAC_LENGTH);
        buf.set(option.hmac, o + 4);
        writeU32(buf, o + 12, option.nonce);
      }
      return length;
    }
    case 'ADD_ADDR': {
      checkBytes('ADD_ADDR address', option.address, 4, 16);
      if (option.hmac !== undefined) checkBytes('ADD_ADDR hmac', option.hmac, ADD_ADDR_HMAC_LENGTH);
      buf[o] = MPTCP_OPTION_KIND;
      buf[o + 1] = length;
      buf[o + 2] = (MptcpSubtypeCode.ADD_ADDR << 4) | (option.echo ? 0x01 : 0);
      buf[o + 3] = option.addressId;
      buf.set(option.address, o + 4);
      let i = o + 4 + option.address.length;
      if (option.port !== undefined) {
        writeU16(buf, i, option.port);
        i += 2;
      }
      if (option.hmac !== undefined) buf.set(option.hmac, i);
      return length;
    }
    case 'RM_ADDR': {
      const ids = option.addressIds;
      if (ids.length === 0 || length > 255) throw new RangeError(`RM_ADDR needs 1 to 252 address ids, got ${ids.length}`);
      buf[o] = MPTCP_OPTION_KIND;
      buf[o + 1] = length;
      buf[o + 2] = MptcpSubtypeCode.RM_ADDR << 4;
      for (let k = 0; k < ids.length; k++) buf[o + 3 + k] = ids[k]!;
      return length;
    }
    case 'MP_PRIO':
      buf[o] = MPTCP_OPTION_KIND;
      buf[o + 1] = length;
      buf[o + 2] = (MptcpSubtypeCode.MP_PRIO << 4) | (option.backup ? 0x01 : 0);
      if (option.addressId !== undefined) buf[o + 3] = option.addressId;
      return length;
    case 'MP_FAIL':
    case 'MP_FASTCLOSE':
      // RFC 8684 sections 3.5 and 3.7: subtype, 12 reserved bits, then the 64-bit value.
      buf[o] = MPTCP_OPTION_KIND;
      buf[o + 1] = length;
      buf[o + 2] = (option.subtype === 'MP_FAIL' ? MptcpSubtypeCode.MP_FAIL : MptcpSubtypeCode.MP_FASTCLOSE) << 4;
      buf[o + 3] = 0;
      writeU64At(buf, o + 4, option.subtype === 'MP_FAIL' ? option.dsn : option.receiverKey);
      return length;
    case 'MP_TCPRST':
      buf[o] = MPTCP_OPTION_KIND;
      buf[o + 1] = length;
      buf[o + 2] = (MptcpSubtypeCode.MP_TCPRST << 4) | (option.flags & 0x0f);
      buf[o + 3] = option.reason;
      return length;
    case 'unknown': {
      if (option.data.length === 0 || length > 255) throw new RangeError(`unknown MPTCP option data must be 1 to 253 bytes, got ${option.data.length}`);
      buf[o] = MPTCP_OPTION_KIND;
      buf[o + 1] = length;
      buf.set(option.data, o + 2);
      // `data` starts with the subtype octet; the subtype nibble comes from `subtypeValue`.
      buf[o + 2] = ((option.subtypeValue & 0x0f) << 4) | (option.data[0]! & 0x0f);
      return length;
    }
  }
}

const ZERO64: U64 = { hi: 0, lo: 0 };
