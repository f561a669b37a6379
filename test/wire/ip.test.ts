import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { emitIpHeader, ipHeaderLength, IpProtocol, parseIpPacket } from '../../src/wire/ip.js';
import type { IpPacket, Ipv4Header, Ipv6Header } from '../../src/wire/ip.js';
import { BufferTooSmallError, WireError } from '../../src/wire/errors.js';
import { finishChecksum, onesSum } from '../../src/wire/checksum.js';
import { formatAddress, parseAddress } from '../../src/wire/address.js';
import { parseTcpSegment } from '../../src/wire/tcp.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

// Captured from Linux 6.x on loopback (tcpdump -i lo, python3 connecting 127.0.0.1 -> 127.0.0.1:40123).
// Loopback leaves the TCP checksum partial (offload), so that field holds the value tshark calculates;
// every other byte, the IPv4 header checksum included, is as the kernel wrote it.
const V4_SYN = hex(
  '4500003ccbca4000400670ef7f0000017f000001' + // IPv4, DF, TTL 64, TCP, 127.0.0.1 -> 127.0.0.1
    'ec189cbbec45844e00000000a002ffd7957a0000' + // 60440 -> 40123 SYN, data offset 10
    '0204ffd70402080a76994a82000000000103030a', // MSS 65495, SACK_PERM, TS, NOP, WS 10
);
// The same from ::1 to ::1 (port 40124).
const V6_SYN = hex(
  '600758b3002806400000000000000000000000000000000100000000000000000000000000000001' +
    'c1589cbce60ef8ed00000000a002ffc434d60000' +
    '0204ffc40402080a53c68877000000000103030a',
);

function mustParse(bytes: Uint8Array, options?: { verifyChecksum?: boolean }): IpPacket {
  const p = parseIpPacket(bytes, options);
  if (p instanceof WireError) assert.fail(`unexpected ${p.toString()}`);
  return p;
}

function mustFail(bytes: Uint8Array, code: WireError['code']): WireError {
  const p = parseIpPacket(bytes);
  assert.ok(p instanceof WireError, `expected a ${code} error`);
  assert.equal(p.code, code, p.toString());
  return p;
}

/** Recomputes the IPv4 header checksum of a hand-edited header. */
function fixIpv4Checksum(bytes: Uint8Array): Uint8Array {
  const headerLength = (bytes[0]! & 0x0f) * 4;
  bytes[10] = 0;
  bytes[11] = 0;
  const c = finishChecksum(onesSum(bytes, 0, headerLength));
  bytes[10] = c >> 8;
  bytes[11] = c & 0xff;
  return bytes;
}

/** An IPv6 packet: the fixed header of V6_SYN with `chain` (extension headers then upper layer). */
function ipv6With(firstNextHeader: number, chain: Uint8Array): Uint8Array {
  const out = new Uint8Array(40 + chain.length);
  out.set(V6_SYN.subarray(0, 40));
  out[4] = chain.length >> 8;
  out[5] = chain.length & 0xff;
  out[6] = firstNextHeader;
  out.set(chain, 40);
  return out;
}

const V6_TCP = V6_SYN.subarray(40);

test('ipv4: a real Linux SYN parses field by field and its header checksum verifies', () => {
  const p = mustParse(V4_SYN);
  const h = p.header as Ipv4Header;
  assert.equal(h.version, 4);
  assert.equal(h.headerLength, 20);
  assert.equal(h.dscp, 0);
  assert.equal(h.ecn, 0);
  assert.equal(h.totalLength, 60);
  assert.equal(h.identification, 0xcbca);
  assert.equal(h.dontFragment, true);
  assert.equal(h.moreFragments, false);
  assert.equal(h.fragmentOffset, 0);
  assert.equal(h.ttl, 64);
  assert.equal(h.protocol, IpProtocol.TCP);
  assert.equal(h.checksum, 0x70ef);
  assert.equal(formatAddress(h.src), '127.0.0.1');
  assert.equal(formatAddress(h.dst), '127.0.0.1');
  assert.equal(p.protocol, 6);
  assert.equal(p.payloadOffset, 20);
  assert.equal(p.payload.length, 40);
  // Views, not copies.
  assert.equal(p.payload.buffer, V4_SYN.buffer);
  assert.equal(p.src.buffer, V4_SYN.buffer);
  assert.equal(p.payload.byteOffset, V4_SYN.byteOffset + 20);
  const tcp = parseTcpSegment(p.payload, p);
  assert.ok(!(tcp instanceof WireError), String(tcp));
  assert.equal(tcp.dstPort, 40123);
});

