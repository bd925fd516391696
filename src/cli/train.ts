/**
 * `flowsieve train` — learn a tree model from labelled flows. The work is src/train.ts's `train()` (the library
 * call); this file parses options, draws progress, prints metrics. Also the CLI forms of the input handling shared
 * with `evaluate` and `classify`.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Command, Option } from 'commander';
import { FEATURE_SETS, type FeatureSet } from '../ml/features.ts';
import type { LabelRule } from '../ml/labels.ts';
import type { GroupWeighted, Metrics } from '../ml/metrics.ts';
import type { ModelFile } from '../ml/model.ts';
import type { SplitKind } from '../ml/split.ts';
import { InputError, type RawTable } from '../ml/table.ts';
import { type Balance, DEFAULT_FIT, type FitOptions, type WeightBy } from '../ml/train.ts';
import { writeReport } from '../report/index.ts';
import { loadTables as loadInputTables, labelRules as parseLabelRules, train } from '../train.ts';
import { info, parsePositiveInt, progressBar, UserError, warn } from './common.ts';

/** Turn src/ml input errors into one-line user errors (exit 2). */
export function asUserError(e: unknown): never {
  if (e instanceof InputError) throw new UserError(e.message);
  throw e;
}

/** Expand inputs into tables (src/train.ts), with a progress bar over captures; input problems exit 2. */
export async function loadTables(inputs: string[], quiet: boolean): Promise<RawTable[]> {
  const bar = progressBar('extracting', quiet, 'captures');
  try {
    return await loadInputTables(inputs, (d, t) => bar.update(d, t));
  } catch (e) {
    asUserError(e);
  } finally {
    bar.stop();
  }
}

/** Label rules from --label and --labels; capture-level globs also become inputs. */
export function labelRules(
  labelOpts: string[],
  labelsFile: string | undefined,
): { rules: LabelRule[]; extraInputs: string[] } {
  try {
    return parseLabelRules(labelOpts, labelsFile);
  } catch (e) {
    asUserError(e);
  }
}

export function parseSplit(v: string): SplitKind {
  if (v === 'capture' || v === 'time' || v === 'stratified') return v;
  throw new UserError(`--split: expected capture, time or stratified, got '${v}'`);
}

function parseFraction(name: string, v: string): number {
  const x = Number(v);
  if (!Number.isFinite(x) || x < 0 || x >= 1) throw new UserError(`${name}: expected a number in [0, 1), got '${v}'`);
  return x;
}

