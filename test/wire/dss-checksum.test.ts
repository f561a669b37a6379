// Tests for src/wire/dss-checksum.ts: checksums computed by Linux 6.18 (net.mptcp.checksum_enabled=1, python
// IPPROTO_MPTCP peers over loopback in a private network namespace, captured with tcpdump), and properties:
// a corrupted byte fails verification, and the sum does not depend on how the payload is split.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DssChecksumAccumulator, dssChecksum, verifyDssChecksum } from '../../src/wire/dss-checksum.js';
import { parseMptcpOption } from '../../src/wire/mptcp-option.js';
import { WireError } from '../../src/wire/errors.js';
import { keyIdsn } from '../../src/mptcp/keys.js';
import { u64AddNumber, u64FromHex, type U64 } from '../../src/wire/u64.js';

function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

function repeat(char: string, n: number): Uint8Array {
  return new Uint8Array(n).fill(char.charCodeAt(0));
}

/**
 * DSS options with checksums as the kernel sent them, and the payload of the same segment. Payloads of
 * repeated letters are what the capture script wrote ('x' * 3000 etc.).
 */
const kernelDss: Array<{ option: string; payload: Uint8Array }> = [
  { option: '1e18200dfaa3ff13343871d030548fe3000000010027e9f6', payload: new TextEncoder().encode('first client data, mapped by MP_CAPABLE') },
  { option: '1e1c200f343871d03054900a57af843efaa3ff13000000010036916a', payload: new TextEncoder().encode('hello from server '.repeat(3)) },
  { option: '1e1c200f57af843efaa3ff49343871d03054900a000000280bb8abd6', payload: repeat('x', 3000) },
  // Odd length: the last byte is padded with zero.
  { option: '1e1c200f57af843efaa3ff49343871d030549bc200000be003e9c3d5', payload: repeat('y', 1001) },
  { option: '1e1c200f343871d030549fab57af843efaa3ff490000003713886bba', payload: repeat('w', 5000) },
  { option: '1e1c200f57af843efaa412d1343871d030549fab00000fc9000a15c0', payload: repeat('z', 10) },
  // DATA_FIN on a segment without payload: data-level length 1 (the DATA_FIN), no payload bytes.
  { option: '1e1c201f67087d142847c494b5230928d2437e01000000000001f16d', payload: new Uint8Array(0) },
];

test('kernel DSS checksums (Linux 6.18 capture) are reproduced and verify', () => {
  for (const { option, payload } of kernelDss) {
    const parsed = parseMptcpOption(hex(option));
    assert.ok(!(parsed instanceof WireError) && parsed.subtype === 'DSS' && parsed.mapping !== undefined, option);
    const m = parsed.mapping;
    const checksum = m.checksum;
    assert.ok(checksum !== undefined, option);
    assert.equal(dssChecksum(m.dsn, m.subflowSeq, m.dataLength, payload), checksum, option);
    assert.ok(verifyDssChecksum(m.dsn, m.subflowSeq, m.dataLength, payload, checksum), option);
    assert.ok(!verifyDssChecksum(m.dsn, m.subflowSeq, m.dataLength, payload, checksum ^ 1), option);
  }
});

test('kernel MP_CAPABLE-with-data checksum: DSN is IDSN + 1 of the sender key, subflow sequence 1', () => {
  // Third-ACK-with-data from the same capture setup (no endpoints): MP_CAPABLE length 24, sender key
  // b2607c92694e8e65, data-level length 15, checksum 0x9329 over "MP_CAPABLE data".
  const parsed = parseMptcpOption(hex('1e180181b2607c92694e8e65897a876775f4660d000f9329'));
  assert.ok(!(parsed instanceof WireError) && parsed.subtype === 'MP_CAPABLE' && parsed.senderKey && parsed.checksum !== undefined);
  const dsn = u64AddNumber(keyIdsn(parsed.senderKey), 1);
  const payload = new TextEncoder().encode('MP_CAPABLE data');
  assert.equal(dssChecksum(dsn, 1, parsed.dataLength!, payload), parsed.checksum);
});

