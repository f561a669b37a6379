/**
 * One direction of an emulated link: impairments, a drop-tail queue, a transmitter (fixed rate or
 * trace-driven) and a propagation delay. A bidirectional link is two `Link`s with their own configs and
 * their own random streams.
 *
 * Pipeline for each offered packet, in this order (like netem in front of a token bucket):
 *   up/down state -> MTU -> filter -> transform (a middlebox rewriting the packet) -> random loss
 *   (Bernoulli or Gilbert-Elliott) -> duplication -> drop-tail queue -> serialization (rate or trace) ->
 *   propagation (delay, jitter, reordering) -> receiver.
 * Dropped packets are counted by cause; taps see offers, deliveries and drops.
 *
 * The stages are parts of their own, each with its design notes: the loss process (link-loss.ts), the
 * backlog and its limits (link-backlog.ts), the transmitter (link-transmitter.ts: exact fixed-rate
 * serialization, mahimahi-style traces), the propagation (link-delay.ts: delay, jitter, reordering, order
 * preservation) and the up/down timeline (link-timeline.ts). `Link` runs the pipeline, owns the counters,
 * the taps, and the deliveries in flight (link-in-flight.ts), and applies up/down transitions.
 *
 * Design notes and the rules that make runs exact
 * - Everything is decided when the packet is offered. The queue is FIFO and the transmitter deterministic,
 *   so the instant a packet finishes serialization is known on arrival; the link schedules exactly one
 *   simulator event per admitted packet (its delivery) and none for queue departures.
 * - Queue limits (`queueLimitPackets`, `queueLimitBytes`) count packets waiting behind the one being
 *   serialized (as a qdisc's backlog excludes the packet in the NIC). A packet that can start at once is
 *   never dropped for queue space; one that must wait is dropped (tail drop) if the backlog would exceed a
 *   limit.
 * - Duplication: with `duplicateProbability` an admitted packet is followed by a copy (a fresh buffer) that
 *   goes through the queue and propagation on its own.
 * - Up/down: while down, everything offered is dropped (`down`). Going down is Linux-like: packets queued
 *   or in flight at that instant are lost too (counted as `down` at that instant, with taps told then), and
 *   the transmitter restarts idle when the link comes back. Transitions at time T take effect before any
 *   packet offered or due for delivery at T, whatever the event order, so "exact instants" hold.
 * - Each impairment draws from its own child stream (`loss`, `duplicate`, `jitter`, `reorder`) of the link's
 *   `Rng`, so enabling one never changes the pattern of another.
 * - The link takes ownership of offered buffers and hands the same buffer to the receiver: do not mutate a
 *   buffer after offering it.
 * - A transform (`transform` in the config, or `setTransform`) sees every packet that passed the filter, in
 *   offer order, before the loss stage: a middlebox on the sender's side of the path, so a packet it rewrote
 *   may still be lost and its retransmission is rewritten again. Offer taps see the packet as sent, deliver
 *   taps as rewritten. It never draws from the link's random streams, so adding one changes no loss pattern.
 */
import { Backlog } from './link-backlog.js';
import { checkLimit, checkMicros, checkProbability } from './link-check.js';
import { Propagation, type JitterConfig, type ReorderConfig } from './link-delay.js';
import { InFlight } from './link-in-flight.js';
import { lossProcess, type LossModel, type LossProcess } from './link-loss.js';
import { LinkTimeline, type LinkState } from './link-timeline.js';
import { checkRate, RateTransmitter, TraceTransmitter, type Transmitter } from './link-transmitter.js';
import { Chance, Rng } from './random.js';
import type { Micros, SimHandler, Simulator } from './sim.js';
import type { DeliveryTrace } from './trace.js';
import { fillTcpChecksum } from '../wire/ip.js';

export type { JitterConfig, ReorderConfig } from './link-delay.js';
export type { LossModel } from './link-loss.js';
export type { LinkState } from './link-timeline.js';

