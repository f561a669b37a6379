// The TUN driver glue (src/io/tun-offload.ts) without a kernel: a fake device records what the port hands
// to writev, and a reference of Linux's GSO (tcp_gso_segment: cut the payload at gso_size, copy the header,
// advance the sequence number, PSH and FIN on the last piece only; then complete the checksum from
// csum_start, as skb_checksum_help does) turns every super-packet back into segments. Properties: what comes
// out is what went in (flows, sequence numbers, payloads, in order), every checksum verifies, every merged
// DSS mapping maps each original byte where its own mapping did, and nothing throws on garbage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TunPort, VNET_HDR_SIZE, VNET_F_NEEDS_CSUM, VnetGso } from '../../src/io/tun-offload.js';
import type { TunDevice } from '../../src/io/tun.js';
import { emitIpHeader, ipHeaderLength, IpProtocol, parseIpPacket } from '../../src/wire/ip.js';
import { emitTcpSegment, parseTcpSegment, tcpHeaderLength, TcpFlags, type TcpOption, type TcpSegment } from '../../src/wire/tcp.js';
import { isWireError } from '../../src/wire/errors.js';
import { finishChecksum, foldSum, onesSum } from '../../src/wire/checksum.js';
import { u64 } from '../../src/wire/u64.js';
import type { DssOption } from '../../src/wire/mptcp-option.js';

/** A TunDevice stand-in: records each packet writev gathers (vnet header included on an offload device). */
class FakeTun {
  onPackets: ((packets: Buffer[]) => void) | undefined;
  onError: ((error: NodeJS.ErrnoException) => void) | undefined;
  closed = false;
  readonly written: Uint8Array[] = [];
  writeCalls = 0;
  /** Packets writev accepts per call before "EAGAIN" (Infinity: all). */
  accept = Infinity;
  constructor(readonly offload: boolean) {}
  writev(parts: readonly Uint8Array[], counts: Uint32Array, packets: number, headers: Uint8Array | null): number {
    this.writeCalls++;
    assert.equal(headers !== null, this.offload);
    let next = 0;
    const n = Math.min(packets, this.accept);
    for (let p = 0; p < packets; p++) {
      const chunks = headers ? [headers.subarray(p * VNET_HDR_SIZE, (p + 1) * VNET_HDR_SIZE)] : [];
      for (let k = 0; k < counts[p]!; k++) chunks.push(parts[next++]!);
      if (p < n) this.written.push(Buffer.concat(chunks));
    }
    assert.equal(next, parts.length, 'every part belongs to a packet');
    return n;
  }
}

function port(device: FakeTun, hostComputesChecksums: boolean, hostVerifiesChecksums = hostComputesChecksums): TunPort {
  return new TunPort(device as unknown as TunDevice, { hostComputesChecksums, hostVerifiesChecksums });
}

const V4 = { src: new Uint8Array([198, 18, 0, 2]), dst: new Uint8Array([198, 18, 0, 1]) };
const V6 = { src: new Uint8Array([0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]), dst: new Uint8Array([0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]) };

interface SegmentSpec {
  readonly srcPort: number;
  readonly seq: number;
  readonly flags: number;
  readonly window: number;
  readonly payload: Uint8Array;
  readonly dss?: { readonly dsnHi: number; readonly dsnLo: number; readonly ssn: number; readonly wide: boolean; readonly ack?: number; readonly fin?: boolean; readonly checksum?: boolean };
}

