import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createScheduler } from '../../src/sched/registry.js';
import { REDUNDANT_MAX_LAG_MICROS } from '../../src/sched/redundant.js';
import { MSS, view } from './fixtures.js';

const NOW = 0;
const LOTS = 10_000_000;

test('redundant_sendsEveryChunkOnEveryActiveSubflow', () => {
  const sched = createScheduler('redundant');
  const decision = sched.selectSend(NOW, [view(1, { srttMicros: 30_000 }), view(2, { srttMicros: 5_000 }), view(3)], LOTS);
  assert.equal(decision?.subflowId, 2);
  assert.deepEqual([decision?.subflowId, ...(decision?.duplicateOn ?? [])].sort(), [1, 2, 3]);
});

test('redundant_leavesOutBackupAndNonEstablished_queuesOnBusy', () => {
  const sched = createScheduler('redundant');
  // 4 is full (10 segments in flight of a 10-segment cwnd) but holds only 10 x 1460 B / (14600 B / 10 ms) = 10 ms.
  const views = [view(1), view(2, { backupPeer: true }), view(3, { established: false }), view(4, { bytesInFlight: 10 * MSS }), view(5)];
  const decision = sched.selectSend(NOW, views, LOTS);
  assert.deepEqual([decision?.subflowId, ...(decision?.duplicateOn ?? [])].sort(), [1, 4, 5]);
  assert.notEqual(decision?.subflowId, 4, 'the primary has room');
});

test('redundant_backupsTakeOverWhenNoActiveUsable', () => {
  const sched = createScheduler('redundant');
  const views = [view(1, { stale: true }), view(2, { backupPeer: true }), view(3, { backupLocal: true })];
  const decision = sched.selectSend(NOW, views, LOTS);
  assert.deepEqual([decision?.subflowId, ...(decision?.duplicateOn ?? [])].sort(), [2, 3]);
});

test('redundant_chunkBoundedByThePrimaryOnly', () => {
  const sched = createScheduler('redundant');
  // Subflow 2 has 2000 B of peer window: it still gets the whole chunk queued (its TCP sends it as it can).
  const decision = sched.selectSend(NOW, [view(1), view(2, { sendWindowBytes: 2000 })], LOTS);
  assert.deepEqual(decision, { subflowId: 1, maxBytes: 10 * MSS, duplicateOn: [2] });
  assert.equal(sched.selectSend(NOW, [view(1), view(2)], 0), undefined);
  // Nobody has room: no decision.
  assert.equal(sched.selectSend(NOW, [view(1, { bytesInFlight: 10 * MSS }), view(2, { bytesInFlight: 10 * MSS })], LOTS), undefined);
});

test(`redundant_dropsCopiesForASubflowLaggingMoreThan${REDUNDANT_MAX_LAG_MICROS}us`, () => {
  const sched = createScheduler('redundant');
  // Subflow 2: cwnd 14600 B per 100 ms SRTT = 146 kB/s. Holding 145,900 B is just under 1 s (kept), 146,100 B just over (dropped).
  const slow = (queuedBytes: number) => view(2, { srttMicros: 100_000, bytesInFlight: 10 * MSS, queuedBytes });
  const at = 146_000 - 10 * MSS;
  assert.deepEqual(sched.selectSend(NOW, [view(1), slow(at - 100)], LOTS)?.duplicateOn, [2]);
  assert.deepEqual(sched.selectSend(NOW, [view(1), slow(at + 100)], LOTS)?.duplicateOn, []);
});
