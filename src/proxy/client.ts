/**
 * `mptcp proxy client`: local applications connect over the host's own TCP (node:net) and each accepted
 * connection becomes one MPTCP connection on our stack (a `Stack`: UDP paths or TUN devices) to a SOCKS 5
 * server (`mptcp proxy server`, or any SOCKS 5 server: a kernel one under `mptcpize run microsocks`),
 * which it asks for the destination with SOCKS 5 (./handshake.ts `requestSocks`).
 *
 * - `listen`: the application speaks SOCKS 5 (first byte 0x05: RFC 1928, no-auth or RFC 1929 when
 *   `credentials` are set) or HTTP proxy requests (CONNECT, absolute-form GET; ./http-proxy.ts): the
 *   server's SOCKS reply is passed on (SOCKS) or mapped to a status (HTTP: 403 for "not allowed", 502...).
 * - `forwards`: a local port straight to a fixed destination, no protocol on the application's side.
 */
import { createServer as netCreateServer, isIP, type Server, type Socket } from 'node:net';
import { EventEmitter } from 'node:events';
import type { Stack } from '../api/stack.js';
import type { MptcpSocket } from '../api/socket.js';
import { encodeHttpResponse } from './http-proxy.js';
import { acceptHttp, acceptSocks, httpStatusForSocksReply, MessageReader, requestSocks } from './handshake.js';
import { relay } from './relay.js';
import { PROXY_DEFAULTS } from './server.js';
import { encodeReply, SOCKS, SOCKS_REPLY, socksReplyText, type SocksCredentials, type SocksDestination } from './socks5.js';
import { ProxyStats, type ConnectionRecord } from './stats.js';

/** A host (IP literal or name) and port. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Options of `startProxyClient`. */
export interface ProxyClientOptions {
  /** The stack the MPTCP connections go out on. */
  readonly stack: Stack;
  /** The SOCKS 5 server, through the stack (an IP address: the stack resolves no names). */
  readonly server: HostPort;
  /** Local SOCKS 5 / HTTP proxy listeners (node:net). */
  readonly listen?: readonly HostPort[];
  /** Local ports forwarded to fixed destinations (asked of the server with SOCKS 5). */
  readonly forwards?: readonly { readonly listen: HostPort; readonly destination: HostPort }[];
  /** Credentials local applications must give (SOCKS: RFC 1929; HTTP: Proxy-Authorization Basic). */
  readonly credentials?: SocksCredentials;
  /** Credentials we give the server (RFC 1929). */
  readonly serverCredentials?: SocksCredentials;
  readonly maxConnections?: number;
  readonly idleTimeoutMs?: number;
  readonly handshakeTimeoutMs?: number;
  /** Give up on the server (MPTCP connect and SOCKS exchange) after this long. */
  readonly connectTimeoutMs?: number;
  /** MPTCP (default) or plain TCP to the server. */
  readonly mptcp?: boolean;
  readonly log?: (line: string) => void;
}

