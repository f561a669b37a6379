/**
 * The backlog of a `Link`: packets admitted whose serialization has not started yet, as (start instant,
 * size) pairs in a FIFO ring, with the drop-tail limits. The limits count packets waiting behind the one
 * being serialized (as a qdisc's backlog excludes the packet in the NIC): a packet that can start at once
 * never enters the backlog, so it is never dropped for queue space.
 */
import type { Micros } from './sim.js';

/** Waiting packets, trimmed lazily: an entry leaves once the simulator's time reaches its start. */
export class Backlog {
  private starts = new Float64Array(64);
  private sizes = new Float64Array(64);
  private head = 0;
  private count = 0;
  private bytes = 0;

  /** The limits are validated (Infinity: unlimited). */
  constructor(
    private readonly limitPackets: number,
    private readonly limitBytes: number,
  ) {}

  /** Packets waiting at `now`. */
  packetsAt(now: Micros): number {
    this.trim(now);
    return this.count;
  }

  /** Bytes waiting at `now`. */
  bytesAt(now: Micros): number {
    this.trim(now);
    return this.bytes;
  }

  /**
   * Queues a packet of `size` bytes offered at `now` that starts serialization at `start`, unless the backlog
   * would then exceed a limit: returns false for a tail drop.
   */
  push(now: Micros, start: Micros, size: number): boolean {
    this.trim(now);
    if (this.count + 1 > this.limitPackets || this.bytes + size > this.limitBytes) return false;
    let cap = this.starts.length;
    if (this.count === cap) {
      const starts = new Float64Array(cap * 2);
      const sizes = new Float64Array(cap * 2);
      for (let i = 0; i < this.count; i++) {
        const j = (this.head + i) % cap;
        starts[i] = this.starts[j]!;
        sizes[i] = this.sizes[j]!;
      }
      this.starts = starts;
      this.sizes = sizes;
      this.head = 0;
      cap *= 2;
    }
    const tail = (this.head + this.count) % cap;
    this.starts[tail] = start;
    this.sizes[tail] = size;
    this.count++;
    this.bytes += size;
    return true;
  }

  /** Forgets everything waiting (the link went down or came up). */
  clear(): void {
    this.count = 0;
    this.bytes = 0;
    this.head = 0;
  }

  /** Forgets entries whose serialization has started by `now`. */
  private trim(now: Micros): void {
    const cap = this.starts.length;
    while (this.count > 0 && this.starts[this.head]! <= now) {
      this.bytes -= this.sizes[this.head]!;
      this.head = (this.head + 1) % cap;
      this.count--;
    }
  }
}
