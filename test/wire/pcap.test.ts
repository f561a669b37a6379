import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { WireError } from '../../src/wire/errors.js';
import { CaptureReader, LinkType, PcapWriter, linkPayload, pcapBytes, readCapture, type Capture } from '../../src/wire/pcap.js';

// ---------------------------------------------------------------------------------------------------------
// Builders for captures in any byte order / resolution.

function u16(v: number, le: boolean): number[] {
  return le ? [v & 0xff, (v >> 8) & 0xff] : [(v >> 8) & 0xff, v & 0xff];
}
function u32(v: number, le: boolean): number[] {
  const b = [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
  return le ? b.reverse() : b;
}
function pad4(bytes: number[]): number[] {
  const out = [...bytes];
  while (out.length % 4 !== 0) out.push(0);
  return out;
}

/** A classic pcap file: magic chosen by `nano`/`modified`, in either byte order. */
function classicPcap(
  records: ReadonlyArray<{ sec: number; frac: number; data: Uint8Array; orig?: number }>,
  opts: { le: boolean; nano?: boolean; modified?: boolean; linkType?: number },
): Uint8Array {
  const magic = opts.modified ? 0xa1b2cd34 : opts.nano ? 0xa1b23c4d : 0xa1b2c3d4;
  const out: number[] = [...u32(magic, opts.le), ...u16(2, opts.le), ...u16(4, opts.le), ...u32(0, opts.le), ...u32(0, opts.le)];
  out.push(...u32(65535, opts.le), ...u32(opts.linkType ?? LinkType.RAW, opts.le));
  for (const r of records) {
    out.push(...u32(r.sec, opts.le), ...u32(r.frac, opts.le), ...u32(r.data.length, opts.le), ...u32(r.orig ?? r.data.length, opts.le));
    if (opts.modified) out.push(...u32(1, opts.le), ...u16(0x0800, opts.le), 0, 0);
    out.push(...r.data);
  }
  return Uint8Array.from(out);
}

function block(type: number, body: number[], le: boolean): number[] {
  const padded = pad4(body);
  const total = 12 + padded.length;
  return [...u32(type, le), ...u32(total, le), ...padded, ...u32(total, le)];
}
function shb(le: boolean): number[] {
  return block(0x0a0d0d0a, [...u32(0x1a2b3c4d, le), ...u16(1, le), ...u16(0, le), ...u32(0xffffffff, le), ...u32(0xffffffff, le)], le);
}
function idb(linkType: number, le: boolean, options: number[] = []): number[] {
  return block(1, [...u16(linkType, le), ...u16(0, le), ...u32(0, le), ...options], le);
}
function option(code: number, value: number[], le: boolean): number[] {
  return [...u16(code, le), ...u16(value.length, le), ...pad4(value)];
}
const END_OF_OPTIONS = [0, 0, 0, 0];
function epb(interfaceId: number, ts: bigint, data: Uint8Array, le: boolean, orig?: number): number[] {
  const hi = Number(ts >> 32n);
  const lo = Number(ts & 0xffffffffn);
  return block(6, [...u32(interfaceId, le), ...u32(hi, le), ...u32(lo, le), ...u32(data.length, le), ...u32(orig ?? data.length, le), ...pad4([...data])], le);
}
function spb(data: Uint8Array, le: boolean, orig?: number): number[] {
  return block(3, [...u32(orig ?? data.length, le), ...pad4([...data])], le);
}
function opb(interfaceId: number, ts: bigint, data: Uint8Array, le: boolean): number[] {
  const hi = Number(ts >> 32n);
  const lo = Number(ts & 0xffffffffn);
  return block(2, [...u16(interfaceId, le), ...u16(0, le), ...u32(hi, le), ...u32(lo, le), ...u32(data.length, le), ...u32(data.length, le), ...pad4([...data])], le);
}

const bytesOf = (...xs: number[]) => Uint8Array.from(xs);
const P1 = bytesOf(0x45, 1, 2, 3, 4, 5, 6);
const P2 = bytesOf(0x60, 9, 8, 7, 6, 5, 4, 3, 2);
const P3 = bytesOf(0x45);

function capture(bytes: Uint8Array): Capture {
  const c = readCapture(bytes);
  if (c instanceof WireError) assert.fail(`unexpected WireError: ${c.message}`);
  return c;
}

// ---------------------------------------------------------------------------------------------------------

test('pcap: writer -> reader round trip (timestamps, lengths, snap length)', () => {
  const chunks: Uint8Array[] = [];
  const writer = new PcapWriter((c) => chunks.push(c), LinkType.RAW, 8);
  assert.equal(chunks.length, 1, 'global header written on construction');
  assert.equal(chunks[0]!.length, 24);
  writer.writePacket(1_700_000_000_123_456, P1);
  writer.writePacket(1_700_000_001_000_000, P2); // longer than the snap length: cut to 8, original 9
  writer.writePacket(0, new Uint8Array(0));
  const file = Buffer.concat(chunks);
  const c = capture(file);
  assert.equal(c.format, 'pcap');
  assert.equal(c.packets.length, 3);
  assert.deepEqual(
    c.packets.map((p) => [p.frame, p.timestampMicros, p.linkType, p.data.length, p.originalLength]),
    [
      [1, 1_700_000_000_123_456, 101, 7, 7],
      [2, 1_700_000_001_000_000, 101, 8, 9],
      [3, 0, 101, 0, 0],
    ],
  );
  assert.deepEqual([...c.packets[0]!.data], [...P1]);
  assert.deepEqual([...c.packets[1]!.data], [...P2.subarray(0, 8)]);
  // pcapBytes is the same file in one call (default snap length keeps everything).
  const whole = pcapBytes([{ timestampMicros: 5, data: P2 }], LinkType.ETHERNET);
  const c2 = capture(whole);
  assert.equal(c2.packets[0]!.linkType, LinkType.ETHERNET);
  assert.deepEqual([...c2.packets[0]!.data], [...P2]);
});

test('pcap: writer round trip of random packets (200 runs)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ t: fc.integer({ min: 0, max: 4_000_000_000_000_000 }), data: fc.uint8Array({ maxLength: 300 }) }), { maxLength: 20 }),
      (packets) => {
        const c = capture(pcapBytes(packets.map((p) => ({ timestampMicros: p.t, data: p.data }))));
        assert.equal(c.packets.length, packets.length);
        packets.forEach((p, i) => {
          assert.equal(c.packets[i]!.timestampMicros, p.t);
          assert.deepEqual([...c.packets[i]!.data], [...p.data]);
          assert.equal(c.packets[i]!.frame, i + 1);
        });
      },
    ),
    { numRuns: 200 },
  );
});

