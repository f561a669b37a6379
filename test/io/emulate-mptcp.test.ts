/**
 * Linux MPTCP kernel <-> kernel through `mptcp emulate` over two emulated paths (issue 10's short run in
 * `npm test`): the client's `subflow` endpoint opens the second subflow and both carry data. Root, TUN,
 * iperf3 and mptcpize; skipped with the reason otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emulateSkipReason, kernelMptcpIperf, pathBytes, startEmulate } from '../support/emulate.js';

const skip = emulateSkipReason(['iperf3', 'mptcpize']);

test('emulate: kernel <-> kernel MPTCP over two emulated paths, both subflows carry data', { skip, timeout: 120_000 }, async (t) => {
  const cidrs = [['198.18.1.1/24', '198.18.1.2/24'], ['198.18.2.1/24', '198.18.2.2/24']] as const;
  const run = await startEmulate([`${cidrs[0][0]},${cidrs[0][1]},rate=10M,delay=5ms`, `${cidrs[1][0]},${cidrs[1][1]},rate=10M,delay=5ms`], { label: 'mptcp' });
  try {
    const bytes = 4 << 20;
    const r = await kernelMptcpIperf(run, cidrs, ['-n', String(bytes)]);
    const stopped = await run.stop();
    const paths = pathBytes(stopped.out);
    t.diagnostic(`${(r.receivedBps / 1e6).toFixed(2)} Mbit/s received; bytes left to right per path: ${paths.map((p) => p.up).join(', ')}`);
    assert.equal(paths.length, 2, stopped.out);
    for (const [i, p] of paths.entries()) assert.ok(p.up > 0.2 * bytes, `path ${i} carried ${p.up} bytes of ${bytes}`);
    assert.ok(r.receivedBps > 12e6, `two 10 Mbit/s paths aggregated: ${(r.receivedBps / 1e6).toFixed(2)} Mbit/s`);
  } finally {
    await run.dispose();
  }
});
