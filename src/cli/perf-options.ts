/**
 * The words of `mptcp perf`'s stack options, checked before anything is built: `--link SPEC` (the emulated
 * link of each path) and `--no-mptcp` / `--endpoint` / `--limits` / `--scheduler` (MPTCP and the path
 * manager, in `ip mptcp`'s words). Bad words are `UsageError`s naming the option. What they configure is
 * built by src/perf/ (emulated.ts, interfaces.ts).
 */
import { schedulerNames } from '../sched/registry.js';
import { congestionControlNames } from '../cc/registry.js';
import { EndpointTable, parseLimits, PmConfigError, type Endpoint, type Limits } from '../pm/config.js';
import { DEFAULT_LINK_DELAY_MICROS, DEFAULT_LINK_RATE, MIN_DEFAULT_QUEUE, type PerfLink } from '../perf/link.js';
import type { PerfMptcp } from '../perf/mptcp-config.js';
import { UsageError } from './command.js';

/**
 * Checks `--endpoint` (each the words of `ip mptcp endpoint add`, e.g. "198.18.1.2 id 2 port 5300 signal
 * backup") and `--limits` ("subflows 2 add_addr_accepted 2") with the path manager's own grammar
 * (src/pm/config.ts: the same errors `ip mptcp` gives); a bad one is a UsageError naming the option.
 */
export function parseMptcpOptions(options: { noMptcp: boolean; endpoints: readonly string[]; limits: string | undefined; scheduler?: string | undefined }): PerfMptcp {
  if (options.noMptcp && (options.endpoints.length > 0 || options.limits !== undefined || options.scheduler !== undefined)) {
    throw new UsageError('--endpoint, --limits and --scheduler configure MPTCP: they go without --no-mptcp');
  }
  if (options.scheduler !== undefined && !schedulerNames().includes(options.scheduler)) {
    throw new UsageError(`unknown --scheduler '${options.scheduler}' (available: ${schedulerNames().join(', ')})`);
  }
  const table = new EndpointTable();
  const endpoints: Endpoint[] = [];
  for (const text of options.endpoints) {
    try {
      endpoints.push(table.add(text));
    } catch (err) {
      if (err instanceof PmConfigError) throw new UsageError(`bad --endpoint '${text}': ${err.message} (expected ip mptcp endpoint words: ADDRESS [id ID] [port PORT] [signal] [subflow] [backup] [fullmesh] [dev NAME])`);
      throw err;
    }
  }
  let limits: Limits | undefined;
  if (options.limits !== undefined) {
    try {
      limits = parseLimits(options.limits);
    } catch (err) {
      if (err instanceof PmConfigError) throw new UsageError(`bad --limits '${options.limits}': ${err.message} (expected: [subflows N] [add_addr_accepted N], each 0-8)`);
      throw err;
    }
  }
  return { enabled: !options.noMptcp, endpoints: options.endpoints.length > 0 ? endpoints : undefined, limits, scheduler: options.scheduler };
}

/**
 * `--cc NAME` and its iperf3 spellings `-C NAME` / `--congestion NAME` (one of them, or the same name twice):
 * a registered controller, else a UsageError listing them. Undefined when none is given.
 */
export function parseCongestionControl(cc: string | undefined, congestion: string | undefined): string | undefined {
  if (cc !== undefined && congestion !== undefined && cc !== congestion) {
    throw new UsageError(`--cc '${cc}' and -C/--congestion '${congestion}' are the same option: give one`);
  }
  const name = cc ?? congestion;
  if (name !== undefined && !congestionControlNames().includes(name)) {
    throw new UsageError(`unknown congestion control '${name}' (available: ${congestionControlNames().join(', ')})`);
  }
  return name;
}

const RATE_SUFFIX: Readonly<Record<string, number>> = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12 };
const QUEUE_SUFFIX: Readonly<Record<string, number>> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/**
 * Parses `--link` text: comma-separated `rate=`, `delay=`, `loss=`, `queue=` (each optional, defaults 1 Gbit/s,
 * 1 ms, 0, one bandwidth-delay product but at least 150 KB). Throws UsageError.
 */
export function parseLinkSpec(text: string | undefined): PerfLink {
  let rate = DEFAULT_LINK_RATE;
  let delay = DEFAULT_LINK_DELAY_MICROS;
  let loss = 0;
  let queue: number | null | undefined; // null: unlimited; undefined: default
  const seen = new Set<string>();
  const fail = (why: string): never => {
    throw new UsageError(`bad --link '${text}': ${why}`);
  };
  for (const field of text === undefined || text === '' ? [] : text.split(',')) {
    const eq = field.indexOf('=');
    if (eq <= 0) fail(`expected KEY=VALUE, got '${field}' (keys: rate, delay, loss, queue)`);
    const key = field.slice(0, eq).toLowerCase();
    const value = field.slice(eq + 1).trim();
    if (seen.has(key)) fail(`'${key}' given twice`);
    seen.add(key);
    if (key === 'rate') {
      const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:bit|bps|b)?(?:\/s)?$/i.exec(value);
      const r = m ? Number(m[1]) * RATE_SUFFIX[m[2]!.toLowerCase()]! : NaN;
      if (!(r >= 1000) || !Number.isFinite(r)) fail(`rate=${value}: expected bits per second, at least 1K, with an optional K/M/G suffix (powers of 1000), e.g. rate=100M`);
      rate = Math.round(r);
    } else if (key === 'delay') {
      const m = /^(\d+(?:\.\d+)?)\s*(us|µs|ms|s)?$/i.exec(value);
      const unit = m?.[2]?.toLowerCase() ?? 'ms';
      const d = m ? Number(m[1]) * (unit === 's' ? 1e6 : unit === 'ms' ? 1e3 : 1) : NaN;
      if (!(d >= 0 && d <= 10e6)) fail(`delay=${value}: expected a one-way delay up to 10 s, e.g. delay=10ms, 500us, 0.2s (a bare number is ms)`);
      delay = Math.round(d);
    } else if (key === 'loss') {
      const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(value);
      const l = m ? Number(m[1]) / (m[2] ? 100 : 1) : NaN;
      if (!(l >= 0 && l < 1)) fail(`loss=${value}: expected a loss rate below 100%, e.g. loss=1% or loss=0.01`);
      loss = l;
    } else if (key === 'queue') {
      if (/^(unlimited|inf|none)$/i.test(value)) {
        queue = null;
        continue;
      }
      const m = /^(\d+(?:\.\d+)?)([kmg]?)(?:b|bytes)?$/i.exec(value);
      const q = m ? Math.floor(Number(m[1]) * QUEUE_SUFFIX[m[2]!.toLowerCase()]!) : NaN;
      if (!(q >= 1500) || !Number.isSafeInteger(q)) fail(`queue=${value}: expected a backlog in bytes, at least 1500, with an optional K/M suffix (powers of 1024), or 'unlimited'`);
      queue = q;
    } else {
      fail(`unknown key '${key}' (keys: rate, delay, loss, queue)`);
    }
  }
  const bdp = Math.ceil((rate * 2 * delay) / 8e6);
  return {
    rateBitsPerSecond: rate,
    delayMicros: delay,
    loss,
    queueLimitBytes: queue === null ? undefined : (queue ?? Math.max(bdp, MIN_DEFAULT_QUEUE)),
  };
}
