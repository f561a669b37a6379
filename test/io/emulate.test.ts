/**
 * `mptcp emulate`: its words and errors (anywhere), and its accuracy between two kernels (root,
 * /dev/net/tun, ping, iperf3; real time, generous bounds; the exact figures are in BENCHMARKS.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/cli/cli.js';
import { LinkSpecError } from '../../src/emu/link-spec.js';
import { parsePathSpec } from '../../src/io/emulate.js';
import { linkExists } from '../../src/io/netns.js';
import { readCapture } from '../../src/wire/pcap.js';
import { WireError } from '../../src/wire/errors.js';
import { emulateSkipReason, iperf3, parsePing, startEmulate } from '../support/emulate.js';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (t) => void (out += t), stderr: (t) => void (err += t) });
  return { code, out, err };
}

test('emulate: --path words, the same link errors as perf --link', async () => {
  const p = parsePathSpec('198.18.1.1/24,198.18.1.2/24,rate=10M,delay=20ms,loss=ge:1%,30%');
  assert.ok(!(p instanceof LinkSpecError), String(p));
  assert.equal(p.leftCidr, '198.18.1.1/24');
  assert.equal(p.family, 4);
  assert.equal(p.link.up.rateBitsPerSecond, 10e6);
  assert.equal(p.link.down.loss?.kind, 'gilbert-elliott');
  const v6 = parsePathSpec('2001:2:0:1::1/64,2001:2:0:1::2/64');
  assert.ok(!(v6 instanceof LinkSpecError) && v6.family === 6 && v6.link.up.rateBitsPerSecond === 1e9);
  for (const [text, why] of [
    ['198.18.1.1/24', /^expected LEFT_CIDR,RIGHT_CIDR/],
    ['rate=1M,198.18.1.2/24', /^expected LEFT_CIDR,RIGHT_CIDR/],
    ['198.18.1.1,198.18.1.2/24', /^LEFT_CIDR '198\.18\.1\.1': expected an address with its prefix length/],
    ['198.18.1.1/24,198.18.1.2/', /^RIGHT_CIDR '198\.18\.1\.2\/': expected an address with its prefix length/],
    ['198.18.1.1/24,2001:2::1/64', /not of one IP version/],
    ['198.18.1.1/24,198.18.1.1/24', /both ends have the address 198\.18\.1\.1/],
  ] as const) {
    const r = parsePathSpec(text);
    assert.ok(r instanceof LinkSpecError, text);
    assert.match(r.message, why, text);
  }
  const perf = await cli(['perf', '-c', '198.18.0.2', '--link', 'rate=5']);
  const emu = await cli(['emulate', '--left', 'a', '--right', 'b', '--path', '198.18.1.1/24,198.18.1.2/24,rate=5']);
  assert.equal(emu.code, 2);
  const why = (s: string) => s.split('\n')[0]!.replace(/^.*?': /, '');
  assert.equal(why(emu.err), why(perf.err), 'the same explanation as perf --link');
  assert.match(emu.err, /^mptcp emulate: bad --path '198\.18\.1\.1\/24,198\.18\.1\.2\/24,rate=5': rate=5: expected bits per second, at least 1K/);
  for (const [args, re] of [
    [['emulate', '--path', '198.18.1.1/24,198.18.1.2/24'], /^mptcp emulate: --left NS and --right NS are required/],
    [['emulate', '--left', 'a', '--right', 'b'], /^mptcp emulate: at least one --path/],
    [['emulate', '--left', 'a', '--right', 'b', '--path', '198.18.1.1/24,198.18.1.2/24', '--duration', '0'], /^mptcp emulate: --duration 0: expected seconds/],
    [['emulate', '--left', 'a', '--right', 'b', '--path', '198.18.1.1/24,198.18.1.2/24,'], /^mptcp emulate: bad --path '198\.18\.1\.1\/24,198\.18\.1\.2\/24,': empty: give KEY=VALUE fields/],
    [['emulate', '--left', 'a', '--right', 'b', '--path', '198.18.1.1/24,198.18.1.2/24', '--pcap', 'x.pcap', '--pcap-snaplen', 'all'], /^mptcp emulate: bad --pcap-snaplen 'all' \(expected 'headers' or a number of bytes 1-262144\)/],
    [['emulate', '--left', 'a', '--right', 'b', '--path', '198.18.1.1/24,198.18.1.2/24', '--pcap-snaplen', '96'], /^mptcp emulate: --pcap-snaplen goes with --pcap FILE/],
  ] as const) {
    const r = await cli([...args]);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, re);
    assert.equal(r.err.split('\n').length, 3, 'one line and the --help hint');
  }
});

test('emulate: parsing arbitrary --path text never throws', () => {
  const piece = fc.oneof(fc.string(), fc.constantFrom('198.18.1.1/24', '2001:2::1/64', ',', '/', 'rate=', 'loss=ge:', 'down=2-4', '1', '='));
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 8 }), (parts) => {
      const r = parsePathSpec(parts.join(''));
      if (r instanceof LinkSpecError) assert.ok(r.message.length > 0);
    }),
    { numRuns: 2000 },
  );
});

test('emulate: a missing namespace or no root says so, one line, exit 1', async () => {
  const r = await cli(['emulate', '--left', `mptcpts-${process.pid}-nonexistent`, '--right', 'b', '--path', '198.18.1.1/24,198.18.1.2/24']);
  assert.equal(r.code, 1);
  if (process.getuid?.() === 0) assert.match(r.err, new RegExp(`^mptcp emulate: --left mptcpts-${process.pid}-nonexistent: no such network namespace \\(create it with: ip netns add `));
  else assert.match(r.err, /^mptcp emulate: (needs root|.*TUN)/);
  assert.equal(r.err.split('\n').length, 2);
});

const skip = emulateSkipReason();

/** emulate's closing 'timing:' line: mean and max lateness of its deliveries (ms), or undefined. */
function emulateLateness(out: string): { line: string; meanMs: number; maxMs: number } | undefined {
  const line = out.split('\n').find((l) => l.startsWith('timing:'));
  const m = line && /late by ([\d.]+) ms on average, ([\d.]+) ms at most/.exec(line);
  return m ? { line: line!, meanMs: Number(m[1]), maxMs: Number(m[2]) } : undefined;
}

