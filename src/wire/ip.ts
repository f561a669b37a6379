/**
 * IPv4 (RFC 791) and IPv6 (RFC 8200) packets: parse to a header repr plus a payload slice, emit a header.
 *
 * Heads up: read RFC 791 section 3.1, RFC 8200 sections 3 and 4 (extension headers), RFC 6564 (the
 * uniform extension-header format) before changing this file.
 *
 * Parsing never throws: it returns a `WireError` for truncated/malformed input, and for IPv4 fragments
 * (`unsupported`: this stack does not reassemble). Payloads are `subarray` views, never copies.
 */
import { WireError, ensureRoom } from './errors.js';
import { finishChecksum, onesSum, pseudoHeaderSum } from './checksum.js';

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

/** IPv4 flag bits in the high byte of the flags/fragment-offset word. */
const IPV4_DF = 0x4000;
const IPV4_MF = 0x2000;
const IPV4_OFFSET_MASK = 0x1fff;

/**
 * Parses an IPv4 or IPv6 packet (dispatching on the version nibble). `verifyChecksum` (default true)
 * checks the IPv4 header checksum; IPv6 has none. Never throws: truncated or malformed input, a bad
 * checksum, and fragments (this stack does not reassemble) are returned as a `WireError`.
 */
export function parseIpPacket(bytes: Uint8Array, options?: { verifyChecksum?: boolean }): IpPacket | WireError {
  if (bytes.length < 1) return new WireError('truncated', 'empty IP packet', 0);
  const version = bytes[0]! >> 4;
  if (version === 4) return parseIpv4(bytes, options?.verifyChecksum !== false);
  if (version === 6) return parseIpv6(bytes);
  return new WireError('malformed', `IP version ${version}: expected 4 or 6`, 0);
}

function parseIpv4(bytes: Uint8Array, verifyChecksum: boolean): IpPacket | WireError {
  const length = bytes.length;
  if (length < 20) return new WireError('truncated', `IPv4 header needs 20 bytes, have ${length}`, 0);
  const headerLength = (bytes[0]! & 0x0f) * 4;
  if (headerLength < 20) return new WireError('malformed', `IPv4 IHL ${headerLength / 4}: must be at least 5`, 0);
  if (headerLength > length) {
    return new WireError('truncated', `IPv4 header with options needs ${headerLength} bytes, have ${length}`, 20);
  }
  const totalLength = (bytes[2]! << 8) | bytes[3]!;
  if (totalLength < headerLength) {
    return new WireError('malformed', `IPv4 total length ${totalLength} is shorter than the header (${headerLength})`, 2);
  }
  // Bytes beyond totalLength are link-layer padding (e.g. Ethernet minimum frame) and are ignored.
  if (totalLength > length) {
    return new WireError('truncated', `IPv4 total length ${totalLength} exceeds the ${length} bytes available`, length);
  }
  if (verifyChecksum && finishChecksum(onesSum(bytes, 0, headerLength)) !== 0) {
    return new WireError('checksum', 'IPv4 header checksum does not verify', 10);
  }
  const flagsOffset = (bytes[6]! << 8) | bytes[7]!;
  const moreFragments = (flagsOffset & IPV4_MF) !== 0;
  const fragmentOffset = (flagsOffset & IPV4_OFFSET_MASK) * 8;
  if (moreFragments || fragmentOffset !== 0) {
    return new WireError(
      'unsupported',
      `IPv4 fragment (offset ${fragmentOffset}, MF=${moreFragments ? 1 : 0}): fragments are not reassembled`,
      6,
    );
  }
  const protocol = bytes[9]!;
  const src = bytes.subarray(12, 16);
  const dst = bytes.subarray(16, 20);
  const header: Ipv4Header = {
    version: 4,
    headerLength,
    dscp: bytes[1]! >> 2,
    ecn: bytes[1]! & 0x03,
    totalLength,
    identification: (bytes[4]! << 8) | bytes[5]!,
    dontFragment: (flagsOffset & IPV4_DF) !== 0,
    moreFragments,
    fragmentOffset,
    ttl: bytes[8]!,
    protocol,
    checksum: (bytes[10]! << 8) | bytes[11]!,
    src,
    dst,
  };
  return { header, protocol, src, dst, payload: bytes.subarray(headerLength, totalLength), payloadOffset: headerLength };
}

