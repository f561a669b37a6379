/**
 * Node-facing sockets over the userspace stack: `MptcpSocket` is a `stream.Duplex` like `net.Socket`,
 * `MptcpServer` an EventEmitter like `net.Server`. They carry MPTCP connections (and plain TCP ones: a socket
 * opened without MPTCP, or whose peer lacks it). They are driven by a runtime (`HostSockets` in
 * ./runtime.ts: a `StackRuntime`, a host of a `RealtimeEmulation`, or a `Stack` of ./stack.ts), which owns
 * the host and the real-time driver and dispatches the host's events to them. `TcpSocket` / `TcpServer` are
 * the former names of the same classes.
 *
 * Copy semantics match the kernel's: data written by the application is copied once into the send buffer
 * (the application may reuse its buffer as soon as the write callback runs); received data is pushed as
 * views of the received packets, never copied.
 */
import { Duplex } from 'node:stream';
import { EventEmitter } from 'node:events';
import { MptcpConnection, type MptcpInfo, type StreamConnection } from '../mptcp/connection.js';
import type { TcpError, TcpEvent, TcpInfo, TcpStateName } from '../tcp/types.js';
import type { Listener } from '../stack/host.js';
import { formatAddress } from '../wire/address.js';

/** What a socket needs from its runtime. */
export interface SocketRuntime {
  /** Runs a driver turn soon (coalesced): transmits what the application's calls produced. */
  kick(): void;
  /** Forgets a socket whose connection closed. */
  release(socket: MptcpSocket): void;
  /** MP_JOIN: opens a subflow of the socket's connection from `localAddress`; returns its subflow id. */
  addSubflow(socket: MptcpSocket, localAddress: string, options?: AddSubflowOptions): number;
  /** MP_PRIO: marks subflow `subflowId` of the socket's connection backup (or not). */
  setBackup(socket: MptcpSocket, subflowId: number, backup: boolean): boolean;
  /** The socket was `ref()`ed or `unref()`ed: whether it keeps the process alive changed. */
  refChanged?(socket: MptcpSocket): void;
}

/** Options of `MptcpSocket.addSubflow`. */
export interface AddSubflowOptions {
  /** The peer's address to join; default the connection's remote address. */
  readonly remoteAddress?: string;
  /** The peer's port; default the connection's remote port. */
  readonly remotePort?: number;
  /** Open the subflow as backup (the B bit of MP_JOIN). */
  readonly backup?: boolean;
}

/**
 * One subflow of an MPTCP connection, like a line of the kernel's MPTCP_TCPINFO / `ss -tMi`: addresses
 * as text, data-level byte counts, and the subflow's own TCP numbers.
 */
export interface SubflowInfo {
  /** The subflow id, for `setBackup` (0 is the initial MP_CAPABLE subflow). */
  readonly id: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly family: 'IPv4' | 'IPv6';
  /** Added with MP_JOIN (false for the initial MP_CAPABLE subflow). */
  readonly join: boolean;
  /** May carry data (for a join: the fourth ACK was received / the third ACK verified). */
  readonly fullyEstablished: boolean;
  /** We asked the peer to treat this subflow as backup, and the peer asked us to. */
  readonly backupLocal: boolean;
  readonly backupPeer: boolean;
  readonly localAddressId: number;
  readonly remoteAddressId: number | undefined;
  /** The subflow's TCP state (RFC 9293 names). */
  readonly state: TcpStateName;
  /** Data-level bytes handed to this subflow (first transmissions and reinjections). */
  readonly dataBytesSent: number;
  /** Data-level bytes read from this subflow (before duplicate removal). */
  readonly dataBytesReceived: number;
  /** Repeated RTOs without progress while another subflow works (Linux's `subflow->stale`). */
  readonly stale: boolean;
  /** The subflow's TCP numbers (srtt, cwnd, retransmits, ...), like `ss -ti`. */
  readonly tcp: TcpInfo;
}

/** A stack error as a Node error with `code` (ECONNREFUSED, ECONNRESET, ETIMEDOUT, ...). */
export function stackError(error: TcpError): NodeJS.ErrnoException {
  const e = new Error(`${error.code}: ${error.message}`) as NodeJS.ErrnoException;
  e.code = error.code;
  return e;
}

/**
 * An error thrown by the host for a bad call (no route, address in use) as a Node error: its message names
 * the errno in parentheses ("no route to 198.18.9.9 (ENETUNREACH)"), which becomes `code`.
 */
