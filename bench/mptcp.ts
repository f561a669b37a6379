/**
 * MPTCP benchmarks (issue 4):
 * - goodput of one MPTCP connection between two hosts of this stack in one process, on the emulator with
 *   infinite-rate links of 1 us delay (all CPU): two subflows over two links, one subflow, and plain TCP over
 *   one link measured the same way for comparison;
 * - through TUN against the Linux kernel: our MPTCP client with two subflows (two TUN devices into one kernel
 *   namespace) sending to a kernel MPTCP server, next to kernel-to-kernel MPTCP with two subflows (two veth
 *   pairs between two namespaces, the same Python peer program on both ends) measured in the same run, as a
 *   ratio (needs root, /dev/net/tun and the addon: skipped with the reason printed otherwise).
 */
import { once } from 'node:events';
import { MptcpApp } from '../src/harness/host-app.js';
import { HostPair } from '../src/harness/pair.js';
import { PatternSource, SourceWriter, runBulkTransfer } from '../src/harness/bulk.js';
import { MptcpConnection } from '../src/mptcp/connection.js';
import type { TcpSocket } from '../src/api/socket.js';
import { Topology } from '../src/io/netns.js';
import { KERNEL_PEER, jsonLines, kernelSkipReason, tunPaths, within } from '../test/support/kernel.js';
import { goodputSideBySide, sig3, type BenchResult } from './measure.js';

/**
 * Infinite rate, 1 us one way. Not 0: with zero delay the whole run happens at virtual time 0, a subflow
 * retransmits at once, and the receiver's ACK with timestamps, a D-SACK block and a DSS carrying its
 * DATA_FIN needs 50 bytes of options: emitTcpSegment throws (reported in BENCHMARKS.md).
 */
const LINK = { rateBitsPerSecond: Infinity, delayMicros: 1 } as const;

/**
 * One MPTCP transfer of `bytes` (constant unhashed chunks: the source costs nothing) from client to server
 * over `subflows` infinite-rate links (LINK). Returns the per-subflow data bytes sent.
 */
export function mptcpTransfer(bytes: number, subflows: 1 | 2, seed: number): number[] {
  const source = new PatternSource(bytes, 1, 256 * 1024, true);
  const writer = new SourceWriter(source);
  let received = 0;
  let ended = false;
  const pair = new HostPair(
    {
      seed,
      names: ['c', 's'],
      client: { name: 'c', secret: new Uint8Array(32).fill(seed) },
      server: { name: 's', secret: new Uint8Array(32).fill(seed + 100) },
      paths: Array.from({ length: subflows }, (_, i) => ({ clientAddress: `198.18.${i + 1}.2/24`, serverAddress: `198.18.${i + 1}.1/24`, link: { config: LINK } })),
    },
    {
      client: (clientHost) =>
        new MptcpApp(clientHost, (c, e, now) => {
          if (e === 'accepted') return;
          if (e.type === 'established' && subflows === 2) clientHost.addSubflow(now, c, '198.18.2.2', { remoteAddress: '198.18.2.1' });
          if (e.type === 'established' || e.type === 'writable') writer.pump(c);
        }),
      server: (serverHost) =>
        new MptcpApp(serverHost, (c, e) => {
          if (e === 'accepted') {
            c.shutdown();
            return;
          }
          if (e.type === 'readable' || e.type === 'end') for (let b = c.read(); b; b = c.read()) received += b.length;
          if (e.type === 'end') ended = true;
        }),
    },
  );
  pair.serverHost.listen(5201, { mptcp: true });
  // Nagle on (the default): it no longer holds MPTCP data back (segments never span two mappings), and
  // TCP_NODELAY gives the same run event for event.
  const connection = pair.clientHost.connect(0, '198.18.1.1', 5201, { mptcp: true, localAddress: '198.18.1.2' });
  pair.wakeClient();
  const r = pair.driveBounded(600_000_000, 200_000_000);
  if (!ended || received !== bytes) throw new Error(`MPTCP goodput transfer failed: ${received} of ${bytes} bytes (${JSON.stringify(r)})`);
  return connection.subflowInfo().map((sf) => sf.dataBytesSent);
}

function share(sent: number[]): string {
  const total = sent.reduce((a, b) => a + b, 0);
  return `data bytes per subflow ${sent.map((b) => `${((100 * b) / total).toFixed(0)}%`).join(' / ')}`;
}

// ---- through TUN against the kernel ----

/**
 * What the kernel server sends back. Not 0: Linux refuses an MP_JOIN (MPJoinRejected, RST) once the server
 * has half-closed (its msk is no longer TCP_ESTABLISHED), and a server with nothing to send shuts down at
 * once, before the client's `subflow` endpoint joins. 20 MB keeps it open for the join; both runs have it.
 */
