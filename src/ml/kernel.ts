/**
 * WebAssembly SIMD kernel for binary GBDT scores: the bit-sliced evaluation of compile.ts with 128 rows per
 * v128 instead of 32 per Int32, and without the quantisation step. Per block of 128 rows:
 * 1. `masks`: for every distinct (feature, threshold) of the model, the 128-bit mask of rows with x ≤ threshold
 *    (f32x4.le, four lanes at a time, packed to bits with two narrows and i8x16.bitmask), and per feature the mask
 *    of NaN rows. A NaN compares false, so it is in no `≤` mask: nodes that send missing values left OR in the
 *    NaN mask. This is the float test of tree.ts `leafOf` itself (thresholds and inputs are float32 values).
 * 2. `walk`: per tree, row masks flow down the real inner nodes in parent-before-child order (left = rows & mask,
 *    right = rows & ~mask), right-going rows of level l OR-ed into bit plane l; then the planes are transposed to
 *    one byte per row, the leaf index (bit d − 1 − l = went right at level l, as in compile.ts's complete layout;
 *    a leaf above the bottom level takes the left-most index below it). i8x16.swizzle spreads two bytes of a
 *    plane over 16 lanes, and-ing with 1, 2, … 128 then i8x16.eq picks each row's bit.
 * 3. `accumulate`: per row, base + leaf of tree 0 + leaf of tree 1 + … in tree order, in f64 — the additions of
 *    tree.ts `predictRaw`, in the same order, so the scores are bit-identical. Four rows at a time keep four
 *    independent addition chains in flight.
 *
 * The module is the same for every model (the model is data in the kernel's memory), assembled by wasm.ts at
 * first use. Only binary GBDTs (one output) with trees of depth ≤ 8 (a byte leaf index) and float32 thresholds
 * run here; compile.ts keeps its own paths for the rest. Measured by `npm run bench:ml` (inference lines).
 */

import { type Forest, outputCount, type Tree, treeDepth } from './tree.ts';
import { F64, Fn, I32, Op, Simd, V128, wasmModule } from './wasm.ts';

/** Rows per block: one bit of a v128 per row. */
const BLOCK_ROWS = 128;
/**
 * Rows per chunk copied into the kernel's memory: one `set` per used feature copies CHUNK_ROWS floats (a column
 * of `x` is contiguous). Copying 128 rows at a time cost more than the whole kernel: 71 interleaved reads of 512
 * bytes, too short for the hardware prefetcher.
 */
const CHUNK_ROWS = 1024;
/** Deepest tree the kernel takes: leaf indices are bytes. */
export const KERNEL_MAX_DEPTH = 8;
/** Bytes of one node record: ≤ mask address, NaN mask address, rows address, left child rows address, plane. */
const NODE_BYTES = 20;
/** Bytes of one tree record: first node address, end node address, depth. */
const TREE_BYTES = 12;
const PAGE_BYTES = 65536;

/** The subset of the WebAssembly JS API the kernel uses (the project's TypeScript lib has no DOM types). */
interface WasmApi {
  Memory: new (d: { initial: number }) => { buffer: ArrayBuffer };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: Record<string, unknown> };
  validate(bytes: Uint8Array): boolean;
}
const wasmApi = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

/** 16 bytes of `v`. */
const splat8 = (v: number): number[] => new Array<number>(16).fill(v);

/**
 * masks(nU, featTab, xOff, xStride, thrOff, maskOff, nanOff): step 1 of the file comment; column u of the block
 * starts at xOff + u·xStride.
 */
