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
 *   for N <= 1,000 (at 10,000 that is over 1 GB);
 * - the per-call cost of the scans the host made before its attention sets (every connection's
 *   pollTimeout, pollTransmitFrom, pollEvent), measured in the same run as a ratio.
 * `SCALE_MAX=1000 npm run bench scale` stops at 1,000 (the 10,000 round is skipped when 1,000 took over 20 s).
 */
import { establishAll, manyConnections } from '../test/support/many-connections.js';
import { nsPerOp, sig3, type BenchResult } from './measure.js';

const gc = (globalThis as { gc?: () => void }).gc;

function memory(): number {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
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

  // Count the connections' timer expiries (an own property shadowing the method, for this round only).
  let expiries = 0;
  for (const h of [pair.clientHost, pair.serverHost]) {
    for (const c of h.mptcpConnections()) {
      const handle = c.handleTimeout.bind(c);
      c.handleTimeout = (t) => {
        expiries++;
        handle(t);
      };
    }
  }
  const small = new Uint8Array(100);
  const t1 = process.hrtime.bigint();
  for (const c of m.clients) c.write(small);
  pair.wakeClient();
  pair.runFor(1_000_000);
  const smallSeconds = Number(process.hrtime.bigint() - t1) / 1e9;
  let got = 0;
  for (const v of m.received.values()) got += v;
  if (got !== 100 * n) throw new Error(`scale: ${got} of ${100 * n} bytes arrived`);
  results.push({ name: `scale.write 100 bytes each, 1 s virtual, per connection N=${n}`, value: sig3((smallSeconds * 1e6) / n), unit: 'us', note: `wall time / N (data, ACKs, ${expiries} connection timer expiries)` });
  results.push({ name: `scale.that round per 1,000 connection timer expiries N=${n}`, value: sig3((smallSeconds * 1e3 * 1000) / Math.max(1, expiries)), unit: 'ms', note: `${expiries} expiries (${sig3(expiries / n)} per connection), all the round's work counted` });

  if (n > 1_000) return { results, establishSeconds }; // 64 KiB each: over 1 GB at 10,000
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
  return { results, establishSeconds };
}

export async function benchScale(): Promise<BenchResult[]> {
  const max = Number(process.env.SCALE_MAX ?? 10_000);
  const out: BenchResult[] = [];
  round(50); // warm-up
  for (const n of [100, 1_000, 10_000]) {
    if (n > max) break;
    const r = round(n);
    out.push(...r.results);
    if (n === 1_000 && r.establishSeconds > 20) {
      out.push({ name: 'scale N=10000', value: 0, unit: 'skipped', note: `1,000 took ${sig3(r.establishSeconds)} s to establish (O(n) per turn): 10,000 would take about 100 times that` });
      break;
    }
  }
  return out;
}