const REVERSE_BYTES = 20_000_000;

const TWO_TUN_PATHS = [
  { ours: ['198.18.1.2/24'], kernel: ['198.18.1.1/24'] },
  { ours: ['198.18.2.2/24'], kernel: ['198.18.2.1/24'] },
];

/**
 * Our MPTCP client, two subflows over two TUN devices, sending `bytes` to a kernel MPTCP server. `offload`
 * as tunPaths (default: TUN offload unless MPTCP_TS_TUN_OFFLOAD=0).
 */
export async function oursToKernel(bytes: number, offload?: boolean): Promise<{ gbps: number; subflows: number[] }> {
  const paths = tunPaths(TWO_TUN_PATHS, offload === undefined ? {} : { offload });
  try {
    paths.namespace.ip('mptcp', 'limits', 'set', 'subflows', '2', 'add_addr_accepted', '2');
    // Linux receives MP_JOIN SYNs on the listening socket: the peer keeps it open after accept().
    const peer = paths.namespace.spawn('python3', [KERNEL_PEER, 'server', '198.18.1.1', '5201', String(REVERSE_BYTES), '--mptcp', '--keep-listening', '--nohash']);
    const out = jsonLines(peer);
    await out.next(10_000);
    // The second subflow comes from our path manager, like the kernel client's: a `subflow` endpoint joins
    // from 198.18.2.2 to the connection's remote address once the connection is fully established.
    paths.runtime.host.setMptcpLimits('subflows 2');
    paths.runtime.host.setMptcpEndpoints(['198.18.2.2 subflow']);
    const socket = paths.runtime.connect(5201, '198.18.1.1', { mptcp: true, localAddress: '198.18.1.2', config: { noDelay: true } });
    await within(10_000, 'connect', once(socket, 'connect'));
    socket.resume();
    const source = new PatternSource(bytes, 1, 256 * 1024, true);
    for (let chunk = source.next(); chunk; chunk = source.next()) {
      if (!socket.write(chunk)) await within(60_000, 'drain', once(socket, 'drain'));
    }
    socket.end();
    const r = await out.next(120_000);
    if (r['received'] !== bytes) throw new Error(`kernel received ${String(r['received'])} of ${bytes}`);
    const connection = (socket as TcpSocket).connection;
    const subflows = connection instanceof MptcpConnection ? connection.subflowInfo().map((s) => s.dataBytesSent) : [];
    const joins = Number(/MPTcpExtMPJoinAckRx\s+(\d+)/.exec(paths.namespace.execSync('nstat', ['-az']))?.[1] ?? 0);
    if (joins !== 1) throw new Error(`ours-kernel: expected one join, the kernel counted MPJoinAckRx ${joins}`);
    return { gbps: (bytes * 8) / Number(r['seconds']) / 1e9, subflows };
  } finally {
    paths.dispose();
  }
}

/**
 * A kernel MPTCP client sending `bytes` to our MPTCP server over two TUN devices: our server announces its
 * second address (ADD_ADDR, a `signal` endpoint) and the kernel client joins it (add_addr_accepted 1,
 * subflows 2). Our server sends nothing back (a kernel client receiving nothing keeps its connection open
 * until its own data is out, so the join goes through); the rate is the kernel's, from its first byte to
 * our EOF (sent once all its data has arrived). Returns the per-subflow data bytes we received.
 */
export async function kernelToOurs(bytes: number, offload?: boolean): Promise<{ gbps: number; subflows: number[] }> {
  const paths = tunPaths(TWO_TUN_PATHS, offload === undefined ? {} : { offload });
  try {
    paths.namespace.ip('mptcp', 'limits', 'set', 'subflows', '2', 'add_addr_accepted', '1');
    paths.runtime.host.setMptcpEndpoints(['198.18.2.2 signal']);
    const server = paths.runtime.createServer(undefined, undefined, { mptcp: true });
    server.listen(5201);
    await once(server, 'listening');
    const accepted = once(server, 'connection');
    const out = jsonLines(paths.namespace.spawn('python3', [KERNEL_PEER, 'client', '198.18.1.2', '5201', String(bytes), '--mptcp', '--nohash', '--hold-write']));
    const [socket] = (await within(10_000, 'accept', accepted)) as [TcpSocket];
    let received = 0;
    const all = new Promise<void>((resolve) =>
      socket.on('data', (b: Buffer) => {
        received += b.length;
        if (received >= bytes) resolve();
      }),
    );
    // The kernel client (--hold-write) half-closes only after our EOF: end once everything has arrived.
    await within(120_000, `${bytes} bytes from the kernel`, all);
    socket.end();
    const r = await out.next(60_000);
    server.close();
    if (received !== bytes) throw new Error(`kernel-ours: received ${received} of ${bytes}`);
    const connection = (socket as TcpSocket).connection;
    const subflows = connection instanceof MptcpConnection ? connection.subflowInfo().map((s) => s.dataBytesReceived) : [];
    if (subflows.length !== 2) throw new Error(`kernel-ours: expected two subflows, have ${subflows.length}`);
    return { gbps: (bytes * 8) / Number(r['seconds']) / 1e9, subflows };
  } finally {
    paths.dispose();
  }
}

