/**
 * `mptcp perf` as Multipath TCP against Linux (issue 4: "mptcp perf completes against mptcpize run iperf3 -s
 * with two subflows, and mptcpize run iperf3 -c completes against mptcp perf -s; pcaps of these runs
 * analysed by tshark show no malformed packet, no echoed-key mismatch, no missing mapping").
 *
 * Topology: one fresh kernel namespace; `mptcp perf` (in this process, through runCli: the whole command
 * line) creates two TUN devices into it, one path each: 198.18.1.2 <-> 198.18.1.1 and 198.18.2.2 <-> 198.18.2.1
 * (ours <-> the kernel's). tcpdump runs inside the namespace on `any` (so it sees the devices perf creates
 * after it started) and writes a pcap to a temporary directory, removed at the end.
 *
 * a. our client, `--endpoint "198.18.2.2 subflow"`, against `mptcpize run iperf3 -s -1 -J`;
 * b. `mptcpize run iperf3 -c -J` with a kernel `subflow` endpoint on 198.18.2.1, against our `-s -1`;
 * c. tshark's MPTCP analysis of both pcaps.
 * Root, namespaces, /dev/net/tun, iperf3, mptcpize, tcpdump and tshark are needed: each test skips with the
 * reason where one is missing. Every process is bounded in time and killed, the namespace deleted, in finally.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/cli/cli.js';
import type { CliIo } from '../../src/cli/command.js';
import { Topology, type Namespace } from '../../src/io/netns.js';
import { parseNstat } from '../../src/mptcp/mib.js';
import { kernelSkipReason, within } from '../support/kernel.js';
import { haveIperf3 } from './helpers.js';

function have(command: string, args: readonly string[]): boolean {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 10_000 });
  return r.error === undefined;
}

const haveMptcpize = have('mptcpize', ['--help']);
const haveTcpdump = have('tcpdump', ['--version']);
const haveTshark = have('tshark', ['--version']);

function skipReason(): string | false {
  const kernel = kernelSkipReason();
  if (kernel) return kernel;
  if (!haveIperf3) return 'iperf3 not installed';
  if (!haveMptcpize) return 'mptcpize not installed (apt-get install mptcpize)';
  if (!haveTcpdump) return 'tcpdump not installed';
  return false;
}
const skip = skipReason();
const BYTES = 10 * 1024 * 1024;
const TSHARK_PREFS = ['-o', 'mptcp.analyze_mptcp:TRUE', '-o', 'mptcp.analyze_mappings:TRUE', '-o', 'mptcp.relative_sequence_numbers:TRUE'];

/** pcaps written by a and b, for c; the directory is removed after c (or at exit). */
const workDir = skip ? undefined : mkdtempSync(join(tmpdir(), 'mptcp-perf-pcap-'));
const pcaps: { name: string; file: string }[] = [];
process.once('exit', () => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

let tunSequence = 0;
/** A TUN name unique to this process and test ("mpf<pid><letter><n>", at most 15 characters). */
function tunName(): string {
  return `mpf${process.pid % 1_000_000}x${tunSequence++}`;
}

interface CliRun {
  readonly code: Promise<number>;
  out(): string;
  err(): string;
}

function runPerfCli(args: readonly string[]): CliRun {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t) };
  return { code: runCli(['perf', ...args], io), out: () => out.join(''), err: () => err.join('') };
}

