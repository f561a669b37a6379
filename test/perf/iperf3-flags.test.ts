/**
 * iperf3's flags that new users reach for first (-J, --logfile, -u, -b, -w, -M, --bidir), each checked against
 * what the installed iperf3 (3.12) does with the same words, over 127.0.0.1 only. Skipped where iperf3 is
 * not installed (the parts that need no iperf3 still run).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emulatedHosts, haveIperf3, IPERF3_SKIP_REASON, runPerfCli, spawnIperf3, startIperf3Server } from './helpers.js';

const OPTS = { timeout: 90_000, skip: haveIperf3 ? false : IPERF3_SKIP_REASON };

/** iperf3 -c against a fresh iperf3 -s on loopback. */
async function iperf3Client(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { port, server } = await startIperf3Server();
  try {
    return await spawnIperf3(['-c', '127.0.0.1', '-p', String(port), ...args], 60_000).exit;
  } finally {
    server.kill();
  }
}

/** `mptcp perf -c 127.0.0.1 --kernel` against a fresh iperf3 -s on loopback. */
async function oursAgainstIperf3(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  const { port, server } = await startIperf3Server();
  try {
    return await runPerfCli(['-c', '127.0.0.1', '-p', String(port), '--kernel', ...args]);
  } finally {
    server.kill();
  }
}

test('-J is --json, as for iperf3: one JSON document with the top-level keys iperf3 -J prints', OPTS, async () => {
  const theirs = await iperf3Client(['-t', '1', '-J']);
  assert.equal(theirs.code, 0, theirs.stderr);
  const theirKeys = Object.keys(JSON.parse(theirs.stdout) as object);
  const ours = await oursAgainstIperf3(['-t', '1', '-J']);
  assert.equal(ours.code, 0, ours.err);
  const doc = JSON.parse(ours.out) as Record<string, Record<string, unknown>>;
  for (const k of theirKeys) assert.ok(k in doc, `iperf3 -J has '${k}', ours too`);
  for (const k of ['sum_sent', 'sum_received', 'streams']) assert.ok(k in doc['end']!, `end.${k}`);
  // and on the emulator (no iperf3 involved): -J and --json print the same document shape
  const emulated = await runPerfCli(['-c', '198.18.0.2', '-t', '1', '-J', '--link', 'rate=20M']);
  assert.equal(emulated.code, 0, emulated.err);
  assert.ok('end' in (JSON.parse(emulated.out) as object));
});

