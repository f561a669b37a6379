/**
 * The "roundrobin" scheduler (after the kernel selftests' bpf_rr and mptcp.org's `roundrobin`): each
 * decision goes to the next subflow, in increasing id order after the last one used, that may send and
 * has room. The backup rule is the default scheduler's. A turn is one MSS of that subflow by default
 * (mptcp.org's `num_segments` = 1), or `burstBytes` when given.
 */
import type { SchedulerParams, SchedulerPolicy, SendDecision, SubflowId } from './types.js';
import {
  MPTCP_SEND_BURST_SIZE,
  burstOf,
  decide,
  eligibleSubflows,
  roomBytes,
  selectRetransmitByTiers,
} from './view.js';

/** Creates the "roundrobin" scheduler. */
export function createRoundRobinScheduler(params: SchedulerParams = {}): SchedulerPolicy {
  const fixedTurn = params.burstBytes === undefined ? undefined : burstOf(params.burstBytes, MPTCP_SEND_BURST_SIZE);
  // The last id used; kept when that subflow is removed, since "the next id after it" is still right.
  let lastId: SubflowId | undefined;
  return {
    name: 'roundrobin',
    selectSend(_now, views, pendingBytes): SendDecision | undefined {
      const candidates = eligibleSubflows(views)
        .filter((v) => roomBytes(v) > 0)
        .sort((a, b) => a.id - b.id);
      const after = lastId;
      const next = (after === undefined ? undefined : candidates.find((v) => v.id > after)) ?? candidates[0];
      if (next === undefined) return undefined;
      const turn = fixedTurn ?? burstOf(next.mss, MPTCP_SEND_BURST_SIZE);
      const decision = decide(next, pendingBytes, turn);
      if (decision !== undefined) lastId = next.id;
      return decision;
    },
    selectRetransmit(_now, views, request): SendDecision | undefined {
      return selectRetransmitByTiers(views, request.lostOn, request.pendingBytes, MPTCP_SEND_BURST_SIZE);
    },
  };
}
