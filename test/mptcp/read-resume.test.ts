/**
 * A receiving application that stops reading and starts again (back-pressure at the data level): once it
 * reads, the DATA_ACK it now owes must reach the sender even when every subflow is already empty (the data
 * had been TCP-acknowledged while it waited in the subflows' buffers). Linux sends it from
 * mptcp_cleanup_rbuf when the application's copy frees space. Before the fix the sender kept its whole send
 * buffer un-DATA_ACKed with nothing in flight, for good (found by the proxy's back-pressure test).
 * Virtual time, seeded; the transfer is bounded in time and events.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { HostPair } from '../../src/harness/pair.js';
import { MptcpApp } from '../../src/harness/host-app.js';
import type { MptcpConnection } from '../../src/mptcp/connection.js';

const MB = 1024 * 1024;
const SECOND = 1_000_000;

function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

function run(paths: number, total: number, pauseFrom: number, pauseTo: number, seed: number) {
  const data = pattern(total, seed);
  let written = 0;
  let received = 0;
  let reading = true;
  let server: MptcpConnection | undefined;
  let finishedAt: number | undefined;
  const sink = createHash('sha256');
  const drain = (c: MptcpConnection, now: number) => {
    if (!reading) return;
    for (let b = c.read(); b; b = c.read()) {
      sink.update(b);
      received += b.length;
    }
    if (received === total && finishedAt === undefined) finishedAt = now;
  };
  const pump = (c: MptcpConnection) => {
    while (written < total) {
      const n = c.write(data.subarray(written, Math.min(total, written + 64 * 1024)));
      if (n === 0) break;
      written += n;
    }
    if (written === total) c.shutdown();
  };
  const pair = new HostPair(
    {
      seed,
      start: 0,
      client: { name: 'client', secret: new Uint8Array(32).fill(3) },
      server: { name: 'server', secret: new Uint8Array(32).fill(4) },
      paths: Array.from({ length: paths }, (_, i) => ({
        clientAddress: `198.18.${i}.1/24`,
        serverAddress: `198.18.${i}.2/24`,
        link: { config: { rateBitsPerSecond: 100e6, delayMicros: 5_000 + 5_000 * i, queueLimitBytes: 200_000 } },
      })),
    },
    {
      client: (host) =>
        new MptcpApp(host, (c, e, now) => {
          if (e === 'accepted') return;
          if (e.type === 'established') {
            for (let i = 1; i < paths; i++) host.addSubflow(now, c, `198.18.${i}.1`, { remoteAddress: `198.18.${i}.2` });
          }
          if (e.type === 'established' || e.type === 'writable') pump(c);
        }),
      server: (host) =>
        new MptcpApp(host, (c, e, now) => {
          if (e === 'accepted') {
            server = c;
            c.shutdown();
            return;
          }
          if (e.type === 'readable' || e.type === 'end') drain(c, now);
        }),
    },
  );
  pair.serverHost.listen(5201, { mptcp: true });
  pair.clientHost.connect(0, '198.18.0.2', 5201, { mptcp: true, localAddress: '198.18.0.1' });
  pair.wakeClient();
  pair.run(pauseFrom);
  reading = false;
  pair.run(pauseTo);
  const client = pair.client.host.mptcpConnections()[0]!;
  const blocked = { unacked: client.mptcpInfo().bytesSent - client.mptcpInfo().bytesAcked, written };
  reading = true;
  drain(server!, pauseTo);
  pair.wakeServer();
  pair.drive(() => finishedAt !== undefined, pauseTo + 30 * SECOND);
  return { received, finishedAt, blocked, intact: sink.digest('hex') === createHash('sha256').update(data).digest('hex') };
}

for (const paths of [1, 2]) {
  test(`${paths} subflow(s): the receiver stops reading for 3 s, then reads: every byte arrives, and soon`, () => {
    const total = 48 * MB;
    const r = run(paths, total, 1 * SECOND, 4 * SECOND, 7 + paths);
    console.log(`paths ${paths}: blocked with ${r.blocked.unacked} bytes un-DATA_ACKed, ${r.blocked.written} written; received ${r.received} of ${total}, done at ${r.finishedAt === undefined ? 'never' : (r.finishedAt / SECOND).toFixed(2) + ' s'}`);
    assert.ok(r.blocked.written < total, 'the pause really blocked the sender');
    assert.equal(r.received, total, 'every byte arrived');
    assert.ok(r.intact, 'SHA-256 equal');
    assert.ok(r.finishedAt! < 4 * SECOND + 10 * SECOND, 'within 10 s of reading again');
  });
}
