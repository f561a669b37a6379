/**
 * The page of `mptcp report`: one self-contained HTML document (inline CSS, inline SVG, one small inline
 * script that checks every plot drew; nothing fetched, so it opens from disk and prints). Per MPTCP
 * connection of each capture: the summary (endpoints, keys and tokens, duration, bytes per direction and
 * per subflow, fallback, MP_FAIL / MP_FASTCLOSE / MP_TCPRST with their details, option counts, the run's
 * MIB counters), then per direction that carried data the goodput and data-sequence plots, the RTT and cwnd
 * plots from the run's JSON, and the events timeline with its table; then the plain-TCP connections; then
 * runs that matched no captured connection (a `--json` given alone).
 */
import { formatSeconds } from '../capture/format.js';
import type { SignalEvent } from '../capture/summary.js';
import { DIRECTIONS, type CaptureAnalysis, type ConnectionAnalysis, type Direction, type SubflowAnalysis } from './analyze.js';
import type { RunData, RunSubflow } from './run-data.js';
import { escapeXml, niceTicks, renderChart, SUBFLOW_COLORS, tickText, TOTAL_COLOR, type Band, type Series } from './svg.js';

/** One input file's analysis, or why it could not be read. */
export interface ReportCapture {
  readonly name: string;
  readonly analysis: CaptureAnalysis;
  /** A read error after some frames (a truncated file), or undefined. */
  readonly error?: string;
}

/** The page's inputs. */
export interface PageInputs {
  readonly captures: readonly ReportCapture[];
  readonly runs: readonly RunData[];
  /** Lines for the top of the page (inputs that could not be read, ...). */
  readonly warnings: readonly string[];
  readonly title?: string;
}

const DIRECTION_TEXT: Record<Direction, string> = { clientToServer: 'client to server', serverToClient: 'server to client' };
const STALL_COLOR = '#d62728';
const OUTAGE_COLOR = '#7f7f7f';

const color = (i: number): string => SUBFLOW_COLORS[i % SUBFLOW_COLORS.length]!;
const seconds = (micros: number): number => micros / 1e6;

