/**
 * Honest splits. Flows of one capture are correlated (same hosts, same session, same attack tool run), so random
 * flow-level splits leak and inflate scores (Engelen et al. 2021; Arp et al., "Dos and Don'ts of Machine Learning
 * in Computer Security", USENIX Security 2022, pitfall P3 "data snooping"). Default `capture`: whole input files go
 * to one side; with a single file we fall back to `time` (train on the past, test on the future). `stratified`
 * (per-class round robin over a seeded shuffle) is only used when asked — the usual protocol for flow tables such as
 * the CIC CSVs, so numbers compare with published ones.
 */
import type { Dataset } from './dataset.ts';
import { Prng } from './prng.ts';
import { InputError } from './table.ts';

export type SplitKind = 'capture' | 'time' | 'stratified';

export interface FoldAssignment {
  /** Fold index per row. */
  fold: Int32Array;
  k: number;
  /** Strategy actually used (capture falls back to time with one file). */
  kind: SplitKind;
}

type SplitInput = Pick<Dataset, 'nRows' | 'y' | 'groups' | 'groupNames' | 'timeUs'>;

function resolveKind(ds: SplitInput, kind: SplitKind, k: number): SplitKind {
  if (kind !== 'capture') return kind;
  const nGroups = new Set(ds.groups).size;
  if (nGroups >= k) return 'capture';
  if (nGroups <= 1) {
    if (ds.timeUs.some((t) => Number.isFinite(t))) return 'time';
    throw new InputError(
      'split_impossible',
      'one input file without flow times: cannot split by capture or time; pass --split stratified',
    );
  }
  throw new InputError(
    'split_too_few_captures',
    `--split capture needs at least ${k} input files (got ${nGroups}); use fewer folds, --split time or --split stratified`,
  );
}

/** Assign rows to k folds. */
export function kFold(ds: SplitInput, k: number, kind: SplitKind, seed: number): FoldAssignment {
  if (!Number.isInteger(k) || k < 2) throw new InputError('split_bad_k', `need at least 2 folds (got ${k})`);
  const used = resolveKind(ds, kind, k);
  const rng = new Prng(seed);
  const fold = new Int32Array(ds.nRows);
  if (used === 'stratified') {
    // Shuffle rows, then deal each class's rows round-robin so every fold gets ⌊n_c/k⌋ or ⌈n_c/k⌉ of class c.
    const rows = rng.shuffle(Uint32Array.from({ length: ds.nRows }, (_, i) => i));
    const next = new Map<number, number>();
    for (const r of rows) {
      const c = ds.y[r]!;
      const f = next.get(c) ?? rng.nextInt(k);
      fold[r] = f;
      next.set(c, (f + 1) % k);
    }
  } else if (used === 'time') {
    // Contiguous blocks in time order; unknown times sort last.
    const rows = Uint32Array.from({ length: ds.nRows }, (_, i) => i).sort(
      (a, b) => timeKey(ds.timeUs[a]!) - timeKey(ds.timeUs[b]!) || a - b,
    );
    rows.forEach((r, i) => {
      fold[r] = Math.min(k - 1, Math.floor((i * k) / ds.nRows));
    });
  } else {
    // Stratified group k-fold (greedy, in the spirit of sklearn's StratifiedGroupKFold): captures in decreasing
    // size (shuffled first so ties vary with the seed) each go to one fold, chosen so every fold gets whole
    // captures AND, where the captures allow it, flows of every class.
    const classes = Math.max(...ds.y) + 1;
    const perGroup = new Map<number, Float64Array>();
    const totals = new Float64Array(classes);
    for (let r = 0; r < ds.nRows; r++) {
      const g = ds.groups[r]!;
      let c = perGroup.get(g);
      if (!c) {
        c = new Float64Array(classes);
        perGroup.set(g, c);
      }
      c[ds.y[r]!]!++;
      totals[ds.y[r]!]!++;
    }
    const size = (g: number): number => perGroup.get(g)!.reduce((a, b) => a + b, 0);
    const groups = rng.shuffle([...perGroup.keys()]).sort((a, b) => size(b) - size(a));
    const load = Array.from({ length: k }, () => new Float64Array(classes));
    const gFold = new Map<number, number>();
    for (const g of groups) {
      const gc = perGroup.get(g)!;
      let best = 0;
      let bestCost = Number.POSITIVE_INFINITY;
      for (let f = 0; f < k; f++) {
        // Increase of Σ_c share_c² — cheapest where this capture's classes are scarce, so each class spreads
        // over the folds (a fold holding one huge malicious capture still attracts benign captures).
        let cost = 0;
        for (let c = 0; c < classes; c++) {
          if (totals[c] === 0) continue;
          const before = load[f]![c]! / totals[c]!;
          const after = (load[f]![c]! + gc[c]!) / totals[c]!;
          cost += after * after - before * before;
        }
        if (cost < bestCost) {
          bestCost = cost;
          best = f;
        }
      }
      gFold.set(g, best);
      for (let c = 0; c < classes; c++) load[best]![c]! += gc[c]!;
    }
    for (let r = 0; r < ds.nRows; r++) fold[r] = gFold.get(ds.groups[r]!)!;
  }
  return { fold, k, kind: used };
}

function timeKey(t: number): number {
  return Number.isFinite(t) ? t : Number.MAX_VALUE;
}

/** Rows of fold `f` (test) and the rest (train). */
export function foldRows(a: FoldAssignment, f: number): { train: Uint32Array; test: Uint32Array } {
  const train: number[] = [];
  const test: number[] = [];
  for (let r = 0; r < a.fold.length; r++) (a.fold[r] === f ? test : train).push(r);
  return { train: Uint32Array.from(train), test: Uint32Array.from(test) };
}

/**
 * Hold out about `fraction` of the rows for validation with the same strategy (capture: whole files; time: the
 * latest rows; stratified: per class). Used for early stopping and to choose the threshold.
 */
export function holdout(
  ds: SplitInput,
  fraction: number,
  kind: SplitKind,
  seed: number,
): { train: Uint32Array; valid: Uint32Array; kind: SplitKind } {
  const k = Math.max(2, Math.round(1 / fraction));
  let a: FoldAssignment;
  try {
    a = kFold(ds, k, kind, seed);
  } catch (err) {
    // Too few captures for k groups but at least two: hold out one whole capture.
    if (kind !== 'capture' || new Set(ds.groups).size < 2) throw err;
    a = kFold(ds, new Set(ds.groups).size, 'capture', seed);
  }
  // Time: validate on the latest block; otherwise the fold with index 0.
  const f = a.kind === 'time' ? a.k - 1 : 0;
  const { train, test } = foldRows(a, f);
  return { train, valid: test, kind: a.kind };
}
