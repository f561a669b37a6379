/**
 * `mptcp emulate`: emulated links between two kernels in two existing network namespaces (issue 10). The
 * words are parsed here (paths with the shared link grammar, src/emu/link-spec.ts, the same as `perf
 * --link`); the engine is src/io/emulate.ts.
 */
import { describeLinkSpec, linkSpecHelp, LinkSpecError } from '../emu/link-spec.js';
import { EmulateError, KernelLinkEmulator, parsePathSpec, type DirectionCounts, type EmulatePath } from '../io/emulate.js';
import { CliError, parseCommandArgs, UsageError, type CliIo, type Command } from './command.js';
import { CAPTURE_OPTIONS, captureOptions } from './capture-options.js';

const USAGE = `Usage: mptcp emulate --left NS1 --right NS2 --path SPEC [--path SPEC ...] [options]

Emulated links between the kernels of two existing network namespaces (a netem replacement): for each
--path, one TUN device in each namespace (this process keeps them), with the path's addresses, up; every
IP packet one side sends crosses the path's emulated link of its direction (the emulator of 'mptcp demo'
and 'mptcp perf', paced by the wall clock) to the other side. It prints 'ready' on a line of its own once
every device is up, runs until SIGINT/SIGTERM or --duration, then prints each path's packet and drop
counts. Its devices go away however it ends. Needs root.

Options:
      --left NS          the left network namespace (ip netns add NS)
      --right NS         the right one
      --path SPEC        LEFT_CIDR,RIGHT_CIDR[,KEY=VALUE...] (repeatable: one path each), e.g.
                           198.18.1.1/24,198.18.1.2/24,rate=10M,delay=20ms,loss=1%
                         the words of 'mptcp perf --link' (up = left to right, down = back):
${linkSpecHelp('                           ')}
      --duration SEC     stop after SEC seconds (default: run until SIGINT or SIGTERM)
      --pcap FILE        write what crossed every path (both directions, as delivered) to FILE as it
                         goes (pcap, LINKTYPE_RAW: Wireshark, tshark, mptcp decode, mptcp report)
      --pcap-snaplen N   bytes kept of each packet: 'headers' (IP and TCP headers with every option,
                         no payload; the default, as every command's --pcap) or 1-262144
      --seed N           seed of the links' randomness (loss, jitter, reordering; default 1)
  -h, --help             show this help

Devices are named em<pid>l<N> (left) and em<pid>r<N> (right) for path N (from 0).

Example: kernel <-> kernel MPTCP over two emulated paths (see README, "mptcp emulate")
  ip netns add a; ip netns add b
  mptcp emulate --left a --right b --path 198.18.1.1/24,198.18.1.2/24,rate=10M,delay=20ms \\
                                   --path 198.18.2.1/24,198.18.2.2/24,rate=5M,delay=40ms &
  ip -n a mptcp endpoint add 198.18.2.1 dev em<pid>l1 subflow; ip -n a mptcp limits set subflows 2
  ip -n b mptcp limits set subflows 2
  ip netns exec b mptcpize run iperf3 -s -1 &  ip netns exec a mptcpize run iperf3 -c 198.18.1.2
`;

const OPTIONS = {
  left: { type: 'string' },
  right: { type: 'string' },
  path: { type: 'string', multiple: true },
  duration: { type: 'string' },
  pcap: CAPTURE_OPTIONS.pcap,
  'pcap-snaplen': CAPTURE_OPTIONS['pcap-snaplen'],
  seed: { type: 'string' },
} as const;

function countsText(d: DirectionCounts): string {
  const drops = Object.entries(d.dropped).filter(([, n]) => n > 0);
  const total = drops.reduce((a, [, n]) => a + n, 0);
  return `${d.packets} packets (${d.bytes} bytes), ${d.delivered} delivered, ${total} dropped${drops.length > 0 ? ` (${drops.map(([c, n]) => `${c} ${n}`).join(', ')})` : ''}${d.inFlight > 0 ? `, ${d.inFlight} in flight` : ''}`;
}

async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, OPTIONS);
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const left = values['left'] as string | undefined;
  const right = values['right'] as string | undefined;
  if (left === undefined || right === undefined) throw new UsageError('--left NS and --right NS are required (two existing network namespaces)');
  const texts = (values['path'] as unknown as string[] | undefined) ?? [];
  if (texts.length === 0) throw new UsageError('at least one --path LEFT_CIDR,RIGHT_CIDR[,KEY=VALUE...] is required');
  if (texts.length > 16) throw new UsageError('at most 16 --path');
  const paths: EmulatePath[] = texts.map((text) => {
    const p = parsePathSpec(text);
    if (p instanceof LinkSpecError) throw new UsageError(`bad --path '${text}': ${p.message}`);
    return p;
  });
  let durationMs: number | undefined;
  if (values['duration'] !== undefined) {
    const d = Number(values['duration']);
    if (!(d > 0 && d <= 86400 * 365)) throw new UsageError(`--duration ${values['duration']}: expected seconds, more than 0`);
    durationMs = d * 1000;
  }
  let seed = 1;
  if (values['seed'] !== undefined) {
    seed = Number(values['seed']);
    if (!Number.isSafeInteger(seed)) throw new UsageError(`--seed ${values['seed']}: expected an integer`);
  }
  const capture = captureOptions(values['pcap'] as string | undefined, values['pcap-snaplen'] as string | undefined);
  let emu: KernelLinkEmulator;
  try {
    emu = KernelLinkEmulator.start({ left, right, paths, seed, ...(capture ? { pcapFile: capture.path, pcapSnapLength: capture.snapLength } : {}) });
  } catch (err) {
    if (err instanceof EmulateError) throw new CliError(err.message);
    throw err;
  }
  const onExit = (): void => emu.close();
  process.on('exit', onExit);
  // Installed until the counts are printed: a second signal during shutdown (timeout(1) forwarding one, a
  // second Ctrl-C) must not kill the process before it reports.
  let stop: ((why: string) => void) | undefined;
  let stopReason: string | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    stopReason ??= signal;
    stop?.(stopReason);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  try {
    emu.devices.forEach(([l, r], i) => {
      const p = paths[i]!;
      io.stdout(`path ${i}: ${left} ${l} ${p.leftCidr} <-> ${right} ${r} ${p.rightCidr}: ${describeLinkSpec(p.link)}\n`);
    });
    io.stdout('ready\n');
    const reason = await new Promise<string>((resolve) => {
      const timer = durationMs !== undefined ? setTimeout(() => stop!(`${durationMs! / 1000} s`), durationMs) : undefined;
      stop = (why: string): void => {
        if (timer) clearTimeout(timer);
        resolve(why);
      };
      if (stopReason !== undefined) stop(stopReason);
    });
    const counts = emu.counts();
    const late = emu.lateness();
    emu.close();
    io.stdout(`stopped (${reason})\n`);
    io.stdout(`timing: ${late.wakeups} wake-ups with a packet due, late by ${(late.meanMicros / 1000).toFixed(3)} ms on average, ${(late.maxMicros / 1000).toFixed(3)} ms at most\n`);
    for (const [i, c] of counts.entries()) {
      io.stdout(`path ${i} ${c.path.leftCidr} <-> ${c.path.rightCidr}: up ${countsText(c.up)}; down ${countsText(c.down)}\n`);
    }
    return 0;
  } finally {
    emu.close();
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
  }
}

/** The `mptcp emulate` command. */
export const emulateCommand: Command = {
  name: 'emulate',
  summary: 'emulated links (rate, delay, loss, outages, traces) between two network namespaces\' kernels',
  usage: USAGE,
  run,
};
