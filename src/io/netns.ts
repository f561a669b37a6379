/**
 * Test harness for real-kernel topologies: network namespaces holding kernel peers, joined to this process
 * by TUN devices it creates (ARCHITECTURE.md, "Test topologies with real kernels").
 *
 * The recipe: create a namespace, create a TUN device here (the process owns its fd), move the device into
 * the namespace (`ip link set DEV netns NS`: the fd keeps working), give the kernel side an address and
 * bring the link up; then whatever the kernel in the namespace sends through that device is read from the
 * fd, and what is written to the fd arrives in the namespace.
 *
 * Rules this module enforces or follows:
 * - Only the benchmark ranges 198.18.0.0/15 (RFC 2544) and 2001:2::/48 (RFC 5180) are configured inside
 *   namespaces; `addAddress` refuses anything else. IPv6 addresses are added `nodad` so they are usable at
 *   once (no duplicate-address-detection delay to wait out).
 * - Names are unique per process: namespaces `mptcpts-<pid>-<n>-<label>`, devices `mt<pid>x<n>`.
 * - Everything is torn down: `Topology.dispose()` kills spawned processes, closes TUN devices (which deletes
 *   them) and deletes the namespaces; live topologies are also disposed on process exit and on SIGINT,
 *   SIGTERM and SIGHUP. Only a SIGKILL can leave a namespace behind; `removeStaleNamespaces()` cleans those.
 *
 * - Every `ip` command run to completion goes through `runIp` (with `ipChecked`, `linkExists`,
 *   `namespaceExists`): the topologies here, and `mptcp perf`'s set-up of its own TUN devices.
 *
 * This is an io/ module: it runs commands and touches the host. Nothing sans-IO imports it.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { statSync } from 'node:fs';
import { parseCidr } from '../wire/address.js';
import { TunDevice, type Availability, type TunOpenOptions } from './tun.js';

/** Prefix of every namespace this module creates. */
export const NETNS_PREFIX = 'mptcpts-';

/** Outcome of a command run to completion. */
export interface CommandResult {
  /** Exit code, or null when killed by a signal. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** True when the command was killed because it outlived its timeout. */
  readonly timedOut: boolean;
}

/** Options for `Namespace.run`. */
export interface RunOptions {
  /** Kill the command (SIGKILL, whole process group) after this long; default 10 000 ms. */
  readonly timeoutMs?: number;
  /** Written to the command's stdin, which is then closed. */
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** The outcome of one `ip` command run to completion (`runIp`). */
export interface IpResult {
  /** The arguments `ip` ran with (`-n NETNS` first when a namespace was given). */
  readonly args: readonly string[];
  /** Exit status, or null when it did not exit by itself (not started, killed, timed out). */
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Why it did not run or did not finish: code ENOENT when iproute2 is not installed, ETIMEDOUT after 10 s. */
  readonly error: NodeJS.ErrnoException | undefined;
}

/**
 * Runs `ip [-n NETNS] ARGS` synchronously, for at most 10 s: the one place this project runs `ip` to
 * completion (long-running processes inside a namespace are `Namespace.spawn`). Never throws.
 */
export function runIp(args: readonly string[], netns?: string): IpResult {
  const full = netns === undefined ? [...args] : ['-n', netns, ...args];
  const result = spawnSync('ip', full, { encoding: 'utf8', timeout: 10_000 });
  return { args: full, status: result.status, signal: result.signal, stdout: result.stdout ?? '', stderr: result.stderr ?? '', error: result.error };
}

/** Runs `ip [-n NETNS] ARGS` that must succeed and returns its stdout; throws with its stderr when it fails. */
export function ipChecked(args: readonly string[], netns?: string): string {
  const result = runIp(args, netns);
  if (result.error) throw new Error(`ip ${result.args.join(' ')}: ${result.error.message}`);
  if (result.status !== 0) {
    const why = (result.stderr || result.stdout).trim() || `exit ${result.status ?? result.signal}`;
    throw new Error(`ip ${result.args.join(' ')}: ${why}`);
  }
  return result.stdout;
}

/** Whether a network namespace of that name exists (`ip netns add` made /run/netns/NAME). */
export function namespaceExists(name: string): boolean {
  try {
    statSync(`/run/netns/${name}`);
    return true;
  } catch {
    return false;
  }
}

/** Whether an interface named `device` exists in this process's namespace, or in namespace `netns`. */
export function linkExists(device: string, netns?: string): boolean {
  return runIp(['link', 'show', 'dev', device], netns).status === 0;
}

/** Whether `address` (4 or 16 bytes) lies in 198.18.0.0/15 or 2001:2::/48, the ranges tests may use. */
export function isTestAddress(address: Uint8Array): boolean {
  if (address.length === 4) return address[0] === 198 && (address[1] === 18 || address[1] === 19);
  if (address.length === 16) {
    return (
      address[0] === 0x20 &&
      address[1] === 0x01 &&
      address[2] === 0x00 &&
      address[3] === 0x02 &&
      address[4] === 0x00 &&
      address[5] === 0x00
    );
  }
  return false;
}

/** Kills a process group started with `detached: true`, ignoring ones already gone. */
function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** One network namespace of a topology. Created by `Topology.addNamespace`. */
export class Namespace {
  readonly #topology: Topology;

