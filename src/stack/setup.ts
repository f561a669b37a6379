/**
 * What opening any connection or subflow needs of its host: a local address checked to be ours, a free
 * ephemeral port (RFC 6056), the ISN (RFC 6528) and the connection's TCP config with the MSS the
 * interface allows.
 */
import { parseAddress } from '../wire/address.js';
import type { TcpEndpoints } from '../tcp/connection.js';
import type { Micros, TcpConfig } from '../tcp/types.js';
import type { RoutingTable } from './routing.js';
import type { ConnectionTable } from './connection-table.js';
import { EphemeralPorts, initialSequenceNumber } from './isn.js';
import { DEFAULT_CONGESTION_CONTROL } from '../cc/registry.js';

export class ConnectionSetup {
  private readonly ports: EphemeralPorts;

  constructor(
    private readonly hostName: string,
    private readonly secret: Uint8Array,
    /** Defaults for every connection of the host. */
    private tcpDefaults: TcpConfig,
    private readonly routing: RoutingTable,
    private readonly table: ConnectionTable,
  ) {
    this.ports = new EphemeralPorts(secret);
  }

  /** An address of this host, from its text; throws for bad text or an address that is not ours. */
  parseLocal(text: string): Uint8Array {
    const a = parseAddress(text);
    if (!a) throw new Error(`bad address "${text}"`);
    if (!this.routing.isLocalAddress(a)) throw new Error(`${text} is not an address of host ${this.hostName} (EADDRNOTAVAIL)`);
    return a;
  }

  /** A local port no connection uses towards `remote`:`remotePort`, or undefined when the range is full. */
  freePort(local: Uint8Array, remote: Uint8Array, remotePort: number): number | undefined {
    return this.ports.allocate(local, remote, remotePort, (p) => this.table.find(local, p, remote, remotePort) === undefined);
  }

  iss(endpoints: TcpEndpoints, now: Micros): number {
    return initialSequenceNumber(this.secret, endpoints, now);
  }

  /** The host's default congestion controller (net.ipv4.tcp_congestion_control). */
  get congestionControl(): string {
    return this.tcpDefaults.congestionControl ?? DEFAULT_CONGESTION_CONTROL;
  }

  /** Changes it for connections created from now on (the name is checked by the host). */
  setCongestionControl(name: string): void {
    this.tcpDefaults = { ...this.tcpDefaults, congestionControl: name };
  }

  /** Per-connection config: host defaults, then the caller's, with the MSS capped by the interface MTU. */
  config(override: TcpConfig | undefined, ifaceId: number, remote: Uint8Array): TcpConfig {
    const merged: TcpConfig = { ...this.tcpDefaults, ...override };
    const mtu = this.routing.interfaces[ifaceId]?.mtu ?? 1500;
    const mssFromMtu = mtu - (remote.length === 16 ? 60 : 40);
    return { ...merged, mss: Math.min(merged.mss ?? 1460, mssFromMtu) };
  }
}
