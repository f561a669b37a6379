/**
 * The scenarios of issue 9, as data: topology, workload, policies, seeds and where each number comes from.
 * Runners (./runners.ts) interpret them; nothing here runs anything.
 */
import type {
  DownloadsScenario,
  FailoverScenario,
  GoodputScenario,
  MessagesScenario,
  PathDef,
  PolicySpec,
  ScenarioDef,
  SharedBottleneckScenario,
  SimultFlowsScenario,
} from './types.js';

/** The coupled controllers of issue 9 (RFC 6356 LIA, OLIA, BALIA): the bounds of goals 1 and 2 are about them. */
export const COUPLED_CC = ['lia', 'olia', 'balia'] as const;

/** Every scheduler with the default controller, and every controller (the coupled ones at least) with the default scheduler. */
const EVERY_POLICY: PolicySpec = { schedulers: 'registry', cc: 'registry', combine: 'star', wantedCc: COUPLED_CC };
/** Every scheduler, with the host's default controller. */
const EVERY_SCHEDULER: PolicySpec = { schedulers: 'registry', cc: ['cubic'], combine: 'star' };
/** Every controller (the coupled ones at least), with the default scheduler. */
const EVERY_CC: PolicySpec = { schedulers: ['default'], cc: 'registry', combine: 'star', wantedCc: COUPLED_CC };

/** 1. Linux's tools/testing/selftests/net/mptcp/simult_flows.sh: the five cases, both directions. */
export const SIMULT_FLOWS: SimultFlowsScenario = {
  kind: 'simult_flows',
  id: 'simult_flows',
  title: 'simult_flows.sh: 16 MiB over two paths at once, against the kernel selftest bound',
  source:
    'Linux tools/testing/selftests/net/mptcp/simult_flows.sh (run_test: netem rate/delay on both ends of each path, ' +
    'a 16 MiB file one way and 80 KiB the other, bound = size*8*10/9 / (rate1+rate2) + 400 ms + 50 ms slack)',
  policies: EVERY_POLICY,
  seeds: [1],
  cases: [
    { name: 'balanced bwidth', rate1Mbps: 10, rate2Mbps: 10, delay1Ms: 0, delay2Ms: 0 },
    { name: 'balanced bwidth with unbalanced delay', rate1Mbps: 10, rate2Mbps: 10, delay1Ms: 1, delay2Ms: 25 },
    { name: 'unbalanced bwidth', rate1Mbps: 15, rate2Mbps: 5, delay1Ms: 0, delay2Ms: 0 },
    { name: 'unbalanced bwidth with unbalanced delay', rate1Mbps: 15, rate2Mbps: 5, delay1Ms: 1, delay2Ms: 25 },
    { name: 'unbalanced bwidth with opposed, unbalanced delay', rate1Mbps: 15, rate2Mbps: 5, delay1Ms: 25, delay2Ms: 1 },
  ],
  largeBytes: 2 * 2048 * 4096,
  smallBytes: 20 * 4096,
  queuePackets: 1000,
};

/** Raiciu et al. NSDI 2012 figure 7's paths. */
export const WIFI: PathDef = { name: 'Wi-Fi', rateMbps: 8, delayMs: 10, loss: 0.02, queueBytes: 15_000 };
export const THREE_G: PathDef = { name: '3G', rateMbps: 2, delayMs: 75, loss: 0.01, queueBytes: 96_000 };

/** 2. Wi-Fi + 3G for 60 s against plain TCP on Wi-Fi (RFC 6356 goal 1). */
export const WIFI_3G: GoodputScenario = {
  kind: 'goodput',
  id: 'wifi_3g',
  title: 'Wi-Fi + 3G, 60 s download: MPTCP against plain TCP on the Wi-Fi path alone',
  source:
    'Raiciu et al., "How Hard Can It Be? Designing and Implementing a Deployable Multipath TCP", NSDI 2012, figure 7 ' +
    '(Wi-Fi 8 Mbit/s, 10 ms, 2% loss, 15 KB queue; 3G 2 Mbit/s, 75 ms, 1% loss, 96 KB queue); bound: RFC 6356 section 2 goal 1',
  policies: EVERY_POLICY,
  seeds: [1, 2, 3],
  paths: [WIFI, THREE_G],
  seconds: 60,
  minRatio: 1.0,
};

