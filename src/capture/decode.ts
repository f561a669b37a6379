/**
 * Capture decoding: every frame of a pcap/pcapng capture (Ethernet, Linux cooked v1/v2, raw IP, loopback/NULL
 * link layers) decoded down to TCP, with each MPTCP option parsed (`decodeFrame`), read one frame at a time
 * (`FrameReader`) or all at once (`readFrames`). Nothing here formats: ./format.ts turns frames into text and
 * JSON lines, ./summary.ts groups them into MPTCP connections.
 *
 * Captures are often taken with a small snap length (headers only) and on the sending host, where checksums
 * are left to the NIC: headers are read as they say, as tshark does, without verifying checksums, and a frame
 * cut by the snap length keeps the payload length its IP header declares. Decoding never throws: what is
 * not TCP over IP, or does not parse, becomes a `note` frame that says why.
 */
import { isWireError, WireError } from '../wire/errors.js';
import { CaptureReader, describeNonIpFrame, linkPayload, type CapturedPacket } from '../wire/pcap.js';
import { IpProtocol, parseIpPacket } from '../wire/ip.js';
import { parseTcpSegment, type TcpSegment } from '../wire/tcp.js';
import { formatAddress } from '../wire/address.js';
import { mptcpOptionLength, type MptcpOption } from '../wire/mptcp-option.js';

/** One MPTCP option of a segment: parsed, or malformed (bad length) with what we know of it. */
export type MptcpEntry =
  | { readonly kind: 'option'; readonly option: MptcpOption; readonly length: number }
  | { readonly kind: 'malformed'; readonly subtypeValue: number | undefined; readonly length: number | undefined; readonly error: string };

/** A frame decoded down to TCP, or a note saying what else it is. */
export type DecodedFrame =
  | {
      readonly kind: 'tcp';
      readonly frame: number;
      readonly timestampMicros: number;
      readonly ipVersion: 4 | 6;
      readonly src: string;
      readonly dst: string;
      readonly segment: TcpSegment;
      /** TCP payload length as the IP header declares it (a snaplen-cut capture holds fewer bytes). */
      readonly payloadLength: number;
      /** The capture holds less of the frame than was on the wire (snap length). */
      readonly captureTruncated: boolean;
      readonly mptcp: readonly MptcpEntry[];
    }
  | { readonly kind: 'note'; readonly frame: number; readonly timestampMicros: number; readonly note: string };


/** A frame that decoded to a TCP segment. */
export type TcpFrame = Extract<DecodedFrame, { readonly kind: 'tcp' }>;

/** A frame that is not TCP over IP, or did not parse: `note` says what it is. */
export type NoteFrame = Extract<DecodedFrame, { readonly kind: 'note' }>;

/** Decodes one captured frame: link layer, IP, TCP, MPTCP options. Never throws. */
export function decodeFrame(packet: CapturedPacket): DecodedFrame {
  const { frame, timestampMicros } = packet;
  const note = (text: string): DecodedFrame => ({ kind: 'note', frame, timestampMicros, note: text });
  const ipBytes = linkPayload(packet.linkType, packet.data);
  if (ipBytes === undefined) return note(describeNonIpFrame(packet.linkType, packet.data));
  if (isWireError(ipBytes)) return note(`bad link-layer header: ${ipBytes.message}`);
  const captureTruncated = packet.originalLength > packet.data.length;
  // Captures are often taken with a small snap length (headers only); checksums are often wrong on the
  // sending host (offload): read what the headers say, as tshark does, without verifying.
  let ip = parseIpPacket(ipBytes, { verifyChecksum: false });
  let declaredUpperLength: number | undefined;
  if (isWireError(ip) && ip.code === 'truncated' && captureTruncated) {
    const patched = patchIpLength(ipBytes);
    if (patched) {
      ip = parseIpPacket(patched.bytes, { verifyChecksum: false });
      if (!isWireError(ip)) declaredUpperLength = patched.declaredEnd - ip.payloadOffset;
    }
  }
  if (isWireError(ip)) return note(`${ipLabel(ipBytes)}: ${ip.message}`);
  const ipVersion = ip.header.version;
  const src = formatAddress(ip.src);
  const dst = formatAddress(ip.dst);
  if (ip.protocol !== IpProtocol.TCP) {
    return note(`IPv${ipVersion} ${protocolName(ip.protocol)} ${src} -> ${dst}, not TCP`);
  }
  const segment = parseTcpSegment(ip.payload);
  if (isWireError(segment)) {
    const why = captureTruncated ? ' (cut by the capture snap length)' : '';
    return note(`IPv${ipVersion} TCP ${src} -> ${dst}: bad TCP header${why}: ${segment.message}`);
  }
  const payloadLength = declaredUpperLength !== undefined ? Math.max(0, declaredUpperLength - segment.headerLength) : segment.payload.length;
  const mptcp: MptcpEntry[] = [];
  for (const option of segment.options) {
    if (option.kind === 'mptcp') {
      mptcp.push({ kind: 'option', option: option.option, length: mptcpOptionLength(option.option) });
    } else if (option.kind === 'malformed' && option.type === 30) {
      const d = option.data;
      mptcp.push({
        kind: 'malformed',
        subtypeValue: d.length > 2 ? d[2]! >> 4 : undefined,
        length: d.length > 1 ? d[1]! : undefined,
        error: option.error.message,
      });
    }
  }
  return { kind: 'tcp', frame, timestampMicros, ipVersion, src, dst, segment, payloadLength, captureTruncated, mptcp };
}

