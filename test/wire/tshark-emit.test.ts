/**
 * ACCEPTANCE: every MPTCP option variant our emitters write is decoded by tshark (Wireshark's dissector)
 * without a malformed packet or an MPTCP expert warning/error, with the same options and subtypes, and with
 * the field values we emitted (keys, tokens, nonces, HMACs, DSNs, addresses, ports, flags, reasons).
 *
 * The capture holds one coherent IPv4 connection and one IPv6 connection (MP_CAPABLE handshake with real
 * keys, then a join subflow with the right token), so tshark's MPTCP analysis runs too. Skipped, with the
 * reason, where tshark is not installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emitIpHeader, ipHeaderLength, IpProtocol } from '../../src/wire/ip.js';
import { emitTcpSegment, TcpFlags, tcpHeaderLength, type TcpOption } from '../../src/wire/tcp.js';
import { dssFlags, MpCapableFlag, mptcpOptionLength, MptcpSubtypeCode, MpTcpRstFlag, type MptcpOption } from '../../src/wire/mptcp-option.js';
import { pcapBytes } from '../../src/wire/pcap.js';
import { formatAddress, parseAddress } from '../../src/wire/address.js';
import { u64, u64FromBigInt, u64ToDecimal, type U64 } from '../../src/wire/u64.js';
import { addAddrHmac, joinHmac, keyToken } from '../../src/mptcp/keys.js';
import { haveTshark, TSHARK_SKIP_REASON } from '../support/kernel-fixtures.js';

const { SYN, ACK, RST, FIN, PSH } = TcpFlags;

/** One TCP/IP packet with the given MPTCP options (and a timestamp option, as Linux sends). */
interface Seg {
  readonly from: 'client' | 'server';
  readonly flags: number;
  readonly seq: number;
  readonly ack: number;
  readonly mptcp: readonly MptcpOption[];
  readonly payload?: number;
  /** Use the second (join) subflow's ports/addresses. */
  readonly join?: boolean;
}

function packet(src: Uint8Array, dst: Uint8Array, srcPort: number, dstPort: number, s: Seg): Uint8Array {
  const options: TcpOption[] = s.mptcp.map((option) => ({ kind: 'mptcp', option }));
  const payload = new Uint8Array(s.payload ?? 0).fill(0x61);
  const tcpLength = tcpHeaderLength(options) + payload.length;
  const ipLength = ipHeaderLength(src);
  const buf = new Uint8Array(ipLength + tcpLength);
  emitIpHeader({ src, dst, protocol: IpProtocol.TCP, payloadLength: tcpLength }, buf, 0);
  emitTcpSegment({ srcPort, dstPort, seq: s.seq, ack: s.ack, flags: s.flags, window: 512, options, payload }, src, dst, buf, ipLength);
  return buf;
}

/** Keys per connection (tshark's analysis finds connections by key, so the two must differ). */
const KEYS = {
  v4: { client: u64(0x0123_4567, 0x89ab_cdef), server: u64(0xfedc_ba98, 0x7654_3210) },
  v6: { client: u64(0x1357_9bdf, 0x0246_8ace), server: u64(0x8000_0000, 0x0000_0001) },
};
const NONCE_CLIENT = 0x1122_3344;
const NONCE_SERVER = 0x5566_7788;
const H = MpCapableFlag.H;
const big = (x: bigint) => u64FromBigInt(x);

