import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { runDecode } from '../../src/cli/decode.js';
import { decodeFrame } from '../../src/capture/decode.js';
import { frameJson, frameText, summaryText } from '../../src/capture/format.js';
import { decodeCapture, type DecodeOptions } from '../../src/capture/output.js';
import { MptcpSummary } from '../../src/capture/summary.js';
import { runCli } from '../../src/cli/cli.js';
import { emitIpHeader, ipHeaderLength, IpProtocol } from '../../src/wire/ip.js';
import { emitTcpSegment, TcpFlags, tcpHeaderLength, type TcpOption } from '../../src/wire/tcp.js';
import type { MptcpOption } from '../../src/wire/mptcp-option.js';
import { LinkType, PcapWriter, pcapBytes, readCapture, type CapturedPacket } from '../../src/wire/pcap.js';
import { parseAddress } from '../../src/wire/address.js';
import { WireError as WireErrorClass } from '../../src/wire/errors.js';
import { u64, u64FromBigInt, u64ToDecimal, u64ToHex } from '../../src/wire/u64.js';
import { keyIdsn, keyToken } from '../../src/mptcp/keys.js';

const { SYN, ACK, RST, PSH } = TcpFlags;

interface SegmentSpec {
  readonly src: string;
  readonly dst: string;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly flags: number;
  readonly seq: number;
  readonly ack: number;
  readonly mptcp?: readonly MptcpOption[];
  readonly payload?: number;
  /** Raw option bytes instead of `mptcp` (to write a malformed option). */
  readonly rawOptions?: readonly TcpOption[];
}

/** An IPv4/IPv6 TCP packet built with the emitters. */
function ipPacket(s: SegmentSpec): Uint8Array {
  const src = parseAddress(s.src)!;
  const dst = parseAddress(s.dst)!;
  const options: TcpOption[] = s.rawOptions ? [...s.rawOptions] : (s.mptcp ?? []).map((option) => ({ kind: 'mptcp', option }));
  const payload = new Uint8Array(s.payload ?? 0).fill(0x62);
  const tcpLength = tcpHeaderLength(options) + payload.length;
  const ipLength = ipHeaderLength(src);
  const buf = new Uint8Array(ipLength + tcpLength);
  emitIpHeader({ src, dst, protocol: IpProtocol.TCP, payloadLength: tcpLength }, buf, 0);
  emitTcpSegment({ srcPort: s.srcPort, dstPort: s.dstPort, seq: s.seq, ack: s.ack, flags: s.flags, window: 1000, options, payload }, src, dst, buf, ipLength);
  return buf;
}

function ethernet(etherType: number, payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(14 + payload.length);
  frame.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, etherType >> 8, etherType & 0xff]);
  frame.set(payload, 14);
  return frame;
}

const KEY_C = u64(0x0102_0304, 0x0506_0708);
const KEY_S = u64(0x1112_1314, 0x1516_1718);
const C = '10.1.0.1';
const S = '10.2.0.1';
const T0 = 1_700_000_000_250_000;

