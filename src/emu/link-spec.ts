/**
 * The words of an emulated link, shared by `mptcp perf --link SPEC` and `mptcp emulate --path CIDR,CIDR,SPEC`:
 * one parser, so the same text gives the same link (and the same errors) in virtual time, in perf's
 * real-time emulation and between two kernels. Pure: it reads no file (trace files are named here and
 * loaded by the caller, see `linkSpecConfigs`) and never throws (`parseLinkSpec` returns a `LinkSpecError`).
 *
 * Grammar: comma-separated `KEY=VALUE` fields. A field without `=` continues the value before it, for the
 * values that have several parts (`loss=ge:1%,30%`, `down=2-4,8-9`, `reorder=1%,5ms`).
 *
 *   rate=R        bits per second, K/M/G/T suffixes are powers of 1000 (default 1G); `rate=10M`
 *   delay=D       one-way propagation delay, us/ms/s (a bare number is ms; default 1ms)
 *   jitter=J      a uniform offset in [-J, +J] added to the delay, order kept (default 0)
 *   loss=L        random loss: `1%` or `0.01` per packet, or Gilbert-Elliott bursty loss
 *                 `ge:P,R[,BAD[,GOOD]]`: P = good->bad and R = bad->good per packet, BAD = loss in the bad
 *                 state (1-h, default 100%), GOOD = loss in the good state (1-k, default 0%): the order of
 *                 netem's `loss gemodel p r 1-h 1-k`. The mean loss is (R*GOOD + P*BAD) / (P + R).
 *   queue=Q       drop-tail backlog: bytes (K/M suffixes are powers of 1024; at least 1500), `NNp` packets,
 *                 or `unlimited` (default: one bandwidth-delay product of the round trip, at least 150 KB)
 *   reorder=P,E   with probability P a packet gets E more delay, so later ones overtake it
 *   duplicate=P   probability that a packet is delivered twice
 *   mtu=N         largest packet carried (bigger ones are dropped); `mptcp emulate` also gives its devices it
 *   down=A-B      the link is down (both directions, queued packets lost) from A to B seconds after the
 *                 start; several ranges in time order: `down=2-4,8-9`
 *   trace=FILE    Mahimahi trace as the capacity (instead of rate) both ways; trace-up / trace-down per way
 *
 * Per direction: every key but `down` also exists as `KEY-up=` and `KEY-down=` (up: perf's client to server,
 * emulate's left to right; down: back). `KEY=` sets both directions; `KEY-up=`/`KEY-down=` override it
 * for their direction whatever the order. So `rate=10M,rate-down=2M` is 10 Mbit/s up and 2 Mbit/s down.
 */
import type { LinkConfig, LossModel } from './link.js';
import type { DeliveryTrace } from './trace.js';
import type { Micros } from './sim.js';

/** Default rate of a link, bits per second. */
export const DEFAULT_LINK_RATE = 1e9;
/** Default one-way delay of a link. */
export const DEFAULT_LINK_DELAY_MICROS = 1000;
/** Smallest default queue: 100 full-size packets. */
export const MIN_DEFAULT_QUEUE = 150_000;

/** One direction of a parsed link. */
export interface LinkDirectionSpec {
  /** Fixed rate in bit/s; undefined when `traceFile` gives the capacity. */
  readonly rateBitsPerSecond: number | undefined;
  /** A Mahimahi trace file (path as given) giving the capacity instead of a rate. */
  readonly traceFile: string | undefined;
  readonly delayMicros: Micros;
  /** Bound of the uniform jitter (0: none). */
  readonly jitterMicros: Micros;
  /** Random loss, undefined for none. */
  readonly loss: LossModel | undefined;
  /** Drop-tail limit on the backlog in bytes (undefined: unlimited, or `queueLimitPackets`). */
  readonly queueLimitBytes: number | undefined;
  /** Drop-tail limit in packets (`queue=NNp`). */
  readonly queueLimitPackets: number | undefined;
  readonly reorder: { readonly probability: number; readonly extraDelayMicros: Micros } | undefined;
  readonly duplicateProbability: number;
  readonly mtu: number | undefined;
}

