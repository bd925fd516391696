/**
 * The quantised inference path (byte codes) must take exactly the decisions of the float path and of the
 * reference walk, including at the edges: a value equal to a threshold (goes left, x ≤ t), the next float above
 * it, ±∞, NaN routed by each node's default direction, and pass-through padding of shallow leaves.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompiledForest } from '../../src/ml/compile.ts';
import { type TrainSet, trainGbdt } from '../../src/ml/gbdt.ts';
import { Prng } from '../../src/ml/prng.ts';
import { type Forest, predictRaw, type Tree } from '../../src/ml/tree.ts';

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
  const n = cases.length;
  const x = new Float32Array(2 * n);
  cases.forEach(([a, b], r) => {
    x[r] = a;
    x[n + r] = b;
  });
  const q = new CompiledForest(forest);
  assert.ok(q.isQuantised);
  const got = q.predictRaw(x, n);
  const flt = new CompiledForest(forest, { quantised: false }).predictRaw(x, n);
  const ref = predictRaw(forest, x, n);
  cases.forEach(([a, b, want], r) => {
    assert.equal(got[r], want, `f0=${a} f1=${b}`);
    assert.equal(flt[r], want);
    assert.equal(ref[r], want);
  });
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
  const q = new CompiledForest(f);
  assert.ok(q.isQuantised);
  assert.deepEqual(q.predictRaw(x, n), new CompiledForest(f, { quantised: false }).predictRaw(x, n));
  const ref = predictRaw(f, x, n);
  const got = q.predictRaw(x, n);
  for (let r = 0; r < n; r++) assert.ok(Math.abs(ref[r]! - got[r]!) < 1e-9);
});
