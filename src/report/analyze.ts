/**
 * What `mptcp report` draws from a capture: for each MPTCP connection of `summarizeFrames` (src/capture), per
 * direction (client to server, server to client) and per subflow, the time series of its plots, already
 * reduced to a fixed number of time columns so that a 10-minute run costs what a 2-second one does:
 *
 * - goodput: per subflow, the bytes its TCP ACKs newly acknowledged (what reached the peer over that path),
 *   and in total the bytes the DATA_ACKs newly acknowledged (what reached the peer's MPTCP layer), per bin;
 * - data sequence numbers: per subflow and column, the lowest and highest data-level byte first sent in
 *   it, the segments sent again by TCP (retransmissions) and the data-level bytes sent again on another
 *   subflow than first (reinjections, mptcptrace's "reinjections"), and the DATA_ACK (last value per column);
 * - stalls: spans where the DATA_ACK did not move for longer than a threshold while data was waiting for it
 *   (head-of-line blocking: a path went silent with data on it);
 * - per subflow: when it was opened, established, closed (FIN / RST), and the bytes it carried once.
 *
 * Data sequence numbers are relative: byte 0 is IDSN + 1 when the keys are in the capture (RFC 8684 3.1:
 * the IDSN is the low 64 bits of SHA-256 of the key), else the first data-level number seen. Values are
 * unwrapped from their low 32 bits around the previous one, so 32-bit DSNs and DATA_ACKs work as 64-bit ones
 * do, without bigint per segment. A DSS mapping's subflow sequence number is relative to the subflow's ISN
 * (RFC 8684 3.3.1), known when the SYN is captured; otherwise the segment carrying the mapping is taken to
 * start it. Captures from the sender's side (ours, or tcpdump on the sending host) show the sends as they
 * left; a receiver-side capture shows them as they arrived. Never throws: frames that fit nothing are left.
 */
import type { DecodedFrame, TcpFrame } from '../capture/decode.js';
import type { ConnectionReport, SubflowReport, SummaryReport } from '../capture/summary.js';
import { TcpFlags } from '../wire/tcp.js';
import type { U64 } from '../wire/u64.js';

/** The two directions of a connection. */
export type Direction = 'clientToServer' | 'serverToClient';
export const DIRECTIONS: readonly Direction[] = ['clientToServer', 'serverToClient'];

/** Options of the analysis. */
export interface AnalyzeOptions {
  /** Time columns of the sequence plots (default 600). */
  readonly columns?: number;
  /** Bins of the goodput plots at most (default 200). */
  readonly maxBins?: number;
  /** A DATA_ACK that does not move for longer than this, with data outstanding, is a stall (default 250 ms). */
  readonly stallMicros?: number;
}

/** One direction of one subflow, reduced to columns. */
export interface SubflowDirection {
  /** Payload bytes of segments that carried new subflow data (first transmissions). */
  uniqueBytes: number;
  /** Payload bytes of segments TCP sent again, and how many such segments. */
  retransmittedBytes: number;
  retransmittedSegments: number;
  /** Data-level bytes sent on this subflow that had been sent before (on any subflow). */
  reinjectedBytes: number;
  dataSegments: number;
  /** Per goodput bin: bytes newly acknowledged by this subflow's TCP ACKs. */
  readonly ackedPerBin: Float64Array;
  /** Per column: lowest and highest end of new data-level bytes first sent (NaN: none). */
  readonly dsnLow: Float64Array;
  readonly dsnHigh: Float64Array;
  /** Per column: data-level position of a TCP retransmission / reinjection in it (NaN: none). */
  readonly retransmitAt: Float64Array;
  readonly reinjectAt: Float64Array;
}

/** One subflow of a connection, as drawn. */
export interface SubflowAnalysis {
  readonly report: SubflowReport;
  /** Times (microseconds from the capture start) of its SYN, its establishment, its FIN or RST. */
  synAt: number | undefined;
  establishedAt: number | undefined;
  finAt: number | undefined;
  resetAt: number | undefined;
  /** `clientToServer` is the direction of the connection's client (for a server-opened join too). */
  readonly directions: Record<Direction, SubflowDirection>;
}

