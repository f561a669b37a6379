/**
 * The connection's side of its path manager (Linux net/mptcp/pm.c, the part every manager shares): the
 * manager of src/pm sees the connection through a {@link PmConnection} built here; the signals it asks for
 * (ADD_ADDR, its echo, RM_ADDR) and MP_PRIO are put on pure ACKs here, within the option space left; the
 * peer's ADD_ADDR (HMAC checked), RM_ADDR and MP_PRIO are handled here and handed to the manager; our
 * removed endpoints reset the subflows using them.
 *
 * Read first: RFC 8684 3.4.1 (ADD_ADDR and its HMAC), 3.4.2 (REMOVE_ADDR), 3.3.8 (MP_PRIO); Linux pm.c
 * `mptcp_pm_add_addr_signal` / `mptcp_pm_rm_addr_signal` (called by options.c with the bytes it has left),
 * `mptcp_pm_add_addr_received`, `mptcp_pm_rm_addr_received`, `mptcp_pm_mp_prio_received`, pm_kernel.c
 * `mptcp_pm_nl_rm_addr_or_subflow`, `mptcp_nl_remove_subflow_and_signal_addr`, options.c
 * `mptcp_established_options_mp_prio`.
 */
import type { MptcpOption } from '../wire/mptcp-option.js';
import { MpTcpRstReason } from '../wire/mptcp-option.js';
import { createPathManager, DEFAULT_PATH_MANAGER } from '../pm/registry.js';
import type { PathManager, PathManagerConfig, PmConnection, PmSubflow } from '../pm/types.js';
import { addressesEqual } from '../pm/config.js';
import type { Closing } from './close.js';
import { isMptcp, type ConnectionContext } from './context.js';
import { addAddrHmac, hmacEqual } from './keys.js';
import type { Retransmit } from './retransmit.js';
import type { Subflow } from './subflow.js';

/** What TCP leaves an extension on a pure ACK (its own options are fitted after the extension's). */
export const PURE_ACK_OPTION_SPACE = 40;

/** What the connection's path-manager side is built with. */
export interface PathManagementParams {
  /** Registry name (src/pm); default "kernel". */
  readonly name: string | undefined;
  readonly config: PathManagerConfig;
  /** The manager queued a subflow request (the connection tells its host). */
  readonly subflowRequested: () => void;
}

/** The connection's path-manager side (see the file comment). */
export class PathManagement {
  /** The manager (src/pm): it owns its signals, its ADD_ADDR timer and its subflow requests. */
  readonly manager: PathManager;
  readonly #ctx: ConnectionContext;
  readonly #closing: Closing;
  readonly #retransmit: Retransmit;

  constructor(ctx: ConnectionContext, closing: Closing, retransmit: Retransmit, params: PathManagementParams) {
    this.#ctx = ctx;
    this.#closing = closing;
    this.#retransmit = retransmit;
    this.manager = createPathManager(params.name ?? DEFAULT_PATH_MANAGER, { config: params.config, connection: this.#pmConnection(params.subflowRequested) });
  }

  /** The connection as its path manager sees it and acts on it (built once). */
  #pmConnection(subflowRequested: () => void): PmConnection {
    const ctx = this.#ctx;
    const closing = this.#closing;
    return {
      get isMptcp() {
        return isMptcp(ctx.state);
      },
      get mayAct() {
        return ctx.state.kind === 'mptcp' && ctx.keys.remoteKey !== undefined && !closing.ending;
      },
      subflows: () => this.#pmSubflows(),
      closeSubflows: (localId, remoteId, byPeer) => this.#closeSubflows(localId, remoteId, byPeer),
      setInitialBackup: (backup) => {
        const initial = ctx.subflows.find((s) => !s.join);
        if (initial !== undefined) this.setBackup(initial.id, backup);
      },
      addAddrHmac: (id, address, port) => addAddrHmac(ctx.keys.localKey, ctx.keys.remoteKey!, id, address, port),
      subflowRequested,
    };
  }

  /** Live subflows as the path manager counts them. */
  #pmSubflows(): PmSubflow[] {
    const out: PmSubflow[] = [];
    for (const s of this.#ctx.subflows) {
      if (s.closed || s.joinState === 'failed' || s.tcp.state === 'CLOSED') continue;
      const ep = s.tcp.endpoints;
      out.push({
        localId: s.localAddressId,
        localAddress: ep.localAddress,
        remoteId: s.pmRemoteId ?? s.remoteAddressId ?? 0,
        remoteAddress: ep.remoteAddress,
        remotePort: ep.remotePort,
        initial: !s.join,
        endpointId: s.endpointId,
      });
    }
    return out;
  }

