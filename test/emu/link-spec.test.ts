import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { defaultLinkSpec, describeLinkSpec, directionConfig, LinkSpecError, meanLoss, parseLinkSpec, type LinkSpec } from '../../src/emu/link-spec.js';
import { Link } from '../../src/emu/link.js';
import { Simulator } from '../../src/emu/sim.js';
import { traceFromMillis, TraceError, type DeliveryTrace } from '../../src/emu/trace.js';
import { loadMahimahiTrace } from '../../src/emu/trace-file.js';

function ok(text: string): LinkSpec {
  const r = parseLinkSpec(text);
  assert.ok(!(r instanceof LinkSpecError), `${text}: ${String(r)}`);
  return r;
}

function bad(text: string, why: RegExp): void {
  const r = parseLinkSpec(text);
  assert.ok(r instanceof LinkSpecError, `${text} should not parse`);
  assert.match(r.message, why, text);
  assert.ok(!r.message.includes('\n'), 'one line');
}

const noTrace = (file: string): DeliveryTrace => assert.fail(`no trace expected, got ${file}`);

test('link spec: the defaults, and an empty spec is an error', () => {
  const d = defaultLinkSpec();
  for (const dir of [d.up, d.down]) {
    assert.equal(dir.rateBitsPerSecond, 1e9);
    assert.equal(dir.delayMicros, 1000);
    assert.equal(dir.loss, undefined);
    assert.equal(dir.queueLimitBytes, 250_000); // one BDP of 2 ms at 1 Gbit/s
  }
  assert.deepEqual(d.outages, []);
  assert.equal(describeLinkSpec(d), '1 Gbit/s, 1 ms delay each way, 0% loss, queue 244.1 KB');
  bad('', /^empty: give KEY=VALUE fields/);
  bad('  ', /^empty/);
});

test('link spec: rate', () => {
  assert.equal(ok('rate=10M').up.rateBitsPerSecond, 10e6);
  assert.equal(ok('rate=2.5G').down.rateBitsPerSecond, 2.5e9);
  assert.equal(ok('rate=64Kbit/s').up.rateBitsPerSecond, 64e3);
  assert.equal(ok('rate=10M').up.queueLimitBytes, 150_000, 'small BDP: the minimum queue');
  bad('rate=5', /^rate=5: expected bits per second, at least 1K/);
  bad('rate=fast', /^rate=fast: expected bits per second/);
});

test('link spec: delay and jitter', () => {
  const s = ok('delay=20ms,jitter=2ms');
  assert.equal(s.up.delayMicros, 20_000);
  assert.equal(s.down.jitterMicros, 2000);
  assert.equal(ok('delay=500us').up.delayMicros, 500);
  assert.equal(ok('delay=0.2s').up.delayMicros, 200_000);
  assert.equal(ok('delay=7').up.delayMicros, 7000, 'a bare number is ms');
  const c = directionConfig(s, 'up', noTrace);
  assert.deepEqual(c.jitter, { maxMicros: 2000 });
  assert.equal(c.delayMicros, 20_000);
  bad('delay=1h', /^delay=1h: expected a one-way delay up to 10 s/);
  bad('jitter=11s', /^jitter=11s: expected an offset up to 10 s/);
});

test('link spec: loss, Bernoulli and Gilbert-Elliott', () => {
  assert.deepEqual(ok('loss=2%').up.loss, { kind: 'bernoulli', probability: 0.02 });
  assert.deepEqual(ok('loss=0.01').down.loss, { kind: 'bernoulli', probability: 0.01 });
  assert.equal(ok('loss=0').up.loss, undefined);
  const ge = ok('rate=10M,loss=ge:1%,30%,delay=5ms');
  assert.deepEqual(ge.up.loss, { kind: 'gilbert-elliott', goodToBad: 0.01, badToGood: 0.3, lossInBad: 1, lossInGood: 0 });
  assert.equal(ge.up.delayMicros, 5000, 'the field after the loss parts is its own');
  const ge4 = ok('loss=ge:1%,30%,50%,0.1%');
  assert.deepEqual(ge4.down.loss, { kind: 'gilbert-elliott', goodToBad: 0.01, badToGood: 0.3, lossInBad: 0.5, lossInGood: 0.001 });
  assert.ok(Math.abs(meanLoss(ge.up.loss) - 0.01 / 0.31) < 1e-12);
  assert.match(describeLinkSpec(ge), /bursty loss \(Gilbert-Elliott p 1%, r 30%, bad 100%, good 0%: mean 3\.2258%\)/);
  bad('loss=100%', /^loss=100%: expected a loss rate below 100%/);
  bad('loss=ge:1%', /^loss=ge:1%: expected Gilbert-Elliott loss ge:P,R/);
  bad('loss=ge:1%,2%,3%,4%,5%', /expected Gilbert-Elliott/);
  bad('loss=ge:1%,0', /R \(bad to good\) is 0/);
});

