/**
 * Vega-Lite specs for every chart of the report. Inputs are already aggregated (bins, tallies, curve points), so
 * a spec carries at most a few thousand data values whatever the number of flows. Data fields have fixed names
 * (`lo`, `share`, `cls`...): column names from files never become Vega field names or expressions.
 */
import { SCORE_BANDS, SCORE_BINS, type Tally, type TimelineBin, type TimelinePoint } from './aggregate.ts';
import type { CurvePoint, ModelQuality } from './metrics.ts';
import type { CategoricalProfile, NumericProfile, ProfileClass } from './profiles.ts';
import { BAND_COLORS, type ChartSpec, COLORS } from './render.ts';

const SMALL_WIDTH = 270;
const SMALL_HEIGHT = 160;
const WIDE_WIDTH = 860;

function classColor(c: ProfileClass): string {
  return c === 'benign' ? COLORS.benign : c === 'malicious' ? COLORS.malicious : COLORS.neutral;
}

function classScale(classes: readonly ProfileClass[]) {
  return { domain: [...classes], range: classes.map(classColor) };
}

/** Display unit for an axis, rescaling time features so their ticks read as ms or s. */
function axisUnit(unit: string, hi: number): { factor: number; label: string } {
  if (unit === 'µs') {
    if (hi >= 1e6) return { factor: 1e-6, label: 's' };
    if (hi >= 1e3) return { factor: 1e-3, label: 'ms' };
  }
  if (unit === 'ms' && hi >= 1e3) return { factor: 1e-3, label: 's' };
  return { factor: 1, label: unit };
}

/**
 * Axis labels: SI prefixes from 1000 up ("1.2k", "10M"), plain significant digits below ("0.25", "0.001").
 * (d3's "~s" alone writes 0.5 as "500m", which reads as metres or minutes.)
 */
const LABEL_EXPR = "abs(datum.value) >= 1000 ? format(datum.value, '~s') : format(datum.value, '~g')";

/** Ticks 0, 1, 10, 100... inside [lo, hi] for a symlog axis (vega's default symlog ticks bunch up at the top). */
function decadeTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  if (lo <= 0) ticks.push(0);
  for (let d = 1; d <= hi * 1.0001; d *= 10) if (d >= lo) ticks.push(d);
  // Fine-scaled values below 1 (e.g. seconds of sub-second IATs): add decimal decades.
  for (let d = 0.1; d >= lo && d > 1e-9; d /= 10) if (d > 0 && d <= hi) ticks.splice(lo <= 0 ? 1 : 0, 0, d);
  // Keep at most 6 labels: every other decade when the range spans many.
  if (ticks.length <= 6) return ticks.length >= 2 ? ticks : [lo, hi];
  const step = Math.ceil(ticks.length / 6);
  return ticks.filter((_, i) => i % step === 0 || i === ticks.length - 1);
}

export function numericProfileSpec(p: NumericProfile, classes: readonly ProfileClass[]): ChartSpec {
  const lo = p.bins.length > 0 ? Math.min(...p.bins.map((b) => b.lo)) : 0;
  const hi = p.bins.length > 0 ? Math.max(...p.bins.map((b) => b.hi)) : 1;
  const { factor, label } = axisUnit(p.unit, hi);
  const x: Record<string, unknown> = {
    field: 'lo',
    type: 'quantitative',
    title: label === '' ? p.feature : `${p.feature} (${label})`,
    // Bins are even in symlog(value in the column's unit); the constant keeps that true after rescaling.
    scale:
      p.scale === 'symlog'
        ? { type: 'symlog', constant: factor, domain: [lo * factor, hi * factor], nice: false, zero: false }
        : { type: 'linear', domain: [lo * factor, hi * factor], nice: false, zero: false },
    axis: { grid: false, labelExpr: LABEL_EXPR, labelOverlap: 'greedy', labelFlush: true },
  };
  if (p.scale === 'symlog') (x.axis as Record<string, unknown>).values = decadeTicks(lo * factor, hi * factor);
  return {
    width: SMALL_WIDTH,
    height: SMALL_HEIGHT,
    title: { text: p.title, subtitle: p.why === 'importance' ? 'ranked important by the model' : ' ' },
    data: {
      values: p.bins
        .filter((b) => b.share > 0)
        .map((b) => ({ cls: b.cls, lo: b.lo * factor, hi: b.hi * factor, share: b.share })),
    },
    mark: { type: 'rect', opacity: classes.length > 1 ? 0.55 : 0.85 },
    encoding: {
      x,
      x2: { field: 'hi' },
      y: {
        field: 'share',
        type: 'quantitative',
        stack: null,
        title: 'share of class',
        axis: { format: '.0%', tickCount: 4 },
      },
      color: { field: 'cls', type: 'nominal', scale: classScale(classes), legend: null },
    },
  };
}