/** A small Ethernet capture: an MPTCP connection with a join and every signalling option, plus ARP and UDP. */
function sampleCapture(): Uint8Array {
  const c2s = (flags: number, mptcp: MptcpOption[], payload = 0, seq = 101): SegmentSpec => ({ src: C, dst: S, srcPort: 40000, dstPort: 80, flags, seq, ack: 201, mptcp, payload });
  const s2c = (flags: number, mptcp: MptcpOption[], payload = 0, seq = 201): SegmentSpec => ({ src: S, dst: C, srcPort: 80, dstPort: 40000, flags, seq, ack: 101, mptcp, payload });
  const specs: SegmentSpec[] = [
    { ...c2s(SYN, [{ subtype: 'MP_CAPABLE', version: 1, flags: 0x01 }]), seq: 100, ack: 0 },
    { ...s2c(SYN | ACK, [{ subtype: 'MP_CAPABLE', version: 1, flags: 0x01, senderKey: KEY_S }]), seq: 200 },
    c2s(ACK, [{ subtype: 'MP_CAPABLE', version: 1, flags: 0x01, senderKey: KEY_C, receiverKey: KEY_S }]),
    c2s(ACK | PSH, [{ subtype: 'DSS', dataFin: false, dataAck: u64(0, 1), dataAck64: false, mapping: { dsn: u64FromBigInt(0x1_0000_0001n), dsn64: true, subflowSeq: 1, dataLength: 100 } }], 100),
    s2c(ACK, [{ subtype: 'ADD_ADDR', echo: false, addressId: 2, address: parseAddress('10.3.0.1')!, port: 8080, hmac: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) }]),
    { src: '10.1.0.2', dst: S, srcPort: 40001, dstPort: 80, flags: SYN, seq: 500, ack: 0, mptcp: [{ subtype: 'MP_JOIN', form: 'syn', backup: true, addressId: 1, token: keyToken(KEY_S), nonce: 0xdeadbeef }] },
    { src: S, dst: '10.1.0.2', srcPort: 80, dstPort: 40001, flags: SYN | ACK, seq: 600, ack: 501, mptcp: [{ subtype: 'MP_JOIN', form: 'synack', backup: false, addressId: 0, hmac: Uint8Array.of(0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 1, 2), nonce: 7 }] },
    { src: '10.1.0.2', dst: S, srcPort: 40001, dstPort: 80, flags: ACK, seq: 501, ack: 601, mptcp: [{ subtype: 'MP_JOIN', form: 'ack', hmac: new Uint8Array(20).fill(0xcd) }] },
    { src: '10.1.0.2', dst: S, srcPort: 40001, dstPort: 80, flags: ACK | PSH, seq: 501, ack: 601, payload: 50, mptcp: [{ subtype: 'DSS', dataFin: false, dataAck64: false, mapping: { dsn: u64(0, 101), dsn64: false, subflowSeq: 1, dataLength: 50, checksum: 0xabcd } }] },
    s2c(ACK, [{ subtype: 'RM_ADDR', addressIds: [2, 3] }]),
    c2s(ACK, [{ subtype: 'MP_PRIO', backup: true, addressId: 1 }]),
    c2s(ACK, [{ subtype: 'MP_FAIL', dsn: u64(0, 77) }]),
    c2s(ACK, [{ subtype: 'DSS', dataFin: true, dataAck: u64FromBigInt(1n << 40n), dataAck64: true, mapping: { dsn: u64(0, 151), dsn64: false, subflowSeq: 0, dataLength: 1 } }]),
    s2c(RST | ACK, [{ subtype: 'MP_FASTCLOSE', receiverKey: KEY_C }, { subtype: 'MP_TCPRST', flags: 0x1, reason: 2 }]),
    c2s(ACK, [{ subtype: 'unknown', subtypeValue: 9, data: Uint8Array.of(0x90, 0xaa) }]),
    // A malformed MP_CAPABLE (length 13) followed by nothing: reported, not fatal.
    { src: C, dst: S, srcPort: 40000, dstPort: 80, flags: ACK, seq: 101, ack: 201, rawOptions: [{ kind: 'unknown', type: 30, data: Uint8Array.of(0x01, 0x01, ...new Array<number>(9).fill(0)) }] },
    // IPv6, plain TCP.
    { src: '2001:db8::1', dst: '2001:db8::2', srcPort: 1, dstPort: 2, flags: SYN, seq: 1, ack: 0 },
  ];
  const frames: Uint8Array[] = specs.map((s) => ethernet(s.src.includes(':') ? 0x86dd : 0x0800, ipPacket(s)));
  // ARP and an IPv4 UDP datagram.
  frames.push(ethernet(0x0806, new Uint8Array(28)));
  const udp = new Uint8Array(28);
  emitIpHeader({ src: parseAddress(C)!, dst: parseAddress(S)!, protocol: IpProtocol.UDP, payloadLength: 8 }, udp, 0);
  frames.push(ethernet(0x0800, udp));
  return pcapBytes(frames.map((data, i) => ({ timestampMicros: T0 + i * 1500, data })), LinkType.ETHERNET);
}

