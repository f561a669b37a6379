/**
 * An MPTCP v1 connection (the "meta socket") over ONE subflow, sans-IO, in both roles, wire-compatible with
 * Linux: MP_CAPABLE handshake, DSS mappings, DATA_ACK, DATA_FIN, DSS checksums, fallback to TCP.
 *
 * Heads up! Before working on this file read RFC 8684 sections 3.1 (MP_CAPABLE: SYN without key, SYN/ACK with
 * the listener's key, third ACK with both, "the ACK ... MUST be retransmitted ... until a DSS is received"),
 * 3.3 (DSS: "a mapping ... MUST be ... consistent"), 3.3.1 (checksum), 3.3.2 (DATA_ACK), 3.3.3 (DATA_FIN:
 * "the DATA_FIN ... has the data-level length ... including the DATA_FIN"), 3.7 (fallback), and compare with
 * Linux net/mptcp/options.c (`mptcp_established_options_mp`, `mptcp_write_data_fin`,
 * `mptcp_incoming_options`) and subflow.c (`get_mapping_status`, `validate_mapping`, `validate_data_csum`).
 *
 * Call order, as for TcpConnection (the host is the driver):
 *   handleSegment(now, seg) | handleTimeout(now) | write/read/shutdown/close/abort
 *   then pollTransmit(now) until undefined, then pollEvent() until undefined, then pollTimeout().
 *
 * Data sequence numbers are offsets from IDSN + 1 (./dsn.ts); the 64-bit values exist only in options.
 * The subflow's send buffer is the retransmission storage; `#sendMaps` records which data offsets went to
 * which subflow bytes (one linear map for one subflow, a list so that more subflows can come later). On
 * receive, mappings are validated and kept by subflow sequence; the subflow's in-order bytes are placed
 * by data offset into a reassembly queue (duplicates dropped), from which the application reads.
 *
 * Linux's choices followed: 64-bit DSNs and DATA_ACKs are sent; the client sends MP_CAPABLE with both keys on
 * its pure ACKs and MP_CAPABLE with the data-level length on its first data segment until it receives a
 * DSS; a DATA_FIN goes on pure ACKs as a mapping of length 1 with subflow sequence 0, repeated until a
 * DATA_ACK covers it; the subflow is closed (FIN) once both DATA_FINs are done.
 */
import type { TcpConnection, TcpEndpoints, TcpExtension, TcpSegmentDraft, TcpSegmentKind } from '../tcp/connection.js';
import { TcpConnection as Tcp } from '../tcp/connection.js';
import type { Micros, TcpConfig, TcpError, TcpEvent, TcpInfo, TcpStateName } from '../tcp/types.js';
import { TcpFlags, type TcpOption, type TcpSegment, type TcpSegmentRepr } from '../wire/tcp.js';
import { MpCapableFlag, type DssMapping, type MpCapableOption, type MptcpOption } from '../wire/mptcp-option.js';
import { DssChecksumAccumulator, dssChecksum, verifyDssChecksum } from '../wire/dss-checksum.js';
import type { U64 } from '../wire/u64.js';
import { keyTokenAndIdsn, randomKey, type RandomBytes } from './keys.js';
import { createMptcpCounters, type MptcpCounters, type MptcpMonitorEvent } from './counters.js';
import { dsnFromOffset, offsetFromDsn32, offsetFromDsn64 } from './dsn.js';

/** Options of one MPTCP connection. */
export interface MptcpConnectionOptions {
  /** Source of the local key (crypto.randomBytes, or a seeded PRNG in simulations). */
  readonly randomBytes: RandomBytes;
  /** Ask for DSS checksums (flag A; Linux's net.mptcp.checksum_enabled). Default false. */
  readonly checksum?: boolean;
  /** Counters to add to (e.g. the host's); default a private object. */
  readonly counters?: MptcpCounters;
  /** Monitor events (CREATED, ESTABLISHED, CLOSED). */
  readonly onMonitorEvent?: (event: MptcpMonitorEvent) => void;
  /** Most bytes kept at the connection level for the application before the subflow stops being read. */
  readonly receiveBufferBytes?: number;
}

/** What TcpSocket and the host need of a byte-stream connection (TCP or MPTCP). */
export interface StreamConnection {
  readonly endpoints: TcpEndpoints;
  readonly state: TcpStateName;
  readonly readableBytes: number;
  readonly writableBytes: number;
  write(data: Uint8Array): number;
  read(maxBytes?: number): Uint8Array | undefined;
  shutdown(): void;
  close(): void;
  abort(): void;
  setNoDelay(noDelay: boolean): void;
  info(): TcpInfo;
  pollEvent(): TcpEvent | undefined;
}

