/**
 * The driver glue between a stack and a TUN device: batching, and the virtio-net offloads.
 *
 * Read first: include/uapi/linux/virtio_net.h (struct virtio_net_hdr) and include/linux/virtio_net.h
 * (virtio_net_hdr_to_skb / _from_skb: what the kernel does with each field), and Linux's tcp_gso_segment
 * (net/ipv4/tcp_offload.c: how a super-packet is cut, which header fields it copies and which it fixes).
 *
 * A `TunPort` owns the reading and writing of one `TunDevice` for a stack:
 * - Receive: the device's batches are handed on (`onPackets`) as IP packets. On an offload device each
 *   packet first loses its vnet header; a TCP super-packet (gso_type TCPV4/TCPV6, up to 64 KB: what the
 *   kernel's TSO built) is handed on WHOLE, as one segment: TCP receives any in-window segment, whatever
 *   its length, and one segment per 64 KB is the point. A partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM:
 *   the kernel left it to "the hardware") is completed here only when the host verifies checksums.
 * - Send: `send` queues; the queue is written in one call into the addon (`TunDevice.writev`) at the end of
 *   the current turn (a microtask), or when `batchLimit` packets are queued. On an offload device,
 *   consecutive TCP segments of one flow whose headers agree (every field tcp_gso_segment copies: addresses,
 *   ports, ACK, window, options such as timestamps and the DSS option) and whose sequence numbers follow on
 *   are written as ONE super-packet: the first segment's header (lengths, flags of the last segment, IPv4
 *   header checksum fixed in place) and the payloads of all of them gathered by the addon (one iovec each,
 *   no copy), with gso_type/gso_size so that the kernel can cut it again where it must (forwarding) and
 *   takes it whole where it need not (local delivery). TCP checksums are left to the kernel
 *   (NEEDS_CSUM, csum_start at the TCP header, csum_offset 16, the field holding the pseudo-header sum
 *   over the whole super-packet, as Linux's own TSO path leaves it), so a host with `checksumOffload`
 *   never computes one.
 * - A plain device (offload refused, or forced off) gets one packet per iovec and no header; a host with
 *   `checksumOffload` on it gets its TCP checksums computed here, since nobody else would.
 *
 * The port never changes what the stack sent or receives other than by these header rewrites; a packet it
 * does not understand (not TCP, IPv6 extension headers, too short) goes out alone and unchanged.
 */
import { onesSum, finishChecksum, foldSum } from '../wire/checksum.js';
import { DssFlag, MPTCP_OPTION_KIND as MPTCP_KIND, MptcpSubtypeCode } from '../wire/mptcp-option.js';
import type { TunDevice } from './tun.js';

/** sizeof(struct virtio_net_hdr): flags, gso_type, hdr_len, gso_size, csum_start, csum_offset. */
export const VNET_HDR_SIZE = 10;
/** virtio_net_hdr.flags: the checksum at csum_start + csum_offset is partial (the pseudo-header sum). */
export const VNET_F_NEEDS_CSUM = 1;
/** virtio_net_hdr.flags: the kernel verified the checksum. */
export const VNET_F_DATA_VALID = 2;
/** virtio_net_hdr.gso_type values. */
export const VnetGso = { NONE: 0, TCPV4: 1, TCPV6: 4 } as const;

/** Largest IPv4 total length (and IPv6 payload length): a super-packet stays below it. */
const MAX_IP_LENGTH = 65_535;
/** Most segments gathered into one super-packet (the addon's iovec limit is 256 parts). */
const MAX_SEGMENTS = 64;
const TCP_ACK = 0x10;
const TCP_PSH = 0x08;
const TCP_FIN = 0x01;
const PROTOCOL_TCP = 6;
const DSS_SUBTYPE = MptcpSubtypeCode.DSS;

/**
 * Whether TUN devices are opened with offload by the stack's own glue (mptcp perf's TUN interfaces,
 * `stack.addTunInterface`, the kernel tests and benchmarks): yes unless the environment says
 * MPTCP_TS_TUN_OFFLOAD=0 (the plain mode: one packet per read and write, checksums in JavaScript).
 */
export function tunOffloadRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  return env['MPTCP_TS_TUN_OFFLOAD'] !== '0';
}

/** Options for `TunPort`. */
export interface TunPortOptions {
  /** Whether the host fills in TCP checksums on output (false: a host with `checksumOffload`). */
  readonly hostComputesChecksums: boolean;
  /** Whether the host verifies TCP checksums on input. */
  readonly hostVerifiesChecksums: boolean;
  /** Packets queued before a write without waiting for the end of the turn; default 512. */
  readonly batchLimit?: number;
  /** Coalesce consecutive segments into super-packets (offload devices only); default true. */
  readonly coalesce?: boolean;
}

