/**
 * Two connections over an in-test wire (./helpers.ts `Pair`): bulk transfers both ways with SHA-256
 * equality under loss, reordering, duplication, a zero window, and graceful close in both directions.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TcpConfig } from '../../src/tcp/types.js';
import { Pair, SYN, ms, prng, randomBytes, sha256, type WireVerdict } from './helpers.js';
import type { TcpSegmentRepr } from '../../src/wire/tcp.js';

interface Scenario {
  readonly up: number;
  readonly down: number;
  readonly delay?: number;
  readonly configA?: TcpConfig;
  readonly configB?: TcpConfig;
  readonly filter?: (dir: 0 | 1, r: TcpSegmentRepr, index: number) => WireVerdict;
  readonly readFromB?: (now: number) => boolean;
}

/** A sends `up` bytes and B `down` bytes; each shuts down after its data; both must end CLOSED. */
function transfer(s: Scenario): Pair {
  const pair = new Pair({ delay: s.delay ?? ms(10), configA: s.configA, configB: s.configB });
  if (s.filter !== undefined) pair.filter = s.filter;
  const upData = randomBytes(s.up, 11);
  const downData = randomBytes(s.down, 22);
  const writeA = Pair.writer(pair.a, upData);
  let writeB: (() => boolean) | undefined;
  pair.hooks.push(() => {
    writeA();
    if (pair.b !== undefined) {
      writeB ??= Pair.writer(pair.b, downData);
      writeB();
    }
    if (s.readFromB !== undefined) pair.autoRead[1] = s.readFromB(pair.now);
  });
  const closed = (events: ReadonlyArray<{ type: string }>) => events.some((e) => e.type === 'closed');
  pair.run(() => closed(pair.eventsA) && closed(pair.eventsB), ms(600_000));
  assert.ok(closed(pair.eventsA) && closed(pair.eventsB), `both closed: A ${pair.a.state}, B ${pair.b?.state} at ${pair.now}`);
  for (const e of [...pair.eventsA, ...pair.eventsB]) if (e.type === 'closed') assert.equal(e.error, undefined);
  assert.equal(sha256(pair.receivedB), sha256([upData]), 'A -> B data intact');
  assert.equal(sha256(pair.receivedA), sha256([downData]), 'B -> A data intact');
  assert.ok(pair.eventsA.some((e) => e.type === 'end') && pair.eventsB.some((e) => e.type === 'end'));
  // One side ends in TIME-WAIT (the first to close) and expires to CLOSED after 60 s.
  pair.run(() => pair.a.state === 'CLOSED' && pair.b!.state === 'CLOSED', pair.now + ms(61_000));
  assert.equal(pair.a.state, 'CLOSED');
  assert.equal(pair.b!.state, 'CLOSED');
  return pair;
}

const MB = 1 << 20;

describe('transfers', () => {
  test('clean_bothWays_gracefulClose', () => {
    const pair = transfer({ up: 4 * MB, down: MB });
    assert.equal(pair.a.info().retransmits, 0);
    assert.equal(pair.b!.info().retransmits, 0);
    assert.equal(pair.a.info().bytesAcked, 4 * MB);
  });

  test('randomLoss_sack_timestamps', () => {
    const rng = prng(1);
    const pair = transfer({ up: 3 * MB, down: MB / 2, filter: () => (rng() < 0.02 ? 'drop' : 'deliver') });
    assert.ok(pair.a.info().retransmits > 0);
  });

  test('randomLoss_newReno_noTimestamps', () => {
    const rng = prng(2);
    const config: TcpConfig = { sack: false, timestamps: false };
    const pair = transfer({ up: 2 * MB, down: MB / 4, configA: config, configB: config, filter: () => (rng() < 0.02 ? 'drop' : 'deliver') });
    assert.equal(pair.a.info().sack, false);
    assert.ok(pair.a.info().retransmits > 0);
  });

  test('burstLoss_rtoRecovery', () => {
    const pair = transfer({ up: 2 * MB, down: 0, filter: (dir, _r, i) => (dir === 0 && i >= 300 && i < 340 ? 'drop' : 'deliver') });
    assert.ok(pair.a.info().retransmits >= 40);
  });

  test('reordering', () => {
    const rng = prng(3);
    transfer({ up: 3 * MB, down: MB / 4, filter: () => (rng() < 0.05 ? { delay: ms(3) } : 'deliver') });
  });

  test('duplication', () => {
    const rng = prng(4);
    transfer({ up: 2 * MB, down: MB / 4, filter: () => (rng() < 0.05 ? 'duplicate' : 'deliver') });
  });

  test('lossReorderDuplicate_noSack', () => {
    const rng = prng(5);
    const config: TcpConfig = { sack: false };
    transfer({
      up: MB,
      down: MB / 4,
      configA: config,
      filter: () => {
        const x = rng();
        return x < 0.01 ? 'drop' : x < 0.03 ? { delay: ms(2) } : x < 0.04 ? 'duplicate' : 'deliver';
      },
    });
  });

  test('zeroWindow_receiverPausesThenResumes', () => {
    const config: TcpConfig = { receiveBufferBytes: 65536, receiveBufferMaxBytes: 65536 };
    const pair = transfer({ up: 2 * MB, down: 0, configB: config, readFromB: (now) => now < ms(3000) || now > ms(6000) });
    assert.ok(pair.b!.info().receiveWindow >= 0);
  });

  test('lostSyn_retransmittedAfterOneSecond', () => {
    let synAt = -1;
    const pair = transfer({
      up: 10_000,
      down: 10_000,
      filter: (dir, r, i) => {
        if (dir === 0 && (r.flags & SYN) !== 0 && i > 0) synAt = i;
        return dir === 0 && i === 0 ? 'drop' : 'deliver';
      },
    });
    assert.equal(synAt, 1);
    assert.equal(pair.a.info().timeouts, 1);
  });

  test('smallWritesWithNagle', () => {
    const pair = new Pair({ delay: ms(5) });
    let written = 0;
    pair.hooks.push(() => {
      if (pair.a.state === 'ESTABLISHED' && written < 200 && pair.now >= written * 1000) {
        pair.a.write(new Uint8Array([written & 0xff]));
        written++;
      }
    });
    pair.run(() => pair.receivedB.reduce((n, c) => n + c.length, 0) >= 200, ms(10_000));
    const got = Buffer.concat(pair.receivedB);
    assert.equal(got.length, 200);
    assert.deepEqual([...got], Array.from({ length: 200 }, (_, i) => i & 0xff));
    // Coalesced: far fewer data segments than writes.
    assert.ok(pair.a.info().segmentsSent < 150, `segments ${pair.a.info().segmentsSent}`);
  });
});
