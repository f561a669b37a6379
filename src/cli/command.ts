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
 * `util.parseArgs` with every argument error reported in our own words, as a `UsageError` (unknown option,
 * missing value, a value that looks like an option, a value given to a flag): Node's parser messages
 * ("argument is ambiguous", hints about '--') never reach the user, whatever the Node version.
 */
export function parseCommandArgs<T extends ParseArgsConfig['options']>(
  args: readonly string[],
  options: T,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  checkArgs(args, options ?? {});
  try {
    const parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
    return { values: parsed.values as Record<string, string | boolean | undefined>, positionals: parsed.positionals };
  } catch (err) {
    // checkArgs catches what parseArgs rejects; should a Node version reject more, still one line of ours.
    const code = (err as { code?: string }).code ?? 'error';
    throw new UsageError(`bad arguments (${code}): ${args.join(' ')}`);
  }
}

type OptionConfig = NonNullable<ParseArgsConfig['options']>;

/** The option's spelling in messages: "-c (--client)" or "--json". */
function optionName(name: string, o: OptionConfig[string]): string {
  return o.short !== undefined ? `-${o.short} (--${name})` : `--${name}`;
}

/** Walks `args` as parseArgs does (strict, positionals allowed, '--' ends options) and throws our UsageError. */
function checkArgs(args: readonly string[], options: OptionConfig): void {
  const byShort = new Map(Object.entries(options).filter(([, o]) => o.short !== undefined).map(([n, o]) => [o.short!, n]));
  const looksLikeOption = (a: string | undefined): boolean => a !== undefined && a.length > 1 && a.startsWith('-');
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') return;
    if (!looksLikeOption(arg)) continue;
    const needsValue = (name: string): void => {
      const next = args[i + 1];
      if (next === undefined) throw new UsageError(`option ${optionName(name, options[name]!)} needs a value`);
      if (looksLikeOption(next)) {
        throw new UsageError(`option ${optionName(name, options[name]!)} needs a value, got the option '${next}' (to give a value that starts with '-', write --${name}=${next})`);
      }
      i++;
    };
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = arg.slice(2, eq < 0 ? undefined : eq);
      const o = options[name];
      if (!o) throw new UsageError(`unknown option '--${name}'`);
      if (o.type === 'boolean' && eq >= 0) throw new UsageError(`option --${name} takes no value, got '${arg}'`);
      if (o.type === 'string' && eq < 0) needsValue(name);
      continue;
    }
    // A cluster of short options: -4R, or -t5 (a string option takes the rest of the word, or the next word).
    for (let j = 1; j < arg.length; j++) {
      const name = byShort.get(arg[j]!);
      if (name === undefined) throw new UsageError(`unknown option '-${arg[j]}'${arg.length > 2 ? ` (in '${arg}')` : ''}`);
      if (options[name]!.type === 'string') {
        if (j === arg.length - 1) needsValue(name);
        break;
      }
    }
  }
}
