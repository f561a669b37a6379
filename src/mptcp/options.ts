/**
 * The MPTCP options of every subflow segment, both ways. Out: which options go on each segment TCP builds
 * (the handshakes' MP_CAPABLE / MP_JOIN, a DSS with DATA_ACK and the mapping of the segment's data, the
 * DATA_FIN, a signal the path manager asks for within the option space left, MP_PRIO, MP_FAIL, and
 * MP_TCPRST / MP_FASTCLOSE on RSTs). In: each received segment's options dispatched to the handshake, the
 * DATA_ACK (which releases the send buffer and opens the data-level window), the receive mapping checks,
 * the path manager, the fallback and the fast close.
 *
 * Read first: RFC 8684 3.3 (DSS), 3.3.2 (DATA_ACK; 3.3.4: the window is relative to it), 3.3.3 (DATA_FIN),
 * 3.7 (the infinite mapping); Linux net/mptcp/options.c `mptcp_established_options` (one DSS per segment,
 * then what fits: `mptcp_established_options_add_addr` / `_rm_addr` ask pm.c within the bytes left,
 * `_mp_prio`, `_mp_fail`, `_rst`, `_fastclose`), `mptcp_established_options_dss`, `mptcp_incoming_options`,
 * `ack_update_msk`, `mptcp_write_options`.
 *
 * Linux's choices followed: 64-bit DSNs and DATA_ACKs are sent; a signal goes alone on a pure ACK.
 */
import type { TcpSegmentDraft, TcpSegmentKind } from '../tcp/connection.js';
import { TcpFlags, type TcpOption, type TcpSegment } from '../wire/tcp.js';
import type { DssMapping, MpCapableOption, MptcpOption } from '../wire/mptcp-option.js';
import { dssChecksum } from '../wire/dss-checksum.js';
import type { U64 } from '../wire/u64.js';
import type { Closing } from './close.js';
import { isMptcp, type ConnectionContext } from './context.js';
import { dsnFromOffset, offsetFromDsn32, offsetFromDsn64 } from './dsn.js';
import type { Fallback } from './fallback.js';
import type { DssOption, Handshake } from './handshake.js';
import type { Mappings } from './mapping.js';
import type { MptcpCounters } from './mib.js';
import type { PathManagement } from './pm.js';
import type { Retransmit } from './retransmit.js';
import type { JoinHandshake, Subflow, SubflowOwner } from './subflow.js';

const EMPTY = new Uint8Array(0);

/** The parts of the connection the options come from and go to. */
export interface OptionsParts {
  readonly handshake: Handshake;
  readonly closing: Closing;
  readonly fallback: Fallback;
  readonly mappings: Mappings;
  readonly paths: PathManagement;
  readonly retransmit: Retransmit;
}

/** Options out and in for every subflow (see the file comment); what each subflow calls back into. */
export class Options implements SubflowOwner {
  readonly counters: MptcpCounters;
  readonly #ctx: ConnectionContext;
  readonly #parts: OptionsParts;

  constructor(ctx: ConnectionContext, parts: OptionsParts) {
    this.#ctx = ctx;
    this.counters = ctx.counters;
    this.#parts = parts;
  }

  // ---- out ----

  /** MPTCP options for a segment of `sf` being built (TCP's extension hook). */
  subflowOptions(sf: Subflow, kind: TcpSegmentKind, draft: TcpSegmentDraft): readonly TcpOption[] | undefined {
    if (sf.joinHandshake !== undefined) return this.#joinOutgoing(sf, sf.joinHandshake, kind, draft);
    const handshake = this.#parts.handshake;
    switch (kind) {
      case 'syn':
        return handshake.capableSyn(sf, draft);
      case 'synAck':
        return handshake.capableSynAck(sf, draft);
      case 'ack':
        return this.#parts.fallback.failOption(sf) ?? this.#ackOptions(sf);
      case 'data':
        return this.#dataOptions(sf, draft);
      case 'rst':
        return this.#rstOptions(sf);
      default:
        return undefined;
    }
  }

