#!/usr/bin/env node
// Checks that no source file grows past a size a reader can hold (issue 8: "no file in src/ longer than
// about 900 lines"): every ROOT/**/*.ts with more than MAX lines is one line on stderr, and the exit status is 1.
//
//   node scripts/check-size.mjs [ROOT] [--max N]   ROOT defaults to src/ beside this script's folder, N to 900
//
// Lines are counted as `wc -l` counts them (newline characters; a last line without one counts too).
// Node built-ins only (it runs with check-imports, whose file walk it shares, before anything is installed, and
// on fixture trees in tests).
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sourceRoot, walk } from './check-imports.mjs';

/** The most lines a file of src/ may have. */
export const MAX_LINES = 900;

/** Lines of `text` as `wc -l` would count them, plus a last line without a newline. */
export function lineCount(text) {
  if (text.length === 0) return 0;
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return text.endsWith('\n') ? n : n + 1;
}

/** Every .ts file under `root` with more than `max` lines: { file (relative to root), lines }, largest first. */
export function checkSizes(root, max = MAX_LINES) {
  const files = walk(root);
  const over = [];
  let largest = { file: '', lines: 0 };
  for (const path of files) {
    const lines = lineCount(readFileSync(path, 'utf8'));
    const file = relative(root, path);
    if (lines > largest.lines) largest = { file, lines };
    if (lines > max) over.push({ file, lines });
  }
  over.sort((a, b) => b.lines - a.lines || a.file.localeCompare(b.file));
  return { files: files.length, largest, over };
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const args = process.argv.slice(2);
  let max = MAX_LINES;
  const rest = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--max') {
      max = Number(args[++i]);
      if (!Number.isInteger(max) || max < 1) {
        console.error(`check-size: --max needs a whole number of lines, got ${JSON.stringify(args[i])}`);
        process.exit(2);
      }
    } else rest.push(args[i]);
  }
  if (rest.length > 1 || rest.some((a) => a.startsWith('-'))) {
    console.error('usage: node scripts/check-size.mjs [ROOT] [--max N]   (ROOT: the source folder, default src/; N default 900)');
    process.exit(2);
  }
  const root = sourceRoot('check-size', rest[0]);
  const { files, largest, over } = checkSizes(root, max);
  for (const o of over) console.error(`${o.file}: ${o.lines} lines (at most ${max}: split it along its concerns)`);
  if (over.length > 0) {
    console.error(`check-size: ${over.length} file${over.length === 1 ? '' : 's'} over ${max} lines`);
    process.exit(1);
  }
  console.log(`check-size: ${files} files, none over ${max} lines (largest ${largest.file}, ${largest.lines})`);
}