export function categoricalProfileSpec(p: CategoricalProfile, classes: readonly ProfileClass[]): ChartSpec {
  const order: string[] = [];
  for (const r of p.rows) if (!order.includes(r.category)) order.push(r.category);
  const present = classes.filter((c) => p.n.some((n) => n.cls === c));
  return {
    width: 120,
    height: { step: present.length > 1 ? 24 : 16 },
    title: { text: p.title, subtitle: 'share of flows that carry the field' },
    data: { values: p.rows.map((r) => ({ cls: r.cls, category: r.category, share: r.share })) },
    mark: { type: 'bar', cornerRadiusEnd: 2 },
    encoding: {
      y: { field: 'category', type: 'nominal', sort: order, title: null, axis: { labelLimit: 165 } },
      yOffset: { field: 'cls', sort: present },
      x: {
        field: 'share',
        type: 'quantitative',
        title: null,
        scale: { domain: [0, 1] },
        axis: { format: '.0%', tickCount: 5 },
      },
      color: { field: 'cls', type: 'nominal', scale: classScale(present), legend: null },
    },
  };
}

/** Horizontal bars of a tally, split into flagged / not flagged when the flows were scored. */
export function tallySpec(
  title: string,
  rows: readonly Tally[],
  measure: 'flows' | 'bytes',
  split: boolean,
  subtitle?: string,
): ChartSpec {
  const values: { key: string; part: string; value: number }[] = [];
  for (const r of rows) {
    if (measure === 'flows' && split) {
      values.push({ key: r.key, part: 'flagged malicious', value: r.flagged });
      values.push({ key: r.key, part: 'not flagged', value: r.flows - r.flagged });
    } else {
      values.push({ key: r.key, part: measure, value: r[measure] });
    }
  }
  const parts = measure === 'flows' && split ? ['not flagged', 'flagged malicious'] : [measure];
  return {
    width: 125,
    height: { step: 18 },
    title: subtitle === undefined ? { text: title } : { text: title, subtitle },
    data: { values },
    mark: { type: 'bar', cornerRadiusEnd: 1 },
    encoding: {
      y: { field: 'key', type: 'nominal', sort: rows.map((r) => r.key), title: null, axis: { labelLimit: 140 } },
      x: {
        field: 'value',
        type: 'quantitative',
        stack: 'zero',
        title: measure,
        axis: { labelExpr: LABEL_EXPR, tickCount: 4 },
      },
      color: {
        field: 'part',
        type: 'nominal',
        scale: { domain: parts, range: split ? [COLORS.benign, COLORS.malicious] : [COLORS.neutral] },
        legend: split ? { orient: 'bottom', title: null } : null,
      },
      order: { field: 'part', sort: 'descending' },
    },
  };
}

function bandName(i: number): string {
  if (i >= SCORE_BANDS) return 'unscored';
  return `${(i / SCORE_BANDS).toFixed(1)}–${((i + 1) / SCORE_BANDS).toFixed(1)}`;
}

/** A UTC tick format that suits the time span (d3-time-format directives). */
function timeFormat(spanMs: number): string {
  if (spanMs < 10 * 60_000) return '%H:%M:%S';
  if (spanMs < 2 * 86_400_000) return '%H:%M';
  return '%b %d %H:%M';
}

