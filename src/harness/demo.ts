/**
 * The demo's scenario (`mptcp demo`, the README's main job) as a function: one MPTCP connection between two
 * hosts of this stack, each with two interfaces, on the emulator (virtual time: fast, deterministic, seeded):
 *
 *   client 198.18.1.2 ── path 1: 50 Mbit/s, 10 ms each way ── 198.18.1.1 server
 *   client 198.18.2.2 ── path 2: 20 Mbit/s, 40 ms each way ── 198.18.2.1 server
 *
 * The client connects over path 1 (MP_CAPABLE), joins a second subflow over path 2 (MP_JOIN) and sends
 * `bytes` of seeded pseudo-random data. Path 1 goes down in both directions in mid-transfer and comes back:
 * the data stuck on it is reinjected on path 2 (the data-level retransmission timer; a subflow silent for
 * more than 4 RTOs is also marked stale, and its path probed every 500 ms), so the transfer carries on at
 * path 2's rate during the outage, and path 1 is used again within a second of its return.
 * Every interval `runDemo` reports what each path delivered (the server's per-subflow data bytes received);
 * at the end it verifies the data (SHA-256 of what was written against what was read) and sums up: bytes
 * per subflow, duration, reinjections, counters. src/cli/demo.ts prints it.
 */
import { createHash } from 'node:crypto';
import type { LinkConfig, LinkState } from '../emu/link.js';
import { attachPcap, type PacketRecordSink } from '../emu/tap.js';
import type { MptcpConnection } from '../mptcp/connection.js';
import type { MptcpEvent } from '../mptcp/events.js';
import type { Micros } from '../time/micros.js';
import { formatAddress } from '../wire/address.js';
import { PatternSource, SourceWriter } from './bulk.js';
import { MptcpApp } from './host-app.js';
import { HostPair } from './pair.js';

/** One emulated path: its link (the same both ways) and the two hosts' addresses on it. */
export interface DemoPath {
  readonly name: string;
  readonly rateBitsPerSecond: number;
  readonly delayMicros: Micros;
  readonly clientAddress: string;
  readonly serverAddress: string;
}

/** What `runDemo` runs. Every field has a default (the README's scenario). */
export interface DemoOptions {
  /** Bytes the client sends (default 48 MiB). */
  readonly bytes?: number;
  /** Seeds the emulator, the hosts' secrets (ISNs, keys) and the data (default 1). */
  readonly seed?: number;
  /** Index of the path that fails (default 0: the fast one). */
  readonly failPath?: number;
  /** The outage, virtual time from the connect call (default 3 s to 5 s). */
  readonly outageStartMicros?: Micros;
  readonly outageEndMicros?: Micros;
  /** Report interval (default 1 s). */
  readonly intervalMicros?: Micros;
  /** Give up after this much virtual time (default 120 s). */
  readonly maxMicros?: Micros;
  /** The paths (default: 50 Mbit/s 10 ms and 20 Mbit/s 40 ms). */
  readonly paths?: readonly DemoPath[];
  /**
   * Records every packet each host's interfaces send, as offered to the links (dropped ones too), at its
   * virtual time (a `CaptureFile`, a `CaptureWriter`, a `PcapWriter`). Captures change nothing in the run.
   */
  readonly capture?: PacketRecordSink;
  /**
   * Every `sampleMicros` of virtual time, `onSample` gets each client subflow's smoothed RTT and congestion
   * window (for `mptcp demo --report`'s plots). Sampling changes nothing in the run.
   */
  readonly sampleMicros?: Micros;
  readonly onSample?: (sample: DemoSample) => void;
  /**
   * Each MPTCP event of either host (`ip mptcp monitor`'s: CREATED, SF_ESTABLISHED, ...) as it happens
   * (within 10 ms of virtual time, or `sampleMicros`), with the host it happened on.
   */
  readonly onMonitor?: (host: 'client' | 'server', event: MptcpEvent, atMicros: Micros) => void;
}

/** One client subflow's RTT and congestion window at an instant of the run. */
export interface DemoSample {
  readonly atMicros: Micros;
  /** The subflow's id (as in `DemoResult.subflows`). */
  readonly subflow: number;
  readonly rttMicros: Micros | undefined;
  readonly cwndBytes: number;
}

