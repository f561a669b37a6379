/**
 * TCP options as the connection sees them: the one-pass scan of an incoming segment's options, the option
 * constants shared by the send path, and the timestamp clock.
 *
 * Heads up! Before working on this file read:
 * - RFC 9293 section 3.2 (option layout) and 3.7.1 (MSS, the 536-byte default);
 * - RFC 7323 sections 2 (window scale), 3 (timestamps), 4.3 (TS.Recent) and 5 (PAWS);
 * - RFC 2018 section 2 (SACK-permitted, SACK blocks).
 */
import type { TcpOption } from '../wire/tcp.js';
import type { Micros } from './types.js';

/** RFC 9293 3.7.1: the MSS assumed when the peer sends no MSS option. */
export const DEFAULT_PEER_MSS = 536;
/** Bytes the timestamps option takes with its two NOPs (Linux's aligned layout). */
export const TIMESTAMPS_SPACE = 12;
/** RFC 7323 5.5: TS.Recent is invalid after 24 days of idleness. */
export const PAWS_IDLE_LIMIT_MICROS = 24 * 24 * 3600 * 1_000_000;

/** Padding before timestamps and SACK, and before window scale in a SYN (Linux's layout). */
export const NOP: TcpOption = Object.freeze({ kind: 'nop' });
/** RFC 2018 2: offered in our SYN, answered in the SYN/ACK. */
export const SACK_PERMITTED: TcpOption = Object.freeze({ kind: 'sackPermitted' });
/** Shared by every segment without options (no allocation). */
export const NO_OPTIONS: readonly TcpOption[] = Object.freeze([]);
/** No SACK blocks to send (shared, no allocation). */
export const NO_BLOCKS: ReadonlyArray<readonly [number, number]> = Object.freeze([]);

/** Options of an incoming segment, gathered in one pass (scratch object: no allocation per segment). */
export interface ParsedOptions {
  mss: number | undefined;
  windowShift: number | undefined;
  sackPermitted: boolean;
  hasTimestamps: boolean;
  tsVal: number;
  tsEcr: number;
  sackBlocks: ReadonlyArray<readonly [number, number]> | undefined;
}

const scratch: ParsedOptions = {
  mss: undefined,
  windowShift: undefined,
  sackPermitted: false,
  hasTimestamps: false,
  tsVal: 0,
  tsEcr: 0,
  sackBlocks: undefined,
};

/**
 * Gathers the options the connection acts on. The result is one module-wide scratch object, overwritten by
 * the next call: read it before scanning another segment, and never keep it.
 */
export function scanOptions(options: readonly TcpOption[]): ParsedOptions {
  const o = scratch;
  o.mss = undefined;
  o.windowShift = undefined;
  o.sackPermitted = false;
  o.hasTimestamps = false;
  o.sackBlocks = undefined;
  for (let k = 0; k < options.length; k++) {
    const option = options[k]!;
    switch (option.kind) {
      case 'timestamps':
        o.hasTimestamps = true;
        o.tsVal = option.tsVal;
        o.tsEcr = option.tsEcr;
        break;
      case 'sack':
        o.sackBlocks = option.blocks;
        break;
      case 'mss':
        o.mss = option.mss;
        break;
      case 'windowScale':
        // RFC 7323 2.3: "If a Window Scale option is received with a shift.cnt value larger than 14, the TCP
        // SHOULD log the error but MUST use 14 instead of the specified value."
        o.windowShift = Math.min(option.shift, 14);
        break;
      case 'sackPermitted':
        o.sackPermitted = true;
        break;
      default:
        break;
    }
  }
  return o;
}

/** Our TSval clock: milliseconds (RFC 7323 5.4 asks for 1 ms to 1 s per tick), wrapped to 32 bits. */
export function tsNow(now: Micros): number {
  return Math.floor(now / 1000) >>> 0;
}

/** RTT in microseconds from an echoed timestamp (ours tick in milliseconds). */
export function timestampRtt(now: Micros, tsEcr: number): Micros {
  return (((tsNow(now) - tsEcr) >>> 0) & 0x7fffffff) * 1000;
}
