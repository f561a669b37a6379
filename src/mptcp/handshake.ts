/**
 * MPTCP handshakes: MP_CAPABLE (the connection's keys) and MP_JOIN (each further subflow).
 *
 * Read first: RFC 8684 3.1 (MP_CAPABLE), 3.2 (MP_JOIN: token, nonces, truncated HMAC on the SYN/ACK,
 * 160-bit HMAC on the third ACK, "the initiator MUST NOT send data on the subflow until it has received the
 * fourth ACK"); Linux net/mptcp/subflow.c `subflow_finish_connect`, `subflow_hmac_valid`,
 * `subflow_token_join_request`.
 */
import type { Micros } from '../time/micros.js';

/**
 * Join state of a subflow: 'none' for the MP_CAPABLE subflow; client 'synSent' -> 'ackSent' (third ACK sent,
 * waiting for the fourth) -> 'full'; server 'synReceived' -> 'full' (third ACK verified); 'failed' after a
 * bad HMAC or a missing MP_JOIN (the subflow is reset with MP_TCPRST).
 */
export type JoinState = 'none' | 'synSent' | 'ackSent' | 'synReceived' | 'full' | 'failed';

/** MP_JOIN third-ACK retransmission: start (Linux retransmits it with the subflow's RTO). */
export const JOIN_ACK_RTO_MIN: Micros = 200_000;

/** The MP_JOIN handshake of one joined subflow: nonces, progress, the third-ACK retransmission. */
export class JoinHandshake {
  state: JoinState;
  /** Our nonce (R-A on the client, R-B on the server). */
  localNonce: number;
  /** The peer's nonce, from its SYN or SYN/ACK. */
  remoteNonce = 0;
  /** Third-ACK retransmission deadline (client, until the fourth ACK). */
  ackTimer: Micros | undefined = undefined;
  ackRto: Micros = JOIN_ACK_RTO_MIN;
  /** SF_ESTABLISHED was reported (joins only, as Linux). */
  announced = false;

  constructor(state: 'synSent' | 'synReceived', localNonce: number) {
    this.state = state;
    this.localNonce = localNonce;
  }
}
