/**
 * The structure guard (issue 8): every golden output (runs.ts) is byte-identical to the one recorded in
 * golden.json. A failure means behaviour changed; a pure move of code must never cause one. To see what
 * differs: `npm run golden -- --out /tmp/new` here and in the tree the goldens came from, then compare the
 * files (`mptcp decode --json` on the pcaps).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { goldenOutputs, sha256Hex } from './runs.js';

const golden = JSON.parse(readFileSync(new URL('./golden.json', import.meta.url), 'utf8')) as Record<string, { sha256: string; bytes: number }>;

test('golden outputs (demo text and JSON, scenario captures and counters) are byte-identical to golden.json', async () => {
  const outputs = await goldenOutputs();
  assert.deepEqual(outputs.map((o) => o.name).sort(), Object.keys(golden).sort(), 'the same set of outputs');
  const differing = outputs.filter((o) => golden[o.name]!.sha256 !== sha256Hex(o.bytes)).map((o) => `${o.name} (${o.bytes.length} bytes, golden ${golden[o.name]!.bytes})`);
  console.log(`# golden: ${outputs.length} outputs, ${outputs.reduce((n, o) => n + o.bytes.length, 0)} bytes in all, ${differing.length} differ`);
  assert.deepEqual(differing, [], 'outputs that differ from golden.json');
});
