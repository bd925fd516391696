/**
 * The report page: five sections (overview, profiles, model quality, riskiest flows, timeline), each present
 * even without data, then saying what is missing. Every string from input files goes through `html` escaping.
 */
import type { FlowSummary, Tally } from './aggregate.ts';
import {
  categoricalProfileSpec,
  confusionSpec,
  importanceSpec,
  numericProfileSpec,
  prSpec,
  rocSpec,
  scoreDistributionSpec,
  tallySpec,
  timelineScatterSpec,
  timelineSpec,
} from './charts.ts';
import {
  formatBytes,
  formatCount,
  formatDurationUs,
  formatMetric,
  formatPercent,
  formatTimeUs,
  formatValue,
} from './format.ts';
import { html, Markup, trustedSvg } from './html.ts';
import type { ModelQuality } from './metrics.ts';
import type { ProfileClass, Profiles } from './profiles.ts';
import { BAND_COLORS, type ChartSpec, renderSvg } from './render.ts';
import {
  type FlowRow,
  firstText,
  flowBytes,
  flowDurationUs,
  flowPackets,
  flowReasons,
  flowScore,
  flowSni,
  flowStartUs,
  flowVerdict,
  protocolName,
  rawLabel,
  strField,
  toNumber,
} from './rows.ts';
import { STYLESHEET } from './style.ts';

export interface PageData {
  title: string;
  generatedAt: Date;
  sources: readonly string[];
  summary: FlowSummary | undefined;
  stats: Record<string, unknown> | undefined;
  profiles: Profiles | undefined;
  quality: ModelQuality | undefined;
  threshold: number;
}

/** Renders charts one by one and counts them (the browser test checks each one drew marks). */
class ChartRenderer {
  count = 0;
  readonly warnings: string[] = [];

  async figure(id: string, spec: ChartSpec | undefined, caption?: Markup | string, wide = false): Promise<Markup> {
    if (spec === undefined) return html``;
    const svg = await renderSvg(spec, this.warnings);
    this.count++;
    return html`<figure class="chart${wide ? ' wide' : ''}" data-chart="${id}">${trustedSvg(svg)}${
      caption === undefined ? '' : html`<figcaption>${caption}</figcaption>`
    }</figure>`;
  }
}

function tile(value: string, label: string, sub?: string, alert = false): Markup {
  return html`<div class="tile${alert ? ' alert' : ''}"><div class="value">${value}</div><div class="label">${label}</div>${
    sub === undefined ? '' : html`<div class="sub">${sub}</div>`
  }</div>`;
}

function empty(text: Markup | string): Markup {
  return html`<p class="empty">${text}</p>`;
}

function classChip(cls: ProfileClass, text?: string): Markup {
  return html`<span class="chip ${cls}">${text ?? cls}</span>`;
}

function tallyTable(caption: string, rows: readonly Tally[], showFlagged: boolean): Markup {
  if (rows.length === 0) return html``;
  return html`<div><h3>${caption}</h3><div class="table-wrap"><table>
<thead><tr><th></th><th class="num">flows</th><th class="num">bytes</th><th class="num">packets</th>${
    showFlagged ? html`<th class="num">flagged</th>` : ''
  }</tr></thead><tbody>${rows.map(
    (r) =>
      html`<tr><td class="key">${r.key}</td><td class="num">${formatCount(r.flows)}</td><td class="num">${formatBytes(
        r.bytes,
      )}</td><td class="num">${formatCount(r.packets)}</td>${
        showFlagged ? html`<td class="num">${r.flagged > 0 ? formatCount(r.flagged) : '–'}</td>` : ''
      }</tr>`,
  )}</tbody></table></div></div>`;
}

/** Flatten a stats object to dotted keys with scalar values. */
function flattenStats(o: Record<string, unknown>, prefix = '', out: [string, unknown][] = []): [string, unknown][] {
  for (const [k, v] of Object.entries(o)) {
    const key = prefix === '' ? k : `${prefix}.${k}`;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) flattenStats(v as Record<string, unknown>, key, out);
    else if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean' || typeof v === 'bigint')
      out.push([key, v]);
  }
  return out;
}

function sumDropped(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'object' && v !== null) {
    let s = 0;
    for (const x of Object.values(v)) s += sumDropped(x);
    return s;
  }
  return 0;
}

