/**
 * `mptcp perf --iface SPEC...`: our userspace stack (a `StackRuntime`) on real interfaces, TUN devices this
 * process creates (and configures on the kernel's side with `ip`, through src/io/netns.ts) and UDP paths.
 * Everything it creates is released by `close()`; a non-persistent TUN device also disappears when the
 * process dies, whatever kills it, so no device can outlive the command.
 *
 * Failures are `PerfError`s, one line each naming the interface spec; a spec that cannot be (a TUN device
 * name given twice) is a `PerfConfigError`.
 */
import { StackRuntime } from '../api/runtime.js';
import { linkExists, namespaceExists, runIp } from '../io/netns.js';
import { TunDevice, tunAvailable } from '../io/tun.js';
import { TunPort, tunOffloadRequested } from '../io/tun-offload.js';
import { UdpPath } from '../io/udp.js';
import { parseAddress } from '../wire/address.js';
import type { IfaceCidr, IfaceSpec, TunIfaceSpec, UdpIfaceSpec } from './iface.js';
import { PerfConfigError, PerfError } from './iperf3-protocol.js';
import { applyMptcp, describeCongestionControl, describeMptcp, PERF_PLAIN_TCP, type PerfMptcp } from './mptcp-config.js';
import type { PerfTransport } from './transport.js';
import { userspaceTransport } from './userspace-transport.js';

/** Our stack on real interfaces. */
export interface InterfaceStack {
  readonly runtime: StackRuntime;
  readonly transport: PerfTransport;
  /** One line per interface, for the text output. */
  readonly descriptions: readonly string[];
  /** Waits (at most `ms`) until every connection has closed or sits in TIME-WAIT: the last FIN/ACKs are out. */
  settle(ms: number): Promise<void>;
  /** Stops the stack, closes the TUN devices (deleting them) and the UDP sockets. Idempotent. */
  close(): Promise<void>;
}

const DEFAULT_TUN_MTU = 1500;
const DEFAULT_UDP_MTU = { 4: 1472, 6: 1452 } as const;
/** The TUN transmit ring is the link's only buffer: the kernel drops there when we fall behind its pacing. */
const TUN_TXQUEUELEN = '10000';
const UDP_SOCKET_BUFFER = 4 << 20;

function cidrText(c: IfaceCidr): string {
  return `${c.address}/${c.prefixLength}`;
}

/** Runs `ip [-n NS] ARGS` (io/netns.ts's runIp); throws PerfError naming the interface spec. */
function ip(spec: string, netns: string | undefined, args: readonly string[]): void {
  const r = runIp(args, netns);
  if (r.error) {
    const missing = r.error.code === 'ENOENT';
    throw new PerfError(`${spec}: ${missing ? 'the ip command (iproute2) is not installed' : `ip ${r.args.join(' ')}: ${r.error.message}`}`);
  }
  if (r.status !== 0) {
    const why = (r.stderr || r.stdout).trim().replace(/\s*\n\s*/g, ' ') || `exit ${r.status ?? r.signal}`;
    throw new PerfError(`${spec}: ip ${r.args.join(' ')} failed: ${why}`);
  }
}

/**
 * Builds a StackRuntime on the interfaces, in order (interface id i is `specs[i]`). Routes: each address's
 * on-link prefix; a host route to a UDP path's remote address (so `-c REMOTE-ADDR` works when the inner
 * addresses are the outer ones); with `defaultRoutes` (the client), a default route per address family
 * through the first interface having an address of that family. Anything created is released on failure.
 */
