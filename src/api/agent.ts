/**
 * `http.Agent` and `https.Agent` whose connections are MPTCP connections of a `Stack`, so Node's own
 * `http.request` / `https.request` / `fetch`-free clients run unchanged over several paths:
 *
 * ```js
 * const agent = new MptcpAgent(stack, { keepAlive: true });
 * http.get({ host: '198.18.1.2', port: 80, path: '/', agent }, (res) => res.pipe(process.stdout));
 * ```
 *
 * The sockets are `MptcpSocket`s (a `stream.Duplex` with net.Socket's surface); for HTTPS the agent wraps
 * each in `tls.connect({ socket })`, so certificates are checked as usual (`ca`, `servername`, ...).
 * Names are not resolved by the stack: give `host` as an IP address (or set `lookup` yourself first).
 */
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Stack } from './stack.js';

function connectOn(stack: Stack, options: http.ClientRequestArgs): ReturnType<Stack['connect']> {
  return stack.connect({
    host: options.host ?? options.hostname ?? '',
    port: Number(options.port ?? options.defaultPort),
    ...(options.localAddress ? { localAddress: options.localAddress } : {}),
  });
}

/** An http.Agent on a stack: every connection is opened with `stack.connect` (MPTCP by default). */
export class MptcpAgent extends http.Agent {
  constructor(
    readonly stack: Stack,
    options?: http.AgentOptions,
  ) {
    super(options);
  }

  /** Node calls this for each new connection of the agent. */
  override createConnection(options: http.ClientRequestArgs, callback?: (err: Error | null, socket: Duplex) => void): Duplex {
    const socket = connectOn(this.stack, options);
    if (callback) socket.once('connect', () => callback(null, socket));
    return socket;
  }
}

/** An https.Agent on a stack: TLS (`tls.connect({ socket })`) over each MPTCP connection. */
export class MptcpHttpsAgent extends https.Agent {
  constructor(
    readonly stack: Stack,
    options?: https.AgentOptions,
  ) {
    super(options);
  }

  /** Node calls this for each new connection of the agent. */
  override createConnection(options: https.RequestOptions, callback?: (err: Error | null, socket: Duplex) => void): Duplex {
    const host = options.host ?? options.hostname ?? '';
    // SNI names a host, never an address (RFC 6066 section 3).
    const servername = options.servername ?? (isIP(host) === 0 ? host : undefined);
    const socket = tls.connect({ ...(options as tls.ConnectionOptions), ...(servername !== undefined ? { servername } : {}), socket: connectOn(this.stack, options) });
    if (callback) socket.once('secureConnect', () => callback(null, socket));
    return socket;
  }
}
