/**
 * Interoperability with the real iperf3 (the installed one, 3.12 on Debian bookworm): our client against
 * `iperf3 -s -1 -J`, and `iperf3 -c ... -J` against our server, on 127.0.0.1. The byte counts each side
 * reports must be the ones the other side's JSON shows. Skipped where iperf3 is not installed.
 *
 * What iperf3's own JSON contains: its server writes its report before the results exchange, so a server's
 * JSON has only the direction it measured itself (sum_received when the client sends, sum_sent with -R);
 * its client's JSON has both.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runPerfClient, type PerfClientOptions } from '../../src/perf/client.js';
import { startPerfServer } from '../../src/perf/server.js';
import { nodeNetTransport } from '../../src/perf/transport.js';
import type { PerfTestResult } from '../../src/perf/report.js';
import { captureIo, haveIperf3, IPERF3_SKIP_REASON, parseIperfJson, spawnIperf3, startIperf3Server } from './helpers.js';

const OPTS = { timeout: 60_000, skip: haveIperf3 ? false : IPERF3_SKIP_REASON };

async function ourClientAgainstIperf3(options: Omit<PerfClientOptions, 'host' | 'port'>): Promise<{ ours: PerfTestResult; theirs: ReturnType<typeof parseIperfJson> }> {
  const { port, server } = await startIperf3Server();
  try {
    const ours = await runPerfClient({ host: '127.0.0.1', port, io: captureIo(), ...options }, nodeNetTransport);
    const done = await server.exit;
    assert.equal(done.code, 0, done.stderr);
    const theirs = parseIperfJson(done.stdout);
    assert.equal(theirs.error, undefined);
    return { ours, theirs };
  } finally {
    server.kill();
  }
}

test('our client -> iperf3 -s, -t 1: the receiver count we report is the one iperf3 measured', OPTS, async () => {
  const { ours, theirs } = await ourClientAgainstIperf3({ duration: 1 });
  assert.ok(ours.complete);
  assert.equal(theirs.start.test_start.num_streams, 1);
  assert.equal(ours.sumReceived.bytes, theirs.end.sum_received.bytes);
  assert.equal(ours.streams[0]!.receiver?.bytes, theirs.end.streams[0]!.receiver.bytes);
  assert.ok(ours.sumSent.bytes >= ours.sumReceived.bytes && ours.sumReceived.bytes > 0, `sent ${ours.sumSent.bytes} received ${ours.sumReceived.bytes} intervals ${ours.intervals.map((i) => i.sum.bytes).join(",")}`);
  assert.ok(ours.sumSent.seconds > 0.9, `duration ${ours.sumSent.seconds}`); // no upper bound: wall time on a loaded machine
});

test('our client -> iperf3 -s, -R -t 1: the sender count we report is the one iperf3 measured', OPTS, async () => {
  const { ours, theirs } = await ourClientAgainstIperf3({ duration: 1, reverse: true });
  assert.equal(theirs.start.test_start.reverse, 1);
  assert.equal(ours.sumSent.bytes, theirs.end.sum_sent.bytes);
  assert.equal(ours.streams[0]!.sender?.bytes, theirs.end.streams[0]!.sender.bytes);
  assert.ok(ours.sumReceived.bytes > 0 && ours.sumReceived.bytes <= ours.sumSent.bytes);
  // iperf3 (Linux, TCP_INFO) reports its retransmits as the sender; we pass them on
  assert.equal(ours.sumSent.retransmits, theirs.end.sum_sent.retransmits);
});

test('our client -> iperf3 -s, -P 2 -t 1: per-stream counts match (stream ids 1 and 3)', OPTS, async () => {
  const { ours, theirs } = await ourClientAgainstIperf3({ duration: 1, parallel: 2 });
  assert.equal(theirs.start.test_start.num_streams, 2);
  assert.deepEqual(ours.streams.map((s) => s.id), [1, 3]);
  assert.deepEqual(
    ours.streams.map((s) => s.receiver?.bytes),
    theirs.end.streams.map((s) => s.receiver.bytes),
  );
  assert.equal(ours.sumReceived.bytes, theirs.end.sum_received.bytes);
});

test('our client -> iperf3 -s, -n 10M: we send exactly 10 MiB; iperf3 counts what it read', OPTS, async () => {
  const { ours, theirs } = await ourClientAgainstIperf3({ bytes: 10 * 1024 * 1024 });
  assert.equal(theirs.start.test_start.bytes, 10 * 1024 * 1024);
  assert.equal(ours.sumSent.bytes, 10 * 1024 * 1024);
  assert.equal(ours.sumReceived.bytes, theirs.end.sum_received.bytes);
});

test('our client -> iperf3 -s, -R -n 10M -P 2: iperf3 sends 10 MiB and we receive all of it', OPTS, async () => {
  const { ours, theirs } = await ourClientAgainstIperf3({ bytes: 10 * 1024 * 1024, reverse: true, parallel: 2 });
  assert.equal(theirs.end.sum_sent.bytes, 10 * 1024 * 1024);
  assert.equal(ours.sumSent.bytes, 10 * 1024 * 1024);
  assert.equal(ours.sumReceived.bytes, 10 * 1024 * 1024);
  assert.deepEqual(
    ours.streams.map((s) => s.sender?.bytes),
    theirs.end.streams.map((s) => s.sender.bytes),
  );
});

async function iperf3AgainstOurServer(args: readonly string[]): Promise<{ ours: PerfTestResult; theirs: ReturnType<typeof parseIperfJson>; serverOut: string }> {
  const io = captureIo();
  const server = await startPerfServer({ port: 0, bind: '127.0.0.1', oneOff: true, io }, nodeNetTransport);
  const client = spawnIperf3(['-c', '127.0.0.1', '-p', String(server.port), '-J', ...args], 30_000);
  try {
    const done = await client.exit;
    await server.done;
    assert.equal(done.code, 0, `${done.stdout}\n${done.stderr}`);
    const theirs = parseIperfJson(done.stdout);
    assert.equal(theirs.error, undefined);
    assert.equal(server.results.length, 1, io.err());
    assert.equal(io.err(), '');
    return { ours: server.results[0]!, theirs, serverOut: io.out() };
  } finally {
    client.kill();
    await server.close();
  }
}

test('iperf3 -c -t 1 -> our server: iperf3 shows the byte count our server reports', OPTS, async () => {
  const { ours, theirs, serverOut } = await iperf3AgainstOurServer(['-t', '1']);
  assert.ok(ours.complete);
  assert.equal(theirs.end.sum_received.bytes, ours.sumReceived.bytes);
  assert.equal(theirs.end.sum_sent.bytes, ours.sumSent.bytes);
  assert.equal(theirs.end.streams[0]!.receiver.bytes, ours.streams[0]!.receiver?.bytes);
  assert.match(serverOut, /Accepted connection from 127\.0\.0\.1/);
  assert.match(serverOut, /receiver\n/);
});

test('iperf3 -c -R -P 2 -t 1 -> our server (sending): counts match per stream', OPTS, async () => {
  const { ours, theirs } = await iperf3AgainstOurServer(['-R', '-P', '2', '-t', '1']);
  assert.ok(ours.reverse);
  assert.deepEqual(
    ours.streams.map((s) => [s.sender?.bytes, s.receiver?.bytes]),
    theirs.end.streams.map((s) => [s.sender.bytes, s.receiver.bytes]),
  );
  assert.equal(theirs.end.sum_sent.bytes, ours.sumSent.bytes);
  assert.equal(theirs.end.sum_received.bytes, ours.sumReceived.bytes);
  assert.equal(theirs.end.sum_sent.retransmits, undefined); // we cannot read TCP_INFO through node:net, and say so
});

test('iperf3 -c -n 10M -P 3 -> our server; and -R -n 10M', OPTS, async () => {
  const up = await iperf3AgainstOurServer(['-n', '10M', '-P', '3']);
  assert.equal(up.theirs.end.sum_sent.bytes, up.ours.sumSent.bytes);
  assert.equal(up.theirs.end.sum_received.bytes, up.ours.sumReceived.bytes);
  assert.ok(up.ours.sumSent.bytes >= 10 * 1024 * 1024);
  const down = await iperf3AgainstOurServer(['-R', '-n', '10M']);
  assert.equal(down.ours.sumSent.bytes, 10 * 1024 * 1024);
  assert.equal(down.theirs.end.sum_sent.bytes, 10 * 1024 * 1024);
  assert.equal(down.theirs.end.sum_received.bytes, 10 * 1024 * 1024);
});

test('a second iperf3 client while ours runs a test is told the server is busy', OPTS, async () => {
  const io = captureIo();
  const server = await startPerfServer({ port: 0, bind: '127.0.0.1', io }, nodeNetTransport);
  try {
    const first = runPerfClient({ host: '127.0.0.1', port: server.port, duration: 2, io: captureIo() }, nodeNetTransport);
    await new Promise((r) => setTimeout(r, 300));
    const second = spawnIperf3(['-c', '127.0.0.1', '-p', String(server.port), '-t', '1'], 20_000);
    const done = await second.exit;
    assert.notEqual(done.code, 0);
    assert.match(done.stderr + done.stdout, /the server is busy running a test/);
    const r = await first;
    assert.ok(r.complete);
  } finally {
    await server.close();
  }
});

test('our client -C reno -R: iperf3 -s sends with reno, as iperf3 -c -C reno asks it to (the "congestion" parameter)', OPTS, async () => {
  const systemDefault = (await import('node:fs')).readFileSync('/proc/sys/net/ipv4/tcp_congestion_control', 'utf8').trim();
  const wanted = systemDefault === 'reno' ? 'cubic' : 'reno';
  const { ours, theirs } = await ourClientAgainstIperf3({ duration: 1, reverse: true, congestion: wanted });
  assert.ok(ours.complete);
  const end = theirs.end as unknown as { sender_tcp_congestion?: string };
  assert.equal(end.sender_tcp_congestion, wanted, `the system default is ${systemDefault}`);
});
