/**
 * bench/udp.ts's dgram ceiling (issue 13) runs and measures: a sender and a receiver process over one and
 * two socket pairs on loopback, both counting datagrams. No rate is asserted (wall clock, shared machine):
 * only that datagrams were sent and received, and the receiver never counts more than went out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dgramCeiling } from '../../bench/udp.js';

for (const pairs of [1, 2]) {
  test(`bench udp: the dgram ceiling over ${pairs} socket pair(s) counts datagrams sent and received`, { timeout: 60_000 }, async () => {
    const r = await dgramCeiling(pairs, 0.3);
    assert.ok(r.sent > 0 && Number.isFinite(r.sent), `sent ${r.sent}/s`);
    assert.ok(r.received > 0 && Number.isFinite(r.received), `received ${r.received}/s`);
    assert.ok(r.totalReceived <= r.totalSent, `received ${r.totalReceived} of ${r.totalSent} sent`);
  });
}