/** Why a packet was dropped. `filter` is a drop by a user `PacketFilter` (fault injection). */
export type DropCause = 'loss' | 'queue' | 'mtu' | 'down' | 'filter';

/** Every drop cause, for iterating counters. */
export const DROP_CAUSES: readonly DropCause[] = ['loss', 'queue', 'mtu', 'down', 'filter'];

/** Configuration of one link direction. Every field is optional: the default is an ideal, instant link. */
export interface LinkConfig {
  /** Serialization rate in bit/s (default Infinity: no serialization delay). Exclusive with `trace`. */
  readonly rateBitsPerSecond?: number;
  /** Trace-driven capacity instead of a fixed rate. */
  readonly trace?: DeliveryTrace;
  /** When the trace's time 0 is (default: the simulator's time when the link is created). */
  readonly traceStartMicros?: Micros;
  /** One-way propagation delay (default 0). */
  readonly delayMicros?: Micros;
  /** Propagation-delay jitter. */
  readonly jitter?: JitterConfig;
  /** Random loss: a Bernoulli probability or a model. */
  readonly loss?: number | LossModel;
  /** Explicit reordering. */
  readonly reorder?: ReorderConfig;
  /** Probability that an admitted packet is duplicated. */
  readonly duplicateProbability?: number;
  /** Drop-tail limit on the waiting backlog in bytes (default unlimited). */
  readonly queueLimitBytes?: number;
  /** Drop-tail limit on the waiting backlog in packets (default unlimited). */
  readonly queueLimitPackets?: number;
  /** Largest packet carried; bigger ones are dropped (`mtu`). Default unlimited. */
  readonly mtu?: number;
  /** State at creation (default `up`). */
  readonly initialState?: LinkState;
  /** Scheduled transitions `[time, state]`, in non-decreasing time order. */
  readonly timeline?: ReadonlyArray<readonly [Micros, LinkState]>;
  /** A middlebox rewriting packets after the filter, before the loss stage (see `PacketTransform`). */
  readonly transform?: PacketTransform;
}

/** Per-direction counters. Invariant: offered + duplicated = delivered + all drops + in flight. */
export interface LinkCounters {
  /** Packets offered by the sender (everything, including packets dropped at once). */
  offeredPackets: number;
  offeredBytes: number;
  /** Packets handed to the receiver (duplicates included). */
  deliveredPackets: number;
  deliveredBytes: number;
  /** Copies made by duplication (each copy is then delivered or dropped on its own). */
  duplicatedPackets: number;
  /** Packets held back by explicit reordering. */
  reorderedPackets: number;
  /** Drops by cause, in packets. */
  droppedPackets: Record<DropCause, number>;
  /** Drops by cause, in bytes. */
  droppedBytes: Record<DropCause, number>;
}

/**
 * Where a link hands delivered packets. `checksumPending`: the TCP checksum of `bytes` was left to the
 * network (`Link.offer`) and nothing has filled it in: the link vouches for the bytes, which are as the
 * sending host emitted them; a receiver that reads them as a wire packet fills it in first (`fillTcpChecksum`).
 */
export type PacketReceiver = (now: Micros, bytes: Uint8Array, checksumPending: boolean) => void;

/** A user-supplied drop decision (fault injection): return false to drop the packet as `filter`. */
export type PacketFilter = (now: Micros, bytes: Uint8Array) => boolean;

/**
 * A packet rewrite on a link (a middlebox): returns the packet to carry instead (a new buffer, or the same
 * one modified in place; the link owns it), or undefined to carry it unchanged. Dropping is `PacketFilter`'s job.
 */
export type PacketTransform = (now: Micros, bytes: Uint8Array) => Uint8Array | undefined;

/** An observer attached to a link direction. Taps must not mutate packets. */
export interface LinkTap {
  /** Every packet offered to the link, before any decision. */
  onOffer?(now: Micros, bytes: Uint8Array, link: Link): void;
  /** Every packet delivered, just before the receiver gets it. */
  onDeliver?(now: Micros, bytes: Uint8Array, link: Link): void;
  /** Every drop, with its cause. */
  onDrop?(now: Micros, bytes: Uint8Array, cause: DropCause, link: Link): void;
}

