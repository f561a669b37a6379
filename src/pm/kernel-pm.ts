/**
 * The decisions of Linux's in-kernel path manager, as a pure function of one connection's path state.
 *
 * Read first: Linux `net/mptcp/pm_kernel.c` (`mptcp_pm_create_subflow_or_signal_addr`,
 * `select_signal_address`, `select_local_address`, `fill_remote_addresses_vec`,
 * `mptcp_pm_nl_add_addr_received`, `fill_local_addresses_vec`, `mptcp_pm_nl_rm_addr`,
 * `mptcp_nl_remove_subflow_and_signal_addr`, `__mptcp_pm_kernel_worker`), `net/mptcp/pm.c`
 * (`mptcp_pm_add_addr_received`, `mptcp_pm_allow_new_subflow`, `mptcp_pm_data_reset`) and
 * `protocol.h` (`mptcp_pm_addr_families_match`); RFC 8684 sections 3.4 (ADD_ADDR / REMOVE_ADDR) and
 * 3.1 (the C flag: "the sender of this SYN/ACK will not accept additional MPTCP subflows to the source
 * address and port of the SYN").
 *
 * No I/O, no clock: its owner (the KernelPathManager of ./kernel.ts) keeps a {@link KernelPmState}, calls
 * {@link step} after anything the path manager reacts to (connection fully established, a subflow
 * established or closed, an ADD_ADDR or its echo, an RM_ADDR, an endpoint added or deleted), carries out the
 * returned actions and keeps the returned state. {@link nextActions} is the same without the new state.
 */
import { addressesEqual, type Limits, type TableEndpoint } from './config.js';
import type { PmAddress, PmPeerAddress, PmSubflow, SubflowRequest } from './types.js';

export type { PmAddress, PmPeerAddress, PmSubflow } from './types.js';

/** Everything the kernel path manager looks at for one connection (`struct mptcp_pm_data` + pernet). */
export interface KernelPmState {
  /** The endpoint table, in the kernel's list order ({@link EndpointTable.list}). */
  readonly endpoints: readonly TableEndpoint[];
  readonly limits: Limits;
  /** The initial subflow's local and remote address (the msk's own addresses). */
  readonly initialLocal: PmAddress;
  readonly initialRemote: PmAddress;
  /**
   * The msk is an IPv6 socket (so IPv4 and IPv6 subflows may mix, unless {@link v6Only}). An IPv4
   * socket only ever has IPv4 subflows (`mptcp_pm_addr_families_match`). Defaults to the family of
   * {@link initialLocal}.
   */
  readonly socketIsV6?: boolean;
  readonly v6Only?: boolean;
  /** The peer set the C flag in its MP_CAPABLE: no join to its initial address (remote id 0). */
  readonly denyJoinId0: boolean;
  /** Fully established: the kernel PM creates subflows and announces only from then on. */
  readonly fullyEstablished: boolean;
  /** Live subflows, initial included. */
  readonly subflows: readonly PmSubflow[];
  /** Endpoint ids announced (cleared from `id_avail_bitmap` by an announce); `add_addr_signaled` = size. */
  readonly announcedIds: ReadonlySet<number>;
  /** Our last ADD_ADDR is not echoed yet (`MPTCP_ADD_ADDR_SIGNAL`): no new announce, no new subflow. */
  readonly announcePending: boolean;
  /** Endpoint ids used to create subflows (cleared from `id_avail_bitmap`). */
  readonly subflowEndpointIds: ReadonlySet<number>;
  /** The MPC endpoint was looked up and, if backup, MP_PRIO asked for (`MPTCP_PM_MPC_ENDPOINT_ACCOUNTED`). */
  readonly mpcEndpointAccounted: boolean;
  /**
   * The initial subflow's endpoint was deleted (its subflow closed with it): added again, it opens a join
   * like any `subflow` endpoint, with address id 0 (Linux "reuse ID 0 after delete and re-add"; #615).
   */
  readonly mpcEndpointFree?: boolean;
  /** ADD_ADDRs received and not yet processed, oldest first. */
  readonly receivedAddAddrs: readonly PmPeerAddress[];
  /** Remote ids the peer removed with RM_ADDR, not yet processed. */
  readonly removedRemoteIds: readonly number[];
  /** `add_addr_accepted`: ADD_ADDRs that led to a subflow (id 0 not counted). */
  readonly acceptedAddAddrs: number;
}

