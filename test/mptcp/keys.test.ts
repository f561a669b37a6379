// Tests for src/mptcp/keys.ts against bytes Linux 6.18 put on the wire. Source of every vector below: python
// IPPROTO_MPTCP client and server in a private network namespace over loopback (198.18.0.1-3, 2001:2::1-3),
// `ip mptcp endpoint add ... signal` (one endpoint with port 40777) so that the kernel sent ADD_ADDRs and
// the client joined, captured with tcpdump. Tokens and IDSNs were also checked with tshark 4.0
// (`-o mptcp.analyze_mptcp:TRUE -e mptcp.expected_token -e mptcp.expected_idsn`); the HMACs are those in the
// captured MP_JOIN and ADD_ADDR options, recomputed here from the keys and nonces of the same capture.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createHmac } from 'node:crypto';
import {
  addAddrHmac,
  hmacEqual,
  joinAckHmac,
  joinHmac,
  joinSynAckHmac,
  keyIdsn,
  keyToken,
  keyTokenAndIdsn,
  randomKey,
  randomNonce,
} from '../../src/mptcp/keys.js';
import { parseMptcpOption, type MptcpOption } from '../../src/wire/mptcp-option.js';
import { WireError } from '../../src/wire/errors.js';
import { u64AddNumber, u64FromHex, u64ToBigInt, u64ToHex, type U64 } from '../../src/wire/u64.js';

function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

function key(h: string): U64 {
  return u64FromHex(h)!;
}

function parse(h: string): MptcpOption {
  const r = parseMptcpOption(hex(h));
  if (r instanceof WireError) assert.fail(r.toString());
  return r;
}

/** Keys seen in the MP_CAPABLE SYN/ACK (listener) and third ACK (client), with tshark's token and IDSN. */
const kernelKeys = [
  { capture: 'v4', key: '6533cc49e5eb547c', token: 3039767357, idsn: 13168146317297534158n },
  { capture: 'v4', key: '48f31da7d8d45183', token: 370283191, idsn: 2443461748424726058n },
  { capture: 'v4 checksums', key: '84ae693055a9c797', token: 1366068096, idsn: 6318414208251985682n },
  { capture: 'v4 checksums', key: 'f9f3e4188396ba7c', token: 3824805396, idsn: 3762882627646033890n },
  { capture: 'v6', key: 'b442442207b1e050', token: 1019434232, idsn: 13839035370428937281n },
  { capture: 'v6', key: 'f0505f5ad8855c59', token: 3527032543, idsn: 17997796548931148313n },
  { capture: 'no endpoints', key: '897a876775f4660d', token: 659409709, idsn: 7424321511248872593n },
  { capture: 'no endpoints', key: 'b2607c92694e8e65', token: 4028991534, idsn: 13052286215980809713n },
];

test('token and IDSN of kernel keys match tshark', () => {
  for (const k of kernelKeys) {
    assert.equal(keyToken(key(k.key)), k.token, `${k.capture} ${k.key} token`);
    assert.equal(u64ToBigInt(keyIdsn(key(k.key))), k.idsn, `${k.capture} ${k.key} idsn`);
    assert.deepEqual(keyTokenAndIdsn(key(k.key)), { token: k.token, idsn: keyIdsn(key(k.key)) });
  }
});

test('the first data byte is at IDSN + 1 (kernel DSS of the checksum capture)', () => {
  // Client key f9f3e4188396ba7c; its first data segment's DSS mapping starts at 343871d030548fe3.
  assert.equal(u64ToHex(u64AddNumber(keyIdsn(key('f9f3e4188396ba7c')), 1)), '343871d030548fe3');
});

/**
 * MP_JOIN handshakes: the client (A, initiator) joined the listener (B). The SYN carries B's token and R-A;
 * the SYN/ACK B's truncated HMAC and R-B; the third ACK A's 160-bit HMAC.
 */
