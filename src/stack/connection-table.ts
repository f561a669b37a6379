/**
 * A host's connection table (Linux: the established hash of inet_hashtables.c, one socket per 4-tuple).
 * Each connection sits in one entry whose `kind` says what it is: a plain TCP connection, or an MPTCP
 * connection (registered under its initial subflow's 4-tuple) whose MP_JOIN subflows each get a `join`
 * entry of their own in the 4-tuple index. The entries give the host one interface for both kinds
 * (segment in, packet out, closed), so the host itself never asks which kind it holds except where the
 * protocols really differ (tokens and subflows, MPTCP's).
 */
import { addressEqual } from '../wire/address.js';
import type { TcpSegment, TcpSegmentRepr } from '../wire/tcp.js';
import type { TcpConnection, TcpEndpoints } from '../tcp/connection.js';
import type { Micros, TcpConfig } from '../tcp/types.js';
import type { MptcpConnection } from '../mptcp/connection.js';
import type { Listener } from './listeners.js';
import { Attention, type AttentionSlots } from './attention.js';

/** One IP packet for an interface. */
export interface OutPacket {
  readonly ifaceId: number;
  readonly bytes: Uint8Array;
}

/** Builds the IP packet of a TCP segment from `src` to `dst` (the host's). */
export type PacketBuilder = (src: Uint8Array, dst: Uint8Array, repr: TcpSegmentRepr) => Uint8Array;

/**
 * What the host asks of a connection of its table, whatever its kind: segments in, packets out (with the
 * interface they leave by), whether it is closed, its TCP connections; and of `connection`, what TCP and
 * MPTCP connections share (events, timers, abort).
 */
abstract class EntryBase<C extends TcpConnection | MptcpConnection> {
  abstract readonly kind: 'tcp' | 'mptcp';
  /** The listener was told about this child. */
  reported = false;
  /** The host's attention sets' view of it (attention.ts), given when the table adds it. */
  slots!: AttentionSlots<ConnectionEntry>;

  constructor(
    readonly connection: C,
    /** The interface of the connection (MPTCP: of its initial subflow). */
    readonly ifaceId: number,
    readonly listener: Listener | undefined,
    /** The caller's TCP config (MPTCP: reused for the connection's MP_JOIN subflows). */
    readonly config: TcpConfig | undefined,
  ) {}

  get endpoints(): TcpEndpoints {
    return this.connection.endpoints;
  }

  handleSegment(now: Micros, seg: TcpSegment): void {
    this.connection.handleSegment(now, seg);
  }

  /** Closed and done: the host forgets it once it has no event left. */
  abstract get isClosed(): boolean;
  /** Its next packet, or undefined when it has nothing to send now. */
  abstract pollPacket(now: Micros, build: PacketBuilder): OutPacket | undefined;
  /** Appends its TCP connections (a plain one itself, an MPTCP one its subflows) to `out`. */
  abstract collectTcp(out: TcpConnection[]): void;
}

/** A plain TCP connection of the table. */
export class TcpEntry extends EntryBase<TcpConnection> {
  readonly kind = 'tcp';

  get isClosed(): boolean {
    return this.connection.state === 'CLOSED';
  }

  pollPacket(now: Micros, build: PacketBuilder): OutPacket | undefined {
    const repr = this.connection.pollTransmit(now);
    if (!repr) return undefined;
    const { endpoints } = this.connection;
    return { ifaceId: this.ifaceId, bytes: build(endpoints.localAddress, endpoints.remoteAddress, repr) };
  }

  collectTcp(out: TcpConnection[]): void {
    out.push(this.connection);
  }
}

/** An MPTCP connection of the table (also one that fell back to TCP). */
export class MptcpEntry extends EntryBase<MptcpConnection> {
  readonly kind = 'mptcp';
  /** The entries of its MP_JOIN subflows. */
  readonly joins: JoinEntry[] = [];

  get isClosed(): boolean {
    return this.connection.isClosed;
  }

  /** The next segment of any subflow, out of the interface its subflow was opened on. */
  pollPacket(now: Micros, build: PacketBuilder): OutPacket | undefined {
    const out = this.connection.pollTransmitFrom(now);
    if (!out) return undefined;
    const ifaceId = out.subflow.tcp === this.connection.subflow || out.subflow.tag < 0 ? this.ifaceId : out.subflow.tag;
    const { endpoints } = out.subflow.tcp;
    return { ifaceId, bytes: build(endpoints.localAddress, endpoints.remoteAddress, out.repr) };
  }

