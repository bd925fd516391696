import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildDataset } from '../../src/ml/dataset.ts';
import { loadModel } from '../../src/ml/model.ts';
import { readTableFile } from '../../src/ml/table.ts';
import { crossValidate, DEFAULT_FIT } from '../../src/ml/train.ts';
import { HAS_SHARED, PROJECT_ROOT, sharedPath } from '../helpers/shared.ts';

const CIC = (f: string): string => sharedPath('datasets', 'cicids2017-improved-sample', f);

test('CIC-IDS2017 (improved) CSVs: dialect, identity columns excluded, cross-validation learns', {
  skip: !HAS_SHARED,
}, async () => {
  const tables = [await readTableFile(CIC('BENIGN_2500.csv')), await readTableFile(CIC('Botnet_736.csv'))];
  const ds = buildDataset(tables, { multiclass: false, labeler: null });
  assert.equal(ds.dialect, 'cicflowmeter');
  for (const c of ['id', 'Flow ID', 'Src IP', 'Src Port', 'Dst IP', 'Timestamp', 'Label', 'Attempted Category']) {
    assert.ok(!ds.featureNames.includes(c), c);
  }
  assert.ok(ds.featureNames.includes('Dst Port') && ds.featureNames.includes('Flow Bytes/s'));
  assert.ok(ds.x.every((v) => Number.isNaN(v) || Number.isFinite(v))); // Infinity became missing
  const cv = crossValidate(ds, 3, { ...DEFAULT_FIT, split: 'stratified', validFraction: 0.2, gbdt: { nTrees: 30 } });
  assert.ok(cv.metrics.roc_auc > 0.95, `ROC-AUC ${cv.metrics.roc_auc}`);
});

test('the bundled default model loads and validates', () => {
  const m = loadModel(`${PROJECT_ROOT}/models/default.json`);
  assert.equal(m.file.dialect, 'flowsieve');
  assert.ok(m.file.threshold > 0 && m.file.threshold < 1);
  assert.ok(!m.file.features.some((f) => /(^|_)ip$|first_seen|src_port|flow_id/.test(f)));
});