function statValue(key: string, v: unknown): string {
  if (typeof v !== 'number') return String(v);
  if (/_seen_us$/.test(key)) return formatTimeUs(v);
  if (/_s$/.test(key)) return formatDurationUs(v * 1e6);
  return Number.isInteger(v) ? formatCount(v) : v.toPrecision(4);
}

function accounting(stats: Record<string, unknown>): Markup {
  const rows = flattenStats(stats);
  if (rows.length === 0) return html``;
  const read = toNumber(stats.packets_read);
  const inFlows = toNumber(stats.packets_in_flows);
  let check: Markup = html``;
  if (!Number.isNaN(read) && !Number.isNaN(inFlows)) {
    const dropped = sumDropped(stats.dropped);
    const missing = read - inFlows - dropped;
    check =
      missing === 0
        ? html`<p class="note"><span class="check ok">✓ balanced</span>: ${formatCount(read)} packets read = ${formatCount(
            inFlows,
          )} in flows + ${formatCount(dropped)} counted as dropped.</p>`
        : html`<p class="note"><span class="check bad">✗ unbalanced</span>: ${formatCount(read)} packets read, ${formatCount(
            inFlows,
          )} in flows, ${formatCount(dropped)} dropped — ${formatCount(Math.abs(missing))} ${
            missing > 0 ? 'unaccounted for' : 'counted twice'
          }.</p>`;
  }
  return html`<div><h3>Accounting counters</h3>${check}<div class="table-wrap"><table><thead><tr><th>counter</th><th class="num">value</th></tr></thead><tbody>${rows.map(
    ([k, v]) => html`<tr><td class="key"><code>${k}</code></td><td class="num">${statValue(k, v)}</td></tr>`,
  )}</tbody></table></div></div>`;
}

async function overviewSection(d: PageData, charts: ChartRenderer): Promise<Markup> {
  const s = d.summary;
  const stats = d.stats;
  const tiles: Markup[] = [];
  if (s && s.flows > 0) {
    const span = s.lastUs - s.firstUs;
    tiles.push(
      tile(formatCount(s.flows), 'flows'),
      tile(formatCount(s.packets), 'packets'),
      tile(formatBytes(s.bytes), 'bytes', `${formatCount(s.bytes)} B`),
      tile(
        formatDurationUs(span),
        'time span',
        Number.isNaN(s.firstUs) ? undefined : `from ${formatTimeUs(s.firstUs)}`,
      ),
      tile(`${formatCount(s.hosts)}${s.hostsCapped ? '+' : ''}`, 'hosts', 'distinct IP addresses'),
    );
    if (s.scored > 0 || s.verdicts.malicious + s.verdicts.benign > 0) {
      tiles.push(
        tile(
          formatCount(s.flagged),
          'flagged malicious',
          `${formatPercent(s.flagged / s.flows)} of flows`,
          s.flagged > 0,
        ),
      );
    }
    if (s.labelled > 0)
      tiles.push(tile(formatCount(s.labelled), 'labelled flows', `${formatPercent(s.labelled / s.flows)} of flows`));
  } else if (stats) {
    for (const [key, label] of [
      ['flows', 'flows'],
      ['packets_read', 'packets read'],
    ] as const) {
      const v = toNumber(stats[key]);
      if (!Number.isNaN(v)) tiles.push(tile(formatCount(v), label));
    }
    const bytes = toNumber(stats.bytes ?? stats.bytes_read);
    if (!Number.isNaN(bytes)) tiles.push(tile(formatBytes(bytes), 'bytes'));
  }
  const split = s !== undefined && (s.scored > 0 || s.verdicts.malicious + s.verdicts.benign > 0);
  const chartParts: Markup[] = [];
  if (s && s.flows > 0) {
    chartParts.push(
      await charts.figure('protocols', tallySpec('Flows by protocol', s.protocols, 'flows', split)),
      await charts.figure('applications', tallySpec('Flows by application', s.applications, 'flows', split)),
    );
    if (s.serverNames.length > 0) {
      chartParts.push(
        await charts.figure(
          'server-names',
          tallySpec('Top server names', s.serverNames, 'flows', split, 'TLS SNI, HTTP Host or DNS query'),
        ),
      );
    }
  }
  const tables: Markup[] = [];
  if (s && s.flows > 0) {
    tables.push(tallyTable('Top talkers (sources by bytes)', s.srcHosts, split));
    tables.push(tallyTable('Top destinations (by flows)', s.dstHosts, split));
    tables.push(tallyTable('Why flows ended', s.endReasons, split));
    if (s.sourceFiles.length > 1) tables.push(tallyTable('Source files', s.sourceFiles, split));
  }
  if (stats) tables.push(accounting(stats));
  const body =
    tiles.length === 0 && tables.length === 0
      ? empty('No flows or extract statistics were given, so there is nothing to summarise.')
      : html`<div class="tiles">${tiles}</div>${
          chartParts.length > 0 ? html`<div class="grid">${chartParts}</div>` : ''
        }${s?.talliesApproximate ? html`<p class="note">Too many distinct hosts or names to count all: the tables keep the heaviest ones, whose counts are lower bounds.</p>` : ''}<div class="tables">${tables}</div>`;
  return html`<section id="overview" class="report-section"><h2>Capture overview</h2><p class="lead">What is in the input: volume, time span, protocols and applications, the busiest hosts, and the extractor's accounting of every packet.</p>${body}</section>`;
}

