/**
 * Data-level recovery of one MPTCP connection: stale-subflow detection and the probing of a stale
 * subflow's path, the data-level retransmission timer, and the reinjection queue (data a dead or stale
 * subflow held, sent again on another subflow).
 *
 * Read first: RFC 8684 3.3.6 ("reinjection": data "MAY be retransmitted on another subflow"; the sender
 * keeps it until DATA_ACKed); Linux net/mptcp/pm.c `mptcp_pm_subflows_chk_stale` (net.mptcp.stale_loss_cnt),
 * protocol.c `mptcp_reset_rtx_timer`, `mptcp_retransmit_timer`, `__mptcp_retrans`,
 * `__mptcp_retransmit_pending_data` and `mptcp_subflow_get_retrans`.
 *
 * Offsets are data offsets (./dsn.ts). The timer lives in the connection's table (timers.ts).
 */
import type { Micros } from '../time/micros.js';
import type { Scheduler, SubflowView } from '../sched/types.js';
import type { ConnectionContext } from './context.js';
import { isMptcp } from './context.js';
import type { Subflow } from './subflow.js';
import { MptcpTimer } from './timers.js';

/**
 * Linux net.mptcp.stale_loss_cnt (default 4): a subflow is stale after more than this many retransmission
 * intervals without progress (here: of its own RTO without backoff; see `checkStale`).
 */
export const STALE_LOSS_CNT = 4;
/**
 * A stale subflow's path is probed this often (or every RTO without backoff, if longer): its first
 * unacknowledged segment is resent, outside its congestion window and its RTO backoff, so that the
 * connection sees the path return within this much (mptcp_net-next #348, #581) instead of at the next
 * backed-off RTO (6.4 s after a 10 s outage with a 200 ms RTO). One segment per probe: about 24 kbit/s on
 * a dead path.
 */
export const STALE_PROBE_INTERVAL: Micros = 500_000;
/** Data-level retransmission (Linux `mptcp_retransmit_timer`): at most this much reinjected per expiry. */
export const DATA_RTX_CHUNK = 64 * 1024;
export const DATA_RTX_MIN: Micros = 200_000;
export const DATA_RTX_MAX: Micros = 60_000_000;

/** A data range to send again, and the subflow it was lost on. */
interface Reinjection {
  start: number;
  end: number;
  readonly lostOn: number;
}

/** Stale detection, the data-level timer and reinjection (see the file comment). */
export class Retransmit {
  readonly #ctx: ConnectionContext;
  /** Data ranges to reinject (from subflows that died or went stale), by start. */
  readonly #reinject: Reinjection[] = [];
  /** Exponential backoff of the data-level timer (reset by DATA_ACK progress). */
  #backoff = 1;

  constructor(ctx: ConnectionContext) {
    this.#ctx = ctx;
  }

  /** Ranges wait for reinjection. */
  get pending(): boolean {
    return this.#reinject.length > 0;
  }

  /** The queue as text (diagnostics). */
  describe(): string {
    return this.#reinject.map((r) => `${r.start}-${r.end}@${r.lostOn}`).join(' ');
  }

  /** A DATA_ACK moved: the timer restarts from its base. */
  dataAcked(): void {
    this.#ctx.timers.stop(MptcpTimer.Retransmit);
    this.#backoff = 1;
  }

  /**
   * The subflow's data not acknowledged at the data level (and at or beyond data offset `from`) goes to the
   * reinjection queue. A subflow that lives on (stale) keeps its mappings: its own retransmissions still
   * need them.
   */
  reinjectUnacked(sf: Subflow, keepMaps: boolean, from = 0): void {
    const ctx = this.#ctx;
    if (!isMptcp(ctx.state)) return;
    const acked = Math.max(ctx.send.acked, from);
    for (const m of sf.send.maps) {
      const end = m.dataOffset + m.length;
      if (end <= acked) continue;
      this.#reinject.push({ start: Math.max(m.dataOffset, acked), end, lostOn: sf.id });
    }
    if (!keepMaps) sf.send.maps.length = 0;
    this.#reinject.sort((a, b) => a.start - b.start);
  }

