/**
 * mptcp-ts: a userspace Multipath TCP (RFC 8684) stack for Node.js, shaped like `node:net`.
 *
 * ```js
 * import { createStack, createEmulatedNetwork } from 'mptcp-ts';
 * const network = createEmulatedNetwork();                       // or real interfaces: TUN, UDP
 * const client = createStack({ name: 'client', network });
 * const server = createStack({ name: 'server', network });
 * network.link({ stack: client, address: '198.18.1.1/24' }, { stack: server, address: '198.18.1.2/24' });
 * server.createServer((socket) => socket.pipe(socket)).listen(7);
 * const socket = client.connect({ port: 7, host: '198.18.1.2' }); // an MptcpSocket: a stream.Duplex
 * ```
 *
 * What is here: `createStack` (a stack: `connect`, `createServer`, interfaces, MPTCP endpoints / limits /
 * scheduler in `ip mptcp` words, `close`), `createEmulatedNetwork` (stacks joined by emulated links, for
 * tests), the sockets and servers, the monitor events and the path manager's grammar, TUN and UDP devices,
 * and, as namespaces, the emulator (`emu`, also the "mptcp-ts/emu" export) and the wire codecs (`wire`,
 * also "mptcp-ts/wire"). `Host` is the sans-IO core under a stack, for runs in virtual time on `emu.Network`.
 */

export {
  createStack,
  Stack,
  type StackOptions,
  type ConnectOptions,
  type ServerOptions,
  type StackInterface,
  type PacketInterface,
  type PacketInterfaceOptions,
  type TunInterfaceOptions,
  type UdpInterfaceOptions,
  type UdpInterface,
  type CloseOptions,
  type StackNetwork,
  type StackBackend,
  type RefHandle,
} from './api/stack.js';
export { createEmulatedNetwork, EmulatedNetwork, type EmulatedNetworkOptions, type LinkEnd, type EmulatedLink } from './api/emulated-network.js';
export { MptcpSocket, MptcpServer, type SubflowInfo, type AddSubflowOptions, type ListenOptions } from './api/socket.js';
export { MptcpAgent, MptcpHttpsAgent } from './api/agent.js';
export type { MptcpInfo } from './mptcp/connection.js';
export type { TcpConfig, TcpInfo, TcpStateName, TcpErrorCode, KeepaliveConfig, Micros } from './tcp/types.js';
export { formatMonitorLine, MPTCP_EVENT, MPTCP_EVENT_FLAG, type MptcpEvent, type MptcpEventType, type MonitorFormatOptions } from './mptcp/events.js';
export { parseEndpoint, formatEndpoint, parseLimits, formatLimits, PmConfigError, DEFAULT_LIMITS, type Endpoint, type Limits } from './pm/config.js';
export { schedulerNames } from './sched/registry.js';
export { congestionControlNames } from './cc/registry.js';
export type { LinkConfig, LinkState, LossModel, JitterConfig, ReorderConfig } from './emu/link.js';
export { TunDevice, tunAvailable, type TunOpenOptions, type Availability } from './io/tun.js';
export { TunPort, tunOffloadRequested, type TunPortOptions, type TunPortCounters } from './io/tun-offload.js';
export { UdpPath, type UdpEndpoint, type UdpPathOptions } from './io/udp.js';
export { Host, type HostOptions } from './stack/host.js';

/** The emulator (virtual clock, links, taps, middleboxes): the same as the "mptcp-ts/emu" export. */
export * as emu from './emu/index.js';
/** The wire codecs (IP, TCP, MPTCP options, checksums, pcap): the same as the "mptcp-ts/wire" export. */
export * as wire from './wire/index.js';
