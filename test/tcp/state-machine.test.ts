/**
 * RFC 9293 state machine, one fixture per state (./fixtures.ts), segments from a hand-driven peer at
 * explicit times. RFC 5961 protections, PAWS and option negotiation are here too.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TcpConnection } from '../../src/tcp/connection.js';
import { A_ENDPOINTS, ACK, FIN, PSH, RST, SYN, drain, events, expect, expectNothing, ms, option, seg } from './helpers.js';
import {
  ISS,
  PEER,
  PEER_SYN_OPTIONS,
  PLAIN,
  closeWait,
  closing,
  established,
  finWait1,
  finWait2,
  lastAck,
  synReceived,
  synSent,
  timeWait,
} from './fixtures.js';

const data = (n: number, fill = 0x61) => new Uint8Array(n).fill(fill);

describe('SYN-SENT', () => {
  test('synSent_synCarriesLinuxOptions', () => {
    const conn = TcpConnection.connect(0, A_ENDPOINTS, ISS);
    const syn = expect(conn, 0, { seq: ISS, ack: 0, flags: SYN, window: 65535 });
    assert.deepEqual(
      syn.options.map((o) => o.kind),
      ['mss', 'sackPermitted', 'timestamps', 'nop', 'windowScale'],
    );
    assert.equal(option(syn, 'mss')!.mss, 1460);
    assert.equal(option(syn, 'windowScale')!.shift, 7); // 6 MiB max buffer >> 7 fits 16 bits
    assert.equal(conn.pollTimeout(), ms(1000)); // RFC 6298 initial RTO
  });

  test('synSent_synAck_established', () => {
    const { conn, at } = established();
    assert.equal(conn.info().srttMicros, ms(100));
    assert.equal(conn.info().rtoMicros, ms(300)); // 100 + 4 * 50
    assert.equal(conn.info().sendWindow, 65535); // the SYN/ACK window is never scaled
    assert.equal(conn.pollTimeout(), undefined);
    expectNothing(conn, at);
  });

  test('synSent_rstWithBadAck', () => {
    const { conn } = synSent();
    conn.handleSegment(ms(5), seg({ seq: PEER, ack: ISS + 7, flags: RST | ACK }));
    assert.equal(conn.state, 'SYN-SENT');
    expectNothing(conn, ms(5));
    conn.handleSegment(ms(6), seg({ seq: PEER, flags: RST })); // no ACK: cannot be believed
    assert.equal(conn.state, 'SYN-SENT');
    expectNothing(conn, ms(6));
  });

  test('synSent_rstWithGoodAck_refused', () => {
    const { conn } = synSent();
    conn.handleSegment(ms(5), seg({ seq: 0, ack: ISS + 1, flags: RST | ACK }));
    assert.equal(conn.state, 'CLOSED');
    const [closed] = events(conn);
    assert.equal(closed?.type, 'closed');
    assert.equal(closed?.type === 'closed' && closed.error?.code, 'ECONNREFUSED');
    expectNothing(conn, ms(5));
    assert.equal(conn.pollTimeout(), undefined);
  });

  test('synSent_badAck_answeredWithRst', () => {
    const { conn } = synSent();
    conn.handleSegment(ms(5), seg({ seq: PEER, ack: ISS + 100, flags: SYN | ACK }));
    expect(conn, ms(5), { seq: ISS + 100, flags: RST });
    assert.equal(conn.state, 'SYN-SENT');
  });

  test('synSent_simultaneousOpen', () => {
    const { conn } = synSent();
    // The peer's SYN crosses ours.
    conn.handleSegment(ms(10), seg({ seq: PEER, flags: SYN, options: PEER_SYN_OPTIONS }));
    assert.equal(conn.state, 'SYN-RECEIVED');
    const synAck = expect(conn, ms(10), { seq: ISS, ack: PEER + 1, flags: SYN | ACK });
    assert.equal(option(synAck, 'windowScale')!.shift, 7);
    // The peer's SYN/ACK (its answer to our SYN) completes the handshake (RFC 9293 figure 8).
    conn.handleSegment(ms(20), seg({ seq: PEER, ack: ISS + 1, flags: SYN | ACK, options: PEER_SYN_OPTIONS }));
    assert.equal(conn.state, 'ESTABLISHED');
    expectNothing(conn, ms(20));
    // A SYN now is a challenge-ACK case (RFC 5961 4.2).
    conn.handleSegment(ms(30), seg({ seq: PEER, ack: ISS + 1, flags: SYN | ACK, options: PEER_SYN_OPTIONS }));
    expect(conn, ms(30), { seq: ISS + 1, ack: PEER + 1, flags: ACK });
    assert.deepEqual(events(conn), [{ type: 'established' }]);
  });

  test('synSent_synRetransmissions_thenTimeout', () => {
    const { conn } = synSent();
    // 1 s initial RTO doubling: SYNs at 1, 3, 7, 15, 31, 63 s; failure at 127 s (Linux tcp_syn_retries 6).
    let t = 0;
    for (const rto of [1, 2, 4, 8, 16, 32]) {
      t += ms(rto * 1000);
      assert.equal(conn.pollTimeout(), t);
      conn.handleTimeout(t);
      expect(conn, t, { seq: ISS, flags: SYN });
    }
    t += ms(64_000);
    assert.equal(conn.pollTimeout(), t);
    conn.handleTimeout(t);
    assert.equal(conn.state, 'CLOSED');
    const [closed] = events(conn);
    assert.ok(closed?.type === 'closed' && closed.error?.code === 'ETIMEDOUT');
  });

  test('synSent_closeJustCloses', () => {
    const { conn } = synSent();
    conn.close();
    assert.equal(conn.state, 'CLOSED');
    expectNothing(conn, 1);
  });

  test('synSent_dataQueuedGoesAfterHandshake', () => {
    const { conn } = synSent();
    assert.equal(conn.write(data(100)), 100);
    expectNothing(conn, ms(1));
    conn.handleSegment(ms(100), seg({ seq: PEER, ack: ISS + 1, flags: SYN | ACK, options: PEER_SYN_OPTIONS }));
    const out = drain(conn, ms(100));
    assert.equal(out.length, 1); // the ACK of the SYN/ACK rides on the data
    assert.equal(out[0]!.payload.length, 100);
    assert.equal(out[0]!.flags, ACK | PSH);
  });
});

describe('SYN-RECEIVED (accept, no LISTEN state)', () => {
  test('synReceived_synAckNegotiatesOnlyOfferedOptions', () => {
    const syn = seg({ seq: PEER, flags: SYN, options: [{ kind: 'mss', mss: 1200 }] });
    const conn = TcpConnection.accept(0, A_ENDPOINTS, ISS, syn);
    const synAck = expect(conn, 0, { seq: ISS, ack: PEER + 1, flags: SYN | ACK });
    assert.deepEqual(synAck.options.map((o) => o.kind), ['mss']);
    assert.equal(conn.info().sendMss, 1200);
    assert.equal(conn.info().timestamps, false);
    assert.equal(conn.info().sack, false);
  });

  test('synReceived_ack_established', () => {
    const { conn } = synReceived();
    conn.handleSegment(ms(30), seg({ seq: PEER + 1, ack: ISS + 1, flags: ACK, window: 1000 }));
    assert.equal(conn.state, 'ESTABLISHED');
    assert.deepEqual(events(conn), [{ type: 'established' }]);
    assert.equal(conn.info().sendWindow, 1000 << 7);
    assert.equal(conn.info().srttMicros, ms(30));
  });

  test('synReceived_ackWithData', () => {
    const { conn } = synReceived();
    conn.handleSegment(ms(30), seg({ seq: PEER + 1, ack: ISS + 1, flags: ACK | PSH, payload: data(10) }));
    assert.equal(conn.state, 'ESTABLISHED');
    assert.equal(conn.readableBytes, 10);
  });

  test('synReceived_retransmittedSyn_resendsSynAck', () => {
    const { conn } = synReceived();
    conn.handleSegment(ms(200), seg({ seq: PEER, flags: SYN, options: PEER_SYN_OPTIONS }));
    expect(conn, ms(200), { seq: ISS, ack: PEER + 1, flags: SYN | ACK });
  });

  test('synReceived_synAckRetransmittedOnRto', () => {
    const { conn } = synReceived();
    assert.equal(conn.pollTimeout(), ms(1000));
    conn.handleTimeout(ms(1000));
    expect(conn, ms(1000), { seq: ISS, flags: SYN | ACK });
    assert.equal(conn.pollTimeout(), ms(3000));
  });

  test('synReceived_badAck_rst', () => {
    const { conn } = synReceived();
    conn.handleSegment(ms(30), seg({ seq: PEER + 1, ack: ISS + 50, flags: ACK }));
    expect(conn, ms(30), { seq: ISS + 50, flags: RST });
    assert.equal(conn.state, 'SYN-RECEIVED');
  });

  test('synReceived_rst_reset', () => {
    const { conn } = synReceived();
    conn.handleSegment(ms(30), seg({ seq: PEER + 1, flags: RST }));
    assert.equal(conn.state, 'CLOSED');
    const [closed] = events(conn);
    assert.ok(closed?.type === 'closed' && closed.error?.code === 'ECONNRESET');
  });
});

describe('ESTABLISHED', () => {
  test('established_dataReceived_delayedAckAt40ms', () => {
    const { conn, at } = established();
    conn.handleSegment(at + ms(1), seg({ seq: PEER + 1, ack: ISS + 1, flags: ACK | PSH, payload: data(100) }));
    expectNothing(conn, at + ms(1));
    assert.equal(conn.pollTimeout(), at + ms(41));
    assert.deepEqual(events(conn), [{ type: 'readable' }]);
    conn.handleTimeout(at + ms(41));
    expect(conn, at + ms(41), { seq: ISS + 1, ack: PEER + 101, flags: ACK, window: 1024 });
    assert.deepEqual([...conn.read()!], [...data(100)]);
  });

  test('established_twoFullSegments_immediateAck', () => {
    const { conn, at } = established();
    conn.handleSegment(at, seg({ seq: PEER + 1, ack: ISS + 1, flags: ACK, payload: data(1460) }));
    expectNothing(conn, at);
    conn.handleSegment(at, seg({ seq: PEER + 1461, ack: ISS + 1, flags: ACK, payload: data(1460) }));
    expect(conn, at, { ack: PEER + 2921, flags: ACK });
    assert.equal(conn.pollTimeout(), undefined);
  });

  test('established_outOfOrder_immediateAckWithSack', () => {
    const { conn, at } = established();
    conn.handleSegment(at, seg({ seq: PEER + 1001, ack: ISS + 1, flags: ACK, payload: data(500) }));
    const r = expect(conn, at, { ack: PEER + 1, flags: ACK });
    assert.deepEqual(option(r, 'sack')!.blocks, [[PEER + 1001, PEER + 1501]]);
    // Gap filled: immediate ACK, no SACK left.
    conn.handleSegment(at, seg({ seq: PEER + 1, ack: ISS + 1, flags: ACK, payload: data(1000) }));
    const r2 = expect(conn, at, { ack: PEER + 1501, flags: ACK });
    assert.equal(option(r2, 'sack'), undefined);
    assert.equal(conn.readableBytes, 1500);
  });

  test('established_finReceived', () => {
    const { conn } = closeWait();
    assert.equal(conn.state, 'CLOSE-WAIT');
    assert.equal(conn.read(), undefined);
  });

  test('established_finAfterData_endOnlyAfterRead', () => {
    const { conn, at } = established();
    conn.handleSegment(at, seg({ seq: PEER + 1, ack: ISS + 1, flags: ACK | FIN, payload: data(10) }));
    expect(conn, at, { ack: PEER + 12, flags: ACK });
    assert.deepEqual(events(conn), [{ type: 'readable' }]);
    conn.read();
    assert.deepEqual(events(conn), [{ type: 'end' }]);
  });

  test('established_rstExactSequence_reset', () => {
    const { conn, at } = established();
    conn.handleSegment(at, seg({ seq: PEER + 1, flags: RST }));
    assert.equal(conn.state, 'CLOSED');
    const [closed] = events(conn);
    assert.ok(closed?.type === 'closed' && closed.error?.code === 'ECONNRESET');
  });

  test('established_rstInWindowNotExact_challengeAck', () => {
    const { conn, at } = established();
    conn.handleSegment(at, seg({ seq: PEER + 1000, flags: RST }));
    assert.equal(conn.state, 'ESTABLISHED');
    expect(conn, at, { seq: ISS + 1, ack: PEER + 1, flags: ACK });
  });

  test('established_rstOutOfWindow_ignored', () => {
    const { conn, at } = established();
    conn.handleSegment(at, seg({ seq: PEER + 10_000_000, flags: RST }));
    conn.handleSegment(at, seg({ seq: PEER - 10, flags: RST }));
    assert.equal(conn.state, 'ESTABLISHED');
    expectNothing(conn, at);
  });

  test('established_syn_challengeAck', () => {
    const { conn, at } = established();
    conn.handleSegment(at, seg({ seq: PEER + 100, flags: SYN }));
    assert.equal(conn.state, 'ESTABLISHED');
    expect(conn, at, { seq: ISS + 1, ack: PEER + 1, flags: ACK });
  });

  test('established_ackOfUnsentData_ackedAndDropped', () => {
    const { conn, at } = established();
    conn.handleSegment(at, seg({ seq: PEER + 1, ack: ISS + 5000, flags: ACK | PSH, payload: data(10) }));
    expect(conn, at, { ack: PEER + 1, flags: ACK });
    assert.equal(conn.readableBytes, 0); // RFC 5961 5: the segment is dropped
  });

  test('established_ackTooOld_challengeAck', () => {
    const { conn, at } = established();
    conn.handleSegment(at, seg({ seq: PEER + 1, ack: ISS - 1_000_000, flags: ACK | PSH, payload: data(10) }));
    expect(conn, at, { ack: PEER + 1, flags: ACK });
    assert.equal(conn.readableBytes, 0);
  });

  test('established_oldDuplicateSegment_dupAck', () => {
    const { conn, at } = established();
    conn.handleSegment(at, seg({ seq: PEER + 1, ack: ISS + 1, flags: ACK, payload: data(10) }));
    conn.handleSegment(at, seg({ seq: PEER - 100, ack: ISS + 1, flags: ACK, payload: data(10) }));
    expect(conn, at, { ack: PEER + 11, flags: ACK });
  });

  test('established_abort', () => {
    const { conn, at } = established();
    conn.abort();
    expect(conn, at, { seq: ISS + 1, ack: PEER + 1, flags: RST | ACK });
    assert.equal(conn.state, 'CLOSED');
    const [closed] = events(conn);
    assert.ok(closed?.type === 'closed' && closed.error?.code === 'ECONNABORTED');
  });

  // RFC 9293 3.10.7.1: CLOSED answers what still reaches it (an MPTCP subflow's 4-tuple outlives its TCB):
  // <SEQ=SEG.ACK><CTL=RST> for an ACK (the peer's RFC 5961 challenge ACK), nothing for a RST.
  test('closed_answersSegmentWithRst', () => {
    const { conn, at } = established();
    conn.abort();
    drain(conn, at);
    events(conn);
    conn.handleSegment(at + 5, seg({ seq: PEER + 1, ack: ISS + 1, flags: ACK }));
    expect(conn, at + 5, { seq: ISS + 1, flags: RST });
    conn.handleSegment(at + 6, seg({ seq: PEER + 1, ack: ISS + 1, flags: RST }));
    expectNothing(conn, at + 6);
    conn.handleSegment(at + 7, seg({ seq: PEER + 1, flags: FIN, payload: data(10) }));
    expect(conn, at + 7, { seq: 0, ack: PEER + 12, flags: RST | ACK });
  });

  test('established_closeWithUnreadData_rst', () => {
    const { conn, at } = established();
    conn.handleSegment(at, seg({ seq: PEER + 1, ack: ISS + 1, flags: ACK, payload: data(10) }));
    events(conn);
    conn.close();
    expect(conn, at, { seq: ISS + 1, flags: RST | ACK });
    assert.equal(conn.state, 'CLOSED');
    assert.deepEqual(events(conn), [{ type: 'closed' }]);
  });

  test('established_dataAfterClose_rst', () => {
    const { conn, at } = established();
    conn.close();
    expect(conn, at, { flags: FIN | ACK });
    conn.handleSegment(at + 1, seg({ seq: PEER + 1, ack: ISS + 1, flags: ACK, payload: data(10) }));
    expect(conn, at + 1, { flags: RST | ACK });
    assert.equal(conn.state, 'CLOSED');
  });
});

describe('closing states', () => {
  test('finWait1_finAcked', () => {
    const { conn } = finWait2();
    assert.equal(conn.state, 'FIN-WAIT-2');
    assert.equal(conn.pollTimeout(), undefined); // half-closed: no orphan timer
  });

  test('finWait1_simultaneousClose', () => {
    const { conn, at } = closing();
    conn.handleSegment(at + ms(50), seg({ seq: PEER + 2, ack: ISS + 2, flags: ACK }));
    assert.equal(conn.state, 'TIME-WAIT');
    assert.equal(conn.pollTimeout(), at + ms(50) + ms(60_000));
  });

  test('finWait1_finAndAckTogether_timeWait', () => {
    const { conn, at } = finWait1();
    conn.handleSegment(at + ms(10), seg({ seq: PEER + 1, ack: ISS + 2, flags: FIN | ACK }));
    assert.equal(conn.state, 'TIME-WAIT');
    expect(conn, at + ms(10), { seq: ISS + 2, ack: PEER + 2, flags: ACK });
    assert.deepEqual(events(conn), [{ type: 'end' }, { type: 'closed' }]);
  });

  test('finWait1_finRetransmittedOnRto', () => {
    // Without SACK there is no tail loss probe before the RTO (RFC 8985 7: TLP needs SACK).
    const { conn, at } = finWait1({ timestamps: false, sack: false });
    assert.equal(conn.pollTimeout(), at + ms(300));
    conn.handleTimeout(at + ms(300));
    expect(conn, at + ms(300), { seq: ISS + 1, flags: FIN | ACK });
    assert.equal(conn.pollTimeout(), at + ms(300) + ms(600));
  });

  test('finWait2_receivesDataThenFin', () => {
    const { conn, at } = finWait2();
    conn.handleSegment(at, seg({ seq: PEER + 1, ack: ISS + 2, flags: ACK, payload: data(5) }));
    assert.equal(conn.readableBytes, 5);
    conn.handleSegment(at, seg({ seq: PEER + 6, ack: ISS + 2, flags: ACK | FIN }));
    assert.equal(conn.state, 'TIME-WAIT');
  });

  test('finWait2_orphanTimeoutAfterClose', () => {
    const { conn, at } = finWait2();
    conn.close();
    assert.equal(conn.pollTimeout(), at + ms(60_000));
    conn.handleTimeout(at + ms(60_000));
    assert.equal(conn.state, 'CLOSED');
  });

  test('timeWait_expires', () => {
    const { conn, at } = timeWait();
    assert.deepEqual(events(conn), [{ type: 'end' }, { type: 'closed' }]);
    assert.equal(conn.pollTimeout(), at + ms(60_000));
    conn.handleTimeout(at + ms(60_000) - 1);
    assert.equal(conn.state, 'TIME-WAIT');
    conn.handleTimeout(at + ms(60_000));
    assert.equal(conn.state, 'CLOSED');
    assert.equal(conn.pollTimeout(), undefined);
    assert.deepEqual(events(conn), []); // 'closed' was reported on entering TIME-WAIT
  });

  test('timeWait_configurable', () => {
    const { conn, at } = timeWait({ timestamps: false, timeWaitMicros: ms(500) });
    assert.equal(conn.pollTimeout(), at + ms(500));
  });

  test('timeWait_retransmittedFin_ackedAndTimerRestarted', () => {
    const { conn, at } = timeWait();
    const t = at + ms(1000);
    conn.handleSegment(t, seg({ seq: PEER + 1, ack: ISS + 2, flags: FIN | ACK }));
    expect(conn, t, { seq: ISS + 2, ack: PEER + 2, flags: ACK });
    assert.equal(conn.pollTimeout(), t + ms(60_000));
  });

  test('closeWait_writeStillWorks_thenShutdown', () => {
    const { conn, at } = closeWait();
    assert.equal(conn.write(data(10)), 10);
    expect(conn, at, { seq: ISS + 1, payloadLength: 10 });
    conn.shutdown();
    assert.equal(conn.state, 'LAST-ACK');
    expect(conn, at, { seq: ISS + 11, flags: FIN | ACK });
  });

  test('lastAck_finAcked_closed', () => {
    const { conn, at } = lastAck();
    conn.handleSegment(at + ms(100), seg({ seq: PEER + 2, ack: ISS + 2, flags: ACK }));
    assert.equal(conn.state, 'CLOSED');
    assert.deepEqual(events(conn), [{ type: 'closed' }]);
    assert.equal(conn.pollTimeout(), undefined);
  });

  test('closing_rst_closedWithoutError', () => {
    const { conn, at } = closing();
    events(conn);
    conn.handleSegment(at, seg({ seq: PEER + 2, flags: RST }));
    assert.equal(conn.state, 'CLOSED');
    assert.deepEqual(events(conn), [{ type: 'closed' }]);
  });

  test('writeAfterShutdown_refused', () => {
    const { conn } = finWait1();
    assert.equal(conn.writableBytes, 0);
    assert.equal(conn.write(data(5)), 0);
  });
});

describe('options', () => {
  test('mss_peerAbsent_536', () => {
    const { conn } = established(PLAIN, []);
    assert.equal(conn.info().sendMss, 536);
    assert.equal(conn.info().sendWindowScale, 0);
    assert.equal(conn.info().receiveWindowScale, 0); // only scaled when both offered it
  });

  test('mss_timestampsReduceEffectiveMss', () => {
    const { conn } = established({}, [...PEER_SYN_OPTIONS, { kind: 'timestamps', tsVal: 1, tsEcr: 0 }]);
    assert.equal(conn.info().sendMss, 1448);
    conn.write(data(5000));
    const out = drain(conn, ms(100));
    assert.deepEqual(out.map((r) => r.payload.length), [1448, 1448, 1448, 656]);
  });

  test('windowScale_arithmetic', () => {
    const { conn, at } = established(PLAIN, [{ kind: 'mss', mss: 1460 }, { kind: 'windowScale', shift: 3 }]);
    conn.handleSegment(at, seg({ seq: PEER + 1, ack: ISS + 1, flags: ACK, window: 1000 }));
    assert.equal(conn.info().sendWindow, 8000);
    // Our side: 128 KiB buffer >> 7.
    conn.handleSegment(at, seg({ seq: PEER + 1, ack: ISS + 1, flags: ACK, payload: data(1) }));
    conn.handleTimeout(at + ms(40));
    // (131072 - 1) >> 7 = 1023 would move the right edge left: rounded up instead (RFC 7323 2.4).
    expect(conn, at + ms(40), { window: 1024 });
  });

  test('windowScale_shiftAbove14_clamped', () => {
    const { conn } = established(PLAIN, [{ kind: 'windowScale', shift: 20 }]);
    assert.equal(conn.info().sendWindowScale, 14);
  });

  test('paws_oldTimestampDropped', () => {
    const ts = (tsVal: number) => [{ kind: 'nop' as const }, { kind: 'nop' as const }, { kind: 'timestamps' as const, tsVal, tsEcr: 0 }];
    const { conn, at } = established({}, [...PEER_SYN_OPTIONS, { kind: 'timestamps', tsVal: 1000, tsEcr: 0 }]);
    conn.handleSegment(at, seg({ seq: PEER + 1, ack: ISS + 1, flags: ACK, payload: data(10), options: ts(1010) }));
    assert.equal(conn.readableBytes, 10);
    // A segment whose TSval went backwards is old: dropped, answered with an ACK (RFC 7323 5.3 R1).
    conn.handleSegment(at, seg({ seq: PEER + 11, ack: ISS + 1, flags: ACK, payload: data(10), options: ts(1005) }));
    assert.equal(conn.readableBytes, 10);
    const r = drain(conn, at).at(-1)!;
    assert.equal(r.ack, PEER + 11);
    assert.equal(option(r, 'timestamps')!.tsEcr, 1010); // TS.Recent
    // RSTs are exempt from PAWS.
    conn.handleSegment(at, seg({ seq: PEER + 11, flags: RST, options: ts(1) }));
    assert.equal(conn.state, 'CLOSED');
  });

  test('timestamps_echoRulesUseLastAckSent', () => {
    const ts = (tsVal: number) => [{ kind: 'nop' as const }, { kind: 'nop' as const }, { kind: 'timestamps' as const, tsVal, tsEcr: 0 }];
    const { conn, at } = established({}, [...PEER_SYN_OPTIONS, { kind: 'timestamps', tsVal: 1000, tsEcr: 0 }]);
    // An out-of-order segment (SEG.SEQ > Last.ACK.sent) must not update TS.Recent (RFC 7323 4.3).
    conn.handleSegment(at, seg({ seq: PEER + 101, ack: ISS + 1, flags: ACK, payload: data(10), options: ts(2000) }));
    const r = expect(conn, at);
    assert.equal(option(r, 'timestamps')!.tsEcr, 1000);
    assert.equal(option(r, 'timestamps')!.tsVal, 100); // our clock: milliseconds
  });
});
