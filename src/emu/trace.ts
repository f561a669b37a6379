/**
 * Trace-driven link capacity in the Mahimahi format (Netravali et al., "Mahimahi: Accurate Record-and-Replay
 * for HTTP", USENIX ATC 2015; traces from Winstein et al., NSDI 2013).
 *
 * Format: one line per delivery opportunity, the number being milliseconds since the trace started;
 * repeated numbers mean several opportunities in the same millisecond. Each opportunity may carry up to
 * `bytesPerOpportunity` bytes (1500: one MTU-sized IP packet). The trace repeats with a period equal to its
 * last timestamp, as mahimahi's `LinkQueue` does (`base_timestamp += schedule.back()` on wrap-around), so a
 * file containing just `1` is a constant 12 Mbit/s link.
 *
 * This module only parses text; reading a file is `loadMahimahiTrace` in `trace-file.ts`, so the core link
 * stays free of I/O.
 */
import type { Micros } from './sim.js';

/** Parsed delivery opportunities, ready for a `Link`. */
export interface DeliveryTrace {
  /** Opportunity instants relative to the start of one period, non-decreasing, each in [0, periodMicros]. */
  readonly opportunitiesMicros: Float64Array;
  /** Length of one period (the last timestamp); the schedule repeats after it. Always > 0. */
  readonly periodMicros: Micros;
  /** Byte budget of one opportunity (mahimahi: one 1500-byte packet). */
  readonly bytesPerOpportunity: number;
}

/** Why a trace did not parse; `line` is 1-based. */
export class TraceError {
  constructor(
    readonly message: string,
    readonly line: number,
  ) {}

  toString(): string {
    return `trace line ${this.line}: ${this.message}`;
  }
}

/** Builds a trace from millisecond timestamps (must be non-decreasing integers, last one > 0). */
export function traceFromMillis(millis: ArrayLike<number>, bytesPerOpportunity = 1500): DeliveryTrace | TraceError {
  if (!(Number.isInteger(bytesPerOpportunity) && bytesPerOpportunity > 0)) return new TraceError('bytesPerOpportunity must be a positive integer', 0);
  if (millis.length === 0) return new TraceError('empty trace', 0);
  const out = new Float64Array(millis.length);
  let prev = 0;
  for (let i = 0; i < millis.length; i++) {
    const ms = millis[i]!;
    if (!Number.isSafeInteger(ms) || ms < 0) return new TraceError(`not a non-negative integer: ${ms}`, i + 1);
    if (ms < prev) return new TraceError(`timestamps go backwards (${ms} after ${prev})`, i + 1);
    out[i] = ms * 1000;
    prev = ms;
  }
  if (prev === 0) return new TraceError('the last timestamp must be > 0 (it is the period)', millis.length);
  return { opportunitiesMicros: out, periodMicros: prev * 1000, bytesPerOpportunity };
}

/** Parses a Mahimahi trace file's text. Blank lines are ignored; anything else non-numeric is an error. */
export function parseMahimahiTrace(text: string, bytesPerOpportunity = 1500): DeliveryTrace | TraceError {
  const millis: number[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    if (!/^\d+$/.test(line)) return new TraceError(`not a millisecond timestamp: ${JSON.stringify(line.slice(0, 40))}`, i + 1);
    millis.push(Number(line));
  }
  const r = traceFromMillis(millis, bytesPerOpportunity);
  return r;
}

/** The trace's long-run capacity in bit/s: opportunities * bytes * 8 / period. */
export function traceMeanRate(trace: DeliveryTrace): number {
  return (trace.opportunitiesMicros.length * trace.bytesPerOpportunity * 8 * 1e6) / trace.periodMicros;
}
