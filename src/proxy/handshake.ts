/**
 * The proxy handshakes on a socket, before relaying: reading messages with the pure parsers of ./socks5.ts
 * and ./http-proxy.ts, bounded in bytes and time, and answering. Three of them:
 * - `acceptSocks`: the SOCKS 5 server side (our proxy server; the proxy client's local listener);
 * - `acceptHttp`: an HTTP proxy request (the proxy client's local listener);
 * - `requestSocks`: the SOCKS 5 client side (the proxy client asking the server for a destination).
 * Nothing here throws on bad input: a malformed message is answered (the SOCKS reply code, an HTTP status)
 * and the socket is ended; the caller gets `undefined`, or a `HandshakeError` for a dead peer or timeout.
 */
import type { Duplex } from 'node:stream';
import { timingSafeEqual } from 'node:crypto';
import {
  encodeAuthReply,
  encodeAuthRequest,
  encodeConnectRequest,
  encodeGreeting,
  encodeMethodChoice,
  encodeReply,
  parseAuthReply,
  parseAuthRequest,
  parseGreeting,
  parseMethodChoice,
  parseReply,
  parseRequest,
  SOCKS,
  SOCKS_REPLY,
  type SocksCredentials,
  type SocksDestination,
} from './socks5.js';
import { encodeHttpResponse, parseProxyRequest, type HttpProxyRequest } from './http-proxy.js';

/** The peer went away, sent too much, or was too slow during a handshake. */
export class HandshakeError extends Error {}

/** The most bytes a handshake may buffer before its message is complete (an HTTP head is the largest). */
const MAX_BUFFERED = 17 * 1024;

/** Reads whole messages off a socket; `release()` hands the socket (paused) and what is left to the relay. */
export class MessageReader {
  private buffer: Uint8Array = new Uint8Array(0);
  private waiter: (() => void) | undefined;
  private failure: HandshakeError | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: Duplex,
    timeoutMs: number,
  ) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onEnd);
    if (timeoutMs > 0) {
      this.timer = setTimeout(() => this.fail(new HandshakeError(`no complete handshake within ${timeoutMs} ms`)), timeoutMs);
      this.timer.unref();
    }
  }

  private readonly onData = (chunk: Buffer): void => {
    const merged = new Uint8Array(this.buffer.length + chunk.length);
    merged.set(this.buffer);
    merged.set(chunk, this.buffer.length);
    this.buffer = merged;
    if (this.buffer.length > MAX_BUFFERED) {
      // Bounded: no more reading until the relay takes over (its resume); a handshake waiting for more fails.
      this.socket.pause();
      this.fail(new HandshakeError(`more than ${MAX_BUFFERED} bytes before the handshake completed`));
    }
    this.waiter?.();
  };
  private readonly onEnd = (): void => this.fail(new HandshakeError('the peer closed during the handshake'));
  private readonly onError = (err: NodeJS.ErrnoException): void => this.fail(new HandshakeError(`${err.code ?? err.message} during the handshake`));

  private fail(err: HandshakeError): void {
    this.failure ??= err;
    this.waiter?.();
  }

  /** The next message, parsed by `parse` (its bytes consumed on success), or the parser's error. Rejects with HandshakeError. */
  async next<R extends { kind: 'incomplete' } | { kind: 'error' } | { kind: 'ok'; consumed: number }>(parse: (bytes: Uint8Array) => R): Promise<Exclude<R, { kind: 'incomplete' }>> {
    for (;;) {
      const r = parse(this.buffer);
      if (r.kind === 'ok') {
        this.buffer = this.buffer.subarray((r as { consumed: number }).consumed);
        return r as Exclude<R, { kind: 'incomplete' }>;
      }
      if (r.kind === 'error') return r as Exclude<R, { kind: 'incomplete' }>;
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => (this.waiter = resolve));
      this.waiter = undefined;
    }
  }

  /** The first byte, without consuming it (which protocol a client speaks). */
  async peek(): Promise<number> {
    const r = await this.next((b) => (b.length > 0 ? { kind: 'ok' as const, value: b[0]!, consumed: 0 } : { kind: 'incomplete' as const }));
    return (r as { value: number }).value;
  }

  /** Stops reading: the socket is paused with its listeners removed; returns the bytes read beyond the handshake. */
  release(): Uint8Array {
    if (this.timer) clearTimeout(this.timer);
    this.socket.pause();
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('error', this.onError);
    this.socket.off('close', this.onEnd);
    // A socket with no 'error' listener would crash the process: keep a quiet one until the relay's.
    this.socket.on('error', () => undefined);
    return this.buffer;
  }
}

/** Compares credentials in constant time (per field, over the longer length). */
export function credentialsMatch(expected: SocksCredentials, given: SocksCredentials): boolean {
  const eq = (x: string, y: string): boolean => {
    const a = Buffer.from(x);
    const b = Buffer.from(y);
    const n = Math.max(a.length, b.length, 1);
    const pa = Buffer.alloc(n);
    const pb = Buffer.alloc(n);
    a.copy(pa);
    b.copy(pb);
    return timingSafeEqual(pa, pb) && a.length === b.length;
  };
  return eq(expected.username, given.username) && eq(expected.password, given.password);
}

