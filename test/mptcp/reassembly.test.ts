// Data-level reassembly (src/mptcp/reassembly.ts) on its own: any permutation, duplication and overlap of
// the chunks of a stream yields the stream exactly once, in order; the receive limit; closeRead; the DATA_FIN.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Reassembly } from '../../src/mptcp/reassembly.js';
import { createMptcpCounters } from '../../src/mptcp/mib.js';

function drain(r: Reassembly, maxBytes = Infinity): number[] {
  const out: number[] = [];
  for (let b = r.read(maxBytes); b !== undefined; b = r.read(maxBytes)) out.push(...b);
  return out;
}

test('in order: delivered at once, readable counts them, insert reports the in-order end moved', () => {
  const r = new Reassembly(1000, createMptcpCounters());
  assert.equal(r.insert(0, Uint8Array.of(1, 2, 3)), true);
  assert.equal(r.next, 3);
  assert.equal(r.readable, 3);
  assert.equal(r.takeNewData(), true);
  assert.equal(r.takeNewData(), false, 'reported once');
  assert.deepEqual(drain(r, 2), [1, 2, 3]);
});

test('out of order waits, duplicates are counted and dropped, a hole filled releases the rest', () => {
  const counters = createMptcpCounters();
  const r = new Reassembly(1000, counters);
  assert.equal(r.insert(3, Uint8Array.of(4, 5)), false);
  assert.equal(r.readable, 0);
  assert.deepEqual(r.pendingOffsets(8), [3]);
  assert.equal(r.insert(0, Uint8Array.of(1, 2, 3)), true);
  assert.equal(r.next, 5);
  assert.equal(r.insert(1, Uint8Array.of(2, 3)), false);
  assert.equal(counters.DuplicateData, 1);
  assert.deepEqual(drain(r), [1, 2, 3, 4, 5]);
});

test('hasRoom follows the limit; closeRead drops bytes but still advances the DATA_ACK; the DATA_FIN takes one', () => {
  const r = new Reassembly(4, createMptcpCounters());
  r.insert(0, new Uint8Array(4));
  assert.equal(r.hasRoom, false);
  drain(r);
  assert.equal(r.hasRoom, true);
  r.closeRead();
  r.insert(4, new Uint8Array(10));
  assert.equal(r.next, 14);
  assert.equal(r.readable, 0);
  assert.equal(r.read(), undefined);
  r.consumeDataFin();
  assert.equal(r.next, 15);
});

test('property: any permutation / duplication / overlap of chunks yields the stream exactly once', () => {
  const chunking = fc
    .record({
      length: fc.integer({ min: 1, max: 300 }),
      // Each piece: a start and a length (overlaps and duplicates come from random pieces).
      extra: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 64 })), { maxLength: 30 }),
      cuts: fc.array(fc.nat(), { maxLength: 20 }),
      seed: fc.integer(),
    })
    .map(({ length, extra, cuts, seed }) => {
      // A cover of [0, length) by cut points, plus random extra pieces, in a shuffled order.
      const points = [...new Set([0, length, ...cuts.map((c) => c % length)])].sort((a, b) => a - b);
      const pieces: [number, number][] = [];
      for (let i = 0; i + 1 < points.length; i++) pieces.push([points[i]!, points[i + 1]! - points[i]!]);
      for (const [s, n] of extra) {
        const start = s % length;
        pieces.push([start, Math.min(n, length - start)]);
      }
      let x = seed >>> 0 || 1;
      for (let i = pieces.length - 1; i > 0; i--) {
        x = (x * 1103515245 + 12345) >>> 0;
        const j = x % (i + 1);
        [pieces[i], pieces[j]] = [pieces[j]!, pieces[i]!];
      }
      return { length, pieces };
    });
  fc.assert(
    fc.property(chunking, fc.integer({ min: 1, max: 50 }), ({ length, pieces }, readSize) => {
      const stream = Uint8Array.from({ length }, (_, i) => (i * 7 + 3) & 0xff);
      const r = new Reassembly(1 << 20, createMptcpCounters());
      const out: number[] = [];
      for (const [start, n] of pieces) {
        r.insert(start, stream.subarray(start, start + n));
        // Reads interleaved with inserts: what is read is never read again.
        out.push(...drain(r, readSize));
      }
      assert.equal(r.next, length);
      assert.deepEqual(out, [...stream]);
      assert.equal(r.readable, 0);
      assert.deepEqual(r.pendingOffsets(1), [], 'nothing left waiting');
    }),
  );
});
