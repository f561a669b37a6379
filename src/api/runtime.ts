/**
 * Runtimes put the sans-IO host on real time:
 * - `HostSockets`: the Node-facing sockets of one `Host` (connect, createServer) and the dispatch of the
 *   host's events to them; it is told how to get the clock and how to run a turn.
 * - `StackRuntime`: a host on real packets (TUN devices, UDP paths) with a `RealtimeDriver` (one timer).
 * - `RealtimeEmulation` (./emulation.ts): hosts on the emulator, paced by the wall clock, so real-time
 *   tools (perf) run unchanged with both ends in one process.
 * Application calls on sockets `kick()` the runtime, which coalesces them into one turn per microtask.
 */
import { randomBytes } from 'node:crypto';
import { Host, type HostOptions, type Listener } from '../stack/host.js';
import { MonitorLog } from '../stack/events.js';
import { monotonicMicros, RealtimeDriver, type PacketOutput, type TimerApi } from '../io/driver.js';
import { MptcpConnection, type StreamConnection } from '../mptcp/connection.js';
import type { Micros, TcpConfig, TcpEvent } from '../tcp/types.js';
import { MptcpServer, MptcpSocket, type AddSubflowOptions, type ServerRuntime, type SocketRuntime } from './socket.js';
import { addressEqual } from '../wire/address.js';

/** Sees a packet arriving on (`in`) or leaving (`out`) interface `ifaceId` of a runtime. */
export type PacketTap = (ifaceId: number, direction: 'in' | 'out', bytes: Uint8Array) => void;

/** Sends packets out of one interface; returns false when the packet was dropped. */
export type InterfaceOutput = (bytes: Uint8Array) => boolean;

/** Options for a host behind a runtime. */
export interface RuntimeOptions {
  readonly name?: string;
  /** Defaults for all connections. */
  readonly tcp?: TcpConfig;
  /** Secret for ISNs and ports; default 32 random bytes. */
  readonly secret?: Uint8Array;
  readonly verifyChecksums?: boolean;
  /**
   * TCP checksums neither computed nor verified by the host (HostOptions.checksumOffload): for a runtime
   * whose interfaces are TUN devices with offload (src/io/tun-offload.ts), where the kernel does them.
   * A `TunPort` on a plain device computes them for such a host. Default false.
   */
  readonly checksumOffload?: boolean;
  /**
   * The runtime's timer keeps the process alive only while the host `holdsProcess` (a server listening, a
   * socket open, a closed socket's data in flight), as node:net's handles do; default false (always, while
   * armed).
   */
  readonly unrefWhenIdle?: boolean;
}

/** Builds a Host from runtime options. */
export function createHost(options: RuntimeOptions): Host {
  const hostOptions: HostOptions = {
    name: options.name ?? 'stack',
    secret: options.secret ?? randomBytes(32),
    ...(options.tcp ? { tcp: options.tcp } : {}),
    ...(options.verifyChecksums === undefined ? {} : { verifyChecksums: options.verifyChecksums }),
    ...(options.checksumOffload ? { checksumOffload: true } : {}),
  };
  return new Host(hostOptions);
}

/**
 * A connection whose socket was closed keeps the process alive while something we sent is unacknowledged
 * (data, FIN, DATA_FIN), as the kernel finishes an orphaned connection: at most this long, then it is left
 * to run only while something else keeps the process alive.
 */
export const DEFAULT_LINGER_MS = 5_000;

/**
 * Whether a connection still has something of ours to deliver: data, a FIN or a DATA_FIN unacknowledged,
 * or (MPTCP, both DATA_FINs done) subflow FINs still to exchange. A connection waiting only for the peer to
 * finish (FIN-WAIT-2, or MPTCP's data-level FIN-WAIT-2) does not linger.
 */
export function connectionLingers(connection: StreamConnection): boolean {
  const done = (state: string): boolean => state === 'FIN-WAIT-2' || state === 'TIME-WAIT' || state === 'CLOSED';
  const state = connection.state;
  if (!done(state)) return true;
  if (connection instanceof MptcpConnection) {
    const bothFinished = state === 'TIME-WAIT' || state === 'CLOSED';
    for (const s of connection.subflowInfo()) {
      if (s.state === 'FIN-WAIT-1' || s.state === 'CLOSING' || s.state === 'LAST-ACK') return true;
      if (bothFinished && !done(s.state)) return true;
    }
  }
  return false;
}

/** Whether a connection is over on our side: TIME-WAIT or CLOSED (for MPTCP: every subflow). */
export function connectionFinished(connection: StreamConnection): boolean {
  const over = (state: string): boolean => state === 'TIME-WAIT' || state === 'CLOSED';
  if (connection instanceof MptcpConnection) return connection.subflowInfo().every((s) => over(s.state));
  return over(connection.state);
}

