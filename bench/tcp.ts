/**
 * TCP benchmarks (issue 3):
 * - goodput of one connection between two hosts of this stack in one process, on the emulator with an
 *   infinite-rate, zero-delay link (all CPU: IP/TCP emit and parse, checksums, both TCP engines, the
 *   emulator), MSS 1460;
 * - memory per idle established connection;
 * - through a TUN device against the Linux kernel (our stack <-> kernel), next to kernel <-> kernel over a
 *   veth pair measured in the same run, as a ratio (needs root, /dev/net/tun and the addon: skipped otherwise).
 */
import { once } from 'node:events';
import { PatternSource, runBulkTransfer } from '../src/harness/bulk.js';
import { AppHost } from '../src/harness/host-app.js';
import { HostPair } from '../src/harness/pair.js';
import type { TcpConnection } from '../src/tcp/connection.js';
import { KERNEL_PEER, jsonLines, kernelSkipReason, tunPair, within } from '../test/support/kernel.js';
import { Topology } from '../src/io/netns.js';
import { goodputSideBySide, sig3, type BenchResult } from './measure.js';

/** One in-process transfer over the infinite-rate, zero-delay link; throws unless it completed. */
function inProcess(bytes: number, seed: number, deferChecksums: boolean): string {
  const r = runBulkTransfer({ bytes, forward: { rateBitsPerSecond: Infinity, delayMicros: 0 }, seed, verify: false, deferChecksums });
  if (!r.completed || r.receivedBytes !== bytes) throw new Error('goodput benchmark transfer failed');
  return '';
}

function goodputInProcess(bytes: number): BenchResult[] {
  return goodputSideBySide(bytes, [
    {
      name: 'goodput, one connection, in one process, emulator with infinite link rate (MSS 1460)',
      run: (round) => inProcess(bytes, round + 2, true),
    },
    {
      name: 'the same with every TCP checksum computed and verified (deferChecksums off: the work a TUN or UDP path does)',
      run: (round) => inProcess(bytes, round + 2, false),
    },
  ]);
}

function memoryPerIdleConnection(count: number): BenchResult {
  const gc = (globalThis as { gc?: () => void }).gc;
  const kept: TcpConnection[] = [];
  const pair = new HostPair(
    {
      seed: 3,
      names: ['c', 's'],
      client: { name: 'c', secret: new Uint8Array(32).fill(1) },
      server: { name: 's', secret: new Uint8Array(32).fill(2) },
      paths: [{ clientAddress: '198.18.0.1/24', serverAddress: '198.18.0.2/24', link: { config: { rateBitsPerSecond: 1e9, delayMicros: 100 } } }],
    },
    {
      client: (host) => new AppHost(host, () => {}),
      server: (host) =>
        new AppHost(host, (_now, e) => {
          if (e.type === 'connection') kept.push(e.connection);
        }),
    },
  );
  const { clientHost, serverHost } = pair;
  serverHost.listen(80);
  gc?.();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < count; i++) kept.push(clientHost.connect(pair.now, '198.18.0.2', 80));
  pair.wakeClient();
  pair.runFor(5_000_000);
  gc?.();
  const after = process.memoryUsage().heapUsed;
  const established = kept.filter((k) => k.state === 'ESTABLISHED').length;
  if (established !== 2 * count) throw new Error(`only ${established} of ${2 * count} connection ends established`);
  return {
    name: 'memory per idle established connection (JS heap)',
    value: Math.round((after - before) / (2 * count)),
    unit: 'bytes',
    note: `${count} connections, both ends counted (${2 * count} TcpConnection objects with host bookkeeping)${gc ? '' : '; run without --expose-gc: noisy'}`,
  };
}

