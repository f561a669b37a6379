/**
 * A host: interfaces and addresses, routing, IP in and out, TCP demultiplexing by 4-tuple, listeners, and
 * RSTs for segments to closed ports (RFC 9293 section 3.10.7.1, as Linux answers them). Sans-IO: it
 * implements the core contract (ARCHITECTURE.md) and so plugs into the emulator (`EmuHost`) and into the
 * real-time driver (`DrivenStack`) unchanged.
 *
 * Call order: `handlePacket` / `handleTimeout` / application calls on connections, then
 * `pollTransmit` until undefined, `pollEvent` until undefined, and arm one timer at `pollTimeout()`.
 *
 * Buffer ownership: a packet given to `handlePacket` belongs to the host from then on (received payloads
 * are handed to the application as views, never copied), so a caller must not reuse it. Every packet
 * `pollTransmit` returns is a fresh buffer that the caller owns.
 */
import { emitIpHeader, ipHeaderLength, IpProtocol, parseIpPacket } from '../wire/ip.js';
import { emitTcpSegment, parseTcpSegment, tcpHeaderLength, TcpFlags, type TcpSegment, type TcpSegmentRepr } from '../wire/tcp.js';
import { addressEqual, formatAddress, parseAddress } from '../wire/address.js';
import { isWireError } from '../wire/errors.js';
import { TcpConnection, type TcpEndpoints } from '../tcp/connection.js';
import type { Micros, TcpConfig, TcpEvent } from '../tcp/types.js';
import { RoutingTable, type HostInterface } from './routing.js';
import { resetReply } from './rst.js';
import { createHash } from 'node:crypto';
import { MptcpConnection, synMpCapable, synMpJoin, type MptcpConnectionOptions } from '../mptcp/connection.js';
import { MpTcpRstReason } from '../wire/mptcp-option.js';
import { createMptcpCounters, type MptcpCounters } from '../mptcp/mib.js';
import type { MptcpEvent } from '../mptcp/events.js';
import { schedulerNames } from '../sched/registry.js';
import type { RandomBytes } from '../mptcp/keys.js';
import { TokenTable } from '../mptcp/token.js';
import { EPHEMERAL_PORT_RANGE, EphemeralPorts, initialSequenceNumber } from './isn.js';
import { DEFAULT_LIMITS, EndpointTable, parseLimits, type Endpoint, type Limits } from '../pm/config.js';

/** Host configuration. */
export interface HostOptions {
  /** For logs and errors. */
  readonly name?: string;
  /**
   * Secret for ISNs (RFC 6528) and ephemeral ports (RFC 6056). The host never draws randomness itself:
   * real-time callers pass `crypto.randomBytes(32)`; tests pass a fixed value for reproducible runs.
   */
  readonly secret: Uint8Array;
  /** Defaults for every connection of this host (each listener/connect may override). */
  readonly tcp?: TcpConfig;
  /** Verify IPv4 header and TCP checksums on input (default true). */
  readonly verifyChecksums?: boolean;
  /**
   * Checksum offload, as Linux's loopback does: TCP checksums are neither computed on output nor verified
   * on input. Only for hosts that talk to each other in one process over links that never corrupt (the
   * in-process benchmark); never on TUN or UDP. Default false.
   */
  readonly checksumOffload?: boolean;
  /**
   * Randomness for MPTCP keys. Default: a deterministic stream derived from `secret` (SHA-256 of the secret
   * and a counter), so simulations are reproducible and real-time hosts (random secret) get random keys.
   */
  readonly randomBytes?: RandomBytes;
  /** The MPTCP packet scheduler of new connections (Linux's `net.mptcp.scheduler`); default "default". */
  readonly mptcpScheduler?: string;
}

/** MPTCP options of `Host.connect` and `Host.listen`. */
export interface MptcpHostOptions {
  /** Use MPTCP (MP_CAPABLE in the SYN / answer MP_CAPABLE SYNs with MP_CAPABLE). */
  readonly mptcp?: boolean;
  /** Ask for DSS checksums (like net.mptcp.checksum_enabled = 1). */
  readonly checksum?: boolean;
}

/** A passive socket: SYNs to `port` (on `address`, or any local address) create connections. */
export class Listener {
  /** Children in SYN-RECEIVED, not yet reported. */
  pending = 0;
  closed = false;

  constructor(
    readonly port: number,
    readonly address: Uint8Array | undefined,
    readonly config: TcpConfig | undefined,
    /** Most children allowed in SYN-RECEIVED at once; further SYNs are dropped (Linux: SYN queue). */
    readonly backlog: number,
    private readonly host: Host,
    /** MPTCP: SYNs with MP_CAPABLE get MPTCP connections, other SYNs plain TCP ones. */
    readonly mptcp: MptcpHostOptions = {},
  ) {}

  /** Stops accepting; existing connections are unaffected. */
  close(): void {
    this.closed = true;
    this.host.removeListener(this);
  }
}

