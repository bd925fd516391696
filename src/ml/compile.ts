/**
 * Fast inference: trees flattened into one set of typed arrays in complete-binary-tree layout (node i has
 * children 2i+1 and 2i+2), so a walk is exactly `depth` steps with no leaf test and no child-pointer loads.
 * Shallower leaves are padded with pass-through nodes (threshold +∞, missing → left) whose left subtree carries
 * the leaf. Rows are scored in blocks with the tree loop outside, so a tree's nodes stay in L1 while the block's
 * rows stream past. Trees deeper than COMPLETE_MAX_DEPTH (RF grows unbounded trees) fall back to pointer walks.
 * Measured by `npm run bench:ml` (inference line).
 */
import { type Forest, outputCount, type Tree, treeDepth } from './tree.ts';

const COMPLETE_MAX_DEPTH = 10;
const BLOCK_ROWS = 128;

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

  constructor(private readonly forest: Forest) {
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
  }

  /** Raw outputs for a column-major matrix (`x[f * nRows + r]`) into `out` (`nRows × nOut`, row-major). */
  predictRaw(x: Float32Array, nRows: number, out: Float64Array = new Float64Array(nRows * this.nOut)): Float64Array {
    const nOut = this.nOut;
    const stride = this.stride;
    const feat = this.cFeature;
    const thr = this.cThreshold;
    const leaf = this.cLeafValue;
    for (let r = 0; r < nRows; r++) for (let k = 0; k < nOut; k++) out[r * nOut + k] = this.base[k]!;
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
    if (this.isRf) {
      const inv = 1 / Math.max(1, this.nTrees);
      for (let i = 0; i < nRows * nOut; i++) out[i]! *= inv;
    }
    return out;
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
