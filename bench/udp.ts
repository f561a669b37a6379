/**
 * UDP transport benchmarks (issue 13): how many datagrams per second Node's dgram moves over loopback on
 * this machine with nothing else to do (the ceiling), and how close our stack over `--iface udp:` paths
 * gets to it, in the same run.
 * - ceiling: a sender process and a receiver process (bench/udp-peer.ts), 1500-byte IP datagrams (1472
 *   bytes of UDP payload, what our UDP path carries at its default MTU), over one socket pair and over
 *   several; datagrams per second sent and received (a datagram the receiver's socket buffer had no room
 *   for is lost: the received rate is the ceiling that counts);
 * - ours: `mptcp perf -s` and `mptcp perf -c` (two processes, both our stack, run from the sources through
 *   tsx) on udp paths on 127.0.0.x: plain TCP on one path, MPTCP with two paths (the client joins from its
 *   second). Gbit/s of goodput, and data datagrams per second (goodput bytes / the segment payload, which
 *   is the MSS of the path's 1472-byte MTU less the TCP options each segment carries: timestamps, and for
 *   MPTCP a DSS mapping) as a fraction of the ceiling.
 * Loopback only. Wall-clock rates on a shared 2-core machine: compare within a run.
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeUdpPort } from '../test/perf/helpers.js';
import { sig3, type BenchResult } from './measure.js';

const PEER = fileURLToPath(new URL('./udp-peer.ts', import.meta.url));
const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const DATAGRAM = 1472;
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const SECONDS = Number(process.env.UDP_BENCH_SECONDS ?? 4);
/** Seconds of each perf test left out of its statistics (the JIT warming up, slow start, the join). */
const OMIT = 2;
/** Payload bytes per data segment at MTU 1472: 1472 - 20 (IPv4) - 20 (TCP) - 12 (timestamps), less the DSS. */
const PAYLOAD = { tcp: 1420, mptcp: 1400 } as const;

interface Peer {
  readonly child: ChildProcess;
  next(): Promise<Record<string, number | number[] | boolean>>;
  ask(cmd?: 'mark' | 'stop'): Promise<Record<string, number>>;
}

function startPeer(args: string[]): Peer {
  const child = fork(PEER, args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const queue: Array<Record<string, number | number[] | boolean>> = [];
  const waiting: Array<(m: Record<string, number | number[] | boolean>) => void> = [];
  child.on('message', (m) => {
    const w = waiting.shift();
    if (w) w(m as Record<string, number>);
    else queue.push(m as Record<string, number>);
  });
  const next = (): Promise<Record<string, number | number[] | boolean>> => {
    const q = queue.shift();
    if (q) return Promise.resolve(q);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`udp-peer ${args[0]} did not answer`)), 20_000);
      waiting.push((m) => (clearTimeout(timer), resolve(m)));
    });
  };
  return {
    child,
    next,
    ask: (cmd = 'mark') => {
      child.send({ cmd });
      return next() as Promise<Record<string, number>>;
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What the dgram ceiling measured: rates, and CPU microseconds per datagram at each end. */
export interface Ceiling {
  /** Datagrams per second sent and received (wall clock). */
  readonly sent: number;
  readonly received: number;
  /** CPU microseconds per datagram: the sender's per datagram sent, the receiver's per datagram received. */
  readonly sendCpu: number;
  readonly receiveCpu: number;
  /** Totals over the whole run (the sender stopped first): the receiver never counts more than was sent. */
  readonly totalSent: number;
  readonly totalReceived: number;
}

/** dgram between two processes over `pairs` socket pairs, for `seconds` after a warm-up. */
export async function dgramCeiling(pairs: number, seconds = SECONDS): Promise<Ceiling> {
  const receiver = startPeer(['receive', String(pairs), String(DATAGRAM)]);
  let sender: Peer | undefined;
  try {
    const { ports } = (await receiver.next()) as { ports: number[] };
    sender = startPeer(['send', String(pairs), String(DATAGRAM), ...ports.map(String)]);
    await sender.next();
    await sleep(500); // warm-up
    const [s0, r0] = await Promise.all([sender.ask(), receiver.ask()]);
    await sleep(seconds * 1000);
    const [s1, r1] = await Promise.all([sender.ask(), receiver.ask()]);
    const s2 = await sender.ask('stop');
    await sleep(100); // what was sent last has arrived (or was dropped)
    const r2 = await receiver.ask();
    const sent = s1.sent! - s0.sent!;
    const received = r1.received! - r0.received!;
    return {
      sent: (sent * 1e6) / (s1.micros! - s0.micros!),
      received: (received * 1e6) / (r1.micros! - r0.micros!),
      sendCpu: (s1.cpu! - s0.cpu!) / sent,
      receiveCpu: (r1.cpu! - r0.cpu!) / Math.max(1, received),
      totalSent: s2.sent!,
      totalReceived: r2.received!,
    };
  } finally {
    sender?.child.kill('SIGKILL');
    receiver.child.kill('SIGKILL');
  }
}

/** CPU seconds (user + system, every thread) a process has used so far: /proc/PID/stat, in clock ticks. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS; // fields 14 and 15 (utime, stime), after pid and comm
}

interface PerfProcess {
  readonly child: ChildProcess;
  out(): string;
  readonly exit: Promise<number | null>;
  /** Called with each line of standard output as it arrives. */
  onLine: ((line: string) => void) | undefined;
}

function perfProcess(main: string, args: string[], timeoutMs: number): PerfProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', main, 'perf', ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: dirname(dirname(dirname(main))) });
  let out = '';
  let partial = '';
  const p: PerfProcess = { child, out: () => out, exit: undefined as unknown as Promise<number | null>, onLine: undefined };
  child.stdout!.on('data', (d: Buffer) => {
    const text = d.toString();
    out += text;
    const lines = (partial + text).split('\n');
    partial = lines.pop()!;
    for (const line of lines) p.onLine?.(line);
  });
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  (p as { exit: Promise<number | null> }).exit = new Promise<number | null>((resolve) => child.once('close', (code) => (clearTimeout(killer), resolve(code))));
  return p;
}