/** What `pollEvent` reports. */
export type HostEvent =
  /** A connection to a listener completed its handshake (like accept(2) returning). */
  | { readonly type: 'connection'; readonly listener: Listener; readonly connection: TcpConnection }
  /** An event of one connection. */
  | { readonly type: 'tcp'; readonly connection: TcpConnection; readonly event: TcpEvent };

/**
 * What `pollMptcpEvent` reports: the same as `HostEvent`, for MPTCP connections (kept apart so that code
 * written for TCP connections only keeps its types).
 */
export type MptcpHostEvent =
  | { readonly type: 'mptcpConnection'; readonly listener: Listener; readonly connection: MptcpConnection }
  | { readonly type: 'mptcp'; readonly connection: MptcpConnection; readonly event: TcpEvent };

/** Counters of the host's IP/TCP input and output (like a few lines of `nstat`). */
export interface HostCounters {
  packetsIn: number;
  packetsOut: number;
  /** IP packets that did not parse (truncated, bad header checksum, fragments). */
  ipErrors: number;
  /** TCP segments with a bad checksum or header. */
  tcpErrors: number;
  /** Packets for an address that is not ours. */
  notForUs: number;
  /** Non-TCP packets (ICMP and others), ignored. */
  otherProtocols: number;
  /** RSTs sent for segments that matched no connection or listener. */
  resetsSent: number;
  /** SYNs dropped because a listener's backlog was full. */
  synDropped: number;
  /** Connections whose route disappeared (packets dropped). */
  noRoute: number;
}

interface ConnectionEntry {
  readonly connection: TcpConnection | MptcpConnection;
  readonly ifaceId: number;
  readonly listener: Listener | undefined;
  /** The listener was told about this child. */
  reported: boolean;
  /** The connection's TCP config (reused for its MP_JOIN subflows). */
  readonly config?: TcpConfig;
  /** For an MP_JOIN subflow of `connection`: the subflow (demultiplexed by its own 4-tuple). */
  readonly subflow?: TcpConnection;
  /** For an MPTCP connection: the entries of its MP_JOIN subflows. */
  joins?: ConnectionEntry[];
}

/** A host running TCP over its interfaces. */
export class Host {
  readonly name: string;
  readonly routing = new RoutingTable();
  readonly counters: HostCounters = {
    packetsIn: 0,
    packetsOut: 0,
    ipErrors: 0,
    tcpErrors: 0,
    notForUs: 0,
    otherProtocols: 0,
    resetsSent: 0,
    synDropped: 0,
    noRoute: 0,
  };

  private readonly secret: Uint8Array;
  private readonly tcpDefaults: TcpConfig;
  private readonly verify: boolean;
  private readonly offload: boolean;
  private readonly ports: EphemeralPorts;
  /** Connections by (localPort << 16 | remotePort); several share a key when addresses differ. */
  private readonly byPorts = new Map<number, ConnectionEntry[]>();
  private readonly entries: ConnectionEntry[] = [];
  private readonly listeners: Listener[] = [];
  /** Packets generated outside connections (RSTs), sent before connection output. */
  private readonly outbox: { ifaceId: number; bytes: Uint8Array }[] = [];
  private readonly events: HostEvent[] = [];
  private readonly mptcpEvents: MptcpHostEvent[] = [];
  private readonly monitorEvents: MptcpEvent[] = [];
  private scheduler = 'default';
  /** MPTcpExt-like counters of every MPTCP connection of this host. */
  readonly mptcpCounters: MptcpCounters = createMptcpCounters();
  private readonly randomBytes: RandomBytes;
  /** Live MPTCP connections by local token (unique per host, as Linux's per-namespace table). */
  private readonly tokens = new TokenTable<MptcpConnection>();
  /** MPTCP connections whose path manager asked for subflows since they were last served. */
  private readonly pendingJoins = new Set<MptcpConnection>();
  private cursor = 0;
  /** The latest time the host was driven with (for output flushed outside pollTransmit). */
  private lastNow: Micros = 0;
  /** The in-kernel path manager's endpoints (`ip mptcp endpoint`) and limits (`ip mptcp limits`). */
  private endpointTable = new EndpointTable();
  private limits: Limits = DEFAULT_LIMITS;
  /** net.mptcp.add_addr_timeout (microseconds). */
  addAddrTimeoutMicros: Micros = 120_000_000;

  constructor(options: HostOptions) {
    this.name = options.name ?? 'host';
    this.secret = options.secret;
    this.tcpDefaults = options.tcp ?? {};
    this.offload = options.checksumOffload ?? false;
    this.verify = (options.verifyChecksums ?? true) && !this.offload;
    this.ports = new EphemeralPorts(options.secret);
    this.randomBytes = options.randomBytes ?? secretStream(options.secret);
    if (options.mptcpScheduler !== undefined) this.setMptcpScheduler(options.mptcpScheduler);
  }