test('ipv4: trailing link padding is ignored; DSCP/ECN and options are read', () => {
  const padded = new Uint8Array(V4_SYN.length + 6);
  padded.set(V4_SYN);
  padded.fill(0xee, V4_SYN.length);
  assert.equal(mustParse(padded).payload.length, 40);

  // IHL 6 with one word of options (NOP NOP NOP EOL), TOS 0xb9 (DSCP 46, ECN 1).
  const withOptions = new Uint8Array(64);
  withOptions.set(V4_SYN.subarray(0, 20));
  withOptions.set([1, 1, 1, 0], 20);
  withOptions.set(V4_SYN.subarray(20), 24);
  withOptions[0] = 0x46;
  withOptions[1] = 0xb9;
  withOptions[3] = 64;
  fixIpv4Checksum(withOptions);
  const p = mustParse(withOptions);
  const h = p.header as Ipv4Header;
  assert.equal(h.headerLength, 24);
  assert.equal(h.dscp, 46);
  assert.equal(h.ecn, 1);
  assert.equal(p.payloadOffset, 24);
  assert.deepEqual(p.payload, V4_SYN.subarray(20));
});

test('ipv4: bad version, IHL, total length and checksum are reported', () => {
  const edit = (f: (b: Uint8Array) => void, fix = true): Uint8Array => {
    const b = V4_SYN.slice();
    f(b);
    return fix ? fixIpv4Checksum(b) : b;
  };
  assert.equal(mustFail(edit((b) => (b[0] = 0x55)), 'malformed').offset, 0);
  mustFail(edit((b) => (b[0] = 0x05)), 'malformed'); // version 0
  mustFail(edit((b) => (b[0] = 0x44), false), 'malformed'); // IHL 4
  mustFail(edit((b) => (b[3] = 19)), 'malformed'); // total length below the header length
  mustFail(edit((b) => (b[3] = 61)), 'truncated'); // total length beyond the bytes
  mustFail(V4_SYN.subarray(0, 40), 'truncated');
  // IHL 15 on a 40-byte buffer: the header itself does not fit.
  mustFail(edit((b) => (b[0] = 0x4f)).subarray(0, 40), 'truncated');

  // Any single corrupted header byte fails the header checksum (the version/IHL and length bytes
  // aside, which are caught earlier), unless verification is turned off.
  for (let i = 4; i < 20; i++) {
    const b = V4_SYN.slice();
    b[i] = b[i]! ^ 0x10;
    const e = mustFail(b, 'checksum');
    assert.equal(e.offset, 10);
    // Without verification the same bytes parse (or fail for another reason: a flipped flag bit
    // makes a fragment).
    const unchecked = parseIpPacket(b, { verifyChecksum: false });
    assert.ok(!(unchecked instanceof WireError) || unchecked.code === 'unsupported', String(unchecked));
  }
  // The payload is not covered by the header checksum.
  const b = V4_SYN.slice();
  b[30] = b[30]! ^ 0xff;
  mustParse(b);
});

test('ipv4: fragments are rejected as unsupported with a clear message', () => {
  const moreFragments = V4_SYN.slice();
  moreFragments[6] = 0x20; // MF, offset 0
  const e1 = mustFail(fixIpv4Checksum(moreFragments), 'unsupported');
  assert.match(e1.message, /IPv4 fragment \(offset 0, MF=1\): fragments are not reassembled/);

  const laterFragment = V4_SYN.slice();
  laterFragment[6] = 0x00;
  laterFragment[7] = 0xb9; // offset 185 * 8 = 1480, MF 0
  const e2 = mustFail(fixIpv4Checksum(laterFragment), 'unsupported');
  assert.match(e2.message, /offset 1480, MF=0/);

  // DF with offset 0 and MF 0 is an ordinary packet; DF clear too.
  const noDf = V4_SYN.slice();
  noDf[6] = 0;
  assert.equal((mustParse(fixIpv4Checksum(noDf)).header as Ipv4Header).dontFragment, false);
});

