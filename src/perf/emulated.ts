/**
 * `mptcp perf` with both ends in this process: two hosts of our stack on a `RealtimeEmulation`, joined by one
 * emulated link per `--link` (several links are several paths), each host with a perf transport on its
 * sockets. Addresses that cannot be are `PerfConfigError`s; the MPTCP settings go to the client host.
 */
import { isIP } from 'node:net';
import { RealtimeEmulation } from '../api/emulation.js';
import type { HostSockets } from '../api/runtime.js';
import type { Limits } from '../pm/config.js';
import { prefixContains } from '../stack/routing.js';
import { parseAddress } from '../wire/address.js';
import { PerfConfigError } from './iperf3-protocol.js';
import { configRate, describeLink, linkConfigs, type PerfLink } from './link.js';
import type { LinkConfig } from '../emu/link.js';
import { applyMptcp, PERF_PLAIN_TCP, type PerfMptcp } from './mptcp-config.js';
import type { PerfTransport } from './transport.js';
import { userspaceTransport } from './userspace-transport.js';

/** Client and server hosts of our stack on one emulated link per path. */
export interface EmulatedPair {
  readonly client: PerfTransport;
  readonly server: PerfTransport;
  readonly clientAddress: string;
  readonly serverAddress: string;
  /** The hosts (for their MPTCP counters and endpoints). */
  readonly clientHost: HostSockets;
  readonly serverHost: HostSockets;
  /** One line per path: "path 1: 198.19.1.1 <-> 198.19.1.2, 100 Mbit/s, ...". */
  readonly descriptions: readonly string[];
  /** The emulation's lag so far (RealtimeEmulation.lagMicros) and its links' drops for a full queue. */
  lagMicros(): number;
  queueDrops(): number;
  /** The emulation both hosts run on (its network's links, for captures). */
  readonly emulation: RealtimeEmulation;
  close(): void;
}

/**
 * Send buffers of the emulated hosts, sized to the link. iperf3's sender ends a test (TEST_END) once its last
 * block is in the send buffer, and the receiver stops counting shortly after: with the default 4 MiB buffer
 * on a slow link, megabytes would still be queued and the receiver's total would fall short. Two
 * bandwidth-delay products keep the link busy; 0.1 s of data (at most 100 Mbit/s worth: this process runs
 * both stacks, and is slower than a fast link) bounds the tail that is still in flight at TEST_END.
 */
function emulatedSendBuffer(link: { readonly up: LinkConfig; readonly down: LinkConfig }): number {
  const rate = Math.min(1e12, Math.max(configRate(link.up), configRate(link.down)));
  const delayMicros = (link.up.delayMicros ?? 0) + (link.down.delayMicros ?? 0);
  const twoBdp = (2 * rate * delayMicros) / 8e6;
  const tenthOfASecond = (Math.min(rate, 100e6) * 0.1) / 8;
  // At least Linux's initial send buffer (tcp_wmem[1], 16 KiB): more on a slow link is seconds of data that
  // the sender counts as sent long before the link carries it.
  return Math.round(Math.min(4 << 20, Math.max(16 << 10, twoBdp, tenthOfASecond)));
}

/**
 * How long the emulated server waits past the test's end for the client's TEST_END: what can be queued
 * ahead of it on the slowest path (the send buffer and the link's queue) at that path's rate, plus 10 s.
 * On a 1 Kbit/s link a few packets take seconds each.
 */
export function emulatedGraceMs(links: readonly PerfLink[]): number {
  let worst = 0;
  for (const l of links) {
    const c = linkConfigs(l);
    const rate = Math.min(configRate(c.up), configRate(c.down));
    const queued = emulatedSendBuffer(c) + Math.max(c.up.queueLimitBytes ?? 0, c.down.queueLimitBytes ?? 0, emulatedSendBuffer(c));
    const rtt = (c.up.delayMicros ?? 0) + (c.down.delayMicros ?? 0);
    if (rate > 0 && Number.isFinite(rate)) worst = Math.max(worst, (queued * 8 * 1000) / rate + (2 * rtt) / 1000);
  }
  return Math.ceil(10_000 + worst);
}

/** Adds a default route through interface 0 of a host (so any address is reachable over its one link). */
function addDefaultRoute(sockets: HostSockets, family: 4 | 6): void {
  sockets.host.routing.addRoute({ prefix: new Uint8Array(family === 4 ? 4 : 16), prefixLength: 0, ifaceId: 0 });
}

/**
 * Addresses of the emulated path `index` >= 1 (path 0 is HOST's): client 198.19.N.1/24 and server
 * 198.19.N.2/24, or 2001:2:0:N::1/64 and ::2 for IPv6.
 */
export function emulatedPathAddresses(index: number, family: 4 | 6): { client: string; server: string; prefix: number } {
  return family === 4
    ? { client: `198.19.${index}.1`, server: `198.19.${index}.2`, prefix: 24 }
    : { client: `2001:2:0:${index.toString(16)}::1`, server: `2001:2:0:${index.toString(16)}::2`, prefix: 64 };
}