function bytesText(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(2)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} KB`;
  return `${bytes} B`;
}

/** A byte unit for an axis whose values go up to `max` bytes. */
function byteUnit(max: number): { div: number; unit: string } {
  if (max >= 2e9) return { div: 1e9, unit: 'GB' };
  if (max >= 2e6) return { div: 1e6, unit: 'MB' };
  if (max >= 2e3) return { div: 1e3, unit: 'KB' };
  return { div: 1, unit: 'bytes' };
}

/** A run subflow matched to a captured one: the capture, connection, subflow index and the time offset (s). */
interface RunMatch {
  readonly run: RunData;
  readonly subflow: RunSubflow;
  readonly capture: ReportCapture;
  readonly connection: ConnectionAnalysis;
  readonly index: number;
  readonly offset: number;
}

function splitEndpoint(text: string): { address: string; port: number } {
  const m = /^\[?(.*?)\]?:(\d+)$/.exec(text);
  return m ? { address: m[1]!, port: Number(m[2]) } : { address: text, port: -1 };
}

/** Finds, for each run subflow, the captured subflow with its local (and, when known, remote) address and port. */
function matchRuns(captures: readonly ReportCapture[], runs: readonly RunData[]): { matches: RunMatch[]; unmatched: RunData[] } {
  const matches: RunMatch[] = [];
  const unmatched: RunData[] = [];
  for (const run of runs) {
    let any = false;
    for (const sub of run.subflows) {
      if (sub.localAddress === undefined) continue;
      let found: RunMatch | undefined;
      for (const capture of captures) {
        for (const connection of capture.analysis.connections) {
          connection.subflows.forEach((sf, index) => {
            if (found) return;
            const ini = splitEndpoint(sf.report.initiator);
            const lis = splitEndpoint(sf.report.listener);
            const sameLocal = ini.address === sub.localAddress && (sub.localPort === undefined || ini.port === sub.localPort);
            const sameRemote = sub.remoteAddress === undefined || lis.address === sub.remoteAddress;
            // The demo names no ports: its connection is the one that carried data.
            if (sameLocal && sameRemote && (sub.localPort !== undefined || connection.report.bytes.clientToServer + connection.report.bytes.serverToClient > 0)) {
              const origin = run.origin === 'connect' ? connection.firstAt : connection.firstDataAt;
              found = { run, subflow: sub, capture, connection, index, offset: seconds(Number.isFinite(origin) ? origin : connection.firstAt) };
            }
          });
          if (found) break;
        }
        if (found) break;
      }
      if (found) {
        matches.push(found);
        any = true;
      }
    }
    if (!any) unmatched.push(run);
  }
  return { matches, unmatched };
}

/** The whole page. */
export function renderPage(inputs: PageInputs): string {
  const { matches, unmatched } = matchRuns(inputs.captures, inputs.runs);
  const body: string[] = [];
  const title = inputs.title ?? 'MPTCP report';
  body.push(`<h1>${escapeXml(title)}</h1>`);
  body.push('<ul class="inputs">');
  for (const c of inputs.captures) {
    const a = c.analysis;
    body.push(
      `<li>capture <code>${escapeXml(c.name)}</code>: ${a.summary.frames} frames over ${formatSeconds(a.durationMicros)} s, ${a.summary.connections.length} MPTCP connection${a.summary.connections.length === 1 ? '' : 's'}, ${a.plainTcp.length} plain TCP${c.error ? `; <strong>stopped reading: ${escapeXml(c.error)}</strong>` : ''}</li>`,
    );
  }
  for (const r of inputs.runs) body.push(`<li>run <code>${escapeXml(r.source)}</code> (${r.kind}): ${r.subflows.length} subflow${r.subflows.length === 1 ? '' : 's'}${r.notes.length ? `; ${escapeXml(r.notes.join('; '))}` : ''}</li>`);
  body.push('</ul>');
  for (const w of inputs.warnings) body.push(`<p class="warning">${escapeXml(w)}</p>`);
  const nav: string[] = [];
  for (const [ci, c] of inputs.captures.entries()) {
    for (const conn of c.analysis.connections) {
      const id = `c${ci + 1}-${conn.report.connection}`;
      nav.push(`<li><a href="#${id}">${escapeXml(connectionTitle(conn))}</a></li>`);
      body.push(renderConnection(id, c, conn, matches.filter((m) => m.connection === conn)));
    }
  }
  for (const [ci, c] of inputs.captures.entries()) {
    if (c.analysis.plainTcp.length > 0) body.push(renderPlainTcp(`plain-${ci + 1}`, c));
    if (c.analysis.summary.unattachedSubflows > 0) {
      body.push(`<p class="note">${c.analysis.summary.unattachedSubflows} TCP connection(s) in <code>${escapeXml(c.name)}</code> carried MPTCP options but their handshake is not in the capture: not drawn.</p>`);
    }
  }
  for (const run of unmatched) body.push(renderRunOnly(run));
  if (inputs.captures.every((c) => c.analysis.connections.length === 0) && unmatched.length === 0) {
    body.push('<p class="note">No MPTCP connection in the inputs.</p>');
  }
  body.push('<p id="plot-check" class="note">(the plot check runs in the browser)</p>');
  const navHtml = nav.length > 1 ? `<nav><ul>${nav.join('')}</ul></nav>` : '';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeXml(title)}</title>
<style>${CSS}</style></head>
<body>
${body[0]}${body[1] ?? ''}${navHtml}
${body.slice(2).join('\n')}
<script>${CHECK_SCRIPT}</script>
</body></html>
`;
}

function connectionTitle(conn: ConnectionAnalysis): string {
  const r = conn.report;
  return `MPTCP connection ${r.connection}: ${r.client ?? '?'} → ${r.server ?? '?'}`;
}

