/**
 * The package as a user gets it: `npm pack` (its prepack builds a clean dist/), the tarball installed into an
 * empty folder offline (the package has no runtime dependencies; its install script, the optional TUN addon
 * build, must not fail there), then, from that folder only:
 *   1. the README's "Use it as a library" example, extracted from README.md so the README cannot rot: plain
 *      ESM JavaScript doing `import { createStack } from 'mptcp-ts'`, an MPTCP connection between two stacks on
 *      the in-process emulator, data checked on arrival, and the process exiting by itself;
 *   2. the README's MptcpAgent example (Node's `http.get` over two UDP paths), extracted the same way and run as
 *      written against a peer process: our stack from this repository (its sources through tsx) on the UDP
 *      paths the README names, 127.0.0.2:7001 and 127.0.0.3:7002 (fixed ports: if one is taken the test
 *      fails saying so), a Node `http.Server` fed the accepted sockets, serving a body of PEER_BODY bytes so
 *      both paths carry some; the example must exit by itself with status 200 and both subflows' bytes > 0;
 *   3. a program that never calls `close()` but closes its sockets and server: it exits by itself too (no
 *      timer of the stack holds the process, TIME-WAIT included);
 *   4. a TypeScript file type-checked with the project's tsc against the installed declarations (with
 *      `@ts-expect-error` lines, so declarations that degraded to `any` would fail it);
 *   5. the `mptcp` bin.
 * Every child process has a time bound and is killed at the end whatever happens; the temporary folder is
 * removed whatever happens. Skipped, with the reason, when dist/ has not been built (CI builds before `npm test`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

function skipReason(): string | false {
  if (!existsSync(join(ROOT, 'dist', 'index.js'))) return 'dist/ is not built: run `npm run build` first (CI does before npm test)';
  if (spawnSync('npm', ['--version'], { encoding: 'utf8', timeout: 30_000 }).status !== 0) return 'npm is not on PATH';
  return false;
}

/** README.md's markers, each followed by the example the test runs. */
export const LIBRARY_MARKER = '<!-- The pack test (test/package/pack.test.ts) runs the next code block from an installed tarball. -->';
export const AGENT_MARKER = '<!-- The pack test (test/package/pack.test.ts) runs the next code block from an installed tarball against such a peer. -->';

/** The first ```js block after `marker` (by default the library example's) in the README. */
export function readmeExample(readme: string, marker = LIBRARY_MARKER): string {
  const at = readme.indexOf(marker);
  assert.ok(at >= 0, `README.md has the pack-test marker before the example: ${marker}`);
  const block = /```js\n([\s\S]*?)```\n/.exec(readme.slice(at));
  assert.ok(block, `a \`\`\`js block follows the marker ${marker}`);
  return block[1]!;
}

/** npm's own environment variables of an enclosing `npm test` would leak into the child npm: drop them. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return env;
}

function run(command: string, args: readonly string[], cwd: string, timeoutMs: number): SpawnSyncReturns<string> {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: timeoutMs, env: cleanEnv() });
  if (r.error) throw new Error(`${command} ${args.join(' ')}: ${r.error.message}`);
  return r;
}

function explain(r: SpawnSyncReturns<string>): string {
  return `status ${r.status} signal ${r.signal}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

/** What the peer serves to the README's MptcpAgent example: a few MB, so that both paths carry some. */
const PEER_BODY = 4 * 1024 * 1024;

/**
 * The peer the README's MptcpAgent example talks to: our stack from this repository on the README's two UDP
 * paths, HTTP on port 80 (a Node http.Server fed the accepted sockets). Prints `ready`, or `cannot bind` and
 * exits 3 when a fixed port is taken; closes its stack and exits when its stdin ends.
 */
