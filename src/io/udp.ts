/**
 * The UDP driver: IP packets carried in UDP datagrams, so two hosts running this stack can talk without
 * privileges, through NAT, on any OS Node runs on (ARCHITECTURE.md, "UDP" mode).
 *
 * ## Framing
 *
 * Each UDP datagram carries exactly one whole IP packet (an IPv4 or IPv6 header, then TCP), and nothing
 * else: no extra header, no length prefix, no padding. The receiver tells IPv4 from IPv6 by the version
 * nibble of the first byte, like a TUN device with IFF_NO_PI. Datagrams are never split or merged, so
 * one datagram is one packet; a datagram that does not parse as an IP packet is dropped by the stack.
 *
 * The inner IP addresses are the stack's own (the addresses of its interfaces, e.g. 198.18.x.y); they
 * need not match the outer UDP/IP addresses, which only carry the packet between hosts. One `UdpPath`
 * (one local UDP socket, bound to its own local address and port) is one interface of the stack, so one
 * host has several paths by binding several local addresses (e.g. 127.0.0.1 and 127.0.0.2, or two NICs).
 *
 * Size: the largest IP packet a path can carry is 65507 bytes over IPv4 and 65487 over IPv6 (the UDP
 * payload limit). To avoid IP fragmentation of the outer datagram, give the stack interface an MTU of at
 * most the path MTU minus 28 (outer IPv4 + UDP headers) or minus 48 (outer IPv6 + UDP), e.g. 1472 over a
 * 1500-byte Ethernet path.
 *
 * Peers: a path sends to its `remote` endpoint. When none was configured, the source of the most recent
 * datagram received becomes the remote (so a server behind a known port answers clients behind NAT).
 * Datagrams are accepted from any source and delivered with it; the stack demultiplexes by the inner
 * packet's addresses and ports.
 *
 * Batching: with `onPackets`, the datagrams that arrive in one poll phase of the event loop (libuv reads up
 * to 32 per socket per wake-up, each a 'message' event of its own) are queued and handed over together in
 * the check phase of the same loop iteration (setImmediate), so the stack runs one turn (one clock read,
 * one round of events, output and timer arming) for the lot instead of one per datagram. `onPacket` still
 * hears of each datagram as it arrives, with its source.
 *
 * Errors: sending never throws for network conditions (an ICMP port unreachable, a full socket buffer):
 * the packet is lost, as on any link, and the error goes to `onError` if set. Only programming errors
 * (sending on a closed path, an oversized packet) throw.
 *
 * Unreachable peers: a path with a configured `remote` connects its socket to it (connect(2) on a UDP
 * socket), so the kernel reports an ICMP port unreachable from there (nothing listens at the remote) as
 * ECONNREFUSED on the socket: `onUnreachable` hears of it, and the stack fails the connections that are
 * still connecting through the path, as Linux fails a TCP connect on a hard ICMP error. A connected socket
 * only receives from its remote; sending elsewhere (`send(packet, to)`) disconnects it first.
 */
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';

/** An outer UDP endpoint: IP address text and port. */
export interface UdpEndpoint {
  readonly address: string;
  readonly port: number;
}

/** The largest payload of one UDP datagram over IPv4 (65535 - 20 - 8) and IPv6 (65535 - 40 - 8). */
export const MAX_UDP_PAYLOAD = { ipv4: 65_507, ipv6: 65_487 } as const;

/** Options for `UdpPath.bind`. */
export interface UdpPathOptions {
  /** Local address to bind (this path's own address); its family selects udp4 or udp6. */
  readonly localAddress: string;
  /** Local port; default 0 (the OS picks one: read it from `path.local.port`). */
  readonly localPort?: number;
  /** Where packets go; if omitted, learned from the first datagram received. */
  readonly remote?: UdpEndpoint;
  /** Receives each IP packet, with the outer source it came from. */
  readonly onPacket?: (packet: Buffer, from: UdpEndpoint) => void;
  /** Receives the IP packets of one event-loop iteration together (see "Batching"). */
  readonly onPackets?: (packets: readonly Buffer[]) => void;
  /** Receives socket errors (the path stays usable). */
  readonly onError?: (error: Error) => void;
  /** The configured remote answered with ICMP port unreachable (the socket's ECONNREFUSED). */
  readonly onUnreachable?: () => void;
  /** SO_RCVBUF / SO_SNDBUF in bytes; default the OS's. */
  readonly receiveBufferSize?: number;
  readonly sendBufferSize?: number;
}

