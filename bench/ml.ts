/**
 * bench:ml — flowsieve GBDT and RF against scikit-learn RandomForest and xgboost 1.7 on the same 5 stratified
 * folds of ../shared/datasets/cicids2017-improved-sample (binary benign vs malicious), in one run.
 *
 * Protocol: the matrix (our CSV reader's output: identity columns excluded, Infinity/NaN → NaN) and the fold
 * assignment are written once and read by bench/ml_reference.py, so all four models see identical rows. Metrics
 * are computed by src/ml/metrics.ts for every model from its out-of-fold p_malicious, at threshold 0.5 (the
 * references' predict()), pooled over the folds. Training time is CPU seconds of the training call (process CPU
 * time on both sides; wall time also printed) — the machine is shared, CPU time is the fairer clock. All single
 * core: xgboost n_jobs=1, sklearn n_jobs=1, OMP_NUM_THREADS=1.
 *
 * Inference: a 200-round GBDT (early stopping off) scores 1,000,000 rows (column-major Float32, as `classify` holds
 * them) through CompiledForest: the float-threshold walk, the TypeScript bit-sliced path and the WebAssembly
 * kernel (the default for binary GBDTs; src/ml/compile.ts, src/ml/kernel.ts), and checks all give the same scores
 * bit for bit. CPU time of one call after a warm-up.
 *
 *   npm run bench:ml                  # comparison and inference
 *   npm run bench:ml -- --inference   # inference only
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CompiledForest } from '../src/ml/compile.ts';
import { buildDataset, takeRows } from '../src/ml/dataset.ts';
import { trainGbdt } from '../src/ml/gbdt.ts';
import { evaluate } from '../src/ml/metrics.ts';
import { foldRows, kFold } from '../src/ml/split.ts';
import { readTableFile } from '../src/ml/table.ts';
import { DEFAULT_FIT, type FitOptions, fitModel } from '../src/ml/train.ts';
import { predictRaw, rawToProba } from '../src/ml/tree.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const DATA = path.resolve(ROOT, '../shared/datasets/cicids2017-improved-sample');
const K = 5;
const SEED = 1;
const TREES = 200;
const DEPTH = 6;
const ETA = 0.1;
const RF_TREES = 100;

const files = readdirSync(DATA)
  .filter((f) => f.endsWith('.csv') && !f.startsWith('data_header'))
  .sort();
const tables = [];
for (const f of files) tables.push(await readTableFile(path.join(DATA, f)));
const ds = buildDataset(tables, { multiclass: false, labeler: null });
const nF = ds.featureNames.length;
const folds = kFold(ds, K, 'stratified', SEED);
console.log(
  `data: ${ds.nRows} flows × ${nF} features from ${files.length} files (${ds.y.filter((v) => v === 1).length} malicious), ${K} stratified folds, seed ${SEED}`,
);
// `npm run bench:ml -- --inference`: only the inference lines, without the model comparison.
if (process.argv.includes('--inference')) {
  inference();
  process.exit(0);
}

// Reference side.
const dir = mkdtempSync(path.join(tmpdir(), 'flowsieve-bench-ml-'));
const rowMajor = new Float32Array(ds.nRows * nF);
for (let r = 0; r < ds.nRows; r++) for (let f = 0; f < nF; f++) rowMajor[r * nF + f] = ds.x[f * ds.nRows + r]!;
writeFileSync(path.join(dir, 'x.f32'), new Uint8Array(rowMajor.buffer));
writeFileSync(path.join(dir, 'y.i32'), new Uint8Array(ds.y.buffer, ds.y.byteOffset, ds.y.byteLength));
writeFileSync(
  path.join(dir, 'fold.i32'),
  new Uint8Array(folds.fold.buffer, folds.fold.byteOffset, folds.fold.byteLength),
);
writeFileSync(
  path.join(dir, 'meta.json'),
  JSON.stringify({
    n: ds.nRows,
    f: nF,
    k: K,
    seed: SEED,
    xgb: { n_estimators: TREES, max_depth: DEPTH, learning_rate: ETA, max_bin: 256 },
    rf: { n_estimators: RF_TREES },
  }),
);
const py = spawnSync('/usr/bin/python3', [path.join(ROOT, 'bench/ml_reference.py'), dir], {
  encoding: 'utf8',
  maxBuffer: 1 << 28,
  env: { ...process.env, OMP_NUM_THREADS: '1' },
});
rmSync(dir, { recursive: true, force: true });
type RefFold = { train_s: number; train_cpu_s: number; p: number[] };
let ref: { versions: Record<string, string>; xgboost: RefFold[]; sklearn_rf: RefFold[] } | null = null;
if (py.status === 0) ref = JSON.parse(py.stdout);
else console.log(`reference run failed (exit ${py.status}): ${py.stderr.split('\n').slice(-3).join(' ')}`);

interface Row {
  name: string;
  p: Float64Array;
  cpu: number;
  wall: number;
  note: string;
}
const rows: Row[] = [];

function ours(name: string, fit: FitOptions, note: string): void {
  const p = new Float64Array(ds.nRows);
  let cpu = 0;
  let wall = 0;
  const rounds: number[] = [];
  for (let f = 0; f < K; f++) {
    const { train, test } = foldRows(folds, f);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = fitModel(ds, train, fit);
    wall += (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    cpu += (c.user + c.system) / 1e6;
    rounds.push(r.rounds);
    const x = takeRows(ds.x, ds.nRows, nF, test);
    const proba = rawToProba(r.forest, predictRaw(r.forest, x, test.length), test.length);
    test.forEach((row, i) => {
      p[row] = proba[i * 2 + 1]!;
    });
  }
  rows.push({ name, p, cpu, wall, note: `${note}${fit.algo === 'gbdt' ? `; rounds ${rounds.join('/')}` : ''}` });
}

const base: FitOptions = { ...DEFAULT_FIT, split: 'stratified', seed: SEED, targetFpr: 0.01 };
ours(
  'flowsieve GBDT',
  {
    ...base,
    algo: 'gbdt',
    validFraction: 0.1,
    gbdt: { nTrees: TREES, maxDepth: DEPTH, learningRate: ETA, earlyStoppingRounds: 20 },
  },
  'early stopping on a 10% stratified hold-out of each training fold',
);
ours(
  'flowsieve GBDT (fixed 200)',
  {
    ...base,
    algo: 'gbdt',
    validFraction: 0,
    gbdt: { nTrees: TREES, maxDepth: DEPTH, learningRate: ETA, earlyStoppingRounds: 0 },
  },
  'same settings as xgboost, all training rows',
);
ours(
  'flowsieve RF',
  { ...base, algo: 'rf', validFraction: 0, rf: { nTrees: RF_TREES } },
  `${RF_TREES} trees, √F features, bootstrap`,
);
if (ref) {
  const pooled = (fs: RefFold[]): Float64Array => {
    const p = new Float64Array(ds.nRows);
    fs.forEach((fold, f) => {
      const { test } = foldRows(folds, f);
      test.forEach((row, i) => {
        p[row] = fold.p[i]!;
      });
    });
    return p;
  };
  const sum = (fs: RefFold[], k: 'train_s' | 'train_cpu_s'): number => fs.reduce((s, f) => s + f[k], 0);
  rows.push({
    name: `xgboost ${ref.versions.xgboost}`,
    p: pooled(ref.xgboost),
    cpu: sum(ref.xgboost, 'train_cpu_s'),
    wall: sum(ref.xgboost, 'train_s'),
    note: `hist, ${TREES} rounds, depth ${DEPTH}, eta ${ETA}, n_jobs=1`,
  });
  rows.push({
    name: `sklearn RF ${ref.versions.sklearn}`,
    p: pooled(ref.sklearn_rf),
    cpu: sum(ref.sklearn_rf, 'train_cpu_s'),
    wall: sum(ref.sklearn_rf, 'train_s'),
    note: `${RF_TREES} trees, sqrt, n_jobs=1, NaN → -1`,
  });
}

console.log('');
console.log('model                        macro-F1  F1 (mal)  ROC-AUC   PR-AUC    train CPU s  train wall s  notes');
for (const r of rows) {
  const proba = new Float64Array(ds.nRows * 2);
  for (let i = 0; i < ds.nRows; i++) {
    proba[i * 2] = 1 - r.p[i]!;
    proba[i * 2 + 1] = r.p[i]!;
  }
  const m = evaluate(ds.y, proba, ['benign', 'malicious'], 0.5);
  console.log(
    `${r.name.padEnd(28)} ${m.macro_f1.toFixed(5)}   ${m.f1.toFixed(5)}   ${m.roc_auc.toFixed(5)}   ${m.pr_auc.toFixed(5)}   ${r.cpu.toFixed(2).padStart(9)}    ${r.wall.toFixed(2).padStart(9)}    ${r.note}`,
  );
}
const xgbRow = rows.find((r) => r.name.startsWith('xgboost'));
if (xgbRow) {
  for (const r of rows.filter((r) => r.name.startsWith('flowsieve GBDT'))) {
    console.log(`${r.name}: training CPU time ${(r.cpu / xgbRow.cpu).toFixed(2)}× xgboost's (goal ≤ 2×)`);
  }
}

/**
 * Inference: a 200-tree GBDT trained on every row scores 1M rows through each path of src/ml/compile.ts — the
 * float-threshold walk, the TypeScript bit-sliced path (`wasm: false`) and the WebAssembly kernel (the default for
 * binary GBDTs, src/ml/kernel.ts) — and the three score arrays must be equal bit for bit.
 */
