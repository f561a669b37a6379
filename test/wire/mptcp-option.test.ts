// Tests for src/wire/mptcp-option.ts: byte vectors for every variant (hand-written from the RFC 8684 option diagrams,
// and captured from Linux 6.18 MPTCP over loopback in a network namespace), round trips, truncation, and
// property tests that parsing never throws and that parse(emit(x)) == x.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WireError, BufferTooSmallError } from '../../src/wire/errors.js';
import {
  DssFlag,
  MpTcpRstFlag,
  emitMptcpOption,
  isInfiniteMapping,
  mptcpOptionLength,
  mptcpOptionName,
  mptcpSubtypeName,
  parseMptcpOption,
  type DssOption,
  type MptcpOption,
} from '../../src/wire/mptcp-option.js';
import type { U64 } from '../../src/wire/u64.js';
import { mptcpOptionArb } from '../support/arbitraries.js';

// ---------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------

function hex(s: string): Uint8Array {
  const t = s.replace(/\s+/g, '');
  const out = new Uint8Array(t.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(t.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

function u(hi: number, lo: number): U64 {
  return { hi, lo };
}

/** Emits into an exactly sized buffer, checking the returned length against mptcpOptionLength. */
function emit(option: MptcpOption): Uint8Array {
  const length = mptcpOptionLength(option);
  const buf = new Uint8Array(length);
  const written = emitMptcpOption(option, buf, 0);
  assert.equal(written, length, 'bytes written == mptcpOptionLength');
  return buf;
}

function parseOk(bytes: Uint8Array): MptcpOption {
  const r = parseMptcpOption(bytes);
  if (r instanceof WireError) assert.fail(`unexpected ${r.toString()} for ${toHex(bytes)}`);
  return r;
}

/**
 * The lengths RFC 8684 allows for an option starting with these subtype and flags octets: an oracle written
 * from the RFC diagrams independently of the codec, used to know which truncated options are still valid.
 */
function validLength(length: number, subtypeOctet: number, flagsOctet: number | undefined): boolean {
  if (length < 3) return false;
  switch (subtypeOctet >> 4) {
    case 0:
      return [4, 12, 20, 22, 24].includes(length);
    case 1:
      return [12, 16, 24].includes(length);
    case 2: {
      if (flagsOctet === undefined) return false;
      let base = 4;
      if (flagsOctet & 0x01) base += flagsOctet & 0x02 ? 8 : 4;
      if (!(flagsOctet & 0x04)) return length === base;
      const withMap = base + (flagsOctet & 0x08 ? 8 : 4) + 4 + 2;
      return length === withMap || length === withMap + 2;
    }
    case 3:
      return [8, 10, 16, 18, 20, 22, 28, 30].includes(length);
    case 4:
      return length >= 4;
    case 5:
      return length === 3 || length === 4;
    case 6:
    case 7:
      return length === 12;
    case 8:
      return length === 4;
    default:
      return true;
  }
}

/**
 * Every strict prefix must fail without throwing, with the length octet left as is (truncated) and, when the
 * prefix length is not itself a valid length for the subtype and flags, with the length octet rewritten.
 */
function checkTruncations(bytes: Uint8Array): void {
  for (let len = 0; len < bytes.length; len++) {
    const prefix = bytes.slice(0, len);
    const r = parseMptcpOption(prefix);
    assert.ok(r instanceof WireError, `prefix ${len} of ${toHex(bytes)} (length octet ${bytes[1]})`);
    assert.equal(r.code, 'truncated', `prefix ${len} of ${toHex(bytes)}`);
    if (len < 2) continue;
    prefix[1] = len;
    const r2 = parseMptcpOption(prefix);
    const shouldParse = validLength(len, prefix[2] ?? 0, len >= 4 ? prefix[3] : undefined) && len >= 3;
    if (shouldParse) assert.ok(!(r2 instanceof WireError), `rewritten prefix ${toHex(prefix)} is a valid option`);
    else assert.ok(r2 instanceof WireError, `rewritten prefix ${toHex(prefix)} must be an error`);
  }
}

interface Vector {
  readonly name: string;
  readonly bytes: string;
  readonly repr: MptcpOption;
}

function checkVector(v: Vector): void {
  const bytes = hex(v.bytes);
  assert.deepEqual(parseOk(bytes), v.repr, `${v.name}: parse`);
  assert.equal(toHex(emit(v.repr)), toHex(bytes), `${v.name}: emit`);
  assert.deepEqual(parseOk(emit(v.repr)), v.repr, `${v.name}: round trip`);
  checkTruncations(bytes);
}

// ---------------------------------------------------------------------------------------------------------
// Hand-written vectors, one per variant (RFC 8684 section 3)
// ---------------------------------------------------------------------------------------------------------

const K1 = u(0x01234567, 0x89abcdef);
const K2 = u(0xfedcba98, 0x76543210);
const HMAC8 = hex('a1a2a3a4a5a6a7a8');
const HMAC20 = hex('b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3');
const V4 = hex('c6120002');
const V6 = hex('20010002000000000000000000000009');

const handWritten: Vector[] = [
  // MP_CAPABLE, section 3.1.
  { name: 'MP_CAPABLE SYN (4)', bytes: '1e04 01 81', repr: { subtype: 'MP_CAPABLE', version: 1, flags: 0x81 } },
  {
    name: 'MP_CAPABLE SYN/ACK (12)',
    bytes: '1e0c 01 01 0123456789abcdef',
    repr: { subtype: 'MP_CAPABLE', version: 1, flags: 0x01, senderKey: K1 },
  },
  {
    name: 'MP_CAPABLE v0 SYN (12), C flag',
    bytes: '1e0c 00 21 fedcba9876543210',
    repr: { subtype: 'MP_CAPABLE', version: 0, flags: 0x21, senderKey: K2 },
  },
  {
    name: 'MP_CAPABLE ACK (20)',
    bytes: '1e14 01 01 0123456789abcdef fedcba9876543210',
    repr: { subtype: 'MP_CAPABLE', version: 1, flags: 0x01, senderKey: K1, receiverKey: K2 },
  },
  {
    name: 'MP_CAPABLE ACK + data-level length (22)',
    bytes: '1e16 01 01 0123456789abcdef fedcba9876543210 05dc',
    repr: { subtype: 'MP_CAPABLE', version: 1, flags: 0x01, senderKey: K1, receiverKey: K2, dataLength: 1500 },
  },
  {
    name: 'MP_CAPABLE ACK + data-level length + checksum (24)',
    bytes: '1e18 01 81 0123456789abcdef fedcba9876543210 0001 beef',
    repr: { subtype: 'MP_CAPABLE', version: 1, flags: 0x81, senderKey: K1, receiverKey: K2, dataLength: 1, checksum: 0xbeef },
  },
  // MP_JOIN, section 3.2.
  {
    name: 'MP_JOIN SYN (12)',
    bytes: '1e0c 10 03 deadbeef 01020304',
    repr: { subtype: 'MP_JOIN', form: 'syn', backup: false, addressId: 3, token: 0xdeadbeef, nonce: 0x01020304 },
  },
  {
    name: 'MP_JOIN SYN backup (12)',
    bytes: '1e0c 11 ff 00000001 ffffffff',
    repr: { subtype: 'MP_JOIN', form: 'syn', backup: true, addressId: 255, token: 1, nonce: 0xffffffff },
  },
  {
    name: 'MP_JOIN SYN/ACK (16)',
    bytes: '1e10 11 07 a1a2a3a4a5a6a7a8 99887766',
    repr: { subtype: 'MP_JOIN', form: 'synack', backup: true, addressId: 7, hmac: HMAC8, nonce: 0x99887766 },
  },
  {
    name: 'MP_JOIN ACK (24)',
    bytes: '1e18 1000 b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3',
    repr: { subtype: 'MP_JOIN', form: 'ack', hmac: HMAC20 },
  },
  // DSS, section 3.3 (every flag combination is generated in a test below).
  { name: 'DSS pure DATA_ACK32 (8)', bytes: '1e08 20 01 89abcdef', repr: { subtype: 'DSS', dataFin: false, dataAck: u(0, 0x89abcdef), dataAck64: false } },
  {
    name: 'DSS DATA_ACK64 + DSN64 mapping + checksum + DATA_FIN (28)',
    bytes: '1e1c 20 1f 0123456789abcdef fedcba9876543210 00000064 0200 1234',
    repr: {
      subtype: 'DSS',
      dataFin: true,
      dataAck: K1,
      dataAck64: true,
      mapping: { dsn: K2, dsn64: true, subflowSeq: 100, dataLength: 512, checksum: 0x1234 },
    },
  },
  {
    name: 'DSS infinite mapping (DSN32, no ack) (14)',
    bytes: '1e0e 20 04 00c0ffee 00000000 0000',
    repr: { subtype: 'DSS', dataFin: false, dataAck64: false, mapping: { dsn: u(0, 0xc0ffee), dsn64: false, subflowSeq: 0, dataLength: 0 } },
  },
  // ADD_ADDR, section 3.4.1: IPv4/IPv6 x port x HMAC x echo.
  { name: 'ADD_ADDR v4 echo (8)', bytes: '1e08 31 05 c6120002', repr: { subtype: 'ADD_ADDR', echo: true, addressId: 5, address: V4 } },
  { name: 'ADD_ADDR v4 (8)', bytes: '1e08 30 05 c6120002', repr: { subtype: 'ADD_ADDR', echo: false, addressId: 5, address: V4 } },
  {
    name: 'ADD_ADDR v4 echo + port (10)',
    bytes: '1e0a 31 06 c6120002 9f49',
    repr: { subtype: 'ADD_ADDR', echo: true, addressId: 6, address: V4, port: 40777 },
  },
  {
    name: 'ADD_ADDR v4 + HMAC (16)',
    bytes: '1e10 30 05 c6120002 a1a2a3a4a5a6a7a8',
    repr: { subtype: 'ADD_ADDR', echo: false, addressId: 5, address: V4, hmac: HMAC8 },
  },
  {
    name: 'ADD_ADDR v4 + port + HMAC (18)',
    bytes: '1e12 30 06 c6120002 0050 a1a2a3a4a5a6a7a8',
    repr: { subtype: 'ADD_ADDR', echo: false, addressId: 6, address: V4, port: 80, hmac: HMAC8 },
  },
  {
    name: 'ADD_ADDR v4 echo + port + HMAC (18)',
    bytes: '1e12 31 06 c6120002 0000 a1a2a3a4a5a6a7a8',
    repr: { subtype: 'ADD_ADDR', echo: true, addressId: 6, address: V4, port: 0, hmac: HMAC8 },
  },
  {
    name: 'ADD_ADDR v6 (20)',
    bytes: '1e14 30 01 20010002000000000000000000000009',
    repr: { subtype: 'ADD_ADDR', echo: false, addressId: 1, address: V6 },
  },
  {
    name: 'ADD_ADDR v6 echo + port (22)',
    bytes: '1e16 31 02 20010002000000000000000000000009 ffff',
    repr: { subtype: 'ADD_ADDR', echo: true, addressId: 2, address: V6, port: 65535 },
  },
  {
    name: 'ADD_ADDR v6 + HMAC (28)',
    bytes: '1e1c 30 03 20010002000000000000000000000009 a1a2a3a4a5a6a7a8',
    repr: { subtype: 'ADD_ADDR', echo: false, addressId: 3, address: V6, hmac: HMAC8 },
  },
  {
    name: 'ADD_ADDR v6 + port + HMAC (30)',
    bytes: '1e1e 30 04 20010002000000000000000000000009 1f90 a1a2a3a4a5a6a7a8',
    repr: { subtype: 'ADD_ADDR', echo: false, addressId: 4, address: V6, port: 8080, hmac: HMAC8 },
  },
  // RM_ADDR, section 3.4.2.
  { name: 'RM_ADDR one id (4)', bytes: '1e04 40 05', repr: { subtype: 'RM_ADDR', addressIds: [5] } },
  { name: 'RM_ADDR several ids (7)', bytes: '1e07 40 01 02 ff 00', repr: { subtype: 'RM_ADDR', addressIds: [1, 2, 255, 0] } },
  // MP_PRIO, section 3.3.8 (and RFC 6824's form with an address id).
  { name: 'MP_PRIO backup (3)', bytes: '1e03 51', repr: { subtype: 'MP_PRIO', backup: true } },
  { name: 'MP_PRIO not backup (3)', bytes: '1e03 50', repr: { subtype: 'MP_PRIO', backup: false } },
  { name: 'MP_PRIO with address id (4)', bytes: '1e04 51 09', repr: { subtype: 'MP_PRIO', backup: true, addressId: 9 } },
  // MP_FAIL (3.7) and MP_FASTCLOSE (3.5): subtype + 12 reserved bits, then 64 bits.
  { name: 'MP_FAIL (12)', bytes: '1e0c 6000 0123456789abcdef', repr: { subtype: 'MP_FAIL', dsn: K1 } },
  { name: 'MP_FASTCLOSE (12)', bytes: '1e0c 7000 fedcba9876543210', repr: { subtype: 'MP_FASTCLOSE', receiverKey: K2 } },
  // MP_TCPRST, section 3.6: each flag.
  { name: 'MP_TCPRST no flags (4)', bytes: '1e04 80 00', repr: { subtype: 'MP_TCPRST', flags: 0, reason: 0 } },
  { name: 'MP_TCPRST T (4)', bytes: '1e04 81 01', repr: { subtype: 'MP_TCPRST', flags: MpTcpRstFlag.T, reason: 1 } },
  { name: 'MP_TCPRST W (4)', bytes: '1e04 82 02', repr: { subtype: 'MP_TCPRST', flags: MpTcpRstFlag.W, reason: 2 } },
  { name: 'MP_TCPRST V (4)', bytes: '1e04 84 05', repr: { subtype: 'MP_TCPRST', flags: MpTcpRstFlag.V, reason: 5 } },
  { name: 'MP_TCPRST U (4)', bytes: '1e04 88 06', repr: { subtype: 'MP_TCPRST', flags: MpTcpRstFlag.U, reason: 6 } },
  { name: 'MP_TCPRST all (4)', bytes: '1e04 8f ff', repr: { subtype: 'MP_TCPRST', flags: 0xf, reason: 0xff } },
  // Unknown subtypes keep their bytes.
  { name: 'MP_EXPERIMENTAL 0xf (3)', bytes: '1e03 f7', repr: { subtype: 'unknown', subtypeValue: 0xf, data: hex('f7') } },
  { name: 'unassigned 0x9 (6)', bytes: '1e06 9a 010203', repr: { subtype: 'unknown', subtypeValue: 0x9, data: hex('9a010203') } },
];

for (const v of handWritten) {
  test(`vector: ${v.name}`, () => checkVector(v));
}

// ---------------------------------------------------------------------------------------------------------
// Real kernel bytes: Linux 6.18, python IPPROTO_MPTCP client and server in a private network namespace,
// loopback addresses 198.18.0.1-3 and 2001:2::1-3, `ip mptcp endpoint ... signal` (one with port 40777),
// `ip mptcp endpoint change id 5 backup` (MP_PRIO), `delete id 5` (RM_ADDR), closing with unread data
// (MP_FASTCLOSE + MP_TCPRST on the RSTs), and net.mptcp.checksum_enabled=1 for the checksummed forms. Bytes
// are the options of the captured segments as tcpdump wrote them. The same captures give the key, HMAC and
// checksum vectors in test/mptcp/keys.test.ts and test/wire/dss-checksum.test.ts.
// ---------------------------------------------------------------------------------------------------------

const kernel: Vector[] = [
  { name: 'kernel MP_CAPABLE SYN', bytes: '1e040101', repr: { subtype: 'MP_CAPABLE', version: 1, flags: 0x01 } },
  { name: 'kernel MP_CAPABLE SYN, checksum required', bytes: '1e040181', repr: { subtype: 'MP_CAPABLE', version: 1, flags: 0x81 } },
  {
    name: 'kernel MP_CAPABLE SYN/ACK',
    bytes: '1e0c01016533cc49e5eb547c',
    repr: { subtype: 'MP_CAPABLE', version: 1, flags: 0x01, senderKey: u(0x6533cc49, 0xe5eb547c) },
  },
  {
    name: 'kernel MP_CAPABLE ACK',
    bytes: '1e14010148f31da7d8d451836533cc49e5eb547c',
    repr: { subtype: 'MP_CAPABLE', version: 1, flags: 0x01, senderKey: u(0x48f31da7, 0xd8d45183), receiverKey: u(0x6533cc49, 0xe5eb547c) },
  },
  {
    name: 'kernel MP_CAPABLE ACK with data',
    bytes: '1e1601010dc9b5f93be5e991588047ce38eec8f7000f',
    repr: {
      subtype: 'MP_CAPABLE',
      version: 1,
      flags: 0x01,
      senderKey: u(0x0dc9b5f9, 0x3be5e991),
      receiverKey: u(0x588047ce, 0x38eec8f7),
      dataLength: 15,
    },
  },
  {
    name: 'kernel MP_CAPABLE ACK with data and checksum',
    bytes: '1e180181b2607c92694e8e65897a876775f4660d000f9329',
    repr: {
      subtype: 'MP_CAPABLE',
      version: 1,
      flags: 0x81,
      senderKey: u(0xb2607c92, 0x694e8e65),
      receiverKey: u(0x897a8767, 0x75f4660d),
      dataLength: 15,
      checksum: 0x9329,
    },
  },
  {
    name: 'kernel MP_JOIN SYN',
    bytes: '1e0c1007b52f2b3dfdafc084',
    repr: { subtype: 'MP_JOIN', form: 'syn', backup: false, addressId: 7, token: 0xb52f2b3d, nonce: 0xfdafc084 },
  },
  {
    name: 'kernel MP_JOIN SYN/ACK',
    bytes: '1e101006567bf9163e9db2599ddab4cd',
    repr: { subtype: 'MP_JOIN', form: 'synack', backup: false, addressId: 6, hmac: hex('567bf9163e9db259'), nonce: 0x9ddab4cd },
  },
  {
    name: 'kernel MP_JOIN ACK',
    bytes: '1e1810006b305a64c57f75846f4e56338c372f47b8ee0175',
    repr: { subtype: 'MP_JOIN', form: 'ack', hmac: hex('6b305a64c57f75846f4e56338c372f47b8ee0175') },
  },
  { name: 'kernel DSS DATA_ACK32', bytes: '1e082001a11c562b', repr: { subtype: 'DSS', dataFin: false, dataAck: u(0, 0xa11c562b), dataAck64: false } },
  {
    name: 'kernel DSS DATA_ACK64',
    bytes: '1e0c200321e8eb83a11c5652',
    repr: { subtype: 'DSS', dataFin: false, dataAck: u(0x21e8eb83, 0xa11c5652), dataAck64: true },
  },
  {
    name: 'kernel DSS DATA_ACK32 + DSN64 mapping',
    bytes: '1e16200dc8e344cf21e8eb83a11c562b000000010027',
    repr: {
      subtype: 'DSS',
      dataFin: false,
      dataAck: u(0, 0xc8e344cf),
      dataAck64: false,
      mapping: { dsn: u(0x21e8eb83, 0xa11c562b), dsn64: true, subflowSeq: 1, dataLength: 39 },
    },
  },
  {
    name: 'kernel DSS DATA_ACK64 + DSN64 mapping',
    bytes: '1e1a200fb6bea74ec8e3450521e8eb83a11c5652000000280bb8',
    repr: {
      subtype: 'DSS',
      dataFin: false,
      dataAck: u(0xb6bea74e, 0xc8e34505),
      dataAck64: true,
      mapping: { dsn: u(0x21e8eb83, 0xa11c5652), dsn64: true, subflowSeq: 40, dataLength: 3000 },
    },
  },
  {
    name: 'kernel DSS DATA_FIN (mapping of length 1, subflow seq 0)',
    bytes: '1e1a201f6a344232dff840a2a9724ae901a343c1000000000001',
    repr: {
      subtype: 'DSS',
      dataFin: true,
      dataAck: u(0x6a344232, 0xdff840a2),
      dataAck64: true,
      mapping: { dsn: u(0xa9724ae9, 0x01a343c1), dsn64: true, subflowSeq: 0, dataLength: 1 },
    },
  },
  {
    name: 'kernel DSS with checksum',
    bytes: '1e1c200f57af843efaa3ff49343871d030549bc200000be003e9c3d5',
    repr: {
      subtype: 'DSS',
      dataFin: false,
      dataAck: u(0x57af843e, 0xfaa3ff49),
      dataAck64: true,
      mapping: { dsn: u(0x343871d0, 0x30549bc2), dsn64: true, subflowSeq: 3040, dataLength: 1001, checksum: 0xc3d5 },
    },
  },
  {
    name: 'kernel DSS DATA_ACK32 + mapping + checksum',
    bytes: '1e18200dfaa3ff13343871d030548fe3000000010027e9f6',
    repr: {
      subtype: 'DSS',
      dataFin: false,
      dataAck: u(0, 0xfaa3ff13),
      dataAck64: false,
      mapping: { dsn: u(0x343871d0, 0x30548fe3), dsn64: true, subflowSeq: 1, dataLength: 39, checksum: 0xe9f6 },
    },
  },
  {
    name: 'kernel ADD_ADDR v4 + port + HMAC',
    bytes: '1e123006c61200039f49dbc90780efe62599',
    repr: { subtype: 'ADD_ADDR', echo: false, addressId: 6, address: hex('c6120003'), port: 40777, hmac: hex('dbc90780efe62599') },
  },
  {
    name: 'kernel ADD_ADDR v4 + HMAC',
    bytes: '1e103005c61200028a53348f84e394fa',
    repr: { subtype: 'ADD_ADDR', echo: false, addressId: 5, address: hex('c6120002'), hmac: hex('8a53348f84e394fa') },
  },
  {
    name: 'kernel ADD_ADDR v4 echo + port',
    bytes: '1e0a3106c61200039f49',
    repr: { subtype: 'ADD_ADDR', echo: true, addressId: 6, address: hex('c6120003'), port: 40777 },
  },
  { name: 'kernel ADD_ADDR v4 echo', bytes: '1e083105c6120002', repr: { subtype: 'ADD_ADDR', echo: true, addressId: 5, address: hex('c6120002') } },
  {
    name: 'kernel ADD_ADDR v6 + HMAC',
    bytes: '1e1c300520010002000000000000000000000002e15ed47efd4ade6c',
    repr: { subtype: 'ADD_ADDR', echo: false, addressId: 5, address: hex('20010002000000000000000000000002'), hmac: hex('e15ed47efd4ade6c') },
  },
  {
    name: 'kernel ADD_ADDR v6 echo',
    bytes: '1e14310520010002000000000000000000000002',
    repr: { subtype: 'ADD_ADDR', echo: true, addressId: 5, address: hex('20010002000000000000000000000002') },
  },
  { name: 'kernel RM_ADDR', bytes: '1e044005', repr: { subtype: 'RM_ADDR', addressIds: [5] } },
  { name: 'kernel MP_PRIO backup', bytes: '1e0351', repr: { subtype: 'MP_PRIO', backup: true } },
  { name: 'kernel MP_FASTCLOSE', bytes: '1e0c700084ae693055a9c797', repr: { subtype: 'MP_FASTCLOSE', receiverKey: u(0x84ae6930, 0x55a9c797) } },
  { name: 'kernel MP_TCPRST', bytes: '1e048000', repr: { subtype: 'MP_TCPRST', flags: 0, reason: 0 } },
];

for (const v of kernel) {
  test(`vector: ${v.name}`, () => checkVector(v));
}

// ---------------------------------------------------------------------------------------------------------
// DSS: all 32 combinations of A, a, M, m, F, with and without checksum
// ---------------------------------------------------------------------------------------------------------

const ACK64 = u(0x01020304, 0x05060708);
const DSN64 = u(0x11121314, 0x15161718);

/** Builds DSS bytes field by field, independently of the codec. */
function dssBytes(flags: number, withChecksum: boolean): number[] {
  const body: number[] = [0x20, flags];
  if (flags & 0x01) body.push(...(flags & 0x02 ? [1, 2, 3, 4, 5, 6, 7, 8] : [5, 6, 7, 8]));
  if (flags & 0x04) {
    body.push(...(flags & 0x08 ? [0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18] : [0x15, 0x16, 0x17, 0x18]));
    body.push(0x21, 0x22, 0x23, 0x24, 0x31, 0x32);
    if (withChecksum) body.push(0x41, 0x42);
  }
  return [30, body.length + 2, ...body];
}

function dssRepr(flags: number, withChecksum: boolean): DssOption {
  const A = (flags & 0x01) !== 0;
  const a = (flags & 0x02) !== 0;
  const M = (flags & 0x04) !== 0;
  const m = (flags & 0x08) !== 0;
  const option: { -readonly [K in keyof DssOption]: DssOption[K] } = { subtype: 'DSS', dataFin: (flags & 0x10) !== 0, dataAck64: a };
  if (A) option.dataAck = a ? ACK64 : u(0, ACK64.lo);
  if (M) {
    const dsn = m ? DSN64 : u(0, DSN64.lo);
    option.mapping = withChecksum
      ? { dsn, dsn64: m, subflowSeq: 0x21222324, dataLength: 0x3132, checksum: 0x4142 }
      : { dsn, dsn64: m, subflowSeq: 0x21222324, dataLength: 0x3132 };
  }
  return option;
}

test('DSS: all 32 flag combinations, with and without checksum', () => {
  let count = 0;
  for (let flags = 0; flags < 32; flags++) {
    for (const withChecksum of [false, true]) {
      if (withChecksum && !(flags & DssFlag.MAPPING)) continue;
      count++;
      const bytes = Uint8Array.from(dssBytes(flags, withChecksum));
      const expected = dssRepr(flags, withChecksum);
      const name = `flags 0x${flags.toString(16)}${withChecksum ? ' + checksum' : ''}`;
      assert.deepEqual(parseOk(bytes), expected, name);
      assert.deepEqual(parseOk(emit(expected)), expected, `${name}: round trip`);
      // 'm' without 'M' has no field in the repr, so it is the only bit emit does not reproduce.
      const reproduced = Uint8Array.from(bytes);
      if (!(flags & DssFlag.MAPPING)) reproduced[3] = flags & ~DssFlag.DSN_64;
      assert.equal(toHex(emit(expected)), toHex(reproduced), `${name}: emit`);
      checkTruncations(bytes);
      // A checksum needs a mapping; any other length for these flags is malformed.
      for (const extra of [-1, 1, 3, 4]) {
        const other = new Uint8Array(Math.max(4, bytes.length + extra));
        other.set(bytes.subarray(0, Math.min(bytes.length, other.length)));
        other[1] = other.length;
        if (other.length === bytes.length) continue;
        if (flags & DssFlag.MAPPING && other.length === bytes.length + (withChecksum ? -2 : 2)) continue;
        const r = parseMptcpOption(other);
        assert.ok(r instanceof WireError && r.code === 'malformed', `${name}: length ${other.length} is malformed`);
      }
    }
  }
  assert.equal(count, 48);
});

test('DSS: flags are derived from the fields, reserved bits ignored on parse and zero on emit', () => {
  // Reserved bits of the subtype and flags octets set on the wire: ignored.
  const parsed = parseOk(hex('1e08 2f e1 00000001'));
  assert.deepEqual(parsed, { subtype: 'DSS', dataFin: false, dataAck: u(0, 1), dataAck64: false });
  assert.equal(toHex(emit(parsed)), '1e08200100000001');
  // DATA_ACK 32 emits only the low half.
  assert.equal(toHex(emit({ subtype: 'DSS', dataFin: false, dataAck: u(0xffffffff, 7), dataAck64: false })), '1e08200100000007');
  // 'a' without 'A' (Linux and tshark ignore it): parsed as no DATA_ACK, the bit kept in dataAck64.
  assert.deepEqual(parseOk(hex('1e04 2002')), { subtype: 'DSS', dataFin: false, dataAck64: true });
  // A bare DSS (length 4) and a DATA_FIN-only DSS parse too.
  assert.deepEqual(parseOk(hex('1e04 2000')), { subtype: 'DSS', dataFin: false, dataAck64: false });
  assert.deepEqual(parseOk(hex('1e04 2010')), { subtype: 'DSS', dataFin: true, dataAck64: false });
});

test('DSS: infinite mapping helper', () => {
  const inf = parseOk(hex('1e0e 20 04 00c0ffee 00000000 0000'));
  assert.ok(inf.subtype === 'DSS' && inf.mapping && isInfiniteMapping(inf.mapping));
  const fin = parseOk(hex('1e1a201f6a344232dff840a2a9724ae901a343c1000000000001'));
  assert.ok(fin.subtype === 'DSS' && fin.mapping && !isInfiniteMapping(fin.mapping));
});

// ---------------------------------------------------------------------------------------------------------
// Lengths and errors
// ---------------------------------------------------------------------------------------------------------

test('lengths no variant has are malformed; kind and length octets are checked', () => {
  const bad: Array<[string, string]> = [
    ['MP_CAPABLE 5', '1e05 0101 00'],
    ['MP_CAPABLE 13', '1e0d 0101 0123456789abcdef 00'],
    ['MP_CAPABLE 21', '1e15 0101' + '00'.repeat(17)],
    ['MP_CAPABLE 26', '1e1a 0101' + '00'.repeat(22)],
    ['MP_JOIN 4', '1e04 1000'],
    ['MP_JOIN 20', '1e14 1000' + '00'.repeat(16)],
    ['ADD_ADDR 9', '1e09 3005 c6120002 00'],
    ['ADD_ADDR 12', '1e0c 3005' + '00'.repeat(8)],
    ['ADD_ADDR 24', '1e18 3005' + '00'.repeat(20)],
    ['ADD_ADDR 32', '1e20 3005' + '00'.repeat(28)],
    ['ADD_ADDR 4', '1e04 3005'],
    ['RM_ADDR 3', '1e03 40'],
    ['MP_PRIO 5', '1e05 5101 02'],
    ['MP_FAIL 11', '1e0b 6000' + '00'.repeat(7)],
    ['MP_FAIL 13', '1e0d 6000' + '00'.repeat(9)],
    ['MP_FASTCLOSE 20', '1e14 7000' + '00'.repeat(16)],
    ['MP_TCPRST 3', '1e03 80'],
    ['MP_TCPRST 5', '1e05 8000 00'],
  ];
  for (const [name, h] of bad) {
    const r = parseMptcpOption(hex(h));
    assert.ok(r instanceof WireError, name);
    assert.ok(r.code === 'malformed' || r.code === 'truncated', `${name}: ${r.code}`);
  }
  const notMptcp = parseMptcpOption(hex('0204 05b4'));
  assert.ok(notMptcp instanceof WireError && notMptcp.code === 'malformed');
  // Length octet larger than the bytes: truncated; smaller: malformed (the caller sliced wrongly).
  const longer = parseMptcpOption(hex('1e05 5101'));
  assert.ok(longer instanceof WireError && longer.code === 'truncated');
  const shorter = parseMptcpOption(hex('1e03 5101'));
  assert.ok(shorter instanceof WireError && shorter.code === 'malformed');
  for (const h of ['', '1e', '1e02', '1e00', '1e01']) {
    const r = parseMptcpOption(hex(h));
    assert.ok(r instanceof WireError, h);
  }
});

test('MP_JOIN ACK and ADD_ADDR ignore reserved bits; results are views into the input', () => {
  const ack = parseOk(hex('1e18 1fff b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3'));
  assert.deepEqual(ack, { subtype: 'MP_JOIN', form: 'ack', hmac: HMAC20 });
  assert.equal(toHex(emit(ack)), '1e181000b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3');
  const bytes = hex('1e08 3f 05 c6120002');
  const add = parseOk(bytes);
  assert.ok(add.subtype === 'ADD_ADDR' && add.echo);
  assert.equal(add.address.buffer, bytes.buffer, 'address is a view, not a copy');
  const prio = parseOk(hex('1e03 5e'));
  assert.deepEqual(prio, { subtype: 'MP_PRIO', backup: false });
  const fail = parseOk(hex('1e0c 6fff 0000000000000001'));
  assert.deepEqual(fail, { subtype: 'MP_FAIL', dsn: u(0, 1) });
  assert.equal(toHex(emit(fail)), '1e0c60000000000000000001');
});

test('emit: writes at an offset, only its own bytes; rejects small buffers and impossible reprs', () => {
  const option: MptcpOption = { subtype: 'MP_JOIN', form: 'syn', backup: true, addressId: 2, token: 0xaabbccdd, nonce: 0x11223344 };
  const buf = new Uint8Array(20).fill(0xee);
  assert.equal(emitMptcpOption(option, buf, 5), 12);
  assert.equal(toHex(buf), 'eeeeeeeeee' + '1e0c1102aabbccdd11223344' + 'eeeeee');
  assert.throws(() => emitMptcpOption(option, new Uint8Array(11), 0), BufferTooSmallError);
  assert.throws(() => emitMptcpOption(option, new Uint8Array(20), 9), BufferTooSmallError);
  const throwsRange = (o: MptcpOption) => assert.throws(() => emitMptcpOption(o, new Uint8Array(64), 0), RangeError);
  throwsRange({ subtype: 'MP_JOIN', form: 'synack', backup: false, addressId: 0, hmac: new Uint8Array(32), nonce: 0 });
  throwsRange({ subtype: 'MP_JOIN', form: 'ack', hmac: new Uint8Array(32) });
  throwsRange({ subtype: 'ADD_ADDR', echo: false, addressId: 0, address: new Uint8Array(4), hmac: new Uint8Array(32) });
  throwsRange({ subtype: 'ADD_ADDR', echo: false, addressId: 0, address: new Uint8Array(5) });
  throwsRange({ subtype: 'RM_ADDR', addressIds: [] });
  throwsRange({ subtype: 'unknown', subtypeValue: 9, data: new Uint8Array(0) });
  // The unknown subtype nibble comes from subtypeValue.
  assert.equal(toHex(emit({ subtype: 'unknown', subtypeValue: 0xc, data: hex('0f01') })), '1e04cf01');
});

test('subtype names', () => {
  assert.equal(mptcpSubtypeName(0), 'MP_CAPABLE');
  assert.equal(mptcpSubtypeName(2), 'DSS');
  assert.equal(mptcpSubtypeName(8), 'MP_TCPRST');
  assert.equal(mptcpSubtypeName(0xf), 'MP_EXPERIMENTAL');
  assert.equal(mptcpSubtypeName(0x9), 'unknown(0x9)');
  assert.equal(mptcpOptionName(parseOk(hex('1e0351'))), 'MP_PRIO');
  assert.equal(mptcpOptionName(parseOk(hex('1e03a0'))), 'unknown(0xa)');
});

// ---------------------------------------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------------------------------------

const anyOptionArb = mptcpOptionArb;

test('property: parse(emit(x)) == x for every valid variant; length == bytes written (10,000 runs)', () => {
  fc.assert(
    fc.property(anyOptionArb, fc.integer({ min: 0, max: 8 }), (option, offset) => {
      const length = mptcpOptionLength(option);
      const buf = new Uint8Array(offset + length + 3).fill(0xa5);
      assert.equal(emitMptcpOption(option, buf, offset), length);
      assert.equal(buf[offset + length], 0xa5, 'nothing written past the option');
      if (offset > 0) assert.equal(buf[offset - 1], 0xa5, 'nothing written before the option');
      assert.equal(buf[offset + 1], length, 'length octet');
      assert.deepEqual(parseOk(buf.subarray(offset, offset + length)), option);
    }),
    { numRuns: 10_000 },
  );
});

test('property: parsing fully arbitrary bytes never throws (10,000 runs)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 40 }), (bytes) => {
      const r = parseMptcpOption(bytes);
      assert.ok(r instanceof WireError || typeof r.subtype === 'string');
    }),
    { numRuns: 10_000 },
  );
});

test('property: kind 30 with a right length octet never throws; what parses re-emits to the same repr (10,000 runs)', () => {
  const body = fc
    .record({ subtype: fc.integer({ min: 0, max: 15 }), low: fc.integer({ min: 0, max: 15 }), rest: fc.uint8Array({ minLength: 0, maxLength: 36 }) })
    .map(({ subtype, low, rest }) => Uint8Array.from([30, rest.length + 3, (subtype << 4) | low, ...rest]));
  fc.assert(
    fc.property(body, (bytes) => {
      const r = parseMptcpOption(bytes);
      if (r instanceof WireError) {
        assert.ok(r.code === 'malformed' || r.code === 'truncated');
        return;
      }
      assert.equal(mptcpOptionLength(r), bytes.length);
      assert.deepEqual(parseOk(emit(r)), r);
    }),
    { numRuns: 10_000 },
  );
});
