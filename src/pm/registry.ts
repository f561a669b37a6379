/**
 * Path managers by name (STYLE.md 10; the counterpart of Linux's `mptcp_pm_register` and the
 * `net.mptcp.path_manager` sysctl). A connection picks one with `createPathManager(name, params)`; "kernel"
 * (the in-kernel manager of endpoints and limits, pm_kernel.c) is always registered and is the default, as on
 * Linux.
 */
import { KernelPathManager } from './kernel.js';
import type { PathManager, PathManagerFactory, PathManagerParams, PathManagerPolicy } from './types.js';

/** The manager used when none is configured (Linux's `net.mptcp.path_manager` default). */
export const DEFAULT_PATH_MANAGER = 'kernel';

const factories = new Map<string, PathManagerFactory>([['kernel', (params) => new KernelPathManager(params)]]);

/** Adds (or replaces) a path manager under `name`. Throws on an empty name. */
export function registerPathManager(name: string, factory: PathManagerFactory): void {
  if (name.length === 0) throw new Error('path manager name must not be empty');
  factories.set(name, factory);
}

/** Creates one connection's path manager, with no-ops for what it leaves out. Throws for an unknown name. */
export function createPathManager(name: string, params: PathManagerParams): PathManager {
  const factory = factories.get(name);
  if (factory === undefined) throw new Error(`unknown path manager "${name}"; available: ${pathManagerNames().join(', ')}`);
  return withDefaultHooks(factory(params));
}

/** The registered names, sorted. */
export function pathManagerNames(): string[] {
  return [...factories.keys()].sort();
}

const NONE = (): undefined => undefined;
const NO = (): false => false;
const YES = (): true => true;
const ZERO = (): number => 0;
const NO_REQUESTS = (): [] => [];

/** A `PathManager` with the policy's own methods (bound) and a no-op for every one it leaves out. */
export function withDefaultHooks(policy: PathManagerPolicy): PathManager {
  return {
    name: policy.name,
    created: policy.created?.bind(policy) ?? NONE,
    fullyEstablished: policy.fullyEstablished?.bind(policy) ?? NONE,
    subflowEstablished: policy.subflowEstablished?.bind(policy) ?? NONE,
    subflowClosed: policy.subflowClosed?.bind(policy) ?? NONE,
    addAddrReceived: policy.addAddrReceived?.bind(policy) ?? NONE,
    addAddrEchoed: policy.addAddrEchoed?.bind(policy) ?? NONE,
    rmAddrReceived: policy.rmAddrReceived?.bind(policy) ?? ZERO,
    endpointsChanged: policy.endpointsChanged?.bind(policy) ?? NONE,
    addressRemoved: policy.addressRemoved?.bind(policy) ?? NONE,
    acceptsJoin: policy.acceptsJoin?.bind(policy) ?? YES,
    signalDue: policy.signalDue?.bind(policy) ?? NO,
    pollSignal: policy.pollSignal?.bind(policy) ?? NONE,
    hasSubflowRequests: policy.hasSubflowRequests?.bind(policy) ?? NO,
    takeSubflowRequests: policy.takeSubflowRequests?.bind(policy) ?? NO_REQUESTS,
    pollTimeout: policy.pollTimeout?.bind(policy) ?? NONE,
    handleTimeout: policy.handleTimeout?.bind(policy) ?? NONE,
  };
}