function parseIpv6(bytes: Uint8Array): IpPacket | WireError {
  const length = bytes.length;
  if (length < 40) return new WireError('truncated', `IPv6 header needs 40 bytes, have ${length}`, 0);
  const payloadLength = (bytes[4]! << 8) | bytes[5]!;
  const nextHeader = bytes[6]!;
  if (payloadLength === 0 && nextHeader === 0) {
    // RFC 2675: a jumbogram has payload length 0 and its real length in a Hop-by-Hop option.
    return new WireError('unsupported', 'IPv6 jumbogram (payload length 0 with Hop-by-Hop options): not supported', 4);
  }
  const end = 40 + payloadLength;
  if (end > length) {
    return new WireError('truncated', `IPv6 payload length ${payloadLength} exceeds the ${length - 40} bytes available`, length);
  }
  const src = bytes.subarray(8, 24);
  const dst = bytes.subarray(24, 40);
  const header: Ipv6Header = {
    version: 6,
    trafficClass: ((bytes[0]! & 0x0f) << 4) | (bytes[1]! >> 4),
    flowLabel: ((bytes[1]! & 0x0f) << 16) | (bytes[2]! << 8) | bytes[3]!,
    payloadLength,
    nextHeader,
    hopLimit: bytes[7]!,
    src,
    dst,
  };
  // Walk the extension-header chain (RFC 8200 section 4). Every header is at least 8 bytes, so the loop
  // ends within payloadLength / 8 steps.
  let protocol = nextHeader;
  let offset = 40;
  for (;;) {
    let headerSize: number;
    if (protocol === 0 || protocol === 43 || protocol === 60 || protocol === 51 || protocol === 44) {
      if (offset + 8 > end) {
        return new WireError('truncated', `IPv6 extension header ${protocol} needs 8 bytes, have ${end - offset}`, offset);
      }
      if (protocol === 0 && offset !== 40) {
        // RFC 8200 section 4.3: Hop-by-Hop Options only ever immediately follow the IPv6 header.
        return new WireError('malformed', 'IPv6 Hop-by-Hop Options header not directly after the IPv6 header', offset);
      }
      if (protocol === 44) {
        // Fragment header (RFC 8200 section 4.5): only an atomic fragment (offset 0, M=0) is walked through.
        const fragmentWord = (bytes[offset + 2]! << 8) | bytes[offset + 3]!;
        const fragmentOffset = fragmentWord & 0xfff8;
        const more = fragmentWord & 1;
        if (fragmentOffset !== 0 || more !== 0) {
          return new WireError(
            'unsupported',
            `IPv6 fragment (offset ${fragmentOffset}, M=${more}): fragments are not reassembled`,
            offset + 2,
          );
        }
        headerSize = 8;
      } else if (protocol === 51) {
        // RFC 4302 section 2.2: the AH length is in 4-octet units, minus 2.
        headerSize = (bytes[offset + 1]! + 2) * 4;
      } else {
        // RFC 8200: Hdr Ext Len is in 8-octet units, not counting the first 8 octets.
        headerSize = (bytes[offset + 1]! + 1) * 8;
        if (protocol === 43 && bytes[offset + 3]! !== 0) {
          // With Segments Left > 0 this host is not the final destination, and the TCP pseudo-header
          // would use an address inside the routing header: we do not forward source-routed packets.
          return new WireError(
            'unsupported',
            `IPv6 routing header type ${bytes[offset + 2]!} with ${bytes[offset + 3]!} segments left: not the final destination`,
            offset + 3,
          );
        }
      }
      if (offset + headerSize > end) {
        return new WireError(
          'truncated',
          `IPv6 extension header ${protocol} of ${headerSize} bytes exceeds the ${end - offset} bytes left`,
          offset,
        );
      }
      protocol = bytes[offset]!;
      offset += headerSize;
      continue;
    }
    if (protocol === 59) {
      // No Next Header: whatever follows is ignored (RFC 8200 section 4.7).
      return { header, protocol, src, dst, payload: bytes.subarray(offset, offset), payloadOffset: offset };
    }
    return { header, protocol, src, dst, payload: bytes.subarray(offset, end), payloadOffset: offset };
  }
}