export async function openInterfaces(
  specs: readonly IfaceSpec[],
  options: { defaultRoutes: boolean; mptcp?: PerfMptcp; congestionControl?: string | undefined },
): Promise<InterfaceStack> {
  const mptcp = options.mptcp ?? PERF_PLAIN_TCP;
  const names = new Set<string>();
  for (const s of specs) {
    if (s.kind !== 'tun') continue;
    if (names.has(s.name)) throw new PerfConfigError(`--iface: TUN device name '${s.name}' given twice`);
    names.add(s.name);
  }
  if (specs.some((s) => s.kind === 'tun')) {
    const available = tunAvailable();
    if (!available.ok) throw new PerfError(`cannot create TUN devices: ${available.reason}`);
  }
  // TUN devices with offload take the TCP checksums off our hands (src/io/tun-offload.ts); a UDP path does not.
  const offload = tunOffloadRequested();
  const runtime = new StackRuntime({ name: 'perf', checksumOffload: offload && specs.every((s) => s.kind === 'tun') });
  const devices: TunDevice[] = [];
  const paths: UdpPath[] = [];
  const descriptions: string[] = [];
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    runtime.close();
    for (const d of devices) {
      try {
        d.close();
      } catch {
        // closing the fd is what deletes the device; nothing more to do
      }
    }
    await Promise.all(paths.map((p) => p.close()));
  };
  // Also on any exit path that skips `close()` (process.exit from elsewhere): closing the fds deletes devices.
  const onExit = (): void => {
    for (const d of devices) {
      try {
        d.close();
      } catch {
        // best effort
      }
    }
  };
  process.once('exit', onExit);
  try {
    const families = new Set<4 | 6>();
    for (const spec of specs) {
      const ifaceId = spec.kind === 'tun' ? openTun(spec, runtime, devices) : await openUdp(spec, runtime, paths);
      const iface = runtime.host.routing.interfaces[ifaceId]!;
      descriptions.push(describeIface(spec, paths[paths.length - 1]));
      if (options.defaultRoutes) {
        for (const a of iface.addresses) {
          const family = a.address.length === 4 ? 4 : 6;
          if (families.has(family)) continue;
          families.add(family);
          runtime.host.routing.addRoute({ prefix: new Uint8Array(a.address.length), prefixLength: 0, ifaceId, source: a.address });
        }
      }
    }
    applyMptcp(runtime, mptcp);
    if (mptcp.enabled) descriptions.push(describeMptcp(runtime, mptcp));
    if (options.congestionControl !== undefined) {
      runtime.host.setCongestionControl(options.congestionControl);
      descriptions.push(describeCongestionControl(options.congestionControl));
    }
  } catch (err) {
    await close();
    process.off('exit', onExit);
    throw err;
  }
  return {
    runtime,
    transport: userspaceTransport(runtime, mptcp.enabled ? 'userspace MPTCP (this stack)' : 'userspace TCP (this stack)', { mptcp: mptcp.enabled }),
    descriptions,
    async settle(ms) {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline && runtime.host.connections().some((c) => c.state !== 'CLOSED' && c.state !== 'TIME-WAIT')) {
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      await close();
      process.off('exit', onExit);
    },
  };
}

function describeIface(spec: IfaceSpec, path: UdpPath | undefined): string {
  if (spec.kind === 'tun') {
    const where = spec.netns !== undefined ? ` in netns ${spec.netns}` : '';
    return `Interface ${spec.name}: TUN, our address ${cidrText(spec.address)}, kernel side ${cidrText(spec.peer)}${where}`;
  }
  const inner = spec.address ? cidrText(spec.address) : `${spec.local.address}/${spec.local.family === 4 ? 32 : 128}`;
  const local = path ? (path.local.address.includes(':') ? `[${path.local.address}]:${path.local.port}` : `${path.local.address}:${path.local.port}`) : spec.local.address;
  const remote = spec.remote ? (spec.remote.family === 6 ? `[${spec.remote.address}]:${spec.remote.port}` : `${spec.remote.address}:${spec.remote.port}`) : 'learned from the first datagram';
  return `Interface udp ${local}: our address ${inner}, remote ${remote}`;
}

