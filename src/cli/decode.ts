/**
 * `mptcp decode FILE [--json] [--summary] [--filter-mptcp]`: reads a pcap/pcapng capture and prints every
 * TCP segment with each MPTCP option fully decoded (one line per frame, text or NDJSON), or with `--summary`
 * the MPTCP connections in it (./summary.ts).
 *
 * Output formats (the JSON ones are a contract: tests compare them with tshark field by field):
 *
 * - `time`: absolute capture time, epoch seconds as a STRING with 6 decimals ("1712345678.123456", the
 *   same digits as tshark's `frame.time_epoch` cut to microseconds); `relativeTime`: seconds since the
 *   first frame of the file, string with 6 decimals (tshark's default time column, `frame.time_relative`).
 * - `seq`, `ack`: raw 32-bit values as on the wire (tshark with `tcp.relative_sequence_numbers:FALSE`).
 * - `flags`: Wireshark's text ("SYN, ACK"); `tcpFlags`: the flags octet as a number (`tcp.flags`).
 * - MPTCP keys (`senderKey`, `receiverKey`): 16 lowercase hex digits, no 0x (tshark prints them in decimal:
 *   `tcp.options.mptcp.sendkey` / `recvkey`).
 * - Tokens (`senderToken`, MP_JOIN `token`) and nonces: NUMBERS, as tshark prints `mptcp.expected_token`,
 *   `tcp.options.mptcp.recvtok` and `sendrand` (decimal uint32). Text mode shows tokens in hex as the
 *   kernel's `ip mptcp monitor` does.
 * - 64-bit sequence values (`senderIdsn`, DSS `dataAck`, `dsn`, MP_FAIL `dsn`): DECIMAL STRINGS (64-bit
 *   values do not fit a JSON number), the raw value on the wire: a 32-bit DSN stays 32-bit (tshark's
 *   `tcp.options.mptcp.rawdataseqno`, `rawdataack`; `mptcp.expected_idsn`).
 * - HMACs (MP_JOIN `hmac`, ADD_ADDR `hmac`) and unknown option data: lowercase hex strings.
 * - Checksums (`checksum`): numbers (tshark prints them as 0x-hex).
 * - Frames that are not TCP over IP: `{frame, time, relativeTime, note}`.
 *
 * A bad or truncated file: the frames before the problem are printed, then one line on stderr with the file
 * offset, exit 1. Reading is streamed frame by frame; output is written in large chunks.
 */
import { readFileSync } from 'node:fs';
import { isWireError, WireError } from '../wire/errors.js';
import { CaptureReader, describeNonIpFrame, linkPayload, type CapturedPacket } from '../wire/pcap.js';
import { IpProtocol, parseIpPacket } from '../wire/ip.js';
import { parseTcpSegment, tcpFlagsToString, type TcpSegment } from '../wire/tcp.js';
import { formatAddress } from '../wire/address.js';
import { u64ToDecimal, u64ToHex } from '../wire/u64.js';
import {
  DssFlag,
  dssFlags,
  MpCapableFlag,
  mptcpOptionLength,
  mptcpSubtypeName,
  MpTcpRstFlag,
  type MptcpOption,
} from '../wire/mptcp-option.js';
import { keyTokenAndIdsn } from '../mptcp/keys.js';
import { CliError, parseCommandArgs, UsageError, type CliIo, type Command } from './command.js';
import { MptcpSummary } from './summary.js';

const USAGE = `Usage: mptcp decode FILE [--json] [--summary] [--filter-mptcp]

Decodes a pcap or pcapng capture (Ethernet, Linux cooked v1/v2, raw IP, loopback/NULL link layers): one line
per frame with addresses, ports, TCP flags, raw sequence/ack numbers, payload length and every MPTCP
option fully decoded (keys, tokens and IDSNs derived from them, DSS mappings, ADD_ADDR, ...).

Options:
  --json          NDJSON: one JSON object per frame (or per connection with --summary)
  --summary       group subflows into MPTCP connections by token (like mptcptrace) and print, per
                  connection: tokens, keys, subflows, bytes per direction, signalling options, DATA_FIN
  --filter-mptcp  only frames that carry at least one MPTCP option (frame numbers are kept)
  -h, --help      show this help

Exit status: 0 success, 1 bad or unreadable file (the message gives the file offset), 2 bad usage.
`;

