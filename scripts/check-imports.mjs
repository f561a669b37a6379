#!/usr/bin/env node
// Checks the import graph of the sources: no import cycle, and no import that runs up the layer order.
//
//   node scripts/check-imports.mjs [ROOT]      ROOT defaults to src/ beside this script's folder
//
// Every ROOT/**/*.ts is read; its relative imports are resolved to files (static imports and re-exports,
// `import type` included, side-effect imports, dynamic `import('...')` and `typeof import('...')` types).
// Imports of packages and node: built-ins are not followed. Comments, strings, template literals and
// regular expressions are masked first, so an import written in a doc comment or a string does not count.
//
// A file's layer is its first folder under ROOT (a file directly in ROOT, such as index.ts, is layer
// "index"). A file may import files of its own layer or of a layer below it; LAYERS is the order. Each
// problem is one line on stderr; the exit status is 1 if there is any, 2 for bad usage, 0 otherwise.
//
// Node built-ins only (it runs before anything is installed, and on fixture trees in tests).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The layer order, top to bottom: a layer may import itself and anything after it. Layers on one line are
 * at the same level (they may import each other; the cycle check still applies to files).
 *   cli        the `mptcp` command: thin, parses words and calls the library
 *   perf       iperf3-compatible measurement over any transport
 *   proxy      `mptcp proxy`: SOCKS5 / HTTP proxying and port forwarding over a public Stack (api)
 *   api, index the package's front door (src/index.ts) and the Node-facing sockets and stacks
 *   io         real-time drivers: UDP, TUN, netns topologies (the last layer that touches the real world:
 *              everything below it is sans-IO)
 *   report     `mptcp report`: captures and runs' JSON to one HTML page of plots (sans-IO; above harness
 *              because it reads the demo's result type, above capture because it draws from its summaries)
 *   harness    emulator harnesses and the demo's run (used by cli, api's emulated network and tests)
 *   capture    capture decoding and per-connection summaries (used by cli; below harness so a scenario can
 *              summarise its own capture); it sits on mptcp, not just on wire, because it derives tokens
 *              and IDSNs from keys with mptcp/keys.ts
 *   emu        the virtual-clock emulator (links, events, PRNG; it imports only wire and time, and stays
 *              above stack so that protocol code can never import the test network)
 *   stack      a host: interfaces, routing, demultiplexing
 *   mptcp      the MPTCP connection layer
 *   pm, sched  path managers and packet schedulers
 *   tcp        one TCP connection (a subflow); it owns its congestion controller, hence above cc
 *   cc         congestion controllers
 *   wire       pure codecs
 *   time       Micros and the generic timer table
 */
export const LAYERS = [['cli'], ['perf'], ['proxy'], ['api', 'index'], ['io'], ['report'], ['harness'], ['capture'], ['emu'], ['stack'], ['mptcp'], ['pm', 'sched'], ['tcp'], ['cc'], ['wire'], ['time']];

const RANK = new Map(LAYERS.flatMap((names, rank) => names.map((name) => [name, rank])));
const ORDER_TEXT = LAYERS.map((names) => names.join('/')).join(' > ');

