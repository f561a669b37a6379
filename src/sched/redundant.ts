/**
 * The "redundant" scheduler ("duplicate bonding", as Zixi calls it; mptcp.org's `redundant`): every chunk
 * goes, as the same DSN range, on every usable subflow, so each path carries the whole stream, the receiver
 * gets the bytes from whichever path delivers first and duplicates are dropped by data-level reassembly.
 * The backup rule is the default scheduler's: backup subflows carry copies only when no non-backup subflow
 * is usable.
 *
 * The primary (`subflowId`) is the subflow with room and the lowest linger time (the likely first arrival);
 * the chunk is bounded by its room only. The copies go on every other eligible subflow, busy ones included:
 * they queue behind what that subflow already holds (the connection writes them into its send queue). The
 * bound on how far a slow path may lag: a subflow whose linger time (what it holds, in flight and queued,
 * over its rate: view.ts `lingerTimeMicros`) exceeds REDUNDANT_MAX_LAG_MICROS gets no copy of this chunk,
 * it is dropped instead of queued, so a slow path never holds more than about that much of the stream and
 * catches up with the live data once it drains. Nothing has room: no decision (the connection waits for an
 * ACK). One pass over the views, plus the list of copies.
 */
import type { SchedulerParams, SchedulerPolicy, SendDecision, SubflowId, SubflowView } from './types.js';
import {
  MPTCP_SEND_BURST_SIZE,
  burstOf,
  compareByLinger,
  eligibilityOf,
  isEligible,
  lingerTimeMicros,
  pendingOf,
  roomBytes,
  selectRetransmitByTiers,
} from './view.js';

/** A copy is dropped for a subflow that already holds more than this much time of data (1 s). */
export const REDUNDANT_MAX_LAG_MICROS = 1_000_000;

/** Creates the "redundant" scheduler. */
export function createRedundantScheduler(params: SchedulerParams = {}): SchedulerPolicy {
  const burstBytes = burstOf(params.burstBytes, MPTCP_SEND_BURST_SIZE);
  return {
    name: 'redundant',
    selectSend(_now, views, pendingBytes): SendDecision | undefined {
      const rule = eligibilityOf(views);
      let primary: SubflowView | undefined;
      for (const v of views) {
        if (!isEligible(v, rule) || roomBytes(v) <= 0) continue;
        if (primary === undefined || compareByLinger(v, primary) < 0) primary = v;
      }
      if (primary === undefined) return undefined;
      const maxBytes = Math.min(burstBytes, pendingOf(pendingBytes), roomBytes(primary));
      if (!(maxBytes >= 1)) return undefined;
      const duplicateOn: SubflowId[] = [];
      for (const v of views) {
        if (v === primary || !isEligible(v, rule)) continue;
        if (lingerTimeMicros(v) > REDUNDANT_MAX_LAG_MICROS) continue;
        duplicateOn.push(v.id);
      }
      return { subflowId: primary.id, maxBytes, duplicateOn };
    },
    selectRetransmit(_now, views, request): SendDecision | undefined {
      return selectRetransmitByTiers(views, request.lostOn, request.pendingBytes, burstBytes);
    },
  };
}