/** The segments of one connection: every option variant, each in a packet where it plausibly appears. */
function segments(keys: { client: U64; server: U64 }): Seg[] {
  const KEY_CLIENT = keys.client;
  const KEY_SERVER = keys.server;
  const addr4 = parseAddress('198.51.100.7')!;
  const addr6 = parseAddress('2001:db8::7')!;
  const ISN_C = 1000;
  const ISN_S = 5000;
  const c = (flags: number, mptcp: MptcpOption[], payload = 0): Seg => ({ from: 'client', flags, seq: ISN_C + 1, ack: ISN_S + 1, mptcp, payload });
  const s = (flags: number, mptcp: MptcpOption[], payload = 0): Seg => ({ from: 'server', flags, seq: ISN_S + 1, ack: ISN_C + 1, mptcp, payload });
  const joinHmacSynAck = joinHmac(KEY_SERVER, KEY_CLIENT, NONCE_SERVER, NONCE_CLIENT).subarray(0, 8);
  const joinHmacAck = joinHmac(KEY_CLIENT, KEY_SERVER, NONCE_CLIENT, NONCE_SERVER).subarray(0, 20);
  const hmacFor = (address: Uint8Array, port?: number) => addAddrHmac(KEY_SERVER, KEY_CLIENT, 5, address, port);
  const dss = (o: Omit<Extract<MptcpOption, { subtype: 'DSS' }>, 'subtype'>): MptcpOption => ({ subtype: 'DSS', ...o });
  const list: Seg[] = [
    // MP_CAPABLE: 4 on the SYN, 12 on the SYN/ACK, 20 on the third ACK, 22 on the first data (no checksum).
    { from: 'client', flags: SYN, seq: ISN_C, ack: 0, mptcp: [{ subtype: 'MP_CAPABLE', version: 1, flags: H }] },
    { from: 'server', flags: SYN | ACK, seq: ISN_S, ack: ISN_C + 1, mptcp: [{ subtype: 'MP_CAPABLE', version: 1, flags: H, senderKey: KEY_SERVER }] },
    c(ACK, [{ subtype: 'MP_CAPABLE', version: 1, flags: H, senderKey: KEY_CLIENT, receiverKey: KEY_SERVER }]),
    c(ACK | PSH, [{ subtype: 'MP_CAPABLE', version: 1, flags: H, senderKey: KEY_CLIENT, receiverKey: KEY_SERVER, dataLength: 10 }], 10),
    // 24: with a DSS checksum (the A flag negotiated checksums).
    c(ACK | PSH, [{ subtype: 'MP_CAPABLE', version: 1, flags: MpCapableFlag.A | H, senderKey: KEY_CLIENT, receiverKey: KEY_SERVER, dataLength: 10, checksum: 0x1234 }], 10),
    // DSS: every valid flag combination, with and without checksum.
    s(ACK, [dss({ dataFin: false, dataAck: u64(0, 11), dataAck64: false })]),
    s(ACK, [dss({ dataFin: false, dataAck: big(0x1_0000_000bn), dataAck64: true })]),
    c(ACK | PSH, [dss({ dataFin: false, dataAck64: false, mapping: { dsn: u64(0, 11), dsn64: false, subflowSeq: 11, dataLength: 20 } })], 20),
    c(ACK | PSH, [dss({ dataFin: false, dataAck64: false, mapping: { dsn: u64(0, 31), dsn64: false, subflowSeq: 31, dataLength: 20, checksum: 0xbeef } })], 20),
    c(ACK | PSH, [dss({ dataFin: false, dataAck64: false, mapping: { dsn: big(0x2_0000_0033n), dsn64: true, subflowSeq: 51, dataLength: 20 } })], 20),
    c(ACK | PSH, [dss({ dataFin: false, dataAck64: false, mapping: { dsn: big(0x2_0000_0047n), dsn64: true, subflowSeq: 71, dataLength: 20, checksum: 0x0001 } })], 20),
    c(ACK | PSH, [dss({ dataFin: false, dataAck: u64(0, 1), dataAck64: false, mapping: { dsn: u64(0, 91), dsn64: false, subflowSeq: 91, dataLength: 20 } })], 20),
    c(ACK | PSH, [dss({ dataFin: false, dataAck: big(1n << 40n), dataAck64: true, mapping: { dsn: big(0x2_0000_006fn), dsn64: true, subflowSeq: 111, dataLength: 20, checksum: 0xffff } })], 20),
    c(ACK | PSH, [dss({ dataFin: false, dataAck: u64(0, 1), dataAck64: false, mapping: { dsn: big(0x2_0000_0083n), dsn64: true, subflowSeq: 131, dataLength: 20 } })], 20),
    s(ACK | PSH, [dss({ dataFin: false, dataAck: big(0x2_0000_0097n), dataAck64: true, mapping: { dsn: u64(0, 1), dsn64: false, subflowSeq: 1, dataLength: 5 } })], 5),
    // DATA_FIN rides on a mapping (data-level length counts it); with a checksum too.
    c(ACK, [dss({ dataFin: true, dataAck: u64(0, 6), dataAck64: false, mapping: { dsn: u64(0, 151), dsn64: false, subflowSeq: 0, dataLength: 1 } })]),
    s(ACK | FIN, [dss({ dataFin: true, dataAck: big(0x2_0000_0098n), dataAck64: true, mapping: { dsn: big(6n), dsn64: true, subflowSeq: 0, dataLength: 1, checksum: 0x4321 } })]),
    // Infinite mapping (fallback): subflow sequence 0, data-level length 0.
    c(ACK | PSH, [dss({ dataFin: false, dataAck: u64(0, 6), dataAck64: false, mapping: { dsn: u64(0, 160), dsn64: false, subflowSeq: 0, dataLength: 0 } })], 4),
    // ADD_ADDR: v4/v6, with/without port, with HMAC; echoes without HMAC.
    s(ACK, [{ subtype: 'ADD_ADDR', echo: false, addressId: 5, address: addr4, hmac: hmacFor(addr4) }]),
    s(ACK, [{ subtype: 'ADD_ADDR', echo: false, addressId: 5, address: addr4, port: 8080, hmac: hmacFor(addr4, 8080) }]),
    s(ACK, [{ subtype: 'ADD_ADDR', echo: false, addressId: 5, address: addr6, hmac: hmacFor(addr6) }]),
    s(ACK, [{ subtype: 'ADD_ADDR', echo: false, addressId: 5, address: addr6, port: 8080, hmac: hmacFor(addr6, 8080) }]),
    c(ACK, [{ subtype: 'ADD_ADDR', echo: true, addressId: 5, address: addr4 }]),
    c(ACK, [{ subtype: 'ADD_ADDR', echo: true, addressId: 5, address: addr4, port: 8080 }]),
    c(ACK, [{ subtype: 'ADD_ADDR', echo: true, addressId: 5, address: addr6 }]),
    c(ACK, [{ subtype: 'ADD_ADDR', echo: true, addressId: 5, address: addr6, port: 8080 }]),
    // RM_ADDR: one id, several.
    s(ACK, [{ subtype: 'RM_ADDR', addressIds: [5] }]),
    s(ACK, [{ subtype: 'RM_ADDR', addressIds: [1, 2, 3, 250] }]),
    // MP_PRIO: 3 (RFC 8684) and 4 (with an address id).
    c(ACK, [{ subtype: 'MP_PRIO', backup: true }]),
    c(ACK, [{ subtype: 'MP_PRIO', backup: false, addressId: 2 }]),
    // MP_FAIL on an ACK (RFC 8684 3.7), with the DSS it accompanies in practice.
    c(ACK, [dss({ dataFin: false, dataAck: u64(0, 6), dataAck64: false }), { subtype: 'MP_FAIL', dsn: big(0x2_0000_0033n) }]),
    // MP_TCPRST with reasons and flags, on RSTs; one with MP_FASTCLOSE as Linux sends it (RST + MP_FASTCLOSE).
    s(RST | ACK, [{ subtype: 'MP_TCPRST', flags: MpTcpRstFlag.T, reason: 0 }]),
    s(RST | ACK, [{ subtype: 'MP_TCPRST', flags: 0, reason: 1 }]),
    s(RST, [{ subtype: 'MP_TCPRST', flags: MpTcpRstFlag.T, reason: 2 }]),
    s(RST, [{ subtype: 'MP_TCPRST', flags: 0, reason: 6 }]),
    // MP_FASTCLOSE: on an ACK (RFC 8684 3.5 option A) and on a RST (option B, Linux).
    c(ACK, [{ subtype: 'MP_FASTCLOSE', receiverKey: KEY_SERVER }]),
    c(RST | ACK, [{ subtype: 'MP_FASTCLOSE', receiverKey: KEY_SERVER }, { subtype: 'MP_TCPRST', flags: 0, reason: 1 }]),
    // Unknown subtypes: unassigned 0x9 and MP_EXPERIMENTAL 0xf.
    c(ACK, [{ subtype: 'unknown', subtypeValue: 0x9, data: Uint8Array.of(0x90, 1, 2) }]),
    c(ACK, [{ subtype: 'unknown', subtypeValue: 0xf, data: Uint8Array.of(0xf0, 0) }]),
  ];
  // The join subflow: SYN with the server's token (the receiver's), SYN/ACK with its truncated HMAC, third ACK.
  const JOIN_ISN_C = 70000;
  const JOIN_ISN_S = 90000;
  const joinSegs: Seg[] = [
    { from: 'client', join: true, flags: SYN, seq: JOIN_ISN_C, ack: 0, mptcp: [{ subtype: 'MP_JOIN', form: 'syn', backup: false, addressId: 1, token: keyToken(KEY_SERVER), nonce: NONCE_CLIENT }] },
    { from: 'server', join: true, flags: SYN | ACK, seq: JOIN_ISN_S, ack: JOIN_ISN_C + 1, mptcp: [{ subtype: 'MP_JOIN', form: 'synack', backup: true, addressId: 0, hmac: joinHmacSynAck, nonce: NONCE_SERVER }] },
    { from: 'client', join: true, flags: ACK, seq: JOIN_ISN_C + 1, ack: JOIN_ISN_S + 1, mptcp: [{ subtype: 'MP_JOIN', form: 'ack', hmac: joinHmacAck }] },
    { from: 'server', join: true, flags: ACK, seq: JOIN_ISN_S + 1, ack: JOIN_ISN_C + 1, mptcp: [dss({ dataFin: false, dataAck: u64(0, 6), dataAck64: false })] },
  ];
  return [...list.slice(0, 3), ...joinSegs, ...list.slice(3)];
}