/** What the SOCKS server side learned: the destination, or why it gave up (already answered). */
export type SocksAccept = { readonly ok: true; readonly destination: SocksDestination } | { readonly ok: false; readonly why: string };

/**
 * The SOCKS 5 server side up to the request: method negotiation (no-auth, or RFC 1929 when `credentials`
 * are set: then no-auth is refused with 0xff), authentication, the CONNECT request. A bad message gets its
 * reply (0x07, 0x08, 0x01...) and the socket is ended. The caller answers a good request (`encodeReply`).
 */
export async function acceptSocks(reader: MessageReader, socket: Duplex, credentials: SocksCredentials | undefined): Promise<SocksAccept> {
  const refuse = (why: string, bytes?: Uint8Array): SocksAccept => {
    if (bytes) socket.end(bytes);
    else socket.end();
    return { ok: false, why };
  };
  const greeting = await reader.next(parseGreeting);
  if (greeting.kind === 'error') return refuse(greeting.message);
  const wanted = credentials ? SOCKS.METHOD_USERPASS : SOCKS.METHOD_NO_AUTH;
  if (!greeting.value.methods.includes(wanted)) {
    return refuse(credentials ? 'client does not offer username/password authentication' : 'client does not offer "no authentication"', encodeMethodChoice(SOCKS.METHOD_NONE_ACCEPTABLE));
  }
  socket.write(encodeMethodChoice(wanted));
  if (credentials) {
    const auth = await reader.next(parseAuthRequest);
    if (auth.kind === 'error') return refuse(auth.message);
    if (!credentialsMatch(credentials, auth.value)) return refuse(`bad username or password (user '${auth.value.username.slice(0, 64)}')`, encodeAuthReply(false));
    socket.write(encodeAuthReply(true));
  }
  const request = await reader.next(parseRequest);
  if (request.kind === 'error') return refuse(request.message, request.reply === undefined ? undefined : encodeReply(request.reply));
  return { ok: true, destination: request.value.destination };
}

/** What the HTTP side learned: the request, or why it gave up (already answered with a status). */
export type HttpAccept = { readonly ok: true; readonly request: HttpProxyRequest } | { readonly ok: false; readonly why: string };

/**
 * Reads an HTTP proxy request head; a bad one is answered with its status and the socket ended. With
 * `credentials`, a request without the matching `Proxy-Authorization: Basic` gets 407.
 */
export async function acceptHttp(reader: MessageReader, socket: Duplex, credentials: SocksCredentials | undefined): Promise<HttpAccept> {
  const r = await reader.next(parseProxyRequest);
  if (r.kind === 'error') {
    socket.end(encodeHttpResponse(r.status));
    return { ok: false, why: r.message };
  }
  if (credentials) {
    const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(r.value.proxyAuthorization ?? '');
    const text = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
    const colon = text.indexOf(':');
    const given = { username: text.slice(0, Math.max(colon, 0)), password: text.slice(colon + 1) };
    if (colon < 0 || !credentialsMatch(credentials, given)) {
      socket.end(encodeHttpResponse(407, ['Proxy-Authenticate: Basic realm="mptcp proxy"']));
      return { ok: false, why: 'missing or bad Proxy-Authorization' };
    }
  }
  return { ok: true, request: r.value };
}

/** The HTTP status for a SOCKS reply code of the server (what the HTTP client is told). */
export function httpStatusForSocksReply(rep: number): number {
  if (rep === SOCKS_REPLY.SUCCEEDED) return 200;
  if (rep === SOCKS_REPLY.NOT_ALLOWED) return 403;
  if (rep === SOCKS_REPLY.TTL_EXPIRED) return 504;
  return 502;
}

/**
 * The SOCKS 5 client side on an open connection to a proxy server: greeting, authentication when
 * `credentials` are given, CONNECT `destination`; resolves with the server's reply code (0: connected).
 * Throws HandshakeError when the server breaks the protocol or goes away.
 */
export async function requestSocks(reader: MessageReader, socket: Duplex, destination: SocksDestination, credentials: SocksCredentials | undefined): Promise<number> {
  socket.write(encodeGreeting(credentials !== undefined));
  const method = await reader.next(parseMethodChoice);
  if (method.kind === 'error') throw new HandshakeError(method.message);
  if (method.value === SOCKS.METHOD_USERPASS && credentials) {
    socket.write(encodeAuthRequest(credentials));
    const auth = await reader.next(parseAuthReply);
    if (auth.kind === 'error') throw new HandshakeError(auth.message);
    if (!auth.value) throw new HandshakeError('the server rejected our username and password');
  } else if (method.value !== SOCKS.METHOD_NO_AUTH) {
    throw new HandshakeError(method.value === SOCKS.METHOD_NONE_ACCEPTABLE ? `the server accepts none of our authentication methods${credentials ? '' : ' (does it need --server-auth?)'}` : `the server chose method 0x${method.value.toString(16)}, which we did not offer`);
  }
  socket.write(encodeConnectRequest(destination));
  const reply = await reader.next(parseReply);
  if (reply.kind === 'error') throw new HandshakeError(reply.message);
  return reply.value.reply;
}
