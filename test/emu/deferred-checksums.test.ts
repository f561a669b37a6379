/**
 * Checksums left to the emulator (HostOptions.deferChecksums, src/emu/network.ts, src/emu/link.ts): between
 * two hosts of this stack on a link nobody watches no TCP checksum is computed (the field stays zero, the
 * receiver is told the network vouches for the bytes); wherever something reads the packets (a tap, a
 * middlebox, a receiver that is not such a host) it sees checksums that verify; a raw packet with
 * a bad checksum is still dropped by a deferring host.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emitIpHeader, fillTcpChecksum, ipHeaderLength, IpProtocol, parseIpPacket } from '../../src/wire/ip.js';
import { emitTcpSegment, parseTcpSegment, tcpHeaderLength, TcpFlags } from '../../src/wire/tcp.js';
import { isWireError } from '../../src/wire/errors.js';
import { Network, type EmuHost } from '../../src/emu/network.js';
import { PacketSink } from '../../src/emu/hosts.js';
import { PayloadCorrupter } from '../../src/emu/middlebox.js';
import { Host } from '../../src/stack/host.js';
import type { TcpConnection } from '../../src/tcp/connection.js';
import type { Micros } from '../../src/time/micros.js';

/** Whether the TCP checksum of an IP packet verifies. */
function checksumOk(bytes: Uint8Array): boolean {
  const ip = parseIpPacket(bytes);
  if (isWireError(ip)) return false;
  return !isWireError(parseTcpSegment(ip.payload, ip));
}

/** The raw checksum field of an IPv4 TCP packet. */
function checksumField(bytes: Uint8Array): number {
  const at = (bytes[0]! & 0x0f) * 4;
  return (bytes[at + 16]! << 8) | bytes[at + 17]!;
}

/** A host of this stack that records, per packet, whether the network handed it over with the checksum pending. */
class Recording implements EmuHost {
  readonly pending: boolean[] = [];
  readonly fields: number[] = [];
  constructor(readonly host: Host) {}
  get sendsPendingChecksums(): boolean {
    return this.host.sendsPendingChecksums;
  }
  get acceptsPendingChecksums(): boolean {
    return this.host.acceptsPendingChecksums;
  }
  handlePacket(now: Micros, ifaceId: number, bytes: Uint8Array, checksumPending = false): void {
    this.pending.push(checksumPending);
    this.fields.push(checksumField(bytes));
    this.host.handlePacket(now, ifaceId, bytes, checksumPending);
  }
  pollTransmit(now: Micros) {
    return this.host.pollTransmit(now);
  }
  pollTimeout() {
    return this.host.pollTimeout();
  }
  handleTimeout(now: Micros): void {
    this.host.handleTimeout(now);
  }
}

/** Two deferring hosts on one link; the client writes `bytes` to the server, which reads them. */
function pair(deferChecksums: boolean) {
  const net = new Network({ seed: 7 });
  const c = new Host({ name: 'c', secret: new Uint8Array(32).fill(1), deferChecksums });
  const s = new Host({ name: 's', secret: new Uint8Array(32).fill(2), deferChecksums });
  c.addInterface('eth0', ['198.18.0.1/24']);
  s.addInterface('eth0', ['198.18.0.2/24']);
  const client = net.addHost('c', new Recording(c));
  const server = net.addHost('s', new Recording(s));
  const path = net.connect([client, 0], [server, 0], { config: { rateBitsPerSecond: 100e6, delayMicros: 1000 } });
  s.listen(80);
  let accepted: TcpConnection | undefined;
  const run = (bytes: number): number => {
    const conn = c.connect(net.now, '198.18.0.2', 80);
    net.wake(client);
    let received = 0;
    let written = 0;
    const chunk = new Uint8Array(16_384).fill(0x42);
    for (let slice = 0; slice < 2000 && received < bytes; slice++) {
      net.runFor(1000);
      for (let e = s.pollEvent(); e; e = s.pollEvent()) if (e.type === 'connection') accepted = e.connection;
      while (c.pollEvent());
      if (conn.state === 'ESTABLISHED' && written < bytes) {
        written += conn.write(chunk.subarray(0, Math.min(chunk.length, bytes - written)));
        net.wake(client);
      }
      for (let b = accepted?.read(); b; b = accepted?.read()) received += b.length;
      net.wake(server);
    }
    return received;
  };
  return { net, c, s, client, server, path, run };
}

