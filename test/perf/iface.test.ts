import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IfaceSpecError, parseIfaceSpec } from '../../src/perf/iface.js';

test('tun specs: IPv4, IPv6 (canonical text), netns', () => {
  assert.deepEqual(parseIfaceSpec('tun:mp0,addr=198.18.0.2/24,peer=198.18.0.1/24'), {
    kind: 'tun',
    name: 'mp0',
    address: { address: '198.18.0.2', prefixLength: 24, family: 4 },
    peer: { address: '198.18.0.1', prefixLength: 24, family: 4 },
    spec: 'tun:mp0,addr=198.18.0.2/24,peer=198.18.0.1/24',
  });
  const v6 = parseIfaceSpec('tun:mp6,peer=FD00:0:0::1/64,addr=fd00::2/64,netns=srv-1');
  assert.equal(v6.kind, 'tun');
  if (v6.kind !== 'tun') return;
  assert.deepEqual(v6.address, { address: 'fd00::2', prefixLength: 64, family: 6 });
  assert.deepEqual(v6.peer, { address: 'fd00::1', prefixLength: 64, family: 6 });
  assert.equal(v6.netns, 'srv-1');
});

test('udp specs: address, port, bracketed IPv6, remote', () => {
  assert.deepEqual(parseIfaceSpec('udp:127.0.0.1'), { kind: 'udp', local: { address: '127.0.0.1', family: 4 }, spec: 'udp:127.0.0.1' });
  assert.deepEqual(parseIfaceSpec('udp:127.0.0.1:7001').kind === 'udp' && parseIfaceSpec('udp:127.0.0.1:7001'), {
    kind: 'udp',
    local: { address: '127.0.0.1', port: 7001, family: 4 },
    spec: 'udp:127.0.0.1:7001',
  });
  const v6 = parseIfaceSpec('udp:[::1]:7003,remote=[0:0::1]:7004');
  assert.deepEqual(v6, {
    kind: 'udp',
    local: { address: '::1', port: 7003, family: 6 },
    remote: { address: '::1', port: 7004, family: 6 },
    spec: 'udp:[::1]:7003,remote=[0:0::1]:7004',
  });
  const bare6 = parseIfaceSpec('udp:fd00::2');
  assert.deepEqual(bare6.kind === 'udp' && bare6.local, { address: 'fd00::2', family: 6 });
  const bracket6 = parseIfaceSpec('udp:[fd00::2]');
  assert.deepEqual(bracket6.kind === 'udp' && bracket6.local, { address: 'fd00::2', family: 6 });
  const inner = parseIfaceSpec('udp:0.0.0.0:7000,addr=2001:2::5/64,mtu=1400');
  assert.deepEqual(inner.kind === 'udp' && [inner.address, inner.mtu], [{ address: '2001:2::5', prefixLength: 64, family: 6 }, 1400]);
  const tunMtu = parseIfaceSpec('tun:mp0,addr=198.18.0.2/24,peer=198.18.0.1/24,mtu=9000');
  assert.equal(tunMtu.kind === 'tun' && tunMtu.mtu, 9000);
});

test('bad specs: one clear message naming the spec and the problem', () => {
  const cases: Array<[string, RegExp]> = [
    ['eth0', /expected 'tun:NAME/],
    ['gre:x', /unknown interface kind 'gre'/],
    ['tun:', /missing the device NAME/],
    ['tun:addr=1.2.3.4/24', /NAME comes first/],
    ['tun:waytoolongname0123,addr=1.2.3.4/24,peer=1.2.3.5/24', /1-15 characters/],
    ['tun:a/b,addr=1.2.3.4/24,peer=1.2.3.5/24', /1-15 characters/],
    ['tun:mp0,peer=1.2.3.5/24', /missing addr=/],
    ['tun:mp0,addr=1.2.3.4/24', /missing peer=/],
    ['tun:mp0,addr=1.2.3.4,peer=1.2.3.5/24', /addr=1.2.3.4: missing the prefix length/],
    ['tun:mp0,addr=1.2.3.4/33,peer=1.2.3.5/24', /not an IPv4\/IPv6 address with a valid prefix/],
    ['tun:mp0,addr=1.2.3.400/24,peer=1.2.3.5/24', /not an IPv4\/IPv6 address/],
    ['tun:mp0,addr=1.2.3.4/24,peer=fd00::1/64', /addr is IPv4 but peer is IPv6/],
    ['tun:mp0,addr=1.2.3.4/24,peer=1.2.3.4/24', /must differ/],
    ['tun:mp0,addr=1.2.3.4/24,peer=1.2.3.5/24,qlen=1400', /unknown option 'qlen' \(allowed: addr, peer, netns, mtu\)/],
    ['tun:mp0,addr=1.2.3.4/24,peer=1.2.3.5/24,mtu=100', /mtu=100: expected an integer 1280-65487/],
    ['tun:mp0,addr=1.2.3.4/24,addr=1.2.3.6/24,peer=1.2.3.5/24', /'addr' given twice/],
    ['tun:mp0,addr=1.2.3.4/24,peer=1.2.3.5/24,netns=', /empty value for 'netns'/],
    ['tun:mp0,addr=1.2.3.4/24,peer=1.2.3.5/24,netns=a b', /bad netns name/],
    ['tun:mp0,addr', /expected KEY=VALUE, got 'addr'/],
    ['udp:', /missing the local ADDR/],
    ['udp:localhost:7000', /'localhost' is not an IPv4 or IPv6 address \(names are not resolved\)/],
    ['udp:127.0.0.1:70000', /port '70000' is not a number 0-65535/],
    ['udp:127.0.0.1:x', /port 'x'/],
    ['udp:[::1', /missing '\]'/],
    ['udp:[::1]7000', /expected ':PORT' after '\]'/],
    ['udp:127.0.0.1,remote=127.0.0.2', /remote '127.0.0.2' needs a port/],
    ['udp:127.0.0.1,remote=[::1]:5', /local address is IPv4 but remote is IPv6/],
    ['udp:127.0.0.1,peer=1.2.3.4:5', /unknown option 'peer' \(allowed: remote, addr, mtu\)/],
    ['udp:127.0.0.1,addr=198.18.0.1', /addr=198.18.0.1: missing the prefix length/],
    ['udp:0.0.0.0:7000', /wildcard address 0.0.0.0 cannot be the stack's own address: give addr=ADDR\/PREFIX/],
    ['udp:127.0.0.1,mtu=x', /mtu=x: expected an integer/],
  ];
  for (const [spec, re] of cases) {
    assert.throws(
      () => parseIfaceSpec(spec),
      (err: unknown) => {
        assert.ok(err instanceof IfaceSpecError, spec);
        assert.match(err.message, re, spec);
        assert.ok(err.message.startsWith(`bad --iface '${spec}': `), err.message);
        assert.ok(!err.message.includes('\n'));
        return true;
      },
    );
  }
});
