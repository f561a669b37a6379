/**
 * `npm run golden`: rewrites test/golden/golden.json from the current tree (see runs.ts). With
 * `--out DIR` it only writes every output into DIR (pcaps, JSON, demo text) and leaves golden.json alone, so
 * two trees can be compared output by output (`mptcp decode DIR/x.pcap` on each, then diff).
 * With `--check` it compares and lists every output that differs (exit 1), like the test.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { goldenOutputs, sha256Hex } from './runs.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const goldenFile = join(here, 'golden.json');
const args = process.argv.slice(2);
const outIndex = args.indexOf('--out');
const outputs = await goldenOutputs();
if (outIndex >= 0) {
  const dir = args[outIndex + 1];
  if (dir === undefined) throw new Error('--out needs a directory');
  mkdirSync(dir, { recursive: true });
  for (const o of outputs) writeFileSync(join(dir, o.name), o.bytes);
  console.log(`wrote ${outputs.length} outputs to ${dir}`);
} else if (args.includes('--check')) {
  const golden = JSON.parse(readFileSync(goldenFile, 'utf8')) as Record<string, { sha256: string; bytes: number }>;
  let bad = 0;
  for (const o of outputs) {
    const g = golden[o.name];
    const ok = g !== undefined && g.sha256 === sha256Hex(o.bytes) && g.bytes === o.bytes.length;
    if (!ok) bad++;
    console.log(`${ok ? 'same   ' : 'DIFFERS'} ${o.name} (${o.bytes.length} bytes${g ? `, golden ${g.bytes}` : ', not in golden.json'})`);
  }
  process.exit(bad === 0 ? 0 : 1);
} else {
  const golden: Record<string, { sha256: string; bytes: number }> = {};
  for (const o of outputs) golden[o.name] = { sha256: sha256Hex(o.bytes), bytes: o.bytes.length };
  writeFileSync(goldenFile, JSON.stringify(golden, null, 2) + '\n');
  console.log(`wrote ${goldenFile}: ${outputs.length} outputs`);
}
