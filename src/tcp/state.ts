/**
 * The RFC 9293 connection state as a discriminated union with per-state data (STYLE.md 8), and the shared
 * frozen values of the states that carry none (a transition allocates nothing).
 *
 * Heads up! Before working on this file read RFC 9293 sections 3.3.2 (the state diagram) and 3.6 (closing a
 * connection, TIME-WAIT). LISTEN is absent: the host's listener owns it and hands a SYN to
 * `TcpConnection.accept`.
 */
import type { TcpError } from './types.js';

/** Per-state data (STYLE.md 8); the RFC 9293 name is `name`. */
export type ConnState =
  | { readonly name: 'SYN-SENT' }
  /** `passive`: entered from accept() (a listener's SYN), not from a simultaneous open. */
  | { readonly name: 'SYN-RECEIVED'; readonly passive: boolean }
  | { readonly name: 'ESTABLISHED' }
  | { readonly name: 'FIN-WAIT-1' }
  | { readonly name: 'FIN-WAIT-2' }
  | { readonly name: 'CLOSE-WAIT' }
  | { readonly name: 'CLOSING' }
  | { readonly name: 'LAST-ACK' }
  | { readonly name: 'TIME-WAIT' }
  | { readonly name: 'CLOSED'; readonly error: TcpError | undefined };

/** After an active open (RFC 9293 3.10.1): our SYN is pending or sent. */
export const STATE_SYN_SENT: ConnState = Object.freeze({ name: 'SYN-SENT' });
/** The handshake is complete and neither side has closed. */
export const STATE_ESTABLISHED: ConnState = Object.freeze({ name: 'ESTABLISHED' });
/** We have closed (a FIN is queued or sent), the peer has not and our FIN is unacknowledged. */
export const STATE_FIN_WAIT_1: ConnState = Object.freeze({ name: 'FIN-WAIT-1' });
/** Our FIN is acknowledged; waiting for the peer's. */
export const STATE_FIN_WAIT_2: ConnState = Object.freeze({ name: 'FIN-WAIT-2' });
/** The peer has closed; we may still send. */
export const STATE_CLOSE_WAIT: ConnState = Object.freeze({ name: 'CLOSE-WAIT' });
/** Both have closed and our FIN is unacknowledged (a simultaneous close). */
export const STATE_CLOSING: ConnState = Object.freeze({ name: 'CLOSING' });
/** The peer closed first, then we did; waiting for our FIN's acknowledgment. */
export const STATE_LAST_ACK: ConnState = Object.freeze({ name: 'LAST-ACK' });
/** Both FINs exchanged: 2*MSL before CLOSED, so that a lost last ACK can be sent again (RFC 9293 3.6). */
export const STATE_TIME_WAIT: ConnState = Object.freeze({ name: 'TIME-WAIT' });
