/**
 * MPTCP on the hosts `mptcp perf` runs on: on (the default) or plain TCP, and the path manager's endpoints
 * and limits and the packet scheduler, as the command line gave them (src/cli/perf-options.ts parses the
 * words with the path manager's own grammar); applied to a host, and described in one line.
 */
import type { HostSockets } from '../api/runtime.js';
import { formatEndpoint, type Endpoint, type Limits } from '../pm/config.js';
import { formatAddress } from '../wire/address.js';
import { PerfError } from './iperf3-protocol.js';
import { isCoupledCongestionControl } from '../cc/registry.js';

/** MPTCP on our stack, as the command line set it. */
export interface PerfMptcp {
  /** MPTCP on (the default) or plain TCP (`--no-mptcp`). */
  readonly enabled: boolean;
  /** `--endpoint` values, checked (as `ip mptcp endpoint add` would); undefined: none given. */
  readonly endpoints: readonly Endpoint[] | undefined;
  /** `--limits` applied onto the kernel's defaults; undefined: none given. */
  readonly limits: Limits | undefined;
  /** `--scheduler` (the packet scheduler, Linux's net.mptcp.scheduler); undefined: "default". */
  readonly scheduler?: string | undefined;
}

/** MPTCP off: plain TCP, no endpoints, no limits. */
export const PERF_PLAIN_TCP: PerfMptcp = { enabled: false, endpoints: undefined, limits: undefined };

/**
 * Gives a host the endpoints and limits (the endpoints must be addresses of the host: the path manager opens
 * subflows from them and announces them). Throws PerfError otherwise.
 */
export function applyMptcp(sockets: HostSockets, mptcp: PerfMptcp): void {
  if (!mptcp.enabled) return;
  const host = sockets.host;
  if (mptcp.endpoints !== undefined) {
    for (const e of mptcp.endpoints) {
      if (!host.routing.isLocalAddress(e.address)) {
        const ours = host.routing.interfaces.flatMap((i) => i.addresses.map((a) => formatAddress(a.address)));
        throw new PerfError(`--endpoint '${formatEndpoint(e)}': ${formatAddress(e.address)} is not one of our addresses (${ours.join(', ')})`);
      }
    }
    host.setMptcpEndpoints(mptcp.endpoints);
  }
  if (mptcp.limits !== undefined) host.setMptcpLimits(mptcp.limits);
  if (mptcp.scheduler !== undefined) host.setMptcpScheduler(mptcp.scheduler);
}

/** One line: "MPTCP: endpoints 198.18.2.2 id 1 subflow; limits subflows 2 add_addr_accepted 0". */
export function describeMptcp(sockets: HostSockets, mptcp: PerfMptcp): string {
  if (!mptcp.enabled) return 'MPTCP: off (--no-mptcp): plain TCP';
  const host = sockets.host;
  const endpoints = host.mptcpEndpoints.show().map((e) => formatEndpoint(e));
  const limits = host.mptcpLimits;
  return `MPTCP: on; endpoints ${endpoints.length > 0 ? endpoints.join(', ') : 'none'}; limits subflows ${limits.subflows} add_addr_accepted ${limits.addAddrAccepted}; scheduler ${host.mptcpScheduler}`;
}

/** One line for `--cc NAME`: "Congestion control: lia (coupled across each MPTCP connection's subflows)". */
export function describeCongestionControl(name: string): string {
  return `Congestion control: ${name}${isCoupledCongestionControl(name) ? " (coupled across each MPTCP connection's subflows)" : ''}`;
}
