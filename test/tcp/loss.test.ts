/**
 * Timers and loss recovery with exact values: RTO (RFC 6298), SACK-based recovery (RFC 6675), NewReno
 * (RFC 6582), persist, keepalive, Nagle, and the receiver's SACK blocks (RFC 2018).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TcpConfig } from '../../src/tcp/types.js';
import type { TcpOption } from '../../src/wire/tcp.js';
import { ACK, FIN, PSH, drain, events, expect, expectNothing, ms, option, seg } from './helpers.js';
import { ISS, PEER, PEER_SYN_OPTIONS, established } from './fixtures.js';

const RENO: TcpConfig = Object.freeze({ timestamps: false, congestionControl: 'reno', noDelay: true });
/** The RTO alone: without SACK there is no tail loss probe (RFC 8985 needs SACK), so the first expiry is the RTO. */
const RTO_ONLY: TcpConfig = Object.freeze({ ...RENO, sack: false });
const NO_SACK_OPTIONS: readonly TcpOption[] = [{ kind: 'mss', mss: 1460 }, { kind: 'nop' }, { kind: 'windowScale', shift: 7 }];
const MSS = 1460;
/** Sequence number of the start of our data segment i (0-based). */
const s = (i: number) => ISS + 1 + i * MSS;
const ack = (n: number, opts: { window?: number; sack?: Array<[number, number]> } = {}) =>
  seg({
    seq: PEER + 1,
    ack: n,
    flags: ACK,
    window: opts.window ?? 1024,
    options: opts.sack === undefined ? [] : [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'sack', blocks: opts.sack }],
  });

/** Established (RTT 100 ms: RTO 300 ms), peer window opened to 128 KiB, `segments` full segments sent at `at`. */
function sending(segments: number, config: TcpConfig = RENO, synAck: readonly TcpOption[] = PEER_SYN_OPTIONS) {
  const { conn, at } = established(config, synAck);
  conn.handleSegment(at, ack(ISS + 1));
  conn.write(new Uint8Array(segments * MSS).fill(7));
  const out = drain(conn, at);
  assert.equal(out.length, segments);
  out.forEach((r, i) => assert.equal(r.seq, s(i)));
  return { conn, at };
}

