// The RST reply to a segment that matches no connection (src/stack/rst.ts), RFC 9293 3.10.7.1.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { resetReply } from '../../src/stack/rst.js';
import { emitTcpSegment, parseTcpSegment, tcpHeaderLength, TcpFlags, type TcpSegment } from '../../src/wire/tcp.js';
import { isWireError } from '../../src/wire/errors.js';
import { MpTcpRstReason } from '../../src/wire/mptcp-option.js';

const SRC = new Uint8Array([198, 18, 0, 1]);
const DST = new Uint8Array([198, 18, 0, 2]);

function segment(fields: Partial<TcpSegment>): TcpSegment {
  return { srcPort: 40000, dstPort: 80, seq: 1000, ack: 0, headerLength: 20, flags: 0, window: 65535, checksum: 0, urgentPointer: 0, options: [], payload: new Uint8Array(0), ...fields };
}

test('ACK off: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>, SYN and FIN each counting one', () => {
  const syn = resetReply(segment({ flags: TcpFlags.SYN, seq: 0xffffffff }))!;
  assert.equal(syn.flags, TcpFlags.RST | TcpFlags.ACK);
  assert.equal(syn.seq, 0);
  assert.equal(syn.ack, 0, 'wraps modulo 2^32');
  const data = resetReply(segment({ flags: TcpFlags.FIN | TcpFlags.PSH, seq: 5000, payload: new Uint8Array(100) }))!;
  assert.equal(data.ack, 5101);
  assert.deepEqual([data.srcPort, data.dstPort], [80, 40000], 'ports swapped');
  assert.equal(data.payload.length, 0);
  assert.deepEqual(data.options, []);
});

test('ACK on: <SEQ=SEG.ACK><CTL=RST>', () => {
  const r = resetReply(segment({ flags: TcpFlags.ACK | TcpFlags.PSH, seq: 7, ack: 123456, payload: new Uint8Array(10) }))!;
  assert.equal(r.flags, TcpFlags.RST);
  assert.equal(r.seq, 123456);
  assert.equal(r.ack, 0);
});

test('an RST is never answered, with or without ACK', () => {
  assert.equal(resetReply(segment({ flags: TcpFlags.RST })), undefined);
  assert.equal(resetReply(segment({ flags: TcpFlags.RST | TcpFlags.ACK, ack: 9 }), MpTcpRstReason.MPTCP_SPECIFIC), undefined);
});

test('with an MPTCP reason the RST carries MP_TCPRST', () => {
  const r = resetReply(segment({ flags: TcpFlags.SYN }), MpTcpRstReason.MPTCP_SPECIFIC)!;
  assert.deepEqual(r.options, [{ kind: 'mptcp', option: { subtype: 'MP_TCPRST', flags: 0, reason: MpTcpRstReason.MPTCP_SPECIFIC } }]);
  assert.equal(r.flags, TcpFlags.RST | TcpFlags.ACK);
});

const anySegment = fc.record({
  srcPort: fc.integer({ min: 0, max: 65535 }),
  dstPort: fc.integer({ min: 0, max: 65535 }),
  seq: fc.integer({ min: 0, max: 0xffffffff }),
  ack: fc.integer({ min: 0, max: 0xffffffff }),
  flags: fc.integer({ min: 0, max: 0xff }),
  payload: fc.uint8Array({ maxLength: 64 }),
  reason: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
});

test('property: never throws; a reply only for a non-RST, always an emittable RST that parses back', () => {
  fc.assert(
    fc.property(anySegment, ({ reason, ...fields }) => {
      const seg = segment(fields);
      const r = resetReply(seg, reason);
      if (seg.flags & TcpFlags.RST) return r === undefined;
      assert.ok(r !== undefined);
      assert.ok(r.flags & TcpFlags.RST);
      assert.equal(r.payload.length, 0);
      assert.ok(r.seq >= 0 && r.seq <= 0xffffffff && r.ack >= 0 && r.ack <= 0xffffffff);
      const buf = new Uint8Array(tcpHeaderLength(r.options));
      emitTcpSegment(r, DST, SRC, buf, 0);
      const back = parseTcpSegment(buf, { src: DST, dst: SRC });
      assert.ok(!isWireError(back));
      assert.equal(back.seq, r.seq);
      assert.equal(back.flags, r.flags);
      return true;
    }),
    { numRuns: 2000 },
  );
});

test('property: never throws on segments parsed from arbitrary bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 80 }), fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }), (bytes, reason) => {
      const seg = parseTcpSegment(bytes);
      if (isWireError(seg)) return true;
      const r = resetReply(seg, reason);
      return (seg.flags & TcpFlags.RST) !== 0 ? r === undefined : r !== undefined;
    }),
    { numRuns: 2000 },
  );
});
