/**
 * Congestion controllers by name (STYLE.md 10; the counterpart of Linux's tcp_register_congestion_control
 * and aioquic's register_congestion_control). A connection picks a controller per subflow with
 * `createCongestionControl(name, params)`; "reno", "cubic" and the coupled "lia" (RFC 6356), "olia" (Khalili
 * et al.) and "balia" (Peng et al.) are always registered (the coupled ones need `params.coupling` to see their
 * siblings), and "cubic" is the default, as on Linux (net.ipv4.tcp_congestion_control).
 */
import { createBalia } from './balia.js';
import { createCubic } from './cubic.js';
import { createLia } from './lia.js';
import { createOlia } from './olia.js';
import { createReno } from './reno.js';
import type { CongestionControlFactory, CongestionControlParams, CongestionController } from './types.js';

/** The controller used when none is configured (Linux's default since 2.6.19). */
export const DEFAULT_CONGESTION_CONTROL = 'cubic';

const factories = new Map<string, CongestionControlFactory>([
  ['reno', createReno],
  ['cubic', createCubic],
  ['lia', createLia],
  ['olia', createOlia],
  ['balia', createBalia],
]);
/** The registered names whose controllers are coupled: they want `params.coupling` (an MPTCP connection's group). */
const coupled = new Set<string>(['lia', 'olia', 'balia']);

/** Options of `registerCongestionControl`. */
export interface CongestionControlRegistration {
  /**
   * The controller is coupled across an MPTCP connection's subflows: the connection then creates a
   * `CoupledGroup` and hands each subflow's controller its slot in `params.coupling`. Default false.
   */
  readonly coupled?: boolean;
}

/**
 * Adds (or replaces) a controller under `name`. Replacing lets tests and experiments swap a built-in.
 * Throws on an empty name.
 */
export function registerCongestionControl(name: string, factory: CongestionControlFactory, options: CongestionControlRegistration = {}): void {
  if (name.length === 0) throw new Error('congestion control name must not be empty');
  factories.set(name, factory);
  if (options.coupled === true) coupled.add(name);
  else coupled.delete(name);
}

/** Whether `name` is a registered coupled controller (an MPTCP connection using it keeps a `CoupledGroup`). */
export function isCoupledCongestionControl(name: string): boolean {
  return coupled.has(name) && factories.has(name);
}

/**
 * Checks a controller name given by a user (a host setting, a socket option, a command line): returns it,
 * or throws an Error naming the available controllers.
 */
export function checkCongestionControl(name: string): string {
  if (!factories.has(name)) throw new Error(unknownMessage(name));
  return name;
}

function unknownMessage(name: string): string {
  return `unknown congestion control "${name}"; available: ${congestionControlNames().join(', ')}`;
}

/** Creates a fresh controller for one subflow. Throws an Error naming the available controllers. */
export function createCongestionControl(name: string, params: CongestionControlParams): CongestionController {
  const factory = factories.get(name);
  if (factory === undefined) throw new Error(unknownMessage(name));
  return factory(params);
}

/** The registered names, sorted. */
export function congestionControlNames(): string[] {
  return [...factories.keys()].sort();
}