  /** @internal use Topology.addNamespace */
  constructor(
    topology: Topology,
    /** The namespace name, as `ip netns list` shows it. */
    readonly name: string,
  ) {
    this.#topology = topology;
  }

  /** Runs `ip -n <ns> ...args` synchronously and returns its stdout; throws with stderr on failure. */
  ip(...args: string[]): string {
    return ipChecked(args, this.name);
  }

  /**
   * Adds an address to a device inside the namespace, e.g. `addAddress('mt1x0', '198.18.0.1/24')`. Only
   * 198.18.0.0/15 and 2001:2::/48 are accepted; IPv6 addresses are added with `nodad`.
   */
  addAddress(device: string, cidr: string): void {
    const parsed = parseCidr(cidr);
    if (!parsed) throw new Error(`not an address/prefix: ${cidr}`);
    if (!isTestAddress(parsed.address)) {
      throw new Error(`${cidr} is outside 198.18.0.0/15 and 2001:2::/48, the only ranges tests may configure`);
    }
    if (parsed.address.length === 16) this.ip('-6', 'addr', 'add', cidr, 'dev', device, 'nodad');
    else this.ip('addr', 'add', cidr, 'dev', device);
  }

  /** Brings a device up. */
  linkUp(device: string): void {
    this.ip('link', 'set', device, 'up');
  }

  /** Sets a sysctl inside the namespace, e.g. `setSysctl('net.mptcp.enabled', 1)`. */
  setSysctl(key: string, value: string | number): void {
    ipChecked(['netns', 'exec', this.name, 'sysctl', '-q', '-w', `${key}=${value}`]);
  }

  /** Reads a sysctl inside the namespace. */
  getSysctl(key: string): string {
    return ipChecked(['netns', 'exec', this.name, 'sysctl', '-n', key]).trim();
  }

  /** Runs a command synchronously inside the namespace; throws with stderr on failure. */
  execSync(command: string, args: readonly string[] = []): string {
    return ipChecked(['netns', 'exec', this.name, command, ...args]);
  }

  /**
   * Runs a command inside the namespace to completion without blocking the event loop (so this process
   * can answer the command's packets meanwhile). Never rejects for a non-zero exit: inspect the result.
   * Bounded by `timeoutMs`; the process is also killed if the topology is disposed first.
   */
  run(command: string, args: readonly string[] = [], options: RunOptions = {}): Promise<CommandResult> {
    const child = this.spawn(command, args, {
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      ...(options.env ? { env: options.env } : {}),
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    if (options.input !== undefined) child.stdin?.end(options.input);
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, options.timeoutMs ?? 10_000);
    return new Promise((resolve) => {
      child.on('error', (error) => {
        stderr += `${error.message}\n`;
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr, timedOut });
      });
    });
  }

  /**
   * Starts a long-running process inside the namespace (its own process group), killed by `dispose()`.
   * The caller owns its stdio and its lifetime before that.
   */
  spawn(command: string, args: readonly string[] = [], options: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.name, command, ...args], { ...options, detached: true });
    this.#topology.track(child);
    return child;
  }
}

let namespaceSequence = 0;
let deviceSequence = 0;
const live = new Set<Topology>();
let hooksInstalled = false;

function disposeAllQuietly(): void {
  for (const topology of [...live]) {
    try {
      topology.dispose();
    } catch {
      // best effort at exit: keep going
    }
  }
}

/** On exit and on termination signals, tear down every live topology (once hooks are installed). */
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', disposeAllQuietly);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      disposeAllQuietly();
      process.off(signal, onSignal);
      // If nobody else handles the signal, die of it as we would have without this hook.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/**
 * A set of namespaces, TUN devices and processes that live and die together. Create with
 * `Topology.create()`, always `dispose()` (it is also done on process exit).
 */
export class Topology {
  readonly #namespaces: Namespace[] = [];
  readonly #devices: TunDevice[] = [];
  readonly #children = new Set<ChildProcess>();
  #disposed = false;

  private constructor() {}

  /** Starts an empty topology and registers it for teardown at exit. */
  static create(): Topology {
    installExitHooks();
    const topology = new Topology();
    live.add(topology);
    return topology;
  }

  /** True once `dispose()` ran. */
  get disposed(): boolean {
    return this.#disposed;
  }

