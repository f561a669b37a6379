/**
 * Linux's `simult_flows.sh` (tools/testing/selftests/net/mptcp) kernel <-> kernel through `mptcp emulate`:
 * the five (rate, delay) cases, each in both directions, 16 MiB over two paths (the project's kernel peer,
 * test/support/kernel_peer.py, on IPPROTO_MPTCP sockets), against the selftest's own
 * bound: ideal time at the sum of the rates x 10/9 (header overhead) + 450 ms (mptcp_connect's 2 x 200 ms
 * join sleeps and 50 ms of slack). Real time, root only (namespaces, TUN, python3).
 *
 *   node --import tsx bench/kernel-simult-flows.ts [--out FILE] [--queue Q] [--cases N] [--nice=N]
 *
 * --nice=N runs emulate at that scheduling priority (e.g. --nice=-10: ahead of everything else on a shared machine).
 *
 * Writes its rows as JSON (default bench/results/kernel-simult-flows.json) for the scenario suite's kernel
 * rows, and prints a Markdown table. The links are the selftest's: on each path netem shapes both ends'
 * egress (`netem rate R delay D limit L`), so here each path is `rate=R,delay=D,queue=Qp` both ways, Q
 * the queue netem's limit leaves (`netemQueue`: the limit counts the packets on the wire too; override
 * with --queue). The time judged is the data receiver's, from the connection's establishment to EOF (all
 * 16 MiB in; iperf3 -n would not do: its receiver stops counting at TEST_END with data still in flight);
 * the wall time from the client's start to both peers' exit is in the row too.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { emulateSkipReason, kernelMptcpPeers, pathBytes, startEmulate } from '../test/support/emulate.js';

/**
 * The selftest's cases: rate1, rate2 (Mbit/s), delay1, delay2 (ms), netem limit1, limit2 (packets), name.
 * The limits are the selftest's since "selftests: mptcp: simult_flows: adapt limits" (May 2026; before it,
 * 50 on every path): "keep the queued pkts number low, or the RTT estimator will see increasing latency".
 * The kernel's own selftest marks "unbalanced bwidth" flaky (MPTCP_LIB_SUBTEST_FLAKY=1).
 */
export const SIMULT_FLOWS_CASES: ReadonlyArray<readonly [number, number, number, number, number, number, string]> = [
  [10, 10, 0, 0, 20, 20, 'balanced bwidth'],
  [10, 10, 1, 25, 20, 50, 'balanced bwidth with unbalanced delay'],
  [10, 3, 0, 0, 30, 20, 'unbalanced bwidth'],
  [10, 3, 1, 25, 40, 30, 'unbalanced bwidth with unbalanced delay'],
  [10, 3, 25, 1, 50, 30, 'unbalanced bwidth with opposed, unbalanced delay'],
];

/** simult_flows.sh's transfer size: 16 MiB. */
export const SIMULT_FLOWS_BYTES = 2 * 2048 * 4096;

/** The selftest's bound in seconds: size*8*10 / ((r1+r2) Mbit/s * 9) + 0.45 s. */
export function simultFlowsBound(rate1: number, rate2: number, bytes = SIMULT_FLOWS_BYTES): number {
  return (bytes * 8 * 10) / ((rate1 + rate2) * 1e6 * 9) + 0.45;
}

/**
 * Our queue (packets waiting behind the one being serialized) equivalent to netem's `limit L` with a rate
 * and a delay: netem's limit counts every packet in the qdisc, also the ones serialized and waiting out
 * their delay (its tfifo holds a packet until its time to send), so at R Mbit/s and D ms about R*D/12
 * full-size packets of the limit are on the wire, one is being sent, and the rest is the queue.
 */
export function netemQueue(limit: number, rateMbps: number, delayMs: number): number {
  const onTheWire = Math.floor((rateMbps * 1e6 * delayMs * 1e-3) / (1500 * 8));
  return Math.max(1, limit - 1 - onTheWire);
}

/** One row of the table (the JSON's element). */
export interface KernelRow {
  readonly scenario: 'simult_flows';
  readonly case: string;
  readonly rows: 'kernel <-> kernel';
  readonly direction: 'client -> server' | 'server -> client';
  readonly rateMbps: readonly [number, number];
  readonly delayMs: readonly [number, number];
  readonly bytes: number;
  readonly link: readonly [string, string];
  /** The data receiver's time from establishment to EOF (all 16 MiB in), s: the judged figure. */
  readonly seconds: number;
  /** The client's start to both peers' exit (process start-up included), s. */
  readonly wallSeconds: number;
  readonly bound: number;
  readonly pass: boolean;
  /** The sender namespace's TcpRetransSegs during the transfer (every subflow). */
  readonly retransmits: number;
  /** Bytes each path carried in the data direction. */
  readonly pathBytes: readonly number[];
  /** emulate's own timing line (how late its deliveries ran). */
  readonly emulatorTiming: string;
}