function endpointText(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function destinationOf(host: string, port: number): SocksDestination {
  const v = isIP(host);
  return { type: v === 4 ? 'ipv4' : v === 6 ? 'ipv6' : 'domain', host, port };
}

/** An upstream failure, with the SOCKS reply code to pass on (the server's, or 0x01 when it is unreachable). */
class UpstreamError extends Error {
  constructor(
    message: string,
    readonly reply: number,
  ) {
    super(message);
  }
}

/** A running proxy client. */
export class ProxyClient extends EventEmitter {
  readonly stats = new ProxyStats();
  readonly #options: ProxyClientOptions;
  readonly #servers: Server[] = [];
  readonly #sockets = new Set<Socket | MptcpSocket>();

  /** Use `startProxyClient`. */
  constructor(options: ProxyClientOptions) {
    super();
    this.#options = options;
  }

  /** The local addresses listened on: the proxy listeners, then the forwards. */
  addresses(): { address: string; port: number }[] {
    return this.#servers.map((s) => s.address() as { address: string; port: number });
  }

  #log(line: string): void {
    this.#options.log?.(line);
  }

  #track<T extends Socket | MptcpSocket>(s: T): T {
    this.#sockets.add(s);
    s.once('close', () => this.#sockets.delete(s));
    return s;
  }

  async listen(): Promise<void> {
    const o = this.#options;
    for (const l of o.listen ?? []) await this.#listenOn(l, (socket) => void this.#handleProxy(socket));
    for (const f of o.forwards ?? []) await this.#listenOn(f.listen, (socket) => void this.#handleForward(socket, f.destination));
  }

  async #listenOn(at: HostPort, onConnection: (socket: Socket) => void): Promise<void> {
    const server = netCreateServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true }, (s) => onConnection(this.#track(s)));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(at.port, at.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.#log(`listener ${endpointText(at.host, at.port)}: ${err.message}`));
    this.#servers.push(server);
  }

  #overLimit(): boolean {
    return this.stats.open.size > (this.#options.maxConnections ?? PROXY_DEFAULTS.maxConnections);
  }

  /** One MPTCP connection to the server, through the SOCKS 5 exchange for `destination`. */
  async #upstream(record: ConnectionRecord, destination: SocksDestination): Promise<{ socket: MptcpSocket; early: Uint8Array }> {
    const o = this.#options;
    let socket: MptcpSocket;
    try {
      socket = this.#track(o.stack.connect({ host: o.server.host, port: o.server.port, noDelay: true, ...(o.mptcp !== undefined ? { mptcp: o.mptcp } : {}) }));
    } catch (err) {
      throw new UpstreamError(`cannot connect to the server ${endpointText(o.server.host, o.server.port)}: ${(err as Error).message}`, SOCKS_REPLY.NETWORK_UNREACHABLE);
    }
    record.mptcp = socket;
    const timeoutMs = o.connectTimeoutMs ?? PROXY_DEFAULTS.connectTimeoutMs;
    const reader = new MessageReader(socket, timeoutMs);
    try {
      await new Promise<void>((resolve, reject) => {
        if (socket.isConnected) return resolve();
        socket.once('connect', resolve);
        socket.once('close', () => reject(new Error('closed')));
        socket.once('error', (e: NodeJS.ErrnoException) => reject(e));
      });
      const rep = await requestSocks(reader, socket, destination, o.serverCredentials);
      if (rep !== SOCKS_REPLY.SUCCEEDED) throw new UpstreamError(`the server: ${socksReplyText(rep)}`, rep);
    } catch (err) {
      reader.release();
      socket.destroy();
      if (err instanceof UpstreamError) throw err;
      const e = err as NodeJS.ErrnoException;
      throw new UpstreamError(`server ${endpointText(o.server.host, o.server.port)}: ${e.code ?? e.message}`, e.code === 'ECONNREFUSED' ? SOCKS_REPLY.CONNECTION_REFUSED : SOCKS_REPLY.GENERAL_FAILURE);
    }
    return { socket, early: reader.release() };
  }

  async #handleProxy(local: Socket): Promise<void> {
    const o = this.#options;
    const reader = new MessageReader(local, o.handshakeTimeoutMs ?? PROXY_DEFAULTS.handshakeTimeoutMs);
    local.resume();
    const peer = endpointText(local.remoteAddress ?? '?', local.remotePort ?? 0);
    let first: number;
    try {
      first = await reader.peek();
    } catch {
      reader.release();
      local.destroy();
      return;
    }
    const record = this.stats.begin(first === SOCKS.VERSION || first === 0x04 ? 'socks' : 'http', peer);
    if (first === 0x04) {
      // SOCKS 4 is not spoken: its own "request rejected or failed" (VN 0, CD 91), then the end.
      reader.release();
      local.end(Uint8Array.of(0, 91, 0, 0, 0, 0, 0, 0));
      this.#log(`#${record.id} ${peer}: refused: SOCKS 4 (only SOCKS 5 and HTTP are spoken)`);
      this.stats.refuse(record, 'bad-request');
      return;
    }
    try {
      if (first === SOCKS.VERSION) {
        const accepted = await acceptSocks(reader, local, o.credentials);
        if (!accepted.ok) {
          this.#log(`#${record.id} ${peer}: refused: ${accepted.why}`);
          this.stats.refuse(record, /password|authentication/.test(accepted.why) ? 'auth' : 'bad-request');
          return;
        }
        const dest = accepted.destination;
        record.destination = endpointText(dest.host, dest.port);
        if (this.#overLimit()) {
          reader.release();
          local.end(encodeReply(SOCKS_REPLY.GENERAL_FAILURE));
          this.#log(`#${record.id} ${peer} -> ${record.destination}: refused: over the limit of ${o.maxConnections ?? PROXY_DEFAULTS.maxConnections} connections`);
          this.stats.refuse(record, 'limit');
          return;
        }
        await this.#connectAndRelay(record, local, reader, dest, {
          success: () => encodeReply(SOCKS_REPLY.SUCCEEDED, { host: local.localAddress ?? '0.0.0.0', port: local.localPort ?? 0 }),
          failure: (rep) => encodeReply(rep),
        });
      } else {
        const accepted = await acceptHttp(reader, local, o.credentials);
        if (!accepted.ok) {
          this.#log(`#${record.id} ${peer}: refused: ${accepted.why}`);
          this.stats.refuse(record, /Authorization/.test(accepted.why) ? 'auth' : 'bad-request');
          return;
        }
        const req = accepted.request;
        record.destination = endpointText(req.host, req.port);
        if (this.#overLimit()) {
          reader.release();
          local.end(encodeHttpResponse(503));
          this.#log(`#${record.id} ${peer} -> ${record.destination}: refused: over the limit of ${o.maxConnections ?? PROXY_DEFAULTS.maxConnections} connections`);
          this.stats.refuse(record, 'limit');
          return;
        }
        await this.#connectAndRelay(record, local, reader, destinationOf(req.host, req.port), {
          success: () => (req.kind === 'connect' ? encodeHttpResponse(200) : undefined),
          failure: (rep) => encodeHttpResponse(httpStatusForSocksReply(rep)),
          ...(req.kind === 'forward' ? { head: req.head } : {}),
        });
      }
    } catch (err) {
      // The local application went away or stalled during its handshake.
      this.#log(`#${record.id} ${peer}: ${(err as Error).message}`);
      reader.release();
      local.destroy();
      this.stats.fail(record);
    }
  }

  async #handleForward(local: Socket, destination: HostPort): Promise<void> {
    const record = this.stats.begin('forward', endpointText(local.remoteAddress ?? '?', local.remotePort ?? 0));
    record.destination = endpointText(destination.host, destination.port);
    // The application's bytes wait in its socket (paused since accept) until the relay resumes it.
    const reader = new MessageReader(local, 0);
    if (this.#overLimit()) {
      reader.release();
      local.resetAndDestroy();
      this.#log(`#${record.id} ${record.peer} -> ${record.destination}: refused: over the limit of ${this.#options.maxConnections ?? PROXY_DEFAULTS.maxConnections} connections`);
      this.stats.refuse(record, 'limit');
      return;
    }
    // Nothing to answer on failure: the application sees a reset.
    await this.#connectAndRelay(record, local, reader, destinationOf(destination.host, destination.port), { success: () => undefined, failure: () => undefined });
  }

  async #connectAndRelay(
    record: ConnectionRecord,
    local: Socket,
    reader: MessageReader,
    destination: SocksDestination,
    answers: { success: () => Uint8Array | undefined; failure: (rep: number) => Uint8Array | undefined; head?: Uint8Array },
  ): Promise<void> {
    let upstream: { socket: MptcpSocket; early: Uint8Array };
    try {
      upstream = await this.#upstream(record, destination);
    } catch (err) {
      const e = err as UpstreamError;
      this.#log(`#${record.id} ${record.peer} -> ${record.destination}: ${e.message}`);
      reader.release();
      const bytes = answers.failure(e.reply ?? SOCKS_REPLY.GENERAL_FAILURE);
      if (bytes) local.end(bytes);
      else local.resetAndDestroy();
      if (e.reply === SOCKS_REPLY.NOT_ALLOWED) this.stats.refuse(record, 'not-allowed');
      else this.stats.fail(record);
      return;
    }
    if (local.destroyed) {
      upstream.socket.destroy();
      this.stats.fail(record);
      return;
    }
    const rest = reader.release();
    const ok = answers.success();
    if (ok) local.write(ok);
    const head = answers.head ? Buffer.concat([answers.head, rest]) : rest;
    const o = this.#options;
    const r = relay(local, upstream.socket, { headAtoB: head, headBtoA: upstream.early, ...(o.idleTimeoutMs !== undefined ? { idleTimeoutMs: o.idleTimeoutMs } : {}) });
    record.relay = r;
    this.emit('connection', record);
    const result = await r.done;
    if (result.outcome !== 'closed') this.#log(`#${record.id} ${record.peer} -> ${record.destination}: ${result.outcome}${result.error ? ` (${result.error})` : ''} after ${result.bytesAtoB} up, ${result.bytesBtoA} down`);
    this.stats.finish(record, result);
  }

  /** Stops the listeners and resets every connection still open. */
  async close(): Promise<void> {
    const closed = Promise.all(this.#servers.map((s) => new Promise((resolve) => s.close(resolve))));
    for (const s of this.#sockets) if (!s.destroyed) s.resetAndDestroy();
    await closed;
  }
}

/** Starts a proxy client: its local listeners are bound when this resolves. */
export async function startProxyClient(options: ProxyClientOptions): Promise<ProxyClient> {
  const client = new ProxyClient(options);
  try {
    await client.listen();
  } catch (err) {
    await client.close();
    throw err;
  }
  return client;
}
