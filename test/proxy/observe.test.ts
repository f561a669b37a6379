/**
 * `mptcp proxy`'s observability from the command line, with tools nobody here wrote: curl scrapes
 * `--metrics` (Prometheus text) of both proxies while curl downloads through them over two UDP paths on
 * 127.0.0.x, and the counters move between two scrapes (MIB counters, per-subflow bytes, the proxy's bytes),
 * the subflows carry `--cc lia`, RTT and cwnd; tshark reads the client's `--pcap` with no malformed packet
 * and finds MP_CAPABLE and MP_JOIN in it; `--qlog` has the events. Unprivileged; every process bounded in
 * time and killed in `finally`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import { freeUdpPort } from '../perf/helpers.js';
import { spawnProxy, within, type ProxyProcess } from './helpers.js';
import { readFrames } from '../../src/capture/decode.js';
import { summarizeFrames } from '../../src/capture/summary.js';

const have = (cmd: string, arg = '-h') => spawnSync(cmd, [arg], { stdio: 'ignore' }).error === undefined;
const skip = !have('curl') ? 'curl is not installed (apt-get install curl)' : !have('tshark', '-v') ? 'tshark is not installed (apt-get install tshark)' : false;
const MB = 1024 * 1024;

/** Runs a command to its end without blocking this process's event loop (the origin server is in it). */
function run(cmd: string, args: readonly string[]): Promise<{ code: number | null; out: Buffer; err: string }> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let err = '';
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, out: Buffer.concat(out), err })));
}

/** One sample line's value: family `name` with every label of `want`, summed over the matching samples. */
function sum(text: string, name: string, want: Record<string, string> = {}): number {
  let total = 0;
  let found = false;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels = Object.fromEntries([...m[2]!.matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(want).every(([k, v]) => labels[k] === v)) {
      total += Number(m[3]);
      found = true;
    }
  }
  assert.ok(found, `a sample of ${name} ${JSON.stringify(want)}`);
  return total;
}

async function scrape(port: number): Promise<string> {
  const r = await within(20_000, 'curl /metrics', run('curl', ['-sS', '--fail', '--max-time', '10', `http://127.0.0.1:${port}/metrics`]));
  assert.equal(r.code, 0, r.err);
  return r.out.toString();
}

