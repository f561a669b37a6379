/**
 * `mptcp proxy` against Linux MPTCP over TUN devices (root, /dev/net/tun; skipped with the reason
 * otherwise), in a namespace this test creates (198.18.1.0/24 and 198.18.2.0/24 only):
 * - a kernel client, `mptcpize run curl --socks5`, to our proxy server, joined on a second path;
 * - our proxy client to a kernel SOCKS 5 server, `mptcpize run microsocks`, joining from our second path.
 * The kernel's own counters (nstat MPTcpExt) show the MP_CAPABLE connection and the join.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Topology } from '../../src/io/netns.js';
import { parseNstat } from '../../src/mptcp/mib.js';
import { kernelSkipReason } from '../support/kernel.js';
import { spawnProxy, statsUntil, within, type ProxyProcess } from './helpers.js';

const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const baseSkip = kernelSkipReason() || (!have('mptcpize') ? 'mptcpize is not installed (apt-get install mptcpize)' : !have('curl') ? 'curl is not installed' : false);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const MB = 1024 * 1024;

function tunSpecs(ns: string, tag: string): string[] {
  return ['--iface', `tun:mp${process.pid}${tag}1,addr=198.18.1.2/24,peer=198.18.1.1/24,netns=${ns}`, '--iface', `tun:mp${process.pid}${tag}2,addr=198.18.2.2/24,peer=198.18.2.1/24,netns=${ns}`];
}

test('kernel client (mptcpize run curl --socks5) -> our proxy server over two TUN paths -> a local HTTP server; the kernel joins on path 2', { skip: baseSkip, timeout: 120_000 }, async () => {
  const body = randomBytes(20 * MB);
  const origin = http.createServer((_req, res) => res.end(body));
  origin.listen(0, '127.0.0.1');
  await once(origin, 'listening');
  const port = (origin.address() as { port: number }).port;
  const topology = Topology.create();
  const dir = mkdtempSync(join(tmpdir(), `mptcp-proxy-${process.pid}-`));
  let server: ProxyProcess | undefined;
  try {
    const ns = topology.addNamespace('pxs');
    server = spawnProxy(['server', '--listen', '0.0.0.0:1080', '--allow', `127.0.0.1:${port}`, ...tunSpecs(ns.name, 's')], 100_000);
    await server.waitFor(/listening on port 1080/, 30_000);
    ns.ip('mptcp', 'limits', 'set', 'subflows', '2', 'add_addr_accepted', '2');
    ns.ip('mptcp', 'endpoint', 'add', '198.18.2.1', 'dev', `mp${process.pid}s2`, 'subflow');
    const before = parseNstat(ns.execSync('nstat', ['-az']));
    const file = join(dir, 'body');
    const r = await ns.run('mptcpize', ['run', 'curl', '-sS', '--fail', '--max-time', '60', '--socks5', '198.18.1.2:1080', `http://127.0.0.1:${port}/`, '-o', file], { timeoutMs: 70_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sha(readFileSync(file)), sha(body));
    const after = parseNstat(ns.execSync('nstat', ['-az']));
    const delta = (k: string) => (after.get(k) ?? 0) - (before.get(k) ?? 0);
    assert.equal(delta('MPCapableSYNACKRX'), 1, 'the kernel client got our MP_CAPABLE SYN/ACK');
    assert.equal(delta('MPJoinSynAckRx'), 1, 'and joined on path 2');
    await statsUntil(server, /connections open 0, closed 1, refused 0/);
    server.child.kill('SIGTERM');
    assert.equal(await within(20_000, 'server exit', server.exit), 0, server.err());
    assert.match(server.out(), /198\.18\.1\.2 -> 198\.18\.2\.1: sent [1-9]\d+/, 'the joined subflow carried data');
  } finally {
    server?.kill();
    topology.dispose();
    origin.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

const microsocksSkip = baseSkip || (!have('microsocks') ? 'microsocks is not installed (apt-get install microsocks)' : !have('python3') ? 'python3 is not installed' : false);

test('our proxy client over two TUN paths -> kernel SOCKS 5 server (mptcpize run microsocks) -> HTTP in its namespace; curl via our client; we join on path 2', { skip: microsocksSkip, timeout: 120_000 }, async () => {
  const topology = Topology.create();
  let client: ProxyProcess | undefined;
  try {
    const ns = topology.addNamespace('pxc');
    ns.ip('mptcp', 'limits', 'set', 'subflows', '2', 'add_addr_accepted', '0');
    // The kernel binds 198.18.1.1 before our CLI has created the device that carries it.
    ns.setSysctl('net.ipv4.ip_nonlocal_bind', 1);
    const socks = ns.spawn('mptcpize', ['run', 'microsocks', '-i', '198.18.1.1', '-p', '1080'], { stdio: 'ignore' });
    const web = ns.spawn('python3', ['-c', 'import http.server as h, socketserver as s\nclass H(h.BaseHTTPRequestHandler):\n  def do_GET(self):\n    b=bytes(range(256))*40960\n    self.send_response(200); self.send_header("content-length", str(len(b))); self.end_headers(); self.wfile.write(b)\n  def log_message(self,*a): pass\nh.HTTPServer(("127.0.0.1", 8000), H).serve_forever()'], { stdio: 'ignore' });
    assert.ok(socks.pid && web.pid);
    client = spawnProxy(['client', '--listen', '127.0.0.1:0', '--server', '198.18.1.1:1080', '--endpoint', '198.18.2.2 subflow', ...tunSpecs(ns.name, 'c')], 100_000);
    const m = await client.waitFor(/listening on 127\.0\.0\.1:(\d+)\n/, 30_000);
    for (let i = 0; i < 100 && !/:1F40 .* 0A /.test(ns.execSync('cat', ['/proc/net/tcp'])); i++) await new Promise((r) => setTimeout(r, 25));
    const before = parseNstat(ns.execSync('nstat', ['-az']));
    const r = spawnSync('curl', ['-sS', '--fail', '--max-time', '60', '--socks5-hostname', `127.0.0.1:${m[1]}`, 'http://127.0.0.1:8000/'], { timeout: 70_000, maxBuffer: 64 * MB });
    assert.equal(r.status, 0, r.stderr?.toString());
    assert.equal(sha(r.stdout), sha(Buffer.from(Array.from({ length: 256 * 40960 }, (_, i) => i & 0xff))));
    const after = parseNstat(ns.execSync('nstat', ['-az']));
    const delta = (k: string) => (after.get(k) ?? 0) - (before.get(k) ?? 0);
    assert.equal(delta('MPCapableSYNRX'), 1, 'microsocks (kernel) accepted our MP_CAPABLE SYN');
    assert.equal(delta('MPJoinSynRx'), 1, 'and our join on path 2');
    await statsUntil(client, /connections open 0, closed 1, refused 0/);
    client.child.kill('SIGTERM');
    assert.equal(await within(20_000, 'client exit', client.exit), 0, client.err());
    assert.match(client.out(), /198\.18\.2\.2 -> 198\.18\.1\.1: sent \d+ received [1-9]\d+/, 'the joined subflow carried data');
  } finally {
    client?.kill();
    topology.dispose();
  }
});
