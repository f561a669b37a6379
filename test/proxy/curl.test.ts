/**
 * `mptcp proxy` from the command line with real clients nobody here wrote: curl (SOCKS 5 with remote name
 * resolution, and the HTTP proxy) and socat (--forward) -> our proxy client -> two UDP paths on 127.0.0.x
 * (each through a forwarder of this test, which shapes it to 60 Mbit/s, counts its bytes and can cut it) -> our proxy server ->
 * a local Node HTTP server. A 50 MB body, SHA-256 compared; one path cut in the middle of a download and
 * curl still finishes. Unprivileged; every process is bounded in time and killed in `finally`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import { freePort, freeUdpPort, listening } from '../perf/helpers.js';
import { spawnProxy, statsUntil, udpForwarder, within, type ProxyProcess } from './helpers.js';

const have = (cmd: string) => spawnSync(cmd, ['-h'], { stdio: 'ignore' }).error === undefined;
const skip = !have('curl') ? 'curl is not installed (apt-get install curl)' : !have('socat') ? 'socat is not installed (apt-get install socat)' : false;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const MB = 1024 * 1024;

/** Runs curl; resolves with the SHA-256 of its stdout, its byte count and exit code. */
function curl(args: readonly string[], onProgress?: (bytes: number) => void): Promise<{ sha: string; bytes: number; code: number | null; err: string }> {
  const child = spawn('curl', ['-sS', '--fail', '--max-time', '90', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const h = createHash('sha256');
  let bytes = 0;
  let err = '';
  child.stdout.on('data', (c: Buffer) => {
    h.update(c);
    bytes += c.length;
    onProgress?.(bytes);
  });
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ sha: h.digest('hex'), bytes, code, err })));
}