/**
 * The server host at `serverAddress` (an IP literal), the client host at `clientAddress` (default 198.18.0.1,
 * or 2001:2::1 for IPv6; the other of .1/.2 if the server took it), joined by `links[0]` both ways; each
 * further link is another path between another interface of each host (addresses from
 * `emulatedPathAddresses`). With MPTCP, `mptcp`'s endpoints and limits go to the client host; without
 * `--endpoint` the client gets a `subflow` endpoint on each further path's address (so it joins every path,
 * as `ip mptcp endpoint add ADDR subflow` would make the kernel do), and both hosts get `subflows` limits
 * of at least the number of further paths.
 */
export function emulatedPair(
  serverAddress: string,
  clientAddress: string | undefined,
  links: PerfLink | readonly PerfLink[],
  mptcp: PerfMptcp = PERF_PLAIN_TCP,
  /** `--cc`: the congestion controller of both hosts (default cubic). */
  congestionControl?: string,
): EmulatedPair {
  const linkList: readonly PerfLink[] = Array.isArray(links) ? links : [links as PerfLink];
  const family = isIP(serverAddress);
  if (family !== 4 && family !== 6) {
    throw new PerfConfigError(
      `-c ${serverAddress}: on the emulator (no --iface, no --kernel) HOST is the emulated server's address and must be an IP address, e.g. -c 198.18.0.2`,
    );
  }
  const canonical = (a: string): string => Array.from(parseAddress(a)!).join('.');
  let client = clientAddress;
  if (client === undefined) {
    const [first, second] = family === 4 ? ['198.18.0.1', '198.18.0.2'] : ['2001:2::1', '2001:2::2'];
    client = canonical(first) === canonical(serverAddress) ? second : first;
  } else {
    if (isIP(client) !== family) throw new PerfConfigError(`-B ${client}: the client address must be an IPv${family} address like HOST`);
    if (canonical(client) === canonical(serverAddress)) throw new PerfConfigError(`-B ${client}: the client address must differ from HOST`);
  }
  const prefix = family === 4 ? 24 : 64;
  const extra = linkList.slice(1).map((_, i) => emulatedPathAddresses(i + 1, family));
  for (const p of extra) {
    for (const a of [client, serverAddress]) {
      if (prefixContains(parseAddress(p.client)!, p.prefix, parseAddress(a)!)) {
        throw new PerfConfigError(`${a} is inside ${p.client}/${p.prefix}, which the emulator uses for its extra paths: pick another address`);
      }
    }
  }
  // One connection's data is spread over all the paths: room for each path's share.
  let configs: Array<{ readonly up: LinkConfig; readonly down: LinkConfig }>;
  try {
    configs = linkList.map((l) => linkConfigs(l));
  } catch (err) {
    throw new PerfConfigError(`--link: ${(err as Error).message}`);
  }
  const sendBufferBytes = Math.min(4 << 20, configs.reduce((a, l) => a + emulatedSendBuffer(l), 0));
  const emu = new RealtimeEmulation(1);
  const tcp = { sendBufferBytes, ...(congestionControl !== undefined ? { congestionControl } : {}) };
  try {
    const c = emu.addHost('client', [[`${client}/${prefix}`], ...extra.map((p) => [`${p.client}/${p.prefix}`])], { tcp });
    const s = emu.addHost('server', [[`${serverAddress}/${prefix}`], ...extra.map((p) => [`${p.server}/${p.prefix}`])], { tcp });
    addDefaultRoute(c, family);
    addDefaultRoute(s, family);
    configs.forEach((l, i) => emu.connect('client', i, 'server', i, l.up, l.down));
    if (mptcp.enabled) {
      const further = extra.length;
      if (further > 0) {
        const atLeast = (l: Limits): Limits => ({ ...l, subflows: Math.max(l.subflows, Math.min(8, further)) });
        s.host.setMptcpLimits(atLeast(s.host.mptcpLimits));
        if (mptcp.limits === undefined) c.host.setMptcpLimits(atLeast(c.host.mptcpLimits));
        if (mptcp.endpoints === undefined) c.host.setMptcpEndpoints(extra.map((p) => `${p.client} subflow`));
      }
      applyMptcp(c, mptcp);
    }
    const kind = mptcp.enabled ? 'MPTCP' : 'TCP';
    const descriptions = linkList.map((l, i) => {
      const [a, b] = i === 0 ? [client, serverAddress] : [extra[i - 1]!.client, extra[i - 1]!.server];
      // Numbered from 1 in --link order, as `mptcp demo` numbers its paths.
      return `path ${i + 1}: client ${a} <-> server ${b}, ${describeLink(l)}`;
    });
    return {
      client: userspaceTransport(c, `userspace ${kind} (this stack, emulated client)`, { mptcp: mptcp.enabled }),
      server: userspaceTransport(s, `userspace ${kind} (this stack, emulated server)`, { mptcp: mptcp.enabled }),
      clientAddress: client,
      serverAddress,
      clientHost: c,
      serverHost: s,
      descriptions,
      lagMicros: () => emu.lagMicros,
      queueDrops: () => [...emu.network.links.values()].reduce((a, l) => a + l.counters.droppedPackets.queue, 0),
      emulation: emu,
      close: () => emu.close(),
    };
  } catch (err) {
    emu.close();
    throw err;
  }
}

