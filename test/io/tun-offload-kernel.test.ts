// The TUN offload path (src/io/tun-offload.ts) against the Linux kernel (root, /dev/net/tun, the addon;
// skipped with the reason otherwise):
// - directly (the TUN device in the kernel's namespace): 20 MB each way with SHA-256 equal, super-packets
//   in both directions (the kernel's TSO to us, our coalescing to it), no checksum error counted by the
//   kernel; the same over IPv6 (TSO6); and every combination of device mode (offload / plain) and host checksums (computed / left to
//   the device), since the glue must be right in each;
// - through a router namespace whose veth towards the kernel endpoint has no offloads (ethtool -K ... tx
//   off tso off gso off; rx off on the far side): the router must cut our super-packets itself and complete
//   their checksums from our csum_start/csum_offset and pseudo-header sum, and the endpoint verifies every
//   checksum in software. There the kernel's iperf3 (both directions) and curl (download and upload) run
//   against our stack, byte counts match, and tshark, on a capture taken inside the endpoint's namespace,
//   finds every IP and TCP checksum of both directions good.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Topology } from '../../src/io/netns.js';
import { TunPort, VNET_HDR_SIZE } from '../../src/io/tun-offload.js';
import { emitIpHeader, IpProtocol, parseIpPacket } from '../../src/wire/ip.js';
import { emitTcpSegment, parseTcpSegment, TcpFlags } from '../../src/wire/tcp.js';
import { isWireError } from '../../src/wire/errors.js';
import { StackRuntime } from '../../src/api/runtime.js';
import { parseAddress } from '../../src/wire/address.js';
import { runPerfClient } from '../../src/perf/client.js';
import { userspaceTransport } from '../../src/perf/userspace-transport.js';
import { KERNEL_PEER, closed, exchange, jsonLines, kernelMib, kernelSkipReason, once, stateOf, tunPair, until, within } from '../support/kernel.js';
import { captureIo, parseIperfJson } from '../perf/helpers.js';

const kernelSkip = kernelSkipReason();
function have(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
}
const routerSkip = kernelSkip || (['ethtool', 'tcpdump', 'tshark', 'iperf3', 'curl'].find((c) => !have(c)) ?? false);
const routerSkipReason = typeof routerSkip === 'string' && !kernelSkip ? `${routerSkip} is not installed` : kernelSkip;

for (const [offload, checksumOffload] of [
  [true, true],
  [true, false],
  [false, true],
  [false, false],
] as const) {
  const mode = `${offload ? 'offload' : 'plain'} device, checksums ${checksumOffload ? 'left to the device' : 'computed by the host'}`;
  const bytes = offload && checksumOffload ? 20_000_000 : 5_000_000;
  test(`TUN ${mode}: kernel <-> ours, ${bytes / 1e6} MB each way, SHA-256 equal, no checksum errors`, { skip: kernelSkip, timeout: 90_000 }, async () => {
    const pair = tunPair(['198.18.0.2/24'], ['198.18.0.1/24'], { offload, checksumOffload });
    try {
      assert.equal(pair.tun.offload, offload, pair.tun.offloadError);
      const server = pair.runtime.createServer();
      server.listen(5201);
      await once(server, 'listening');
      const accepted = once(server, 'connection');
      const out = jsonLines(pair.namespace.spawn('python3', [KERNEL_PEER, 'client', '198.18.0.2', '5201', String(bytes)]));
      const [socket] = (await within(10_000, 'accept', accepted)) as [import('node:stream').Duplex & { closed: boolean }];
      const ours = await within(60_000, 'exchange', exchange(socket, bytes), stateOf(pair));
      const kernel = await out.next(30_000);
      await within(10_000, 'close', closed(socket));
      server.close();
      assert.equal(kernel['received'], bytes);
      assert.equal(kernel['receivedSha256'], ours.sentSha256);
      assert.equal(ours.received, bytes);
      assert.equal(ours.receivedSha256, kernel['sentSha256']);
      const mib = kernelMib(pair);
      assert.equal(mib.get('TcpInCsumErrors') ?? 0, 0, 'the kernel counted no bad checksum');
      assert.equal(pair.runtime.host.counters.tcpErrors, 0, 'we counted no bad checksum');
      const c = pair.port.counters;
      console.log(`# ${mode}: ${JSON.stringify(c)}`);
      if (offload) {
        assert.ok(c.superPacketsIn > 0, 'the kernel handed us super-packets');
        assert.ok(c.packetsOut * 4 < c.segmentsOut, `our segments were coalesced (${c.segmentsOut} in ${c.packetsOut} packets)`);
      } else {
        assert.equal(c.superPacketsIn, 0);
        assert.equal(c.packetsOut, c.segmentsOut);
      }
      // JavaScript computes checksums only where neither the host nor the device does: plain device, host
      // leaving them (send), or offload device with a verifying host (receive, completing partial sums).
      if (offload === checksumOffload) assert.equal(c.checksumsComputed, 0);
      else assert.ok(c.checksumsComputed > 0);
    } finally {
      pair.dispose();
    }
  });
}