const UNITS: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3 };
/** An interval line of perf's text output: "[  1]   2.00-3.00   sec  29.4 MBytes   246 Mbits/sec ...". */
const INTERVAL = /^\[\s*\d+\]\s+(\d+\.\d+)-(\d+\.\d+)\s+sec\s+([\d.]+) ([KMG]?)Bytes\s/;

/** What one `mptcp perf` run over UDP paths measured, over the test's last `seconds` (the first OMIT left out). */
export interface StackRun {
  /** Goodput the client's interval lines report over the window, bits per second. */
  readonly bitsPerSecond: number;
  /** Data bytes the client sent in the window. */
  readonly bytes: number;
  /** CPU seconds each process used in the window (from the line that ends the omitted part to the last). */
  readonly clientCpu: number;
  readonly serverCpu: number;
  /** Wall seconds of the window, as the lines arrived. */
  readonly wall: number;
}

/** Our stack over UDP paths on loopback: `mptcp perf` both ends (the client sends). */
export async function stackOverUdp(mptcp: boolean, seconds = SECONDS, main = MAIN): Promise<StackRun> {
  const paths = mptcp ? 2 : 1;
  const ports = await Promise.all(Array.from({ length: paths }, (_, i) => freeUdpPort(`127.0.0.${2 + i}`)));
  const server = perfProcess(main, ['-s', '-1', ...ports.flatMap((p, i) => ['--iface', `udp:127.0.0.${2 + i}:${p}`])], (seconds + 40) * 1000);
  let client: PerfProcess | undefined;
  try {
    for (const until = Date.now() + 30_000; !server.out().includes('Server listening'); await sleep(25)) {
      if (Date.now() > until) throw new Error(`mptcp perf -s did not start: ${server.out()}`);
    }
    const c = perfProcess(
      main,
      [
        '-c', '127.0.0.2', '-t', String(seconds + OMIT), '-i', '1',
        ...ports.flatMap((p, i) => ['--iface', `udp:127.0.0.${4 + i},remote=127.0.0.${2 + i}:${p}`]),
        ...(mptcp ? ['--endpoint', '127.0.0.5 subflow'] : ['--no-mptcp']),
      ],
      (seconds + 30) * 1000,
    );
    client = c;
    // CPU of both processes as each interval line arrives (the client prints it when the interval ends).
    const marks: Array<{ end: number; bytes: number; at: number; clientCpu: number; serverCpu: number }> = [];
    c.onLine = (line) => {
      const m = INTERVAL.exec(line);
      if (!m || /sender|receiver/.test(line)) return;
      try {
        marks.push({ end: Number(m[2]), bytes: Number(m[3]) * (UNITS[m[4]!] ?? 1), at: performance.now(), clientCpu: cpuSeconds(c.child.pid!), serverCpu: cpuSeconds(server.child.pid!) });
      } catch {
        // a process already gone: the interval is not counted
      }
    };
    const code = await c.exit;
    if (code !== 0) throw new Error(`mptcp perf -c exited ${code}: ${c.out().slice(-400)}`);
    await server.exit;
    const first = marks.findIndex((m) => m.end >= OMIT - 0.1);
    const last = marks[marks.length - 1];
    if (first < 0 || !last || last === marks[first]) throw new Error(`mptcp perf -c printed too few intervals: ${c.out().slice(-400)}`);
    const start = marks[first]!;
    let bytes = 0;
    for (const m of marks.slice(first + 1)) bytes += m.bytes;
    return {
      bitsPerSecond: (bytes * 8) / (last.end - start.end),
      bytes,
      clientCpu: last.clientCpu - start.clientCpu,
      serverCpu: last.serverCpu - start.serverCpu,
      wall: (last.at - start.at) / 1000,
    };
  } finally {
    server.child.kill('SIGKILL');
    client?.child.kill('SIGKILL');
  }
}