  collectTcp(out: TcpConnection[]): void {
    for (const s of this.connection.subflows()) out.push(s.tcp);
  }
}

/** An MP_JOIN subflow of an MPTCP entry, demultiplexed by its own 4-tuple. */
export class JoinEntry {
  readonly kind = 'join';

  constructor(
    readonly main: MptcpEntry,
    readonly subflow: TcpConnection,
  ) {}

  get connection(): MptcpConnection {
    return this.main.connection;
  }

  get endpoints(): TcpEndpoints {
    return this.subflow.endpoints;
  }

  handleSegment(now: Micros, seg: TcpSegment): void {
    this.main.connection.handleSubflowSegment(now, this.subflow, seg);
  }
}

/** What the table holds per connection. */
export type ConnectionEntry = TcpEntry | MptcpEntry;
/** What a 4-tuple finds. */
export type PortEntry = ConnectionEntry | JoinEntry;

const portKey = (endpoints: TcpEndpoints): number => endpoints.localPort * 0x10000 + endpoints.remotePort;

export class ConnectionTable {
  /** Connections in the order they were added (the order output and events are served in). */
  readonly entries: ConnectionEntry[] = [];
  /**
   * Where the next round of output starts (`Host.pollTransmit` serves the connection that sent last first):
   * the entry at that place of `entries` (undefined: the first).
   */
  cursorEntry: ConnectionEntry | undefined;
  /** Which connections need the host's attention (deadlines, output, events): attention.ts. */
  readonly attention = new Attention<ConnectionEntry['kind'], ConnectionEntry>(['mptcp', 'tcp']);
  /** Entries by (localPort << 16 | remotePort); several share a key when addresses differ. */
  private readonly byPorts = new Map<number, PortEntry[]>();

  add(entry: ConnectionEntry): void {
    this.index(entry);
    this.entries.push(entry);
    this.attention.add(entry);
    this.#watch(entry.connection, entry);
    if (entry.kind === 'mptcp') this.#watch(entry.connection.subflow, entry);
  }

  /** Application commands on the connection (or on one of its subflows) draw the host's attention to it. */
  #watch(connection: { onCommand: (() => void) | undefined }, entry: ConnectionEntry): void {
    connection.onCommand = () => this.attention.touch(entry);
  }

  /** Adds an MP_JOIN subflow of `main` to the 4-tuple index. */
  addJoin(main: MptcpEntry, subflow: TcpConnection): void {
    const entry = new JoinEntry(main, subflow);
    this.index(entry);
    main.joins.push(entry);
    this.#watch(subflow, main);
    this.attention.touch(main);
  }

  /** Forgets a connection and its subflows. */
  remove(entry: ConnectionEntry): void {
    if (entry.kind === 'mptcp') for (const j of entry.joins) this.unindex(j);
    this.unindex(entry);
    this.attention.remove(entry);
    // The cursor stays at its place in the order, as an index into `entries` would.
    let cursor = this.cursorEntry === undefined ? 0 : this.entries.indexOf(this.cursorEntry);
    const j = this.entries.indexOf(entry);
    if (j >= 0) this.entries.splice(j, 1);
    if (cursor >= this.entries.length) cursor = 0;
    this.cursorEntry = this.entries[cursor];
    this.attention.moveCursor(this.cursorEntry?.slots.seq ?? this.attention.nextSeq);
  }

  find(local: Uint8Array, localPort: number, remote: Uint8Array, remotePort: number): PortEntry | undefined {
    const list = this.byPorts.get(localPort * 0x10000 + remotePort);
    if (!list) return undefined;
    for (const e of list) {
      const ep = e.endpoints;
      if (addressEqual(ep.localAddress, local) && addressEqual(ep.remoteAddress, remote)) return e;
    }
    return undefined;
  }

  /** The entry of an MPTCP connection: found by its initial subflow's 4-tuple, which it is registered under. */
  entryOf(connection: MptcpConnection): MptcpEntry | undefined {
    const ep = connection.endpoints;
    const entry = this.find(ep.localAddress, ep.localPort, ep.remoteAddress, ep.remotePort);
    return entry?.kind === 'mptcp' && entry.connection === connection ? entry : undefined;
  }

  private index(entry: PortEntry): void {
    const key = portKey(entry.endpoints);
    const list = this.byPorts.get(key);
    if (list) list.push(entry);
    else this.byPorts.set(key, [entry]);
  }

  private unindex(entry: PortEntry): void {
    const key = portKey(entry.endpoints);
    const list = this.byPorts.get(key);
    if (list) {
      const i = list.indexOf(entry);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.byPorts.delete(key);
    }
  }
}