export function withErrno(error: unknown): unknown {
  if (error instanceof Error && (error as NodeJS.ErrnoException).code === undefined) {
    const m = /\((E[A-Z]+)\)/.exec(error.message);
    if (m) (error as NodeJS.ErrnoException).code = m[1];
  }
  return error;
}

/**
 * One connection of the userspace stack as a Duplex stream, like `net.Socket`: MPTCP (RFC 8684) when it was
 * opened or accepted with MPTCP and the peer agreed, else plain TCP. Events: 'connect' and 'ready' (the
 * handshake completed), 'data', 'end' (the peer finished: FIN, or DATA_FIN for MPTCP), 'timeout' (see
 * `setTimeout`), 'error' (with `code`: ECONNREFUSED, ECONNRESET, ETIMEDOUT, ...), 'close'.
 */
export class MptcpSocket extends Duplex {
  /** Bytes of the current write still waiting for send-buffer space, and its callback. */
  private pendingWrite: Uint8Array | undefined;
  private pendingCallback: ((error?: Error | null) => void) | undefined;
  private wantsRead = false;
  private connected = false;
  /** Bytes the connection has accepted from the application (for `acknowledged`). */
  private acceptedBytes = 0;
  /** `abandonUnsentWrites()` was called: writes are dropped instead of handed to the connection. */
  private abandoned = false;
  /** `ref()` / `unref()`: whether this socket keeps the process alive while open. */
  private referenced = true;
  /** The idle timer of `setTimeout`, unref'd like net.Socket's. */
  private idleTimer: NodeJS.Timeout | undefined;
  /** Bytes given to `write` and bytes pushed to the reader, like net.Socket's counters. */
  private written = 0;
  private readBytes = 0;

  /**
   * Sockets are made by a runtime (`stack.connect`, a server's 'connection'), not by applications.
   * `connection` is the stack's connection under this socket (an `MptcpConnection` or a `TcpConnection`).
   */
  constructor(
    readonly connection: StreamConnection,
    private readonly runtime: SocketRuntime,
  ) {
    super({ allowHalfOpen: true });
  }

  /** The peer's address of the initial subflow, as text. */
  get remoteAddress(): string {
    return formatAddress(this.connection.endpoints.remoteAddress);
  }
  /** The peer's port of the initial subflow. */
  get remotePort(): number {
    return this.connection.endpoints.remotePort;
  }
  /** Our address of the initial subflow, as text. */
  get localAddress(): string {
    return formatAddress(this.connection.endpoints.localAddress);
  }
  /** Our port of the initial subflow. */
  get localPort(): number {
    return this.connection.endpoints.localPort;
  }
  /** The address family of the initial subflow. */
  get remoteFamily(): 'IPv4' | 'IPv6' {
    return this.connection.endpoints.remoteAddress.length === 16 ? 'IPv6' : 'IPv4';
  }
  /** Like net.Socket#address(): our address, family and port (of the initial subflow). */
  address(): { address: string; family: 'IPv4' | 'IPv6'; port: number } {
    return { address: this.localAddress, family: this.remoteFamily, port: this.localPort };
  }
  /** True until the handshake completes (or the socket is destroyed first), like net.Socket#connecting. */
  get connecting(): boolean {
    return !this.connected && !this.destroyed;
  }
  /** Bytes given to `write` so far (including those still buffered), like net.Socket#bytesWritten. */
  get bytesWritten(): number {
    return this.written;
  }
  /**
   * Bytes the connection has taken into its send buffer so far: what write(2) calls on a kernel socket
   * would have returned in total (a write waiting for buffer space counts the part already taken).
   */
  get bytesAccepted(): number {
    return this.acceptedBytes;
  }
  /**
   * Drops what `write` has not yet handed to the connection (the rest of the current chunk, and chunks
   * written later), completing their callbacks: the peer then receives exactly `bytesAccepted` bytes. For a
   * sender that stops at a deadline (a throughput test's end), as a kernel sender simply stops calling
   * write(2). Ending or closing the socket afterwards works as usual.
   */
  abandonUnsentWrites(): void {
    this.abandoned = true;
    const cb = this.pendingCallback;
    this.pendingWrite = undefined;
    this.pendingCallback = undefined;
    cb?.();
  }
  /** Bytes delivered to the reader so far, like net.Socket#bytesRead. */
  get bytesRead(): number {
    return this.readBytes;
  }