  /**
   * `sysctl net.mptcp.scheduler=NAME`: the packet scheduler of connections created from now on ("default",
   * "roundrobin", "redundant", or one registered with src/sched/registry.ts). Throws for an unknown name.
   */
  setMptcpScheduler(name: string): void {
    if (!schedulerNames().includes(name)) throw new Error(`unknown MPTCP scheduler "${name}"; available: ${schedulerNames().join(', ')}`);
    this.scheduler = name;
  }

  get mptcpScheduler(): string {
    return this.scheduler;
  }

  /**
   * Replaces the path manager's endpoints, like `ip mptcp endpoint flush` then `add` for each (objects or
   * `ip mptcp endpoint add` words: "198.18.2.1 signal", "198.18.2.2 id 2 subflow backup"). Used by
   * connections from their establishment on (existing ones see the new table at their next path-manager turn).
   */
  setMptcpEndpoints(endpoints: EndpointTable | readonly (Endpoint | string)[], now: Micros = this.lastNow): EndpointTable {
    if (endpoints instanceof EndpointTable) this.endpointTable = endpoints;
    else {
      const table = new EndpointTable();
      for (const e of endpoints) table.add(e);
      this.endpointTable = table;
    }
    for (const c of this.mptcpConnections()) c.endpointsChanged(now);
    return this.endpointTable;
  }

  /**
   * `ip mptcp endpoint add ...` (an object or the words): the endpoint joins the table and every MPTCP
   * connection's path manager runs at once, as Linux's does: a `signal` endpoint is announced with
   * ADD_ADDR, a `subflow` endpoint is joined (within the limits). Throws the table's error (duplicate id or
   * address, bad words). The packets leave on the next `pollTransmit`.
   */
  addMptcpEndpoint(endpoint: Endpoint | string, now: Micros = this.lastNow): void {
    this.endpointTable.add(endpoint);
    for (const c of this.mptcpConnections()) c.endpointsChanged(now);
  }

  /** The path manager's endpoint table (mutable: `add`/`delete` as `ip mptcp endpoint` does). */
  get mptcpEndpoints(): EndpointTable {
    return this.endpointTable;
  }

  /**
   * `ip mptcp endpoint delete id N`: the endpoint leaves the table and every MPTCP connection of this host
   * that announced it or has subflows on its address sends RM_ADDR with its id (on a pure ACK of another
   * subflow) and resets those subflows (their unacknowledged data is reinjected on the others). Throws if
   * there is no such endpoint. Returns the number of subflows closed. The packets leave on the next
   * `pollTransmit`.
   */
  removeMptcpEndpoint(id: number, now: Micros = this.lastNow): number {
    const endpoint = this.endpointTable.delete(id);
    let closed = 0;
    for (const c of this.mptcpConnections()) closed += c.removeLocalAddress(now, endpoint);
    return closed;
  }

  /** `ip mptcp limits set ...`: an object, or the words ("subflows 2 add_addr_accepted 1"). */
  setMptcpLimits(limits: Limits | string): void {
    this.limits = typeof limits === 'string' ? parseLimits(limits, this.limits) : { ...limits };
  }

  get mptcpLimits(): Limits {
    return this.limits;
  }

  /** Adds an interface with addresses in CIDR form ("198.18.0.2/24", "2001:2::2/64"). */
  addInterface(name: string, cidrs: readonly string[], mtu = 1500): HostInterface {
    return this.routing.addInterface(name, cidrs, mtu);
  }

  /** Listens on `port` (0: a free ephemeral port) on all local addresses, or on `address`. */
  listen(requestedPort: number, options: { address?: string; config?: TcpConfig; backlog?: number } & MptcpHostOptions = {}): Listener {
    if (!Number.isInteger(requestedPort) || requestedPort < 0 || requestedPort > 65535) throw new Error(`bad port ${requestedPort}`);
    let port = requestedPort;
    if (port === 0) {
      port = EPHEMERAL_PORT_RANGE.max;
      while (port >= EPHEMERAL_PORT_RANGE.min && this.listeners.some((l) => l.port === port)) port--;
      if (port < EPHEMERAL_PORT_RANGE.min) throw new Error('no free port to listen on (EADDRINUSE)');
    }
    const address = options.address === undefined ? undefined : this.parseLocal(options.address);
    for (const l of this.listeners) {
      if (l.port === port && (!l.address || !address || addressEqual(l.address, address))) {
        throw new Error(`address in use: port ${port} is already listening (EADDRINUSE)`);
      }
    }
    const mptcp: MptcpHostOptions = { mptcp: options.mptcp ?? false, checksum: options.checksum ?? false };
    const listener = new Listener(port, address, options.config, options.backlog ?? 4096, this, mptcp);
    this.listeners.push(listener);
    return listener;
  }

