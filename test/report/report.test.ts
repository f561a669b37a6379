/**
 * `mptcp report`: the page of a fixed emulator run (the demo, with its capture and its result), of the
 * kernel fixture captures and of a fresh capture of a kernel-to-kernel MPTCP transfer in network namespaces:
 * the page parses (balanced tags), holds one SVG per plot with a series per subflow, and what is plotted
 * matches the run (bytes per subflow within 1%; the outage as zero goodput on the failed path for its
 * duration while the other path carries on). Bad input of any kind never throws.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { runDemo, type DemoResult } from '../../src/harness/demo.js';
import { CaptureWriter } from '../../src/capture/writer.js';
import { buildReport, demoRunData, parseRunJson, type RunData } from '../../src/report/index.js';
import { niceTicks, tickText } from '../../src/report/svg.js';
import { RangeSet } from '../../src/report/analyze.js';
import { runCli } from '../../src/cli/cli.js';
import { kernelFixtureFiles } from '../support/kernel-fixtures.js';
import { rootNetnsAvailable, Topology } from '../../src/io/netns.js';

const MiB = 1024 * 1024;
const SECOND = 1_000_000;

/** Checks that tags nest and close (void elements aside), as an HTML/SVG parser needs: returns the problems. */
export function tagProblems(html: string): string[] {
  const voids = new Set(['meta', 'br', 'img', 'input', 'link', 'hr']);
  const stack: string[] = [];
  const problems: string[] = [];
  const body = html.replace(/<script>[\s\S]*?<\/script>/g, '').replace(/<style>[\s\S]*?<\/style>/g, '');
  for (const m of body.matchAll(/<(\/?)([a-zA-Z][a-zA-Z0-9]*)((?:\s+[a-zA-Z_:][-a-zA-Z0-9_:.]*(?:="[^"<]*")?)*)\s*(\/?)>|<!DOCTYPE html>|<|>/g)) {
    if (m[0] === '<!DOCTYPE html>') continue;
    if (m[2] === undefined) {
      problems.push(`stray '${m[0]}' at ${m.index}`);
      continue;
    }
    const name = m[2].toLowerCase();
    if (m[1] === '/') {
      const open = stack.pop();
      if (open !== name) problems.push(`</${name}> closes <${open}> at ${m.index}`);
    } else if (m[4] !== '/' && !voids.has(name)) {
      stack.push(name);
    }
  }
  if (stack.length) problems.push(`unclosed: ${stack.join(' ')}`);
  return problems;
}

/** The `<svg class="plot">` elements: data-plot id and its series (name, point count). */
function plots(html: string): Map<string, { series: Map<string, number>; text: string }> {
  const out = new Map<string, { series: Map<string, number>; text: string }>();
  for (const m of html.matchAll(/<svg class="plot[^"]*" data-plot="([^"]+)"[\s\S]*?<\/svg>/g)) {
    const series = new Map<string, number>();
    for (const s of m[0].matchAll(/data-series="([^"]+)" data-points="(\d+)"/g)) series.set(s[1]!, Number(s[2]));
    out.set(m[1]!, { series, text: m[0] });
  }
  return out;
}

/** The demo's scenario with a short outage of path 1, its capture in memory, and its result. */
function demoRun(): { result: DemoResult; pcap: Uint8Array; run: RunData } {
  const chunks: Uint8Array[] = [];
  const capture = new CaptureWriter((c) => chunks.push(c));
  const result = runDemo({ bytes: 12 * MiB, seed: 4, outageStartMicros: 1 * SECOND, outageEndMicros: 2 * SECOND, capture });
  const run = demoRunData('demo.json', JSON.parse(JSON.stringify(result)) as DemoResult);
  assert.ok(!('error' in run));
  return { result, pcap: Buffer.concat(chunks), run };
}

test('RangeSet: the bytes of each added range already in the set, as a byte-by-byte model counts them', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(300), fc.nat(40)), { maxLength: 60 }), (ranges) => {
      const set = new RangeSet();
      const model = new Set<number>();
      for (const [start, length] of ranges) {
        let before = 0;
        for (let b = start; b < start + length; b++) {
          if (model.has(b)) before++;
          model.add(b);
        }
        assert.equal(set.add(start, start + length), before);
      }
    }),
    { numRuns: 500 },
  );
});

