/**
 * The text and JSON forms of decoded frames (`frameText`, `frameJson`, per option `mptcpEntryText`,
 * `mptcpEntryJson`) and the text of a connection summary (`summaryText`): what `mptcp decode` prints.
 *
 * Formats (the JSON ones are a contract: tests compare them with tshark field by field):
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
 */
import { tcpFlagsToString } from '../wire/tcp.js';
import { formatAddress } from '../wire/address.js';
import { u64ToDecimal, u64ToHex } from '../wire/u64.js';
import { DssFlag, dssFlags, MpCapableFlag, mptcpSubtypeName, MpTcpRstFlag } from '../wire/mptcp-option.js';
import { keyTokenAndIdsn } from '../mptcp/keys.js';
import type { DecodedFrame, MptcpEntry } from './decode.js';
import type { SummaryReport } from './summary.js';

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

// ---------------------------------------------------------------------------------------------------------
// Summary

/** A summary report as text (`mptcp decode --summary`): a header line, then a block per connection. */
export function summaryText(report: SummaryReport): string {
  const lines: string[] = [];
  lines.push(
    `${report.connections.length} MPTCP connection${report.connections.length === 1 ? '' : 's'} in ${report.frames} frames` +
      (report.plainTcpConnections ? `; ${report.plainTcpConnections} plain TCP connection${report.plainTcpConnections === 1 ? '' : 's'}` : '') +
      (report.unattachedSubflows ? `; ${report.unattachedSubflows} MPTCP subflow(s) without a captured handshake` : ''),
  );
  for (const c of report.connections) {
    lines.push('');
    const who = c.client && c.server ? `${c.client} -> ${c.server}` : `token ${(c.tokens ?? []).map(hexToken).join(', ')} (handshake not captured)`;
    lines.push(`MPTCP connection ${c.connection}: ${who}  frames ${c.firstFrame}-${c.lastFrame}${c.fallback ? '  FALLBACK to TCP' : ''}`);
    if (c.version !== undefined) lines.push(`  version ${c.version}, checksums ${c.checksums ? 'on' : 'off'}`);
    for (const [side, k] of [
      ['client', c.clientKey],
      ['server', c.serverKey],
    ] as const) {
      if (k) lines.push(`  ${side} key ${k.key}  token ${hexToken(k.token)} (${k.token})  idsn ${k.idsn}`);
    }
    lines.push(`  bytes client->server ${c.bytes.clientToServer}, server->client ${c.bytes.serverToClient}`);
    lines.push(`  subflows: ${c.subflows.length}`);
    c.subflows.forEach((sf, i) => {
      const ids =
        sf.initiatorAddressId !== undefined || sf.listenerAddressId !== undefined
          ? ` ids ${sf.initiatorAddressId ?? '?'}/${sf.listenerAddressId ?? '?'}`
          : '';
      const backup =
        sf.initiatorBackup !== undefined || sf.listenerBackup !== undefined
          ? ` backup ${sf.initiatorBackup ? 1 : 0}/${sf.listenerBackup ? 1 : 0}`
          : '';
      const by = sf.initiatedBy === 'server' ? ' (opened by the server)' : '';
      const state = [
        sf.established ? 'established' : 'not established',
        sf.fallback ? 'fallback' : '',
        sf.fin.fromInitiator || sf.fin.fromListener ? `FIN ${sf.fin.fromInitiator ? '>' : ''}${sf.fin.fromListener ? '<' : ''}` : '',
        sf.reset ? 'RST' : '',
        sf.prio ? `MP_PRIO backup ${sf.prio.fromInitiator === undefined ? '-' : Number(sf.prio.fromInitiator)}/${sf.prio.fromListener === undefined ? '-' : Number(sf.prio.fromListener)}` : '',
      ]
        .filter((x) => x !== '')
        .join(', ');
      lines.push(
        `    #${i + 1} ${sf.kind.padEnd(7)} ${sf.initiator} -> ${sf.listener}${by}${ids}${backup}${sf.token !== undefined ? ` token ${hexToken(sf.token)}` : ''}`,
      );
      lines.push(
        `       frames ${sf.firstFrame}-${sf.lastFrame}  packets ${sf.packets.fromInitiator}/${sf.packets.fromListener}` +
          `  bytes ${sf.bytes.fromInitiator}/${sf.bytes.fromListener} (initiator/listener)  ${state}`,
      );
    });
    const optionNames = Object.entries(c.options);
    lines.push(`  options: ${optionNames.length === 0 ? 'none besides MP_CAPABLE/MP_JOIN/DSS' : optionNames.map(([n, k]) => `${n} x${k}`).join(', ')}`);
    for (const ev of c.events) lines.push(`    frame ${ev.frame} ${ev.from}: ${ev.option} ${ev.detail}`.trimEnd());
    const total = Object.values(c.options).reduce((a, b) => a + b, 0);
    if (total > c.events.length) lines.push(`    ... ${total - c.events.length} more`);
    const fin = (side: 'client' | 'server') => {
      const f = c.dataFin[side];
      return f ? `${side} frame ${f.frame}${f.dsn !== undefined ? ` (dsn ${f.dsn})` : ''}` : `${side} none`;
    };
    lines.push(`  DATA_FIN: ${fin('client')}, ${fin('server')}`);
  }
  return lines.join('\n') + '\n';
}

function hexToken(token: number): string {
  return (token >>> 0).toString(16).padStart(8, '0');
}
