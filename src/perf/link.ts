/**
 * The emulated link of `mptcp perf` without --iface/--kernel (one per `--link`, parsed by
 * src/cli/perf-options.ts): its parameters, the same in both directions, its one-line description, and the
 * emulator's `LinkConfig` for it.
 */
import type { LinkConfig } from '../emu/link.js';

/** The emulated link of `mptcp perf` without --iface/--kernel: the same in both directions. */
export interface PerfLink {
  readonly rateBitsPerSecond: number;
  readonly delayMicros: number;
  readonly loss: number;
  /** Drop-tail limit on the backlog, bytes; undefined: unlimited. */
  readonly queueLimitBytes: number | undefined;
}

/** Default rate of a link, bits per second. */
export const DEFAULT_LINK_RATE = 1e9;
/** Default one-way delay of a link. */
export const DEFAULT_LINK_DELAY_MICROS = 1000;
/** Smallest default queue: 100 full-size packets. */
export const MIN_DEFAULT_QUEUE = 150_000;

function formatRate(bps: number): string {
  for (const [div, unit] of [[1e9, 'Gbit/s'], [1e6, 'Mbit/s'], [1e3, 'Kbit/s']] as const) {
    if (bps >= div) return `${+(bps / div).toFixed(3)} ${unit}`;
  }
  return `${bps} bit/s`;
}

/** One line describing a link: "100 Mbit/s, 10 ms delay each way, 1% loss, queue 244 KB". */
export function describeLink(link: PerfLink): string {
  const delay = link.delayMicros % 1000 === 0 ? `${link.delayMicros / 1000} ms` : `${link.delayMicros} us`;
  const queue = link.queueLimitBytes === undefined ? 'unlimited queue' : `queue ${+(link.queueLimitBytes / 1024).toFixed(1)} KB`;
  return `${formatRate(link.rateBitsPerSecond)}, ${delay} delay each way, ${+(link.loss * 100).toFixed(4)}% loss, ${queue}`;
}

/** The emulator's configuration of one direction of the link. */
export function linkConfig(link: PerfLink): LinkConfig {
  return {
    rateBitsPerSecond: link.rateBitsPerSecond,
    delayMicros: link.delayMicros,
    ...(link.loss > 0 ? { loss: link.loss } : {}),
    ...(link.queueLimitBytes !== undefined ? { queueLimitBytes: link.queueLimitBytes } : {}),
  };
}
