/**
 * The option-stripping middlebox (src/emu/middlebox.ts) and the link's transform hook: MPTCP options become
 * NOPs, nothing else changes (lengths, other options, payload), the TCP checksum verifies afterwards, on
 * IPv4 and IPv6; predicates select segments; the transform sits after the filter and before loss.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emitIpHeader, ipHeaderLength, parseIpPacket, IpProtocol } from '../../src/wire/ip.js';
import { emitTcpSegment, parseTcpSegment, tcpHeaderLength, TcpFlags, type TcpOption, type TcpSegment } from '../../src/wire/tcp.js';
import { isWireError } from '../../src/wire/errors.js';
import { u64 } from '../../src/wire/u64.js';
import { Simulator } from '../../src/emu/sim.js';
import { Link } from '../../src/emu/link.js';
import { Network } from '../../src/emu/network.js';
import { PacketSink } from '../../src/emu/hosts.js';
import { OptionStripper, afterSyn, fromSegment, onlySynAck, stripTcpOptionsInPlace, withPayload } from '../../src/emu/middlebox.js';

const v4 = { src: new Uint8Array([198, 18, 0, 1]), dst: new Uint8Array([198, 18, 0, 2]) };
const v6 = {
  src: new Uint8Array([0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
  dst: new Uint8Array([0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]),
};

const mpCapableSynAck: TcpOption = { kind: 'mptcp', option: { subtype: 'MP_CAPABLE', version: 1, flags: 0x01, senderKey: u64(0x01020304, 0x05060708) } };
const dss: TcpOption = { kind: 'mptcp', option: { subtype: 'DSS', dataFin: false, dataAck: u64(0, 1000), dataAck64: false } };

function segment(addrs: { src: Uint8Array; dst: Uint8Array }, flags: number, options: TcpOption[], payload = new Uint8Array(0)): Uint8Array {
  const tcpLength = tcpHeaderLength(options) + payload.length;
  const ipLength = ipHeaderLength(addrs.src);
  const buf = new Uint8Array(ipLength + tcpLength);
  emitIpHeader({ src: addrs.src, dst: addrs.dst, protocol: IpProtocol.TCP, payloadLength: tcpLength }, buf, 0);
  emitTcpSegment({ srcPort: 5201, dstPort: 40000, seq: 1000, ack: 2000, flags, window: 512, options, payload }, addrs.src, addrs.dst, buf, ipLength);
  return buf;
}

/** Parses with the TCP checksum verified (a WireError fails the test). */
function parseChecked(bytes: Uint8Array): TcpSegment {
  const ip = parseIpPacket(bytes);
  assert.ok(!isWireError(ip), String(ip));
  const seg = parseTcpSegment(ip.payload, { src: ip.src, dst: ip.dst });
  assert.ok(!isWireError(seg), `TCP checksum after rewrite: ${String(seg)}`);
  return seg;
}

for (const [family, addrs] of [['IPv4', v4], ['IPv6', v6]] as const) {
  test(`stripTcpOptionsInPlace (${family}): MPTCP options become NOPs; lengths, other options, payload unchanged; checksum verifies`, () => {
    const options: TcpOption[] = [{ kind: 'mss', mss: 1460 }, { kind: 'sackPermitted' }, { kind: 'timestamps', tsVal: 7, tsEcr: 9 }, { kind: 'windowScale', shift: 7 }, mpCapableSynAck];
    const payload = new Uint8Array([1, 2, 3, 4, 5]);
    const bytes = segment(addrs, TcpFlags.SYN | TcpFlags.ACK, options, payload);
    const before = parseChecked(bytes);
    assert.ok(before.options.some((o) => o.kind === 'mptcp'));
    const copy = bytes.slice();
    assert.equal(stripTcpOptionsInPlace(copy, new Set([30])), 1);
    assert.equal(copy.length, bytes.length);
    const after = parseChecked(copy);
    assert.equal(after.options.some((o) => o.kind === 'mptcp'), false, 'no MPTCP option left');
    assert.deepEqual(
      after.options.filter((o) => o.kind !== 'nop' && o.kind !== 'eol'),
      before.options.filter((o) => o.kind !== 'nop' && o.kind !== 'eol' && o.kind !== 'mptcp'),
      'the other options are untouched',
    );
    assert.equal(after.headerLength, before.headerLength);
    assert.deepEqual([...after.payload], [...payload]);
    assert.equal(after.seq, before.seq);
    // Everything outside the option and the checksum field is byte-identical; the option is all NOPs.
    const tcpAt = ipHeaderLength(addrs.src);
    const optAt = bytes.indexOf(30, tcpAt + 20);
    assert.equal(bytes[optAt + 1], 12, 'found the MP_CAPABLE option');
    for (let i = 0; i < bytes.length; i++) {
      if (i === tcpAt + 16 || i === tcpAt + 17) continue;
      if (i >= optAt && i < optAt + 12) assert.equal(copy[i], 1, `NOP at ${i}`);
      else assert.equal(copy[i], bytes[i], `byte ${i} unchanged`);
    }
  });
}

test('stripTcpOptionsInPlace: no matching option leaves the packet byte-identical; non-TCP input is refused', () => {
  const bytes = segment(v4, TcpFlags.ACK, [{ kind: 'timestamps', tsVal: 1, tsEcr: 2 }]);
  const copy = bytes.slice();
  assert.equal(stripTcpOptionsInPlace(copy, new Set([30])), 0);
  assert.deepEqual(copy, bytes);
  assert.equal(stripTcpOptionsInPlace(new Uint8Array([0x45, 0, 0]), new Set([30])), undefined);
  const udp = bytes.slice();
  udp[9] = IpProtocol.UDP;
  assert.equal(stripTcpOptionsInPlace(udp, new Set([30])), undefined);
});

