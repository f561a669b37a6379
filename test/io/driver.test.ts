// The real-time driver: feeds packets, handles the due timeout, drains transmits, arms exactly one timer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_TRANSMITS_PER_TURN, monotonicMicros, RealtimeDriver, type DrivenStack, type Micros, type TimerApi } from '../../src/io/driver.js';
import { UdpDriver } from '../../src/io/udp.js';

/** A stand-in stack: echoes each packet back on its interface, and after a packet wants a timeout 5 ms later. */
class EchoStack implements DrivenStack {
  readonly log: string[] = [];
  readonly #queue: { ifaceId: number; bytes: Uint8Array }[] = [];
  #deadline: Micros | undefined;

  handlePacket(now: Micros, ifaceId: number, bytes: Uint8Array): void {
    this.log.push(`packet@${now} if${ifaceId} ${new TextDecoder().decode(bytes)}`);
    this.#queue.push({ ifaceId, bytes: Uint8Array.from([...bytes, 0x21]) });
    this.#deadline = now + 5_000;
  }

  handleTimeout(now: Micros): void {
    this.log.push(`timeout@${now}`);
    this.#deadline = undefined;
    this.#queue.push({ ifaceId: 0, bytes: new TextEncoder().encode('tick') });
  }

  pollTransmit(): { ifaceId: number; bytes: Uint8Array } | undefined {
    return this.#queue.shift();
  }

  pollTimeout(): Micros | undefined {
    return this.#deadline;
  }
}

/** Timers that only run when the test says so. */
class ManualTimers implements TimerApi {
  readonly armed = new Map<number, { callback: () => void; ms: number }>();
  #next = 1;
  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.#next++;
    this.armed.set(id, { callback, ms });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.armed.delete(handle as number);
  }
  fireOnly(): void {
    assert.equal(this.armed.size, 1, 'exactly one timer armed');
    const [id, timer] = [...this.armed][0]!;
    this.armed.delete(id);
    timer.callback();
  }
}

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

test('driver: turn order, one timer at the stack deadline, no early timeout', () => {
  let now = 1_000;
  const stack = new EchoStack();
  const timers = new ManualTimers();
  const sent: string[] = [];
  const turns: Micros[] = [];
  const driver = new RealtimeDriver(
    stack,
    { send: (ifaceId, bytes) => (sent.push(`if${ifaceId} ${text(bytes)}`), true) },
    { clock: () => now, timers, onTurn: (t) => turns.push(t) },
  );

  driver.receive(1, [new TextEncoder().encode('a'), new TextEncoder().encode('b')]);
  assert.deepEqual(stack.log, ['packet@1000 if1 a', 'packet@1000 if1 b']);
  assert.deepEqual(sent, ['if1 a!', 'if1 b!']);
  assert.equal(timers.armed.size, 1);
  assert.equal([...timers.armed.values()][0]!.ms, 5, 'armed for the 5 ms to the deadline');

  // Another packet moves the deadline: the old timer is replaced, never doubled.
  now = 2_500;
  driver.receive(0, [new TextEncoder().encode('c')]);
  assert.equal(timers.armed.size, 1);
  assert.equal([...timers.armed.values()][0]!.ms, 5);

  // The timer fires "early" by the clock (rounding): no handleTimeout yet, just re-armed for the rest.
  now = 7_000;
  timers.fireOnly();
  assert.ok(!stack.log.some((l) => l.startsWith('timeout')));
  assert.equal([...timers.armed.values()][0]!.ms, 1);

  now = 7_600;
  timers.fireOnly();
  assert.equal(stack.log.at(-1), 'timeout@7600');
  assert.deepEqual(sent.slice(-1), ['if0 tick']);
  assert.equal(timers.armed.size, 0, 'no deadline, no timer');
  assert.deepEqual(turns, [1_000, 2_500, 7_000, 7_600]);

  driver.close();
  driver.receive(0, [new TextEncoder().encode('late')]);
  assert.equal(stack.log.length, 4, 'a closed driver feeds nothing');
});

test('driver: real timers and a UDP output; the timeout fires on its own', async (t) => {
  const stack = new EchoStack();
  const received: string[] = [];
  let gotTick!: () => void;
  const tick = new Promise<void>((resolve) => (gotTick = resolve));
  const peer = new UdpDriver({
    onPacket: (_, packet) => {
      received.push(text(packet));
      if (text(packet) === 'tick') gotTick();
    },
  });
  const udp = new UdpDriver();
  t.after(() => Promise.all([peer.close(), udp.close()]));
  const peerPath = await peer.addPath(0, { localAddress: '127.0.0.1' });
  await udp.addPath(0, { localAddress: '127.0.0.2', remote: peerPath.local });
  const driver = new RealtimeDriver(stack, udp);
  t.after(() => driver.close());

  const start = monotonicMicros();
  driver.receive(0, [new TextEncoder().encode('hello')]);
  await Promise.race([
    tick,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`no tick; got ${received.join(',')}`)), 5_000)),
  ]);
  assert.deepEqual(received, ['hello!', 'tick']);
  const timeoutAt = Number(/timeout@(\d+)/.exec(stack.log.at(-1)!)![1]);
  assert.ok(timeoutAt - start >= 5_000, 'not before the deadline');
});

test('driver: a stack that never stops sending cannot hang the process: the turn yields and continues later', () => {
  let polled = 0;
  const stack: DrivenStack = {
    handlePacket: () => undefined,
    handleTimeout: () => undefined,
    pollTransmit: () => (polled++ < 3 * MAX_TRANSMITS_PER_TURN ? { ifaceId: 0, bytes: new Uint8Array(1) } : undefined),
    pollTimeout: () => undefined,
  };
  const timers = new ManualTimers();
  let sent = 0;
  const driver = new RealtimeDriver(stack, { send: () => (sent++, true) }, { clock: () => 0, timers });
  driver.turn();
  assert.equal(sent, MAX_TRANSMITS_PER_TURN, 'one turn sends at most the bound');
  assert.equal(driver.yieldedTurns, 1);
  assert.equal(timers.armed.size, 1, 'and arms an immediate turn for the rest');
  assert.equal([...timers.armed.values()][0]!.ms, 0);
  timers.fireOnly();
  timers.fireOnly();
  timers.fireOnly();
  assert.equal(sent, 3 * MAX_TRANSMITS_PER_TURN, 'everything went out over later turns');
  assert.equal(timers.armed.size, 0);
});
