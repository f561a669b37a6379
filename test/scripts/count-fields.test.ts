/**
 * scripts/count-fields.mjs: what counts as a field (declared properties with any modifier but static, and
 * constructor parameter properties) and what does not (methods, accessors, statics, optional methods, members
 * of nested object literals and of method bodies, words in comments and strings), the exit status over the
 * limit, and the emulator's Link within the limit on the repository's own src/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
// @ts-expect-error: a plain .mjs script without type declarations
import { classFields, countFields, MAX_FIELDS } from '../../scripts/count-fields.mjs';

const SCRIPT = fileURLToPath(new URL('../../scripts/count-fields.mjs', import.meta.url));
const SRC = fileURLToPath(new URL('../../src', import.meta.url));

type Row = { name: string; line: number; fields: string[]; file?: string };

const SAMPLE = `
// class Commented { a = 1; }
export class Sample<T extends { x: number }> extends Base implements Thing {
  readonly name: string;
  private count = 0;
  #secret = 'class Fake { b = 2; }';
  protected table: Map<string, { inner: number }> = new Map();
  declare tagged?: T;
  handler = (x: number): number => {
    const local = x;
    return local;
  };
  counters = {
    sent: 0,
    received: 0,
  };
  static created = 0;
  private static readonly LIMIT = 3;
  optional?(): void;

  constructor(
    private readonly sim: object,
    public port: number,
    plain: string,
  ) {
    super();
    this.name = plain;
  }

  get size(): number {
    return this.count;
  }

  set size(v: number) {
    this.count = v;
  }

  async run(): Promise<void> {
    const o = { notAField: 1 };
    class Inner {
      innerField = 1;
    }
  }
}
`;

test('fields, parameter properties, and nothing else', () => {
  const rows = classFields(SAMPLE) as Row[];
  const sample = rows.find((r) => r.name === 'Sample');
  assert.ok(sample, JSON.stringify(rows));
  assert.deepEqual([...sample.fields].sort(), ['#secret', 'counters', 'count', 'handler', 'name', 'port', 'sim', 'table', 'tagged'].sort());
  assert.equal(sample.line, 3);
  const inner = rows.find((r) => r.name === 'Inner');
  assert.deepEqual(inner?.fields, ['innerField']);
  assert.equal(rows.some((r) => r.name === 'Commented' || r.name === 'Fake'), false);
});

/** Writes `files` under a fresh src/, runs the script with `args`, cleans up. */
function run(files: Record<string, string>, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'count-fields-'));
  try {
    mkdirSync(join(dir, 'src'));
    for (const [path, text] of Object.entries(files)) writeFileSync(join(dir, 'src', path), text);
    const r = spawnSync(process.execPath, [SCRIPT, 'src', ...args], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function classWith(n: number): string {
  return `export class Wide {\n${Array.from({ length: n }, (_, i) => `  f${i} = ${i};\n`).join('')}}\n`;
}

test('a class over --max fails naming it; at the limit it passes', () => {
  const at = run({ 'a.ts': classWith(5) }, '--max', '5');
  assert.equal(at.status, 0, at.stderr);
  assert.match(at.stdout, /1 classes, none over 5 fields \(most: Wide, 5\)/);
  const over = run({ 'a.ts': classWith(6) }, '--max', '5');
  assert.equal(over.status, 1);
  assert.match(over.stderr, /^a\.ts:1: class Wide has 6 fields \(at most 5/m);
  const usage = run({ 'a.ts': classWith(1) }, '--max', 'x');
  assert.equal(usage.status, 2);
});

test("the emulator's Link and its parts stay within the limit", () => {
  const rows = countFields(SRC) as Row[];
  const link = rows.filter((r) => r.file === join('emu', 'link.ts') && r.name === 'Link');
  assert.equal(link.length, 1);
  assert.ok(link[0]!.fields.length <= MAX_FIELDS, `Link has ${link[0]!.fields.length} fields: ${link[0]!.fields.join(' ')}`);
  for (const r of rows.filter((r) => r.file!.startsWith(join('emu', 'link')))) {
    assert.ok(r.fields.length <= MAX_FIELDS, `${r.name}: ${r.fields.length}`);
  }
});
