/**
 * Training as a library call — `train()` — and the input handling it shares with `flowsieve train`, `evaluate`
 * and `classify`: flow tables (our CSV/JSONL/Parquet, CICFlowMeter CSVs) and captures (extracted with the same
 * pipeline as `flowsieve extract`, one table per capture so splits can keep a capture on one side).
 *
 *   import { train } from 'flowsieve';
 *   const { model, cv } = await train({
 *     labels: { malicious: 'bad/*.pcap', benign: 'good/*.pcap' },
 *     cv: 5,
 *     output: 'model.json',
 *   });
 *
 * Problems with the inputs throw InputError (src/ml/table.ts) with a one-line message; the CLI turns them into
 * exit code 2.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { extract } from './api.ts';
import { listInputs } from './capture/index.ts';
import { flatName, getColumn } from './features/meter.ts';
import { buildDataset, type Dataset } from './ml/dataset.ts';
import { type FeatureSet, withDerivedColumns } from './ml/features.ts';
import { expandGlob, Labeler, type LabelRule, parseLabelOption, readLabelsFile } from './ml/labels.ts';
import type { Metrics } from './ml/metrics.ts';
import { type ModelFile, modelToJson, saveModel } from './ml/model.ts';
import { InputError, parseTableBytes, type RawTable, readTableFile, sniffFormat, tableFormatOf } from './ml/table.ts';
import { type CvResult, crossValidate, DEFAULT_FIT, type FitOptions, type FitResult, fitModel } from './ml/train.ts';
import { cellText, flowColumns, isSchemaTextColumn } from './tables.ts';
import { PACKAGE_VERSION } from './util/package.ts';

export const GENERATOR = `flowsieve ${PACKAGE_VERSION}`;

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
      for (let i = 0; i < columns.length; i++) cells[i]!.push(cellText(getColumn(row, columns[i]!)));
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

/**
 * The first bytes on stdin, pushed back (Readable.unshift) so the capture reader still sees the whole stream: a
 * live capture piped in is read as it arrives instead of being spooled to its end.
 */
async function peekStdin(n: number): Promise<Uint8Array> {
  const s = process.stdin;
  const parts: Buffer[] = [];
  let have = 0;
  while (have < n) {
    const chunk = await new Promise<Buffer | null>((resolve, reject) => {
      const tryRead = () => {
        const c = s.read() as Buffer | null;
        if (c === null) return;
        cleanup();
        resolve(c);
      };
      const onEnd = () => {
        cleanup();
        resolve(null);
      };
      const onError = (e: Error) => {
        cleanup();
        reject(e);
      };
      const cleanup = () => {
        s.off('readable', tryRead);
        s.off('end', onEnd);
        s.off('error', onError);
      };
      s.on('readable', tryRead);
      s.on('end', onEnd);
      s.on('error', onError);
      if (s.readableEnded) onEnd();
    });
    if (chunk === null) break;
    parts.push(chunk);
    have += chunk.length;
  }
  const head = Buffer.concat(parts);
  if (head.length > 0) s.unshift(head);
  return head;
}

async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** An input resolved: a capture to extract (path or '-'), or a flow table already read. */
export type InputItem = { capture: string } | { table: RawTable };

/**
 * Expand inputs (files, directories, globs, `-`) into captures and flow tables, in the order given; tables are read
 * (with their derived columns), captures only listed. A directory of captures is read as captures (JSON/CSV beside
 * them are reference outputs, not flows); a directory without captures is read as flow tables.
 */
export async function resolveInputs(inputs: readonly string[]): Promise<InputItem[]> {
  const items: InputItem[] = [];
  for (const raw of inputs) {
    if (raw === '-') {
      if (isCaptureBytes(await peekStdin(4))) items.push({ capture: '-' });
      else {
        const bytes = await readStdin();
        items.push({ table: withDerivedColumns(await parseTableBytes(bytes, sniffFormat(bytes), '-')) });
      }
      continue;
    }
    for (const p of expandGlob(raw)) {
      let st: ReturnType<typeof statSync>;
      try {
        st = statSync(p);
      } catch {
        throw new InputError('input_missing', `${p}: no such file or directory`);
      }
      if (st.isDirectory()) {
        const caps = await listInputs([p]);
        if (caps.length > 0) for (const c of caps) items.push({ capture: c });
        else for (const f of walkTables(p)) items.push({ table: withDerivedColumns(await readTableFile(f)) });
      } else if (tableFormatOf(p) !== null) {
        items.push({ table: withDerivedColumns(await readTableFile(p)) });
      } else items.push({ capture: p });
    }
  }
  if (items.length === 0)
    throw new InputError('no_input', 'no input flows (give captures, flow tables, or - for stdin)');
  return items;
}

