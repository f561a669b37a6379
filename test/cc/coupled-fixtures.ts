/**
 * Shared by the LIA, OLIA, BALIA and group tests: building subflows with given windows and SRTTs in one group,
 * and the property that a coupled controller with no sibling is Reno, event for event.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CoupledGroup } from '../../src/cc/coupled.js';
import type { CoupledController } from '../../src/cc/coupled-controller.js';
import { RenoController } from '../../src/cc/reno.js';
import type { AckSample, CongestionControlParams } from '../../src/cc/types.js';

/** A round MSS so that hand-computed values stay readable. */
export const MSS = 1000;

export function ack(ackedBytes: number, extra: Partial<AckSample> = {}): AckSample {
  return { ackedBytes, priorInFlight: ackedBytes, appLimited: false, inRecovery: false, ...extra };
}

export type CoupledCtor<T extends CoupledController> = new (params: CongestionControlParams) => T;

/** A path to build: window in bytes, SRTT in µs, and (for OLIA's l_r) bytes delivered before it. */
export interface PathSpec {
  readonly cwnd: number;
  readonly srttMicros: number;
  readonly deliveredBytes?: number;
}

/**
 * Controllers in one group, in congestion avoidance with cwnd = ssthresh = `cwnd` and the given SRTT. Every
 * window is set (by a loss of a flight of 2 * cwnd, then the end of recovery) before any member has an SRTT,
 * so the reductions are plain halvings whatever the controller; then one application-limited ACK of
 * `deliveredBytes` (default 1) carries the SRTT and grows nothing. l_r is then `deliveredBytes`.
 */
export function pathsInGroup<T extends CoupledController>(
  ctor: CoupledCtor<T>,
  specs: readonly PathSpec[],
  now = 1_000_000,
): { group: CoupledGroup; paths: T[] } {
  const group = new CoupledGroup();
  const paths = specs.map((spec) => {
    const cc = new ctor({ mss: MSS, now, coupling: group.join() });
    cc.onCongestionEvent(now, 2 * spec.cwnd);
    cc.onRecoveryEnd(now);
    return cc;
  });
  specs.forEach((spec, i) => {
    const cc = paths[i]!;
    cc.onAck(now, ack(spec.deliveredBytes ?? 1, { srttMicros: spec.srttMicros, appLimited: true }));
    assert.equal(cc.cwnd, spec.cwnd);
    assert.equal(cc.ssthresh, spec.cwnd);
  });
  return { group, paths };
}

/** One step of a sender's life, as the TCP sender reports it. */
export type CcEvent =
  | {
      readonly kind: 'ack';
      readonly bytes: number;
      readonly srtt: number;
      /** The ACK's RTT sample (HyStart++ reads it), if it has one. */
      readonly rtt: number | null;
      /** Bytes in flight before the ACK beyond the bytes it acknowledges (HyStart++'s rounds). */
      readonly flight: number;
      readonly appLimited: boolean;
      readonly inRecovery: boolean;
    }
  | { readonly kind: 'loss'; readonly flight: number }
  | { readonly kind: 'recoveryEnd' }
  | { readonly kind: 'rto'; readonly flight: number }
  | { readonly kind: 'undo' }
  | { readonly kind: 'mss'; readonly mss: number };

const MSS_CHOICES = [536, 1000, 1460, 8960] as const;

