/**
 * The coupling between the congestion controllers of one MPTCP connection's subflows: what LIA, OLIA and BALIA
 * (src/cc/lia.ts, olia.ts, balia.ts) need to see of their siblings.
 *
 * Read before working on this file:
 * - RFC 6356 section 3, equations (1) and (2): the sums over subflows (cwnd_total, sum cwnd_i/rtt_i,
 *   max cwnd_i/rtt_i^2) and "rtt_i ... the smoothed round-trip time" of each subflow;
 * - RFC 6356 section 4: alpha need not be computed on every ACK, only when the windows it is made of change;
 *   and "use the ssthresh ... for flows in fast retransmit when computing cwnd_total" (our controllers keep
 *   cwnd at ssthresh during recovery, the sender does any inflation, so a member's cwnd is already right);
 * - Khalili et al. (OLIA): the set M of paths with the largest window and the set B of presumably best paths,
 *   ranked by l_r / rtt_r^2 (l_r: bytes delivered between losses), as Linux's mptcp_olia.c ranks them;
 * - Linux (multipath-tcp/mptcp) mptcp_sk_can_send() && srtt: only subflows that can send and have an RTT
 *   estimate count in the sums.
 *
 * Shape. The MPTCP connection creates one `CoupledGroup` per connection and, for each subflow, a `CoupledSubflow` slot
 * with `group.join()` before the subflow's TCP connection (and so its controller) exists; the slot travels to the
 * controller in `CongestionControlParams.coupling`. The controller claims it (`attach`) and publishes its window,
 * SRTT, MSS, recovery flag and loss history after every event (`publish`). The connection's part:
 * - subflow added (SYN or MP_JOIN about to go out, or accepted): `slot = group.join()`, pass `slot` to the controller;
 * - subflow established: nothing to call; the slot counts once its controller has an SRTT (from the first ACK
 *   the sender reports to it), so a subflow still in its handshake never enters the sums;
 * - subflow unable to send for a while (FIN sent, or the path "potentially failed"): `slot.setCanSend(false)`, and
 *   `setCanSend(true)` when it recovers (Linux mptcp_sk_can_send);
 * - subflow closed (reset, timeout, FIN exchange done, path removed): `slot.leave()`; it leaves for good.
 * A controller that is not coupled (reno, cubic) ignores the slot, which then never counts.
 *
 * Cost. Every publish that changes something bumps the group's `version`. The aggregates are recomputed
 * lazily, in one O(number of subflows) pass over a plain array, the first time one is read after a change,
 * and cached until the next change: per-ACK work is O(subflows) at most and allocates nothing. This is
 * "recompute on change" (Linux's mptcp_ccc_recalc_alpha runs whenever a window changes), with the SRTT of the
 * latest ACK rather than the one seen at the last window change.
 *
 * No allocation also means no boxed numbers: V8 boxes a non-integer number returned from a call it did not
 * inline (a HeapNumber, 16 bytes), and whether it inlines depends on a budget. So the real-valued aggregates
 * live in one Float64Array, `sums` (indexed by `COUPLED_SUM`), which the controllers read element by element;
 * every other accessor on the per-ACK path returns an integer, a boolean or an object. The getters named like
 * the sums (`rateSum`, ...) are for tests and diagnostics.
 */

/** Where each real-valued aggregate sits in `CoupledGroup.sums`. All rates are bytes per microsecond. */
export const COUPLED_SUM = {
  /** sum_i cwnd_i / rtt_i (RFC 6356 equation (2)'s denominator before squaring; BALIA's sum of x_k). */
  rateSum: 0,
  /** max_i cwnd_i / rtt_i (BALIA's max_k x_k). */
  maxRate: 1,
  /** max_i cwnd_i / rtt_i^2 (RFC 6356 equation (2)'s numerator, without cwnd_total). */
  maxCwndOverSrttSquared: 2,
  /** The best l_r / rtt_r^2 (OLIA's B is the members with exactly this value); 0 without usable members. */
  bestInterLossMetric: 3,
} as const;
const COUPLED_SUM_COUNT = 4;

/** Set by CoupledGroup's static block: lets slots reach their group's private state. */
let touchGroup: (group: CoupledGroup) => void;
let removeFromGroup: (group: CoupledGroup, member: CoupledSubflow) => void;

/**
 * One subflow's place in its connection's group: the values its controller publishes (read by its siblings'
 * controllers through the group) and the lifecycle the connection drives.
 */
export class CoupledSubflow {
  /** The group this slot belongs to. */
  readonly group: CoupledGroup;
  #controllerName: string | undefined = undefined;
  #cwnd = 0;
  #srttMicros = 0;
  #mss = 0;
  #inRecovery = false;
  #interLossBytes = 0;
  #canSend = true;
  #left = false;

