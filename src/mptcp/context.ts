/**
 * What the files of the connection layer share (the counterpart of Linux's net/mptcp/protocol.h): the
 * connection's state as a discriminated union, and the context object through which the sub-objects
 * (options, handshake, fallback, close, retransmit, path-manager glue) reach the connection's state and its
 * transitions. Only types and small pure helpers live here, so every file can import it without cycles.
 */
import type { TcpConnection } from '../tcp/connection.js';
import type { TcpError, TcpEvent } from '../tcp/types.js';
import type { Micros } from '../time/micros.js';
import type { ConnectionMonitor } from './info.js';
import type { ConnectionKeys } from './keys.js';
import type { MptcpCounters } from './mib.js';
import type { Reassembly } from './reassembly.js';
import type { SendBuffer } from './send-buffer.js';
import type { JoinHandshake, Subflow } from './subflow.js';
import type { MptcpTimerTable } from './timers.js';

/** A fast close under way (RFC 8684 3.5): who started it and the error the application will see. */
export interface FastClose {
  /** We sent MP_FASTCLOSE (our RSTs carry it); false when the peer's arrived. */
  readonly sent: boolean;
  readonly error: TcpError;
}

/**
 * The connection's state (STYLE.md 8). 'handshake': MP_CAPABLE under way, no data-level state yet;
 * 'mptcp': the data-sequence space is in use; 'fastClosing': MPTCP, every subflow being reset with (or
 * after) MP_FASTCLOSE; 'fallback': plain TCP on the initial subflow (RFC 8684 3.7), from the handshake or
 * later (a fallback while fast closing keeps the fast close, whose error the application still gets).
 * The transitions are in connection.ts (`#enterMptcp`, `#fallBack`, `#startFastClose`); close.ts decides
 * when a fast close starts (ours or the peer's), fallback.ts and handshake.ts when a fallback happens.
 */
export type ConnectionState =
  | { readonly kind: 'handshake' }
  | { readonly kind: 'mptcp' }
  | { readonly kind: 'fastClosing'; readonly fastClose: FastClose }
  | { readonly kind: 'fallback'; readonly fastClose: FastClose | undefined };

/** The states without data, shared. */
export const HANDSHAKE: ConnectionState = Object.freeze({ kind: 'handshake' });
export const MPTCP: ConnectionState = Object.freeze({ kind: 'mptcp' });

/** MPTCP at the data level (a fast close is still MPTCP: its data and options rules hold until the end). */
export function isMptcp(state: ConnectionState): boolean {
  return state.kind === 'mptcp' || state.kind === 'fastClosing';
}

/** The mode MPTCP_INFO reports ('mptcp' while fast closing). */
export function modeOf(state: ConnectionState): 'handshake' | 'mptcp' | 'fallback' {
  return state.kind === 'fastClosing' ? 'mptcp' : state.kind;
}

/** The fast close under way or behind a fallback, if any. */
export function fastCloseOf(state: ConnectionState): FastClose | undefined {
  return state.kind === 'fastClosing' || state.kind === 'fallback' ? state.fastClose : undefined;
}

/**
 * The subflow whose TCP state and info stand for the connection's: the initial one while it is not CLOSED,
 * else the first one that is not (`subflows[0]` is always the initial subflow).
 */
export function primarySubflow(subflows: readonly Subflow[]): TcpConnection {
  const initial = subflows[0]!.tcp;
  if (initial.state !== 'CLOSED') return initial;
  for (const s of subflows) if (s.tcp.state !== 'CLOSED') return s.tcp;
  return initial;
}

/**
 * The connection as its sub-objects see it (Linux passes them the msk): shared state and the transitions,
 * which stay in connection.ts. Implemented once per connection by a private object of the connection.
 */
export interface ConnectionContext {
  /** The passive side (the listener's). */
  readonly server: boolean;
  readonly counters: MptcpCounters;
  readonly keys: ConnectionKeys;
  readonly state: ConnectionState;
  /** The time of the latest driver call (for timers armed while options are built). */
  readonly now: Micros;
  /** Every subflow ever added, in order (closed ones included; the initial one first). */
  readonly subflows: readonly Subflow[];
  /** The data-level send buffer (offsets from our IDSN + 1). */
  readonly send: SendBuffer;
  /** Data-level reassembly and the application's receive queue (offsets from the peer's IDSN + 1). */
  readonly receive: Reassembly;
  /** The data-level retransmission and DATA_FIN timers. */
  readonly timers: MptcpTimerTable;
  /** `ip mptcp monitor` events of this connection. */
  readonly monitor: ConnectionMonitor;
  /** DSS checksums are in use (as the MP_CAPABLE handshake settled it). */
  readonly checksum: boolean;
  /** What the application may write now (the stream API's `writableBytes`). */
  readonly writableBytes: number;
  /** The MP_CAPABLE handshake gave the connection its keys: MPTCP from now on (CREATED). */
  enterMptcp(): void;
  /** Both ends proved they hold both keys (ESTABLISHED); once. */
  becomeFullyEstablished(): void;
  /** Plain TCP from now on (RFC 8684 3.7). */
  fallBack(): void;
  /** MP_FASTCLOSE (RFC 8684 3.5), ours or the peer's: fastClosing from now on. */
  startFastClose(fastClose: FastClose): void;
  /** A joined subflow may carry data (SF_ESTABLISHED, once). */
  subflowEstablished(subflow: Subflow, handshake: JoinHandshake): void;
  /** A second subflow or a reinjection: a checksum failure can no longer turn the connection into TCP. */
  forbidInfiniteFallback(): void;
  /** Bytes for data offset `offset` reached the connection level (reassembly; a DATA_FIN may count now). */
  insertData(offset: number, bytes: Uint8Array): void;
  /** An event for the application (pollEvent). */
  emit(event: TcpEvent): void;
}