test('link spec: a Gilbert-Elliott link loses at its stationary rate, in bursts', () => {
  const spec = ok('rate=1G,delay=0,loss=ge:2%,25%');
  const sim = new Simulator();
  const link = new Link(sim, directionConfig(spec, 'up', noTrace));
  let lost = 0;
  let bursts = 0;
  let prevLost = false;
  const n = 50_000;
  for (let i = 0; i < n; i++) {
    const before = link.counters.droppedPackets.loss;
    link.offer(new Uint8Array(100));
    const isLost = link.counters.droppedPackets.loss > before;
    if (isLost) lost++;
    if (isLost && !prevLost) bursts++;
    prevLost = isLost;
    sim.run(sim.now + 1);
  }
  const expected = meanLoss(spec.up.loss);
  assert.ok(Math.abs(lost / n - expected) < 0.25 * expected, `loss ${lost / n} vs ${expected}`);
  assert.ok(lost / bursts > 3, `mean burst ${lost / bursts} packets (1/r = 4)`);
});

test('link spec: queue in bytes, packets, unlimited', () => {
  assert.equal(ok('queue=500K').up.queueLimitBytes, 500 * 1024);
  assert.equal(ok('queue=2000').up.queueLimitBytes, 2000);
  const p = ok('queue=100p');
  assert.equal(p.up.queueLimitPackets, 100);
  assert.equal(p.up.queueLimitBytes, undefined);
  assert.equal(directionConfig(p, 'down', noTrace).queueLimitPackets, 100);
  assert.equal(ok('queue=unlimited').down.queueLimitBytes, undefined);
  assert.match(describeLinkSpec(ok('queue=unlimited')), /unlimited queue$/);
  bad('queue=10', /^queue=10: expected a backlog in bytes, at least 1500/);
  bad('queue=0p', /^queue=0p: expected at least 1 packet/);
});

test('link spec: reorder, duplicate, mtu', () => {
  const s = ok('reorder=1%,5ms,duplicate=0.5%,mtu=1400');
  assert.deepEqual(s.up.reorder, { probability: 0.01, extraDelayMicros: 5000 });
  assert.equal(s.down.duplicateProbability, 0.005);
  assert.equal(s.up.mtu, 1400);
  const c = directionConfig(s, 'up', noTrace);
  assert.deepEqual(c.reorder, { probability: 0.01, extraDelayMicros: 5000 });
  assert.equal(c.duplicateProbability, 0.005);
  assert.equal(c.mtu, 1400);
  bad('reorder=1%', /^reorder=1%: expected P,EXTRA/);
  bad('duplicate=1', /^duplicate=1: expected a probability below 100%/);
  bad('mtu=100', /^mtu=100: expected a packet size from 576 to 65535/);
});

test('link spec: down=FROM-TO outages, on a link', () => {
  const s = ok('down=2-4');
  assert.deepEqual(s.outages, [[2e6, 4e6]]);
  assert.deepEqual(ok('down=1.5-2,8-9').outages, [[1.5e6, 2e6], [8e6, 9e6]]);
  assert.match(describeLinkSpec(s), /; down 2-4 s$/);
  const c = directionConfig(s, 'down', noTrace, 1000);
  assert.deepEqual(c.timeline, [[2_001_000, 'down'], [4_001_000, 'up']]);
  const sim = new Simulator();
  const link = new Link(sim, directionConfig(ok('rate=1G,delay=0,down=2-4'), 'up', noTrace));
  let delivered = 0;
  link.setReceiver(() => delivered++);
  for (let t = 0; t < 6e6; t += 100_000) {
    sim.run(t);
    link.offer(new Uint8Array(100));
  }
  sim.run(7e6);
  assert.equal(link.counters.droppedPackets.down, 20, 'the 20 packets offered in [2 s, 4 s)');
  assert.equal(delivered, 40);
  bad('down=4-2', /^down=4-2: expected FROM-TO in seconds with FROM < TO/);
  bad('down=2-5,4-6', /in time order and not overlap/);
  bad('down=soon', /expected FROM-TO/);
  bad('down-up=1-2', /unknown key 'down-up'/);
});

