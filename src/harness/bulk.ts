/**
 * A bulk-transfer scenario on the emulator: two hosts joined by a duplex link, one connection, `bytes` of
 * deterministic pseudo-random data sent one way (or both ways), SHA-256 of what was sent and of what was
 * received, on a `HostPair`. Also the pattern sources and the backpressured writer the demo and the
 * benchmarks share. Used by the transfer tests, the goodput benchmark and the demo. Virtual time only.
 */
import { createHash, type Hash } from 'node:crypto';
import type { Network } from '../emu/network.js';
import type { LinkConfig } from '../emu/link.js';
import type { Micros } from '../time/micros.js';
import type { HostConnectionEvent } from '../stack/host.js';
import { AppHost } from './host-app.js';
import { HostPair } from './pair.js';
import type { TcpConnection } from '../tcp/connection.js';
import type { TcpConfig, TcpError, TcpInfo } from '../tcp/types.js';

/** Deterministic pseudo-random bytes (xorshift32), produced in chunks, hashed as they are produced. */
export class PatternSource {
  private state: number;
  private produced = 0;
  readonly hash: Hash = createHash('sha256');

  private constant: Uint8Array | undefined;

  constructor(
    readonly total: number,
    seed = 0x9e3779b9,
    private readonly chunkBytes = 64 * 1024,
    /** Benchmarks: hand out one constant chunk, unhashed, so the source costs nothing. */
    private readonly unverified = false,
  ) {
    this.state = seed >>> 0 || 1;
  }

  get remaining(): number {
    return this.total - this.produced;
  }

  /** The next chunk (a fresh buffer: the stack keeps a reference to it until it is acknowledged). */
  next(): Uint8Array | undefined {
    const n = Math.min(this.chunkBytes, this.total - this.produced);
    if (n <= 0) return undefined;
    if (this.unverified) {
      this.constant ??= new Uint8Array(this.chunkBytes).fill(0x5a);
      this.produced += n;
      return this.constant.subarray(0, n);
    }
    const words = new Uint32Array(Math.ceil(n / 4));
    let x = this.state;
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words[i] = x;
    }
    this.state = x;
    const chunk = new Uint8Array(words.buffer, 0, n);
    this.hash.update(chunk);
    this.produced += n;
    return chunk;
  }
}

/**
 * Writes a chunk source (a `PatternSource`) into a connection with backpressure: what a write did not take is
 * offered first on the next `pump`; after the last byte the connection is shut down, once.
 */
export class SourceWriter {
  private pending: Uint8Array | undefined;
  private shutdownSent = false;

  constructor(readonly source: { next(): Uint8Array | undefined }) {}

  /** Writes as much as the connection takes; half-closes after the last byte. */
  pump(conn: { write(data: Uint8Array): number; shutdown(): void }): void {
    for (;;) {
      const chunk = this.pending ?? this.source.next();
      if (!chunk) break;
      const n = conn.write(chunk);
      if (n < chunk.length) {
        this.pending = chunk.subarray(n);
        return;
      }
      this.pending = undefined;
    }
    if (!this.shutdownSent) {
      this.shutdownSent = true;
      conn.shutdown();
    }
  }
}

/** One direction of a transfer: a source that writes with backpressure, a sink that reads and hashes. */
class Flow {
  readonly sinkHash: Hash = createHash('sha256');
  received = 0;
  finished = false;
  private readonly writer: SourceWriter;
  /** While true the reader does not read (to exercise zero windows). */
  paused = false;

  constructor(
    readonly source: PatternSource,
    private readonly verify = true,
  ) {
    this.writer = new SourceWriter(source);
  }

  /** Writes as much as the send buffer takes; half-closes after the last byte. */
  pump(conn: TcpConnection): void {
    this.writer.pump(conn);
  }

  drainReads(conn: TcpConnection): void {
    if (this.paused) return;
    for (let b = conn.read(); b; b = conn.read()) {
      if (this.verify) this.sinkHash.update(b);
      this.received += b.length;
    }
  }
}

/** Scenario parameters. */
export interface BulkOptions {
  readonly bytes: number;
  /** Also send `bytes` from server to client at the same time. */
  readonly bidirectional?: boolean;
  /** Link client->server and server->client (the latter defaults to the former). */
  readonly forward: LinkConfig;
  readonly backward?: LinkConfig;
  readonly seed?: number;
  readonly tcp?: TcpConfig;
  readonly serverTcp?: TcpConfig;
  readonly clientTcp?: TcpConfig;
  /** The server stops reading during [start, end) of virtual time (zero-window test). */
  readonly serverPause?: { readonly startMicros: Micros; readonly endMicros: Micros };
  /** Give up after this much virtual time (default 600 s) or this many events (default 50M). */
  readonly maxVirtualMicros?: Micros;
  readonly maxEvents?: number;
  /** Called with the network before the run (attach taps, schedule link changes). */
  readonly setup?: (network: Network) => void;
  /** Hash what is sent and received (default true). Benchmarks turn it off to measure the stack alone. */
  readonly verify?: boolean;
  /** Both hosts skip TCP checksums (see HostOptions.checksumOffload). */
  readonly checksumOffload?: boolean;
  /** Both hosts leave checksums to the emulator (HostOptions.deferChecksums; default true, as in HostPair). */
  readonly deferChecksums?: boolean;
}

