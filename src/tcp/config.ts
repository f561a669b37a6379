/**
 * `TcpConfig` with every default filled in (Linux-like values, see ./types.ts). Resolved configurations
 * are cached per config object, so connections created with the same config share one resolved copy
 * (memory per idle connection matters).
 */
import type { KeepaliveConfig, Micros, TcpConfig } from './types.js';

/** Every `TcpConfig` field, resolved. */
export interface ResolvedTcpConfig {
  readonly mss: number;
  readonly initialWindowSegments: number;
  readonly congestionControl: string;
  readonly rtoMinMicros: Micros;
  readonly rtoMaxMicros: Micros;
  readonly rtoInitialMicros: Micros;
  readonly maxRetransmits: number;
  readonly maxSynRetransmits: number;
  readonly noDelay: boolean;
  readonly delayedAck: boolean;
  readonly delayedAckMicros: Micros;
  readonly sendBufferBytes: number;
  readonly receiveBufferBytes: number;
  readonly receiveBufferMaxBytes: number;
  readonly windowScaling: boolean;
  readonly timestamps: boolean;
  readonly sack: boolean;
  readonly keepalive: KeepaliveConfig | undefined;
  readonly timeWaitMicros: Micros;
  /** Our window-scale shift, chosen so the largest receive buffer fits in 16 bits (RFC 7323 section 2.3). */
  readonly receiveWindowShift: number;
}

const cache = new WeakMap<TcpConfig, ResolvedTcpConfig>();

function windowShiftFor(maxBuffer: number): number {
  let shift = 0;
  while (shift < 14 && maxBuffer >>> shift > 65535) shift++;
  return shift;
}

function resolve(config: TcpConfig): ResolvedTcpConfig {
  const receiveBufferBytes = config.receiveBufferBytes ?? 128 * 1024;
  const receiveBufferMaxBytes = Math.max(receiveBufferBytes, config.receiveBufferMaxBytes ?? 6 * 1024 * 1024);
  const windowScaling = config.windowScaling ?? true;
  return Object.freeze({
    mss: config.mss ?? 1460,
    initialWindowSegments: config.initialWindowSegments ?? 10,
    congestionControl: config.congestionControl ?? 'cubic',
    rtoMinMicros: config.rtoMinMicros ?? 200_000,
    rtoMaxMicros: config.rtoMaxMicros ?? 120_000_000,
    rtoInitialMicros: config.rtoInitialMicros ?? 1_000_000,
    maxRetransmits: config.maxRetransmits ?? 15,
    maxSynRetransmits: config.maxSynRetransmits ?? 6,
    noDelay: config.noDelay ?? false,
    delayedAck: config.delayedAck ?? true,
    delayedAckMicros: config.delayedAckMicros ?? 40_000,
    sendBufferBytes: config.sendBufferBytes ?? 4 * 1024 * 1024,
    receiveBufferBytes,
    // Without window scaling the window cannot exceed 65535 bytes, so neither can a useful buffer.
    receiveBufferMaxBytes: windowScaling ? receiveBufferMaxBytes : Math.min(receiveBufferMaxBytes, 65535),
    windowScaling,
    timestamps: config.timestamps ?? true,
    sack: config.sack ?? true,
    keepalive: config.keepalive,
    timeWaitMicros: config.timeWaitMicros ?? 60_000_000,
    receiveWindowShift: windowScaling ? windowShiftFor(receiveBufferMaxBytes) : 0,
  });
}

const DEFAULT_CONFIG: TcpConfig = Object.freeze({});

/** The resolved form of `config` (shared between connections given the same object). */
export function resolveTcpConfig(config: TcpConfig = DEFAULT_CONFIG): ResolvedTcpConfig {
  let resolved = cache.get(config);
  if (resolved === undefined) {
    resolved = resolve(config);
    cache.set(config, resolved);
  }
  return resolved;
}
