/**
 * What `mptcp decode` prints for a whole capture, as text chunks handed to a sink: one line per frame (text
 * or NDJSON, optionally only the frames that carry MPTCP options; frame numbers are kept), or with `summary`
 * the MPTCP connections in it (./summary.ts; text blocks, or one JSON object per connection).
 *
 * A bad or truncated file: the frames before the problem are written, then the WireError is returned (its
 * message gives the file offset). Reading is streamed frame by frame; output is written in large chunks.
 */
import { WireError } from '../wire/errors.js';
import { FrameReader, type DecodedFrame } from './decode.js';
import { frameJson, frameText, summaryText } from './format.js';
import { endpointText, MptcpSummary, type ConnectionReport, type SummaryReport } from './summary.js';

/** What to print of a capture (`mptcp decode`'s options). */
export interface DecodeOptions {
  readonly json: boolean;
  readonly summary: boolean;
  readonly filterMptcp: boolean;
  /**
   * Only one MPTCP connection: the one with this token (either side's, as the summary prints them; a join's
   * SYN carries one of them), and/or the one numbered so in the summary (1, 2, ...). Frames keep their
   * numbers; the summary lists only that connection.
   */
  readonly token?: number;
  readonly connection?: number;
}

/** The connections of `report` that `options.token` / `options.connection` select (all without either). */
function selectedConnections(report: SummaryReport, options: DecodeOptions): ConnectionReport[] {
  return report.connections.filter(
    (c) =>
      (options.connection === undefined || c.connection === options.connection) &&
      (options.token === undefined ||
        c.clientKey?.token === options.token ||
        c.serverKey?.token === options.token ||
        (c.tokens ?? []).includes(options.token) ||
        c.subflows.some((sf) => sf.token === options.token)),
  );
}

/** The 4-tuples ("a:p|b:p", both orders) of the subflows of `connections`. */
function subflowTuples(connections: readonly ConnectionReport[]): Set<string> {
  const tuples = new Set<string>();
  for (const c of connections) {
    for (const sf of c.subflows) {
      tuples.add(`${sf.initiator}|${sf.listener}`);
      tuples.add(`${sf.listener}|${sf.initiator}`);
    }
  }
  return tuples;
}

/**
 * Decodes a whole capture to `write` (text chunks) as `options` say. Returns the WireError that stopped
 * reading a bad/truncated file (after everything before it was written), or undefined.
 */
export function decodeCapture(bytes: Uint8Array, options: DecodeOptions, write: (text: string) => void): WireError | undefined {
  const selecting = options.token !== undefined || options.connection !== undefined;
  if (selecting && !options.summary) {
    // Two passes: the summary finds the connection's subflows, then their frames are printed.
    const first = FrameReader.open(bytes);
    if (first instanceof WireError) return first;
    const summary = new MptcpSummary();
    for (let d = first.next(); d !== undefined && !(d instanceof WireError); d = first.next()) summary.add(d);
    const tuples = subflowTuples(selectedConnections(summary.finish(), options));
    return decodeFrames(bytes, options, write, (d) => d.kind === 'tcp' && tuples.has(`${endpointText(d.src, d.segment.srcPort, d.ipVersion)}|${endpointText(d.dst, d.segment.dstPort, d.ipVersion)}`));
  }
  return decodeFrames(bytes, options, write, () => true);
}

function decodeFrames(bytes: Uint8Array, options: DecodeOptions, write: (text: string) => void, keep: (frame: DecodedFrame) => boolean): WireError | undefined {
  const reader = FrameReader.open(bytes);
  if (reader instanceof WireError) return reader;
  const out = new ChunkedWriter(write);
  const summary = options.summary ? new MptcpSummary() : undefined;
  let firstMicros: number | undefined;
  let error: WireError | undefined;
  for (;;) {
    const decoded = reader.next();
    if (decoded === undefined) break;
    if (decoded instanceof WireError) {
      error = decoded;
      break;
    }
    firstMicros ??= decoded.timestampMicros;
    if (summary) {
      summary.add(decoded);
      continue;
    }
    if (options.filterMptcp && (decoded.kind !== 'tcp' || decoded.mptcp.length === 0)) continue;
    if (!keep(decoded)) continue;
    out.line(options.json ? JSON.stringify(frameJson(decoded, firstMicros)) : frameText(decoded, firstMicros));
  }
  if (summary) {
    const full = summary.finish();
    const report = options.token !== undefined || options.connection !== undefined ? { ...full, connections: selectedConnections(full, options) } : full;
    if (options.json) for (const c of report.connections) out.line(JSON.stringify(c));
    else out.write(summaryText(report));
  }
  out.flush();
  return error;
}

/** Buffers output lines and hands them on in ~64 KiB chunks (one write per line is slow on big files). */
class ChunkedWriter {
  private parts: string[] = [];
  private size = 0;
  constructor(private readonly sink: (text: string) => void) {}
  line(text: string): void {
    this.write(text + '\n');
  }
  write(text: string): void {
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= 65536) this.flush();
  }
  flush(): void {
    if (this.parts.length === 0) return;
    this.sink(this.parts.join(''));
    this.parts = [];
    this.size = 0;
  }
}