describe('RTO (RFC 6298)', () => {
  test('rto_afterOneSample_thenDoubling', () => {
    const { conn, at } = sending(1, RTO_ONLY);
    assert.equal(conn.pollTimeout(), at + ms(300));
    let t = at;
    for (const rto of [300, 600, 1200, 2400]) {
      t += ms(rto);
      assert.equal(conn.pollTimeout(), t);
      conn.handleTimeout(t);
      expect(conn, t, { seq: s(0), payloadLength: MSS });
    }
    assert.equal(conn.info().timeouts, 4);
    assert.equal(conn.info().cwndBytes, MSS); // loss window
  });

  test('rto_computedExactlyFromSamples', () => {
    const { conn, at } = sending(1, RTO_ONLY);
    // Second sample 50 ms: RTTVAR = 3/4*50 + 1/4*|100-50| = 50, SRTT = 7/8*100 + 1/8*50 = 93.75 ms.
    conn.handleSegment(at + ms(50), ack(s(1)));
    assert.equal(conn.info().rtoMicros, 293_750);
    assert.equal(conn.pollTimeout(), undefined); // all acknowledged: timer stopped
    conn.write(new Uint8Array(10));
    expect(conn, at + ms(60), { seq: s(1), payloadLength: 10 });
    assert.equal(conn.pollTimeout(), at + ms(60) + 293_750);
    // A third sample of 10 ms drives SRTT+4*RTTVAR below 200 ms: the minimum applies.
    conn.handleSegment(at + ms(70), ack(s(1) + 10));
    const rttvar = 0.75 * 50 + 0.25 * Math.abs(93.75 - 10);
    const srtt = 0.875 * 93.75 + 0.125 * 10;
    assert.equal(conn.info().rtoMicros, Math.max(200_000, Math.round((srtt + 4 * rttvar) * 1000)));
  });

  test('rto_karn_noSampleFromRetransmission_backoffKept', () => {
    const { conn, at } = sending(1, RTO_ONLY);
    conn.handleTimeout(at + ms(300));
    expect(conn, at + ms(300), { seq: s(0) });
    conn.handleSegment(at + ms(310), ack(s(1)));
    assert.equal(conn.info().srttMicros, ms(100)); // unchanged: ambiguous sample discarded
    conn.write(new Uint8Array(10));
    expect(conn, at + ms(320));
    assert.equal(conn.pollTimeout(), at + ms(320) + ms(600)); // backed-off RTO kept until a valid sample
  });

  test('rto_retransmissionLimit_etimedout', () => {
    const { conn, at } = sending(1, { ...RTO_ONLY, maxRetransmits: 3 });
    let t = at;
    for (const rto of [300, 600, 1200]) {
      t += ms(rto);
      conn.handleTimeout(t);
      expect(conn, t, { seq: s(0) });
    }
    t += ms(2400);
    assert.equal(conn.pollTimeout(), t);
    conn.handleTimeout(t);
    assert.equal(conn.state, 'CLOSED');
    const closed = events(conn).at(-1);
    assert.ok(closed?.type === 'closed' && closed.error?.code === 'ETIMEDOUT');
    assert.match(closed.error!.message, /^retransmission limit reached: /);
  });

  test('rto_resendsInSlowStartAfterTimeout', () => {
    const { conn, at } = sending(4, RTO_ONLY);
    const t = at + ms(300);
    conn.handleTimeout(t);
    expect(conn, t, { seq: s(0) }); // cwnd = 1 MSS
    conn.handleSegment(t + ms(100), ack(s(1)));
    const out = drain(conn, t + ms(100));
    assert.deepEqual(out.map((r) => r.seq), [s(1), s(2)]); // slow start: cwnd 2
  });
});

