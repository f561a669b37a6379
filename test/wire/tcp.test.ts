import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  emitTcpSegment,
  parseTcpOptions,
  parseTcpSegment,
  TcpFlags,
  tcpFlagsToString,
  tcpHeaderLength,
  tcpOptionsLength,
} from '../../src/wire/tcp.js';
import type { TcpOption, TcpSegment, TcpSegmentRepr } from '../../src/wire/tcp.js';
import { parseIpPacket } from '../../src/wire/ip.js';
import type { IpPacket } from '../../src/wire/ip.js';
import { BufferTooSmallError, WireError } from '../../src/wire/errors.js';
import { parseAddress } from '../../src/wire/address.js';
import { finishChecksum, onesSum, pseudoHeaderSum } from '../../src/wire/checksum.js';
import { u64 } from '../../src/wire/u64.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

// Captured from Linux 6.x on loopback with tcpdump (python3 client and server on 127.0.0.1 / ::1).
// Loopback leaves the TCP checksum partial (checksum offload), so that field holds the value tshark
// calculates; every other byte is as the kernel wrote it.
const PACKETS = {
  /** 60440 -> 40123 SYN: MSS 65495, SACK_PERM, TSval 1989757570, NOP, WS 10. */
  v4Syn: hex(
    '4500003ccbca4000400670ef7f0000017f000001' +
      'ec189cbbec45844e00000000a002ffd7957a0000' +
      '0204ffd70402080a76994a82000000000103030a',
  ),
  /** 60440 -> 40123 PSH/ACK with "ping": NOP NOP TS. */
  v4Data: hex(
    '45000038cbcc4000400670f17f0000017f000001' +
      'ec189cbbec45844fff252b8980180040b03f0000' +
      '0101080a76994a82eb6b18be' +
      '70696e67',
  ),
  /** ::1 49496 -> 40124 SYN. */
  v6Syn: hex(
    '600758b3002806400000000000000000000000000000000100000000000000000000000000000001' +
      'c1589cbce60ef8ed00000000a002ffc434d60000' +
      '0204ffc40402080a53c68877000000000103030a',
  ),
  /** An MPTCP (IPPROTO_MPTCP socket) SYN: ... WS 10, MP_CAPABLE v1 with no key (flags H). */
  mptcpSyn: hex(
    '450000400e06400040062eb07f0000017f000001' +
      'bc8a9cbdb047d48400000000b002ffd791460000' +
      '0204ffd70402080af8e2b8b7000000000103030a1e040101',
  ),
  /** MPTCP server data "pong": NOP NOP TS, DSS with 64-bit DATA_ACK and mapping, no checksum, NOP NOP. */
  mptcpData: hex(
    '450000549c0f40004006a0927f0000017f000001' +
      '9cbdbc8acf9a7ffeb047d489f0180040cbf60000' +
      '0101080a0b76d55af8e2b8b8' +
      '1e1a200f996f170d76943a33ce1e35642261d70d0000000100040101' +
      '706f6e67',
  ),
};

function ip(bytes: Uint8Array): IpPacket {
  const p = parseIpPacket(bytes);
  if (p instanceof WireError) assert.fail(p.toString());
  return p;
}

function mustParse(bytes: Uint8Array, pseudo?: { src: Uint8Array; dst: Uint8Array }): TcpSegment {
  const s = parseTcpSegment(bytes, pseudo);
  if (s instanceof WireError) assert.fail(`unexpected ${s.toString()}`);
  return s;
}

/** Re-emits a parsed segment; the bytes must come out identical (byte-exact re-encoding). */
function assertReEmits(packet: IpPacket, segment: TcpSegment): void {
  const buf = new Uint8Array(packet.payload.length);
  const n = emitTcpSegment(segment, packet.src, packet.dst, buf, 0);
  assert.equal(n, packet.payload.length);
  assert.deepEqual(buf, packet.payload);
}

