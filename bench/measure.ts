/**
 * Benchmark helpers. Benchmarks may read the wall clock (tests may not). Each measurement runs a warm-up,
 * then several timed rounds, and reports the median so one noisy round on a shared 2-core machine does
 * not decide the result.
 */

/** One reported number. */
export interface BenchResult {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** Free-form context: sizes, configuration, spread. */
  readonly note?: string;
}

/** Nanoseconds per call of `fn` (median of `rounds` rounds of `iterations` calls each). */
export function nsPerOp(fn: (i: number) => void, iterations: number, rounds = 7): { median: number; min: number; max: number } {
  for (let i = 0; i < Math.min(iterations, 200_000); i++) fn(i); // warm-up for the JIT
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fn(i);
    const t1 = process.hrtime.bigint();
    samples.push(Number(t1 - t0) / iterations);
  }
  samples.sort((a, b) => a - b);
  return { median: samples[Math.floor(samples.length / 2)]!, min: samples[0]!, max: samples[samples.length - 1]! };
}

/** Rounds to 3 significant digits for reports. */
export function sig3(x: number): number {
  return Number(x.toPrecision(3));
}