/** Every .ts file (not .d.ts) under `dir`, sorted by path (check-size.mjs walks the same files). */
export function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...walk(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

const REGEX_BEFORE = new Set(['(', ',', '=', ':', '[', '!', '&', '|', '?', '{', '}', ';', '+', '-', '*', '%', '<', '>', '~', '^']);
const REGEX_AFTER_WORD = new Set(['return', 'typeof', 'case', 'do', 'else', 'in', 'of', 'new', 'delete', 'void', 'throw', 'instanceof', 'yield', 'await']);

/**
 * The source with comments, string contents, template literal text and regular expressions replaced by
 * spaces (newlines kept, so offsets and line numbers stay). String quotes are kept: import specifiers are
 * read from the original text at the same offsets.
 */
export function mask(src) {
  const out = src.split('');
  const blank = (from, to) => {
    for (let k = from; k < to; k++) if (out[k] !== '\n') out[k] = ' ';
  };
  const braces = []; // for each open `${`: the brace depth inside it
  let depth = 0;
  let i = 0;
  let lastSignificant = ''; // the last code character, or the last word
  const n = src.length;
  const template = () => {
    // At the character after a backtick (or after the `}` closing a substitution): up to the closing
    // backtick, or into a `${` substitution.
    const start = i;
    while (i < n) {
      const c = src[i];
      if (c === '\\') {
        i += 2;
        continue;
      }
      if (c === '`') {
        blank(start, i);
        i++;
        lastSignificant = ')';
        return;
      }
      if (c === '$' && src[i + 1] === '{') {
        blank(start, i);
        i += 2;
        braces.push(depth);
        depth = 0;
        lastSignificant = '{';
        return;
      }
      i++;
    }
    blank(start, n);
  };
  while (i < n) {
    const c = src[i];
    const next = src[i + 1];
    if (c === '/' && next === '/') {
      const end = src.indexOf('\n', i);
      const stop = end < 0 ? n : end;
      blank(i, stop);
      i = stop;
      continue;
    }
    if (c === '/' && next === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end < 0 ? n : end + 2;
      blank(i, stop);
      i = stop;
      continue;
    }
    if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < n && src[j] !== c && src[j] !== '\n') j += src[j] === '\\' ? 2 : 1;
      blank(i + 1, Math.min(j, n));
      i = j + 1;
      lastSignificant = ')';
      continue;
    }
    if (c === '`') {
      i++;
      template();
      continue;
    }
    if (c === '/' && (lastSignificant === '' || REGEX_BEFORE.has(lastSignificant) || REGEX_AFTER_WORD.has(lastSignificant))) {
      let j = i + 1;
      let inClass = false;
      while (j < n && src[j] !== '\n') {
        const d = src[j];
        if (d === '\\') {
          j += 2;
          continue;
        }
        if (d === '[') inClass = true;
        else if (d === ']') inClass = false;
        else if (d === '/' && !inClass) break;
        j++;
      }
      blank(i, Math.min(j + 1, n));
      i = j + 1;
      while (i < n && /[a-z]/i.test(src[i])) i++;
      lastSignificant = ')';
      continue;
    }
    if (c === '{') depth++;
    if (c === '}') {
      if (depth === 0 && braces.length > 0) {
        depth = braces.pop();
        i++;
        template();
        continue;
      }
      depth--;
    }
    if (/[A-Za-z_$]/.test(c)) {
      let j = i;
      while (j < n && /[\w$]/.test(src[j])) j++;
      lastSignificant = src.slice(i, j);
      i = j;
      continue;
    }
    if (!/\s/.test(c)) lastSignificant = c;
    i++;
  }
  return out.join('');
}