const PEER = `
import http from 'node:http';
import { createStack } from ${JSON.stringify(join(ROOT, 'src', 'index.ts'))};
const body = Buffer.alloc(${PEER_BODY}, 'mptcp');
const stack = createStack({ name: 'readme-peer' });
for (const [address, port] of [['127.0.0.2', 7001], ['127.0.0.3', 7002]]) {
  try {
    await stack.addUdpInterface({ localAddress: address, localPort: port });
  } catch (e) {
    console.log('cannot bind UDP ' + address + ':' + port + ': ' + (e.code ?? e.message));
    process.exit(3);
  }
}
const web = http.createServer((req, res) => {
  console.log('served ' + req.method + ' ' + req.url);
  res.setHeader('content-length', body.length);
  res.end(body);
});
stack.createServer((socket) => web.emit('connection', socket)).listen(80, () => console.log('ready'));
process.stdin.on('end', () => stack.close().then(() => process.exit(0))).resume();
`;

/** A child process with its output collected, killed (SIGKILL) after `timeoutMs`. */
function start(command: string, args: readonly string[], cwd: string, timeoutMs: number) {
  const child = spawn(command, args, { cwd, env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
  let timedOut = false;
  const killer = setTimeout(() => ((timedOut = true), child.kill('SIGKILL')), timeoutMs);
  const exit = new Promise<{ status: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (status, signal) => (clearTimeout(killer), resolve({ status, signal }))),
  );
  const explainIt = () => `${timedOut ? `killed after ${timeoutMs} ms\n` : ''}--- stdout\n${out.stdout}\n--- stderr\n${out.stderr}`;
  return { child, out, exit, explain: explainIt, timedOut: () => timedOut };
}

/** Waits (polling, bounded) until `re` matches the process's stdout or it exits; the match, or undefined. */
async function waitForOutput(p: ReturnType<typeof start>, re: RegExp, ms: number): Promise<RegExpMatchArray | undefined> {
  let exited = false;
  void p.exit.then(() => (exited = true));
  for (const until = Date.now() + ms; Date.now() < until; await new Promise((r) => setTimeout(r, 25))) {
    const m = re.exec(p.out.stdout);
    if (m || exited) return m ?? undefined;
  }
  return undefined;
}

/** Ends the peer (stdin closed: it closes its stack), SIGKILL if it is still there after 5 s. */
async function stop(p: ReturnType<typeof start>): Promise<void> {
  p.child.stdin.end();
  const gone = await Promise.race([p.exit.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 5000))]);
  if (!gone) {
    p.child.kill('SIGKILL');
    await p.exit;
  }
}

/** Ends its connection and server without `close()`: the process must still end on its own. */
const NO_CLOSE = `
import { createStack, createEmulatedNetwork } from 'mptcp-ts';
const network = createEmulatedNetwork({ seed: 2 });
const a = createStack({ name: 'a', network });
const b = createStack({ name: 'b', network });
network.link({ stack: a, address: '198.18.0.1/24' }, { stack: b, address: '198.18.0.2/24' }, { rateBitsPerSecond: 10e6, delayMicros: 2_000 });
const server = b.createServer((s) => s.pipe(s)).listen(7);
const socket = a.connect(7, '198.18.0.2');
let echoed = 0;
socket.on('data', (chunk) => (echoed += chunk.length));
socket.on('end', () => server.close());
socket.end(Buffer.alloc(100_000, 1));
process.on('exit', () => console.log('echoed ' + echoed + ', states ' + a.host.connections().map((c) => c.state).join(',')));
`;

