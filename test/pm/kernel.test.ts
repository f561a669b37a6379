// The kernel path manager (src/pm/kernel.ts) as a pure state machine: events in through its hooks, outputs
// polled (signals within the option bytes left, their retransmission, echoes, RM_ADDR, subflows to open,
// limits), against a fake connection that records what the manager asks of it. No connection, no host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADD_ADDR_RETRANS_MAX, KernelPathManager } from '../../src/pm/kernel.js';
import { EndpointTable, parseLimits } from '../../src/pm/config.js';
import type { PmConnection, PmSubflow } from '../../src/pm/types.js';
import { mptcpOptionLength, type MptcpOption } from '../../src/wire/mptcp-option.js';
import { formatAddress, parseAddress } from '../../src/wire/address.js';

const ip = (s: string) => parseAddress(s)!;
const TIMEOUT = 1_000_000;

/** A manager on a fake connection whose initial subflow is local -> remote:5201. */
function fixture(endpoints: string[], limits: string, local = '198.18.0.1', remote = '198.18.1.1') {
  const table = new EndpointTable();
  for (const e of endpoints) table.add(e);
  const subflows: PmSubflow[] = [{ localId: 0, localAddress: ip(local), remoteId: 0, remoteAddress: ip(remote), remotePort: 5201, initial: true }];
  const log: string[] = [];
  let requested = 0;
  const connection: PmConnection & { mayAct: boolean } = {
    isMptcp: true,
    mayAct: true,
    subflows: () => subflows.slice(),
    closeSubflows(localId: number | undefined, remoteId: number | undefined, byPeer: boolean): number {
      const match = subflows.filter((s) => !s.initial && (localId === undefined || s.localId === localId) && (remoteId === undefined || s.remoteId === remoteId));
      log.push(`close local ${localId ?? '*'} remote ${remoteId ?? '*'}${byPeer ? ' (peer)' : ''}: ${match.length}`);
      for (const m of match) subflows.splice(subflows.indexOf(m), 1);
      return match.length;
    },
    setInitialBackup(backup: boolean): void {
      log.push(`mp_prio backup=${backup}`);
    },
    addAddrHmac: (id: number) => Uint8Array.of(id, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x11),
    subflowRequested(): void {
      requested++;
    },
  };
  const pm = new KernelPathManager({ config: { endpoints: () => table.list(), limits: () => parseLimits(limits), addAddrTimeoutMicros: TIMEOUT }, connection });
  const start = () => pm.created({ initialLocal: { address: ip(local), port: 40000 }, initialRemote: { address: ip(remote), port: 5201 }, denyJoinId0: false });
  return { pm, table, subflows, log, connection, start, requests: () => requested };
}

/** A polled signal as text. */
function show(o: MptcpOption | undefined): string {
  if (o === undefined) return 'nothing';
  if (o.subtype === 'ADD_ADDR') return `${o.echo ? 'echo' : 'add_addr'} id ${o.addressId} ${formatAddress(o.address)}${o.port ? ` port ${o.port}` : ''}${o.hmac ? ' hmac' : ''}`;
  if (o.subtype === 'RM_ADDR') return `rm_addr ${o.addressIds.join(',')}`;
  return o.subtype;
}

test('nothing before created and fully established; then one ADD_ADDR at a time, with its HMAC', () => {
  const f = fixture(['198.18.0.2 signal', '198.18.0.3 signal'], '');
  f.pm.fullyEstablished();
  assert.equal(f.pm.signalDue(), false, 'not MPTCP yet (created not called): no decision');
  f.start();
  assert.equal(f.pm.signalDue(), false, 'the kernel announces only once fully established');
  f.pm.fullyEstablished();
  assert.equal(f.pm.signalDue(), true);
  assert.equal(show(f.pm.pollSignal(0, 40)), 'add_addr id 1 198.18.0.2 hmac');
  assert.equal(f.pm.signalDue(), false, 'the second waits for the echo of the first');
  assert.equal(show(f.pm.pollSignal(0, 40)), 'nothing');
});

