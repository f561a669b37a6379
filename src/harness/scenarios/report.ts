/**
 * The suite's outputs: a Markdown table per scenario (scenarios/RESULTS.md) and the rows as JSON
 * (scenarios/results.json). Both depend only on the rows (no dates, no wall time), so a rerun of the same
 * code gives the same bytes and a change in behaviour shows as a diff.
 */
import type { Row, ScenarioDef } from './types.js';

const cell = (v: unknown): string => String(v ?? '').replace(/\|/g, '\\|');

/** The rows as JSON (stable key order: as the rows were made). */
export function toJson(rows: readonly Row[]): string {
  return `${JSON.stringify({ rows }, null, 2)}\n`;
}

/** Pass / fail / other counts of some rows, "3 pass, 1 fail". */
export function tally(rows: readonly Row[]): string {
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  return [...counts].map(([s, n]) => `${n} ${s}`).join(', ');
}

/** The Markdown report: a summary line per scenario, then each scenario's table. */
export function toMarkdown(defs: readonly ScenarioDef[], rows: readonly Row[], header: string): string {
  const out: string[] = [header, '', '| scenario | rows | what |', '| --- | --- | --- |'];
  const shown = defs.filter((d) => rows.some((r) => r.scenario === d.id));
  for (const d of shown) out.push(`| [${d.id}](#${d.id}) | ${tally(rows.filter((r) => r.scenario === d.id))} | ${cell(d.title)} |`);
  for (const d of shown) {
    const mine = rows.filter((r) => r.scenario === d.id);
    const keys: string[] = [];
    for (const r of mine) for (const k of Object.keys(r.metrics)) if (!keys.includes(k)) keys.push(k);
    out.push('', `## ${d.id}`, '', `${d.title}.`, '', `Source: ${d.source}.`, '');
    out.push(`| case | scheduler | cc | ${keys.map(cell).join(' | ')}${keys.length ? ' | ' : ''}bound | status | note |`);
    out.push(`| --- | --- | --- | ${keys.map(() => '---').join(' | ')}${keys.length ? ' | ' : ''}--- | --- | --- |`);
    for (const r of mine) {
      out.push(
        `| ${cell(r.case)} | ${cell(r.scheduler)} | ${cell(r.cc)} | ${keys.map((k) => cell(r.metrics[k] ?? '')).join(' | ')}${keys.length ? ' | ' : ''}${cell(r.bound)} | ${r.status === 'fail' ? '**fail**' : r.status} | ${cell(r.note ?? '')} |`,
      );
    }
  }
  return `${out.join('\n')}\n`;
}
