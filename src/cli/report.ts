/**
 * `flowsieve report`: flows (JSONL/CSV/Parquet, from extract or classify) and/or JSON documents (evaluation
 * metrics, extract --stats, a model) → one self-contained offline HTML file. JSON inputs are recognised by their
 * keys; --evaluation/--stats/--model pin a file's kind.
 */
import { statSync } from 'node:fs';
import type { Command } from 'commander';
import { InputError } from '../ml/table.ts';
import { buildReport, loadReportFiles, writeBuiltReport } from '../report/index.ts';
import { formatCount, info, UserError, warn } from './common.ts';

interface ReportCliOptions {
  output: string;
  evaluation?: string;
  stats?: string;
  model?: string;
  title?: string;
  threshold?: string;
  top: string;
  sample: string;
  quiet?: boolean;
}

function parseThreshold(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isFinite(x) || x < 0 || x > 1)
    throw new UserError(`--threshold: expected a number in [0, 1], got '${v}'`);
  return x;
}

function parseCount(name: string, v: string, max: number): number {
  const x = Number(v);
  if (!Number.isInteger(x) || x <= 0 || x > max)
    throw new UserError(`${name}: expected an integer from 1 to ${max}, got '${v}'`);
  return x;
}

export function register(program: Command): void {
  program
    .command('report')
    .description(
      'write a self-contained HTML report (overview, class profiles, model quality, riskiest flows, timeline)',
    )
    .argument(
      '[inputs...]',
      "flow files (.jsonl, .csv, .parquet, optionally .gz; '-' = JSONL on stdin) and/or JSON files (evaluation, extract stats, model)",
    )
    .requiredOption('-o, --output <file>', 'HTML file to write')
    .option('--evaluation <file>', 'evaluation metrics JSON (from flowsieve evaluate)')
    .option('--stats <file>', 'extract statistics JSON (from flowsieve extract --stats)')
    .option('--model <file>', 'model JSON: feature importance, threshold and validation metrics')
    .option('--title <text>', 'report title (default: the input names)')
    .option(
      '--threshold <p>',
      'score threshold of the operating point (default: from the evaluation or model, else 0.5)',
    )
    .option('--top <n>', 'rows in the riskiest-flows table', '50')
    .option('--sample <n>', 'flows sampled per class for the feature distributions', '10000')
    .option('-q, --quiet', 'no summary line')
    .addHelpText(
      'after',
      `
The file has no scripts and makes no network requests; open it in any browser, mail it, archive it.
Sections without their data say so (e.g. "no labels present") instead of failing.

Examples:
  $ flowsieve report scored.jsonl -o report.html
  $ flowsieve report flows.parquet --stats stats.json -o capture.html
  $ flowsieve report scored.csv evaluation.json --model model.json --title "Week 47" -o week47.html
  $ flowsieve classify flows.jsonl --model model.json -o - | flowsieve report - -o report.html`,
    )
    .action(async (inputs: string[], o: ReportCliOptions) => {
      const threshold = parseThreshold(o.threshold);
      const topFlows = parseCount('--top', o.top, 10_000);
      const samplePerClass = parseCount('--sample', o.sample, 1_000_000);
      const explicit: { evaluation?: string; stats?: string; model?: string } = {};
      if (o.evaluation !== undefined) explicit.evaluation = o.evaluation;
      if (o.stats !== undefined) explicit.stats = o.stats;
      if (o.model !== undefined) explicit.model = o.model;
      if (inputs.length === 0 && Object.keys(explicit).length === 0) {
        throw new UserError('report: give at least one input (flows, evaluation, stats or model file)');
      }
      const started = performance.now();
      try {
        const loaded = loadReportFiles(inputs, explicit);
        const report = await buildReport({
          ...(loaded.flows === undefined ? {} : { flows: loaded.flows }),
          ...(loaded.stats === undefined ? {} : { stats: loaded.stats }),
          ...(loaded.evaluation === undefined ? {} : { evaluation: loaded.evaluation }),
          ...(loaded.model === undefined ? {} : { model: loaded.model }),
          title:
            o.title ??
            (loaded.sources.length > 0 ? `flowsieve report: ${loaded.sources.join(', ')}` : 'flowsieve report'),
          sources: loaded.sources,
          ...(threshold === undefined ? {} : { threshold }),
          options: { topFlows, samplePerClass },
        });
        await writeBuiltReport(report, o.output);
        for (const w of new Set(report.warnings)) warn(`chart: ${w}`);
        if (!o.quiet) {
          const flows = report.summary?.flows;
          const size = statSync(o.output).size;
          info(
            `report: ${flows === undefined ? 'no flows' : `${formatCount(flows)} flows`}, ${report.charts} charts → ${o.output} (${(
              size / 1e6
            ).toFixed(2)} MB, ${((performance.now() - started) / 1000).toFixed(1)} s)`,
          );
        }
      } catch (e) {
        if (e instanceof InputError) throw new UserError(e.message);
        throw e;
      }
    });
}
