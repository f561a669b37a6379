/**
 * Interfaces, addresses and routes of one host, and source-address selection. Routes are longest-prefix
 * match; every interface address implies an on-link route for its prefix (as `ip addr add` does on Linux).
 * Sans-IO and allocation-free on the per-packet path (`isLocalAddress`, `routeFor`).
 */
import { addressEqual, formatAddress, parseCidr } from '../wire/address.js';

/** An address assigned to an interface, with its prefix length. */
export interface InterfaceAddress {
  readonly address: Uint8Array;
  readonly prefixLength: number;
}

/** One network interface of the host. */
export interface HostInterface {
  readonly id: number;
  readonly name: string;
  readonly mtu: number;
  readonly addresses: InterfaceAddress[];
}

/** A route: destinations in `prefix/prefixLength` leave through interface `ifaceId`. */
export interface Route {
  readonly prefix: Uint8Array;
  readonly prefixLength: number;
  readonly ifaceId: number;
  /** Preferred source address for this route (like `ip route ... src`). */
  readonly source?: Uint8Array;
}

/** Whether `address` lies in `prefix/prefixLength` (same family required). */
export function prefixContains(prefix: Uint8Array, prefixLength: number, address: Uint8Array): boolean {
  if (prefix.length !== address.length) return false;
  const fullBytes = prefixLength >> 3;
  for (let i = 0; i < fullBytes; i++) if (prefix[i] !== address[i]) return false;
  const rest = prefixLength & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (prefix[fullBytes]! & mask) === (address[fullBytes]! & mask);
}

/** The routing table and interface list of a host. */
export class RoutingTable {
  readonly interfaces: HostInterface[] = [];
  private readonly routes: Route[] = [];

  /** Adds an interface with addresses given as CIDR text ("198.18.0.2/24", "2001:2::2/64"). */
  addInterface(name: string, cidrs: readonly string[], mtu = 1500): HostInterface {
    const iface: HostInterface = { id: this.interfaces.length, name, mtu, addresses: [] };
    this.interfaces.push(iface);
    for (const c of cidrs) this.addAddress(iface.id, c);
    return iface;
  }

  /** Adds an address (CIDR text) to an interface, with its on-link route. Throws on bad input (config). */
  addAddress(ifaceId: number, cidr: string): InterfaceAddress {
    const parsed = parseCidr(cidr);
    if (!parsed) throw new Error(`bad address "${cidr}": expected ADDRESS/PREFIX, e.g. 198.18.0.2/24 or 2001:2::2/64`);
    const iface = this.interfaces[ifaceId];
    if (!iface) throw new Error(`no interface ${ifaceId}`);
    iface.addresses.push(parsed);
    this.addRoute({ prefix: parsed.address, prefixLength: parsed.prefixLength, ifaceId, source: parsed.address });
    return parsed;
  }

  /** Removes an address and its on-link route; returns whether it existed. */
  removeAddress(address: Uint8Array): boolean {
    for (const iface of this.interfaces) {
      const i = iface.addresses.findIndex((a) => addressEqual(a.address, address));
      if (i < 0) continue;
      iface.addresses.splice(i, 1);
      for (let r = this.routes.length - 1; r >= 0; r--) {
        const source = this.routes[r]!.source;
        if (source && addressEqual(source, address)) this.routes.splice(r, 1);
      }
      return true;
    }
    return false;
  }

  /** Adds a route (e.g. a default route `0.0.0.0/0` through an interface). Longer prefixes win. */
  addRoute(route: Route): void {
    this.routes.push(route);
    // Keep longest prefixes first so lookup takes the first match.
    this.routes.sort((a, b) => b.prefixLength - a.prefixLength);
  }

  /** The route for a destination, or undefined (no route to host). */
  routeFor(destination: Uint8Array): Route | undefined {
    for (const r of this.routes) if (prefixContains(r.prefix, r.prefixLength, destination)) return r;
    return undefined;
  }

  /** The interface id owning `address`, or -1. */
  interfaceOf(address: Uint8Array): number {
    for (const iface of this.interfaces) for (const a of iface.addresses) if (addressEqual(a.address, address)) return iface.id;
    return -1;
  }

  isLocalAddress(address: Uint8Array): boolean {
    return this.interfaceOf(address) >= 0;
  }

  /**
   * Source-address selection (a small subset of RFC 6724): the route's preferred source if it has one,
   * else an address of the outgoing interface in the same family, preferring one whose prefix contains the
   * destination. Undefined when there is no route or no usable address.
   */
  selectSource(destination: Uint8Array): { source: Uint8Array; ifaceId: number } | undefined {
    const route = this.routeFor(destination);
    if (!route) return undefined;
    if (route.source) return { source: route.source, ifaceId: route.ifaceId };
    const iface = this.interfaces[route.ifaceId];
    if (!iface) return undefined;
    let fallback: Uint8Array | undefined;
    for (const a of iface.addresses) {
      if (a.address.length !== destination.length) continue;
      if (prefixContains(a.address, a.prefixLength, destination)) return { source: a.address, ifaceId: iface.id };
      fallback ??= a.address;
    }
    return fallback ? { source: fallback, ifaceId: iface.id } : undefined;
  }

  /** Human-readable table, for CLIs and error messages. */
  describe(): string {
    return this.routes.map((r) => `${formatAddress(r.prefix)}/${r.prefixLength} dev ${this.interfaces[r.ifaceId]?.name ?? r.ifaceId}`).join('\n');
  }
}
