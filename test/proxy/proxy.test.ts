/**
 * `mptcp proxy` on the emulator: our client proxy (local node:net listener) -> MPTCP over two emulated paths
 * -> our server proxy -> a local node:net destination. SOCKS 5 and HTTP by hand at the byte level, Node's
 * http through the HTTP proxy, refusals (ruleset, refused destination, limit), half-close, reset, back-pressure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { encodeAuthRequest, encodeConnectRequest, encodeGreeting, SOCKS_REPLY } from '../../src/proxy/socks5.js';
import { emulatedProxyPair, localConnect, localServer, pattern, readAll, within } from './helpers.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A SOCKS 5 CONNECT by hand; resolves with the reply code and the socket. */
async function socksConnect(proxyPort: number, dest: { type: 'ipv4' | 'ipv6' | 'domain'; host: string; port: number }): Promise<{ reply: number; socket: Socket }> {
  const socket = await localConnect(proxyPort);
  socket.write(encodeGreeting(false));
  const [choice] = (await once(socket, 'data')) as [Buffer];
  assert.deepEqual([...choice], [5, 0]);
  socket.write(encodeConnectRequest(dest));
  let reply = Buffer.alloc(0);
  while (reply.length < 10) reply = Buffer.concat([reply, ((await once(socket, 'data')) as [Buffer])[0]]);
  assert.equal(reply[0], 5);
  if (reply.length > 10) socket.unshift(reply.subarray(10));
  return { reply: reply[1]!, socket };
}

test('SOCKS 5 through both proxies: 4 MB each way with half-close, both subflows carry data, statistics count it', async () => {
  // The destination echoes a hash of what it got after our FIN, and sends its own data first.
  const down = pattern(4_000_000, 9);
  const dest = await localServer((s) => {
    const h = createHash('sha256');
    s.on('data', (c: Buffer) => h.update(c));
    s.on('end', () => s.end(h.digest('hex')));
    s.write(down);
  });
  const pair = await emulatedProxyPair();
  try {
    const { reply, socket } = await within(10_000, 'SOCKS connect', socksConnect(pair.ports[0]!, { type: 'ipv4', host: '127.0.0.1', port: dest.port }));
    assert.equal(reply, SOCKS_REPLY.SUCCEEDED);
    const up = pattern(4_000_000, 3);
    const got = readAll(socket);
    socket.end(up);
    const { data, error } = await within(60_000, 'the transfer', got);
    assert.equal(error, undefined);
    assert.equal(data.length, down.length + 64);
    assert.equal(sha(data.subarray(0, down.length)), sha(down));
    assert.equal(data.subarray(down.length).toString(), sha(up), 'the destination saw every byte, then our FIN (half-close carried)');
    await within(5000, 'stats', (async () => { while (pair.client.stats.closed < 1 || pair.server.stats.closed < 1) await new Promise((r) => setTimeout(r, 10)); })());
    assert.equal(pair.client.stats.totals().up, up.length);
    assert.equal(pair.server.stats.totals().down, down.length + 64);
    const subflows = pair.client.stats.subflowTotals();
    assert.equal(subflows.size, 2, [...subflows.keys()].join(', '));
    for (const [k, v] of subflows) assert.ok(v.sent > 0 && v.received > 0, `${k} carried data both ways: ${JSON.stringify(v)}`);
    assert.match(pair.client.stats.format('client'), /connections open 0, closed 1, refused 0/);
  } finally {
    await pair.close();
    dest.server.close();
  }
});

