/**
 * Scale benchmarks (issue 13): N established MPTCP connections (two subflows each) on one host pair in the
 * emulator (test/support/many-connections.ts), N = 100, 1,000, 10,000:
 * - wall time to establish all N (both subflows), virtual time bounded;
 * - the cost of one `Host.pollTimeout`, `handleTimeout` (nothing due), `pollTransmit` (nothing to send) and
 *   `pollEvent` (nothing to report) on the client host with N idle connections: what every turn of the
 *   emulator or the real-time driver pays at least once;
 * - a round in which every connection writes 100 bytes and the peer reads them (delayed-ACK timers expire):
 *   wall time per connection;
 * - memory per connection, both ends together (heap + array buffers after gc, --expose-gc): idle, and with
 *   64 KiB written by the client that the server has received and not read (held in its receive buffers),
 *   at every N (about 1.4 GB at 10,000);
 * - a timeout-heavy run (`silentPeer`): the peer goes silent and the connections' loss probes and
 *   retransmission timeouts fire for 15 s virtual; CPU time per 1,000 connection timer expiries, with all
 *   N connections timing out, and with 100 of the N (the rest idle);
 * - the per-call cost of the scans the host made before its attention sets (every connection's
 *   pollTimeout, pollTransmitFrom, pollEvent), measured in the same run as a ratio.
 * `SCALE_MAX=1000 npm run bench scale` stops at 1,000 (the 10,000 round is skipped when 1,000 took over 20 s).
 */
import { establishAll, manyConnections, type ManyConnections } from '../test/support/many-connections.js';
import { nsPerOp, sig3, type BenchResult } from './measure.js';

const gc = (globalThis as { gc?: () => void }).gc;

