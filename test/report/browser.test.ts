/**
 * The report in a real browser: headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core) opens
 * the file, and we check that every section is there, every chart drew marks, hostile strings stayed text, and
 * nothing logged an error (a CSP violation or a broken resource would). Saves screenshots to test-output/.
 * Skips with a message when Chromium is not installed (CI installs it in .ci/run).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { buildReport } from '../../src/report/index.ts';
import { PROJECT_ROOT } from '../helpers/shared.ts';
import { HOSTILE, syntheticEvaluation, syntheticFlows, syntheticStats } from './synthetic.ts';

const CHROMIUM = '/usr/bin/chromium';
const HAS_CHROMIUM = existsSync(CHROMIUM);
const SKIP = HAS_CHROMIUM ? false : `headless Chromium not found at ${CHROMIUM} (apt-get install chromium)`;
const OUT_DIR = path.join(PROJECT_ROOT, 'test-output');
const SECTIONS = ['overview', 'profiles', 'model', 'risky', 'timeline'];

describe('report in headless Chromium', { skip: SKIP }, () => {
  let browser: Browser;
  let dir: string;

  before(async () => {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    dir = mkdtempSync(path.join(tmpdir(), 'flowsieve-report-'));
    mkdirSync(OUT_DIR, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Open a report file, collecting console errors, page errors and any request leaving the file. */
  async function open(file: string): Promise<{ page: Page; problems: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) problems.push(`network request: ${r.url()}`);
    });
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    return { page, problems };
  }

  test('full report: every section and chart rendered, no errors, hostile strings inert', async () => {
    const report = await buildReport({
      flows: [...syntheticFlows(2000)],
      evaluation: syntheticEvaluation(),
      stats: syntheticStats(2000),
      title: 'Synthetic capture <script>window.__pwned=9</script>',
      sources: ['flows.jsonl', HOSTILE.file],
      options: { generatedAt: new Date(Date.UTC(2026, 10, 25)) },
    });
    const file = path.join(dir, 'full.html');
    writeFileSync(file, report.html);
    const { page, problems } = await open(file);

    for (const id of SECTIONS) {
      assert.equal(await page.locator(`section#${id}`).count(), 1, `section ${id}`);
      assert.ok(((await page.locator(`section#${id} h2`).textContent()) ?? '').length > 0);
      assert.equal(await page.locator(`section#${id} .empty`).count(), 0, `section ${id} has data here`);
    }
    const figures = page.locator('figure.chart');
    const count = await figures.count();
    assert.equal(count, report.charts);
    assert.ok(count >= 15, `expected many charts, got ${count}`);
    for (let i = 0; i < count; i++) {
      const fig = figures.nth(i);
      const id = await fig.getAttribute('data-chart');
      assert.equal(await fig.locator('svg').count(), 1, `chart ${id} has one svg`);
      // Vega puts data marks in groups with class role-mark; at least one drawn item per chart.
      const marks = await fig.locator('svg g.role-mark > *').count();
      assert.ok(marks > 0, `chart ${id} drew no marks`);
      const box = await fig.locator('svg').boundingBox();
      assert.ok(box !== null && box.width > 100 && box.height > 50, `chart ${id} has a visible size`);
    }
    for (const id of ['roc', 'pr', 'confusion', 'importance', 'timeline', 'timeline-scores', 'applications']) {
      assert.equal(await page.locator(`figure[data-chart="${id}"]`).count(), 1, `chart ${id} present`);
    }
    assert.ok((await page.locator('table.risky tbody tr').count()) >= 10);

    // Hostile strings render as text, run nothing, and add no elements.
    assert.equal(await page.evaluate('typeof window.__pwned'), 'undefined');
    assert.equal(await page.locator('main script, main iframe, main img, main style').count(), 0);
    assert.equal(await page.locator('table.risky svg').count(), 0);
    const riskyText = (await page.locator('table.risky').textContent()) ?? '';
    assert.ok(riskyText.includes(HOSTILE.sni), 'hostile SNI shown as text');
    assert.ok(riskyText.includes(HOSTILE.issuer), 'hostile issuer shown as text');
    assert.ok(riskyText.includes(HOSTILE.reason), 'hostile reason shown as text');
    assert.ok(((await page.locator('h1').textContent()) ?? '').includes('<script>'), 'title shown as text');
    assert.equal(await page.evaluate('getComputedStyle(document.body).display'), 'block');
    assert.deepEqual(problems, []);

    await page.screenshot({ path: path.join(OUT_DIR, 'report-full.png'), fullPage: true });
    await page.close();
  });

  test('sparse report: flows without labels or scores say what is missing, still no errors', async () => {
    const report = await buildReport({
      flows: [...syntheticFlows(400, { labels: false, scores: false, hostile: false })],
      options: { generatedAt: new Date(Date.UTC(2026, 10, 25)) },
    });
    const file = path.join(dir, 'sparse.html');
    writeFileSync(file, report.html);
    const { page, problems } = await open(file);
    for (const id of SECTIONS) assert.equal(await page.locator(`section#${id}`).count(), 1);
    assert.match((await page.locator('section#model .empty').textContent()) ?? '', /No labels present/);
    assert.match((await page.locator('section#risky .empty').textContent()) ?? '', /No scores present/);
    assert.ok((await page.locator('section#profiles figure.chart').count()) > 0, 'profiles of all flows');
    const figures = page.locator('figure.chart');
    for (let i = 0; i < (await figures.count()); i++) {
      assert.ok((await figures.nth(i).locator('svg g.role-mark > *').count()) > 0);
    }
    assert.deepEqual(problems, []);
    await page.screenshot({ path: path.join(OUT_DIR, 'report-sparse.png'), fullPage: true });
    await page.close();
  });
});