  /** Opens a connection; the SYN leaves on the next `pollTransmit`. Throws on a bad address or no route. */
  connect(
    now: Micros,
    remoteAddress: string | Uint8Array,
    remotePort: number,
    options: { localAddress?: string; localPort?: number; config?: TcpConfig; mptcp: true; checksum?: boolean },
  ): MptcpConnection;
  connect(
    now: Micros,
    remoteAddress: string | Uint8Array,
    remotePort: number,
    options?: { localAddress?: string; localPort?: number; config?: TcpConfig; mptcp?: false },
  ): TcpConnection;
  connect(
    now: Micros,
    remoteAddress: string | Uint8Array,
    remotePort: number,
    options?: { localAddress?: string; localPort?: number; config?: TcpConfig } & MptcpHostOptions,
  ): TcpConnection | MptcpConnection;
  connect(
    now: Micros,
    remoteAddress: string | Uint8Array,
    remotePort: number,
    options: { localAddress?: string; localPort?: number; config?: TcpConfig } & MptcpHostOptions = {},
  ): TcpConnection | MptcpConnection {
    const remote = typeof remoteAddress === 'string' ? parseAddress(remoteAddress) : remoteAddress;
    if (!remote) throw new Error(`bad address "${String(remoteAddress)}"`);
    if (!Number.isInteger(remotePort) || remotePort < 1 || remotePort > 65535) throw new Error(`bad port ${remotePort}`);
    let local: Uint8Array;
    let ifaceId: number;
    if (options.localAddress !== undefined) {
      local = this.parseLocal(options.localAddress);
      const route = this.routing.routeFor(remote);
      ifaceId = route?.ifaceId ?? this.routing.interfaceOf(local);
    } else {
      const selected = this.routing.selectSource(remote);
      if (!selected) throw new Error(`no route to ${formatAddress(remote)} (ENETUNREACH)`);
      local = selected.source;
      ifaceId = selected.ifaceId;
    }
    if (local.length !== remote.length) throw new Error('local and remote addresses are of different families');
    const localPort =
      options.localPort ?? this.ports.allocate(local, remote, remotePort, (p) => this.find(local, p, remote, remotePort) === undefined);
    if (localPort === undefined) throw new Error('no free ephemeral port (EADDRNOTAVAIL)');
    if (this.find(local, localPort, remote, remotePort)) throw new Error('4-tuple in use (EADDRINUSE)');
    const endpoints: TcpEndpoints = { localAddress: local, localPort, remoteAddress: remote, remotePort };
    const config = this.connectionConfig(options.config, ifaceId, remote);
    const iss = initialSequenceNumber(this.secret, endpoints, now);
    const connection = options.mptcp
      ? MptcpConnection.connect(now, endpoints, iss, config, this.mptcpOptions(options.checksum ?? false))
      : TcpConnection.connect(now, endpoints, iss, config);
    this.register(connection, ifaceId, undefined, options.config);
    return connection;
  }

  /** All live TCP connections and MPTCP subflows (including TIME-WAIT). */
  connections(): TcpConnection[] {
    const out: TcpConnection[] = [];
    for (const e of this.entries) {
      if (e.connection instanceof MptcpConnection) for (const s of e.connection.subflows()) out.push(s.tcp);
      else out.push(e.connection);
    }
    return out;
  }

  /** All live MPTCP connections. */
  mptcpConnections(): MptcpConnection[] {
    const out: MptcpConnection[] = [];
    for (const e of this.entries) if (e.connection instanceof MptcpConnection) out.push(e.connection);
    return out;
  }

  /**
   * MP_JOIN, client side (RFC 8684 3.2): opens a subflow of `connection` from `localAddress` (an address of
   * this host) to `remoteAddress`/`remotePort` (default: the connection's). Its packets leave through the
   * interface of `localAddress`. Throws when the connection cannot be joined (not MPTCP yet, fallback,
   * closing) or the address is not ours.
   */
  addSubflow(
    now: Micros,
    connection: MptcpConnection,
    localAddress: string,
    options: { remoteAddress?: string; remotePort?: number; backup?: boolean; addressId?: number; config?: TcpConfig; endpointId?: number; remoteId?: number } = {},
  ): TcpConnection {
    const main = this.entries.find((e) => e.connection === connection);
    if (main === undefined) throw new Error('not an MPTCP connection of this host');
    const local = this.parseLocal(localAddress);
    const remote = options.remoteAddress === undefined ? connection.endpoints.remoteAddress : parseAddress(options.remoteAddress);
    if (!remote) throw new Error(`bad address "${String(options.remoteAddress)}"`);
    if (local.length !== remote.length) throw new Error('MPTCP never joins across address families');
    const remotePort = options.remotePort ?? connection.endpoints.remotePort;
    const localPort = this.ports.allocate(local, remote, remotePort, (p) => this.find(local, p, remote, remotePort) === undefined);
    if (localPort === undefined) throw new Error('no free ephemeral port (EADDRNOTAVAIL)');
    const ifaceId = this.routing.interfaceOf(local);
    const endpoints: TcpEndpoints = { localAddress: local, localPort, remoteAddress: remote, remotePort };
    const config = this.connectionConfig(options.config ?? main.config, ifaceId, remote);
    const iss = initialSequenceNumber(this.secret, endpoints, now);
    const addressId = options.addressId ?? this.addressIdOf(connection, local);
    const subflow = connection.joinSubflow(now, endpoints, iss, config, {
      addressId,
      tag: ifaceId,
      ...(options.backup !== undefined ? { backup: options.backup } : {}),
      ...(options.endpointId !== undefined ? { endpointId: options.endpointId } : {}),
      ...(options.remoteId !== undefined ? { remoteId: options.remoteId } : {}),
    });
    this.registerJoin(main, subflow, ifaceId);
    return subflow;
  }