function renderConnection(id: string, capture: ReportCapture, conn: ConnectionAnalysis, runs: readonly RunMatch[]): string {
  const r = conn.report;
  const a = capture.analysis;
  const out: string[] = [`<section class="connection" id="${id}" data-connection="${r.connection}" data-subflows="${conn.subflows.length}">`];
  out.push(`<h2>${escapeXml(connectionTitle(conn))}</h2>`);
  const rows: [string, string][] = [];
  rows.push(['capture', `${capture.name}, frames ${r.firstFrame}–${r.lastFrame}`]);
  rows.push(['duration', `${formatSeconds(conn.lastAt - conn.firstAt)} s (from ${formatSeconds(conn.firstAt)} s to ${formatSeconds(conn.lastAt)} s of the capture)`]);
  if (r.version !== undefined) rows.push(['version', `MPTCP v${r.version}, DSS checksums ${r.checksums ? 'on' : 'off'}`]);
  if (r.clientKey) rows.push(['client key', `${r.clientKey.key}, token ${hex8(r.clientKey.token)}, IDSN ${r.clientKey.idsn}`]);
  if (r.serverKey) rows.push(['server key', `${r.serverKey.key}, token ${hex8(r.serverKey.token)}, IDSN ${r.serverKey.idsn}`]);
  if (r.tokens) rows.push(['tokens', r.tokens.map(hex8).join(', ') + ' (the MP_CAPABLE handshake is not in the capture)']);
  rows.push(['bytes', `client to server ${bytesText(r.bytes.clientToServer)}, server to client ${bytesText(r.bytes.serverToClient)} (TCP payload on the wire, retransmissions included)`]);
  rows.push(['fallback', r.fallback ? 'yes: the peer answered MP_CAPABLE with a plain SYN/ACK, the connection is plain TCP' : 'no']);
  const failures = r.events.filter((e) => /MP_FAIL|MP_FASTCLOSE|MP_TCPRST/.test(e.option));
  if (failures.length > 0) rows.push(['failures', failures.map((e) => `${e.option} from ${e.from} (frame ${e.frame}${e.detail ? `, ${e.detail}` : ''})`).join('; ')]);
  const options = Object.entries(r.options);
  rows.push(['signalling', options.length ? options.map(([k, v]) => `${k} ×${v}`).join(', ') : 'none besides MP_CAPABLE / MP_JOIN / DSS']);
  if (r.dataFin.client || r.dataFin.server) {
    rows.push(['DATA_FIN', [r.dataFin.client ? `client (frame ${r.dataFin.client.frame})` : '', r.dataFin.server ? `server (frame ${r.dataFin.server.frame})` : ''].filter(Boolean).join(', ')]);
  }
  for (const d of DIRECTIONS) {
    const stalls = conn.directions[d].stalls;
    if (stalls.length > 0) {
      const longest = Math.max(...stalls.map((s) => s.to - s.from));
      rows.push([`stalls ${DIRECTION_TEXT[d]}`, `${stalls.length} (DATA_ACK still for more than ${a.stallMicros / 1000} ms with data outstanding; longest ${formatSeconds(longest)} s)`]);
    }
  }
  const runList = [...new Set(runs.map((m) => m.run))];
  for (const run of runList) {
    for (const [side, counters] of Object.entries(run.counters)) {
      const list = Object.entries(counters);
      if (list.length) rows.push([`${side} counters`, list.map(([k, v]) => `${k}=${v}`).join(' ')]);
    }
  }
  out.push(`<table class="summary">${rows.map(([k, v]) => `<tr><th>${escapeXml(k)}</th><td>${escapeXml(v)}</td></tr>`).join('')}</table>`);
  out.push(renderSubflowTable(conn));
  const bands = (d: Direction): Band[] => [
    ...conn.directions[d].stalls.map((s) => ({ from: seconds(s.from), to: seconds(s.to), label: 'stall (DATA_ACK still)', detail: `stall ${formatSeconds(s.to - s.from)} s`, color: STALL_COLOR })),
    ...runSpans(runList, runs),
  ];
  const domain: [number, number] = [seconds(conn.firstAt), Math.max(seconds(conn.lastAt), seconds(conn.firstAt) + 0.001)];
  for (const d of DIRECTIONS) {
    if (!conn.directions[d].hasData && !conn.subflows.some((s) => s.directions[d].uniqueBytes > 0)) continue;
    out.push(`<h3>${DIRECTION_TEXT[d]}</h3>`);
    out.push(goodputChart(`${id}-goodput-${d}`, a, conn, d, bands(d), domain));
    if (conn.directions[d].hasData) out.push(sequenceChart(`${id}-dsn-${d}`, a, conn, d, bands(d), domain));
  }
  out.push(...runCharts(id, runs, domain, runSpans(runList, runs)));
  out.push(timeline(`${id}-events`, a, conn, runList, runs, domain));
  out.push(eventTable(conn, runList, runs));
  out.push('</section>');
  return out.join('\n');
}

