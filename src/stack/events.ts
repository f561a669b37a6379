/**
 * The host's one event stream (`Host.pollEvent`): what its TCP connections, its MPTCP connections and its
 * `ip mptcp monitor` report, as one discriminated union on `type`.
 */
import type { TcpConnection } from '../tcp/connection.js';
import type { TcpEvent } from '../tcp/types.js';
import type { MptcpConnection } from '../mptcp/connection.js';
import type { MptcpEvent } from '../mptcp/events.js';
import type { Listener } from './listeners.js';

export type HostEvent =
  /** A plain TCP connection to a listener completed its handshake (like accept(2) returning). */
  | { readonly type: 'connection'; readonly listener: Listener; readonly connection: TcpConnection }
  /** An event of one plain TCP connection. */
  | { readonly type: 'tcp'; readonly connection: TcpConnection; readonly event: TcpEvent }
  /** An MPTCP connection (also one that fell back to TCP) to a listener completed its handshake. */
  | { readonly type: 'mptcpConnection'; readonly listener: Listener; readonly connection: MptcpConnection }
  /** An event of one MPTCP connection (also one that fell back to TCP). */
  | { readonly type: 'mptcp'; readonly connection: MptcpConnection; readonly event: TcpEvent }
  /**
   * An `ip mptcp monitor` event of one of the host's MPTCP connections (CREATED, ESTABLISHED, ANNOUNCED,
   * REMOVED, SF_ESTABLISHED, SF_CLOSED, SF_PRIO, CLOSED) with the kernel's attributes; print one with
   * `formatMonitorLine`.
   */
  | { readonly type: 'monitor'; readonly event: MptcpEvent };

/** A connection's accept or event, the kinds of `HostEvent` that name a connection. */
export type HostConnectionEvent = Exclude<HostEvent, { readonly type: 'monitor' }>;

/** How many monitor events are kept while nobody takes them (as a netlink socket's queue, bounded). */
export const MONITOR_BACKLOG = 1024;

/** A FIFO of monitor events that keeps the latest `MONITOR_BACKLOG`, oldest dropped first. */
export class MonitorLog {
  private readonly events: MptcpEvent[] = [];

  push(event: MptcpEvent): void {
    if (this.events.length >= MONITOR_BACKLOG) this.events.shift();
    this.events.push(event);
  }

  /** The oldest event kept, removed; undefined when there is none. */
  shift(): MptcpEvent | undefined {
    return this.events.shift();
  }

  get length(): number {
    return this.events.length;
  }
}