async function runCase(c: (typeof SIMULT_FLOWS_CASES)[number], reverse: boolean, queue: string | undefined, nice: number | undefined): Promise<KernelRow> {
  const [r1, r2, d1, d2, l1, l2, name] = c;
  const cidrs = [['198.18.1.1/24', '198.18.1.2/24'], ['198.18.2.1/24', '198.18.2.2/24']] as const;
  const link = [`rate=${r1}M,delay=${d1}ms,queue=${queue ?? `${netemQueue(l1, r1, d1)}p`}`, `rate=${r2}M,delay=${d2}ms,queue=${queue ?? `${netemQueue(l2, r2, d2)}p`}`] as const;
  const run = await startEmulate([`${cidrs[0][0]},${cidrs[0][1]},${link[0]}`, `${cidrs[1][0]},${cidrs[1][1]},${link[1]}`], { label: 'sflows', ...(nice !== undefined ? { nice } : {}) });
  try {
    const r = await kernelMptcpPeers(run, cidrs, reverse ? 0 : SIMULT_FLOWS_BYTES, reverse ? SIMULT_FLOWS_BYTES : 0, 120_000);
    const stopped = await run.stop();
    const bound = simultFlowsBound(r1, r2);
    if (r.received !== SIMULT_FLOWS_BYTES) throw new Error(`${name}: received ${r.received} of ${SIMULT_FLOWS_BYTES} bytes`);
    return {
      scenario: 'simult_flows',
      case: name,
      rows: 'kernel <-> kernel',
      direction: reverse ? 'server -> client' : 'client -> server',
      rateMbps: [r1, r2],
      delayMs: [d1, d2],
      bytes: SIMULT_FLOWS_BYTES,
      link,
      seconds: Number(r.seconds.toFixed(3)),
      wallSeconds: Number(r.wallSeconds.toFixed(3)),
      bound: Number(bound.toFixed(3)),
      pass: r.seconds <= bound,
      retransmits: r.retransmits,
      pathBytes: pathBytes(stopped.out).map((p) => (reverse ? p.down : p.up)),
      emulatorTiming: /timing: .*/.exec(stopped.out)?.[0] ?? '',
    };
  } finally {
    await run.dispose();
  }
}

/** Runs the cases (both directions each) and returns the rows. */
export async function kernelSimultFlows(options: { queue?: string; cases?: number; nice?: number } = {}): Promise<KernelRow[]> {
  const rows: KernelRow[] = [];
  for (const c of SIMULT_FLOWS_CASES.slice(0, options.cases ?? SIMULT_FLOWS_CASES.length)) {
    for (const reverse of [false, true]) rows.push(await runCase(c, reverse, options.queue, options.nice));
  }
  return rows;
}

/** The rows as a Markdown table. */
export function kernelRowsTable(rows: readonly KernelRow[]): string {
  const lines = ['| case | direction | rates (Mbit/s) | delays (ms) | time (s) | wall (s) | bound (s) | pass | retransmits | bytes per path |', '| --- | --- | --- | --- | ---: | ---: | ---: | --- | ---: | --- |'];
  for (const r of rows) {
    lines.push(`| ${r.case} | ${r.direction} | ${r.rateMbps.join(' + ')} | ${r.delayMs.join(', ')} | ${r.seconds.toFixed(2)} | ${r.wallSeconds.toFixed(2)} | ${r.bound.toFixed(2)} | ${r.pass ? 'yes' : 'NO'} | ${r.retransmits} | ${r.pathBytes.map((b) => (b / 2 ** 20).toFixed(1) + ' MiB').join(' / ')} |`);
  }
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { out: { type: 'string' }, queue: { type: 'string' }, cases: { type: 'string' }, nice: { type: 'string' } } });
  const skip = emulateSkipReason(['python3', 'nstat']);
  if (skip) {
    console.error(`kernel simult_flows skipped: ${skip}`);
    process.exit(0);
  }
  const rows = await kernelSimultFlows({ ...(values.queue ? { queue: values.queue } : {}), ...(values.cases ? { cases: Number(values.cases) } : {}), ...(values.nice ? { nice: Number(values.nice) } : {}) });
  const out = values.out ?? 'bench/results/kernel-simult-flows.json';
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), emulator: 'mptcp emulate', nice: values.nice ?? null, loadAverage: (await import('node:os')).loadavg(), kernel: (await import('node:os')).release(), rows }, null, 2) + '\n');
  console.log(kernelRowsTable(rows));
  console.log(`\nwritten: ${out}`);
}