/**
 * One path: a UDP socket bound to its own local address and port, sending IP packets to one remote
 * endpoint and delivering the IP packets it receives. See the module comment for the framing.
 */
export class UdpPath {
  /** Each received IP packet (the whole datagram payload) and its outer source. */
  onPacket: ((packet: Buffer, from: UdpEndpoint) => void) | undefined;
  /**
   * The packets received since the last call, once per event-loop iteration (see "Batching"), in arrival
   * order. The array is reused once the call returns: keep the packets, not the array.
   */
  onPackets: ((packets: readonly Buffer[]) => void) | undefined;
  /** Socket errors; without a handler they are ignored (a lost datagram is a lost packet). */
  onError: ((error: Error) => void) | undefined;
  /** Where `send` goes; set from the first datagram received when not configured. */
  remote: UdpEndpoint | undefined;
  /** The configured remote answered with ICMP port unreachable (nothing listens there). */
  onUnreachable: (() => void) | undefined;
  /** The remote the socket is connected to (a configured remote), if it still is. */
  #connected: UdpEndpoint | undefined;

  readonly #socket: dgram.Socket;
  readonly #local: UdpEndpoint;
  readonly #maxPacket: number;
  #closed = false;
  /** Packets waiting for `onPackets`, and the array handed over last time (reused). */
  #pending: Buffer[] = [];
  #spare: Buffer[] = [];
  #flushScheduled = false;

