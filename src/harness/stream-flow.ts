/**
 * One direction of a transfer over a stream connection (TCP or MPTCP) on the emulator: deterministic data
 * (`pattern`), what is written and what arrives (with SHA-256), when the writer's side closed. Used by the
 * MPTCP emulator tests and scenarios.
 */
import { createHash } from 'node:crypto';
import type { Micros } from '../time/micros.js';
import type { StreamConnection } from '../mptcp/connection.js';
import type { TcpError } from '../tcp/types.js';

/** `total` deterministic pseudo-random bytes (xorshift32, one byte per step) from `seed`. */
export function pattern(total: number, seed: number): Uint8Array {
  const out = new Uint8Array(total);
  let x = seed;
  for (let i = 0; i < total; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** One direction's bookkeeping: what is written and what arrives, and when the writer's side closed. */
export class StreamFlow {
  written = 0;
  received = 0;
  readonly hash = createHash('sha256');
  /** The writer's connection reported `closed` (at `closedAt`, with `closedError`); set by the caller. */
  closed = false;
  closedAt: Micros | undefined;
  closedError: TcpError | undefined;
  /** The reader saw end of stream; set by the caller. */
  ended = false;
  /** Hold the writer's shutdown (DATA_FIN) until `release()` (e.g. until the other direction ended). */
  holdShutdown = false;

  constructor(readonly data: Uint8Array) {}

  /** Writes as much as the connection takes (256 KiB per call); shuts down once all is written, unless held. */
  pump(c: StreamConnection): void {
    while (this.written < this.data.length) {
      const n = c.write(this.data.subarray(this.written, Math.min(this.data.length, this.written + 256 * 1024)));
      if (n === 0) return;
      this.written += n;
    }
    if (!this.holdShutdown) c.shutdown();
  }

  /** Lets a held shutdown go (now, if everything is written). */
  release(c: StreamConnection): void {
    this.holdShutdown = false;
    this.pump(c);
  }

  /** Reads everything readable, hashing it. */
  drain(c: StreamConnection): void {
    for (let b = c.read(); b; b = c.read()) {
      this.hash.update(b);
      this.received += b.length;
    }
  }

  /** SHA-256 of what arrived equals that of what was sent, and all of it arrived. */
  intact(): boolean {
    return this.received === this.data.length && this.hash.copy().digest('hex') === createHash('sha256').update(this.data).digest('hex');
  }
}
