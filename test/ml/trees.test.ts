import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompiledForest } from '../../src/ml/compile.ts';
import { type TrainSet, trainGbdt } from '../../src/ml/gbdt.ts';
import { evaluate } from '../../src/ml/metrics.ts';
import { Prng } from '../../src/ml/prng.ts';
import { trainRf } from '../../src/ml/rf.ts';
import { contributions, predictRaw, rawToProba } from '../../src/ml/tree.ts';

/**
 * Synthetic data with a known answer: class 1 iff x0 + x1 > 1 (x ~ U(0,1)); x2 is noise; x3 is missing (NaN)
 * exactly when the row is class 1 and x0 > 0.5 — a model must route NaN the right way to use it.
 */
function synth(n: number, seed: number, K = 2): TrainSet {
  const rng = new Prng(seed);
  const nF = 4;
  const x = new Float32Array(n * nF);
  const y = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    const a = rng.nextFloat();
    const b = rng.nextFloat();
    x[r] = a;
    x[n + r] = b;
    x[2 * n + r] = rng.nextFloat();
    if (K === 2) y[r] = a + b > 1 ? 1 : 0;
    else y[r] = a < 1 / 3 ? 0 : a < 2 / 3 ? 1 : 2;
    x[3 * n + r] = y[r] === 1 && a > 0.5 ? Number.NaN : rng.nextFloat();
  }
  return { x, nRows: n, nF, y, nClasses: K, weight: null };
}

function accuracy(p: Float64Array, y: Int32Array, K: number): number {
  let ok = 0;
  for (let r = 0; r < y.length; r++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (p[r * K + k]! > p[r * K + best]!) best = k;
    if (best === y[r]) ok++;
  }
  return ok / y.length;
}

test('GBDT learns a known boundary and generalises', () => {
  const tr = synth(3000, 1);
  const te = synth(2000, 2);
  const { forest } = trainGbdt(tr, null, { nTrees: 60, maxDepth: 4, seed: 3 });
  const p = rawToProba(forest, predictRaw(forest, te.x, te.nRows), te.nRows);
  assert.ok(accuracy(p, te.y, 2) > 0.95, `accuracy ${accuracy(p, te.y, 2)}`);
  const m = evaluate(te.y, p, ['benign', 'malicious'], 0.5);
  assert.ok(m.roc_auc > 0.99);
});

test('GBDT uses missingness: NaN routed by the learned default direction', () => {
  const tr = synth(3000, 4);
  const { forest } = trainGbdt(tr, null, { nTrees: 30, maxDepth: 3, seed: 1 });
  // Some split must test x3 and send NaN to the side of class 1.
  let usesMissing = false;
  for (const t of forest.trees) for (let i = 0; i < t.feature.length; i++) if (t.feature[i] === 3) usesMissing = true;
  assert.ok(usesMissing);
  // A row at the boundary (x0 + x1 = 1.02) with x3 missing must score higher than the same row with x3 present.
  const one = (x3: number): number => {
    const x = Float32Array.from([0.52, 0.5, 0.5, x3]);
    return rawToProba(forest, predictRaw(forest, x, 1), 1)[1]!;
  };
  assert.ok(one(Number.NaN) > one(0.5));
});

test('GBDT softmax (3 classes) and early stopping keeps the best round', () => {
  const tr = synth(2000, 5, 3);
  const va = synth(1000, 6, 3);
  const r = trainGbdt(tr, va, { nTrees: 300, maxDepth: 3, learningRate: 0.3, earlyStoppingRounds: 10, seed: 1 });
  assert.ok(r.rounds < 300, `stopped at ${r.rounds}`);
  assert.equal(r.forest.trees.length, r.rounds * 3);
  const p = rawToProba(r.forest, predictRaw(r.forest, va.x, va.nRows), va.nRows);
  assert.ok(accuracy(p, va.y, 3) > 0.97);
});

