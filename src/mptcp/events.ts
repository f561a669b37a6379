/**
 * Connection, subflow and path-manager events with the kernel's names (`enum mptcp_event_type` in
 * include/uapi/linux/mptcp.h), and the text `ip mptcp monitor` prints for them.
 *
 * Read first: iproute2 `ip/ipmptcp.c` `mptcp_monitor_msg`, Linux `net/mptcp/pm_netlink.c`
 * (`mptcp_event`, `mptcp_event_put_token_and_saddr`, `mptcp_event_sub_*`, `mptcp_event_addr_*`) for which
 * attributes each event carries. Checked against lines printed by iproute2 6.1 on Linux 6.18.
 */
import { formatAddress } from '../wire/address.js';

/** Event names and their genetlink command numbers (MPTCP_EVENT_*). */
export const MPTCP_EVENT = {
  CREATED: 1,
  ESTABLISHED: 2,
  CLOSED: 3,
  ANNOUNCED: 6,
  REMOVED: 7,
  SF_ESTABLISHED: 10,
  SF_CLOSED: 11,
  SF_PRIO: 13,
  LISTENER_CREATED: 15,
  LISTENER_CLOSED: 16,
} as const;

/** One of the monitor's event names. */
export type MptcpEventType = keyof typeof MPTCP_EVENT;

/** MPTCP_ATTR_FLAGS bits (MPTCP_PM_EV_FLAG_*). */
export const MPTCP_EVENT_FLAG = {
  /** The peer set the C flag: no join to its initial address. */
  denyJoinId0: 0x1,
  /** This end is the server (listener) side of the connection. */
  serverSide: 0x2,
} as const;

/**
 * One event. Fields are present exactly when the kernel puts the attribute in the message:
 * CREATED/ESTABLISHED: token, remoteId, localId, addresses, ports, flags; CLOSED: token; ANNOUNCED: token,
 * remoteId, remote address and port; REMOVED: token, remoteId; SF_*: token, ids, addresses, ports,
 * backup, error (SF_CLOSED), resetReason / resetFlags (SF_CLOSED after an MP_TCPRST); LISTENER_*:
 * family, local address and port.
 */
export interface MptcpEvent {
  readonly type: MptcpEventType;
  /** The connection token (local token of this end). */
  readonly token?: number;
  readonly remoteId?: number;
  readonly localId?: number;
  /** 4 or 16 bytes; its length selects saddr4 / saddr6. */
  readonly localAddress?: Uint8Array;
  readonly remoteAddress?: Uint8Array;
  readonly localPort?: number;
  readonly remotePort?: number;
  readonly backup?: boolean;
  /** Socket error (errno) of a closed subflow, e.g. 111 ECONNREFUSED. */
  readonly error?: number;
  /** {@link MPTCP_EVENT_FLAG} bits. */
  readonly flags?: number;
  /** ADD_ADDR retransmission timeout (seconds). */
  readonly timeout?: number;
  readonly ifindex?: number;
  /** MP_TCPRST reason code. */
  readonly resetReason?: number;
  /** MP_TCPRST flags (transient bit). */
  readonly resetFlags?: number;
}

export interface MonitorFormatOptions {
  /**
   * Width of the bracketed name: 14 in iproute2 up to 6.1 (`[%14s]`, the version Debian 12 ships),
   * 16 in later iproute2 (`[%16s]`, so that LISTENER_CREATED fits).
   */
  readonly nameWidth?: 14 | 16;
}

/**
 * One line of `ip mptcp monitor` (without the newline), e.g.
 * `[       CREATED] token=640e09ae remid=0 locid=0 saddr4=198.18.0.1 daddr4=198.18.0.1 sport=5201 dport=48984 flags=2`.
 * Attributes print in `mptcp_monitor_msg`'s order, whatever the event.
 */
export function formatMonitorLine(event: MptcpEvent, options?: MonitorFormatOptions): string {
  const width = options?.nameWidth ?? 14;
  let line = `[${event.type.padStart(width)}]`;
  if (event.token !== undefined) line += ` token=${(event.token >>> 0).toString(16).padStart(8, '0')}`;
  if (event.remoteId !== undefined) line += ` remid=${event.remoteId}`;
  if (event.localId !== undefined) line += ` locid=${event.localId}`;
  const v4 = (a: Uint8Array | undefined) => a !== undefined && a.length === 4;
  const v6 = (a: Uint8Array | undefined) => a !== undefined && a.length === 16;
  if (v4(event.localAddress)) line += ` saddr4=${formatAddress(event.localAddress!)}`;
  if (v4(event.remoteAddress)) line += ` daddr4=${formatAddress(event.remoteAddress!)}`;
  if (v6(event.localAddress)) line += ` saddr6=${formatAddress(event.localAddress!)}`;
  if (v6(event.remoteAddress)) line += ` daddr6=${formatAddress(event.remoteAddress!)}`;
  if (event.localPort !== undefined) line += ` sport=${event.localPort}`;
  if (event.remotePort !== undefined) line += ` dport=${event.remotePort}`;
  if (event.backup !== undefined) line += ` backup=${event.backup ? 1 : 0}`;
  if (event.error !== undefined) line += ` error=${event.error}`;
  if (event.flags !== undefined) line += ` flags=${event.flags.toString(16)}`;
  if (event.timeout !== undefined) line += ` timeout=${event.timeout}`;
  if (event.ifindex !== undefined) line += ` ifindex=${event.ifindex}`;
  if (event.resetReason !== undefined) line += ` reset_reason=${event.resetReason}`;
  if (event.resetFlags !== undefined) line += ` reset_flags=0x${event.resetFlags.toString(16)}`;
  return line;
}