  /** The path manager's "close subflow": the live subflows matching both ids are reset. */
  #closeSubflows(localId: number | undefined, remoteId: number | undefined, byPeer: boolean): number {
    let closed = 0;
    for (const s of this.#ctx.subflows) {
      if (!s.live) continue;
      if (localId !== undefined && !(s.join && s.localAddressId === localId)) continue;
      if (remoteId !== undefined && s.remoteId !== remoteId) continue;
      this.#closeRemovedSubflow(s, byPeer);
      closed++;
    }
    return closed;
  }

  /**
   * A subflow whose address was removed (RM_ADDR, ours or the peer's): reset with MP_TCPRST (unspecified)
   * at the end of the current input or driver call; its data not DATA_ACKed is reinjected on the others.
   */
  #closeRemovedSubflow(s: Subflow, byPeer: boolean): void {
    // Linux counts RmSubflow for the subflows it removes for its own endpoints, not for the peer's RM_ADDR.
    if (!byPeer) this.#ctx.counters.RmSubflow++;
    s.resetReason = MpTcpRstReason.UNSPECIFIED;
    s.abortPending = true;
    this.#retransmit.reinjectUnacked(s, false);
  }

  /**
   * Our endpoint was deleted (see `MptcpConnection.removeLocalAddress`): the subflows using it are reset,
   * then the manager queues its RM_ADDR. Returns the subflows closed, or undefined when the connection is
   * not MPTCP with the peer's key or is closed (nothing was done).
   */
  removeLocalAddress(endpoint: { readonly id: number; readonly address: Uint8Array }): number | undefined {
    const ctx = this.#ctx;
    // MPTCP implies the path manager was told (`created`, when the mode became MPTCP).
    if (ctx.state.kind !== 'mptcp' || ctx.keys.remoteKey === undefined) return undefined;
    if (this.#closing.closedReported) return undefined;
    const id = endpoint.id;
    // By endpoint or address id (joins), or by source address (any subflow, the initial one included: Linux
    // `mptcp_lookup_subflow_by_saddr`; its RM_ADDR then says id 0).
    const matches = ctx.subflows.filter(
      (s) => s.live && (addressesEqual(s.tcp.endpoints.localAddress, endpoint.address) || (s.join && (s.endpointId === id || s.localAddressId === id))),
    );
    // The subflows first, then the manager's RM_ADDR and its turn (the two touch nothing of each other's).
    for (const s of matches) this.#closeRemovedSubflow(s, false);
    this.manager.addressRemoved(endpoint, matches.length > 0);
    return matches.length;
  }

  /**
   * MP_PRIO (RFC 8684 3.3.8) for subflow `subflowId`: our backup flag changes (the scheduler reads it) and
   * MP_PRIO is due on a pure ACK of that subflow. False when the subflow is unknown or closed, or the
   * connection is not MPTCP.
   */
  setBackup(subflowId: number, backup: boolean): boolean {
    const ctx = this.#ctx;
    if (!isMptcp(ctx.state) || ctx.keys.remoteKey === undefined) return false;
    const sf = ctx.subflows.find((s) => s.id === subflowId);
    if (sf === undefined || sf.closed || sf.tcp.state === 'CLOSED') return false;
    if (sf.backupLocal === backup && !sf.prioDue) return true;
    sf.backupLocal = backup;
    sf.prioDue = true;
    return true;
  }

  // ---- out ----

  /** A pure ACK must carry ADD_ADDR, its echo or RM_ADDR. */
  signalDue(): boolean {
    if (!isMptcp(this.#ctx.state)) return false;
    return this.manager.signalDue();
  }

  /** The subflow that carries ADD_ADDR and echoes (the first usable one, as the kernel's pm picks one). */
  signalSubflow(): Subflow | undefined {
    return this.#ctx.subflows.find((s) => s.usable);
  }

  /** ADD_ADDR, echo, RM_ADDR or MP_PRIO for a pure ACK of `sf` (sent alone, as Linux drops other suboptions). */
  pureAckOption(sf: Subflow): MptcpOption | undefined {
    const ctx = this.#ctx;
    // Linux options.c asks the path manager for what fits in the bytes left; the signal goes alone on a pure
    // ACK, and our TCP writes an extension's options first (it drops its own to fit), so all 40 are left.
    const signal = this.manager.pollSignal(ctx.now, PURE_ACK_OPTION_SPACE);
    if (signal !== undefined) {
      if (signal.subtype === 'RM_ADDR') ctx.counters.RmAddrTx++;
      else if (signal.subtype === 'ADD_ADDR') {
        if (signal.echo) ctx.counters.EchoAddTx++;
        else ctx.counters.AddAddrTx++;
      }
      return signal;
    }
    if (sf.prioDue) {
      sf.prioDue = false;
      ctx.counters.MPPrioTx++;
      return { subtype: 'MP_PRIO', backup: sf.backupLocal };
    }
    return undefined;
  }

  // ---- in ----

  /** A received ADD_ADDR (or its echo of ours); a bad HMAC drops it. */
  addAddrReceived(opt: Extract<MptcpOption, { subtype: 'ADD_ADDR' }>): void {
    const ctx = this.#ctx;
    if (opt.echo) {
      ctx.counters.EchoAdd++;
      this.manager.addAddrEchoed(opt.addressId, opt.address);
      return;
    }
    const expected = addAddrHmac(ctx.keys.remoteKey!, ctx.keys.localKey, opt.addressId, opt.address, opt.port);
    if (opt.hmac === undefined || !hmacEqual(opt.hmac, expected)) {
      ctx.counters.AddAddrDrop++;
      return;
    }
    ctx.counters.AddAddr++;
    // A valid HMAC proves the peer has our key: the handshake is over for the client too (ESTABLISHED
    // is reported before ANNOUNCED, as Linux checks full establishment before the options).
    ctx.becomeFullyEstablished();
    ctx.monitor.announced(opt);
    this.manager.addAddrReceived({ id: opt.addressId, address: opt.address, port: opt.port ?? 0 });
  }

  /** A received RM_ADDR: the subflows to those peer address ids are closed and the addresses forgotten. */
  rmAddrReceived(ids: readonly number[]): void {
    const ctx = this.#ctx;
    ctx.counters.RmAddr += ids.length;
    for (const id of ids) ctx.monitor.removed(id);
    if (this.manager.rmAddrReceived(ids) === 0) {
      // The path manager did not run (closing) or did not see them: close them here.
      for (const s of ctx.subflows) if (s.live && ids.includes(s.remoteId)) this.#closeRemovedSubflow(s, true);
    }
  }

  /** A received MP_PRIO: the peer's backup flag for `sf` (SF_PRIO). */
  mpPrioReceived(sf: Subflow, backup: boolean): void {
    this.#ctx.counters.MPPrioRx++;
    sf.backupPeer = backup;
    this.#ctx.monitor.subflow('SF_PRIO', sf);
  }
}
