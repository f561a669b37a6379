/**
 * Emulator benchmarks (wall clock allowed here, never in tests):
 * - `emu.events`: events per second of a full network run: two hosts joined by a 100 Mbit/s, 10 ms link,
 *   a window-limited sender (200 packets of 1500 bytes outstanding, an RTO-like timer re-armed on every ACK)
 *   and a receiver that ACKs every packet, for 60 s of virtual time;
 * - `emu.packets`: packets delivered per second of wall time in that run (data and ACKs);
 * - `emu.heap`: raw simulator throughput, schedule + dispatch of events with ~1,000 pending;
 * - `emu.link`: packets offered per second through one impaired `Link` (rate, delay, loss, jitter, reordering,
 *   duplication, a queue limit), offered at random gaps by a simulator event: the per-packet path alone.
 */
import { Network, type EmuHost, type Transmit } from '../src/emu/network.js';
import { Link } from '../src/emu/link.js';
import { Rng } from '../src/emu/random.js';
import { Simulator, type Micros, type SimHandler } from '../src/emu/sim.js';
import { sig3, type BenchResult } from './measure.js';

const DATA = new Uint8Array(1500);
const ACK = new Uint8Array(52);

/** Keeps `window` packets outstanding; each ACK releases one more. */
class WindowSender implements EmuHost {
  private outstanding = 0;
  private deadline: Micros | undefined;
  timeouts = 0;
  constructor(private readonly window: number) {}
  handlePacket(now: Micros): void {
    this.outstanding--;
    this.deadline = now + 200_000;
  }
  pollTransmit(now: Micros): Transmit | undefined {
    if (this.outstanding >= this.window) return undefined;
    this.outstanding++;
    if (this.deadline === undefined) this.deadline = now + 200_000;
    return { ifaceId: 0, bytes: DATA };
  }
  pollTimeout(): Micros | undefined {
    return this.deadline;
  }
  handleTimeout(): void {
    this.timeouts++;
    this.outstanding = 0; // "retransmit" the window
    this.deadline = undefined;
  }
}

/** ACKs every packet it receives. */
class Acker implements EmuHost {
  private owed = 0;
  handlePacket(): void {
    this.owed++;
  }
  pollTransmit(): Transmit | undefined {
    if (this.owed === 0) return undefined;
    this.owed--;
    return { ifaceId: 0, bytes: ACK };
  }
  pollTimeout(): Micros | undefined {
    return undefined;
  }
  handleTimeout(): void {}
}

function networkRound(virtualSeconds: number): { events: number; packets: number; wallSeconds: number } {
  const net = new Network({ seed: 7 });
  const sender = net.addHost('sender', new WindowSender(200));
  const receiver = net.addHost('receiver', new Acker());
  const { forward, backward } = net.connect([sender, 0], [receiver, 0], {
    config: { rateBitsPerSecond: 100_000_000, delayMicros: 10_000, queueLimitPackets: 1000 },
  });
  const t0 = process.hrtime.bigint();
  net.wake(sender);
  net.run(virtualSeconds * 1_000_000);
  const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { events: net.sim.eventsProcessed, packets: forward.counters.deliveredPackets + backward.counters.deliveredPackets, wallSeconds };
}

class Counter implements SimHandler {
  n = 0;
  handleEvent(): void {
    this.n++;
  }
}

function heapRound(total: number): number {
  const sim = new Simulator();
  const h = new Counter();
  let x = 12345;
  for (let i = 0; i < 1000; i++) sim.schedule(i, h);
  const t0 = process.hrtime.bigint();
  // Keep ~1000 pending: each step schedules one new event at a pseudo-random future time.
  for (let i = 0; i < total; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    sim.step();
    sim.schedule(sim.now + (x & 4095), h);
  }
  return total / (Number(process.hrtime.bigint() - t0) / 1e9);
}

/** Offers `total` packets through one impaired link at random gaps (~82 Mbit/s into 97 Mbit/s); packets offered per second. */
function linkRound(total: number): number {
  const sim = new Simulator();
  const link = new Link(
    sim,
    {
      rateBitsPerSecond: 97_000_000,
      delayMicros: 10_000,
      queueLimitBytes: 300_000,
      loss: 0.01,
      jitter: { maxMicros: 300 },
      reorder: { probability: 0.02, extraDelayMicros: 2000 },
      duplicateProbability: 0.01,
    },
    { rng: Rng.derive(42, 'bench') },
  );
  let delivered = 0;
  link.setReceiver(() => delivered++);
  const packets = [1500, 52, 1500, 1500, 600, 1500, 40, 1500].map((size) => new Uint8Array(size));
  const gaps = new Rng(7);
  let sent = 0;
  const offerer: SimHandler = {
    handleEvent(now: Micros): void {
      link.offer(packets[sent & 7]!);
      if (++sent < total) sim.schedule(now + 40 + gaps.nextInt(0, 120), offerer);
    },
  };
  sim.schedule(0, offerer);
  const t0 = process.hrtime.bigint();
  sim.runUntilIdle(10 * total);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (delivered === 0) throw new Error('emu.link: nothing delivered');
  return total / seconds;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Runs the emulator benchmarks (median of 5 rounds each); the lead's `bench/run.ts` prints and records them. */
export async function benchEmu(): Promise<BenchResult[]> {
  networkRound(5); // warm-up
  const runs = [1, 2, 3, 4, 5].map(() => networkRound(60));
  const eventsPerSecond = median(runs.map((r) => r.events / r.wallSeconds));
  const packetsPerSecond = median(runs.map((r) => r.packets / r.wallSeconds));
  heapRound(200_000);
  const heap = median([1, 2, 3, 4, 5].map(() => heapRound(2_000_000)));
  linkRound(100_000);
  const link = median([1, 2, 3, 4, 5].map(() => linkRound(1_000_000)));
  const r0 = runs[0]!;
  return [
    { name: 'emu.events', value: sig3(eventsPerSecond), unit: 'events/s', note: `2 hosts, 100 Mbit/s 10 ms link, 60 s virtual, ${r0.events} events` },
    { name: 'emu.packets', value: sig3(packetsPerSecond), unit: 'packets/s', note: `${r0.packets} packets delivered per run (data + ACKs)` },
    { name: 'emu.heap', value: sig3(heap), unit: 'events/s', note: 'schedule + dispatch, ~1,000 pending' },
    { name: 'emu.link', value: sig3(link), unit: 'packets/s', note: 'offered through one Link: 97 Mbit/s, 10 ms, 1% loss, jitter, reorder, duplicate, 300 kB queue' },
  ];
}