function inference(): void {
  const g = trainGbdt({ x: ds.x, nRows: ds.nRows, nF, y: ds.y, nClasses: 2, weight: null }, null, {
    nTrees: TREES,
    maxDepth: DEPTH,
    learningRate: ETA,
    earlyStoppingRounds: 0,
    seed: SEED,
  });
  const N = 1_000_000;
  const big = takeRows(
    ds.x,
    ds.nRows,
    nF,
    Uint32Array.from({ length: N }, (_, i) => (i * 7919) % ds.nRows),
  );
  const scores: Float64Array[] = [];
  for (const options of [{ quantised: false }, { wasm: false }, {}]) {
    const cf = new CompiledForest(g.forest, options);
    cf.pMalicious(big, N); // warm-up: the JIT sees the full-size loop before it is timed
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const p = cf.pMalicious(big, N);
    const wall = (performance.now() - t0) / 1000;
    const cu = process.cpuUsage(c0);
    const cpu = (cu.user + cu.system) / 1e6;
    scores.push(p);
    const path = cf.isWasm ? 'WebAssembly kernel' : cf.isQuantised ? 'bit-sliced quantised' : 'float-threshold walk';
    console.log(
      `\ninference (${path}): ${g.forest.trees.length}-tree GBDT (depth ≤ ${DEPTH}), ${N.toLocaleString('en-US')} flows: ${(N / cpu / 1e6).toFixed(2)} M flows/s per CPU second (${(N / wall / 1e6).toFixed(2)} M/s wall), goal ≥ 1 M/s`,
    );
  }
  const bits = scores.map((p) => new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
  const same = bits.every((b) => Buffer.compare(b, bits[0]!) === 0);
  console.log(`  same scores from all paths, bit for bit: ${same ? 'yes' : 'NO'}`);
}
inference();
