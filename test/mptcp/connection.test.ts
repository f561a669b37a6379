/**
 * MptcpConnection, one subflow (issue 4, first slice): the MP_CAPABLE option sequence byte for byte in both
 * roles, DSN/DATA_ACK offsets across the 2^32 boundary, checksum mismatch detection, fallback.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Host } from '../../src/stack/host.js';
import { parseIpPacket, ipHeaderLength } from '../../src/wire/ip.js';
import { parseTcpSegment, TcpFlags } from '../../src/wire/tcp.js';
import { mptcpOptionLength, type MptcpOption } from '../../src/wire/mptcp-option.js';
import { isWireError } from '../../src/wire/errors.js';
import { dsnFromOffset, offsetFromDsn32, offsetFromDsn64 } from '../../src/mptcp/dsn.js';
import { keyIdsn } from '../../src/mptcp/keys.js';

interface Seen {
  dir: 'c>s' | 's>c';
  flags: number;
  payload: number;
  mptcp: MptcpOption[];
}

function pair(checksum: boolean, serverVerify = true) {
  const a = new Host({ name: 'a', secret: new Uint8Array(32).fill(1) });
  const b = new Host({ name: 'b', secret: new Uint8Array(32).fill(2), verifyChecksums: serverVerify });
  a.addInterface('e', ['198.18.0.1/24']);
  b.addInterface('e', ['198.18.0.2/24']);
  b.listen(80, { mptcp: true, checksum });
  const client = a.connect(0, '198.18.0.2', 80, { mptcp: true, checksum });
  const seen: Seen[] = [];
  let now = 0;
  const record = (dir: Seen['dir'], bytes: Uint8Array): void => {
    const ip = parseIpPacket(bytes);
    if (isWireError(ip)) throw new Error('bad ip');
    const s = parseTcpSegment(ip.payload);
    if (isWireError(s)) throw new Error('bad tcp');
    const mptcp: MptcpOption[] = [];
    for (const o of s.options) if (o.kind === 'mptcp') mptcp.push(o.option);
    seen.push({ dir, flags: s.flags, payload: s.payload.length, mptcp });
  };
  const step = (mutate?: (bytes: Uint8Array) => void): void => {
    now += 1000;
    for (let p = a.pollTransmit(now); p; p = a.pollTransmit(now)) {
      record('c>s', p.bytes);
      mutate?.(p.bytes);
      b.handlePacket(now, 0, p.bytes);
    }
    for (let p = b.pollTransmit(now); p; p = b.pollTransmit(now)) {
      record('s>c', p.bytes);
      a.handlePacket(now, 0, p.bytes);
    }
    if (a.pollTimeout() !== undefined && a.pollTimeout()! <= now) a.handleTimeout(now);
    if (b.pollTimeout() !== undefined && b.pollTimeout()! <= now) b.handleTimeout(now);
    while (a.pollEvent());
  };
  return { a, b, client, seen, step };
}

const capableLengths = (seen: Seen[]): string[] =>
  seen.flatMap((s) => s.mptcp.filter((o) => o.subtype === 'MP_CAPABLE').map((o) => `${s.dir}:${mptcpOptionLength(o)}`));

test('handshake: SYN 4, SYN/ACK 12, third ACK 20, first data 22 (both keys + data-level length); then DSS', () => {
  const { client, seen, step } = pair(false);
  step();
  step();
  client.write(new Uint8Array(100).fill(7));
  step();
  step();
  assert.deepEqual(capableLengths(seen), ['c>s:4', 's>c:12', 'c>s:20', 'c>s:22']);
  const syn = seen[0]!.mptcp[0]!;
  assert.ok(syn.subtype === 'MP_CAPABLE' && syn.version === 1 && syn.flags === 0x01, 'v1, flag H only');
  const ack = seen.find((s) => s.dir === 's>c' && s.mptcp.some((o) => o.subtype === 'DSS'));
  assert.ok(ack, 'the server acknowledges with a DSS carrying a 64-bit DATA_ACK');
  const dss = ack.mptcp.find((o) => o.subtype === 'DSS')!;
  assert.ok(dss.subtype === 'DSS' && dss.dataAck64 && dss.dataAck !== undefined);
  assert.equal(client.mptcpInfo().fullyEstablished, true, 'a DSS from the server ends the MP_CAPABLE repeats');
  client.write(new Uint8Array(10));
  step();
  const last = seen.filter((s) => s.dir === 'c>s' && s.payload > 0).at(-1)!;
  assert.deepEqual(last.mptcp.map((o) => o.subtype), ['DSS'], 'after the DATA_ACK the client sends DSS, not MP_CAPABLE');
});

test('handshake with checksums: flag A in the SYN, first data 24 bytes; the server sees the A flag', () => {
  const { client, seen, step, b } = pair(true);
  step();
  step();
  client.write(new Uint8Array(100).fill(7));
  step();
  step();
  assert.deepEqual(capableLengths(seen), ['c>s:4', 's>c:12', 'c>s:20', 'c>s:24']);
  const syn = seen[0]!.mptcp[0]!;
  assert.ok(syn.subtype === 'MP_CAPABLE' && syn.flags === 0x81, 'flags A and H');
  assert.equal(b.mptcpCounters.DataCsumErr, 0);
  assert.equal(b.mptcpConnections()[0]!.readableBytes, 100);
});

test('a corrupted payload fails the DSS checksum on the only subflow: DataCsumErr, the data delivered as TCP would, MP_FAIL sent (RFC 8684 3.7)', () => {
  const { client, step, b, seen } = pair(true, false);
  step();
  step();
  client.write(new Uint8Array(100).fill(7));
  step((bytes) => {
    const ip = parseIpPacket(bytes);
    if (isWireError(ip) || ip.payload.length <= 60) return;
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff; // last payload byte; TCP checksum not verified by this server
  });
  step();
  assert.equal(b.mptcpCounters.DataCsumErr, 1);
  assert.equal(b.mptcpCounters.DSSCorruptionFallback, 1);
  const data = b.mptcpConnections()[0]!.read();
  assert.equal(data?.length, 100, 'delivered, as plain TCP through the same box would');
  assert.equal(data![99], 7 ^ 0xff, 'with the rewritten byte');
  step();
  assert.equal(b.mptcpCounters.MPFailTx, 1, 'MP_FAIL on a pure ACK');
  assert.ok(seen.some((x) => x.dir === 's>c' && x.mptcp.some((o) => o.subtype === 'MP_FAIL')), 'seen on the wire');
});

test('DATA_FIN both ways: mapping of length 1 with subflow sequence 0, acknowledged by DATA_ACK', () => {
  const { client, seen, step, b } = pair(false);
  step();
  step();
  client.write(new Uint8Array(50));
  step();
  client.shutdown();
  for (let i = 0; i < 5; i++) step();
  const server = b.mptcpConnections()[0]!;
  while (server.read());
  server.shutdown();
  for (let i = 0; i < 10; i++) step();
  const fins = seen.filter((s) => s.mptcp.some((o) => o.subtype === 'DSS' && o.dataFin));
  assert.ok(fins.some((s) => s.dir === 'c>s') && fins.some((s) => s.dir === 's>c'));
  const fin = fins[0]!.mptcp.find((o) => o.subtype === 'DSS')!;
  assert.ok(fin.subtype === 'DSS' && fin.mapping?.subflowSeq === 0 && fin.mapping.dataLength === 1);
  assert.equal(client.mptcpInfo().bytesAcked, 51);
  assert.equal(server.mptcpInfo().bytesAcked, 1);
  assert.ok(seen.some((s) => s.dir === 'c>s' && (s.flags & TcpFlags.FIN) !== 0), 'subflow FIN after both DATA_FINs');
});

test('DSN offsets across the 2^32 boundary of the 64-bit space, 64-bit and 32-bit forms', () => {
  const idsn = { hi: 0x1234, lo: 0xffff_ff00 };
  assert.deepEqual(dsnFromOffset(idsn, 0), { hi: 0x1234, lo: 0xffff_ff01 });
  assert.deepEqual(dsnFromOffset(idsn, 0xff), { hi: 0x1235, lo: 0 });
  assert.deepEqual(dsnFromOffset(idsn, 0x1000), { hi: 0x1235, lo: 0xf01 });
  for (const offset of [0, 0xfe, 0xff, 0x100, 5_000_000_000, 2 ** 40]) {
    const dsn = dsnFromOffset(idsn, offset);
    assert.equal(offsetFromDsn64(idsn, dsn), offset);
    assert.equal(offsetFromDsn32(idsn, dsn.lo, offset), offset);
    assert.equal(offsetFromDsn32(idsn, dsn.lo, Math.max(0, offset - 1_000_000)), offset, 'expanded from an older expectation');
    assert.equal(offsetFromDsn32(idsn, dsn.lo, offset + 1_000_000), offset, 'expanded from a newer expectation');
  }
  assert.ok(offsetFromDsn64(idsn, idsn) < 0, 'the IDSN itself is before the first data byte');
  const key = { hi: 1, lo: 2 };
  assert.equal(offsetFromDsn64(keyIdsn(key), dsnFromOffset(keyIdsn(key), 12345)), 12345);
});

/** Rewrites the version nibble of the MP_CAPABLE option in `bytes` (the TCP checksum is left stale). */
function setCapableVersion(bytes: Uint8Array, version: number): boolean {
  const ihl = ipHeaderLength(bytes);
  const tcp = bytes.subarray(ihl);
  const end = (tcp[12]! >> 4) * 4;
  for (let i = 20; i < end; ) {
    const kind = tcp[i]!;
    if (kind === 0) break;
    if (kind === 1) {
      i++;
      continue;
    }
    const len = tcp[i + 1]!;
    if (kind === 30 && tcp[i + 2]! >> 4 === 0) {
      tcp[i + 2] = (tcp[i + 2]! & 0xf0) | version;
      return true;
    }
    i += Math.max(2, len);
  }
  return false;
}

test('MP_CAPABLE version 0 in the SYN: the server answers as plain TCP (no MP_CAPABLE), and the client falls back', () => {
  const { a, b, client, seen, step } = pair(false, false);
  let rewritten = 0;
  step((bytes) => {
    const ip = parseIpPacket(bytes);
    if (isWireError(ip)) return;
    const s = parseTcpSegment(ip.payload);
    if (!isWireError(s) && s.flags & TcpFlags.SYN && setCapableVersion(bytes, 0)) rewritten++;
  });
  for (let i = 0; i < 3; i++) step();
  assert.equal(rewritten, 1);
  const synAck = seen.find((x) => x.dir === 's>c' && x.flags & TcpFlags.SYN)!;
  assert.deepEqual(synAck.mptcp, [], 'the SYN/ACK carries no MP_CAPABLE');
  assert.equal(b.mptcpConnections().length, 0, 'the server made a plain TCP connection');
  assert.equal(client.fallback, true);
  assert.equal(a.mptcpCounters.MPCapableFallbackSYNACK, 1);
});
