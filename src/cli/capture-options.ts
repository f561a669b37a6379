/**
 * `--pcap FILE` and `--pcap-snaplen N`, as every command that runs our stack takes them (perf, demo; proxy
 * and emulate the same way): checked into what to capture, and the file opened with errors as the command
 * line reports them. What feeds the file is the command's (src/api/capture.ts, or a harness option).
 */
import { CaptureFile, CaptureFileError } from '../io/capture-file.js';
import { BufferedFileError } from '../io/buffered-file.js';
import { MAX_SNAPLEN, parseSnapLength, type SnapLength } from '../capture/writer.js';
import { CliError, UsageError } from './command.js';
import { QlogFile } from '../io/qlog-file.js';
import type { QlogOptions } from '../capture/qlog.js';

/** What `--pcap` asked for. */
export interface CaptureRequest {
  readonly path: string;
  readonly snapLength: SnapLength;
}

/** The capture options of a command line parsed with `pcap` and `pcap-snaplen` string options. */
export const CAPTURE_OPTIONS = { pcap: { type: 'string' }, 'pcap-snaplen': { type: 'string' }, qlog: { type: 'string' } } as const;

/**
 * Checks `--pcap FILE` / `--pcap-snaplen N`; undefined for no capture. `refusal`: why this run cannot be
 * captured (a UsageError when --pcap is given anyway).
 */
export function captureOptions(path: string | undefined, snapText: string | undefined, refusal?: string): CaptureRequest | undefined {
  if (path === undefined) {
    if (snapText !== undefined) throw new UsageError('--pcap-snaplen goes with --pcap FILE');
    return undefined;
  }
  if (path === '') throw new UsageError('--pcap needs a file name');
  if (refusal !== undefined) throw new UsageError(refusal);
  const snapLength = snapText === undefined ? 'headers' : parseSnapLength(snapText);
  if (snapLength === undefined) throw new UsageError(`bad --pcap-snaplen '${snapText}' (expected 'headers' or a number of bytes 1-${MAX_SNAPLEN})`);
  return { path, snapLength };
}

/** Opens the capture file; a CliError (exit 1) naming the file when it cannot be created. */
export function openCapture(request: CaptureRequest): CaptureFile {
  try {
    return CaptureFile.open(request.path, { snapLength: request.snapLength });
  } catch (err) {
    throw err instanceof CaptureFileError ? new CliError(err.message) : err;
  }
}

/** Opens `--qlog FILE` (undefined: none); a CliError naming the file when it cannot be created. */
export function openQlog(path: string | undefined, options: QlogOptions): QlogFile | undefined {
  if (path === undefined) return undefined;
  if (path === '') throw new UsageError('--qlog needs a file name');
  try {
    return QlogFile.open(path, options);
  } catch (err) {
    throw err instanceof BufferedFileError ? new CliError(err.message) : err;
  }
}
