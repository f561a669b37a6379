/**
 * One runner per kind of scenario: it runs a definition (./definitions.ts) for one policy on the emulator
 * and returns its rows, the measurements and the row's status against the scenario's bound. Each run is
 * bounded in virtual time and events; a stack that throws makes an `error` row, not a crashed suite.
 */
import { Network } from '../../emu/network.js';
import { dumbbell } from '../../emu/topology.js';
import type { StreamConnection } from '../../mptcp/connection.js';
import { DEFAULT_SCHEDULER } from '../../sched/registry.js';
import { DEFAULT_CONGESTION_CONTROL } from '../../cc/registry.js';
import { Host } from '../../stack/host.js';
import type { Micros } from '../../time/micros.js';
import { MptcpApp } from '../host-app.js';
import {
  Reader,
  Writer,
  clientAddress,
  linkOf,
  missingTraces,
  PORT,
  quantile,
  round,
  scheduleOutages,
  serverAddress,
  subflowsOnPath,
  twoHosts,
  wireDataBytes,
  type TwoHosts,
} from './engine.js';
import type {
  DownloadsScenario,
  FailoverScenario,
  GoodputScenario,
  MessagesScenario,
  PathDef,
  Policy,
  Row,
  RowStatus,
  ScenarioDef,
  SharedBottleneckScenario,
  SimultFlowsScenario,
  SuiteEnvironment,
} from './types.js';

const SECOND = 1_000_000;
const MAX_EVENTS = 200_000_000;

/** A row of `def` for `policy`. */
function row(def: ScenarioDef, caseName: string, policy: Policy, metrics: Row['metrics'], bound: string, status: RowStatus, note?: string): Row {
  return { scenario: def.id, case: caseName, scheduler: policy.scheduler, cc: policy.cc, source: def.source, metrics, bound, status, ...(note ? { note } : {}) };
}

/** Runs `until` µs of virtual time (bounded in events). */
function runTo(run: TwoHosts, until: Micros): void {
  run.pair.driveBounded(until, MAX_EVENTS);
}

/** Results cached per definition object (a baseline that several rows compare with is run once). */
const memos = new WeakMap<object, Map<string, unknown>>();
function memo<T>(def: object, key: string, compute: () => T): T {
  let m = memos.get(def);
  if (m === undefined) memos.set(def, (m = new Map()));
  if (!m.has(key)) m.set(key, compute());
  return m.get(key) as T;
}

const isDefault = (p: Policy): boolean => p.scheduler === DEFAULT_SCHEDULER && p.cc === DEFAULT_CONGESTION_CONTROL;
const DEFAULT_POLICY: Policy = { scheduler: DEFAULT_SCHEDULER, cc: DEFAULT_CONGESTION_CONTROL };

/** Whether the bound applies to a policy: the default pair, or a wanted controller with the default scheduler. */
function bounded(def: ScenarioDef, policy: Policy): boolean {
  if (policy.scheduler !== DEFAULT_SCHEDULER) return false;
  return policy.cc === DEFAULT_CONGESTION_CONTROL || (def.policies.wantedCc ?? []).includes(policy.cc);
}

// --- 1. simult_flows.sh ------------------------------------------------------------------------------

/** The kernel's bound (simult_flows.sh run_test): size * 8 * 10 / 9 over the summed rate, in ms, + 400 + 50 slack. */
export function simultFlowsBoundMs(bytes: number, rate1Mbps: number, rate2Mbps: number): number {
  return Math.floor((1000 * bytes * 8 * 10) / ((rate1Mbps + rate2Mbps) * 1000 * 1000 * 9)) + 400 + 50;
}

