/**
 * The scenario suite's data: what a scenario is (paths, a workload, the policies to run, where its bound
 * comes from) and what a run produces (rows of a table). Definitions are plain data (./definitions.ts);
 * ./runners.ts interprets them on the emulator (virtual time, both ends this stack), ./suite.ts runs them
 * for every policy the registries hold and ./report.ts writes the table. Sans-IO: a trace is named here and
 * loaded by whoever runs the suite (`SuiteEnvironment.loadTrace`).
 */
import type { DeliveryTrace } from '../../emu/trace.js';

/** A path's impairment that starts and (optionally) ends at given instants of virtual time. */
export interface Outage {
  /**
   * `down`: both directions of the link go down (queued and in-flight packets are lost, as ip link set down);
   * `silent`: the link stays up but every packet is dropped (a black hole: issue mptcp_net-next #585);
   * `reset`: the server resets the subflow on this path (a TCP RST from the peer), once, at `atMs`.
   */
  readonly kind: 'down' | 'silent' | 'reset';
  readonly atMs: number;
  /** When the path comes back (`down` and `silent`); never when absent. */
  readonly untilMs?: number;
}

/** One path between the client and the server: the same both ways unless a trace gives each direction. */
export interface PathDef {
  /** Shown in the table ("Wi-Fi", "3G"). */
  readonly name: string;
  /** Fixed rate in Mbit/s (10^6 bit/s); exclusive with `trace`. */
  readonly rateMbps?: number;
  /** Mahimahi traces by file name (`SuiteEnvironment.loadTrace`): `down` server to client, `up` client to server. */
  readonly trace?: { readonly down: string; readonly up: string };
  /** One-way propagation delay in ms. */
  readonly delayMs: number;
  /** Random (Bernoulli) loss per packet, each direction. */
  readonly loss?: number;
  /** Drop-tail queue limits (bytes or packets waiting; netem's default is 1000 packets). */
  readonly queueBytes?: number;
  readonly queuePackets?: number;
  readonly outages?: readonly Outage[];
}

/** Which policies of a registry: all registered names (now and added later), or a fixed list. */
export type PolicySelection = 'registry' | readonly string[];

/**
 * The policies a scenario runs. `star`: every scheduler with the default controller, and every controller
 * with the default scheduler (each pair once); `full`: every pair. `wantedCc` are controllers the scenario's
 * bound is about (the lia/olia/balia): listed even when not registered, as "not available".
 */
export interface PolicySpec {
  readonly schedulers: PolicySelection;
  readonly cc: PolicySelection;
  readonly combine: 'star' | 'full';
  readonly wantedCc?: readonly string[];
}

/** One scheduler with one congestion controller. */
export interface Policy {
  readonly scheduler: string;
  readonly cc: string;
}

/** What every definition has. */
interface ScenarioBase {
  /** Short id for `--only` ("simult_flows", "wifi_3g"). */
  readonly id: string;
  readonly title: string;
  /** Where the parameters and the bound come from. */
  readonly source: string;
  readonly policies: PolicySpec;
  readonly seeds: readonly number[];
}

/** Linux's simult_flows.sh: a 16 MiB file one way and an 80 KiB one the other, over two paths at once. */
export interface SimultFlowsScenario extends ScenarioBase {
  readonly kind: 'simult_flows';
  readonly cases: readonly {
    readonly name: string;
    readonly rate1Mbps: number;
    readonly rate2Mbps: number;
    readonly delay1Ms: number;
    readonly delay2Ms: number;
  }[];
  readonly largeBytes: number;
  readonly smallBytes: number;
  /** netem's queue (packets). */
  readonly queuePackets: number;
}

/** A download of `seconds` over all the paths against plain TCP over the first (best) path alone. */
export interface GoodputScenario extends ScenarioBase {
  readonly kind: 'goodput';
  readonly paths: readonly PathDef[];
  readonly seconds: number;
  /** Bound: MPTCP goodput / plain TCP goodput on path 0 at least this for the controllers in `wantedCc` and the default. */
  readonly minRatio: number;
}

/** Object downloads: completion time of each size, each in a fresh connection, median and p90 over seeds. */
export interface DownloadsScenario extends ScenarioBase {
  readonly kind: 'downloads';
  readonly paths: readonly PathDef[];
  readonly sizes: readonly number[];
}

/** One MPTCP connection (two subflows) and one TCP connection through one bottleneck: their shares. */
export interface SharedBottleneckScenario extends ScenarioBase {
  readonly kind: 'shared_bottleneck';
  readonly bottleneck: PathDef;
  /** One row per count: 1 is the control (an MPTCP connection alone should get about a TCP share). */
  readonly subflows: readonly number[];
  readonly seconds: number;
  /** Goodput counted from this instant on (after slow start). */
  readonly measureFromSeconds: number;
  /** Bound for the coupled controllers (`wantedCc`): MPTCP share / TCP share at most this. */
  readonly maxRatio: number;
}

/** Small request/response messages over lossy paths: latency percentiles and the bytes spent. */
export interface MessagesScenario extends ScenarioBase {
  readonly kind: 'messages';
  readonly cases: readonly { readonly name: string; readonly paths: readonly PathDef[] }[];
  readonly count: number;
  readonly intervalMs: number;
  readonly requestBytes: number;
  readonly responseBytes: number;
}

/** A long download while a path fails (down, silent, reset) and returns. */
export interface FailoverScenario extends ScenarioBase {
  readonly kind: 'failover';
  readonly cases: readonly { readonly name: string; readonly paths: readonly PathDef[] }[];
  readonly seconds: number;
  /** Goodput back at this fraction of the surviving path's rate counts as recovered. */
  readonly recoveredFraction: number;
  /** Re-creation after a reset must happen within this time to count. */
  readonly recreateWithinMs: number;
  /** A path down or silent: the sender's subflow on it must be marked stale within this time of the failure. */
  readonly detectWithinMs: number;
  /** A path down or silent that returns: it must carry 64 KB of new data within this time of its return. */
  readonly reuseWithinMs: number;
}

/** A scenario of the suite. */
export type ScenarioDef = SimultFlowsScenario | GoodputScenario | DownloadsScenario | SharedBottleneckScenario | MessagesScenario | FailoverScenario;

/**
 * How a row compares with its bound. `info`: no bound applies to this policy (a measurement);
 * `not available`: the policy cannot be chosen yet; `skipped`: the scenario's input is missing.
 */
export type RowStatus = 'pass' | 'fail' | 'info' | 'not available' | 'skipped' | 'error';

/** One line of the table. */
export interface Row {
  readonly scenario: string;
  readonly case: string;
  readonly scheduler: string;
  readonly cc: string;
  readonly source: string;
  /** Measurements by name, rounded (numbers) or stated (text). */
  readonly metrics: Readonly<Record<string, number | string>>;
  /** The bound in words ("<= 7.906 s"), empty when none. */
  readonly bound: string;
  readonly status: RowStatus;
  /** Why the row is not available / skipped / an error; or a remark. */
  readonly note?: string;
}

/** What the suite needs from outside. */
export interface SuiteEnvironment {
  /** A Mahimahi trace by file name, or undefined when it is not there (the scenario is then skipped). */
  readonly loadTrace: (name: string) => DeliveryTrace | undefined;
}

/** Which scenarios and policies to run. */
export interface SuiteFilter {
  readonly only?: readonly string[];
  readonly scheduler?: string;
  readonly cc?: string;
  /** Fewer seeds (the first n), for a quick run. */
  readonly seeds?: number;
}
