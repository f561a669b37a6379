import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { seqAdd, seqDiff, seqGe, seqGt, seqInRange, seqLe, seqLt, seqMax, seqMin } from '../../src/wire/seq.js';

const TOP = 0xffff_ffff;

test('seq: comparisons across the wrap', () => {
  assert.equal(seqLt(TOP, 0), true);
  assert.equal(seqLt(0, TOP), false);
  assert.equal(seqGt(0, TOP), true);
  assert.equal(seqLe(5, 5), true);
  assert.equal(seqGe(5, 5), true);
  assert.equal(seqLt(5, 5), false);
  assert.equal(seqAdd(TOP, 1), 0);
  assert.equal(seqAdd(0, -1), TOP);
  assert.equal(seqAdd(0xfffffff0, 0x20), 0x10);
  assert.equal(seqDiff(0x10, 0xfffffff0), 0x20);
  assert.equal(seqDiff(0xfffffff0, 0x10), -0x20);
  assert.equal(seqMax(TOP, 1), 1);
  assert.equal(seqMin(TOP, 1), TOP);
  // Exactly half the space apart the difference is -2^31 both ways, so each is "before" the other, as
  // with the kernel's before(): callers never let windows reach 2^31.
  assert.equal(seqLt(0, 0x8000_0000), true);
  assert.equal(seqLt(0x8000_0000, 0), true);
  assert.equal(seqInRange(0xfffffffe, 0xfffffff0, 0x10), true);
  assert.equal(seqInRange(0x10, 0xfffffff0, 0x10), false);
  assert.equal(seqInRange(0xffffffef, 0xfffffff0, 0x10), false);
  assert.equal(seqInRange(7, 7, 7), false);
});

test('seq: agrees with a bigint reference modulo 2^32 (10,000 runs)', () => {
  const u32 = fc.integer({ min: 0, max: TOP });
  fc.assert(
    fc.property(u32, u32, fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (a, b, n) => {
      const d = BigInt.asIntN(32, BigInt(a) - BigInt(b));
      assert.equal(seqDiff(a, b), Number(d));
      assert.equal(seqLt(a, b), d < 0n);
      assert.equal(seqLe(a, b), d <= 0n);
      assert.equal(seqGt(a, b), d > 0n);
      assert.equal(seqGe(a, b), d >= 0n);
      assert.equal(seqAdd(a, n), Number(BigInt.asUintN(32, BigInt(a) + BigInt(n))));
      // seqAdd and seqDiff invert each other.
      assert.equal(seqAdd(b, seqDiff(a, b)), a);
      assert.equal(seqDiff(seqAdd(a, n), a), n);
      assert.equal(seqMax(a, b), d >= 0n ? a : b);
      assert.equal(seqMin(a, b), d <= 0n ? a : b);
      // x in [b, b + |n|) iff its offset from b is below |n|.
      const len = Math.abs(n);
      const offset = BigInt.asUintN(32, BigInt(a) - BigInt(b));
      assert.equal(seqInRange(a, b, seqAdd(b, len)), offset < BigInt(len));
    }),
    { numRuns: 10_000 },
  );
});