/** Flow starts per time bin, stacked by score band (stacked here, so each band is one rect from y0 to y1). */
export function timelineSpec(bins: readonly TimelineBin[], binUs: number, scored: boolean): ChartSpec {
  const values: { t0: number; t1: number; band: string; y0: number; y1: number }[] = [];
  for (const b of bins) {
    let y = 0;
    for (let i = 0; i <= SCORE_BANDS; i++) {
      const c = b.counts[i]!;
      if (c === 0) continue;
      values.push({ t0: b.startUs / 1000, t1: (b.startUs + binUs) / 1000, band: bandName(i), y0: y, y1: y + c });
      y += c;
    }
  }
  const domain: string[] = [];
  const range: string[] = [];
  if (scored) {
    for (let i = 0; i < SCORE_BANDS; i++) {
      domain.push(bandName(i));
      range.push(BAND_COLORS[i]!);
    }
  }
  if (values.some((v) => v.band === 'unscored')) {
    domain.push('unscored');
    range.push('#b8c2cc');
  }
  const span = values.length > 0 ? values[values.length - 1]!.t1 - values[0]!.t0 : 0;
  return {
    width: WIDE_WIDTH,
    height: 180,
    title: { text: 'Flow starts over time', subtitle: scored ? 'stacked by model score' : 'flows are not scored' },
    data: { values },
    mark: { type: 'rect' },
    encoding: {
      x: {
        field: 't0',
        type: 'temporal',
        scale: { type: 'utc' },
        title: 'flow start (UTC)',
        axis: { labelOverlap: 'greedy', format: timeFormat(span) },
      },
      x2: { field: 't1' },
      y: { field: 'y0', type: 'quantitative', title: 'flows started', axis: { labelExpr: LABEL_EXPR, tickCount: 4 } },
      y2: { field: 'y1' },
      color: {
        field: 'band',
        type: 'ordinal',
        scale: { domain, range },
        legend: { orient: 'top', title: 'score', direction: 'horizontal' },
      },
    },
  };
}

/** Sampled flow starts against score (every flagged flow up to a cap, and a sample of the rest). */
export function timelineScatterSpec(points: readonly TimelinePoint[], threshold: number): ChartSpec {
  const stops = BAND_COLORS.map((_, i) => i / (BAND_COLORS.length - 1));
  let t0 = Number.POSITIVE_INFINITY;
  let t1 = Number.NEGATIVE_INFINITY;
  for (const p of points) {
    t0 = Math.min(t0, p.startUs / 1000);
    t1 = Math.max(t1, p.startUs / 1000);
  }
  return {
    width: WIDE_WIDTH,
    height: 160,
    title: { text: 'Scores over time', subtitle: 'each dot is one flow; dashed line: threshold' },
    layer: [
      {
        data: { values: points.map((p) => ({ t: p.startUs / 1000, score: p.score })) },
        mark: { type: 'circle', size: 16, opacity: 0.75 },
        encoding: {
          x: {
            field: 't',
            type: 'temporal',
            scale: { type: 'utc' },
            title: 'flow start (UTC)',
            axis: { labelOverlap: 'greedy', format: timeFormat(t1 - t0) },
          },
          y: {
            field: 'score',
            type: 'quantitative',
            scale: { domain: [0, 1] },
            title: 'score',
            axis: { tickCount: 5 },
          },
          color: {
            field: 'score',
            type: 'quantitative',
            scale: { domain: stops, range: [...BAND_COLORS] },
            legend: null,
          },
        },
      },
      {
        data: { values: [{ y: threshold }] },
        mark: { type: 'rule', strokeDash: [5, 4], color: COLORS.accent, opacity: 0.6 },
        encoding: { y: { field: 'y', type: 'quantitative' } },
      },
    ],
  };
}

