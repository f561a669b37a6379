/**
 * Fallback to TCP (RFC 8684 3.7) after the handshake: data without a mapping, a DSS checksum failure,
 * MP_FAIL both ways and the infinite mapping; and what the connection does once it is plain TCP (the bytes
 * buffered before the fallback drained into the subflow, then its FIN).
 *
 * Read first: RFC 8684 3.7 ("if a checksum fails ... MP_FAIL", "an infinite mapping", "the receiver ...
 * MUST ... fall back" on data without a mapping with a single subflow, "reset" with several); Linux
 * net/mptcp/subflow.c `subflow_check_data_avail`, `mptcp_subflow_fail`, `subflow_can_fallback`
 * (`allow_infinite_fallback`), pm.c `mptcp_pm_mp_fail_received`, options.c `mptcp_update_infinite_map`
 * and protocol.h `__mptcp_do_fallback`.
 */
import type { TcpOption } from '../wire/tcp.js';
import { TcpFlags } from '../wire/tcp.js';
import { MpTcpRstReason } from '../wire/mptcp-option.js';
import { isMptcp, type ConnectionContext } from './context.js';
import { dsnFromOffset } from './dsn.js';
import type { ReceiveMap, Subflow } from './subflow.js';

/** The fallback's state and reactions (see the file comment). */
export class Fallback {
  readonly #ctx: ConnectionContext;
  /**
   * Linux `allow_infinite_fallback`: a checksum failure may turn the connection into plain TCP (MP_FAIL +
   * infinite mapping) only while it never had a second subflow nor reinjected data.
   */
  #allowInfinite = true;
  /** The peer's MP_FAIL arrived on our single subflow: the next data segment carries an infinite mapping. */
  #infiniteMapDue = false;
  /** We sent MP_FAIL on our single subflow: the peer's MP_FAIL answers it (Linux `fail_tout`). */
  #mpFailSent = false;
  /** An infinite mapping arrived (counted once, as Linux counts InfiniteMapRx). */
  #infiniteMapSeen = false;
  /** After a fallback, the buffered bytes drained and the subflow was shut down / closed. */
  #shutdownDone = false;

  constructor(ctx: ConnectionContext) {
    this.#ctx = ctx;
  }

  /** A second subflow or a reinjection: a checksum failure can no longer turn the connection into TCP. */
  forbidInfinite(): void {
    this.#allowInfinite = false;
  }

  /**
   * The state just became 'fallback' (`wasHandshake`: from the handshake): every subflow forgets its mappings; bytes of a mapping
   * read so far but held for its checksum are TCP's from now on. A fallback in the handshake mapped
   * nothing: the send buffer goes to the subflow from its start. A shutdown asked before the fallback was a
   * DATA_FIN: it becomes a subflow FIN once the buffer drained (`drain`).
   */
  fellBack(wasHandshake: boolean): void {
    const ctx = this.#ctx;
    for (const s of ctx.subflows) {
      s.send.maps.length = 0;
      for (const m of s.receive.maps) {
        if (m.pieces === undefined) continue;
        let at = m.dataOffset;
        for (const p of m.pieces) {
          ctx.insertData(at, p);
          at += p.length;
        }
      }
      s.receive.maps.length = 0;
    }
    if (wasHandshake) ctx.send.unschedule();
  }

  /**
   * Plain TCP: what was buffered before the fallback goes into the initial subflow, then the application
   * writes to it directly; a shutdown asked meanwhile becomes its FIN (or close) once the buffer drained.
   */
  drain(writeShutdown: boolean): void {
    const ctx = this.#ctx;
    const send = ctx.send;
    const subflow = ctx.subflows[0]!.tcp;
    while (send.scheduled < send.written) {
      const bytes = send.slice(send.scheduled, send.written - send.scheduled);
      if (bytes.length === 0) break;
      const n = subflow.write(bytes);
      send.markScheduled(n);
      if (n < bytes.length) break;
    }
    if (send.scheduled === send.written) {
      send.clear();
      if (writeShutdown && !this.#shutdownDone) {
        this.#shutdownDone = true;
        if (ctx.receive.readClosed) subflow.close();
        else subflow.shutdown();
      }
    }
  }

  // ---- MP_FAIL and the infinite mapping ----

