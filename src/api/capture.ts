/**
 * Where `--pcap` captures come from, for every command that runs our stack (perf, demo, proxy, emulate):
 *
 * - `captureRuntime(runtime, sink)`: a `StackRuntime` on real interfaces (TUN devices, UDP paths): every
 *   packet each interface sends or receives, stamped with the wall clock (microseconds since the epoch);
 * - `captureNetwork(network, sink, options)`: an emulated network (a `RealtimeEmulation`'s, or a virtual-time
 *   one): every packet every interface sends, as offered to its link (so packets the link then drops are in
 *   it too, and each packet appears once), stamped with the network's time plus `epochMicros`.
 *
 * The sink is usually a `CaptureFile` (src/io/capture-file.ts: LINKTYPE_RAW pcap, snap length, written as the
 * run goes). Both return a function that stops capturing.
 */
import type { Network } from '../emu/network.js';
import { attachPcap, type PacketRecordSink } from '../emu/tap.js';
import { monotonicMicros } from '../io/driver.js';
import { withTcpChecksum } from '../io/tun-offload.js';
import type { StackRuntime } from './runtime.js';

/** Captures every packet of every interface of `runtime`, with wall-clock timestamps; returns a stop function. */
export function captureRuntime(runtime: StackRuntime, sink: PacketRecordSink): () => void {
  // One reading of the wall clock, then the monotonic clock: timestamps never go backwards.
  const epoch = Date.now() * 1000 - monotonicMicros();
  // A host that leaves TCP checksums to the TUN offload sends zeros and may receive partial sums: the capture
  // gets them computed, as a capture on the wire would show them.
  if (!runtime.checksums.hostComputesChecksums) {
    return runtime.addPacketTap((_ifaceId, _direction, bytes) => sink.writePacket(epoch + monotonicMicros(), withTcpChecksum(bytes)));
  }
  return runtime.addPacketTap((_ifaceId, _direction, bytes) => sink.writePacket(epoch + monotonicMicros(), bytes));
}

/** Options of `captureNetwork`. */
export interface CaptureNetworkOptions {
  /** Added to the network's time (default 0: virtual time from the Unix epoch, deterministic). */
  readonly epochMicros?: number;
}

/**
 * Captures every packet offered to every link of `network` (each host interface's transmissions), links
 * added later excluded; returns a stop function.
 */
export function captureNetwork(network: Network, sink: PacketRecordSink, options: CaptureNetworkOptions = {}): () => void {
  return attachPcap([...network.links.values()], sink, { point: 'offer', epochMicros: options.epochMicros ?? 0 });
}