const kernelJoins = [
  {
    capture: 'v4, join to the announced address with port 40777',
    keyA: '48f31da7d8d45183',
    keyB: '6533cc49e5eb547c',
    syn: '1e0c1007b52f2b3dfdafc084',
    synack: '1e101006567bf9163e9db2599ddab4cd',
    ack: '1e1810006b305a64c57f75846f4e56338c372f47b8ee0175',
  },
  {
    capture: 'v4, second join',
    keyA: '48f31da7d8d45183',
    keyB: '6533cc49e5eb547c',
    syn: '1e0c1005b52f2b3d4cb1c8ea',
    synack: '1e101005591aab87ba005f1bc7199570',
    ack: '1e181000b8c3c2be1d41f1f3a727ee81c23676b8d8251a5f',
  },
  {
    capture: 'v6',
    keyA: 'f0505f5ad8855c59',
    keyB: 'b442442207b1e050',
    syn: '1e0c10053cc354f8d240c9a8',
    synack: '1e101005a86760f4344983620188d7ce',
    ack: '1e1810005045708783497614ee765093e5298fdbaf462584',
  },
];

test('MP_JOIN HMACs of kernel handshakes are reproduced (SYN/ACK leftmost 64 bits, ACK leftmost 160 bits)', () => {
  for (const j of kernelJoins) {
    const syn = parse(j.syn);
    const synack = parse(j.synack);
    const ack = parse(j.ack);
    assert.ok(syn.subtype === 'MP_JOIN' && syn.form === 'syn');
    assert.ok(synack.subtype === 'MP_JOIN' && synack.form === 'synack');
    assert.ok(ack.subtype === 'MP_JOIN' && ack.form === 'ack');
    const keyA = key(j.keyA);
    const keyB = key(j.keyB);
    assert.equal(syn.token, keyToken(keyB), `${j.capture}: SYN token is the listener's`);
    // RFC 8684 3.2: SYN/ACK: HMAC(Key=(Key-B+Key-A), Msg=(R-B+R-A)); third ACK: HMAC(Key=(Key-A+Key-B), Msg=(R-A+R-B)).
    assert.equal(toHex(joinHmac(keyB, keyA, synack.nonce, syn.nonce).subarray(0, 8)), toHex(synack.hmac), `${j.capture}: SYN/ACK`);
    assert.equal(toHex(joinHmac(keyA, keyB, syn.nonce, synack.nonce).subarray(0, 20)), toHex(ack.hmac), `${j.capture}: ACK`);
    // The same through the sender-first helpers, and as the receiver verifies them.
    assert.deepEqual(joinSynAckHmac(keyB, keyA, synack.nonce, syn.nonce), synack.hmac);
    assert.deepEqual(joinAckHmac(keyA, keyB, syn.nonce, synack.nonce), ack.hmac);
    assert.ok(hmacEqual(synack.hmac, joinSynAckHmac(keyB, keyA, synack.nonce, syn.nonce)));
    assert.ok(!hmacEqual(synack.hmac, joinSynAckHmac(keyA, keyB, syn.nonce, synack.nonce)), 'key order matters');
  }
});

/** ADD_ADDR options with their sender's and receiver's keys. */
const kernelAddAddrs = [
  { what: 'v4 + port, listener to client', sender: '6533cc49e5eb547c', receiver: '48f31da7d8d45183', option: '1e123006c61200039f49dbc90780efe62599' },
  { what: 'v4 + port, client to listener', sender: '48f31da7d8d45183', receiver: '6533cc49e5eb547c', option: '1e123006c61200039f491b7ce87afb31b174' },
  { what: 'v4, client to listener', sender: '48f31da7d8d45183', receiver: '6533cc49e5eb547c', option: '1e103005c61200028a53348f84e394fa' },
  { what: 'v4, listener to client', sender: '6533cc49e5eb547c', receiver: '48f31da7d8d45183', option: '1e103005c61200029dbe921659a6afc6' },
  {
    what: 'v6, listener to client',
    sender: 'b442442207b1e050',
    receiver: 'f0505f5ad8855c59',
    option: '1e1c300520010002000000000000000000000002e15ed47efd4ade6c',
  },
  {
    what: 'v6, client to listener',
    sender: 'f0505f5ad8855c59',
    receiver: 'b442442207b1e050',
    option: '1e1c300520010002000000000000000000000002953675dc2a8d18f5',
  },
];

