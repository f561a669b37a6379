/**
 * Prometheus metrics of our hosts (for `mptcp proxy --metrics`): the text exposition format (HELP and TYPE
 * before each family's samples, valid names and label sets, numbers), the kernel's MIB names under
 * node_exporter's `node_netstat_MPTcpExt_` prefix with our counters' values, per-subflow bytes, RTT and cwnd
 * equal to what the connection reports, mid-transfer on two emulated paths; and the HTTP server (GET /metrics,
 * 404 otherwise) over loopback.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MB, scenario } from '../../src/harness/scenario.js';
import { prometheusText } from '../../src/report/prometheus.js';
import { startMetricsServer } from '../../src/io/metrics-server.js';

/** Checks the exposition format; returns the samples as name -> [labels text, value][]. */
function parseExposition(text: string): Map<string, { labels: Record<string, string>; value: number }[]> {
  const families = new Map<string, { labels: Record<string, string>; value: number }[]>();
  let help: string | undefined;
  let type: string | undefined;
  assert.ok(text.endsWith('\n'));
  for (const line of text.slice(0, -1).split('\n')) {
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$/.exec(line);
    if (m) {
      help = m[1];
      continue;
    }
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge)$/.exec(line);
    if (m) {
      assert.equal(m[1], help, 'TYPE follows its HELP');
      const name = m[1]!;
      type = name;
      assert.ok(!families.has(name), `family ${name} once`);
      families.set(name, []);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*)\} (-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)$/.exec(line);
    assert.ok(m, `a sample line: ${line}`);
    assert.equal(m[1], type, `sample of the family just declared: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of m[2]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    families.get(type!)!.push({ labels, value: Number(m[3]) });
  }
  return families;
}

test('prometheusText mid-transfer on two paths: valid exposition, MIB counters and per-subflow numbers as the hosts report them', () => {
  const s = scenario({
    seed: 9,
    up: 8 * MB,
    down: 0,
    paths: [{ config: { rateBitsPerSecond: 40e6, delayMicros: 5_000, queueLimitBytes: 200_000 } }, { config: { rateBitsPerSecond: 20e6, delayMicros: 15_000, queueLimitBytes: 200_000 } }],
    clientEndpoints: ['198.18.2.2 id 2 subflow'],
  });
  assert.ok(s.step(() => s.up.received > 3 * MB && s.client.subflowInfo().length === 2, 30_000_000));
  const text = prometheusText([
    { name: 'client', host: s.clientHost },
    { name: 'server', host: s.serverHost },
  ]);
  const f = parseExposition(text);
  const joinTx = f.get('node_netstat_MPTcpExt_MPJoinSynTx')!;
  assert.deepEqual(joinTx.map((x) => [x.labels['host'], x.value]), [['client', s.clientHost.mptcpCounters.MPJoinSynTx], ['server', s.serverHost.mptcpCounters.MPJoinSynTx]]);
  assert.equal(joinTx[0]!.value, 1);
  assert.equal(f.get('node_netstat_MPTcpExt_MPCapableSYNRX')!.find((x) => x.labels['host'] === 'server')!.value, 1);
  assert.deepEqual(f.get('mptcp_connections')!.map((x) => x.value), [1, 1]);
  const sent = f.get('mptcp_subflow_sent_bytes_total')!.filter((x) => x.labels['host'] === 'client');
  const info = s.client.subflowInfo();
  assert.equal(sent.length, 2);
  info.forEach((sf, i) => {
    assert.equal(sent[i]!.labels['subflow'], String(sf.id));
    assert.equal(sent[i]!.value, sf.dataBytesSent);
    assert.ok(sf.dataBytesSent > 100_000, 'both subflows carry data');
  });
  assert.equal(sent[1]!.labels['local'], `198.18.2.2:${info[1]!.endpoints.localPort}`);
  const rtt = f.get('mptcp_subflow_rtt_seconds')!.filter((x) => x.labels['host'] === 'client');
  assert.ok(rtt[0]!.value >= 0.01 && rtt[1]!.value >= 0.03, `RTTs ${rtt.map((r) => r.value)} at least the paths' (10 and 30 ms)`);
  const cwnd = f.get('mptcp_subflow_cwnd_bytes')!.filter((x) => x.labels['host'] === 'client');
  assert.deepEqual(cwnd.map((c) => c.value), info.map((sf) => sf.tcp.cwndBytes));
});

test('startMetricsServer: GET /metrics over loopback with the exposition content type; 404 otherwise; a port in use is an error', async () => {
  let calls = 0;
  const server = await startMetricsServer('127.0.0.1', 0, () => {
    calls++;
    return '# HELP x y\n# TYPE x gauge\nx{host="h"} 1\n';
  });
  try {
    const r = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.equal(await r.text(), '# HELP x y\n# TYPE x gauge\nx{host="h"} 1\n');
    assert.equal(calls, 1);
    assert.equal((await fetch(`http://127.0.0.1:${server.port}/other`)).status, 404);
    await assert.rejects(startMetricsServer('127.0.0.1', server.port, () => ''), /EADDRINUSE/);
  } finally {
    await server.close();
  }
});
