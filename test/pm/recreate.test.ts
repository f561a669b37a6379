// Subflows that come back (src/pm/kernel.ts RECREATE_*; issue 9, mptcp_net-next #440): the kernel path
// manager on a fake connection at explicit times, then on the emulator (a subflow reset by the peer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KernelPathManager, RECREATE_ATTEMPTS, RECREATE_BASE, RECREATE_MAX } from '../../src/pm/kernel.js';
import { EndpointTable, parseLimits } from '../../src/pm/config.js';
import type { PmConnection, PmSubflow, SubflowRequest } from '../../src/pm/types.js';
import { parseAddress } from '../../src/wire/address.js';
import { scenario } from '../../src/harness/scenario.js';
import { subflowsOnPath } from '../../src/harness/scenarios/engine.js';

const ip = (s: string) => parseAddress(s)!;

/** A manager with one `subflow` endpoint (id 2) on a fake connection whose subflows the test opens and closes. */
function fixture() {
  const table = new EndpointTable();
  table.add('198.18.2.2 id 2 subflow');
  const subflows: PmSubflow[] = [{ localId: 0, localAddress: ip('198.18.1.2'), remoteId: 0, remoteAddress: ip('198.18.1.1'), remotePort: 5201, initial: true }];
  const connection: PmConnection & { mayAct: boolean } = {
    isMptcp: true,
    mayAct: true,
    subflows: () => subflows.slice(),
    closeSubflows: () => 0,
    setInitialBackup: () => undefined,
    addAddrHmac: () => new Uint8Array(8),
    subflowRequested: () => undefined,
  };
  const pm = new KernelPathManager({ config: { endpoints: () => table.list(), limits: () => parseLimits('subflows 2') }, connection });
  pm.created({ initialLocal: { address: ip('198.18.1.2'), port: 40000 }, initialRemote: { address: ip('198.18.1.1'), port: 5201 }, denyJoinId0: false });
  pm.fullyEstablished();
  /** The host opens what was asked for. */
  const open = (): SubflowRequest[] => {
    const taken = pm.takeSubflowRequests();
    for (const r of taken) subflows.push({ localId: r.localId, localAddress: r.localAddress!, remoteId: r.remoteId, remoteAddress: r.remoteAddress, remotePort: r.remotePort, initial: false, endpointId: r.endpointId });
    return taken;
  };
  const close = (now: number, error: string | undefined, wasEstablished: boolean) => {
    subflows.splice(subflows.findIndex((s) => s.endpointId === 2), 1);
    pm.subflowClosed({ endpointId: 2, error, wasEstablished, now });
  };
  return { pm, table, open, close };
}

test(`a reset subflow is asked for again after ${RECREATE_BASE} us, then with doubling delays while joins fail, at most ${RECREATE_ATTEMPTS} times`, () => {
  const f = fixture();
  assert.equal(f.open().length, 1, 'the endpoint subflow at establishment');
  f.close(5_000_000, 'ECONNRESET', true);
  assert.equal(f.open().length, 0, 'not at once');
  assert.equal(f.pm.pollTimeout(), 5_000_000 + RECREATE_BASE);
  f.pm.handleTimeout(5_000_000 + RECREATE_BASE - 1);
  assert.equal(f.open().length, 0, 'not before the backoff');
  let now = 5_000_000 + RECREATE_BASE;
  f.pm.handleTimeout(now);
  assert.deepEqual(f.open().map((r) => r.endpointId), [2], 're-created from endpoint 2');
  // Joins that fail before completing (timeouts): 2 s, 4 s, ... capped at RECREATE_MAX, then it gives up.
  const delays: number[] = [];
  for (let i = 0; i < RECREATE_ATTEMPTS + 2; i++) {
    f.close(now, 'ETIMEDOUT', false);
    const at = f.pm.pollTimeout();
    if (at === undefined) break;
    delays.push(at - now);
    now = at;
    f.pm.handleTimeout(now);
    assert.equal(f.open().length, 1);
  }
  const expected = Array.from({ length: RECREATE_ATTEMPTS - 1 }, (_, i) => Math.min(RECREATE_BASE * 2 ** (i + 1), RECREATE_MAX));
  assert.deepEqual(delays, expected);
  // A join that completed starts the schedule again.
  const g = fixture();
  g.open();
  g.close(0, 'ETIMEDOUT', false);
  g.pm.handleTimeout(RECREATE_BASE);
  g.open();
  g.close(RECREATE_BASE, 'ETIMEDOUT', false);
  assert.equal(g.pm.pollTimeout(), 3 * RECREATE_BASE, 'second failure in a row: 2 x base');
  g.pm.handleTimeout(3 * RECREATE_BASE);
  g.open();
  g.close(10 * RECREATE_BASE, 'ECONNRESET', true);
  assert.equal(g.pm.pollTimeout(), 11 * RECREATE_BASE, 'after an established subflow: base again');
});