/** The capture: the IPv4 connection then the IPv6 one; raw IP link type. */
function everyOptionCapture(): { bytes: Uint8Array; options: string[][]; infinite: boolean[]; reprs: MptcpOption[][] } {
  const packets: Array<{ timestampMicros: number; data: Uint8Array }> = [];
  const options: string[][] = [];
  const reprs: MptcpOption[][] = [];
  const infinite: boolean[] = [];
  let t = 1_700_000_000_000_000;
  for (const v6 of [false, true]) {
    const client = parseAddress(v6 ? '2001:db8::1' : '192.0.2.1')!;
    const server = parseAddress(v6 ? '2001:db8::2' : '192.0.2.2')!;
    const client2 = parseAddress(v6 ? '2001:db8:1::1' : '192.0.2.101')!;
    for (const seg of segments(v6 ? KEYS.v6 : KEYS.v4)) {
      const c = seg.join ? client2 : client;
      const cp = seg.join ? 40001 : 40000;
      const data = seg.from === 'client' ? packet(c, server, cp, 443, seg) : packet(server, c, 443, cp, seg);
      packets.push({ timestampMicros: (t += 1000), data });
      options.push(seg.mptcp.map((o) => (o.subtype === 'unknown' ? `unknown:${o.subtypeValue}` : o.subtype)));
      reprs.push([...seg.mptcp]);
      infinite.push(seg.mptcp.some((o) => o.subtype === 'DSS' && o.mapping !== undefined && o.mapping.dataLength === 0 && o.mapping.subflowSeq === 0));
    }
  }
  return { bytes: pcapBytes(packets), options, infinite, reprs };
}

