/**
 * Timers for a running test: the interval reporter (ticks at start + k * interval, measured on the injected
 * clock so they do not drift), and promise helpers for timeouts and cancellation.
 */
import { PerfError } from './iperf3-protocol.js';
import type { PerfClock } from './report.js';

/** Calls `onTick` every `intervalSeconds` from `start()` until `stop()`, without accumulating drift. */
export class Ticker {
  private timer: NodeJS.Timeout | undefined;
  private originMs = 0;
  private count = 0;

  constructor(
    private readonly intervalSeconds: number,
    private readonly clock: PerfClock,
    private readonly onTick: () => void,
  ) {}

  start(): void {
    this.stop();
    if (!(this.intervalSeconds > 0)) return;
    this.originMs = this.clock();
    this.count = 0;
    this.schedule();
  }

  private schedule(): void {
    this.count++;
    const due = this.originMs + this.count * this.intervalSeconds * 1000;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.onTick();
      this.schedule();
    }, Math.max(0, due - this.clock()));
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** Rejects with PerfError(`message`) if `promise` has not settled after `ms` (no timeout when ms is Infinity). */
export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  if (!Number.isFinite(ms)) return promise;
  return new Promise<T>((resolve, reject) => {
    // Unref'd: a timeout alone does not keep the process alive (what is awaited holds it while it is real).
    const timer = setTimeout(() => reject(new PerfError(message)), ms).unref();
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** A promise that can be settled from outside (a one-shot event). */
export class Signal<T = void> {
  readonly promise: Promise<T>;
  private resolveFn!: (v: T) => void;
  private rejectFn!: (e: Error) => void;
  settled = false;

  constructor() {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
    this.promise.catch(() => undefined); // a rejection nobody waits for is not an unhandled rejection
  }

  resolve(v: T): void {
    if (this.settled) return;
    this.settled = true;
    this.resolveFn(v);
  }

  reject(e: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.rejectFn(e);
  }
}

/** `promise`, or a rejection as soon as `interrupt` rejects. */
export function raceWith<T>(promise: Promise<T>, interrupt: Signal<never>): Promise<T> {
  return Promise.race([promise, interrupt.promise]);
}

/** A Promise that resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