/** Header length `emitIpHeader` writes for this source address: 20 (IPv4) or 40 (IPv6). */
export function ipHeaderLength(src: Uint8Array): number {
  return src.length === 16 ? 40 : 20;
}

/**
 * Writes an IPv4 (no options, checksum filled) or IPv6 (no extension headers) header; returns its length.
 * Throws `BufferTooSmallError` on a short buffer and `RangeError` on addresses of different or wrong
 * lengths or a payload too long for the length field (caller bugs).
 */
export function emitIpHeader(repr: IpHeaderRepr, buf: Uint8Array, offset: number): number {
  const { src, dst } = repr;
  if (src.length !== dst.length || (src.length !== 4 && src.length !== 16)) {
    throw new RangeError(`IP addresses must both be 4 or 16 bytes, got ${src.length} and ${dst.length}`);
  }
  const ttl = repr.ttl ?? 64;
  const tos = repr.tos ?? 0;
  if (src.length === 4) {
    const totalLength = 20 + repr.payloadLength;
    if (totalLength > 0xffff) throw new RangeError(`IPv4 total length ${totalLength} exceeds 65535`);
    ensureRoom(buf, offset, 20);
    const identification = repr.identification ?? 0;
    buf[offset] = 0x45;
    buf[offset + 1] = tos;
    buf[offset + 2] = totalLength >> 8;
    buf[offset + 3] = totalLength;
    buf[offset + 4] = identification >> 8;
    buf[offset + 5] = identification;
    buf[offset + 6] = repr.dontFragment === false ? 0 : IPV4_DF >> 8;
    buf[offset + 7] = 0;
    buf[offset + 8] = ttl;
    buf[offset + 9] = repr.protocol;
    buf[offset + 10] = 0;
    buf[offset + 11] = 0;
    buf.set(src, offset + 12);
    buf.set(dst, offset + 16);
    const checksum = finishChecksum(onesSum(buf, offset, offset + 20));
    buf[offset + 10] = checksum >> 8;
    buf[offset + 11] = checksum;
    return 20;
  }
  if (repr.payloadLength > 0xffff) throw new RangeError(`IPv6 payload length ${repr.payloadLength} exceeds 65535`);
  ensureRoom(buf, offset, 40);
  const flowLabel = repr.flowLabel ?? 0;
  buf[offset] = 0x60 | ((tos >> 4) & 0x0f);
  buf[offset + 1] = ((tos & 0x0f) << 4) | ((flowLabel >> 16) & 0x0f);
  buf[offset + 2] = flowLabel >> 8;
  buf[offset + 3] = flowLabel;
  buf[offset + 4] = repr.payloadLength >> 8;
  buf[offset + 5] = repr.payloadLength;
  buf[offset + 6] = repr.protocol;
  buf[offset + 7] = ttl;
  buf.set(src, offset + 8);
  buf.set(dst, offset + 24);
  return 40;
}

/**
 * Writes the TCP checksum of an IP packet carrying a TCP segment, in place (over the pseudo-header of the
 * packet's addresses, RFC 9293 section 3.1; the field is zeroed first). For a packet whose checksum a host
 * left to its driver (`HostOptions.deferChecksums`: the emulator fills it in only where something reads the
 * packet). Returns false, changing nothing, when `packet` is not an unfragmented IPv4/IPv6 TCP segment.
 */
export function fillTcpChecksum(packet: Uint8Array): boolean {
  const ip = parseIpPacket(packet, { verifyChecksum: false });
  if (ip instanceof WireError || ip.protocol !== IpProtocol.TCP || ip.payload.length < 20) return false;
  writeTcpChecksum(packet, ip.payloadOffset, ip.payload.length, ip.src, ip.dst);
  return true;
}

/** Writes the checksum of the TCP segment at `packet[offset, offset + length)` (field zeroed first), in place. */
export function writeTcpChecksum(packet: Uint8Array, offset: number, length: number, src: Uint8Array, dst: Uint8Array): void {
  packet[offset + 16] = 0;
  packet[offset + 17] = 0;
  const checksum = finishChecksum(onesSum(packet, offset, offset + length, pseudoHeaderSum(src, dst, IpProtocol.TCP, length)));
  packet[offset + 16] = checksum >> 8;
  packet[offset + 17] = checksum & 0xff;
}
