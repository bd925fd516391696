/**
 * The whole report, without a browser: sections present, hostile strings escaped everywhere (HTML and SVG),
 * sparse inputs degrade to messages, no network references, and the `report` command end to end.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Command } from 'commander';
import { UserError } from '../../src/cli/common.ts';
import { register } from '../../src/cli/report.ts';
import { aggregateFlows, type FlowSummary } from '../../src/report/aggregate.ts';
import { buildReport, buildReportHtml, writeReport } from '../../src/report/index.ts';
import { buildProfiles } from '../../src/report/profiles.ts';
import { HOSTILE, syntheticEvaluation, syntheticFlows, syntheticStats } from './synthetic.ts';

const FIXED = { generatedAt: new Date(Date.UTC(2026, 10, 25)) };
const SECTIONS = ['overview', 'profiles', 'model', 'risky', 'timeline'];

function sectionOf(page: string, id: string): string {
  const start = page.indexOf(`<section id="${id}"`);
  assert.ok(start >= 0, `section ${id}`);
  return page.slice(start, page.indexOf('</section>', start));
}

/** Every URL-ish reference in the document: none may point outside it. */
function externalRefs(page: string): string[] {
  const refs = [...page.matchAll(/(?:src|href|xlink:href|action)\s*=\s*"([^"]*)"/g)].map((m) => m[1]!);
  const urls = [...page.matchAll(/url\(([^)]*)\)/g)].map((m) => m[1]!);
  return [...refs, ...urls].filter((r) => !r.startsWith('#'));
}