function decodeToString(bytes: Uint8Array, options: Partial<DecodeOptions> = {}): { out: string; error: string | undefined } {
  let out = '';
  const error = decodeCapture(bytes, { json: false, summary: false, filterMptcp: false, ...options }, (t) => {
    out += t;
  });
  return { out, error: error?.message };
}

function jsonLines(text: string): Array<Record<string, any>> {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, any>);
}

test('decode --json: frame fields and every MPTCP option, fully decoded', () => {
  const { out, error } = decodeToString(sampleCapture(), { json: true });
  assert.equal(error, undefined);
  const frames = jsonLines(out);
  assert.equal(frames.length, 19);
  const [syn, synAck, ack, data, addAddr, joinSyn, joinSynAck, joinAck, joinData, rmAddr, prio, fail, dataFin, rst, unknown, malformed, v6, arp, udp] = frames as [Record<string, any>, ...Array<Record<string, any>>];
  assert.deepEqual(syn, {
    frame: 1,
    time: '1700000000.250000',
    relativeTime: '0.000000',
    ipVersion: 4,
    src: C,
    dst: S,
    srcPort: 40000,
    dstPort: 80,
    flags: 'SYN',
    tcpFlags: 2,
    seq: 100,
    ack: 0,
    win: 1000,
    len: 0,
    mptcp: [{ subtype: 'MP_CAPABLE', length: 4, version: 1, flags: 1 }],
  });
  assert.equal(synAck!['relativeTime'], '0.001500');
  assert.equal(synAck!['flags'], 'SYN, ACK');
  assert.deepEqual(synAck!['mptcp'], [
    { subtype: 'MP_CAPABLE', length: 12, version: 1, flags: 1, senderKey: '1112131415161718', senderToken: keyToken(KEY_S), senderIdsn: u64ToDecimal(keyIdsn(KEY_S)) },
  ]);
  assert.equal(ack!['mptcp'][0].receiverKey, '1112131415161718');
  assert.equal(ack!['mptcp'][0].senderKey, u64ToHex(KEY_C));
  assert.equal(data!['len'], 100);
  assert.deepEqual(data!['mptcp'], [{ subtype: 'DSS', length: 22, flags: 0x0d, dataFin: false, dataAck: '1', dataAck64: false, dsn: '4294967297', dsn64: true, subflowSeq: 1, dataLength: 100 }]);
  assert.deepEqual(addAddr!['mptcp'], [{ subtype: 'ADD_ADDR', length: 18, echo: false, addressId: 2, ipVersion: 4, address: '10.3.0.1', port: 8080, hmac: '0102030405060708' }]);
  assert.deepEqual(joinSyn!['mptcp'], [{ subtype: 'MP_JOIN', length: 12, form: 'syn', backup: true, addressId: 1, token: keyToken(KEY_S), nonce: 0xdeadbeef }]);
  assert.deepEqual(joinSynAck!['mptcp'], [{ subtype: 'MP_JOIN', length: 16, form: 'synack', backup: false, addressId: 0, hmac: '0a0b0c0d0e0f0102', nonce: 7 }]);
  assert.deepEqual(joinAck!['mptcp'], [{ subtype: 'MP_JOIN', length: 24, form: 'ack', hmac: 'cd'.repeat(20) }]);
  assert.deepEqual(joinData!['mptcp'], [{ subtype: 'DSS', length: 16, flags: 0x04, dataFin: false, dsn: '101', dsn64: false, subflowSeq: 1, dataLength: 50, checksum: 0xabcd }]);
  assert.deepEqual(rmAddr!['mptcp'], [{ subtype: 'RM_ADDR', length: 5, addressIds: [2, 3] }]);
  assert.deepEqual(prio!['mptcp'], [{ subtype: 'MP_PRIO', length: 4, backup: true, addressId: 1 }]);
  assert.deepEqual(fail!['mptcp'], [{ subtype: 'MP_FAIL', length: 12, dsn: '77' }]);
  assert.deepEqual(dataFin!['mptcp'], [{ subtype: 'DSS', length: 22, flags: 0x17, dataFin: true, dataAck: '1099511627776', dataAck64: true, dsn: '151', dsn64: false, subflowSeq: 0, dataLength: 1 }]);
  assert.equal(rst!['flags'], 'RST, ACK');
  assert.deepEqual(rst!['mptcp'], [
    { subtype: 'MP_FASTCLOSE', length: 12, receiverKey: u64ToHex(KEY_C) },
    { subtype: 'MP_TCPRST', length: 4, flags: 1, transient: true, reason: 2, reasonName: 'Lack of resources' },
  ]);
  assert.deepEqual(unknown!['mptcp'], [{ subtype: 'unknown', length: 4, subtypeValue: 9, name: 'unknown(0x9)', data: '90aa' }]);
  assert.equal(malformed!['mptcp'].length, 1);
  assert.equal(malformed!['mptcp'][0].subtype, 'MP_CAPABLE');
  assert.equal(malformed!['mptcp'][0].length, 13);
  assert.match(malformed!['mptcp'][0].malformed, /MP_CAPABLE/);
  assert.equal(v6!['src'], '2001:db8::1');
  assert.equal(v6!['ipVersion'], 6);
  assert.deepEqual(v6!['mptcp'], []);
  assert.deepEqual(arp, { frame: 18, time: '1700000000.275500', relativeTime: '0.025500', note: 'not IP (ARP, EtherType 0x0806)' });
  assert.match(udp!['note'], /^IPv4 UDP 10\.1\.0\.1 -> 10\.2\.0\.1, not TCP$/);
});