/** The `decode` subcommand. */
export const decodeCommand: Command = {
  name: 'decode',
  summary: 'decode a pcap/pcapng capture: every TCP segment and MPTCP option, or a per-connection summary',
  usage: USAGE,
  run: (args, io) => runDecode(args, io),
};

/** What `mptcp decode` was asked to do. */
export interface DecodeOptions {
  readonly json: boolean;
  readonly summary: boolean;
  readonly filterMptcp: boolean;
}

/** Runs `mptcp decode` with its arguments (after "decode"); returns the exit code, throws CliError. */
export function runDecode(args: readonly string[], io: CliIo): number {
  const { values, positionals } = parseCommandArgs(args, {
    json: { type: 'boolean' },
    summary: { type: 'boolean' },
    'filter-mptcp': { type: 'boolean' },
  });
  if (positionals.length === 0) throw new UsageError('missing FILE (a pcap or pcapng capture)');
  if (positionals.length > 1) throw new UsageError(`one FILE at a time; got ${positionals.length}: ${positionals.join(' ')}`);
  const path = positionals[0]!;
  const bytes = readInput(path);
  const options: DecodeOptions = { json: values['json'] === true, summary: values['summary'] === true, filterMptcp: values['filter-mptcp'] === true };
  const error = decodeCapture(bytes, options, io.stdout);
  if (error) throw new CliError(`${path}: ${error.message}`);
  return 0;
}

function readInput(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const reasons: Record<string, string> = {
      ENOENT: 'no such file',
      EACCES: 'permission denied',
      EISDIR: 'is a directory, not a capture file',
      ENOTDIR: 'a component of the path is not a directory',
      ERR_FS_FILE_TOO_LARGE: 'file too large to read into memory',
    };
    throw new CliError(`cannot read '${path}': ${(e.code && reasons[e.code]) ?? e.message}`);
  }
}

/**
 * Decodes a whole capture to `write` (text chunks) as `options` say. Returns the WireError that stopped
 * reading a bad/truncated file (after everything before it was written), or undefined.
 */
export function decodeCapture(bytes: Uint8Array, options: DecodeOptions, write: (text: string) => void): WireError | undefined {
  const reader = CaptureReader.open(bytes);
  if (reader instanceof WireError) return reader;
  const out = new ChunkedWriter(write);
  const summary = options.summary ? new MptcpSummary() : undefined;
  let firstMicros: number | undefined;
  let error: WireError | undefined;
  for (;;) {
    const packet = reader.next();
    if (packet === undefined) break;
    if (packet instanceof WireError) {
      error = packet;
      break;
    }
    firstMicros ??= packet.timestampMicros;
    const decoded = decodeFrame(packet);
    if (summary) {
      summary.add(decoded);
      continue;
    }
    if (options.filterMptcp && (decoded.kind !== 'tcp' || decoded.mptcp.length === 0)) continue;
    out.line(options.json ? JSON.stringify(frameJson(decoded, firstMicros)) : frameText(decoded, firstMicros));
  }
  if (summary) {
    const report = summary.finish();
    if (options.json) for (const c of report.connections) out.line(JSON.stringify(c));
    else out.write(summary.text(report));
  }
  out.flush();
  return error;
}

/** Buffers output lines and hands them on in ~64 KiB chunks (one write per line is slow on big files). */
class ChunkedWriter {
  private parts: string[] = [];
  private size = 0;
  constructor(private readonly sink: (text: string) => void) {}
  line(text: string): void {
    this.write(text + '\n');
  }
  write(text: string): void {
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= 65536) this.flush();
  }
  flush(): void {
    if (this.parts.length === 0) return;
    this.sink(this.parts.join(''));
    this.parts = [];
    this.size = 0;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Decoding one frame

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

// ---------------------------------------------------------------------------------------------------------
// Times

/** Epoch microseconds as seconds with 6 decimals ("1712345678.123456"); exact, no floating point. */
export function formatSeconds(micros: number): string {
  const negative = micros < 0;
  const abs = Math.abs(micros);
  const seconds = Math.floor(abs / 1_000_000);
  const fraction = abs - seconds * 1_000_000;
  return `${negative ? '-' : ''}${seconds}.${String(fraction).padStart(6, '0')}`;
}

// ---------------------------------------------------------------------------------------------------------
// JSON

/** The RFC 8684 section 3.6 names of the MP_TCPRST reason codes (tshark uses the same words). */
export const TCPRST_REASON_NAMES: Readonly<Record<number, string>> = {
  0: 'Unspecified error',
  1: 'MPTCP-specific error',
  2: 'Lack of resources',
  3: 'Administratively prohibited',
  4: 'Too much outstanding data',
  5: 'Unacceptable performance',
  6: 'Middlebox interference',
};

function hex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += (bytes[i]! < 16 ? '0' : '') + bytes[i]!.toString(16);
  return s;
}

