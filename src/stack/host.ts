/**
 * A host: interfaces and addresses, routing, IP in and out, TCP demultiplexing by 4-tuple, and the host's
 * events. Sans-IO: it implements the core contract (ARCHITECTURE.md) and so plugs into the emulator
 * (`EmuHost`) and into the real-time driver (`DrivenStack`) unchanged. Its parts, one file each:
 * listeners.ts (passive sockets), connection-table.ts (connections by 4-tuple, one entry interface for TCP
 * and MPTCP), settings.ts (the `ip mptcp` state and sysctls, Linux's ctrl.c), joins.ts (MP_JOIN subflows and
 * tokens), setup.ts (ports, ISNs, per-connection config), rst.ts (the RST for a segment nobody takes),
 * events.ts (the one event stream: connection and monitor events).
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
import { formatAddress, parseAddress } from '../wire/address.js';
import { isWireError } from '../wire/errors.js';
import { TcpConnection, type TcpEndpoints } from '../tcp/connection.js';
import type { Micros, TcpConfig, TcpEvent } from '../tcp/types.js';
import { RoutingTable, type HostInterface } from './routing.js';
import { resetReply } from './rst.js';
import { MptcpConnection, synMpCapable, synMpJoin, type MptcpConnectionOptions } from '../mptcp/connection.js';
import { MpTcpRstReason } from '../wire/mptcp-option.js';
import { createMptcpCounters, type MptcpCounters } from '../mptcp/mib.js';
import { HostEventStream, type HostEvent } from './events.js';
import type { RandomBytes } from '../mptcp/keys.js';
import { secretStream } from './isn.js';
import type { EndpointTable, Endpoint, Limits } from '../pm/config.js';
import { Listener, ListenerTable, type MptcpHostOptions } from './listeners.js';
import { ConnectionTable, MptcpEntry, TcpEntry, type ConnectionEntry, type OutPacket, type PacketBuilder } from './connection-table.js';
import { MptcpSettings } from './settings.js';
import { MptcpJoins, type AddSubflowHostOptions } from './joins.js';
import { ConnectionSetup } from './setup.js';
import { createHostCounters, type HostCounters, type HostOptions } from './types.js';
import { checkCongestionControl } from '../cc/registry.js';
import { PacketSlab } from './packet-slab.js';

export { Listener, type MptcpHostOptions } from './listeners.js';
export type { HostCounters, HostOptions } from './types.js';
export type { HostEvent, HostConnectionEvent } from './events.js';

const NO_VERIFY = { verifyChecksum: false } as const;

type ConnectOptions = { localAddress?: string; localPort?: number; config?: TcpConfig } & MptcpHostOptions;

/** A host running TCP over its interfaces. */
export class Host {
  readonly name: string;
  readonly routing = new RoutingTable();
  readonly counters: HostCounters = createHostCounters();
  /** MPTcpExt-like counters of every MPTCP connection of this host. */
  readonly mptcpCounters: MptcpCounters = createMptcpCounters();
  /** The `ip mptcp` state and MPTCP sysctls (Linux's ctrl.c); the methods below are their commands. */
  readonly mptcpSettings = new MptcpSettings();

  private readonly verify: boolean;
  private readonly offload: boolean;
  /**
   * `HostOptions.deferChecksums`: what `pollTransmit` returns has its TCP checksum left to the driver, and
   * `handlePacket` takes packets whose checksum the driver left out (`acceptsPendingChecksums`).
   */
  readonly sendsPendingChecksums: boolean;
  readonly acceptsPendingChecksums: boolean;
  private readonly randomBytes: RandomBytes;
  private readonly table = new ConnectionTable();
  private readonly listeners = new ListenerTable();
  private readonly setup: ConnectionSetup;
  private readonly joins: MptcpJoins;
  /** Packets generated outside connections (RSTs), sent before connection output. */
  private readonly outbox: OutPacket[] = [];
  private readonly stream = new HostEventStream(this.table, (entry) => this.forget(entry));
  /** The latest time the host was driven with (for output flushed outside pollTransmit). */
  private lastNow: Micros = 0;
  private readonly build: PacketBuilder = (src, dst, repr) => this.buildPacket(src, dst, repr);
  private readonly packets = new PacketSlab();

