/**
 * RACK-TLP (RFC 8985), D-SACK (RFC 2883) and undo of spurious reductions, against a hand-driven peer with
 * exact times (STYLE.md 12). The fixture's handshake gives SRTT 100 ms; the first data ACK at +100 ms keeps
 * SRTT at 100 ms (RTTVAR 37.5 ms, RTO 250 ms) and RACK's min RTT at 100 ms (reordering window 25 ms).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TcpConfig } from '../../src/tcp/types.js';
import type { TcpOption } from '../../src/wire/tcp.js';
import { ACK, drain, expect, expectNothing, ms, option, seg } from './helpers.js';
import { ISS, PEER, PEER_SYN_OPTIONS, established } from './fixtures.js';

const SACK_RENO: TcpConfig = Object.freeze({ timestamps: false, congestionControl: 'reno', noDelay: true });
const MSS = 1460;
/** Sequence number of the start of our data segment i (0-based). */
const s = (i: number) => ISS + 1 + i * MSS;
const ack = (n: number, sack?: Array<[number, number]>) =>
  seg({
    seq: PEER + 1,
    ack: n,
    flags: ACK,
    window: 1024,
    options: sack === undefined ? [] : [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'sack', blocks: sack }],
  });

/** Established with a SACK peer, window opened, `segments` full segments sent at `at`. */
function sending(segments: number, config: TcpConfig = SACK_RENO, synAck: readonly TcpOption[] = PEER_SYN_OPTIONS) {
  const { conn, at } = established(config, synAck);
  conn.handleSegment(at, ack(ISS + 1));
  conn.write(new Uint8Array(segments * MSS).fill(7));
  const out = drain(conn, at);
  assert.equal(out.length, segments);
  return { conn, at };
}

