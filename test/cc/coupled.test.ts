/**
 * The coupling between one connection's subflows (src/cc/coupled.ts): membership, which members count, and
 * the cached sums the formulas read (RFC 6356 section 3 equation (2)'s sums, OLIA's sets M and B, BALIA's
 * max x_k), hand-computed. Windows in bytes, SRTTs in µs, rates in bytes per µs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CoupledGroup, type CoupledSubflow } from '../../src/cc/coupled.js';
import { congestionControlNames, createCongestionControl } from '../../src/cc/registry.js';
import { assertClose } from './coupled-fixtures.js';

/** A claimed slot with the given published state (as a controller would publish it). */
function member(
  group: CoupledGroup,
  cwnd: number,
  srttMicros: number,
  interLossBytes = 0,
  inRecovery = false,
): CoupledSubflow {
  const slot = group.join();
  slot.attach('test');
  slot.publish(cwnd, srttMicros, 1000, inRecovery, interLossBytes);
  return slot;
}

test('coupled group: an empty group has no usable member and zero sums', () => {
  const group = new CoupledGroup();
  assert.equal(group.usableCount, 0);
  assert.equal(group.cwndTotal, 0);
  assert.equal(group.rateSum, 0);
  assert.equal(group.maxRate, 0);
  assert.equal(group.maxCwndOverSrttSquared, 0);
  assert.equal(group.maxCwnd, 0);
  assert.equal(group.maxCwndCount, 0);
  assert.equal(group.bestInterLossMetric, 0);
  assert.equal(group.bestNotMaxCwndCount, 0);
});

test('coupled group: two members, sums and maxima of RFC 6356 equation (2)', () => {
  const group = new CoupledGroup();
  member(group, 20_000, 10_000); // rate 2, cwnd/rtt^2 2e-4
  member(group, 10_000, 100_000); // rate 0.1, cwnd/rtt^2 1e-6
  assert.equal(group.usableCount, 2);
  assert.equal(group.cwndTotal, 30_000);
  assertClose(group.rateSum, 2.1);
  assertClose(group.maxRate, 2);
  assertClose(group.maxCwndOverSrttSquared, 2e-4);
  assert.equal(group.maxCwnd, 20_000);
  assert.equal(group.maxCwndCount, 1);
});

test('coupled group: three members, OLIA\'s sets M (largest window) and B \\ M (best l/rtt^2 outside M)', () => {
  const group = new CoupledGroup();
  // l/rtt^2: 4e6/1e8 = 0.04, 1e6/4e8 = 0.0025, 1.6e7/4e8 = 0.04 (ties with the first).
  const a = member(group, 10_000, 10_000, 4_000_000);
  member(group, 30_000, 20_000, 1_000_000);
  const c = member(group, 20_000, 20_000, 16_000_000);
  assert.equal(group.maxCwnd, 30_000);
  assert.equal(group.maxCwndCount, 1);
  assertClose(group.bestInterLossMetric, 0.04);
  assert.equal(a.interLossMetric, c.interLossMetric);
  assert.equal(group.bestNotMaxCwndCount, 2);
  assert.equal(group.cwndTotal, 60_000);
  assertClose(group.rateSum, 1 + 1.5 + 1);
  assertClose(group.maxRate, 1.5);
  assertClose(group.maxCwndOverSrttSquared, 1e-4);
});

test('coupled group: a best path that also has the largest window is in M, not in B \\ M', () => {
  const group = new CoupledGroup();
  member(group, 30_000, 10_000, 9_000_000); // best and largest
  member(group, 10_000, 10_000, 1_000_000);
  assert.equal(group.maxCwndCount, 1);
  assert.equal(group.bestNotMaxCwndCount, 0);
});

test('coupled group: two members with equal largest windows are both in M', () => {
  const group = new CoupledGroup();
  member(group, 20_000, 10_000, 5);
  member(group, 20_000, 30_000, 5);
  member(group, 10_000, 10_000, 1);
  assert.equal(group.maxCwnd, 20_000);
  assert.equal(group.maxCwndCount, 2);
  assert.equal(group.bestNotMaxCwndCount, 0); // the best (5 / 1e8) has the largest window
});

test('coupled group: only usable members count (claimed, RTT known, window, can send, not left)', () => {
  const group = new CoupledGroup();
  const counted = member(group, 10_000, 10_000);
  const unclaimed = group.join(); // e.g. a subflow whose controller is not coupled
  unclaimed.publish(50_000, 10_000, 1000, false, 0);
  const noRtt = group.join();
  noRtt.attach('test');
  noRtt.publish(40_000, 0, 1000, false, 0);
  assert.equal(counted.usable, true);
  assert.equal(unclaimed.established, false);
  assert.equal(unclaimed.usable, false);
  assert.equal(noRtt.established, true);
  assert.equal(noRtt.usable, false);
  assert.equal(group.usableCount, 1);
  assert.equal(group.cwndTotal, 10_000);
  assert.equal(group.members.length, 3);

  const other = member(group, 30_000, 30_000);
  assert.equal(group.cwndTotal, 40_000);
  other.setCanSend(false);
  assert.equal(other.established, false);
  assert.equal(group.cwndTotal, 10_000);
  other.setCanSend(true);
  assert.equal(group.cwndTotal, 40_000);
  other.leave();
  other.leave(); // idempotent
  assert.equal(other.left, true);
  assert.equal(group.cwndTotal, 10_000);
  assert.equal(group.members.length, 3);
  assert.ok(!group.members.includes(other));
  // A left slot's later publishes are not seen.
  other.publish(99_000, 1_000, 1000, false, 0);
  assert.equal(group.cwndTotal, 10_000);
});