/** One direction of a connection. */
export interface ConnectionDirection {
  /** Per goodput bin: bytes newly acknowledged by DATA_ACKs. */
  readonly dataAckedPerBin: Float64Array;
  /** Per column: the DATA_ACK at the end of the column (NaN: none seen yet). */
  readonly dataAck: Float64Array;
  /** The highest data-level byte sent, relative. */
  highestDsn: number;
  /** Spans (microseconds from the capture start) where the DATA_ACK stood still with data outstanding. */
  readonly stalls: { readonly from: number; readonly to: number }[];
  /** Whether any data-level mapping was seen in this direction. */
  hasData: boolean;
}

/** One MPTCP connection. */
export interface ConnectionAnalysis {
  readonly report: ConnectionReport;
  readonly subflows: readonly SubflowAnalysis[];
  readonly directions: Record<Direction, ConnectionDirection>;
  /** Capture-relative times of the connection's first and last frames. */
  firstAt: number;
  lastAt: number;
  /** Capture-relative time of its first payload byte (NaN: none). */
  firstDataAt: number;
  /** Times of the events in `report.events` (same order; frame times). */
  readonly eventTimes: number[];
}

/** A TCP connection without MPTCP (its SYN carried no MPTCP option). */
export interface PlainTcpConnection {
  readonly client: string;
  readonly server: string;
  firstAt: number;
  lastAt: number;
  packets: number;
  bytesClientToServer: number;
  bytesServerToClient: number;
  reset: boolean;
  fin: boolean;
}

/** Everything a report draws from one capture. */
export interface CaptureAnalysis {
  readonly summary: SummaryReport;
  /** Epoch microseconds of the first frame (0 for an empty capture). */
  readonly startMicros: number;
  /** Microseconds from the first frame to the last. */
  readonly durationMicros: number;
  /** Time columns (sequence plots) and goodput bins, shared by every connection of the capture. */
  readonly columnMicros: number;
  readonly columns: number;
  readonly binMicros: number;
  readonly bins: number;
  readonly connections: readonly ConnectionAnalysis[];
  readonly plainTcp: readonly PlainTcpConnection[];
  readonly stallMicros: number;
}

/** The goodput bin width: about duration / maxBins, rounded up to 1, 2 or 5 times a power of ten ms (at least 10 ms). */
export function binWidthMicros(durationMicros: number, maxBins: number): number {
  const raw = Math.max(10_000, durationMicros / Math.max(1, maxBins));
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

/** Endpoint text as the summary writes it ("addr:port", "[v6]:port"). */
function endpoint(address: string, port: number, ipVersion: 4 | 6): string {
  return ipVersion === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Signed difference of two 32-bit sequence numbers (b - a). */
function seqDiff(a: number, b: number): number {
  return ((b - a) | 0);
}

/** The low 32 bits of a decimal uint64 string (the summary's IDSN). */
function low32OfDecimal(decimal: string): number | undefined {
  try {
    return Number(BigInt(decimal) & 0xffff_ffffn);
  } catch {
    return undefined;
  }
}

/** The data-sequence space of one direction: relative positions from low 32 bits. */
class DataSpace {
  private base: number | undefined;
  private last = 0;
  constructor(idsnLow32: number | undefined) {
    // Data byte 0 is IDSN + 1.
    if (idsnLow32 !== undefined) this.base = (idsnLow32 + 1) >>> 0;
  }
  /** The relative position of a 32-bit (low half of a) data sequence number, unwrapped near the last one. */
  relative(low32: number): number {
    if (this.base === undefined) this.base = low32 >>> 0;
    const lastLow = (this.base + this.last) >>> 0;
    const rel = this.last + seqDiff(lastLow, low32 >>> 0);
    this.last = rel;
    return rel;
  }
}

/**
 * The data-level ranges sent so far in one direction, as sorted disjoint [start, end) pairs. Subflows send
 * their share of the data sequence space out of order with each other, so "sent before" is a set, not a
 * high-water mark; gaps close as the other subflows catch up, so the set stays a few ranges long.
 */
export class RangeSet {
  /** Ranges kept at most; beyond, the two lowest merge (their gap counts as sent). */
  static readonly MAX_RANGES = 4096;
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];

  /** Adds [start, end); returns how many of its bytes were in the set already. */
  add(start: number, end: number): number {
    if (end <= start) return 0;
    // First range whose end reaches start.
    let lo = 0;
    let hi = this.ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ends[mid]! < start) lo = mid + 1;
      else hi = mid;
    }
    let covered = 0;
    let i = lo;
    let newStart = start;
    let newEnd = end;
    while (i < this.starts.length && this.starts[i]! <= end) {
      covered += Math.max(0, Math.min(end, this.ends[i]!) - Math.max(start, this.starts[i]!));
      newStart = Math.min(newStart, this.starts[i]!);
      newEnd = Math.max(newEnd, this.ends[i]!);
      i++;
    }
    this.starts.splice(lo, i - lo, newStart);
    this.ends.splice(lo, i - lo, newEnd);
    // A pathological capture (gaps that never close) must not make this quadratic: old gaps are forgotten.
    if (this.starts.length > RangeSet.MAX_RANGES) {
      this.starts.splice(1, 1);
      this.ends.splice(0, 1);
    }
    return covered;
  }

  /** How many disjoint ranges it holds. */
  get size(): number {
    return this.starts.length;
  }
}