  /**
   * The scheduler's turn for reinjections (before new data): each queued range, trimmed to the DATA_ACK,
   * goes to the subflow the scheduler picks. `live()` gives the scheduler's view, `changed()` tells the
   * caller a subflow took bytes (its view is stale). Returns false when the scheduler stopped (no subflow
   * or no room): no new data this turn either.
   */
  push(now: Micros, scheduler: Scheduler, live: () => SubflowView[], changed: () => void): boolean {
    const ctx = this.#ctx;
    const send = ctx.send;
    while (this.#reinject.length > 0) {
      const r = this.#reinject[0]!;
      if (r.end <= send.acked) {
        this.#reinject.shift();
        continue;
      }
      if (r.start < send.acked) r.start = send.acked;
      const d = scheduler.selectRetransmit(now, live(), { lostOn: r.lostOn, pendingBytes: r.end - r.start });
      if (d === undefined) return false;
      const s = ctx.subflows.find((x) => x.id === d.subflowId);
      if (s === undefined) return false;
      const n = s.push(send, r.start, Math.min(d.maxBytes, r.end - r.start));
      changed();
      if (n === 0) return false;
      ctx.counters.MPTCPRetrans++;
      ctx.forbidInfiniteFallback();
      r.start += n;
      if (r.start >= r.end) this.#reinject.shift();
    }
    return true;
  }

  /**
   * Linux `mptcp_pm_subflows_chk_stale` (pm.c `mptcp_pm_subflow_chk_stale` counts the data-level
   * retransmission intervals in which a subflow with data outstanding heard nothing): a subflow with data
   * outstanding, at least one RTO and no acknowledgment for more than STALE_LOSS_CNT of its RTOs without
   * backoff (a silent path: 0.8 s with a 200 ms RTO, where counting its backed-off RTOs took 6.2 s), while
   * another usable subflow has heard an acknowledgment within STALE_LOSS_CNT - 1 of its own (or has nothing
   * outstanding), is marked stale:
   * the scheduler avoids it, its data not acknowledged at the data level is reinjected elsewhere and its
   * path is probed every STALE_PROBE_INTERVAL (a silent subflow without such an alternative is probed too,
   * not marked). It keeps its own retransmissions (and mappings), and
   * recovers when its ACKs move again. Only ACK progress counts (Linux counts any segment received): a path
   * that fails one way only still carries the peer's data the other way.
   */
  checkStale(): void {
    const ctx = this.#ctx;
    const subflows = ctx.subflows;
    if (!isMptcp(ctx.state) || subflows.length < 2) return;
    const now = ctx.now;
    for (const s of subflows) {
      if (s.closed) continue;
      s.staleCount();
      const p = s.progress;
      if (p.quietAcked !== p.acked || s.tcp.unacknowledgedBytes === 0) {
        p.quietAcked = p.acked;
        p.quietSince = now;
        if (!s.stale) p.probeAt = undefined;
      }
    }
    // Quiet for more than `intervals` of its RTOs without backoff (at least DATA_RTX_MIN each).
    const quiet = (s: Subflow, intervals: number) => now - s.progress.quietSince > intervals * Math.max(s.tcp.baseRtoMicros, DATA_RTX_MIN);
    for (const s of subflows) {
      if (s.closed || s.stale || !s.usable || s.staleCount() < 1 || !quiet(s, STALE_LOSS_CNT)) continue;
      if (s.tcp.bytesInFlight === 0 && s.send.sentEnd >= s.send.written + 1) continue;
      const alternative = subflows.some((o) => o !== s && !o.closed && !o.stale && o.usable && !quiet(o, Math.max(STALE_LOSS_CNT - 1, 1)));
      if (!alternative) {
        // Every path silent: nothing is marked stale (Linux), but each is probed all the same, so that the
        // connection resumes when one returns rather than at the next backed-off RTO.
        s.progress.probeAt ??= now + this.#probeInterval(s);
        continue;
      }
      s.markStale(now + this.#probeInterval(s));
      ctx.counters.SubflowStale++;
      // What the data-level timer already reinjected since the subflow's last progress is not sent a third time.
      const p = s.progress;
      this.reinjectUnacked(s, true, p.bulkReinjectedAt === p.acked ? p.bulkReinjectedTo : 0);
    }
  }

  #probeInterval(s: Subflow): Micros {
    return Math.max(STALE_PROBE_INTERVAL, s.tcp.baseRtoMicros);
  }

