import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../../src/emu/sim.js';
import { Link } from '../../src/emu/link.js';
import { attachPcap, observeDeliveries, observeDrops, type PacketRecordSink } from '../../src/emu/tap.js';
import { Rng } from '../../src/emu/random.js';
import type { PcapWriter } from '../../src/wire/pcap.js';
import { idOf, packet } from './helpers.js';

// The project's PcapWriter must be usable as a tap sink (checked at compile time).
const pcapWriterIsASink: PcapWriter extends PacketRecordSink ? true : false = true;
void pcapWriterIsASink;

/** A tiny classic-pcap writer (LINKTYPE_RAW, microsecond, little-endian) into memory. */
class MemoryPcap implements PacketRecordSink {
  private readonly chunks: Uint8Array[] = [];
  constructor() {
    const h = new DataView(new ArrayBuffer(24));
    h.setUint32(0, 0xa1b2c3d4, true);
    h.setUint16(4, 2, true);
    h.setUint16(6, 4, true);
    h.setUint32(16, 65535, true);
    h.setUint32(20, 101, true);
    this.chunks.push(new Uint8Array(h.buffer));
  }
  writePacket(timestampMicros: number, packet: Uint8Array): void {
    const r = new DataView(new ArrayBuffer(16));
    r.setUint32(0, Math.floor(timestampMicros / 1e6), true);
    r.setUint32(4, timestampMicros % 1e6, true);
    r.setUint32(8, packet.length, true);
    r.setUint32(12, packet.length, true);
    this.chunks.push(new Uint8Array(r.buffer), packet.slice());
  }
  bytes(): Uint8Array {
    return Buffer.concat(this.chunks);
  }
}

/** Parses the record headers of a classic LE pcap; checks the global header and that records tile the file. */
function parsePcap(file: Uint8Array): Array<{ micros: number; data: Uint8Array }> {
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  assert.equal(v.getUint32(0, true), 0xa1b2c3d4);
  assert.equal(v.getUint32(20, true), 101);
  const out: Array<{ micros: number; data: Uint8Array }> = [];
  let off = 24;
  while (off < file.length) {
    assert.ok(off + 16 <= file.length, 'truncated record header');
    const sec = v.getUint32(off, true);
    const usec = v.getUint32(off + 4, true);
    const incl = v.getUint32(off + 8, true);
    const orig = v.getUint32(off + 12, true);
    assert.ok(usec < 1_000_000);
    assert.equal(incl, orig);
    assert.ok(off + 16 + incl <= file.length, 'truncated record data');
    out.push({ micros: sec * 1_000_000 + usec, data: file.subarray(off + 16, off + 16 + incl) });
    off += 16 + incl;
  }
  assert.equal(off, file.length);
  return out;
}

test('pcap tap: delivered packets are written with their delivery time; offered ones with offer time', () => {
  const sim = new Simulator();
  const link = new Link(sim, { rateBitsPerSecond: 100_000, delayMicros: 1_500_000, queueLimitPackets: 1, loss: 0.2 }, { rng: new Rng(4) });
  const delivered = new MemoryPcap();
  const offered = new MemoryPcap();
  const epoch = 1_700_000_000_000_000;
  attachPcap(link, delivered);
  const detach = attachPcap([link], offered, { point: 'offer', epochMicros: epoch });
  const deliveries: Array<[number, number]> = [];
  observeDeliveries(link, (now, b) => deliveries.push([now, idOf(b)]));
  const drops: string[] = [];
  observeDrops(link, (_now, b, cause) => drops.push(`${idOf(b)}:${cause}`));
  for (let i = 0; i < 20; i++) sim.schedule(i * 5000, () => link.offer(packet(i, 100 + i)));
  sim.schedule(200_000, () => detach());
  sim.schedule(200_000, () => link.offer(packet(99, 50))); // after detaching: not in the offer capture
  sim.runUntilIdle();

  const d = parsePcap(delivered.bytes());
  assert.deepEqual(
    d.map((r) => [r.micros, idOf(r.data)]),
    deliveries,
  );
  assert.ok(d.length > 5 && d.length < 20);
  d.forEach((r) => assert.equal(r.data.length, 100 + (idOf(r.data) === 99 ? -50 : idOf(r.data))));

  const o = parsePcap(offered.bytes());
  assert.deepEqual(
    o.map((r) => [r.micros - epoch, idOf(r.data), r.data.length]),
    Array.from({ length: 20 }, (_, i) => [i * 5000, i, 100 + i]),
  );
  assert.equal(drops.length, 20 + 1 - d.length);
  assert.ok(drops.some((x) => x.endsWith(':loss')) && drops.some((x) => x.endsWith(':queue')));
});
