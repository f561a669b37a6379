/**
 * Codec errors: the first of the two error tiers (STYLE.md 6). A parser returns a `WireError` instead of
 * throwing; callers test with `instanceof WireError` (or `isWireError`). Protocol-level reactions (RST,
 * fallback, ...) live in the protocol layers, not here.
 */

/** Stable machine-readable codes for codec errors. */
export type WireErrorCode =
  | 'truncated' // fewer bytes than a header or a declared length needs
  | 'malformed' // a field holds a value the format forbids (bad length, bad version, ...)
  | 'checksum' // a checksum did not verify
  | 'unsupported' // well-formed but outside what we read (IP fragments, unknown link type, ...)
  | 'too-small'; // emit: the caller's buffer cannot hold the encoding

/** A codec error: what went wrong, where (byte offset into the parsed input), never thrown by parsers. */
export class WireError {
  constructor(
    readonly code: WireErrorCode,
    readonly message: string,
    /** Byte offset into the input at which the problem was found. */
    readonly offset = 0,
  ) {}

  toString(): string {
    return `${this.code} at offset ${this.offset}: ${this.message}`;
  }
}

/** Type guard for parse results of the form `T | WireError`. */
export function isWireError(x: unknown): x is WireError {
  return x instanceof WireError;
}

/** Emit-side failure: the buffer is too small. Emitters throw this (a caller bug, never network input). */
export class BufferTooSmallError extends RangeError {
  constructor(needed: number, available: number) {
    super(`buffer too small: need ${needed} bytes, have ${available}`);
  }
}

/** Throws BufferTooSmallError unless `buf` has `needed` bytes from `offset`. */
export function ensureRoom(buf: Uint8Array, offset: number, needed: number): void {
  if (offset < 0 || offset + needed > buf.length) throw new BufferTooSmallError(needed, buf.length - offset);
}
