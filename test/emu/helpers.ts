/** Shared helpers for the emulator tests: numbered packets and simple sources. */
import type { Link } from '../../src/emu/link.js';
import type { Micros, Simulator } from '../../src/emu/sim.js';

/** A packet of `size` bytes (>= 4) whose first four bytes hold `id` (big-endian). */
export function packet(id: number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  new DataView(b.buffer).setUint32(0, id);
  return b;
}

/** The id written by `packet`. */
export function idOf(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
}

/** Offers `packet(i, size)` to `link` at times start, start+interval, ... while < until; returns the offer times by id. */
export function offerEvery(sim: Simulator, link: Link, start: Micros, interval: Micros, until: Micros, size: number): Map<number, Micros> {
  const sent = new Map<number, Micros>();
  let id = 0;
  const tick = (now: Micros) => {
    sent.set(id, now);
    link.offer(packet(id++, size));
    if (now + interval < until) sim.schedule(now + interval, tick);
  };
  sim.schedule(start, tick);
  return sent;
}

/** Records deliveries of a link as [time, id] pairs. */
export function recordDeliveries(link: Link): Array<[Micros, number]> {
  const log: Array<[Micros, number]> = [];
  link.setReceiver((now, bytes) => log.push([now, idOf(bytes)]));
  return log;
}

/** |observed - expected| <= k standard deviations of a binomial(n, p) count. */
export function withinSigmas(observed: number, n: number, p: number, k = 4): boolean {
  return Math.abs(observed - n * p) <= k * Math.sqrt(n * p * (1 - p));
}