function memory(): number {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

const counters = new WeakMap<ManyConnections, { count: number }>();

/**
 * Counts the connections' timer expiries: the `handleTimeout` calls their hosts make (the host calls it
 * only for a connection whose deadline is due), through an own property shadowing the method. Installed
 * once per set of connections.
 */
function expiryCounter(m: ManyConnections): { readonly count: number } {
  const known = counters.get(m);
  if (known) return known;
  const counter = { count: 0 };
  counters.set(m, counter);
  for (const h of [m.pair.clientHost, m.pair.serverHost]) {
    for (const c of h.mptcpConnections()) {
      const handle = c.handleTimeout.bind(c);
      c.handleTimeout = (t) => {
        counter.count++;
        handle(t);
      };
    }
  }
  return counter;
}

function round(n: number): { results: BenchResult[]; establishSeconds: number } {
  const results: BenchResult[] = [];
  const base = memory();
  const t0 = process.hrtime.bigint();
  const m = manyConnections(n);
  if (!establishAll(m)) throw new Error(`scale: ${n} connections did not all establish two subflows`);
  const establishSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const { pair } = m;
  pair.runFor(1_000_000); // let the handshakes' last ACKs and timers settle
  const idle = memory();
  results.push({ name: `scale.establish N=${n}`, value: sig3(establishSeconds), unit: 's', note: `${n} MPTCP connections, 2 subflows each, virtual ${(pair.now / 1e6).toFixed(2)} s` });
  results.push({ name: `scale.memory idle, per connection (both ends) N=${n}`, value: Math.round((idle - base) / n), unit: 'bytes', note: gc ? 'heap + array buffers after gc' : 'no --expose-gc: noisy' });

  const host = pair.clientHost;
  const now = pair.now;
  const iterations = Math.max(20, Math.round(2_000_000 / n));
  const per = (label: string, fn: () => void): void => {
    const r = nsPerOp(fn, iterations, 5);
    results.push({ name: `scale.${label} N=${n}`, value: sig3(r.median / 1000), unit: 'us/call', note: `client host, ${n} idle connections, min ${sig3(r.min / 1000)} max ${sig3(r.max / 1000)}` });
  };
  per('pollTimeout', () => void host.pollTimeout());
  per('handleTimeout (nothing due)', () => host.handleTimeout(now));
  per('pollTransmit (nothing to send)', () => void host.pollTransmit(now));
  per('pollEvent (nothing to report)', () => void host.pollEvent());
  // What the host did per call before the attention sets (a scan of every connection), measured in the
  // same run: the same per-connection calls the scan made, through the connections' own API.
  const conns = host.mptcpConnections();
  per('scan: every connection\'s pollTimeout (before)', () => {
    let min = Infinity;
    for (const c of conns) {
      const d = c.pollTimeout();
      if (d !== undefined && d < min) min = d;
    }
  });
  per('scan: every connection\'s pollTransmitFrom (before: pollTransmit)', () => {
    for (const c of conns) if (c.pollTransmitFrom(now) !== undefined) throw new Error('scale: an idle connection had output');
  });
  per('scan: every connection\'s pollEvent (before: pollEvent)', () => {
    for (const c of conns) if (c.pollEvent() !== undefined) throw new Error('scale: an idle connection had an event');
  });

  const counter = expiryCounter(m);
  const small = new Uint8Array(100);
  const t1 = process.hrtime.bigint();
  for (const c of m.clients) c.write(small);
  pair.wakeClient();
  pair.runFor(1_000_000);
  const smallSeconds = Number(process.hrtime.bigint() - t1) / 1e9;
  let got = 0;
  for (const v of m.received.values()) got += v;
  if (got !== 100 * n) throw new Error(`scale: ${got} of ${100 * n} bytes arrived`);
  results.push({ name: `scale.write 100 bytes each, 1 s virtual, per connection N=${n}`, value: sig3((smallSeconds * 1e6) / n), unit: 'us', note: `wall time / N (data, ACKs, ${counter.count} connection timer expiries)` });
  results.push({ name: `scale.that round per 1,000 connection timer expiries N=${n}`, value: sig3((smallSeconds * 1e3 * 1000) / Math.max(1, counter.count)), unit: 'ms', note: `${counter.count} expiries (${sig3(counter.count / n)} per connection), all the round's work counted` });

  m.reading = false;
  const chunk = new Uint8Array(64 * 1024); // one buffer shared by every write: the send buffers keep views, not copies
  for (const c of m.clients) c.write(chunk);
  pair.wakeClient();
  pair.runFor(2_000_000);
  let buffered = 0;
  for (const c of m.servers) buffered += c.readableBytes;
  const loaded = memory();
  results.push({
    name: `scale.memory 64 KiB received unread, per connection (both ends) N=${n}`,
    value: Math.round((loaded - base) / n),
    unit: 'bytes',
    note: `${sig3(buffered / n)} bytes readable per server connection (packet buffers kept as views)`,
  });
  // The same with a fixed set of 100 connections timing out among the N (the others idle): what the
  // host's timer structures cost as N grows, apart from the working set of N timing-out connections.
  if (n > 100) results.push(...silentPeer(m, 100));
  results.push(...silentPeer(m));
  return { results, establishSeconds };
}

/** Virtual time of one timeout-heavy run: RTOs back off 0.2, 0.4, ... 6.4 s, about 7 expiries per subflow. */
const SILENT_MICROS = 15_000_000;
/** Timeout-heavy runs at N connections (the median is reported): at least 20,000 connection-runs, 5 to 50 runs. */
function silentRuns(n: number): number {
  return Math.min(50, Math.max(5, Math.ceil(20_000 / n)));
}

/**
 * The timeout-heavy run: the peer goes silent (both client-to-server links down), every client connection
 * writes 100 bytes, and for 15 s of virtual time their loss probes and retransmission timeouts really fire,
 * with nothing else to do. CPU time (process.cpuUsage: user + system, every thread) per 1,000 connection
 * timer expiries: a flat figure as N grows means an expiry costs the same at 10,000 connections as at 100.
 * Between runs the links come back up and 30 s of virtual time (not measured) let every connection
 * retransmit and get its data acknowledged, so each run starts from the same state.
 */
export function silentPeer(m: ManyConnections, active = m.clients.length): BenchResult[] {
  const { pair } = m;
  const n = active;
  const total = m.clients.length;
  const writers = m.clients.slice(0, active);
  const counter = expiryCounter(m);
  const rtos = (): number => {
    let t = 0;
    for (const c of writers) for (const s of c.subflows()) t += s.tcp.timeouts;
    return t;
  };
  const small = new Uint8Array(100);
  const samples: Array<{ perThousand: number; fired: number; rtoFired: number; cpuMs: number; wallMs: number }> = [];
  const runs = silentRuns(n);
  for (let run = 0; run < runs; run++) {
    for (const p of pair.paths) p.forward.setState('down');
    const rtosBefore = rtos();
    const expiriesBefore = counter.count;
    const expected = writers.map((c) => c.bytesAcknowledged + c.write(small));
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    pair.wakeClient();
    pair.runFor(SILENT_MICROS);
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const fired = counter.count - expiriesBefore;
    const rtoFired = rtos() - rtosBefore;
    if (rtoFired < n) throw new Error(`scale: only ${rtoFired} retransmission timeouts fired for ${n} silent connections`);
    samples.push({ perThousand: (cpuMs * 1000) / fired, fired, rtoFired, cpuMs, wallMs });
    for (const p of pair.paths) p.forward.setState('up');
    pair.runFor(30_000_000);
    const unacked = writers.filter((c, i) => c.bytesAcknowledged < expected[i]!).length;
    if (unacked > 0) throw new Error(`scale: ${unacked} of ${n} connections still have data unacknowledged after the peer came back`);
  }
  samples.sort((a, b) => a.perThousand - b.perThousand);
  const med = samples[Math.floor(samples.length / 2)]!;
  return [
    {
      name: active === total ? `scale.silent peer: CPU per 1,000 connection timer expiries N=${n}` : `scale.silent peer, ${active} of the N connections silent: CPU per 1,000 expiries N=${total}`,
      value: sig3(med.perThousand),
      unit: 'ms',
      note: `median of ${runs} runs (min ${sig3(samples[0]!.perThousand)} max ${sig3(samples[samples.length - 1]!.perThousand)}); that run: ${med.fired} expiries (${sig3(med.fired / n)} per connection; ${med.rtoFired} subflow RTOs), ${sig3(med.cpuMs)} ms CPU, ${sig3(med.wallMs)} ms wall, 15 s virtual`,
    },
  ];
}

export async function benchScale(): Promise<BenchResult[]> {
  const max = Number(process.env.SCALE_MAX ?? 10_000);
  const out: BenchResult[] = [];
  round(50); // warm-up
  for (const n of [100, 1_000, 10_000]) {
    if (n > max) break;
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setImmediate(resolve)); // lets the last round's buffers be freed before its base
      gc?.();
    }
    const r = round(n);
    out.push(...r.results);
    if (n === 1_000 && r.establishSeconds > 20) {
      out.push({ name: 'scale N=10000', value: 0, unit: 'skipped', note: `1,000 took ${sig3(r.establishSeconds)} s to establish (O(n) per turn): 10,000 would take about 100 times that` });
      break;
    }
  }
  return out;
}