/** The download scenarios' object sizes (issue 9: 64 KB to 16 MB, as DEMS/BLEST/ECF report) and seeds. */
const OBJECT_SIZES: readonly number[] = [64 * 1024, 256 * 1024, 1 << 20, 4 << 20, 16 << 20];
const DOWNLOAD_SEEDS: readonly number[] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

/** 3. Wi-Fi (fixed rate) + LTE (Mahimahi trace): object download times per scheduler. */
export const WIFI_LTE: DownloadsScenario = {
  kind: 'downloads',
  id: 'wifi_lte',
  title: 'Wi-Fi + LTE (Mahimahi trace): completion time of one object per connection, median and p90 over seeds',
  source:
    'BLEST (Ferlin et al., IFIP Networking 2016) and ECF (Lim et al., CoNEXT 2017) download experiments; LTE: Mahimahi ' +
    'TMobile-LTE-short traces (Winstein et al., NSDI 2013), each seed starting 1 s further into the trace',
  policies: EVERY_SCHEDULER,
  seeds: DOWNLOAD_SEEDS,
  paths: [
    { name: 'Wi-Fi', rateMbps: 10, delayMs: 10, queueBytes: 150_000 },
    { name: 'LTE', trace: { down: 'TMobile-LTE-short.down', up: 'TMobile-LTE-short.up' }, delayMs: 40, queueBytes: 300_000 },
  ],
  sizes: OBJECT_SIZES,
};

/**
 * 3b. The papers' setting: a fast, short Wi-Fi and a slower, longer LTE. `wifi_lte` cannot show what BLEST and ECF
 * are for: its LTE trace (TMobile-LTE-short.down, 16.7 Mbit/s on average) is faster than its Wi-Fi (10 Mbit/s), so
 * there is no slow path to avoid. Here the LTE is Mahimahi's Verizon-LTE-short (computed from the files: 58,655
 * 1500-byte opportunities in 140 s down = 5.03 Mbit/s, 69,367 up = 5.95 Mbit/s), half the Wi-Fi's rate.
 */
export const WIFI_SLOW_LTE: DownloadsScenario = {
  kind: 'downloads',
  id: 'wifi_slow_lte',
  title: 'Fast Wi-Fi + slower LTE (Mahimahi Verizon trace): completion time of one object per connection, median and p90 over seeds',
  source:
    'the heterogeneous setting ECF (Lim et al., CoNEXT 2017) and BLEST (Ferlin et al., IFIP Networking 2016) are ' +
    'designed for: a fast, short Wi-Fi beside a slower, longer LTE. Wi-Fi 10 Mbit/s fixed and 10 ms one way as in ' +
    'wifi_lte; its queue 30 KB, about one BDP (10 Mbit/s x 20 ms = 25 KB), so it stays short; LTE: Mahimahi ' +
    'Verizon-LTE-short traces (Winstein et al., NSDI 2013; 5.03 Mbit/s down, 5.95 up, computed from the files), ' +
    '40 ms one way and a 300 KB queue as in wifi_lte; object sizes as wifi_lte (issue 9); each seed starting 1 s ' +
    'further into the trace',
  policies: EVERY_SCHEDULER,
  seeds: DOWNLOAD_SEEDS,
  paths: [
    { name: 'Wi-Fi', rateMbps: 10, delayMs: 10, queueBytes: 30_000 },
    { name: 'LTE', trace: { down: 'Verizon-LTE-short.down', up: 'Verizon-LTE-short.up' }, delayMs: 40, queueBytes: 300_000 },
  ],
  sizes: OBJECT_SIZES,
};

