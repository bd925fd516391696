/**
 * Fast inference: trees flattened into one set of typed arrays in complete-binary-tree layout (node i has
 * children 2i+1 and 2i+2), so a walk is exactly `depth` steps with no leaf test and no child-pointer loads.
 * Shallower leaves are padded with pass-through nodes (threshold +∞, missing → left) whose left subtree carries
 * the leaf. Rows are scored in blocks with the tree loop outside, so a tree's nodes stay in L1 while the block's
 * rows stream past. Trees deeper than COMPLETE_MAX_DEPTH (RF grows unbounded trees) fall back to pointer walks.
 *
 * Quantised fast path (used when every complete tree's features have ≤ 254 distinct split thresholds, always true
 * for our GBDT whose thresholds are bin edges): each feature's thresholds are sorted once, an input value becomes
 * a one-byte code = 1 + the number of that feature's thresholds below it, and 0 for NaN. Node test `v ≤ thr` (rank
 * r among its feature's thresholds) becomes an interval test on the code: `code ∈ [0, r + 1]` when the node sends
 * missing values left, `code ∈ [1, r + 1]` when it sends them right — identical decisions. The block of rows is a
 * few KB of bytes instead of floats and a node is one packed Int32 (feature << 16 | lo << 8 | width), one load per
 * level. Quantising costs one 8-step search per (row, used feature), paid once per row for all trees.
 * Measured by `npm run bench:ml` (inference line).
 */
import { type Forest, outputCount, type Tree, treeDepth } from './tree.ts';

const COMPLETE_MAX_DEPTH = 10;
const BLOCK_ROWS = 128;
/** Code of a missing value (finite values get 1..255). */
const MISSING_CODE = 0;
/** Interval width of pass-through padding nodes: [0, 255] holds every code, so everything goes left. */
const PASS_THROUGH_WIDTH = 255;
/** Sorted thresholds per used feature, padded with +∞ to 256 entries for the branchless 8-step search. */
const PADDED = 256;

/** The quantised layout (see the file comment); null when some feature has too many thresholds. */
interface Quantised {
  /** Used feature → its original column. */
  usedFeature: Int32Array;
  /** `PADDED` sorted thresholds per used feature. */
  thresholds: Float32Array;
  /**
   * Complete-layout nodes: used feature << 16 | lo << 8 | width; go left when code − lo ∈ [0, width]
   * (lo = 1 when missing goes right, so the missing code 0 falls outside).
   */
  nodes: Int32Array;
}

export class CompiledForest {
  readonly nOut: number;
  private readonly stride: number;
  private readonly isRf: boolean;
  private readonly base: Float64Array;
  /** Complete-layout trees. */
  private readonly cDepth: Int32Array;
  private readonly cNodeOff: Int32Array;
  private readonly cLeafOff: Int32Array;
  private readonly cOutput: Int32Array;
  private readonly cFeature: Int32Array;
  private readonly cThreshold: Float32Array;
  /** 1 when missing values go right (pass-through padding nodes: 0, they send everything left). */
  private readonly cDefaultRight: Uint8Array;
  private block = new Float32Array(0);
  private readonly cLeafValue: Float64Array;
  /** Trees kept as pointer structures. */
  private readonly deep: Tree[];
  private readonly nTrees: number;
  private readonly q: Quantised | null;
  /** True when the quantised byte-code path is in use. */
  get isQuantised(): boolean {
    return this.q !== null;
  }
  private codes = new Uint8Array(0);

