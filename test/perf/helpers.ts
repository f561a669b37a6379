/** Shared helpers for the perf tests: captured output, free ports, a spawned iperf3. */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import type { PerfOutput } from '../../src/perf/report.js';
import type { LinkConfig } from '../../src/emu/link.js';
import { runCli } from '../../src/cli/cli.js';
import type { CliIo } from '../../src/cli/command.js';
import { sampleLag } from '../support/lag.js';

export const haveIperf3 = spawnSync('iperf3', ['--version'], { encoding: 'utf8' }).status === 0;
export const IPERF3_SKIP_REASON = 'iperf3 not installed';

/** Whether the host has an IPv6 loopback we can listen on. */
export async function haveIpv6Loopback(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(0, '::1', () => s.close(() => resolve(true)));
  });
}

export function captureIo(): PerfOutput & { out(): string; err(): string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

/** A port that was free a moment ago (bind to 0, read it, close). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** A UDP port that was free on `host` a moment ago. */
export async function freeUdpPort(host = '127.0.0.1'): Promise<number> {
  const { createSocket } = await import('node:dgram');
  return new Promise((resolve, reject) => {
    const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    s.once('error', reject);
    s.bind(0, host, () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}

/** Whether something listens on TCP `port` (Linux /proc/net/tcp{,6}; LISTEN is state 0A). */
export function listening(port: number): boolean {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[1]?.endsWith(hex) && f[3] === '0A') return true;
    }
  }
  return false;
}

export interface Spawned {
  readonly child: ChildProcess;
  /** Resolves when the process exits (killed after `timeoutMs`). */
  readonly exit: Promise<{ code: number | null; stdout: string; stderr: string }>;
  kill(): void;
}

export function spawnIperf3(args: readonly string[], timeoutMs: number): Spawned {
  const child = spawn('iperf3', [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exit = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return {
    child,
    exit,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/**
 * Starts `iperf3 -s -1 -J -p PORT [extra]` on a free port and waits until it listens; retries on another
 * port if it could not bind. The caller kills it in `finally`.
 */
export async function startIperf3Server(extra: readonly string[] = []): Promise<{ port: number; server: Spawned }> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const server = spawnIperf3(['-s', '-1', '-J', '-p', String(port), ...extra], 60_000);
    const deadline = Date.now() + 5000;
    let exited = false;
    void server.exit.then(() => (exited = true));
    while (Date.now() < deadline && !exited && !listening(port)) await new Promise((r) => setTimeout(r, 20));
    if (!exited && listening(port)) return { port, server };
    server.kill();
    await server.exit;
  }
  throw new Error('could not start iperf3 -s');
}

/** iperf3 -J output (throws with the output if it is not JSON). */
export function parseIperfJson(text: string): IperfJson {
  try {
    return JSON.parse(text) as IperfJson;
  } catch {
    throw new Error(`iperf3 did not print JSON: ${text.slice(0, 500)}`);
  }
}

interface IperfTotalsJson {
  bytes: number;
  seconds: number;
  retransmits?: number;
}
export interface IperfJson {
  error?: string;
  start: { test_start: { num_streams: number; reverse: number; bytes: number } };
  intervals: unknown[];
  end: {
    streams: Array<{ sender: IperfTotalsJson; receiver: IperfTotalsJson }>;
    sum_sent: IperfTotalsJson;
    sum_received: IperfTotalsJson;
  };
}

/** Runs `mptcp perf ARGS` in this process (the CLI entry), collecting its output and exit code. */
export async function runPerfCli(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t) };
  const code = await runCli(['perf', ...args], io);
  return { code, out: out.join(''), err: err.join('') };
}

/**
 * Two hosts of our stack on a RealtimeEmulation (198.18.0.1 and 198.18.0.2, one link): the perf
 * transports of client `a` and server `b` (MPTCP as asked). The caller closes `emu`.
 */
export async function emulatedHosts(seed: number, link: LinkConfig, mptcp: { client: boolean; server: boolean }) {
  const { RealtimeEmulation } = await import('../../src/api/emulation.js');
  const { userspaceTransport } = await import('../../src/perf/userspace-transport.js');
  const emu = new RealtimeEmulation(seed);
  const a = emu.addHost('a', [['198.18.0.1/24']]);
  const b = emu.addHost('b', [['198.18.0.2/24']]);
  emu.connect('a', 0, 'b', 0, link);
  return { emu, a, client: userspaceTransport(a, 'client', { mptcp: mptcp.client }), server: userspaceTransport(b, 'server', { mptcp: mptcp.server }) };
}

/**
 * The event-loop lag of this process while `run` is in flight: how late a 10 ms repeating timer fired at
 * worst (test/support/lag.ts: a process descheduled on a loaded machine, or a long synchronous stretch of the
 * emulator, delays every timer by as much). Real-time bounds that a late timer can miss (when the `-t` deadline fires, how
 * many interval ticks came before it) are widened by this measured figure, not by a fixed guess: on an idle
 * machine it is a few milliseconds and the bounds are as tight as before.
 */
export async function measureLag<T>(run: () => Promise<T>): Promise<{ value: T; lagSeconds: number }> {
  const lag = sampleLag();
  try {
    const value = await run();
    return { value, lagSeconds: lag.stop().worstSeconds };
  } finally {
    lag.stop();
  }
}

interface IntervalNumbers {
  start: number;
  end: number;
  seconds: number;
  bytes: number;
}

/**
 * A `-t T` run's intervals (1 s each, iperf3's default): contiguous from 0 to the sender's end, adding up to
 * its bytes, and T of them. The count is exact when the run's lag was under a tenth of a second (the
 * shortest interval the report keeps: a final sliver below it is folded into the last interval). With more
 * lag a tick can fire after the deadline (T - 1 intervals, the last one longer) or the deadline fire a
 * little after the last tick (T + 1, a short last one): then T +- 1, each interval still at most 1 s plus the
 * lag long. Returns a line for the test's output.
 */
export function assertIntervals(intervals: ReadonlyArray<{ sum: IntervalNumbers }>, total: IntervalNumbers, seconds: number, lagSeconds: number): string {
  const sums = intervals.map((i) => i.sum);
  const shown = JSON.stringify(sums.map((s) => [s.start, s.end, s.bytes]));
  const note = `${sums.length} intervals for -t ${seconds} with ${(lagSeconds * 1000).toFixed(0)} ms of event-loop lag: ${shown}`;
  if (lagSeconds < 0.1) assert.equal(sums.length, seconds, note);
  else assert.ok(sums.length >= seconds - 1 && sums.length <= seconds + 1, note);
  assert.equal(sums[0]?.start, 0, note);
  for (let i = 1; i < sums.length; i++) assert.ok(Math.abs(sums[i]!.start - sums[i - 1]!.end) < 1e-6, `contiguous: ${note}`);
  for (const s of sums) assert.ok(s.seconds > 0 && s.seconds <= 1 + lagSeconds + 0.1 + 1e-6, `no interval longer than 1 s plus the lag: ${note}`);
  assert.equal(sums.at(-1)!.end, total.end, `the last interval ends where the sender's total does: ${note}`);
  assert.equal(sums.reduce((a, s) => a + s.bytes, 0), total.bytes, `the intervals add up to the total: ${note}`);
  return note;
}

/**
 * The sender's end of a `-t T` run: at T (a timer may read a fraction of a millisecond short: 1.999613 in
 * one CI run), and no later than half a second plus the measured lag after it (the deadline's timer fires late
 * by at most that much; an end that waited for the flush is seconds late on a slow link).
 */
export function assertEndsAt(seconds: number, expected: number, lagSeconds: number): void {
  const late = 0.5 + lagSeconds;
  assert.ok(seconds >= expected - 0.01 && seconds < expected + late, `the test ends at -t ${expected}: ${seconds} s (bound ${(expected + late).toFixed(3)} s with ${(lagSeconds * 1000).toFixed(0)} ms of event-loop lag)`);
}

/** net.ipv4.tcp_wmem's maximum in a namespace: how much a kernel sender can have written and not delivered. */
export function kernelSendBufferMax(ns: { execSync(command: string, args?: readonly string[]): string }): number {
  const max = Number(ns.execSync('cat', ['/proc/sys/net/ipv4/tcp_wmem']).trim().split(/\s+/)[2]);
  assert.ok(max > 0, 'tcp_wmem read');
  return max;
}

/**
 * A kernel iperf3 -c against our perf -s: what we received against what iperf3 sent. iperf3's client sends
 * TEST_END right after its last write (it does not wait for the data to be acknowledged), on its own
 * connection, and our server takes its counts at the results exchange, as iperf3's server does at TEST_END
 * (earlier): on a loaded machine where our stack reads the TUN device late, data still in iperf3's socket
 * is not counted (a run at load 13: 51736008 of 52428800). Never more than it sent, and short by at most
 * that socket's send buffer; exactly equal on an idle machine. Returns a line for the test's output.
 */
export function assertReceivedFromKernel(received: number, sent: number, sendBufferMax: number): string {
  const line = `iperf3 sent ${sent}, we received ${received} (${sent - received} short; its send buffer holds at most ${sendBufferMax})`;
  assert.ok(received <= sent && received >= sent - sendBufferMax, line);
  return line;
}