/** What a port did, for diagnostics and the benchmarks. */
export interface TunPortCounters {
  /** Packets read, and how many of them were super-packets (gso_type not NONE). */
  packetsIn: number;
  superPacketsIn: number;
  /** Segments the stack sent, and the packets written for them (fewer when coalesced). */
  segmentsOut: number;
  packetsOut: number;
  /** Calls into the addon's writev. */
  writeCalls: number;
  /** Packets dropped because the device queue was full. */
  dropped: number;
  /** Checksums computed here in JavaScript (a host/device combination that needs it). */
  checksumsComputed: number;
}

/** Where a TCP packet's headers are: offsets into it, or undefined when it is not a TCP packet we handle. */
interface TcpLayout {
  /** 4 or 6. */
  readonly version: number;
  /** IP header length (the TCP header's offset). */
  readonly ipLength: number;
  /** IP header + TCP header length (the payload's offset). */
  readonly headerLength: number;
}

/** The IP version, IP header length and TCP header end of a TCP packet, or undefined. */
export function tcpLayout(p: Uint8Array): TcpLayout | undefined {
  if (p.length < 20) return undefined;
  const version = p[0]! >> 4;
  let ipLength: number;
  if (version === 4) {
    ipLength = (p[0]! & 15) * 4;
    // Fragments are never coalesced or checksummed here (more-fragments or an offset).
    if (ipLength < 20 || p[9] !== PROTOCOL_TCP || (((p[6]! & 0x3f) << 8) | p[7]!) !== 0) return undefined;
    if (((p[2]! << 8) | p[3]!) !== p.length) return undefined;
  } else if (version === 6) {
    ipLength = 40;
    if (p.length < 40 || p[6] !== PROTOCOL_TCP || ((p[4]! << 8) | p[5]!) !== p.length - 40) return undefined;
  } else {
    return undefined;
  }
  if (p.length < ipLength + 20) return undefined;
  const headerLength = ipLength + (p[ipLength + 12]! >> 4) * 4;
  if (headerLength < ipLength + 20 || headerLength > p.length) return undefined;
  return { version, ipLength, headerLength };
}

/** The unfolded sum of the TCP pseudo-header for `tcpLength` bytes of TCP (RFC 9293 3.1, RFC 8200 8.1). */
function pseudoSum(p: Uint8Array, layout: TcpLayout, tcpLength: number): number {
  return layout.version === 4
    ? onesSum(p, 12, 20, PROTOCOL_TCP + tcpLength)
    : onesSum(p, 8, 40, PROTOCOL_TCP + Math.floor(tcpLength / 0x10000) + (tcpLength & 0xffff));
}

function setU16(p: Uint8Array, at: number, value: number): void {
  p[at] = value >>> 8;
  p[at + 1] = value & 0xff;
}

/** Computes the full TCP checksum of packet `p` in place. */
export function fillTcpChecksum(p: Uint8Array, layout: TcpLayout): void {
  const tcp = layout.ipLength;
  setU16(p, tcp + 16, 0);
  setU16(p, tcp + 16, finishChecksum(onesSum(p, tcp, p.length, pseudoSum(p, layout, p.length - tcp))));
}

/**
 * A copy of `p` with its TCP checksum computed (for captures of a host that leaves checksums to the TUN
 * offload: a capture should show what the wire would carry), or `p` itself when it is not TCP.
 */
export function withTcpChecksum(p: Uint8Array): Uint8Array {
  const layout = tcpLayout(p);
  if (!layout) return p;
  const copy = Uint8Array.from(p);
  fillTcpChecksum(copy, layout);
  return copy;
}

/** Sets the IPv4 header's total length and recomputes its checksum (IPv6: the payload length). */
function setIpLength(p: Uint8Array, layout: TcpLayout, total: number): void {
  if (layout.version === 6) {
    setU16(p, 4, total - 40);
    return;
  }
  setU16(p, 2, total);
  setU16(p, 10, 0);
  setU16(p, 10, finishChecksum(onesSum(p, 0, layout.ipLength)));
}

/** `dssMapping`: the header has no DSS mapping. */
const NO_MAPPING = -1;
/** `dssMapping`: a DSS mapping that cannot be merged (DSS checksum, DATA_FIN, a malformed option). */
const UNMERGEABLE = -2;

