/** Our client against our server, both in this process, over node:net on loopback. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { runPerfClient } from '../../src/perf/client.js';
import { startPerfServer, type PerfServer } from '../../src/perf/server.js';
import { nodeNetTransport } from '../../src/perf/transport.js';
import { PerfError, makeCookie } from '../../src/perf/iperf3-protocol.js';
import type { PerfTestResult } from '../../src/perf/report.js';
import { captureIo, haveIpv6Loopback } from './helpers.js';

const T = { timeout: 30_000 };

async function withServer<R>(fn: (server: PerfServer, io: ReturnType<typeof captureIo>) => Promise<R>, host = '127.0.0.1'): Promise<R> {
  const io = captureIo();
  const server = await startPerfServer({ port: 0, bind: host, io }, nodeNetTransport);
  try {
    return await fn(server, io);
  } finally {
    await server.close();
  }
}

/** The server's result of the last test (it is recorded just after the client is done). */
async function lastServerResult(server: PerfServer, count: number): Promise<PerfTestResult> {
  for (let i = 0; i < 200 && server.results.length < count; i++) await new Promise((r) => setTimeout(r, 10));
  const r = server.results[count - 1];
  assert.ok(r, 'server recorded the test');
  return r;
}

/** Both sides agree on every stream's sender and receiver byte counts. */
function assertSameCounts(client: PerfTestResult, server: PerfTestResult): void {
  assert.ok(client.complete && server.complete);
  assert.equal(client.cookie, server.cookie);
  assert.deepEqual(
    client.streams.map((s) => [s.id, s.sender?.bytes, s.receiver?.bytes]),
    server.streams.map((s) => [s.id, s.sender?.bytes, s.receiver?.bytes]),
  );
  assert.equal(client.sumSent.bytes, server.sumSent.bytes);
  assert.equal(client.sumReceived.bytes, server.sumReceived.bytes);
}