test('ipv6: a real Linux SYN parses field by field', () => {
  const p = mustParse(V6_SYN);
  const h = p.header as Ipv6Header;
  assert.equal(h.version, 6);
  assert.equal(h.trafficClass, 0);
  assert.equal(h.flowLabel, 0x758b3);
  assert.equal(h.payloadLength, 40);
  assert.equal(h.nextHeader, 6);
  assert.equal(h.hopLimit, 64);
  assert.equal(formatAddress(h.src), '::1');
  assert.equal(formatAddress(h.dst), '::1');
  assert.equal(p.protocol, 6);
  assert.equal(p.payloadOffset, 40);
  assert.deepEqual(p.payload, V6_TCP);
  const tcp = parseTcpSegment(p.payload, p);
  assert.ok(!(tcp instanceof WireError), String(tcp));

  // Traffic class straddles the first two bytes.
  const tc = V6_SYN.slice();
  tc[0] = 0x6a;
  tc[1] = 0xb7;
  const h2 = mustParse(tc).header as Ipv6Header;
  assert.equal(h2.trafficClass, 0xab);
  assert.equal(h2.flowLabel, 0x758b3);

  // Trailing bytes beyond the payload length are ignored.
  const padded = new Uint8Array(V6_SYN.length + 3);
  padded.set(V6_SYN);
  assert.equal(mustParse(padded).payload.length, 40);
});

// Hop-by-Hop (PadN), Routing type 2 with segments left 0, Destination Options (PadN), an atomic
// Fragment header, then the TCP SYN.
const HOP_BY_HOP = hex('2b00 0104 00000000'); // next: Routing
const ROUTING = hex('3c02 0200 00000000' + '20010002000000000000000000000001'); // next: Dest opts, 24 bytes
const DEST_OPTS = hex('2c00 0104 00000000'); // next: Fragment
const ATOMIC_FRAGMENT = hex('0600 0000 12345678'); // next: TCP, offset 0, M 0
const CHAIN = new Uint8Array([...HOP_BY_HOP, ...ROUTING, ...DEST_OPTS, ...ATOMIC_FRAGMENT, ...V6_TCP]);
const V6_CHAIN = ipv6With(IpProtocol.HOPOPT, CHAIN);

test('ipv6: extension headers are walked to TCP, and the TCP checksum still verifies', () => {
  const p = mustParse(V6_CHAIN);
  assert.equal((p.header as Ipv6Header).nextHeader, 0);
  assert.equal(p.protocol, IpProtocol.TCP);
  assert.equal(p.payloadOffset, 40 + 8 + 24 + 8 + 8);
  assert.deepEqual(p.payload, V6_TCP);
  const tcp = parseTcpSegment(p.payload, p);
  assert.ok(!(tcp instanceof WireError), String(tcp));

  // Each header alone.
  for (const [first, ext] of [
    [IpProtocol.HOPOPT, HOP_BY_HOP],
    [IpProtocol.IPV6_ROUTE, ROUTING],
    [IpProtocol.IPV6_OPTS, DEST_OPTS],
    [IpProtocol.IPV6_FRAG, ATOMIC_FRAGMENT],
  ] as const) {
    const e = ext.slice();
    e[0] = 6;
    const q = mustParse(ipv6With(first, new Uint8Array([...e, ...V6_TCP])));
    assert.equal(q.protocol, 6);
    assert.equal(q.payloadOffset, 40 + e.length);
    assert.deepEqual(q.payload, V6_TCP);
  }

  // AH: length in 4-octet units minus 2 (len 4 -> 24 bytes).
  const ah = new Uint8Array(24);
  ah[0] = 6;
  ah[1] = 4;
  const q = mustParse(ipv6With(IpProtocol.AH, new Uint8Array([...ah, ...V6_TCP])));
  assert.equal(q.protocol, 6);
  assert.equal(q.payloadOffset, 64);
  assert.deepEqual(q.payload, V6_TCP);

  // ESP is an upper layer as far as the walk goes.
  const esp = mustParse(ipv6With(IpProtocol.ESP, hex('0000000100000001')));
  assert.equal(esp.protocol, IpProtocol.ESP);
  assert.equal(esp.payload.length, 8);
});

test('ipv6: No Next Header ends the chain with an empty payload', () => {
  const bare = mustParse(ipv6With(IpProtocol.IPV6_NONXT, new Uint8Array(0)));
  assert.equal(bare.protocol, 59);
  assert.equal(bare.payload.length, 0);
  const dest = hex('3b00 0104 00000000');
  const afterDest = mustParse(ipv6With(IpProtocol.IPV6_OPTS, new Uint8Array([...dest, 0xaa, 0xbb])));
  assert.equal(afterDest.protocol, 59);
  assert.equal(afterDest.payload.length, 0);
  assert.equal(afterDest.payloadOffset, 48);
});