test('pcap: big-endian, nanosecond (both orders) and modified pcap read', () => {
  const records = [
    { sec: 1_700_000_000, frac: 123_456, data: P1 },
    { sec: 1_700_000_001, frac: 999_999, data: P2, orig: 1500 },
  ];
  for (const le of [true, false]) {
    const micro = capture(classicPcap(records, { le }));
    assert.deepEqual(micro.packets.map((p) => p.timestampMicros), [1_700_000_000_123_456, 1_700_000_001_999_999]);
    assert.deepEqual([...micro.packets[1]!.data], [...P2]);
    assert.equal(micro.packets[1]!.originalLength, 1500);
    const nanoRecords = [
      { sec: 1_700_000_000, frac: 123_456_789, data: P1 },
      { sec: 1_700_000_001, frac: 999_999_999, data: P2 },
    ];
    const nano = capture(classicPcap(nanoRecords, { le, nano: true, linkType: LinkType.ETHERNET }));
    assert.deepEqual(nano.packets.map((p) => p.timestampMicros), [1_700_000_000_123_456, 1_700_000_001_999_999], 'ns rounded down to us');
    assert.equal(nano.packets[0]!.linkType, LinkType.ETHERNET);
    const modified = capture(classicPcap(records, { le, modified: true }));
    assert.deepEqual(modified.packets.map((p) => [...p.data]), [[...P1], [...P2]]);
  }
});