test('refusals: outside --allow gets 0x02, a closed port 0x05, an unknown name 0x04, BIND 0x07; the proxy keeps serving', async () => {
  const dest = await localServer((s) => s.end('hello'));
  const closed = await localServer(() => undefined);
  const closedPort = closed.port;
  closed.server.close();
  const pair = await emulatedProxyPair({ allow: [`127.0.0.1:${dest.port},${closedPort}`], server: { resolver: async (h) => (h === 'here.test' ? [{ address: '127.0.0.1', family: 4 }] : Promise.reject(new Error('ENOTFOUND'))) } });
  try {
    const cases: [string, number][] = [];
    for (const [dst, expect] of [
      [{ type: 'ipv4', host: '127.0.0.2', port: dest.port }, SOCKS_REPLY.NOT_ALLOWED],
      [{ type: 'ipv4', host: '127.0.0.1', port: dest.port + 1 === closedPort ? dest.port + 2 : dest.port + 1 }, SOCKS_REPLY.NOT_ALLOWED],
      [{ type: 'ipv4', host: '127.0.0.1', port: closedPort }, SOCKS_REPLY.CONNECTION_REFUSED],
      [{ type: 'domain', host: 'nowhere.test', port: dest.port }, SOCKS_REPLY.HOST_UNREACHABLE],
      [{ type: 'ipv6', host: '::1', port: dest.port }, SOCKS_REPLY.NOT_ALLOWED],
      [{ type: 'domain', host: 'here.test', port: dest.port }, SOCKS_REPLY.SUCCEEDED],
    ] as const) {
      const { reply, socket } = await within(10_000, `SOCKS ${dst.host}`, socksConnect(pair.ports[0]!, dst));
      cases.push([`${dst.host}:${dst.port}`, reply]);
      assert.equal(reply, expect, `${dst.host}:${dst.port}`);
      const rest = await within(10_000, 'end', readAll(socket));
      if (expect === SOCKS_REPLY.SUCCEEDED) assert.equal(rest.data.toString(), 'hello');
    }
    // BIND: the client proxy itself answers 0x07.
    const s = await localConnect(pair.ports[0]!);
    s.write(Buffer.from([5, 1, 0, 5, 2, 0, 1, 127, 0, 0, 1, 0, 80]));
    const r = await within(5000, 'BIND reply', readAll(s));
    assert.deepEqual([...r.data], [5, 0, 5, 7, 0, 1, 0, 0, 0, 0, 0, 0]);
    assert.equal(pair.server.stats.refused['not-allowed'], 3);
    assert.equal(pair.client.stats.refused['not-allowed'], 3);
    assert.equal(pair.client.stats.refused['bad-request'], 1);
  } finally {
    await pair.close();
    dest.server.close();
  }
});