test('decode (text): one readable line per frame', () => {
  const { out, error } = decodeToString(sampleCapture());
  assert.equal(error, undefined);
  const lines = out.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 19);
  assert.equal(lines[0], '     1     0.000000 10.1.0.1:40000 -> 10.2.0.1:80 [SYN] seq=100 ack=0 win=1000 len=0 | MP_CAPABLE v1 flags=0x01[H]');
  const token = keyToken(KEY_S).toString(16).padStart(8, '0');
  assert.equal(
    lines[1],
    `     2     0.001500 10.2.0.1:80 -> 10.1.0.1:40000 [SYN, ACK] seq=200 ack=101 win=1000 len=0 | MP_CAPABLE v1 flags=0x01[H] sndkey=1112131415161718 (token=0x${token} idsn=${u64ToDecimal(keyIdsn(KEY_S))})`,
  );
  assert.match(lines[3]!, /\[PSH, ACK\] seq=101 ack=201 win=1000 len=100 \| DSS \[A,M,m\] dack=1 dsn=4294967297 ssn=1 dlen=100$/);
  assert.match(lines[4]!, /ADD_ADDR id=2 10\.3\.0\.1:8080 hmac=0102030405060708$/);
  assert.match(lines[5]!, /MP_JOIN SYN id=1 backup=1 token=0x[0-9a-f]{8} nonce=0xdeadbeef$/);
  assert.match(lines[12]!, /DSS \[A,a,M,F\] dack=1099511627776 dsn=151 ssn=0 dlen=1 DATA_FIN$/);
  assert.match(lines[13]!, /\[RST, ACK\] .* \| MP_FASTCLOSE rcvkey=0102030405060708 \| MP_TCPRST reason=2 \(Lack of resources\) flags=0x1\[T\]$/);
  assert.match(lines[16]!, /\[2001:db8::1\]:1 -> \[2001:db8::2\]:2 \[SYN\]/);
  assert.match(lines[17]!, /^ +18 +0\.025500 not IP \(ARP, EtherType 0x0806\)$/);
});

test('decode --filter-mptcp keeps only frames with MPTCP options, with their frame numbers', () => {
  const { out } = decodeToString(sampleCapture(), { json: true, filterMptcp: true });
  const frames = jsonLines(out);
  assert.deepEqual(
    frames.map((f) => f['frame']),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16],
  );
});

