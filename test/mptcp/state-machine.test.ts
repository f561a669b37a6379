// One MptcpConnection driven directly through segments at explicit times, smoltcp style: the test plays the
// peer, a fixture per state, `send(segment)` / `expect(shape)` / `expectNothing()`. Every segment goes through
// the wire codec both ways, so the connection sees what a real peer's bytes would parse to. The peer's key
// is fixed, so its token, IDSN and HMACs are computed here independently of the connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MptcpConnection } from '../../src/mptcp/connection.js';
import type { TcpEndpoints, TcpConnection } from '../../src/tcp/connection.js';
import type { TcpEvent } from '../../src/tcp/types.js';
import { emitTcpSegment, parseTcpSegment, TcpFlags, type TcpOption, type TcpSegment, type TcpSegmentRepr } from '../../src/wire/tcp.js';
import { MpCapableFlag, MpTcpRstReason, mptcpOptionLength, type DssMapping, type MptcpOption } from '../../src/wire/mptcp-option.js';
import { isWireError } from '../../src/wire/errors.js';
import { u64, u64AddNumber, u64Equal, type U64 } from '../../src/wire/u64.js';
import { joinAckHmac, joinSynAckHmac, keyTokenAndIdsn, type RandomBytes } from '../../src/mptcp/keys.js';

const A = new Uint8Array([198, 18, 0, 1]);
const B = new Uint8Array([198, 18, 0, 2]);
const A2 = new Uint8Array([198, 18, 1, 1]);
const PEER_KEY = u64(0x0a0b0c0d, 0x01020304);
const PEER = keyTokenAndIdsn(PEER_KEY);
const PEER_ISN = 5000;
const ISS = 1000;

/** A deterministic random source (an LCG), so the connection's key and nonces are the same every run. */
function seeded(seed: number): RandomBytes {
  let x = seed >>> 0;
  return (n: number) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      out[i] = x >>> 24;
    }
    return out;
  };
}

const mptcp = (s: TcpSegment): MptcpOption[] => s.options.flatMap((o) => (o.kind === 'mptcp' ? [o.option] : []));
const only = <T extends MptcpOption['subtype']>(s: TcpSegment, subtype: T): Extract<MptcpOption, { subtype: T }> => {
  const found = mptcp(s).filter((o) => o.subtype === subtype);
  assert.equal(found.length, 1, `one ${subtype} in [${mptcp(s).map((o) => o.subtype).join(', ')}]`);
  return found[0] as Extract<MptcpOption, { subtype: T }>;
};
const opt = (option: MptcpOption): TcpOption => ({ kind: 'mptcp', option });

/** Encodes and parses a segment (what the other end's stack would see). */
function wire(repr: TcpSegmentRepr, src: Uint8Array, dst: Uint8Array): TcpSegment {
  const buf = new Uint8Array(1600);
  const n = emitTcpSegment(repr, src, dst, buf, 0);
  const parsed = parseTcpSegment(buf.subarray(0, n), { src, dst });
  if (isWireError(parsed)) throw new Error(`bad segment: ${parsed.message}`);
  return parsed;
}

/** The test's side of one subflow: sequence numbers both ways. */
interface PeerSubflow {
  readonly tcp: () => TcpConnection;
  readonly ours: TcpEndpoints; // the connection's view: local = the connection
  seq: number; // the peer's next sequence number
  ack: number; // the next sequence number the peer expects from the connection
}

/** A connection under test and the peer the test plays, at explicit times. */
class Fixture {
  now = 0;
  readonly events: TcpEvent[] = [];
  readonly subflows: PeerSubflow[] = [];

  constructor(
    readonly conn: MptcpConnection,
    ours: TcpEndpoints,
  ) {
    this.subflows.push({ tcp: () => conn.subflow, ours, seq: PEER_ISN, ack: ISS });
  }