/** Options for a standalone link. */
export interface LinkOptions {
  /** Name used in errors and taps (default `link`). */
  readonly name?: string;
  /** The link's random stream (default `Rng.derive(0, name)`). */
  readonly rng?: Rng;
}

const KIND_DELIVER = 1;
const KIND_TIMELINE = 2;

function emptyCauses(): Record<DropCause, number> {
  return { loss: 0, queue: 0, mtu: 0, down: 0, filter: 0 };
}

/** The taps of a link, one array per hook; an array is replaced (never mutated) when a tap comes or goes. */
class LinkTaps {
  offer: LinkTap[] = [];
  deliver: LinkTap[] = [];
  drop: LinkTap[] = [];

  /** Attaches a tap; returns a function that detaches it. */
  add(tap: LinkTap): () => void {
    if (tap.onOffer) this.offer = [...this.offer, tap];
    if (tap.onDeliver) this.deliver = [...this.deliver, tap];
    if (tap.onDrop) this.drop = [...this.drop, tap];
    return () => {
      this.offer = this.offer.filter((t) => t !== tap);
      this.deliver = this.deliver.filter((t) => t !== tap);
      this.drop = this.drop.filter((t) => t !== tap);
    };
  }
}

/**
 * One direction of a link, driven by a `Simulator`. Call `offer(bytes)` at the simulator's current time;
 * the receiver set with `setReceiver` is called from a simulator event when the packet arrives.
 */
export class Link implements SimHandler {
  /** Name for diagnostics (the network uses it to derive the random stream). */
  readonly name: string;
  /** Live counters (read them; do not write). */
  readonly counters: LinkCounters = {
    offeredPackets: 0,
    offeredBytes: 0,
    deliveredPackets: 0,
    deliveredBytes: 0,
    duplicatedPackets: 0,
    reorderedPackets: 0,
    droppedPackets: emptyCauses(),
    droppedBytes: emptyCauses(),
  };

  private readonly sim: Simulator;
  private receiver: PacketReceiver | undefined;
  private filter: PacketFilter | undefined;
  private transform: PacketTransform | undefined;
  private readonly taps = new LinkTaps();

  // The pipeline's stages, in order.
  private readonly mtu: number;
  private readonly loss: LossProcess | undefined;
  private readonly duplicate: Chance;
  private readonly backlog: Backlog;
  private readonly transmitter: Transmitter;
  private readonly propagation: Propagation;

  private readonly inFlight = new InFlight();
  /** The latest arrival instant offered (arrivals in the past never go before it). */
  private lastArrival: Micros = 0;

  // Up/down.
  private isUp: boolean;
  private readonly timeline: LinkTimeline;

  constructor(sim: Simulator, config: LinkConfig = {}, options: LinkOptions = {}) {
    this.sim = sim;
    this.name = options.name ?? 'link';
    this.transform = config.transform;
    const rng = options.rng ?? Rng.derive(0, this.name);

    // Validated in this order, so a config with several mistakes always reports the same one first.
    const rate = checkRate(this.name, config.rateBitsPerSecond, config.trace);
    const delay = checkMicros('delayMicros', config.delayMicros);
    this.mtu = checkLimit('mtu', config.mtu);
    const limitPackets = checkLimit('queueLimitPackets', config.queueLimitPackets);
    const limitBytes = checkLimit('queueLimitBytes', config.queueLimitBytes);
    this.propagation = new Propagation(delay, config.jitter, config.reorder, rng, this.counters);
    this.duplicate = new Chance(checkProbability('duplicateProbability', config.duplicateProbability), rng.fork('duplicate'));
    this.loss = lossProcess(config.loss, rng.fork('loss'));
    this.transmitter =
      config.trace !== undefined
        ? new TraceTransmitter(this.name, config.trace, config.traceStartMicros ?? sim.now)
        : new RateTransmitter(rate, sim.now);
    this.backlog = new Backlog(limitPackets, limitBytes);

    this.timeline = new LinkTimeline(this.name, config.timeline ?? [], sim, this, KIND_TIMELINE);
    this.isUp = (config.initialState ?? 'up') === 'up';
    this.applyTimeline(sim.now);
  }

