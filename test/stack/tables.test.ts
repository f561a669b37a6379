// The host's parts on their own: listeners (listeners.ts), MPTCP settings (settings.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ListenerTable } from '../../src/stack/listeners.js';
import { MptcpSettings } from '../../src/stack/settings.js';
import { EPHEMERAL_PORT_RANGE } from '../../src/stack/isn.js';
import { parseAddress } from '../../src/wire/address.js';

const ip = (s: string) => parseAddress(s)!;

test('listeners: an address-bound listener wins over a wildcard one on the same port; close removes it', () => {
  const t = new ListenerTable();
  const any = t.add(80, undefined, {});
  const bound = t.add(8080, ip('198.18.0.2'), { mptcp: true });
  const boundOn80 = (() => {
    try {
      return t.add(80, ip('198.18.0.2'), {});
    } catch (e) {
      return e as Error;
    }
  })();
  assert.match(String(boundOn80), /EADDRINUSE/, 'a wildcard listener holds the port on every address');
  assert.equal(t.find(ip('198.18.0.2'), 80), any);
  assert.equal(t.find(ip('198.18.0.2'), 8080), bound);
  assert.equal(t.find(ip('198.18.0.3'), 8080), undefined, 'bound to another address');
  assert.deepEqual(bound.mptcp, { mptcp: true, checksum: false });
  assert.equal(any.backlog, 4096);
  bound.close();
  assert.equal(bound.closed, true);
  assert.equal(t.find(ip('198.18.0.2'), 8080), undefined);
  const a = t.add(8080, ip('198.18.0.2'), {});
  const b = t.add(8080, ip('198.18.0.3'), {});
  assert.equal(t.find(ip('198.18.0.3'), 8080), b);
  assert.equal(t.find(ip('198.18.0.2'), 8080), a);
});

test('listeners: port 0 takes the highest free ephemeral port', () => {
  const t = new ListenerTable();
  assert.equal(t.freePort(), EPHEMERAL_PORT_RANGE.max);
  t.add(t.freePort(), undefined, {});
  assert.equal(t.freePort(), EPHEMERAL_PORT_RANGE.max - 1);
});

test('settings: unknown scheduler or path manager refused with the names available; limits from words keep the rest', () => {
  const s = new MptcpSettings();
  assert.equal(s.scheduler, 'default');
  assert.equal(s.pathManager, 'kernel');
  assert.throws(() => s.setScheduler('nope'), /unknown MPTCP scheduler "nope"; available: .*default/);
  assert.throws(() => s.setPathManager('nope'), /unknown MPTCP path manager "nope"; available: .*kernel/);
  s.setScheduler('roundrobin');
  assert.equal(s.scheduler, 'roundrobin');
  s.setLimits('subflows 4');
  s.setLimits('add_addr_accepted 3');
  assert.deepEqual(s.limits, { subflows: 4, addAddrAccepted: 3 });
});

test('settings: the path manager reads the live table and limits, and the ADD_ADDR timeout as it was', () => {
  const s = new MptcpSettings();
  s.addAddrTimeoutMicros = 5_000_000;
  const pm = s.pathManagerConfig();
  s.addAddrTimeoutMicros = 1;
  s.replaceEndpoints(['198.18.2.1 id 5 signal']);
  s.setLimits('subflows 3');
  assert.equal(pm.addAddrTimeoutMicros, 5_000_000);
  assert.deepEqual(pm.endpoints().map((e) => e.id), [5]);
  assert.equal(pm.limits().subflows, 3);
});

test('settings: a signal endpoint with a port takes MP_JOIN SYNs on that port only', () => {
  const s = new MptcpSettings();
  s.endpoints.add('198.18.2.1 port 6000 signal');
  s.endpoints.add('198.18.3.1 signal');
  assert.equal(s.isJoinPort(ip('198.18.2.1'), 6000), true);
  assert.equal(s.isJoinPort(ip('198.18.2.1'), 6001), false);
  assert.equal(s.isJoinPort(ip('198.18.3.1'), 0), false);
  assert.equal(s.isJoinPort(ip('198.18.3.1'), 5201), false);
});
