/**
 * Path managers behind one interface (STYLE.md 10; the counterpart of Linux's `struct mptcp_pm_ops`, with
 * `pm_kernel.c` and `pm_userspace.c` behind it): event hooks the connection calls when something happened
 * that a path manager reacts to, and polled outputs it reads back (a signal to put on a pure ACK within the
 * option bytes left, a subflow to open, a deadline).
 *
 * Read first: Linux net/mptcp/pm.c (the event side every manager shares: `mptcp_pm_fully_established`,
 * `mptcp_pm_add_addr_received`, `mptcp_pm_add_addr_echoed`, `mptcp_pm_rm_addr_received`,
 * `mptcp_pm_subflow_closed`, `mptcp_pm_allow_new_subflow`, and `mptcp_pm_add_addr_signal` /
 * `mptcp_pm_rm_addr_signal`, which options.c calls with the bytes it has left), protocol.h
 * `struct mptcp_pm_ops`; RFC 8684 3.4 (ADD_ADDR, REMOVE_ADDR).
 *
 * Sans-IO: a path manager never reads a clock (`now` is passed in) and never touches a subflow. It sees its
 * connection through {@link PmConnection} and acts through it; the subflows it wants opened are polled by
 * the host (through the connection), which carries them out with MP_JOIN.
 *
 * Call order, from the connection: `created` when the MP_CAPABLE handshake gave the connection its keys;
 * then any hook as it happens; `signalDue` / `pollSignal` while building pure ACKs; `pollTimeout` /
 * `handleTimeout` with the connection's own.
 */
import type { Micros } from '../time/micros.js';
import type { MptcpOption } from '../wire/mptcp-option.js';
import type { Limits, TableEndpoint } from './config.js';

/** An address and port (port 0 = the connection's own port, as in ADD_ADDR without a port). */
export interface PmAddress {
  readonly address: Uint8Array;
  readonly port: number;
}

/** An address the peer announced with ADD_ADDR, with its address id. */
export interface PmPeerAddress extends PmAddress {
  readonly id: number;
}

/** One live subflow (the caller drops closed ones). Ids are the wire address ids (0 = initial address). */
export interface PmSubflow {
  readonly localId: number;
  readonly localAddress: Uint8Array;
  readonly remoteId: number;
  readonly remoteAddress: Uint8Array;
  readonly remotePort: number;
  /** The MP_CAPABLE subflow, not counted against the `subflows` limit. */
  readonly initial: boolean;
  /**
   * The endpoint this subflow was created from (undefined for the initial subflow, joins the peer
   * opened, and ADD_ADDR joins from "any" local address).
   */
  readonly endpointId?: number | undefined;
}

/**
 * A subflow the path manager wants opened with MP_JOIN. `localAddress` undefined means "whatever local
 * address routing picks" (the kernel's IPADDRANY local for an ADD_ADDR without fullmesh endpoints);
 * `localId` -1 means "the host assigns one".
 */
export interface SubflowRequest {
  readonly kind: 'createSubflow';
  readonly endpointId: number | undefined;
  readonly localId: number;
  readonly localAddress: Uint8Array | undefined;
  readonly remoteId: number;
  readonly remoteAddress: Uint8Array;
  readonly remotePort: number;
  readonly backup: boolean;
}

/** What a path manager reads of its host: `ip mptcp endpoint` / `ip mptcp limits` and the pm sysctls. */
export interface PathManagerConfig {
  endpoints(): readonly TableEndpoint[];
  limits(): Limits;
  /** ADD_ADDR retransmission timeout (net.mptcp.add_addr_timeout); default 120 s. */
  readonly addAddrTimeoutMicros?: Micros;
}

/** What a path manager may see and do of its connection (Linux hands pm code the msk). */
export interface PmConnection {
  /** The connection is MPTCP at the data level (past the handshake, not a fallback). */
  readonly isMptcp: boolean;
  /**
   * The path manager may act now: MPTCP with the peer's key, not closing (Linux's pm worker gives up on a
   * closing msk). Actions asked otherwise are not taken.
   */
  readonly mayAct: boolean;
  /** The live subflows as a path manager counts them (initial first, in creation order). */
  subflows(): PmSubflow[];
  /**
   * Resets the live subflows matching both ids (undefined matches any; `localId` matches joins only) with
   * MP_TCPRST, their unacknowledged data reinjected elsewhere. `byPeer`: for the peer's RM_ADDR (Linux
   * counts RmSubflow only for our own removals). Returns how many were reset.
   */
  closeSubflows(localId: number | undefined, remoteId: number | undefined, byPeer: boolean): number;
  /** MP_PRIO on the initial subflow: ask the peer to treat it as backup (or not). */
  setInitialBackup(backup: boolean): void;
  /** The ADD_ADDR HMAC of our address `id` (RFC 8684 3.4.1, with this connection's keys). */
  addAddrHmac(id: number, address: Uint8Array, port: number | undefined): Uint8Array;
  /** A subflow request was queued: the connection lets its host know (the host polls the requests). */
  subflowRequested(): void;
}