/** A parsed link: each direction, and the outages (both directions). */
export interface LinkSpec {
  /** perf: client to server; emulate: left to right. */
  readonly up: LinkDirectionSpec;
  /** The other way. */
  readonly down: LinkDirectionSpec;
  /** `[from, to)` microseconds after the start the link is down, in time order, not overlapping. */
  readonly outages: ReadonlyArray<readonly [Micros, Micros]>;
}

/** Why a link spec did not parse: the message says which field and what was expected. */
export class LinkSpecError {
  constructor(readonly message: string) {}

  toString(): string {
    return this.message;
  }
}

/** The keys, for error messages and help texts. */
export const LINK_SPEC_KEYS = ['rate', 'delay', 'jitter', 'loss', 'queue', 'reorder', 'duplicate', 'mtu', 'down', 'trace'] as const;
const KEY_LIST = `${LINK_SPEC_KEYS.join(', ')}; KEY-up= / KEY-down= for one direction`;

type DirectionalKey = Exclude<(typeof LINK_SPEC_KEYS)[number], 'down'>;
type Value = number | string | LossModel | { probability: number; extraDelayMicros: number } | QueueValue;
type QueueValue = { readonly bytes?: number; readonly packets?: number; readonly unlimited?: true };

const RATE_SUFFIX: Readonly<Record<string, number>> = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12 };
const QUEUE_SUFFIX: Readonly<Record<string, number>> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
const MAX_DELAY_MICROS = 10e6;

/** `1%` or `0.01` as a probability in [0, 1], or NaN. */
function probability(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(text.trim());
  if (!m) return NaN;
  const p = Number(m[1]) / (m[2] ? 100 : 1);
  return p >= 0 && p <= 1 ? p : NaN;
}

/** `10ms`, `500us`, `0.2s`, `5` (ms) as microseconds, or NaN. */
function duration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(us|µs|ms|s)?$/i.exec(text.trim());
  if (!m) return NaN;
  const unit = m[2]?.toLowerCase() ?? 'ms';
  return Math.round(Number(m[1]) * (unit === 's' ? 1e6 : unit === 'ms' ? 1e3 : 1));
}