describe('SACK loss recovery (RFC 6675)', () => {
  test('sack_retransmitsExactlyTheLostSegment', () => {
    const { conn, at } = sending(10);
    const t = at + ms(100);
    conn.handleSegment(t, ack(s(1)));
    conn.handleSegment(t, ack(s(2)));
    // Segment 2 lost; 3, 4, 5 arrive and are SACKed.
    conn.handleSegment(t, ack(s(2), { sack: [[s(3), s(4)]] }));
    conn.handleSegment(t, ack(s(2), { sack: [[s(3), s(5)]] }));
    expectNothing(conn, t);
    conn.handleSegment(t, ack(s(2), { sack: [[s(3), s(6)]] }));
    expect(conn, t, { seq: s(2), payloadLength: MSS }); // more than 2*MSS SACKed above it: lost
    for (let k = 7; k <= 10; k++) conn.handleSegment(t, ack(s(2), { sack: [[s(3), s(k)]] }));
    expectNothing(conn, t); // nothing else is lost
    assert.equal(conn.info().retransmits, 1);
    conn.handleSegment(t + ms(100), ack(s(10)));
    assert.equal(conn.info().bytesInFlight, 0);
    assert.equal(conn.info().cwndBytes, conn.info().ssthreshBytes);
  });

  test('sack_twoHoles_bothRetransmittedOnce', () => {
    const { conn, at } = sending(10);
    const t = at + ms(100);
    conn.handleSegment(t, ack(s(2)));
    const retransmitted: number[] = [];
    const collect = () => drain(conn, t).forEach((r) => retransmitted.push(r.seq));
    // Segments 2 and 5 lost.
    conn.handleSegment(t, ack(s(2), { sack: [[s(3), s(4)]] }));
    collect();
    conn.handleSegment(t, ack(s(2), { sack: [[s(3), s(5)]] }));
    collect();
    conn.handleSegment(t, ack(s(2), { sack: [[s(6), s(7)], [s(3), s(5)]] }));
    collect();
    assert.deepEqual(retransmitted, [s(2)]); // three SACKed ranges/bytes above segment 2 only
    for (let k = 8; k <= 10; k++) {
      conn.handleSegment(t, ack(s(2), { sack: [[s(6), s(k)], [s(3), s(5)]] }));
      collect();
    }
    assert.deepEqual(retransmitted, [s(2), s(5)]);
    conn.handleSegment(t + ms(100), ack(s(5), { sack: [[s(6), s(10)]] }));
    collect();
    conn.handleSegment(t + ms(100), ack(s(10)));
    collect();
    assert.deepEqual(retransmitted, [s(2), s(5)]);
    assert.equal(conn.info().retransmits, 2);
  });

  test('sack_blockStraddlingSndUnaIsClippedNotDropped', () => {
    // ACKs reordered: the later cumulative ACK (4 segments) arrives first, then an older one whose SACK block
    // starts below the new SND.UNA. Its part above SND.UNA is still news (RFC 2018 5; Linux
    // tcp_is_sackblock_valid accepts it and tcp_sacktag_walk skips what is already acknowledged).
    const { conn, at } = sending(10);
    const t = at + ms(100);
    conn.handleSegment(t, ack(s(4)));
    assert.equal(conn.info().bytesInFlight, 6 * MSS);
    conn.handleSegment(t, ack(s(2), { sack: [[s(3), s(7)]] }));
    assert.equal(conn.info().bytesInFlight, 3 * MSS); // segments 4, 5, 6 SACKed: 7, 8, 9 in flight
  });

  test('sack_newDataSentWhenPipeAllows', () => {
    const { conn, at } = sending(10);
    conn.write(new Uint8Array(10 * MSS));
    const t = at + ms(100);
    // Only segment 0 lost; 1..9 SACKed: pipe drops below cwnd (ssthresh 7300) and new data flows.
    const sent: number[] = [];
    for (let k = 2; k <= 10; k++) {
      conn.handleSegment(t, ack(s(0), { sack: [[s(1), s(k)]] }));
      drain(conn, t).forEach((r) => sent.push(r.seq));
    }
    // Limited transmit while SACKs arrive (pipe shrinks), the lost segment exactly once, then new data.
    assert.equal(sent.filter((q) => q === s(0)).length, 1);
    assert.ok(sent.filter((q) => q !== s(0)).every((q, i) => q === s(10 + i)), `only new data besides: ${sent}`);
    assert.ok(sent.length > 3);
  });
});

describe('NewReno (RFC 6582), peer without SACK', () => {
  test('newReno_partialAck_retransmitsNextHoleImmediately', () => {
    const { conn, at } = sending(10, RENO, NO_SACK_OPTIONS);
    assert.equal(conn.info().sack, false);
    const t = at + ms(100);
    conn.handleSegment(t, ack(s(2)));
    // Segments 2 and 5 lost: dupACKs for 3, 4 then the third (for 6) triggers fast retransmit.
    conn.handleSegment(t, ack(s(2)));
    conn.handleSegment(t, ack(s(2)));
    expectNothing(conn, t);
    conn.handleSegment(t, ack(s(2)));
    expect(conn, t, { seq: s(2), payloadLength: MSS });
    for (let k = 0; k < 4; k++) conn.handleSegment(t, ack(s(2)));
    expectNothing(conn, t);
    // The retransmission fills the first hole: a partial ACK up to segment 5, which is resent at once.
    conn.handleSegment(t + ms(100), ack(s(5)));
    expect(conn, t + ms(100), { seq: s(5), payloadLength: MSS });
    // Timer reset on the first partial ACK; RTO 250 ms after the 100 ms sample at t (RTTVAR 37.5 ms).
    assert.equal(conn.info().rtoMicros, ms(250));
    assert.equal(conn.pollTimeout(), t + ms(100) + ms(250));
    conn.handleSegment(t + ms(200), ack(s(10)));
    assert.equal(conn.info().retransmits, 2);
    assert.equal(conn.info().bytesInFlight, 0);
    assert.equal(conn.pollTimeout(), undefined);
  });

  test('newReno_noSecondFastRetransmitForSameWindow', () => {
    const { conn, at } = sending(4, RENO, NO_SACK_OPTIONS);
    const t = at + ms(300);
    conn.handleTimeout(t); // RTO: recover = everything sent
    expect(conn, t, { seq: s(0) });
    const ssthresh = conn.info().ssthreshBytes;
    for (let k = 0; k < 3; k++) conn.handleSegment(t + ms(1), ack(ISS + 1));
    // DupACKs below "recover" do not start another fast recovery (no second window reduction).
    assert.equal(conn.info().ssthreshBytes, ssthresh);
  });
});