test('pcapng: SHB in both byte orders, if_tsresol, if_tsoffset, EPB/SPB/OPB, other blocks skipped, two sections', () => {
  for (const le of [true, false]) {
    const nanoIdb = idb(LinkType.ETHERNET, le, [...option(9, [9], le), ...END_OF_OPTIONS]); // 10^-9
    const binaryIdb = idb(LinkType.RAW, le, [...option(2, [...Buffer.from('eth0')], le), ...option(9, [0x80 | 10], le), ...END_OF_OPTIONS]); // 2^-10
    const file = Uint8Array.from([
      ...shb(le),
      ...idb(LinkType.RAW, le), // interface 0: default microseconds
      ...nanoIdb, // interface 1
      ...block(4, [...u16(1, le), ...u16(4, le), 10, 0, 0, 1, 0, 0, 0, 0], le), // name resolution block: skipped
      ...epb(0, 1_700_000_000_123_456n, P1, le),
      ...epb(1, 1_700_000_000_123_456_789n, P2, le, 1514),
      ...block(5, [...u32(0, le), ...u32(0, le), ...u32(0, le)], le), // interface statistics: skipped
      ...block(0x00000bad, [1, 2, 3, 4], le), // custom block: skipped
      ...spb(P3, le),
      ...opb(1, 2_000_000_000n, P1, le),
      // A second section: interfaces start again.
      ...shb(le),
      ...binaryIdb,
      ...idb(LinkType.IPV4, le, [...option(14, le ? [...u32(100, le), ...u32(0, le)] : [...u32(0, le), ...u32(100, le)], le), ...END_OF_OPTIONS]),
      ...epb(0, 1024n * 3n + 512n, P2, le), // 3.5 s at 2^-10
      ...epb(1, 7n, P1, le), // 7 us + if_tsoffset 100 s
    ]);
    const c = capture(file);
    assert.equal(c.format, 'pcapng');
    assert.deepEqual(
      c.packets.map((p) => [p.frame, p.timestampMicros, p.linkType, p.data.length, p.originalLength, p.interfaceId]),
      [
        [1, 1_700_000_000_123_456, LinkType.RAW, 7, 7, 0],
        [2, 1_700_000_000_123_456, LinkType.ETHERNET, 9, 1514, 1],
        [3, 0, LinkType.RAW, 1, 1, 0],
        [4, 2_000_000, LinkType.ETHERNET, 7, 7, 1],
        [5, 3_500_000, LinkType.RAW, 9, 9, 0],
        [6, 100_000_007, LinkType.IPV4, 7, 7, 1],
      ],
      le ? 'little-endian' : 'big-endian',
    );
    assert.deepEqual([...c.packets[1]!.data], [...P2]);
    assert.deepEqual([...c.packets[2]!.data], [...P3]);
  }
});

test('pcapng: bad files give WireErrors with the file offset', () => {
  const le = true;
  const head = [...shb(le), ...idb(LinkType.RAW, le)];
  const cases: Array<[string, number[], RegExp, number]> = [
    ['unknown interface', [...head, ...epb(3, 0n, P1, le)], /interface 3 was not described/, head.length],
    ['packet before any IDB', [...shb(le), ...spb(P1, le)], /interface 0 was not described/, 28],
    ['trailer mismatch', [...head, ...block(6, [], le).slice(0, -4), 0, 0, 0, 0], /at the end/, head.length + 8],
    ['length not a multiple of 4', [...head, ...u32(6, le), ...u32(13, le), 0, 0, 0, 0, 0, 13, 0, 0, 0], /multiple of 4/, head.length],
    ['captured length past the block', [...head, ...block(6, [...u32(0, le), ...u32(0, le), ...u32(0, le), ...u32(100, le), ...u32(100, le)], le)], /exceeds/, head.length],
    ['bad byte-order magic', [0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 1, 2, 3, 4, ...new Array<number>(16).fill(0)], /byte-order magic/, 8],
    ['pcapng version 2', [...block(0x0a0d0d0a, [...u32(0x1a2b3c4d, le), ...u16(2, le), ...u16(0, le), ...u32(0, le), ...u32(0, le)], le)], /version/, 12],
  ];
  for (const [name, bytes, message, offset] of cases) {
    const r = readCapture(Uint8Array.from(bytes));
    assert.ok(r instanceof WireError, name);
    assert.match(r.message, message, name);
    assert.equal(r.offset, offset, `${name}: offset`);
    assert.match(r.message, new RegExp(`offset ${r.offset}\\b`), `${name}: the message names the offset`);
  }
});

