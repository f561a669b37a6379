/**
 * Middleboxes for the emulator: packet rewrites to put on a link (`LinkConfig.transform`,
 * `Link.setTransform`). The one here strips TCP options, as the boxes measured by Honda et al. ("Is it still
 * possible to extend TCP?", IMC 2011) and described in RFC 8684 section 3.7 do: the options of a matching
 * segment are overwritten with NOPs (kind 1) so that no length changes (sequence numbers, the data offset and
 * the IP lengths stay as they were), and the TCP checksum is recomputed so the receiver accepts the segment.
 *
 * Read first: RFC 8684 sections 3.1 (MP_CAPABLE missing from the SYN/ACK: the client falls back to TCP),
 * 3.7 (fallback, including options stripped after the handshake), RFC 9293 section 3.1 (option framing,
 * checksum over the pseudo-header), RFC 8200 section 8.1 (the IPv6 pseudo-header).
 *
 * Works on IPv4 and IPv6 (extension headers walked by `parseIpPacket`). Anything that is not a well-formed
 * TCP segment, and IPv4 fragments, pass unchanged. Option framing follows the kernel's `tcp_parse_options`:
 * EOL ends the list, NOP is one byte, any other kind has a length octet; a length < 2 or running past the
 * header stops the walk (nothing after it is touched).
 */
import { parseIpPacket, IpProtocol, writeTcpChecksum } from '../wire/ip.js';
import { isWireError } from '../wire/errors.js';
import { TcpFlags, TcpOptionKind } from '../wire/tcp.js';
import type { PacketTransform } from './link.js';
import type { DuplexLink } from './network.js';
import type { Micros } from './sim.js';

/** What a predicate sees of a TCP segment crossing the middlebox. */
export interface SegmentView {
  /** TCP flags (`TcpFlags` bits). */
  readonly flags: number;
  readonly srcPort: number;
  readonly dstPort: number;
  /** Payload length in bytes. */
  readonly payloadLength: number;
  /** How many TCP segments this middlebox saw before this one (all directions it is installed on). */
  readonly index: number;
  /** The kinds of the options present (in order), before stripping. */
  readonly optionKinds: readonly number[];
}

/** Which segments to rewrite. */
export type SegmentPredicate = (segment: SegmentView, now: Micros) => boolean;

/** Options of {@link OptionStripper}. */
export interface OptionStripperOptions {
  /** Option kinds to overwrite with NOPs (default: MPTCP, kind 30). */
  readonly kinds?: readonly number[];
  /** Which segments to rewrite (default: every one). */
  readonly match?: SegmentPredicate;
}

/** Only segments with SYN and ACK set (a SYN/ACK). */
export const onlySynAck: SegmentPredicate = (s) => (s.flags & (TcpFlags.SYN | TcpFlags.ACK)) === (TcpFlags.SYN | TcpFlags.ACK);

/** Every segment without SYN (the options of the handshake's SYN and SYN/ACK pass). */
export const afterSyn: SegmentPredicate = (s) => (s.flags & TcpFlags.SYN) === 0;

/** Every segment from the `n`th one this middlebox sees (0-based `index >= n`). */
export function fromSegment(n: number): SegmentPredicate {
  return (s) => s.index >= n;
}

/** Every segment that carries payload. */
export const withPayload: SegmentPredicate = (s) => s.payloadLength > 0;

/**
 * Overwrites with NOPs every TCP option of `bytes` whose kind is in `kinds`, in place, and fixes the TCP
 * checksum. Returns the number of options overwritten (0: the packet is untouched), or undefined when
 * `bytes` is not a TCP segment this function can rewrite.
 */
export function stripTcpOptionsInPlace(bytes: Uint8Array, kinds: ReadonlySet<number>): number | undefined {
  const located = locateTcp(bytes);
  if (located === undefined) return undefined;
  const { offset, headerLength } = located;
  let stripped = 0;
  for (const opt of walkOptions(bytes, offset, headerLength)) {
    if (!kinds.has(opt.kind)) continue;
    bytes.fill(TcpOptionKind.NOP, opt.at, opt.at + opt.length);
    stripped++;
  }
  if (stripped > 0) fixTcpChecksum(bytes, located);
  return stripped;
}

/** Where the TCP header is in an IP packet, and what its checksum covers. */
interface TcpLocation {
  readonly offset: number;
  readonly headerLength: number;
  readonly length: number;
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
}

function locateTcp(bytes: Uint8Array): TcpLocation | undefined {
  const ip = parseIpPacket(bytes, { verifyChecksum: false });
  if (isWireError(ip) || ip.protocol !== IpProtocol.TCP) return undefined;
  const length = ip.payload.length;
  if (length < 20) return undefined;
  const offset = ip.payloadOffset;
  const headerLength = (bytes[offset + 12]! >> 4) * 4;
  if (headerLength < 20 || headerLength > length) return undefined;
  return { offset, headerLength, length, src: ip.src, dst: ip.dst };
}