test('niceTicks: 1/2/2.5/5 steps covering the range; tick text without spurious decimals', () => {
  const { ticks, step } = niceTicks(0, 6.3, 10);
  assert.equal(step, 1);
  assert.deepEqual(ticks, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(niceTicks(0, 6, 6).ticks, [0, 1, 2, 3, 4, 5, 6]);
  assert.equal(niceTicks(0, 0.042, 5).step, 0.01);
  assert.equal(tickText(0.3, 0.1), '0.3');
  assert.equal(tickText(200, 50), '200');
  assert.deepEqual(niceTicks(5, 5).ticks.length > 1, true);
});

test('report of a fixed emulator run: one SVG per plot, a series per subflow, bytes per subflow within 1% of the run, the outage as zero goodput on path 1 while path 2 carries on', () => {
  const { result, pcap, run } = demoRun();
  assert.equal(result.verified, true);
  const report = buildReport([{ name: 'demo.pcap', bytes: pcap }], { runs: [run] });
  assert.deepEqual(report.warnings, []);
  assert.deepEqual(tagProblems(report.html), []);
  assert.doesNotMatch(report.html, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/, 'no network reference (the SVG namespace aside)');
  const [capture] = report.captures;
  const [conn] = capture!.analysis.connections;
  assert.equal(capture!.analysis.connections.length, 1);
  assert.equal(conn!.subflows.length, 2);

  const p = plots(report.html);
  const id = 'c1-1';
  assert.deepEqual([...p.keys()].sort(), [`${id}-dsn-clientToServer`, `${id}-events`, `${id}-goodput-clientToServer`].sort(), 'no server-to-client data: no plots for it');
  const goodput = p.get(`${id}-goodput-clientToServer`)!;
  assert.deepEqual([...goodput.series.keys()], ['subflow 1 (initial) (its TCP ACKs)', 'subflow 2 (join) (its TCP ACKs)', 'total (DATA_ACK)']);
  for (const count of goodput.series.values()) assert.equal(count, capture!.analysis.bins + 1);
  const dsn = p.get(`${id}-dsn-clientToServer`)!;
  assert.ok(dsn.series.get('subflow 1 (initial): data sent')! > 50 && dsn.series.get('subflow 2 (join): data sent')! > 50);
  assert.ok(dsn.series.has('DATA_ACK'));
  assert.match(goodput.text, /time \(s\)/);
  assert.match(goodput.text, /goodput \(Mbit\/s\)/);
  assert.match(dsn.text, /data sequence \(MB\)/);
  assert.match(goodput.text, /data-band="path 1 down \(link outage\)"/);

  // Bytes per subflow: the subflow table's numbers and the run's, within 1%.
  const rows = [...report.html.matchAll(/data-subflow="(\d+)" data-bytes-c2s="(\d+)"/g)].map((m) => Number(m[2]));
  assert.equal(rows.length, 2);
  result.subflows.forEach((s, i) => {
    const plotted = rows[i]!;
    assert.ok(Math.abs(plotted - s.dataBytesSent) <= 0.01 * s.dataBytesSent, `subflow ${i + 1}: ${plotted} plotted, ${s.dataBytesSent} sent by the run`);
  });
  // Goodput per bin, summed, is what each subflow's ACKs acknowledged (its new bytes, less nothing).
  const a = capture!.analysis;
  const acked = conn!.subflows.map((s) => s.directions.clientToServer.ackedPerBin.reduce((x, y) => x + y, 0));
  acked.forEach((b, i) => assert.ok(Math.abs(b - rows[i]!) <= 0.01 * rows[i]! + 2, `subflow ${i + 1}: acked ${b}, sent ${rows[i]}`));
  // Each second of the run: the bytes each path's ACKs acknowledged match what the server read from that
  // path in that second (its ACKs go out as the data arrives), within 5% and 3 segments.
  assert.equal(SECOND % a.binMicros, 0, 'bins divide a second');
  const perSecond = SECOND / a.binMicros;
  result.intervals.forEach((iv, k) => {
    iv.bytesPerPath.forEach((bytes, path) => {
      const bins = conn!.subflows[path]!.directions.clientToServer.ackedPerBin.slice(k * perSecond, (k + 1) * perSecond);
      const plotted = bins.reduce((x, y) => x + y, 0);
      assert.ok(Math.abs(plotted - bytes) <= 0.05 * bytes + 3 * 1460, `second ${k}, path ${path + 1}: ${plotted} plotted, ${bytes} in the run`);
    });
  });
  // The outage: path 1's goodput is zero in every bin from 1 s (and an RTT) to 2 s; path 2's is not.
  const inside = (bin: number) => bin * a.binMicros >= 1.03 * SECOND && (bin + 1) * a.binMicros <= 2 * SECOND;
  const bins = [...Array(a.bins).keys()].filter(inside);
  assert.ok(bins.length >= 5, `${bins.length} bins inside the outage`);
  for (const b of bins) assert.equal(conn!.subflows[0]!.directions.clientToServer.ackedPerBin[b], 0, `path 1 bin ${b}`);
  const path2 = bins.reduce((sum, b) => sum + conn!.subflows[1]!.directions.clientToServer.ackedPerBin[b]!, 0);
  assert.ok(path2 > 100_000, `path 2 keeps carrying data during the outage: ${path2} bytes`);
  // The DATA_ACK reaches the end of the data.
  assert.ok(conn!.directions.clientToServer.highestDsn >= 12 * MiB);
});

test('report of every kernel fixture capture: a section per connection with its subflows, their bytes as the manifest says (within 1%), a timeline marker and a table row per signalling option', () => {
  const files = kernelFixtureFiles();
  assert.ok(files.length >= 10, 'the fixtures are there');
  const manifest = JSON.parse(readFileSync('fixtures/kernel/manifest.json', 'utf8')) as {
    files: Record<string, { subflows: { client: string; payload_c2s: number; payload_s2c: number }[] }>;
  };
  for (const file of files) {
    const report = buildReport([{ name: file, bytes: readFileSync(file) }]);
    assert.deepEqual(tagProblems(report.html), [], file);
    const expected = manifest.files[file.split('/').pop()!]!;
    const conns = report.captures[0]!.analysis.connections;
    assert.equal(conns.length, 1, file);
    const sections = [...report.html.matchAll(/<section class="connection" id="[^"]+" data-connection="\d+" data-subflows="(\d+)"/g)];
    assert.equal(sections.length, 1);
    assert.equal(Number(sections[0]![1]), expected.subflows.length, file);
    for (const sf of expected.subflows) {
      const ours = conns[0]!.subflows.find((s) => s.report.initiator === sf.client || s.report.listener === sf.client);
      assert.ok(ours, `${file}: subflow ${sf.client}`);
      const c2s = ours!.directions.clientToServer.uniqueBytes;
      const s2c = ours!.directions.serverToClient.uniqueBytes;
      assert.ok(Math.abs(c2s - sf.payload_c2s) <= 0.01 * sf.payload_c2s, `${file} ${sf.client}: c2s ${c2s} vs ${sf.payload_c2s}`);
      assert.ok(Math.abs(s2c - sf.payload_s2c) <= 0.01 * sf.payload_s2c, `${file} ${sf.client}: s2c ${s2c} vs ${sf.payload_s2c}`);
    }
    const p = plots(report.html);
    // The events timeline: a lane per subflow and a marker per signalling option the summary found.
    const events = p.get('c1-1-events')!;
    assert.equal(events.series.get('signalling'), conns[0]!.report.events.length, `${file}: signalling markers`);
    assert.equal([...events.series.keys()].filter((k) => k.startsWith('subflow ')).length, expected.subflows.length);
    for (const e of conns[0]!.report.events) assert.ok(report.html.includes(`<td>${e.option}</td>`), `${file}: ${e.option} in the events table`);
    for (const [name, plot] of p) {
      if (!name.includes('goodput') && !name.includes('dsn')) continue;
      const perSubflow = [...plot.series.keys()].filter((k) => /^subflow \d/.test(k) && !/retransmission|reinjection/.test(k));
      assert.equal(perSubflow.length, expected.subflows.length, `${file} ${name}: a series per subflow`);
    }
  }
});

test('never throws: random bytes, a real capture with bytes changed or cut, random JSON', () => {
  const real = readFileSync(kernelFixtureFiles()[0]!);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
      const r = buildReport([{ name: 'x', bytes }]);
      assert.match(r.html, /id="plot-check"/);
    }),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(real.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 40 }), fc.nat(real.length), (edits, cut) => {
      const bytes = Uint8Array.from(real.subarray(0, Math.max(24, cut)));
      for (const [at, v] of edits) if (at >= 24 && at < bytes.length) bytes[at] = v;
      const r = buildReport([{ name: 'edited.pcap', bytes }]);
      assert.deepEqual(tagProblems(r.html), []);
    }),
    { numRuns: 150 },
  );
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      const r = buildReport([{ name: 'r.json', bytes: new TextEncoder().encode(JSON.stringify(value)) }]);
      assert.deepEqual(tagProblems(r.html), []);
    }),
    { numRuns: 300 },
  );
  // Shapes close to the real documents, with wrong types inside.
  const near = fc.record({
    start: fc.oneof(fc.constant({}), fc.jsonValue()),
    intervals: fc.array(fc.record({ subflows: fc.array(fc.dictionary(fc.constantFrom('end', 'rtt', 'snd_cwnd', 'local_host', 'bytes', 'subflow'), fc.jsonValue())) })),
    paths: fc.array(fc.jsonValue()),
    subflows: fc.array(fc.jsonValue()),
  });
  fc.assert(
    fc.property(near, (doc) => {
      const r = parseRunJson('n.json', JSON.stringify(doc));
      const page = buildReport([{ name: 'n.json', bytes: new TextEncoder().encode(JSON.stringify(doc)) }]);
      assert.ok('error' in r || r.subflows.length >= 0);
      assert.deepEqual(tagProblems(page.html), []);
    }),
    { numRuns: 300 },
  );
});