  constructor(options: HostOptions) {
    this.name = options.name ?? 'host';
    this.offload = options.checksumOffload ?? false;
    this.verify = (options.verifyChecksums ?? true) && !this.offload;
    this.sendsPendingChecksums = options.deferChecksums ?? false;
    this.acceptsPendingChecksums = this.sendsPendingChecksums;
    this.randomBytes = options.randomBytes ?? secretStream(options.secret);
    this.setup = new ConnectionSetup(this.name, options.secret, options.tcp ?? {}, this.routing, this.table);
    this.joins = new MptcpJoins(this.setup, this.routing, this.table, this.mptcpSettings, this.mptcpCounters);
    if (options.mptcpScheduler !== undefined) this.setMptcpScheduler(options.mptcpScheduler);
    if (options.tcp?.congestionControl !== undefined) checkCongestionControl(options.tcp.congestionControl);
  }

  /**
   * `sysctl net.ipv4.tcp_congestion_control=NAME`: the congestion controller of connections created from now
   * on ("cubic", the default, "reno", the coupled "lia", "olia", "balia", or one registered with
   * src/cc/registry.ts); a connection's own `config.congestionControl` overrides it. Throws for an unknown name.
   */
  setCongestionControl(name: string): void {
    this.setup.setCongestionControl(checkCongestionControl(name));
  }

  get congestionControl(): string {
    return this.setup.congestionControl;
  }

  // ---- `ip mptcp` and sysctls ----------------------------------------------------------------------

  /**
   * `sysctl net.mptcp.scheduler=NAME`: the packet scheduler of connections created from now on ("default",
   * "roundrobin", "redundant", or one registered with src/sched/registry.ts). Throws for an unknown name.
   */
  setMptcpScheduler(name: string): void {
    this.mptcpSettings.setScheduler(name);
  }

  get mptcpScheduler(): string {
    return this.mptcpSettings.scheduler;
  }

  /**
   * Replaces the path manager's endpoints, like `ip mptcp endpoint flush` then `add` for each (objects or
   * `ip mptcp endpoint add` words: "198.18.2.1 signal", "198.18.2.2 id 2 subflow backup"). Used by
   * connections from their establishment on (existing ones see the new table at their next path-manager turn).
   */
  setMptcpEndpoints(endpoints: EndpointTable | readonly (Endpoint | string)[], now: Micros = this.lastNow): EndpointTable {
    const table = this.mptcpSettings.replaceEndpoints(endpoints);
    for (const c of this.mptcpConnections()) c.endpointsChanged(now);
    this.touchMptcp();
    return table;
  }

  /**
   * `ip mptcp endpoint add ...` (an object or the words): the endpoint joins the table and every MPTCP
   * connection's path manager runs at once, as Linux's does: a `signal` endpoint is announced with
   * ADD_ADDR, a `subflow` endpoint is joined (within the limits). Throws the table's error (duplicate id or
   * address, bad words). The packets leave on the next `pollTransmit`.
   */
  addMptcpEndpoint(endpoint: Endpoint | string, now: Micros = this.lastNow): void {
    this.mptcpSettings.endpoints.add(endpoint);
    for (const c of this.mptcpConnections()) c.endpointsChanged(now);
    this.touchMptcp();
  }

  /** The path manager's endpoint table (mutable: `add`/`delete` as `ip mptcp endpoint` does). */
  get mptcpEndpoints(): EndpointTable {
    return this.mptcpSettings.endpoints;
  }

  /**
   * `ip mptcp endpoint delete id N`: the endpoint leaves the table and every MPTCP connection of this host
   * that announced it or has subflows on its address sends RM_ADDR with its id (on a pure ACK of another
   * subflow) and resets those subflows (their unacknowledged data is reinjected on the others). Throws if
   * there is no such endpoint. Returns the number of subflows closed. The packets leave on the next
   * `pollTransmit`.
   */
  removeMptcpEndpoint(id: number, now: Micros = this.lastNow): number {
    const endpoint = this.mptcpSettings.endpoints.delete(id);
    let closed = 0;
    for (const c of this.mptcpConnections()) closed += c.removeLocalAddress(now, endpoint);
    this.touchMptcp();
    return closed;
  }

