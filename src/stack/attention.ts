/**
 * Which connections of a host need its attention (issue 13, scale), so that a turn costs O(log n) in the
 * number of connections instead of a scan of all of them:
 * - `timers`: every connection filed under its next deadline (src/time/deadline-heap.ts). A connection whose
 *   deadline may have changed (anything the host or the application did to it) is marked stale and re-asked
 *   before the heap answers;
 * - the transmit-ready set: connections that may have a packet to send, served in the order the scan over
 *   the table served them (from the connection that sent last, round the table);
 * - the event-ready sets (MPTCP, plain TCP): connections that may have an event, in table order.
 * A connection enters all three whenever it is `touch`ed: a segment, a timeout, an application command
 * (the connection's `onCommand` hook), a host command. It leaves the transmit set when it has nothing to
 * send, the event set when it has no event. Table order is the order of `seq`, given when it is added.
 */
import { DeadlineHeap, type HeapItem } from '../time/deadline-heap.js';
import type { Micros } from '../time/micros.js';

/** What an entry of the table carries for the host's attention. */
export class Slot<E> implements HeapItem {
  heapIndex = -1;
  heapKey = 0;
  constructor(
    readonly heapOrder: number,
    readonly entry: E,
  ) {}
}

export class AttentionSlots<E> {
  readonly timer: Slot<E>;
  readonly transmit: Slot<E>;
  readonly event: Slot<E>;
  /** Its deadline may have changed since it was filed. */
  stale = false;
  removed = false;

  constructor(
    readonly seq: number,
    entry: E,
  ) {
    this.timer = new Slot(seq, entry);
    this.transmit = new Slot(seq, entry);
    this.event = new Slot(seq, entry);
  }
}

/** An entry as the attention sets see it. */
export interface Attended<K extends string, E> {
  readonly kind: K;
  slots: AttentionSlots<E>;
  readonly connection: { pollTimeout(): Micros | undefined };
}

export class Attention<K extends string, E extends Attended<K, E>> {
  readonly #timers = new DeadlineHeap<Slot<E>>();
  #stale: E[] = [];
  /** Transmit-ready entries at or after the cursor (seq >= cursorSeq), and before it. */
  #ahead = new DeadlineHeap<Slot<E>>();
  #behind = new DeadlineHeap<Slot<E>>();
  #cursorSeq = 0;
  readonly #events = new Map<K, DeadlineHeap<Slot<E>>>();
  #nextSeq = 0;

  constructor(kinds: readonly K[]) {
    for (const k of kinds) this.#events.set(k, new DeadlineHeap());
  }

  /** The seq the next entry gets. */
  get nextSeq(): number {
    return this.#nextSeq;
  }

  /** A new entry of the table (after every entry already in it). */
  add(entry: E): void {
    entry.slots = new AttentionSlots<E>(this.#nextSeq++, entry);
    this.touch(entry);
  }

  remove(entry: E): void {
    const s = entry.slots;
    s.removed = true;
    this.#timers.delete(s.timer);
    this.#ahead.delete(s.transmit);
    this.#behind.delete(s.transmit);
    this.#events.get(entry.kind)!.delete(s.event);
  }

  /** Something may have changed in `entry`: deadline, output and events. */
  touch(entry: E): void {
    const s = entry.slots;
    if (s.removed) return;
    this.touchTimer(entry);
    this.touchEvents(entry);
    const t = s.transmit;
    if (!this.#ahead.has(t) && !this.#behind.has(t)) (t.heapOrder >= this.#cursorSeq ? this.#ahead : this.#behind).set(t, t.heapOrder);
  }

  touchTimer(entry: E): void {
    const s = entry.slots;
    if (s.stale || s.removed) return;
    s.stale = true;
    this.#stale.push(entry);
  }

  touchEvents(entry: E): void {
    const s = entry.slots;
    if (s.removed) return;
    const heap = this.#events.get(entry.kind)!;
    if (!heap.has(s.event)) heap.set(s.event, s.event.heapOrder);
  }

  // ---- timers ----

  #refresh(): void {
    if (this.#stale.length === 0) return;
    const stale = this.#stale;
    this.#stale = [];
    for (const e of stale) {
      const s = e.slots;
      s.stale = false;
      if (s.removed) continue;
      this.#timers.set(s.timer, e.connection.pollTimeout() ?? Infinity);
    }
  }

  /** The earliest deadline of any entry. */
  nextDeadline(): Micros | undefined {
    this.#refresh();
    return this.#timers.peek()?.heapKey;
  }

  /** The entries whose deadline is at or before `now`, in table order (they are marked stale). */
  due(now: Micros): E[] {
    this.#refresh();
    const slots: Slot<E>[] = [];
    let ordered = true;
    for (let top = this.#timers.peek(); top !== undefined && top.heapKey <= now; top = this.#timers.peek()) {
      this.#timers.delete(top);
      // The heap yields equal deadlines in table order already: sort only when several deadlines are due.
      if (slots.length > 0 && top.heapOrder < slots[slots.length - 1]!.heapOrder) ordered = false;
      slots.push(top);
      this.touchTimer(top.entry);
    }
    if (!ordered) slots.sort((a, b) => a.heapOrder - b.heapOrder); // a timer slot's heapOrder is its entry's seq
    const out: E[] = new Array<E>(slots.length);
    for (let i = 0; i < slots.length; i++) out[i] = slots[i]!.entry;
    return out;
  }

  // ---- transmit ----

  /** The table's cursor (where the next round of output starts) is now at the entry of `seq`. */
  moveCursor(seq: number): void {
    if (seq === this.#cursorSeq) return;
    if (seq > this.#cursorSeq) {
      for (let top = this.#ahead.peek(); top !== undefined && top.heapOrder < seq; top = this.#ahead.peek()) {
        this.#ahead.delete(top);
        this.#behind.set(top, top.heapOrder);
      }
    } else {
      const keep: Slot<E>[] = [];
      for (let top = this.#behind.pop(); top !== undefined; top = this.#behind.pop()) {
        if (top.heapOrder >= seq) this.#ahead.set(top, top.heapOrder);
        else keep.push(top);
      }
      for (const s of keep) this.#behind.set(s, s.heapOrder);
    }
    this.#cursorSeq = seq;
  }

  /**
   * The next packet in the scan's order: the ready entries from the cursor round the table, the first
   * with a packet becoming the cursor. `poll` asks an entry for its packet (undefined: nothing to send).
   */
  nextPacket<P>(poll: (entry: E) => P | undefined): { entry: E; packet: P } | undefined {
    for (;;) {
      const top = this.#ahead.peek();
      if (top === undefined) {
        if (this.#behind.size === 0) return undefined;
        const t = this.#ahead;
        this.#ahead = this.#behind;
        this.#behind = t;
        continue;
      }
      const entry = top.entry;
      const packet = poll(entry);
      if (entry.slots.removed) continue;
      this.touchTimer(entry);
      this.touchEvents(entry);
      if (packet === undefined) {
        this.#ahead.delete(top);
        continue;
      }
      this.#cursorSeq = top.heapOrder;
      return { entry, packet };
    }
  }

  // ---- events ----

  /** The first entry of `kind` in table order that may have an event. */
  firstEventCandidate(kind: K): E | undefined {
    return this.#events.get(kind)!.peek()?.entry;
  }

  /** `entry` has no event now. */
  noEvents(entry: E): void {
    this.#events.get(entry.kind)!.delete(entry.slots.event);
  }
}
