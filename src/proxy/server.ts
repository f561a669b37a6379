/**
 * `mptcp proxy server`: a SOCKS 5 server on our stack. It accepts MPTCP connections (and plain TCP ones, a
 * client without MPTCP: RFC 8684 3.7 fallback) on a `Stack` (the public library: TUN devices to kernel
 * peers or UDP paths to another of ours), speaks SOCKS 5 on them (./handshake.ts), and connects to the
 * destination with the host's own TCP (node:net), only inside the `--allow` ruleset (./allow.ts):
 * refused destinations get reply 0x02, "connection not allowed by ruleset". A name is resolved by the host's
 * resolver and the first allowed address is connected to (the check is on the address, after resolution).
 * Then ./relay.ts relays, with half-close, reset and back-pressure carried across.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { EventEmitter } from 'node:events';
import type { Stack } from '../api/stack.js';
import type { MptcpServer, MptcpSocket } from '../api/socket.js';
import type { AllowList } from './allow.js';
import { acceptSocks, MessageReader } from './handshake.js';
import { relay } from './relay.js';
import { encodeReply, SOCKS_REPLY, socksReplyText, type SocksCredentials, type SocksDestination } from './socks5.js';
import { ProxyStats, type ConnectionRecord } from './stats.js';

/** The defaults of the limits, shared by both sides. */
export const PROXY_DEFAULTS = {
  maxConnections: 1024,
  handshakeTimeoutMs: 10_000,
  connectTimeoutMs: 10_000,
} as const;

/** Resolves a name to addresses, in preference order (default: the host's resolver, `dns.lookup`). */
export type Resolver = (host: string) => Promise<readonly { address: string; family: number }[]>;

/** Options of `startProxyServer`. */
export interface ProxyServerOptions {
  /** The stack to listen on (its interfaces, MPTCP endpoints and limits already set). */
  readonly stack: Stack;
  readonly port: number;
  /** Listen on this address of the stack only; default all. */
  readonly host?: string;
  /** Where connections may go. Empty: nothing (every request gets 0x02). */
  readonly allow: AllowList;
  /** Require RFC 1929 username/password; default none ("no authentication"). */
  readonly credentials?: SocksCredentials;
  /** Most connections at once (handshaking or relaying); beyond it a request gets 0x01 and a log line. */
  readonly maxConnections?: number;
  /** Close a relayed connection after this many idle milliseconds; default never. */
  readonly idleTimeoutMs?: number;
  readonly handshakeTimeoutMs?: number;
  /** Give up connecting to a destination after this long (reply 0x04, host unreachable). */
  readonly connectTimeoutMs?: number;
  readonly resolver?: Resolver;
  /** One line per notable event (refusals, failures); default none. */
  readonly log?: (line: string) => void;
}

const defaultResolver: Resolver = (host) => dnsLookup(host, { all: true, verbatim: true });

/** The SOCKS reply for a failed connect to the destination. */
export function replyForConnectError(code: string | undefined): number {
  switch (code) {
    case 'ECONNREFUSED':
      return SOCKS_REPLY.CONNECTION_REFUSED;
    case 'ENETUNREACH':
      return SOCKS_REPLY.NETWORK_UNREACHABLE;
    case 'EHOSTUNREACH':
    case 'ETIMEDOUT':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return SOCKS_REPLY.HOST_UNREACHABLE;
    default:
      return SOCKS_REPLY.GENERAL_FAILURE;
  }
}

