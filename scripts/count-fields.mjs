#!/usr/bin/env node
// Counts the instance fields of every class in the sources (issue 8: "no class with more than about 20
// fields"): each class over MAX is one line on stderr, largest first, and the exit status is 1.
//
//   node scripts/count-fields.mjs [ROOT] [--max N] [--all]   ROOT defaults to src/, N to 20; --all lists every class
//
// A field is a property declared in the class body (`name: T`, `name = v`, with any modifiers but `static`)
// or a constructor parameter property (`private readonly name: T`). Methods, accessors, index signatures and
// static members are not counted. It reads the text (comments and strings masked by check-imports' `mask`),
// not the TypeScript syntax tree: a rough count, right for this code base's prettier-formatted sources.
// Node built-ins only, like the other checks.
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mask, sourceRoot, walk } from './check-imports.mjs';

/** The most fields a class should have. */
export const MAX_FIELDS = 20;

const MODIFIERS = new Set(['public', 'private', 'protected', 'readonly', 'declare', 'override', 'abstract', 'accessor']);
const PARAMETER_PROPERTY = /^\s*(?:public|private|protected|readonly)\b/;

/** The index of the bracket closing the one at `open` in masked text (or the text's length). */
function closing(text, open) {
  const pairs = { '{': '}', '(': ')', '[': ']' };
  const stack = [];
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c in pairs) stack.push(pairs[c]);
    else if (c === stack[stack.length - 1]) {
      stack.pop();
      if (stack.length === 0) return i;
    }
  }
  return text.length;
}

/** The field a member starting at `text` declares, or undefined for a method, accessor or static member. */
function memberField(text) {
  const words = text.match(/^\s*((?:[A-Za-z_$][\w$]*\s+)*)(#?[A-Za-z_$][\w$]*)\s*[?!]?\s*([:=;]|$)/);
  if (words === null) return undefined;
  const modifiers = words[1].split(/\s+/).filter((w) => w !== '');
  if (modifiers.some((w) => !MODIFIERS.has(w))) return undefined; // static, get, set, async ...
  if (words[3] === '' && !/^\s*$/.test(text.slice(words[0].length))) return undefined;
  return words[2];
}

/** Every class of a source text: its name, the line it starts on and its fields' names. */
export function classFields(src) {
  const text = mask(src);
  const out = [];
  const classRe = /(?<![\w$.])class\b(?:\s+([A-Za-z_$][\w$]*))?/g;
  for (let m = classRe.exec(text); m !== null; m = classRe.exec(text)) {
    const open = bodyStart(text, m.index + m[0].length);
    if (open < 0) continue;
    const close = closing(text, open);
    const fields = [];
    // Members start after the body's `{`, or after a `;` or `}` at the body's level.
    let i = open + 1;
    while (i < close) {
      const c = text[i];
      if (c === '{' || c === '(' || c === '[') {
        i = closing(text, i) + 1;
        if (c === '{') i = startOfMember(text, i, close, fields);
        continue;
      }
      if (c === ';') {
        i = startOfMember(text, i + 1, close, fields);
        continue;
      }
      i++;
    }
    startOfMember(text, open + 1, close, fields);
    // Constructor parameter properties.
    const ctor = /(?<![\w$.])constructor\s*\(/g;
    ctor.lastIndex = open;
    const cm = ctor.exec(text);
    if (cm !== null && cm.index < close && depthAt(text, open, cm.index) === 1) {
      const po = cm.index + cm[0].length - 1;
      const params = splitTopLevel(text.slice(po + 1, closing(text, po)));
      for (const p of params) {
        if (PARAMETER_PROPERTY.test(p)) fields.push(p.replace(/^\s*(?:(?:public|private|protected|readonly)\s+)+/, '').match(/^[\w$]+/)?.[0] ?? '?');
      }
    }
    const line = src.slice(0, m.index).split('\n').length;
    out.push({ name: m[1] ?? '(anonymous)', line, fields: [...new Set(fields)] });
    // Nested classes are found by the regex on its own (it does not skip the body).
  }
  return out;
}

/**
 * The `{` opening the body of the class whose heading continues at `from` (past type parameters, `extends`
 * and `implements`, whose type arguments may hold braces), or -1 if it is not a class heading after all.
 */
function bodyStart(text, from) {
  let depth = 0;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === '<' || c === '(' || c === '[') depth++;
    else if ((c === '>' && text[i - 1] !== '=') || c === ')' || c === ']') depth--;
    else if (c === '{') {
      if (depth === 0) return i;
      i = closing(text, i);
    } else if ((c === ';' || c === '}') && depth === 0) return -1;
  }
  return -1;
}

/** Records the field of the member starting at `from` (if it is one); returns `from`. */
function startOfMember(text, from, close, fields) {
  const end = Math.min(close, from + 300);
  const name = memberField(text.slice(from, end).replace(/^[\s;]*/, ''));
  if (name !== undefined && name !== 'constructor') fields.push(name);
  return from;
}

/** Bracket depth at `at` counted from the `{` at `open` (1: directly in that body). */
function depthAt(text, open, at) {
  let depth = 0;
  for (let i = open; i < at; i++) {
    const c = text[i];
    if (c === '{' || c === '(' || c === '[') depth++;
    else if (c === '}' || c === ')' || c === ']') depth--;
  }
  return depth;
}

/** `a, b(c, d), e` split at top-level commas. */
function splitTopLevel(s) {
  const parts = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '{' || c === '(' || c === '[' || c === '<') depth++;
    else if (c === '}' || c === ')' || c === ']' || (c === '>' && s[i - 1] !== '=')) depth--;
    else if (c === ',' && depth === 0) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts.filter((p) => p.trim() !== '');
}

/** Every class under `root`: { file (relative to root), name, line, fields }, most fields first. */
export function countFields(root) {
  const rows = [];
  for (const path of walk(root)) {
    for (const c of classFields(readFileSync(path, 'utf8'))) rows.push({ file: relative(root, path), ...c });
  }
  rows.sort((a, b) => b.fields.length - a.fields.length || a.file.localeCompare(b.file) || a.line - b.line);
  return rows;
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const args = process.argv.slice(2);
  let max = MAX_FIELDS;
  let all = false;
  const rest = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--max') {
      max = Number(args[++i]);
      if (!Number.isInteger(max) || max < 1) {
        console.error(`count-fields: --max needs a whole number of fields, got ${JSON.stringify(args[i])}`);
        process.exit(2);
      }
    } else if (args[i] === '--all') all = true;
    else rest.push(args[i]);
  }
  if (rest.length > 1 || rest.some((a) => a.startsWith('-'))) {
    console.error('usage: node scripts/count-fields.mjs [ROOT] [--max N] [--all]   (ROOT: the source folder, default src/; N default 20)');
    process.exit(2);
  }
  const rows = countFields(sourceRoot('count-fields', rest[0]));
  if (all) for (const r of rows) console.log(`${String(r.fields.length).padStart(3)}  ${r.file}:${r.line} ${r.name}`);
  const over = rows.filter((r) => r.fields.length > max);
  for (const r of over) console.error(`${r.file}:${r.line}: class ${r.name} has ${r.fields.length} fields (at most ${max}: split it into parts)`);
  if (over.length > 0) {
    console.error(`count-fields: ${over.length} class${over.length === 1 ? '' : 'es'} over ${max} fields (of ${rows.length})`);
    process.exit(1);
  }
  console.log(`count-fields: ${rows.length} classes, none over ${max} fields (most: ${rows[0]?.name ?? '-'}, ${rows[0]?.fields.length ?? 0})`);
}