test('TUN offload over IPv6 (TSO6): kernel <-> ours, 10 MB each way, SHA-256 equal, super-packets both ways', { skip: kernelSkip, timeout: 90_000 }, async () => {
  const pair = tunPair(['2001:2::2/64'], ['2001:2::1/64'], { offload: true });
  try {
    const server = pair.runtime.createServer();
    server.listen(5201);
    await once(server, 'listening');
    const accepted = once(server, 'connection');
    const out = jsonLines(pair.namespace.spawn('python3', [KERNEL_PEER, 'client', '2001:2::2', '5201', String(10_000_000)]));
    const [socket] = (await within(10_000, 'accept', accepted)) as [import('node:stream').Duplex & { closed: boolean }];
    const ours = await within(60_000, 'exchange', exchange(socket, 10_000_000), stateOf(pair));
    const kernel = await out.next(30_000);
    await within(10_000, 'close', closed(socket));
    server.close();
    assert.equal(kernel['receivedSha256'], ours.sentSha256);
    assert.equal(ours.receivedSha256, kernel['sentSha256']);
    assert.equal(ours.received, 10_000_000);
    assert.equal(kernelMib(pair).get('TcpInCsumErrors') ?? 0, 0);
    const c = pair.port.counters;
    assert.ok(c.superPacketsIn > 0, 'the kernel handed us IPv6 super-packets');
    assert.ok(c.packetsOut * 4 < c.segmentsOut, `our IPv6 segments were coalesced (${c.segmentsOut} in ${c.packetsOut} packets)`);
  } finally {
    pair.dispose();
  }
});

test('TunDevice.write on an offload device puts a zero vnet header first: a SYN to a closed port gets the kernel RST, read behind its own header', { skip: kernelSkip, timeout: 30_000 }, async () => {
  const topology = Topology.create();
  try {
    const namespace = topology.addNamespace('ofw');
    const tun = topology.createTun({ offload: true });
    assert.ok(tun.offload, tun.offloadError);
    const got: Buffer[] = [];
    tun.onPackets = (packets) => got.push(...packets);
    topology.moveToNamespace(tun, namespace);
    namespace.addAddress(tun.name, '198.18.0.1/24');
    namespace.linkUp(tun.name);
    const src = parseAddress('198.18.0.2')!;
    const dst = parseAddress('198.18.0.1')!;
    const syn = new Uint8Array(40);
    emitIpHeader({ src, dst, protocol: IpProtocol.TCP, payloadLength: 20 }, syn, 0);
    emitTcpSegment({ srcPort: 40000, dstPort: 9, seq: 1, ack: 0, flags: TcpFlags.SYN, window: 1000, options: [], payload: new Uint8Array(0) }, src, dst, syn, 20);
    assert.equal(tun.write(syn), true);
    await until(() => got.some((b) => b.length === VNET_HDR_SIZE + 40 && b[VNET_HDR_SIZE + 9] === IpProtocol.TCP), 'the RST', 10_000);
    const rst = got.find((b) => b.length === VNET_HDR_SIZE + 40)!.subarray(VNET_HDR_SIZE);
    const ip = parseIpPacket(rst, { verifyChecksum: true });
    assert.ok(!isWireError(ip));
    const seg = parseTcpSegment(ip.payload);
    assert.ok(!isWireError(seg));
    assert.equal(seg.flags & (TcpFlags.RST | TcpFlags.ACK), TcpFlags.RST | TcpFlags.ACK);
    assert.equal(seg.ack, 2);
  } finally {
    topology.dispose();
  }
});