  /** A host command changed every MPTCP connection: the host looks at each again. */
  private touchMptcp(): void {
    for (const e of this.table.entries) if (e.kind === 'mptcp') this.table.attention.touch(e);
  }

  /** `ip mptcp limits set ...`: an object, or the words ("subflows 2 add_addr_accepted 1"). */
  setMptcpLimits(limits: Limits | string): void {
    this.mptcpSettings.setLimits(limits);
  }

  get mptcpLimits(): Limits {
    return this.mptcpSettings.limits;
  }

  /** net.mptcp.add_addr_timeout (microseconds), for connections created from now on. */
  get addAddrTimeoutMicros(): Micros {
    return this.mptcpSettings.addAddrTimeoutMicros;
  }

  set addAddrTimeoutMicros(micros: Micros) {
    this.mptcpSettings.addAddrTimeoutMicros = micros;
  }

  // ---- sockets -------------------------------------------------------------------------------------

  /** Adds an interface with addresses in CIDR form ("198.18.0.2/24", "2001:2::2/64"). */
  addInterface(name: string, cidrs: readonly string[], mtu = 1500): HostInterface {
    return this.routing.addInterface(name, cidrs, mtu);
  }

  /** Listens on `port` (0: a free ephemeral port) on all local addresses, or on `address`. */
  listen(requestedPort: number, options: { address?: string; config?: TcpConfig; backlog?: number } & MptcpHostOptions = {}): Listener {
    if (!Number.isInteger(requestedPort) || requestedPort < 0 || requestedPort > 65535) throw new Error(`bad port ${requestedPort}`);
    const port = requestedPort === 0 ? this.listeners.freePort() : requestedPort;
    const address = options.address === undefined ? undefined : this.setup.parseLocal(options.address);
    return this.listeners.add(port, address, options);
  }

  /** Opens a connection; the SYN leaves on the next `pollTransmit`. Throws on a bad address or no route. */
  connect(now: Micros, remoteAddress: string | Uint8Array, remotePort: number, options: ConnectOptions & { mptcp: true }): MptcpConnection;
  connect(now: Micros, remoteAddress: string | Uint8Array, remotePort: number, options?: ConnectOptions & { mptcp?: false }): TcpConnection;
  connect(now: Micros, remoteAddress: string | Uint8Array, remotePort: number, options?: ConnectOptions): TcpConnection | MptcpConnection;
  connect(now: Micros, remoteAddress: string | Uint8Array, remotePort: number, options: ConnectOptions = {}): TcpConnection | MptcpConnection {
    const remote = typeof remoteAddress === 'string' ? parseAddress(remoteAddress) : remoteAddress;
    if (!remote) throw new Error(`bad address "${String(remoteAddress)}"`);
    if (!Number.isInteger(remotePort) || remotePort < 1 || remotePort > 65535) throw new Error(`bad port ${remotePort}`);
    let local: Uint8Array;
    let ifaceId: number;
    if (options.localAddress !== undefined) {
      local = this.setup.parseLocal(options.localAddress);
      const route = this.routing.routeFor(remote);
      ifaceId = route?.ifaceId ?? this.routing.interfaceOf(local);
    } else {
      const selected = this.routing.selectSource(remote);
      if (!selected) throw new Error(`no route to ${formatAddress(remote)} (ENETUNREACH)`);
      local = selected.source;
      ifaceId = selected.ifaceId;
    }
    if (local.length !== remote.length) throw new Error('local and remote addresses are of different families');
    const localPort = options.localPort ?? this.setup.freePort(local, remote, remotePort);
    if (localPort === undefined) throw new Error('no free ephemeral port (EADDRNOTAVAIL)');
    if (this.table.find(local, localPort, remote, remotePort)) throw new Error('4-tuple in use (EADDRINUSE)');
    const endpoints: TcpEndpoints = { localAddress: local, localPort, remoteAddress: remote, remotePort };
    const config = this.setup.config(options.config, ifaceId, remote);
    const iss = this.setup.iss(endpoints, now);
    if (options.mptcp) {
      const connection = MptcpConnection.connect(now, endpoints, iss, config, this.mptcpOptions(options.checksum ?? false));
      this.table.add(new MptcpEntry(connection, ifaceId, undefined, options.config));
      return connection;
    }
    const connection = TcpConnection.connect(now, endpoints, iss, config);
    this.table.add(new TcpEntry(connection, ifaceId, undefined, options.config));
    return connection;
  }

