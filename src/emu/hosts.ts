/**
 * Small `EmuHost`s for building topologies and tests: a sink that records what it receives, and a router
 * that forwards between its interfaces by a route function (with a longest-prefix-match helper over the IP
 * destination address, so multi-path topologies such as "two client interfaces, one server" can be built
 * without a full stack).
 */
import { parseCidr } from '../wire/address.js';
import type { EmuHost, Transmit } from './network.js';
import type { Micros } from './sim.js';

/** One packet recorded by a `PacketSink`. */
export interface ReceivedPacket {
  /** Arrival time. */
  readonly time: Micros;
  /** Interface it arrived on. */
  readonly ifaceId: number;
  /** The packet (the link's buffer, not a copy). */
  readonly bytes: Uint8Array;
}

/** A host that records every packet it receives and never sends. */
export class PacketSink implements EmuHost {
  /** Everything received, in arrival order. */
  readonly received: ReceivedPacket[] = [];
  /** Optional callback per packet (e.g. to count without keeping the bytes). */
  onPacket: ((packet: ReceivedPacket) => void) | undefined;
  /** When false, packets are counted but not kept in `received`. */
  keep = true;
  /** Packets received. */
  count = 0;
  /** Bytes received. */
  bytes = 0;

  handlePacket(now: Micros, ifaceId: number, bytes: Uint8Array): void {
    this.count++;
    this.bytes += bytes.length;
    const p = { time: now, ifaceId, bytes };
    if (this.keep) this.received.push(p);
    this.onPacket?.(p);
  }

  pollTransmit(): Transmit | undefined {
    return undefined;
  }

  pollTimeout(): Micros | undefined {
    return undefined;
  }

  handleTimeout(): void {}
}

/** Picks the egress interface for a packet that arrived on `inIface`; undefined drops it. */
export type RouteFunction = (bytes: Uint8Array, inIface: number) => number | undefined;

/** A host that forwards each packet at once (no processing delay) to the interface its route function picks. */
export class Router implements EmuHost {
  /** Packets the route function had no interface for. */
  unroutable = 0;
  private readonly out: Transmit[] = [];
  private outHead = 0;

  constructor(private readonly route: RouteFunction) {}

  handlePacket(_now: Micros, ifaceId: number, bytes: Uint8Array): void {
    const egress = this.route(bytes, ifaceId);
    if (egress === undefined) this.unroutable++;
    else this.out.push({ ifaceId: egress, bytes });
  }

  pollTransmit(): Transmit | undefined {
    if (this.outHead === this.out.length) {
      this.out.length = 0;
      this.outHead = 0;
      return undefined;
    }
    return this.out[this.outHead++];
  }

  pollTimeout(): Micros | undefined {
    return undefined;
  }

  handleTimeout(): void {}
}

/** The destination address of an IPv4 or IPv6 packet (a view), or undefined if it is neither or truncated. */
export function ipDestination(bytes: Uint8Array): Uint8Array | undefined {
  const version = bytes.length > 0 ? bytes[0]! >> 4 : 0;
  if (version === 4 && bytes.length >= 20) return bytes.subarray(16, 20);
  if (version === 6 && bytes.length >= 40) return bytes.subarray(24, 40);
  return undefined;
}

/**
 * A route function doing longest-prefix match of the IP destination over `[cidr, ifaceId]` entries
 * (e.g. `[['198.18.1.0/24', 0], ['0.0.0.0/0', 1]]`). Throws on a malformed CIDR (a configuration error).
 */
export function routeByDestination(table: ReadonlyArray<readonly [cidr: string, ifaceId: number]>): RouteFunction {
  const routes = table.map(([cidr, ifaceId]) => {
    const parsed = parseCidr(cidr);
    if (parsed === undefined) throw new Error(`bad CIDR ${cidr}`);
    return { address: parsed.address, prefix: parsed.prefixLength, ifaceId };
  });
  routes.sort((a, b) => b.prefix - a.prefix);
  return (bytes) => {
    const dst = ipDestination(bytes);
    if (dst === undefined) return undefined;
    for (const r of routes) {
      if (r.address.length !== dst.length) continue;
      const full = r.prefix >> 3;
      let ok = true;
      for (let i = 0; i < full && ok; i++) ok = r.address[i] === dst[i];
      const rem = r.prefix & 7;
      if (ok && rem > 0) {
        const mask = (0xff << (8 - rem)) & 0xff;
        ok = ((r.address[full]! ^ dst[full]!) & mask) === 0;
      }
      if (ok) return r.ifaceId;
    }
    return undefined;
  };
}
