/**
 * An MPTCP v1 connection (the "meta socket", Linux's msk) over one or more subflows, sans-IO, in both roles,
 * wire-compatible with Linux: MP_CAPABLE handshake, MP_JOIN subflows, DSS mappings, DATA_ACK, DATA_FIN, DSS
 * checksums, fallback to TCP.
 *
 * Heads up! Before working on this file read RFC 8684 sections 3.1 (MP_CAPABLE), 3.2 (MP_JOIN), 3.3 (DSS,
 * DATA_ACK, DATA_FIN), 3.3.6 (reinjection), 3.5 (MP_FASTCLOSE), 3.7 (fallback), and Linux net/mptcp/protocol.c
 * (the msk: `mptcp_sendmsg`, `__mptcp_push_pending`, `mptcp_recvmsg`, `mptcp_close`). This file holds the
 * factories, the stream API, the driver entry points and the state transitions; the rest is one file per
 * concern, each a typed sub-object reaching the connection through the context object of context.ts (as
 * Linux hands its helpers the msk, and quinn-proto splits `connection/`):
 *   handshake.ts   MP_CAPABLE and MP_JOIN (options out, HMACs checked in)      Linux subflow.c, options.c
 *   options.ts     which options go on each segment; incoming options dispatch  options.c
 *   mapping.ts     receive mapping checks, subflow bytes up to the reassembly   subflow.c
 *   pm.ts          the path manager's signals, ADD_ADDR / RM_ADDR / MP_PRIO     pm.c (src/pm: the managers)
 *   retransmit.ts  stale subflows, the data-level timer, reinjection           protocol.c, pm.c
 *   fallback.ts    fallback to TCP, MP_FAIL, checksum failure                  subflow.c, pm.c
 *   close.ts       DATA_FIN both ways, the subflows' close, MP_FASTCLOSE        protocol.c, options.c
 *   info.ts        MPTCP_INFO, subflow info, monitor events                    sockopt.c, pm_netlink.c
 *   send-buffer.ts, reassembly.ts, subflow.ts, keys.ts, token.ts, timers.ts, mib.ts, dsn.ts, types.ts
 *
 * The class groups, as quinn-proto's `Connection` does: getters (keys, tokens, state, byte counts, info);
 * handle_* (`handleSegment`, `handleSubflowSegment`, `handleTimeout`); application commands (`write`,
 * `read`, `shutdown`, `close`, `abort`, `fastClose`, `setBackup`, `joinSubflow`, `acceptJoin`,
 * `removeLocalAddress`, `endpointsChanged`); poll_* (`pollTransmit`, `pollTransmitFrom`, `pollEvent`,
 * `pollTimeout`, `takeSubflowRequests`).
 *
 * Call order, as for TcpConnection (the host is the driver):
 *   handleSegment(now, seg) / handleSubflowSegment(now, subflow, seg) | handleTimeout(now) |
 *   write/read/shutdown/close/abort
 *   then pollTransmit(now) (or pollTransmitFrom) until undefined, then pollEvent() until undefined, then
 *   pollTimeout().
 *
 * Data sequence numbers are offsets from IDSN + 1 (./dsn.ts); the 64-bit values exist only in options. The
 * application's bytes are kept at the connection level (send-buffer.ts) and handed to subflows by the
 * scheduler (src/sched), chunk by chunk, as much as each subflow can send now (`#schedule`, Linux
 * `__mptcp_push_pending`); received bytes go from each subflow through its mappings into one reassembly.
 */