test('a real Linux IPv4 SYN parses field by field, checksum verified, and re-emits identically', () => {
  const p = ip(PACKETS.v4Syn);
  const s = mustParse(p.payload, p);
  assert.equal(s.srcPort, 60440);
  assert.equal(s.dstPort, 40123);
  assert.equal(s.seq, 0xec45844e);
  assert.equal(s.ack, 0);
  assert.equal(s.headerLength, 40);
  assert.equal(s.flags, TcpFlags.SYN);
  assert.equal(s.window, 65495);
  assert.equal(s.checksum, 0x957a);
  assert.equal(s.urgentPointer, 0);
  assert.deepEqual(s.options, [
    { kind: 'mss', mss: 65495 },
    { kind: 'sackPermitted' },
    { kind: 'timestamps', tsVal: 1989757570, tsEcr: 0 },
    { kind: 'nop' },
    { kind: 'windowScale', shift: 10 },
  ]);
  assert.equal(s.payload.length, 0);
  assert.equal(tcpOptionsLength(s.options), 20);
  assert.equal(tcpHeaderLength(s.options), 40);
  assertReEmits(p, s);
});

test('a real IPv4 data segment: NOP NOP TS and a payload view', () => {
  const p = ip(PACKETS.v4Data);
  const s = mustParse(p.payload, p);
  assert.equal(s.flags, TcpFlags.PSH | TcpFlags.ACK);
  assert.equal(s.seq, 0xec45844f);
  assert.equal(s.ack, 0xff252b89);
  assert.equal(s.window, 64);
  assert.deepEqual(s.options, [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamps', tsVal: 1989757570, tsEcr: 0xeb6b18be }]);
  assert.equal(Buffer.from(s.payload).toString(), 'ping');
  assert.equal(s.payload.buffer, PACKETS.v4Data.buffer);
  assert.equal(s.payload.byteOffset, PACKETS.v4Data.byteOffset + 52);
  assertReEmits(p, s);
});

test('a real IPv6 SYN: checksum over the IPv6 pseudo-header', () => {
  const p = ip(PACKETS.v6Syn);
  const s = mustParse(p.payload, p);
  assert.equal(s.srcPort, 49496);
  assert.equal(s.window, 65476);
  assert.deepEqual(s.options[0], { kind: 'mss', mss: 65476 });
  assertReEmits(p, s);
  // The IPv4 pseudo-header does not verify it.
  const v4 = parseAddress('127.0.0.1')!;
  assert.equal((parseTcpSegment(p.payload, { src: v4, dst: v4 }) as WireError).code, 'checksum');
});

test('real MPTCP segments: MP_CAPABLE on the SYN, DSS on data, both re-emit identically', () => {
  const syn = ip(PACKETS.mptcpSyn);
  const s = mustParse(syn.payload, syn);
  assert.equal(s.options.length, 6);
  assert.deepEqual(s.options[5], { kind: 'mptcp', option: { subtype: 'MP_CAPABLE', version: 1, flags: 0x01 } });
  assertReEmits(syn, s);

  const data = ip(PACKETS.mptcpData);
  const d = mustParse(data.payload, data);
  assert.deepEqual(d.options, [
    { kind: 'nop' },
    { kind: 'nop' },
    { kind: 'timestamps', tsVal: 0x0b76d55a, tsEcr: 0xf8e2b8b8 },
    {
      kind: 'mptcp',
      option: {
        subtype: 'DSS',
        dataFin: false,
        dataAck: u64(0x996f170d, 0x76943a33),
        dataAck64: true,
        mapping: { dsn: u64(0xce1e3564, 0x2261d70d), dsn64: true, subflowSeq: 1, dataLength: 4 },
      },
    },
    { kind: 'nop' },
    { kind: 'nop' },
  ]);
  assert.equal(Buffer.from(d.payload).toString(), 'pong');
  assertReEmits(data, d);
});

test('checksum errors are detected anywhere in the segment and in the pseudo-header', () => {
  const p = ip(PACKETS.v4Data);
  for (let i = 0; i < p.payload.length; i++) {
    const b = p.payload.slice();
    b[i] = b[i]! ^ 0x01;
    const r = parseTcpSegment(b, p);
    // Flipping the data-offset nibble may make the header not fit first; otherwise: checksum.
    assert.ok(r instanceof WireError, `byte ${i}`);
    assert.ok(r.code === 'checksum' || i === 12, `byte ${i}: ${r.toString()}`);
    // Without a pseudo-header there is no verification.
    if (i !== 12) assert.ok(!(parseTcpSegment(b) instanceof WireError));
  }
  const otherSrc = parseAddress('127.0.0.2')!;
  assert.equal((parseTcpSegment(p.payload, { src: otherSrc, dst: p.dst }) as WireError).code, 'checksum');
});

test('bad data offsets and every truncation are errors, never exceptions', () => {
  const tcp = ip(PACKETS.v4Syn).payload;
  for (let n = 0; n < tcp.length; n++) {
    const r = parseTcpSegment(tcp.subarray(0, n));
    assert.ok(r instanceof WireError && r.code === 'truncated', `prefix ${n}`);
  }
  for (let dataOffset = 0; dataOffset < 5; dataOffset++) {
    const b = tcp.slice();
    b[12] = dataOffset << 4;
    const r = parseTcpSegment(b);
    assert.ok(r instanceof WireError && r.code === 'malformed');
    assert.equal(r.offset, 12);
  }
  const b = tcp.slice();
  b[12] = 0xf0; // 60-byte header in 40 bytes
  assert.equal((parseTcpSegment(b) as WireError).code, 'truncated');
  // Data offset 5 with option bytes following: those are payload.
  b[12] = 0x50;
  const s = mustParse(b);
  assert.deepEqual(s.options, []);
  assert.equal(s.payload.length, 20);
});

test('parseTcpOptions: EOL, NOP, known kinds, unknown kinds', () => {
  // EOL is recorded once and ends parsing.
  assert.deepEqual(parseTcpOptions(hex('0101 00 0204ffff 00')), [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'eol' }]);
  // Window scale shift kept as sent, even above 14.
  assert.deepEqual(parseTcpOptions(hex('030315')), [{ kind: 'windowScale', shift: 21 }]);
  // SACK with 1 to 4 blocks.
  for (let n = 1; n <= 4; n++) {
    const blocks = Array.from({ length: n }, (_, k) => [0xfffffff0 + k, k * 7] as const);
    const bytes = new Uint8Array(2 + 8 * n);
    bytes[0] = 5;
    bytes[1] = 2 + 8 * n;
    const view = new DataView(bytes.buffer);
    blocks.forEach(([l, r], k) => {
      view.setUint32(2 + 8 * k, l);
      view.setUint32(6 + 8 * k, r);
    });
    assert.deepEqual(parseTcpOptions(bytes), [{ kind: 'sack', blocks }]);
  }
  // Unknown kinds keep their data; a zero-length body is fine.
  const opts = parseTcpOptions(hex('fe06aabbccdd 1302 01'));
  assert.deepEqual(opts, [
    { kind: 'unknown', type: 0xfe, data: hex('aabbccdd') },
    { kind: 'unknown', type: 19, data: new Uint8Array(0) },
    { kind: 'nop' },
  ]);
  assert.deepEqual(parseTcpOptions(new Uint8Array(0)), []);
});

function kinds(options: readonly TcpOption[]): string[] {
  return options.map((o) => (o.kind === 'malformed' || o.kind === 'unknown' ? `${o.kind}:${o.type}` : o.kind));
}

test('parseTcpOptions: a known kind with a wrong length is malformed and parsing continues', () => {
  const cases: Array<[string, number]> = [
    ['0205000000', 2], // MSS length 5
    ['0302', 3], // window scale length 2
    ['040300', 4], // SACK-permitted length 3
    ['0502', 5], // SACK with no block
    ['050b0000000000000000ff', 5], // SACK length 11
    ['0808000000000000', 8], // timestamps length 8
    ['1e02', 30], // MPTCP with no subtype
    ['1e05000000', 30], // MP_CAPABLE of length 5
  ];
  for (const [option, type] of cases) {
    const bytes = hex(option + '01 0303 07');
    const opts = parseTcpOptions(bytes);
    assert.deepEqual(kinds(opts), [`malformed:${type}`, 'nop', 'windowScale'], option);
    const bad = opts[0]!;
    assert.ok(bad.kind === 'malformed');
    assert.deepEqual(bad.data, hex(option));
    assert.ok(bad.error instanceof WireError);
    assert.equal(bad.error.offset >= 0 && bad.error.offset < option.length / 2, true);
  }
});

test('parseTcpOptions: a length octet < 2 or past the end stops parsing', () => {
  for (const [area, before] of [
    ['0101 0200', ['nop', 'nop']], // MSS length 0
    ['0101 fe01 0101', ['nop', 'nop']], // length 1
    ['080a 0000', []], // timestamps running past the end
    ['0101 1e', ['nop', 'nop']], // a kind with no length octet
    ['1e0c 0000 0000', []], // MPTCP running past the end
  ] as const) {
    const bytes = hex(area);
    const opts = parseTcpOptions(bytes);
    assert.deepEqual(kinds(opts).slice(0, -1), before, area);
    const last = opts[opts.length - 1]!;
    assert.ok(last.kind === 'malformed', area);
    assert.equal(last.error.offset, before.length);
    assert.deepEqual(last.data, bytes.subarray(before.length), area);
  }
});

test('emitTcpSegment: EOL padding, odd offsets, returned length, caller bugs', () => {
  const src = parseAddress('198.18.0.1')!;
  const dst = parseAddress('198.18.0.2')!;
  const repr: TcpSegmentRepr = {
    srcPort: 1,
    dstPort: 2,
    seq: 0xffffffff,
    ack: 7,
    flags: TcpFlags.ACK,
    window: 1000,
    options: [{ kind: 'windowScale', shift: 7 }],
    payload: hex('0102030405'),
  };
  const buf = new Uint8Array(64).fill(0xaa);
  const n = emitTcpSegment(repr, src, dst, buf, 3);
  assert.equal(n, 24 + 5);
  assert.deepEqual(buf.subarray(3 + 20, 3 + 24), hex('03030700'));
  assert.equal(buf[2], 0xaa);
  assert.equal(buf[3 + n], 0xaa);
  const s = mustParse(buf.subarray(3, 3 + n), { src, dst });
  assert.deepEqual(s.options, [{ kind: 'windowScale', shift: 7 }, { kind: 'eol' }]);
  assert.equal(s.urgentPointer, 0);

  // Exactly 40 option bytes fit; 41 do not.
  const forty: TcpOption[] = [
    { kind: 'sack', blocks: [[1, 2], [3, 4], [5, 6], [7, 8]] },
    { kind: 'nop' },
    { kind: 'nop' },
    { kind: 'sackPermitted' },
    { kind: 'nop' },
    { kind: 'nop' },
  ];
  assert.equal(emitTcpSegment({ ...repr, options: forty }, src, dst, new Uint8Array(65), 0), 65);
  assert.throws(() => emitTcpSegment({ ...repr, options: [...forty, { kind: 'nop' }] }, src, dst, new Uint8Array(100), 0), RangeError);
  assert.throws(() => emitTcpSegment(repr, src, dst, new Uint8Array(28), 0), BufferTooSmallError);
  assert.throws(() => emitTcpSegment(repr, src, dst, new Uint8Array(64), 40), BufferTooSmallError);

  // A malformed entry is written verbatim (fault injection) and parses back the same.
  const broken = parseTcpOptions(hex('0205000000'));
  const b2 = new Uint8Array(40);
  const m = emitTcpSegment({ ...repr, options: broken, payload: new Uint8Array(0) }, src, dst, b2, 0);
  assert.deepEqual(kinds(mustParse(b2.subarray(0, m), { src, dst }).options), ['malformed:2', 'eol']);
});

test('tcpFlagsToString gives Wireshark-like text', () => {
  assert.equal(tcpFlagsToString(TcpFlags.SYN), 'SYN');
  assert.equal(tcpFlagsToString(TcpFlags.SYN | TcpFlags.ACK), 'SYN, ACK');
  assert.equal(tcpFlagsToString(0x18), 'PSH, ACK');
  assert.equal(tcpFlagsToString(0x11), 'FIN, ACK');
  assert.equal(tcpFlagsToString(0x19), 'FIN, PSH, ACK');
  assert.equal(tcpFlagsToString(0x14), 'RST, ACK');
  assert.equal(tcpFlagsToString(0xc2), 'SYN, ECE, CWR');
  assert.equal(tcpFlagsToString(0), '<None>');
  assert.equal(tcpFlagsToString(0xff), 'FIN, SYN, RST, PSH, ACK, URG, ECE, CWR');
});

// --- properties -------------------------------------------------------------------------------------

const RUNS = { numRuns: 10_000 };
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const KNOWN_KINDS = [0, 1, 2, 3, 4, 5, 8, 30];

/** Any non-MPTCP option except EOL (which would end the list). */
const optionArb: fc.Arbitrary<TcpOption> = fc.oneof(
  fc.constant<TcpOption>({ kind: 'nop' }),
  u16.map((mss): TcpOption => ({ kind: 'mss', mss })),
  fc.integer({ min: 0, max: 255 }).map((shift): TcpOption => ({ kind: 'windowScale', shift })),
  fc.constant<TcpOption>({ kind: 'sackPermitted' }),
  fc
    .array(fc.tuple(u32, u32), { minLength: 1, maxLength: 4 })
    .map((blocks): TcpOption => ({ kind: 'sack', blocks })),
  fc.tuple(u32, u32).map(([tsVal, tsEcr]): TcpOption => ({ kind: 'timestamps', tsVal, tsEcr })),
  fc
    .tuple(
      fc.integer({ min: 0, max: 255 }).filter((k) => !KNOWN_KINDS.includes(k)),
      fc.uint8Array({ minLength: 0, maxLength: 12 }),
    )
    .map(([type, data]): TcpOption => ({ kind: 'unknown', type, data })),
);

/** Options totalling at most 40 bytes (a prefix of an arbitrary list). */
const optionsArb = fc.array(optionArb, { maxLength: 10 }).map((all) => {
  const kept: TcpOption[] = [];
  let total = 0;
  for (const o of all) {
    const n = tcpOptionsLength([o]);
    if (total + n > 40) break;
    kept.push(o);
    total += n;
  }
  return kept;
});

const addressPair = fc.oneof(
  fc.tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ minLength: 4, maxLength: 4 })),
  fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 16, maxLength: 16 })),
);

