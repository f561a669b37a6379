/**
 * `mptcp demo` (the README's main job): the scenario function on virtual time, and the command's output and
 * exit status. The first path goes down in mid-transfer and comes back; the data must verify, both subflows
 * must carry data, the failed path nothing while it is down and data again once it is back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runDemo, type DemoResult } from '../../src/harness/demo.js';
import { runCli } from '../../src/cli/cli.js';

const MiB = 1024 * 1024;
const SECOND = 1_000_000;

function summary(r: DemoResult): string {
  return r.intervals.map((i) => `${i.startMicros / SECOND}s ${i.bytesPerPath.join('/')} ${i.pathStates.join('/')}`).join('; ');
}

test('demo: two paths, the first fails from 2 s to 4 s and comes back; data verified, both paths used, none over the dead path', () => {
  const r = runDemo({ bytes: 32 * MiB, seed: 3, outageStartMicros: 2 * SECOND, outageEndMicros: 4 * SECOND });
  assert.equal(r.problem, undefined);
  assert.equal(r.completed, true);
  assert.equal(r.receivedBytes, 32 * MiB);
  assert.equal(r.receivedSha256, r.sentSha256);
  assert.equal(r.verified, true);

  assert.equal(r.subflows.length, 2, 'the initial subflow and one joined subflow');
  assert.deepEqual(
    r.subflows.map((s) => [s.path, s.join]),
    [
      [0, false],
      [1, true],
    ],
  );
  for (const s of r.subflows) {
    assert.ok(s.dataBytesSent > MiB, `subflow ${s.id} carried data (${s.dataBytesSent} bytes)`);
    assert.ok(s.dataBytesReceived > MiB, `and the server read it (${s.dataBytesReceived} bytes)`);
  }
  assert.equal(r.clientCounters['MPJoinSynTx'], 1);
  assert.equal(r.serverCounters['MPJoinAckRx'], 1);

  // Interval by interval: nothing arrives over path 1 during the intervals wholly inside the outage, data
  // arrives over path 2 meanwhile, and path 1 carries data again after it returned.
  const during = r.intervals.filter((i) => i.startMicros >= r.outageStartMicros && i.endMicros <= r.outageEndMicros);
  assert.equal(during.length, 2, summary(r));
  for (const i of during) {
    assert.equal(i.bytesPerPath[0], 0, `path 1 carried nothing while down: ${summary(r)}`);
    assert.deepEqual(i.pathStates, ['DOWN', 'up']);
  }
  assert.ok(
    during.some((i) => i.bytesPerPath[1]! > 0),
    `path 2 carried data during the outage: ${summary(r)}`,
  );
  const after = r.intervals.filter((i) => i.startMicros >= r.outageEndMicros);
  const path1After = after.reduce((sum, i) => sum + i.bytesPerPath[0]!, 0);
  assert.ok(path1After > 4 * MiB, `path 1 carried data again after it came back (${path1After} bytes): ${summary(r)}`);
  // Already in the first interval after the return (its stale subflow's path is probed every 500 ms), and
  // at more than path 2's 20 Mbit/s.
  assert.ok(after[0]!.bytesPerPath[0]! > (20e6 / 8) * ((after[0]!.endMicros - after[0]!.startMicros) / SECOND), `path 1 in the first second after its return: ${summary(r)}`);
  assert.ok(r.clientCounters['SubflowStale']! >= 1 && r.clientCounters['SubflowRecover']! >= 1, 'stale during the outage, recovered after it');
  const before = r.intervals.filter((i) => i.endMicros <= r.outageStartMicros);
  assert.ok(before.every((i) => i.bytesPerPath[0]! > 0 && i.pathStates[0] === 'up'));

  // The rows add up to what the subflows read.
  for (const [p, total] of [0, 1].map((p) => [p, r.intervals.reduce((sum, i) => sum + i.bytesPerPath[p]!, 0)] as const)) {
    assert.equal(total, r.subflows.find((s) => s.path === p)!.dataBytesReceived);
  }
  console.log(`# demo: ${summary(r)}; reinjected ${r.reinjectedBytes}, duration ${r.durationMicros / SECOND} s`);
});

test('demo: the same seed gives the same run', () => {
  const options = { bytes: 4 * MiB, seed: 11, outageStartMicros: 500_000, outageEndMicros: 1_000_000 };
  const a = runDemo(options);
  const b = runDemo(options);
  assert.equal(a.verified, true);
  assert.deepEqual(b, a);
  const other = runDemo({ ...options, seed: 12 });
  assert.notEqual(other.sentSha256, a.sentSha256, 'the seed picks the data');
});

test('mptcp demo: table, summary, exit 0 when verified; --json; bad usage exits 2', async () => {
  let out = '';
  let err = '';
  const io = { stdout: (t: string) => void (out += t), stderr: (t: string) => void (err += t) };
  assert.equal(await runCli(['demo', '--bytes', '12M', '--outage', '1-2.5', '--seed', '2'], io), 0, err);
  assert.match(out, /path 1 Mbit\/s +path 2 Mbit\/s +total +path states/);
  assert.match(out, /^ +1-2 +s +0\.0 /m, 'path 1 shows 0.0 while down');
  assert.match(out, /path 1 DOWN, path 2 up/);
  assert.match(out, /subflow 1 \(MP_JOIN, path 2 198\.18\.2\.2 -> 198\.18\.2\.1\)/);
  assert.match(out, /reinjected \d+ bytes \(MPTCPRetrans \d+\)/);
  assert.match(out, /verified: the server received all 12582912 bytes, SHA-256 [0-9a-f]{64}/);

  out = '';
  assert.equal(await runCli(['demo', '--bytes', '1M', '--json'], io), 0, err);
  const json = JSON.parse(out) as DemoResult;
  assert.equal(json.verified, true);
  assert.equal(json.subflows.length, 2);

  err = '';
  assert.equal(await runCli(['demo', '--outage', '5-3'], io), 2);
  assert.match(err, /^mptcp demo: bad --outage '5-3'/);
  assert.equal(await runCli(['demo', '--fail-path', '3'], io), 2);
  assert.equal(await runCli(['demo', '--bytes', 'lots'], io), 2);
});

test('mptcp demo --bytes 4M: the last row is divided by its real length (it equals the goodput), and the summary says the transfer ended before the outage', async () => {
  let out = '';
  const io = { stdout: (t: string) => void (out += t), stderr: () => undefined };
  assert.equal(await runCli(['demo', '--bytes', '4M'], io), 0);
  assert.match(out, /path 1 is scheduled to go down at 3 s and come back at 5 s/);
  const rows = out.split('\n').filter((l) => /^ +\d+(\.\d+)?-\d+(\.\d+)? +s /.test(l));
  assert.equal(rows.length, 1, out);
  const goodput = /goodput ([\d.]+) Mbit\/s/.exec(out)![1];
  const duration = /duration ([\d.]+) s of virtual time/.exec(out)![1]!;
  const total = rows[0]!.trim().split(/ +/)[4];
  assert.match(rows[0]!, new RegExp(`^ +0-${duration.replace('.', '\\.')} s `), 'the row ends when the transfer did');
  assert.equal(total, goodput, `the only row's total is the goodput: ${rows[0]}`);
  assert.match(out, new RegExp(`the transfer ended at ${duration.replace('.', '\\.')} s, before path 1's outage \\(3-5 s\\): no path failed during it`));
  // And the rows of the scenario function: the last one ends at the duration.
  const r = runDemo({ bytes: 4 * MiB });
  assert.equal(r.intervals.at(-1)!.endMicros, r.durationMicros);
});

test('mptcp demo --bytes 1K: the header gives the size in a unit it reaches ("1 KiB", not "0.0 MiB")', async () => {
  let out = '';
  const io = { stdout: (t: string) => void (out += t), stderr: () => undefined };
  assert.equal(await runCli(['demo', '--bytes', '1K'], io), 0);
  assert.match(out, /^MPTCP demo: 1 KiB from client to server/);
  assert.doesNotMatch(out, /0\.0 MiB/);
  assert.match(out, /verified: the server received all 1024 bytes/);
  out = '';
  assert.equal(await runCli(['demo', '--bytes', '1536', '--json'], io), 0);
  out = '';
  assert.equal(await runCli(['demo', '--bytes', '100'], io), 0);
  assert.match(out, /^MPTCP demo: 100 bytes from client/);
});

test('mptcp demo: subflow shares that add up to more than 100% (reinjection) are explained, with the bytes sent twice', async () => {
  let out = '';
  const io = { stdout: (t: string) => void (out += t), stderr: () => undefined };
  // The outage inside the transfer (16 MiB take about 3 s): the data in flight on the failed path is
  // reinjected. (Without it, 16M reinjected only while a joined subflow's ACKs had no SACK blocks.)
  assert.equal(await runCli(['demo', '--bytes', '16M', '--outage', '0.5-1.5'], io), 0);
  const shares = [...out.matchAll(/data bytes sent \(([\d.]+)%\)/g)].map((m) => Number(m[1]));
  assert.equal(shares.length, 2);
  const sum = shares.reduce((a, b) => a + b, 0);
  assert.ok(sum > 100, `this run reinjects: ${sum}%`);
  const reinjected = /reinjected (\d+) bytes/.exec(out)![1];
  assert.match(out, new RegExp(`\\(shares are of the 16777216 data bytes: together [\\d.]+%, because ${reinjected} bytes were sent on two subflows: reinjected`));
  // No note when nothing was sent twice.
  out = '';
  assert.equal(await runCli(['demo', '--bytes', '1M'], io), 0);
  assert.match(out, /reinjected 0 bytes/);
  assert.doesNotMatch(out, /shares are of/);
});

test('mptcp demo --json: paths numbered as on the command line ("failPath": 2 for --fail-path 2, subflow "path" 1 and 2)', async () => {
  let out = '';
  const io = { stdout: (t: string) => void (out += t), stderr: () => undefined };
  for (const failPath of [1, 2]) {
    out = '';
    assert.equal(await runCli(['demo', '--bytes', '2M', '--fail-path', String(failPath), '--json'], io), 0);
    const doc = JSON.parse(out) as { failPath: number; subflows: Array<{ path: number; join: boolean }> };
    assert.equal(doc.failPath, failPath);
    assert.deepEqual(doc.subflows.map((s) => [s.path, s.join]), [[1, false], [2, true]]);
  }
});