describe('RACK (RFC 8985 section 6)', () => {
  test('rack_marksLostOnlyAfterReorderingWindow_exactTimer', () => {
    const { conn, at } = sending(10);
    const t = at + ms(100);
    conn.handleSegment(t, ack(s(1))); // segment 0 delivered: RACK min RTT 100 ms
    conn.handleSegment(t, ack(s(1), [[s(2), s(3)]])); // segment 2 delivered, 1 missing
    expectNothing(conn, t);
    // One segment SACKed, no reordering seen yet: window min_RTT / 4 = 25 ms after 1's expected delivery
    // (sent at `at`, RACK.rtt 100 ms): the reordering timer is due at t + 25 ms, before TLP and RTO.
    assert.equal(conn.pollTimeout(), t + ms(25));
    conn.handleTimeout(t + ms(25) - 1);
    expectNothing(conn, t + ms(25) - 1);
    conn.handleTimeout(t + ms(25));
    expect(conn, t + ms(25), { seq: s(1), payloadLength: MSS });
    assert.equal(conn.info().retransmits, 1);
    assert.equal(conn.info().timeouts, 0);
    assert.equal(conn.info().cwndBytes, conn.info().ssthreshBytes); // fast recovery entered
  });

  test('rack_reorderedSegmentWithinWindow_noRetransmission', () => {
    const { conn, at } = sending(10);
    const t = at + ms(100);
    conn.handleSegment(t, ack(s(1)));
    conn.handleSegment(t, ack(s(1), [[s(2), s(3)]]));
    assert.equal(conn.pollTimeout(), t + ms(25));
    // The late segment arrives within the window: the cumulative ACK covers it, nothing is resent.
    conn.handleSegment(t + ms(20), ack(s(3)));
    expectNothing(conn, t + ms(20));
    conn.handleTimeout(t + ms(25));
    expectNothing(conn, t + ms(25));
    assert.equal(conn.info().retransmits, 0);
    assert.equal(conn.info().ssthreshBytes, Infinity);
  });

  test('rack_dupThreshSackedSegments_lostAtOnce', () => {
    const { conn, at } = sending(10);
    const t = at + ms(100);
    conn.handleSegment(t, ack(s(1)));
    conn.handleSegment(t, ack(s(1), [[s(2), s(3)]]));
    conn.handleSegment(t, ack(s(1), [[s(2), s(4)]]));
    expectNothing(conn, t);
    // The third SACKed segment: before any reordering was seen the window is 0 (DupThresh emulation).
    conn.handleSegment(t, ack(s(1), [[s(2), s(5)]]));
    expect(conn, t, { seq: s(1), payloadLength: MSS });
  });

  test('rack_lostRetransmissionDetectedWithoutRto', () => {
    const { conn, at } = sending(10);
    const t = at + ms(100);
    conn.handleSegment(t, ack(s(1)));
    const sent: Array<[number, number]> = [];
    const collect = (now: number) => drain(conn, now).forEach((r) => sent.push([now, r.seq]));
    for (let k = 3; k <= 5; k++) {
      conn.handleSegment(t, ack(s(1), [[s(2), s(k)]]));
      collect(t);
    }
    assert.deepEqual(sent, [[t, s(1)]]); // the fast retransmission
    conn.write(new Uint8Array(10 * MSS).fill(8)); // more data: sent as SACKs shrink the pipe
    expectNothing(conn, t);
    // The rest of the first flight is SACKed 50 ms later; new segments go out behind the retransmission.
    const t2 = t + ms(50);
    for (let k = 6; k <= 10; k++) {
      conn.handleSegment(t2, ack(s(1), [[s(2), s(k)]]));
      collect(t2);
    }
    const newData = sent.filter(([, q]) => q >= s(10)).map(([, q]) => q);
    assert.ok(newData.length > 0 && newData[0] === s(10), `new data after the retransmission: ${newData}`);
    // The retransmission of 1 was lost; a segment sent after it (10, at t2) is SACKed a round trip later:
    // RACK marks the retransmission lost and resends it, no RTO.
    const t3 = t2 + ms(100);
    sent.length = 0;
    conn.handleSegment(t3, ack(s(1), [[s(2), s(11)]]));
    collect(t3);
    assert.equal(sent[0]?.[1], s(1), `retransmitted again: ${sent.map(([, q]) => q)}`);
    assert.equal(conn.info().timeouts, 0);
    assert.equal(conn.info().retransmits, 2);
  });
});

describe('Tail Loss Probe (RFC 8985 section 7)', () => {
  test('tlp_firesAtPto_retransmitsLastSegment', () => {
    const { conn, at } = sending(3);
    const t = at + ms(100);
    conn.handleSegment(t, ack(s(1))); // segments 1 and 2 stay outstanding; their ACKs are lost
    // PTO = 2 * SRTT = 200 ms (two segments in flight: no delayed-ACK allowance), before the RTO (250 ms).
    assert.equal(conn.pollTimeout(), t + ms(200));
    conn.handleTimeout(t + ms(200));
    expect(conn, t + ms(200), { seq: s(2), payloadLength: MSS }); // no new data: the last segment
    assert.equal(conn.info().lossProbes, 1);
    assert.equal(conn.info().timeouts, 0);
    // The RTO is re-armed from the probe; no second probe while the first is unanswered.
    assert.equal(conn.pollTimeout(), t + ms(200) + ms(250));
    // The probe's ACK reports the tail: RACK repairs segment 1 without an RTO.
    conn.handleSegment(t + ms(300), ack(s(1), [[s(2), s(3)]]));
    expect(conn, t + ms(300), { seq: s(1), payloadLength: MSS });
    assert.equal(conn.info().timeouts, 0);
  });

  test('tlp_sendsNewDataWhenAvailable', () => {
    const { conn, at } = sending(10);
    conn.write(new Uint8Array(MSS).fill(9)); // cwnd-limited: not sent
    expectNothing(conn, at);
    // Handshake sample only: SRTT 100 ms, RTO 300 ms; PTO 200 ms from the last transmission.
    assert.equal(conn.pollTimeout(), at + ms(200));
    conn.handleTimeout(at + ms(200));
    expect(conn, at + ms(200), { seq: s(10), payloadLength: MSS }); // a new segment, regardless of cwnd
    assert.equal(conn.info().retransmits, 0);
    assert.equal(conn.info().lossProbes, 1);
  });

  test('tlp_oneSegmentInFlight_ptoIncludesDelayedAckButCappedByRto', () => {
    const { conn, at } = sending(1);
    // 2 * SRTT + 200 ms = 400 ms > RTO 300 ms: the probe goes out when the RTO would have fired.
    assert.equal(conn.pollTimeout(), at + ms(300));
    conn.handleTimeout(at + ms(300));
    expect(conn, at + ms(300), { seq: s(0), payloadLength: MSS });
    assert.equal(conn.info().lossProbes, 1);
    assert.equal(conn.info().timeouts, 0);
  });
});

