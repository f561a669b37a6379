#!/usr/bin/env node
// Builds the optional TUN addon (native/tun.c -> build/Release/tun.node) with the node-gyp that ships with
// npm. Run by `npm install` / `npm ci` (the package's `install` script) and runnable by hand.
//
// It NEVER fails the install: when something is missing (not Linux, no compiler, no make, no Python, no
// node-gyp, no headers, a compile error) it prints exactly one line
//   TUN addon not built: <reason>; the stack runs emulated and over UDP
// and exits 0. The full node-gyp output of a failed build is kept in build-native.log (gitignored).
//
// Environment:
//   MPTCP_TS_NO_NATIVE=1        skip the build
//   MPTCP_TS_NATIVE_VERBOSE=1   stream node-gyp's output instead of capturing it
//   npm_config_node_gyp         node-gyp to use (npm sets this for lifecycle scripts)
//   npm_config_nodedir          Node headers directory (e.g. /usr, for /usr/include/node)
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const addonPath = join(root, 'build', 'Release', 'tun.node');
const logPath = join(root, 'build-native.log');
const BUILD_TIMEOUT_MS = 5 * 60 * 1000;

function notBuilt(reason) {
  console.log(`TUN addon not built: ${reason}; the stack runs emulated and over UDP`);
  process.exit(0);
}

function isFile(path) {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** First executable named one of `names` on PATH. */
function onPath(...names) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    for (const name of names) {
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        if (statSync(candidate).isFile()) return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** The first word of a command variable such as CC="ccache gcc", if it names something runnable. */
function commandFromEnv(value) {
  const first = value?.trim().split(/\s+/)[0];
  if (!first) return undefined;
  return first.includes('/') ? (isFile(first) ? first : undefined) : onPath(first);
}

/** Directory of the npm package that contains `file`, walking up to a package.json named "npm". */
function npmPackageDir(file) {
  let dir = dirname(file);
  for (let i = 0; i < 6; i++) {
    try {
      if (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name === 'npm') return dir;
    } catch {
      // keep walking
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

/** node-gyp's entry point, as npm provides it. Returns [command, ...prefix args] or undefined. */
function findNodeGyp() {
  const candidates = [];
  // 1. npm tells its lifecycle scripts which node-gyp it bundles.
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  // 2. Next to the npm that is running us (npm_execpath is .../npm/bin/npm-cli.js).
  for (const execPath of [process.env.npm_execpath, process.env.NPM_CLI_JS]) {
    if (!execPath) continue;
    try {
      const npmDir = npmPackageDir(realpathSync(execPath));
      if (npmDir) candidates.push(join(npmDir, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
    } catch {
      // not a path we can resolve
    }
  }
  // 3. The npm installed alongside this node binary, and the npm found on PATH.
  const prefix = dirname(dirname(process.execPath));
  candidates.push(join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  const npmOnPath = onPath('npm');
  if (npmOnPath) {
    try {
      const npmDir = npmPackageDir(realpathSync(npmOnPath));
      if (npmDir) candidates.push(join(npmDir, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
    } catch {
      // ignore
    }
  }
  // 4. A node-gyp resolvable from the project.
  try {
    candidates.push(createRequire(join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed locally
  }
  for (const candidate of candidates) {
    if (isFile(candidate)) {
      return candidate.endsWith('.js') ? [process.execPath, candidate] : [candidate];
    }
  }
  // 5. A node-gyp command on PATH.
  const global = onPath('node-gyp');
  return global ? [global] : undefined;
}

/** A directory holding include/node/node_api.h for this Node, so node-gyp need not download headers. */
function localNodeDir() {
  const configured = process.env.npm_config_nodedir;
  if (configured) return configured;
  const prefix = dirname(dirname(process.execPath));
  return isFile(join(prefix, 'include', 'node', 'node_api.h')) && isFile(join(prefix, 'include', 'node', 'common.gypi'))
    ? prefix
    : undefined;
}

/** The most telling line of a failed node-gyp run. */
function summarize(output) {
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
  const compileError = lines.find((l) => /\berror:/.test(l) && !l.startsWith('gyp'));
  if (compileError) return compileError;
  const pythonError = lines.find((l) => /^[A-Za-z.]*(Error|Exception): /.test(l));
  if (pythonError) return `gyp: ${pythonError}`;
  const gypError = lines.find((l) => /^gyp ERR! (stack )?Error:/.test(l)) ?? lines.find((l) => l.startsWith('gyp ERR!'));
  return gypError ?? lines.at(-1) ?? 'no output';
}

function main() {
  if (process.env.MPTCP_TS_NO_NATIVE === '1') notBuilt('disabled by MPTCP_TS_NO_NATIVE=1');
  if (process.platform !== 'linux') notBuilt(`TUN devices are Linux-only (this is ${process.platform})`);
  if (!existsSync(join(root, 'binding.gyp')) || !existsSync(join(root, 'native', 'tun.c'))) {
    notBuilt('binding.gyp or native/tun.c is missing from the package');
  }
  if (!(commandFromEnv(process.env.CC) ?? onPath('cc', 'gcc', 'clang'))) notBuilt('no C compiler (cc, gcc or clang) on PATH');
  if (!(commandFromEnv(process.env.CXX) ?? onPath('c++', 'g++', 'clang++'))) {
    notBuilt('no C++ compiler driver (c++, g++ or clang++) on PATH; node-gyp links with it');
  }
  if (!onPath('make')) notBuilt('make is not on PATH');
  const python = process.env.npm_config_python ?? process.env.PYTHON;
  if (!(python ? commandFromEnv(python) : onPath('python3', 'python'))) notBuilt('no Python 3 for node-gyp (python3 on PATH)');
  const nodeGyp = findNodeGyp();
  if (!nodeGyp) notBuilt("node-gyp not found (it ships with npm; set npm_config_node_gyp to its bin/node-gyp.js)");

  const args = [...nodeGyp.slice(1), 'rebuild'];
  const nodeDir = localNodeDir();
  if (nodeDir) args.push(`--nodedir=${nodeDir}`);
  const verbose = process.env.MPTCP_TS_NATIVE_VERBOSE === '1';
  const result = spawnSync(nodeGyp[0], args, {
    cwd: root,
    encoding: 'utf8',
    stdio: verbose ? 'inherit' : 'pipe',
    timeout: BUILD_TIMEOUT_MS,
    env: { ...process.env },
  });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (result.error || result.status !== 0) {
    try {
      writeFileSync(logPath, `$ ${[nodeGyp[0], ...args].join(' ')}\n${output}`);
    } catch {
      // the log is a courtesy
    }
    const why = result.error
      ? result.error.code === 'ETIMEDOUT'
        ? `node-gyp timed out after ${BUILD_TIMEOUT_MS / 1000} s`
        : `node-gyp could not run (${result.error.message})`
      : `node-gyp rebuild failed: ${summarize(output)}${verbose ? '' : ' (full output in build-native.log)'}`;
    notBuilt(why);
  }
  if (!isFile(addonPath)) notBuilt(`node-gyp succeeded but ${addonPath} is missing`);
  try {
    const addon = createRequire(import.meta.url)(addonPath);
    if (typeof addon.Tun !== 'function') notBuilt('the built addon does not export Tun');
  } catch (error) {
    notBuilt(`the built addon does not load (${error instanceof Error ? error.message : String(error)})`);
  }
  console.log(`TUN addon built: ${addonPath}`);
}

try {
  main();
} catch (error) {
  // Whatever happens, the install goes on.
  notBuilt(`unexpected error (${error instanceof Error ? error.message : String(error)})`);
}