test('the full 64-bit DSN is in the pseudo-header, as is the data-level length', () => {
  const payload = hex('0102030405');
  const base = dssChecksum({ hi: 0, lo: 7 }, 1, 5, payload);
  assert.notEqual(dssChecksum({ hi: 1, lo: 7 }, 1, 5, payload), base);
  assert.notEqual(dssChecksum({ hi: 0, lo: 7 }, 1, 6, payload), base);
  assert.notEqual(dssChecksum({ hi: 0, lo: 7 }, 2, 5, payload), base);
  // Hand computation: words 0000 0000 0000 0007 0000 0001 0005 0000 | 0102 0304 0500.
  const sum = 7 + 1 + 5 + 0x0102 + 0x0304 + 0x0500;
  assert.equal(base, ~sum & 0xffff);
});

test('verification accepts 0xffff where the computed checksum is 0x0000 (ones-complement zero)', () => {
  const zero: U64 = { hi: 0, lo: 0 };
  const payload = hex('ffff');
  assert.equal(dssChecksum(zero, 0, 0, payload), 0);
  assert.ok(verifyDssChecksum(zero, 0, 0, payload, 0));
  assert.ok(verifyDssChecksum(zero, 0, 0, payload, 0xffff));
  assert.ok(new DssChecksumAccumulator(zero, 0, 0).add(payload).verify(0xffff));
});

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const mappingArb = fc.record(
  {
    dsn: fc.record({ hi: u32, lo: u32 }, { noNullPrototype: true }),
    subflowSeq: u32,
    dataLength: fc.integer({ min: 0, max: 0xffff }),
    payload: fc.uint8Array({ minLength: 1, maxLength: 300 }),
  },
  { noNullPrototype: true },
);

test('property: a mapping whose payload is corrupted in one byte fails verification (10,000 runs)', () => {
  fc.assert(
    fc.property(mappingArb, fc.nat(), fc.integer({ min: 1, max: 255 }), ({ dsn, subflowSeq, dataLength, payload }, at, flip) => {
      const checksum = dssChecksum(dsn, subflowSeq, dataLength, payload);
      assert.ok(verifyDssChecksum(dsn, subflowSeq, dataLength, payload, checksum));
      const corrupted = Uint8Array.from(payload);
      const i = at % corrupted.length;
      corrupted[i] = corrupted[i]! ^ flip;
      assert.ok(!verifyDssChecksum(dsn, subflowSeq, dataLength, corrupted, checksum));
      assert.ok(!new DssChecksumAccumulator(dsn, subflowSeq, dataLength).add(corrupted).verify(checksum));
    }),
    { numRuns: 10_000 },
  );
});

test('property: the checksum over a payload split at arbitrary points equals the one-shot checksum (10,000 runs)', () => {
  fc.assert(
    fc.property(mappingArb, fc.array(fc.nat(), { maxLength: 6 }), ({ dsn, subflowSeq, dataLength, payload }, cuts) => {
      const points = [...new Set(cuts.map((c) => c % (payload.length + 1)))].sort((a, b) => a - b);
      const acc = new DssChecksumAccumulator(dsn, subflowSeq, dataLength);
      let from = 0;
      for (const p of [...points, payload.length]) {
        // Alternate between slices and (buffer, start, end) ranges.
        if (p % 2 === 0) acc.add(payload.slice(from, p));
        else acc.add(payload, from, p);
        from = p;
      }
      const expected = dssChecksum(dsn, subflowSeq, dataLength, payload);
      assert.equal(acc.checksum(), expected);
      assert.ok(acc.verify(expected));
    }),
    { numRuns: 10_000 },
  );
});

test('accumulator: the kernel 1001-byte mapping fed as 1-byte and odd-sized pieces', () => {
  const dsn = u64FromHex('343871d030549bc2')!;
  const payload = repeat('y', 1001);
  const acc = new DssChecksumAccumulator(dsn, 3040, 1001);
  for (let i = 0; i < 7; i++) acc.add(payload, i, i + 1);
  acc.add(payload.subarray(7, 500)).add(payload.subarray(500));
  assert.equal(acc.checksum(), 0xc3d5);
});
