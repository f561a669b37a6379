/**
 * MP_PRIO on the emulator (issue 4, interop scenario 7's emulator twin): our client joins a second subflow,
 * then marks it backup with MP_PRIO (`MptcpConnection.setBackup`). While the first path works the backup
 * subflow carries no data in either direction (both ends honour the flag); when the first path's link goes
 * down the subflow dies (retransmission limit), its data is reinjected and the backup carries the rest.
 * SHA-256 of what crossed. Virtual time, seeded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Network } from '../../src/emu/network.js';
import { Host } from '../../src/stack/host.js';
import type { MptcpConnection } from '../../src/mptcp/connection.js';
import type { Micros } from '../../src/tcp/types.js';
import type { LinkConfig } from '../../src/emu/link.js';
import { parseIpPacket } from '../../src/wire/ip.js';
import { parseTcpSegment } from '../../src/wire/tcp.js';
import { isWireError } from '../../src/wire/errors.js';
import { App, pattern, Side } from '../support/mptcp-emu.js';


const MB = 1_000_000;
const fast: LinkConfig = { rateBitsPerSecond: 100e6, delayMicros: 10_000, queueLimitBytes: 500_000 };
const slow: LinkConfig = { rateBitsPerSecond: 40e6, delayMicros: 15_000, queueLimitBytes: 300_000 };

test('MP_PRIO: a subflow set backup carries no data while the other works, and takes over when its link goes down', () => {
  const net = new Network({ seed: 7 });
  const clientHost = new Host({ name: 'client', secret: new Uint8Array(32).fill(5) });
  const serverHost = new Host({ name: 'server', secret: new Uint8Array(32).fill(6) });
  clientHost.addInterface('eth0', ['198.18.1.2/24']);
  clientHost.addInterface('eth1', ['198.18.2.2/24']);
  serverHost.addInterface('eth0', ['198.18.1.1/24']);
  serverHost.addInterface('eth1', ['198.18.2.1/24']);
  const up = new Side(pattern(40 * MB, 0x2468ace));
  const down = new Side(pattern(10 * MB, 0x1357bdf));
  let server: MptcpConnection | undefined;
  const ch = new App(clientHost, (c, e, now) => {
    if (e === 'accepted') return;
    if (e.type === 'established') clientHost.addSubflow(now, c, '198.18.2.2');
    if (e.type === 'established' || e.type === 'writable') up.pump(c);
    if (e.type === 'readable' || e.type === 'end') down.drain(c);
    if (e.type === 'closed') {
      up.closed = true;
      up.closedError = e.error;
    }
  });
  const sh = new App(serverHost, (c, e) => {
    if (e === 'accepted') {
      server = c;
      down.pump(c);
      return;
    }
    if (e.type === 'writable') down.pump(c);
    if (e.type === 'readable' || e.type === 'end') up.drain(c);
    if (e.type === 'closed') {
      down.closed = true;
      down.closedError = e.error;
    }
  });
  let prioSeen = 0;
  let prioBackup: boolean | undefined;
  sh.beforePacket = (bytes) => {
    const ip = parseIpPacket(bytes, { verifyChecksum: false });
    if (isWireError(ip)) return;
    const seg = parseTcpSegment(ip.payload, undefined);
    if (isWireError(seg)) return;
    for (const o of seg.options) {
      if (o.kind === 'mptcp' && o.option.subtype === 'MP_PRIO') {
        prioSeen++;
        prioBackup = o.option.backup;
      }
    }
  };
  const c = net.addHost('c', ch);
  const s = net.addHost('s', sh);
  const path0 = net.connect([c, 0], [s, 0], { config: fast });
  net.connect([c, 1], [s, 1], { config: slow });
  // Default retransmission limits: the backup takes over once the dead subflow is stale (more than 4 RTOs
  // without progress, Linux's stale_loss_cnt), long before the dead subflow gives up.
  serverHost.listen(5201, { mptcp: true });
  const client = clientHost.connect(0, '198.18.1.1', 5201, { mptcp: true });
  net.wake(c);

  // Both subflows carry data first.
  const step = (until: () => boolean, limit: Micros): void => {
    const end = net.now + limit;
    while (!until() && net.now < end) net.runFor(10_000);
  };
  step(() => up.received > 3 * MB && client.subflowInfo().length === 2 && client.subflowInfo()[1]!.dataBytesSent > 200_000, 60_000_000);
  const joinId = client.subflowInfo()[1]!.id;
  assert.ok(client.subflowInfo()[1]!.dataBytesSent > 0, 'the joined subflow carried data before the switch');
  assert.equal(client.setBackup(joinId, true), true);
  net.wake(c);
  step(() => prioSeen > 0, 5_000_000);
  assert.equal(prioSeen, 1, 'one MP_PRIO on the wire');
  assert.equal(prioBackup, true);
  assert.equal(clientHost.mptcpCounters.MPPrioTx, 1);
  assert.equal(serverHost.mptcpCounters.MPPrioRx, 1);
  assert.equal(server!.subflowInfo()[1]!.backupPeer, true);
  assert.equal(client.subflowInfo()[1]!.backupLocal, true);
  // Let what was already queued on the backup subflow drain, then take the baseline.
  net.runFor(1_000_000);
  const baseUp = client.subflowInfo()[1]!.dataBytesSent;
  const baseDown = server!.subflowInfo()[1]!.dataBytesSent;
  const upBefore = up.received;
  step(() => up.received - upBefore > 8 * MB, 60_000_000);
  assert.ok(up.received - upBefore > 5 * MB, `data kept flowing on the active path (${up.received - upBefore})`);
  assert.equal(client.subflowInfo()[1]!.dataBytesSent - baseUp, 0, 'the backup subflow carries no data up while the active one works');
  assert.equal(server!.subflowInfo()[1]!.dataBytesSent - baseDown, 0, 'nor down');

  // The active path dies: the backup takes over.
  path0.forward.setState('down');
  path0.backward.setState('down');
  const downAt = net.now;
  step(() => up.received === up.data.length && down.received === down.data.length, 120_000_000);
  const tookOver = net.now - downAt;
  assert.ok(client.subflowInfo()[0]!.stale, 'the dead subflow is marked stale');
  assert.equal(clientHost.mptcpCounters.SubflowStale, 1, 'the sender counted SubflowStale');
  assert.ok(tookOver < 30_000_000, `the transfer completed ${tookOver / 1e6} s after the active path died`);
  net.driveBounded(net.now + 1_200_000_000, 80_000_000);
  assert.equal(up.received, up.data.length);
  assert.equal(up.hash.digest('hex'), createHash('sha256').update(up.data).digest('hex'));
  assert.equal(down.received, down.data.length);
  assert.equal(down.hash.digest('hex'), createHash('sha256').update(down.data).digest('hex'));
  const took = client.subflowInfo()[1]!.dataBytesSent - baseUp;
  assert.ok(took > 5 * MB, `the backup subflow carried the rest (${took} bytes)`);
  console.log(`# backup subflow: ${took} bytes up after the active path died; done ${tookOver / 1e6} s after (stale: client ${clientHost.mptcpCounters.SubflowStale}, server ${serverHost.mptcpCounters.SubflowStale}; MPTCPRetrans ${clientHost.mptcpCounters.MPTCPRetrans}); first subflow ${client.subflowInfo()[0]!.state}`);
  assert.ok(up.closed && down.closed, 'both ends closed');
});