  /** The peer sends `repr` (ports, seq and ack filled in from the subflow's state unless given). */
  send(partial: Partial<TcpSegmentRepr> & { flags: number }, on = 0): void {
    const sf = this.subflows[on]!;
    const repr: TcpSegmentRepr = {
      srcPort: sf.ours.remotePort,
      dstPort: sf.ours.localPort,
      seq: sf.seq,
      ack: sf.ack,
      window: 65535,
      options: [],
      payload: new Uint8Array(0),
      ...partial,
    };
    sf.seq = (repr.seq + repr.payload.length + (repr.flags & TcpFlags.SYN ? 1 : 0) + (repr.flags & TcpFlags.FIN ? 1 : 0)) >>> 0;
    this.conn.handleSubflowSegment(this.now, sf.tcp(), wire(repr, sf.ours.remoteAddress, sf.ours.localAddress));
  }

  /** The connection's next segment, with its subflow index; undefined when it has nothing to send now. */
  poll(): { segment: TcpSegment; on: number } | undefined {
    const out = this.conn.pollTransmitFrom(this.now);
    for (let e = this.conn.pollEvent(); e !== undefined; e = this.conn.pollEvent()) this.events.push(e);
    if (out === undefined) return undefined;
    const on = this.subflows.findIndex((s) => s.tcp() === out.subflow.tcp);
    assert.ok(on >= 0, 'a segment of a subflow the test knows');
    const sf = this.subflows[on]!;
    const segment = wire(out.repr, sf.ours.localAddress, sf.ours.remoteAddress);
    const end = (segment.seq + segment.payload.length + (segment.flags & TcpFlags.SYN ? 1 : 0) + (segment.flags & TcpFlags.FIN ? 1 : 0)) >>> 0;
    if (((end - sf.ack) | 0) > 0) sf.ack = end;
    return { segment, on };
  }

  /** The next segment must have `flags` (exactly) and go on subflow `on`; returned for closer checks. */
  expect(flags: number, on = 0): TcpSegment {
    const out = this.poll();
    assert.ok(out !== undefined, `expected a segment with flags 0x${flags.toString(16)}, got nothing`);
    assert.equal(out.segment.flags & ~TcpFlags.PSH, flags, `flags of [${mptcp(out.segment).map((o) => o.subtype).join(', ')}]`);
    assert.equal(out.on, on, 'on the expected subflow');
    return out.segment;
  }

  expectNothing(): void {
    const out = this.poll();
    assert.equal(out, undefined, out ? `unexpected segment flags 0x${out.segment.flags.toString(16)} [${mptcp(out.segment).map((o) => o.subtype).join(', ')}]` : '');
  }

  /** Moves the clock to `micros` and runs the connection's timers if due. */
  at(micros: number): void {
    this.now = micros;
    const t = this.conn.pollTimeout();
    if (t !== undefined && t <= micros) this.conn.handleTimeout(micros);
  }

  /** The peer's DSS: its DATA_ACK of our data offset `acked`, and an optional mapping of its own data. */
  dss(acked: number, mapping?: DssMapping, dataFin = false): TcpOption {
    return opt({ subtype: 'DSS', dataFin, dataAck: u64AddNumber(this.conn.localIdsn, 1 + acked), dataAck64: true, ...(mapping ? { mapping } : {}) });
  }
}

/** A mapping of the peer's data offset `offset` (subflow relative sequence 1 + `subflowOffset`). */
const peerMapping = (offset: number, length: number, subflowOffset = offset): DssMapping => ({
  dsn: u64AddNumber(PEER.idsn, 1 + offset),
  dsn64: true,
  subflowSeq: 1 + subflowOffset,
  dataLength: length,
});

const CLIENT_EP: TcpEndpoints = { localAddress: A, localPort: 40000, remoteAddress: B, remotePort: 80 };
const SERVER_EP: TcpEndpoints = { localAddress: B, localPort: 80, remoteAddress: A, remotePort: 40000 };

// ---- fixtures, one per state ----

/** Client, SYN-SENT: the SYN went out. */
function clientSynSent(): { f: Fixture; syn: TcpSegment } {
  const conn = MptcpConnection.connect(0, CLIENT_EP, ISS, undefined, { randomBytes: seeded(1) });
  const f = new Fixture(conn, CLIENT_EP);
  const syn = f.expect(TcpFlags.SYN);
  return { f, syn };
}