function unitCaption(p: Profiles['numeric'][number]): Markup {
  return html`${p.stats.map(
    (st, i) =>
      html`${i > 0 ? ' · ' : ''}${classChip(st.cls)} median ${formatValue(st.median, p.unit)}, p90 ${formatValue(st.p90, p.unit)} <span class="contrib">(n=${formatCount(st.n)})</span>`,
  )}`;
}

async function profilesSection(d: PageData, charts: ChartRenderer): Promise<Markup> {
  const s = d.summary;
  const p = d.profiles;
  let body: Markup;
  if (!s || s.flows === 0 || !p) {
    body = empty('No flows were given: profiles need flow records (JSONL, CSV or Parquet from extract or classify).');
  } else {
    const figures: Markup[] = [];
    for (const n of p.numeric)
      figures.push(await charts.figure(`profile-num-${n.feature}`, numericProfileSpec(n, p.classes), unitCaption(n)));
    for (const c of p.categorical) {
      figures.push(
        await charts.figure(
          `profile-cat-${c.feature}`,
          categoricalProfileSpec(c, p.classes),
          html`${c.n.map((x, i) => html`${i > 0 ? ' · ' : ''}${classChip(x.cls)} ${formatCount(x.n)} flows`)}`,
        ),
      );
    }
    const basis =
      s.classBasis === 'label'
        ? html`Classes come from the <code>label</code> column: ${formatCount(s.classTotals.benign)} benign and ${formatCount(
            s.classTotals.malicious,
          )} malicious flows${s.labelled < s.flows ? html` (${formatCount(s.flows - s.labelled)} unlabelled flows are left out)` : ''}.`
        : s.classBasis === 'verdict'
          ? html`No labels present, so classes come from the model's verdicts: ${formatCount(s.classTotals.benign)} benign and ${formatCount(
              s.classTotals.malicious,
            )} malicious flows.`
          : html`No labels or verdicts present: these are the distributions of all flows. Add a <code>label</code> column or run <code>flowsieve classify</code> to compare classes.`;
    const largest = Math.max(s.classTotals.benign, s.classTotals.malicious, s.classBasis === 'none' ? s.flows : 0);
    const sampled = p.classes.some((c) =>
      c === 'all' ? s.samples.all.length < s.flows : s.samples[c].length < s.classTotals[c],
    );
    body = html`<div class="legend">${p.classes.map((c) => classChip(c, c === 'all' ? 'all flows' : c))}</div><p class="note">${basis}${
      sampled
        ? html` Distributions are estimated from a uniform random sample of up to ${formatCount(
            Math.max(...p.classes.map((c) => s.samples[c].length)),
          )} flows per class (of ${formatCount(largest)}).`
        : ''
    } Heavy-tailed features use a symmetric-log axis; values beyond the 0.5th/99.5th percentiles fall in the end bins.</p>${
      figures.length > 0
        ? html`<div class="grid">${figures}</div>`
        : empty('The flows carry no numeric features to profile.')
    }`;
  }
  return html`<section id="profiles" class="report-section"><h2>Benign vs malicious profiles</h2><p class="lead">How the two classes differ, feature by feature: each class is normalised to its own size, so a rare class is as visible as a common one.</p>${body}</section>`;
}