/**
 * A copy of a snaplen-cut IP packet whose length field says what was captured, so the headers parse;
 * `declaredEnd` is where the packet really ended (offset from the IP header).
 */
function patchIpLength(bytes: Uint8Array): { bytes: Uint8Array; declaredEnd: number } | undefined {
  const version = bytes.length > 0 ? bytes[0]! >> 4 : 0;
  if (version === 4 && bytes.length >= 20) {
    const declared = (bytes[2]! << 8) | bytes[3]!;
    if (declared <= bytes.length) return undefined;
    const copy = Uint8Array.from(bytes);
    copy[2] = bytes.length >> 8;
    copy[3] = bytes.length & 0xff;
    return { bytes: copy, declaredEnd: declared };
  }
  if (version === 6 && bytes.length >= 40) {
    const declared = 40 + ((bytes[4]! << 8) | bytes[5]!);
    if (declared <= bytes.length) return undefined;
    const copy = Uint8Array.from(bytes);
    copy[4] = (bytes.length - 40) >> 8;
    copy[5] = (bytes.length - 40) & 0xff;
    return { bytes: copy, declaredEnd: declared };
  }
  return undefined;
}

function ipLabel(bytes: Uint8Array): string {
  const version = bytes.length > 0 ? bytes[0]! >> 4 : -1;
  return version === 4 || version === 6 ? `bad IPv${version} packet` : 'bad IP packet';
}

const PROTOCOL_NAMES: Record<number, string> = { 1: 'ICMP', 2: 'IGMP', 17: 'UDP', 47: 'GRE', 50: 'ESP', 58: 'ICMPv6', 132: 'SCTP', 59: 'no-next-header' };

function protocolName(protocol: number): string {
  return PROTOCOL_NAMES[protocol] ?? `protocol ${protocol}`;
}

/** Reads a capture held in memory one decoded frame at a time (a `CaptureReader` handing out `DecodedFrame`s). */
export class FrameReader {
  private constructor(private readonly reader: CaptureReader) {}

  /** Opens a pcap or pcapng capture; the WireError when its file header is not one. */
  static open(bytes: Uint8Array): FrameReader | WireError {
    const reader = CaptureReader.open(bytes);
    return reader instanceof WireError ? reader : new FrameReader(reader);
  }

  /** The next frame, decoded; undefined at the end of the file, or the WireError that stopped reading. */
  next(): DecodedFrame | WireError | undefined {
    const packet = this.reader.next();
    if (packet === undefined || packet instanceof WireError) return packet;
    return decodeFrame(packet);
  }
}

/**
 * Every frame of a capture, decoded, in file order. A bad or truncated file gives the frames before the
 * problem and the WireError that stopped reading (`error`, with the file offset in its message).
 */
export function readFrames(bytes: Uint8Array): { readonly frames: readonly DecodedFrame[]; readonly error: WireError | undefined } {
  const reader = FrameReader.open(bytes);
  if (reader instanceof WireError) return { frames: [], error: reader };
  const frames: DecodedFrame[] = [];
  for (;;) {
    const frame = reader.next();
    if (frame === undefined) return { frames, error: undefined };
    if (frame instanceof WireError) return { frames, error: frame };
    frames.push(frame);
  }
}
