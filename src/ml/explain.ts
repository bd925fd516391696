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
 * The leaves also key a cache of top reasons (ReasonCache): rows with the same leaf in every tree have the same
 * contributions, so a repeated flow shape is explained once.
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

  /** True when fromLeaves can explain rows (binary GBDT with trees no deeper than the kernel's). */
  get hasLeafPaths(): boolean {
    return this.leafPaths !== null;
  }

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

/** Most entries of a ReasonCache, and the bytes of leaf vectors it may hold (fewer entries for larger forests). */
const REASON_CACHE_MAX_ENTRIES = 1 << 14;
const REASON_CACHE_LEAF_BYTES = 1 << 21;

/**
 * Top-k contributions by leaf vector. A row's contributions depend on its leaves only (one path per tree), so rows
 * with the same leaf in every tree share their top features and contributions; only the values printed may differ.
 * classify explains every flow, and flows repeat shapes (floods, scans, the same service polled): lab500 has 132k
 * flows with 58 distinct reason triples, mixed500 273k with 9.3k. A hit skips the contribution sums, the top-k
 * scan and (when the values match the entry's last ones) the formatting, and the strings it returns are shared,
 * not new ones kept alive by every output row until its row group is written; so are the lists themselves when
 * the caller asks (`shared`): the Parquet writer keeps every row's list until its row group (32k rows) is written,
 * and fresh arrays outlived the young generation to be copied and promoted (lab500 classify → Parquet,
 * --trace-gc-nvp: 20 → 12.6 MB promoted, scavenge pauses 106 → 60 ms).
 * Direct-mapped by a hash of the leaf vector; a collision replaces the entry (the leaves are compared in full, so
 * a replaced or colliding entry costs a recomputation, never a wrong reason).
 */
class ReasonCache {
  /** Entry count − 1 (the count is a power of two). */
  private readonly mask: number;
  /** 32-bit words per leaf vector (the bytes little-endian, the last word zero-padded). */
  private readonly words: number;
  /** Per entry its leaf vector (`words` words), and the row being looked up as the same words. */
  private readonly leaves: Int32Array;
  private readonly key: Int32Array;
  /** A DataView of the last leaves array read (one per batch), for reading a row's leaves four at a time. */
  private view: DataView | null = null;
  private viewOf: Uint8Array | null = null;
  /** Per entry: 1 when filled, and how many reasons (≤ k) it holds. */
  private readonly filled: Uint8Array;
  private readonly count: Int32Array;
  /** Per entry and reason j (at e · k + j): the feature, its contribution, and the last value printed with it. */
  private readonly top: Int32Array;
  private readonly contribution: Float64Array;
  private readonly value: Float32Array;
  private readonly text: string[];
  /** Per entry: the frozen list last returned to a caller that shares lists (null: none yet). */
  private readonly lists: (string[] | null)[];

  constructor(
    readonly features: readonly string[],
    readonly k: number,
    private readonly nTrees: number,
  ) {
    const entries = Math.min(
      REASON_CACHE_MAX_ENTRIES,
      2 ** Math.max(6, Math.floor(Math.log2(REASON_CACHE_LEAF_BYTES / Math.max(1, nTrees)))),
    );
    this.mask = entries - 1;
    this.words = (nTrees + 3) >> 2;
    this.leaves = new Int32Array(entries * this.words);
    this.key = new Int32Array(this.words);
    this.filled = new Uint8Array(entries);
    this.count = new Int32Array(entries);
    this.top = new Int32Array(entries * k);
    this.contribution = new Float64Array(entries * k);
    this.value = new Float32Array(entries * k);
    this.text = new Array<string>(entries * k).fill('');
    this.lists = new Array<string[] | null>(entries).fill(null);
  }

  /**
   * Row r's leaves into `key`, and the entry they map to (a multiplicative hash of the words). Words, not bytes:
   * hashing and comparing 75 bytes one at a time was most of a cache hit's cost (mixed500, node --cpu-prof).
   */
  slot(leaves: Uint8Array, r: number): number {
    if (this.viewOf !== leaves) {
      this.view = new DataView(leaves.buffer, leaves.byteOffset, leaves.byteLength);
      this.viewOf = leaves;
    }
    const view = this.view!;
    const nT = this.nTrees;
    const at = r * nT;
    const key = this.key;
    const full = nT >> 2;
    let h = 0;
    for (let w = 0; w < full; w++) {
      const v = view.getInt32(at + 4 * w, true);
      key[w] = v;
      h = Math.imul(h ^ v, 0x9e3779b1);
      h ^= h >>> 15;
    }
    if (full < this.words) {
      let v = 0;
      for (let t = 4 * full; t < nT; t++) v |= leaves[at + t]! << (8 * (t - 4 * full));
      key[full] = v;
      h = Math.imul(h ^ v, 0x9e3779b1);
      h ^= h >>> 15;
    }
    return h & this.mask;
  }

