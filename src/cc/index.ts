/** Congestion control: the contract, the registry and the built-in controllers. */
export type * from './types.js';
export {
  DEFAULT_CONGESTION_CONTROL,
  checkCongestionControl,
  congestionControlNames,
  isCoupledCongestionControl,
  type CongestionControlRegistration,
  createCongestionControl,
  registerCongestionControl,
} from './registry.js';
export { ABC_LIMIT_SEGMENTS, RenoController, createReno, initialWindowBytes, renoFactory, type RenoOptions } from './reno.js';
export {
  CUBIC_ALPHA,
  CUBIC_BETA,
  CUBIC_C,
  CubicController,
  HYSTART,
  createCubic,
  cubicFactory,
  type CubicOptions,
  type HystartPhase,
} from './cubic.js';
export { CoupledGroup, CoupledSubflow } from './coupled.js';
export { CoupledController, type CoupledOptions } from './coupled-controller.js';
export { LiaController, createLia } from './lia.js';
export { OliaController, createOlia } from './olia.js';
export { BALIA_DECREASE_ALPHA_CAP, BaliaController, createBalia } from './balia.js';
