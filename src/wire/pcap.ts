/**
 * Packet captures: the classic pcap format (both byte orders, micro- and nanosecond timestamps, and the
 * "modified" Kuznetzov variant) and pcapng as tshark/dumpcap write it (SHB in either byte order, IDB with
 * `if_tsresol`/`if_tsoffset`, EPB, SPB, OPB; every other block skipped; several sections and interfaces),
 * read; classic pcap written. Link layers read: RAW (101, and the DLT values 12/14 some writers use),
 * IPV4 (228), IPV6 (229), ETHERNET (1, with 802.1Q / 802.1ad tags), LINUX_SLL (113), LINUX_SLL2 (276),
 * NULL/LOOP (0/108).
 *
 * Heads up: read the pcap and pcapng drafts (draft-ietf-opsawg-pcap, draft-ietf-opsawg-pcapng: sections
 * 4.1 SHB, 4.2 IDB and its options, 4.3 EPB, 4.4 SPB) and tcpdump.org/linktypes.html before changing this
 * file.
 *
 * Reading never throws: a bad or truncated file is a WireError whose `offset` is the FILE offset at which
 * the problem was found, and whose message names that offset too (so it reads well on its own).
 * `CaptureReader` yields packets one at a time so a decoder can stream; `readCapture` collects them.
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

/** EtherTypes the link layers can carry. */
const EtherType = {
  IPV4: 0x0800,
  IPV6: 0x86dd,
  VLAN: 0x8100, // 802.1Q
  QINQ: 0x88a8, // 802.1ad service tag
  QINQ_OLD: 0x9100, // pre-standard Q-in-Q
} as const;

/** One captured frame. */
export interface CapturedPacket {
  /** 1-based frame number, as Wireshark numbers frames. */
  readonly frame: number;
  /**
   * Capture time in microseconds since the Unix epoch (nanosecond captures are rounded down; a pcapng
   * Simple Packet Block, which has no timestamp, reads as 0).
   */
  readonly timestampMicros: number;
  readonly linkType: number;
  /** Captured bytes (view into the file). */
  readonly data: Uint8Array;
  /** Length on the wire (may exceed data.length when the capture was truncated by a snaplen). */
  readonly originalLength: number;
  /** pcapng interface id (index into the section's IDBs); 0 for classic pcap. */
  readonly interfaceId?: number;
}

/** A whole capture read into memory. */
export interface Capture {
  readonly format: 'pcap' | 'pcapng';
  readonly packets: readonly CapturedPacket[];
}

/** Classic pcap magic numbers, as read big-endian from the first four bytes. */
const PcapMagic = {
  MICRO: 0xa1b2c3d4,
  NANO: 0xa1b23c4d,
  /** Alexey Kuznetzov's patched libpcap: 8 more bytes per record header (ifindex, protocol, pkt_type). */
  MODIFIED: 0xa1b2cd34,
} as const;

/** pcapng block types. */
const BlockType = {
  SHB: 0x0a0d0d0a,
  IDB: 0x00000001,
  OPB: 0x00000002,
  SPB: 0x00000003,
  EPB: 0x00000006,
} as const;

const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** pcapng IDB option codes. */
const IdbOption = { END: 0, TSRESOL: 9, TSOFFSET: 14 } as const;

const PCAP_GLOBAL_HEADER_LENGTH = 24;
const PCAP_RECORD_HEADER_LENGTH = 16;

/** How to turn an interface's raw 64-bit timestamps into microseconds. */
interface PcapngInterface {
  readonly linkType: number;
  /** Timestamp units per second (10^n or 2^n). */
  readonly unitsPerSecond: number;
  /** if_tsoffset: seconds added to every timestamp. */
  readonly offsetSeconds: number;
}

/**
 * Reads packets one at a time from a capture in memory. Create with `CaptureReader.open`; call `next()`
 * until it returns undefined (end of file) or a WireError (bad or truncated file; the packets returned
 * before it are good, and every later call returns the same error).
 */
