/**
 * Schedulers by name (STYLE.md 10; the counterpart of Linux's `mptcp_register_scheduler` and the
 * `net.mptcp.scheduler` sysctl). A connection picks one with `createScheduler(name)`; "default",
 * "roundrobin", "redundant", "blest" and "ecf" are always registered, and "default" is the default, as on
 * Linux (which ships only "default" upstream; the out-of-tree kernel had blest and ecf).
 */
import { createBlestScheduler } from './blest.js';
import { createDefaultScheduler } from './default.js';
import { createEcfScheduler } from './ecf.js';
import { createRedundantScheduler } from './redundant.js';
import { createRoundRobinScheduler } from './roundrobin.js';
import type { Scheduler, SchedulerFactory, SchedulerParams, SchedulerPolicy } from './types.js';

/** The scheduler used when none is configured (Linux's `net.mptcp.scheduler` default). */
export const DEFAULT_SCHEDULER = 'default';

const factories = new Map<string, SchedulerFactory>([
  ['default', createDefaultScheduler],
  ['roundrobin', createRoundRobinScheduler],
  ['redundant', createRedundantScheduler],
  ['blest', createBlestScheduler],
  ['ecf', createEcfScheduler],
]);

/**
 * Adds (or replaces) a scheduler under `name`. Replacing lets tests and experiments swap a built-in.
 * Throws on an empty name.
 */
export function registerScheduler(name: string, factory: SchedulerFactory): void {
  if (name.length === 0) throw new Error('scheduler name must not be empty');
  factories.set(name, factory);
}

/**
 * Creates a fresh scheduler for one connection, with no-op hooks where the policy has none. Throws an
 * Error naming the available schedulers.
 */
export function createScheduler(name: string, params: SchedulerParams = {}): Scheduler {
  const factory = factories.get(name);
  if (factory === undefined) {
    throw new Error(`unknown scheduler "${name}"; available: ${schedulerNames().join(', ')}`);
  }
  return withDefaultHooks(factory(params));
}

/** The registered names, sorted. */
export function schedulerNames(): string[] {
  return [...factories.keys()].sort();
}

/** A `Scheduler` that forwards to `policy`, with a no-op for every hook the policy leaves out. */
export function withDefaultHooks(policy: SchedulerPolicy): Scheduler {
  return {
    name: policy.name,
    selectSend: (now, views, pendingBytes, connection) => policy.selectSend(now, views, pendingBytes, connection),
    selectRetransmit: (now, views, request) => policy.selectRetransmit(now, views, request),
    onSubflowAdded: (now, view) => policy.onSubflowAdded?.(now, view),
    onSubflowRemoved: (now, subflowId) => policy.onSubflowRemoved?.(now, subflowId),
    onAck: (now, subflowId, ackedBytes) => policy.onAck?.(now, subflowId, ackedBytes),
  };
}