/** Rounds of each `mptcp perf` measurement (interleaved with the baseline's, if any); the mean is reported. */
const ROUNDS = Number(process.env.UDP_BENCH_ROUNDS ?? 2);

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * `UDP_BENCH_BASELINE=DIR npm run bench udp` also runs `mptcp perf` from the checkout in DIR (e.g. the
 * main worktree, to measure a change against it), interleaved with ours, in the same run.
 *
 * Two kinds of figure: wall-clock rates (what the run got on this machine, shared with other work), and
 * CPU-bound rates: 10^6 / the larger of the two ends' CPU microseconds per datagram, the rate if each
 * process had a core of its own and nothing else ran (what a loaded machine distorts least).
 */
export async function benchUdp(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  const ceilings = new Map<number, Ceiling>();
  for (const pairs of [1, 2, 4]) {
    const r = await dgramCeiling(pairs);
    ceilings.set(pairs, r);
    const what = `${pairs} socket pair${pairs > 1 ? 's' : ''}`;
    out.push({ name: `udp.dgram ceiling, ${what}: received (wall)`, value: Math.round(r.received), unit: 'datagrams/s', note: `sent ${Math.round(r.sent)}/s; ${DATAGRAM}-byte payloads (1500-byte IP datagrams), two processes, ${SECONDS} s` });
    out.push({ name: `udp.dgram ceiling, ${what}: CPU-bound`, value: Math.round(1e6 / Math.max(r.sendCpu, r.receiveCpu)), unit: 'datagrams/s', note: `CPU per datagram: sender ${sig3(r.sendCpu)} us, receiver ${sig3(r.receiveCpu)} us` });
  }
  const baseline = process.env.UDP_BENCH_BASELINE;
  const trees: Array<[label: string, main: string]> = [['ours', MAIN]];
  if (baseline) trees.unshift([`baseline ${baseline}`, join(baseline, 'src/cli/main.ts')]);
  for (const mptcp of [false, true]) {
    const kind = mptcp ? 'mptcp' : 'tcp';
    const label = mptcp ? 'MPTCP, 2 paths' : 'TCP, 1 path';
    const pairs = mptcp ? 2 : 1;
    const ceiling = ceilings.get(pairs)!;
    const ceilingCpuBound = 1e6 / Math.max(ceiling.sendCpu, ceiling.receiveCpu);
    const runs = new Map<string, StackRun[]>(trees.map(([t]) => [t, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const [tree, main] of trees) runs.get(tree)!.push(await stackOverUdp(mptcp, SECONDS, main));
    }
    for (const [tree] of trees) {
      const list = runs.get(tree)!;
      const datagrams = list.map((r) => r.bytes / PAYLOAD[kind]);
      const clientCpu = mean(list.map((r, i) => (r.clientCpu * 1e6) / datagrams[i]!));
      const serverCpu = mean(list.map((r, i) => (r.serverCpu * 1e6) / datagrams[i]!));
      const wallRate = mean(list.map((r, i) => datagrams[i]! / r.wall));
      const cpuBound = 1e6 / Math.max(clientCpu, serverCpu);
      const bits = mean(list.map((r) => r.bitsPerSecond));
      const name = `udp.${tree} ${label}`;
      out.push({ name: `${name} (mptcp perf both ends): goodput (wall)`, value: sig3(bits / 1e9), unit: 'Gbit/s', note: `mean of ${list.map((r) => sig3(r.bitsPerSecond / 1e9)).join(', ')}; ${SECONDS} s after ${OMIT} s left out` });
      out.push({ name: `${name}: data datagrams (wall) / dgram ceiling received (wall)`, value: sig3(wallRate / ceiling.received), unit: 'ratio', note: `${Math.round(wallRate)}/s (${PAYLOAD[kind]} payload bytes each) against ${Math.round(ceiling.received)}/s on ${pairs} pair(s), same run` });
      out.push({ name: `${name}: CPU-bound data datagrams / dgram CPU-bound ceiling`, value: sig3(cpuBound / ceilingCpuBound), unit: 'ratio', note: `${Math.round(cpuBound)}/s against ${Math.round(ceilingCpuBound)}/s; CPU per data datagram: client ${sig3(clientCpu)} us, server ${sig3(serverCpu)} us (dgram: ${sig3(ceiling.sendCpu)}, ${sig3(ceiling.receiveCpu)})` });
    }
  }
  return out;
}