/** Kernel MPTCP to kernel MPTCP, two subflows over two veth pairs between two namespaces. */
export async function kernelToKernel(bytes: number): Promise<{ gbps: number; joins: number }> {
  const topo = Topology.create();
  try {
    const a = topo.addNamespace('mka');
    const b = topo.addNamespace('mkb');
    const tag = process.pid % 100000;
    for (const i of [1, 2]) {
      const va = `vm${tag}a${i}`;
      const vb = `vm${tag}b${i}`;
      a.ip('link', 'add', va, 'type', 'veth', 'peer', 'name', vb, 'netns', b.name);
      a.addAddress(va, `198.18.${i}.2/24`);
      b.addAddress(vb, `198.18.${i}.1/24`);
      a.linkUp(va);
      b.linkUp(vb);
    }
    a.ip('mptcp', 'limits', 'set', 'subflows', '2', 'add_addr_accepted', '2');
    b.ip('mptcp', 'limits', 'set', 'subflows', '2', 'add_addr_accepted', '2');
    a.ip('mptcp', 'endpoint', 'add', '198.18.2.2', 'dev', `vm${tag}a2`, 'subflow');
    const server = b.spawn('python3', [KERNEL_PEER, 'server', '198.18.1.1', '5201', String(REVERSE_BYTES), '--mptcp', '--keep-listening', '--nohash']);
    const sOut = jsonLines(server);
    await sOut.next(10_000);
    const client = a.spawn('python3', [KERNEL_PEER, 'client', '198.18.1.1', '5201', String(bytes), '--mptcp', '--nohash']);
    const cOut = jsonLines(client);
    const r = await sOut.next(120_000);
    await cOut.next(30_000);
    if (r['received'] !== bytes) throw new Error(`kernel server received ${String(r['received'])} of ${bytes}`);
    const joins = Number(/MPTcpExtMPJoinAckRx\s+(\d+)/.exec(b.execSync('nstat', ['-az']))?.[1] ?? 0);
    if (joins !== 1) throw new Error(`kernel-kernel: expected one join, the server counted MPJoinAckRx ${joins}`);
    return { gbps: (bytes * 8) / Number(r['seconds']) / 1e9, joins };
  } finally {
    topo.dispose();
  }
}

export async function benchMptcp(): Promise<BenchResult[]> {
  const bytes = 200_000_000;
  let sent2: number[] = [];
  const results: BenchResult[] = goodputSideBySide(bytes, [
    {
      name: 'goodput, one MPTCP connection, two subflows, in one process, emulator with infinite link rate',
      run: (round) => {
        sent2 = mptcpTransfer(bytes, 2, round + 2);
        return share(sent2);
      },
    },
    {
      name: 'goodput, one MPTCP connection, one subflow, same set-up',
      run: (round) => {
        mptcpTransfer(bytes, 1, round + 2);
        return '';
      },
    },
    {
      name: 'goodput, plain TCP, one connection, same set-up (reference)',
      run: (round) => {
        const r = runBulkTransfer({ bytes, forward: LINK, seed: round + 2, verify: false });
        if (!r.completed || r.receivedBytes !== bytes) throw new Error('TCP goodput transfer failed');
        return '';
      },
    },
  ]);
  const skip = kernelSkipReason();
  if (skip) {
    console.error(`MPTCP TUN benchmarks skipped: ${skip}`);
    return results;
  }
  const kernelBytes = 1_000_000_000;
  const oursBytes = 300_000_000;
  const kernel = await kernelToKernel(kernelBytes);
  const ours = await oursToKernel(oursBytes);
  results.push(
    {
      name: 'kernel MPTCP -> kernel MPTCP, two subflows over two veth pairs (same peer program), reference',
      value: sig3(kernel.gbps),
      unit: 'Gbit/s',
      note: `${kernelBytes / 1e9} GB (and ${REVERSE_BYTES / 1e6} MB back); server MPJoinAckRx ${kernel.joins}`,
    },
    {
      name: 'our MPTCP client -> kernel MPTCP server, two subflows through two TUN devices',
      value: sig3(ours.gbps),
      unit: 'Gbit/s',
      note: `${oursBytes / 1e6} MB (and ${REVERSE_BYTES / 1e6} MB back); ratio to kernel-kernel ${sig3(ours.gbps / kernel.gbps)}; ${share(ours.subflows)}`,
    },
  );
  return results;
}