function openTun(spec: TunIfaceSpec, runtime: StackRuntime, devices: TunDevice[]): number {
  const where = spec.netns !== undefined ? `network namespace '${spec.netns}'` : 'this network namespace';
  if (spec.netns !== undefined && !namespaceExists(spec.netns)) {
    throw new PerfError(`${spec.spec}: network namespace '${spec.netns}' does not exist (create it with: ip netns add ${spec.netns})`);
  }
  if (linkExists(spec.name, undefined)) throw new PerfError(`${spec.spec}: an interface named ${spec.name} already exists`);
  if (spec.netns !== undefined && linkExists(spec.name, spec.netns)) throw new PerfError(`${spec.spec}: an interface named ${spec.name} already exists in ${where}`);
  let ifaceId = -1;
  let device: TunDevice;
  try {
    device = TunDevice.open(spec.name, {
      offload: tunOffloadRequested(),
      onError: () => undefined, // the device went away (deleted under us): the stack sees a dead link
    });
  } catch (err) {
    throw new PerfError(`${spec.spec}: cannot create TUN device ${spec.name}: ${(err as Error).message}`);
  }
  devices.push(device);
  const mtu = spec.mtu ?? DEFAULT_TUN_MTU;
  if (spec.mtu !== undefined) device.setMtu(spec.mtu);
  const port = new TunPort(device, runtime.checksums);
  port.onPackets = (packets) => runtime.receive(ifaceId, packets);
  ifaceId = runtime.addInterface(spec.name, [cidrText(spec.address)], (bytes) => port.send(bytes), mtu);
  if (spec.netns !== undefined) ip(spec.spec, undefined, ['link', 'set', 'dev', spec.name, 'netns', spec.netns]);
  ip(spec.spec, spec.netns, spec.peer.family === 6 ? ['-6', 'addr', 'add', cidrText(spec.peer), 'dev', spec.name, 'nodad'] : ['addr', 'add', cidrText(spec.peer), 'dev', spec.name]);
  ip(spec.spec, spec.netns, ['link', 'set', 'dev', spec.name, 'txqueuelen', TUN_TXQUEUELEN, 'up']);
  return ifaceId;
}

async function openUdp(spec: UdpIfaceSpec, runtime: StackRuntime, paths: UdpPath[]): Promise<number> {
  let path: UdpPath;
  try {
    path = await UdpPath.bind({
      localAddress: spec.local.address,
      ...(spec.local.port !== undefined ? { localPort: spec.local.port } : {}),
      ...(spec.remote ? { remote: { address: spec.remote.address, port: spec.remote.port } } : {}),
      receiveBufferSize: UDP_SOCKET_BUFFER,
      sendBufferSize: UDP_SOCKET_BUFFER,
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'EADDRINUSE' ? 'the address and port are in use' : e.code === 'EADDRNOTAVAIL' ? 'no such local address on this host' : e.message;
    throw new PerfError(`${spec.spec}: cannot bind UDP ${spec.local.address}${spec.local.port !== undefined ? ` port ${spec.local.port}` : ''}: ${why}`);
  }
  paths.push(path);
  const inner: IfaceCidr = spec.address ?? { address: spec.local.address, prefixLength: spec.local.family === 4 ? 32 : 128, family: spec.local.family };
  const mtu = spec.mtu ?? DEFAULT_UDP_MTU[spec.local.family];
  const ifaceId = runtime.addInterface(`udp${paths.length - 1}`, [cidrText(inner)], (bytes) => path.send(bytes), mtu);
  path.onPackets = (packets) => runtime.receive(ifaceId, packets);
  path.onUnreachable = () => runtime.interfaceUnreachable(ifaceId);
  if (spec.remote && spec.remote.family === inner.family) {
    const remote = parseAddress(spec.remote.address)!;
    runtime.host.routing.addRoute({ prefix: remote, prefixLength: remote.length * 8, ifaceId, source: parseAddress(inner.address)! });
  }
  return ifaceId;
}
