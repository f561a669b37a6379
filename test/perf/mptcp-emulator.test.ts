/**
 * `mptcp perf` as Multipath TCP on the emulator (both ends in this process, real time): two `--link` are two
 * paths; the client joins the second (its default `subflow` endpoint there) and the JSON lists both subflows
 * per interval and in "end"; `--no-mptcp` gives plain iperf3 JSON (no subflows); bad `--endpoint` / `--limits`
 * words are usage errors naming the option. Assertions do not depend on throughput.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runPerfCli } from './helpers.js';
import { emulatedPair } from '../../src/perf/emulated.js';
import { parseLinkSpec, parseMptcpOptions } from '../../src/cli/perf-options.js';

const run = runPerfCli;

interface SubflowJson {
  socket: number;
  subflow: number;
  local_host: string;
  remote_host: string;
  join: boolean;
  bytes?: number;
  bytes_sent?: number;
  bytes_acked?: number;
  bytes_received?: number;
  sender: boolean;
}
interface PerfJson {
  start: { connected: { socket: number }[] };
  intervals: { subflows?: SubflowJson[] }[];
  end: { sum_sent: { bytes: number }; sum_received: { bytes: number }; subflows?: SubflowJson[] };
}

const MB4 = 4 * 1024 * 1024;

test('emulator, two --link: the JSON shows both subflows of the data connection, each carrying data', { timeout: 60_000 }, async () => {
  const r = await run(['-c', '198.18.0.2', '-n', String(MB4), '--link', 'rate=40M,delay=2ms', '--link', 'rate=40M,delay=4ms', '--json']);
  assert.equal(r.code, 0, r.err);
  const doc = JSON.parse(r.out) as PerfJson;
  assert.equal(doc.end.sum_sent.bytes, MB4);
  assert.equal(doc.end.sum_received.bytes, MB4);
  const stream = doc.start.connected[0]!.socket;
  const subflows = (doc.end.subflows ?? []).filter((s) => s.socket === stream);
  assert.equal(subflows.length, 2, JSON.stringify(doc.end.subflows));
  assert.deepEqual(subflows.map((s) => [s.local_host, s.remote_host, s.join]), [
    ['198.18.0.1', '198.18.0.2', false],
    ['198.19.1.1', '198.18.0.2', true],
  ]);
  for (const s of subflows) assert.ok(s.bytes_sent! > 0 && s.sender, `subflow ${s.subflow} carried data: ${JSON.stringify(s)}`);
  const total = subflows.reduce((a, s) => a + s.bytes_sent!, 0);
  assert.ok(total >= MB4 && total < MB4 * 1.1 + 65_536, `subflows carried ${total} for ${MB4}`);
  // Every interval lists the subflows, and their (acknowledged) bytes add up to the totals.
  assert.ok(doc.intervals.length >= 1 && doc.intervals.every((iv) => Array.isArray(iv.subflows)));
  const perInterval = doc.intervals.flatMap((iv) => iv.subflows!).filter((s) => s.socket === stream);
  const acked = subflows.reduce((a, s) => a + s.bytes_acked!, 0);
  assert.equal(perInterval.reduce((a, s) => a + s.bytes!, 0), acked);
  // Nearly all acknowledged by the subflows at the end (the -n test waits for the DATA_ACK, which can come
  // over the other subflow just before a subflow's own TCP ACK), never more than sent plus the cookie.
  assert.ok(acked >= MB4 - 65_536 && acked <= total + 37, `acknowledged ${acked} of ${MB4} (sent ${total})`);
});

test('emulator, two --link, text: each interval has a line per subflow under its stream', { timeout: 60_000 }, async () => {
  const r = await run(['-c', '198.18.0.2', '-n', '2M', '--link', 'rate=40M', '--link', 'rate=40M']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /MPTCP: on; endpoints 198\.19\.1\.1 id 1 subflow; limits subflows 2 add_addr_accepted 0/);
  // Paths numbered from 1 in --link order, as mptcp demo numbers them ("path 1", "path 2").
  assert.match(r.out, /^ {2}path 1: client 198\.18\.0\.1 <-> server 198\.18\.0\.2, 40 Mbit\/s/m);
  assert.match(r.out, /^ {2}path 2: client 198\.19\.1\.1 <-> server 198\.19\.1\.2, 40 Mbit\/s/m);
  assert.doesNotMatch(r.out, /path 0/);
  assert.match(r.out, /\[ {2}\d\] {3}subflow 0 .* 198\.18\.0\.1 port \d+ -> 198\.18\.0\.2 port 5201 \(initial\)/);
  assert.match(r.out, /\[ {2}\d\] {3}subflow 1 .* 198\.19\.1\.1 port \d+ -> 198\.18\.0\.2 port 5201 \(join\)/);
  assert.match(r.out, /MPTCP subflows \(data bytes this side sent on each and acknowledged\):/);
});

test('emulator, --no-mptcp: plain iperf3 output, no subflows anywhere', { timeout: 60_000 }, async () => {
  const r = await run(['-c', '198.18.0.2', '-n', '1M', '--no-mptcp', '--json']);
  assert.equal(r.code, 0, r.err);
  const doc = JSON.parse(r.out) as PerfJson;
  assert.equal(doc.end.subflows, undefined);
  assert.ok(doc.intervals.every((iv) => iv.subflows === undefined));
  const text = await run(['-c', '198.18.0.2', '-n', '1M', '--no-mptcp']);
  assert.equal(text.code, 0, text.err);
  assert.doesNotMatch(text.out, /subflow|MPTCP/);
});

test('bad --endpoint, --limits and combinations are usage errors naming the option', async () => {
  const cases: [string[], RegExp][] = [
    [['--endpoint', '198.18.0.1 subflow port 5300'], /bad --endpoint '198\.18\.0\.1 subflow port 5300': flags must have signal/],
    [['--endpoint', 'nonsense'], /bad --endpoint 'nonsense'/],
    [['--endpoint', '198.18.0.1 id 0 subflow'], /invalid ID 0/],
    [['--limits', 'subflows 9'], /bad --limits 'subflows 9': subflows 9: limit greater than maximum \(8\)/],
    [['--limits', 'joins 2'], /bad --limits 'joins 2': unknown limit/],
    [['--no-mptcp', '--endpoint', '198.18.0.1 subflow'], /go without --no-mptcp/],
    [['--no-mptcp', '--link', 'rate=1G', '--link', 'rate=1G'], /several --link are several paths, which need MPTCP/],
    [['--kernel', '--limits', 'subflows 2'], /mptcpize/],
    [['--scheduler', 'fastest'], /unknown --scheduler 'fastest' \(available: .*roundrobin/],
    [['--no-mptcp', '--scheduler', 'roundrobin'], /go without --no-mptcp/],
    [['--kernel', '--scheduler', 'roundrobin'], /net\.mptcp\.scheduler/],
    [['--cc', 'bbr'], /^mptcp perf: unknown congestion control 'bbr' \(available: balia, cubic, lia, olia, reno\)$/m],
    [['-C', 'vegas'], /unknown congestion control 'vegas' \(available: balia, cubic, lia, olia, reno\)/],
    [['--cc', 'lia', '--congestion', 'olia'], /same option: give one/],
    [['--kernel', '-C', 'lia'], /net\.ipv4\.tcp_congestion_control/],
  ];
  for (const [args, message] of cases) {
    const r = await run(['-c', '198.18.0.2', '-n', '1M', ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, message);
  }
  const notOurs = await run(['-c', '198.18.0.2', '-n', '1M', '--endpoint', '198.18.9.9 subflow']);
  assert.equal(notOurs.code, 1);
  assert.match(notOurs.err, /198\.18\.9\.9 is not one of our addresses/);
});

test('emulator, --scheduler roundrobin: both subflows carry data and the run says which scheduler', { timeout: 60_000 }, async () => {
  const r = await run(['-c', '198.18.0.2', '-n', '4M', '--link', 'rate=40M,delay=2ms', '--link', 'rate=40M,delay=4ms', '--scheduler', 'roundrobin', '--json']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as { end: { subflows?: { bytes_sent: number; socket: number }[] } };
  const subflows = j.end.subflows ?? [];
  assert.ok(subflows.filter((s) => s.bytes_sent > 100_000).length >= 2, `two subflows carried data: ${JSON.stringify(subflows.map((s) => s.bytes_sent))}`);
});

test('emulator, --cc / -C / --congestion: both hosts use the controller, the run says which, and every name is in --help', { timeout: 60_000 }, async () => {
  const help = await run(['--help']);
  assert.match(help.out, /-C, --congestion NAME, --cc NAME/);
  assert.match(help.out, /one of\s+balia, cubic, lia, olia, reno \(default cubic\)/);
  for (const args of [['--cc', 'lia'], ['-C', 'olia'], ['--congestion', 'balia'], ['--cc', 'reno', '-C', 'reno']]) {
    const name = args[1]!;
    const r = await run(['-c', '198.18.0.2', '-n', '1M', '--link', 'rate=40M,delay=2ms', '--link', 'rate=40M,delay=4ms', ...args]);
    assert.equal(r.code, 0, r.err);
    const coupled = name === 'reno' ? '' : " (coupled across each MPTCP connection's subflows)";
    assert.ok(r.out.includes(`Congestion control: ${name}${coupled}\n`), r.out);
  }
  const plain = await run(['-c', '198.18.0.2', '-n', '1M', '--link', 'rate=40M,delay=2ms']);
  assert.equal(plain.code, 0, plain.err);
  assert.doesNotMatch(plain.out, /Congestion control/, 'no --cc: the output is as before');
});

test('emulatedPair: --cc becomes the default controller of both hosts (which every connection and subflow takes)', { timeout: 60_000 }, () => {
  const pair = emulatedPair('198.18.0.2', undefined, [parseLinkSpec('rate=40M,delay=2ms'), parseLinkSpec('rate=40M,delay=4ms')], parseMptcpOptions({ noMptcp: false, endpoints: [], limits: undefined }), 'lia');
  try {
    assert.equal(pair.clientHost.host.congestionControl, 'lia');
    assert.equal(pair.serverHost.host.congestionControl, 'lia');
  } finally {
    pair.close();
  }
  const defaults = emulatedPair('198.18.0.2', undefined, [parseLinkSpec('rate=40M,delay=2ms')]);
  try {
    assert.equal(defaults.clientHost.host.congestionControl, 'cubic');
  } finally {
    defaults.close();
  }
});