test('deferred checksums: two hosts of this stack on an unwatched link compute none and verify none', () => {
  const p = pair(true);
  assert.equal(p.run(200_000), 200_000);
  assert.ok(p.server.pending.length > 100);
  assert.ok(p.server.pending.every((x) => x), 'every packet reached the server with its checksum pending');
  assert.ok(p.server.fields.every((f) => f === 0), 'no checksum was computed');
  assert.equal(p.s.counters.tcpErrors, 0);
  assert.equal(p.c.counters.tcpErrors, 0);
});

test('deferred checksums: hosts without the option send checksums and are never handed pending packets', () => {
  const p = pair(false);
  assert.equal(p.run(100_000), 100_000);
  assert.ok(p.server.pending.every((x) => !x));
  assert.ok(p.server.fields.some((f) => f !== 0));
});

test('deferred checksums: deliver and offer taps see checksums that verify, and the receiver then verifies them', () => {
  const p = pair(true);
  let delivered = 0;
  let offered = 0;
  p.path.forward.addTap({ onDeliver: (_n, b) => (checksumOk(b) ? delivered++ : assert.fail('bad checksum at a deliver tap')) });
  p.path.backward.addTap({ onOffer: (_n, b) => (checksumOk(b) ? offered++ : assert.fail('bad checksum at an offer tap')) });
  assert.equal(p.run(100_000), 100_000);
  assert.ok(delivered > 50 && offered > 10);
  assert.ok(p.server.pending.every((x) => !x), 'filled in at the tap: no longer pending');
  assert.ok(p.client.pending.every((x) => !x));
});

test('deferred checksums: a middlebox rewriting payload sees a correct checksum and fixes it after the change', () => {
  const p = pair(true);
  const corrupter = new PayloadCorrupter({ limit: 3 });
  p.path.forward.setTransform(corrupter.transform);
  p.run(100_000);
  assert.equal(corrupter.corrupted.length, 3);
  // The rewritten segments arrived with a checksum the server verified (no TCP error) and were accepted.
  assert.equal(p.s.counters.tcpErrors, 0);
  assert.ok(p.server.pending.every((x) => !x));
});

test('deferred checksums: a receiver that is not a deferring host (a sink) gets checksums filled in', () => {
  const net = new Network({ seed: 1 });
  const h = new Host({ name: 'h', secret: new Uint8Array(32).fill(3), deferChecksums: true });
  h.addInterface('eth0', ['198.18.0.1/24']);
  const host = net.addHost('h', new Recording(h));
  const sink = net.addHost('sink', new PacketSink());
  net.connect([host, 0], [sink, 0], { config: { delayMicros: 100 } });
  h.connect(0, '198.18.0.2', 80);
  net.wake(host);
  net.runFor(3_000_000);
  assert.ok(sink.received.length >= 2, 'the SYN and its retransmissions');
  for (const r of sink.received) assert.ok(checksumOk(r.bytes));
});

test('deferred checksums: a raw packet with a bad checksum injected on the link is still dropped', () => {
  const p = pair(true);
  const repr = { srcPort: 40000, dstPort: 80, seq: 1, ack: 0, flags: TcpFlags.SYN, window: 1000, options: [], payload: new Uint8Array(0) };
  const src = new Uint8Array([198, 18, 0, 1]);
  const dst = new Uint8Array([198, 18, 0, 2]);
  const bytes = new Uint8Array(ipHeaderLength(src) + tcpHeaderLength([]));
  emitIpHeader({ src, dst, protocol: IpProtocol.TCP, payloadLength: tcpHeaderLength([]) }, bytes, 0);
  emitTcpSegment(repr, src, dst, bytes, 20);
  bytes[37] = bytes[37]! ^ 0xff; // the checksum's low byte
  p.net.inject(p.path.forward, bytes);
  p.net.runFor(10_000);
  assert.equal(p.s.counters.tcpErrors, 1);
  assert.deepEqual(p.server.pending, [false]);
  // And fillTcpChecksum repairs it.
  assert.equal(fillTcpChecksum(bytes), true);
  assert.ok(checksumOk(bytes));
  assert.equal(fillTcpChecksum(new Uint8Array([0x45, 0, 0, 20])), false);
});