  /** All live TCP connections and MPTCP subflows (including TIME-WAIT). */
  connections(): TcpConnection[] {
    const out: TcpConnection[] = [];
    for (const e of this.table.entries) e.collectTcp(out);
    return out;
  }

  /** All live MPTCP connections. */
  mptcpConnections(): MptcpConnection[] {
    const out: MptcpConnection[] = [];
    for (const e of this.table.entries) if (e.kind === 'mptcp') out.push(e.connection);
    return out;
  }

  /**
   * MP_JOIN, client side (RFC 8684 3.2): opens a subflow of `connection` from `localAddress` (an address of
   * this host) to `remoteAddress`/`remotePort` (default: the connection's). Its packets leave through the
   * interface of `localAddress`. Throws when the connection cannot be joined (not MPTCP yet, fallback,
   * closing) or the address is not ours.
   */
  addSubflow(now: Micros, connection: MptcpConnection, localAddress: string, options: AddSubflowHostOptions = {}): TcpConnection {
    return this.joins.addSubflow(now, connection, localAddress, options);
  }

  private mptcpOptions(checksum: boolean): MptcpConnectionOptions {
    return {
      randomBytes: this.randomBytes,
      tokens: this.joins.tokens,
      pendingJoins: this.joins.pending,
      scheduler: this.mptcpSettings.scheduler,
      opportunisticReinjection: this.mptcpSettings.opportunisticReinjection,
      pathManager: this.mptcpSettings.pathManager,
      checksum,
      counters: this.mptcpCounters,
      pm: this.mptcpSettings.pathManagerConfig(),
      onMonitorEvent: (event) => this.stream.monitor.push(event),
    };
  }

  // ---- core contract -------------------------------------------------------------------------------

  /**
   * `checksumPending`: the driver vouches for the bytes and the sender left the TCP checksum to it
   * (`HostOptions.deferChecksums`, src/emu/network.ts): no checksum is verified.
   */
  handlePacket(now: Micros, ifaceId: number, bytes: Uint8Array, checksumPending = false): void {
    this.lastNow = now;
    this.counters.packetsIn++;
    const verify = this.verify && !checksumPending;
    const ip = parseIpPacket(bytes, verify ? undefined : NO_VERIFY);
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
    const seg = parseTcpSegment(ip.payload, verify ? ip : undefined);
    if (isWireError(seg)) {
      this.counters.tcpErrors++;
      return;
    }
    const entry = this.table.find(ip.dst, seg.dstPort, ip.src, seg.srcPort);
    if (entry) {
      entry.handleSegment(now, seg);
      this.table.attention.touch(entry.kind === 'join' ? entry.main : entry);
      if (entry.kind !== 'tcp') this.joins.runIfPending(now, entry.connection);
      return;
    }
    const listener = this.listeners.find(ip.dst, seg.dstPort);
    const isSyn = (seg.flags & (TcpFlags.SYN | TcpFlags.ACK | TcpFlags.RST)) === TcpFlags.SYN;
    if (isSyn && ((listener && listener.mptcp.mptcp) || this.mptcpSettings.isJoinPort(ip.dst, seg.dstPort))) {
      const join = synMpJoin(seg);
      if (join !== undefined) {
        if (!this.joins.acceptJoin(now, ifaceId, ip.dst, ip.src, seg, join.token)) this.sendReset(ifaceId, ip.dst, ip.src, seg, MpTcpRstReason.MPTCP_SPECIFIC);
        return;
      }
    }
    if (listener && isSyn) {
      if (listener.pending >= listener.backlog) {
        this.counters.synDropped++;
        return;
      }
      this.accept(now, ifaceId, listener, ip.dst, ip.src, seg);
      return;
    }
    // LISTEN with a non-SYN, or no socket at all: RFC 9293 3.10.7.1/3.10.7.2 reset generation.
    this.sendReset(ifaceId, ip.dst, ip.src, seg);
  }

