/**
 * Fallback to TCP when a middlebox strips MPTCP options (issue 4, emulator tests), with the option-stripping
 * middlebox of src/emu/middlebox.ts on both directions of the path:
 * - (a) only from the SYN/ACK: RFC 8684 3.1, "If the SYN/ACK does not contain MP_CAPABLE, the initiator MUST
 *   fall back to regular TCP"; the client's third ACK then carries no MP_CAPABLE, and the server, seeing
 *   none, falls back too (3.7; Linux counts MPCapableFallbackSYNACK on the client, MPCapableFallbackACK on
 *   the server). No MPTCP option crosses after the SYN/ACK.
 * - (b) from every segment after the handshake (from the first data on, and from mid-transfer): 3.7,
 *   data without a mapping on the only subflow means the path does not carry MPTCP options, and the
 *   connection falls back to TCP ("infinite mapping"; Linux: DssFallback, `mptcp_do_fallback`); both ends
 *   must end up plain TCP with no byte lost or duplicated.
 * SHA-256 of what crossed both ways, graceful close. Virtual time, seeded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Link, LinkConfig } from '../../src/emu/link.js';
import { OptionStripper, afterSyn, fromSegment, onlySynAck, type SegmentPredicate } from '../../src/emu/middlebox.js';
import { MptcpConnection } from '../../src/mptcp/connection.js';
import { parseIpPacket } from '../../src/wire/ip.js';
import { parseTcpSegment, TcpFlags } from '../../src/wire/tcp.js';
import { isWireError } from '../../src/wire/errors.js';
import { MB, scenario, summary } from '../../src/harness/scenario.js';

const path: LinkConfig = { rateBitsPerSecond: 100e6, delayMicros: 10_000, queueLimitBytes: 500_000, loss: 0.002 };

/** Counts delivered segments that still carry an MPTCP option, after the handshake's SYNs. */
function countMptcpAfterSyn(link: Link): { n: number } {
  const counter = { n: 0 };
  link.addTap({
    onDeliver(_now, bytes) {
      const ip = parseIpPacket(bytes, { verifyChecksum: false });
      if (isWireError(ip)) return;
      const seg = parseTcpSegment(ip.payload);
      if (isWireError(seg) || seg.flags & TcpFlags.SYN) return;
      if (seg.options.some((o) => o.kind === 'mptcp')) counter.n++;
    },
  });
  return counter;
}

function run(name: string, seed: number, match: SegmentPredicate) {
  const box = new OptionStripper({ match });
  const s = scenario({ seed, up: 10 * MB, down: 10 * MB, paths: [{ config: path }] });
  box.install(s.paths[0]!);
  const leaked = [countMptcpAfterSyn(s.paths[0]!.forward), countMptcpAfterSyn(s.paths[0]!.backward)];
  const thrown = s.finish(300_000_000);
  const server = s.server;
  const cc = s.clientHost.mptcpCounters;
  const sc = s.serverHost.mptcpCounters;
  const serverMode = server instanceof MptcpConnection ? server.mptcpInfo().mode : server ? 'plain TCP' : 'none';
  console.log(
    summary(
      name,
      s,
      `middlebox rewrote ${box.rewritten} of ${box.seen} segments; client ${s.client.mptcpInfo().mode}, server ${serverMode}; ` +
        `MPTCP options delivered after the SYNs ${leaked[0]!.n}/${leaked[1]!.n}; ` +
        `MPCapableFallbackSYNACK ${cc.MPCapableFallbackSYNACK} MPCapableFallbackACK ${sc.MPCapableFallbackACK} DssFallback ${cc.DssFallback}/${sc.DssFallback}` +
        (thrown ? `; THREW: ${thrown.message}` : ''),
    ),
  );
  assert.equal(thrown, undefined);
  assert.ok(box.rewritten > 0, 'the middlebox did strip options');
  return { s, box, leaked, cc, sc, server };
}

function assertIntactAndClosed(r: ReturnType<typeof run>): void {
  const { s } = r;
  assert.ok(s.up.intact(), `up: ${s.up.received} of ${s.up.data.length}, SHA-256 equal`);
  assert.ok(s.down.intact(), `down: ${s.down.received} of ${s.down.data.length}, SHA-256 equal`);
  assert.ok(s.up.closed && s.down.closed, 'both ends closed');
  assert.equal(s.up.closedError, undefined);
  assert.equal(s.down.closedError, undefined);
}

test('middlebox strips MP_CAPABLE from the SYN/ACK: the client falls back (RFC 8684 3.1), the server falls back on the third ACK; data intact', () => {
  const r = run('MP_CAPABLE stripped from the SYN/ACK', 61, onlySynAck);
  assert.equal(r.box.rewritten, 1, 'exactly the SYN/ACK was rewritten');
  assertIntactAndClosed(r);
  assert.equal(r.s.client.fallback, true);
  assert.equal(r.s.client.mptcpInfo().mode, 'fallback');
  if (r.server instanceof MptcpConnection) assert.equal(r.server.fallback, true, 'the server fell back');
  assert.equal(r.cc.MPCapableFallbackSYNACK, 1);
  assert.equal(r.sc.MPCapableFallbackACK, 1, 'the server saw a third ACK without MP_CAPABLE');
  assert.deepEqual(
    r.leaked.map((x) => x.n),
    [0, 0],
    'no MPTCP option sent by either end after the SYN/ACK (the box only rewrites SYN/ACKs, so any would have crossed)',
  );
});

test(
  'middlebox strips MPTCP options from every segment after the handshake (first data on): both ends fall back to TCP, nothing lost (RFC 8684 3.7)',
  () => {
    // Segments 0-2 of the path are the SYN, SYN/ACK and third ACK; everything after loses its options.
    const r = run('MPTCP options stripped after the handshake', 62, (seg, now) => afterSyn(seg, now) && fromSegment(3)(seg, now));
    assertIntactAndClosed(r);
    assert.equal(r.s.client.fallback, true, 'the client fell back');
    assert.ok(r.server instanceof MptcpConnection && r.server.fallback, 'the server fell back');
    assert.ok(r.cc.DssFallback + r.sc.DssFallback >= 1, 'a fallback on data without a mapping');
    assert.equal(r.cc.MPCapableFallbackSYNACK + r.sc.MPCapableFallbackACK, 0, 'the handshake itself succeeded');
  },
);

test('middlebox starts stripping MPTCP options in mid-transfer: both ends fall back to TCP, nothing lost or duplicated (RFC 8684 3.7)', () => {
  const r = run('MPTCP options stripped from mid-transfer', 63, (seg, now) => afterSyn(seg, now) && fromSegment(3000)(seg, now));
  assertIntactAndClosed(r);
  assert.ok(r.s.client.subflowInfo()[0]!.dataBytesSent > 1 * MB, 'MPTCP carried data before the stripping began');
  assert.ok(r.cc.DssFallback + r.sc.DssFallback >= 1, 'a fallback on data without a mapping');
  assert.equal(r.s.client.fallback, true, 'the client fell back');
  assert.ok(r.server instanceof MptcpConnection && r.server.fallback, 'the server fell back');
});