function runSimultFlows(def: SimultFlowsScenario, policy: Policy, env: SuiteEnvironment): Row[] {
  const rows: Row[] = [];
  for (const c of def.cases) {
    for (const reverse of [false, true]) {
      const name = `${c.name}${reverse ? ' - reverse direction' : ''}`;
      const times: number[] = [];
      let intact = true;
      for (const seed of def.seeds) {
        const paths: PathDef[] = [
          { name: 'path 1', rateMbps: c.rate1Mbps, delayMs: c.delay1Ms, queuePackets: def.queuePackets },
          { name: 'path 2', rateMbps: c.rate2Mbps, delayMs: c.delay2Ms, queuePackets: def.queuePackets },
        ];
        // do_transfer $small $large: the client sends the small file and receives the large one; reversed, the other way.
        const upBytes = reverse ? def.largeBytes : def.smallBytes;
        const downBytes = reverse ? def.smallBytes : def.largeBytes;
        const up = new Writer(upBytes, 0x51 + seed);
        const down = new Writer(downBytes, 0x52 + seed);
        const atClient = new Reader(true);
        const atServer = new Reader(true);
        const run = twoHosts({
          seed,
          paths,
          env,
          policy,
          mptcp: true,
          onClient: (conn, e, now) => {
            if (e === 'accepted') return;
            if (e.type === 'established' || e.type === 'writable') up.pump(conn);
            if (e.type === 'readable' || e.type === 'end') atClient.drain(conn, now);
            if (e.type === 'end') atClient.endedAt = now;
          },
          onServer: (conn, e, now) => {
            if (e === 'accepted' || e.type === 'writable') down.pump(conn);
            if (e === 'accepted') return;
            if (e.type === 'readable' || e.type === 'end') atServer.drain(conn, now);
            if (e.type === 'end') atServer.endedAt = now;
          },
        });
        runTo(run, 120 * SECOND);
        const done = atClient.endedAt !== undefined && atServer.endedAt !== undefined;
        intact &&= done && atClient.digest() === down.digest() && atServer.digest() === up.digest();
        times.push(done ? Math.max(atClient.endedAt!, atServer.endedAt!) / 1000 : Infinity);
      }
      const worst = Math.max(...times);
      const boundMs = simultFlowsBoundMs(def.largeBytes, c.rate1Mbps, c.rate2Mbps);
      const status: RowStatus = !intact ? 'fail' : worst <= boundMs ? 'pass' : 'fail';
      rows.push(
        row(
          def,
          name,
          policy,
          { 'time (s)': round(worst / 1000), 'bound (s)': round(boundMs / 1000), 'time / bound': round(worst / boundMs), intact: intact ? 'yes' : 'NO' },
          `<= ${(boundMs / 1000).toFixed(3)} s`,
          status,
        ),
      );
    }
  }
  return rows;
}

// --- 2. goodput against plain TCP on the best path ----------------------------------------------------

/**
 * Goodput (Mbit/s) at the client of a download of `seconds`. Clients here never half-close before the
 * download ended: today's stack opens no MP_JOIN once the client's DATA_FIN is out, so a client that shut
 * down at once would measure one path only.
 */
function downloadGoodput(def: { paths: readonly PathDef[]; seconds: number }, policy: Policy, seed: number, env: SuiteEnvironment, mptcp: boolean): { mbps: number; run: TwoHosts } {
  const d = download({ seed, paths: def.paths, env, policy, mptcp, bytes: Infinity });
  runTo(d.run, def.seconds * SECOND);
  return { mbps: (d.reader.received * 8) / def.seconds / 1e6, run: d.run };
}

/**
 * A download of `bytes` (Infinity: without end) from the server to the client, started; the client reads
 * (hashing unless endless, binning when asked) and half-closes once the stream ended.
 */
