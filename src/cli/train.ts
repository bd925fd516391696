/**
 * `flowsieve train` — learn a tree model from labelled flows — and the input handling shared with `evaluate` and
 * `classify`: flow tables (our CSV/JSONL/Parquet, CICFlowMeter CSVs) and captures (extracted with the same
 * pipeline as `flowsieve extract`, one table per capture so splits can keep a capture on one side).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Command, Option } from 'commander';
import { extract, flowColumns } from '../api.ts';
import { listInputs } from '../capture/index.ts';
import { flatName, getColumn } from '../features/meter.ts';
import { buildDataset, type Dataset, detectDialect } from '../ml/dataset.ts';
import { DERIVED_COLUMNS, FEATURE_SETS, type FeatureSet, withDerivedColumns } from '../ml/features.ts';
import { expandGlob, Labeler, type LabelRule, parseLabelOption, readLabelsFile } from '../ml/labels.ts';
import type { GroupWeighted, Metrics } from '../ml/metrics.ts';
import { type ModelFile, modelToJson, saveModel } from '../ml/model.ts';
import type { SplitKind } from '../ml/split.ts';
import { InputError, parseTableBytes, type RawTable, readTableFile, sniffFormat, tableFormatOf } from '../ml/table.ts';
import { type Balance, crossValidate, DEFAULT_FIT, type FitOptions, fitModel, type WeightBy } from '../ml/train.ts';
import { CIC2017_SOURCE } from '../output/cic2017.ts';
import { writeReport } from '../report/index.ts';
import { info, parsePositiveInt, progressBar, UserError, warn } from './common.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
export const GENERATOR = `flowsieve ${pkg.version}`;

/** Turn src/ml input errors into one-line user errors (exit 2). */
export function asUserError(e: unknown): never {
  if (e instanceof InputError) throw new UserError(e.message);
  throw e;
}

