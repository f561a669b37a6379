/**
 * Wire-codec benchmarks: the per-segment cost of parsing and emitting a data segment that carries a DSS
 * option (DATA_ACK 64 + mapping with 64-bit DSN) and timestamps, MSS-sized payload, IPv4.
 */
import { emitIpHeader, ipHeaderLength, parseIpPacket, IpProtocol } from '../src/wire/ip.js';
import { emitTcpSegment, parseTcpSegment, tcpHeaderLength, TcpFlags, type TcpOption } from '../src/wire/tcp.js';
import { emitMptcpOption, mptcpOptionLength, parseMptcpOption, type DssOption } from '../src/wire/mptcp-option.js';
import { u64 } from '../src/wire/u64.js';
import { isWireError } from '../src/wire/errors.js';
import { nsPerOp, sig3, type BenchResult } from './measure.js';

export async function benchWire(): Promise<BenchResult[]> {
  const src = Uint8Array.from([198, 18, 0, 1]);
  const dst = Uint8Array.from([198, 18, 0, 2]);
  const payload = new Uint8Array(1448).map((_, i) => i & 0xff);
  const dss: DssOption = {
    subtype: 'DSS',
    dataFin: false,
    dataAck: u64(0x12345678, 0x9abcdef0),
    dataAck64: true,
    mapping: { dsn: u64(0x0fedcba9, 0x87654321), dsn64: true, subflowSeq: 1, dataLength: 1448 },
  };
  const options: TcpOption[] = [
    { kind: 'nop' },
    { kind: 'nop' },
    { kind: 'timestamps', tsVal: 123456, tsEcr: 654321 },
    { kind: 'mptcp', option: dss },
  ];
  const seg = { srcPort: 40000, dstPort: 5201, seq: 1000, ack: 2000, flags: TcpFlags.ACK | TcpFlags.PSH, window: 512, options, payload };
  const ipLen = ipHeaderLength(src);
  const tcpLen = tcpHeaderLength(options) + payload.length;
  const buf = new Uint8Array(ipLen + tcpLen);
  const emitPacket = () => {
    const h = emitIpHeader({ src, dst, protocol: IpProtocol.TCP, payloadLength: tcpLen }, buf, 0);
    return h + emitTcpSegment(seg, src, dst, buf, h);
  };
  const total = emitPacket();
  const packet = buf.subarray(0, total);
  const check = parseIpPacket(packet);
  if (isWireError(check)) throw new Error(`bench packet does not parse: ${check}`);

  const optBytes = new Uint8Array(mptcpOptionLength(dss));
  emitMptcpOption(dss, optBytes, 0);

  let sink = 0;
  const results: BenchResult[] = [];
  const record = (name: string, r: { median: number; min: number; max: number }, note: string) =>
    results.push({ name, value: sig3(r.median), unit: 'ns', note: `${note}; min ${sig3(r.min)}, max ${sig3(r.max)}` });

  record(
    'DSS option parse',
    nsPerOp(() => {
      const o = parseMptcpOption(optBytes);
      if (!isWireError(o)) sink += o.subtype.length;
    }, 2_000_000),
    `${optBytes.length}-byte DSS (64-bit DATA_ACK + 64-bit DSN mapping)`,
  );
  record('DSS option emit', nsPerOp(() => { sink += emitMptcpOption(dss, optBytes, 0); }, 2_000_000), 'same option');
  record(
    'DSS data segment parse (IPv4+TCP+options, no checksum verify)',
    nsPerOp(() => {
      const ip = parseIpPacket(packet, { verifyChecksum: false });
      if (isWireError(ip)) return;
      const tcp = parseTcpSegment(ip.payload);
      if (!isWireError(tcp)) sink += tcp.options.length;
    }, 1_000_000),
    `${total}-byte packet, TS + DSS options, 1448-byte payload`,
  );
  record(
    'DSS data segment parse (IPv4+TCP+options, IP+TCP checksums verified)',
    nsPerOp(() => {
      const ip = parseIpPacket(packet);
      if (isWireError(ip)) return;
      const tcp = parseTcpSegment(ip.payload, ip);
      if (!isWireError(tcp)) sink += tcp.options.length;
    }, 300_000),
    'as above, TCP checksum over 1448 bytes of payload included',
  );
  record('DSS data segment emit (IPv4 header + TCP + options + payload copy + checksum)', nsPerOp(() => { sink += emitPacket(); }, 300_000), 'as above');
  if (sink === 42) console.log('');
  return results;
}