/** Client, MPTCP ESTABLISHED (not fully: no DSS from the server yet): the third ACK went out. */
function clientEstablished(): { f: Fixture; thirdAck: TcpSegment } {
  const { f } = clientSynSent();
  f.at(10_000);
  f.send({ flags: TcpFlags.SYN | TcpFlags.ACK, options: [opt({ subtype: 'MP_CAPABLE', version: 1, flags: MpCapableFlag.H, senderKey: PEER_KEY })] });
  const thirdAck = f.expect(TcpFlags.ACK);
  return { f, thirdAck };
}

/** Client, fully established: the server's DSS arrived. */
function clientFullyEstablished(): Fixture {
  const { f } = clientEstablished();
  f.at(20_000);
  f.send({ flags: TcpFlags.ACK, options: [f.dss(0)] });
  assert.equal(f.conn.mptcpInfo().fullyEstablished, true);
  return f;
}

/** Server, SYN-RECEIVED: a SYN with MP_CAPABLE came, the SYN/ACK went out. */
function serverSynReceived(): { f: Fixture; synAck: TcpSegment } {
  const syn = wire(
    { srcPort: 40000, dstPort: 80, seq: PEER_ISN, ack: 0, flags: TcpFlags.SYN, window: 65535, options: [opt({ subtype: 'MP_CAPABLE', version: 1, flags: MpCapableFlag.H })], payload: new Uint8Array(0) },
    A,
    B,
  );
  const conn = MptcpConnection.accept(0, SERVER_EP, ISS, syn, undefined, { randomBytes: seeded(2) });
  const f = new Fixture(conn, SERVER_EP);
  f.subflows[0]!.seq = PEER_ISN + 1;
  const synAck = f.expect(TcpFlags.SYN | TcpFlags.ACK);
  return { f, synAck };
}

/** Server, fully established: the third ACK with both keys came. */
function serverEstablished(): Fixture {
  const { f } = serverSynReceived();
  f.at(10_000);
  f.send({ flags: TcpFlags.ACK, options: [opt({ subtype: 'MP_CAPABLE', version: 1, flags: MpCapableFlag.H, senderKey: PEER_KEY, receiverKey: f.conn.localKey })] });
  return f;
}

// ---- MP_CAPABLE, both roles ----

test('synSent: the SYN carries MP_CAPABLE v1, flag H, no key (4 bytes)', () => {
  const { f, syn } = clientSynSent();
  const c = only(syn, 'MP_CAPABLE');
  assert.equal(c.version, 1);
  assert.equal(c.flags, MpCapableFlag.H);
  assert.equal(c.senderKey, undefined);
  assert.equal(mptcpOptionLength(c), 4);
  assert.equal(f.conn.mptcpInfo().mode, 'handshake');
  f.expectNothing();
});

test('synSent_synAckWithKey: MPTCP; the third ACK carries both keys (20 bytes); not fully established', () => {
  const { f, thirdAck } = clientEstablished();
  const c = only(thirdAck, 'MP_CAPABLE');
  assert.ok(c.senderKey && u64Equal(c.senderKey, f.conn.localKey), 'our key');
  assert.ok(c.receiverKey && u64Equal(c.receiverKey, PEER_KEY), "the server's key echoed");
  assert.equal(mptcpOptionLength(c), 20);
  const info = f.conn.mptcpInfo();
  assert.equal(info.mode, 'mptcp');
  assert.equal(info.remoteToken, PEER.token);
  assert.equal(info.fullyEstablished, false, 'until a DSS from the server');
  assert.equal(f.conn.state, 'ESTABLISHED');
});

test('synSent_synAckWithoutMptcp: plain TCP; the third ACK carries no MPTCP option', () => {
  const { f } = clientSynSent();
  f.send({ flags: TcpFlags.SYN | TcpFlags.ACK });
  const ack = f.expect(TcpFlags.ACK);
  assert.deepEqual(mptcp(ack), []);
  assert.equal(f.conn.fallback, true);
  assert.equal(f.conn.counters.MPCapableFallbackSYNACK, 1);
});

test('listen_syn: the SYN/ACK carries MP_CAPABLE with our key (12 bytes)', () => {
  const { f, synAck } = serverSynReceived();
  const c = only(synAck, 'MP_CAPABLE');
  assert.ok(c.senderKey && u64Equal(c.senderKey, f.conn.localKey));
  assert.equal(c.receiverKey, undefined);
  assert.equal(mptcpOptionLength(c), 12);
  assert.equal(f.conn.counters.MPCapableSYNRX, 1);
});

