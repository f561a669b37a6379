/**
 * Packet captures: the classic pcap format (both byte orders, micro- and nanosecond timestamps) and
 * pcapng as tshark/dumpcap write it (SHB, IDB, EPB, SPB; other blocks skipped), read; classic pcap with
 * LINKTYPE_RAW written. Link layers read: RAW (101), IPV4 (228), IPV6 (229), ETHERNET (1, with 802.1Q
 * tags), LINUX_SLL (113), LINUX_SLL2 (276), NULL/LOOP (0/108).
 *
 * Reading never throws: a bad or truncated file is a WireError whose offset is the file offset.
 */
import { WireError } from './errors.js';

/** Link-layer header types (tcpdump.org/linktypes.html). */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

/** One captured frame. */
export interface CapturedPacket {
  /** 1-based frame number, as Wireshark numbers frames. */
  readonly frame: number;
  /** Capture time in microseconds since the Unix epoch (nanosecond captures are rounded down). */
  readonly timestampMicros: number;
  readonly linkType: number;
  /** Captured bytes (view into the file). */
  readonly data: Uint8Array;
  /** Length on the wire (may exceed data.length when the capture was truncated by a snaplen). */
  readonly originalLength: number;
}

/** A whole capture read into memory. */
export interface Capture {
  readonly format: 'pcap' | 'pcapng';
  readonly packets: readonly CapturedPacket[];
}

/** Reads a pcap or pcapng file. */
export function readCapture(bytes: Uint8Array): Capture | WireError {
  void bytes;
  return new WireError('unsupported', 'not implemented yet');
}

/**
 * The IP packet inside a frame of the given link type: a view, a WireError for a bad link header, or
 * undefined when the frame carries something other than IPv4/IPv6 (ARP, ...).
 */
export function linkPayload(linkType: number, data: Uint8Array): Uint8Array | WireError | undefined {
  void linkType;
  void data;
  return new WireError('unsupported', 'not implemented yet');
}

/**
 * Writes classic pcap (microsecond timestamps, little-endian) with LINKTYPE_RAW by default. Each call hands
 * bytes to `sink` (a file stream, an array of chunks, ...).
 */
export class PcapWriter {
  constructor(
    private readonly sink: (chunk: Uint8Array) => void,
    readonly linkType: number = LinkType.RAW,
    readonly snapLength = 262144,
  ) {
    void this.sink;
  }

  /** Records one packet captured at `timestampMicros` (microseconds; any epoch). */
  writePacket(timestampMicros: number, packet: Uint8Array): void {
    void timestampMicros;
    void packet;
    throw new Error('not implemented yet');
  }
}