  /** Sets where delivered packets go (undefined: they are counted and discarded). */
  setReceiver(receiver: PacketReceiver | undefined): void {
    this.receiver = receiver;
  }

  /** Installs a drop filter (fault injection); undefined removes it. */
  setFilter(filter: PacketFilter | undefined): void {
    this.filter = filter;
  }

  /** Installs a packet rewrite (a middlebox); undefined removes it. */
  setTransform(transform: PacketTransform | undefined): void {
    this.transform = transform;
  }

  /** Attaches a tap; returns a function that detaches it. */
  addTap(tap: LinkTap): () => void {
    return this.taps.add(tap);
  }

  /** Whether the link is up now. */
  get up(): boolean {
    this.syncTimeline(this.sim.now);
    return this.isUp;
  }

  /** Changes the state now (after any scheduled transitions due now). Going down loses queued and in-flight packets. */
  setState(state: LinkState): void {
    const now = this.sim.now;
    this.syncTimeline(now);
    this.transition(now, state);
  }

  /** Packets waiting to start serialization now. */
  get queuedPackets(): number {
    return this.backlog.packetsAt(this.sim.now);
  }

  /** Bytes waiting to start serialization now. */
  get queuedBytes(): number {
    return this.backlog.bytesAt(this.sim.now);
  }

  /**
   * Whether anything on the link reads offered packets before the loss stage (an offer tap, a filter, a
   * middlebox): a packet offered with its checksum pending must be filled in first (src/emu/network.ts).
   */
  get inspectsOffers(): boolean {
    return this.taps.offer.length > 0 || this.filter !== undefined || this.transform !== undefined;
  }

  /** Packets admitted and not yet delivered (queued, being serialized or propagating). */
  get inFlightPackets(): number {
    return this.inFlight.packets;
  }

  /**
   * Offers a packet to the link at the simulator's current time, or at `arrivedAt`, an instant in the recent
   * past (not before the previous packet's arrival; clamped to it): a real-time driver that read a batch of
   * packets late uses it to queue and serialize them as if offered when they arrived (src/io/emulate.ts).
   * A delivery that would fall before the simulator's now happens now.
   *
   * `checksumPending`: the TCP checksum is not filled in (a host of this stack with `deferChecksums`); only
   * for a link that does not `inspectsOffers`. Deliver and drop taps, and the receiver, get it filled in if
   * they look (the receiver is told; see `PacketReceiver`), so it is computed at most once, and not at all on
   * a link nobody watches between two hosts of this stack.
   */
  offer(bytes: Uint8Array, arrivedAt?: Micros, checksumPending = false): void {
    let now = this.sim.now;
    if (now >= this.timeline.nextAt) this.applyTimeline(now);
    if (arrivedAt !== undefined && arrivedAt < now) now = Math.max(arrivedAt, this.lastArrival);
    this.lastArrival = now;
    const c = this.counters;
    const size = bytes.length;
    c.offeredPackets++;
    c.offeredBytes += size;
    const taps = this.taps.offer;
    for (let i = 0; i < taps.length; i++) taps[i]!.onOffer!(now, bytes, this);
    if (!this.isUp) return this.drop(now, bytes, 'down');
    if (size > this.mtu) return this.drop(now, bytes, 'mtu');
    if (this.filter !== undefined && !this.filter(now, bytes)) return this.drop(now, bytes, 'filter');
    let packet = bytes;
    if (this.transform !== undefined) packet = this.transform(now, bytes) ?? bytes;
    if (this.loss !== undefined && this.loss.lose()) return this.drop(now, packet, 'loss', checksumPending);
    this.admit(now, packet, checksumPending);
    if (this.duplicate.happens()) {
      c.duplicatedPackets++;
      this.admit(now, packet.slice(), checksumPending);
    }
  }

