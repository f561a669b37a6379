/**
 * The `mptcp` command line: subcommand dispatch, `--help`/`help`, `--version`, and the error conventions
 * every subcommand follows:
 *
 * - exit 0: success; exit 1: the command failed (bad input file, I/O error, ...); exit 2: bad usage
 *   (unknown subcommand or option, missing argument);
 * - an error is ONE line on stderr, `mptcp <command>: <what went wrong>`, never a stack trace.
 *
 * To add a subcommand (`perf`, `demo`, ...): write `src/cli/<name>.ts` exporting a `Command` (./command.ts), and add
 * one entry to `COMMANDS` below. Commands are loaded on demand so that `mptcp decode` does not load the stack.
 */
import { CliError, oneLine, packageVersion, UsageError, type CliIo, type Command } from './command.js';

/** The registry: name, one-line summary, and how to load the command. */
const COMMANDS: ReadonlyArray<{ readonly name: string; readonly summary: string; readonly load: () => Promise<Command> }> = [
  {
    name: 'decode',
    summary: 'decode a pcap/pcapng capture: every TCP segment and MPTCP option, or a per-connection summary',
    load: async () => (await import('./decode.js')).decodeCommand,
  },
  { name: 'perf', summary: 'iperf3-compatible throughput test: client (-c HOST) or server (-s)', load: async () => (await import('./perf.js')).perfCommand },
  { name: 'demo', summary: 'a multipath transfer on the emulator: two paths, one fails and comes back, data verified', load: async () => (await import('./demo.js')).demoCommand },
  { name: 'report', summary: "one self-contained HTML page of plots per MPTCP connection from captures and runs' --json", load: async () => (await import('./report.js')).reportCommand },
  { name: 'emulate', summary: "emulated links (rate, delay, loss, outages, traces) between two network namespaces' kernels", load: async () => (await import('./emulate.js')).emulateCommand },
  { name: 'proxy', summary: 'SOCKS 5 / HTTP proxy and port forwarding over MPTCP: client (local apps) and server (to destinations)', load: async () => (await import('./proxy.js')).proxyCommand },
];

function mainUsage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const list = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n');
  return `Usage: mptcp <command> [arguments]

A userspace Multipath TCP (RFC 8684) stack and its tools.

Commands:
${list}

Options:
  -h, --help     show this help (or: mptcp help <command>)
  -V, --version  print the version

Exit status: 0 success, 1 the command failed, 2 bad usage.
`;
}

/** Runs the command line `argv` (without `node` and the script); returns the exit code. Never throws. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let commandName = 'mptcp';
  try {
    const [first, ...rest] = argv;
    if (first === undefined) {
      io.stderr(mainUsage());
      return 2;
    }
    if (first === '-h' || first === '--help') {
      io.stdout(mainUsage());
      return 0;
    }
    if (first === '-V' || first === '--version' || first === 'version') {
      io.stdout(`mptcp ${packageVersion()}\n`);
      return 0;
    }
    if (first === 'help') {
      if (rest.length === 0) {
        io.stdout(mainUsage());
        return 0;
      }
      const entry = COMMANDS.find((c) => c.name === rest[0]);
      if (!entry) throw new UsageError(`help: unknown command '${rest[0]}'`);
      io.stdout((await entry.load()).usage);
      return 0;
    }
    if (first.startsWith('-')) throw new UsageError(`unknown option '${first}' (commands come first: mptcp <command> ...)`);
    const entry = COMMANDS.find((c) => c.name === first);
    if (!entry) {
      throw new UsageError(`unknown command '${first}'; commands: ${COMMANDS.map((c) => c.name).join(', ')}`);
    }
    commandName = `mptcp ${entry.name}`;
    const command = await entry.load();
    if (rest.includes('-h') || rest.includes('--help')) {
      io.stdout(command.usage);
      return 0;
    }
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`${commandName}: ${err.message}\nTry '${commandName} --help' for more information.\n`);
      return err.exitCode;
    }
    if (err instanceof CliError) {
      io.stderr(`${commandName}: ${err.message}\n`);
      return err.exitCode;
    }
    // A bug: still one line, no stack trace (set MPTCP_DEBUG=1 to see it).
    const message = err instanceof Error ? err.message : String(err);
    io.stderr(`${commandName}: internal error: ${oneLine(message)}\n`);
    if (process.env['MPTCP_DEBUG'] && err instanceof Error && err.stack) io.stderr(`${err.stack}\n`);
    return 70;
  }
}

/** The process's stdio as a `CliIo`; a closed pipe on stdout (`mptcp decode f | head`) ends quietly. */
export function processIo(): CliIo {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    process.stderr.write(`mptcp: cannot write output: ${err.message}\n`);
    process.exit(1);
  });
  return {
    stdout: (text) => {
      process.stdout.write(text);
    },
    stderr: (text) => {
      process.stderr.write(text);
    },
  };
}