test('ADD_ADDR HMACs of kernel options are reproduced (rightmost 64 bits; port 0 when absent)', () => {
  for (const a of kernelAddAddrs) {
    const o = parse(a.option);
    assert.ok(o.subtype === 'ADD_ADDR' && o.hmac, a.what);
    const mac = addAddrHmac(key(a.sender), key(a.receiver), o.addressId, o.address, o.port);
    assert.equal(toHex(mac), toHex(o.hmac), a.what);
    // The receiver's check: (peer's key, own key).
    assert.ok(hmacEqual(o.hmac, mac));
  }
  // Absent port and port 0 are the same message (Linux always appends two port octets).
  const k1 = key('6533cc49e5eb547c');
  const k2 = key('48f31da7d8d45183');
  assert.deepEqual(addAddrHmac(k1, k2, 5, hex('c6120002')), addAddrHmac(k1, k2, 5, hex('c6120002'), 0));
  assert.notDeepEqual(addAddrHmac(k1, k2, 5, hex('c6120002')), addAddrHmac(k1, k2, 5, hex('c6120002'), 1));
  // The truncation keeps the rightmost 8 bytes of HMAC-SHA256(k1 || k2, id || address || port).
  const full = createHmac('sha256', hex('6533cc49e5eb547c48f31da7d8d45183')).update(hex('05 c6120002 0000')).digest();
  assert.equal(toHex(addAddrHmac(k1, k2, 5, hex('c6120002'))), toHex(full.subarray(24)));
  assert.throws(() => addAddrHmac(k1, k2, 5, hex('c61200'), 0), RangeError);
});

test('results are plain Uint8Arrays of the documented sizes', () => {
  const k1 = key('0123456789abcdef');
  const k2 = key('fedcba9876543210');
  const full = joinHmac(k1, k2, 1, 2);
  assert.equal(full.length, 32);
  assert.equal(Object.getPrototypeOf(full), Uint8Array.prototype);
  assert.equal(joinSynAckHmac(k1, k2, 1, 2).length, 8);
  assert.equal(joinAckHmac(k1, k2, 1, 2).length, 20);
  assert.equal(addAddrHmac(k1, k2, 1, new Uint8Array(16), 80).length, 8);
  assert.equal(Object.getPrototypeOf(addAddrHmac(k1, k2, 1, new Uint8Array(4))), Uint8Array.prototype);
});

test('randomKey and randomNonce draw from the injected source', () => {
  const bytes = hex('0102030405060708');
  assert.deepEqual(randomKey((n) => bytes.subarray(0, n)), { hi: 0x01020304, lo: 0x05060708 });
  assert.equal(randomNonce((n) => hex('fffffffe').subarray(0, n)), 0xfffffffe);
  assert.throws(() => randomKey(() => new Uint8Array(4)), RangeError);
});

test('property: token, IDSN and keyTokenAndIdsn agree; HMACs depend on key order (1,000 runs)', () => {
  // Hashing is slow-path code; 1,000 runs keep this file fast.
  const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
  const keyArb = fc.record({ hi: u32, lo: u32 }, { noNullPrototype: true });
  fc.assert(
    fc.property(keyArb, keyArb, u32, u32, (a, b, ra, rb) => {
      const both = keyTokenAndIdsn(a);
      assert.equal(both.token, keyToken(a));
      assert.deepEqual(both.idsn, keyIdsn(a));
      assert.ok(both.token >= 0 && both.token <= 0xffff_ffff);
      if (a.hi !== b.hi || a.lo !== b.lo) assert.notDeepEqual(joinHmac(a, b, ra, rb), joinHmac(b, a, ra, rb));
      assert.deepEqual(joinSynAckHmac(a, b, ra, rb), joinHmac(a, b, ra, rb).subarray(0, 8));
    }),
    { numRuns: 1_000 },
  );
});