  /**
   * Opens the subflows every waiting connection's path manager asked for, in the order of the connection
   * table (so the ports and nonces they draw come in the same order whatever order they asked in).
   */
  private runPathManagers(now: Micros): void {
    if (this.pendingJoins.size === 1) {
      for (const connection of this.pendingJoins) this.runPathManager(now, connection);
      return;
    }
    for (const e of this.entries) {
      if (e.connection instanceof MptcpConnection && this.pendingJoins.has(e.connection)) this.runPathManager(now, e.connection);
    }
  }

  /** Opens the subflows a connection's path manager asked for (failures are ignored, as the kernel's are). */
  private runPathManager(now: Micros, connection: MptcpConnection): void {
    this.pendingJoins.delete(connection);
    if (!connection.hasSubflowRequests) return;
    for (const r of connection.takeSubflowRequests()) {
      try {
        if (!connection.canJoin) return;
        const local = r.localAddress ?? this.routing.selectSource(r.remoteAddress)?.source;
        if (local === undefined) continue;
        this.addSubflow(now, connection, formatAddress(local), {
          remoteAddress: formatAddress(r.remoteAddress),
          remotePort: r.remotePort,
          backup: r.backup,
          ...(r.localId >= 0 ? { addressId: r.localId } : {}),
          ...(r.endpointId !== undefined ? { endpointId: r.endpointId } : {}),
          remoteId: r.remoteId,
        });
      } catch {
        // no route, no port, not joinable: the kernel's __mptcp_subflow_connect fails the same way
      }
    }
  }

  /** An address id for `local` within `connection`: 0 for the initial subflow's address, else 1 + its index. */
  private addressIdOf(connection: MptcpConnection, local: Uint8Array): number {
    if (addressEqual(connection.endpoints.localAddress, local)) return 0;
    const endpoint = this.endpointTable.lookup(local);
    if (endpoint !== undefined) return endpoint.id;
    let i = 0;
    for (const iface of this.routing.interfaces) {
      for (const a of iface.addresses) {
        i++;
        if (addressEqual(a.address, local)) return Math.min(255, i);
      }
    }
    return 1;
  }

  private registerJoin(main: ConnectionEntry, subflow: TcpConnection, ifaceId: number): void {
    const { endpoints } = subflow;
    const key = endpoints.localPort * 0x10000 + endpoints.remotePort;
    const entry: ConnectionEntry = { connection: main.connection, ifaceId, listener: undefined, reported: true, subflow, config: main.config };
    const list = this.byPorts.get(key);
    if (list) list.push(entry);
    else this.byPorts.set(key, [entry]);
    (main.joins ??= []).push(entry);
  }

  /**
   * The next `ip mptcp monitor` event of this host's connections (CREATED, ESTABLISHED, ANNOUNCED, REMOVED,
   * SF_ESTABLISHED, SF_CLOSED, SF_PRIO, CLOSED) with the kernel's attributes; print one with
   * `formatMonitorLine`. The last 1024 are kept.
   */
  pollMonitorEvent(): MptcpEvent | undefined {
    return this.monitorEvents.shift();
  }

  private mptcpOptions(checksum: boolean): MptcpConnectionOptions {
    return {
      randomBytes: this.randomBytes,
      tokens: this.tokens,
      pendingJoins: this.pendingJoins,
      scheduler: this.scheduler,
      checksum,
      counters: this.mptcpCounters,
      pm: {
        endpoints: () => this.endpointTable.list(),
        limits: () => this.limits,
        addAddrTimeoutMicros: this.addAddrTimeoutMicros,
      },
      onMonitorEvent: (event) => {
        if (this.monitorEvents.length >= 1024) this.monitorEvents.shift();
        this.monitorEvents.push(event);
      },
    };
  }

  // -------------------------------------------------------------------------------------------------
  // Core contract

