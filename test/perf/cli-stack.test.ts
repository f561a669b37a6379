/**
 * `mptcp perf` on this project's stack, from the command line: on the emulator (default; in-process through
 * runCli), on UDP paths (two CLI processes over 127.0.0.1 / 127.0.0.2), and on TUN devices the CLI creates,
 * against the kernel's iperf3 in a namespace this test creates (root, /dev/net/tun and iperf3 needed;
 * skipped with the reason otherwise). Every child process is bounded in time and killed in `finally`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Topology } from '../../src/io/netns.js';
import { kernelSkipReason, within } from '../support/kernel.js';
import { assertReceivedFromKernel, freeUdpPort, haveIperf3, kernelSendBufferMax, parseIperfJson, runPerfCli } from './helpers.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const MB5 = 5 * 1024 * 1024;
const MB10 = 10 * 1024 * 1024;
const MB20 = 20 * 1024 * 1024;

interface PerfJson {
  error?: string;
  end: { sum_sent: { bytes: number }; sum_received: { bytes: number } };
}

const run = runPerfCli;

/** A `mptcp perf` child process: its output so far, a wait for a line, its exit. */
interface PerfProcess {
  readonly child: ChildProcess;
  out(): string;
  err(): string;
  /** Resolves when stdout contains `text`; rejects if the process exits first. */
  waitFor(text: string, ms: number): Promise<void>;
  readonly exit: Promise<number | null>;
  kill(): void;
}

