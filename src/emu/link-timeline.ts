/**
 * The scheduled up/down transitions of a `Link` (`LinkConfig.timeline`): a cursor on the list and the one
 * simulator event armed for the next transition. The link applies the transitions; this only says which
 * are due and keeps the event at the right instant.
 */
import { checkMicros } from './link-check.js';
import type { EventHandle, Micros, SimHandler, Simulator } from './sim.js';

/** Administrative state of a link direction. */
export type LinkState = 'up' | 'down';

/** Scheduled transitions `[time, state]` in non-decreasing time order, consumed as time passes. */
export class LinkTimeline {
  private readonly entries: ReadonlyArray<readonly [Micros, LinkState]>;
  private index = 0;
  private next: Micros;
  private event: EventHandle | undefined;

  /** Validates `entries`; `handler` gets the transition events as `kind` (`name` is the link's, for errors). */
  constructor(
    name: string,
    entries: ReadonlyArray<readonly [Micros, LinkState]>,
    private readonly sim: Simulator,
    private readonly handler: SimHandler,
    private readonly kind: number,
  ) {
    let prev = -Infinity;
    for (const [at, state] of entries) {
      checkMicros('timeline time', at);
      if (at < prev) throw new RangeError(`${name}: timeline must be in non-decreasing time order`);
      if (state !== 'up' && state !== 'down') throw new RangeError(`${name}: bad timeline state ${String(state)}`);
      prev = at;
    }
    this.entries = entries;
    this.next = entries.length > 0 ? entries[0]![0] : Infinity;
  }

  /** The instant of the next transition not yet applied (Infinity: none left). */
  get nextAt(): Micros {
    return this.next;
  }

  /** The state of the next transition if it is due by `now` (it stays due until `advance`). */
  due(now: Micros): LinkState | undefined {
    const entry = this.entries[this.index];
    return entry !== undefined && entry[0] <= now ? entry[1] : undefined;
  }

  /** Moves past the transition `due` returned. */
  advance(): void {
    this.index++;
  }

  /** The armed event fired (the handler got it). */
  fired(): void {
    this.event = undefined;
  }

  /** Updates `nextAt` after transitions were applied, and arms an event for it (moving the armed one if needed). */
  arm(): void {
    const entries = this.entries;
    this.next = this.index < entries.length ? entries[this.index]![0] : Infinity;
    if (this.next !== Infinity && (this.event === undefined || this.event.at !== this.next)) {
      if (this.event !== undefined) this.sim.cancel(this.event);
      this.event = this.sim.schedule(this.next, this.handler, this.kind);
    }
  }
}