function curveSpec(
  title: string,
  subtitle: string,
  points: readonly CurvePoint[],
  axes: { x: string; y: string },
  reference: Record<string, unknown>,
  op: { x: number; y: number; label: string } | undefined,
): ChartSpec {
  const layers: Record<string, unknown>[] = [
    reference,
    {
      data: { values: points.map((p, i) => ({ x: p.x, y: p.y, i })) },
      mark: { type: 'line', color: COLORS.accent, strokeWidth: 2, interpolate: 'linear' },
      encoding: {
        x: { field: 'x', type: 'quantitative', scale: { domain: [0, 1] }, title: axes.x, axis: { tickCount: 5 } },
        y: { field: 'y', type: 'quantitative', scale: { domain: [0, 1] }, title: axes.y, axis: { tickCount: 5 } },
        order: { field: 'i' },
      },
    },
  ];
  if (op) {
    const data = { values: [{ x: op.x, y: op.y, label: op.label }] };
    const enc = { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } };
    layers.push(
      { data, mark: { type: 'point', filled: true, size: 110, color: COLORS.malicious, opacity: 1 }, encoding: enc },
      {
        data,
        mark: {
          type: 'text',
          align: op.x > 0.6 ? 'right' : 'left',
          dx: op.x > 0.6 ? -9 : 9,
          dy: 12,
          fontSize: 11,
          color: '#1f2933',
        },
        encoding: { ...enc, text: { field: 'label' } },
      },
    );
  }
  return { width: 280, height: 250, title: { text: title, subtitle }, layer: layers };
}

export function rocSpec(q: ModelQuality): ChartSpec | undefined {
  if (!q.roc) return undefined;
  const op = q.operating;
  const point =
    op?.fpr !== undefined && op.tpr !== undefined
      ? { x: op.fpr, y: op.tpr, label: op.threshold !== undefined ? `threshold ${op.threshold}` : 'operating point' }
      : undefined;
  const diagonal = {
    data: {
      values: [
        { x: 0, y: 0 },
        { x: 1, y: 1 },
      ],
    },
    mark: { type: 'line', color: '#b7c0ca', strokeDash: [4, 4] },
    encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
  };
  const auc = q.roc.auc !== undefined ? `AUC ${q.roc.auc.toFixed(3)}` : '';
  return curveSpec(
    'ROC curve',
    auc,
    q.roc.points,
    { x: 'false positive rate', y: 'true positive rate' },
    diagonal,
    point,
  );
}

export function prSpec(q: ModelQuality): ChartSpec | undefined {
  if (!q.pr) return undefined;
  const op = q.operating;
  const point =
    op?.recall !== undefined && op.precision !== undefined
      ? {
          x: op.recall,
          y: op.precision,
          label: op.threshold !== undefined ? `threshold ${op.threshold}` : 'operating point',
        }
      : undefined;
  const prevalence = q.pr.prevalence ?? 0;
  const baseline = {
    data: { values: [{ y: prevalence }] },
    mark: { type: 'rule', color: '#b7c0ca', strokeDash: [4, 4] },
    encoding: { y: { field: 'y', type: 'quantitative' } },
  };
  const ap = q.pr.ap !== undefined ? `average precision ${q.pr.ap.toFixed(3)}` : '';
  return curveSpec('Precision–recall curve', ap, q.pr.points, { x: 'recall', y: 'precision' }, baseline, point);
}

