/**
 * The stacks `mptcp perf` runs over, built from its command line (src/cli/perf.ts parses the arguments):
 *
 * - `openInterfaces(specs)`: our userspace stack (a `StackRuntime`) on real interfaces: TUN devices this
 *   process creates (and configures on the kernel's side with `ip`), and UDP paths. Everything it creates
 *   is released by `close()`; a non-persistent TUN device also disappears when the process dies, whatever
 *   kills it, so no device can outlive the command.
 * - `emulatedPair(...)`: two hosts of our stack on a `RealtimeEmulation` (both in this process), joined by
 *   one emulated link per `--link SPEC` (parsed by `parseLinkSpec`): several links are several paths.
 * - `parseMptcpOptions(...)`: MPTCP on our stack (on by default; `--no-mptcp`), and the path manager's
 *   endpoints and limits in `ip mptcp`'s words (`--endpoint`, `--limits`), checked before anything is built.
 *
 * Errors meant for the user are `CliError` (exit 1) / `UsageError` (exit 2), one line each.
 */
import { schedulerNames } from '../sched/registry.js';
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { isIP } from 'node:net';
import { RealtimeEmulation } from '../api/emulation.js';
import { StackRuntime, type HostSockets } from '../api/runtime.js';
import type { LinkConfig } from '../emu/link.js';
import { TunDevice, tunAvailable } from '../io/tun.js';
import { UdpPath } from '../io/udp.js';
import type { IfaceCidr, IfaceSpec, TunIfaceSpec, UdpIfaceSpec } from '../perf/iface.js';
import type { PerfTransport } from '../perf/transport.js';
import { userspaceTransport } from '../perf/userspace-transport.js';
import { EndpointTable, formatEndpoint, parseLimits, PmConfigError, type Endpoint, type Limits } from '../pm/config.js';
import { prefixContains } from '../stack/routing.js';
import { formatAddress, parseAddress } from '../wire/address.js';
import { CliError, UsageError } from './command.js';

// ---------------------------------------------------------------------------------------------------------
// --no-mptcp, --endpoint, --limits

/** MPTCP on our stack, from the command line. */
export interface PerfMptcp {
  /** MPTCP on (the default) or plain TCP (`--no-mptcp`). */
  readonly enabled: boolean;
  /** `--endpoint` values, checked (as `ip mptcp endpoint add` would); undefined: none given. */
  readonly endpoints: readonly Endpoint[] | undefined;
  /** `--limits` applied onto the kernel's defaults; undefined: none given. */
  readonly limits: Limits | undefined;
  /** `--scheduler` (the packet scheduler, Linux's net.mptcp.scheduler); undefined: "default". */
  readonly scheduler?: string | undefined;
}

/**
 * Checks `--endpoint` (each the words of `ip mptcp endpoint add`, e.g. "198.18.1.2 id 2 port 5300 signal
 * backup") and `--limits` ("subflows 2 add_addr_accepted 2") with the path manager's own grammar
 * (src/pm/config.ts: the same errors `ip mptcp` gives); a bad one is a UsageError naming the option.
 */
export function parseMptcpOptions(options: { noMptcp: boolean; endpoints: readonly string[]; limits: string | undefined; scheduler?: string | undefined }): PerfMptcp {
  if (options.noMptcp && (options.endpoints.length > 0 || options.limits !== undefined || options.scheduler !== undefined)) {
    throw new UsageError('--endpoint, --limits and --scheduler configure MPTCP: they go without --no-mptcp');
  }
  if (options.scheduler !== undefined && !schedulerNames().includes(options.scheduler)) {
    throw new UsageError(`unknown --scheduler '${options.scheduler}' (available: ${schedulerNames().join(', ')})`);
  }
  const table = new EndpointTable();
  const endpoints: Endpoint[] = [];
  for (const text of options.endpoints) {
    try {
      endpoints.push(table.add(text));
    } catch (err) {
      if (err instanceof PmConfigError) throw new UsageError(`bad --endpoint '${text}': ${err.message} (expected ip mptcp endpoint words: ADDRESS [id ID] [port PORT] [signal] [subflow] [backup] [fullmesh] [dev NAME])`);
      throw err;
    }
  }
  let limits: Limits | undefined;
  if (options.limits !== undefined) {
    try {
      limits = parseLimits(options.limits);
    } catch (err) {
      if (err instanceof PmConfigError) throw new UsageError(`bad --limits '${options.limits}': ${err.message} (expected: [subflows N] [add_addr_accepted N], each 0-8)`);
      throw err;
    }
  }
  return { enabled: !options.noMptcp, endpoints: options.endpoints.length > 0 ? endpoints : undefined, limits, scheduler: options.scheduler };
}