/** What the path manager wants done. */
export type PmAction =
  /** Send ADD_ADDR (retransmitted until echoed); `id` is the wire id (0 if it is the initial address). */
  | { readonly kind: 'announce'; readonly endpointId: number; readonly id: number; readonly address: Uint8Array; readonly port: number }
  /** Echo a received ADD_ADDR (always done, accepted or not). */
  | { readonly kind: 'echoAddAddr'; readonly id: number; readonly address: Uint8Array; readonly port: number }
  /** Open a subflow with MP_JOIN (see {@link SubflowRequest}). */
  | SubflowRequest
  /** Send RM_ADDR for our address id. */
  | { readonly kind: 'removeAddress'; readonly id: number }
  /** Close (RST with MP_TCPRST or FIN) the subflow(s) matching these ids. */
  | { readonly kind: 'closeSubflow'; readonly localId: number | undefined; readonly remoteId: number | undefined }
  /** Send MP_PRIO on the initial subflow (its local address is a backup endpoint). */
  | { readonly kind: 'setBackup'; readonly backup: boolean };

/** A state at connection start: nothing announced, nothing used, only the initial subflow. */
export function initialPmState(init: {
  endpoints: readonly TableEndpoint[];
  limits: Limits;
  initialLocal: PmAddress;
  initialRemote: PmAddress;
  denyJoinId0?: boolean;
  socketIsV6?: boolean;
  v6Only?: boolean;
}): KernelPmState {
  return {
    endpoints: init.endpoints,
    limits: init.limits,
    initialLocal: init.initialLocal,
    initialRemote: init.initialRemote,
    socketIsV6: init.socketIsV6,
    v6Only: init.v6Only,
    denyJoinId0: init.denyJoinId0 ?? false,
    fullyEstablished: false,
    subflows: [
      { localId: 0, localAddress: init.initialLocal.address, remoteId: 0, remoteAddress: init.initialRemote.address, remotePort: init.initialRemote.port, initial: true },
    ],
    announcedIds: new Set(),
    announcePending: false,
    subflowEndpointIds: new Set(),
    mpcEndpointAccounted: false,
    receivedAddAddrs: [],
    removedRemoteIds: [],
    acceptedAddAddrs: 0,
  };
}

const isV4 = (a: Uint8Array): boolean =>
  a.length === 4 || (a.length === 16 && a.subarray(0, 10).every((b) => b === 0) && a[10] === 0xff && a[11] === 0xff);

/** `mptcp_pm_addr_families_match`: never a subflow across families, and none of IPv6 on an IPv4 socket. */
export function familiesMatch(state: KernelPmState, local: Uint8Array, remote: Uint8Array): boolean {
  const socketIsV6 = state.socketIsV6 ?? state.initialLocal.address.length === 16;
  if (!socketIsV6) return isV4(local) && isV4(remote);
  if (state.v6Only) return !isV4(local) && !isV4(remote);
  return isV4(local) === isV4(remote);
}

/** Additional (non-initial) subflows: the kernel's `msk->pm.subflows`. */
function extraSubflows(subflows: readonly PmSubflow[]): number {
  return subflows.filter((s) => !s.initial).length;
}

/**
 * `mptcp_pm_allow_new_subflow` (pm.c): a peer's MP_JOIN is accepted while the additional subflows are
 * below the `subflows` limit.
 */
export function acceptJoin(state: KernelPmState): boolean {
  return extraSubflows(state.subflows) < state.limits.subflows;
}

/** `accept_addr` (pm.c `mptcp_pm_data_reset`, pm_kernel.c `mptcp_pm_nl_add_addr_received`). */
function acceptsAddAddr(state: KernelPmState, subflows: number, accepted: number): boolean {
  return state.limits.addAddrAccepted > 0 && accepted < state.limits.addAddrAccepted && subflows < state.limits.subflows;
}

/** The endpoint whose address is the initial subflow's local one (`msk->mpc_endpoint_id`). */
function mpcEndpointId(state: KernelPmState): number | undefined {
  return state.endpoints.find((e) => addressesEqual(e.address, state.initialLocal.address) && !e.port)?.id;
}

/** The actions of {@link step}, without the new state. */
export function nextActions(state: KernelPmState): PmAction[] {
  return step(state).actions;
}

