/**
 * `mptcp decode FILE [--json] [--summary] [--filter-mptcp]`: reads a pcap/pcapng capture and prints every
 * TCP segment with each MPTCP option fully decoded (one line per frame, text or NDJSON), or with `--summary`
 * the MPTCP connections in it. The work is in src/capture/ (decoding, the line formats and the summary);
 * this file parses the words, reads the file and reports errors.
 *
 * A bad or truncated file: the frames before the problem are printed, then one line on stderr with the file
 * offset, exit 1.
 */
import { readFileSync } from 'node:fs';
import { decodeCapture, type DecodeOptions } from '../capture/output.js';
import { CliError, parseCommandArgs, UsageError, type CliIo, type Command } from './command.js';

const USAGE = `Usage: mptcp decode FILE [--json] [--summary] [--filter-mptcp] [--token TOKEN] [--connection N]

FILE '-' reads the capture from standard input (tcpdump -w - ... | mptcp decode -).

Decodes a pcap or pcapng capture (Ethernet, Linux cooked v1/v2, raw IP, loopback/NULL link layers): one line
per frame with addresses, ports, TCP flags, raw sequence/ack numbers, payload length and every MPTCP
option fully decoded (keys, tokens and IDSNs derived from them, DSS mappings, ADD_ADDR, ...).

Options:
  --json          NDJSON: one JSON object per frame (or per connection with --summary)
  --summary       group subflows into MPTCP connections by token (like mptcptrace) and print, per
                  connection: tokens, keys, subflows, bytes per direction, signalling options, DATA_FIN
  --filter-mptcp  only frames that carry at least one MPTCP option (frame numbers are kept)
  --token TOKEN   only the MPTCP connection with this token (either side's; 8 hex digits as --summary
                  prints them, 0x... hex, or a decimal number): the frames of all its subflows
  --connection N  only the MPTCP connection numbered N by --summary
  -h, --help      show this help

Exit status: 0 success, 1 bad or unreadable file (the message gives the file offset), 2 bad usage.
`;

/** The `decode` subcommand. */
export const decodeCommand: Command = {
  name: 'decode',
  summary: 'decode a pcap/pcapng capture: every TCP segment and MPTCP option, or a per-connection summary',
  usage: USAGE,
  run: (args, io) => runDecode(args, io),
};

/** Runs `mptcp decode` with its arguments (after "decode"); returns the exit code, throws CliError. */
export function runDecode(args: readonly string[], io: CliIo): number {
  const { values, positionals } = parseCommandArgs(args, {
    json: { type: 'boolean' },
    summary: { type: 'boolean' },
    'filter-mptcp': { type: 'boolean' },
    token: { type: 'string' },
    connection: { type: 'string' },
  });
  if (positionals.length === 0) throw new UsageError('missing FILE (a pcap or pcapng capture)');
  if (positionals.length > 1) throw new UsageError(`one FILE at a time; got ${positionals.length}: ${positionals.join(' ')}`);
  const path = positionals[0]!;
  if (path === '-' && process.stdin.isTTY) throw new UsageError("'-' reads a capture from standard input, which is a terminal: pipe one in (tcpdump -w - | mptcp decode -)");
  const bytes = readInput(path);
  const token = parseToken(values['token'] as string | undefined);
  const connectionText = values['connection'] as string | undefined;
  if (connectionText !== undefined && !/^[1-9]\d{0,8}$/.test(connectionText)) throw new UsageError(`bad --connection '${connectionText}' (a connection number of --summary: 1, 2, ...)`);
  const options: DecodeOptions = {
    json: values['json'] === true,
    summary: values['summary'] === true,
    filterMptcp: values['filter-mptcp'] === true,
    ...(token !== undefined ? { token } : {}),
    ...(connectionText !== undefined ? { connection: Number(connectionText) } : {}),
  };
  const error = decodeCapture(bytes, options, io.stdout);
  if (error) throw new CliError(`${path === '-' ? 'standard input' : path}: ${error.message}`);
  return 0;
}

/** `--token`: 8 hex digits (as --summary prints it), 0x-prefixed hex, or a decimal number; a 32-bit value. */
export function parseToken(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim().toLowerCase();
  const hex = /^0x([0-9a-f]{1,8})$/.exec(t)?.[1] ?? (/^[0-9a-f]{8}$/.test(t) ? t : undefined);
  const value = hex !== undefined ? parseInt(hex, 16) : /^\d{1,10}$/.test(t) ? Number(t) : NaN;
  if (!(value >= 0 && value <= 0xffff_ffff)) throw new UsageError(`bad --token '${text}' (a 32-bit MPTCP token: 8 hex digits as --summary prints it, 0x..., or decimal)`);
  return value;
}

/** Reads an input file whole; a CliError naming the file and why it cannot be read. */
export function readInput(path: string): Uint8Array {
  try {
    // '-': standard input (file descriptor 0), as tcpdump -r - and tshark -r - read it.
    return readFileSync(path === '-' ? 0 : path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const reasons: Record<string, string> = {
      ENOENT: 'no such file',
      EACCES: 'permission denied',
      EISDIR: 'is a directory, not a capture file',
      ENOTDIR: 'a component of the path is not a directory',
      ERR_FS_FILE_TOO_LARGE: 'file too large to read into memory',
    };
    throw new CliError(`cannot read '${path}': ${(e.code && reasons[e.code]) ?? e.message}`);
  }
}

