/**
 * The sender's SACK scoreboard (RFC 6675 section 3, "Keeping track of SACKed data"; RFC 2018 section 5)
 * and the loss-recovery queries over it: IsLost (section 4 with DupThresh 3), the number of unSACKed
 * bytes between two points (for pipe), and the next hole (for NextSeg).
 *
 * The connection uses it for SACKed bytes (pipe) and to find newly SACKed ranges (`add`'s callback marks
 * the per-segment records); loss marking is RACK's (./rack.ts), so `lostBoundary` (the RFC 6675 DupThresh
 * rule) is kept for reference and tests only.
 *
 * Positions are sequence offsets from our ISN (they never wrap). SACKed data is a sorted list of disjoint
 * half-open ranges above SND.UNA, stored flat ([start0, end0, start1, end1, ...]). A connection creates
 * its scoreboard only when the first SACK block arrives.
 */

/** RFC 6675 DupThresh. */
export const DUP_THRESH = 3;

/** SACKed ranges above SND.UNA. */
export class Scoreboard {
  /** Flat [start, end) pairs, sorted, disjoint, non-adjacent. */
  readonly ranges: number[] = [];
  /** Total SACKed bytes. */
  sackedBytes = 0;
  /** Highest SACKed position (end of the last range), or 0. */
  get highestSacked(): number {
    const r = this.ranges;
    return r.length === 0 ? 0 : r[r.length - 1]!;
  }

  /** Forgets everything below `una` (cumulatively acknowledged). */
  advance(una: number): void {
    const r = this.ranges;
    let drop = 0;
    while (drop < r.length && r[drop + 1]! <= una) {
      this.sackedBytes -= r[drop + 1]! - r[drop]!;
      drop += 2;
    }
    if (drop > 0) r.splice(0, drop);
    if (r.length > 0 && r[0]! < una) {
      this.sackedBytes -= una - r[0]!;
      r[0] = una;
    }
  }

  /**
   * Adds one SACK block [start, end) (already validated to lie in (SND.UNA, SND.MAX]); returns newly SACKed
   * bytes. `onNew` is called for each newly SACKed sub-range, in order (the sender marks its segments).
   */
  add(start: number, end: number, onNew?: (start: number, end: number) => void): number {
    if (end <= start) return 0;
    const r = this.ranges;
    // First range whose end reaches start (so adjacent ranges merge).
    let i = 0;
    if (r.length > 0 && r[r.length - 1]! < start) i = r.length;
    else {
      let lo = 0;
      let hi = r.length >> 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (r[2 * mid + 1]! >= start) hi = mid;
        else lo = mid + 1;
      }
      i = 2 * lo;
    }
    let j = i;
    let covered = 0;
    let newStart = start;
    let newEnd = end;
    while (j < r.length && r[j]! <= end) {
      const s = r[j]!;
      const e = r[j + 1]!;
      covered += e - s;
      if (s < newStart) newStart = s;
      if (e > newEnd) newEnd = e;
      j += 2;
    }
    const added = newEnd - newStart - covered;
    if (onNew !== undefined && added > 0) {
      let cursor = start;
      for (let k = i; k < j; k += 2) {
        if (r[k]! > cursor) onNew(cursor, Math.min(r[k]!, end));
        if (r[k + 1]! > cursor) cursor = r[k + 1]!;
      }
      if (cursor < end) onNew(cursor, end);
    }
    if (j === i) r.splice(i, 0, start, end);
    else if (j === i + 2) {
      r[i] = newStart;
      r[i + 1] = newEnd;
    } else r.splice(i, j - i, newStart, newEnd);
    this.sackedBytes += added;
    return added;
  }

  /** Whether `position` is SACKed. */
  isSacked(position: number): boolean {
    const r = this.ranges;
    for (let k = 0; k < r.length; k += 2) {
      if (position < r[k]!) return false;
      if (position < r[k + 1]!) return true;
    }
    return false;
  }

  /**
   * RFC 6675 IsLost, as one boundary: every unSACKed byte below the returned position is lost, since
   * "DupThresh discontiguous SACKed sequences have arrived above" it or "more than (DupThresh - 1) * SMSS
   * bytes with sequence numbers greater than" it have been SACKed. Returns `una` when nothing is lost.
   */
  lostBoundary(una: number, mss: number): number {
    const r = this.ranges;
    let bytes = 0;
    let count = 0;
    for (let k = r.length - 2; k >= 0; k -= 2) {
      bytes += r[k + 1]! - r[k]!;
      count++;
      // Every byte below this range's start has `count` ranges and `bytes` SACKed bytes above it.
      if (count >= DUP_THRESH || bytes > (DUP_THRESH - 1) * mss) return r[k]!;
    }
    return una;
  }

  /** SACKed bytes in [from, to). */
  sackedBetween(from: number, to: number): number {
    const r = this.ranges;
    let total = 0;
    for (let k = 0; k < r.length; k += 2) {
      const s = Math.max(r[k]!, from);
      const e = Math.min(r[k + 1]!, to);
      if (e > s) total += e - s;
      if (r[k]! >= to) break;
    }
    return total;
  }

  /** The first unSACKed position at or after `from`. */
  nextUnsacked(from: number): number {
    const r = this.ranges;
    for (let k = 0; k < r.length; k += 2) {
      if (from < r[k]!) return from;
      if (from < r[k + 1]!) from = r[k + 1]!;
    }
    return from;
  }

  /** The start of the first SACKed range after `position`, or Infinity. */
  nextSackedAfter(position: number): number {
    const r = this.ranges;
    for (let k = 0; k < r.length; k += 2) if (r[k]! > position) return r[k]!;
    return Infinity;
  }

  /** Forgets all SACK information (receiver reneging, RFC 6675 section 5.1). */
  clear(): void {
    this.ranges.length = 0;
    this.sackedBytes = 0;
  }
}