  /**
   * The reasons of the row last given to `slot` (row r of x) when entry e holds its leaves, else null. `shared`:
   * return the entry's frozen list when its texts are unchanged (else a new array).
   */
  lookup(e: number, x: Float32Array, nRows: number, r: number, shared: boolean): string[] | null {
    if (this.filled[e] !== 1) return null;
    const words = this.words;
    const a = e * words;
    const own = this.leaves;
    const key = this.key;
    for (let w = 0; w < words; w++) if (own[a + w] !== key[w]) return null;
    const n = this.count[e]!;
    const k = this.k;
    let changed = false;
    for (let j = 0; j < n; j++) {
      const q = e * k + j;
      const i = this.top[q]!;
      const v = x[i * nRows + r]!;
      const w = this.value[q]!;
      // Equal values print equally (±0 both print "0"), and so do two NaNs ("missing").
      if (v !== w && !(Number.isNaN(v) && Number.isNaN(w))) {
        this.value[q] = v;
        this.text[q] = reasonText(this.features[i]!, v, this.contribution[q]!);
        changed = true;
      }
    }
    const list = this.lists[e]!;
    if (shared && !changed && list !== null) return list;
    const reasons: string[] = new Array(n);
    for (let j = 0; j < n; j++) reasons[j] = this.text[e * k + j]!;
    if (!shared) return reasons;
    this.lists[e] = Object.freeze(reasons) as string[];
    return reasons;
  }

  /**
   * Fill entry e with the leaves last given to `slot` (row r of x) and its top reasons (topIndex order,
   * contributions in `scratch`); `list`: the frozen list returned to a caller that shares lists, else null.
   */
  store(
    e: number,
    r: number,
    n: number,
    x: Float32Array,
    nRows: number,
    scratch: Float64Array,
    reasons: string[],
    list: string[] | null,
  ): void {
    this.leaves.set(this.key, e * this.words);
    this.filled[e] = 1;
    this.count[e] = n;
    this.lists[e] = list;
    const k = this.k;
    for (let j = 0; j < n; j++) {
      const q = e * k + j;
      const i = topIndex[j]!;
      this.top[q] = i;
      this.contribution[q] = scratch[i]!;
      this.value[q] = x[i * nRows + r]!;
      this.text[q] = reasons[j]!;
    }
  }
}

/** The ReasonCache of each forest (for the feature names and k it was last asked with). */
const reasonCaches = new WeakMap<Forest, ReasonCache>();

function reasonText(feature: string, v: number, c: number): string {
  return `${feature}=${formatValue(v)} (${c >= 0 ? '+' : ''}${c.toFixed(3)})`;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'missing';
  return Number.isInteger(v) ? String(v) : Number(v.toPrecision(4)).toString();
}

/**
 * Top `k` reasons of row `r` of the column-major matrix `x` (nRows rows); `scratch` has one slot per feature.
 * `leaves`: the batch's leaf indices from CompiledForest.leafIndices when it has them (same reasons, faster).
 * `shared`: rows with the same reasons may get the same array, frozen (with leaves; for callers that keep many
 * rows' lists, such as an output row group, and never modify them).
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
  shared = false,
): string[] {
  let paths = flattened.get(forest);
  if (paths === undefined) {
    paths = new PathContributions(forest);
    flattened.set(forest, paths);
  }
  let cache: ReasonCache | null = null;
  let entry = 0;
  if (leaves !== null && paths.hasLeafPaths) {
    cache = reasonCaches.get(forest) ?? null;
    if (cache === null || cache.features !== features || cache.k !== k) {
      cache = new ReasonCache(features, k, forest.trees.length);
      reasonCaches.set(forest, cache);
    }
    entry = cache.slot(leaves, r);
    const hit = cache.lookup(entry, x, nRows, r, shared);
    if (hit !== null) return hit;
  }
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
    reasons[j] = reasonText(features[i]!, x[i * nRows + r]!, scratch[i]!);
  }
  if (cache !== null && fromLeaves) {
    const list = shared ? (Object.freeze(reasons) as string[]) : null;
    cache.store(entry, r, count, x, nRows, scratch, reasons, list);
  }
  return reasons;
}
