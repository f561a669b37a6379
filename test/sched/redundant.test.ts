import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createScheduler } from '../../src/sched/registry.js';
import { MSS, view } from './fixtures.js';

const NOW = 0;
const LOTS = 10_000_000;

test('redundant_sendsEveryChunkOnEveryActiveSubflow', () => {
  const sched = createScheduler('redundant');
  const decision = sched.selectSend(NOW, [view(1, { srttMicros: 30_000 }), view(2, { srttMicros: 5_000 }), view(3)], LOTS);
  assert.equal(decision?.subflowId, 2);
  assert.deepEqual([decision?.subflowId, ...(decision?.duplicateOn ?? [])].sort(), [1, 2, 3]);
});

test('redundant_leavesOutBackupNonEstablishedAndFull', () => {
  const sched = createScheduler('redundant');
  const views = [view(1), view(2, { backupPeer: true }), view(3, { established: false }), view(4, { bytesInFlight: 10 * MSS }), view(5)];
  const decision = sched.selectSend(NOW, views, LOTS);
  assert.deepEqual([decision?.subflowId, ...(decision?.duplicateOn ?? [])].sort(), [1, 5]);
});

test('redundant_backupsTakeOverWhenNoActiveUsable', () => {
  const sched = createScheduler('redundant');
  const views = [view(1, { stale: true }), view(2, { backupPeer: true }), view(3, { backupLocal: true })];
  const decision = sched.selectSend(NOW, views, LOTS);
  assert.deepEqual([decision?.subflowId, ...(decision?.duplicateOn ?? [])].sort(), [2, 3]);
});

test('redundant_chunkFitsEveryChosenSubflow', () => {
  const sched = createScheduler('redundant');
  const decision = sched.selectSend(NOW, [view(1), view(2, { sendWindowBytes: 2000 })], LOTS);
  assert.equal(decision?.maxBytes, 2000);
  assert.equal(sched.selectSend(NOW, [view(1), view(2)], 0), undefined);
});
