/**
 * `mptcp perf`: throughput tests, wire-compatible with iperf3 (TCP). `-c HOST` runs a client against an
 * iperf3 server (or `mptcp perf -s`), `-s` serves iperf3 clients. The work is in src/perf/ (the tests, and
 * the stacks: emulated.ts, interfaces.ts); this file and ./perf-options.ts parse the arguments, pick the
 * stack, report errors, and wire output and Ctrl-C.
 *
 * Three ways to run:
 * - `--iface SPEC...`: our userspace stack (a StackRuntime) on TUN devices it creates and/or UDP paths;
 * - `--kernel`: the host's kernel TCP through node:net;
 * - neither (client only): both ends on our stack, on a RealtimeEmulation in this process, joined by one
 *   emulated link per `--link` (one path each).
 * On our stack connections are MPTCP (RFC 8684) unless `--no-mptcp`; `--endpoint` / `--limits` configure
 * the path manager in `ip mptcp`'s words, and the reports add one line per subflow (a `subflows` array in
 * JSON). A peer without MPTCP gets plain TCP, and then the output is exactly the plain iperf3 output.
 */
import { lookup } from 'node:dns/promises';
import { closeSync, openSync, writeSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseIfaceSpec, IfaceSpecError, type IfaceSpec } from '../perf/iface.js';
import { PerfConfigError, PerfError, DEFAULT_PORT, MAX_BLOCKSIZE, MAX_STREAMS } from '../perf/iperf3-protocol.js';
import { emulatedGraceMs, emulatedPair, emulatorVerdict, type EmulatedPair } from '../perf/emulated.js';
import { openInterfaces, type InterfaceStack } from '../perf/interfaces.js';
import { describeLink } from '../perf/link.js';
import { describeCongestionControl, describeMptcp } from '../perf/mptcp-config.js';
import { runPerfClient, type PerfClientOptions } from '../perf/client.js';
import { startPerfServer, type PerfServer, type PerfServerOptions } from '../perf/server.js';
import { nodeNetTransport, type PerfTransport } from '../perf/transport.js';
import { formatBitrate, parseSize } from '../perf/units.js';
import { CliError, packageVersion, parseCommandArgs, UsageError, type CliIo, type Command } from './command.js';
import { parseCongestionControl, parseLinkSpec, parseMptcpOptions } from './perf-options.js';
import { congestionControlNames, DEFAULT_CONGESTION_CONTROL, isCoupledCongestionControl } from '../cc/registry.js';
import { DEFAULT_SCHEDULER, schedulerNames } from '../sched/registry.js';
import { linkSpecHelp } from '../emu/link-spec.js';
import { captureNetwork, captureRuntime } from '../api/capture.js';
import type { CaptureFile } from '../io/capture-file.js';
import { captureOptions, openCapture, openQlog } from './capture-options.js';
import { followMonitorEvents, sampleSubflows } from '../api/monitor.js';
import { formatMonitorLine } from '../mptcp/events.js';
import type { QlogFile } from '../io/qlog-file.js';
import type { HostSockets } from '../api/runtime.js';

const COUPLED_NAMES = congestionControlNames().filter(isCoupledCongestionControl).join(', ');

