/**
 * The timers of one TCP connection as data (STYLE.md 2): one enum of kinds and a table of deadlines in
 * integer microseconds, on the project's generic table (src/time/timer-table.ts). The connection arms and
 * disarms entries; `next()` is the earliest deadline, which `TcpConnection.pollTimeout()` returns;
 * `expired(now)` tells the connection which kinds fired.
 */
import { TimerTable as GenericTimerTable } from '../time/timer-table.js';

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

/** The table of a TCP connection's timers (one deadline per `TcpTimer` kind). */
export class TimerTable extends GenericTimerTable<TcpTimerKind> {
  constructor() {
    super(Object.keys(TcpTimer).length);
  }
}