/**
 * Gives a host the endpoints and limits (the endpoints must be addresses of the host: the path manager opens
 * subflows from them and announces them). Throws CliError otherwise.
 */
function applyMptcp(sockets: HostSockets, mptcp: PerfMptcp): void {
  if (!mptcp.enabled) return;
  const host = sockets.host;
  if (mptcp.endpoints !== undefined) {
    for (const e of mptcp.endpoints) {
      if (!host.routing.isLocalAddress(e.address)) {
        const ours = host.routing.interfaces.flatMap((i) => i.addresses.map((a) => formatAddress(a.address)));
        throw new CliError(`--endpoint '${formatEndpoint(e)}': ${formatAddress(e.address)} is not one of our addresses (${ours.join(', ')})`);
      }
    }
    host.setMptcpEndpoints(mptcp.endpoints);
  }
  if (mptcp.limits !== undefined) host.setMptcpLimits(mptcp.limits);
  if (mptcp.scheduler !== undefined) host.setMptcpScheduler(mptcp.scheduler);
}

/** One line: "MPTCP: endpoints 198.18.2.2 id 1 subflow; limits subflows 2 add_addr_accepted 0". */
export function describeMptcp(sockets: HostSockets, mptcp: PerfMptcp): string {
  if (!mptcp.enabled) return 'MPTCP: off (--no-mptcp): plain TCP';
  const host = sockets.host;
  const endpoints = host.mptcpEndpoints.show().map((e) => formatEndpoint(e));
  const limits = host.mptcpLimits;
  return `MPTCP: on; endpoints ${endpoints.length > 0 ? endpoints.join(', ') : 'none'}; limits subflows ${limits.subflows} add_addr_accepted ${limits.addAddrAccepted}; scheduler ${host.mptcpScheduler}`;
}

// ---------------------------------------------------------------------------------------------------------
// --link SPEC

/** The emulated link of `mptcp perf` without --iface/--kernel: the same in both directions. */
export interface PerfLink {
  readonly rateBitsPerSecond: number;
  readonly delayMicros: number;
  readonly loss: number;
  /** Drop-tail limit on the backlog, bytes; undefined: unlimited. */
  readonly queueLimitBytes: number | undefined;
}

export const DEFAULT_LINK_RATE = 1e9;
export const DEFAULT_LINK_DELAY_MICROS = 1000;
/** Smallest default queue: 100 full-size packets. */
const MIN_DEFAULT_QUEUE = 150_000;

const RATE_SUFFIX: Readonly<Record<string, number>> = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12 };
const QUEUE_SUFFIX: Readonly<Record<string, number>> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/**
 * Parses `--link` text: comma-separated `rate=`, `delay=`, `loss=`, `queue=` (each optional, defaults 1 Gbit/s,
 * 1 ms, 0, one bandwidth-delay product but at least 150 KB). Throws UsageError.
 */