const USAGE = `Usage: mptcp perf -c HOST [--link SPEC...] [options]           client and server on the emulator
       mptcp perf -c HOST --iface SPEC [--iface SPEC...] [options] client on our stack over TUN/UDP
       mptcp perf -s --iface SPEC [--iface SPEC...] [options]      server on our stack over TUN/UDP
       mptcp perf (-c HOST | -s) --kernel [options]                the host kernel's TCP (node:net)

Throughput tests over TCP, speaking iperf3's protocol: the client works with an iperf3 server and the
server with iperf3 clients (iperf 3.x). Output is iperf3's: a report every interval, then the sender and
receiver totals of each stream (the receiver's as measured by the other side). On this project's stack
(the emulator, --iface) the connections are Multipath TCP (RFC 8684) by default: each interval line of a
stream is followed by one line per MPTCP subflow (its id, bytes and bitrate in this side's direction:
acknowledged by the peer when sending, received otherwise; retransmits and cwnd when sending, and its
addresses), and the JSON has a "subflows" array in each interval and in "end". Against a peer without MPTCP
(plain iperf3, a kernel without MPTCP) the connection falls back to TCP, a line after the stream's says so
with the kernel counter of the reason (MPCapableFallbackSYNACK...), and the rest is plain iperf3 output;
with --no-mptcp it is plain iperf3's.

Where it runs (the stack):
  (default)              client only: BOTH ends run in this process on this project's userspace stack,
                         on the emulator in real time: a client host (198.18.0.1/24, or 2001:2::1/64 when
                         HOST is IPv6) and a server host at HOST (an address, e.g. 198.18.0.2) running
                         our perf server, joined by one emulated link (--link). -s needs --iface or --kernel.
      --iface SPEC       this project's userspace stack on a TUN device or UDP path (repeatable: one
                         interface each, in order); see "Interfaces" below
      --kernel           the host kernel's TCP/IP through node:net (what iperf3 itself uses)
      --link SPEC        the emulated link (default only; repeatable: each --link is one more path
                         between the two hosts, see "MPTCP"), comma-separated KEY=VALUE fields (the
                         same words as 'mptcp emulate --path'):
${linkSpecHelp('                           ')}
                         e.g. --link rate=100M,delay=10ms,loss=1%,queue=500K
                              --link rate=10M,rate-down=2M,loss=ge:1%,30%,down=5-7

MPTCP (this project's stack only: the emulator and --iface):
      --no-mptcp         plain TCP: no MP_CAPABLE, no subflows (the output is exactly iperf3's)
      --endpoint "WORDS" a path-manager endpoint, in the words of 'ip mptcp endpoint add' (repeatable):
                           ADDRESS [id ID] [port PORT] [signal] [subflow] [backup] [fullmesh] [dev NAME]
                         ADDRESS must be one of our addresses (an --iface addr, or on the emulator a
                         client address). 'subflow': open a subflow from ADDRESS to the peer (MP_JOIN);
                         'signal': announce ADDRESS to the peer (ADD_ADDR), e.g. a server's second path;
                         'backup': subflows on it are backups; 'fullmesh': a subflow to every peer address.
                         e.g. --endpoint "198.18.2.2 subflow"
                              --endpoint "198.18.2.2 id 2 port 5300 signal backup"
      --limits "WORDS"   the path manager's limits, in the words of 'ip mptcp limits set':
                           [subflows N] [add_addr_accepted N]      (each 0-8; default: subflows 2,
                         add_addr_accepted 0, as Linux): additional subflows per connection, and peer
                         ADD_ADDRs answered with a join. e.g. --limits "subflows 2 add_addr_accepted 2"
      --scheduler NAME   the MPTCP packet scheduler (Linux's net.mptcp.scheduler): default (lowest
                         linger time, as Linux), ${schedulerNames().filter((n) => n !== DEFAULT_SCHEDULER).join(', ')}
  -C, --congestion NAME, --cc NAME
                         the congestion controller of our stack's connections, on every subflow
                         (Linux's net.ipv4.tcp_congestion_control; on the emulator both hosts): one of
                         ${congestionControlNames().join(', ')} (default ${DEFAULT_CONGESTION_CONTROL}); ${COUPLED_NAMES} are
                         coupled across the subflows of each MPTCP connection (RFC 6356, OLIA, BALIA)
  The client joins from its 'subflow' endpoints as soon as a connection is established (the control
  connection too, as Linux's path manager does); a server signals its 'signal' endpoints. With several
  --link on the emulator and no --endpoint, the client has one 'subflow' endpoint on each extra path (its
  addresses: 198.19.N.1/24 client, 198.19.N.2/24 server, or 2001:2:0:N::1/64 and ::2 for IPv6), and both
  hosts a 'subflows' limit of at least the number of extra paths. With --kernel, use mptcpize instead.

Common options:
  -p, --port PORT        server port (default ${DEFAULT_PORT})
  -i, --interval SEC     seconds between interval reports (default 1; 0: none)
  -B, --bind ADDR        local address: the server listens on it, the client connects from it (on the
                         emulator: the client host's address)
  -J, --json             one iperf3-like JSON document per test (start, intervals, end with sum_sent
                         and sum_received: bytes, bits_per_second, seconds, retransmits where known)
      --logfile FILE     append the output to FILE instead of standard output (as iperf3 does; an
                         error is also appended, and still printed on standard error)
  -u, --udp              refused, as iperf3 refuses what it does not implement: the tests are TCP
      --bidir            both directions at once: -P streams each way, reported per direction with
                         iperf3's [TX-C]/[RX-C] ([RX-S]/[TX-S] on the server) roles; not with -R
      --monitor          print our stack's MPTCP events as they happen, as 'ip mptcp monitor' prints
                         them (CREATED, ESTABLISHED, SF_ESTABLISHED, ANNOUNCED, SF_CLOSED, CLOSED...);
                         on the emulator each line starts with the host, 'client' or 'server'; with
                         --json they go to stderr
      --qlog FILE        a qlog event log of the run (JSON-SEQ: our hosts' MPTCP events with a path id
                         per subflow, and each subflow's RTT and cwnd every 100 ms)
      --pcap FILE        capture every packet of every interface of our stack to FILE as the run goes
                         (pcap, LINKTYPE_RAW: one file for all interfaces; --iface: what each interface
                         sent and received, wall-clock time; emulator: what each host's interfaces sent,
                         as offered to the links, so dropped packets are in it). Not with --kernel
                         (capture the kernel with tcpdump). Read it with mptcp decode, mptcp report,
                         tshark or Wireshark
      --pcap-snaplen N   bytes kept of each packet: 'headers' (IP and TCP headers with every option,
                         no payload; the default, about 100 bytes a segment) or 1-262144
  -h, --help             show this help

Server options:
  -s, --server           run as a server, one test at a time (other clients are told the server is busy)
  -1, --one-off          serve one test, then exit

Client options:
  -c, --client HOST      run a test against HOST (with --iface, a name is resolved by the host's resolver)
  -t, --time SEC         test length in seconds (default 10)
  -n, --bytes N          transfer N bytes instead (suffixes K, M, G, T: powers of 1024), in total
  -k, --blockcount N     transfer N blocks instead
  -R, --reverse          the server sends, the client receives
  -P, --parallel N       N parallel streams (1-${MAX_STREAMS}, default 1)
  -l, --length LEN       block size, bytes, suffixes allowed (default 128K, at most 1M)
  -O, --omit SEC         leave the first SEC seconds out of the statistics
  -b, --bitrate RATE     target bitrate of each stream, bits/s with K/M/G (powers of 1000), as iperf3's
                         -b: a block is written only while the stream's average is below it (0: unlimited)
  -w, --window SIZE      socket buffer of the data connections (send buffer and receive window), bytes
                         with K/M/G (powers of 1024), at most 512M, as iperf3's -w; our stack only
  -M, --set-mss MSS      largest TCP segment of the data connections (TCP_MAXSEG), at most 9216; our stack only
  -N, --no-delay         disable Nagle's algorithm on the data connections
  -T, --title TEXT       title sent to the server
      --cport PORT       local port of the data connections (stream i uses PORT + i)
  -4, --version4         resolve HOST to IPv4 only
  -6, --version6         resolve HOST to IPv6 only
      --connect-timeout MS   give up connecting after MS milliseconds

Interfaces (--iface SPEC; IPv4 and IPv6 alike):
  tun:NAME,addr=ADDR/PREFIX,peer=ADDR/PREFIX[,netns=NS][,mtu=N]
        creates TUN device NAME (needs root/CAP_NET_ADMIN), moves it into the existing network namespace
        NS if given, puts 'peer' on the kernel's side of it (IPv6: nodad), sets txqueuelen 10000 and
        brings it up; the stack gets 'addr'. The device is deleted when perf exits (however it ends).
        e.g. --iface tun:mp0,addr=198.18.0.2/24,peer=198.18.0.1/24,netns=srv
             --iface tun:mp6,addr=2001:2::2/64,peer=2001:2::1/64
  udp:ADDR[:PORT][,remote=ADDR:PORT][,addr=ADDR/PREFIX][,mtu=N]
        a UDP path: IP packets of the stack, one per datagram, from local ADDR[:PORT] ([V6]:PORT for
        IPv6; no port: any free one) to 'remote' (a client needs it; a server answers whoever talks to
        it). The stack's own (inner) address on the path is 'addr', by default the local ADDR itself as
        /32 (/128): then HOST is the server's outer address, reached through the path whose remote it is.
        mtu: largest inner packet (default 1472, IPv6 1452).
        e.g. server: mptcp perf -s --iface udp:127.0.0.2:6000
             client: mptcp perf -c 127.0.0.2 --iface udp:127.0.0.1,remote=127.0.0.2:6000
  Routes: each address's prefix is on its interface; a udp path with 'remote' also routes the remote's
  address; a client also routes everything else through its first interface of each address family.
  Several interfaces are several paths for MPTCP: a subflow leaves through the interface owning its
  local address. Two TUN paths into one namespace, our client joining from its second address:
    mptcp perf -c 198.18.1.1 --iface tun:mp1,addr=198.18.1.2/24,peer=198.18.1.1/24,netns=srv \\
      --iface tun:mp2,addr=198.18.2.2/24,peer=198.18.2.1/24,netns=srv --endpoint "198.18.2.2 subflow"

Examples:
  mptcp perf -c 198.18.0.2 -n 100M --link rate=100M,delay=10ms      emulated both ends, 100 MB
  mptcp perf -c 2001:2::2 -R -t 5                                     emulated, IPv6, server sends
  mptcp perf -c 198.18.0.1 --iface tun:mp0,addr=198.18.0.2/24,peer=198.18.0.1/24,netns=srv
                                       our client against iperf3 -s -B 198.18.0.1 running in netns srv
  mptcp perf -s -1 --iface tun:mp0,addr=198.18.0.2/24,peer=198.18.0.1/24
                                       our server; then: iperf3 -c 198.18.0.2
  mptcp perf -s --kernel               a plain iperf3-compatible server on the kernel's TCP
  mptcp perf -c 198.18.0.2 --link rate=50M,delay=5ms --link rate=20M,delay=20ms --json
                                       emulated, MPTCP over two paths: a subflow on each
  mptcp perf -c 198.18.0.2 --link rate=8M,delay=10ms,loss=2%,queue=15K \\
      --link rate=2M,delay=75ms,loss=1%,queue=96K --cc lia -t 60
                                       Wi-Fi + 3G, coupled congestion control (RFC 6356 LIA)
  mptcp perf -s -1 --iface tun:mp1,addr=198.18.1.2/24,peer=198.18.1.1/24,netns=srv \\
      --iface tun:mp2,addr=198.18.2.2/24,peer=198.18.2.1/24,netns=srv --endpoint "198.18.2.2 signal"
                                       our server announcing its second address; then, in netns srv:
                                       ip mptcp limits set subflows 2 add_addr_accepted 1
                                       mptcpize run iperf3 -c 198.18.1.2

Exit status: 0 success, 1 the test failed (connection refused, server busy, peer error, no TUN device),
2 bad usage.
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
  bitrate: { type: 'string', short: 'b' },
  window: { type: 'string', short: 'w' },
  'set-mss': { type: 'string', short: 'M' },
  title: { type: 'string', short: 'T' },
  bind: { type: 'string', short: 'B' },
  cport: { type: 'string' },
  version4: { type: 'boolean', short: '4' },
  version6: { type: 'boolean', short: '6' },
  'connect-timeout': { type: 'string' },
  'one-off': { type: 'boolean', short: '1' },
  json: { type: 'boolean', short: 'J' },
  logfile: { type: 'string' },
  udp: { type: 'boolean', short: 'u' },
  bidir: { type: 'boolean' },
  iface: { type: 'string', multiple: true },
  kernel: { type: 'boolean' },
  link: { type: 'string', multiple: true },
  'no-mptcp': { type: 'boolean' },
  endpoint: { type: 'string', multiple: true },
  limits: { type: 'string' },
  scheduler: { type: 'string' },
  monitor: { type: 'boolean' },
  pcap: { type: 'string' },
  'pcap-snaplen': { type: 'string' },
  qlog: { type: 'string' },
  congestion: { type: 'string', short: 'C' },
  cc: { type: 'string' },
} as const;

const CLIENT_ONLY = ['time', 'bytes', 'blockcount', 'reverse', 'parallel', 'length', 'omit', 'no-delay', 'bitrate', 'window', 'set-mss', 'title', 'cport', 'version4', 'version6', 'connect-timeout', 'bidir'] as const;
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

/** `-b RATE`: bits per second with an optional K/M/G/T suffix in powers of 1000, as iperf3's unit_atof_rate. */
function bitrateOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (value.includes('/')) throw new UsageError(`--bitrate '${value}': a burst (/N) is not supported; give the rate alone, e.g. -b 10M`);
  const m = /^(\d+(?:\.\d+)?|\.\d+)([kmgtKMGT]?)$/.exec(value.trim());
  const rate = m ? Number(m[1]) * ({ '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12 } as Record<string, number>)[m[2]!.toLowerCase()]! : NaN;
  if (!Number.isFinite(rate)) throw new UsageError(`--bitrate must be bits per second with an optional K/M/G suffix (powers of 1000), e.g. -b 10M, got '${value}'`);
  return Math.round(rate);
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

/** A set-up failure of src/perf as the command reports it: bad usage (exit 2) or a failure (exit 1). */
function setupError(err: unknown): unknown {
  if (err instanceof PerfConfigError) return new UsageError(err.message);
  if (err instanceof PerfError) return new CliError(err.message);
  return err;
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Runs `mptcp perf` with its arguments (after "perf"); returns the exit code, throws CliError. */
export async function runPerf(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, OPTIONS);
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  if (values['udp'] === true) {
    // iperf3's words for an option it does not implement (IEUNIMP), then what this one does.
    throw new UsageError('parameter error - an option you are trying to set is not implemented yet (-u, --udp: mptcp perf runs TCP and MPTCP tests only)');
  }
  if (values['bidir'] === true) {
    if (values['reverse'] === true) throw new UsageError('parameter error - cannot be both reverse and bidirectional');
  }
  const logfile = values['logfile'] as string | undefined;
  if (logfile === undefined) return runPerfTest(values, io);
  if (logfile === '') throw new UsageError('--logfile needs a file name');
  const toFile = logfileIo(logfile);
  try {
    return await runPerfTest(values, toFile);
  } catch (err) {
    if (err instanceof CliError) toFile.stdout(`mptcp perf: ${err.message}\n`);
    throw err;
  } finally {
    toFile.close();
  }
}

/** Output appended to `path` (iperf3 --logfile opens it "a+"); a file that cannot be opened is a CliError. */
function logfileIo(path: string): CliIo & { close(): void } {
  let fd: number;
  try {
    fd = openSync(path, 'a');
  } catch (err) {
    throw new CliError(`unable to open log file '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const write = (text: string): void => {
    writeSync(fd, text);
  };
  return { stdout: write, stderr: write, close: () => closeSync(fd) };
}

