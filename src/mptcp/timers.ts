/**
 * The timers of one MPTCP connection as data (STYLE.md 2): one enum of kinds on the project's generic table
 * (src/time/timer-table.ts, which a TCP subflow's timers use too). The connection arms and disarms entries;
 * its `pollTimeout()` is the earliest of `next()`, its subflows' and its path manager's deadlines.
 *
 * Read first: Linux net/mptcp/protocol.c `mptcp_reset_rtx_timer` / `mptcp_retransmit_timer` (the data-level
 * retransmission timer, RFC 8684 3.3.6) and `mptcp_set_datafin_timeout` (DATA_FIN retransmission, RFC 8684
 * 3.3.3). The MP_JOIN third-ACK timer is per subflow (handshake.ts) and the ADD_ADDR timer belongs to the
 * path manager (src/pm), as Linux keeps it in the pm's announce list.
 */
import type { Micros } from '../time/micros.js';
import { TimerTable } from '../time/timer-table.js';

/** Timer kinds of a connection. */
export const MptcpTimer = {
  /** Data-level retransmission: armed while data is not DATA_ACKed (Linux `mptcp_retransmit_timer`). */
  Retransmit: 0,
  /** DATA_FIN retransmission until a DATA_ACK covers it. */
  DataFin: 1,
  /** The next probe of a stale subflow's path (retransmit.ts `STALE_PROBE_INTERVAL`). */
  StaleProbe: 2,
} as const;

/** One connection timer kind. */
export type MptcpTimerKind = (typeof MptcpTimer)[keyof typeof MptcpTimer];

/** The table of a connection's timers (one deadline per `MptcpTimer` kind). */
export class MptcpTimerTable extends TimerTable<MptcpTimerKind> {
  /** The time of the connection's latest driver call (for timers armed while options are built). */
  now: Micros = 0;

  constructor() {
    super(Object.keys(MptcpTimer).length);
  }
}