/** Spans of the matched runs, moved onto the capture's time axis. */
function runSpans(runList: readonly RunData[], runs: readonly RunMatch[]): Band[] {
  const out: Band[] = [];
  for (const run of runList) {
    const offset = runs.find((m) => m.run === run)?.offset ?? 0;
    for (const s of run.spans) out.push({ from: s.from + offset, to: s.to + offset, label: s.label, color: OUTAGE_COLOR });
  }
  return out;
}

function hex8(token: number): string {
  return (token >>> 0).toString(16).padStart(8, '0');
}

/** A subflow's short name, for legends: "subflow 2 (join)". */
function shortName(sf: SubflowAnalysis, i: number): string {
  return `subflow ${i + 1}${sf.report.kind === 'unknown' ? '' : ` (${sf.report.kind})`}`;
}

function subflowName(sf: SubflowAnalysis, i: number): string {
  const r = sf.report;
  return `subflow ${i + 1} ${r.kind === 'initial' ? '(initial)' : r.kind === 'join' ? '(join)' : ''} ${r.initiator} → ${r.listener}`.replace(/ {2,}/g, ' ');
}

function renderSubflowTable(conn: ConnectionAnalysis): string {
  const head =
    '<tr><th></th><th>subflow</th><th>ids</th><th>backup</th><th>state</th><th>new bytes c→s</th><th>new bytes s→c</th><th>TCP retransmitted</th><th>reinjected</th></tr>';
  const rows = conn.subflows.map((sf, i) => {
    const r = sf.report;
    const c = sf.directions.clientToServer;
    const s = sf.directions.serverToClient;
    const ids = r.kind === 'join' ? `${r.initiatorAddressId ?? '?'}/${r.listenerAddressId ?? '?'}` : '0/0';
    const backup = r.initiatorBackup || r.listenerBackup || r.prio?.fromInitiator || r.prio?.fromListener ? 'yes' : 'no';
    const state = [r.established ? 'established' : 'not established', r.fallback ? 'fallback' : '', r.fin.fromInitiator || r.fin.fromListener ? 'FIN' : '', r.reset ? 'RST' : ''].filter(Boolean).join(', ');
    const retrans = `${c.retransmittedSegments + s.retransmittedSegments} segments, ${bytesText(c.retransmittedBytes + s.retransmittedBytes)}`;
    return `<tr data-subflow="${i + 1}" data-bytes-c2s="${c.uniqueBytes}" data-bytes-s2c="${s.uniqueBytes}"><td><span class="swatch line" style="--c:${color(i)}"></span></td><td>${escapeXml(subflowName(sf, i))}</td><td>${ids}</td><td>${backup}</td><td>${escapeXml(state)}</td><td>${bytesText(c.uniqueBytes)}</td><td>${bytesText(s.uniqueBytes)}</td><td>${retrans}</td><td>${bytesText(c.reinjectedBytes + s.reinjectedBytes)}</td></tr>`;
  });
  return `<table class="subflows">${head}${rows.join('')}</table><p class="note">New bytes: TCP payload sent for the first time on the subflow (retransmissions not counted again); reinjected: data-level bytes first sent on another subflow.</p>`;
}

function goodputChart(id: string, a: CaptureAnalysis, conn: ConnectionAnalysis, d: Direction, bands: Band[], domain: [number, number]): string {
  const bin = a.binMicros;
  const toMbps = (bytes: number) => (bytes * 8) / bin;
  const series: Series[] = conn.subflows.map((sf, i) => ({
    name: `${shortName(sf, i)} (its TCP ACKs)`,
    color: color(i),
    kind: 'step',
    points: binPoints(sf.directions[d].ackedPerBin, bin, toMbps),
  }));
  const total = conn.directions[d].dataAckedPerBin;
  if (total.some((v) => v > 0)) series.push({ name: 'total (DATA_ACK)', color: TOTAL_COLOR, kind: 'step', points: binPoints(total, bin, toMbps), dashed: true });
  return renderChart({
    id,
    title: `Goodput ${DIRECTION_TEXT[d]}, per subflow and in total (${bin >= 1e6 ? `${bin / 1e6} s` : `${bin / 1000} ms`} bins)`,
    xLabel: 'time (s)',
    yLabel: 'goodput (Mbit/s)',
    series,
    bands,
    xDomain: domain,
  });
}