  /**
   * True while the connection runs MPTCP: MP_CAPABLE was agreed and it has not fallen back to TCP
   * (RFC 8684 3.7). False for plain TCP sockets, during the handshake, and after a fallback.
   */
  get isMptcp(): boolean {
    return this.connection instanceof MptcpConnection && this.connection.mptcpInfo().mode === 'mptcp';
  }

  /**
   * Like the kernel's MPTCP_INFO: mode (handshake, mptcp, fallback), tokens, data-level bytes sent, acked
   * and received, live subflows. Undefined for a plain TCP socket.
   */
  mptcpInfo(): MptcpInfo | undefined {
    return this.connection instanceof MptcpConnection ? this.connection.mptcpInfo() : undefined;
  }

  /** Like the kernel's MPTCP_TCPINFO: one entry per subflow (none for a plain TCP socket). */
  subflows(): SubflowInfo[] {
    const connection = this.connection;
    if (!(connection instanceof MptcpConnection)) return [];
    return connection.subflowInfo().map((s) => ({
      id: s.id,
      localAddress: formatAddress(s.endpoints.localAddress),
      localPort: s.endpoints.localPort,
      remoteAddress: formatAddress(s.endpoints.remoteAddress),
      remotePort: s.endpoints.remotePort,
      family: s.endpoints.remoteAddress.length === 16 ? 'IPv6' : 'IPv4',
      join: s.join,
      fullyEstablished: s.fullyEstablished,
      backupLocal: s.backupLocal,
      backupPeer: s.backupPeer,
      localAddressId: s.localAddressId,
      remoteAddressId: s.remoteAddressId,
      state: s.state,
      dataBytesSent: s.dataBytesSent,
      dataBytesReceived: s.dataBytesReceived,
      stale: s.stale,
      tcp: s.tcp,
    }));
  }

  /**
   * MPTCP: opens another subflow of this connection (MP_JOIN, RFC 8684 3.2) from `localAddress` (one of the
   * stack's addresses; its packets leave through that address's interface), to the connection's remote
   * address and port unless `options` names others. Returns the new subflow's id. Throws when the socket is
   * not an MPTCP connection that can be joined (plain TCP, fallback, closing) or the address is not ours.
   * The path manager opens subflows by itself for `subflow` endpoints; this is the by-hand way.
   */
  addSubflow(localAddress: string, options: AddSubflowOptions = {}): number {
    return this.runtime.addSubflow(this, localAddress, options);
  }

  /**
   * MPTCP: asks the peer to use subflow `subflowId` as backup, or not (MP_PRIO, RFC 8684 3.3.8), and makes
   * our scheduler treat it so. Returns false when the socket is not MPTCP or has no such live subflow.
   */
  setBackup(subflowId: number, backup: boolean): boolean {
    return this.runtime.setBackup(this, subflowId, backup);
  }