test('--metrics scraped by curl during a relayed download: counters move; --cc reaches the subflows; tshark reads --pcap with no malformed packet; --qlog', { skip, timeout: 180_000 }, async () => {
  const body = randomBytes(12 * MB);
  const origin = http.createServer((_req, res) => {
    res.setHeader('content-length', body.length);
    res.end(body);
  });
  origin.listen(0, '127.0.0.1');
  await once(origin, 'listening');
  const httpPort = (origin.address() as { port: number }).port;
  const [p1, p2] = [await freeUdpPort('127.0.0.2'), await freeUdpPort('127.0.0.3')];
  const dir = mkdtempSync(join(tmpdir(), `mptcp-proxy-obs-${process.pid}-`));
  const pcap = join(dir, 'client.pcap');
  const qlog = join(dir, 'client.qlog');
  const procs: ProxyProcess[] = [];
  try {
    const server = spawnProxy(['server', '--listen', '0.0.0.0:1080', '--iface', `udp:127.0.0.2:${p1}`, '--iface', `udp:127.0.0.3:${p2}`, '--allow', '127.0.0.0/8', '--cc', 'lia', '--metrics', '127.0.0.1:0'], 150_000);
    procs.push(server);
    const serverMetrics = Number((await server.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics\n/, 30_000))[1]);
    const client = spawnProxy(
      ['client', '--listen', '127.0.0.1:0', '--server', '127.0.0.2:1080', '-C', 'lia', '--metrics', '127.0.0.1:0', '--pcap', pcap, '--qlog', qlog,
        '--iface', `udp:127.0.0.4,remote=127.0.0.2:${p1}`, '--iface', `udp:127.0.0.5,remote=127.0.0.3:${p2}`, '--endpoint', '127.0.0.5 subflow'],
      150_000,
    );
    procs.push(client);
    const proxyPort = Number((await client.waitFor(/listening on 127\.0\.0\.1:(\d+)\n/, 30_000))[1]);
    const clientMetrics = Number((await client.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics\n/, 30_000))[1]);

    const idle = await scrape(clientMetrics);
    assert.equal(sum(idle, 'mptcp_proxy_connections_open', { proxy: 'client' }), 0);
    assert.equal(sum(idle, 'node_netstat_MPTcpExt_MPCapableSYNTX'), 0);

    // A download limited to 3 MB/s (about 4 s), scraped while it runs.
    const download = run('curl', ['-sS', '--fail', '--max-time', '90', '--limit-rate', '3M', '--socks5-hostname', `127.0.0.1:${proxyPort}`, `http://localhost:${httpPort}/`]);
    let first = '';
    for (let i = 0; i < 100; i++) {
      first = await scrape(clientMetrics);
      if (/^mptcp_subflow_received_bytes_total\{.*subflow="1".*\} /m.test(first) && sum(first, 'mptcp_proxy_bytes_total', { direction: 'down' }) > MB) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(sum(first, 'mptcp_proxy_connections_open', { proxy: 'client' }), 1, first);
    assert.equal(sum(first, 'node_netstat_MPTcpExt_MPCapableSYNTX'), 1);
    assert.ok(sum(first, 'node_netstat_MPTcpExt_MPJoinSynTx') >= 1, 'the join is counted under the kernel name');
    assert.ok(sum(first, 'mptcp_connections') >= 1);
    assert.ok(sum(first, 'mptcp_subflow_rtt_seconds') > 0, 'RTT per subflow');
    assert.ok(sum(first, 'mptcp_subflow_cwnd_bytes') > 0, 'cwnd per subflow');
    assert.equal(sum(first, 'mptcp_subflow_congestion_control', { cc: 'lia' }), sum(first, 'mptcp_subflow_congestion_control'), '--cc lia on every subflow');
    assert.ok(sum(first, 'mptcp_subflow_congestion_control') >= 2, 'two subflows');
    await new Promise((r) => setTimeout(r, 700));
    const second = await scrape(clientMetrics);
    for (const [name, labels] of [['mptcp_proxy_bytes_total', { direction: 'down' }], ['mptcp_subflow_received_bytes_total', {}]] as const) {
      assert.ok(sum(second, name, labels) > sum(first, name, labels), `${name} moved: ${sum(first, name, labels)} then ${sum(second, name, labels)}`);
    }
    const serverMid = await scrape(serverMetrics);
    assert.equal(sum(serverMid, 'node_netstat_MPTcpExt_MPCapableSYNRX'), 1);
    assert.ok(sum(serverMid, 'mptcp_subflow_sent_bytes_total') > MB);
    assert.equal(sum(serverMid, 'mptcp_subflow_congestion_control', { cc: 'lia' }), sum(serverMid, 'mptcp_subflow_congestion_control'), 'the server side\'s subflows run lia too');

    const done = await within(120_000, 'curl download', download);
    assert.equal(done.code, 0, done.err);
    assert.equal(createHash('sha256').update(done.out).digest('hex'), createHash('sha256').update(body).digest('hex'));
    let after = '';
    for (let i = 0; i < 50; i++) {
      after = await scrape(clientMetrics);
      if (sum(after, 'mptcp_proxy_connections_closed_total', { proxy: 'client' }) === 1) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(sum(after, 'mptcp_proxy_connections_closed_total', { proxy: 'client' }), 1);
    assert.equal(sum(after, 'mptcp_proxy_connections_open', { proxy: 'client' }), 0);
    assert.equal(sum(after, 'mptcp_proxy_connections_refused_total'), 0);
    // Per path, over all connections: what the client received on its two paths adds up to the body and more.
    const perPath = sum(after, 'mptcp_proxy_subflow_bytes_total', { local: '127.0.0.4', direction: 'received' }) + sum(after, 'mptcp_proxy_subflow_bytes_total', { local: '127.0.0.5', direction: 'received' });
    assert.ok(perPath >= body.length, `${perPath} bytes received over the two paths`);
    const notFound = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${clientMetrics}/`]);
    assert.equal(notFound.out.toString(), '404');

    client.child.kill('SIGTERM');
    assert.equal(await within(20_000, 'client exit', client.exit), 0, client.err());
    server.child.kill('SIGTERM');
    assert.equal(await within(20_000, 'server exit', server.exit), 0, server.err());

    // The capture: headers only by default (small), every packet of both interfaces, well-formed for tshark.
    const size = statSync(pcap).size;
    assert.ok(size < body.length / 4, `headers-only capture: ${size} bytes for a ${body.length}-byte download`);
    const malformed = await run('tshark', ['-n', '-r', pcap, '-Y', '_ws.malformed || _ws.expert.severity == error']);
    assert.equal(malformed.code, 0, malformed.err);
    assert.equal(malformed.out.toString(), '', 'no malformed packet');
    const fields = await run('tshark', ['-n', '-r', pcap, '-T', 'fields', '-e', 'ip.src', '-e', 'tcp.options.mptcp.subtype']);
    assert.equal(fields.code, 0, fields.err);
    const rows = fields.out.toString().trim().split('\n');
    assert.ok(rows.length > 1000, `${rows.length} packets`);
    console.log(`client --pcap: ${rows.length} packets, ${size} bytes for ${body.length} bytes relayed; metrics: client proxy bytes down ${sum(after, 'mptcp_proxy_bytes_total', { direction: 'down' })}`);
    assert.ok(rows.some((r) => /^127\.0\.0\.4\t.*\b0\b/.test(r)), 'MP_CAPABLE from the first path');
    assert.ok(rows.some((r) => /^127\.0\.0\.5\t.*\b1\b/.test(r)), 'MP_JOIN from the second path');
    // Our decoder groups it: one MPTCP connection, its two subflows, the body's bytes towards the client.
    const { frames, error } = readFrames(readFileSync(pcap));
    assert.equal(error, undefined);
    assert.equal(frames.length, rows.length, 'our decoder and tshark see the same frames');
    const summary = summarizeFrames(frames);
    assert.equal(summary.connections.length, 1);
    assert.equal(summary.connections[0]!.subflows.length, 2);
    const down = summary.connections[0]!.bytes.serverToClient;
    assert.ok(down >= body.length && down < body.length * 1.01, `${down} bytes to the client for a ${body.length}-byte body`);
    const events = readFileSync(qlog, 'utf8');
    assert.match(events, /mptcp:connection_established/);
    assert.match(events, /recovery:metrics_updated.*"congestion_window"/);
  } finally {
    for (const p of procs) p.kill();
    origin.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
