/**
 * An MPTCP v1 connection (the "meta socket") over one or more subflows, sans-IO, in both roles,
 * wire-compatible with Linux: MP_CAPABLE handshake, MP_JOIN subflows, DSS mappings, DATA_ACK, DATA_FIN, DSS
 * checksums, fallback to TCP.
 *
 * Heads up! Before working on this file read RFC 8684 sections 3.1 (MP_CAPABLE: SYN without key, SYN/ACK with
 * the listener's key, third ACK with both, "the ACK ... MUST be retransmitted ... until a DSS is received"),
 * 3.2 (MP_JOIN: token, nonces, truncated HMAC on the SYN/ACK, 160-bit HMAC on the third ACK, and "the
 * initiator MUST NOT send data on the subflow until it has received the fourth ACK"), 3.3 (DSS: "a mapping
 * ... MUST be ... consistent"), 3.3.1 (checksum), 3.3.2 (DATA_ACK), 3.3.3 (DATA_FIN: "the DATA_FIN ... has
 * the data-level length ... including the DATA_FIN"), 3.3.6 (reinjection), 3.7 (fallback), and compare with
 * Linux net/mptcp/options.c (`mptcp_established_options_mp`, `mptcp_write_data_fin`,
 * `mptcp_incoming_options`, `check_fully_established`) and subflow.c (`get_mapping_status`,
 * `validate_mapping`, `validate_data_csum`, `subflow_hmac_valid`, `subflow_finish_connect`).
 *
 * Call order, as for TcpConnection (the host is the driver):
 *   handleSegment(now, seg) / handleSubflowSegment(now, subflow, seg) | handleTimeout(now) |
 *   write/read/shutdown/close/abort
 *   then pollTransmit(now) (or pollTransmitFrom) until undefined, then pollEvent() until undefined, then
 *   pollTimeout().
 *
 * Data sequence numbers are offsets from IDSN + 1 (./dsn.ts); the 64-bit values exist only in options.
 * Send side: the application's bytes are kept at the connection level (send-buffer.ts, from the DATA_ACK up)
 * and handed to subflows by the scheduler (src/sched, "default"), chunk by chunk, as much as each subflow can
 * send now; each subflow's `sendMaps` records which data offsets went to which of its bytes. A subflow that
 * dies with data not acknowledged at the data level has those ranges reinjected on another subflow. Receive
 * side: mappings are validated and kept by subflow sequence per subflow; each subflow's in-order bytes are
 * placed by data offset into one reassembly queue (duplicates dropped), from which the application reads.
 *
 * Linux's choices followed: 64-bit DSNs and DATA_ACKs are sent; the client sends MP_CAPABLE with both keys on
 * its pure ACKs and MP_CAPABLE with the data-level length on its first data segment until it receives a
 * DSS; a DATA_FIN goes on pure ACKs as a mapping of length 1 with subflow sequence 0, repeated until a
 * DATA_ACK covers it; the subflows are closed (FIN) once both DATA_FINs are done; a joining subflow's third
 * ACK (MP_JOIN with the HMAC) is repeated until the peer acknowledges it (the "fourth ACK").
 */
import type { TcpConnection, TcpEndpoints, TcpExtension, TcpSegmentDraft, TcpSegmentKind } from '../tcp/connection.js';
import { TcpConnection as Tcp } from '../tcp/connection.js';
import type { Micros, TcpConfig, TcpError, TcpEvent, TcpInfo, TcpStateName } from '../tcp/types.js';
import { TcpFlags, type TcpOption, type TcpSegment, type TcpSegmentRepr } from '../wire/tcp.js';
import {
  MpCapableFlag,
  MpTcpRstReason,
  type DssMapping,
  type MpCapableOption,
  type MpJoinOption,
  type MpJoinSynOption,
  type MptcpOption,
} from '../wire/mptcp-option.js';
import { DssChecksumAccumulator, dssChecksum, verifyDssChecksum } from '../wire/dss-checksum.js';
import type { U64 } from '../wire/u64.js';
import { addAddrHmac, hmacEqual, joinAckHmac, joinSynAckHmac, keyTokenAndIdsn, randomKey, randomNonce, type RandomBytes } from './keys.js';
import { createPathManager, DEFAULT_PATH_MANAGER } from '../pm/registry.js';
import type { PathManager, PathManagerConfig, PmConnection, PmSubflow, SubflowRequest } from '../pm/types.js';
import { addressesEqual, DEFAULT_LIMITS, type Limits, type TableEndpoint } from '../pm/config.js';
import { createMptcpCounters, type MptcpCounters } from './mib.js';
import { MPTCP_EVENT_FLAG, type MptcpEvent } from './events.js';
import { dsnFromOffset, offsetFromDsn32, offsetFromDsn64 } from './dsn.js';
import { createScheduler } from '../sched/registry.js';
import { CoupledGroup } from '../cc/coupled.js';
import { DEFAULT_CONGESTION_CONTROL, isCoupledCongestionControl } from '../cc/registry.js';
import { MptcpTimer, MptcpTimerTable } from './timers.js';
import { SendBuffer } from './send-buffer.js';
import { Reassembly } from './reassembly.js';
import { Subflow, type ReceiveMap, type SubflowInit, type SubflowOwner } from './subflow.js';
import { Handshake, type DssOption } from './handshake.js';
import { JoinHandshake } from './subflow.js';
import { ConnectionKeys } from './keys.js';

export { synMpCapable, synMpJoin } from './handshake.js';
import { drawLocalKey, type TokenTable } from './token.js';
import { fastCloseOf, HANDSHAKE, isMptcp, modeOf, MPTCP, type ConnectionContext, type ConnectionState } from './context.js';

export { Subflow } from './subflow.js';
import type { Scheduler, SubflowView } from '../sched/types.js';

/** Options of one MPTCP connection. */
export interface MptcpConnectionOptions {
  /** Source of the local key (crypto.randomBytes, or a seeded PRNG in simulations). */
  readonly randomBytes: RandomBytes;
  /** Ask for DSS checksums (flag A; Linux's net.mptcp.checksum_enabled). Default false. */
  readonly checksum?: boolean;
  /** Counters to add to (e.g. the host's); default a private object. */
  readonly counters?: MptcpCounters;
  /** Monitor events (CREATED, ESTABLISHED, CLOSED). */
  /** `ip mptcp monitor` events of this connection (with the kernel's attributes). */
  readonly onMonitorEvent?: (event: MptcpEvent) => void;
  /** Most bytes kept at the connection level for the application before the subflow stops being read. */
  readonly receiveBufferBytes?: number;
  /** Most data-level bytes written and not yet DATA_ACKed; default the TCP config's sendBufferBytes or 4 MiB. */
  readonly sendBufferBytes?: number;
  /**
   * The host's token table: the local key is drawn again while its token is in use, and the connection is
   * entered under its token (the host removes it when it forgets the connection). Without one the key is
   * drawn once and nothing checks it.
   */
  readonly tokens?: TokenTable<MptcpConnection>;
  /** Scheduler name (src/sched registry); default "default". */
  readonly scheduler?: string;
  /** The path manager's configuration (endpoints, limits); default none and the kernel's limits. */
  readonly pm?: MptcpPathManagerConfig;
  /** Path manager name (src/pm registry); default "kernel". */
  readonly pathManager?: string;
  /**
   * The host's list of connections with subflow requests waiting (a Set will do): the connection adds
   * itself when its path manager asks for a subflow, so the host opens subflows only for those (as Linux
   * queues the msk's work for the pm worker) instead of asking every connection.
   */
  readonly pendingJoins?: { add(connection: MptcpConnection): unknown };
}

/** What the connection's path manager reads (the host's `ip mptcp endpoint` table and limits). */
export type MptcpPathManagerConfig = PathManagerConfig;

/** A subflow the path manager wants opened (the host carries it out with MP_JOIN). */
export type { SubflowRequest } from '../pm/types.js';

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
  /** Live subflows. */
  readonly subflows: number;
}

/** MPTCP_TCPINFO-like per-subflow info. */
export interface MptcpSubflowInfo {
  readonly id: number;
  readonly endpoints: TcpEndpoints;
  /** Added with MP_JOIN (false for the initial MP_CAPABLE subflow). */
  readonly join: boolean;
  /** May carry data (for a join: the fourth ACK was received / the third ACK verified). */
  readonly fullyEstablished: boolean;
  readonly backupLocal: boolean;
  readonly backupPeer: boolean;
  readonly localAddressId: number;
  readonly remoteAddressId: number | undefined;
  readonly state: TcpStateName;
  /** Data-level bytes handed to this subflow (first transmissions and reinjections). */
  readonly dataBytesSent: number;
  /** Data-level bytes read from this subflow (before duplicate removal). */
  readonly dataBytesReceived: number;
  /** Marked stale (Linux `subflow->stale`): repeated RTOs without progress while another subflow works. */
  readonly stale: boolean;
  readonly tcp: TcpInfo;
}

/** Options of `MptcpConnection.joinSubflow`. */
export interface JoinOptions {
  /** Ask the peer to use the subflow as backup only (B flag). */
  readonly backup?: boolean;
  /** Our address id for the local address (1..255). */
  readonly addressId: number;
  /** Opaque tag stored in the subflow (the host's interface id). */
  readonly tag?: number;
  /** The path-manager endpoint the subflow comes from. */
  readonly endpointId?: number;
  /** The peer's address id of the remote address (when it was announced). */
  readonly remoteId?: number;
}

/** Initial and largest receive buffer of a subflow (see `subflowConfig`). */
const SUBFLOW_RCVBUF = 4 * 1024 * 1024;
const SUBFLOW_RCVBUF_MAX = 8 * 1024 * 1024;
const EMPTY = new Uint8Array(0);
/** DATA_FIN retransmission: start and cap (Linux uses the subflow RTO; this is close enough for one path). */
const DATA_FIN_RTO_MIN: Micros = 200_000;
const DATA_FIN_RTO_MAX: Micros = 60_000_000;
/** Linux net.mptcp.stale_loss_cnt (default 4): a subflow is stale after more RTOs than this without progress. */
const STALE_LOSS_CNT = 4;
/** Data-level retransmission (Linux `mptcp_retransmit_timer`): at most this much reinjected per expiry. */
const DATA_RTX_CHUNK = 64 * 1024;
const DATA_RTX_MIN: Micros = 200_000;
const DATA_RTX_MAX: Micros = 60_000_000;
/** What TCP leaves an extension on a pure ACK (its own options are fitted after the extension's). */
const PURE_ACK_OPTION_SPACE = 40;
const NO_PM: MptcpPathManagerConfig = { endpoints: () => [], limits: () => DEFAULT_LIMITS };

