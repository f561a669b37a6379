/**
 * ADD_ADDR and the in-kernel path manager on the emulator (issue 4, interop scenarios 3/4's emulator twin):
 * our server has a `signal` endpoint for its second address; our client, with `add_addr_accepted 1`,
 * verifies the ADD_ADDR's HMAC, echoes it and joins the announced address. Data on both subflows, SHA-256
 * equal both ways. Also MP_FASTCLOSE both ways and MP_PRIO (backup). Virtual time, seeded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LinkConfig } from '../../src/emu/link.js';
import type { MptcpOption } from '../../src/wire/mptcp-option.js';
import type { StreamConnection } from '../../src/mptcp/connection.js';
import type { TcpEvent } from '../../src/tcp/types.js';
import { MB, mptcpOptionsOf, mptcpServer, scenario, sha256, type Scenario, type ScenarioOptions } from '../../src/harness/scenario.js';

const fast: LinkConfig = { rateBitsPerSecond: 100e6, delayMicros: 10_000, queueLimitBytes: 500_000 };
const slow: LinkConfig = { rateBitsPerSecond: 40e6, delayMicros: 15_000, queueLimitBytes: 300_000 };

type Setup = Pick<ScenarioOptions, 'up' | 'down' | 'serverEndpoints' | 'clientLimits' | 'onClientEvent' | 'onServerEvent'>;

/** Seed 17, fast and slow path, run to the end; also the MPTCP options other than DSS that arrived at each end. */
function run(o: Setup) {
  const toClient: MptcpOption[] = [];
  const toServer: MptcpOption[] = [];
  const s = scenario({
    seed: 17,
    secrets: [5, 6],
    dataSeeds: [0x1234567, 0x7654321],
    paths: [{ config: fast }, { config: slow }],
    ...o,
    onPacketToClient: (bytes) => toClient.push(...mptcpOptionsOf(bytes).filter((x) => x.subtype !== 'DSS')),
    onPacketToServer: (bytes) => toServer.push(...mptcpOptionsOf(bytes).filter((x) => x.subtype !== 'DSS')),
  });
  assert.ifError(s.finish());
  return { s, toClient, toServer };
}

test('ADD_ADDR: our server signals its second address; our client (add_addr_accepted 1) echoes and joins it; 20 MB up, 5 MB down', () => {
  const { s, toClient, toServer } = run({ up: 20 * MB, down: 5 * MB, serverEndpoints: ['198.18.2.1 signal'], clientLimits: 'subflows 2 add_addr_accepted 1' });
  assert.equal(s.up.received, 20 * MB);
  assert.equal(s.up.hash.digest('hex'), sha256(s.up.data));
  assert.equal(s.down.received, 5 * MB);
  assert.equal(s.down.hash.digest('hex'), sha256(s.down.data));
  const cc = s.clientHost.mptcpCounters;
  const sc = s.serverHost.mptcpCounters;
  console.log(`# client: AddAddr=${cc.AddAddr} EchoAddTx=${cc.EchoAddTx} MPJoinSynTx=${cc.MPJoinSynTx}; server: AddAddrTx=${sc.AddAddrTx} EchoAdd=${sc.EchoAdd} MPJoinAckRx=${sc.MPJoinAckRx}`);
  assert.equal(sc.AddAddrTx, 1, 'one ADD_ADDR (echoed, so not retransmitted)');
  assert.equal(cc.AddAddr, 1);
  assert.equal(cc.AddAddrDrop, 0);
  assert.equal(cc.EchoAddTx, 1);
  assert.equal(sc.EchoAdd, 1);
  assert.equal(cc.MPJoinSynTx, 1);
  assert.equal(sc.MPJoinSynRx, 1);
  assert.equal(sc.MPJoinAckRx, 1);
  const addAddr = toClient.find((x) => x.subtype === 'ADD_ADDR');
  assert.ok(addAddr && addAddr.subtype === 'ADD_ADDR' && !addAddr.echo && addAddr.hmac?.length === 8 && addAddr.addressId === 1);
  assert.deepEqual([...addAddr.address], [198, 18, 2, 1]);
  const echo = toServer.find((x) => x.subtype === 'ADD_ADDR');
  assert.ok(echo && echo.subtype === 'ADD_ADDR' && echo.echo && echo.hmac === undefined && echo.addressId === 1);
  const subs = s.client.subflowInfo();
  assert.equal(subs.length, 2);
  assert.deepEqual([...subs[1]!.endpoints.remoteAddress], [198, 18, 2, 1]);
  assert.deepEqual([...subs[1]!.endpoints.localAddress], [198, 18, 2, 2]);
  assert.equal(subs[1]!.remoteAddressId, 1);
  for (const sf of subs) assert.ok(sf.dataBytesSent > 1 * MB, `client subflow ${sf.id} sent ${sf.dataBytesSent}`);
  for (const sf of mptcpServer(s).subflowInfo()) assert.ok(sf.dataBytesSent > 0, `server subflow ${sf.id} sent ${sf.dataBytesSent}`);
  console.log(`# client per-subflow data bytes sent: ${subs.map((x) => x.dataBytesSent).join(' / ')}`);
  assert.ok(s.up.closed && s.down.closed);
  assert.equal(s.up.closedError, undefined);
  assert.equal(s.down.closedError, undefined);
});

