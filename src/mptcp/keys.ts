/**
 * MPTCP v1 keys and authentication with HMAC-SHA256 (RFC 8684 sections 3.1, 3.2, 3.4.1; RFC 2104):
 * token = most significant 32 bits of SHA-256(key), IDSN = least significant 64 bits of SHA-256(key),
 * MP_JOIN HMACs keyed with Key-A + Key-B over R-A + R-B, and the ADD_ADDR HMAC.
 * Not per-segment code: handshakes only.
 *
 * Heads up: read RFC 8684 section 3.1 ("The token MUST be the most significant 32 bits of the SHA-256
 * hash of the key ... the IDSN ... the least significant 64 bits"), 3.2 (MP_JOIN: "HMAC(Key=(Key-B+Key-A),
 * Msg=(R-B+R-A))" on the SYN/ACK, "HMAC(Key=(Key-A+Key-B), Msg=(R-A+R-B))" on the third ACK) and 3.4.1
 * (ADD_ADDR: "the rightmost 64 bits of an HMAC ... Msg = Address ID + IP Address + Port") before changing
 * this file. The bytes match Linux: net/mptcp/crypto.c (`mptcp_crypto_key_sha`, `mptcp_crypto_hmac_sha`:
 * keys and nonces big-endian) and options.c (`add_addr_generate_hmac`: id, address, then a 2-byte port that
 * is zero when no port is announced; the last 8 bytes of the digest).
 *
 * The rule for every HMAC: the side that SENDS it puts its own key and its own random number first.
 *
 * Randomness is injected (`RandomBytes`), so the protocol core stays deterministic under test.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { U64 } from '../wire/u64.js';

/** A source of random bytes, e.g. `crypto.randomBytes` in production or a seeded PRNG in simulations. */
export type RandomBytes = (length: number) => Uint8Array;

/** Length of the full HMAC-SHA256 output. */
export const HMAC_SHA256_LENGTH = 32;

function keyBytes(key: U64, out: Uint8Array, offset: number): void {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint32(offset, key.hi >>> 0);
  view.setUint32(offset + 4, key.lo >>> 0);
}

function sha256OfKey(key: U64): Uint8Array {
  const bytes = new Uint8Array(8);
  keyBytes(key, bytes, 0);
  return createHash('sha256').update(bytes).digest();
}

function hmacSha256(keyA: U64, keyB: U64, message: Uint8Array): Uint8Array {
  const key = new Uint8Array(16);
  keyBytes(keyA, key, 0);
  keyBytes(keyB, key, 8);
  // A plain Uint8Array (not a Buffer), so results compare equal to parsed option fields.
  return new Uint8Array(createHmac('sha256', key).update(message).digest());
}

/** Token: the most significant 32 bits of SHA-256 of the 8-byte big-endian key. */
export function keyToken(key: U64): number {
  const h = sha256OfKey(key);
  return ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0;
}

/** Initial data sequence number: the least significant 64 bits of SHA-256 of the key. */
export function keyIdsn(key: U64): U64 {
  const h = sha256OfKey(key);
  return {
    hi: ((h[24]! << 24) | (h[25]! << 16) | (h[26]! << 8) | h[27]!) >>> 0,
    lo: ((h[28]! << 24) | (h[29]! << 16) | (h[30]! << 8) | h[31]!) >>> 0,
  };
}

/** Token and IDSN from one hash (a connection needs both for each key). */
export function keyTokenAndIdsn(key: U64): { readonly token: number; readonly idsn: U64 } {
  const h = sha256OfKey(key);
  const word = (i: number): number => ((h[i]! << 24) | (h[i + 1]! << 16) | (h[i + 2]! << 8) | h[i + 3]!) >>> 0;
  return { token: word(0), idsn: { hi: word(24), lo: word(28) } };
}

/**
 * The full 32-byte MP_JOIN HMAC: HMAC-SHA256(key = keyA || keyB, message = nonceA || nonceB). For the
 * SYN/ACK (sent by B) call with (keyB, keyA, nonceB, nonceA) and keep the leftmost 8 bytes; for the third
 * ACK (sent by A) call with (keyA, keyB, nonceA, nonceB) and keep the leftmost 20 bytes.
 */
export function joinHmac(keyA: U64, keyB: U64, nonceA: number, nonceB: number): Uint8Array {
  const message = new Uint8Array(8);
  const view = new DataView(message.buffer);
  view.setUint32(0, nonceA >>> 0);
  view.setUint32(4, nonceB >>> 0);
  return hmacSha256(keyA, keyB, message);
}