export function confusionSpec(q: ModelQuality): ChartSpec | undefined {
  const c = q.confusion;
  if (!c) return undefined;
  const values: { actual: string; predicted: string; count: number; share: number; text: string }[] = [];
  c.matrix.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((count, j) => {
      const share = total > 0 ? count / total : 0;
      values.push({
        actual: c.labels[i]!,
        predicted: c.labels[j]!,
        count,
        share,
        text: `${count.toLocaleString('en-US')} (${(share * 100).toFixed(1)}%)`,
      });
    });
  });
  const size = Math.min(460, Math.max(220, 90 * c.labels.length));
  const enc = {
    x: {
      field: 'predicted',
      type: 'nominal',
      sort: c.labels,
      title: 'predicted',
      axis: { orient: 'top', labelAngle: 0, labelLimit: 120 },
    },
    y: { field: 'actual', type: 'nominal', sort: c.labels, title: 'actual', axis: { labelLimit: 120 } },
  };
  return {
    width: size,
    height: size,
    title: { text: 'Confusion matrix', subtitle: 'colour: share of the actual class' },
    data: { values },
    layer: [
      {
        mark: { type: 'rect', stroke: '#ffffff', strokeWidth: 2 },
        encoding: {
          ...enc,
          color: {
            field: 'share',
            type: 'quantitative',
            scale: { domain: [0, 1], range: ['#f3f6fa', '#1f4e8c'] },
            legend: null,
          },
        },
      },
      {
        mark: { type: 'text', fontSize: c.labels.length > 4 ? 9 : 12 },
        encoding: {
          ...enc,
          text: { field: 'text' },
          color: { condition: { test: 'datum.share > 0.5', value: '#ffffff' }, value: '#1f2933' },
        },
      },
    ],
  };
}

export function importanceSpec(items: readonly { feature: string; importance: number }[]): ChartSpec | undefined {
  if (items.length === 0) return undefined;
  return {
    width: 130,
    height: { step: 16 },
    title: { text: 'Feature importance', subtitle: 'as reported by the model' },
    data: { values: items.map((d) => ({ feature: d.feature, importance: d.importance })) },
    mark: { type: 'bar', color: '#51667f', cornerRadiusEnd: 2 },
    encoding: {
      y: {
        field: 'feature',
        type: 'nominal',
        sort: items.map((d) => d.feature),
        title: null,
        axis: { labelLimit: 185 },
      },
      x: { field: 'importance', type: 'quantitative', title: 'importance', axis: { tickCount: 4 } },
    },
  };
}

/**
 * Score distribution per class from the SCORE_BINS-bin histograms, coarsened to 50 bins; each class normalised
 * to its own total so a rare class stays visible.
 */
export function scoreDistributionSpec(
  hists: readonly { cls: ProfileClass; hist: Float64Array }[],
  threshold: number,
): ChartSpec | undefined {
  const coarse = 50;
  const per = SCORE_BINS / coarse;
  const values: { cls: ProfileClass; lo: number; hi: number; share: number }[] = [];
  for (const { cls, hist } of hists) {
    let total = 0;
    for (const v of hist) total += v;
    if (total === 0) continue;
    for (let i = 0; i < coarse; i++) {
      let c = 0;
      for (let j = i * per; j < (i + 1) * per; j++) c += hist[j]!;
      if (c > 0) values.push({ cls, lo: i / coarse, hi: (i + 1) / coarse, share: c / total });
    }
  }
  if (values.length === 0) return undefined;
  const classes = hists.map((h) => h.cls).filter((c) => values.some((v) => v.cls === c));
  return {
    width: 270,
    height: 200,
    title: { text: 'Score distribution', subtitle: 'share of each class per score bin; dashed line: threshold' },
    layer: [
      {
        data: { values },
        mark: { type: 'rect', opacity: classes.length > 1 ? 0.6 : 0.85 },
        encoding: {
          x: {
            field: 'lo',
            type: 'quantitative',
            scale: { domain: [0, 1] },
            title: 'p_malicious',
            axis: { tickCount: 5 },
          },
          x2: { field: 'hi' },
          y: {
            field: 'share',
            type: 'quantitative',
            stack: null,
            scale: { type: 'sqrt' },
            title: 'share of class (√ scale)',
            axis: { format: '.0%', tickCount: 4 },
          },
          color: { field: 'cls', type: 'nominal', scale: classScale(classes), legend: null },
        },
      },
      {
        data: { values: [{ x: threshold }] },
        mark: { type: 'rule', strokeDash: [5, 4], color: COLORS.accent },
        encoding: { x: { field: 'x', type: 'quantitative' } },
      },
    ],
  };
}
