/**
 * Training and honest evaluation on a Dataset: one fit (with its own validation hold-out for early stopping and
 * the threshold) and K-fold cross-validation. Shared by `flowsieve train`/`evaluate` and bench/ml.ts.
 */
import { type Dataset, takeRows } from './dataset.ts';
import { DEFAULT_GBDT, type GbdtParams, type TrainSet, trainGbdt } from './gbdt.ts';
import { evaluate, type GroupWeighted, groupWeightedRanking, type Metrics, thresholdForFpr } from './metrics.ts';
import { Prng } from './prng.ts';
import { DEFAULT_RF, type RfParams, trainRf } from './rf.ts';
import { foldRows, holdout, kFold, type SplitKind } from './split.ts';
import { type Algo, type Forest, predictRaw, rawToProba } from './tree.ts';

export type Balance = 'none' | 'weight' | 'undersample';
/** Row weighting by origin: `capture` gives every input file the same total weight within its class. */
export type WeightBy = 'none' | 'capture';

export interface FitOptions {
  algo: Algo;
  gbdt: Partial<GbdtParams>;
  rf: Partial<RfParams>;
  /** Class imbalance: none, inverse-frequency class weights ("balanced"), or random undersampling of larger classes to the smallest. */
  balance: Balance;
  /**
   * `capture`: each capture (input file) gets the same total weight within its class, so two 9 000-flow flood
   * captures count as much as two 5-flow captures rather than as half the malicious class. Applied to the
   * training rows and to the early-stopping loss; the threshold is still chosen per flow on the hold-out.
   */
  weightBy: WeightBy;
  split: SplitKind;
  /** Fraction of the training rows held out for early stopping and the threshold (0 = none: threshold 0.5). */
  validFraction: number;
  targetFpr: number;
  seed: number;
  /** Called after each boosting round (GBDT) or tree (RF) with (done, planned); early stopping may end sooner. */
  onRound?: (done: number, total: number) => void;
}

export const DEFAULT_FIT: FitOptions = {
  algo: 'gbdt',
  gbdt: {},
  rf: {},
  balance: 'none',
  weightBy: 'none',
  split: 'capture',
  validFraction: 0.2,
  targetFpr: 0.01,
  seed: 1,
};

export interface FitResult {
  forest: Forest;
  /** p_malicious threshold for the target FPR on the validation rows (0.5 without validation). */
  threshold: number;
  rounds: number;
  /** Split used for the validation hold-out. */
  validSplit: SplitKind | 'none';
  validMetrics: Metrics | null;
}

function subset(ds: Dataset, rows: Uint32Array, weight: Float64Array | null): TrainSet {
  const nF = ds.featureNames.length;
  return {
    x: takeRows(ds.x, ds.nRows, nF, rows),
    nRows: rows.length,
    nF,
    y: Int32Array.from(rows, (r) => ds.y[r]!),
    nClasses: ds.classes.length,
    weight: weight ? Float64Array.from(rows, (r) => weight[r]!) : null,
  };
}

/** Rows restricted to a sub-dataset view for split functions. */
function view(ds: Dataset, rows: Uint32Array): Pick<Dataset, 'nRows' | 'y' | 'groups' | 'groupNames' | 'timeUs'> {
  return {
    nRows: rows.length,
    y: Int32Array.from(rows, (r) => ds.y[r]!),
    groups: Int32Array.from(rows, (r) => ds.groups[r]!),
    groupNames: ds.groupNames,
    timeUs: Float64Array.from(rows, (r) => ds.timeUs[r]!),
  };
}