function* walkOptions(bytes: Uint8Array, offset: number, headerLength: number): Generator<{ kind: number; at: number; length: number }> {
  const end = offset + headerLength;
  let i = offset + 20;
  while (i < end) {
    const kind = bytes[i]!;
    if (kind === TcpOptionKind.EOL) return;
    if (kind === TcpOptionKind.NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) return;
    const length = bytes[i + 1]!;
    if (length < 2 || i + length > end) return;
    yield { kind, at: i, length };
    i += length;
  }
}

function segmentView(bytes: Uint8Array, t: TcpLocation, index: number, optionKinds: readonly number[]): SegmentView {
  const o = t.offset;
  return {
    flags: bytes[o + 13]!,
    srcPort: (bytes[o]! << 8) | bytes[o + 1]!,
    dstPort: (bytes[o + 2]! << 8) | bytes[o + 3]!,
    payloadLength: t.length - t.headerLength,
    index,
    optionKinds,
  };
}

function fixTcpChecksum(bytes: Uint8Array, t: TcpLocation): void {
  writeTcpChecksum(bytes, t.offset, t.length, t.src, t.dst);
}

/**
 * A middlebox that strips TCP options (by default MPTCP's) from the segments a predicate selects. One
 * instance can sit on several link directions (`install` puts it on both directions of a path); its
 * `index` then counts the segments of all of them in the order they are offered.
 */
export class OptionStripper {
  /** TCP segments seen. */
  seen = 0;
  /** Segments in which at least one option was overwritten. */
  rewritten = 0;
  /** Options overwritten in all. */
  optionsStripped = 0;
  /** Set false to let everything through unchanged (the box is "switched off"); segments are still counted. */
  enabled = true;
  private readonly kinds: ReadonlySet<number>;
  private readonly match: SegmentPredicate;

  constructor(options: OptionStripperOptions = {}) {
    this.kinds = new Set(options.kinds ?? [TcpOptionKind.MPTCP]);
    this.match = options.match ?? (() => true);
  }

  /** The link transform. The packet is copied before it is rewritten, so offer taps keep the original. */
  readonly transform: PacketTransform = (now, bytes) => {
    const located = locateTcp(bytes);
    if (located === undefined) return undefined;
    const { offset, headerLength } = located;
    const optionKinds: number[] = [];
    for (const o of walkOptions(bytes, offset, headerLength)) optionKinds.push(o.kind);
    const view = segmentView(bytes, located, this.seen++, optionKinds);
    if (!this.enabled || !optionKinds.some((k) => this.kinds.has(k)) || !this.match(view, now)) return undefined;
    const copy = bytes.slice();
    const n = stripTcpOptionsInPlace(copy, this.kinds);
    if (n === undefined || n === 0) return undefined;
    this.rewritten++;
    this.optionsStripped += n;
    return copy;
  };

  /** Puts this middlebox on both directions of a path. */
  install(path: DuplexLink): this {
    path.forward.setTransform(this.transform);
    path.backward.setTransform(this.transform);
    return this;
  }
}

/** One payload byte a `PayloadCorrupter` changed. */
export interface Corruption {
  readonly srcPort: number;
  readonly dstPort: number;
  /** TCP sequence number of the segment and the offset of the changed byte in its payload. */
  readonly seq: number;
  readonly at: number;
}

/**
 * A middlebox that rewrites payload (as an application-level gateway or a broken NAT would, the case the
 * MPTCP DSS checksum exists for: RFC 8684 3.3.1 and 3.7): in each selected segment with payload, the first
 * payload byte is inverted and the TCP checksum fixed, so only MPTCP's checksum can tell. At most `limit`
 * segments (default 1) are changed.
 */
export class PayloadCorrupter {
  seen = 0;
  readonly corrupted: Corruption[] = [];
  private readonly match: SegmentPredicate;
  private readonly limit: number;

  constructor(options: { match?: SegmentPredicate; limit?: number } = {}) {
    this.match = options.match ?? withPayload;
    this.limit = options.limit ?? 1;
  }

  readonly transform: PacketTransform = (now, bytes) => {
    const located = locateTcp(bytes);
    if (located === undefined) return undefined;
    const { offset, headerLength } = located;
    const view = segmentView(bytes, located, this.seen++, []);
    if (view.payloadLength === 0 || this.corrupted.length >= this.limit || !this.match(view, now)) return undefined;
    const copy = bytes.slice();
    const at = offset + headerLength;
    copy[at] = copy[at]! ^ 0xff;
    fixTcpChecksum(copy, located);
    const seq = ((copy[offset + 4]! << 24) | (copy[offset + 5]! << 16) | (copy[offset + 6]! << 8) | copy[offset + 7]!) >>> 0;
    this.corrupted.push({ srcPort: view.srcPort, dstPort: view.dstPort, seq, at: 0 });
    return copy;
  };
}