export const ccEventArb: fc.Arbitrary<CcEvent> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant('ack' as const),
      bytes: fc.integer({ min: 1, max: 6 * 1460 }),
      srtt: fc.integer({ min: 500, max: 400_000 }),
      rtt: fc.option(fc.integer({ min: 500, max: 400_000 })),
      flight: fc.integer({ min: 0, max: 40 * 1460 }),
      appLimited: fc.boolean(),
      inRecovery: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('loss' as const), flight: fc.integer({ min: 0, max: 200 * 1460 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('recoveryEnd' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('rto' as const), flight: fc.integer({ min: 0, max: 200 * 1460 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('undo' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('mss' as const), mss: fc.constantFrom(...MSS_CHOICES) }) },
);

/**
 * Slow-start rounds for HyStart++ to act on: 1 to 16 rounds, each `segments` ACKs of one MSS (8 to 40, so a
 * round has N_RTT_SAMPLE samples) whose flight makes the round exactly those ACKs, all with one RTT sample
 * from 20, 22, 26 or 40 ms (so the minimum rises past the threshold or not, and falls back).
 */
export function slowStartRoundsArb(mss: number): fc.Arbitrary<CcEvent[]> {
  return fc
    .array(fc.record({ segments: fc.integer({ min: 8, max: 40 }), rtt: fc.constantFrom(20_000, 22_000, 26_000, 40_000) }), { minLength: 1, maxLength: 16 })
    .map((rounds) =>
      rounds.flatMap(({ segments, rtt }) =>
        Array.from({ length: segments }, (_, i): CcEvent => ({
          kind: 'ack',
          bytes: mss,
          srtt: 20_000,
          rtt,
          flight: (segments - i - 1) * mss,
          appLimited: false,
          inRecovery: false,
        })),
      ),
    );
}

interface Steppable {
  onAck(now: number, sample: AckSample): void;
  onCongestionEvent(now: number, flight: number): void;
  onRecoveryEnd(now: number): void;
  onRetransmissionTimeout(now: number, flight: number): void;
  onUndo?(now: number): void;
  setMss(mss: number): void;
}

export function apply(cc: Steppable, now: number, event: CcEvent): void {
  switch (event.kind) {
    case 'ack':
      cc.onAck(
        now,
        ack(event.bytes, {
          srttMicros: event.srtt,
          ...(event.rtt === null ? {} : { rttMicros: event.rtt }),
          priorInFlight: event.bytes + event.flight,
          appLimited: event.appLimited,
          inRecovery: event.inRecovery,
        }),
      );
      break;
    case 'loss':
      cc.onCongestionEvent(now, event.flight);
      break;
    case 'recoveryEnd':
      cc.onRecoveryEnd(now);
      break;
    case 'rto':
      cc.onRetransmissionTimeout(now, event.flight);
      break;
    case 'undo':
      cc.onUndo?.(now);
      break;
    case 'mss':
      cc.setMss(event.mss);
      break;
  }
}

/**
 * Property: `ctor` without a group, alone in a group, and next to a sibling that cannot count (no SRTT yet,
 * or marked unable to send) has Reno's cwnd and ssthresh (Reno with HyStart++, as the coupled controllers'
 * slow start) after every event of any sequence.
 */
export function assertAloneIsReno<T extends CoupledController>(ctor: CoupledCtor<T>): void {
  fc.assert(
    fc.property(
      fc.constantFrom(1000, 1460).chain((mss) =>
        fc.tuple(fc.constant(mss), fc.oneof(fc.constant<CcEvent[]>([]), slowStartRoundsArb(mss)), fc.array(ccEventArb, { minLength: 1, maxLength: 200 })),
      ),
      fc.constantFrom('none', 'alone', 'sibling-without-srtt', 'sibling-cannot-send'),
      ([mss, rounds, rest], setting) => {
        const events = [...rounds, ...rest];
        const reno = new RenoController({ mss, now: 0 }, { hystart: true });
        let cc: T;
        if (setting === 'none') {
          cc = new ctor({ mss, now: 0 });
        } else {
          const group = new CoupledGroup();
          cc = new ctor({ mss, now: 0, coupling: group.join() });
          if (setting !== 'alone') {
            const sibling = new ctor({ mss, now: 0, coupling: group.join() });
            if (setting === 'sibling-cannot-send') {
              sibling.onAck(0, ack(1, { srttMicros: 10_000, appLimited: true }));
              sibling.coupling!.setCanSend(false);
            }
          }
        }
        let now = 0;
        for (const event of events) {
          now += 1000;
          apply(reno, now, event);
          apply(cc, now, event);
          assert.equal(cc.cwnd, reno.cwnd, `cwnd after ${JSON.stringify(event)}`);
          assert.equal(cc.ssthresh, reno.ssthresh, `ssthresh after ${JSON.stringify(event)}`);
          assert.equal(cc.hystart, reno.hystart, `HyStart++ phase after ${JSON.stringify(event)}`);
        }
      },
    ),
    { numRuns: 300 },
  );
}

/** fast-check: 2 to 4 paths with windows of 2..400 segments and SRTTs of 0.5 ms..1 s. */
export const pathSpecsArb: fc.Arbitrary<PathSpec[]> = fc.array(
  fc.record({
    cwnd: fc.integer({ min: 2, max: 400 }).map((segments) => segments * MSS),
    srttMicros: fc.integer({ min: 500, max: 1_000_000 }),
    deliveredBytes: fc.integer({ min: 1, max: 100_000_000 }),
  }),
  { minLength: 2, maxLength: 4 },
);

/** |a - b| within a relative tolerance (floating-point formulas against hand-computed decimals). */
export function assertClose(actual: number, expected: number, relative = 1e-9, message?: string): void {
  const scale = Math.max(Math.abs(expected), 1e-300);
  assert.ok(Math.abs(actual - expected) / scale <= relative, message ?? `${actual} is not within ${relative} of ${expected}`);
}