test('pollSignal: a signal that does not fit in the bytes left stays queued', () => {
  const f = fixture(['198.18.0.2 signal'], '');
  f.start();
  f.pm.fullyEstablished();
  const full: MptcpOption = { subtype: 'ADD_ADDR', echo: false, addressId: 1, address: ip('198.18.0.2'), hmac: new Uint8Array(8) };
  const need = mptcpOptionLength(full);
  assert.equal(f.pm.pollSignal(0, need - 1), undefined);
  assert.equal(f.pm.signalDue(), true, 'still due');
  assert.equal(f.pm.pollTimeout(), undefined, 'no retransmission timer for a signal not sent');
  assert.equal(show(f.pm.pollSignal(5, need)), 'add_addr id 1 198.18.0.2 hmac');
});

test(`ADD_ADDR retransmission: every timeout up to ${ADD_ADDR_RETRANS_MAX} times, then the next endpoint`, () => {
  const f = fixture(['198.18.0.2 signal', '198.18.0.3 signal'], '');
  f.start();
  f.pm.fullyEstablished();
  let now = 1000;
  const sent: string[] = [];
  sent.push(show(f.pm.pollSignal(now, 40)));
  for (let i = 0; i < ADD_ADDR_RETRANS_MAX + 1; i++) {
    const deadline = f.pm.pollTimeout();
    assert.equal(deadline, now + TIMEOUT, 'armed when the signal went out');
    f.pm.handleTimeout(deadline! - 1);
    assert.equal(f.pm.signalDue(), false, 'not before the deadline');
    now = deadline!;
    f.pm.handleTimeout(now);
    sent.push(show(f.pm.pollSignal(now, 40)));
  }
  assert.deepEqual(sent, [
    'add_addr id 1 198.18.0.2 hmac',
    ...Array.from({ length: ADD_ADDR_RETRANS_MAX }, () => 'add_addr id 1 198.18.0.2 hmac'),
    'add_addr id 2 198.18.0.3 hmac',
  ]);
});

test('the echo ends the retransmission and lets the next ADD_ADDR go; an echo of another address is ignored', () => {
  const f = fixture(['198.18.0.2 signal', '198.18.0.3 signal'], '');
  f.start();
  f.pm.fullyEstablished();
  f.pm.pollSignal(0, 40);
  f.pm.addAddrEchoed(1, ip('198.18.0.9'));
  assert.notEqual(f.pm.pollTimeout(), undefined, 'a wrong address does not count as the echo');
  f.pm.addAddrEchoed(1, ip('198.18.0.2'));
  assert.equal(f.pm.pollTimeout(), undefined);
  assert.equal(show(f.pm.pollSignal(0, 40)), 'add_addr id 2 198.18.0.3 hmac');
});

test('a received ADD_ADDR: echoed (no HMAC), and with add_addr_accepted a subflow request the host takes once', () => {
  const f = fixture([], 'add_addr_accepted 1');
  f.start();
  f.pm.fullyEstablished();
  f.pm.addAddrReceived({ id: 4, address: ip('198.18.1.2'), port: 0 });
  assert.equal(show(f.pm.pollSignal(0, 40)), 'echo id 4 198.18.1.2');
  assert.equal(f.requests(), 1, 'the connection was told (it tells its host)');
  assert.equal(f.pm.hasSubflowRequests(), true);
  const r = f.pm.takeSubflowRequests();
  assert.equal(r.length, 1);
  assert.equal(formatAddress(r[0]!.remoteAddress), '198.18.1.2');
  assert.equal(r[0]!.remoteId, 4);
  assert.equal(r[0]!.localAddress, undefined, 'no fullmesh endpoint: any local address');
  assert.equal(f.pm.hasSubflowRequests(), false);
  assert.deepEqual(f.pm.takeSubflowRequests(), []);
  // Over the limit: the second is only echoed.
  f.pm.addAddrReceived({ id: 5, address: ip('198.18.1.3'), port: 0 });
  assert.equal(show(f.pm.pollSignal(0, 40)), 'echo id 5 198.18.1.3');
  assert.equal(f.pm.hasSubflowRequests(), false);
});

