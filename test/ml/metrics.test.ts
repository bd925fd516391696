import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  averagePrecision,
  confusion,
  curves,
  evaluate,
  mcc,
  perClass,
  rocAuc,
  thresholdForFpr,
  tprAtFpr,
} from '../../src/ml/metrics.ts';

const close = (a: number, b: number, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol, `${a} ≉ ${b}`);

test('ROC-AUC: Mann–Whitney with ties counted ½ (hand-computed)', () => {
  // Positives 0.9, 0.4; negatives 0.4, 0.1. Pairs: (0.9>0.4) 1, (0.9>0.1) 1, (0.4=0.4) ½, (0.4>0.1) 1 → 3.5/4.
  close(rocAuc([1, 1, 0, 0], [0.9, 0.4, 0.4, 0.1]), 0.875);
  close(rocAuc([1, 0], [0.2, 0.8]), 0);
  assert.ok(Number.isNaN(rocAuc([1, 1], [0.2, 0.8])));
});

test('average precision (step-wise, sklearn convention)', () => {
  // Ranked: 0.9 pos, 0.8 neg, 0.7 pos, 0.1 neg → AP = ½·1 + ½·(2/3) = 5/6.
  close(averagePrecision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]), 5 / 6);
});

test('MCC: binary formula and degenerate cases', () => {
  // TP 3, FN 1, FP 2, TN 4: (3·4 − 2·1)/√(5·4·6·5) = 10/√600.
  const cm = [
    [4, 2],
    [1, 3],
  ];
  close(mcc(cm), 10 / Math.sqrt(600));
  assert.equal(
    mcc([
      [5, 0],
      [0, 0],
    ]),
    0,
  );
});

test('confusion and per-class P/R/F1', () => {
  const cm = confusion([0, 0, 1, 1, 2], [0, 1, 1, 1, 0], 3);
  assert.deepEqual(cm, [
    [1, 1, 0],
    [0, 2, 0],
    [1, 0, 0],
  ]);
  const pc = perClass(cm);
  close(pc[0]!.precision, 0.5);
  close(pc[0]!.recall, 0.5);
  close(pc[1]!.precision, 2 / 3);
  close(pc[1]!.f1, 0.8);
  assert.equal(pc[2]!.f1, 0); // no correct prediction: zero_division = 0
});

test('TPR at FPR and the threshold for a target FPR', () => {
  // 10 negatives at 0.0 .. 0.9, positives at 0.95 and 0.5.
  const score = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.5];
  const pos = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1];
  // FPR ≤ 0 → only 0.95 qualifies: TPR ½. FPR ≤ 0.1 → threshold 0.9: still ½ (0.5 needs FPR 0.5).
  close(tprAtFpr(pos, score, 0), 0.5);
  close(tprAtFpr(pos, score, 0.1), 0.5);
  close(tprAtFpr(pos, score, 0.5), 1);
  close(thresholdForFpr(pos, score, 0.1), 0.9);
  close(thresholdForFpr(pos, score, 0), 0.95);
});

test('curves are downsampled to ≤ 200 points and span 0..1', () => {
  const n = 5000;
  const pos = Array.from({ length: n }, (_, i) => i % 3 === 0);
  const score = Array.from({ length: n }, (_, i) => ((i * 7919) % n) / n);
  const { roc, pr } = curves(pos, score);
  assert.ok(roc.length <= 200 && pr.length <= 200);
  assert.deepEqual([roc[0]!.x, roc[0]!.y], [0, 0]);
  close(roc[roc.length - 1]!.x, 1);
  close(roc[roc.length - 1]!.y, 1);
});

test('evaluate: keys and binary verdict at the threshold', () => {
  const y = Int32Array.from([0, 0, 1, 1]);
  const proba = Float64Array.from([0.9, 0.1, 0.4, 0.6, 0.3, 0.7, 0.8, 0.2]); // p_mal = .1 .6 .7 .2
  const m = evaluate(y, proba, ['benign', 'malicious'], 0.5);
  assert.deepEqual(m.confusion, [
    [1, 1],
    [1, 1],
  ]);
  close(m.f1, 0.5);
  close(m.macro_f1, 0.5);
  close(m.roc_auc, 0.75); // pairs (.7,.1) (.7,.6) (.2,.1) won, (.2,.6) lost
  for (const k of ['macro_f1', 'f1', 'roc_auc', 'pr_auc', 'mcc', 'confusion', 'tpr_at_fpr']) assert.ok(k in m, k);
});