test('stripTcpOptionsInPlace: a broken option length stops the walk and nothing after it is touched', () => {
  const bytes = segment(v4, TcpFlags.ACK, [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamps', tsVal: 1, tsEcr: 2 }, dss]);
  const at = 20 + 20 + 2; // the timestamps option
  bytes[at + 1] = 1; // length < 2: unframeable
  const copy = bytes.slice();
  assert.equal(stripTcpOptionsInPlace(copy, new Set([30])), 0);
  assert.deepEqual(copy, bytes);
});

test('OptionStripper predicates: onlySynAck, afterSyn, fromSegment, withPayload; counts; the original buffer is not modified', () => {
  const synAck = segment(v4, TcpFlags.SYN | TcpFlags.ACK, [mpCapableSynAck]);
  const ack = segment(v4, TcpFlags.ACK, [dss]);
  const data = segment(v4, TcpFlags.ACK, [dss], new Uint8Array(100));
  const hasMptcp = (b: Uint8Array) => parseChecked(b).options.some((o) => o.kind === 'mptcp');
  const run = (box: OptionStripper) => [synAck, ack, data, ack].map((b) => {
    const out = box.transform(0, b);
    return out === undefined ? 'same' : hasMptcp(out) ? 'kept' : 'stripped';
  });
  assert.deepEqual(run(new OptionStripper({ match: onlySynAck })), ['stripped', 'same', 'same', 'same']);
  assert.deepEqual(run(new OptionStripper({ match: afterSyn })), ['same', 'stripped', 'stripped', 'stripped']);
  assert.deepEqual(run(new OptionStripper({ match: fromSegment(2) })), ['same', 'same', 'stripped', 'stripped']);
  assert.deepEqual(run(new OptionStripper({ match: withPayload })), ['same', 'same', 'stripped', 'same']);
  const box = new OptionStripper();
  assert.deepEqual(run(box), ['stripped', 'stripped', 'stripped', 'stripped']);
  assert.equal(box.seen, 4);
  assert.equal(box.rewritten, 4);
  assert.equal(box.optionsStripped, 4);
  assert.ok(hasMptcp(synAck) && hasMptcp(data), 'the offered buffers are untouched');
  const off = new OptionStripper();
  off.enabled = false;
  assert.deepEqual(run(off), ['same', 'same', 'same', 'same']);
  assert.equal(off.seen, 4);
  // Other kinds: timestamps (8) only.
  const ts = new OptionStripper({ kinds: [8] });
  const out = ts.transform(0, segment(v4, TcpFlags.ACK, [{ kind: 'timestamps', tsVal: 1, tsEcr: 2 }, dss]));
  assert.ok(out);
  const seg = parseChecked(out);
  assert.equal(seg.options.some((o) => o.kind === 'timestamps'), false);
  assert.equal(seg.options.some((o) => o.kind === 'mptcp'), true);
});

test('Link transform: runs after the filter and before loss; delivered packets are the rewritten ones; offer taps see the original', () => {
  const sim = new Simulator();
  const box = new OptionStripper();
  const link = new Link(sim, { delayMicros: 1000, transform: box.transform }, { name: 't' });
  let filtered = 0;
  link.setFilter(() => ++filtered !== 2); // the second packet offered is dropped by the filter
  const offered: boolean[] = [];
  const delivered: boolean[] = [];
  const hasMptcp = (b: Uint8Array) => parseChecked(b).options.some((o) => o.kind === 'mptcp');
  link.addTap({ onOffer: (_n, b) => offered.push(hasMptcp(b)) });
  link.setReceiver((_now, b) => delivered.push(hasMptcp(b)));
  link.offer(segment(v4, TcpFlags.SYN | TcpFlags.ACK, [mpCapableSynAck]));
  link.offer(segment(v4, TcpFlags.ACK, [dss])); // filtered out before the transform
  link.offer(segment(v4, TcpFlags.ACK, [dss], new Uint8Array(10)));
  sim.runUntilIdle();
  assert.equal(filtered, 3);
  assert.equal(box.seen, 2, 'the filtered packet never reached the middlebox');
  assert.deepEqual(offered, [true, true, true]);
  assert.deepEqual(delivered, [false, false]);
  assert.equal(link.counters.droppedPackets.filter, 1);
  assert.equal(link.counters.deliveredPackets, 2);
  assert.equal(link.counters.deliveredBytes + link.counters.droppedBytes.filter, link.counters.offeredBytes, 'lengths kept');
  link.setTransform(undefined);
  link.offer(segment(v4, TcpFlags.ACK, [dss], new Uint8Array(10)));
  sim.runUntilIdle();
  assert.deepEqual(delivered, [false, false, true], 'setTransform(undefined) removes it');
});

test('Link transform: installing one does not change the loss pattern (no draw from the link streams)', () => {
  const pattern = (withBox: boolean): number[] => {
    const net = new Network({ seed: 5 });
    const a = net.addHost('a', new PacketSink());
    const b = net.addHost('b', new PacketSink());
    const path = net.connect([a, 0], [b, 0], { config: { loss: 0.2, delayMicros: 10 } });
    if (withBox) new OptionStripper({ match: withPayload }).install(path);
    const got: number[] = [];
    path.forward.setReceiver((_now, bytes) => got.push(parseChecked(bytes).payload[0]!));
    for (let i = 0; i < 200; i++) path.forward.offer(segment(v4, TcpFlags.ACK, [dss], new Uint8Array([i])));
    net.runUntilIdle();
    return got;
  };
  const plain = pattern(false);
  assert.ok(plain.length > 120 && plain.length < 190);
  assert.deepEqual(pattern(true), plain);
});