function metricTable(q: ModelQuality): Markup {
  if (q.perClass.length === 0) return html``;
  return html`<div><h3>Per-class metrics</h3><div class="table-wrap"><table><thead><tr><th>class</th><th class="num">precision</th><th class="num">recall</th><th class="num">F1</th><th class="num">support</th></tr></thead><tbody>${q.perClass.map(
    (c) =>
      html`<tr><td class="key">${c.label}</td><td class="num">${formatMetric(c.precision)}</td><td class="num">${formatMetric(
        c.recall,
      )}</td><td class="num">${formatMetric(c.f1)}</td><td class="num">${c.support === undefined ? '–' : formatCount(c.support)}</td></tr>`,
  )}</tbody></table></div></div>`;
}

function tprTable(q: ModelQuality): Markup {
  if (q.tprAtFpr.length === 0) return html``;
  return html`<div><h3>Detection at a false-positive budget</h3><div class="table-wrap"><table><thead><tr><th class="num">FPR ≤</th><th class="num">TPR</th></tr></thead><tbody>${q.tprAtFpr.map(
    (r) =>
      html`<tr><td class="num">${formatPercent(r.fpr, r.fpr < 0.01 ? 2 : 1)}</td><td class="num">${formatMetric(r.tpr)}</td></tr>`,
  )}</tbody></table></div></div>`;
}

function labelTable(s: FlowSummary): Markup {
  if (s.labels.length === 0 || (s.scored === 0 && s.verdicts.malicious + s.verdicts.benign === 0)) return html``;
  return html`<div><h3>Flagged share by label</h3><div class="table-wrap"><table><thead><tr><th>label</th><th class="num">flows</th><th class="num">flagged</th><th class="num">rate</th></tr></thead><tbody>${s.labels.map(
    (l) =>
      html`<tr><td class="key">${classChip(l.cls, l.label)}</td><td class="num">${formatCount(l.flows)}</td><td class="num">${formatCount(
        l.flagged,
      )}</td><td class="num">${formatPercent(l.flagged / l.flows)}</td></tr>`,
  )}</tbody></table></div></div>`;
}

async function modelSection(d: PageData, charts: ChartRenderer): Promise<Markup> {
  const q = d.quality;
  const s = d.summary;
  const parts: Markup[] = [];
  if (q) {
    const sourceNote =
      q.source === 'flows'
        ? html`<p class="note">Computed from the ${formatCount(s?.labelled ?? 0)} labelled flows of the input (curves use scores rounded down to 0.001; operating point: ${
            s && s.verdicts.malicious + s.verdicts.benign > 0 ? 'the verdict column' : html`score ≥ ${d.threshold}`
          }).</p>`
        : html`<p class="note">From the evaluation file${q.operating?.threshold !== undefined ? html`; operating threshold ${q.operating.threshold}` : ''}.</p>`;
    parts.push(sourceNote);
    if (q.headline.length > 0)
      parts.push(html`<div class="tiles">${q.headline.map((m) => tile(formatMetric(m.value), m.name))}</div>`);
    const figs = [
      await charts.figure('roc', rocSpec(q)),
      await charts.figure('pr', prSpec(q)),
      await charts.figure('confusion', confusionSpec(q)),
    ];
    if (s && s.scored > 0) {
      const hists: { cls: ProfileClass; hist: Float64Array }[] =
        s.labelled > 0
          ? [
              { cls: 'benign', hist: s.scoreHistograms.benign },
              { cls: 'malicious', hist: s.scoreHistograms.malicious },
            ]
          : [{ cls: 'all', hist: s.scoreHistograms.all }];
      figs.push(await charts.figure('score-distribution', scoreDistributionSpec(hists, d.threshold)));
    }
    figs.push(await charts.figure('importance', importanceSpec(q.importance)));
    parts.push(html`<div class="grid">${figs}</div>`);
    const tables = [metricTable(q), tprTable(q)];
    if (s) tables.push(labelTable(s));
    if (q.other.length > 0) {
      tables.push(
        html`<div><h3>Other evaluation fields</h3><div class="table-wrap"><table><tbody>${q.other.map(
          (o) => html`<tr><td class="key"><code>${o.name}</code></td><td class="key">${o.value}</td></tr>`,
        )}</tbody></table></div></div>`,
      );
    }
    parts.push(html`<div class="tables">${tables}</div>`);
  } else {
    parts.push(
      empty(
        html`No labels present: model quality needs labelled, scored flows (a <code>label</code> column and <code>p_malicious</code> from <code>flowsieve classify</code>) or an evaluation JSON from <code>flowsieve evaluate</code>.`,
      ),
    );
    if (s && s.scored > 0) {
      const fig = await charts.figure(
        'score-distribution',
        scoreDistributionSpec([{ cls: 'all', hist: s.scoreHistograms.all }], d.threshold),
      );
      parts.push(html`<div class="grid">${fig}</div>`);
    }
  }
  return html`<section id="model" class="report-section"><h2>Model quality</h2><p class="lead">How well the scores separate the classes: ROC and precision–recall curves with the operating point, the confusion at that point, and the features the model leans on.</p>${parts}</section>`;
}

