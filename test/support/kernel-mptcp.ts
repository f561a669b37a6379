/**
 * The set-up and checks the MPTCP interop tests against the Linux kernel share (test/stack/kernel-mptcp*.test.ts):
 * path-manager configuration on both sides, our client to a kernel_peer.py server or a kernel_peer.py client
 * to our server, the exchange with SHA-256 both ways, the kernel's MPTcpExt counters and our own, and the
 * log lines that print them.
 */
import assert from 'node:assert/strict';
import type { Namespace } from '../../src/io/netns.js';
import type { StackRuntime } from '../../src/api/runtime.js';
import type { TcpServer, TcpSocket } from '../../src/api/socket.js';
import type { TcpConfig } from '../../src/tcp/types.js';
import { MptcpConnection } from '../../src/mptcp/connection.js';
import { formatAddress } from '../../src/wire/address.js';
import { KERNEL_PEER, closed, exchange, jsonLines, kernelMib, once, stateOf, until, within } from './kernel.js';

/** The pattern seed of our side of every exchange. */
export const SEED = 0x3117;
/** The port every kernel peer listens on or connects to. */
export const PORT = 5201;

/** One path: us at 198.18.1.2, the kernel at 198.18.1.1. */
export const ONE_PATH = [{ ours: ['198.18.1.2/24'], kernel: ['198.18.1.1/24'] }];
/** Two paths: 198.18.1.0/24 and 198.18.2.0/24, us at .2 and the kernel at .1 on each. */
export const TWO_PATHS = [
  { ours: ['198.18.1.2/24'], kernel: ['198.18.1.1/24'] },
  { ours: ['198.18.2.2/24'], kernel: ['198.18.2.1/24'] },
];

/** Our stack and the kernel's namespace (a TunPair or TunPaths). */
export interface KernelTopology {
  readonly namespace: Namespace;
  readonly runtime: StackRuntime;
}

/** The kernel's non-zero counters, `name=value` separated by spaces. */
export function nonZero(mib: Map<string, number>): string {
  return [...mib].filter(([, v]) => v > 0).map(([k, v]) => `${k}=${v}`).join(' ');
}

/** Our non-zero MPTCP counters, `name=value` separated by spaces. */
export function ourCounters(topology: KernelTopology): string {
  return Object.entries(topology.runtime.host.mptcpCounters)
    .filter(([, v]) => typeof v === 'number' && v > 0)
    .map(([k, v]) => `${k}=${v as number}`)
    .join(' ');
}

/** Our subflows: id, join / backup, addresses, state (and stale), data bytes sent / received. */
export function subflowLine(connection: MptcpConnection): string {
  return connection
    .subflowInfo()
    .map(
      (s) =>
        `${s.id}${s.join ? ' join' : ''}${s.backupLocal ? ' backup' : ''} ${formatAddress(s.endpoints.localAddress)}->${formatAddress(s.endpoints.remoteAddress)} ${s.state}${s.stale ? ' stale' : ''} ${s.dataBytesSent}/${s.dataBytesReceived}`,
    )
    .join(', ');
}

/** One side's path manager, in `ip mptcp`'s words: limits 'subflows 2 add_addr_accepted 1', endpoints '198.18.2.1 id 2 signal'. */
export interface PathManagerConfig {
  readonly limits?: string;
  readonly endpoints?: readonly string[];
}

/**
 * Configures the kernel's path manager (`ip mptcp limits set`, then `ip mptcp endpoint add` for each
 * endpoint) and ours (setMptcpEndpoints, then setMptcpLimits).
 */
export function configurePathManagers(topology: KernelTopology, config: { readonly kernel?: PathManagerConfig; readonly ours?: PathManagerConfig }): void {
  const { kernel, ours } = config;
  if (kernel?.limits) topology.namespace.ip('mptcp', 'limits', 'set', ...kernel.limits.split(' '));
  for (const endpoint of kernel?.endpoints ?? []) topology.namespace.ip('mptcp', 'endpoint', 'add', ...endpoint.split(' '));
  if (ours?.endpoints) topology.runtime.host.setMptcpEndpoints([...ours.endpoints]);
  if (ours?.limits) topology.runtime.host.setMptcpLimits(ours.limits);
}