interface DirState {
  /** ISN of this direction's sender, when its SYN was seen. */
  isn: number | undefined;
  /** Highest sequence number end sent (absolute, 32-bit) and whether any was. */
  highSeq: number;
  sent: boolean;
  /** Highest acknowledgment received for this direction's data (absolute), once any. */
  highAck: number;
  acked: boolean;
  /** The current DSS mapping: absolute subflow seq of its start, relative DSN of its start, length. */
  mapSeq: number;
  mapDsn: number;
  mapLength: number;
  mapped: boolean;
}

function newDirState(): DirState {
  return { isn: undefined, highSeq: 0, sent: false, highAck: 0, acked: false, mapSeq: 0, mapDsn: 0, mapLength: 0, mapped: false };
}

function newSubflowDirection(columns: number, bins: number): SubflowDirection {
  const nan = (n: number) => new Float64Array(n).fill(NaN);
  return {
    uniqueBytes: 0,
    retransmittedBytes: 0,
    retransmittedSegments: 0,
    reinjectedBytes: 0,
    dataSegments: 0,
    ackedPerBin: new Float64Array(bins),
    dsnLow: nan(columns),
    dsnHigh: nan(columns),
    retransmitAt: nan(columns),
    reinjectAt: nan(columns),
  };
}

interface ConnState {
  readonly analysis: ConnectionAnalysis;
  readonly space: Record<Direction, DataSpace>;
  /** Highest data-level end first sent, per direction. */
  readonly highDsn: Record<Direction, number>;
  /** Data-level ranges sent, per direction (for reinjections). */
  readonly sentRanges: Record<Direction, RangeSet>;
  readonly anyDsn: Record<Direction, boolean>;
  /** DATA_ACK per direction (of that direction's data): current value and since when. */
  readonly dataAck: Record<Direction, { value: number; since: number; seen: boolean }>;
  /** New data waiting for a DATA_ACK: (data end, first-send time), in DSN order. */
  readonly waiting: Record<Direction, { end: number; at: number }[]>;
  readonly waitingHead: Record<Direction, number>;
}

interface SubflowState {
  readonly conn: ConnState;
  readonly analysis: SubflowAnalysis;
  readonly first: number;
  readonly last: number;
  /** State of the initiator's and the listener's sending directions. */
  readonly fromInitiator: DirState;
  readonly fromListener: DirState;
  /** Whether the subflow's initiator is the connection's client. */
  readonly initiatorIsClient: boolean;
}