function endpointText(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A running proxy server. Events: 'connection' (a record), 'log' (a line). */
export class ProxyServer extends EventEmitter {
  readonly stats = new ProxyStats();
  readonly #server: MptcpServer;
  readonly #options: ProxyServerOptions;
  readonly #sockets = new Set<MptcpSocket | Socket>();

  /** Use `startProxyServer`. */
  constructor(options: ProxyServerOptions, server: MptcpServer) {
    super();
    this.#options = options;
    this.#server = server;
    server.on('connection', (socket: MptcpSocket) => void this.#handle(socket));
  }

  /** The address and port listened on. */
  address(): { address: string; port: number } | null {
    return this.#server.address();
  }

  #log(line: string): void {
    this.#options.log?.(line);
  }

  #track<T extends MptcpSocket | Socket>(s: T): T {
    this.#sockets.add(s);
    s.once('close', () => this.#sockets.delete(s));
    return s;
  }

  async #handle(socket: MptcpSocket): Promise<void> {
    this.#track(socket);
    const o = this.#options;
    const record = this.stats.begin('server', endpointText(socket.remoteAddress, socket.remotePort));
    record.mptcp = socket;
    const overLimit = this.stats.open.size > (o.maxConnections ?? PROXY_DEFAULTS.maxConnections);
    const reader = new MessageReader(socket, o.handshakeTimeoutMs ?? PROXY_DEFAULTS.handshakeTimeoutMs);
    let accepted;
    try {
      accepted = await acceptSocks(reader, socket, o.credentials);
    } catch (err) {
      this.#log(`#${record.id} ${record.peer}: ${(err as Error).message}`);
      socket.destroy();
      this.stats.fail(record);
      return;
    }
    if (!accepted.ok) {
      this.#log(`#${record.id} ${record.peer}: refused: ${accepted.why}`);
      this.stats.refuse(record, /password|authentication/.test(accepted.why) ? 'auth' : 'bad-request');
      return;
    }
    const dest = accepted.destination;
    record.destination = endpointText(dest.host, dest.port);
    const answer = (rep: number, why: string): void => {
      this.#log(`#${record.id} ${record.peer} -> ${record.destination}: ${socksReplyText(rep)}${why ? `: ${why}` : ''}`);
      reader.release();
      socket.end(encodeReply(rep));
    };
    if (overLimit) {
      answer(SOCKS_REPLY.GENERAL_FAILURE, `over the limit of ${o.maxConnections ?? PROXY_DEFAULTS.maxConnections} connections`);
      this.stats.refuse(record, 'limit');
      return;
    }
    const target = await this.#resolve(dest);
    if (typeof target === 'number') {
      answer(target, target === SOCKS_REPLY.NOT_ALLOWED ? `not in --allow (${o.allow.rules.length === 0 ? 'no rules' : o.allow.describe()})` : 'cannot resolve the name');
      if (target === SOCKS_REPLY.NOT_ALLOWED) this.stats.refuse(record, 'not-allowed');
      else this.stats.fail(record);
      return;
    }
    if (socket.destroyed) {
      this.stats.fail(record);
      return;
    }
    let outbound: Socket;
    try {
      outbound = await this.#connect(target, dest.port);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      answer(replyForConnectError(e.code), e.code ?? e.message);
      this.stats.fail(record);
      return;
    }
    if (socket.destroyed) {
      outbound.destroy();
      this.stats.fail(record);
      return;
    }
    const head = reader.release();
    socket.write(encodeReply(SOCKS_REPLY.SUCCEEDED, { host: outbound.localAddress ?? '0.0.0.0', port: outbound.localPort ?? 0 }));
    const r = relay(socket, outbound, { headAtoB: head, ...(o.idleTimeoutMs !== undefined ? { idleTimeoutMs: o.idleTimeoutMs } : {}) });
    record.relay = r;
    this.emit('connection', record);
    const result = await r.done;
    if (result.outcome !== 'closed') this.#log(`#${record.id} ${record.peer} -> ${record.destination}: ${result.outcome}${result.error ? ` (${result.error})` : ''} after ${result.bytesAtoB} up, ${result.bytesBtoA} down`);
    this.stats.finish(record, result);
  }

  /** The address to connect to, or the SOCKS reply code of the refusal. */
  async #resolve(dest: SocksDestination): Promise<string | number> {
    const allow = this.#options.allow;
    if (isIP(dest.host) !== 0) return allow.match(dest.host, dest.port) ? dest.host : SOCKS_REPLY.NOT_ALLOWED;
    let addresses: readonly { address: string }[];
    try {
      addresses = await (this.#options.resolver ?? defaultResolver)(dest.host);
    } catch {
      return SOCKS_REPLY.HOST_UNREACHABLE;
    }
    if (addresses.length === 0) return SOCKS_REPLY.HOST_UNREACHABLE;
    return addresses.find((a) => allow.match(a.address, dest.port))?.address ?? SOCKS_REPLY.NOT_ALLOWED;
  }

  #connect(address: string, port: number): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s = this.#track(netConnect({ host: address, port, allowHalfOpen: true }));
      const timeoutMs = this.#options.connectTimeoutMs ?? PROXY_DEFAULTS.connectTimeoutMs;
      const timer = setTimeout(() => {
        s.destroy();
        reject(Object.assign(new Error(`no connection to ${endpointText(address, port)} within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  /** Stops listening and resets every connection still open. */
  async close(): Promise<void> {
    this.#server.close();
    for (const s of this.#sockets) if (!s.destroyed) s.resetAndDestroy();
  }
}

/** Starts a proxy server on `options.stack`; resolves once listening. */
export async function startProxyServer(options: ProxyServerOptions): Promise<ProxyServer> {
  const server = options.stack.createServer({ noDelay: true });
  const proxy = new ProxyServer(options, server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: options.port, ...(options.host !== undefined ? { host: options.host } : {}) }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return proxy;
}