  /**
   * RFC 8684 3.7, as Linux (`mptcp_pm_mp_fail_received`): the peer's checksum failed on data we sent. With a
   * RST (several subflows) the subflow just closes and its data is reinjected elsewhere. On our single
   * subflow we answer with MP_FAIL and put an infinite mapping on the next data segment, then fall back to
   * TCP, but only while an infinite fallback is allowed (Linux returns at once when `allow_infinite_fallback`
   * is off: a second subflow joined or data was reinjected). An MP_FAIL answering ours needs nothing more.
   */
  mpFailReceived(sf: Subflow, flags: number): void {
    const ctx = this.#ctx;
    ctx.counters.MPFailRx++;
    if (flags & TcpFlags.RST || !isMptcp(ctx.state) || !this.#allowInfinite) return;
    if (this.#mpFailSent) {
      this.#mpFailSent = false; // the answer to ours; the infinite mapping follows
      return;
    }
    if (sf.failDsn !== undefined || this.#infiniteMapDue) return;
    sf.failDsn = dsnFromOffset(ctx.keys.localIdsn, ctx.send.acked);
    this.#infiniteMapDue = true;
    sf.tcp.requestPureAck();
  }

  /** A pending MP_FAIL, alone on a pure ACK (also after the fallback it announces). */
  failOption(sf: Subflow): readonly TcpOption[] | undefined {
    const dsn = sf.failDsn;
    if (dsn === undefined) return undefined;
    sf.failDsn = undefined;
    this.#ctx.counters.MPFailTx++;
    return [{ kind: 'mptcp', option: { subtype: 'MP_FAIL', dsn } }];
  }

  /**
   * RFC 8684 3.7 / Linux `mptcp_update_infinite_map`: whether this data segment of `sf` carries the
   * infinite mapping (after the peer's MP_FAIL, on the initial subflow); counted here, the caller builds it
   * and falls back right after.
   */
  takeInfiniteMap(sf: Subflow): boolean {
    if (!this.#infiniteMapDue || sf.join) return false;
    this.#infiniteMapDue = false;
    this.#ctx.counters.InfiniteMapTx++;
    return true;
  }

  /** An infinite mapping arrived (InfiniteMapRx counts the first only). */
  infiniteMapReceived(): void {
    if (!this.#infiniteMapSeen) this.#ctx.counters.InfiniteMapRx++;
    this.#infiniteMapSeen = true;
  }

  // ---- the receiver's reactions ----

  /**
   * RFC 8684 3.7, as Linux (`subflow_check_data_avail`): a mapping whose DSS checksum failed. While an
   * infinite fallback is allowed (one subflow, never joined, nothing reinjected) the data is delivered as
   * TCP would deliver it, MP_FAIL goes back with the mapping's DSN, and the connection falls back to TCP.
   * Otherwise the data is discarded and the subflow reset with MP_FAIL and MP_TCPRST "middlebox
   * interference"; the peer reinjects its data on the other subflows. Returns whether to keep pulling.
   */
  checksumFailed(sf: Subflow, map: ReceiveMap): boolean {
    const ctx = this.#ctx;
    sf.failDsn = map.dsn;
    if (this.#allowInfinite && !sf.join && ctx.subflows.length === 1) {
      let at = map.dataOffset;
      for (const p of map.pieces ?? []) {
        ctx.insertData(at, p);
        at += p.length;
      }
      map.pieces = undefined;
      ctx.counters.DSSCorruptionFallback++;
      this.#mpFailSent = true;
      // Linux (`mptcp_subflow_fail`): MPTCP goes on until the peer's infinite mapping arrives (then both
      // are plain TCP); MP_FAIL leaves on a pure ACK now.
      sf.tcp.requestPureAck();
      return true;
    }
    ctx.counters.DSSCorruptionReset++;
    sf.resetReason = MpTcpRstReason.MIDDLEBOX_INTERFERENCE;
    sf.abortPending = true;
    return false;
  }

  /**
   * RFC 8684 3.7: data without a mapping. With one subflow, fall back to TCP (no data lost: what the subflow
   * holds is read as plain TCP from now on); with several, reset that subflow (its data is reinjected).
   */
  unmappedData(sf: Subflow): void {
    const ctx = this.#ctx;
    ctx.counters.DssFallback++;
    if (ctx.subflows.length === 1 && !sf.join) {
      ctx.fallBack();
      return;
    }
    sf.resetReason = MpTcpRstReason.MPTCP_SPECIFIC;
    sf.tcp.abort();
  }
}
