/**
 * Reasons for a score: the features with the largest tree-path contributions (Saabas), as
 * `feature=value (+contribution)` strings — the same text on the command line, in files and in the library.
 *
 * classify explains every flow, so the walk is over one flattened copy of the forest (PathContributions) instead
 * of tree.ts `contributions`: node arrays of all trees concatenated, and each edge's contribution
 * `s · (value[child] − value[node])` computed once when the forest is loaded. The sums add the same numbers in the
 * same order, so reasons are bit-identical to `contributions` (test/ml/explain.test.ts).
 *
 * When the WebAssembly kernel scores the forest (binary GBDT) it also gives each row's leaf per tree
 * (CompiledForest.leafIndices); a leaf fixes its path, so the contributions are then sums over each leaf's
 * precomputed (feature, contribution) list — the same additions in the same order, with no comparisons left.
 */
import { type Forest, outputCount, treeDepth } from './tree.ts';

/** Deepest tree whose leaves get a precomputed path (the kernel's limit: leaf indices are bytes). */
const LEAF_PATH_MAX_DEPTH = 8;

/** The forest's trees flattened for Saabas walks: node i of every tree at a global index. */
export class PathContributions {
  private readonly feature: Int32Array;
  private readonly threshold: Float64Array;
  /** Index of the left child; the right child is the next node (children are stored side by side). */
  private readonly left: Int32Array;
  /** 1 when missing values go left. */
  private readonly defaultLeft: Int32Array;
  /** Contribution of the edge into each node from its parent, in the malicious direction. */
  private readonly edge: Float64Array;
  private readonly roots: Int32Array;
  private readonly row: Float64Array;
  /**
   * Per tree, where its leaves start in `pathStart` (leaf index = complete-layout index, kernel.ts); per leaf,
   * its path's entries [pathStart[e], pathStart[e + 1]) in `pathFeature`/`pathEdge`. Null for forests the
   * kernel does not score (multiclass, RF, deep trees).
   */
  private readonly leafPaths: {
    leafBase: Int32Array;
    pathStart: Int32Array;
    pathFeature: Int32Array;
    pathEdge: Float64Array;
  } | null;

  constructor(f: Forest) {
    // As tree.ts contributions: multiclass GBDT explains the benign logit (negated), RF the benign probability
    // (negated, averaged over trees).
    const multi = f.algo === 'gbdt' && outputCount(f) > 1;
    const s = f.algo === 'rf' ? -1 * (1 / Math.max(1, f.trees.length)) : multi ? -1 : 1;
    const trees = f.trees.filter((t) => !(multi && t.output !== 0));
    const total = trees.reduce((a, t) => a + t.feature.length, 0);
    this.feature = new Int32Array(total);
    this.threshold = new Float64Array(total);
    this.left = new Int32Array(total);
    this.defaultLeft = new Int32Array(total);
    this.edge = new Float64Array(total);
    this.roots = new Int32Array(trees.length);
    this.row = new Float64Array(f.nFeatures);
    const st = f.stride;
    let next = 0;
    trees.forEach((t, k) => {
      // Breadth-first renumbering: a node's two children get consecutive slots, so the walk picks one by adding
      // the comparison's outcome (0 or 1) instead of branching on it.
      const slot = new Int32Array(t.feature.length);
      const queue = [0];
      slot[0] = next++;
      this.roots[k] = slot[0]!;
      for (let q = 0; q < queue.length; q++) {
        const i = queue[q]!;
        const g = slot[i]!;
        this.feature[g] = t.feature[i]!;
        if (t.feature[i]! < 0) continue;
        const l = t.left[i]!;
        const r = t.right[i]!;
        slot[l] = next++;
        slot[r] = next++;
        queue.push(l, r);
        this.threshold[g] = t.threshold[i]!;
        this.left[g] = slot[l]!;
        this.defaultLeft[g] = t.defaultLeft[i]!;
        this.edge[slot[l]!] = s * (t.value[l * st]! - t.value[i * st]!);
        this.edge[slot[r]!] = s * (t.value[r * st]! - t.value[i * st]!);
      }
    });
    this.leafPaths = multi || f.algo !== 'gbdt' ? null : leafPaths(f, s);
  }

