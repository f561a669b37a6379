// The UDP driver: one whole IP packet per datagram, paths bound to their own local loopback addresses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UdpDriver, UdpPath, MAX_UDP_PAYLOAD, type UdpEndpoint } from '../../src/io/udp.js';
import { emitIpHeader, ipHeaderLength, IpProtocol, parseIpPacket } from '../../src/wire/ip.js';
import { emitTcpSegment, parseTcpSegment, tcpHeaderLength, TcpFlags, type TcpSegmentRepr } from '../../src/wire/tcp.js';
import { formatAddress, parseAddress } from '../../src/wire/address.js';
import { WireError } from '../../src/wire/errors.js';
import { networkInterfaces } from 'node:os';

const WAIT_MS = 5_000;

function address(text: string): Uint8Array {
  const bytes = parseAddress(text);
  assert.ok(bytes, text);
  return bytes;
}

/** An IPv4/IPv6 + TCP packet built with the wire codecs (inner addresses are the stack's, not loopback). */
function tcpPacket(src: string, dst: string, seq: number, text: string): Uint8Array {
  const srcBytes = address(src);
  const dstBytes = address(dst);
  const repr: TcpSegmentRepr = {
    srcPort: 40000,
    dstPort: 5201,
    seq,
    ack: 0,
    flags: TcpFlags.PSH | TcpFlags.ACK,
    window: 512,
    options: [{ kind: 'timestamps', tsVal: seq, tsEcr: 0 }],
    payload: new TextEncoder().encode(text),
  };
  const ipLength = ipHeaderLength(srcBytes);
  const tcpLength = tcpHeaderLength(repr.options) + repr.payload.length;
  const packet = new Uint8Array(ipLength + tcpLength);
  emitIpHeader({ src: srcBytes, dst: dstBytes, protocol: IpProtocol.TCP, payloadLength: tcpLength }, packet, 0);
  assert.equal(emitTcpSegment(repr, srcBytes, dstBytes, packet, ipLength), tcpLength);
  return packet;
}

/** Parses a received packet back (checksums verified) and returns its TCP payload text. */
function payloadText(packet: Uint8Array): string {
  const ip = parseIpPacket(packet, { verifyChecksum: true });
  assert.ok(!(ip instanceof WireError), String(ip));
  const tcp = parseTcpSegment(ip.payload, ip);
  assert.ok(!(tcp instanceof WireError), String(tcp));
  return new TextDecoder().decode(tcp.payload);
}

/** Resolves with the first `count` items pushed into the returned sink, or rejects after WAIT_MS. */
function collect<T>(count: number, what: string): { push: (item: T) => void; done: Promise<T[]> } {
  const items: T[] = [];
  let resolve!: (items: T[]) => void;
  let reject!: (error: Error) => void;
  const done = new Promise<T[]>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const timer = setTimeout(() => reject(new Error(`timed out waiting for ${count} ${what}, got ${items.length}`)), WAIT_MS);
  return {
    push(item) {
      items.push(item);
      if (items.length === count) {
        clearTimeout(timer);
        resolve(items);
      }
    },
    done,
  };
}