test('synReceived_thirdAckWithBothKeys: fully established MPTCP, nothing to send', () => {
  const f = serverEstablished();
  const info = f.conn.mptcpInfo();
  assert.equal(info.mode, 'mptcp');
  assert.equal(info.fullyEstablished, true);
  assert.equal(info.remoteToken, PEER.token);
  f.expectNothing();
});

test('synReceived_thirdAckWithoutKeys: falls back to TCP (MPCapableFallbackACK)', () => {
  const { f } = serverSynReceived();
  f.send({ flags: TcpFlags.ACK });
  assert.equal(f.conn.fallback, true);
  assert.equal(f.conn.counters.MPCapableFallbackACK, 1);
});

// ---- data, DSS mapping, DATA_ACK ----

test('established_write: the first data carries MP_CAPABLE with the data-level length; after the DSS, a DSS mapping', () => {
  const { f } = clientEstablished();
  f.conn.write(new Uint8Array(100).fill(1));
  const first = f.expect(TcpFlags.ACK);
  assert.equal(first.payload.length, 100);
  const c = only(first, 'MP_CAPABLE');
  assert.equal(c.dataLength, 100);
  assert.equal(mptcpOptionLength(c), 22);
  f.at(20_000);
  f.send({ flags: TcpFlags.ACK, options: [f.dss(100)] });
  assert.equal(f.conn.mptcpInfo().fullyEstablished, true);
  assert.equal(f.conn.bytesAcknowledged, 100);
  f.conn.write(new Uint8Array(50).fill(2));
  const next = f.expect(TcpFlags.ACK);
  const dss = only(next, 'DSS');
  assert.ok(dss.mapping);
  assert.ok(u64Equal(dss.mapping.dsn, u64AddNumber(f.conn.localIdsn, 101)), 'DSN = IDSN + 1 + 100');
  assert.equal(dss.mapping.subflowSeq, 101);
  assert.equal(dss.mapping.dataLength, 50);
  assert.ok(dss.dataAck && u64Equal(dss.dataAck, u64AddNumber(PEER.idsn, 1)), 'DATA_ACK of nothing received yet');
});

test('established_dataAckBeyondSent: ignored (no bytes acknowledged that were never sent)', () => {
  const f = clientFullyEstablished();
  f.conn.write(new Uint8Array(10));
  f.expect(TcpFlags.ACK);
  f.send({ flags: TcpFlags.ACK, options: [f.dss(5000)] });
  assert.equal(f.conn.bytesAcknowledged, 0);
  f.send({ flags: TcpFlags.ACK, options: [f.dss(10)] });
  assert.equal(f.conn.bytesAcknowledged, 10);
});

test('established_dataWithDss: read in order, DATA_ACK advanced on the next ACK', () => {
  const f = serverEstablished();
  const data = Uint8Array.from({ length: 10 }, (_, i) => i + 1);
  f.send({ flags: TcpFlags.ACK | TcpFlags.PSH, payload: data, options: [f.dss(0, peerMapping(0, 10))] });
  assert.deepEqual(f.conn.read(), data);
  f.at(500_000); // past any delayed-ACK timer
  const ack = f.expect(TcpFlags.ACK);
  const dss = only(ack, 'DSS');
  assert.ok(dss.dataAck && u64Equal(dss.dataAck, u64AddNumber(PEER.idsn, 11)), 'DATA_ACK = peer IDSN + 1 + 10');
  assert.equal(dss.mapping, undefined);
});

test('established_dataOutOfOrderMappings: a later mapping first, then the hole: the stream in order', () => {
  const f = serverEstablished();
  const data = Uint8Array.from({ length: 20 }, (_, i) => 100 + i);
  const sf = f.subflows[0]!;
  const start = sf.seq;
  // Bytes 10..19 first (a TCP out-of-order segment), then 0..9.
  f.send({ flags: TcpFlags.ACK, seq: start + 10, payload: data.subarray(10), options: [f.dss(0, peerMapping(10, 10))] });
  assert.equal(f.conn.readableBytes, 0);
  f.send({ flags: TcpFlags.ACK, seq: start, payload: data.subarray(0, 10), options: [f.dss(0, peerMapping(0, 10))] });
  const got: number[] = [];
  for (let b = f.conn.read(); b; b = f.conn.read()) got.push(...b);
  assert.deepEqual(got, [...data]);
});