  handlePacket(now: Micros, ifaceId: number, bytes: Uint8Array): void {
    this.lastNow = now;
    this.counters.packetsIn++;
    const ip = parseIpPacket(bytes, { verifyChecksum: this.verify });
    if (isWireError(ip)) {
      this.counters.ipErrors++;
      return;
    }
    if (ip.protocol !== IpProtocol.TCP) {
      this.counters.otherProtocols++; // ICMP and the rest: ignored safely
      return;
    }
    if (!this.routing.isLocalAddress(ip.dst)) {
      this.counters.notForUs++;
      return;
    }
    const seg = parseTcpSegment(ip.payload, this.verify ? ip : undefined);
    if (isWireError(seg)) {
      this.counters.tcpErrors++;
      return;
    }
    const entry = this.find(ip.dst, seg.dstPort, ip.src, seg.srcPort);
    if (entry) {
      if (entry.subflow !== undefined) (entry.connection as MptcpConnection).handleSubflowSegment(now, entry.subflow, seg);
      else entry.connection.handleSegment(now, seg);
      if (this.pendingJoins.size > 0 && entry.connection instanceof MptcpConnection && this.pendingJoins.has(entry.connection)) {
        this.runPathManager(now, entry.connection);
      }
      return;
    }
    const listener = this.findListener(ip.dst, seg.dstPort);
    const f = seg.flags;
    if ((f & (TcpFlags.SYN | TcpFlags.ACK | TcpFlags.RST)) === TcpFlags.SYN && ((listener && listener.mptcp.mptcp) || this.joinPort(ip.dst, seg.dstPort))) {
      const join = synMpJoin(seg);
      if (join !== undefined) {
        this.acceptJoin(now, ifaceId, ip.dst, ip.src, seg, join.token);
        return;
      }
    }
    if (listener && (f & (TcpFlags.SYN | TcpFlags.ACK | TcpFlags.RST)) === TcpFlags.SYN) {
      if (listener.pending >= listener.backlog) {
        this.counters.synDropped++;
        return;
      }
      const endpoints: TcpEndpoints = { localAddress: ip.dst, localPort: seg.dstPort, remoteAddress: ip.src, remotePort: seg.srcPort };
      const route = this.routing.routeFor(ip.src);
      const outIface = route?.ifaceId ?? ifaceId;
      const config = this.connectionConfig(listener.config, outIface, ip.src);
      const iss = initialSequenceNumber(this.secret, endpoints, now);
      const connection =
        listener.mptcp.mptcp && synMpCapable(seg) !== undefined
          ? MptcpConnection.accept(now, endpoints, iss, seg, config, this.mptcpOptions(listener.mptcp.checksum ?? false))
          : TcpConnection.accept(now, endpoints, iss, seg, config);
      listener.pending++;
      this.register(connection, outIface, listener, listener.config);
      return;
    }
    // LISTEN with a non-SYN, or no socket at all: RFC 9293 3.10.7.1/3.10.7.2 reset generation.
    this.sendReset(ifaceId, ip.dst, ip.src, seg);
  }

  pollTransmit(now: Micros): { ifaceId: number; bytes: Uint8Array } | undefined {
    this.lastNow = now;
    const queued = this.outbox.shift();
    if (queued) {
      this.counters.packetsOut++;
      return queued;
    }
    if (this.pendingJoins.size > 0) this.runPathManagers(now);
    const n = this.entries.length;
    for (let i = 0; i < n; i++) {
      const idx = (this.cursor + i) % n;
      const entry = this.entries[idx]!;
      const connection = entry.connection;
      if (connection instanceof MptcpConnection) {
        const out = connection.pollTransmitFrom(now);
        if (!out) continue;
        this.cursor = idx;
        const { endpoints } = out.subflow.tcp;
        const ifaceId = out.subflow.tcp === connection.subflow || out.subflow.tag < 0 ? entry.ifaceId : out.subflow.tag;
        this.counters.packetsOut++;
        return { ifaceId, bytes: this.buildPacket(endpoints.localAddress, endpoints.remoteAddress, out.repr) };
      }
      const repr = connection.pollTransmit(now);
      if (!repr) continue;
      this.cursor = idx; // it may have more: ask it first next time
      const { endpoints } = connection;
      this.counters.packetsOut++;
      return { ifaceId: entry.ifaceId, bytes: this.buildPacket(endpoints.localAddress, endpoints.remoteAddress, repr) };
    }
    return undefined;
  }

  /**
   * The earliest deadline of any connection. Asked of the connections each time rather than cached, so an
   * application call on a connection (write, read, close) never needs to notify the host; O(connections).
   */
  pollTimeout(): Micros | undefined {
    let min: Micros | undefined;
    for (const e of this.entries) {
      const d = e.connection.pollTimeout();
      if (d !== undefined && (min === undefined || d < min)) min = d;
    }
    return min;
  }

  handleTimeout(now: Micros): void {
    for (const e of this.entries) {
      const d = e.connection.pollTimeout();
      if (d !== undefined && d <= now) e.connection.handleTimeout(now);
    }
    if (this.pendingJoins.size > 0) this.runPathManagers(now);
  }

