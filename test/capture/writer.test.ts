/**
 * `--pcap`: the capture writer (LINKTYPE_RAW, headers-only snap length), the capture file, and the captures
 * of `mptcp perf` (two emulated paths) and `mptcp demo` read back by our decoder and by tshark's dissector
 * (no malformed packet; MP_CAPABLE, MP_JOIN and DSS seen), and grouped by `mptcp decode --summary`.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { CaptureWriter, headersLength, parseSnapLength } from '../../src/capture/writer.js';
import { readFrames, type TcpFrame } from '../../src/capture/decode.js';
import { summarizeFrames } from '../../src/capture/summary.js';
import { CaptureFile } from '../../src/io/capture-file.js';
import { runDemo } from '../../src/harness/demo.js';
import { runCli } from '../../src/cli/cli.js';
import { LinkType, readCapture } from '../../src/wire/pcap.js';
import { haveTshark, TSHARK_SKIP_REASON } from '../support/kernel-fixtures.js';

const MiB = 1024 * 1024;

function tempDir(): { dir: string; dispose: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'mptcp-pcap-'));
  return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The full packets of a short demo run (snap length 262144), to cut and compare. */
function demoPackets(): { timestampMicros: number; data: Uint8Array }[] {
  const packets: { timestampMicros: number; data: Uint8Array }[] = [];
  runDemo({ bytes: 256 * 1024, seed: 5, capture: { writePacket: (t, b) => packets.push({ timestampMicros: t, data: Uint8Array.from(b) }) } });
  return packets;
}

test('headersLength: never throws, never exceeds the packet, on arbitrary bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const n = headersLength(bytes);
      assert.ok(Number.isInteger(n) && n >= 0 && n <= bytes.length);
    }),
    { numRuns: 2000 },
  );
  // IPv4/IPv6-looking prefixes, so the TCP and extension-header paths are exercised too.
  fc.assert(
    fc.property(fc.constantFrom(0x45, 0x46, 0x4f, 0x60), fc.uint8Array({ minLength: 19, maxLength: 120 }), (first, rest) => {
      const bytes = Uint8Array.from([first, ...rest]);
      const n = headersLength(bytes);
      assert.ok(n >= 0 && n <= bytes.length);
    }),
    { numRuns: 2000 },
  );
});

test('parseSnapLength: headers or 1-262144 bytes, nothing else', () => {
  assert.equal(parseSnapLength('headers'), 'headers');
  assert.equal(parseSnapLength('96'), 96);
  assert.equal(parseSnapLength('262144'), 262144);
  for (const bad of ['0', '262145', '-1', '1.5', 'all', '']) assert.equal(parseSnapLength(bad), undefined, bad);
});

test('CaptureWriter headers mode: each record holds the IP and TCP headers with every option, the original length and the declared payload length', () => {
  const packets = demoPackets();
  assert.ok(packets.length > 100);
  const chunks: Uint8Array[] = [];
  const writer = new CaptureWriter((c) => chunks.push(c));
  for (const p of packets) writer.writePacket(p.timestampMicros, p.data);
  const file = Buffer.concat(chunks);
  assert.equal(writer.bytes, file.length);
  assert.equal(writer.packets, packets.length);
  const capture = readCapture(file);
  assert.ok(!(capture instanceof Error) && 'packets' in capture);
  assert.equal(capture.packets.length, packets.length);
  let cut = 0;
  capture.packets.forEach((record, i) => {
    const original = packets[i]!.data;
    assert.equal(record.linkType, LinkType.RAW);
    assert.equal(record.originalLength, original.length);
    assert.equal(record.timestampMicros, packets[i]!.timestampMicros);
    assert.equal(record.data.length, headersLength(original));
    assert.deepEqual(Uint8Array.from(record.data), original.subarray(0, record.data.length));
    if (record.data.length < original.length) cut++;
  });
  assert.ok(cut > packets.length / 3, `data segments lost their payload (${cut} of ${packets.length})`);
  // Decoded, the cut capture says the same as the full one: options and payload lengths.
  const full = readFrames(Buffer.concat((() => {
    const all: Uint8Array[] = [];
    const w = new CaptureWriter((c) => all.push(c), { snapLength: 262144 });
    for (const p of packets) w.writePacket(p.timestampMicros, p.data);
    return all;
  })())).frames.filter((f): f is TcpFrame => f.kind === 'tcp');
  const small = readFrames(file).frames.filter((f): f is TcpFrame => f.kind === 'tcp');
  assert.equal(small.length, full.length);
  small.forEach((f, i) => {
    assert.equal(f.payloadLength, full[i]!.payloadLength, `frame ${f.frame} payload length`);
    assert.deepEqual(f.mptcp, full[i]!.mptcp, `frame ${f.frame} MPTCP options`);
  });
  assert.deepEqual(summarizeFrames(small), summarizeFrames(full));
});

