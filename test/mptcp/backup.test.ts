/**
 * MP_PRIO on the emulator (issue 4, interop scenario 7's emulator twin): our client joins a second subflow,
 * then marks it backup with MP_PRIO (`MptcpConnection.setBackup`). While the first path works the backup
 * subflow carries no data in either direction (both ends honour the flag); when the first path's link goes
 * down the subflow dies (retransmission limit), its data is reinjected and the backup carries the rest.
 * SHA-256 of what crossed. Virtual time, seeded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LinkConfig } from '../../src/emu/link.js';
import { MB, mptcpOptionsOf, mptcpServer, scenario, sha256 } from '../../src/harness/scenario.js';

const fast: LinkConfig = { rateBitsPerSecond: 100e6, delayMicros: 10_000, queueLimitBytes: 500_000 };
const slow: LinkConfig = { rateBitsPerSecond: 40e6, delayMicros: 15_000, queueLimitBytes: 300_000 };

test('MP_PRIO: a subflow set backup carries no data while the other works, and takes over when its link goes down', () => {
  let prioSeen = 0;
  let prioBackup: boolean | undefined;
  // Default retransmission limits: the backup takes over once the dead subflow is stale (more than 4 RTOs
  // without progress, Linux's stale_loss_cnt), long before the dead subflow gives up.
  const s = scenario({
    seed: 7,
    secrets: [5, 6],
    dataSeeds: [0x2468ace, 0x1357bdf],
    up: 40 * MB,
    down: 10 * MB,
    paths: [{ config: fast }, { config: slow }],
    onClientEvent: (s, _c, e, now) => {
      if (e.type === 'established') s.clientHost.addSubflow(now, s.client, '198.18.2.2');
    },
    onPacketToServer: (bytes) => {
      for (const o of mptcpOptionsOf(bytes)) {
        if (o.subtype === 'MP_PRIO') {
          prioSeen++;
          prioBackup = o.backup;
        }
      }
    },
  });
  const { up, down, client, clientHost, serverHost } = s;

  // Both subflows carry data first.
  s.step(() => up.received > 3 * MB && client.subflowInfo().length === 2 && client.subflowInfo()[1]!.dataBytesSent > 200_000, 60_000_000);
  const server = mptcpServer(s);
  const joinId = client.subflowInfo()[1]!.id;
  assert.ok(client.subflowInfo()[1]!.dataBytesSent > 0, 'the joined subflow carried data before the switch');
  assert.equal(client.setBackup(joinId, true), true);
  s.wake();
  s.step(() => prioSeen > 0, 5_000_000);
  assert.equal(prioSeen, 1, 'one MP_PRIO on the wire');
  assert.equal(prioBackup, true);
  assert.equal(clientHost.mptcpCounters.MPPrioTx, 1);
  assert.equal(serverHost.mptcpCounters.MPPrioRx, 1);
  assert.equal(server.subflowInfo()[1]!.backupPeer, true);
  assert.equal(client.subflowInfo()[1]!.backupLocal, true);
  // Let what was already queued on the backup subflow drain, then take the baseline.
  s.net.runFor(1_000_000);
  const baseUp = client.subflowInfo()[1]!.dataBytesSent;
  const baseDown = server.subflowInfo()[1]!.dataBytesSent;
  const upBefore = up.received;
  s.step(() => up.received - upBefore > 8 * MB, 60_000_000);
  assert.ok(up.received - upBefore > 5 * MB, `data kept flowing on the active path (${up.received - upBefore})`);
  assert.equal(client.subflowInfo()[1]!.dataBytesSent - baseUp, 0, 'the backup subflow carries no data up while the active one works');
  assert.equal(server.subflowInfo()[1]!.dataBytesSent - baseDown, 0, 'nor down');

  // The active path dies: the backup takes over.
  s.paths[0]!.forward.setState('down');
  s.paths[0]!.backward.setState('down');
  const downAt = s.net.now;
  s.step(() => up.received === up.data.length && down.received === down.data.length, 120_000_000);
  const tookOver = s.net.now - downAt;
  assert.ok(client.subflowInfo()[0]!.stale, 'the dead subflow is marked stale');
  assert.equal(clientHost.mptcpCounters.SubflowStale, 1, 'the sender counted SubflowStale');
  assert.ok(tookOver < 30_000_000, `the transfer completed ${tookOver / 1e6} s after the active path died`);
  assert.ifError(s.finish(1_200_000_000));
  assert.equal(up.received, up.data.length);
  assert.equal(up.hash.digest('hex'), sha256(up.data));
  assert.equal(down.received, down.data.length);
  assert.equal(down.hash.digest('hex'), sha256(down.data));
  const took = client.subflowInfo()[1]!.dataBytesSent - baseUp;
  assert.ok(took > 5 * MB, `the backup subflow carried the rest (${took} bytes)`);
  console.log(`# backup subflow: ${took} bytes up after the active path died; done ${tookOver / 1e6} s after (stale: client ${clientHost.mptcpCounters.SubflowStale}, server ${serverHost.mptcpCounters.SubflowStale}; MPTCPRetrans ${clientHost.mptcpCounters.MPTCPRetrans}); first subflow ${client.subflowInfo()[0]!.state}`);
  assert.ok(up.closed && down.closed, 'both ends closed');
});
