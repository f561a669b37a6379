/**
 * The kernel rows of the scenario suite (issue 10): the scenarios of src/harness/scenarios/definitions.ts
 * that Linux can take part in, in real time through `mptcp emulate`, with the link parameters of their
 * virtual-time definitions (read from the same objects: SIMULT_FLOWS, WIFI_3G, FAILOVER, WIFI_LTE), for four pairs:
 *
 *   kernel <-> kernel   Linux MPTCP both ends (default scheduler and CC, `ip mptcp limits` / `endpoint`),
 *                       `mptcpize run iperf3`
 *   ours -> kernel      our client (`mptcp perf -c` on TUN devices) against `mptcpize run iperf3 -s`
 *   kernel -> ours      `mptcpize run iperf3 -c` against our server (`mptcp perf -s` on a TUN device)
 *   ours <-> ours       both ends ours, in real time (to compare with the virtual-time rows)
 *
 * Topology: emulate's devices join namespaces L (client side) and R (server side), 198.18.<i>.1 / .2 on path i.
 * The kernel peers use those addresses. Our stack sits behind a TUN device of its own in L (198.18.1<i>.2 per
 * path) or R (198.18.21.2), and the namespace forwards; policy routing keeps each subflow on the path of
 * its client address (from the client's path-i address: path i; to it, on the server side: path i), the
 * way the kernel's own `subflow` endpoint with `dev` does. Every figure is the data receiver's (the client:
 * downloads, iperf3 -R), from iperf3's JSON (our perf writes the same document).
 *
 *   npm run kernel-scenarios                    all rows, writes scenarios/KERNEL.md and scenarios/kernel.json
 *   npm run kernel-scenarios -- --only wifi_3g  some scenarios (simult_flows, wifi_3g, failover, wifi_lte), printed only
 *   npm run kernel-scenarios -- --only wifi_lte --update   rerun some scenarios (every pair) into the snapshot
 *   npm run kernel-scenarios -- --pairs kernel-kernel,ours-kernel   some pairs
 *   npm run kernel-scenarios -- --out DIR       write to DIR
 *   npm run kernel-scenarios -- --pcap DIR      emulate --pcap per row: DIR/<scenario>-<case>-<pair>.pcap (headers)
 *
 * Root, namespaces, /dev/net/tun, iperf3 and mptcpize; each row is skipped with the reason otherwise.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, release, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFrames } from '../src/capture/index.js';
import { FAILOVER, SIMULT_FLOWS, WIFI_3G, WIFI_LTE, simultFlowsBoundMs, type PathDef } from '../src/harness/scenarios/index.js';
import { emulateSkipReason, pathBytes, pathDevices, startEmulate, type EmulateRun } from '../test/support/emulate.js';

const here = dirname(fileURLToPath(import.meta.url));
const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const TRACES = resolve(here, '../../shared/traces');

/** Who runs each end. */
export type Pair = 'kernel-kernel' | 'ours-kernel' | 'kernel-ours' | 'ours-ours';
export const PAIRS: readonly Pair[] = ['kernel-kernel', 'ours-kernel', 'kernel-ours', 'ours-ours'];
const PAIR_TEXT: Record<Pair, string> = {
  'kernel-kernel': 'kernel <-> kernel',
  'ours-kernel': 'ours (client) <-> kernel (server)',
  'kernel-ours': 'kernel (client) <-> ours (server)',
  'ours-ours': 'ours <-> ours (real time)',
};

/** One real-time transfer: a download (the server sends) of `bytes` or for `seconds`, over `paths`. */
export interface KernelCase {
  readonly scenario: string;
  readonly case: string;
  readonly paths: readonly PathDef[];
  /** MPTCP (a subflow per path) or plain TCP on path 0 only. */
  readonly mptcp: boolean;
  readonly bytes?: number;
  readonly seconds?: number;
  /** iperf3 interval (s). */
  readonly interval?: number;
}

/** One row of KERNEL.md. */
export interface KernelRow {
  readonly scenario: string;
  readonly case: string;
  readonly pair: Pair;
  readonly links: readonly string[];
  readonly status: 'ok' | 'skipped' | 'error';
  readonly metrics: Readonly<Record<string, number | string>>;
  readonly note?: string;
}

