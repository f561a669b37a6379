/**
 * `mptcp perf`: throughput tests, wire-compatible with iperf3 (TCP). `-c HOST` runs a client against an
 * iperf3 server (or `mptcp perf -s`), `-s` serves iperf3 clients. The work is in src/perf/; this file parses
 * arguments and wires output and Ctrl-C.
 *
 * For now perf runs over the host's kernel TCP (node:net, `nodeNetTransport`). The userspace stack plugs in
 * through `runPerfClient(options, transport)` / `startPerfServer(options, transport)`; `--iface` specs are
 * parsed and checked already but refused (exit 2) until that wiring exists.
 */
import { parseIfaceSpec, IfaceSpecError, type IfaceSpec } from '../perf/iface.js';
import { PerfError, DEFAULT_PORT, MAX_BLOCKSIZE, MAX_STREAMS } from '../perf/iperf3-protocol.js';
import { runPerfClient, type PerfClientOptions } from '../perf/client.js';
import { startPerfServer, type PerfServerOptions } from '../perf/server.js';
import { nodeNetTransport } from '../perf/transport.js';
import { parseSize } from '../perf/units.js';
import { CliError, packageVersion, parseCommandArgs, UsageError, type CliIo, type Command } from './cli.js';

const USAGE = `Usage: mptcp perf -s [options]          run a server (like iperf3 -s)
       mptcp perf -c HOST [options]     run a client test against HOST (iperf3 -s, or mptcp perf -s)

Throughput tests over TCP, speaking iperf3's protocol: the client works with an iperf3 server and the
server with iperf3 clients (iperf 3.x). Output is iperf3's: a report every interval, then the sender and
receiver totals of each stream (the receiver's as measured by the other side).

Common options:
  -p, --port PORT        server port (default ${DEFAULT_PORT})
  -i, --interval SEC     seconds between interval reports (default 1; 0: none)
  -B, --bind ADDR        local address: the server listens on it, the client connects from it
      --json             one iperf3-like JSON document per test (start, intervals, end with sum_sent
                         and sum_received: bytes, bits_per_second, seconds, retransmits where known)
      --iface SPEC       an interface of the userspace MPTCP stack (repeatable; see below)
  -h, --help             show this help

Server options:
  -s, --server           run as a server, one test at a time (other clients are told the server is busy)
  -1, --one-off          serve one test, then exit

Client options:
  -c, --client HOST      run a test against HOST
  -t, --time SEC         test length in seconds (default 10)
  -n, --bytes N          transfer N bytes instead (suffixes K, M, G, T: powers of 1024), in total
  -k, --blockcount N     transfer N blocks instead
  -R, --reverse          the server sends, the client receives
  -P, --parallel N       N parallel streams (1-${MAX_STREAMS}, default 1)
  -l, --length LEN       block size, bytes, suffixes allowed (default 128K, at most 1M)
  -O, --omit SEC         leave the first SEC seconds out of the statistics
  -N, --no-delay         disable Nagle's algorithm on the data connections
  -T, --title TEXT       title sent to the server
      --cport PORT       local port of the data connections (stream i uses PORT + i)
  -4, --version4         resolve HOST to IPv4 only
  -6, --version6         resolve HOST to IPv6 only
      --connect-timeout MS   give up connecting after MS milliseconds

Interfaces (--iface SPEC):
  tun:NAME,addr=ADDR/PREFIX,peer=ADDR/PREFIX[,netns=NS]
        a Linux TUN device for the userspace stack: our address, the kernel-side peer address (same
        family), optionally with the peer side in network namespace NS
        e.g. --iface tun:mp0,addr=198.18.0.2/24,peer=198.18.0.1/24
  udp:ADDR[:PORT][,remote=ADDR:PORT]
        a UDP path (IP packets in UDP datagrams) bound to local ADDR[:PORT] ([V6]:PORT for IPv6), sending
        to remote (a client needs it; a server answers whoever talks to it first)
        e.g. --iface udp:127.0.0.1:7001,remote=127.0.0.1:7002 --iface udp:[::1]:7003,remote=[::1]:7004
  Not yet supported: the userspace stack's TUN/UDP interfaces arrive with its integration; without
  --iface, perf runs over the host's kernel TCP (node:net). Specs are checked now, then refused.

Exit status: 0 success, 1 the test failed (connection refused, server busy, peer error), 2 bad usage.
`;

/** The `perf` subcommand. */
export const perfCommand: Command = {
  name: 'perf',
  summary: 'iperf3-compatible throughput test: client (-c HOST) or server (-s)',
  usage: USAGE,
  run: (args, io) => runPerf(args, io),
};

const OPTIONS = {
  server: { type: 'boolean', short: 's' },
  client: { type: 'string', short: 'c' },
  port: { type: 'string', short: 'p' },
  time: { type: 'string', short: 't' },
  bytes: { type: 'string', short: 'n' },
  blockcount: { type: 'string', short: 'k' },
  reverse: { type: 'boolean', short: 'R' },
  interval: { type: 'string', short: 'i' },
  parallel: { type: 'string', short: 'P' },
  length: { type: 'string', short: 'l' },
  omit: { type: 'string', short: 'O' },
  'no-delay': { type: 'boolean', short: 'N' },
  title: { type: 'string', short: 'T' },
  bind: { type: 'string', short: 'B' },
  cport: { type: 'string' },
  version4: { type: 'boolean', short: '4' },
  version6: { type: 'boolean', short: '6' },
  'connect-timeout': { type: 'string' },
  'one-off': { type: 'boolean', short: '1' },
  json: { type: 'boolean' },
  iface: { type: 'string', multiple: true },
} as const;

