/**
 * The data structures under the connection: send buffer (views, copies only across chunks), receive
 * reassembly (property: any arrival order and overlap yields the original bytes), SACK scoreboard
 * (IsLost boundary, pipe helpers), RTT estimator and timer table.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { InsertResult, ReceiveBuffer } from '../../src/tcp/receive-buffer.js';
import { RttEstimator } from '../../src/tcp/rtt.js';
import { Scoreboard } from '../../src/tcp/scoreboard.js';
import { SendBuffer } from '../../src/tcp/send-buffer.js';
import { TcpTimer, TimerTable } from '../../src/tcp/timers.js';
import { randomBytes } from './helpers.js';

describe('SendBuffer', () => {
  test('slices are views within a chunk, copies across chunks', () => {
    const buf = new SendBuffer();
    const a = new Uint8Array(3000).fill(1);
    const b = new Uint8Array(100).fill(2);
    buf.push(a);
    buf.push(b);
    const first = buf.slice(0, 1448, Infinity);
    assert.equal(first.buffer, a.buffer);
    assert.equal(first.byteOffset, 0);
    const spanning = buf.slice(2900, 1448, Infinity);
    assert.equal(spanning.length, 200);
    assert.notEqual(spanning.buffer, a.buffer);
    assert.deepEqual([...spanning.subarray(98, 102)], [1, 1, 2, 2]);
    buf.release(3000);
    assert.equal(buf.length, 100);
    assert.deepEqual([...buf.slice(3000, 10, Infinity)], Array(10).fill(2));
  });

  test('property: any slice equals the concatenation', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }), fc.nat(), fc.integer({ min: 1, max: 80 }), (sizes, startSeed, len) => {
        const buf = new SendBuffer();
        const all: number[] = [];
        let v = 0;
        for (const n of sizes) {
          const chunk = Uint8Array.from({ length: n }, () => v++ & 0xff);
          all.push(...chunk);
          buf.push(chunk);
        }
        const start = startSeed % all.length;
        const got = buf.slice(start, len, Infinity);
        assert.deepEqual([...got], all.slice(start, start + len));
      }),
    );
  });
});

describe('ReceiveBuffer', () => {
  test('in order, out of order, gap fill and duplicates', () => {
    const rb = new ReceiveBuffer(1);
    assert.equal(rb.insert(11, new Uint8Array(10)), InsertResult.OutOfOrder);
    assert.equal(rb.insert(1, new Uint8Array(5)), InsertResult.FilledGap);
    assert.equal(rb.nxt, 6);
    assert.equal(rb.insert(6, new Uint8Array(5)), InsertResult.FilledGap);
    assert.equal(rb.nxt, 21);
    assert.equal(rb.insert(3, new Uint8Array(5)), InsertResult.Duplicate);
    assert.equal(rb.readable, 20);
    assert.equal(rb.oooBytes, 0);
  });

  test('property: any order with overlaps reassembles the stream', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: 400 }), fc.integer({ min: 1, max: 60 })), { minLength: 1, maxLength: 60 }),
        (pieces) => {
          const total = 460;
          const stream = randomBytes(total, 9);
          const rb = new ReceiveBuffer(1);
          const covered = new Uint8Array(total);
          for (const [start, len] of pieces) {
            const end = Math.min(total, start + len);
            rb.insert(1 + start, stream.subarray(start, end));
            covered.fill(1, start, end);
          }
          // Then everything in order, so the stream completes.
          rb.insert(1, stream);
          assert.equal(rb.nxt, 1 + total);
          assert.equal(rb.oooBytes, 0);
          const out: number[] = [];
          for (let d = rb.read(37); d !== undefined; d = rb.read(37)) out.push(...d);
          assert.deepEqual(out, [...stream]);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('property: SACK blocks are disjoint, above nxt, and the first holds the latest segment', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 2, max: 300 }), fc.integer({ min: 1, max: 30 })), { minLength: 1, maxLength: 40 }), (pieces) => {
        const rb = new ReceiveBuffer(1);
        for (const [start, len] of pieces) {
          const result = rb.insert(start, new Uint8Array(len));
          const blocks = rb.sackBlocks(4);
          assert.ok(blocks.length <= 4);
          for (const [l, r] of blocks) assert.ok(l > rb.nxt && r > l);
          for (let i = 0; i < blocks.length; i++)
            for (let j = i + 1; j < blocks.length; j++) assert.ok(blocks[i]![1] < blocks[j]![0] || blocks[j]![1] < blocks[i]![0]);
          if (result === InsertResult.OutOfOrder) {
            const [l, r] = blocks[0]!;
            assert.ok(l <= Math.max(start, rb.nxt) && start + len <= r, `first block [${l}, ${r}) holds [${start}, ${start + len})`);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('Scoreboard', () => {
  test('IsLost boundary: DupThresh ranges or more than 2 MSS SACKed above', () => {
    const sb = new Scoreboard();
    sb.add(200, 300);
    assert.equal(sb.lostBoundary(1, 100), 1);
    sb.add(300, 400);
    assert.equal(sb.lostBoundary(1, 100), 1); // exactly 2 * MSS: not yet
    sb.add(400, 401);
    assert.equal(sb.lostBoundary(1, 100), 200);
    const sb2 = new Scoreboard();
    sb2.add(10, 11);
    sb2.add(20, 21);
    sb2.add(30, 31);
    assert.equal(sb2.lostBoundary(1, 100), 10); // three discontiguous ranges
    assert.equal(sb2.sackedBytes, 3);
    assert.equal(sb2.sackedBetween(0, 25), 2);
    assert.equal(sb2.nextUnsacked(10), 11);
    assert.equal(sb2.nextSackedAfter(11), 20);
    sb2.advance(21);
    assert.equal(sb2.sackedBytes, 1);
  });

  test('property: merged ranges count each byte once', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: 200 }), fc.integer({ min: 1, max: 40 })), { maxLength: 30 }), (blocks) => {
        const sb = new Scoreboard();
        const bytes = new Set<number>();
        for (const [s, n] of blocks) {
          const added = sb.add(s, s + n);
          let fresh = 0;
          for (let x = s; x < s + n; x++) if (!bytes.has(x)) (bytes.add(x), fresh++);
          assert.equal(added, fresh);
        }
        assert.equal(sb.sackedBytes, bytes.size);
        for (let k = 0; k + 2 < sb.ranges.length; k += 2) assert.ok(sb.ranges[k + 1]! < sb.ranges[k + 2]!);
      }),
    );
  });
});

describe('RttEstimator and TimerTable', () => {
  test('RFC 6298 arithmetic, min/max clamp, backoff', () => {
    const rtt = new RttEstimator(200_000, 120_000_000, 1_000_000);
    assert.equal(rtt.rto, 1_000_000);
    rtt.backOff();
    assert.equal(rtt.rto, 2_000_000);
    rtt.sample(500_000);
    assert.equal(rtt.rto, 1_500_000); // 500 + 4 * 250
    for (let k = 0; k < 20; k++) rtt.backOff();
    assert.equal(rtt.rto, 120_000_000);
  });

  test('next() is the minimum armed deadline', () => {
    const t = new TimerTable();
    assert.equal(t.next(), undefined);
    t.set(TcpTimer.TimeWait, 500);
    t.set(TcpTimer.DelayedAck, 40);
    assert.equal(t.next(), 40);
    t.stop(TcpTimer.DelayedAck);
    assert.equal(t.next(), 500);
    assert.ok(t.expired(TcpTimer.TimeWait, 500) && !t.expired(TcpTimer.TimeWait, 499));
  });
});
