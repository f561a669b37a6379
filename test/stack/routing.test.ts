import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoutingTable, prefixContains } from '../../src/stack/routing.js';
import { parseAddress, formatAddress } from '../../src/wire/address.js';
import { EphemeralPorts, initialSequenceNumber, EPHEMERAL_PORT_RANGE } from '../../src/stack/isn.js';

const a = (s: string) => parseAddress(s)!;

test('prefixContains: byte and bit boundaries, families', () => {
  assert.equal(prefixContains(a('198.18.0.0'), 15, a('198.19.255.255')), true);
  assert.equal(prefixContains(a('198.18.0.0'), 15, a('198.20.0.0')), false);
  assert.equal(prefixContains(a('198.18.1.0'), 24, a('198.18.1.77')), true);
  assert.equal(prefixContains(a('198.18.1.0'), 24, a('198.18.2.77')), false);
  assert.equal(prefixContains(a('0.0.0.0'), 0, a('203.0.113.9')), true);
  assert.equal(prefixContains(a('2001:2::'), 48, a('2001:2:0:1::5')), true);
  assert.equal(prefixContains(a('2001:2::'), 48, a('2001:3::5')), false);
  assert.equal(prefixContains(a('2001:2::'), 48, a('198.18.0.1')), false);
});

test('routing: on-link routes, longest prefix wins, source selection per family', () => {
  const rt = new RoutingTable();
  rt.addInterface('eth0', ['198.18.1.2/24', '2001:2:0:1::2/64']);
  rt.addInterface('eth1', ['198.18.2.2/24']);
  rt.addRoute({ prefix: a('0.0.0.0'), prefixLength: 0, ifaceId: 1 });
  assert.equal(rt.routeFor(a('198.18.1.1'))?.ifaceId, 0);
  assert.equal(rt.routeFor(a('198.18.2.1'))?.ifaceId, 1);
  assert.equal(rt.routeFor(a('198.19.0.1'))?.ifaceId, 1, 'default route');
  assert.equal(rt.routeFor(a('2001:2:0:9::1')), undefined, 'no IPv6 default');
  assert.equal(formatAddress(rt.selectSource(a('198.18.1.1'))!.source), '198.18.1.2');
  assert.equal(formatAddress(rt.selectSource(a('198.18.2.1'))!.source), '198.18.2.2');
  assert.equal(formatAddress(rt.selectSource(a('2001:2:0:1::1'))!.source), '2001:2:0:1::2');
  assert.equal(formatAddress(rt.selectSource(a('198.19.0.1'))!.source), '198.18.2.2', 'default route: an address of its interface');
  assert.equal(rt.isLocalAddress(a('198.18.2.2')), true);
  assert.equal(rt.isLocalAddress(a('198.18.2.3')), false);
  assert.equal(rt.removeAddress(a('198.18.2.2')), true);
  assert.equal(rt.routeFor(a('198.18.2.1'))?.ifaceId, 1, 'falls back to the default route');
  assert.equal(rt.selectSource(a('198.18.2.1')), undefined, 'no address left on that interface');
  assert.throws(() => rt.addAddress(0, '198.18.1.300/24'), /bad address/);
});

test('ISN (RFC 6528): keyed by secret and 4-tuple, advancing with a 4 us clock', () => {
  const secret = new Uint8Array(32).fill(7);
  const t = { localAddress: a('198.18.0.1'), localPort: 40000, remoteAddress: a('198.18.0.2'), remotePort: 5201 };
  const isn0 = initialSequenceNumber(secret, t, 0);
  assert.equal(initialSequenceNumber(secret, t, 0), isn0, 'deterministic');
  assert.equal(initialSequenceNumber(secret, t, 4_000_000), (isn0 + 1_000_000) >>> 0, 'M ticks every 4 us');
  assert.notEqual(initialSequenceNumber(secret, { ...t, remotePort: 5202 }, 0), isn0);
  assert.notEqual(initialSequenceNumber(new Uint8Array(32).fill(8), t, 0), isn0);
});

test('ephemeral ports (RFC 6056 alg. 3): in range, skip used ports, report exhaustion', () => {
  const ports = new EphemeralPorts(new Uint8Array(32), { min: 50000, max: 50009 });
  const used = new Set<number>();
  for (let i = 0; i < 10; i++) {
    const p = ports.allocate(a('198.18.0.1'), a('198.18.0.2'), 80, (x) => !used.has(x));
    assert.ok(p !== undefined && p >= 50000 && p <= 50009);
    assert.ok(!used.has(p));
    used.add(p);
  }
  assert.equal(ports.allocate(a('198.18.0.1'), a('198.18.0.2'), 80, (x) => !used.has(x)), undefined);
  const linux = new EphemeralPorts(new Uint8Array(32));
  const p = linux.allocate(a('198.18.0.1'), a('198.18.0.2'), 80, () => true)!;
  assert.ok(p >= EPHEMERAL_PORT_RANGE.min && p <= EPHEMERAL_PORT_RANGE.max);
});