test('ADD_ADDR: with the default limits (add_addr_accepted 0) the client echoes but does not join', () => {
  const { s } = run({ up: 2 * MB, down: 1 * MB, serverEndpoints: ['198.18.2.1 signal'] });
  assert.equal(s.up.hash.digest('hex'), sha256(s.up.data));
  assert.equal(s.down.hash.digest('hex'), sha256(s.down.data));
  const cc = s.clientHost.mptcpCounters;
  assert.equal(cc.AddAddr, 1);
  assert.equal(cc.EchoAddTx, 1);
  assert.equal(s.serverHost.mptcpCounters.EchoAdd, 1);
  assert.equal(cc.MPJoinSynTx, 0);
  assert.equal(s.client.subflowInfo().length, 1);
});

test('path manager: a client `subflow` endpoint opens a subflow from that address at establishment', () => {
  // 4 MB up only; the server shuts down its side at once.
  const s = scenario({
    seed: 23,
    secrets: [7, 8],
    dataSeeds: [0x1111, 0],
    up: 4 * MB,
    down: 0,
    paths: [{ config: fast }, { config: slow }],
    clientEndpoints: ['198.18.2.2 id 2 subflow'],
  });
  assert.ifError(s.finish());
  assert.equal(s.up.hash.digest('hex'), sha256(s.up.data));
  assert.equal(s.clientHost.mptcpCounters.MPJoinSynTx, 1);
  assert.equal(s.serverHost.mptcpCounters.MPJoinAckRx, 1);
  const subs = s.client.subflowInfo();
  assert.equal(subs.length, 2);
  assert.equal(subs[1]!.localAddressId, 2);
  for (const sf of subs) assert.ok(sf.dataBytesSent > 0);
});

/** 4 MB each way; `closer` fast-closes once it has received 500 kB. */
function fastCloseMidTransfer(closer: 'client' | 'server') {
  let done = false;
  const onEvent = (s: Scenario, _c: StreamConnection, e: TcpEvent): void => {
    const received = closer === 'client' ? s.down.received : s.up.received;
    if ((e.type === 'readable' || e.type === 'end') && !done && received > 500_000) {
      done = true;
      (closer === 'client' ? s.client : mptcpServer(s)).fastClose();
    }
  };
  const r = run({ up: 4 * MB, down: 4 * MB, ...(closer === 'client' ? { onClientEvent: onEvent } : { onServerEvent: onEvent }) });
  assert.ok(done);
  assert.ok(r.s.up.closed && r.s.down.closed, 'both ends closed');
  return r;
}

test('MP_FASTCLOSE: our client fast-closes in mid-transfer; the server aborts at once with ECONNRESET', () => {
  const { s, toServer } = fastCloseMidTransfer('client');
  assert.equal((s.up.closedError as { code?: string } | undefined)?.code, 'ECONNABORTED');
  assert.equal((s.down.closedError as { code?: string } | undefined)?.code, 'ECONNRESET');
  const cc = s.clientHost.mptcpCounters;
  const sc = s.serverHost.mptcpCounters;
  assert.equal(cc.MPFastcloseTx, 1);
  assert.equal(sc.MPFastcloseRx, 1);
  assert.ok(sc.MPRstRx >= 1);
  const fc = toServer.find((x) => x.subtype === 'MP_FASTCLOSE');
  assert.ok(fc && fc.subtype === 'MP_FASTCLOSE');
  assert.deepEqual(fc.receiverKey, mptcpServer(s).localKey, 'MP_FASTCLOSE carries the receiver key');
  assert.ok(s.down.received < 4 * MB && s.up.received < 4 * MB, 'the transfer was cut short');
});

test('MP_FASTCLOSE: our server fast-closes in mid-transfer; the client aborts at once with ECONNRESET', () => {
  const { s, toClient } = fastCloseMidTransfer('server');
  assert.equal((s.up.closedError as { code?: string } | undefined)?.code, 'ECONNRESET');
  assert.equal((s.down.closedError as { code?: string } | undefined)?.code, 'ECONNABORTED');
  assert.equal(s.serverHost.mptcpCounters.MPFastcloseTx, 1);
  assert.equal(s.clientHost.mptcpCounters.MPFastcloseRx, 1);
  const fc = toClient.find((x) => x.subtype === 'MP_FASTCLOSE');
  assert.ok(fc && fc.subtype === 'MP_FASTCLOSE');
  assert.deepEqual(fc.receiverKey, s.client.localKey);
});

test('ADD_ADDR with a port: our server signals 198.18.2.1 port 5300 (no listener there); the client joins that port and it carries data', () => {
  const { s, toClient } = run({ up: 8 * MB, down: 2 * MB, serverEndpoints: ['198.18.2.1 id 2 port 5300 signal'], clientLimits: 'subflows 2 add_addr_accepted 1' });
  assert.equal(s.up.received, 8 * MB);
  assert.equal(s.up.hash.digest('hex'), sha256(s.up.data));
  assert.equal(s.down.hash.digest('hex'), sha256(s.down.data));
  const addAddr = toClient.find((x) => x.subtype === 'ADD_ADDR');
  assert.ok(addAddr && addAddr.subtype === 'ADD_ADDR' && !addAddr.echo && addAddr.port === 5300 && addAddr.addressId === 2, 'ADD_ADDR carries the port');
  const subs = s.client.subflowInfo();
  assert.equal(subs.length, 2);
  assert.equal(subs[1]!.endpoints.remotePort, 5300, 'the join went to the announced port');
  assert.ok(subs[1]!.dataBytesSent > 1 * MB, `the joined subflow carried ${subs[1]!.dataBytesSent} bytes`);
  assert.equal(s.serverHost.mptcpCounters.MPJoinAckRx, 1);
  assert.equal(s.serverHost.counters.resetsSent, 0, 'no SYN to port 5300 was refused');
});
