/**
 * The token table of one host (Linux keeps one per network namespace): every live MPTCP connection by its
 * local token, so an MP_JOIN SYN finds its connection by hash, and a new connection's key is drawn again
 * when its token is already in use, as the token is what names the connection to the peer.
 *
 * Read first: RFC 8684 3.1 ("the token ... is used to identify the connection"; a key "MUST" be unique
 * per host only in that its token must be), 3.2 (MP_JOIN carries the receiver's token); Linux
 * net/mptcp/token.c `mptcp_token_new_connect` / `mptcp_token_new_request` (draw, look up the bucket, draw
 * again while busy, at most TOKEN_MAX_RETRIES times), `mptcp_token_get_sock`, `mptcp_token_destroy`.
 */
import type { U64 } from '../wire/u64.js';
import { keyTokenAndIdsn, randomKey, type RandomBytes } from './keys.js';

/** Linux `TOKEN_MAX_RETRIES`: draws of a key before giving up. */
export const TOKEN_MAX_RETRIES = 4;

/** A local key with the token and IDSN derived from it (RFC 8684 3.1: SHA-256 of the key). */
export interface LocalKey {
  readonly key: U64;
  readonly token: number;
  readonly idsn: U64;
}

/** Draws a key from `randomBytes` and derives its token and IDSN (no uniqueness check). */
export function drawLocalKey(randomBytes: RandomBytes): LocalKey {
  const key = randomKey(randomBytes);
  const { token, idsn } = keyTokenAndIdsn(key);
  return { key, token, idsn };
}

/** Live connections by local token (see the file comment). */
export class TokenTable<T> {
  readonly #byToken = new Map<number, T>();

  /**
   * Draws a local key whose token no live entry uses and enters `owner` under it (Linux
   * `mptcp_token_new_connect`). Throws after TOKEN_MAX_RETRIES draws that all collided, which only a
   * broken random source makes happen (Linux falls back to TCP there, MPFallbackTokenInit).
   */
  add(randomBytes: RandomBytes, owner: T): LocalKey {
    for (let attempt = 0; attempt < TOKEN_MAX_RETRIES; attempt++) {
      const local = drawLocalKey(randomBytes);
      if (this.#byToken.has(local.token)) continue;
      this.#byToken.set(local.token, owner);
      return local;
    }
    throw new Error(`MPTCP token table: ${TOKEN_MAX_RETRIES} keys in a row had tokens in use (EBUSY)`);
  }

  /** The connection whose local token is `token` (Linux `mptcp_token_get_sock`). */
  get(token: number): T | undefined {
    return this.#byToken.get(token);
  }

  /** Forgets `token` if `owner` holds it (Linux `mptcp_token_destroy`). */
  delete(token: number, owner: T): void {
    if (this.#byToken.get(token) === owner) this.#byToken.delete(token);
  }

  /** Live entries. */
  get size(): number {
    return this.#byToken.size;
  }
}