/**
 * The JSON object of one frame (see the file comment for the formats). Absent fields are `undefined`
 * (JSON.stringify drops them), so every object of a kind has one shape: this runs for every frame.
 */
export function frameJson(decoded: DecodedFrame, firstMicros: number): Record<string, unknown> {
  const time = formatSeconds(decoded.timestampMicros);
  const relativeTime = formatSeconds(decoded.timestampMicros - firstMicros);
  if (decoded.kind === 'note') return { frame: decoded.frame, time, relativeTime, note: decoded.note };
  const s = decoded.segment;
  const mptcp: Array<Record<string, unknown>> = [];
  for (const entry of decoded.mptcp) mptcp.push(mptcpEntryJson(entry));
  return {
    frame: decoded.frame,
    time,
    relativeTime,
    ipVersion: decoded.ipVersion,
    src: decoded.src,
    dst: decoded.dst,
    srcPort: s.srcPort,
    dstPort: s.dstPort,
    flags: tcpFlagsToString(s.flags),
    tcpFlags: s.flags,
    seq: s.seq,
    ack: s.ack,
    win: s.window,
    len: decoded.payloadLength,
    captureTruncated: decoded.captureTruncated ? true : undefined,
    mptcp,
  };
}

/** The JSON object of one MPTCP option: `subtype` (kernel name or "unknown"), `length`, then its fields. */
export function mptcpEntryJson(entry: MptcpEntry): Record<string, unknown> {
  if (entry.kind === 'malformed') {
    const subtype = entry.subtypeValue === undefined ? 'unknown' : mptcpSubtypeName(entry.subtypeValue);
    return {
      subtype: subtype.startsWith('unknown') || subtype === 'MP_EXPERIMENTAL' ? 'unknown' : subtype,
      subtypeValue: entry.subtypeValue,
      length: entry.length,
      malformed: entry.error,
    };
  }
  const o = entry.option;
  const length = entry.length;
  switch (o.subtype) {
    case 'MP_CAPABLE': {
      const out: Record<string, unknown> = { subtype: o.subtype, length, version: o.version, flags: o.flags };
      if (o.senderKey) {
        out['senderKey'] = u64ToHex(o.senderKey);
        const derived = keyTokenAndIdsn(o.senderKey);
        out['senderToken'] = derived.token;
        out['senderIdsn'] = u64ToDecimal(derived.idsn);
      }
      if (o.receiverKey) out['receiverKey'] = u64ToHex(o.receiverKey);
      if (o.dataLength !== undefined) out['dataLength'] = o.dataLength;
      if (o.checksum !== undefined) out['checksum'] = o.checksum;
      return out;
    }
    case 'MP_JOIN':
      switch (o.form) {
        case 'syn':
          return { subtype: o.subtype, length, form: o.form, backup: o.backup, addressId: o.addressId, token: o.token, nonce: o.nonce };
        case 'synack':
          return { subtype: o.subtype, length, form: o.form, backup: o.backup, addressId: o.addressId, hmac: hex(o.hmac), nonce: o.nonce };
        case 'ack':
          return { subtype: o.subtype, length, form: o.form, hmac: hex(o.hmac) };
      }
      break;
    case 'DSS': {
      const m = o.mapping;
      return {
        subtype: o.subtype,
        length,
        flags: dssFlags(o),
        dataFin: o.dataFin,
        dataAck: o.dataAck ? u64ToDecimal(o.dataAck) : undefined,
        dataAck64: o.dataAck ? o.dataAck64 : undefined,
        dsn: m ? u64ToDecimal(m.dsn) : undefined,
        dsn64: m ? m.dsn64 : undefined,
        subflowSeq: m?.subflowSeq,
        dataLength: m?.dataLength,
        checksum: m?.checksum,
        infiniteMapping: m && m.dataLength === 0 && m.subflowSeq === 0 ? true : undefined,
      };
    }
    case 'ADD_ADDR': {
      const out: Record<string, unknown> = {
        subtype: o.subtype,
        length,
        echo: o.echo,
        addressId: o.addressId,
        ipVersion: o.address.length === 16 ? 6 : 4,
        address: formatAddress(o.address),
      };
      if (o.port !== undefined) out['port'] = o.port;
      if (o.hmac) out['hmac'] = hex(o.hmac);
      return out;
    }
    case 'RM_ADDR':
      return { subtype: o.subtype, length, addressIds: [...o.addressIds] };
    case 'MP_PRIO':
      return o.addressId === undefined
        ? { subtype: o.subtype, length, backup: o.backup }
        : { subtype: o.subtype, length, backup: o.backup, addressId: o.addressId };
    case 'MP_FAIL':
      return { subtype: o.subtype, length, dsn: u64ToDecimal(o.dsn) };
    case 'MP_FASTCLOSE':
      return { subtype: o.subtype, length, receiverKey: u64ToHex(o.receiverKey) };
    case 'MP_TCPRST':
      return {
        subtype: o.subtype,
        length,
        flags: o.flags,
        transient: (o.flags & MpTcpRstFlag.T) !== 0,
        reason: o.reason,
        reasonName: TCPRST_REASON_NAMES[o.reason] ?? `Unknown (${o.reason})`,
      };
    case 'unknown':
      return { subtype: 'unknown', length, subtypeValue: o.subtypeValue, name: mptcpSubtypeName(o.subtypeValue), data: hex(o.data) };
  }
  return { subtype: 'unknown', length };
}

