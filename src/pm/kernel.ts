/**
 * The in-kernel path manager (Linux net/mptcp/pm_kernel.c, with the parts of pm.c it relies on) behind the
 * PathManager interface: it owns everything it keeps for one connection — the decision state of
 * ./kernel-pm.ts (endpoints used and announced, ADD_ADDRs received, limits), our ADD_ADDR until it is echoed
 * and its retransmission timer, the echoes and RM_ADDRs waiting for a pure ACK, and the subflows it asked
 * for that the host has not opened yet.
 *
 * Read first: Linux pm.c `mptcp_pm_add_timer` (ADD_ADDR resent up to ADD_ADDR_RETRANS_MAX times, every
 * net.mptcp.add_addr_timeout), `mptcp_pm_add_addr_signal` / `mptcp_pm_rm_addr_signal` (the signal handed to
 * options.c within the bytes left), `mptcp_pm_add_addr_echoed`, `mptcp_pm_rm_addr_received`; pm_kernel.c
 * `mptcp_pm_nl_rm_addr_or_subflow`, `mptcp_nl_remove_subflow_and_signal_addr`; RFC 8684 3.4.1 ("the sender
 * ... SHOULD retransmit ... until it receives the echo").
 *
 * Every hook updates the state first and then runs one turn of `step` (./kernel-pm.ts), whose actions are
 * carried out at once: signals are queued here, subflow requests queued here (the connection tells the
 * host), removals and MP_PRIO go to the connection. A turn is skipped while the connection does not allow
 * the manager to act; the state change is kept for the next turn.
 */
import type { Micros } from '../time/micros.js';
import { mptcpOptionLength, type MptcpOption } from '../wire/mptcp-option.js';
import { addressesEqual } from './config.js';
import { acceptJoin, initialPmState, step, type KernelPmState } from './kernel-pm.js';
import type {
  ClosedSubflow,
  PathManagerConfig,
  PathManagerPolicy,
  PathManagerParams,
  PmConnection,
  PmConnectionStart,
  PmPeerAddress,
  PmSubflow,
  RemovedEndpoint,
  SubflowRequest,
} from './types.js';

/** net.mptcp.add_addr_timeout default (TCP_RTO_MAX) and the kernel's ADD_ADDR_RETRANS_MAX. */
export const ADD_ADDR_TIMEOUT: Micros = 120_000_000;
export const ADD_ADDR_RETRANS_MAX = 3;

/**
 * Subflows that come back (issue 9; Linux leaves it open, mptcp_net-next #440): a subflow created from one
 * of our `subflow` endpoints that closes with an error (reset by the peer, or TCP gave up: a timeout or a
 * lost path) is created again from the same endpoint while the endpoint is still configured, after
 * RECREATE_BASE x 2^(failures so far) (1 s, 2 s, 4 s, ... at most RECREATE_MAX = 64 s), at most
 * RECREATE_ATTEMPTS times in a row; a subflow that had completed its MP_JOIN before it failed starts the
 * schedule again. Endpoint deleted, or the subflow closed without an error (a FIN, our own RM_ADDR): no
 * re-creation.
 */
export const RECREATE_BASE: Micros = 1_000_000;
export const RECREATE_MAX: Micros = 64_000_000;
export const RECREATE_ATTEMPTS = 8;

/** A re-creation waiting for its time. */
interface Recreation {
  readonly endpointId: number;
  /** Failures in a row so far (1 after the first). */
  failures: number;
  /** When the subflow may be created again; undefined once it was asked for. */
  at: Micros | undefined;
}

/** Our ADD_ADDR not yet echoed. */
interface PendingAnnounce {
  /** The wire address id. */
  readonly id: number;
  readonly address: Uint8Array;
  readonly port: number;
  readonly hmac: Uint8Array;
  /** Retransmissions so far. */
  retrans: number;
}

/** The kernel-style path manager of one connection (see the file comment). */
export class KernelPathManager implements PathManagerPolicy {
  readonly name = 'kernel';
  readonly #config: PathManagerConfig;
  readonly #connection: PmConnection;
  /** Undefined until the connection is MPTCP (`created`). */
  #state: KernelPmState | undefined;
  /** Subflows asked for and not yet taken by the host. */
  readonly #requests: SubflowRequest[] = [];
  #announce: PendingAnnounce | undefined;
  /** The ADD_ADDR (first or retransmitted) waits for a pure ACK. */
  #announceDue = false;
  #announceTimer: Micros | undefined;
  /** Our address ids to send in RM_ADDR (on a pure ACK of a remaining subflow). */
  readonly #rmAddr: number[] = [];
  /** Echoes of received ADD_ADDRs to send. */
  readonly #echoes: PmPeerAddress[] = [];
  /** Re-creations of failed subflows, by endpoint id. */
  readonly #recreate = new Map<number, Recreation>();

  constructor(params: PathManagerParams) {
    this.#config = params.config;
    this.#connection = params.connection;
  }