test('no re-creation for a subflow closed without an error, aborted locally, or whose endpoint was deleted', () => {
  for (const [error, deleteEndpoint] of [[undefined, false], ['ECONNABORTED', false], ['ECONNRESET', true]] as const) {
    const f = fixture();
    f.open();
    if (deleteEndpoint) f.table.delete(2);
    f.close(1_000_000, error, true);
    if (f.pm.pollTimeout() !== undefined) f.pm.handleTimeout(f.pm.pollTimeout()!);
    f.pm.handleTimeout(100_000_000);
    assert.equal(f.open().length, 0, `${error ?? 'no error'}${deleteEndpoint ? ', endpoint deleted' : ''}: not re-created`);
  }
  // Deleted during the backoff: dropped when due.
  const f = fixture();
  f.open();
  f.close(0, 'ECONNRESET', true);
  f.table.delete(2);
  f.pm.handleTimeout(RECREATE_BASE);
  assert.equal(f.open().length, 0);
  assert.equal(f.pm.pollTimeout(), undefined);
});

function resetRun(removeEndpoint: boolean) {
  const p = { config: { rateBitsPerSecond: 10e6, delayMicros: 10_000, queueLimitBytes: 100_000 } };
  const s = scenario({ seed: 3, up: 0, down: 20_000_000, paths: [p, p], clientEndpoints: ['198.18.2.2 id 2 subflow'], clientLimits: 'subflows 2', serverLimits: 'subflows 2' });
  s.step(() => false, 3_000_000);
  const first = subflowsOnPath(s.client, 1).map((x) => x.id);
  assert.equal(first.length, 1, 'one subflow on path 2 before the reset');
  const resetAt = s.net.now;
  for (const x of subflowsOnPath(s.server, 1)) if (x.join) x.tcp.abort();
  if (removeEndpoint) s.clientHost.removeMptcpEndpoint(2, s.net.now);
  s.wake();
  let closedAt: number | undefined;
  let backAt: number | undefined;
  s.step(() => {
    const live = subflowsOnPath(s.client, 1).filter((x) => x.usable);
    if (closedAt === undefined && !live.some((x) => first.includes(x.id))) closedAt = s.net.now;
    if (closedAt !== undefined && live.some((x) => !first.includes(x.id))) backAt = s.net.now;
    return backAt !== undefined;
  }, 8_000_000);
  s.finish(60_000_000);
  return { resetAt, closedAt, backAt, intact: s.down.intact() };
}

test('emulator: a subflow reset by the peer closes, and is back on its path about 1 s later; the download is intact', () => {
  const r = resetRun(false);
  assert.ok(r.closedAt !== undefined && r.closedAt - r.resetAt < 500_000, `closed ${r.closedAt! - r.resetAt} us after the reset`);
  assert.ok(r.backAt !== undefined, 're-created');
  const after = r.backAt - r.closedAt;
  assert.ok(after >= RECREATE_BASE && after < RECREATE_BASE + 300_000, `usable again ${after} us after it closed`);
  assert.ok(r.intact, 'SHA-256 equal');
});

test('emulator: endpoint removed with the reset: the subflow stays gone', () => {
  const r = resetRun(true);
  assert.ok(r.closedAt !== undefined, 'closed');
  assert.equal(r.backAt, undefined, 'not re-created');
  assert.ok(r.intact, 'SHA-256 equal');
});
