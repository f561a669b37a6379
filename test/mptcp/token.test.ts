// The token table (src/mptcp/token.ts): lookup by token, uniqueness by drawing again (Linux token.c), and
// the host's MP_JOIN path through it (the join lands on the connection its token names; an unknown token is
// refused with MP_TCPRST).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TOKEN_MAX_RETRIES, TokenTable, drawLocalKey } from '../../src/mptcp/token.js';
import { keyTokenAndIdsn, type RandomBytes } from '../../src/mptcp/keys.js';
import { MptcpConnection } from '../../src/mptcp/connection.js';
import { Host } from '../../src/stack/host.js';
import { parseIpPacket } from '../../src/wire/ip.js';
import { parseTcpSegment, TcpFlags, type TcpSegment } from '../../src/wire/tcp.js';
import { MpTcpRstReason } from '../../src/wire/mptcp-option.js';
import { isWireError } from '../../src/wire/errors.js';

/** A random source that returns the given 8-byte keys in turn (then repeats the last). */
function keys(...hex: string[]): RandomBytes & { calls: number } {
  let i = 0;
  const f = ((length: number) => {
    f.calls++;
    const b = Buffer.from(hex[Math.min(i++, hex.length - 1)]!, 'hex');
    assert.equal(length, b.length);
    return new Uint8Array(b);
  }) as RandomBytes & { calls: number };
  f.calls = 0;
  return f;
}

const A = '0123456789abcdef';
const B = 'fedcba9876543210';
const C = '1111222233334444';

test('add: the key is drawn once when its token is free; get finds the owner by token', () => {
  const table = new TokenTable<string>();
  const random = keys(A);
  const local = table.add(random, 'first');
  assert.equal(random.calls, 1);
  const derived = keyTokenAndIdsn(local.key);
  assert.equal(local.token, derived.token);
  assert.deepEqual(local.idsn, derived.idsn);
  assert.equal(table.get(local.token), 'first');
  assert.equal(table.get((local.token + 1) >>> 0), undefined);
  assert.equal(table.size, 1);
});

test('add: a key whose token collides with a live entry is drawn again (forced collision)', () => {
  const table = new TokenTable<string>();
  const first = table.add(keys(A), 'first');
  const random = keys(A, B); // the same key first: its token is in use
  const second = table.add(random, 'second');
  assert.equal(random.calls, 2, 'drawn twice');
  assert.notEqual(second.token, first.token);
  assert.deepEqual(second, drawLocalKey(keys(B)));
  assert.equal(table.get(first.token), 'first');
  assert.equal(table.get(second.token), 'second');
});

test(`add: gives up (EBUSY) after ${TOKEN_MAX_RETRIES} colliding draws, and enters nothing`, () => {
  const table = new TokenTable<string>();
  table.add(keys(A), 'first');
  const random = keys(A);
  assert.throws(() => table.add(random, 'second'), /EBUSY/);
  assert.equal(random.calls, TOKEN_MAX_RETRIES);
  assert.equal(table.size, 1);
});

test('delete: only the owner frees its token; then the same key is accepted again', () => {
  const table = new TokenTable<string>();
  const first = table.add(keys(A), 'first');
  table.delete(first.token, 'someone else');
  assert.equal(table.get(first.token), 'first');
  table.delete(first.token, 'first');
  assert.equal(table.get(first.token), undefined);
  const again = table.add(keys(A), 'again');
  assert.equal(again.token, first.token);
});

test('MptcpConnection draws its key through the table: a colliding token is replaced before the SYN', () => {
  const tokens = new TokenTable<MptcpConnection>();
  const endpoints = (port: number) => ({ localAddress: new Uint8Array([198, 18, 0, 1]), localPort: port, remoteAddress: new Uint8Array([198, 18, 0, 2]), remotePort: 80 });
  const first = MptcpConnection.connect(0, endpoints(1000), 1, undefined, { randomBytes: keys(A), tokens });
  const second = MptcpConnection.connect(0, endpoints(1001), 2, undefined, { randomBytes: keys(A, C), tokens });
  assert.notEqual(second.localToken, first.localToken);
  assert.equal(second.localToken, drawLocalKey(keys(C)).token);
  assert.equal(tokens.get(first.localToken), first);
  assert.equal(tokens.get(second.localToken), second);
});

