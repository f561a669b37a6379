/**
 * MP_JOIN subflows at the host (Linux: subflow.c `__mptcp_subflow_connect` and `subflow_check_req`, the
 * path manager's worker, token.c): the token table, opening the subflows a connection asks for or an
 * application adds, and accepting or refusing MP_JOIN SYNs.
 */
import { addressEqual, formatAddress, parseAddress } from '../wire/address.js';
import type { TcpSegment } from '../wire/tcp.js';
import type { TcpConnection, TcpEndpoints } from '../tcp/connection.js';
import type { Micros, TcpConfig } from '../tcp/types.js';
import type { MptcpConnection } from '../mptcp/connection.js';
import type { MptcpCounters } from '../mptcp/mib.js';
import { TokenTable } from '../mptcp/token.js';
import type { RoutingTable } from './routing.js';
import type { ConnectionTable, MptcpEntry } from './connection-table.js';
import type { ConnectionSetup } from './setup.js';
import type { MptcpSettings } from './settings.js';

/** Options of `Host.addSubflow`. */
export interface AddSubflowHostOptions {
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  readonly backup?: boolean;
  readonly addressId?: number;
  readonly config?: TcpConfig;
  readonly endpointId?: number;
  readonly remoteId?: number;
}

export class MptcpJoins {
  /** Live MPTCP connections by local token (unique per host, as Linux's per-namespace table). */
  readonly tokens = new TokenTable<MptcpConnection>();
  /** MPTCP connections whose path manager asked for subflows since they were last served. */
  readonly pending = new Set<MptcpConnection>();

  constructor(
    private readonly setup: ConnectionSetup,
    private readonly routing: RoutingTable,
    private readonly table: ConnectionTable,
    private readonly settings: MptcpSettings,
    private readonly counters: MptcpCounters,
  ) {}

  /** The host forgets `connection`: its token is free again and its requests are dropped. */
  forget(connection: MptcpConnection): void {
    this.tokens.delete(connection.localToken, connection);
    this.pending.delete(connection);
  }

  /** See `Host.addSubflow`. */
  addSubflow(now: Micros, connection: MptcpConnection, localAddress: string, options: AddSubflowHostOptions = {}): TcpConnection {
    const main = this.table.entryOf(connection);
    if (main === undefined) throw new Error('not an MPTCP connection of this host');
    const local = this.setup.parseLocal(localAddress);
    const remote = options.remoteAddress === undefined ? connection.endpoints.remoteAddress : parseAddress(options.remoteAddress);
    if (!remote) throw new Error(`bad address "${String(options.remoteAddress)}"`);
    if (local.length !== remote.length) throw new Error('MPTCP never joins across address families');
    const remotePort = options.remotePort ?? connection.endpoints.remotePort;
    const localPort = this.setup.freePort(local, remote, remotePort);
    if (localPort === undefined) throw new Error('no free ephemeral port (EADDRNOTAVAIL)');
    const ifaceId = this.routing.interfaceOf(local);
    const endpoints: TcpEndpoints = { localAddress: local, localPort, remoteAddress: remote, remotePort };
    const config = this.setup.config(options.config ?? main.config, ifaceId, remote);
    const iss = this.setup.iss(endpoints, now);
    const addressId = options.addressId ?? this.addressIdOf(connection, local);
    const subflow = connection.joinSubflow(now, endpoints, iss, config, {
      addressId,
      tag: ifaceId,
      ...(options.backup !== undefined ? { backup: options.backup } : {}),
      ...(options.endpointId !== undefined ? { endpointId: options.endpointId } : {}),
      ...(options.remoteId !== undefined ? { remoteId: options.remoteId } : {}),
    });
    this.table.addJoin(main, subflow);
    return subflow;
  }

