/** Path managers: the contract, the registry, the kernel-style manager and its configuration. */
export type * from './types.js';
export { DEFAULT_PATH_MANAGER, createPathManager, pathManagerNames, registerPathManager, withDefaultHooks } from './registry.js';
export { ADD_ADDR_RETRANS_MAX, ADD_ADDR_TIMEOUT, KernelPathManager } from './kernel.js';
export { acceptJoin, familiesMatch, initialPmState, nextActions, step, type KernelPmState, type PmAction } from './kernel-pm.js';
export * from './config.js';
