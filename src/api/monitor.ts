/**
 * `--monitor`: a host's MPTCP events (`ip mptcp monitor`'s CREATED, ESTABLISHED, SF_ESTABLISHED, ANNOUNCED,
 * ...: src/mptcp/events.ts) handed to a callback as they happen, after each turn of the runtime that drives
 * the host (a `StackRuntime` on TUN/UDP, a host of a `RealtimeEmulation`). Print one with `formatMonitorLine`.
 * The one place perf and the proxy take the events from the host (`createStack()`'s 'monitor' event is the
 * library's way).
 */
import type { MptcpEvent } from '../mptcp/events.js';
import type { MptcpSubflowInfo } from '../mptcp/connection.js';
import type { HostSockets } from './runtime.js';

/** Calls `onEvent` with each MPTCP event of `sockets`' host, in order, at the end of every turn. */
export function followMonitorEvents(sockets: HostSockets, onEvent: (event: MptcpEvent) => void): void {
  sockets.onDispatch(() => {
    for (let e = sockets.monitor.shift(); e; e = sockets.monitor.shift()) onEvent(e);
  });
}

/**
 * Every `everyMs` of wall time (a timer that does not hold the process), calls `onSample` with each subflow
 * of each MPTCP connection of `sockets`' host and that connection's local token; returns a stop function.
 */
export function sampleSubflows(sockets: HostSockets, everyMs: number, onSample: (token: number, subflow: MptcpSubflowInfo) => void): () => void {
  const timer = setInterval(() => {
    for (const c of sockets.host.mptcpConnections()) for (const sf of c.subflowInfo()) onSample(c.localToken, sf);
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
