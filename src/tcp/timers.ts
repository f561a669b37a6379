/**
 * The timers of one TCP connection as data (STYLE.md 2): one enum of kinds and a table of deadlines in
 * integer microseconds. The connection arms and disarms entries; `next()` is the earliest deadline, which
 * `TcpConnection.pollTimeout()` returns; `expired(now)` tells the connection which kinds fired.
 */
import type { Micros } from './types.js';

/** Timer kinds. Retransmit covers SYN, SYN/ACK, data and FIN (RFC 6298). */
export const TcpTimer = {
  /** Retransmission timeout (RFC 6298). */
  Retransmit: 0,
  /** Delayed ACK (RFC 9293 section 3.8.6.3; Linux 40 ms). */
  DelayedAck: 1,
  /** Zero-window probe (RFC 9293 section 3.8.6.1). */
  Persist: 2,
  /** Keepalive (RFC 9293 section 3.8.4). */
  Keepalive: 3,
  /** TIME-WAIT 2*MSL (RFC 9293 section 3.6). */
  TimeWait: 4,
  /** Orphaned FIN-WAIT-2 after close() (Linux tcp_fin_timeout). */
  FinWait2: 5,
  /** RACK reordering timer (RFC 8985 section 6.3): re-run loss detection when a reordering window ends. */
  ReorderTimeout: 6,
  /** Tail Loss Probe timeout, PTO (RFC 8985 section 7.2). */
  LossProbe: 7,
} as const;

/** One timer kind. */
export type TcpTimerKind = (typeof TcpTimer)[keyof typeof TcpTimer];

const KINDS = 8;
const UNARMED = Infinity;

/** A fixed table of deadlines, one per kind. */
export class TimerTable {
  /** Deadline per kind; Infinity when unarmed. */
  readonly #deadlines = new Float64Array(KINDS).fill(UNARMED);

  /** Arms (or re-arms) `kind` at `deadline`. */
  set(kind: TcpTimerKind, deadline: Micros): void {
    this.#deadlines[kind] = deadline;
  }

  /** Disarms `kind`. */
  stop(kind: TcpTimerKind): void {
    this.#deadlines[kind] = UNARMED;
  }

  /** Disarms every timer. */
  stopAll(): void {
    this.#deadlines.fill(UNARMED);
  }

  /** Whether `kind` is armed. */
  isArmed(kind: TcpTimerKind): boolean {
    return this.#deadlines[kind] !== UNARMED;
  }

  /** The deadline of `kind`, or undefined. */
  get(kind: TcpTimerKind): Micros | undefined {
    const d = this.#deadlines[kind]!;
    return d === UNARMED ? undefined : d;
  }

  /** The earliest deadline, or undefined when no timer is armed. */
  next(): Micros | undefined {
    let min = UNARMED;
    const d = this.#deadlines;
    for (let k = 0; k < KINDS; k++) if (d[k]! < min) min = d[k]!;
    return min === UNARMED ? undefined : min;
  }

  /** Whether `kind` is armed with a deadline at or before `now`. */
  expired(kind: TcpTimerKind, now: Micros): boolean {
    return this.#deadlines[kind]! <= now;
  }
}
