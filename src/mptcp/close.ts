/**
 * How an MPTCP connection ends: the DATA_FIN both ways (ours, repeated until a DATA_ACK covers it; the
 * peer's, counted once the stream reaches it), the subflow FINs once both are done, the 'end' and 'closed'
 * events, and MP_FASTCLOSE (ours and the peer's).
 *
 * Read first: RFC 8684 3.3.3 (DATA_FIN: "the DATA_FIN ... has the data-level length ... including the
 * DATA_FIN"; it is acknowledged with a DATA_ACK; "the subflows ... are closed" once the connection is),
 * 3.5 (MP_FASTCLOSE: a RST on every subflow with the peer's key); Linux net/mptcp/options.c
 * `mptcp_write_data_fin`, protocol.c `mptcp_check_data_fin`, `mptcp_check_data_fin_ack`,
 * `mptcp_set_datafin_timeout`, `__mptcp_close_ssk`, `mptcp_do_fastclose`, and options.c
 * `mptcp_established_options_fastclose`.
 *
 * Linux's choices followed: a DATA_FIN goes on pure ACKs as a mapping of length 1 with subflow sequence 0,
 * repeated until a DATA_ACK covers it; the subflows are closed (FIN) once both DATA_FINs are done; the
 * application sees 'closed' then, while the subflows finish their FIN handshakes in the background.
 */
import type { TcpSegmentRepr, TcpOption } from '../wire/tcp.js';
import { MpTcpRstReason, type DssMapping } from '../wire/mptcp-option.js';
import { dssChecksum } from '../wire/dss-checksum.js';
import type { TcpError, TcpStateName } from '../tcp/types.js';
import type { Micros } from '../time/micros.js';
import { fastCloseOf, isMptcp, primarySubflow, type ConnectionContext } from './context.js';
import { dsnFromOffset } from './dsn.js';
import { errnoOf } from './info.js';
import type { Retransmit } from './retransmit.js';
import type { Subflow } from './subflow.js';
import { MptcpTimer } from './timers.js';

/** DATA_FIN retransmission: start and cap (Linux uses the subflow RTO; this is close enough for one path). */
export const DATA_FIN_RTO_MIN: Micros = 200_000;
export const DATA_FIN_RTO_MAX: Micros = 60_000_000;
const EMPTY = new Uint8Array(0);

/** DATA_FIN both ways, the subflows' close, and MP_FASTCLOSE (see the file comment). */
export class Closing {
  readonly #ctx: ConnectionContext;
  readonly #retransmit: Retransmit;
  /** The application shut its side down (shutdown(), close()). */
  #writeShutdown = false;
  /** Our DATA_FIN's data offset (just past the last byte written), once decided. */
  #dataFinOffset: number | undefined;
  #dataFinAcked = false;
  /** Our DATA_FIN must go out (first time, or its timer expired). */
  #dataFinDue = false;
  #dataFinRto = DATA_FIN_RTO_MIN;
  /** The peer's DATA_FIN's data offset (the most recent credible one until the stream reaches it). */
  #remoteFinOffset: number | undefined;
  /** The stream reached the peer's DATA_FIN. */
  #dataFinReceived = false;
  #endReported = false;
  /** Both DATA_FINs done: the subflows were closed. */
  #subflowClosing = false;
  #closedReported = false;

  constructor(ctx: ConnectionContext, retransmit: Retransmit) {
    this.#ctx = ctx;
    this.#retransmit = retransmit;
  }

  get writeShutdown(): boolean {
    return this.#writeShutdown;
  }

  get dataFinOffset(): number | undefined {
    return this.#dataFinOffset;
  }

  get dataFinAcked(): boolean {
    return this.#dataFinAcked;
  }

  get dataFinReceived(): boolean {
    return this.#dataFinReceived;
  }

  get remoteFinOffset(): number | undefined {
    return this.#remoteFinOffset;
  }

  /** The subflows are being closed (both DATA_FINs done). */
  get subflowClosing(): boolean {
    return this.#subflowClosing;
  }

  /** The application got its 'closed' event. */
  get closedReported(): boolean {
    return this.#closedReported;
  }