describe('full report', () => {
  let page: string;
  let charts: number;
  before(async () => {
    const r = await buildReport({
      flows: syntheticFlows(3000), // a generator: consumed once, streamed
      evaluation: syntheticEvaluation(),
      stats: syntheticStats(3000),
      title: `Report ${HOSTILE.sni}`,
      sources: [HOSTILE.file],
      options: FIXED,
    });
    page = r.html;
    charts = r.charts;
    assert.deepEqual(r.warnings, []);
  });

  test('all five sections with their charts', () => {
    for (const id of SECTIONS) assert.ok(!sectionOf(page, id).includes('class="empty"'), `${id} has data`);
    assert.equal((page.match(/<figure class="chart/g) ?? []).length, charts);
    assert.ok(charts >= 18, `${charts} charts`);
    for (const id of [
      'protocols',
      'applications',
      'server-names',
      'roc',
      'pr',
      'confusion',
      'importance',
      'score-distribution',
      'timeline',
      'timeline-scores',
    ]) {
      assert.ok(page.includes(`data-chart="${id}"`), id);
    }
    assert.ok(page.includes('data-chart="profile-num-bidirectional_mean_ps"'));
    assert.ok(page.includes('data-chart="profile-cat-tls_version"'));
    assert.match(sectionOf(page, 'overview'), /✓ balanced/);
  });

  test('self-contained: no script, no external reference, a CSP that forbids fetching', () => {
    assert.doesNotMatch(page, /<script/i);
    assert.deepEqual(externalRefs(page), []);
    assert.match(page, /Content-Security-Policy" content="default-src 'none'/);
    assert.doesNotMatch(page, /@import|<link/i);
  });

  test('hostile strings from traffic appear only escaped, in the table and in the SVG charts', () => {
    for (const s of Object.values(HOSTILE)) assert.ok(!page.includes(s), `raw ${s}`);
    assert.ok(page.includes('&lt;script&gt;window.__pwned=1&lt;/script&gt;evil.example'), 'escaped SNI in HTML');
    assert.ok(
      page.includes('&quot;&gt;&lt;img src=x onerror=&quot;window.__pwned=2&quot;&gt;CN=Evil CA'),
      'escaped issuer',
    );
    // the hostile SNI reaches the top-server-names chart axis, escaped by vega's SVG writer (and truncated)
    const chart = page.slice(
      page.indexOf('data-chart="server-names"'),
      page.indexOf('</figure>', page.indexOf('data-chart="server-names"')),
    );
    assert.ok(chart.includes('&lt;script&gt;'), 'escaped in SVG');
    assert.ok(!/<(script|img|iframe|style)\b/i.test(page.slice(page.indexOf('<body'))), 'no injected element');
  });

  test('size stays small', () => {
    assert.ok(page.length < 2_000_000, `${page.length} bytes`);
  });
});

test('sparse inputs: each section says what is missing', async () => {
  const none = await buildReportHtml({ options: FIXED });
  for (const id of SECTIONS) assert.ok(sectionOf(none, id).includes('class="empty"'), id);

  const unlabelled = await buildReportHtml({
    flows: [...syntheticFlows(300, { labels: false, scores: false, hostile: false })],
    options: FIXED,
  });
  assert.match(sectionOf(unlabelled, 'model'), /No labels present/);
  assert.match(sectionOf(unlabelled, 'risky'), /No scores present/);
  assert.match(sectionOf(unlabelled, 'profiles'), /No labels or verdicts present/);
  assert.ok(sectionOf(unlabelled, 'profiles').includes('<svg'), 'distributions of all flows');
  assert.match(sectionOf(unlabelled, 'timeline'), /flows are not scored/);

  const evalOnly = await buildReportHtml({ evaluation: syntheticEvaluation(), options: FIXED });
  assert.ok(sectionOf(evalOnly, 'model').includes('data-chart="roc"'));
  assert.ok(sectionOf(evalOnly, 'overview').includes('class="empty"'));

  const statsOnly = await buildReportHtml({
    stats: { packets_read: 10, packets_in_flows: 7, dropped: { x: 1 } },
    options: FIXED,
  });
  assert.match(sectionOf(statsOnly, 'overview'), /✗ unbalanced.*2 unaccounted for/s);
});

test('labelled and scored flows without an evaluation: model quality computed from the flows', async () => {
  const page = await buildReportHtml({ flows: [...syntheticFlows(800, { hostile: false })], options: FIXED });
  const model = sectionOf(page, 'model');
  assert.match(model, /Computed from the 800 labelled flows/);
  for (const id of ['roc', 'pr', 'confusion', 'score-distribution'])
    assert.ok(model.includes(`data-chart="${id}"`), id);
  assert.match(model, /Flagged share by label/);
});

test('model metrics stand in for a missing evaluation; model importance orders the profiles', async () => {
  const page = await buildReportHtml({
    flows: [...syntheticFlows(500, { hostile: false })],
    model: {
      threshold: 0.7,
      feature_importance: { bidirectional_max_ps: 9, duration_us: 1 },
      metrics: { roc_auc: 0.77, mcc: 0.5 },
    },
    options: FIXED,
  });
  assert.match(sectionOf(page, 'model'), /From the evaluation file; operating threshold 0.7/);
  const profiles = sectionOf(page, 'profiles');
  assert.ok(
    profiles.indexOf('profile-num-bidirectional_max_ps') < profiles.indexOf('profile-num-bidirectional_mean_ps'),
  );
});

test('flat (CSV-shaped) rows give the same summary and profiles as nested JSONL rows', async () => {
  const nested = await aggregateFlows(syntheticFlows(400));
  const flat = await aggregateFlows(syntheticFlows(400, { flat: true }));
  const pick = (s: FlowSummary) => ({
    flows: s.flows,
    bytes: s.bytes,
    apps: s.applications,
    names: s.serverNames,
    confusion: s.confusion,
    riskiest: s.riskiest.map((r) => r.flow_id),
  });
  assert.deepEqual(pick(flat), pick(nested));
  const profile = (s: FlowSummary) => {
    const p = buildProfiles(s, []);
    return { numeric: p.numeric.map((n) => [n.feature, n.stats]), categorical: p.categorical.map((c) => c.rows) };
  };
  assert.deepEqual(profile(flat), profile(nested));
});

describe('flowsieve report (CLI)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'flowsieve-report-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function run(...args: string[]): Promise<void> {
    const program = new Command().exitOverride();
    register(program);
    for (const c of program.commands) c.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    await program.parseAsync(['node', 'flowsieve', 'report', ...args, '--quiet']);
  }

  test('flows + evaluation + stats → one HTML file', async () => {
    const flows = path.join(dir, 'scored.jsonl');
    writeFileSync(flows, `${[...syntheticFlows(500)].map((r) => JSON.stringify(r)).join('\n')}\n`);
    writeFileSync(path.join(dir, 'evaluation.json'), JSON.stringify(syntheticEvaluation()));
    writeFileSync(path.join(dir, 's.json'), JSON.stringify(syntheticStats(500)));
    const out = path.join(dir, 'sub', 'report.html');
    await run(
      flows,
      path.join(dir, 'evaluation.json'),
      '--stats',
      path.join(dir, 's.json'),
      '-o',
      out,
      '--title',
      'CLI <test>',
      '--top',
      '5',
    );
    const page = readFileSync(out, 'utf8');
    assert.match(page, /<title>CLI &lt;test&gt;<\/title>/);
    assert.equal((page.match(/<tr>\n<td class="num">/g) ?? []).length, 5);
    assert.match(page, /✓ balanced/);
    assert.ok(!existsSync(`${out}.${process.pid}.tmp`));
  });

  test('input errors become one-line UserErrors (exit 2), and no file is written', async () => {
    const out = path.join(dir, 'never.html');
    writeFileSync(path.join(dir, 'what.json'), '{"hello": 1}');
    writeFileSync(path.join(dir, 'bad.jsonl'), '{"a": 1}\nnot json\n');
    const cases: [string[], RegExp][] = [
      [[path.join(dir, 'what.json')], /not an evaluation, extract statistics, model or flow-array JSON/],
      [[path.join(dir, 'bad.jsonl')], /bad\.jsonl:2: not valid JSON/],
      [[path.join(dir, 'missing.jsonl')], /no such file/],
      [[path.join(dir, 'capture.pcap')], /unknown file type/],
      [[], /give at least one input/],
      [[path.join(dir, 'bad.jsonl'), '--threshold', '2'], /--threshold: expected a number in \[0, 1\]/],
    ];
    for (const [args, message] of cases) {
      await assert.rejects(run(...args, '-o', out), (e: unknown) => {
        assert.ok(e instanceof UserError, String(e));
        assert.equal(e.exitCode, 2);
        assert.match(e.message, message);
        return true;
      });
    }
    assert.ok(!existsSync(out));
  });

  test('writeReport creates parent directories', async () => {
    const out = path.join(dir, 'a', 'b', 'r.html');
    await writeReport({ title: 't', options: FIXED }, out);
    assert.match(readFileSync(out, 'utf8'), /^<!doctype html>/);
  });
});