test('udp: two endpoints on 127.0.0.1 and 127.0.0.2 exchange IP packets both ways, one per datagram', async (t) => {
  const fromA = collect<{ packet: Buffer; from: UdpEndpoint }>(5, 'packets at B');
  const fromB = collect<{ packet: Buffer; from: UdpEndpoint }>(5, 'packets at A');
  const a = await UdpPath.bind({ localAddress: '127.0.0.1', onPacket: (packet, from) => fromB.push({ packet, from }) });
  t.after(() => a.close());
  const b = await UdpPath.bind({
    localAddress: '127.0.0.2',
    remote: a.local,
    onPacket: (packet, from) => fromA.push({ packet, from }),
  });
  t.after(() => b.close());
  assert.equal(a.local.address, '127.0.0.1');
  assert.equal(b.local.address, '127.0.0.2');
  assert.ok(a.local.port > 0 && b.local.port > 0);

  // A has no remote configured: it learns B from B's first datagram, then answers.
  assert.equal(a.send(tcpPacket('198.18.0.1', '198.18.0.2', 1, 'lost')), false, 'nowhere to send yet');
  const sentByB = Array.from({ length: 5 }, (_, i) => tcpPacket('2001:2::2', '2001:2::1', 1000 + i, `from B #${i}`));
  for (const packet of sentByB) assert.equal(b.send(packet), true);
  const atA = await fromB.done;
  assert.deepEqual(a.remote, b.local, 'A learned its peer from the first datagram');
  atA.forEach(({ packet, from }, i) => {
    assert.deepEqual(new Uint8Array(packet), sentByB[i], 'the datagram payload is the IP packet, byte for byte');
    assert.equal(payloadText(packet), `from B #${i}`);
    assert.deepEqual(from, b.local);
  });

  const sentByA = Array.from({ length: 5 }, (_, i) => tcpPacket('198.18.0.1', '198.18.0.2', 2000 + i, `from A #${i}`));
  for (const packet of sentByA) assert.equal(a.send(packet), true);
  const atB = await fromA.done;
  atB.forEach(({ packet, from }, i) => {
    assert.deepEqual(new Uint8Array(packet), sentByA[i]);
    assert.equal(payloadText(packet), `from A #${i}`);
    assert.deepEqual(from, a.local);
  });
});

test('udp: one host with two paths bound to different local addresses (a driver keyed by interface id)', async (t) => {
  // Host H has interfaces 0 (127.0.0.1) and 1 (127.0.0.2); peer P has interfaces 0 (127.0.0.3) and 1 (127.0.0.4).
  const atHost = collect<{ ifaceId: number; packet: Buffer; from: UdpEndpoint }>(4, 'packets at H');
  const atPeer = collect<{ ifaceId: number; packet: Buffer; from: UdpEndpoint }>(4, 'packets at P');
  const host = new UdpDriver({ onPacket: (ifaceId, packet, from) => atHost.push({ ifaceId, packet, from }) });
  const peer = new UdpDriver({ onPacket: (ifaceId, packet, from) => atPeer.push({ ifaceId, packet, from }) });
  t.after(() => Promise.all([host.close(), peer.close()]));
  const p0 = await peer.addPath(0, { localAddress: '127.0.0.3' });
  const p1 = await peer.addPath(1, { localAddress: '127.0.0.4' });
  const h0 = await host.addPath(0, { localAddress: '127.0.0.1', remote: p0.local });
  const h1 = await host.addPath(1, { localAddress: '127.0.0.2', remote: p1.local });
  await assert.rejects(host.addPath(1, { localAddress: '127.0.0.2' }), /already has a UDP path/);

  for (let i = 0; i < 2; i++) {
    assert.ok(host.send(0, tcpPacket('198.18.0.1', '198.18.1.1', i, `path0 #${i}`)));
    assert.ok(host.send(1, tcpPacket('198.18.0.2', '198.18.1.1', i, `path1 #${i}`)));
  }
  assert.equal(host.send(7, tcpPacket('198.18.0.1', '198.18.1.1', 0, 'x')), false, 'no such interface');
  const received = await atPeer.done;
  for (const { ifaceId, packet, from } of received) {
    const text = payloadText(packet);
    assert.ok(text.startsWith(`path${ifaceId} `), `${text} arrived on interface ${ifaceId}`);
    // Each path's datagrams leave from that path's own local address.
    assert.deepEqual(from, ifaceId === 0 ? h0.local : h1.local);
  }
  assert.deepEqual(received.map((r) => payloadText(r.packet)).sort(), ['path0 #0', 'path0 #1', 'path1 #0', 'path1 #1']);

  // The peer answers on each path to the learned source.
  for (let i = 0; i < 2; i++) {
    assert.ok(peer.send(0, tcpPacket('198.18.1.1', '198.18.0.1', i, `reply0 #${i}`)));
    assert.ok(peer.send(1, tcpPacket('198.18.1.1', '198.18.0.2', i, `reply1 #${i}`)));
  }
  for (const { ifaceId, packet, from } of await atHost.done) {
    assert.ok(payloadText(packet).startsWith(`reply${ifaceId} `));
    assert.deepEqual(from, ifaceId === 0 ? p0.local : p1.local);
    const ip = parseIpPacket(packet);
    assert.ok(!(ip instanceof WireError));
    assert.equal(formatAddress(ip.dst), ifaceId === 0 ? '198.18.0.1' : '198.18.0.2');
  }
});