function masksFn(): Fn {
  const f = new Fn('masks', [I32, I32, I32, I32, I32, I32, I32]);
  const [nU, featTab, xOff, xStride, thrOff, maskOff, nanOff] = [0, 1, 2, 3, 4, 5, 6];
  const u = f.local(I32);
  const g = f.local(I32);
  const gEnd = f.local(I32);
  const xa = f.local(I32);
  const j = f.local(I32);
  const jEnd = f.local(I32);
  const v = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  const t = f.local(V128);
  /** Pushes the 16 rows' bits of `cmp(v[k])`, k = 0 … 3, as an i32 (row 4k + i → bit 4k + i). */
  const bits16 = (cmp: (k: number) => void): void => {
    cmp(0);
    cmp(1);
    f.simd(Simd.i16x8NarrowI32x4S);
    cmp(2);
    cmp(3);
    f.simd(Simd.i16x8NarrowI32x4S).simd(Simd.i8x16NarrowI16x8S).simd(Simd.i8x16Bitmask);
  };
  f.i32(0).set(u);
  f.forRange(u, nU, 1, () => {
    // g runs over the byte offsets 0, 2, … 14 of a 16-row group's bits inside a 128-bit mask.
    f.i32(0).set(g).i32(16).set(gEnd);
    f.forRange(g, gEnd, 2, () => {
      // Column u, rows 8g … 8g + 15.
      f.get(xOff).get(u).get(xStride).op(Op.i32Mul, Op.i32Add).get(g).i32(32).op(Op.i32Mul, Op.i32Add);
      f.set(xa);
      v.forEach((vk, k) => {
        const offset = 16 * k;
        f.get(xa).v128Load(offset).set(vk);
      });
      f.get(nanOff).get(u).i32(16).op(Op.i32Mul, Op.i32Add).get(g).op(Op.i32Add);
      bits16((k) => f.get(v[k]!).get(v[k]!).simd(Simd.f32x4Ne));
      f.mem(Op.i32Store16, 0, 1);
      // Thresholds j0 … j1 of feature u (featTab holds them as byte offsets 16j).
      f.get(featTab).get(u).i32(8).op(Op.i32Mul, Op.i32Add).mem(Op.i32Load, 0, 2).set(j);
      f.get(featTab).get(u).i32(8).op(Op.i32Mul, Op.i32Add).mem(Op.i32Load, 4, 2).set(jEnd);
      f.forRange(j, jEnd, 16, () => {
        f.get(thrOff).get(j).op(Op.i32Add).v128Load().set(t);
        f.get(maskOff).get(j).op(Op.i32Add).get(g).op(Op.i32Add);
        bits16((k) => f.get(v[k]!).get(t).simd(Simd.f32x4Le));
        f.mem(Op.i32Store16, 0, 1);
      });
    });
  });
  return f;
}

/** walk(nTrees, treeTab, rowsOff, planesOff, idxOff): step 2 of the file comment. */
function walkFn(): Fn {
  const f = new Fn('walk', [I32, I32, I32, I32, I32]);
  const [nTrees, treeTab, rowsOff, planesOff, idxOff] = [0, 1, 2, 3, 4];
  const ta = f.local(I32);
  const taEnd = f.local(I32);
  const na = f.local(I32);
  const naEnd = f.local(I32);
  const ca = f.local(I32);
  const pl = f.local(I32);
  const l = f.local(I32);
  const d = f.local(I32);
  const ia = f.local(I32);
  const rows = f.local(V128);
  const left = f.local(V128);
  const right = f.local(V128);
  const plane = f.local(V128);
  const idx = Array.from({ length: BLOCK_ROWS / 16 }, () => f.local(V128));
  // Lane i of group k reads bit i % 8 of plane byte 2k + (i ≥ 8).
  const bit = [1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128];
  const spread = (k: number): number[] => [...new Array(8).fill(2 * k), ...new Array(8).fill(2 * k + 1)];
  f.get(treeTab).set(ta);
  f.get(treeTab).get(nTrees).i32(TREE_BYTES).op(Op.i32Mul, Op.i32Add).set(taEnd);
  f.get(idxOff).set(ia);
  f.forRange(ta, taEnd, TREE_BYTES, () => {
    for (let offset = 0; offset < 16 * KERNEL_MAX_DEPTH; offset += 16) {
      f.get(planesOff).v128Const(splat8(0)).v128Store(offset);
    }
    f.get(rowsOff).v128Const(splat8(0xff)).v128Store();
    f.get(ta).mem(Op.i32Load, 0, 2).set(na);
    f.get(ta).mem(Op.i32Load, 4, 2).set(naEnd);
    f.forRange(na, naEnd, NODE_BYTES, () => {
      f.get(na).mem(Op.i32Load, 8, 2).v128Load().set(rows);
      f.get(na).mem(Op.i32Load, 0, 2).v128Load();
      f.get(na).mem(Op.i32Load, 4, 2).v128Load();
      f.simd(Simd.v128Or).set(left);
      f.get(na).mem(Op.i32Load, 12, 2).set(ca);
      f.get(ca).get(rows).get(left).simd(Simd.v128And).v128Store();
      f.get(rows).get(left).simd(Simd.v128AndNot).set(right);
      f.get(ca).get(right).v128Store(16);
      f.get(na).mem(Op.i32Load, 16, 2).set(pl);
      f.get(pl).get(pl).v128Load().get(right).simd(Simd.v128Or).v128Store();
    });
    // Transpose: idx = 2 idx + bit, planes 0 … d − 1 (most significant first).
    for (const r of idx) f.v128Const(splat8(0)).set(r);
    f.i32(0).set(l);
    f.get(ta).mem(Op.i32Load, 8, 2).set(d);
    f.forRange(l, d, 1, () => {
      f.get(planesOff).get(l).i32(16).op(Op.i32Mul, Op.i32Add).v128Load().set(plane);
      idx.forEach((r, k) => {
        f.get(r).get(r).simd(Simd.i8x16Add);
        f.get(plane).v128Const(spread(k)).simd(Simd.i8x16Swizzle).v128Const(bit).simd(Simd.v128And);
        f.v128Const(bit).simd(Simd.i8x16Eq); // 0xFF = −1 where the bit is set
        f.simd(Simd.i8x16Sub).set(r);
      });
    });
    idx.forEach((r, k) => {
      const offset = 16 * k;
      f.get(ia).get(r).v128Store(offset);
    });
    f.get(ia).i32(BLOCK_ROWS).op(Op.i32Add).set(ia);
  });
  return f;
}

