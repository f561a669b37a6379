/**
 * MPTCP on the emulator (issue 4, first slice): two hosts of this stack, one subflow; and an MPTCP client
 * against a plain-TCP server (fallback). SHA-256 of what crossed, graceful close. Virtual time, seeded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { MptcpApp } from '../../src/harness/host-app.js';
import { HostPair } from '../../src/harness/pair.js';
import { pattern } from '../../src/harness/stream-flow.js';
import type { Host } from '../../src/stack/host.js';
import type { MptcpConnection } from '../../src/mptcp/connection.js';
import type { StreamConnection } from '../../src/mptcp/connection.js';
import type { LinkConfig } from '../../src/emu/link.js';

interface Result {
  received: number;
  sentSha: string;
  receivedSha: string;
  client: MptcpConnection;
  server: StreamConnection | undefined;
  clientClosedError: unknown;
  serverClosedError: unknown;
  clientClosed: boolean;
  serverClosed: boolean;
  clientHost: Host;
  serverHost: Host;
  serverApp: MptcpApp;
}

function run(bytes: number, link: LinkConfig, serverMptcp: boolean, checksum = false): Result {
  const data = pattern(bytes, 0x12345678);
  let written = 0;
  const hash = createHash('sha256');
  let received = 0;
  let server: StreamConnection | undefined;
  let clientClosed = false;
  let serverClosed = false;
  let clientClosedError: unknown;
  let serverClosedError: unknown;
  const pump = (c: StreamConnection): void => {
    while (written < bytes) {
      const n = c.write(data.subarray(written, Math.min(bytes, written + 256 * 1024)));
      if (n === 0) return;
      written += n;
    }
    c.shutdown();
  };
  // Both TCP and MPTCP host events (the fallback case's server is plain TCP).
  const clientApp = (clientHost: Host) => new MptcpApp(clientHost, (c, e) => {
    if (e === 'accepted') return;
    if (e.type === 'established' || e.type === 'writable') pump(c);
    if (e.type === 'closed') {
      clientClosed = true;
      clientClosedError = e.error;
    }
  }, { tcpEvents: true });
  const serverApp = (serverHost: Host) => new MptcpApp(serverHost, (c, e) => {
    if (e === 'accepted') {
      server = c;
      return;
    }
    if (e.type === 'readable' || e.type === 'end') {
      for (let b = c.read(); b; b = c.read()) {
        hash.update(b);
        received += b.length;
      }
      if (e.type === 'end') c.shutdown();
    }
    if (e.type === 'closed') {
      serverClosed = true;
      serverClosedError = e.error;
    }
  }, { tcpEvents: true });
  const pair = new HostPair(
    {
      seed: 7,
      names: ['c', 's'],
      client: { name: 'client', secret: new Uint8Array(32).fill(1) },
      server: { name: 'server', secret: new Uint8Array(32).fill(2) },
      paths: [{ clientAddress: '198.18.0.1/24', serverAddress: '198.18.0.2/24', link: { config: link } }],
    },
    { client: clientApp, server: serverApp },
  );
  const { clientHost, serverHost } = pair;
  serverHost.listen(5201, serverMptcp ? { mptcp: true, checksum } : {});
  const client = clientHost.connect(0, '198.18.0.2', 5201, { mptcp: true, checksum });
  pair.wakeClient();
  pair.driveBounded(600_000_000, 50_000_000);
  return {
    received,
    sentSha: createHash('sha256').update(data).digest('hex'),
    receivedSha: hash.digest('hex'),
    client,
    server,
    clientClosed,
    serverClosed,
    clientClosedError,
    serverClosedError,
    clientHost,
    serverHost,
    serverApp: pair.server,
  };
}

const MB = 1_000_000;
const lossy: LinkConfig = { rateBitsPerSecond: 100e6, delayMicros: 10_000, queueLimitBytes: 500_000, loss: 0.01 };

test('MPTCP both ends: 20 MB with 1% loss, SHA-256 equal, graceful close (DATA_FIN both ways)', () => {
  const r = run(20 * MB, lossy, true);
  assert.equal(r.received, 20 * MB);
  assert.equal(r.receivedSha, r.sentSha);
  assert.equal(r.client.fallback, false);
  assert.equal(r.client.mptcpInfo().mode, 'mptcp');
  assert.equal(r.client.mptcpInfo().bytesAcked, 20 * MB + 1, 'DATA_ACK covers the data and the DATA_FIN');
  assert.equal(r.clientClosedError, undefined);
  assert.equal(r.serverClosedError, undefined);
  assert.ok(r.clientClosed && r.serverClosed, 'both ends closed');
  const cc = r.clientHost.mptcpCounters;
  const sc = r.serverHost.mptcpCounters;
  assert.equal(cc.MPCapableSYNACKRX, 1);
  assert.equal(sc.MPCapableSYNRX, 1);
  assert.equal(sc.MPCapableACKRX, 1);
  assert.equal(cc.MPCapableFallbackSYNACK + sc.MPCapableFallbackACK, 0);
  assert.equal(sc.DataFinRx, 1);
  assert.equal(cc.DataFinRx, 1);
  assert.equal(sc.DSSNotMatching + sc.DSSNoMatchTCP + sc.DataCsumErr + sc.DssFallback, 0);
  const events = [];
  r.serverApp.drain();
  for (let e = r.serverApp.monitor.shift(); e; e = r.serverApp.monitor.shift()) events.push(e.type);
  assert.deepEqual(events, ['CREATED', 'ESTABLISHED', 'CLOSED']);
});

test('MPTCP with DSS checksums both ends: 5 MB with 1% loss, intact, no checksum error', () => {
  const r = run(5 * MB, lossy, true, true);
  assert.equal(r.received, 5 * MB);
  assert.equal(r.receivedSha, r.sentSha);
  assert.equal(r.client.mptcpInfo().checksum, true);
  assert.equal(r.serverHost.mptcpCounters.DataCsumErr, 0);
  assert.ok(r.clientClosed && r.serverClosed);
});

test('MPTCP client, plain-TCP server: falls back to TCP, data intact', () => {
  const r = run(5 * MB, lossy, false);
  assert.equal(r.received, 5 * MB);
  assert.equal(r.receivedSha, r.sentSha);
  assert.equal(r.client.fallback, true);
  assert.equal(r.clientHost.mptcpCounters.MPCapableFallbackSYNACK, 1);
  assert.ok(r.clientClosed && r.serverClosed);
  assert.equal(r.clientClosedError, undefined);
});
