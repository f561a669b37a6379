/**
 * Topology: hosts with numbered interfaces, joined by `Link`s, all driven by one `Simulator`.
 *
 * The host side is the core contract of ARCHITECTURE.md: the network is the "thin driver" a real stack
 * expects. For each host it
 *   1. calls `handlePacket(now, ifaceId, bytes)` when a link delivers to one of its interfaces;
 *   2. after every call into the host (packet, timeout, or `wake`), drains `pollTransmit(now)` until it
 *      returns undefined, offering each packet to the link attached to that interface as egress;
 *   3. then reads `pollTimeout()` and keeps one timer per host for that deadline (a deadline in the past
 *      fires at the current time, a fractional one is rounded up, undefined disarms), calling
 *      `handleTimeout(now)` exactly at the deadline, never before it.
 *
 * Design notes
 * - Each link's random stream is derived from (network seed, link name), so names must be unique and a run
 *   depends only on the seed, the topology and the hosts, not on creation order.
 * - Packets a host sends on an interface with no egress link are counted (`unattachedTransmits`) and
 *   discarded, as a kernel would drop them on a device that is not there.
 * - A host is only polled in response to the network's own calls. When a test or application changes a host
 *   from outside (opens a connection, writes data), it must call `network.wake(host)` so the network drains
 *   the new output and re-reads the timer.
 * - Raw injection (`inject`) offers bytes to any link at a chosen time, for tests that play a peer by hand.
 */
import { Link, type LinkConfig } from './link.js';
import { Rng, type Seed } from './random.js';
import { fillTcpChecksum } from '../wire/ip.js';
import { Simulator, type DriveResult, type EventHandle, type Micros, type SimHandler } from './sim.js';

/** One packet a host wants to send, and the interface to send it on. */
export interface Transmit {
  /** The interface to send on (its egress link carries the packet). */
  readonly ifaceId: number;
  /** The IP packet; ownership passes to the network (do not mutate it afterwards). */
  readonly bytes: Uint8Array;
}

/**
 * What the network drives: the sans-IO core contract. Call order per turn: `handlePacket` or
 * `handleTimeout` (or an outside change), then `pollTransmit` until undefined, then `pollTimeout`.
 */
export interface EmuHost {
  /**
   * An IP packet arrived on interface `ifaceId`. The host owns `bytes` from now on. `checksumPending` (only
   * for a host that `acceptsPendingChecksums`): its TCP checksum was left out by a sending host that
   * `sendsPendingChecksums` and the network vouches for the bytes (no middlebox rewrote them): not to verify.
   */
  handlePacket(now: Micros, ifaceId: number, bytes: Uint8Array, checksumPending?: boolean): void;
  /**
   * True: the TCP checksums of the packets `pollTransmit` returns are left to the network (a `Host` with
   * `deferChecksums`), which fills them in only where something reads the packet: a tap, a filter, a
   * middlebox, a receiver that does not `acceptsPendingChecksums`. Checksums skipped where the transport
   * guarantees them, computed once where needed.
   */
  readonly sendsPendingChecksums?: boolean;
  /** True: `handlePacket` may be given packets with `checksumPending` (read for every packet). */
  readonly acceptsPendingChecksums?: boolean;
  /** The next packet to send, or undefined when there is nothing more right now. */
  pollTransmit(now: Micros): Transmit | undefined;
  /** The instant the host next needs `handleTimeout`, or undefined for none. */
  pollTimeout(): Micros | undefined;
  /** The deadline from `pollTimeout` has been reached (the network calls it at, or just after, that instant). */
  handleTimeout(now: Micros): void;
}

/** A host interface: `[host, ifaceId]`. */
export type Endpoint = readonly [host: EmuHost, ifaceId: number];

/** The two directions created by `connect`. */
export interface DuplexLink {
  /** From the first endpoint to the second. */
  readonly forward: Link;
  /** From the second endpoint to the first. */
  readonly backward: Link;
}

/** How `connect` configures the two directions. */
export interface ConnectOptions {
  /** Config used for both directions unless overridden. */
  readonly config?: LinkConfig;
  /** Config of the first->second direction (overrides `config`). */
  readonly forward?: LinkConfig;
  /** Config of the second->first direction (overrides `config`). */
  readonly backward?: LinkConfig;
  /** Base name; the directions are `${name}>` and `${name}<` (default from host names and interfaces). */
  readonly name?: string;
}