/** Our socket connected to (or accepted from) a kernel_peer.py, which sends `bytes` and reports on its stdout. */
export interface PeerConnection {
  readonly topology: KernelTopology;
  readonly socket: TcpSocket;
  /** What the kernel peer prints (its result line). */
  readonly peer: ReturnType<typeof jsonLines>;
  /** How many bytes each side sends. */
  readonly bytes: number;
  /** Our server, when the kernel is the client. */
  readonly server?: TcpServer;
  /** Our connection (an MptcpConnection unless the handshake fell back to plain TCP). */
  readonly connection: MptcpConnection;
}

interface PeerOptions {
  /** The address the kernel peer connects to (client) or ours connects to (server). */
  readonly to: string;
  /** How many bytes each side sends. */
  readonly bytes: number;
  /** kernel_peer.py's flags (default ['--mptcp']). */
  readonly flags?: readonly string[];
}

function peerConnection(topology: KernelTopology, socket: TcpSocket, peer: ReturnType<typeof jsonLines>, bytes: number, server?: TcpServer): PeerConnection {
  return {
    topology,
    socket,
    peer,
    bytes,
    ...(server ? { server } : {}),
    get connection() {
      return socket.connection as MptcpConnection;
    },
  };
}

/**
 * Starts a kernel_peer.py server in the kernel's namespace on `listen` (default `to`), waits for it to
 * listen, and connects our MPTCP socket to `to`.
 */
export async function ourClientToKernelServer(
  topology: KernelTopology,
  options: PeerOptions & { readonly listen?: string; readonly localAddress?: string; readonly config?: TcpConfig; readonly checksum?: boolean },
): Promise<PeerConnection> {
  const { to, bytes, flags = ['--mptcp'], listen = to, localAddress, config, checksum } = options;
  const out = jsonLines(topology.namespace.spawn('python3', [KERNEL_PEER, 'server', listen, String(PORT), String(bytes), ...flags]));
  assert.deepEqual(await out.next(10_000), { listening: PORT });
  const socket = topology.runtime.connect(PORT, to, {
    mptcp: true,
    ...(localAddress !== undefined ? { localAddress } : {}),
    ...(config !== undefined ? { config } : {}),
    ...(checksum !== undefined ? { checksum } : {}),
  });
  await within(10_000, 'connect', once(socket, 'connect'));
  return peerConnection(topology, socket, out, bytes);
}

/** Starts our MPTCP server, runs a kernel_peer.py client to `to` in the kernel's namespace, and accepts its connection. */
export async function kernelClientToOurServer(topology: KernelTopology, options: PeerOptions & { readonly checksum?: boolean }): Promise<PeerConnection> {
  const { to, bytes, flags = ['--mptcp'], checksum } = options;
  const server = topology.runtime.createServer(undefined, undefined, { mptcp: true, ...(checksum !== undefined ? { checksum } : {}) });
  server.listen(PORT);
  await once(server, 'listening');
  const accepted = once(server, 'connection');
  const out = jsonLines(topology.namespace.spawn('python3', [KERNEL_PEER, 'client', to, String(PORT), String(bytes), ...flags]));
  const [socket] = (await within(10_000, 'accept', accepted)) as [TcpSocket];
  return peerConnection(topology, socket, out, bytes, server);
}

/** What an exchange left: our hashes, the kernel peer's result line, and both sides' counters after it. */
export interface Outcome {
  readonly ours: Awaited<ReturnType<typeof exchange>>;
  readonly kernel: Record<string, unknown>;
  readonly mib: Map<string, number>;
  readonly counters: StackRuntime['host']['mptcpCounters'];
}

/** An exchange under way; finish() waits for both ends (our side within `ms`), then reads the counters. */
export interface Transfer {
  finish(ms?: number): Promise<Outcome>;
}

