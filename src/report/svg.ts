/**
 * Plots as inline SVG text, for `mptcp report`'s self-contained page: a time axis and a value axis with
 * "nice" ticks (1, 2 or 5 times a power of ten) and their units, series drawn as lines, steps, points or
 * markers, shaded spans (an outage, a stall) and a legend as HTML beside the plot, so labels never overlap
 * the data. Each plot is `<svg class="plot" data-plot=ID>`, each series a `<g data-series=NAME
 * data-points=N>`: the page's own check and the tests count them.
 *
 * Sans-IO strings only; every number written is finite (NaN and infinite points are skipped).
 */

/** How a series is drawn. */
export type SeriesKind = 'line' | 'step' | 'points' | 'markers';

/** One series: points in axis units (x seconds, y in the plot's unit). */
export interface Series {
  readonly name: string;
  readonly color: string;
  readonly kind: SeriesKind;
  readonly points: ReadonlyArray<readonly [number, number]>;
  /** Marker shape for `markers` (default `x`). */
  readonly marker?: 'x' | 'triangle' | 'circle';
  readonly dashed?: boolean;
}

/** A shaded span of time (an outage, a stall). */
export interface Band {
  readonly from: number;
  readonly to: number;
  /** The legend's entry (bands with the same label share one). */
  readonly label: string;
  /** The tooltip (default the label). */
  readonly detail?: string;
  readonly color: string;
}

/** A plot. */
export interface ChartSpec {
  /** Which plot (data-plot). */
  readonly id: string;
  readonly title: string;
  /** Axis labels with their units: "time (s)", "goodput (Mbit/s)". */
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  readonly bands?: readonly Band[];
  /** The x range (default: the data's). */
  readonly xDomain?: readonly [number, number];
  /** The y axis starts at 0 unless the data goes below (default true). */
  readonly yFromZero?: boolean;
  readonly width?: number;
  readonly height?: number;
}

/** Escapes text for HTML and SVG content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Ticks for [min, max]: about `count` values at 1, 2 or 5 times a power of ten, covering the range. */
export function niceTicks(min: number, max: number, count = 6): { ticks: number[]; step: number } {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return { ticks: [0, 1], step: 1 };
  if (max <= min) max = min + (min === 0 ? 1 : Math.abs(min) * 0.1);
  const raw = (max - min) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  let step = power;
  for (const m of [1, 2, 2.5, 5, 10]) {
    if (m * power >= raw) {
      step = m * power;
      break;
    }
  }
  const first = Math.floor(min / step + 1e-9) * step;
  const ticks: number[] = [];
  // From the first tick at or below min to the first at or above max (bounded).
  for (let i = 0; i < 100; i++) {
    const v = first + i * step;
    ticks.push(v);
    if (v >= max - step * 1e-9 && i >= 1) break;
  }
  return { ticks, step };
}

/** A tick's text: no more decimals than the step needs. */
export function tickText(value: number, step: number): string {
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
  const text = value.toFixed(decimals);
  return text === '-0' ? '0' : text;
}

/** The colours of subflows, in order (distinguishable, colour-blind friendly: Okabe-Ito). */
export const SUBFLOW_COLORS = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#d55e00', '#f0e442', '#999999'];
/** Colour of totals and of the DATA_ACK line. */
export const TOTAL_COLOR = '#222222';

const n = (v: number): string => (Math.round(v * 10) / 10).toString();