/** Analyzes decoded frames (all of one capture, in file order) against their summary. Never throws. */
export function analyzeCapture(frames: readonly DecodedFrame[], summary: SummaryReport, options: AnalyzeOptions = {}): CaptureAnalysis {
  const columns = Math.max(10, Math.floor(options.columns ?? 600));
  const stallMicros = options.stallMicros ?? 250_000;
  let start = Infinity;
  let end = -Infinity;
  for (const f of frames) {
    if (f.timestampMicros < start) start = f.timestampMicros;
    if (f.timestampMicros > end) end = f.timestampMicros;
  }
  if (!Number.isFinite(start)) {
    start = 0;
    end = 0;
  }
  const duration = Math.max(0, end - start);
  const binMicros = binWidthMicros(duration, options.maxBins ?? 200);
  const bins = Math.max(1, Math.ceil((duration + 1) / binMicros));
  const columnMicros = Math.max(1, (duration + 1) / columns);
  const colOf = (t: number) => Math.min(columns - 1, Math.floor(t / columnMicros));
  const binOf = (t: number) => Math.min(bins - 1, Math.floor(t / binMicros));

  // Subflows by endpoint pair (either direction), several per tuple told apart by frame range.
  const byTuple = new Map<string, SubflowState[]>();
  const connections: ConnectionAnalysis[] = [];
  const connStates: ConnState[] = [];
  for (const c of summary.connections) {
    const analysis: ConnectionAnalysis = {
      report: c,
      subflows: [],
      directions: {
        clientToServer: { dataAckedPerBin: new Float64Array(bins), dataAck: new Float64Array(columns).fill(NaN), highestDsn: 0, stalls: [], hasData: false },
        serverToClient: { dataAckedPerBin: new Float64Array(bins), dataAck: new Float64Array(columns).fill(NaN), highestDsn: 0, stalls: [], hasData: false },
      },
      firstAt: Infinity,
      lastAt: 0,
      firstDataAt: NaN,
      eventTimes: [],
    };
    connections.push(analysis);
    const conn: ConnState = {
      analysis,
      space: {
        clientToServer: new DataSpace(c.clientKey ? low32OfDecimal(c.clientKey.idsn) : undefined),
        serverToClient: new DataSpace(c.serverKey ? low32OfDecimal(c.serverKey.idsn) : undefined),
      },
      highDsn: { clientToServer: 0, serverToClient: 0 },
      sentRanges: { clientToServer: new RangeSet(), serverToClient: new RangeSet() },
      anyDsn: { clientToServer: false, serverToClient: false },
      dataAck: { clientToServer: { value: 0, since: 0, seen: false }, serverToClient: { value: 0, since: 0, seen: false } },
      waiting: { clientToServer: [], serverToClient: [] },
      waitingHead: { clientToServer: 0, serverToClient: 0 },
    };
    connStates.push(conn);
    for (const sf of c.subflows) {
      const sub: SubflowAnalysis = {
        report: sf,
        synAt: undefined,
        establishedAt: undefined,
        finAt: undefined,
        resetAt: undefined,
        directions: { clientToServer: newSubflowDirection(columns, bins), serverToClient: newSubflowDirection(columns, bins) },
      };
      (analysis.subflows as SubflowAnalysis[]).push(sub);
      const state: SubflowState = {
        conn,
        analysis: sub,
        first: sf.firstFrame,
        last: sf.lastFrame,
        fromInitiator: newDirState(),
        fromListener: newDirState(),
        initiatorIsClient: sf.initiatedBy !== 'server',
      };
      const key = `${sf.initiator} ${sf.listener}`;
      const list = byTuple.get(key) ?? [];
      list.push(state);
      byTuple.set(key, list);
    }
  }
  const eventFrames = new Map<number, number>();
  for (const c of summary.connections) for (const e of c.events) eventFrames.set(e.frame, NaN);

  const plain = new Map<string, PlainTcpConnection>();
  const plainDone: PlainTcpConnection[] = [];

  for (const f of frames) {
    if (eventFrames.has(f.frame)) eventFrames.set(f.frame, f.timestampMicros - start);
    if (f.kind !== 'tcp') continue;
    const t = f.timestampMicros - start;
    const s = f.segment;
    const a = endpoint(f.src, s.srcPort, f.ipVersion);
    const b = endpoint(f.dst, s.dstPort, f.ipVersion);
    let forward = true;
    let list = byTuple.get(`${a} ${b}`);
    if (!list) {
      list = byTuple.get(`${b} ${a}`);
      forward = false;
    }
    const sf = list?.find((x) => f.frame >= x.first && f.frame <= x.last);
    if (!sf) {
      plainFrame(plain, plainDone, f, a, b, t);
      continue;
    }
    subflowFrame(sf, f, forward, t, colOf, binOf, stallMicros);
  }
  for (const c of connections) {
    for (const e of c.report.events) c.eventTimes.push(eventFrames.get(e.frame) ?? NaN);
    if (!Number.isFinite(c.firstAt)) c.firstAt = 0;
  }
  // Data still waiting for a DATA_ACK at the end of the capture.
  for (const conn of connStates) {
    for (const d of DIRECTIONS) {
      const head = conn.waiting[d][conn.waitingHead[d]];
      if (!head) continue;
      const from = Math.max(conn.dataAck[d].since, head.at);
      if (duration - from > stallMicros) conn.analysis.directions[d].stalls.push({ from, to: duration });
    }
  }
  // Only tuples whose SYN carried no MPTCP option are plain TCP (frames of MPTCP subflows outside their range are left out).
  const plainTcp = [...plainDone, ...plain.values()].filter((p) => p.packets > 0).sort((x, y) => x.firstAt - y.firstAt);
  return { summary, startMicros: start === Infinity ? 0 : start, durationMicros: duration, columnMicros, columns, binMicros, bins, connections, plainTcp, stallMicros };
}

