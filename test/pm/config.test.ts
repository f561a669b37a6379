// Endpoint and limits parsing, formatting and the endpoint table, against what Linux 6.18 with iproute2 6.1
// accepted, refused and printed in a private namespace (`ip -n NS mptcp endpoint add ...`, `endpoint show`,
// `limits show`); the expected texts below are copied from that output (trailing space trimmed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_LIMITS,
  EndpointTable,
  formatEndpoint,
  formatLimits,
  parseEndpoint,
  parseLimits,
  PmConfigError,
} from '../../src/pm/config.js';

const code = (fn: () => unknown, expected: string) =>
  assert.throws(fn, (e: unknown) => e instanceof PmConfigError && e.code === expected);

test('parseEndpoint: the issue example and round trip', () => {
  const e = parseEndpoint('198.18.1.2 id 2 port 5300 signal backup dev eth1');
  assert.deepEqual(
    { ...e, address: [...e.address] },
    { address: [198, 18, 1, 2], port: 5300, id: 2, dev: 'eth1', signal: true, subflow: false, backup: true, fullmesh: false },
  );
  assert.equal(formatEndpoint(e), '198.18.1.2 port 5300 id 2 signal backup dev eth1');
  for (const text of ['198.18.0.2 id 1 subflow backup', '198.18.1.6 id 3 subflow backup fullmesh dev veth2', '2001:2::5 id 13 signal backup', '198.18.1.3 id 1 signal']) {
    assert.equal(formatEndpoint(parseEndpoint(text)), text);
  }
  assert.equal(formatEndpoint(parseEndpoint('fullmesh subflow 198.18.1.4')), '198.18.1.4 subflow fullmesh');
  assert.equal(parseEndpoint('198.18.1.7 id 0x10 subflow').id, 16); // iproute2 get_u8 base 0
  assert.equal(parseEndpoint('198.18.1.7 i 7 subflow').id, 7); // matches() prefix
  // The kernel accepts a fullmesh endpoint without subflow (used when an ADD_ADDR arrives).
  assert.equal(parseEndpoint('198.18.1.6 fullmesh').fullmesh, true);
});

test('parseEndpoint: every refusal', () => {
  code(() => parseEndpoint(''), 'PM_MISSING_ADDRESS');
  code(() => parseEndpoint('signal'), 'PM_MISSING_ADDRESS');
  code(() => parseEndpoint('bogus'), 'PM_BAD_ADDRESS');
  code(() => parseEndpoint('198.18.1.300 signal'), 'PM_BAD_ADDRESS');
  code(() => parseEndpoint('198.18.1.18 bogus'), 'PM_UNKNOWN_ARGUMENT');
  code(() => parseEndpoint('198.18.1.11 port 70000 signal'), 'PM_BAD_PORT');
  code(() => parseEndpoint('198.18.1.11 port -1 signal'), 'PM_BAD_PORT');
  code(() => parseEndpoint('198.18.1.11 signal port'), 'PM_MISSING_VALUE');
  code(() => parseEndpoint('198.18.1.9 id 256'), 'PM_BAD_ID');
  code(() => parseEndpoint('198.18.1.9 id 0'), 'PM_BAD_ID');
  code(() => parseEndpoint('198.18.1.8 id abc subflow'), 'PM_BAD_ID');
  code(() => parseEndpoint('198.18.1.5 signal fullmesh'), 'PM_BAD_FLAGS');
  code(() => parseEndpoint('198.18.1.13 fullmesh subflow signal'), 'PM_BAD_FLAGS');
  code(() => parseEndpoint('198.18.1.7 port 5301 subflow'), 'PM_BAD_FLAGS');
  code(() => parseEndpoint('198.18.1.8 port 5301'), 'PM_BAD_FLAGS');
  code(() => parseEndpoint('198.18.1.3 port 5301 signal subflow'), 'PM_BAD_FLAGS');
  code(() => parseEndpoint('198.18.1.5 implicit'), 'PM_BAD_FLAGS');
  code(() => parseEndpoint('198.18.1.5 dev a/b'), 'PM_UNKNOWN_ARGUMENT');
  assert.match(String((() => { try { parseEndpoint('198.18.1.5 signal fullmesh'); } catch (e) { return e; } })()), /signal and fullmesh/);
});