/**
 * What the kernel path manager does now, and the state after doing it. Order as `__mptcp_pm_kernel_worker`
 * (received ADD_ADDRs, then announces and subflows), preceded by removals.
 */
export function step(state: KernelPmState): { actions: PmAction[]; state: KernelPmState } {
  const actions: PmAction[] = [];
  const subflows = [...state.subflows];
  const announcedIds = new Set(state.announcedIds);
  const subflowEndpointIds = new Set(state.subflowEndpointIds);
  let accepted = state.acceptedAddAddrs;
  let announcePending = state.announcePending;
  let mpcEndpointAccounted = state.mpcEndpointAccounted;
  const mpcId = mpcEndpointId(state);
  const wireId = (endpointId: number) => (endpointId === mpcId ? 0 : endpointId);
  const closeWhere = (match: (s: PmSubflow) => boolean, localId: number | undefined, remoteId: number | undefined) => {
    let closed = false;
    for (let i = subflows.length - 1; i >= 0; i--) {
      if (match(subflows[i]!)) {
        subflows.splice(i, 1);
        closed = true;
      }
    }
    if (closed) actions.push({ kind: 'closeSubflow', localId, remoteId });
  };

  // mptcp_nl_remove_subflow_and_signal_addr: an endpoint deleted from the table that this connection
  // announced or used: RM_ADDR for its id and its subflows closed; the id becomes available again.
  for (const id of new Set([...announcedIds, ...subflowEndpointIds])) {
    if (state.endpoints.some((e) => e.id === id)) continue;
    const hadSubflow = subflows.some((s) => s.endpointId === id || (!s.initial && s.localId === wireId(id) && s.localId !== 0));
    if (announcedIds.has(id) || hadSubflow) actions.push({ kind: 'removeAddress', id: wireId(id) });
    closeWhere((s) => !s.initial && (s.endpointId === id || (s.localId === wireId(id) && s.localId !== 0)), wireId(id), undefined);
    announcedIds.delete(id);
    subflowEndpointIds.delete(id);
  }

  // mptcp_pm_rm_addr_or_subflow + mptcp_pm_nl_rm_addr: the peer removed an address: its subflows go,
  // and an accepted ADD_ADDR slot is given back (not for id 0).
  for (const remoteId of state.removedRemoteIds) {
    closeWhere((s) => s.remoteId === remoteId, undefined, remoteId);
    if (remoteId !== 0 && accepted > 0) accepted--;
  }

  // mptcp_pm_add_addr_received (pm.c) + mptcp_pm_nl_add_addr_received: always echo; if still accepting,
  // no subflow to that address yet: join it from every fullmesh endpoint of its family, or else from
  // "any" local address; a created subflow uses up an add_addr_accepted slot (unless id 0).
  for (const remote of state.receivedAddAddrs) {
    actions.push({ kind: 'echoAddAddr', id: remote.id, address: remote.address, port: remote.port });
    if (!acceptsAddAddr(state, extraSubflows(subflows), accepted)) continue;
    // The kernel's refusal to join id 0 when the peer set the C flag (pm.c).
    if (remote.id === 0 && state.denyJoinId0) continue;
    const port = remote.port || state.initialRemote.port;
    // lookup_subflow_by_daddr
    if (subflows.some((s) => addressesEqual(s.remoteAddress, remote.address) && (!remote.port || s.remotePort === remote.port))) continue;
    const created: PmSubflow[] = [];
    // fill_local_addresses_vec
    for (const e of state.endpoints) {
      if (!e.fullmesh || !familiesMatch(state, e.address, remote.address)) continue;
      if (extraSubflows(subflows) + created.length >= state.limits.subflows) continue;
      const localId = addressesEqual(e.address, state.initialLocal.address) ? 0 : e.id;
      created.push({ localId, localAddress: e.address, remoteId: remote.id, remoteAddress: remote.address, remotePort: port, initial: false, endpointId: e.id });
      actions.push({ kind: 'createSubflow', endpointId: e.id, localId, localAddress: e.address, remoteId: remote.id, remoteAddress: remote.address, remotePort: port, backup: e.backup });
    }
    if (created.length === 0) {
      // The IPADDRANY local: routing picks the address, of the remote's family.
      if (!familiesMatch(state, remote.address, remote.address)) continue;
      const anyLocal = new Uint8Array(isV4(remote.address) ? 4 : 16);
      created.push({ localId: -1, localAddress: anyLocal, remoteId: remote.id, remoteAddress: remote.address, remotePort: port, initial: false });
      actions.push({ kind: 'createSubflow', endpointId: undefined, localId: -1, localAddress: undefined, remoteId: remote.id, remoteAddress: remote.address, remotePort: port, backup: false });
    }
    subflows.push(...created);
    if (remote.id !== 0) accepted++;
  }

  if (state.fullyEstablished) {
    // Lazy MPC endpoint accounting: the initial address's endpoint is never announced nor reused, and
    // if it is a backup endpoint the initial subflow is marked backup (MP_PRIO).
    if (!mpcEndpointAccounted) {
      mpcEndpointAccounted = true;
      const mpc = state.endpoints.find((e) => e.id === mpcId);
      if (mpc?.backup) actions.push({ kind: 'setBackup', backup: true });
    }
    const unavailable = (id: number) => (id === mpcId && !state.mpcEndpointFree) || announcedIds.has(id) || subflowEndpointIds.has(id);
    const subflowsMax = state.limits.subflows;
    const signalMax = state.endpoints.filter((e) => e.signal).length;
    const localAddrMax = state.endpoints.filter((e) => e.subflow).length;
    let signalAndSubflow: TableEndpoint | undefined;
    let blocked = false;

    // mptcp_pm_create_subflow_or_signal_addr, "check first for announce": one ADD_ADDR at a time, the
    // first available signal endpoint in list order (select_signal_address); while one is unechoed, stop.
    if (announcedIds.size < signalMax) {
      if (announcePending) blocked = true;
      else {
        const e = state.endpoints.find((x) => x.signal && !unavailable(x.id));
        if (e) {
          announcedIds.add(e.id);
          announcePending = true;
          actions.push({ kind: 'announce', endpointId: e.id, id: wireId(e.id), address: e.address, port: e.port });
          if (e.subflow) signalAndSubflow = e;
        }
      }
    }

    // "check if should create a new subflow": each available subflow endpoint in list order
    // (select_local_address), to the initial remote address, or with fullmesh to every remote address
    // of a current subflow (fill_remote_addresses_vec), within local_addr_max and subflows_max.
    const localAddrUsed = () => [...subflowEndpointIds].filter((id) => id !== mpcId).length;
    while (!blocked && localAddrUsed() < localAddrMax && extraSubflows(subflows) < subflowsMax) {
      let local: TableEndpoint | undefined;
      if (signalAndSubflow) {
        local = signalAndSubflow;
        signalAndSubflow = undefined;
      } else {
        local = state.endpoints.find((x) => x.subflow && !unavailable(x.id));
      }
      if (!local) break;
      subflowEndpointIds.add(local.id);
      const localId = wireId(local.id);
      const remotes: { id: number; address: Uint8Array; port: number }[] = [];
      if (!local.fullmesh) {
        if (!state.denyJoinId0 && familiesMatch(state, local.address, state.initialRemote.address)) {
          remotes.push({ id: 0, address: state.initialRemote.address, port: state.initialRemote.port });
        }
      } else {
        const unavailableRemote = new Set(subflows.filter((s) => s.localId === localId).map((s) => s.remoteId));
        for (const s of [...subflows]) {
          if (state.denyJoinId0 && s.remoteId === 0) continue;
          if (unavailableRemote.has(s.remoteId)) continue;
          if (!familiesMatch(state, local.address, s.remoteAddress)) continue;
          if (extraSubflows(subflows) + remotes.length >= subflowsMax) continue;
          unavailableRemote.add(s.remoteId);
          remotes.push({ id: s.remoteId, address: s.remoteAddress, port: s.remotePort });
        }
      }
      for (const r of remotes) {
        subflows.push({ localId, localAddress: local.address, remoteId: r.id, remoteAddress: r.address, remotePort: r.port, initial: false, endpointId: local.id });
        actions.push({ kind: 'createSubflow', endpointId: local.id, localId, localAddress: local.address, remoteId: r.id, remoteAddress: r.address, remotePort: r.port, backup: local.backup });
      }
    }
  }

  return {
    actions,
    state: {
      ...state,
      subflows,
      announcedIds,
      announcePending,
      subflowEndpointIds,
      mpcEndpointAccounted,
      receivedAddAddrs: [],
      removedRemoteIds: [],
      acceptedAddAddrs: accepted,
    },
  };
}
