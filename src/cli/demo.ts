/**
 * `mptcp demo`: the README's main job, a multipath transfer on the emulator (two paths, one fails in
 * mid-transfer and comes back, the data verified). The scenario is `runDemo` (src/harness/demo.ts); this
 * file parses the options and prints its rows as they come, then the summary (or one JSON document).
 * Exit status 1 when the data does not verify or the transfer stalls.
 */
import { DEFAULT_PATHS, runDemo, type DemoInterval, type DemoOptions, type DemoPath, type DemoResult } from '../harness/demo.js';
import type { Micros } from '../time/micros.js';
import { parseSize } from '../perf/units.js';
import { CliError, parseCommandArgs, UsageError, type CliIo, type Command } from './command.js';
import { CAPTURE_OPTIONS, captureOptions, openCapture, openQlog, type CaptureRequest } from './capture-options.js';
import { CaptureWriter } from '../capture/writer.js';
import { buildReport, demoRunData } from '../report/index.js';
import { writeOutput } from './report.js';
import type { DemoSample } from '../harness/demo.js';
import { formatMonitorLine, type MptcpEvent } from '../mptcp/events.js';

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let p = 0;
  for (const c of chunks) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}

const SECOND: Micros = 1_000_000;

// ---------------------------------------------------------------------------------------------------------
// Output

function mbps(bytes: number, micros: Micros): string {
  return ((bytes * 8) / micros).toFixed(1);
}

function describePath(p: DemoPath): string {
  return `${p.rateBitsPerSecond / 1e6} Mbit/s, ${p.delayMicros / 1000} ms each way`;
}

/** A size in the largest binary unit it reaches: "1 KiB", "1.5 MiB", "48 MiB", "512 bytes". */
export function formatSize(bytes: number): string {
  const units = [
    [2 ** 30, 'GiB'],
    [2 ** 20, 'MiB'],
    [2 ** 10, 'KiB'],
  ] as const;
  for (const [size, unit] of units) {
    if (bytes >= size) return `${(bytes / size).toFixed(bytes % size === 0 ? 0 : 1)} ${unit}`;
  }
  return `${bytes} byte${bytes === 1 ? '' : 's'}`;
}

/** The header printed before the first interval. */
export function formatHeader(options: Required<Pick<DemoResult, 'bytes' | 'seed' | 'paths' | 'failPath' | 'outageStartMicros' | 'outageEndMicros'>>): string {
  const lines = [
    `MPTCP demo: ${formatSize(options.bytes)} from client to server over two paths (emulated, virtual time, seed ${options.seed})`,
    ...options.paths.map((p, i) => `  ${p.name}: ${p.clientAddress} -> ${p.serverAddress}, ${describePath(p)}${i === 0 ? ' (initial subflow)' : ' (joined subflow, MP_JOIN)'}`),
    `  ${options.paths[options.failPath]!.name} is scheduled to go down at ${options.outageStartMicros / SECOND} s and come back at ${options.outageEndMicros / SECOND} s`,
    '',
    `  ${'time'.padEnd(11)}${options.paths.map((p) => `${p.name} Mbit/s`.padStart(16)).join('')}${'total'.padStart(9)}   path states`,
  ];
  return lines.join('\n') + '\n';
}

/** One table row: the interval, each path's rate, the total, and the states of the paths. */
export function formatInterval(row: DemoInterval, paths: readonly DemoPath[]): string {
  const span = row.endMicros - row.startMicros;
  // Whole seconds, except a last row cut short by the end of the transfer ("  2-2.37 s").
  const seconds = (micros: Micros): string => (micros % SECOND === 0 ? (micros / SECOND).toFixed(0) : (micros / SECOND).toFixed(2));
  const time = `${seconds(row.startMicros).padStart(3)}-${seconds(row.endMicros).padEnd(3)} s`;
  const rates = row.bytesPerPath.map((b) => mbps(b, span).padStart(16)).join('');
  const total = mbps(
    row.bytesPerPath.reduce((a, b) => a + b, 0),
    span,
  ).padStart(9);
  const states = row.pathStates.map((st, i) => `${paths[i]!.name} ${st}`).join(', ');
  return `  ${time.padEnd(11)}${rates}${total}   ${states}\n`;
}