/** Starts tcpdump on all interfaces of `ns` (also those created later); resolves once it captures. */
async function startCapture(ns: Namespace, file: string): Promise<{ child: ChildProcess; stop(): Promise<void> }> {
  // A 32 MB capture buffer: with the TUN offloads most packets are 64 KB super-packets, and libpcap's default
  // 2 MB ring holds about 30 of them (a loaded machine then drops some: 'packets dropped by kernel').
  const child = ns.spawn('tcpdump', ['-i', 'any', '-n', '-U', '-B', '32768', '-w', file, 'tcp'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 10_000;
  while (!/listening on/.test(stderr)) {
    if (child.exitCode !== null) throw new Error(`tcpdump exited: ${stderr}`);
    if (Date.now() > deadline) throw new Error(`tcpdump did not start within 10 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGINT'); // tcpdump flushes and closes the file
      await within(10_000, 'tcpdump exit', exited).catch(() => child.kill('SIGKILL'));
    },
  };
}

/** Waits until something listens on TCP `port` in `ns` (ss -ltn), at most `ms`. */
async function kernelListening(ns: Namespace, port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await ns.run('ss', ['-Hltn', `sport = :${port}`], { timeoutMs: 5000 });
    if (r.stdout.trim() !== '') return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} in the namespace after ${ms} ms`);
    await new Promise((r2) => setTimeout(r2, 50));
  }
}

function kernelMib(ns: Namespace): Map<string, number> {
  return parseNstat(ns.execSync('nstat', ['-az']));
}

function nonZero(mib: Map<string, number>): string {
  return [...mib].filter(([, v]) => v > 0).map(([k, v]) => `${k}=${v}`).join(' ');
}

interface PerfJsonSubflow {
  socket: number;
  subflow: number;
  local_host: string;
  remote_host: string;
  join: boolean;
  bytes_sent: number;
  bytes_acked: number;
  bytes_received: number;
}
interface PerfJson {
  error?: string;
  start: { connected: { socket: number }[] };
  intervals: { subflows?: { socket: number; subflow: number; bytes: number }[] }[];
  end: { sum_sent: { bytes: number }; sum_received: { bytes: number }; subflows?: PerfJsonSubflow[] };
}

function parseJson<T>(text: string, who: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`${who} did not print one JSON document: ${text.slice(0, 2000)}`);
  }
}

function paths(ns: Namespace): { args: string[]; names: string[] } {
  const names = [tunName(), tunName()];
  return {
    names,
    args: [
      '--iface', `tun:${names[0]},addr=198.18.1.2/24,peer=198.18.1.1/24,netns=${ns.name}`,
      '--iface', `tun:${names[1]},addr=198.18.2.2/24,peer=198.18.2.1/24,netns=${ns.name}`,
    ],
  };
}

/** The data stream's subflows (the control connection, an MPTCP connection too, has its own). */
function describeSubflows(subflows: readonly PerfJsonSubflow[]): string {
  return subflows.map((s) => `stream ${s.socket} subflow ${s.subflow}${s.join ? ' (join)' : ''} ${s.local_host}->${s.remote_host} sent ${s.bytes_sent} received ${s.bytes_received}`).join('; ');
}

