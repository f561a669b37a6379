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
import { monotonicMicros, RealtimeDriver, type PacketOutput } from '../io/driver.js';
import { MptcpConnection, type StreamConnection } from '../mptcp/connection.js';
import type { Micros, TcpConfig, TcpEvent } from '../tcp/types.js';
import { TcpServer, TcpSocket, type SocketRuntime } from './socket.js';

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
}

/** Builds a Host from runtime options. */
export function createHost(options: RuntimeOptions): Host {
  const hostOptions: HostOptions = {
    name: options.name ?? 'stack',
    secret: options.secret ?? randomBytes(32),
    ...(options.tcp ? { tcp: options.tcp } : {}),
    ...(options.verifyChecksums === undefined ? {} : { verifyChecksums: options.verifyChecksums }),
  };
  return new Host(hostOptions);
}

/** The sockets of one host, and the dispatch of its events to them. */
export class HostSockets implements SocketRuntime {
  private readonly sockets = new Map<StreamConnection, TcpSocket>();
  private readonly servers = new Map<Listener, TcpServer>();
  private kicked = false;
  private stopped = false;

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
  ): TcpSocket {
    const connection = this.host.connect(this.clock(), host, port, options);
    const socket = new TcpSocket(connection, this);
    this.sockets.set(connection, socket);
    this.kick();
    return socket;
  }

  /**
   * MPTCP: adds a subflow (MP_JOIN, RFC 8684 3.2) to the connection of `socket` from `localAddress`, to the
   * connection's remote address and port unless given. Throws when the socket is not an MPTCP connection
   * that can be joined.
   */
  addSubflow(
    socket: TcpSocket,
    localAddress: string,
    options: { remoteAddress?: string; remotePort?: number; backup?: boolean } = {},
  ): void {
    const connection = socket.connection;
    if (!(connection instanceof MptcpConnection)) throw new Error('not an MPTCP socket');
    this.host.addSubflow(this.clock(), connection, localAddress, options);
    this.kick();
  }

  /**
   * MPTCP: asks the peer to use subflow `subflowId` of `socket` as backup, or not (MP_PRIO, RFC 8684 3.3.8),
   * and makes our scheduler treat it so. Subflow ids are those of `connection.subflowInfo()`. Returns false
   * when the socket is not an MPTCP connection or has no such live subflow.
   */
  setBackup(socket: TcpSocket, subflowId: number, backup: boolean): boolean {
    const connection = socket.connection;
    if (!(connection instanceof MptcpConnection)) return false;
    const done = connection.setBackup(subflowId, backup);
    this.kick();
    return done;
  }

  /** A server; call `listen(port[, address])` on it. */
  createServer(onConnection?: (socket: TcpSocket) => void, config?: TcpConfig, mptcp: { mptcp?: boolean; checksum?: boolean } = {}): TcpServer {
    return new TcpServer((server, port, address) => {
      const listener = this.host.listen(port, { ...(address ? { address } : {}), ...(config ? { config } : {}), ...mptcp });
      this.servers.set(listener, server);
      return listener;
    }, onConnection);
  }

  kick(): void {
    if (this.kicked || this.stopped) return;
    this.kicked = true;
    queueMicrotask(() => {
      this.kicked = false;
      if (!this.stopped) this.runTurn();
    });
  }

  release(socket: TcpSocket): void {
    this.sockets.delete(socket.connection);
  }

  /** No more turns from application calls. */
  stop(): void {
    this.stopped = true;
  }

  /** Delivers the host's pending events to sockets and servers. */
  dispatchEvents(): void {
    for (let e = this.host.pollMptcpEvent(); e; e = this.host.pollMptcpEvent()) {
      if (e.type === 'mptcpConnection') this.accepted(e.listener, e.connection);
      else this.connectionEvent(e.connection, e.event);
    }
    for (let e = this.host.pollEvent(); e; e = this.host.pollEvent()) {
      if (e.type === 'connection') {
        const server = this.servers.get(e.listener);
        if (!server) {
          e.connection.abort();
          continue;
        }
        const socket = new TcpSocket(e.connection, this);
        this.sockets.set(e.connection, socket);
        socket.handleEvent({ type: 'established' });
        server.emit('connection', socket);
        continue;
      }
      this.connectionEvent(e.connection, e.event);
    }
  }

  private accepted(listener: Listener, connection: StreamConnection): void {
    const server = this.servers.get(listener);
    if (!server) {
      connection.abort();
      return;
    }
    const socket = new TcpSocket(connection, this);
    this.sockets.set(connection, socket);
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

  constructor(options: RuntimeOptions = {}) {
    const host = createHost(options);
    let driver: RealtimeDriver | undefined;
    super(host, monotonicMicros, () => driver?.turn());
    const output: PacketOutput = { send: (ifaceId, bytes) => this.outputs[ifaceId]?.(bytes) ?? false };
    driver = new RealtimeDriver(host, output, { onTurn: () => this.dispatchEvents() });
    this.driver = driver;
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
    this.driver.receive(ifaceId, packets);
  }

  /** Stops the timer; sockets stop progressing. */
  close(): void {
    this.stop();
    this.driver.close();
  }
}
