/** Packet schedulers: the contract, the registry and the built-in schedulers. */
export type * from './types.js';
export {
  DEFAULT_SCHEDULER,
  createScheduler,
  registerScheduler,
  schedulerNames,
  withDefaultHooks,
} from './registry.js';
export {
  MPTCP_SEND_BURST_SIZE,
  UNKNOWN_SRTT_MICROS,
  eligibleSubflows,
  isBackup,
  lingerTimeMicros,
  roomBytes,
  usableSubflows,
} from './view.js';
export { createDefaultScheduler } from './default.js';
export { createRoundRobinScheduler } from './roundrobin.js';
export { createRedundantScheduler } from './redundant.js';
export { BLEST_LAMBDA, createBlestScheduler } from './blest.js';
export type { BlestPolicy } from './blest.js';
export { ECF_BETA, createEcfScheduler } from './ecf.js';
export type { EcfPolicy } from './ecf.js';
