/**
 * Fixtures: a connection already in a given state, built by feeding segments from a hand-driven peer
 * (STYLE.md 12). Our ISS is `ISS`, the peer's is `PEER`; `at` is the time the fixture finishes.
 */
import assert from 'node:assert/strict';
import { TcpConnection } from '../../src/tcp/connection.js';
import type { TcpConfig } from '../../src/tcp/types.js';
import type { TcpOption } from '../../src/wire/tcp.js';
import { A_ENDPOINTS, ACK, FIN, SYN, drain, events, expect, ms, seg } from './helpers.js';

export const ISS = 1000;
export const PEER = 5000;
/** Plain config for state tests: no timestamps (simpler segments), everything else default. */
export const PLAIN: TcpConfig = Object.freeze({ timestamps: false });
/** The peer's SYN options (Linux-like without timestamps). */
export const PEER_SYN_OPTIONS: readonly TcpOption[] = [
  { kind: 'mss', mss: 1460 },
  { kind: 'sackPermitted' },
  { kind: 'nop' },
  { kind: 'windowScale', shift: 7 },
];

/** Fixture result: the connection and the time its last step happened. */
export interface Fixture {
  readonly conn: TcpConnection;
  readonly at: number;
}

/** SYN-SENT: connect() and the SYN went out at 0. */
export function synSent(config: TcpConfig = PLAIN): Fixture {
  const conn = TcpConnection.connect(0, A_ENDPOINTS, ISS, config);
  expect(conn, 0, { seq: ISS, flags: SYN });
  return { conn, at: 0 };
}

/** ESTABLISHED (active open): SYN/ACK at 100 ms (one RTT sample of 100 ms), our ACK sent. */
export function established(config: TcpConfig = PLAIN, synAckOptions: readonly TcpOption[] = PEER_SYN_OPTIONS): Fixture {
  const { conn } = synSent(config);
  const at = ms(100);
  conn.handleSegment(at, seg({ seq: PEER, ack: ISS + 1, flags: SYN | ACK, window: 65535, options: synAckOptions }));
  expect(conn, at, { seq: ISS + 1, ack: PEER + 1, flags: ACK });
  assert.deepEqual(events(conn), [{ type: 'established' }]);
  assert.equal(conn.state, 'ESTABLISHED');
  return { conn, at };
}

/** SYN-RECEIVED (passive): accept() of the peer's SYN at 0, our SYN/ACK sent. */
export function synReceived(config: TcpConfig = PLAIN): Fixture {
  const syn = seg({ seq: PEER, flags: SYN, window: 65535, options: PEER_SYN_OPTIONS });
  const conn = TcpConnection.accept(0, A_ENDPOINTS, ISS, syn, config);
  expect(conn, 0, { seq: ISS, ack: PEER + 1, flags: SYN | ACK });
  return { conn, at: 0 };
}

/** FIN-WAIT-1: established, then shutdown(); our FIN went out. */
export function finWait1(config: TcpConfig = PLAIN): Fixture {
  const { conn, at } = established(config);
  conn.shutdown();
  assert.equal(conn.state, 'FIN-WAIT-1');
  expect(conn, at, { seq: ISS + 1, flags: FIN | ACK });
  return { conn, at };
}

/** FIN-WAIT-2: our FIN acknowledged. */
export function finWait2(config: TcpConfig = PLAIN): Fixture {
  const { conn, at } = finWait1(config);
  const t = at + ms(100);
  conn.handleSegment(t, seg({ seq: PEER + 1, ack: ISS + 2, flags: ACK, window: 1024 }));
  assert.equal(conn.state, 'FIN-WAIT-2');
  assert.deepEqual(drain(conn, t), []);
  return { conn, at: t };
}

/** CLOSE-WAIT: the peer's FIN arrived. */
export function closeWait(config: TcpConfig = PLAIN): Fixture {
  const { conn, at } = established(config);
  const t = at + ms(50);
  conn.handleSegment(t, seg({ seq: PEER + 1, ack: ISS + 1, flags: FIN | ACK, window: 1024 }));
  expect(conn, t, { seq: ISS + 1, ack: PEER + 2, flags: ACK });
  assert.equal(conn.state, 'CLOSE-WAIT');
  assert.deepEqual(events(conn), [{ type: 'end' }]);
  return { conn, at: t };
}

/** LAST-ACK: CLOSE-WAIT, then shutdown(); our FIN went out. */
export function lastAck(config: TcpConfig = PLAIN): Fixture {
  const { conn, at } = closeWait(config);
  conn.shutdown();
  assert.equal(conn.state, 'LAST-ACK');
  expect(conn, at, { seq: ISS + 1, ack: PEER + 2, flags: FIN | ACK });
  return { conn, at };
}

/** CLOSING: FIN-WAIT-1, then the peer's FIN crossed ours (simultaneous close). */
export function closing(config: TcpConfig = PLAIN): Fixture {
  const { conn, at } = finWait1(config);
  const t = at + ms(50);
  conn.handleSegment(t, seg({ seq: PEER + 1, ack: ISS + 1, flags: FIN | ACK, window: 1024 }));
  assert.equal(conn.state, 'CLOSING');
  expect(conn, t, { seq: ISS + 2, ack: PEER + 2, flags: ACK });
  return { conn, at: t };
}

/** TIME-WAIT: FIN-WAIT-2, then the peer's FIN. */
export function timeWait(config: TcpConfig = PLAIN): Fixture {
  const { conn, at } = finWait2(config);
  const t = at + ms(50);
  conn.handleSegment(t, seg({ seq: PEER + 1, ack: ISS + 2, flags: FIN | ACK, window: 1024 }));
  assert.equal(conn.state, 'TIME-WAIT');
  expect(conn, t, { seq: ISS + 2, ack: PEER + 2, flags: ACK });
  return { conn, at: t };
}
