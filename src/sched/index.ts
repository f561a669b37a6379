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