function build(family: 4 | 6, s: SegmentSpec, computeChecksum: boolean): Uint8Array {
  const { src, dst } = family === 4 ? V4 : V6;
  const options: TcpOption[] = [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamps', tsVal: 1000, tsEcr: 2000 }];
  if (s.dss) {
    const d = s.dss;
    const option: DssOption = {
      subtype: 'DSS',
      dataFin: d.fin ?? false,
      dataAck64: false,
      ...(d.ack === undefined ? {} : { dataAck: u64(0, d.ack) }),
      mapping: {
        dsn: u64(d.wide ? d.dsnHi : 0, d.dsnLo),
        dsn64: d.wide,
        subflowSeq: d.ssn,
        dataLength: s.payload.length + (d.fin ? 1 : 0),
        ...(d.checksum ? { checksum: 0x1234 } : {}),
      },
    };
    options.push({ kind: 'mptcp', option });
  }
  const repr = { srcPort: s.srcPort, dstPort: 5201, seq: s.seq, ack: 777, flags: s.flags, window: s.window, options, payload: s.payload };
  const tcpLength = tcpHeaderLength(options) + s.payload.length;
  const ipLength = ipHeaderLength(src);
  const bytes = new Uint8Array(ipLength + tcpLength);
  emitIpHeader({ src, dst, protocol: IpProtocol.TCP, payloadLength: tcpLength }, bytes, 0);
  emitTcpSegment(repr, src, dst, bytes, ipLength, computeChecksum);
  return bytes;
}

function u16le(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}

/** Linux's GSO and checksum completion, for one written packet (vnet header first); returns plain IP packets. */
function kernelSegments(written: Uint8Array): Uint8Array[] {
  const flags = written[0]!;
  const gsoType = written[1]!;
  const hdrLen = u16le(written, 2);
  const gsoSize = u16le(written, 4);
  const csumStart = u16le(written, 6);
  const csumOffset = u16le(written, 8);
  const packet = written.subarray(VNET_HDR_SIZE);
  const v4 = packet[0]! >> 4 === 4;
  let pieces: Uint8Array[];
  if (gsoType === VnetGso.NONE) {
    pieces = [Uint8Array.from(packet)];
  } else {
    assert.equal(gsoType, v4 ? VnetGso.TCPV4 : VnetGso.TCPV6);
    assert.ok(gsoSize > 0 && hdrLen > 0);
    const header = packet.subarray(0, hdrLen);
    const payload = packet.subarray(hdrLen);
    const tcp = v4 ? (packet[0]! & 15) * 4 : 40;
    const seq0 = new DataView(packet.buffer, packet.byteOffset).getUint32(tcp + 4);
    const originalFlags = packet[tcp + 13]!;
    pieces = [];
    for (let off = 0; off < payload.length; off += gsoSize) {
      const chunk = payload.subarray(off, Math.min(payload.length, off + gsoSize));
      const seg = new Uint8Array(hdrLen + chunk.length);
      seg.set(header);
      seg.set(chunk, hdrLen);
      const view = new DataView(seg.buffer);
      view.setUint32(tcp + 4, (seq0 + off) >>> 0);
      const last = off + gsoSize >= payload.length;
      seg[tcp + 13] = last ? originalFlags : originalFlags & ~(TcpFlags.PSH | TcpFlags.FIN);
      if (v4) {
        view.setUint16(2, seg.length);
        view.setUint16(10, 0);
        view.setUint16(10, finishChecksum(onesSum(seg, 0, tcp)));
      } else {
        view.setUint16(4, seg.length - 40);
      }
      // tcp_gso_segment re-bases the partial checksum on each piece's own length (ones' complement: minus
      // the super-packet's TCP length, plus the piece's), so a wrong partial sum stays wrong in every piece.
      const field = (packet[tcp + 16]! << 8) | packet[tcp + 17]!;
      view.setUint16(tcp + 16, foldSum(field + (~(packet.length - tcp) & 0xffff) + (seg.length - tcp)));
      pieces.push(seg);
    }
  }
  if (flags & VNET_F_NEEDS_CSUM) {
    for (const p of pieces) {
      const at = csumStart + csumOffset;
      const partial = (p[at]! << 8) | p[at + 1]!;
      p[at] = 0;
      p[at + 1] = 0;
      const sum = finishChecksum(onesSum(p, csumStart, p.length, partial));
      p[at] = sum >> 8;
      p[at + 1] = sum & 0xff;
    }
  }
  return pieces;
}

/** Parses with every checksum verified; fails the test otherwise. */
function parseVerified(p: Uint8Array): TcpSegment {
  const ip = parseIpPacket(p, { verifyChecksum: true });
  assert.ok(!isWireError(ip), `IP: ${String(ip)}`);
  const seg = parseTcpSegment(ip.payload, ip);
  assert.ok(!isWireError(seg), `TCP: ${String(seg)}`);
  return seg;
}

function dssOf(seg: TcpSegment): DssOption | undefined {
  for (const o of seg.options) if (o.kind === 'mptcp' && o.option.subtype === 'DSS') return o.option;
  return undefined;
}

/** Segments of one or two flows, mostly back-to-back full-size ones, with the irregularities a stack produces. */
const flowArb = fc
  .record({
    family: fc.constantFrom<4 | 6>(4, 6),
    mss: fc.integer({ min: 1, max: 1460 }),
    count: fc.integer({ min: 1, max: 120 }),
    mptcp: fc.boolean(),
    wide: fc.boolean(),
    dataAck: fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: undefined }),
    seq0: fc.integer({ min: 0, max: 0xffffffff }),
    dsnLo0: fc.integer({ min: 0, max: 0xffffffff }),
    ssn0: fc.integer({ min: 0, max: 0xffffffff }),
    quirks: fc.array(fc.tuple(fc.nat(119), fc.constantFrom('short', 'gap', 'window', 'pureAck', 'otherFlow', 'fin', 'noPsh', 'mapGap', 'dssChecksum', 'dataFin')), { maxLength: 6 }),
    computeChecksum: fc.boolean(),
  })
  .map((f) => {
    const quirk = new Map(f.quirks.map(([i, q]) => [i, q]));
    const specs: SegmentSpec[] = [];
    let seq = f.seq0;
    let dsnLo = f.dsnLo0;
    let dsnHi = 7;
    let ssn = f.ssn0;
    let fill = 0;
    for (let i = 0; i < f.count; i++) {
      const q = quirk.get(i);
      const length = q === 'short' ? Math.max(1, f.mss >> 1) : q === 'pureAck' ? 0 : f.mss;
      const payload = new Uint8Array(length);
      for (let k = 0; k < length; k++) payload[k] = (fill++ * 131) & 0xff;
      if (q === 'gap') seq = (seq + 1000) >>> 0;
      if (q === 'mapGap') dsnLo = (dsnLo + 5) >>> 0;
      const flags = TcpFlags.ACK | (q === 'noPsh' ? 0 : TcpFlags.PSH) | (q === 'fin' ? TcpFlags.FIN : 0);
      const dss =
        f.mptcp && length > 0
          ? { dsnHi, dsnLo, ssn, wide: f.wide, ...(f.dataAck === undefined ? {} : { ack: f.dataAck }), ...(q === 'dataFin' ? { fin: true } : {}), ...(q === 'dssChecksum' ? { checksum: true } : {}) }
          : undefined;
      specs.push({ srcPort: q === 'otherFlow' ? 40001 : 40000, seq, flags, window: q === 'window' ? 100 : 512, payload, ...(dss ? { dss } : {}) });
      seq = (seq + length + (q === 'fin' ? 1 : 0)) >>> 0;
      if (length > 0) {
        const next = dsnLo + length;
        if (next > 0xffffffff) dsnHi++;
        dsnLo = next >>> 0;
        ssn = (ssn + length) >>> 0;
      }
    }
    return { family: f.family, computeChecksum: f.computeChecksum, packets: specs.map((s) => build(f.family, s, f.computeChecksum)), specs };
  });

