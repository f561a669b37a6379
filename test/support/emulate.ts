/**
 * `mptcp emulate` between two fresh namespaces, for the accuracy tests and the kernel benchmarks: a
 * Topology (namespaces `mptcpts-<pid>-...`, removed by dispose, also on exit and signals) and the emulate
 * CLI as a child process (its own event loop, so the test's work does not delay its packets).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Topology, type Namespace } from '../../src/io/netns.js';
import { KERNEL_PEER, kernelSkipReason } from './kernel.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** Why the emulate tests cannot run here (root, namespaces, TUN, ping, iperf3), or false. */
export function emulateSkipReason(tools: readonly string[] = ['ping', 'iperf3']): string | false {
  const kernel = kernelSkipReason();
  if (kernel) return kernel;
  for (const tool of tools) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed (apt-get install ${tool === 'ping' ? 'iputils-ping' : tool})`;
  }
  return false;
}

/** A running `mptcp emulate` between `left` and `right`. */
export interface EmulateRun {
  readonly topology: Topology;
  readonly left: Namespace;
  readonly right: Namespace;
  readonly child: ChildProcess;
  /** Date.now() when `ready` was read. */
  readonly readyAt: number;
  out(): string;
  err(): string;
  /** SIGTERM, then the exit code and full output (SIGKILL after 10 s). */
  stop(): Promise<{ code: number | null; out: string; err: string }>;
  /** Stops emulate (if running) and removes the namespaces. */
  dispose(): Promise<void>;
}

/**
 * Creates two namespaces and runs `mptcp emulate --left A --right B --path P...` between them until it
 * prints `ready` (at most `readyMs`). Throws (everything removed) if it does not.
 */
export async function startEmulate(paths: readonly string[], options: { extraArgs?: readonly string[]; readyMs?: number; label?: string; nice?: number } = {}): Promise<EmulateRun> {
  const topology = Topology.create();
  let child: ChildProcess | undefined;
  let exit: Promise<number | null> | undefined;
  const kill = async (): Promise<number | null> => {
    if (!child || !exit) return null;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child!.kill('SIGKILL'), 10_000);
    const code = await exit;
    clearTimeout(timer);
    return code;
  };
  try {
    const label = options.label ?? 'emu';
    const left = topology.addNamespace(`${label}-l`);
    const right = topology.addNamespace(`${label}-r`);
    const args = ['--import', 'tsx', MAIN, 'emulate', '--left', left.name, '--right', right.name, ...paths.flatMap((p) => ['--path', p]), ...(options.extraArgs ?? [])];
    // With `nice`, emulate runs at that scheduling priority (negative: ahead of the kernels' processes).
    const proc = options.nice === undefined ? spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn('nice', ['-n', String(options.nice), process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let out = '';
    let err = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    exit = new Promise((resolve) => proc.once('close', (code) => resolve(code)));
    let exited = false;
    void exit.then(() => (exited = true));
    const deadline = Date.now() + (options.readyMs ?? 20_000);
    while (!/^ready$/m.test(out)) {
      if (exited) throw new Error(`mptcp emulate exited before 'ready': ${err}${out}`);
      if (Date.now() > deadline) throw new Error(`mptcp emulate did not print 'ready' within ${options.readyMs ?? 20_000} ms: ${err}${out}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const readyAt = Date.now();
    let stopped: { code: number | null; out: string; err: string } | undefined;
    const stop = async () => (stopped ??= { code: await kill(), out, err });
    return {
      topology,
      left,
      right,
      child: proc,
      readyAt,
      out: () => out,
      err: () => err,
      stop,
      dispose: async () => {
        await stop();
        topology.dispose();
      },
    };
  } catch (error) {
    await kill();
    topology.dispose();
    throw error;
  }
}

