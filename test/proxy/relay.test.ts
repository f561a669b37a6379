// The relay (src/proxy/relay.ts) between in-memory Duplex streams: back-pressure bounds what it holds,
// half-close carries each way on its own, an error on one side resets the other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { relay } from '../../src/proxy/relay.js';

/** A socket stand-in: `feed` what its peer sends (push, honouring back-pressure), record what is written. */
class FakeSocket extends Duplex {
  written: Buffer[] = [];
  writtenBytes = 0;
  /** Write callbacks held while `stalled` (a reader that does not read). */
  held: (() => void)[] = [];
  stalled = false;
  resets = 0;
  wantsMore = true;
  constructor() {
    super({ allowHalfOpen: true });
  }
  override _read(): void {
    this.wantsMore = true;
  }
  override _write(chunk: Buffer, _e: BufferEncoding, cb: () => void): void {
    this.written.push(chunk);
    this.writtenBytes += chunk.length;
    if (this.stalled) this.held.push(cb);
    else cb();
  }
  override _final(cb: () => void): void {
    cb();
  }
  resetAndDestroy(): this {
    this.resets++;
    return this.destroy();
  }
  /** Offers bytes from the network; false once the stream's buffer is full (TCP would close the window). */
  feed(chunk: Buffer): boolean {
    this.wantsMore = this.push(chunk);
    return this.wantsMore;
  }
}

test('back-pressure: a stalled writer pauses the reader; the relay holds at most both stream buffers', async () => {
  const a = new FakeSocket();
  const b = new FakeSocket();
  b.stalled = true;
  const r = relay(a, b);
  const chunk = Buffer.alloc(4096, 1);
  let offered = 0;
  // Offer until `a` refuses (its readable buffer is full), bounded.
  for (let i = 0; i < 10_000 && a.feed(chunk); i++) {
    offered += chunk.length;
    await new Promise((resolve) => setImmediate(resolve));
  }
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(a.isPaused(), 'the reader was paused');
  const held = b.writableLength + a.readableLength;
  // Node's default highWaterMark is 16 KiB for each buffer; one chunk may overshoot each.
  assert.ok(held <= a.readableHighWaterMark + b.writableHighWaterMark + 2 * chunk.length, `held ${held}`);
  assert.ok(offered < 200 * 1024, `the source was stopped after ${offered} bytes`);
  // The reader comes back: everything flows, nothing lost.
  b.stalled = false;
  for (const cb of b.held.splice(0)) cb();
  a.push(null);
  b.push(null);
  const result = await r.done;
  assert.equal(b.writtenBytes, offered + chunk.length, 'every byte offered (and the one refused chunk, which was buffered) arrived');
  assert.equal(result.outcome, 'closed');
  assert.equal(result.bytesAtoB, b.writtenBytes);
});

test('half-close: the end of one direction ends only that direction; the other keeps flowing', async () => {
  const a = new FakeSocket();
  const b = new FakeSocket();
  const r = relay(a, b);
  a.feed(Buffer.from('request'));
  a.push(null); // a's peer sent FIN
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(b.writableEnded, true, 'b was ended after the request');
  assert.equal(a.writableEnded, false, 'a can still be written');
  b.feed(Buffer.from('response'));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(Buffer.concat(a.written).toString(), 'response');
  b.push(null);
  const result = await r.done;
  assert.deepEqual([result.outcome, result.bytesAtoB, result.bytesBtoA], ['closed', 7, 8]);
  assert.equal(a.resets + b.resets, 0);
});

test('reset: an error on one side resets the other (resetAndDestroy), and the outcome says so', async () => {
  const a = new FakeSocket();
  const b = new FakeSocket();
  const r = relay(a, b);
  b.destroy(Object.assign(new Error('peer reset'), { code: 'ECONNRESET' }));
  const result = await r.done;
  assert.equal(result.outcome, 'reset');
  assert.equal(result.error, 'ECONNRESET');
  assert.equal(a.resets, 1);
});

test('idle timeout closes both sides without a reset', async () => {
  const a = new FakeSocket();
  const b = new FakeSocket();
  const keepAlive = setTimeout(() => undefined, 5000); // the relay's own timer does not hold the process
  const result = await relay(a, b, { idleTimeoutMs: 20 }).done;
  clearTimeout(keepAlive);
  assert.equal(result.outcome, 'idle');
  assert.equal(a.resets + b.resets, 0);
});
