/**
 * ADD_ADDR and the in-kernel path manager on the emulator (issue 4, interop scenarios 3/4's emulator twin):
 * our server has a `signal` endpoint for its second address; our client, with `add_addr_accepted 1`,
 * verifies the ADD_ADDR's HMAC, echoes it and joins the announced address. Data on both subflows, SHA-256
 * equal both ways. Also MP_FASTCLOSE both ways and MP_PRIO (backup). Virtual time, seeded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Network } from '../../src/emu/network.js';
import { Host } from '../../src/stack/host.js';
import type { MptcpConnection } from '../../src/mptcp/connection.js';
import type { Micros } from '../../src/tcp/types.js';
import type { LinkConfig } from '../../src/emu/link.js';
import { parseIpPacket } from '../../src/wire/ip.js';
import { parseTcpSegment } from '../../src/wire/tcp.js';
import { isWireError } from '../../src/wire/errors.js';
import type { MptcpOption } from '../../src/wire/mptcp-option.js';
import { App, pattern, Side } from '../support/mptcp-emu.js';



const MB = 1_000_000;
const fast: LinkConfig = { rateBitsPerSecond: 100e6, delayMicros: 10_000, queueLimitBytes: 500_000 };
const slow: LinkConfig = { rateBitsPerSecond: 40e6, delayMicros: 15_000, queueLimitBytes: 300_000 };

/** MPTCP options seen in packets arriving at a host. */
function optionsOf(bytes: Uint8Array): MptcpOption[] {
  const ip = parseIpPacket(bytes, { verifyChecksum: false });
  if (isWireError(ip)) return [];
  const seg = parseTcpSegment(ip.payload, undefined);
  if (isWireError(seg)) return [];
  const out: MptcpOption[] = [];
  for (const o of seg.options) if (o.kind === 'mptcp') out.push(o.option);
  return out;
}

interface Setup {
  readonly up: number;
  readonly down: number;
  readonly serverEndpoints?: readonly string[];
  readonly clientLimits?: string;
  /** Called with the client connection once established (e.g. to join or to set a backup). */
  readonly onClientEstablished?: (host: Host, c: MptcpConnection, now: Micros) => void;
  /** Called on each client 'readable' after draining. */
  readonly onClientProgress?: (host: Host, c: MptcpConnection, now: Micros, received: number) => void;
  readonly onServerProgress?: (host: Host, c: MptcpConnection, now: Micros, received: number) => void;
}