/** An MPTCP connection. See the file comment for the call order. */
export class MptcpConnection implements StreamConnection {
  /** The initial (MP_CAPABLE) subflow. */
  readonly subflow: TcpConnection;
  readonly counters: MptcpCounters;
  readonly server: boolean;

  /** handshake | mptcp | fastClosing | fallback (context.ts). */
  #state: ConnectionState = HANDSHAKE;
  /** Our key and the peer's, with tokens and IDSNs. */
  readonly #keys: ConnectionKeys;
  /** MP_CAPABLE and MP_JOIN (handshake.ts): the checksum and C flags, full establishment. */
  readonly #handshake: Handshake;
  /** The connection as its sub-objects see it (context.ts). */
  readonly #ctx: ConnectionContext;
  readonly #onMonitor: ((event: MptcpEvent) => void) | undefined;
  readonly #randomBytes: RandomBytes;
  readonly #scheduler: Scheduler;

  readonly #subflows: Subflow[] = [];
  #nextSubflowId = 0;
  /** With a coupled congestion controller (lia, olia, balia): the group every subflow's controller joins. */
  readonly #coupling: CoupledGroup | undefined;
  /** What every subflow calls back into (options out, segments in). */
  readonly #subflowOwner: SubflowOwner;

  /** Send side: the data-level send buffer (offsets from IDSN + 1). */
  readonly #send: SendBuffer;
  /** After a fallback, the buffered bytes drained and the subflow was shut down / closed. */
  #fallbackShutdown = false;
  /** Data ranges to reinject (from subflows that died). */
  readonly #reinject: { start: number; end: number; lostOn: number }[] = [];
  #writeShutdown = false;
  #dataFinOffset: number | undefined;
  #dataFinAcked = false;
  #dataFinDue = false;
  #dataFinRto = DATA_FIN_RTO_MIN;
  /** Data-level retransmission and DATA_FIN timers. */
  readonly #timers = new MptcpTimerTable();
  #rtxBackoff = 1;

  // Receive side.
  /** Data-level reassembly and the application's receive queue. */
  readonly #receive: Reassembly;
  #remoteFinOffset: number | undefined;
  #dataFinReceived = false;
  #endReported = false;

  #subflowClosing = false;
  #closedReported = false;
  readonly #events: TcpEvent[] = [];

  /** The path manager (src/pm): it owns its signals, its ADD_ADDR timer and its subflow requests. */
  readonly #pm: PathManager;
  /**
   * Linux `allow_infinite_fallback`: a checksum failure may turn the connection into plain TCP (MP_FAIL +
   * infinite mapping) only while it never had a second subflow nor reinjected data.
   */
  #allowInfiniteFallback = true;
  /** The peer's MP_FAIL arrived on our single subflow: the next data segment carries an infinite mapping. */
  #infiniteMapDue = false;
  /** We sent MP_FAIL on our single subflow: the peer's MP_FAIL answers it (Linux `fail_tout`). */
  #mpFailSent = false;
  /** An infinite mapping arrived (counted once, as Linux counts InfiniteMapRx). */
  #infiniteMapSeen = false;

