/** fast-check arbitraries for scheduler property tests: subflow views and connection views, sane or not. */
import fc from 'fast-check';
import type { ConnectionView, SubflowView } from '../../src/sched/types.js';

/** Mostly plausible byte counts, sometimes the nonsense a scheduler must survive (NaN, negative, infinite). */
export const byteCount = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 200_000 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1, 1460, -5, Number.NaN, Number.POSITIVE_INFINITY) },
);

export const subflowView = (id: number): fc.Arbitrary<SubflowView> =>
  fc.record(
    {
      id: fc.constant(id),
      established: fc.boolean(),
      backupLocal: fc.boolean(),
      backupPeer: fc.boolean(),
      srttMicros: fc.option(fc.integer({ min: 0, max: 2_000_000 }), { nil: undefined }),
      rttvarMicros: fc.option(fc.oneof(fc.integer({ min: 0, max: 1_000_000 }), fc.constant(Number.NaN)), {
        nil: undefined,
      }),
      cwndBytes: byteCount,
      bytesInFlight: byteCount,
      sendWindowBytes: byteCount,
      mss: fc.integer({ min: 0, max: 9000 }),
      pacingRateBytesPerSecond: fc.option(fc.oneof(fc.integer({ min: 0, max: 1e9 }), fc.constant(Number.NaN)), {
        nil: undefined,
      }),
      queuedBytes: byteCount,
      stale: fc.boolean(),
      family: fc.constantFrom(4 as const, 6 as const),
    },
    { requiredKeys: ['id', 'established', 'backupLocal', 'backupPeer', 'srttMicros', 'cwndBytes', 'bytesInFlight', 'sendWindowBytes', 'mss', 'queuedBytes', 'stale', 'family'] },
  );

/** Up to six views with distinct ids in 0..20. */
export const subflowViews: fc.Arbitrary<SubflowView[]> = fc
  .uniqueArray(fc.integer({ min: 0, max: 20 }), { maxLength: 6 })
  .chain((ids) => fc.tuple(...ids.map(subflowView)));

/** A connection view, or none (today's callers pass none). */
export const connectionView: fc.Arbitrary<ConnectionView | undefined> = fc.option(
  fc.record(
    {
      sendWindowBytes: fc.oneof(byteCount, fc.constant(Number.POSITIVE_INFINITY)),
      outstandingBytes: byteCount,
      unsentBytes: byteCount,
      sendWindowBlockedCount: fc.integer({ min: 0, max: 3 }),
    },
    { requiredKeys: ['sendWindowBytes', 'outstandingBytes', 'unsentBytes'] },
  ),
  { nil: undefined },
);

/** 1 in `n` chances of true. */
const oneIn = (n: number): fc.Arbitrary<boolean> => fc.integer({ min: 1, max: n }).map((x) => x === 1);

/**
 * A subflow as a running connection would describe it (mostly established, in flight within the window,
 * SRTT 1 to 300 ms, MSS 1460), so that properties reach the interesting branches (a full fast path, a
 * slow path with room) far more often than with arbitrary numbers.
 */
export const plausibleSubflowView = (id: number): fc.Arbitrary<SubflowView> =>
  fc
    .record({
      established: oneIn(10).map((b) => !b),
      backupLocal: oneIn(8),
      backupPeer: oneIn(8),
      stale: oneIn(8),
      srttMicros: fc.option(fc.integer({ min: 1_000, max: 300_000 }), { nil: undefined, freq: 10 }),
      rttvarMicros: fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: undefined }),
      cwndSegments: fc.integer({ min: 1, max: 100 }),
      inFlightPercent: fc.oneof(fc.constant(100), fc.integer({ min: 0, max: 100 })),
      queuedSegments: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 20 })),
      peerWindowSegments: fc.integer({ min: 0, max: 200 }),
    })
    .map((r) => {
      const cwndBytes = r.cwndSegments * 1460;
      const bytesInFlight = Math.floor((cwndBytes * r.inFlightPercent) / 100);
      return {
        id,
        established: r.established,
        backupLocal: r.backupLocal,
        backupPeer: r.backupPeer,
        srttMicros: r.srttMicros,
        ...(r.rttvarMicros === undefined ? {} : { rttvarMicros: r.rttvarMicros }),
        cwndBytes,
        bytesInFlight,
        sendWindowBytes: r.peerWindowSegments * 1460,
        mss: 1460,
        queuedBytes: r.queuedSegments * 1460,
        stale: r.stale,
        family: 4 as const,
      };
    });

/** Arbitrary or plausible views, half and half. */
export const anySubflowViews: fc.Arbitrary<SubflowView[]> = fc.oneof(
  subflowViews,
  fc.uniqueArray(fc.integer({ min: 0, max: 20 }), { maxLength: 5 }).chain((ids) => fc.tuple(...ids.map(plausibleSubflowView))),
);
