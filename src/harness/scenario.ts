/**
 * `scenario()`: a two-host, one- or two-path MPTCP scenario on a `HostPair`, the harness of the MPTCP tests
 * (MP_JOIN, ADD_ADDR, RM_ADDR, MP_PRIO; loss and reordering, a path that fails and returns, an address
 * removed and re-added, fastclose, MP_FAIL, middleboxes) and of the golden runs:
 * a client and a server of this stack, each with one address per path (198.18.<path+1>.2 and .1), a
 * transfer in both directions with SHA-256 of what crossed, close times and a one-line summary.
 * Virtual time, seeded. Delivers both plain-TCP and MPTCP host events, so a fallback is seen either way.
 * Also small helpers for what such tests look at: the TCP segment and MPTCP options of a packet, bytes and
 * retransmissions per subflow.
 */
import { createHash } from 'node:crypto';
import type { Network, DuplexLink } from '../emu/network.js';
import type { LinkConfig } from '../emu/link.js';
import type { Host } from '../stack/host.js';
import { MptcpConnection, type StreamConnection } from '../mptcp/connection.js';
import type { Micros } from '../time/micros.js';
import type { TcpConfig, TcpEvent } from '../tcp/types.js';
import { parseIpPacket } from '../wire/ip.js';
import { parseTcpSegment, type TcpSegment } from '../wire/tcp.js';
import { isWireError } from '../wire/errors.js';
import type { MptcpOption } from '../wire/mptcp-option.js';
import { MptcpApp } from './host-app.js';
import { HostPair } from './pair.js';
import { pattern, StreamFlow } from './stream-flow.js';

/** A megabyte (10^6 bytes), the unit scenario sizes are written in. */
export const MB = 1_000_000;

/** SHA-256 of some bytes, in hex. */
export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** One path's link: the same both ways, or each direction of its own. */
export interface PathSpec {
  /** Both directions, unless overridden. */
  readonly config?: LinkConfig;
  readonly forward?: LinkConfig;
  readonly backward?: LinkConfig;
}

/** What `scenario()` builds: seeds, data sizes, paths, path-manager settings, hooks into events and packets. */
export interface ScenarioOptions {
  readonly seed: number;
  /** The bytes the client's and the server's host secrets are filled with (default 9 and 10). */
  readonly secrets?: readonly [client: number, server: number];
  /** Bytes client -> server and server -> client. */
  readonly up: number;
  readonly down: number;
  /** `pattern` seeds of the up and down data (default 0x5eed01 ^ seed and 0x5eed02 ^ seed). */
  readonly dataSeeds?: readonly [up: number, down: number];
  /** One or two paths; path i joins the client's eth<i> and the server's eth<i>. */
  readonly paths: readonly PathSpec[];
  readonly clientEndpoints?: readonly string[];
  readonly serverEndpoints?: readonly string[];
  readonly clientLimits?: string;
  readonly serverLimits?: string;
  /** TCP config of both ends (e.g. `maxRetransmits`). */
  readonly tcp?: TcpConfig;
  /** The server sends its DATA_FIN only after the client's arrived (default: as soon as all is written). */
  readonly serverClosesAfterEnd?: boolean;
  /** The server listens with MPTCP (default true). */
  readonly serverMptcp?: boolean;
  /** The MPTCP packet scheduler of both hosts (`Host.setMptcpScheduler`; default "default"). */
  readonly scheduler?: string;
  /** DSS checksums requested by the client / the server (default false). */
  readonly clientChecksum?: boolean;
  readonly serverChecksum?: boolean;
  /** Called on every event after the harness handled it. */
  readonly onClientEvent?: (s: Scenario, c: StreamConnection, e: TcpEvent, now: Micros) => void;
  readonly onServerEvent?: (s: Scenario, c: StreamConnection, e: TcpEvent, now: Micros) => void;
  /** Sees every packet arriving at the client / the server, before the host does. */
  readonly onPacketToClient?: (bytes: Uint8Array) => void;
  readonly onPacketToServer?: (bytes: Uint8Array) => void;
}