// ---- DATA_FIN ----

test('established_shutdown: DATA_FIN on a pure ACK (subflow sequence 0, length 1), then both ends close', () => {
  const f = clientFullyEstablished();
  f.conn.write(new Uint8Array(30));
  f.expect(TcpFlags.ACK);
  f.conn.shutdown();
  const fin = f.expect(TcpFlags.ACK);
  const dss = only(fin, 'DSS');
  assert.equal(dss.dataFin, true);
  assert.ok(dss.mapping);
  assert.equal(dss.mapping.subflowSeq, 0);
  assert.equal(dss.mapping.dataLength, 1);
  assert.ok(u64Equal(dss.mapping.dsn, u64AddNumber(f.conn.localIdsn, 31)), 'the DATA_FIN is after the 30 bytes');
  assert.equal(f.conn.counters.DataFinTx, 1);
  assert.equal(f.conn.state, 'FIN-WAIT-1');
  // The peer acknowledges data and DATA_FIN (DATA_ACK = 31 offsets), then sends its own DATA_FIN.
  f.send({ flags: TcpFlags.ACK, options: [f.dss(31)] });
  assert.equal(f.conn.state, 'FIN-WAIT-2');
  f.send({ flags: TcpFlags.ACK, options: [f.dss(31, { dsn: u64AddNumber(PEER.idsn, 1), dsn64: true, subflowSeq: 0, dataLength: 1 }, true)] });
  assert.equal(f.conn.counters.DataFinRx, 1);
  // Our DATA_ACK covers the peer's DATA_FIN, and with both DATA_FINs done the subflow FIN follows.
  const out: TcpSegment[] = [];
  for (let p = f.poll(); p; p = f.poll()) out.push(p.segment);
  const dataAcks = out.flatMap((s) => mptcp(s).filter((o) => o.subtype === 'DSS')).map((o) => (o as Extract<MptcpOption, { subtype: 'DSS' }>).dataAck);
  assert.ok(dataAcks.some((a) => a && u64Equal(a, u64AddNumber(PEER.idsn, 2))), 'DATA_ACK = peer IDSN + 2');
  assert.ok(out.some((s) => s.flags & TcpFlags.FIN), 'the subflow FIN once both DATA_FINs are done');
  assert.ok(f.events.some((e) => e.type === 'end'));
  assert.ok(f.events.some((e) => e.type === 'closed' && e.error === undefined), 'a clean close');
});

test('established_dataFinNotAcked: repeated when its timer expires, backed off', () => {
  const f = clientFullyEstablished();
  f.conn.shutdown();
  const first = f.expect(TcpFlags.ACK);
  assert.equal(only(first, 'DSS').dataFin, true);
  f.expectNothing();
  const deadline = f.conn.pollTimeout()!;
  assert.ok(deadline > f.now, 'a DATA_FIN timer is armed');
  f.at(deadline);
  assert.equal(only(f.expect(TcpFlags.ACK), 'DSS').dataFin, true, 'the DATA_FIN again');
  assert.equal(f.conn.counters.DataFinTx, 2);
});

// ---- MP_FASTCLOSE ----

test('established_fastcloseWithOurKey: every subflow reset, closed with ECONNRESET', () => {
  const f = clientFullyEstablished();
  f.send({ flags: TcpFlags.ACK, options: [opt({ subtype: 'MP_FASTCLOSE', receiverKey: f.conn.localKey })] });
  f.expect(TcpFlags.RST | TcpFlags.ACK);
  assert.equal(f.conn.counters.MPFastcloseRx, 1);
  f.expectNothing();
  const closed = f.events.find((e) => e.type === 'closed');
  assert.ok(closed && closed.type === 'closed' && closed.error?.code === 'ECONNRESET', JSON.stringify(f.events));
});

test('established_fastcloseWithAnotherKey: ignored', () => {
  const f = clientFullyEstablished();
  f.send({ flags: TcpFlags.ACK, options: [opt({ subtype: 'MP_FASTCLOSE', receiverKey: u64(1, 2) })] });
  f.expectNothing();
  assert.equal(f.conn.counters.MPFastcloseRx, 0);
  assert.equal(f.conn.state, 'ESTABLISHED');
});