test('decode --summary: connection with tokens, keys, subflows, bytes, signalling options and DATA_FIN', () => {
  const { out } = decodeToString(sampleCapture(), { json: true, summary: true });
  const [conn, ...rest] = jsonLines(out);
  assert.equal(rest.length, 0);
  assert.equal(conn!['client'], '10.1.0.1:40000');
  assert.equal(conn!['server'], '10.2.0.1:80');
  assert.deepEqual(conn!['clientKey'], { key: u64ToHex(KEY_C), token: keyToken(KEY_C), idsn: u64ToDecimal(keyIdsn(KEY_C)) });
  assert.deepEqual(conn!['serverKey'], { key: u64ToHex(KEY_S), token: keyToken(KEY_S), idsn: u64ToDecimal(keyIdsn(KEY_S)) });
  const [initial, joined] = conn!['subflows'] as Array<Record<string, any>>;
  assert.equal(initial!['kind'], 'initial');
  assert.equal(joined!['kind'], 'join');
  assert.equal(joined!['initiatedBy'], 'client');
  assert.equal(joined!['token'], keyToken(KEY_S));
  assert.equal(joined!['initiatorAddressId'], 1);
  assert.equal(joined!['listenerAddressId'], 0);
  assert.equal(joined!['initiatorBackup'], true);
  assert.equal(joined!['established'], true);
  assert.deepEqual(joined!['bytes'], { fromInitiator: 50, fromListener: 0 });
  assert.deepEqual(initial!['bytes'], { fromInitiator: 100, fromListener: 0 });
  assert.deepEqual(conn!['bytes'], { clientToServer: 150, serverToClient: 0 });
  assert.deepEqual(conn!['options'], { ADD_ADDR: 1, RM_ADDR: 1, MP_PRIO: 1, MP_FAIL: 1, MP_FASTCLOSE: 1, MP_TCPRST: 1, 'subtype 9': 1 });
  assert.deepEqual(conn!['dataFin'], { client: { frame: 13, dsn: '151' } });
  assert.equal(initial!['reset'], true);
  const text = decodeToString(sampleCapture(), { summary: true }).out;
  assert.match(text, /^1 MPTCP connection in 19 frames; 1 plain TCP connection\n/);
  assert.match(text, new RegExp(`server key 1112131415161718  token ${keyToken(KEY_S).toString(16).padStart(8, '0')}`));
  assert.match(text, /#2 join    10\.1\.0\.2:40001 -> 10\.2\.0\.1:80 ids 1\/0 backup 1\/0/);
  assert.match(text, /DATA_FIN: client frame 13 \(dsn 151\), server none/);
});

test('decode --summary: a join seen before its connection handshake is attached once the token is known', () => {
  const join = (flags: number, mptcp: MptcpOption[], from: 'a' | 'b'): SegmentSpec =>
    from === 'a'
      ? { src: '10.9.0.2', dst: S, srcPort: 5000, dstPort: 80, flags, seq: 1, ack: 1, mptcp }
      : { src: S, dst: '10.9.0.2', srcPort: 80, dstPort: 5000, flags, seq: 1, ack: 1, mptcp };
  const packets = [
    ipPacket(join(SYN, [{ subtype: 'MP_JOIN', form: 'syn', backup: false, addressId: 3, token: keyToken(KEY_C), nonce: 1 }], 'b')),
    ipPacket({ src: C, dst: S, srcPort: 40000, dstPort: 80, flags: ACK, seq: 1, ack: 1, mptcp: [{ subtype: 'MP_CAPABLE', version: 1, flags: 1, senderKey: KEY_C, receiverKey: KEY_S }] }),
    ipPacket(join(ACK, [{ subtype: 'DSS', dataFin: false, dataAck: u64(0, 1), dataAck64: false }], 'a')),
  ];
  const { out } = decodeToString(pcapBytes(packets.map((data, i) => ({ timestampMicros: i, data }))), { json: true, summary: true });
  const conns = jsonLines(out);
  assert.equal(conns.length, 1);
  const subflows = conns[0]!['subflows'] as Array<Record<string, any>>;
  assert.deepEqual(subflows.map((s) => [s['kind'], s['initiatedBy'], s['firstFrame']]), [['join', 'server', 1], ['initial', 'client', 2]]);
});

test('decode: a capture cut by a snap length still shows headers and the real payload length', () => {
  const chunks: Uint8Array[] = [];
  const writer = new PcapWriter((c) => chunks.push(c), LinkType.RAW, 80);
  writer.writePacket(0, ipPacket({ src: C, dst: S, srcPort: 1, dstPort: 2, flags: ACK, seq: 5, ack: 6, payload: 1000, mptcp: [{ subtype: 'DSS', dataFin: false, dataAck64: false, mapping: { dsn: u64(0, 1), dsn64: false, subflowSeq: 1, dataLength: 1000 } }] }));
  const [frame] = jsonLines(decodeToString(Buffer.concat(chunks), { json: true }).out);
  assert.equal(frame!['len'], 1000);
  assert.equal(frame!['captureTruncated'], true);
  assert.equal(frame!['mptcp'][0].dataLength, 1000);
});

/** CPU milliseconds (user + system) this process used since `since` (a process.cpuUsage() reading). */
function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

test('decode: 100k packets stream through quickly (JSON and summary)', () => {
  const template = ipPacket({ src: C, dst: S, srcPort: 40000, dstPort: 80, flags: ACK, seq: 0, ack: 1, payload: 20, mptcp: [{ subtype: 'DSS', dataFin: false, dataAck: u64(0, 1), dataAck64: false, mapping: { dsn: u64(0, 1), dsn64: false, subflowSeq: 1, dataLength: 20 } }] });
  const N = 100_000;
  const chunks: Uint8Array[] = [];
  const writer = new PcapWriter((c) => chunks.push(c));
  for (let i = 0; i < N; i++) writer.writePacket(T0 + i, template);
  const file = Buffer.concat(chunks);
  // CPU time, not wall time: a descheduled process (a loaded CI machine) takes longer by the clock, not in
  // CPU (at load 15: 0.97 s and 0.66 s of CPU, the whole test 14.9 s of wall). The bound catches per-packet
  // work that grows with the capture (10 s of CPU is 100 us per packet).
  let started = process.cpuUsage();
  let bytes = 0;
  let lines = 0;
  const error = decodeCapture(file, { json: true, summary: false, filterMptcp: false }, (t) => {
    bytes += t.length;
    for (let i = t.indexOf('\n'); i >= 0; i = t.indexOf('\n', i + 1)) lines++;
  });
  const jsonMs = cpuMs(started);
  assert.equal(error, undefined);
  assert.equal(lines, N);
  assert.ok(bytes > N * 100);
  started = process.cpuUsage();
  const summary = decodeToString(file, { json: true, summary: true });
  const summaryMs = cpuMs(started);
  assert.equal(jsonLines(summary.out).length, 0, 'no handshake, so no connection');
  assert.ok(jsonMs < 10_000 && summaryMs < 10_000, `CPU: json ${jsonMs.toFixed(0)} ms, summary ${summaryMs.toFixed(0)} ms`);
});

test('runCli: usage errors exit 2, help and version exit 0, in-process', async () => {
  const run = async (...argv: string[]) => {
    let stdout = '';
    let stderr = '';
    const code = await runCli(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
    return { code, stdout, stderr };
  };
  const unknown = await run('frobnicate');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^mptcp: unknown command 'frobnicate'; commands: decode(, [a-z]+)*\n/);
  assert.equal((await run()).code, 2);
  const help = await run('--help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: mptcp <command>/);
  assert.match(help.stdout, /decode/);
  assert.match((await run('help', 'decode')).stdout, /--filter-mptcp/);
  assert.match((await run('decode', '--help')).stdout, /Usage: mptcp decode FILE/);
  const version = await run('--version');
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^mptcp \d+\.\d+\.\d+\n$/);
  const noFile = await run('decode');
  assert.equal(noFile.code, 2);
  assert.match(noFile.stderr, /missing FILE/);
  const badOption = await run('decode', 'x.pcap', '--bogus');
  assert.equal(badOption.code, 2);
  assert.match(badOption.stderr, /--bogus/);
  const missing = await run('decode', '/nonexistent/capture.pcap');
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, "mptcp decode: cannot read '/nonexistent/capture.pcap': no such file\n");
  assert.throws(() => runDecode([], { stdout: () => {}, stderr: () => {} }), /missing FILE/);
});

