/**
 * Passive sockets (Linux: the listening hash of inet_hashtables.c): a listener per port, on one local
 * address or on all of them, and the lookup of the listener a SYN is for.
 */
import { addressEqual } from '../wire/address.js';
import type { TcpConfig } from '../tcp/types.js';
import { EPHEMERAL_PORT_RANGE } from './isn.js';

/** MPTCP options of `Host.connect` and `Host.listen`. */
export interface MptcpHostOptions {
  /** Use MPTCP (MP_CAPABLE in the SYN / answer MP_CAPABLE SYNs with MP_CAPABLE). */
  readonly mptcp?: boolean;
  /** Ask for DSS checksums (like net.mptcp.checksum_enabled = 1). */
  readonly checksum?: boolean;
}

/** A passive socket: SYNs to `port` (on `address`, or any local address) create connections. */
export class Listener {
  /** Children in SYN-RECEIVED, not yet reported. */
  pending = 0;
  closed = false;

  constructor(
    readonly port: number,
    readonly address: Uint8Array | undefined,
    readonly config: TcpConfig | undefined,
    /** Most children allowed in SYN-RECEIVED at once; further SYNs are dropped (Linux: SYN queue). */
    readonly backlog: number,
    private readonly table: ListenerTable,
    /** MPTCP: SYNs with MP_CAPABLE get MPTCP connections, other SYNs plain TCP ones. */
    readonly mptcp: MptcpHostOptions = {},
  ) {}

  /** Stops accepting; existing connections are unaffected. */
  close(): void {
    this.closed = true;
    this.table.remove(this);
  }
}

/** The listeners of one host. */
export class ListenerTable {
  private readonly listeners: Listener[] = [];

  /** The highest ephemeral port no listener uses (Linux picks one for listen() on port 0). Throws EADDRINUSE. */
  freePort(): number {
    let port = EPHEMERAL_PORT_RANGE.max;
    while (port >= EPHEMERAL_PORT_RANGE.min && this.listeners.some((l) => l.port === port)) port--;
    if (port < EPHEMERAL_PORT_RANGE.min) throw new Error('no free port to listen on (EADDRINUSE)');
    return port;
  }

  /** A new listener on `port` on all local addresses, or on `address` (checked to be local). Throws EADDRINUSE. */
  add(port: number, address: Uint8Array | undefined, options: { config?: TcpConfig; backlog?: number } & MptcpHostOptions): Listener {
    for (const l of this.listeners) {
      if (l.port === port && (!l.address || !address || addressEqual(l.address, address))) {
        throw new Error(`address in use: port ${port} is already listening (EADDRINUSE)`);
      }
    }
    const mptcp: MptcpHostOptions = { mptcp: options.mptcp ?? false, checksum: options.checksum ?? false };
    const listener = new Listener(port, address, options.config, options.backlog ?? 4096, this, mptcp);
    this.listeners.push(listener);
    return listener;
  }

  /** Used by `Listener.close`. */
  remove(listener: Listener): void {
    const i = this.listeners.indexOf(listener);
    if (i >= 0) this.listeners.splice(i, 1);
  }

  /** The listener for a SYN to `local`:`port`: one bound to that address, else a wildcard one. */
  find(local: Uint8Array, port: number): Listener | undefined {
    let wildcard: Listener | undefined;
    for (const l of this.listeners) {
      if (l.port !== port) continue;
      if (!l.address) wildcard ??= l;
      else if (addressEqual(l.address, local)) return l;
    }
    return wildcard;
  }
}