/** A path of a definition in the words of `mptcp emulate --path` (after the two addresses). */
export function linkWords(p: PathDef, queuePackets?: number, outageShiftS = 0): string {
  const w = p.trace ? [`trace-up=${join(TRACES, p.trace.up)}`, `trace-down=${join(TRACES, p.trace.down)}`, `delay=${p.delayMs}ms`] : [`rate=${p.rateMbps}M`, `delay=${p.delayMs}ms`];
  if (p.loss !== undefined && p.loss > 0) w.push(`loss=${+(p.loss * 100).toFixed(4)}%`);
  if (p.queueBytes !== undefined) w.push(`queue=${p.queueBytes}`);
  else if (p.queuePackets !== undefined || queuePackets !== undefined) w.push(`queue=${p.queuePackets ?? queuePackets}p`);
  const downs = (p.outages ?? []).filter((o) => o.kind === 'down' || o.kind === 'silent');
  if (downs.length > 0) w.push(`down=${downs.map((o) => `${(o.atMs / 1000 + outageShiftS).toFixed(3)}-${((o.untilMs ?? 1e9) / 1000 + outageShiftS).toFixed(3)}`).join(',')}`);
  return w.join(',');
}

/** The cases of the definitions, real-time sized (see `realTimeNote`). */
export function kernelCases(options: { wifi3gSeconds?: number } = {}): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const c of SIMULT_FLOWS.cases) {
    const paths: PathDef[] = [
      { name: 'path 1', rateMbps: c.rate1Mbps, delayMs: c.delay1Ms, queuePackets: SIMULT_FLOWS.queuePackets },
      { name: 'path 2', rateMbps: c.rate2Mbps, delayMs: c.delay2Ms, queuePackets: SIMULT_FLOWS.queuePackets },
    ];
    cases.push({ scenario: SIMULT_FLOWS.id, case: `${c.name} - reverse direction`, paths, mptcp: true, bytes: SIMULT_FLOWS.largeBytes });
  }
  const seconds = options.wifi3gSeconds ?? 20;
  cases.push({ scenario: WIFI_3G.id, case: 'Wi-Fi + 3G: MPTCP', paths: WIFI_3G.paths, mptcp: true, seconds });
  cases.push({ scenario: WIFI_3G.id, case: 'Wi-Fi + 3G: TCP on Wi-Fi', paths: WIFI_3G.paths, mptcp: false, seconds });
  const down = FAILOVER.cases.find((c) => c.paths[0]!.outages?.[0]?.kind === 'down')!;
  cases.push({ scenario: FAILOVER.id, case: down.name, paths: down.paths, mptcp: true, seconds: FAILOVER.seconds, interval: 0.1 });
  // Wi-Fi + LTE: two of the object sizes, one connection each (virtual time: ten seeds, each 1 s further into the trace).
  for (const size of WIFI_LTE.sizes.filter((b) => b === 1 << 20 || b === 16 << 20)) {
    cases.push({ scenario: WIFI_LTE.id, case: `${size / 2 ** 20} MB object`, paths: WIFI_LTE.paths, mptcp: true, bytes: size });
  }
  return cases;
}

/** What differs from the virtual-time definitions, for the table. */
export function realTimeNote(wifi3gSeconds: number): string {
  const down = FAILOVER.cases.find((c) => c.paths[0]!.outages?.[0]?.kind === 'down')!;
  return [
    `simult_flows: the large transfer (${SIMULT_FLOWS.largeBytes / 2 ** 20} MiB) one way only, the server sending (the virtual-time "reverse direction" rows), one run each;`,
    `Wi-Fi + 3G: ${wifi3gSeconds} s instead of ${WIFI_3G.seconds} s, one run (virtual time: seeds ${WIFI_3G.seeds.join(', ')});`,
    `failover: only "${down.name}" (emulate's down= drops every packet while the kernel's device stays up, so it is also the "silent" case; a subflow reset by the peer needs a hook in the kernel server), one run.`,
    'Wi-Fi + LTE: the 1 MB and 16 MB objects only, one run each from the start of the traces (virtual time: 5 sizes x 10 seeds, medians), time = iperf3\'s receiver time (after its control connection is up); the traces start with emulate, so each pair meets them at its own point (the kernel\'s peers start within about 0.5 s, ours after 2 to 4 s of Node start-up): those ratios compare different stretches of the LTE trace;',
    'the shared bottleneck and the request/response scenarios are not in these rows yet.',
  ].join(' ');
}

// ---------------------------------------------------------------------------------------------------------
// Topology

const CLIENT_KERNEL = (i: number): string => `198.18.${i + 1}.1`;
const SERVER_KERNEL = (i: number): string => `198.18.${i + 1}.2`;
const CLIENT_OURS = (i: number): string => `198.18.${i + 11}.2`;
const SERVER_OURS = '198.18.21.2';
const PORT = 5201;

