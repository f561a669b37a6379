import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/emu/random.js';

test('rng: xoshiro128** known answers from state [1, 2, 3, 4]', () => {
  const r = Rng.fromState([1, 2, 3, 4]);
  assert.deepEqual(
    Array.from({ length: 6 }, () => r.nextU32()),
    [11520, 0, 5927040, 70819200, 2031721883, 1637235492],
  );
  const snap = Rng.fromState(r.state);
  assert.equal(snap.nextU32(), r.nextU32());
});

test('rng: same seed same stream, different seeds differ; numbers and strings both work', () => {
  const take = (r: Rng) => Array.from({ length: 8 }, () => r.nextU32());
  assert.deepEqual(take(new Rng(42)), take(new Rng(42)));
  assert.notDeepEqual(take(new Rng(42)), take(new Rng(43)));
  assert.notDeepEqual(take(new Rng(42)), take(new Rng(-42)));
  assert.notDeepEqual(take(new Rng(1)), take(new Rng(2 ** 32 + 1)));
  assert.deepEqual(take(new Rng('abc')), take(new Rng('abc')));
  assert.notDeepEqual(take(new Rng('abc')), take(new Rng('abd')));
  assert.throws(() => new Rng(1.5), RangeError);
});

test('rng: fork depends on (seed, label) only, not on the parent position or fork order', () => {
  const take = (r: Rng) => Array.from({ length: 8 }, () => r.nextU32());
  const a = new Rng(7);
  const fa = a.fork('client>server');
  const b = new Rng(7);
  for (let i = 0; i < 100; i++) b.nextU32();
  b.fork('other');
  assert.deepEqual(take(b.fork('client>server')), take(fa));
  assert.deepEqual(take(Rng.derive(7, 'client>server')), take(new Rng(7).fork('client>server')));
  assert.notDeepEqual(take(a.fork('x')), take(a.fork('y')));
  assert.notDeepEqual(take(a.fork('x').fork('y')), take(a.fork('y').fork('x')));
  assert.notDeepEqual(take(new Rng(8).fork('x')), take(new Rng(7).fork('x')));
});

test('rng: next() in [0, 1) with a uniform-looking mean and variance; nextInt inclusive; normal moments', () => {
  const r = new Rng(3);
  const n = 200_000;
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < n; i++) {
    const x = r.next();
    assert.ok(x >= 0 && x < 1);
    sum += x;
    sumSq += x * x;
  }
  const mean = sum / n;
  assert.ok(Math.abs(mean - 0.5) < 4 * Math.sqrt(1 / 12 / n));
  assert.ok(Math.abs(sumSq / n - mean * mean - 1 / 12) < 0.002);
  const seen = new Set<number>();
  for (let i = 0; i < 1000; i++) seen.add(r.nextInt(-2, 2));
  assert.deepEqual([...seen].sort(), [-1, -2, 0, 1, 2]);
  let ns = 0;
  let nsq = 0;
  for (let i = 0; i < n; i++) {
    const z = r.nextNormal();
    ns += z;
    nsq += z * z;
  }
  assert.ok(Math.abs(ns / n) < 0.01);
  assert.ok(Math.abs(nsq / n - 1) < 0.02);
});