  /** `quantised: false` forces the float path (tests compare both; bench:ml prints both). */
  constructor(
    private readonly forest: Forest,
    options: { quantised?: boolean } = {},
  ) {
    this.nOut = outputCount(forest);
    this.stride = forest.stride;
    this.isRf = forest.algo === 'rf';
    this.nTrees = forest.trees.length;
    this.base = new Float64Array(this.nOut);
    forest.baseScore.forEach((v, k) => {
      this.base[k] = v;
    });
    const complete: { t: Tree; d: number }[] = [];
    this.deep = [];
    for (const t of forest.trees) {
      const d = treeDepth(t);
      if (d <= COMPLETE_MAX_DEPTH) complete.push({ t, d });
      else this.deep.push(t);
    }
    let nodes = 0;
    let leaves = 0;
    for (const { d } of complete) {
      nodes += (1 << d) - 1;
      leaves += (1 << d) * this.stride;
    }
    this.cDepth = new Int32Array(complete.length);
    this.cNodeOff = new Int32Array(complete.length);
    this.cLeafOff = new Int32Array(complete.length);
    this.cOutput = new Int32Array(complete.length);
    this.cFeature = new Int32Array(nodes);
    // Thresholds are float32 values by construction (binning.ts), so a Float32Array holds them exactly.
    this.cThreshold = new Float32Array(nodes).fill(Number.POSITIVE_INFINITY);
    this.cDefaultRight = new Uint8Array(nodes);
    this.cLeafValue = new Float64Array(leaves);
    let no = 0;
    let lo = 0;
    complete.forEach(({ t, d }, ti) => {
      this.cDepth[ti] = d;
      this.cNodeOff[ti] = no;
      this.cLeafOff[ti] = lo;
      this.cOutput[ti] = t.output;
      // Place node `src` at complete position `pos` (depth `lvl`); leaves above the bottom go down the left spine.
      const place = (src: number, pos: number, lvl: number): void => {
        if (t.feature[src]! >= 0) {
          this.cFeature[no + pos] = t.feature[src]!;
          this.cThreshold[no + pos] = t.threshold[src]!;
          this.cDefaultRight[no + pos] = t.defaultLeft[src] === 1 ? 0 : 1;
          place(t.left[src]!, 2 * pos + 1, lvl + 1);
          place(t.right[src]!, 2 * pos + 2, lvl + 1);
          return;
        }
        let p = pos;
        for (let l = lvl; l < d; l++) p = 2 * p + 1; // pass-through nodes keep their defaults (+∞, left)
        const leafIdx = p - ((1 << d) - 1);
        for (let k = 0; k < this.stride; k++)
          this.cLeafValue[lo + leafIdx * this.stride + k] = t.value[src * this.stride + k]!;
      };
      place(0, 0, 0);
      no += (1 << d) - 1;
      lo += (1 << d) * this.stride;
    });
    this.q = options.quantised === false ? null : this.quantise();
  }

