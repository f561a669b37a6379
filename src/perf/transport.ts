/**
 * The transport `mptcp perf` runs over: something that opens and accepts byte-stream connections that look
 * like Node sockets. `nodeNetTransport` is the host's kernel TCP (node:net); the userspace MPTCP stack will
 * provide its own `PerfTransport` (its sockets are Duplex streams too), and `runPerfClient` /
 * `startPerfServer` take the transport as a parameter, so nothing else changes.
 *
 * What perf needs from a socket:
 * - a `Duplex`: `write(chunk, cb)` (the callback fires once the bytes left user space: that is when they are
 *   counted as sent), `'drain'` back-pressure, `'data'` / `'end'` / `'error'` / `'close'`, `end()`, `destroy()`;
 * - optionally `setNoDelay` (iperf3's `-N`), the four address fields (printed in "connected" lines and in the
 *   JSON `connected` array), and `tcpStats()` for the sender-side retransmit / cwnd / RTT columns, which the
 *   kernel only exposes through TCP_INFO (not reachable from node:net, so `nodeNetTransport` has none: its
 *   results say "no retransmit information", exactly as iperf3 does on a system without TCP_INFO).
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';

/** Per-connection TCP statistics a transport may report (all optional; cumulative since the connection began). */
export interface PerfTcpStats {
  /** Total retransmitted segments (TCP_INFO tcpi_total_retrans). */
  readonly retransmits?: number;
  /** Congestion window in bytes. */
  readonly cwndBytes?: number;
  /** Smoothed RTT and its variation, microseconds. */
  readonly rttMicros?: number;
  readonly rttVarMicros?: number;
  /** Path MTU, bytes. */
  readonly pmtu?: number;
}

/**
 * One MPTCP subflow of a connection, as perf reports it (from MPTCP_TCPINFO-like data: our stack's
 * `MptcpConnection.subflowInfo()`). Byte counts are cumulative since the subflow began and data-level:
 * bytes the connection handed to this subflow (first transmissions and reinjections) and bytes read from it
 * (before duplicate removal), so the subflows of a stream may add up to a little more than the stream
 * (the 37-byte iperf3 cookie on the first subflow, reinjected data).
 */
export interface PerfSubflowStats {
  /** The subflow's id within its connection (0: the initial MP_CAPABLE subflow). */
  readonly id: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Added with MP_JOIN. */
  readonly join: boolean;
  /** Backup on either side (MP_JOIN B bit or MP_PRIO). */
  readonly backup: boolean;
  /** TCP state name of the subflow ("ESTABLISHED", "CLOSED", ...). */
  readonly state: string;
  readonly bytesSent: number;
  /** Bytes sent on the subflow and acknowledged by the peer (TCP level): what the path delivered. */
  readonly bytesAcked?: number;
  readonly bytesReceived: number;
  readonly retransmits?: number;
  readonly cwndBytes?: number;
  readonly rttMicros?: number;
}

/** A connection as perf uses it: a Duplex byte stream plus optional socket-like extras. */
export type PerfSocket = Duplex & {
  setNoDelay?(noDelay: boolean): unknown;
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
  /** Sender statistics (retransmits, cwnd, RTT) when the transport knows them. */
  tcpStats?(): PerfTcpStats | undefined;
  /**
   * The MPTCP subflows of the connection, when it is an MPTCP connection (undefined for plain TCP, and for
   * an MPTCP connection that fell back to TCP: a peer without MPTCP). Perf reports them per interval.
   */
  subflows?(): readonly PerfSubflowStats[] | undefined;
  /**
   * Resolves once everything written so far has been acknowledged by the peer, when the transport can
   * tell. A sender waits for it (bounded) before TEST_END: iperf3's server stops reading its data streams
   * when TEST_END arrives on the control connection, so data still buffered in the sending stack would be
   * lost from its count. Kernel sockets (node:net) cannot tell, and drain quickly anyway.
   */
  acknowledged?(): Promise<void>;
  /**
   * Bytes the transport has taken from `write` so far (partial writes included), as the sum of write(2)
   * return values on a kernel socket: what iperf3 counts as sent. With it a sender counts a block as it is
   * taken, not only once the whole block is (which on a slow link can be many seconds later).
   */
  readonly bytesAccepted?: number;
  /** Drops what `write` has not handed over yet (see MptcpSocket.abandonUnsentWrites): a sender stopping at its deadline. */
  abandonUnsentWrites?(): void;
  /**
   * Whether an MPTCP connection is still MPTCP or fell back to plain TCP (RFC 8684 3.7), with the kernel
   * MIB counter that names the reason (`nstat` / `ss` users know them: MPCapableFallbackSYNACK,
   * MPCapableFallbackACK, DssFallback). Undefined for a connection that never tried MPTCP.
   */
  mptcpStatus?(): PerfMptcpStatus | undefined;
};

