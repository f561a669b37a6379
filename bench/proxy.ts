/**
 * `mptcp proxy` throughput and memory (`npm run bench proxy`):
 * - curl downloads 100 MB from a local Node HTTP server through our client proxy and our server proxy (two
 *   `mptcp proxy` processes) over UDP paths on 127.0.0.x, each path through a forwarder in this process
 *   that shapes it to PATH_RATE (a drop-tail queue drained at that rate): two paths against one, in one run;
 * - the same unshaped (loopback, CPU-bound) against curl straight to the server on the kernel's loopback;
 * - memory per idle relayed connection: 1,000 SOCKS 5 connections held open through both proxies on the
 *   emulator in this process (both proxies, both stacks and the local sockets counted together).
 */
import { createHash, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import type { Socket } from 'node:net';
import type { BenchResult } from './measure.js';
import { freeUdpPort } from '../test/perf/helpers.js';
import { emulatedProxyPair, localConnect, localServer, spawnProxy, udpForwarder, type ProxyProcess } from '../test/proxy/helpers.js';
import { encodeConnectRequest, encodeGreeting } from '../src/proxy/socks5.js';

const MB = 1024 * 1024;
const SIZE = 100 * MB;
const PATH_RATE = 40e6;

function curl(args: readonly string[]): Promise<{ seconds: number; sha: string; code: number | null }> {
  const started = performance.now();
  const child = spawn('curl', ['-sS', '--fail', '--max-time', '300', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const h = createHash('sha256');
  child.stdout.on('data', (c: Buffer) => h.update(c));
  return new Promise((resolve) => child.once('close', (code) => resolve({ seconds: (performance.now() - started) / 1000, sha: h.digest('hex'), code })));
}

/** Both proxies over `paths` UDP paths (shaped to `rate` when given); runs `fn` with the client's proxy port. */
async function withProxies<T>(paths: 1 | 2, rate: number | undefined, fn: (proxyPort: number) => Promise<T>): Promise<T> {
  const ports = [await freeUdpPort('127.0.0.2'), await freeUdpPort('127.0.0.3')].slice(0, paths);
  const forwarders = await Promise.all(ports.map((p, i) => udpForwarder(`127.0.0.${6 + i}`, { address: `127.0.0.${2 + i}`, port: p }, rate ? { rateBitsPerSecond: rate } : {})));
  const procs: ProxyProcess[] = [];
  try {
    const server = spawnProxy(['server', '--listen', '0.0.0.0:1080', ...ports.flatMap((p, i) => ['--iface', `udp:127.0.0.${2 + i}:${p}`]), '--allow', '127.0.0.0/8'], 600_000);
    procs.push(server);
    await server.waitFor(/listening on port 1080/, 30_000);
    const client = spawnProxy(
      ['client', '--listen', '127.0.0.1:0', '--server', '127.0.0.2:1080', ...forwarders.flatMap((f, i) => ['--iface', `udp:127.0.0.${4 + i},remote=127.0.0.${6 + i}:${f.port}`]), ...(paths === 2 ? ['--endpoint', '127.0.0.5 subflow'] : [])],
      600_000,
    );
    procs.push(client);
    const m = await client.waitFor(/listening on 127\.0\.0\.1:(\d+)\n/, 30_000);
    return await fn(Number(m[1]));
  } finally {
    for (const p of procs) p.kill();
    for (const f of forwarders) f.close();
  }
}

export async function benchProxy(): Promise<BenchResult[]> {
  const body = randomBytes(SIZE);
  const expected = createHash('sha256').update(body).digest('hex');
  const origin = http.createServer((_req, res) => {
    res.setHeader('content-length', body.length);
    res.end(body);
  });
  origin.listen(0, '127.0.0.1');
  await once(origin, 'listening');
  const url = `http://127.0.0.1:${(origin.address() as { port: number }).port}/`;
  const results: BenchResult[] = [];
  const mbits = (s: number) => Math.round((SIZE * 8) / s / 1e5) / 10;
  try {
    const download = async (paths: 1 | 2, rate: number | undefined) =>
      withProxies(paths, rate, async (port) => {
        const r = await curl(['--socks5-hostname', `127.0.0.1:${port}`, url]);
        if (r.code !== 0 || r.sha !== expected) throw new Error(`curl through the proxy failed (exit ${r.code}, body ${r.sha === expected ? 'intact' : 'corrupt'})`);
        return r.seconds;
      });
    const one = await download(1, PATH_RATE);
    const two = await download(2, PATH_RATE);
    results.push({ name: `curl 100 MB through both proxies, 1 UDP path shaped to ${PATH_RATE / 1e6} Mbit/s`, value: mbits(one), unit: 'Mbit/s', note: `${one.toFixed(1)} s` });
    results.push({ name: `curl 100 MB through both proxies, 2 UDP paths shaped to ${PATH_RATE / 1e6} Mbit/s each`, value: mbits(two), unit: 'Mbit/s', note: `${two.toFixed(1)} s` });
    results.push({ name: 'bonding gain: 2 shaped paths / 1 shaped path (same run)', value: Math.round((one / two) * 100) / 100, unit: 'x' });
    const direct = await curl([url]);
    const free = await download(2, undefined);
    results.push({ name: 'curl 100 MB direct on the kernel loopback (no proxy)', value: mbits(direct.seconds), unit: 'Mbit/s', note: `${direct.seconds.toFixed(1)} s` });
    results.push({ name: 'curl 100 MB through both proxies, 2 unshaped UDP paths on loopback', value: mbits(free), unit: 'Mbit/s', note: `${free.toFixed(1)} s; ${Math.round((direct.seconds / free) * 1000) / 10}% of direct` });
  } finally {
    origin.close();
  }
  results.push(await idleMemory(1000));
  return results;
}

/** Memory per idle relayed connection: `n` SOCKS connections open through both proxies on the emulator. */
async function idleMemory(n: number): Promise<BenchResult> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const measure = () => {
    gc?.();
    const m = process.memoryUsage();
    return m.heapUsed + m.external + m.arrayBuffers;
  };
  const held: Socket[] = [];
  const dest = await localServer((s) => held.push(s));
  const pair = await emulatedProxyPair({ client: { maxConnections: n + 10 }, server: { maxConnections: n + 10 } });
  const apps: Socket[] = [];
  try {
    const before = measure();
    for (let i = 0; i < n; i++) {
      const s = await localConnect(pair.ports[0]!);
      s.write(Buffer.concat([encodeGreeting(false), encodeConnectRequest({ type: 'ipv4', host: '127.0.0.1', port: dest.port })]));
      let got = 0;
      while (got < 12) got += ((await once(s, 'data')) as [Buffer])[0].length;
      apps.push(s);
    }
    if (pair.server.stats.open.size !== n) throw new Error(`only ${pair.server.stats.open.size} of ${n} connections relayed`);
    const after = measure();
    const per = Math.round((after - before) / n);
    return { name: `memory per idle relayed connection (${n} open; both proxies, stacks and local sockets in one process)`, value: Math.round(per / 102.4) / 10, unit: 'KiB', note: `${gc ? 'after gc: ' : 'no --expose-gc: '}heap + external + array buffers, ${Math.round((after - before) / MB)} MB for ${n}` };
  } finally {
    for (const s of apps) s.destroy();
    await pair.close();
    dest.server.close();
  }
}