/**
 * Where the DSS mapping (RFC 8684 3.3) of a TCP header is: `2 * offset + (8-byte DSN ? 1 : 0)`, the offset
 * being the DSN's in the packet (the subflow sequence number and the data-level length follow it);
 * NO_MAPPING when there is none, UNMERGEABLE when it has a DSS checksum (which covers the mapped data) or
 * a DATA_FIN. Our stack maps every segment's payload on its own, and a run of contiguous mappings (each
 * DSN and subflow sequence number where the previous one ended) is one mapping of their sum: that is what
 * the super-packet carries (Linux's own TSO copies one mapping to every segment it cuts, the same way).
 */
function dssMapping(p: Uint8Array, tcp: number, headerLength: number): number {
  let o = tcp + 20;
  while (o < headerLength) {
    const kind = p[o]!;
    if (kind === 0) break;
    if (kind === 1) {
      o++;
      continue;
    }
    const length = o + 1 < headerLength ? p[o + 1]! : 0;
    if (length < 2 || o + length > headerLength) return UNMERGEABLE;
    if (kind === MPTCP_KIND && length >= 4 && p[o + 2]! >> 4 === DSS_SUBTYPE) {
      const flags = p[o + 3]!;
      if (!(flags & DssFlag.MAPPING)) return NO_MAPPING;
      if (flags & DssFlag.DATA_FIN) return UNMERGEABLE;
      const ack = flags & DssFlag.DATA_ACK ? (flags & DssFlag.DATA_ACK_64 ? 8 : 4) : 0;
      const wide = (flags & DssFlag.DSN_64) !== 0;
      if (length !== 4 + ack + (wide ? 8 : 4) + 6) return UNMERGEABLE; // with a checksum, or malformed
      return 2 * (o + 4 + ack) + (wide ? 1 : 0);
    }
    o += length;
  }
  return NO_MAPPING;
}

function u32(p: Uint8Array, at: number): number {
  return ((p[at]! << 24) | (p[at + 1]! << 16) | (p[at + 2]! << 8) | p[at + 3]!) >>> 0;
}

/**
 * Whether mapping `map` of `p` continues `first`'s after `offset` bytes: DSN and subflow sequence number
 * `offset` further, the data-level length `payload` (the segment's own payload).
 */
function mappingContinues(first: Uint8Array, p: Uint8Array, map: number, offset: number, payload: number): boolean {
  let at = map >> 1;
  if (map & 1) {
    const low = u32(first, at + 4) + offset;
    if (u32(p, at) !== ((u32(first, at) + (low > 0xffffffff ? 1 : 0)) >>> 0) || u32(p, at + 4) !== low >>> 0) return false;
    at += 8;
  } else {
    if (u32(p, at) !== ((u32(first, at) + offset) >>> 0)) return false;
    at += 4;
  }
  return u32(p, at) === ((u32(first, at) + offset) >>> 0) && ((p[at + 4]! << 8) | p[at + 5]!) === payload;
}

/** The offset of mapping `map`'s data-level length field. */
function mappingLengthAt(map: number): number {
  return (map >> 1) + (map & 1 ? 8 : 4) + 4;
}

/**
 * Whether `p`'s headers match `first`'s in every field the kernel's segmentation copies from the first
 * segment to the others: the IP header except its length, ID and checksum, and the TCP header except the
 * sequence number, the flags and the checksum (and the caller checks the sequence numbers and the flags),
 * and except the DSS mapping's fields at [skipFrom, skipTo) (the caller checks that they continue).
 */
function sameHeaders(first: Uint8Array, p: Uint8Array, layout: TcpLayout, skipFrom: number, skipTo: number): boolean {
  const { ipLength, headerLength } = layout;
  if (layout.version === 4) {
    if (first[0] !== p[0] || first[1] !== p[1] || first[6] !== p[6] || first[7] !== p[7] || first[8] !== p[8] || first[9] !== p[9]) return false;
    for (let i = 12; i < ipLength; i++) if (first[i] !== p[i]) return false;
  } else {
    for (let i = 0; i < 4; i++) if (first[i] !== p[i]) return false;
    for (let i = 6; i < 40; i++) if (first[i] !== p[i]) return false;
  }
  for (let i = ipLength; i < ipLength + 4; i++) if (first[i] !== p[i]) return false; // ports
  for (let i = ipLength + 8; i < ipLength + 13; i++) if (first[i] !== p[i]) return false; // ACK number, data offset
  for (let i = ipLength + 14; i < ipLength + 16; i++) if (first[i] !== p[i]) return false; // window
  for (let i = ipLength + 18; i < skipFrom; i++) if (first[i] !== p[i]) return false; // urgent pointer, options
  for (let i = skipTo; i < headerLength; i++) if (first[i] !== p[i]) return false;
  return true;
}

