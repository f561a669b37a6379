/** The host's options and counters (src/stack/host.ts). */
import type { TcpConfig } from '../tcp/types.js';
import type { RandomBytes } from '../mptcp/keys.js';

/** Host configuration. */
export interface HostOptions {
  /** For logs and errors. */
  readonly name?: string;
  /**
   * Secret for ISNs (RFC 6528) and ephemeral ports (RFC 6056). The host never draws randomness itself:
   * real-time callers pass `crypto.randomBytes(32)`; tests pass a fixed value for reproducible runs.
   */
  readonly secret: Uint8Array;
  /** Defaults for every connection of this host (each listener/connect may override). */
  readonly tcp?: TcpConfig;
  /** Verify IPv4 header and TCP checksums on input (default true). */
  readonly verifyChecksums?: boolean;
  /**
   * Checksum offload, as Linux's loopback does: TCP checksums are neither computed on output nor verified
   * on input. Only for hosts that talk to each other in one process over links that never corrupt (the
   * in-process benchmark); never on TUN or UDP. Default false.
   */
  readonly checksumOffload?: boolean;
  /**
   * The TCP checksum of what the host sends is left to its driver (`sendsPendingChecksums`), and packets the
   * driver hands over with `checksumPending` are not verified: the emulator's network fills checksums in only
   * where something reads the packets (taps, middleboxes, filters, other receivers), so between two hosts of
   * this stack on a link nobody watches no checksum is computed, and a capture still shows correct ones.
   * `HostPair` turns it on; never for TUN or UDP (their drivers take packets as they are). Default false.
   */
  readonly deferChecksums?: boolean;
  /**
   * Randomness for MPTCP keys. Default: a deterministic stream derived from `secret` (SHA-256 of the secret
   * and a counter), so simulations are reproducible and real-time hosts (random secret) get random keys.
   */
  readonly randomBytes?: RandomBytes;
  /** The MPTCP packet scheduler of new connections (Linux's `net.mptcp.scheduler`); default "default". */
  readonly mptcpScheduler?: string;
}

/** Counters of the host's IP/TCP input and output (like a few lines of `nstat`). */
export interface HostCounters {
  packetsIn: number;
  packetsOut: number;
  /** IP packets that did not parse (truncated, bad header checksum, fragments). */
  ipErrors: number;
  /** TCP segments with a bad checksum or header. */
  tcpErrors: number;
  /** Packets for an address that is not ours. */
  notForUs: number;
  /** Non-TCP packets (ICMP and others), ignored. */
  otherProtocols: number;
  /** RSTs sent for segments that matched no connection or listener. */
  resetsSent: number;
  /** SYNs dropped because a listener's backlog was full. */
  synDropped: number;
  /** Connections whose route disappeared (packets dropped). */
  noRoute: number;
}

export function createHostCounters(): HostCounters {
  return { packetsIn: 0, packetsOut: 0, ipErrors: 0, tcpErrors: 0, notForUs: 0, otherProtocols: 0, resetsSent: 0, synDropped: 0, noRoute: 0 };
}
