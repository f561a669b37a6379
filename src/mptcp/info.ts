/**
 * What the outside sees of an MPTCP connection without changing it: MPTCP_INFO (`mptcpInfo()`), the
 * per-subflow MPTCP_TCPINFO view (`subflowInfo()`), the diagnostics snapshot (`debugState()`), and the
 * `ip mptcp monitor` events the connection emits (CREATED, ESTABLISHED, CLOSED, ANNOUNCED, REMOVED and the
 * SF_* events, with the kernel's attributes).
 *
 * Read first: Linux net/mptcp/sockopt.c `mptcp_diag_fill_info` (MPTCP_INFO) and `mptcp_get_subflow_data`
 * (MPTCP_TCPINFO), pm_netlink.c `mptcp_event` / `mptcp_event_add_subflow` / `mptcp_event_pm_listener`
 * (which attributes each event carries, a zero flags attribute omitted).
 */
import type { TcpEndpoints } from '../tcp/connection.js';
import type { TcpError, TcpInfo, TcpStateName } from '../tcp/types.js';
import type { MptcpOption } from '../wire/mptcp-option.js';
import { MPTCP_EVENT_FLAG, type MptcpEvent } from './events.js';
import type { Subflow } from './subflow.js';

/** MPTCP_INFO-like connection info. */
export interface MptcpInfo {
  readonly mode: 'handshake' | 'mptcp' | 'fallback';
  readonly fullyEstablished: boolean;
  readonly checksum: boolean;
  readonly localToken: number;
  readonly remoteToken: number | undefined;
  /** Data-level bytes written by the application, acknowledged by DATA_ACK, and received in order. */
  readonly bytesSent: number;
  readonly bytesAcked: number;
  readonly bytesReceived: number;
  /** Live subflows. */
  readonly subflows: number;
}

/** MPTCP_TCPINFO-like per-subflow info. */
export interface MptcpSubflowInfo {
  readonly id: number;
  readonly endpoints: TcpEndpoints;
  /** Added with MP_JOIN (false for the initial MP_CAPABLE subflow). */
  readonly join: boolean;
  /** May carry data (for a join: the fourth ACK was received / the third ACK verified). */
  readonly fullyEstablished: boolean;
  readonly backupLocal: boolean;
  readonly backupPeer: boolean;
  readonly localAddressId: number;
  readonly remoteAddressId: number | undefined;
  readonly state: TcpStateName;
  /** Data-level bytes handed to this subflow (first transmissions and reinjections). */
  readonly dataBytesSent: number;
  /** Data-level bytes read from this subflow (before duplicate removal). */
  readonly dataBytesReceived: number;
  /** Marked stale (Linux `subflow->stale`): repeated RTOs without progress while another subflow works. */
  readonly stale: boolean;
  readonly tcp: TcpInfo;
}

/** Subflows that are not CLOSED (MPTCP_INFO's subflow count). */
export function liveSubflowCount(subflows: readonly Subflow[]): number {
  let live = 0;
  for (const s of subflows) if (s.tcp.state !== 'CLOSED') live++;
  return live;
}

/** The MPTCP_TCPINFO view of every subflow, in order. */
export function subflowInfo(subflows: readonly Subflow[]): MptcpSubflowInfo[] {
  return subflows.map((s) => ({
    id: s.id,
    endpoints: s.tcp.endpoints,
    join: s.join,
    fullyEstablished: s.usable,
    backupLocal: s.backupLocal,
    backupPeer: s.backupPeer,
    localAddressId: s.localAddressId,
    remoteAddressId: s.remoteAddressId,
    state: s.tcp.state,
    dataBytesSent: s.send.dataBytesSent,
    dataBytesReceived: s.receive.dataBytesReceived,
    stale: s.stale,
    tcp: s.tcp.info(),
  }));
}

