/**
 * The package as a user gets it: `npm pack` (its prepack builds a clean dist/), the tarball installed into an
 * empty folder offline (the package has no runtime dependencies; its install script, the optional TUN addon
 * build, must not fail there), then, from that folder only:
 *   1. the README's "Use it as a library" example, extracted from README.md so the README cannot rot: plain
 *      ESM JavaScript doing `import { createStack } from 'mptcp-ts'`, an MPTCP connection between two stacks on
 *      the in-process emulator, data checked on arrival, and the process exiting by itself;
 *   2. a program that never calls `close()` but closes its sockets and server: it exits by itself too (no
 *      timer of the stack holds the process, TIME-WAIT included);
 *   3. a TypeScript file type-checked with the project's tsc against the installed declarations (with
 *      `@ts-expect-error` lines, so declarations that degraded to `any` would fail it);
 *   4. the `mptcp` bin.
 * Every child process has a time bound; the temporary folder is removed whatever happens. Skipped, with the
 * reason, when dist/ has not been built (CI builds before `npm test`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
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

/** The first ```js block after the README's pack-test marker. */
export function readmeExample(readme: string): string {
  const marker = readme.indexOf('<!-- The pack test');
  assert.ok(marker >= 0, 'README.md has the pack-test marker before its library example');
  const block = /```js\n([\s\S]*?)```\n/.exec(readme.slice(marker));
  assert.ok(block, 'a ```js block follows the marker');
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

test('npm pack: the tarball installs offline into an empty folder; the README example, a program without close(), the types and the bin work from it', { skip: skipReason(), timeout: 240_000 }, (t) => {
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

    // 2. No close(): the process ends once its sockets and server are closed.
    writeFileSync(join(app, 'no-close.mjs'), NO_CLOSE);
    const noClose = run(process.execPath, ['no-close.mjs'], app, 30_000);
    assert.equal(noClose.signal, null, `a program that closed its sockets and server did not exit within 30 s\n${explain(noClose)}`);
    assert.equal(noClose.status, 0, explain(noClose));
    assert.match(noClose.stdout, /^echoed 100000, states /m);
    t.diagnostic(`without close(): ${noClose.stdout.trim()}`);

    // 3. TypeScript against the installed declarations (node's types from this project).
    writeFileSync(join(app, 'check.ts'), TYPES);
    writeFileSync(join(app, 'tsconfig.json'), TSCONFIG(join(ROOT, 'node_modules', '@types')));
    const tsc = run(process.execPath, [TSC, '-p', 'tsconfig.json'], app, 120_000);
    assert.equal(tsc.status, 0, `tsc against the installed types failed\n${explain(tsc)}`);

    // 4. The bin.
    const bin = run(join(app, 'node_modules', '.bin', 'mptcp'), ['--help'], app, 30_000);
    assert.equal(bin.status, 0, explain(bin));
    assert.match(bin.stdout, /Usage: mptcp/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