function parsePositive(name: string, v: string): number {
  const x = Number(v);
  if (!Number.isFinite(x) || x <= 0) throw new UserError(`${name}: expected a positive number, got '${v}'`);
  return x;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** One-screen summary of metrics. */
export function formatMetrics(m: Metrics, title: string): string {
  const f = (v: number): string => (Number.isFinite(v) ? v.toFixed(4) : 'n/a');
  const lines = [
    `${title}: ${m.n} flows, threshold p_malicious ≥ ${m.threshold.toFixed(4)}`,
    `  macro-F1 ${f(m.macro_f1)}  F1 ${f(m.f1)}  precision ${f(m.precision)}  recall ${f(m.recall)}  MCC ${f(m.mcc)}`,
    `  ROC-AUC ${f(m.roc_auc)}  PR-AUC ${f(m.pr_auc)}  TPR@FPR 1% ${f(m.tpr_at_fpr['0.01']!)}  TPR@FPR 0.1% ${f(m.tpr_at_fpr['0.001']!)}`,
    '  class                          precision recall  f1      support',
  ];
  for (const [c, r] of Object.entries(m.per_class)) {
    lines.push(`  ${c.padEnd(30).slice(0, 30)} ${f(r.precision)}    ${f(r.recall)}  ${f(r.f1)}  ${r.support}`);
  }
  lines.push(`  confusion (rows = true, columns = predicted): ${JSON.stringify(m.confusion)}`);
  return lines.join('\n');
}

export function parseFeatureSet(v: string): FeatureSet {
  if ((FEATURE_SETS as readonly string[]).includes(v)) return v as FeatureSet;
  throw new UserError(`--features: expected ${FEATURE_SETS.join(' or ')}, got '${v}'`);
}

/** Report input describing a model file: importance, threshold, the metrics it carries. */
export function modelForReport(file: ModelFile): {
  feature_importance: unknown;
  threshold: number;
  [k: string]: unknown;
} {
  return {
    feature_importance: file.feature_importance,
    threshold: file.threshold,
    metrics: file.metrics,
    algo: file.algo,
    features: file.features,
    training: { rows: file.training.rows, counts: file.training.counts },
  };
}

/** Write the HTML report (src/report) and say where; `--report` of train, evaluate and classify. */
export async function writeReportFile(input: Parameters<typeof writeReport>[0], file: string): Promise<void> {
  await writeReport(input, file);
  info(`report: ${file}`);
}

/** One line: the capture-weighted ranking numbers of a cross-validation. */
export function formatCaptureWeighted(c: GroupWeighted): string {
  const f = (v: number): string => (Number.isFinite(v) ? v.toFixed(4) : 'n/a');
  return `  capture-weighted (each input file's flows of a class weigh 1; ${c.groups.positive} malicious / ${c.groups.negative} benign file groups): ROC-AUC ${f(c.roc_auc)}  TPR@FPR 1% ${f(c.tpr_at_fpr['0.01']!)}  TPR@FPR 0.1% ${f(c.tpr_at_fpr['0.001']!)}`;
}

interface TrainCliOptions {
  output?: string;
  label: string[];
  labels?: string;
  multiclass?: boolean;
  algo: string;
  cv?: string;
  split: string;
  json?: string;
  targetFpr: string;
  seed: string;
  trees?: string;
  depth?: string;
  learningRate?: string;
  colsample?: string;
  minChildWeight?: string;
  balance: string;
  weightBy: string;
  features: string;
  report?: string;
  validFraction: string;
  dropUnlabelled?: boolean;
  quiet?: boolean;
}

export function fitOptionsFrom(o: {
  algo: string;
  split: string;
  targetFpr: string;
  seed: string;
  trees?: string;
  depth?: string;
  learningRate?: string;
  colsample?: string;
  minChildWeight?: string;
  balance: string;
  weightBy?: string;
  validFraction: string;
}): FitOptions {
  if (o.algo !== 'gbdt' && o.algo !== 'rf') throw new UserError(`--algo: expected gbdt or rf, got '${o.algo}'`);
  if (o.balance !== 'none' && o.balance !== 'weight' && o.balance !== 'undersample') {
    throw new UserError(`--balance: expected none, weight or undersample, got '${o.balance}'`);
  }
  const weightBy = o.weightBy ?? 'none';
  if (weightBy !== 'none' && weightBy !== 'capture') {
    throw new UserError(`--weight-by: expected none or capture, got '${weightBy}'`);
  }
  const seed = Number(o.seed);
  if (!Number.isInteger(seed) || seed < 0)
    throw new UserError(`--seed: expected a non-negative integer, got '${o.seed}'`);
  const fit: FitOptions = {
    ...DEFAULT_FIT,
    algo: o.algo,
    split: parseSplit(o.split),
    targetFpr: parseFraction('--target-fpr', o.targetFpr),
    seed,
    balance: o.balance as Balance,
    weightBy: weightBy as WeightBy,
    validFraction: parseFraction('--valid-fraction', o.validFraction),
    gbdt: {},
    rf: {},
  };
  if (o.trees !== undefined) {
    const n = parsePositiveInt('--trees', o.trees);
    fit.gbdt.nTrees = n;
    fit.rf.nTrees = n;
  }
  if (o.depth !== undefined) {
    const d = parsePositiveInt('--depth', o.depth);
    fit.gbdt.maxDepth = d;
    fit.rf.maxDepth = d;
  }
  if (o.learningRate !== undefined) fit.gbdt.learningRate = parsePositive('--learning-rate', o.learningRate);
  if (o.colsample !== undefined) {
    const c = parsePositive('--colsample', o.colsample);
    if (c > 1) throw new UserError(`--colsample: expected a fraction in (0, 1], got '${o.colsample}'`);
    fit.gbdt.colsample = c;
  }
  if (o.minChildWeight !== undefined) {
    const w = Number(o.minChildWeight);
    if (!Number.isFinite(w) || w < 0)
      throw new UserError(`--min-child-weight: expected a non-negative number, got '${o.minChildWeight}'`);
    fit.gbdt.minChildWeight = w;
  }
  return fit;
}

export function register(program: Command): void {
  program
    .command('train')
    .description(
      'Train a tree model on labelled flows (captures with --label/--labels, or flow tables with a Label column)',
    )
    .argument('[inputs...]', 'captures, directories, flow tables (.csv/.jsonl/.parquet), or - for stdin')
    .option('-o, --output <model.json>', 'write the model here')
    .option(
      '--label <class=path|glob>',
      'label every flow of matching captures/tables (repeatable), e.g. malicious=bad/*.pcap',
      collect,
      [],
    )
    .option('--labels <file>', 'labels file (CSV or JSON rules: label, file, address/CIDR, port, start, end)')
    .option('--multiclass', 'keep label names as classes (default: benign vs malicious)')
    .addOption(new Option('--algo <algo>', 'gbdt (histogram gradient boosting) or rf (random forest)').default('gbdt'))
    .option('--cv <K>', 'K-fold cross-validation: print and (--json) write metrics')
    .addOption(
      new Option('--split <kind>', 'capture | time | stratified (capture falls back to time with one input)').default(
        'capture',
      ),
    )
    .option('--json <file>', 'write cross-validation metrics as JSON')
    .option('--target-fpr <rate>', 'choose the threshold for this false-positive rate on validation data', '0.01')
    .option('--seed <n>', 'random seed', '1')
    .option('--trees <n>', 'trees (GBDT: maximum boosting rounds; default 200 / RF 100)')
    .option('--depth <n>', 'maximum tree depth (default GBDT 6, RF unlimited)')
    .option('--learning-rate <eta>', 'GBDT shrinkage (default 0.1)')
    .option('--colsample <f>', 'GBDT: fraction of features each tree may use (default 1)')
    .option('--min-child-weight <w>', 'GBDT: minimum hessian sum in a leaf (default 1)')
    .option('--balance <how>', 'class imbalance: none | weight | undersample', 'none')
    .option('--weight-by <how>', 'none | capture (every capture weighs the same within its class)', 'none')
    .option(
      '--features <set>',
      'all (every numeric column) | behaviour (no payload bytes, capture context, dst_port; see models/README.md)',
      'all',
    )
    .option('--valid-fraction <f>', 'hold-out for early stopping and the threshold', '0.2')
    .option('--drop-unlabelled', 'skip flows no rule or Label column labels (default: error)')
    .option('--report <file.html>', 'also write an HTML report (model quality, feature importance)')
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      `
Examples:
  $ flowsieve train --label malicious='bad/*.pcap' --label benign='good/*.pcap' -o model.json
  $ flowsieve train ../shared/datasets/cicids2017-improved-sample --split stratified --cv 5 --json cv.json -o model.json
  $ flowsieve train ../shared/pcaps --labels labels.csv --drop-unlabelled --features behaviour --weight-by capture \\
      --balance weight --cv 5 -o model.json --report train.html`,
    )
    .action(async (inputs: string[], o: TrainCliOptions) => {
      const fit = fitOptionsFrom(o);
      const featureSet = parseFeatureSet(o.features);
      if (inputs.length === 0 && o.label.length === 0 && !o.labels)
        throw new UserError('train: no inputs (give captures or flow tables)');
      if (!o.output && !o.cv) throw new UserError('train: give -o model.json and/or --cv K');
      const k = o.cv ? parsePositiveInt('--cv', o.cv) : undefined;
      const quiet = o.quiet === true;
      const extractBar = progressBar('extracting', quiet, 'captures');
      const cvBar = progressBar('cross-validating', quiet, 'rounds');
      const fitBar = progressBar('training', quiet, 'rounds');
      let result: Awaited<ReturnType<typeof train>>;
      try {
        result = await train({
          inputs,
          labels: labelPairs(o.label),
          labelsFile: o.labels,
          multiclass: o.multiclass === true,
          features: featureSet,
          dropUnlabelled: o.dropUnlabelled === true,
          fit,
          cv: k,
          fitModel: o.output !== undefined,
          output: o.output,
          onDataset: (d) => {
            extractBar.stop();
            info(
              `training on ${d.rows} flows × ${d.features} features from ${d.inputs} input(s), dialect ${d.dialect}; classes ${JSON.stringify(d.counts)}`,
            );
          },
          onProgress: (p) => {
            if (p.stage === 'extract') extractBar.update(p.done, p.total);
            else if (p.stage === 'cross-validate') {
              // Early stopping ends a fold before its planned rounds: the bar counts planned rounds of all folds.
              cvBar.update((p.fold - 1) * p.rounds + p.round, p.folds * p.rounds, {
                detail: ` (fold ${p.fold}/${p.folds})`,
              });
            } else {
              cvBar.stop();
              fitBar.update(p.round, p.rounds);
            }
          },
        });
      } catch (e) {
        asUserError(e);
      } finally {
        extractBar.stop();
        cvBar.stop();
        fitBar.stop();
      }
      const { cv, model: file, fit: r } = result;
      if (cv) {
        process.stdout.write(
          `${formatMetrics(cv.metrics, `${cv.k}-fold cross-validation (split: ${cv.split}, ${fit.algo})`)}\n${formatCaptureWeighted(cv.captureWeighted)}\n`,
        );
        if (o.json) {
          writeFileSync(
            o.json,
            `${JSON.stringify({ ...cv.metrics, capture_weighted: cv.captureWeighted, split: cv.split, k: cv.k, algo: fit.algo, folds: cv.folds.map((f) => ({ macro_f1: f.metrics.macro_f1, f1: f.metrics.f1, roc_auc: f.metrics.roc_auc, threshold: f.threshold, rounds: f.rounds, train_seconds: f.trainSeconds })) }, null, 2)}\n`,
          );
        }
      } else if (o.json) warn('--json writes cross-validation metrics; add --cv K');
      if (o.output && file && r) {
        info(
          `model: ${o.output} (${fit.algo}, ${r.forest.trees.length} trees, threshold ${r.threshold.toFixed(4)} for FPR ≤ ${fit.targetFpr} on the ${r.validSplit} hold-out)`,
        );
        if (r.validMetrics && !cv)
          process.stdout.write(`${formatMetrics(r.validMetrics, `validation hold-out (${r.validSplit})`)}\n`);
        if (o.report) {
          await writeReportFile(
            {
              title: `flowsieve train: ${path.basename(o.output)}`,
              sources: result.sources.slice(0, 50),
              model: modelForReport(file),
              ...(cv ? { evaluation: { ...cv.metrics, feature_importance: file.feature_importance } } : {}),
            },
            o.report,
          );
        }
      } else if (o.report && cv) {
        await writeReportFile(
          {
            title: 'flowsieve train: cross-validation',
            sources: result.sources.slice(0, 50),
            evaluation: { ...cv.metrics },
          },
          o.report,
        );
      }
    });
}

/** `--label class=glob` options as train()'s ordered (class, glob) pairs (rule order decides overlaps). */
function labelPairs(specs: string[]): [string, string][] {
  return specs.map((spec) => {
    const eq = spec.indexOf('=');
    // A malformed spec is passed on whole so train() reports it with the usual message.
    return eq > 0 ? [spec.slice(0, eq), spec.slice(eq + 1)] : [spec, ''];
  });
}
