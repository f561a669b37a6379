/**
 * The library's stack: one userspace TCP/MPTCP host with Node-facing sockets, shaped like `node:net`
 * (`stack.connect()`, `stack.createServer()`, sockets that are `stream.Duplex`, servers like `net.Server`),
 * and MPTCP settings in `ip mptcp`'s words (endpoints, limits, the scheduler).
 *
 * A stack runs in real time. Its interfaces are either real (`addTunInterface`: a Linux TUN device;
 * `addUdpInterface`: IP packets carried in UDP datagrams; `addInterface`: packets handed to a function of
 * yours) or, for a stack created with `{ network }`, links of an in-process emulated network
 * (./emulated-network.ts), never both.
 *
 * Shutdown. Like node:net's handles, a stack keeps the process alive only while it has a listening server,
 * an open socket, or a closed socket whose data or FIN the peer has not acknowledged yet (for at most
 * `lingerMs`); TIME-WAIT never holds it (the kernel's does not hold a process either). So a program that
 * closes its sockets and servers exits by itself. `stack.close()` ends everything at once: it stops
 * listening, closes every socket, waits (at most `lingerMs`) for what is in flight, resets what is left
 * (RST, MP_FASTCLOSE), stops every timer and closes the devices and UDP sockets it opened.
 */
import { EventEmitter } from 'node:events';
import type { Host } from '../stack/host.js';
import type { MptcpEvent } from '../mptcp/events.js';
import type { TcpConfig } from '../tcp/types.js';
import { formatEndpoint, parseEndpoint, parseLimits, type Limits } from '../pm/config.js';
import { checkCongestionControl } from '../cc/registry.js';
import { formatAddress, parseAddress, parseCidr } from '../wire/address.js';
import { TunDevice } from '../io/tun.js';
import { TunPort, tunOffloadRequested } from '../io/tun-offload.js';
import { UdpPath, type UdpEndpoint } from '../io/udp.js';
import { StackRuntime, type HostSockets } from './runtime.js';
import { withErrno, type MptcpServer, type MptcpSocket } from './socket.js';

/** Options of `createStack`. */
export interface StackOptions {
  /** For errors and the emulator's host names; default "stack" (numbered on an emulated network). */
  readonly name?: string;
  /**
   * Put the stack on this in-process emulated network (`createEmulatedNetwork()`); its interfaces are then
   * the network's links (`network.link(...)`). Default: a real-time stack for TUN devices and UDP paths.
   */
  readonly network?: StackNetwork;
  /**
   * Open and accept connections with MPTCP (MP_CAPABLE; a peer without MPTCP gets plain TCP, RFC 8684
   * 3.7); default true. `connect` and `createServer` may override it.
   */
  readonly mptcp?: boolean;
  /** Ask for DSS checksums (like `net.mptcp.checksum_enabled = 1`); default false. */
  readonly checksum?: boolean;
  /** `ip mptcp limits set` words ("subflows 2 add_addr_accepted 1") or values; default Linux's (2 and 0). */
  readonly limits?: string | Partial<Limits>;
  /** The packet scheduler (Linux's `net.mptcp.scheduler`): "default", "blest", "ecf", "redundant", "roundrobin". */
  readonly scheduler?: string;
  /** TCP settings of every connection (and subflow): buffers, congestion control, Nagle, timers. */
  readonly tcp?: TcpConfig;
  /**
   * The congestion controller of every connection (Linux's `net.ipv4.tcp_congestion_control`): "cubic" (the
   * default), "reno", or one coupled across an MPTCP connection's subflows: "lia" (RFC 6356), "olia", "balia".
   * `connect` and `createServer` may override it; so does `tcp.congestionControl` of either.
   */
  readonly cc?: string;
  /** Secret for ISNs, ephemeral ports and MPTCP keys; default 32 random bytes. */
  readonly secret?: Uint8Array;
  /**
   * How long a closed socket whose data or FIN is still unacknowledged keeps the process alive, and how
   * long `close()` waits for such connections before resetting them; milliseconds, default 5000.
   */
  readonly lingerMs?: number;
}

