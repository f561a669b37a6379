// Decisions of the kernel-style path manager for the issue's scenarios (what Linux's pm_kernel.c does with
// the same endpoints and limits).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EndpointTable, parseLimits } from '../../src/pm/config.js';
import { acceptJoin, initialPmState, step, type KernelPmState, type PmAction } from '../../src/pm/kernel-pm.js';
import { formatAddress, parseAddress } from '../../src/wire/address.js';

const ip = (s: string) => parseAddress(s)!;

/** Actions as short text, so that expectations read like the scenario. */
function show(actions: PmAction[]): string[] {
  return actions.map((a) => {
    switch (a.kind) {
      case 'announce': return `announce id ${a.id} ${formatAddress(a.address)}${a.port ? ` port ${a.port}` : ''}`;
      case 'echoAddAddr': return `echo id ${a.id} ${formatAddress(a.address)}`;
      case 'createSubflow':
        return `join ${a.localAddress ? formatAddress(a.localAddress) : 'any'}#${a.localId} -> ${formatAddress(a.remoteAddress)}:${a.remotePort}#${a.remoteId}${a.backup ? ' backup' : ''}`;
      case 'removeAddress': return `rm_addr id ${a.id}`;
      case 'closeSubflow': return `close local ${a.localId ?? '*'} remote ${a.remoteId ?? '*'}`;
      case 'setBackup': return `mp_prio backup=${a.backup}`;
    }
  });
}

function pm(endpoints: string[], limits: string, local: string, remote: string, extra: Partial<KernelPmState> = {}): KernelPmState {
  const table = new EndpointTable();
  for (const e of endpoints) table.add(e);
  return {
    ...initialPmState({ endpoints: table.list(), limits: parseLimits(limits), initialLocal: { address: ip(local), port: 40000 }, initialRemote: { address: ip(remote), port: 5201 } }),
    fullyEstablished: true,
    ...extra,
  };
}

/** Runs step() and returns the new state with the actions as text. */
function run(state: KernelPmState): [KernelPmState, string[]] {
  const r = step(state);
  return [r.state, show(r.actions)];
}

test('client subflow endpoint => one join to the initial remote address', () => {
  let s = pm(['198.18.0.2 subflow'], '', '198.18.0.1', '198.18.1.1', { fullyEstablished: false });
  let a: string[];
  [s, a] = run(s);
  assert.deepEqual(a, []); // nothing before fully established
  [s, a] = run({ ...s, fullyEstablished: true });
  assert.deepEqual(a, ['join 198.18.0.2#1 -> 198.18.1.1:5201#0']);
  [s, a] = run(s);
  assert.deepEqual(a, []);
  assert.equal(s.subflows.length, 2);
});

test('server signal => ANNOUNCE one at a time; client with add_addr_accepted 1 echoes and joins', () => {
  let server = pm(['198.18.1.2 signal', '198.18.1.3 signal'], '', '198.18.1.1', '198.18.0.1');
  let a: string[];
  [server, a] = run(server);
  assert.deepEqual(a, ['announce id 1 198.18.1.2']);
  [server, a] = run(server);
  assert.deepEqual(a, []); // the first is not echoed yet
  [server, a] = run({ ...server, announcePending: false });
  assert.deepEqual(a, ['announce id 2 198.18.1.3']);

  const added = { receivedAddAddrs: [{ id: 1, address: ip('198.18.1.2'), port: 0 }] };
  let client = pm([], 'add_addr_accepted 1', '198.18.0.1', '198.18.1.1', added);
  [client, a] = run(client);
  assert.deepEqual(a, ['echo id 1 198.18.1.2', 'join any#-1 -> 198.18.1.2:5201#1']);
  assert.equal(client.acceptedAddAddrs, 1);
  // The second ADD_ADDR is over the add_addr_accepted limit: echoed only.
  [client, a] = run({ ...client, receivedAddAddrs: [{ id: 2, address: ip('198.18.1.3'), port: 5300 }] });
  assert.deepEqual(a, ['echo id 2 198.18.1.3']);
  // Default limits (add_addr_accepted 0): echoed only.
  [, a] = run(pm([], '', '198.18.0.1', '198.18.1.1', added));
  assert.deepEqual(a, ['echo id 1 198.18.1.2']);
});