test('--logfile FILE: nothing on stdout, the report appended to FILE (a second run keeps the first), as iperf3 does', OPTS, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'perf-logfile-'));
  try {
    const theirFile = join(dir, 'iperf3.log');
    const ourFile = join(dir, 'ours.log');
    for (let run = 1; run <= 2; run++) {
      const theirs = await iperf3Client(['-t', '1', '--logfile', theirFile]);
      assert.equal(theirs.code, 0, theirs.stderr);
      assert.equal(theirs.stdout, '');
      const ours = await oursAgainstIperf3(['-t', '1', '--logfile', ourFile]);
      assert.equal(ours.code, 0, ours.err);
      assert.equal(ours.out, '', 'nothing on stdout');
      for (const file of [theirFile, ourFile]) {
        const text = readFileSync(file, 'utf8');
        assert.equal(text.match(/^Connecting to host 127\.0\.0\.1, port \d+$/gm)?.length, run, `${file}: ${run} runs appended`);
        assert.equal(text.match(/ receiver$/gm)?.length, run, `${file}: the summary of each run`);
      }
    }
    // A file that cannot be opened: an error, exit 1, like iperf3's "unable to open log file".
    const bad = await runPerfCli(['-c', '198.18.0.2', '-t', '1', '--logfile', join(dir, 'no', 'such', 'dir.log')]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /^mptcp perf: unable to open log file '.*dir\.log': ENOENT\n$/);
    const iperfBad = spawnIperf3(['-c', '127.0.0.1', '--logfile', join(dir, 'no', 'such', 'dir.log')], 10_000);
    const iperfBadExit = await iperfBad.exit;
    assert.equal(iperfBadExit.code, 1);
    assert.match(iperfBadExit.stdout + iperfBadExit.stderr, /unable to open log file/);
    assert.ok(!existsSync(join(dir, 'no')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('-u / --udp: refused in the words iperf3 uses for what it does not implement, exit 2, before anything starts', async () => {
  for (const flag of ['-u', '--udp']) {
    const r = await runPerfCli(['-c', '198.18.0.2', flag]);
    assert.equal(r.code, 2);
    assert.equal(r.out, '');
    assert.match(r.err, /^mptcp perf: parameter error - an option you are trying to set is not implemented yet \(-u, --udp: mptcp perf runs TCP and MPTCP tests only\)\n/);
  }
});

/** The receiver's bitrate in an iperf3 -J document. */
function receivedRate(doc: string): number {
  return (JSON.parse(doc) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received.bits_per_second;
}

test('-b 20M: our client paces to 20 Mbit/s as iperf3 -c -b 20M does (iperf3 -s measures both); -R -b: the iperf3 server paces to our request', OPTS, async () => {
  const target = 20e6;
  const theirs = await iperf3Client(['-t', '2', '-b', '20M', '-J']);
  assert.equal(theirs.code, 0, theirs.stderr);
  const ours = await oursAgainstIperf3(['-t', '2', '-b', '20M', '-J']);
  assert.equal(ours.code, 0, ours.err);
  const reverse = await oursAgainstIperf3(['-t', '2', '-b', '20M', '-R', '-J']);
  assert.equal(reverse.code, 0, reverse.err);
  for (const [who, rate] of [['iperf3 -c', receivedRate(theirs.stdout)], ['ours', receivedRate(ours.out)], ['ours -R (iperf3 sends)', receivedRate(reverse.out)]] as const) {
    // At most the target (and one 128 KiB block over the 2 s), and not far below it on loopback.
    assert.ok(rate <= target * 1.1 + (128 * 1024 * 8) / 2 && rate >= target * 0.6, `${who}: ${rate} bit/s for -b 20M`);
  }
  // Our server paces too when iperf3 asks (-R -b): iperf3's client receives about 20 Mbit/s.
  const { startPerfServer } = await import('../../src/perf/server.js');
  const { nodeNetTransport } = await import('../../src/perf/transport.js');
  const { freePort } = await import('./helpers.js');
  const port = await freePort();
  const server = await startPerfServer({ port, interval: 0, bind: '127.0.0.1' }, nodeNetTransport);
  try {
    const r = await spawnIperf3(['-c', '127.0.0.1', '-p', String(port), '-t', '2', '-R', '-b', '20M', '-J'], 60_000).exit;
    assert.equal(r.code, 0, r.stderr);
    const rate = receivedRate(r.stdout);
    assert.ok(rate <= target * 1.1 + (128 * 1024 * 8) / 2 && rate >= target * 0.6, `our server for iperf3 -R -b 20M: ${rate}`);
  } finally {
    await server.close();
  }
  // Argument handling: iperf3's unit (powers of 1000); a burst is refused in words.
  const bad = await runPerfCli(['-c', '198.18.0.2', '-b', 'fast']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /^mptcp perf: --bitrate must be bits per second/);
  assert.match((await runPerfCli(['-c', '198.18.0.2', '-b', '10M/5'])).err, /a burst \(\/N\) is not supported/);
  assert.match((await runPerfCli(['-s', '-b', '10M', '--kernel'])).err, /--bitrate is a client option/);
});

test('-w and -M: iperf3\'s limits in iperf3\'s words; refused with --kernel (node:net cannot set them)', OPTS, async () => {
  const theirsW = await spawnIperf3(['-c', '127.0.0.1', '-w', '1G'], 10_000).exit;
  const theirsM = await spawnIperf3(['-c', '127.0.0.1', '-M', '10000'], 10_000).exit;
  const iperfWords = (r: { stdout: string; stderr: string }): string => /parameter error - (.*)/.exec(r.stdout + r.stderr)![1]!.trim();
  const oursW = await runPerfCli(['-c', '198.18.0.2', '-w', '1G']);
  const oursM = await runPerfCli(['-c', '198.18.0.2', '-M', '10000']);
  assert.equal(oursW.code, 2);
  assert.equal(oursM.code, 2);
  assert.equal(/parameter error - (.*)/.exec(oursW.err)![1], iperfWords(theirsW));
  assert.equal(/parameter error - (.*)/.exec(oursM.err)![1], iperfWords(theirsM));
  assert.match((await runPerfCli(['-c', '127.0.0.1', '--kernel', '-w', '64K'])).err, /-w and -M set socket options that node:net cannot/);
  assert.match((await runPerfCli(['-s', '--kernel', '-M', '1000'])).err, /--set-mss is a client option/);
});

test('-w 16K on a 40 ms RTT path: the window limits the rate to about 16 KiB per RTT (on main: 20x more); -M 500: an MSS of 500 bytes', { timeout: 60_000 }, async () => {
  const limited = await runPerfCli(['-c', '198.18.0.2', '-t', '2', '-w', '16K', '--link', 'rate=100M,delay=20ms', '-J']);
  assert.equal(limited.code, 0, limited.err);
  const doc = JSON.parse(limited.out) as { start: { test_start: Record<string, unknown> }; end: { sum_received: { bits_per_second: number } } };
  assert.equal(doc.start.test_start['sock_bufsize'], 16 * 1024);
  const windowRate = (16 * 1024 * 8) / 0.04;
  assert.ok(doc.end.sum_received.bits_per_second <= windowRate * 1.2, `${doc.end.sum_received.bits_per_second} bit/s with a 16 KiB window over 40 ms`);
  // -M: the MSS of the data connection, read from the stack.
  const { runPerfClient } = await import('../../src/perf/client.js');
  const { startPerfServer } = await import('../../src/perf/server.js');
  const { emu, client: base, server: serverTransport } = await emulatedHosts(5, { rateBitsPerSecond: 50e6, delayMicros: 1000 }, { client: true, server: true });
  try {
    const server = await startPerfServer({ port: 5201, interval: 0 }, serverTransport);
    const mss: Array<number | undefined> = [];
    const transport = { ...base, connect: async (...args: Parameters<typeof base.connect>) => {
      const s = await base.connect(...args);
      // Established: the MSS is settled by the handshake (read now: a short test may be over in 200 ms).
      mss.push(s.tcpStats?.()?.pmtu);
      return s;
    } };
    await runPerfClient({ host: '198.18.0.2', bytes: 500_000, interval: 0, mss: 500 }, transport);
    await server.close();
    // pmtu is the send MSS + 40; the send MSS is the MSS less the 12 bytes of the timestamp option, as
    // Linux's mss_cache: 1460 - 12 on the control connection, 500 - 12 on the data connection.
    assert.deepEqual(mss, [1448 + 40, 488 + 40], 'the control connection keeps its MSS; the data connection uses -M 500');
  } finally {
    emu.close();
  }
});

test('--bidir -R: refused with iperf3\'s own complaint, as the installed iperf3 gives it (--bidir itself: test/perf/bidir.test.ts)', OPTS, async () => {
  const theirs = await spawnIperf3(['-c', '127.0.0.1', '--bidir', '-R'], 10_000).exit;
  const oursR = await runPerfCli(['-c', '198.18.0.2', '--bidir', '-R']);
  assert.equal(/parameter error - (.*)/.exec(oursR.err)![1], /parameter error - (.*)/.exec(theirs.stdout + theirs.stderr)![1]!.trim());
});
