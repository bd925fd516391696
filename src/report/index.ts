/**
 * flowsieve's HTML report: one self-contained, offline file (inline CSS and SVG, no scripts, a CSP that forbids
 * fetches) with a capture overview, benign-vs-malicious feature profiles, model quality, the riskiest flows and a
 * timeline. `flowsieve report` and the `--report` option of classify/train/evaluate call `writeReport`.
 *
 * @example
 *   import { writeReport } from './report/index.ts';
 *   await writeReport({ flows: rows, evaluation: metrics, title: 'Week 3 capture' }, 'report.html');
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { replaceableByRename } from '../util/files.ts';
import { type AggregateOptions, aggregateFlows, type FlowSummary } from './aggregate.ts';
import { type ModelQuality, qualityFromFlows, readEvaluation, readImportance } from './metrics.ts';
import { renderPage } from './page.ts';
import { buildProfiles, type Profiles } from './profiles.ts';
import type { FlowRow } from './rows.ts';

export type { AggregateOptions, FlowSummary } from './aggregate.ts';
export type { LoadedFiles } from './load.ts';
export { jsonKind, loadReportFiles, readFlowFile } from './load.ts';
export type { ModelQuality } from './metrics.ts';
export type { FlowRow } from './rows.ts';

/**
 * What a report is built from. Every part is optional; sections without their data say so instead of failing.
 *
 * - `flows`: flow rows as plain objects — the JSONL shape (`row.tls.sni`) or flat CSV/Parquet columns
 *   (`row.tls_sni`). Read: 5-tuple, `first_seen_us`/`last_seen_us`, `duration_us`, `fwd_`/`bwd_` packets and
 *   bytes, `end_reason`, `source_file`, every numeric column (for profiles), `tls` fields (sni, ja3, ja4,
 *   version, cipher, cert_issuer, cert validity), `p_malicious`, `verdict`, `reasons` and `label` (benign names
 *   per src/ml/labels.ts; any other label is malicious). An array, or any (async) iterable: the rows are
 *   consumed once, in one pass, in bounded memory, so a streamed million-row file is fine.
 * - `stats`: the extract statistics JSON (`--stats`): `packets_read`, `packets_in_flows`, `dropped` {name: count},
 *   `flows`, `bytes`... shown as accounting counters with a balance check.
 * - `evaluation`: the metrics JSON from `flowsieve evaluate` (macro_f1, roc_auc, pr_auc, mcc, confusion,
 *   tpr_at_fpr, per-class metrics, roc_curve/pr_curve points, threshold, feature_importance). When absent and
 *   the flows are labelled and scored, model quality is computed from the flows.
 * - `model`: a model file or summary; its `feature_importance` ({name: value} or [{feature, importance}])
 *   orders the profiled features, its `threshold` sets the operating point, and its embedded `metrics` (the
 *   validation split's) stand in for `evaluation` when that is absent.
 * - `title`, `sources` (input names shown under the title), `threshold` (overrides the evaluation's and
 *   model's; default 0.5), `options` (sampling and table sizes, a fixed `generatedAt` for reproducible files).
 */
export interface ReportInput {
  flows?: Iterable<FlowRow> | AsyncIterable<FlowRow>;
  stats?: Record<string, unknown>;
  evaluation?: Record<string, unknown>;
  model?: { feature_importance?: unknown; threshold?: number; [key: string]: unknown };
  title?: string;
  sources?: readonly string[];
  threshold?: number;
  options?: ReportOptions;
}

export interface ReportOptions extends Omit<AggregateOptions, 'threshold'> {
  /** Timestamp printed in the header (default: now). */
  generatedAt?: Date;
}

/** A built report: the document and what went into it. */
export interface BuiltReport {
  html: string;
  /** Charts drawn (each an inline SVG). */
  charts: number;
  /** Vega-Lite warnings while compiling charts (empty when all is well). */
  warnings: string[];
  summary: FlowSummary | undefined;
  /** Wall time of the one pass over the flows, and of profiles + charts + page. */
  timings: { aggregateMs: number; renderMs: number };
}

function numberAt(o: unknown, key: string): number | undefined {
  if (typeof o !== 'object' || o === null || !Object.hasOwn(o, key)) return undefined;
  const v = (o as Record<string, unknown>)[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Build the report and return the document with counts (writeReport and the CLI use this). */
export async function buildReport(input: ReportInput): Promise<BuiltReport> {
  const metrics = input.evaluation?.metrics;
  const threshold =
    input.threshold ??
    numberAt(input.evaluation, 'threshold') ??
    numberAt(metrics, 'threshold') ??
    numberAt(input.model, 'threshold') ??
    0.5;
  const { generatedAt, ...aggregateOptions } = input.options ?? {};
  const started = performance.now();
  const summary =
    input.flows === undefined ? undefined : await aggregateFlows(input.flows, { ...aggregateOptions, threshold });
  const aggregated = performance.now();

  // A model file embeds the metrics of its validation split; they stand in when no evaluation is given.
  const modelMetrics = input.model?.metrics;
  const evaluation =
    input.evaluation ??
    (typeof modelMetrics === 'object' && modelMetrics !== null && !Array.isArray(modelMetrics)
      ? (modelMetrics as Record<string, unknown>)
      : undefined);
  let quality: ModelQuality | undefined =
    evaluation === undefined ? undefined : readEvaluation(evaluation, input.model, threshold);
  if (quality === undefined && summary !== undefined) quality = qualityFromFlows(summary);
  if (quality && quality.importance.length === 0 && input.model !== undefined) {
    quality.importance = readImportance(input.model.feature_importance ?? input.model.feature_importances);
  }
  const importance = (
    quality?.importance.length ? quality.importance : readImportance(input.model?.feature_importance, 50)
  ).map((d) => d.feature);
  const profiles: Profiles | undefined = summary && summary.flows > 0 ? buildProfiles(summary, importance) : undefined;

  const page = await renderPage({
    title: input.title ?? 'flowsieve report',
    generatedAt: generatedAt ?? new Date(),
    sources: input.sources ?? [],
    summary,
    stats: input.stats,
    profiles,
    quality,
    threshold,
  });
  const timings = { aggregateMs: aggregated - started, renderMs: performance.now() - aggregated };
  return { html: page.html, charts: page.charts, warnings: page.warnings, summary, timings };
}

/** The report as one HTML string. */
export async function buildReportHtml(input: ReportInput): Promise<string> {
  return (await buildReport(input)).html;
}

/**
 * Build the report and write it to `outPath` (parent directories created). Written to a temporary file and
 * renamed, so a failure never leaves a half-written report behind.
 */
export async function writeReport(input: ReportInput, outPath: string): Promise<void> {
  await writeBuiltReport(await buildReport(input), outPath);
}

export async function writeBuiltReport(report: BuiltReport, outPath: string): Promise<void> {
  await mkdir(path.dirname(path.resolve(outPath)), { recursive: true });
  if (!replaceableByRename(outPath)) {
    // /dev/stdout, a named pipe, a symbolic link: written in place (renaming over it would replace it).
    await writeFile(outPath, report.html, 'utf8');
    return;
  }
  const tmp = `${outPath}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, report.html, 'utf8');
    await rename(tmp, outPath);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