/** Options of `stack.connect`, like `net.connect`'s. */
export interface ConnectOptions {
  /** The peer's port. */
  readonly port: number;
  /** The peer's address (an IP literal: the stack resolves no names). */
  readonly host: string;
  /** Our address of the initial subflow; default chosen by the routes. */
  readonly localAddress?: string;
  /** Our port; default an ephemeral one (RFC 6056). */
  readonly localPort?: number;
  /** MPTCP (default the stack's `mptcp`) or plain TCP. */
  readonly mptcp?: boolean;
  /** DSS checksums (default the stack's `checksum`). */
  readonly checksum?: boolean;
  /** TCP settings of this connection, over the stack's. */
  readonly tcp?: TcpConfig;
  /** This connection's congestion controller (see `StackOptions.cc`); default the stack's. */
  readonly cc?: string;
  /** `setNoDelay(true)` at once (TCP_NODELAY: Nagle off). */
  readonly noDelay?: boolean;
  /** `setTimeout(timeout)` at once: 'timeout' after that many idle milliseconds. */
  readonly timeout?: number;
}

/** Options of `stack.createServer`. */
export interface ServerOptions {
  /** Accept MPTCP (default the stack's `mptcp`); plain TCP SYNs are always accepted. */
  readonly mptcp?: boolean;
  /** Ask MPTCP peers for DSS checksums (default the stack's `checksum`). */
  readonly checksum?: boolean;
  /** TCP settings of accepted connections, over the stack's. */
  readonly tcp?: TcpConfig;
  /** The congestion controller of accepted connections (see `StackOptions.cc`); default the stack's. */
  readonly cc?: string;
  /** `setNoDelay(true)` on every accepted socket, like net.createServer's `noDelay`. */
  readonly noDelay?: boolean;
}

/** One interface of a stack. */
export interface StackInterface {
  /** The interface id (its index in `stack.interfaces()`). */
  readonly id: number;
  readonly name: string;
  /** Its addresses in CIDR form ("198.18.0.2/24"). */
  readonly addresses: readonly string[];
  readonly mtu: number;
}

/** An interface whose packets go to a function of yours; feed what arrives to `receive`. */
export interface PacketInterface extends StackInterface {
  /** Packets (whole IP packets) that arrived on this interface. The stack owns them from then on. */
  receive(packets: Iterable<Uint8Array>): void;
}

/** Options of `stack.addInterface`. */
export interface PacketInterfaceOptions {
  /** Interface name; default "ifN". */
  readonly name?: string;
  /** Addresses in CIDR form ("198.18.0.2/24", "2001:2::2/64"); each implies an on-link route. */
  readonly addresses: readonly string[];
  /** Default 1500. */
  readonly mtu?: number;
  /** Sends one IP packet out; returns false when it was dropped (the stack recovers as from loss). */
  readonly send: (packet: Uint8Array) => boolean;
}

/** Options of `stack.addTunInterface`. */
export interface TunInterfaceOptions {
  /** The device to create (at most 15 bytes; the kernel picks tunN when omitted and no `device` is given). */
  readonly name?: string;
  /**
   * A device you opened (`TunDevice.open`); the stack reads and writes it and follows its hold on the
   * process, but leaves closing it to you. Default: the stack opens `name` and closes it in `close()`.
   */
  readonly device?: TunDevice;
  /** The stack's addresses on the device, CIDR. Configure the kernel's side yourself (`ip addr`, `ip link set up`). */
  readonly addresses: readonly string[];
  /** Default 1500 (and set on a device the stack opens). */
  readonly mtu?: number;
  /**
   * Open the device with the TUN offloads (IFF_VNET_HDR: 64 KB super-packets both ways, checksums left to
   * the kernel; src/io/tun-offload.ts), falling back to the plain mode where the kernel refuses. Default:
   * true unless MPTCP_TS_TUN_OFFLOAD=0. A `device` you opened keeps its own mode.
   */
  readonly offload?: boolean;
}

/** Options of `stack.addUdpInterface`. */
export interface UdpInterfaceOptions {
  /** The outer local address to bind (one UDP socket per path, each its own 4-tuple). */
  readonly localAddress: string;
  /** The outer local port; default 0 (the OS picks: read `local.port`). */
  readonly localPort?: number;
  /**
   * The outer address of the peer's path ("127.0.0.2:6000", "[::1]:6000" or an object); default: answer
   * the source of the last datagram received. A remote also gets a host route: its address is reachable
   * through this interface (so peers whose inner addresses are their outer ones just work).
   */
  readonly remote?: string | UdpEndpoint;
  /** The stack's inner addresses on this path, CIDR; default `localAddress` as /32 (/128). */
  readonly addresses?: readonly string[];
  /** Default the UDP payload that avoids fragmentation on a 1500-byte path: 1472 (IPv4), 1452 (IPv6). */
  readonly mtu?: number;
}