/**
 * The sockets of one host, and the dispatch of its events to them.
 *
 * It also knows whether the host should keep the process alive, as node:net's handles do: while a server
 * listens, a socket is open, or a closed socket's connection lingers (`connectionLingers`, for at most
 * `lingerMs`); `ref()` / `unref()` on sockets and servers opt out. TIME-WAIT and FIN-WAIT-2 never hold it.
 * Runtimes that want this subscribe with `onHoldChange` and (un)ref their timers and devices.
 */
export class HostSockets implements SocketRuntime, ServerRuntime {
  private readonly sockets = new Map<StreamConnection, MptcpSocket>();
  private readonly servers = new Map<Listener, MptcpServer>();
  private kicked = false;
  private stopped = false;
  /** Open referenced sockets and listening referenced servers. */
  private readonly holders = new Set<MptcpSocket | MptcpServer>();
  /** Closed sockets whose connections still have something in flight. */
  private readonly lingering = new Set<MptcpSocket>();
  /** Released sockets (their connection reported 'closed') whose connections are not finished yet. */
  private readonly finishing = new Set<MptcpSocket>();
  private holding = false;
  private readonly holdListeners: ((hold: boolean) => void)[] = [];
  private readonly quietWaiters: (() => void)[] = [];
  private readonly dispatchListeners: (() => void)[] = [];
  /** How long a closed socket's lingering connection may keep the process alive. */
  lingerMs = DEFAULT_LINGER_MS;
  /** The host's `ip mptcp monitor` events not taken yet (the latest 1024), in order. */
  readonly monitor = new MonitorLog();

  constructor(
    readonly host: Host,
    /** The clock every `now` of this host comes from. */
    private readonly clock: () => Micros,
    /** Runs one turn: input due, `dispatchEvents`, transmission, timer re-arming. */
    private readonly runTurn: () => void,
  ) {}

  /** Opens a connection; the socket emits 'connect' when established. */
  connect(
    port: number,
    host: string,
    options: { localAddress?: string; localPort?: number; config?: TcpConfig; mptcp?: boolean; checksum?: boolean } = {},
  ): MptcpSocket {
    const connection = this.host.connect(this.clock(), host, port, options);
    const socket = this.track(new MptcpSocket(connection, this));
    this.kick();
    return socket;
  }

  /**
   * MPTCP: adds a subflow (MP_JOIN, RFC 8684 3.2) to the connection of `socket` from `localAddress`, to the
   * connection's remote address and port unless given. Throws when the socket is not an MPTCP connection
   * that can be joined.
   */
  addSubflow(socket: MptcpSocket, localAddress: string, options: AddSubflowOptions = {}): number {
    const connection = socket.connection;
    if (!(connection instanceof MptcpConnection)) throw new Error('not an MPTCP socket');
    const subflow = this.host.addSubflow(this.clock(), connection, localAddress, options);
    this.kick();
    const id = connection.subflowOf(subflow)?.id;
    if (id === undefined) throw new Error('the new subflow is not part of the connection');
    return id;
  }

  /**
   * MPTCP: asks the peer to use subflow `subflowId` of `socket` as backup, or not (MP_PRIO, RFC 8684 3.3.8),
   * and makes our scheduler treat it so. Subflow ids are those of `connection.subflowInfo()`. Returns false
   * when the socket is not an MPTCP connection or has no such live subflow.
   */
  setBackup(socket: MptcpSocket, subflowId: number, backup: boolean): boolean {
    const connection = socket.connection;
    if (!(connection instanceof MptcpConnection)) return false;
    const done = connection.setBackup(subflowId, backup);
    this.kick();
    return done;
  }

  /** A server; call `listen(port[, address])` on it. */
  createServer(onConnection?: (socket: MptcpSocket) => void, config?: TcpConfig, mptcp: { mptcp?: boolean; checksum?: boolean } = {}): MptcpServer {
    return new MptcpServer(
      (server, port, address, backlog) => {
        const listener = this.host.listen(port, {
          ...(address ? { address } : {}),
          ...(config ? { config } : {}),
          ...(backlog === undefined ? {} : { backlog }),
          ...mptcp,
        });
        this.servers.set(listener, server);
        return listener;
      },
      onConnection,
      this,
    );
  }

  /** Every socket of this host whose connection the host has not forgotten yet. */
  openSockets(): MptcpSocket[] {
    return [...this.sockets.values()];
  }

  /** Every socket whose connection is not finished (`connectionFinished`), released or not. */
  unfinishedSockets(): MptcpSocket[] {
    return [...this.sockets.values(), ...this.finishing].filter((s) => !connectionFinished(s.connection));
  }