/** MPTCP_INFO-like connection info. */
export interface MptcpInfo {
  readonly mode: 'handshake' | 'mptcp' | 'fallback';
  readonly fullyEstablished: boolean;
  readonly checksum: boolean;
  readonly localToken: number;
  readonly remoteToken: number | undefined;
  /** Data-level bytes written by the application, acknowledged by DATA_ACK, and received in order. */
  readonly bytesSent: number;
  readonly bytesAcked: number;
  readonly bytesReceived: number;
  readonly subflows: number;
}

type Mode = 'handshake' | 'mptcp' | 'fallback';

/** One send mapping: `length` data bytes at `dataOffset` went to subflow relative sequence `subflowSeq`. */
interface SendMap {
  subflowSeq: number;
  dataOffset: number;
  length: number;
}

/** One received mapping (data bytes only; a DATA_FIN is recorded separately). */
interface ReceiveMap {
  readonly subflowSeq: number;
  readonly dataOffset: number;
  readonly length: number;
  readonly checksum: number | undefined;
  /** With checksums, the absolute DSN and wire length the checksum covers. */
  readonly dsn: U64;
  readonly wireLength: number;
  /** With checksums: pieces held until the whole mapping has arrived and verified. */
  pieces: Uint8Array[] | undefined;
  received: number;
}

const VERSION = 1;
const EMPTY = new Uint8Array(0);
/** DATA_FIN retransmission: start and cap (Linux uses the subflow RTO; this is close enough for one path). */
const DATA_FIN_RTO_MIN: Micros = 200_000;
const DATA_FIN_RTO_MAX: Micros = 60_000_000;

/** An MPTCP connection over one subflow. See the file comment for the call order. */
export class MptcpConnection implements StreamConnection {
  readonly subflow: TcpConnection;
  readonly counters: MptcpCounters;
  readonly server: boolean;
  readonly localKey: U64;
  readonly localToken: number;
  readonly localIdsn: U64;

  #mode: Mode = 'handshake';
  #remoteKey: U64 | undefined;
  #remoteToken: number | undefined;
  #remoteIdsn: U64 | undefined;
  #checksum: boolean;
  readonly #wantChecksum: boolean;
  #fullyEstablished = false;
  readonly #onMonitor: ((event: MptcpMonitorEvent) => void) | undefined;
  readonly #receiveLimit: number;

  #localIsn = 0;
  #remoteIsn = 0;

  // Send side (offsets from IDSN + 1).
  #sendNext = 0;
  #sendUna = 0;
  readonly #sendMaps: SendMap[] = [];
  /** Subflow relative sequence just past the last data byte handed to the wire. */
  #subflowSentEnd = 1;
  #subflowWritten = 0;
  #writeShutdown = false;
  #dataFinOffset: number | undefined;
  #dataFinAcked = false;
  #dataFinDue = false;
  #dataFinTimer: Micros | undefined;
  #dataFinRto = DATA_FIN_RTO_MIN;

  // Receive side.
  #recvNext = 0;
  readonly #receiveMaps: ReceiveMap[] = [];
  /** Subflow relative sequence of the next byte read from the subflow. */
  #subflowReadSeq = 1;
  readonly #outOfOrder = new Map<number, Uint8Array>();
  readonly #ready: Uint8Array[] = [];
  #readyHead = 0;
  #readable = 0;
  #remoteFinOffset: number | undefined;
  #dataFinReceived = false;
  #endReported = false;
  #readClosed = false;
  /** Data delivered since the last 'readable' event. */
  #newData = false;

  #subflowClosing = false;
  #closedReported = false;
  readonly #events: TcpEvent[] = [];

  private constructor(options: MptcpConnectionOptions, server: boolean) {
    this.server = server;
    this.counters = options.counters ?? createMptcpCounters();
    this.#wantChecksum = options.checksum ?? false;
    this.#checksum = this.#wantChecksum;
    this.#onMonitor = options.onMonitorEvent;
    this.#receiveLimit = options.receiveBufferBytes ?? 8 * 1024 * 1024;
    this.localKey = randomKey(options.randomBytes);
    const derived = keyTokenAndIdsn(this.localKey);
    this.localToken = derived.token;
    this.localIdsn = derived.idsn;
    // Placeholder replaced right below (the subflow needs the extension, which needs `this`).
    this.subflow = undefined as unknown as TcpConnection;
  }

