/**
 * Shared reading of `SubflowView`s: room, usability, the backup rule and the "linger time" ranking of Linux's
 * default scheduler (net/mptcp/protocol.c `mptcp_subflow_get_send`). Every scheduler applies the same rules,
 * so the property "the choice is established, has room and respects the backup rule" holds for all of them.
 * Defensive on purpose: a view with NaN, negative or infinite numbers yields no room, never an exception.
 */
import type { SendDecision, SubflowId, SubflowView } from './types.js';

/** Linux `MPTCP_SEND_BURST_SIZE`: the most new bytes the default scheduler gives one subflow at a time. */
export const MPTCP_SEND_BURST_SIZE = 65_536;

/** The SRTT assumed before a subflow has an RTT sample (RFC 6298 section 2.1: initial RTO of 1 s). */
export const UNKNOWN_SRTT_MICROS = 1_000_000;

const NO_DUPLICATES: readonly SubflowId[] = Object.freeze([]);

/** A non-negative finite number, or 0 (NaN, negatives and infinities count as nothing). */
export function nonNegative(value: number | undefined): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : 0;
}

/** Either end marked the subflow backup (Linux: `subflow->backup || subflow->request_bkup`). */
export function isBackup(view: SubflowView): boolean {
  return view.backupLocal || view.backupPeer;
}

/**
 * New bytes the subflow can take now: what both the congestion window and the peer's window still allow,
 * less what is already queued on it. Integer, >= 0.
 *
 * The congestion window's part counts whole segments of `mss` (when the view has one): a subflow's TCP
 * sends a short segment whenever its data ends short of a segment, so handing it exactly cwnd - in flight
 * bytes made it fill every window with a runt segment per ACK (a TCP with a full send buffer sends only full
 * segments and leaves the remainder of cwnd unused, as Linux's packet-counted cwnd does). The peer's window
 * stays in bytes: the TCP's own sender-side SWS avoidance decides about a window smaller than a segment.
 */
export function roomBytes(view: SubflowView): number {
  const queued = nonNegative(view.queuedBytes);
  let cwndRoom = nonNegative(view.cwndBytes) - nonNegative(view.bytesInFlight) - queued;
  const mss = nonNegative(view.mss);
  if (mss >= 1 && cwndRoom > 0) cwndRoom = Math.floor(cwndRoom / mss) * mss;
  const room = Math.min(cwndRoom, nonNegative(view.sendWindowBytes) - queued);
  return room > 0 ? Math.floor(room) : 0;
}

/**
 * The subflows that may carry data at all, ignoring room: established and not stale. Linux marks a
 * subflow stale only while another one works (`mptcp_pm_subflows_chk_stale`), so when every established
 * subflow is stale they are all considered again rather than stalling the connection.
 */
export function usableSubflows(views: readonly SubflowView[]): SubflowView[] {
  const established = views.filter((v) => v.established === true);
  const fresh = established.filter((v) => !v.stale);
  return fresh.length > 0 ? fresh : established;
}

/**
 * RFC 8684 section 3.3.8 as Linux applies it: backup subflows are candidates only when no usable
 * non-backup subflow exists. A non-backup subflow that is merely out of room makes the connection wait
 * rather than spill onto a backup path (so a backup carries nothing while the active path works).
 */
export function eligibleSubflows(views: readonly SubflowView[]): SubflowView[] {
  const usable = usableSubflows(views);
  const active = usable.filter((v) => !isBackup(v));
  return active.length > 0 ? active : usable;
}

/**
 * The rule `usableSubflows` / `eligibleSubflows` apply, found in one pass without allocating (for schedulers
 * whose decisions must not allocate): bit `SKIP_STALE` when some established subflow is not stale, bit
 * `SKIP_BACKUP` when some usable subflow is not backup. Read it with `isUsable` / `isEligible`.
 */
export type EligibilityRule = number;
const SKIP_STALE = 1;
const SKIP_BACKUP = 2;

/** One pass over `views`: which of them the shared usability and backup rules leave out. */
export function eligibilityOf(views: readonly SubflowView[]): EligibilityRule {
  let fresh = false;
  let freshActive = false;
  let staleActive = false;
  for (const view of views) {
    if (view.established !== true) continue;
    if (!view.stale) {
      fresh = true;
      if (!isBackup(view)) freshActive = true;
    } else if (!isBackup(view)) {
      staleActive = true;
    }
  }
  // With a fresh subflow the stale ones are out, so only fresh non-backup ones count as "active".
  const activeExists = fresh ? freshActive : staleActive;
  return (fresh ? SKIP_STALE : 0) | (activeExists ? SKIP_BACKUP : 0);
}

/** `view` is one of `usableSubflows(views)`, given `rule = eligibilityOf(views)`. */
export function isUsable(view: SubflowView, rule: EligibilityRule): boolean {
  return view.established === true && !((rule & SKIP_STALE) !== 0 && view.stale);
}

/** `view` is one of `eligibleSubflows(views)`, given `rule = eligibilityOf(views)`. */
export function isEligible(view: SubflowView, rule: EligibilityRule): boolean {
  return isUsable(view, rule) && !((rule & SKIP_BACKUP) !== 0 && isBackup(view));
}

/** The SRTT used for ranking, with `UNKNOWN_SRTT_MICROS` standing in for a missing sample. */
export function rankingSrttMicros(view: SubflowView): number {
  const srtt = nonNegative(view.srttMicros);
  return srtt > 0 ? srtt : UNKNOWN_SRTT_MICROS;
}

