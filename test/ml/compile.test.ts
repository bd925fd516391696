/**
 * The quantised inference path (byte codes) must take exactly the decisions of the float path and of the
 * reference walk, including at the edges: a value equal to a threshold (goes left, x ≤ t), the next float above
 * it, ±∞, NaN routed by each node's default direction, and pass-through padding of shallow leaves. Binary GBDTs
 * run the WebAssembly kernel by default (test/ml/kernel.test.ts); `wasm: false` keeps them on the TypeScript
 * bit-sliced path, so both are checked here.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompiledForest } from '../../src/ml/compile.ts';
import { type TrainSet, trainGbdt } from '../../src/ml/gbdt.ts';
import { Prng } from '../../src/ml/prng.ts';
import { type Forest, predictRaw, type Tree } from '../../src/ml/tree.ts';
import { treeOf } from '../helpers/trees.ts';

/** A hand-built tree: root splits f0 at 1.5 (missing → left); its right child splits f1 at -2 (missing → right). */
function handTree(): Tree {
  // nodes: 0 = root, 1 = leaf A (left of root), 2 = inner, 3 = leaf B, 4 = leaf C
  return {
    feature: Int32Array.from([0, -1, 1, -1, -1]),
    threshold: Float64Array.from([1.5, 0, -2, 0, 0]),
    left: Int32Array.from([1, -1, 3, -1, -1]),
    right: Int32Array.from([2, -1, 4, -1, -1]),
    defaultLeft: Uint8Array.from([1, 0, 0, 0, 0]),
    value: Float64Array.from([0, 1, 0, 10, 100]),
    cover: Float64Array.from([3, 1, 2, 1, 1]),
    gain: Float64Array.from([1, 0, 1, 0, 0]),
    output: 0,
  };
}

test('quantised codes decide like float thresholds at the edges', () => {
  const forest: Forest = { algo: 'gbdt', nClasses: 2, stride: 1, baseScore: [0], trees: [handTree()], nFeatures: 2 };
  const above = (v: number): number => {
    const f = new Float32Array([v]);
    new Uint32Array(f.buffer)[0]! += v >= 0 ? 1 : -1;
    return f[0]!;
  };
  // [f0, f1, expected leaf value]
  const cases: [number, number, number][] = [
    [1.5, 0, 1], // equal to the threshold: left
    [above(1.5), 0, 100], // next float32 above: right, then f1 = 0 > -2: right
    [Number.NaN, 0, 1], // missing f0: root sends missing left
    [2, -2, 10], // f1 equal to its threshold: left
    [2, Number.NaN, 100], // missing f1: this node sends missing right
    [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 10],
    [Number.NEGATIVE_INFINITY, 5, 1],
  ];
  // Five copies: ≥ 8 rows, so the bit-sliced path runs (fewer rows take the float walk).
  const n = cases.length * 5;
  const x = new Float32Array(2 * n);
  for (let r = 0; r < n; r++) {
    x[r] = cases[r % cases.length]![0];
    x[n + r] = cases[r % cases.length]![1];
  }
  const q = new CompiledForest(forest, { wasm: false });
  assert.ok(q.isQuantised && !q.isWasm);
  const got = q.predictRaw(x, n);
  const wasm = new CompiledForest(forest);
  assert.ok(wasm.isWasm);
  const kernel = wasm.predictRaw(x, n);
  const flt = new CompiledForest(forest, { quantised: false }).predictRaw(x, n);
  const ref = predictRaw(forest, x, n);
  for (let r = 0; r < n; r++) {
    const [a, b, want] = cases[r % cases.length]!;
    assert.equal(got[r], want, `f0=${a} f1=${b}`);
    assert.equal(kernel[r], want, `kernel: f0=${a} f1=${b}`);
    assert.equal(flt[r], want);
    assert.equal(ref[r], want);
  }
});

test('quantised and float paths agree on a trained 60-tree GBDT with missing values', () => {
  const rng = new Prng(5);
  const n = 3001; // not a multiple of the 4-row lanes or the 128-row block
  const nF = 6;
  const x = new Float32Array(n * nF);
  const y = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    for (let f = 0; f < nF; f++) x[f * n + r] = rng.nextFloat() < 0.1 ? Number.NaN : rng.nextFloat() * 100 - 50;
    y[r] = (x[r]! > 0 ? 1 : 0) ^ (x[n + r]! > 10 ? 1 : 0);
  }
  const train: TrainSet = { x, nRows: n, nF, y, nClasses: 2, weight: null };
  const f = trainGbdt(train, null, { nTrees: 60, maxDepth: 6, seed: 3 }).forest;
  const q = new CompiledForest(f, { wasm: false });
  assert.ok(q.isQuantised);
  const flt = new CompiledForest(f, { quantised: false }).predictRaw(x, n);
  assert.deepEqual(q.predictRaw(x, n), flt);
  assert.deepEqual(new CompiledForest(f).predictRaw(x, n), flt);
  const ref = predictRaw(f, x, n);
  const got = q.predictRaw(x, n);
  for (let r = 0; r < n; r++) assert.ok(Math.abs(ref[r]! - got[r]!) < 1e-9);
});