test('TunPort on an offload device: the kernel cuts its super-packets back into exactly the segments sent, every checksum right', () => {
  fc.assert(
    fc.property(flowArb, fc.integer({ min: 1, max: 200 }), ({ packets, specs, computeChecksum }, batchLimit) => {
      const device = new FakeTun(true);
      const p = new TunPort(device as unknown as TunDevice, { hostComputesChecksums: computeChecksum, hostVerifiesChecksums: computeChecksum, batchLimit });
      const originals = packets.map((b) => parseVerifiedLoose(b, computeChecksum));
      for (const b of packets) assert.equal(p.send(b), true);
      p.flush();
      assert.equal(p.counters.segmentsOut, packets.length);
      assert.equal(p.counters.packetsOut, device.written.length);
      const out: TcpSegment[] = [];
      const mappings: (DssOption | undefined)[] = [];
      for (const w of device.written) {
        for (const piece of kernelSegments(w)) {
          const seg = parseVerified(piece);
          out.push(seg);
          mappings.push(dssOf(seg));
        }
      }
      assert.equal(out.length, specs.length, 'as many segments come out as went in');
      for (let i = 0; i < specs.length; i++) {
        const a = originals[i]!;
        const b = out[i]!;
        assert.equal(b.srcPort, a.srcPort);
        assert.equal(b.seq, a.seq);
        assert.equal(b.ack, a.ack);
        assert.equal(b.window, a.window);
        assert.equal(b.flags & ~TcpFlags.PSH, a.flags & ~TcpFlags.PSH, 'flags other than PSH kept');
        assert.deepEqual(Buffer.from(b.payload), Buffer.from(a.payload));
        const mine = dssOf(a);
        const merged = mappings[i];
        assert.equal(merged === undefined, mine === undefined);
        if (mine?.mapping && merged?.mapping) {
          // The mapping a piece carries maps this segment's bytes where the segment's own mapping did.
          const m = merged.mapping;
          const o = mine.mapping;
          const offset = (o.subflowSeq - m.subflowSeq) >>> 0;
          assert.ok(offset + a.payload.length <= m.dataLength, 'the merged mapping covers the segment');
          const dsn = BigInt(m.dsn.hi) * 2n ** 32n + BigInt(m.dsn.lo) + BigInt(offset);
          const want = BigInt(o.dsn.hi) * 2n ** 32n + BigInt(o.dsn.lo);
          assert.equal(dsn % 2n ** (o.dsn64 ? 64n : 32n), want, 'the DSN of the segment is the one it was sent with');
          assert.equal(merged.dataFin, mine.dataFin);
          assert.equal(m.checksum, o.checksum);
          assert.deepEqual(merged.dataAck, mine.dataAck);
        }
      }
    }),
    { numRuns: 300 },
  );
});

