/**
 * The kernel rows of the scenario suite (scenarios/kernel.ts, issue 10), a short subset in `npm test`: the
 * simult_flows "unbalanced bwidth" case's links (15 + 5 Mbit/s, from the virtual-time definition) in real
 * time through `mptcp emulate`, 4 MiB downloaded, kernel <-> kernel and our client <-> the kernel's server.
 * Each must complete with both paths carrying data and a goodput between 60% of the two rates' sum and the
 * sum itself (the links cannot carry more). And our MPTCP receiver against the kernel's on Wi-Fi + 3G (a
 * Linux sender, heterogeneous delays and loss). Root, namespaces, TUN, iperf3 and mptcpize; skipped otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelCases, kernelRow, skipReason, type Pair } from '../../scenarios/kernel.js';
import { sampleLag } from '../support/lag.js';

const skip = skipReason();
const unbalanced = kernelCases().find((c) => c.scenario === 'simult_flows' && c.case.startsWith('unbalanced bwidth -'))!;
const kc = { ...unbalanced, bytes: 4 << 20 };
const sumMbps = kc.paths.reduce((a, p) => a + p.rateMbps!, 0);

for (const pair of ['kernel-kernel', 'ours-kernel'] as const satisfies readonly Pair[]) {
  test(`kernel scenario rows: ${kc.case}, ${pair}, through emulate`, { skip, timeout: 120_000 }, async (t) => {
    const lagSampler = sampleLag();
    const row = await kernelRow(kc, pair, false);
    const lag = lagSampler.stop();
    t.diagnostic(JSON.stringify(row.metrics));
    assert.equal(row.status, 'ok', row.note);
    assert.deepEqual(row.links, ['rate=15M,delay=0ms,queue=1000p', 'rate=5M,delay=0ms,queue=1000p']);
    assert.equal(row.metrics['received (MiB)'], 4);
    const goodput = row.metrics['goodput (Mbit/s)'] as number;
    // Our client is a process running a whole stack in userspace (and emulate another): on a loaded machine
    // it gets the CPU only part of the time. This process, idle meanwhile, measures how much: its timers wait
    // past their instants that fraction of the time (at load 15: our client got 8.85 Mbit/s, 0.44 of the sum).
    // The floor, 0.6 of the sum idle, is lowered by that fraction; the ceiling stays the links' sum.
    const floor = 0.6 * sumMbps * (1 - lag.fraction);
    if (lag.fraction > 0.05) t.diagnostic(`loaded machine: timers ran late ${(100 * lag.fraction).toFixed(0)}% of the time (worst ${(lag.worstSeconds * 1000).toFixed(0)} ms): goodput floor ${floor.toFixed(2)} Mbit/s instead of ${(0.6 * sumMbps).toFixed(2)}`);
    assert.ok(goodput >= floor && goodput <= sumMbps * 1.01, `goodput ${goodput} Mbit/s over ${sumMbps} Mbit/s of links (floor ${floor.toFixed(2)}; timers late ${(100 * lag.fraction).toFixed(0)}% of the time)`);
    const perPath = String(row.metrics['MiB down per path']).split(' / ').map(Number);
    assert.equal(perPath.length, 2);
    for (const [i, mib] of perPath.entries()) assert.ok(mib >= 0.1, `path ${i + 1} carried ${mib} MiB`);
  });
}

// Our MPTCP receiver against the kernel's, with a Linux sender on two paths of very different delays and
// random loss (Wi-Fi + 3G: 10 ms and 75 ms one way, 2% and 1%): the kernel server sending to our client
// must get at least 0.8 of what it gets sending to the kernel's client in the same test (both ~12 s, one
// after the other; real time on a loaded machine, hence the margin). Before the joined subflow's ACKs
// carried SACK blocks (test/mptcp/join-sack.test.ts) it got 0.57-0.60 of it.
const wifi3g = kernelCases().find((c) => c.scenario === 'wifi_3g' && c.mptcp)!;
test('kernel scenario rows: Wi-Fi + 3G, the kernel server sends to our client at >= 0.8 of what it sends to the kernel client', { skip, timeout: 240_000 }, async (t) => {
  const kc = { ...wifi3g, seconds: 12 };
  const kk = await kernelRow(kc, 'kernel-kernel', false);
  const ok = await kernelRow(kc, 'ours-kernel', false);
  t.diagnostic(`kernel <-> kernel ${JSON.stringify(kk.metrics)}; ours (client) <-> kernel ${JSON.stringify(ok.metrics)}`);
  assert.equal(kk.status, 'ok', kk.note);
  assert.equal(ok.status, 'ok', ok.note);
  const kernel = kk.metrics['goodput (Mbit/s)'] as number;
  const ours = ok.metrics['goodput (Mbit/s)'] as number;
  assert.ok(kernel > 1, `kernel <-> kernel ${kernel} Mbit/s`);
  assert.ok(ours >= 0.8 * kernel, `ours (client) <-> kernel ${ours} Mbit/s, kernel <-> kernel ${kernel} Mbit/s: ${(ours / kernel).toFixed(3)}`);
});
