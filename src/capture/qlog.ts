/**
 * `--qlog FILE`: a qlog-style event log of a run (draft-ietf-quic-qlog-main-schema's JSON-SEQ serialisation,
 * RFC 7464: each record an ASCII RS, one JSON object, a line feed), with a path id on every subflow event as
 * multipath QUIC's qlog has (draft-ietf-quic-multipath). The first record is the header (qlog_version,
 * qlog_format "JSON-SEQ", title, a trace whose vantage point is the network when both ends are ours); then
 * one record per event: `time` (milliseconds from the run's start), `name` (category:event) and `data`.
 *
 * Events: `mptcp:connection_created` / `_established` / `_closed`, `mptcp:path_established` /
 * `path_closed` / `path_priority_updated`, `mptcp:address_announced` / `address_removed` (from the hosts'
 * `ip mptcp monitor` events, src/mptcp/events.ts), and `recovery:metrics_updated` (smoothed_rtt in ms,
 * congestion_window in bytes, per path: what `mptcp report` plots). `data.host` names the host, `data.token` the
 * connection (that host's token, hex), `data.path_id` the subflow: 0 for the initial one, then in the order
 * the host saw them established (the subflow ids of `subflowInfo()` when given).
 *
 * Sans-IO: records go to a sink as bytes (a file: src/io/buffered-file.ts).
 */
import { formatAddress } from '../wire/address.js';
import type { MptcpEvent } from '../mptcp/events.js';

/** RFC 7464's record separator. */
const RS = '\u001e';

/** Options of a `QlogWriter`. */
export interface QlogOptions {
  readonly title: string;
  /** `client`, `server`, or `network` when the log holds both ends (the default). */
  readonly vantagePoint?: 'client' | 'server' | 'network';
}

const EVENT_NAMES: Partial<Record<MptcpEvent['type'], string>> = {
  CREATED: 'mptcp:connection_created',
  ESTABLISHED: 'mptcp:connection_established',
  CLOSED: 'mptcp:connection_closed',
  ANNOUNCED: 'mptcp:address_announced',
  REMOVED: 'mptcp:address_removed',
  SF_ESTABLISHED: 'mptcp:path_established',
  SF_CLOSED: 'mptcp:path_closed',
  SF_PRIO: 'mptcp:path_priority_updated',
  LISTENER_CREATED: 'mptcp:listener_created',
  LISTENER_CLOSED: 'mptcp:listener_closed',
};

const hex8 = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');

/** Writes qlog records (see the file comment) to `sink`. */
export class QlogWriter {
  private readonly encoder = new TextEncoder();
  /** Path ids by host, token and 4-tuple. */
  private readonly paths = new Map<string, number>();
  private readonly nextPath = new Map<string, number>();
  /** Records written, header included. */
  records = 0;

  constructor(
    private readonly sink: (bytes: Uint8Array) => void,
    options: QlogOptions,
  ) {
    const vantage = options.vantagePoint ?? 'network';
    this.record({
      qlog_version: '0.4',
      qlog_format: 'JSON-SEQ',
      title: options.title,
      trace: { vantage_point: { type: vantage }, common_fields: { time_format: 'relative', reference_time: 0 } },
    });
  }

  /** One `ip mptcp monitor` event of `host` at `atMicros` of the run. */
  monitorEvent(atMicros: number, host: string, event: MptcpEvent): void {
    const name = EVENT_NAMES[event.type];
    if (!name) return;
    const data: Record<string, unknown> = { host };
    if (event.token !== undefined) data['token'] = hex8(event.token);
    const local = event.localAddress ? formatAddress(event.localAddress) : undefined;
    const remote = event.remoteAddress ? formatAddress(event.remoteAddress) : undefined;
    if (event.type === 'CREATED' || event.type.startsWith('SF_')) {
      const key = `${host} ${event.token ?? ''}`;
      data['path_id'] = this.pathId(key, `${local} ${event.localPort} ${remote} ${event.remotePort}`);
    }
    if (local !== undefined) data['local_address'] = local;
    if (event.localPort !== undefined) data['local_port'] = event.localPort;
    if (remote !== undefined) data['remote_address'] = remote;
    if (event.remotePort !== undefined) data['remote_port'] = event.remotePort;
    if (event.localId !== undefined) data['local_id'] = event.localId;
    if (event.remoteId !== undefined) data['remote_id'] = event.remoteId;
    if (event.backup !== undefined) data['backup'] = event.backup;
    if (event.error !== undefined) data['error'] = event.error;
    if (event.resetReason !== undefined) data['reset_reason'] = event.resetReason;
    this.record({ time: atMicros / 1000, name, data });
  }

  /** A subflow's recovery metrics (`recovery:metrics_updated`) at `atMicros`. */
  metrics(atMicros: number, host: string, token: number | undefined, pathId: number, metrics: { readonly rttMicros?: number | undefined; readonly cwndBytes: number }): void {
    const data: Record<string, unknown> = { host };
    if (token !== undefined) data['token'] = hex8(token);
    data['path_id'] = pathId;
    data['congestion_window'] = metrics.cwndBytes;
    if (metrics.rttMicros !== undefined) data['smoothed_rtt'] = metrics.rttMicros / 1000;
    this.record({ time: atMicros / 1000, name: 'recovery:metrics_updated', data });
  }

  private pathId(connection: string, tuple: string): number {
    const key = `${connection} ${tuple}`;
    let id = this.paths.get(key);
    if (id === undefined) {
      id = this.nextPath.get(connection) ?? 0;
      this.nextPath.set(connection, id + 1);
      this.paths.set(key, id);
    }
    return id;
  }

  private record(value: unknown): void {
    this.records++;
    this.sink(this.encoder.encode(`${RS}${JSON.stringify(value)}\n`));
  }
}