/** Our TCP through a TUN device against the kernel's; `offload` as tunPaths (default: offload unless MPTCP_TS_TUN_OFFLOAD=0). */
export async function ourStackThroughTun(bytes: number, direction: 'send' | 'receive', offload?: boolean): Promise<number> {
  const pair = tunPair(['198.18.0.2/24'], ['198.18.0.1/24'], offload === undefined ? {} : { offload });
  try {
    if (direction === 'send') {
      const peer = pair.namespace.spawn('python3', [KERNEL_PEER, 'server', '198.18.0.1', '5201', '0', '--nohash']);
      const out = jsonLines(peer);
      await out.next(10_000);
      const socket = pair.runtime.connect(5201, '198.18.0.1');
      await within(10_000, 'connect', once(socket, 'connect'));
      socket.resume();
      const source = new PatternSource(bytes, 1, 256 * 1024, true); // constant and unhashed, as the kernel peer (--nohash)
      for (let chunk = source.next(); chunk; chunk = source.next()) if (!socket.write(chunk)) await once(socket, 'drain');
      socket.end();
      const r = await out.next(120_000);
      if (r['received'] !== bytes) throw new Error(`kernel received ${String(r['received'])}`);
      return (bytes * 8) / Number(r['seconds']) / 1e9;
    }
    const server = pair.runtime.createServer();
    server.listen(5201);
    await once(server, 'listening');
    const accepted = once(server, 'connection');
    const peer = pair.namespace.spawn('python3', [KERNEL_PEER, 'client', '198.18.0.2', '5201', String(bytes), '--nohash']);
    const out = jsonLines(peer);
    const [socket] = (await within(10_000, 'accept', accepted)) as [import('node:stream').Duplex];
    socket.resume();
    socket.end();
    const r = await out.next(120_000);
    server.close();
    return (bytes * 8) / Number(r['seconds']) / 1e9;
  } finally {
    pair.dispose();
  }
}

export async function kernelToKernelVeth(bytes: number): Promise<number> {
  const topo = Topology.create();
  try {
    const a = topo.addNamespace('ka');
    const b = topo.addNamespace('kb');
    const va = `vb${process.pid % 100000}a`;
    const vb = `vb${process.pid % 100000}b`;
    a.ip('link', 'add', va, 'type', 'veth', 'peer', 'name', vb, 'netns', b.name);
    a.addAddress(va, '198.18.0.1/24');
    b.addAddress(vb, '198.18.0.2/24');
    a.linkUp(va);
    b.linkUp(vb);
    const server = b.spawn('python3', [KERNEL_PEER, 'server', '198.18.0.2', '5201', '0', '--nohash']);
    const sOut = jsonLines(server);
    await sOut.next(10_000);
    const client = a.spawn('python3', [KERNEL_PEER, 'client', '198.18.0.2', '5201', String(bytes), '--nohash']);
    const cOut = jsonLines(client);
    const r = await sOut.next(120_000);
    await cOut.next(30_000);
    return (bytes * 8) / Number(r['seconds']) / 1e9;
  } finally {
    topo.dispose();
  }
}

export async function benchTcp(): Promise<BenchResult[]> {
  const results: BenchResult[] = [...goodputInProcess(500_000_000), memoryPerIdleConnection(2000)];
  const skip = kernelSkipReason();
  if (skip) {
    console.error(`TUN benchmarks skipped: ${skip}`);
    return results;
  }
  const bytes = 1_000_000_000;
  const kernel = await kernelToKernelVeth(bytes);
  const send = await ourStackThroughTun(bytes, 'send');
  const receive = await ourStackThroughTun(bytes, 'receive');
  results.push(
    { name: 'kernel -> kernel over veth (same peer program), reference', value: sig3(kernel), unit: 'Gbit/s', note: `${bytes / 1e9} GB` },
    { name: 'our stack -> kernel through TUN', value: sig3(send), unit: 'Gbit/s', note: `ratio to kernel-kernel ${sig3(send / kernel)}` },
    { name: 'kernel -> our stack through TUN', value: sig3(receive), unit: 'Gbit/s', note: `ratio to kernel-kernel ${sig3(receive / kernel)}` },
  );
  return results;
}
