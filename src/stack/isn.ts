/**
 * Initial sequence numbers (RFC 6528) and ephemeral port selection (RFC 6056 algorithm 3), both keyed by a
 * per-host secret so they are unpredictable off-path yet deterministic for a given secret (tests fix it).
 *
 * RFC 6528 section 3: "ISN = M + F(localip, localport, remoteip, remoteport, secretkey)" where M is a timer
 * that ticks every 4 microseconds and F is a keyed hash. Sans-IO: the caller passes `now`.
 */
import { createHash } from 'node:crypto';
import type { RandomBytes } from '../mptcp/keys.js';

/** The 4-tuple a hash is keyed on. */
export interface FourTuple {
  readonly localAddress: Uint8Array;
  readonly localPort: number;
  readonly remoteAddress: Uint8Array;
  readonly remotePort: number;
}

function keyedHash32(secret: Uint8Array, parts: readonly Uint8Array[], ports: readonly number[]): number {
  const h = createHash('sha256');
  h.update(secret);
  for (const p of parts) h.update(p);
  const portBytes = new Uint8Array(ports.length * 2);
  ports.forEach((p, i) => {
    portBytes[2 * i] = p >> 8;
    portBytes[2 * i + 1] = p & 0xff;
  });
  h.update(portBytes);
  return h.digest().readUInt32BE(0);
}

/** RFC 6528 ISN for a connection at time `nowMicros`. */
export function initialSequenceNumber(secret: Uint8Array, tuple: FourTuple, nowMicros: number): number {
  const m = Math.floor(nowMicros / 4) >>> 0;
  const f = keyedHash32(secret, [tuple.localAddress, tuple.remoteAddress], [tuple.localPort, tuple.remotePort]);
  return (m + f) >>> 0;
}

/** Linux's default ephemeral range (net.ipv4.ip_local_port_range = 32768 60999). */
export const EPHEMERAL_PORT_RANGE = { min: 32768, max: 60999 } as const;

/**
 * RFC 6056 algorithm 3 ("Simple Hash-Based Port Selection"): a per-destination offset from a keyed hash,
 * plus a global counter, probed until `isFree` accepts a port. Returns undefined when the range is full.
 */
export class EphemeralPorts {
  private next = 0;

  constructor(
    private readonly secret: Uint8Array,
    private readonly range: { readonly min: number; readonly max: number } = EPHEMERAL_PORT_RANGE,
  ) {}

  allocate(localAddress: Uint8Array, remoteAddress: Uint8Array, remotePort: number, isFree: (port: number) => boolean): number | undefined {
    const count = this.range.max - this.range.min + 1;
    const offset = keyedHash32(this.secret, [localAddress, remoteAddress], [remotePort]);
    for (let i = 0; i < count; i++) {
      const port = this.range.min + ((offset + this.next) % count);
      this.next = (this.next + 1) % count;
      if (isFree(port)) return port;
    }
    return undefined;
  }
}

/** A deterministic byte stream from a secret: SHA-256(secret || counter), for MPTCP keys. */
export function secretStream(secret: Uint8Array): RandomBytes {
  let counter = 0;
  return (length) => {
    const out = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      const block = createHash('sha256').update(secret).update('mptcp-key').update(String(counter++)).digest();
      const n = Math.min(block.length, length - filled);
      out.set(block.subarray(0, n), filled);
      filled += n;
    }
    return out;
  };
}
