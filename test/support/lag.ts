/**
 * How late this process's timers run: a 10 ms repeating timer's lateness while a real-time run is in flight.
 * A process descheduled on a loaded machine (or blocked by a long synchronous stretch) runs every timer as
 * late; an otherwise idle process (a test waiting for child processes) measures the machine's scheduling
 * delay, which every process of the run suffers too. Real-time bounds that a late or starved process can
 * miss are widened by these figures, not by a fixed guess: on an idle machine they are near zero.
 */
export interface Lag {
  /** The worst lateness, seconds. */
  readonly worstSeconds: number;
  /** The summed lateness over the wall time: the fraction of the time a timer waited past its instant. */
  readonly fraction: number;
}

/** Starts sampling; `stop()` ends it and returns the figures. */
export function sampleLag(): { stop(): Lag } {
  const periodMs = 10;
  const startedAt = performance.now();
  let last = startedAt;
  let worstMs = 0;
  let sumMs = 0;
  const note = (now: number): void => {
    const late = Math.max(0, now - last - periodMs);
    worstMs = Math.max(worstMs, late);
    sumMs += late;
    last = now;
  };
  const timer = setInterval(() => note(performance.now()), periodMs);
  return {
    stop(): Lag {
      clearInterval(timer);
      const now = performance.now();
      note(now);
      return { worstSeconds: worstMs / 1000, fraction: Math.min(1, sumMs / Math.max(1, now - startedAt)) };
    },
  };
}
