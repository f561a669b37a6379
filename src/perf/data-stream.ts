/**
 * One iperf3 data stream over a PerfSocket: counts what it receives, or sends a block as fast as the
 * transport accepts it. Bytes sent are counted as the transport takes them, like the write(2) return values
 * iperf3 adds up: from the socket's `bytesAccepted` where it has one (our stack: a block waiting for send
 * buffer space counts the part already taken, so a slow link shows its bytes in the interval they left),
 * else when the write callback reports the block written (node:net). A sender stopped at its deadline
 * (`stopSending(true)`) drops what the transport has not taken, so its count is final at once.
 */
import type { PerfSocket, PerfSubflowStats, PerfTcpStats } from './transport.js';

/** A shared byte allowance for the senders of a test (`-n`); Infinity when the test is timed. */
export class SendBudget {
  constructor(private remaining: number) {}

  /** Takes up to `n` bytes of allowance; returns how many were granted (0: exhausted). */
  take(n: number): number {
    const granted = Math.min(n, this.remaining);
    this.remaining -= granted;
    return granted;
  }

  get exhausted(): boolean {
    return this.remaining <= 0;
  }

  /** Sets the allowance back to `n` (the omit period is over: the byte count starts again). */
  refill(n: number): void {
    this.remaining = n;
  }
}

export class DataStream {
  /** Bytes received, or (sender without `bytesAccepted`) written, since the stream was set up. */
  private counted = 0;
  /** Sender on a socket with `bytesAccepted`: its value when sending started (the cookie was before). */
  private acceptedBase: number | undefined;
  /** The first error the socket reported, if any. */
  error: Error | undefined;
  /** Whether the peer closed or reset the connection. */
  ended = false;

  private sending = false;
  private stopped = false;
  private pendingWrites = 0;
  private wake: (() => void) | undefined;
  private flushWaiters: Array<() => void> = [];
  private sendDoneWaiters: Array<() => void> = [];

  constructor(
    /** The iperf3 stream id (1, 3, 4, ...). */
    readonly id: number,
    /** Whether this side sends on this stream. */
    readonly sender: boolean,
    readonly socket: PerfSocket,
    /** Bytes already read from the socket after the cookie (a receiver counts them). */
    leftover: Uint8Array,
    private readonly hooks: { onData?: (stream: DataStream) => void; onError?: (stream: DataStream, err: Error) => void } = {},
  ) {
    if (!sender) this.counted += leftover.length;
    socket.on('data', (chunk: Buffer | string) => {
      if (this.sender) return; // a sender ignores anything the peer sends (nothing, with iperf3)
      this.counted += chunk.length;
      this.hooks.onData?.(this);
    });
    socket.on('end', () => {
      this.ended = true;
      this.wakeUp();
    });
    socket.on('error', (err: Error) => {
      if (!this.error) this.error = err;
      this.ended = true;
      this.wakeUp();
      this.hooks.onError?.(this, err);
    });
    socket.on('close', () => {
      this.ended = true;
      this.wakeUp();
      this.settleFlush();
    });
    if (sender) socket.on('drain', () => this.wakeUp());
  }

  /** Bytes written (sender: taken by the transport) or received, since the stream was set up. */
  get bytes(): number {
    if (this.acceptedBase === undefined) return this.counted;
    return (this.socket.bytesAccepted ?? 0) - this.acceptedBase;
  }

  /** Whether a sender counts the bytes the transport takes (`bytesAccepted`), so it can stop at an instant. */
  get countsAccepted(): boolean {
    return this.acceptedBase !== undefined || (this.sender && typeof this.socket.bytesAccepted === 'number');
  }

  /**
   * Pacing (iperf3 -b, per stream): bits per second this stream may average from when it first started
   * sending; 0 or undefined: as fast as the transport takes. Like iperf3's throttle, a block is written only
   * while the average so far is below the target, so the rate holds over any stretch of whole blocks.
   */
  private pace: { readonly bitsPerSecond: number; readonly startMs: number } | undefined;

