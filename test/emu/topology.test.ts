/**
 * The dumbbell (src/emu/topology.ts): interfaces on each side reach the other side through one bottleneck
 * link, so flows that arrive together queue behind each other on it; each packet reaches the interface of
 * its destination address, both ways; the bottleneck's queue limit drops for all the flows together.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from '../../src/emu/network.js';
import { PacketSink } from '../../src/emu/hosts.js';
import { dumbbell } from '../../src/emu/topology.js';

/** A bare IPv4 header with the destination set, padded to `size`; the test id rides in byte 20. */
function ipv4(dst: string, id: number, size = 1000): Uint8Array {
  const b = new Uint8Array(size);
  b[0] = 0x45;
  b.set(dst.split('.').map(Number), 16);
  b[20] = id;
  return b;
}

function build(queueLimitPackets?: number) {
  const net = new Network({ seed: 5 });
  const l = [net.addHost('l0', new PacketSink()), net.addHost('l1', new PacketSink()), net.addHost('l2', new PacketSink())];
  const r = [net.addHost('r0', new PacketSink()), net.addHost('r1', new PacketSink())];
  const d = dumbbell(net, {
    left: l.map((h, i) => ({ endpoint: [h, 0] as const, address: `198.18.${i + 1}.2` })),
    right: [
      { endpoint: [r[0]!, 0], address: '198.18.1.1' },
      { endpoint: [r[1]!, 0], address: '198.18.2.1' },
    ],
    // 8 Mbit/s: a 1000-byte packet takes 1 ms; 10 ms one way.
    bottleneck: { config: { rateBitsPerSecond: 8e6, delayMicros: 10_000, ...(queueLimitPackets !== undefined ? { queueLimitPackets } : {}) } },
    access: { delayMicros: 100 },
  });
  return { net, l, r, d };
}

test('dumbbell: three senders at once share the one bottleneck (serialized one after the other) and reach their destinations', () => {
  const { net, l, r, d } = build();
  // Each left interface sends 2 packets at t = 0: l0 and l2 to r0's address, l1 to r1's.
  const dst = ['198.18.1.1', '198.18.2.1', '198.18.1.1'];
  for (let i = 0; i < 3; i++) for (let k = 0; k < 2; k++) net.inject(d.leftAccess[i]!.forward, ipv4(dst[i]!, 10 * i + k));
  net.runUntilIdle();
  const r0 = r[0] as PacketSink;
  const r1 = r[1] as PacketSink;
  assert.deepEqual(r0.received.map((p) => p.bytes[20]).sort((a, b) => a! - b!), [0, 1, 20, 21]);
  assert.deepEqual(r1.received.map((p) => p.bytes[20]), [10, 11]);
  // 6 packets of 1 ms each on the one link: they arrive at 100 + 1000k + 10000 + 100 µs, k = 1..6, one each.
  const times = [...r0.received, ...r1.received].map((p) => p.time).sort((a, b) => a - b);
  assert.deepEqual(times, [1, 2, 3, 4, 5, 6].map((k) => 100 + 1000 * k + 10_000 + 100));
  assert.equal(d.bottleneck.forward.counters.deliveredPackets, 6);
  assert.equal(d.bottleneck.backward.counters.offeredPackets, 0);
  for (const h of l) assert.equal((h as PacketSink).count, 0);
});

test('dumbbell: the way back goes to the left interface of the destination address; unknown left addresses are unroutable', () => {
  const { net, l, d } = build();
  net.inject(d.rightAccess[0]!.forward, ipv4('198.18.3.2', 1));
  net.inject(d.rightAccess[1]!.forward, ipv4('198.18.1.2', 2));
  net.inject(d.rightAccess[1]!.forward, ipv4('198.18.9.2', 3));
  net.runUntilIdle();
  assert.deepEqual((l[0] as PacketSink).received.map((p) => p.bytes[20]), [2]);
  assert.deepEqual((l[1] as PacketSink).received.map((p) => p.bytes[20]), []);
  assert.deepEqual((l[2] as PacketSink).received.map((p) => p.bytes[20]), [1]);
  assert.equal(d.bottleneck.backward.counters.deliveredPackets, 3, 'all three crossed the bottleneck');
  assert.equal(d.leftRouter.unroutable, 1, 'the left router had no interface for 198.18.9.2');
});

test('dumbbell: the bottleneck queue is shared: with room for 2 waiting packets, 3 senders of 2 packets lose 3 together', () => {
  const { net, r, d } = build(2);
  for (let i = 0; i < 3; i++) for (let k = 0; k < 2; k++) net.inject(d.leftAccess[i]!.forward, ipv4('198.18.1.1', 10 * i + k));
  net.runUntilIdle();
  // One in service and two waiting: 3 of 6 delivered, 3 tail-dropped on the one link.
  assert.equal((r[0] as PacketSink).count, 3);
  assert.equal(d.bottleneck.forward.counters.droppedPackets.queue, 3);
});