  /** Build the quantised node array from the complete layout, or null if a feature has > 254 thresholds. */
  private quantise(): Quantised | null {
    const n = this.cFeature.length;
    const byFeature = new Map<number, Set<number>>();
    for (let k = 0; k < n; k++) {
      const t = this.cThreshold[k]!;
      if (t === Number.POSITIVE_INFINITY) continue; // pass-through padding
      const f = this.cFeature[k]!;
      let set = byFeature.get(f);
      if (!set) {
        set = new Set();
        byFeature.set(f, set);
      }
      set.add(t);
    }
    const used = [...byFeature.keys()].sort((a, b) => a - b);
    if (used.length >= 1 << 15) return null;
    const thresholds = new Float32Array(Math.max(1, used.length) * PADDED).fill(Number.POSITIVE_INFINITY);
    const rank = new Map<number, Map<number, number>>();
    for (let u = 0; u < used.length; u++) {
      const sorted = [...byFeature.get(used[u]!)!].sort((a, b) => a - b);
      // Ranks 0..253 are thresholds; 254+ must stay +∞ so a finite value's code (1 + rank) is ≤ 255.
      if (sorted.length > PADDED - 2) return null;
      const m = new Map<number, number>();
      sorted.forEach((t, j) => {
        thresholds[u * PADDED + j] = t;
        m.set(t, j);
      });
      rank.set(used[u]!, m);
    }
    const uIndex = new Map(used.map((f, u) => [f, u]));
    const nodes = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      const t = this.cThreshold[k]!;
      if (t === Number.POSITIVE_INFINITY) {
        nodes[k] = PASS_THROUGH_WIDTH; // feature 0, lo 0: every code, missing included, goes left
        continue;
      }
      const f = this.cFeature[k]!;
      // Left iff 1 + #(thresholds < v) ≤ 1 + r; missing (code 0) is inside [lo, r + 1] only when lo = 0.
      const lo = this.cDefaultRight[k] === 1 ? 1 : 0;
      const width = rank.get(f)!.get(t)! + 1 - lo;
      nodes[k] = (uIndex.get(f)! << 16) | (lo << 8) | width;
    }
    return { usedFeature: Int32Array.from(used), thresholds, nodes };
  }

  /** Codes of rows [b0, b0 + m) into `codes` (row-major, `nU` bytes per row). */
  private quantiseBlock(q: Quantised, x: Float32Array, nRows: number, b0: number, m: number, codes: Uint8Array): void {
    const nU = q.usedFeature.length;
    const thr = q.thresholds;
    for (let u = 0; u < nU; u++) {
      const src = q.usedFeature[u]! * nRows + b0;
      const base = u * PADDED;
      for (let r = 0; r < m; r++) {
        const v = x[src + r]!;
        let c: number;
        if (Number.isNaN(v)) c = MISSING_CODE;
        else {
          // Fixed 8-step lower bound: number of thresholds < v (≤ 254 because entries 254, 255 are +∞), plus 1.
          let pos = base;
          if (thr[pos + 127]! < v) pos += 128;
          if (thr[pos + 63]! < v) pos += 64;
          if (thr[pos + 31]! < v) pos += 32;
          if (thr[pos + 15]! < v) pos += 16;
          if (thr[pos + 7]! < v) pos += 8;
          if (thr[pos + 3]! < v) pos += 4;
          if (thr[pos + 1]! < v) pos += 2;
          if (thr[pos]! < v) pos += 1;
          c = pos - base + 1;
        }
        codes[r * nU + u] = c;
      }
    }
  }

  /** Quantised walk of all complete trees for rows [b0, b0 + m), adding leaves to `out`. */
  private walkQuantised(q: Quantised, codes: Uint8Array, b0: number, m: number, out: Float64Array): void {
    const nU = q.usedFeature.length;
    const nodes = q.nodes;
    const leaf = this.cLeafValue;
    const nOut = this.nOut;
    const stride = this.stride;
    for (let t = 0; t < this.cDepth.length; t++) {
      const d = this.cDepth[t]!;
      const no = this.cNodeOff[t]!;
      const lo = this.cLeafOff[t]!;
      const o = this.cOutput[t]!;
      const firstLeaf = (1 << d) - 1;
      let r = 0;
      // d = code − lo; right (child 2i + 2) when d ∉ [0, width]: the sign bit of (width − d) | d. Pure
      // arithmetic: a compare-and-branch here mispredicts about every other level. Four rows in lockstep
      // overlap their load → compute chains.
      for (; o >= 0 && r + 3 < m; r += 4) {
        const a0 = r * nU;
        const a1 = a0 + nU;
        const a2 = a1 + nU;
        const a3 = a2 + nU;
        let i0 = 0;
        let i1 = 0;
        let i2 = 0;
        let i3 = 0;
        for (let l = 0; l < d; l++) {
          let nd = nodes[no + i0]!;
          let c = codes[a0 + (nd >>> 16)]! - ((nd >> 8) & 1);
          i0 = 2 * i0 + 1 + ((((nd & 255) - c) | c) >>> 31);
          nd = nodes[no + i1]!;
          c = codes[a1 + (nd >>> 16)]! - ((nd >> 8) & 1);
          i1 = 2 * i1 + 1 + ((((nd & 255) - c) | c) >>> 31);
          nd = nodes[no + i2]!;
          c = codes[a2 + (nd >>> 16)]! - ((nd >> 8) & 1);
          i2 = 2 * i2 + 1 + ((((nd & 255) - c) | c) >>> 31);
          nd = nodes[no + i3]!;
          c = codes[a3 + (nd >>> 16)]! - ((nd >> 8) & 1);
          i3 = 2 * i3 + 1 + ((((nd & 255) - c) | c) >>> 31);
        }
        const q0 = (b0 + r) * nOut + o;
        out[q0]! += leaf[lo + i0 - firstLeaf]!;
        out[q0 + nOut]! += leaf[lo + i1 - firstLeaf]!;
        out[q0 + 2 * nOut]! += leaf[lo + i2 - firstLeaf]!;
        out[q0 + 3 * nOut]! += leaf[lo + i3 - firstLeaf]!;
      }
      for (; r < m; r++) {
        const a = r * nU;
        let i = 0;
        for (let l = 0; l < d; l++) {
          const nd = nodes[no + i]!;
          const c = codes[a + (nd >>> 16)]! - ((nd >> 8) & 1);
          i = 2 * i + 1 + ((((nd & 255) - c) | c) >>> 31);
        }
        const li = lo + (i - firstLeaf) * stride;
        if (o >= 0) out[(b0 + r) * nOut + o]! += leaf[li]!;
        else for (let k = 0; k < nOut; k++) out[(b0 + r) * nOut + k]! += leaf[li + k]!;
      }
    }
  }

  /** Raw outputs for a column-major matrix (`x[f * nRows + r]`) into `out` (`nRows × nOut`, row-major). */
  predictRaw(x: Float32Array, nRows: number, out: Float64Array = new Float64Array(nRows * this.nOut)): Float64Array {
    const nOut = this.nOut;
    const stride = this.stride;
    const feat = this.cFeature;
    const thr = this.cThreshold;
    const leaf = this.cLeafValue;
    for (let r = 0; r < nRows; r++) for (let k = 0; k < nOut; k++) out[r * nOut + k] = this.base[k]!;
    const q = this.q;
    if (q) {
      const nU = q.usedFeature.length;
      if (this.codes.length < BLOCK_ROWS * nU) this.codes = new Uint8Array(BLOCK_ROWS * nU);
      for (let b0 = 0; b0 < nRows; b0 += BLOCK_ROWS) {
        const m = Math.min(nRows, b0 + BLOCK_ROWS) - b0;
        this.quantiseBlock(q, x, nRows, b0, m, this.codes);
        this.walkQuantised(q, this.codes, b0, m, out);
      }
      this.addDeep(x, nRows, out);
      if (this.isRf) {
        const inv = 1 / Math.max(1, this.nTrees);
        for (let i = 0; i < nRows * nOut; i++) out[i]! *= inv;
      }
      return out;
    }
    const nF = this.forest.nFeatures;
    if (this.block.length < BLOCK_ROWS * nF) this.block = new Float32Array(BLOCK_ROWS * nF);
    const xb = this.block;
    const dr = this.cDefaultRight;
    // Adds the leaf reached by a row (complete-layout index i) to its outputs.
    const add = (r: number, o: number, lo: number, leafIdx: number): void => {
      const li = lo + leafIdx * stride;
      if (o >= 0) out[r * nOut + o]! += leaf[li]!;
      else for (let k = 0; k < nOut; k++) out[r * nOut + k]! += leaf[li + k]!;
    };
    for (let b0 = 0; b0 < nRows; b0 += BLOCK_ROWS) {
      const m = Math.min(nRows, b0 + BLOCK_ROWS) - b0;
      // Transpose the block to row-major: a row's features share cache lines during its walks.
      for (let f = 0; f < nF; f++) {
        const src = f * nRows + b0;
        for (let r = 0; r < m; r++) xb[r * nF + f] = x[src + r]!;
      }
      for (let t = 0; t < this.cDepth.length; t++) {
        const d = this.cDepth[t]!;
        const no = this.cNodeOff[t]!;
        const lo = this.cLeafOff[t]!;
        const o = this.cOutput[t]!;
        const firstLeaf = (1 << d) - 1;
        let r = 0;
        // Four rows walk the tree in lockstep: four independent load→compare chains per level overlap in the
        // CPU (measured ≈2× over one row at a time on bench:ml's inference line). Right child = 2i+2 when
        // v > threshold, or v is NaN and the node sends missing right.
        for (; r + 3 < m; r += 4) {
          const a0 = r * nF;
          const a1 = a0 + nF;
          const a2 = a1 + nF;
          const a3 = a2 + nF;
          let i0 = 0;
          let i1 = 0;
          let i2 = 0;
          let i3 = 0;
          for (let l = 0; l < d; l++) {
            let k = no + i0;
            let v = xb[a0 + feat[k]!]!;
            i0 = 2 * i0 + (v <= thr[k]! ? 1 : Number.isNaN(v) && dr[k] === 0 ? 1 : 2);
            k = no + i1;
            v = xb[a1 + feat[k]!]!;
            i1 = 2 * i1 + (v <= thr[k]! ? 1 : Number.isNaN(v) && dr[k] === 0 ? 1 : 2);
            k = no + i2;
            v = xb[a2 + feat[k]!]!;
            i2 = 2 * i2 + (v <= thr[k]! ? 1 : Number.isNaN(v) && dr[k] === 0 ? 1 : 2);
            k = no + i3;
            v = xb[a3 + feat[k]!]!;
            i3 = 2 * i3 + (v <= thr[k]! ? 1 : Number.isNaN(v) && dr[k] === 0 ? 1 : 2);
          }
          if (o >= 0) {
            const q = (b0 + r) * nOut + o;
            out[q]! += leaf[lo + i0 - firstLeaf]!;
            out[q + nOut]! += leaf[lo + i1 - firstLeaf]!;
            out[q + 2 * nOut]! += leaf[lo + i2 - firstLeaf]!;
            out[q + 3 * nOut]! += leaf[lo + i3 - firstLeaf]!;
          } else {
            add(b0 + r, o, lo, i0 - firstLeaf);
            add(b0 + r + 1, o, lo, i1 - firstLeaf);
            add(b0 + r + 2, o, lo, i2 - firstLeaf);
            add(b0 + r + 3, o, lo, i3 - firstLeaf);
          }
        }
        for (; r < m; r++) {
          const a = r * nF;
          let i = 0;
          for (let l = 0; l < d; l++) {
            const k = no + i;
            const v = xb[a + feat[k]!]!;
            i = 2 * i + (v <= thr[k]! ? 1 : Number.isNaN(v) && dr[k] === 0 ? 1 : 2);
          }
          add(b0 + r, o, lo, i - firstLeaf);
        }
      }
    }
    this.addDeep(x, nRows, out);
    if (this.isRf) {
      const inv = 1 / Math.max(1, this.nTrees);
      for (let i = 0; i < nRows * nOut; i++) out[i]! *= inv;
    }
    return out;
  }

  /** Pointer walks of the trees too deep for the complete layout. */
  private addDeep(x: Float32Array, nRows: number, out: Float64Array): void {
    const nOut = this.nOut;
    const stride = this.stride;
    for (const t of this.deep) {
      for (let r = 0; r < nRows; r++) {
        let i = 0;
        while (t.feature[i]! >= 0) {
          const v = x[t.feature[i]! * nRows + r]!;
          i = v <= t.threshold[i]! || (Number.isNaN(v) && t.defaultLeft[i] === 1) ? t.left[i]! : t.right[i]!;
        }
        if (t.output >= 0) out[r * nOut + t.output]! += t.value[i]!;
        else for (let k = 0; k < nOut; k++) out[r * nOut + k]! += t.value[i * stride + k]!;
      }
    }
  }

  /** p_malicious per row (1 − P(class 0)). */
  pMalicious(x: Float32Array, nRows: number): Float64Array {
    const raw = this.predictRaw(x, nRows);
    const nOut = this.nOut;
    const p = new Float64Array(nRows);
    if (this.isRf) {
      for (let r = 0; r < nRows; r++) p[r] = 1 - raw[r * nOut]!;
    } else if (nOut === 1) {
      for (let r = 0; r < nRows; r++) p[r] = 1 / (1 + Math.exp(-raw[r]!));
    } else {
      for (let r = 0; r < nRows; r++) {
        let m = Number.NEGATIVE_INFINITY;
        for (let k = 0; k < nOut; k++) m = Math.max(m, raw[r * nOut + k]!);
        let s = 0;
        for (let k = 0; k < nOut; k++) s += Math.exp(raw[r * nOut + k]! - m);
        p[r] = 1 - Math.exp(raw[r * nOut]! - m) / s;
      }
    }
    return p;
  }

  /** Class probabilities (`nRows × K`). */
  proba(x: Float32Array, nRows: number): Float64Array {
    const raw = this.predictRaw(x, nRows);
    const K = this.forest.nClasses;
    if (this.isRf) return raw;
    const p = new Float64Array(nRows * K);
    for (let r = 0; r < nRows; r++) {
      if (this.nOut === 1) {
        const q = 1 / (1 + Math.exp(-raw[r]!));
        p[r * 2] = 1 - q;
        p[r * 2 + 1] = q;
      } else {
        let m = Number.NEGATIVE_INFINITY;
        for (let k = 0; k < K; k++) m = Math.max(m, raw[r * K + k]!);
        let s = 0;
        for (let k = 0; k < K; k++) s += Math.exp(raw[r * K + k]! - m);
        for (let k = 0; k < K; k++) p[r * K + k] = Math.exp(raw[r * K + k]! - m) / s;
      }
    }
    return p;
  }
}
