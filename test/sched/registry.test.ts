import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_SCHEDULER,
  createScheduler,
  registerScheduler,
  schedulerNames,
} from '../../src/sched/index.js';
import type { SchedulerPolicy } from '../../src/sched/types.js';
import { MSS, connection, view } from './fixtures.js';

test('registry_builtinsAndDefault', () => {
  assert.equal(DEFAULT_SCHEDULER, 'default');
  for (const name of ['default', 'roundrobin', 'redundant', 'blest', 'ecf']) {
    assert.ok(schedulerNames().includes(name));
    assert.equal(createScheduler(name).name, name);
  }
  const names = schedulerNames();
  assert.deepEqual(names, [...names].sort());
});

test('registry_blestAndEcfThroughTheRegistry', () => {
  // Through createScheduler (the connection's path), the connection view still reaches the policy: the
  // fast path is full and the slow one would block the 64-segment window, so BLEST waits.
  const fastFull = view(1, { srttMicros: 10_000, bytesInFlight: 10 * MSS });
  const slowBusy = view(2, { srttMicros: 40_000, bytesInFlight: 8 * MSS });
  const blest = createScheduler('blest');
  assert.equal(blest.selectSend(0, [fastFull, slowBusy], 100_000, connection({ outstandingBytes: 18 * MSS })), undefined);
  assert.equal(blest.selectSend(0, [fastFull, slowBusy], 100_000)?.subflowId, 2);
  // ECF waits with 20 segments left against a 100 ms path.
  const slow = view(2, { srttMicros: 100_000 });
  assert.equal(createScheduler('ecf').selectSend(0, [fastFull, slow], 20 * MSS, connection({ unsentBytes: 20 * MSS })), undefined);
  // Hooks the two leave out are no-ops.
  blest.onSubflowAdded(0, view(3));
  blest.onAck(0, 1, MSS);
  blest.onSubflowRemoved(0, 3);
});

test('registry_unknownNameListsAvailable', () => {
  assert.throws(() => createScheduler('fastest'), (err: unknown) => {
    assert.ok(err instanceof Error);
    assert.match(err.message, /unknown scheduler "fastest"/);
    assert.match(err.message, /available: blest, default, ecf, redundant, roundrobin/);
    return true;
  });
});

test('registry_emptyNameRejected', () => {
  assert.throws(() => registerScheduler('', () => createScheduler('default')), /must not be empty/);
});

test('registry_customSchedulerGetsNoOpHooks', () => {
  const calls: string[] = [];
  const first: SchedulerPolicy = {
    name: 'test-first',
    selectSend: (_now, views, pending) => {
      const v = views[0];
      return v === undefined ? undefined : { subflowId: v.id, maxBytes: Math.max(1, pending), duplicateOn: [] };
    },
    selectRetransmit: () => undefined,
    onAck: (_now, id, bytes) => calls.push(`ack ${id} ${bytes}`),
  };
  registerScheduler('test-first', () => first);
  const sched = createScheduler('test-first');
  assert.ok(schedulerNames().includes('test-first'));
  assert.equal(sched.selectSend(0, [view(7)], 10)?.subflowId, 7);
  // Hooks the policy left out are callable no-ops; the one it has is forwarded.
  sched.onSubflowAdded(0, view(8));
  sched.onSubflowRemoved(0, 8);
  sched.onAck(0, 7, 1460);
  assert.deepEqual(calls, ['ack 7 1460']);
  // Each connection gets a fresh instance (round-robin state is not shared).
  const a = createScheduler('roundrobin');
  const b = createScheduler('roundrobin');
  assert.equal(a.selectSend(0, [view(1), view(2)], 5000)?.subflowId, 1);
  assert.equal(b.selectSend(0, [view(1), view(2)], 5000)?.subflowId, 1);
});

test('registry_connectionViewReachesThePolicy', () => {
  const seen: unknown[] = [];
  registerScheduler('test-connection', () => ({
    name: 'test-connection',
    selectSend: (_now, _views, _pending, connection) => {
      seen.push(connection);
      return undefined;
    },
    selectRetransmit: () => undefined,
  }));
  const sched = createScheduler('test-connection');
  const connection = { sendWindowBytes: 100_000, outstandingBytes: 2000, unsentBytes: 50_000 };
  sched.selectSend(0, [view(1)], 1000, connection);
  // Today's callers pass three arguments: the policy sees no connection view.
  sched.selectSend(0, [view(1)], 1000);
  assert.deepEqual(seen, [connection, undefined]);
});