import type { TcpConnection, TcpEndpoints, TcpExtension } from '../tcp/connection.js';
import { TcpConnection as Tcp } from '../tcp/connection.js';
import type { Micros, TcpConfig, TcpEvent, TcpInfo, TcpStateName } from '../tcp/types.js';
import type { TcpSegment, TcpSegmentRepr } from '../wire/tcp.js';
import type { U64 } from '../wire/u64.js';
import type { RandomBytes } from './keys.js';
import { ConnectionKeys } from './keys.js';
import type { SubflowRequest } from '../pm/types.js';
import { DEFAULT_LIMITS } from '../pm/config.js';
import { createMptcpCounters, type MptcpCounters } from './mib.js';
import type { MptcpEvent } from './events.js';
import { createScheduler } from '../sched/registry.js';
import type { Scheduler, SubflowView } from '../sched/types.js';
import { CoupledGroup } from '../cc/coupled.js';
import { DEFAULT_CONGESTION_CONTROL, isCoupledCongestionControl } from '../cc/registry.js';
import { MptcpTimer, MptcpTimerTable } from './timers.js';
import { SendBuffer } from './send-buffer.js';
import { Reassembly } from './reassembly.js';
import { Subflow, subflowConfig, type JoinHandshake, type SubflowInit } from './subflow.js';
import type { JoinOptions, MptcpPathManagerConfig, StreamConnection } from './types.js';
import { Handshake } from './handshake.js';
import { drawLocalKey, type TokenTable } from './token.js';
import { HANDSHAKE, isMptcp, modeOf, MPTCP, primarySubflow, type ConnectionContext, type ConnectionState, type FastClose } from './context.js';
import { ConnectionMonitor, liveSubflowCount, subflowDebugState, subflowInfo, type MptcpInfo, type MptcpSubflowInfo } from './info.js';
import { Options } from './options.js';
import { Mappings } from './mapping.js';
import { PathManagement } from './pm.js';
import { Opportunistic } from './opportunistic.js';
import { Retransmit } from './retransmit.js';
import { Fallback } from './fallback.js';
import { Closing } from './close.js';

export { synMpCapable, synMpJoin } from './handshake.js';
export { Subflow } from './subflow.js';
export type { MptcpInfo, MptcpSubflowInfo } from './info.js';
export type { JoinOptions, MptcpPathManagerConfig, StreamConnection, SubflowRequest } from './types.js';

/** Options of one MPTCP connection. */
export interface MptcpConnectionOptions {
  /** Source of the local key (crypto.randomBytes, or a seeded PRNG in simulations). */
  readonly randomBytes: RandomBytes;
  /** Ask for DSS checksums (flag A; Linux's net.mptcp.checksum_enabled). Default false. */
  readonly checksum?: boolean;
  /** Counters to add to (e.g. the host's); default a private object. */
  readonly counters?: MptcpCounters;
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
  /**
   * Opportunistic reinjection and penalisation (NSDI 2012 4.2, ./opportunistic.ts) whatever the scheduler:
   * when the connection-level window blocks on data a slower subflow holds, that data goes again on a faster
   * one and the slow subflow's window is reduced, at most once per its RTT. Default false (Linux has none).
   */
  readonly opportunisticReinjection?: boolean;
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

const NO_PM: MptcpPathManagerConfig = { endpoints: () => [], limits: () => DEFAULT_LIMITS };
/** Bytes of DATA_ACK owed after a read before an ACK carries them (see `#announceDataAck`). */
const DATA_ACK_OWED_MAX = 64 * 1024;

/** An MPTCP connection. See the file comment for the call order. */
export class MptcpConnection implements StreamConnection {
  /** The initial (MP_CAPABLE) subflow. */
  readonly subflow: TcpConnection;
  readonly counters: MptcpCounters;
  readonly server: boolean;
  /** Called at every application command (its owner, the host, then looks at the connection again). */
  onCommand: (() => void) | undefined = undefined;

  /** handshake | mptcp | fastClosing | fallback (context.ts). */
  #state: ConnectionState = HANDSHAKE;
  /** Our key and the peer's, with tokens and IDSNs. */
  readonly #keys: ConnectionKeys;
  readonly #scheduler: Scheduler;
  /** Every subflow ever added, in order (the initial one first; a subflow's id is its index). */
  readonly #subflows: Subflow[] = [];
  /** With a coupled congestion controller (lia, olia, balia): the group every subflow's controller joins. */
  readonly #coupling: CoupledGroup | undefined;
  /** Send side: the data-level send buffer (offsets from IDSN + 1). */
  readonly #send: SendBuffer;
  /** Receive side: data-level reassembly and the application's receive queue. */
  readonly #receive: Reassembly;
  /** Data-level retransmission and DATA_FIN timers. */
  readonly #timers = new MptcpTimerTable();
  readonly #events: TcpEvent[] = [];
  readonly #monitor: ConnectionMonitor;