  /** Creates a namespace named `mptcpts-<pid>-<n>-<label>`, with its loopback up. */
  addNamespace(label = 'ns'): Namespace {
    this.#checkLive();
    const safeLabel = label.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 32);
    const name = `${NETNS_PREFIX}${process.pid}-${namespaceSequence++}-${safeLabel}`;
    ipChecked(['netns', 'add', name]);
    const namespace = new Namespace(this, name);
    this.#namespaces.push(namespace);
    namespace.linkUp('lo');
    return namespace;
  }

  /**
   * Creates a TUN device owned by this process, named `mt<pid>x<n>` unless `name` is given, and reading
   * into `options.onPackets`. It stays in this process's namespace until `moveToNamespace`.
   */
  createTun(options: TunOpenOptions & { readonly name?: string } = {}): TunDevice {
    this.#checkLive();
    const name = options.name ?? `mt${process.pid}x${deviceSequence++}`;
    const device = TunDevice.open(name, options);
    this.#devices.push(device);
    return device;
  }

  /** Moves a device (by object or name) into a namespace; this process keeps the TUN fd. */
  moveToNamespace(device: TunDevice | string, namespace: Namespace): void {
    const name = typeof device === 'string' ? device : device.name;
    ipChecked(['link', 'set', name, 'netns', namespace.name]);
  }

  /** @internal Registers a process for killing at dispose (Namespace.spawn does this). */
  track(child: ChildProcess): void {
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
  }

  /**
   * Tears everything down, in order: kill processes (SIGKILL to each process group), close TUN devices
   * (deleting them), delete namespaces. Synchronous and idempotent; every step is attempted even if an
   * earlier one failed, and then the failures are thrown together.
   */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    live.delete(this);
    const failures: unknown[] = [];
    for (const child of this.#children) killGroup(child);
    this.#children.clear();
    for (const device of this.#devices) {
      try {
        device.close();
      } catch (error) {
        failures.push(error);
      }
    }
    this.#devices.length = 0;
    for (const namespace of this.#namespaces) {
      const result = runIp(['netns', 'del', namespace.name]);
      if (result.status !== 0 && !/No such file/.test(result.stderr)) {
        failures.push(new Error(`ip netns del ${namespace.name}: ${result.stderr.trim() || result.error?.message}`));
      }
    }
    this.#namespaces.length = 0;
    if (failures.length > 0) throw new AggregateError(failures, 'topology teardown failed');
  }

  #checkLive(): void {
    if (this.#disposed) throw new Error('topology already disposed');
  }
}

let cachedAvailability: Availability | undefined;

/**
 * Whether real-kernel topologies can be built here: Linux, root, `ip` present, /dev/net/tun present, and a
 * namespace can actually be created (probed once by creating and deleting one). The reason is worded for
 * node:test's `{ skip: reason }`. TUN devices additionally need the addon: check `tunAvailable()` too.
 */
export function rootNetnsAvailable(): Availability {
  cachedAvailability ??= probeRootNetns();
  return cachedAvailability;
}

function probeRootNetns(): Availability {
  if (process.platform !== 'linux') return { ok: false, reason: `network namespaces are Linux-only (this is ${process.platform})` };
  const uid = process.getuid?.();
  if (uid !== 0) return { ok: false, reason: `network namespaces need root (running as uid ${uid})` };
  const version = runIp(['-V']);
  if (version.error) return { ok: false, reason: 'the ip command (iproute2) is not installed' };
  try {
    if (!statSync('/dev/net/tun').isCharacterDevice()) return { ok: false, reason: '/dev/net/tun is not a character device' };
  } catch {
    return { ok: false, reason: '/dev/net/tun is missing' };
  }
  const probe = `${NETNS_PREFIX}${process.pid}-probe`;
  const add = runIp(['netns', 'add', probe]);
  if (add.status !== 0) {
    return { ok: false, reason: `cannot create a network namespace: ${add.stderr.trim() || add.error?.message}` };
  }
  const del = runIp(['netns', 'del', probe]);
  if (del.status !== 0) return { ok: false, reason: `cannot delete a network namespace: ${del.stderr.trim()}` };
  return { ok: true };
}

/** Names of this module's namespaces currently present (any process). */
export function listTestNamespaces(): string[] {
  const result = runIp(['netns', 'list']);
  if (result.status !== 0) return [];
  return result.stdout
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(NETNS_PREFIX));
}

/**
 * Deletes namespaces left behind by processes of this module that died without cleaning up (SIGKILL).
 * Only call it when no other PID namespace runs these tests on the same host: liveness is judged by pid.
 * Returns the names deleted.
 */
export function removeStaleNamespaces(): string[] {
  const removed: string[] = [];
  for (const name of listTestNamespaces()) {
    const pid = Number(/^mptcpts-(\d+)-/.exec(name)?.[1]);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
      continue; // alive
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') continue;
    }
    if (runIp(['netns', 'del', name]).status === 0) removed.push(name);
  }
  return removed;
}