/** Parses one directional value; a string is the error's explanation. */
function parseValue(key: DirectionalKey, value: string): { ok: Value } | { why: string } {
  switch (key) {
    case 'rate': {
      const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:bit|bps|b)?(?:\/s)?$/i.exec(value);
      const r = m ? Number(m[1]) * RATE_SUFFIX[m[2]!.toLowerCase()]! : NaN;
      if (!(r >= 1000) || !Number.isFinite(r) || r > 1e13) return { why: `expected bits per second, at least 1K, with an optional K/M/G suffix (powers of 1000), e.g. rate=100M` };
      return { ok: Math.round(r) };
    }
    case 'delay':
    case 'jitter': {
      const d = duration(value);
      if (!(d >= 0 && d <= MAX_DELAY_MICROS)) return { why: `expected a${key === 'delay' ? ' one-way delay' : 'n offset'} up to 10 s, e.g. ${key}=10ms, 500us, 0.2s (a bare number is ms)` };
      return { ok: d };
    }
    case 'loss': {
      if (/^ge:/i.test(value)) {
        const parts = value.slice(3).split(',');
        const ps = parts.map(probability);
        if (parts.length < 2 || parts.length > 4 || ps.some((p) => Number.isNaN(p))) {
          return { why: `expected Gilbert-Elliott loss ge:P,R[,BAD[,GOOD]] (probabilities, e.g. loss=ge:1%,30% or loss=ge:1%,30%,50%,0.1%)` };
        }
        const [goodToBad, badToGood, lossInBad = 1, lossInGood = 0] = ps as [number, number, number?, number?];
        if (goodToBad > 0 && badToGood === 0 && lossInBad === 1) return { why: `ge: R (bad to good) is 0 with BAD 100%: the link would lose everything once bad` };
        return { ok: { kind: 'gilbert-elliott', goodToBad, badToGood, lossInBad, lossInGood } };
      }
      const p = probability(value);
      if (!(p < 1)) return { why: `expected a loss rate below 100%, e.g. loss=1% or loss=0.01, or bursty loss ge:P,R[,BAD[,GOOD]]` };
      return { ok: p };
    }
    case 'queue': {
      if (/^(unlimited|inf|none)$/i.test(value)) return { ok: { unlimited: true } };
      const packets = /^(\d+)\s*(?:p|pkts?|packets?)$/i.exec(value);
      if (packets) {
        const n = Number(packets[1]);
        if (!(n >= 1 && Number.isSafeInteger(n))) return { why: `expected at least 1 packet, e.g. queue=100p` };
        return { ok: { packets: n } };
      }
      const m = /^(\d+(?:\.\d+)?)([kmg]?)(?:b|bytes)?$/i.exec(value);
      const q = m ? Math.floor(Number(m[1]) * QUEUE_SUFFIX[m[2]!.toLowerCase()]!) : NaN;
      if (!(q >= 1500) || !Number.isSafeInteger(q)) return { why: `expected a backlog in bytes, at least 1500, with an optional K/M suffix (powers of 1024), NNp packets, or 'unlimited'` };
      return { ok: { bytes: q } };
    }
    case 'reorder': {
      const parts = value.split(',');
      const p = probability(parts[0] ?? '');
      const extra = parts.length === 2 ? duration(parts[1]!) : NaN;
      if (parts.length !== 2 || Number.isNaN(p) || !(extra >= 0 && extra <= MAX_DELAY_MICROS)) {
        return { why: `expected P,EXTRA: the probability a packet is held back and by how much, e.g. reorder=1%,5ms` };
      }
      return { ok: { probability: p, extraDelayMicros: extra } };
    }
    case 'duplicate': {
      const p = probability(value);
      if (!(p < 1)) return { why: `expected a probability below 100%, e.g. duplicate=0.5%` };
      return { ok: p };
    }
    case 'mtu': {
      const n = /^\d+$/.test(value) ? Number(value) : NaN;
      if (!(n >= 576 && n <= 65535)) return { why: `expected a packet size from 576 to 65535 bytes, e.g. mtu=1500` };
      return { ok: n };
    }
    case 'trace':
      if (value === '') return { why: `expected a Mahimahi trace file, e.g. trace-down=../shared/traces/Verizon-LTE-short.down` };
      return { ok: value };
  }
}

/** `2-4,8-9` (seconds) as outages in microseconds, or the explanation. */
function parseOutages(value: string): ReadonlyArray<readonly [Micros, Micros]> | string {
  const out: Array<readonly [Micros, Micros]> = [];
  let last = -1;
  for (const range of value.split(',')) {
    const m = /^\s*(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)\s*$/.exec(range);
    const from = m ? Math.round(Number(m[1]) * 1e6) : NaN;
    const to = m ? Math.round(Number(m[2]) * 1e6) : NaN;
    if (!(from >= 0 && to > from && to <= 1e6 * 86400)) return `expected FROM-TO in seconds with FROM < TO, e.g. down=2-4 (several: down=2-4,8-9)`;
    if (from < last) return `the ranges must be in time order and not overlap ('${range.trim()}' starts before the previous one ends)`;
    out.push([from, to]);
    last = to;
  }
  return out;
}

/**
 * Parses link words (see the module comment). Never throws: bad text is a `LinkSpecError` whose message
 * names the field, e.g. "rate=5: expected bits per second, at least 1K, ...". An empty text is an error
 * (leave the option out for the defaults).
 */