  /**
   * Like net.Socket#setTimeout: emits 'timeout' after `ms` milliseconds without data read or written (0
   * switches it off). The socket stays open; the application decides (e.g. `destroy()`). The timer does not
   * keep the process alive.
   */
  setTimeout(ms: number, callback?: () => void): this {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (ms === 0) {
      if (callback) this.off('timeout', callback);
      return this;
    }
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`bad timeout ${ms}`);
    if (callback) this.once('timeout', callback);
    if (!this.destroyed) this.idleTimer = setTimeout(() => this.emit('timeout'), ms).unref();
    return this;
  }

  /** Like net.Socket#ref(): an open socket keeps the process alive (the default). */
  ref(): this {
    if (!this.referenced) {
      this.referenced = true;
      this.runtime.refChanged?.(this);
    }
    return this;
  }

  /** Like net.Socket#unref(): the process may exit while this socket is open. */
  unref(): this {
    if (this.referenced) {
      this.referenced = false;
      this.runtime.refChanged?.(this);
    }
    return this;
  }

  /** Whether the socket keeps the process alive while open (`ref()` / `unref()`). */
  get isReferenced(): boolean {
    return this.referenced;
  }

  /**
   * Node's `socket.resetAndDestroy()`: an abortive close. A plain TCP connection sends a RST; an MPTCP
   * connection sends MP_FASTCLOSE on every subflow (RFC 8684 3.5, what Linux does for a close with
   * SO_LINGER 0). The peer sees ECONNRESET.
   */
  resetAndDestroy(): this {
    if (!this.destroyed) {
      this.connection.abort();
      this.runtime.kick();
    }
    return this.destroy();
  }

  /** Like `ss -ti`: RTT, cwnd, retransmissions, bytes (of the initial subflow for MPTCP; see `subflows()`). */
  info(): TcpInfo {
    return this.connection.info();
  }
  /**
   * Resolves once the peer has acknowledged every byte written so far (or the connection is gone).
   * Checked every few milliseconds: a tool's end-of-test barrier, not a per-segment path.
   */
  acknowledged(): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        const done = this.destroyed || acknowledgedBytes(this.connection) >= this.acceptedBytes;
        if (done) resolve();
        else setTimeout(check, 2);
      };
      check();
    });
  }

  /** Like net.Socket#setNoDelay: true switches Nagle's algorithm off (TCP_NODELAY). */
  setNoDelay(noDelay = true): this {
    this.connection.setNoDelay(noDelay);
    this.runtime.kick();
    return this;
  }
  /** Accepted for net.Socket compatibility (http.Agent calls it); keepalive is set with `TcpConfig.keepalive`. */
  setKeepAlive(_enable?: boolean, _initialDelay?: number): this {
    return this;
  }

  /** Called by the runtime for each event of this socket's connection. */
  handleEvent(event: TcpEvent): void {
    switch (event.type) {
      case 'established':
        this.connected = true;
        this.emit('connect');
        this.emit('ready');
        break;
      case 'readable':
        this.pull();
        break;
      case 'writable':
        this.flushPendingWrite();
        break;
      case 'end':
        this.pull();
        if (this.connection.readableBytes === 0) this.push(null);
        break;
      case 'closed':
        if (event.error) {
          const err = stackError(event.error);
          this.failPendingWrite(err);
          this.destroy(err);
        } else {
          this.failPendingWrite(new Error('connection closed'));
          if (!this.readableEnded) this.push(null);
          this.destroy();
        }
        this.runtime.release(this);
        break;
    }
  }

  /** Whether the handshake completed. */
  get isConnected(): boolean {
    return this.connected;
  }

  override _read(): void {
    this.wantsRead = true;
    this.pull();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.abandoned) {
      callback();
      return;
    }
    this.written += chunk.length;
    this.idleTimer?.refresh();
    // One copy, as the kernel copies from user space: the caller may reuse `chunk` after the callback.
    this.pendingWrite = Uint8Array.from(chunk);
    this.pendingCallback = callback;
    this.flushPendingWrite();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.connection.shutdown();
    this.runtime.kick();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const state = this.connection.state;
    if (state !== 'CLOSED' && state !== 'TIME-WAIT') {
      if (error) this.connection.abort();
      else this.connection.close();
      this.runtime.kick();
    }
    callback(error);
  }

  private pull(): void {
    if (!this.wantsRead) return;
    for (let chunk = this.connection.read(); chunk; chunk = this.connection.read()) {
      this.readBytes += chunk.length;
      this.idleTimer?.refresh();
      if (!this.push(chunk)) {
        this.wantsRead = false;
        break;
      }
    }
    // Reading opened the receive window: let the stack send a window update.
    this.runtime.kick();
    if (this.connection.readableBytes === 0 && peerFinished(this.connection)) this.push(null);
  }

  private flushPendingWrite(): void {
    const data = this.pendingWrite;
    if (!data) return;
    const n = this.connection.write(data);
    this.acceptedBytes += n;
    this.runtime.kick();
    if (n < data.length) {
      this.pendingWrite = data.subarray(n);
      return;
    }
    const cb = this.pendingCallback;
    this.pendingWrite = undefined;
    this.pendingCallback = undefined;
    cb?.();
  }

  private failPendingWrite(error: Error): void {
    const cb = this.pendingCallback;
    this.pendingWrite = undefined;
    this.pendingCallback = undefined;
    cb?.(error);
  }
}

function peerFinished(connection: StreamConnection): boolean {
  const s = connection.state;
  return s === 'CLOSE-WAIT' || s === 'LAST-ACK' || s === 'CLOSING' || s === 'TIME-WAIT' || s === 'CLOSED';
}

/** What a server needs from its runtime. */
export interface ServerRuntime {
  /** The server started or stopped listening, or was `ref()`ed / `unref()`ed. */
  serverChanged(server: MptcpServer): void;
}

/** Options of `MptcpServer.listen`, like net.Server#listen's. */
export interface ListenOptions {
  /** Port; 0 or omitted: a free ephemeral port (read it from `address().port`). */
  readonly port?: number;
  /** Listen on this address only; default every address of the stack. */
  readonly host?: string;
  /** Most connections waiting in SYN-RECEIVED at once (Linux's SYN queue); default 4096. */
  readonly backlog?: number;
}

