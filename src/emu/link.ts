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
 * Design notes and the rules that make runs exact
 * - Everything is decided when the packet is offered. The queue is FIFO and the transmitter deterministic,
 *   so the instant a packet finishes serialization is known on arrival; the link schedules exactly one
 *   simulator event per admitted packet (its delivery) and none for queue departures.
 * - Serialization: a packet of `size` bytes keeps the transmitter busy for exactly size*8/rate seconds. The
 *   busy-until instant is kept exactly (integer microseconds plus a remainder in units of 1/rate µs), and a
 *   packet's end of serialization is that instant ROUNDED UP to a whole microsecond. On an idle link a packet
 *   offered at t therefore arrives at exactly `t + ceil(size * 8e6 / rate) + delay`; back-to-back packets do
 *   not accumulate rounding, so a saturated link runs at exactly its rate in the long run. The rate is
 *   rounded to a whole bit/s; `Infinity` means no serialization delay (and no queueing).
 * - Trace-driven capacity follows mahimahi's `LinkQueue`: each opportunity is a budget of
 *   `bytesPerOpportunity` bytes shared in FIFO order by the packets waiting when it occurs; a packet is
 *   delivered at the opportunity that completes it (a large packet spans several, small ones share one);
 *   budget left when the queue is empty is wasted. One difference from mahimahi's millisecond clock: an
 *   opportunity at exactly the instant a packet arrives can carry it.
 * - Queue limits (`queueLimitPackets`, `queueLimitBytes`) count packets waiting behind the one being
 *   serialized (as a qdisc's backlog excludes the packet in the NIC). A packet that can start at once is
 *   never dropped for queue space; one that must wait is dropped (tail drop) if the backlog would exceed a
 *   limit.
 * - Jitter adds a bounded offset to the propagation delay: uniform integer in [-max, +max], or normal with
 *   the given standard deviation rounded to whole µs and clamped to [-max, +max]; the total propagation
 *   delay never goes below 0. By default order is preserved (a packet is never delivered before the one
 *   sent before it, so jitter stays within its bound); `allowReorder` lets jitter reorder.
 * - Reordering: with `reorder.probability` a packet gets `extraDelayMicros` more propagation delay and is
 *   exempt from order preservation, so later packets overtake it.
 * - Duplication: with `duplicateProbability` an admitted packet is followed by a copy (a fresh buffer) that
 *   goes through the queue and propagation on its own.
 * - Up/down: while down, everything offered is dropped (`down`). Going down is Linux-like: packets queued
 *   or in flight at that instant are lost too (counted as `down` at that instant, with taps told then), and
 *   the transmitter restarts idle when the link comes back. Transitions at time T take effect before any
 *   packet offered or due for delivery at T, whatever the event order, so "exact instants" hold.
 * - Gilbert-Elliott loss is per packet: the two-state chain takes one step for each packet that reaches
 *   the loss stage, then the packet is lost with the loss probability of the new state. The stationary loss
 *   rate is (p_bg * lossInGood + p_gb * lossInBad) / (p_gb + p_bg).
 * - Each impairment draws from its own child stream (`loss`, `duplicate`, `jitter`, `reorder`) of the link's
 *   `Rng`, so enabling one never changes the pattern of another.
 * - The link takes ownership of offered buffers and hands the same buffer to the receiver: do not mutate a
 *   buffer after offering it.
 * - A transform (`transform` in the config, or `setTransform`) sees every packet that passed the filter, in
 *   offer order, before the loss stage: a middlebox on the sender's side of the path, so a packet it rewrote
 *   may still be lost and its retransmission is rewritten again. Offer taps see the packet as sent, deliver
 *   taps as rewritten. It never draws from the link's random streams, so adding one changes no loss pattern.
 */
import { Rng } from './random.js';
import type { EventHandle, Micros, SimHandler, Simulator } from './sim.js';
import type { DeliveryTrace } from './trace.js';

/** Administrative state of a link direction. */
export type LinkState = 'up' | 'down';

/** Why a packet was dropped. `filter` is a drop by a user `PacketFilter` (fault injection). */
export type DropCause = 'loss' | 'queue' | 'mtu' | 'down' | 'filter';

/** Every drop cause, for iterating counters. */
export const DROP_CAUSES: readonly DropCause[] = ['loss', 'queue', 'mtu', 'down', 'filter'];

/** Random loss: independent per packet, or bursty with a two-state Markov chain. */
export type LossModel =
  | { readonly kind: 'bernoulli'; readonly probability: number }
  | {
      readonly kind: 'gilbert-elliott';
      /** Per-packet probability of moving from the good to the bad state. */
      readonly goodToBad: number;
      /** Per-packet probability of moving from the bad to the good state. */
      readonly badToGood: number;
      /** Loss probability in the good state (default 0). */
      readonly lossInGood?: number;
      /** Loss probability in the bad state (default 1). */
      readonly lossInBad?: number;
    };

/** Bounded random variation of the propagation delay. */
export interface JitterConfig {
  /** Hard bound: the offset lies in [-maxMicros, +maxMicros]. */
  readonly maxMicros: Micros;
  /** `uniform` (default) over the bound, or `normal` clamped to it. */
  readonly distribution?: 'uniform' | 'normal';
  /** Standard deviation for `normal` (default maxMicros / 2). */
  readonly stddevMicros?: Micros;
  /** Let jitter reorder packets (default false: order preserved). */
  readonly allowReorder?: boolean;
}

/** Explicit reordering: some packets are held back so that later ones overtake them. */
export interface ReorderConfig {
  /** Probability that a packet is held back. */
  readonly probability: number;
  /** How much extra propagation delay a held-back packet gets. */
  readonly extraDelayMicros: Micros;
}

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

/** Where a link hands delivered packets. */
export type PacketReceiver = (now: Micros, bytes: Uint8Array) => void;

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

function checkProbability(name: string, p: number | undefined): number {
  const v = p ?? 0;
  if (!(v >= 0 && v <= 1)) throw new RangeError(`${name} must be a probability in [0, 1], got ${p}`);
  return v;
}

function checkMicros(name: string, v: number | undefined): number {
  const x = v ?? 0;
  if (!Number.isSafeInteger(x) || x < 0) throw new RangeError(`${name} must be a non-negative integer of microseconds, got ${v}`);
  return x;
}

function checkLimit(name: string, v: number | undefined): number {
  const x = v ?? Infinity;
  if (!(x >= 0)) throw new RangeError(`${name} must be >= 0, got ${v}`);
  return x;
}

/** First index i with a[i] >= x (a sorted non-decreasing), or a.length. */
function lowerBound(a: Float64Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
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
  private offerTaps: LinkTap[] = [];
  private deliverTaps: LinkTap[] = [];
  private dropTaps: LinkTap[] = [];

  // Static configuration.
  private readonly rate: number;
  private readonly delay: Micros;
  private readonly mtu: number;
  private readonly limitPackets: number;
  private readonly limitBytes: number;
  private readonly jitterMax: Micros;
  private readonly jitterNormal: boolean;
  private readonly jitterStddev: number;
  private readonly allowReorder: boolean;
  private readonly reorderProbability: number;
  private readonly reorderExtra: Micros;
  private readonly duplicateProbability: number;
  private readonly lossKind: 0 | 1 | 2; // none, Bernoulli, Gilbert-Elliott
  private readonly lossProbability: number;
  private readonly geGoodToBad: number;
  private readonly geBadToGood: number;
  private readonly geLossGood: number;
  private readonly geLossBad: number;
  private geBad = false;

  private readonly lossRng: Rng;
  private readonly duplicateRng: Rng;
  private readonly jitterRng: Rng;
  private readonly reorderRng: Rng;

  // Fixed-rate transmitter: busy until busyFloor + busyFraction / rate microseconds.
  private busyFloor: Micros = 0;
  private busyFraction = 0;

  // Trace transmitter.
  private readonly trace: Float64Array | undefined;
  private readonly tracePeriod: Micros = 0;
  private readonly traceStart: Micros = 0;
  private readonly traceBudget: number = 0;
  private cursorIndex = 0;
  private cursorBase: Micros = 0;
  private leftoverBytes = 0;
  private leftoverTime: Micros = 0;

  // Backlog: packets admitted whose serialization has not started (start time, size), FIFO ring.
  private backlogStart = new Float64Array(64);
  private backlogSize = new Float64Array(64);
  private backlogHead = 0;
  private backlogCount = 0;
  private backlogBytes = 0;

  // Deliveries scheduled and not yet fired, in admission order (fired/cancelled ones trimmed lazily).
  private pending: EventHandle[] = [];
  private pendingHead = 0;
  private inFlight = 0;
  private epoch = 0;
  private lastOrderedDelivery: Micros = 0;
  /** The latest arrival instant offered (arrivals in the past never go before it). */
  private lastArrival: Micros = 0;

  // Up/down.
  private isUp: boolean;
  private readonly timeline: ReadonlyArray<readonly [Micros, LinkState]>;
  private timelineIndex = 0;
  private nextTransitionAt: Micros = Infinity;
  private timelineEvent: EventHandle | undefined;

  constructor(sim: Simulator, config: LinkConfig = {}, options: LinkOptions = {}) {
    this.sim = sim;
    this.name = options.name ?? 'link';
    this.transform = config.transform;
    const rng = options.rng ?? Rng.derive(0, this.name);
    this.lossRng = rng.fork('loss');
    this.duplicateRng = rng.fork('duplicate');
    this.jitterRng = rng.fork('jitter');
    this.reorderRng = rng.fork('reorder');

    if (config.trace !== undefined && config.rateBitsPerSecond !== undefined) {
      throw new RangeError(`${this.name}: rateBitsPerSecond and trace are exclusive`);
    }
    const rate = config.rateBitsPerSecond ?? Infinity;
    if (!(rate > 0)) throw new RangeError(`${this.name}: rateBitsPerSecond must be > 0, got ${rate}`);
    this.rate = rate === Infinity ? Infinity : Math.max(1, Math.round(rate));
    this.delay = checkMicros('delayMicros', config.delayMicros);
    this.mtu = checkLimit('mtu', config.mtu);
    this.limitPackets = checkLimit('queueLimitPackets', config.queueLimitPackets);
    this.limitBytes = checkLimit('queueLimitBytes', config.queueLimitBytes);

    const j = config.jitter;
    this.jitterMax = checkMicros('jitter.maxMicros', j?.maxMicros);
    this.jitterNormal = j?.distribution === 'normal';
    this.jitterStddev = j?.stddevMicros ?? this.jitterMax / 2;
    if (!(this.jitterStddev >= 0)) throw new RangeError(`jitter.stddevMicros must be >= 0`);
    this.allowReorder = j?.allowReorder ?? false;

    this.reorderProbability = checkProbability('reorder.probability', config.reorder?.probability);
    this.reorderExtra = checkMicros('reorder.extraDelayMicros', config.reorder?.extraDelayMicros);
    this.duplicateProbability = checkProbability('duplicateProbability', config.duplicateProbability);

    const loss = config.loss;
    if (loss === undefined || loss === 0) {
      this.lossKind = 0;
      this.lossProbability = 0;
      this.geGoodToBad = this.geBadToGood = this.geLossGood = this.geLossBad = 0;
    } else if (typeof loss === 'number' || loss.kind === 'bernoulli') {
      this.lossKind = 1;
      this.lossProbability = checkProbability('loss', typeof loss === 'number' ? loss : loss.probability);
      this.geGoodToBad = this.geBadToGood = this.geLossGood = this.geLossBad = 0;
    } else {
      this.lossKind = 2;
      this.lossProbability = 0;
      this.geGoodToBad = checkProbability('loss.goodToBad', loss.goodToBad);
      this.geBadToGood = checkProbability('loss.badToGood', loss.badToGood);
      this.geLossGood = checkProbability('loss.lossInGood', loss.lossInGood ?? 0);
      this.geLossBad = checkProbability('loss.lossInBad', loss.lossInBad ?? 1);
    }

    if (config.trace !== undefined) {
      const t = config.trace;
      if (t.opportunitiesMicros.length === 0 || !(t.periodMicros > 0)) throw new RangeError(`${this.name}: empty trace`);
      this.trace = t.opportunitiesMicros;
      this.tracePeriod = t.periodMicros;
      this.traceBudget = t.bytesPerOpportunity;
      this.traceStart = checkMicros('traceStartMicros', config.traceStartMicros ?? sim.now);
      this.cursorBase = this.traceStart;
    }
    this.busyFloor = sim.now;

    const timeline = config.timeline ?? [];
    let prev = -Infinity;
    for (const [at, state] of timeline) {
      checkMicros('timeline time', at);
      if (at < prev) throw new RangeError(`${this.name}: timeline must be in non-decreasing time order`);
      if (state !== 'up' && state !== 'down') throw new RangeError(`${this.name}: bad timeline state ${String(state)}`);
      prev = at;
    }
    this.timeline = timeline;
    this.isUp = (config.initialState ?? 'up') === 'up';
    this.nextTransitionAt = timeline.length > 0 ? timeline[0]![0] : Infinity;
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
    if (tap.onOffer) this.offerTaps = [...this.offerTaps, tap];
    if (tap.onDeliver) this.deliverTaps = [...this.deliverTaps, tap];
    if (tap.onDrop) this.dropTaps = [...this.dropTaps, tap];
    return () => {
      this.offerTaps = this.offerTaps.filter((t) => t !== tap);
      this.deliverTaps = this.deliverTaps.filter((t) => t !== tap);
      this.dropTaps = this.dropTaps.filter((t) => t !== tap);
    };
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
    this.trimBacklog(this.sim.now);
    return this.backlogCount;
  }

  /** Bytes waiting to start serialization now. */
  get queuedBytes(): number {
    this.trimBacklog(this.sim.now);
    return this.backlogBytes;
  }

  /** Packets admitted and not yet delivered (queued, being serialized or propagating). */
  get inFlightPackets(): number {
    return this.inFlight;
  }

  /**
   * Offers a packet to the link at the simulator's current time, or at `arrivedAt`, an instant in the recent
   * past (not before the previous packet's arrival; clamped to it): a real-time driver that read a batch of
   * packets late uses it to queue and serialize them as if offered when they arrived (src/io/emulate.ts).
   * A delivery that would fall before the simulator's now happens now.
   */
  offer(bytes: Uint8Array, arrivedAt?: Micros): void {
    let now = this.sim.now;
    if (now >= this.nextTransitionAt) this.applyTimeline(now);
    if (arrivedAt !== undefined && arrivedAt < now) now = Math.max(arrivedAt, this.lastArrival);
    this.lastArrival = now;
    const c = this.counters;
    const size = bytes.length;
    c.offeredPackets++;
    c.offeredBytes += size;
    const taps = this.offerTaps;
    for (let i = 0; i < taps.length; i++) taps[i]!.onOffer!(now, bytes, this);
    if (!this.isUp) return this.drop(now, bytes, 'down');
    if (size > this.mtu) return this.drop(now, bytes, 'mtu');
    if (this.filter !== undefined && !this.filter(now, bytes)) return this.drop(now, bytes, 'filter');
    let packet = bytes;
    if (this.transform !== undefined) packet = this.transform(now, bytes) ?? bytes;
    if (this.lossKind !== 0 && this.lose()) return this.drop(now, packet, 'loss');
    this.admit(now, packet);
    if (this.duplicateProbability > 0 && this.duplicateRng.next() < this.duplicateProbability) {
      c.duplicatedPackets++;
      this.admit(now, packet.slice());
    }
  }

  /** @internal Simulator callback. */
  handleEvent(now: Micros, kind: number, payload: unknown, arg: number): void {
    if (kind === KIND_DELIVER) {
      if (now >= this.nextTransitionAt) this.applyTimeline(now);
      const bytes = payload as Uint8Array;
      this.inFlight--;
      if (arg !== this.epoch) {
        // The link went down at this very instant, after this event was dequeued.
        this.drop(now, bytes, 'down');
      } else {
        const c = this.counters;
        c.deliveredPackets++;
        c.deliveredBytes += bytes.length;
        const taps = this.deliverTaps;
        for (let i = 0; i < taps.length; i++) taps[i]!.onDeliver!(now, bytes, this);
        if (this.receiver !== undefined) this.receiver(now, bytes);
      }
      this.trimPending();
    } else if (kind === KIND_TIMELINE) {
      this.timelineEvent = undefined;
      this.applyTimeline(now);
    }
  }

  private drop(now: Micros, bytes: Uint8Array, cause: DropCause): void {
    const c = this.counters;
    c.droppedPackets[cause]++;
    c.droppedBytes[cause] += bytes.length;
    const taps = this.dropTaps;
    for (let i = 0; i < taps.length; i++) taps[i]!.onDrop!(now, bytes, cause, this);
  }

  private lose(): boolean {
    const rng = this.lossRng;
    if (this.lossKind === 1) return rng.next() < this.lossProbability;
    if (this.geBad) {
      if (rng.next() < this.geBadToGood) this.geBad = false;
    } else if (rng.next() < this.geGoodToBad) {
      this.geBad = true;
    }
    const p = this.geBad ? this.geLossBad : this.geLossGood;
    return p > 0 && rng.next() < p;
  }

  /** Queue check, serialization, propagation; schedules the delivery. */
  private admit(now: Micros, bytes: Uint8Array): void {
    const size = bytes.length;
    // 1. When would serialization start? Packets that must wait are subject to the queue limits.
    let start: Micros;
    let startFloor = now;
    let startFraction = 0;
    if (this.trace !== undefined) {
      if (this.leftoverBytes > 0 && this.leftoverTime >= now) {
        start = this.leftoverTime;
      } else {
        this.leftoverBytes = 0;
        this.skipTraceTo(now);
        start = this.cursorBase + this.trace[this.cursorIndex]!;
      }
    } else if (this.rate === Infinity || now > this.busyFloor || (now === this.busyFloor && this.busyFraction === 0)) {
      start = now;
    } else {
      startFloor = this.busyFloor;
      startFraction = this.busyFraction;
      start = startFraction > 0 ? startFloor + 1 : startFloor;
    }
    if (start > now) {
      this.trimBacklog(now);
      if (this.backlogCount + 1 > this.limitPackets || this.backlogBytes + size > this.limitBytes) {
        return this.drop(now, bytes, 'queue');
      }
      this.pushBacklog(start, size);
    }

    // 2. When does serialization end?
    let finish: Micros;
    if (this.trace !== undefined) {
      finish = this.consumeTrace(now, size);
    } else if (this.rate === Infinity) {
      finish = now;
    } else {
      const rate = this.rate;
      const numerator = startFraction + size * 8_000_000;
      let whole = Math.floor(numerator / rate);
      let fraction = numerator - whole * rate;
      if (fraction < 0) {
        whole--;
        fraction += rate;
      } else if (fraction >= rate) {
        whole++;
        fraction -= rate;
      }
      this.busyFloor = startFloor + whole;
      this.busyFraction = fraction;
      finish = fraction > 0 ? this.busyFloor + 1 : this.busyFloor;
    }

    // 3. Propagation.
    let propagation = this.delay;
    if (this.jitterMax > 0) {
      let offset: number;
      if (this.jitterNormal) {
        offset = Math.round(this.jitterRng.nextNormal() * this.jitterStddev);
        if (offset > this.jitterMax) offset = this.jitterMax;
        else if (offset < -this.jitterMax) offset = -this.jitterMax;
      } else {
        offset = this.jitterRng.nextInt(-this.jitterMax, this.jitterMax);
      }
      propagation = Math.max(0, propagation + offset);
    }
    let at = finish + propagation;
    if (this.reorderProbability > 0 && this.reorderRng.next() < this.reorderProbability) {
      at += this.reorderExtra;
      this.counters.reorderedPackets++;
    } else if (!this.allowReorder) {
      if (at < this.lastOrderedDelivery) at = this.lastOrderedDelivery;
      this.lastOrderedDelivery = at;
    }
    if (at < this.sim.now) at = this.sim.now; // an arrival in the past (offer's arrivedAt) due already
    this.inFlight++;
    this.pending.push(this.sim.schedule(at, this, KIND_DELIVER, bytes, this.epoch));
  }

  /** Moves the trace cursor to the first opportunity at or after `now` (never backwards). */
  private skipTraceTo(now: Micros): void {
    const trace = this.trace!;
    if (this.cursorBase + trace[this.cursorIndex]! >= now) return;
    const rel = now - this.traceStart;
    let cycle = Math.floor(rel / this.tracePeriod);
    let index = lowerBound(trace, rel - cycle * this.tracePeriod);
    if (index === trace.length) {
      cycle++;
      index = 0;
    }
    this.cursorBase = this.traceStart + cycle * this.tracePeriod;
    this.cursorIndex = index;
  }

  /** Spends trace budget on a packet of `size` bytes; returns the instant of the opportunity that completes it. */
  private consumeTrace(now: Micros, size: number): Micros {
    const trace = this.trace!;
    let remaining = Math.max(1, size);
    let finish: Micros = 0;
    if (this.leftoverBytes > 0 && this.leftoverTime >= now) {
      const use = Math.min(this.leftoverBytes, remaining);
      this.leftoverBytes -= use;
      remaining -= use;
      finish = this.leftoverTime;
    }
    if (remaining > 0) this.skipTraceTo(now);
    while (remaining > 0) {
      const t = this.cursorBase + trace[this.cursorIndex]!;
      if (++this.cursorIndex === trace.length) {
        this.cursorIndex = 0;
        this.cursorBase += this.tracePeriod;
      }
      const use = Math.min(this.traceBudget, remaining);
      remaining -= use;
      this.leftoverBytes = this.traceBudget - use;
      this.leftoverTime = t;
      finish = t;
    }
    return finish;
  }

  private pushBacklog(start: Micros, size: number): void {
    let cap = this.backlogStart.length;
    if (this.backlogCount === cap) {
      const starts = new Float64Array(cap * 2);
      const sizes = new Float64Array(cap * 2);
      for (let i = 0; i < this.backlogCount; i++) {
        const j = (this.backlogHead + i) % cap;
        starts[i] = this.backlogStart[j]!;
        sizes[i] = this.backlogSize[j]!;
      }
      this.backlogStart = starts;
      this.backlogSize = sizes;
      this.backlogHead = 0;
      cap *= 2;
    }
    const tail = (this.backlogHead + this.backlogCount) % cap;
    this.backlogStart[tail] = start;
    this.backlogSize[tail] = size;
    this.backlogCount++;
    this.backlogBytes += size;
  }

  /** Forgets backlog entries whose serialization has started by `now`. */
  private trimBacklog(now: Micros): void {
    const cap = this.backlogStart.length;
    while (this.backlogCount > 0 && this.backlogStart[this.backlogHead]! <= now) {
      this.backlogBytes -= this.backlogSize[this.backlogHead]!;
      this.backlogHead = (this.backlogHead + 1) % cap;
      this.backlogCount--;
    }
  }

  private trimPending(): void {
    const pending = this.pending;
    let head = this.pendingHead;
    while (head < pending.length && !pending[head]!.pending) head++;
    if (head === pending.length) {
      pending.length = 0;
      head = 0;
    } else if (head >= 1024 && head * 2 >= pending.length) {
      pending.splice(0, head);
      head = 0;
    }
    this.pendingHead = head;
  }

  private syncTimeline(now: Micros): void {
    if (now >= this.nextTransitionAt) this.applyTimeline(now);
  }

  /** Applies every scheduled transition due by `now` and arms an event for the next one. */
  private applyTimeline(now: Micros): void {
    const timeline = this.timeline;
    while (this.timelineIndex < timeline.length && timeline[this.timelineIndex]![0] <= now) {
      this.transition(now, timeline[this.timelineIndex]![1]);
      this.timelineIndex++;
    }
    this.nextTransitionAt = this.timelineIndex < timeline.length ? timeline[this.timelineIndex]![0] : Infinity;
    if (this.nextTransitionAt !== Infinity && (this.timelineEvent === undefined || this.timelineEvent.at !== this.nextTransitionAt)) {
      if (this.timelineEvent !== undefined) this.sim.cancel(this.timelineEvent);
      this.timelineEvent = this.sim.schedule(this.nextTransitionAt, this, KIND_TIMELINE);
    }
  }

  private transition(now: Micros, state: LinkState): void {
    const up = state === 'up';
    if (up === this.isUp) return;
    this.isUp = up;
    if (!up) {
      // Linux-like: everything queued or on the wire is lost at this instant.
      this.epoch++;
      const pending = this.pending;
      for (let i = this.pendingHead; i < pending.length; i++) {
        const ev = pending[i]!;
        if (!ev.pending) continue;
        const bytes = ev.payload as Uint8Array;
        this.sim.cancel(ev);
        this.inFlight--;
        this.drop(now, bytes, 'down');
      }
      pending.length = 0;
      this.pendingHead = 0;
    }
    // Either way the transmitter restarts idle.
    this.backlogCount = 0;
    this.backlogBytes = 0;
    this.backlogHead = 0;
    this.busyFloor = now;
    this.busyFraction = 0;
    this.leftoverBytes = 0;
    this.lastOrderedDelivery = now;
  }
}