/** 4. One MPTCP connection with two subflows and one TCP connection through one bottleneck (RFC 6356 goal 2). */
export const SHARED_BOTTLENECK: SharedBottleneckScenario = {
  kind: 'shared_bottleneck',
  id: 'shared_bottleneck',
  title: 'Shared bottleneck: an MPTCP connection with two subflows and a TCP connection through one link',
  source:
    'RFC 6356 section 2 goal 2 ("do no harm"; Wischik et al., NSDI 2011 figure 1 topology): 20 Mbit/s, 20 ms one way, ' +
    '100 KB queue (one BDP), 60 s, shares from 10 s on; coupled controllers at most 1.3 x TCP, cubic about 2 with two ' +
    'subflows; one subflow is the control (about 1)',
  policies: EVERY_CC,
  seeds: [1, 2],
  bottleneck: { name: 'bottleneck', rateMbps: 20, delayMs: 20, queueBytes: 100_000 },
  subflows: [1, 2],
  seconds: 60,
  measureFromSeconds: 10,
  maxRatio: 1.3,
};

const lossyPaths = (loss: number): PathDef[] => [
  { name: 'path 1', rateMbps: 10, delayMs: 10, loss, queueBytes: 100_000 },
  { name: 'path 2', rateMbps: 10, delayMs: 30, loss, queueBytes: 100_000 },
];

/** 5. Small request/response messages over two lossy paths (why people want duplicate mode). */
export const REDUNDANT_UNDER_LOSS: MessagesScenario = {
  kind: 'messages',
  id: 'redundant_loss',
  title: 'Request/response under loss: 100-byte requests every 50 ms, 1000-byte responses, two lossy paths',
  source:
    'issue 9 scenario 5 (redundant scheduling: mptcp_net-next #75, #467; Zixi "duplicate" bonding): two 10 Mbit/s ' +
    'paths, 10 ms and 30 ms one way, 2% or 5% random loss each way',
  policies: EVERY_SCHEDULER,
  seeds: [1, 2, 3],
  cases: [
    { name: '2% loss', paths: lossyPaths(0.02) },
    { name: '5% loss', paths: lossyPaths(0.05) },
  ],
  count: 300,
  intervalMs: 50,
  requestBytes: 100,
  responseBytes: 1000,
};

const FAST: PathDef = { name: 'path 1', rateMbps: 10, delayMs: 10, queueBytes: 100_000 };
const SLOW: PathDef = { name: 'path 2', rateMbps: 5, delayMs: 20, queueBytes: 100_000 };

/** 6. A path fails and returns during a long download; a subflow reset by the peer. */
export const FAILOVER: FailoverScenario = {
  kind: 'failover',
  id: 'failover',
  title: 'Failover and failback: path 1 (10 Mbit/s) fails at 10 s and returns at 20 s; path 2 (5 Mbit/s) survives',
  source:
    'issue 9 scenario 6 (subflows that come back: mptcp_net-next #440, #581, #585, #593, #615); goodput back = from the ' +
    'failure to the first of ten 100 ms bins in a row each with 80% of the surviving path\'s rate (in-order bytes read); ' +
    'path used again = 64 KB of new data sent on it after its return; stale = the sender marks the subflow on the failing ' +
    'path stale (Linux stale_loss_cnt), within 1.5 s, and the path is used again within 1 s of its return; a reset ' +
    'subflow must be re-created within 5 s',
  policies: EVERY_SCHEDULER,
  seeds: [1],
  cases: [
    { name: 'path 1 down 10-20 s', paths: [{ ...FAST, outages: [{ kind: 'down', atMs: 10_000, untilMs: 20_000 }] }, SLOW] },
    { name: 'path 1 silent (up, drops all) 10-20 s', paths: [{ ...FAST, outages: [{ kind: 'silent', atMs: 10_000, untilMs: 20_000 }] }, SLOW] },
    { name: 'subflow on path 2 reset by the peer at 10 s', paths: [FAST, { ...SLOW, outages: [{ kind: 'reset', atMs: 10_000 }] }] },
  ],
  seconds: 30,
  recoveredFraction: 0.8,
  recreateWithinMs: 5_000,
  detectWithinMs: 1_500,
  reuseWithinMs: 1_000,
};

/** The whole suite, in table order. */
export const SCENARIOS: readonly ScenarioDef[] = [SIMULT_FLOWS, WIFI_3G, WIFI_LTE, WIFI_SLOW_LTE, SHARED_BOTTLENECK, REDUNDANT_UNDER_LOSS, FAILOVER];