  pollTransmit(now: Micros): OutPacket | undefined {
    this.lastNow = now;
    const queued = this.outbox.shift();
    if (queued) {
      this.counters.packetsOut++;
      return queued;
    }
    if (this.joins.pending.size > 0) this.joins.runPending(now);
    // The connections that may have output, from the one that sent last round the table (attention.ts).
    const next = this.table.attention.nextPacket((entry) => entry.pollPacket(now, this.build));
    if (!next) return undefined;
    this.table.cursorEntry = next.entry; // it may have more: ask it first next time
    this.counters.packetsOut++;
    return next.packet;
  }

  /**
   * The earliest deadline of any connection: a heap of the connections' deadlines (attention.ts), each
   * re-asked once anything touched it (a segment, a timeout, an application command), O(log n).
   */
  pollTimeout(): Micros | undefined {
    return this.table.attention.nextDeadline();
  }

  handleTimeout(now: Micros): void {
    for (const e of this.table.attention.due(now)) {
      const d = e.connection.pollTimeout();
      if (d !== undefined && d <= now) {
        e.connection.handleTimeout(now);
        this.table.attention.touch(e);
      }
    }
    if (this.joins.pending.size > 0) this.joins.runPending(now);
  }

  /** The host's next event: see `HostEventStream.poll` (events.ts) for what a drain reports, in which order. */
  pollEvent(): HostEvent | undefined {
    return this.stream.poll();
  }

  // -------------------------------------------------------------------------------------------------

  /** Forgets a closed connection that has nothing left to report (the event stream calls this). */
  private forget(entry: ConnectionEntry): void {
    if (entry.kind === 'mptcp') {
      // RSTs of a connection closed by an application call (abort, MP_FASTCLOSE) still leave.
      for (let p = entry.pollPacket(this.lastNow, this.build); p; p = entry.pollPacket(this.lastNow, this.build)) this.outbox.push(p);
      this.joins.forget(entry.connection);
    }
    this.table.remove(entry);
  }

  /** A SYN for a listener: a TCP or (MP_CAPABLE SYN to an MPTCP listener) MPTCP connection in SYN-RECEIVED. */
  private accept(now: Micros, arrivalIface: number, listener: Listener, local: Uint8Array, remote: Uint8Array, seg: TcpSegment): void {
    const endpoints: TcpEndpoints = { localAddress: local, localPort: seg.dstPort, remoteAddress: remote, remotePort: seg.srcPort };
    const outIface = this.routing.routeFor(remote)?.ifaceId ?? arrivalIface;
    const config = this.setup.config(listener.config, outIface, remote);
    const iss = this.setup.iss(endpoints, now);
    if (listener.mptcp.mptcp && synMpCapable(seg) !== undefined) {
      const connection = MptcpConnection.accept(now, endpoints, iss, seg, config, this.mptcpOptions(listener.mptcp.checksum ?? false));
      listener.pending++;
      this.table.add(new MptcpEntry(connection, outIface, listener, listener.config));
    } else {
      const connection = TcpConnection.accept(now, endpoints, iss, seg, config);
      listener.pending++;
      this.table.add(new TcpEntry(connection, outIface, listener, listener.config));
    }
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
    // From a slab (packet-slab.ts): the emitters write every byte (property-tested in test/wire/segment.test.ts).
    const bytes = this.packets.take(ipLength + tcpLength);
    emitIpHeader({ src, dst, protocol: IpProtocol.TCP, payloadLength: tcpLength }, bytes, 0);
    emitTcpSegment(repr, src, dst, bytes, ipLength, !this.offload && !this.sendsPendingChecksums);
    return bytes;
  }
}