/** Two hosts on one link (the client has a second address to join from), stepped by hand. */
function hosts() {
  const a = new Host({ name: 'a', secret: new Uint8Array(32).fill(1) });
  const b = new Host({ name: 'b', secret: new Uint8Array(32).fill(2), verifyChecksums: false });
  a.addInterface('e', ['198.18.0.1/24', '198.18.0.3/24']);
  b.addInterface('e', ['198.18.0.2/24']);
  b.listen(80, { mptcp: true });
  let now = 0;
  /** Packets from a to b pass `mutate` first; returns the RSTs b sent. */
  const step = (mutate?: (bytes: Uint8Array) => void): TcpSegment[] => {
    const rsts: TcpSegment[] = [];
    now += 1000;
    for (let p = a.pollTransmit(now); p; p = a.pollTransmit(now)) {
      mutate?.(p.bytes);
      b.handlePacket(now, 0, p.bytes);
    }
    for (let p = b.pollTransmit(now); p; p = b.pollTransmit(now)) {
      const ip = parseIpPacket(p.bytes);
      if (isWireError(ip)) throw new Error('bad ip');
      const s = parseTcpSegment(ip.payload);
      if (isWireError(s)) throw new Error('bad tcp');
      if (s.flags & TcpFlags.RST) rsts.push(s);
      a.handlePacket(now, 0, p.bytes);
    }
    for (const h of [a, b]) if (h.pollTimeout() !== undefined && h.pollTimeout()! <= now) h.handleTimeout(now);
    while (a.pollEvent());
    while (b.pollEvent());
    return rsts;
  };
  return { a, b, step, now: () => now };
}

/** The offset of the token of an MP_JOIN SYN option in an IPv4 packet, or -1. */
function joinTokenOffset(bytes: Uint8Array): number {
  const ihl = (bytes[0]! & 0x0f) * 4;
  const dataOffset = (bytes[ihl + 12]! >> 4) * 4;
  for (let i = ihl + 20; i < ihl + dataOffset; ) {
    const kind = bytes[i]!;
    if (kind === 0) break;
    if (kind === 1) {
      i++;
      continue;
    }
    const length = bytes[i + 1]!;
    if (kind === 30 && bytes[i + 2]! >> 4 === 1 && length === 12) return i + 4;
    i += Math.max(length, 2);
  }
  return -1;
}

test('the host finds an MP_JOIN SYN\'s connection by its token among several: the join lands on that one only', () => {
  const { a, b, step, now } = hosts();
  const c1 = a.connect(0, '198.18.0.2', 80, { mptcp: true });
  const c2 = a.connect(0, '198.18.0.2', 80, { mptcp: true });
  for (let i = 0; i < 5; i++) step();
  c1.write(new Uint8Array(10));
  c2.write(new Uint8Array(10));
  for (let i = 0; i < 5; i++) step();
  const servers = b.mptcpConnections();
  assert.equal(servers.length, 2);
  const s2 = servers.find((s) => s.mptcpInfo().remoteToken === c2.localToken);
  assert.ok(s2, 'a server connection whose peer is c2');
  assert.equal(s2.localToken, c2.mptcpInfo().remoteToken);
  a.addSubflow(now(), c2, '198.18.0.3');
  for (let i = 0; i < 10; i++) step();
  const s1 = servers.find((s) => s !== s2)!;
  assert.equal(s2.subflows().length, 2, 'the join went to the connection its token names');
  assert.equal(s2.subflows()[1]!.usable, true);
  assert.equal(s1.subflows().length, 1, 'the other connection got nothing');
});

test('an MP_JOIN SYN with a token no connection holds is refused with a RST carrying MP_TCPRST (MPJoinNoTokenFound)', () => {
  const { a, b, step, now } = hosts();
  const c = a.connect(0, '198.18.0.2', 80, { mptcp: true });
  for (let i = 0; i < 5; i++) step();
  c.write(new Uint8Array(10));
  for (let i = 0; i < 5; i++) step();
  a.addSubflow(now(), c, '198.18.0.3');
  let rewritten = 0;
  const rsts = step((bytes) => {
    const at = joinTokenOffset(bytes);
    if (at < 0) return;
    bytes[at] = bytes[at]! ^ 0xff; // another token
    rewritten++;
  });
  assert.equal(rewritten, 1);
  assert.equal(b.mptcpCounters.MPJoinNoTokenFound, 1);
  assert.equal(rsts.length, 1);
  const reason = rsts[0]!.options.flatMap((o) => (o.kind === 'mptcp' && o.option.subtype === 'MP_TCPRST' ? [o.option.reason] : []));
  assert.deepEqual(reason, [MpTcpRstReason.MPTCP_SPECIFIC]);
  assert.equal(b.mptcpConnections()[0]!.subflows().length, 1);
});