/** tshark's verdicts on a capture: per source address, how many IP and TCP checksums were good and bad. */
function checksumVerdicts(file: string): Map<string, { good: number; bad: number; other: number }> {
  const r = spawnSync('tshark', ['-r', file, '-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE', '-T', 'fields', '-e', 'ip.src', '-e', 'ip.checksum.status', '-e', 'tcp.checksum.status', '-Y', 'tcp'], {
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 64 << 20,
  });
  assert.equal(r.status, 0, r.stderr);
  const verdicts = new Map<string, { good: number; bad: number; other: number }>();
  for (const line of r.stdout.split('\n')) {
    if (!line) continue;
    const [src, ipStatus, tcpStatus] = line.split('\t');
    const v = verdicts.get(src!) ?? { good: 0, bad: 0, other: 0 };
    // tshark's checksum status: 0 bad, 1 good, 2 unverified.
    if (ipStatus === '0' || tcpStatus === '0') v.bad++;
    else if (ipStatus === '1' && tcpStatus === '1') v.good++;
    else v.other++;
    verdicts.set(src!, v);
  }
  return verdicts;
}

test('TUN offload through a router without offloads: kernel iperf3 (both ways) and curl (down and up) against our stack, byte counts match, tshark finds every checksum good', { skip: routerSkipReason, timeout: 120_000 }, async () => {
  const topology = Topology.create();
  const runtime = new StackRuntime({ checksumOffload: true });
  const dir = mkdtempSync(join(tmpdir(), 'mptcp-offload-'));
  const capture = join(dir, 'endpoint.pcap');
  let tcpdump: ChildProcess | undefined;
  try {
    const router = topology.addNamespace('ofr');
    const endpoint = topology.addNamespace('ofk');
    const tun = topology.createTun({ offload: true });
    assert.ok(tun.offload, tun.offloadError);
    const port = new TunPort(tun, runtime.checksums);
    let ifaceId = -1;
    port.onPackets = (packets) => runtime.receive(ifaceId, packets);
    ifaceId = runtime.addInterface(tun.name, ['198.18.1.2/24'], (b) => port.send(b));
    runtime.host.routing.addRoute({ prefix: parseAddress('198.18.3.0')!, prefixLength: 24, ifaceId, source: parseAddress('198.18.1.2')! });
    topology.moveToNamespace(tun, router);
    router.addAddress(tun.name, '198.18.1.1/24');
    router.ip('link', 'set', tun.name, 'txqueuelen', '10000');
    router.linkUp(tun.name);
    const vr = `ofr${process.pid % 100000}`;
    const vk = `ofk${process.pid % 100000}`;
    router.ip('link', 'add', vr, 'type', 'veth', 'peer', 'name', vk, 'netns', endpoint.name);
    router.addAddress(vr, '198.18.3.1/24');
    endpoint.addAddress(vk, '198.18.3.2/24');
    router.linkUp(vr);
    endpoint.linkUp(vk);
    router.setSysctl('net.ipv4.ip_forward', 1);
    endpoint.ip('route', 'add', '198.18.1.0/24', 'via', '198.18.3.1');
    // No offload between router and endpoint: software GSO and checksums at the router, software
    // verification at the endpoint (its veth does not vouch for checksums: rx off).
    router.execSync('ethtool', ['-K', vr, 'tx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off']);
    endpoint.execSync('ethtool', ['-K', vk, 'rx', 'off', 'tx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off']);

    const dump = endpoint.spawn('tcpdump', ['-i', vk, '-s', '0', '-U', '-w', capture, 'tcp'], { stdio: ['ignore', 'ignore', 'pipe'] });
    tcpdump = dump;
    let dumpErr = '';
    await within(10_000, 'tcpdump listening', new Promise<void>((resolve) => dump.stderr!.on('data', (d: Buffer) => ((dumpErr += d.toString()), /listening on/.test(dumpErr) && resolve()))));

    const transport = userspaceTransport(runtime);
    for (const reverse of [false, true]) {
      const iperf = endpoint.spawn('iperf3', ['-s', '-1', '-J', '-B', '198.18.3.2', '-p', '5201'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let iperfOut = '';
      iperf.stdout!.on('data', (d: Buffer) => (iperfOut += d.toString()));
      const iperfExit = new Promise<number | null>((resolve) => iperf.once('close', (c) => resolve(c)));
      for (let i = 0; i < 200 && !/:1451 .* 0A /.test(endpoint.execSync('cat', ['/proc/net/tcp'])); i++) await new Promise((r) => setTimeout(r, 20));
      const ours = await within(60_000, `perf client${reverse ? ' -R' : ''}`, runPerfClient({ host: '198.18.3.2', port: 5201, bytes: 8 << 20, reverse, io: captureIo() }, transport));
      assert.equal(await within(10_000, 'iperf3 exit', iperfExit), 0);
      const theirs = parseIperfJson(iperfOut);
      if (reverse) assert.equal(ours.sumSent.bytes, theirs.end.sum_sent.bytes, 'iperf3 sent what we report as sent');
      else assert.equal(ours.sumReceived.bytes, theirs.end.sum_received.bytes, 'iperf3 received what we report as received');
      assert.ok((reverse ? ours.sumReceived.bytes : theirs.end.sum_received.bytes) >= 0.9 * (8 << 20));
    }

    // curl: download a body from an HTTP server on our stack, and upload one to it.
    const body = Buffer.alloc(4 << 20, 0x61);
    const upload = join(dir, 'upload.bin');
    writeFileSync(upload, Buffer.alloc(3 << 20, 0x62));
    const web = http.createServer((req, res) => {
      let n = 0;
      req.on('data', (d: Buffer) => (n += d.length));
      req.on('end', () => res.end(req.method === 'POST' ? String(n) : body));
    });
    const server = runtime.createServer((socket) => web.emit('connection', socket));
    server.listen(8080);
    await once(server, 'listening');
    const down = await endpoint.run('curl', ['-sS', '-o', '/dev/null', '-w', '%{size_download}', 'http://198.18.1.2:8080/'], { timeoutMs: 30_000 });
    assert.equal(down.code, 0, down.stderr);
    assert.equal(Number(down.stdout), body.length);
    const up = await endpoint.run('curl', ['-sS', '--data-binary', `@${upload}`, '-H', 'Content-Type: application/octet-stream', 'http://198.18.1.2:8080/'], { timeoutMs: 30_000 });
    assert.equal(up.code, 0, up.stderr);
    assert.equal(Number(up.stdout), 3 << 20);
    server.close();

    dump.kill('SIGINT');
    await within(10_000, 'tcpdump exit', once(dump, 'close'));
    const verdicts = checksumVerdicts(capture);
    const ours = verdicts.get('198.18.1.2') ?? { good: 0, bad: 0, other: 0 };
    const kernel = verdicts.get('198.18.3.2') ?? { good: 0, bad: 0, other: 0 };
    console.log(`# tshark verdicts (good/bad/unverified): ours ${ours.good}/${ours.bad}/${ours.other}, kernel ${kernel.good}/${kernel.bad}/${kernel.other}; our port ${JSON.stringify(port.counters)}`);
    assert.equal(ours.bad + kernel.bad, 0, 'no bad checksum in either direction');
    assert.ok(ours.good > 5000, `our packets, cut by the router, verified (${ours.good})`);
    assert.ok(kernel.good > 1000, `the kernel's packets verified (${kernel.good})`);
    assert.equal(ours.other + kernel.other, 0, 'every checksum was verified');
    assert.ok(port.counters.packetsOut * 4 < port.counters.segmentsOut, 'we wrote super-packets');
    assert.equal(kernelMib({ namespace: endpoint }).get('TcpInCsumErrors') ?? 0, 0);
  } finally {
    tcpdump?.kill();
    runtime.close();
    topology.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
