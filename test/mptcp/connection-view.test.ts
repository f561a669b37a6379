/**
 * The connection supplies the data level to the scheduler (sched/types.ts `ConnectionView`) and each
 * subflow's RTTVAR (`SubflowView.rttvarMicros`), which BLEST and ECF read. On the emulator in virtual time:
 * a spy scheduler (the default one, registered under another name) checks every decision's view against
 * the connection's own numbers; ECF on a fast and a slow path finishes sooner than the default scheduler
 * and leaves the slow path nearly idle, as its inequality says it should.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MB, scenario } from '../../src/harness/scenario.js';
import { MptcpConnection } from '../../src/mptcp/connection.js';
import { createDefaultScheduler } from '../../src/sched/default.js';
import { registerScheduler } from '../../src/sched/registry.js';
import type { ConnectionView, SubflowView } from '../../src/sched/types.js';

const fast = { config: { rateBitsPerSecond: 20e6, delayMicros: 5_000, queueLimitBytes: 60_000 } };
const slow = { config: { rateBitsPerSecond: 2e6, delayMicros: 100_000, queueLimitBytes: 60_000 } };
const twoPaths = { clientEndpoints: ['198.18.2.2 id 2 subflow'], clientLimits: 'subflows 2', serverLimits: 'subflows 2' } as const;

test('every send decision sees the data level: window, outstanding and unsent bytes consistent with what it may send', () => {
  const seen: { pending: number; view: ConnectionView; rttvars: (number | undefined)[]; srtts: (number | undefined)[] }[] = [];
  registerScheduler('spy-view', (params) => {
    const inner = createDefaultScheduler(params);
    return {
      name: 'spy-view',
      selectSend(now, views: readonly SubflowView[], pending, connection) {
        assert.ok(connection !== undefined, 'the connection passes its ConnectionView');
        seen.push({ pending, view: { sendWindowBytes: connection.sendWindowBytes, outstandingBytes: connection.outstandingBytes, unsentBytes: connection.unsentBytes, sendWindowBlockedCount: connection.sendWindowBlockedCount }, rttvars: views.map((v) => v.rttvarMicros), srtts: views.map((v) => v.srttMicros) });
        return inner.selectSend(now, views, pending, connection);
      },
      selectRetransmit: (now, views, request) => inner.selectRetransmit(now, views, request),
    };
  });
  const s = scenario({ seed: 5, up: 3 * MB, down: 0, paths: [fast, slow], scheduler: 'spy-view', ...twoPaths });
  assert.equal(s.finish(60_000_000), undefined);
  assert.ok(s.up.intact(), 'SHA-256 equal');
  assert.ok(seen.length > 20, `decisions seen: ${seen.length}`);
  let finite = 0;
  let lastBlocked = 0;
  for (const { pending, view, rttvars, srtts } of seen) {
    assert.ok(view.outstandingBytes >= 0 && view.unsentBytes >= pending, `unsent ${view.unsentBytes} >= pending ${pending}`);
    assert.ok(view.outstandingBytes + view.unsentBytes <= 3 * MB);
    if (Number.isFinite(view.sendWindowBytes)) {
      finite++;
      assert.ok(pending <= view.sendWindowBytes - view.outstandingBytes, `pending ${pending} within the window ${view.sendWindowBytes} - ${view.outstandingBytes}`);
    }
    const blocked = view.sendWindowBlockedCount ?? -1;
    assert.ok(blocked >= lastBlocked, 'the blocked count never decreases');
    lastBlocked = blocked;
    srtts.forEach((srtt, i) => assert.equal(srtt === undefined, rttvars[i] === undefined, 'RTTVAR is there exactly when SRTT is'));
  }
  assert.ok(finite > seen.length / 2, `after the first DATA_ACK the window is a number (${finite} of ${seen.length})`);
  // The first decision: nothing sent yet, everything unsent, no DATA_ACK yet.
  assert.deepEqual([seen[0]!.view.outstandingBytes, seen[0]!.view.sendWindowBytes], [0, Infinity]);
  assert.ok(seen.some((d) => (d.rttvars.find((r) => r !== undefined) ?? 0) > 0), 'some RTTVAR sample is > 0');
});

function download(scheduler: string): { ms: number; slowBytes: number; fastBytes: number } {
  let ended = -1;
  const s = scenario({
    seed: 7,
    up: 0,
    down: 4 * MB,
    paths: [fast, slow],
    scheduler,
    ...twoPaths,
    onClientEvent: (_s, _c, e, now) => {
      if (e.type === 'end' && ended < 0) ended = now;
    },
  });
  assert.equal(s.finish(60_000_000), undefined);
  assert.ok(s.down.intact(), `${scheduler}: SHA-256 equal`);
  assert.ok(s.server instanceof MptcpConnection);
  const [first, second] = s.server.subflowInfo().map((x) => x.dataBytesSent);
  return { ms: (ended - s.startedAt) / 1000, fastBytes: first ?? 0, slowBytes: second ?? 0 };
}

test('ecf on 20 Mbit/s 5 ms + 2 Mbit/s 100 ms: a 4 MB download finishes sooner than with the default scheduler', () => {
  const def = download('default');
  const ecf = download('ecf');
  console.log(`4 MB: default ${def.ms} ms (slow path ${def.slowBytes} B), ecf ${ecf.ms} ms (slow path ${ecf.slowBytes} B)`);
  assert.ok(ecf.ms < def.ms, `ecf ${ecf.ms} ms < default ${def.ms} ms`);
  assert.ok(ecf.slowBytes < def.slowBytes, 'ecf gives the slow path less');
});