/** The summary after the table. */
export function formatSummary(r: DemoResult): string {
  const lines = [''];
  for (const sf of r.subflows) {
    const share = r.bytes > 0 ? ((100 * sf.dataBytesSent) / r.bytes).toFixed(1) : '0';
    lines.push(
      `  subflow ${sf.id} (${sf.join ? 'MP_JOIN' : 'MP_CAPABLE'}, ${r.paths[sf.path]?.name ?? '?'} ${sf.local} -> ${sf.remote}): ` +
        `${sf.dataBytesSent} data bytes sent (${share}%), ${sf.tcpRetransmits} TCP retransmissions, ${sf.state}`,
    );
  }
  const shares = r.subflows.reduce((a, sf) => a + sf.dataBytesSent, 0);
  if (r.bytes > 0 && shares > r.bytes) {
    // Data reinjected on another subflow (after a path failed) is counted on both: the shares exceed 100%.
    lines.push(
      `  (shares are of the ${r.bytes} data bytes: together ${((100 * shares) / r.bytes).toFixed(1)}%, because ${shares - r.bytes} bytes were ` +
        'sent on two subflows: reinjected on the other path when the first did not deliver them, like the kernel\'s MPTCPRetrans)',
    );
  }
  const seconds = r.durationMicros / SECOND;
  lines.push(
    `  duration ${seconds.toFixed(2)} s of virtual time, goodput ${mbps(r.receivedBytes, r.durationMicros)} Mbit/s; ` +
      `reinjected ${r.reinjectedBytes} bytes (MPTCPRetrans ${r.clientCounters['MPTCPRetrans'] ?? 0})`,
  );
  const failing = r.paths[r.failPath]?.name ?? '?';
  if (r.completed && r.durationMicros <= r.outageStartMicros) {
    lines.push(
      `  the transfer ended at ${seconds.toFixed(2)} s, before ${failing}'s outage (${r.outageStartMicros / SECOND}-${r.outageEndMicros / SECOND} s): ` +
        'no path failed during it (a larger --bytes or an earlier --outage shows the failover)',
    );
  } else if (r.completed && r.durationMicros < r.outageEndMicros) {
    lines.push(`  the transfer ended at ${seconds.toFixed(2)} s, while ${failing} was still down (it comes back at ${r.outageEndMicros / SECOND} s)`);
  }
  if (r.problem) lines.push(`  PROBLEM: ${r.problem}`);
  lines.push(
    r.verified
      ? `  verified: the server received all ${r.receivedBytes} bytes, SHA-256 ${r.receivedSha256} (equal to what was sent)`
      : `  NOT VERIFIED: received ${r.receivedBytes} of ${r.bytes} bytes; SHA-256 sent ${r.sentSha256}, received ${r.receivedSha256}`,
  );
  return lines.join('\n') + '\n';
}

/**
 * The `--json` document: the result with paths numbered as on the command line and in the text (1 and 2:
 * `"failPath": 1` is `--fail-path 1`, a subflow's `"path": 2` is path 2); `runDemo` indexes them from 0.
 */
export function demoJson(r: DemoResult): Record<string, unknown> {
  return { ...r, failPath: r.failPath + 1, subflows: r.subflows.map((sf) => ({ ...sf, path: sf.path + 1 })) };
}