/** An MPTCP connection's mode as perf reports it. */
export interface PerfMptcpStatus {
  readonly mode: 'handshake' | 'mptcp' | 'fallback';
  /** With mode 'fallback': the Linux MIB counter of the reason. */
  readonly fallbackCounter?: string;
  /** With mode 'fallback': the reason in words. */
  readonly fallbackReason?: string;
}

/** Options for an outgoing connection. Transports may ignore what they cannot honour. */
export interface PerfConnectOptions {
  /** Local address to bind (iperf3 `-B`). */
  readonly localAddress?: string;
  /** Local port to bind (iperf3 `--cport`). */
  readonly localPort?: number;
  /** Address family to use when `host` is a name (iperf3 `-4` / `-6`). */
  readonly family?: 4 | 6;
  /**
   * iperf3's `-w` (SO_SNDBUF and SO_RCVBUF: the send buffer and the receive window, bytes) and `-M`
   * (TCP_MAXSEG: the largest segment, bytes), for transports that can set them (our stack; node:net cannot).
   */
  readonly windowBytes?: number;
  readonly mss?: number;
}

/** A listening endpoint. */
export interface PerfListener {
  /** The port actually bound (useful when listening on port 0). */
  readonly port: number;
  /** Stops accepting; resolves once the listener is closed (existing connections are not touched). */
  close(): Promise<void>;
}

/** Opens and accepts connections. */
export interface PerfTransport {
  /** A short name for messages ("kernel TCP (node:net)", "userspace MPTCP"...). */
  readonly name?: string;
  /** Connects to `host`:`port`; resolves once the connection is established, rejects on failure. */
  connect(host: string, port: number, options?: PerfConnectOptions): Promise<PerfSocket>;
  /**
   * Listens on `port` (0: any free port) and `host` (undefined: all addresses, IPv6 and IPv4); every accepted
   * connection goes to `onConnection`. Resolves once listening, rejects if the port cannot be bound.
   */
  listen(port: number, host: string | undefined, onConnection: (socket: PerfSocket) => void): Promise<PerfListener>;
}

/** The host's kernel TCP through node:net. */
export const nodeNetTransport: PerfTransport = {
  name: 'kernel TCP (node:net)',
  connect(host, port, options = {}) {
    return new Promise<PerfSocket>((resolve, reject) => {
      const socketOptions: net.NetConnectOpts = { host, port };
      if (options.localAddress !== undefined) socketOptions.localAddress = options.localAddress;
      if (options.localPort !== undefined) socketOptions.localPort = options.localPort;
      if (options.family !== undefined) socketOptions.family = options.family;
      const socket = net.connect(socketOptions);
      const onError = (err: Error) => {
        socket.destroy();
        reject(err);
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        resolve(socket);
      });
    });
  },
  listen(port, host, onConnection) {
    return new Promise<PerfListener>((resolve, reject) => {
      const server = net.createServer({ noDelay: false }, (socket) => onConnection(socket));
      const onError = (err: Error) => reject(err);
      server.once('error', onError);
      const listenOptions: net.ListenOptions = { port, exclusive: true };
      if (host !== undefined) listenOptions.host = host;
      server.listen(listenOptions, () => {
        server.off('error', onError);
        // Errors after listening (EMFILE on accept...) must not crash the process; accept simply stops.
        server.on('error', () => undefined);
        const address = server.address();
        const boundPort = typeof address === 'object' && address !== null ? address.port : port;
        resolve({
          port: boundPort,
          close: () => new Promise<void>((done) => server.close(() => done())),
        });
      });
    });
  },
};