  pollEvent(): HostEvent | undefined {
    const queued = this.events.shift();
    if (queued) return queued;
    for (let i = 0; i < this.entries.length; i++) {
      const entry = this.entries[i]!;
      if (entry.connection instanceof MptcpConnection) continue; // see pollMptcpEvent
      const event = entry.connection.pollEvent();
      if (!event) {
        if (entry.connection.state === 'CLOSED') {
          this.unregister(entry);
          i--;
        }
        continue;
      }
      if (entry.listener && !entry.reported && event.type === 'established') {
        entry.reported = true;
        entry.listener.pending--;
        if (!entry.listener.closed) this.events.push({ type: 'connection', listener: entry.listener, connection: entry.connection as TcpConnection });
        else entry.connection.abort();
      }
      if (entry.listener && !entry.reported && event.type === 'closed') {
        entry.reported = true; // died in SYN-RECEIVED: never reported to the application
        entry.listener.pending--;
        continue;
      }
      this.events.push({ type: 'tcp', connection: entry.connection as TcpConnection, event });
      return this.events.shift();
    }
    return undefined;
  }

  /** Like `pollEvent`, for MPTCP connections (including those that fell back to TCP). */
  pollMptcpEvent(): MptcpHostEvent | undefined {
    const queued = this.mptcpEvents.shift();
    if (queued) return queued;
    for (let i = 0; i < this.entries.length; i++) {
      const entry = this.entries[i]!;
      const connection = entry.connection;
      if (!(connection instanceof MptcpConnection)) continue;
      const event = connection.pollEvent();
      if (!event) {
        if (connection.isClosed) {
          // RSTs of a connection closed by an application call (abort, MP_FASTCLOSE) still leave.
          for (let out = connection.pollTransmitFrom(this.lastNow); out; out = connection.pollTransmitFrom(this.lastNow)) {
            const ifaceId = out.subflow.tcp === connection.subflow || out.subflow.tag < 0 ? entry.ifaceId : out.subflow.tag;
            const { endpoints } = out.subflow.tcp;
            this.outbox.push({ ifaceId, bytes: this.buildPacket(endpoints.localAddress, endpoints.remoteAddress, out.repr) });
          }
          this.unregister(entry);
          i--;
        }
        continue;
      }
      if (entry.listener && !entry.reported && event.type === 'established') {
        entry.reported = true;
        entry.listener.pending--;
        if (!entry.listener.closed) this.mptcpEvents.push({ type: 'mptcpConnection', listener: entry.listener, connection });
        else connection.abort();
      }
      if (entry.listener && !entry.reported && event.type === 'closed') {
        entry.reported = true;
        entry.listener.pending--;
        continue;
      }
      this.mptcpEvents.push({ type: 'mptcp', connection, event });
      return this.mptcpEvents.shift();
    }
    return undefined;
  }

  // -------------------------------------------------------------------------------------------------

  /** Used by Listener.close. */
  removeListener(listener: Listener): void {
    const i = this.listeners.indexOf(listener);
    if (i >= 0) this.listeners.splice(i, 1);
  }

  private parseLocal(text: string): Uint8Array {
    const a = parseAddress(text);
    if (!a) throw new Error(`bad address "${text}"`);
    if (!this.routing.isLocalAddress(a)) throw new Error(`${text} is not an address of host ${this.name} (EADDRNOTAVAIL)`);
    return a;
  }

  /** Per-connection config: host defaults, then the caller's, with the MSS capped by the interface MTU. */
  private connectionConfig(override: TcpConfig | undefined, ifaceId: number, remote: Uint8Array): TcpConfig {
    const merged: TcpConfig = { ...this.tcpDefaults, ...override };
    const mtu = this.routing.interfaces[ifaceId]?.mtu ?? 1500;
    const mssFromMtu = mtu - (remote.length === 16 ? 60 : 40);
    return { ...merged, mss: Math.min(merged.mss ?? 1460, mssFromMtu) };
  }

  private register(connection: TcpConnection | MptcpConnection, ifaceId: number, listener: Listener | undefined, config?: TcpConfig): void {
    const { endpoints } = connection;
    const key = endpoints.localPort * 0x10000 + endpoints.remotePort;
    const entry: ConnectionEntry = { connection, ifaceId, listener, reported: false, ...(config !== undefined ? { config } : {}) };
    const list = this.byPorts.get(key);
    if (list) list.push(entry);
    else this.byPorts.set(key, [entry]);
    this.entries.push(entry);
  }

  private unregister(entry: ConnectionEntry): void {
    if (entry.connection instanceof MptcpConnection) {
      this.tokens.delete(entry.connection.localToken, entry.connection);
      this.pendingJoins.delete(entry.connection);
    }
    for (const j of entry.joins ?? []) this.unregisterPorts(j);
    this.unregisterPorts(entry);
    const j = this.entries.indexOf(entry);
    if (j >= 0) this.entries.splice(j, 1);
    if (this.cursor >= this.entries.length) this.cursor = 0;
  }

  private unregisterPorts(entry: ConnectionEntry): void {
    const { endpoints } = entry.subflow ?? entry.connection;
    const key = endpoints.localPort * 0x10000 + endpoints.remotePort;
    const list = this.byPorts.get(key);
    if (list) {
      const i = list.indexOf(entry);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.byPorts.delete(key);
    }
  }