test('property: emitTcpSegment then parseTcpSegment round-trips, checksum verifies (10,000 runs)', () => {
  fc.assert(
    fc.property(
      fc.record({
        srcPort: u16,
        dstPort: u16,
        seq: u32,
        ack: u32,
        flags: fc.integer({ min: 0, max: 255 }),
        window: u16,
        urgentPointer: u16,
        options: optionsArb,
        payload: fc.uint8Array({ minLength: 0, maxLength: 64 }),
      }),
      addressPair,
      fc.integer({ min: 0, max: 5 }),
      (repr, [src, dst], offset) => {
        const buf = new Uint8Array(offset + 60 + repr.payload.length + 3);
        const n = emitTcpSegment(repr, src, dst, buf, offset);
        const headerLength = tcpHeaderLength(repr.options);
        assert.equal(n, headerLength + repr.payload.length);
        const bytes = buf.subarray(offset, offset + n);
        assert.equal(finishChecksum(onesSum(bytes, 0, n, pseudoHeaderSum(src, dst, 6, n))), 0);
        const s = mustParse(bytes, { src, dst });
        const padded = tcpOptionsLength(repr.options) < headerLength - 20;
        const { checksum, headerLength: parsedHeaderLength, ...rest } = s;
        void checksum;
        assert.equal(parsedHeaderLength, headerLength);
        assert.deepEqual(rest, { ...repr, options: padded ? [...repr.options, { kind: 'eol' }] : repr.options });
      },
    ),
    RUNS,
  );
});

