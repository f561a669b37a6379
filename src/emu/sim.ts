/**
 * The virtual clock and its event queue: a discrete-event simulator that jumps from one event to the next.
 *
 * Design notes
 * - Time is an integer count of microseconds (`Micros`). Nothing here reads the wall clock; the only way
 *   time passes is by running events (or `run(until)`, which moves the clock to `until`).
 * - The queue is a binary min-heap ordered by (time, insertion sequence). Two events at the same instant run
 *   in the order they were scheduled, so a run is a pure function of its inputs (and its seeds).
 * - Events are small records `(at, handler, kind, payload, arg)`. A handler is either an object with
 *   `handleEvent(now, kind, payload, arg)` (the hot path: links and hosts schedule themselves with a `kind`
 *   tag and a payload, so no closure is allocated per event) or a plain `(now) => void` callback (for tests
 *   and one-off actions).
 * - Cancellation is lazy: a cancelled record stays in the heap, marked, and is skipped when it reaches the
 *   top. When cancelled records outnumber live ones the heap is rebuilt, so frequently re-armed timers
 *   cannot make it grow without bound.
 * - `runUntilIdle` throws when it hits its event budget (a livelock in a test should fail loudly);
 *   `driveBounded` is the reporting variant that says which bound stopped it.
 */

import type { Micros } from '../time/micros.js';
/** Re-exported: the project's one time type (src/time/micros.ts). */
export type { Micros };

/** An object that receives events it scheduled for itself; `kind`, `payload` and `arg` are its own tags. */
export interface SimHandler {
  /** Called when the event fires; `now` equals the event's time. */
  handleEvent(now: Micros, kind: number, payload: unknown, arg: number): void;
}

/** A one-off callback event. */
export type SimCallback = (now: Micros) => void;

/** What `schedule` returns: enough to cancel the event or ask whether it is still pending. */
export interface EventHandle {
  /** The instant the event fires (or would have fired). */
  readonly at: Micros;
  /** True until the event fires or is cancelled. */
  readonly pending: boolean;
  /** The payload given to `schedule` (cleared when the event is cancelled). */
  readonly payload: unknown;
  /** The number given to `schedule`. */
  readonly arg: number;
}

const PENDING = 0;
const FIRED = 1;
const CANCELLED = 2;

/** One queued event. Internal: callers only see it as an `EventHandle`. */
class SimEvent implements EventHandle {
  at: Micros;
  seq: number;
  handler: SimHandler | SimCallback;
  kind: number;
  payload: unknown;
  arg: number;
  state: number;

  constructor(at: Micros, seq: number, handler: SimHandler | SimCallback, kind: number, payload: unknown, arg: number) {
    this.at = at;
    this.seq = seq;
    this.handler = handler;
    this.kind = kind;
    this.payload = payload;
    this.arg = arg;
    this.state = PENDING;
  }

  get pending(): boolean {
    return this.state === PENDING;
  }
}