test('a. mptcp perf -c (two TUN paths, --endpoint "198.18.2.2 subflow") -> mptcpize run iperf3 -s: two subflows carry data, counts agree', { skip, timeout: 120_000 }, async () => {
  const topology = Topology.create();
  let capture: { stop(): Promise<void> } | undefined;
  try {
    const ns = topology.addNamespace('perf-a');
    ns.ip('mptcp', 'limits', 'set', 'subflows', '2', 'add_addr_accepted', '2');
    const pcap = join(workDir!, 'a-our-client.pcap');
    capture = await startCapture(ns, pcap);
    const server = ns.spawn('mptcpize', ['run', 'iperf3', '-s', '-1', '-J', '-p', '5201'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let serverOut = '';
    let serverErr = '';
    server.stdout!.on('data', (d: Buffer) => (serverOut += d.toString()));
    server.stderr!.on('data', (d: Buffer) => (serverErr += d.toString()));
    const serverExit = new Promise<number | null>((resolve) => server.once('close', (code) => resolve(code)));
    await kernelListening(ns, 5201, 10_000);

    const { args } = paths(ns);
    const cli = runPerfCli(['-c', '198.18.1.1', '-n', String(BYTES), ...args, '--endpoint', '198.18.2.2 subflow', '--limits', 'subflows 2', '--json']);
    const code = await within(90_000, 'mptcp perf -c', cli.code);
    assert.equal(code, 0, `${cli.err()}\n${cli.out().slice(-3000)}`);
    const serverCode = await within(20_000, 'iperf3 -s exit', serverExit);
    assert.equal(serverCode, 0, serverErr);
    const ours = parseJson<PerfJson>(cli.out(), 'mptcp perf');
    const theirs = parseJson<PerfJson>(serverOut, 'iperf3 -s');
    const mib = kernelMib(ns);
    const subflows = ours.end.subflows ?? [];
    const dataStream = ours.start.connected[0]!.socket;
    const data = subflows.filter((s) => s.socket === dataStream);
    console.log(`# a: ours sent ${ours.end.sum_sent.bytes} received(by iperf3) ${ours.end.sum_received.bytes}; iperf3 -s received ${theirs.end.sum_received.bytes}`);
    console.log(`# a: our subflows: ${describeSubflows(subflows)}`);
    console.log(`# a: kernel MPTcpExt: ${nonZero(mib)}`);
    assert.equal(ours.error, undefined);
    assert.equal(theirs.error, undefined);
    assert.equal(ours.end.sum_sent.bytes, BYTES, 'we sent exactly -n');
    assert.equal(ours.end.sum_received.bytes, theirs.end.sum_received.bytes, 'the receiver count we report is the one iperf3 measured');
    // iperf3's server closes its data sockets as soon as it reads TEST_END (iperf_handle_message_server),
    // without reading what is still queued in them; Linux then resets the connection (MP_FASTCLOSE and a
    // reset on each subflow: MPFastcloseTx, MPRstTx). A loaded machine where iperf3 reads late makes that
    // happen (reproduced by stopping iperf3 for 2.5 s near the end: 8.4 of the 10 MiB read, MPFastcloseTx=2).
    // That is the peer's normal behaviour, not a failed transfer, when the transfer itself completed: every
    // byte acknowledged by the kernel's subflows (checked below), only not read by iperf3.
    const unreadClose = theirs.end.sum_received.bytes < BYTES && (mib.get('MPFastcloseTx') ?? 0) >= 1;
    if (unreadClose) console.log(`a: iperf3 -s read ${theirs.end.sum_received.bytes} of ${BYTES} before it closed at TEST_END; the kernel reset the connection (MPFastcloseTx=${mib.get('MPFastcloseTx')}, MPRstTx=${mib.get('MPRstTx') ?? 0})`);
    else assert.equal(theirs.end.sum_received.bytes, BYTES, 'iperf3 received everything');
    assert.ok(theirs.end.sum_received.bytes > 0 && theirs.end.sum_received.bytes <= BYTES, `iperf3 received ${theirs.end.sum_received.bytes}`);
    // Subflow byte counts are data-level and include the 37-byte cookie (and any reinjection).
    const onSubflows = data.reduce((a, s) => a + s.bytes_sent, 0);
    assert.ok(onSubflows >= BYTES && onSubflows <= BYTES * 1.1 + 65_536, `subflows of stream ${dataStream} carried ${onSubflows} bytes for ${BYTES}`);
    assert.equal(data.length, 2, 'the data connection has two subflows');
    assert.ok(data.some((s) => s.join && s.local_host === '198.18.2.2'), 'one joined from 198.18.2.2');
    for (const s of data) assert.ok(s.bytes_sent > 0, `subflow ${s.subflow} (${s.local_host}) carried data`);
    // The interval lines count what each subflow's peer acknowledged (since the slow-link fix of issue 14), so
    // they add up to the acknowledged totals, as in test/perf/mptcp-emulator.test.ts.
    const perInterval = ours.intervals.flatMap((iv) => iv.subflows ?? []).filter((s) => s.socket === dataStream);
    const acked = data.reduce((a, s) => a + s.bytes_acked, 0);
    assert.equal(perInterval.reduce((a, s) => a + s.bytes, 0), acked, 'the interval subflow bytes add up to the acknowledged totals');
    assert.ok(acked >= BYTES - 65_536 && acked <= onSubflows, `acknowledged ${acked} of ${BYTES} (sent ${onSubflows})`);
    // When iperf3 left data unread, the transfer is verified by the kernel's acknowledgments: all of it (and the
    // cookie) got there before the reset.
    if (unreadClose) assert.ok(acked >= BYTES + 37, `iperf3 closed with data unread: the kernel acknowledged ${acked} of the ${BYTES} + 37 bytes sent`);
    // Each connection (control and data) joined once from 198.18.2.2.
    assert.ok((mib.get('MPJoinSynRx') ?? 0) >= 1, `kernel MPJoinSynRx: ${nonZero(mib)}`);
    assert.ok((mib.get('MPJoinAckRx') ?? 0) >= 1, `kernel MPJoinAckRx: ${nonZero(mib)}`);
    assert.equal(mib.get('MPJoinSynRx'), mib.get('MPJoinAckRx'));
    assert.equal(mib.get('MPJoinAckHMacFailure') ?? 0, 0);
    assert.equal(mib.get('MPCapableFallbackACK') ?? 0, 0);
    assert.equal(mib.get('DSSNotMatching') ?? 0, 0);
    await capture.stop();
    // With the TUN offloads the data travels in 64 KB super-packets: the capture's per-packet overhead is about
    // 1%, so a frame or two the capture missed on a loaded machine would take it below BYTES.
    assert.ok(statSync(pcap).size > 0.95 * BYTES, `the pcap holds the transfer (${statSync(pcap).size} bytes)`);
    pcaps.push({ name: 'a (our client, kernel server)', file: pcap });
  } finally {
    await capture?.stop();
    topology.dispose();
  }
});

test('b. mptcpize run iperf3 -c (kernel subflow endpoint 198.18.2.1) -> mptcp perf -s (two TUN paths): completes with two subflows', { skip, timeout: 120_000 }, async () => {
  const topology = Topology.create();
  let capture: { stop(): Promise<void> } | undefined;
  let cli: CliRun | undefined;
  try {
    const ns = topology.addNamespace('perf-b');
    ns.ip('mptcp', 'limits', 'set', 'subflows', '2', 'add_addr_accepted', '2');
    ns.ip('mptcp', 'endpoint', 'add', '198.18.2.1', 'subflow');
    const pcap = join(workDir!, 'b-our-server.pcap');
    capture = await startCapture(ns, pcap);
    const { args } = paths(ns);
    cli = runPerfCli(['-s', '-1', ...args, '--json']);
    // Our server is up once its TUN devices are and it listens; until then the kernel's connect fails at
    // once (no route, or our RST): retried, at most 40 times in 10 s.
    let client: { code: number | null; stdout: string; stderr: string } | undefined;
    for (let attempt = 0; attempt < 40; attempt++) {
      const r = await ns.run('mptcpize', ['run', 'iperf3', '-c', '198.18.1.2', '-p', '5201', '-n', String(BYTES), '-J', '--connect-timeout', '2000'], { timeoutMs: 60_000 });
      client = r;
      // (mptcpize run exits 0 even when iperf3 fails: the JSON's "error" tells.)
      const error = /"error":\s*"([^"]*)"/.exec(r.stdout)?.[1];
      if (r.code === 0 && error === undefined) break;
      if (!/unable to connect|Connection refused|unreachable/i.test(`${error ?? ''} ${r.stderr}`)) break;
      await new Promise((res) => setTimeout(res, 250));
    }
    assert.equal(client?.code, 0, `iperf3 -c: ${client?.stdout}\n${client?.stderr}\nours: ${cli.err()}`);
    assert.doesNotMatch(client!.stdout, /"error":/, `iperf3 -c failed: ${client!.stdout.slice(-1500)}\nours: ${cli.err()}`);
    const runningCli = cli;
    const code = await within(20_000, 'mptcp perf -s -1 exit', runningCli.code).catch((err: Error) => {
      throw new Error(`${err.message}; iperf3 -c had finished: ${client!.stdout.slice(-1500)}; ours: ${runningCli.err()} ${runningCli.out().slice(-3000)}`);
    });
    assert.equal(code, 0, cli.err());
    const ours = parseJson<PerfJson>(cli.out(), 'mptcp perf -s');
    const theirs = parseJson<PerfJson>(client!.stdout, 'iperf3 -c');
    const mib = kernelMib(ns);
    const subflows = ours.end.subflows ?? [];
    const dataStream = ours.start.connected[0]!.socket;
    const data = subflows.filter((s) => s.socket === dataStream);
    console.log(`# b: iperf3 -c sent ${theirs.end.sum_sent.bytes} received(by us) ${theirs.end.sum_received.bytes}; we received ${ours.end.sum_received.bytes}`);
    console.log(`# b: our subflows: ${describeSubflows(subflows)}`);
    console.log(`# b: kernel MPTcpExt: ${nonZero(mib)}`);
    assert.equal(theirs.error, undefined);
    // iperf3's sender may overshoot -n by one 128 KiB block (it checks the count between writes).
    assert.ok(theirs.end.sum_sent.bytes >= BYTES && theirs.end.sum_sent.bytes <= BYTES + 131_072, `iperf3 sent ${theirs.end.sum_sent.bytes}`);
    assert.equal(ours.end.sum_received.bytes, theirs.end.sum_sent.bytes, 'we received everything');
    assert.equal(theirs.end.sum_received.bytes, ours.end.sum_received.bytes, 'iperf3 shows the byte count our server reports');
    const onSubflows = data.reduce((a, s) => a + s.bytes_received, 0);
    assert.ok(onSubflows >= theirs.end.sum_sent.bytes && onSubflows <= theirs.end.sum_sent.bytes * 1.1 + 65_536, `subflows of stream ${dataStream} carried ${onSubflows} bytes for ${BYTES}`);
    assert.equal(data.length, 2, 'the data connection has two subflows');
    assert.ok(data.some((s) => s.join && s.remote_host === '198.18.2.1'), 'the kernel joined from 198.18.2.1');
    for (const s of data) assert.ok(s.bytes_received > 0, `subflow ${s.subflow} (${s.remote_host}) carried data`);
    assert.ok((mib.get('MPJoinSynAckRx') ?? 0) >= 1, `kernel MPJoinSynAckRx (our join SYN/ACK verified): ${nonZero(mib)}`);
    assert.equal(mib.get('MPJoinSynAckHMacFailure') ?? 0, 0);
    assert.equal(mib.get('MPCapableFallbackSYNACK') ?? 0, 0);
    assert.equal(mib.get('DSSNotMatching') ?? 0, 0);
    await capture.stop();
    // With the TUN offloads the data travels in 64 KB super-packets: the capture's per-packet overhead is about
    // 1%, so a frame or two the capture missed on a loaded machine would take it below BYTES.
    assert.ok(statSync(pcap).size > 0.95 * BYTES, `the pcap holds the transfer (${statSync(pcap).size} bytes)`);
    pcaps.push({ name: 'b (kernel client, our server)', file: pcap });
  } finally {
    await capture?.stop();
    topology.dispose();
    // The CLI deletes its TUN devices when it ends; if the test failed before, it ends with its test timing
    // out (its fds close at process exit at the latest, which deletes the devices).
  }
});

