/**
 * Tree ensembles shared by GBDT and RF: node arrays per tree, raw-value prediction, Saabas path contributions
 * (Saabas 2014, "Interpreting random forests"; xgboost's `approx_contribs`), and gain importance.
 *
 * A node is a leaf when `feature[i] < 0`. Children always have larger indices than their parent (checked on
 * load), so a walk cannot cycle. `value` holds `stride` numbers per node: for leaves the output, for inner nodes
 * the cover-weighted mean of their leaves, which makes bias + Σ contributions equal the prediction exactly.
 */

export interface Tree {
  feature: Int32Array;
  /** Split threshold (a float32 value): go left when x ≤ threshold. */
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  /** Direction of missing values (NaN): 1 = left. */
  defaultLeft: Uint8Array;
  /** `stride` values per node. */
  value: Float64Array;
  /** Sum of hessians (GBDT) or of sample weights (RF) reaching the node. */
  cover: Float64Array;
  /** Split gain at inner nodes (0 at leaves). */
  gain: Float64Array;
  /** GBDT: which output (class logit) this tree adds to; RF: -1 (adds a distribution to every output). */
  output: number;
}

export type Algo = 'gbdt' | 'rf';

export interface Forest {
  algo: Algo;
  /** Class count K (≥ 2). */
  nClasses: number;
  /** Values per node: 1 for GBDT, K for RF. */
  stride: number;
  /** GBDT: initial raw score per output (1 output for binary, K for multiclass). RF: unused (empty). */
  baseScore: number[];
  trees: Tree[];
  nFeatures: number;
}

/** Number of raw outputs: binary GBDT has one logit, multiclass GBDT K logits, RF K probabilities. */
export function outputCount(f: Forest): number {
  return f.algo === 'gbdt' ? (f.nClasses === 2 ? 1 : f.nClasses) : f.nClasses;
}

/** Leaf index reached by row r of a column-major matrix. */
export function leafOf(t: Tree, x: Float32Array, nRows: number, r: number): number {
  let i = 0;
  while (t.feature[i]! >= 0) {
    const v = x[t.feature[i]! * nRows + r]!;
    i = v <= t.threshold[i]! || (Number.isNaN(v) && t.defaultLeft[i] === 1) ? t.left[i]! : t.right[i]!;
  }
  return i;
}

/** Raw outputs (`nRows × outputCount`, row-major) by straightforward traversal; see compile.ts for the fast path. */
export function predictRaw(f: Forest, x: Float32Array, nRows: number): Float64Array {
  const nOut = outputCount(f);
  const out = new Float64Array(nRows * nOut);
  for (let r = 0; r < nRows; r++) for (let k = 0; k < nOut; k++) out[r * nOut + k] = f.baseScore[k] ?? 0;
  for (const t of f.trees) {
    for (let r = 0; r < nRows; r++) {
      const leaf = leafOf(t, x, nRows, r);
      if (t.output >= 0) out[r * nOut + t.output]! += t.value[leaf]!;
      else for (let k = 0; k < nOut; k++) out[r * nOut + k]! += t.value[leaf * f.stride + k]!;
    }
  }
  if (f.algo === 'rf') {
    const inv = 1 / Math.max(1, f.trees.length);
    for (let i = 0; i < out.length; i++) out[i]! *= inv;
  }
  return out;
}

/** Class probabilities (`nRows × K`, row-major) from raw outputs. */
export function rawToProba(f: Forest, raw: Float64Array, nRows: number): Float64Array {
  const K = f.nClasses;
  const nOut = outputCount(f);
  const p = new Float64Array(nRows * K);
  for (let r = 0; r < nRows; r++) {
    if (f.algo === 'rf') {
      for (let k = 0; k < K; k++) p[r * K + k] = raw[r * nOut + k]!;
    } else if (nOut === 1) {
      const q = 1 / (1 + Math.exp(-raw[r]!));
      p[r * 2] = 1 - q;
      p[r * 2 + 1] = q;
    } else {
      let m = Number.NEGATIVE_INFINITY;
      for (let k = 0; k < K; k++) m = Math.max(m, raw[r * K + k]!);
      let s = 0;
      for (let k = 0; k < K; k++) {
        const e = Math.exp(raw[r * K + k]! - m);
        p[r * K + k] = e;
        s += e;
      }
      for (let k = 0; k < K; k++) p[r * K + k]! /= s;
    }
  }
  return p;
}

/** P(not class 0) per row: class 0 is benign by construction (dataset.ts). */
export function pMaliciousFromProba(p: Float64Array, K: number, nRows: number): Float64Array {
  const out = new Float64Array(nRows);
  for (let r = 0; r < nRows; r++) out[r] = 1 - p[r * K]!;
  return out;
}