  /** The stale-probe timer: the earliest probe of a stale subflow, if any. */
  #armProbes(): void {
    let at: Micros | undefined;
    for (const s of this.#ctx.subflows) {
      const t = s.progress.probeAt;
      if (t !== undefined && !s.closed && (at === undefined || t < at)) at = t;
    }
    if (at === undefined) this.#ctx.timers.stop(MptcpTimer.StaleProbe);
    else this.#ctx.timers.set(MptcpTimer.StaleProbe, at);
  }

  /** The probes that are due: each stale subflow's first unacknowledged segment goes out again. */
  #probe(now: Micros): void {
    for (const s of this.#ctx.subflows) {
      const t = s.progress.probeAt;
      if (t === undefined || t > now || s.closed) continue;
      s.tcp.probePath();
      s.progress.probeAt = now + this.#probeInterval(s);
    }
  }

  /** Arms the data-level retransmission timer while data is unacknowledged at the data level. */
  arm(now: Micros): void {
    const ctx = this.#ctx;
    const timers = ctx.timers;
    this.#armProbes();
    if (!isMptcp(ctx.state) || ctx.send.acked >= ctx.send.scheduled) {
      timers.stop(MptcpTimer.Retransmit);
      this.#backoff = 1;
      return;
    }
    if (timers.isArmed(MptcpTimer.Retransmit)) return;
    // The largest RTO of the subflows that are moving: a dead subflow's backed-off RTO (seconds) would
    // otherwise set the pace of the very timer that rescues its data. All subflows if none is moving.
    let healthy = 0;
    let any = 0;
    for (const s of ctx.subflows) {
      if (!s.usable) continue;
      const rto = s.tcp.rtoMicros;
      any = Math.max(any, rto);
      if (!s.stale && s.staleCount() === 0) healthy = Math.max(healthy, rto);
    }
    const rto = Math.max(DATA_RTX_MIN, healthy > 0 ? healthy : any);
    timers.set(MptcpTimer.Retransmit, now + Math.min(rto * this.#backoff, DATA_RTX_MAX));
  }

  /** The connection's timer call: the stale probes and the data-level timer, if they expired. */
  handleTimeout(now: Micros): void {
    const timers = this.#ctx.timers;
    if (timers.expired(MptcpTimer.StaleProbe, now)) {
      timers.stop(MptcpTimer.StaleProbe);
      this.#probe(now);
    }
    if (!timers.expired(MptcpTimer.Retransmit, now)) return;
    timers.stop(MptcpTimer.Retransmit);
    this.#expired();
  }

  /**
   * Linux `__mptcp_retrans`: the data-level retransmission timer expired with no DATA_ACK progress. The
   * oldest unacknowledged data (up to DATA_RTX_CHUNK) is reinjected on a usable, non-stale subflow that has
   * nothing outstanding (preferring non-backup ones) other than the one it was sent on; then the stale
   * check runs, as Linux runs it for the busy subflows it skips.
   */
  #expired(): void {
    const ctx = this.#ctx;
    const send = ctx.send;
    const subflows = ctx.subflows;
    if (!isMptcp(ctx.state) || send.acked >= send.scheduled) return;
    this.#backoff = Math.min(this.#backoff * 2, 64);
    const una = send.acked;
    const holds = (s: Subflow): boolean => s.send.maps.some((m) => m.dataOffset <= una && una < m.dataOffset + m.length);
    // The subflow holding the oldest unacknowledged data is in RTO recovery itself (its path is not moving):
    // everything it holds beyond the DATA_ACK is reinjected on the others at once (once per stall), as Linux
    // does for a stale subflow, rather than one chunk per data-level timeout while the window stays shut.
    const holder = subflows.find((s) => !s.closed && holds(s));
    if (
      holder !== undefined &&
      (holder.progress.bulkReinjectedAt !== holder.progress.acked || una >= holder.progress.bulkReinjectedTo) &&
      holder.staleCount() >= 1 &&
      subflows.some((o) => o !== holder && !o.stale && o.usable)
    ) {
      holder.progress.bulkReinjectedAt = holder.progress.acked;
      holder.progress.bulkReinjectedTo = send.scheduled;
      this.reinjectUnacked(holder, true);
      return;
    }
    let target: Subflow | undefined;
    for (const s of subflows) {
      if (s.stale || !s.usable) continue;
      if (holds(s)) continue;
      if (s.tcp.bytesInFlight > 0 || s.send.sentEnd < s.send.written + 1) continue;
      const backup = s.backupLocal || s.backupPeer;
      if (target === undefined || (!backup && (target.backupLocal || target.backupPeer))) target = s;
    }
    if (target === undefined) return;
    const n = target.push(send, una, Math.min(DATA_RTX_CHUNK, send.scheduled - una));
    if (n > 0) {
      ctx.counters.MPTCPRetrans++;
      ctx.forbidInfiniteFallback();
    }
  }
}
