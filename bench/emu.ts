/**
 * Emulator benchmarks (wall clock allowed here, never in tests):
 * - `emu.events`: events per second of a full network run: two hosts joined by a 100 Mbit/s, 10 ms link,
 *   a window-limited sender (200 packets of 1500 bytes outstanding, an RTO-like timer re-armed on every ACK)
 *   and a receiver that ACKs every packet, for 60 s of virtual time;
 * - `emu.packets`: packets delivered per second of wall time in that run (data and ACKs);
 * - `emu.heap`: raw simulator throughput, schedule + dispatch of events with ~1,000 pending.
 */
import { Network, type EmuHost, type Transmit } from '../src/emu/network.js';
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
  const r0 = runs[0]!;
  return [
    { name: 'emu.events', value: sig3(eventsPerSecond), unit: 'events/s', note: `2 hosts, 100 Mbit/s 10 ms link, 60 s virtual, ${r0.events} events` },
    { name: 'emu.packets', value: sig3(packetsPerSecond), unit: 'packets/s', note: `${r0.packets} packets delivered per run (data + ACKs)` },
    { name: 'emu.heap', value: sig3(heap), unit: 'events/s', note: 'schedule + dispatch, ~1,000 pending' },
  ];
}