/** A subflow's part of `debugState()`: plain values, no references. */
export function subflowDebugState(sf: Subflow): Record<string, unknown> {
  const i = sf.tcp.info();
  return {
    id: sf.id,
    state: sf.tcp.state,
    join: sf.joinState,
    usable: sf.usable,
    stale: sf.stale,
    backup: [sf.backupLocal, sf.backupPeer],
    written: sf.send.written,
    sentEnd: sf.send.sentEnd,
    readSeq: sf.receive.readSeq,
    maps: [sf.send.maps.length, sf.receive.maps.length],
    readable: sf.tcp.readableBytes,
    inFlight: i.bytesInFlight,
    cwnd: i.cwndBytes,
    sendWindow: i.sendWindow,
    receiveWindow: i.receiveWindow,
    rto: i.rtoMicros,
    timeouts: i.timeouts,
  };
}

/** Linux errno values of subflow errors. A subflow we reset ourselves (ECONNABORTED here) has none in Linux. */
const ERRNO: Readonly<Record<string, number>> = { ECONNRESET: 104, ECONNREFUSED: 111, ETIMEDOUT: 110, EPIPE: 32 };

/** The errno the kernel's SF_CLOSED `error` attribute would carry for a subflow's error. */
export function errnoOf(error: TcpError | undefined): number | undefined {
  return error === undefined ? undefined : ERRNO[error.code];
}

/** The `ip mptcp monitor` events of one connection, built with the kernel's attributes. */
export class ConnectionMonitor {
  readonly #emit: ((event: MptcpEvent) => void) | undefined;
  readonly #token: number;
  readonly #server: boolean;

  constructor(emit: ((event: MptcpEvent) => void) | undefined, token: number, server: boolean) {
    this.#emit = emit;
    this.#token = token;
    this.#server = server;
  }

  /** CLOSED (the token only). */
  closed(): void {
    this.#emit?.({ type: 'CLOSED', token: this.#token });
  }

  /** CREATED / ESTABLISHED: token, ids, the initial subflow's addresses and ports, flags. */
  connection(type: 'CREATED' | 'ESTABLISHED', initial: TcpEndpoints, denyJoinId0: boolean): void {
    if (this.#emit === undefined) return;
    const ep = initial;
    const flags = (this.#server ? MPTCP_EVENT_FLAG.serverSide : 0) | (denyJoinId0 ? MPTCP_EVENT_FLAG.denyJoinId0 : 0);
    this.#emit({
      type,
      token: this.#token,
      remoteId: 0,
      localId: 0,
      localAddress: ep.localAddress,
      remoteAddress: ep.remoteAddress,
      localPort: ep.localPort,
      remotePort: ep.remotePort,
      ...(flags !== 0 ? { flags } : {}), // the kernel omits a zero flags attribute
    });
  }

  /** SF_ESTABLISHED / SF_CLOSED / SF_PRIO (Linux `mptcp_event_sub_*`): the subflow's ids, addresses, backup. */
  subflow(type: 'SF_ESTABLISHED' | 'SF_CLOSED' | 'SF_PRIO', sf: Subflow, error?: number): void {
    if (this.#emit === undefined) return;
    const ep = sf.tcp.endpoints;
    this.#emit({
      type,
      token: this.#token,
      remoteId: sf.remoteId,
      localId: sf.localAddressId,
      localAddress: ep.localAddress,
      remoteAddress: ep.remoteAddress,
      localPort: ep.localPort,
      remotePort: ep.remotePort,
      backup: type === 'SF_PRIO' ? sf.backupPeer : sf.backupLocal || sf.backupPeer,
      ...(error !== undefined ? { error } : {}),
      ...(sf.peerReset !== undefined ? { resetReason: sf.peerReset.reason, resetFlags: sf.peerReset.flags } : {}),
    });
  }

  /** REMOVED: the peer's RM_ADDR named address id `remoteId`. */
  removed(remoteId: number): void {
    this.#emit?.({ type: 'REMOVED', token: this.#token, remoteId });
  }

  /** ANNOUNCED: a valid ADD_ADDR from the peer. */
  announced(opt: Extract<MptcpOption, { subtype: 'ADD_ADDR' }>): void {
    this.#emit?.({
      type: 'ANNOUNCED',
      token: this.#token,
      remoteId: opt.addressId,
      remoteAddress: opt.address,
      ...(opt.port ? { remotePort: opt.port } : {}),
    });
  }
}
