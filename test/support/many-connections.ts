/**
 * Many MPTCP connections on one host pair (issue 13, scale): a client and a server of this stack on two
 * emulated paths; the client opens `count` MPTCP connections on path 1 and, as each is established, joins a
 * second subflow from its path-2 address. Used by test/stack/scale.test.ts (that they establish and move
 * data) and bench/scale.ts (per-turn cost and memory per connection). Virtual time only.
 */
import { MptcpApp } from '../../src/harness/host-app.js';
import { HostPair } from '../../src/harness/pair.js';
import type { MptcpConnection } from '../../src/mptcp/connection.js';
import type { Micros } from '../../src/time/micros.js';

export const SCALE_PORT = 5201;

export interface ManyConnections {
  readonly pair: HostPair<MptcpApp, MptcpApp>;
  readonly clients: MptcpConnection[];
  readonly servers: MptcpConnection[];
  /** Bytes the server side read, per server connection (by accept order). */
  readonly received: Map<MptcpConnection, number>;
  /** Whether the server application reads what arrives (false: data stays in its receive buffers). */
  reading: boolean;
}

/** Connections established with two subflows each (client side). */
export function establishedWithTwoSubflows(m: ManyConnections): number {
  let n = 0;
  for (const c of m.clients) if (c.state === 'ESTABLISHED' && c.subflows().filter((s) => s.tcp.state === 'ESTABLISHED').length === 2) n++;
  return n;
}

/** Builds the pair and opens `count` connections (their SYNs leave once the caller runs the network). */
export function manyConnections(count: number, options: { seed?: number; delayMicros?: Micros } = {}): ManyConnections {
  const seed = options.seed ?? 5;
  const link = { config: { rateBitsPerSecond: 10e9, delayMicros: options.delayMicros ?? 1_000, queueLimitPackets: 1_000_000 } };
  const clients: MptcpConnection[] = [];
  const servers: MptcpConnection[] = [];
  const received = new Map<MptcpConnection, number>();
  const state = { reading: true };
  const pair = new HostPair(
    {
      seed,
      names: ['c', 's'],
      client: { name: 'c', secret: new Uint8Array(32).fill(seed) },
      server: { name: 's', secret: new Uint8Array(32).fill(seed + 100) },
      paths: [
        { clientAddress: '198.18.1.2/24', serverAddress: '198.18.1.1/24', link },
        { clientAddress: '198.18.2.2/24', serverAddress: '198.18.2.1/24', link },
      ],
      setUp: (_c, s) => s.setMptcpLimits('subflows 2'),
    },
    {
      client: (host) =>
        new MptcpApp(host, (c, e, now) => {
          if (e !== 'accepted' && e.type === 'established') host.addSubflow(now, c, '198.18.2.2', { remoteAddress: '198.18.2.1' });
        }),
      server: (host) =>
        new MptcpApp(host, (c, e) => {
          if (e === 'accepted') {
            servers.push(c);
            received.set(c, 0);
            return;
          }
          if (!state.reading) return;
          if (e.type === 'readable' || e.type === 'end') for (let b = c.read(); b; b = c.read()) received.set(c, (received.get(c) ?? 0) + b.length);
        }),
    },
  );
  pair.serverHost.listen(SCALE_PORT, { mptcp: true, backlog: count + 16 });
  for (let i = 0; i < count; i++) clients.push(pair.clientHost.connect(0, '198.18.1.1', SCALE_PORT, { mptcp: true, localAddress: '198.18.1.2' }));
  pair.wakeClient();
  const m: ManyConnections = {
    pair,
    clients,
    servers,
    received,
    get reading() {
      return state.reading;
    },
    set reading(v: boolean) {
      state.reading = v;
    },
  };
  return m;
}

/** Runs the network in 10 ms slices until every connection has two established subflows, at most `limit` of virtual time. */
export function establishAll(m: ManyConnections, limit: Micros = 60_000_000): boolean {
  return m.pair.drive(() => establishedWithTwoSubflows(m) === m.clients.length, limit, 50_000);
}
