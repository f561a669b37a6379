// The token table (src/mptcp/token.ts): lookup by token, uniqueness by drawing again (Linux token.c), and
// the host's MP_JOIN path through it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TOKEN_MAX_RETRIES, TokenTable, drawLocalKey } from '../../src/mptcp/token.js';
import { keyTokenAndIdsn, type RandomBytes } from '../../src/mptcp/keys.js';
import { MptcpConnection } from '../../src/mptcp/connection.js';

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
