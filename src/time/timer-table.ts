/**
 * Timers as data (STYLE.md 2, quinn's `TimerTable`, smoltcp's `Timer`): a fixed set of kinds, numbered from
 * 0, and one deadline per kind. Its owner arms and disarms entries, reports `next()` from its
 * `pollTimeout()`, and on `handleTimeout(now)` asks which kinds `expired(now)`. Shared by a TCP subflow
 * (src/tcp/timers.ts) and an MPTCP connection (src/mptcp/timers.ts).
 */
import type { Micros } from './micros.js';

const UNARMED = Infinity;

/** A fixed table of deadlines, one per kind `0 .. kinds - 1`. */
export class TimerTable<Kind extends number = number> {
  /** Deadline per kind; Infinity when unarmed. */
  readonly #deadlines: Float64Array;

  constructor(readonly kinds: number) {
    this.#deadlines = new Float64Array(kinds).fill(UNARMED);
  }

  /** Arms (or re-arms) `kind` at `deadline`. */
  set(kind: Kind, deadline: Micros): void {
    this.#deadlines[kind] = deadline;
  }

  /** Disarms `kind`. */
  stop(kind: Kind): void {
    this.#deadlines[kind] = UNARMED;
  }

  /** Disarms every timer. */
  stopAll(): void {
    this.#deadlines.fill(UNARMED);
  }

  /** Whether `kind` is armed. */
  isArmed(kind: Kind): boolean {
    return this.#deadlines[kind] !== UNARMED;
  }

  /** The deadline of `kind`, or undefined. */
  get(kind: Kind): Micros | undefined {
    const d = this.#deadlines[kind]!;
    return d === UNARMED ? undefined : d;
  }

  /** The earliest deadline, or undefined when no timer is armed. */
  next(): Micros | undefined {
    let min = UNARMED;
    const d = this.#deadlines;
    for (let k = 0; k < d.length; k++) if (d[k]! < min) min = d[k]!;
    return min === UNARMED ? undefined : min;
  }

  /** Whether `kind` is armed with a deadline at or before `now`. */
  expired(kind: Kind, now: Micros): boolean {
    return this.#deadlines[kind]! <= now;
  }
}