function download(o: { seed: number; paths: readonly PathDef[]; env: SuiteEnvironment; policy: Policy; mptcp: boolean; bytes: number; binMicros?: number }): {
  run: TwoHosts;
  reader: Reader;
  writer: Writer;
} {
  const writer = new Writer(o.bytes, o.seed);
  const reader = new Reader(Number.isFinite(o.bytes), o.binMicros);
  const run = twoHosts({
    seed: o.seed,
    paths: o.paths,
    env: o.env,
    policy: o.policy,
    mptcp: o.mptcp,
    onClient: (conn, e, now) => {
      if (e === 'accepted') return;
      if (e.type === 'readable' || e.type === 'end') reader.drain(conn, now);
      if (e.type === 'end') {
        reader.endedAt = now;
        conn.shutdown();
      }
    },
    onServer: (conn, e) => {
      if (e === 'accepted' || e.type === 'writable') writer.pump(conn);
    },
  });
  return { run, reader, writer };
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Plain TCP over path 0 with a controller, averaged over the seeds (once per definition and controller). */
function tcpBaseline(def: GoodputScenario, cc: string, env: SuiteEnvironment): number {
  return memo(def, `tcp/${cc}`, () => mean(def.seeds.map((seed) => downloadGoodput(def, { scheduler: DEFAULT_SCHEDULER, cc }, seed, env, false).mbps)));
}

function runGoodput(def: GoodputScenario, policy: Policy, env: SuiteEnvironment): Row[] {
  const mptcp = mean(def.seeds.map((seed) => downloadGoodput(def, policy, seed, env, true).mbps));
  // The user's alternative: plain TCP with the host's default controller (cubic); and TCP with the row's own.
  const best = tcpBaseline(def, DEFAULT_CONGESTION_CONTROL, env);
  const same = policy.cc === DEFAULT_CONGESTION_CONTROL ? best : tcpBaseline(def, policy.cc, env);
  const sum = def.paths.reduce((a, p) => a + (p.rateMbps ?? 0), 0);
  const ratio = mptcp / best;
  const status: RowStatus = bounded(def, policy) ? (ratio >= def.minRatio ? 'pass' : 'fail') : 'info';
  return [
    row(
      def,
      def.paths.map((p) => p.name).join(' + '),
      policy,
      {
        'MPTCP (Mbit/s)': round(mptcp, 2),
        [`TCP on ${def.paths[0]!.name}, ${DEFAULT_CONGESTION_CONTROL} (Mbit/s)`]: round(best, 2),
        'MPTCP / TCP': round(ratio),
        [`MPTCP / TCP ${policy.cc}`]: round(mptcp / same),
        'MPTCP / sum of rates': round(mptcp / sum),
      },
      status === 'info' ? '' : `MPTCP / TCP >= ${def.minRatio}`,
      status,
    ),
  ];
}

// --- 3. object downloads -----------------------------------------------------------------------------

/** Completion times (ms) of one object size over the seeds, Infinity for a download that did not finish intact. */
function downloadTimes(def: DownloadsScenario, size: number, policy: Policy, env: SuiteEnvironment): number[] {
  return memo(def, `${size}/${policy.scheduler}/${policy.cc}`, () =>
    def.seeds.map((seed) => {
      const { run, reader, writer } = download({ seed, paths: def.paths, env, policy, mptcp: true, bytes: size });
      run.pair.drive(() => reader.endedAt !== undefined, 120 * SECOND);
      return reader.endedAt !== undefined && reader.digest() === writer.digest() ? reader.endedAt / 1000 : Infinity;
    }),
  );
}

function runDownloads(def: DownloadsScenario, policy: Policy, env: SuiteEnvironment): Row[] {
  const missing = missingTraces(def.paths, env);
  if (missing.length > 0) return [row(def, 'all sizes', policy, {}, '', 'skipped', `trace missing: ${missing.join(', ')}`)];
  return def.sizes.map((size) => {
    const times = downloadTimes(def, size, policy, env);
    const median = quantile(times, 0.5);
    const metrics: Record<string, number> = { 'median (ms)': round(median, 1), 'p90 (ms)': round(quantile(times, 0.9), 1), seeds: times.length };
    if (!isDefault(policy)) metrics['median / default'] = round(median / quantile(downloadTimes(def, size, DEFAULT_POLICY, env), 0.5));
    const failed = times.filter((t) => !Number.isFinite(t)).length;
    return row(def, `${formatSize(size)} object`, policy, metrics, '', failed > 0 ? 'fail' : 'info', failed > 0 ? `${failed} downloads did not finish intact` : undefined);
  });
}

function formatSize(bytes: number): string {
  return bytes >= 1 << 20 ? `${bytes / (1 << 20)} MB` : `${bytes / 1024} KB`;
}

// --- 4. shared bottleneck ----------------------------------------------------------------------------

/** One MPTCP connection with `subflows` subflows and one TCP connection through one bottleneck; goodputs in Mbit/s. */
export function sharedBottleneckShares(
  def: SharedBottleneckScenario,
  subflows: number,
  policy: Policy,
  seed: number,
  env: SuiteEnvironment,
): { mptcp: number; tcp: number } {
  const net = new Network({ seed });
  const tcpConfig = { congestionControl: policy.cc };
  const n = subflows;
  const mpClient = new Host({ name: 'mp-client', secret: new Uint8Array(32).fill(31), tcp: tcpConfig });
  const tcpClient = new Host({ name: 'tcp-client', secret: new Uint8Array(32).fill(32), tcp: tcpConfig });
  const server = new Host({ name: 'server', secret: new Uint8Array(32).fill(33), tcp: tcpConfig });
  for (let i = 0; i < n; i++) mpClient.addInterface(`eth${i}`, [`${clientAddress(i)}/24`]);
  tcpClient.addInterface('eth0', [`${clientAddress(n)}/24`]);
  for (let i = 0; i <= n; i++) server.addInterface(`eth${i}`, [`${serverAddress(i)}/24`]);
  for (const h of [mpClient, server]) {
    h.setMptcpScheduler(policy.scheduler);
    h.setMptcpLimits(`subflows ${n - 1}`);
  }
  mpClient.setMptcpEndpoints(Array.from({ length: n - 1 }, (_, i) => `${clientAddress(i + 1)} id ${i + 2} subflow`));
  const binMicros = 100_000;
  const mpReader = new Reader(false, binMicros);
  const tcpReader = new Reader(false, binMicros);
  const writers = new Map<StreamConnection, Writer>();
  const readSide = (reader: Reader) => (c: StreamConnection, e: 'accepted' | { type: string }, now: Micros) => {
    if (e === 'accepted') return;
    if (e.type === 'readable' || e.type === 'end') reader.drain(c, now);
  };
  const mpApp = net.addHost('mp-client', new MptcpApp(mpClient, readSide(mpReader), { tcpEvents: true }));
  const tcpApp = net.addHost('tcp-client', new MptcpApp(tcpClient, readSide(tcpReader), { tcpEvents: true }));
  const serverApp = net.addHost(
    'server',
    new MptcpApp(
      server,
      (c, e) => {
        if (e === 'accepted') writers.set(c, new Writer(Infinity, writers.size + seed));
        if (e === 'accepted' || e.type === 'writable') writers.get(c)?.pump(c);
      },
      { tcpEvents: true },
    ),
  );
  dumbbell(net, {
    name: 'shared',
    left: [...Array.from({ length: n }, (_, i) => ({ endpoint: [mpApp, i] as const, address: clientAddress(i) })), { endpoint: [tcpApp, 0] as const, address: clientAddress(n) }],
    right: Array.from({ length: n + 1 }, (_, i) => ({ endpoint: [serverApp, i] as const, address: serverAddress(i) })),
    bottleneck: { forward: linkOf(def.bottleneck, 'up', env, seed), backward: linkOf(def.bottleneck, 'down', env, seed) },
  });
  server.listen(PORT, { mptcp: true });
  mpClient.connect(net.now, serverAddress(0), PORT, { mptcp: true });
  tcpClient.connect(net.now, serverAddress(n), PORT);
  net.wake(mpApp);
  net.wake(tcpApp);
  net.driveBounded(def.seconds * SECOND, MAX_EVENTS);
  const from = Math.round((def.measureFromSeconds * SECOND) / binMicros);
  const span = def.seconds - def.measureFromSeconds;
  const mbps = (r: Reader) => (r.bins.slice(from).reduce((a, b) => a + b, 0) * 8) / span / 1e6;
  return { mptcp: mbps(mpReader), tcp: mbps(tcpReader) };
}

function runSharedBottleneck(def: SharedBottleneckScenario, policy: Policy, env: SuiteEnvironment): Row[] {
  const coupled = (def.policies.wantedCc ?? []).includes(policy.cc);
  return def.subflows.map((subflows) => {
    const shares = def.seeds.map((seed) => sharedBottleneckShares(def, subflows, policy, seed, env));
    const mp = mean(shares.map((s) => s.mptcp));
    const tcp = mean(shares.map((s) => s.tcp));
    const ratio = mp / tcp;
    const status: RowStatus = coupled ? (ratio <= def.maxRatio ? 'pass' : 'fail') : 'info';
    return row(
      def,
      `${subflows} subflow${subflows > 1 ? 's' : ''} + 1 TCP, ${def.bottleneck.rateMbps} Mbit/s`,
      policy,
      { 'MPTCP (Mbit/s)': round(mp, 2), 'TCP (Mbit/s)': round(tcp, 2), 'MPTCP / TCP': round(ratio) },
      coupled ? `MPTCP / TCP <= ${def.maxRatio}` : '',
      status,
      coupled ? undefined : subflows > 1 ? `uncoupled: about ${subflows} expected` : 'one subflow: about 1 expected',
    );
  });
}

// --- 5. request/response messages --------------------------------------------------------------------

/** Latencies (ms) of every answered request over the seeds, requests left unanswered, bytes sent / application bytes. */
interface MessageStats {
  readonly latencies: readonly number[];
  readonly unanswered: number;
  readonly overhead: number;
}

function messageStats(def: MessagesScenario, c: MessagesScenario['cases'][number], policy: Policy, env: SuiteEnvironment): MessageStats {
  return memo(def, `${c.name}/${policy.scheduler}/${policy.cc}`, () => {
    const latencies: number[] = [];
    let appBytes = 0;
    let wireBytes = 0;
    let unanswered = 0;
    for (const seed of def.seeds) {
      const sentAt: Micros[] = [];
      let responsesRead = 0;
      let clientBytes = 0;
      let serverBytes = 0;
      let answered = 0;
      const request = new Uint8Array(def.requestBytes).fill(0x71);
      const response = new Uint8Array(def.responseBytes).fill(0x72);
      const run = twoHosts({
        seed,
        paths: c.paths,
        env,
        policy,
        mptcp: true,
        tcp: { noDelay: true },
        onClient: (conn, e, now) => {
          if (e === 'accepted' || (e.type !== 'readable' && e.type !== 'end')) return;
          for (let b = conn.read(); b; b = conn.read()) {
            clientBytes += b.length;
            while (clientBytes >= (responsesRead + 1) * def.responseBytes) latencies.push((now - sentAt[responsesRead++]!) / 1000);
          }
        },
        onServer: (conn, e) => {
          if (e === 'accepted' || (e.type !== 'readable' && e.type !== 'end')) return;
          for (let b = conn.read(); b; b = conn.read()) serverBytes += b.length;
          while (serverBytes >= (answered + 1) * def.requestBytes) {
            answered++;
            conn.write(response);
          }
        },
      });
      // The first request once the second subflow had time to join (1 s), then one every interval.
      const start = SECOND;
      for (let k = 0; k < def.count; k++) {
        run.pair.net.sim.schedule(start + k * def.intervalMs * 1000, (now) => {
          sentAt.push(now);
          run.client.write(request);
          run.pair.wakeClient();
        });
      }
      runTo(run, start + def.count * def.intervalMs * 1000 + 30 * SECOND);
      unanswered += def.count - responsesRead;
      appBytes += def.count * (def.requestBytes + def.responseBytes);
      wireBytes += wireDataBytes(run.client) + wireDataBytes(run.server());
    }
    return { latencies, unanswered, overhead: wireBytes / appBytes };
  });
}

function runMessages(def: MessagesScenario, policy: Policy, env: SuiteEnvironment): Row[] {
  return def.cases.map((c) => {
    const m = messageStats(def, c, policy, env);
    const p99 = quantile(m.latencies, 0.99);
    const metrics: Record<string, number> = {
      'p50 (ms)': round(quantile(m.latencies, 0.5), 1),
      'p99 (ms)': round(p99, 1),
      'bytes sent / app bytes': round(m.overhead),
      unanswered: m.unanswered,
    };
    let bound = '';
    let status: RowStatus = 'info';
    if (!isDefault(policy)) {
      const defaultP99 = quantile(messageStats(def, c, DEFAULT_POLICY, env).latencies, 0.99);
      metrics['p99 / default'] = round(p99 / defaultP99);
      // Issue 9's acceptance for duplicate mode: a lower p99 than the default scheduler under loss.
      if (policy.scheduler === 'redundant') {
        bound = `p99 < default's (${round(defaultP99, 1)} ms)`;
        status = p99 < defaultP99 ? 'pass' : 'fail';
      }
    }
    if (m.unanswered > 0) status = 'fail';
    return row(def, c.name, policy, metrics, bound, status, m.unanswered > 0 ? `${m.unanswered} requests without a response` : undefined);
  });
}

// --- 6. failover and failback ------------------------------------------------------------------------

function runFailover(def: FailoverScenario, policy: Policy, env: SuiteEnvironment): Row[] {
  const rows: Row[] = [];
  const binMicros = 100_000;
  for (const c of def.cases) {
    const failing = c.paths.findIndex((p) => (p.outages?.length ?? 0) > 0);
    const outage = c.paths[failing]!.outages![0]!;
    const surviving = c.paths.find((_, i) => i !== failing)!;
    const recover: number[] = [];
    const reuse: number[] = [];
    const recreate: number[] = [];
    const detect: number[] = [];
    const stalls: number[] = [];
    for (const seed of def.seeds) {
      const { run, reader } = download({ seed, paths: c.paths, env, policy, mptcp: true, bytes: Infinity, binMicros });
      scheduleOutages(run, failing, c.paths[failing]!.outages!);
      const failAt = Math.round(outage.atMs * 1000);
      const backAt = outage.untilMs !== undefined ? Math.round(outage.untilMs * 1000) : undefined;
      // Sample every 10 ms: new data the server sends on the failing path after its return; subflows re-created.
      let sentAtReturn: number | undefined;
      let reusedAt: Micros | undefined;
      let recreatedAt: Micros | undefined;
      let staleAt: Micros | undefined;
      const resetIds = new Set<number>();
      const pathBytes = () => subflowsOnPath(run.server(), failing).reduce((n, s) => n + s.send.dataBytesSent, 0);
      const sample = (now: Micros) => {
        if (backAt !== undefined && now >= backAt && reusedAt === undefined) {
          sentAtReturn ??= pathBytes();
          if (pathBytes() >= sentAtReturn + 64 * 1024) reusedAt = now;
        }
        if (outage.kind === 'reset' && now > failAt && recreatedAt === undefined) {
          const live = subflowsOnPath(run.client, failing).filter((s) => !resetIds.has(s.id) && s.usable);
          if (live.length > 0) recreatedAt = now;
        }
        if (outage.kind !== 'reset' && now >= failAt && staleAt === undefined && subflowsOnPath(run.server(), failing).some((s) => s.stale)) staleAt = now;
        if (now === failAt) for (const s of subflowsOnPath(run.client, failing)) resetIds.add(s.id);
        if (now + 10_000 <= def.seconds * SECOND) run.pair.net.sim.schedule(now + 10_000, sample);
      };
      run.pair.net.sim.schedule(failAt, sample);
      runTo(run, def.seconds * SECOND);
      // Recovered: the first bin from the failure on that starts 1 s of bins each carrying the fraction of
      // the surviving path's rate (in-order bytes read: a stall behind lost data shows, a burst after it does not hide it).
      const perBin = (def.recoveredFraction * (surviving.rateMbps ?? 0) * 1e6 * binMicros) / 8 / SECOND;
      const window = SECOND / binMicros;
      const first = Math.round(failAt / binMicros);
      let recoveredAt: number | undefined;
      for (let b = first; b + window <= reader.bins.length && recoveredAt === undefined; b++) {
        let k = b;
        while (k < b + window && (reader.bins[k] ?? 0) >= perBin) k++;
        if (k === b + window) recoveredAt = b * binMicros;
      }
      let stall = 0;
      for (let b = first, run = 0; b < Math.min(reader.bins.length, first + (5 * SECOND) / binMicros); b++) {
        run = (reader.bins[b] ?? 0) === 0 ? run + 1 : 0;
        stall = Math.max(stall, run);
      }
      stalls.push(stall * binMicros / 1000);
      recover.push(recoveredAt === undefined ? Infinity : (recoveredAt - failAt) / 1000);
      if (backAt !== undefined) reuse.push(reusedAt === undefined ? Infinity : (reusedAt - backAt) / 1000);
      if (outage.kind === 'reset') recreate.push(recreatedAt === undefined ? Infinity : (recreatedAt - failAt) / 1000);
      else detect.push(staleAt === undefined ? Infinity : (staleAt - failAt) / 1000);
    }
    const worst = (xs: number[]) => (xs.length === 0 ? NaN : Math.max(...xs));
    const metrics: Record<string, number | string> = {
      'goodput back (ms)': Number.isFinite(worst(recover)) ? round(worst(recover), 0) : 'never',
      'longest stall in 5 s (ms)': round(worst(stalls), 0),
    };
    let status: RowStatus = Number.isFinite(worst(recover)) ? 'info' : 'fail';
    let bound = '';
    let note: string | undefined;
    if (detect.length > 0) metrics['stale after (ms)'] = Number.isFinite(worst(detect)) ? round(worst(detect), 0) : 'never';
    if (reuse.length > 0) metrics['path used again (ms)'] = Number.isFinite(worst(reuse)) ? round(worst(reuse), 0) : 'never';
    if (detect.length > 0 && reuse.length > 0 && status !== 'fail') {
      bound = `stale within ${def.detectWithinMs} ms, used again within ${def.reuseWithinMs} ms`;
      status = worst(detect) <= def.detectWithinMs && worst(reuse) <= def.reuseWithinMs ? 'pass' : 'fail';
    }
    if (recreate.length > 0) {
      const r = worst(recreate);
      metrics['subflow re-created (ms)'] = Number.isFinite(r) ? round(r, 0) : 'not implemented';
      bound = `re-created within ${def.recreateWithinMs} ms`;
      status = r <= def.recreateWithinMs ? 'pass' : 'fail';
      if (!Number.isFinite(r)) note = `no new subflow on ${c.paths[failing]!.name} within ${def.seconds * 1000 - outage.atMs} ms after the reset: re-creation not implemented`;
    }
    rows.push(row(def, c.name, policy, metrics, bound, status, note));
  }
  return rows;
}

/** Runs one scenario for one policy. */
export function runScenario(def: ScenarioDef, policy: Policy, env: SuiteEnvironment): Row[] {
  switch (def.kind) {
    case 'simult_flows':
      return runSimultFlows(def, policy, env);
    case 'goodput':
      return runGoodput(def, policy, env);
    case 'downloads':
      return runDownloads(def, policy, env);
    case 'shared_bottleneck':
      return runSharedBottleneck(def, policy, env);
    case 'messages':
      return runMessages(def, policy, env);
    case 'failover':
      return runFailover(def, policy, env);
  }
}
