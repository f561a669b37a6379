// The data-level send buffer (src/mptcp/send-buffer.ts) on its own: room and blocking, slices by reference
// across chunks, release by DATA_ACK, the window, the fallback paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SendBuffer } from '../../src/mptcp/send-buffer.js';

const bytes = (n: number, from = 0) => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);

test('append: keeps what fits in the room, marks the buffer blocked on a short write, by reference', () => {
  const b = new SendBuffer(10);
  const first = bytes(6);
  assert.equal(b.append(first, b.room), 6);
  assert.equal(b.room, 4);
  assert.equal(b.blocked, false);
  assert.equal(b.slice(0, 6).buffer, first.buffer, 'kept by reference, not copied');
  assert.equal(b.append(bytes(6, 6), b.room), 4, 'only the room is taken');
  assert.equal(b.blocked, true);
  assert.equal(b.written, 10);
  assert.equal(b.room, 0);
  assert.equal(b.append(bytes(1), b.room), 0);
  b.unblock();
  assert.equal(b.blocked, false);
});

test('slice: at most one chunk, from any offset, empty beyond the written end', () => {
  const b = new SendBuffer(100);
  b.append(bytes(5, 0), 100);
  b.append(bytes(5, 5), 100);
  assert.deepEqual([...b.slice(3, 10)], [3, 4], 'stops at the chunk end');
  assert.deepEqual([...b.slice(5, 2)], [5, 6]);
  assert.deepEqual([...b.slice(7, 100)], [7, 8, 9]);
  assert.equal(b.slice(10, 5).length, 0);
  assert.equal(b.chunkCount, 2);
});

test('ack: releases whole chunks below the DATA_ACK, keeps a chunk it cuts, and frees the room', () => {
  const b = new SendBuffer(10);
  b.append(bytes(4, 0), 10);
  b.append(bytes(4, 4), 10);
  b.markScheduled(8);
  assert.equal(b.room, 2);
  b.ack(6);
  assert.equal(b.acked, 6);
  assert.equal(b.chunkCount, 1, 'the first chunk is gone, the second is partly acknowledged');
  assert.equal(b.room, 8);
  assert.deepEqual([...b.slice(6, 10)], [6, 7], 'the bytes after the DATA_ACK are still there');
});

test('openWindow: unlimited before the first DATA_ACK, then only grows', () => {
  const b = new SendBuffer(10);
  assert.equal(b.windowEnd, Infinity);
  b.openWindow(1000);
  assert.equal(b.windowEnd, 1000);
  b.openWindow(500);
  assert.equal(b.windowEnd, 1000, 'a smaller window end is ignored (RFC 8684 3.3.4)');
  b.openWindow(1500);
  assert.equal(b.windowEnd, 1500);
});

test('fallback paths: unschedule maps nothing, appendDirect counts bytes written to the subflow, clear forgets', () => {
  const b = new SendBuffer(100);
  b.append(bytes(10), 100);
  b.markScheduled(10);
  b.unschedule();
  assert.equal(b.scheduled, 0, 'a fallback in the handshake: everything goes to the subflow from the start');
  b.markScheduled(10);
  b.clear();
  assert.equal(b.chunkCount, 0);
  assert.equal(b.slice(0, 10).length, 0);
  b.appendDirect(7);
  assert.equal(b.written, 17);
  assert.equal(b.scheduled, 17);
  assert.equal(b.slice(10, 7).length, 0, 'direct bytes are not kept');
});

test('property: slices by offset after any writes and acks return exactly the bytes written there', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      (writes, acks) => {
        const b = new SendBuffer(1 << 20);
        let total = 0;
        for (const n of writes) total += b.append(bytes(n, total), b.room);
        b.markScheduled(total);
        let acked = 0;
        for (const a of acks) {
          const to = acked + (a % (total - acked + 1));
          if (to > acked) {
            b.ack(to);
            acked = to;
          }
        }
        // Everything from the DATA_ACK on reads back in order, chunk by chunk.
        let at = acked;
        while (at < total) {
          const s = b.slice(at, total - at);
          assert.ok(s.length > 0, `slice at ${at} of ${total}`);
          for (let i = 0; i < s.length; i++) assert.equal(s[i], (at + i) & 0xff);
          at += s.length;
        }
        assert.equal(b.room, (1 << 20) - (total - acked));
      },
    ),
  );
});
