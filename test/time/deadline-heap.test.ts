import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DeadlineHeap, type HeapItem } from '../../src/time/deadline-heap.js';

class Item implements HeapItem {
  heapIndex = -1;
  heapKey = 0;
  constructor(readonly heapOrder: number) {}
}

test('deadline heap: earliest first, ties by order, re-arm up and down, delete, Infinity disarms', () => {
  const h = new DeadlineHeap<Item>();
  const [a, b, c, d] = [new Item(0), new Item(1), new Item(2), new Item(3)];
  assert.equal(h.peek(), undefined);
  h.set(c, 30);
  h.set(a, 20);
  h.set(b, 20);
  h.set(d, 10);
  assert.equal(h.size, 4);
  assert.equal(h.peek(), d);
  h.set(d, 40); // later: sinks
  assert.equal(h.peek(), a, 'equal keys: smaller order first');
  h.set(c, 5); // earlier: rises
  assert.equal(h.peek(), c);
  h.delete(c);
  assert.equal(h.has(c), false);
  h.delete(c); // not in: nothing
  h.set(a, Infinity);
  assert.equal(h.has(a), false);
  assert.deepEqual([h.pop(), h.pop(), h.pop()], [b, d, undefined]);
  assert.equal(h.size, 0);
});

type Op = { kind: 'set'; item: number; key: number } | { kind: 'delete'; item: number } | { kind: 'pop' };

test('deadline heap (property): agrees with a linear scan after any sequence of set, delete, pop', () => {
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), item: fc.nat(15), key: fc.oneof(fc.integer({ min: 0, max: 50 }), fc.constant(Infinity)) }),
    fc.record({ kind: fc.constant('delete' as const), item: fc.nat(15) }),
    fc.record({ kind: fc.constant('pop' as const) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
      const items = Array.from({ length: 16 }, (_, i) => new Item(i));
      const model = new Map<Item, number>();
      const h = new DeadlineHeap<Item>();
      const expectedMin = (): Item | undefined => {
        let best: Item | undefined;
        for (const [it, k] of model) if (best === undefined || k < model.get(best)! || (k === model.get(best)! && it.heapOrder < best.heapOrder)) best = it;
        return best;
      };
      for (const o of ops) {
        if (o.kind === 'set') {
          if (o.key === Infinity) model.delete(items[o.item]!);
          else model.set(items[o.item]!, o.key);
          h.set(items[o.item]!, o.key);
        } else if (o.kind === 'delete') {
          model.delete(items[o.item]!);
          h.delete(items[o.item]!);
        } else {
          const e = expectedMin();
          if (e) model.delete(e);
          assert.equal(h.pop(), e);
        }
        assert.equal(h.size, model.size);
        assert.equal(h.peek(), expectedMin());
        for (const it of items) assert.equal(h.has(it), model.has(it));
      }
    }),
    { numRuns: 300 },
  );
});