const USAGE = `Usage: mptcp demo [--bytes SIZE] [--seed N] [--outage FROM-TO] [--fail-path 1|2] [--json] [--monitor] [--report FILE] [--pcap FILE] [--qlog FILE]

A multipath transfer on the in-process network emulator (virtual time: it runs as fast as the CPU allows
and the same seed gives the same run). Two hosts of this stack, each with two interfaces:

  path 1: 198.18.1.2 -> 198.18.1.1, 50 Mbit/s, 10 ms each way (the initial subflow, MP_CAPABLE)
  path 2: 198.18.2.2 -> 198.18.2.1, 20 Mbit/s, 40 ms each way (a subflow joined with MP_JOIN)

The client sends SIZE bytes of seeded pseudo-random data. One path goes down in mid-transfer (both
directions; packets in flight are lost) and comes back. Each virtual second a row shows the rate at which
the data arrived over each path and the paths' states; at the end the SHA-256 of the data read by the
server is compared with that of the data written, and a summary shows the bytes per subflow, the duration
and the reinjected bytes (MPTCPRetrans).

Options:
      --bytes SIZE       data to send, suffixes K/M/G (powers of 1024)              default 48M
      --seed N           seeds the emulator, the hosts' keys and the data             default 1
      --outage FROM-TO   the outage in seconds of virtual time, e.g. 3-5               default 3-5
      --fail-path N      which path fails (1 or 2)                                     default 1
      --json             one JSON document (every interval, the subflows, the verdict) instead of text;
                         paths are numbered 1 and 2 there too ("failPath": 1 is --fail-path 1)
      --monitor          print both hosts' MPTCP events as they happen, as 'ip mptcp monitor' prints
                         them, each line starting with the host ('client' or 'server'); with --json
                         they go to stderr
      --report FILE      write mptcp report's HTML page of the run to FILE: goodput and data sequence
                         per subflow from the run's capture, RTT and cwnd sampled every 50 ms, the
                         outage, stalls, events (the run itself is the same)
      --qlog FILE        a qlog event log of the run (JSON-SEQ: both hosts' MPTCP events with a path id
                         per subflow, and the client subflows' RTT and cwnd every 50 ms)
      --pcap FILE        capture every packet both hosts send (as offered to the links, dropped ones
                         too; virtual time from 0) to FILE (pcap, LINKTYPE_RAW); read it with mptcp
                         decode, mptcp report, tshark or Wireshark
      --pcap-snaplen N   bytes kept of each packet: 'headers' (IP and TCP headers with every option,
                         no payload; the default, about 100 bytes a segment) or 1-262144
  -h, --help             show this help

Exit status: 0 the data verified, 1 it did not (or the transfer stalled), 2 bad usage.
`;

function parseOptions(args: readonly string[]): { options: DemoOptions; json: boolean; capture: CaptureRequest | undefined; report: string | undefined; monitor: boolean; qlog: string | undefined } {
  const { values, positionals } = parseCommandArgs(args, {
    bytes: { type: 'string' },
    seed: { type: 'string' },
    outage: { type: 'string' },
    'fail-path': { type: 'string' },
    json: { type: 'boolean' },
    ...CAPTURE_OPTIONS,
    report: { type: 'string' },
    monitor: { type: 'boolean' },
  });
  if (values['report'] === '') throw new UsageError('--report needs a file name');
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const options: { -readonly [K in keyof DemoOptions]: DemoOptions[K] } = {};
  if (typeof values['bytes'] === 'string') {
    const b = parseSize(values['bytes']);
    if (b === undefined || b < 1 || b > 4 * 1024 ** 3) throw new UsageError(`bad --bytes '${values['bytes']}' (1 byte to 4G)`);
    options.bytes = b;
  }
  if (typeof values['seed'] === 'string') {
    const n = Number(values['seed']);
    if (!/^\d+$/.test(values['seed']) || !Number.isSafeInteger(n)) throw new UsageError(`bad --seed '${values['seed']}' (a whole number)`);
    options.seed = n;
  }
  if (typeof values['outage'] === 'string') {
    const m = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(values['outage']);
    const from = m ? Number(m[1]) : NaN;
    const to = m ? Number(m[2]) : NaN;
    if (!m || !(to > from) || to > 60) throw new UsageError(`bad --outage '${values['outage']}' (FROM-TO in seconds, FROM < TO <= 60)`);
    options.outageStartMicros = Math.round(from * SECOND);
    options.outageEndMicros = Math.round(to * SECOND);
  }
  if (typeof values['fail-path'] === 'string') {
    if (values['fail-path'] !== '1' && values['fail-path'] !== '2') throw new UsageError(`bad --fail-path '${values['fail-path']}' (1 or 2)`);
    options.failPath = Number(values['fail-path']) - 1;
  }
  const capture = captureOptions(values['pcap'] as string | undefined, values['pcap-snaplen'] as string | undefined);
  return { options, json: values['json'] === true, capture, report: values['report'] as string | undefined, monitor: values['monitor'] === true, qlog: values['qlog'] as string | undefined };
}

