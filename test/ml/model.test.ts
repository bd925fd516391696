import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { CompiledForest } from '../../src/ml/compile.ts';
import { featureMatrix } from '../../src/ml/dataset.ts';
import { trainGbdt } from '../../src/ml/gbdt.ts';
import { loadModel, type ModelFile, modelFromJson, modelToJson, saveModel } from '../../src/ml/model.ts';
import { Prng } from '../../src/ml/prng.ts';
import { trainRf } from '../../src/ml/rf.ts';
import { InputError, parseCsv } from '../../src/ml/table.ts';
import { type Forest, predictRaw } from '../../src/ml/tree.ts';

const FEATURES = ['duration_us', 'fwd_packets', 'bwd_bytes'];

function data(n: number): { x: Float32Array; y: Int32Array } {
  const rng = new Prng(3);
  const x = new Float32Array(n * 3);
  const y = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    for (let f = 0; f < 3; f++) x[f * n + r] = rng.nextFloat() * 100;
    if (r % 11 === 0) x[n + r] = Number.NaN;
    y[r] = x[r]! > 50 ? 1 : 0;
  }
  return { x, y };
}

function modelFile(forest: Forest): ModelFile {
  return modelToJson(forest, {
    classes: ['benign', 'malicious'],
    features: FEATURES,
    dialect: 'flowsieve',
    threshold: 0.42,
    targetFpr: 0.01,
    params: { algo: forest.algo },
    training: {
      rows: 400,
      counts: { benign: 200, malicious: 200 },
      files: [{ path: 'a.csv', sha256: 'ab', rows: 400 }],
      split: 'stratified',
    },
    metrics: null,
    generator: 'test',
  });
}

test('save → load round trip gives identical predictions (GBDT and RF)', () => {
  const n = 400;
  const { x, y } = data(n);
  const dir = mkdtempSync(path.join(tmpdir(), 'flowsieve-ml-'));
  try {
    for (const forest of [
      trainGbdt({ x, nRows: n, nF: 3, y, nClasses: 2, weight: null }, null, { nTrees: 12, seed: 1 }).forest,
      trainRf({ x, nRows: n, nF: 3, y, nClasses: 2, weight: null }, { nTrees: 6, seed: 1 }),
    ]) {
      const file = path.join(dir, `${forest.algo}.json`);
      saveModel(file, modelFile(forest));
      const m = loadModel(file);
      assert.equal(m.file.threshold, 0.42);
      assert.deepEqual(m.file.features, FEATURES);
      assert.deepEqual(predictRaw(m.forest, x, n), predictRaw(forest, x, n));
      assert.deepEqual(new CompiledForest(m.forest).predictRaw(x, n), new CompiledForest(forest).predictRaw(x, n));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function base(): Record<string, unknown> {
  const n = 200;
  const { x, y } = data(n);
  const f = trainGbdt({ x, nRows: n, nF: 3, y, nClasses: 2, weight: null }, null, {
    nTrees: 3,
    maxDepth: 2,
    seed: 1,
  }).forest;
  return JSON.parse(JSON.stringify(modelFile(f)));
}

// biome-ignore lint/suspicious/noExplicitAny: mutating arbitrary JSON shapes is the point of these cases
function rejects(mutate: (m: Record<string, any>) => unknown, pattern: RegExp): void {
  const m = base();
  const out = mutate(m) ?? m;
  assert.throws(
    () => modelFromJson(out, 'm.json'),
    (e: unknown) => e instanceof InputError && pattern.test(e.message) && !e.message.includes('\n'),
  );
}

test('bad model files fail with one clear line', () => {
  rejects((m) => ({ ...m, format: 'something' }), /not a flowsieve model/);
  rejects((m) => ({ ...m, version: 2 }), /unsupported version 2/);
  rejects(
    (m) => JSON.parse(JSON.stringify(m).replace('"params":{', '"params":{"__proto__":1,')),
    /forbidden key "__proto__"/,
  );
  rejects((m) => {
    m.params = { constructor: 'x' };
  }, /forbidden key "constructor"/);
  rejects((m) => {
    m.threshold = Number.NaN;
  }, /non-finite/);
  rejects((m) => {
    m.trees[0].value[0] = Number.POSITIVE_INFINITY;
  }, /non-finite/);
  rejects((m) => {
    m.params = { self: null };
    (m.params as Record<string, unknown>).self = m;
  }, /cycle/);
  rejects((m) => {
    m.trees[0].left[0] = 0; // self-loop
  }, /child index out of range/);
  rejects((m) => {
    m.trees[0].right[0] = 999;
  }, /child index out of range/);
  rejects((m) => {
    m.trees[0].feature[0] = 7;
  }, /feature 7 out of range/);
  rejects((m) => {
    m.trees[0].threshold.pop();
  }, /threshold has/);
  rejects((m) => {
    m.extra = 1;
  }, /extra|Unrecognized/i);
  rejects((m) => {
    const t = m.trees[0];
    m.trees = Array.from({ length: 20_001 }, () => t);
  }, /trees|20000/);
});

test('a table missing model features fails naming the columns', () => {
  const t = parseCsv('duration_us,bwd_bytes\n1,2\n', 'flows.csv');
  assert.throws(
    () => featureMatrix(t, FEATURES),
    (e: unknown) =>
      e instanceof InputError &&
      /flows\.csv: the model needs column\(s\) missing from the input: fwd_packets/.test(e.message),
  );
});

test('unreadable and non-JSON model files', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'flowsieve-ml-'));
  try {
    const f = path.join(dir, 'bad.json');
    writeFileSync(f, '{"format": ');
    assert.throws(() => loadModel(f), /not valid JSON/);
    assert.throws(() => loadModel(path.join(dir, 'missing.json')), /cannot read model file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
