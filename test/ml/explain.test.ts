/**
 * Reasons come from PathContributions (src/ml/explain.ts), a flattened copy of the forest: its per-feature
 * contributions must equal tree.ts `contributions` bit for bit, for binary and multiclass GBDT and for RF, with
 * missing values routed both ways, and the reason text must name the largest contributions.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompiledForest } from '../../src/ml/compile.ts';
import { PathContributions, topReasons } from '../../src/ml/explain.ts';
import { type TrainSet, trainGbdt } from '../../src/ml/gbdt.ts';
import { Prng } from '../../src/ml/prng.ts';
import { trainRf } from '../../src/ml/rf.ts';
import { contributions, type Forest } from '../../src/ml/tree.ts';

/** Class from x0 and x1 (binary: x0 + x1 > 1; K classes: bands of x0); x3 missing for a part of class 1. */
function data(n: number, seed: number, K: number): TrainSet {
  const rng = new Prng(seed);
  const nF = 5;
  const x = new Float32Array(n * nF);
  const y = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    const a = rng.nextFloat();
    const b = rng.nextFloat();
    x[r] = a;
    x[n + r] = b;
    x[2 * n + r] = rng.nextFloat();
    y[r] = K === 2 ? (a + b > 1 ? 1 : 0) : Math.min(K - 1, Math.floor(a * K));
    x[3 * n + r] = y[r] === 1 && b > 0.5 ? Number.NaN : rng.nextFloat();
    x[4 * n + r] = r % 7 === 0 ? Number.NaN : rng.nextFloat() * 100;
  }
  return { x, nRows: n, nF, y, nClasses: K, weight: null };
}

function assertSameContributions(forest: Forest, set: TrainSet): void {
  const paths = new PathContributions(forest);
  const want = new Float64Array(set.nF);
  const got = new Float64Array(set.nF);
  for (let r = 0; r < set.nRows; r++) {
    contributions(forest, set.x, set.nRows, r, want);
    paths.into(set.x, set.nRows, r, got);
    assert.deepEqual(got, want, `row ${r}`);
  }
}

test('flattened contributions equal tree walks: binary GBDT', () => {
  const train = data(2000, 1, 2);
  const forest = trainGbdt(train, null, { nTrees: 40, maxDepth: 5, seed: 2 }).forest;
  assertSameContributions(forest, data(500, 9, 2));
});

test('contributions from the leaf indices of the kernel equal tree walks: binary GBDT with missing values', (t) => {
  const forest = trainGbdt(data(3000, 1, 2), null, { nTrees: 60, maxDepth: 6, seed: 7 }).forest;
  const compiled = new CompiledForest(forest);
  if (!compiled.isWasm) {
    t.skip('no WebAssembly SIMD here: no leaf indices');
    return;
  }
  const set = data(700, 13, 2); // 700 rows: several 128-row blocks and a short last one
  const leaves = compiled.leafIndices(set.x, set.nRows);
  assert.ok(leaves);
  const paths = new PathContributions(forest);
  const want = new Float64Array(set.nF);
  const got = new Float64Array(set.nF);
  for (let r = 0; r < set.nRows; r++) {
    contributions(forest, set.x, set.nRows, r, want);
    assert.ok(paths.fromLeaves(leaves, r, got));
    assert.deepEqual(got, want, `row ${r}`);
  }
  // Forests the kernel does not score have no leaf paths: the tree walk is used.
  assert.equal(new CompiledForest(trainRf(data(500, 5, 2), { nTrees: 3, seed: 6 })).leafIndices(set.x, 1), null);
});

test('flattened contributions equal tree walks: multiclass GBDT (benign logit, negated)', () => {
  const forest = trainGbdt(data(2000, 3, 3), null, { nTrees: 15, maxDepth: 4, seed: 4 }).forest;
  assertSameContributions(forest, data(400, 10, 3));
});

test('flattened contributions equal tree walks: random forest (deep trees)', () => {
  const forest = trainRf(data(1500, 5, 2), { nTrees: 12, seed: 6 });
  assertSameContributions(forest, data(400, 11, 2));
});

test('reasons name the features with the largest contributions, with value and sign', () => {
  const set = data(300, 12, 2);
  const forest = trainGbdt(data(2000, 1, 2), null, { nTrees: 40, maxDepth: 5, seed: 2 }).forest;
  const names = ['a', 'b', 'noise', 'sometimes_missing', 'big'];
  const scratch = new Float64Array(set.nF);
  const want = new Float64Array(set.nF);
  for (let r = 0; r < set.nRows; r++) {
    const reasons = topReasons(forest, names, set.x, set.nRows, r, scratch);
    contributions(forest, set.x, set.nRows, r, want);
    const top = [...want.keys()]
      .filter((i) => want[i] !== 0)
      .sort((i, j) => Math.abs(want[j]!) - Math.abs(want[i]!) || i - j)
      .slice(0, 3);
    assert.deepEqual(
      reasons.map((s) => s.slice(0, s.indexOf('='))),
      top.map((i) => names[i]),
    );
    for (const [k, s] of reasons.entries()) {
      const c = want[top[k]!]!;
      assert.ok(s.endsWith(`(${c >= 0 ? '+' : ''}${c.toFixed(3)})`), s);
    }
  }
});

