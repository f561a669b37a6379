/**
 * MP_JOIN on the emulator (issue 4, interop scenario 2's emulator twin): two hosts of this stack, the client
 * with two addresses on two links of different rates; an MPTCP connection on the first, then a subflow from
 * the second address joins (RFC 8684 3.2). SHA-256 of what crossed both ways, data on both subflows,
 * graceful close. A bad SYN/ACK HMAC is refused with a RST carrying MP_TCPRST. Virtual time, seeded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Network } from '../../src/emu/network.js';
import { Host } from '../../src/stack/host.js';
import type { MptcpConnection } from '../../src/mptcp/connection.js';
import type { LinkConfig } from '../../src/emu/link.js';
import { parseIpPacket } from '../../src/wire/ip.js';
import { parseTcpSegment, TcpFlags } from '../../src/wire/tcp.js';
import { isWireError } from '../../src/wire/errors.js';
import { MpTcpRstReason } from '../../src/wire/mptcp-option.js';
import { App, pattern, Side } from '../support/mptcp-emu.js';


interface Options {
  readonly up: number;
  readonly down: number;
  readonly links: readonly [LinkConfig, LinkConfig];
  /** Corrupt the client's nonce after its MP_JOIN SYN left (the SYN/ACK HMAC then fails to verify). */
  readonly badSynAckHmac?: boolean;
}

function run(o: Options) {
  const net = new Network({ seed: 11 });
  const clientHost = new Host({ name: 'client', secret: new Uint8Array(32).fill(3) });
  const serverHost = new Host({ name: 'server', secret: new Uint8Array(32).fill(4) });
  clientHost.addInterface('eth0', ['198.18.1.2/24']);
  clientHost.addInterface('eth1', ['198.18.2.2/24']);
  serverHost.addInterface('eth0', ['198.18.1.1/24']);
  serverHost.addInterface('eth1', ['198.18.2.1/24']);
  const up = new Side(pattern(o.up, 0x1234567));
  const down = new Side(pattern(o.down, 0x7654321));
  let server: MptcpConnection | undefined;
  let joined = false;
  const rsts: { reason: number | undefined }[] = [];
  const ch = new App(clientHost, (c, e, now) => {
    if (e === 'accepted') return;
    if (e.type === 'established') {
      clientHost.addSubflow(now, c, '198.18.2.2');
      joined = true;
    }
    if (e.type === 'established' || e.type === 'writable') up.pump(c);
    if (e.type === 'readable' || e.type === 'end') down.drain(c);
    if (e.type === 'closed') {
      up.closed = true;
      up.closedError = e.error;
    }
  });
  const sh = new App(serverHost, (c, e) => {
    if (e === 'accepted') {
      server = c;
      down.pump(c);
      return;
    }
    if (e.type === 'writable') down.pump(c);
    if (e.type === 'readable' || e.type === 'end') up.drain(c);
    if (e.type === 'closed') {
      down.closed = true;
      down.closedError = e.error;
    }
  });
  let corrupted = false;
  sh.beforePacket = (bytes) => {
    const ip = parseIpPacket(bytes, { verifyChecksum: false });
    if (isWireError(ip)) return;
    const seg = parseTcpSegment(ip.payload, undefined);
    if (isWireError(seg) || !(seg.flags & TcpFlags.RST)) return;
    let reason: number | undefined;
    for (const opt of seg.options) if (opt.kind === 'mptcp' && opt.option.subtype === 'MP_TCPRST') reason = opt.option.reason;
    rsts.push({ reason });
  };
  if (o.badSynAckHmac) {
    ch.beforePacket = () => {
      if (corrupted) return;
      const client = clientHost.mptcpConnections()[0];
      const sf = client?.subflows()[1];
      if (sf && sf.tcp.state === 'SYN-SENT' && sf.tcp.info().segmentsSent > 0) {
        sf.localNonce = (sf.localNonce ^ 1) >>> 0;
        corrupted = true;
      }
    };
  }
  const c = net.addHost('c', ch);
  const s = net.addHost('s', sh);
  net.connect([c, 0], [s, 0], { config: o.links[0] });
  net.connect([c, 1], [s, 1], { config: o.links[1] });
  serverHost.listen(5201, { mptcp: true });
  const client = clientHost.connect(0, '198.18.1.1', 5201, { mptcp: true });
  net.wake(c);
  net.driveBounded(600_000_000, 80_000_000);
  return { up, down, client, server, joined, clientHost, serverHost, rsts, corrupted };
}

