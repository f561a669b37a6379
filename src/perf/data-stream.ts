/**
 * One iperf3 data stream over a PerfSocket: counts what it receives, or sends a block as fast as the
 * transport accepts it. Bytes sent are counted when the transport's write callback reports them written
 * (handed to the kernel for node:net), so a stopped sender's count is exact once `flushed()` resolves.
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
  /** Bytes written (sender) or received (receiver), since the stream was set up. */
  bytes = 0;
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
    if (!sender) this.bytes += leftover.length;
    socket.on('data', (chunk: Buffer | string) => {
      if (this.sender) return; // a sender ignores anything the peer sends (nothing, with iperf3)
      this.bytes += chunk.length;
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

  /** Starts writing `block` (whole, or the last part the budget allows) until stopped or out of budget. */
  startSending(block: Buffer, budget: SendBudget): void {
    if (!this.sender || this.sending) return;
    this.sending = true;
    void this.sendLoop(block, budget);
  }

  private async sendLoop(block: Buffer, budget: SendBudget): Promise<void> {
    const socket = this.socket;
    while (!this.stopped && !this.ended && !socket.destroyed && !socket.writableEnded) {
      const n = budget.take(block.length);
      if (n === 0) break;
      const chunk = n === block.length ? block : block.subarray(0, n);
      this.pendingWrites++;
      const more = socket.write(chunk, (err) => {
        this.pendingWrites--;
        if (!err) this.bytes += n;
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

  /** Stops sending (writes already issued still complete). */
  stopSending(): void {
    this.stopped = true;
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
