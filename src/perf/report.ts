/**
 * Measurement and reporting for one test, shared by client and server: per-interval and final statistics,
 * printed like iperf3's text output or collected into an iperf3-like JSON document (start / intervals / end
 * with sum_sent and sum_received), plus the results message this side sends to its peer.
 *
 * Times are milliseconds from the injected clock; reported times are seconds since the test start (the end
 * of the omit period when `-O` is used), as iperf3 reports them.
 */
import { arch, hostname, release, type as osType } from 'node:os';
import { cpuUsage } from 'node:process';
import type { DataStream } from './data-stream.js';
import type { PerfMptcpStatus, PerfSubflowStats } from './transport.js';
import type { IperfResults, IperfStreamResult } from './iperf3-protocol.js';
import { bitsPerSecond, formatBitrate, formatBytes } from './units.js';

/** Where perf writes text (the CLI's stdout/stderr, or a test's buffer). */
export interface PerfOutput {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** Milliseconds, monotonic. */
export type PerfClock = () => number;

/** The numbers of one interval, for a stream, the sum of the streams or an MPTCP subflow. */
export interface PerfIntervalNumbers {
  readonly start: number;
  readonly end: number;
  readonly seconds: number;
  readonly bytes: number;
  readonly bitsPerSecond: number;
  /** Retransmits during the interval, when the sending transport reports them (sender side only). */
  readonly retransmits?: number;
  /** Sender side: the congestion window. */
  readonly cwndBytes?: number;
  readonly omitted: boolean;
  /** Whether this side is the stream's sender. */
  readonly sender: boolean;
}

/** One stream's numbers over one interval. */
export interface PerfIntervalStream extends PerfIntervalNumbers {
  readonly id: number;
}

/** Where an MPTCP subflow runs: its id in its connection and its addresses (as its stats say). */
export interface PerfSubflowIdentity
  extends Pick<PerfSubflowStats, 'id' | 'localAddress' | 'localPort' | 'remoteAddress' | 'remotePort' | 'join' | 'backup' | 'state'> {
  /** The iperf3 stream (MPTCP connection) the subflow belongs to. */
  readonly stream: number;
}

/**
 * One MPTCP subflow's numbers over one interval: the data-level bytes it carried in this side's direction
 * (sent on the streams this side sends on, received otherwise), like iperf3's per-stream lines.
 */
export interface PerfIntervalSubflow extends PerfSubflowIdentity, PerfIntervalNumbers {
  /** Sender side: the smoothed RTT. */
  readonly rttMicros?: number;
}

export interface PerfInterval {
  readonly streams: readonly PerfIntervalStream[];
  readonly sum: Omit<PerfIntervalNumbers, 'cwndBytes'>;
  /** `--bidir`: the sum of the reverse streams (server to client); `sum` is then the forward streams'. */
  readonly sumBidirReverse?: Omit<PerfIntervalNumbers, 'cwndBytes'>;
  /** The MPTCP subflows of the streams (absent when no stream is an MPTCP connection: plain TCP). */
  readonly subflows?: readonly PerfIntervalSubflow[];
}

/** One MPTCP subflow's totals since the test start (or the end of the omit period). */
export interface PerfSubflowSummary extends PerfSubflowIdentity {
  readonly seconds: number;
  /** Data-level bytes this side sent on the subflow and received from it. */
  readonly bytesSent: number;
  /** Bytes sent on the subflow that the peer acknowledged (what the path delivered). */
  readonly bytesAcked: number;
  readonly bytesReceived: number;
  /** Bits per second in this side's direction of the stream (sent if it sends, received otherwise). */
  readonly bitsPerSecond: number;
  readonly retransmits?: number;
  /** Whether this side sends on the stream. */
  readonly sender: boolean;
}

/** One direction's totals of a stream or of the test. */
export interface PerfTotals {
  readonly bytes: number;
  readonly seconds: number;
  readonly bitsPerSecond: number;
  /** Sender side only, when known. */
  readonly retransmits?: number;
}

export interface PerfStreamSummary {
  readonly id: number;
  /** Whether this side sent on the stream. */
  readonly localIsSender: boolean;
  /** The stream's sender and receiver totals (one of them reported by the peer; undefined if it never did). */
  readonly sender: PerfTotals | undefined;
  readonly receiver: PerfTotals | undefined;
}

/** The outcome of a test, from one side's point of view. */
export interface PerfTestResult {
  readonly role: 'client' | 'server';
  readonly reverse: boolean;
  readonly cookie: string;
  readonly streams: readonly PerfStreamSummary[];
  /** Sums over the streams (sender side / receiver side of each). */
  readonly sumSent: PerfTotals;
  readonly sumReceived: PerfTotals;
  /** `--bidir`: the reverse streams' sums (server to client); sumSent/sumReceived are then the forward streams'. */
  readonly sumSentBidirReverse?: PerfTotals;
  readonly sumReceivedBidirReverse?: PerfTotals;
  readonly intervals: readonly PerfInterval[];
  /** The MPTCP subflows of every stream, with their totals (absent for plain TCP). */
  readonly subflows?: readonly PerfSubflowSummary[];
  /** Whether the peer's results were received (false if the test was aborted). */
  readonly complete: boolean;
  /** The iperf3-like JSON document (what `--json` prints). */
  readonly json: Record<string, unknown>;
}

/** Connection endpoints as printed in "connected" lines. */
export interface PerfEndpoints {
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
}

/** iperf3's "system_info": like `uname -a`, shortened. */
export function systemInfo(): string {
  return `${osType()} ${hostname()} ${release()} ${arch()}`;
}

/** Strips IPv4-mapped IPv6 to plain IPv4 ("::ffff:127.0.0.1" -> "127.0.0.1"), like iperf3's mapped_v4_to_regular_v4. */
export function displayAddress(address: string | undefined): string {
  if (address === undefined) return '?';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export function connectedLine(id: number, e: PerfEndpoints): string {
  return `[${String(id).padStart(3)}] local ${displayAddress(e.localAddress)} port ${e.localPort ?? '?'} connected to ${displayAddress(e.remoteAddress)} port ${e.remotePort ?? '?'}\n`;
}

export function connectedJson(id: number, e: PerfEndpoints & { mptcpStatus?(): PerfMptcpStatus | undefined }): Record<string, unknown> {
  const status = e.mptcpStatus?.();
  return {
    socket: id,
    local_host: displayAddress(e.localAddress),
    local_port: e.localPort ?? 0,
    remote_host: displayAddress(e.remoteAddress),
    remote_port: e.remotePort ?? 0,
    // An MPTCP connection: "mptcp" or "fallback" (plain TCP), and then the kernel counter of the reason.
    ...(status ? { mptcp: status.mode } : {}),
    ...(status?.fallbackCounter !== undefined ? { mptcp_fallback: status.fallbackCounter, mptcp_fallback_reason: status.fallbackReason } : {}),
  };
}

/**
 * "[  5] MPTCP fallback to TCP: the server answered ... (MPCapableFallbackSYNACK)" after a stream's connected
 * line when its MPTCP connection fell back to plain TCP; '' otherwise (still MPTCP, or plain TCP asked for).
 */
export function fallbackLine(id: number, e: { mptcpStatus?(): PerfMptcpStatus | undefined }): string {
  const status = e.mptcpStatus?.();
  if (status?.mode !== 'fallback') return '';
  return `[${String(id).padStart(3)}] MPTCP fallback to TCP: ${status.fallbackReason ?? 'plain TCP'} (${status.fallbackCounter ?? 'fallback'})\n`;
}

const SEPARATOR = '- - - - - - - - - - - - - - - - - - - - - - - - -\n';

function label(id: number | 'SUM', role = ''): string {
  return (id === 'SUM' ? '[SUM]' : `[${String(id).padStart(3)}]`) + role;
}

/** iperf3's `--bidir` role column: "[TX-C]", "[RX-S]" (this side sends or receives, as client or server). */
function roleTag(sender: boolean, role: 'client' | 'server'): string {
  return `[${sender ? 'TX' : 'RX'}-${role === 'client' ? 'C' : 'S'}]`;
}

function span(start: number, end: number): string {
  return `${start.toFixed(2).padStart(6)}-${end.toFixed(2).padEnd(6)} sec`;
}

/** "[  1]   0.00-1.00   sec   720 MBytes  6.03 Gbits/sec   33    767 KBytes" (iperf3's report_bw_* formats). */
function line(id: number | 'SUM', start: number, end: number, bytes: number, seconds: number, tail: string, role = ''): string {
  return `${label(id, role)} ${span(start, end)}  ${formatBytes(bytes)}  ${formatBitrate(bitsPerSecond(bytes, seconds))}${tail}`.trimEnd() + '\n';
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

function totalsJson(t: PerfTotals | undefined, id: number | undefined, start: number, sender: boolean): Record<string, unknown> {
  const j: Record<string, unknown> = {};
  if (id !== undefined) j['socket'] = id;
  const seconds = t?.seconds ?? 0;
  Object.assign(j, {
    start,
    end: round6(start + seconds),
    seconds: round6(seconds),
    bytes: t?.bytes ?? 0,
    bits_per_second: t?.bitsPerSecond ?? 0,
  });
  if (t?.retransmits !== undefined) j['retransmits'] = t.retransmits;
  j['sender'] = sender;
  return j;
}

export interface TestRecorderOptions {
  readonly role: 'client' | 'server';
  readonly reverse: boolean;
  readonly cookie: string;
  readonly streams: readonly DataStream[];
  readonly io: PerfOutput;
  readonly json: boolean;
  /** Report interval in seconds; 0 disables interval reports. */
  readonly interval: number;
  /** Whether the test starts with an omit period. */
  readonly omitting: boolean;
  readonly clock: PerfClock;
  /** The JSON "start" object (built by the caller: connected, version, test_start...). */
  readonly jsonStart: Record<string, unknown>;
  /**
   * `--bidir`: the first half of `streams` are the forward ones (client to server), the second half the
   * reverse ones; intervals and totals are summed per half and printed with iperf3's role column.
   */
  readonly bidir?: boolean;
}

/** The numbers of one interval summed over some streams. */
function sumOf(streams: readonly PerfIntervalStream[], start: number, end: number, seconds: number, omitted: boolean, sender: boolean): Omit<PerfIntervalNumbers, 'cwndBytes'> {
  const bytes = streams.reduce((a, s) => a + s.bytes, 0);
  const retr = streams.some((s) => s.retransmits !== undefined) ? streams.reduce((a, s) => a + (s.retransmits ?? 0), 0) : undefined;
  return { start, end, seconds, bytes, bitsPerSecond: bitsPerSecond(bytes, seconds), ...(retr !== undefined ? { retransmits: retr } : {}), omitted, sender };
}

/** Collects the statistics of one running test and prints them. */
export class TestRecorder {
  private startMs = 0;
  private lastMs = 0;
  private endMs: number | undefined;
  private omitting: boolean;
  private base = new Map<number, number>();
  private last = new Map<number, number>();
  private lastRetrans = new Map<number, number>();
  private firstRetrans = new Map<number, number>();
  private readonly intervals: PerfInterval[] = [];
  private cpuStart = cpuUsage();
  private started = false;
  private headerPrinted = false;
  private frozen: Map<number, number> | undefined;
  /** Per subflow ("stream/id"): counters at the (post-omit) start, and at the last tick. */
  private subflowBase = new Map<string, SubflowCounters>();
  private subflowLast = new Map<string, SubflowCounters>();
  /** Whether any stream has been seen as an MPTCP connection (then intervals and totals list subflows). */
  private mptcpSeen = false;
  private frozenSubflows: PerfSubflowSummary[] | undefined;

  constructor(private readonly o: TestRecorderOptions) {
    this.omitting = o.omitting;
  }

  /** `--bidir`: how many of the streams are forward ones (the first half); otherwise all of them. */
  private get forwardCount(): number {
    return this.o.bidir ? Math.ceil(this.o.streams.length / 2) : this.o.streams.length;
  }

  /** Splits per-stream items (in stream order) into the forward and the `--bidir` reverse ones. */
  private split<T>(items: readonly T[]): [T[], T[]] {
    const n = this.forwardCount;
    return [items.slice(0, n), items.slice(n)];
  }

  /** The interval's sums: `sum` over the forward streams, and `sumBidirReverse` over the reverse ones (--bidir). */
  private intervalSums(streams: readonly PerfIntervalStream[], start: number, end: number, seconds: number): Pick<PerfInterval, 'sum' | 'sumBidirReverse'> {
    const [fwd, rev] = this.split(streams);
    const sum = sumOf(fwd, start, end, seconds, this.omitting, fwd[0]?.sender ?? false);
    if (!this.o.bidir) return { sum };
    return { sum, sumBidirReverse: sumOf(rev, start, end, seconds, this.omitting, rev[0]?.sender ?? false) };
  }

  /** Whether any local sender stream's transport reports retransmits. */
  get senderHasRetransmits(): boolean {
    return this.o.streams.some((s) => s.sender && s.tcpStats()?.retransmits !== undefined);
  }

  /** The test starts now (TEST_START). */
  start(): void {
    const now = this.o.clock();
    this.started = true;
    this.startMs = this.lastMs = now;
    this.cpuStart = cpuUsage();
    // Everything a stream carried counts, from its connection on: the peer may start sending as soon as it
    // has written TEST_START / TEST_RUNNING, so data can be read here before TEST_START is.
    for (const s of this.o.streams) {
      this.base.set(s.id, 0);
      this.last.set(s.id, 0);
      const r = s.tcpStats()?.retransmits;
      if (r !== undefined) {
        this.lastRetrans.set(s.id, r);
        this.firstRetrans.set(s.id, r);
      }
      // Subflow bytes count from the connection on, like the streams'; retransmits from now.
      for (const sf of s.subflows() ?? []) {
        this.mptcpSeen = true;
        const key = subflowKey(s.id, sf.id);
        const base = { sent: 0, acked: 0, received: 0, retransmits: sf.retransmits ?? 0 };
        this.subflowBase.set(key, base);
        this.subflowLast.set(key, base);
      }
    }
  }

  get isStarted(): boolean {
    return this.started;
  }

  /** Seconds since the (post-omit) start. */
  elapsed(): number {
    return ((this.endMs ?? this.o.clock()) - this.startMs) / 1000;
  }

  /** The omit period is over: statistics restart from zero now. */
  omitDone(): void {
    if (!this.omitting) return;
    this.tick(true);
    this.omitting = false;
    const now = this.o.clock();
    this.startMs = this.lastMs = now;
    this.cpuStart = cpuUsage();
    for (const s of this.o.streams) {
      this.base.set(s.id, s.bytes);
      this.last.set(s.id, s.bytes);
      const r = s.tcpStats()?.retransmits;
      if (r !== undefined) this.firstRetrans.set(s.id, r);
      for (const sf of s.subflows() ?? []) {
        const now = countersOf(sf);
        this.subflowBase.set(subflowKey(s.id, sf.id), now);
        this.subflowLast.set(subflowKey(s.id, sf.id), now);
      }
    }
  }

  /**
   * The subflows of every stream now, with their numbers since the last tick (advancing the last-tick
   * counters). A subflow first seen now counts from zero (it joined since); undefined when no stream is an
   * MPTCP connection.
   */
  private sampleSubflows(start: number, end: number, seconds: number): PerfIntervalSubflow[] | undefined {
    const pairs = this.currentSubflows();
    const out: PerfIntervalSubflow[] = [];
    for (const [s, sf] of pairs ?? []) {
      const key = subflowKey(s.id, sf.id);
      const now = countersOf(sf);
      const last = this.subflowLast.get(key) ?? ZERO_COUNTERS;
      if (!this.subflowBase.has(key)) this.subflowBase.set(key, ZERO_COUNTERS);
      this.subflowLast.set(key, now);
      // Sending: what the path delivered (acknowledged), not what sits in its queue; like the stream lines' receiver view.
      const bytes = s.sender ? now.acked - last.acked : now.received - last.received;
      out.push({
        ...identity(s.id, sf),
        start,
        end,
        seconds,
        bytes,
        bitsPerSecond: bitsPerSecond(bytes, seconds),
        ...(s.sender && sf.retransmits !== undefined ? { retransmits: now.retransmits - last.retransmits } : {}),
        ...(s.sender && sf.cwndBytes !== undefined ? { cwndBytes: sf.cwndBytes } : {}),
        ...(s.sender && sf.rttMicros !== undefined ? { rttMicros: sf.rttMicros } : {}),
        omitted: this.omitting,
        sender: s.sender,
      });
    }
    if (pairs !== undefined) this.mptcpSeen = true;
    return pairs !== undefined || this.mptcpSeen ? out : undefined;
  }

  /** Every stream's subflows now, as [stream, subflow] pairs; undefined when no stream is an MPTCP connection. */
  private currentSubflows(): Array<[DataStream, PerfSubflowStats]> | undefined {
    let pairs: Array<[DataStream, PerfSubflowStats]> | undefined;
    for (const s of this.o.streams) {
      const list = s.subflows();
      if (list === undefined) continue;
      pairs ??= [];
      for (const sf of list) pairs.push([s, sf]);
    }
    return pairs;
  }

  /** Adds the bytes since the last tick to the last interval (already printed), and advances the counters. */
  private foldSliverIntoLastInterval(now: number, seconds: number): void {
    const prev = this.intervals[this.intervals.length - 1]!;
    const streams = prev.streams.map((ps) => {
      const s = this.o.streams.find((x) => x.id === ps.id);
      if (!s) return ps;
      const delta = s.bytes - (this.last.get(s.id) ?? 0);
      this.last.set(s.id, s.bytes);
      const total = ps.seconds + seconds;
      return { ...ps, bytes: ps.bytes + delta, seconds: total, end: ps.end + seconds, bitsPerSecond: bitsPerSecond(ps.bytes + delta, total) };
    });
    const sumSeconds = prev.sum.seconds + seconds;
    let subflows = prev.subflows;
    const sliver = this.sampleSubflows(prev.sum.start, prev.sum.end + seconds, sumSeconds);
    if (sliver !== undefined) {
      subflows = sliver.map((sf) => {
        const p = prev.subflows?.find((x) => x.stream === sf.stream && x.id === sf.id);
        if (!p) return { ...sf, bitsPerSecond: bitsPerSecond(sf.bytes, sumSeconds) };
        const bytes = p.bytes + sf.bytes;
        const retransmits = p.retransmits !== undefined || sf.retransmits !== undefined ? (p.retransmits ?? 0) + (sf.retransmits ?? 0) : undefined;
        return { ...sf, bytes, bitsPerSecond: bitsPerSecond(bytes, sumSeconds), ...(retransmits !== undefined ? { retransmits } : {}) };
      });
    }
    this.intervals[this.intervals.length - 1] = {
      ...prev,
      ...(subflows !== undefined ? { subflows } : {}),
      streams,
      ...this.intervalSums(streams, prev.sum.start, prev.sum.end + seconds, sumSeconds),
    };
    this.lastMs = now;
  }

  /** Closes the current interval and reports it. */
  tick(final = false, now = this.o.clock()): void {
    if (!this.started || this.endMs !== undefined) return;
    const seconds = (now - this.lastMs) / 1000;
    // A final sliver shorter than a tenth of the interval is not worth a line (unless it is the only one):
    // its bytes are folded into the previous interval, so the intervals still add up to the totals.
    if (final && this.intervals.length > 0 && this.o.interval > 0 && seconds < this.o.interval * 0.1) {
      this.foldSliverIntoLastInterval(now, seconds);
      return;
    }
    if (!final && seconds <= 0) return;
    const start = (this.lastMs - this.startMs) / 1000;
    const end = (now - this.startMs) / 1000;
    const streams: PerfIntervalStream[] = this.o.streams.map((s) => {
      const bytes = s.bytes - (this.last.get(s.id) ?? 0);
      this.last.set(s.id, s.bytes);
      const stats = s.sender ? s.tcpStats() : undefined;
      let retransmits: number | undefined;
      if (stats?.retransmits !== undefined) {
        retransmits = stats.retransmits - (this.lastRetrans.get(s.id) ?? stats.retransmits);
        this.lastRetrans.set(s.id, stats.retransmits);
      }
      return {
        id: s.id,
        start,
        end,
        seconds,
        bytes,
        bitsPerSecond: bitsPerSecond(bytes, seconds),
        ...(retransmits !== undefined ? { retransmits } : {}),
        ...(stats?.cwndBytes !== undefined ? { cwndBytes: stats.cwndBytes } : {}),
        omitted: this.omitting,
        sender: s.sender,
      };
    });
    this.lastMs = now;
    const subflows = this.sampleSubflows(start, end, seconds);
    const interval: PerfInterval = {
      streams,
      ...this.intervalSums(streams, start, end, seconds),
      ...(subflows !== undefined ? { subflows } : {}),
    };
    this.intervals.push(interval);
    if (!this.o.json && this.o.interval > 0) this.printInterval(interval);
  }

  /** The role column of a stream or sum line: iperf3's "[TX-C]" with --bidir, nothing otherwise. */
  private role(sender: boolean): string {
    return this.o.bidir ? roleTag(sender, this.o.role) : '';
  }

  private printInterval(iv: PerfInterval): void {
    const out: string[] = [];
    const withRetr = iv.streams.some((s) => s.retransmits !== undefined);
    if (!this.headerPrinted) {
      out.push(`[ ID]${this.o.bidir ? '[Role]' : ''} Interval           Transfer     Bitrate${withRetr ? '         Retr  Cwnd' : ''}\n`);
      this.headerPrinted = true;
    }
    const omitted = iv.sum.omitted ? '  (omitted)' : '';
    const [fwd, rev] = this.split(iv.streams);
    const groups: Array<[PerfIntervalStream[], Omit<PerfIntervalNumbers, 'cwndBytes'>]> = [[fwd, iv.sum]];
    if (iv.sumBidirReverse !== undefined) groups.push([rev, iv.sumBidirReverse]);
    for (const [streams, sum] of groups) {
      for (const s of streams) {
        const role = this.role(s.sender);
        const tail = s.retransmits !== undefined ? `  ${String(s.retransmits).padStart(3)}   ${s.cwndBytes !== undefined ? formatBytes(s.cwndBytes) : ''}` : '';
        out.push(line(s.id, s.start, s.end, s.bytes, s.seconds, tail + omitted, role));
        for (const sf of iv.subflows ?? []) {
          if (sf.stream !== s.id) continue;
          const sfTail = sf.retransmits !== undefined ? `  ${String(sf.retransmits).padStart(3)}   ${(sf.cwndBytes !== undefined ? formatBytes(sf.cwndBytes) : '').padEnd(12)}` : '';
          out.push(subflowLine(sf, sf.bytes, sf.seconds, `${sfTail}  ${subflowWhere(sf)}${omitted}`, role));
        }
      }
      if (streams.length > 1) {
        const tail = sum.retransmits !== undefined ? `  ${String(sum.retransmits).padStart(3)}` : '';
        out.push(line('SUM', sum.start, sum.end, sum.bytes, sum.seconds, tail + omitted, this.role(sum.sender)));
      }
    }
    if (groups.some(([streams]) => streams.length > 1)) out.push(SEPARATOR);
    this.o.io.stdout(out.join(''));
  }

  /**
   * The test ends now (TEST_END): reports the last partial interval and freezes the duration, and the
   * counts of the streams this side sends on, so that the sender's totals are exactly the sum of its
   * intervals (a write callback that fires after TEST_END is not counted, as iperf3 counts at write time).
   * A server's receiving streams are frozen later, at the results exchange, to include data still in
   * flight. A client ends the test by its own clock, so its receiving streams (-R, --bidir) are frozen
   * here too, as iperf3's client stops reading at TEST_END: otherwise the bytes the server sends until
   * TEST_END reaches it would be divided by the client's shorter duration (35 Mbit/s over 30 Mbit/s of
   * links in a --bidir run).
   */
  finish(): void {
    if (!this.started || this.endMs !== undefined) return;
    // One instant: the last interval ends where the totals do.
    const now = this.o.clock();
    this.tick(true, now);
    this.endMs = now;
    // A sending side's subflow totals end here too (what was acknowledged by now, over the test's duration),
    // as its intervals do; a receiving side's are taken with its counts, at the results exchange.
    const client = this.o.role === 'client';
    if (this.o.streams.length > 0 && (client || this.o.streams.every((s) => s.sender))) this.frozenSubflows ??= this.subflowTotals();
    this.frozen ??= new Map();
    for (const s of this.o.streams) if (s.sender || client) this.frozen.set(s.id, this.last.get(s.id)! - (this.base.get(s.id) ?? 0));
  }

  /** Bytes this side moved on all streams since the (post-omit) start. */
  bytesSinceStart(): number {
    let total = 0;
    for (const s of this.o.streams) total += s.bytes - (this.base.get(s.id) ?? 0);
    return total;
  }

  /** This side's own count for a stream (bytes since the start, and the stream's sender retransmits). */
  private own(s: DataStream): PerfTotals {
    const bytes = this.frozen?.get(s.id) ?? s.bytes - (this.base.get(s.id) ?? 0);
    const seconds = this.elapsed();
    const r = s.sender ? s.tcpStats()?.retransmits : undefined;
    const retransmits = r !== undefined ? r - (this.firstRetrans.get(s.id) ?? 0) : undefined;
    return { bytes, seconds, bitsPerSecond: bitsPerSecond(bytes, seconds), ...(retransmits !== undefined ? { retransmits } : {}) };
  }

  private cpuPercent(): { total: number; user: number; system: number } {
    const used = cpuUsage(this.cpuStart);
    const wallMicros = Math.max(1, this.elapsed() * 1e6);
    const user = (used.user / wallMicros) * 100;
    const system = (used.system / wallMicros) * 100;
    return { total: user + system, user, system };
  }

  /**
   * The results message for the peer. The counts are taken now and frozen: the summary shows the same
   * numbers the peer was given, even if a few more bytes are drained afterwards.
   */
  results(): IperfResults {
    this.frozenSubflows ??= this.subflowTotals();
    this.frozen ??= new Map();
    for (const s of this.o.streams) if (!this.frozen.has(s.id)) this.frozen.set(s.id, s.bytes - (this.base.get(s.id) ?? 0));
    const cpu = this.cpuPercent();
    const anySender = this.o.streams.some((s) => s.sender);
    return {
      cpuUtilTotal: cpu.total,
      cpuUtilUser: cpu.user,
      cpuUtilSystem: cpu.system,
      senderHasRetransmits: anySender ? (this.senderHasRetransmits ? 1 : 0) : -1,
      streams: this.o.streams.map((s): IperfStreamResult => {
        const own = this.own(s);
        return {
          id: s.id,
          bytes: own.bytes,
          retransmits: own.retransmits ?? -1,
          jitter: 0,
          errors: 0,
          packets: 0,
          startTime: 0,
          endTime: round6(own.seconds),
        };
      }),
    };
  }

  /**
   * The final result with the peer's numbers (undefined: the peer never sent them); prints the summary
   * (text) or the JSON document, unless `print` is false.
   */
  summarize(peer: IperfResults | undefined, extra: { error?: string; print?: boolean } = {}): PerfTestResult {
    const cpu = this.cpuPercent();
    const peerStreams = new Map((peer?.streams ?? []).map((s) => [s.id, s]));
    const streams: PerfStreamSummary[] = this.o.streams.map((s) => {
      const own = this.started ? this.own(s) : undefined;
      const p = peerStreams.get(s.id);
      let other: PerfTotals | undefined;
      if (p) {
        const seconds = Math.max(0, p.endTime - p.startTime);
        const retransmits = !s.sender && peer?.senderHasRetransmits === 1 && p.retransmits >= 0 ? p.retransmits : undefined;
        other = { bytes: p.bytes, seconds, bitsPerSecond: bitsPerSecond(p.bytes, seconds), ...(retransmits !== undefined ? { retransmits } : {}) };
      }
      return { id: s.id, localIsSender: s.sender, sender: s.sender ? own : other, receiver: s.sender ? other : own };
    });
    const [forward, reverse] = this.split(streams);
    const sum = (pick: (s: PerfStreamSummary) => PerfTotals | undefined, group = forward): PerfTotals => {
      const parts = group.map(pick).filter((t): t is PerfTotals => t !== undefined);
      const bytes = parts.reduce((a, t) => a + t.bytes, 0);
      const seconds = parts.reduce((a, t) => Math.max(a, t.seconds), 0);
      const withRetr = parts.filter((t) => t.retransmits !== undefined);
      return {
        bytes,
        seconds,
        bitsPerSecond: bitsPerSecond(bytes, seconds),
        ...(withRetr.length > 0 ? { retransmits: withRetr.reduce((a, t) => a + t.retransmits!, 0) } : {}),
      };
    };
    const sumSent = sum((s) => s.sender);
    const sumReceived = sum((s) => s.receiver);
    const bidir = this.o.bidir ? { sumSentBidirReverse: sum((s) => s.sender, reverse), sumReceivedBidirReverse: sum((s) => s.receiver, reverse) } : {};
    const subflows = this.started ? (this.frozenSubflows ?? this.subflowTotals()) : undefined;
    const json = this.json(streams, sumSent, sumReceived, cpu, peer, extra.error, subflows, bidir);
    const result: PerfTestResult = {
      role: this.o.role,
      reverse: this.o.reverse,
      cookie: this.o.cookie,
      streams,
      sumSent,
      sumReceived,
      ...bidir,
      intervals: this.intervals,
      ...(subflows !== undefined ? { subflows } : {}),
      complete: peer !== undefined,
      json,
    };
    if (extra.print !== false) {
      if (this.o.json) this.o.io.stdout(`${JSON.stringify(json, null, 2)}\n`);
      else if (this.started) this.printSummary(streams, sumSent, sumReceived, subflows, bidir);
    }
    return result;
  }

  /** Every subflow's totals since the (post-omit) start; undefined when no stream is an MPTCP connection. */
  private subflowTotals(): PerfSubflowSummary[] | undefined {
    const seconds = this.elapsed();
    const pairs = this.currentSubflows();
    const out: PerfSubflowSummary[] = [];
    for (const [s, sf] of pairs ?? []) {
      const now = countersOf(sf);
      const base = this.subflowBase.get(subflowKey(s.id, sf.id)) ?? ZERO_COUNTERS;
      const bytesSent = now.sent - base.sent;
      const bytesAcked = now.acked - base.acked;
      const bytesReceived = now.received - base.received;
      out.push({
        ...identity(s.id, sf),
        seconds,
        bytesSent,
        bytesAcked,
        bytesReceived,
        bitsPerSecond: bitsPerSecond(s.sender ? bytesAcked : bytesReceived, seconds),
        ...(s.sender && sf.retransmits !== undefined ? { retransmits: now.retransmits - base.retransmits } : {}),
        sender: s.sender,
      });
    }
    return pairs !== undefined || this.mptcpSeen ? out : undefined;
  }

  private printSummary(
    streams: readonly PerfStreamSummary[],
    sumSent: PerfTotals,
    sumReceived: PerfTotals,
    subflows: readonly PerfSubflowSummary[] | undefined,
    bidir: { sumSentBidirReverse?: PerfTotals; sumReceivedBidirReverse?: PerfTotals },
  ): void {
    const out: string[] = [];
    const [forward, reverse] = this.split(streams);
    if (forward.length <= 1 || this.intervals.length === 0 || this.o.interval === 0) out.push(SEPARATOR);
    const withRetr = streams.some((s) => s.sender?.retransmits !== undefined);
    out.push(`[ ID]${this.o.bidir ? '[Role]' : ''} Interval           Transfer     Bitrate${withRetr ? '         Retr' : ''}\n`);
    const senderTail = (t: PerfTotals): string => (t.retransmits !== undefined ? `  ${String(t.retransmits).padStart(3)}             sender` : '                  sender');
    const receiverTail = '                  receiver';
    const groups: Array<[PerfStreamSummary[], PerfTotals, PerfTotals]> = [[forward, sumSent, sumReceived]];
    if (bidir.sumSentBidirReverse && bidir.sumReceivedBidirReverse) groups.push([reverse, bidir.sumSentBidirReverse, bidir.sumReceivedBidirReverse]);
    for (const [group, sent, received] of groups) {
      const role = this.role(group[0]?.localIsSender ?? false);
      for (const s of group) {
        if (s.sender) out.push(line(s.id, 0, s.sender.seconds, s.sender.bytes, s.sender.seconds, senderTail(s.sender), role));
        if (s.receiver) out.push(line(s.id, 0, s.receiver.seconds, s.receiver.bytes, s.receiver.seconds, receiverTail, role));
      }
      if (group.length > 1) {
        if (group.some((s) => s.sender)) out.push(line('SUM', 0, sent.seconds, sent.bytes, sent.seconds, senderTail(sent), role));
        if (group.some((s) => s.receiver)) out.push(line('SUM', 0, received.seconds, received.bytes, received.seconds, receiverTail, role));
      }
    }
    if (subflows !== undefined && subflows.length > 0) {
      // MPTCP: what each subflow carried in this side's direction, measured here.
      const sending = subflows.every((sf) => sf.sender) ? 'sent on each and acknowledged' : subflows.every((sf) => !sf.sender) ? 'received from each' : 'sent on each and acknowledged / received from each';
      out.push(`MPTCP subflows (data bytes this side ${sending}):\n`);
      for (const sf of subflows) {
        const bytes = sf.sender ? sf.bytesAcked : sf.bytesReceived;
        const tail = sf.retransmits !== undefined ? `  ${String(sf.retransmits).padStart(3)}` : '     ';
        out.push(subflowLine(sf, bytes, sf.seconds, `${tail}  ${sf.sender ? 'sender  ' : 'receiver'}  ${subflowWhere(sf)}`));
      }
    }
    this.o.io.stdout(out.join(''));
  }

  private json(
    streams: readonly PerfStreamSummary[],
    sumSent: PerfTotals,
    sumReceived: PerfTotals,
    cpu: { total: number; user: number; system: number },
    peer: IperfResults | undefined,
    error: string | undefined,
    subflows: readonly PerfSubflowSummary[] | undefined,
    bidir: { sumSentBidirReverse?: PerfTotals; sumReceivedBidirReverse?: PerfTotals },
  ): Record<string, unknown> {
    const reverseSender = this.split(streams)[1][0]?.localIsSender ?? false;
    const doc: Record<string, unknown> = {
      start: this.o.jsonStart,
      intervals: this.intervals.map((iv) => ({
        streams: iv.streams.map((st) => intervalJson(st, { socket: st.id })),
        sum: intervalJson(iv.sum),
        ...(iv.sumBidirReverse !== undefined ? { sum_bidir_reverse: intervalJson(iv.sumBidirReverse) } : {}),
        ...(iv.subflows !== undefined ? { subflows: iv.subflows.map(subflowIntervalJson) } : {}),
      })),
      end: {
        streams: streams.map((s) => ({
          sender: totalsJson(s.sender, s.id, 0, s.localIsSender),
          receiver: totalsJson(s.receiver, s.id, 0, s.localIsSender),
        })),
        sum_sent: totalsJson(sumSent, undefined, 0, streams[0]?.localIsSender ?? false),
        sum_received: totalsJson(sumReceived, undefined, 0, streams[0]?.localIsSender ?? false),
        ...(bidir.sumSentBidirReverse !== undefined ? { sum_sent_bidir_reverse: totalsJson(bidir.sumSentBidirReverse, undefined, 0, reverseSender) } : {}),
        ...(bidir.sumReceivedBidirReverse !== undefined ? { sum_received_bidir_reverse: totalsJson(bidir.sumReceivedBidirReverse, undefined, 0, reverseSender) } : {}),
        cpu_utilization_percent: {
          host_total: cpu.total,
          host_user: cpu.user,
          host_system: cpu.system,
          remote_total: peer?.cpuUtilTotal ?? 0,
          remote_user: peer?.cpuUtilUser ?? 0,
          remote_system: peer?.cpuUtilSystem ?? 0,
        },
        ...(subflows !== undefined ? { subflows: subflows.map(subflowSummaryJson) } : {}),
      },
    };
    if (error !== undefined) doc['error'] = error;
    return doc;
  }
}

// ---------------------------------------------------------------------------------------------------------
// MPTCP subflows

interface SubflowCounters {
  readonly sent: number;
  /** Sent and acknowledged by the peer (TCP bytes acked on the subflow): what the path delivered. */
  readonly acked: number;
  readonly received: number;
  readonly retransmits: number;
}

const ZERO_COUNTERS: SubflowCounters = { sent: 0, acked: 0, received: 0, retransmits: 0 };

function subflowKey(stream: number, subflow: number): string {
  return `${stream}/${subflow}`;
}

function countersOf(sf: PerfSubflowStats): SubflowCounters {
  return { sent: sf.bytesSent, acked: sf.bytesAcked ?? sf.bytesSent, received: sf.bytesReceived, retransmits: sf.retransmits ?? 0 };
}

function identity(stream: number, sf: PerfSubflowStats): PerfSubflowIdentity {
  return {
    stream,
    id: sf.id,
    localAddress: sf.localAddress,
    localPort: sf.localPort,
    remoteAddress: sf.remoteAddress,
    remotePort: sf.remotePort,
    join: sf.join,
    backup: sf.backup,
    state: sf.state,
  };
}

/** "198.18.1.2 port 40001 -> 198.18.1.1 port 5201 (join, backup)". */
function subflowWhere(sf: PerfSubflowIdentity): string {
  const flags = [sf.join ? 'join' : 'initial', ...(sf.backup ? ['backup'] : []), ...(sf.state !== 'ESTABLISHED' ? [sf.state.toLowerCase()] : [])];
  return `${displayAddress(sf.localAddress)} port ${sf.localPort} -> ${displayAddress(sf.remoteAddress)} port ${sf.remotePort} (${flags.join(', ')})`;
}

/**
 * A subflow's line under its stream's, in the same columns: "[  5]   subflow 1      60.0 MBytes   503 Mbits/sec ..."
 * (the subflow id where the stream line has its interval).
 */
function subflowLine(sf: PerfSubflowIdentity, bytes: number, seconds: number, tail: string, role = ''): string {
  const where = `  subflow ${sf.id}`.padEnd(17);
  return `${label(sf.stream, role)} ${where}  ${formatBytes(bytes)}  ${formatBitrate(bitsPerSecond(bytes, seconds))}${tail}`.trimEnd() + '\n';
}

function subflowIdentityJson(sf: PerfSubflowIdentity): Record<string, unknown> {
  return {
    socket: sf.stream,
    subflow: sf.id,
    local_host: displayAddress(sf.localAddress),
    local_port: sf.localPort,
    remote_host: displayAddress(sf.remoteAddress),
    remote_port: sf.remotePort,
    join: sf.join,
    backup: sf.backup,
    state: sf.state,
  };
}

function subflowIntervalJson(sf: PerfIntervalSubflow): Record<string, unknown> {
  return intervalJson(sf, subflowIdentityJson(sf));
}

/** One interval as iperf3's JSON has it (after `head`: the socket, or a subflow's identity). */
function intervalJson(s: PerfIntervalNumbers & { readonly rttMicros?: number }, head: Record<string, unknown> = {}): Record<string, unknown> {
  const j: Record<string, unknown> = { ...head, start: round6(s.start), end: round6(s.end), seconds: s.seconds, bytes: s.bytes, bits_per_second: s.bitsPerSecond };
  if (s.retransmits !== undefined) j['retransmits'] = s.retransmits;
  if (s.cwndBytes !== undefined) j['snd_cwnd'] = s.cwndBytes;
  if (s.rttMicros !== undefined) j['rtt'] = s.rttMicros;
  j['omitted'] = s.omitted;
  j['sender'] = s.sender;
  return j;
}

function subflowSummaryJson(sf: PerfSubflowSummary): Record<string, unknown> {
  const j: Record<string, unknown> = {
    ...subflowIdentityJson(sf),
    start: 0,
    end: round6(sf.seconds),
    seconds: round6(sf.seconds),
    bytes_sent: sf.bytesSent,
    bytes_acked: sf.bytesAcked,
    bytes_received: sf.bytesReceived,
    bits_per_second: sf.bitsPerSecond,
  };
  if (sf.retransmits !== undefined) j['retransmits'] = sf.retransmits;
  j['sender'] = sf.sender;
  return j;
}
