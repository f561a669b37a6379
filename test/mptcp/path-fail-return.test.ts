/**
 * A path that fails and returns (issue 4, emulator tests): two subflows; in mid-transfer both directions of
 * the second path's link go down for 3 s (packets queued or in flight are lost) and come back.
 *
 * What Linux does, and what is asserted here: a subflow does not die from a 3 s outage (tcp_retries2 = 15
 * RTO backoffs is many minutes); after its first RTO the scheduler stops giving it new data, what it holds
 * unacknowledged is reinjected on the other subflow (net/mptcp/protocol.c, `mptcp_subflow_set_active`,
 * `__mptcp_retrans`), and after a few silent RTOs it is "stale"; so the connection keeps moving data over
 * the first path during the outage (no stall). Once the link is back the subflow recovers and carries data
 * again (RFC 8684 3.3.6: data may be resent on any subflow; nothing requires closing a subflow that merely
 * stalled): Linux waits for the subflow's next backed-off RTO (seconds); this stack probes a stale
 * subflow's path every STALE_PROBE_INTERVAL (mptcp_net-next #348, #581), so it is used again within that
 * and a few RTTs. The transfer completes with SHA-256 equal both ways. Virtual time, seeded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LinkConfig } from '../../src/emu/link.js';
import { MB, mptcpServer, scenario, summary } from '../../src/harness/scenario.js';
import { STALE_PROBE_INTERVAL } from '../../src/mptcp/retransmit.js';

const fast: LinkConfig = { rateBitsPerSecond: 100e6, delayMicros: 10_000, queueLimitBytes: 500_000 };
const slow: LinkConfig = { rateBitsPerSecond: 60e6, delayMicros: 15_000, queueLimitBytes: 300_000 };
const OUTAGE = 3_000_000;

test(
  'a path fails for 3 s in mid-transfer and returns: no stall meanwhile, the subflow resumes carrying data, SHA-256 equal',
  () => {
  const s = scenario({
    seed: 77,
    up: 60 * MB,
    down: 60 * MB,
    paths: [{ config: fast }, { config: slow }],
    clientEndpoints: ['198.18.2.2 id 2 subflow'],
  });
  const second = () => s.client.subflowInfo()[1];
  const serverSecond = () => (s.server ? mptcpServer(s).subflowInfo()[1] : undefined);
  assert.ok(
    s.step(() => s.up.received > 10 * MB && s.down.received > 5 * MB && (second()?.dataBytesSent ?? 0) > 2 * MB && (serverSecond()?.dataBytesSent ?? 0) > 1 * MB, 60_000_000),
    'both subflows carry data before the outage',
  );
  const server = mptcpServer(s);
  const downAt = s.net.now;
  const path = s.paths[1]!;
  path.forward.setState('down');
  path.backward.setState('down');
  const before = { up: s.up.received, down: s.down.received, c: second()!.dataBytesSent, s: serverSecond()!.dataBytesSent };
  s.step(() => false, OUTAGE);
  const during = { up: s.up.received - before.up, down: s.down.received - before.down };
  const duringCounters = { retrans: s.clientHost.mptcpCounters.MPTCPRetrans + s.serverHost.mptcpCounters.MPTCPRetrans };
  path.forward.setState('up');
  path.backward.setState('up');
  const upAt = s.net.now;
  const atReturn = { c: second()!.dataBytesSent, s: serverSecond()!.dataBytesSent };
  // When does the second subflow carry new data again, each way?
  let resumedUp: number | undefined;
  let resumedDown: number | undefined;
  s.step(() => {
    if (resumedUp === undefined && second()!.dataBytesSent > atReturn.c && second()!.tcp.bytesAcked > 0 && s.net.now > upAt) resumedUp = s.net.now;
    if (resumedDown === undefined && serverSecond()!.dataBytesSent > atReturn.s) resumedDown = s.net.now;
    return (resumedUp !== undefined && resumedDown !== undefined) || s.up.received === s.up.data.length;
  }, 30_000_000);
  const afterReturn = { c: second()!.dataBytesSent, s: serverSecond()!.dataBytesSent };
  const thrown = s.finish();
  const fmt = (t: number | undefined) => (t === undefined ? 'never' : `${((t - upAt) / 1e6).toFixed(2)} s after the return`);
  console.log(
    summary(
      'path fails and returns',
      s,
      `outage ${(downAt / 1e6).toFixed(2)}-${(upAt / 1e6).toFixed(2)} s: ${during.up} B up / ${during.down} B down delivered meanwhile; ` +
        `second subflow resumed up ${fmt(resumedUp)}, down ${fmt(resumedDown)}; its state ${second()!.state}/${serverSecond()!.state}; ` +
        `` +
        `dropped while down ${path.forward.counters.droppedPackets.down}+${path.backward.counters.droppedPackets.down}` +
        (thrown ? `; THREW: ${thrown.message}` : ''),
    ),
  );
  assert.equal(thrown, undefined);
  assert.ok(s.up.intact(), 'up: all of it, SHA-256 equal');
  assert.ok(s.down.intact(), 'down: all of it, SHA-256 equal');
  assert.ok(path.forward.counters.droppedPackets.down > 0 && path.backward.counters.droppedPackets.down > 0, 'the outage dropped packets both ways');
  assert.ok(s.up.closed && s.down.closed, 'both ends closed');
  assert.equal(s.up.closedError, undefined);
  assert.equal(s.down.closedError, undefined);
  // The behaviour expectations, all checked and reported together.
  const problems: string[] = [];
  const expect = (ok: boolean, message: string) => {
    if (!ok) problems.push(message);
  };
  // No stall: the first path alone carries the connection during the outage (it moves ~12 MB/s; ask 2 MB).
  expect(during.up > 2 * MB, `data kept arriving up during the outage (${during.up} B in 3 s)`);
  expect(during.down > 2 * MB, `and down (${during.down} B in 3 s)`);
  expect(duringCounters.retrans > 0, `what the dead subflow held was reinjected on the other (MPTCPRetrans ${duringCounters.retrans})`);
  // The subflow survived and carried data again after the return: at its next probe (STALE_PROBE_INTERVAL
  // apart), plus an RTT for the probe's ACK and a few for the retransmissions it holds; Linux waits for the
  // next backed-off RTO retransmission (about 3 s after the return here).
  const within = STALE_PROBE_INTERVAL + 300_000;
  expect(s.client.subflowInfo().length === 2, 'no new subflow was needed');
  expect(resumedUp !== undefined && resumedUp - upAt < within, `second subflow resumed up within ${within / 1e6} s (${fmt(resumedUp)})`);
  expect(resumedDown !== undefined && resumedDown - upAt < within, `and down (${fmt(resumedDown)})`);
  expect(afterReturn.c > atReturn.c && second()!.dataBytesSent - atReturn.c > 1 * MB, `it carried a real share afterwards (${second()!.dataBytesSent - atReturn.c} B up)`);
  expect(serverSecond()!.dataBytesSent - atReturn.s > 1 * MB, `(${serverSecond()!.dataBytesSent - atReturn.s} B down)`);
  assert.deepEqual(problems, []);
},
);