  /**
   * MP_JOIN, server side: a SYN with MP_JOIN to an MPTCP listener (or a signal endpoint's port). The token
   * names the connection (our local token). Returns false when the SYN is refused and must be answered
   * with a RST carrying MP_TCPRST (Linux `subflow_check_req`): an unknown token or a connection that
   * cannot be joined, or the `subflows` limit reached.
   */
  acceptJoin(now: Micros, arrivalIface: number, local: Uint8Array, remote: Uint8Array, seg: TcpSegment, token: number): boolean {
    const connection = this.tokens.get(token);
    const main = connection !== undefined && connection.canJoin ? this.table.entryOf(connection) : undefined;
    if (connection === undefined || main === undefined) {
      this.counters.MPJoinNoTokenFound++;
      return false;
    }
    if (!connection.acceptsJoin()) {
      // mptcp_pm_allow_new_subflow refused (the `subflows` limit): Linux resets with MP_TCPRST.
      this.counters.MPJoinRejected++;
      return false;
    }
    const endpoints: TcpEndpoints = { localAddress: local, localPort: seg.dstPort, remoteAddress: remote, remotePort: seg.srcPort };
    const ifaceId = this.routing.routeFor(remote)?.ifaceId ?? arrivalIface;
    const config = this.setup.config(main.config, ifaceId, remote);
    const iss = this.setup.iss(endpoints, now);
    const subflow = connection.acceptJoin(now, endpoints, iss, seg, config, { addressId: this.addressIdOf(connection, local), tag: ifaceId });
    this.table.addJoin(main, subflow);
    return true;
  }

  /**
   * Opens the subflows every waiting connection's path manager asked for, in the order of the connection
   * table (so the ports and nonces they draw come in the same order whatever order they asked in).
   */
  runPending(now: Micros): void {
    if (this.pending.size === 1) {
      for (const connection of this.pending) this.run(now, connection);
      return;
    }
    const entries: MptcpEntry[] = [];
    for (const c of this.pending) {
      const e = this.table.entryOf(c);
      if (e !== undefined) entries.push(e);
    }
    entries.sort((a, b) => a.slots.seq - b.slots.seq);
    for (const e of entries) if (this.pending.has(e.connection)) this.run(now, e.connection);
  }

  /** Opens the subflows `connection`'s path manager asked for, if it asked. */
  runIfPending(now: Micros, connection: MptcpConnection): void {
    if (this.pending.size > 0 && this.pending.has(connection)) this.run(now, connection);
  }

  /** Opens the subflows a connection's path manager asked for (failures are ignored, as the kernel's are). */
  private run(now: Micros, connection: MptcpConnection): void {
    this.pending.delete(connection);
    if (!connection.hasSubflowRequests) return;
    for (const r of connection.takeSubflowRequests()) {
      try {
        if (!connection.canJoin) return;
        const local = r.localAddress ?? this.routing.selectSource(r.remoteAddress)?.source;
        if (local === undefined) continue;
        this.addSubflow(now, connection, formatAddress(local), {
          remoteAddress: formatAddress(r.remoteAddress),
          remotePort: r.remotePort,
          backup: r.backup,
          ...(r.localId >= 0 ? { addressId: r.localId } : {}),
          ...(r.endpointId !== undefined ? { endpointId: r.endpointId } : {}),
          remoteId: r.remoteId,
        });
      } catch {
        // no route, no port, not joinable: the kernel's __mptcp_subflow_connect fails the same way
      }
    }
  }

  /** An address id for `local` within `connection`: 0 for the initial subflow's address, else 1 + its index. */
  private addressIdOf(connection: MptcpConnection, local: Uint8Array): number {
    if (addressEqual(connection.endpoints.localAddress, local)) return 0;
    const endpoint = this.settings.endpoints.lookup(local);
    if (endpoint !== undefined) return endpoint.id;
    let i = 0;
    for (const iface of this.routing.interfaces) {
      for (const a of iface.addresses) {
        i++;
        if (addressEqual(a.address, local)) return Math.min(255, i);
      }
    }
    return 1;
  }
}
