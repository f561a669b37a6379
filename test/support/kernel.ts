/**
 * Real-kernel test topologies: our stack (a StackRuntime) on one side of a TUN device, the Linux kernel in
 * a fresh network namespace on the other. Tests skip with the printed reason where root, namespaces,
 * /dev/net/tun or the addon are missing.
 */
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { PatternSource } from '../../src/harness/bulk.js';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import { rootNetnsAvailable, Topology, type Namespace } from '../../src/io/netns.js';
import { tunAvailable, type TunDevice } from '../../src/io/tun.js';
import { TunPort, tunOffloadRequested } from '../../src/io/tun-offload.js';
import { StackRuntime, type RuntimeOptions } from '../../src/api/runtime.js';
import { parseNstat } from '../../src/mptcp/mib.js';

/** Why kernel tests cannot run here, or false. */
export function kernelSkipReason(): string | false {
  const netns = rootNetnsAvailable();
  if (!netns.ok) return netns.reason;
  const tun = tunAvailable();
  if (!tun.ok) return tun.reason;
  return false;
}

/**
 * Whether kernel tests open their TUN devices with the vnet header and offloads (src/io/tun-offload.ts):
 * yes unless MPTCP_TS_TUN_OFFLOAD=0 (the plain mode, one packet per read and write, checksums in JS).
 */
export function tunOffloadDefault(): boolean {
  return tunOffloadRequested();
}

/** Options of `tunPair` / `tunPaths`. */
export type TunPathOptions = RuntimeOptions & {
  mtu?: number;
  /** TUN offload (IFF_VNET_HDR, GSO/GRO, checksum offload); default `tunOffloadDefault()`. */
  offload?: boolean;
};

/** Path of the Python kernel peer (test/support/kernel_peer.py). */
export const KERNEL_PEER = fileURLToPath(new URL('./kernel_peer.py', import.meta.url));

/** Our stack at `ours` and the kernel at `kernel`, joined by one TUN device moved into the kernel's namespace. */
export interface TunPair {
  readonly topology: Topology;
  readonly namespace: Namespace;
  readonly runtime: StackRuntime;
  readonly tun: TunDevice;
  readonly port: TunPort;
  dispose(): void;
}

/** Builds a TUN pair: our side `oursCidr` (e.g. 198.18.0.2/24), the kernel side `kernelCidr` (one path of tunPaths). */
export function tunPair(oursCidrs: readonly string[], kernelCidrs: readonly string[], options: TunPathOptions = {}): TunPair {
  const paths = tunPaths([{ ours: oursCidrs, kernel: kernelCidrs }], options);
  return { topology: paths.topology, namespace: paths.namespace, runtime: paths.runtime, tun: paths.tuns[0]!, port: paths.ports[0]!, dispose: () => paths.dispose() };
}

/** Several TUN devices between our stack and ONE kernel namespace (one path each). */
export interface TunPaths {
  readonly topology: Topology;
  readonly namespace: Namespace;
  readonly runtime: StackRuntime;
  readonly tuns: readonly TunDevice[];
  /** The driver glue of each device (offload, batching; its counters). */
  readonly ports: readonly TunPort[];
  /** Our interface id of each path. */
  readonly ifaceIds: readonly number[];
  /**
   * Takes path `i` down (every packet in both directions dropped between our stack and its TUN device, as
   * an unplugged cable would; the kernel's interface stays up) or back up.
   */
  setDown(i: number, down: boolean): void;
  /**
   * Rewrites packets of path `i` between our stack and its TUN device: `out` what we send, `in` what the
   * kernel sends us (return undefined to pass a packet unchanged). Undefined removes the rewrite.
   */
  setTransform(i: number, transform: PathTransform | undefined): void;
  dispose(): void;
}

/** A packet rewrite on a TUN path (e.g. a src/emu/middlebox.ts transform with a fixed `now`). */
export interface PathTransform {
  readonly out?: (bytes: Uint8Array) => Uint8Array | undefined;
  readonly in?: (bytes: Uint8Array) => Uint8Array | undefined;
}

/**
 * Builds `paths.length` TUN devices into one kernel namespace: path i has our addresses `paths[i].ours` on
 * our interface i and the kernel's `paths[i].kernel` on its device (e.g. 198.18.1.2/24 and 198.18.1.1/24,
 * then 198.18.2.2/24 and 198.18.2.1/24).
 */
