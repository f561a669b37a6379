/**
 * The harness: hosts of this stack, their applications and the transfers between them, driven together on
 * the emulator in virtual time (src/emu/ is the network alone). Start with `HostPair` (./pair.ts), the
 * two-host driver with step / run / drive / driveBounded; `scenario()` is the MPTCP tests' two-path
 * transfer on it, `runBulkTransfer` the TCP one, `runDemo` the README's demo. Sans-IO: no clock, no sockets.
 */
export { HostPair, type PairApps, type PairOptions, type PairPath } from './pair.js';
export { HostApp, AppHost, MptcpApp, type AppEvent, type MptcpAppHandler, type StreamAppHandler } from './host-app.js';
export { PatternSource, SourceWriter, runBulkTransfer, type BulkOptions, type BulkResult } from './bulk.js';
export { StreamFlow, pattern } from './stream-flow.js';
export {
  scenario,
  mptcpServer,
  tcpSegmentOf,
  mptcpOptionsOf,
  perSubflow,
  retransmits,
  summary,
  MB,
  sha256,
  type PathSpec,
  type Scenario,
  type ScenarioOptions,
} from './scenario.js';
export { runDemo, DEFAULT_PATHS, type DemoInterval, type DemoOptions, type DemoPath, type DemoResult, type DemoSample, type DemoSubflow } from './demo.js';
export {
  sharedBottleneck,
  disjointPaths,
  DEFAULT_BOTTLENECK,
  type CompetitionTiming,
  type SharedBottleneckOptions,
  type SharedBottleneckResult,
  type DisjointPathsOptions,
  type DisjointPathsResult,
} from './competition.js';
