/**
 * The host stack: demultiplexing, RSTs for segments to closed ports (RFC 9293 3.10.7.1, as Linux answers),
 * ICMP and malformed packets ignored and counted, listeners, IPv6, and the core contract.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Host } from '../../src/stack/host.js';
import { emitIpHeader, ipHeaderLength, IpProtocol, parseIpPacket } from '../../src/wire/ip.js';
import { emitTcpSegment, parseTcpSegment, tcpHeaderLength, TcpFlags, type TcpSegmentRepr } from '../../src/wire/tcp.js';
import { parseAddress } from '../../src/wire/address.js';
import { isWireError } from '../../src/wire/errors.js';
import { Network } from '../../src/emu/network.js';
import { AppHost } from '../../src/harness/host-app.js';

const a = (s: string) => parseAddress(s)!;
const EMPTY = new Uint8Array(0);

function host(name: string, cidrs: string[]): Host {
  const h = new Host({ name, secret: new Uint8Array(32).fill(name.length) });
  h.addInterface('eth0', cidrs);
  return h;
}

function packet(src: string, dst: string, seg: Partial<TcpSegmentRepr>): Uint8Array {
  const s = a(src);
  const d = a(dst);
  const repr: TcpSegmentRepr = { srcPort: 40000, dstPort: 80, seq: 1000, ack: 0, flags: TcpFlags.SYN, window: 65535, options: [], payload: EMPTY, ...seg };
  const tcpLen = tcpHeaderLength(repr.options) + repr.payload.length;
  const buf = new Uint8Array(ipHeaderLength(s) + tcpLen);
  const h = emitIpHeader({ src: s, dst: d, protocol: IpProtocol.TCP, payloadLength: tcpLen }, buf, 0);
  emitTcpSegment(repr, s, d, buf, h);
  return buf;
}

function reply(h: Host) {
  const out = h.pollTransmit(0);
  assert.ok(out, 'a packet was sent');
  const ip = parseIpPacket(out.bytes);
  assert.ok(!isWireError(ip));
  const tcp = parseTcpSegment(ip.payload, ip);
  assert.ok(!isWireError(tcp), 'the reply has a valid checksum');
  return { ip, tcp, ifaceId: out.ifaceId };
}

test('closed port, SYN without ACK: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>', () => {
  const h = host('h', ['198.18.0.2/24']);
  h.handlePacket(0, 0, packet('198.18.0.1', '198.18.0.2', { seq: 1000, flags: TcpFlags.SYN }));
  const { tcp } = reply(h);
  assert.equal(tcp.flags, TcpFlags.RST | TcpFlags.ACK);
  assert.equal(tcp.seq, 0);
  assert.equal(tcp.ack, 1001, 'SYN counts one');
  assert.equal(tcp.srcPort, 80);
  assert.equal(tcp.dstPort, 40000);
  assert.equal(h.counters.resetsSent, 1);
  assert.equal(h.pollTransmit(0), undefined);
});

test('closed port, data with FIN and no ACK: ACK covers payload and FIN', () => {
  const h = host('h', ['198.18.0.2/24']);
  h.handlePacket(0, 0, packet('198.18.0.1', '198.18.0.2', { seq: 0xfffffffe, flags: TcpFlags.FIN, payload: new Uint8Array(5) }));
  const { tcp } = reply(h);
  assert.equal(tcp.ack, (0xfffffffe + 6) >>> 0, 'wraps modulo 2^32');
});

test('closed port, segment with ACK: <SEQ=SEG.ACK><CTL=RST>', () => {
  const h = host('h', ['198.18.0.2/24']);
  h.handlePacket(0, 0, packet('198.18.0.1', '198.18.0.2', { seq: 5, ack: 777777, flags: TcpFlags.ACK, payload: new Uint8Array(10) }));
  const { tcp } = reply(h);
  assert.equal(tcp.flags, TcpFlags.RST);
  assert.equal(tcp.seq, 777777);
});

test('a RST to a closed port is never answered; ICMP, other addresses and bad checksums are ignored and counted', () => {
  const h = host('h', ['198.18.0.2/24']);
  h.handlePacket(0, 0, packet('198.18.0.1', '198.18.0.2', { flags: TcpFlags.RST }));
  assert.equal(h.pollTransmit(0), undefined);
  const icmp = new Uint8Array(28);
  emitIpHeader({ src: a('198.18.0.1'), dst: a('198.18.0.2'), protocol: IpProtocol.ICMP, payloadLength: 8 }, icmp, 0);
  h.handlePacket(0, 0, icmp);
  h.handlePacket(0, 0, packet('198.18.0.1', '198.18.0.9', {}));
  const corrupt = packet('198.18.0.1', '198.18.0.2', {});
  corrupt[corrupt.length - 1]! ^= 0x40; // inside the TCP header: checksum no longer verifies
  h.handlePacket(0, 0, corrupt);
  h.handlePacket(0, 0, new Uint8Array([0x45, 0, 0]));
  assert.equal(h.pollTransmit(0), undefined);
  assert.equal(h.counters.otherProtocols, 1);
  assert.equal(h.counters.notForUs, 1);
  assert.equal(h.counters.tcpErrors, 1);
  assert.equal(h.counters.ipErrors, 1);
  assert.equal(h.counters.resetsSent, 0);
});

test('listener: SYN gets a SYN/ACK; a non-SYN to the listening port gets a RST; EADDRINUSE on a second listen', () => {
  const h = host('h', ['198.18.0.2/24']);
  h.listen(80);
  assert.throws(() => h.listen(80), /EADDRINUSE/);
  assert.throws(() => h.listen(80, { address: '198.18.0.2' }), /EADDRINUSE/);
  h.handlePacket(0, 0, packet('198.18.0.1', '198.18.0.2', { seq: 1000, flags: TcpFlags.SYN }));
  const synAck = reply(h).tcp;
  assert.equal(synAck.flags, TcpFlags.SYN | TcpFlags.ACK);
  assert.equal(synAck.ack, 1001);
  h.handlePacket(0, 0, packet('198.18.0.1', '198.18.0.2', { srcPort: 40001, seq: 50, ack: 9, flags: TcpFlags.ACK }));
  const rst = reply(h).tcp;
  assert.equal(rst.flags, TcpFlags.RST);
  assert.equal(rst.seq, 9);
  assert.throws(() => h.listen(70000), /bad port/);
});

test('connect: no route and bad addresses are clear errors', () => {
  const h = host('h', ['198.18.0.2/24']);
  assert.throws(() => h.connect(0, '198.19.0.1', 80), /no route to 198.19.0.1 \(ENETUNREACH\)/);
  assert.throws(() => h.connect(0, 'not-an-address', 80), /bad address/);
  assert.throws(() => h.connect(0, '198.18.0.1', 80, { localAddress: '198.18.0.77' }), /EADDRNOTAVAIL/);
});

test('IPv6: a connection over 2001:2::/64 exchanges data and closes', () => {
  const net = new Network({ seed: 4 });
  const client = host('client', ['2001:2::1/64']);
  const server = host('server', ['2001:2::2/64']);
  let got = '';
  const c = net.addHost('c', new AppHost(client, (_now, e) => {
    if (e.type === 'tcp' && e.event.type === 'established') {
      e.connection.write(new TextEncoder().encode('hello over IPv6'));
      e.connection.shutdown();
    }
  }));
  const s = net.addHost('s', new AppHost(server, (_now, e) => {
    if (e.type !== 'tcp') return;
    if (e.event.type === 'readable' || e.event.type === 'end') {
      for (let b = e.connection.read(); b; b = e.connection.read()) got += new TextDecoder().decode(b);
      if (e.event.type === 'end') e.connection.shutdown();
    }
  }));
  net.connect([c, 0], [s, 0], { config: { rateBitsPerSecond: 10e6, delayMicros: 1000 } });
  server.listen(443);
  const conn = client.connect(0, '2001:2::2', 443);
  assert.equal(conn.endpoints.localAddress.length, 16);
  net.wake(c);
  net.runFor(5_000_000);
  assert.equal(got, 'hello over IPv6');
  assert.ok(['TIME-WAIT', 'CLOSED'].includes(conn.state), conn.state);
  net.runFor(120_000_000);
  assert.equal(client.connections().length, 0, 'TIME-WAIT expired and the connection was reaped');
});
