import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createScheduler } from '../../src/sched/registry.js';
import { MPTCP_SEND_BURST_SIZE } from '../../src/sched/view.js';
import { MSS, view } from './fixtures.js';

const NOW = 1_000_000;
const LOTS = 10_000_000;

test('default_picksLowestRttWithRoom', () => {
  const sched = createScheduler('default');
  const views = [view(1, { srttMicros: 40_000 }), view(2, { srttMicros: 5_000 }), view(3, { srttMicros: 20_000 })];
  assert.equal(sched.selectSend(NOW, views, LOTS)?.subflowId, 2);
});

test('default_prefersLowestLingerTimeOverRtt', () => {
  const sched = createScheduler('default');
  // Subflow 2 has the lower RTT but a full window's worth queued: its bytes take 10 ms to drain, while
  // subflow 1 (idle) lingers 0.
  const views = [
    view(1, { srttMicros: 30_000, cwndBytes: 40 * MSS }),
    view(2, { srttMicros: 10_000, cwndBytes: 40 * MSS, bytesInFlight: 20 * MSS }),
  ];
  assert.equal(sched.selectSend(NOW, views, LOTS)?.subflowId, 1);
});

test('default_usesPacingRateWhenKnown', () => {
  const sched = createScheduler('default');
  const views = [
    view(1, { bytesInFlight: 4 * MSS, pacingRateBytesPerSecond: 1e6 }),
    view(2, { bytesInFlight: 4 * MSS, pacingRateBytesPerSecond: 1e8 }),
  ];
  assert.equal(sched.selectSend(NOW, views, LOTS)?.subflowId, 2);
});

test('default_skipsSubflowWithCwndExhausted', () => {
  const sched = createScheduler('default');
  const views = [view(1, { srttMicros: 5_000, bytesInFlight: 10 * MSS }), view(2, { srttMicros: 50_000 })];
  assert.equal(sched.selectSend(NOW, views, LOTS)?.subflowId, 2);
});

test('default_skipsSubflowWithPeerWindowExhausted', () => {
  const sched = createScheduler('default');
  const views = [view(1, { srttMicros: 5_000, sendWindowBytes: 0 }), view(2, { srttMicros: 50_000 })];
  assert.equal(sched.selectSend(NOW, views, LOTS)?.subflowId, 2);
});

test('default_queuedBytesUseUpRoom', () => {
  const sched = createScheduler('default');
  const views = [view(1, { srttMicros: 5_000, queuedBytes: 10 * MSS }), view(2, { srttMicros: 50_000 })];
  assert.equal(sched.selectSend(NOW, views, LOTS)?.subflowId, 2);
});

test('default_noneWhenEveryActiveSubflowIsFull', () => {
  const sched = createScheduler('default');
  const views = [view(1, { bytesInFlight: 10 * MSS }), view(2, { sendWindowBytes: 0 })];
  assert.equal(sched.selectSend(NOW, views, LOTS), undefined);
});

test('default_neverPicksNonEstablished', () => {
  const sched = createScheduler('default');
  const views = [view(1, { established: false, srttMicros: 1_000 }), view(2, { srttMicros: 90_000 })];
  assert.equal(sched.selectSend(NOW, views, LOTS)?.subflowId, 2);
  assert.equal(sched.selectSend(NOW, [view(1, { established: false })], LOTS), undefined);
  assert.equal(sched.selectSend(NOW, [], LOTS), undefined);
});

