/**
 * What every `mptcp` subcommand shares: where it writes (`CliIo`), its shape (`Command`), its two kinds of
 * failure (`CliError`, exit 1; `UsageError`, exit 2), option parsing that reports bad arguments the same way
 * everywhere (`parseCommandArgs`), and the package version.
 *
 * This file imports nothing else of cli/: the commands import it, and so does the registry in ./cli.ts
 * that loads the commands, so neither depends on the other.
 */
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Where a command writes: plain text sinks, so tests can run commands in-process. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

/** A subcommand. `run` returns the exit code; it reports failures by throwing `CliError`/`UsageError`. */
export interface Command {
  readonly name: string;
  /** One line for the command list in `mptcp --help`. */
  readonly summary: string;
  /** The full help text (`mptcp help <name>`, `mptcp <name> --help`). */
  readonly usage: string;
  run(args: readonly string[], io: CliIo): Promise<number> | number;
}

/** A failure to report as one line and exit 1 (bad file, I/O error...). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Bad usage: reported as one line plus a hint to `--help`, exit 2. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 2);
  }
}

/** The package version, read from package.json (../../package.json from both src/cli and dist/cli). */
export function packageVersion(): string {
  try {
    const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
    const version = (JSON.parse(text) as { version?: unknown }).version;
    return typeof version === 'string' ? version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Newlines (and the blanks around them) as single spaces: every error is reported on one line. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

/**
 * `util.parseArgs` with errors turned into `UsageError` (unknown option, missing value), so that every
 * command reports bad arguments the same way.
 */
export function parseCommandArgs<T extends ParseArgsConfig['options']>(
  args: readonly string[],
  options: T,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
    return { values: parsed.values as Record<string, string | boolean | undefined>, positionals: parsed.positionals };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // parseArgs messages are sentences with hints about '--'; keep the first sentence.
    throw new UsageError(oneLine(message.split('. ')[0]!.replace(/\.$/, '')));
  }
}