  private find(local: Uint8Array, localPort: number, remote: Uint8Array, remotePort: number): ConnectionEntry | undefined {
    const list = this.byPorts.get(localPort * 0x10000 + remotePort);
    if (!list) return undefined;
    for (const e of list) {
      const ep = (e.subflow ?? e.connection).endpoints;
      if (addressEqual(ep.localAddress, local) && addressEqual(ep.remoteAddress, remote)) return e;
    }
    return undefined;
  }

  private findListener(local: Uint8Array, port: number): Listener | undefined {
    let wildcard: Listener | undefined;
    for (const l of this.listeners) {
      if (l.port !== port) continue;
      if (!l.address) wildcard ??= l;
      else if (addressEqual(l.address, local)) return l;
    }
    return wildcard;
  }

  /**
   * MP_JOIN, server side: a SYN with MP_JOIN to an MPTCP listener. The token names the connection (our local
   * token); unknown tokens are refused with a RST carrying MP_TCPRST (Linux `subflow_check_req`).
   */
  /**
   * A `signal` endpoint with a port (`ip mptcp endpoint add ADDR port P signal`): as Linux, the stack
   * accepts MP_JOIN SYNs on that address and port with no listener there (other SYNs are refused).
   */
  private joinPort(address: Uint8Array, port: number): boolean {
    const e = this.endpointTable.lookup(address, port);
    return e !== undefined && e.signal && e.port === port && port !== 0;
  }

  private acceptJoin(now: Micros, arrivalIface: number, local: Uint8Array, remote: Uint8Array, seg: TcpSegment, token: number): void {
    const connection = this.tokens.get(token);
    const main = connection !== undefined && connection.canJoin ? this.entryOf(connection) : undefined;
    if (connection === undefined || main === undefined) {
      this.mptcpCounters.MPJoinNoTokenFound++;
      this.sendReset(arrivalIface, local, remote, seg, MpTcpRstReason.MPTCP_SPECIFIC);
      return;
    }
    if (!connection.acceptsJoin()) {
      // mptcp_pm_allow_new_subflow refused (the `subflows` limit): Linux resets with MP_TCPRST.
      this.mptcpCounters.MPJoinRejected++;
      this.sendReset(arrivalIface, local, remote, seg, MpTcpRstReason.MPTCP_SPECIFIC);
      return;
    }
    const endpoints: TcpEndpoints = { localAddress: local, localPort: seg.dstPort, remoteAddress: remote, remotePort: seg.srcPort };
    const ifaceId = this.routing.routeFor(remote)?.ifaceId ?? arrivalIface;
    const config = this.connectionConfig(main.config, ifaceId, remote);
    const iss = initialSequenceNumber(this.secret, endpoints, now);
    const subflow = connection.acceptJoin(now, endpoints, iss, seg, config, { addressId: this.addressIdOf(connection, local), tag: ifaceId });
    this.registerJoin(main, subflow, ifaceId);
  }

  /** The entry of an MPTCP connection: found by its initial subflow's 4-tuple, which it is registered under. */
  private entryOf(connection: MptcpConnection): ConnectionEntry | undefined {
    const ep = connection.endpoints;
    const entry = this.find(ep.localAddress, ep.localPort, ep.remoteAddress, ep.remotePort);
    return entry?.connection === connection ? entry : undefined;
  }

  /** Queues the RST answering `seg` (src/stack/rst.ts), if one is due. */
  private sendReset(arrivalIface: number, local: Uint8Array, remote: Uint8Array, seg: TcpSegment, mptcpReason?: number): void {
    const repr = resetReply(seg, mptcpReason);
    if (repr === undefined) return;
    if (mptcpReason !== undefined) this.mptcpCounters.MPRstTx++;
    const route = this.routing.routeFor(remote);
    this.outbox.push({ ifaceId: route?.ifaceId ?? arrivalIface, bytes: this.buildPacket(local, remote, repr) });
    this.counters.resetsSent++;
  }

  private buildPacket(src: Uint8Array, dst: Uint8Array, repr: TcpSegmentRepr): Uint8Array {
    const tcpLength = tcpHeaderLength(repr.options) + repr.payload.length;
    const ipLength = ipHeaderLength(src);
    // Pooled and unzeroed: the emitters write every byte (property-tested in test/wire/segment.test.ts).
    const bytes: Uint8Array = Buffer.allocUnsafe(ipLength + tcpLength);
    emitIpHeader({ src, dst, protocol: IpProtocol.TCP, payloadLength: tcpLength }, bytes, 0);
    emitTcpSegment(repr, src, dst, bytes, ipLength, !this.offload);
    return bytes;
  }
}

/** A deterministic byte stream from a secret: SHA-256(secret || counter), for MPTCP keys. */
function secretStream(secret: Uint8Array): RandomBytes {
  let counter = 0;
  return (length) => {
    const out = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      const block = createHash('sha256').update(secret).update('mptcp-key').update(String(counter++)).digest();
      const n = Math.min(block.length, length - filled);
      out.set(block.subarray(0, n), filled);
      filled += n;
    }
    return out;
  };
}