export function parseLinkSpec(text: string): LinkSpec | LinkSpecError {
  if (typeof text !== 'string' || text.trim() === '') return new LinkSpecError(`empty: give KEY=VALUE fields (keys: ${KEY_LIST}), e.g. rate=100M,delay=10ms, or leave the option out for the defaults`);
  // Fields; one without '=' continues the one before it.
  const fields: string[] = [];
  for (const piece of text.split(',')) {
    if (piece.includes('=') || fields.length === 0) fields.push(piece);
    else fields[fields.length - 1] += `,${piece}`;
  }
  const both = new Map<DirectionalKey, Value>();
  const up = new Map<DirectionalKey, Value>();
  const down = new Map<DirectionalKey, Value>();
  let outages: ReadonlyArray<readonly [Micros, Micros]> = [];
  const seen = new Set<string>();
  for (const field of fields) {
    const eq = field.indexOf('=');
    if (eq <= 0) return new LinkSpecError(`expected KEY=VALUE, got '${field}' (keys: ${KEY_LIST})`);
    const key = field.slice(0, eq).trim().toLowerCase();
    const value = field.slice(eq + 1).trim();
    if (seen.has(key)) return new LinkSpecError(`'${key}' given twice`);
    seen.add(key);
    if (key === 'down') {
      const r = parseOutages(value);
      if (typeof r === 'string') return new LinkSpecError(`down=${value}: ${r}`);
      outages = r;
      continue;
    }
    const dm = /^([a-z]+)(?:-(up|down))?$/.exec(key);
    const base = dm?.[1] as DirectionalKey | undefined;
    if (!dm || base === undefined || (base as string) === 'down' || !(LINK_SPEC_KEYS as readonly string[]).includes(base)) return new LinkSpecError(`unknown key '${key}' (keys: ${KEY_LIST})`);
    const parsed = parseValue(base, value);
    if ('why' in parsed) return new LinkSpecError(`${key}=${value}: ${parsed.why}`);
    (dm[2] === 'up' ? up : dm[2] === 'down' ? down : both).set(base, parsed.ok);
  }
  const direction = (own: Map<DirectionalKey, Value>, name: 'up' | 'down'): LinkDirectionSpec | LinkSpecError => {
    const get = (k: DirectionalKey): Value | undefined => (own.has(k) ? own.get(k) : both.get(k));
    // Capacity: this direction's own trace or rate beats the both-ways one; one level may not give both.
    const level = own.has('trace') || own.has('rate') ? own : both;
    const traceFile = level.get('trace') as string | undefined;
    const explicitRate = level.get('rate') as number | undefined;
    if (traceFile !== undefined && explicitRate !== undefined) {
      const suffix = level === own ? `-${name}` : '';
      return new LinkSpecError(`a trace gives the capacity, so it goes without a rate (drop rate${suffix}= or trace${suffix}=)`);
    }
    const rate = traceFile !== undefined ? undefined : (explicitRate ?? DEFAULT_LINK_RATE);
    const delay = (get('delay') as number | undefined) ?? DEFAULT_LINK_DELAY_MICROS;
    const lossValue = get('loss') as number | LossModel | undefined;
    const loss: LossModel | undefined = lossValue === undefined || lossValue === 0 ? undefined : typeof lossValue === 'number' ? { kind: 'bernoulli', probability: lossValue } : lossValue;
    const queue = get('queue') as QueueValue | undefined;
    // Default queue: one bandwidth-delay product of the round trip (the rate of this direction, the delay
    // of both), at least MIN_DEFAULT_QUEUE; a trace link gets the minimum.
    const otherDelay = ((name === 'up' ? down : up).get('delay') ?? both.get('delay') ?? DEFAULT_LINK_DELAY_MICROS) as number;
    const bdp = rate === undefined ? 0 : Math.ceil((rate * (delay + otherDelay)) / 8e6);
    return {
      rateBitsPerSecond: rate,
      traceFile,
      delayMicros: delay,
      jitterMicros: (get('jitter') as number | undefined) ?? 0,
      loss,
      queueLimitBytes: queue === undefined ? Math.max(bdp, MIN_DEFAULT_QUEUE) : queue.bytes,
      queueLimitPackets: queue?.packets,
      reorder: get('reorder') as LinkDirectionSpec['reorder'],
      duplicateProbability: (get('duplicate') as number | undefined) ?? 0,
      mtu: get('mtu') as number | undefined,
    };
  };
  const u = direction(up, 'up');
  if (u instanceof LinkSpecError) return u;
  const d = direction(down, 'down');
  if (d instanceof LinkSpecError) return d;
  return { up: u, down: d, outages };
}