let tunSequence = 0;
function tunName(side: string, i: number): string {
  return `ks${process.pid % 100000}${side}${tunSequence++ % 100}${i}`.slice(0, 15);
}

/** Forwarding, loose reverse-path checks and per-path routing in the two namespaces (see the file's comment). */
function route(run: EmulateRun, n: number): void {
  const devices = pathDevices(run.out());
  if (devices.length !== n) throw new Error(`emulate printed ${devices.length} devices for ${n} paths: ${run.out()}`);
  for (const ns of [run.left, run.right]) {
    ns.setSysctl('net.ipv4.ip_forward', 1);
    ns.setSysctl('net.ipv4.conf.all.rp_filter', 0);
    ns.setSysctl('net.ipv4.conf.default.rp_filter', 0);
    ns.ip('mptcp', 'limits', 'set', 'subflows', String(Math.max(n - 1, 1)), 'add_addr_accepted', String(Math.max(n - 1, 1)));
  }
  run.left.ip('route', 'add', 'default', 'dev', devices[0]![0]);
  for (let i = 0; i < n; i++) {
    const table = String(100 + i);
    run.left.ip('route', 'add', 'default', 'dev', devices[i]![0], 'table', table);
    run.left.ip('rule', 'add', 'from', `${CLIENT_OURS(i)}/32`, 'lookup', table, 'priority', String(1000 + i));
    run.left.ip('rule', 'add', 'from', `${CLIENT_KERNEL(i)}/32`, 'lookup', table, 'priority', String(1100 + i));
    run.right.ip('route', 'add', 'default', 'dev', devices[i]![1], 'table', table);
    run.right.ip('rule', 'add', 'to', `${CLIENT_OURS(i)}/32`, 'lookup', table, 'priority', String(1000 + i));
  }
}

interface Child {
  readonly proc: ChildProcess;
  out(): string;
  err(): string;
  readonly exit: Promise<number | null>;
}

function child(proc: ChildProcess): Child {
  let out = '';
  let err = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((r) => proc.once('close', (c) => r(c)));
  return { proc, out: () => out, err: () => err, exit };
}

