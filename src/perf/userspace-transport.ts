/**
 * `mptcp perf` over this project's own stack: a PerfTransport on the Node-facing sockets of a host
 * (`HostSockets`: a `StackRuntime` on TUN/UDP, or a host of a `RealtimeEmulation`). The sockets report
 * sender statistics (retransmits, cwnd, RTT) from the TCP engine, which node:net cannot, and, for MPTCP
 * connections, their subflows (`MptcpConnection.subflowInfo()`, like the kernel's MPTCP_TCPINFO).
 */
import { once } from 'node:events';
import type { HostSockets } from '../api/runtime.js';
import type { TcpSocket } from '../api/socket.js';
import { MptcpConnection } from '../mptcp/connection.js';
import { formatAddress } from '../wire/address.js';
import type { TcpConfig } from '../tcp/types.js';
import type { PerfListener, PerfMptcpStatus, PerfSocket, PerfSubflowStats, PerfTransport } from './transport.js';

/** Options of the userspace transport. */
export interface UserspaceTransportOptions {
  /**
   * Open and accept MPTCP connections (RFC 8684): connections start with MP_CAPABLE, and the host's path
   * manager (its endpoints and limits) adds subflows. A peer without MPTCP gets plain TCP (fallback).
   */
  readonly mptcp?: boolean;
}

/** The subflows of an MPTCP connection that has not fallen back to TCP; undefined otherwise. */
function subflowStats(socket: TcpSocket): PerfSubflowStats[] | undefined {
  const c = socket.connection;
  if (!(c instanceof MptcpConnection) || c.fallback) return undefined;
  return c.subflowInfo().map((s) => ({
    id: s.id,
    localAddress: formatAddress(s.endpoints.localAddress),
    localPort: s.endpoints.localPort,
    remoteAddress: formatAddress(s.endpoints.remoteAddress),
    remotePort: s.endpoints.remotePort,
    join: s.join,
    backup: s.backupLocal || s.backupPeer,
    state: s.state,
    bytesSent: s.dataBytesSent,
    bytesAcked: s.tcp.bytesAcked,
    bytesReceived: s.dataBytesReceived,
    retransmits: s.tcp.retransmits,
    cwndBytes: s.tcp.cwndBytes,
    ...(s.tcp.srttMicros === undefined ? {} : { rttMicros: s.tcp.srttMicros }),
  }));
}

/**
 * The MPTCP mode of a socket's connection; for a fallback, the kernel counter of its reason: the client
 * got a SYN/ACK without MP_CAPABLE (MPCapableFallbackSYNACK), the server a third ACK without it
 * (MPCapableFallbackACK), or, once MPTCP was up (the peer's key known), data without a mapping (DssFallback).
 */
function mptcpStatus(socket: TcpSocket, role: 'client' | 'server'): PerfMptcpStatus | undefined {
  const c = socket.connection;
  if (!(c instanceof MptcpConnection)) return undefined;
  const info = c.mptcpInfo();
  if (info.mode !== 'fallback') return { mode: info.mode };
  if (info.remoteToken !== undefined) return { mode: 'fallback', fallbackCounter: 'DssFallback', fallbackReason: 'the peer sent data without a DSS mapping' };
  return role === 'client'
    ? { mode: 'fallback', fallbackCounter: 'MPCapableFallbackSYNACK', fallbackReason: 'the server answered the MP_CAPABLE SYN without MP_CAPABLE' }
    : { mode: 'fallback', fallbackCounter: 'MPCapableFallbackACK', fallbackReason: "the client's third ACK carried no MP_CAPABLE" };
}

function perfSocket(socket: TcpSocket, role: 'client' | 'server'): PerfSocket {
  // TcpSocket's own method (data-level for MPTCP), bound before the property below shadows it.
  const acknowledged = socket.acknowledged.bind(socket);
  return Object.assign(socket, {
    acknowledged,
    tcpStats() {
      const i = socket.info();
      // An MPTCP connection retransmits on every subflow: its count is theirs together (the rest, cwnd and
      // RTT, are the initial subflow's, as `info()` gives them).
      const subflows = subflowStats(socket);
      const retransmits = subflows ? subflows.reduce((a, s) => a + (s.retransmits ?? 0), 0) : i.retransmits;
      return {
        retransmits,
        cwndBytes: i.cwndBytes,
        ...(i.srttMicros === undefined ? {} : { rttMicros: i.srttMicros }),
        ...(i.rttvarMicros === undefined ? {} : { rttVarMicros: i.rttvarMicros }),
        pmtu: i.sendMss + (socket.remoteFamily === 'IPv6' ? 60 : 40),
      };
    },
    subflows: () => subflowStats(socket),
    mptcpStatus: () => mptcpStatus(socket, role),
  });
}

/**
 * `-w` and `-M` as our TCP's settings: SO_SNDBUF / SO_RCVBUF fix the send buffer and the receive buffer
 * (no autotuning past it; at least Linux's SOCK_MIN_SNDBUF, 4608 bytes), TCP_MAXSEG the MSS.
 */
function socketConfig(o: { windowBytes?: number; mss?: number }): TcpConfig {
  const w = o.windowBytes === undefined ? undefined : Math.max(4608, o.windowBytes);
  return {
    ...(w !== undefined ? { sendBufferBytes: w, receiveBufferBytes: w, receiveBufferMaxBytes: w } : {}),
    ...(o.mss !== undefined ? { mss: o.mss } : {}),
  };
}

/** A PerfTransport over one host of the userspace stack. */
export function userspaceTransport(sockets: HostSockets, name = 'userspace TCP (this stack)', options: UserspaceTransportOptions = {}): PerfTransport {
  const mptcp = options.mptcp === true;
  return {
    name,
    connect(host, port, connectOptions = {}) {
      return new Promise<PerfSocket>((resolve, reject) => {
        let socket: TcpSocket;
        try {
          socket = sockets.connect(port, host, {
            ...(connectOptions.localAddress === undefined ? {} : { localAddress: connectOptions.localAddress }),
            ...(connectOptions.localPort === undefined ? {} : { localPort: connectOptions.localPort }),
            ...(mptcp ? { mptcp: true } : {}),
            ...(connectOptions.windowBytes !== undefined || connectOptions.mss !== undefined ? { config: socketConfig(connectOptions) } : {}),
          });
        } catch (e) {
          reject(e as Error);
          return;
        }
        const onError = (e: Error) => reject(e);
        socket.once('error', onError);
        socket.once('connect', () => {
          socket.off('error', onError);
          resolve(perfSocket(socket, 'client'));
        });
      });
    },
    async listen(port, host, onConnection): Promise<PerfListener> {
      const server = sockets.createServer((s) => onConnection(perfSocket(s, 'server')), undefined, mptcp ? { mptcp: true } : {});
      server.listen(port, host);
      await Promise.race([once(server, 'listening'), once(server, 'error').then(([e]) => Promise.reject(e as Error))]);
      return {
        port: server.address()?.port ?? port,
        close: () => new Promise<void>((resolve) => server.close(() => resolve())),
      };
    },
  };
}
