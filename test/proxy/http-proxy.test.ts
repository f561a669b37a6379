// The HTTP proxy request parser (src/proxy/http-proxy.ts): CONNECT, absolute-form rewriting, bad input,
// and random bytes that must never throw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeHttpResponse, MAX_HEAD_BYTES, parseAuthority, parseProxyRequest } from '../../src/proxy/http-proxy.js';

const bytes = (s: string) => Buffer.from(s, 'latin1');

test('CONNECT host:port, IPv6 in brackets, and what follows the head', () => {
  const head = 'CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\nProxy-Authorization: Basic YTpi\r\n\r\n';
  const r = parseProxyRequest(bytes(`${head}\x16\x03\x01`));
  assert.deepEqual(r, { kind: 'ok', value: { kind: 'connect', host: 'example.test', port: 443, proxyAuthorization: 'Basic YTpi' }, consumed: head.length });
  const v6 = parseProxyRequest(bytes('CONNECT [::1]:8080 HTTP/1.0\r\n\r\n'));
  assert.equal(v6.kind === 'ok' && v6.value.kind === 'connect' && `${v6.value.host} ${v6.value.port}`, '::1 8080');
});

test('absolute-form GET becomes origin-form, Host from the URI, hop-by-hop headers dropped', () => {
  const req = 'GET http://127.0.0.1:8080/file?x=1 HTTP/1.1\r\nHost: wrong\r\nUser-Agent: curl/8\r\nProxy-Connection: Keep-Alive\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nAccept: */*\r\n\r\n';
  const r = parseProxyRequest(bytes(req));
  assert.equal(r.kind, 'ok');
  if (r.kind !== 'ok' || r.value.kind !== 'forward') return;
  assert.equal(r.value.host, '127.0.0.1');
  assert.equal(r.value.port, 8080);
  assert.equal(r.consumed, req.length);
  assert.equal(Buffer.from(r.value.head).toString('latin1'), 'GET /file?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/8\r\nAccept: */*\r\nConnection: close\r\n\r\n');
  const bare = parseProxyRequest(bytes('POST http://h.test HTTP/1.1\nContent-Length: 2\n\nhi'));
  assert.equal(bare.kind === 'ok' && bare.value.kind === 'forward' && Buffer.from(bare.value.head).toString('latin1'), 'POST / HTTP/1.1\r\nHost: h.test\r\nContent-Length: 2\r\nConnection: close\r\n\r\n');
  assert.equal(bare.kind === 'ok' && bare.consumed, 'POST http://h.test HTTP/1.1\nContent-Length: 2\n\n'.length);
});

test('bad requests get their status: 400, 431, 505; incomplete until the empty line', () => {
  const status = (s: string | Uint8Array) => {
    const r = parseProxyRequest(typeof s === 'string' ? bytes(s) : s);
    return r.kind === 'error' ? r.status : r.kind;
  };
  assert.equal(status('GET /local HTTP/1.1\r\n\r\n'), 400);
  assert.equal(status('GET https://a.test/ HTTP/1.1\r\n\r\n'), 400);
  assert.equal(status('CONNECT a.test HTTP/1.1\r\n\r\n'), 400);
  assert.equal(status('CONNECT a.test:0 HTTP/1.1\r\n\r\n'), 400);
  assert.equal(status('CONNECT a.test:99999 HTTP/1.1\r\n\r\n'), 400);
  assert.equal(status('GET http://u@a.test/ HTTP/1.1\r\n\r\n'), 400);
  assert.equal(status('GET  http://a.test/ HTTP/1.1\r\n\r\n'), 400);
  assert.equal(status('G(T http://a.test/ HTTP/1.1\r\n\r\n'), 400);
  assert.equal(status('GET http://a.test/ HTTP/1.1\r\nNoColon\r\n\r\n'), 400);
  assert.equal(status('GET http://a.test/ HTTP/1.1\r\nA: b\r\n  folded\r\n\r\n'), 400);
  assert.equal(status('GET http://a.test/ HTTP/2.0\r\n\r\n'), 505);
  assert.equal(status('\x16\x03\x01\x02\x00\r\n\r\n'), 400);
  assert.equal(status(`GET http://a.test/ HTTP/1.1\r\nX: ${'a'.repeat(MAX_HEAD_BYTES)}\r\n\r\n`), 431);
  const whole = 'CONNECT a.test:443 HTTP/1.1\r\nHost: a.test\r\n\r\n';
  for (let n = 0; n < whole.length; n++) assert.equal(status(whole.slice(0, n)), 'incomplete', `prefix ${n}`);
  assert.equal(status(whole), 'ok');
});

test('authority parsing', () => {
  assert.deepEqual(parseAuthority('a.test', 80), { host: 'a.test', port: 80 });
  assert.deepEqual(parseAuthority('[2001:2::1]:81', 80), { host: '2001:2::1', port: 81 });
  assert.equal(parseAuthority('[2001:2::1', 80), undefined);
  assert.equal(parseAuthority('[a.test]:80', 80), undefined);
  assert.equal(parseAuthority('a b:80', 80), undefined);
  assert.equal(parseAuthority('a.test', undefined), undefined);
});

test('responses: a status line, no body, close unless 200', () => {
  assert.equal(Buffer.from(encodeHttpResponse(200)).toString(), 'HTTP/1.1 200 Connection Established\r\n\r\n');
  assert.equal(Buffer.from(encodeHttpResponse(403)).toString(), 'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
});

test('property: random bytes and random request-like text never throw; consumed stays within the input', () => {
  const check = (input: Uint8Array) => {
    const r = parseProxyRequest(input);
    if (r.kind === 'ok') assert.ok(r.consumed > 0 && r.consumed <= input.length);
    if (r.kind === 'error') assert.ok(r.status >= 400 && r.status < 600 && !r.message.includes('\n'));
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), check), { numRuns: 3000 });
  const line = fc.constantFrom('CONNECT ', 'GET ', 'http://', '[', ']', ':', '/', ' HTTP/1.1', '\r\n', '\n', 'Host: x', 'Connection: a,b', '@', '::1', '80', 'a.test');
  fc.assert(fc.property(fc.array(line, { maxLength: 30 }), (parts) => check(bytes(parts.join('')))), { numRuns: 3000 });
});
