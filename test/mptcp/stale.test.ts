/**
 * A silent path (mptcp_net-next #585: the link stays up, every packet is dropped, no ICMP), at explicit
 * virtual times: the upload's subflow on it is marked stale once it has had data outstanding and no
 * acknowledgment for more than STALE_LOSS_CNT of its RTOs without backoff (src/mptcp/retransmit.ts
 * `checkStale`), its path is then probed every STALE_PROBE_INTERVAL (one retransmission of its first
 * unacknowledged segment, outside its RTO backoff), and when the path returns the first probe through
 * ends the stale mark and the subflow carries new data again (#581). With no other working subflow nothing
 * is marked stale (Linux `mptcp_pm_subflows_chk_stale` needs an alternative), but the silent subflows are
 * probed all the same. Sampled every millisecond of
 * virtual time on the emulator, seeded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LinkConfig } from '../../src/emu/link.js';
import { MB, scenario } from '../../src/harness/scenario.js';
import { DATA_RTX_MIN, STALE_LOSS_CNT, STALE_PROBE_INTERVAL } from '../../src/mptcp/retransmit.js';

const fast: LinkConfig = { rateBitsPerSecond: 10e6, delayMicros: 10_000, queueLimitBytes: 100_000 };
const slow: LinkConfig = { rateBitsPerSecond: 5e6, delayMicros: 20_000, queueLimitBytes: 100_000 };
const SILENT_AT = 3_000_000;
const BACK_AT = 9_000_000;

function silentRun(paths: 'first' | 'both') {
  const s = scenario({ seed: 5, up: 40 * MB, down: 0, paths: [{ config: fast }, { config: slow }], clientEndpoints: ['198.18.2.2 id 2 subflow'] });
  const silenced = paths === 'both' ? s.paths : s.paths.slice(0, 1);
  const sim = s.net.sim;
  sim.schedule(SILENT_AT, () => silenced.forEach((l) => (l.forward.setFilter(() => false), l.backward.setFilter(() => false))));
  sim.schedule(BACK_AT, () => {
    silenced.forEach((l) => (l.forward.setFilter(undefined), l.backward.setFilter(undefined)));
    s.wake();
  });
  const first = () => s.client.subflows()[0]!;
  const trace = {
    lastAckBefore: 0,
    ackedAfterReturn: undefined as number | undefined,
    staleAt: undefined as number | undefined,
    baseRtoAtStale: 0,
    recoveredAt: undefined as number | undefined,
    /** Times subflow 0's retransmitted bytes grew while stale (its probes and its own RTOs). */
    resent: [] as number[],
    sentAtReturn: 0,
    reusedAt: undefined as number | undefined,
    staleEver: false,
  };
  let acked = 0;
  let retransmitted = 0;
  const sample = (now: number) => {
    const sf = first();
    if (sf.tcp.bytesAcked !== acked) {
      acked = sf.tcp.bytesAcked;
      if (now > BACK_AT) trace.ackedAfterReturn ??= now;
      if (now <= SILENT_AT + 100_000) trace.lastAckBefore = now;
    }
    if (sf.stale && trace.staleAt === undefined) {
      trace.staleAt = now;
      trace.baseRtoAtStale = sf.tcp.baseRtoMicros;
    }
    if (now < BACK_AT) trace.staleEver ||= s.client.subflows().some((x) => x.stale);
    const r = sf.tcp.info().bytesRetransmitted;
    if (r !== retransmitted) {
      retransmitted = r;
      if (sf.stale && now < BACK_AT) trace.resent.push(now);
    }
    if (now === BACK_AT) trace.sentAtReturn = sf.send.dataBytesSent;
    if (now > BACK_AT && trace.staleAt !== undefined && trace.recoveredAt === undefined && !sf.stale) trace.recoveredAt = now;
    if (now > BACK_AT && trace.reusedAt === undefined && sf.send.dataBytesSent >= trace.sentAtReturn + 64 * 1024) trace.reusedAt = now;
    if (now < BACK_AT + 3_000_000) sim.schedule(now + 1_000, sample);
  };
  sim.schedule(SILENT_AT - 500_000, sample);
  s.step(() => false, BACK_AT + 3_000_000);
  const thrown = s.finish();
  return { s, trace, thrown };
}