/** accumulate(base, nTrees, m, idxOff, leafTab, outOff): step 3 of the file comment. */
function accumulateFn(): Fn {
  const f = new Fn('accumulate', [F64, I32, I32, I32, I32, I32]);
  const [base, nTrees, m, idxOff, leafTab, outOff] = [0, 1, 2, 3, 4, 5];
  const r = f.local(I32);
  const ip = f.local(I32);
  const lp = f.local(I32);
  const lpEnd = f.local(I32);
  const w = f.local(I32);
  const la = f.local(I32);
  const acc = [f.local(F64), f.local(F64), f.local(F64), f.local(F64)];
  f.get(leafTab).get(nTrees).i32(4).op(Op.i32Mul, Op.i32Add).set(lpEnd);
  f.i32(0).set(r);
  f.forRange(r, m, 4, () => {
    for (const a of acc) f.get(base).set(a);
    f.get(idxOff).get(r).op(Op.i32Add).set(ip);
    f.get(leafTab).set(lp);
    f.forRange(lp, lpEnd, 4, () => {
      // Four rows' leaf indices in one i32 (bytes), each scaled to a byte offset (× 8) into the tree's leaves.
      f.get(ip).mem(Op.i32Load, 0, 2).set(w);
      f.get(lp).mem(Op.i32Load, 0, 2).set(la);
      acc.forEach((a, k) => {
        f.get(a).get(la).get(w);
        if (k === 0) f.i32(3).op(Op.i32Shl);
        else f.i32(8 * k - 3).op(Op.i32ShrU);
        f.i32(0x7f8).op(Op.i32And, Op.i32Add).mem(Op.f64Load, 0, 3).op(Op.f64Add).set(a);
      });
      f.get(ip).i32(BLOCK_ROWS).op(Op.i32Add).set(ip);
    });
    acc.forEach((a, k) => {
      const offset = 8 * k;
      f.get(outOff).get(r).i32(8).op(Op.i32Mul, Op.i32Add).get(a).mem(Op.f64Store, offset, 3);
    });
  });
  return f;
}

let kernelModule: object | null | undefined;

/** The compiled module, or null where WebAssembly SIMD is unavailable. */
function getModule(): object | null {
  if (kernelModule === undefined) {
    const bytes = wasmModule([masksFn(), walkFn(), accumulateFn()]);
    kernelModule = wasmApi?.validate(bytes) ? new wasmApi.Module(bytes) : null;
  }
  return kernelModule;
}

/** True when `forest` fits the kernel (see the file comment). */
export function kernelFits(forest: Forest): boolean {
  if (forest.algo !== 'gbdt' || outputCount(forest) !== 1) return false;
  for (const t of forest.trees) {
    if (treeDepth(t) > KERNEL_MAX_DEPTH) return false;
    for (let i = 0; i < t.feature.length; i++) {
      if (t.feature[i]! >= 0 && Math.fround(t.threshold[i]!) !== t.threshold[i]) return false;
    }
  }
  return true;
}

type Exports = {
  masks: (
    nU: number,
    featTab: number,
    xOff: number,
    xStride: number,
    thrOff: number,
    maskOff: number,
    nanOff: number,
  ) => void;
  walk: (nTrees: number, treeTab: number, rowsOff: number, planesOff: number, idxOff: number) => void;
  accumulate: (base: number, nTrees: number, m: number, idxOff: number, leafTab: number, outOff: number) => void;
};