test('established_fastClose: RST with MP_FASTCLOSE (the peer key) and MP_TCPRST; closed with ECONNABORTED', () => {
  const f = clientFullyEstablished();
  f.conn.fastClose();
  const rst = f.expect(TcpFlags.RST | TcpFlags.ACK);
  assert.ok(u64Equal(only(rst, 'MP_FASTCLOSE').receiverKey, PEER_KEY));
  assert.equal(only(rst, 'MP_TCPRST').reason, MpTcpRstReason.MPTCP_SPECIFIC);
  assert.equal(f.conn.counters.MPFastcloseTx, 1);
  f.expectNothing();
  assert.ok(f.events.some((e) => e.type === 'closed' && e.error?.code === 'ECONNABORTED'));
});

// ---- fallback ----

test('established_dataWithoutDss: single subflow falls back to TCP, no byte lost (DssFallback)', () => {
  const f = serverEstablished();
  const data = Uint8Array.from({ length: 12 }, (_, i) => 200 + i);
  f.send({ flags: TcpFlags.ACK | TcpFlags.PSH, payload: data });
  assert.equal(f.conn.fallback, true);
  assert.equal(f.conn.counters.DssFallback, 1);
  assert.equal(f.conn.mptcpInfo().mode, 'fallback');
  const got: number[] = [];
  for (let b = f.conn.read(); b; b = f.conn.read()) got.push(...b);
  assert.deepEqual(got, [...data]);
  // Plain TCP from now on: our segments carry no DSS.
  f.conn.write(new Uint8Array(5));
  const seg = f.expect(TcpFlags.ACK);
  assert.deepEqual(mptcp(seg), []);
});

// ---- MP_JOIN ----

/** A joined subflow's SYN went out from A2; returns its nonce. */
function joinSynSent(f: Fixture): { nonce: number } {
  const ours: TcpEndpoints = { localAddress: A2, localPort: 40001, remoteAddress: B, remotePort: 80 };
  const tcp = f.conn.joinSubflow(f.now, ours, 3000, undefined, { addressId: 1 });
  f.subflows.push({ tcp: () => tcp, ours, seq: 9000, ack: 3000 });
  const syn = f.expect(TcpFlags.SYN, 1);
  const join = only(syn, 'MP_JOIN');
  assert.ok(join.form === 'syn');
  assert.equal(join.token, PEER.token, "the server's token");
  assert.equal(join.addressId, 1);
  return { nonce: join.nonce };
}

test('joinSynSent_synAckWithValidHmac: the third ACK carries the 160-bit HMAC of both keys and nonces', () => {
  const f = clientFullyEstablished();
  const { nonce } = joinSynSent(f);
  const peerNonce = 0x11223344;
  const hmac = joinSynAckHmac(PEER_KEY, f.conn.localKey, peerNonce, nonce);
  f.send({ flags: TcpFlags.SYN | TcpFlags.ACK, options: [opt({ subtype: 'MP_JOIN', form: 'synack', backup: false, addressId: 0, hmac, nonce: peerNonce })] }, 1);
  const ack = f.expect(TcpFlags.ACK, 1);
  const join = only(ack, 'MP_JOIN');
  assert.ok(join.form === 'ack');
  assert.deepEqual(join.hmac, joinAckHmac(f.conn.localKey, PEER_KEY, nonce, peerNonce));
  assert.equal(f.conn.counters.MPJoinSynAckRx, 1);
});

test('joinSynSent_synAckWithBadHmac: the subflow is reset with MP_TCPRST (MPTCP-specific); the connection lives on', () => {
  const f = clientFullyEstablished();
  joinSynSent(f);
  const bad = new Uint8Array(8).fill(0x5a);
  f.send({ flags: TcpFlags.SYN | TcpFlags.ACK, options: [opt({ subtype: 'MP_JOIN', form: 'synack', backup: false, addressId: 0, hmac: bad, nonce: 1 })] }, 1);
  const rst = f.expect(TcpFlags.RST | TcpFlags.ACK, 1);
  assert.equal(only(rst, 'MP_TCPRST').reason, MpTcpRstReason.MPTCP_SPECIFIC);
  assert.equal(f.conn.counters.MPJoinSynAckHMacFailure, 1);
  assert.equal(f.conn.counters.MPJoinSynAckRx, 0);
  f.expectNothing();
  assert.equal(f.conn.state, 'ESTABLISHED', 'the initial subflow is not affected');
  assert.equal(f.conn.mptcpInfo().mode, 'mptcp');
});

