/** Validation of `LinkConfig` numbers, shared by `Link` and its parts (each throws a RangeError naming the field). */

/** A probability in [0, 1]; undefined is 0. */
export function checkProbability(name: string, p: number | undefined): number {
  const v = p ?? 0;
  if (!(v >= 0 && v <= 1)) throw new RangeError(`${name} must be a probability in [0, 1], got ${p}`);
  return v;
}

/** A non-negative whole number of microseconds; undefined is 0. */
export function checkMicros(name: string, v: number | undefined): number {
  const x = v ?? 0;
  if (!Number.isSafeInteger(x) || x < 0) throw new RangeError(`${name} must be a non-negative integer of microseconds, got ${v}`);
  return x;
}

/** A limit >= 0; undefined is unlimited (Infinity). */
export function checkLimit(name: string, v: number | undefined): number {
  const x = v ?? Infinity;
  if (!(x >= 0)) throw new RangeError(`${name} must be >= 0, got ${v}`);
  return x;
}