test('fullmesh with 2x2 addresses => 4 subflows within the limits', () => {
  const endpoints = ['198.18.0.1 subflow fullmesh', '198.18.0.2 subflow fullmesh'];
  let c = pm(endpoints, 'subflows 3 add_addr_accepted 1', '198.18.0.1', '198.18.1.1');
  let a: string[];
  [c, a] = run(c);
  assert.deepEqual(a, ['join 198.18.0.2#2 -> 198.18.1.1:5201#0']); // endpoint 1 is the initial address
  [c, a] = run({ ...c, receivedAddAddrs: [{ id: 1, address: ip('198.18.1.2'), port: 0 }] });
  assert.deepEqual(a, ['echo id 1 198.18.1.2', 'join 198.18.0.1#0 -> 198.18.1.2:5201#1', 'join 198.18.0.2#2 -> 198.18.1.2:5201#1']);
  assert.equal(c.subflows.length, 4);
  // With subflows 2 the same exchange stops at 3 subflows.
  let d = pm(endpoints, 'subflows 2 add_addr_accepted 1', '198.18.0.1', '198.18.1.1');
  [d] = run(d);
  [d, a] = run({ ...d, receivedAddAddrs: [{ id: 1, address: ip('198.18.1.2'), port: 0 }] });
  assert.deepEqual(a, ['echo id 1 198.18.1.2', 'join 198.18.0.1#0 -> 198.18.1.2:5201#1']);
  assert.equal(d.subflows.length, 3);
});

test('the subflows limit bounds the joins; acceptJoin follows it', () => {
  let s = pm(['198.18.0.2 subflow', '198.18.0.3 subflow backup', '198.18.0.4 subflow'], 'subflows 2', '198.18.0.1', '198.18.1.1');
  let a: string[];
  [s, a] = run(s);
  assert.deepEqual(a, ['join 198.18.0.2#1 -> 198.18.1.1:5201#0', 'join 198.18.0.3#2 -> 198.18.1.1:5201#0 backup']);
  assert.equal(acceptJoin(s), false);
  [, a] = run(pm(['198.18.0.2 subflow'], 'subflows 0', '198.18.0.1', '198.18.1.1'));
  assert.deepEqual(a, []);
  assert.equal(acceptJoin(pm([], 'subflows 1', '198.18.1.1', '198.18.0.1')), true);
});

test('never a join across address families', () => {
  const v6add = { receivedAddAddrs: [{ id: 3, address: ip('2001:2::2'), port: 0 }] };
  // An IPv4 connection: the IPv6 endpoint is not used, the IPv6 ADD_ADDR is only echoed.
  let [, a] = run(pm(['2001:2::1 subflow', '198.18.0.2 subflow'], 'subflows 4 add_addr_accepted 4', '198.18.0.1', '198.18.1.1', v6add));
  assert.deepEqual(a, ['echo id 3 2001:2::2', 'join 198.18.0.2#2 -> 198.18.1.1:5201#0']);
  // A dual-stack IPv6 connection: IPv6 to IPv6 only, the IPv4 endpoint makes no join to an IPv6 peer.
  [, a] = run(pm(['198.18.0.2 subflow', '2001:2::3 subflow'], 'subflows 4 add_addr_accepted 4', '2001:2::1', '2001:2::9', v6add));
  assert.deepEqual(a, ['echo id 3 2001:2::2', 'join any#-1 -> 2001:2::2:5201#3', 'join 2001:2::3#2 -> 2001:2::9:5201#0']);
  // Mixed endpoints with fullmesh: each local only meets remotes of its family.
  const mixed = pm(['2001:2::1 subflow fullmesh', '198.18.0.2 subflow fullmesh'], 'subflows 8 add_addr_accepted 8', '198.18.0.1', '198.18.1.1', { socketIsV6: true });
  [, a] = run({ ...mixed, receivedAddAddrs: [{ id: 1, address: ip('2001:2::9'), port: 0 }] });
  assert.deepEqual(a, ['echo id 1 2001:2::9', 'join 2001:2::1#1 -> 2001:2::9:5201#1', 'join 198.18.0.2#2 -> 198.18.1.1:5201#0']);
});