/** A UDP path of a stack. */
export interface UdpInterface extends StackInterface {
  /** The bound outer address and port. */
  readonly local: UdpEndpoint;
}

/** What `close()` may be told. */
export interface CloseOptions {
  /** Milliseconds to wait for connections to finish before resetting them; default the stack's `lingerMs`. */
  readonly timeout?: number;
}

/**
 * What runs a stack's host: a real-time driver (TUN/UDP) or an emulated network. Made by `createStack`;
 * an emulated network implements `StackNetwork` to make them.
 */
export interface StackBackend {
  /** The sockets of the host, and its driver turns. */
  readonly sockets: HostSockets;
  /** Real-time interfaces, or undefined on an emulated network. */
  readonly realtime: StackRuntime | undefined;
  /** Keeps `handle` (a TUN device, a UDP path) ref'd exactly while the stack holds the process. */
  follow(handle: RefHandle): void;
  /** Stops the timers of this host and releases what the backend opened. */
  shutdown(): Promise<void>;
}

/** A Node handle that can let the process exit. */
export interface RefHandle {
  ref(): unknown;
  unref(): unknown;
}

/** Something that can run stacks in place of the real-time driver: an emulated network. */
export interface StackNetwork {
  /** Creates the backend of `stack` (being constructed), named `options.name` (unique within the network). */
  attachStack(stack: Stack, options: StackOptions): StackBackend;
}

/** A real-time stack: the host on a `StackRuntime`, whose timer, devices and UDP sockets follow the hold. */
class RealtimeBackend implements StackBackend {
  readonly realtime: StackRuntime;
  private readonly handles: RefHandle[] = [];
  /** Devices and paths the stack opened (and closes). */
  private readonly owned: (TunDevice | UdpPath)[] = [];

  constructor(options: StackOptions) {
    this.realtime = new StackRuntime({
      name: options.name ?? 'stack',
      unrefWhenIdle: true,
      ...(options.tcp ? { tcp: options.tcp } : {}),
      ...(options.secret ? { secret: options.secret } : {}),
    });
    this.realtime.onHoldChange((hold) => {
      for (const h of this.handles) {
        if (hold) h.ref();
        else h.unref();
      }
    });
  }

  get sockets(): HostSockets {
    return this.realtime;
  }

  follow(handle: RefHandle): void {
    this.handles.push(handle);
    if (this.realtime.holdsProcess) handle.ref();
    else handle.unref();
  }

  /** Remembers a device or path to close in `shutdown`. */
  own(handle: TunDevice | UdpPath): void {
    this.owned.push(handle);
  }

  async shutdown(): Promise<void> {
    this.realtime.close();
    for (const h of this.handles) h.unref();
    await Promise.all(this.owned.map((h) => h.close()));
  }
}

/** The errno-style error of a bad argument. */
/** A controller name from the caller, checked: an Error with code ERR_INVALID_ARG_VALUE listing the names. */
function checkedCc(name: string): string {
  try {
    return checkCongestionControl(name);
  } catch (error) {
    throw invalid((error as Error).message);
  }
}

/** `tcp` with the congestion controller `cc` (checked), when given. */
function withCc(tcp: TcpConfig | undefined, cc: string | undefined): TcpConfig {
  const config = cc === undefined ? { ...tcp } : { ...tcp, congestionControl: cc };
  if (config.congestionControl !== undefined) checkedCc(config.congestionControl);
  return config;
}

function invalid(message: string): Error {
  const e = new TypeError(message) as NodeJS.ErrnoException;
  e.code = 'ERR_INVALID_ARG_VALUE';
  return e;
}