/** Step points for per-bin values: each bin's value from its start, and the last bin closed at its end. */
function binPoints(values: Float64Array, binMicros: number, f: (v: number) => number): [number, number][] {
  const pts: [number, number][] = [];
  for (let i = 0; i < values.length; i++) pts.push([seconds(i * binMicros), f(values[i]!)]);
  if (values.length > 0) pts.push([seconds(values.length * binMicros), f(values[values.length - 1]!)]);
  return pts;
}

function sequenceChart(id: string, a: CaptureAnalysis, conn: ConnectionAnalysis, d: Direction, bands: Band[], domain: [number, number]): string {
  const unit = byteUnit(conn.directions[d].highestDsn);
  const colT = (i: number) => seconds((i + 0.5) * a.columnMicros);
  const series: Series[] = [];
  conn.subflows.forEach((sf, i) => {
    const sd = sf.directions[d];
    const pts: [number, number][] = [];
    const retrans: [number, number][] = [];
    const reinj: [number, number][] = [];
    for (let c = 0; c < a.columns; c++) {
      if (!Number.isNaN(sd.dsnHigh[c]!)) {
        pts.push([colT(c), sd.dsnLow[c]! / unit.div]);
        if (sd.dsnHigh[c]! - sd.dsnLow[c]! > 0) pts.push([colT(c), sd.dsnHigh[c]! / unit.div]);
      }
      if (!Number.isNaN(sd.retransmitAt[c]!)) retrans.push([colT(c), sd.retransmitAt[c]! / unit.div]);
      if (!Number.isNaN(sd.reinjectAt[c]!)) reinj.push([colT(c), sd.reinjectAt[c]! / unit.div]);
    }
    series.push({ name: `${shortName(sf, i)}: data sent`, color: color(i), kind: 'points', points: pts });
    if (retrans.length) series.push({ name: `${shortName(sf, i)}: TCP retransmission`, color: color(i), kind: 'markers', marker: 'x', points: retrans });
    if (reinj.length) series.push({ name: `${shortName(sf, i)}: reinjection`, color: color(i), kind: 'markers', marker: 'triangle', points: reinj });
  });
  const ack: [number, number][] = [];
  const acks = conn.directions[d].dataAck;
  for (let c = 0; c < a.columns; c++) if (!Number.isNaN(acks[c]!)) ack.push([colT(c), acks[c]! / unit.div]);
  if (ack.length) series.push({ name: 'DATA_ACK', color: TOTAL_COLOR, kind: 'step', points: ack });
  return renderChart({
    id,
    title: `Data sequence number against time, ${DIRECTION_TEXT[d]} (mptcptrace's sequence graph; data byte 0 is IDSN + 1)`,
    xLabel: 'time (s)',
    yLabel: `data sequence (${unit.unit})`,
    series,
    bands,
    xDomain: domain,
  });
}

/** RTT, cwnd and the run's own goodput per subflow, from the run's JSON, on the capture's time axis. */
function runCharts(id: string, runs: readonly RunMatch[], domain: [number, number], bands: Band[]): string[] {
  const shift = (pts: readonly [number, number][], offset: number): [number, number][] => pts.map(([t, v]) => [t + offset, v]);
  const out: string[] = [];
  const rtt = runs.filter((m) => m.subflow.rtt.length > 0);
  if (rtt.length) {
    out.push(
      renderChart({
        id: `${id}-rtt`,
        title: `Smoothed RTT per subflow (from the run: ${[...new Set(rtt.map((m) => m.run.source))].join(', ')})`,
        xLabel: 'time (s)',
        yLabel: 'RTT (ms)',
        series: rtt.map((m) => ({ name: `subflow ${m.index + 1} (the run's ${m.subflow.label})`, color: color(m.index), kind: 'line', points: shift(m.subflow.rtt, m.offset) })),
        bands,
        xDomain: domain,
      }),
    );
  }
  const cwnd = runs.filter((m) => m.subflow.cwnd.length > 0);
  if (cwnd.length) {
    out.push(
      renderChart({
        id: `${id}-cwnd`,
        title: 'Congestion window per subflow (from the run)',
        xLabel: 'time (s)',
        yLabel: 'cwnd (KB)',
        series: cwnd.map((m) => ({ name: `subflow ${m.index + 1} (the run's ${m.subflow.label})`, color: color(m.index), kind: 'line', points: shift(m.subflow.cwnd, m.offset) })),
        bands,
        xDomain: domain,
      }),
    );
  }
  return out;
}