  created(start: PmConnectionStart): void {
    this.#state = initialPmState({
      endpoints: this.#config.endpoints(),
      limits: this.#config.limits(),
      initialLocal: start.initialLocal,
      initialRemote: start.initialRemote,
      denyJoinId0: start.denyJoinId0,
    });
  }

  fullyEstablished(): void {
    if (this.#state !== undefined) this.#state = { ...this.#state, fullyEstablished: true };
    this.#run(false);
  }

  subflowClosed(closed?: ClosedSubflow): void {
    if (closed !== undefined) this.#noteFailure(closed);
    this.#run(false);
  }

  /** A subflow of one of our endpoints failed: schedule its re-creation (see RECREATE_BASE). */
  #noteFailure(closed: ClosedSubflow): void {
    const id = closed.endpointId;
    if (id === undefined || closed.error === undefined || closed.error === 'ECONNABORTED') return;
    if (!this.#config.endpoints().some((e) => e.id === id && e.subflow)) return;
    const previous = this.#recreate.get(id);
    const failures = closed.wasEstablished || previous === undefined ? 1 : previous.failures + 1;
    if (failures > RECREATE_ATTEMPTS) {
      this.#recreate.delete(id);
      return;
    }
    const delay = Math.min(RECREATE_BASE * 2 ** (failures - 1), RECREATE_MAX);
    this.#recreate.set(id, { endpointId: id, failures, at: closed.now + delay });
  }

  /** Re-creations due at `now`: the endpoint is free for the manager's next turn again. */
  #recreateDue(now: Micros): void {
    if (this.#state === undefined) return;
    let ids: Set<number> | undefined;
    for (const r of this.#recreate.values()) {
      if (r.at === undefined || r.at > now) continue;
      r.at = undefined;
      const configured = this.#config.endpoints().some((e) => e.id === r.endpointId && e.subflow);
      if (!configured) {
        this.#recreate.delete(r.endpointId);
        continue;
      }
      ids ??= new Set(this.#state.subflowEndpointIds);
      ids.delete(r.endpointId);
    }
    if (ids !== undefined) {
      this.#state = { ...this.#state, subflowEndpointIds: ids };
      this.#run(false);
    }
  }

  addAddrReceived(address: PmPeerAddress): void {
    if (this.#state !== undefined) this.#state = { ...this.#state, receivedAddAddrs: [...this.#state.receivedAddAddrs, address] };
    this.#run(false);
  }

  addAddrEchoed(id: number, address: Uint8Array): void {
    const out = this.#announce;
    if (out === undefined || out.id !== id || !addressesEqual(out.address, address)) return;
    this.#forgetAnnounce();
    this.#run(false);
  }

  rmAddrReceived(ids: readonly number[]): number {
    for (let i = this.#requests.length - 1; i >= 0; i--) if (ids.includes(this.#requests[i]!.remoteId)) this.#requests.splice(i, 1);
    if (this.#state !== undefined) {
      this.#state = {
        ...this.#state,
        receivedAddAddrs: this.#state.receivedAddAddrs.filter((a) => !ids.includes(a.id)),
        removedRemoteIds: [...this.#state.removedRemoteIds, ...ids],
      };
    }
    return this.#run(true);
  }

  endpointsChanged(): void {
    this.#run(false);
  }

  addressRemoved(endpoint: RemovedEndpoint, usedBySubflows: boolean): void {
    if (this.#state === undefined) return;
    const id = endpoint.id;
    // The initial subflow's address is address id 0 on the wire, whatever its endpoint's id.
    const mpc = addressesEqual(endpoint.address, this.#state.initialLocal.address);
    if (this.#state.announcedIds.has(id) || usedBySubflows) this.#queueRmAddr(mpc ? 0 : id);
    if (this.#announce !== undefined && this.#announce.id === id) this.#forgetAnnounce();
    const state = this.#state;
    const announcedIds = new Set(state.announcedIds);
    announcedIds.delete(id);
    const subflowEndpointIds = new Set(state.subflowEndpointIds);
    subflowEndpointIds.delete(id);
    this.#state = { ...state, announcedIds, subflowEndpointIds, mpcEndpointFree: state.mpcEndpointFree || mpc };
    for (let i = this.#requests.length - 1; i >= 0; i--) if (this.#requests[i]!.endpointId === id) this.#requests.splice(i, 1);
    this.#run(false);
  }

  acceptsJoin(): boolean {
    if (this.#state === undefined) return true;
    return acceptJoin({ ...this.#state, limits: this.#config.limits(), subflows: this.#subflows() });
  }

  signalDue(): boolean {
    return this.#echoes.length > 0 || this.#rmAddr.length > 0 || (this.#announceDue && this.#announce !== undefined);
  }

  /** RM_ADDR first, then an echo, then our ADD_ADDR (arming its retransmission), as Linux orders them. */
  pollSignal(now: Micros, remainingBytes: number): MptcpOption | undefined {
    if (this.#rmAddr.length > 0) {
      const option: MptcpOption = { subtype: 'RM_ADDR', addressIds: this.#rmAddr.slice() };
      if (mptcpOptionLength(option) > remainingBytes) return undefined;
      this.#rmAddr.length = 0;
      return option;
    }
    const echo = this.#echoes[0];
    if (echo !== undefined) {
      const option: MptcpOption = { subtype: 'ADD_ADDR', echo: true, addressId: echo.id, address: echo.address, ...(echo.port ? { port: echo.port } : {}) };
      if (mptcpOptionLength(option) > remainingBytes) return undefined;
      this.#echoes.shift();
      return option;
    }
    const out = this.#announce;
    if (this.#announceDue && out !== undefined) {
      const option: MptcpOption = { subtype: 'ADD_ADDR', echo: false, addressId: out.id, address: out.address, ...(out.port ? { port: out.port } : {}), hmac: out.hmac };
      if (mptcpOptionLength(option) > remainingBytes) return undefined;
      this.#announceDue = false;
      this.#announceTimer = now + (this.#config.addAddrTimeoutMicros ?? ADD_ADDR_TIMEOUT);
      return option;
    }
    return undefined;
  }

  hasSubflowRequests(): boolean {
    return this.#requests.length > 0;
  }

  takeSubflowRequests(): SubflowRequest[] {
    return this.#requests.length === 0 ? [] : this.#requests.splice(0);
  }

  pollTimeout(): Micros | undefined {
    let t = this.#announceTimer;
    for (const r of this.#recreate.values()) if (r.at !== undefined && (t === undefined || r.at < t)) t = r.at;
    return t;
  }

  /**
   * Linux `mptcp_pm_add_timer`: resent up to ADD_ADDR_RETRANS_MAX times, then the manager moves on. And the
   * re-creations that are due.
   */
  handleTimeout(now: Micros): void {
    if (this.#recreate.size > 0) this.#recreateDue(now);
    if (this.#announceTimer === undefined || this.#announceTimer > now) return;
    this.#announceTimer = undefined;
    const out = this.#announce;
    if (out === undefined || !this.#connection.isMptcp) return;
    if (out.retrans < ADD_ADDR_RETRANS_MAX) {
      out.retrans++;
      this.#announceDue = true;
    } else {
      this.#announce = undefined;
      if (this.#state !== undefined) this.#state = { ...this.#state, announcePending: false };
      this.#run(false);
    }
  }

  /** Our ADD_ADDR is done with (echoed, or its endpoint deleted): the next one may go. */
  #forgetAnnounce(): void {
    this.#announce = undefined;
    this.#announceDue = false;
    this.#announceTimer = undefined;
    if (this.#state !== undefined) this.#state = { ...this.#state, announcePending: false };
  }

  #queueRmAddr(id: number): void {
    if (!this.#rmAddr.includes(id)) this.#rmAddr.push(id);
  }

  /** Live subflows and the requested ones, as `step` counts them. */
  #subflows(): PmSubflow[] {
    const out = this.#connection.subflows();
    for (const r of this.#requests) {
      out.push({
        localId: r.localId,
        localAddress: r.localAddress ?? new Uint8Array(r.remoteAddress.length),
        remoteId: r.remoteId,
        remoteAddress: r.remoteAddress,
        remotePort: r.remotePort,
        initial: false,
        endpointId: r.endpointId,
      });
    }
    return out;
  }

  /**
   * One turn of the decisions, its actions carried out. `byPeer`: the turn answers the peer's RM_ADDR.
   * Returns the subflows reset.
   */
  #run(byPeer: boolean): number {
    if (this.#state === undefined || !this.#connection.mayAct) return 0;
    const r = step({ ...this.#state, endpoints: this.#config.endpoints(), limits: this.#config.limits(), subflows: this.#subflows() });
    this.#state = r.state;
    let closed = 0;
    for (const a of r.actions) {
      switch (a.kind) {
        case 'announce': {
          const port = a.port;
          const hmac = this.#connection.addAddrHmac(a.id, a.address, port || undefined);
          this.#announce = { id: a.id, address: a.address, port, hmac, retrans: 0 };
          this.#announceDue = true;
          this.#announceTimer = undefined;
          break;
        }
        case 'echoAddAddr':
          this.#echoes.push({ id: a.id, address: a.address, port: a.port });
          break;
        case 'createSubflow':
          this.#requests.push(a);
          this.#connection.subflowRequested();
          break;
        case 'setBackup':
          this.#connection.setInitialBackup(a.backup);
          break;
        case 'removeAddress':
          this.#queueRmAddr(a.id);
          break;
        case 'closeSubflow':
          closed += this.#connection.closeSubflows(a.localId, a.remoteId, byPeer);
          break;
      }
    }
    return closed;
  }
}
