/**
 * The emulated link of `mptcp perf` without --iface/--kernel (one per `--link`, parsed by
 * src/cli/perf-options.ts with the shared grammar of src/emu/link-spec.ts): its one-line description, and
 * the emulator's `LinkConfig` of each direction (up: client to server), trace files loaded here.
 */
import type { LinkConfig } from '../emu/link.js';
import { describeLinkSpec, directionConfig, type LinkSpec } from '../emu/link-spec.js';
import { loadMahimahiTrace } from '../emu/trace-file.js';
import { traceMeanRate } from '../emu/trace.js';

export { DEFAULT_LINK_DELAY_MICROS, DEFAULT_LINK_RATE, MIN_DEFAULT_QUEUE } from '../emu/link-spec.js';

/** The emulated link of `mptcp perf` without --iface/--kernel: a parsed link spec. */
export type PerfLink = LinkSpec;

/** One line describing a link: "100 Mbit/s, 10 ms delay each way, 1% loss, queue 244 KB". */
export function describeLink(link: PerfLink): string {
  return describeLinkSpec(link);
}

/** The emulator's configuration of both directions (trace files read now; a bad one throws with its name). */
export function linkConfigs(link: PerfLink): { readonly up: LinkConfig; readonly down: LinkConfig } {
  return { up: directionConfig(link, 'up', (f) => loadMahimahiTrace(f)), down: directionConfig(link, 'down', (f) => loadMahimahiTrace(f)) };
}

/** A direction's capacity in bit/s: its rate, or its trace's mean rate. */
export function configRate(config: LinkConfig): number {
  return config.trace !== undefined ? traceMeanRate(config.trace) : (config.rateBitsPerSecond ?? Infinity);
}