test('HTTP proxy: Node http GET with an absolute URI, CONNECT, a bad request line gets 400, a refused destination 403', async () => {
  const body = pattern(300_000, 1);
  const origin = http.createServer((req, res) => {
    res.setHeader('x-path', req.url ?? '');
    res.setHeader('x-host', req.headers.host ?? '');
    res.end(body);
  });
  origin.listen(0, '127.0.0.1');
  await once(origin, 'listening');
  const port = (origin.address() as { port: number }).port;
  const pair = await emulatedProxyPair({ allow: [`127.0.0.1:${port}`] });
  try {
    const res = await within(20_000, 'GET', new Promise<http.IncomingMessage>((resolve, reject) => http.get({ host: '127.0.0.1', port: pair.ports[0], path: `http://127.0.0.1:${port}/a?b=c`, agent: false }, resolve).on('error', reject)));
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-path'], '/a?b=c');
    assert.equal(res.headers['x-host'], `127.0.0.1:${port}`);
    const got = await within(20_000, 'body', readAll(res));
    assert.equal(sha(got.data), sha(body));
    // CONNECT, then a plain GET inside the tunnel.
    const s = await localConnect(pair.ports[0]!);
    s.write(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\nGET /t HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    const tunnel = await within(20_000, 'tunnel', readAll(s));
    const text = tunnel.data.toString('latin1');
    assert.ok(text.startsWith('HTTP/1.1 200 Connection Established\r\n\r\nHTTP/1.1 200 OK\r\n'), text.slice(0, 100));
    assert.equal(sha(tunnel.data.subarray(tunnel.data.length - body.length)), sha(body));
    const bad = await localConnect(pair.ports[0]!);
    bad.write('GET /no-proxy-form HTTP/1.1\r\n\r\n');
    assert.match((await within(5000, '400', readAll(bad))).data.toString(), /^HTTP\/1\.1 400 Bad Request\r\n/);
    const denied = await localConnect(pair.ports[0]!);
    denied.write('CONNECT 127.0.0.9:22 HTTP/1.1\r\n\r\n');
    assert.match((await within(10_000, '403', readAll(denied))).data.toString(), /^HTTP\/1\.1 403 Forbidden\r\n/);
  } finally {
    await pair.close();
    origin.close();
  }
});

test('reset carried as reset: the destination resets, the application sees ECONNRESET (MP_FASTCLOSE between the proxies)', async () => {
  const dest = await localServer((s) => {
    s.write('partial');
    setTimeout(() => s.resetAndDestroy(), 50);
  });
  const pair = await emulatedProxyPair();
  const fastclose = () => pair.serverStack.counters().MPFastcloseTx ?? 0;
  try {
    const { reply, socket } = await within(10_000, 'SOCKS', socksConnect(pair.ports[0]!, { type: 'ipv4', host: '127.0.0.1', port: dest.port }));
    assert.equal(reply, 0);
    const r = await within(10_000, 'reset', readAll(socket));
    assert.equal(r.data.toString(), 'partial');
    assert.equal(r.error, 'ECONNRESET');
    assert.ok(fastclose() >= 1, `the server proxy sent MP_FASTCLOSE (${fastclose()})`);
  } finally {
    await pair.close();
    dest.server.close();
  }
});

// TODO while src/mptcp has the bug: about 1 run in 3 the transfer stalls for good after the destination reads
// again. The client's MPTCP send buffer is full of bytes the server has already received and handed on (its
// bytesAcked lags bytesSent by exactly the 4 MiB send buffer, every subflow has 0 bytes in flight, the server
// connection has 0 readable): the receiver moved the data from its subflows to the connection level and the
// application read it, but no ACK carried the new DATA_ACK (a subflow ACK goes out on a read only when the
// subflow's own window doubles, and the subflows were already empty). Reproduced on main at 034b882 too.
test('back-pressure: a destination that does not read stops the application, memory stays bounded; reading again drains it all', { todo: 'stalls about 1 run in 3: the MPTCP receiver sends no DATA_ACK update after the application drains the connection-level buffer (src/mptcp, see the comment above)' }, async () => {
  let arrive!: (s: Socket) => void;
  const arrived = new Promise<Socket>((resolve) => (arrive = resolve));
  const dest = await localServer((s) => {
    s.pause();
    arrive(s);
  });
  const destPort = dest.port;
  const pair = await emulatedProxyPair();
  try {
    const { reply, socket } = await within(10_000, 'SOCKS', socksConnect(pair.ports[0]!, { type: 'ipv4', host: '127.0.0.1', port: destPort }));
    assert.equal(reply, 0);
    const destSocket = await arrived;
    // What may legitimately sit between the writer and the paused reader: on each of the two loopback hops
    // (application -> client proxy, server proxy -> destination) the kernel's largest receive and send
    // buffers, and in our stacks one MPTCP send buffer (4 MiB) and one reassembly buffer (8 MiB), plus the
    // relays' few stream buffers (test/proxy/relay.test.ts bounds those tightly).
    const maxOf = (file: string) => Number(readFileSync(file, 'utf8').trim().split(/\s+/)[2]);
    const bound = 2 * (maxOf('/proc/sys/net/ipv4/tcp_rmem') + maxOf('/proc/sys/net/ipv4/tcp_wmem')) + 13 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 7);
    const maxChunks = Math.ceil((bound + 32 * 1024 * 1024) / chunk.length);
    let written = 0;
    const rss0 = process.memoryUsage().rss;
    for (let i = 0; i < maxChunks; i++) {
      if (socket.writableLength > 4 * 1024 * 1024) {
        // Stalled: no 'drain' within a second means the whole chain is full.
        const drained = await Promise.race([once(socket, 'drain').then(() => true), new Promise((r) => setTimeout(() => r(false), 1000))]);
        if (!drained) break;
      }
      socket.write(chunk);
      written += chunk.length;
    }
    const inFlight = written - socket.writableLength;
    console.log(`back-pressure: offered ${written} bytes, ${inFlight} left the application before it stalled (bound ${bound})`);
    assert.ok(written < maxChunks * chunk.length, 'the writer was stopped');
    assert.ok(inFlight <= bound, `in flight ${inFlight} > ${bound}`);
    assert.ok(process.memoryUsage().rss - rss0 < 200 * 1024 * 1024);
    const h = createHash('sha256');
    let n = 0;
    destSocket.on('data', (c: Buffer) => {
      h.update(c);
      n += c.length;
    });
    destSocket.resume();
    const ended = once(destSocket, 'end');
    socket.end();
    await within(20_000, 'drain to the destination', ended);
    assert.equal(n, written);
  } finally {
    await pair.close();
    dest.server.close();
  }
});

