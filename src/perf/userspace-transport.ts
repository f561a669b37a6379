/**
 * `mptcp perf` over this project's own stack: a PerfTransport on the Node-facing sockets of a host
 * (`HostSockets`: a `StackRuntime` on TUN/UDP, or a host of a `RealtimeEmulation`). The sockets report
 * sender statistics (retransmits, cwnd, RTT) from the TCP engine, which node:net cannot.
 */
import { once } from 'node:events';
import type { HostSockets } from '../api/runtime.js';
import type { TcpSocket } from '../api/socket.js';
import type { PerfListener, PerfSocket, PerfTransport } from './transport.js';

function perfSocket(socket: TcpSocket): PerfSocket {
  return Object.assign(socket, {
    acknowledged: () => socket.acknowledged(),
    tcpStats() {
      const i = socket.info();
      return {
        retransmits: i.retransmits,
        cwndBytes: i.cwndBytes,
        ...(i.srttMicros === undefined ? {} : { rttMicros: i.srttMicros }),
        ...(i.rttvarMicros === undefined ? {} : { rttVarMicros: i.rttvarMicros }),
        pmtu: i.sendMss + (socket.remoteFamily === 'IPv6' ? 60 : 40),
      };
    },
  });
}

/** A PerfTransport over one host of the userspace stack. */
export function userspaceTransport(sockets: HostSockets, name = 'userspace TCP (this stack)'): PerfTransport {
  return {
    name,
    connect(host, port, options = {}) {
      return new Promise<PerfSocket>((resolve, reject) => {
        let socket: TcpSocket;
        try {
          socket = sockets.connect(port, host, {
            ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
            ...(options.localPort === undefined ? {} : { localPort: options.localPort }),
          });
        } catch (e) {
          reject(e as Error);
          return;
        }
        const onError = (e: Error) => reject(e);
        socket.once('error', onError);
        socket.once('connect', () => {
          socket.off('error', onError);
          resolve(perfSocket(socket));
        });
      });
    },
    async listen(port, host, onConnection): Promise<PerfListener> {
      const server = sockets.createServer((s) => onConnection(perfSocket(s)));
      server.listen(port, host);
      await Promise.race([once(server, 'listening'), once(server, 'error').then(([e]) => Promise.reject(e as Error))]);
      return {
        port: server.address()?.port ?? port,
        close: () => new Promise<void>((resolve) => server.close(() => resolve())),
      };
    },
  };
}