  // The sub-objects (one file each, see the file comment).
  /** MP_CAPABLE and MP_JOIN: the checksum and C flags, full establishment. */
  readonly #handshake: Handshake;
  /** Options out and in; what every subflow calls back into. */
  readonly #options: Options;
  readonly #mappings: Mappings;
  /** The path manager (src/pm) and the connection's side of it. */
  readonly #paths: PathManagement;
  readonly #retransmit: Retransmit;
  /** Opportunistic reinjection, when the option is on. */
  readonly #opportunistic: Opportunistic | undefined;
  readonly #fallback: Fallback;
  readonly #closing: Closing;

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
    this.#receive = new Reassembly(options.receiveBufferBytes ?? 8 * 1024 * 1024, this.counters);
    this.#send = new SendBuffer(options.sendBufferBytes ?? config?.sendBufferBytes ?? 4 * 1024 * 1024);
    this.#scheduler = createScheduler(options.scheduler ?? 'default');
    this.#coupling = isCoupledCongestionControl(config?.congestionControl ?? DEFAULT_CONGESTION_CONTROL) ? new CoupledGroup() : undefined;
    const ctx = this.#context();
    this.#fallback = new Fallback(ctx);
    this.#retransmit = new Retransmit(ctx);
    this.#opportunistic = options.opportunisticReinjection === true ? new Opportunistic(ctx) : undefined;
    this.#closing = new Closing(ctx, this.#retransmit);
    // The path manager before the key: an unknown name throws before the token table holds the connection.
    this.#paths = new PathManagement(ctx, this.#closing, this.#retransmit, {
      name: options.pathManager,
      config: options.pm ?? NO_PM,
      subflowRequested: () => options.pendingJoins?.add(this),
    });
    this.#keys = new ConnectionKeys(options.tokens !== undefined ? options.tokens.add(options.randomBytes, this) : drawLocalKey(options.randomBytes));
    this.#monitor = new ConnectionMonitor(options.onMonitorEvent, this.#keys.localToken, server);
    this.#handshake = new Handshake(ctx, options.checksum ?? false, options.randomBytes);
    this.#mappings = new Mappings(ctx, this.#closing, this.#fallback);
    this.#options = new Options(ctx, {
      handshake: this.#handshake,
      closing: this.#closing,
      fallback: this.#fallback,
      mappings: this.#mappings,
      paths: this.#paths,
      retransmit: this.#retransmit,
    });
    // The initial subflow last: a passive open hands it the SYN, which reads the state set above.
    const initial = this.#newSubflow({ localAddressId: 0, backup: false, tag: -1, localIsn: iss >>> 0 }, open);
    this.subflow = initial.tcp;
    this.#subflows.push(initial);
    this.#scheduler.onSubflowAdded(addedAt, initial.view());
  }

  /**
   * The private object the sub-objects reach the connection through (built once, in the constructor). An
   * instance of one class rather than an object literal: a literal with getters is a dictionary-mode object
   * in V8, so every `ctx.send`, `ctx.state`, `ctx.keys` of the per-segment paths was a hash lookup.
   */
  #context(): ConnectionContext {
    return new MptcpConnection.#Context(this);
  }

  /** The class of `#context` (inside the class body, so its getters read the connection's private fields). */
  static readonly #Context = class Context implements ConnectionContext {
    readonly server: boolean;
    readonly counters: MptcpCounters;
    readonly subflows: readonly Subflow[];
    readonly send: SendBuffer;
    readonly receive: Reassembly;
    readonly timers: MptcpTimerTable;
    // Own function properties, not methods: callers may hold them unbound, as they could the literal's.
    readonly enterMptcp: () => void;
    readonly becomeFullyEstablished: () => void;
    readonly fallBack: () => void;
    readonly startFastClose: (fastClose: FastClose) => void;
    readonly subflowEstablished: (sf: Subflow, hs: JoinHandshake) => void;
    readonly forbidInfiniteFallback: () => void;
    readonly insertData: (offset: number, bytes: Uint8Array) => void;
    readonly emit: (event: TcpEvent) => void;
    readonly #c: MptcpConnection;

    constructor(c: MptcpConnection) {
      this.#c = c;
      this.server = c.server;
      this.counters = c.counters;
      this.subflows = c.#subflows;
      this.send = c.#send;
      this.receive = c.#receive;
      this.timers = c.#timers;
      this.enterMptcp = () => c.#enterMptcp();
      this.becomeFullyEstablished = () => c.#becomeFullyEstablished();
      this.fallBack = () => c.#fallBack();
      this.startFastClose = (fastClose) => {
        c.#state = { kind: 'fastClosing', fastClose };
      };
      this.subflowEstablished = (sf, hs) => c.#subflowEstablished(sf, hs);
      this.forbidInfiniteFallback = () => c.#fallback.forbidInfinite();
      this.insertData = (offset, bytes) => {
        // Data-level reassembly (reassembly.ts); a DATA_FIN at the new in-order end counts now.
        if (c.#receive.insert(offset, bytes)) c.#closing.checkDataFin();
      };
      this.emit = (event) => {
        c.#events.push(event);
      };
    }

    get keys(): ConnectionKeys {
      return this.#c.#keys;
    }
    get state(): ConnectionState {
      return this.#c.#state;
    }
    get now(): Micros {
      return this.#c.#timers.now;
    }
    get monitor(): ConnectionMonitor {
      return this.#c.#monitor;
    }
    get checksum(): boolean {
      return this.#c.#handshake.checksum;
    }
    get writableBytes(): number {
      return this.#c.writableBytes;
    }
  };

  /** Creates a subflow record and its TCP connection (the record first, so no placeholder is needed). */
  #newSubflow(init: Omit<SubflowInit, 'id'>, open: (extension: TcpExtension) => TcpConnection): Subflow {
    return new Subflow(this.#options, { ...init, id: this.#subflows.length, coupling: this.#coupling?.join() }, open);
  }

  // ---- factories ----

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

  // ---- getters ----

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

  /** The remote key is known and the connection is not a fallback: MP_JOIN subflows may be opened. */
  get canJoin(): boolean {
    return isMptcp(this.#state) && this.#keys.remoteKey !== undefined && !this.#closing.ending;
  }

  get hasSubflowRequests(): boolean {
    return this.#paths.manager.hasSubflowRequests();
  }

  /** The path manager accepts one more MP_JOIN from the peer (the `subflows` limit). */
  acceptsJoin(): boolean {
    return this.#paths.manager.acceptsJoin();
  }

  /** Every subflow ever added (closed ones included), in order. */
  subflows(): readonly Subflow[] {
    return this.#subflows;
  }

  /** The subflow record of a TcpConnection of this connection. */
  subflowOf(tcp: TcpConnection): Subflow | undefined {
    return this.#subflows.find((s) => s.tcp === tcp);
  }

  /** MPTCP_TCPINFO-like info of every subflow (info.ts). */
  subflowInfo(): MptcpSubflowInfo[] {
    return subflowInfo(this.#subflows);
  }

  /** Internal state for diagnostics (a stalled transfer, a failed test): plain values, no references. */
  debugState(): Record<string, unknown> {
    const send = this.#send;
    const closing = this.#closing;
    return {
      mode: modeOf(this.#state),
      scheduler: this.#scheduler.name,
      send: { next: send.written, scheduled: send.scheduled, una: send.acked, wndEnd: send.windowEnd, buffered: send.chunkCount },
      reinject: this.#retransmit.describe(),
      ...(this.#opportunistic ? { opportunistic: { bytes: this.#opportunistic.bytes, penalties: this.#opportunistic.penalties } } : {}),
      rtxTimer: this.#timers.get(MptcpTimer.Retransmit),
      dataFin: { offset: closing.dataFinOffset, acked: closing.dataFinAcked, received: closing.dataFinReceived, remote: closing.remoteFinOffset },
      receive: { next: this.#receive.next, readable: this.#receive.readable, outOfOrder: this.#receive.pendingOffsets(8) },
      subflows: this.#subflows.map(subflowDebugState),
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

  /** Data-level state with TCP's names (Linux's msk uses TCP states too). */
  get state(): TcpStateName {
    const sub = primarySubflow(this.#subflows).state;
    if (!isMptcp(this.#state)) return sub;
    return this.#closing.stateName(sub);
  }

  get readableBytes(): number {
    return this.#state.kind === 'fallback' ? this.#receive.readable + this.subflow.readableBytes : this.#receive.readable;
  }

  /** Plain TCP with the buffer drained: the application writes to the initial subflow directly. */
  #direct(): boolean {
    return this.#state.kind === 'fallback' && this.#send.scheduled === this.#send.written;
  }

  get writableBytes(): number {
    if (this.#closing.writeShutdown) return 0;
    if (this.#direct()) return this.subflow.writableBytes;
    if (this.#state.kind === 'fallback') return 0;
    return this.#send.room;
  }

  /** Data-level bytes the peer acknowledged (DATA_ACK), or the subflow's after a fallback. */
  get bytesAcknowledged(): number {
    if (this.#state.kind === 'fallback') return this.subflow.info().bytesAcked;
    return Math.min(this.#send.acked, this.#send.written);
  }

  info(): TcpInfo {
    return primarySubflow(this.#subflows).info();
  }

  /** MPTCP_INFO-like connection info (info.ts). */
  mptcpInfo(): MptcpInfo {
    return {
      mode: modeOf(this.#state),
      fullyEstablished: this.#handshake.fullyEstablished,
      checksum: this.#handshake.checksum,
      localToken: this.localToken,
      remoteToken: this.#keys.remoteToken,
      bytesSent: this.#send.written,
      bytesAcked: this.#send.acked,
      bytesReceived: this.#receive.next - (this.#closing.dataFinReceived ? 1 : 0),
      subflows: liveSubflowCount(this.#subflows),
    };
  }

  // ---- application commands ----

  write(data: Uint8Array): number {
    this.onCommand?.();
    if (this.#closing.writeShutdown) return 0;
    if (this.#direct()) {
      const n = this.subflow.write(data);
      this.#send.appendDirect(n);
      return n;
    }
    return this.#send.append(data, this.writableBytes);
  }

  read(maxBytes = Infinity): Uint8Array | undefined {
    this.onCommand?.();
    const out = this.#receive.read(maxBytes);
    if (out === undefined) {
      if (this.#state.kind === 'fallback') return this.subflow.read(maxBytes);
      return undefined;
    }
    const before = this.#receive.next;
    this.#mappings.pullAll();
    if (this.#receive.next !== before) this.#announceDataAck();
    return out;
  }

  /**
   * The application's read let bytes that waited in the subflows (TCP-acknowledged long ago) move up: the
   * DATA_ACK advanced with no segment to carry it, and a sender blocked on its send buffer would wait for it
   * forever. An ACK goes out once 64 KiB are owed or the subflows are empty (Linux mptcp_cleanup_rbuf sends
   * one when the application's copy freed space). While the application keeps up nothing waits in the
   * subflows, so this never fires and the ACK clock is TCP's.
   */
  #announceDataAck(): void {
    const owed = this.#receive.dataAckOwed;
    if (owed <= 0) return;
    let waiting = 0;
    for (const s of this.#subflows) waiting += s.tcp.readableBytes;
    if (owed < DATA_ACK_OWED_MAX && waiting > 0) return;
    for (const s of this.#subflows) {
      if (s.usable) {
        s.tcp.requestAck();
        return;
      }
    }
  }

  setNoDelay(noDelay: boolean): void {
    this.onCommand?.();
    for (const s of this.#subflows) s.tcp.setNoDelay(noDelay);
  }

  /** Half-close: a DATA_FIN after the last byte written (the subflow FINs follow once both DATA_FINs are done). */
  shutdown(): void {
    this.onCommand?.();
    const closing = this.#closing;
    if (closing.writeShutdown) return;
    closing.markWriteShutdown();
    if (this.#state.kind === 'fallback') {
      if (this.#direct()) this.subflow.shutdown();
      return;
    }
    if (this.#state.kind === 'handshake') return; // decided when the handshake ends
    closing.queueDataFin();
  }

  close(): void {
    this.onCommand?.();
    this.#receive.closeRead();
    if (this.#state.kind === 'fallback') {
      this.#closing.markWriteShutdown();
      if (this.#direct()) this.subflow.close();
      return;
    }
    if (this.#state.kind === 'handshake' && this.#send.written === 0) {
      this.#closing.markWriteShutdown();
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

  /**
   * MP_FASTCLOSE (RFC 8684 3.5), as Linux 6.x sends it: a RST on every subflow carrying MP_FASTCLOSE with
   * the peer's key and MP_TCPRST; the connection is closed at once (its 'closed' event has ECONNABORTED).
   * Before the keys are known (or after a fallback) this is a plain abort (close.ts).
   */
  fastClose(): void {
    this.onCommand?.();
    this.#closing.fastClose();
  }

  /**
   * MP_PRIO (RFC 8684 3.3.8): asks the peer to treat subflow `subflowId` as backup (or not) and updates our
   * own backup flag, which the scheduler reads (a backup subflow carries data only when no non-backup
   * subflow is usable). The option leaves on a pure ACK of that subflow (forced out). Returns false when
   * the subflow is unknown or closed, or the connection is not MPTCP.
   */
  setBackup(subflowId: number, backup: boolean): boolean {
    this.onCommand?.();
    return this.#paths.setBackup(subflowId, backup);
  }

  /**
   * Client side of MP_JOIN (RFC 8684 3.2): opens a subflow with `endpoints` (another local address, usually
   * the same remote address and port) whose SYN carries MP_JOIN with the peer's token and our nonce. The
   * caller (the host) routes its segments with `handleSubflowSegment` and sends what `pollTransmitFrom`
   * returns for it. Throws when the connection cannot be joined yet.
   */
  joinSubflow(now: Micros, endpoints: TcpEndpoints, iss: number, config: TcpConfig | undefined, options: JoinOptions): TcpConnection {
    if (!this.canJoin) throw new Error('MPTCP connection cannot be joined (not fully MPTCP, or closing)');
    return this.#addJoin(0, iss, options, this.#handshake.newJoin('synSent'), (extension) => Tcp.connect(now, endpoints, iss, subflowConfig(config), extension));
  }

  /**
   * Server side of MP_JOIN: a SYN with MP_JOIN whose token is ours (the host looked it up). Answers with a
   * SYN/ACK carrying our nonce and the truncated HMAC; the third ACK's HMAC is verified when it arrives.
   */
  acceptJoin(now: Micros, endpoints: TcpEndpoints, iss: number, syn: TcpSegment, config: TcpConfig | undefined, options: JoinOptions): TcpConnection {
    const handshake = this.#handshake.newJoin('synReceived');
    return this.#addJoin(now, iss, { ...options, remoteId: undefined }, handshake, (extension) => Tcp.accept(now, endpoints, iss, syn, subflowConfig(config), extension));
  }

  /** A joined subflow, added to the list and to the scheduler (at `addedAt`). */
  #addJoin(addedAt: Micros, iss: number, options: JoinOptions, joinHandshake: JoinHandshake, open: (extension: TcpExtension) => TcpConnection): TcpConnection {
    const { addressId, backup, tag, endpointId, remoteId } = options;
    const sf = this.#newSubflow({ localAddressId: addressId, backup: backup ?? false, tag: tag ?? -1, localIsn: iss >>> 0, joinHandshake, endpointId, remoteId }, open);
    this.#subflows.push(sf);
    this.#scheduler.onSubflowAdded(addedAt, sf.view());
    return sf.tcp;
  }

  /**
   * The host's endpoint table changed (Linux `mptcp_nl_add_subflow_or_signal_addr` walks every connection):
   * the path manager runs now, so a new `signal` endpoint is announced and a new `subflow` endpoint joined.
   */
  endpointsChanged(now: Micros): void {
    this.#timers.now = now;
    this.#paths.manager.endpointsChanged();
  }

  /**
   * `ip mptcp endpoint delete` for this connection (Linux `mptcp_nl_remove_subflow_and_signal_addr`): if
   * the endpoint was announced or a subflow uses its address, RM_ADDR with its id leaves on a pure ACK of a
   * remaining subflow and those subflows are reset (their unacknowledged data reinjected on the others).
   * The caller has already removed the endpoint from the table. Returns the subflows closed.
   */
  removeLocalAddress(now: Micros, endpoint: { readonly id: number; readonly address: Uint8Array }): number {
    this.#timers.now = now;
    const closed = this.#paths.removeLocalAddress(endpoint);
    if (closed === undefined) return 0;
    this.#afterInput(now);
    return closed;
  }

  // ---- handle_* ----

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
      this.#handshake.joinAckTimeout(s, now);
    }
    this.#paths.manager.handleTimeout(now);
    this.#retransmit.handleTimeout(now);
    this.#closing.handleTimeout(now);
    this.#afterInput(now);
  }

  // ---- poll_* ----

  pollTransmit(now: Micros): TcpSegmentRepr | undefined {
    return this.pollTransmitFrom(now)?.repr;
  }

  /** The next segment to send and the subflow it belongs to (its endpoints and tag). */
  pollTransmitFrom(now: Micros): { repr: TcpSegmentRepr; subflow: Subflow } | undefined {
    this.#timers.now = now;
    let control: Subflow | undefined;
    if (this.#paths.signalDue()) {
      control = this.#paths.signalSubflow();
      control?.tcp.requestPureAck();
    }
    if (isMptcp(this.#state)) {
      for (const s of this.#subflows) if (s.prioDue && s.usable) s.tcp.requestPureAck();
    }
    this.#schedule(now, control);
    for (const s of this.#subflows) {
      const repr = s.tcp.pollTransmit(now);
      if (repr !== undefined) return { repr, subflow: s };
    }
    return this.#closing.pollTransmit(now);
  }

  pollTimeout(): Micros | undefined {
    let min = this.#timers.next();
    const t = this.#paths.manager.pollTimeout();
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

  /** Subflows the path manager asked for since the last call (the host opens them with MP_JOIN). */
  takeSubflowRequests(): SubflowRequest[] {
    return this.#paths.manager.takeSubflowRequests();
  }

  // ---- internals ----

  /** The scheduler's turn: reinjections first, then new data, on the subflows it picks. */
  #schedule(now: Micros, hold?: Subflow): void {
    if (this.#state.kind === 'fallback') {
      this.#fallback.drain(this.#closing.writeShutdown);
      return;
    }
    if (!isMptcp(this.#state)) return;
    const send = this.#send;
    const sendLimit = Math.min(send.written, send.windowEnd);
    if (!this.#retransmit.pending && send.scheduled >= sendLimit) {
      this.#windowBlocked(now);
      return;
    }
    let views: SubflowView[] | undefined;
    // `hold`: a subflow that must send a pure ACK (ADD_ADDR, echo) gets no new data until it did.
    const live = (): SubflowView[] => (views ??= this.#subflows.filter((s) => !s.closed && s !== hold).map((s) => s.view()));
    const changed = (): void => {
      views = undefined;
    };
    if (!this.#retransmit.push(now, this.#scheduler, live, changed)) return;
    while (send.scheduled < sendLimit) {
      // The send buffer is the scheduler's ConnectionView (its getters: window, outstanding, unsent).
      const d = this.#scheduler.selectSend(now, live(), sendLimit - send.scheduled, send);
      if (d === undefined) return;
      const s = this.#subflows.find((x) => x.id === d.subflowId);
      if (s === undefined) return;
      const n = s.push(send, send.scheduled, Math.min(d.maxBytes, sendLimit - send.scheduled));
      changed();
      if (n === 0) return;
      // A redundant scheduler's copies: the same DSN range on each other subflow it chose (best effort).
      for (const id of d.duplicateOn) {
        const dup = this.#subflows.find((x) => x.id === id);
        if (dup !== undefined && dup !== s && dup.usable) dup.push(send, send.scheduled, n);
      }
      send.markScheduled(n);
    }
    this.#windowBlocked(now);
  }

  /**
   * The scheduling pass ended with the send head at the peer's connection-level window while the application
   * has more written: the window blocked (BLEST's lambda reads the count); then opportunistic reinjection,
   * when on (it also acts on a full send buffer).
   */
  #windowBlocked(now: Micros): void {
    const send = this.#send;
    if (send.scheduled >= send.windowEnd && send.written > send.windowEnd) send.sendWindowBlockedCount++;
    this.#opportunistic?.run(now);
  }

  /** After every input and timer: pending resets, subflow bytes up, the stale check, the data-level timer. */
  #afterInput(now: Micros): void {
    this.#timers.now = now;
    for (const s of this.#subflows) {
      if (s.abortPending) {
        s.abortPending = false;
        s.tcp.abort();
      }
    }
    this.#mappings.pullAll();
    this.#retransmit.checkStale();
    this.#retransmit.arm(now);
  }

  // ---- transitions (context.ts) ----

  #enterMptcp(): void {
    this.#state = MPTCP;
    const ep = this.subflow.endpoints;
    this.#monitor.connection('CREATED', ep, this.#handshake.peerDenyJoinId0);
    this.#paths.manager.created({
      initialLocal: { address: ep.localAddress, port: ep.localPort },
      initialRemote: { address: ep.remoteAddress, port: ep.remotePort },
      denyJoinId0: this.#handshake.peerDenyJoinId0,
    });
    this.#closing.enteredMptcp();
  }

  #becomeFullyEstablished(): void {
    if (this.#handshake.fullyEstablished) return;
    this.#handshake.fullyEstablished = true;
    this.#monitor.connection('ESTABLISHED', this.subflow.endpoints, this.#handshake.peerDenyJoinId0);
    this.#paths.manager.fullyEstablished();
  }

  #fallBack(): void {
    const from = this.#state;
    if (from.kind === 'fallback') return;
    this.#state = { kind: 'fallback', fastClose: from.kind === 'fastClosing' ? from.fastClose : undefined };
    this.#fallback.fellBack(from.kind === 'handshake');
  }

  /** A joined subflow may carry data: SF_ESTABLISHED (once). */
  #subflowEstablished(sf: Subflow, hs: JoinHandshake): void {
    if (hs.announced) return;
    hs.announced = true;
    this.#monitor.subflow('SF_ESTABLISHED', sf);
  }

  // ---- subflow events to connection events ----

  #translateSubflowEvents(): void {
    const closing = this.#closing;
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
              this.#mappings.pull(sf);
              if (this.fallback && initial) this.#events.push(e); // the pull may have fallen back
            }
            break;
          case 'writable':
            if (initial && this.#state.kind === 'fallback') this.#events.push(e);
            break;
          case 'end':
            if (this.#state.kind === 'fallback') {
              if (initial) this.#events.push(e);
            } else if (closing.remoteFinOffset === undefined && this.#subflows.length === 1) {
              // A subflow FIN without DATA_FIN: with one subflow, the end of the data stream.
              this.#mappings.pull(sf);
              closing.subflowFinEndsStream();
            }
            break;
          case 'closed':
            // The last subflow closes the connection; another one's data not DATA_ACKed is reinjected.
            if (closing.subflowClosed(sf, e.error)) {
              this.#scheduler.onSubflowRemoved(this.#timers.now, sf.id);
              this.#retransmit.reinjectUnacked(sf, false);
              this.#paths.manager.subflowClosed({ endpointId: sf.endpointId, error: e.error?.code, wasEstablished: sf.joinState === 'full', now: this.#timers.now });
            }
            break;
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
    if (isMptcp(this.#state)) closing.afterEvents();
  }
}