/** "198.18.0.2:6000", "[2001:2::2]:6000" or an object, as an outer UDP endpoint. */
function udpEndpoint(remote: string | UdpEndpoint): UdpEndpoint {
  if (typeof remote !== 'string') return remote;
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(remote) ?? /^([^:]+):(\d+)$/.exec(remote);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !parseAddress(m[1]!) || !(port >= 1 && port <= 65535)) throw invalid(`bad UDP remote "${remote}": expected ADDRESS:PORT or [IPV6]:PORT`);
  return { address: m[1]!, port };
}

/**
 * One userspace TCP/MPTCP host with Node-facing sockets. Made by `createStack()`. Events: 'monitor' with
 * each `ip mptcp monitor` event (CREATED, ESTABLISHED, ANNOUNCED, SF_ESTABLISHED, ...; print one with
 * `formatMonitorLine`) while someone listens, and 'close' once `close()` finished.
 */
export class Stack extends EventEmitter {
  /** The stack's name. */
  readonly name: string;
  /**
   * The sans-IO host under this stack (routing table, connections, counters), for what the stack's own
   * methods do not cover. Changes made through it reach the wire at the next turn.
   */
  readonly host: Host;
  readonly #backend: StackBackend;
  readonly #sockets: HostSockets;
  readonly #mptcp: boolean;
  readonly #checksum: boolean;
  readonly #servers = new Set<MptcpServer>();
  #closing: Promise<void> | undefined;

