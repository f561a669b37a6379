/**
 * `mptcp perf` on slow emulated links, as iperf3 reports them: the sender counts what the stack took from
 * its writes (partial blocks included), so its intervals carry bytes and add up to its total; the test ends
 * at `-t` (the sender's summary is 0.00-T); the receiver never counts more than the sender; and a subflow
 * line shows what the path delivered, never more than the link's rate. Both ends in this process, real time:
 * the end time and the interval count allow for the event-loop lag measured during the run (helpers.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertEndsAt, assertIntervals, measureLag, runPerfCli } from './helpers.js';

interface Numbers {
  start: number;
  end: number;
  seconds: number;
  bytes: number;
  bits_per_second: number;
}
interface Doc {
  intervals: Array<{ sum: Numbers; subflows?: Array<Numbers & { sender: boolean }> }>;
  end: { sum_sent: Numbers; sum_received: Numbers; subflows?: Array<{ bytes_acked: number; seconds: number; bits_per_second: number }> };
}

test('64 Kbit/s, 100 ms, -t 3: three sender intervals that add up to the total, the sender ends at 3 s, subflows within the link rate', { timeout: 90_000 }, async () => {
  const rate = 64_000;
  const { value: r, lagSeconds } = await measureLag(() => runPerfCli(['-c', '198.18.0.2', '-t', '3', '--link', `rate=64K,delay=100ms`, '-J']));
  assert.equal(r.code, 0, r.err);
  const doc = JSON.parse(r.out) as Doc;
  const sent = doc.end.sum_sent;
  assert.ok(sent.bytes > 0, 'the sender counted what its stack took');
  console.log(`${assertIntervals(doc.intervals, sent, 3, lagSeconds)}`);
  assert.ok(doc.intervals.filter((i) => i.sum.bytes > 0).length >= 2, `bytes in the intervals they were taken: ${doc.intervals.map((i) => i.sum.bytes)}`);
  assertEndsAt(sent.seconds, 3, lagSeconds);
  assert.ok(doc.end.sum_received.bytes <= sent.bytes && doc.end.sum_received.bytes > 0, `received ${doc.end.sum_received.bytes} of ${sent.bytes}`);
  // What each subflow line shows: delivered (acknowledged) bytes, within the link's rate (plus a packet).
  for (const iv of doc.intervals) {
    for (const sf of iv.subflows ?? []) assert.ok(sf.bytes * 8 <= rate * sf.seconds + 1500 * 8, `subflow ${sf.bytes} bytes in ${sf.seconds} s on a 64 Kbit/s link`);
  }
  const total = doc.end.subflows![0]!;
  assert.ok(total.bits_per_second <= rate * 1.05, `subflow total ${total.bits_per_second} bit/s on a 64 Kbit/s link`);
});

test('1% loss, -t 2: the sender summary ends at the last interval, at 2 s (not after the flush)', { timeout: 60_000 }, async () => {
  const { value: r, lagSeconds } = await measureLag(() => runPerfCli(['-c', '198.18.0.2', '-t', '2', '--link', 'rate=200M,loss=1%', '-J']));
  assert.equal(r.code, 0, r.err);
  const doc = JSON.parse(r.out) as Doc;
  console.log(`${assertIntervals(doc.intervals, doc.end.sum_sent, 2, lagSeconds)}`);
  assertEndsAt(doc.end.sum_sent.seconds, 2, lagSeconds);
  assert.ok(doc.end.sum_received.bytes <= doc.end.sum_sent.bytes);
});

test('1 Kbit/s, -t 1 (small segments and buffer to keep it short): the test completes, ends at 1 s, the receiver within 1 Kbit/s, no emulator warning', { timeout: 240_000 }, async () => {
  // On main this rate failed: "the control connection closed unexpectedly" (the server gave up waiting for
  // control messages queued behind seconds of data).
  const { value: r, lagSeconds } = await measureLag(() => runPerfCli(['-c', '198.18.0.2', '-t', '1', '-M', '88', '-w', '4608', '--link', 'rate=1K', '-J']));
  assert.equal(r.code, 0, r.err);
  const doc = JSON.parse(r.out) as Doc & { emulator: { kept_up: boolean } };
  const sent = doc.end.sum_sent;
  const received = doc.end.sum_received;
  assertEndsAt(sent.seconds, 1, lagSeconds);
  assert.equal(doc.intervals.reduce((a, i) => a + i.sum.bytes, 0), sent.bytes);
  assert.ok(received.bytes > 0 && received.bytes <= sent.bytes, `received ${received.bytes} of ${sent.bytes}`);
  assert.ok(received.bits_per_second <= 1000 * 1.05, `the receiver's rate on a 1 Kbit/s link: ${received.bits_per_second}`);
  assert.equal(doc.emulator.kept_up, true);
});