/** Undersample every class to the size of the smallest present class (seeded). */
function undersample(ds: Dataset, rows: Uint32Array, seed: number): Uint32Array {
  const byClass = new Map<number, number[]>();
  for (const r of rows) {
    const c = ds.y[r]!;
    const a = byClass.get(c);
    if (a) a.push(r);
    else byClass.set(c, [r]);
  }
  const min = Math.min(...[...byClass.values()].map((a) => a.length));
  const rng = new Prng(seed ^ 0x5bd1e995);
  const out: number[] = [];
  for (const a of byClass.values()) out.push(...rng.shuffle(a).slice(0, min));
  return Uint32Array.from(out.sort((a, b) => a - b));
}

/**
 * Row weights over `rows` (indexed by dataset row), or null when all are 1. `weightBy: capture` gives each
 * (capture, class) pair total weight 1 before class balancing; `balance: weight` then scales each class to the
 * same total ("balanced" inverse frequency). Normalised to mean 1 over `rows` so regularisation
 * (λ, min child weight) keeps its meaning.
 */
export function rowWeights(ds: Dataset, rows: Uint32Array, balance: Balance, weightBy: WeightBy): Float64Array | null {
  if (balance !== 'weight' && weightBy === 'none') return null;
  const w = new Float64Array(ds.nRows);
  if (weightBy === 'capture') {
    const K = ds.classes.length;
    const cnt = new Map<number, number>();
    for (const r of rows) {
      const key = ds.groups[r]! * K + ds.y[r]!;
      cnt.set(key, (cnt.get(key) ?? 0) + 1);
    }
    for (const r of rows) w[r] = 1 / cnt.get(ds.groups[r]! * K + ds.y[r]!)!;
  } else for (const r of rows) w[r] = 1;
  if (balance === 'weight') {
    const cls = new Float64Array(ds.classes.length);
    for (const r of rows) cls[ds.y[r]!]! += w[r]!;
    for (const r of rows) w[r]! /= cls[ds.y[r]!]!;
  }
  let s = 0;
  for (const r of rows) s += w[r]!;
  const scale = rows.length / Math.max(1e-300, s);
  for (const r of rows) w[r]! *= scale;
  return w;
}

/** Fit one model on `rows` of the dataset. */
export function fitModel(ds: Dataset, rows: Uint32Array, opts: FitOptions): FitResult {
  let trainRows = rows;
  let validRows: Uint32Array | null = null;
  let validSplit: SplitKind | 'none' = 'none';
  if (opts.validFraction > 0) {
    const h = holdout(view(ds, rows), opts.validFraction, opts.split, opts.seed + 7);
    trainRows = Uint32Array.from(h.train, (i) => rows[i]!);
    validRows = Uint32Array.from(h.valid, (i) => rows[i]!);
    validSplit = h.kind;
    if (validRows.length === 0 || trainRows.length === 0) {
      trainRows = rows;
      validRows = null;
      validSplit = 'none';
    }
  }
  if (opts.balance === 'undersample') trainRows = undersample(ds, trainRows, opts.seed);
  const weightBy = opts.weightBy ?? 'none';
  const train = subset(ds, trainRows, rowWeights(ds, trainRows, opts.balance, weightBy));
  // The early-stopping loss is weighted like training (one hold-out capture must not decide alone when to stop).
  const valid = validRows ? subset(ds, validRows, rowWeights(ds, validRows, opts.balance, weightBy)) : null;
  let forest: Forest;
  let rounds: number;
  if (opts.algo === 'gbdt') {
    const r = trainGbdt(train, valid, { ...DEFAULT_GBDT, seed: opts.seed, ...opts.gbdt }, opts.onRound);
    forest = r.forest;
    rounds = r.rounds;
  } else {
    forest = trainRf(train, { ...DEFAULT_RF, seed: opts.seed, ...opts.rf }, opts.onRound);
    rounds = forest.trees.length;
  }
  let threshold = 0.5;
  let validMetrics: Metrics | null = null;
  if (valid) {
    const p = rawToProba(forest, predictRaw(forest, valid.x, valid.nRows), valid.nRows);
    const K = ds.classes.length;
    const score = new Float64Array(valid.nRows);
    const pos = new Uint8Array(valid.nRows);
    for (let r = 0; r < valid.nRows; r++) {
      score[r] = 1 - p[r * K]!;
      pos[r] = valid.y[r] !== 0 ? 1 : 0;
    }
    // Only meaningful when the validation rows hold both benign and malicious flows.
    if (pos.some((v) => v === 1) && pos.some((v) => v === 0)) threshold = thresholdForFpr(pos, score, opts.targetFpr);
    validMetrics = evaluate(valid.y, p, ds.classes, threshold);
  }
  return { forest, threshold, rounds, validSplit, validMetrics };
}