test('reasons from leaf indices equal reasons from tree walks, also for runs of repeated flow shapes', (t) => {
  const forest = trainGbdt(data(3000, 1, 2), null, { nTrees: 40, maxDepth: 5, seed: 3 }).forest;
  const compiled = new CompiledForest(forest);
  if (!compiled.isWasm) {
    t.skip('no WebAssembly SIMD here: no leaf indices');
    return;
  }
  // Rows in runs: exact repeats, repeats that differ only by a tiny amount (same leaves, other printed values)
  // and by a missing value.
  const base = data(60, 21, 2);
  const n = base.nRows * 4;
  const x = new Float32Array(base.nF * n);
  for (let f = 0; f < base.nF; f++) {
    for (let r = 0; r < n; r++) {
      const v = base.x[f * base.nRows + Math.floor(r / 4)]!;
      x[f * n + r] = r % 4 === 2 ? v + 1e-6 : r % 4 === 3 && f === 4 ? Number.NaN : v;
    }
  }
  const names = ['a', 'b', 'noise', 'sometimes_missing', 'big'];
  const leaves = compiled.leafIndices(x, n);
  const scratch = new Float64Array(base.nF);
  for (let r = 0; r < n; r++) {
    const fast = topReasons(forest, names, x, n, r, scratch, 3, leaves);
    assert.deepEqual(fast, topReasons(forest, names, x, n, r, scratch, 3, null), `row ${r}`);
  }
});

test('cached reasons (leaf vectors seen in earlier batches, other values, shared lists) equal reasons from tree walks', (t) => {
  const forest = trainGbdt(data(3000, 1, 2), null, { nTrees: 30, maxDepth: 4, seed: 5 }).forest;
  const compiled = new CompiledForest(forest);
  if (!compiled.isWasm) {
    t.skip('no WebAssembly SIMD here: no leaf indices');
    return;
  }
  // Three batches of the same 50 rows in other orders; in the later ones a value moves by a tiny amount (same
  // leaves, another printed value) or goes missing.
  const base = data(50, 31, 2);
  const batch = (shift: number, tweak: boolean) => {
    const n = base.nRows;
    const x = new Float32Array(base.nF * n);
    for (let f = 0; f < base.nF; f++) {
      for (let r = 0; r < n; r++) {
        const v = base.x[f * n + ((r * 7 + shift) % n)]!;
        x[f * n + r] = tweak && r % 3 === 0 ? (f === 4 ? Number.NaN : v + 1e-6) : v;
      }
    }
    return x;
  };
  const n = base.nRows;
  const names = ['a', 'b', 'noise', 'sometimes_missing', 'big'];
  const scratch = new Float64Array(base.nF);
  for (const shared of [false, true]) {
    // The list objects returned: with shared lists, rows with the same reasons get the same one.
    const lists = new Set<string[]>();
    let calls = 0;
    for (const [shift, tweak] of [
      [0, false],
      [13, false],
      [29, true],
      [13, true],
    ] as const) {
      const x = batch(shift, tweak);
      const leaves = compiled.leafIndices(x, n);
      for (let r = 0; r < n; r++) {
        const got = topReasons(forest, names, x, n, r, scratch, 3, leaves, shared);
        assert.deepEqual(got, topReasons(forest, names, x, n, r, scratch, 3, null), `row ${r}`);
        assert.equal(Object.isFrozen(got), shared);
        lists.add(got);
        calls++;
      }
    }
    // Each row twice in a row: the second gets the first one's list when lists are shared.
    const twice = new Float32Array(base.nF * 2 * n);
    for (let f = 0; f < base.nF; f++) {
      for (let r = 0; r < 2 * n; r++) twice[f * 2 * n + r] = base.x[f * n + (r >> 1)]!;
    }
    const twiceLeaves = compiled.leafIndices(twice, 2 * n);
    for (let r = 0; r < 2 * n; r += 2) {
      const first = topReasons(forest, names, twice, 2 * n, r, scratch, 3, twiceLeaves, shared);
      const second = topReasons(forest, names, twice, 2 * n, r + 1, scratch, 3, twiceLeaves, shared);
      assert.deepEqual(second, first);
      assert.equal(second === first, shared, `row ${r}`);
    }
    if (!shared) assert.equal(lists.size, calls, 'a new list per call');
    else assert.ok(lists.size < calls);
  }
  // Other feature names for the same forest: the cached texts are not reused.
  const x = batch(0, false);
  const leaves = compiled.leafIndices(x, n);
  const upper = names.map((s) => s.toUpperCase());
  for (let r = 0; r < n; r++) {
    assert.deepEqual(
      topReasons(forest, upper, x, n, r, scratch, 3, leaves),
      topReasons(forest, upper, x, n, r, scratch, 3, null),
    );
  }
  // Another k: as many reasons as asked for.
  for (let r = 0; r < n; r++) {
    assert.deepEqual(
      topReasons(forest, names, x, n, r, scratch, 2, leaves),
      topReasons(forest, names, x, n, r, scratch, 2, null),
    );
  }
});
