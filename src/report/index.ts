/**
 * `mptcp report` as a library: inputs (pcap/pcapng captures, ours or anyone's, and runs' `--json`) in, one
 * self-contained HTML page out. Captures are read and summarised by src/capture (`readFrames`,
 * `summarizeFrames`), reduced to plot columns by ./analyze.ts, runs parsed by ./run-data.ts, the page drawn
 * by ./page.ts with ./svg.ts. Sans-IO: bytes in, a string out; never throws on bad input (an input that is
 * neither a capture nor a run's JSON is a warning on the page and in `warnings`).
 *
 *   const { html, warnings } = buildReport([{ name: 'run.pcap', bytes }], { runs: [demoRunData(...)] });
 */
import { readFrames } from '../capture/decode.js';
import { summarizeFrames } from '../capture/summary.js';
import { analyzeCapture, type AnalyzeOptions } from './analyze.js';
import { renderPage, type ReportCapture } from './page.js';
import { parseRunJson, type RunData } from './run-data.js';

export { analyzeCapture, binWidthMicros, type AnalyzeOptions, type CaptureAnalysis, type ConnectionAnalysis } from './analyze.js';
export { demoRunData, parseRunJson, type RunData, type RunSubflow, type SubflowSample } from './run-data.js';
export { renderChart, niceTicks, escapeXml, type ChartSpec, type Series } from './svg.js';

/** One input file: its name (shown on the page) and its bytes. */
export interface ReportInput {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** Options of `buildReport`. */
export interface ReportOptions extends AnalyzeOptions {
  /** Runs given in process (`mptcp demo --report`), besides JSON inputs. */
  readonly runs?: readonly RunData[];
  readonly title?: string;
}

/** The page and what it was drawn from. */
export interface ReportResult {
  readonly html: string;
  /** One line per input that could not be used (or was used only in part). */
  readonly warnings: readonly string[];
  readonly captures: readonly ReportCapture[];
  readonly runs: readonly RunData[];
}

/** Whether `bytes` start like a pcap or pcapng file. */
function looksLikeCapture(bytes: Uint8Array): boolean {
  if (bytes.length < 4) return false;
  const be = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
  const le = ((bytes[3]! << 24) | (bytes[2]! << 16) | (bytes[1]! << 8) | bytes[0]!) >>> 0;
  const magics = [0xa1b2c3d4, 0xa1b23c4d, 0xa1b2cd34, 0x0a0d0d0a];
  return magics.includes(be) || magics.includes(le);
}

/** Builds the report page from the inputs. Never throws on bad input. */
export function buildReport(inputs: readonly ReportInput[], options: ReportOptions = {}): ReportResult {
  const warnings: string[] = [];
  const captures: ReportCapture[] = [];
  const runs: RunData[] = [...(options.runs ?? [])];
  for (const input of inputs) {
    if (looksLikeCapture(input.bytes)) {
      const { frames, error } = readFrames(input.bytes);
      if (error && frames.length === 0) {
        warnings.push(`${input.name}: not a readable capture: ${error.message}`);
        continue;
      }
      if (error) warnings.push(`${input.name}: read ${frames.length} frames, then: ${error.message}`);
      const analysis = analyzeCapture(frames, summarizeFrames(frames), options);
      captures.push({ name: input.name, analysis, ...(error ? { error: error.message } : {}) });
      continue;
    }
    const text = new TextDecoder('utf-8', { fatal: false }).decode(input.bytes);
    const run = parseRunJson(input.name, text);
    if ('error' in run) {
      warnings.push(`${input.name}: neither a pcap/pcapng capture nor a run's JSON (${run.error})`);
      continue;
    }
    runs.push(run);
  }
  const html = renderPage({ captures, runs, warnings, ...(options.title !== undefined ? { title: options.title } : {}) });
  return { html, warnings, captures, runs };
}
