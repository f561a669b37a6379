/**
 * The golden runs of the structure work (issue 8): deterministic outputs that a pure move of code must leave
 * byte-identical. `mptcp demo` (text and `--json`) for several seeds and options, and captures of every
 * packet each host offered to a link (the emulator's pcap tap at the offer point, so drops are in it too)
 * for a few scenarios that exercise every part of the connection layer: two lossy, reordering paths; a path
 * that fails and returns; ADD_ADDR then RM_ADDR; MP_FASTCLOSE; MP_FAIL with one and with two subflows; a
 * middlebox that strips options (fallback); a plain-TCP server. Each scenario also records both hosts' MIB
 * counters and a summary line, so a change that moves a counter without moving a packet shows too.
 *
 * `golden.test.ts` compares the SHA-256 of each output with `golden.json`; `npm run golden` rewrites that
 * file (only for a commit that changes behaviour on purpose, and says why), and `npm run golden -- --out DIR`
 * writes the outputs themselves (pcaps, JSON) so two trees can be compared with `mptcp decode` and diff.
 */
import { createHash } from 'node:crypto';
import type { LinkConfig } from '../../src/emu/link.js';
import { attachPcap } from '../../src/emu/tap.js';
import { OptionStripper, PayloadCorrupter, afterSyn } from '../../src/emu/middlebox.js';
import { PcapWriter } from '../../src/wire/pcap.js';
import { demoCommand } from '../../src/cli/demo.js';
import { MptcpConnection } from '../../src/mptcp/connection.js';
import { MB, scenario, summary, type Scenario, type ScenarioOptions } from '../../src/harness/scenario.js';

