/**
 * `mptcp proxy` throughput and memory (`npm run bench proxy`):
 * - curl downloads 100 MB from a local Node HTTP server through our client proxy and our server proxy (two
 *   `mptcp proxy` processes) over UDP paths on 127.0.0.x, each path through a forwarder in this process
 *   that shapes it to PATH_RATE (a drop-tail queue drained at that rate): two paths against one, in one run;
 * - against, in the same run, a direct MPTCP transfer of the same 100 MB over the same two paths (the same
 *   forwarders and rates) without a proxy: `mptcp perf -R` between two processes of our stack (see `direct`);
 * - the same unshaped (loopback, CPU-bound), against the direct transfer unshaped and curl straight to the
 *   server on the kernel's loopback;
 * - over TUN to the kernel (root): a kernel client, `mptcpize run curl --socks5`, in a namespace, through our
 *   proxy server (one TUN path) to a local HTTP server, against the same kernel client fetching straight
 *   from an HTTP server on our stack over the same kind of TUN path (our stack without the relay);
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
import { Topology, type Namespace } from '../src/io/netns.js';
import { kernelSkipReason } from '../test/support/kernel.js';

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

/**
 * `paths` UDP paths between a client and a server of our stack, each through a forwarder in this process
 * (shaped to `rate` when given): the `--iface`/`--endpoint` words of each side, as the proxies and perf take them.
 */
async function udpPaths(paths: 1 | 2, rate: number | undefined) {
  const ports = [await freeUdpPort('127.0.0.2'), await freeUdpPort('127.0.0.3')].slice(0, paths);
  const forwarders = await Promise.all(ports.map((p, i) => udpForwarder(`127.0.0.${6 + i}`, { address: `127.0.0.${2 + i}`, port: p }, rate ? { rateBitsPerSecond: rate } : {})));
  return {
    forwarders,
    server: ports.flatMap((p, i) => ['--iface', `udp:127.0.0.${2 + i}:${p}`]),
    client: [...forwarders.flatMap((f, i) => ['--iface', `udp:127.0.0.${4 + i},remote=127.0.0.${6 + i}:${f.port}`]), ...(paths === 2 ? ['--endpoint', '127.0.0.5 subflow'] : [])],
    /** The percentage of the forwarded bytes (both ways) that the second path carried. */
    share: () => {
      const b = forwarders.map((f) => f.bytes());
      return b.length < 2 ? 0 : Math.round((b[1]! / (b[0]! + b[1]!)) * 100);
    },
    close: () => forwarders.forEach((f) => f.close()),
  };
}

/** Both proxies over `paths` UDP paths (shaped to `rate` when given); runs `fn` with the client's proxy port. */
async function withProxies<T>(paths: 1 | 2, rate: number | undefined, fn: (proxyPort: number, share: () => number) => Promise<T>): Promise<T> {
  const udp = await udpPaths(paths, rate);
  const procs: ProxyProcess[] = [];
  try {
    const server = spawnProxy(['server', '--listen', '0.0.0.0:1080', ...udp.server, '--allow', '127.0.0.0/8'], 600_000);
    procs.push(server);
    await server.waitFor(/listening on port 1080/, 30_000);
    const client = spawnProxy(['client', '--listen', '127.0.0.1:0', '--server', '127.0.0.2:1080', ...udp.client], 600_000);
    procs.push(client);
    const m = await client.waitFor(/listening on 127\.0\.0\.1:(\d+)\n/, 30_000);
    return await fn(Number(m[1]), udp.share);
  } finally {
    for (const p of procs) p.kill();
    udp.close();
  }
}

const CLI = new URL('../src/cli/main.ts', import.meta.url).pathname;

/**
 * The direct case: the same 100 MiB over the same 2 UDP paths (new forwarders built the same way, same rate),
 * our stack at both ends, no proxy. It is `mptcp perf -s -1` and `mptcp perf -c 127.0.0.2 -R -n 100M`
 * (the server sends, as the origin's side does in a download) with the very --iface/--endpoint words of the
 * two proxies, rather than a Node http.Server on our stack and an MptcpAgent client, because that mirrors the
 * proxy case best where it matters: the same CLI set-up code (perf's --iface/--endpoint parsing and
 * openInterfaces, which `mptcp proxy` reuses), the same defaults (limits, scheduler, CUBIC), one stack per
 * process run from the sources through tsx, so the two rows differ only by what the relay adds: curl and the
 * origin's node:net sockets, the SOCKS exchange, and the copy between node:net and our sockets at each end.
 * Seconds: perf's receiver-side time of the data stream (iperf3's sum_received), where the proxy's are curl's
 * whole run; the proxy's extra (a SOCKS exchange, one more round trip on loopback) is milliseconds of 10+ s.
 */
