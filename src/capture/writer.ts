/**
 * The capture every command that runs our stack can write (`--pcap FILE`): classic pcap, LINKTYPE_RAW (each
 * record an IPv4 or IPv6 packet), microsecond timestamps, each packet cut at a snap length. The default
 * snap length is `headers`: the IP header (IPv6 with its extension headers), the TCP header with all its
 * options, and nothing of the payload, so a long run stays small (about 100 bytes a segment) and still holds
 * everything `mptcp decode`, `mptcp report` and Wireshark's MPTCP analysis read: the record keeps the
 * packet's original length and the IP header its declared length, so payload lengths are known.
 *
 * Sans-IO: packets come in through `writePacket(timestampMicros, bytes)` (the `PacketRecordSink` of
 * src/emu/tap.ts, so an emulator tap writes here directly), bytes go out through a sink function. The file
 * is src/io/capture-file.ts; where the packets come from is the caller's (src/api/capture.ts attaches it to
 * a runtime's interfaces or to every link of an emulated network).
 */
import { IpProtocol } from '../wire/ip.js';
import { LinkType, PcapWriter } from '../wire/pcap.js';

/** How much of each packet to keep: a byte count, or `headers` (IP and TCP headers with options). */
export type SnapLength = number | 'headers';

/** The largest snap length (libpcap's MAXIMUM_SNAPLEN). */
export const MAX_SNAPLEN = 262_144;

/** Bytes kept of a non-TCP packet in `headers` mode beyond its IP header (UDP, ICMP headers and a little more). */
const OTHER_TRANSPORT_BYTES = 64;

/** IPv6 extension headers walked to find the transport header (RFC 8200 4.1). */
const IPV6_EXTENSIONS: ReadonlySet<number> = new Set([IpProtocol.HOPOPT, IpProtocol.IPV6_ROUTE, 60 /* destination options */]);

/**
 * The length of `packet`'s IP and transport headers: IPv4 IHL, IPv6 fixed header plus extension headers,
 * then the TCP data offset (all options), or 64 bytes of anything else. Never more than the packet, never
 * throws: a packet that does not parse keeps what can be read of it (up to 128 bytes).
 */
export function headersLength(packet: Uint8Array): number {
  const n = packet.length;
  if (n === 0) return 0;
  const version = packet[0]! >> 4;
  let offset: number;
  let protocol: number;
  if (version === 4 && n >= 20) {
    offset = (packet[0]! & 0x0f) * 4;
    protocol = packet[9]!;
    // A fragment other than the first carries no transport header.
    const fragmentOffset = ((packet[6]! & 0x1f) << 8) | packet[7]!;
    if (fragmentOffset !== 0) return Math.min(n, offset);
  } else if (version === 6 && n >= 40) {
    offset = 40;
    protocol = packet[6]!;
    for (let hops = 0; hops < 8 && IPV6_EXTENSIONS.has(protocol) && offset + 2 <= n; hops++) {
      protocol = packet[offset]!;
      offset += (packet[offset + 1]! + 1) * 8;
    }
    if (protocol === IpProtocol.IPV6_FRAG && offset + 8 <= n) {
      const fragmentOffset = ((packet[offset + 2]! << 8) | packet[offset + 3]!) >> 3;
      protocol = packet[offset]!;
      offset += 8;
      if (fragmentOffset !== 0) return Math.min(n, offset);
    }
  } else {
    return Math.min(n, 128);
  }
  if (offset > n) return n;
  if (protocol === IpProtocol.TCP && offset + 13 <= n) return Math.min(n, offset + (packet[offset + 12]! >> 4) * 4);
  return Math.min(n, offset + OTHER_TRANSPORT_BYTES);
}

/** Options of a `CaptureWriter`. */
export interface CaptureWriterOptions {
  /** Bytes kept of each packet (1 to 262144), or `headers` (the default). */
  readonly snapLength?: SnapLength;
}

/** A snap length given by a user: `headers`, or a whole number of bytes 1-262144; undefined if it is neither. */
export function parseSnapLength(text: string): SnapLength | undefined {
  if (text === 'headers') return 'headers';
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > MAX_SNAPLEN) return undefined;
  return Number(text);
}

/**
 * Writes packets as a LINKTYPE_RAW pcap to `sink` (the global header at construction, one record per
 * `writePacket`). Counts what it wrote.
 */
export class CaptureWriter {
  private readonly pcap: PcapWriter;
  private readonly headersOnly: boolean;
  /** Packets written. */
  packets = 0;
  /** Bytes handed to the sink, file header included. */
  bytes = 0;

  constructor(sink: (chunk: Uint8Array) => void, options: CaptureWriterOptions = {}) {
    const snap = options.snapLength ?? 'headers';
    this.headersOnly = snap === 'headers';
    const counted = (chunk: Uint8Array): void => {
      this.bytes += chunk.length;
      sink(chunk);
    };
    // The header's snap length is the largest record: a headers-only record is at most 60 + 60 bytes of IPv4
    // and TCP header, or an IPv6 header with its extensions; say the maximum, as tcpdump -s 0 does.
    this.pcap = new PcapWriter(counted, LinkType.RAW, snap === 'headers' ? MAX_SNAPLEN : snap);
  }

  /** Records one IP packet seen at `timestampMicros` (microseconds since the Unix epoch, or virtual time). */
  writePacket(timestampMicros: number, packet: Uint8Array): void {
    this.packets++;
    this.pcap.writePacket(timestampMicros, packet, this.headersOnly ? headersLength(packet) : packet.length);
  }
}