  /**
   * The contributions of row `r` from its leaves (`leaves[r · nTrees + t]`, CompiledForest.leafIndices) into
   * `out`; false (nothing written) when this forest has no leaf paths.
   */
  fromLeaves(leaves: Uint8Array, r: number, out: Float64Array): boolean {
    const lp = this.leafPaths;
    if (lp === null) return false;
    out.fill(0);
    const { leafBase, pathStart, pathFeature, pathEdge } = lp;
    const nT = leafBase.length;
    const at = r * nT;
    for (let t = 0; t < nT; t++) {
      const e = leafBase[t]! + leaves[at + t]!;
      const end = pathStart[e + 1]!;
      for (let p = pathStart[e]!; p < end; p++) out[pathFeature[p]!]! += pathEdge[p]!;
    }
    return true;
  }

  /** Per feature, the contributions of row `r` of the column-major matrix `x` (nRows rows) into `out`. */
  into(x: Float32Array, nRows: number, r: number, out: Float64Array): void {
    out.fill(0);
    const { feature, threshold, left, defaultLeft, edge, roots } = this;
    // The row's values side by side first: the walk then reads one small array instead of striding over x.
    const row = this.row;
    for (let f = 0; f < row.length; f++) row[f] = x[f * nRows + r]!;
    for (let k = 0; k < roots.length; k++) {
      let i = roots[k]!;
      let feat = feature[i]!;
      while (feat >= 0) {
        const v = row[feat]!;
        // Left when v ≤ threshold, or v is missing and missing goes left; as integers, so no branch to mispredict.
        const goLeft = +(v <= threshold[i]!) | (+Number.isNaN(v) & defaultLeft[i]!);
        i = left[i]! + 1 - goLeft;
        out[feat]! += edge[i]!;
        feat = feature[i]!;
      }
    }
  }
}

/** Every leaf's path as (feature, edge contribution) lists, indexed by complete-layout leaf index per tree. */
function leafPaths(f: Forest, s: number): PathContributions['leafPaths'] {
  const depths = f.trees.map(treeDepth);
  if (depths.some((d) => d > LEAF_PATH_MAX_DEPTH)) return null;
  const leafBase = new Int32Array(f.trees.length);
  let nLeaves = 0;
  depths.forEach((d, t) => {
    leafBase[t] = nLeaves;
    nLeaves += 1 << d;
  });
  const counts = new Int32Array(nLeaves);
  const lists: { feature: number[]; edge: number[] }[] = new Array(nLeaves);
  const st = f.stride;
  f.trees.forEach((t, ti) => {
    const d = depths[ti]!;
    const feature: number[] = [];
    const edge: number[] = [];
    // Depth-first from the root, the path so far in feature/edge; a leaf at level lvl with path bits p has the
    // complete-layout index p << (d − lvl).
    const visit = (i: number, lvl: number, path: number): void => {
      if (t.feature[i]! < 0) {
        const e = leafBase[ti]! + (path << (d - lvl));
        lists[e] = { feature: [...feature], edge: [...edge] };
        counts[e] = feature.length;
        return;
      }
      for (const [child, bit] of [
        [t.left[i]!, 0],
        [t.right[i]!, 1],
      ] as const) {
        feature.push(t.feature[i]!);
        edge.push(s * (t.value[child * st]! - t.value[i * st]!));
        visit(child, lvl + 1, 2 * path + bit);
        feature.pop();
        edge.pop();
      }
    };
    visit(0, 0, 0);
  });
  const pathStart = new Int32Array(nLeaves + 1);
  for (let e = 0; e < nLeaves; e++) pathStart[e + 1] = pathStart[e]! + counts[e]!;
  const pathFeature = new Int32Array(pathStart[nLeaves]!);
  const pathEdge = new Float64Array(pathStart[nLeaves]!);
  for (let e = 0; e < nLeaves; e++) {
    const l = lists[e];
    if (l === undefined) continue; // an index no row reaches (below a shallow leaf)
    pathFeature.set(l.feature, pathStart[e]!);
    pathEdge.set(l.edge, pathStart[e]!);
  }
  return { leafBase, pathStart, pathFeature, pathEdge };
}