// ---------------------------------------------------------------------------------------------------------
// Text

function endpoint(address: string, port: number, ipVersion: 4 | 6): string {
  return ipVersion === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

function hex32(n: number): string {
  return '0x' + (n >>> 0).toString(16).padStart(8, '0');
}

/** One line for a frame, tshark-like: number, relative time, endpoints, flags, raw seq/ack, options. */
export function frameText(decoded: DecodedFrame, firstMicros: number): string {
  const head = `${String(decoded.frame).padStart(6)} ${formatSeconds(decoded.timestampMicros - firstMicros).padStart(12)}`;
  if (decoded.kind === 'note') return `${head} ${decoded.note}`;
  const s = decoded.segment;
  let line =
    `${head} ${endpoint(decoded.src, s.srcPort, decoded.ipVersion)} -> ${endpoint(decoded.dst, s.dstPort, decoded.ipVersion)}` +
    ` [${tcpFlagsToString(s.flags)}] seq=${s.seq} ack=${s.ack} win=${s.window} len=${decoded.payloadLength}`;
  if (decoded.captureTruncated) line += ' (cut by snaplen)';
  for (const entry of decoded.mptcp) line += ` | ${mptcpEntryText(entry)}`;
  return line;
}

function flagLetters(flags: number, table: ReadonlyArray<readonly [number, string]>): string {
  const names = table.filter(([bit]) => (flags & bit) !== 0).map(([, name]) => name);
  return names.join(',');
}

/** "0x81[A,H]", or "0x00" when no named flag is set. */
function flagText(flags: number, digits: number, table: ReadonlyArray<readonly [number, string]>): string {
  const letters = flagLetters(flags, table);
  return `0x${flags.toString(16).padStart(digits, '0')}${letters === '' ? '' : `[${letters}]`}`;
}

const CAPABLE_FLAGS: ReadonlyArray<readonly [number, string]> = [
  [MpCapableFlag.A, 'A'],
  [MpCapableFlag.B, 'B'],
  [MpCapableFlag.C, 'C'],
  [MpCapableFlag.H, 'H'],
];
const DSS_FLAGS: ReadonlyArray<readonly [number, string]> = [
  [DssFlag.DATA_ACK, 'A'],
  [DssFlag.DATA_ACK_64, 'a'],
  [DssFlag.MAPPING, 'M'],
  [DssFlag.DSN_64, 'm'],
  [DssFlag.DATA_FIN, 'F'],
];
const TCPRST_FLAGS: ReadonlyArray<readonly [number, string]> = [
  [MpTcpRstFlag.U, 'U'],
  [MpTcpRstFlag.V, 'V'],
  [MpTcpRstFlag.W, 'W'],
  [MpTcpRstFlag.T, 'T'],
];

/** One MPTCP option as text, e.g. "DSS [A,M] dack=1 dsn=2 ssn=1 dlen=100". */
export function mptcpEntryText(entry: MptcpEntry): string {
  if (entry.kind === 'malformed') {
    const name = entry.subtypeValue === undefined ? 'MPTCP' : mptcpSubtypeName(entry.subtypeValue);
    return `${name} malformed (length ${entry.length ?? '?'}): ${entry.error}`;
  }
  const o = entry.option;
  switch (o.subtype) {
    case 'MP_CAPABLE': {
      let t = `MP_CAPABLE v${o.version} flags=${flagText(o.flags, 2, CAPABLE_FLAGS)}`;
      if (o.senderKey) {
        const d = keyTokenAndIdsn(o.senderKey);
        t += ` sndkey=${u64ToHex(o.senderKey)} (token=${hex32(d.token)} idsn=${u64ToDecimal(d.idsn)})`;
      }
      if (o.receiverKey) t += ` rcvkey=${u64ToHex(o.receiverKey)}`;
      if (o.dataLength !== undefined) t += ` dlen=${o.dataLength}`;
      if (o.checksum !== undefined) t += ` csum=0x${o.checksum.toString(16).padStart(4, '0')}`;
      return t;
    }
    case 'MP_JOIN':
      switch (o.form) {
        case 'syn':
          return `MP_JOIN SYN id=${o.addressId} backup=${o.backup ? 1 : 0} token=${hex32(o.token)} nonce=${hex32(o.nonce)}`;
        case 'synack':
          return `MP_JOIN SYN/ACK id=${o.addressId} backup=${o.backup ? 1 : 0} hmac=${hex(o.hmac)} nonce=${hex32(o.nonce)}`;
        case 'ack':
          return `MP_JOIN ACK hmac=${hex(o.hmac)}`;
      }
      break;
    case 'DSS': {
      let t = `DSS [${flagLetters(dssFlags(o), DSS_FLAGS)}]`;
      if (o.dataAck) t += ` dack=${u64ToDecimal(o.dataAck)}`;
      const m = o.mapping;
      if (m) {
        t += ` dsn=${u64ToDecimal(m.dsn)} ssn=${m.subflowSeq} dlen=${m.dataLength}`;
        if (m.checksum !== undefined) t += ` csum=0x${m.checksum.toString(16).padStart(4, '0')}`;
        if (m.dataLength === 0 && m.subflowSeq === 0) t += ' (infinite mapping)';
      }
      if (o.dataFin) t += ' DATA_FIN';
      return t;
    }
    case 'ADD_ADDR': {
      const address = formatAddress(o.address);
      const where = o.port === undefined ? address : endpoint(address, o.port, o.address.length === 16 ? 6 : 4);
      return `ADD_ADDR${o.echo ? ' echo' : ''} id=${o.addressId} ${where}${o.hmac ? ` hmac=${hex(o.hmac)}` : ''}`;
    }
    case 'RM_ADDR':
      return `RM_ADDR ids=${o.addressIds.join(',')}`;
    case 'MP_PRIO':
      return `MP_PRIO backup=${o.backup ? 1 : 0}${o.addressId === undefined ? '' : ` id=${o.addressId}`}`;
    case 'MP_FAIL':
      return `MP_FAIL dsn=${u64ToDecimal(o.dsn)}`;
    case 'MP_FASTCLOSE':
      return `MP_FASTCLOSE rcvkey=${u64ToHex(o.receiverKey)}`;
    case 'MP_TCPRST':
      return (
        `MP_TCPRST reason=${o.reason} (${TCPRST_REASON_NAMES[o.reason] ?? 'unknown'})` +
        ` flags=${flagText(o.flags, 1, TCPRST_FLAGS)}`
      );
    case 'unknown':
      return `${mptcpSubtypeName(o.subtypeValue)} data=${hex(o.data)}`;
  }
  return 'MPTCP ?';
}