function spawnPerf(args: readonly string[], timeoutMs: number): PerfProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'perf', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exit = new Promise<number | null>((resolve) => child.once('close', (code) => {
    clearTimeout(timer);
    resolve(code);
  }));
  return {
    child,
    out: () => out,
    err: () => err,
    exit,
    async waitFor(text, ms) {
      let exited = false;
      void exit.then(() => (exited = true));
      const deadline = Date.now() + ms;
      while (!out.includes(text)) {
        if (exited) throw new Error(`mptcp perf exited before printing '${text}': ${err}${out}`);
        if (Date.now() > deadline) throw new Error(`mptcp perf did not print '${text}' within ${ms} ms: ${err}${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

test('emulator (default): -c 198.18.0.2 -n 5M runs both ends in process and reports 5 MB sent and received', { timeout: 30_000 }, async () => {
  const r = await run(['-c', '198.18.0.2', '-n', '5M']);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.err, '');
  assert.match(r.out, /^Emulated: client 198\.18\.0\.1 and server 198\.18\.0\.2 in this process; link 1 Gbit\/s, 1 ms delay each way, 0% loss, queue \S+ KB\n/);
  assert.match(r.out, /\[ {2}1\] +0\.00-\S+ +sec +5\.00 MBytes .* sender\n/);
  assert.match(r.out, /\[ {2}1\] +0\.00-\S+ +sec +5\.00 MBytes .* receiver\n/);
  // On an idle fast machine the in-process emulator may not reach the default 1 Gbit/s link: then the issue-14
  // warning that says so follows (one line).
  assert.match(r.out, /mptcp perf done\.\n(Warning: the emulator could not keep up[^\n]*\n)?$/);
});

test('emulator: --link rate=20M,delay=5ms with --json, IPv4; and IPv6 -R', { timeout: 30_000 }, async () => {
  const r = await run(['-c', '198.18.0.2', '-n', '5M', '--link', 'rate=20M,delay=5ms', '--json']);
  assert.equal(r.code, 0, r.err);
  const doc = JSON.parse(r.out) as PerfJson & { start: { connected: Array<{ local_host: string; remote_host: string }> }; intervals: unknown[] };
  assert.equal(doc.end.sum_sent.bytes, MB5);
  assert.equal(doc.end.sum_received.bytes, MB5);
  assert.equal(doc.start.connected[0]!.local_host, '198.18.0.1');
  // 5 MiB over 20 Mbit/s takes at least 2 s: the link's rate was applied.
  const seconds = (doc.end as unknown as { sum_received: { seconds: number } }).sum_received.seconds;
  assert.ok(seconds > 1.9, `took ${seconds} s`);

  const v6 = await run(['-c', '2001:2::2', '-n', '1M', '-R', '--json', '--link', 'rate=100M,delay=2ms,loss=0,queue=unlimited']);
  assert.equal(v6.code, 0, v6.err);
  const doc6 = JSON.parse(v6.out) as PerfJson & { start: { connected: Array<{ local_host: string; remote_host: string }> } };
  assert.deepEqual([doc6.start.connected[0]!.local_host, doc6.start.connected[0]!.remote_host], ['2001:2::1', '2001:2::2']);
  assert.equal(doc6.end.sum_sent.bytes, 1024 * 1024);
  assert.equal(doc6.end.sum_received.bytes, 1024 * 1024);
});

test('emulator: --link with per-direction rates: -R (server to client, the down direction) runs at rate-down', { timeout: 30_000 }, async () => {
  const r = await run(['-c', '198.18.0.2', '-n', '1M', '-R', '--json', '--link', 'rate=100M,rate-down=4M,delay=2ms,jitter=500us']);
  assert.equal(r.code, 0, r.err);
  const doc = JSON.parse(r.out) as PerfJson;
  assert.equal(doc.end.sum_received.bytes, 1024 * 1024);
  // 1 MiB at 4 Mbit/s takes at least 2 s (at the 100 Mbit/s of the other direction, 0.1 s).
  const seconds = (doc.end as unknown as { sum_received: { seconds: number } }).sum_received.seconds;
  assert.ok(seconds > 1.9, `took ${seconds} s`);
  const text = await run(['-c', '198.18.0.2', '-n', '100K', '--link', 'rate=100M,rate-down=4M']);
  assert.match(text.out, /link up: 100 Mbit\/s, 1 ms delay, 0% loss, queue 146\.5 KB; down: 4 Mbit\/s, 1 ms delay, 0% loss, queue 146\.5 KB\n/);
});

test('UDP: mptcp perf -s on udp:127.0.0.2:PORT and mptcp perf -c 127.0.0.2 on udp:127.0.0.1 (two processes), 10 MB', { timeout: 60_000 }, async () => {
  const udpPort = await freeUdpPort('127.0.0.2');
  const server = spawnPerf(['-s', '-1', '--iface', `udp:127.0.0.2:${udpPort}`], 45_000);
  let client: PerfProcess | undefined;
  try {
    await server.waitFor('Server listening', 20_000);
    assert.match(server.out(), new RegExp(`^Interface udp 127\\.0\\.0\\.2:${udpPort}: our address 127\\.0\\.0\\.2/32, remote learned from the first datagram\\n`));
    client = spawnPerf(['-c', '127.0.0.2', '-n', '10M', '--json', '--iface', `udp:127.0.0.1,remote=127.0.0.2:${udpPort}`], 40_000);
    const code = await within(40_000, 'perf client', client.exit);
    assert.equal(code, 0, client.err());
    const doc = JSON.parse(client.out()) as PerfJson & { start: { connected: Array<{ local_host: string; remote_host: string }> } };
    assert.equal(doc.end.sum_sent.bytes, MB10);
    assert.equal(doc.end.sum_received.bytes, MB10);
    assert.deepEqual([doc.start.connected[0]!.local_host, doc.start.connected[0]!.remote_host], ['127.0.0.1', '127.0.0.2']);
    assert.equal(await within(10_000, 'perf server exit', server.exit), 0, server.err());
    assert.match(server.out(), /\[ {2}1\] +0\.00-\S+ +sec +10\.0 MBytes .* receiver\n/);
  } finally {
    server.kill();
    client?.kill();
  }
});

const kernelSkip = kernelSkipReason() || (haveIperf3 ? false : 'iperf3 is not installed (apt-get install iperf3)');

/** Whether interface `name` exists in namespace `ns`. */
function linkIn(ns: string, name: string): boolean {
  return spawnSync('ip', ['-n', ns, 'link', 'show', 'dev', name]).status === 0;
}

test('TUN: perf -c --iface tun:...,netns=NS against the kernel iperf3 -s in NS: matching byte counts, device gone after', { skip: kernelSkip, timeout: 60_000 }, async () => {
  const topology = Topology.create();
  const name = `mp${process.pid}c`;
  let client: PerfProcess | undefined;
  try {
    const ns = topology.addNamespace('perfc');
    // iperf3 binds 198.18.0.1 before the CLI has created the device that carries it.
    ns.setSysctl('net.ipv4.ip_nonlocal_bind', 1);
    const iperf = ns.spawn('iperf3', ['-s', '-1', '-J', '-B', '198.18.0.1', '-p', '5201'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let iperfOut = '';
    iperf.stdout!.on('data', (d: Buffer) => (iperfOut += d.toString()));
    const iperfExit = new Promise<number | null>((resolve) => iperf.once('close', (c) => resolve(c)));
    for (let i = 0; i < 100 && !/:1451 .* 0A /.test(ns.execSync('cat', ['/proc/net/tcp'])); i++) await new Promise((r) => setTimeout(r, 20));
    client = spawnPerf(['-c', '198.18.0.1', '-n', '20M', '--json', '--iface', `tun:${name},addr=198.18.0.2/24,peer=198.18.0.1/24,netns=${ns.name}`], 40_000);
    const code = await within(40_000, 'perf client', client.exit);
    assert.equal(code, 0, client.err());
    assert.equal(await within(10_000, 'iperf3 exit', iperfExit), 0);
    const ours = JSON.parse(client.out()) as PerfJson;
    const theirs = parseIperfJson(iperfOut);
    assert.equal(ours.end.sum_sent.bytes, MB20);
    assert.equal(theirs.end.sum_sent.bytes, 0, 'iperf3 -s reports what it received, not sent');
    // What our client reports as received is what iperf3 counted (the receiver's own measure); iperf3 stops
    // counting at TEST_END, so it may be slightly less than was sent.
    assert.equal(ours.end.sum_received.bytes, theirs.end.sum_received.bytes);
    assert.ok(theirs.end.sum_received.bytes >= 0.9 * MB20, `iperf3 received ${theirs.end.sum_received.bytes}`);
    assert.equal(linkIn(ns.name, name), false, 'the TUN device is gone once perf exited');
  } finally {
    client?.kill();
    topology.dispose();
  }
});

test('TUN: perf -s -1 --iface tun:... and the kernel iperf3 -c from the namespace: matching byte counts; SIGTERM cleans up', { skip: kernelSkip, timeout: 60_000 }, async () => {
  const topology = Topology.create();
  const name = `mp${process.pid}s`;
  let server: PerfProcess | undefined;
  let second: PerfProcess | undefined;
  try {
    const ns = topology.addNamespace('perfs');
    server = spawnPerf(['-s', '-1', '--json', '--iface', `tun:${name},addr=198.18.0.2/24,peer=198.18.0.1/24,netns=${ns.name}`], 40_000);
    await within(20_000, 'server listening', (async () => {
      // The CLI configures the device in steps (address, queue length, link up): wait for the last one.
      while (!linkIn(ns.name, name) || !/198\.18\.0\.1\/24/.test(ns.ip('-br', 'addr', 'show', 'dev', name)) || !/qlen 10000/.test(ns.ip('link', 'show', 'dev', name))) {
        if (server!.child.exitCode !== null) throw new Error(`perf -s exited: ${server!.err()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    })());
    assert.match(ns.ip('link', 'show', 'dev', name), /qlen 10000/);
    // --json prints nothing until the test ends: retry until our server listens.
    let result;
    for (let attempt = 0; ; attempt++) {
      result = await ns.run('iperf3', ['-c', '198.18.0.2', '-p', '5201', '-n', '20M', '-J'], { timeoutMs: 30_000 });
      if (result.code === 0 || attempt >= 50 || !/Connection refused|unable to connect/i.test(result.stdout)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(result.code, 0, result.stdout.slice(0, 500));
    assert.equal(await within(10_000, 'perf server exit', server.exit), 0, server.err());
    const theirs = parseIperfJson(result.stdout);
    const ours = JSON.parse(server.out()) as PerfJson;
    // iperf3's sender may overshoot -n by up to one block (128 KiB) when its streams race the count.
    assert.ok(theirs.end.sum_sent.bytes >= MB20 && theirs.end.sum_sent.bytes <= MB20 + 128 * 1024, `iperf3 sent ${theirs.end.sum_sent.bytes}`);
    console.log(assertReceivedFromKernel(ours.end.sum_received.bytes, theirs.end.sum_sent.bytes, kernelSendBufferMax(ns)));
    assert.equal(theirs.end.sum_received.bytes, ours.end.sum_received.bytes);
    assert.equal(linkIn(ns.name, name), false, 'the TUN device is gone once perf exited');

    // Interrupted (SIGTERM) while serving: exits, and the device goes with it.
    second = spawnPerf(['-s', '--iface', `tun:${name},addr=2001:2::2/64,peer=2001:2::1/64,netns=${ns.name}`], 30_000);
    await second.waitFor('Server listening', 20_000);
    assert.match(second.out(), new RegExp(`^Interface ${name}: TUN, our address 2001:2::2/64, kernel side 2001:2::1/64 in netns ${ns.name}\\n`));
    assert.match(ns.ip('-br', 'addr', 'show', 'dev', name), /2001:2::1\/64/);
    second.child.kill('SIGTERM');
    await within(10_000, 'perf -s exit on SIGTERM', second.exit);
    assert.equal(linkIn(ns.name, name), false, 'the TUN device is gone after SIGTERM');
  } finally {
    server?.kill();
    second?.kill();
    topology.dispose();
  }
});
