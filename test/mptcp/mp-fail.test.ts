/**
 * MP_FAIL (RFC 8684 section 3.7) on the emulator: a middlebox rewrites one payload byte and fixes the TCP
 * checksum, so only the DSS checksum can tell (both ends request checksums).
 * - One subflow (never joined, nothing reinjected: Linux's `allow_infinite_fallback`): the receiver delivers
 *   the data as TCP would, answers with MP_FAIL and falls back to TCP; the sender answers with MP_FAIL and
 *   an infinite mapping and falls back too. The transfer completes; what arrives is what was sent with the
 *   rewritten byte, as over plain TCP through that box.
 * - Two subflows: the receiver discards the mapping and resets that subflow with MP_FAIL and MP_TCPRST
 *   "middlebox interference"; the sender reinjects its data on the other subflow, and the data arrives
 *   intact.
 * Virtual time, seeded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LinkConfig } from '../../src/emu/link.js';
import { PayloadCorrupter } from '../../src/emu/middlebox.js';
import { parseIpPacket } from '../../src/wire/ip.js';
import { parseTcpSegment } from '../../src/wire/tcp.js';
import { isWireError } from '../../src/wire/errors.js';
import { MpTcpRstReason } from '../../src/wire/mptcp-option.js';
import { MB, mptcpServer, scenario, sha256, summary } from '../../src/harness/scenario.js';

const path: LinkConfig = { rateBitsPerSecond: 100e6, delayMicros: 5_000, queueLimitBytes: 400_000 };

test('MP_FAIL on the only subflow: both ends fall back to TCP with an infinite mapping; the transfer completes with the rewritten byte', () => {
  const box = new PayloadCorrupter({ match: (seg) => seg.index >= 300 && seg.dstPort === 5201 });
  const s = scenario({ seed: 91, up: 8 * MB, down: 2 * MB, paths: [{ config: path }], clientChecksum: true, serverChecksum: true });
  s.paths[0]!.forward.setTransform(box.transform);
  const thrown = s.finish(120_000_000);
  const server = mptcpServer(s);
  const cc = s.clientHost.mptcpCounters;
  const sc = s.serverHost.mptcpCounters;
  console.log(
    summary('MP_FAIL, one subflow', s, `corrupted ${JSON.stringify(box.corrupted)}; client ${s.client.mptcpInfo().mode}, server ${server.mptcpInfo().mode}; ` +
      `MPFailTx ${cc.MPFailTx}/${sc.MPFailTx} MPFailRx ${cc.MPFailRx}/${sc.MPFailRx} InfiniteMapTx ${cc.InfiniteMapTx} InfiniteMapRx ${sc.InfiniteMapRx} DataCsumErr ${sc.DataCsumErr}`),
  );
  assert.equal(thrown, undefined);
  assert.equal(box.corrupted.length, 1, 'the box rewrote one byte');
  // The stream offset of the rewritten byte: its subflow sequence (relative to the client's ISN) - 1.
  const offset = ((box.corrupted[0]!.seq - s.client.subflows()[0]!.localIsn) >>> 0) - 1;
  assert.ok(offset > 0 && offset < s.up.data.length, 'in mid-transfer');
  const expected = s.up.data.slice();
  expected[offset] = expected[offset]! ^ 0xff;
  assert.equal(s.up.received, s.up.data.length, 'every byte arrived (none lost, none duplicated)');
  assert.equal(s.up.hash.copy().digest('hex'), sha256(expected), 'what arrived is what was sent with the one byte the box rewrote');
  assert.ok(s.down.intact(), 'the other direction is intact');
  assert.equal(sc.DataCsumErr, 1, 'the server detected the checksum failure');
  assert.equal(sc.DSSCorruptionFallback, 1);
  assert.equal(sc.MPFailTx, 1, 'and sent MP_FAIL');
  assert.equal(cc.MPFailRx, 1, 'the client received it');
  assert.equal(cc.MPFailTx, 1, 'and answered with MP_FAIL');
  assert.equal(cc.InfiniteMapTx, 1, 'and an infinite mapping');
  assert.equal(sc.InfiniteMapRx, 1);
  assert.equal(s.client.fallback, true, 'the client fell back to TCP');
  assert.equal(server.fallback, true, 'the server fell back to TCP');
  assert.ok(s.up.closed && s.down.closed, 'both ends closed');
  assert.equal(s.up.closedError, undefined);
  assert.equal(s.down.closedError, undefined);
});

test('MP_FAIL with two subflows: the corrupted subflow is reset (MP_FAIL + MP_TCPRST middlebox), its data reinjected; SHA-256 equal', () => {
  const box = new PayloadCorrupter({ match: (seg) => seg.index >= 200 && seg.dstPort === 5201 });
  const s = scenario({
    seed: 92,
    up: 8 * MB,
    down: 2 * MB,
    paths: [{ config: path }, { config: path }],
    clientEndpoints: ['198.18.2.2 id 2 subflow'],
    clientLimits: 'subflows 2',
    serverLimits: 'subflows 2',
    clientChecksum: true,
    serverChecksum: true,
  });
  // Only once the joined subflow carries data.
  let resets: number[] = [];
  s.paths[1]!.backward.addTap({
    onDeliver(_now, bytes) {
      const ip = parseIpPacket(bytes, { verifyChecksum: false });
      if (isWireError(ip)) return;
      const seg = parseTcpSegment(ip.payload);
      if (isWireError(seg)) return;
      let fail = false;
      for (const o of seg.options) {
        if (o.kind !== 'mptcp') continue;
        if (o.option.subtype === 'MP_FAIL') fail = true;
        if (o.option.subtype === 'MP_TCPRST' && fail) resets = [...resets, o.option.reason];
      }
    },
  });
  s.paths[1]!.forward.setTransform(box.transform);
  const thrown = s.finish(120_000_000);
  const server = mptcpServer(s);
  const cc = s.clientHost.mptcpCounters;
  const sc = s.serverHost.mptcpCounters;
  console.log(
    summary('MP_FAIL, two subflows', s, `corrupted ${box.corrupted.length}; RST+MP_FAIL reasons ${JSON.stringify(resets)}; ` +
      `MPFailTx ${sc.MPFailTx} MPFailRx ${cc.MPFailRx} DSSCorruptionReset ${sc.DSSCorruptionReset} MPTCPRetrans ${cc.MPTCPRetrans}`),
  );
  assert.equal(thrown, undefined);
  assert.equal(box.corrupted.length, 1);
  assert.ok(s.up.intact(), 'up: intact (the corrupted mapping was discarded and reinjected)');
  assert.ok(s.down.intact(), 'down: intact');
  assert.equal(sc.DataCsumErr, 1);
  assert.equal(sc.DSSCorruptionReset, 1, 'the server reset the subflow');
  assert.equal(sc.MPFailTx, 1);
  assert.equal(cc.MPFailRx, 1);
  assert.deepEqual(resets, [MpTcpRstReason.MIDDLEBOX_INTERFERENCE], 'one RST with MP_FAIL and MP_TCPRST reason 6');
  assert.ok(cc.MPTCPRetrans >= 1, 'the client reinjected');
  assert.equal(s.client.fallback, false, 'still MPTCP');
  assert.equal(server.fallback, false);
  assert.ok(s.up.closed && s.down.closed, 'both ends closed');
  assert.equal(s.up.closedError, undefined);
});

test('MP_FAIL on a receive-only client that shut down at once (DATA_FIN before fully established): both fall back; no ACK storm', () => {
  const box = new PayloadCorrupter({ match: (seg) => seg.index >= 300 && seg.srcPort === 5201 });
  const s = scenario({ seed: 93, up: 0, down: 6 * MB, paths: [{ config: path }], clientChecksum: true, serverChecksum: true });
  s.paths[0]!.backward.setTransform(box.transform);
  const thrown = s.finish(120_000_000);
  const cc = s.clientHost.mptcpCounters;
  const sc = s.serverHost.mptcpCounters;
  console.log(summary('MP_FAIL, receive-only client', s, `MPFailTx ${cc.MPFailTx}/${sc.MPFailTx} InfiniteMapTx ${sc.InfiniteMapTx} InfiniteMapRx ${cc.InfiniteMapRx}`));
  assert.equal(thrown, undefined, 'no exception (the harness bounds packets per turn: a storm of ACKs would throw)');
  assert.equal(sc.MPCapableACKRX, 1, 'the third ACK carried MP_CAPABLE even though the DATA_FIN was due');
  assert.equal(box.corrupted.length, 1);
  const server = mptcpServer(s);
  const offset = ((box.corrupted[0]!.seq - server.subflows()[0]!.localIsn) >>> 0) - 1;
  const expected = s.down.data.slice();
  expected[offset] = expected[offset]! ^ 0xff;
  assert.equal(s.down.received, s.down.data.length);
  assert.equal(s.down.hash.copy().digest('hex'), sha256(expected));
  assert.equal(cc.DataCsumErr, 1);
  assert.equal(cc.MPFailTx, 1);
  assert.equal(sc.MPFailRx, 1);
  assert.equal(sc.InfiniteMapTx, 1);
  assert.equal(cc.InfiniteMapRx, 1);
  assert.equal(s.client.fallback, true);
  assert.equal(server.fallback, true);
  assert.ok(s.up.closed && s.down.closed, 'both ends closed');
});
