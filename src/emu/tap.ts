/**
 * Middleware taps for links: observers of packets with their virtual timestamps, and a pcap tap.
 *
 * The pcap tap depends only on `PacketRecordSink` (`writePacket(timestampMicros, packet)`), which
 * `PcapWriter` in `wire/pcap.ts` satisfies, so captures can go to a file, an in-memory array or a test
 * double. Timestamps are virtual microseconds plus an optional epoch offset (so Wireshark shows a plausible
 * wall-clock date if wanted); they are never read from the real clock.
 */
import type { DropCause, Link, LinkTap } from './link.js';
import type { Micros } from './sim.js';

/** Anything that records packets with timestamps; `PcapWriter` is one. */
export interface PacketRecordSink {
  /** Records `packet` captured at `timestampMicros`. */
  writePacket(timestampMicros: number, packet: Uint8Array): void;
}

/** Where on a link a capture looks: packets as offered by the sender (including ones later dropped) or as delivered. */
export type CapturePoint = 'offer' | 'deliver';

/** Options for `pcapTap`. */
export interface PcapTapOptions {
  /** Capture point (default `deliver`). */
  readonly point?: CapturePoint;
  /** Added to virtual time to form the record timestamp (default 0). */
  readonly epochMicros?: Micros;
}

/** A tap that writes each packet seen at the chosen point to `sink`. */
export function pcapTap(sink: PacketRecordSink, options: PcapTapOptions = {}): LinkTap {
  const epoch = options.epochMicros ?? 0;
  const write = (now: Micros, bytes: Uint8Array) => sink.writePacket(epoch + now, bytes);
  return (options.point ?? 'deliver') === 'offer' ? { onOffer: write } : { onDeliver: write };
}

/** Attaches a pcap tap to each given link direction (one sink can merge several); returns a detach function. */
export function attachPcap(links: Link | readonly Link[], sink: PacketRecordSink, options: PcapTapOptions = {}): () => void {
  const list = Array.isArray(links) ? (links as readonly Link[]) : [links as Link];
  const detach = list.map((l) => l.addTap(pcapTap(sink, options)));
  return () => detach.forEach((d) => d());
}

/** Calls `fn` for every packet delivered by `link`; returns a detach function. */
export function observeDeliveries(link: Link, fn: (now: Micros, bytes: Uint8Array, link: Link) => void): () => void {
  return link.addTap({ onDeliver: fn });
}

/** Calls `fn` for every packet `link` drops, with the cause; returns a detach function. */
export function observeDrops(link: Link, fn: (now: Micros, bytes: Uint8Array, cause: DropCause, link: Link) => void): () => void {
  return link.addTap({ onDrop: fn });
}
