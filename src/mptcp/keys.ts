/**
 * MPTCP v1 keys and authentication with HMAC-SHA256 (RFC 8684 sections 3.1, 3.2, 3.4.1; RFC 2104):
 * token = most significant 32 bits of SHA-256(key), IDSN = least significant 64 bits of SHA-256(key),
 * MP_JOIN HMACs keyed with Key-A + Key-B over R-A + R-B, and the ADD_ADDR HMAC.
 * Not per-segment code: handshakes only.
 */
import type { U64 } from '../wire/u64.js';

/** Token: the most significant 32 bits of SHA-256 of the 8-byte big-endian key. */
export function keyToken(key: U64): number {
  void key;
  throw new Error('not implemented yet');
}

/** Initial data sequence number: the least significant 64 bits of SHA-256 of the key. */
export function keyIdsn(key: U64): U64 {
  void key;
  throw new Error('not implemented yet');
}

/**
 * The full 32-byte MP_JOIN HMAC: HMAC-SHA256(key = keyA || keyB, message = nonceA || nonceB). For the
 * SYN/ACK (sent by B) call with (keyB, keyA, nonceB, nonceA) and keep the leftmost 8 bytes; for the third
 * ACK (sent by A) call with (keyA, keyB, nonceA, nonceB) and keep the leftmost 20 bytes.
 */
export function joinHmac(keyA: U64, keyB: U64, nonceA: number, nonceB: number): Uint8Array {
  void keyA;
  void keyB;
  void nonceA;
  void nonceB;
  throw new Error('not implemented yet');
}

/**
 * ADD_ADDR HMAC, leftmost 8 bytes: HMAC-SHA256(key = senderKey || receiverKey, message = address id (1) ||
 * address (4 or 16) || port (2, zero when absent)).
 */
export function addAddrHmac(
  senderKey: U64,
  receiverKey: U64,
  addressId: number,
  address: Uint8Array,
  port?: number,
): Uint8Array {
  void senderKey;
  void receiverKey;
  void addressId;
  void address;
  void port;
  throw new Error('not implemented yet');
}