test('mptcp report: from files, bad inputs named on stderr, -o - to stdout, exit codes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mptcp-report-'));
  try {
    let out = '';
    let err = '';
    const io = { stdout: (t: string) => (out += t), stderr: (t: string) => (err += t) };
    const fixture = kernelFixtureFiles()[0]!;
    const target = join(dir, 'r.html');
    assert.equal(await runCli(['report', fixture, '-o', target], io), 0, err);
    assert.match(readFileSync(target, 'utf8'), /^<!DOCTYPE html>/);
    const junk = join(dir, 'junk.bin');
    spawnSync('sh', ['-c', `printf 'hello' > ${junk}`]);
    assert.equal(await runCli(['report', fixture, junk, '-o', '-'], io), 0);
    assert.match(err, /mptcp report: .*junk\.bin: neither a pcap\/pcapng capture nor a run's JSON/);
    assert.match(out, /<!DOCTYPE html>/);
    err = '';
    assert.equal(await runCli(['report', junk, '-o', target], io), 1);
    assert.match(err, /no input could be used/);
    assert.equal(await runCli(['report', fixture], io), 2);
    assert.equal(await runCli(['report', '-o', target], io), 2);
    assert.equal(await runCli(['report', fixture, '-o', target, '--stall', 'soon'], io), 2);
    assert.equal(await runCli(['report', join(dir, 'missing.pcap'), '-o', target], io), 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const netns = rootNetnsAvailable();
const havePython = spawnSync('python3', ['--version']).status === 0;
const haveTcpdump = spawnSync('tcpdump', ['--version']).status === 0;
const kernelSkip = !netns.ok ? netns.reason : !havePython ? 'python3 is not installed' : !haveTcpdump ? 'tcpdump is not installed (apt-get install tcpdump)' : false;

test('report of a fresh kernel-to-kernel MPTCP transfer captured with tcpdump in namespaces: one connection, two subflows, the bytes the peers exchanged', { skip: kernelSkip }, async () => {
  const topology = Topology.create();
  const dir = mkdtempSync(join(tmpdir(), 'mptcp-report-kernel-'));
  try {
    const client = topology.addNamespace('rep-client');
    const server = topology.addNamespace('rep-server');
    for (const i of [1, 2]) {
      client.ip('link', 'add', `c${i}`, 'type', 'veth', 'peer', 'name', `s${i}`, 'netns', server.name);
      client.addAddress(`c${i}`, `198.18.${i}.2/24`);
      server.addAddress(`s${i}`, `198.18.${i}.1/24`);
      client.linkUp(`c${i}`);
      server.linkUp(`s${i}`);
      // The client routes by source address, so each subflow leaves through its own veth.
      client.ip('rule', 'add', 'from', `198.18.${i}.2`, 'lookup', `10${i}`, 'pref', `10${i}`);
      client.ip('route', 'add', 'default', 'dev', `c${i}`, 'table', `10${i}`);
    }
    for (const ns of [client, server]) {
      ns.setSysctl('net.mptcp.enabled', 1);
      ns.setSysctl('net.ipv4.conf.all.rp_filter', 0);
      ns.ip('mptcp', 'limits', 'set', 'subflows', '2', 'add_addr_accepted', '2');
    }
    client.ip('mptcp', 'endpoint', 'add', '198.18.2.2', 'dev', 'c2', 'subflow');
    const pcap = join(dir, 'kernel.pcap');
    const dump = client.spawn('tcpdump', ['-Z', 'root', '-i', 'any', '--immediate-mode', '-n', '-s', '200', '-U', '-w', pcap, 'tcp'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let dumpErr = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tcpdump did not start in 10 s: ${dumpErr}`)), 10_000);
      dump.stderr!.on('data', (d: Buffer) => {
        dumpErr += d.toString();
        if (/listening on/.test(dumpErr)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    // Give the capture socket a moment after it says it listens.
    await new Promise((r) => setTimeout(r, 200));
    const peer = 'scripts/fixtures/mptcp_peer.py';
    const ready = join(dir, 'ready');
    const srv = server.run('python3', [peer, 'server', '--bind', '0.0.0.0', '--port', '10099', '--ready', ready, '--timeout', '20'], { timeoutMs: 30_000 });
    for (let i = 0; i < 100 && !existsSync(ready); i++) await new Promise((r) => setTimeout(r, 50));
    const cli = await client.run('python3', [peer, 'client', '--connect', '198.18.1.1', '--port', '10099', '--sndbuf', '65536', 'send:1200', 'subflows:1', 'chunks:100x5000', 'close'], { timeoutMs: 30_000 });
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal((await srv).code, 0);
    await new Promise((r) => setTimeout(r, 300));
    dump.kill('SIGINT');
    await new Promise((r) => dump.once('exit', r));
    const report = buildReport([{ name: 'kernel.pcap', bytes: readFileSync(pcap) }]);
    assert.deepEqual(report.warnings, []);
    assert.deepEqual(tagProblems(report.html), []);
    const conns = report.captures[0]!.analysis.connections;
    assert.equal(conns.length, 1, `frames ${report.captures[0]?.analysis.summary.frames}, plain TCP ${report.captures[0]?.analysis.plainTcp.length}; tcpdump: ${dumpErr}`);
    const conn = conns[0]!;
    assert.equal(conn.subflows.length, 2);
    const sent = 1200 + 100 * 5000;
    for (const d of ['clientToServer', 'serverToClient'] as const) {
      const total = conn.subflows.reduce((s, sf) => s + sf.directions[d].uniqueBytes - sf.directions[d].reinjectedBytes, 0);
      assert.ok(Math.abs(total - sent) <= 0.01 * sent, `${d}: ${total} bytes plotted, ${sent} exchanged`);
      assert.ok(conn.directions[d].highestDsn >= sent, `${d}: the DSN reaches ${sent}`);
    }
    const p = plots(report.html);
    assert.ok(p.has('c1-1-goodput-clientToServer') && p.has('c1-1-dsn-serverToClient') && p.has('c1-1-events'));
  } finally {
    topology.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('mptcp demo --report and --pcap change nothing in the run: the same JSON as without them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mptcp-demo-report-'));
  try {
    const run = async (extra: readonly string[]) => {
      let out = '';
      let err = '';
      const code = await runCli(['demo', '--json', '--bytes', '3M', '--seed', '2', '--outage', '1-1.5', ...extra], { stdout: (t) => (out += t), stderr: (t) => (err += t) });
      return { code, out, err };
    };
    const plain = await run([]);
    const page = join(dir, 'r.html');
    const withReport = await run(['--report', page, '--pcap', join(dir, 'r.pcap')]);
    assert.equal(plain.code, 0);
    assert.equal(withReport.code, 0);
    assert.equal(withReport.out, plain.out);
    assert.match(withReport.err, /report: .*r\.html \(\d+ KB\)/);
    const html = readFileSync(page, 'utf8');
    assert.deepEqual(tagProblems(html), []);
    const p = plots(html);
    assert.ok(p.has('c1-1-rtt') && p.has('c1-1-cwnd'), 'RTT and cwnd plots from the samples');
    for (const name of ['c1-1-rtt', 'c1-1-cwnd']) assert.equal([...p.get(name)!.series.values()].filter((n) => n > 10).length, 2, `${name}: a sampled series per subflow`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('plain TCP in a capture is listed, not hidden: mptcp perf --no-mptcp --pcap, both connections with their bytes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mptcp-report-plain-'));
  try {
    const pcap = join(dir, 'plain.pcap');
    const r = await runCli(['perf', '-c', '198.18.0.2', '-n', '256K', '-i', '0', '--no-mptcp', '--pcap', pcap], { stdout: () => undefined, stderr: () => undefined });
    assert.equal(r, 0);
    const report = buildReport([{ name: 'plain.pcap', bytes: readFileSync(pcap) }]);
    const a = report.captures[0]!.analysis;
    assert.equal(a.connections.length, 0);
    assert.equal(a.summary.plainTcpConnections, 2);
    assert.equal(a.plainTcp.length, 2, 'the control and the data connection');
    assert.match(report.html, /data-plain-tcp="2"/);
    assert.match(report.html, /No MPTCP connection in the inputs/);
    const data = a.plainTcp.find((p) => p.bytesClientToServer >= 256 * 1024);
    assert.ok(data, 'the data connection with its 256 KiB');
    assert.ok(data.bytesClientToServer < 256 * 1024 * 1.05 + 4096);
    assert.deepEqual(tagProblems(report.html), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('report of mptcp perf --pcap with its --json: RTT and cwnd per subflow from the JSON, on the subflows of the capture (matched by address and port)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mptcp-report-perf-'));
  try {
    const pcap = join(dir, 'p.pcap');
    let out = '';
    const code = await runCli(['perf', '-c', '198.18.0.2', '-t', '2', '-i', '0.25', '--link', 'rate=20M,delay=5ms', '--link', 'rate=10M,delay=15ms', '--pcap', pcap, '--json'], { stdout: (t) => (out += t), stderr: () => undefined });
    assert.equal(code, 0);
    const json = JSON.parse(out) as { start: { connected: { local_port: number }[] }; intervals: { subflows: { local_port: number; rtt: number }[] }[] };
    const report = buildReport([
      { name: 'p.pcap', bytes: readFileSync(pcap) },
      { name: 'p.json', bytes: new TextEncoder().encode(out) },
    ]);
    assert.deepEqual(report.warnings, []);
    assert.equal(report.runs.length, 1);
    const conns = report.captures[0]!.analysis.connections;
    const dataConn = conns.find((c) => c.subflows[0]!.report.initiator.endsWith(`:${json.start.connected[0]!.local_port}`))!;
    assert.ok(dataConn, 'the data connection is in the capture');
    const p = plots(report.html);
    const id = `c1-${dataConn.report.connection}`;
    const rtt = p.get(`${id}-rtt`);
    const cwnd = p.get(`${id}-cwnd`);
    assert.ok(rtt && cwnd, `RTT and cwnd plots of the data connection: ${[...p.keys()].join(', ')}`);
    const intervals = json.intervals.length;
    assert.deepEqual([...rtt.series.values()], [intervals, intervals], 'a series per subflow, a point per interval');
    assert.deepEqual([...rtt.series.keys()].map((k) => k.slice(0, 10)), ['subflow 1 ', 'subflow 2 ']);
    assert.match(rtt.text, /RTT \(ms\)/);
    assert.match(cwnd.text, /cwnd \(KB\)/);
    // The control connection gets none (the JSON has no subflow of it).
    const other = conns.find((c) => c !== dataConn)!;
    assert.equal(p.has(`c1-${other.report.connection}-rtt`), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