function endpoint(ip: string | undefined, port: number): string {
  const host = ip === undefined ? '?' : ip.includes(':') ? `[${ip}]` : ip;
  return Number.isNaN(port) ? host : `${host}:${port}`;
}

function scoreColor(score: number): string {
  return BAND_COLORS[Math.min(BAND_COLORS.length - 1, Math.floor(score * BAND_COLORS.length))]!;
}

function riskyRow(row: FlowRow, rank: number): Markup {
  const score = flowScore(row);
  const verdict = flowVerdict(row);
  const label = rawLabel(row);
  const ja3 = firstText(row, ['tls_ja3', 'tls_ja3_hash']);
  const ja4 = firstText(row, ['tls_ja4']);
  const issuer = firstText(row, ['tls_cert_issuer', 'tls_issuer', 'tls_cert_issuer_cn']);
  const sni = flowSni(row);
  const reasons = flowReasons(row).slice(0, 5);
  const pct = Math.round(score * 100);
  const identity: Markup[] = [];
  if (sni !== undefined) identity.push(html`<span class="clip sni" title="${sni}">${sni}</span>`);
  if (issuer !== undefined)
    identity.push(html`<span class="clip sub" title="issuer: ${issuer}">issuer ${issuer}</span>`);
  if (ja3 !== undefined) identity.push(html`<span class="fp" title="JA3 ${ja3}">JA3 ${ja3}</span>`);
  if (ja4 !== undefined) identity.push(html`<span class="fp" title="JA4 ${ja4}">JA4 ${ja4}</span>`);
  return html`<tr>
<td class="num">${rank}</td>
<td><div class="score"><span class="bar"><span style="width:${pct}%;background:${scoreColor(score)}"></span></span><b>${score.toFixed(3)}</b></div><div class="badges">${
    verdict === undefined ? '' : html`<span class="badge ${verdict}">${verdict}</span>`
  }${label === undefined ? '' : html`<span class="badge" title="label">${label}</span>`}</div></td>
<td class="mono tuple">${endpoint(strField(row, 'src_ip'), toNumber(strField(row, 'src_port')))}<br><span class="arrow">→</span>${endpoint(
    strField(row, 'dst_ip'),
    toNumber(strField(row, 'dst_port')),
  )}<br><span class="contrib">${protocolName(row)} · ${formatTimeUs(flowStartUs(row))}</span></td>
<td class="identity">${identity.length === 0 ? '–' : identity}</td>
<td class="num">${formatBytes(flowBytes(row))}<br><span class="contrib">${formatCount(flowPackets(row))} pkts<br>${formatDurationUs(
    flowDurationUs(row),
  )}</span></td>
<td>${
    reasons.length === 0
      ? '–'
      : html`<ul class="reasons">${reasons.map(
          (r) =>
            html`<li>${r.text}${
              r.contribution === undefined
                ? ''
                : html` <span class="contrib ${r.contribution >= 0 ? 'up' : 'down'}">${r.contribution >= 0 ? '+' : ''}${r.contribution.toFixed(3)}</span>`
            }</li>`,
        )}</ul>`
  }</td>
</tr>`;
}

