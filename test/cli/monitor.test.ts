/**
 * `--monitor` on `mptcp demo` and `mptcp perf`: the hosts' MPTCP events printed as `ip mptcp monitor` lines
 * while the run goes (before the summary; in text mode between the rows), with tokens that are the ones the
 * capture of the same run carries, and nothing else of the run changed (the demo's JSON is the same).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/cli/cli.js';
import { readFrames } from '../../src/capture/decode.js';
import { summarizeFrames } from '../../src/capture/summary.js';

async function cli(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

const LINE = /^ *(client|server) \[ *([A-Z_]+)\] token=([0-9a-f]{8})(?: .*)?$/;

test('mptcp demo --monitor: ip mptcp monitor lines of both hosts as the run goes, tokens as in the capture, the run unchanged', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mptcp-monitor-'));
  try {
    const args = ['--bytes', '2M', '--seed', '3', '--outage', '1-1.5'];
    const pcap = join(dir, 'd.pcap');
    const text = await cli(['demo', ...args, '--monitor', '--pcap', pcap]);
    assert.equal(text.code, 0, text.err);
    const lines = text.out.split('\n');
    const events = lines.map((l) => LINE.exec(l)).filter((m) => m !== null);
    const kinds = (host: string) => events.filter((m) => m[1] === host).map((m) => m[2]);
    assert.deepEqual(kinds('client'), ['CREATED', 'ESTABLISHED', 'SF_ESTABLISHED', 'CLOSED']);
    assert.deepEqual(kinds('server'), ['CREATED', 'ESTABLISHED', 'SF_ESTABLISHED', 'CLOSED']);
    // Live: the events come before the first row that follows them, and before the summary.
    const firstRow = lines.findIndex((l) => /^ +0-(1|0\.\d+) +s/.test(l)); // a run shorter than 1 s has one partial row
    const firstEvent = lines.findIndex((l) => LINE.test(l));
    assert.ok(firstEvent >= 0 && firstEvent < firstRow, 'connection events print before the first interval row');
    // Each host's token is the one derived from its key in the capture (the local token of that end).
    const [conn] = summarizeFrames(readFrames(readFileSync(pcap)).frames).connections;
    const hex = (n: number) => (n >>> 0).toString(16).padStart(8, '0');
    assert.ok(events.filter((m) => m[1] === 'client').every((m) => m[3] === hex(conn!.clientKey!.token)));
    assert.ok(events.filter((m) => m[1] === 'server').every((m) => m[3] === hex(conn!.serverKey!.token)));
    const sf = lines.find((l) => /client \[SF_ESTABLISHED\]/.test(l))!;
    assert.match(sf, /remid=2 locid=2 saddr4=198\.18\.2\.2 daddr4=198\.18\.2\.1 sport=\d+ dport=5201 backup=0$/);
    // JSON: the document is the same as without --monitor; the lines go to stderr.
    const plain = await cli(['demo', ...args, '--json']);
    const monitored = await cli(['demo', ...args, '--json', '--monitor']);
    assert.equal(monitored.out, plain.out);
    assert.equal(monitored.err.split('\n').filter((l) => LINE.test(l)).length, events.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('mptcp perf --monitor (emulated, two paths): both hosts\' events for the control and the data connection; not with --kernel', async () => {
  const r = await cli(['perf', '-c', '198.18.0.2', '-n', '512K', '-i', '0', '--link', 'rate=50M,delay=2ms', '--link', 'rate=20M,delay=5ms', '--monitor']);
  assert.equal(r.code, 0, r.err);
  const events = r.out.split('\n').map((l) => LINE.exec(l)).filter((m) => m !== null);
  for (const host of ['client', 'server']) {
    const of = (kind: string) => events.filter((m) => m[1] === host && m[2] === kind).length;
    assert.equal(of('CREATED'), 2, `${host}: two connections created`);
    assert.equal(of('ESTABLISHED'), 2);
    assert.equal(of('SF_ESTABLISHED'), 2, `${host}: a joined subflow each`);
  }
  const bad = await cli(['perf', '-c', '127.0.0.1', '--kernel', '--monitor']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--monitor shows our stack's MPTCP events/);
});

/** The records of a JSON-SEQ file (RFC 7464: RS, JSON, LF), each parsed. */
function jsonSeq(text: string): Record<string, unknown>[] {
  assert.ok(text.startsWith('\u001e'), 'records start with RS');
  return text
    .split('\u001e')
    .slice(1)
    .map((r) => {
      assert.ok(r.endsWith('\n'), 'records end with LF');
      return JSON.parse(r) as Record<string, unknown>;
    });
}

