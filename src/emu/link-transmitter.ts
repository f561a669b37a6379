/**
 * The transmitter of a `Link`: when a packet starts and ends serialization, at a fixed rate or driven by a
 * delivery trace. The queue is FIFO and the transmitter deterministic, so both instants are known when the
 * packet is offered.
 *
 * - Fixed rate: a packet of `size` bytes keeps the transmitter busy for exactly size*8/rate seconds. The
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
 */
import { checkMicros } from './link-check.js';
import type { Micros } from './sim.js';
import type { DeliveryTrace } from './trace.js';

/** Where a packet that cannot start serialization at once waits (the link's backlog). */
export interface WaitingRoom {
  /** Queues a packet offered at `now` that starts at `start` (> now); false if there is no room (a tail drop). */
  push(now: Micros, start: Micros, size: number): boolean;
}

/** Serialization of admitted packets, in offer order. */
export interface Transmitter {
  /**
   * Transmits a packet of `size` bytes offered at `now`: one that cannot start at once must get into `room`
   * first. Returns the instant its serialization ends, or -1 if `room` refused it (nothing else changed then,
   * but for the trace cursor moving up to `now`).
   */
  transmit(now: Micros, size: number, room: WaitingRoom): Micros;
  /** The link went down or came up at `now`: the transmitter is idle from then on. */
  restart(now: Micros): void;
}

/** The validated fixed rate of a config (Infinity by default): throws if a rate is given with a trace or is not > 0. */
export function checkRate(name: string, rateBitsPerSecond: number | undefined, trace: DeliveryTrace | undefined): number {
  if (trace !== undefined && rateBitsPerSecond !== undefined) {
    throw new RangeError(`${name}: rateBitsPerSecond and trace are exclusive`);
  }
  const rate = rateBitsPerSecond ?? Infinity;
  if (!(rate > 0)) throw new RangeError(`${name}: rateBitsPerSecond must be > 0, got ${rate}`);
  return rate === Infinity ? Infinity : Math.max(1, Math.round(rate));
}

/** A fixed-rate transmitter: busy until busyFloor + busyFraction / rate microseconds. */
export class RateTransmitter implements Transmitter {
  private busyFloor: Micros;
  private busyFraction = 0;

  /** `rate` in whole bit/s (see `checkRate`) or Infinity; idle from `now`. */
  constructor(
    private readonly rate: number,
    now: Micros,
  ) {
    this.busyFloor = now;
  }

  transmit(now: Micros, size: number, room: WaitingRoom): Micros {
    const rate = this.rate;
    if (rate === Infinity) return now;
    let startFloor = now;
    let startFraction = 0;
    if (!(now > this.busyFloor || (now === this.busyFloor && this.busyFraction === 0))) {
      // Busy: the packet starts at the busy-until instant rounded up, later than now, so it must wait.
      startFloor = this.busyFloor;
      startFraction = this.busyFraction;
      if (!room.push(now, startFraction > 0 ? startFloor + 1 : startFloor, size)) return -1;
    }
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
    return fraction > 0 ? this.busyFloor + 1 : this.busyFloor;
  }

  restart(now: Micros): void {
    this.busyFloor = now;
    this.busyFraction = 0;
  }
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

/** A trace-driven transmitter: a cursor on the (periodic) opportunities and the budget left in the last one used. */
export class TraceTransmitter implements Transmitter {
  private readonly trace: Float64Array;
  private readonly period: Micros;
  private readonly traceStart: Micros;
  private readonly budget: number;
  private cursorIndex = 0;
  private cursorBase: Micros;
  private leftoverBytes = 0;
  private leftoverTime: Micros = 0;

  /** `start` is when the trace's time 0 is; `name` is the link's, for errors. */
  constructor(name: string, trace: DeliveryTrace, start: Micros) {
    if (trace.opportunitiesMicros.length === 0 || !(trace.periodMicros > 0)) throw new RangeError(`${name}: empty trace`);
    this.trace = trace.opportunitiesMicros;
    this.period = trace.periodMicros;
    this.budget = trace.bytesPerOpportunity;
    this.traceStart = checkMicros('traceStartMicros', start);
    this.cursorBase = this.traceStart;
  }

  transmit(now: Micros, size: number, room: WaitingRoom): Micros {
    const start = this.startAt(now);
    if (start > now && !room.push(now, start, size)) return -1;
    return this.serialize(now, size);
  }

  restart(): void {
    this.leftoverBytes = 0;
  }

  /** When a packet offered at `now` would start: the opportunity with budget left, or the next one. */
  private startAt(now: Micros): Micros {
    if (this.leftoverBytes > 0 && this.leftoverTime >= now) return this.leftoverTime;
    this.leftoverBytes = 0;
    this.skipTo(now);
    return this.cursorBase + this.trace[this.cursorIndex]!;
  }

  /** Spends trace budget on a packet of `size` bytes; returns the instant of the opportunity that completes it. */
  private serialize(now: Micros, size: number): Micros {
    const trace = this.trace;
    let remaining = Math.max(1, size);
    let finish: Micros = 0;
    if (this.leftoverBytes > 0 && this.leftoverTime >= now) {
      const use = Math.min(this.leftoverBytes, remaining);
      this.leftoverBytes -= use;
      remaining -= use;
      finish = this.leftoverTime;
    }
    if (remaining > 0) this.skipTo(now);
    while (remaining > 0) {
      const t = this.cursorBase + trace[this.cursorIndex]!;
      if (++this.cursorIndex === trace.length) {
        this.cursorIndex = 0;
        this.cursorBase += this.period;
      }
      const use = Math.min(this.budget, remaining);
      remaining -= use;
      this.leftoverBytes = this.budget - use;
      this.leftoverTime = t;
      finish = t;
    }
    return finish;
  }

  /** Moves the cursor to the first opportunity at or after `now` (never backwards). */
  private skipTo(now: Micros): void {
    const trace = this.trace;
    if (this.cursorBase + trace[this.cursorIndex]! >= now) return;
    const rel = now - this.traceStart;
    let cycle = Math.floor(rel / this.period);
    let index = lowerBound(trace, rel - cycle * this.period);
    if (index === trace.length) {
      cycle++;
      index = 0;
    }
    this.cursorBase = this.traceStart + cycle * this.period;
    this.cursorIndex = index;
  }
}