function riskySection(d: PageData): Markup {
  const s = d.summary;
  let body: Markup;
  if (!s || s.riskiest.length === 0) {
    body = empty(
      s && s.flows > 0
        ? html`No scores present: run <code>flowsieve classify</code> to score flows (<code>p_malicious</code>), then report on its output.`
        : 'No flows were given.',
    );
  } else {
    body = html`<p class="note">The ${formatCount(s.riskiest.length)} highest-scoring of ${formatCount(s.scored)} scored flows. Hover a clipped cell for its full text.</p><div class="table-wrap"><table class="risky"><thead><tr><th class="num">#</th><th>score · verdict${
      s.labelled > 0 ? ' · label' : ''
    }</th><th>flow</th><th>server name · certificate · fingerprints</th><th class="num">volume</th><th>reasons</th></tr></thead><tbody>${s.riskiest.map(
      (row, i) => riskyRow(row, i + 1),
    )}</tbody></table></div>`;
  }
  return html`<section id="risky" class="report-section"><h2>Riskiest flows</h2><p class="lead">Where to look first: the flows the model scores highest, with their endpoints, TLS identity and the reasons for the score.</p>${body}</section>`;
}

async function timelineSection(d: PageData, charts: ChartRenderer): Promise<Markup> {
  const s = d.summary;
  let body: Markup;
  if (!s || s.timeline.bins.length === 0) {
    body = empty('No flow start times present (first_seen_us), so there is no timeline.');
  } else {
    const scored = s.scored > 0;
    const figs = [
      await charts.figure(
        'timeline',
        timelineSpec(s.timeline.bins, s.timeline.binUs, scored),
        `Each bar covers ${formatDurationUs(s.timeline.binUs)}.`,
        true,
      ),
    ];
    if (scored && s.timelinePoints.length > 0) {
      const { flagged, other } = s.timelinePointsFrom;
      const shown = s.timelinePoints.length;
      figs.push(
        await charts.figure(
          'timeline-scores',
          timelineScatterSpec(s.timelinePoints, d.threshold),
          shown < flagged + other
            ? `A sample of ${formatCount(shown)} of ${formatCount(flagged + other)} scored flows: up to 1,000 flagged and 1,000 others, chosen uniformly.`
            : `All ${formatCount(shown)} scored flows.`,
          true,
        ),
      );
    }
    body = html`<div class="grid">${figs}</div>`;
  }
  return html`<section id="timeline" class="report-section"><h2>Timeline</h2><p class="lead">When flows started, coloured by score: bursts of high-scoring flows stand out against the background.</p>${body}</section>`;
}

/** Build the complete document. Returns the HTML and the number of charts drawn. */
export async function renderPage(d: PageData): Promise<{ html: string; charts: number; warnings: string[] }> {
  const charts = new ChartRenderer();
  const sections = [
    await overviewSection(d, charts),
    await profilesSection(d, charts),
    await modelSection(d, charts),
    riskySection(d),
    await timelineSection(d, charts),
  ];
  const nav: [string, string][] = [
    ['overview', 'Overview'],
    ['profiles', 'Profiles'],
    ['model', 'Model quality'],
    ['risky', 'Riskiest flows'],
    ['timeline', 'Timeline'],
  ];
  const meta = [
    `Generated ${d.generatedAt
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, ' UTC')}`,
  ];
  if (d.sources.length > 0) meta.push(`from ${d.sources.join(', ')}`);
  // The CSP makes the file inert even if something slipped through escaping: no scripts, no fetches,
  // styles only from this document, images only inline.
  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="flowsieve">
<title>${d.title}</title>
<style>${new Markup(STYLESHEET)}</style>
</head>
<body>
<header class="top"><div class="brand">flowsieve report</div><h1>${d.title}</h1><p class="meta">${meta.join(' · ')}</p>
<nav class="sections">${nav.map(([id, label]) => html`<a href="#${id}">${label}</a>`)}</nav></header>
<main>
${sections}
</main>
<footer>Self-contained report: no scripts, no network access. Charts rendered with Vega-Lite.</footer>
</body>
</html>
`;
  return { html: page.html, charts: charts.count, warnings: charts.warnings };
}