const hasIpv6Loopback = Object.values(networkInterfaces()).some((list) => list?.some((i) => i.address === '::1'));

test('udp: IPv6 loopback path, oversized packets and closed paths are caller errors', {
  skip: hasIpv6Loopback ? false : 'no ::1 on this host (IPv6 disabled on loopback)',
}, async (t) => {
  const got = collect<Buffer>(1, 'IPv6 datagrams');
  const a = await UdpPath.bind({ localAddress: '::1', onPacket: (packet) => got.push(packet) });
  t.after(() => a.close());
  const b = await UdpPath.bind({ localAddress: '::1', remote: a.local });
  t.after(() => b.close());
  const packet = tcpPacket('2001:2::2', '2001:2::1', 7, 'over ::1');
  assert.ok(b.send(packet));
  assert.deepEqual(new Uint8Array((await got.done)[0]!), packet);

  assert.throws(() => b.send(new Uint8Array(MAX_UDP_PAYLOAD.ipv6 + 1)), RangeError);
  await b.close();
  assert.throws(() => b.send(packet), /closed/);
  await b.close(); // idempotent
});

test('udp: binding an address this host does not have fails cleanly', async () => {
  // 198.18.0.0/15 is never configured outside test namespaces, so it is not a local address here.
  await assert.rejects(UdpPath.bind({ localAddress: '198.18.255.254' }), (error: NodeJS.ErrnoException) => {
    assert.equal(error.code, 'EADDRNOTAVAIL');
    return true;
  });
});

test('udp: onPackets hands over the datagrams of one event-loop iteration together, in order, and nothing after close', async (t) => {
  const batches: Buffer[][] = [];
  const got = collect<Buffer>(40, 'packets at A');
  const a = await UdpPath.bind({
    localAddress: '127.0.0.1',
    onPackets: (packets) => {
      batches.push([...packets]);
      for (const p of packets) got.push(p);
    },
  });
  t.after(() => a.close());
  const b = await UdpPath.bind({ localAddress: '127.0.0.2', remote: a.local });
  t.after(() => b.close());
  // Loopback delivers each datagram to A's socket buffer before send returns: 40 sent in one go are all
  // waiting when A's loop next polls (libuv reads up to 32 per wake-up), so they come in few batches.
  const sent = Array.from({ length: 40 }, (_, i) => tcpPacket('198.18.0.2', '198.18.0.1', i, `#${i}`));
  for (const packet of sent) assert.equal(b.send(packet), true);
  const atA = await got.done;
  assert.deepEqual(atA.map(payloadText), sent.map((_, i) => `#${i}`), 'every packet, in order');
  assert.ok(batches.every((x) => x.length > 0), 'no empty batch');
  assert.ok(batches.length < 40, `${batches.length} batches for 40 datagrams: not batched`);
  assert.deepEqual(a.remote, b.local, 'A learned its peer from the first datagram');

  // A datagram queued for the batch when the path closes (here: as it arrives) is not delivered.
  const before = batches.length;
  const closed = new Promise<void>((resolve) => {
    a.onPacket = () => void a.close().then(resolve);
  });
  b.send(tcpPacket('198.18.0.2', '198.18.0.1', 99, 'late'));
  await within(closed);
  await new Promise((r) => setImmediate(r));
  assert.equal(batches.length, before, 'nothing handed over after close');
});

/** Resolves as `p` does, or rejects after WAIT_MS. */
function within<T>(p: Promise<T>): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timed out')), WAIT_MS).unref())]);
}
