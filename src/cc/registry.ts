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

/**
 * Adds (or replaces) a controller under `name`. Replacing lets tests and experiments swap a built-in.
 * Throws on an empty name.
 */
export function registerCongestionControl(name: string, factory: CongestionControlFactory): void {
  if (name.length === 0) throw new Error('congestion control name must not be empty');
  factories.set(name, factory);
}

/** Creates a fresh controller for one subflow. Throws an Error naming the available controllers. */
export function createCongestionControl(name: string, params: CongestionControlParams): CongestionController {
  const factory = factories.get(name);
  if (factory === undefined) {
    throw new Error(
      `unknown congestion control "${name}"; available: ${congestionControlNames().join(', ')}`,
    );
  }
  return factory(params);
}

/** The registered names, sorted. */
export function congestionControlNames(): string[] {
  return [...factories.keys()].sort();
}
