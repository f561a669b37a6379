/**
 * Test helpers for the TCP engine: segment templates, a hand-driven peer (`send` / `expect` /
 * `expectNothing` at explicit times), and `Pair`, two connections over an in-test wire on a virtual clock
 * (a binary-heap event queue; per-direction delay; hooks to drop, reorder or duplicate specific segments).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { TcpConnection, type TcpEndpoints } from '../../src/tcp/connection.js';
import type { Micros, TcpConfig, TcpEvent } from '../../src/tcp/types.js';
import { TcpFlags, tcpHeaderLength, type TcpOption, type TcpSegment, type TcpSegmentRepr } from '../../src/wire/tcp.js';

export const A_ENDPOINTS: TcpEndpoints = {
  localAddress: new Uint8Array([198, 18, 0, 1]),
  localPort: 40000,
  remoteAddress: new Uint8Array([198, 18, 0, 2]),
  remotePort: 80,
};
export const B_ENDPOINTS: TcpEndpoints = {
  localAddress: A_ENDPOINTS.remoteAddress,
  localPort: A_ENDPOINTS.remotePort,
  remoteAddress: A_ENDPOINTS.localAddress,
  remotePort: A_ENDPOINTS.localPort,
};

/** Milliseconds to microseconds. */
export const ms = (n: number): Micros => n * 1000;

/** A repr as the peer would parse it (no bytes: the header length is what emit would write). */
export function toSegment(repr: TcpSegmentRepr): TcpSegment {
  return {
    srcPort: repr.srcPort,
    dstPort: repr.dstPort,
    seq: repr.seq,
    ack: repr.ack,
    headerLength: tcpHeaderLength(repr.options),
    flags: repr.flags,
    window: repr.window,
    checksum: 0,
    urgentPointer: repr.urgentPointer ?? 0,
    options: repr.options,
    payload: repr.payload,
  };
}

/** A segment template from the peer (B -> A by default). */
export function seg(fields: {
  seq: number;
  ack?: number;
  flags: number;
  window?: number;
  options?: readonly TcpOption[];
  payload?: Uint8Array;
}): TcpSegment {
  const options = fields.options ?? [];
  return {
    srcPort: A_ENDPOINTS.remotePort,
    dstPort: A_ENDPOINTS.localPort,
    seq: fields.seq >>> 0,
    ack: (fields.ack ?? 0) >>> 0,
    headerLength: tcpHeaderLength(options),
    flags: fields.flags,
    window: fields.window ?? 65535,
    checksum: 0,
    urgentPointer: 0,
    options,
    payload: fields.payload ?? new Uint8Array(0),
  };
}

export const { SYN, ACK, FIN, RST, PSH } = TcpFlags;

/** Every segment the connection wants to send now. */
export function drain(conn: TcpConnection, now: Micros): TcpSegmentRepr[] {
  const out: TcpSegmentRepr[] = [];
  for (let r = conn.pollTransmit(now); r !== undefined; r = conn.pollTransmit(now)) out.push(r);
  return out;
}

/** Every pending event. */
export function events(conn: TcpConnection): TcpEvent[] {
  const out: TcpEvent[] = [];
  for (let e = conn.pollEvent(); e !== undefined; e = conn.pollEvent()) out.push(e);
  return out;
}

/** Asserts exactly one segment goes out now and returns it; fields given are checked. */
export function expect(
  conn: TcpConnection,
  now: Micros,
  want: { seq?: number; ack?: number; flags?: number; window?: number; payloadLength?: number } = {},
): TcpSegmentRepr {
  const out = drain(conn, now);
  assert.equal(out.length, 1, `expected one segment at ${now}, got ${out.length}: ${out.map(describe).join(' | ')}`);
  const r = out[0]!;
  if (want.seq !== undefined) assert.equal(r.seq, want.seq >>> 0, `seq of ${describe(r)}`);
  if (want.ack !== undefined) assert.equal(r.ack, want.ack >>> 0, `ack of ${describe(r)}`);
  if (want.flags !== undefined) assert.equal(r.flags, want.flags, `flags of ${describe(r)}`);
  if (want.window !== undefined) assert.equal(r.window, want.window, `window of ${describe(r)}`);
  if (want.payloadLength !== undefined) assert.equal(r.payload.length, want.payloadLength, `payload of ${describe(r)}`);
  return r;
}