/**
 * Saabas contributions toward "malicious" for one row: per feature, the change in the node value along the
 * decision path. Units: log-odds for binary GBDT, probability for RF; for multiclass GBDT the negated
 * contributions to the benign logit. Returns the bias (expected value at the roots).
 */
export function contributions(f: Forest, x: Float32Array, nRows: number, r: number, out: Float64Array): number {
  out.fill(0);
  let bias = 0;
  const sign = f.algo === 'gbdt' && outputCount(f) > 1 ? -1 : 1;
  // For RF the malicious direction is "not benign": 1 − p0, so contributions are −Δp0 (sum of the others).
  const rfSign = -1;
  const scale = f.algo === 'rf' ? 1 / Math.max(1, f.trees.length) : 1;
  for (const t of f.trees) {
    if (f.algo === 'gbdt' && outputCount(f) > 1 && t.output !== 0) continue;
    const s = f.algo === 'rf' ? rfSign * scale : sign;
    const st = f.stride;
    let i = 0;
    bias += s * t.value[0]!;
    while (t.feature[i]! >= 0) {
      const feat = t.feature[i]!;
      const v = x[feat * nRows + r]!;
      const next = v <= t.threshold[i]! || (Number.isNaN(v) && t.defaultLeft[i] === 1) ? t.left[i]! : t.right[i]!;
      out[feat]! += s * (t.value[next * st]! - t.value[i * st]!);
      i = next;
    }
  }
  if (f.algo === 'gbdt') bias += sign * (f.baseScore[0] ?? 0);
  else bias += 1;
  return bias;
}

/** Total split gain per feature, normalised to sum 1. */
export function gainImportance(f: Forest): Float64Array {
  const imp = new Float64Array(f.nFeatures);
  for (const t of f.trees) {
    for (let i = 0; i < t.feature.length; i++) {
      const feat = t.feature[i]!;
      if (feat >= 0) imp[feat]! += t.gain[i]!;
    }
  }
  let s = 0;
  for (const v of imp) s += v;
  if (s > 0) for (let i = 0; i < imp.length; i++) imp[i]! /= s;
  return imp;
}

/** Fill inner-node values with the cover-weighted mean of their children (post-order; children have larger ids). */
export function fillMeanValues(t: Tree, stride: number): void {
  for (let i = t.feature.length - 1; i >= 0; i--) {
    if (t.feature[i]! < 0) continue;
    const l = t.left[i]!;
    const r = t.right[i]!;
    const cl = t.cover[l]!;
    const cr = t.cover[r]!;
    const c = cl + cr;
    for (let k = 0; k < stride; k++) {
      t.value[i * stride + k] = c > 0 ? (cl * t.value[l * stride + k]! + cr * t.value[r * stride + k]!) / c : 0;
    }
  }
}

/** Growable node arrays used by the builders. */
export class TreeBuilder {
  feature: number[] = [];
  threshold: number[] = [];
  left: number[] = [];
  right: number[] = [];
  defaultLeft: number[] = [];
  value: number[] = [];
  cover: number[] = [];
  gain: number[] = [];
  /** Split bin per node (training only; binned traversal). */
  splitBin: number[] = [];

  constructor(readonly stride: number) {}

  addLeaf(values: ArrayLike<number>, cover: number): number {
    const id = this.feature.length;
    this.feature.push(-1);
    this.threshold.push(0);
    this.left.push(-1);
    this.right.push(-1);
    this.defaultLeft.push(0);
    this.cover.push(cover);
    this.gain.push(0);
    this.splitBin.push(0);
    for (let k = 0; k < this.stride; k++) this.value.push(values[k] ?? 0);
    return id;
  }

  build(output: number): Tree {
    const t: Tree = {
      feature: Int32Array.from(this.feature),
      threshold: Float64Array.from(this.threshold),
      left: Int32Array.from(this.left),
      right: Int32Array.from(this.right),
      defaultLeft: Uint8Array.from(this.defaultLeft),
      value: Float64Array.from(this.value),
      cover: Float64Array.from(this.cover),
      gain: Float64Array.from(this.gain),
      output,
    };
    fillMeanValues(t, this.stride);
    return t;
  }
}

/** Maximum depth of a tree (root = depth 0 leaf → 0). */
export function treeDepth(t: Tree): number {
  const depth = new Int32Array(t.feature.length);
  let max = 0;
  for (let i = 0; i < t.feature.length; i++) {
    if (t.feature[i]! >= 0) {
      depth[t.left[i]!] = depth[i]! + 1;
      depth[t.right[i]!] = depth[i]! + 1;
      if (depth[i]! + 1 > max) max = depth[i]! + 1;
    }
  }
  return max;
}
