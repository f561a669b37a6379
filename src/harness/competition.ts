/**
 * Goodput of bulk flows that compete on the emulator, for the congestion-control goals of RFC 6356 section 2
 * (issue 9): "improve throughput" (a multipath flow should do at least as well as a single-path flow on the
 * best of its paths: `disjointPaths`) and "do no harm" (a multipath flow should take no more capacity on a
 * shared bottleneck than a single-path flow would: `sharedBottleneck`). Each sender writes for the whole run;
 * the receiver counts what its application reads after a warm-up. Virtual time, seeded, bounded; both ends
 * this stack.
 *
 * Shared bottleneck: an MPTCP client with two interfaces (198.18.1.2 and 198.18.2.2; it joins from the second)
 * and a plain TCP client (198.18.3.2) reach the server (198.18.9.1) through one router; the router's link to
 * the server is the bottleneck both subflows and the TCP connection cross (the access links are fast).
 * Disjoint paths: one client and one server joined by one direct link per path (as `scenario()`'s paths:
 * 198.18.<i+1>.2 and .1), and either an MPTCP connection over all of them or plain TCP over one.
 */
import { Network, type EmuHost } from '../emu/network.js';
import { Router, routeByDestination } from '../emu/hosts.js';
import type { LinkConfig } from '../emu/link.js';
import { Host } from '../stack/host.js';
import { MptcpConnection, type StreamConnection } from '../mptcp/connection.js';
import type { TcpConfig } from '../tcp/types.js';
import type { Micros } from '../time/micros.js';
import { MptcpApp } from './host-app.js';

/** Timing and seed of a run. */
export interface CompetitionTiming {
  /** Network seed (default 1). */
  readonly seed?: number;
  /** Virtual seconds of the whole run (default 40). */
  readonly seconds?: number;
  /** Seconds at the start left out of the goodput (slow start, joins; default 10). */
  readonly warmupSeconds?: number;
}

/** Options of `sharedBottleneck`. */
export interface SharedBottleneckOptions extends CompetitionTiming {
  /** The MPTCP connection's congestion controller (e.g. "lia"; "cubic" is uncoupled). */
  readonly mptcpCc: string;
  /** The plain TCP connection's controller (default "reno"). */
  readonly tcpCc?: string;
  /** The router-to-server link (default 10 Mbit/s, 20 ms, 100 KB of queue, about two BDPs). */
  readonly bottleneck?: LinkConfig;
}

/** Goodputs of a shared-bottleneck run, bits per second over the measured window. */
export interface SharedBottleneckResult {
  readonly mptcpBitsPerSecond: number;
  readonly tcpBitsPerSecond: number;
  /** MPTCP's goodput over TCP's (RFC 6356 goal 2: about 1; uncoupled: about the number of subflows). */
  readonly ratio: number;
  /** Data bytes each MPTCP subflow carried (first transmissions and reinjections), in subflow order. */
  readonly subflowBytes: readonly number[];
  /** The largest congestion window of each MPTCP subflow (sampled every 100 ms), bytes. */
  readonly peakCwndBytes: readonly number[];
}

/** Options of `disjointPaths`. */
export interface DisjointPathsOptions extends CompetitionTiming {
  readonly cc: string;
  /** One link per path, the same both ways. */
  readonly paths: readonly LinkConfig[];
  /** MPTCP over every path (default), or plain TCP over path `tcpPath` alone. */
  readonly tcpPath?: number;
}

/** Goodput of a disjoint-paths run. */
export interface DisjointPathsResult {
  readonly bitsPerSecond: number;
  /** Data bytes each MPTCP subflow carried (empty for plain TCP). */
  readonly subflowBytes: readonly number[];
  /** The largest congestion window of each subflow, or of the TCP connection (sampled every 100 ms), bytes. */
  readonly peakCwndBytes: readonly number[];
}

/** The default bottleneck of `sharedBottleneck`. */
export const DEFAULT_BOTTLENECK: LinkConfig = { rateBitsPerSecond: 10e6, delayMicros: 20_000, queueLimitBytes: 100_000 };
/**
 * The access links: fast, 1 ms, with up to 0.5 ms of seeded jitter (order kept). Without it nothing in a
 * lossless drop-tail run is random, every seed gives the same bytes, and the shares are a phase effect of the
 * identical RTTs (which flow's packet meets the full queue; Floyd and Jacobson, "On Traffic Phase Effects in
 * Packet-Switched Gateways", 1992): lia took 0.96 or 1.31 x the TCP share depending only on how its slow start
 * ended. With the jitter each seed is a sample (lia over seeds 1-3: 0.84, 1.13, 0.96).
 */
