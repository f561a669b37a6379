/**
 * Types shared by the TCP engine (`tcp/`), the host stack (`stack/`) and the API layer: configuration,
 * events, errors and per-connection info (the fields of Linux's `struct tcp_info` that matter here).
 */

import type { Micros } from '../time/micros.js';
/** Re-exported: the project's one time type (src/time/micros.ts). */
export type { Micros };

/** RFC 9293 connection states, with their RFC names. */
export type TcpStateName =
  | 'CLOSED'
  | 'LISTEN'
  | 'SYN-SENT'
  | 'SYN-RECEIVED'
  | 'ESTABLISHED'
  | 'FIN-WAIT-1'
  | 'FIN-WAIT-2'
  | 'CLOSE-WAIT'
  | 'CLOSING'
  | 'LAST-ACK'
  | 'TIME-WAIT';

/** Why a connection ended, with Node/errno-style codes so the API layer can raise them as-is. */
export type TcpErrorCode =
  | 'ECONNREFUSED' // RST in answer to our SYN
  | 'ECONNRESET' // RST on a synchronized connection
  | 'ETIMEDOUT' // retransmission limit reached (data or SYN), or keepalive probes unanswered
  | 'ECONNABORTED'; // aborted locally

/** A connection-ending error: a stable code and a human-readable message. */
export interface TcpError {
  readonly code: TcpErrorCode;
  readonly message: string;
}

/** Events a connection reports through `pollEvent()`. */
export type TcpEvent =
  /** The three-way handshake completed. */
  | { readonly type: 'established' }
  /** New in-order data can be read. */
  | { readonly type: 'readable' }
  /** Send-buffer space freed after `write` had returned less than asked (backpressure relieved). */
  | { readonly type: 'writable' }
  /** The peer's FIN arrived and every byte before it was read: end of stream. */
  | { readonly type: 'end' }
  /** The connection is gone (graceful close finished, reset, timeout or abort). */
  | { readonly type: 'closed'; readonly error?: TcpError };

/** Keepalive (RFC 9293 section 3.8.4; Linux tcp_keepalive_time / _intvl / _probes). */
export interface KeepaliveConfig {
  readonly idleMicros: Micros;
  readonly intervalMicros: Micros;
  readonly probes: number;
}

/** Per-connection configuration; every field has a Linux-like default. */
export interface TcpConfig {
  /** MSS we advertise (default 1460: a 1500-byte MTU minus 40). */
  readonly mss?: number;
  /** Initial congestion window in segments (default 10, RFC 6928). */
  readonly initialWindowSegments?: number;
  /** Congestion controller by registry name (default "cubic"). */
  readonly congestionControl?: string;
  /** Minimum RTO (default 200 ms as on Linux; RFC 6298 says 1 s). */
  readonly rtoMinMicros?: Micros;
  /** Maximum RTO (default 120 s). */
  readonly rtoMaxMicros?: Micros;
  /** Initial RTO before any RTT sample (default 1 s, RFC 6298). */
  readonly rtoInitialMicros?: Micros;
  /** Retransmissions of one segment before the connection fails with ETIMEDOUT (default 15, tcp_retries2). */
  readonly maxRetransmits?: number;
  /** SYN retransmissions before connect fails with ETIMEDOUT (default 6, tcp_syn_retries). */
  readonly maxSynRetransmits?: number;
  /** Nagle's algorithm (default on; `noDelay: true` is TCP_NODELAY). */
  readonly noDelay?: boolean;
  /** Delayed ACKs (default on, 40 ms max delay, at least every second full segment). */
  readonly delayedAck?: boolean;
  readonly delayedAckMicros?: Micros;
  /** Send buffer limit in bytes (default 4 MiB); `write` accepts only what fits. */
  readonly sendBufferBytes?: number;
  /** Initial receive buffer (default 128 KiB) and its autotuning cap (default 6 MiB, tcp_rmem[2]). */
  readonly receiveBufferBytes?: number;
  readonly receiveBufferMaxBytes?: number;
  /** Options offered in the SYN (all default on). */
  readonly windowScaling?: boolean;
  readonly timestamps?: boolean;
  readonly sack?: boolean;
  /** Keepalive; off by default. */
  readonly keepalive?: KeepaliveConfig;
  /** TIME-WAIT duration (default 60 s, Linux's TCP_TIMEWAIT_LEN). */
  readonly timeWaitMicros?: Micros;
}

/** Connection info, like Linux's tcp_info (`ss -ti`). */
export interface TcpInfo {
  readonly state: TcpStateName;
  readonly srttMicros: Micros | undefined;
  readonly rttvarMicros: Micros | undefined;
  readonly minRttMicros: Micros | undefined;
  readonly rtoMicros: Micros;
  readonly sendMss: number;
  readonly receiveMss: number;
  readonly cwndBytes: number;
  readonly ssthreshBytes: number;
  readonly congestionControl: string;
  readonly bytesInFlight: number;
  /** Bytes sent for the first time, and bytes acknowledged by the peer. */
  readonly bytesSent: number;
  readonly bytesAcked: number;
  readonly bytesReceived: number;
  readonly bytesRetransmitted: number;
  readonly segmentsSent: number;
  readonly segmentsReceived: number;
  /** Retransmitted segments (fast, RTO and SACK-based together), and RTO expiries. */
  readonly retransmits: number;
  readonly timeouts: number;
  /** Tail loss probes sent (RFC 8985 7; Linux's TCPLossProbes counter). */
  readonly lossProbes: number;
  /** Congestion reductions undone as spurious by D-SACK or timestamps (Linux's TCP*Undo counters). */
  readonly undos: number;
  readonly sendWindow: number;
  readonly receiveWindow: number;
  readonly sendWindowScale: number;
  readonly receiveWindowScale: number;
  readonly timestamps: boolean;
  readonly sack: boolean;
}