/** A binary GBDT laid out in the kernel's memory, with its own instance. */
export class GbdtKernel {
  private readonly fx: Exports;
  private readonly f32: Float32Array;
  private readonly f64: Float64Array;
  private readonly usedFeature: Int32Array;
  private readonly base: number;
  private readonly nTrees: number;
  // Byte offsets of the memory regions.
  private readonly xOff: number;
  private readonly featTab: number;
  private readonly thrOff: number;
  private readonly maskOff: number;
  private readonly nanOff: number;
  private readonly treeTab: number;
  private readonly rowsOff: number;
  private readonly planesOff: number;
  private readonly idxOff: number;
  private readonly leafTab: number;
  private readonly outOff: number;

  /** Null when the forest does not fit (`kernelFits`) or WebAssembly SIMD is unavailable. */
  static create(forest: Forest): GbdtKernel | null {
    const mod = getModule();
    return mod && kernelFits(forest) ? new GbdtKernel(forest, mod) : null;
  }

  private constructor(forest: Forest, mod: object) {
    this.base = forest.baseScore[0] ?? 0;
    this.nTrees = forest.trees.length;
    // Distinct thresholds per used feature: mask j of the block is rows with x[feature] ≤ threshold j.
    const thrByFeature = new Map<number, Set<number>>();
    let nNodes = 0;
    let nLeaves = 0;
    let maxDepth = 0;
    const depths = forest.trees.map(treeDepth);
    forest.trees.forEach((t, ti) => {
      for (let i = 0; i < t.feature.length; i++) {
        const f = t.feature[i]!;
        if (f < 0) continue;
        nNodes++;
        const s = thrByFeature.get(f) ?? new Set<number>();
        thrByFeature.set(f, s.add(t.threshold[i]!));
      }
      nLeaves += 1 << depths[ti]!;
      maxDepth = Math.max(maxDepth, depths[ti]!);
    });
    this.usedFeature = Int32Array.from([...thrByFeature.keys()].sort((a, b) => a - b));
    const nU = this.usedFeature.length;
    const thrIndex = new Map<number, Map<number, number>>();
    const thresholds: number[] = [];
    for (const f of this.usedFeature) {
      const m = new Map<number, number>();
      for (const v of [...thrByFeature.get(f)!].sort((a, b) => a - b)) m.set(v, thresholds.push(v) - 1);
      thrIndex.set(f, m);
    }
    const nThr = thresholds.length;

    let top = 0;
    const alloc = (bytes: number): number => {
      const at = top;
      top += Math.ceil(bytes / 16) * 16;
      return at;
    };
    const zeroOff = alloc(16); // the "no NaN rows" mask of nodes that send missing values right
    this.xOff = alloc(nU * CHUNK_ROWS * 4);
    this.thrOff = alloc(nThr * 16);
    this.maskOff = alloc(nThr * 16);
    this.nanOff = alloc(nU * 16);
    this.featTab = alloc(nU * 8);
    this.treeTab = alloc(this.nTrees * TREE_BYTES);
    const nodeTab = alloc(nNodes * NODE_BYTES);
    this.rowsOff = alloc(((2 << maxDepth) - 1) * 16);
    this.planesOff = alloc(KERNEL_MAX_DEPTH * 16);
    this.idxOff = alloc(this.nTrees * BLOCK_ROWS);
    this.leafTab = alloc(this.nTrees * 4);
    const leafOff = alloc(nLeaves * 8);
    this.outOff = alloc(BLOCK_ROWS * 8);

    const memory = new wasmApi!.Memory({ initial: Math.ceil(top / PAGE_BYTES) });
    const buf = memory.buffer;
    this.f32 = new Float32Array(buf);
    this.f64 = new Float64Array(buf);
    const i32 = new Int32Array(buf);
    thresholds.forEach((v, j) => {
      this.f32.fill(v, (this.thrOff >> 2) + 4 * j, (this.thrOff >> 2) + 4 * j + 4);
    });
    let j0 = 0;
    this.usedFeature.forEach((f, u) => {
      const n = thrByFeature.get(f)!.size;
      i32[(this.featTab >> 2) + 2 * u] = 16 * j0;
      i32[(this.featTab >> 2) + 2 * u + 1] = 16 * (j0 + n);
      j0 += n;
    });
    const uIndex = new Map<number, number>();
    this.usedFeature.forEach((f, u) => {
      uIndex.set(f, u);
    });

    let node = 0;
    let leaf = 0;
    forest.trees.forEach((t: Tree, ti) => {
      const d = depths[ti]!;
      const tr = (this.treeTab >> 2) + 3 * ti;
      i32[tr] = nodeTab + node * NODE_BYTES;
      i32[tr + 2] = d;
      i32[(this.leafTab >> 2) + ti] = leafOff + 8 * leaf;
      // Preorder: a node's rows mask is written (by its parent) before it is read.
      const place = (src: number, pos: number, lvl: number, path: number): void => {
        const f = t.feature[src]!;
        if (f < 0) {
          this.f64[(leafOff >> 3) + leaf + (path << (d - lvl))] = t.value[src]!;
          return;
        }
        const n = (nodeTab >> 2) + (NODE_BYTES >> 2) * node++;
        const u = uIndex.get(f)!;
        i32[n] = this.maskOff + 16 * thrIndex.get(f)!.get(t.threshold[src]!)!;
        i32[n + 1] = t.defaultLeft[src] === 1 ? this.nanOff + 16 * u : zeroOff;
        i32[n + 2] = this.rowsOff + 16 * pos;
        i32[n + 3] = this.rowsOff + 16 * (2 * pos + 1);
        i32[n + 4] = this.planesOff + 16 * lvl;
        place(t.left[src]!, 2 * pos + 1, lvl + 1, 2 * path);
        place(t.right[src]!, 2 * pos + 2, lvl + 1, 2 * path + 1);
      };
      place(0, 0, 0, 0);
      i32[tr + 1] = nodeTab + node * NODE_BYTES;
      leaf += 1 << d;
    });
    this.fx = new wasmApi!.Instance(mod, { env: { memory } }).exports as unknown as Exports;
  }

