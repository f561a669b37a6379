import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createScheduler } from '../../src/sched/registry.js';
import { MSS, view } from './fixtures.js';

const NOW = 0;
const LOTS = 10_000_000;

function picks(name: string, rounds: number, views: Parameters<ReturnType<typeof createScheduler>['selectSend']>[1]): (number | undefined)[] {
  const sched = createScheduler(name);
  return Array.from({ length: rounds }, () => sched.selectSend(NOW, views, LOTS)?.subflowId);
}

test('roundrobin_rotatesInIdOrder', () => {
  assert.deepEqual(picks('roundrobin', 7, [view(3), view(1), view(2)]), [1, 2, 3, 1, 2, 3, 1]);
});

test('roundrobin_skipsSubflowsWithoutRoomOrNotEstablished', () => {
  const views = [view(1), view(2, { sendWindowBytes: 0 }), view(3, { established: false }), view(4)];
  assert.deepEqual(picks('roundrobin', 4, views), [1, 4, 1, 4]);
});

test('roundrobin_respectsBackupRule', () => {
  assert.deepEqual(picks('roundrobin', 3, [view(1), view(2, { backupPeer: true }), view(3)]), [1, 3, 1]);
  assert.deepEqual(picks('roundrobin', 3, [view(1, { established: false }), view(2, { backupPeer: true }), view(3, { backupLocal: true })]), [2, 3, 2]);
});

test('roundrobin_turnIsOneMssByDefault', () => {
  const sched = createScheduler('roundrobin');
  assert.equal(sched.selectSend(NOW, [view(1)], LOTS)?.maxBytes, MSS);
  assert.equal(sched.selectSend(NOW, [view(1, { sendWindowBytes: 100 })], LOTS)?.maxBytes, 100);
  assert.equal(createScheduler('roundrobin', { burstBytes: 3 * MSS }).selectSend(NOW, [view(1)], LOTS)?.maxBytes, 3 * MSS);
});

test('roundrobin_continuesAfterRemovedSubflow', () => {
  const sched = createScheduler('roundrobin');
  assert.equal(sched.selectSend(NOW, [view(1), view(2), view(3)], LOTS)?.subflowId, 1);
  assert.equal(sched.selectSend(NOW, [view(1), view(2), view(3)], LOTS)?.subflowId, 2);
  sched.onSubflowRemoved(NOW, 2);
  assert.equal(sched.selectSend(NOW, [view(1), view(3)], LOTS)?.subflowId, 3);
});
