/**
 * `mptcp report INPUT... -o FILE`: one self-contained HTML page of plots (inline SVG, no network access) from
 * captures (pcap/pcapng: ours from --pcap, or tcpdump's of the kernel's MPTCP) and runs' `--json` (perf, demo).
 * The work is in src/report/; this file parses the words, reads and writes the files, and reports errors.
 */
import { writeFileSync } from 'node:fs';
import { buildReport, type ReportInput } from '../report/index.js';
import { CliError, parseCommandArgs, UsageError, type CliIo, type Command } from './command.js';
import { readInput } from './decode.js';

const USAGE = `Usage: mptcp report INPUT... -o FILE [--stall MS] [--title TEXT]

Draws one self-contained HTML page (inline SVG plots, no network access: it opens from disk) from:
  - captures, pcap or pcapng: ours (mptcp perf/demo --pcap) or anyone's (tcpdump of the kernel's MPTCP);
  - a run's JSON: mptcp perf --json (RTT, cwnd and bytes per subflow per interval), mptcp demo --json
    (bytes per path per interval, the outage, the counters).
Per MPTCP connection: a summary (endpoints, keys and tokens, duration, bytes per direction and per
subflow, fallback, MP_FAIL/MP_FASTCLOSE/MP_TCPRST, signalling counts, the run's counters); per direction,
goodput over time per subflow (its TCP ACKs) and in total (DATA_ACK); the data sequence number against time
per subflow with TCP retransmissions (x) and reinjections (triangles) marked and the DATA_ACK line; RTT and
cwnd per subflow from a run's JSON (matched to the capture's subflows by address and port); an events
timeline (subflows, ADD_ADDR, RM_ADDR, MP_PRIO, MP_FAIL, fastclose, link outages from the run, stalls
where the DATA_ACK did not move for longer than --stall with data outstanding). Plain TCP connections in
a capture are listed. Long runs are reduced to 600 time columns and 200 goodput bins, so the page stays
small (about 120 KB for a 2 s run, 250 KB for 10 minutes).

Options:
  -o, --output FILE  where to write the page ('-': standard output)
      --stall MS     a DATA_ACK still for longer than MS milliseconds with data outstanding is a stall
                     (default 250)
      --title TEXT   the page's title (default 'MPTCP report')
  -h, --help         show this help

Exit status: 0 the page was written (inputs that could not be used are named on stderr and on the page),
1 no input could be used or FILE cannot be written, 2 bad usage.
`;

/** The `report` subcommand. */
export const reportCommand: Command = {
  name: 'report',
  summary: 'one self-contained HTML page of plots per MPTCP connection from captures and runs\' --json',
  usage: USAGE,
  run: (args, io) => runReport(args, io),
};

/** Runs `mptcp report` with its arguments (after "report"); returns the exit code, throws CliError. */
export function runReport(args: readonly string[], io: CliIo): number {
  const { values, positionals } = parseCommandArgs(args, {
    output: { type: 'string', short: 'o' },
    stall: { type: 'string' },
    title: { type: 'string' },
  });
  if (positionals.length === 0) throw new UsageError('missing INPUT (a pcap/pcapng capture or a run\'s --json)');
  const output = values['output'];
  if (typeof output !== 'string' || output === '') throw new UsageError('missing -o FILE (where to write the page; - for standard output)');
  let stallMicros: number | undefined;
  if (typeof values['stall'] === 'string') {
    const ms = Number(values['stall']);
    if (!/^\d+(\.\d+)?$/.test(values['stall']) || !(ms >= 1 && ms <= 600_000)) throw new UsageError(`bad --stall '${values['stall']}' (milliseconds, 1-600000)`);
    stallMicros = Math.round(ms * 1000);
  }
  const inputs: ReportInput[] = positionals.map((path) => ({ name: path, bytes: readInput(path) }));
  const result = buildReport(inputs, {
    ...(stallMicros !== undefined ? { stallMicros } : {}),
    ...(typeof values['title'] === 'string' ? { title: values['title'] } : {}),
  });
  for (const w of result.warnings) io.stderr(`mptcp report: ${w}\n`);
  if (result.captures.length === 0 && result.runs.length === 0) throw new CliError('no input could be used');
  writeOutput(output, result.html, io);
  return 0;
}

/** Writes the page to `path` ('-': standard output); a CliError naming the file. */
export function writeOutput(path: string, html: string, io: CliIo): void {
  if (path === '-') {
    io.stdout(html);
    return;
  }
  try {
    writeFileSync(path, html);
  } catch (err) {
    throw new CliError(`cannot write '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