/** The events timeline: a lane per subflow (open to closed), one for signalling, spans for outages and stalls. */
function timeline(id: string, a: CaptureAnalysis, conn: ConnectionAnalysis, runList: readonly RunData[], runs: readonly RunMatch[], domain: [number, number]): string {
  const width = 960;
  const left = 190;
  const right = 16;
  const laneH = 22;
  const lanes = conn.subflows.length + 1;
  const top = 8;
  const height = top + lanes * laneH + 44;
  const plotW = width - left - right;
  const [x0, x1] = domain;
  const sx = (t: number) => left + ((t - x0) / (x1 - x0 || 1)) * plotW;
  const parts: string[] = [`<svg class="plot timeline" data-plot="${id}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="events timeline">`];
  parts.push(`<rect class="plot-area" x="${left}" y="${top}" width="${plotW}" height="${lanes * laneH}" fill="#fff" stroke="#999"/>`);
  const ticks = niceTicks(x0, x1, 10);
  parts.push('<g class="axis x-axis" font-size="11" fill="#333" text-anchor="middle">');
  for (const v of ticks.ticks) {
    if (v < x0 - 1e-9 || v > x1 + 1e-9) continue;
    parts.push(`<line x1="${sx(v).toFixed(1)}" y1="${top}" x2="${sx(v).toFixed(1)}" y2="${top + lanes * laneH}" stroke="#eee"/><text x="${sx(v).toFixed(1)}" y="${top + lanes * laneH + 15}">${tickText(v, ticks.step)}</text>`);
  }
  parts.push(`<text class="axis-label" x="${(left + plotW / 2).toFixed(1)}" y="${height - 6}" font-size="12">time (s)</text></g>`);
  const spans = [...runSpans(runList, runs)];
  for (const d of DIRECTIONS) for (const s of conn.directions[d].stalls) spans.push({ from: seconds(s.from), to: seconds(s.to), label: `stall ${DIRECTION_TEXT[d]}, ${formatSeconds(s.to - s.from)} s`, color: STALL_COLOR });
  for (const s of spans) {
    const xa = Math.max(left, sx(s.from));
    const xb = Math.min(left + plotW, sx(s.to));
    parts.push(`<rect class="band" data-band="${escapeXml(s.label)}" x="${xa.toFixed(1)}" y="${top}" width="${Math.max(1, xb - xa).toFixed(1)}" height="${lanes * laneH}" fill="${s.color}" opacity="0.18"><title>${escapeXml(s.label)}</title></rect>`);
  }
  conn.subflows.forEach((sf, i) => {
    const y = top + i * laneH;
    const from = seconds(sf.synAt ?? conn.firstAt);
    const est = sf.establishedAt !== undefined ? seconds(sf.establishedAt) : undefined;
    const endAt = sf.resetAt ?? sf.finAt;
    const to = endAt !== undefined ? seconds(endAt) : x1;
    parts.push(`<text x="${left - 6}" y="${y + 15}" font-size="11" text-anchor="end">${escapeXml(`subflow ${i + 1} ${sf.report.kind}`)}</text>`);
    parts.push(
      `<g data-series="subflow ${i + 1}" data-points="1"><rect class="lane-bar" x="${sx(from).toFixed(1)}" y="${y + 6}" width="${Math.max(1, sx(to) - sx(from)).toFixed(1)}" height="10" fill="${color(i)}" opacity="0.8"><title>${escapeXml(`${subflowName(sf, i)}: SYN ${formatSeconds(sf.synAt ?? conn.firstAt)} s${est !== undefined ? `, established ${formatSeconds(sf.establishedAt!)} s` : ''}${endAt !== undefined ? `, ${sf.resetAt !== undefined ? 'RST' : 'FIN'} ${formatSeconds(endAt)} s` : ''}`)}</title></rect>`,
    );
    if (est !== undefined) parts.push(`<path d="M${sx(est).toFixed(1)},${y + 3}v16" stroke="#000" stroke-width="1.5"><title>established ${formatSeconds(sf.establishedAt!)} s</title></path>`);
    if (sf.resetAt !== undefined) parts.push(`<path d="M${(sx(to) - 4).toFixed(1)},${y + 4}l8,12m0,-12l-8,12" stroke="${STALL_COLOR}" stroke-width="2"><title>RST ${formatSeconds(sf.resetAt)} s</title></path>`);
    parts.push('</g>');
  });
  const y = top + conn.subflows.length * laneH;
  parts.push(`<text x="${left - 6}" y="${y + 15}" font-size="11" text-anchor="end">signalling</text>`);
  let marks = '';
  conn.report.events.forEach((e, k) => {
    const t = conn.eventTimes[k];
    if (t === undefined || !Number.isFinite(t)) return;
    marks += `<path d="M${sx(seconds(t)).toFixed(1)},${y + 4}l5,7l-5,7l-5,-7z" fill="${eventColor(e)}"><title>${escapeXml(`${formatSeconds(t)} s ${e.option} from ${e.from} ${e.detail}`)}</title></path>`;
  });
  parts.push(`<g data-series="signalling" data-points="${conn.report.events.length}">${marks}</g>`);
  parts.push('</svg>');
  return `<figure class="chart"><figcaption>Events: subflows from SYN to FIN/RST (tick: established), signalling options, link outages from the run, stalls of the DATA_ACK (hover for details)</figcaption>${parts.join('')}</figure>`;
}

