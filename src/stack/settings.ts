/**
 * A host's MPTCP settings, the state Linux keeps per network namespace in net/mptcp/ctrl.c (sysctls) and
 * pm_kernel.c (`ip mptcp endpoint`, `ip mptcp limits`): the endpoint table, the limits, the packet
 * scheduler and path manager of new connections, and the ADD_ADDR retransmission timeout.
 *
 * The host tells its connections when endpoints change; this class only holds and checks values.
 */
import { schedulerNames } from '../sched/registry.js';
import { DEFAULT_PATH_MANAGER, pathManagerNames } from '../pm/registry.js';
import { DEFAULT_LIMITS, EndpointTable, parseLimits, type Endpoint, type Limits } from '../pm/config.js';
import type { PathManagerConfig } from '../pm/types.js';
import type { Micros } from '../time/micros.js';

export class MptcpSettings {
  /** `ip mptcp endpoint`. */
  endpoints = new EndpointTable();
  /** `ip mptcp limits`. */
  limits: Limits = DEFAULT_LIMITS;
  /** net.mptcp.add_addr_timeout (microseconds), read when a connection is created. */
  addAddrTimeoutMicros: Micros = 120_000_000;
  /** Opportunistic reinjection and penalisation on new connections (src/mptcp/opportunistic.ts); off as on Linux. */
  opportunisticReinjection = false;
  #scheduler = 'default';
  #pathManager = DEFAULT_PATH_MANAGER;

  /** net.mptcp.scheduler (src/sched/registry.ts). */
  get scheduler(): string {
    return this.#scheduler;
  }

  /** net.mptcp.path_manager (src/pm/registry.ts); "kernel" unless set. */
  get pathManager(): string {
    return this.#pathManager;
  }

  /** `sysctl net.mptcp.scheduler=NAME`. Throws for an unknown name. */
  setScheduler(name: string): void {
    if (!schedulerNames().includes(name)) throw new Error(`unknown MPTCP scheduler "${name}"; available: ${schedulerNames().join(', ')}`);
    this.#scheduler = name;
  }

  /** `sysctl net.mptcp.path_manager=NAME`, for connections created from now on. Throws for an unknown name. */
  setPathManager(name: string): void {
    if (!pathManagerNames().includes(name)) throw new Error(`unknown MPTCP path manager "${name}"; available: ${pathManagerNames().join(', ')}`);
    this.#pathManager = name;
  }

  /** `ip mptcp endpoint flush`, then `add` for each (objects or words), or a whole table. */
  replaceEndpoints(endpoints: EndpointTable | readonly (Endpoint | string)[]): EndpointTable {
    if (endpoints instanceof EndpointTable) this.endpoints = endpoints;
    else {
      const table = new EndpointTable();
      for (const e of endpoints) table.add(e);
      this.endpoints = table;
    }
    return this.endpoints;
  }

  /** `ip mptcp limits set ...`: an object, or the words ("subflows 2 add_addr_accepted 1"). */
  setLimits(limits: Limits | string): void {
    this.limits = typeof limits === 'string' ? parseLimits(limits, this.limits) : { ...limits };
  }

  /** What a new connection's path manager reads: the live table and limits, the timeout as of now. */
  pathManagerConfig(): PathManagerConfig {
    return {
      endpoints: () => this.endpoints.list(),
      limits: () => this.limits,
      addAddrTimeoutMicros: this.addAddrTimeoutMicros,
    };
  }

  /**
   * A `signal` endpoint with a port (`ip mptcp endpoint add ADDR port P signal`): as Linux, the stack
   * accepts MP_JOIN SYNs on that address and port with no listener there (other SYNs are refused).
   */
  isJoinPort(address: Uint8Array, port: number): boolean {
    const e = this.endpoints.lookup(address, port);
    return e !== undefined && e.signal && e.port === port && port !== 0;
  }
}