const ACCESS: LinkConfig = { rateBitsPerSecond: 1e9, delayMicros: 1_000, jitter: { maxMicros: 500 } };
const PORT = 5201;
/** Send buffer of every sender: larger than any window these runs reach (so cwnd, not the buffer, limits). */
const SEND_BUFFER = 4 * 1024 * 1024;
const CHUNK = new Uint8Array(256 * 1024).fill(0x5a);

/** Keeps a connection's send buffer full, forever (a constant chunk: goodput, not content, is measured). */
function fill(c: StreamConnection): void {
  while (c.write(CHUNK) === CHUNK.length);
}

/** The server side: reads everything, counting per accepted connection what arrived after `from`. */
class GoodputCounter {
  readonly bytes = new Map<StreamConnection, number>();
  constructor(private readonly from: Micros) {}
  app(host: Host): MptcpApp {
    return new MptcpApp(
      host,
      (c, e, now) => {
        if (e === 'accepted') {
          this.bytes.set(c, 0);
          return;
        }
        if (e.type !== 'readable') return;
        let n = 0;
        for (let b = c.read(); b; b = c.read()) n += b.length;
        if (now >= this.from) this.bytes.set(c, (this.bytes.get(c) ?? 0) + n);
      },
      { tcpEvents: true },
    );
  }
}

/** A sender host's application: fills every connection whenever it can take more. */
function senderApp(host: Host): MptcpApp {
  return new MptcpApp(
    host,
    (c, e) => {
      if (e !== 'accepted' && (e.type === 'established' || e.type === 'writable')) fill(c);
    },
    { tcpEvents: true },
  );
}

function timing(o: CompetitionTiming): { seed: number; end: Micros; from: Micros; window: number } {
  const seconds = o.seconds ?? 40;
  const warmup = o.warmupSeconds ?? 10;
  if (!(warmup >= 0 && seconds > warmup)) throw new RangeError(`competition: the run (${seconds} s) must be longer than its warm-up (${warmup} s)`);
  return { seed: o.seed ?? 1, end: seconds * 1e6, from: warmup * 1e6, window: seconds - warmup };
}

function host(name: string, secret: number, tcp: TcpConfig, cidrs: readonly string[]): Host {
  const h = new Host({ name, secret: new Uint8Array(32).fill(secret), tcp: { sendBufferBytes: SEND_BUFFER, ...tcp } });
  cidrs.forEach((c, i) => h.addInterface(`eth${i}`, [c]));
  return h;
}

function defaultRoute(h: Host): void {
  h.routing.addRoute({ prefix: new Uint8Array(4), prefixLength: 0, ifaceId: 0 });
}

/**
 * Runs the network to `end` in 100 ms slices, bounded in events (throws when a slice exceeds them); after each
 * slice records the largest congestion window each subflow of `watched` has had (`peaks`, in subflow order).
 */
function runTo(net: Network, end: Micros, watched: StreamConnection, peaks: number[]): void {
  while (net.now < end) {
    const r = net.driveBounded(Math.min(end, net.now + 100_000), 5_000_000);
    if (r.stoppedBy === 'events') throw new Error(`competition: more than 5,000,000 events in 100 ms of virtual time at ${net.now} µs`);
    const cwnds = watched instanceof MptcpConnection ? watched.subflows().map((sf) => sf.tcp.cwndBytes) : [watched.info().cwndBytes];
    cwnds.forEach((c, i) => (peaks[i] = Math.max(peaks[i] ?? 0, c)));
    if (r.stoppedBy === 'idle') break;
  }
}

function subflowBytesOf(c: StreamConnection): number[] {
  if (!(c instanceof MptcpConnection)) return [];
  return c.subflowInfo().map((s) => s.dataBytesSent);
}

/**
 * One MPTCP connection (two subflows) and one plain TCP connection, both uploading through one bottleneck
 * for `seconds`; their goodputs after the warm-up (see the file comment).
 */