/** Starts sending `run.bytes` of our pattern while reading to EOF (the kernel peer does the same). */
export function startTransfer(run: PeerConnection): Transfer {
  const exchanged = exchange(run.socket, run.bytes, SEED);
  return {
    async finish(ms = 120_000) {
      const state = stateOf(run.topology);
      const ours = await within(ms, `${run.bytes / 1e6} MB each way`, exchanged, state);
      const kernel = await run.peer.next(60_000).catch((e: Error) => {
        throw new Error(`${e.message}; state: ${state()}`);
      });
      return { ours, kernel, mib: kernelMib(run.topology), counters: run.topology.runtime.host.mptcpCounters };
    },
  };
}

/** The whole exchange: startTransfer(run).finish(ms). */
export function transfer(run: PeerConnection, ms?: number): Promise<Outcome> {
  return startTransfer(run).finish(ms);
}

/**
 * Waits until the connection's second subflow is fully established and more than 2 MB have arrived (a point
 * in mid-transfer with both subflows in use); resolves with the bytes received by then.
 */
export async function joinedAndUnderway(connection: MptcpConnection): Promise<number> {
  await until(() => connection.subflowInfo()[1]?.fullyEstablished === true && connection.mptcpInfo().bytesReceived > 2_000_000, 'the joined subflow and some data');
  return connection.mptcpInfo().bytesReceived;
}

/**
 * The kernel's ADD_ADDR reached us and our echo reached the kernel. The kernel re-sends an ADD_ADDR that is not
 * echoed within its timer (since 6.x adjusted to the subflows' RTO, not only the 120 s sysctl): when this process
 * is descheduled on a loaded machine our echo of the first copy comes late and a second copy follows (seen in a
 * CI rehearsal: AddAddrTx=2, EchoAdd=2). Every copy must pass our HMAC check, none is dropped, each is echoed at
 * most once, and the kernel counted at least one echo. The joins that follow are the caller's to count.
 */
export function assertKernelAddAddrEchoed(outcome: Outcome): void {
  const { mib, counters: c } = outcome;
  const sent = mib.get('AddAddrTx') ?? 0;
  assert.ok(sent >= 1, 'the kernel sent ADD_ADDR');
  assert.equal(c.AddAddr, sent, `we verified the HMAC of every ADD_ADDR the kernel sent (${sent})`);
  assert.equal(c.AddAddrDrop, 0);
  assert.ok(c.EchoAddTx >= 1 && c.EchoAddTx <= sent, `we echoed ${c.EchoAddTx} of ${sent}`);
  const echoed = mib.get('EchoAdd') ?? 0;
  assert.ok(echoed >= 1 && echoed <= c.EchoAddTx, `the kernel received ${echoed} of our ${c.EchoAddTx} echoes`);
}

/** Each side received exactly what the other sent, `bytes` each way. */
export function assertExchangeIntact(outcome: Outcome, bytes: number): void {
  const { ours, kernel } = outcome;
  assert.equal(kernel['receivedSha256'], ours.sentSha256, 'the kernel received exactly what we sent');
  assert.equal(kernel['received'], bytes);
  assert.equal(ours.receivedSha256, kernel['sentSha256'], 'we received exactly what the kernel sent');
  assert.equal(ours.received, bytes);
}

/**
 * Prints the kernel's non-zero MPTcpExt counters (after `note`, if any), ours, and our subflows when the
 * connection is an MPTCP one.
 */
export function logCounters(run: PeerConnection, outcome: Outcome, note?: string): void {
  console.log(`# ${note ? `${note}; ` : ''}kernel MPTcpExt: ${nonZero(outcome.mib) || '(none)'}`);
  console.log(`# our counters: ${ourCounters(run.topology) || '(none)'}`);
  if (run.connection instanceof MptcpConnection) console.log(`# our subflows (data bytes sent / received): ${subflowLine(run.connection)}`);
}

/** logCounters(), then assertExchangeIntact() for `run.bytes` each way. */
export function logAndAssertIntact(run: PeerConnection, outcome: Outcome, note?: string): void {
  logCounters(run, outcome, note);
  assertExchangeIntact(outcome, run.bytes);
}

/** Waits for our socket to close (both ends done), then closes our server if any. */
export async function closeRun(run: PeerConnection): Promise<void> {
  await within(10_000, 'close', closed(run.socket), stateOf(run.topology));
  run.server?.close();
}