/** One report interval. */
export interface DemoInterval {
  readonly startMicros: Micros;
  readonly endMicros: Micros;
  /** Data bytes that arrived over each path (indexed like `paths`) during the interval. */
  readonly bytesPerPath: readonly number[];
  /** Each path's state over the interval: up, down, or the transition and when. */
  readonly pathStates: readonly string[];
}

/** One subflow at the end, as the client (the sender) saw it. */
export interface DemoSubflow {
  readonly id: number;
  readonly path: number;
  readonly join: boolean;
  readonly local: string;
  readonly remote: string;
  /** Data bytes the client handed to this subflow (first transmissions and reinjections). */
  readonly dataBytesSent: number;
  /** Data bytes the server read from this subflow (before duplicate removal). */
  readonly dataBytesReceived: number;
  /** TCP-level retransmitted segments on this subflow. */
  readonly tcpRetransmits: number;
  readonly state: string;
}

/** The outcome of `runDemo`. */
export interface DemoResult {
  readonly bytes: number;
  readonly seed: number;
  readonly paths: readonly DemoPath[];
  readonly failPath: number;
  readonly outageStartMicros: Micros;
  readonly outageEndMicros: Micros;
  readonly intervals: readonly DemoInterval[];
  readonly subflows: readonly DemoSubflow[];
  /** The server read every byte and saw the end of the stream. */
  readonly completed: boolean;
  readonly receivedBytes: number;
  readonly sentSha256: string;
  readonly receivedSha256: string;
  /** completed, and the SHA-256 of what was read equals that of what was written. */
  readonly verified: boolean;
  /** Virtual time from the connect call to the server reading the last byte (or to giving up). */
  readonly durationMicros: Micros;
  /** Data-level bytes sent more than once (sum over subflows of data bytes sent, less the data). */
  readonly reinjectedBytes: number;
  /** The client's MPTCP MIB counters that are not zero (kernel names: MPTCPRetrans, MPJoinSynTx, ...). */
  readonly clientCounters: Readonly<Record<string, number>>;
  readonly serverCounters: Readonly<Record<string, number>>;
  /** Why the run stopped early, if it did. */
  readonly problem: string | undefined;
}

/** The README's two paths. */
export const DEFAULT_PATHS: readonly DemoPath[] = [
  { name: 'path 1', rateBitsPerSecond: 50e6, delayMicros: 10_000, clientAddress: '198.18.1.2', serverAddress: '198.18.1.1' },
  { name: 'path 2', rateBitsPerSecond: 20e6, delayMicros: 40_000, clientAddress: '198.18.2.2', serverAddress: '198.18.2.1' },
];

const PORT = 5201;
const SECOND: Micros = 1_000_000;

/** A 32-byte host secret derived from the seed (ISNs, ports and MPTCP keys follow from it). */
function secretOf(seed: number, role: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`mptcp demo ${seed} ${role}`).digest());
}

/** Queue of one bandwidth-delay product (RTT = twice the one-way delay), at least 64 KB. */
function linkConfig(path: DemoPath, outage: ReadonlyArray<readonly [Micros, LinkState]> | undefined): LinkConfig {
  const bdp = Math.ceil((path.rateBitsPerSecond / 8) * ((2 * path.delayMicros) / SECOND));
  return {
    rateBitsPerSecond: path.rateBitsPerSecond,
    delayMicros: path.delayMicros,
    queueLimitBytes: Math.max(64_000, bdp),
    ...(outage ? { timeline: outage } : {}),
  };
}

function stateOver(start: Micros, end: Micros, down: Micros, up: Micros): string {
  if (end <= down || start >= up) return 'up';
  if (start >= down && end <= up) return 'DOWN';
  const parts: string[] = [];
  if (down > start) parts.push(`down at ${(down / SECOND).toFixed(1)}s`);
  if (up < end) parts.push(`up at ${(up / SECOND).toFixed(1)}s`);
  return parts.join(', ');
}

function nonZero(counters: object): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(counters)) if (typeof v === 'number' && v !== 0) out[k] = v;
  return out;
}

/**
 * Runs the scenario to completion (or to `maxMicros` of virtual time) and returns what happened. Calls
 * `onInterval` after each report interval, as it happens (the command prints rows as they come).
 */
