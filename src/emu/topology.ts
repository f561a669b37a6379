/**
 * Topologies with a shared link: a dumbbell, where interfaces on the left and interfaces on the right reach
 * each other through two routers and ONE bottleneck link between them (each direction one `Link`, one
 * queue), so every flow between the sides competes for the same capacity. This is the topology of RFC 6356
 * goal 2 ("do no harm" at a shared bottleneck) and of the coupled-congestion-control papers' fairness runs:
 * an MPTCP connection with two subflows over the left's two interfaces and a TCP connection over a third,
 * all through the bottleneck.
 *
 *   left[0] --access-- +------+                     +------+ --access-- right[0]
 *   left[1] --access-- | left |====bottleneck=======| right| --access-- right[1]
 *   left[2] --access-- +------+                     +------+ --access-- right[2]
 *
 * Each router forwards at once (`Router`) by longest-prefix match on the destination address: to one of
 * its side's addresses (a host route) through that interface's access link, to anything else over the
 * bottleneck; what arrives over the bottleneck for an address not on the router's side is dropped (counted as
 * `unroutable`), never sent back. Hosts keep on-link routes for their own prefixes (198.18.N.2/24 <->
 * 198.18.N.1/24): the routers are invisible to them (no TTL, no ARP), as a switch with a shaped trunk would be.
 */
import type { LinkConfig } from './link.js';
import type { ConnectOptions, DuplexLink, Endpoint, Network } from './network.js';
import { Router, routeByDestination } from './hosts.js';

/** One interface at the edge of the dumbbell and the address that routes to it. */
export interface EdgeInterface {
  readonly endpoint: Endpoint;
  /** The interface's address (no prefix: a host route /32 or /128 is made). */
  readonly address: string;
}

/** How `dumbbell` builds the topology. */
export interface DumbbellOptions {
  /** Unique base name of the routers and links (default "dumbbell"). */
  readonly name?: string;
  readonly left: readonly EdgeInterface[];
  readonly right: readonly EdgeInterface[];
  /** The shared link: `forward` carries left to right. */
  readonly bottleneck: ConnectOptions;
  /** Every access link, both ways (default: ideal, instant). */
  readonly access?: LinkConfig;
}

/** What `dumbbell` made. */
export interface Dumbbell {
  readonly leftRouter: Router;
  readonly rightRouter: Router;
  /** The shared link (`forward`: left to right). */
  readonly bottleneck: DuplexLink;
  /** Access links in the order of `left` / `right` (`forward`: from the edge interface to its router). */
  readonly leftAccess: readonly DuplexLink[];
  readonly rightAccess: readonly DuplexLink[];
}

const hostRoute = (address: string): string => `${address}/${address.includes(':') ? 128 : 32}`;

/** Builds a dumbbell on `network` (see the file comment). Throws on a bad address (a configuration error). */
export function dumbbell(network: Network, options: DumbbellOptions): Dumbbell {
  const name = options.name ?? 'dumbbell';
  const side = (edges: readonly EdgeInterface[]): Router => {
    const uplink = edges.length;
    const local = routeByDestination(edges.map((e, i) => [hostRoute(e.address), i]));
    // What came over the bottleneck goes to this side or nowhere (never back: no TTL to end a loop).
    return new Router((bytes, inIface) => local(bytes, inIface) ?? (inIface === uplink ? undefined : uplink));
  };
  const leftRouter = network.addHost(`${name}-left`, side(options.left));
  const rightRouter = network.addHost(`${name}-right`, side(options.right));
  const access = options.access ?? {};
  const leftAccess = options.left.map((e, i) => network.connect(e.endpoint, [leftRouter, i], { config: access, name: `${name}-left${i}` }));
  const rightAccess = options.right.map((e, i) => network.connect(e.endpoint, [rightRouter, i], { config: access, name: `${name}-right${i}` }));
  const bottleneck = network.connect([leftRouter, options.left.length], [rightRouter, options.right.length], {
    ...options.bottleneck,
    name: options.bottleneck.name ?? `${name}-bottleneck`,
  });
  return { leftRouter, rightRouter, bottleneck, leftAccess, rightAccess };
}
