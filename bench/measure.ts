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

/**
 * Goodput of several set-ups measured side by side: one untimed warm-up round of each (the JIT and the heap
 * settle: the first rounds of a process run up to 1.7 times slower, so a set-up measured first came out
 * slower for that alone), then `rounds` timed rounds in turn (A, B, C, A, B, C, ...), so all see the same
 * state of the process; the median of each. Wall time, and the CPU time of the process in the note.
 */
export function goodputSideBySide(
  bytes: number,
  setups: ReadonlyArray<{ readonly name: string; readonly run: (round: number) => string }>,
  rounds = 3,
): BenchResult[] {
  for (const s of setups) s.run(-1);
  const wall: number[][] = setups.map(() => []);
  const cpu: number[][] = setups.map(() => []);
  const details = setups.map(() => '');
  for (let round = 0; round < rounds; round++) {
    setups.forEach((s, i) => {
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      details[i] = s.run(round);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const c = process.cpuUsage(c0);
      wall[i]!.push((bytes * 8) / seconds / 1e9);
      cpu[i]!.push((bytes * 8) / ((c.user + c.system) / 1e6) / 1e9);
    });
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return setups.map((s, i) => ({
    name: s.name,
    value: sig3(median(wall[i]!)),
    unit: 'Gbit/s',
    note: `${bytes / 1e6} MB, after a warm-up round, median of ${rounds} taken in turn with the other in-process set-ups (${wall[i]!.map((x) => sig3(x)).join(', ')}); per CPU second of the process ${sig3(median(cpu[i]!))}${details[i] ? `; ${details[i]}` : ''}`,
  }));
}