  /** @internal Simulator callback. */
  handleEvent(now: Micros, kind: number, payload: unknown, arg: number): void {
    if (kind === KIND_DELIVER) {
      if (now >= this.timeline.nextAt) this.applyTimeline(now);
      const bytes = payload as Uint8Array;
      let pending = (arg & 1) === 1;
      this.inFlight.landed();
      if (arg >>> 1 !== this.inFlight.epoch) {
        // The link went down at this very instant, after this event was dequeued.
        this.drop(now, bytes, 'down', pending);
      } else {
        const c = this.counters;
        c.deliveredPackets++;
        c.deliveredBytes += bytes.length;
        const taps = this.taps.deliver;
        if (pending && taps.length > 0) pending = !fillTcpChecksum(bytes);
        for (let i = 0; i < taps.length; i++) taps[i]!.onDeliver!(now, bytes, this);
        if (this.receiver !== undefined) this.receiver(now, bytes, pending);
      }
      this.inFlight.trim();
    } else if (kind === KIND_TIMELINE) {
      this.timeline.fired();
      this.applyTimeline(now);
    }
  }

  private drop(now: Micros, bytes: Uint8Array, cause: DropCause, checksumPending = false): void {
    const c = this.counters;
    c.droppedPackets[cause]++;
    c.droppedBytes[cause] += bytes.length;
    const taps = this.taps.drop;
    if (checksumPending && taps.length > 0) fillTcpChecksum(bytes);
    for (let i = 0; i < taps.length; i++) taps[i]!.onDrop!(now, bytes, cause, this);
  }

  /** Queue check, serialization, propagation; schedules the delivery. */
  private admit(now: Micros, bytes: Uint8Array, checksumPending: boolean): void {
    const size = bytes.length;
    // 1. Serialization; a packet that must wait is subject to the queue limits. 2. Propagation.
    const finish = this.transmitter.transmit(now, size, this.backlog);
    if (finish < 0) return this.drop(now, bytes, 'queue', checksumPending);
    let at = this.propagation.arrival(finish);
    if (at < this.sim.now) at = this.sim.now; // an arrival in the past (offer's arrivedAt) due already
    // The event's number: the epoch (an outage starts a new one), and whether the checksum is pending.
    this.inFlight.add(this.sim.schedule(at, this, KIND_DELIVER, bytes, this.inFlight.epoch * 2 + (checksumPending ? 1 : 0)));
  }

  private syncTimeline(now: Micros): void {
    if (now >= this.timeline.nextAt) this.applyTimeline(now);
  }

  /** Applies every scheduled transition due by `now` and arms an event for the next one. */
  private applyTimeline(now: Micros): void {
    const timeline = this.timeline;
    for (let state = timeline.due(now); state !== undefined; state = timeline.due(now)) {
      this.transition(now, state);
      timeline.advance();
    }
    timeline.arm();
  }

  private transition(now: Micros, state: LinkState): void {
    const up = state === 'up';
    if (up === this.isUp) return;
    this.isUp = up;
    if (!up) {
      // Linux-like: everything queued or on the wire is lost at this instant.
      const inFlight = this.inFlight;
      inFlight.cut();
      for (let ev = inFlight.takeNext(); ev !== undefined; ev = inFlight.takeNext()) {
        const bytes = ev.payload as Uint8Array; // before cancel, which lets go of the payload
        this.sim.cancel(ev);
        this.drop(now, bytes, 'down', (ev.arg & 1) === 1);
      }
    }
    // Either way the transmitter restarts idle.
    this.backlog.clear();
    this.transmitter.restart(now);
    this.propagation.restart(now);
  }
}
