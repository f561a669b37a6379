/**
 * The "default" scheduler: Linux's (net/mptcp/protocol.c `mptcp_subflow_get_send`, registered as "default"
 * in net/mptcp/sched.c). Among usable subflows that respect the backup rule (RFC 8684 section 3.3.8: backup
 * subflows only when no non-backup subflow is usable), it picks the one with room whose queued bytes drain
 * soonest (lowest "linger time" = bytes on the subflow / its rate; with nothing queued, the lowest RTT), and
 * hands it a burst of at most `MPTCP_SEND_BURST_SIZE` bytes.
 *
 * Two deliberate differences from the kernel: the kernel picks the lowest linger time first and then waits
 * if that subflow has no send-buffer space, while here subflows without room are skipped (our room is the
 * congestion and peer windows, which the kernel's buffer space only approximates); and ties (all idle) go
 * to the lowest SRTT rather than to the first subflow in the list.
 */
import type { SchedulerParams, SchedulerPolicy, SendDecision, SubflowView } from './types.js';
import {
  MPTCP_SEND_BURST_SIZE,
  burstOf,
  compareByLinger,
  decide,
  eligibleSubflows,
  roomBytes,
  selectRetransmitByTiers,
} from './view.js';

/** Creates the "default" scheduler. */
export function createDefaultScheduler(params: SchedulerParams = {}): SchedulerPolicy {
  const burstBytes = burstOf(params.burstBytes, MPTCP_SEND_BURST_SIZE);
  return {
    name: 'default',
    selectSend(_now, views, pendingBytes): SendDecision | undefined {
      let best: SubflowView | undefined;
      for (const view of eligibleSubflows(views)) {
        if (roomBytes(view) <= 0) continue;
        if (best === undefined || compareByLinger(view, best) < 0) best = view;
      }
      return best === undefined ? undefined : decide(best, pendingBytes, burstBytes);
    },
    selectRetransmit(_now, views, request): SendDecision | undefined {
      return selectRetransmitByTiers(views, request.lostOn, request.pendingBytes, burstBytes);
    },
  };
}