export function tunPaths(
  paths: readonly { readonly ours: readonly string[]; readonly kernel: readonly string[] }[],
  options: TunPathOptions = {},
): TunPaths {
  const topology = Topology.create();
  let runtime: StackRuntime | undefined;
  const offload = options.offload ?? tunOffloadDefault();
  try {
    const namespace = topology.addNamespace('kern');
    const rt = new StackRuntime({ ...options, checksumOffload: options.checksumOffload ?? offload });
    runtime = rt;
    const tuns: TunDevice[] = [];
    const ports: TunPort[] = [];
    const ifaceIds: number[] = [];
    const down: boolean[] = paths.map(() => false);
    const transforms: (PathTransform | undefined)[] = paths.map(() => undefined);
    for (const [i, path] of paths.entries()) {
      let ifaceId = -1;
      const tun = topology.createTun({ offload });
      const port = new TunPort(tun, rt.checksums);
      port.onPackets = (packets) => {
        if (down[i]) return;
        const t = transforms[i]?.in;
        try {
          rt.receive(ifaceId, t === undefined ? packets : packets.map((p) => t(p) ?? p));
        } catch (e) {
          // A bug in the stack: kept for the test's diagnostics (stateOf) rather than lost in the TUN callback.
          (rt as { thrown?: unknown[] }).thrown ??= [];
          (rt as { thrown?: unknown[] }).thrown!.push(e);
          throw e;
        }
      };
      const output = (bytes: Uint8Array): boolean => {
        if (down[i]) return true;
        const t = transforms[i]?.out;
        return port.send(t === undefined ? bytes : (t(bytes) ?? bytes));
      };
      ifaceId = rt.addInterface(tun.name, path.ours, output, options.mtu ?? 1500);
      topology.moveToNamespace(tun, namespace);
      for (const c of path.kernel) namespace.addAddress(tun.name, c);
      if (options.mtu) namespace.ip('link', 'set', tun.name, 'mtu', String(options.mtu));
      // The TUN transmit ring is this link's only buffer: the kernel drops there when our process falls behind
      // its pacing rate. 500 packets (the default) drops under a 1 Gbit/s burst; a veth would not drop at all.
      namespace.ip('link', 'set', tun.name, 'txqueuelen', '10000');
      namespace.linkUp(tun.name);
      tuns.push(tun);
      ports.push(port);
      ifaceIds.push(ifaceId);
    }
    return {
      topology,
      namespace,
      runtime: rt,
      tuns,
      ports,
      ifaceIds,
      setDown(i: number, isDown: boolean) {
        down[i] = isDown;
      },
      setTransform(i: number, transform: PathTransform | undefined) {
        transforms[i] = transform;
      },
      dispose() {
        rt.close();
        topology.dispose();
      },
    };
  } catch (e) {
    runtime?.close();
    topology.dispose();
    throw e;
  }
}

/** Resolves with the first stdout line of `child` matching `predicate` (parsed as JSON), or rejects on exit/timeout. */
export function jsonLines(child: ChildProcess): { next(timeoutMs: number): Promise<Record<string, unknown>> } {
  const lines: Record<string, unknown>[] = [];
  const waiters: ((v: Record<string, unknown>) => void)[] = [];
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const rl = createInterface({ input: child.stdout! });
  rl.on('line', (line) => {
    let v: Record<string, unknown>;
    try {
      v = JSON.parse(line) as Record<string, unknown>;
    } catch {
      v = { text: line };
    }
    const w = waiters.shift();
    if (w) w(v);
    else lines.push(v);
  });
  return {
    next(timeoutMs: number) {
      const v = lines.shift();
      if (v) return Promise.resolve(v);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no output from peer within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
        const onExit = () => setTimeout(() => reject(new Error(`peer exited (${child.exitCode}); stderr: ${stderr}`)), 50);
        child.once('exit', onExit);
        waiters.push((x) => {
          clearTimeout(timer);
          child.off('exit', onExit);
          resolve(x);
        });
      });
    },
  };
}

/** `promise`, or a rejection naming `what` after `ms` (so a stuck test fails, and its finally cleans up). */
export function within<T>(ms: number, what: string, promise: Promise<T>, diagnose?: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      let detail = '';
      try {
        detail = diagnose ? `; state: ${diagnose()}` : '';
      } catch (e) {
        detail = `; (diagnostics failed: ${String(e)})`;
      }
      reject(new Error(`timed out after ${ms} ms: ${what}${detail}`));
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The kernel's MPTcpExt (and other nstat) counters in `pair`'s namespace. */
export function kernelMib(pair: { readonly namespace: Namespace }): Map<string, number> {
  return parseNstat(pair.namespace.execSync('nstat', ['-az']));
}

/** For a timed-out transfer: the kernel's non-zero counters, its sockets, and our MPTCP connections' state. */
export function stateOf(pair: { readonly namespace: Namespace; readonly runtime: StackRuntime }): () => string {
  return () => {
    const mib = Object.fromEntries([...kernelMib(pair)].filter(([, v]) => v > 0));
    const ss = pair.namespace.execSync('ss', ['-tniM']);
    const ours = pair.runtime.host.mptcpConnections().map((c) => c.debugState());
    return JSON.stringify({ kernel: mib, ours, counters: pair.runtime.host.mptcpCounters, host: pair.runtime.host.counters, thrown: String((pair.runtime as { thrown?: unknown[] }).thrown?.map((e) => (e as Error).stack)) }) + `\nkernel ss -tniM:\n${ss}`;
  };
}

/** Resolves once `check` holds (polled every 10 ms); rejects after `ms`. */
export async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Resolves when the stream has closed (at once if it already has). */
export function closed(stream: { closed: boolean; once(event: 'close', f: () => void): unknown }): Promise<void> {
  return stream.closed ? Promise.resolve() : new Promise((resolve) => stream.once('close', () => resolve()));
}

/**
 * Sends `bytes` of a seeded pattern with backpressure, then half-closes, while reading to EOF; resolves
 * with the SHA-256 of what was sent and of what was received.
 */
export async function exchange(
  socket: Duplex,
  bytes: number,
  seed = 0x5eed,
): Promise<{ sentSha256: string; receivedSha256: string; received: number }> {
  const received = createHash('sha256');
  let count = 0;
  socket.on('data', (b: Buffer) => {
    received.update(b);
    count += b.length;
  });
  const ended = once(socket, 'end');
  const source = new PatternSource(bytes, seed);
  for (let chunk = source.next(); chunk; chunk = source.next()) {
    if (!socket.write(chunk)) await once(socket, 'drain');
  }
  socket.end();
  await ended;
  return { sentSha256: source.hash.digest('hex'), receivedSha256: received.digest('hex'), received: count };
}

export { once };
