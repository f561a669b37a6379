/**
 * Shared by the proxy tests: bounded waits, and a proxy pair (our client proxy and our server proxy, each on
 * its own stack) joined by emulated links or UDP paths on loopback, with local node:net listeners.
 */
import { createServer as netCreateServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { createEmulatedNetwork, createStack, type Stack } from '../../src/index.js';
import { AllowList } from '../../src/proxy/allow.js';
import { startProxyServer, type ProxyServer, type ProxyServerOptions } from '../../src/proxy/server.js';
import { startProxyClient, type ProxyClient, type ProxyClientOptions } from '../../src/proxy/client.js';

export function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function pattern(bytes: number, seed: number): Buffer {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

/** A node:net server on 127.0.0.1 (port chosen by the OS). */
export async function localServer(onConnection: (s: Socket) => void, options: { allowHalfOpen?: boolean } = {}): Promise<{ server: Server; port: number }> {
  const server = netCreateServer({ allowHalfOpen: options.allowHalfOpen ?? true }, (s) => {
    s.on('error', () => undefined); // a reset at the end of a test is expected
    onConnection(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port };
}

/** Connects with node:net and resolves once connected. */
export async function localConnect(port: number, host = '127.0.0.1'): Promise<Socket> {
  const s = netConnect({ port, host, allowHalfOpen: true });
  await once(s, 'connect');
  return s;
}

/** Reads `socket` to its end (or error): the bytes, and the error code if any. */
export function readAll(socket: Socket | NodeJS.ReadableStream): Promise<{ data: Buffer; error?: string }> {
  const chunks: Buffer[] = [];
  return new Promise((resolve) => {
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => resolve({ data: Buffer.concat(chunks) }));
    socket.on('error', (e: NodeJS.ErrnoException) => resolve({ data: Buffer.concat(chunks), error: e.code ?? e.message }));
  });
}

export interface ProxyPair {
  readonly clientStack: Stack;
  readonly serverStack: Stack;
  readonly server: ProxyServer;
  readonly client: ProxyClient;
  /** The client proxy's SOCKS/HTTP listener port (127.0.0.1), then its forwards'. */
  readonly ports: number[];
  /** Takes path `n` (0-based) down or up (emulated only). */
  readonly setPath: (n: number, up: boolean) => void;
  close(): Promise<void>;
}

/**
 * Our client proxy and our server proxy over `paths` emulated links (198.18.N.1 and 198.18.N.2, the client
 * joining from each extra path), the server proxy on 198.18.1.2:1080.
 */
export async function emulatedProxyPair(
  options: {
    paths?: number;
    allow?: readonly string[];
    server?: Partial<ProxyServerOptions>;
    client?: Partial<ProxyClientOptions>;
    rateBitsPerSecond?: number;
  } = {},
): Promise<ProxyPair> {
  const network = createEmulatedNetwork({ seed: 11 });
  const clientStack = createStack({ name: 'pclient', network, limits: 'subflows 4' });
  const serverStack = createStack({ name: 'pserver', network, limits: 'subflows 4' });
  const links: { setUp(up: boolean): void }[] = [];
  for (let n = 1; n <= (options.paths ?? 2); n++) {
    links.push(network.link({ stack: clientStack, address: `198.18.${n}.1/24` }, { stack: serverStack, address: `198.18.${n}.2/24` }, { rateBitsPerSecond: options.rateBitsPerSecond ?? 200e6, delayMicros: 1_000 }));
    if (n > 1) clientStack.addEndpoint(`198.18.${n}.1 subflow`);
  }
  const server = await startProxyServer({ stack: serverStack, port: 1080, allow: new AllowList(options.allow ?? ['127.0.0.0/8']), ...options.server });
  const client = await startProxyClient({ stack: clientStack, server: { host: '198.18.1.2', port: 1080 }, listen: [{ host: '127.0.0.1', port: 0 }], ...options.client });
  return {
    clientStack,
    serverStack,
    server,
    client,
    ports: client.addresses().map((a) => a.port),
    setPath: (n, up) => links[n]!.setUp(up),
    async close() {
      await client.close();
      await server.close();
      await network.close();
    },
  };
}
