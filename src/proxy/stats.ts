/**
 * The statistics of a proxy (client or server side): connections open, closed, refused (and why),
 * failed; bytes both ways; per connection its endpoints and bytes; per MPTCP subflow (by its address
 * pair) the data-level bytes it carried, for the open connections live and the closed ones as they were at
 * the end. Printed on SIGUSR1 and at exit by the CLI.
 */
import type { MptcpSocket } from '../api/socket.js';
import type { Relay, RelayResult } from './relay.js';
import type { PrometheusFamilies } from '../report/prometheus.js';

/** Why a connection was refused. */
export type RefusalReason = 'not-allowed' | 'limit' | 'bad-request' | 'auth';

/** One proxied connection, while it lives. */
export interface ConnectionRecord {
  readonly id: number;
  /** 'socks' / 'http' / 'forward' on the client side, 'server' on the server side. */
  readonly kind: 'socks' | 'http' | 'forward' | 'server';
  /** Who connected to us ("127.0.0.1:40312"). */
  readonly peer: string;
  /** What it asked for ("localhost:8080"), once known. */
  destination: string;
  readonly openedAt: number;
  /** The MPTCP side of the relay (for its subflows). */
  mptcp: MptcpSocket | undefined;
  relay: Relay | undefined;
}

interface SubflowTotal {
  sent: number;
  received: number;
}

/** Counters and live connections of one proxy. */
export class ProxyStats {
  opened = 0;
  closed = 0;
  failed = 0;
  readonly refused: Record<RefusalReason, number> = { 'not-allowed': 0, limit: 0, 'bad-request': 0, auth: 0 };
  /** Bytes from the accepting side to the destination side, and back, of finished connections. */
  private upClosed = 0;
  private downClosed = 0;
  private nextId = 1;
  readonly open = new Map<number, ConnectionRecord>();
  private readonly subflowsClosed = new Map<string, SubflowTotal>();

  /** A new accepted connection (counted as open until `finish` or `refuse`). */
  begin(kind: ConnectionRecord['kind'], peer: string): ConnectionRecord {
    const record: ConnectionRecord = { id: this.nextId++, kind, peer, destination: '?', openedAt: Date.now(), mptcp: undefined, relay: undefined };
    this.open.set(record.id, record);
    this.opened++;
    return record;
  }

  /** The connection was refused before any relaying. */
  refuse(record: ConnectionRecord, reason: RefusalReason): void {
    if (!this.open.delete(record.id)) return;
    this.refused[reason]++;
  }

  /** The connection failed before relaying (destination down, server unreachable, handshake broken). */
  fail(record: ConnectionRecord): void {
    if (!this.open.delete(record.id)) return;
    this.failed++;
  }

  /** The relay ended (its `a` is always the accepted side: a to b is up). */
  finish(record: ConnectionRecord, result: RelayResult): void {
    if (!this.open.delete(record.id)) return;
    this.closed++;
    this.upClosed += result.bytesAtoB;
    this.downClosed += result.bytesBtoA;
    if (record.mptcp) addSubflows(this.subflowsClosed, record.mptcp);
  }

  /** Totals: bytes up (towards the destination) and down, including live connections. */
  totals(): { up: number; down: number } {
    let up = this.upClosed;
    let down = this.downClosed;
    for (const r of this.open.values()) {
      const b = r.relay?.bytes();
      if (b) {
        up += b.aToB;
        down += b.bToA;
      }
    }
    return { up, down };
  }

  /** Data-level bytes per subflow address pair, over all connections so far. */
  subflowTotals(): Map<string, SubflowTotal> {
    const all = new Map<string, SubflowTotal>();
    for (const [k, v] of this.subflowsClosed) all.set(k, { ...v });
    for (const r of this.open.values()) if (r.mptcp) addSubflows(all, r.mptcp);
    return all;
  }