function eventColor(e: SignalEvent): string {
  if (/MP_FAIL|FASTCLOSE|TCPRST/.test(e.option)) return STALL_COLOR;
  if (/RM_ADDR/.test(e.option)) return '#8c564b';
  if (/MP_PRIO/.test(e.option)) return '#9467bd';
  return '#2ca02c';
}

function eventTable(conn: ConnectionAnalysis, runList: readonly RunData[], runs: readonly RunMatch[]): string {
  const rows: [number, string, string][] = [];
  conn.subflows.forEach((sf, i) => {
    const name = subflowName(sf, i);
    if (sf.synAt !== undefined) rows.push([sf.synAt, 'subflow opened (SYN)', name]);
    if (sf.establishedAt !== undefined) rows.push([sf.establishedAt, 'subflow established', name]);
    if (sf.finAt !== undefined) rows.push([sf.finAt, 'subflow closing (first FIN)', name]);
    if (sf.resetAt !== undefined) rows.push([sf.resetAt, 'subflow reset (RST)', name]);
  });
  conn.report.events.forEach((e, k) => rows.push([conn.eventTimes[k] ?? NaN, e.option, `from ${e.from}${e.detail ? `, ${e.detail}` : ''} (frame ${e.frame})`]));
  for (const s of runSpans(runList, runs)) {
    rows.push([s.from * 1e6, 'link down', s.label]);
    rows.push([s.to * 1e6, 'link up', s.label]);
  }
  for (const d of DIRECTIONS) for (const s of conn.directions[d].stalls) rows.push([s.from, 'stall', `${DIRECTION_TEXT[d]}: the DATA_ACK did not move for ${formatSeconds(s.to - s.from)} s`]);
  rows.sort((x, y) => x[0] - y[0]);
  const cap = 200;
  const body = rows.slice(0, cap).map(([t, what, detail]) => `<tr><td>${Number.isFinite(t) ? formatSeconds(t) : '?'}</td><td>${escapeXml(what)}</td><td>${escapeXml(detail)}</td></tr>`);
  const more = rows.length > cap ? `<p class="note">${rows.length - cap} more events not listed.</p>` : '';
  return `<details class="events"${rows.length <= 30 ? ' open' : ''}><summary>${rows.length} events</summary><table class="events"><tr><th>time (s)</th><th>event</th><th>detail</th></tr>${body.join('')}</table>${more}</details>`;
}

function renderPlainTcp(id: string, c: ReportCapture): string {
  const rows = c.analysis.plainTcp.map(
    (p) =>
      `<tr><td>${escapeXml(p.client)} → ${escapeXml(p.server)}</td><td>${formatSeconds(p.firstAt)}–${formatSeconds(p.lastAt)}</td><td>${p.packets}</td><td>${bytesText(p.bytesClientToServer)}</td><td>${bytesText(p.bytesServerToClient)}</td><td>${p.reset ? 'RST' : p.fin ? 'FIN' : 'open'}</td></tr>`,
  );
  return `<section class="plain-tcp" id="${id}" data-plain-tcp="${c.analysis.plainTcp.length}"><h2>Plain TCP connections in ${escapeXml(c.name)}</h2><table class="plain"><tr><th>client → server</th><th>time (s)</th><th>packets</th><th>bytes c→s</th><th>bytes s→c</th><th>end</th></tr>${rows.join('')}</table></section>`;
}