test('client -> server, -n 10M: exactly 10 MiB sent, both sides report the same counts', T, async () => {
  await withServer(async (server, serverIo) => {
    const io = captureIo();
    const r = await runPerfClient({ host: '127.0.0.1', port: server.port, bytes: 10 * 1024 * 1024, io }, nodeNetTransport);
    assert.equal(r.sumSent.bytes, 10 * 1024 * 1024);
    assert.ok(r.sumReceived.bytes <= r.sumSent.bytes && r.sumReceived.bytes > 0);
    assert.deepEqual(r.streams.map((s) => s.id), [1]);
    assertSameCounts(r, await lastServerResult(server, 1));
    const out = io.out();
    assert.match(out, /^Connecting to host 127\.0\.0\.1, port \d+\n\[  1\] local 127\.0\.0\.1 port \d+ connected to 127\.0\.0\.1 port \d+\n/);
    assert.match(out, /\[  1\] +0\.00-\S+ +sec +10\.0 MBytes .* sender\n/);
    assert.match(out, /receiver\n\nmptcp perf done\.\n$/);
    assert.match(serverIo.out(), /Server listening on \d+ \(test #1\)/);
    assert.match(serverIo.out(), /Accepted connection from 127\.0\.0\.1, port \d+/);
    assert.equal(serverIo.err(), '');
  });
});

test('client -> server, -R -P 3 -n 3000001 (not a block multiple): server sends exactly that, client receives it all', T, async () => {
  await withServer(async (server) => {
    const r = await runPerfClient({ host: '127.0.0.1', port: server.port, bytes: 3_000_001, reverse: true, parallel: 3, io: captureIo() }, nodeNetTransport);
    assert.deepEqual(r.streams.map((s) => s.id), [1, 3, 4]);
    assert.ok(r.streams.every((s) => !s.localIsSender));
    assert.equal(r.sumSent.bytes, 3_000_001);
    assert.equal(r.sumReceived.bytes, 3_000_001);
    assertSameCounts(r, await lastServerResult(server, 1));
  });
});

test('client -> server, -t 1 -P 2 with 0.5 s intervals: intervals add up to the totals', T, async () => {
  await withServer(async (server) => {
    const io = captureIo();
    const r = await runPerfClient({ host: '127.0.0.1', port: server.port, duration: 1, parallel: 2, interval: 0.5, io }, nodeNetTransport);
    const s = await lastServerResult(server, 1);
    assertSameCounts(r, s);
    assert.ok(r.sumSent.seconds > 0.9, `duration ${r.sumSent.seconds}`); // no upper bound: wall time on a loaded machine
    assert.ok(r.intervals.length >= 2);
    const intervalBytes = r.intervals.reduce((a, iv) => a + iv.sum.bytes, 0);
    assert.equal(intervalBytes, r.sumSent.bytes);
    assert.match(io.out(), /\[SUM\] +0\.00-\d+\.\d+ +sec/); // the first interval (its end depends on timer latency)
    assert.match(io.out(), /\[SUM\] +0\.00-\S+ +sec .* sender\n/);
  });
});

test('client -> server, -R -t 1 over IPv6 loopback', { ...T, skip: (await haveIpv6Loopback()) ? false : 'no IPv6 loopback' }, async () => {
  await withServer(async (server) => {
    const r = await runPerfClient({ host: '::1', port: server.port, duration: 1, reverse: true, io: captureIo(), json: true }, nodeNetTransport);
    assertSameCounts(r, await lastServerResult(server, 1));
    const connected = (r.json['start'] as { connected: Array<{ local_host: string }> }).connected;
    assert.equal(connected[0]!.local_host, '::1');
  }, '::1');
});

test('JSON output: start / intervals / end with sum_sent and sum_received', T, async () => {
  await withServer(async (server) => {
    const io = captureIo();
    const r = await runPerfClient({ host: '127.0.0.1', port: server.port, bytes: 1 << 20, json: true, io }, nodeNetTransport);
    const doc = JSON.parse(io.out()) as Record<string, any>;
    assert.deepEqual(doc, JSON.parse(JSON.stringify(r.json)));
    assert.equal(doc['start'].test_start.bytes, 1 << 20);
    assert.equal(doc['start'].test_start.protocol, 'TCP');
    assert.equal(doc['start'].cookie, r.cookie);
    assert.equal(doc['end'].sum_sent.bytes, 1 << 20);
    assert.equal(doc['end'].sum_sent.sender, true);
    assert.equal(doc['end'].sum_received.bytes, r.sumReceived.bytes);
    assert.equal(doc['end'].streams[0].sender.socket, 1);
    assert.ok(Array.isArray(doc['intervals']) && doc['intervals'].length >= 1);
    for (const k of ['start', 'end', 'seconds', 'bytes', 'bits_per_second']) assert.equal(typeof doc['end'].sum_received[k], 'number', k);
  });
});

test('a second client while a test runs is told the server is busy; the server then serves it', T, async () => {
  await withServer(async (server) => {
    const first = runPerfClient({ host: '127.0.0.1', port: server.port, duration: 1, io: captureIo() }, nodeNetTransport);
    await new Promise((r) => setTimeout(r, 300));
    await assert.rejects(runPerfClient({ host: '127.0.0.1', port: server.port, bytes: 1000, io: captureIo() }, nodeNetTransport), {
      name: 'PerfError',
      message: 'the server is busy running a test. try again later',
    });
    await first;
    const again = await runPerfClient({ host: '127.0.0.1', port: server.port, bytes: 1000, io: captureIo() }, nodeNetTransport);
    assert.equal(again.sumSent.bytes, 1000);
    assert.equal((await lastServerResult(server, 2)).sumSent.bytes, 1000);
  });
});

test('a client that vanishes mid-setup or is interrupted mid-test: the server recovers and serves the next one', T, async () => {
  await withServer(async (server, serverIo) => {
    // connects, sends the cookie, disappears
    await new Promise<void>((resolve) => {
      const s = net.connect(server.port, '127.0.0.1', () => {
        s.write(makeCookie());
        setTimeout(() => {
          s.destroy();
          resolve();
        }, 100);
      });
    });
    await new Promise((r) => setTimeout(r, 100));
    assert.match(serverIo.err(), /mptcp perf: the client has unexpectedly closed the connection\n/);

    // interrupted (Ctrl-C): CLIENT_TERMINATE
    const ac = new AbortController();
    const io = captureIo();
    const p = runPerfClient({ host: '127.0.0.1', port: server.port, duration: 5, io, signal: ac.signal }, nodeNetTransport);
    setTimeout(() => ac.abort(), 500);
    await assert.rejects(p, (e: unknown) => e instanceof PerfError && e.message === 'interrupted');
    await lastServerResult(server, 1);
    assert.match(serverIo.err(), /the client has terminated/);
    assert.match(io.out(), /sender\n/); // partial summary shown

    const r = await runPerfClient({ host: '127.0.0.1', port: server.port, bytes: 4096, io: captureIo() }, nodeNetTransport);
    assert.equal(r.sumSent.bytes, 4096);
  });
});

test('errors: connection refused, server gone, bad options', T, async () => {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  await assert.rejects(runPerfClient({ host: '127.0.0.1', port, bytes: 10 }, nodeNetTransport), /^PerfError: unable to connect to server 127\.0\.0\.1 port \d+: .*ECONNREFUSED/);

  // a "server" that accepts and hangs up after the cookie
  const rude = net.createServer((c) => c.once('data', () => c.destroy()));
  await new Promise<void>((r) => rude.listen(0, '127.0.0.1', () => r()));
  try {
    await assert.rejects(
      runPerfClient({ host: '127.0.0.1', port: (rude.address() as net.AddressInfo).port, bytes: 10 }, nodeNetTransport),
      /the control connection closed unexpectedly/,
    );
  } finally {
    rude.close();
  }
  await assert.rejects(runPerfClient({ host: '127.0.0.1', parallel: 0 }), /parallel streams/);
  await assert.rejects(runPerfClient({ host: '127.0.0.1', duration: 1, bytes: 5 }), /only one test end condition/);
  await assert.rejects(runPerfClient({ host: '127.0.0.1', blockSize: 2 * 1024 * 1024 }), /block size/);
});

test('server refuses what it does not implement with SERVER_ERROR (UDP)', T, async () => {
  await withServer(async (server, serverIo) => {
    const { ControlChannel, IperfState } = await import('../../src/perf/iperf3-protocol.js');
    const sock = await nodeNetTransport.connect('127.0.0.1', server.port);
    const ch = new ControlChannel(sock);
    sock.write(makeCookie());
    assert.equal(await ch.readState(), IperfState.PARAM_EXCHANGE);
    await ch.writeJson({ udp: true, omit: 0, time: 1, parallel: 1, len: 1400 });
    assert.equal(await ch.readState(), IperfState.SERVER_ERROR);
    assert.deepEqual(await ch.readServerError(), { code: 13, errno: 0 });
    sock.destroy();
    await new Promise((r) => setTimeout(r, 50));
    assert.match(serverIo.err(), /refused the test: UDP tests are not supported/);
  });
});
