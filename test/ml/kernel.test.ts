/**
 * The WebAssembly kernel (src/ml/kernel.ts) must give the scores of tree.ts `predictRaw` bit for bit: same
 * decisions (x ≤ threshold, NaN by each node's default direction) and the same f64 additions in tree order.
 * Random forests here stress what trained models rarely show: values equal to a threshold and the float32
 * neighbours on either side, ±0, subnormals, ±∞, NaN, trees from depth 0 to 8 with leaves at every level, and
 * batch sizes around the 4-row, 128-row and 1024-row boundaries.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompiledForest } from '../../src/ml/compile.ts';
import { buildDataset } from '../../src/ml/dataset.ts';
import { trainGbdt } from '../../src/ml/gbdt.ts';
import { GbdtKernel, KERNEL_MAX_DEPTH, kernelFits } from '../../src/ml/kernel.ts';
import { loadModel } from '../../src/ml/model.ts';
import { Prng } from '../../src/ml/prng.ts';
import { readTableFile } from '../../src/ml/table.ts';
import { type Forest, predictRaw, type Tree, treeDepth } from '../../src/ml/tree.ts';
import { F64, Fn, I32, Op, wasmModule } from '../../src/ml/wasm.ts';
import { HAS_SHARED, PROJECT_ROOT, sharedPath } from '../helpers/shared.ts';
import { treeOf } from '../helpers/trees.ts';

/** The float32 next to `v` towards +∞ (`up`) or −∞. */
function nextFloat32(v: number, up: boolean): number {
  const f = new Float32Array([v]);
  const u = new Int32Array(f.buffer);
  if (v === 0) return up ? 1e-45 : -1e-45;
  u[0]! += v > 0 === up ? 1 : -1;
  return f[0]!;
}

const EDGE_THRESHOLDS = [-0, 0, 1e-45, -1e-45, 1.5, -2, 1e30, -1e30, 3.4028234663852886e38, 7, 0.1];

/** A random tree over `nF` features of depth exactly `depth` (one path is forced down), leaves at every level. */
function randomTree(rng: Prng, nF: number, depth: number, thresholds: number[]): Tree {
  const feature: number[] = [];
  const threshold: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const defaultLeft: number[] = [];
  const value: number[] = [];
  const grow = (lvl: number, forced: boolean): number => {
    const id = feature.length;
    feature.push(-1);
    threshold.push(0);
    left.push(-1);
    right.push(-1);
    defaultLeft.push(0);
    value.push(0);
    if (lvl < depth && (forced || rng.nextFloat() < 0.7)) {
      feature[id] = rng.nextInt(nF);
      threshold[id] = Math.fround(thresholds[rng.nextInt(thresholds.length)]!);
      defaultLeft[id] = rng.nextInt(2);
      const forceLeft = rng.nextInt(2) === 0;
      left[id] = grow(lvl + 1, forced && forceLeft);
      right[id] = grow(lvl + 1, forced && !forceLeft);
    } else {
      // Leaf values of very different magnitudes, so a changed addition order would show in the sum.
      value[id] = rng.nextInt(8) === 0 ? -0 : (rng.nextFloat() - 0.5) * 10 ** (rng.nextInt(12) - 6);
    }
    return id;
  };
  grow(0, true);
  return treeOf({ feature, threshold, left, right, defaultLeft, value });
}

/** Column-major rows whose values sit on, just above and just below the thresholds, plus the special values. */
function edgeRows(rng: Prng, nF: number, n: number, thresholds: number[]): Float32Array {
  const special = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0, 1e-45, -1e-45];
  const x = new Float32Array(nF * n);
  for (let i = 0; i < x.length; i++) {
    const t = Math.fround(thresholds[rng.nextInt(thresholds.length)]!);
    const k = rng.nextInt(4);
    x[i] = k === 0 ? t : k === 1 ? nextFloat32(t, true) : k === 2 ? nextFloat32(t, false) : special[rng.nextInt(7)]!;
  }
  return x;
}

/** Asserts the kernel is used and gives predictRaw's bits; also the TypeScript bit-sliced and float paths. */
function assertSameScores(f: Forest, x: Float32Array, n: number, cf = new CompiledForest(f)): void {
  assert.ok(cf.isWasm);
  const want = predictRaw(f, x, n);
  assert.deepEqual(cf.predictRaw(x, n), want);
  assert.deepEqual(new CompiledForest(f, { wasm: false }).predictRaw(x, n), want);
  assert.deepEqual(new CompiledForest(f, { quantised: false }).predictRaw(x, n), want);
}

test('kernel scores equal predictRaw bit for bit on random trees of depth 0 to 8 over edge values', () => {
  const rng = new Prng(42);
  const nF = 5;
  for (let round = 0; round < 6; round++) {
    const trees: Tree[] = [];
    for (let t = 0; t < 40; t++) trees.push(randomTree(rng, nF, t % (KERNEL_MAX_DEPTH + 1), EDGE_THRESHOLDS));
    const forest: Forest = { algo: 'gbdt', nClasses: 2, stride: 1, baseScore: [0.3], trees, nFeatures: nF };
    assert.equal(Math.max(...trees.map(treeDepth)), KERNEL_MAX_DEPTH);
    // 1031: a short last 4-row group and 128-row block after a full 1024-row chunk.
    const n = 1031;
    assertSameScores(forest, edgeRows(rng, nF, n, EDGE_THRESHOLDS), n);
  }
});