  /** Use `group.join()`. */
  constructor(group: CoupledGroup) {
    this.group = group;
  }

  /** Name of the controller that claimed this slot, if any. */
  get controllerName(): string | undefined {
    return this.#controllerName;
  }
  /** Congestion window in bytes, as last published (at ssthresh during recovery). */
  get cwnd(): number {
    return this.#cwnd;
  }
  /** Smoothed RTT in microseconds as last published; 0 before the first sample. */
  get srttMicros(): number {
    return this.#srttMicros;
  }
  /** The subflow's sender MSS in bytes. */
  get mss(): number {
    return this.#mss;
  }
  /** Between a congestion event and the end of its recovery. */
  get inRecovery(): boolean {
    return this.#inRecovery;
  }
  /**
   * OLIA's l_r: bytes delivered between the last two losses, or since the last loss if that is more
   * (max(l1r, l2r)); before any loss, everything delivered so far.
   */
  get interLossBytes(): number {
    return this.#interLossBytes;
  }
  /**
   * OLIA's path quality l_r / rtt_r^2 (bytes per µs²); the group ranks the best paths B by it. It is exactly
   * `interLossBytes / (srttMicros * srttMicros)`, which per-ACK code computes inline (the same operations give
   * the same double, and an inline division returns nothing boxed).
   */
  get interLossMetric(): number {
    const srtt = this.#srttMicros;
    return this.#interLossBytes / (srtt * srtt);
  }
  /** The subflow is a member that can send: claimed by a controller, not left, not marked unable to send. */
  get established(): boolean {
    return this.#controllerName !== undefined && !this.#left && this.#canSend;
  }
  /** Counts in the group's sums: established, with an RTT estimate and a window. */
  get usable(): boolean {
    return this.established && this.#srttMicros > 0 && this.#cwnd > 0;
  }
  /** The connection ended this membership with `leave()`. */
  get left(): boolean {
    return this.#left;
  }

