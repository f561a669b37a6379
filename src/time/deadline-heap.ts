/**
 * An indexed binary min-heap of deadlines (issue 13, scale): items carry their own key and position
 * (`HeapItem`), so arming, re-arming, disarming and finding the earliest are O(log n) / O(1) with no map and
 * no allocation per operation. A host keeps one entry per connection in it, keyed by the connection's next
 * deadline, instead of asking every connection per turn. Ties are broken by `order` (smaller first), so the
 * heap's answers never depend on the history of operations. Sans-IO: no clock.
 */
import type { Micros } from './micros.js';

/** What the heap needs of an item: fields it owns (do not write them). */
export interface HeapItem {
  /** Position in the heap, -1 when not in it. */
  heapIndex: number;
  /** The deadline the item is filed under. */
  heapKey: Micros;
  /** Tie-break for equal keys (smaller first), fixed for the item's life. */
  readonly heapOrder: number;
}

export class DeadlineHeap<T extends HeapItem> {
  readonly #items: T[] = [];

  get size(): number {
    return this.#items.length;
  }

  has(item: T): boolean {
    const i = item.heapIndex;
    return i >= 0 && this.#items[i] === item;
  }

  /** The item with the earliest deadline (ties: smallest order), or undefined when empty. */
  peek(): T | undefined {
    return this.#items[0];
  }

  /** Files `item` under `key` (adds it, or moves it if already in). An Infinity or NaN key removes it. */
  set(item: T, key: Micros): void {
    if (!(key < Infinity)) {
      this.delete(item);
      return;
    }
    if (!this.has(item)) {
      item.heapKey = key;
      item.heapIndex = this.#items.length;
      this.#items.push(item);
      this.#up(item.heapIndex);
      return;
    }
    const old = item.heapKey;
    item.heapKey = key;
    if (key < old) this.#up(item.heapIndex);
    else if (key > old) this.#down(item.heapIndex);
  }

  /** Removes `item` if it is in the heap. */
  delete(item: T): void {
    if (!this.has(item)) return;
    const items = this.#items;
    const i = item.heapIndex;
    const last = items.pop()!;
    item.heapIndex = -1;
    if (last === item) return;
    items[i] = last;
    last.heapIndex = i;
    this.#up(i);
    this.#down(last.heapIndex);
  }

  /** Removes and returns the earliest item. */
  pop(): T | undefined {
    const top = this.#items[0];
    if (top !== undefined) this.delete(top);
    return top;
  }

  #less(a: T, b: T): boolean {
    return a.heapKey < b.heapKey || (a.heapKey === b.heapKey && a.heapOrder < b.heapOrder);
  }

  #up(i: number): void {
    const items = this.#items;
    const item = items[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = items[p]!;
      if (!this.#less(item, parent)) break;
      items[i] = parent;
      parent.heapIndex = i;
      i = p;
    }
    items[i] = item;
    item.heapIndex = i;
  }

  #down(i: number): void {
    const items = this.#items;
    const n = items.length;
    const item = items[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.#less(items[r]!, items[l]!) ? r : l;
      const child = items[c]!;
      if (!this.#less(child, item)) break;
      items[i] = child;
      child.heapIndex = i;
      i = c;
    }
    items[i] = item;
    item.heapIndex = i;
  }
}
