/**
 * The "redundant" scheduler ("duplicate bonding", as Zixi calls it; mptcp.org's `redundant`): every chunk
 * goes, as the same DSN range, on every usable subflow that has room, so the receiver gets the bytes from
 * whichever path delivers first and duplicates are dropped by data-level reassembly. The backup rule is the
 * default scheduler's: backup subflows carry copies only when no non-backup subflow is usable.
 *
 * Best effort, never stalling: a subflow without room when a chunk is scheduled does not get that chunk
 * (the others still carry it). A chunk is bounded by the smallest room among the chosen subflows, so each
 * copy fits its subflow. The primary (`subflowId`) is the lowest linger time, i.e. the likely first arrival.
 */
import type { SchedulerParams, SchedulerPolicy, SendDecision } from './types.js';
import {
  MPTCP_SEND_BURST_SIZE,
  burstOf,
  compareByLinger,
  eligibleSubflows,
  pendingOf,
  roomBytes,
  selectRetransmitByTiers,
} from './view.js';

/** Creates the "redundant" scheduler. */
export function createRedundantScheduler(params: SchedulerParams = {}): SchedulerPolicy {
  const burstBytes = burstOf(params.burstBytes, MPTCP_SEND_BURST_SIZE);
  return {
    name: 'redundant',
    selectSend(_now, views, pendingBytes): SendDecision | undefined {
      const chosen = eligibleSubflows(views)
        .filter((v) => roomBytes(v) > 0)
        .sort(compareByLinger);
      const primary = chosen[0];
      if (primary === undefined) return undefined;
      const maxBytes = Math.min(burstBytes, pendingOf(pendingBytes), ...chosen.map(roomBytes));
      if (!(maxBytes >= 1)) return undefined;
      return { subflowId: primary.id, maxBytes, duplicateOn: chosen.slice(1).map((v) => v.id) };
    },
    selectRetransmit(_now, views, request): SendDecision | undefined {
      return selectRetransmitByTiers(views, request.lostOn, request.pendingBytes, burstBytes);
    },
  };
}