  #joinOutgoing(sf: Subflow, hs: JoinHandshake, kind: TcpSegmentKind, draft: TcpSegmentDraft): readonly TcpOption[] | undefined {
    const handshake = this.#parts.handshake;
    switch (kind) {
      case 'syn':
        return handshake.joinSyn(sf, hs, draft);
      case 'synAck':
        return handshake.joinSynAck(sf, hs, draft);
      case 'ack':
        if (hs.state === 'ackSent') return handshake.joinAck(sf, hs);
        if (hs.state !== 'full') return undefined;
        return this.#ackOptions(sf);
      case 'data':
        if (hs.state !== 'full') return undefined;
        return this.#dataOptions(sf, draft);
      case 'rst':
        return this.#rstOptions(sf);
      default:
        return undefined;
    }
  }

  /** A RST: our fast close's options, or MP_TCPRST with the reason we reset it (and a pending MP_FAIL). */
  #rstOptions(sf: Subflow): readonly TcpOption[] | undefined {
    const fastClose = this.#parts.closing.fastCloseOptions(sf);
    if (fastClose !== undefined) return fastClose;
    if (sf.resetReason === undefined) return undefined;
    this.counters.MPRstTx++;
    const rst: TcpOption = { kind: 'mptcp', option: { subtype: 'MP_TCPRST', flags: 0, reason: sf.resetReason } };
    const fail = this.#parts.fallback.failOption(sf);
    return fail === undefined ? [rst] : [...fail, rst];
  }

  /** A pure ACK: MP_CAPABLE while it must be repeated, else a signal or MP_PRIO alone, else a DSS. */
  #ackOptions(sf: Subflow): readonly TcpOption[] | undefined {
    if (!isMptcp(this.#ctx.state)) return undefined;
    const closing = this.#parts.closing;
    const dataFinNow = closing.dataFinNow();
    const capable = this.#parts.handshake.capableAck(sf, dataFinNow);
    if (capable !== undefined) return capable;
    const control = this.#parts.paths.pureAckOption(sf);
    if (control !== undefined) return [{ kind: 'mptcp', option: control }];
    const mapping = dataFinNow ? closing.dataFinMapping() : undefined;
    return [{ kind: 'mptcp', option: this.#dss(dataFinNow, mapping) }];
  }

  /** A DSS with our 64-bit DATA_ACK (the peer's next data offset) and `mapping`, if any. */
  #dss(dataFin: boolean, mapping: DssMapping | undefined): MptcpOption {
    const dataAck = dsnFromOffset(this.#ctx.keys.remoteIdsn!, this.#ctx.receive.dataAckForSegment());
    // Two literals rather than a spread: one per segment, each of a fixed shape.
    return mapping !== undefined ? { subtype: 'DSS', dataFin, dataAck, dataAck64: true, mapping } : { subtype: 'DSS', dataFin, dataAck, dataAck64: true };
  }

  /** A data segment: the mapping of its bytes (never more than one mapping per segment: `segmentLimit`). */
  #dataOptions(sf: Subflow, draft: TcpSegmentDraft): readonly TcpOption[] | undefined {
    const ctx = this.#ctx;
    if (!isMptcp(ctx.state) || draft.payloadLength === 0) return draft.payloadLength === 0 ? this.#ackOptions(sf) : undefined;
    const subflowSeq = (draft.seq - sf.send.isn) >>> 0;
    const end = subflowSeq + draft.payloadLength;
    if (end > sf.send.sentEnd) sf.send.sentEnd = end;
    const map = sf.send.mapAt(subflowSeq);
    if (map === undefined) return this.#ackOptions(sf); // cannot happen: every written byte is mapped
    const dataOffset = map.dataOffset + (subflowSeq - map.subflowSeq);
    const length = Math.min(draft.payloadLength, map.subflowSeq + map.length - subflowSeq);
    const dsn = dsnFromOffset(ctx.keys.localIdsn, dataOffset);
    const payload = draft.payload ?? EMPTY;
    const checksum = ctx.checksum ? dssChecksum(dsn, subflowSeq, length, payload.subarray(0, length)) : undefined;
    const first = this.#parts.handshake.capableData(sf, subflowSeq, length, checksum);
    if (first !== undefined) return first;
    if (this.#parts.fallback.takeInfiniteMap(sf)) {
      // This segment's mapping with data-level length 0 (infinite), then plain TCP from here on.
      const infinite: DssMapping = { dsn, dsn64: true, subflowSeq, dataLength: 0, ...(ctx.checksum ? { checksum: dssChecksum(dsn, subflowSeq, 0, EMPTY) } : {}) };
      const options: TcpOption[] = [{ kind: 'mptcp', option: this.#dss(false, infinite) }];
      ctx.fallBack();
      return options;
    }
    const mapping: DssMapping = checksum !== undefined ? { dsn, dsn64: true, subflowSeq, dataLength: length, checksum } : { dsn, dsn64: true, subflowSeq, dataLength: length };
    return [{ kind: 'mptcp', option: this.#dss(false, mapping) }];
  }

  // ---- in ----

  /** A segment `sf` received, before TCP processes it (TCP's extension hook). */
  subflowInput(sf: Subflow, segment: TcpSegment): void {
    const ctx = this.#ctx;
    const parts = this.#parts;
    this.#controlOptions(sf, segment);
    if (sf.joinHandshake !== undefined) {
      const dss = parts.handshake.joinInput(sf, sf.joinHandshake, segment);
      if (dss !== undefined) this.#onDss(sf, segment, dss);
      return;
    }
    let capable: MpCapableOption | undefined;
    let dss: DssOption | undefined;
    for (const o of segment.options) {
      if (o.kind !== 'mptcp') continue;
      if (o.option.subtype === 'MP_CAPABLE') capable ??= o.option;
      else if (o.option.subtype === 'DSS') dss ??= o.option;
    }
    if (!parts.handshake.capableInput(sf, segment, capable)) return;
    if (ctx.state.kind === 'fallback') {
      // The infinite mapping answering our MP_FAIL (we fell back when we sent it).
      if (dss?.mapping && dss.mapping.dataLength === 0 && !dss.dataFin) parts.fallback.infiniteMapReceived();
      return;
    }
    if (!isMptcp(ctx.state)) return;
    if (capable && capable.dataLength !== undefined && ctx.server && segment.payload.length > 0) {
      // MP_CAPABLE with data: the mapping of the peer's first data byte (DSN IDSN + 1, subflow sequence 1).
      parts.mappings.add(sf, segment, {
        dsn: dsnFromOffset(ctx.keys.remoteIdsn!, 0),
        dsn64: true,
        subflowSeq: 1,
        dataLength: capable.dataLength,
        ...(capable.checksum !== undefined ? { checksum: capable.checksum } : {}),
      }, false);
    }
    if (dss) this.#onDss(sf, segment, dss);
  }

  /** MP_TCPRST, MP_FAIL, then (established, MPTCP) MP_FASTCLOSE, ADD_ADDR, RM_ADDR and MP_PRIO. */
  #controlOptions(sf: Subflow, segment: TcpSegment): void {
    const ctx = this.#ctx;
    const flags = segment.flags;
    if (flags & TcpFlags.SYN) return;
    for (const o of segment.options) {
      if (o.kind !== 'mptcp') continue;
      const opt = o.option;
      if (opt.subtype === 'MP_TCPRST' && flags & TcpFlags.RST) {
        if (!sf.join) this.counters.MPRstRx++;
        sf.peerReset = { reason: opt.reason, flags: opt.flags };
      }
      if (opt.subtype === 'MP_FAIL') this.#parts.fallback.mpFailReceived(sf, flags);
    }
    if (!isMptcp(ctx.state) || ctx.keys.remoteKey === undefined) return;
    if (sf.join && sf.joinState !== 'full' && sf.joinState !== 'ackSent') return;
    const paths = this.#parts.paths;
    const localKey = ctx.keys.localKey;
    for (const o of segment.options) {
      if (o.kind !== 'mptcp') continue;
      const opt = o.option;
      switch (opt.subtype) {
        case 'MP_FASTCLOSE':
          if (opt.receiverKey.hi === localKey.hi && opt.receiverKey.lo === localKey.lo) this.#parts.closing.fastCloseReceived();
          break;
        case 'ADD_ADDR':
          if (!(flags & TcpFlags.RST)) paths.addAddrReceived(opt);
          break;
        case 'RM_ADDR':
          if (!(flags & TcpFlags.RST)) paths.rmAddrReceived(opt.addressIds);
          break;
        case 'MP_PRIO':
          if (!(flags & TcpFlags.RST)) paths.mpPrioReceived(sf, opt.backup);
          break;
        default:
          break;
      }
    }
  }

  /** A DSS: its DATA_ACK (and the window relative to it), then its mapping. */
  #onDss(sf: Subflow, segment: TcpSegment, dss: DssOption): void {
    const ctx = this.#ctx;
    if (!ctx.server) ctx.becomeFullyEstablished(); // RFC 8684 3.1: a DSS from the server ends the MP_CAPABLE repeats
    if (dss.dataAck) {
      const acked = this.#onDataAck(dss.dataAck, dss.dataAck64);
      if (acked !== undefined) {
        const end = acked + segment.window * 2 ** sf.tcp.sendWindowShift;
        ctx.send.openWindow(end);
      }
    }
    if (dss.mapping) this.#parts.mappings.add(sf, segment, dss.mapping, dss.dataFin);
  }

  /** A DATA_ACK: returns its data offset when plausible (not beyond anything sent), else undefined. */
  #onDataAck(value: U64, is64: boolean): number | undefined {
    const ctx = this.#ctx;
    const send = ctx.send;
    const localIdsn = ctx.keys.localIdsn;
    const offset = is64 ? offsetFromDsn64(localIdsn, value) : offsetFromDsn32(localIdsn, value.lo, send.acked);
    const limit = send.scheduled + this.#parts.closing.ackLimitExtra;
    if (offset > limit) return undefined; // beyond anything sent
    if (offset <= send.acked) return offset; // old
    send.ack(offset);
    this.#parts.retransmit.dataAcked();
    this.#parts.closing.dataAcked(offset);
    if (send.blocked && ctx.writableBytes >= send.limit / 2) {
      send.unblock();
      ctx.emit({ type: 'writable' });
    }
    // Trim send maps acknowledged at the data level and sent at least once (see SubflowSendMaps.trim).
    for (const s of ctx.subflows) s.send.trim(offset, s.tcp);
    return offset;
  }
}
