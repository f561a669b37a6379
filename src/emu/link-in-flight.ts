/**
 * The deliveries a `Link` has scheduled and that have not fired yet, in admission order: what going down
 * loses. Fired and cancelled events are trimmed lazily from the front, so the list costs nothing per packet
 * beyond one push.
 */
import type { EventHandle } from './sim.js';

/** Scheduled deliveries not yet fired, and the epoch that tells a delivery overtaken by an outage. */
export class InFlight {
  private handles: EventHandle[] = [];
  private head = 0;
  private count = 0;
  private currentEpoch = 0;

  /** Packets admitted and not yet delivered or lost. */
  get packets(): number {
    return this.count;
  }

  /** Changes each time the link goes down; a delivery scheduled with an older one was lost in an outage. */
  get epoch(): number {
    return this.currentEpoch;
  }

  /** A packet was admitted: its delivery event (scheduled with `epoch`). */
  add(handle: EventHandle): void {
    this.count++;
    this.handles.push(handle);
  }

  /** A delivery event fired (delivered, or lost if its epoch is not the current one); `trim` after handling it. */
  landed(): void {
    this.count--;
  }

  /** Forgets the fired and cancelled events at the front. */
  trim(): void {
    const handles = this.handles;
    let head = this.head;
    while (head < handles.length && !handles[head]!.pending) head++;
    if (head === handles.length) {
      handles.length = 0;
      head = 0;
    } else if (head >= 1024 && head * 2 >= handles.length) {
      handles.splice(0, head);
      head = 0;
    }
    this.head = head;
  }

  /** The link goes down: a new epoch starts, and `takeNext` hands out every delivery still scheduled. */
  cut(): void {
    this.currentEpoch++;
  }

  /**
   * After `cut`: the next delivery still scheduled, no longer counted (the caller cancels it and counts the
   * loss), or undefined when none is left, the list then empty.
   */
  takeNext(): EventHandle | undefined {
    const handles = this.handles;
    while (this.head < handles.length) {
      const handle = handles[this.head++]!;
      if (!handle.pending) continue;
      this.count--;
      return handle;
    }
    handles.length = 0;
    this.head = 0;
    return undefined;
  }
}
