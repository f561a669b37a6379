/**
 * Seeded pseudo-random numbers for the emulator.
 *
 * Design notes
 * - The generator is xoshiro128** (Blackman & Vigna): four 32-bit words of state, fast with `Math.imul`,
 *   good statistical quality for simulation (not for cryptography).
 * - Every `Rng` remembers the 128-bit key it was built from. `fork(label)` hashes (key, label) into a new
 *   key, so child streams depend only on the parent's seed and the label, never on how many numbers the
 *   parent already produced or on the order children were created. A network gives each link direction
 *   (and each impairment of a link) its own child stream, so adding a link or enabling jitter on one link
 *   does not shift the loss pattern of another.
 * - `next()` has 32 bits of resolution (multiples of 2^-32), plenty for loss and jitter decisions.
 */

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A 32-bit finaliser (murmur3-style avalanche). */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x21f0aaad);
  h ^= h >>> 15;
  h = Math.imul(h, 0x735a2d97);
  h ^= h >>> 15;
  return h >>> 0;
}

const LANE_INIT = [0x9e3779b9, 0x7f4a7c15, 0xf39cc060, 0x5ced1a5b] as const;

/** Hashes a sequence of 32-bit words and a string into a 128-bit key (four lanes). */
function hashKey(words: readonly number[], text: string): [number, number, number, number] {
  const lanes: number[] = [LANE_INIT[0], LANE_INIT[1], LANE_INIT[2], LANE_INIT[3]];
  const feed = (v: number) => {
    for (let i = 0; i < 4; i++) {
      let h = lanes[i]! ^ Math.imul(v ^ (i * 0x632be5ab), 0xcc9e2d51);
      h = rotl(h, 13);
      lanes[i] = (Math.imul(h, 5) + 0xe6546b64 + i) | 0;
    }
  };
  for (const w of words) feed(w >>> 0);
  feed(0x5eed0000 | (text.length & 0xffff));
  for (let i = 0; i < text.length; i++) feed(text.charCodeAt(i));
  feed(words.length);
  return [mix32(lanes[0]! ^ lanes[2]!), mix32(lanes[1]! ^ 0x85ebca6b), mix32(lanes[2]! ^ lanes[0]! ^ 0xc2b2ae35), mix32(lanes[3]! ^ lanes[1]!)];
}

/** What a seed may be: a safe integer or any string. */
export type Seed = number | string;

function seedKey(seed: Seed): [number, number, number, number] {
  if (typeof seed === 'number') {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer or a string, got ${seed}`);
    const neg = seed < 0 ? 1 : 0;
    const abs = Math.abs(seed);
    return hashKey([abs >>> 0, Math.floor(abs / 4294967296) >>> 0, neg], 'n');
  }
  return hashKey([], `s:${seed}`);
}

/**
 * A seeded xoshiro128** stream. Same seed (and same fork labels) => same numbers, on every platform.
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private key: readonly [number, number, number, number];

  /** `seed` is a safe integer or a string; two different seeds give unrelated streams. */
  constructor(seed: Seed = 0) {
    this.key = seedKey(seed);
    [this.s0, this.s1, this.s2, this.s3] = Rng.stateFromKey(this.key);
  }

  /** A child stream of `new Rng(seed)` for `label`: shorthand for `new Rng(seed).fork(label)`. */
  static derive(seed: Seed, label: string): Rng {
    return new Rng(seed).fork(label);
  }

  /**
   * An independent child stream named `label`. Depends only on this stream's seed and the label (not on its
   * current position), so `rng.fork('a')` is the same stream however much `rng` has been used.
   */
  fork(label: string): Rng {
    const child = new Rng(0);
    child.key = hashKey(this.key, `f:${label}`);
    [child.s0, child.s1, child.s2, child.s3] = Rng.stateFromKey(child.key);
    return child;
  }

  /**
   * A stream positioned at a raw xoshiro128** state (four 32-bit words, not all zero): for known-answer
   * tests and for resuming from `state`. Its forks are keyed by that state.
   */
  static fromState(state: readonly [number, number, number, number]): Rng {
    if ((state[0] | state[1] | state[2] | state[3]) === 0) throw new RangeError('xoshiro128** state must not be all zero');
    const r = new Rng(0);
    r.key = [state[0] >>> 0, state[1] >>> 0, state[2] >>> 0, state[3] >>> 0];
    [r.s0, r.s1, r.s2, r.s3] = [state[0] | 0, state[1] | 0, state[2] | 0, state[3] | 0];
    return r;
  }

  /** The current raw state (a snapshot; `Rng.fromState(rng.state)` continues the same sequence). */
  get state(): [number, number, number, number] {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0];
  }

  private static stateFromKey(key: readonly number[]): [number, number, number, number] {
    // SplitMix-style expansion so that related keys still start from well-mixed, non-zero states.
    let x = key[0]! ^ 0x6a09e667;
    const out: number[] = [];
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) | 0;
      out.push(mix32(x ^ key[i]!) | 0);
    }
    if ((out[0]! | out[1]! | out[2]! | out[3]!) === 0) out[0] = 1;
    return [out[0]!, out[1]!, out[2]!, out[3]!];
  }

  /** A uniform unsigned 32-bit integer. */
  nextU32(): number {
    const s0 = this.s0;
    const s1 = this.s1;
    const s2 = this.s2;
    const s3 = this.s3;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
    const t = s1 << 9;
    const n2 = s2 ^ s0;
    const n3 = s3 ^ s1;
    this.s1 = s1 ^ n2;
    this.s0 = s0 ^ n3;
    this.s2 = n2 ^ t;
    this.s3 = rotl(n3, 11);
    return result >>> 0;
  }

  /** A uniform number in [0, 1) (a multiple of 2^-32). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** True with probability `p` (p <= 0 never, p >= 1 always; draws one number either way). */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A uniform integer in [min, max] (both inclusive, integers, max - min < 2^32). */
  nextInt(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** A standard normal sample (Box-Muller; consumes two numbers). */
  nextNormal(): number {
    const u1 = 1 - this.next(); // (0, 1]
    const u2 = this.next();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
}

/** Independent trials with one probability on their own stream: no draw at all when the probability is 0. */
export class Chance {
  constructor(
    /** The probability of each trial, in [0, 1]. */
    readonly probability: number,
    private readonly rng: Rng,
  ) {}

  /** One trial: true with `probability` (draws one number, unless the probability is 0). */
  happens(): boolean {
    return this.probability > 0 && this.rng.next() < this.probability;
  }
}