  /** Use `createStack()`. */
  constructor(options: StackOptions = {}) {
    super();
    this.#backend = options.network ? options.network.attachStack(this, options) : new RealtimeBackend(options);
    this.#sockets = this.#backend.sockets;
    this.host = this.#sockets.host;
    this.name = this.host.name;
    this.#mptcp = options.mptcp ?? true;
    this.#checksum = options.checksum ?? false;
    if (options.lingerMs !== undefined) this.#sockets.lingerMs = options.lingerMs;
    if (options.limits !== undefined) this.setLimits(options.limits);
    if (options.scheduler !== undefined) this.setScheduler(options.scheduler);
    if (options.cc !== undefined) this.setCongestionControl(options.cc);
    this.#sockets.onDispatch(() => {
      if (this.listenerCount('monitor') === 0) return;
      for (let e = this.#sockets.monitor.shift(); e; e = this.#sockets.monitor.shift()) this.emitMonitor(e);
    });
  }

  private emitMonitor(event: MptcpEvent): void {
    this.emit('monitor', event);
  }

  /** True for a stack on an emulated network. */
  get emulated(): boolean {
    return this.#backend.realtime === undefined;
  }

  // ---- sockets ------------------------------------------------------------------------------------------

  /**
   * Opens a connection, like `net.connect`: `connect({ port, host, ... }[, connectListener])` or
   * `connect(port, host[, connectListener])`. The socket emits 'connect' once established. MPTCP by default
   * (see `StackOptions.mptcp`). Throws at once, with `code`, when there is no route (ENETUNREACH), the
   * address is not ours, or the 4-tuple is in use (EADDRINUSE).
   */
  connect(options: ConnectOptions, connectListener?: () => void): MptcpSocket;
  connect(port: number, host: string, connectListener?: () => void): MptcpSocket;
  connect(a: ConnectOptions | number, b?: string | (() => void), c?: () => void): MptcpSocket {
    const options: ConnectOptions = typeof a === 'object' ? a : { port: a, host: b as string };
    const listener = typeof a === 'object' ? (b as (() => void) | undefined) : c;
    if (typeof options.host !== 'string' || options.host === '') throw invalid('connect needs a host: the peer\'s IP address (the stack has no loopback and resolves no names)');
    this.#checkOpen();
    let socket: MptcpSocket;
    try {
      socket = this.#sockets.connect(options.port, options.host, {
        ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
        ...(options.localPort === undefined ? {} : { localPort: options.localPort }),
        ...(options.tcp || options.cc !== undefined ? { config: withCc(options.tcp, options.cc) } : {}),
        mptcp: options.mptcp ?? this.#mptcp,
        checksum: options.checksum ?? this.#checksum,
      });
    } catch (error) {
      throw withErrno(error);
    }
    if (options.noDelay) socket.setNoDelay(true);
    if (options.timeout !== undefined) socket.setTimeout(options.timeout);
    if (listener) socket.once('connect', listener);
    return socket;
  }

  /** The same as `connect` (net's other name for it; `http.request({ createConnection })` takes it). */
  createConnection(options: ConnectOptions, connectListener?: () => void): MptcpSocket {
    return this.connect(options, connectListener);
  }

  /**
   * A server, like `net.createServer([options][, connectionListener])`; call `listen(port[, host])` on it.
   * It accepts MPTCP (by default) and plain TCP connections.
   */
  createServer(connectionListener?: (socket: MptcpSocket) => void): MptcpServer;
  createServer(options: ServerOptions, connectionListener?: (socket: MptcpSocket) => void): MptcpServer;
  createServer(a?: ServerOptions | ((socket: MptcpSocket) => void), b?: (socket: MptcpSocket) => void): MptcpServer {
    const options: ServerOptions = typeof a === 'object' ? a : {};
    const listener = typeof a === 'function' ? a : b;
    this.#checkOpen();
    const server = this.#sockets.createServer(listener, options.tcp || options.cc !== undefined ? withCc(options.tcp, options.cc) : undefined, {
      mptcp: options.mptcp ?? this.#mptcp,
      checksum: options.checksum ?? this.#checksum,
    });
    if (options.noDelay) server.prependListener('connection', (s: MptcpSocket) => s.setNoDelay(true));
    this.#servers.add(server);
    return server;
  }

  // ---- interfaces -----------------------------------------------------------------------------------------

  /** The stack's interfaces, in id order. */
  interfaces(): StackInterface[] {
    return this.host.routing.interfaces.map((i) => describeInterface(this.host, i.id));
  }

  /**
   * Adds an interface whose packets go to `send`; give what arrives on it to the returned `receive`. For
   * packet sources of your own (another tunnel, a test).
   */
  addInterface(options: PacketInterfaceOptions): PacketInterface {
    const rt = this.#realtime('addInterface');
    const id = rt.addInterface(options.name ?? `if${this.host.routing.interfaces.length}`, options.addresses, options.send, options.mtu ?? 1500);
    return { ...describeInterface(this.host, id), receive: (packets) => rt.receive(id, packets) };
  }

  /**
   * Adds a Linux TUN device (root or CAP_NET_ADMIN, and the native addon: see `tunAvailable()`): the stack
   * reads and writes its IP packets. The kernel's side of the device (its address, `ip link set up`, a
   * namespace) is yours to configure.
   */
  addTunInterface(options: TunInterfaceOptions): StackInterface {
    const rt = this.#realtime('addTunInterface');
    const backend = this.#backend as RealtimeBackend;
    let id = -1;
    let device = options.device;
    if (device === undefined) {
      device = TunDevice.open(options.name, { offload: options.offload ?? tunOffloadRequested(), onError: () => undefined });
      backend.own(device);
      if (options.mtu !== undefined) device.setMtu(options.mtu);
    }
    const tun = device;
    const port = new TunPort(tun, rt.checksums);
    port.onPackets = (packets) => rt.receive(id, packets);
    tun.onError ??= () => undefined; // the device went away: the stack sees a dead link
    id = rt.addInterface(options.name ?? tun.name, options.addresses, (bytes) => port.send(bytes), options.mtu ?? 1500);
    backend.follow(tun);
    return describeInterface(this.host, id);
  }

  /**
   * Adds a UDP path: the stack's IP packets, one per datagram, between `localAddress` and the peer's path
   * (another stack of this library; see README "Real packet I/O"). Unprivileged; several paths are several
   * local addresses or ports. Resolves once bound.
   */
  async addUdpInterface(options: UdpInterfaceOptions): Promise<UdpInterface> {
    const rt = this.#realtime('addUdpInterface');
    const backend = this.#backend as RealtimeBackend;
    const remote = options.remote === undefined ? undefined : udpEndpoint(options.remote);
    const local = parseAddress(options.localAddress);
    if (!local) throw invalid(`bad localAddress "${options.localAddress}"`);
    let path: UdpPath;
    try {
      path = await UdpPath.bind({
        localAddress: options.localAddress,
        ...(options.localPort === undefined ? {} : { localPort: options.localPort }),
        ...(remote ? { remote } : {}),
        receiveBufferSize: 4 << 20,
        sendBufferSize: 4 << 20,
      });
    } catch (error) {
      throw withErrno(error);
    }
    backend.own(path);
    const addresses = options.addresses ?? [`${formatAddress(local)}/${local.length * 8}`];
    const mtu = options.mtu ?? (local.length === 4 ? 1472 : 1452);
    const id = rt.addInterface(`udp${this.host.routing.interfaces.length}`, addresses, (bytes) => path.send(bytes), mtu);
    path.onPackets = (packets) => rt.receive(id, packets);
    path.onUnreachable = () => rt.interfaceUnreachable(id);
    backend.follow(path);
    if (remote) {
      const peer = parseAddress(remote.address);
      const source = this.host.routing.interfaces[id]!.addresses.find((a) => a.address.length === peer?.length);
      if (peer && source) this.host.routing.addRoute({ prefix: peer, prefixLength: peer.length * 8, ifaceId: id, source: source.address });
    }
    return { ...describeInterface(this.host, id), local: path.local };
  }

  /**
   * `ip route add DESTINATION dev IFACE [src SOURCE]`: destinations in the CIDR `destination` ("0.0.0.0/0"
   * is a default route) leave through `iface`. Longer prefixes win.
   */
  addRoute(destination: string, iface: StackInterface | number, options: { source?: string } = {}): void {
    const prefix = parseCidr(destination);
    if (!prefix) throw invalid(`bad route destination "${destination}": expected ADDRESS/PREFIX, e.g. 0.0.0.0/0`);
    const ifaceId = typeof iface === 'number' ? iface : iface.id;
    if (!this.host.routing.interfaces[ifaceId]) throw invalid(`no interface ${ifaceId}`);
    const source = options.source === undefined ? undefined : parseAddress(options.source);
    if (options.source !== undefined && (!source || !this.host.routing.isLocalAddress(source))) throw invalid(`route source ${options.source} is not one of our addresses`);
    this.host.routing.addRoute({ prefix: prefix.address, prefixLength: prefix.prefixLength, ifaceId, ...(source ? { source } : {}) });
  }

  // ---- MPTCP settings, in ip mptcp's words ----------------------------------------------------------------

  /**
   * `ip mptcp endpoint add ADDRESS [id ID] [port PORT] [signal] [subflow] [backup] [fullmesh]`: the address
   * must be one of the stack's. Every MPTCP connection's path manager acts on it at once (a `signal`
   * endpoint is announced with ADD_ADDR, a `subflow` endpoint joined, within the limits). Returns its id.
   * Throws `ip mptcp`'s error for bad words, a duplicate address or id.
   */
  addEndpoint(words: string): number {
    const endpoint = parseEndpoint(words);
    if (!this.host.routing.isLocalAddress(endpoint.address)) {
      throw invalid(`endpoint ${formatAddress(endpoint.address)} is not one of this stack's addresses (${this.#addressList()})`);
    }
    this.host.addMptcpEndpoint(endpoint);
    this.#sockets.kick();
    const port = endpoint.signal && !endpoint.subflow ? endpoint.port : 0;
    return this.host.mptcpEndpoints.lookup(endpoint.address, port)!.id;
  }

  /**
   * `ip mptcp endpoint delete id ID`: connections send RM_ADDR for it and close their subflows on its
   * address (their data is reinjected on the others). Returns the number of subflows closed.
   */
  removeEndpoint(id: number): number {
    const closed = this.host.removeMptcpEndpoint(id);
    this.#sockets.kick();
    return closed;
  }

  /** `ip mptcp endpoint flush`, then `add` for each of `endpoints` (words as for `addEndpoint`). */
  setEndpoints(endpoints: readonly string[]): void {
    const parsed = endpoints.map((w) => parseEndpoint(w));
    for (const e of parsed) {
      if (!this.host.routing.isLocalAddress(e.address)) throw invalid(`endpoint ${formatAddress(e.address)} is not one of this stack's addresses (${this.#addressList()})`);
    }
    this.host.setMptcpEndpoints(parsed);
    this.#sockets.kick();
  }

  /** `ip mptcp endpoint show`: one line per endpoint, in id order ("198.18.2.2 id 1 subflow"). */
  endpoints(): string[] {
    return this.host.mptcpEndpoints.show().map((e) => formatEndpoint(e));
  }

  /**
   * `ip mptcp limits set [subflows N] [add_addr_accepted N]` (words or values; what is not given is kept).
   * Throws `ip mptcp`'s error for bad words or a limit above 8.
   */
  setLimits(limits: string | Partial<Limits>): void {
    if (typeof limits === 'string') this.host.setMptcpLimits(parseLimits(limits, this.host.mptcpLimits));
    else {
      const merged = { ...this.host.mptcpLimits, ...limits };
      // Checked by the same grammar as the words.
      this.host.setMptcpLimits(parseLimits(`subflows ${merged.subflows} add_addr_accepted ${merged.addAddrAccepted}`));
    }
  }

  /** `ip mptcp limits show`: the current limits. */
  limits(): Limits {
    return { ...this.host.mptcpLimits };
  }

  /** `sysctl net.mptcp.scheduler=NAME` for connections opened from now on. Throws for an unknown name. */
  setScheduler(name: string): void {
    this.host.setMptcpScheduler(name);
  }

  /** The packet scheduler of new connections. */
  get scheduler(): string {
    return this.host.mptcpScheduler;
  }

  /**
   * `sysctl net.ipv4.tcp_congestion_control=NAME` for connections opened or accepted from now on (see
   * `StackOptions.cc`). Throws (code ERR_INVALID_ARG_VALUE) for an unknown name, listing the available ones.
   */
  setCongestionControl(name: string): void {
    this.host.setCongestionControl(checkedCc(name));
  }

  /** The congestion controller of new connections. */
  get congestionControl(): string {
    return this.host.congestionControl;
  }

  /** The MPTCP counters with the kernel's MIB names (`nstat -az | grep MPTcpExt`), as a snapshot. */
  counters(): Readonly<Host['mptcpCounters']> {
    return { ...this.host.mptcpCounters };
  }

  // ---- shutdown -------------------------------------------------------------------------------------------

  /**
   * Ends the stack: stops every server, closes every socket (a FIN, or DATA_FIN, after the data already
   * written), waits at most `timeout` (default `lingerMs`) for the peers to acknowledge, resets what is
   * left (RST, MP_FASTCLOSE), then stops every timer and closes the TUN devices and UDP sockets it opened.
   * Resolves when done (and emits 'close'); calling it again returns the same promise.
   */
  close(options: CloseOptions = {}): Promise<void> {
    this.#closing ??= this.#close(options.timeout ?? this.#sockets.lingerMs);
    return this.#closing;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  async #close(timeoutMs: number): Promise<void> {
    for (const server of this.#servers) if (server.listening) server.close();
    for (const socket of this.#sockets.openSockets()) if (!socket.destroyed) socket.destroy();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#sockets.quiet(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    // What did not finish in time is reset, and that last word goes out before the timers stop.
    const left = this.#sockets.unfinishedSockets();
    if (left.length > 0) {
      for (const s of left) s.connection.abort();
      this.#sockets.kick();
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.#sockets.stop();
    await this.#backend.shutdown();
    this.emit('close');
  }

  #checkOpen(): void {
    if (this.#closing) throw new Error(`stack ${this.name} is closed`);
  }

  #realtime(what: string): StackRuntime {
    const rt = this.#backend.realtime;
    if (!rt) throw new Error(`${what}: an emulated stack's interfaces are its network's links (network.link)`);
    return rt;
  }

  #addressList(): string {
    const all = this.host.routing.interfaces.flatMap((i) => i.addresses.map((a) => formatAddress(a.address)));
    return all.length > 0 ? all.join(', ') : 'none yet: add interfaces first';
  }
}

/** The public view of interface `id` of `host`. */
export function describeInterface(host: Host, id: number): StackInterface {
  const i = host.routing.interfaces[id];
  if (!i) throw new Error(`no interface ${id}`);
  return { id: i.id, name: i.name, mtu: i.mtu, addresses: i.addresses.map((a) => `${formatAddress(a.address)}/${a.prefixLength}`) };
}

/**
 * Creates a stack: a userspace TCP/MPTCP host in real time. Add interfaces (`addUdpInterface`,
 * `addTunInterface`, or with `{ network }` the emulated network's links), then `connect` / `createServer`
 * as with node:net. See the module comment for shutdown.
 */
export function createStack(options: StackOptions = {}): Stack {
  return new Stack(options);
}