test('CaptureFile: written as the run goes (flush), complete after close; a file that cannot be created is one clear error', () => {
  const { dir, dispose } = tempDir();
  try {
    const path = join(dir, 'run.pcap');
    const file = CaptureFile.open(path);
    assert.equal(readFileSync(path).length, 24, 'the header is on disk at once');
    const packets = demoPackets().slice(0, 50);
    for (const p of packets) file.writePacket(p.timestampMicros, p.data);
    file.flush();
    const midway = readFileSync(path);
    assert.equal(midway.length, file.bytes);
    file.close();
    file.writePacket(0, packets[0]!.data); // after close: ignored
    const frames = readFrames(readFileSync(path));
    assert.equal(frames.error, undefined);
    assert.equal(frames.frames.length, 50);
    assert.throws(() => CaptureFile.open(join(dir, 'no', 'such', 'dir.pcap')), /cannot create capture file .*no\/such\/dir\.pcap: ENOENT/);
  } finally {
    dispose();
  }
});

async function cli(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

function tshark(file: string, filter: string): number {
  const r = spawnSync('tshark', ['-r', file, '-Y', filter, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l !== '').length;
}

/** tshark reads every frame of `file`, none malformed, with the MPTCP handshakes and DSS (skips where tshark is missing). */
function checkWithTshark(t: TestContext, file: string, frames: number): void {
  if (!haveTshark) {
    t.skip(TSHARK_SKIP_REASON);
    return;
  }
  assert.equal(tshark(file, 'frame'), frames, 'tshark reads every frame');
  assert.equal(tshark(file, '_ws.malformed'), 0, 'no malformed packet');
  assert.ok(tshark(file, 'tcp.options.mptcp.subtype == 0') >= 3, 'MP_CAPABLE handshake seen by the MPTCP dissector');
  assert.ok(tshark(file, 'tcp.options.mptcp.subtype == 1') >= 3, 'MP_JOIN handshake seen');
  assert.ok(tshark(file, 'tcp.options.mptcp.subtype == 2') > frames / 2, 'DSS on most segments');
}

test('mptcp perf --pcap (two emulated paths): every packet, tshark reads it with no malformed packet, decode --summary groups it', async (t) => {
  const { dir, dispose } = tempDir();
  try {
    const path = join(dir, 'perf.pcap');
    const r = await cli(['perf', '-c', '198.18.0.2', '-n', '1M', '-i', '0', '--link', 'rate=50M,delay=2ms', '--link', 'rate=20M,delay=5ms', '--pcap', path]);
    assert.equal(r.code, 0, r.err);
    const { frames, error } = readFrames(readFileSync(path));
    assert.equal(error, undefined);
    const summary = summarizeFrames(frames);
    // iperf3's control connection and the data connection, each MPTCP with a joined subflow.
    assert.equal(summary.connections.length, 2);
    for (const c of summary.connections) assert.equal(c.subflows.length, 2);
    const data = summary.connections.find((c) => c.bytes.clientToServer > MiB)!;
    assert.ok(data, 'the data connection carried the megabyte');
    assert.ok(data.subflows.every((s) => s.bytes.fromInitiator > 0), 'both subflows carried data');
    const text = await cli(['decode', '--summary', path]);
    assert.equal(text.code, 0);
    assert.match(text.out, /^2 MPTCP connections in \d+ frames/);
    checkWithTshark(t, path, frames.length);
  } finally {
    dispose();
  }
});

test('mptcp demo --pcap: the capture holds the run (both subflows, the bytes each carried), tshark reads it cleanly; bad options are usage errors', async (t) => {
  const { dir, dispose } = tempDir();
  try {
    const path = join(dir, 'demo.pcap');
    const r = await cli(['demo', '--bytes', '2M', '--json', '--pcap', path, '--pcap-snaplen', 'headers']);
    assert.equal(r.code, 0, r.err);
    const result = JSON.parse(r.out) as { subflows: { dataBytesSent: number; tcpRetransmits: number }[] };
    const { frames, error } = readFrames(readFileSync(path));
    assert.equal(error, undefined);
    const [conn] = summarizeFrames(frames).connections;
    assert.equal(conn?.subflows.length, 2);
    conn!.subflows.forEach((s, i) => {
      // Payload bytes on the wire: what the subflow was given, plus TCP retransmissions (at most one MSS each).
      const sent = result.subflows[i]!.dataBytesSent;
      assert.ok(s.bytes.fromInitiator >= sent && s.bytes.fromInitiator <= sent + 1460 * result.subflows[i]!.tcpRetransmits, `subflow ${i}: ${s.bytes.fromInitiator} vs ${sent}`);
    });
    const bad = await cli(['demo', '--pcap', path, '--pcap-snaplen', 'everything']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /bad --pcap-snaplen 'everything'/);
    assert.equal((await cli(['demo', '--pcap-snaplen', '100'])).code, 2);
    assert.equal((await cli(['perf', '-c', '127.0.0.1', '--kernel', '--pcap', path])).code, 2);
    const unwritable = await cli(['demo', '--bytes', '1K', '--pcap', join(dir, 'missing', 'x.pcap')]);
    assert.equal(unwritable.code, 1);
    assert.match(unwritable.err, /^mptcp demo: cannot create capture file .*ENOENT\n$/);
    checkWithTshark(t, path, frames.length);
  } finally {
    dispose();
  }
});