test('limits: subflow endpoints beyond the subflows limit are not joined; acceptsJoin follows the count', () => {
  const f = fixture(['198.18.0.2 subflow', '198.18.0.3 subflow', '198.18.0.4 subflow'], 'subflows 2');
  f.start();
  assert.equal(f.pm.acceptsJoin(), true);
  f.pm.fullyEstablished();
  const r = f.pm.takeSubflowRequests();
  assert.deepEqual(r.map((x) => formatAddress(x.localAddress!)), ['198.18.0.2', '198.18.0.3']);
  for (const x of r) f.subflows.push({ localId: x.localId, localAddress: x.localAddress!, remoteId: x.remoteId, remoteAddress: x.remoteAddress, remotePort: x.remotePort, initial: false, endpointId: x.endpointId });
  assert.equal(f.pm.acceptsJoin(), false, 'two joins: the limit is reached');
  f.subflows.pop();
  f.pm.subflowClosed();
  // The freed slot goes to the endpoint not used yet (pm_kernel.c does not re-create a used endpoint's subflow).
  assert.deepEqual(f.pm.takeSubflowRequests().map((x) => formatAddress(x.localAddress!)), ['198.18.0.4']);
  assert.equal(f.pm.acceptsJoin(), true, 'the request was taken: one join live, one slot free for the peer');
});

test('mayAct false: decisions wait (state kept) until the next event while it may act', () => {
  const f = fixture(['198.18.0.2 subflow'], '');
  f.start();
  f.connection.mayAct = false;
  f.pm.fullyEstablished();
  assert.equal(f.pm.hasSubflowRequests(), false);
  f.connection.mayAct = true;
  f.pm.endpointsChanged();
  assert.equal(f.pm.takeSubflowRequests().length, 1);
});

test('our endpoint deleted: RM_ADDR with its id (first among signals), its requests dropped', () => {
  const f = fixture(['198.18.0.2 signal'], 'add_addr_accepted 1');
  f.start();
  f.pm.fullyEstablished();
  f.pm.pollSignal(0, 40); // ADD_ADDR id 1 out, not echoed
  f.pm.addAddrReceived({ id: 7, address: ip('198.18.1.7'), port: 0 }); // an echo queued
  f.table.delete(1);
  f.pm.addressRemoved({ id: 1, address: ip('198.18.0.2') }, false);
  assert.equal(f.pm.pollTimeout(), undefined, 'the ADD_ADDR of a deleted endpoint is not retransmitted');
  assert.equal(f.pm.pollSignal(0, 2), undefined, 'RM_ADDR with one id needs 4 bytes');
  assert.equal(show(f.pm.pollSignal(0, 40)), 'rm_addr 1');
  assert.equal(show(f.pm.pollSignal(0, 40)), 'echo id 7 198.18.1.7');
  assert.equal(f.pm.signalDue(), false);
});

test('the peer RM_ADDR: its pending requests dropped, its subflows closed through the connection', () => {
  const f = fixture([], 'add_addr_accepted 2 subflows 2');
  f.start();
  f.pm.fullyEstablished();
  f.pm.addAddrReceived({ id: 3, address: ip('198.18.1.3'), port: 0 });
  const [r] = f.pm.takeSubflowRequests();
  f.subflows.push({ localId: 1, localAddress: ip('198.18.0.1'), remoteId: 3, remoteAddress: r!.remoteAddress, remotePort: 5201, initial: false });
  f.pm.addAddrReceived({ id: 4, address: ip('198.18.1.4'), port: 0 });
  assert.equal(f.pm.hasSubflowRequests(), true);
  assert.equal(f.pm.rmAddrReceived([3, 4]), 1, 'one subflow reset by the manager');
  assert.equal(f.pm.hasSubflowRequests(), false, 'the request to id 4 is gone');
  assert.ok(f.log.includes('close local * remote 3 (peer): 1'), f.log.join('; '));
});