test('--qlog on demo and perf: a JSON-SEQ qlog, the header then MPTCP events with a path id per subflow and RTT/cwnd metrics per path', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mptcp-qlog-'));
  try {
    const file = join(dir, 'demo.qlog');
    const plain = await cli(['demo', '--json', '--bytes', '2M', '--outage', '1-1.5']);
    const r = await cli(['demo', '--json', '--bytes', '2M', '--outage', '1-1.5', '--qlog', file]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, plain.out, 'the run is the same');
    const [header, ...events] = jsonSeq(readFileSync(file, 'utf8'));
    assert.equal(header!['qlog_format'], 'JSON-SEQ');
    assert.equal(header!['qlog_version'], '0.4');
    type Event = { time: number; name: string; data: { host: string; path_id?: number; smoothed_rtt?: number; congestion_window?: number; token?: string } };
    const list = events as unknown as Event[];
    for (let i = 1; i < list.length; i++) assert.ok(list[i]!.time >= list[i - 1]!.time, 'in time order');
    const named = (name: string, host: string) => list.filter((e) => e.name === name && e.data.host === host);
    for (const host of ['client', 'server']) {
      assert.equal(named('mptcp:connection_created', host)[0]?.data.path_id, 0);
      assert.equal(named('mptcp:path_established', host)[0]?.data.path_id, 1, `${host}: the join is path 1`);
      assert.equal(named('mptcp:connection_closed', host).length, 1);
    }
    const metrics = named('recovery:metrics_updated', 'client');
    assert.deepEqual([...new Set(metrics.map((m) => m.data.path_id))].sort(), [0, 1]);
    assert.ok(metrics.every((m) => (m.data.congestion_window ?? 0) > 0));
    assert.ok(metrics.filter((m) => m.data.path_id === 1 && (m.data.smoothed_rtt ?? 0) >= 80).length > 5, 'path 2 (80 ms RTT) has an RTT of at least 80 ms');

    const perfFile = join(dir, 'perf.qlog');
    const p = await cli(['perf', '-c', '198.18.0.2', '-n', '1M', '-i', '0', '--link', 'rate=20M,delay=20ms', '--link', 'rate=20M,delay=30ms', '--qlog', perfFile]);
    assert.equal(p.code, 0, p.err);
    const perfEvents = jsonSeq(readFileSync(perfFile, 'utf8')).slice(1) as unknown as Event[];
    assert.equal(perfEvents.filter((e) => e.name === 'mptcp:path_established').length, 4, 'a join per connection on each host');
    const perfMetrics = perfEvents.filter((e) => e.name === 'recovery:metrics_updated');
    assert.ok(perfMetrics.some((m) => m.data.path_id === 1 && m.data.token !== undefined), 'metrics of the joined subflows, with their connection');
    // With --monitor as well, both get every event (one queue per host, taken once for both).
    const both = await cli(['perf', '-c', '198.18.0.2', '-n', '1M', '-i', '0', '--link', 'rate=20M,delay=20ms', '--link', 'rate=20M,delay=30ms', '--qlog', perfFile, '--monitor']);
    assert.equal(both.code, 0, both.err);
    const monitorLines = both.out.split('\n').filter((l) => LINE.test(l));
    const bothEvents = (jsonSeq(readFileSync(perfFile, 'utf8')).slice(1) as unknown as Event[]).filter((e) => e.name.startsWith('mptcp:'));
    assert.equal(monitorLines.filter((l) => /\[SF_ESTABLISHED\]/.test(l)).length, 4, both.out);
    assert.equal(bothEvents.filter((e) => e.name === 'mptcp:path_established').length, 4, 'the qlog still has every join with --monitor');
    assert.equal((await cli(['demo', '--qlog', join(dir, 'no', 'such', 'x.qlog')])).code, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
