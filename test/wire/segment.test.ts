/**
 * Whole packets: IPv4/IPv6 header + TCP header + options (MPTCP options among the others) + payload.
 * The per-codec tests cover each layer; these check that the layers compose: what the emitters write, the
 * parsers read back exactly, and no mutation of such a packet makes any parser throw.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { emitIpHeader, ipHeaderLength, parseIpPacket, IpProtocol } from '../../src/wire/ip.js';
import { emitTcpSegment, parseTcpSegment, tcpHeaderLength, tcpOptionsLength, type TcpOption } from '../../src/wire/tcp.js';
import { mptcpOptionLength } from '../../src/wire/mptcp-option.js';
import { isWireError } from '../../src/wire/errors.js';
import { bytesOf, mptcpOptionArb, u16, u32 } from '../support/arbitraries.js';

const otherOptionArb: fc.Arbitrary<TcpOption> = fc.oneof(
  fc.constant<TcpOption>({ kind: 'nop' }),
  u16.map<TcpOption>((mss) => ({ kind: 'mss', mss })),
  fc.record({ tsVal: u32, tsEcr: u32 }).map<TcpOption>((t) => ({ kind: 'timestamps', ...t })),
  fc.constant<TcpOption>({ kind: 'sackPermitted' }),
  fc.integer({ min: 0, max: 14 }).map<TcpOption>((shift) => ({ kind: 'windowScale', shift })),
);

/** An option list of at most 40 bytes with one or two MPTCP options placed among other options. */
const optionsArb: fc.Arbitrary<TcpOption[]> = fc
  .tuple(fc.array(mptcpOptionArb, { minLength: 1, maxLength: 2 }), fc.array(otherOptionArb, { maxLength: 4 }), fc.nat())
  .map(([mp, others, seed]) => {
    const list: TcpOption[] = [...others];
    for (const option of mp) list.splice(seed % (list.length + 1), 0, { kind: 'mptcp', option });
    return list;
  })
  .filter((list) => tcpOptionsLength(list) <= 40 && list.some((o) => o.kind === 'mptcp'));

const packetArb = fc.record({
  v6: fc.boolean(),
  src4: bytesOf(4),
  dst4: bytesOf(4),
  src6: bytesOf(16),
  dst6: bytesOf(16),
  srcPort: u16,
  dstPort: u16,
  seq: u32,
  ack: u32,
  flags: fc.integer({ min: 0, max: 0xff }),
  window: u16,
  options: optionsArb,
  payload: fc.uint8Array({ maxLength: 64 }),
});

type PacketInput = typeof packetArb extends fc.Arbitrary<infer T> ? T : never;

function build(p: PacketInput): { bytes: Uint8Array; src: Uint8Array; dst: Uint8Array } {
  const src = p.v6 ? p.src6 : p.src4;
  const dst = p.v6 ? p.dst6 : p.dst4;
  const tcpLength = tcpHeaderLength(p.options) + p.payload.length;
  const buf = new Uint8Array(ipHeaderLength(src) + tcpLength);
  const h = emitIpHeader({ src, dst, protocol: IpProtocol.TCP, payloadLength: tcpLength }, buf, 0);
  const n = emitTcpSegment({ ...p, options: p.options }, src, dst, buf, h);
  assert.equal(h + n, buf.length);
  return { bytes: buf, src, dst };
}

test('property: IP + TCP + MPTCP options round trip with checksums verified (10,000 runs)', () => {
  fc.assert(
    fc.property(packetArb, (p) => {
      const { bytes, src, dst } = build(p);
      const ip = parseIpPacket(bytes);
      assert.ok(!isWireError(ip), String(ip));
      assert.deepEqual(ip.src, src);
      assert.deepEqual(ip.dst, dst);
      assert.equal(ip.protocol, IpProtocol.TCP);
      const tcp = parseTcpSegment(ip.payload, ip);
      assert.ok(!isWireError(tcp), String(tcp));
      assert.equal(tcp.seq, p.seq);
      assert.equal(tcp.ack, p.ack);
      assert.equal(tcp.flags, p.flags);
      assert.deepEqual(tcp.payload, p.payload);
      // Padding parses back as one trailing EOL; everything before it is exactly what was emitted.
      const parsed = tcp.options.filter((o, i) => !(o.kind === 'eol' && i === tcp.options.length - 1));
      assert.deepEqual(parsed, p.options);
      const mptcpBytes = p.options.reduce((n, o) => n + (o.kind === 'mptcp' ? mptcpOptionLength(o.option) : 0), 0);
      assert.ok(mptcpBytes > 0);
    }),
    { numRuns: 10_000 },
  );
});

test('property: mutated packets never make the IP, TCP or MPTCP parsers throw (10,000 runs)', () => {
  fc.assert(
    fc.property(packetArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), fc.nat(), (p, edits, cut) => {
      const { bytes } = build(p);
      for (const [at, value] of edits) bytes[at % bytes.length] = value;
      const truncated = bytes.subarray(0, bytes.length - (cut % 8));
      const ip = parseIpPacket(truncated, { verifyChecksum: false });
      if (isWireError(ip)) return;
      const tcp = parseTcpSegment(ip.payload);
      if (isWireError(tcp)) return;
      for (const o of tcp.options) assert.ok(typeof o.kind === 'string');
    }),
    { numRuns: 10_000 },
  );
});

test('property: emitters write every byte of header, options and payload (safe for unzeroed buffers) (10,000 runs)', () => {
  fc.assert(
    fc.property(packetArb, (p) => {
      const zeroed = build(p).bytes;
      const src = p.v6 ? p.src6 : p.src4;
      const dst = p.v6 ? p.dst6 : p.dst4;
      const dirty = new Uint8Array(zeroed.length).fill(0xff);
      const h = emitIpHeader({ src, dst, protocol: IpProtocol.TCP, payloadLength: zeroed.length - ipHeaderLength(src) }, dirty, 0);
      emitTcpSegment({ ...p, options: p.options }, src, dst, dirty, h);
      assert.deepEqual(dirty, zeroed);
    }),
    { numRuns: 10_000 },
  );
});