/** Renders a plot as a figure: title, SVG (axes, grid, bands, series), legend. */
export function renderChart(spec: ChartSpec): string {
  const width = spec.width ?? 960;
  const height = spec.height ?? 300;
  const margin = { left: 72, right: 16, top: 12, bottom: 44 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  let xMin = Infinity;
  let xMax = -Infinity;
  let yMin = Infinity;
  let yMax = -Infinity;
  for (const s of spec.series) {
    for (const [x, y] of s.points) {
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      if (x < xMin) xMin = x;
      if (x > xMax) xMax = x;
      if (y < yMin) yMin = y;
      if (y > yMax) yMax = y;
    }
  }
  if (spec.xDomain) [xMin, xMax] = spec.xDomain;
  if (!Number.isFinite(xMin)) [xMin, xMax] = [0, 1];
  if (!Number.isFinite(yMin)) [yMin, yMax] = [0, 1];
  if (spec.yFromZero !== false && yMin > 0) yMin = 0;
  const xt = niceTicks(xMin, xMax, 10);
  const yt = niceTicks(yMin, yMax, 5);
  const x0 = spec.xDomain ? xMin : xt.ticks[0]!;
  const x1 = spec.xDomain ? xMax : Math.max(xt.ticks[xt.ticks.length - 1]!, xMax);
  const y0 = yt.ticks[0]!;
  const y1 = yt.ticks[yt.ticks.length - 1]!;
  const sx = (x: number) => margin.left + ((x - x0) / (x1 - x0 || 1)) * plotW;
  const sy = (y: number) => margin.top + plotH - ((y - y0) / (y1 - y0 || 1)) * plotH;
  const clipId = `clip-${spec.id}`;
  const parts: string[] = [];
  parts.push(
    `<svg class="plot" data-plot="${escapeXml(spec.id)}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(spec.title)}">`,
  );
  parts.push(`<defs><clipPath id="${escapeXml(clipId)}"><rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}"/></clipPath></defs>`);
  parts.push(`<rect class="plot-area" x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="#fff" stroke="#999"/>`);
  // Grid and ticks.
  parts.push('<g class="axis x-axis" font-size="11" fill="#333" text-anchor="middle">');
  for (const v of xt.ticks) {
    if (v < x0 - 1e-9 || v > x1 + 1e-9) continue;
    const x = sx(v);
    parts.push(`<line x1="${n(x)}" y1="${margin.top}" x2="${n(x)}" y2="${margin.top + plotH}" stroke="#eee"/>`);
    parts.push(`<text x="${n(x)}" y="${margin.top + plotH + 15}">${tickText(v, xt.step)}</text>`);
  }
  parts.push(`<text class="axis-label" x="${n(margin.left + plotW / 2)}" y="${height - 6}" font-size="12">${escapeXml(spec.xLabel)}</text></g>`);
  parts.push('<g class="axis y-axis" font-size="11" fill="#333" text-anchor="end">');
  for (const v of yt.ticks) {
    const y = sy(v);
    parts.push(`<line x1="${margin.left}" y1="${n(y)}" x2="${margin.left + plotW}" y2="${n(y)}" stroke="#eee"/>`);
    parts.push(`<text x="${margin.left - 6}" y="${n(y + 4)}">${tickText(v, yt.step)}</text>`);
  }
  parts.push(
    `<text class="axis-label" transform="translate(14 ${n(margin.top + plotH / 2)}) rotate(-90)" text-anchor="middle" font-size="12">${escapeXml(spec.yLabel)}</text></g>`,
  );
  parts.push(`<g clip-path="url(#${escapeXml(clipId)})">`);
  for (const b of spec.bands ?? []) {
    if (!Number.isFinite(b.from) || !Number.isFinite(b.to)) continue;
    const xa = Math.max(margin.left, sx(b.from));
    const xb = Math.min(margin.left + plotW, sx(b.to));
    parts.push(
      `<rect class="band" data-band="${escapeXml(b.label)}" x="${n(xa)}" y="${margin.top}" width="${n(Math.max(1, xb - xa))}" height="${plotH}" fill="${b.color}" opacity="0.18"><title>${escapeXml(b.detail ?? b.label)}</title></rect>`,
    );
  }
  for (const s of spec.series) parts.push(renderSeries(s, sx, sy));
  parts.push('</g></svg>');
  const legend = [
    ...spec.series.map((s) => `<li><span class="swatch ${s.kind}${s.marker ? ` ${s.marker}` : ''}" style="--c:${s.color}"></span>${escapeXml(s.name)}</li>`),
    ...uniqueBands(spec.bands ?? []).map((b) => `<li><span class="swatch band" style="--c:${b.color}"></span>${escapeXml(b.label)}</li>`),
  ];
  return `<figure class="chart"><figcaption>${escapeXml(spec.title)}</figcaption>${parts.join('')}<ul class="legend">${legend.join('')}</ul></figure>`;
}

function uniqueBands(bands: readonly Band[]): Band[] {
  const seen = new Set<string>();
  return bands.filter((b) => !seen.has(b.label) && seen.add(b.label) !== undefined);
}

/** Points drawn per line at most: longer series keep each bucket's first, lowest, highest and last point. */
export const MAX_LINE_POINTS = 1200;

/**
 * A long series reduced for drawing: the points in x order bucketed into `max / 4` buckets, each keeping
 * its first, lowest, highest and last point, so peaks and dips survive (the shape of a 10-minute run).
 */
export function downsample(points: ReadonlyArray<readonly [number, number]>, max = MAX_LINE_POINTS): ReadonlyArray<readonly [number, number]> {
  if (points.length <= max) return points;
  const buckets = Math.max(1, Math.floor(max / 4));
  const x0 = points[0]![0];
  const span = points[points.length - 1]![0] - x0 || 1;
  const out: (readonly [number, number])[] = [];
  let bucket = -1;
  let chosen: (readonly [number, number])[] = [];
  const flush = () => {
    const unique = [...new Set(chosen)].sort((a, b) => a[0] - b[0]);
    out.push(...unique);
  };
  let first: readonly [number, number] | undefined;
  let low: readonly [number, number] | undefined;
  let high: readonly [number, number] | undefined;
  let last: readonly [number, number] | undefined;
  for (const p of points) {
    const b = Math.min(buckets - 1, Math.floor(((p[0] - x0) / span) * buckets));
    if (b !== bucket) {
      if (first) {
        chosen = [first, low!, high!, last!];
        flush();
      }
      bucket = b;
      first = low = high = last = p;
      continue;
    }
    if (p[1] < low![1]) low = p;
    if (p[1] > high![1]) high = p;
    last = p;
  }
  if (first) {
    chosen = [first, low!, high!, last!];
    flush();
  }
  return out;
}

function renderSeries(s: Series, sx: (x: number) => number, sy: (y: number) => number): string {
  const finite = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const pts = s.kind === 'line' || s.kind === 'step' ? downsample(finite) : finite;
  const head = `<g class="series ${s.kind}" data-series="${escapeXml(s.name)}" data-points="${pts.length}">`;
  if (pts.length === 0) return `${head}</g>`;
  if (s.kind === 'line' || s.kind === 'step') {
    let d = `M${n(sx(pts[0]![0]))},${n(sy(pts[0]![1]))}`;
    for (let i = 1; i < pts.length; i++) {
      const [x, y] = pts[i]!;
      if (s.kind === 'step') d += `H${n(sx(x))}V${n(sy(y))}`;
      else d += `L${n(sx(x))},${n(sy(y))}`;
    }
    const dash = s.dashed ? ' stroke-dasharray="6 3"' : '';
    return `${head}<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.6"${dash}/></g>`;
  }
  if (s.kind === 'points') {
    // One path of short vertical strokes: far smaller than a circle per point.
    let d = '';
    for (const [x, y] of pts) d += `M${n(sx(x))},${n(sy(y) - 1.5)}v3`;
    return `${head}<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2.5" stroke-linecap="round"/></g>`;
  }
  let d = '';
  const shape = s.marker ?? 'x';
  for (const [x, y] of pts) {
    const cx = n(sx(x));
    const cy = sy(y);
    if (shape === 'x') d += `M${n(sx(x) - 3)},${n(cy - 3)}l6,6m0,-6l-6,6`;
    else if (shape === 'triangle') d += `M${cx},${n(cy - 4)}l4,7h-8z`;
    else d += `M${n(sx(x) - 3)},${n(cy)}a3,3 0 1,0 6,0a3,3 0 1,0 -6,0`;
  }
  const fill = shape === 'x' ? 'none' : s.color;
  return `${head}<path d="${d}" fill="${fill}" fill-opacity="0.5" stroke="${s.color}" stroke-width="1.4"/></g>`;
}
