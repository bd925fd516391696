/**
 * Reasons for a score: the features with the largest tree-path contributions (Saabas), as
 * `feature=value (+contribution)` strings — the same text on the command line, in files and in the library.
 *
 * classify explains every flow, so the walk is over one flattened copy of the forest (PathContributions) instead
 * of tree.ts `contributions`: node arrays of all trees concatenated, and each edge's contribution
 * `s · (value[child] − value[node])` computed once when the forest is loaded. The sums add the same numbers in the
 * same order, so reasons are bit-identical to `contributions` (test/ml/explain.test.ts).
 */
import { type Forest, outputCount } from './tree.ts';

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

const flattened = new WeakMap<Forest, PathContributions>();

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'missing';
  return Number.isInteger(v) ? String(v) : Number(v.toPrecision(4)).toString();
}

/** Top `k` reasons of row `r` of the column-major matrix `x` (nRows rows); `scratch` has one slot per feature. */
export function topReasons(
  forest: Forest,
  features: readonly string[],
  x: Float32Array,
  nRows: number,
  r: number,
  scratch: Float64Array,
  k = 3,
): string[] {
  let paths = flattened.get(forest);
  if (paths === undefined) {
    paths = new PathContributions(forest);
    flattened.set(forest, paths);
  }
  paths.into(x, nRows, r, scratch);
  // Top k by |contribution| in one pass (classify explains every flow: no per-flow sort of all features). Ties keep
  // the lower feature index first, as a stable sort would.
  const order: number[] = [];
  for (let i = 0; i < scratch.length; i++) {
    const a = Math.abs(scratch[i]!);
    if (a === 0 || (order.length === k && a <= Math.abs(scratch[order[k - 1]!]!))) continue;
    let j = order.length < k ? order.length : k - 1;
    while (j > 0 && Math.abs(scratch[order[j - 1]!]!) < a) j--;
    order.splice(j, 0, i);
    if (order.length > k) order.pop();
  }
  return order.map((i) => {
    const c = scratch[i]!;
    return `${features[i]}=${formatValue(x[i * nRows + r]!)} (${c >= 0 ? '+' : ''}${c.toFixed(3)})`;
  });
}