/** Parses a packet the stack built (checksums verified only when the host computed them). */
function parseVerifiedLoose(p: Uint8Array, verify: boolean): TcpSegment {
  const ip = parseIpPacket(p, { verifyChecksum: true });
  assert.ok(!isWireError(ip));
  const seg = parseTcpSegment(ip.payload, verify ? ip : undefined);
  assert.ok(!isWireError(seg));
  // Copies: the port rewrites headers in place.
  return { ...seg, payload: Uint8Array.from(seg.payload), options: seg.options.map((o) => structuredClone(o)) };
}

test('TunPort coalesces a run of full-size segments into one 64 KB-bounded super-packet', () => {
  const device = new FakeTun(true);
  const p = port(device, false);
  const mss = 1448;
  for (let i = 0; i < 100; i++) p.send(build(4, { srcPort: 40000, seq: i * mss, flags: TcpFlags.ACK | TcpFlags.PSH, window: 512, payload: new Uint8Array(mss).fill(i) }, false));
  p.flush();
  assert.equal(device.writeCalls, 1, 'one writev for the turn');
  // 45 segments of 1448 bytes (plus 52 header bytes) fit below 65535: 100 = 45 + 45 + 10.
  assert.deepEqual(device.written.map((w) => w[1]), [VnetGso.TCPV4, VnetGso.TCPV4, VnetGso.TCPV4]);
  assert.deepEqual(device.written.map((w) => w.length - VNET_HDR_SIZE), [52 + 45 * mss, 52 + 45 * mss, 52 + 10 * mss]);
  assert.deepEqual(device.written.map((w) => u16le(w, 4)), [mss, mss, mss]);
  assert.equal(p.counters.packetsOut, 3);
});

test('TunPort: a full device queue drops the rest of the batch and counts it; a closed device takes nothing', () => {
  const device = new FakeTun(true);
  device.accept = 1;
  const p = port(device, true);
  p.send(build(4, { srcPort: 40000, seq: 0, flags: TcpFlags.ACK, window: 512, payload: new Uint8Array(10) }, true));
  p.send(build(4, { srcPort: 40001, seq: 0, flags: TcpFlags.ACK, window: 512, payload: new Uint8Array(10) }, true));
  p.flush();
  assert.equal(p.counters.packetsOut, 1);
  assert.equal(p.counters.dropped, 1);
  device.closed = true;
  assert.equal(p.send(build(4, { srcPort: 40000, seq: 10, flags: TcpFlags.ACK, window: 512, payload: new Uint8Array(10) }, true)), false);
});

