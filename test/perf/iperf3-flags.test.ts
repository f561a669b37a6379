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
import { haveIperf3, IPERF3_SKIP_REASON, runPerfCli, spawnIperf3, startIperf3Server } from './helpers.js';

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
