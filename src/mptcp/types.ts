/**
 * The public types of the connection layer that the host, the API and the harnesses use besides
 * `MptcpConnection` itself (connection.ts re-exports them, so imports from there keep working).
 */
import type { TcpEndpoints } from '../tcp/connection.js';
import type { TcpEvent, TcpInfo, TcpStateName } from '../tcp/types.js';
import type { PathManagerConfig } from '../pm/types.js';

/** What the connection's path manager reads (the host's `ip mptcp endpoint` table and limits). */
export type MptcpPathManagerConfig = PathManagerConfig;

/** A subflow the path manager wants opened (the host carries it out with MP_JOIN). */
export type { SubflowRequest } from '../pm/types.js';

/** What TcpSocket and the host need of a byte-stream connection (TCP or MPTCP). */
export interface StreamConnection {
  readonly endpoints: TcpEndpoints;
  readonly state: TcpStateName;
  readonly readableBytes: number;
  readonly writableBytes: number;
  write(data: Uint8Array): number;
  read(maxBytes?: number): Uint8Array | undefined;
  shutdown(): void;
  close(): void;
  abort(): void;
  setNoDelay(noDelay: boolean): void;
  info(): TcpInfo;
  pollEvent(): TcpEvent | undefined;
}

/** Options of `MptcpConnection.joinSubflow`. */
export interface JoinOptions {
  /** Ask the peer to use the subflow as backup only (B flag). */
  readonly backup?: boolean;
  /** Our address id for the local address (1..255). */
  readonly addressId: number;
  /** Opaque tag stored in the subflow (the host's interface id). */
  readonly tag?: number;
  /** The path-manager endpoint the subflow comes from. */
  readonly endpointId?: number;
  /** The peer's address id of the remote address (when it was announced). */
  readonly remoteId?: number;
}