  /** Controller side: claims the slot (once, at the controller's creation). Throws if already claimed or left. */
  attach(controllerName: string): void {
    if (this.#left) throw new Error('coupled subflow: attach after leave');
    if (this.#controllerName !== undefined) {
      throw new Error(`coupled subflow already belongs to a "${this.#controllerName}" controller`);
    }
    this.#controllerName = controllerName;
    touchGroup(this.group);
  }

  /** Controller side: the current values. The group's aggregates are invalidated only if one changed. */
  publish(cwnd: number, srttMicros: number, mss: number, inRecovery: boolean, interLossBytes: number): void {
    if (
      cwnd === this.#cwnd &&
      srttMicros === this.#srttMicros &&
      mss === this.#mss &&
      inRecovery === this.#inRecovery &&
      interLossBytes === this.#interLossBytes
    ) {
      return;
    }
    this.#cwnd = cwnd;
    this.#srttMicros = srttMicros;
    this.#mss = mss;
    this.#inRecovery = inRecovery;
    this.#interLossBytes = interLossBytes;
    if (!this.#left) touchGroup(this.group);
  }

  /**
   * Connection side: whether the subflow can send (Linux mptcp_sk_can_send: established or close-wait, and not
   * "potentially failed"). Default true; a subflow that cannot send drops out of the sums until set back.
   */
  setCanSend(canSend: boolean): void {
    if (canSend === this.#canSend) return;
    this.#canSend = canSend;
    if (!this.#left) touchGroup(this.group);
  }

  /** Connection side: the subflow is closed; it leaves the group for good. Idempotent. */
  leave(): void {
    if (this.#left) return;
    this.#left = true;
    removeFromGroup(this.group, this);
  }
}

/**
 * The coupled subflows of one MPTCP connection and the sums over the usable ones (see the file comment).
 * All rates are bytes per microsecond (cwnd / SRTT); only ratios of them enter the formulas. Integer
 * aggregates are getters; the real-valued ones are `sums` (and, off the per-ACK path, getters of their own).
 */
export class CoupledGroup {
  readonly #members: CoupledSubflow[] = [];
  #version = 0;
  #computedVersion = -1;
  #usableCount = 0;
  #cwndTotal = 0;
  #maxCwnd = 0;
  #maxCwndCount = 0;
  #bestNotMaxCwndCount = 0;
  readonly #sums = new Float64Array(COUPLED_SUM_COUNT);

  static {
    touchGroup = (group) => {
      group.#version++;
    };
    removeFromGroup = (group, member) => {
      const members = group.#members;
      const index = members.indexOf(member);
      if (index >= 0) {
        for (let i = index + 1; i < members.length; i++) members[i - 1] = members[i]!;
        members.length--;
      }
      group.#version++;
    };
  }

  /** A slot for a new subflow; hand it to the subflow's controller in `CongestionControlParams.coupling`. */
  join(): CoupledSubflow {
    const member = new CoupledSubflow(this);
    this.#members.push(member);
    this.#version++;
    return member;
  }

  /** The members that have not left, in join order (usable or not). */
  get members(): readonly CoupledSubflow[] {
    return this.#members;
  }

  /** Incremented on every change a formula could see; equal versions mean equal aggregates. */
  get version(): number {
    return this.#version;
  }

  /** Number of usable members (RFC 6356's subflows, OLIA's |R|). */
  get usableCount(): number {
    this.#refresh();
    return this.#usableCount;
  }
  /** RFC 6356 cwnd_total: sum of the usable members' windows, bytes. */
  get cwndTotal(): number {
    this.#refresh();
    return this.#cwndTotal;
  }
  /**
   * The real-valued aggregates, indexed by `COUPLED_SUM`, up to date with every publish; one array for the
   * group's life (read its elements, do not keep copies across events, never write them).
   */
  get sums(): Readonly<Float64Array> {
    this.#refresh();
    return this.#sums;
  }
  /** `sums[COUPLED_SUM.rateSum]`: sum_i cwnd_i / rtt_i. */
  get rateSum(): number {
    return this.sums[COUPLED_SUM.rateSum]!;
  }
  /** `sums[COUPLED_SUM.maxRate]`: max_i cwnd_i / rtt_i. */
  get maxRate(): number {
    return this.sums[COUPLED_SUM.maxRate]!;
  }
  /** `sums[COUPLED_SUM.maxCwndOverSrttSquared]`: max_i cwnd_i / rtt_i^2. */
  get maxCwndOverSrttSquared(): number {
    return this.sums[COUPLED_SUM.maxCwndOverSrttSquared]!;
  }
  /** The largest window among usable members, bytes (OLIA's M is the members with exactly this window). */
  get maxCwnd(): number {
    this.#refresh();
    return this.#maxCwnd;
  }
  /** |M|: usable members whose window equals `maxCwnd`. */
  get maxCwndCount(): number {
    this.#refresh();
    return this.#maxCwndCount;
  }
  /** `sums[COUPLED_SUM.bestInterLossMetric]`: the best `interLossMetric` among usable members (OLIA's B). */
  get bestInterLossMetric(): number {
    return this.sums[COUPLED_SUM.bestInterLossMetric]!;
  }
  /** |B \ M|: usable members with the best metric and a window below `maxCwnd`. */
  get bestNotMaxCwndCount(): number {
    this.#refresh();
    return this.#bestNotMaxCwndCount;
  }

  /** One pass for the sums and maxima, one for the set sizes; only after a change. No allocation. */
  #refresh(): void {
    if (this.#computedVersion === this.#version) return;
    this.#computedVersion = this.#version;
    const members = this.#members;
    let count = 0;
    let cwndTotal = 0;
    let rateSum = 0;
    let maxRate = 0;
    let maxCwndOverSrttSquared = 0;
    let maxCwnd = 0;
    let bestMetric = -Infinity;
    for (let i = 0; i < members.length; i++) {
      const member = members[i]!;
      if (!member.usable) continue;
      const cwnd = member.cwnd;
      const srtt = member.srttMicros;
      const rate = cwnd / srtt;
      count++;
      cwndTotal += cwnd;
      rateSum += rate;
      if (rate > maxRate) maxRate = rate;
      const overSquared = rate / srtt;
      if (overSquared > maxCwndOverSrttSquared) maxCwndOverSrttSquared = overSquared;
      if (cwnd > maxCwnd) maxCwnd = cwnd;
      const metric = member.interLossBytes / (srtt * srtt); // interLossMetric, inline: no boxed return
      if (metric > bestMetric) bestMetric = metric;
    }
    let maxCwndCount = 0;
    let bestNotMaxCwndCount = 0;
    for (let i = 0; i < members.length; i++) {
      const member = members[i]!;
      if (!member.usable) continue;
      if (member.cwnd === maxCwnd) {
        maxCwndCount++;
      } else {
        const srtt = member.srttMicros;
        if (member.interLossBytes / (srtt * srtt) === bestMetric) bestNotMaxCwndCount++;
      }
    }
    this.#usableCount = count;
    this.#cwndTotal = cwndTotal;
    this.#maxCwnd = maxCwnd;
    this.#maxCwndCount = maxCwndCount;
    this.#bestNotMaxCwndCount = bestNotMaxCwndCount;
    const sums = this.#sums;
    sums[COUPLED_SUM.rateSum] = rateSum;
    sums[COUPLED_SUM.maxRate] = maxRate;
    sums[COUPLED_SUM.maxCwndOverSrttSquared] = maxCwndOverSrttSquared;
    sums[COUPLED_SUM.bestInterLossMetric] = count > 0 ? bestMetric : 0;
  }
}