/**
 * The truncated HMAC of an MP_JOIN SYN/ACK, as its sender (the listener, B) computes it: the leftmost 8 bytes
 * of HMAC(localKey || remoteKey, localNonce || remoteNonce). The initiator checks a received one by calling
 * this with the listener's values (remote first).
 */
export function joinSynAckHmac(localKey: U64, remoteKey: U64, localNonce: number, remoteNonce: number): Uint8Array {
  return joinHmac(localKey, remoteKey, localNonce, remoteNonce).subarray(0, 8);
}

/**
 * The HMAC of an MP_JOIN third ACK, as its sender (the initiator, A) computes it: the leftmost 20 bytes of
 * HMAC(localKey || remoteKey, localNonce || remoteNonce).
 */
export function joinAckHmac(localKey: U64, remoteKey: U64, localNonce: number, remoteNonce: number): Uint8Array {
  return joinHmac(localKey, remoteKey, localNonce, remoteNonce).subarray(0, 20);
}

/**
 * ADD_ADDR HMAC, RIGHTMOST 8 bytes (RFC 8684 section 3.4.1; Linux `add_addr_generate_hmac` takes the last 8
 * bytes of the digest): HMAC-SHA256(key = senderKey || receiverKey, message = address id (1) || address (4 or
 * 16) || port (2, zero when absent)). The receiver verifies with (its peer's key, its own key, ...).
 */
export function addAddrHmac(
  senderKey: U64,
  receiverKey: U64,
  addressId: number,
  address: Uint8Array,
  port?: number,
): Uint8Array {
  if (address.length !== 4 && address.length !== 16) throw new RangeError(`address must be 4 or 16 bytes, got ${address.length}`);
  const message = new Uint8Array(1 + address.length + 2);
  message[0] = addressId;
  message.set(address, 1);
  const p = port ?? 0;
  message[1 + address.length] = p >>> 8;
  message[2 + address.length] = p;
  return hmacSha256(senderKey, receiverKey, message).subarray(HMAC_SHA256_LENGTH - 8);
}

/** Constant-time comparison of a received HMAC with the expected one (false when lengths differ). */
export function hmacEqual(received: Uint8Array, expected: Uint8Array): boolean {
  return received.length === expected.length && timingSafeEqual(received, expected);
}

/**
 * A fresh 64-bit key from `randomBytes`. RFC 8684 section 3.1 only asks for a random key; the connection
 * layer must still draw again when the key's token is already in use locally (as Linux does).
 */
export function randomKey(randomBytes: RandomBytes): U64 {
  const b = randomBytes(8);
  if (b.length < 8) throw new RangeError('randomBytes returned fewer than 8 bytes');
  return {
    hi: ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0,
    lo: ((b[4]! << 24) | (b[5]! << 16) | (b[6]! << 8) | b[7]!) >>> 0,
  };
}

/** A fresh 32-bit random number (R-A / R-B of MP_JOIN) from `randomBytes`. */
export function randomNonce(randomBytes: RandomBytes): number {
  const b = randomBytes(4);
  if (b.length < 4) throw new RangeError('randomBytes returned fewer than 4 bytes');
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

/** A key with the token and IDSN derived from it. */
export interface KeyMaterial {
  readonly key: U64;
  readonly token: number;
  readonly idsn: U64;
}

/**
 * The keys of one connection: ours, drawn when it is created, and the peer's, learnt from its MP_CAPABLE
 * (RFC 8684 3.1), each with its token and IDSN.
 */
export class ConnectionKeys {
  readonly localKey: U64;
  readonly localToken: number;
  readonly localIdsn: U64;
  #remote: KeyMaterial | undefined;

  constructor(local: KeyMaterial) {
    this.localKey = local.key;
    this.localToken = local.token;
    this.localIdsn = local.idsn;
  }

  /** The peer's key, once its MP_CAPABLE carried it. */
  get remoteKey(): U64 | undefined {
    return this.#remote?.key;
  }

  get remoteToken(): number | undefined {
    return this.#remote?.token;
  }

  get remoteIdsn(): U64 | undefined {
    return this.#remote?.idsn;
  }

  /** The peer's key arrived (SYN/ACK for the client, third ACK for the server). */
  setRemoteKey(key: U64): void {
    const { token, idsn } = keyTokenAndIdsn(key);
    this.#remote = { key, token, idsn };
  }

  /** `key` is our key (MP_FASTCLOSE and the MP_CAPABLE third ACK echo it). */
  isLocalKey(key: U64): boolean {
    return key.hi === this.localKey.hi && key.lo === this.localKey.lo;
  }
}
