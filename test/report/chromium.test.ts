/**
 * The report page in headless Chromium (Debian's `chromium`): the DOM after its script ran says every plot
 * drew (the page's own check: each SVG plot has a series with a non-empty bounding box), the console has no
 * error, and the screenshot of each connection's section is not blank: coloured pixels of every subflow's
 * colour, not just the white page. Skipped where Chromium is not installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/cli/cli.js';
import { SUBFLOW_COLORS } from '../../src/report/svg.js';
import { readPng } from '../support/png.js';

const CHROMIUM = ['chromium', 'chromium-browser'].find((c) => spawnSync(c, ['--version'], { encoding: 'utf8' }).status === 0);
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--enable-logging=stderr', '--v=0'];

function chromium(args: readonly string[]): { stdout: string; stderr: string } {
  const r = spawnSync(CHROMIUM!, [...FLAGS, ...args], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `chromium failed: ${r.stderr.slice(-2000)}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

test('mptcp demo --report, rendered by headless Chromium: every plot drew, no console error, a non-blank screenshot with each subflow\'s colour', { skip: CHROMIUM ? false : 'chromium is not installed (apt-get install chromium; CI installs it)' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mptcp-report-chromium-'));
  try {
    const page = join(dir, 'demo.html');
    let out = '';
    const code = await runCli(['demo', '--bytes', '8M', '--outage', '1-2', '--report', page], { stdout: (t) => (out += t), stderr: () => undefined });
    assert.equal(code, 0);
    assert.match(out, /report: .*demo\.html \(\d+ KB\)/);
    const html = readFileSync(page, 'utf8');
    const plots = [...html.matchAll(/<svg class="plot/g)].length;
    assert.ok(plots >= 5, `${plots} plots: goodput, sequence, RTT, cwnd, events`);
    const { stdout: dom, stderr } = chromium(['--virtual-time-budget=5000', '--dump-dom', `file://${page}`]);
    assert.match(dom, /<html lang="en" data-plot-check="ok">/);
    assert.match(dom, new RegExp(`data-plots="${plots}" data-failed="0">all ${plots} plots drew<`));
    const consoleErrors = stderr.split('\n').filter((l) => /:CONSOLE/.test(l));
    assert.deepEqual(consoleErrors, [], 'no console output at all (the check only logs on failure)');

    // One screenshot per connection: the page cut to that section (its own file with the same CSS).
    const sections = [...html.matchAll(/<section class="connection"[\s\S]*?<\/section>/g)].map((m) => m[0]);
    assert.equal(sections.length, 1);
    for (const [i, section] of sections.entries()) {
      const only = html.replace(/<body>[\s\S]*<script>/, `<body>${section}<p id="plot-check"></p><script>`);
      const file = join(dir, `section-${i}.html`);
      writeFileSync(file, only);
      const shot = join(dir, `section-${i}.png`);
      chromium([`--window-size=1050,2600`, `--screenshot=${shot}`, `file://${file}`]);
      const png = readPng(readFileSync(shot));
      assert.equal(png.width, 1050);
      const counts = new Map<string, number>();
      let nonWhite = 0;
      for (let p = 0; p < png.rgba.length; p += 4) {
        const [r, g, b] = [png.rgba[p]!, png.rgba[p + 1]!, png.rgba[p + 2]!];
        if (r < 245 || g < 245 || b < 245) nonWhite++;
        const hex = `#${[r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('')}`;
        counts.set(hex, (counts.get(hex) ?? 0) + 1);
      }
      assert.ok(nonWhite > png.width * png.height * 0.03, `section ${i}: ${nonWhite} non-white pixels`);
      for (const colour of SUBFLOW_COLORS.slice(0, 2)) {
        assert.ok((counts.get(colour) ?? 0) > 500, `section ${i}: subflow colour ${colour} drawn (${counts.get(colour) ?? 0} pixels)`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
