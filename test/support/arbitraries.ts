/**
 * fast-check generators shared by the codec tests: every valid MPTCP option variant (values that
 * round-trip through emit and parse), and small helpers for records that deep-equal parser output.
 */
import fc from 'fast-check';
import type { MptcpOption } from '../../src/wire/mptcp-option.js';
import { u64 as u } from '../../src/wire/u64.js';

export const u8 = fc.integer({ min: 0, max: 0xff });
export const u16 = fc.integer({ min: 0, max: 0xffff });
export const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
/** Records with an ordinary prototype, so they deep-equal the parser's object literals. */
export const rec = <T extends object>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> =>
  fc.record(model, { noNullPrototype: true }) as fc.Arbitrary<T>;
export const u64Arb = rec({ hi: u32, lo: u32 });
export const bytesOf = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
/** Optional field: absent keys (not `undefined` values), as the parser produces. */
export const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

export function compact<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as T;
}

const mpCapableArb: fc.Arbitrary<MptcpOption> = fc
  .record({ version: fc.integer({ min: 0, max: 15 }), flags: u8, level: fc.integer({ min: 0, max: 4 }), k1: u64Arb, k2: u64Arb, len: u16, csum: u16 })
  .map(({ version, flags, level, k1, k2, len, csum }) =>
    compact({
      subtype: 'MP_CAPABLE' as const,
      version,
      flags,
      senderKey: level >= 1 ? k1 : undefined,
      receiverKey: level >= 2 ? k2 : undefined,
      dataLength: level >= 3 ? len : undefined,
      checksum: level >= 4 ? csum : undefined,
    }),
  );

const mpJoinArb: fc.Arbitrary<MptcpOption> = fc.oneof(
  rec({ subtype: fc.constant('MP_JOIN' as const), form: fc.constant('syn' as const), backup: fc.boolean(), addressId: u8, token: u32, nonce: u32 }),
  rec({ subtype: fc.constant('MP_JOIN' as const), form: fc.constant('synack' as const), backup: fc.boolean(), addressId: u8, hmac: bytesOf(8), nonce: u32 }),
  rec({ subtype: fc.constant('MP_JOIN' as const), form: fc.constant('ack' as const), hmac: bytesOf(20) }),
);

const dssArb: fc.Arbitrary<MptcpOption> = fc
  .record({
    dataFin: fc.boolean(),
    dataAck64: fc.boolean(),
    dataAck: opt(u64Arb),
    mapping: opt(rec({ dsn64: fc.boolean(), dsn: u64Arb, subflowSeq: u32, dataLength: u16, checksum: opt(u16) })),
  })
  .map(({ dataFin, dataAck64, dataAck, mapping }) =>
    compact({
      subtype: 'DSS' as const,
      dataFin,
      dataAck: dataAck && (dataAck64 ? dataAck : u(0, dataAck.lo)),
      dataAck64,
      mapping: mapping && compact({ ...mapping, dsn: mapping.dsn64 ? mapping.dsn : u(0, mapping.dsn.lo) }),
    }),
  );

const addAddrArb: fc.Arbitrary<MptcpOption> = fc
  .record({ echo: fc.boolean(), addressId: u8, address: fc.oneof(bytesOf(4), bytesOf(16)), port: opt(u16), hmac: opt(bytesOf(8)) })
  .map((r) => compact({ subtype: 'ADD_ADDR' as const, ...r }));

const otherArb: fc.Arbitrary<MptcpOption> = fc.oneof(
  rec({ subtype: fc.constant('RM_ADDR' as const), addressIds: fc.array(u8, { minLength: 1, maxLength: 37 }) }),
  rec({ backup: fc.boolean(), addressId: opt(u8) }).map((r) => compact({ subtype: 'MP_PRIO' as const, ...r })),
  rec({ subtype: fc.constant('MP_FAIL' as const), dsn: u64Arb }),
  rec({ subtype: fc.constant('MP_FASTCLOSE' as const), receiverKey: u64Arb }),
  rec({ subtype: fc.constant('MP_TCPRST' as const), flags: fc.integer({ min: 0, max: 15 }), reason: u8 }),
  fc
    .record({ subtypeValue: fc.integer({ min: 9, max: 15 }), data: fc.uint8Array({ minLength: 1, maxLength: 37 }) })
    .map(({ subtypeValue, data }) => {
      const d = Uint8Array.from(data);
      d[0] = (subtypeValue << 4) | (d[0]! & 0x0f);
      return { subtype: 'unknown' as const, subtypeValue, data: d };
    }),
);

export const mptcpOptionArb = fc.oneof(mpCapableArb, mpJoinArb, dssArb, dssArb, addAddrArb, otherArb);