/** One output of one run. */
export interface GoldenOutput {
  readonly name: string;
  readonly bytes: Uint8Array;
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

export const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** `mptcp demo ARGS` in process: stdout then stderr, and the exit code. */
async function demo(args: readonly string[]): Promise<Uint8Array> {
  let out = '';
  let err = '';
  const code = await demoCommand.run(args, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return text(`${out}\n--- stderr\n${err}\n--- exit ${code}\n`);
}

/** The demo runs: the default (the README's), and other seeds, sizes, outages and failing paths. */
export const DEMO_RUNS: ReadonlyArray<readonly string[]> = [
  ['--json'],
  ['--seed', '1', '--bytes', '8M'],
  ['--json', '--seed', '2', '--bytes', '4M'],
  ['--json', '--seed', '3', '--bytes', '16M', '--fail-path', '2'],
  ['--json', '--seed', '7', '--bytes', '24M', '--outage', '1-2.5'],
];

interface CaptureRun {
  readonly name: string;
  readonly options: ScenarioOptions;
  /** After the scenario is built, before it runs (middleboxes, schedules). */
  readonly setUp?: (s: Scenario) => void;
  /** Runs it (default: `finish` with 120 s of virtual time). */
  readonly drive?: (s: Scenario) => void;
}

const fast: LinkConfig = { rateBitsPerSecond: 100e6, delayMicros: 10_000, queueLimitBytes: 500_000 };
const slow: LinkConfig = { rateBitsPerSecond: 60e6, delayMicros: 15_000, queueLimitBytes: 300_000 };
const impaired = (rate: number, delay: number): LinkConfig => ({
  rateBitsPerSecond: rate,
  delayMicros: delay,
  queueLimitBytes: 400_000,
  loss: 0.01,
  reorder: { probability: 0.01, extraDelayMicros: 4_000 },
});

export const CAPTURE_RUNS: readonly CaptureRun[] = [
  {
    name: 'lossy-two-paths',
    options: {
      seed: 21,
      up: 6 * MB,
      down: 2 * MB,
      paths: [{ config: impaired(80e6, 8_000) }, { config: impaired(40e6, 20_000) }],
      clientEndpoints: ['198.18.2.2 id 2 subflow'],
    },
  },
  {
    name: 'path-fail-return',
    options: {
      seed: 22,
      up: 12 * MB,
      down: 6 * MB,
      paths: [{ config: fast }, { config: { ...slow, timeline: [[800_000, 'down'], [2_800_000, 'up']] } }],
      clientEndpoints: ['198.18.2.2 id 2 subflow'],
    },
  },
  {
    name: 'initial-path-fail-return',
    options: {
      seed: 23,
      up: 8 * MB,
      down: 4 * MB,
      paths: [{ config: { ...fast, timeline: [[500_000, 'down'], [2_000_000, 'up']] } }, { config: slow }],
      clientEndpoints: ['198.18.2.2 id 2 subflow'],
    },
  },
  {
    name: 'add-addr-rm-addr',
    options: {
      seed: 24,
      up: 10 * MB,
      down: 10 * MB,
      paths: [{ config: fast }, { config: slow }],
      serverEndpoints: ['198.18.2.1 id 2 signal'],
      clientLimits: 'subflows 2 add_addr_accepted 1',
    },
    drive(s) {
      s.step(() => s.up.received > 3 * MB, 30_000_000);
      s.serverHost.removeMptcpEndpoint(2, s.net.now);
      s.wake();
      s.step(() => s.up.received > 6 * MB, 30_000_000);
      s.serverHost.addMptcpEndpoint('198.18.2.1 id 2 signal', s.net.now);
      s.wake();
      s.finish(120_000_000);
    },
  },
  {
    name: 'client-rm-addr-backup',
    options: {
      seed: 25,
      up: 8 * MB,
      down: 8 * MB,
      paths: [{ config: fast }, { config: slow }],
      clientEndpoints: ['198.18.2.2 id 2 subflow'],
    },
    drive(s) {
      s.step(() => s.client.subflowInfo().length > 1 && s.up.received > 2 * MB, 30_000_000);
      s.client.setBackup(1, true);
      s.wake();
      s.step(() => s.up.received > 4 * MB, 30_000_000);
      s.clientHost.removeMptcpEndpoint(2, s.net.now);
      s.wake();
      s.finish(120_000_000);
    },
  },
  {
    name: 'fastclose',
    options: {
      seed: 26,
      up: 20 * MB,
      down: 20 * MB,
      paths: [{ config: fast }, { config: slow }],
      clientEndpoints: ['198.18.2.2 id 2 subflow'],
      onClientEvent: (sc, c, e) => {
        if (e.type !== 'readable' || sc.down.received < 3 * MB || !(c instanceof MptcpConnection)) return;
        if (c.subflowInfo().length < 2 || c.subflowInfo()[1]!.dataBytesSent === 0) return;
        c.fastClose();
      },
    },
  },
  {
    name: 'mp-fail-one-subflow',
    options: { seed: 27, up: 4 * MB, down: 1 * MB, paths: [{ config: fast }], clientChecksum: true, serverChecksum: true },
    setUp(s) {
      const box = new PayloadCorrupter({ match: (seg) => seg.index >= 300 && seg.dstPort === 5201 });
      s.paths[0]!.forward.setTransform(box.transform);
    },
  },
  {
    name: 'mp-fail-two-subflows',
    options: {
      seed: 28,
      up: 6 * MB,
      down: 1 * MB,
      paths: [{ config: fast }, { config: slow }],
      clientEndpoints: ['198.18.2.2 id 2 subflow'],
      clientChecksum: true,
      serverChecksum: true,
    },
    setUp(s) {
      const box = new PayloadCorrupter({ match: (seg) => seg.index >= 400 && seg.dstPort === 5201 });
      s.paths[1]!.forward.setTransform(box.transform);
    },
  },
  {
    name: 'middlebox-strips-options',
    options: { seed: 29, up: 3 * MB, down: 3 * MB, paths: [{ config: { ...fast, loss: 0.002 } }] },
    setUp(s) {
      new OptionStripper({ match: afterSyn }).install(s.paths[0]!);
    },
  },
  {
    name: 'plain-tcp-server',
    options: { seed: 30, up: 3 * MB, down: 1 * MB, paths: [{ config: { ...fast, loss: 0.005 } }], serverMptcp: false },
  },
];

/** Runs one capture scenario: its pcap (every packet offered to every link) and its counters and summary. */
function captureRun(run: CaptureRun): GoldenOutput[] {
  const s = scenario(run.options);
  const chunks: Uint8Array[] = [];
  const writer = new PcapWriter((c) => chunks.push(c));
  for (const p of s.paths) attachPcap([p.forward, p.backward], writer, { point: 'offer' });
  run.setUp?.(s);
  let thrown: unknown;
  try {
    if (run.drive) run.drive(s);
    else thrown = s.finish(120_000_000);
  } catch (e) {
    thrown = e;
  }
  let size = 0;
  for (const c of chunks) size += c.length;
  const pcap = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    pcap.set(c, at);
    at += c.length;
  }
  const report = {
    summary: summary(run.name, s),
    thrown: thrown === undefined ? null : String((thrown as Error).message ?? thrown),
    upIntact: s.up.intact(),
    downIntact: s.down.intact(),
    client: s.clientHost.mptcpCounters,
    server: s.serverHost.mptcpCounters,
    clientHost: s.clientHost.counters,
    serverHost: s.serverHost.counters,
  };
  return [
    { name: `${run.name}.pcap`, bytes: pcap },
    { name: `${run.name}.json`, bytes: text(JSON.stringify(report, null, 2) + '\n') },
  ];
}

/** Every golden output, in a fixed order. */
export async function goldenOutputs(): Promise<GoldenOutput[]> {
  const out: GoldenOutput[] = [];
  for (const [i, args] of DEMO_RUNS.entries()) out.push({ name: `demo-${i}.txt`, bytes: await demo(args) });
  for (const run of CAPTURE_RUNS) out.push(...captureRun(run));
  return out;
}
