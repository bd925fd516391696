/**
 * Fast inference: trees flattened into one set of typed arrays in complete-binary-tree layout (node i has
 * children 2i+1 and 2i+2). Shallower leaves are padded with pass-through nodes (threshold +∞, missing → left)
 * whose left subtree carries the leaf, so a leaf's index in the bottom level spells the path: bit `d − 1 − l` is
 * 1 when the row went right at level l. Trees deeper than COMPLETE_MAX_DEPTH (RF grows unbounded trees) fall
 * back to pointer walks.
 *
 * Default path: bit-sliced evaluation of 32 rows at once. A row-at-a-time walk costs a dependent load → compare
 * → load chain per level (≈ 1,000 node steps per row for 200 depth-6 trees, 3.7 µs/row measured); here one 32-bit
 * AND decides a node for 32 rows:
 * 1. Quantise: per used feature, its distinct split thresholds sorted; a value's code is 1 + #(thresholds < v)
 *    (branch-free binary search of ⌈log2(T + 1)⌉ steps), 0 for NaN. A block's rows are bucketed by code into
 *    32-bit row masks, and prefix ORs give `le[c]` = rows whose code is ≤ c.
 * 2. A node `x ≤ t` (t of rank k among its feature's thresholds) sends left exactly the rows with code ≤ k + 1,
 *    i.e. `le[k + 1]`, minus the NaN rows (code 0) when it sends missing values right — the same decision as
 *    the float test, by construction of the codes.
 * 3. Per tree, row masks flow down the real inner nodes in level order (rows(left) = rows & left-mask, rows(right)
 *    = rows & ~left-mask) and the right-going rows of level l are OR-ed into bit plane l. A row's leaf index is
 *    then its bits of the d planes; its leaf value is added to its outputs in tree order, so sums are
 *    bit-identical to the float walk (and to tree.ts predictRaw when no tree is deep).
 * Binary GBDTs (the default model) go one step further: kernel.ts runs the same bit-sliced evaluation in a
 * WebAssembly SIMD kernel, 128 rows per v128 and float compares in place of the quantisation, with the same
 * scores bit for bit. This file's bit-sliced path serves the other forests (multiclass, RF) and runtimes without
 * WebAssembly SIMD.
 * Measured by `npm run bench:ml` (inference lines: float walk, bit-sliced, WebAssembly kernel).
 */
import { GbdtKernel } from './kernel.ts';
import { type Forest, outputCount, type Tree, treeDepth } from './tree.ts';

const COMPLETE_MAX_DEPTH = 10;
const BLOCK_ROWS = 128;
/** Bits of a packed bit-sliced node holding its complete-layout position (< 2^(COMPLETE_MAX_DEPTH + 1)). */
const POS_BITS = COMPLETE_MAX_DEPTH + 1;
const POS_MASK = (1 << POS_BITS) - 1;
/**
 * Below this many rows the float walk is cheaper: a 32-row slice costs the same whether 1 or 32 of its rows are
 * real (≈ 30 µs for 200 depth-6 trees vs ≈ 4 µs per row walked), and so does a 128-row block of the WebAssembly
 * kernel (≈ 35 µs). All paths give identical scores.
 */
const MIN_SLICED_ROWS = 8;
/** Largest code a Uint16 block buffer holds. */
const MAX_CODE = 0xffff;
/** Rows per bit-sliced block: one bit of an Int32 mask per row. */
const SLICE_ROWS = 32;
/** Sign bit of an Int32: XOR-ing it (and flipping the rest of negatives) makes float32 bits sort as unsigned ints. */
const SIGN_BIT = -0x80000000;
/** Bits of +∞ in float32; larger magnitudes are NaN. */
const FLOAT32_INF_BITS = 0x7f800000;
/** Multiplier spreading bits 0–3 of a nibble to bits 0, 8, 16, 24 (with BYTE_LSBS masking the cross terms). */
const SPREAD4 = 0x204081;
const BYTE_LSBS = 0x01010101;
/** Depth up to which the leaf index is gathered from six fixed planes (every GBDT tree of depth ≤ 6). */
const FIXED_PLANES = 6;

