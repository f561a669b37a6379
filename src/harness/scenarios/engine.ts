/**
 * The suite's building blocks on the emulator: links from `PathDef`s, a client and a server of this stack
 * over one link per path (`HostPair`) with a policy (scheduler and congestion controller) on both, readers
 * that count and hash what arrives (and bin it in time for goodput), and the outages of a path. Virtual
 * time, seeded; each run depends only on its definition, its policy and its seed.
 */
import { createHash, type Hash } from 'node:crypto';
import type { LinkConfig } from '../../emu/link.js';
import type { DeliveryTrace } from '../../emu/trace.js';
import type { DuplexLink } from '../../emu/network.js';
import { MptcpConnection, type StreamConnection } from '../../mptcp/connection.js';
import type { Host } from '../../stack/host.js';
import type { TcpConfig } from '../../tcp/types.js';
import type { Micros } from '../../time/micros.js';
import { PatternSource, SourceWriter } from '../bulk.js';
import { MptcpApp, type AppEvent } from '../host-app.js';
import { HostPair } from '../pair.js';
import type { Outage, PathDef, Policy, SuiteEnvironment } from './types.js';

/** Client address of path i (the server's is .1). */
export const clientAddress = (i: number): string => `198.18.${i + 1}.2`;
export const serverAddress = (i: number): string => `198.18.${i + 1}.1`;
export const PORT = 5201;

/** A trace started `offset` µs into its period (so seeds see different stretches of it). */
function rotate(trace: DeliveryTrace, offset: Micros): DeliveryTrace {
  const period = trace.periodMicros;
  const shift = offset % period;
  if (shift === 0) return trace;
  const n = trace.opportunitiesMicros.length;
  const out = new Float64Array(n);
  let k = 0;
  for (let i = 0; i < n; i++) if (trace.opportunitiesMicros[i]! >= shift) out[k++] = trace.opportunitiesMicros[i]! - shift;
  for (let i = 0; i < n && k < n; i++) if (trace.opportunitiesMicros[i]! < shift) out[k++] = trace.opportunitiesMicros[i]! - shift + period;
  return { opportunitiesMicros: out, periodMicros: period, bytesPerOpportunity: trace.bytesPerOpportunity };
}

/** Traces the paths name that the environment does not have (the scenario is skipped when any is missing). */
export function missingTraces(paths: readonly PathDef[], env: SuiteEnvironment): string[] {
  const out: string[] = [];
  for (const p of paths) if (p.trace) for (const f of [p.trace.down, p.trace.up]) if (env.loadTrace(f) === undefined) out.push(f);
  return out;
}

/** The link config of one direction of a path (`down`: server to client). Seeds rotate traces by a second each. */
export function linkOf(path: PathDef, direction: 'down' | 'up', env: SuiteEnvironment, seed: number): LinkConfig {
  let capacity: LinkConfig;
  if (path.trace) {
    const name = direction === 'down' ? path.trace.down : path.trace.up;
    const trace = env.loadTrace(name);
    if (trace === undefined) throw new Error(`trace ${name} is missing`);
    capacity = { trace: rotate(trace, seed * 1_000_000) };
  } else {
    capacity = { rateBitsPerSecond: (path.rateMbps ?? Infinity) * 1e6 };
  }
  return {
    ...capacity,
    delayMicros: Math.round(path.delayMs * 1000),
    ...(path.loss ? { loss: path.loss } : {}),
    ...(path.queueBytes !== undefined ? { queueLimitBytes: path.queueBytes } : {}),
    ...(path.queuePackets !== undefined ? { queueLimitPackets: path.queuePackets } : {}),
  };
}

/** What one end's application got: bytes read, their SHA-256, when the stream ended, bytes per time bin. */
export class Reader {
  received = 0;
  endedAt: Micros | undefined;
  private readonly hash: Hash | undefined;
  /** Bytes read per `binMicros` of virtual time (when binning). */
  readonly bins: number[] = [];

  constructor(
    hashing: boolean,
    private readonly binMicros = 0,
  ) {
    this.hash = hashing ? createHash('sha256') : undefined;
  }

  /** Reads everything readable. */
  drain(c: StreamConnection, now: Micros): void {
    for (let b = c.read(); b; b = c.read()) {
      this.hash?.update(b);
      this.received += b.length;
      if (this.binMicros > 0) {
        const i = Math.floor(now / this.binMicros);
        while (this.bins.length <= i) this.bins.push(0);
        this.bins[i]! += b.length;
      }
    }
  }

  digest(): string {
    return this.hash?.digest('hex') ?? '';
  }
}

/** One end's writer: `bytes` of pattern data (Infinity: without end, unhashed), then a shutdown. */
export class Writer {
  readonly source: PatternSource;
  private readonly writer: SourceWriter;

  constructor(bytes: number, seed: number) {
    const endless = !Number.isFinite(bytes);
    this.source = new PatternSource(endless ? Number.MAX_SAFE_INTEGER : bytes, seed, 64 * 1024, endless);
    this.writer = new SourceWriter(this.source);
  }

  pump(c: StreamConnection): void {
    this.writer.pump(c);
  }

  digest(): string {
    return this.source.hash.digest('hex');
  }
}

/** An application end: called on every event of its connection(s). */
export type EndHandler = (c: StreamConnection, e: AppEvent, now: Micros) => void;