test('property: parseTcpSegment and parseTcpOptions never throw on arbitrary bytes (10,000 runs)', () => {
  const v4 = parseAddress('198.18.0.1')!;
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 80 }), fc.boolean(), (bytes, verify) => {
      const s = parseTcpSegment(bytes, verify ? { src: v4, dst: v4 } : undefined);
      if (!(s instanceof WireError)) assert.equal(s.headerLength + s.payload.length, bytes.length);
      parseTcpOptions(bytes);
    }),
    RUNS,
  );
});

test('property: arbitrary options behind a valid header parse without throwing (10,000 runs)', () => {
  // Option areas biased towards the known kinds so that their length checks are exercised.
  const optionByte = fc.oneof(fc.constantFrom(...KNOWN_KINDS, 2, 4, 8, 10), fc.integer({ min: 0, max: 255 }));
  fc.assert(
    fc.property(
      fc.array(optionByte, { minLength: 0, maxLength: 40 }).map((a) => Uint8Array.from(a)),
      fc.uint8Array({ minLength: 0, maxLength: 8 }),
      (area, payload) => {
        const words = Math.ceil(area.length / 4);
        const bytes = new Uint8Array(20 + words * 4 + payload.length);
        bytes[12] = (5 + words) << 4;
        bytes.set(area, 20);
        bytes.set(payload, 20 + words * 4);
        const s = mustParse(bytes);
        assert.equal(s.payload.length, payload.length);
        // Every option lies within the area, and nothing follows an EOL or a length-breaking entry.
        for (let k = 0; k < s.options.length; k++) {
          const o = s.options[k]!;
          if (o.kind === 'eol') assert.equal(k, s.options.length - 1);
          if (o.kind === 'unknown' || o.kind === 'malformed') assert.ok(o.data.length <= words * 4);
        }
        assert.ok(tcpOptionsLength(s.options) <= words * 4);
      },
    ),
    RUNS,
  );
});