/** A frame of no MPTCP subflow: counted in a plain-TCP connection if its tuple started with a plain SYN. */
function plainFrame(plain: Map<string, PlainTcpConnection>, done: PlainTcpConnection[], f: TcpFrame, a: string, b: string, t: number): void {
  const s = f.segment;
  const syn = (s.flags & TcpFlags.SYN) !== 0;
  const ack = (s.flags & TcpFlags.ACK) !== 0;
  let key = `${a} ${b}`;
  let p = plain.get(key);
  let fromClient = true;
  if (!p) {
    key = `${b} ${a}`;
    p = plain.get(key);
    fromClient = false;
  }
  if (syn && !ack && f.mptcp.length === 0) {
    if (p) done.push(p);
    key = `${a} ${b}`;
    p = { client: a, server: b, firstAt: t, lastAt: t, packets: 0, bytesClientToServer: 0, bytesServerToClient: 0, reset: false, fin: false };
    plain.set(key, p);
    fromClient = true;
  }
  if (!p) return;
  p.packets++;
  p.lastAt = t;
  if (fromClient) p.bytesClientToServer += f.payloadLength;
  else p.bytesServerToClient += f.payloadLength;
  if (s.flags & TcpFlags.RST) p.reset = true;
  if (s.flags & TcpFlags.FIN) p.fin = true;
}

function dsnLow32(v: U64): number {
  return v.lo >>> 0;
}