/** A run with no captured connection: its own goodput, RTT and cwnd per subflow over its time. */
function renderRunOnly(run: RunData): string {
  const out = [`<section class="run" data-run="${escapeXml(run.source)}"><h2>Run ${escapeXml(run.source)} (${run.kind}, no capture of it given)</h2>`];
  for (const note of run.notes) out.push(`<p class="note">${escapeXml(note)}</p>`);
  for (const [side, counters] of Object.entries(run.counters)) {
    const list = Object.entries(counters);
    if (list.length) out.push(`<p class="note">${escapeXml(side)} counters: ${escapeXml(list.map(([k, v]) => `${k}=${v}`).join(' '))}</p>`);
  }
  const bands = run.spans.map((s) => ({ from: s.from, to: s.to, label: s.label, color: OUTAGE_COLOR }));
  const id = `run-${run.source.replace(/[^A-Za-z0-9]+/g, '-')}`;
  const chart = (key: 'goodput' | 'rtt' | 'cwnd', title: string, yLabel: string): void => {
    const series: Series[] = run.subflows.filter((s) => s[key].length > 0).map((s, i) => ({ name: s.label, color: color(i), kind: key === 'goodput' ? 'step' : 'line', points: s[key] }));
    if (series.length) out.push(renderChart({ id: `${id}-${key}`, title, xLabel: 'time (s)', yLabel, series, bands }));
  };
  chart('goodput', 'Goodput per subflow (the run\'s intervals)', 'goodput (Mbit/s)');
  chart('rtt', 'Smoothed RTT per subflow', 'RTT (ms)');
  chart('cwnd', 'Congestion window per subflow', 'cwnd (KB)');
  out.push('</section>');
  return out.join('\n');
}

const CSS = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#222;max-width:1000px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-top:2px solid #ddd;padding-top:12px}h3{font-size:15px;margin:18px 0 4px}
code{font:12px ui-monospace,monospace}table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top;font-size:13px}
table.summary th{background:#f6f6f6;white-space:nowrap}.note{color:#555;font-size:12px}.warning{color:#a00}
figure.chart{margin:12px 0}figcaption{font-weight:600;margin-bottom:4px}svg.plot{display:block;max-width:100%;height:auto}
ul.legend{list-style:none;padding:0;margin:4px 0 0 72px;display:flex;flex-wrap:wrap;gap:4px 16px;font-size:12px}
.swatch{display:inline-block;width:18px;height:10px;margin-right:5px;vertical-align:middle;background:var(--c)}
.swatch.line,.swatch.step{height:3px}.swatch.points{width:6px;height:6px;border-radius:3px}
.swatch.markers{width:10px;height:10px;background:none;border:2px solid var(--c)}.swatch.triangle{border-radius:0 0 5px 5px}
.swatch.band{opacity:.35;height:12px}nav ul{padding-left:18px}
`;

/** The page's own check: every plot drew something visible; the result in #plot-check and on <html>. */
const CHECK_SCRIPT = `(function(){var bad=[],svgs=document.querySelectorAll('svg.plot');for(var i=0;i<svgs.length;i++){var s=svgs[i],els=s.querySelectorAll('[data-series] path,[data-series] rect'),ok=false;for(var j=0;j<els.length&&!ok;j++){var b=els[j].getBBox();if(b.width>0||b.height>0)ok=true}if(!ok)bad.push(s.getAttribute('data-plot'))}var el=document.getElementById('plot-check');el.setAttribute('data-plots',String(svgs.length));el.setAttribute('data-failed',String(bad.length));el.textContent=bad.length?'plots that drew nothing: '+bad.join(', '):'all '+svgs.length+' plots drew';document.documentElement.setAttribute('data-plot-check',bad.length?'failed':'ok');if(bad.length)console.error('mptcp report: plots that drew nothing: '+bad.join(', '))})();`;
