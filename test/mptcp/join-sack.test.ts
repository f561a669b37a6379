/**
 * A joined subflow's ACKs carry SACK blocks (RFC 2018) once the join is fully established: the MP_JOIN third
 * ACK needs 24 option bytes, a DSS with a 64-bit DATA_ACK 12, and the reservation for the first used to
 * stay on every later ACK of the subflow, so that with timestamps (12) no SACK block (12) fitted. A Linux
 * sender then recovered every loss of the joined subflow without SACK (one segment per RTT, or by RTO),
 * and reinjected the data held behind it on the other subflow: seen through `mptcp emulate` as the kernel
 * server's 3G subflow sending nothing but retransmissions for seconds (kernel-scenarios, Wi-Fi + 3G).
 * Virtual time, seeded: the server sends over a clean path and a lossy one that the client joins.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LinkConfig } from '../../src/emu/link.js';
import { MB, scenario, tcpSegmentOf } from '../../src/harness/scenario.js';

const clean: LinkConfig = { rateBitsPerSecond: 20e6, delayMicros: 10_000, queueLimitBytes: 200_000 };
const lossy: LinkConfig = { rateBitsPerSecond: 10e6, delayMicros: 30_000, queueLimitBytes: 200_000, loss: 0.02 };

test('a joined subflow reports SACK blocks on its duplicate ACKs, as the initial subflow does', () => {
  /** Per client port: ACKs without data that repeat the previous ACK, and how many of them carry SACK. */
  const stats = new Map<number, { lastAck: number; dupAcks: number; withSack: number }>();
  const s = scenario({
    seed: 7,
    up: 0,
    down: 4 * MB,
    paths: [{ config: clean }, { config: lossy }],
    clientEndpoints: ['198.18.2.2 id 2 subflow'],
    onPacketToServer: (bytes) => {
      const seg = tcpSegmentOf(bytes);
      if (seg === undefined || seg.payload.length > 0) return;
      const st = stats.get(seg.srcPort) ?? { lastAck: -1, dupAcks: 0, withSack: 0 };
      stats.set(seg.srcPort, st);
      if (seg.ack === st.lastAck) {
        st.dupAcks++;
        if (seg.options.some((o) => o.kind === 'sack' && o.blocks.length > 0)) st.withSack++;
      }
      st.lastAck = seg.ack;
    },
  });
  assert.ifError(s.finish());
  assert.ok(s.down.intact(), 'the download arrived intact');
  const subflows = s.client.subflowInfo();
  assert.equal(subflows.length, 2, 'two subflows');
  assert.equal(subflows[1]!.join, true);
  const joinPort = s.client.subflows()[1]!.tcp.endpoints.localPort;
  const join = stats.get(joinPort);
  assert.ok(join !== undefined && join.dupAcks >= 10, `the lossy path's subflow sent duplicate ACKs (${join?.dupAcks})`);
  assert.ok(join.withSack >= 0.9 * join.dupAcks, `joined subflow: ${join.withSack} of ${join.dupAcks} duplicate ACKs carry SACK blocks`);
});