export function parseLinkSpec(text: string | undefined): PerfLink {
  let rate = DEFAULT_LINK_RATE;
  let delay = DEFAULT_LINK_DELAY_MICROS;
  let loss = 0;
  let queue: number | null | undefined; // null: unlimited; undefined: default
  const seen = new Set<string>();
  const fail = (why: string): never => {
    throw new UsageError(`bad --link '${text}': ${why}`);
  };
  for (const field of text === undefined || text === '' ? [] : text.split(',')) {
    const eq = field.indexOf('=');
    if (eq <= 0) fail(`expected KEY=VALUE, got '${field}' (keys: rate, delay, loss, queue)`);
    const key = field.slice(0, eq).toLowerCase();
    const value = field.slice(eq + 1).trim();
    if (seen.has(key)) fail(`'${key}' given twice`);
    seen.add(key);
    if (key === 'rate') {
      const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:bit|bps|b)?(?:\/s)?$/i.exec(value);
      const r = m ? Number(m[1]) * RATE_SUFFIX[m[2]!.toLowerCase()]! : NaN;
      if (!(r >= 1000) || !Number.isFinite(r)) fail(`rate=${value}: expected bits per second, at least 1K, with an optional K/M/G suffix (powers of 1000), e.g. rate=100M`);
      rate = Math.round(r);
    } else if (key === 'delay') {
      const m = /^(\d+(?:\.\d+)?)\s*(us|µs|ms|s)?$/i.exec(value);
      const unit = m?.[2]?.toLowerCase() ?? 'ms';
      const d = m ? Number(m[1]) * (unit === 's' ? 1e6 : unit === 'ms' ? 1e3 : 1) : NaN;
      if (!(d >= 0 && d <= 10e6)) fail(`delay=${value}: expected a one-way delay up to 10 s, e.g. delay=10ms, 500us, 0.2s (a bare number is ms)`);
      delay = Math.round(d);
    } else if (key === 'loss') {
      const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(value);
      const l = m ? Number(m[1]) / (m[2] ? 100 : 1) : NaN;
      if (!(l >= 0 && l < 1)) fail(`loss=${value}: expected a loss rate below 100%, e.g. loss=1% or loss=0.01`);
      loss = l;
    } else if (key === 'queue') {
      if (/^(unlimited|inf|none)$/i.test(value)) {
        queue = null;
        continue;
      }
      const m = /^(\d+(?:\.\d+)?)([kmg]?)(?:b|bytes)?$/i.exec(value);
      const q = m ? Math.floor(Number(m[1]) * QUEUE_SUFFIX[m[2]!.toLowerCase()]!) : NaN;
      if (!(q >= 1500) || !Number.isSafeInteger(q)) fail(`queue=${value}: expected a backlog in bytes, at least 1500, with an optional K/M suffix (powers of 1024), or 'unlimited'`);
      queue = q;
    } else {
      fail(`unknown key '${key}' (keys: rate, delay, loss, queue)`);
    }
  }
  const bdp = Math.ceil((rate * 2 * delay) / 8e6);
  return {
    rateBitsPerSecond: rate,
    delayMicros: delay,
    loss,
    queueLimitBytes: queue === null ? undefined : (queue ?? Math.max(bdp, MIN_DEFAULT_QUEUE)),
  };
}

function formatRate(bps: number): string {
  for (const [div, unit] of [[1e9, 'Gbit/s'], [1e6, 'Mbit/s'], [1e3, 'Kbit/s']] as const) {
    if (bps >= div) return `${+(bps / div).toFixed(3)} ${unit}`;
  }
  return `${bps} bit/s`;
}

/** One line describing a link: "100 Mbit/s, 10 ms delay each way, 1% loss, queue 244 KB". */
export function describeLink(link: PerfLink): string {
  const delay = link.delayMicros % 1000 === 0 ? `${link.delayMicros / 1000} ms` : `${link.delayMicros} us`;
  const queue = link.queueLimitBytes === undefined ? 'unlimited queue' : `queue ${+(link.queueLimitBytes / 1024).toFixed(1)} KB`;
  return `${formatRate(link.rateBitsPerSecond)}, ${delay} delay each way, ${+(link.loss * 100).toFixed(4)}% loss, ${queue}`;
}