test('coupled group: the in-recovery flag is published (RFC 6356 section 4: cwnd is already ssthresh then)', () => {
  const group = new CoupledGroup();
  const slot = member(group, 10_000, 10_000, 0, true);
  assert.equal(slot.inRecovery, true);
  assert.equal(group.cwndTotal, 10_000);
});

test('coupled group: aggregates are recomputed only after a change; unchanged publishes keep the version', () => {
  const group = new CoupledGroup();
  const a = member(group, 10_000, 10_000);
  member(group, 20_000, 10_000);
  assert.equal(group.cwndTotal, 30_000);
  const version = group.version;
  a.publish(10_000, 10_000, 1000, false, 0);
  assert.equal(group.version, version);
  a.publish(11_000, 10_000, 1000, false, 0);
  assert.ok(group.version > version);
  assert.equal(group.cwndTotal, 31_000);
  assertClose(group.rateSum, 3.1);
});

test('coupled group: a slot is claimed by one controller only, and not after it left', () => {
  const group = new CoupledGroup();
  const slot = group.join();
  createCongestionControl('lia', { mss: 1000, now: 0, coupling: slot });
  assert.equal(slot.controllerName, 'lia');
  assert.throws(() => createCongestionControl('olia', { mss: 1000, now: 0, coupling: slot }), /already belongs/);
  const gone = group.join();
  gone.leave();
  assert.throws(() => createCongestionControl('balia', { mss: 1000, now: 0, coupling: gone }), /after leave/);
});

test('coupled group: uncoupled controllers ignore the slot, which then never counts', () => {
  const group = new CoupledGroup();
  for (const name of ['reno', 'cubic']) {
    const slot = group.join();
    const cc = createCongestionControl(name, { mss: 1000, now: 0, coupling: slot });
    cc.onAck(1, { ackedBytes: 1000, priorInFlight: 1000, srttMicros: 10_000, appLimited: false, inRecovery: false });
    assert.equal(slot.controllerName, undefined);
  }
  assert.equal(group.usableCount, 0);
});

test('coupled group: a controller publishes its window and SRTT on every event', () => {
  const group = new CoupledGroup();
  const slot = group.join();
  const cc = createCongestionControl('lia', { mss: 1000, now: 0, coupling: slot });
  assert.equal(slot.cwnd, 10_000);
  assert.equal(slot.mss, 1000);
  assert.equal(slot.usable, false); // no RTT yet
  cc.onAck(1, { ackedBytes: 1000, priorInFlight: 10_000, srttMicros: 25_000, appLimited: false, inRecovery: false });
  assert.equal(slot.cwnd, 11_000);
  assert.equal(slot.srttMicros, 25_000);
  assert.equal(slot.usable, true);
  cc.onCongestionEvent(2, 11_000);
  assert.equal(slot.cwnd, 5_500);
  assert.equal(slot.inRecovery, true);
  cc.onRecoveryEnd(3);
  assert.equal(slot.inRecovery, false);
  cc.onRetransmissionTimeout(4, 5_500);
  assert.equal(slot.cwnd, 1000);
  cc.setMss(500);
  assert.equal(slot.mss, 500);
  assert.equal(slot.cwnd, 500);
});

test('coupled group: the registry has the coupled controllers, and cubic stays the default', async () => {
  const names = congestionControlNames();
  for (const name of ['lia', 'olia', 'balia', 'reno', 'cubic']) assert.ok(names.includes(name), name);
  const { DEFAULT_CONGESTION_CONTROL } = await import('../../src/cc/registry.js');
  assert.equal(DEFAULT_CONGESTION_CONTROL, 'cubic');
});

test('coupled group: sums equal a direct computation for any members and any leave order (property)', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          cwnd: fc.integer({ min: 0, max: 1_000_000 }),
          srtt: fc.integer({ min: 0, max: 2_000_000 }),
          canSend: fc.boolean(),
          leaves: fc.boolean(),
        }),
        { maxLength: 8 },
      ),
      (specs) => {
        const group = new CoupledGroup();
        const slots = specs.map((spec) => {
          const slot = member(group, spec.cwnd, spec.srtt);
          slot.setCanSend(spec.canSend);
          return slot;
        });
        specs.forEach((spec, i) => {
          if (spec.leaves) slots[i]!.leave();
        });
        const live = specs.filter((s) => s.canSend && !s.leaves && s.cwnd > 0 && s.srtt > 0);
        assert.equal(group.usableCount, live.length);
        assert.equal(group.cwndTotal, live.reduce((sum, s) => sum + s.cwnd, 0));
        assertClose(group.rateSum, live.reduce((sum, s) => sum + s.cwnd / s.srtt, 0), 1e-12);
        assert.equal(group.maxRate, Math.max(0, ...live.map((s) => s.cwnd / s.srtt)));
        assert.equal(group.members.length, specs.filter((s) => !s.leaves).length);
      },
    ),
    { numRuns: 300 },
  );
});