/** Whether the emulator delivered what its links were configured for, judged after a test. */
export interface EmulatorVerdict {
  /** False: the measured rate fell well short of the configured one while this process was CPU-bound. */
  readonly keptUp: boolean;
  /** What the paths can carry together (one path without MPTCP). */
  readonly configuredBitsPerSecond: number;
  /** What the receiver measured. */
  readonly measuredBitsPerSecond: number;
  /** CPU time of this process over the test's wall time, percent (100: one core, all the time). */
  readonly cpuPercent: number;
  /** How far the emulation ran behind the wall clock, as a percentage of the test's time (summed lateness). */
  readonly lagPercent: number;
  /** Packets the links dropped for a full queue during the test. */
  readonly queueDrops: number;
}

/** What the emulation did during a test, for `emulatorVerdict`. */
export interface EmulationLoad {
  readonly measuredBitsPerSecond: number;
  /** The test's length, seconds. */
  readonly seconds: number;
  /** This process's CPU time over the test's wall time, percent. */
  readonly cpuPercent: number;
  /** The emulation's lag accumulated during the test (RealtimeEmulation.lagMicros), over the test's wall time. */
  readonly lagFraction: number;
  /** Packets the links dropped for a full queue during the test. */
  readonly queueDrops: number;
}

/**
 * The emulator runs both hosts and every link in this one process, paced by the wall clock: a link faster
 * than the process can move packets (rate=10G) is not the limit, the process is. Judged after the test:
 * the receiver got less than 70% of what the paths can carry although no queue ever overflowed (the links
 * never were the bottleneck), the links have no random loss (TCP would not fill them), and TCP itself does
 * not explain it: its windows (the send buffer, the largest receive window) allow the rate over the RTT,
 * and slow start reaches the bandwidth-delay product within a tenth of the test; and the links are fast
 * enough (10 Mbit/s) for a process to fall behind them.
 */
export function emulatorVerdict(links: readonly PerfLink[], mptcp: boolean, load: EmulationLoad): EmulatorVerdict {
  const used = (mptcp ? links : links.slice(0, 1)).map((l) => ({ spec: l, c: linkConfigs(l) }));
  // A direction's capacity: the slower of the two (the test uses one of them; this blames the emulator less).
  const rateOf = (c: { up: LinkConfig; down: LinkConfig }): number => Math.min(configRate(c.up), configRate(c.down));
  const configured = used.reduce((a, l) => a + rateOf(l.c), 0);
  const short = load.measuredBitsPerSecond < 0.7 * configured;
  // Impairments TCP does not fill a link through (loss, jitter, reordering, duplicates, outages, traces).
  const impaired = (d: LinkConfig): boolean =>
    (d.loss !== undefined && d.loss !== 0) || d.jitter !== undefined || d.reorder !== undefined || (d.duplicateProbability ?? 0) > 0 || d.trace !== undefined || d.timeline !== undefined;
  const linkNotTheLimit = load.queueDrops === 0 && used.every((l) => !impaired(l.c.up) && !impaired(l.c.down) && l.spec.outages.length === 0);
  const window = Math.min(4 << 20, used.reduce((a, l) => a + emulatedSendBuffer(l.c), 0), 6 << 20);
  const tcpExplains = used.some(({ c }) => {
    const rate = rateOf(c);
    const rtt = ((c.up.delayMicros ?? 0) + (c.down.delayMicros ?? 0)) / 1e6 + 0.001;
    const bdp = (rate * rtt) / 8;
    const slowStart = rtt * Math.log2(Math.max(1, bdp / 14_480));
    return (window * 8) / rtt < 0.7 * rate || slowStart > 0.1 * load.seconds;
  });
  // What is left is the process (the emulation's lag and the CPU share are reported, but on a shared machine
  // neither is a reliable sign alone); a link below 10 Mbit/s (a packet per 1.2 ms or fewer) is never its fault.
  const behind = configured >= 10e6 && Number.isFinite(configured);
  return {
    keptUp: !(short && linkNotTheLimit && !tcpExplains && behind),
    configuredBitsPerSecond: configured,
    measuredBitsPerSecond: load.measuredBitsPerSecond,
    cpuPercent: load.cpuPercent,
    lagPercent: load.lagFraction * 100,
    queueDrops: load.queueDrops,
  };
}