test('training is deterministic for a seed (with row and column subsampling)', () => {
  const tr = synth(1500, 7);
  const a = trainGbdt(tr, null, { nTrees: 20, subsample: 0.7, colsample: 0.5, seed: 9 }).forest;
  const b = trainGbdt(tr, null, { nTrees: 20, subsample: 0.7, colsample: 0.5, seed: 9 }).forest;
  assert.deepEqual(predictRaw(a, tr.x, tr.nRows), predictRaw(b, tr.x, tr.nRows));
  const c = trainGbdt(tr, null, { nTrees: 20, subsample: 0.7, colsample: 0.5, seed: 10 }).forest;
  assert.notDeepEqual(predictRaw(a, tr.x, tr.nRows), predictRaw(c, tr.x, tr.nRows));
});

test('random forest learns the boundary; probabilities are leaf-distribution means', () => {
  const tr = synth(2000, 8);
  const te = synth(1000, 9);
  const f = trainRf(tr, { nTrees: 30, seed: 2 });
  const p = rawToProba(f, predictRaw(f, te.x, te.nRows), te.nRows);
  assert.ok(accuracy(p, te.y, 2) > 0.93, `accuracy ${accuracy(p, te.y, 2)}`);
  for (let r = 0; r < te.nRows; r++) assert.ok(Math.abs(p[r * 2]! + p[r * 2 + 1]! - 1) < 1e-9);
});

test('compiled predictor equals the reference walk (GBDT, multiclass, RF; NaN inputs)', () => {
  const tr = synth(1500, 10);
  const te = synth(777, 11); // not a multiple of the 4-row lanes or the block
  for (let i = 0; i < te.nRows; i += 5) te.x[i] = Number.NaN;
  const forests = [
    trainGbdt(tr, null, { nTrees: 25, maxDepth: 5, seed: 1 }).forest,
    trainGbdt(synth(1500, 12, 3), null, { nTrees: 10, maxDepth: 4, seed: 1 }).forest,
    trainRf(tr, { nTrees: 5, seed: 1 }),
  ];
  for (const f of forests) {
    const a = predictRaw(f, te.x, te.nRows);
    const b = new CompiledForest(f).predictRaw(te.x, te.nRows);
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-9, `${f.algo} row ${i}`);
  }
});

test('Saabas contributions + bias reproduce the score exactly', () => {
  const tr = synth(1500, 13);
  const g = trainGbdt(tr, null, { nTrees: 15, maxDepth: 4, seed: 1 }).forest;
  const rf = trainRf(tr, { nTrees: 8, seed: 1 });
  const out = new Float64Array(4);
  for (const f of [g, rf]) {
    const raw = predictRaw(f, tr.x, tr.nRows);
    for (let r = 0; r < 50; r++) {
      const bias = contributions(f, tr.x, tr.nRows, r, out);
      const sum = bias + out.reduce((s, v) => s + v, 0);
      // GBDT: the logit; RF: p_malicious = 1 − mean p(benign) = raw[1] for binary.
      const want = f.algo === 'gbdt' ? raw[r]! : raw[r * 2 + 1]!;
      assert.ok(Math.abs(sum - want) < 1e-9, `${f.algo} row ${r}: ${sum} vs ${want}`);
    }
  }
});

test('progress callbacks: GBDT once per boosting round (early stopping ends early), RF once per tree', () => {
  const tr = synth(800, 4);
  const va = synth(400, 5);
  const calls: [number, number][] = [];
  const r = trainGbdt(
    tr,
    va,
    { nTrees: 400, maxDepth: 3, learningRate: 0.5, earlyStoppingRounds: 3, seed: 1 },
    (d, t) => calls.push([d, t]),
  );
  // Early stopping ran: fewer calls than planned rounds, counting 1, 2, … with the planned total each time.
  assert.ok(calls.length < 400 && calls.length >= r.rounds, `${calls.length} calls, ${r.rounds} rounds kept`);
  assert.deepEqual(
    calls,
    calls.map((_, i) => [i + 1, 400]),
  );
  const multi: number[] = [];
  trainGbdt(synth(600, 6, 3), null, { nTrees: 5, maxDepth: 2, seed: 1 }, (d) => multi.push(d));
  assert.deepEqual(multi, [1, 2, 3, 4, 5]); // one call per round, not per class tree
  const rf: [number, number][] = [];
  trainRf(tr, { nTrees: 7, seed: 1 }, (d, t) => rf.push([d, t]));
  assert.deepEqual(
    rf,
    [1, 2, 3, 4, 5, 6, 7].map((d) => [d, 7]),
  );
});