/** The `mptcp demo` command. */
export const demoCommand: Command = {
  name: 'demo',
  summary: 'a multipath transfer on the emulator: two paths, one fails and comes back, data verified',
  usage: USAGE,
  run(args: readonly string[], io: CliIo): number {
    const { options: parsed, json, capture, report, monitor, qlog } = parseOptions(args);
    const captureFile = capture ? openCapture(capture) : undefined;
    const qlogFile = openQlog(qlog, { title: 'mptcp demo' });
    // --report: the run's packets in memory too (headers only), and RTT/cwnd samples.
    const reportChunks: Uint8Array[] = [];
    const reportCapture = report !== undefined ? new CaptureWriter((c) => reportChunks.push(c)) : undefined;
    const samples: DemoSample[] = [];
    const sinks = [captureFile, reportCapture].filter((s) => s !== undefined);
    const options: DemoOptions = {
      ...parsed,
      ...(sinks.length > 0 ? { capture: { writePacket: (t: number, b: Uint8Array) => sinks.forEach((s) => s.writePacket(t, b)) } } : {}),
      ...(report !== undefined || qlogFile
        ? {
            onSample: (s: DemoSample) => {
              if (report !== undefined) samples.push(s);
              qlogFile?.log.metrics(s.atMicros, 'client', undefined, s.subflow, s);
            },
          }
        : {}),
      ...(monitor || qlogFile
        ? {
            onMonitor: (host: string, e: MptcpEvent, at: number) => {
              if (monitor) (json ? io.stderr : io.stdout)(`  ${host} ${formatMonitorLine(e)}\n`);
              qlogFile?.log.monitorEvent(at, host, e);
            },
          }
        : {}),
    };
    const header = {
      bytes: options.bytes ?? 48 * 1024 * 1024,
      seed: options.seed ?? 1,
      paths: DEFAULT_PATHS,
      failPath: options.failPath ?? 0,
      outageStartMicros: options.outageStartMicros ?? 3 * SECOND,
      outageEndMicros: options.outageEndMicros ?? 5 * SECOND,
    };
    if (!json) io.stdout(formatHeader(header));
    let result: DemoResult;
    try {
      result = runDemo(options, json ? undefined : (row) => io.stdout(formatInterval(row, DEFAULT_PATHS)));
    } catch (err) {
      throw new CliError(err instanceof Error ? err.message : String(err));
    } finally {
      captureFile?.close();
      qlogFile?.close();
    }
    for (const e of [captureFile?.error, qlogFile?.error]) if (e) io.stderr(`mptcp demo: ${e}\n`);
    if (json) io.stdout(JSON.stringify(demoJson(result), null, 2) + '\n');
    else io.stdout(formatSummary(result));
    if (report !== undefined) {
      const run = demoRunData('mptcp demo', result, samples);
      const page = buildReport([{ name: 'the run (captured as offered to the links)', bytes: concat(reportChunks) }], {
        runs: 'error' in run ? [] : [run],
        title: `MPTCP demo report: seed ${result.seed}, ${result.bytes} bytes, ${result.paths[result.failPath]?.name ?? 'a path'} down ${result.outageStartMicros / SECOND}-${result.outageEndMicros / SECOND} s`,
      });
      writeOutput(report, page.html, io);
      (json ? io.stderr : io.stdout)(`  report: ${report} (${Math.round(page.html.length / 1024)} KB)\n`);
    }
    return result.verified ? 0 : 1;
  },
};