// In masked text: the quote that opens each import's specifier.
const PATTERNS = [
  /(?<![\w$.])import\s+(?:type\s+)?[^'"`;()]*?\bfrom\s*(['"])/g, // import x from '...', import type { X } from '...'
  /(?<![\w$.])import\s*(['"])/g, // import '...'
  /(?<![\w$.])export\s+(?:type\s+)?(?:\*(?:\s+as\s+[\w$]+)?|\{[^}]*\})\s*from\s*(['"])/g, // export ... from '...'
  /(?<![\w$.])import\s*\(\s*(['"])/g, // import('...'), typeof import('...')
];

/** Every import of a source text: the specifier, and the line it is on. */
export function findImports(src) {
  const masked = mask(src);
  const found = new Map();
  for (const pattern of PATTERNS) {
    pattern.lastIndex = 0;
    for (let m = pattern.exec(masked); m; m = pattern.exec(masked)) {
      const open = m.index + m[0].length - 1;
      const close = src.indexOf(src[open], open + 1);
      if (close < 0) continue;
      found.set(open, { specifier: src.slice(open + 1, close), line: src.slice(0, open).split('\n').length });
    }
  }
  return [...found.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
}

/** The file a relative specifier names (NodeNext: './x.js' is x.ts), or undefined. */
function resolveImport(fromFile, specifier, files) {
  const base = resolve(dirname(fromFile), specifier);
  const candidates = [base.replace(/\.(m|c)?js$/, '.$1ts').replace(/\.\.ts$/, '.ts'), base, `${base}.ts`, join(base, 'index.ts')];
  return candidates.find((c) => files.has(c));
}

function layerOf(root, file) {
  const parts = relative(root, file).split(sep);
  return parts.length === 1 ? parts[0].replace(/\.ts$/, '') : parts[0];
}

/** Strongly connected components with more than one file (or a file importing itself), Tarjan's. */
function cycles(graph) {
  let index = 0;
  const indices = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const out = [];
  const visit = (v) => {
    indices.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!indices.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), indices.get(w)));
    }
    if (low.get(v) === indices.get(v)) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? new Set()).has(v)) out.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!indices.has(v)) visit(v);
  return out;
}

/** One concrete cycle through `start` inside `component` (breadth-first: a shortest one). */
function cycleThrough(graph, component, start) {
  const inside = new Set(component);
  const previous = new Map();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift();
    for (const w of graph.get(v) ?? []) {
      if (!inside.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(previous.get(path[0]));
        return [...path, start];
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

/** Checks the tree under `root`; returns { files, imports, problems } (problems: one line each). */
export function checkImports(root) {
  const absRoot = resolve(root);
  const files = new Set(walk(absRoot));
  const graph = new Map();
  const problems = [];
  let imports = 0;
  const show = (file) => relative(process.cwd(), file) || file;
  for (const file of [...files].sort()) {
    const edges = new Set();
    graph.set(file, edges);
    const layer = layerOf(absRoot, file);
    if (!RANK.has(layer)) problems.push(`${show(file)}: layer "${layer}" is not in the layer order (${ORDER_TEXT}): add it to LAYERS in scripts/check-imports.mjs`);
    for (const { specifier, line } of findImports(readFileSync(file, 'utf8'))) {
      if (!specifier.startsWith('.')) continue;
      imports++;
      const target = resolveImport(file, specifier, files);
      if (!target) {
        problems.push(`${show(file)}:${line}: import '${specifier}' does not resolve to a .ts file under ${show(absRoot)}`);
        continue;
      }
      edges.add(target);
      const to = layerOf(absRoot, target);
      if (RANK.has(layer) && RANK.has(to) && RANK.get(to) < RANK.get(layer)) {
        problems.push(`${show(file)}:${line}: upward import of ${show(target)} (${layer} may not import ${to}; layer order ${ORDER_TEXT})`);
      }
    }
  }
  for (const component of cycles(graph)) {
    const cycle = cycleThrough(graph, component, component[0]);
    const more = component.length > cycle.length - 1 ? ` (one of the cycles among ${component.length} files: ${component.map(show).join(', ')})` : '';
    problems.push(`import cycle: ${cycle.map(show).join(' -> ')}${more}`);
  }
  return { files: files.size, imports, problems };
}

/**
 * The folder a check runs on: `given`, or src/ beside this script's folder. Exits with status 2 (usage) and
 * one line naming `tool` when it is not a folder.
 */
export function sourceRoot(tool, given) {
  const root = given ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'src');
  let exists = false;
  try {
    exists = statSync(root).isDirectory();
  } catch {
    // reported below
  }
  if (!exists) {
    console.error(`${tool}: ${root} is not a folder`);
    process.exit(2);
  }
  return root;
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const args = process.argv.slice(2);
  if (args.length > 1 || args.some((a) => a.startsWith('-'))) {
    console.error('usage: node scripts/check-imports.mjs [ROOT]   (ROOT: the source folder, default src/)');
    process.exit(2);
  }
  const root = sourceRoot('check-imports', args[0]);
  const { files, imports, problems } = checkImports(root);
  for (const p of problems) console.error(p);
  if (problems.length > 0) {
    console.error(`check-imports: ${problems.length} problem${problems.length === 1 ? '' : 's'} in ${files} files (layer order ${ORDER_TEXT})`);
    process.exit(1);
  }
  console.log(`check-imports: ${files} files, ${imports} relative imports: no cycle, nothing imports up the layer order (${ORDER_TEXT})`);
}