export function runDemo(options: DemoOptions = {}, onInterval?: (interval: DemoInterval) => void): DemoResult {
  const bytes = options.bytes ?? 48 * 1024 * 1024;
  const seed = options.seed ?? 1;
  const paths = options.paths ?? DEFAULT_PATHS;
  const failPath = options.failPath ?? 0;
  const outageStart = options.outageStartMicros ?? 3 * SECOND;
  const outageEnd = options.outageEndMicros ?? 5 * SECOND;
  const interval = options.intervalMicros ?? SECOND;
  const maxMicros = options.maxMicros ?? 120 * SECOND;
  if (paths.length < 2) throw new Error('the demo needs two paths');
  if (failPath < 0 || failPath >= paths.length) throw new Error(`no path ${failPath + 1}`);
  if (!(outageEnd > outageStart)) throw new Error('the outage must end after it starts');

  const source = new PatternSource(bytes, seed);
  const sink = createHash('sha256');
  let received = 0;
  let finishedAt: Micros | undefined;
  let serverConnection: MptcpConnection | undefined;
  let clientError: unknown;
  let serverError: unknown;

  const writer = new SourceWriter(source);
  // The network's clock starts at 0; the outage is scheduled from there, on the failing path's link.
  const start: Micros = 0;
  const down = start + outageStart;
  const up = start + outageEnd;
  const pair = new HostPair(
    {
      seed,
      start,
      client: { name: 'client', secret: secretOf(seed, 'client') },
      server: { name: 'server', secret: secretOf(seed, 'server') },
      paths: paths.map((p, i) => {
        const timeline = i === failPath ? ([[down, 'down'], [up, 'up']] as const) : undefined;
        return { clientAddress: `${p.clientAddress}/24`, serverAddress: `${p.serverAddress}/24`, link: { config: linkConfig(p, timeline), name: p.name } };
      }),
    },
    {
      client: (clientHost) =>
        new MptcpApp(clientHost, (c, e, now) => {
          if (e === 'accepted') return;
          if (e.type === 'established') {
            for (let i = 1; i < paths.length; i++) clientHost.addSubflow(now, c, paths[i]!.clientAddress, { remoteAddress: paths[i]!.serverAddress });
          }
          if (e.type === 'established' || e.type === 'writable') writer.pump(c);
          if (e.type === 'readable' || e.type === 'end') for (let b = c.read(); b; b = c.read());
          if (e.type === 'closed' && e.error) clientError = e.error;
        }),
      server: (serverHost) =>
        new MptcpApp(serverHost, (c, e, now) => {
          if (e === 'accepted') {
            serverConnection = c;
            c.shutdown(); // the server sends nothing
            return;
          }
          if (e.type === 'readable' || e.type === 'end') {
            for (let b = c.read(); b; b = c.read()) {
              sink.update(b);
              received += b.length;
            }
          }
          if (e.type === 'end' && finishedAt === undefined) finishedAt = now;
          if (e.type === 'closed' && e.error) serverError = e.error;
        }),
    },
  );
  const { clientHost, serverHost } = pair;
  if (options.capture) attachPcap(pair.paths.flatMap((p) => [p.forward, p.backward]), options.capture, { point: 'offer' });
  serverHost.listen(PORT, { mptcp: true });
  // Default TCP config (Nagle on): segments never span two DSS mappings and a subflow takes new data while
  // earlier data is queued, so Nagle holds nothing back in a bulk transfer (TCP_NODELAY gives the same run).
  const connection = clientHost.connect(start, paths[0]!.serverAddress, PORT, { mptcp: true, localAddress: paths[0]!.clientAddress });
  pair.wakeClient();

  // Bytes the server read from each path so far (its subflows' data bytes received, by local address).
  const pathOf = (address: string, side: 'client' | 'server'): number =>
    paths.findIndex((p) => (side === 'client' ? p.clientAddress : p.serverAddress) === address);
  const arrived = (): number[] => {
    const out = paths.map(() => 0);
    for (const sf of serverConnection?.subflowInfo() ?? []) {
      const i = pathOf(formatAddress(sf.endpoints.localAddress), 'server');
      if (i >= 0) out[i]! += sf.dataBytesReceived;
    }
    return out;
  };

  // The hosts' `ip mptcp monitor` events, to onMonitor (each host keeps its last 1024 otherwise).
  const drainMonitor = (at: Micros): void => {
    for (let e = pair.client.monitor.shift(); e; e = pair.client.monitor.shift()) options.onMonitor!('client', e, at);
    for (let e = pair.server.monitor.shift(); e; e = pair.server.monitor.shift()) options.onMonitor!('server', e, at);
  };
  const intervals: DemoInterval[] = [];
  let problem: string | undefined;
  let last = arrived();
  // Bounded: one iteration per interval of virtual time, at most maxMicros / interval of them.
  for (let t = start; finishedAt === undefined; t += interval) {
    if (t - start >= maxMicros) {
      problem = `gave up after ${maxMicros / SECOND} s of virtual time with ${received} of ${bytes} bytes received`;
      break;
    }
    const sampleEvery = options.onSample || options.onMonitor ? (options.sampleMicros ?? (options.onSample ? 50_000 : 10_000)) : 0;
    if (sampleEvery > 0) {
      // The same events in slices: running to an instant then on changes nothing in the network's order.
      for (let at = t + sampleEvery; ; at += sampleEvery) {
        const until = Math.min(at, t + interval);
        pair.run(until);
        if (options.onSample) {
          for (const sf of connection.subflowInfo()) {
            options.onSample({ atMicros: until - start, subflow: sf.id, rttMicros: sf.tcp.srttMicros, cwndBytes: sf.tcp.cwndBytes });
          }
        }
        if (options.onMonitor) drainMonitor(until - start);
        if (until >= t + interval) break;
      }
    } else {
      pair.run(t + interval);
    }
    const now = arrived();
    // The last row ends when the server read the last byte: its rates are over its real length.
    const end = finishedAt !== undefined && finishedAt < t + interval ? Math.max(finishedAt, t + 1) : t + interval;
    const row: DemoInterval = {
      startMicros: t - start,
      endMicros: end - start,
      bytesPerPath: now.map((v, i) => v - last[i]!),
      pathStates: paths.map((_, i) => (i === failPath ? stateOver(t, end, down, up) : 'up')),
    };
    last = now;
    intervals.push(row);
    onInterval?.(row);
    if (clientError !== undefined || serverError !== undefined) {
      problem = `connection failed: ${String(clientError ?? serverError)}`;
      break;
    }
  }
  // Let the closing handshakes finish so the counters are final (bounded in time and events).
  if (problem === undefined) pair.driveBounded(pair.now + 5 * SECOND, 1_000_000);
  if (options.onMonitor) drainMonitor(pair.now - start);

  const serverSubflows = serverConnection?.subflowInfo() ?? [];
  const subflows: DemoSubflow[] = connection.subflowInfo().map((sf) => {
    const local = formatAddress(sf.endpoints.localAddress);
    const remote = formatAddress(sf.endpoints.remoteAddress);
    const peer = serverSubflows.find(
      (p) => formatAddress(p.endpoints.remoteAddress) === local && p.endpoints.remotePort === sf.endpoints.localPort,
    );
    return {
      id: sf.id,
      path: pathOf(local, 'client'),
      join: sf.join,
      local,
      remote,
      dataBytesSent: sf.dataBytesSent,
      dataBytesReceived: peer?.dataBytesReceived ?? 0,
      tcpRetransmits: sf.tcp.retransmits,
      state: sf.state,
    };
  });
  const sentSha256 = source.hash.copy().digest('hex');
  const receivedSha256 = sink.digest('hex');
  const completed = finishedAt !== undefined && received === bytes;
  return {
    bytes,
    seed,
    paths,
    failPath,
    outageStartMicros: outageStart,
    outageEndMicros: outageEnd,
    intervals,
    subflows,
    completed,
    receivedBytes: received,
    sentSha256,
    receivedSha256,
    verified: completed && sentSha256 === receivedSha256,
    durationMicros: (finishedAt ?? pair.now) - start,
    reinjectedBytes: Math.max(0, subflows.reduce((sum, sf) => sum + sf.dataBytesSent, 0) - bytes),
    clientCounters: nonZero(connection.counters),
    serverCounters: nonZero(serverHost.mptcpCounters),
    problem,
  };
}
