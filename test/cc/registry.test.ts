import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_CONGESTION_CONTROL,
  checkCongestionControl,
  congestionControlNames,
  isCoupledCongestionControl,
  createCongestionControl,
  registerCongestionControl,
} from '../../src/cc/registry.js';
import { RenoController } from '../../src/cc/reno.js';
import { CubicController, cubicFactory } from '../../src/cc/cubic.js';
import type { CongestionController } from '../../src/cc/types.js';

const params = { mss: 1460, now: 0 };

test('registry: reno and cubic are registered; cubic is the default', () => {
  const names = congestionControlNames();
  assert.ok(names.includes('reno'));
  assert.ok(names.includes('cubic'));
  assert.deepEqual(names, [...names].sort());
  assert.equal(DEFAULT_CONGESTION_CONTROL, 'cubic');
  const cubic = createCongestionControl(DEFAULT_CONGESTION_CONTROL, params);
  assert.ok(cubic instanceof CubicController);
  assert.equal(cubic.name, 'cubic');
  const reno = createCongestionControl('reno', params);
  assert.ok(reno instanceof RenoController);
  assert.equal(reno.name, 'reno');
  assert.equal(reno.cwnd, 14600);
  assert.equal(cubic.cwnd, 14600);
});

test('registry: every call creates an independent controller', () => {
  const a = createCongestionControl('cubic', params);
  const b = createCongestionControl('cubic', params);
  assert.notEqual(a, b);
  a.onCongestionEvent(0, a.cwnd);
  assert.equal(b.cwnd, 14600);
});

test('registry: an unknown name throws an Error listing the available names', () => {
  assert.throws(
    () => createCongestionControl('vegas', params),
    (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.match(err.message, /unknown congestion control "vegas"/);
      for (const name of congestionControlNames()) assert.ok(err.message.includes(name), name);
      return true;
    },
  );
});

test('registry: custom controllers can be registered and replace by name', () => {
  const fixed = (cwnd: number) => (): CongestionController => ({
    name: 'fixed',
    cwnd,
    ssthresh: Infinity,
    onAck() {},
    onCongestionEvent() {},
    onRecoveryEnd() {},
    onRetransmissionTimeout() {},
    setMss() {},
  });
  registerCongestionControl('test-fixed', fixed(1000));
  assert.ok(congestionControlNames().includes('test-fixed'));
  assert.equal(createCongestionControl('test-fixed', params).cwnd, 1000);
  registerCongestionControl('test-fixed', fixed(2000));
  assert.equal(createCongestionControl('test-fixed', params).cwnd, 2000);
  // Variants of a built-in under their own name.
  registerCongestionControl('test-cubic-plain', cubicFactory({ hystart: false, fastConvergence: false }));
  const plain = createCongestionControl('test-cubic-plain', params);
  assert.ok(plain instanceof CubicController);
  assert.equal(plain.hystart, 'done');
  assert.throws(() => registerCongestionControl('', fixed(1)), Error);
});

test('registry: lia, olia and balia are coupled, reno and cubic are not; registration says which', () => {
  for (const name of ['lia', 'olia', 'balia']) assert.equal(isCoupledCongestionControl(name), true, name);
  for (const name of ['reno', 'cubic', 'vegas']) assert.equal(isCoupledCongestionControl(name), false, name);
  registerCongestionControl('test-coupled', (p) => createCongestionControl('lia', p), { coupled: true });
  assert.equal(isCoupledCongestionControl('test-coupled'), true);
  registerCongestionControl('test-coupled', (p) => createCongestionControl('reno', p));
  assert.equal(isCoupledCongestionControl('test-coupled'), false, 'replacing without coupled: uncoupled');
});

test('registry: checkCongestionControl returns a registered name and throws listing the names otherwise', () => {
  assert.equal(checkCongestionControl('olia'), 'olia');
  assert.throws(
    () => checkCongestionControl('bbr'),
    (err: unknown) => err instanceof Error && /unknown congestion control "bbr"; available: .*balia.*cubic.*lia.*olia.*reno/.test(err.message),
  );
});