const MB = 1_000_000;
const fast: LinkConfig = { rateBitsPerSecond: 100e6, delayMicros: 10_000, queueLimitBytes: 500_000 };
const slow: LinkConfig = { rateBitsPerSecond: 40e6, delayMicros: 15_000, queueLimitBytes: 300_000 };

test('MP_JOIN: our client joins from its second address, our server; 20 MB up and 5 MB down over two subflows', () => {
  const r = run({ up: 20 * MB, down: 5 * MB, links: [fast, slow] });
  assert.ok(r.joined);
  assert.equal(r.up.received, 20 * MB);
  assert.equal(r.up.hash.digest('hex'), createHash('sha256').update(r.up.data).digest('hex'));
  assert.equal(r.down.received, 5 * MB);
  assert.equal(r.down.hash.digest('hex'), createHash('sha256').update(r.down.data).digest('hex'));
  const cc = r.clientHost.mptcpCounters;
  const sc = r.serverHost.mptcpCounters;
  assert.equal(cc.MPJoinSynTx, 1);
  assert.equal(sc.MPJoinSynRx, 1);
  assert.equal(cc.MPJoinSynAckRx, 1);
  assert.equal(sc.MPJoinAckRx, 1);
  assert.equal(cc.MPJoinSynAckHMacFailure + sc.MPJoinAckHMacFailure, 0);
  assert.equal(sc.DSSNotMatching + sc.DSSNoMatchTCP + sc.DssFallback + cc.DSSNotMatching + cc.DSSNoMatchTCP + cc.DssFallback, 0);
  const subs = r.client.subflowInfo();
  assert.equal(subs.length, 2);
  assert.equal(subs[1]!.join, true);
  assert.equal(subs[1]!.localAddressId > 0, true);
  for (const sf of subs) assert.ok(sf.dataBytesSent > 1 * MB, `client subflow ${sf.id} sent ${sf.dataBytesSent} data bytes`);
  const serverSubs = r.server!.subflowInfo();
  assert.equal(serverSubs.length, 2);
  for (const sf of serverSubs) assert.ok(sf.dataBytesReceived > 1 * MB, `server subflow ${sf.id} received ${sf.dataBytesReceived}`);
  for (const sf of serverSubs) assert.ok(sf.dataBytesSent > 0, `server subflow ${sf.id} sent ${sf.dataBytesSent}`);
  console.log(`# client per-subflow data bytes sent: ${subs.map((s) => s.dataBytesSent).join(' / ')}; server: ${serverSubs.map((s) => s.dataBytesSent).join(' / ')}`);
  assert.ok(r.up.closed && r.down.closed, 'both ends closed');
  assert.equal(r.up.closedError, undefined);
  assert.equal(r.down.closedError, undefined);
  assert.equal(r.client.mptcpInfo().bytesAcked, 20 * MB + 1);
});

test('MP_JOIN: a SYN/ACK whose HMAC does not verify is refused with RST + MP_TCPRST; the data still crosses', () => {
  const r = run({ up: 2 * MB, down: 1 * MB, links: [fast, slow], badSynAckHmac: true });
  assert.ok(r.corrupted);
  const cc = r.clientHost.mptcpCounters;
  assert.equal(cc.MPJoinSynAckHMacFailure, 1);
  assert.equal(cc.MPJoinSynAckRx, 0);
  assert.equal(r.serverHost.mptcpCounters.MPJoinAckRx, 0);
  assert.ok(cc.MPRstTx >= 1);
  assert.ok(r.rsts.some((x) => x.reason === MpTcpRstReason.MPTCP_SPECIFIC), `RSTs seen by the server: ${JSON.stringify(r.rsts)}`);
  assert.equal(r.up.received, 2 * MB);
  assert.equal(r.up.hash.digest('hex'), createHash('sha256').update(r.up.data).digest('hex'));
  const subs = r.client.subflowInfo();
  assert.equal(subs[1]!.dataBytesSent, 0);
  assert.equal(subs[1]!.state, 'CLOSED');
  assert.ok(r.up.closed && r.down.closed);
  assert.equal(r.up.closedError, undefined);
});