function seqOf(p: Uint8Array, tcp: number): number {
  return u32(p, tcp + 4);
}

/**
 * Reads and writes one TUN device for a stack (see the module comment). Set `onPackets` to receive; call
 * `send` for each packet of the stack's output (it never throws for a full queue: the packet is dropped
 * and counted, as a NIC's full ring drops).
 */
export class TunPort {
  /** IP packets read from the device (super-packets whole), one batch per device read. */
  onPackets: ((packets: Uint8Array[]) => void) | undefined;
  readonly counters: TunPortCounters = { packetsIn: 0, superPacketsIn: 0, segmentsOut: 0, packetsOut: 0, writeCalls: 0, dropped: 0, checksumsComputed: 0 };

  readonly #device: TunDevice;
  readonly #offload: boolean;
  readonly #coalesce: boolean;
  readonly #computes: boolean;
  readonly #verifies: boolean;
  readonly #batchLimit: number;
  /** Queued packets of this turn. */
  #queue: Uint8Array[] = [];
  #flushScheduled = false;
  // Reused per write: the parts of every packet, their counts, and the vnet headers.
  #parts: Uint8Array[] = [];
  #counts: Uint32Array;
  #headers: Uint8Array;
  readonly #flush = (): void => {
    this.#flushScheduled = false;
    this.flush();
  };

  constructor(device: TunDevice, options: TunPortOptions) {
    this.#device = device;
    this.#offload = device.offload;
    this.#coalesce = options.coalesce ?? true;
    this.#computes = options.hostComputesChecksums;
    this.#verifies = options.hostVerifiesChecksums;
    this.#batchLimit = Math.max(1, options.batchLimit ?? 512);
    this.#counts = new Uint32Array(this.#batchLimit);
    this.#headers = new Uint8Array(this.#batchLimit * VNET_HDR_SIZE);
    device.onPackets = (packets) => this.#receive(packets);
  }

  /** The device this port reads and writes. */
  get device(): TunDevice {
    return this.#device;
  }

  /** Whether the device runs with the vnet header and offloads. */
  get offload(): boolean {
    return this.#offload;
  }

  /** Queues one IP packet of the stack's output; it is written at the end of the turn. */
  send(bytes: Uint8Array): boolean {
    if (this.#device.closed) return false;
    this.counters.segmentsOut++;
    this.#queue.push(bytes);
    if (this.#queue.length >= this.#batchLimit) this.flush();
    else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(this.#flush);
    }
    return true;
  }

  /** Writes everything queued now (the end of the turn does it by itself). */
  flush(): void {
    const queue = this.#queue;
    if (queue.length === 0 || this.#device.closed) {
      queue.length = 0;
      return;
    }
    this.#queue = [];
    const packets = this.#offload ? this.#buildOffload(queue) : this.#buildPlain(queue);
    this.counters.writeCalls++;
    let written: number;
    try {
      written = this.#device.writev(this.#parts, this.#counts, packets, this.#offload ? this.#headers : null);
    } catch {
      written = 0; // the device went away: everything is lost, as on an unplugged link
    }
    this.counters.packetsOut += written;
    this.counters.dropped += packets - written;
    this.#parts.length = 0;
  }

  #buildPlain(queue: readonly Uint8Array[]): number {
    const parts = this.#parts;
    for (let i = 0; i < queue.length; i++) {
      const p = queue[i]!;
      if (!this.#computes) {
        const layout = tcpLayout(p);
        if (layout) {
          fillTcpChecksum(p, layout);
          this.counters.checksumsComputed++;
        }
      }
      parts.push(p);
      this.#counts[i] = 1;
    }
    return queue.length;
  }

  /** Fills parts, counts and headers for `queue` on an offload device; returns the packet count. */
  #buildOffload(queue: readonly Uint8Array[]): number {
    const parts = this.#parts;
    const counts = this.#counts;
    let packets = 0;
    let i = 0;
    while (i < queue.length) {
      const first = queue[i++]!;
      const layout = tcpLayout(first);
      const h = packets * VNET_HDR_SIZE;
      parts.push(first);
      if (!layout) {
        this.#writeHeader(h, 0, VnetGso.NONE, 0, 0, 0);
        counts[packets++] = 1;
        continue;
      }
      const { ipLength, headerLength } = layout;
      const gsoSize = first.length - headerLength;
      let flags = first[ipLength + 13]!;
      let total = first.length;
      let segments = 1;
      const map = this.#coalesce && gsoSize > 0 && (flags & ~TCP_PSH) === TCP_ACK ? dssMapping(first, ipLength, headerLength) : UNMERGEABLE;
      const skipFrom = map >= 0 ? map >> 1 : headerLength;
      const skipTo = map >= 0 ? mappingLengthAt(map) + 2 : headerLength;
      if (map !== UNMERGEABLE && (map < 0 || ((first[skipTo - 2]! << 8) | first[skipTo - 1]!) === gsoSize)) {
        let nextSeq = (seqOf(first, ipLength) + gsoSize) >>> 0;
        while (i < queue.length && segments < MAX_SEGMENTS) {
          const p = queue[i]!;
          const payload = p.length - headerLength;
          const f = p[ipLength + 13]!;
          if (
            payload <= 0 ||
            payload > gsoSize ||
            total + payload > MAX_IP_LENGTH ||
            (f & ~(TCP_PSH | TCP_FIN)) !== TCP_ACK ||
            seqOf(p, ipLength) !== nextSeq ||
            tcpLayout(p)?.headerLength !== headerLength ||
            !sameHeaders(first, p, layout, skipFrom, skipTo) ||
            (map >= 0 && (dssMapping(p, ipLength, headerLength) !== map || !mappingContinues(first, p, map, total - headerLength, payload)))
          ) {
            break;
          }
          parts.push(p.subarray(headerLength));
          total += payload;
          nextSeq = (nextSeq + payload) >>> 0;
          segments++;
          i++;
          // PSH (our stack sets it on every segment of a write) or FIN: the super-packet carries them, and
          // the kernel gives them to its last segment only if it cuts it (tcp_gso_segment); PSH is advisory.
          flags |= f;
          if (f & TCP_FIN || payload < gsoSize) break;
        }
      }
      if (segments > 1) {
        setIpLength(first, layout, total);
        first[ipLength + 13] = flags;
        if (map >= 0) setU16(first, skipTo - 2, total - headerLength);
      }
      // The partial checksum: the pseudo-header sum over the whole TCP length, not complemented.
      setU16(first, ipLength + 16, foldSum(pseudoSum(first, layout, total - ipLength)));
      const gsoType = segments > 1 ? (layout.version === 4 ? VnetGso.TCPV4 : VnetGso.TCPV6) : VnetGso.NONE;
      this.#writeHeader(h, VNET_F_NEEDS_CSUM, gsoType, headerLength, segments > 1 ? gsoSize : 0, ipLength);
      counts[packets++] = segments;
    }
    return packets;
  }

  #writeHeader(at: number, flags: number, gsoType: number, hdrLen: number, gsoSize: number, csumStart: number): void {
    // The legacy header is in the host's byte order (little-endian here: x86, arm64), as tun expects without TUNSETVNETBE.
    const b = this.#headers;
    b[at] = flags;
    b[at + 1] = gsoType;
    b[at + 2] = hdrLen & 0xff;
    b[at + 3] = hdrLen >>> 8;
    b[at + 4] = gsoSize & 0xff;
    b[at + 5] = gsoSize >>> 8;
    b[at + 6] = csumStart & 0xff;
    b[at + 7] = csumStart >>> 8;
    const csumOffset = flags & VNET_F_NEEDS_CSUM ? 16 : 0;
    b[at + 8] = csumOffset;
    b[at + 9] = 0;
  }

  #receive(buffers: Buffer[]): void {
    this.counters.packetsIn += buffers.length;
    if (!this.#offload) {
      this.onPackets?.(buffers);
      return;
    }
    const packets: Uint8Array[] = [];
    for (const b of buffers) {
      if (b.length <= VNET_HDR_SIZE) continue;
      const p = b.subarray(VNET_HDR_SIZE);
      if (b[1] !== VnetGso.NONE) this.counters.superPacketsIn++;
      if (this.#verifies && b[0]! & VNET_F_NEEDS_CSUM) this.#completeChecksum(p, b[6]! | (b[7]! << 8), b[8]! | (b[9]! << 8));
      packets.push(p);
    }
    if (packets.length > 0) this.onPackets?.(packets);
  }

  /** Completes a partial checksum (the field holds the pseudo-header sum) so that a verifying host accepts it. */
  #completeChecksum(p: Uint8Array, start: number, offset: number): void {
    const at = start + offset;
    if (at + 2 > p.length) return; // nonsense from the kernel would be; the host's verification drops it
    const partial = (p[at]! << 8) | p[at + 1]!;
    setU16(p, at, 0);
    setU16(p, at, finishChecksum(onesSum(p, start, p.length, partial)));
    this.counters.checksumsComputed++;
  }
}
