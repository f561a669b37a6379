import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatAddress, parseAddress, parseCidr } from '../../src/wire/address.js';
import { u64, u64AddNumber, u64Diff, u64FromBigInt, u64FromHex, u64ToBigInt, u64ToDecimal, u64ToHex } from '../../src/wire/u64.js';
import { finishChecksum, onesSum } from '../../src/wire/checksum.js';

test('address: IPv4 and IPv6 text round trip, RFC 5952 forms', () => {
  const cases = ['198.18.0.1', '0.0.0.0', '2001:2::1', '::', '::1', '2001:2:0:1::', 'fe80::1:0:0:1', '1:0:0:1::1', '1::1:1:0:0:1', '::ffff:198.18.0.1', '2001:db8:1:2:3:4:5:6'];
  for (const c of cases) {
    const b = parseAddress(c);
    assert.ok(b, c);
    assert.equal(formatAddress(b), c);
  }
  assert.equal(formatAddress(parseAddress('2001:0002:0000:0000:0000:0000:0000:0001')!), '2001:2::1');
  for (const bad of ['1.2.3', '256.1.1.1', '1::2::3', 'g::1', '1:2:3:4:5:6:7:8:9', '']) assert.equal(parseAddress(bad), undefined, bad);
  assert.deepEqual(parseCidr('198.18.0.2/24'), { address: Uint8Array.from([198, 18, 0, 2]), prefixLength: 24 });
  assert.equal(parseCidr('198.18.0.2/33'), undefined);
});

test('address: any 16 bytes format and parse back (10,000 runs)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
      assert.deepEqual(parseAddress(formatAddress(b)), b);
    }),
    { numRuns: 10_000 },
  );
});

test('u64: arithmetic agrees with bigint', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (a, n) => {
      const x = u64FromBigInt(a);
      assert.equal(u64ToBigInt(x), a);
      assert.equal(u64ToBigInt(u64AddNumber(x, n)), BigInt.asUintN(64, a + BigInt(n)));
      assert.equal(u64Diff(u64AddNumber(x, n), x), n);
      assert.equal(u64ToDecimal(x), a.toString());
      assert.deepEqual(u64FromHex(u64ToHex(x)), x);
    }),
    { numRuns: 10_000 },
  );
  assert.equal(u64ToHex(u64(0x1, 0x2)), '0000000100000002');
});

test('checksum: RFC 1071 example', () => {
  // RFC 1071 section 3 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
  const b = Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
  assert.equal(finishChecksum(onesSum(b)), ~0xddf2 & 0xffff);
  // Odd length pads with a zero byte.
  assert.equal(finishChecksum(onesSum(Uint8Array.from([0xff]))), ~0xff00 & 0xffff);
});

test('checksum: fast paths (aligned 32-bit words, unrolled bytes) equal the word-by-word definition at any offset and length (10,000 runs)', () => {
  const reference = (b: Uint8Array, start: number, end: number): number => {
    let s = 0;
    for (let i = start; i < end; i += 2) s += (b[i]! << 8) | (i + 1 < end ? b[i + 1]! : 0);
    return s;
  };
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 700 }), fc.nat(700), fc.nat(700), (b, x, y) => {
      const start = Math.min(x, b.length);
      const end = Math.max(start, Math.min(y, b.length));
      assert.equal(finishChecksum(onesSum(b, start, end)), finishChecksum(reference(b, start, end)));
    }),
    { numRuns: 10_000 },
  );
});