test('C flag: no join to the initial address, joins to announced ones still allowed', () => {
  let [, a] = run(pm(['198.18.0.2 subflow', '198.18.0.3 subflow fullmesh'], 'subflows 4', '198.18.0.1', '198.18.1.1', { denyJoinId0: true }));
  assert.deepEqual(a, []);
  [, a] = run(pm([], 'add_addr_accepted 1', '198.18.0.1', '198.18.1.1', { denyJoinId0: true, receivedAddAddrs: [{ id: 1, address: ip('198.18.1.2'), port: 0 }] }));
  assert.deepEqual(a, ['echo id 1 198.18.1.2', 'join any#-1 -> 198.18.1.2:5201#1']);
});

test('signal+subflow endpoint, backup initial endpoint, port endpoints first', () => {
  const [, a] = run(pm(['198.18.0.1 signal backup', '198.18.0.2 signal subflow', '198.18.0.3 port 5300 signal'], '', '198.18.0.1', '198.18.1.1'));
  // The initial address's endpoint is never announced: MP_PRIO instead; the port endpoint leads the list.
  // The signal+subflow endpoint not announced yet is still a subflow endpoint (select_local_address).
  assert.deepEqual(a, ['mp_prio backup=true', 'announce id 3 198.18.0.3 port 5300', 'join 198.18.0.2#2 -> 198.18.1.1:5201#0']);
  const [, b] = run(pm(['198.18.0.2 signal subflow'], '', '198.18.0.1', '198.18.1.1'));
  assert.deepEqual(b, ['announce id 1 198.18.0.2', 'join 198.18.0.2#1 -> 198.18.1.1:5201#0']);
});

test('removal: a deleted endpoint sends RM_ADDR and closes its subflows; a peer RM_ADDR frees the slot', () => {
  const table = new EndpointTable();
  table.add('198.18.0.2 subflow');
  table.add('198.18.0.3 signal');
  let s: KernelPmState = {
    ...initialPmState({ endpoints: table.list(), limits: parseLimits('add_addr_accepted 1'), initialLocal: { address: ip('198.18.0.1'), port: 40000 }, initialRemote: { address: ip('198.18.1.1'), port: 5201 } }),
    fullyEstablished: true,
  };
  let a: string[];
  [s, a] = run(s);
  assert.deepEqual(a, ['announce id 2 198.18.0.3', 'join 198.18.0.2#1 -> 198.18.1.1:5201#0']);
  table.delete(1);
  table.delete(2);
  [s, a] = run({ ...s, endpoints: table.list(), announcePending: false });
  assert.deepEqual(a, ['rm_addr id 2', 'rm_addr id 1', 'close local 1 remote *']);
  assert.equal(s.subflows.length, 1);

  [s, a] = run({ ...s, receivedAddAddrs: [{ id: 5, address: ip('198.18.1.5'), port: 0 }] });
  assert.deepEqual(a, ['echo id 5 198.18.1.5', 'join any#-1 -> 198.18.1.5:5201#5']);
  [s, a] = run({ ...s, removedRemoteIds: [5] });
  assert.deepEqual(a, ['close local * remote 5']);
  assert.equal(s.acceptedAddAddrs, 0);
  [s, a] = run({ ...s, receivedAddAddrs: [{ id: 6, address: ip('198.18.1.6'), port: 0 }] });
  assert.deepEqual(a, ['echo id 6 198.18.1.6', 'join any#-1 -> 198.18.1.6:5201#6']);
});

test('the initial address\'s endpoint deleted and added again (mptcp_net-next #615): joined again from that address with address id 0, once', () => {
  const endpoints = ['198.18.0.2 id 42 subflow', '198.18.2.2 id 43 subflow'];
  let s = pm(endpoints, 'subflows 2', '198.18.0.2', '198.18.1.1');
  let a: string[];
  [s, a] = run(s);
  assert.deepEqual(a, ['join 198.18.2.2#43 -> 198.18.1.1:5201#0'], 'the MPC endpoint opens nothing while its subflow lives');
  // Deleted (the initial subflow closed with it), then added again: the manager marks it free.
  const withoutInitial = s.subflows.filter((x) => !x.initial);
  [s, a] = run({ ...s, subflows: withoutInitial });
  assert.deepEqual(a, [], 'not without the mark');
  [s, a] = run({ ...s, subflows: withoutInitial, mpcEndpointFree: true });
  assert.deepEqual(a, ['join 198.18.0.2#0 -> 198.18.1.1:5201#0']);
  [s, a] = run(s);
  assert.deepEqual(a, [], 'once');
});