/** Type-checked against the installed declarations. */
const TYPES = `
import { createStack, createEmulatedNetwork, MptcpSocket, wire, type StackOptions, type SubflowInfo, type MptcpInfo } from 'mptcp-ts';
import { parseIpPacket } from 'mptcp-ts/wire';
import { Network, type LinkConfig } from 'mptcp-ts/emu';
import type { Duplex } from 'node:stream';

const options: StackOptions = { name: 'client', limits: 'subflows 2', scheduler: 'default' };
const network = createEmulatedNetwork({ seed: 1 });
const stack = createStack({ ...options, network });
const socket: MptcpSocket = stack.connect({ port: 80, host: '198.18.0.2' });
const duplex: Duplex = socket;
const info: MptcpInfo | undefined = socket.mptcpInfo();
const subflows: SubflowInfo[] = socket.subflows();
const id: number = socket.addSubflow('198.18.1.1', { backup: true });
const done: boolean = socket.setBackup(id, false);
const port: number | undefined = stack.createServer({ mptcp: true }, (s: MptcpSocket) => s.end()).listen(0).address()?.port;
const closing: Promise<void> = stack.close();
const link: LinkConfig = { rateBitsPerSecond: 1e6, delayMicros: 1000 };
const emulator = new Network({ seed: 3 });
const parsed = parseIpPacket(new Uint8Array(20));
const same: typeof parsed = wire.parseIpPacket(new Uint8Array(20));
void [duplex, info, subflows, done, port, closing, link, emulator, same];

// @ts-expect-error connect needs a host
stack.connect({ port: 80 });
// @ts-expect-error subflows() is typed, not any
const wrong: string = socket.subflows();
// @ts-expect-error setBackup takes a subflow id and a flag
socket.setBackup('1', true);
void wrong;
`;

const TSCONFIG = (typeRoot: string) =>
  JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      types: ['node'],
      typeRoots: [typeRoot],
    },
    files: ['check.ts'],
  });

