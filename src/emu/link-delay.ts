/**
 * The propagation stage of a `Link`: fixed delay, bounded jitter, explicit reordering, and the floor that
 * keeps deliveries in order.
 *
 * - Jitter adds a bounded offset to the propagation delay: uniform integer in [-max, +max], or normal with
 *   the given standard deviation rounded to whole µs and clamped to [-max, +max]; the total propagation
 *   delay never goes below 0. By default order is preserved (a packet is never delivered before the one
 *   sent before it, so jitter stays within its bound); `allowReorder` lets jitter reorder.
 * - Reordering: with `reorder.probability` a packet gets `extraDelayMicros` more propagation delay and is
 *   exempt from order preservation, so later packets overtake it.
 * Jitter draws from the link's `jitter` stream, reordering from its `reorder` stream.
 */
import { checkMicros, checkProbability } from './link-check.js';
import { Chance, type Rng } from './random.js';
import type { Micros } from './sim.js';

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

/** The random offset added to one packet's propagation delay, within [-max, +max]. */
export class Jitter {
  constructor(
    private readonly max: Micros,
    private readonly normal: boolean,
    private readonly stddev: number,
    private readonly rng: Rng,
  ) {}

  /** The next packet's offset in whole microseconds. */
  offset(): number {
    if (!this.normal) return this.rng.nextInt(-this.max, this.max);
    const offset = Math.round(this.rng.nextNormal() * this.stddev);
    if (offset > this.max) return this.max;
    if (offset < -this.max) return -this.max;
    return offset;
  }
}

/** Where a propagation stage counts the packets it holds back (the link's counters). */
export interface ReorderCounter {
  reorderedPackets: number;
}

/** Turns the end of a packet's serialization into its arrival instant. */
export class Propagation {
  private readonly jitter: Jitter | undefined;
  private readonly allowReorder: boolean;
  private readonly reorder: Chance;
  private readonly reorderExtra: Micros;
  /** No in-order packet arrives before this (the previous in-order arrival, or the last restart). */
  private orderedFloor: Micros = 0;

  /** `delay` is validated; the jitter and reorder configs are checked here, in that order. */
  constructor(
    private readonly delay: Micros,
    jitter: JitterConfig | undefined,
    reorder: ReorderConfig | undefined,
    rng: Rng,
    private readonly counters: ReorderCounter,
  ) {
    const max = checkMicros('jitter.maxMicros', jitter?.maxMicros);
    const stddev = jitter?.stddevMicros ?? max / 2;
    if (!(stddev >= 0)) throw new RangeError(`jitter.stddevMicros must be >= 0`);
    this.jitter = max > 0 ? new Jitter(max, jitter?.distribution === 'normal', stddev, rng.fork('jitter')) : undefined;
    this.allowReorder = jitter?.allowReorder ?? false;
    this.reorder = new Chance(checkProbability('reorder.probability', reorder?.probability), rng.fork('reorder'));
    this.reorderExtra = checkMicros('reorder.extraDelayMicros', reorder?.extraDelayMicros);
  }

  /** The arrival instant of a packet whose serialization ends at `finish` (draws jitter, then reordering). */
  arrival(finish: Micros): Micros {
    let propagation = this.delay;
    if (this.jitter !== undefined) propagation = Math.max(0, propagation + this.jitter.offset());
    let at = finish + propagation;
    if (this.reorder.happens()) {
      at += this.reorderExtra;
      this.counters.reorderedPackets++;
    } else if (!this.allowReorder) {
      if (at < this.orderedFloor) at = this.orderedFloor;
      this.orderedFloor = at;
    }
    return at;
  }

  /** The link went down or came up at `now`: nothing propagating is left to stay behind. */
  restart(now: Micros): void {
    this.orderedFloor = now;
  }
}