test('the mptcp bin: decode a file, a truncated file (exit 1, offset, no stack trace), an unknown command (exit 2)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'decode-cli-'));
  try {
    const good = join(dir, 'sample.pcap');
    const bytes = sampleCapture();
    writeFileSync(good, bytes);
    const cut = join(dir, 'cut.pcap');
    writeFileSync(cut, bytes.subarray(0, 200));
    const bin = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });
    const ok = bin('decode', good, '--json');
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stderr, '');
    assert.equal(jsonLines(ok.stdout).length, 19);
    const truncated = bin('decode', cut);
    assert.equal(truncated.status, 1);
    assert.match(truncated.stderr, /^mptcp decode: .*cut\.pcap: truncated packet record at offset \d+: header says \d+ bytes, \d+ remain\n$/);
    assert.doesNotMatch(truncated.stderr, /\n\s+at /);
    assert.match(truncated.stdout, /^ +1 +0\.000000 10\.1\.0\.1:40000 -> 10\.2\.0\.1:80 \[SYN\]/, 'frames before the cut are printed');
    const unknown = bin('frob');
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown command 'frob'/);
    assert.doesNotMatch(unknown.stderr, /\n\s+at /);
    // '-' is standard input, as for tcpdump -r - and tshark -r -.
    const piped = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'decode', '-', '--json'], { encoding: 'utf8', input: bytes, timeout: 60_000 });
    assert.equal(piped.status, 0, piped.stderr);
    assert.equal(piped.stdout, ok.stdout, 'decode - reads the same capture from standard input');
    const pipedCut = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'decode', '-'], { encoding: 'utf8', input: bytes.subarray(0, 200), timeout: 60_000 });
    assert.equal(pipedCut.status, 1);
    assert.match(pipedCut.stderr, /^mptcp decode: standard input: truncated packet record at offset \d+/);
    const notCapture = bin('decode', 'package.json');
    assert.equal(notCapture.status, 1);
    assert.match(notCapture.stderr, /^mptcp decode: package\.json: unknown file format at offset 0: magic 0x[0-9a-f]{8} is neither pcap nor pcapng\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('decode --summary on the kernel join fixture: one connection, the join attached by the server token', { skip: existsSync('fixtures/kernel/join.pcap') ? false : 'fixtures/kernel/join.pcap not captured yet' }, () => {
  const { out, error } = decodeToString(readFileSync('fixtures/kernel/join.pcap'), { json: true, summary: true });
  assert.equal(error, undefined);
  const conns = jsonLines(out);
  assert.equal(conns.length, 1);
  const c = conns[0]!;
  const subflows = c['subflows'] as Array<Record<string, any>>;
  assert.equal(subflows[0]!['kind'], 'initial');
  assert.ok(subflows.length >= 2);
  for (const sf of subflows.slice(1)) {
    assert.equal(sf['kind'], 'join');
    assert.equal(sf['token'], c['serverKey'].token, 'a client-initiated join carries the server token');
    assert.equal(sf['established'], true);
  }
  assert.equal(c['clientKey'].token, keyToken(u64FromBigInt(BigInt('0x' + c['clientKey'].key))));
  assert.ok(c['dataFin'].client && c['dataFin'].server);
});

test('property: decoding, formatting and summarising never throw on arbitrary or mutated frames (10,000 runs each)', () => {
  const sample = readCapture(sampleCapture());
  assert.ok(!(sample instanceof Error) && 'packets' in sample);
  const summary = new MptcpSummary();
  const exercise = (packet: CapturedPacket) => {
    const d = decodeFrame(packet);
    JSON.stringify(frameJson(d, 0));
    frameText(d, 0);
    summary.add(d);
  };
  const linkTypes = [LinkType.RAW, LinkType.ETHERNET, LinkType.LINUX_SLL, LinkType.LINUX_SLL2, LinkType.NULL, LinkType.LOOP, 4242];
  fc.assert(
    fc.property(fc.constantFrom(...linkTypes), fc.constantFrom(0x45, 0x46, 0x60, 0x00), fc.uint8Array({ maxLength: 120 }), fc.nat(2000), (linkType, first, body, extra) => {
      const data = Uint8Array.from([first, ...body]);
      exercise({ frame: 1, timestampMicros: 0, linkType, data, originalLength: data.length + extra });
    }),
    { numRuns: 10_000 },
  );
  fc.assert(
    fc.property(fc.nat(sample.packets.length - 1), fc.array(fc.tuple(fc.nat(200), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.nat(200), (index, flips, cut) => {
      const original = sample.packets[index]!;
      const data = Uint8Array.from(original.data);
      for (const [at, value] of flips) if (at < data.length) data[at] = value;
      exercise({ ...original, data: data.subarray(0, Math.max(0, data.length - cut)), originalLength: data.length });
    }),
    { numRuns: 10_000 },
  );
  summaryText(summary.finish());
});

const bothFixtures = existsSync('fixtures/kernel/join.pcap') && existsSync('fixtures/kernel/add_addr.pcap');

test('decode --token / --connection: only the frames (or the summary) of one MPTCP connection of a capture holding two', { skip: bothFixtures ? false : 'fixtures/kernel/join.pcap or add_addr.pcap not captured yet' }, async () => {
  const a = readCapture(readFileSync('fixtures/kernel/join.pcap'));
  const b = readCapture(readFileSync('fixtures/kernel/add_addr.pcap'));
  assert.ok(!(a instanceof WireErrorClass) && !(b instanceof WireErrorClass));
  assert.equal(a.packets[0]!.linkType, b.packets[0]!.linkType);
  // One capture: join's frames (1..na), then add_addr's (na+1..).
  const na = a.packets.length;
  const merged = pcapBytes([...a.packets, ...b.packets].map((p) => ({ timestampMicros: p.timestampMicros, data: p.data })), a.packets[0]!.linkType);
  const summary = jsonLines(decodeToString(merged, { json: true, summary: true }).out);
  assert.equal(summary.length, 2, 'two MPTCP connections');
  const [first, second] = summary as [Record<string, any>, Record<string, any>];
  const frameNumbers = (out: string): number[] => jsonLines(out).map((f) => f['frame'] as number);
  const all = (n: number, from: number): number[] => Array.from({ length: n }, (_, i) => from + i);
  // By token: the client's or the server's, hex as --summary prints it, 0x..., or decimal.
  const clientHex = (first['clientKey'].token as number).toString(16).padStart(8, '0');
  for (const token of [first['clientKey'].token as number, first['serverKey'].token as number]) {
    assert.deepEqual(frameNumbers(decodeToString(merged, { json: true, token }).out), all(na, 1));
  }
  assert.deepEqual(frameNumbers(decodeToString(merged, { json: true, token: second['serverKey'].token as number }).out), all(b.packets.length, na + 1));
  // By number, as --summary numbers them; with --summary, only that connection.
  assert.deepEqual(frameNumbers(decodeToString(merged, { json: true, connection: 2 }).out), all(b.packets.length, na + 1));
  const one = jsonLines(decodeToString(merged, { json: true, summary: true, connection: 1 }).out);
  assert.deepEqual(one.map((c) => c['connection']), [1]);
  assert.deepEqual(jsonLines(decodeToString(merged, { json: true, token: 0x12345678 }).out), [], 'no such token: nothing');
  // The command line, through standard input: the token's spellings and bad ones.
  const bin = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'decode', '-', ...args], { encoding: 'utf8', input: merged, timeout: 60_000 });
  const viaHex = bin(['--json', '--token', clientHex]);
  assert.equal(viaHex.status, 0, viaHex.stderr);
  assert.deepEqual(frameNumbers(viaHex.stdout), all(na, 1));
  assert.equal(bin(['--json', '--token', `0x${clientHex}`]).stdout, viaHex.stdout);
  assert.equal(bin(['--json', '--token', String(first['clientKey'].token)]).stdout, viaHex.stdout);
  const text = bin(['--summary', '--connection', '2']);
  assert.match(text.stdout, /MPTCP connection 2:/);
  assert.doesNotMatch(text.stdout, /MPTCP connection 1:/);
  const bad = bin(['--token', 'nope']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^mptcp decode: bad --token 'nope' \(a 32-bit MPTCP token/);
  assert.equal(bin(['--connection', '0']).status, 2);
});