describe('D-SACK (RFC 2883)', () => {
  const data = (from: number, to: number) => seg({ seq: PEER + from, ack: ISS + 1, flags: ACK, payload: new Uint8Array(to - from) });
  const blocks = (r: { options: readonly TcpOption[] }) => option(r, 'sack')?.blocks.map(([l, h]) => [l - PEER, h - PEER]);

  test('dsack_duplicateBelowCumulativeAck_reportedOnce', () => {
    const { conn, at } = established();
    conn.handleSegment(at, data(1, 101));
    conn.handleTimeout(at + ms(40));
    assert.equal(blocks(expect(conn, at + ms(40), { ack: PEER + 101 })), undefined);
    conn.handleSegment(at + ms(50), data(1, 101)); // a duplicate: answered at once with a D-SACK
    assert.deepEqual(blocks(expect(conn, at + ms(50), { ack: PEER + 101 })), [[1, 101]]);
    conn.handleSegment(at + ms(60), data(101, 201));
    conn.handleTimeout(at + ms(100));
    assert.equal(blocks(expect(conn, at + ms(100), { ack: PEER + 201 })), undefined); // not repeated
  });

  test('dsack_duplicateAboveCumulativeAck_thenContainingBlock', () => {
    const { conn, at } = established();
    conn.handleSegment(at, data(201, 301));
    assert.deepEqual(blocks(expect(conn, at, { ack: PEER + 1 })), [[201, 301]]);
    conn.handleSegment(at, data(201, 301));
    assert.deepEqual(blocks(expect(conn, at, { ack: PEER + 1 })), [[201, 301], [201, 301]]);
    conn.handleSegment(at, data(401, 501));
    assert.deepEqual(blocks(expect(conn, at, { ack: PEER + 1 })), [[401, 501], [201, 301]]);
  });

  test('dsack_partialOverlap_reportsOnlyTheDuplicatePart', () => {
    const { conn, at } = established();
    conn.handleSegment(at, data(1, 101));
    conn.handleTimeout(at + ms(40));
    drain(conn, at + ms(40));
    conn.handleSegment(at + ms(50), data(51, 151));
    assert.deepEqual(blocks(expect(conn, at + ms(50), { ack: PEER + 151 })), [[51, 101]]);
  });

  test('dsack_notSentWithoutSack', () => {
    const { conn, at } = established({ timestamps: false, sack: false });
    conn.handleSegment(at, data(1, 101));
    conn.handleSegment(at, data(1, 101));
    for (const r of drain(conn, at)) assert.equal(option(r, 'sack'), undefined);
  });
});

