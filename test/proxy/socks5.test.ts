// SOCKS 5 codecs (src/proxy/socks5.ts): byte vectors from RFC 1928 / RFC 1929, every truncation, round
// trips, and random bytes that must never throw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  encodeAuthReply,
  encodeAuthRequest,
  encodeConnectRequest,
  encodeGreeting,
  encodeMethodChoice,
  encodeReply,
  parseAuthReply,
  parseAuthRequest,
  parseGreeting,
  parseMethodChoice,
  parseReply,
  parseRequest,
  socksReplyText,
  SOCKS_REPLY,
} from '../../src/proxy/socks5.js';

const b = (...xs: number[]) => Uint8Array.from(xs);

test('greeting: no-auth and username/password offered', () => {
  assert.deepEqual(parseGreeting(b(5, 2, 0, 2)), { kind: 'ok', value: { methods: [0, 2] }, consumed: 4 });
  // What follows the greeting is the next message's.
  assert.deepEqual(parseGreeting(b(5, 1, 0, 5, 1)), { kind: 'ok', value: { methods: [0] }, consumed: 3 });
  assert.deepEqual(parseGreeting(encodeGreeting(true)), { kind: 'ok', value: { methods: [0, 2] }, consumed: 4 });
  assert.deepEqual([...encodeGreeting(false)], [5, 1, 0]);
});

test('greeting: wrong version, no methods, truncated', () => {
  const v4 = parseGreeting(b(4, 1, 0));
  assert.equal(v4.kind, 'error');
  assert.equal(v4.kind === 'error' && v4.reply, undefined, 'a SOCKS 4 client gets no SOCKS 5 reply');
  assert.equal(parseGreeting(b(5, 0)).kind, 'error');
  for (let n = 0; n < 4; n++) assert.equal(parseGreeting(b(5, 2, 0, 2).subarray(0, n)).kind, 'incomplete', `prefix ${n}`);
});

test('request: CONNECT to IPv4, IPv6 and a domain name (RFC 1928 section 4 bytes)', () => {
  assert.deepEqual(parseRequest(b(5, 1, 0, 1, 127, 0, 0, 1, 0x1f, 0x90)), { kind: 'ok', value: { command: 1, destination: { type: 'ipv4', host: '127.0.0.1', port: 8080 } }, consumed: 10 });
  const v6 = b(5, 1, 0, 4, 0x20, 0x01, 0, 2, ...new Array(11).fill(0), 1, 0, 80);
  assert.deepEqual(parseRequest(v6), { kind: 'ok', value: { command: 1, destination: { type: 'ipv6', host: '2001:2::1', port: 80 } }, consumed: 22 });
  const name = Buffer.from('localhost');
  assert.deepEqual(parseRequest(b(5, 1, 0, 3, name.length, ...name, 1, 187, 0xaa)), { kind: 'ok', value: { command: 1, destination: { type: 'domain', host: 'localhost', port: 443 } }, consumed: 7 + name.length });
});

test('request: encodings round-trip, byte for byte', () => {
  assert.deepEqual([...encodeConnectRequest({ type: 'ipv4', host: '198.18.0.2', port: 5201 })], [5, 1, 0, 1, 198, 18, 0, 2, 0x14, 0x51]);
  assert.deepEqual([...encodeConnectRequest({ type: 'domain', host: 'ab', port: 1 })], [5, 1, 0, 3, 2, 0x61, 0x62, 0, 1]);
  for (const d of [
    { type: 'ipv4', host: '10.1.2.3', port: 65535 },
    { type: 'ipv6', host: '::1', port: 22 },
    { type: 'domain', host: 'example.test', port: 80 },
  ] as const) {
    const bytes = encodeConnectRequest(d);
    assert.deepEqual(parseRequest(bytes), { kind: 'ok', value: { command: 1, destination: d }, consumed: bytes.length });
  }
  assert.throws(() => encodeConnectRequest({ type: 'domain', host: 'x'.repeat(256), port: 1 }), RangeError);
});

test('request: unknown command, BIND, UDP ASSOCIATE, unknown address type, wrong version', () => {
  const reply = (bytes: Uint8Array) => {
    const r = parseRequest(bytes);
    assert.equal(r.kind, 'error');
    return r.kind === 'error' ? r.reply : -1;
  };
  assert.equal(reply(b(5, 2, 0, 1, 1, 2, 3, 4, 0, 80)), SOCKS_REPLY.COMMAND_NOT_SUPPORTED);
  assert.equal(reply(b(5, 3, 0, 1, 1, 2, 3, 4, 0, 80)), SOCKS_REPLY.COMMAND_NOT_SUPPORTED);
  assert.equal(reply(b(5, 9, 0, 1, 1, 2, 3, 4, 0, 80)), SOCKS_REPLY.COMMAND_NOT_SUPPORTED);
  assert.equal(reply(b(5, 1, 0, 2, 1, 2, 3, 4, 0, 80)), SOCKS_REPLY.ADDRESS_TYPE_NOT_SUPPORTED);
  assert.equal(reply(b(5, 1, 0, 3, 0, 0, 80)), SOCKS_REPLY.GENERAL_FAILURE);
  assert.equal(reply(b(5, 1, 0, 3, 3, 0x61, 0x20, 0x62, 0, 80)), SOCKS_REPLY.HOST_UNREACHABLE);
  assert.equal(reply(b(4, 1, 0, 1, 1, 2, 3, 4, 0, 80)), undefined);
  assert.equal(socksReplyText(SOCKS_REPLY.NOT_ALLOWED), 'connection not allowed by ruleset');
});