test('emulate accuracy: rate=10M,delay=20ms: ping RTT 40 ms +- 3 ms (more by the measured lateness on a loaded machine), never less', { skip, timeout: 60_000 }, async (t) => {
  // Its own emulate run, so that the lateness emulate reports at its end is that of the pings' deliveries.
  const run = await startEmulate(['198.18.1.1/24,198.18.1.2/24,rate=10M,delay=20ms'], { label: 'rtt' });
  try {
    await run.left.run('ping', ['-c', '3', '-i', '0.2', '-q', '198.18.1.2'], { timeoutMs: 10_000 }); // warm-up
    const pingText = (await run.left.run('ping', ['-c', '20', '-i', '0.1', '198.18.1.2'], { timeoutMs: 20_000 })).stdout;
    const stopped = await run.stop();
    assert.equal(stopped.code, 0, stopped.err);
    const ping = parsePing(pingText);
    assert.equal(ping.received, 20);
    // The median: on this shared 2-core machine a descheduled process (ping, emulate) makes outliers.
    const rtts = [...pingText.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
    const median = rtts[Math.floor(rtts.length / 2)]!;
    const late = emulateLateness(stopped.out);
    assert.ok(late, stopped.out);
    // A round trip crosses emulate twice, and each crossing waits twice for the process to run: to read the
    // packet from its device (not measured) and to deliver it when due (the lateness emulate reports). At load
    // 14-16 the median was 5.6-34.4 ms over 40 with 4.3-11.2 ms of mean lateness (1.3 to 4.0 times): the
    // bound is 6 times. Idle (a mean under 0.5 ms) the 40 +- 3 ms holds as it is.
    const widen = late.meanMs < 0.5 ? 0 : 6 * late.meanMs;
    const stats = `ping median RTT ${median} ms (min ${ping.rtt!.min}, avg ${ping.rtt!.avg}, max ${ping.rtt!.max}); emulate ${late.line}`;
    t.diagnostic(widen > 0 ? `loaded machine: the upper bound 43 ms widened by ${widen.toFixed(1)} ms (6 x the mean lateness emulate measured); ${stats}` : stats);
    assert.ok(median >= 37 && median <= 43 + widen, stats);
    // Lateness only adds: no round trip is shorter than the link's 40 ms (less 3 for the bound's sake).
    assert.ok(ping.rtt!.min >= 37, `faster than the link: ${stats}`);
  } finally {
    await run.dispose();
  }
});

test('emulate accuracy: rate=10M,delay=20ms: iperf3 9.0-10.0 Mbit/s; a capture of every delivered packet; devices gone after SIGTERM', { skip, timeout: 120_000 }, async (t) => {
  const pcap = join(tmpdir(), `mptcp-emulate-${process.pid}.pcap`);
  const run = await startEmulate(['198.18.1.1/24,198.18.1.2/24,rate=10M,delay=20ms'], { extraArgs: ['--pcap', pcap], label: 'acc' });
  try {
    const devices = [...run.out().matchAll(/ (em\d+[lr]0) /g)].map((m) => m[1]!);
    assert.equal(devices.length, 2, run.out());
    assert.ok(linkExists(devices[0]!, run.left.name) && linkExists(devices[1]!, run.right.name), 'one device in each namespace');
    const tcp = await iperf3(run.left, run.right, '198.18.1.2', ['-t', '6']);
    const mbps = tcp.receivedBps / 1e6;
    t.diagnostic(`iperf3 ${mbps.toFixed(3)} Mbit/s`);
    assert.ok(mbps >= 9.0 && mbps <= 10.0, `iperf3 received ${mbps.toFixed(2)} Mbit/s`);
    const stopped = await run.stop();
    assert.equal(stopped.code, 0, stopped.err);
    t.diagnostic(stopped.out.split('\n').find((l) => l.startsWith('timing:')) ?? 'no timing line');
    const counts = /^path 0 198\.18\.1\.1\/24 <-> 198\.18\.1\.2\/24: up (\d+) packets \((\d+) bytes\), (\d+) delivered, (\d+) dropped.*; down (\d+) packets \(\d+ bytes\), (\d+) delivered/m.exec(stopped.out);
    assert.ok(counts, stopped.out);
    assert.ok(Number(counts[2]) > 6 * 9e6 / 8, `up bytes ${counts[2]}`);
    assert.equal(linkExists(devices[0]!, run.left.name), false, 'left device removed');
    assert.equal(linkExists(devices[1]!, run.right.name), false, 'right device removed');
    const capture = readCapture(readFileSync(pcap));
    assert.ok(!(capture instanceof WireError), String(capture));
    const packets = capture.packets.length;
    assert.equal(packets, Number(counts[3]) + Number(counts[6]), 'the capture holds every delivered packet');
    // The default snap length is every command's: headers with options only (iperf3's full segments cut).
    const big = capture.packets.filter((p) => p.originalLength > 1000);
    assert.ok(big.length > 1000 && big.every((p) => p.data.length <= 120), `${big.length} full-size packets kept as headers only`);
  } finally {
    await run.dispose();
    rmSync(pcap, { force: true });
  }
});

test('emulate accuracy: loss-up=2%: 1,000 pings lose 1% to 3.5%', { skip, timeout: 90_000 }, async (t) => {
  const run = await startEmulate(['198.18.2.1/24,198.18.2.2/24,loss-up=2%'], { label: 'loss' });
  try {
    const ping = parsePing((await run.left.run('ping', ['-c', '1000', '-i', '0.002', '-W', '1', '-q', '198.18.2.2'], { timeoutMs: 60_000 })).stdout);
    assert.equal(ping.transmitted, 1000);
    const lossPercent = (100 * (ping.transmitted - ping.received)) / ping.transmitted;
    t.diagnostic(`ping lost ${lossPercent}%`);
    assert.ok(lossPercent >= 1 && lossPercent <= 3.5, `ping lost ${lossPercent}%`);
    const stopped = await run.stop();
    const drops = /up \d+ packets \(\d+ bytes\), \d+ delivered, (\d+) dropped \(loss (\d+)\)/.exec(stopped.out);
    assert.ok(drops, stopped.out);
    assert.equal(Number(drops[2]), ping.transmitted - ping.received, 'every lost ping is one the link dropped');
  } finally {
    await run.dispose();
  }
});

test('emulate accuracy: down=2-4 stops traffic for those two seconds', { skip, timeout: 60_000 }, async (t) => {
  const run = await startEmulate(['198.18.3.1/24,198.18.3.2/24,delay=5ms,down=2-4'], { label: 'down' });
  try {
    // 6 s of pings every 50 ms, each reply with its wall-clock time (-D).
    const r = await run.left.run('ping', ['-D', '-c', '120', '-i', '0.05', '-W', '1', '198.18.3.2'], { timeoutMs: 30_000 });
    const replies = [...r.stdout.matchAll(/^\[(\d+\.\d+)\] .*icmp_seq=(\d+)/gm)].map((m) => Number(m[1]) * 1000 - run.readyAt);
    assert.ok(replies.length > 50, r.stdout.slice(0, 500));
    const inOutage = replies.filter((t) => t > 2150 && t < 3900);
    assert.deepEqual(inOutage, [], 'no reply while the link is down');
    assert.ok(replies.some((t) => t > 1000 && t < 2000), 'replies before the outage');
    assert.ok(replies.some((t) => t > 4100 && t < 5000), 'replies after it');
    const lost = 120 - replies.length;
    const before = Math.max(...replies.filter((x) => x < 3000));
    const after = Math.min(...replies.filter((x) => x > 3000));
    t.diagnostic(`${lost} of 120 pings lost; last reply before the outage ${before.toFixed(0)} ms after ready, first after it ${after.toFixed(0)} ms`);
    assert.ok(lost >= 20 && lost <= 45, `${lost} of 120 pings lost (2 s of 50 ms pings: 40, fewer when ping itself runs late on a loaded machine)`);
    const stopped = await run.stop();
    assert.match(stopped.out, /up \d+ packets \(\d+ bytes\), \d+ delivered, \d+ dropped \(down \d+\)/);
  } finally {
    await run.dispose();
  }
});