  /** The connection is ending: no more joins, no path-manager actions. */
  get ending(): boolean {
    return this.#subflowClosing || this.#closedReported;
  }

  /** Data-level state with TCP's names, for an MPTCP connection whose primary subflow is in `sub`. */
  stateName(sub: TcpStateName): TcpStateName {
    if (sub === 'CLOSED' || sub === 'TIME-WAIT' || sub === 'SYN-SENT' || sub === 'SYN-RECEIVED') return sub;
    if (this.#dataFinOffset === undefined) return this.#dataFinReceived ? 'CLOSE-WAIT' : 'ESTABLISHED';
    if (!this.#dataFinAcked) return this.#dataFinReceived ? 'LAST-ACK' : 'FIN-WAIT-1';
    return this.#dataFinReceived ? 'TIME-WAIT' : 'FIN-WAIT-2';
  }

  // ---- our DATA_FIN ----

  /** The application will write no more. */
  markWriteShutdown(): void {
    this.#writeShutdown = true;
  }

  /** Our DATA_FIN goes after the last byte written. */
  queueDataFin(): void {
    this.#dataFinOffset = this.#ctx.send.written;
    this.#dataFinDue = true;
  }

  /** The handshake made the connection MPTCP: a shutdown asked before it becomes a DATA_FIN now. */
  enteredMptcp(): void {
    if (this.#writeShutdown && this.#dataFinOffset === undefined) this.queueDataFin();
  }

  /**
   * Every written byte is mapped and on the wire (or acknowledged at the data level): the DATA_FIN may go.
   * Bytes stuck on a stale subflow do not hold it back (they were reinjected elsewhere).
   */
  allDataSent(): boolean {
    const send = this.#ctx.send;
    if (send.scheduled < send.written || this.#retransmit.pending) return false;
    if (send.acked >= send.written) return true;
    for (const s of this.#ctx.subflows) if (!s.closed && !s.stale && s.send.sentEnd < s.send.written + 1) return false;
    return true;
  }

  /** Our DATA_FIN belongs on the pure ACK being built (decided, not acknowledged, every byte sent). */
  dataFinNow(): boolean {
    return this.#dataFinOffset !== undefined && !this.#dataFinAcked && this.allDataSent();
  }

  /** Linux `mptcp_write_data_fin` on a packet without data: subflow sequence 0, data-level length 1. */
  dataFinMapping(): DssMapping {
    const ctx = this.#ctx;
    const dsn = dsnFromOffset(ctx.keys.localIdsn, this.#dataFinOffset!);
    const mapping: DssMapping = {
      dsn,
      dsn64: true,
      subflowSeq: 0,
      dataLength: 1,
      ...(ctx.checksum ? { checksum: dssChecksum(dsn, 0, 1, EMPTY) } : {}),
    };
    if (this.#dataFinDue) {
      this.#dataFinDue = false;
      ctx.counters.DataFinTx++;
    }
    return mapping;
  }

  /** DATA_ACKs may cover one sequence number more than the data: our DATA_FIN's. */
  get ackLimitExtra(): number {
    return this.#dataFinOffset !== undefined ? 1 : 0;
  }

  /** A new DATA_ACK at data offset `offset`: our DATA_FIN is acknowledged when it covers it. */
  dataAcked(offset: number): void {
    if (this.#dataFinOffset !== undefined && offset > this.#dataFinOffset && !this.#dataFinAcked) {
      this.#dataFinAcked = true;
      this.#ctx.timers.stop(MptcpTimer.DataFin);
      this.#dataFinDue = false;
    }
  }

  /**
   * The DATA_FIN, when due and nothing else went: a pure ACK on every usable subflow (each carries it), the
   * first of them returned, and the timer armed for the next repeat.
   */
  pollTransmit(now: Micros): { repr: TcpSegmentRepr; subflow: Subflow } | undefined {
    const ctx = this.#ctx;
    if (!(this.#dataFinDue && isMptcp(ctx.state) && !this.#dataFinAcked && this.allDataSent())) return undefined;
    let first: { repr: TcpSegmentRepr; subflow: Subflow } | undefined;
    for (const s of ctx.subflows) {
      if (!s.usable) continue;
      s.tcp.requestAck();
      if (first === undefined) {
        const ack = s.tcp.pollTransmit(now);
        if (ack !== undefined) first = { repr: ack, subflow: s };
      }
    }
    if (first === undefined) return undefined;
    this.#dataFinDue = false; // once per timer expiry, whatever the ACKs carried
    const timers = ctx.timers;
    if (!timers.isArmed(MptcpTimer.DataFin)) timers.set(MptcpTimer.DataFin, now + Math.max(this.#dataFinRto, primarySubflow(ctx.subflows).info().rtoMicros));
    return first;
  }

  /** The DATA_FIN timer: repeat it (backed off) while it is not acknowledged. */
  handleTimeout(now: Micros): void {
    const timers = this.#ctx.timers;
    if (!timers.expired(MptcpTimer.DataFin, now)) return;
    timers.stop(MptcpTimer.DataFin);
    if (!this.#dataFinAcked && isMptcp(this.#ctx.state)) {
      this.#dataFinDue = true;
      this.#dataFinRto = Math.min(this.#dataFinRto * 2, DATA_FIN_RTO_MAX);
    }
  }

  // ---- the peer's DATA_FIN ----

  /**
   * The peer's DATA_FIN is at data offset `finOffset`. Until the stream reaches it, the most recent one wins
   * (as Linux prefers the most recent information), so a stray or forged DATA_FIN is corrected by the peer's
   * retransmitted one; a DATA_FIN before data already delivered is ignored.
   */
  noteDataFin(finOffset: number): void {
    if (this.#dataFinReceived || finOffset < this.#ctx.receive.next) return;
    if (this.#remoteFinOffset === undefined) this.#ctx.counters.DataFinRx++;
    this.#remoteFinOffset = finOffset;
  }

  /** The stream reached the peer's DATA_FIN: it takes its sequence number and is acknowledged. */
  checkDataFin(): void {
    const ctx = this.#ctx;
    if (this.#dataFinReceived || this.#remoteFinOffset === undefined || ctx.receive.next !== this.#remoteFinOffset) return;
    this.#dataFinReceived = true;
    ctx.receive.consumeDataFin();
    // RFC 8684 3.3.3: acknowledge it with a DATA_ACK.
    for (const s of ctx.subflows) if (s.usable) s.tcp.requestAck();
  }

  /** A subflow FIN without DATA_FIN on the only subflow: the end of the data stream is where it stands. */
  subflowFinEndsStream(): void {
    this.#remoteFinOffset = this.#ctx.receive.next;
    this.checkDataFin();
  }

  // ---- the end ----

  /**
   * After the subflows' events: 'end' once the peer's DATA_FIN was read up to; the subflows closed once both
   * DATA_FINs are done; 'closed' then.
   */
  afterEvents(): void {
    const ctx = this.#ctx;
    if (this.#dataFinReceived && !this.#endReported && ctx.receive.readable === 0) {
      this.#endReported = true;
      ctx.emit({ type: 'end' });
    }
    if (this.#dataFinReceived && this.#dataFinAcked && !this.#subflowClosing) {
      // Both DATA_FINs done: close the subflows (FIN), as Linux does when the msk is closed; a stale
      // subflow (its path looks dead) is reset instead of waiting out its FIN retransmissions.
      this.#subflowClosing = true;
      for (const s of ctx.subflows) {
        if (s.stale && !s.closed) {
          s.resetReason ??= MpTcpRstReason.UNSPECIFIED;
          s.tcp.abort();
        } else s.tcp.close();
      }
    }
    // The data-level connection is complete once both DATA_FINs are done and the end was reported: the
    // application sees 'closed' now (like Linux's close() of the msk); subflows finish their own FIN
    // handshakes in the background (the host keeps the connection until they are CLOSED).
    if (this.#subflowClosing && this.#endReported) this.reportClosed(undefined);
  }

  /** Both DATA_FINs were exchanged (a subflow closing now is the clean end, not a loss). */
  get cleanEnd(): boolean {
    return isMptcp(this.#ctx.state) && this.#dataFinReceived && this.#dataFinAcked;
  }

  /**
   * TCP closed subflow `sf` (with `error`): SF_CLOSED while the connection is established (as Linux's
   * `mptcp_close_ssk`), and the application's 'closed' with the last subflow. Returns true when the
   * connection lives on without a clean end: the subflow's data not DATA_ACKed must be reinjected.
   */
  subflowClosed(sf: Subflow, error: TcpError | undefined): boolean {
    const ctx = this.#ctx;
    sf.markClosed(error);
    if (ctx.state.kind === 'mptcp' && !this.ending) ctx.monitor.subflow('SF_CLOSED', sf, errnoOf(error));
    const cleanEnd = this.cleanEnd;
    if (ctx.subflows.some((s) => !s.closed)) return !cleanEnd;
    const subflowError = ctx.subflows.find((s) => s.closedError !== undefined)?.closedError;
    this.reportClosed(fastCloseOf(ctx.state)?.error ?? (cleanEnd ? undefined : error ?? subflowError));
    return false;
  }

  /** The application's 'closed' event (once), with CLOSED for the monitor when MPTCP. */
  reportClosed(error: TcpError | undefined): void {
    if (this.#closedReported) return;
    this.#closedReported = true;
    const ctx = this.#ctx;
    if (isMptcp(ctx.state)) ctx.monitor.closed();
    ctx.emit(error ? { type: 'closed', error } : { type: 'closed' });
  }

  // ---- MP_FASTCLOSE ----

  /**
   * MP_FASTCLOSE (RFC 8684 3.5), as Linux 6.x sends it: a RST on every subflow carrying MP_FASTCLOSE with
   * the peer's key and MP_TCPRST; the connection is closed at once (its 'closed' event has ECONNABORTED).
   * Before the keys are known (or after a fallback) this is a plain abort.
   */
  fastClose(): void {
    const ctx = this.#ctx;
    if (!isMptcp(ctx.state) || ctx.keys.remoteKey === undefined) {
      for (const s of ctx.subflows) s.tcp.abort();
      return;
    }
    if (ctx.state.kind === 'fastClosing') return;
    ctx.startFastClose({ sent: true, error: { code: 'ECONNABORTED', message: 'MPTCP connection closed with MP_FASTCLOSE' } });
    for (const s of ctx.subflows) {
      if (s.closed || s.tcp.state === 'CLOSED') continue;
      s.resetReason ??= MpTcpRstReason.MPTCP_SPECIFIC;
      s.tcp.abort();
    }
  }

  /** RFC 8684 3.5: a valid MP_FASTCLOSE: every subflow is reset and the connection aborts (ECONNRESET). */
  fastCloseReceived(): void {
    const ctx = this.#ctx;
    ctx.counters.MPFastcloseRx++;
    if (ctx.state.kind === 'fastClosing') return;
    ctx.startFastClose({ sent: false, error: { code: 'ECONNRESET', message: 'MPTCP connection reset by the peer (MP_FASTCLOSE)' } });
    for (const s of ctx.subflows) if (!s.closed && s.tcp.state !== 'CLOSED') s.abortPending = true;
  }

  /** Our fast close's RST options (MP_FASTCLOSE with the peer's key, MP_TCPRST), when we sent it. */
  fastCloseOptions(sf: Subflow): readonly TcpOption[] | undefined {
    const ctx = this.#ctx;
    if (fastCloseOf(ctx.state)?.sent !== true || ctx.keys.remoteKey === undefined) return undefined;
    ctx.counters.MPFastcloseTx++;
    ctx.counters.MPRstTx++;
    return [
      { kind: 'mptcp', option: { subtype: 'MP_FASTCLOSE', receiverKey: ctx.keys.remoteKey } },
      { kind: 'mptcp', option: { subtype: 'MP_TCPRST', flags: 0, reason: sf.resetReason ?? MpTcpRstReason.MPTCP_SPECIFIC } },
    ];
  }
}
