/**
 * The runtime that puts the sans-IO host on real packets and real time: a `Host`, a `RealtimeDriver`
 * (one timer), packet outputs per interface (TUN devices, UDP paths), and the dispatch of host events to
 * `TcpSocket` / `TcpServer` objects. Application calls on sockets `kick()` the runtime, which coalesces
 * them into one driver turn per microtask.
 */
import { randomBytes } from 'node:crypto';
import { Host, type HostOptions, type Listener } from '../stack/host.js';
import { monotonicMicros, RealtimeDriver, type PacketOutput } from '../io/driver.js';
import type { TcpConnection } from '../tcp/connection.js';
import type { TcpConfig } from '../tcp/types.js';
import { TcpServer, TcpSocket, type SocketRuntime } from './socket.js';

/** Sends packets out of one interface; returns false when the packet was dropped. */
export type InterfaceOutput = (bytes: Uint8Array) => boolean;

/** Options for a runtime. */
export interface RuntimeOptions {
  readonly name?: string;
  /** Defaults for all connections. */
  readonly tcp?: TcpConfig;
  /** Secret for ISNs and ports; default 32 random bytes. */
  readonly secret?: Uint8Array;
  readonly verifyChecksums?: boolean;
}

/** A userspace TCP/IP host running in real time. */
export class StackRuntime implements SocketRuntime {
  readonly host: Host;
  readonly driver: RealtimeDriver;
  private readonly outputs: InterfaceOutput[] = [];
  private readonly sockets = new Map<TcpConnection, TcpSocket>();
  private readonly servers = new Map<Listener, TcpServer>();
  private kicked = false;
  private closed = false;

  constructor(options: RuntimeOptions = {}) {
    const hostOptions: HostOptions = {
      name: options.name ?? 'stack',
      secret: options.secret ?? randomBytes(32),
      ...(options.tcp ? { tcp: options.tcp } : {}),
      ...(options.verifyChecksums === undefined ? {} : { verifyChecksums: options.verifyChecksums }),
    };
    this.host = new Host(hostOptions);
    const output: PacketOutput = { send: (ifaceId, bytes) => this.outputs[ifaceId]?.(bytes) ?? false };
    this.driver = new RealtimeDriver(this.host, output, { onTurn: () => this.dispatchEvents() });
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

  /** Opens a connection; the socket emits 'connect' when established. */
  connect(port: number, host: string, options: { localAddress?: string; localPort?: number; config?: TcpConfig } = {}): TcpSocket {
    const connection = this.host.connect(this.now(), host, port, options);
    const socket = new TcpSocket(connection, this);
    this.sockets.set(connection, socket);
    this.kick();
    return socket;
  }

  /** A server; call `listen(port[, address])` on it. */
  createServer(onConnection?: (socket: TcpSocket) => void, config?: TcpConfig): TcpServer {
    return new TcpServer((server, port, address) => {
      const listener = this.host.listen(port, { ...(address ? { address } : {}), ...(config ? { config } : {}) });
      this.servers.set(listener, server);
      return listener;
    }, onConnection);
  }

  kick(): void {
    if (this.kicked || this.closed) return;
    this.kicked = true;
    queueMicrotask(() => {
      this.kicked = false;
      this.driver.turn();
    });
  }

  release(socket: TcpSocket): void {
    this.sockets.delete(socket.connection);
  }

  /** Stops the timer; sockets stop progressing. */
  close(): void {
    this.closed = true;
    this.driver.close();
  }

  /** The driver's clock: every `now` the host sees must come from this one timeline. */
  private now(): number {
    return monotonicMicros();
  }

  private dispatchEvents(): void {
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
      const socket = this.sockets.get(e.connection);
      if (!socket) continue;
      if (e.event.type === 'established' && socket.isConnected) continue; // accepted sockets were told already
      socket.handleEvent(e.event);
    }
  }
}