export function sharedBottleneck(o: SharedBottleneckOptions): SharedBottleneckResult {
  const t = timing(o);
  const net = new Network({ seed: t.seed });
  const mp = host('mptcp', 21, { congestionControl: o.mptcpCc }, ['198.18.1.2/24', '198.18.2.2/24']);
  const tcp = host('tcp', 22, { congestionControl: o.tcpCc ?? 'reno' }, ['198.18.3.2/24']);
  const srv = host('server', 23, {}, ['198.18.9.1/24']);
  for (const h of [mp, tcp, srv]) defaultRoute(h);
  mp.setMptcpEndpoints(['198.18.2.2 id 2 subflow']);
  const counter = new GoodputCounter(t.from);
  const apps: EmuHost[] = [net.addHost('mptcp', senderApp(mp)), net.addHost('tcp', senderApp(tcp)), net.addHost('server', counter.app(srv))];
  const router = net.addHost(
    'router',
    new Router(routeByDestination([['198.18.1.0/24', 0], ['198.18.2.0/24', 1], ['198.18.3.0/24', 2], ['198.18.9.0/24', 3]])),
  );
  net.connect([apps[0]!, 0], [router, 0], { config: ACCESS, name: 'mptcp0' });
  net.connect([apps[0]!, 1], [router, 1], { config: ACCESS, name: 'mptcp1' });
  net.connect([apps[1]!, 0], [router, 2], { config: ACCESS, name: 'tcp' });
  net.connect([router, 3], [apps[2]!, 0], { forward: o.bottleneck ?? DEFAULT_BOTTLENECK, backward: ACCESS, name: 'bottleneck' });
  srv.listen(PORT, { mptcp: true });
  const mptcpConn = mp.connect(0, '198.18.9.1', PORT, { mptcp: true });
  tcp.connect(0, '198.18.9.1', PORT, { mptcp: false });
  for (const a of apps) net.wake(a);
  const peaks: number[] = [];
  runTo(net, t.end, mptcpConn, peaks);
  // The server's connections, told apart by the client's address (198.18.1.2: MPTCP, 198.18.3.2: TCP).
  let mptcpBytes = 0;
  let tcpBytes = 0;
  for (const [c, n] of counter.bytes) {
    if (c.endpoints.remoteAddress[2] === 3) tcpBytes += n;
    else mptcpBytes += n;
  }
  const mptcpBitsPerSecond = (mptcpBytes * 8) / t.window;
  const tcpBitsPerSecond = (tcpBytes * 8) / t.window;
  return { mptcpBitsPerSecond, tcpBitsPerSecond, ratio: mptcpBitsPerSecond / tcpBitsPerSecond, subflowBytes: subflowBytesOf(mptcpConn), peakCwndBytes: peaks };
}

/**
 * An upload over disjoint paths (a direct link each): MPTCP over all of them, or plain TCP over one
 * (`tcpPath`); the goodput after the warm-up.
 */
export function disjointPaths(o: DisjointPathsOptions): DisjointPathsResult {
  const t = timing(o);
  const net = new Network({ seed: t.seed });
  const single = o.tcpPath;
  if (single !== undefined && (single < 0 || single >= o.paths.length)) throw new RangeError(`disjointPaths: no path ${single}`);
  const paths = single === undefined ? o.paths.map((_, i) => i) : [single];
  const client = host('client', 31, { congestionControl: o.cc }, paths.map((i) => `198.18.${i + 1}.2/24`));
  const server = host('server', 32, {}, paths.map((i) => `198.18.${i + 1}.1/24`));
  if (single === undefined) client.setMptcpEndpoints(paths.slice(1).map((i) => `198.18.${i + 1}.2 id ${i + 1} subflow`));
  const limits = `subflows ${Math.min(8, Math.max(2, paths.length - 1))}`;
  client.setMptcpLimits(limits);
  server.setMptcpLimits(limits);
  const counter = new GoodputCounter(t.from);
  const c = net.addHost('client', senderApp(client));
  const s = net.addHost('server', counter.app(server));
  paths.forEach((p, k) => net.connect([c, k], [s, k], { config: o.paths[p]!, name: `path${p}` }));
  server.listen(PORT, { mptcp: single === undefined });
  const first = paths[0]! + 1;
  const conn = client.connect(0, `198.18.${first}.1`, PORT, { mptcp: single === undefined });
  net.wake(c);
  net.wake(s);
  const peaks: number[] = [];
  runTo(net, t.end, conn, peaks);
  let bytes = 0;
  for (const n of counter.bytes.values()) bytes += n;
  return { bitsPerSecond: (bytes * 8) / t.window, subflowBytes: subflowBytesOf(conn), peakCwndBytes: peaks };
}
