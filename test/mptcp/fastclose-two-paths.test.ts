/**
 * MP_FASTCLOSE in mid-transfer with two subflows, from either end (issue 4, emulator tests; the
 * one-subflow cases are in add-addr.test.ts). RFC 8684 3.5: the sender of MP_FASTCLOSE resets its subflows
 * (or sends the option on an ACK and RSTs after); the receiver "MUST ... send a TCP RST on all subflows"
 * and tear the connection down at once. Asserted: the peer's application sees ECONNRESET within one
 * traversal of the path (not after a retransmission or keepalive timeout), the closer's sees ECONNABORTED,
 * every subflow on both ends is CLOSED, and nothing is delivered after the fastclose. Virtual time, seeded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LinkConfig } from '../../src/emu/link.js';
import { MptcpConnection, type StreamConnection } from '../../src/mptcp/connection.js';
import type { Micros } from '../../src/tcp/types.js';
import { MB, mptcpServer, scenario, summary } from '../../src/harness/scenario.js';

const fast: LinkConfig = { rateBitsPerSecond: 100e6, delayMicros: 10_000, queueLimitBytes: 500_000 };
const slow: LinkConfig = { rateBitsPerSecond: 60e6, delayMicros: 15_000, queueLimitBytes: 300_000 };

function run(closer: 'client' | 'server'): void {
  let closedAt: Micros | undefined;
  const trigger = (received: number, c: StreamConnection, now: Micros) => {
    if (closedAt !== undefined || received < 3 * MB || !(c instanceof MptcpConnection) || c.subflowInfo().length < 2) return;
    if (c.subflowInfo()[1]!.dataBytesSent === 0) return;
    closedAt = now;
    c.fastClose();
  };
  const s = scenario({
    seed: closer === 'client' ? 51 : 52,
    up: 20 * MB,
    down: 20 * MB,
    paths: [{ config: fast }, { config: slow }],
    clientEndpoints: ['198.18.2.2 id 2 subflow'],
    ...(closer === 'client'
      ? { onClientEvent: (sc, c, e, now) => e.type === 'readable' && trigger(sc.down.received, c, now) }
      : { onServerEvent: (sc, c, e, now) => e.type === 'readable' && trigger(sc.up.received, c, now) }),
  });
  const thrown = s.finish(60_000_000);
  assert.ok(closedAt !== undefined, 'fastClose was called with two subflows carrying data');
  const server = mptcpServer(s);
  const closerFlow = closer === 'client' ? s.up : s.down;
  const peerFlow = closer === 'client' ? s.down : s.up;
  const peerHost = closer === 'client' ? s.serverHost : s.clientHost;
  const closerHost = closer === 'client' ? s.clientHost : s.serverHost;
  const reaction = (peerFlow.closedAt ?? Infinity) - closedAt;
  console.log(
    summary(
      `fastclose from the ${closer}`,
      s,
      `fastClose at ${(closedAt / 1e6).toFixed(3)} s; peer closed ${(reaction / 1000).toFixed(1)} ms later with ${peerFlow.closedError?.code}, closer with ${closerFlow.closedError?.code}; ` +
        `MPFastcloseTx ${closerHost.mptcpCounters.MPFastcloseTx} MPFastcloseRx ${peerHost.mptcpCounters.MPFastcloseRx} MPRstRx ${peerHost.mptcpCounters.MPRstRx}` +
        (thrown ? `; THREW: ${thrown.message}` : ''),
    ),
  );
  assert.equal(thrown, undefined);
  assert.equal(closerFlow.closedError?.code, 'ECONNABORTED');
  assert.equal(peerFlow.closedError?.code, 'ECONNRESET');
  assert.equal(closerFlow.closedAt, closedAt, 'the closer is closed at once');
  // The option crosses the slower path at most once (15 ms + serialization + queue): well under 100 ms, and
  // far from any retransmission timeout (>= 200 ms) or keepalive.
  assert.ok(reaction < 100_000, `the peer saw ECONNRESET ${reaction} µs after the fastclose`);
  // As Linux counts it (options.c, once per segment carrying the option): one per subflow reset.
  assert.equal(closerHost.mptcpCounters.MPFastcloseTx, 2, 'MP_FASTCLOSE on each of the two subflows');
  assert.ok(peerHost.mptcpCounters.MPFastcloseRx >= 1);
  for (const c of [s.client, server]) {
    for (const sf of c.subflowInfo()) assert.equal(sf.state, 'CLOSED', `subflow ${sf.id} closed`);
  }
  assert.ok(s.up.received < s.up.data.length && s.down.received < s.down.data.length, 'the transfer was cut short both ways');
  assert.equal(s.client.subflowInfo().length, 2);
}

test('MP_FASTCLOSE from the client with two subflows: the server gets ECONNRESET at once, every subflow closed', () => run('client'));
test('MP_FASTCLOSE from the server with two subflows: the client gets ECONNRESET at once, every subflow closed', () => run('server'));
