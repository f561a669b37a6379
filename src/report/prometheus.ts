/**
 * The Prometheus text exposition format (version 0.0.4) of hosts of this stack, for `mptcp proxy --metrics
 * ADDR:PORT` (and anything else that serves our hosts): what the seeds' Grafana dashboards read from the
 * kernel through node_exporter, under node_exporter's names, plus per-subflow numbers the kernel exposes only
 * through MPTCP_INFO / ss:
 *
 * - `node_netstat_MPTcpExt_<MIB name>` (counter): each MPTCP MIB counter (the kernel's names:
 *   MPCapableSYNRX, MPJoinSynTx, ...), as node_exporter's netstat collector names /proc/net/netstat's MPTcpExt;
 * - `mptcp_connections` (gauge): live MPTCP connections, `tcp_connections` live TCP connections and subflows;
 * - per subflow, labelled with the connection's local `token` (hex), `subflow` id, `local` and `remote`
 *   address:port, `state`: `mptcp_subflow_sent_bytes_total` / `_received_bytes_total` (data-level bytes,
 *   counters), `mptcp_subflow_rtt_seconds` (smoothed RTT), `mptcp_subflow_cwnd_bytes`,
 *   `mptcp_subflow_retransmits_total`, `mptcp_subflow_backup` (0/1), `mptcp_subflow_congestion_control`
 *   (always 1, the controller's name in its `cc` label).
 * Every sample carries a `host` label (the host's name). Sans-IO: a string from the hosts' state.
 */
import type { Host } from '../stack/host.js';
import { formatAddress } from '../wire/address.js';

/** Escapes a label value (backslash, double quote, newline: the format's three). */
function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labels(pairs: Readonly<Record<string, string | number>>): string {
  return `{${Object.entries(pairs)
    .map(([k, v]) => `${k}="${label(String(v))}"`)
    .join(',')}}`;
}

function endpoint(address: Uint8Array, port: number): string {
  return address.length === 16 ? `[${formatAddress(address)}]:${port}` : `${formatAddress(address)}:${port}`;
}

/** A metric family: help, type, samples (labels, value). */
interface Family {
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly samples: [string, number][];
}

/**
 * Metric families being collected, in the order first added, written with `text()`: what `prometheusText`
 * builds on, and any other exporter of our stack (the proxy's connection counters) with it.
 */
export class PrometheusFamilies {
  private readonly families = new Map<string, Family>();

  /** One sample of family `name` (declared by its first sample: help and type). Non-finite values are 0. */
  add(name: string, help: string, type: Family['type'], labelPairs: Readonly<Record<string, string | number>>, value: number): void {
    let f = this.families.get(name);
    if (!f) {
      f = { help, type, samples: [] };
      this.families.set(name, f);
    }
    f.samples.push([labels(labelPairs), Number.isFinite(value) ? value : 0]);
  }

  /** The exposition text: HELP and TYPE, then the samples, of each family. */
  text(): string {
    const out: string[] = [];
    for (const [name, f] of this.families) {
      out.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`);
      for (const [l, v] of f.samples) out.push(`${name}${l} ${v}`);
    }
    return out.join('\n') + '\n';
  }
}

/** The exposition text of `hosts` (each with the name its samples are labelled with), and `into`'s families before them. */
export function prometheusText(hosts: ReadonlyArray<{ readonly name: string; readonly host: Host }>, into = new PrometheusFamilies()): string {
  const add = into.add.bind(into);
  for (const { name, host } of hosts) {
    for (const [mib, value] of Object.entries(host.mptcpCounters)) {
      if (typeof value !== 'number') continue;
      add(`node_netstat_MPTcpExt_${mib}`, `MPTCP MIB counter ${mib} (the kernel's MPTcpExt${mib})`, 'counter', { host: name }, value);
    }
    const mptcp = host.mptcpConnections();
    add('mptcp_connections', 'Live MPTCP connections', 'gauge', { host: name }, mptcp.length);
    add('tcp_connections', 'Live TCP connections and MPTCP subflows', 'gauge', { host: name }, host.connections().length);
    for (const c of mptcp) {
      const token = (c.localToken >>> 0).toString(16).padStart(8, '0');
      for (const sf of c.subflowInfo()) {
        const l = {
          host: name,
          token,
          subflow: sf.id,
          local: endpoint(sf.endpoints.localAddress, sf.endpoints.localPort),
          remote: endpoint(sf.endpoints.remoteAddress, sf.endpoints.remotePort),
          state: sf.state,
        };
        add('mptcp_subflow_sent_bytes_total', 'Data-level bytes handed to the subflow (first transmissions and reinjections)', 'counter', l, sf.dataBytesSent);
        add('mptcp_subflow_received_bytes_total', 'Data-level bytes read from the subflow (before duplicate removal)', 'counter', l, sf.dataBytesReceived);
        if (sf.tcp.srttMicros !== undefined) add('mptcp_subflow_rtt_seconds', 'Smoothed round-trip time of the subflow', 'gauge', l, sf.tcp.srttMicros / 1e6);
        add('mptcp_subflow_cwnd_bytes', 'Congestion window of the subflow', 'gauge', l, sf.tcp.cwndBytes);
        add('mptcp_subflow_retransmits_total', 'TCP-level retransmitted segments of the subflow', 'counter', l, sf.tcp.retransmits);
        add('mptcp_subflow_backup', 'Whether the subflow is a backup (either end asked)', 'gauge', l, sf.backupLocal || sf.backupPeer ? 1 : 0);
        add('mptcp_subflow_congestion_control', 'The congestion controller of the subflow (its name in the cc label; always 1)', 'gauge', { ...l, cc: sf.tcp.congestionControl }, 1);
      }
    }
  }
  return into.text();
}