/**
 * Linux's "linger time": how long the bytes already on the subflow (in flight and queued, the kernel's
 * `sk_wmem_queued`) take to drain at its rate, in microseconds. The rate is the pacing rate when known,
 * else the window per round trip (cwnd / srtt). Lower is better; a subflow with no rate lingers forever.
 */
export function lingerTimeMicros(view: SubflowView): number {
  const queued = nonNegative(view.bytesInFlight) + nonNegative(view.queuedBytes);
  const pacing = nonNegative(view.pacingRateBytesPerSecond);
  const bytesPerMicro = pacing > 0 ? pacing / 1e6 : nonNegative(view.cwndBytes) / rankingSrttMicros(view);
  if (bytesPerMicro <= 0) return Number.POSITIVE_INFINITY;
  return queued / bytesPerMicro;
}

/** Orders subflows by linger time, then SRTT, then id (so idle subflows go to the lowest RTT first). */
export function compareByLinger(a: SubflowView, b: SubflowView): number {
  const linger = lingerTimeMicros(a) - lingerTimeMicros(b);
  if (linger !== 0 && !Number.isNaN(linger)) return linger < 0 ? -1 : 1;
  const srtt = rankingSrttMicros(a) - rankingSrttMicros(b);
  if (srtt !== 0) return srtt < 0 ? -1 : 1;
  return a.id - b.id;
}

/** Orders subflows by SRTT (unknown = `UNKNOWN_SRTT_MICROS`), then id: the MinRTT ranking BLEST and ECF build on. */
export function compareBySrtt(a: SubflowView, b: SubflowView): number {
  const srtt = rankingSrttMicros(a) - rankingSrttMicros(b);
  if (srtt !== 0) return srtt < 0 ? -1 : 1;
  return a.id - b.id;
}

/**
 * The eligible subflow with the lowest SRTT (`compareBySrtt`); with `withRoom`, only among those with
 * room. One pass, no allocation. `rule` is `eligibilityOf(views)`.
 */
export function lowestSrttEligible(
  views: readonly SubflowView[],
  rule: EligibilityRule,
  withRoom: boolean,
): SubflowView | undefined {
  let best: SubflowView | undefined;
  for (const view of views) {
    if (!isEligible(view, rule)) continue;
    if (withRoom && roomBytes(view) <= 0) continue;
    if (best === undefined || compareBySrtt(view, best) < 0) best = view;
  }
  return best;
}

/** The usable byte count of a request: a non-negative integer, or Infinity for "unbounded". */
export function pendingOf(pendingBytes: number): number {
  if (pendingBytes === Number.POSITIVE_INFINITY) return pendingBytes;
  return Math.floor(nonNegative(pendingBytes));
}

/** The burst limit from a parameter, falling back to `fallback` for missing or nonsensical values. */
export function burstOf(burstBytes: number | undefined, fallback: number): number {
  const burst = Math.floor(nonNegative(burstBytes));
  return burst >= 1 ? burst : fallback;
}

/**
 * A single-subflow decision of min(room, burst, pending, limit) bytes (`limitBytes` rounded down; none by
 * default); undefined when that is 0.
 */
export function decide(
  view: SubflowView,
  pendingBytes: number,
  burstBytes: number,
  limitBytes: number = Number.POSITIVE_INFINITY,
): SendDecision | undefined {
  const maxBytes = Math.min(roomBytes(view), burstBytes, pendingOf(pendingBytes), Math.floor(limitBytes));
  if (!(maxBytes >= 1)) return undefined;
  return { subflowId: view.id, maxBytes, duplicateOn: NO_DUPLICATES };
}

/**
 * The reinjection choice shared by the built-in schedulers (after Linux `mptcp_subflow_get_retrans`, which
 * prefers an idle non-backup subflow): among subflows with room, first non-backup ones other than `lostOn`,
 * then backup ones other than `lostOn`, then `lostOn` itself; within a tier the lowest linger time.
 */
export function selectRetransmitByTiers(
  views: readonly SubflowView[],
  lostOn: SubflowId | undefined,
  pendingBytes: number,
  burstBytes: number,
): SendDecision | undefined {
  const withRoom = usableSubflows(views).filter((v) => roomBytes(v) > 0);
  const others = withRoom.filter((v) => v.id !== lostOn);
  const tiers = [
    others.filter((v) => !isBackup(v)),
    others.filter((v) => isBackup(v)),
    withRoom.filter((v) => v.id === lostOn),
  ];
  for (const tier of tiers) {
    const best = tier.sort(compareByLinger)[0];
    if (best !== undefined) return decide(best, pendingBytes, burstBytes);
  }
  return undefined;
}

/**
 * `selectRetransmitByTiers`'s choice of subflow, in one pass without allocating: among usable subflows with
 * room, the best tier (non-backup other than `lostOn`, then backup other than `lostOn`, then `lostOn`
 * itself), and within a tier the lowest linger time (`compareByLinger`, a total order, so the first of a
 * sort and the minimum of a scan agree).
 */
export function retransmitTarget(
  views: readonly SubflowView[],
  lostOn: SubflowId | undefined,
): SubflowView | undefined {
  const rule = eligibilityOf(views);
  let best: SubflowView | undefined;
  let bestTier = 3;
  for (const view of views) {
    if (!isUsable(view, rule) || roomBytes(view) <= 0) continue;
    const tier = view.id === lostOn ? 2 : isBackup(view) ? 1 : 0;
    if (tier < bestTier || (tier === bestTier && best !== undefined && compareByLinger(view, best) < 0)) {
      best = view;
      bestTier = tier;
    }
  }
  return best;
}