  /** Starts writing `block` (whole, or the last part the budget allows) until stopped or out of budget. */
  startSending(block: Buffer, budget: SendBudget, bitsPerSecond = 0): void {
    if (!this.sender || this.sending) return;
    if (bitsPerSecond > 0 && this.pace === undefined) this.pace = { bitsPerSecond, startMs: performance.now() };
    if (this.acceptedBase === undefined && typeof this.socket.bytesAccepted === 'number') this.acceptedBase = this.socket.bytesAccepted - this.counted;
    this.sending = true;
    void this.sendLoop(block, budget);
  }

  private async sendLoop(block: Buffer, budget: SendBudget): Promise<void> {
    const socket = this.socket;
    while (!this.stopped && !this.ended && !socket.destroyed && !socket.writableEnded) {
      if (this.pace) {
        // Ahead of the target average: wait until the bytes so far are due (bounded steps, so a stop is seen).
        const aheadMs = (this.bytes * 8 * 1000) / this.pace.bitsPerSecond - (performance.now() - this.pace.startMs);
        if (aheadMs > 0) {
          await new Promise<void>((resolve) => setTimeout(resolve, Math.min(aheadMs, 100)));
          continue;
        }
      }
      const n = budget.take(block.length);
      if (n === 0) break;
      const chunk = n === block.length ? block : block.subarray(0, n);
      this.pendingWrites++;
      const more = socket.write(chunk, (err) => {
        this.pendingWrites--;
        if (!err) this.counted += n;
        if (this.pendingWrites === 0) this.settleFlush();
      });
      // Wait for back-pressure to clear; when there is none (the transport took the block at once), still
      // yield to the event loop so the other streams, the timers and the control connection get their turn.
      if (!more) await this.waitForDrain();
      else await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.sending = false;
    const waiters = this.sendDoneWaiters;
    this.sendDoneWaiters = [];
    for (const w of waiters) w();
  }

  private waitForDrain(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = resolve;
    });
  }

  private wakeUp(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private settleFlush(): void {
    if (this.pendingWrites > 0 && !this.socket.destroyed) return;
    const waiters = this.flushWaiters;
    this.flushWaiters = [];
    for (const w of waiters) w();
  }

  /** Whether the send loop is running. */
  get isSending(): boolean {
    return this.sending;
  }

  /** Resolves when the send loop has ended (budget exhausted, stopped, or the connection went away). */
  sendDone(): Promise<void> {
    if (!this.sending) return Promise.resolve();
    return new Promise<void>((resolve) => this.sendDoneWaiters.push(resolve));
  }

  /**
   * Stops sending. Writes already issued still complete, unless `atDeadline` and the stream counts what the
   * transport took: then what it has not taken is dropped (the count is final now, and the peer can receive
   * no more than it), as a kernel sender at its deadline simply stops calling write(2).
   */
  stopSending(atDeadline = false): void {
    this.stopped = true;
    if (atDeadline && this.sender && this.acceptedBase !== undefined) this.socket.abandonUnsentWrites?.();
    this.wakeUp();
  }

  /**
   * Resolves once every issued write has completed (or the socket is gone) and, where the transport can
   * tell, the peer has acknowledged it all; or after `timeoutMs` in any case.
   */
  flushed(timeoutMs: number): Promise<void> {
    const writesDone =
      this.pendingWrites === 0 || this.socket.destroyed
        ? Promise.resolve()
        : new Promise<void>((resolve) => this.flushWaiters.push(resolve));
    const acked = writesDone.then(() => (this.sender && !this.socket.destroyed ? this.socket.acknowledged?.() : undefined));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    return Promise.race([acked.then(() => undefined, () => undefined), timeout]).finally(() => clearTimeout(timer));
  }

  /** Transport statistics for this connection, if the transport has them. */
  tcpStats(): PerfTcpStats | undefined {
    try {
      return this.socket.tcpStats?.();
    } catch {
      return undefined;
    }
  }

  /** The connection's MPTCP subflows, if it is an MPTCP connection (see PerfSocket.subflows). */
  subflows(): readonly PerfSubflowStats[] | undefined {
    try {
      return this.socket.subflows?.();
    } catch {
      return undefined;
    }
  }

  /** Closes the connection now (unsent data is dropped, as iperf3's close at TEST_END). */
  destroy(): void {
    this.stopSending();
    if (!this.socket.destroyed) this.socket.destroy();
  }
}
