/**
 * MP_JOIN on the emulator (issue 4, interop scenario 2's emulator twin): two hosts of this stack, the client
 * with two addresses on two links of different rates; an MPTCP connection on the first, then a subflow from
 * the second address joins (RFC 8684 3.2). SHA-256 of what crossed both ways, data on both subflows,
 * graceful close. A bad SYN/ACK HMAC is refused with a RST carrying MP_TCPRST. Virtual time, seeded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LinkConfig } from '../../src/emu/link.js';
import { TcpFlags } from '../../src/wire/tcp.js';
import { MpTcpRstReason } from '../../src/wire/mptcp-option.js';
import { MB, mptcpServer, scenario, sha256, tcpSegmentOf } from '../../src/harness/scenario.js';

const fast: LinkConfig = { rateBitsPerSecond: 100e6, delayMicros: 10_000, queueLimitBytes: 500_000 };
const slow: LinkConfig = { rateBitsPerSecond: 40e6, delayMicros: 15_000, queueLimitBytes: 300_000 };

interface Options {
  readonly up: number;
  readonly down: number;
  /** Corrupt the client's nonce after its MP_JOIN SYN left (the SYN/ACK HMAC then fails to verify). */
  readonly badSynAckHmac?: boolean;
}

/** Seed 11, fast and slow path; the client joins from 198.18.2.2 once established. Runs to the end. */
function run(o: Options) {
  let joined = false;
  let corrupted = false;
  /** The RSTs that reached the server, with their MP_TCPRST reason. */
  const rsts: { reason: number | undefined }[] = [];
  const s = scenario({
    seed: 11,
    secrets: [3, 4],
    dataSeeds: [0x1234567, 0x7654321],
    up: o.up,
    down: o.down,
    paths: [{ config: fast }, { config: slow }],
    onClientEvent: (s, _c, e, now) => {
      if (e.type !== 'established') return;
      s.clientHost.addSubflow(now, s.client, '198.18.2.2');
      joined = true;
    },
    onPacketToServer: (bytes) => {
      const seg = tcpSegmentOf(bytes);
      if (!seg || !(seg.flags & TcpFlags.RST)) return;
      let reason: number | undefined;
      for (const opt of seg.options) if (opt.kind === 'mptcp' && opt.option.subtype === 'MP_TCPRST') reason = opt.option.reason;
      rsts.push({ reason });
    },
    ...(o.badSynAckHmac
      ? {
          onPacketToClient: () => {
            if (corrupted) return;
            const sf = s.client.subflows()[1];
            if (sf && sf.tcp.state === 'SYN-SENT' && sf.tcp.info().segmentsSent > 0) {
              sf.localNonce = (sf.localNonce ^ 1) >>> 0;
              corrupted = true;
            }
          },
        }
      : {}),
  });
  assert.ifError(s.finish());
  return { s, joined, rsts, corrupted };
}

test('MP_JOIN: our client joins from its second address, our server; 20 MB up and 5 MB down over two subflows', () => {
  const { s, joined } = run({ up: 20 * MB, down: 5 * MB });
  assert.ok(joined);
  assert.equal(s.up.received, 20 * MB);
  assert.equal(s.up.hash.digest('hex'), sha256(s.up.data));
  assert.equal(s.down.received, 5 * MB);
  assert.equal(s.down.hash.digest('hex'), sha256(s.down.data));
  const cc = s.clientHost.mptcpCounters;
  const sc = s.serverHost.mptcpCounters;
  assert.equal(cc.MPJoinSynTx, 1);
  assert.equal(sc.MPJoinSynRx, 1);
  assert.equal(cc.MPJoinSynAckRx, 1);
  assert.equal(sc.MPJoinAckRx, 1);
  assert.equal(cc.MPJoinSynAckHMacFailure + sc.MPJoinAckHMacFailure, 0);
  assert.equal(sc.DSSNotMatching + sc.DSSNoMatchTCP + sc.DssFallback + cc.DSSNotMatching + cc.DSSNoMatchTCP + cc.DssFallback, 0);
  const subs = s.client.subflowInfo();
  assert.equal(subs.length, 2);
  assert.equal(subs[1]!.join, true);
  assert.equal(subs[1]!.localAddressId > 0, true);
  for (const sf of subs) assert.ok(sf.dataBytesSent > 1 * MB, `client subflow ${sf.id} sent ${sf.dataBytesSent} data bytes`);
  const serverSubs = mptcpServer(s).subflowInfo();
  assert.equal(serverSubs.length, 2);
  for (const sf of serverSubs) assert.ok(sf.dataBytesReceived > 1 * MB, `server subflow ${sf.id} received ${sf.dataBytesReceived}`);
  for (const sf of serverSubs) assert.ok(sf.dataBytesSent > 0, `server subflow ${sf.id} sent ${sf.dataBytesSent}`);
  console.log(`# client per-subflow data bytes sent: ${subs.map((x) => x.dataBytesSent).join(' / ')}; server: ${serverSubs.map((x) => x.dataBytesSent).join(' / ')}`);
  assert.ok(s.up.closed && s.down.closed, 'both ends closed');
  assert.equal(s.up.closedError, undefined);
  assert.equal(s.down.closedError, undefined);
  assert.equal(s.client.mptcpInfo().bytesAcked, 20 * MB + 1);
});

test('MP_JOIN: a SYN/ACK whose HMAC does not verify is refused with RST + MP_TCPRST; the data still crosses', () => {
  const { s, rsts, corrupted } = run({ up: 2 * MB, down: 1 * MB, badSynAckHmac: true });
  assert.ok(corrupted);
  const cc = s.clientHost.mptcpCounters;
  assert.equal(cc.MPJoinSynAckHMacFailure, 1);
  assert.equal(cc.MPJoinSynAckRx, 0);
  assert.equal(s.serverHost.mptcpCounters.MPJoinAckRx, 0);
  assert.ok(cc.MPRstTx >= 1);
  assert.ok(rsts.some((x) => x.reason === MpTcpRstReason.MPTCP_SPECIFIC), `RSTs seen by the server: ${JSON.stringify(rsts)}`);
  assert.equal(s.up.received, 2 * MB);
  assert.equal(s.up.hash.digest('hex'), sha256(s.up.data));
  const subs = s.client.subflowInfo();
  assert.equal(subs[1]!.dataBytesSent, 0);
  assert.equal(subs[1]!.state, 'CLOSED');
  assert.ok(s.up.closed && s.down.closed);
  assert.equal(s.up.closedError, undefined);
});