test('link spec: per-direction keys override the both-ways key in either order', () => {
  for (const text of ['rate=10M,rate-down=2M', 'rate-down=2M,rate=10M']) {
    const s = ok(text);
    assert.equal(s.up.rateBitsPerSecond, 10e6, text);
    assert.equal(s.down.rateBitsPerSecond, 2e6, text);
  }
  const s = ok('delay-up=10ms,delay-down=30ms,loss-up=1%');
  assert.equal(s.up.delayMicros, 10_000);
  assert.equal(s.down.delayMicros, 30_000);
  assert.equal(s.down.loss, undefined);
  assert.equal(s.up.queueLimitBytes, 5_000_000, 'one BDP of the 40 ms round trip');
  assert.match(describeLinkSpec(s), /^up: 1 Gbit\/s, 10 ms delay, 1% loss, queue 4882.8 KB; down: 1 Gbit\/s, 30 ms delay, 0% loss, queue 4882.8 KB$/);
  bad('rate=1M,rate=2M', /^'rate' given twice$/);
  bad('rate-up=1M,rate-up=2M', /^'rate-up' given twice$/);
  bad('rate-sideways=1M', /unknown key 'rate-sideways'/);
  bad('color=red', /^unknown key 'color' \(keys: rate, delay, jitter, loss, queue, reorder, duplicate, mtu, down, trace; KEY-up= \/ KEY-down= for one direction\)$/);
  bad('100M', /^expected KEY=VALUE, got '100M'/);
});

test('link spec: Mahimahi traces per direction, exclusive with a rate', () => {
  const s = ok('trace-up=a.up,trace-down=a.down,delay=10ms');
  assert.equal(s.up.traceFile, 'a.up');
  assert.equal(s.down.traceFile, 'a.down');
  assert.equal(s.up.rateBitsPerSecond, undefined);
  const one = traceFromMillis([1]);
  assert.ok(!(one instanceof TraceError));
  const seen: string[] = [];
  const c = directionConfig(s, 'down', (f) => (seen.push(f), one));
  assert.deepEqual(seen, ['a.down']);
  assert.equal(c.trace, one);
  assert.equal(c.rateBitsPerSecond, undefined);
  const mixed = ok('rate=10M,trace-down=b');
  assert.equal(mixed.up.rateBitsPerSecond, 10e6);
  assert.equal(mixed.down.traceFile, 'b');
  assert.equal(ok('trace=both').up.traceFile, 'both');
  assert.equal(ok('trace=both,rate-up=5M').up.rateBitsPerSecond, 5e6, 'the direction key wins');
  bad('trace=x,rate=1M', /a trace gives the capacity, so it goes without a rate \(drop rate= or trace=\)/);
  bad('trace-up=', /^trace-up=: expected a Mahimahi trace file/);
});

test('link spec: a shared Mahimahi trace loads through directionConfig', (t) => {
  const file = join(process.cwd(), '..', 'shared', 'traces', 'Verizon-LTE-short.down');
  if (!existsSync(file)) return t.skip(`${file} not present (../shared/traces is the project's trace folder)`);
  const c = directionConfig(ok(`trace-down=${file}`), 'down', (f) => loadMahimahiTrace(f));
  assert.ok(c.trace !== undefined && c.trace.opportunitiesMicros.length > 100);
});

test('link spec: parsing arbitrary text never throws', () => {
  const piece = fc.oneof(
    fc.string(),
    fc.constantFrom('rate', 'delay', 'jitter', 'loss', 'queue', 'reorder', 'duplicate', 'mtu', 'down', 'trace', 'rate-up', 'loss-down', 'trace-up', 'down-up', 'down-down=', '=', ',', 'ge:', '%', 'ms', '-', 'p', 'K', 'M', '1', '0.5', '1e9', 'NaN', 'unlimited'),
  );
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 12 }), (parts) => {
      const text = parts.join('');
      const r = parseLinkSpec(text);
      if (r instanceof LinkSpecError) {
        assert.ok(r.message.length > 0 && !r.message.includes('\n'));
      } else {
        // What parses builds links the emulator accepts (trace files stubbed).
        const one = traceFromMillis([1]) as DeliveryTrace;
        for (const dir of ['up', 'down'] as const) new Link(new Simulator(), directionConfig(r, dir, () => one));
      }
    }),
    { numRuns: 3000 },
  );
});