/** What the path manager learns when the connection becomes MPTCP (Linux `mptcp_pm_new_connection`). */
export interface PmConnectionStart {
  /** The initial subflow's local and remote address (the msk's own addresses). */
  readonly initialLocal: PmAddress;
  readonly initialRemote: PmAddress;
  /** The peer set the C flag in its MP_CAPABLE: no join to its initial address (remote id 0). */
  readonly denyJoinId0: boolean;
}

/** Our address that `ip mptcp endpoint delete` removed (already gone from the table). */
export interface RemovedEndpoint {
  readonly id: number;
  readonly address: Uint8Array;
}

/** What an implementer writes: every hook and output is optional (missing ones are no-ops / nothing). */
/** A closed subflow, as the path manager is told of it. */
export interface ClosedSubflow {
  /** The endpoint it was created from (a `subflow` endpoint of ours), if any. */
  readonly endpointId: number | undefined;
  /** The TCP error it closed with (`ECONNRESET`: reset by the peer; `ETIMEDOUT`: retransmissions gave up). */
  readonly error: string | undefined;
  /** The MP_JOIN handshake had completed (the subflow carried data or could have). */
  readonly wasEstablished: boolean;
  readonly now: Micros;
}

export interface PathManagerPolicy {
  /** Registry name, e.g. "kernel". */
  readonly name: string;
  // ---- event hooks (Linux pm.c / mptcp_pm_ops) ----
  /** The MP_CAPABLE handshake made the connection MPTCP (CREATED). */
  created?(start: PmConnectionStart): void;
  /** Both ends proved they have the keys (ESTABLISHED; Linux `mptcp_pm_fully_established`). */
  fullyEstablished?(): void;
  /** A joined subflow may carry data (SF_ESTABLISHED; Linux `mptcp_pm_subflow_established`). */
  subflowEstablished?(subflowId: number): void;
  /**
   * A subflow closed while others live on (Linux `mptcp_pm_subflow_closed`); `closed` says which and why
   * (a manager that re-creates subflows reads it).
   */
  subflowClosed?(closed?: ClosedSubflow): void;
  /** A valid ADD_ADDR arrived (ANNOUNCED; Linux `mptcp_pm_add_addr_received`). */
  addAddrReceived?(address: PmPeerAddress): void;
  /** The peer echoed an ADD_ADDR (Linux `mptcp_pm_add_addr_echoed`). */
  addAddrEchoed?(id: number, address: Uint8Array): void;
  /**
   * RM_ADDR arrived for the peer's address ids (REMOVED; Linux `mptcp_pm_rm_addr_received`). Returns how
   * many subflows the manager reset; with none, the connection resets those to the removed ids itself.
   */
  rmAddrReceived?(ids: readonly number[]): number;
  /** The host's endpoint table changed (Linux `mptcp_nl_add_subflow_or_signal_addr`). */
  endpointsChanged?(): void;
  /**
   * Our endpoint was deleted (Linux `mptcp_nl_remove_subflow_and_signal_addr`); `usedBySubflows`: the
   * connection has just reset subflows on it.
   */
  addressRemoved?(endpoint: RemovedEndpoint, usedBySubflows: boolean): void;
  // ---- questions ----
  /** A peer's MP_JOIN may be accepted (Linux `mptcp_pm_allow_new_subflow`). */
  acceptsJoin?(): boolean;
  // ---- polled outputs ----
  /** A signal (ADD_ADDR, its echo, RM_ADDR) waits: the connection forces a pure ACK to carry it. */
  signalDue?(): boolean;
  /**
   * The signal to put on the pure ACK being built, if one fits in `remainingBytes` of option space (Linux
   * `mptcp_pm_add_addr_signal` / `mptcp_pm_rm_addr_signal`); a signal that does not fit stays queued.
   */
  pollSignal?(now: Micros, remainingBytes: number): MptcpOption | undefined;
  /** Subflow requests are queued. */
  hasSubflowRequests?(): boolean;
  /** The queued subflow requests, oldest first; the queue is emptied. */
  takeSubflowRequests?(): SubflowRequest[];
  /** The manager's next deadline (ADD_ADDR retransmission). */
  pollTimeout?(): Micros | undefined;
  handleTimeout?(now: Micros): void;
}

/** What the connection holds: a policy with every hook and output present. */
export type PathManager = { readonly [K in keyof PathManagerPolicy]-?: NonNullable<PathManagerPolicy[K]> };

/** What a path manager is created with. */
export interface PathManagerParams {
  readonly config: PathManagerConfig;
  readonly connection: PmConnection;
}

/** Creates one connection's path manager. */
export type PathManagerFactory = (params: PathManagerParams) => PathManagerPolicy;
