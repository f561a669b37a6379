/**
 * TUN benchmarks (issue 13): our stack against the Linux kernel through TUN devices, both directions, TCP
 * and MPTCP with two subflows, with the TUN offloads (src/io/tun-offload.ts: IFF_VNET_HDR, 64 KB
 * super-packets both ways, checksums left to the kernel, one writev call per turn) and in the plain mode
 * (one packet per read and write, checksums in JavaScript), next to kernel <-> kernel over veth pairs
 * measured in the same run, as ratios. Needs root, /dev/net/tun and the addon (skipped with the reason
 * printed otherwise). Also the ceiling of the device itself (bench/tun-ceiling.ts: a minimal TCP endpoint
 * in JavaScript moving 64 KB super-packets with nothing else to do), and each offload row's fraction of it.
 * `npm run bench tun` runs this suite alone.
 */
import { kernelSkipReason } from '../test/support/kernel.js';
import { kernelToKernelVeth, ourStackThroughTun } from './tcp.js';
import { kernelToKernel, kernelToOurs, oursToKernel } from './mptcp.js';
import { ceilingReceive, ceilingSend } from './tun-ceiling.js';
import { sig3, type BenchResult } from './measure.js';

/** Bytes of each run through TUN, and of the kernel references. */
const OURS_BYTES = 300_000_000;
const KERNEL_BYTES = 1_000_000_000;

export async function benchTun(): Promise<BenchResult[]> {
  const skip = kernelSkipReason();
  if (skip) {
    console.error(`TUN benchmarks skipped: ${skip}`);
    return [];
  }
  const results: BenchResult[] = [];
  const tcpKernel = await kernelToKernelVeth(KERNEL_BYTES);
  results.push({ name: 'TCP kernel -> kernel over veth (same peer program), reference', value: sig3(tcpKernel), unit: 'Gbit/s', note: `${KERNEL_BYTES / 1e9} GB` });
  const ceiling = { send: await ceilingSend(KERNEL_BYTES), receive: await ceilingReceive(KERNEL_BYTES) };
  for (const direction of ['send', 'receive'] as const) {
    results.push({
      name: `ceiling: a minimal JS TCP endpoint moving 64 KB super-packets through one offload TUN device, ${direction === 'send' ? 'to' : 'from'} the kernel`,
      value: sig3(ceiling[direction]),
      unit: 'Gbit/s',
      note: `${KERNEL_BYTES / 1e9} GB; ratio to kernel-kernel over veth ${sig3(ceiling[direction] / tcpKernel)}`,
    });
  }
  for (const offload of [true, false]) {
    const mode = offload ? 'offload' : 'plain';
    for (const direction of ['send', 'receive'] as const) {
      const gbps = await ourStackThroughTun(OURS_BYTES, direction, offload);
      results.push({
        name: `TCP ${direction === 'send' ? 'ours -> kernel' : 'kernel -> ours'} through TUN, ${mode}`,
        value: sig3(gbps),
        unit: 'Gbit/s',
        note: `${OURS_BYTES / 1e6} MB; ratio to kernel-kernel ${sig3(gbps / tcpKernel)}; fraction of the device's ceiling ${sig3(gbps / ceiling[direction])}`,
      });
    }
  }
  const mptcpKernel = await kernelToKernel(KERNEL_BYTES);
  results.push({
    name: 'MPTCP kernel -> kernel, two subflows over two veth pairs, reference',
    value: sig3(mptcpKernel.gbps),
    unit: 'Gbit/s',
    note: `${KERNEL_BYTES / 1e9} GB; server MPJoinAckRx ${mptcpKernel.joins}`,
  });
  for (const offload of [true, false]) {
    const mode = offload ? 'offload' : 'plain';
    const send = await oursToKernel(OURS_BYTES, offload);
    const receive = await kernelToOurs(OURS_BYTES, offload);
    for (const [label, r] of [['ours -> kernel', send], ['kernel -> ours', receive]] as const) {
      const total = r.subflows.reduce((a, b) => a + b, 0);
      results.push({
        name: `MPTCP ${label}, two subflows through two TUN devices, ${mode}`,
        value: sig3(r.gbps),
        unit: 'Gbit/s',
        note: `${OURS_BYTES / 1e6} MB; ratio to kernel-kernel ${sig3(r.gbps / mptcpKernel.gbps)}; fraction of the device's ceiling ${sig3(r.gbps / ceiling[label === 'ours -> kernel' ? 'send' : 'receive'])}; subflow shares ${r.subflows.map((b) => `${((100 * b) / total).toFixed(0)}%`).join(' / ')}`,
      });
    }
  }
  return results;
}
