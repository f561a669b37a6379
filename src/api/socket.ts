/**
 * Node-facing sockets over the userspace stack: `TcpSocket` is a `stream.Duplex` like `net.Socket`,
 * `TcpServer` an EventEmitter like `net.Server`. They are driven by a `StackRuntime` (./runtime.ts), which
 * owns the host and the real-time driver and dispatches the host's events to them.
 *
 * Copy semantics match the kernel's: data written by the application is copied once into the send buffer
 * (the application may reuse its buffer as soon as the write callback runs); received data is pushed as
 * views of the received packets, never copied.
 */
import { Duplex } from 'node:stream';
import { EventEmitter } from 'node:events';
import { MptcpConnection, type StreamConnection } from '../mptcp/connection.js';
import type { TcpError, TcpEvent, TcpInfo } from '../tcp/types.js';
import type { Listener } from '../stack/host.js';
import { formatAddress } from '../wire/address.js';

/** What a socket needs from its runtime. */
export interface SocketRuntime {
  /** Runs a driver turn soon (coalesced): transmits what the application's calls produced. */
  kick(): void;
  /** Forgets a socket whose connection closed. */
  release(socket: TcpSocket): void;
}

/** A stack error as a Node error with `code` (ECONNREFUSED, ECONNRESET, ETIMEDOUT, ...). */
export function stackError(error: TcpError): NodeJS.ErrnoException {
  const e = new Error(`${error.code}: ${error.message}`) as NodeJS.ErrnoException;
  e.code = error.code;
  return e;
}

/** One TCP connection of the userspace stack as a Duplex stream. */
export class TcpSocket extends Duplex {
  /** Bytes of the current write still waiting for send-buffer space, and its callback. */
  private pendingWrite: Uint8Array | undefined;
  private pendingCallback: ((error?: Error | null) => void) | undefined;
  private wantsRead = false;
  private connected = false;
  /** Bytes the connection has accepted from the application (for `acknowledged`). */
  private acceptedBytes = 0;

  constructor(
    readonly connection: StreamConnection,
    private readonly runtime: SocketRuntime,
  ) {
    super({ allowHalfOpen: true });
  }

  get remoteAddress(): string {
    return formatAddress(this.connection.endpoints.remoteAddress);
  }
  get remotePort(): number {
    return this.connection.endpoints.remotePort;
  }
  get localAddress(): string {
    return formatAddress(this.connection.endpoints.localAddress);
  }
  get localPort(): number {
    return this.connection.endpoints.localPort;
  }
  get remoteFamily(): 'IPv4' | 'IPv6' {
    return this.connection.endpoints.remoteAddress.length === 16 ? 'IPv6' : 'IPv4';
  }
  /** Like `ss -ti`: RTT, cwnd, retransmissions, bytes. */
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
  setKeepAlive(): this {
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

/** A listening socket of the userspace stack, like net.Server: emits 'connection' with a TcpSocket. */
export class TcpServer extends EventEmitter {
  listener: Listener | undefined;

  constructor(
    private readonly openListener: (server: TcpServer, port: number, address: string | undefined) => Listener,
    onConnection?: (socket: TcpSocket) => void,
  ) {
    super();
    if (onConnection) this.on('connection', onConnection);
  }

  /** Starts listening; emits 'listening' (and calls `callback`) on the next tick, 'error' on failure. */
  listen(port: number, address?: string, callback?: () => void): this {
    try {
      this.listener = this.openListener(this, port, address);
    } catch (e) {
      process.nextTick(() => this.emit('error', e));
      return this;
    }
    if (callback) this.once('listening', callback);
    process.nextTick(() => this.emit('listening'));
    return this;
  }

  address(): { address: string; port: number; family: string } | null {
    if (!this.listener) return null;
    const a = this.listener.address;
    return { address: a ? formatAddress(a) : '0.0.0.0', port: this.listener.port, family: a && a.length === 16 ? 'IPv6' : 'IPv4' };
  }

  close(callback?: () => void): this {
    this.listener?.close();
    this.listener = undefined;
    process.nextTick(() => {
      this.emit('close');
      callback?.();
    });
    return this;
  }
}

/** Bytes the peer acknowledged: at the data level (DATA_ACK) for MPTCP, else TCP's. */
function acknowledgedBytes(connection: StreamConnection): number {
  return connection instanceof MptcpConnection ? connection.bytesAcknowledged : connection.info().bytesAcked;
}
