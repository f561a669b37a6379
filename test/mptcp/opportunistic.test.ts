/**
 * Opportunistic reinjection and penalisation (src/mptcp/opportunistic.ts; NSDI 2012 4.2), on the emulator
 * in virtual time: a 64 KiB send buffer over a fast path (20 Mbit/s, 5 ms) and a slow one (2 Mbit/s,
 * 100 ms) blocks on the slow subflow's data; with the option the blocking data goes again on the fast
 * subflow and the download finishes in well under half the time. Off (the default) nothing changes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scenario } from '../../src/harness/scenario.js';
import { MptcpConnection } from '../../src/mptcp/connection.js';
import type { ConnectionContext } from '../../src/mptcp/context.js';
import { OPPORTUNISTIC_CHUNK, Opportunistic, heldElsewhere } from '../../src/mptcp/opportunistic.js';
import type { Subflow } from '../../src/mptcp/subflow.js';

const fast = { config: { rateBitsPerSecond: 20e6, delayMicros: 5_000, queueLimitBytes: 60_000 } };
const slow = { config: { rateBitsPerSecond: 2e6, delayMicros: 100_000, queueLimitBytes: 60_000 } };

function download(opportunistic: boolean, sendBufferBytes: number) {
  let ended = -1;
  const s = scenario({
    seed: 7,
    up: 0,
    down: 4_000_000,
    paths: [fast, slow],
    tcp: { sendBufferBytes },
    clientEndpoints: ['198.18.2.2 id 2 subflow'],
    clientLimits: 'subflows 2',
    serverLimits: 'subflows 2',
    onClientEvent: (_s, _c, e, now) => {
      if (e.type === 'end' && ended < 0) ended = now;
    },
  });
  // The server's connection is created when the SYN arrives, after this.
  s.serverHost.mptcpSettings.opportunisticReinjection = opportunistic;
  assert.equal(s.finish(120_000_000), undefined);
  assert.ok(s.down.intact(), 'SHA-256 equal');
  assert.ok(s.server instanceof MptcpConnection);
  const state = s.server.debugState() as { opportunistic?: { bytes: number; penalties: number } };
  const slowSrtt = s.server.subflowInfo()[1]?.tcp.srttMicros ?? 0;
  return { ms: (ended - s.startedAt) / 1000, stats: state.opportunistic, slowSrtt };
}

test('a send buffer blocked by the slow subflow: the blocking data goes again on the fast one, the slow one is penalised', () => {
  const off = download(false, 65_536);
  const on = download(true, 65_536);
  console.log(`64 KiB send buffer, 4 MB: off ${off.ms} ms, on ${on.ms} ms, ${JSON.stringify(on.stats)}`);
  assert.equal(off.stats, undefined, 'off: no opportunistic state at all');
  assert.ok(on.stats !== undefined && on.stats.bytes > 0 && on.stats.penalties >= 1, 'on: bytes sent again and a penalty');
  // At most one penalty per slow-path RTT over the whole transfer.
  assert.ok(on.stats.penalties <= (on.ms * 1000) / on.slowSrtt, `${on.stats.penalties} penalties in ${on.ms} ms at SRTT ${on.slowSrtt} us`);
  assert.ok(on.ms < 0.5 * off.ms, `on ${on.ms} ms < half of off ${off.ms} ms`);
  // The fast path alone would need 4 MB x 8 / 20 Mbit/s = 1.6 s: within 1.5 x of that.
  assert.ok(on.ms < 2400, `on ${on.ms} ms`);
});

test('with the default buffers nothing blocks: the option changes nothing', () => {
  const off = download(false, 4 << 20);
  const on = download(true, 4 << 20);
  assert.equal(on.ms, off.ms);
  assert.deepEqual(on.stats, { bytes: 0, penalties: 0 });
});

/** A connection context with only the send-buffer fields `blocked()` reads (the rest is never touched). */
function blockedWith(send: { written: number; scheduled: number; acked: number; windowEnd: number; room: number; blocked: boolean }): boolean {
  return new Opportunistic({ send } as unknown as ConnectionContext).blocked();
}

test('blocked(): the connection-level window within one chunk of the send head counts, not only once shut', () => {
  const base = { written: 10_000_000, acked: 0, room: 1_000_000, blocked: false };
  // Shut: the send head at DATA_ACK + window, more written.
  assert.equal(blockedWith({ ...base, windowEnd: 500_000, scheduled: 500_000 }), true);
  // About to: less than one chunk of window left.
  assert.equal(blockedWith({ ...base, windowEnd: 500_000, scheduled: 500_000 - OPPORTUNISTIC_CHUNK + 1 }), true);
  // One chunk or more left: not yet.
  assert.equal(blockedWith({ ...base, windowEnd: 500_000, scheduled: 500_000 - OPPORTUNISTIC_CHUNK }), false);
  // Nothing written beyond the window: the window does not block whatever is left of it.
  assert.equal(blockedWith({ ...base, written: 400_000, windowEnd: 500_000, scheduled: 400_000 }), false);
});

test('blocked(): a nearly full send buffer with less than one chunk not handed out counts', () => {
  const buffer = { written: 4 << 20, acked: 0, windowEnd: Infinity, blocked: true };
  assert.equal(blockedWith({ ...buffer, scheduled: 4 << 20, room: 0 }), true);
  assert.equal(blockedWith({ ...buffer, scheduled: (4 << 20) - OPPORTUNISTIC_CHUNK + 1, room: 0 }), true);
  assert.equal(blockedWith({ ...buffer, scheduled: (4 << 20) - OPPORTUNISTIC_CHUNK, room: 0 }), false);
  // A third of the buffer free (room >= half of what is held): the application can still write.
  assert.equal(blockedWith({ ...buffer, scheduled: 4 << 20, room: 2 << 20, blocked: false }), false);
  // Everything acknowledged: nothing holds the buffer.
  assert.equal(blockedWith({ ...buffer, scheduled: 4 << 20, acked: 4 << 20, room: 0 }), false);
});

test('heldElsewhere: the burst follows mappings held by other subflows and stops at the target\'s own bytes', () => {
  const sf = (maps: [number, number][], closed = false) => ({ closed, send: { maps: maps.map(([dataOffset, length]) => ({ dataOffset, length, subflowSeq: 1 })) } }) as unknown as Subflow;
  const slow = sf([[0, 10_000], [30_000, 5_000]]);
  const other = sf([[10_000, 20_000]]);
  const target = sf([[35_000, 50_000]]);
  const all = [target, slow, other];
  // From the DATA_ACK (0): slow's 0-10000, other's 10000-30000, slow's 30000-35000, then the target's own: 35000.
  assert.equal(heldElsewhere(all, target, 0, 100_000, 10_000), 35_000);
  // Bounded by the limit (the target's room).
  assert.equal(heldElsewhere(all, target, 0, 14_000, 10_000), 14_000);
  // Resumes where the last burst stopped (bytes never sent twice).
  assert.equal(heldElsewhere(all, target, 12_000, 100_000, 10_000), 35_000);
  // A closed subflow's mappings do not count.
  assert.equal(heldElsewhere([target, slow, sf([[10_000, 20_000]], true)], target, 0, 100_000, 10_000), 10_000);
});