/** The defaults (what an absent `--link` means): 1 Gbit/s, 1 ms, no loss, the default queue, both ways. */
export function defaultLinkSpec(): LinkSpec {
  return parseLinkSpec('rate=1G') as LinkSpec;
}

/** The link's up/down timeline for `LinkConfig.timeline`, `startMicros` being when the spec's time 0 is. */
export function outageTimeline(spec: LinkSpec, startMicros: Micros = 0): ReadonlyArray<readonly [Micros, 'up' | 'down']> {
  return spec.outages.flatMap(([from, to]) => [[startMicros + from, 'down'] as const, [startMicros + to, 'up'] as const]);
}

/**
 * The emulator's configuration of one direction. `loadTrace` turns a trace file name into a trace (the
 * caller's I/O: `loadMahimahiTrace` in trace-file.ts); `startMicros` is when the spec's time 0 is (outages
 * and traces count from it).
 */
export function directionConfig(spec: LinkSpec, direction: 'up' | 'down', loadTrace: (file: string) => DeliveryTrace, startMicros: Micros = 0): LinkConfig {
  const d = spec[direction];
  const timeline = outageTimeline(spec, startMicros);
  return {
    ...(d.traceFile !== undefined ? { trace: loadTrace(d.traceFile), traceStartMicros: startMicros } : { rateBitsPerSecond: d.rateBitsPerSecond! }),
    delayMicros: d.delayMicros,
    ...(d.jitterMicros > 0 ? { jitter: { maxMicros: d.jitterMicros } } : {}),
    ...(d.loss !== undefined ? { loss: d.loss } : {}),
    ...(d.queueLimitBytes !== undefined ? { queueLimitBytes: d.queueLimitBytes } : {}),
    ...(d.queueLimitPackets !== undefined ? { queueLimitPackets: d.queueLimitPackets } : {}),
    ...(d.reorder !== undefined ? { reorder: d.reorder } : {}),
    ...(d.duplicateProbability > 0 ? { duplicateProbability: d.duplicateProbability } : {}),
    ...(d.mtu !== undefined ? { mtu: d.mtu } : {}),
    ...(timeline.length > 0 ? { timeline } : {}),
  };
}

/** The mean loss rate of a loss model (Bernoulli: its probability; Gilbert-Elliott: the stationary rate). */
export function meanLoss(loss: LossModel | undefined): number {
  if (loss === undefined) return 0;
  if (loss.kind === 'bernoulli') return loss.probability;
  const { goodToBad: p, badToGood: r } = loss;
  const bad = loss.lossInBad ?? 1;
  const good = loss.lossInGood ?? 0;
  return p + r === 0 ? good : (r * good + p * bad) / (p + r);
}

function formatRate(bps: number): string {
  for (const [div, unit] of [[1e9, 'Gbit/s'], [1e6, 'Mbit/s'], [1e3, 'Kbit/s']] as const) {
    if (bps >= div) return `${+(bps / div).toFixed(3)} ${unit}`;
  }
  return `${bps} bit/s`;
}

function formatMicros(us: Micros): string {
  return us % 1000 === 0 ? `${us / 1000} ms` : `${us} us`;
}

function percent(p: number): string {
  return `${+(p * 100).toFixed(4)}%`;
}