function ours(args: readonly string[]): Child {
  return child(spawn(process.execPath, ['--import', 'tsx', MAIN, 'perf', ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
}

async function until(what: string, ok: () => boolean, c: Child, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  let exited = false;
  void c.exit.then(() => (exited = true));
  while (!ok()) {
    if (exited) throw new Error(`${what}: exited early: ${c.err()}${c.out().slice(0, 2000)}`);
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms: ${c.err()}${c.out().slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function stopChild(c: Child): Promise<void> {
  if (c.proc.exitCode === null && c.proc.signalCode === null) {
    try {
      process.kill(c.proc.pid!, 'SIGTERM');
    } catch {
      // gone
    }
    const timer = setTimeout(() => c.proc.kill('SIGKILL'), 5000);
    await c.exit;
    clearTimeout(timer);
  }
}

interface IperfJson {
  readonly end: { readonly sum_received: { readonly bytes: number; readonly seconds: number; readonly bits_per_second: number } };
  readonly intervals: ReadonlyArray<{ readonly sum: { readonly start: number; readonly end: number; readonly bytes: number } }>;
}

/** Runs one case for one pair through a fresh emulate; the receiver's iperf3 JSON and when the client exited. */
async function transfer(kc: KernelCase, pair: Pair, leadS: number, pcap?: string): Promise<{ json: IperfJson; clientExitAt: number; readyAt: number; links: string[]; perPath: number[] }> {
  const n = kc.mptcp ? kc.paths.length : 1;
  const links = kc.paths.slice(0, n).map((p) => linkWords(p, undefined, leadS));
  const run = await startEmulate(links.map((l, i) => `${CLIENT_KERNEL(i)}/24,${SERVER_KERNEL(i)}/24,${l}`), { label: 'ksc', ...(pcap !== undefined ? { extraArgs: ['--pcap', pcap] } : {}) });
  const children: Child[] = [];
  try {
    route(run, n);
    const devices = pathDevices(run.out());
    const [clientSide, serverSide] = pair.split('-') as ['kernel' | 'ours', 'kernel' | 'ours'];
    const serverAddress = serverSide === 'kernel' ? SERVER_KERNEL(0) : SERVER_OURS;
    const wrap = (args: string[]): [string, string[]] => (kc.mptcp ? ['mptcpize', ['run', 'iperf3', ...args]] : ['iperf3', args]);
    // The server.
    if (serverSide === 'kernel') {
      const [cmd, args] = wrap(['-s', '-1', '-B', serverAddress, '-p', String(PORT)]);
      const s = child(run.right.spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
      children.push(s);
      await until('iperf3 -s', () => run.right.execSync('ss', ['-Hltn', `sport = :${PORT}`]).trim() !== '', s, 10_000);
    } else {
      const s = ours(['-s', '-1', '-p', String(PORT), '--iface', `tun:${tunName('s', 0)},addr=${SERVER_OURS}/24,peer=${SERVER_OURS.replace(/\.\d+$/, '.1')}/24,netns=${run.right.name}`, ...(kc.mptcp ? ['--limits', `subflows ${Math.max(n - 1, 1)}`] : ['--no-mptcp'])]);
      children.push(s);
      await until('mptcp perf -s', () => /listening/i.test(s.out()), s, 30_000);
    }
    // The client (downloads: -R).
    const what = kc.bytes !== undefined ? ['-n', String(kc.bytes)] : ['-t', String(kc.seconds)];
    // -C cubic: the sender's CC is cubic in every pair, as ours. iperf3 passes it to its server (the sender of a
    // download, TCP_CONGESTION on its socket; MPTCP's applies it to every subflow). Without it the kernel sends
    // with the machine's default (net.ipv4.tcp_congestion_control, bbr here), which does not back off on random
    // loss: 7.6 Mbit/s on the 2%-loss Wi-Fi path where its cubic gets 3.6, as ours.
    const common = ['-c', serverAddress, '-p', String(PORT), '-R', '--json', '-i', String(kc.interval ?? 1), '-C', 'cubic', ...what];
    let c: Child;
    if (clientSide === 'kernel') {
      for (let i = 1; i < n; i++) run.left.ip('mptcp', 'endpoint', 'add', CLIENT_KERNEL(i), 'dev', devices[i]![0], 'subflow');
      const [cmd, args] = wrap(common.map((a) => (a === '--json' ? '-J' : a)));
      c = child(run.left.spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    } else {
      const ifaces = Array.from({ length: n }, (_, i) => ['--iface', `tun:${tunName('c', i)},addr=${CLIENT_OURS(i)}/24,peer=${CLIENT_OURS(i).replace(/\.\d+$/, '.1')}/24,netns=${run.left.name}`]).flat();
      const eps = Array.from({ length: n - 1 }, (_, i) => ['--endpoint', `${CLIENT_OURS(i + 1)} subflow`]).flat();
      c = ours([...common, ...ifaces, ...(kc.mptcp ? eps : ['--no-mptcp'])]);
    }
    children.push(c);
    const limitMs = ((kc.seconds ?? (kc.bytes! * 8) / 2e6) + 60) * 1000;
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([c.exit, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), limitMs)))]);
    clearTimeout(timer);
    const clientExitAt = Date.now();
    if (code !== 0) throw new Error(`client ${code}: ${c.err().slice(0, 500)}${c.out().slice(0, 1500)}`);
    const text = c.out();
    const json = JSON.parse(text.slice(text.indexOf('{'))) as IperfJson;
    const perPath = pathBytes((await run.stop()).out).map((p) => p.down);
    return { json, clientExitAt, readyAt: run.readyAt, links: links.map((l) => l.replaceAll(`${TRACES}/`, '')), perPath };
  } finally {
    for (const ch of children) await stopChild(ch);
    await run.dispose();
  }
}

const mbps = (bps: number): number => Number((bps / 1e6).toFixed(2));

/** Failover figures from 100 ms bins: goodput back (as FAILOVER defines it) and the rates before, during, after. */
function failoverMetrics(json: IperfJson, failAtS: number, returnAtS: number, survivingMbps: number): Record<string, number | string> {
  const bins = json.intervals.map((iv) => ({ start: iv.sum.start, end: iv.sum.end, bps: (iv.sum.bytes * 8) / Math.max(iv.sum.end - iv.sum.start, 1e-3) }));
  const rate = (from: number, to: number): number => {
    const inside = bins.filter((b) => b.start >= from && b.end <= to);
    const bytes = inside.reduce((a, b) => a + (b.bps * (b.end - b.start)) / 8, 0);
    const span = inside.reduce((a, b) => a + (b.end - b.start), 0);
    return span > 0 ? (bytes * 8) / span : 0;
  };
  const good = FAILOVER.recoveredFraction * survivingMbps * 1e6;
  let back: number | string = 'never';
  for (let i = 0; i + 10 <= bins.length; i++) {
    if (bins[i]!.start < failAtS) continue;
    if (bins.slice(i, i + 10).every((b) => b.bps >= good)) {
      back = Math.round((bins[i]!.start - failAtS) * 1000);
      break;
    }
  }
  return {
    'goodput back (ms)': back,
    'before (Mbit/s)': mbps(rate(1, failAtS)),
    'during (Mbit/s)': mbps(rate(failAtS, returnAtS)),
    'after (Mbit/s)': mbps(rate(returnAtS + 2, 1e9)),
    'outage at (s)': Number(failAtS.toFixed(2)),
  };
}

/**
 * When path 1 failed, in seconds of the receiver's iperf3 clock, from emulate's capture: the transfer's 0 is
 * the first data segment from the server (iperf3 -R: the server sends once the test runs, when the client's
 * interval clock starts, within a one-way delay), the failure the last packet path 1 delivered before its
 * longest silence (path 1 carries data until emulate's down= starts). Undefined when the capture shows no
 * such silence. Before, the transfer's 0 was taken as the client's exit less the test's length, which our
 * perf client (Node) reaches seconds after the test: the failure was placed seconds early, before the
 * outage, and the 'goodput back' figures of our client (0 and 38 ms) counted bins from before it.
 */
export function failureFromCapture(pcap: Uint8Array, path1Clients: readonly string[]): { failAtS: number; startMicros: number; failMicros: number } | undefined {
  const { frames } = readFrames(pcap);
  let start: number | undefined;
  let last: number | undefined;
  let gap = 0;
  let failMicros: number | undefined;
  for (const f of frames) {
    if (f.kind !== 'tcp') continue;
    if (start === undefined) {
      if (f.segment.srcPort === PORT && f.payloadLength >= 500) start = f.timestampMicros;
      else continue;
    }
    if (!path1Clients.includes(f.src) && !path1Clients.includes(f.dst)) continue;
    if (last !== undefined && f.timestampMicros - last > gap) {
      gap = f.timestampMicros - last;
      failMicros = last;
    }
    last = f.timestampMicros;
  }
  if (start === undefined || failMicros === undefined || gap < 1e6) return undefined;
  return { failAtS: (failMicros - start) / 1e6, startMicros: start, failMicros };
}

/** The lead (s) given to the outages: the time from emulate's ready to the transfer's start, about. */
const LEAD_S = { kernel: 0.5, ours: 4 };

/** One row: runs the case for the pair, or says why it cannot. */
export async function kernelRow(kc: KernelCase, pair: Pair, skip: string | false = skipReason(), pcapDir?: string): Promise<KernelRow> {
  const base = { scenario: kc.scenario, case: kc.case, pair };
  if (skip) return { ...base, links: [], status: 'skipped', metrics: {}, note: skip };
  const lead = pair.startsWith('ours') || pair.endsWith('ours') ? LEAD_S.ours : LEAD_S.kernel;
  try {
    // Failover rows always capture (headers only): the failure's time is read from it (failureFromCapture).
    const temporary = pcapDir === undefined && kc.scenario === FAILOVER.id ? join(tmpdir(), `kernel-scenarios-${process.pid}-${pair}.pcap`) : undefined;
    const pcap = pcapDir === undefined ? temporary : join(pcapDir, `${kc.scenario}-${kc.case.replace(/[^A-Za-z0-9]+/g, '_')}-${pair}.pcap`);
    let r: Awaited<ReturnType<typeof transfer>>;
    let failure: ReturnType<typeof failureFromCapture>;
    try {
      r = await transfer(kc, pair, kc.scenario === FAILOVER.id ? lead : 0, pcap);
      if (kc.scenario === FAILOVER.id) failure = failureFromCapture(readFileSync(pcap!), [CLIENT_KERNEL(0), CLIENT_OURS(0)]);
    } finally {
      if (temporary !== undefined) rmSync(temporary, { force: true });
    }
    const recv = r.json.end.sum_received;
    const metrics: Record<string, number | string> = { 'goodput (Mbit/s)': mbps(recv.bits_per_second), 'received (MiB)': Number((recv.bytes / 2 ** 20).toFixed(2)),
      'MiB down per path': r.perPath.map((b) => (b / 2 ** 20).toFixed(1)).join(' / ') };
    if (kc.bytes !== undefined && kc.scenario === WIFI_LTE.id) metrics['time (ms)'] = Math.round(recv.seconds * 1000);
    else if (kc.bytes !== undefined) {
      const bound = simultFlowsBoundMs(kc.bytes, kc.paths[0]!.rateMbps!, kc.paths[1]!.rateMbps!) / 1000;
      metrics['time (s)'] = Number(recv.seconds.toFixed(3));
      metrics['bound (s)'] = Number(bound.toFixed(3));
      metrics['time / bound'] = Number((recv.seconds / bound).toFixed(3));
    }
    if (kc.scenario === FAILOVER.id) {
      const outage = kc.paths[0]!.outages![0]!;
      if (failure === undefined) throw new Error(`failover: the capture shows no outage of path 1 (${pcap})`);
      const lengthS = ((outage.untilMs ?? 1e9) - outage.atMs) / 1000;
      Object.assign(metrics, failoverMetrics(r.json, failure.failAtS, failure.failAtS + lengthS, kc.paths[1]!.rateMbps!));
      // How far the old estimate (the client's exit less the test's length) was off: our client's exit lag.
      const startS = (r.clientExitAt - r.readyAt) / 1000 - kc.seconds!;
      metrics['failure: old estimate - capture (s)'] = Number((outage.atMs / 1000 + lead - startS - failure.failAtS).toFixed(2));
    }
    return { ...base, links: r.links, status: 'ok', metrics };
  } catch (e) {
    return { ...base, links: [], status: 'error', metrics: {}, note: (e instanceof Error ? e.message : String(e)).split('\n').slice(0, 3).join(' ') };
  }
}

/** Why the kernel rows cannot run here, or false. */
export function skipReason(): string | false {
  return emulateSkipReason(['iperf3', 'mptcpize']);
}

// ---------------------------------------------------------------------------------------------------------
// The table

interface VirtualRow {
  readonly scenario: string;
  readonly case: string;
  readonly scheduler: string;
  readonly cc: string;
  readonly metrics: Record<string, number | string>;
}

/** The virtual-time figure of the same case (default scheduler, cubic), from scenarios/results.json. */
function virtualFigure(rows: readonly VirtualRow[], kc: KernelCase): string {
  const pick = (scenario: string, c: string): VirtualRow | undefined => rows.find((r) => r.scenario === scenario && r.case === c && r.scheduler === 'default' && r.cc === 'cubic');
  if (kc.scenario === SIMULT_FLOWS.id) {
    const r = pick(kc.scenario, kc.case);
    return r ? `${r.metrics['time (s)']} s` : '';
  }
  if (kc.scenario === WIFI_3G.id) {
    const r = pick(kc.scenario, 'Wi-Fi + 3G');
    if (!r) return '';
    return `${kc.mptcp ? r.metrics['MPTCP (Mbit/s)'] : r.metrics['TCP on Wi-Fi, cubic (Mbit/s)']} Mbit/s`;
  }
  const r = pick(kc.scenario, kc.case);
  if (kc.scenario === WIFI_LTE.id) return r ? `${r.metrics['median (ms)']} ms (median)` : '';
  return r ? `back in ${r.metrics['goodput back (ms)']} ms` : '';
}

/** The headline figure of a row and whether lower is better. */
function figure(kc: KernelCase, row: KernelRow): { value: number | undefined; text: string; lowerIsBetter: boolean } {
  if (row.status !== 'ok') return { value: undefined, text: row.status, lowerIsBetter: false };
  if (kc.scenario === WIFI_LTE.id) {
    const t = row.metrics['time (ms)'] as number;
    return { value: t, text: `${t} ms`, lowerIsBetter: true };
  }
  if (kc.bytes !== undefined) {
    const t = row.metrics['time (s)'] as number;
    return { value: t, text: `${t.toFixed(2)} s (${row.metrics['time / bound']} of bound)`, lowerIsBetter: true };
  }
  if (kc.scenario === FAILOVER.id) {
    const b = row.metrics['goodput back (ms)'];
    return { value: typeof b === 'number' ? b : undefined, text: `back in ${b} ms; ${row.metrics['during (Mbit/s)']} Mbit/s during`, lowerIsBetter: true };
  }
  const g = row.metrics['goodput (Mbit/s)'] as number;
  return { value: g, text: `${g.toFixed(2)} Mbit/s`, lowerIsBetter: false };
}

export function kernelMarkdown(cases: readonly KernelCase[], rows: readonly KernelRow[], header: string): string {
  let virtual: VirtualRow[] = [];
  try {
    virtual = (JSON.parse(readFileSync(join(here, 'results.json'), 'utf8')) as { rows: VirtualRow[] }).rows;
  } catch {
    // no snapshot: no virtual-time column
  }
  const pairs = PAIRS.filter((p) => rows.some((r) => r.pair === p));
  const lines = [header, '', `| scenario | case | links (emulate --path) | virtual time, ours | ${pairs.map((p) => PAIR_TEXT[p]).join(' | ')} | ${pairs.filter((p) => p !== 'kernel-kernel').map((p) => `${p} / kernel-kernel`).join(' | ')} |`];
  lines.push(`| --- | --- | --- | --- | ${pairs.map(() => '---').join(' | ')} | ${pairs.filter((p) => p !== 'kernel-kernel').map(() => '---:').join(' | ')} |`);
  for (const kc of cases) {
    const mine = rows.filter((r) => r.scenario === kc.scenario && r.case === kc.case);
    if (mine.length === 0) continue;
    const links = mine.find((r) => r.links.length > 0)?.links.join('<br>') ?? '';
    const kk = mine.find((r) => r.pair === 'kernel-kernel');
    const kf = kk ? figure(kc, kk) : undefined;
    const cells = pairs.map((p) => {
      const r = mine.find((x) => x.pair === p);
      return r ? figure(kc, r).text : '';
    });
    const ratios = pairs
      .filter((p) => p !== 'kernel-kernel')
      .map((p) => {
        const r = mine.find((x) => x.pair === p);
        const f = r ? figure(kc, r) : undefined;
        return f?.value !== undefined && kf?.value !== undefined && kf.value > 0 ? (f.value / kf.value).toFixed(3) : '';
      });
    lines.push(`| ${kc.scenario} | ${kc.case} | ${links} | ${virtualFigure(virtual, kc)} | ${cells.join(' | ')} | ${ratios.join(' | ')} |`);
  }
  const notes = rows.filter((r) => r.status !== 'ok');
  if (notes.length > 0) {
    lines.push('', 'Rows not measured:', '');
    for (const r of notes) lines.push(`- ${r.scenario} / ${r.case} / ${PAIR_TEXT[r.pair]}: ${r.status}: ${r.note ?? ''}`);
  }
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------------------
// The command

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  let only: string[] | undefined;
  let pairs: Pair[] = [...PAIRS];
  let out: string | undefined;
  let wifi3gSeconds = 20;
  let update = false;
  let pcapDir: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const v = (): string => {
      const x = args[++i];
      if (x === undefined) {
        console.error(`kernel-scenarios: ${a} needs a value`);
        process.exit(2);
      }
      return x;
    };
    if (a === '--only') only = v().split(',');
    else if (a === '--pairs') pairs = v().split(',') as Pair[];
    else if (a === '--out') out = v();
    else if (a === '--seconds') wifi3gSeconds = Number(v());
    else if (a === '--update') update = true;
    else if (a === '--pcap') pcapDir = resolve(v());
    else {
      console.error(`kernel-scenarios: unknown argument "${a}"\nusage: npm run kernel-scenarios -- [--only simult_flows,wifi_3g,failover] [--pairs ${PAIRS.join(',')}] [--seconds S] [--out DIR] [--update] [--pcap DIR]`);
      process.exit(2);
    }
  }
  for (const p of pairs) {
    if (!PAIRS.includes(p)) {
      console.error(`kernel-scenarios: unknown pair "${p}"; available: ${PAIRS.join(', ')}`);
      process.exit(2);
    }
  }
  const filtered = only !== undefined || pairs.length !== PAIRS.length;
  if ((!filtered || update) && out === undefined) out = here;
  const cases = kernelCases({ wifi3gSeconds }).filter((c) => only === undefined || only.includes(c.scenario));
  const skip = skipReason();
  if (pcapDir !== undefined) mkdirSync(pcapDir, { recursive: true });
  const load = [loadavg()];
  const started = Date.now();
  const rows: KernelRow[] = [];
  for (const kc of cases) {
    for (const pair of pairs) {
      const row = await kernelRow(kc, pair, skip, pcapDir);
      rows.push(row);
      load.push(loadavg());
      console.log(`${row.scenario} | ${row.case} | ${PAIR_TEXT[pair]} | ${Object.entries(row.metrics).map(([k, v]) => `${k} ${v}`).join(', ')} | ${row.status}${row.note ? ` (${row.note})` : ''}`);
    }
  }
  const wall = (Date.now() - started) / 1000;
  const loads = load.map((l) => l[0]!);
  const meta = {
    date: new Date().toISOString(),
    kernel: release(),
    wallSeconds: Number(wall.toFixed(1)),
    loadAverage1m: { min: Math.min(...loads), max: Math.max(...loads), atStart: loads[0] },
    note: realTimeNote(wifi3gSeconds),
  };
  const header = [
    '# Scenario suite: kernel rows (real time)',
    '',
    'Written by `npm run kernel-scenarios` (scenarios/kernel.ts): the scenarios of src/harness/scenarios/definitions.ts',
    'that Linux can take part in, with the links of their virtual-time definitions, in real time through `mptcp emulate`.',
    'Linux MPTCP with its default scheduler and cubic (`ip mptcp limits`, a `subflow` endpoint per extra path,',
    '`mptcpize run iperf3 -C cubic`); ours is `mptcp perf` on TUN devices (default scheduler, cubic). Every transfer is a',
    'download (the server sends, iperf3 -R), figures from the receiver. Ratios: the pair\'s figure / kernel <-> kernel\'s',
    '(times: lower is better; goodput: higher is better). "virtual time, ours" is scenarios/RESULTS.md\'s default/cubic row.',
    '',
    `Snapshot: ${meta.date}, Linux ${meta.kernel}, ${wall.toFixed(0)} s wall; 1-minute load average ${meta.loadAverage1m.min.toFixed(2)} to ${meta.loadAverage1m.max.toFixed(2)}`,
    'on a 2-core machine shared with other work: real-time figures vary from run to run (one run per row).',
    '',
    `Shorter than the virtual-time suite: ${meta.note}`,
  ].join('\n');
  // --update: the scenarios run replace theirs in the committed snapshot; the others' rows stay, with their date.
  let allRows: KernelRow[] = rows;
  let updates: Array<{ date: string; scenarios: string[]; pairs?: Pair[]; loadAverage1m: typeof meta.loadAverage1m; wallSeconds: number }> = [];
  let headerText = header;
  if (update) {
    const old = JSON.parse(readFileSync(join(out!, 'kernel.json'), 'utf8')) as typeof meta & { rows: KernelRow[]; updates?: typeof updates };
    const ran = new Set(cases.map((c) => c.scenario));
    // Only the rows rerun are replaced: with --pairs, the other pairs' rows of those scenarios stay.
    allRows = [...old.rows.filter((r) => !(ran.has(r.scenario) && pairs.includes(r.pair))), ...rows];
    updates = [...(old.updates ?? []), { date: meta.date, scenarios: [...ran], ...(pairs.length !== PAIRS.length ? { pairs } : {}), loadAverage1m: meta.loadAverage1m, wallSeconds: meta.wallSeconds }];
    Object.assign(meta, { date: old.date, kernel: old.kernel, wallSeconds: old.wallSeconds, loadAverage1m: old.loadAverage1m });
    headerText = header.replace(/^Snapshot: [^,]+, Linux [^,]+, \d+ s wall; 1-minute load average [\d.]+ to [\d.]+/m, `Snapshot: ${old.date}, Linux ${old.kernel}, ${old.wallSeconds.toFixed(0)} s wall; 1-minute load average ${old.loadAverage1m.min.toFixed(2)} to ${old.loadAverage1m.max.toFixed(2)}`);
    headerText += updates.map((u) => `\n\nRows of ${u.scenarios.join(', ')}${u.pairs ? ` (${u.pairs.map((p) => PAIR_TEXT[p]).join(', ')})` : ''} rerun on their own (\`--only ${u.scenarios.join(',')}${u.pairs ? ` --pairs ${u.pairs.join(',')}` : ''} --update\`): ${u.date}, ${u.wallSeconds.toFixed(0)} s wall, load ${u.loadAverage1m.min.toFixed(2)} to ${u.loadAverage1m.max.toFixed(2)}.`).join('');
  }
  const allCases = kernelCases({ wifi3gSeconds });
  const md = kernelMarkdown(update ? allCases : cases, allRows, headerText);
  console.log(`\n${rows.length} rows: ${rows.filter((r) => r.status === 'ok').length} ok; wall ${wall.toFixed(1)} s`);
  if (out !== undefined) {
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'KERNEL.md'), md);
    writeFileSync(join(out, 'kernel.json'), JSON.stringify({ ...meta, ...(updates.length > 0 ? { updates } : {}), rows: allRows }, null, 2) + '\n');
    console.log(`wrote ${join(resolve(out), 'KERNEL.md')} and kernel.json`);
  } else console.log(md);
}
