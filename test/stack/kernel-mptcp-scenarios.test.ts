/**
 * Issue 4, interop scenarios 9 to 12 against the Linux kernel's MPTCP through TUN devices: DSS checksums
 * (kernel only, ours only, both), fallback to plain TCP against a kernel peer without MPTCP, IPv6 subflows
 * and a mixed IPv4 + IPv6 endpoint set (no join across families), and four subflows with fullmesh endpoints
 * within the path manager's limits. Each checks the SHA-256 of the data both ways, our counters and the
 * kernel's MPTcpExt counters (nstat in the kernel's namespace), and prints both.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { kernelSkipReason, stateOf, tunPaths, until, within, type TunPaths } from '../support/kernel.js';
import {
  ONE_PATH,
  TWO_PATHS,
  assertExchangeIntact,
  assertKernelAddAddrEchoed,
  closeRun,
  configurePathManagers,
  kernelClientToOurServer,
  logAndAssertIntact,
  logCounters,
  ourClientToKernelServer,
  startTransfer,
  subflowLine,
  transfer,
} from '../support/kernel-mptcp.js';
import { MptcpConnection, type MptcpSubflowInfo } from '../../src/mptcp/connection.js';
import { formatAddress } from '../../src/wire/address.js';

const skip = kernelSkipReason();
const BYTES = 20_000_000;

/** A tcpdump capture (headers only) inside the kernel's namespace, stopped after `count` packets or by stop(). */
async function capture(paths: TunPaths, device: string, count: number): Promise<{ file: string; stop(): Promise<void>; cleanup(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'mptcp-csum-'));
  const file = join(dir, 'capture.pcap');
  const child = paths.namespace.spawn('tcpdump', ['-i', device, '-n', '-s', '200', '-c', String(count), '-U', '-Z', 'root', '-w', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await within(10_000, 'tcpdump listening', new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('listening on')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`tcpdump exited (${code}): ${stderr}`)));
  }));
  return {
    file,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      await within(10_000, 'tcpdump exit', exited);
    },
    cleanup() {
      if (process.env['KEEP_PCAP']) console.log(`# capture kept: ${file}`);
      else rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What a capture shows of checksums: the A flag of each MP_CAPABLE SYN / SYN-ACK, and DSS mappings with and without a checksum, per sender. */
interface ChecksumUse {
  synA: boolean | undefined;
  synAckA: boolean | undefined;
  /** Sender address -> mappings with a checksum / without. */
  mappings: Map<string, { withChecksum: number; without: number }>;
  malformed: number;
}

/**
 * tshark 4.0 does not show a DSS checksum as a field: whether a mapping carries one is read from the DSS
 * option's length (RFC 8684 3.3: 4 + DATA_ACK 4/8 + DSN 4/8 + subflow sequence 4 + length 2, then checksum 2).
 */
function analyseChecksums(file: string): ChecksumUse {
  const fields = ['ip.src', 'ipv6.src', 'tcp.flags.syn', 'tcp.flags.ack', 'tcp.option_kind', 'tcp.option_len', 'tcp.options.mptcp.subtype', 'tcp.options.mptcp.checksumreq.flags', 'tcp.options.mptcp.dseqnpresent.flag', 'tcp.options.mptcp.dseqn8.flag', 'tcp.options.mptcp.dataackpresent.flag', 'tcp.options.mptcp.dataack8.flag', '_ws.malformed'];
  const r = spawnSync('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=|', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`tshark failed: ${r.stderr}`);
  const use: ChecksumUse = { synA: undefined, synAckA: undefined, mappings: new Map(), malformed: 0 };
  const set = (v: string | undefined) => v === '1' || v === 'True';
  for (const line of r.stdout.split('\n')) {
    if (!line) continue;
    const [src4, src6, syn, ack, kinds, lens, subtypes, csumReq, m, m8, a, a8, malformed] = line.split('|');
    const src = src4 || src6 || '?';
    if (malformed) use.malformed++;
    const subtypeList = (subtypes ?? '').split(',');
    if (syn === '1' && subtypeList.includes('0')) {
      if (ack === '1') use.synAckA = set(csumReq);
      else use.synA = set(csumReq);
    }
    if (!set(m)) continue;
    // The lengths of the options that have one (not NOP / EOL), paired with their kinds; then the MPTCP ones.
    const withLength = (kinds ?? '').split(',').filter((k) => k !== '0' && k !== '1');
    const lengths = (lens ?? '').split(',').map(Number);
    const mptcpLengths = withLength.flatMap((k, i) => (k === '30' ? [lengths[i]!] : []));
    const dssLength = mptcpLengths[subtypeList.indexOf('2')];
    const expected = 4 + (set(a) ? (set(a8) ? 8 : 4) : 0) + (set(m8) ? 8 : 4) + 4 + 2;
    const entry = use.mappings.get(src) ?? { withChecksum: 0, without: 0 };
    if (dssLength === expected + 2) entry.withChecksum++;
    else if (dssLength === expected) entry.without++;
    else throw new Error(`unexpected DSS length ${dssLength} (expected ${expected} or ${expected + 2}): ${line}`);
    use.mappings.set(src, entry);
  }
  return use;
}

function checksumLine(use: ChecksumUse): string {
  return `SYN A=${use.synA} SYN/ACK A=${use.synAckA}; DSS mappings with/without checksum by sender: ${[...use.mappings].map(([k, v]) => `${k} ${v.withChecksum}/${v.without}`).join(', ')}; malformed ${use.malformed}`;
}

// ---------------------------------------------------------------------------------------------------------
// 9. Checksums
// ---------------------------------------------------------------------------------------------------------


const CHECKSUM_CASES = [
  { name: 'kernel checksum_enabled=1, ours off', kernel: true, ours: false },
  { name: 'ours on, kernel checksum_enabled=0', kernel: false, ours: true },
  { name: 'both on', kernel: true, ours: true },
] as const;

for (const c of CHECKSUM_CASES) {
  for (const role of ['our client -> kernel server', 'kernel client -> our server'] as const) {
    test(`MPTCP scenario 9 (checksums, ${c.name}): ${role}, ${BYTES / 1e6} MB each way`, { skip, timeout: 150_000 }, async () => {
      const paths = tunPaths(ONE_PATH);
      let pcap: Awaited<ReturnType<typeof capture>> | undefined;
      try {
        paths.namespace.setSysctl('net.mptcp.checksum_enabled', c.kernel ? 1 : 0);
        assert.equal(paths.namespace.getSysctl('net.mptcp.checksum_enabled'), c.kernel ? '1' : '0');
        pcap = await capture(paths, paths.tuns[0]!.name, 3000);
        const run =
          role === 'our client -> kernel server'
            ? await ourClientToKernelServer(paths, { to: '198.18.1.1', bytes: BYTES, checksum: c.ours })
            : await kernelClientToOurServer(paths, { to: '198.18.1.2', bytes: BYTES, checksum: c.ours });
        const connection = run.socket.connection;
        assert.ok(connection instanceof MptcpConnection);
        const exchange = startTransfer(run);
        await within(30_000, 'some data', until(() => connection.mptcpInfo().bytesReceived > 1_000_000, 'some data', 30_000), stateOf(paths));
        const ssM = paths.namespace.execSync('ss', ['-MniH']);
        const outcome = await exchange.finish();
        await pcap.stop();
        const use = analyseChecksums(pcap.file);
        const { mib, counters } = outcome;
        const info = connection.mptcpInfo();
        logCounters(run, outcome);
        console.log(`# our mptcpInfo: mode ${info.mode} checksum ${info.checksum}; capture: ${checksumLine(use)}`);
        console.log(`# kernel ss -Mi (mid-transfer): ${ssM.trim().replace(/\s+/g, ' ')}`);
        assertExchangeIntact(outcome, BYTES);
        assert.equal(info.mode, 'mptcp', 'no fallback');
        assert.equal(info.checksum, true, 'our connection uses DSS checksums');
        assert.equal(counters.DataCsumErr, 0);
        assert.equal(counters.DssFallback, 0);
        assert.equal(mib.get('DataCsumErr') ?? 0, 0, 'the kernel verified every checksum');
        assert.equal(mib.get('DSSNotMatching') ?? 0, 0);
        assert.equal(mib.get('MPFailRx') ?? 0, 0);
        assert.equal(mib.get('MPFailTx') ?? 0, 0);
        assert.equal(mib.get('DssFallback') ?? 0, 0);
        // The A flag on the wire: the client's SYN carries it when the client asks, the server's SYN/ACK when
        // the server asks (RFC 8684 3.1: either side requiring checksums means they are used).
        const clientAsks = role === 'our client -> kernel server' ? c.ours : c.kernel;
        const serverAsks = role === 'our client -> kernel server' ? c.kernel : c.ours;
        assert.equal(use.synA, clientAsks, 'A flag of the SYN');
        // Linux's SYN/ACK carries A only when the server itself asks (net.mptcp.checksum_enabled); ours also
        // repeats the A of the SYN (allowed: checksums are in use either way).
        assert.equal(use.synAckA, role === 'our client -> kernel server' ? serverAsks : serverAsks || clientAsks, 'A flag of the SYN/ACK');
        assert.equal(use.malformed, 0, 'tshark found no malformed packet');
        const ourSide = use.mappings.get('198.18.1.2');
        const kernelSide = use.mappings.get('198.18.1.1');
        assert.ok(ourSide && ourSide.withChecksum > 0 && ourSide.without === 0, `every mapping we sent has a checksum: ${checksumLine(use)}`);
        assert.ok(kernelSide && kernelSide.withChecksum > 0 && kernelSide.without === 0, `every mapping the kernel sent has a checksum: ${checksumLine(use)}`);
        await closeRun(run);
      } finally {
        await pcap?.stop().catch(() => {});
        pcap?.cleanup();
        paths.dispose();
      }
    });
  }
}

// ---------------------------------------------------------------------------------------------------------
// 10. Fallback: a kernel peer without MPTCP
// ---------------------------------------------------------------------------------------------------------

test(`MPTCP scenario 10: our MPTCP client -> a plain TCP kernel server falls back to TCP, ${BYTES / 1e6} MB each way`, { skip, timeout: 150_000 }, async () => {
  const paths = tunPaths(ONE_PATH);
  try {
    const run = await ourClientToKernelServer(paths, { to: '198.18.1.1', bytes: BYTES, flags: [] });
    const connection = run.socket.connection;
    assert.ok(connection instanceof MptcpConnection, 'an MPTCP socket');
    const outcome = await transfer(run);
    const { kernel, mib, counters: c } = outcome;
    const info = connection.mptcpInfo();
    logCounters(run, outcome);
    console.log(`# kernel socket: ${String(kernel['ss']).trim().replace(/\s+/g, ' ')}; our mptcpInfo mode ${info.mode}, fallback ${connection.fallback}, subflows ${info.subflows}`);
    assertExchangeIntact(outcome, BYTES);
    assert.equal(c.MPCapableSYNTX, 1, 'we asked for MPTCP');
    assert.equal(c.MPCapableSYNACKRX, 0);
    assert.equal(c.MPCapableFallbackSYNACK, 1, 'the SYN/ACK had no MP_CAPABLE: fallback');
    assert.equal(connection.fallback, true);
    assert.equal(info.mode, 'fallback');
    // One subflow, never a join; it may already be CLOSED here if the kernel's FIN came first (MPTCP_INFO's
    // count is of live subflows: 0 then, 1 before; it read 0 about 1 run in 4).
    assert.equal(connection.subflowInfo().length, 1, 'one subflow, no join');
    assert.ok(info.subflows <= 1, `live subflows ${info.subflows}`);
    assert.equal(mib.get('MPCapableSYNRX') ?? 0, 0, 'a plain kernel socket: no MPTCP at all');
    assert.ok(!/\bmptcp\b|tcp-ulp-mptcp/.test(String(kernel['ss'])), 'the kernel socket is plain TCP');
    await closeRun(run);
  } finally {
    paths.dispose();
  }
});

test(`MPTCP scenario 10: a plain TCP kernel client -> our MPTCP server gets plain TCP, ${BYTES / 1e6} MB each way`, { skip, timeout: 150_000 }, async () => {
  const paths = tunPaths(ONE_PATH);
  try {
    const run = await kernelClientToOurServer(paths, { to: '198.18.1.2', bytes: BYTES, flags: [] });
    const outcome = await transfer(run);
    const { mib, counters: c } = outcome;
    logCounters(run, outcome);
    console.log(`# our connection: ${run.socket.connection.constructor.name}`);
    assertExchangeIntact(outcome, BYTES);
    assert.equal(c.MPCapableSYNRX, 0, 'the SYN had no MP_CAPABLE');
    assert.equal(c.MPCapableACKRX, 0);
    // Like Linux's MPTCP listener, a SYN without MP_CAPABLE gets a plain TCP connection (the kernel's msk would
    // be in fallback mode; ours is a TcpConnection, or an MptcpConnection in fallback mode).
    const connection = run.socket.connection;
    if (connection instanceof MptcpConnection) {
      assert.equal(connection.fallback, true);
      assert.equal(connection.mptcpInfo().mode, 'fallback');
    }
    assert.equal(paths.runtime.host.mptcpConnections().length, 0, 'no MPTCP connection on our side');
    assert.equal(mib.get('MPCapableSYNTX') ?? 0, 0);
    await closeRun(run);
  } finally {
    paths.dispose();
  }
});

// ---------------------------------------------------------------------------------------------------------
// 11. IPv6
// ---------------------------------------------------------------------------------------------------------

const isV6 = (a: Uint8Array) => a.length === 16 && !(a.subarray(0, 10).every((b) => b === 0) && a[10] === 0xff && a[11] === 0xff);

/** Two IPv6 paths: 2001:2:0:1::/64 and 2001:2:0:2::/64, us at ::2 and the kernel at ::1 on each. */
const TWO_V6_PATHS = [
  { ours: ['2001:2:0:1::2/64'], kernel: ['2001:2:0:1::1/64'] },
  { ours: ['2001:2:0:2::2/64'], kernel: ['2001:2:0:2::1/64'] },
];
/** TWO_V6_PATHS with the addresses of TWO_PATHS added on each path. */
const TWO_DUAL_STACK_PATHS = [
  { ours: ['2001:2:0:1::2/64', '198.18.1.2/24'], kernel: ['2001:2:0:1::1/64', '198.18.1.1/24'] },
  { ours: ['2001:2:0:2::2/64', '198.18.2.2/24'], kernel: ['2001:2:0:2::1/64', '198.18.2.1/24'] },
];

/** Each subflow as `local->remote` (or `remote->local`), sorted. */
function addressPairs(subflows: readonly MptcpSubflowInfo[], first: 'local' | 'remote'): string[] {
  return subflows
    .map((s) => [formatAddress(s.endpoints.localAddress), formatAddress(s.endpoints.remoteAddress)])
    .map(([local, remote]) => (first === 'local' ? `${local}->${remote}` : `${remote}->${local}`))
    .sort();
}

/** Every subflow carried data both ways. */
function assertEverySubflowCarriedData(connection: MptcpConnection): void {
  for (const s of connection.subflowInfo()) assert.ok(s.dataBytesSent > 0 && s.dataBytesReceived > 0, `subflow ${s.id} carried data both ways: ${subflowLine(connection)}`);
}

/** Every subflow is IPv6 at both ends and carried data both ways. */
function assertAllIpv6(connection: MptcpConnection): void {
  for (const s of connection.subflowInfo()) assert.ok(isV6(s.endpoints.localAddress) && isV6(s.endpoints.remoteAddress), `subflow ${s.id} is IPv6`);
  assertEverySubflowCarriedData(connection);
}

/** No subflow crosses address families, and both families carried data both ways (printed by family). */
function assertBothFamiliesNeverCrossed(connection: MptcpConnection): void {
  const subflows = connection.subflowInfo();
  for (const s of subflows) {
    assert.equal(isV6(s.endpoints.localAddress), isV6(s.endpoints.remoteAddress), `subflow ${s.id} does not cross families: ${subflowLine(connection)}`);
  }
  const v4 = subflows.filter((s) => !isV6(s.endpoints.localAddress));
  const v6 = subflows.filter((s) => isV6(s.endpoints.localAddress));
  const sum = (l: typeof subflows, k: 'dataBytesSent' | 'dataBytesReceived') => l.reduce((a, s) => a + s[k], 0);
  console.log(`# by family (sent/received): IPv4 ${sum(v4, 'dataBytesSent')}/${sum(v4, 'dataBytesReceived')}, IPv6 ${sum(v6, 'dataBytesSent')}/${sum(v6, 'dataBytesReceived')}`);
  assert.ok(v4.length > 0 && v6.length > 0, 'subflows in both families');
  assert.ok(sum(v4, 'dataBytesSent') > 0 && sum(v6, 'dataBytesSent') > 0, 'we sent data over both families');
  assert.ok(sum(v4, 'dataBytesReceived') > 0 && sum(v6, 'dataBytesReceived') > 0, 'the kernel sent data over both families');
}

test(`MPTCP scenario 11: IPv6 subflows only; the kernel server signals its second IPv6 address, we join it, ${BYTES / 1e6} MB each way`, { skip, timeout: 150_000 }, async () => {
  const paths = tunPaths(TWO_V6_PATHS);
  try {
    configurePathManagers(paths, {
      kernel: { limits: 'subflows 2 add_addr_accepted 2', endpoints: [`2001:2:0:2::1 dev ${paths.tuns[1]!.name} id 2 signal`] },
      ours: { limits: 'subflows 2 add_addr_accepted 1' },
    });
    const run = await ourClientToKernelServer(paths, { listen: '::', to: '2001:2:0:1::1', localAddress: '2001:2:0:1::2', bytes: BYTES, flags: ['--mptcp', '--keep-listening'] });
    const outcome = await transfer(run);
    const { mib, counters: c } = outcome;
    const subflows = run.connection.subflowInfo();
    logAndAssertIntact(run, outcome);
    assertKernelAddAddrEchoed(outcome); // the kernel's IPv6 ADD_ADDR
    assert.equal(mib.get('MPJoinSynRx'), 1);
    assert.equal(mib.get('MPJoinAckRx'), 1);
    assert.equal(mib.get('MPCapableFallbackACK') ?? 0, 0);
    assert.equal(subflows.length, 2);
    assert.equal(formatAddress(subflows[1]!.endpoints.localAddress), '2001:2:0:2::2');
    assert.equal(formatAddress(subflows[1]!.endpoints.remoteAddress), '2001:2:0:2::1');
    assertAllIpv6(run.connection);
    await closeRun(run);
  } finally {
    paths.dispose();
  }
});

test(`MPTCP scenario 11: mixed IPv4 + IPv6 fullmesh endpoints; no join across families, both families carry data, ${BYTES / 1e6} MB each way`, { skip, timeout: 150_000 }, async () => {
  const paths = tunPaths(TWO_DUAL_STACK_PATHS);
  try {
    configurePathManagers(paths, {
      // The kernel server (an IPv6 socket, dual-stack) signals an IPv4 address on a connection that started
      // over IPv6.
      kernel: { limits: 'subflows 8 add_addr_accepted 8', endpoints: [`198.18.2.1 dev ${paths.tuns[1]!.name} id 2 signal`] },
      // Our endpoints in both families, all fullmesh: every chance to cross families, which must never happen.
      ours: {
        endpoints: ['198.18.1.2 id 1 subflow fullmesh', '198.18.2.2 id 2 subflow fullmesh', '2001:2:0:1::2 id 3 subflow fullmesh', '2001:2:0:2::2 id 4 subflow fullmesh'],
        limits: 'subflows 8 add_addr_accepted 8',
      },
    });
    const run = await ourClientToKernelServer(paths, { listen: '::', to: '2001:2:0:1::1', localAddress: '2001:2:0:1::2', bytes: BYTES, flags: ['--mptcp', '--keep-listening'] });
    const outcome = await transfer(run);
    const { mib, counters: c } = outcome;
    logAndAssertIntact(run, outcome);
    // Exactly: the initial IPv6 subflow; endpoint 4 (fullmesh) to the one IPv6 remote address; the kernel's
    // IPv4 ADD_ADDR joined from both IPv4 fullmesh endpoints (1 and 2). Endpoint 3 is the initial address.
    assert.deepEqual(addressPairs(run.connection.subflowInfo(), 'local'), ['198.18.1.2->198.18.2.1', '198.18.2.2->198.18.2.1', '2001:2:0:1::2->2001:2:0:1::1', '2001:2:0:2::2->2001:2:0:1::1'].sort());
    assert.equal(mib.get('MPJoinSynRx'), 3, 'three joins');
    assert.equal(mib.get('MPJoinAckRx'), 3);
    assertKernelAddAddrEchoed(outcome);
    assert.equal(c.MPJoinSynAckRx, 3);
    assertBothFamiliesNeverCrossed(run.connection);
    await closeRun(run);
  } finally {
    paths.dispose();
  }
});

test(`MPTCP scenario 11: IPv6 only, a kernel client joins our server's signalled IPv6 address, ${BYTES / 1e6} MB each way`, { skip, timeout: 150_000 }, async () => {
  const paths = tunPaths(TWO_V6_PATHS);
  try {
    configurePathManagers(paths, { kernel: { limits: 'subflows 2 add_addr_accepted 1' }, ours: { endpoints: ['2001:2:0:2::2 id 2 signal'] } });
    const run = await kernelClientToOurServer(paths, { to: '2001:2:0:1::2', bytes: BYTES });
    const outcome = await transfer(run);
    const { mib, counters: c } = outcome;
    const subflows = run.connection.subflowInfo();
    logAndAssertIntact(run, outcome);
    assert.ok((mib.get('AddAddr') ?? 0) >= 1, 'the kernel accepted our IPv6 ADD_ADDR');
    assert.equal(mib.get('MPJoinSynAckRx'), 1);
    assert.equal(c.MPJoinSynRx, 1);
    assert.equal(c.MPJoinAckRx, 1);
    assert.equal(subflows.length, 2);
    assert.equal(formatAddress(subflows[1]!.endpoints.localAddress), '2001:2:0:2::2');
    assertAllIpv6(run.connection);
    await closeRun(run);
  } finally {
    paths.dispose();
  }
});

test(`MPTCP scenario 11: mixed IPv4 + IPv6, a kernel client with fullmesh endpoints in both families to our server; no join across families, ${BYTES / 1e6} MB each way`, { skip, timeout: 150_000 }, async () => {
  const paths = tunPaths(TWO_DUAL_STACK_PATHS);
  try {
    configurePathManagers(paths, {
      kernel: {
        limits: 'subflows 8 add_addr_accepted 8',
        // No `dev`: an endpoint with a device binds its subflows to it (SO_BINDTODEVICE), and IPv6, unlike IPv4
        // (which then assumes the destination on-link), finds no route from 2001:2:0:2::1 on path 2 to our
        // 2001:2:0:1::2 (MPJoinSynTxConnectErr).
        endpoints: ['198.18.1.1 id 1 subflow fullmesh', '198.18.2.1 id 2 subflow fullmesh', '2001:2:0:1::1 id 3 subflow fullmesh', '2001:2:0:2::1 id 4 subflow fullmesh'],
      },
      // Our server (the connection starts over IPv6) signals an IPv4 address.
      ours: { endpoints: ['198.18.2.2 id 2 signal'], limits: 'subflows 8 add_addr_accepted 0' },
    });
    const run = await kernelClientToOurServer(paths, { to: '2001:2:0:1::2', bytes: BYTES });
    const outcome = await transfer(run);
    const { mib, counters: c } = outcome;
    logAndAssertIntact(run, outcome);
    assertBothFamiliesNeverCrossed(run.connection);
    // Exactly, as Linux's path manager does it: endpoint 3 is the initial address; endpoint 4 (IPv6, fullmesh)
    // joins the one IPv6 remote address; endpoints 1 and 2 (IPv4) have no IPv4 remote until our ADD_ADDR of
    // 198.18.2.2, which both then join (fill_local_addresses_vec, fullmesh).
    assert.deepEqual(addressPairs(run.connection.subflowInfo(), 'remote'), ['198.18.1.1->198.18.2.2', '198.18.2.1->198.18.2.2', '2001:2:0:1::1->2001:2:0:1::2', '2001:2:0:2::1->2001:2:0:1::2'].sort());
    assert.equal(c.MPJoinRejected, 0);
    assert.equal(c.MPJoinSynRx, 3);
    assert.equal(c.MPJoinAckRx, 3);
    assert.equal(mib.get('MPJoinSynTx'), 3);
    assert.equal(mib.get('MPJoinSynAckRx'), 3);
    assert.equal(mib.get('MPJoinSynTxConnectErr') ?? 0, 0);
    await closeRun(run);
  } finally {
    paths.dispose();
  }
});

// ---------------------------------------------------------------------------------------------------------
// 12. Four subflows: fullmesh within the limits
// ---------------------------------------------------------------------------------------------------------

test(`MPTCP scenario 12: four subflows (2 fullmesh local x 2 remote addresses, the kernel signalling its second), ${BYTES / 1e6} MB each way`, { skip, timeout: 150_000 }, async () => {
  const paths = tunPaths(TWO_PATHS);
  try {
    configurePathManagers(paths, {
      kernel: { limits: 'subflows 3 add_addr_accepted 0', endpoints: [`198.18.2.1 dev ${paths.tuns[1]!.name} id 2 signal`] },
      // At the limit: 3 additional subflows (4 in all) are exactly what fullmesh asks for here.
      ours: { endpoints: ['198.18.1.2 id 1 subflow fullmesh', '198.18.2.2 id 2 subflow fullmesh'], limits: 'subflows 3 add_addr_accepted 1' },
    });
    const run = await ourClientToKernelServer(paths, { listen: '0.0.0.0', to: '198.18.1.1', localAddress: '198.18.1.2', bytes: BYTES, flags: ['--mptcp', '--keep-listening'] });
    const outcome = await transfer(run);
    const { mib, counters: c } = outcome;
    logAndAssertIntact(run, outcome);
    assert.deepEqual(addressPairs(run.connection.subflowInfo(), 'local'), ['198.18.1.2->198.18.1.1', '198.18.1.2->198.18.2.1', '198.18.2.2->198.18.1.1', '198.18.2.2->198.18.2.1'], 'every local address with every remote address');
    assert.equal(mib.get('MPJoinSynRx'), 3, 'the kernel saw three MP_JOIN SYNs');
    assert.equal(mib.get('MPJoinAckRx'), 3, 'and three valid third ACKs');
    assert.equal(mib.get('MPJoinRejected') ?? 0, 0);
    assert.equal(c.MPJoinSynTx, 3);
    assert.equal(c.MPJoinSynAckRx, 3);
    assertKernelAddAddrEchoed(outcome);
    assertEverySubflowCarriedData(run.connection);
    await closeRun(run);
  } finally {
    paths.dispose();
  }
});

test(`MPTCP scenario 12: a kernel client with fullmesh endpoints joins our server's signalled address: four subflows, ${BYTES / 1e6} MB each way`, { skip, timeout: 150_000 }, async () => {
  const paths = tunPaths(TWO_PATHS);
  try {
    configurePathManagers(paths, {
      // No `dev` (which would bind each subflow to that device): joins are routed like any connection.
      kernel: { limits: 'subflows 3 add_addr_accepted 1', endpoints: ['198.18.1.1 id 1 subflow fullmesh', '198.18.2.1 id 2 subflow fullmesh'] },
      // At the limit: the kernel client asks for 3 additional subflows, our server accepts 3.
      ours: { endpoints: ['198.18.2.2 id 2 signal'], limits: 'subflows 3 add_addr_accepted 0' },
    });
    const run = await kernelClientToOurServer(paths, { to: '198.18.1.2', bytes: BYTES });
    const outcome = await transfer(run);
    const { mib, counters: c } = outcome;
    logAndAssertIntact(run, outcome);
    assert.deepEqual(addressPairs(run.connection.subflowInfo(), 'remote'), ['198.18.1.1->198.18.1.2', '198.18.1.1->198.18.2.2', '198.18.2.1->198.18.1.2', '198.18.2.1->198.18.2.2'], 'every kernel address with every one of ours');
    assert.equal(c.MPJoinSynRx, 3, 'we received three MP_JOIN SYNs');
    assert.equal(c.MPJoinAckRx, 3, 'and verified three third ACKs');
    assert.equal(c.MPJoinRejected, 0);
    assert.equal(mib.get('MPJoinSynAckRx'), 3, 'the kernel verified our three SYN/ACKs');
    assert.ok((mib.get('AddAddr') ?? 0) >= 1, 'the kernel accepted our ADD_ADDR');
    assert.ok(c.EchoAdd >= 1);
    assertEverySubflowCarriedData(run.connection);
    await closeRun(run);
  } finally {
    paths.dispose();
  }
});

test('MPTCP scenario 12: the subflows limit binds: with subflows 2, our fullmesh client opens two joins, not three', { skip, timeout: 150_000 }, async () => {
  const SMALL = 5_000_000;
  const paths = tunPaths(TWO_PATHS);
  try {
    configurePathManagers(paths, {
      kernel: { limits: 'subflows 3 add_addr_accepted 0', endpoints: [`198.18.2.1 dev ${paths.tuns[1]!.name} id 2 signal`] },
      ours: { endpoints: ['198.18.1.2 id 1 subflow fullmesh', '198.18.2.2 id 2 subflow fullmesh'], limits: 'subflows 2 add_addr_accepted 1' },
    });
    const run = await ourClientToKernelServer(paths, { listen: '0.0.0.0', to: '198.18.1.1', localAddress: '198.18.1.2', bytes: SMALL, flags: ['--mptcp', '--keep-listening'] });
    const outcome = await transfer(run);
    const { mib, counters: c } = outcome;
    logAndAssertIntact(run, outcome);
    assert.equal(run.connection.subflowInfo().length, 3, 'the initial subflow and two joins');
    assert.equal(c.MPJoinSynTx, 2);
    assert.equal(mib.get('MPJoinSynRx'), 2);
    assert.equal(mib.get('MPJoinAckRx'), 2);
    assertKernelAddAddrEchoed(outcome); // echoed even when the limit stops a join
    await closeRun(run);
  } finally {
    paths.dispose();
  }
});
