/**
 * MPTCP options (TCP option kind 30), RFC 8684 section 3 and its IANA registry (section 7.2):
 * MP_CAPABLE, MP_JOIN, DSS, ADD_ADDR, RM_ADDR, MP_PRIO, MP_FAIL, MP_FASTCLOSE, MP_TCPRST; any other subtype
 * (e.g. 0xf, MP_EXPERIMENTAL) parses to `unknown`.
 *
 * Heads up: read RFC 8684 sections 3.1 (MP_CAPABLE, figure 4), 3.2 (MP_JOIN, figures 5-7), 3.3 (DSS,
 * figure 8), 3.4.1 (ADD_ADDR, figure 12), 3.4.2 (RM_ADDR), 3.3.8 (MP_PRIO), 3.7 (MP_FAIL), 3.5
 * (MP_FASTCLOSE), 3.6 (MP_TCPRST) before changing this file.
 *
 * The variant of an option is determined by its length (and for DSS by its flags), exactly as a
 * receiver must: so every variant round-trips through `emit` and `parse`.
 * 64-bit values are `U64` (hi/lo halves), never `bigint`.
 */
import { WireError } from './errors.js';
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

/** DSS flag bits (RFC 8684 figure 8). */
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
  /** 8 bytes: leftmost 64 bits of the ADD_ADDR HMAC. */
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

/**
 * Parses one MPTCP option. `bytes` is the whole option: kind (30), length, then the body; its length is
 * the option's length field. Returns a WireError for a length no variant has, or a truncated option.
 */
export function parseMptcpOption(bytes: Uint8Array): MptcpOption | WireError {
  void bytes;
  return new WireError('unsupported', 'not implemented yet');
}

/** The option's length on the wire (kind and length octets included). */
export function mptcpOptionLength(option: MptcpOption): number {
  void option;
  return 0;
}

/** Writes the option (kind and length included) at `offset`; returns the bytes written. */
export function emitMptcpOption(option: MptcpOption, buf: Uint8Array, offset: number): number {
  void option;
  void buf;
  void offset;
  throw new Error('not implemented yet');
}