function run(o: Setup) {
  const net = new Network({ seed: 17 });
  const clientHost = new Host({ name: 'client', secret: new Uint8Array(32).fill(5) });
  const serverHost = new Host({ name: 'server', secret: new Uint8Array(32).fill(6) });
  clientHost.addInterface('eth0', ['198.18.1.2/24']);
  clientHost.addInterface('eth1', ['198.18.2.2/24']);
  serverHost.addInterface('eth0', ['198.18.1.1/24']);
  serverHost.addInterface('eth1', ['198.18.2.1/24']);
  if (o.serverEndpoints) serverHost.setMptcpEndpoints(o.serverEndpoints);
  if (o.clientLimits) clientHost.setMptcpLimits(o.clientLimits);
  const up = new Side(pattern(o.up, 0x1234567));
  const down = new Side(pattern(o.down, 0x7654321));
  let server: MptcpConnection | undefined;
  const ch = new App(clientHost, (c, e, now) => {
    if (e === 'accepted') return;
    if (e.type === 'established') o.onClientEstablished?.(clientHost, c, now);
    if (e.type === 'established' || e.type === 'writable') up.pump(c);
    if (e.type === 'readable' || e.type === 'end') {
      down.drain(c);
      o.onClientProgress?.(clientHost, c, now, down.received);
    }
    if (e.type === 'closed') {
      up.closed = true;
      up.closedError = e.error;
    }
  });
  const sh = new App(serverHost, (c, e, now) => {
    if (e === 'accepted') {
      server = c;
      down.pump(c);
      return;
    }
    if (e.type === 'writable') down.pump(c);
    if (e.type === 'readable' || e.type === 'end') {
      up.drain(c);
      o.onServerProgress?.(serverHost, c, now, up.received);
    }
    if (e.type === 'closed') {
      down.closed = true;
      down.closedError = e.error;
    }
  });
  const toClient: MptcpOption[] = [];
  const toServer: MptcpOption[] = [];
  ch.beforePacket = (bytes) => toClient.push(...optionsOf(bytes).filter((x) => x.subtype !== 'DSS'));
  sh.beforePacket = (bytes) => toServer.push(...optionsOf(bytes).filter((x) => x.subtype !== 'DSS'));
  const c = net.addHost('c', ch);
  const s = net.addHost('s', sh);
  net.connect([c, 0], [s, 0], { config: fast });
  net.connect([c, 1], [s, 1], { config: slow });
  serverHost.listen(5201, { mptcp: true });
  const client = clientHost.connect(0, '198.18.1.1', 5201, { mptcp: true });
  net.wake(c);
  net.driveBounded(600_000_000, 80_000_000);
  return { up, down, client, server, clientHost, serverHost, toClient, toServer };
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test('ADD_ADDR: our server signals its second address; our client (add_addr_accepted 1) echoes and joins it; 20 MB up, 5 MB down', () => {
  const r = run({ up: 20 * MB, down: 5 * MB, serverEndpoints: ['198.18.2.1 signal'], clientLimits: 'subflows 2 add_addr_accepted 1' });
  assert.equal(r.up.received, 20 * MB);
  assert.equal(r.up.hash.digest('hex'), sha(r.up.data));
  assert.equal(r.down.received, 5 * MB);
  assert.equal(r.down.hash.digest('hex'), sha(r.down.data));
  const cc = r.clientHost.mptcpCounters;
  const sc = r.serverHost.mptcpCounters;
  console.log(`# client: AddAddr=${cc.AddAddr} EchoAddTx=${cc.EchoAddTx} MPJoinSynTx=${cc.MPJoinSynTx}; server: AddAddrTx=${sc.AddAddrTx} EchoAdd=${sc.EchoAdd} MPJoinAckRx=${sc.MPJoinAckRx}`);
  assert.equal(sc.AddAddrTx, 1, 'one ADD_ADDR (echoed, so not retransmitted)');
  assert.equal(cc.AddAddr, 1);
  assert.equal(cc.AddAddrDrop, 0);
  assert.equal(cc.EchoAddTx, 1);
  assert.equal(sc.EchoAdd, 1);
  assert.equal(cc.MPJoinSynTx, 1);
  assert.equal(sc.MPJoinSynRx, 1);
  assert.equal(sc.MPJoinAckRx, 1);
  const addAddr = r.toClient.find((x) => x.subtype === 'ADD_ADDR');
  assert.ok(addAddr && addAddr.subtype === 'ADD_ADDR' && !addAddr.echo && addAddr.hmac?.length === 8 && addAddr.addressId === 1);
  assert.deepEqual([...addAddr.address], [198, 18, 2, 1]);
  const echo = r.toServer.find((x) => x.subtype === 'ADD_ADDR');
  assert.ok(echo && echo.subtype === 'ADD_ADDR' && echo.echo && echo.hmac === undefined && echo.addressId === 1);
  const subs = r.client.subflowInfo();
  assert.equal(subs.length, 2);
  assert.deepEqual([...subs[1]!.endpoints.remoteAddress], [198, 18, 2, 1]);
  assert.deepEqual([...subs[1]!.endpoints.localAddress], [198, 18, 2, 2]);
  assert.equal(subs[1]!.remoteAddressId, 1);
  for (const sf of subs) assert.ok(sf.dataBytesSent > 1 * MB, `client subflow ${sf.id} sent ${sf.dataBytesSent}`);
  for (const sf of r.server!.subflowInfo()) assert.ok(sf.dataBytesSent > 0, `server subflow ${sf.id} sent ${sf.dataBytesSent}`);
  console.log(`# client per-subflow data bytes sent: ${subs.map((s) => s.dataBytesSent).join(' / ')}`);
  assert.ok(r.up.closed && r.down.closed);
  assert.equal(r.up.closedError, undefined);
  assert.equal(r.down.closedError, undefined);
});

test('ADD_ADDR: with the default limits (add_addr_accepted 0) the client echoes but does not join', () => {
  const r = run({ up: 2 * MB, down: 1 * MB, serverEndpoints: ['198.18.2.1 signal'] });
  assert.equal(r.up.hash.digest('hex'), sha(r.up.data));
  assert.equal(r.down.hash.digest('hex'), sha(r.down.data));
  const cc = r.clientHost.mptcpCounters;
  assert.equal(cc.AddAddr, 1);
  assert.equal(cc.EchoAddTx, 1);
  assert.equal(r.serverHost.mptcpCounters.EchoAdd, 1);
  assert.equal(cc.MPJoinSynTx, 0);
  assert.equal(r.client.subflowInfo().length, 1);
});

test('path manager: a client `subflow` endpoint opens a subflow from that address at establishment', () => {
  const r = runWithClientEndpoint();
  assert.equal(r.up.hash.digest('hex'), sha(r.up.data));
  assert.equal(r.clientHost.mptcpCounters.MPJoinSynTx, 1);
  assert.equal(r.serverHost.mptcpCounters.MPJoinAckRx, 1);
  const subs = r.client.subflowInfo();
  assert.equal(subs.length, 2);
  assert.equal(subs[1]!.localAddressId, 2);
  for (const sf of subs) assert.ok(sf.dataBytesSent > 0);
});

function runWithClientEndpoint() {
  return runWith((clientHost) => clientHost.setMptcpEndpoints(['198.18.2.2 id 2 subflow']));
}

function runWith(configure: (clientHost: Host, serverHost: Host) => void) {
  // A variant of run() where the client host is configured before connecting.
  const net = new Network({ seed: 23 });
  const clientHost = new Host({ name: 'client', secret: new Uint8Array(32).fill(7) });
  const serverHost = new Host({ name: 'server', secret: new Uint8Array(32).fill(8) });
  clientHost.addInterface('eth0', ['198.18.1.2/24']);
  clientHost.addInterface('eth1', ['198.18.2.2/24']);
  serverHost.addInterface('eth0', ['198.18.1.1/24']);
  serverHost.addInterface('eth1', ['198.18.2.1/24']);
  configure(clientHost, serverHost);
  const up = new Side(pattern(4 * MB, 0x1111));
  const ch = new App(clientHost, (c, e) => {
    if (e === 'accepted') return;
    if (e.type === 'established' || e.type === 'writable') up.pump(c);
    if (e.type === 'readable' || e.type === 'end') for (let b = c.read(); b; b = c.read());
    if (e.type === 'closed') up.closed = true;
  });
  const sh = new App(serverHost, (c, e) => {
    if (e === 'accepted') {
      c.shutdown();
      return;
    }
    if (e.type === 'readable' || e.type === 'end') up.drain(c);
  });
  const c = net.addHost('c', ch);
  const s = net.addHost('s', sh);
  net.connect([c, 0], [s, 0], { config: fast });
  net.connect([c, 1], [s, 1], { config: slow });
  serverHost.listen(5201, { mptcp: true });
  const client = clientHost.connect(0, '198.18.1.1', 5201, { mptcp: true });
  net.wake(c);
  net.driveBounded(600_000_000, 80_000_000);
  return { up, client, clientHost, serverHost };
}

test('MP_FASTCLOSE: our client fast-closes in mid-transfer; the server aborts at once with ECONNRESET', () => {
  let done = false;
  const r = run({
    up: 4 * MB,
    down: 4 * MB,
    onClientProgress: (_h, c, _now, received) => {
      if (!done && received > 500_000) {
        done = true;
        c.fastClose();
      }
    },
  });
  assert.ok(done);
  assert.ok(r.up.closed && r.down.closed, 'both ends closed');
  assert.equal((r.up.closedError as { code?: string } | undefined)?.code, 'ECONNABORTED');
  assert.equal((r.down.closedError as { code?: string } | undefined)?.code, 'ECONNRESET');
  const cc = r.clientHost.mptcpCounters;
  const sc = r.serverHost.mptcpCounters;
  assert.equal(cc.MPFastcloseTx, 1);
  assert.equal(sc.MPFastcloseRx, 1);
  assert.ok(sc.MPRstRx >= 1);
  const fc = r.toServer.find((x) => x.subtype === 'MP_FASTCLOSE');
  assert.ok(fc && fc.subtype === 'MP_FASTCLOSE');
  assert.deepEqual(fc.receiverKey, r.server!.localKey, 'MP_FASTCLOSE carries the receiver key');
  assert.ok(r.down.received < 4 * MB && r.up.received < 4 * MB, 'the transfer was cut short');
});

test('MP_FASTCLOSE: our server fast-closes in mid-transfer; the client aborts at once with ECONNRESET', () => {
  let done = false;
  const r = run({
    up: 4 * MB,
    down: 4 * MB,
    onServerProgress: (_h, c, _now, received) => {
      if (!done && received > 500_000) {
        done = true;
        c.fastClose();
      }
    },
  });
  assert.ok(done);
  assert.ok(r.up.closed && r.down.closed, 'both ends closed');
  assert.equal((r.up.closedError as { code?: string } | undefined)?.code, 'ECONNRESET');
  assert.equal((r.down.closedError as { code?: string } | undefined)?.code, 'ECONNABORTED');
  assert.equal(r.serverHost.mptcpCounters.MPFastcloseTx, 1);
  assert.equal(r.clientHost.mptcpCounters.MPFastcloseRx, 1);
  const fc = r.toClient.find((x) => x.subtype === 'MP_FASTCLOSE');
  assert.ok(fc && fc.subtype === 'MP_FASTCLOSE');
  assert.deepEqual(fc.receiverKey, r.client.localKey);
});

test('ADD_ADDR with a port: our server signals 198.18.2.1 port 5300 (no listener there); the client joins that port and it carries data', () => {
  const r = run({ up: 8 * MB, down: 2 * MB, serverEndpoints: ['198.18.2.1 id 2 port 5300 signal'], clientLimits: 'subflows 2 add_addr_accepted 1' });
  assert.equal(r.up.received, 8 * MB);
  assert.equal(r.up.hash.digest('hex'), sha(r.up.data));
  assert.equal(r.down.hash.digest('hex'), sha(r.down.data));
  const addAddr = r.toClient.find((x) => x.subtype === 'ADD_ADDR');
  assert.ok(addAddr && addAddr.subtype === 'ADD_ADDR' && !addAddr.echo && addAddr.port === 5300 && addAddr.addressId === 2, 'ADD_ADDR carries the port');
  const subs = r.client.subflowInfo();
  assert.equal(subs.length, 2);
  assert.equal(subs[1]!.endpoints.remotePort, 5300, 'the join went to the announced port');
  assert.ok(subs[1]!.dataBytesSent > 1 * MB, `the joined subflow carried ${subs[1]!.dataBytesSent} bytes`);
  assert.equal(r.serverHost.mptcpCounters.MPJoinAckRx, 1);
  assert.equal(r.serverHost.counters.resetsSent, 0, 'no SYN to port 5300 was refused');
});