function earlier(a: SimEvent, b: SimEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** Why `driveBounded` returned. */
export type DriveStop = 'idle' | 'time' | 'events';

/** The outcome of `driveBounded`. */
export interface DriveResult {
  /** Events run by this call. */
  readonly events: number;
  /** `idle`: the queue ran dry; `time`: the next event lies after `maxTime`; `events`: the budget ran out. */
  readonly stoppedBy: DriveStop;
  /** The clock when it returned. */
  readonly now: Micros;
}

/**
 * A deterministic discrete-event simulator. Call order: `schedule` from anywhere (including inside a
 * handler); advance with `step`, `run`, `runFor`, `runUntilIdle` or `driveBounded`. Handlers run with the
 * clock set to their event's time.
 */
export class Simulator {
  private readonly heap: SimEvent[] = [];
  private nextSeq = 0;
  private cancelledInHeap = 0;
  private clock: Micros;
  /** Total events run since construction (cancelled events are not counted). */
  eventsProcessed = 0;

  /** `start` is the initial clock value (default 0). */
  constructor(start: Micros = 0) {
    if (!Number.isSafeInteger(start) || start < 0) throw new RangeError(`start must be a non-negative integer, got ${start}`);
    this.clock = start;
  }

  /** The current virtual time. */
  get now(): Micros {
    return this.clock;
  }

  /** Events scheduled and neither fired nor cancelled. */
  get pendingEvents(): number {
    return this.heap.length - this.cancelledInHeap;
  }

  /**
   * Queues an event at absolute time `at` (an integer, not before `now`). With a `SimHandler`, the handler's
   * `handleEvent(at, kind, payload, arg)` is called; with a callback, `handler(at)`.
   */
  schedule(at: Micros, handler: SimHandler | SimCallback, kind = 0, payload: unknown = undefined, arg = 0): EventHandle {
    if (!(at >= this.clock) || !Number.isSafeInteger(at)) {
      throw new RangeError(`cannot schedule at ${at}: must be an integer not before now (${this.clock})`);
    }
    const ev = new SimEvent(at, this.nextSeq++, handler, kind, payload, arg);
    const heap = this.heap;
    heap.push(ev);
    this.siftUp(heap.length - 1);
    return ev;
  }

  /** Queues an event `delay` microseconds from now. */
  scheduleAfter(delay: Micros, handler: SimHandler | SimCallback, kind = 0, payload: unknown = undefined, arg = 0): EventHandle {
    return this.schedule(this.clock + delay, handler, kind, payload, arg);
  }

  /** Cancels a pending event; returns false if it already fired or was cancelled. */
  cancel(handle: EventHandle): boolean {
    const ev = handle as SimEvent;
    if (ev.state !== PENDING) return false;
    ev.state = CANCELLED;
    ev.payload = undefined;
    this.cancelledInHeap++;
    if (this.cancelledInHeap > 1024 && this.cancelledInHeap * 2 > this.heap.length) this.compact();
    return true;
  }

  /** The time of the next live event, or undefined when idle. */
  nextEventTime(): Micros | undefined {
    const top = this.peekLive();
    return top === undefined ? undefined : top.at;
  }

  /** Runs the next event, if any; returns false when the queue is empty. */
  step(): boolean {
    const ev = this.peekLive();
    if (ev === undefined) return false;
    this.popTop();
    this.dispatch(ev);
    return true;
  }

  /** Runs every event at or before `until`, then sets the clock to `until`. Returns the number run. */
  run(until: Micros): number {
    if (!(until >= this.clock)) throw new RangeError(`cannot run backwards to ${until} (now ${this.clock})`);
    let n = 0;
    for (;;) {
      const ev = this.peekLive();
      if (ev === undefined || ev.at > until) break;
      this.popTop();
      this.dispatch(ev);
      n++;
    }
    this.clock = until;
    return n;
  }

  /** `run(now + duration)`. */
  runFor(duration: Micros): number {
    return this.run(this.clock + duration);
  }

  /**
   * Runs until no events remain. Throws if more than `maxEvents` would be needed (a livelock guard); the
   * clock stays at the last event run.
   */
  runUntilIdle(maxEvents = 100_000_000): number {
    const r = this.driveBounded(Infinity, maxEvents);
    if (r.stoppedBy !== 'idle') throw new Error(`runUntilIdle: still busy after ${maxEvents} events (now ${this.clock})`);
    return r.events;
  }

  /**
   * Runs events while they are at or before `maxTime` and fewer than `maxEvents` have run, and reports what
   * stopped it. On `time` the clock moves to `maxTime` (if finite); on `idle` and `events` it stays at the
   * last event run.
   */
  driveBounded(maxTime: Micros, maxEvents: number): DriveResult {
    let n = 0;
    for (;;) {
      const ev = this.peekLive();
      if (ev === undefined) return { events: n, stoppedBy: 'idle', now: this.clock };
      if (ev.at > maxTime) {
        if (maxTime !== Infinity) this.clock = maxTime;
        return { events: n, stoppedBy: 'time', now: this.clock };
      }
      if (n >= maxEvents) return { events: n, stoppedBy: 'events', now: this.clock };
      this.popTop();
      this.dispatch(ev);
      n++;
    }
  }

  private dispatch(ev: SimEvent): void {
    this.clock = ev.at;
    ev.state = FIRED;
    this.eventsProcessed++;
    const h = ev.handler;
    if (typeof h === 'function') h(ev.at);
    else h.handleEvent(ev.at, ev.kind, ev.payload, ev.arg);
  }

  /** Drops cancelled records off the top and returns the live top, without removing it. */
  private peekLive(): SimEvent | undefined {
    const heap = this.heap;
    for (;;) {
      const top = heap[0];
      if (top === undefined || top.state === PENDING) return top;
      this.popTop();
      this.cancelledInHeap--;
    }
  }

  private popTop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      this.siftDown(0);
    }
  }

  private siftUp(i: number): void {
    const heap = this.heap;
    const ev = heap[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (!earlier(ev, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = ev;
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const ev = heap[i]!;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      let c = heap[child]!;
      const right = child + 1;
      if (right < n) {
        const r = heap[right]!;
        if (earlier(r, c)) {
          child = right;
          c = r;
        }
      }
      if (!earlier(c, ev)) break;
      heap[i] = c;
      i = child;
    }
    heap[i] = ev;
  }

  private compact(): void {
    const heap = this.heap;
    let w = 0;
    for (let r = 0; r < heap.length; r++) {
      const ev = heap[r]!;
      if (ev.state === PENDING) heap[w++] = ev;
    }
    heap.length = w;
    this.cancelledInHeap = 0;
    for (let i = (w >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }
}