test('ipv6: fragments, misplaced Hop-by-Hop, source routes, jumbograms and truncated chains are rejected', () => {
  const fragment = (word: number) => {
    const f = ATOMIC_FRAGMENT.slice();
    f[2] = word >> 8;
    f[3] = word & 0xff;
    return ipv6With(IpProtocol.IPV6_FRAG, new Uint8Array([...f, ...V6_TCP]));
  };
  assert.match(mustFail(fragment(0x0001), 'unsupported').message, /IPv6 fragment \(offset 0, M=1\)/);
  assert.match(mustFail(fragment(185 << 3), 'unsupported').message, /offset 1480, M=0/);

  const late = DEST_OPTS.slice();
  late[0] = IpProtocol.HOPOPT;
  mustFail(ipv6With(IpProtocol.IPV6_OPTS, new Uint8Array([...late, ...HOP_BY_HOP, ...V6_TCP])), 'malformed');

  const sourceRouted = ROUTING.slice();
  sourceRouted[0] = 6;
  sourceRouted[3] = 1;
  mustFail(ipv6With(IpProtocol.IPV6_ROUTE, new Uint8Array([...sourceRouted, ...V6_TCP])), 'unsupported');

  const jumbo = ipv6With(IpProtocol.HOPOPT, hex('0600c2040001000000000000'));
  jumbo[4] = 0;
  jumbo[5] = 0;
  assert.match(mustFail(jumbo, 'unsupported').message, /jumbogram/);

  // An extension header longer than the payload length says.
  const long = ipv6With(IpProtocol.IPV6_OPTS, hex('0605 0104 00000000'));
  assert.equal(mustFail(long, 'truncated').offset, 40);
  // A chain ending in the middle of an extension header's first 8 bytes.
  assert.equal(mustFail(ipv6With(IpProtocol.IPV6_OPTS, hex('0600 01')), 'truncated').offset, 40);
  // Payload length beyond the bytes.
  mustFail(V6_SYN.subarray(0, 79), 'truncated');
});

test('every proper prefix of a valid packet is a truncated error', () => {
  for (const packet of [V4_SYN, V6_SYN, V6_CHAIN]) {
    for (let n = 0; n < packet.length; n++) mustFail(packet.subarray(0, n), 'truncated');
    mustParse(packet);
  }
});

test('emitIpHeader reproduces the kernel headers byte for byte', () => {
  const loopback4 = parseAddress('127.0.0.1')!;
  const loopback6 = parseAddress('::1')!;
  const b4 = new Uint8Array(20);
  assert.equal(
    emitIpHeader({ src: loopback4, dst: loopback4, protocol: 6, payloadLength: 40, identification: 0xcbca }, b4, 0),
    20,
  );
  assert.deepEqual(b4, V4_SYN.subarray(0, 20));
  const b6 = new Uint8Array(41);
  assert.equal(emitIpHeader({ src: loopback6, dst: loopback6, protocol: 6, payloadLength: 40, flowLabel: 0x758b3 }, b6, 1), 40);
  assert.deepEqual(b6.subarray(1), V6_SYN.subarray(0, 40));
  assert.equal(ipHeaderLength(loopback4), 20);
  assert.equal(ipHeaderLength(loopback6), 40);

  // DF can be cleared; TTL and TOS are written.
  const b = new Uint8Array(20);
  emitIpHeader({ src: loopback4, dst: loopback4, protocol: 17, payloadLength: 0, dontFragment: false, ttl: 3, tos: 0xb8 }, b, 0);
  const p = mustParse(b);
  const h = p.header as Ipv4Header;
  assert.deepEqual([h.dontFragment, h.ttl, h.dscp, h.ecn, h.protocol], [false, 3, 46, 0, 17]);
});

test('emitIpHeader throws on caller bugs', () => {
  const a4 = parseAddress('198.18.0.1')!;
  const a6 = parseAddress('2001:2::1')!;
  assert.throws(() => emitIpHeader({ src: a4, dst: a4, protocol: 6, payloadLength: 0 }, new Uint8Array(19), 0), BufferTooSmallError);
  assert.throws(() => emitIpHeader({ src: a4, dst: a4, protocol: 6, payloadLength: 0 }, new Uint8Array(30), 11), BufferTooSmallError);
  assert.throws(() => emitIpHeader({ src: a6, dst: a6, protocol: 6, payloadLength: 0 }, new Uint8Array(39), 0), BufferTooSmallError);
  assert.throws(() => emitIpHeader({ src: a4, dst: a6, protocol: 6, payloadLength: 0 }, new Uint8Array(40), 0), RangeError);
  assert.throws(() => emitIpHeader({ src: a4, dst: a4, protocol: 6, payloadLength: 65516 }, new Uint8Array(40), 0), RangeError);
  assert.throws(() => emitIpHeader({ src: a6, dst: a6, protocol: 6, payloadLength: 65536 }, new Uint8Array(40), 0), RangeError);
});