async function direct(paths: 1 | 2, rate: number | undefined): Promise<{ seconds: number; share: number }> {
  const udp = await udpPaths(paths, rate);
  const perf = (args: readonly string[]) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'perf', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out = { stdout: '', stderr: '' };
    child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 600_000);
    const exit = new Promise<number | null>((resolve) => child.once('close', (code) => (clearTimeout(killer), resolve(code))));
    return { child, out, exit };
  };
  const server = perf(['-s', '-1', '-i', '0', ...udp.server]);
  try {
    for (let i = 0; i < 1200 && !/Server listening on 5201/.test(server.out.stdout); i++) {
      if (server.child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    if (!/Server listening on 5201/.test(server.out.stdout)) throw new Error(`mptcp perf -s did not start: ${server.out.stderr}${server.out.stdout}`);
    const client = perf(['-c', '127.0.0.2', '-R', '-n', `${SIZE / MB}M`, '-i', '0', '-J', ...udp.client]);
    const code = await client.exit;
    const received = code === 0 ? (JSON.parse(client.out.stdout) as { end: { sum_received: { bytes: number; seconds: number } } }).end.sum_received : undefined;
    if (!received || received.bytes !== SIZE) throw new Error(`mptcp perf -c failed (exit ${code}, ${received?.bytes ?? 0} bytes): ${client.out.stderr}`);
    return { seconds: received.seconds, share: udp.share() };
  } finally {
    server.child.kill('SIGKILL');
    await server.exit;
    udp.close();
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
      withProxies(paths, rate, async (port, share) => {
        const r = await curl(['--socks5-hostname', `127.0.0.1:${port}`, url]);
        if (r.code !== 0 || r.sha !== expected) throw new Error(`curl through the proxy failed (exit ${r.code}, body ${r.sha === expected ? 'intact' : 'corrupt'})`);
        return { seconds: r.seconds, share: share() };
      });
    const ratio = (proxied: number, straight: number) => Math.round((straight / proxied) * 100) / 100;
    // Proxy against direct on the same 2 paths: proxy, direct, direct, proxy (ABBA), so that a machine load
    // drifting steadily over the four runs cancels out of the ratio of the summed seconds; each row's Mbit/s is
    // the 2 x 100 MiB over both runs' seconds, its note both runs.
    type Run = { seconds: number; share: number };
    const abba = async (proxy: () => Promise<Run>, straight: () => Promise<Run>) => {
      const p1 = await proxy();
      const d1 = await straight();
      const d2 = await straight();
      const p2 = await proxy();
      const both = (x: Run, y: Run) => ({ seconds: (x.seconds + y.seconds) / 2, note: `${x.seconds.toFixed(1)} s and ${y.seconds.toFixed(1)} s; path 2 carried ${x.share}% and ${y.share}% of the bytes` });
      return { proxied: both(p1, p2), direct: both(d1, d2) };
    };
    const one = await download(1, PATH_RATE);
    const shaped = await abba(() => download(2, PATH_RATE), () => direct(2, PATH_RATE));
    results.push({ name: `curl 100 MB through both proxies, 1 UDP path shaped to ${PATH_RATE / 1e6} Mbit/s`, value: mbits(one.seconds), unit: 'Mbit/s', note: `${one.seconds.toFixed(1)} s` });
    results.push({ name: `curl 100 MB through both proxies, 2 UDP paths shaped to ${PATH_RATE / 1e6} Mbit/s each (2 runs)`, value: mbits(shaped.proxied.seconds), unit: 'Mbit/s', note: shaped.proxied.note });
    results.push({ name: 'bonding gain: 2 shaped paths / 1 shaped path (same run)', value: ratio(shaped.proxied.seconds, one.seconds), unit: 'x' });
    results.push({ name: `direct MPTCP 100 MB (mptcp perf -R, no proxy), the same 2 UDP paths shaped to ${PATH_RATE / 1e6} Mbit/s each (2 runs)`, value: mbits(shaped.direct.seconds), unit: 'Mbit/s', note: shaped.direct.note });
    results.push({ name: 'proxy / direct over the same 2 shaped UDP paths (same run)', value: ratio(shaped.proxied.seconds, shaped.direct.seconds), unit: 'x' });
    const kernel = await curl([url]);
    const free = await abba(() => download(2, undefined), () => direct(2, undefined));
    results.push({ name: 'curl 100 MB direct on the kernel loopback (no proxy)', value: mbits(kernel.seconds), unit: 'Mbit/s', note: `${kernel.seconds.toFixed(1)} s` });
    results.push({ name: 'curl 100 MB through both proxies, 2 unshaped UDP paths on loopback (2 runs)', value: mbits(free.proxied.seconds), unit: 'Mbit/s', note: `${free.proxied.note}; ${Math.round((kernel.seconds / free.proxied.seconds) * 1000) / 10}% of the kernel loopback` });
    results.push({ name: 'direct MPTCP 100 MB (mptcp perf -R, no proxy), the same 2 unshaped UDP paths (2 runs)', value: mbits(free.direct.seconds), unit: 'Mbit/s', note: free.direct.note });
    results.push({ name: 'proxy / direct over the same 2 unshaped UDP paths (same run)', value: ratio(free.proxied.seconds, free.direct.seconds), unit: 'x' });
  } finally {
    origin.close();
  }
  results.push(...(await overTun(body)));
  results.push(await idleMemory(1000));
  return results;
}

/** Kernel client in a namespace: through our proxy server on TUN, and straight to our stack's HTTP server on TUN. */
export async function overTun(body: Buffer): Promise<BenchResult[]> {
  const skip = kernelSkipReason();
  if (skip) return [{ name: 'over TUN to the kernel', value: 0, unit: 'skipped', note: skip }];
  const fetch = async (ns: Namespace, args: string[]): Promise<number> => {
    const r = await ns.run('mptcpize', ['run', 'curl', '-sS', '--fail', '--max-time', '120', '-o', '/dev/null', '-w', '%{time_total} %{size_download}', ...args], { timeoutMs: 130_000 });
    const [seconds, size] = r.stdout.trim().split(' ').map(Number);
    if (r.code !== 0 || size !== SIZE) throw new Error(`curl over TUN failed (exit ${r.code}): ${r.stderr.trim()}`);
    return seconds!;
  };
  const mbits = (s: number) => Math.round((SIZE * 8) / s / 1e5) / 10;
  // Through the proxy: `mptcp proxy server` on a TUN device into the namespace, origin on the host loopback.
  const origin = http.createServer((_req, res) => res.end(body));
  origin.listen(0, '127.0.0.1');
  await once(origin, 'listening');
  const port = (origin.address() as { port: number }).port;
  let proxied: number;
  const t1 = Topology.create();
  let proc: ProxyProcess | undefined;
  try {
    const ns = t1.addNamespace('pxb');
    proc = spawnProxy(['server', '--listen', '0.0.0.0:1080', '--allow', `127.0.0.1:${port}`, '--iface', `tun:mpb${process.pid},addr=198.18.1.2/24,peer=198.18.1.1/24,netns=${ns.name}`], 300_000);
    await proc.waitFor(/listening on port 1080/, 30_000);
    proxied = await fetch(ns, ['--socks5', '198.18.1.2:1080', `http://127.0.0.1:${port}/`]);
  } finally {
    proc?.kill();
    t1.dispose();
    origin.close();
  }
  // Direct: an HTTP server on our stack over a TUN device into a namespace, in its own process as the proxy
  // server is (so both cases have the stack in one process and the HTTP server's bytes made elsewhere or not).
  let direct: number;
  const t2 = Topology.create();
  const name = `mpd${process.pid}`;
  const script = `
    import http from 'node:http';
    import { createStack } from ${JSON.stringify(new URL('../src/index.ts', import.meta.url).pathname)};
    const body = Buffer.alloc(${SIZE}, 7);
    const stack = createStack({ name: 'bench-web' });
    stack.addTunInterface({ name: ${JSON.stringify(name)}, addresses: ['198.18.1.2/24'] });
    const web = http.createServer((_req, res) => res.end(body));
    stack.createServer((socket) => web.emit('connection', socket)).listen(80, () => console.log('ready'));
    process.stdin.on('end', () => stack.close().then(() => process.exit(0))).resume();`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const killer = setTimeout(() => child.kill('SIGKILL'), 300_000);
  try {
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    for (let i = 0; i < 400 && !out.includes('ready'); i++) await new Promise((r) => setTimeout(r, 25));
    if (!out.includes('ready')) throw new Error('the direct HTTP server on our stack did not start');
    const ns = t2.addNamespace('pxd');
    t2.moveToNamespace(name, ns);
    ns.addAddress(name, '198.18.1.1/24');
    ns.linkUp(name);
    direct = await fetch(ns, ['http://198.18.1.2/']);
  } finally {
    child.stdin.end();
    await Promise.race([once(child, 'close'), new Promise((r) => setTimeout(r, 5000))]);
    child.kill('SIGKILL');
    clearTimeout(killer);
    t2.dispose();
  }
  return [
    { name: 'kernel client (mptcpize curl) -> our proxy server over 1 TUN path -> local HTTP server, 100 MB', value: mbits(proxied), unit: 'Mbit/s', note: `${proxied.toFixed(1)} s` },
    { name: 'the same kernel client -> an HTTP server on our stack over 1 TUN path (no proxy), 100 MB', value: mbits(direct), unit: 'Mbit/s', note: `${direct.toFixed(1)} s` },
    { name: 'proxy over TUN / direct to our stack over TUN (same run)', value: Math.round((direct / proxied) * 100) / 100, unit: 'x' },
  ];
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