/** Asserts nothing goes out now. */
export function expectNothing(conn: TcpConnection, now: Micros): void {
  const out = drain(conn, now);
  assert.equal(out.length, 0, `expected nothing at ${now}, got ${out.map(describe).join(' | ')}`);
}

/** Short text for a repr, for failure messages. */
export function describe(r: TcpSegmentRepr): string {
  const f: string[] = [];
  if (r.flags & SYN) f.push('S');
  if (r.flags & FIN) f.push('F');
  if (r.flags & RST) f.push('R');
  if (r.flags & PSH) f.push('P');
  if (r.flags & ACK) f.push('.');
  return `[${f.join('')}] seq=${r.seq} ack=${r.ack} win=${r.window} len=${r.payload.length}`;
}

/** The option of a kind, if present. */
export function option<K extends TcpOption['kind']>(r: { options: readonly TcpOption[] }, kind: K): Extract<TcpOption, { kind: K }> | undefined {
  return r.options.find((o) => o.kind === kind) as Extract<TcpOption, { kind: K }> | undefined;
}

/** Deterministic pseudo-random bytes (xorshift32). */
export function randomBytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export function sha256(chunks: Uint8Array[]): string {
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  return h.digest('hex');
}

/** A deterministic PRNG for wire impairments. */
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

/** What the wire does with one segment: deliver (after `extraDelay`), drop, or deliver twice. */
export type WireVerdict = 'deliver' | 'drop' | 'duplicate' | { readonly delay: Micros };

interface InFlight {
  at: Micros;
  order: number;
  to: 0 | 1;
  segment: TcpSegment;
}

/** Two connections (a = client, b = server) joined by a wire with per-direction one-way delay. */
export class Pair {
  now: Micros = 0;
  readonly a: TcpConnection;
  b: TcpConnection | undefined;
  readonly delay: Micros;
  /** Called for every segment; direction 0 is a -> b. */
  filter: (dir: 0 | 1, r: TcpSegmentRepr, index: number) => WireVerdict = () => 'deliver';
  readonly sent: [number, number] = [0, 0];
  readonly log: Array<{ at: Micros; dir: 0 | 1; repr: TcpSegmentRepr }> = [];
  logging = false;
  #heap: InFlight[] = [];
  #order = 0;
  readonly #configB: TcpConfig | undefined;
  readonly eventsA: TcpEvent[] = [];
  readonly eventsB: TcpEvent[] = [];
  /** When set, received bytes are read (and kept) on each side after every step. */
  autoRead: [boolean, boolean] = [true, true];
  readonly receivedA: Uint8Array[] = [];
  readonly receivedB: Uint8Array[] = [];

  constructor(opts: { delay?: Micros; configA?: TcpConfig; configB?: TcpConfig; issA?: number; issB?: number } = {}) {
    this.delay = opts.delay ?? ms(10);
    this.#configB = opts.configB;
    this.issB = opts.issB ?? 0x80000000;
    this.a = TcpConnection.connect(0, A_ENDPOINTS, opts.issA ?? 1000, opts.configA);
  }

  readonly issB: number;

  #push(item: InFlight): void {
    const h = this.#heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(h[p]!, h[i]!)) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }

  #pop(): InFlight | undefined {
    const h = this.#heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l]!, h[m]!)) m = l;
        if (r < h.length && less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }

  #flush(conn: TcpConnection, dir: 0 | 1): void {
    for (let r = conn.pollTransmit(this.now); r !== undefined; r = conn.pollTransmit(this.now)) {
      const index = this.sent[dir]++;
      if (this.logging) this.log.push({ at: this.now, dir, repr: r });
      const verdict = this.filter(dir, r, index);
      if (verdict === 'drop') continue;
      // Copy the payload: the sender may be handed the same view again (retransmission) and the receiver
      // keeps views; both are immutable here, so a view would do, but a copy proves no aliasing bugs.
      const segment = toSegment({ ...r, payload: r.payload.slice() });
      const extra = typeof verdict === 'object' ? verdict.delay : 0;
      this.#push({ at: this.now + this.delay + extra, order: this.#order++, to: dir === 0 ? 1 : 0, segment });
      if (verdict === 'duplicate') this.#push({ at: this.now + this.delay + 1, order: this.#order++, to: dir === 0 ? 1 : 0, segment });
    }
  }

  /** Called before every output poll (application behaviour: writers, readers). */
  readonly hooks: Array<() => void> = [];

  #collect(): void {
    for (const hook of this.hooks) hook();
    const a = this.a;
    for (let e = a.pollEvent(); e !== undefined; e = a.pollEvent()) this.eventsA.push(e);
    if (this.autoRead[0]) for (let d = a.read(); d !== undefined; d = a.read()) this.receivedA.push(d);
    const b = this.b;
    if (b !== undefined) {
      for (let e = b.pollEvent(); e !== undefined; e = b.pollEvent()) this.eventsB.push(e);
      if (this.autoRead[1]) for (let d = b.read(); d !== undefined; d = b.read()) this.receivedB.push(d);
    }
  }

  /** Polls both sides' output (call after changing a connection from outside). */
  flush(): void {
    this.#collect();
    this.#flush(this.a, 0);
    if (this.b !== undefined) this.#flush(this.b, 1);
    this.#collect();
    this.#flush(this.a, 0);
    if (this.b !== undefined) this.#flush(this.b, 1);
  }

  /** Processes the next event (delivery or timer); false when there is none before `until`. */
  step(until: Micros = Infinity): boolean {
    const ta = this.a.pollTimeout() ?? Infinity;
    const tb = this.b?.pollTimeout() ?? Infinity;
    const next = this.#heap[0];
    const tp = next?.at ?? Infinity;
    const t = Math.min(ta, tb, tp);
    if (t === Infinity || t > until) return false;
    this.now = Math.max(this.now, t);
    if (tp === t) {
      const item = this.#pop()!;
      if (item.to === 1) {
        if (this.b === undefined) this.b = TcpConnection.accept(this.now, B_ENDPOINTS, this.issB, item.segment, this.#configB);
        else this.b.handleSegment(this.now, item.segment);
      } else this.a.handleSegment(this.now, item.segment);
    } else if (ta === t) this.a.handleTimeout(this.now);
    else this.b!.handleTimeout(this.now);
    this.flush();
    return true;
  }

  /** Steps until `done()` or until no event remains before `until`; returns the step count. */
  run(done: () => boolean = () => false, until: Micros = Infinity, maxSteps = 50_000_000): number {
    this.flush();
    let steps = 0;
    while (!done() && steps < maxSteps && this.step(until)) steps++;
    if (until !== Infinity && this.now < until && !done()) this.now = until;
    return steps;
  }

  /** Writes as much of `data` as fits into `conn`, continuing on 'writable'-free polling via run(). */
  static writer(conn: TcpConnection, data: Uint8Array, chunk = 65536, closeAfter = true): () => boolean {
    let offset = 0;
    let closed = false;
    return () => {
      while (offset < data.length) {
        const n = conn.write(data.subarray(offset, Math.min(data.length, offset + chunk)));
        if (n === 0) break;
        offset += n;
      }
      if (offset === data.length && closeAfter && !closed) {
        conn.shutdown();
        closed = true;
      }
      return offset === data.length;
    };
  }
}

function less(x: InFlight, y: InFlight): boolean {
  return x.at < y.at || (x.at === y.at && x.order < y.order);
}