/** Opens the host listener of a server. */
export type OpenListener = (server: MptcpServer, port: number, address: string | undefined, backlog: number | undefined) => Listener;

/**
 * A listening socket of the userspace stack, like net.Server: emits 'listening', 'connection' with an
 * `MptcpSocket` (once its handshake completed), 'error' (with `code`, e.g. EADDRINUSE) and 'close'.
 */
export class MptcpServer extends EventEmitter {
  /** The host's listener while listening. */
  listener: Listener | undefined;
  private referenced = true;

  /** Servers are made by a runtime (`stack.createServer`), not by applications. */
  constructor(
    private readonly openListener: OpenListener,
    onConnection?: (socket: MptcpSocket) => void,
    private readonly runtime?: ServerRuntime,
  ) {
    super();
    if (onConnection) this.on('connection', onConnection);
  }

  /**
   * Starts listening, like net.Server#listen: `listen(port[, host][, backlog][, callback])`,
   * `listen({ port, host, backlog }[, callback])` or `listen([callback])` (an ephemeral port). Emits
   * 'listening' (and calls `callback`) on the next tick, 'error' on failure (EADDRINUSE).
   */
  listen(port?: number, host?: string, backlog?: number, callback?: () => void): this;
  listen(port: number, host: string, callback?: () => void): this;
  listen(port: number, callback?: () => void): this;
  listen(options: ListenOptions, callback?: () => void): this;
  listen(callback?: () => void): this;
  listen(...args: unknown[]): this {
    const callback = typeof args[args.length - 1] === 'function' ? (args.pop() as () => void) : undefined;
    let options: ListenOptions;
    if (typeof args[0] === 'object' && args[0] !== null) options = args[0] as ListenOptions;
    else {
      const [port, host, backlog] = args as [number | undefined, string | undefined, number | undefined];
      options = {
        ...(port === undefined ? {} : { port }),
        ...(host === undefined ? {} : { host }),
        ...(backlog === undefined ? {} : { backlog }),
      };
    }
    try {
      this.listener = this.openListener(this, options.port ?? 0, options.host, options.backlog);
    } catch (e) {
      process.nextTick(() => this.emit('error', withErrno(e)));
      return this;
    }
    this.runtime?.serverChanged(this);
    if (callback) this.once('listening', callback);
    process.nextTick(() => this.emit('listening'));
    return this;
  }

  /** True while listening. */
  get listening(): boolean {
    return this.listener !== undefined;
  }

  /** Like net.Server#address(): the address and port listened on ('0.0.0.0' for every address), or null. */
  address(): { address: string; port: number; family: string } | null {
    if (!this.listener) return null;
    const a = this.listener.address;
    return { address: a ? formatAddress(a) : '0.0.0.0', port: this.listener.port, family: a && a.length === 16 ? 'IPv6' : 'IPv4' };
  }

  /**
   * Stops accepting connections (connections already accepted go on); emits 'close' and calls `callback`
   * on the next tick.
   */
  close(callback?: () => void): this {
    this.listener?.close();
    this.listener = undefined;
    this.runtime?.serverChanged(this);
    process.nextTick(() => {
      this.emit('close');
      callback?.();
    });
    return this;
  }

  /** Like net.Server#ref(): a listening server keeps the process alive (the default). */
  ref(): this {
    this.referenced = true;
    this.runtime?.serverChanged(this);
    return this;
  }

  /** Like net.Server#unref(): the process may exit while this server listens. */
  unref(): this {
    this.referenced = false;
    this.runtime?.serverChanged(this);
    return this;
  }

  /** Whether the server keeps the process alive while listening (`ref()` / `unref()`). */
  get isReferenced(): boolean {
    return this.referenced;
  }
}

/** The former name of `MptcpSocket` (the same class). */
export const TcpSocket = MptcpSocket;
/** The former name of `MptcpSocket` (the same class). */
export type TcpSocket = MptcpSocket;
/** The former name of `MptcpServer` (the same class). */
export const TcpServer = MptcpServer;
/** The former name of `MptcpServer` (the same class). */
export type TcpServer = MptcpServer;

/** Bytes the peer acknowledged: at the data level (DATA_ACK) for MPTCP, else TCP's. */
function acknowledgedBytes(connection: StreamConnection): number {
  return connection instanceof MptcpConnection ? connection.bytesAcknowledged : connection.info().bytesAcked;
}