/** Every object under `node` (depth first) with its key, for walking tshark's JSON tree. */
function* walk(node: unknown, key = ''): Generator<[string, unknown]> {
  yield [key, node];
  if (Array.isArray(node)) for (const item of node) yield* walk(item, key);
  else if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) yield* walk(v, k);
}

function asArray(x: unknown): unknown[] {
  return x === undefined ? [] : Array.isArray(x) ? x : [x];
}

const decimal = (v: U64) => u64ToDecimal(v);
const hexToDecimal = (b: Uint8Array) => BigInt('0x' + Buffer.from(b).toString('hex')).toString();

/**
 * The tshark fields (names under tcp.options.mptcp. unless they start with mptcp./tcp.option_) and the values
 * tshark should print for an option we emitted: what proves the bytes on the wire are the repr we meant.
 * Flags, reasons and checksums are compared as numbers (tshark prints hex); the rest as tshark's strings.
 */
function expectedTsharkFields(o: MptcpOption): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [['tcp.option_len', String(mptcpOptionLength(o))]];
  switch (o.subtype) {
    case 'MP_CAPABLE':
      out.push(['version', String(o.version)], ['flags', o.flags]);
      if (o.senderKey) out.push(['sendkey', decimal(o.senderKey)], ['mptcp.expected_token', String(keyToken(o.senderKey))]);
      if (o.receiverKey) out.push(['recvkey', decimal(o.receiverKey)]);
      if (o.dataLength !== undefined) out.push(['datalvllen', String(o.dataLength)]);
      if (o.checksum !== undefined) out.push(['checksum', o.checksum]);
      break;
    case 'MP_JOIN':
      if (o.form === 'syn') out.push(['addrid', String(o.addressId)], ['recvtok', String(o.token)], ['sendrand', String(o.nonce)], ['flags', 0x10 | (o.backup ? 1 : 0)]);
      if (o.form === 'synack') out.push(['addrid', String(o.addressId)], ['sendtrunchmac', hexToDecimal(o.hmac)], ['sendrand', String(o.nonce)], ['flags', 0x10 | (o.backup ? 1 : 0)]);
      if (o.form === 'ack') out.push(['sendhmac', Buffer.from(o.hmac).toString('hex').replace(/(..)(?!$)/g, '$1:')]);
      break;
    case 'DSS':
      out.push(['flags', dssFlags(o)]);
      if (o.dataAck) out.push(['rawdataack', decimal(o.dataAck)]);
      if (o.mapping) {
        // tshark 4.0 never shows the DSS checksum (see test/cli/decode-tshark.test.ts), so it is not expected.
        out.push(['rawdataseqno', decimal(o.mapping.dsn)], ['subflowseqno', String(o.mapping.subflowSeq)], ['datalvllen', String(o.mapping.dataLength)]);
      }
      break;
    case 'ADD_ADDR':
      out.push(['echo', o.echo ? '1' : '0'], ['addrid', String(o.addressId)], [o.address.length === 4 ? 'ipv4' : 'ipv6', formatAddress(o.address)]);
      if (o.port !== undefined) out.push(['port', String(o.port)]);
      if (o.hmac) out.push(['addaddrtrunchmac', hexToDecimal(o.hmac)]);
      break;
    case 'RM_ADDR':
      out.push(['addrid', o.addressIds.length === 1 ? String(o.addressIds[0]) : o.addressIds.map(String)], ['mptcp.rm_addr.count', String(o.addressIds.length)]);
      break;
    case 'MP_PRIO':
      out.push(['flags', 0x50 | (o.backup ? 1 : 0)]);
      if (o.addressId !== undefined) out.push(['addrid', String(o.addressId)]);
      break;
    case 'MP_FAIL':
      out.push(['rawdataseqno', decimal(o.dsn)]);
      break;
    case 'MP_FASTCLOSE':
      out.push(['recvkey', decimal(o.receiverKey)]);
      break;
    case 'MP_TCPRST':
      out.push(['flags', 0x80 | o.flags], ['rst_reason', o.reason]);
      break;
    case 'unknown':
      out.push(['subtype', String(o.subtypeValue)]);
      break;
  }
  return out;
}