test('request: truncated at every byte is incomplete, never an error or a value', () => {
  const name = Buffer.from('host.example');
  for (const whole of [b(5, 1, 0, 1, 127, 0, 0, 1, 0, 80), encodeConnectRequest({ type: 'ipv6', host: '2001:2::7', port: 9 }), b(5, 1, 0, 3, name.length, ...name, 0, 80)]) {
    for (let n = 0; n < whole.length; n++) assert.equal(parseRequest(whole.subarray(0, n)).kind, 'incomplete', `prefix ${n} of ${whole.length}`);
    assert.equal(parseRequest(whole).kind, 'ok');
  }
});

test('RFC 1929: username/password request and reply', () => {
  const req = encodeAuthRequest({ username: 'alice', password: 'sécret' });
  assert.deepEqual([...req.subarray(0, 8)], [1, 5, 0x61, 0x6c, 0x69, 0x63, 0x65, 7]);
  assert.deepEqual(parseAuthRequest(req), { kind: 'ok', value: { username: 'alice', password: 'sécret' }, consumed: req.length });
  for (let n = 0; n < req.length; n++) assert.equal(parseAuthRequest(req.subarray(0, n)).kind, 'incomplete');
  assert.equal(parseAuthRequest(b(5, 1, 0x61, 1, 0x62)).kind, 'error');
  assert.deepEqual([...encodeAuthReply(true)], [1, 0]);
  assert.deepEqual([...encodeAuthReply(false)], [1, 1]);
  assert.deepEqual(parseAuthReply(b(1, 0)), { kind: 'ok', value: true, consumed: 2 });
  assert.deepEqual(parseAuthReply(b(1, 1)), { kind: 'ok', value: false, consumed: 2 });
  assert.throws(() => encodeAuthRequest({ username: '', password: 'x' }), RangeError);
});

test('server answers: method choice and replies, both ways', () => {
  assert.deepEqual([...encodeMethodChoice(0xff)], [5, 0xff]);
  assert.deepEqual(parseMethodChoice(b(5, 2)), { kind: 'ok', value: 2, consumed: 2 });
  assert.equal(parseMethodChoice(b(5)).kind, 'incomplete');
  assert.equal(parseMethodChoice(b(4)).kind, 'error');
  assert.deepEqual([...encodeReply(SOCKS_REPLY.NOT_ALLOWED)], [5, 2, 0, 1, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...encodeReply(0, { host: '127.0.0.2', port: 1080 })], [5, 0, 0, 1, 127, 0, 0, 2, 4, 56]);
  const r = encodeReply(0, { host: '::1', port: 7 });
  assert.equal(r.length, 22);
  assert.deepEqual(parseReply(r), { kind: 'ok', value: { reply: 0, bound: { type: 'ipv6', host: '::1', port: 7 } }, consumed: 22 });
  for (let n = 0; n < r.length; n++) assert.equal(parseReply(r.subarray(0, n)).kind, 'incomplete');
  assert.equal(parseReply(b(5, 0, 0, 9, 0, 0)).kind, 'error');
});

test('property: the parsers never throw on random bytes, and a value never claims more bytes than given', () => {
  const parsers = [parseGreeting, parseAuthRequest, parseRequest, parseMethodChoice, parseAuthReply, parseReply] as const;
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, fixVersion) => {
      if (fixVersion && bytes.length > 0) bytes[0] = 5;
      for (const parse of parsers) {
        const r = parse(bytes);
        if (r.kind === 'ok') assert.ok(r.consumed > 0 && r.consumed <= bytes.length);
      }
    }),
    { numRuns: 3000 },
  );
});

test('property: a request split anywhere parses the same once whole (incomplete before)', () => {
  const dest = fc.oneof(
    fc.ipV4().map((host) => ({ type: 'ipv4' as const, host })),
    fc.domain().filter((d) => d.length <= 255).map((host) => ({ type: 'domain' as const, host })),
  );
  fc.assert(
    fc.property(dest, fc.integer({ min: 0, max: 65535 }), (d, port) => {
      const bytes = encodeConnectRequest({ ...d, port });
      for (let n = 0; n < bytes.length; n++) assert.equal(parseRequest(bytes.subarray(0, n)).kind, 'incomplete');
      const r = parseRequest(bytes);
      assert.equal(r.kind, 'ok');
      if (r.kind === 'ok') assert.deepEqual(r.value.destination, { ...d, port });
    }),
  );
});