/** What happened. */
export interface BulkResult {
  readonly completed: boolean;
  /** Virtual time from connect to the last byte read (both directions when bidirectional). */
  readonly durationMicros: Micros;
  readonly sentSha256: string;
  readonly receivedSha256: string;
  readonly receivedBytes: number;
  readonly reverseSentSha256?: string;
  readonly reverseReceivedSha256?: string;
  readonly reverseReceivedBytes?: number;
  readonly clientInfo?: TcpInfo;
  readonly serverInfo?: TcpInfo;
  readonly clientError?: TcpError;
  readonly serverError?: TcpError;
  readonly events: number;
  /** Both connections reached CLOSED or TIME-WAIT after the transfer (graceful close both ways). */
  readonly closedCleanly: boolean;
}

const SECRET_CLIENT = new Uint8Array(32).fill(1);
const SECRET_SERVER = new Uint8Array(32).fill(2);

/** Runs one bulk transfer between 198.18.0.1 (client) and 198.18.0.2 (server), port 5201. */
export function runBulkTransfer(options: BulkOptions): BulkResult {
  const offload = options.checksumOffload ?? false;
  const deferChecksums = options.deferChecksums ?? true;
  const verify = options.verify ?? true;
  const up = new Flow(new PatternSource(options.bytes, (options.seed ?? 1) * 7919, undefined, !verify), verify);
  const down = options.bidirectional
    ? new Flow(new PatternSource(options.bytes, (options.seed ?? 1) * 104729, undefined, !verify), verify)
    : undefined;
  let clientConn: TcpConnection | undefined;
  let serverConn: TcpConnection | undefined;
  let clientError: TcpError | undefined;
  let serverError: TcpError | undefined;
  let doneAt: Micros | undefined;
  const pause = options.serverPause;

  const checkDone = (now: Micros) => {
    if (doneAt === undefined && up.finished && (!down || down.finished)) doneAt = now;
  };

  const onClientEvent = (now: Micros, e: HostConnectionEvent): void => {
    if (e.type !== 'tcp') return;
    const c = e.connection;
    switch (e.event.type) {
      case 'established':
      case 'writable':
        up.pump(c);
        break;
      case 'readable':
        if (down) down.drainReads(c);
        break;
      case 'end':
        if (down) {
          down.drainReads(c);
          down.finished = true;
          checkDone(now);
        }
        break;
      case 'closed':
        clientError = e.event.error;
        break;
    }
  };
  const onServerEvent = (now: Micros, e: HostConnectionEvent): void => {
    if (e.type === 'connection') {
      serverConn = e.connection;
      if (down) down.pump(e.connection);
      return;
    }
    if (e.type !== 'tcp') return;
    const c = e.connection;
    switch (e.event.type) {
      case 'writable':
        if (down) down.pump(c);
        break;
      case 'readable':
        up.drainReads(c);
        break;
      case 'end':
        up.drainReads(c);
        if (!up.paused) {
          up.finished = true;
          if (!down) c.shutdown();
          checkDone(now);
        }
        break;
      case 'closed':
        serverError = e.event.error;
        break;
    }
  };
  const afterServerInput = (now: Micros): void => {
    if (!pause || !serverConn) return;
    const paused = now >= pause.startMicros && now < pause.endMicros;
    if (up.paused && !paused) {
      up.paused = false;
      up.drainReads(serverConn);
      if (serverConn.state === 'CLOSE-WAIT' && serverConn.readableBytes === 0 && !up.finished) {
        up.finished = true;
        if (!down) serverConn.shutdown();
        checkDone(now);
      }
    } else if (paused) up.paused = true;
  };

  const pair = new HostPair(
    {
      seed: options.seed ?? 1,
      client: { name: 'client', secret: SECRET_CLIENT, tcp: { ...options.tcp, ...options.clientTcp }, checksumOffload: offload, deferChecksums },
      server: { name: 'server', secret: SECRET_SERVER, tcp: { ...options.tcp, ...options.serverTcp }, checksumOffload: offload, deferChecksums },
      paths: [
        {
          clientAddress: '198.18.0.1/24',
          serverAddress: '198.18.0.2/24',
          mtu: options.forward.mtu ?? 1500,
          link: { config: options.forward, backward: options.backward ?? options.forward },
        },
      ],
    },
    {
      client: (host) => new AppHost(host, onClientEvent),
      server: (host) => new AppHost(host, onServerEvent, afterServerInput),
    },
  );
  const { net: network, clientHost, serverHost, server } = pair;
  options.setup?.(network);
  if (pause) {
    // Wake the server at the end of the pause so it resumes reading even if no packet arrives then.
    network.sim.schedule(pause.endMicros, () => {
      server.drain(network.sim.now);
      pair.wakeServer();
    });
    network.sim.schedule(pause.startMicros, () => server.drain(network.sim.now));
  }

  serverHost.listen(5201);
  const start = network.sim.now;
  clientConn = clientHost.connect(start, '198.18.0.2', 5201);
  pair.wakeClient();
  const maxTime = start + (options.maxVirtualMicros ?? 600_000_000);
  pair.driveBounded(maxTime, options.maxEvents ?? 50_000_000);

  const closedCleanly = [clientConn, serverConn].every((x) => x !== undefined && (x.state === 'CLOSED' || x.state === 'TIME-WAIT'));
  return {
    completed: doneAt !== undefined,
    durationMicros: (doneAt ?? network.sim.now) - start,
    sentSha256: up.source.hash.digest('hex'),
    receivedSha256: up.sinkHash.digest('hex'),
    receivedBytes: up.received,
    ...(down
      ? { reverseSentSha256: down.source.hash.digest('hex'), reverseReceivedSha256: down.sinkHash.digest('hex'), reverseReceivedBytes: down.received }
      : {}),
    clientInfo: clientConn.info(),
    serverInfo: serverConn?.info(),
    clientError,
    serverError,
    events: network.sim.eventsProcessed,
    closedCleanly,
  };
}