  private constructor(socket: dgram.Socket, options: UdpPathOptions, connected: UdpEndpoint | undefined) {
    this.#socket = socket;
    const bound = socket.address();
    this.#local = { address: bound.address, port: bound.port };
    this.#maxPacket = bound.family === 'IPv6' ? MAX_UDP_PAYLOAD.ipv6 : MAX_UDP_PAYLOAD.ipv4;
    this.remote = options.remote;
    this.onPacket = options.onPacket;
    this.onPackets = options.onPackets;
    this.onError = options.onError;
    this.onUnreachable = options.onUnreachable;
    this.#connected = connected;
    socket.on('message', (packet, info) => {
      if (this.remote === undefined) this.remote = { address: info.address, port: info.port };
      if (this.onPackets !== undefined) {
        this.#pending.push(packet);
        if (!this.#flushScheduled) {
          this.#flushScheduled = true;
          setImmediate(this.#flush);
        }
      }
      this.onPacket?.(packet, { address: info.address, port: info.port });
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') this.onUnreachable?.();
      this.onError?.(error);
    });
  }

  /** Hands the queued packets to `onPackets` (the check phase after the poll phase that read them). */
  readonly #flush = (): void => {
    this.#flushScheduled = false;
    const batch = this.#pending;
    this.#pending = this.#spare;
    this.#spare = batch;
    if (!this.#closed && batch.length > 0) this.onPackets?.(batch);
    batch.length = 0;
  };

  /** Binds a path to its local address (and port) and resolves once it can send and receive. */
  static bind(options: UdpPathOptions): Promise<UdpPath> {
    const socket = dgram.createSocket({
      type: isIPv6(options.localAddress) ? 'udp6' : 'udp4',
      ...(isIPv6(options.localAddress) ? { ipv6Only: true } : {}),
      ...(options.receiveBufferSize !== undefined ? { recvBufferSize: options.receiveBufferSize } : {}),
      ...(options.sendBufferSize !== undefined ? { sendBufferSize: options.sendBufferSize } : {}),
    });
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => {
        socket.close();
        reject(error);
      };
      socket.once('error', onError);
      socket.bind({ address: options.localAddress, port: options.localPort ?? 0, exclusive: true }, () => {
        const remote = options.remote;
        if (!remote) {
          socket.off('error', onError);
          resolve(new UdpPath(socket, options, undefined));
          return;
        }
        // Connected to the configured remote: its ICMP port unreachable comes back as ECONNREFUSED.
        socket.connect(remote.port, remote.address, () => {
          socket.off('error', onError);
          resolve(new UdpPath(socket, options, { address: remote.address, port: remote.port }));
        });
      });
    });
  }

  /** The bound local address and port. */
  get local(): UdpEndpoint {
    return this.#local;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends one IP packet as one datagram to `to` (default: `remote`). Returns false if there is nowhere to
   * send it yet (no remote configured or learned); the packet is then dropped.
   */
  send(packet: Uint8Array, to: UdpEndpoint | undefined = this.remote): boolean {
    if (this.#closed) throw new Error(`UDP path ${this.#local.address}:${this.#local.port} is closed`);
    if (packet.length > this.#maxPacket) {
      throw new RangeError(`IP packet of ${packet.length} bytes exceeds the UDP payload limit of ${this.#maxPacket}`);
    }
    if (!to) return false;
    const connected = this.#connected;
    if (connected && connected.port === to.port && connected.address === to.address) {
      this.#socket.send(packet);
      return true;
    }
    if (connected) {
      this.#socket.disconnect();
      this.#connected = undefined;
    }
    this.#socket.send(packet, to.port, to.address);
    return true;
  }

  /** Lets the process exit while this path is open. */
  unref(): this {
    this.#socket.unref();
    return this;
  }

  /** Undoes `unref()`. */
  ref(): this {
    this.#socket.ref();
    return this;
  }

  /** Closes the socket; resolves when closed. Idempotent. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }
}

/**
 * Several paths under interface ids, matching the stack's `handlePacket(now, ifaceId, bytes)` and
 * `pollTransmit(now) -> { ifaceId, bytes }`: packets received on a path are delivered with its id, and
 * `send(ifaceId, bytes)` leaves through that path.
 */
export class UdpDriver {
  /** Each received packet, with the interface id of the path it arrived on. */
  onPacket: ((ifaceId: number, packet: Buffer, from: UdpEndpoint) => void) | undefined;
  /** Socket errors, with the path's interface id. */
  onError: ((ifaceId: number, error: Error) => void) | undefined;

  readonly #paths = new Map<number, UdpPath>();

  constructor(options: {
    onPacket?: (ifaceId: number, packet: Buffer, from: UdpEndpoint) => void;
    onError?: (ifaceId: number, error: Error) => void;
  } = {}) {
    this.onPacket = options.onPacket;
    this.onError = options.onError;
  }

  /** Binds a path as interface `ifaceId` (which must be free). */
  async addPath(ifaceId: number, options: Omit<UdpPathOptions, 'onPacket' | 'onError'>): Promise<UdpPath> {
    if (this.#paths.has(ifaceId)) throw new Error(`interface ${ifaceId} already has a UDP path`);
    const path = await UdpPath.bind({
      ...options,
      onPacket: (packet, from) => this.onPacket?.(ifaceId, packet, from),
      onError: (error) => this.onError?.(ifaceId, error),
    });
    this.#paths.set(ifaceId, path);
    return path;
  }

  /** The path of an interface. */
  path(ifaceId: number): UdpPath | undefined {
    return this.#paths.get(ifaceId);
  }

  /** Every path, by interface id. */
  get paths(): ReadonlyMap<number, UdpPath> {
    return this.#paths;
  }

  /** Sends a packet out of interface `ifaceId`; false if it has no path or no remote yet (dropped). */
  send(ifaceId: number, packet: Uint8Array): boolean {
    const path = this.#paths.get(ifaceId);
    return path ? path.send(packet) : false;
  }

  /** Closes and forgets one path. */
  async removePath(ifaceId: number): Promise<void> {
    const path = this.#paths.get(ifaceId);
    this.#paths.delete(ifaceId);
    await path?.close();
  }

  /** Closes every path. */
  async close(): Promise<void> {
    const paths = [...this.#paths.values()];
    this.#paths.clear();
    await Promise.all(paths.map((path) => path.close()));
  }
}
