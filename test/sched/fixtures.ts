/** Views for scheduler tests: an idle, established, non-backup IPv4 subflow unless overridden, and a connection. */
import type { ConnectionView, SubflowView } from '../../src/sched/types.js';

export const MSS = 1460;

/** An idle established subflow with 10 segments of cwnd, a 64 KiB peer window and a 10 ms SRTT. */
export function view(id: number, overrides: Partial<SubflowView> = {}): SubflowView {
  return {
    id,
    established: true,
    backupLocal: false,
    backupPeer: false,
    srttMicros: 10_000,
    cwndBytes: 10 * MSS,
    bytesInFlight: 0,
    sendWindowBytes: 65_535,
    mss: MSS,
    queuedBytes: 0,
    stale: false,
    family: 4,
    ...overrides,
  };
}

/** A connection view: a 64-segment window, nothing outstanding, plenty unsent, no window blocking yet. */
export function connection(overrides: Partial<ConnectionView> = {}): ConnectionView {
  return {
    sendWindowBytes: 64 * MSS,
    outstandingBytes: 0,
    unsentBytes: 10_000_000,
    sendWindowBlockedCount: 0,
    ...overrides,
  };
}