test('default_backupOnlyWhenNoActiveUsable_thenBackToActive', () => {
  const sched = createScheduler('default');
  const active = view(1, { srttMicros: 50_000 });
  const backup = view(2, { srttMicros: 5_000, backupPeer: true });
  const localBackup = view(3, { srttMicros: 1_000, backupLocal: true });
  // The active path works: the (faster) backups carry nothing.
  assert.equal(sched.selectSend(NOW, [active, backup, localBackup], LOTS)?.subflowId, 1);
  // The active path is merely out of window: wait for it, do not spill onto a backup (RFC 8684 3.3.8).
  assert.equal(sched.selectSend(NOW, [{ ...active, bytesInFlight: active.cwndBytes }, backup], LOTS), undefined);
  // The active path fails (stale, then gone): the best backup takes over.
  assert.equal(sched.selectSend(NOW, [{ ...active, stale: true }, backup, localBackup], LOTS)?.subflowId, 3);
  assert.equal(sched.selectSend(NOW, [backup], LOTS)?.subflowId, 2);
  assert.equal(sched.selectSend(NOW, [{ ...active, established: false }, backup], LOTS)?.subflowId, 2);
  // It recovers: back to the active path.
  assert.equal(sched.selectSend(NOW, [active, backup, localBackup], LOTS)?.subflowId, 1);
});

test('default_staleSubflowsUsedOnlyWhenAllAreStale', () => {
  const sched = createScheduler('default');
  const views = [view(1, { stale: true, srttMicros: 1_000 }), view(2, { srttMicros: 80_000 })];
  assert.equal(sched.selectSend(NOW, views, LOTS)?.subflowId, 2);
  assert.equal(sched.selectSend(NOW, [view(1, { stale: true })], LOTS)?.subflowId, 1);
});

test('default_maxBytesBoundedByRoomBurstAndPending', () => {
  const sched = createScheduler('default');
  // Room limited by the congestion window.
  assert.equal(sched.selectSend(NOW, [view(1, { bytesInFlight: 3 * MSS })], LOTS)?.maxBytes, 7 * MSS);
  // By the peer's window.
  assert.equal(sched.selectSend(NOW, [view(1, { sendWindowBytes: 1000 })], LOTS)?.maxBytes, 1000);
  // By the burst size.
  const big = view(1, { cwndBytes: 1_000_000, sendWindowBytes: 1_000_000 });
  assert.equal(sched.selectSend(NOW, [big], LOTS)?.maxBytes, MPTCP_SEND_BURST_SIZE);
  assert.equal(MPTCP_SEND_BURST_SIZE, 64 * 1024);
  // By the pending bytes, and nothing at all to send means no decision.
  assert.equal(sched.selectSend(NOW, [big], 123)?.maxBytes, 123);
  assert.equal(sched.selectSend(NOW, [big], 0), undefined);
  // A configured burst.
  assert.equal(createScheduler('default', { burstBytes: 4096 }).selectSend(NOW, [big], LOTS)?.maxBytes, 4096);
});

test('default_singlePathDecisionHasNoDuplicates', () => {
  const decision = createScheduler('default').selectSend(NOW, [view(1), view(2)], LOTS);
  assert.deepEqual(decision?.duplicateOn, []);
});

test('default_retransmitAvoidsTheSubflowThatLost', () => {
  const sched = createScheduler('default');
  const views = [view(1, { srttMicros: 1_000 }), view(2, { srttMicros: 60_000 }), view(3, { srttMicros: 30_000 })];
  assert.equal(sched.selectRetransmit(NOW, views, { lostOn: 1, pendingBytes: 5000 })?.subflowId, 3);
  // Non-backup before backup, backup before the subflow that lost the bytes.
  const withBackup = [view(1), view(2, { backupPeer: true, srttMicros: 1_000 }), view(3, { srttMicros: 90_000 })];
  assert.equal(sched.selectRetransmit(NOW, withBackup, { lostOn: 1, pendingBytes: 5000 })?.subflowId, 3);
  assert.equal(sched.selectRetransmit(NOW, [view(1), view(2, { backupLocal: true })], { lostOn: 1, pendingBytes: 5000 })?.subflowId, 2);
  // Only the subflow that lost it: reinject there rather than not at all.
  const only = sched.selectRetransmit(NOW, [view(1)], { lostOn: 1, pendingBytes: 5000 });
  assert.deepEqual(only, { subflowId: 1, maxBytes: 5000, duplicateOn: [] });
  // No room anywhere.
  assert.equal(sched.selectRetransmit(NOW, [view(1, { sendWindowBytes: 0 })], { lostOn: undefined, pendingBytes: 5000 }), undefined);
});
