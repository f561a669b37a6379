/**
 * A fallback to TCP is not silent: our MPTCP client against a server without MPTCP (both on the userspace
 * stack, real-time emulation in this process) says so after the stream's connected line, with the kernel's
 * MIB counter name (MPCapableFallbackSYNACK, as `nstat` shows it), and its JSON "connected" entry has
 * "mptcp": "fallback". Against an MPTCP server the entry says "mptcp" and no fallback line is printed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runPerfClient } from '../../src/perf/client.js';
import { startPerfServer } from '../../src/perf/server.js';
import { within } from '../support/kernel.js';
import { captureIo, emulatedHosts } from './helpers.js';

for (const serverMptcp of [false, true]) {
  test(`perf: MPTCP client, ${serverMptcp ? 'MPTCP' : 'plain TCP'} server: ${serverMptcp ? 'no fallback shown' : 'the fallback shown in text and JSON with MPCapableFallbackSYNACK'}`, { timeout: 60_000 }, async () => {
    const { emu, a, client, server: serverTransport } = await emulatedHosts(4, { rateBitsPerSecond: 100e6, delayMicros: 1_000 }, { client: true, server: serverMptcp });
    try {
      const server = await startPerfServer({ port: 5201, interval: 0 }, serverTransport);
      try {
        const io = captureIo();
        const text = await within(30_000, 'text test', runPerfClient({ host: '198.18.0.2', bytes: 1_000_000, interval: 0, io }, client));
        assert.ok(text.complete);
        const jsonIo = captureIo();
        await within(30_000, 'json test', runPerfClient({ host: '198.18.0.2', bytes: 1_000_000, interval: 0, json: true, io: jsonIo }, client));
        const connected = (JSON.parse(jsonIo.out()) as { start: { connected: Array<Record<string, unknown>> } }).start.connected;
        assert.equal(connected.length, 1);
        if (serverMptcp) {
          assert.doesNotMatch(io.out(), /fallback/i);
          assert.equal(connected[0]!['mptcp'], 'mptcp');
          assert.equal(connected[0]!['mptcp_fallback'], undefined);
        } else {
          assert.match(io.out(), /\] local 198\.18\.0\.1 port \d+ connected to 198\.18\.0\.2 port 5201\n\[ {2}\d\] MPTCP fallback to TCP: the server answered the MP_CAPABLE SYN without MP_CAPABLE \(MPCapableFallbackSYNACK\)\n/);
          assert.equal(connected[0]!['mptcp'], 'fallback');
          assert.equal(connected[0]!['mptcp_fallback'], 'MPCapableFallbackSYNACK');
          // the host's own counter agrees (what nstat would show)
          assert.ok((a.host.mptcpCounters['MPCapableFallbackSYNACK'] ?? 0) >= 1);
        }
      } finally {
        await server.close();
      }
    } finally {
      emu.close();
    }
  });
}