  private constructor(
    options: MptcpConnectionOptions,
    server: boolean,
    config: TcpConfig | undefined,
    iss: number,
    addedAt: Micros,
    open: (extension: TcpExtension) => TcpConnection,
  ) {
    this.server = server;
    this.counters = options.counters ?? createMptcpCounters();
    this.#onMonitor = options.onMonitorEvent;
    this.#receive = new Reassembly(options.receiveBufferBytes ?? 8 * 1024 * 1024, this.counters);
    this.#send = new SendBuffer(options.sendBufferBytes ?? config?.sendBufferBytes ?? 4 * 1024 * 1024);
    this.#randomBytes = options.randomBytes;
    this.#scheduler = createScheduler(options.scheduler ?? 'default');
    this.#coupling = isCoupledCongestionControl(config?.congestionControl ?? DEFAULT_CONGESTION_CONTROL) ? new CoupledGroup() : undefined;
    this.#pm = createPathManager(options.pathManager ?? DEFAULT_PATH_MANAGER, { config: options.pm ?? NO_PM, connection: this.#pmConnection(options) });
    this.#keys = new ConnectionKeys(options.tokens !== undefined ? options.tokens.add(options.randomBytes, this) : drawLocalKey(options.randomBytes));
    this.#ctx = this.#context();
    this.#handshake = new Handshake(this.#ctx, options.checksum ?? false);
    this.#subflowOwner = {
      counters: this.counters,
      subflowOptions: (sf, kind, draft) => this.#outgoing(sf, kind, draft),
      subflowInput: (sf, segment) => this.#incoming(sf, segment),
    };
    // The initial subflow last: a passive open hands it the SYN, which reads the state set above.
    const initial = this.#newSubflow({ localAddressId: 0, backup: false, tag: -1, localIsn: iss >>> 0 }, open);
    this.subflow = initial.tcp;
    this.#subflows.push(initial);
    this.#scheduler.onSubflowAdded(addedAt, initial.view());
  }

  /** Our key (RFC 8684 3.1), drawn when the connection was created. */
  get localKey(): U64 {
    return this.#keys.localKey;
  }

  /** Our token: the peer's MP_JOIN SYNs name the connection with it. */
  get localToken(): number {
    return this.#keys.localToken;
  }

  /** Our initial data sequence number (data offset 0 is IDSN + 1). */
  get localIdsn(): U64 {
    return this.#keys.localIdsn;
  }

  /** The private object the sub-objects reach the connection through (built once). */
  #context(): ConnectionContext {
    const self = this;
    return {
      server: this.server,
      counters: this.counters,
      keys: this.#keys,
      get state() {
        return self.#state;
      },
      get now() {
        return self.#now;
      },
      subflows: this.#subflows,
      enterMptcp: () => this.#enterMptcp(),
      becomeFullyEstablished: () => this.#becomeFullyEstablished(),
      fallBack: () => this.#fallBack(),
      subflowEstablished: (sf, hs) => this.#subflowEstablished(sf, hs),
      forbidInfiniteFallback: () => {
        this.#allowInfiniteFallback = false;
      },
    };
  }

  /** Creates a subflow record and its TCP connection (the record first, so no placeholder is needed). */
  #newSubflow(init: Omit<SubflowInit, 'id'>, open: (extension: TcpExtension) => TcpConnection): Subflow {
    return new Subflow(this.#subflowOwner, { ...init, id: this.#nextSubflowId++, coupling: this.#coupling?.join() }, open);
  }

  /** Active open: the SYN carries MP_CAPABLE (4 bytes). */
  static connect(now: Micros, endpoints: TcpEndpoints, iss: number, config: TcpConfig | undefined, options: MptcpConnectionOptions): MptcpConnection {
    return new MptcpConnection(options, false, config, iss, 0, (extension) => Tcp.connect(now, endpoints, iss, subflowConfig(config), extension));
  }

  /**
   * Passive open for a SYN that carries MP_CAPABLE version 1 (check with `synMpCapable` first; other SYNs are
   * plain TCP connections).
   */
  static accept(now: Micros, endpoints: TcpEndpoints, iss: number, syn: TcpSegment, config: TcpConfig | undefined, options: MptcpConnectionOptions): MptcpConnection {
    return new MptcpConnection(options, true, config, iss, now, (extension) => Tcp.accept(now, endpoints, iss, syn, subflowConfig(config), extension));
  }

  /** The remote key is known and the connection is not a fallback: MP_JOIN subflows may be opened. */
  get canJoin(): boolean {
    return this.#isMptcp && this.#keys.remoteKey !== undefined && !this.#subflowClosing && !this.#closedReported;
  }

  /**
   * Client side of MP_JOIN (RFC 8684 3.2): opens a subflow with `endpoints` (another local address, usually
   * the same remote address and port) whose SYN carries MP_JOIN with the peer's token and our nonce. The
   * caller (the host) routes its segments with `handleSubflowSegment` and sends what `pollTransmitFrom`
   * returns for it. Throws when the connection cannot be joined yet.
   */
  joinSubflow(now: Micros, endpoints: TcpEndpoints, iss: number, config: TcpConfig | undefined, options: JoinOptions): TcpConnection {
    if (!this.canJoin) throw new Error('MPTCP connection cannot be joined (not fully MPTCP, or closing)');
    const handshake = new JoinHandshake('synSent', randomNonce(this.#randomBytes));
    const sf = this.#newSubflow(
      { localAddressId: options.addressId, backup: options.backup ?? false, tag: options.tag ?? -1, localIsn: iss >>> 0, joinHandshake: handshake, endpointId: options.endpointId, remoteId: options.remoteId },
      (extension) => Tcp.connect(now, endpoints, iss, subflowConfig(config), extension),
    );
    this.#subflows.push(sf);
    this.#scheduler.onSubflowAdded(0, sf.view());
    return sf.tcp;
  }

  /**
   * Server side of MP_JOIN: a SYN with MP_JOIN whose token is ours (the host looked it up). Answers with a
   * SYN/ACK carrying our nonce and the truncated HMAC; the third ACK's HMAC is verified when it arrives.
   */
  acceptJoin(now: Micros, endpoints: TcpEndpoints, iss: number, syn: TcpSegment, config: TcpConfig | undefined, options: JoinOptions): TcpConnection {
    const handshake = new JoinHandshake('synReceived', randomNonce(this.#randomBytes));
    const sf = this.#newSubflow(
      { localAddressId: options.addressId, backup: options.backup ?? false, tag: options.tag ?? -1, localIsn: iss >>> 0, joinHandshake: handshake, endpointId: options.endpointId },
      (extension) => Tcp.accept(now, endpoints, iss, syn, subflowConfig(config), extension),
    );
    this.#subflows.push(sf);
    this.#scheduler.onSubflowAdded(now, sf.view());
    return sf.tcp;
  }

  /** Subflows the path manager asked for since the last call (the host opens them with MP_JOIN). */
  takeSubflowRequests(): SubflowRequest[] {
    return this.#pm.takeSubflowRequests();
  }

  get hasSubflowRequests(): boolean {
    return this.#pm.hasSubflowRequests();
  }

  /** The path manager accepts one more MP_JOIN from the peer (the `subflows` limit). */
  acceptsJoin(): boolean {
    return this.#pm.acceptsJoin();
  }

  /** Every subflow ever added (closed ones included), in order. */
  subflows(): readonly Subflow[] {
    return this.#subflows;
  }

  /** The subflow record of a TcpConnection of this connection. */
  subflowOf(tcp: TcpConnection): Subflow | undefined {
    return this.#subflows.find((s) => s.tcp === tcp);
  }

  subflowInfo(): MptcpSubflowInfo[] {
    return this.#subflows.map((s) => ({
      id: s.id,
      endpoints: s.tcp.endpoints,
      join: s.join,
      fullyEstablished: s.usable,
      backupLocal: s.backupLocal,
      backupPeer: s.backupPeer,
      localAddressId: s.localAddressId,
      remoteAddressId: s.remoteAddressId,
      state: s.tcp.state,
      dataBytesSent: s.send.dataBytesSent,
      dataBytesReceived: s.receive.dataBytesReceived,
      stale: s.stale,
      tcp: s.tcp.info(),
    }));
  }

  /** Internal state for diagnostics (a stalled transfer, a failed test): plain values, no references. */
  debugState(): Record<string, unknown> {
    return {
      mode: modeOf(this.#state),
      scheduler: this.#scheduler.name,
      send: { next: this.#send.written, scheduled: this.#send.scheduled, una: this.#send.acked, wndEnd: this.#send.windowEnd, buffered: this.#send.chunkCount },
      reinject: this.#reinject.map((r) => `${r.start}-${r.end}@${r.lostOn}`).join(' '),
      rtxTimer: this.#timers.get(MptcpTimer.Retransmit),
      dataFin: { offset: this.#dataFinOffset, acked: this.#dataFinAcked, received: this.#dataFinReceived, remote: this.#remoteFinOffset },
      receive: { next: this.#receive.next, readable: this.#receive.readable, outOfOrder: this.#receive.pendingOffsets(8) },
      subflows: this.#subflows.map((sf) => {
        const i = sf.tcp.info();
        return {
          id: sf.id,
          state: sf.tcp.state,
          join: sf.joinState,
          usable: sf.usable,
          stale: sf.stale,
          backup: [sf.backupLocal, sf.backupPeer],
          written: sf.send.written,
          sentEnd: sf.send.sentEnd,
          readSeq: sf.receive.readSeq,
          maps: [sf.send.maps.length, sf.receive.maps.length],
          readable: sf.tcp.readableBytes,
          inFlight: i.bytesInFlight,
          cwnd: i.cwndBytes,
          sendWindow: i.sendWindow,
          receiveWindow: i.receiveWindow,
          rto: i.rtoMicros,
          timeouts: i.timeouts,
        };
      }),
    };
  }

  get endpoints(): TcpEndpoints {
    return this.subflow.endpoints;
  }

  /** True once the connection is plain TCP (peer without MPTCP, or fallback). */
  get fallback(): boolean {
    return this.#state.kind === 'fallback';
  }

  /** All subflows are closed (the host forgets the connection). */
  get isClosed(): boolean {
    for (const s of this.#subflows) if (s.tcp.state !== 'CLOSED') return false;
    return true;
  }

  #primary(): TcpConnection {
    if (this.subflow.state !== 'CLOSED') return this.subflow;
    for (const s of this.#subflows) if (s.tcp.state !== 'CLOSED') return s.tcp;
    return this.subflow;
  }

  /** Data-level state with TCP's names (Linux's msk uses TCP states too). */
  get state(): TcpStateName {
    const sub = this.#primary().state;
    if (!this.#isMptcp) return sub;
    if (sub === 'CLOSED' || sub === 'TIME-WAIT' || sub === 'SYN-SENT' || sub === 'SYN-RECEIVED') return sub;
    if (this.#dataFinOffset === undefined) return this.#dataFinReceived ? 'CLOSE-WAIT' : 'ESTABLISHED';
    if (!this.#dataFinAcked) return this.#dataFinReceived ? 'LAST-ACK' : 'FIN-WAIT-1';
    return this.#dataFinReceived ? 'TIME-WAIT' : 'FIN-WAIT-2';
  }

  get readableBytes(): number {
    return this.#state.kind === 'fallback' ? this.#receive.readable + this.subflow.readableBytes : this.#receive.readable;
  }

  #direct(): boolean {
    return this.#state.kind === 'fallback' && this.#send.scheduled === this.#send.written;
  }

  get writableBytes(): number {
    if (this.#writeShutdown) return 0;
    if (this.#direct()) return this.subflow.writableBytes;
    if (this.#state.kind === 'fallback') return 0;
    return this.#send.room;
  }

  write(data: Uint8Array): number {
    if (this.#writeShutdown) return 0;
    if (this.#direct()) {
      const n = this.subflow.write(data);
      this.#send.appendDirect(n);
      return n;
    }
    return this.#send.append(data, this.writableBytes);
  }

  read(maxBytes = Infinity): Uint8Array | undefined {
    const out = this.#receive.read(maxBytes);
    if (out === undefined) {
      if (this.#state.kind === 'fallback') return this.subflow.read(maxBytes);
      return undefined;
    }
    this.#pullSubflows();
    return out;
  }

  setNoDelay(noDelay: boolean): void {
    for (const s of this.#subflows) s.tcp.setNoDelay(noDelay);
  }

  /** Half-close: a DATA_FIN after the last byte written (the subflow FINs follow once both DATA_FINs are done). */
  shutdown(): void {
    if (this.#writeShutdown) return;
    this.#writeShutdown = true;
    if (this.#state.kind === 'fallback') {
      if (this.#direct()) this.subflow.shutdown();
      return;
    }
    if (this.#state.kind === 'handshake') return; // decided when the handshake ends
    this.#dataFinOffset = this.#send.written;
    this.#dataFinDue = true;
  }

  close(): void {
    this.#receive.closeRead();
    if (this.#state.kind === 'fallback') {
      this.#writeShutdown = true;
      if (this.#direct()) this.subflow.close();
      return;
    }
    if (this.#state.kind === 'handshake' && this.#send.written === 0) {
      this.#writeShutdown = true;
      this.subflow.close();
      return;
    }
    this.shutdown();
  }

  /**
   * Abortive close. An MPTCP connection with the keys exchanged closes with MP_FASTCLOSE (as Linux does for
   * a close with SO_LINGER 0, or a reset of the msk); otherwise every subflow is reset.
   */
  abort(): void {
    this.fastClose();
  }

  /** Data-level bytes the peer acknowledged (DATA_ACK), or the subflow's after a fallback. */
  get bytesAcknowledged(): number {
    if (this.#state.kind === 'fallback') return this.subflow.info().bytesAcked;
    return Math.min(this.#send.acked, this.#send.written);
  }

  info(): TcpInfo {
    return this.#primary().info();
  }

  mptcpInfo(): MptcpInfo {
    let live = 0;
    for (const s of this.#subflows) if (s.tcp.state !== 'CLOSED') live++;
    return {
      mode: modeOf(this.#state),
      fullyEstablished: this.#handshake.fullyEstablished,
      checksum: this.#handshake.checksum,
      localToken: this.localToken,
      remoteToken: this.#keys.remoteToken,
      bytesSent: this.#send.written,
      bytesAcked: this.#send.acked,
      bytesReceived: this.#receive.next - (this.#dataFinReceived ? 1 : 0),
      subflows: live,
    };
  }

  // ---- driver entry points ----

  handleSegment(now: Micros, segment: TcpSegment): void {
    this.handleSubflowSegment(now, this.subflow, segment);
  }

  /** A segment for one subflow (found by its 4-tuple). */
  handleSubflowSegment(now: Micros, tcp: TcpConnection, segment: TcpSegment): void {
    tcp.handleSegment(now, segment);
    this.#afterInput(now);
  }

  handleTimeout(now: Micros): void {
    for (const s of this.#subflows) {
      const d = s.tcp.pollTimeout();
      if (d !== undefined && d <= now) s.tcp.handleTimeout(now);
      const hs = s.joinHandshake;
      if (hs !== undefined && hs.ackTimer !== undefined && hs.ackTimer <= now) {
        hs.ackTimer = undefined;
        if (hs.state === 'ackSent' && s.tcp.state === 'ESTABLISHED') {
          hs.ackRto = Math.min(hs.ackRto * 2, DATA_FIN_RTO_MAX);
          s.tcp.requestAck();
        }
      }
    }
    this.#pm.handleTimeout(now);
    if (this.#timers.expired(MptcpTimer.Retransmit, now)) {
      this.#timers.stop(MptcpTimer.Retransmit);
      this.#dataRetransmit();
    }
    if (this.#timers.expired(MptcpTimer.DataFin, now)) {
      this.#timers.stop(MptcpTimer.DataFin);
      if (!this.#dataFinAcked && this.#isMptcp) {
        this.#dataFinDue = true;
        this.#dataFinRto = Math.min(this.#dataFinRto * 2, DATA_FIN_RTO_MAX);
      }
    }
    this.#afterInput(now);
  }

  pollTransmit(now: Micros): TcpSegmentRepr | undefined {
    return this.pollTransmitFrom(now)?.repr;
  }

  /** The next segment to send and the subflow it belongs to (its endpoints and tag). */
  pollTransmitFrom(now: Micros): { repr: TcpSegmentRepr; subflow: Subflow } | undefined {
    this.#now = now;
    let control: Subflow | undefined;
    if (this.#controlDue()) {
      control = this.#controlSubflow();
      control?.tcp.requestPureAck();
    }
    if (this.#isMptcp) {
      for (const s of this.#subflows) if (s.prioDue && s.usable) s.tcp.requestPureAck();
    }
    this.#schedule(now, control);
    for (const s of this.#subflows) {
      const repr = s.tcp.pollTransmit(now);
      if (repr !== undefined) return { repr, subflow: s };
    }
    if (this.#dataFinDue && this.#isMptcp && !this.#dataFinAcked && this.#allDataSent()) {
      let first: { repr: TcpSegmentRepr; subflow: Subflow } | undefined;
      for (const s of this.#subflows) {
        if (!s.usable) continue;
        s.tcp.requestAck();
        if (first === undefined) {
          const ack = s.tcp.pollTransmit(now);
          if (ack !== undefined) first = { repr: ack, subflow: s };
        }
      }
      if (first === undefined) return undefined;
      this.#dataFinDue = false; // once per timer expiry, whatever the ACKs carried
      if (!this.#timers.isArmed(MptcpTimer.DataFin)) this.#timers.set(MptcpTimer.DataFin, now + Math.max(this.#dataFinRto, this.#subflowRto()));
      return first;
    }
    return undefined;
  }

  pollTimeout(): Micros | undefined {
    let min = this.#timers.next();
    const t = this.#pm.pollTimeout();
    if (t !== undefined && (min === undefined || t < min)) min = t;
    for (const s of this.#subflows) {
      const a = s.tcp.pollTimeout();
      if (a !== undefined && (min === undefined || a < min)) min = a;
      const j = s.joinHandshake?.ackTimer;
      if (j !== undefined && (min === undefined || j < min)) min = j;
    }
    return min;
  }

  pollEvent(): TcpEvent | undefined {
    this.#translateSubflowEvents();
    return this.#events.shift();
  }

  // ---- internals ----

  /** MPTCP at the data level (fast closing included). */
  get #isMptcp(): boolean {
    return isMptcp(this.#state);
  }

  #subflowRto(): Micros {
    return this.#primary().info().rtoMicros;
  }

  /**
   * Every written byte is mapped and on the wire (or acknowledged at the data level): the DATA_FIN may go.
   * Bytes stuck on a stale subflow do not hold it back (they were reinjected elsewhere).
   */
  #allDataSent(): boolean {
    const send = this.#send;
    if (send.scheduled < send.written || this.#reinject.length > 0) return false;
    if (send.acked >= send.written) return true;
    for (const s of this.#subflows) if (!s.closed && !s.stale && s.send.sentEnd < s.send.written + 1) return false;
    return true;
  }

  /** The scheduler's turn: reinjections first, then new data, on the subflows it picks. */
  #schedule(now: Micros, hold?: Subflow): void {
    if (this.#state.kind === 'fallback') {
      // Drain what was buffered before the fallback into the subflow, then write directly.
      const send = this.#send;
      while (send.scheduled < send.written) {
        const bytes = send.slice(send.scheduled, send.written - send.scheduled);
        if (bytes.length === 0) break;
        const n = this.subflow.write(bytes);
        send.markScheduled(n);
        if (n < bytes.length) break;
      }
      if (send.scheduled === send.written) {
        send.clear();
        if (this.#writeShutdown && !this.#fallbackShutdown) {
          this.#fallbackShutdown = true;
          if (this.#receive.readClosed) this.subflow.close();
          else this.subflow.shutdown();
        }
      }
      return;
    }
    if (!this.#isMptcp) return;
    const send = this.#send;
    const sendLimit = Math.min(send.written, send.windowEnd);
    if (this.#reinject.length === 0 && send.scheduled >= sendLimit) return;
    let views: SubflowView[] | undefined;
    // `hold`: a subflow that must send a pure ACK (ADD_ADDR, echo) gets no new data until it did.
    const live = (): SubflowView[] => (views ??= this.#subflows.filter((s) => !s.closed && s !== hold).map((s) => s.view()));
    while (this.#reinject.length > 0) {
      const r = this.#reinject[0]!;
      if (r.end <= send.acked) {
        this.#reinject.shift();
        continue;
      }
      if (r.start < send.acked) r.start = send.acked;
      const d = this.#scheduler.selectRetransmit(now, live(), { lostOn: r.lostOn, pendingBytes: r.end - r.start });
      if (d === undefined) return;
      const s = this.#subflows.find((x) => x.id === d.subflowId);
      if (s === undefined) return;
      const n = s.push(this.#send, r.start, Math.min(d.maxBytes, r.end - r.start));
      views = undefined;
      if (n === 0) return;
      this.counters.MPTCPRetrans++;
      this.#allowInfiniteFallback = false;
      r.start += n;
      if (r.start >= r.end) this.#reinject.shift();
    }
    while (send.scheduled < sendLimit) {
      const d = this.#scheduler.selectSend(now, live(), sendLimit - send.scheduled);
      if (d === undefined) return;
      const s = this.#subflows.find((x) => x.id === d.subflowId);
      if (s === undefined) return;
      const n = s.push(this.#send, send.scheduled, Math.min(d.maxBytes, sendLimit - send.scheduled));
      views = undefined;
      if (n === 0) return;
      // A redundant scheduler's copies: the same DSN range on each other subflow it chose (best effort).
      for (const id of d.duplicateOn) {
        const dup = this.#subflows.find((x) => x.id === id);
        if (dup !== undefined && dup !== s && dup.usable) dup.push(this.#send, send.scheduled, n);
      }
      send.markScheduled(n);
    }
  }

  /** CREATED / ESTABLISHED (token, ids, the initial subflow's addresses and ports, flags) and CLOSED (token). */
  #monitor(type: 'CREATED' | 'ESTABLISHED' | 'CLOSED'): void {
    if (this.#onMonitor === undefined) return;
    if (type === 'CLOSED') {
      this.#onMonitor({ type, token: this.localToken });
      return;
    }
    const ep = this.subflow.endpoints;
    const flags = (this.server ? MPTCP_EVENT_FLAG.serverSide : 0) | (this.#handshake.peerDenyJoinId0 ? MPTCP_EVENT_FLAG.denyJoinId0 : 0);
    this.#onMonitor({
      type,
      token: this.localToken,
      remoteId: 0,
      localId: 0,
      localAddress: ep.localAddress,
      remoteAddress: ep.remoteAddress,
      localPort: ep.localPort,
      remotePort: ep.remotePort,
      ...(flags !== 0 ? { flags } : {}), // the kernel omits a zero flags attribute
    });
  }

  /** A joined subflow may carry data: SF_ESTABLISHED (once). */
  #subflowEstablished(sf: Subflow, hs: JoinHandshake): void {
    if (hs.announced) return;
    hs.announced = true;
    this.#monitorSubflow('SF_ESTABLISHED', sf);
  }

  /** SF_ESTABLISHED / SF_CLOSED / SF_PRIO (Linux `mptcp_event_sub_*`): the subflow's ids, addresses, backup. */
  #monitorSubflow(type: 'SF_ESTABLISHED' | 'SF_CLOSED' | 'SF_PRIO', sf: Subflow, error?: number): void {
    if (this.#onMonitor === undefined) return;
    const ep = sf.tcp.endpoints;
    this.#onMonitor({
      type,
      token: this.localToken,
      remoteId: sf.remoteId,
      localId: sf.localAddressId,
      localAddress: ep.localAddress,
      remoteAddress: ep.remoteAddress,
      localPort: ep.localPort,
      remotePort: ep.remotePort,
      backup: type === 'SF_PRIO' ? sf.backupPeer : sf.backupLocal || sf.backupPeer,
      ...(error !== undefined ? { error } : {}),
      ...(sf.peerReset !== undefined ? { resetReason: sf.peerReset.reason, resetFlags: sf.peerReset.flags } : {}),
    });
  }

  #fallBack(): void {
    const from = this.#state;
    if (from.kind === 'fallback') return;
    const wasHandshake = from.kind === 'handshake';
    this.#state = { kind: 'fallback', fastClose: from.kind === 'fastClosing' ? from.fastClose : undefined };
    for (const s of this.#subflows) {
      s.send.maps.length = 0;
      // Bytes of a mapping read so far but held for its checksum are TCP's from now on.
      for (const m of s.receive.maps) {
        if (m.pieces === undefined) continue;
        let at = m.dataOffset;
        for (const p of m.pieces) {
          this.#insertData(at, p);
          at += p.length;
        }
      }
      s.receive.maps.length = 0;
    }
    if (wasHandshake) this.#send.unschedule();
    // A shutdown asked before the fallback was a DATA_FIN: it becomes a subflow FIN once the buffer drained
    // (see #schedule).
  }

  #enterMptcp(): void {
    this.#state = MPTCP;
    this.#monitor('CREATED');
    const ep = this.subflow.endpoints;
    this.#pm.created({
      initialLocal: { address: ep.localAddress, port: ep.localPort },
      initialRemote: { address: ep.remoteAddress, port: ep.remotePort },
      denyJoinId0: this.#handshake.peerDenyJoinId0,
    });
    if (this.#writeShutdown && this.#dataFinOffset === undefined) {
      this.#dataFinOffset = this.#send.written;
      this.#dataFinDue = true;
    }
  }

  #becomeFullyEstablished(): void {
    if (this.#handshake.fullyEstablished) return;
    this.#handshake.fullyEstablished = true;
    this.#monitor('ESTABLISHED');
    this.#pm.fullyEstablished();
  }

  // ---- path manager ----

  /** The connection as its path manager sees it and acts on it (built once). */
  #pmConnection(options: MptcpConnectionOptions): PmConnection {
    const self = this;
    return {
      get isMptcp() {
        return isMptcp(self.#state);
      },
      get mayAct() {
        return self.#state.kind === 'mptcp' && self.#keys.remoteKey !== undefined && !self.#subflowClosing && !self.#closedReported;
      },
      subflows: () => this.#pmSubflows(),
      closeSubflows: (localId, remoteId, byPeer) => this.#closeSubflows(localId, remoteId, byPeer),
      setInitialBackup: (backup) => {
        const initial = this.#subflows.find((s) => !s.join);
        if (initial !== undefined) this.setBackup(initial.id, backup);
      },
      addAddrHmac: (id, address, port) => addAddrHmac(this.localKey, this.#keys.remoteKey!, id, address, port),
      subflowRequested: () => options.pendingJoins?.add(this),
    };
  }

  /** Live subflows as the path manager counts them. */
  #pmSubflows(): PmSubflow[] {
    const out: PmSubflow[] = [];
    for (const s of this.#subflows) {
      if (s.closed || s.joinState === 'failed' || s.tcp.state === 'CLOSED') continue;
      const ep = s.tcp.endpoints;
      out.push({
        localId: s.localAddressId,
        localAddress: ep.localAddress,
        remoteId: s.pmRemoteId ?? s.remoteAddressId ?? 0,
        remoteAddress: ep.remoteAddress,
        remotePort: ep.remotePort,
        initial: !s.join,
        endpointId: s.endpointId,
      });
    }
    return out;
  }

  /** The path manager's "close subflow": the live subflows matching both ids are reset. */
  #closeSubflows(localId: number | undefined, remoteId: number | undefined, byPeer: boolean): number {
    let closed = 0;
    for (const s of this.#subflows) {
      if (!s.live) continue;
      if (localId !== undefined && !(s.join && s.localAddressId === localId)) continue;
      if (remoteId !== undefined && s.remoteId !== remoteId) continue;
      this.#closeRemovedSubflow(s, byPeer);
      closed++;
    }
    return closed;
  }

  /**
   * The host's endpoint table changed (Linux `mptcp_nl_add_subflow_or_signal_addr` walks every connection):
   * the path manager runs now, so a new `signal` endpoint is announced and a new `subflow` endpoint joined.
   */
  endpointsChanged(now: Micros): void {
    this.#now = now;
    this.#pm.endpointsChanged();
  }

  /**
   * A subflow whose address was removed (RM_ADDR, ours or the peer's): reset with MP_TCPRST (unspecified)
   * at the end of the current input or driver call; its data not DATA_ACKed is reinjected on the others.
   */
  #closeRemovedSubflow(s: Subflow, byPeer: boolean): void {
    // Linux counts RmSubflow for the subflows it removes for its own endpoints, not for the peer's RM_ADDR.
    if (!byPeer) this.counters.RmSubflow++;
    s.resetReason = MpTcpRstReason.UNSPECIFIED;
    s.abortPending = true;
    this.#reinjectUnacked(s, false);
  }

  /**
   * `ip mptcp endpoint delete` for this connection (Linux `mptcp_nl_remove_subflow_and_signal_addr`): if
   * the endpoint was announced or a subflow uses its address, RM_ADDR with its id leaves on a pure ACK of a
   * remaining subflow and those subflows are reset (their unacknowledged data reinjected on the others).
   * The caller has already removed the endpoint from the table. Returns the subflows closed.
   */
  removeLocalAddress(now: Micros, endpoint: { readonly id: number; readonly address: Uint8Array }): number {
    this.#now = now;
    // MPTCP implies the path manager was told (`created`, when the mode became MPTCP).
    if (this.#state.kind !== 'mptcp' || this.#keys.remoteKey === undefined) return 0;
    if (this.#closedReported) return 0;
    const id = endpoint.id;
    const matches = this.#subflows.filter(
      (s) => s.join && s.live && (s.endpointId === id || s.localAddressId === id || addressesEqual(s.tcp.endpoints.localAddress, endpoint.address)),
    );
    // The subflows first, then the manager's RM_ADDR and its turn (the two touch nothing of each other's).
    for (const s of matches) this.#closeRemovedSubflow(s, false);
    this.#pm.addressRemoved(endpoint, matches.length > 0);
    this.#afterInput(now);
    return matches.length;
  }

  /** A received RM_ADDR: the subflows to those peer address ids are closed and the addresses forgotten. */
  #onRmAddr(ids: readonly number[]): void {
    this.counters.RmAddr += ids.length;
    for (const id of ids) this.#onMonitor?.({ type: 'REMOVED', token: this.localToken, remoteId: id });
    if (this.#pm.rmAddrReceived(ids) === 0) {
      // The path manager did not run (closing) or did not see them: close them here.
      for (const s of this.#subflows) if (s.live && ids.includes(s.remoteId)) this.#closeRemovedSubflow(s, true);
    }
  }

  /** A pure ACK must carry ADD_ADDR, its echo or MP_PRIO. */
  #controlDue(): boolean {
    if (!this.#isMptcp) return false;
    return this.#pm.signalDue();
  }

  /** The subflow that carries ADD_ADDR and echoes (the first usable one, as the kernel's pm picks one). */
  #controlSubflow(): Subflow | undefined {
    return this.#subflows.find((s) => s.usable);
  }

  /** ADD_ADDR, echo or MP_PRIO for a pure ACK of `sf` (sent alone, as Linux drops other suboptions). */
  #controlOption(sf: Subflow): MptcpOption | undefined {
    // Linux options.c asks the path manager for what fits in the bytes left; the signal goes alone on a pure
    // ACK, and our TCP writes an extension's options first (it drops its own to fit), so all 40 are left.
    const signal = this.#pm.pollSignal(this.#now, PURE_ACK_OPTION_SPACE);
    if (signal !== undefined) {
      if (signal.subtype === 'RM_ADDR') this.counters.RmAddrTx++;
      else if (signal.subtype === 'ADD_ADDR') {
        if (signal.echo) this.counters.EchoAddTx++;
        else this.counters.AddAddrTx++;
      }
      return signal;
    }
    if (sf.prioDue) {
      sf.prioDue = false;
      this.counters.MPPrioTx++;
      return { subtype: 'MP_PRIO', backup: sf.backupLocal };
    }
    return undefined;
  }

  /** ADD_ADDR, MP_PRIO, MP_FASTCLOSE and MP_TCPRST on an established subflow. */
  #controlOptions(sf: Subflow, segment: TcpSegment): void {
    const flags = segment.flags;
    if (flags & TcpFlags.SYN) return;
    for (const o of segment.options) {
      if (o.kind !== 'mptcp') continue;
      const opt = o.option;
      if (opt.subtype === 'MP_TCPRST' && flags & TcpFlags.RST) {
        if (!sf.join) this.counters.MPRstRx++;
        sf.peerReset = { reason: opt.reason, flags: opt.flags };
      }
      if (opt.subtype === 'MP_FAIL') this.#onMpFail(sf, flags);
    }
    if (!this.#isMptcp || this.#keys.remoteKey === undefined) return;
    if (sf.join && sf.joinState !== 'full' && sf.joinState !== 'ackSent') return;
    for (const o of segment.options) {
      if (o.kind !== 'mptcp') continue;
      const opt = o.option;
      switch (opt.subtype) {
        case 'MP_FASTCLOSE':
          if (opt.receiverKey.hi === this.localKey.hi && opt.receiverKey.lo === this.localKey.lo) this.#onFastclose(sf);
          break;
        case 'ADD_ADDR':
          if (!(flags & TcpFlags.RST)) this.#onAddAddr(opt);
          break;
        case 'RM_ADDR':
          if (!(flags & TcpFlags.RST)) this.#onRmAddr(opt.addressIds);
          break;
        case 'MP_PRIO':
          if (!(flags & TcpFlags.RST)) {
            this.counters.MPPrioRx++;
            sf.backupPeer = opt.backup;
            this.#monitorSubflow('SF_PRIO', sf);
          }
          break;
        default:
          break;
      }
    }
  }

  /**
   * RFC 8684 3.7, as Linux (`mptcp_pm_mp_fail_received`): the peer's checksum failed on data we sent. With a
   * RST (several subflows) the subflow just closes and its data is reinjected elsewhere. On our single
   * subflow we answer with MP_FAIL and put an infinite mapping on the next data segment, then fall back to
   * TCP. An MP_FAIL answering ours needs nothing more.
   */
  #onMpFail(sf: Subflow, flags: number): void {
    this.counters.MPFailRx++;
    if (flags & TcpFlags.RST || !this.#isMptcp) return;
    if (this.#mpFailSent) {
      this.#mpFailSent = false; // the answer to ours; the infinite mapping follows
      return;
    }
    if (sf.failDsn !== undefined || this.#infiniteMapDue) return;
    sf.failDsn = dsnFromOffset(this.localIdsn, this.#send.acked);
    this.#infiniteMapDue = true;
    sf.tcp.requestPureAck();
  }

  #onAddAddr(opt: Extract<MptcpOption, { subtype: 'ADD_ADDR' }>): void {
    if (opt.echo) {
      this.counters.EchoAdd++;
      this.#pm.addAddrEchoed(opt.addressId, opt.address);
      return;
    }
    const expected = addAddrHmac(this.#keys.remoteKey!, this.localKey, opt.addressId, opt.address, opt.port);
    if (opt.hmac === undefined || !hmacEqual(opt.hmac, expected)) {
      this.counters.AddAddrDrop++;
      return;
    }
    this.counters.AddAddr++;
    // A valid HMAC proves the peer has our key: the handshake is over for the client too (ESTABLISHED
    // is reported before ANNOUNCED, as Linux checks full establishment before the options).
    if (!this.#handshake.fullyEstablished) this.#becomeFullyEstablished();
    this.#onMonitor?.({
      type: 'ANNOUNCED',
      token: this.localToken,
      remoteId: opt.addressId,
      remoteAddress: opt.address,
      ...(opt.port ? { remotePort: opt.port } : {}),
    });
    this.#pm.addAddrReceived({ id: opt.addressId, address: opt.address, port: opt.port ?? 0 });
  }

  /**
   * MP_PRIO (RFC 8684 3.3.8): asks the peer to treat subflow `subflowId` as backup (or not) and updates our
   * own backup flag, which the scheduler reads (a backup subflow carries data only when no non-backup
   * subflow is usable). The option leaves on a pure ACK of that subflow (forced out). Returns false when
   * the subflow is unknown or closed, or the connection is not MPTCP.
   */
  setBackup(subflowId: number, backup: boolean): boolean {
    if (!this.#isMptcp || this.#keys.remoteKey === undefined) return false;
    const sf = this.#subflows.find((s) => s.id === subflowId);
    if (sf === undefined || sf.closed || sf.tcp.state === 'CLOSED') return false;
    if (sf.backupLocal === backup && !sf.prioDue) return true;
    sf.backupLocal = backup;
    sf.prioDue = true;
    return true;
  }

  /** RFC 8684 3.5: a valid MP_FASTCLOSE: every subflow is reset and the connection aborts (ECONNRESET). */
  #onFastclose(_sf: Subflow): void {
    this.counters.MPFastcloseRx++;
    if (this.#state.kind === 'fastClosing') return;
    this.#state = { kind: 'fastClosing', fastClose: { sent: false, error: { code: 'ECONNRESET', message: 'MPTCP connection reset by the peer (MP_FASTCLOSE)' } } };
    for (const s of this.#subflows) if (!s.closed && s.tcp.state !== 'CLOSED') s.abortPending = true;
  }

  /**
   * MP_FASTCLOSE (RFC 8684 3.5), as Linux 6.x sends it: a RST on every subflow carrying MP_FASTCLOSE with
   * the peer's key and MP_TCPRST; the connection is closed at once (its 'closed' event has ECONNABORTED).
   * Before the keys are known (or after a fallback) this is a plain abort.
   */
  fastClose(): void {
    if (!this.#isMptcp || this.#keys.remoteKey === undefined) {
      for (const s of this.#subflows) s.tcp.abort();
      return;
    }
    if (this.#state.kind === 'fastClosing') return;
    this.#state = { kind: 'fastClosing', fastClose: { sent: true, error: { code: 'ECONNABORTED', message: 'MPTCP connection closed with MP_FASTCLOSE' } } };
    for (const s of this.#subflows) {
      if (s.closed || s.tcp.state === 'CLOSED') continue;
      s.resetReason ??= MpTcpRstReason.MPTCP_SPECIFIC;
      s.tcp.abort();
    }
  }

  #outgoing(sf: Subflow, kind: TcpSegmentKind, draft: TcpSegmentDraft): readonly TcpOption[] | undefined {
    if (sf.joinHandshake !== undefined) return this.#joinOutgoing(sf, sf.joinHandshake, kind, draft);
    switch (kind) {
      case 'syn':
        return this.#handshake.capableSyn(sf, draft);
      case 'synAck':
        return this.#handshake.capableSynAck(sf, draft);
      case 'ack':
        return this.#failOption(sf) ?? this.#ackOptions(sf);
      case 'data':
        return this.#dataOptions(sf, draft);
      case 'rst':
        return this.#rstOptions(sf);
      default:
        return undefined;
    }
  }

  /** A pending MP_FAIL, alone on a pure ACK (also after the fallback it announces). */
  #failOption(sf: Subflow): readonly TcpOption[] | undefined {
    const dsn = sf.failDsn;
    if (dsn === undefined) return undefined;
    sf.failDsn = undefined;
    this.counters.MPFailTx++;
    return [{ kind: 'mptcp', option: { subtype: 'MP_FAIL', dsn } }];
  }

  #rstOptions(sf: Subflow): readonly TcpOption[] | undefined {
    if (fastCloseOf(this.#state)?.sent === true && this.#keys.remoteKey !== undefined) {
      this.counters.MPFastcloseTx++;
      this.counters.MPRstTx++;
      return [
        { kind: 'mptcp', option: { subtype: 'MP_FASTCLOSE', receiverKey: this.#keys.remoteKey } },
        { kind: 'mptcp', option: { subtype: 'MP_TCPRST', flags: 0, reason: sf.resetReason ?? MpTcpRstReason.MPTCP_SPECIFIC } },
      ];
    }
    if (sf.resetReason === undefined) return undefined;
    this.counters.MPRstTx++;
    const rst: TcpOption = { kind: 'mptcp', option: { subtype: 'MP_TCPRST', flags: 0, reason: sf.resetReason } };
    const fail = this.#failOption(sf);
    return fail === undefined ? [rst] : [...fail, rst];
  }

  #joinOutgoing(sf: Subflow, hs: JoinHandshake, kind: TcpSegmentKind, draft: TcpSegmentDraft): readonly TcpOption[] | undefined {
    switch (kind) {
      case 'syn':
        return this.#handshake.joinSyn(sf, hs, draft);
      case 'synAck':
        return this.#handshake.joinSynAck(sf, hs, draft);
      case 'ack':
        if (hs.state === 'ackSent') return this.#handshake.joinAck(sf, hs);
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

  /** The time of the latest driver call (for timers armed while options are built). */
  #now: Micros = 0;

  #ackOptions(sf: Subflow): readonly TcpOption[] | undefined {
    if (!this.#isMptcp) return undefined;
    const dataFinNow = this.#dataFinOffset !== undefined && !this.#dataFinAcked && this.#allDataSent();
    const capable = this.#handshake.capableAck(sf, dataFinNow);
    if (capable !== undefined) return capable;
    const control = this.#controlOption(sf);
    if (control !== undefined) return [{ kind: 'mptcp', option: control }];
    let mapping: DssMapping | undefined;
    let dataFin = false;
    if (dataFinNow) {
      // Linux `mptcp_write_data_fin` on a packet without data: subflow sequence 0, data-level length 1.
      const dsn = dsnFromOffset(this.localIdsn, this.#dataFinOffset!);
      mapping = {
        dsn,
        dsn64: true,
        subflowSeq: 0,
        dataLength: 1,
        ...(this.#handshake.checksum ? { checksum: dssChecksum(dsn, 0, 1, EMPTY) } : {}),
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
      dataAck: dsnFromOffset(this.#keys.remoteIdsn!, this.#receive.next),
      dataAck64: true,
      ...(mapping ? { mapping } : {}),
    };
  }

  #dataOptions(sf: Subflow, draft: TcpSegmentDraft): readonly TcpOption[] | undefined {
    if (!this.#isMptcp || draft.payloadLength === 0) return draft.payloadLength === 0 ? this.#ackOptions(sf) : undefined;
    const subflowSeq = (draft.seq - sf.send.isn) >>> 0;
    const end = subflowSeq + draft.payloadLength;
    if (end > sf.send.sentEnd) sf.send.sentEnd = end;
    const map = sf.send.mapAt(subflowSeq);
    if (map === undefined) return this.#ackOptions(sf); // cannot happen: every written byte is mapped
    const dataOffset = map.dataOffset + (subflowSeq - map.subflowSeq);
    const length = Math.min(draft.payloadLength, map.subflowSeq + map.length - subflowSeq);
    const dsn = dsnFromOffset(this.localIdsn, dataOffset);
    const payload = draft.payload ?? EMPTY;
    const checksum = this.#handshake.checksum ? dssChecksum(dsn, subflowSeq, length, payload.subarray(0, length)) : undefined;
    const first = this.#handshake.capableData(sf, subflowSeq, length, checksum);
    if (first !== undefined) return first;
    if (this.#infiniteMapDue && !sf.join) {
      // RFC 8684 3.7 / Linux `mptcp_update_infinite_map`: this segment's mapping with data-level length 0
      // (infinite), then plain TCP from here on.
      this.#infiniteMapDue = false;
      this.counters.InfiniteMapTx++;
      const infinite: DssMapping = { dsn, dsn64: true, subflowSeq, dataLength: 0, ...(this.#handshake.checksum ? { checksum: dssChecksum(dsn, subflowSeq, 0, EMPTY) } : {}) };
      const options: TcpOption[] = [{ kind: 'mptcp', option: this.#dss(false, infinite) }];
      this.#fallBack();
      return options;
    }
    const mapping: DssMapping = { dsn, dsn64: true, subflowSeq, dataLength: length, ...(checksum !== undefined ? { checksum } : {}) };
    return [{ kind: 'mptcp', option: this.#dss(false, mapping) }];
  }

  #incoming(sf: Subflow, segment: TcpSegment): void {
    this.#controlOptions(sf, segment);
    if (sf.joinHandshake !== undefined) {
      const dss = this.#handshake.joinInput(sf, sf.joinHandshake, segment);
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
    if (!this.#handshake.capableInput(sf, segment, capable)) return;
    if (this.#state.kind === 'fallback') {
      // The infinite mapping answering our MP_FAIL (we fell back when we sent it).
      if (dss?.mapping && dss.mapping.dataLength === 0 && !dss.dataFin && !this.#infiniteMapSeen) {
        this.#infiniteMapSeen = true;
        this.counters.InfiniteMapRx++;
      }
      return;
    }
    if (!this.#isMptcp) return;
    if (capable && capable.dataLength !== undefined && this.server && segment.payload.length > 0) {
      // MP_CAPABLE with data: the mapping of the peer's first data byte (DSN IDSN + 1, subflow sequence 1).
      this.#addReceiveMap(sf, segment, {
        dsn: dsnFromOffset(this.#keys.remoteIdsn!, 0),
        dsn64: true,
        subflowSeq: 1,
        dataLength: capable.dataLength,
        ...(capable.checksum !== undefined ? { checksum: capable.checksum } : {}),
      }, false);
    }
    if (dss) this.#onDss(sf, segment, dss);
  }

  #onDss(sf: Subflow, segment: TcpSegment, dss: DssOption): void {
    if (!this.server) this.#becomeFullyEstablished(); // RFC 8684 3.1: a DSS from the server ends the MP_CAPABLE repeats
    if (dss.dataAck) {
      const acked = this.#onDataAck(dss.dataAck, dss.dataAck64);
      if (acked !== undefined) {
        const end = acked + segment.window * 2 ** sf.tcp.sendWindowShift;
        this.#send.openWindow(end);
      }
    }
    if (dss.mapping) this.#addReceiveMap(sf, segment, dss.mapping, dss.dataFin);
  }

  /** A DATA_ACK: returns its data offset when plausible (not beyond anything sent), else undefined. */
  #onDataAck(value: U64, is64: boolean): number | undefined {
    const send = this.#send;
    const offset = is64 ? offsetFromDsn64(this.localIdsn, value) : offsetFromDsn32(this.localIdsn, value.lo, send.acked);
    const limit = send.scheduled + (this.#dataFinOffset !== undefined ? 1 : 0);
    if (offset > limit) return undefined; // beyond anything sent
    if (offset <= send.acked) return offset; // old
    send.ack(offset);
    this.#timers.stop(MptcpTimer.Retransmit);
    this.#rtxBackoff = 1;
    if (this.#dataFinOffset !== undefined && offset > this.#dataFinOffset && !this.#dataFinAcked) {
      this.#dataFinAcked = true;
      this.#timers.stop(MptcpTimer.DataFin);
      this.#dataFinDue = false;
    }
    if (send.blocked && this.writableBytes >= send.limit / 2) {
      send.unblock();
      this.#events.push({ type: 'writable' });
    }
    // Trim send maps acknowledged at the data level and sent at least once (see SubflowSendMaps.trim).
    for (const s of this.#subflows) s.send.trim(offset, s.tcp);
    return offset;
  }

  /** Records a received mapping after validating it against the segment and the mappings in use. */
  #addReceiveMap(sf: Subflow, segment: TcpSegment, mapping: DssMapping, dataFin: boolean): void {
    const dataOffset = mapping.dsn64 ? offsetFromDsn64(this.#keys.remoteIdsn!, mapping.dsn) : offsetFromDsn32(this.#keys.remoteIdsn!, mapping.dsn.lo, this.#receive.next);
    if (mapping.dataLength === 0 && !dataFin) {
      // An infinite mapping (RFC 8684 3.7): the peer fell back to TCP; so do we (single subflow).
      if (!this.#infiniteMapSeen) this.counters.InfiniteMapRx++;
      this.#infiniteMapSeen = true;
      if (!sf.join && this.#subflows.length === 1) {
        this.#pullSubflow(sf);
        this.#fallBack();
      }
      return;
    }
    const dataLength = mapping.dataLength - (dataFin ? 1 : 0);
    if (dataLength <= 0 || mapping.subflowSeq === 0) {
      // A DATA_FIN on a segment without data (Linux: data-level length 1, subflow sequence 0).
      if (dataFin) {
        if (mapping.checksum !== undefined && dataLength === 0 && this.#handshake.checksum && !verifyDssChecksum(mapping.dsn, mapping.subflowSeq, mapping.dataLength, EMPTY, mapping.checksum)) {
          this.counters.DataCsumErr++;
          return;
        }
        this.#noteDataFin(dataOffset + Math.max(0, dataLength));
      }
      this.#checkDataFin();
      return;
    }
    if (mapping.dataLength === 0 && mapping.subflowSeq === 0) return; // infinite mapping: not in this slice
    const subflowSeq = mapping.subflowSeq >>> 0;
    if (segment.payload.length > 0) {
      const segSeq = (segment.seq - sf.receive.isn) >>> 0;
      if (segSeq < subflowSeq || segSeq >= subflowSeq + dataLength) {
        this.counters.DSSNoMatchTCP++;
        return;
      }
    }
    // From here the mapping matches the segment it came with: a DATA_FIN on it is credible (Linux takes a
    // DATA_FIN on a data mapping only with the mapping).
    if (subflowSeq + dataLength <= sf.receive.readSeq) {
      if (dataFin) this.#noteDataFin(dataOffset + dataLength);
      return; // for bytes already consumed
    }
    const maps = sf.receive.maps;
    for (const m of maps) {
      if (subflowSeq < m.subflowSeq + m.length && m.subflowSeq < subflowSeq + dataLength) {
        const same = m.subflowSeq === subflowSeq && m.dataOffset === dataOffset && m.length === dataLength;
        if (!same) this.counters.DSSNotMatching++;
        else if (dataFin) this.#noteDataFin(dataOffset + dataLength);
        return; // identical (a retransmission) or conflicting: the one in use stays
      }
    }
    if (dataFin) this.#noteDataFin(dataOffset + dataLength);
    const entry: ReceiveMap = {
      subflowSeq,
      dataOffset,
      length: dataLength,
      checksum: this.#handshake.checksum ? mapping.checksum : undefined,
      dsn: mapping.dsn.hi === 0 && !mapping.dsn64 ? dsnFromOffset(this.#keys.remoteIdsn!, dataOffset) : mapping.dsn,
      wireLength: mapping.dataLength,
      pieces: this.#handshake.checksum ? [] : undefined,
      received: 0,
    };
    let i = maps.length;
    while (i > 0 && maps[i - 1]!.subflowSeq > subflowSeq) i--;
    maps.splice(i, 0, entry);
  }

  /**
   * The peer's DATA_FIN is at data offset `finOffset`. Until the stream reaches it, the most recent one wins
   * (as Linux prefers the most recent information), so a stray or forged DATA_FIN is corrected by the peer's
   * retransmitted one; a DATA_FIN before data already delivered is ignored.
   */
  #noteDataFin(finOffset: number): void {
    if (this.#dataFinReceived || finOffset < this.#receive.next) return;
    if (this.#remoteFinOffset === undefined) this.counters.DataFinRx++;
    this.#remoteFinOffset = finOffset;
  }

  #afterInput(now: Micros): void {
    this.#now = now;
    for (const s of this.#subflows) {
      if (s.abortPending) {
        s.abortPending = false;
        s.tcp.abort();
      }
    }
    this.#pullSubflows();
    this.#checkStale();
    this.#armRetransmit(now);
  }

  /**
   * Linux `mptcp_pm_subflows_chk_stale`: a subflow with data outstanding and more than STALE_LOSS_CNT RTOs
   * since its last progress, while another usable subflow has fewer than STALE_LOSS_CNT - 1, is marked
   * stale: the scheduler avoids it and its data not acknowledged at the data level is reinjected elsewhere.
   * It keeps its own retransmissions (and mappings), and recovers when its ACKs move again.
   */
  #checkStale(): void {
    if (!this.#isMptcp || this.#subflows.length < 2) return;
    for (const s of this.#subflows) {
      if (s.closed) continue;
      const count = s.staleCount();
      if (s.stale || count <= STALE_LOSS_CNT || !s.usable) continue;
      if (s.tcp.bytesInFlight === 0 && s.send.sentEnd >= s.send.written + 1) continue;
      const alternative = this.#subflows.some(
        (o) => o !== s && !o.closed && !o.stale && o.usable && o.staleCount() < Math.max(STALE_LOSS_CNT - 1, 1),
      );
      if (!alternative) continue;
      s.markStale();
      this.counters.SubflowStale++;
      this.#reinjectUnacked(s, true);
    }
  }

  /** Arms the data-level retransmission timer while data is unacknowledged at the data level. */
  #armRetransmit(now: Micros): void {
    if (!this.#isMptcp || this.#send.acked >= this.#send.scheduled) {
      this.#timers.stop(MptcpTimer.Retransmit);
      this.#rtxBackoff = 1;
      return;
    }
    if (this.#timers.isArmed(MptcpTimer.Retransmit)) return;
    // The largest RTO of the subflows that are moving: a dead subflow's backed-off RTO (seconds) would
    // otherwise set the pace of the very timer that rescues its data. All subflows if none is moving.
    let healthy = 0;
    let any = 0;
    for (const s of this.#subflows) {
      if (!s.usable) continue;
      const rto = s.tcp.rtoMicros;
      any = Math.max(any, rto);
      if (!s.stale && s.staleCount() === 0) healthy = Math.max(healthy, rto);
    }
    const rto = Math.max(DATA_RTX_MIN, healthy > 0 ? healthy : any);
    this.#timers.set(MptcpTimer.Retransmit, now + Math.min(rto * this.#rtxBackoff, DATA_RTX_MAX));
  }

  /**
   * Linux `__mptcp_retrans`: the data-level retransmission timer expired with no DATA_ACK progress. The
   * oldest unacknowledged data (up to DATA_RTX_CHUNK) is reinjected on a usable, non-stale subflow that has
   * nothing outstanding (preferring non-backup ones) other than the one it was sent on; then the stale
   * check runs, as Linux runs it for the busy subflows it skips.
   */
  #dataRetransmit(): void {
    if (!this.#isMptcp || this.#send.acked >= this.#send.scheduled) return;
    this.#rtxBackoff = Math.min(this.#rtxBackoff * 2, 64);
    const una = this.#send.acked;
    const holds = (s: Subflow): boolean => s.send.maps.some((m) => m.dataOffset <= una && una < m.dataOffset + m.length);
    // The subflow holding the oldest unacknowledged data is in RTO recovery itself (its path is not moving):
    // everything it holds beyond the DATA_ACK is reinjected on the others at once (once per stall), as Linux
    // does for a stale subflow, rather than one chunk per data-level timeout while the window stays shut.
    const holder = this.#subflows.find((s) => !s.closed && holds(s));
    if (
      holder !== undefined &&
      (holder.progress.bulkReinjectedAt !== holder.progress.acked || una >= holder.progress.bulkReinjectedTo) &&
      holder.staleCount() >= 1 &&
      this.#subflows.some((o) => o !== holder && !o.stale && o.usable)
    ) {
      holder.progress.bulkReinjectedAt = holder.progress.acked;
      holder.progress.bulkReinjectedTo = this.#send.scheduled;
      this.#reinjectUnacked(holder, true);
      return;
    }
    let target: Subflow | undefined;
    for (const s of this.#subflows) {
      if (s.stale || !s.usable) continue;
      if (holds(s)) continue;
      if (s.tcp.bytesInFlight > 0 || s.send.sentEnd < s.send.written + 1) continue;
      const backup = s.backupLocal || s.backupPeer;
      if (target === undefined || (!backup && (target.backupLocal || target.backupPeer))) target = s;
    }
    if (target === undefined) return;
    const n = target.push(this.#send, una, Math.min(DATA_RTX_CHUNK, this.#send.scheduled - una));
    if (n > 0) {
      this.counters.MPTCPRetrans++;
      this.#allowInfiniteFallback = false;
    }
  }

  #pullSubflows(): void {
    for (const s of this.#subflows) {
      this.#pullSubflow(s);
      if (this.#state.kind === 'fallback') return;
    }
  }

  /** Moves a subflow's in-order bytes to the connection level through the mappings. */
  #pullSubflow(sf: Subflow): void {
    if (!this.#isMptcp) return;
    if (sf.join && sf.joinState !== 'full') return;
    const tcp = sf.tcp;
    while (this.#receive.hasRoom) {
      const map = sf.receive.maps[0];
      if (map === undefined || map.subflowSeq > sf.receive.readSeq) {
        if (tcp.readableBytes > 0) this.#unmappedData(sf);
        return;
      }
      const skip = sf.receive.readSeq - map.subflowSeq;
      const want = map.length - skip;
      const bytes = tcp.read(want);
      if (bytes === undefined) return;
      const dataOffset = map.dataOffset + skip;
      sf.receive.readSeq += bytes.length;
      sf.receive.dataBytesReceived += bytes.length;
      const done = bytes.length === want;
      if (done) sf.receive.maps.shift();
      if (map.pieces !== undefined) {
        map.pieces.push(bytes);
        map.received += bytes.length;
        if (!done) continue;
        const acc = new DssChecksumAccumulator(map.dsn, map.subflowSeq, map.wireLength);
        for (const p of map.pieces) acc.add(p);
        if (map.checksum === undefined || !acc.verify(map.checksum)) {
          this.counters.DataCsumErr++;
          if (this.#onChecksumFailure(sf, map)) continue;
          return;
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

  /**
   * RFC 8684 3.7, as Linux (`subflow_check_data_avail`): a mapping whose DSS checksum failed. While an
   * infinite fallback is allowed (one subflow, never joined, nothing reinjected) the data is delivered as
   * TCP would deliver it, MP_FAIL goes back with the mapping's DSN, and the connection falls back to TCP.
   * Otherwise the data is discarded and the subflow reset with MP_FAIL and MP_TCPRST "middlebox
   * interference"; the peer reinjects its data on the other subflows. Returns whether to keep pulling.
   */
  #onChecksumFailure(sf: Subflow, map: ReceiveMap): boolean {
    sf.failDsn = map.dsn;
    if (this.#allowInfiniteFallback && !sf.join && this.#subflows.length === 1) {
      let at = map.dataOffset;
      for (const p of map.pieces ?? []) {
        this.#insertData(at, p);
        at += p.length;
      }
      map.pieces = undefined;
      this.counters.DSSCorruptionFallback++;
      this.#mpFailSent = true;
      // Linux (`mptcp_subflow_fail`): MPTCP goes on until the peer's infinite mapping arrives (then both
      // are plain TCP); MP_FAIL leaves on a pure ACK now.
      sf.tcp.requestPureAck();
      return true;
    }
    this.counters.DSSCorruptionReset++;
    sf.resetReason = MpTcpRstReason.MIDDLEBOX_INTERFERENCE;
    sf.abortPending = true;
    return false;
  }

  /**
   * RFC 8684 3.7: data without a mapping. With one subflow, fall back to TCP (no data lost: what the subflow
   * holds is read as plain TCP from now on); with several, reset that subflow (its data is reinjected).
   */
  #unmappedData(sf: Subflow): void {
    this.counters.DssFallback++;
    if (this.#subflows.length === 1 && !sf.join) {
      this.#fallBack();
      return;
    }
    sf.resetReason = MpTcpRstReason.MPTCP_SPECIFIC;
    sf.tcp.abort();
  }

  /** Data-level reassembly (reassembly.ts); a DATA_FIN at the new in-order end counts now. */
  #insertData(offset: number, bytes: Uint8Array): void {
    if (this.#receive.insert(offset, bytes)) this.#checkDataFin();
  }

  #checkDataFin(): void {
    if (this.#dataFinReceived || this.#remoteFinOffset === undefined || this.#receive.next !== this.#remoteFinOffset) return;
    this.#dataFinReceived = true;
    this.#receive.consumeDataFin();
    // RFC 8684 3.3.3: acknowledge it with a DATA_ACK.
    for (const s of this.#subflows) if (s.usable) s.tcp.requestAck();
  }

  /** A subflow is gone: its data not acknowledged at the data level goes to the reinjection queue. */
  #onSubflowLost(sf: Subflow): void {
    this.#scheduler.onSubflowRemoved(this.#now, sf.id);
    this.#reinjectUnacked(sf, false);
  }

  /**
   * The subflow's data not acknowledged at the data level goes to the reinjection queue. A subflow that
   * lives on (stale) keeps its mappings: its own retransmissions still need them.
   */
  #reinjectUnacked(sf: Subflow, keepMaps: boolean): void {
    if (!this.#isMptcp) return;
    for (const m of sf.send.maps) {
      const end = m.dataOffset + m.length;
      if (end <= this.#send.acked) continue;
      this.#reinject.push({ start: Math.max(m.dataOffset, this.#send.acked), end, lostOn: sf.id });
    }
    if (!keepMaps) sf.send.maps.length = 0;
    this.#reinject.sort((a, b) => a.start - b.start);
  }

  #translateSubflowEvents(): void {
    for (const sf of this.#subflows) {
      const initial = sf.tcp === this.subflow;
      for (let e = sf.tcp.pollEvent(); e !== undefined; e = sf.tcp.pollEvent()) {
        switch (e.type) {
          case 'established':
            if (initial) this.#events.push(e);
            break;
          case 'readable':
            if (this.#state.kind === 'fallback') {
              if (initial) this.#events.push(e);
            } else {
              this.#pullSubflow(sf);
              if (this.fallback && initial) this.#events.push(e); // the pull may have fallen back
            }
            break;
          case 'writable':
            if (initial && this.#state.kind === 'fallback') this.#events.push(e);
            break;
          case 'end':
            if (this.#state.kind === 'fallback') {
              if (initial) this.#events.push(e);
            } else if (this.#remoteFinOffset === undefined && this.#subflows.length === 1) {
              // A subflow FIN without DATA_FIN: with one subflow, the end of the data stream.
              this.#pullSubflow(sf);
              this.#remoteFinOffset = this.#receive.next;
              this.#checkDataFin();
            }
            break;
          case 'closed': {
            sf.markClosed(e.error);
            // Linux (`mptcp_close_ssk`) reports SF_CLOSED only while the connection is established.
            if (this.#state.kind === 'mptcp' && !this.#subflowClosing && !this.#closedReported) {
              this.#monitorSubflow('SF_CLOSED', sf, errnoOf(e.error));
            }
            const cleanEnd = this.#isMptcp && this.#dataFinReceived && this.#dataFinAcked;
            const liveOthers = this.#subflows.some((s) => !s.closed);
            if (!liveOthers) {
              const error: TcpError | undefined = fastCloseOf(this.#state)?.error ?? (cleanEnd ? undefined : e.error ?? this.subflowErrorOf());
              this.#reportClosed(error);
            } else if (!cleanEnd) {
              this.#onSubflowLost(sf);
              this.#pm.subflowClosed();
            }
            break;
          }
        }
      }
    }
    if (this.#state.kind === 'fallback' && this.#send.blocked && this.#direct()) {
      this.#send.unblock();
      this.#events.push({ type: 'writable' });
    }
    if (this.#receive.takeNewData()) {
      this.#events.push({ type: 'readable' });
    }
    if (this.#isMptcp) {
      if (this.#dataFinReceived && !this.#endReported && this.#receive.readable === 0) {
        this.#endReported = true;
        this.#events.push({ type: 'end' });
      }
      if (this.#dataFinReceived && this.#dataFinAcked && !this.#subflowClosing) {
        // Both DATA_FINs done: close the subflows (FIN), as Linux does when the msk is closed; a stale
        // subflow (its path looks dead) is reset instead of waiting out its FIN retransmissions.
        this.#subflowClosing = true;
        for (const s of this.#subflows) {
          if (s.stale && !s.closed) {
            s.resetReason ??= MpTcpRstReason.UNSPECIFIED;
            s.tcp.abort();
          } else s.tcp.close();
        }
      }
      // The data-level connection is complete once both DATA_FINs are done and the end was reported: the
      // application sees 'closed' now (like Linux's close() of the msk); subflows finish their own FIN
      // handshakes in the background (the host keeps the connection until they are CLOSED).
      if (this.#subflowClosing && this.#endReported) this.#reportClosed(undefined);
    }
  }

  private subflowErrorOf(): TcpError | undefined {
    return this.#subflows.find((s) => s.closedError !== undefined)?.closedError;
  }

  #reportClosed(error: TcpError | undefined): void {
    if (this.#closedReported) return;
    this.#closedReported = true;
    if (this.#isMptcp) this.#monitor('CLOSED');
    this.#events.push(error ? { type: 'closed', error } : { type: 'closed' });
  }
}

/** Linux errno values of subflow errors. A subflow we reset ourselves (ECONNABORTED here) has none in Linux. */
const ERRNO: Readonly<Record<string, number>> = { ECONNRESET: 104, ECONNREFUSED: 111, ETIMEDOUT: 110, EPIPE: 32 };

/** The errno the kernel's SF_CLOSED `error` attribute would carry for a subflow's error. */
function errnoOf(error: TcpError | undefined): number | undefined {
  return error === undefined ? undefined : ERRNO[error.code];
}

/**
 * A subflow's TCP configuration. RFC 8684 3.3.4: the window a subflow advertises is read by the peer as the
 * connection-level window, relative to the DATA_ACK, and shared by every subflow; a subflow's own
 * receive-buffer autotuning (which sees only its share of the data) would keep it far too small while
 * another, slower subflow holds the DATA_ACK back. Like Linux, which sizes subflow windows from the
 * connection's receive space, subflows start with a larger buffer (SUBFLOW_RCVBUF, or the configured one if
 * larger) and autotune from there.
 */
function subflowConfig(config: TcpConfig | undefined): TcpConfig {
  const start = Math.max(config?.receiveBufferBytes ?? 0, SUBFLOW_RCVBUF);
  return { ...config, receiveBufferBytes: start, receiveBufferMaxBytes: Math.max(config?.receiveBufferMaxBytes ?? 0, start, SUBFLOW_RCVBUF_MAX) };
}