function linkConfig(link: PerfLink): LinkConfig {
  return {
    rateBitsPerSecond: link.rateBitsPerSecond,
    delayMicros: link.delayMicros,
    ...(link.loss > 0 ? { loss: link.loss } : {}),
    ...(link.queueLimitBytes !== undefined ? { queueLimitBytes: link.queueLimitBytes } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Emulator: both ends in this process

/** Client and server hosts of our stack on one emulated link per path. */
export interface EmulatedPair {
  readonly client: PerfTransport;
  readonly server: PerfTransport;
  readonly clientAddress: string;
  readonly serverAddress: string;
  /** The hosts (for their MPTCP counters and endpoints). */
  readonly clientHost: HostSockets;
  readonly serverHost: HostSockets;
  /** One line per path: "path 1: 198.19.1.1 <-> 198.19.1.2, 100 Mbit/s, ...". */
  readonly descriptions: readonly string[];
  close(): void;
}

/**
 * Send buffers of the emulated hosts, sized to the link. iperf3's sender ends a test (TEST_END) once its last
 * block is in the send buffer, and the receiver stops counting shortly after: with the default 4 MiB buffer
 * on a slow link, megabytes would still be queued and the receiver's total would fall short. Two
 * bandwidth-delay products keep the link busy; 0.1 s of data (at most 100 Mbit/s worth: this process runs
 * both stacks, and is slower than a fast link) bounds the tail that is still in flight at TEST_END.
 */
function emulatedSendBuffer(link: PerfLink): number {
  const twoBdp = (2 * link.rateBitsPerSecond * 2 * link.delayMicros) / 8e6;
  const tenthOfASecond = (Math.min(link.rateBitsPerSecond, 100e6) * 0.1) / 8;
  return Math.round(Math.min(4 << 20, Math.max(64 << 10, twoBdp, tenthOfASecond)));
}

/** Adds a default route through interface 0 of a host (so any address is reachable over its one link). */
function addDefaultRoute(sockets: HostSockets, family: 4 | 6): void {
  sockets.host.routing.addRoute({ prefix: new Uint8Array(family === 4 ? 4 : 16), prefixLength: 0, ifaceId: 0 });
}

/**
 * Addresses of the emulated path `index` >= 1 (path 0 is HOST's): client 198.19.N.1/24 and server
 * 198.19.N.2/24, or 2001:2:0:N::1/64 and ::2 for IPv6.
 */
export function emulatedPathAddresses(index: number, family: 4 | 6): { client: string; server: string; prefix: number } {
  return family === 4
    ? { client: `198.19.${index}.1`, server: `198.19.${index}.2`, prefix: 24 }
    : { client: `2001:2:0:${index.toString(16)}::1`, server: `2001:2:0:${index.toString(16)}::2`, prefix: 64 };
}

/**
 * The server host at `serverAddress` (an IP literal), the client host at `clientAddress` (default 198.18.0.1,
 * or 2001:2::1 for IPv6; the other of .1/.2 if the server took it), joined by `links[0]` both ways; each
 * further link is another path between another interface of each host (addresses from
 * `emulatedPathAddresses`). With MPTCP, `mptcp`'s endpoints and limits go to the client host; without
 * `--endpoint` the client gets a `subflow` endpoint on each further path's address (so it joins every path,
 * as `ip mptcp endpoint add ADDR subflow` would make the kernel do), and both hosts get `subflows` limits
 * of at least the number of further paths.
 */
export function emulatedPair(serverAddress: string, clientAddress: string | undefined, links: PerfLink | readonly PerfLink[], mptcp: PerfMptcp = { enabled: false, endpoints: undefined, limits: undefined }): EmulatedPair {
  const linkList: readonly PerfLink[] = Array.isArray(links) ? links : [links as PerfLink];
  const family = isIP(serverAddress);
  if (family !== 4 && family !== 6) {
    throw new UsageError(
      `-c ${serverAddress}: on the emulator (no --iface, no --kernel) HOST is the emulated server's address and must be an IP address, e.g. -c 198.18.0.2`,
    );
  }
  const canonical = (a: string): string => Array.from(parseAddress(a)!).join('.');
  let client = clientAddress;
  if (client === undefined) {
    const [first, second] = family === 4 ? ['198.18.0.1', '198.18.0.2'] : ['2001:2::1', '2001:2::2'];
    client = canonical(first) === canonical(serverAddress) ? second : first;
  } else {
    if (isIP(client) !== family) throw new UsageError(`-B ${client}: the client address must be an IPv${family} address like HOST`);
    if (canonical(client) === canonical(serverAddress)) throw new UsageError(`-B ${client}: the client address must differ from HOST`);
  }
  const prefix = family === 4 ? 24 : 64;
  const extra = linkList.slice(1).map((_, i) => emulatedPathAddresses(i + 1, family));
  for (const p of extra) {
    for (const a of [client, serverAddress]) {
      if (prefixContains(parseAddress(p.client)!, p.prefix, parseAddress(a)!)) {
        throw new UsageError(`${a} is inside ${p.client}/${p.prefix}, which the emulator uses for its extra paths: pick another address`);
      }
    }
  }
  // One connection's data is spread over all the paths: room for each path's share.
  const sendBufferBytes = Math.min(4 << 20, linkList.reduce((a, l) => a + emulatedSendBuffer(l), 0));
  const emu = new RealtimeEmulation(1);
  const tcp = { sendBufferBytes };
  try {
    const c = emu.addHost('client', [[`${client}/${prefix}`], ...extra.map((p) => [`${p.client}/${p.prefix}`])], { tcp });
    const s = emu.addHost('server', [[`${serverAddress}/${prefix}`], ...extra.map((p) => [`${p.server}/${p.prefix}`])], { tcp });
    addDefaultRoute(c, family);
    addDefaultRoute(s, family);
    linkList.forEach((l, i) => emu.connect('client', i, 'server', i, linkConfig(l)));
    if (mptcp.enabled) {
      const further = extra.length;
      if (further > 0) {
        const atLeast = (l: Limits): Limits => ({ ...l, subflows: Math.max(l.subflows, Math.min(8, further)) });
        s.host.setMptcpLimits(atLeast(s.host.mptcpLimits));
        if (mptcp.limits === undefined) c.host.setMptcpLimits(atLeast(c.host.mptcpLimits));
        if (mptcp.endpoints === undefined) c.host.setMptcpEndpoints(extra.map((p) => `${p.client} subflow`));
      }
      applyMptcp(c, mptcp);
    }
    const kind = mptcp.enabled ? 'MPTCP' : 'TCP';
    const descriptions = linkList.map((l, i) => {
      const [a, b] = i === 0 ? [client, serverAddress] : [extra[i - 1]!.client, extra[i - 1]!.server];
      return `path ${i}: client ${a} <-> server ${b}, ${describeLink(l)}`;
    });
    return {
      client: userspaceTransport(c, `userspace ${kind} (this stack, emulated client)`, { mptcp: mptcp.enabled }),
      server: userspaceTransport(s, `userspace ${kind} (this stack, emulated server)`, { mptcp: mptcp.enabled }),
      clientAddress: client,
      serverAddress,
      clientHost: c,
      serverHost: s,
      descriptions,
      close: () => emu.close(),
    };
  } catch (err) {
    emu.close();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------------
// --iface: our stack on TUN devices and UDP paths

/** Our stack on real interfaces. */
export interface InterfaceStack {
  readonly runtime: StackRuntime;
  readonly transport: PerfTransport;
  /** One line per interface, for the text output. */
  readonly descriptions: readonly string[];
  /** Waits (at most `ms`) until every connection has closed or sits in TIME-WAIT: the last FIN/ACKs are out. */
  settle(ms: number): Promise<void>;
  /** Stops the stack, closes the TUN devices (deleting them) and the UDP sockets. Idempotent. */
  close(): Promise<void>;
}

const DEFAULT_TUN_MTU = 1500;
const DEFAULT_UDP_MTU = { 4: 1472, 6: 1452 } as const;
/** The TUN transmit ring is the link's only buffer: the kernel drops there when we fall behind its pacing. */
const TUN_TXQUEUELEN = '10000';
const UDP_SOCKET_BUFFER = 4 << 20;

function cidrText(c: IfaceCidr): string {
  return `${c.address}/${c.prefixLength}`;
}

/** Runs `ip [-n NS] ARGS`; throws CliError naming the interface spec. */
function ip(spec: string, netns: string | undefined, args: readonly string[]): void {
  const full = [...(netns !== undefined ? ['-n', netns] : []), ...args];
  const r = spawnSync('ip', full, { encoding: 'utf8', timeout: 10_000 });
  if (r.error) {
    const missing = (r.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new CliError(`${spec}: ${missing ? 'the ip command (iproute2) is not installed' : `ip ${full.join(' ')}: ${r.error.message}`}`);
  }
  if (r.status !== 0) {
    const why = (r.stderr || r.stdout).trim().replace(/\s*\n\s*/g, ' ') || `exit ${r.status ?? r.signal}`;
    throw new CliError(`${spec}: ip ${full.join(' ')} failed: ${why}`);
  }
}

function namespaceExists(name: string): boolean {
  try {
    statSync(`/run/netns/${name}`);
    return true;
  } catch {
    return false;
  }
}

/** Whether some interface named `name` already exists in the namespace (our root one, or `netns`). */
function linkExists(name: string, netns: string | undefined): boolean {
  const r = spawnSync('ip', [...(netns !== undefined ? ['-n', netns] : []), 'link', 'show', 'dev', name], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0;
}

/**
 * Builds a StackRuntime on the interfaces, in order (interface id i is `specs[i]`). Routes: each address's
 * on-link prefix; a host route to a UDP path's remote address (so `-c REMOTE-ADDR` works when the inner
 * addresses are the outer ones); with `defaultRoutes` (the client), a default route per address family
 * through the first interface having an address of that family. Anything created is released on failure.
 */
export async function openInterfaces(
  specs: readonly IfaceSpec[],
  options: { defaultRoutes: boolean; mptcp?: PerfMptcp },
): Promise<InterfaceStack> {
  const mptcp = options.mptcp ?? { enabled: false, endpoints: undefined, limits: undefined };
  const names = new Set<string>();
  for (const s of specs) {
    if (s.kind !== 'tun') continue;
    if (names.has(s.name)) throw new UsageError(`--iface: TUN device name '${s.name}' given twice`);
    names.add(s.name);
  }
  if (specs.some((s) => s.kind === 'tun')) {
    const available = tunAvailable();
    if (!available.ok) throw new CliError(`cannot create TUN devices: ${available.reason}`);
  }
  const runtime = new StackRuntime({ name: 'perf' });
  const devices: TunDevice[] = [];
  const paths: UdpPath[] = [];
  const descriptions: string[] = [];
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    runtime.close();
    for (const d of devices) {
      try {
        d.close();
      } catch {
        // closing the fd is what deletes the device; nothing more to do
      }
    }
    await Promise.all(paths.map((p) => p.close()));
  };
  // Also on any exit path that skips `close()` (process.exit from elsewhere): closing the fds deletes devices.
  const onExit = (): void => {
    for (const d of devices) {
      try {
        d.close();
      } catch {
        // best effort
      }
    }
  };
  process.once('exit', onExit);
  try {
    const families = new Set<4 | 6>();
    for (const spec of specs) {
      const ifaceId = spec.kind === 'tun' ? openTun(spec, runtime, devices) : await openUdp(spec, runtime, paths);
      const iface = runtime.host.routing.interfaces[ifaceId]!;
      descriptions.push(describeIface(spec, paths[paths.length - 1]));
      if (options.defaultRoutes) {
        for (const a of iface.addresses) {
          const family = a.address.length === 4 ? 4 : 6;
          if (families.has(family)) continue;
          families.add(family);
          runtime.host.routing.addRoute({ prefix: new Uint8Array(a.address.length), prefixLength: 0, ifaceId, source: a.address });
        }
      }
    }
    applyMptcp(runtime, mptcp);
    if (mptcp.enabled) descriptions.push(describeMptcp(runtime, mptcp));
  } catch (err) {
    await close();
    process.off('exit', onExit);
    throw err;
  }
  return {
    runtime,
    transport: userspaceTransport(runtime, mptcp.enabled ? 'userspace MPTCP (this stack)' : 'userspace TCP (this stack)', { mptcp: mptcp.enabled }),
    descriptions,
    async settle(ms) {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline && runtime.host.connections().some((c) => c.state !== 'CLOSED' && c.state !== 'TIME-WAIT')) {
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      await close();
      process.off('exit', onExit);
    },
  };
}

function describeIface(spec: IfaceSpec, path: UdpPath | undefined): string {
  if (spec.kind === 'tun') {
    const where = spec.netns !== undefined ? ` in netns ${spec.netns}` : '';
    return `Interface ${spec.name}: TUN, our address ${cidrText(spec.address)}, kernel side ${cidrText(spec.peer)}${where}`;
  }
  const inner = spec.address ? cidrText(spec.address) : `${spec.local.address}/${spec.local.family === 4 ? 32 : 128}`;
  const local = path ? (path.local.address.includes(':') ? `[${path.local.address}]:${path.local.port}` : `${path.local.address}:${path.local.port}`) : spec.local.address;
  const remote = spec.remote ? (spec.remote.family === 6 ? `[${spec.remote.address}]:${spec.remote.port}` : `${spec.remote.address}:${spec.remote.port}`) : 'learned from the first datagram';
  return `Interface udp ${local}: our address ${inner}, remote ${remote}`;
}

function openTun(spec: TunIfaceSpec, runtime: StackRuntime, devices: TunDevice[]): number {
  const where = spec.netns !== undefined ? `network namespace '${spec.netns}'` : 'this network namespace';
  if (spec.netns !== undefined && !namespaceExists(spec.netns)) {
    throw new CliError(`${spec.spec}: network namespace '${spec.netns}' does not exist (create it with: ip netns add ${spec.netns})`);
  }
  if (linkExists(spec.name, undefined)) throw new CliError(`${spec.spec}: an interface named ${spec.name} already exists`);
  if (spec.netns !== undefined && linkExists(spec.name, spec.netns)) throw new CliError(`${spec.spec}: an interface named ${spec.name} already exists in ${where}`);
  let ifaceId = -1;
  let device: TunDevice;
  try {
    device = TunDevice.open(spec.name, {
      onPackets: (packets) => runtime.receive(ifaceId, packets),
      onError: () => undefined, // the device went away (deleted under us): the stack sees a dead link
    });
  } catch (err) {
    throw new CliError(`${spec.spec}: cannot create TUN device ${spec.name}: ${(err as Error).message}`);
  }
  devices.push(device);
  const mtu = spec.mtu ?? DEFAULT_TUN_MTU;
  if (spec.mtu !== undefined) device.setMtu(spec.mtu);
  ifaceId = runtime.addInterface(spec.name, [cidrText(spec.address)], (bytes) => device.write(bytes), mtu);
  if (spec.netns !== undefined) ip(spec.spec, undefined, ['link', 'set', 'dev', spec.name, 'netns', spec.netns]);
  ip(spec.spec, spec.netns, spec.peer.family === 6 ? ['-6', 'addr', 'add', cidrText(spec.peer), 'dev', spec.name, 'nodad'] : ['addr', 'add', cidrText(spec.peer), 'dev', spec.name]);
  ip(spec.spec, spec.netns, ['link', 'set', 'dev', spec.name, 'txqueuelen', TUN_TXQUEUELEN, 'up']);
  return ifaceId;
}

async function openUdp(spec: UdpIfaceSpec, runtime: StackRuntime, paths: UdpPath[]): Promise<number> {
  let path: UdpPath;
  try {
    path = await UdpPath.bind({
      localAddress: spec.local.address,
      ...(spec.local.port !== undefined ? { localPort: spec.local.port } : {}),
      ...(spec.remote ? { remote: { address: spec.remote.address, port: spec.remote.port } } : {}),
      receiveBufferSize: UDP_SOCKET_BUFFER,
      sendBufferSize: UDP_SOCKET_BUFFER,
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'EADDRINUSE' ? 'the address and port are in use' : e.code === 'EADDRNOTAVAIL' ? 'no such local address on this host' : e.message;
    throw new CliError(`${spec.spec}: cannot bind UDP ${spec.local.address}${spec.local.port !== undefined ? ` port ${spec.local.port}` : ''}: ${why}`);
  }
  paths.push(path);
  const inner: IfaceCidr = spec.address ?? { address: spec.local.address, prefixLength: spec.local.family === 4 ? 32 : 128, family: spec.local.family };
  const mtu = spec.mtu ?? DEFAULT_UDP_MTU[spec.local.family];
  const ifaceId = runtime.addInterface(`udp${paths.length - 1}`, [cidrText(inner)], (bytes) => path.send(bytes), mtu);
  path.onPacket = (packet) => runtime.receive(ifaceId, [packet]);
  if (spec.remote && spec.remote.family === inner.family) {
    const remote = parseAddress(spec.remote.address)!;
    runtime.host.routing.addRoute({ prefix: remote, prefixLength: remote.length * 8, ifaceId, source: parseAddress(inner.address)! });
  }
  return ifaceId;
}