/** Options for a `Network`. */
export interface NetworkOptions {
  /** Seed for every random stream in the network (default 1). */
  readonly seed?: Seed;
  /** Initial virtual time (default 0). */
  readonly start?: Micros;
  /** Livelock guard: most packets drained from one host in one turn (default 1,000,000). */
  readonly maxTransmitsPerTurn?: number;
}

/** Network-side state of one host. */
class HostSlot implements SimHandler {
  readonly egress: (Link | undefined)[] = [];
  /** The host's current deadline (from its last `pollTimeout`, clamped to the time it was read). */
  deadline: Micros | undefined;
  /** The simulator event standing for the deadline; it may be earlier than `deadline` (see `service`). */
  timer: EventHandle | undefined;

  constructor(
    readonly network: Network,
    readonly host: EmuHost,
    readonly name: string,
  ) {}

  handleEvent(now: Micros): void {
    this.timer = undefined;
    const deadline = this.deadline;
    if (deadline === undefined) return;
    if (now < deadline) {
      // The deadline moved later since this event was armed: re-arm without waking the host.
      this.timer = this.network.sim.schedule(deadline, this);
      return;
    }
    this.deadline = undefined;
    this.host.handleTimeout(now);
    this.network.service(this);
  }
}

/**
 * A set of hosts and links on one virtual clock. Build it (`addHost`, `connect` or `addLink` + `setEgress`
 * + `setIngress`), `wake` the hosts that have something to do, then advance time with `run`, `runFor`,
 * `runUntilIdle`, `driveBounded` or `step`.
 */
export class Network {
  /** The simulator that owns the clock. */
  readonly sim: Simulator;
  /** The root random stream; links use `rng.fork('link:' + name)`. */
  readonly rng: Rng;
  /** Packets hosts sent on interfaces without an egress link. */
  unattachedTransmits = 0;

  private readonly slots = new Map<EmuHost, HostSlot>();
  private readonly hostNames = new Set<string>();
  private readonly linksByName = new Map<string, Link>();
  private readonly maxTransmitsPerTurn: number;

  constructor(options: NetworkOptions = {}) {
    this.sim = new Simulator(options.start ?? 0);
    this.rng = new Rng(options.seed ?? 1);
    this.maxTransmitsPerTurn = options.maxTransmitsPerTurn ?? 1_000_000;
  }

  /** The current virtual time. */
  get now(): Micros {
    return this.sim.now;
  }

  /** Registers a host under a unique name; returns the host. */
  addHost<H extends EmuHost>(name: string, host: H): H {
    if (this.hostNames.has(name)) throw new Error(`duplicate host name ${name}`);
    if (this.slots.has(host)) throw new Error(`host ${name} is already registered`);
    this.hostNames.add(name);
    this.slots.set(host, new HostSlot(this, host, name));
    return host;
  }

  /** The name a host was registered under. */
  hostName(host: EmuHost): string {
    return this.slot(host).name;
  }

  /** Every link direction, by name. */
  get links(): ReadonlyMap<string, Link> {
    return this.linksByName;
  }

  /** Creates a link direction named `name` (unique) with its own random stream; attach it with `setEgress`/`setIngress`. */
  addLink(name: string, config: LinkConfig = {}): Link {
    if (this.linksByName.has(name)) throw new Error(`duplicate link name ${name}`);
    const link = new Link(this.sim, config, { name, rng: this.rng.fork(`link:${name}`) });
    this.linksByName.set(name, link);
    return link;
  }

  /** Makes `link` carry what `host` sends on `ifaceId` (replacing any previous egress). */
  setEgress(host: EmuHost, ifaceId: number, link: Link | undefined): void {
    if (!Number.isInteger(ifaceId) || ifaceId < 0) throw new RangeError(`bad interface id ${ifaceId}`);
    this.slot(host).egress[ifaceId] = link;
  }