export interface CvResult {
  k: number;
  split: SplitKind;
  /** Metrics over all out-of-fold predictions, each at its fold model's threshold. */
  metrics: Metrics;
  /** Out-of-fold p_malicious per dataset row (NaN for rows of an empty fold). */
  pMalicious: Float64Array;
  /** Ranking with every (capture, class) pair weighing the same (metrics.ts groupWeightedRanking). */
  captureWeighted: GroupWeighted;
  folds: { metrics: Metrics; trainSeconds: number; rounds: number; threshold: number }[];
}

/** K-fold cross-validation: every row is scored once by a model that never saw its fold. */
export function crossValidate(
  ds: Dataset,
  k: number,
  opts: FitOptions,
  onFold?: (done: number, k: number) => void,
): CvResult {
  const a = kFold(ds, k, opts.split, opts.seed);
  const K = ds.classes.length;
  const proba = new Float64Array(ds.nRows * K);
  const thr = new Float64Array(ds.nRows);
  const folds: CvResult['folds'] = [];
  for (let f = 0; f < k; f++) {
    const { train, test } = foldRows(a, f);
    if (test.length === 0) continue;
    const t0 = performance.now();
    const fit = fitModel(ds, train, { ...opts, split: opts.split === 'capture' ? a.kind : opts.split });
    const trainSeconds = (performance.now() - t0) / 1000;
    const te = subset(ds, test, null);
    const p = rawToProba(fit.forest, predictRaw(fit.forest, te.x, te.nRows), te.nRows);
    test.forEach((r, i) => {
      for (let c = 0; c < K; c++) proba[r * K + c] = p[i * K + c]!;
      thr[r] = fit.threshold;
    });
    folds.push({
      metrics: evaluate(te.y, p, ds.classes, fit.threshold),
      trainSeconds,
      rounds: fit.rounds,
      threshold: fit.threshold,
    });
    onFold?.(f + 1, k);
  }
  // Pooled metrics: scores are comparable across folds (probabilities); the verdict uses each fold's own threshold,
  // which `evaluate` cannot take per row, so we fold it in by shifting scores relative to 0.5.
  const shifted = new Float64Array(ds.nRows * K);
  for (let r = 0; r < ds.nRows; r++) {
    const pm = 1 - proba[r * K]!;
    const t = thr[r]!;
    // Monotone map sending t to 0.5 keeps ROC/PR (rank-based within a fold) and the verdict at the fold threshold.
    const s = pm >= t ? 0.5 + (0.5 * (pm - t)) / Math.max(1e-12, 1 - t) : (0.5 * pm) / Math.max(1e-12, t);
    const scale = pm > 0 ? s / pm : 0;
    shifted[r * K] = 1 - s;
    for (let c = 1; c < K; c++) shifted[r * K + c] = pm > 0 ? proba[r * K + c]! * scale : 0;
  }
  const metrics = evaluate(ds.y, shifted, ds.classes, 0.5);
  const pMalicious = Float64Array.from({ length: ds.nRows }, (_, r) => 1 - proba[r * K]!);
  const captureWeighted = groupWeightedRanking(
    Int32Array.from(ds.y, (c) => (c !== 0 ? 1 : 0)),
    pMalicious,
    ds.groups,
  );
  return { k, split: a.kind, metrics, pMalicious, captureWeighted, folds };
}
