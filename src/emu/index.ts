/**
 * The emulator: a deterministic, virtual-clock network for running stacks against each other (see
 * ARCHITECTURE.md, emu/). Start with `Network`; use `Simulator` and `Link` directly for link-level work.
 * Stack hosts, applications and transfers driven on it together are in src/harness/.
 */
export { Simulator, type Micros, type SimHandler, type SimCallback, type EventHandle, type DriveResult, type DriveStop } from './sim.js';
export { Rng, type Seed } from './random.js';
export { parseMahimahiTrace, traceFromMillis, traceMeanRate, TraceError, type DeliveryTrace } from './trace.js';
export { loadMahimahiTrace } from './trace-file.js';
export {
  Link,
  DROP_CAUSES,
  type LinkConfig,
  type LinkCounters,
  type LinkOptions,
  type LinkState,
  type LinkTap,
  type LossModel,
  type JitterConfig,
  type ReorderConfig,
  type DropCause,
  type PacketFilter,
  type PacketTransform,
  type PacketReceiver,
} from './link.js';
export { pcapTap, attachPcap, observeDeliveries, observeDrops, type PacketRecordSink, type PcapTapOptions, type CapturePoint } from './tap.js';
export { Network, type EmuHost, type Transmit, type Endpoint, type DuplexLink, type ConnectOptions, type NetworkOptions } from './network.js';
export { PacketSink, Router, routeByDestination, ipDestination, type ReceivedPacket, type RouteFunction } from './hosts.js';
export { OptionStripper, stripTcpOptionsInPlace, onlySynAck, afterSyn, fromSegment, withPayload, type SegmentView, type SegmentPredicate, type OptionStripperOptions } from './middlebox.js';
export { dumbbell, type Dumbbell, type DumbbellOptions, type EdgeInterface } from './topology.js';
