/**
 * The real-time driver: the thin loop that connects a sans-IO stack to real packets and real time
 * (ARCHITECTURE.md "The core contract"; STYLE.md 3, "Drivers are thin").
 *
 * It only calls the stack's `handle*` / `poll*` entry points and arms ONE timer, at the instant
 * `pollTimeout()` names. Each turn: read the clock once, feed what arrived (or the due timeout), let the
 * owner react (`onTurn`, e.g. the API layer draining events and queueing writes), then send everything
 * `pollTransmit` yields, then re-arm the timer. Packet sources (TunDevice.onPackets, UdpDriver.onPacket)
 * call `receive`; anything else that changes the stack (an application write) calls `turn()`.
 */

import type { Micros } from '../time/micros.js';
/** Re-exported: the project's one time type (src/time/micros.ts). */
export type { Micros };

const origin = process.hrtime.bigint();

/** Monotonic microseconds since this module loaded (exact in a number for 285 years). */
export function monotonicMicros(): Micros {
  return Number((process.hrtime.bigint() - origin) / 1000n);
}

/** The part of the stack's contract the driver uses. */
export interface DrivenStack {
  handlePacket(now: Micros, ifaceId: number, bytes: Uint8Array): void;
  handleTimeout(now: Micros): void;
  pollTransmit(now: Micros): { readonly ifaceId: number; readonly bytes: Uint8Array } | undefined;
  /** The next instant the stack needs `handleTimeout`, or undefined for none. */
  pollTimeout(): Micros | undefined;
}

/** Where transmitted packets go: a `UdpDriver`, or `{ send: (_, bytes) => tun.write(bytes) }`. */
export interface PacketOutput {
  /** Returns false when the packet was dropped (no route, full queue): loss, which the stack recovers from. */
  send(ifaceId: number, bytes: Uint8Array): boolean;
}

/** Timer functions, injectable so tests can observe arming. */
export interface TimerApi {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Options for `RealtimeDriver`. */
export interface RealtimeDriverOptions {
  /** The clock; default `monotonicMicros`. */
  readonly clock?: () => Micros;
  /** Called once per turn, after input and before transmission. */
  readonly onTurn?: (now: Micros) => void;
  /** Let the process exit while only the stack's timer is pending; default false. */
  readonly unrefTimer?: boolean;
  readonly timers?: TimerApi;
}

const nodeTimers: TimerApi = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Drives one stack in real time. See the module comment for the turn order. */
/** Packets one turn may send before it yields to the event loop (far above any real burst). */
export const MAX_TRANSMITS_PER_TURN = 65_536;

export class RealtimeDriver {
  /** Packets the output refused (dropped), for diagnostics. */
  droppedTransmits = 0;
  /**
   * Turns that stopped draining at MAX_TRANSMITS_PER_TURN packets and yielded to the event loop (a stack
   * that never stops sending is a bug; the process stays responsive and the counter shows it).
   */
  yieldedTurns = 0;

  readonly #stack: DrivenStack;
  readonly #output: PacketOutput;
  readonly #clock: () => Micros;
  readonly #onTurn: ((now: Micros) => void) | undefined;
  readonly #unrefTimer: boolean;
  readonly #timers: TimerApi;
  #timer: unknown;
  #timerDeadline: Micros | undefined;
  #closed = false;

  constructor(stack: DrivenStack, output: PacketOutput, options: RealtimeDriverOptions = {}) {
    this.#stack = stack;
    this.#output = output;
    this.#clock = options.clock ?? monotonicMicros;
    this.#onTurn = options.onTurn;
    this.#unrefTimer = options.unrefTimer ?? false;
    this.#timers = options.timers ?? nodeTimers;
  }

  /** Feeds packets that arrived on interface `ifaceId`, then runs the rest of a turn. */
  receive(ifaceId: number, packets: Iterable<Uint8Array>): void {
    if (this.#closed) return;
    const now = this.#clock();
    for (const packet of packets) this.#stack.handlePacket(now, ifaceId, packet);
    this.#finishTurn(now);
  }

  /** Runs a turn without new packets: the due timeout if any, `onTurn`, transmission, re-arming. */
  turn(): void {
    if (this.#closed) return;
    this.#finishTurn(this.#clock());
  }

  /** Disarms the timer; later calls do nothing. */
  close(): void {
    this.#closed = true;
    this.#disarm();
  }

  #finishTurn(now: Micros): void {
    const deadline = this.#stack.pollTimeout();
    if (deadline !== undefined && deadline <= now) this.#stack.handleTimeout(now);
    this.#onTurn?.(now);
    let n = 0;
    for (let transmit = this.#stack.pollTransmit(now); transmit; transmit = this.#stack.pollTransmit(now)) {
      if (!this.#output.send(transmit.ifaceId, transmit.bytes)) this.droppedTransmits++;
      if (++n >= MAX_TRANSMITS_PER_TURN) {
        // Yield: the rest goes out on a turn of its own, after pending I/O and timers had their chance.
        this.yieldedTurns++;
        this.#arm(now, now);
        return;
      }
    }
    this.#arm(this.#stack.pollTimeout(), now);
  }

  #arm(deadline: Micros | undefined, now: Micros): void {
    if (deadline === this.#timerDeadline && this.#timer !== undefined) return;
    this.#disarm();
    if (deadline === undefined) return;
    // Round up: a timer must not fire before the deadline (if it still does, the turn re-arms it).
    const delayMs = Math.max(0, Math.ceil((deadline - now) / 1000));
    this.#timerDeadline = deadline;
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = undefined;
      this.#timerDeadline = undefined;
      this.turn();
    }, delayMs);
    if (this.#unrefTimer) (this.#timer as { unref?: () => void }).unref?.();
  }

  #disarm(): void {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDeadline = undefined;
  }
}