test('bad input on the wire: wrong version, truncated requests, garbage; each closed or answered, the proxy keeps serving', async () => {
  const dest = await localServer((s) => s.end('still here'));
  const pair = await emulatedProxyPair({ server: { handshakeTimeoutMs: 2000 }, client: { handshakeTimeoutMs: 2000 } });
  try {
    const attempts: [string, Buffer, string][] = [
      ['SOCKS 4', Buffer.from([4, 1, 0, 80, 127, 0, 0, 1, 0]), '\x00\x5b\x00\x00\x00\x00\x00\x00'], // SOCKS 4's own rejection
      ['no methods', Buffer.from([5, 0]), ''],
      ['UDP ASSOCIATE', Buffer.from([5, 1, 0, 5, 3, 0, 1, 0, 0, 0, 0, 0, 0]), '0500050700010000000000'.replace(/../g, (h) => String.fromCharCode(parseInt(h, 16)))],
      ['address type 9', Buffer.from([5, 1, 0, 5, 1, 0, 9, 1, 2]), '0500050800010000000000'.replace(/../g, (h) => String.fromCharCode(parseInt(h, 16)))],
      ['HTTP garbage', Buffer.from('\x16\x03\x01 hello\r\n\r\n'), 'HTTP/1.1 400 Bad Request'],
      ['HTTP/2 preface', Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), 'HTTP/1.1 505'],
    ];
    for (const [what, bytes, answer] of attempts) {
      const s = await localConnect(pair.ports[0]!);
      s.end(bytes);
      const r = await within(5000, what, readAll(s));
      assert.ok(r.data.toString('latin1').startsWith(answer) && (answer !== '' || r.data.length === 0), `${what}: ${JSON.stringify(r.data.toString('latin1'))}`);
    }
    // Truncated at every byte: the client closes early; each attempt ends without an answer beyond the method choice.
    const whole = Buffer.concat([Buffer.from([5, 1, 0]), Buffer.from(encodeConnectRequest({ type: 'ipv4', host: '127.0.0.1', port: dest.port }))]);
    for (let n = 1; n < whole.length; n++) {
      const s = await localConnect(pair.ports[0]!);
      s.end(whole.subarray(0, n));
      const r = await within(5000, `truncated at ${n}`, readAll(s));
      assert.ok(r.data.length === 0 || (r.data.length === 2 && r.data[0] === 5), `truncated at ${n}: ${[...r.data]}`);
    }
    // A stalled client is dropped after the handshake timeout.
    const slow = await localConnect(pair.ports[0]!);
    slow.write(Buffer.from([5, 1]));
    const dropped = await within(10_000, 'stalled handshake', readAll(slow));
    assert.equal(dropped.data.length, 0);
    // And after all that, a good request works.
    const { reply, socket } = await within(10_000, 'good request', socksConnect(pair.ports[0]!, { type: 'ipv4', host: '127.0.0.1', port: dest.port }));
    assert.equal(reply, 0);
    assert.equal((await within(10_000, 'data', readAll(socket))).data.toString(), 'still here');
  } finally {
    await pair.close();
    dest.server.close();
  }
});

test('the server down: SOCKS reply 0x05 (its stack answers RST), HTTP 502; a connection limit refuses clearly beyond it', async () => {
  const pair = await emulatedProxyPair({ client: { server: { host: '198.18.1.2', port: 1081 }, connectTimeoutMs: 5000 } });
  try {
    const { reply } = await within(10_000, 'SOCKS to a down server', socksConnect(pair.ports[0]!, { type: 'ipv4', host: '127.0.0.1', port: 80 }));
    assert.equal(reply, SOCKS_REPLY.CONNECTION_REFUSED);
    const s = await localConnect(pair.ports[0]!);
    s.write('CONNECT 127.0.0.1:80 HTTP/1.1\r\n\r\n');
    assert.match((await within(10_000, '502', readAll(s))).data.toString(), /^HTTP\/1\.1 502 Bad Gateway\r\n/);
    assert.equal(pair.client.stats.failed, 2);
  } finally {
    await pair.close();
  }
  // maxConnections 1: a second connection while one is open is refused with 0x01 (and counted).
  const dest = await localServer(() => undefined);
  const limited = await emulatedProxyPair({ server: { maxConnections: 1 } });
  try {
    const first = await within(10_000, 'first', socksConnect(limited.ports[0]!, { type: 'ipv4', host: '127.0.0.1', port: dest.port }));
    assert.equal(first.reply, 0);
    const second = await within(10_000, 'second', socksConnect(limited.ports[0]!, { type: 'ipv4', host: '127.0.0.1', port: dest.port }));
    assert.equal(second.reply, SOCKS_REPLY.GENERAL_FAILURE);
    assert.equal(limited.server.stats.refused.limit, 1);
    first.socket.destroy();
  } finally {
    await limited.close();
    dest.server.close();
  }
});