test('silent primary path: stale after more than 4 RTOs without an ACK, probed every 500 ms, used again within 0.6 s of its return; upload intact', () => {
  const { s, trace, thrown } = silentRun('first');
  assert.equal(thrown, undefined);
  console.log(`# silent path: last ACK ${trace.lastAckBefore} us, stale at ${trace.staleAt} us (base RTO ${trace.baseRtoAtStale} us), probes at ${trace.resent.join(' ')}, recovered ${trace.recoveredAt}, used again ${trace.reusedAt}`);
  assert.ok(trace.staleAt !== undefined, 'marked stale');
  // The threshold: more than STALE_LOSS_CNT RTOs (without backoff, at least DATA_RTX_MIN) since the last ACK,
  // found by the check after the next input (the other path's ACKs arrive every millisecond or so).
  const threshold = trace.lastAckBefore + STALE_LOSS_CNT * Math.max(trace.baseRtoAtStale, DATA_RTX_MIN);
  assert.ok(trace.staleAt > threshold, `not before ${threshold} us (stale at ${trace.staleAt})`);
  assert.ok(trace.staleAt <= threshold + 5_000, `at most 5 ms after it (stale at ${trace.staleAt})`);
  assert.ok(trace.staleAt - SILENT_AT < 1_500_000, 'within 1.5 s of the path going silent');
  assert.equal(s.clientHost.mptcpCounters.SubflowStale, 1);
  // Probes: something is resent on the dead path at least every STALE_PROBE_INTERVAL while it is stale
  // (its own RTOs, backed off to 3.2 s and more, add a few more).
  const gaps = [trace.staleAt, ...trace.resent, BACK_AT].slice(1).map((t, i, a) => t - (i === 0 ? trace.staleAt! : a[i - 1]!));
  assert.ok(trace.resent.length >= Math.floor((BACK_AT - trace.staleAt) / STALE_PROBE_INTERVAL) - 1, `${trace.resent.length} resends while stale`);
  assert.ok(Math.max(...gaps) <= STALE_PROBE_INTERVAL + 1_000, `no gap longer than the probe interval (${Math.max(...gaps)} us)`);
  // The return: the next probe's ACK ends the stale mark; new data follows.
  assert.ok(trace.recoveredAt !== undefined && trace.recoveredAt - BACK_AT <= STALE_PROBE_INTERVAL + 100_000, `recovered ${trace.recoveredAt! - BACK_AT} us after the return`);
  assert.ok(trace.reusedAt !== undefined && trace.reusedAt - BACK_AT <= STALE_PROBE_INTERVAL + 100_000, `64 KB of new data on it ${trace.reusedAt! - BACK_AT} us after the return`);
  assert.ok(s.clientHost.mptcpCounters.SubflowRecover >= 1);
  assert.ok(s.up.intact(), 'SHA-256 equal');
});

test('both paths silent: no alternative, so nothing is marked stale during the outage; the upload resumes after the return, intact', () => {
  const { s, trace, thrown } = silentRun('both');
  assert.equal(thrown, undefined);
  assert.equal(trace.staleEver, false);
  // Both are probed all the same: the first subflow is acknowledged again at its first probe after the
  // return (its backed-off RTO would come 3 s later).
  console.log(`# both silent: SubflowStale ${s.clientHost.mptcpCounters.SubflowStale} (after the return), first subflow acked again at ${trace.ackedAfterReturn} us`);
  assert.ok(trace.ackedAfterReturn !== undefined && trace.ackedAfterReturn - BACK_AT <= STALE_PROBE_INTERVAL + 100_000, `acknowledged again ${trace.ackedAfterReturn! - BACK_AT} us after the return`);
  assert.ok(s.up.intact(), 'SHA-256 equal');
});