/** Frame numbers matching a display filter (bounded in time). */
function tsharkCount(file: string, filter: string): number {
  const r = spawnSync('tshark', ['-r', file, ...TSHARK_PREFS, '-Y', filter, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8', timeout: 120_000, maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`tshark -Y '${filter}' failed: ${r.error?.message ?? ''} ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.trim() !== '').length;
}

/** One line per frame matching `filter`: addresses, ports, flags, sequence numbers, length, MPTCP subtypes. */
function tsharkFrames(file: string, filter: string): string {
  const fields = ['frame.number', 'frame.time_relative', 'ip.src', 'tcp.srcport', 'ip.dst', 'tcp.dstport', 'tcp.flags.str', 'tcp.seq', 'tcp.ack', 'tcp.len', 'tcp.options.mptcp.subtype', 'mptcp.dsn', 'tcp.options.mptcp.datalvllen', 'tcp.analysis.flags'];
  const r = spawnSync('tshark', ['-r', file, ...TSHARK_PREFS, '-Y', filter, '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8', timeout: 120_000, maxBuffer: 256 << 20 });
  return `${fields.join(' ')}\n${r.stdout.trim()}`;
}

/** Every expert message in the capture, with its count. */
function tsharkExpert(file: string): Map<string, number> {
  const r = spawnSync('tshark', ['-r', file, ...TSHARK_PREFS, '-Y', '_ws.expert', '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=|', '-e', '_ws.expert.message'], {
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 256 << 20,
  });
  if (r.status !== 0) throw new Error(`tshark expert pass failed: ${r.error?.message ?? ''} ${r.stderr}`);
  const counts = new Map<string, number>();
  for (const line of r.stdout.split('\n')) {
    for (const m of line.split('|')) if (m.trim() !== '') counts.set(m.trim(), (counts.get(m.trim()) ?? 0) + 1);
  }
  return counts;
}

test('c. tshark (analyze_mptcp, analyze_mappings) on the pcaps of a and b: no malformed packet, no echoed-key mismatch, no missing mapping', { skip: skip || (haveTshark ? false : 'tshark not installed'), timeout: 300_000 }, () => {
  try {
    assert.equal(pcaps.length, 2, 'tests a and b passed and left their pcaps');
    for (const { name, file } of pcaps) {
      const counts = {
        packets: tsharkCount(file, 'tcp'),
        mptcp: tsharkCount(file, 'mptcp'),
        mpCapable: tsharkCount(file, 'tcp.options.mptcp.subtype == 0'),
        mpJoinSyn: tsharkCount(file, 'tcp.options.mptcp.subtype == 1 && tcp.flags.syn == 1 && tcp.flags.ack == 0'),
        dss: tsharkCount(file, 'tcp.options.mptcp.subtype == 2'),
        malformed: tsharkCount(file, '_ws.malformed'),
        echoedKeyMismatch: tsharkCount(file, 'mptcp.connection.echoed_key_mismatch'),
        missingMapping: tsharkCount(file, 'mptcp.dss.missing_mapping && tcp.len > 0'),
        pureAckWithoutMapping: tsharkCount(file, 'mptcp.dss.missing_mapping && tcp.len == 0'),
        infiniteMapping: tsharkCount(file, 'mptcp.dss.infinite_mapping'),
        missingAlgorithm: tsharkCount(file, 'mptcp.connection.missing_algorithm'),
        unsupportedAlgorithm: tsharkCount(file, 'mptcp.connection.unsupported_algorithm'),
      };
      const expert = tsharkExpert(file);
      if (counts.missingMapping > 0) console.log(`# c: ${name}: data without a mapping:\n${tsharkFrames(file, 'mptcp.dss.missing_mapping && tcp.len > 0').replace(/^/gm, '#   ')}`);
      if (counts.pureAckWithoutMapping > 0) console.log(`# c: ${name}: pure ACKs tshark flags "No mapping available" (expected, see below):\n${tsharkFrames(file, 'mptcp.dss.missing_mapping && tcp.len == 0').replace(/^/gm, '#   ')}`);
      if (process.env['MPTCP_PERF_KEEP_PCAP']) spawnSync('cp', [file, process.env['MPTCP_PERF_KEEP_PCAP']]);
      console.log(`# c: ${name}: ${JSON.stringify(counts)}`);
      console.log(`# c: ${name}: expert messages: ${[...expert].map(([m, n]) => `${n}x "${m}"`).join('; ') || 'none'}`);
      // 10 MiB are about 160 super-packets of 64 KB with the TUN offloads (7,000 segments without them).
      assert.ok(counts.mptcp > 150 && counts.dss > 150, `${name}: the capture is MPTCP traffic`);
      assert.ok(counts.mpJoinSyn >= 1, `${name}: with MP_JOIN`);
      assert.equal(counts.malformed, 0, `${name}: malformed packets`);
      assert.equal(counts.echoedKeyMismatch, 0, `${name}: echoed key mismatch`);
      // tshark 4.0 looks up a mapping for every MPTCP segment, a zero-length one too (at its sequence number),
      // so a pure ACK whose DSS carries only a DATA_ACK (RFC 8684 3.3: no mapping needed, nothing to map), sent
      // just past the end of the sender's last mapping, gets "No mapping available". Linux does the same:
      // the kernel-to-kernel captures in fixtures/kernel/ show 10-28 such frames each (join.pcap: 21). Data
      // without a mapping is the real error, and there must be none.
      assert.equal(counts.missingMapping, 0, `${name}: data segments without a mapping`);
      assert.equal(counts.infiniteMapping, 0, `${name}: infinite mapping (fallback)`);
      assert.equal(counts.missingAlgorithm + counts.unsupportedAlgorithm, 0, `${name}: crypto algorithm`);
      const mptcpComplaints = [...expert.keys()].filter((m) => /mptcp|mapping|echoed|key|malformed|dss|algorithm/i.test(m) && m !== 'No mapping available');
      assert.deepEqual(mptcpComplaints, [], `${name}: MPTCP expert messages`);
    }
  } finally {
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  }
});
