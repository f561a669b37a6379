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

/** The followers of each host's events: one drain of its queue per turn, each event to every follower. */
const followers = new WeakMap<HostSockets, ((event: MptcpEvent) => void)[]>();

/**
 * Calls `onEvent` with each MPTCP event of `sockets`' host, in order, at the end of every turn. Several
 * followers of one host (--monitor and --qlog) each get every event: the queue is taken once.
 */
export function followMonitorEvents(sockets: HostSockets, onEvent: (event: MptcpEvent) => void): void {
  const existing = followers.get(sockets);
  if (existing) {
    existing.push(onEvent);
    return;
  }
  const list = [onEvent];
  followers.set(sockets, list);
  sockets.onDispatch(() => {
    for (let e = sockets.monitor.shift(); e; e = sockets.monitor.shift()) for (const f of list) f(e);
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