/**
 * Expand inputs into flow tables: tables as read, then each capture extracted into one table (reporting
 * `onCapture(done, total)`), with the derived columns of src/ml/features.ts (SNI present, DNS name shape, first
 * SPLT lengths).
 */
export async function loadTables(
  inputs: string[],
  onCapture?: (done: number, total: number) => void,
): Promise<RawTable[]> {
  const items = await resolveInputs(inputs);
  const tables: RawTable[] = [];
  const captures: string[] = [];
  for (const it of items) {
    if ('table' in it) tables.push(it.table);
    else captures.push(it.capture);
  }
  let done = 0;
  for (const c of captures) {
    onCapture?.(done, captures.length);
    tables.push(withDerivedColumns(await captureTable(c)));
    done++;
  }
  if (captures.length > 0) onCapture?.(done, captures.length);
  return tables;
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

/** Label rules from `class=<path|glob>` specs and a labels file; capture-level globs also become inputs. */
export function labelRules(
  labelSpecs: readonly string[],
  labelsFile: string | undefined,
): { rules: LabelRule[]; extraInputs: string[] } {
  const rules: LabelRule[] = [];
  const extraInputs: string[] = [];
  for (const spec of labelSpecs) {
    const r = parseLabelOption(spec);
    rules.push(r);
    extraInputs.push(r.file!);
  }
  if (labelsFile) rules.push(...readLabelsFile(labelsFile));
  return { rules, extraInputs };
}

export function labelCounts(ds: Dataset): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const l of ds.rawLabels) counts[l] = (counts[l] ?? 0) + 1;
  return counts;
}

/** Where a training run is; `done` of `total` in the unit of the stage. */
export type TrainProgress =
  | { stage: 'extract'; done: number; total: number }
  | { stage: 'cross-validate'; fold: number; folds: number; round: number; rounds: number }
  | { stage: 'fit'; round: number; rounds: number };

export interface TrainRequest {
  /** Captures, directories, flow tables (.csv/.jsonl/.parquet, CICFlowMeter CSVs with a Label column), or '-'. */
  inputs?: string[];
  /**
   * Capture-level labels, class → path or glob (several allowed): every flow of a matching capture or table gets
   * the class; matching files are inputs too. `{ malicious: 'bad/*.pcap' }` is `--label malicious=bad/*.pcap`.
   * As (class, glob) pairs when order matters: the first matching rule labels a flow.
   */
  labels?: Record<string, string | readonly string[]> | ReadonlyArray<readonly [string, string]>;
  /** Labels file (CSV or JSON rules: label, file, address/CIDR, port, start, end) — `--labels`. */
  labelsFile?: string;
  /** Keep label names as classes (default: benign vs malicious). */
  multiclass?: boolean;
  /** Feature set (src/ml/features.ts): 'all' (default) or 'behaviour'. */
  features?: FeatureSet;
  /** Skip flows no rule or Label column labels (default: an error). */
  dropUnlabelled?: boolean;
  /** Algorithm, split, balance, weighting, seed, target FPR, GBDT/RF parameters; defaults as the CLI's. */
  fit?: Partial<Omit<FitOptions, 'onRound'>>;
  /** K-fold cross-validation before the final fit (the metrics land in `cv` and in the model file). */
  cv?: number;
  /** false: only cross-validate (needs `cv`), no final model. Default true. */
  fitModel?: boolean;
  /** Write the model file here (JSON, src/ml/model.ts schema). */
  output?: string;
  onProgress?: (p: TrainProgress) => void;
  /** Called once the inputs are read, before any training: rows, features, classes. */
  onDataset?: (summary: DatasetSummary) => void;
}

export interface DatasetSummary {
  rows: number;
  features: number;
  inputs: number;
  dialect: string;
  counts: Record<string, number>;
}

