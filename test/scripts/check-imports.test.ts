/**
 * scripts/check-imports.mjs on tiny trees built in a temporary folder: a clean tree passes; a cycle (also one
 * made of `import type` only) fails naming the files in order; an import up the layer order fails naming
 * both files and layers; imports in comments and strings do not count; an import that resolves to nothing,
 * and a folder that is not in the layer order, are reported.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../scripts/check-imports.mjs', import.meta.url));

/** Writes `files` (path under src/ -> contents) into a fresh folder, runs the script on it, cleans up. */
function check(files: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'check-imports-'));
  try {
    for (const [path, text] of Object.entries(files)) {
      const full = join(dir, 'src', path);
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, text);
    }
    const r = spawnSync(process.execPath, [SCRIPT, 'src'], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const CLEAN = {
  'index.ts': "export { connect } from './api/socket.js';\nexport * as wire from './wire/index.js';\n",
  'api/socket.ts': "import { Host } from '../stack/host.js';\nimport type { Micros } from '../time/micros.js';\nexport const connect = (now: Micros) => new Host(now);\n",
  'stack/host.ts': "import { parse } from '../wire/index.js';\nimport { TcpConnection } from '../tcp/connection.js';\nexport class Host { constructor(readonly now: number) { void parse; void TcpConnection; } }\n",
  'tcp/connection.ts': "import { cubic } from '../cc/cubic.js';\nimport { seqLt } from '../wire/seq.js';\nexport class TcpConnection { cc = cubic; lt = seqLt; }\n",
  'cc/cubic.ts': "import type { Micros } from '../time/micros.js';\nexport const cubic = (t: Micros) => t;\n",
  'wire/index.ts': "export * from './seq.js';\nexport const parse = (b: Uint8Array) => b;\n",
  'wire/seq.ts': '// Examples in comments do not count: import { Host } from "../stack/host.js";\nexport const seqLt = (a: number, b: number) => ((a - b) | 0) < 0;\nexport const text = "import { x } from \'../api/socket.js\'";\nexport const re = /from \'..\\/cli\\/main.js\'/;\n',
  'time/micros.ts': 'export type Micros = number;\n',
  'cli/main.ts': "import { connect } from '../index.js';\nconst { Host } = await import('../stack/host.js');\nvoid connect; void Host;\n",
};

test('check-imports: a clean tree passes, with a summary line', () => {
  const r = check(CLEAN);
  assert.equal(r.stderr, '');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^check-imports: 9 files, 12 relative imports: no cycle, nothing imports up the layer order \(cli > perf > proxy > api\/index > /);
});

test('check-imports: a cycle fails and names it (type-only imports count)', () => {
  const r = check({
    ...CLEAN,
    'cli/decode.ts': "import { summarize } from './summary.js';\nexport const decode = () => summarize;\n",
    'cli/summary.ts': "import type { decode } from './decode.js';\nexport const summarize = (d: typeof decode) => d;\n",
  });
  assert.equal(r.status, 1);
  assert.deepEqual(r.stderr.trim().split('\n'), [
    'import cycle: src/cli/decode.ts -> src/cli/summary.ts -> src/cli/decode.ts',
    'check-imports: 1 problem in 11 files (layer order cli > perf > proxy > api/index > io > report > harness > capture > emu > stack > mptcp > pm/sched > tcp > cc > wire > time)',
  ]);
});

test('check-imports: an import up the layer order fails and names the file, its line, the target and the layers', () => {
  const r = check({
    ...CLEAN,
    'tcp/connection.ts': "import { cubic } from '../cc/cubic.js';\nimport type { Host } from '../stack/host.js';\nexport class TcpConnection { cc = cubic; host?: Host; }\n",
  });
  assert.equal(r.status, 1);
  const lines = r.stderr.trim().split('\n');
  assert.match(lines[0]!, /^src\/tcp\/connection\.ts:2: upward import of src\/stack\/host\.ts \(tcp may not import stack; layer order cli > /);
  // The upward import also closes a cycle (stack -> tcp -> stack): both are reported.
  assert.match(lines[1]!, /^import cycle: src\/stack\/host\.ts -> src\/tcp\/connection\.ts -> src\/stack\/host\.ts$/);
  assert.match(lines[2]!, /^check-imports: 2 problems in 9 files/);
});

test('check-imports: an unresolved relative import and a folder outside the layer order are reported; usage errors exit 2', () => {
  const r = check({
    ...CLEAN,
    'wire/tcp.ts': "import { gone } from './missing.js';\nexport const tcp = gone;\n",
    'misc/thing.ts': "import { seqLt } from '../wire/seq.js';\nexport const thing = seqLt;\n",
  });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^src\/misc\/thing\.ts: layer "misc" is not in the layer order \(cli > .*\): add it to LAYERS in scripts\/check-imports\.mjs$/m);
  assert.match(r.stderr, /^src\/wire\/tcp\.ts:1: import '\.\/missing\.js' does not resolve to a \.ts file under src$/m);
  const usage = spawnSync(process.execPath, [SCRIPT, '/nonexistent-check-imports-root'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /is not a folder/);
});