/** Parses `ping -q` (or not) output: transmitted, received, and the rtt line's min/avg/max in ms. */
export function parsePing(text: string): { transmitted: number; received: number; rtt?: { min: number; avg: number; max: number } } {
  const counts = /(\d+) packets transmitted, (\d+) received/.exec(text);
  if (!counts) throw new Error(`no ping summary in: ${text}`);
  const rtt = /= ([\d.]+)\/([\d.]+)\/([\d.]+)\//.exec(text);
  return {
    transmitted: Number(counts[1]),
    received: Number(counts[2]),
    ...(rtt ? { rtt: { min: Number(rtt[1]), avg: Number(rtt[2]), max: Number(rtt[3]) } } : {}),
  };
}

/** iperf3 -c ... -J in `client` against iperf3 -s -1 in `server`: the receiver's bit/s. */
export async function iperf3(client: Namespace, server: Namespace, address: string, args: readonly string[], timeoutMs = 60_000, wrap: readonly string[] = []): Promise<{ receivedBps: number; sentBps: number; json: unknown }> {
  const srv = server.spawn(wrap[0] ?? 'iperf3', [...wrap.slice(1), ...(wrap.length > 0 ? ['iperf3'] : []), '-s', '-1', '-B', address], { stdio: 'ignore' });
  const srvExit = new Promise<void>((resolve) => srv.once('close', () => resolve()));
  try {
    // Wait until it listens (bounded).
    for (let i = 0; i < 200; i++) {
      const ss = spawnSync('ip', ['netns', 'exec', server.name, 'ss', '-Hltn', `sport = :5201`], { encoding: 'utf8' });
      if (ss.stdout.trim() !== '') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const cmd = wrap.length > 0 ? wrap[0]! : 'iperf3';
    const r = await client.run(cmd, [...wrap.slice(1), ...(wrap.length > 0 ? ['iperf3'] : []), '-c', address, '-J', ...args], { timeoutMs });
    if (r.code !== 0) throw new Error(`iperf3 -c failed (${r.code ?? r.signal}${r.timedOut ? ', timed out' : ''}): ${r.stderr}${r.stdout.slice(0, 2000)}`);
    const json = JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number }; sum_sent: { bits_per_second: number } } };
    return { receivedBps: json.end.sum_received.bits_per_second, sentBps: json.end.sum_sent.bits_per_second, json };
  } finally {
    if (srv.exitCode === null) {
      try {
        process.kill(-srv.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await Promise.race([srvExit, new Promise((r) => setTimeout(r, 2000))]);
  }
}

/** Per-path counts from emulate's closing lines: bytes offered up (left to right) and down. */
export function pathBytes(out: string): Array<{ up: number; down: number }> {
  return [...out.matchAll(/^path \d+ \S+ <-> \S+: up \d+ packets \((\d+) bytes\).*; down \d+ packets \((\d+) bytes\)/gm)].map((m) => ({ up: Number(m[1]), down: Number(m[2]) }));
}

/** The device names emulate printed for each path, [left, right]. */
export function pathDevices(out: string): Array<readonly [string, string]> {
  return [...out.matchAll(/^path \d+: \S+ (\S+) \S+ <-> \S+ (\S+) /gm)].map((m) => [m[1]!, m[2]!] as const);
}

/**
 * Linux MPTCP between the namespaces of `run` (left = client, right = server at the first path's right
 * address), the way the kernel selftests and the seeds set it up: both ends `ip mptcp limits set subflows N`
 * and the client one `subflow` endpoint on each further path's left address, then `mptcpize run iperf3`.
 * `reverse`: the server sends (iperf3 -R). Returns iperf3's receiver figures.
 */
export async function kernelMptcpIperf(run: EmulateRun, cidrs: ReadonlyArray<readonly [string, string]>, args: readonly string[], timeoutMs = 120_000): Promise<{ receivedBps: number; seconds: number; bytes: number; retransmits: number | undefined }> {
  const devices = pathDevices(run.out());
  const further = cidrs.length - 1;
  for (const ns of [run.left, run.right]) ns.ip('mptcp', 'limits', 'set', 'subflows', String(Math.max(further, 1)), 'add_addr_accepted', String(Math.max(further, 1)));
  cidrs.slice(1).forEach(([left], i) => run.left.ip('mptcp', 'endpoint', 'add', left.split('/')[0]!, 'dev', devices[i + 1]![0], 'subflow'));
  const server = cidrs[0]![1].split('/')[0]!;
  const r = await iperf3(run.left, run.right, server, args, timeoutMs, ['mptcpize', 'run']);
  const end = (r.json as { end: { sum_received: { seconds: number; bytes: number }; sum_sent: { retransmits?: number } } }).end;
  return { receivedBps: r.receivedBps, seconds: end.sum_received.seconds, bytes: end.sum_received.bytes, retransmits: end.sum_sent.retransmits };
}

/** A namespace's TcpRetransSegs (nstat, absolute; every TCP socket of the namespace, MPTCP subflows too). */
export function retransSegs(ns: Namespace): number {
  const out = ns.execSync('nstat', ['-az', 'TcpRetransSegs']);
  return Number(/TcpRetransSegs\s+(\d+)/.exec(out)?.[1] ?? NaN);
}

/**
 * Linux MPTCP between the namespaces of `run` with the project's kernel peer (test/support/kernel_peer.py,
 * IPPROTO_MPTCP sockets, no hashing): limits and a client `subflow` endpoint as in `kernelMptcpIperf`; the
 * client sends `clientBytes` and the server `serverBytes`. `seconds` is the data receiver's time from the
 * connection's establishment to its EOF (every byte arrived), `wallSeconds` the client's start to both
 * peers' exit; `retransmits` the sender namespace's TcpRetransSegs during the transfer.
 */
export async function kernelMptcpPeers(run: EmulateRun, cidrs: ReadonlyArray<readonly [string, string]>, clientBytes: number, serverBytes: number, timeoutMs = 120_000): Promise<{ seconds: number; wallSeconds: number; received: number; retransmits: number }> {
  const devices = pathDevices(run.out());
  const further = cidrs.length - 1;
  for (const ns of [run.left, run.right]) ns.ip('mptcp', 'limits', 'set', 'subflows', String(Math.max(further, 1)), 'add_addr_accepted', String(Math.max(further, 1)));
  cidrs.slice(1).forEach(([left], i) => run.left.ip('mptcp', 'endpoint', 'add', left.split('/')[0]!, 'dev', devices[i + 1]![0], 'subflow'));
  const server = cidrs[0]![1].split('/')[0]!;
  const sender = clientBytes > 0 ? run.left : run.right;
  const before = retransSegs(sender);
  // The receiving side holds its half of the connection open until the data is in (--hold-write), or the
  // kernel would refuse the joins of a connection that one side has half-closed.
  const hold = (sends: number): string[] => (sends === 0 ? ['--hold-write'] : []);
  const srv = run.right.spawn('python3', [KERNEL_PEER, 'server', server, '5201', String(serverBytes), '--mptcp', '--nohash', '--keep-listening', ...hold(serverBytes)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let srvOut = '';
  srv.stdout!.on('data', (d: Buffer) => (srvOut += d.toString()));
  const srvExit = new Promise<number | null>((resolve) => srv.once('close', (c) => resolve(c)));
  for (let i = 0; i < 500 && !srvOut.includes('listening'); i++) await new Promise((r) => setTimeout(r, 10));
  const t0 = process.hrtime.bigint();
  const client = await run.left.run('python3', [KERNEL_PEER, 'client', server, '5201', String(clientBytes), '--mptcp', '--nohash', ...hold(clientBytes)], { timeoutMs });
  const code = await Promise.race([srvExit, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs))]);
  const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (client.code !== 0 || code !== 0) throw new Error(`kernel peers failed: client ${client.code} ${client.stdout}${client.stderr}; server ${code} ${srvOut}`);
  const lines = `${srvOut}\n${client.stdout}`
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { mode?: string; seconds?: number; received?: number });
  const receiver = lines.find((l) => l.mode === (clientBytes > 0 ? 'server' : 'client'));
  if (!receiver || receiver.seconds === undefined) throw new Error(`no receiver result: ${srvOut}${client.stdout}`);
  return { seconds: receiver.seconds, wallSeconds, received: receiver.received ?? 0, retransmits: retransSegs(sender) - before };
}
