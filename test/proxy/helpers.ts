/**
 * Shared by the proxy tests: bounded waits, and a proxy pair (our client proxy and our server proxy, each on
 * its own stack) joined by emulated links or UDP paths on loopback, with local node:net listeners.
 */
import { spawn } from 'node:child_process';
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

/** A `mptcp proxy` child process (run from the sources through tsx), bounded in time. */
export interface ProxyProcess {
  readonly child: import('node:child_process').ChildProcess;
  out(): string;
  err(): string;
  /** Resolves once stdout matches `pattern` (polling, bounded); rejects if the process exits first. */
  waitFor(pattern: RegExp, ms: number): Promise<RegExpMatchArray>;
  readonly exit: Promise<number | null>;
  kill(): void;
}

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;

export function spawnProxy(args: readonly string[], timeoutMs: number, spawnWith?: (argv: string[]) => import('node:child_process').ChildProcess): ProxyProcess {
  const argv = [process.execPath, '--import', 'tsx', MAIN, 'proxy', ...args];
  const child = spawnWith ? spawnWith(argv) : spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { out: '', err: '' };
  child.stdout!.on('data', (d: Buffer) => (output.out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output.err += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exit = new Promise<number | null>((resolve) => child.once('close', (code) => (clearTimeout(killer), resolve(code))));
  let exited = false;
  void exit.then(() => (exited = true));
  return {
    child,
    out: () => output.out,
    err: () => output.err,
    exit,
    async waitFor(re, ms) {
      for (const until = Date.now() + ms; ; await new Promise((r) => setTimeout(r, 25))) {
        const m = re.exec(output.out);
        if (m) return m;
        if (exited || Date.now() > until) throw new Error(`mptcp proxy ${exited ? 'exited' : 'was silent'} before ${re}: ${output.err}${output.out}`);
      }
    },
    kill: () => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')),
  };
}

/**
 * A UDP forwarder standing in for one network path between the two proxies: datagrams from the client's
 * path go to `to`, the answers back to the client's last address; it counts bytes, and `cut()` drops
 * everything from then on (a path that fails). With `rateBitsPerSecond`, each direction is a drop-tail
 * queue of `queueBytes` (default 256 KB) drained at that rate (a path of that capacity).
 */
export async function udpForwarder(
  listenHost: string,
  to: { address: string; port: number },
  options: { rateBitsPerSecond?: number; queueBytes?: number } = {},
): Promise<{ port: number; bytes(): number; cut(): void; close(): void }> {
  const { createSocket } = await import('node:dgram');
  const front = createSocket('udp4');
  const back = createSocket('udp4');
  let client: { address: string; port: number } | undefined;
  let bytes = 0;
  let up = true;
  const send = (sock: typeof front, m: Buffer, dest: { address: string; port: number }) => {
    bytes += m.length;
    sock.send(m, dest.port, dest.address);
  };
  const shaper = (sock: typeof front, dest: () => { address: string; port: number } | undefined) => {
    const rate = options.rateBitsPerSecond;
    if (rate === undefined) return (m: Buffer) => { const d = dest(); if (d) send(sock, m, d); };
    const limit = options.queueBytes ?? 256 * 1024;
    const queue: Buffer[] = [];
    let queued = 0;
    let nextFree = 0; // when the link is free again (ms, performance.now())
    let timer: NodeJS.Timeout | undefined;
    const drain = () => {
      timer = undefined;
      const now = performance.now();
      while (queue.length > 0 && nextFree <= now + 1) {
        const m = queue.shift()!;
        queued -= m.length;
        nextFree = Math.max(nextFree, now) + (m.length * 8 * 1000) / rate;
        const d = dest();
        if (d && up) send(sock, m, d);
      }
      if (queue.length > 0) timer = setTimeout(drain, Math.max(0, nextFree - now - 1));
    };
    return (m: Buffer) => {
      if (queued + m.length > limit) return; // drop-tail
      queue.push(m);
      queued += m.length;
      if (!timer) drain();
    };
  };
  const toServer = shaper(back, () => to);
  const toClient = shaper(front, () => client);
  front.on('message', (m, rinfo) => {
    client = { address: rinfo.address, port: rinfo.port };
    if (up) toServer(m);
  });
  back.on('message', (m) => {
    if (up) toClient(m);
  });
  await new Promise<void>((r) => front.bind(0, listenHost, r));
  await new Promise<void>((r) => back.bind(0, listenHost, r));
  for (const s of [front, back]) {
    s.setRecvBufferSize(4 << 20);
    s.setSendBufferSize(4 << 20);
  }
  return {
    port: front.address().port,
    bytes: () => bytes,
    cut: () => void (up = false),
    close: () => {
      up = false; // a queued datagram's timer must not send on a closed socket
      front.close();
      back.close();
    },
  };
}

/**
 * Asks a proxy for its statistics (SIGUSR1) until its output matches `pattern` (a connection may still be
 * closing when the application is done), a bounded number of times; throws if it never does.
 */
export async function statsUntil(proc: ProxyProcess, pattern: RegExp): Promise<void> {
  for (let i = 0; i < 50 && !pattern.test(proc.out()); i++) {
    proc.child.kill('SIGUSR1');
    await new Promise((r) => setTimeout(r, 200));
  }
  await proc.waitFor(pattern, 1000);
}