  /** Makes `link` deliver to `host` on interface `ifaceId`. */
  setIngress(link: Link, host: EmuHost, ifaceId: number): void {
    const slot = this.slot(host);
    link.setReceiver((now, bytes, checksumPending) => {
      const host = slot.host;
      if (!checksumPending) host.handlePacket(now, ifaceId, bytes);
      else if (host.acceptsPendingChecksums === true) host.handlePacket(now, ifaceId, bytes, true);
      else {
        fillTcpChecksum(bytes);
        host.handlePacket(now, ifaceId, bytes);
      }
      this.service(slot);
    });
  }

  /** Joins two interfaces with a pair of link directions. */
  connect(a: Endpoint, b: Endpoint, options: ConnectOptions = {}): DuplexLink {
    const [hostA, ifA] = a;
    const [hostB, ifB] = b;
    const name = options.name ?? `${this.hostName(hostA)}.${ifA}-${this.hostName(hostB)}.${ifB}`;
    const forward = this.addLink(`${name}>`, options.forward ?? options.config ?? {});
    const backward = this.addLink(`${name}<`, options.backward ?? options.config ?? {});
    this.setEgress(hostA, ifA, forward);
    this.setIngress(forward, hostB, ifB);
    this.setEgress(hostB, ifB, backward);
    this.setIngress(backward, hostA, ifA);
    return { forward, backward };
  }

  /** Tells the network a host changed from outside: drains its output and re-arms its timer now. */
  wake(host: EmuHost): void {
    this.service(this.slot(host));
  }

  /** Offers raw bytes to `link` at time `at` (default now). */
  inject(link: Link, bytes: Uint8Array, at: Micros = this.sim.now): void {
    if (at === this.sim.now) link.offer(bytes);
    else this.sim.schedule(at, () => link.offer(bytes));
  }

  /** Runs one event. */
  step(): boolean {
    return this.sim.step();
  }

  /** Runs until `until` (absolute). */
  run(until: Micros): number {
    return this.sim.run(until);
  }

  /** Runs for `duration`. */
  runFor(duration: Micros): number {
    return this.sim.runFor(duration);
  }

  /** Runs until nothing is scheduled; throws after `maxEvents`. */
  runUntilIdle(maxEvents?: number): number {
    return this.sim.runUntilIdle(maxEvents);
  }

  /** Runs with both a time and an event bound and reports which one stopped it. */
  driveBounded(maxTime: Micros, maxEvents: number): DriveResult {
    return this.sim.driveBounded(maxTime, maxEvents);
  }

  /** @internal Drains a host's output and re-arms its timer (the network's half of the core contract). */
  service(slot: HostSlot): void {
    const now = this.sim.now;
    const host = slot.host;
    const pending = host.sendsPendingChecksums === true;
    for (let n = 0; ; n++) {
      const t = host.pollTransmit(now);
      if (t === undefined) break;
      if (n >= this.maxTransmitsPerTurn) throw new Error(`host ${slot.name} sent more than ${this.maxTransmitsPerTurn} packets in one turn`);
      const link = slot.egress[t.ifaceId];
      if (link === undefined) this.unattachedTransmits++;
      else if (!pending) link.offer(t.bytes);
      else if (link.inspectsOffers) {
        fillTcpChecksum(t.bytes);
        link.offer(t.bytes);
      } else link.offer(t.bytes, undefined, true);
    }
    const deadline = host.pollTimeout();
    if (deadline === undefined) {
      slot.deadline = undefined;
      if (slot.timer !== undefined) {
        this.sim.cancel(slot.timer);
        slot.timer = undefined;
      }
      return;
    }
    const at = deadline <= now ? now : Math.ceil(deadline);
    slot.deadline = at;
    // An armed event at or before the new deadline is kept: when it fires early it re-arms itself. Timers
    // that are pushed later on every packet (retransmission timeouts) then cost no heap work per packet.
    if (slot.timer !== undefined) {
      if (slot.timer.at <= at) return;
      this.sim.cancel(slot.timer);
    }
    slot.timer = this.sim.schedule(at, slot);
  }

  private slot(host: EmuHost): HostSlot {
    const s = this.slots.get(host);
    if (s === undefined) throw new Error('host is not registered with this network (addHost first)');
    return s;
  }
}