test('bit-sliced path: signed zeros, depth-0 and depth-8 trees, multiclass and RF outputs match the float walk', () => {
  // Tree A: a single leaf (depth 0). Tree B: a depth-8 left spine on f0 (generic plane gather, deeper than the
  // six fixed planes), thresholds -0 (a hand-written model may hold it), 0, and six more. Tree C: the hand tree.
  const leafOnly: Tree = {
    feature: Int32Array.from([-1]),
    threshold: Float64Array.from([0]),
    left: Int32Array.from([-1]),
    right: Int32Array.from([-1]),
    defaultLeft: Uint8Array.from([0]),
    value: Float64Array.from([0.25]),
    cover: Float64Array.from([1]),
    gain: Float64Array.from([0]),
    output: 0,
  };
  const thr = [-0, 0, -1e-30, 1e-30, -3, 3, 1e30, -1e30];
  // Node 2i is inner (splits f0 at thr[i], missing → right when i is odd), node 2i+1 its right leaf, last a leaf.
  const nInner = thr.length;
  const feature: number[] = [];
  const threshold: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const defaultLeft: number[] = [];
  const value: number[] = [];
  for (let i = 0; i < nInner; i++) {
    feature.push(0, -1);
    threshold.push(thr[i]!, 0);
    left.push(2 * i + 2, -1);
    right.push(2 * i + 1, -1);
    defaultLeft.push(i % 2 === 0 ? 1 : 0, 0);
    value.push(0, 10 ** (i % 6) + i);
  }
  feature.push(-1);
  threshold.push(0);
  left.push(-1);
  right.push(-1);
  defaultLeft.push(0);
  value.push(-7);
  const spine = treeOf({ feature, threshold, left, right, defaultLeft, value }, 1);
  const values = [-0, 0, -1e-30, 1e-30, -1e-45, 1e-45, -3, 3, 1e30, -1e30, Infinity, -Infinity, Number.NaN, 1.5, -2, 2];
  const n = 77; // two full 32-row slices and a partial one
  const x = new Float32Array(2 * n);
  for (let r = 0; r < n; r++) {
    x[r] = values[r % values.length]!;
    x[n + r] = values[(r * 7) % values.length]!;
  }
  const gbdt3: Forest = {
    algo: 'gbdt',
    nClasses: 3,
    stride: 1,
    baseScore: [0.1, 0.2, 0.3],
    trees: [leafOnly, spine, { ...handTree(), output: 2 }],
    nFeatures: 2,
  };
  const rfTree = (t: Tree): Tree => ({
    ...t,
    output: -1,
    value: Float64Array.from(Array.from(t.value).flatMap((v) => [v, -v])),
  });
  const rf: Forest = {
    algo: 'rf',
    nClasses: 2,
    stride: 2,
    baseScore: [],
    trees: [rfTree(leafOnly), rfTree(spine), rfTree(handTree())],
    nFeatures: 2,
  };
  for (const f of [gbdt3, rf]) {
    const sliced = new CompiledForest(f);
    assert.ok(sliced.isQuantised);
    const got = sliced.predictRaw(x, n);
    assert.deepEqual(got, new CompiledForest(f, { quantised: false }).predictRaw(x, n));
    assert.deepEqual(got, predictRaw(f, x, n));
  }
});

test('bit-sliced and float paths agree on a depth-6 binary GBDT over NaN-heavy rows (fixed-plane gather)', () => {
  const rng = new Prng(11);
  const n = 1000;
  const nF = 5;
  const x = new Float32Array(n * nF);
  const y = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    for (let f = 0; f < nF; f++)
      x[f * n + r] = rng.nextFloat() < 0.3 ? Number.NaN : Math.round(rng.nextFloat() * 40) - 20;
    y[r] = (x[r]! > 0 ? 1 : 0) ^ (Number.isNaN(x[2 * n + r]!) ? 1 : 0);
  }
  const f = trainGbdt({ x, nRows: n, nF, y, nClasses: 2, weight: null }, null, {
    nTrees: 40,
    maxDepth: 6,
    seed: 2,
  }).forest;
  // 1 and 3 rows take the float walk; 33 and 129 end in a 1-row slice.
  for (const m of [n, 1, 3, 33, 129]) {
    const xs = new Float32Array(m * nF);
    for (let ff = 0; ff < nF; ff++) xs.set(x.subarray(ff * n, ff * n + m), ff * m);
    const flt = new CompiledForest(f, { quantised: false }).predictRaw(xs, m);
    assert.deepEqual(new CompiledForest(f, { wasm: false }).predictRaw(xs, m), flt);
    assert.deepEqual(new CompiledForest(f).predictRaw(xs, m), flt);
  }
});