test('kernel: batch sizes around the 4-, 128- and 1024-row boundaries, reusing one instance (stale rows)', () => {
  const rng = new Prng(7);
  const nF = 4;
  const thresholds = [-1, 0, 0.5, 2, 100];
  const trees = Array.from({ length: 30 }, (_, t) => randomTree(rng, nF, 1 + (t % 6), thresholds));
  const forest: Forest = { algo: 'gbdt', nClasses: 2, stride: 1, baseScore: [-1.25], trees, nFeatures: nF };
  const cf = new CompiledForest(forest);
  for (const n of [2100, 8, 9, 127, 128, 129, 1023, 1024, 1025, 2049, 11]) {
    assertSameScores(forest, edgeRows(rng, nF, n, thresholds), n, cf);
  }
});

test('kernel scores of the bundled default model equal predictRaw over values on and around its thresholds', () => {
  const { forest } = loadModel(`${PROJECT_ROOT}/models/default.json`);
  const thresholds = forest.trees.flatMap((t) => Array.from(t.threshold).filter((_, i) => t.feature[i]! >= 0));
  const n = 700;
  assertSameScores(forest, edgeRows(new Prng(9), forest.nFeatures, n, thresholds), n);
});

test('kernel scores equal predictRaw for a depth-6 GBDT trained on CIC-IDS2017 flows', {
  skip: !HAS_SHARED,
}, async () => {
  const csv = (f: string): string => sharedPath('datasets', 'cicids2017-improved-sample', f);
  const tables = [await readTableFile(csv('BENIGN_2500.csv')), await readTableFile(csv('DDoS_2500.csv'))];
  const ds = buildDataset(tables, { multiclass: false, labeler: null });
  const train = { x: ds.x, nRows: ds.nRows, nF: ds.featureNames.length, y: ds.y, nClasses: 2, weight: null };
  const { forest } = trainGbdt(train, null, { nTrees: 40, maxDepth: 6, seed: 1 });
  assertSameScores(forest, ds.x, ds.nRows);
});

test('kernel takes binary GBDTs of depth ≤ 8 with float32 thresholds only; other forests keep their paths', () => {
  const rng = new Prng(3);
  const gbdt = (trees: Tree[], nClasses = 2): Forest => ({
    algo: 'gbdt',
    nClasses,
    stride: 1,
    baseScore: new Array(nClasses === 2 ? 1 : nClasses).fill(0),
    trees,
    nFeatures: 3,
  });
  assert.ok(kernelFits(gbdt([randomTree(rng, 3, 8, [1, 2])])));
  assert.ok(!kernelFits(gbdt([randomTree(rng, 3, 9, [1, 2])])), 'depth 9: leaf index beyond a byte');
  assert.ok(!kernelFits(gbdt([randomTree(rng, 3, 3, [1, 2])], 3)), 'multiclass: one output per class');
  const notFloat32 = randomTree(rng, 3, 2, [1, 2]);
  notFloat32.threshold[0] = 0.1; // a float64 that no float32 equals: x ≤ 0.1 is not a float32 comparison
  assert.ok(!kernelFits(gbdt([notFloat32])));
  const deep = gbdt([randomTree(rng, 3, 9, [1, 2, 3]), randomTree(rng, 3, 4, [1, 2])]);
  const n = 200;
  const x = edgeRows(rng, 3, n, [1, 2, 3]);
  const cf = new CompiledForest(deep);
  assert.ok(!cf.isWasm && cf.isQuantised);
  assert.deepEqual(cf.predictRaw(x, n), predictRaw(deep, x, n));
  assert.equal(GbdtKernel.create(deep), null);
});

test('wasm.ts encodes negative and multi-byte constants and memory offsets (LEB128)', () => {
  // i32.store (0x36) of constants that take 1 to 5 signed LEB128 bytes, at offsets that take two bytes.
  const consts = [0, -1, 63, 64, -64, -65, 1 << 20, -(2 ** 31), 2 ** 31 - 1];
  const fill = new Fn('fill', [I32]);
  consts.forEach((c, k) => {
    const offset = 300 + 4 * k;
    fill.get(0).i32(c).mem(0x36, offset, 2);
  });
  const double = new Fn('double', [F64, I32]);
  double.get(1).get(0).get(0).op(Op.f64Add).mem(Op.f64Store, 0, 3);
  const wa = (globalThis as unknown as { WebAssembly: WasmForTest }).WebAssembly;
  const memory = new wa.Memory({ initial: 1 });
  const { exports } = new wa.Instance(new wa.Module(wasmModule([fill, double])), { env: { memory } });
  exports.fill!(0);
  assert.deepEqual(Array.from(new Int32Array(memory.buffer, 300, consts.length)), consts);
  exports.double!(0.75, 8);
  assert.equal(new Float64Array(memory.buffer)[1], 1.5);
});

/** The part of the WebAssembly JS API this test uses (the project's TypeScript lib has no DOM types). */
interface WasmForTest {
  Memory: new (d: { initial: number }) => { buffer: ArrayBuffer };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: Record<string, (...args: number[]) => void> };
}