test('parseLimits / formatLimits: defaults, partial updates, maximum 8', () => {
  assert.equal(formatLimits(DEFAULT_LIMITS), 'add_addr_accepted 0 subflows 2');
  assert.deepEqual(parseLimits('subflows 2 add_addr_accepted 2'), { subflows: 2, addAddrAccepted: 2 });
  assert.deepEqual(parseLimits('add_addr_accepted 3'), { subflows: 2, addAddrAccepted: 3 });
  const eight = parseLimits('subflows 8 add_addr_accepted 8');
  assert.equal(formatLimits(eight), 'add_addr_accepted 8 subflows 8');
  assert.equal(formatLimits(parseLimits('add_addr_accepted 3', eight)), 'add_addr_accepted 3 subflows 8');
  assert.deepEqual(parseLimits('subflow 3', { subflows: 8, addAddrAccepted: 3 }), { subflows: 3, addAddrAccepted: 3 }); // prefix, as iproute2
  assert.deepEqual(parseLimits(''), DEFAULT_LIMITS);
  code(() => parseLimits('subflows 9'), 'PM_BAD_LIMIT');
  code(() => parseLimits('add_addr_accepted 9'), 'PM_BAD_LIMIT');
  code(() => parseLimits('subflows -1'), 'PM_BAD_LIMIT');
  code(() => parseLimits('subflows x'), 'PM_BAD_LIMIT');
  code(() => parseLimits('subflows'), 'PM_MISSING_VALUE');
  code(() => parseLimits('signal 2'), 'PM_UNKNOWN_ARGUMENT');
});

test('EndpointTable: ids like the kernel, show text, duplicates, 8 at most', () => {
  const t = new EndpointTable();
  // The kernel session: auto ids 1, 2, 3, a given id 16 moves next_id, a given 255 then wraps.
  t.add('198.18.1.3 signal');
  t.add('198.18.1.2 signal');
  t.add('198.18.1.6 subflow backup fullmesh dev veth2');
  t.add('198.18.1.7 id 16 subflow');
  t.add('2001:2::1 id 255 subflow');
  assert.equal(
    t.format(),
    '198.18.1.3 id 1 signal\n198.18.1.2 id 2 signal\n198.18.1.6 id 3 subflow backup fullmesh dev veth2\n198.18.1.7 id 16 subflow\n2001:2::1 id 255 subflow\n',
  );
  code(() => t.add('198.18.1.10 id 2'), 'PM_ID_IN_USE');
  code(() => t.add('198.18.1.2 id 10'), 'PM_DUPLICATE');
  code(() => t.add('198.18.1.2 subflow'), 'PM_DUPLICATE');
  // next_id reached 255: allocation wraps to the lowest free id.
  assert.equal(t.add('198.18.1.20').id, 4);
  assert.equal(t.add('198.18.1.30 port 5300 signal').id, 5);
  assert.equal(t.list()[0]!.port, 5300); // endpoints with a port lead the kernel's list
  t.add('198.18.1.30 port 5302 signal'); // same address, other port: allowed for port endpoints
  code(() => t.add('198.18.1.40'), 'PM_TOO_MANY');
  assert.equal(t.list().length, 8);

  t.change(3, 'nofullmesh');
  assert.equal(formatEndpoint(t.get(3)!), '198.18.1.6 id 3 subflow dev veth2'); // backup cleared too, as the kernel
  t.change('198.18.1.6', 'backup');
  assert.equal(formatEndpoint(t.get(3)!), '198.18.1.6 id 3 subflow backup dev veth2');
  code(() => t.change(2, 'fullmesh'), 'PM_BAD_FLAGS');
  code(() => t.change(3, 'signal'), 'PM_BAD_FLAGS');
  code(() => t.change(99, 'backup'), 'PM_NOT_FOUND');
  assert.equal(t.delete(255).id, 255);
  code(() => t.delete(255), 'PM_NOT_FOUND');
  assert.equal(t.delete('198.18.1.7').id, 16);
  t.flush();
  assert.equal(t.format(), '');
  assert.equal(t.add('198.18.1.3 subflow').id, 1);
});
