/**
 * Child process of coupled-alloc.test.ts: drives one coupled controller family (three subflows in one group)
 * through congestion-avoidance ACKs, with changing SRTTs and a loss now and then, and brackets a measured run
 * with marker lines so the parent can add up what V8's --trace-gc scavenges collected in between.
 * Usage: node --import tsx --expose-gc --trace-gc [--no-turbo-inlining] coupled-alloc-run.ts NAME ACKS
 */
import { CoupledGroup } from '../../src/cc/coupled.js';
import { createCongestionControl } from '../../src/cc/registry.js';
import type { AckSample, CongestionController } from '../../src/cc/types.js';

const name = process.argv[2] ?? 'lia';
const acks = Number(process.argv[3] ?? 1_000_000);
const group = new CoupledGroup();
const controllers: CongestionController[] = [];
const samples: { -readonly [K in keyof AckSample]: AckSample[K] }[] = [];
for (let i = 0; i < 3; i++) {
  const cc = createCongestionControl(name, { mss: 1000, now: 0, coupling: group.join() });
  cc.onCongestionEvent(0, 40_000 * (i + 1));
  cc.onRecoveryEnd(0);
  controllers.push(cc);
  samples.push({ ackedBytes: 1000, priorInFlight: 1_000_000, srttMicros: 10_000, appLimited: false, inRecovery: false });
}

function run(count: number): void {
  for (let k = 0; k < count; k++) {
    const i = k % 3;
    const cc = controllers[i]!;
    const sample = samples[i]!;
    sample.srttMicros = 10_000 * (i + 1) + (k & 15);
    cc.onAck(k, sample);
    if (k % 6000 === 5999) {
      cc.onCongestionEvent(k, cc.cwnd);
      cc.onRecoveryEnd(k);
    }
  }
}

run(300_000); // warm up: every path optimised
(globalThis as { gc?: () => void }).gc?.();
console.log('MEASURE-START');
run(acks);
console.log('MEASURE-END');