/** A running scenario: its hosts, connections and flows, and how to advance it. */
export interface Scenario {
  /** The driver underneath (both hosts, their applications, the network). */
  readonly pair: HostPair<MptcpApp, MptcpApp>;
  readonly net: Network;
  readonly clientHost: Host;
  readonly serverHost: Host;
  readonly client: MptcpConnection;
  /** The accepted connection (MPTCP, or plain TCP when the listener is not MPTCP). */
  server: StreamConnection | undefined;
  readonly up: StreamFlow;
  readonly down: StreamFlow;
  readonly paths: readonly DuplexLink[];
  /** Tells the network both hosts changed from outside (after an API call on a host or connection). */
  wake(): void;
  /** Runs 10 ms at a time until `until()` or `limit` µs of virtual time passed; returns whether `until()` held. */
  step(until: () => boolean, limit: Micros): boolean;
  /**
   * Runs to the end (idle, or `maxTime` µs more), bounded in events. An exception thrown inside the stack
   * is caught and returned (so a test can still print its summary), undefined otherwise.
   */
  finish(maxTime?: Micros): Error | undefined;
  readonly startedAt: Micros;
}

/** The server's connection as MPTCP (throws when it is plain TCP). */
export function mptcpServer(s: Scenario): MptcpConnection {
  if (!(s.server instanceof MptcpConnection)) throw new Error('the server connection is not MPTCP');
  return s.server;
}

/** Builds the scenario and starts it: the server listens on port 5201, the client connects over path 0. */
export function scenario(o: ScenarioOptions): Scenario {
  const [clientSecret, serverSecret] = o.secrets ?? [9, 10];
  const [upSeed, downSeed] = o.dataSeeds ?? [0x5eed01 ^ o.seed, 0x5eed02 ^ o.seed];
  const up = new StreamFlow(pattern(o.up, upSeed));
  const down = new StreamFlow(pattern(o.down, downSeed));
  down.holdShutdown = o.serverClosesAfterEnd ?? false;
  // eslint-disable-next-line prefer-const
  let s: Scenario;
  // Both plain-TCP and MPTCP host events, so a fallback is seen either way.
  const clientApp = (host: Host): MptcpApp => {
    const app = new MptcpApp(
      host,
      (c, e, now) => {
        if (e === 'accepted') return;
        if (e.type === 'established' || e.type === 'writable') up.pump(c);
        if (e.type === 'readable' || e.type === 'end') down.drain(c);
        if (e.type === 'end') down.ended = true;
        if (e.type === 'closed' && !up.closed) {
          up.closed = true;
          up.closedAt = now;
          up.closedError = e.error;
        }
        o.onClientEvent?.(s, c, e, now);
      },
      { tcpEvents: true },
    );
    app.beforePacket = o.onPacketToClient;
    return app;
  };
  const serverApp = (host: Host): MptcpApp => {
    const app = new MptcpApp(
      host,
      (c, e, now) => {
        if (e === 'accepted') {
          s.server = c;
          down.pump(c);
          return;
        }
        if (e.type === 'writable') down.pump(c);
        if (e.type === 'readable' || e.type === 'end') up.drain(c);
        if (e.type === 'end') {
          up.ended = true;
          if (down.holdShutdown) down.release(c);
        }
        if (e.type === 'closed' && !down.closed) {
          down.closed = true;
          down.closedAt = now;
          down.closedError = e.error;
        }
        o.onServerEvent?.(s, c, e, now);
      },
      { tcpEvents: true },
    );
    app.beforePacket = o.onPacketToServer;
    return app;
  };
  const pair = new HostPair(
    {
      seed: o.seed,
      names: ['c', 's'],
      client: { name: 'client', secret: new Uint8Array(32).fill(clientSecret), tcp: o.tcp ?? {} },
      server: { name: 'server', secret: new Uint8Array(32).fill(serverSecret), tcp: o.tcp ?? {} },
      paths: o.paths.map((p, i) => ({
        clientAddress: `198.18.${i + 1}.2/24`,
        serverAddress: `198.18.${i + 1}.1/24`,
        link: {
          name: `path${i}`,
          ...(p.config ? { config: p.config } : {}),
          ...(p.forward ? { forward: p.forward } : {}),
          ...(p.backward ? { backward: p.backward } : {}),
        },
      })),
      setUp: (clientHost, serverHost) => {
        if (o.clientEndpoints) clientHost.setMptcpEndpoints(o.clientEndpoints);
        if (o.serverEndpoints) serverHost.setMptcpEndpoints(o.serverEndpoints);
        if (o.scheduler) {
          clientHost.setMptcpScheduler(o.scheduler);
          serverHost.setMptcpScheduler(o.scheduler);
        }
        if (o.clientLimits) clientHost.setMptcpLimits(o.clientLimits);
        if (o.serverLimits) serverHost.setMptcpLimits(o.serverLimits);
      },
    },
    { client: clientApp, server: serverApp },
  );
  const { net, clientHost, serverHost } = pair;
  serverHost.listen(5201, { mptcp: o.serverMptcp ?? true, checksum: o.serverChecksum ?? false });
  const client = clientHost.connect(0, '198.18.1.1', 5201, { mptcp: true, checksum: o.clientChecksum ?? false });
  s = {
    pair,
    net,
    clientHost,
    serverHost,
    client,
    server: undefined,
    up,
    down,
    paths: pair.paths,
    startedAt: net.now,
    wake() {
      pair.wake();
    },
    step(until, limit) {
      return pair.drive(until, limit);
    },
    finish(maxTime = 600_000_000) {
      try {
        pair.driveBounded(net.now + maxTime, 200_000_000);
        return undefined;
      } catch (e) {
        return e as Error;
      }
    },
  };
  pair.wakeClient();
  return s;
}