function hashFile(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/**
 * Extract one capture into a flow table with the full default-dialect schema (flatName of every column): a
 * group absent from every flow of this capture (no TLS at all) still yields its columns, empty, so tables from
 * different captures share one feature list.
 */
async function captureTable(file: string): Promise<RawTable> {
  const columns = flowColumns();
  const names = columns.map(flatName);
  const cells: (string | null)[][] = names.map(() => []);
  let nRows = 0;
  await extract({
    inputs: [file],
    onFlow: (row) => {
      columns.forEach((c, i) => {
        const v = getColumn(row, c);
        cells[i]!.push(
          v === undefined || v === null
            ? null
            : typeof v === 'boolean'
              ? v
                ? '1'
                : '0'
              : typeof v === 'object'
                ? JSON.stringify(v)
                : String(v),
        );
      });
      nRows++;
    },
  });
  return { names, cells, nRows, source: file, droppedDuplicates: [], sha256: file === '-' ? '' : hashFile(file) };
}

/** Pcap/pcapng/gzip/zstd magic at the start of a buffer. */
function isCaptureBytes(b: Uint8Array): boolean {
  if (b.length < 4) return false;
  const m = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  return (
    m === 0xa1b2c3d4 ||
    m === 0xd4c3b2a1 ||
    m === 0xa1b23c4d ||
    m === 0x4d3cb2a1 ||
    m === 0x0a0d0d0a ||
    (b[0] === 0x1f && b[1] === 0x8b) ||
    m === 0x28b52ffd
  );
}

async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Expand inputs (files, directories, globs, `-`) into tables; captures are extracted. */
export async function loadTables(inputs: string[], quiet: boolean): Promise<RawTable[]> {
  const tables: RawTable[] = [];
  const captures: string[] = [];
  for (const raw of inputs) {
    if (raw === '-') {
      const bytes = await readStdin();
      if (isCaptureBytes(bytes)) {
        // The pipeline reads captures from files; a stdin capture is spooled to a private temp file.
        const dir = mkdtempSync(path.join(tmpdir(), 'flowsieve-'));
        const f = path.join(dir, 'stdin.pcap');
        try {
          writeFileSync(f, bytes);
          const t = await captureTable(f);
          t.source = '-';
          tables.push(t);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      } else {
        tables.push(await parseTableBytes(bytes, sniffFormat(bytes), '-').catch(asUserError));
      }
      continue;
    }
    for (const p of expandGlob(raw)) {
      let st: ReturnType<typeof statSync>;
      try {
        st = statSync(p);
      } catch {
        throw new UserError(`${p}: no such file or directory`);
      }
      if (st.isDirectory()) {
        // A directory of captures is read as captures (JSON/CSV beside them are reference outputs, not flows);
        // a directory without captures is read as flow tables.
        const caps = await listInputs([p]);
        if (caps.length > 0) captures.push(...caps);
        else for (const f of walkTables(p)) tables.push(await readTableFile(f).catch(asUserError));
      } else if (tableFormatOf(p) !== null) {
        tables.push(await readTableFile(p).catch(asUserError));
      } else captures.push(p);
    }
  }
  const bar = progressBar('extracting', quiet, 'folds');
  let i = 0;
  for (const c of captures) {
    bar.update(i++, captures.length);
    tables.push(await captureTable(c));
  }
  bar.stop();
  if (tables.length === 0) throw new UserError('no input flows (give captures, flow tables, or - for stdin)');
  // Numeric forms of text/list columns (SNI present, DNS name shape, first SPLT lengths): src/ml/features.ts.
  return tables.map(withDerivedColumns);
}

function walkTables(dir: string): string[] {
  const out: string[] = [];
  const names = readdirSync(dir).sort();
  for (const n of names) {
    const full = path.join(dir, n);
    const st = statSync(full);
    if (st.isDirectory()) out.push(...walkTables(full));
    else if (tableFormatOf(full) !== null && !/readme|header_reference/i.test(n)) out.push(full);
  }
  return out;
}

/**
 * Make a table offer a model's feature names:
 *  - a model trained on CIC-IDS2017 columns applied to flowsieve's default output gets each CIC column as an
 *    alias of its flowsieve source column (src/output/cic2017.ts);
 *  - a flowsieve-dialect table lacking some flowsieve columns (JSON Lines omit a group no flow has, e.g. `ssh_*`
 *    in a capture without SSH) gets them as empty (missing) columns — absent there means "not observed".
 * Anything else still missing is reported by featureMatrix/buildDataset, naming the columns.
 */
export function mapFeatures(t: RawTable, features: readonly string[]): RawTable {
  const have = new Set(t.names);
  if (features.every((f) => have.has(f))) return t;
  const names = [...t.names];
  const cells = [...t.cells];
  const schema =
    detectDialect(t.names) === 'flowsieve' ? new Set([...flowColumns().map(flatName), ...DERIVED_COLUMNS]) : null;
  for (const f of features) {
    if (have.has(f)) continue;
    const src = CIC2017_SOURCE.get(f);
    const i = src === undefined ? -1 : t.names.indexOf(src);
    if (i >= 0) {
      names.push(f);
      cells.push(t.cells[i]!);
    } else if (schema?.has(f)) {
      names.push(f);
      cells.push(new Array<string | null>(t.nRows).fill(null));
    }
  }
  return { ...t, names, cells };
}

/** Label rules from --label and --labels; capture-level globs also become inputs. */
export function labelRules(
  labelOpts: string[],
  labelsFile: string | undefined,
): { rules: LabelRule[]; extraInputs: string[] } {
  const rules: LabelRule[] = [];
  const extraInputs: string[] = [];
  try {
    for (const spec of labelOpts) {
      const r = parseLabelOption(spec);
      rules.push(r);
      extraInputs.push(r.file!);
    }
    if (labelsFile) rules.push(...readLabelsFile(labelsFile));
  } catch (e) {
    asUserError(e);
  }
  return { rules, extraInputs };
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

/**
 * Columns flowsieve's schema types as text or lists: never features, even when some of their values look like
 * numbers (`tls_cipher` "0035" would parse as 35 while "c02f" is missing). features.ts derives numeric forms.
 */
let textColumns: Set<string> | null = null;
export function isSchemaTextColumn(name: string): boolean {
  textColumns ??= new Set(
    flowColumns()
      .filter((c) => c.type !== 'int' && c.type !== 'float' && c.type !== 'bool')
      .map(flatName),
  );
  return textColumns.has(name);
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

function countsOf(ds: Dataset): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const l of ds.rawLabels) counts[l] = (counts[l] ?? 0) + 1;
  return counts;
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
      const { rules, extraInputs } = labelRules(o.label, o.labels);
      const all = [...inputs];
      for (const e of extraInputs) if (!all.includes(e)) all.push(e);
      if (all.length === 0) throw new UserError('train: no inputs (give captures or flow tables)');
      if (!o.output && !o.cv) throw new UserError('train: give -o model.json and/or --cv K');
      const tables = await loadTables(all, o.quiet === true);
      let ds: Dataset;
      try {
        ds = buildDataset(tables, {
          multiclass: o.multiclass === true,
          labeler: new Labeler(rules),
          dropUnlabelled: o.dropUnlabelled === true,
          featureSet,
          excludeFeature: isSchemaTextColumn,
        });
      } catch (e) {
        asUserError(e);
      }
      if (new Set(ds.y).size < 2)
        throw new UserError(`train: need flows of at least two classes (got only ${ds.classes[ds.y[0]!]})`);
      info(
        `training on ${ds.nRows} flows × ${ds.featureNames.length} features from ${tables.length} input(s), dialect ${ds.dialect}; classes ${JSON.stringify(countsOf(ds))}`,
      );
      let cvMetrics: Metrics | null = null;
      if (o.cv) {
        const k = parsePositiveInt('--cv', o.cv);
        const bar = progressBar('cross-validating', o.quiet === true, 'folds');
        let cv: ReturnType<typeof crossValidate>;
        try {
          cv = crossValidate(ds, k, fit, (d, t) => bar.update(d, t));
        } catch (e) {
          bar.stop();
          asUserError(e);
        }
        bar.stop();
        cvMetrics = cv.metrics;
        process.stdout.write(
          `${formatMetrics(cv.metrics, `${k}-fold cross-validation (split: ${cv.split}, ${fit.algo})`)}\n${formatCaptureWeighted(cv.captureWeighted)}\n`,
        );
        if (o.json) {
          writeFileSync(
            o.json,
            `${JSON.stringify({ ...cv.metrics, capture_weighted: cv.captureWeighted, split: cv.split, k, algo: fit.algo, folds: cv.folds.map((f) => ({ macro_f1: f.metrics.macro_f1, f1: f.metrics.f1, roc_auc: f.metrics.roc_auc, threshold: f.threshold, rounds: f.rounds, train_seconds: f.trainSeconds })) }, null, 2)}\n`,
          );
        }
      } else if (o.json) warn('--json writes cross-validation metrics; add --cv K');
      if (o.output) {
        const all = Uint32Array.from({ length: ds.nRows }, (_, i) => i);
        let r: ReturnType<typeof fitModel>;
        try {
          r = fitModel(ds, all, fit);
        } catch (e) {
          asUserError(e);
        }
        const params: Record<string, string | number | boolean | null> = {
          algo: fit.algo,
          balance: fit.balance,
          weight_by: fit.weightBy,
          feature_set: featureSet,
          seed: fit.seed,
          valid_fraction: fit.validFraction,
          multiclass: o.multiclass === true,
        };
        for (const [k2, v] of Object.entries(fit.algo === 'gbdt' ? fit.gbdt : fit.rf)) params[k2] = v as number;
        const file = modelToJson(r.forest, {
          classes: ds.classes,
          features: ds.featureNames,
          dialect: ds.dialect,
          threshold: r.threshold,
          targetFpr: fit.targetFpr,
          params,
          training: { rows: ds.nRows, counts: countsOf(ds), files: ds.files, split: r.validSplit, rounds: r.rounds },
          metrics: cvMetrics ?? r.validMetrics,
          generator: GENERATOR,
        });
        saveModel(o.output, file);
        info(
          `model: ${o.output} (${fit.algo}, ${r.forest.trees.length} trees, threshold ${r.threshold.toFixed(4)} for FPR ≤ ${fit.targetFpr} on the ${r.validSplit} hold-out)`,
        );
        if (r.validMetrics && !cvMetrics)
          process.stdout.write(`${formatMetrics(r.validMetrics, `validation hold-out (${r.validSplit})`)}\n`);
        if (o.report) {
          await writeReportFile(
            {
              title: `flowsieve train: ${path.basename(o.output)}`,
              sources: tables.map((t) => t.source).slice(0, 50),
              model: modelForReport(file),
              ...(cvMetrics ? { evaluation: { ...cvMetrics, feature_importance: file.feature_importance } } : {}),
            },
            o.report,
          );
        }
      } else if (o.report && cvMetrics) {
        await writeReportFile(
          {
            title: 'flowsieve train: cross-validation',
            sources: tables.map((t) => t.source).slice(0, 50),
            evaluation: { ...cvMetrics },
          },
          o.report,
        );
      }
    });
}