export interface TrainResult {
  /** The model file's content (also written to `output` when given); null when `fitModel` is false. */
  model: ModelFile | null;
  /** The final fit: its validation hold-out metrics and threshold; null when `fitModel` is false. */
  fit: FitResult | null;
  cv: CvResult | null;
  dataset: DatasetSummary;
  /** Input tables (file paths or '-'), in the order read. */
  sources: string[];
}

/** Train (and optionally cross-validate) a model: the computation `flowsieve train` does. */
export async function train(req: TrainRequest): Promise<TrainResult> {
  const fit: FitOptions = { ...DEFAULT_FIT, ...req.fit, gbdt: { ...req.fit?.gbdt }, rf: { ...req.fit?.rf } };
  const specs: string[] = [];
  const pairs = Array.isArray(req.labels) ? req.labels : Object.entries(req.labels ?? {});
  for (const [label, paths] of pairs as [string, string | readonly string[]][]) {
    for (const p of typeof paths === 'string' ? [paths] : paths) specs.push(`${label}=${p}`);
  }
  const { rules, extraInputs } = labelRules(specs, req.labelsFile);
  const inputs = [...(req.inputs ?? [])];
  for (const e of extraInputs) if (!inputs.includes(e)) inputs.push(e);
  if (inputs.length === 0) throw new InputError('no_input', 'train: no inputs (give captures or flow tables)');
  const fitFinal = req.fitModel ?? true;
  if (!fitFinal && !req.cv) throw new InputError('nothing_to_do', 'train: nothing to do (no final fit and no cv)');
  const progress = req.onProgress;
  const tables = await loadTables(inputs, progress && ((done, total) => progress({ stage: 'extract', done, total })));
  const featureSet = req.features ?? 'all';
  const ds = buildDataset(tables, {
    multiclass: req.multiclass === true,
    labeler: new Labeler(rules),
    dropUnlabelled: req.dropUnlabelled === true,
    featureSet,
    excludeFeature: isSchemaTextColumn,
  });
  if (new Set(ds.y).size < 2) {
    throw new InputError(
      'one_class',
      `train: need flows of at least two classes (got only ${ds.classes[ds.y[0] ?? 0] ?? 'none'})`,
    );
  }
  const dataset: DatasetSummary = {
    rows: ds.nRows,
    features: ds.featureNames.length,
    inputs: tables.length,
    dialect: ds.dialect,
    counts: labelCounts(ds),
  };
  req.onDataset?.(dataset);
  let cv: CvResult | null = null;
  if (req.cv) {
    let fold = 0;
    const folds = req.cv;
    cv = crossValidate(
      ds,
      folds,
      {
        ...fit,
        onRound:
          progress && ((round, rounds) => progress({ stage: 'cross-validate', fold: fold + 1, folds, round, rounds })),
      },
      (done) => {
        fold = done;
      },
    );
  }
  let result: FitResult | null = null;
  let model: ModelFile | null = null;
  if (fitFinal) {
    const all = Uint32Array.from({ length: ds.nRows }, (_, i) => i);
    result = fitModel(ds, all, {
      ...fit,
      onRound: progress && ((round, rounds) => progress({ stage: 'fit', round, rounds })),
    });
    const params: Record<string, string | number | boolean | null> = {
      algo: fit.algo,
      balance: fit.balance,
      weight_by: fit.weightBy,
      feature_set: featureSet,
      seed: fit.seed,
      valid_fraction: fit.validFraction,
      multiclass: req.multiclass === true,
    };
    for (const [k, v] of Object.entries(fit.algo === 'gbdt' ? fit.gbdt : fit.rf)) params[k] = v as number;
    const metrics: Metrics | null = cv?.metrics ?? result.validMetrics;
    model = modelToJson(result.forest, {
      classes: ds.classes,
      features: ds.featureNames,
      dialect: ds.dialect,
      threshold: result.threshold,
      targetFpr: fit.targetFpr,
      params,
      training: {
        rows: ds.nRows,
        counts: dataset.counts,
        files: ds.files,
        split: result.validSplit,
        rounds: result.rounds,
      },
      metrics,
      generator: GENERATOR,
    });
    if (req.output) saveModel(req.output, model);
  }
  return { model, fit: result, cv, dataset, sources: tables.map((t) => t.source) };
}