test('pcap: bad headers give clear WireErrors', () => {
  const notCapture = readCapture(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
  assert.ok(notCapture instanceof WireError);
  assert.match(notCapture.message, /unknown file format at offset 0/);
  const empty = readCapture(new Uint8Array(0));
  assert.ok(empty instanceof WireError);
  assert.match(empty.message, /empty file/);
  const v3 = classicPcap([], { le: true });
  v3[4] = 3;
  const r = readCapture(v3);
  assert.ok(r instanceof WireError);
  assert.match(r.message, /version 3\.4/);
  const cut = classicPcap([{ sec: 1, frac: 2, data: new Uint8Array(1514) }], { le: true }).subarray(0, 24 + 16 + 200);
  const t = readCapture(cut);
  assert.ok(t instanceof WireError);
  assert.equal(t.message, 'truncated packet record at offset 24: header says 1514 bytes, 200 remain');
  assert.equal(t.code, 'truncated');
  assert.equal(t.offset, 24);
});

test('capture reader: streaming yields the good packets, then the error, then the same error again', () => {
  const file = classicPcap(
    [
      { sec: 1, frac: 0, data: P1 },
      { sec: 2, frac: 0, data: P2 },
    ],
    { le: true },
  );
  const reader = CaptureReader.open(file.subarray(0, file.length - 3));
  assert.ok(!(reader instanceof WireError));
  const first = reader.next();
  assert.ok(first && !(first instanceof WireError));
  assert.equal(first.frame, 1);
  const second = reader.next();
  assert.ok(second instanceof WireError);
  assert.equal(second.offset, 24 + 16 + P1.length);
  assert.equal(reader.next(), second);
});

test('link layers: payload extraction for each link type', () => {
  const ip4 = bytesOf(0x45, 0, 0, 20, 1, 2, 3, 4);
  const ip6 = bytesOf(0x60, 0, 0, 0, 9, 9);
  const mac = new Array<number>(12).fill(0xaa);
  const same = (r: Uint8Array | WireError | undefined, expected: Uint8Array, what: string) => {
    assert.ok(r instanceof Uint8Array, `${what}: ${String(r)}`);
    assert.deepEqual([...r], [...expected], what);
  };
  for (const t of [LinkType.RAW, 12, 14, LinkType.IPV4, LinkType.IPV6]) same(linkPayload(t, ip4), ip4, `raw ${t}`);
  // Ethernet, 802.1Q, 802.1ad + 802.1Q (Q-in-Q), and the old 0x9100 tag.
  same(linkPayload(LinkType.ETHERNET, bytesOf(...mac, 0x08, 0x00, ...ip4)), ip4, 'ethernet v4');
  same(linkPayload(LinkType.ETHERNET, bytesOf(...mac, 0x86, 0xdd, ...ip6)), ip6, 'ethernet v6');
  same(linkPayload(LinkType.ETHERNET, bytesOf(...mac, 0x81, 0x00, 0x00, 0x05, 0x08, 0x00, ...ip4)), ip4, '802.1Q');
  same(linkPayload(LinkType.ETHERNET, bytesOf(...mac, 0x88, 0xa8, 0, 1, 0x81, 0x00, 0, 2, 0x86, 0xdd, ...ip6)), ip6, '802.1ad');
  same(linkPayload(LinkType.ETHERNET, bytesOf(...mac, 0x91, 0x00, 0, 1, 0x08, 0x00, ...ip4)), ip4, '0x9100');
  assert.equal(linkPayload(LinkType.ETHERNET, bytesOf(...mac, 0x08, 0x06, 0, 1)), undefined, 'ARP is not IP');
  assert.equal(linkPayload(LinkType.ETHERNET, bytesOf(...mac, 0x00, 0x40, 0, 1)), undefined, '802.3 length field');
  assert.ok(linkPayload(LinkType.ETHERNET, bytesOf(...mac, 0x08)) instanceof WireError, 'short ethernet');
  assert.ok(linkPayload(LinkType.ETHERNET, bytesOf(...mac, 0x81, 0x00, 0)) instanceof WireError, 'short VLAN tag');
  // Linux cooked v1: 16-byte header, protocol at 14.
  const sll = (proto: number) => bytesOf(0, 4, 0, 1, 0, 6, ...new Array<number>(8).fill(1), proto >> 8, proto & 0xff);
  same(linkPayload(LinkType.LINUX_SLL, bytesOf(...sll(0x0800), ...ip4)), ip4, 'sll v4');
  same(linkPayload(LinkType.LINUX_SLL, bytesOf(...sll(0x86dd), ...ip6)), ip6, 'sll v6');
  assert.equal(linkPayload(LinkType.LINUX_SLL, bytesOf(...sll(0x0806), 1, 2)), undefined, 'sll ARP');
  assert.ok(linkPayload(LinkType.LINUX_SLL, bytesOf(0, 4, 0, 1)) instanceof WireError, 'short sll');
  // Linux cooked v2: 20-byte header, protocol first.
  const sll2 = (proto: number) => bytesOf(proto >> 8, proto & 0xff, 0, 0, 0, 0, 0, 1, 0, 1, 4, 6, ...new Array<number>(8).fill(2));
  same(linkPayload(LinkType.LINUX_SLL2, bytesOf(...sll2(0x0800), ...ip4)), ip4, 'sll2 v4');
  same(linkPayload(LinkType.LINUX_SLL2, bytesOf(...sll2(0x86dd), ...ip6)), ip6, 'sll2 v6');
  assert.equal(linkPayload(LinkType.LINUX_SLL2, bytesOf(...sll2(0x0806))), undefined, 'sll2 ARP');
  assert.ok(linkPayload(LinkType.LINUX_SLL2, sll2(0x0800).subarray(0, 19)) instanceof WireError, 'short sll2');
  // NULL (host order: either) and LOOP (network order): AF_INET 2, AF_INET6 24/28/30.
  for (const t of [LinkType.NULL, LinkType.LOOP]) {
    same(linkPayload(t, bytesOf(0, 0, 0, 2, ...ip4)), ip4, `${t} AF_INET big-endian`);
    for (const af of [24, 28, 30]) same(linkPayload(t, bytesOf(0, 0, 0, af, ...ip6)), ip6, `${t} AF_INET6 ${af} big-endian`);
  }
  same(linkPayload(LinkType.NULL, bytesOf(2, 0, 0, 0, ...ip4)), ip4, 'NULL AF_INET little-endian');
  for (const af of [24, 28, 30]) same(linkPayload(LinkType.NULL, bytesOf(af, 0, 0, 0, ...ip6)), ip6, `NULL AF_INET6 ${af} little-endian`);
  assert.equal(linkPayload(LinkType.NULL, bytesOf(7, 0, 0, 0, 1)), undefined, 'other family');
  assert.ok(linkPayload(LinkType.NULL, bytesOf(2, 0)) instanceof WireError, 'short NULL');
  const unknown = linkPayload(147, ip4);
  assert.ok(unknown instanceof WireError && unknown.code === 'unsupported');
});

test('truncation: every prefix of a small pcap and pcapng gives a WireError with an offset (or the packets before a boundary)', () => {
  const pcap = classicPcap(
    [
      { sec: 1, frac: 2, data: P1 },
      { sec: 3, frac: 4, data: P2 },
    ],
    { le: false },
  );
  const le = true;
  const ng = Uint8Array.from([...shb(le), ...idb(LinkType.RAW, le), ...epb(0, 5n, P1, le), ...spb(P2, le)]);
  for (const [file, boundaries] of [
    [pcap, new Map([[24, 0], [24 + 16 + 7, 1]])],
    [ng, new Map([[28, 0], [48, 0], [48 + 40, 1]])],
  ] as const) {
    for (let n = 0; n < file.length; n++) {
      const r = readCapture(file.subarray(0, n));
      const before = boundaries.get(n);
      if (before !== undefined) {
        assert.ok(!(r instanceof WireError), `prefix ${n} ends on a record boundary: ${String(r)}`);
        assert.equal(r.packets.length, before);
        continue;
      }
      assert.ok(r instanceof WireError, `prefix ${n} of ${file.length}`);
      assert.ok(r.offset >= 0 && r.offset <= n, `offset ${r.offset} within the ${n}-byte prefix`);
      assert.match(r.message, /offset \d+/);
    }
    assert.equal(capture(file).packets.length, 2);
  }
});

test('property: readCapture never throws on arbitrary bytes (10,000 runs each)', () => {
  const check = (bytes: Uint8Array) => {
    const r = readCapture(bytes);
    if (r instanceof WireError) {
      assert.ok(r.offset >= 0 && r.offset <= bytes.length);
    } else {
      for (const p of r.packets) assert.ok(linkPayload(p.linkType, p.data) !== null);
    }
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), check), { numRuns: 10_000 });
  const pcapHeaders = [classicPcap([], { le: true }), classicPcap([], { le: false, nano: true }), classicPcap([], { le: true, modified: true })];
  fc.assert(
    fc.property(fc.constantFrom(...pcapHeaders), fc.uint8Array({ maxLength: 200 }), (h, tail) => check(Uint8Array.from([...h, ...tail]))),
    { numRuns: 10_000 },
  );
  const ngHeaders = [Uint8Array.from([...shb(true), ...idb(1, true)]), Uint8Array.from([...shb(false), ...idb(113, false)])];
  fc.assert(
    fc.property(fc.constantFrom(...ngHeaders), fc.uint8Array({ maxLength: 200 }), (h, tail) => check(Uint8Array.from([...h, ...tail]))),
    { numRuns: 10_000 },
  );
  // Structured garbage: valid block framing with random types and bodies reaches the block parsers.
  fc.assert(
    fc.property(
      fc.boolean(),
      fc.array(fc.record({ type: fc.constantFrom(1, 2, 3, 5, 6, 0x0a0d0d0a, 77), body: fc.uint8Array({ maxLength: 40 }) }), { maxLength: 6 }),
      (le, blocks) => {
        const bytes = [...shb(le), ...idb(1, le)];
        for (const b of blocks) bytes.push(...block(b.type, [...b.body], le));
        check(Uint8Array.from(bytes));
      },
    ),
    { numRuns: 10_000 },
  );
});

const tshark = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
const haveTshark = tshark.status === 0;

test('pcapng written by tshark reads like the pcap it came from', { skip: haveTshark ? false : 'tshark is not installed (apt-get install tshark)' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'pcap-test-'));
  try {
    const packets = [
      { timestampMicros: 1_700_000_000_000_001, data: bytesOf(0x45, 0, 0, 20, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2) },
      { timestampMicros: 1_700_000_000_500_000, data: bytesOf(0x45, 0, 0, 20, 0, 1, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1) },
    ];
    const src = join(dir, 'in.pcap');
    const out = join(dir, 'out.pcapng');
    writeFileSync(src, pcapBytes(packets));
    const r = spawnSync('tshark', ['-r', src, '-F', 'pcapng', '-w', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const c = capture(readFileSync(out));
    assert.equal(c.format, 'pcapng');
    assert.deepEqual(
      c.packets.map((p) => [p.frame, p.timestampMicros, p.linkType, [...p.data]]),
      packets.map((p, i) => [i + 1, p.timestampMicros, LinkType.RAW, [...p.data]]),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