async function runPerfTest(values: Record<string, string | boolean | undefined>, io: CliIo): Promise<number> {
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
  const kernel = values['kernel'] === true;
  const linkTexts = (values['link'] as unknown as string[] | undefined) ?? [];
  if (kernel && ifaces.length > 0) throw new UsageError('choose one of --kernel (the host kernel\'s TCP) and --iface (our stack on TUN/UDP)');
  if (linkTexts.length > 0 && (kernel || ifaces.length > 0)) {
    throw new UsageError('--link configures the emulated link: it goes without --iface and --kernel');
  }
  const endpointTexts = (values['endpoint'] as unknown as string[] | undefined) ?? [];
  const limitsText = str('limits');
  if (kernel && (endpointTexts.length > 0 || limitsText !== undefined)) {
    throw new UsageError('--endpoint and --limits configure MPTCP on our stack; with --kernel (node:net, plain TCP) run perf under mptcpize and configure the kernel with ip mptcp');
  }
  const schedulerText = str('scheduler');
  if (kernel && schedulerText !== undefined) throw new UsageError('--scheduler chooses our stack\'s MPTCP scheduler; with --kernel set net.mptcp.scheduler instead');
  const mptcp = parseMptcpOptions({ noMptcp: values['no-mptcp'] === true || kernel, endpoints: endpointTexts, limits: limitsText, scheduler: schedulerText });
  const congestionControl = parseCongestionControl(str('cc'), str('congestion'));
  if (kernel && congestionControl !== undefined) {
    throw new UsageError('-C/--congestion/--cc chooses our stack\'s congestion control; with --kernel set net.ipv4.tcp_congestion_control instead');
  }
  if (linkTexts.length > 1 && !mptcp.enabled) throw new UsageError('several --link are several paths, which need MPTCP: drop --no-mptcp or give one --link');
  if (linkTexts.length > 8) throw new UsageError('at most 8 --link (paths)');
  if (isServer && !kernel && ifaces.length === 0) {
    throw new UsageError(
      '-s needs --iface SPEC (our stack on a TUN device or UDP path) or --kernel (the host kernel\'s TCP); without either, the client (-c) runs both ends on the emulator',
    );
  }
  const links = !kernel && ifaces.length === 0 ? (linkTexts.length > 0 ? linkTexts : [undefined]).map((t) => parseLinkSpec(t)) : undefined;
  const link = links?.[0];
  const port = intOption(str('port'), '--port', isServer ? 0 : 1, 65535) ?? DEFAULT_PORT;
  const intervalText = str('interval');
  let interval: number | undefined;
  if (intervalText !== undefined) {
    interval = Number(intervalText);
    if (!/^\d*\.?\d+$/.test(intervalText) || !(interval === 0 || (interval >= 0.1 && interval <= 60))) {
      throw new UsageError(`--interval must be 0 (no interval reports) or 0.1-60 seconds, got '${intervalText}'`);
    }
  }
  const json = values['json'] === true;
  const monitor = values['monitor'] === true;
  if (monitor && kernel) throw new UsageError('--monitor shows our stack\'s MPTCP events; with --kernel run ip mptcp monitor');
  if (kernel && str('qlog') !== undefined) throw new UsageError("--qlog logs our stack's MPTCP events; with --kernel use ip mptcp monitor");
  const qlogPath = str('qlog');
  const started = Date.now();
  let qlogFile: QlogFile | undefined;
  // --monitor prints, --qlog logs, the events of one host (named on the emulator, where both hosts are ours).
  const follow = (sockets: HostSockets, host: string, prefix: string): void => {
    if (monitor) followMonitorEvents(sockets, (event) => (json ? io.stderr : io.stdout)(`${prefix}${formatMonitorLine(event)}\n`));
    if (qlogFile) {
      const log = qlogFile.log;
      followMonitorEvents(sockets, (event) => log.monitorEvent((Date.now() - started) * 1000, host, event));
      stopSampling.push(sampleSubflows(sockets, 100, (token, sf) => log.metrics((Date.now() - started) * 1000, host, token, sf.id, { rttMicros: sf.tcp.srttMicros, cwndBytes: sf.tcp.cwndBytes })));
    }
  };
  const stopSampling: (() => void)[] = [];
  const capture = captureOptions(str('pcap'), str('pcap-snaplen'), kernel ? "--pcap captures our stack's interfaces; with --kernel capture with tcpdump" : undefined);
  const bind = str('bind');
  const version = `mptcp perf ${packageVersion()} (iperf3 protocol)`;

  // Client options are checked before anything is created (TUN devices, sockets).
  let clientOptions: Omit<PerfClientOptions, 'signal'> | undefined;
  if (!isServer) {
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
    const bitrate = bitrateOption(str('bitrate'));
    // iperf3's limits and words (MAX_TCP_BUFFER, MAX_MSS); node:net can set neither option.
    const windowBytes = str('window') === undefined ? undefined : parseSize(str('window')!);
    if (str('window') !== undefined && (windowBytes === undefined || windowBytes < 1)) throw new UsageError(`--window must be a size in bytes with an optional K/M/G suffix, got '${str('window')}'`);
    if (windowBytes !== undefined && windowBytes > 536_870_912) throw new UsageError('parameter error - socket buffer size too large (maximum = 536870912 bytes)');
    const mss = intOption(str('set-mss'), '--set-mss', 1, Number.MAX_SAFE_INTEGER);
    if (mss !== undefined && mss > 9216) throw new UsageError('parameter error - TCP MSS too large (maximum = 9216 bytes)');
    if (mss !== undefined && mss < 88) throw new UsageError(`--set-mss ${mss}: at least 88 bytes (Linux's TCP_MAXSEG minimum)`);
    if (kernel && (windowBytes !== undefined || mss !== undefined)) {
      throw new UsageError('-w and -M set socket options that node:net cannot (SO_SNDBUF/SO_RCVBUF, TCP_MAXSEG): they work on our stack (the emulator or --iface), not with --kernel');
    }
    const family = values['version4'] === true ? 4 : values['version6'] === true ? 6 : undefined;
    if (link && family !== undefined && isIP(host!) !== 0 && isIP(host!) !== family) throw new UsageError(`-${family} but HOST ${host} is an IPv${isIP(host!)} address`);
    clientOptions = {
      host: host!,
      port,
      reverse: values['reverse'] === true,
      ...(values['bidir'] === true ? { bidir: true } : {}),
      noDelay: values['no-delay'] === true,
      json,
      io,
      version,
      ...(time !== undefined ? { duration: time } : {}),
      ...(bytes !== undefined ? { bytes } : {}),
      ...(blocks !== undefined ? { blocks } : {}),
      ...(interval !== undefined ? { interval } : {}),
      ...(parallel !== undefined ? { parallel } : {}),
      ...(blockSize !== undefined ? { blockSize } : {}),
      ...(omit !== undefined ? { omit } : {}),
      ...(bind !== undefined && !link ? { bind } : {}),
      ...(cport !== undefined ? { cport } : {}),
      ...(title !== undefined ? { title } : {}),
      ...(congestionControl !== undefined ? { congestion: congestionControl } : {}),
      ...(bitrate !== undefined && bitrate > 0 ? { bitrate } : {}),
      ...(windowBytes !== undefined ? { windowBytes } : {}),
      ...(mss !== undefined ? { mss } : {}),
      ...(connectTimeoutMs !== undefined ? { connectTimeoutMs } : {}),
      ...(family !== undefined ? { family } : {}),
    };
  }

  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let stack: InterfaceStack | undefined;
  let emulated: EmulatedPair | undefined;
  let emulatedServer: PerfServer | undefined;
  let captureFile: CaptureFile | undefined;
  let stopCapture: (() => void) | undefined;
  const serverDone = deferred();
  try {
    let transport: PerfTransport = nodeNetTransport;
    if (ifaces.length > 0) {
      stack = await openInterfaces(ifaces, { defaultRoutes: !isServer, mptcp, congestionControl }).catch((err: unknown) => {
        throw setupError(err);
      });
      transport = stack.transport;
      qlogFile = openQlog(qlogPath, { title: 'mptcp perf', vantagePoint: isServer ? 'server' : 'client' });
      follow(stack.runtime, isServer ? 'server' : 'client', '');
      if (capture) {
        captureFile = openCapture(capture);
        stopCapture = captureRuntime(stack.runtime, captureFile);
      }
      if (!json) io.stdout(`${stack.descriptions.join('\n')}\n`);
      if (controller.signal.aborted) throw new CliError('interrupted');
    }
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
      const server = await startPerfServer(options, transport).catch((err: unknown) => {
        throw err instanceof PerfError ? new CliError(err.message) : err;
      });
      await server.done;
      await stack?.settle(1000);
      return 0;
    }
    let options: PerfClientOptions = { ...clientOptions!, signal: controller.signal };
    if (link) {
      try {
        emulated = emulatedPair(host!, bind, links!, mptcp, congestionControl);
      } catch (err) {
        throw setupError(err);
      }
      transport = emulated.client;
      // On a slow link a control message can wait behind seconds of queued data: wait as long for it.
      options = { ...options, controlTimeoutMs: Math.max(options.controlTimeoutMs ?? 30_000, emulatedGraceMs(links!)) };
      qlogFile = openQlog(qlogPath, { title: 'mptcp perf (emulated)' });
      follow(emulated.clientHost, 'client', 'client ');
      follow(emulated.serverHost, 'server', 'server ');
      if (capture) {
        captureFile = openCapture(capture);
        const emulation = emulated.emulation;
        stopCapture = captureNetwork(emulation.network, captureFile, { epochMicros: Date.now() * 1000 - emulation.now() });
      }
      emulatedServer = await startPerfServer({ port, interval: 0, version, graceMs: emulatedGraceMs(links!), setupTimeoutMs: emulatedGraceMs(links!), onTest: () => serverDone.resolve() }, emulated.server).catch((err: unknown) => {
        throw err instanceof PerfError ? new CliError(`emulated server: ${err.message}`) : err;
      });
      if (!json) {
        if (emulated.descriptions.length === 1) io.stdout(`Emulated: client ${emulated.clientAddress} and server ${emulated.serverAddress} in this process; link ${describeLink(link)}\n`);
        else io.stdout(`Emulated: client and server in this process, ${emulated.descriptions.length} paths:\n${emulated.descriptions.map((d) => `  ${d}\n`).join('')}`);
        if (mptcp.enabled) io.stdout(`${describeMptcp(emulated.clientHost, mptcp)}\n`);
        if (congestionControl !== undefined) io.stdout(`${describeCongestionControl(congestionControl)}\n`);
      }
    } else if (stack && isIP(host!) === 0) {
      // Our stack does not resolve names: the host's resolver does.
      try {
        const found = await lookup(host!, clientOptions!.family !== undefined ? { family: clientOptions!.family } : {});
        options = { ...options, host: found.address };
      } catch {
        throw new CliError(`cannot resolve ${host}`);
      }
    }
    // On the emulator, say when the emulator (this process's CPU), not the link, set the rate. With --json
    // the verdict joins the document, which is held back until then.
    const heldJson: string[] = [];
    if (link && json) options = { ...options, io: { stdout: (t) => void heldJson.push(t), stderr: (t) => io.stderr(t) } };
    const lagBefore = emulated?.lagMicros() ?? 0;
    const dropsBefore = emulated?.queueDrops() ?? 0;
    const startedAt = performance.now();
    try {
      const result = await runPerfClient(options, transport);
      if (link && emulated) {
        const wallMicros = Math.max(1, (performance.now() - startedAt) * 1000);
        const cpu = Number((result.json['end'] as { cpu_utilization_percent?: { host_total?: number } }).cpu_utilization_percent?.host_total ?? 0);
        const judged = emulatorVerdict(links!, mptcp.enabled, {
          measuredBitsPerSecond: result.sumReceived.bitsPerSecond,
          seconds: result.sumSent.seconds,
          cpuPercent: cpu,
          lagFraction: (emulated.lagMicros() - lagBefore) / wallMicros,
          queueDrops: emulated.queueDrops() - dropsBefore,
        });
        // With -b (paced) or -w (window-limited) the test is held below the links on purpose: nothing to blame.
        const verdict = clientOptions!.bitrate !== undefined || clientOptions!.windowBytes !== undefined ? { ...judged, keptUp: true } : judged;
        if (json) {
          const doc = JSON.parse(heldJson.join('')) as Record<string, unknown>;
          heldJson.length = 0;
          doc['emulator'] = {
            kept_up: verdict.keptUp,
            configured_bits_per_second: verdict.configuredBitsPerSecond,
            measured_bits_per_second: verdict.measuredBitsPerSecond,
            cpu_percent: verdict.cpuPercent,
            lag_percent: verdict.lagPercent,
            queue_drops: verdict.queueDrops,
          };
          io.stdout(`${JSON.stringify(doc, null, 2)}\n`);
        } else if (!verdict.keptUp) {
          io.stdout(
            `Warning: the emulator could not keep up with the configured rate: the ${links!.length > 1 && mptcp.enabled ? 'paths carry' : 'link carries'} ` +
              `${formatBitrate(verdict.configuredBitsPerSecond).trim()}, this test got ${formatBitrate(verdict.measuredBitsPerSecond).trim()} while no queue ever filled ` +
              `(emulation lag ${verdict.lagPercent.toFixed(0)}% of the test, this process busy ${verdict.cpuPercent.toFixed(0)}%; both ends and the links run in it): ` +
              'the result measures this process, not the link\n',
          );
        }
      }
    } catch (err) {
      for (const t of heldJson) io.stdout(t);
      if (err instanceof PerfError) {
        throw new CliError(err.message === 'interrupted' ? 'interrupted - the client has terminated' : err.message);
      }
      if (err instanceof Error && /ENETUNREACH|no route to/.test(err.message)) throw new CliError(`unable to connect to server ${host}: ${err.message}`);
      throw err;
    }
    await stack?.settle(1000);
    // The emulated server finishes once the client's IPERF_DONE reaches it over the emulated link.
    if (emulatedServer) await Promise.race([serverDone.promise, sleep(2000)]);
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await emulatedServer?.close().catch(() => undefined);
    emulated?.close();
    await stack?.close();
    stopCapture?.();
    captureFile?.close();
    for (const stop of stopSampling) stop();
    qlogFile?.close();
    for (const e of [captureFile?.error, qlogFile?.error]) if (e) io.stderr(`mptcp perf: ${e}\n`);
  }
}