test('RFC 1929 both ways: the application authenticates to our client, our client to our server; bad credentials are refused', async () => {
  const dest = await localServer((s) => s.end('authenticated'));
  const user = { username: 'u', password: 'p4ss' };
  const pair = await emulatedProxyPair({ server: { credentials: { username: 'proxy', password: 'secret' } }, client: { credentials: user, serverCredentials: { username: 'proxy', password: 'secret' } } });
  const wrong = await emulatedProxyPair({ server: { credentials: { username: 'proxy', password: 'secret' } }, client: { serverCredentials: { username: 'proxy', password: 'nope' } } });
  try {
    const s = await localConnect(pair.ports[0]!);
    s.write(encodeGreeting(true));
    assert.deepEqual([...((await once(s, 'data')) as [Buffer])[0]], [5, 2]);
    s.write(encodeAuthRequest(user));
    assert.deepEqual([...((await once(s, 'data')) as [Buffer])[0]], [1, 0]);
    s.write(encodeConnectRequest({ type: 'ipv4', host: '127.0.0.1', port: dest.port }));
    const all = await within(10_000, 'authenticated relay', readAll(s));
    assert.deepEqual([...all.data.subarray(0, 2)], [5, 0]);
    assert.equal(all.data.subarray(10).toString(), 'authenticated');
    // Without credentials our client refuses the no-auth offer; with wrong ones it answers failure.
    const none = await localConnect(pair.ports[0]!);
    none.write(encodeGreeting(false));
    assert.deepEqual([...(await within(5000, 'no auth', readAll(none))).data], [5, 0xff]);
    const bad = await localConnect(pair.ports[0]!);
    bad.write(encodeGreeting(true));
    await once(bad, 'data');
    bad.write(encodeAuthRequest({ username: 'u', password: 'wrong' }));
    assert.deepEqual([...(await within(5000, 'bad auth', readAll(bad))).data], [1, 1]);
    // Our client with the wrong server password: the application gets a general failure.
    const viaWrong = await within(10_000, 'wrong server password', socksConnect(wrong.ports[0]!, { type: 'ipv4', host: '127.0.0.1', port: dest.port }));
    assert.equal(viaWrong.reply, SOCKS_REPLY.GENERAL_FAILURE);
    assert.equal(wrong.server.stats.refused.auth, 1);
    assert.equal(pair.client.stats.refused.auth, 2);
  } finally {
    await pair.close();
    await wrong.close();
    dest.server.close();
  }
});

test('IPv6 destinations (SOCKS ATYP 4, HTTP CONNECT [::1]:port) and a client on plain TCP (the server falls back)', async (t) => {
  const { createServer } = await import('node:net');
  const v6 = createServer((s) => s.on('error', () => undefined).end('over ipv6'));
  const ok = await new Promise<boolean>((resolve) => {
    v6.once('error', () => resolve(false));
    v6.listen(0, '::1', () => resolve(true));
  });
  if (!ok) {
    t.skip('no IPv6 loopback (::1) on this host');
    return;
  }
  const port = (v6.address() as { port: number }).port;
  const pair = await emulatedProxyPair({ allow: [`[::1]:${port}`] });
  const plain = await emulatedProxyPair({ allow: [`[::1]:${port}`], client: { mptcp: false } });
  try {
    const { reply, socket } = await within(10_000, 'SOCKS IPv6', socksConnect(pair.ports[0]!, { type: 'ipv6', host: '::1', port }));
    assert.equal(reply, 0);
    assert.equal((await within(10_000, 'data', readAll(socket))).data.toString(), 'over ipv6');
    const c = await localConnect(pair.ports[0]!);
    c.write(`CONNECT [::1]:${port} HTTP/1.1\r\n\r\n`);
    assert.equal((await within(10_000, 'CONNECT', readAll(c))).data.toString(), 'HTTP/1.1 200 Connection Established\r\n\r\nover ipv6');
    const viaPlain = await within(10_000, 'plain TCP client', socksConnect(plain.ports[0]!, { type: 'ipv6', host: '::1', port }));
    assert.equal(viaPlain.reply, 0);
    assert.equal((await within(10_000, 'data', readAll(viaPlain.socket))).data.toString(), 'over ipv6');
    viaPlain.socket.end(); // the destination's FIN came through; ours closes the other direction
    await within(5000, 'stats', (async () => { while (plain.server.stats.closed < 1) await new Promise((r) => setTimeout(r, 10)); })());
    assert.equal(plain.server.stats.subflowTotals().size, 0, 'the plain TCP connection has no MPTCP subflows');
  } finally {
    await pair.close();
    await plain.close();
    v6.close();
  }
});