/** One direction in words: "100 Mbit/s, 10 ms delay, 1% loss, queue 244 KB". */
function describeDirection(d: LinkDirectionSpec, delaySuffix: string): string {
  const parts = [d.traceFile !== undefined ? `trace ${d.traceFile}` : formatRate(d.rateBitsPerSecond!), `${formatMicros(d.delayMicros)} delay${delaySuffix}`];
  if (d.jitterMicros > 0) parts.push(`jitter +-${formatMicros(d.jitterMicros)}`);
  const loss = d.loss;
  if (loss === undefined || loss.kind === 'bernoulli') parts.push(`${percent(loss?.probability ?? 0)} loss`);
  else parts.push(`bursty loss (Gilbert-Elliott p ${percent(loss.goodToBad)}, r ${percent(loss.badToGood)}, bad ${percent(loss.lossInBad ?? 1)}, good ${percent(loss.lossInGood ?? 0)}: mean ${percent(meanLoss(loss))})`);
  if (d.reorder !== undefined) parts.push(`reorder ${percent(d.reorder.probability)} by ${formatMicros(d.reorder.extraDelayMicros)}`);
  if (d.duplicateProbability > 0) parts.push(`duplicate ${percent(d.duplicateProbability)}`);
  if (d.mtu !== undefined) parts.push(`mtu ${d.mtu}`);
  const queue =
    d.queueLimitPackets !== undefined ? `queue ${d.queueLimitPackets} packets` : d.queueLimitBytes === undefined ? 'unlimited queue' : `queue ${+(d.queueLimitBytes / 1024).toFixed(1)} KB`;
  parts.push(queue);
  return parts.join(', ');
}

/**
 * One line describing a link: "100 Mbit/s, 10 ms delay each way, 1% loss, queue 244 KB" when both
 * directions are alike, "up: ...; down: ..." otherwise; outages appended ("; down 2-4 s").
 */
export function describeLinkSpec(spec: LinkSpec): string {
  const same = describeDirection(spec.up, '') === describeDirection(spec.down, '');
  const text = same ? describeDirection(spec.up, ' each way') : `up: ${describeDirection(spec.up, '')}; down: ${describeDirection(spec.down, '')}`;
  if (spec.outages.length === 0) return text;
  return `${text}; down ${spec.outages.map(([a, b]) => `${a / 1e6}-${b / 1e6} s`).join(', ')}`;
}

/** The grammar for help texts (perf --help, emulate --help), each line prefixed by `indent`. */
export function linkSpecHelp(indent: string): string {
  return [
    'rate=R       bits/s, suffixes K/M/G (powers of 1000)                  default 1G',
    'delay=D      one-way delay: 10ms, 500us, 0.2s (bare: ms)              default 1ms',
    'jitter=J     uniform offset in [-J, +J] added to the delay, order kept  default 0',
    'loss=L       random loss per packet: 1% or 0.01                        default 0',
    '             or bursty Gilbert-Elliott loss ge:P,R[,BAD[,GOOD]]: P good->bad and R',
    "             bad->good per packet, loss BAD in the bad state (default 100%) and GOOD in",
    "             the good one (default 0%), netem's 'gemodel p r 1-h 1-k' order; e.g. ge:1%,30%",
    "queue=Q      drop-tail backlog in bytes, suffixes K/M (powers of 1024), NNp packets, or",
    "             'unlimited'                               default one BDP, at least 150 KB",
    'reorder=P,E  with probability P a packet is held back E (e.g. 1%,5ms): later ones overtake',
    'duplicate=P  probability a packet is delivered twice                    default 0',
    'mtu=N        largest packet carried; bigger ones are dropped            default none',
    'down=A-B     the link is down from A to B seconds after the start (both ways; queued',
    '             packets lost); several in time order: down=2-4,8-9',
    'trace=FILE   a Mahimahi trace (e.g. ../shared/traces/Verizon-LTE-short.down) as the',
    '             capacity instead of rate; trace-up=FILE, trace-down=FILE for one direction',
    'KEY-up=V, KEY-down=V  one direction only (every key but down): up is client to server',
    '             (perf) or left to right (emulate); KEY=V sets both, KEY-up/-down override it,',
    '             e.g. rate=10M,rate-down=2M is 10 Mbit/s up and 2 Mbit/s down',
  ]
    .map((line) => `${indent}${line}`)
    .join('\n');
}