test('npm pack: the tarball installs offline into an empty folder; the README examples (emulator; Node http over two UDP paths to a peer), a program without close(), the types and the bin work from it', { skip: skipReason(), timeout: 330_000 }, async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'mptcp-ts-pack-'));
  try {
    const pack = run('npm', ['pack', '--pack-destination', tmp], ROOT, 120_000);
    assert.equal(pack.status, 0, `npm pack failed\n${explain(pack)}`);
    const tarball = readdirSync(tmp).find((f) => /^mptcp-ts-.*\.tgz$/.test(f));
    assert.ok(tarball, `no tarball in ${tmp}`);

    const app = join(tmp, 'app');
    run('mkdir', [app], tmp, 10_000);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'pack-test-app', private: true, type: 'module' }));
    const install = run('npm', ['install', '--offline', '--no-audit', '--no-fund', join('..', tarball)], app, 180_000);
    assert.equal(install.status, 0, `npm install of the tarball failed\n${explain(install)}`);
    // The install script's one line (the addon built, or why not): printed, never a failure.
    const addonLine = `${install.stdout}${install.stderr}`.split('\n').find((l) => /TUN addon/.test(l));
    t.diagnostic(addonLine?.trim() ?? 'the install script printed no TUN addon line (npm may hide install-script output)');
    const installed = join(app, 'node_modules', 'mptcp-ts');
    assert.ok(existsSync(join(installed, 'dist', 'index.js')), 'the package ships dist/');
    assert.ok(existsSync(join(installed, 'dist', 'index.d.ts')), 'the package ships its type declarations');
    assert.ok(existsSync(join(installed, 'LICENSE')), 'the package ships LICENSE');
    assert.deepEqual(readdirSync(join(installed, 'dist')).filter((f) => f.endsWith('.map')), [], 'no source maps pointing at sources that are not shipped');
    assert.ok(!existsSync(join(installed, 'src')) && !existsSync(join(installed, 'test')), 'sources and tests stay out of the package');

    // 1. The README example, as written.
    writeFileSync(join(app, 'example.mjs'), readmeExample(readFileSync(join(ROOT, 'README.md'), 'utf8')));
    const example = run(process.execPath, ['example.mjs'], app, 60_000);
    assert.equal(example.signal, null, `the example did not exit by itself within 60 s\n${explain(example)}`);
    assert.equal(example.status, 0, explain(example));
    assert.match(example.stdout, /^MPTCP: mptcp$/m);
    assert.match(example.stdout, /the server received every byte intact/);
    const subflowLines = example.stdout.split('\n').filter((l) => l.startsWith('subflow '));
    assert.equal(subflowLines.length, 2, `two subflows (MP_CAPABLE and the join):\n${example.stdout}`);
    for (const line of subflowLines) assert.doesNotMatch(line, / 0 bytes sent$/, `every path carried data: ${line}`);

    // 2. The README's MptcpAgent example, as written, against a peer stack on its two fixed UDP paths.
    const peer = start(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', PEER], ROOT, 120_000);
    try {
      const up = await waitForOutput(peer, /^(ready|cannot bind .*)$/m, 60_000);
      assert.ok(up, `the peer stack did not start within 60 s\n${peer.explain()}`);
      assert.equal(up[1], 'ready', `the README's MptcpAgent example uses fixed UDP ports 127.0.0.2:7001 and 127.0.0.3:7002; the peer could not take them (${up[1]}): is another run of this test, or the README's proxy example, using them?`);
      writeFileSync(join(app, 'agent-example.mjs'), readmeExample(readFileSync(join(ROOT, 'README.md'), 'utf8'), AGENT_MARKER));
      const agentRun = start(process.execPath, ['agent-example.mjs'], app, 60_000);
      const ended = await agentRun.exit;
      assert.equal(agentRun.timedOut(), false, `the MptcpAgent example did not exit by itself within 60 s\n${agentRun.explain()}`);
      assert.equal(ended.status, 0, `the MptcpAgent example failed\n${agentRun.explain()}\n--- peer\n${peer.explain()}`);
      assert.match(agentRun.out.stdout, /^200 /m, `status 200 first:\n${agentRun.out.stdout}`);
      const counts = [...agentRun.out.stdout.matchAll(/'(127\.0\.0\.\d+): (\d+) bytes'/g)].map((m) => ({ address: m[1]!, bytes: Number(m[2]) }));
      assert.deepEqual(counts.map((c) => c.address), ['127.0.0.4', '127.0.0.5'], `one subflow per path (MP_CAPABLE on 127.0.0.4, the join from 127.0.0.5):\n${agentRun.out.stdout}`);
      for (const c of counts) assert.ok(c.bytes > 0, `the path of ${c.address} carried part of the response:\n${agentRun.out.stdout}`);
      const total = counts.reduce((sum, c) => sum + c.bytes, 0);
      assert.ok(total >= PEER_BODY, `the subflows carried the whole ${PEER_BODY}-byte body and the headers (${total} bytes)`);
      assert.match(peer.out.stdout, /^served GET \/$/m, `the peer served the example's GET /\n${peer.explain()}`);
      t.diagnostic(`MptcpAgent example: ${agentRun.out.stdout.trim()}`);
    } finally {
      await stop(peer);
    }

    // 3. No close(): the process ends once its sockets and server are closed.
    writeFileSync(join(app, 'no-close.mjs'), NO_CLOSE);
    const noClose = run(process.execPath, ['no-close.mjs'], app, 30_000);
    assert.equal(noClose.signal, null, `a program that closed its sockets and server did not exit within 30 s\n${explain(noClose)}`);
    assert.equal(noClose.status, 0, explain(noClose));
    assert.match(noClose.stdout, /^echoed 100000, states /m);
    t.diagnostic(`without close(): ${noClose.stdout.trim()}`);

    // 4. TypeScript against the installed declarations (node's types from this project).
    writeFileSync(join(app, 'check.ts'), TYPES);
    writeFileSync(join(app, 'tsconfig.json'), TSCONFIG(join(ROOT, 'node_modules', '@types')));
    const tsc = run(process.execPath, [TSC, '-p', 'tsconfig.json'], app, 120_000);
    assert.equal(tsc.status, 0, `tsc against the installed types failed\n${explain(tsc)}`);

    // 5. The bin.
    const bin = run(join(app, 'node_modules', '.bin', 'mptcp'), ['--help'], app, 30_000);
    assert.equal(bin.status, 0, explain(bin));
    assert.match(bin.stdout, /Usage: mptcp/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