// ---- MP_FAIL ----

/** Client with a joined subflow that may carry data (the fourth ACK came): no infinite fallback any more. */
function clientWithJoin(): Fixture {
  const f = clientFullyEstablished();
  const { nonce } = joinSynSent(f);
  const peerNonce = 0x55667788;
  const hmac = joinSynAckHmac(PEER_KEY, f.conn.localKey, peerNonce, nonce);
  f.send({ flags: TcpFlags.SYN | TcpFlags.ACK, options: [opt({ subtype: 'MP_JOIN', form: 'synack', backup: false, addressId: 0, hmac, nonce: peerNonce })] }, 1);
  f.expect(TcpFlags.ACK, 1); // the third ACK with HMAC-A
  f.send({ flags: TcpFlags.ACK, options: [f.dss(0)] }, 1); // the fourth ACK
  assert.equal(f.conn.subflows()[1]!.usable, true);
  return f;
}

test('established_mpFailOnSingleSubflow: MP_FAIL answered, the next data carries the infinite mapping, then TCP', () => {
  const f = clientFullyEstablished();
  f.send({ flags: TcpFlags.ACK, options: [opt({ subtype: 'MP_FAIL', dsn: u64AddNumber(f.conn.localIdsn, 1) })] });
  assert.equal(f.conn.counters.MPFailRx, 1);
  assert.ok(mptcp(f.expect(TcpFlags.ACK)).some((o) => o.subtype === 'MP_FAIL'), 'our MP_FAIL answer');
  f.conn.write(new Uint8Array(10));
  const data = f.expect(TcpFlags.ACK);
  assert.equal(only(data, 'DSS').mapping?.dataLength, 0, 'the infinite mapping');
  assert.equal(f.conn.fallback, true);
});

test('withJoin_mpFailWithoutRst: no infinite fallback once a second subflow joined (Linux allow_infinite_fallback)', () => {
  const f = clientWithJoin();
  f.send({ flags: TcpFlags.ACK, options: [opt({ subtype: 'MP_FAIL', dsn: u64AddNumber(f.conn.localIdsn, 1) })] });
  assert.equal(f.conn.counters.MPFailRx, 1);
  f.conn.write(new Uint8Array(10));
  const out: TcpSegment[] = [];
  for (let p = f.poll(); p; p = f.poll()) out.push(p.segment);
  assert.ok(!out.some((s) => mptcp(s).some((o) => o.subtype === 'MP_FAIL')), 'no MP_FAIL answer');
  const mappings = out.flatMap((s) => mptcp(s)).flatMap((o) => (o.subtype === 'DSS' && o.mapping ? [o.mapping.dataLength] : []));
  assert.ok(mappings.length > 0 && !mappings.includes(0), `no infinite mapping: ${mappings.join(',')}`);
  assert.equal(f.conn.fallback, false);
  assert.equal(f.conn.counters.MPFailTx, 0);
  assert.equal(f.conn.counters.InfiniteMapTx, 0);
});

test('withJoin_dataWithoutDss: with several subflows the subflow is reset (MP_TCPRST), the connection stays MPTCP', () => {
  const f = clientWithJoin();
  f.send({ flags: TcpFlags.ACK | TcpFlags.PSH, payload: new Uint8Array(20).fill(9) }, 1);
  assert.equal(f.conn.counters.DssFallback, 1);
  const rst = f.expect(TcpFlags.RST | TcpFlags.ACK, 1);
  assert.equal(only(rst, 'MP_TCPRST').reason, MpTcpRstReason.MPTCP_SPECIFIC);
  assert.equal(f.conn.fallback, false);
  assert.equal(f.conn.mptcpInfo().mode, 'mptcp');
  assert.equal(f.conn.readableBytes, 0, 'the unmapped bytes are not delivered');
});
