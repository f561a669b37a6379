/**
 * What a run knows that a capture cannot tell: per subflow its smoothed RTT and congestion window over time,
 * the bytes it carried per interval, link outages, the MIB counters. `mptcp report` reads it from a run's
 * `--json` (`mptcp perf --json`: iperf3's document with a `subflows` array per interval; `mptcp demo --json`:
 * the demo's result) or gets it from `mptcp demo --report` directly, with RTT/cwnd samples (`demoRunData`).
 *
 * Parsing never throws: anything that is not one of the two documents is `undefined` with the reason.
 */
import type { DemoResult, DemoSample } from '../harness/demo.js';

/** One subflow as the run saw it, with its series (time in seconds from the run's origin). */
export interface RunSubflow {
  readonly label: string;
  readonly localAddress?: string;
  readonly localPort?: number;
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  /** Smoothed RTT, ms. */
  readonly rtt: [number, number][];
  /** Congestion window, KB (1000 bytes). */
  readonly cwnd: [number, number][];
  /** Goodput in the run's own intervals: [interval end, Mbit/s]. */
  readonly goodput: [number, number][];
  /** Data bytes the run counted for it in total. */
  bytes: number;
}

/** A run's data. */
export interface RunData {
  readonly source: string;
  readonly kind: 'perf' | 'demo';
  /**
   * Where the run's time 0 is in a capture of it: the connect call (the first SYN: the demo) or the first
   * data byte (perf's test start).
   */
  readonly origin: 'connect' | 'data';
  readonly subflows: RunSubflow[];
  /** Link down/up and other spans of the run (seconds from its origin). */
  readonly spans: { readonly from: number; readonly to: number; readonly label: string }[];
  /** MIB counters (kernel names), by side. */
  readonly counters: Record<string, Record<string, number>>;
  readonly notes: string[];
}

/** One RTT/cwnd sample of a subflow (demo --report): the demo's own sample type. */
export type SubflowSample = DemoSample;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Parses a run's JSON text: a `RunData`, or the reason it is not one. */
export function parseRunJson(source: string, text: string): RunData | { error: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { error: `not JSON: ${(err as Error).message}` };
  }
  if (!isObject(doc)) return { error: 'not a JSON object (expected mptcp perf --json or mptcp demo --json)' };
  if (Array.isArray(doc['intervals']) && isObject(doc['start'])) return perfRunData(source, doc);
  if (Array.isArray(doc['intervals']) && Array.isArray(doc['subflows']) && Array.isArray(doc['paths'])) {
    return demoRunData(source, doc as unknown as DemoResult);
  }
  return { error: 'JSON of neither mptcp perf --json (start, intervals) nor mptcp demo --json (paths, intervals, subflows)' };
}

/** `mptcp perf --json` (also iperf3's own, without subflows: then its streams). */
function perfRunData(source: string, doc: Json): RunData | { error: string } {
  const subflows = new Map<string, RunSubflow>();
  const get = (key: string, make: () => RunSubflow): RunSubflow => {
    let s = subflows.get(key);
    if (!s) {
      s = make();
      subflows.set(key, s);
    }
    return s;
  };
  for (const interval of arr(doc['intervals'])) {
    if (!isObject(interval)) continue;
    const list = arr(interval['subflows']);
    const rows = list.length > 0 ? list : arr(interval['streams']);
    for (const row of rows) {
      if (!isObject(row)) continue;
      const end = num(row['end']);
      if (end === undefined) continue;
      const socket = num(row['socket']) ?? 0;
      const id = num(row['subflow']);
      const local = str(row['local_host']);
      const localPort = num(row['local_port']);
      const remote = str(row['remote_host']);
      const remotePort = num(row['remote_port']);
      const key = id === undefined ? `stream ${socket}` : `${socket}/${id}`;
      const s = get(key, () => ({
        label: id === undefined ? `stream ${socket}` : `stream ${socket} subflow ${id}${local ? ` ${local}:${localPort ?? '?'}` : ''}`,
        ...(local !== undefined ? { localAddress: local } : {}),
        ...(localPort !== undefined ? { localPort } : {}),
        ...(remote !== undefined ? { remoteAddress: remote } : {}),
        ...(remotePort !== undefined ? { remotePort } : {}),
        rtt: [],
        cwnd: [],
        goodput: [],
        bytes: 0,
      }));
      const rtt = num(row['rtt']);
      const cwnd = num(row['snd_cwnd']);
      const bps = num(row['bits_per_second']);
      const bytes = num(row['bytes']);
      if (rtt !== undefined) s.rtt.push([end, rtt / 1000]);
      if (cwnd !== undefined) s.cwnd.push([end, cwnd / 1000]);
      if (bps !== undefined) s.goodput.push([end, bps / 1e6]);
      if (bytes !== undefined) s.bytes += bytes;
    }
  }
  if (subflows.size === 0) return { error: 'perf JSON with no interval (run it with -i above 0)' };
  return { source, kind: 'perf', origin: 'data', subflows: [...subflows.values()], spans: [], counters: {}, notes: [] };
}

