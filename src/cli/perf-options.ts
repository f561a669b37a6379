/**
 * The words of `mptcp perf`'s stack options, checked before anything is built: `--link SPEC` (the emulated
 * link of each path) and `--no-mptcp` / `--endpoint` / `--limits` / `--scheduler` (MPTCP and the path
 * manager, in `ip mptcp`'s words). Bad words are `UsageError`s naming the option. What they configure is
 * built by src/perf/ (emulated.ts, interfaces.ts).
 */
import { schedulerNames } from '../sched/registry.js';
import { congestionControlNames } from '../cc/registry.js';
import { EndpointTable, parseLimits, PmConfigError, type Endpoint, type Limits } from '../pm/config.js';
import { defaultLinkSpec, LinkSpecError, parseLinkSpec as parseLinkWords } from '../emu/link-spec.js';
import type { PerfLink } from '../perf/link.js';
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

/**
 * Parses `--link` text with the shared link grammar (src/emu/link-spec.ts: rate, delay, jitter, loss incl.
 * Gilbert-Elliott, queue, reorder, duplicate, mtu, down=FROM-TO, trace/trace-up/trace-down, KEY-up/KEY-down);
 * undefined (no --link) is the defaults. Throws UsageError "bad --link 'TEXT': WHY".
 */
export function parseLinkSpec(text: string | undefined): PerfLink {
  if (text === undefined) return defaultLinkSpec();
  const spec = parseLinkWords(text);
  if (spec instanceof LinkSpecError) throw new UsageError(`bad --link '${text}': ${spec.message}`);
  return spec;
}