test('TunPort on a plain device: no header, one packet per iovec, TCP checksums filled in for a host that leaves them', () => {
  const device = new FakeTun(false);
  const p = port(device, false);
  const mss = 1000;
  for (let i = 0; i < 5; i++) p.send(build(6, { srcPort: 40000, seq: i * mss, flags: TcpFlags.ACK, window: 512, payload: new Uint8Array(mss).fill(i + 1) }, false));
  p.flush();
  assert.equal(device.written.length, 5);
  for (const w of device.written) parseVerified(w);
  assert.equal(p.counters.checksumsComputed, 5);
});

test('TunPort receive: the vnet header is stripped, a partial checksum completed only for a verifying host, super-packets counted', () => {
  // What the kernel hands us: a 3000-byte TCP super-packet with NEEDS_CSUM (the field holds the pseudo-header sum).
  const packet = build(4, { srcPort: 5201, seq: 1, flags: TcpFlags.ACK, window: 512, payload: new Uint8Array(3000).fill(9) }, false);
  const tcp = 20;
  const pseudo = onesSum(packet, 12, 20, 6 + packet.length - tcp);
  const partial = finishChecksum(pseudo) ^ 0xffff;
  packet[tcp + 16] = partial >> 8;
  packet[tcp + 17] = partial & 0xff;
  const header = Buffer.from([VNET_F_NEEDS_CSUM, VnetGso.TCPV4, 52, 0, 0xa8, 0x05, tcp, 0, 16, 0]);
  for (const verifies of [true, false]) {
    const device = new FakeTun(true);
    const p = port(device, verifies);
    let got: Uint8Array[] = [];
    p.onPackets = (packets) => (got = packets);
    device.onPackets!([Buffer.concat([header, packet]), Buffer.from([1, 2, 3])]);
    assert.equal(got.length, 1, 'a read shorter than the header is dropped');
    assert.equal(got[0]!.length, packet.length);
    assert.equal(p.counters.superPacketsIn, 1);
    const ip = parseIpPacket(got[0]!, { verifyChecksum: true });
    assert.ok(!isWireError(ip));
    const seg = parseTcpSegment(ip.payload, ip);
    if (verifies) assert.ok(!isWireError(seg), 'completed: it verifies');
    else assert.equal((got[0]![tcp + 16]! << 8) | got[0]![tcp + 17]!, partial, 'left as the kernel sent it');
  }
});

test('TunPort never throws on garbage and passes what it does not understand through unchanged', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ minLength: 0, maxLength: 120 }), { maxLength: 20 }), fc.boolean(), fc.boolean(), (packets, offload, computes) => {
      const device = new FakeTun(offload);
      const p = port(device, computes);
      const copies = packets.map((b) => Uint8Array.from(b));
      for (const b of packets) p.send(b);
      p.flush();
      p.onPackets = () => undefined;
      device.onPackets!(packets.map((b) => Buffer.from(b)));
      assert.ok(device.written.length <= packets.length);
      // Checks only bytes the port cannot have rewritten: packets that are not TCP-shaped come out as they went in.
      let w = 0;
      for (let i = 0; i < copies.length; i++) {
        const looksTcp = copies[i]!.length >= 40 && ((copies[i]![0]! >> 4 === 4 && copies[i]![9] === 6) || (copies[i]![0]! >> 4 === 6 && copies[i]![6] === 6));
        const out = device.written[w++];
        if (out === undefined) break;
        if (!looksTcp) assert.deepEqual(Buffer.from(offload ? out.subarray(VNET_HDR_SIZE) : out), Buffer.from(copies[i]!));
        else break; // a TCP-shaped one may have absorbed followers: stop comparing
      }
    }),
    { numRuns: 500 },
  );
});