const CLIENT_ONLY = ['time', 'bytes', 'blockcount', 'reverse', 'parallel', 'length', 'omit', 'no-delay', 'title', 'cport', 'version4', 'version6', 'connect-timeout'] as const;
const SERVER_ONLY = ['one-off'] as const;

function intOption(value: string | undefined, option: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new UsageError(`${option} must be an integer ${min}-${max}, got '${value}'`);
  return Number(value);
}

function sizeOption(value: string | undefined, option: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = parseSize(value);
  if (n === undefined) throw new UsageError(`${option} must be a number with an optional K/M/G/T suffix, got '${value}'`);
  if (n < min || n > max) throw new UsageError(`${option} must be ${min}-${max} bytes, got '${value}'`);
  return n;
}

/** Parses the `--iface` values (exported for tests); a bad one is a usage error. */
export function parseIfaceOptions(values: readonly string[]): IfaceSpec[] {
  return values.map((v) => {
    try {
      return parseIfaceSpec(v);
    } catch (err) {
      if (err instanceof IfaceSpecError) throw new UsageError(err.message);
      throw err;
    }
  });
}

/** Runs `mptcp perf` with its arguments (after "perf"); returns the exit code, throws CliError. */
export async function runPerf(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, OPTIONS);
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const str = (k: keyof typeof OPTIONS): string | undefined => values[k] as string | undefined;
  const isServer = values['server'] === true;
  const host = str('client');
  if (isServer && host !== undefined) throw new UsageError('choose one of -s (server) and -c HOST (client)');
  if (!isServer && host === undefined) throw new UsageError('missing -s (server) or -c HOST (client)');
  if (host === '') throw new UsageError('-c needs a host name or address');
  for (const k of isServer ? CLIENT_ONLY : SERVER_ONLY) {
    if (values[k] !== undefined) throw new UsageError(`--${k} is a ${isServer ? 'client' : 'server'} option`);
  }
  const ifaces = parseIfaceOptions((values['iface'] as unknown as string[] | undefined) ?? []);
  const port = intOption(str('port'), '--port', isServer ? 0 : 1, 65535) ?? DEFAULT_PORT;
  const intervalText = str('interval');
  let interval: number | undefined;
  if (intervalText !== undefined) {
    interval = Number(intervalText);
    if (!/^\d*\.?\d+$/.test(intervalText) || !(interval === 0 || (interval >= 0.1 && interval <= 60))) {
      throw new UsageError(`--interval must be 0 (no interval reports) or 0.1-60 seconds, got '${intervalText}'`);
    }
  }
  if (ifaces.length > 0) {
    throw new CliError(
      `--iface is not supported yet: the userspace stack's TUN/UDP interfaces arrive with the stack integration (issue 3); without --iface, perf runs over the host's kernel TCP (node:net)`,
      2,
    );
  }
  const json = values['json'] === true;
  const bind = str('bind');
  const version = `mptcp perf ${packageVersion()} (iperf3 protocol)`;

  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigint);
  try {
    if (isServer) {
      const options: PerfServerOptions = {
        port,
        oneOff: values['one-off'] === true,
        json,
        io,
        signal: controller.signal,
        version,
        ...(bind !== undefined ? { bind } : {}),
        ...(interval !== undefined ? { interval } : {}),
      };
      const server = await startPerfServer(options, nodeNetTransport).catch((err: unknown) => {
        throw err instanceof PerfError ? new CliError(err.message) : err;
      });
      await server.done;
      return 0;
    }
    const time = intOption(str('time'), '--time', 1, 86400);
    const bytes = sizeOption(str('bytes'), '--bytes', 1, Number.MAX_SAFE_INTEGER);
    const blocks = intOption(str('blockcount'), '--blockcount', 1, 2 ** 40);
    if ([time, bytes, blocks].filter((x) => x !== undefined).length > 1) throw new UsageError('only one test end condition (-t, -n, -k) may be given');
    if (values['version4'] === true && values['version6'] === true) throw new UsageError('choose one of -4 and -6');
    const parallel = intOption(str('parallel'), '--parallel', 1, MAX_STREAMS);
    const blockSize = sizeOption(str('length'), '--length', 1, MAX_BLOCKSIZE);
    const omit = intOption(str('omit'), '--omit', 0, 600);
    const cport = intOption(str('cport'), '--cport', 1, 65535);
    const connectTimeoutMs = intOption(str('connect-timeout'), '--connect-timeout', 1, 3_600_000);
    const title = str('title');
    const options: PerfClientOptions = {
      host: host!,
      port,
      reverse: values['reverse'] === true,
      noDelay: values['no-delay'] === true,
      json,
      io,
      signal: controller.signal,
      version,
      ...(time !== undefined ? { duration: time } : {}),
      ...(bytes !== undefined ? { bytes } : {}),
      ...(blocks !== undefined ? { blocks } : {}),
      ...(interval !== undefined ? { interval } : {}),
      ...(parallel !== undefined ? { parallel } : {}),
      ...(blockSize !== undefined ? { blockSize } : {}),
      ...(omit !== undefined ? { omit } : {}),
      ...(bind !== undefined ? { bind } : {}),
      ...(cport !== undefined ? { cport } : {}),
      ...(title !== undefined ? { title } : {}),
      ...(connectTimeoutMs !== undefined ? { connectTimeoutMs } : {}),
      ...(values['version4'] === true ? { family: 4 as const } : values['version6'] === true ? { family: 6 as const } : {}),
    };
    try {
      await runPerfClient(options, nodeNetTransport);
    } catch (err) {
      if (err instanceof PerfError) {
        throw new CliError(err.message === 'interrupted' ? 'interrupted - the client has terminated' : err.message);
      }
      throw err;
    }
    return 0;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}