/** How `twoHosts` builds a run. */
export interface TwoHostOptions {
  readonly seed: number;
  readonly paths: readonly PathDef[];
  readonly env: SuiteEnvironment;
  readonly policy: Policy;
  /** MPTCP (every path joined by a client `subflow` endpoint) or plain TCP over path 0 alone. */
  readonly mptcp: boolean;
  readonly tcp?: TcpConfig;
  readonly onClient: EndHandler;
  readonly onServer: EndHandler;
}

/** A running two-host scenario. */
export interface TwoHosts {
  readonly pair: HostPair<MptcpApp, MptcpApp>;
  readonly client: StreamConnection;
  readonly links: readonly DuplexLink[];
  /** The server's accepted connection, once accepted. */
  server(): StreamConnection | undefined;
}

/** Scheduler and controller on a host (the controller through its connections' TCP config). */
function applyScheduler(host: Host, policy: Policy): void {
  host.setMptcpScheduler(policy.scheduler);
}

/** Client and server over one link per path (plain TCP: path 0 only), started: the client connects at once. */
export function twoHosts(o: TwoHostOptions): TwoHosts {
  const paths = o.mptcp ? o.paths : o.paths.slice(0, 1);
  const tcp: TcpConfig = { ...o.tcp, congestionControl: o.policy.cc };
  let server: StreamConnection | undefined;
  const pair = new HostPair(
    {
      seed: o.seed,
      names: ['client', 'server'],
      client: { name: 'client', secret: new Uint8Array(32).fill(21), tcp },
      server: { name: 'server', secret: new Uint8Array(32).fill(22), tcp },
      paths: paths.map((p, i) => ({
        clientAddress: `${clientAddress(i)}/24`,
        serverAddress: `${serverAddress(i)}/24`,
        link: { name: `path${i}`, forward: linkOf(p, 'up', o.env, o.seed), backward: linkOf(p, 'down', o.env, o.seed) },
      })),
      setUp: (clientHost, serverHost) => {
        if (!o.mptcp) return;
        applyScheduler(clientHost, o.policy);
        applyScheduler(serverHost, o.policy);
        const extra = paths.length - 1;
        clientHost.setMptcpLimits(`subflows ${extra}`);
        serverHost.setMptcpLimits(`subflows ${extra}`);
        if (extra > 0) clientHost.setMptcpEndpoints(paths.slice(1).map((_, i) => `${clientAddress(i + 1)} id ${i + 2} subflow`));
      },
    },
    {
      client: (host) => new MptcpApp(host, (c, e, now) => o.onClient(c, e, now), { tcpEvents: true }),
      server: (host) =>
        new MptcpApp(
          host,
          (c, e, now) => {
            if (e === 'accepted') server = c;
            o.onServer(c, e, now);
          },
          { tcpEvents: true },
        ),
    },
  );
  pair.serverHost.listen(PORT, { mptcp: o.mptcp });
  const client = o.mptcp
    ? pair.clientHost.connect(pair.now, serverAddress(0), PORT, { mptcp: true })
    : pair.clientHost.connect(pair.now, serverAddress(0), PORT);
  pair.wakeClient();
  return { pair, client, links: pair.paths, server: () => server };
}

/**
 * The subflows of an MPTCP connection on path `i`, by the client's address (the server's end of a join has
 * the server's first address whatever path it is on: the client joins to 198.18.1.1 from each of its own).
 */
export function subflowsOnPath(c: StreamConnection | undefined, i: number) {
  if (!(c instanceof MptcpConnection)) return [];
  return c.subflows().filter((s) => formatV4(c.server ? s.tcp.endpoints.remoteAddress : s.tcp.endpoints.localAddress) === clientAddress(i));
}

const formatV4 = (a: Uint8Array): string => Array.from(a).join('.');

/** Schedules a path's outages (down, silent, reset) on a running two-host scenario. */
export function scheduleOutages(run: TwoHosts, pathIndex: number, outages: readonly Outage[]): void {
  const link = run.links[pathIndex];
  if (link === undefined) return;
  const sim = run.pair.net.sim;
  const both = (f: (l: DuplexLink['forward']) => void) => {
    f(link.forward);
    f(link.backward);
  };
  for (const o of outages) {
    const at = Math.round(o.atMs * 1000);
    if (o.kind === 'reset') {
      sim.schedule(at, () => {
        for (const s of subflowsOnPath(run.server(), pathIndex)) if (s.join) s.tcp.abort();
        run.pair.wakeServer();
      });
      continue;
    }
    sim.schedule(at, () => both((l) => (o.kind === 'down' ? l.setState('down') : l.setFilter(() => false))));
    if (o.untilMs !== undefined) {
      sim.schedule(Math.round(o.untilMs * 1000), () => both((l) => (o.kind === 'down' ? l.setState('up') : l.setFilter(undefined))));
    }
  }
}

/** Data bytes every subflow of both ends sent (first transmissions and copies), or the TCP bytes sent. */
export function wireDataBytes(c: StreamConnection | undefined): number {
  if (c instanceof MptcpConnection) return c.subflowInfo().reduce((n, s) => n + s.tcp.bytesSent + s.tcp.bytesRetransmitted, 0);
  const i = c?.info();
  return i ? i.bytesSent + i.bytesRetransmitted : 0;
}

/** The value at quantile q (nearest rank) of some numbers. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

/** A number rounded to `digits` decimals (the table's and the JSON's precision, so reruns compare equal). */
export const round = (x: number, digits = 3): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};
