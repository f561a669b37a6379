/**
 * RealtimeEmulation: two hosts of this stack on the emulator paced by the wall clock, used through the
 * Node-facing sockets (Duplex) as an application would. This test waits on real events (bounded), since
 * real time is what this runtime is for; the deterministic transfer tests run in virtual time instead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { RealtimeEmulation } from '../../src/api/emulation.js';
import { closed, within } from '../support/kernel.js';

test('realtime emulation: a Duplex client and server exchange 2 MB over a 100 Mbit/s, 10 ms link and close', async () => {
  const emu = new RealtimeEmulation(5);
  try {
    const client = emu.addHost('client', [['198.18.0.1/24']]);
    const server = emu.addHost('server', [['198.18.0.2/24']]);
    emu.connect('client', 0, 'server', 0, { rateBitsPerSecond: 100e6, delayMicros: 5_000 });
    const srv = server.createServer((socket) => {
      // Echo server: what arrives goes back, then half-close.
      socket.pipe(socket);
    });
    srv.listen(7);
    await once(srv, 'listening');
    const sock = client.connect(7, '198.18.0.2');
    await within(5_000, 'connect', once(sock, 'connect'));
    assert.equal(sock.remoteAddress, '198.18.0.2');
    const data = new Uint8Array(2_000_000).map((_, i) => (i * 31 + 7) & 0xff);
    const echoed = createHash('sha256');
    let n = 0;
    sock.on('data', (b: Buffer) => {
      echoed.update(b);
      n += b.length;
    });
    sock.end(data);
    await within(20_000, 'echo', once(sock, 'end'));
    assert.equal(n, data.length);
    assert.equal(echoed.digest('hex'), createHash('sha256').update(data).digest('hex'));
    await within(5_000, 'close', closed(sock));
    srv.close();
  } finally {
    emu.close();
  }
});