/** The bit-sliced layout (see the file comment). */
interface Sliced {
  /** Used feature → its original column. */
  usedFeature: Int32Array;
  /** Per used feature: offset into `searchThr` and number of search steps k (2^k padded thresholds). */
  searchOff: Int32Array;
  searchSteps: Int32Array;
  /**
   * Sorted distinct thresholds per used feature, padded with +∞ to 2^k entries, as order-preserving keys of their
   * float32 bits (`bits ^ (bits >> 31 | sign bit)`, compared unsigned; thresholds hold +0, never −0, so the keys
   * order ±0 as the float comparison does).
   */
  searchKey: Int32Array;
  /** Per used feature: offset of its code cells (codes 0 … T + 1); `codeOff[nU]` = total cells. */
  codeOff: Int32Array;
  /** Per complete tree: its real inner nodes are `treeStart[t] … treeStart[t + 1]`, in level order. */
  treeStart: Int32Array;
  /**
   * Per real inner node: its complete-layout position (low POS_BITS bits) and its mask index above them, 2 × (code
   * cell of rank + 1) + (1 when missing goes right).
   */
  nodes: Int32Array;
}

/** Unsigned x < y as 0/1 for Int32 bit patterns: the borrow out of x − y (Hacker's Delight §2-12), no branch. */
function ltu(x: number, y: number): number {
  return ((~x & y) | (~(x ^ y) & ((x - y) | 0))) >>> 31;
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
  private readonly q: Sliced | null;
  /** The WebAssembly kernel for binary GBDTs (kernel.ts), when the forest fits it and it is enabled. */
  private readonly kernel: GbdtKernel | null;
  /** True when the bit-sliced (quantised) path is in use. */
  get isQuantised(): boolean {
    return this.q !== null;
  }
  /** True when the WebAssembly kernel scores batches of ≥ MIN_SLICED_ROWS rows. */
  get isWasm(): boolean {
    return this.kernel !== null;
  }
  /** Bit-sliced scratch: row masks per code cell, `le` masks (with / without NaN rows), node masks, planes. */
  private cells = new Int32Array(0);
  private masks = new Int32Array(0);
  private readonly rows = new Int32Array(2 << COMPLETE_MAX_DEPTH);
  private readonly planes = new Int32Array(COMPLETE_MAX_DEPTH);
  /** Codes of one block, `codes[u * BLOCK_ROWS + r]` (≤ MAX_CODE; the layout is not built otherwise). */
  private codes = new Uint16Array(0);

  /**
   * `quantised: false` forces the float path, `wasm: false` the TypeScript bit-sliced path instead of the kernel
   * (tests compare all three; bench:ml prints all three).
   */
  constructor(
    private readonly forest: Forest,
    options: { quantised?: boolean; wasm?: boolean } = {},
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
    this.kernel = options.quantised === false || options.wasm === false ? null : GbdtKernel.create(forest);
  }

  /**
   * Build the bit-sliced layout from the complete layout (pass-through padding nodes are dropped); null (float
   * path) for a hand-made model whose feature has ≥ 65,535 distinct thresholds or too many code cells in total.
   */
  private quantise(): Sliced | null {
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
    const nU = used.length;
    const searchOff = new Int32Array(nU);
    const searchSteps = new Int32Array(nU);
    const codeOff = new Int32Array(nU + 1);
    const rank = new Map<number, Map<number, number>>();
    const sortedByU: number[][] = [];
    let thrLen = 0;
    for (let u = 0; u < nU; u++) {
      const sorted = [...byFeature.get(used[u]!)!].sort((a, b) => a - b);
      if (sorted.length + 1 > MAX_CODE) return null; // codes are Uint16 (trained models: ≤ 254 bin edges)
      sortedByU.push(sorted);
      // 2^k − 1 ≥ T so that the count of thresholds below a value (0 … T) is reachable.
      const k = 32 - Math.clz32(sorted.length);
      searchOff[u] = thrLen;
      searchSteps[u] = k;
      thrLen += 1 << k;
      codeOff[u + 1] = codeOff[u]! + sorted.length + 2;
      rank.set(used[u]!, new Map(sorted.map((t, j) => [t, j])));
    }
    const searchThr = new Float32Array(thrLen).fill(Number.POSITIVE_INFINITY);
    sortedByU.forEach((sorted, u) => {
      // No −0 here: Set.prototype.add stores −0 as +0 (ECMA-262 §24.2.3.1), so `t < −0` is asked as `t < +0`.
      searchThr.set(sorted, searchOff[u]!);
    });
    const searchKey = new Int32Array(searchThr.buffer);
    for (let i = 0; i < searchKey.length; i++) {
      const b = searchKey[i]!;
      searchKey[i] = b ^ ((b >> 31) | SIGN_BIT);
    }
    const uIndex = new Map(used.map((f, u) => [f, u]));
    const treeStart = new Int32Array(this.cDepth.length + 1);
    const nodes: number[] = [];
    for (let t = 0; t < this.cDepth.length; t++) {
      treeStart[t] = nodes.length;
      const no = this.cNodeOff[t]!;
      // Complete-layout positions are already in level order.
      for (let p = 0; p < (1 << this.cDepth[t]!) - 1; p++) {
        const thr = this.cThreshold[no + p]!;
        if (thr === Number.POSITIVE_INFINITY) continue;
        const f = this.cFeature[no + p]!;
        const u = uIndex.get(f)!;
        // Left iff code ≤ rank + 1 (code 0 = NaN included only when missing goes left).
        const mask = 2 * (codeOff[u]! + rank.get(f)!.get(thr)! + 1) + this.cDefaultRight[no + p]!;
        if (mask >= 1 << (31 - POS_BITS)) return null;
        nodes.push((mask << POS_BITS) | p);
      }
    }
    treeStart[this.cDepth.length] = nodes.length;
    return {
      usedFeature: Int32Array.from(used),
      searchOff,
      searchSteps,
      searchKey,
      codeOff,
      treeStart,
      nodes: Int32Array.from(nodes),
    };
  }

  /**
   * Codes of rows [b0, b0 + m) (m ≤ BLOCK_ROWS) into `codes[u * BLOCK_ROWS + r]`, one feature column at a time
   * (sequential reads). The binary search compares order-preserving integer keys of the float32 bits with an
   * unsigned less-than built from bit operations (Hacker's Delight §2-12): no branch to mispredict on each
   * coin-flip comparison (V8 compiles a float compare + select to a branch; measured 4× slower on bench:ml).
   */
  private quantiseBlock(q: Sliced, bits: Int32Array, nRows: number, b0: number, m: number): void {
    const codes = this.codes;
    const keys = q.searchKey;
    const nU = q.usedFeature.length;
    for (let u = 0; u < nU; u++) {
      const src = q.usedFeature[u]! * nRows + b0;
      const base = q.searchOff[u]!;
      const steps = q.searchSteps[u]!;
      const dst = u * BLOCK_ROWS;
      let r = 0;
      // Four rows in lockstep: four independent search chains per step, and the step loop's exit (a branch whose
      // trip count changes from feature to feature) is paid once per four rows.
      for (; r + 3 < m; r += 4) {
        const b0 = bits[src + r]!;
        const b1 = bits[src + r + 1]!;
        const b2 = bits[src + r + 2]!;
        const b3 = bits[src + r + 3]!;
        const y0 = b0 ^ ((b0 >> 31) | SIGN_BIT);
        const y1 = b1 ^ ((b1 >> 31) | SIGN_BIT);
        const y2 = b2 ^ ((b2 >> 31) | SIGN_BIT);
        const y3 = b3 ^ ((b3 >> 31) | SIGN_BIT);
        let p0 = base;
        let p1 = base;
        let p2 = base;
        let p3 = base;
        for (let s = steps - 1; s >= 0; s--) {
          const h = (1 << s) - 1;
          let x = keys[p0 + h]!;
          p0 += ltu(x, y0) << s;
          x = keys[p1 + h]!;
          p1 += ltu(x, y1) << s;
          x = keys[p2 + h]!;
          p2 += ltu(x, y2) << s;
          x = keys[p3 + h]!;
          p3 += ltu(x, y3) << s;
        }
        codes[dst + r] = (b0 & 0x7fffffff) > FLOAT32_INF_BITS ? 0 : p0 - base + 1;
        codes[dst + r + 1] = (b1 & 0x7fffffff) > FLOAT32_INF_BITS ? 0 : p1 - base + 1;
        codes[dst + r + 2] = (b2 & 0x7fffffff) > FLOAT32_INF_BITS ? 0 : p2 - base + 1;
        codes[dst + r + 3] = (b3 & 0x7fffffff) > FLOAT32_INF_BITS ? 0 : p3 - base + 1;
      }
      for (; r < m; r++) {
        const b = bits[src + r]!;
        const y = b ^ ((b >> 31) | SIGN_BIT);
        let pos = base;
        for (let s = steps - 1; s >= 0; s--) pos += ltu(keys[pos + (1 << s) - 1]!, y) << s;
        // NaN: code 0 (its key sorts above +∞, so the search result is discarded).
        codes[dst + r] = (b & 0x7fffffff) > FLOAT32_INF_BITS ? 0 : pos - base + 1;
      }
    }
  }

  /**
   * Rows [r0, r0 + m) of the quantised block (m ≤ 32) → `masks[2c]` = rows with code ≤ c, `masks[2c + 1]` = the
   * same without the NaN rows (code 0).
   */
  private sliceBlock(q: Sliced, r0: number, m: number): void {
    const cells = this.cells;
    const masks = this.masks;
    const codes = this.codes;
    const nU = q.usedFeature.length;
    cells.fill(0);
    for (let u = 0; u < nU; u++) {
      const c0 = q.codeOff[u]!;
      const src = u * BLOCK_ROWS + r0;
      for (let r = 0; r < m; r++) cells[c0 + codes[src + r]!]! |= 1 << r;
    }
    for (let u = 0; u < nU; u++) {
      const c0 = q.codeOff[u]!;
      const c1 = q.codeOff[u + 1]!;
      const nan = cells[c0]!;
      let le = 0;
      for (let c = c0; c < c1; c++) {
        le |= cells[c]!;
        masks[2 * c] = le;
        masks[2 * c + 1] = le & ~nan;
      }
    }
  }

  /** Bit-sliced walk of all complete trees for rows [b0, b0 + m) (after `sliceBlock`), adding leaves to `out`. */
  private walkSliced(q: Sliced, b0: number, m: number, out: Float64Array): void {
    const masks = this.masks;
    const rows = this.rows;
    const planes = this.planes;
    const nodes = q.nodes;
    const leaf = this.cLeafValue;
    const nOut = this.nOut;
    const stride = this.stride;
    // Every bit: rows past m in a short slice carry stale codes, but only into their own bits, never read.
    const all = -1;
    const o0 = b0 * nOut;
    for (let t = 0; t < this.cDepth.length; t++) {
      const d = this.cDepth[t]!;
      const lo = this.cLeafOff[t]!;
      const o = this.cOutput[t]!;
      for (let l = 0; l < d; l++) planes[l] = 0;
      rows[0] = all;
      const e = q.treeStart[t + 1]!;
      for (let i = q.treeStart[t]!; i < e; i++) {
        const nd = nodes[i]!;
        const p = nd & POS_MASK;
        const mk = rows[p]!;
        const left = masks[nd >>> POS_BITS]!;
        const right = mk & ~left;
        rows[2 * p + 1] = mk & left;
        rows[2 * p + 2] = right;
        planes[31 - Math.clz32(p + 1)]! |= right;
      }
      if (d <= FIXED_PLANES && nOut === 1) {
        // Leaf index = the row's bits of planes 0 … d − 1, most significant first (six planes, zero-padded,
        // then shifted down by 6 − d). Four rows at a time: a plane's 4-bit nibble times 0x204081 puts bit i at
        // bit 8i, so one word holds the four rows' indices in its four bytes.
        const p0 = d > 0 ? planes[0]! : 0;
        const p1 = d > 1 ? planes[1]! : 0;
        const p2 = d > 2 ? planes[2]! : 0;
        const p3 = d > 3 ? planes[3]! : 0;
        const p4 = d > 4 ? planes[4]! : 0;
        const p5 = d > 5 ? planes[5]! : 0;
        const sh = FIXED_PLANES - d;
        let r = 0;
        for (; r + 3 < m; r += 4) {
          const w =
            ((Math.imul((p0 >>> r) & 15, SPREAD4) & BYTE_LSBS) << 5) |
            ((Math.imul((p1 >>> r) & 15, SPREAD4) & BYTE_LSBS) << 4) |
            ((Math.imul((p2 >>> r) & 15, SPREAD4) & BYTE_LSBS) << 3) |
            ((Math.imul((p3 >>> r) & 15, SPREAD4) & BYTE_LSBS) << 2) |
            ((Math.imul((p4 >>> r) & 15, SPREAD4) & BYTE_LSBS) << 1) |
            (Math.imul((p5 >>> r) & 15, SPREAD4) & BYTE_LSBS);
          const q0 = b0 + r;
          out[q0]! += leaf[lo + ((w & 255) >>> sh)]!;
          out[q0 + 1]! += leaf[lo + (((w >>> 8) & 255) >>> sh)]!;
          out[q0 + 2]! += leaf[lo + (((w >>> 16) & 255) >>> sh)]!;
          out[q0 + 3]! += leaf[lo + ((w >>> 24) >>> sh)]!;
        }
        for (; r < m; r++) {
          const idx =
            (((p0 >>> r) & 1) << 5) |
            (((p1 >>> r) & 1) << 4) |
            (((p2 >>> r) & 1) << 3) |
            (((p3 >>> r) & 1) << 2) |
            (((p4 >>> r) & 1) << 1) |
            ((p5 >>> r) & 1);
          out[b0 + r]! += leaf[lo + (idx >>> sh)]!;
        }
      } else {
        for (let r = 0; r < m; r++) {
          let idx = 0;
          for (let l = 0; l < d; l++) idx = (idx << 1) | ((planes[l]! >>> r) & 1);
          const li = lo + idx * stride;
          const q0 = o0 + r * nOut;
          if (o >= 0) out[q0 + o]! += leaf[li]!;
          else for (let k = 0; k < nOut; k++) out[q0 + k]! += leaf[li + k]!;
        }
      }
    }
  }

  /**
   * Each row's leaf index per tree (`r · nTrees + t`, complete layout as in kernel.ts) when the WebAssembly kernel
   * scores this forest, else null (explain.ts then walks the trees).
   */
  leafIndices(x: Float32Array, nRows: number): Uint8Array | null {
    if (this.kernel === null) return null;
    const out = new Uint8Array(nRows * this.nTrees);
    this.kernel.leafIndices(x, nRows, out);
    return out;
  }

  /** Raw outputs for a column-major matrix (`x[f * nRows + r]`) into `out` (`nRows × nOut`, row-major). */
  predictRaw(x: Float32Array, nRows: number, out: Float64Array = new Float64Array(nRows * this.nOut)): Float64Array {
    if (this.kernel && nRows >= MIN_SLICED_ROWS) {
      this.kernel.predictRaw(x, nRows, out);
      return out;
    }
    const nOut = this.nOut;
    const stride = this.stride;
    const feat = this.cFeature;
    const thr = this.cThreshold;
    const leaf = this.cLeafValue;
    for (let r = 0; r < nRows; r++) for (let k = 0; k < nOut; k++) out[r * nOut + k] = this.base[k]!;
    const q = this.q;
    if (q && nRows >= MIN_SLICED_ROWS) {
      const nCells = q.codeOff[q.usedFeature.length]!;
      if (this.cells.length < nCells) {
        this.cells = new Int32Array(nCells);
        this.masks = new Int32Array(2 * nCells);
      }
      const bits = new Int32Array(x.buffer, x.byteOffset, x.length);
      if (this.codes.length < BLOCK_ROWS * q.usedFeature.length)
        this.codes = new Uint16Array(BLOCK_ROWS * q.usedFeature.length);
      for (let b0 = 0; b0 < nRows; b0 += BLOCK_ROWS) {
        const m = Math.min(nRows, b0 + BLOCK_ROWS) - b0;
        this.quantiseBlock(q, bits, nRows, b0, m);
        for (let r0 = 0; r0 < m; r0 += SLICE_ROWS) {
          const ms = Math.min(m, r0 + SLICE_ROWS) - r0;
          this.sliceBlock(q, r0, ms);
          this.walkSliced(q, b0 + r0, ms, out);
        }
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
    return this.probabilityMalicious(this.predictRaw(x, nRows), nRows);
  }

  /**
   * pMalicious and leafIndices of the same rows; when the WebAssembly kernel scores the batch, one pass of it gives
   * both (the same values as the two calls).
   */
  pMaliciousAndLeaves(x: Float32Array, nRows: number): { p: Float64Array; leaves: Uint8Array | null } {
    if (this.kernel === null || nRows < MIN_SLICED_ROWS) {
      return { p: this.pMalicious(x, nRows), leaves: this.leafIndices(x, nRows) };
    }
    const raw = new Float64Array(nRows);
    const leaves = new Uint8Array(nRows * this.nTrees);
    this.kernel.run(x, nRows, raw, leaves);
    return { p: this.probabilityMalicious(raw, nRows), leaves };
  }

  /** p_malicious per row from the raw outputs (`nRows × nOut`). */
  private probabilityMalicious(raw: Float64Array, nRows: number): Float64Array {
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