  /**
   * The counters as Prometheus metrics (`mptcp proxy --metrics`), labelled `proxy` (client or server):
   * `mptcp_proxy_connections_open` (gauge), `mptcp_proxy_connections_opened_total`, `_closed_total`,
   * `_failed_total`, `_refused_total{reason}` (not-allowed, limit, bad-request, auth), and
   * `mptcp_proxy_bytes_total{direction="up"|"down"}` (live connections included), and per subflow address
   * pair over all connections `mptcp_proxy_subflow_bytes_total{local,remote,direction="sent"|"received"}`
   * (a path's traffic that does not vanish with its connections, as the host's per-subflow series do).
   */
  metrics(into: PrometheusFamilies, proxy: string): void {
    into.add('mptcp_proxy_connections_open', 'Proxied connections open now (handshake or relaying)', 'gauge', { proxy }, this.open.size);
    into.add('mptcp_proxy_connections_opened_total', 'Connections accepted by the proxy', 'counter', { proxy }, this.opened);
    into.add('mptcp_proxy_connections_closed_total', 'Relayed connections that ended', 'counter', { proxy }, this.closed);
    into.add('mptcp_proxy_connections_failed_total', 'Connections that failed before relaying (destination or server unreachable)', 'counter', { proxy }, this.failed);
    for (const [reason, n] of Object.entries(this.refused)) into.add('mptcp_proxy_connections_refused_total', 'Connections refused, by reason', 'counter', { proxy, reason }, n);
    const { up, down } = this.totals();
    into.add('mptcp_proxy_bytes_total', 'Bytes relayed: up (towards the destination) and down', 'counter', { proxy, direction: 'up' }, up);
    into.add('mptcp_proxy_bytes_total', 'Bytes relayed: up (towards the destination) and down', 'counter', { proxy, direction: 'down' }, down);
    for (const [pair, t] of this.subflowTotals()) {
      const [local = '', remote = ''] = pair.split(' -> ');
      const help = 'Data-level bytes per subflow address pair over every connection so far (closed ones included)';
      into.add('mptcp_proxy_subflow_bytes_total', help, 'counter', { proxy, local, remote, direction: 'sent' }, t.sent);
      into.add('mptcp_proxy_subflow_bytes_total', help, 'counter', { proxy, local, remote, direction: 'received' }, t.received);
    }
  }

  /** The report: a totals line, one line per open connection with its subflows, the subflow totals. */
  format(title: string): string {
    const now = Date.now();
    const refused = Object.values(this.refused).reduce((a, b) => a + b, 0);
    const { up, down } = this.totals();
    const lines = [
      `${title}: connections open ${this.open.size}, closed ${this.closed}, refused ${refused} (not allowed ${this.refused['not-allowed']}, over the limit ${this.refused.limit}, bad requests ${this.refused['bad-request']}, authentication ${this.refused.auth}), failed ${this.failed}; bytes up ${up}, down ${down}`,
    ];
    for (const r of this.open.values()) {
      const b = r.relay?.bytes();
      lines.push(`  #${r.id} ${r.kind} ${r.peer} -> ${r.destination}: ${r.relay ? 'relaying' : 'handshake'} ${((now - r.openedAt) / 1000).toFixed(1)} s, up ${b?.aToB ?? 0} down ${b?.bToA ?? 0}`);
      for (const s of r.mptcp?.subflows() ?? []) {
        lines.push(`      subflow ${s.id} ${endpoint(s.localAddress, s.localPort)} -> ${endpoint(s.remoteAddress, s.remotePort)} ${s.state}${s.backupLocal ? ' backup' : ''}: sent ${s.dataBytesSent} received ${s.dataBytesReceived}`);
      }
    }
    const subflows = this.subflowTotals();
    if (subflows.size > 0) {
      lines.push('  subflows, all connections (data-level bytes):');
      for (const [pair, t] of subflows) lines.push(`    ${pair}: sent ${t.sent} received ${t.received}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

function endpoint(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

function addSubflows(into: Map<string, SubflowTotal>, socket: MptcpSocket): void {
  for (const s of socket.subflows()) {
    const key = `${s.localAddress} -> ${s.remoteAddress}`;
    const t = into.get(key) ?? { sent: 0, received: 0 };
    t.sent += s.dataBytesSent;
    t.received += s.dataBytesReceived;
    into.set(key, t);
  }
}