function subflowFrame(
  sf: SubflowState,
  f: TcpFrame,
  forward: boolean,
  t: number,
  colOf: (t: number) => number,
  binOf: (t: number) => number,
  stallMicros: number,
): void {
  const s = f.segment;
  const conn = sf.conn;
  const ca = conn.analysis;
  const sub = sf.analysis;
  if (t < ca.firstAt) ca.firstAt = t;
  if (t > ca.lastAt) ca.lastAt = t;
  const fromClient = forward === sf.initiatorIsClient;
  const dir: Direction = fromClient ? 'clientToServer' : 'serverToClient';
  const back: Direction = fromClient ? 'serverToClient' : 'clientToServer';
  const mine = forward ? sf.fromInitiator : sf.fromListener;
  const theirs = forward ? sf.fromListener : sf.fromInitiator;
  const syn = (s.flags & TcpFlags.SYN) !== 0;
  const ackFlag = (s.flags & TcpFlags.ACK) !== 0;
  const fin = (s.flags & TcpFlags.FIN) !== 0;
  if (syn) {
    mine.isn = s.seq >>> 0;
    if (forward && !ackFlag && sub.synAt === undefined) sub.synAt = t;
  }
  if (s.flags & TcpFlags.RST) sub.resetAt ??= t;
  if (fin) sub.finAt ??= t;
  if (sub.establishedAt === undefined && sub.report.established && !syn && ackFlag && sub.synAt !== undefined) sub.establishedAt = t;

  // Our ACK acknowledges the other direction's subflow data: that direction's goodput on this subflow.
  if (ackFlag && theirs.isn !== undefined) {
    const ack = s.ack >>> 0;
    if (!theirs.acked) {
      theirs.acked = true;
      theirs.highAck = ack;
    } else {
      const advance = seqDiff(theirs.highAck, ack);
      if (advance > 0) {
        theirs.highAck = ack;
        // Bytes, less a SYN or FIN the ACK covers (never more than was sent).
        sub.directions[back].ackedPerBin[binOf(t)]! += advance;
      }
    }
    if (syn) theirs.highAck = ack;
  }

  let mapping: { dsn: number; ssn: number | undefined; length: number } | undefined;
  let dataAck: number | undefined;
  for (const e of f.mptcp) {
    if (e.kind !== 'option') continue;
    const o = e.option;
    if (o.subtype === 'DSS') {
      if (o.dataAck) dataAck = conn.space[back].relative(dsnLow32(o.dataAck));
      if (o.mapping && !(o.mapping.dataLength === 0 && o.mapping.subflowSeq === 0)) {
        mapping = { dsn: conn.space[dir].relative(dsnLow32(o.mapping.dsn)), ssn: o.mapping.subflowSeq, length: o.mapping.dataLength };
      }
    } else if (o.subtype === 'MP_CAPABLE' && o.dataLength !== undefined && f.payloadLength > 0) {
      // Data on the third ACK: implicitly DSN IDSN + 1, subflow sequence 1 (RFC 8684 3.1).
      mapping = { dsn: 0, ssn: 1, length: o.dataLength };
    }
  }
  if (mapping) {
    mine.mapped = true;
    mine.mapDsn = mapping.dsn;
    mine.mapLength = mapping.length;
    mine.mapSeq = mine.isn !== undefined && mapping.ssn !== undefined ? (mine.isn + mapping.ssn) >>> 0 : s.seq >>> 0;
  }
  if (dataAck !== undefined) dataAckSeen(conn, back, dataAck, t, colOf, binOf, stallMicros);

  const length = f.payloadLength;
  if (length <= 0) return;
  const d = sub.directions[dir];
  d.dataSegments++;
  if (Number.isNaN(ca.firstDataAt)) ca.firstDataAt = t;
  const seq = s.seq >>> 0;
  const end = (seq + length) >>> 0;
  let retransmission = false;
  if (!mine.sent) {
    mine.sent = true;
    mine.highSeq = end;
  } else if (seqDiff(mine.highSeq, end) <= 0) {
    retransmission = true;
  } else {
    mine.highSeq = end;
  }
  const col = colOf(t);
  // The segment's place in the data sequence space, from the mapping that covers it.
  let dsnStart: number | undefined;
  if (mine.mapped) {
    const offset = seqDiff(mine.mapSeq, seq);
    // Only inside the mapping: beyond it the data level may have moved on (the other subflows' share).
    if (offset >= 0 && offset < mine.mapLength) dsnStart = mine.mapDsn + offset;
  }
  if (retransmission) {
    d.retransmittedBytes += length;
    d.retransmittedSegments++;
    if (dsnStart !== undefined && Number.isNaN(d.retransmitAt[col]!)) d.retransmitAt[col] = dsnStart + length;
    return;
  }
  d.uniqueBytes += length;
  if (dsnStart === undefined) return;
  const dsnEnd = dsnStart + Math.min(length, Math.max(1, mine.mapLength));
  const cd = ca.directions[dir];
  cd.hasData = true;
  const before = conn.sentRanges[dir].add(dsnStart, dsnEnd);
  if (before > 0) {
    // New on this subflow, but the data level had sent (some of) these bytes already: a reinjection.
    d.reinjectedBytes += before;
    if (Number.isNaN(d.reinjectAt[col]!)) d.reinjectAt[col] = dsnEnd;
    if (before >= dsnEnd - dsnStart) return;
  }
  if (!Number.isNaN(d.dsnLow[col]!) ? dsnStart < d.dsnLow[col]! : true) d.dsnLow[col] = dsnStart;
  if (Number.isNaN(d.dsnHigh[col]!) || dsnEnd > d.dsnHigh[col]!) d.dsnHigh[col] = dsnEnd;
  if (!conn.anyDsn[dir] || dsnEnd > conn.highDsn[dir]) {
    conn.waiting[dir].push({ end: dsnEnd, at: t });
    conn.highDsn[dir] = dsnEnd;
    conn.anyDsn[dir] = true;
    cd.highestDsn = dsnEnd;
  }
}

/** A DATA_ACK for direction `dir`'s data: the acked bytes, the DATA_ACK line, stalls. */
function dataAckSeen(conn: ConnState, dir: Direction, value: number, t: number, colOf: (t: number) => number, binOf: (t: number) => number, stallMicros: number): void {
  const state = conn.dataAck[dir];
  const cd = conn.analysis.directions[dir];
  cd.dataAck[colOf(t)] = state.seen ? Math.max(state.value, value) : value;
  if (!state.seen) {
    state.seen = true;
    state.value = value;
    state.since = t;
    return;
  }
  if (value <= state.value) return;
  const waiting = conn.waiting[dir];
  let head = conn.waitingHead[dir];
  const first = waiting[head];
  if (first && first.end > state.value) {
    const from = Math.max(state.since, first.at);
    if (t - from > stallMicros) cd.stalls.push({ from, to: t });
  }
  cd.dataAckedPerBin[binOf(t)]! += value - state.value;
  state.value = value;
  state.since = t;
  while (head < waiting.length && waiting[head]!.end <= value) head++;
  // Compact now and then so the queue holds only what is in flight.
  if (head > 1024 && head * 2 > waiting.length) {
    waiting.splice(0, head);
    head = 0;
  }
  conn.waitingHead[dir] = head;
}
