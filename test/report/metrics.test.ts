import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aggregateFlows } from '../../src/report/aggregate.ts';
import { mcc, qualityFromFlows, readEvaluation, readImportance, thinCurve } from '../../src/report/metrics.ts';
import type { FlowRow } from '../../src/report/rows.ts';
import { syntheticEvaluation } from './synthetic.ts';

const close = (a: number | undefined, b: number, tol = 1e-9) =>
  assert.ok(a !== undefined && Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('evaluation in the documented shape: headline, curves, confusion, operating point, importance', () => {
  const q = readEvaluation(syntheticEvaluation(), undefined, 0.5)!;
  assert.equal(q.source, 'evaluation');
  assert.deepEqual(
    q.headline.map((h) => h.name),
    ['Macro F1', 'F1 (malicious)', 'ROC AUC', 'PR AUC', 'MCC'],
  );
  assert.ok(q.roc && q.roc.points.length > 10);
  assert.equal(q.roc.auc, 0.973);
  assert.deepEqual(q.confusion?.labels, ['benign', 'malicious']);
  // operating point from the 2×2 confusion [[tn, fp], [fn, tp]]
  close(q.operating?.fpr, 288 / (17712 + 288));
  close(q.operating?.tpr, 1738 / (1738 + 262));
  close(q.operating?.precision, 1738 / (1738 + 288));
  assert.equal(q.operating?.threshold, 0.5);
  close(q.pr?.prevalence, 2000 / 20000);
  assert.deepEqual(
    q.tprAtFpr.map((r) => r.fpr),
    [0.001, 0.01, 0.1],
  );
  assert.equal(q.importance[0]!.feature, 'bidirectional_mean_ps');
  assert.equal(q.perClass.length, 2);
  assert.deepEqual(
    q.other.map((o) => o.name),
    ['model', 'dataset', 'n_test'],
  );
});

test('evaluation variants: parallel-array curves, tp/fp/tn/fn, sklearn report, nested metrics, [x,y] points', () => {
  const q = readEvaluation(
    {
      metrics: { roc_auc: 0.8, pr_auc: 0.5 },
      roc_curve: { fpr: [0, 0.5, 1], tpr: [0, 0.8, 1], thresholds: [1, 0.5, 0] },
      pr_curve: [
        [0, 1],
        [0.8, 0.6],
        [1, 0.5],
      ],
      confusion: { tp: 8, fp: 5, tn: 5, fn: 2 },
      report: { benign: { precision: 0.7, recall: 0.5, 'f1-score': 0.58, support: 10 }, accuracy: 0.65 },
      feature_importance: [['b', 0.2], { feature: 'a', importance: 0.5 }],
      tpr_at_fpr: [{ fpr: 0.01, tpr: 0.3 }],
    },
    undefined,
    undefined,
  )!;
  assert.deepEqual(
    q.headline.map((h) => [h.name, h.value]),
    [
      ['ROC AUC', 0.8],
      ['PR AUC', 0.5],
    ],
  );
  assert.deepEqual(q.roc?.points[1], { x: 0.5, y: 0.8, threshold: 0.5 });
  assert.equal(q.pr?.points.length, 3);
  assert.deepEqual(q.confusion?.matrix, [
    [5, 5],
    [2, 8],
  ]);
  assert.deepEqual(q.perClass, [{ label: 'benign', precision: 0.7, recall: 0.5, f1: 0.58, support: 10 }]);
  assert.deepEqual(
    q.importance.map((d) => d.feature),
    ['a', 'b'],
  );
  assert.deepEqual(q.tprAtFpr, [{ fpr: 0.01, tpr: 0.3 }]);
  close(q.operating?.tpr, 0.8);
});

test('src/ml Metrics shape: {x, y, threshold} curve points and `classes` as confusion labels', () => {
  const q = readEvaluation(
    {
      n: 10,
      classes: ['benign', 'malicious'],
      threshold: 0.42,
      confusion: [
        [4, 1],
        [1, 4],
      ],
      roc_curve: [
        { x: 0, y: 0, threshold: 1 },
        { x: 0.2, y: 0.8, threshold: 0.42 },
        { x: 1, y: 1, threshold: 0 },
      ],
      pr_curve: [{ x: 0.8, y: 0.8, threshold: 0.42 }],
      tpr_at_fpr: { '0.01': 0.5 },
    },
    undefined,
    0.5,
  )!;
  assert.equal(q.operating?.threshold, 0.42);
  assert.equal(q.roc?.points.length, 3);
  assert.equal(q.pr, undefined); // one point is not a curve
  assert.deepEqual(q.tprAtFpr, [{ fpr: 0.01, tpr: 0.5 }]);
});

test('nothing usable → undefined; non-objects → undefined', () => {
  assert.equal(readEvaluation({ hello: 'world' }, undefined, 0.5), undefined);
  assert.equal(readEvaluation([1, 2], undefined, 0.5), undefined);
  assert.equal(readEvaluation(null, undefined, 0.5), undefined);
  assert.equal(readEvaluation({ confusion: [[1, 2], [3]] }, undefined, 0.5), undefined); // ragged matrix
});

test('thinCurve keeps the ends and drops points closer than eps', () => {
  const pts = Array.from({ length: 10_001 }, (_, i) => ({ x: i / 10_000, y: Math.sqrt(i / 10_000) }));
  const thin = thinCurve(pts, 0.01);
  assert.ok(thin.length < 250);
  assert.deepEqual(thin[0], pts[0]);
  assert.deepEqual(thin.at(-1), pts.at(-1));
});

test('readImportance: largest |importance| first, top n', () => {
  assert.deepEqual(
    readImportance({ a: 0.1, b: -0.5, c: 0.3 }, 2).map((d) => d.feature),
    ['b', 'c'],
  );
});

/** Mann–Whitney AUC with ties counted ½, computed over all pairs (the definition, for checking). */
function pairwiseAuc(pos: number[], neg: number[]): number {
  let s = 0;
  for (const p of pos) for (const n of neg) s += p > n ? 1 : p === n ? 0.5 : 0;
  return s / (pos.length * neg.length);
}

test('quality from flows: binned ROC AUC equals the pairwise AUC when scores sit on the bin grid', async () => {
  const pos: number[] = [];
  const neg: number[] = [];
  const rows: FlowRow[] = [];
  for (let i = 0; i < 400; i++) {
    const malicious = i % 4 === 0;
    // scores on multiples of 0.001 (one per bin), with ties and overlap between the classes
    const score = Math.round(((malicious ? 0.4 : 0) + ((i * 37) % 600) / 1000) * 1000) / 1000;
    (malicious ? pos : neg).push(score);
    rows.push({ label: malicious ? 'Bot' : 'BENIGN', p_malicious: score });
  }
  const s = await aggregateFlows(rows);
  const q = qualityFromFlows(s)!;
  close(q.roc?.auc, pairwiseAuc(pos, neg), 1e-12);
  close(q.pr?.prevalence, 0.25);
  // confusion at 0.5 counted exactly
  const tp = pos.filter((p) => p >= 0.5).length;
  const fp = neg.filter((p) => p >= 0.5).length;
  assert.deepEqual(q.confusion?.matrix, [
    [neg.length - fp, fp],
    [pos.length - tp, tp],
  ]);
  close(q.operating?.tpr, tp / pos.length);
  assert.ok(q.headline.some((h) => h.name === 'MCC'));
});

test('quality from flows needs labels; mcc of a degenerate confusion is 0', async () => {
  const s = await aggregateFlows([{ p_malicious: 0.3 }, { p_malicious: 0.9 }]);
  assert.equal(qualityFromFlows(s), undefined);
  assert.equal(mcc({ tp: 0, fp: 0, tn: 5, fn: 0 }), 0);
  close(mcc({ tp: 5, fp: 0, tn: 5, fn: 0 }), 1);
});