test('curl --socks5-hostname and -x http:// and socat --forward through both proxies over two UDP paths; a path cut mid-download', { skip, timeout: 240_000 }, async () => {
  const body = randomBytes(50 * MB);
  const origin = http.createServer((req, res) => {
    res.setHeader('content-length', body.length);
    res.end(req.url === '/big' ? body : body.subarray(0, 1000));
  });
  origin.listen(0, '127.0.0.1');
  await once(origin, 'listening');
  const httpPort = (origin.address() as { port: number }).port;
  const [p1, p2] = [await freeUdpPort('127.0.0.2'), await freeUdpPort('127.0.0.3')];
  // Each path shaped to 60 Mbit/s, so that one path alone cannot carry what the stacks can send: the
  // scheduler must use both (unshaped, loopback paths are alike and one may take nearly everything).
  const path1 = await udpForwarder('127.0.0.6', { address: '127.0.0.2', port: p1 }, { rateBitsPerSecond: 60e6 });
  const path2 = await udpForwarder('127.0.0.7', { address: '127.0.0.3', port: p2 }, { rateBitsPerSecond: 60e6 });
  const dir = mkdtempSync(join(tmpdir(), `mptcp-proxy-${process.pid}-`));
  const procs: ProxyProcess[] = [];
  const sinks: import('node:child_process').ChildProcess[] = [];
  try {
    const server = spawnProxy(['server', '--listen', '0.0.0.0:1080', '--iface', `udp:127.0.0.2:${p1}`, '--iface', `udp:127.0.0.3:${p2}`, '--allow', `127.0.0.0/8`], 200_000);
    procs.push(server);
    await server.waitFor(/listening on port 1080/, 30_000);
    const fwdDest = await freePort();
    const client = spawnProxy(
      ['client', '--listen', '127.0.0.1:0', '--forward', `127.0.0.1:0=127.0.0.1:${fwdDest}`, '--server', '127.0.0.2:1080', '--monitor',
        '--iface', `udp:127.0.0.4,remote=127.0.0.6:${path1.port}`, '--iface', `udp:127.0.0.5,remote=127.0.0.7:${path2.port}`, '--endpoint', '127.0.0.5 subflow'],
      200_000,
    );
    procs.push(client);
    const m = await client.waitFor(/listening on 127\.0\.0\.1:(\d+), 127\.0\.0\.1:(\d+)\n/, 30_000);
    const [proxyPort, forwardPort] = [Number(m[1]), Number(m[2])];

    // 1. curl -x http://: Node's server gets an origin-form request; 50 MB, both paths carry data.
    const viaHttp = await within(120_000, 'curl -x', curl(['-x', `http://127.0.0.1:${proxyPort}`, `http://127.0.0.1:${httpPort}/big`]));
    assert.equal(viaHttp.code, 0, viaHttp.err);
    assert.equal(viaHttp.sha, sha(body));
    const [after1a, after1b] = [path1.bytes(), path2.bytes()];
    console.log(`curl -x: path 1 carried ${after1a} bytes, path 2 ${after1b}`);
    assert.ok(after1a > 4 * MB && after1b > 4 * MB, `both paths carried data: ${after1a} and ${after1b} bytes`);

    // 2. --forward with socat at both ends: a 5 MB file pushed through, byte-exact.
    const input = join(dir, 'in.bin');
    const output = join(dir, 'out.bin');
    writeFileSync(input, body.subarray(0, 5 * MB));
    const sink = spawn('socat', ['-u', `TCP-LISTEN:${fwdDest},bind=127.0.0.1,reuseaddr`, `CREATE:${output}`], { stdio: 'ignore' });
    sinks.push(sink);
    for (let i = 0; i < 400 && !listening(fwdDest); i++) await new Promise((r) => setTimeout(r, 25));
    assert.ok(listening(fwdDest), 'the socat sink listens');
    // Not spawnSync: the paths' forwarders run in this process's event loop.
    const sender = spawn('socat', ['-u', `FILE:${input}`, `TCP:127.0.0.1:${forwardPort}`], { stdio: 'ignore' });
    sinks.push(sender);
    const [senderCode] = (await within(60_000, 'socat sender', once(sender, 'close'))) as [number | null];
    assert.equal(senderCode, 0);
    if (sink.exitCode === null) await within(30_000, 'socat sink exit', once(sink, 'close'));
    assert.equal(sha(readFileSync(output)), sha(body.subarray(0, 5 * MB)));

    // 3. curl --socks5-hostname (the name 'localhost' resolved by our server); path 1 (the initial
    //    subflow's) is cut once 20 MB have arrived: the rest comes over path 2.
    let cutAt = 0;
    const bytes2Before = path2.bytes();
    const viaSocks = await within(150_000, 'curl --socks5-hostname', curl(['--socks5-hostname', `127.0.0.1:${proxyPort}`, `http://localhost:${httpPort}/big`], (n) => {
      if (cutAt === 0 && n >= 20 * MB) {
        cutAt = n;
        path1.cut();
      }
    }));
    assert.equal(viaSocks.code, 0, viaSocks.err);
    assert.equal(viaSocks.sha, sha(body));
    assert.ok(cutAt > 0, 'path 1 was cut during the download');
    assert.ok(path2.bytes() - bytes2Before > (50 * MB - cutAt) * 0.9, 'what came after the cut came over path 2');

    // Statistics on SIGUSR1; the MPTCP events with --monitor.
    await statsUntil(client, /connections open 0, closed 3, refused 0/);
    assert.match(client.out(), /\[SF_ESTABLISHED\] token=\w+ remid=0 locid=1 saddr4=127\.0\.0\.5 daddr4=127\.0\.0\.2/);
    assert.match(client.out(), /127\.0\.0\.5 -> 127\.0\.0\.2: sent \d+ received [1-9]\d{6,}/);
    client.child.kill('SIGTERM');
    assert.equal(await within(20_000, 'client exit', client.exit), 0, client.err());
    server.child.kill('SIGTERM');
    assert.equal(await within(20_000, 'server exit', server.exit), 0, server.err());
    assert.match(server.out(), /mptcp proxy server: connections open 0, closed 3, refused 0 .* failed 0; bytes up \d+, down \d+\n/);
  } finally {
    for (const p of procs) p.kill();
    for (const s of sinks) if (s.exitCode === null) s.kill('SIGKILL');
    path1.close();
    path2.close();
    origin.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