const flattened = new WeakMap<Forest, PathContributions>();
/** topReasons' running top k (indices and |contribution|), reused across calls. */
let topIndex = new Int32Array(3);
let topAbs = new Float64Array(3);

/**
 * The last row explained from leaf indices. Rows with the same leaf in every tree have the same contributions
 * (they depend on the path only), so when the next row of the batch also has the same values in its top features
 * its reasons are the same strings: floods and scans repeat one flow shape thousands of times.
 */
const last = {
  leaves: null as Uint8Array | null,
  features: null as readonly string[] | null,
  k: 0,
  row: -1,
  top: [] as number[],
  values: [] as number[],
  reasons: [] as string[],
};

function sameAsLast(
  leaves: Uint8Array,
  features: readonly string[],
  k: number,
  x: Float32Array,
  nRows: number,
  r: number,
): boolean {
  if (last.leaves !== leaves || last.features !== features || last.k !== k) return false;
  const nT = leaves.length / nRows;
  const a = last.row * nT;
  const b = r * nT;
  for (let t = 0; t < nT; t++) if (leaves[a + t] !== leaves[b + t]) return false;
  for (let j = 0; j < last.top.length; j++) {
    const v = x[last.top[j]! * nRows + r]!;
    const w = last.values[j]!;
    if (v !== w && !(Number.isNaN(v) && Number.isNaN(w))) return false;
  }
  return true;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'missing';
  return Number.isInteger(v) ? String(v) : Number(v.toPrecision(4)).toString();
}

/**
 * Top `k` reasons of row `r` of the column-major matrix `x` (nRows rows); `scratch` has one slot per feature.
 * `leaves`: the batch's leaf indices from CompiledForest.leafIndices when it has them (same reasons, faster).
 */
export function topReasons(
  forest: Forest,
  features: readonly string[],
  x: Float32Array,
  nRows: number,
  r: number,
  scratch: Float64Array,
  k = 3,
  leaves: Uint8Array | null = null,
): string[] {
  let paths = flattened.get(forest);
  if (paths === undefined) {
    paths = new PathContributions(forest);
    flattened.set(forest, paths);
  }
  if (leaves !== null && sameAsLast(leaves, features, k, x, nRows, r)) return last.reasons.slice();
  const fromLeaves = leaves !== null && paths.fromLeaves(leaves, r, scratch);
  if (!fromLeaves) paths.into(x, nRows, r, scratch);
  // Top k by |contribution| in one pass over typed arrays (classify explains every flow: no per-flow sort of all
  // features, no array shuffling). Ties keep the lower feature index first, as a stable sort would.
  if (topIndex.length < k) {
    topIndex = new Int32Array(k);
    topAbs = new Float64Array(k);
  }
  let count = 0;
  for (let i = 0; i < scratch.length; i++) {
    const a = Math.abs(scratch[i]!);
    if (a === 0 || (count === k && a <= topAbs[k - 1]!)) continue;
    let j = count < k ? count++ : k - 1;
    for (; j > 0 && topAbs[j - 1]! < a; j--) {
      topIndex[j] = topIndex[j - 1]!;
      topAbs[j] = topAbs[j - 1]!;
    }
    topIndex[j] = i;
    topAbs[j] = a;
  }
  const reasons: string[] = new Array(count);
  for (let j = 0; j < count; j++) {
    const i = topIndex[j]!;
    const c = scratch[i]!;
    reasons[j] = `${features[i]}=${formatValue(x[i * nRows + r]!)} (${c >= 0 ? '+' : ''}${c.toFixed(3)})`;
  }
  if (fromLeaves) {
    last.leaves = leaves;
    last.features = features;
    last.k = k;
    last.row = r;
    last.top = Array.from(topIndex.subarray(0, count));
    last.values = last.top.map((i) => x[i * nRows + r]!);
    last.reasons = reasons.slice();
  }
  return reasons;
}