  /**
   * Each row's leaf in each tree, `out[r · nTrees + t]`: the index in the tree's complete layout (bit d − 1 − l =
   * went right at level l; a leaf above the bottom level has the left-most index below it), steps 1–2 of the file
   * comment without the sum. explain.ts turns these into Saabas contributions without walking the trees again.
   */
  leafIndices(x: Float32Array, nRows: number, out: Uint8Array): void {
    this.run(x, nRows, null, out);
  }

  /** Raw scores (one per row) of a column-major matrix (`x[f * nRows + r]`) into `out`. */
  predictRaw(x: Float32Array, nRows: number, out: Float64Array): void {
    this.run(x, nRows, out, null);
  }

  /**
   * Raw scores into `scores` and leaf indices into `leaves` (as predictRaw and leafIndices), each given one
   * null: one pass of steps 1–2 serves both, where scoring and then explaining a batch ran them twice.
   */
  run(x: Float32Array, nRows: number, scores: Float64Array | null, leaves: Uint8Array | null): void {
    const fx = this.fx;
    const nU = this.usedFeature.length;
    const nT = this.nTrees;
    const o0 = this.outOff >> 3;
    const u8 = new Uint8Array(this.f32.buffer);
    for (let c0 = 0; c0 < nRows; c0 += CHUNK_ROWS) {
      const mc = this.loadChunk(x, nRows, c0);
      for (let b0 = 0; b0 < mc; b0 += BLOCK_ROWS) {
        const m = Math.min(mc - b0, BLOCK_ROWS);
        fx.masks(nU, this.featTab, this.xOff + 4 * b0, 4 * CHUNK_ROWS, this.thrOff, this.maskOff, this.nanOff);
        fx.walk(nT, this.treeTab, this.rowsOff, this.planesOff, this.idxOff);
        if (scores !== null) {
          fx.accumulate(this.base, nT, m, this.idxOff, this.leafTab, this.outOff);
          scores.set(this.f64.subarray(o0, o0 + m), c0 + b0);
        }
        if (leaves !== null) {
          // Row by row: the writes are sequential, and the block's indices (nTrees × 128 bytes) stay cached for
          // the strided reads (tree by tree, the writes had a stride of nTrees bytes: 1.35× the time in a
          // micro-benchmark of 75 trees × 1024 rows, node 20).
          for (let r = 0; r < m; r++) {
            const o = (c0 + b0 + r) * nT;
            for (let t = 0, i = this.idxOff + r; t < nT; t++, i += BLOCK_ROWS) leaves[o + t] = u8[i]!;
          }
        }
      }
    }
  }

  /** Copy rows [c0, c0 + CHUNK_ROWS) of the used features into the kernel's memory; returns the row count. */
  private loadChunk(x: Float32Array, nRows: number, c0: number): number {
    const mc = Math.min(nRows - c0, CHUNK_ROWS);
    // Rows past mc of a short last chunk keep stale values: they only reach their own bits and outputs.
    for (let u = 0; u < this.usedFeature.length; u++) {
      const src = this.usedFeature[u]! * nRows + c0;
      this.f32.set(x.subarray(src, src + mc), (this.xOff >> 2) + u * CHUNK_ROWS);
    }
    return mc;
  }
}
