/**
 * `flowsieve evaluate` — how good is a model really: score labelled flows with `--model`, or cross-validate
 * (`--cv K`, honest `--split` by default) when no model is given. Prints and (`--json`) writes precision, recall,
 * F1 per class and macro, ROC-AUC, PR-AUC, MCC, the confusion matrix and TPR at 1 % / 0.1 % FPR.
 */
import { writeFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { CompiledForest } from '../ml/compile.ts';
import { buildDataset, type Dataset } from '../ml/dataset.ts';
import { binaryLabel, Labeler, MALICIOUS } from '../ml/labels.ts';
import { evaluate, type Metrics } from '../ml/metrics.ts';
import { loadModel, type Model } from '../ml/model.ts';
import { crossValidate } from '../ml/train.ts';
import { isSchemaTextColumn, mapFeatures } from '../tables.ts';
import { packagePath } from '../util/package.ts';
import { info, parsePositiveInt, progressBar, UserError } from './common.ts';
import {
  asUserError,
  fitOptionsFrom,
  formatCaptureWeighted,
  formatMetrics,
  labelRules,
  loadTables,
  modelForReport,
  parseFeatureSet,
  writeReportFile,
} from './train.ts';

export const DEFAULT_MODEL_PATH = packagePath('models', 'default.json');

export function loadModelOrFail(file: string | undefined): Model {
  try {
    return loadModel(file ?? DEFAULT_MODEL_PATH);
  } catch (e) {
    asUserError(e);
  }
}

interface EvaluateCliOptions {
  model?: string;
  json?: string;
  split: string;
  cv?: string;
  label: string[];
  labels?: string;
  multiclass?: boolean;
  algo: string;
  seed: string;
  targetFpr: string;
  balance: string;
  weightBy: string;
  features: string;
  report?: string;
  validFraction: string;
  dropUnlabelled?: boolean;
  quiet?: boolean;
}

/** Map a dataset's classes onto a model's: by name (multiclass model) or benign/malicious. */
function yForModel(ds: Dataset, model: Model): Int32Array {
  const classes = model.file.classes;
  const y = new Int32Array(ds.nRows);
  const idx = new Map(classes.map((c, i) => [c, i]));
  for (let r = 0; r < ds.nRows; r++) {
    const raw = ds.rawLabels[r]!;
    const bin = binaryLabel(raw);
    if (classes.length === 2) y[r] = bin === MALICIOUS ? 1 : 0;
    else y[r] = idx.get(raw) ?? (bin === MALICIOUS ? -1 : 0);
  }
  return y;
}

export function register(program: Command): void {
  program
    .command('evaluate')
    .description('Measure a model on labelled flows (--model), or cross-validate a new one (--cv K)')
    .argument('[inputs...]', 'labelled captures or flow tables, or - for stdin')
    .option('--model <model.json>', 'model to evaluate (default: cross-validate with --cv)')
    .option('--json <file>', 'write metrics as JSON')
    .addOption(new Option('--split <kind>', 'capture | time | stratified (for --cv)').default('capture'))
    .option('--cv <K>', 'cross-validate K folds (default 5 when no --model)')
    .option(
      '--label <class=path|glob>',
      'label every flow of matching inputs (repeatable)',
      (v: string, p: string[]) => [...p, v],
      [],
    )
    .option('--labels <file>', 'labels file (CSV or JSON rules)')
    .option('--multiclass', 'cross-validate with label names as classes')
    .option('--algo <algo>', 'for --cv: gbdt or rf', 'gbdt')
    .option('--seed <n>', 'random seed', '1')
    .option('--target-fpr <rate>', 'for --cv: threshold chosen for this FPR', '0.01')
    .option('--balance <how>', 'for --cv: none | weight | undersample', 'none')
    .option('--weight-by <how>', 'for --cv: none | capture', 'none')
    .option('--features <set>', 'for --cv: all | behaviour (see train --help)', 'all')
    .option('--report <file.html>', 'also write an HTML report (metrics, curves, feature importance)')
    .option('--valid-fraction <f>', 'for --cv: hold-out inside each training fold', '0.2')
    .option('--drop-unlabelled', 'skip flows without a label')
    .option('-q, --quiet', 'no progress output')
    .action(async (inputs: string[], o: EvaluateCliOptions) => {
      const { rules, extraInputs } = labelRules(o.label, o.labels);
      const all = [...inputs];
      for (const e of extraInputs) if (!all.includes(e)) all.push(e);
      if (all.length === 0) throw new UserError('evaluate: no inputs');
      const model = o.model ? loadModelOrFail(o.model) : null;
      const featureSet = parseFeatureSet(o.features);
      let tables = await loadTables(all, o.quiet === true);
      let metrics: Metrics;
      let extra: Record<string, unknown> = {};
      let ds: Dataset;
      try {
        if (model) tables = tables.map((t) => mapFeatures(t, model.file.features));
        ds = buildDataset(tables, {
          multiclass: o.multiclass === true,
          labeler: new Labeler(rules),
          dropUnlabelled: o.dropUnlabelled === true,
          featureSet,
          excludeFeature: isSchemaTextColumn,
          ...(model ? { featureNames: model.file.features } : {}),
        });
      } catch (e) {
        asUserError(e);
      }
      if (model) {
        const y = yForModel(ds, model);
        const keep: number[] = [];
        for (let r = 0; r < ds.nRows; r++) if (y[r]! >= 0) keep.push(r);
        if (keep.length < ds.nRows)
          info(`${ds.nRows - keep.length} flows have labels the model does not know; they are left out`);
        const cf = new CompiledForest(model.forest);
        const proba = cf.proba(ds.x, ds.nRows);
        const K = model.file.classes.length;
        const p = new Float64Array(keep.length * K);
        keep.forEach((r, i) => {
          for (let k = 0; k < K; k++) p[i * K + k] = proba[r * K + k]!;
        });
        metrics = evaluate(
          Int32Array.from(keep, (r) => y[r]!),
          p,
          model.file.classes,
          model.file.threshold,
        );
        process.stdout.write(`${formatMetrics(metrics, `model ${o.model} on ${keep.length} flows`)}\n`);
        extra = { model: o.model, split: 'none' };
      } else {
        const k = o.cv ? parsePositiveInt('--cv', o.cv) : 5;
        const fit = fitOptionsFrom({ ...o, trees: undefined, depth: undefined, learningRate: undefined });
        let cv: ReturnType<typeof crossValidate>;
        // Early stopping ends a fold before its planned rounds: the bar counts planned rounds of all folds.
        const bar = progressBar('cross-validating', o.quiet === true, 'rounds');
        let fold = 0;
        const onRound = (round: number, rounds: number) =>
          bar.update(fold * rounds + round, k * rounds, { detail: ` (fold ${fold + 1}/${k})` });
        try {
          cv = crossValidate(ds, k, { ...fit, onRound }, (done) => {
            fold = done;
          });
        } catch (e) {
          asUserError(e);
        } finally {
          bar.stop();
        }
        metrics = cv.metrics;
        process.stdout.write(
          `${formatMetrics(metrics, `${k}-fold cross-validation (split: ${cv.split}, ${fit.algo})`)}\n${formatCaptureWeighted(cv.captureWeighted)}\n`,
        );
        extra = { capture_weighted: cv.captureWeighted, split: cv.split, k, algo: fit.algo };
      }
      if (o.json) writeFileSync(o.json, `${JSON.stringify({ ...metrics, ...extra }, null, 2)}\n`);
      if (o.report) {
        await writeReportFile(
          {
            title: model ? `flowsieve evaluate: ${o.model}` : 'flowsieve evaluate: cross-validation',
            sources: tables.map((t) => t.source).slice(0, 50),
            evaluation: { ...metrics, ...extra },
            ...(model ? { model: modelForReport(model.file) } : {}),
          },
          o.report,
        );
      }
    });
}