describe('receiver SACK blocks (RFC 2018)', () => {
  const tsOptions = [...PEER_SYN_OPTIONS, { kind: 'timestamps' as const, tsVal: 1, tsEcr: 0 }];
  const data = (from: number, to: number, timestamps: boolean) =>
    seg({
      seq: PEER + from,
      ack: ISS + 1,
      flags: ACK,
      payload: new Uint8Array(to - from),
      options: timestamps ? [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamps', tsVal: 2, tsEcr: 0 }] : [],
    });
  const blocks = (r: { options: readonly TcpOption[] }) => option(r, 'sack')!.blocks.map(([l, r2]) => [l - PEER, r2 - PEER]);

  test('sackBlocks_mostRecentFirst_threeWithTimestamps', () => {
    const { conn, at } = established({}, tsOptions);
    const ranges: Array<[number, number]> = [[1001, 1101], [1201, 1301], [1401, 1501], [1601, 1701]];
    const seen: number[][][] = [];
    for (const [a, b] of ranges) {
      conn.handleSegment(at, data(a, b, true));
      seen.push(blocks(expect(conn, at, { ack: PEER + 1 })));
    }
    assert.deepEqual(seen.at(-1), [[1601, 1701], [1401, 1501], [1201, 1301]]);
    // Joining two blocks: the merged block comes first, then the rest by recency.
    conn.handleSegment(at, data(1301, 1401, true));
    assert.deepEqual(blocks(expect(conn, at)), [[1201, 1501], [1601, 1701], [1001, 1101]]);
  });

  test('sackBlocks_fourWithoutTimestamps_andPrunedBelowRcvNxt', () => {
    const { conn, at } = established();
    for (const [a, b] of [[101, 201], [301, 401], [501, 601], [701, 801], [901, 1001]] as const) {
      conn.handleSegment(at, data(a, b, false));
      drain(conn, at);
    }
    conn.handleSegment(at, data(801, 901, false));
    assert.deepEqual(blocks(expect(conn, at)), [[701, 1001], [501, 601], [301, 401], [101, 201]]);
    conn.handleSegment(at, data(1, 101, false)); // fills the first gap
    assert.deepEqual(blocks(expect(conn, at, { ack: PEER + 201 })), [[701, 1001], [501, 601], [301, 401]]);
  });
});

describe('persist, keepalive, Nagle, delayed ACK', () => {
  test('persist_zeroWindowProbesWithBackoff', () => {
    const { conn, at } = established(RENO);
    conn.handleSegment(at, ack(ISS + 1, { window: 0 }));
    conn.write(new Uint8Array(100));
    expectNothing(conn, at);
    let t = at;
    for (const interval of [300, 600, 1200, 2400]) {
      t += ms(interval);
      assert.equal(conn.pollTimeout(), t);
      conn.handleTimeout(t);
      expect(conn, t, { seq: ISS, ack: PEER + 1, flags: ACK, payloadLength: 0 }); // SND.UNA - 1
      conn.handleSegment(t + ms(100), ack(ISS + 1, { window: 0 })); // answered, still closed
      expectNothing(conn, t + ms(100));
    }
    conn.handleSegment(t + ms(200), ack(ISS + 1, { window: 10 }));
    expect(conn, t + ms(200), { seq: ISS + 1, payloadLength: 100 });
    assert.equal(conn.pollTimeout(), t + ms(200) + ms(300)); // RTO now, persist stopped
  });

  test('persist_windowUpdateAfterReceiverReads', () => {
    // Our receive side: fill our 4 KiB buffer, the window closes; reading reopens it with an ACK.
    const { conn, at } = established({ timestamps: false, receiveBufferBytes: 4096, receiveBufferMaxBytes: 4096 });
    let seq = PEER + 1;
    let lastWindow = -1;
    while (seq < PEER + 1 + 4096) {
      conn.handleSegment(at, seg({ seq, ack: ISS + 1, flags: ACK, payload: new Uint8Array(1024) }));
      seq += 1024;
      for (const r of drain(conn, at)) lastWindow = r.window;
    }
    conn.handleTimeout(at + ms(40));
    for (const r of drain(conn, at + ms(40))) lastWindow = r.window;
    assert.equal(lastWindow, 0);
    while (conn.read() !== undefined);
    const update = expect(conn, at + ms(50), { ack: seq, flags: ACK });
    assert.equal(update.window, 4096 >> conn.info().receiveWindowScale);
  });

  test('keepalive_probesThenTimeout', () => {
    const keepalive = { idleMicros: ms(10_000), intervalMicros: ms(1000), probes: 3 };
    const { conn, at } = established({ timestamps: false, keepalive });
    assert.equal(conn.pollTimeout(), at + ms(10_000));
    let t = at + ms(10_000);
    conn.handleTimeout(t);
    expect(conn, t, { seq: ISS, ack: PEER + 1, flags: ACK });
    // Answered: the idle period restarts from the answer.
    conn.handleSegment(t + ms(5), ack(ISS + 1));
    conn.handleTimeout(t + ms(1000));
    expectNothing(conn, t + ms(1000));
    t = t + ms(5) + ms(10_000);
    assert.equal(conn.pollTimeout(), t);
    for (let k = 0; k < 3; k++) {
      conn.handleTimeout(t);
      expect(conn, t, { seq: ISS });
      t += ms(1000);
      assert.equal(conn.pollTimeout(), t);
    }
    conn.handleTimeout(t);
    assert.equal(conn.state, 'CLOSED');
    const closed = events(conn).at(-1);
    assert.ok(closed?.type === 'closed' && closed.error?.code === 'ETIMEDOUT');
  });

  test('keepalive_unacceptableSegmentsDoNotCountAsAnswers', () => {
    // RFC 9293 3.10.7.4: a segment that fails the sequence check is answered with an ACK and dropped; it
    // tells nothing about the connection being alive (Linux refreshes its receive time only in tcp_ack /
    // tcp_event_data_recv, after tcp_validate_incoming). Out-of-window segments between the probes must
    // not restart the idle period or the probe count.
    const keepalive = { idleMicros: ms(10_000), intervalMicros: ms(1000), probes: 3 };
    const { conn, at } = established({ timestamps: false, keepalive });
    let t = at + ms(10_000);
    for (let k = 0; k < 3; k++) {
      assert.equal(conn.pollTimeout(), t);
      conn.handleTimeout(t);
      expect(conn, t, { seq: ISS });
      const stray = seg({ seq: PEER + 1 + 50_000_000, ack: ISS + 1, flags: ACK, window: 1024, payload: new Uint8Array(10) });
      conn.handleSegment(t + ms(5), stray);
      expect(conn, t + ms(5), { seq: ISS + 1, ack: PEER + 1, flags: ACK }); // "send an acknowledgment and drop"
      t += ms(1000);
    }
    conn.handleTimeout(t);
    assert.equal(conn.state, 'CLOSED');
    const closed = events(conn).at(-1);
    assert.ok(closed?.type === 'closed' && closed.error?.code === 'ETIMEDOUT');
  });

  test('nagle_holdsSecondSmallSegmentUntilAck', () => {
    const { conn, at } = established();
    conn.write(new Uint8Array(100));
    expect(conn, at, { seq: ISS + 1, payloadLength: 100, flags: ACK | PSH });
    conn.write(new Uint8Array(100));
    expectNothing(conn, at + 1);
    conn.handleSegment(at + ms(100), ack(ISS + 101));
    expect(conn, at + ms(100), { seq: ISS + 101, payloadLength: 100 });
  });

  test('nagle_off_withNoDelay', () => {
    const { conn, at } = established({ timestamps: false, noDelay: true });
    conn.write(new Uint8Array(100));
    expect(conn, at, { payloadLength: 100 });
    conn.write(new Uint8Array(100));
    expect(conn, at, { payloadLength: 100 });
  });

  test('nagle_switchedOffAtRuntime_releasesHeldSegment', () => {
    const { conn, at } = established();
    conn.write(new Uint8Array(100));
    expect(conn, at, { seq: ISS + 1, payloadLength: 100, flags: ACK | PSH });
    conn.write(new Uint8Array(100));
    expectNothing(conn, at + 1);
    conn.setNoDelay(true); // like setsockopt(TCP_NODELAY, 1) on a socket with a held small segment
    expect(conn, at + 2, { seq: ISS + 101, payloadLength: 100 });
    conn.setNoDelay(false);
    conn.write(new Uint8Array(100));
    expectNothing(conn, at + 3);
  });

  test('fin_waitsForQueuedData', () => {
    const { conn, at } = established(RENO);
    conn.handleSegment(at, ack(ISS + 1));
    conn.write(new Uint8Array(15 * MSS));
    conn.shutdown();
    const out = drain(conn, at);
    assert.equal(out.length, 10); // IW10
    assert.ok(out.every((r) => (r.flags & FIN) === 0));
    conn.handleSegment(at + ms(100), ack(s(10)));
    const rest = drain(conn, at + ms(100));
    assert.deepEqual(rest.map((r) => r.flags & FIN), [0, 0, 0, 0, FIN]);
    assert.equal(conn.state, 'FIN-WAIT-1');
  });
});

describe('probePath (a path probe for an extension: MPTCP stale subflows)', () => {
  test('probePath_afterRto_resendsHeadOutsideCwnd_noBackoffNoTimeoutCount', () => {
    const { conn, at } = sending(3, RTO_ONLY);
    // RTO at +300 ms: the head goes again, cwnd is one segment, the RTO doubles to 600 ms.
    let t = at + ms(300);
    conn.handleTimeout(t);
    expect(conn, t, { seq: s(0), payloadLength: MSS });
    expectNothing(conn, t);
    assert.equal(conn.rtoMicros, 600_000);
    // A probe 100 ms later: the head again, though the loss window is full; no RTO counted, no backoff,
    // and the retransmission timer keeps its deadline.
    t += ms(100);
    conn.probePath();
    expect(conn, t, { seq: s(0), payloadLength: MSS });
    expectNothing(conn, t);
    assert.equal(conn.timeouts, 1);
    assert.equal(conn.rtoMicros, 600_000);
    assert.equal(conn.baseRtoMicros, 300_000);
    assert.equal(conn.pollTimeout(), at + ms(900));
    assert.equal(conn.unacknowledgedBytes, 3 * MSS);
    // Its ACK moves SND.UNA: the rest of the window goes out in slow start as after any RTO.
    t += ms(100);
    conn.handleSegment(t, ack(s(1)));
    assert.equal(conn.unacknowledgedBytes, 2 * MSS);
    assert.equal(drain(conn, t)[0]?.seq, s(1));
  });

  test('probePath_nothingOutstanding_sendsNothing', () => {
    const { conn, at } = established(RENO);
    conn.handleSegment(at, ack(ISS + 1));
    conn.probePath();
    expectNothing(conn, at);
  });
});
