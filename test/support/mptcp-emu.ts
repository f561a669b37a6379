/**
 * Shared by the MPTCP emulator tests: an EmuHost that hands MPTCP host events to a callback, a
 * deterministic payload generator, and per-direction transfer bookkeeping.
 */
import { createHash } from 'node:crypto';
import type { EmuHost } from '../../src/emu/network.js';
import type { Host } from '../../src/stack/host.js';
import type { MptcpConnection } from '../../src/mptcp/connection.js';
import type { Micros, TcpEvent } from '../../src/tcp/types.js';

/** An EmuHost delivering the host's MPTCP events (accepted connections and connection events). */
export class App implements EmuHost {
  now: Micros = 0;
  beforePacket: ((bytes: Uint8Array) => void) | undefined;
  constructor(readonly host: Host, private readonly onEvent: (c: MptcpConnection, e: TcpEvent | 'accepted', now: Micros) => void) {}
  handlePacket(now: Micros, ifaceId: number, bytes: Uint8Array): void {
    this.now = now;
    this.beforePacket?.(bytes);
    this.host.handlePacket(now, ifaceId, bytes);
    this.drain();
  }
  handleTimeout(now: Micros): void {
    this.now = now;
    this.host.handleTimeout(now);
    this.drain();
  }
  pollTransmit(now: Micros): { ifaceId: number; bytes: Uint8Array } | undefined {
    return this.host.pollTransmit(now);
  }
  pollTimeout(): Micros | undefined {
    return this.host.pollTimeout();
  }
  drain(): void {
    for (let e = this.host.pollMptcpEvent(); e; e = this.host.pollMptcpEvent()) {
      if (e.type === 'mptcpConnection') this.onEvent(e.connection, 'accepted', this.now);
      else this.onEvent(e.connection, e.event, this.now);
    }
  }
}

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

/** One direction's bookkeeping: what is written and what arrives. */
export class Side {
  written = 0;
  received = 0;
  readonly hash = createHash('sha256');
  closed = false;
  closedError: unknown;
  constructor(readonly data: Uint8Array) {}
  pump(c: MptcpConnection): void {
    while (this.written < this.data.length) {
      const n = c.write(this.data.subarray(this.written, Math.min(this.data.length, this.written + 256 * 1024)));
      if (n === 0) return;
      this.written += n;
    }
    c.shutdown();
  }
  drain(c: MptcpConnection): void {
    for (let b = c.read(); b; b = c.read()) {
      this.hash.update(b);
      this.received += b.length;
    }
  }
}
