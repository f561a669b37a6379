/**
 * The host's one event stream (`Host.pollEvent`): what its TCP connections, its MPTCP connections and its
 * `ip mptcp monitor` report, as one discriminated union on `type`.
 */
import type { TcpConnection } from '../tcp/connection.js';
import type { TcpEvent } from '../tcp/types.js';
import type { MptcpConnection } from '../mptcp/connection.js';
import type { MptcpEvent } from '../mptcp/events.js';
import type { Listener } from './listeners.js';
import type { ConnectionEntry, ConnectionTable } from './connection-table.js';

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

/**
 * The host's event stream over its connection table: accepts and events of its connections, with the
 * listeners' bookkeeping, and its monitor events. `forget` removes a closed connection from the host.
 */
export class HostEventStream {
  /** The host's monitor events not polled yet (the latest 1024); its MPTCP connections push them here. */
  readonly monitor = new MonitorLog();
  /** The second event of an accept (the connection's 'established'), for the next `poll`. */
  private readonly queue: HostEvent[] = [];
  /** Which part of a drain `poll` is in. */
  private phase: 'mptcp' | 'tcp' | 'monitor' = 'mptcp';

  constructor(
    private readonly table: ConnectionTable,
    private readonly forget: (entry: ConnectionEntry) => void,
  ) {}

  /**
   * The host's next event: a connection accepted by a listener, an event of a connection, or an
   * `ip mptcp monitor` event. A drain (calls until undefined) reports, in this order, the MPTCP connections'
   * accepts and events (connection-table order, each connection's events together), then the plain TCP
   * connections', then the monitor events since the last drain (the latest 1024). A connection that is
   * closed and has nothing left to report is forgotten on the way.
   *
   * That order is the one the applications saw when these were three separate polls (pollMptcpEvent,
   * pollEvent, pollMonitorEvent, drained one after the other) and is kept so that their output is byte for
   * byte what it was. Monitor events coming after the connection events of the same turn is an artefact of
   * that (the kernel's netlink messages interleave with socket wake-ups): do not rely on it. Events that
   * a handler causes for a part already drained wait for the next drain, as they did.
   */
  poll(): HostEvent | undefined {
    const queued = this.queue.shift();
    if (queued) return queued;
    if (this.phase === 'mptcp') {
      const e = this.pollConnections('mptcp');
      if (e) return e;
      this.phase = 'tcp';
    }
    if (this.phase === 'tcp') {
      const e = this.pollConnections('tcp');
      if (e) return e;
      this.phase = 'monitor';
    }
    const m = this.monitor.shift();
    if (m) return { type: 'monitor', event: m };
    this.phase = 'mptcp';
    return undefined;
  }

  /**
   * The next accept or event of the connections of one kind, in table order: of those that may have one
   * (the table's attention sets, attention.ts); the others have none.
   */
  private pollConnections(kind: ConnectionEntry['kind']): HostEvent | undefined {
    const attention = this.table.attention;
    /** Children that died in SYN-RECEIVED, asked again at the next poll. */
    let hidden: ConnectionEntry[] | undefined;
    try {
      for (let entry = attention.firstEventCandidate(kind); entry !== undefined; entry = attention.firstEventCandidate(kind)) {
        const event = entry.connection.pollEvent();
        if (!event) {
          attention.noEvents(entry);
          if (entry.isClosed) this.forget(entry);
          continue;
        }
        attention.touch(entry);
        const child = this.childEvent(entry, event);
        if (child === 'hide') {
          attention.noEvents(entry);
          (hidden ??= []).push(entry);
          continue;
        }
        if (entry.kind === 'mptcp') {
          if (child === 'accept') this.queue.push({ type: 'mptcpConnection', listener: entry.listener!, connection: entry.connection });
          this.queue.push({ type: 'mptcp', connection: entry.connection, event });
        } else {
          if (child === 'accept') this.queue.push({ type: 'connection', listener: entry.listener!, connection: entry.connection });
          this.queue.push({ type: 'tcp', connection: entry.connection, event });
        }
        return this.queue.shift();
      }
      return undefined;
    } finally {
      if (hidden) for (const e of hidden) attention.touchEvents(e);
    }
  }

  /**
   * A listener's child and its event: 'accept' when it was just established and its listener is open (the
   * application hears of it before the event), 'hide' when it died in SYN-RECEIVED (never reported).
   * Established under a closed listener, it is aborted.
   */
  private childEvent(entry: ConnectionEntry, event: TcpEvent): 'accept' | 'hide' | undefined {
    if (!entry.listener || entry.reported) return undefined;
    if (event.type === 'established') {
      entry.reported = true;
      entry.listener.pending--;
      if (!entry.listener.closed) return 'accept';
      entry.connection.abort();
      return undefined;
    }
    if (event.type === 'closed') {
      entry.reported = true; // died in SYN-RECEIVED: never reported to the application
      entry.listener.pending--;
      return 'hide';
    }
    return undefined;
  }
}
