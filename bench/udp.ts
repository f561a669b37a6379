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
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeUdpPort } from '../test/perf/helpers.js';
import { sig3, type BenchResult } from './measure.js';

const PEER = fileURLToPath(new URL('./udp-peer.ts', import.meta.url));
const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const DATAGRAM = 1472;
const SECONDS = Number(process.env.UDP_BENCH_SECONDS ?? 3);
/** Seconds of each perf test left out of its statistics (the JIT warming up, the join). */
const OMIT = 1;
/** Payload bytes per data segment at MTU 1472: 1472 - 20 (IPv4) - 20 (TCP) - 12 (timestamps), less the DSS. */
const PAYLOAD = { tcp: 1420, mptcp: 1400 } as const;

interface Peer {
  readonly child: ChildProcess;
  next(): Promise<Record<string, number | number[] | boolean>>;
  ask(): Promise<Record<string, number>>;
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
    ask: () => {
      child.send({ cmd: 'mark' });
      return next() as Promise<Record<string, number>>;
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** dgram's rate between two processes over `pairs` socket pairs: datagrams per second sent and received. */
export async function dgramCeiling(pairs: number, seconds = SECONDS): Promise<{ sent: number; received: number }> {
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
    return {
      sent: ((s1.sent! - s0.sent!) * 1e6) / (s1.micros! - s0.micros!),
      received: ((r1.received! - r0.received!) * 1e6) / (r1.micros! - r0.micros!),
    };
  } finally {
    sender?.child.kill('SIGKILL');
    receiver.child.kill('SIGKILL');
  }
}

function perfProcess(main: string, args: string[], timeoutMs: number): { child: ChildProcess; out: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', main, 'perf', ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: dirname(dirname(dirname(main))) });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exit = new Promise<number | null>((resolve) => child.once('close', (code) => (clearTimeout(killer), resolve(code))));
  return { child, out: () => out, exit };
}

/** Our stack over UDP paths on loopback: `mptcp perf` both ends; goodput in bits per second (receiver). */
export async function stackOverUdp(mptcp: boolean, seconds = SECONDS, main = MAIN): Promise<{ bitsPerSecond: number; retransmits: number }> {
  const paths = mptcp ? 2 : 1;
  const ports = await Promise.all(Array.from({ length: paths }, (_, i) => freeUdpPort(`127.0.0.${2 + i}`)));
  const server = perfProcess(main, ['-s', '-1', ...ports.flatMap((p, i) => ['--iface', `udp:127.0.0.${2 + i}:${p}`])], (seconds + 40) * 1000);
  let client: ReturnType<typeof perfProcess> | undefined;
  try {
    for (const until = Date.now() + 30_000; !server.out().includes('Server listening'); await sleep(25)) {
      if (Date.now() > until) throw new Error(`mptcp perf -s did not start: ${server.out()}`);
    }
    client = perfProcess(
      main,
      [
        '-c', '127.0.0.2', '-t', String(seconds + OMIT), '-O', String(OMIT), '--json',
        ...ports.flatMap((p, i) => ['--iface', `udp:127.0.0.${4 + i},remote=127.0.0.${2 + i}:${p}`]),
        ...(mptcp ? ['--endpoint', '127.0.0.5 subflow'] : ['--no-mptcp']),
      ],
      (seconds + 30) * 1000,
    );
    const code = await client.exit;
    if (code !== 0) throw new Error(`mptcp perf -c exited ${code}: ${client.out().slice(-400)}`);
    const doc = JSON.parse(client.out()) as { end: { sum_received: { bits_per_second: number }; sum_sent: { retransmits?: number } } };
    await server.exit;
    return { bitsPerSecond: doc.end.sum_received.bits_per_second, retransmits: doc.end.sum_sent.retransmits ?? 0 };
  } finally {
    server.child.kill('SIGKILL');
    client?.child.kill('SIGKILL');
  }
}

/** Rounds of each `mptcp perf` measurement (interleaved with the baseline's, if any); the mean is reported. */
const ROUNDS = 2;

/**
 * `UDP_BENCH_BASELINE=DIR npm run bench udp` also runs `mptcp perf` from the checkout in DIR (e.g. the
 * main worktree, to measure a change against it), interleaved with ours, in the same run.
 */
export async function benchUdp(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  const ceilings = new Map<number, number>();
  for (const pairs of [1, 2, 4]) {
    const r = await dgramCeiling(pairs);
    ceilings.set(pairs, r.received);
    out.push({ name: `udp.dgram ceiling, ${pairs} socket pair${pairs > 1 ? 's' : ''}, received`, value: Math.round(r.received), unit: 'datagrams/s', note: `sent ${Math.round(r.sent)}/s; ${DATAGRAM}-byte payloads (1500-byte IP datagrams), two processes, ${SECONDS} s` });
  }
  const baseline = process.env.UDP_BENCH_BASELINE;
  const trees: Array<[label: string, main: string]> = [['ours', MAIN]];
  if (baseline) trees.unshift([`baseline ${baseline}`, join(baseline, 'src/cli/main.ts')]);
  for (const mptcp of [false, true]) {
    const kind = mptcp ? 'mptcp' : 'tcp';
    const label = mptcp ? 'MPTCP, 2 paths' : 'TCP, 1 path';
    const ceiling = ceilings.get(mptcp ? 2 : 1)!;
    const rates = new Map<string, number[]>(trees.map(([t]) => [t, []]));
    const retransmits = new Map<string, number>(trees.map(([t]) => [t, 0]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const [tree, main] of trees) {
        const r = await stackOverUdp(mptcp, SECONDS, main);
        rates.get(tree)!.push(r.bitsPerSecond);
        retransmits.set(tree, retransmits.get(tree)! + r.retransmits);
      }
    }
    for (const [tree] of trees) {
      const list = rates.get(tree)!;
      const mean = list.reduce((a, b) => a + b, 0) / list.length;
      const dps = mean / 8 / PAYLOAD[kind];
      const who = tree === 'ours' ? 'ours' : tree;
      out.push({ name: `udp.${who} ${label} (mptcp perf both ends)`, value: sig3(mean / 1e9), unit: 'Gbit/s', note: `mean of ${list.map((x) => sig3(x / 1e9)).join(', ')}; ${retransmits.get(tree)} retransmits; ${SECONDS} s after ${OMIT} s omitted` });
      out.push({ name: `udp.${who} ${label}: data datagrams / dgram ceiling (${mptcp ? 2 : 1} pair${mptcp ? 's' : ''})`, value: sig3(dps / ceiling), unit: 'ratio', note: `${Math.round(dps)} data datagrams/s (${PAYLOAD[kind]} payload bytes each) against ${Math.round(ceiling)}/s, same run` });
    }
  }
  return out;
}
