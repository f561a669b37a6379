/**
 * `mptcp perf --pcap` over two TUN paths against the Linux kernel (`mptcpize run iperf3 -s`): the capture our
 * stack writes of its own interfaces is read by tshark with no malformed packet and with its MPTCP analysis
 * (the data connection's two subflows in one MPTCP stream), and our decoding of it agrees with tshark's frame by
 * frame (addresses, ports, raw sequence and acknowledgment numbers, payload length, the MPTCP subtypes).
 * Root, namespaces, /dev/net/tun, iperf3, mptcpize and tshark are needed: skipped with the reason otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/cli/cli.js';
import { Topology } from '../../src/io/netns.js';
import { readFrames, type TcpFrame } from '../../src/capture/decode.js';
import { summarizeFrames } from '../../src/capture/summary.js';
import { MptcpSubtypeCode } from '../../src/wire/mptcp-option.js';
import { kernelSkipReason, within } from '../support/kernel.js';
import { haveIperf3 } from './helpers.js';

const have = (command: string, args: readonly string[]) => spawnSync(command, args, { encoding: 'utf8', timeout: 10_000 }).error === undefined;

function skipReason(): string | false {
  const kernel = kernelSkipReason();
  if (kernel) return kernel;
  if (!haveIperf3) return 'iperf3 not installed';
  if (!have('mptcpize', ['--help'])) return 'mptcpize not installed (apt-get install mptcpize)';
  if (!have('tshark', ['--version'])) return 'tshark not installed';
  return false;
}

test('mptcp perf --pcap, two TUN paths against mptcpize iperf3 -s: tshark reads the capture cleanly, our decoding matches tshark\'s frame by frame', { skip: skipReason(), timeout: 120_000 }, async () => {
  const topology = Topology.create();
  const dir = mkdtempSync(join(tmpdir(), 'mptcp-perf-ourpcap-'));
  try {
    const ns = topology.addNamespace('perf-pcap');
    ns.ip('mptcp', 'limits', 'set', 'subflows', '2', 'add_addr_accepted', '2');
    const server = ns.spawn('mptcpize', ['run', 'iperf3', '-s', '-1', '-p', '5201'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const serverExit = new Promise<number | null>((resolve) => server.once('close', (code) => resolve(code)));
    for (let i = 0; ; i++) {
      const r = await ns.run('ss', ['-Hltn', 'sport = :5201'], { timeoutMs: 5000 });
      if (r.stdout.trim() !== '') break;
      if (i > 200) throw new Error('iperf3 -s did not listen');
      await new Promise((r2) => setTimeout(r2, 50));
    }
    const pcap = join(dir, 'ours.pcap');
    const tun = (n: number) => `mpq${process.pid % 1_000_000}x${n}`;
    let out = '';
    let err = '';
    const code = await within(
      90_000,
      'mptcp perf -c',
      runCli(
        [
          'perf', '-c', '198.18.1.1', '-n', '2M', '-i', '0',
          '--iface', `tun:${tun(0)},addr=198.18.1.2/24,peer=198.18.1.1/24,netns=${ns.name}`,
          '--iface', `tun:${tun(1)},addr=198.18.2.2/24,peer=198.18.2.1/24,netns=${ns.name}`,
          '--endpoint', '198.18.2.2 subflow', '--limits', 'subflows 2', '--pcap', pcap,
        ],
        { stdout: (t) => (out += t), stderr: (t) => (err += t) },
      ),
    );
    assert.equal(code, 0, `${err}\n${out.slice(-2000)}`);
    assert.equal(await within(20_000, 'iperf3 -s exit', serverExit), 0);

    const { frames, error } = readFrames(readFileSync(pcap));
    assert.equal(error, undefined);
    const tcp = frames.filter((f): f is TcpFrame => f.kind === 'tcp');
    // Besides TCP: what the kernel's side of a fresh interface sends (IPv6 router solicitations, MLD).
    assert.ok(tcp.length > frames.length - 20, `${frames.length - tcp.length} frames that are not TCP`);
    const summary = summarizeFrames(frames);
    const data = summary.connections.find((c) => c.bytes.clientToServer > 2_000_000);
    assert.ok(data, `the data connection is in the capture: ${JSON.stringify(summary.connections.map((c) => c.bytes))}`);
    assert.equal(data.subflows.length, 2);

    const malformed = spawnSync('tshark', ['-r', pcap, '-Y', '_ws.malformed', '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
    assert.equal(malformed.status, 0, malformed.stderr);
    assert.equal(malformed.stdout.trim(), '', 'no malformed packet');
    const fields = ['frame.number', 'ip.src', 'ip.dst', 'tcp.srcport', 'tcp.dstport', 'tcp.seq_raw', 'tcp.ack_raw', 'tcp.len', 'tcp.options.mptcp.subtype', 'mptcp.stream'];
    const r = spawnSync(
      'tshark',
      ['-r', pcap, '-o', 'mptcp.analyze_mptcp:TRUE', '-Y', 'tcp', '-T', 'fields', '-E', 'separator=|', '-E', 'occurrence=a', '-E', 'aggregator=,', ...fields.flatMap((f) => ['-e', f])],
      { encoding: 'utf8', maxBuffer: 256 << 20 },
    );
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout.split('\n').filter((l) => l !== '');
    assert.equal(rows.length, tcp.length, 'tshark reads every TCP frame');
    const mptcpStreams = new Set<string>();
    let compared = 0;
    rows.forEach((row, i) => {
      const [frame, src, dst, sport, dport, seq, ack, len, subtypes, stream] = row.split('|');
      const f = tcp[i]!;
      const ours = [f.frame, f.src, f.dst, f.segment.srcPort, f.segment.dstPort, f.segment.seq >>> 0, (f.segment.flags & 0x10) !== 0 ? f.segment.ack >>> 0 : 0, f.payloadLength]
        .map(String)
        .join('|');
      const theirs = [frame, src, dst, sport, dport, seq, ack === '' ? '0' : ack, len].join('|');
      assert.equal(ours, theirs, `frame ${frame}`);
      const ourSubtypes = f.mptcp.map((e) => (e.kind === 'option' ? MptcpSubtypeCode[e.option.subtype as keyof typeof MptcpSubtypeCode] : e.subtypeValue)).join(',');
      assert.equal(ourSubtypes, subtypes ?? '', `frame ${frame}: MPTCP subtypes`);
      if (stream) mptcpStreams.add(stream);
      compared++;
    });
    assert.equal(compared, tcp.length);
    assert.equal(mptcpStreams.size, summary.connections.length, 'tshark sees as many MPTCP connections as our summary');
  } finally {
    topology.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