/** The demo's result (`mptcp demo --json`, or in process with RTT/cwnd `samples`). Never throws on a bad document. */
export function demoRunData(source: string, result: DemoResult, samples: readonly SubflowSample[] = []): RunData | { error: string } {
  const paths = arr(result.paths).filter(isObject);
  const intervals = arr(result.intervals).filter(isObject);
  const subflowRows = arr(result.subflows).filter(isObject);
  if (paths.length === 0) return { error: 'demo JSON without paths' };
  const pathName = (i: number): string => str(paths[i]?.['name']) ?? `path ${i + 1}`;
  const subflows: RunSubflow[] = subflowRows.map((row, i) => {
    const local = str(row['local']);
    const remote = str(row['remote']);
    const path = num(row['path']) ?? -1;
    return {
      label: `subflow ${num(row['id']) ?? i} (${pathName(path)}${local ? ` ${local} -> ${remote ?? '?'}` : ''})`,
      ...(local !== undefined ? { localAddress: local } : {}),
      ...(remote !== undefined ? { remoteAddress: remote } : {}),
      rtt: [],
      cwnd: [],
      goodput: [],
      bytes: num(row['dataBytesSent']) ?? 0,
    };
  });
  // The demo's intervals count bytes per path: give each to the subflow on that path.
  for (const iv of intervals) {
    const start = num(iv['startMicros']);
    const end = num(iv['endMicros']);
    if (start === undefined || end === undefined || end <= start) continue;
    arr(iv['bytesPerPath']).forEach((b, path) => {
      const bytes = num(b);
      const index = subflowRows.findIndex((r) => num(r['path']) === path);
      if (bytes === undefined || index < 0) return;
      subflows[index]!.goodput.push([end / 1e6, (bytes * 8) / (end - start)]);
    });
  }
  for (const s of samples) {
    const sub = subflows[subflowRows.findIndex((r) => num(r['id']) === s.subflow)];
    if (!sub) continue;
    if (s.rttMicros !== undefined) sub.rtt.push([s.atMicros / 1e6, s.rttMicros / 1000]);
    sub.cwnd.push([s.atMicros / 1e6, s.cwndBytes / 1000]);
  }
  const spans: RunData['spans'] = [];
  const down = num(result.outageStartMicros);
  const up = num(result.outageEndMicros);
  const failPath = num(result.failPath);
  if (down !== undefined && up !== undefined && failPath !== undefined) {
    spans.push({ from: down / 1e6, to: up / 1e6, label: `${pathName(failPath)} down (link outage)` });
  }
  const counters: Record<string, Record<string, number>> = {};
  for (const [side, value] of [['client', result.clientCounters], ['server', result.serverCounters]] as const) {
    if (!isObject(value)) continue;
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(value)) if (num(v) !== undefined) out[k] = v as number;
    counters[side] = out;
  }
  const notes: string[] = [];
  if (result.verified === true) notes.push(`verified: the server received all ${String(result.receivedBytes)} bytes (SHA-256 equal)`);
  else if (result.verified === false) notes.push(`NOT verified: received ${String(result.receivedBytes)} of ${String(result.bytes)} bytes`);
  if (typeof result.problem === 'string') notes.push(`problem: ${result.problem}`);
  return { source, kind: 'demo', origin: 'connect', subflows, spans, counters, notes };
}