const PI_WARN = 0x00600000;
const PI_MALFORMED_GROUP = 0x07000000;

test('tshark decodes every MPTCP option variant we emit: same subtypes, nothing malformed, no MPTCP warnings', { skip: haveTshark ? false : TSHARK_SKIP_REASON }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tshark-emit-'));
  try {
    const { bytes, options, infinite, reprs } = everyOptionCapture();
    assert.equal(infinite.filter(Boolean).length, 2, 'one infinite mapping per connection');
    const file = join(dir, 'every-option.pcap');
    writeFileSync(file, bytes);
    if (process.env['KEEP_PCAP']) writeFileSync(process.env['KEEP_PCAP'], bytes);
    const r = spawnSync(
      'tshark',
      ['-r', file, '-T', 'json', '--no-duplicate-keys', '-o', 'mptcp.analyze_mptcp:TRUE', '-o', 'tcp.analyze_sequence_numbers:TRUE', '-o', 'tcp.relative_sequence_numbers:FALSE'],
      { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
    );
    assert.equal(r.status, 0, r.stderr);
    const frames = JSON.parse(r.stdout) as Array<{ _source: { layers: Record<string, unknown> } }>;
    assert.equal(frames.length, options.length, 'every packet read back');
    const problems: string[] = [];
    frames.forEach((f, i) => {
      const layers = f._source.layers;
      const frameNo = i + 1;
      const subtypes: string[] = [];
      let sawInfinite = false;
      for (const [key, value] of walk(layers)) {
        if (key === '_ws.malformed') problems.push(`frame ${frameNo}: malformed: ${JSON.stringify(value)}`);
        if (key === 'tcp.options.mptcp.subtype') {
          for (const v of Array.isArray(value) ? value : [value]) subtypes.push(String(v));
        }
        if (key === '_ws.expert') {
          for (const e of (Array.isArray(value) ? value : [value]) as Array<Record<string, unknown>>) {
            const severity = Number(e['_ws.expert.severity']);
            const group = Number(e['_ws.expert.group']);
            const message = String(e['_ws.expert.message'] ?? '');
            const fields = Object.keys(e).filter((k) => !k.startsWith('_ws.expert'));
            if (fields.includes('mptcp.dss.infinite_mapping') && infinite[i]) {
              // The one MPTCP warning that is right: tshark flags the fallback we deliberately sent.
              sawInfinite = true;
              continue;
            }
            const mptcpRelated = fields.some((k) => k.startsWith('mptcp') || k.startsWith('tcp.options.mptcp')) || /mptcp|multipath/i.test(message);
            if (group === PI_MALFORMED_GROUP || (mptcpRelated && severity >= PI_WARN)) {
              problems.push(`frame ${frameNo}: expert ${fields.join(',')} severity 0x${severity.toString(16)}: ${message}`);
            }
          }
        }
      }
      if (infinite[i] && !sawInfinite) problems.push(`frame ${frameNo}: tshark did not see our infinite mapping`);
      const trees = asArray(((layers['tcp'] as Record<string, unknown>)['tcp.options_tree'] as Record<string, unknown>)['mptcp']);
      reprs[i]!.forEach((repr, k) => {
        const tree = (trees[k] ?? {}) as Record<string, unknown>;
        for (const [name, value] of expectedTsharkFields(repr)) {
          const got = tree[name.startsWith('mptcp.') || name.startsWith('tcp.option_') ? name : `tcp.options.mptcp.${name}`];
          const norm = name === 'flags' || name === 'rst_reason' || name === 'checksum' ? (got === undefined ? undefined : parseInt(String(got), 16)) : got;
          if (JSON.stringify(norm) !== JSON.stringify(value)) {
            problems.push(`frame ${frameNo} ${repr.subtype} ${name}: tshark ${JSON.stringify(got)}, emitted ${JSON.stringify(value)}`);
          }
        }
      });
      const expected = options[i]!.map((name) => (name.startsWith('unknown:') ? name.slice(8) : String((MptcpSubtypeCode as Record<string, number>)[name])));
      if (subtypes.join(',') !== expected.join(',')) {
        problems.push(`frame ${frameNo}: tshark subtypes [${subtypes.join(',')}], we emitted [${expected.join(',')}] (${options[i]!.join(',')})`);
      }
    });
    assert.deepEqual(problems, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