export class CaptureReader {
  private offset: number;
  private frame = 0;
  private error: WireError | undefined;
  private readonly view: DataView;
  // Classic pcap state.
  private pcapLittleEndian = true;
  private pcapNano = false;
  private pcapRecordHeaderLength = PCAP_RECORD_HEADER_LENGTH;
  private pcapLinkType = 0;
  // pcapng state: the current section's byte order and interfaces.
  private ngLittleEndian = true;
  private interfaces: PcapngInterface[] = [];

  private constructor(
    private readonly bytes: Uint8Array,
    /** Which container format the file is. */
    readonly format: 'pcap' | 'pcapng',
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.offset = 0;
  }

  /** Recognises the format and reads the file header; a WireError if the file is neither format. */
  static open(bytes: Uint8Array): CaptureReader | WireError {
    if (bytes.length === 0) return new WireError('truncated', 'empty file at offset 0: not a pcap or pcapng capture', 0);
    if (bytes.length < 4) {
      return new WireError('truncated', `truncated file header at offset 0: need 4 bytes for the magic number, ${bytes.length} remain`, 0);
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const magicBe = view.getUint32(0, false);
    if (magicBe === BlockType.SHB) {
      const reader = new CaptureReader(bytes, 'pcapng');
      // Read the first SHB now so that a file that is not pcapng at all fails at open.
      const err = reader.readShb(0);
      if (err) return err;
      return reader;
    }
    const magicLe = view.getUint32(0, true);
    let littleEndian: boolean;
    let magic: number;
    if (magicBe === PcapMagic.MICRO || magicBe === PcapMagic.NANO || magicBe === PcapMagic.MODIFIED) {
      littleEndian = false;
      magic = magicBe;
    } else if (magicLe === PcapMagic.MICRO || magicLe === PcapMagic.NANO || magicLe === PcapMagic.MODIFIED) {
      littleEndian = true;
      magic = magicLe;
    } else {
      return new WireError('malformed', `unknown file format at offset 0: magic 0x${hex32(magicBe)} is neither pcap nor pcapng`, 0);
    }
    if (bytes.length < PCAP_GLOBAL_HEADER_LENGTH) {
      return new WireError(
        'truncated',
        `truncated pcap global header at offset 0: need ${PCAP_GLOBAL_HEADER_LENGTH} bytes, ${bytes.length} remain`,
        0,
      );
    }
    const major = view.getUint16(4, littleEndian);
    if (major !== 2) {
      return new WireError('malformed', `bad pcap header at offset 4: version ${major}.${view.getUint16(6, littleEndian)}, expected 2.x`, 4);
    }
    const reader = new CaptureReader(bytes, 'pcap');
    reader.pcapLittleEndian = littleEndian;
    reader.pcapNano = magic === PcapMagic.NANO;
    reader.pcapRecordHeaderLength = magic === PcapMagic.MODIFIED ? PCAP_RECORD_HEADER_LENGTH + 8 : PCAP_RECORD_HEADER_LENGTH;
    // The low 16 bits are the link type; the high bits may carry FCS information (linktypes.html).
    reader.pcapLinkType = view.getUint32(20, littleEndian) & 0xffff;
    reader.offset = PCAP_GLOBAL_HEADER_LENGTH;
    return reader;
  }

  /** The next packet, undefined at the end of the file, or the WireError that stopped reading. */
  next(): CapturedPacket | WireError | undefined {
    if (this.error) return this.error;
    const result = this.format === 'pcap' ? this.nextPcap() : this.nextPcapng();
    if (result instanceof WireError) this.error = result;
    return result;
  }

  private nextPcap(): CapturedPacket | WireError | undefined {
    const start = this.offset;
    const remaining = this.bytes.length - start;
    if (remaining === 0) return undefined;
    const headerLength = this.pcapRecordHeaderLength;
    if (remaining < headerLength) {
      return new WireError(
        'truncated',
        `truncated packet record header at offset ${start}: need ${headerLength} bytes, ${remaining} remain`,
        start,
      );
    }
    const le = this.pcapLittleEndian;
    const seconds = this.view.getUint32(start, le);
    const fraction = this.view.getUint32(start + 4, le);
    const capturedLength = this.view.getUint32(start + 8, le);
    const originalLength = this.view.getUint32(start + 12, le);
    const dataStart = start + headerLength;
    const available = this.bytes.length - dataStart;
    if (capturedLength > available) {
      return new WireError(
        'truncated',
        `truncated packet record at offset ${start}: header says ${capturedLength} bytes, ${available} remain`,
        start,
      );
    }
    this.offset = dataStart + capturedLength;
    this.frame++;
    const micros = this.pcapNano ? Math.floor(fraction / 1000) : fraction;
    return {
      frame: this.frame,
      timestampMicros: seconds * 1_000_000 + micros,
      linkType: this.pcapLinkType,
      data: this.bytes.subarray(dataStart, dataStart + capturedLength),
      originalLength,
      interfaceId: 0,
    };
  }

  private nextPcapng(): CapturedPacket | WireError | undefined {
    for (;;) {
      const start = this.offset;
      const remaining = this.bytes.length - start;
      if (remaining === 0) return undefined;
      if (remaining < 12) {
        return new WireError('truncated', `truncated pcapng block header at offset ${start}: need 12 bytes, ${remaining} remain`, start);
      }
      // A Section Header Block's type reads the same in either byte order; it sets the order that follows.
      if (this.view.getUint32(start, false) === BlockType.SHB) {
        const err = this.readShb(start);
        if (err) return err;
        continue;
      }
      const le = this.ngLittleEndian;
      const type = this.view.getUint32(start, le);
      const total = this.view.getUint32(start + 4, le);
      const bad = this.checkBlockLength(start, type, total);
      if (bad) return bad;
      this.offset = start + total;
      const bodyStart = start + 8;
      const bodyEnd = start + total - 4;
      switch (type) {
        case BlockType.IDB: {
          const idb = this.readIdb(bodyStart, bodyEnd);
          if (idb instanceof WireError) return idb;
          this.interfaces.push(idb);
          break;
        }
        case BlockType.EPB:
          return this.readPacketBlock(false, start, bodyStart, bodyEnd);
        case BlockType.OPB:
          return this.readPacketBlock(true, start, bodyStart, bodyEnd);
        case BlockType.SPB:
          return this.readSpb(start, bodyStart, bodyEnd);
        default:
          // Name resolution, interface statistics, decryption secrets, custom blocks, ...: not needed.
          break;
      }
    }
  }

  /** Validates a block's total length against the file and the trailing copy; undefined when good. */
  private checkBlockLength(start: number, type: number, total: number): WireError | undefined {
    const remaining = this.bytes.length - start;
    if (total < 12 || total % 4 !== 0) {
      return new WireError(
        'malformed',
        `bad pcapng block at offset ${start}: block type 0x${hex32(type)} has total length ${total} (must be a multiple of 4, at least 12)`,
        start,
      );
    }
    if (total > remaining) {
      return new WireError(
        'truncated',
        `truncated pcapng block at offset ${start}: block type 0x${hex32(type)} says ${total} bytes, ${remaining} remain`,
        start,
      );
    }
    const trailer = this.view.getUint32(start + total - 4, this.ngLittleEndian);
    if (trailer !== total) {
      return new WireError(
        'malformed',
        `bad pcapng block at offset ${start}: total length ${total} at the start but ${trailer} at the end (offset ${start + total - 4})`,
        start + total - 4,
      );
    }
    return undefined;
  }

  /** Reads a Section Header Block at `start`: sets the byte order, forgets the interfaces. */
  private readShb(start: number): WireError | undefined {
    const remaining = this.bytes.length - start;
    if (remaining < 28) {
      return new WireError('truncated', `truncated pcapng section header at offset ${start}: need 28 bytes, ${remaining} remain`, start);
    }
    const bom = this.view.getUint32(start + 8, false);
    let le: boolean;
    if (bom === BYTE_ORDER_MAGIC) le = false;
    else if (this.view.getUint32(start + 8, true) === BYTE_ORDER_MAGIC) le = true;
    else {
      return new WireError('malformed', `bad pcapng section header at offset ${start + 8}: byte-order magic 0x${hex32(bom)}`, start + 8);
    }
    this.ngLittleEndian = le;
    const total = this.view.getUint32(start + 4, le);
    const bad = this.checkBlockLength(start, BlockType.SHB, total);
    if (bad) return bad;
    if (total < 28) {
      return new WireError('malformed', `bad pcapng section header at offset ${start}: total length ${total} is below 28`, start);
    }
    const major = this.view.getUint16(start + 12, le);
    if (major !== 1) {
      return new WireError('unsupported', `unsupported pcapng version at offset ${start + 12}: major version ${major}, expected 1`, start + 12);
    }
    this.interfaces = [];
    this.offset = start + total;
    return undefined;
  }

  /** Reads an Interface Description Block body: link type, snaplen, then options (if_tsresol, if_tsoffset). */
  private readIdb(bodyStart: number, bodyEnd: number): PcapngInterface | WireError {
    if (bodyEnd - bodyStart < 8) {
      return new WireError(
        'malformed',
        `bad pcapng interface description block at offset ${bodyStart - 8}: body of ${bodyEnd - bodyStart} bytes is shorter than 8`,
        bodyStart - 8,
      );
    }
    const le = this.ngLittleEndian;
    const linkType = this.view.getUint16(bodyStart, le);
    let unitsPerSecond = 1_000_000;
    let offsetSeconds = 0;
    let p = bodyStart + 8;
    // Options: code (2), length (2), value padded to 4. A malformed option list ends the list; the
    // interface is still usable with the defaults, as Wireshark treats it.
    while (p + 4 <= bodyEnd) {
      const code = this.view.getUint16(p, le);
      const length = this.view.getUint16(p + 2, le);
      if (code === IdbOption.END) break;
      const valueStart = p + 4;
      if (valueStart + length > bodyEnd) {
        return new WireError(
          'malformed',
          `bad pcapng interface option at offset ${p}: option ${code} says ${length} bytes, ${bodyEnd - valueStart} remain in the block`,
          p,
        );
      }
      if (code === IdbOption.TSRESOL && length >= 1) {
        const resolution = this.bytes[valueStart]!;
        const exponent = resolution & 0x7f;
        // High bit clear: 10^-n seconds; set: 2^-n seconds.
        unitsPerSecond = resolution & 0x80 ? 2 ** exponent : 10 ** exponent;
        if (!Number.isFinite(unitsPerSecond) || unitsPerSecond < 1) {
          return new WireError('malformed', `bad pcapng if_tsresol at offset ${valueStart}: 0x${resolution.toString(16)}`, valueStart);
        }
      } else if (code === IdbOption.TSOFFSET && length >= 8) {
        const hi = this.view.getInt32(le ? valueStart + 4 : valueStart, le);
        const lo = this.view.getUint32(le ? valueStart : valueStart + 4, le);
        offsetSeconds = hi * 0x1_0000_0000 + lo;
      }
      p = valueStart + ((length + 3) & ~3);
    }
    return { linkType, unitsPerSecond, offsetSeconds };
  }

  /** Looks up an interface id; a WireError naming `at` if the section has no such interface. */
  private interfaceAt(id: number, at: number, blockName: string): PcapngInterface | WireError {
    const itf = this.interfaces[id];
    if (!itf) {
      return new WireError(
        'malformed',
        `bad pcapng ${blockName} at offset ${at}: interface ${id} was not described (the section has ${this.interfaces.length})`,
        at,
      );
    }
    return itf;
  }

  /**
   * Enhanced Packet Block, or the obsolete Packet Block (type 2) that has the same layout but a 16-bit
   * interface id followed by a 16-bit drops count: interface id, 64-bit timestamp, captured and original
   * lengths, data.
   */
  private readPacketBlock(obsolete: boolean, start: number, bodyStart: number, bodyEnd: number): CapturedPacket | WireError {
    const blockName = obsolete ? 'packet block' : 'enhanced packet block';
    if (bodyEnd - bodyStart < 20) {
      return new WireError('malformed', `bad pcapng ${blockName} at offset ${start}: body shorter than 20 bytes`, start);
    }
    const le = this.ngLittleEndian;
    const interfaceId = obsolete ? this.view.getUint16(bodyStart, le) : this.view.getUint32(bodyStart, le);
    const itf = this.interfaceAt(interfaceId, start, blockName);
    if (itf instanceof WireError) return itf;
    const tsHigh = this.view.getUint32(bodyStart + 4, le);
    const tsLow = this.view.getUint32(bodyStart + 8, le);
    const capturedLength = this.view.getUint32(bodyStart + 12, le);
    const originalLength = this.view.getUint32(bodyStart + 16, le);
    const dataStart = bodyStart + 20;
    if (capturedLength > bodyEnd - dataStart) {
      return new WireError(
        'malformed',
        `bad pcapng ${blockName} at offset ${start}: captured length ${capturedLength} exceeds the ${bodyEnd - dataStart} bytes the block holds`,
        start,
      );
    }
    return this.packet(itf, interfaceId, tsHigh, tsLow, dataStart, capturedLength, originalLength);
  }

  /** Simple Packet Block: original length then data, on interface 0, without a timestamp. */
  private readSpb(start: number, bodyStart: number, bodyEnd: number): CapturedPacket | WireError {
    if (bodyEnd - bodyStart < 4) {
      return new WireError('malformed', `bad pcapng simple packet block at offset ${start}: body shorter than 4 bytes`, start);
    }
    const itf = this.interfaceAt(0, start, 'simple packet block');
    if (itf instanceof WireError) return itf;
    const originalLength = this.view.getUint32(bodyStart, this.ngLittleEndian);
    const dataStart = bodyStart + 4;
    // The captured length is implicit: the smaller of the original length and what the block holds.
    const capturedLength = Math.min(originalLength, bodyEnd - dataStart);
    this.frame++;
    return {
      frame: this.frame,
      timestampMicros: 0,
      linkType: itf.linkType,
      data: this.bytes.subarray(dataStart, dataStart + capturedLength),
      originalLength,
      interfaceId: 0,
    };
  }

  private packet(
    itf: PcapngInterface,
    interfaceId: number,
    tsHigh: number,
    tsLow: number,
    dataStart: number,
    capturedLength: number,
    originalLength: number,
  ): CapturedPacket {
    this.frame++;
    return {
      frame: this.frame,
      timestampMicros: toMicros(tsHigh, tsLow, itf.unitsPerSecond) + itf.offsetSeconds * 1_000_000,
      linkType: itf.linkType,
      data: this.bytes.subarray(dataStart, dataStart + capturedLength),
      originalLength,
      interfaceId,
    };
  }
}

/** Converts a 64-bit count of 1/unitsPerSecond seconds to whole microseconds (rounded down). */
function toMicros(high: number, low: number, unitsPerSecond: number): number {
  if (unitsPerSecond === 1_000_000 && high < 0x20_0000) return high * 0x1_0000_0000 + low;
  // Nanosecond epochs are ~2^61: doubles would lose the low digits, so divide exactly in bigint
  // (unitsPerSecond is 10^n or 2^n, an integer-valued double that BigInt takes exactly enough).
  const units = (BigInt(high) << 32n) | BigInt(low);
  return Number((units * 1_000_000n) / BigInt(unitsPerSecond));
}

function hex32(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

/** Reads a pcap or pcapng file into memory; a WireError (with the file offset) for a bad or truncated file. */
export function readCapture(bytes: Uint8Array): Capture | WireError {
  const reader = CaptureReader.open(bytes);
  if (reader instanceof WireError) return reader;
  const packets: CapturedPacket[] = [];
  for (;;) {
    const p = reader.next();
    if (p === undefined) break;
    if (p instanceof WireError) return p;
    packets.push(p);
  }
  return { format: reader.format, packets };
}

/** Address families seen in the 4-byte NULL/LOOP header: AF_INET, and AF_INET6 of the BSDs and macOS. */
const AF_INET = 2;
const AF_INET6_VALUES = new Set([24, 28, 30]);

/**
 * The IP packet inside a frame of the given link type: a view, a WireError for a bad link header, or
 * undefined when the frame carries something other than IPv4/IPv6 (ARP, ...). An unknown link type is an
 * `unsupported` WireError.
 */
export function linkPayload(linkType: number, data: Uint8Array): Uint8Array | WireError | undefined {
  switch (linkType) {
    case LinkType.RAW:
    case 12: // DLT_RAW on most platforms, written by some old tools instead of LINKTYPE_RAW
    case 14: // DLT_RAW on OpenBSD
    case LinkType.IPV4:
    case LinkType.IPV6:
      return data;
    case LinkType.ETHERNET:
      return ethernetPayload(data);
    case LinkType.LINUX_SLL: {
      // packet type (2), ARPHRD (2), address length (2), address (8), protocol (2).
      if (data.length < 16) return new WireError('truncated', `Linux cooked (SLL) header needs 16 bytes, frame has ${data.length}`, 0);
      return etherTypePayload((data[14]! << 8) | data[15]!, data, 16);
    }
    case LinkType.LINUX_SLL2: {
      // protocol (2), reserved (2), interface index (4), ARPHRD (2), packet type (1), address length (1), address (8).
      if (data.length < 20) return new WireError('truncated', `Linux cooked v2 (SLL2) header needs 20 bytes, frame has ${data.length}`, 0);
      return etherTypePayload((data[0]! << 8) | data[1]!, data, 20);
    }
    case LinkType.NULL:
    case LinkType.LOOP: {
      if (data.length < 4) return new WireError('truncated', `loopback (NULL) header needs 4 bytes, frame has ${data.length}`, 0);
      // NULL is in the capturing host's byte order, LOOP in network order; the family fits in one byte,
      // so whichever end holds it tells the order.
      const be = ((data[0]! << 24) | (data[1]! << 16) | (data[2]! << 8) | data[3]!) >>> 0;
      const le = ((data[3]! << 24) | (data[2]! << 16) | (data[1]! << 8) | data[0]!) >>> 0;
      const family = be < 256 ? be : le;
      if (family === AF_INET || AF_INET6_VALUES.has(family)) return data.subarray(4);
      return undefined;
    }
    default:
      return new WireError('unsupported', `link type ${linkType} is not supported`, 0);
  }
}

/** Ethernet II: destination, source, EtherType, with any number of 802.1Q/802.1ad tags. */
function ethernetPayload(data: Uint8Array): Uint8Array | WireError | undefined {
  if (data.length < 14) return new WireError('truncated', `Ethernet header needs 14 bytes, frame has ${data.length}`, 0);
  let p = 12;
  let etherType = (data[p]! << 8) | data[p + 1]!;
  while (etherType === EtherType.VLAN || etherType === EtherType.QINQ || etherType === EtherType.QINQ_OLD) {
    p += 4;
    if (data.length < p + 2) return new WireError('truncated', `VLAN tag at offset ${p - 4} runs past the ${data.length}-byte frame`, p - 4);
    etherType = (data[p]! << 8) | data[p + 1]!;
  }
  return etherTypePayload(etherType, data, p + 2);
}

function etherTypePayload(etherType: number, data: Uint8Array, start: number): Uint8Array | undefined {
  if (etherType === EtherType.IPV4 || etherType === EtherType.IPV6) return data.subarray(start);
  return undefined;
}

/** What a frame that `linkPayload` returned undefined for carries, for a one-line note ("ARP", ...). */
export function describeNonIpFrame(linkType: number, data: Uint8Array): string {
  let etherType: number | undefined;
  if (linkType === LinkType.ETHERNET && data.length >= 14) {
    let p = 12;
    etherType = (data[p]! << 8) | data[p + 1]!;
    while ((etherType === EtherType.VLAN || etherType === EtherType.QINQ || etherType === EtherType.QINQ_OLD) && data.length >= p + 6) {
      p += 4;
      etherType = (data[p]! << 8) | data[p + 1]!;
    }
  } else if (linkType === LinkType.LINUX_SLL && data.length >= 16) {
    etherType = (data[14]! << 8) | data[15]!;
  } else if (linkType === LinkType.LINUX_SLL2 && data.length >= 20) {
    etherType = (data[0]! << 8) | data[1]!;
  } else if ((linkType === LinkType.NULL || linkType === LinkType.LOOP) && data.length >= 4) {
    const be = ((data[0]! << 24) | (data[1]! << 16) | (data[2]! << 8) | data[3]!) >>> 0;
    const le = ((data[3]! << 24) | (data[2]! << 16) | (data[1]! << 8) | data[0]!) >>> 0;
    return `not IP (address family ${be < 256 ? be : le})`;
  }
  if (etherType === undefined) return 'not IP';
  const names: Record<number, string> = { 0x0806: 'ARP', 0x8035: 'RARP', 0x88cc: 'LLDP', 0x8847: 'MPLS', 0x8864: 'PPPoE', 0x888e: 'EAPOL' };
  if (etherType < 0x0600) return 'not IP (IEEE 802.3 frame)';
  const name = names[etherType];
  return `not IP (${name ? `${name}, ` : ''}EtherType 0x${etherType.toString(16).padStart(4, '0')})`;
}

/**
 * Writes classic pcap (microsecond timestamps, little-endian) with LINKTYPE_RAW by default. The global
 * header goes to `sink` on construction, each record on `writePacket` (a file stream, an array of chunks...).
 */
export class PcapWriter {
  constructor(
    private readonly sink: (chunk: Uint8Array) => void,
    readonly linkType: number = LinkType.RAW,
    readonly snapLength = 262144,
  ) {
    const header = new Uint8Array(PCAP_GLOBAL_HEADER_LENGTH);
    const view = new DataView(header.buffer);
    view.setUint32(0, PcapMagic.MICRO, true);
    view.setUint16(4, 2, true);
    view.setUint16(6, 4, true);
    view.setInt32(8, 0, true); // thiszone
    view.setUint32(12, 0, true); // sigfigs
    view.setUint32(16, snapLength, true);
    view.setUint32(20, linkType, true);
    this.sink(header);
  }

  /**
   * Records one packet captured at `timestampMicros` (microseconds; any epoch; negative clamps to 0).
   * Bytes beyond the snap length (or beyond `capturedLength`, when given: a per-packet cut such as headers
   * only) are cut, with the original length kept in the record.
   */
  writePacket(timestampMicros: number, packet: Uint8Array, capturedLength = packet.length): void {
    const micros = Math.max(0, Math.floor(timestampMicros));
    const captured = Math.max(0, Math.min(packet.length, this.snapLength, Math.floor(capturedLength)));
    const record = new Uint8Array(PCAP_RECORD_HEADER_LENGTH + captured);
    const view = new DataView(record.buffer);
    view.setUint32(0, Math.floor(micros / 1_000_000) >>> 0, true);
    view.setUint32(4, micros % 1_000_000, true);
    view.setUint32(8, captured, true);
    view.setUint32(12, packet.length, true);
    record.set(packet.subarray(0, captured), PCAP_RECORD_HEADER_LENGTH);
    this.sink(record);
  }
}

/** A packet for `pcapBytes`: its bytes (at the link layer given) and its time in microseconds. */
export interface PacketToWrite {
  readonly timestampMicros: number;
  readonly data: Uint8Array;
}

/** A whole classic pcap file in memory (little-endian, microseconds; LINKTYPE_RAW by default). */
export function pcapBytes(packets: Iterable<PacketToWrite>, linkType: number = LinkType.RAW): Uint8Array {
  const chunks: Uint8Array[] = [];
  const writer = new PcapWriter((c) => chunks.push(c), linkType);
  for (const p of packets) writer.writePacket(p.timestampMicros, p.data);
  return concatBytes(chunks);
}

function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const c of chunks) total += c.length;
  const out = new Uint8Array(total);
  let p = 0;
  for (const c of chunks) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}
