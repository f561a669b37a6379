/**
 * The emulator's pcap tap writing through the real PcapWriter: what a link delivers can be read back by
 * our reader (and by Wireshark), with the virtual delivery times as timestamps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network, PacketSink, attachPcap } from '../../src/emu/index.js';
import { PcapWriter, readCapture, LinkType } from '../../src/wire/pcap.js';
import { emitIpHeader, IpProtocol, parseIpPacket } from '../../src/wire/ip.js';
import { isWireError } from '../../src/wire/errors.js';

test('pcap tap + PcapWriter: delivered packets read back with their virtual delivery times', () => {
  const chunks: Uint8Array[] = [];
  const writer = new PcapWriter((c) => chunks.push(Uint8Array.from(c)));
  const net = new Network({ seed: 7 });
  const a = net.addHost('a', new PacketSink());
  const sinkB = new PacketSink();
  const b = net.addHost('b', sinkB);
  const { forward } = net.connect([a, 0], [b, 0], { config: { rateBitsPerSecond: 8e6, delayMicros: 1000 } });
  attachPcap(forward, writer);

  const packets: Uint8Array[] = [];
  for (let i = 0; i < 5; i++) {
    const p = new Uint8Array(20 + 980);
    emitIpHeader({ src: Uint8Array.from([198, 18, 0, 1]), dst: Uint8Array.from([198, 18, 0, 2]), protocol: IpProtocol.UDP, payloadLength: 980, identification: i }, p, 0);
    packets.push(p);
    net.inject(forward, p, 0);
  }
  net.run(1_000_000);
  assert.equal(sinkB.count, 5);

  const file = Buffer.concat(chunks);
  const capture = readCapture(file);
  assert.ok(!isWireError(capture), String(capture));
  assert.equal(capture.packets.length, 5);
  // 1000 bytes at 8 Mbit/s = 1000 us each, back to back from t=0, plus 1000 us propagation.
  capture.packets.forEach((p, i) => {
    assert.equal(p.linkType, LinkType.RAW);
    assert.equal(p.timestampMicros, (i + 1) * 1000 + 1000);
    assert.deepEqual(Uint8Array.from(p.data), packets[i]);
    const ip = parseIpPacket(p.data);
    assert.ok(!isWireError(ip));
    assert.equal(ip.header.version === 4 && ip.header.identification, i);
    assert.equal(p.timestampMicros, sinkB.received[i]!.time);
  });
});