/** The TCP segment of an IP packet (undefined when either does not parse). */
export function tcpSegmentOf(bytes: Uint8Array): TcpSegment | undefined {
  const ip = parseIpPacket(bytes, { verifyChecksum: false });
  if (isWireError(ip)) return undefined;
  const seg = parseTcpSegment(ip.payload, undefined);
  return isWireError(seg) ? undefined : seg;
}

/** The MPTCP options of an IP packet's TCP segment. */
export function mptcpOptionsOf(bytes: Uint8Array): MptcpOption[] {
  const out: MptcpOption[] = [];
  for (const o of tcpSegmentOf(bytes)?.options ?? []) if (o.kind === 'mptcp') out.push(o.option);
  return out;
}

/** Per-subflow data bytes sent by one end, "a/b/..." */
export function perSubflow(c: StreamConnection | undefined): string {
  if (!(c instanceof MptcpConnection)) return '-';
  return c.subflowInfo().map((x) => x.dataBytesSent).join('/');
}

/** Retransmitted segments of every subflow of one end. */
export function retransmits(c: StreamConnection | undefined): number {
  if (c instanceof MptcpConnection) return c.subflowInfo().reduce((n, x) => n + x.tcp.retransmits, 0);
  return c?.info().retransmits ?? 0;
}

/** One line: bytes per subflow both ways, retransmissions, MPTCP-level reinjections, virtual duration. */
export function summary(name: string, s: Scenario, extra = ''): string {
  const end = Math.max(s.up.closedAt ?? s.net.now, s.down.closedAt ?? s.net.now);
  return (
    `# ${name}: up ${s.up.received}/${s.up.data.length} B, down ${s.down.received}/${s.down.data.length} B; ` +
    `client subflows sent ${perSubflow(s.client)}, server subflows sent ${perSubflow(s.server)}; ` +
    `retransmitted segments ${retransmits(s.client)}/${retransmits(s.server)}, ` +
    `MPTCPRetrans ${s.clientHost.mptcpCounters.MPTCPRetrans}/${s.serverHost.mptcpCounters.MPTCPRetrans}; ` +
    `virtual ${((end - s.startedAt) / 1e6).toFixed(2)} s` +
    (extra ? `; ${extra}` : '')
  );
}
