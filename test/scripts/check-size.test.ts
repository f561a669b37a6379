/**
 * scripts/check-size.mjs on tiny trees built in a temporary folder: a tree within the limit passes, a file one
 * line over it fails naming the file and its line count, and the repository's own src/ passes (the limit CI
 * holds it to).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../scripts/check-size.mjs', import.meta.url));

/** Writes `files` (path under src/ -> contents) into a fresh folder, runs the script on it, cleans up. */
function check(files: Record<string, string>, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'check-size-'));
  try {
    for (const [path, text] of Object.entries(files)) {
      const full = join(dir, 'src', path);
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, text);
    }
    const r = spawnSync(process.execPath, [SCRIPT, 'src', ...args], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const lines = (n: number) => 'export const x = 1;\n'.repeat(n);

test('a tree within the limit passes and names its largest file', () => {
  const r = check({ 'mptcp/a.ts': lines(900), 'wire/b.ts': lines(3), 'notes.md': lines(2000) });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /2 files, none over 900 lines \(largest mptcp\/a\.ts, 900\)/);
});

test('a file one line over fails, naming it and its lines; a last line without a newline counts', () => {
  const r = check({ 'mptcp/connection.ts': lines(900) + 'export const y = 2;', 'wire/b.ts': lines(3) });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^mptcp\/connection\.ts: 901 lines \(at most 900/m);
  assert.doesNotMatch(r.stderr, /wire\/b\.ts/);
  assert.match(r.stderr, /1 file over 900 lines/);
});

test('--max sets the limit; a bad value is a usage error', () => {
  assert.equal(check({ 'a/b.ts': lines(11) }, '--max', '10').status, 1);
  assert.equal(check({ 'a/b.ts': lines(10) }, '--max', '10').status, 0);
  assert.equal(check({ 'a/b.ts': lines(1) }, '--max', 'ten').status, 2);
});

test("the repository's src/ is within the limit", () => {
  const r = spawnSync(process.execPath, [SCRIPT], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
});