// --- properties -------------------------------------------------------------------------------------

const RUNS = { numRuns: 10_000 };

/** Checks the result is a WireError or a packet whose payload lies within the input. */
function checkSane(bytes: Uint8Array, r: IpPacket | WireError): void {
  if (r instanceof WireError) return;
  assert.ok(r.payloadOffset >= 20 && r.payloadOffset + r.payload.length <= bytes.length);
  assert.equal(r.payload.byteOffset, bytes.byteOffset + r.payloadOffset);
}

test('property: parseIpPacket never throws on arbitrary bytes (10,000 runs)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 120 }), fc.boolean(), (bytes, verifyChecksum) => {
      checkSane(bytes, parseIpPacket(bytes, { verifyChecksum }));
    }),
    RUNS,
  );
});

test('property: parseIpPacket never throws on arbitrary bytes behind a valid header (10,000 runs)', () => {
  const extensionOrAny = fc.oneof(fc.constantFrom(0, 6, 43, 44, 51, 59, 60), fc.integer({ min: 0, max: 255 }));
  fc.assert(
    fc.property(
      fc.boolean(),
      extensionOrAny,
      fc.uint8Array({ minLength: 0, maxLength: 120 }),
      fc.oneof(fc.constant(0), fc.integer({ min: -8, max: 8 })),
      (v6, protocol, tail, lengthSkew) => {
        const src = v6 ? parseAddress('2001:2::1')! : parseAddress('198.18.0.1')!;
        const headerLength = ipHeaderLength(src);
        const bytes = new Uint8Array(headerLength + tail.length);
        // Mostly the true payload length, sometimes a little off either way.
        const payloadLength = Math.max(0, tail.length + lengthSkew);
        emitIpHeader({ src, dst: src, protocol, payloadLength }, bytes, 0);
        bytes.set(tail, headerLength);
        checkSane(bytes, parseIpPacket(bytes));
      },
    ),
    RUNS,
  );
});

test('property: emitIpHeader then parseIpPacket round-trips both families (10,000 runs)', () => {
  const address = (n: 4 | 16) => fc.uint8Array({ minLength: n, maxLength: n });
  fc.assert(
    fc.property(
      fc.oneof(fc.tuple(address(4), address(4)), fc.tuple(address(16), address(16))),
      fc.integer({ min: 0, max: 255 }).filter((p) => ![0, 43, 44, 51, 59, 60].includes(p)),
      fc.integer({ min: 0, max: 100 }),
      fc.integer({ min: 0, max: 255 }),
      fc.integer({ min: 0, max: 0xffff }),
      fc.boolean(),
      fc.integer({ min: 0, max: 255 }),
      fc.integer({ min: 0, max: 0xfffff }),
      fc.integer({ min: 0, max: 7 }),
      ([src, dst], protocol, payloadLength, ttl, identification, dontFragment, tos, flowLabel, offset) => {
        const buf = new Uint8Array(offset + 40 + payloadLength);
        const n = emitIpHeader({ src, dst, protocol, payloadLength, ttl, identification, dontFragment, tos, flowLabel }, buf, offset);
        assert.equal(n, ipHeaderLength(src));
        const bytes = buf.subarray(offset, offset + n + payloadLength);
        const p = mustParse(bytes);
        assert.deepEqual([p.src, p.dst, p.protocol, p.payload.length, p.payloadOffset], [src, dst, protocol, payloadLength, n]);
        if (p.header.version === 4) {
          const h = p.header;
          assert.deepEqual(
            [h.ttl, h.identification, h.dontFragment, (h.dscp << 2) | h.ecn, h.totalLength],
            [ttl, identification, dontFragment, tos, 20 + payloadLength],
          );
          assert.equal(finishChecksum(onesSum(bytes, 0, 20)), 0);
        } else {
          const h = p.header;
          assert.deepEqual([h.hopLimit, h.trafficClass, h.flowLabel, h.payloadLength], [ttl, tos, flowLabel, payloadLength]);
        }
      },
    ),
    RUNS,
  );
});