  #extension(): TcpExtension {
    return {
      // DSS with 64-bit DATA_ACK and 64-bit mapping (4 + 8 + 14) and a checksum (2): 28, as Linux sizes it.
      reservedOptionBytes: 28,
      // A DSS with a 64-bit DATA_ACK: 12.
      reservedAckOptionBytes: 12,
      outgoingOptions: (kind, draft) => this.#outgoing(kind, draft),
      onOptions: (segment) => this.#incoming(segment),
    };
  }

  /** Active open: the SYN carries MP_CAPABLE (4 bytes). */
  static connect(now: Micros, endpoints: TcpEndpoints, iss: number, config: TcpConfig | undefined, options: MptcpConnectionOptions): MptcpConnection {
    const c = new MptcpConnection(options, false);
    c.#localIsn = iss >>> 0;
    (c as { subflow: TcpConnection }).subflow = Tcp.connect(now, endpoints, iss, config, c.#extension());
    return c;
  }

  /**
   * Passive open for a SYN that carries MP_CAPABLE version 1 (check with `synMpCapable` first; other SYNs are
   * plain TCP connections).
   */
  static accept(now: Micros, endpoints: TcpEndpoints, iss: number, syn: TcpSegment, config: TcpConfig | undefined, options: MptcpConnectionOptions): MptcpConnection {
    const c = new MptcpConnection(options, true);
    c.#localIsn = iss >>> 0;
    (c as { subflow: TcpConnection }).subflow = Tcp.accept(now, endpoints, iss, syn, config, c.#extension());
    return c;
  }

  get endpoints(): TcpEndpoints {
    return this.subflow.endpoints;
  }

  /** True once the connection is plain TCP (peer without MPTCP, or fallback). */
  get fallback(): boolean {
    return this.#mode === 'fallback';
  }

  /** Data-level state with TCP's names (Linux's msk uses TCP states too). */
  get state(): TcpStateName {
    const sub = this.subflow.state;
    if (this.#mode !== 'mptcp') return sub;
    if (sub === 'CLOSED' || sub === 'TIME-WAIT' || sub === 'SYN-SENT' || sub === 'SYN-RECEIVED') return sub;
    if (this.#dataFinOffset === undefined) return this.#dataFinReceived ? 'CLOSE-WAIT' : 'ESTABLISHED';
    if (!this.#dataFinAcked) return this.#dataFinReceived ? 'LAST-ACK' : 'FIN-WAIT-1';
    return this.#dataFinReceived ? 'TIME-WAIT' : 'FIN-WAIT-2';
  }

  get readableBytes(): number {
    return this.#mode === 'fallback' ? this.#readable + this.subflow.readableBytes : this.#readable;
  }

  get writableBytes(): number {
    return this.#writeShutdown ? 0 : this.subflow.writableBytes;
  }

  write(data: Uint8Array): number {
    if (this.#writeShutdown) return 0;
    const n = this.subflow.write(data);
    if (n > 0 && this.#mode !== 'fallback') {
      const seq = this.#subflowWritten + 1;
      const last = this.#sendMaps[this.#sendMaps.length - 1];
      if (last && last.subflowSeq + last.length === seq && last.dataOffset + last.length === this.#sendNext) last.length += n;
      else this.#sendMaps.push({ subflowSeq: seq, dataOffset: this.#sendNext, length: n });
    }
    this.#subflowWritten += n;
    this.#sendNext += n;
    return n;
  }

  read(maxBytes = Infinity): Uint8Array | undefined {
    if (this.#readable === 0) {
      if (this.#mode === 'fallback') return this.subflow.read(maxBytes);
      return undefined;
    }
    const chunk = this.#ready[this.#readyHead]!;
    let out: Uint8Array;
    if (chunk.length <= maxBytes) {
      out = chunk;
      this.#ready[this.#readyHead++] = EMPTY;
      if (this.#readyHead > 1024 && this.#readyHead * 2 > this.#ready.length) {
        this.#ready.splice(0, this.#readyHead);
        this.#readyHead = 0;
      }
    } else {
      out = chunk.subarray(0, maxBytes);
      this.#ready[this.#readyHead] = chunk.subarray(maxBytes);
    }
    this.#readable -= out.length;
    this.#pullSubflow();
    return out;
  }

  setNoDelay(noDelay: boolean): void {
    this.subflow.setNoDelay(noDelay);
  }

  /** Half-close: a DATA_FIN after the last byte written (the subflow FIN follows once both DATA_FINs are done). */
  shutdown(): void {
    if (this.#writeShutdown) return;
    this.#writeShutdown = true;
    if (this.#mode !== 'mptcp') {
      this.subflow.shutdown();
      return;
    }
    this.#dataFinOffset = this.#sendNext;
    this.#dataFinDue = true;
  }

  close(): void {
    this.#readClosed = true;
    if (this.#mode !== 'mptcp') {
      this.#writeShutdown = true;
      this.subflow.close();
      return;
    }
    this.shutdown();
  }

  abort(): void {
    this.subflow.abort();
  }

  info(): TcpInfo {
    return this.subflow.info();
  }

  mptcpInfo(): MptcpInfo {
    return {
      mode: this.#mode,
      fullyEstablished: this.#fullyEstablished,
      checksum: this.#checksum,
      localToken: this.localToken,
      remoteToken: this.#remoteToken,
      bytesSent: this.#sendNext,
      bytesAcked: this.#sendUna,
      bytesReceived: this.#recvNext - (this.#dataFinReceived ? 1 : 0),
      subflows: 1,
    };
  }

  // ---- driver entry points ----

  handleSegment(now: Micros, segment: TcpSegment): void {
    this.subflow.handleSegment(now, segment);
    this.#afterInput(now);
  }

  handleTimeout(now: Micros): void {
    const d = this.subflow.pollTimeout();
    if (d !== undefined && d <= now) this.subflow.handleTimeout(now);
    if (this.#dataFinTimer !== undefined && this.#dataFinTimer <= now) {
      this.#dataFinTimer = undefined;
      if (!this.#dataFinAcked && this.#mode === 'mptcp') {
        this.#dataFinDue = true;
        this.#dataFinRto = Math.min(this.#dataFinRto * 2, DATA_FIN_RTO_MAX);
      }
    }
    this.#afterInput(now);
  }

  pollTransmit(now: Micros): TcpSegmentRepr | undefined {
    const repr = this.subflow.pollTransmit(now);
    if (repr !== undefined) return repr;
    if (this.#dataFinDue && this.#mode === 'mptcp' && !this.#dataFinAcked && this.#allDataSent()) {
      this.subflow.requestAck();
      const ack = this.subflow.pollTransmit(now);
      if (this.#dataFinTimer === undefined) this.#dataFinTimer = now + Math.max(this.#dataFinRto, this.#subflowRto());
      return ack;
    }
    return undefined;
  }

  pollTimeout(): Micros | undefined {
    const a = this.subflow.pollTimeout();
    const b = this.#dataFinTimer;
    if (a === undefined) return b;
    if (b === undefined) return a;
    return Math.min(a, b);
  }

  pollEvent(): TcpEvent | undefined {
    this.#translateSubflowEvents();
    return this.#events.shift();
  }

  // ---- internals ----

  #subflowRto(): Micros {
    return this.subflow.info().rtoMicros;
  }

  #allDataSent(): boolean {
    return this.#subflowSentEnd >= this.#subflowWritten + 1;
  }

  #monitor(type: MptcpMonitorEvent['type']): void {
    this.#onMonitor?.({ type, token: this.localToken, server: this.server });
  }

  #fallBack(): void {
    if (this.#mode === 'fallback') return;
    this.#mode = 'fallback';
    this.#sendMaps.length = 0;
    this.#receiveMaps.length = 0;
    // A shutdown asked before the fallback was a DATA_FIN: it is now a subflow FIN.
    if (this.#writeShutdown) this.subflow.shutdown();
  }

  #setRemoteKey(key: U64): void {
    this.#remoteKey = key;
    const derived = keyTokenAndIdsn(key);
    this.#remoteToken = derived.token;
    this.#remoteIdsn = derived.idsn;
  }

  #becomeFullyEstablished(): void {
    if (this.#fullyEstablished) return;
    this.#fullyEstablished = true;
    this.#monitor('ESTABLISHED');
  }

  #capableFlags(): number {
    return MpCapableFlag.H | (this.#checksum ? MpCapableFlag.A : 0);
  }

  #outgoing(kind: TcpSegmentKind, draft: TcpSegmentDraft): readonly TcpOption[] | undefined {
    switch (kind) {
      case 'syn':
        this.#localIsn = draft.seq >>> 0;
        this.counters.MPCapableSYNTX++;
        return [{ kind: 'mptcp', option: { subtype: 'MP_CAPABLE', version: VERSION, flags: this.#capableFlags() } }];
      case 'synAck':
        this.#localIsn = draft.seq >>> 0;
        if (this.#mode !== 'handshake' || !this.server) return undefined;
        return [{ kind: 'mptcp', option: { subtype: 'MP_CAPABLE', version: VERSION, flags: this.#capableFlags(), senderKey: this.localKey } }];
      case 'ack':
        return this.#ackOptions();
      case 'data':
        return this.#dataOptions(draft);
      default:
        return undefined;
    }
  }

  #ackOptions(): readonly TcpOption[] | undefined {
    if (this.#mode !== 'mptcp') return undefined;
    if (!this.server && !this.#fullyEstablished) {
      // RFC 8684 3.1: the third ACK carries both keys, and is repeated until a DSS arrives.
      return [{ kind: 'mptcp', option: { subtype: 'MP_CAPABLE', version: VERSION, flags: this.#capableFlags(), senderKey: this.localKey, receiverKey: this.#remoteKey! } }];
    }
    let mapping: DssMapping | undefined;
    let dataFin = false;
    if (this.#dataFinOffset !== undefined && !this.#dataFinAcked && this.#allDataSent()) {
      // Linux `mptcp_write_data_fin` on a packet without data: subflow sequence 0, data-level length 1.
      const dsn = dsnFromOffset(this.localIdsn, this.#dataFinOffset);
      mapping = {
        dsn,
        dsn64: true,
        subflowSeq: 0,
        dataLength: 1,
        ...(this.#checksum ? { checksum: dssChecksum(dsn, 0, 1, EMPTY) } : {}),
      };
      dataFin = true;
      if (this.#dataFinDue) {
        this.#dataFinDue = false;
        this.counters.DataFinTx++;
      }
    }
    return [{ kind: 'mptcp', option: this.#dss(dataFin, mapping) }];
  }

  #dss(dataFin: boolean, mapping: DssMapping | undefined): MptcpOption {
    return {
      subtype: 'DSS',
      dataFin,
      dataAck: dsnFromOffset(this.#remoteIdsn!, this.#recvNext),
      dataAck64: true,
      ...(mapping ? { mapping } : {}),
    };
  }

  #dataOptions(draft: TcpSegmentDraft): readonly TcpOption[] | undefined {
    if (this.#mode !== 'mptcp' || draft.payloadLength === 0) return draft.payloadLength === 0 ? this.#ackOptions() : undefined;
    const subflowSeq = (draft.seq - this.#localIsn) >>> 0;
    const end = subflowSeq + draft.payloadLength;
    if (end > this.#subflowSentEnd) this.#subflowSentEnd = end;
    const map = this.#sendMapFor(subflowSeq);
    if (map === undefined) return this.#ackOptions(); // cannot happen: every written byte is mapped
    const dataOffset = map.dataOffset + (subflowSeq - map.subflowSeq);
    const length = Math.min(draft.payloadLength, map.subflowSeq + map.length - subflowSeq);
    const dsn = dsnFromOffset(this.localIdsn, dataOffset);
    const payload = draft.payload ?? EMPTY;
    const checksum = this.#checksum ? dssChecksum(dsn, subflowSeq, length, payload.subarray(0, length)) : undefined;
    if (!this.server && !this.#fullyEstablished && subflowSeq === 1) {
      // RFC 8684 3.1 / Linux: the first data carries MP_CAPABLE with both keys and the data-level length (22/24).
      const option: MpCapableOption = {
        subtype: 'MP_CAPABLE',
        version: VERSION,
        flags: this.#capableFlags(),
        senderKey: this.localKey,
        receiverKey: this.#remoteKey!,
        dataLength: length,
        ...(checksum !== undefined ? { checksum } : {}),
      };
      return [{ kind: 'mptcp', option }];
    }
    const mapping: DssMapping = { dsn, dsn64: true, subflowSeq, dataLength: length, ...(checksum !== undefined ? { checksum } : {}) };
    return [{ kind: 'mptcp', option: this.#dss(false, mapping) }];
  }

  #sendMapFor(subflowSeq: number): SendMap | undefined {
    const maps = this.#sendMaps;
    let lo = 0;
    let hi = maps.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const m = maps[mid]!;
      if (subflowSeq < m.subflowSeq) hi = mid - 1;
      else if (subflowSeq >= m.subflowSeq + m.length) lo = mid + 1;
      else return m;
    }
    return undefined;
  }

  #incoming(segment: TcpSegment): void {
    const flags = segment.flags;
    let capable: MpCapableOption | undefined;
    let dss: Extract<MptcpOption, { subtype: 'DSS' }> | undefined;
    for (const o of segment.options) {
      if (o.kind !== 'mptcp') continue;
      if (o.option.subtype === 'MP_CAPABLE') capable ??= o.option;
      else if (o.option.subtype === 'DSS') dss ??= o.option;
    }
    if (flags & TcpFlags.RST) return;
    if (flags & TcpFlags.SYN) {
      if (flags & TcpFlags.ACK) {
        if (this.server || this.#mode !== 'handshake') return;
        this.#remoteIsn = segment.seq >>> 0;
        if (capable && capable.version === VERSION && capable.senderKey && capable.receiverKey === undefined) {
          this.counters.MPCapableSYNACKRX++;
          this.#setRemoteKey(capable.senderKey);
          if (capable.flags & MpCapableFlag.A) this.#checksum = true;
          this.#mode = 'mptcp';
          this.#monitor('CREATED');
        } else {
          this.counters.MPCapableFallbackSYNACK++;
          this.#fallBack();
        }
      } else if (this.server && this.#mode === 'handshake') {
        this.#remoteIsn = segment.seq >>> 0;
        this.counters.MPCapableSYNRX++;
        if (capable && capable.flags & MpCapableFlag.A) this.#checksum = true;
      }
      return;
    }
    if (this.#mode === 'fallback') return;
    if (this.server && this.#mode === 'handshake') {
      if (!(flags & TcpFlags.ACK)) return;
      // The third ACK (or the first data, if it was lost): both keys, ours echoed.
      if (capable && capable.senderKey && capable.receiverKey && capable.receiverKey.hi === this.localKey.hi && capable.receiverKey.lo === this.localKey.lo) {
        this.counters.MPCapableACKRX++;
        this.#setRemoteKey(capable.senderKey);
        if (capable.flags & MpCapableFlag.A) this.#checksum = true;
        this.#mode = 'mptcp';
        this.#monitor('CREATED');
        this.#becomeFullyEstablished();
      } else {
        this.counters.MPCapableFallbackACK++;
        this.#fallBack();
        return;
      }
    }
    if (this.#mode !== 'mptcp') return;
    if (capable && capable.dataLength !== undefined && this.server && segment.payload.length > 0) {
      // MP_CAPABLE with data: the mapping of the peer's first data byte (DSN IDSN + 1, subflow sequence 1).
      this.#addReceiveMap(segment, {
        dsn: dsnFromOffset(this.#remoteIdsn!, 0),
        dsn64: true,
        subflowSeq: 1,
        dataLength: capable.dataLength,
        ...(capable.checksum !== undefined ? { checksum: capable.checksum } : {}),
      }, false);
    }
    if (dss) {
      if (!this.server) this.#becomeFullyEstablished(); // RFC 8684 3.1: a DSS from the server ends the MP_CAPABLE repeats
      if (dss.dataAck) this.#onDataAck(dss.dataAck, dss.dataAck64);
      if (dss.mapping) this.#addReceiveMap(segment, dss.mapping, dss.dataFin);
    }
  }

  #onDataAck(value: U64, is64: boolean): void {
    const offset = is64 ? offsetFromDsn64(this.localIdsn, value) : offsetFromDsn32(this.localIdsn, value.lo, this.#sendUna);
    const limit = this.#sendNext + (this.#dataFinOffset !== undefined ? 1 : 0);
    if (offset <= this.#sendUna || offset > limit) return; // old or beyond anything sent
    this.#sendUna = offset;
    if (this.#dataFinOffset !== undefined && offset > this.#dataFinOffset && !this.#dataFinAcked) {
      this.#dataFinAcked = true;
      this.#dataFinTimer = undefined;
      this.#dataFinDue = false;
    }
    // Trim send maps fully acknowledged.
    const maps = this.#sendMaps;
    let n = 0;
    while (n < maps.length - 1 && maps[n]!.dataOffset + maps[n]!.length <= offset) n++;
    if (n > 0) maps.splice(0, n);
  }

  /** Records a received mapping after validating it against the segment and the mappings in use. */
  #addReceiveMap(segment: TcpSegment, mapping: DssMapping, dataFin: boolean): void {
    const dataOffset = mapping.dsn64 ? offsetFromDsn64(this.#remoteIdsn!, mapping.dsn) : offsetFromDsn32(this.#remoteIdsn!, mapping.dsn.lo, this.#recvNext);
    const dataLength = mapping.dataLength - (dataFin ? 1 : 0);
    if (dataFin) {
      const finOffset = dataOffset + dataLength;
      if (mapping.checksum !== undefined && dataLength === 0 && this.#checksum && !verifyDssChecksum(mapping.dsn, mapping.subflowSeq, mapping.dataLength, EMPTY, mapping.checksum)) {
        this.counters.DataCsumErr++;
        return;
      }
      if (this.#remoteFinOffset === undefined) {
        this.#remoteFinOffset = finOffset;
        this.counters.DataFinRx++;
      }
    }
    if (dataLength <= 0 || mapping.subflowSeq === 0) {
      this.#checkDataFin();
      return;
    }
    if (mapping.dataLength === 0 && mapping.subflowSeq === 0) return; // infinite mapping: not in this slice
    const subflowSeq = mapping.subflowSeq >>> 0;
    if (segment.payload.length > 0) {
      const segSeq = (segment.seq - this.#remoteIsn) >>> 0;
      if (segSeq < subflowSeq || segSeq >= subflowSeq + dataLength) {
        this.counters.DSSTcpMismatch++;
        return;
      }
    }
    if (subflowSeq + dataLength <= this.#subflowReadSeq) return; // for bytes already consumed
    const maps = this.#receiveMaps;
    for (const m of maps) {
      if (subflowSeq < m.subflowSeq + m.length && m.subflowSeq < subflowSeq + dataLength) {
        if (m.subflowSeq !== subflowSeq || m.dataOffset !== dataOffset || m.length !== dataLength) this.counters.DSSNotMatching++;
        return; // identical (a retransmission) or conflicting: the one in use stays
      }
    }
    const entry: ReceiveMap = {
      subflowSeq,
      dataOffset,
      length: dataLength,
      checksum: this.#checksum ? mapping.checksum : undefined,
      dsn: mapping.dsn.hi === 0 && !mapping.dsn64 ? dsnFromOffset(this.#remoteIdsn!, dataOffset) : mapping.dsn,
      wireLength: mapping.dataLength,
      pieces: this.#checksum ? [] : undefined,
      received: 0,
    };
    let i = maps.length;
    while (i > 0 && maps[i - 1]!.subflowSeq > subflowSeq) i--;
    maps.splice(i, 0, entry);
  }

  #afterInput(_now: Micros): void {
    this.#pullSubflow();
  }

  /** Moves the subflow's in-order bytes to the connection level through the mappings. */
  #pullSubflow(): void {
    if (this.#mode === 'fallback') return;
    if (this.#mode !== 'mptcp') return;
    while (this.#readable < this.#receiveLimit) {
      const map = this.#receiveMaps[0];
      if (map === undefined) {
        if (this.subflow.readableBytes > 0) {
          // RFC 8684 3.7: data without a mapping; with one subflow, fall back to TCP (no data lost: what the
          // subflow holds is read as plain TCP from now on).
          this.counters.DSSFallback++;
          this.#fallBack();
        }
        return;
      }
      if (map.subflowSeq > this.#subflowReadSeq) {
        if (this.subflow.readableBytes > 0) {
          this.counters.DSSFallback++;
          this.#fallBack();
        }
        return;
      }
      const skip = this.#subflowReadSeq - map.subflowSeq;
      const want = map.length - skip;
      const bytes = this.subflow.read(want);
      if (bytes === undefined) return;
      const dataOffset = map.dataOffset + skip;
      this.#subflowReadSeq += bytes.length;
      const done = bytes.length === want;
      if (done) this.#receiveMaps.shift();
      if (map.pieces !== undefined) {
        map.pieces.push(bytes);
        map.received += bytes.length;
        if (!done) continue;
        const acc = new DssChecksumAccumulator(map.dsn, map.subflowSeq, map.wireLength);
        for (const p of map.pieces) acc.add(p);
        if (map.checksum === undefined || !acc.verify(map.checksum)) {
          // RFC 8684 3.7: MP_FAIL and fallback (single subflow) come later; the data is not delivered.
          this.counters.DataCsumErr++;
          continue;
        }
        let at = map.dataOffset;
        for (const p of map.pieces) {
          this.#insertData(at, p);
          at += p.length;
        }
        map.pieces = undefined;
      } else {
        this.#insertData(dataOffset, bytes);
      }
    }
  }

  /** Data-level reassembly: in-order data to the application, the rest kept by offset, duplicates dropped. */
  #insertData(offset: number, bytes: Uint8Array): void {
    let data = bytes;
    let at = offset;
    if (at + data.length <= this.#recvNext) {
      this.counters.DuplicateData++;
      return;
    }
    if (at < this.#recvNext) {
      data = data.subarray(this.#recvNext - at);
      at = this.#recvNext;
    }
    if (at > this.#recvNext) {
      const existing = this.#outOfOrder.get(at);
      if (existing === undefined || existing.length < data.length) this.#outOfOrder.set(at, data);
      return;
    }
    this.#deliver(data);
    while (this.#outOfOrder.size > 0) {
      let progressed = false;
      for (const [k, v] of this.#outOfOrder) {
        if (k > this.#recvNext) continue;
        this.#outOfOrder.delete(k);
        if (k + v.length > this.#recvNext) this.#deliver(v.subarray(this.#recvNext - k));
        progressed = true;
      }
      if (!progressed) break;
    }
    this.#checkDataFin();
  }

  #deliver(data: Uint8Array): void {
    this.#recvNext += data.length;
    if (this.#readClosed) return;
    this.#newData = true;
    this.#ready.push(data);
    this.#readable += data.length;
  }

  #checkDataFin(): void {
    if (this.#dataFinReceived || this.#remoteFinOffset === undefined || this.#recvNext !== this.#remoteFinOffset) return;
    this.#dataFinReceived = true;
    this.#recvNext += 1; // the DATA_FIN takes one data sequence number
    this.subflow.requestAck(); // RFC 8684 3.3.3: acknowledge it with a DATA_ACK
  }

  #translateSubflowEvents(): void {
    for (let e = this.subflow.pollEvent(); e !== undefined; e = this.subflow.pollEvent()) {
      switch (e.type) {
        case 'established':
          this.#events.push(e);
          break;
        case 'readable':
          if (this.#mode === 'fallback') this.#events.push(e);
          else {
            this.#pullSubflow();
            if ((this.#mode as Mode) === 'fallback') this.#events.push(e);
          }
          break;
        case 'writable':
          this.#events.push(e);
          break;
        case 'end':
          if (this.#mode === 'fallback') this.#events.push(e);
          else if (this.#remoteFinOffset === undefined) {
            // A subflow FIN without DATA_FIN: with one subflow, the end of the data stream.
            this.#pullSubflow();
            this.#remoteFinOffset = this.#recvNext;
            this.#checkDataFin();
          }
          break;
        case 'closed': {
          const cleanEnd = this.#mode === 'mptcp' && this.#dataFinReceived && this.#dataFinAcked;
          const error: TcpError | undefined = cleanEnd ? undefined : e.error;
          this.#reportClosed(error);
          break;
        }
      }
    }
    if (this.#newData) {
      this.#newData = false;
      this.#events.push({ type: 'readable' });
    }
    if (this.#mode === 'mptcp') {
      if (this.#dataFinReceived && !this.#endReported && this.#readable === 0) {
        this.#endReported = true;
        this.#events.push({ type: 'end' });
      }
      if (this.#dataFinReceived && this.#dataFinAcked && !this.#subflowClosing) {
        // Both DATA_FINs done: close the subflow (FIN), as Linux does when the msk is closed.
        this.#subflowClosing = true;
        this.subflow.close();
      }
    }
  }

  #reportClosed(error: TcpError | undefined): void {
    if (this.#closedReported) return;
    this.#closedReported = true;
    if (this.#mode === 'mptcp') this.#monitor('CLOSED');
    this.#events.push(error ? { type: 'closed', error } : { type: 'closed' });
  }
}

/** The MP_CAPABLE option of a SYN when it asks for MPTCP v1 (what a listener answers with MPTCP). */
export function synMpCapable(syn: TcpSegment): MpCapableOption | undefined {
  for (const o of syn.options) {
    if (o.kind === 'mptcp' && o.option.subtype === 'MP_CAPABLE') {
      const c = o.option;
      return c.version === VERSION && c.senderKey === undefined ? c : undefined;
    }
  }
  return undefined;
}