  /** Every server of this host that is listening. */
  listeningServers(): MptcpServer[] {
    return [...new Set(this.servers.values())].filter((s) => s.listening);
  }

  /** True while the host should keep the process alive (see the class comment). */
  get holdsProcess(): boolean {
    return !this.stopped && (this.holders.size > 0 || this.lingering.size > 0);
  }

  /**
   * The far end of interface `ifaceId` is not there (a UDP path's remote answered ICMP port unreachable):
   * the connections and subflows still connecting from an address of that interface fail with
   * ECONNREFUSED, as the kernel fails a connect on a hard ICMP error. Established ones are left alone.
   */
  interfaceUnreachable(ifaceId: number): void {
    const iface = this.host.routing.interfaces[ifaceId];
    if (!iface) return;
    let failed = false;
    for (const c of this.host.connections()) {
      if (c.state !== 'SYN-SENT' || !iface.addresses.some((a) => addressEqual(a.address, c.endpoints.localAddress))) continue;
      if (c.handleUnreachable()) failed = true;
    }
    if (failed) this.kick();
  }

  /** Calls `listener` at the end of every `dispatchEvents` (after the sockets saw the turn's events). */
  onDispatch(listener: () => void): void {
    this.dispatchListeners.push(listener);
  }

  /** Calls `listener` whenever `holdsProcess` changes. */
  onHoldChange(listener: (hold: boolean) => void): void {
    this.holdListeners.push(listener);
  }

  /**
   * Resolves once every socket's connection is finished (`connectionFinished`: TIME-WAIT or CLOSED; for
   * MPTCP every subflow), checked after every turn. For a graceful shutdown.
   */
  quiet(): Promise<void> {
    if (this.isQuiet()) return Promise.resolve();
    return new Promise((resolve) => this.quietWaiters.push(resolve));
  }

  /** `MptcpServer` calls this when it starts or stops listening, or is (un)ref'd. */
  serverChanged(server: MptcpServer): void {
    if (server.listening && server.isReferenced) this.holders.add(server);
    else this.holders.delete(server);
    this.updateHold();
  }

  /** `MptcpSocket` calls this when it is (un)ref'd. */
  refChanged(socket: MptcpSocket): void {
    if (socket.destroyed) return;
    if (socket.isReferenced) this.holders.add(socket);
    else this.holders.delete(socket);
    this.updateHold();
  }

  kick(): void {
    if (this.kicked || this.stopped) return;
    this.kicked = true;
    queueMicrotask(() => {
      this.kicked = false;
      if (!this.stopped) this.runTurn();
    });
  }

  release(socket: MptcpSocket): void {
    this.sockets.delete(socket.connection);
    if (!connectionFinished(socket.connection)) this.finishing.add(socket);
  }

  /** No more turns from application calls. */
  stop(): void {
    this.stopped = true;
    this.updateHold();
  }

  /** True once `stop()` was called. */
  get isStopped(): boolean {
    return this.stopped;
  }

  /**
   * Delivers the host's pending events to sockets and servers; its monitor events go to `monitor` (for the
   * stack's 'monitor' listeners, after the sockets saw the turn's events).
   */
  dispatchEvents(): void {
    for (let e = this.host.pollEvent(); e; e = this.host.pollEvent()) {
      if (e.type === 'monitor') this.monitor.push(e.event);
      else if (e.type === 'mptcpConnection' || e.type === 'connection') this.accepted(e.listener, e.connection);
      else this.connectionEvent(e.connection, e.event);
    }
    this.afterEvents();
    for (const listener of this.dispatchListeners) listener();
  }

  /** Registers a new socket and follows its hold on the process. */
  private track(socket: MptcpSocket): MptcpSocket {
    this.sockets.set(socket.connection, socket);
    this.holders.add(socket);
    socket.once('close', () => {
      this.holders.delete(socket);
      // Not `sockets.has`: an MPTCP connection reports 'closed' once both DATA_FINs are done, before its
      // subflows have exchanged their FINs.
      if (socket.isReferenced && connectionLingers(socket.connection)) {
        this.lingering.add(socket);
        setTimeout(() => {
          if (this.lingering.delete(socket)) this.updateHold();
        }, this.lingerMs).unref();
      }
      this.updateHold();
    });
    this.updateHold();
    return socket;
  }

  /** After a turn's events: lingering connections that finished, and waiters for quiet. */
  private afterEvents(): void {
    if (this.lingering.size > 0) {
      for (const s of this.lingering) if (!connectionLingers(s.connection)) this.lingering.delete(s);
      this.updateHold();
    }
    if (this.finishing.size > 0) for (const s of this.finishing) if (connectionFinished(s.connection)) this.finishing.delete(s);
    if (this.quietWaiters.length > 0 && this.isQuiet()) {
      for (const resolve of this.quietWaiters.splice(0)) resolve();
    }
  }

