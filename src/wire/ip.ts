/**
 * IPv4 (RFC 791) and IPv6 (RFC 8200) packets: parse to a header repr plus a payload slice, emit a header.
 *
 * Heads up: read RFC 791 section 3.1, RFC 8200 sections 3 and 4 (extension headers), RFC 6564 (the
 * uniform extension-header format) before changing this file.
 *
 * Parsing never throws: it returns a `WireError` for truncated/malformed input, and for IPv4 fragments
 * (`unsupported`: this stack does not reassemble). Payloads are `subarray` views, never copies.
 */
import { WireError } from './errors.js';

/** IP protocol numbers used by this stack. */
export const IpProtocol = {
  HOPOPT: 0,
  ICMP: 1,
  TCP: 6,
  UDP: 17,
  IPV6_ROUTE: 43,
  IPV6_FRAG: 44,
  ESP: 50,
  AH: 51,
  ICMPV6: 58,
  IPV6_NONXT: 59,
  IPV6_OPTS: 60,
} as const;

/** A parsed IPv4 header. Addresses are 4-byte views into the packet. */
export interface Ipv4Header {
  readonly version: 4;
  /** Header length in bytes (IHL * 4), options included (options are skipped, not interpreted). */
  readonly headerLength: number;
  readonly dscp: number;
  readonly ecn: number;
  readonly totalLength: number;
  readonly identification: number;
  readonly dontFragment: boolean;
  readonly moreFragments: boolean;
  /** Fragment offset in bytes. */
  readonly fragmentOffset: number;
  readonly ttl: number;
  readonly protocol: number;
  readonly checksum: number;
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
}

/** A parsed IPv6 fixed header. Addresses are 16-byte views into the packet. */
export interface Ipv6Header {
  readonly version: 6;
  readonly trafficClass: number;
  readonly flowLabel: number;
  readonly payloadLength: number;
  /** The Next Header field of the fixed header (may name an extension header). */
  readonly nextHeader: number;
  readonly hopLimit: number;
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
}

/** An IP packet with extension headers walked: the upper-layer protocol and its bytes. */
export interface IpPacket {
  readonly header: Ipv4Header | Ipv6Header;
  /** Upper-layer protocol (after IPv6 extension headers). */
  readonly protocol: number;
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
  /** Upper-layer bytes (view), trimmed to the length the IP header declares. */
  readonly payload: Uint8Array;
  /** Offset of `payload` within the parsed bytes. */
  readonly payloadOffset: number;
}

/** What `emitIpHeader` needs; the family is taken from the address length (4 or 16). */
export interface IpHeaderRepr {
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
  readonly protocol: number;
  /** Length of the upper-layer payload that will follow the header. */
  readonly payloadLength: number;
  /** TTL / hop limit; default 64. */
  readonly ttl?: number;
  /** IPv4 identification; default 0. */
  readonly identification?: number;
  /** IPv4 DF bit; default true. */
  readonly dontFragment?: boolean;
  /** DSCP << 2 | ECN (IPv4 TOS / IPv6 traffic class); default 0. */
  readonly tos?: number;
  /** IPv6 flow label; default 0. */
  readonly flowLabel?: number;
}

/** Parses an IPv4 or IPv6 packet (dispatching on the version nibble). */
export function parseIpPacket(bytes: Uint8Array, options?: { verifyChecksum?: boolean }): IpPacket | WireError {
  void bytes;
  void options;
  return new WireError('unsupported', 'not implemented yet');
}

/** Header length `emitIpHeader` writes for this source address: 20 (IPv4) or 40 (IPv6). */
export function ipHeaderLength(src: Uint8Array): number {
  return src.length === 16 ? 40 : 20;
}

/** Writes an IPv4 (no options, checksum filled) or IPv6 (no extension headers) header; returns its length. */
export function emitIpHeader(repr: IpHeaderRepr, buf: Uint8Array, offset: number): number {
  void repr;
  void buf;
  void offset;
  throw new Error('not implemented yet');
}