describe('undo of spurious reductions (RFC 2883 5, RFC 3522)', () => {
  test('undo_dsackShowsSpuriousRetransmission_restoresCwnd', () => {
    const { conn, at } = sending(10);
    const t = at + ms(100);
    conn.handleSegment(t, ack(s(1)));
    for (let k = 3; k <= 4; k++) conn.handleSegment(t, ack(s(1), [[s(2), s(k)]]));
    const before = conn.info(); // slow start grew the window on these ACKs
    conn.handleSegment(t, ack(s(1), [[s(2), s(5)]]));
    expect(conn, t, { seq: s(1), payloadLength: MSS }); // "lost": retransmitted, window halved
    assert.ok(conn.info().cwndBytes < before.cwndBytes);
    assert.equal(conn.info().ssthreshBytes, Math.floor((9 * MSS) / 2));
    // The original was only delayed: it fills the hole (recovery ends), then the retransmission arrives
    // as a duplicate and the receiver reports it in a D-SACK.
    conn.handleSegment(t + ms(5), ack(s(10)));
    assert.equal(conn.info().undos, 0);
    conn.handleSegment(t + ms(10), ack(s(10), [[s(1), s(2)]]));
    assert.equal(conn.info().undos, 1);
    assert.equal(conn.info().cwndBytes, before.cwndBytes);
    assert.equal(conn.info().ssthreshBytes, Infinity);
  });

  test('undo_dsackOfNetworkDuplicate_doesNotUndo', () => {
    const { conn, at } = sending(10);
    const t = at + ms(100);
    conn.handleSegment(t, ack(s(1)));
    for (let k = 3; k <= 5; k++) conn.handleSegment(t, ack(s(1), [[s(2), s(k)]]));
    expect(conn, t, { seq: s(1) });
    const reduced = conn.info().cwndBytes;
    conn.handleSegment(t + ms(100), ack(s(10)));
    // A D-SACK for segment 0, which was never retransmitted (the network duplicated it): no undo.
    conn.handleSegment(t + ms(110), ack(s(10), [[s(0), s(1)]]));
    assert.equal(conn.info().undos, 0);
    assert.equal(conn.info().cwndBytes, reduced);
  });

  test('undo_eifel_timestampsShowOriginalArrived', () => {
    const config: TcpConfig = { congestionControl: 'reno', noDelay: true };
    const tsOptions: readonly TcpOption[] = [...PEER_SYN_OPTIONS, { kind: 'timestamps', tsVal: 1, tsEcr: 0 }];
    const { conn, at } = established(config, tsOptions);
    const ts = (tsEcr: number): TcpOption[] => [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamps', tsVal: 2, tsEcr }];
    const tsAck = (n: number, tsEcr: number, sack?: Array<[number, number]>) =>
      seg({
        seq: PEER + 1,
        ack: n,
        flags: ACK,
        window: 1024,
        options: sack === undefined ? ts(tsEcr) : [...ts(tsEcr), { kind: 'nop' }, { kind: 'nop' }, { kind: 'sack', blocks: sack }],
      });
    const mss = conn.info().sendMss;
    const q = (i: number) => ISS + 1 + i * mss;
    conn.handleSegment(at, tsAck(ISS + 1, 0));
    conn.write(new Uint8Array(10 * mss));
    assert.equal(drain(conn, at).length, 10);
    const sentTs = at / 1000; // our TSval (milliseconds) on the first flight
    const t = at + ms(100);
    conn.handleSegment(t, tsAck(q(1), sentTs));
    for (let k = 3; k <= 4; k++) conn.handleSegment(t, tsAck(q(1), sentTs, [[q(2), q(k)]]));
    const before = conn.info().cwndBytes;
    conn.handleSegment(t, tsAck(q(1), sentTs, [[q(2), q(5)]]));
    expect(conn, t, { seq: q(1) });
    assert.ok(conn.info().cwndBytes < before);
    // The ACK that fills the hole echoes the original's TSval, older than the retransmission: spurious.
    conn.handleSegment(t + ms(5), tsAck(q(5), sentTs));
    assert.equal(conn.info().undos, 1);
    assert.equal(conn.info().ssthreshBytes, Infinity);
    // Restored, then grown by this same ACK in slow start (ABC: at most 2 * SMSS).
    assert.equal(conn.info().cwndBytes, before + 2 * mss);
  });
});