  private isQuiet(): boolean {
    for (const c of this.sockets.keys()) if (!connectionFinished(c)) return false;
    for (const s of this.finishing) if (!connectionFinished(s.connection)) return false;
    return true;
  }

  private updateHold(): void {
    const hold = this.holdsProcess;
    if (hold === this.holding) return;
    this.holding = hold;
    for (const listener of this.holdListeners) listener(hold);
  }

  private accepted(listener: Listener, connection: StreamConnection): void {
    const server = this.servers.get(listener);
    if (!server) {
      connection.abort();
      return;
    }
    const socket = this.track(new MptcpSocket(connection, this));
    socket.handleEvent({ type: 'established' });
    server.emit('connection', socket);
  }

  private connectionEvent(connection: StreamConnection, event: TcpEvent): void {
    const socket = this.sockets.get(connection);
    if (!socket) return;
    if (event.type === 'established' && socket.isConnected) return; // accepted sockets were told already
    socket.handleEvent(event);
  }
}

/** A userspace TCP/IP host on real packets in real time. */
export class StackRuntime extends HostSockets {
  readonly driver: RealtimeDriver;
  private readonly outputs: InterfaceOutput[] = [];
  private packetTaps: readonly PacketTap[] = [];
  /** How this runtime's host treats TCP checksums, for the `TunPort`s of its devices. */
  readonly checksums: { readonly hostComputesChecksums: boolean; readonly hostVerifiesChecksums: boolean };

  constructor(options: RuntimeOptions = {}) {
    const host = createHost(options);
    let driver: RealtimeDriver | undefined;
    super(host, monotonicMicros, () => driver?.turn());
    const output: PacketOutput = {
      send: (ifaceId, bytes) => {
        if (this.packetTaps.length > 0) for (const tap of this.packetTaps) tap(ifaceId, 'out', bytes);
        return this.outputs[ifaceId]?.(bytes) ?? false;
      },
    };
    const timers = options.unrefWhenIdle ? holdTimers(this) : undefined;
    driver = new RealtimeDriver(host, output, { onTurn: () => this.dispatchEvents(), ...(timers ? { timers } : {}) });
    this.driver = driver;
    const offload = options.checksumOffload ?? false;
    this.checksums = { hostComputesChecksums: !offload, hostVerifiesChecksums: !offload && (options.verifyChecksums ?? true) };
  }

  /**
   * Adds an interface: addresses in CIDR form, and where its packets go. Returns the interface id to pass
   * to `receive` for packets arriving on it.
   */
  addInterface(name: string, cidrs: readonly string[], output: InterfaceOutput, mtu = 1500): number {
    const iface = this.host.addInterface(name, cidrs, mtu);
    this.outputs[iface.id] = output;
    return iface.id;
  }

  /** Feeds packets that arrived on an interface (from a TUN device or a UDP path). */
  receive(ifaceId: number, packets: Iterable<Uint8Array>): void {
    if (this.packetTaps.length > 0) {
      const list = Array.isArray(packets) ? (packets as readonly Uint8Array[]) : [...packets];
      for (const bytes of list) for (const tap of this.packetTaps) tap(ifaceId, 'in', bytes);
      packets = list;
    }
    this.driver.receive(ifaceId, packets);
  }

  /**
   * Calls `tap` with every packet that arrives on or leaves an interface (before the stack reads it, after
   * it wrote it), e.g. to capture them (./capture.ts); returns a function that removes the tap.
   */
  addPacketTap(tap: PacketTap): () => void {
    this.packetTaps = [...this.packetTaps, tap];
    return () => {
      this.packetTaps = this.packetTaps.filter((t) => t !== tap);
    };
  }

  /** Stops the timer; sockets stop progressing. */
  close(): void {
    this.stop();
    this.driver.close();
  }
}

/**
 * Node timers for a driver whose one armed timer is ref'd only while `sockets.holdsProcess` (re-applied
 * when that changes, so a timer armed while idle starts holding once a socket opens).
 */
export function holdTimers(sockets: HostSockets): TimerApi {
  let current: NodeJS.Timeout | undefined;
  let hold = sockets.holdsProcess;
  sockets.onHoldChange((h) => {
    hold = h;
    if (current) {
      if (h) current.ref();
      else current.unref();
    }
  });
  return {
    setTimeout(callback, ms) {
      const timer = setTimeout(() => {
        if (current === timer) current = undefined;
        callback();
      }, ms);
      if (!hold) timer.unref();
      current = timer;
      return timer;
    },
    clearTimeout(handle) {
      clearTimeout(handle as NodeJS.Timeout);
      if (current === handle) current = undefined;
    },
  };
}
