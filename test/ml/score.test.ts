/**
 * FlowScorer (src/score.ts) reads model features straight from flow records: stats vectors staged a few rows at a
 * time, derived and group features per record, features no tree splits on left missing. Its matrix must hold, for
 * every feature a tree splits on, exactly what the flow table of the same flows parses to (featureMatrix over the
 * text cells), whatever the batch size; scores and reasons must not depend on the batch size or on shared lists.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { DEFAULT_MODEL } from '../../src/api.ts';
import { defaultMeters } from '../../src/features/index.ts';
import type { FlowRow } from '../../src/features/meter.ts';
import { CompiledForest } from '../../src/ml/compile.ts';
import { featureMatrix } from '../../src/ml/dataset.ts';
import { loadModel } from '../../src/ml/model.ts';
import { runParallelExtract } from '../../src/parallel/extract.ts';
import { STAGED_NUMBERS } from '../../src/parallel/messages.ts';
import { runExtract } from '../../src/pipeline.ts';
import { FlowScorer, type ScoredBatch, scoreStaged } from '../../src/score.ts';
import { featureOptionsFor } from '../../src/tables.ts';
import { writePcap } from '../helpers/pcap-writer.ts';
import { HAS_SHARED, sharedPath } from '../helpers/shared.ts';
import { exchanges, scan } from '../helpers/traffic.ts';

const model = loadModel(DEFAULT_MODEL);

async function flows(): Promise<FlowRow[]> {
  const rows: FlowRow[] = [];
  // TLS, DNS, HTTP, QUIC and plain flows.
  for (const dir of ['lab', 'ndpi']) {
    await runExtract({
      inputs: [sharedPath('pcaps', dir)],
      meters: defaultMeters(featureOptionsFor(model.file.features)),
      onFlow: (row) => rows.push(row),
      onWarning: () => {},
    });
  }
  return rows;
}

test('the scorer matrix equals the flow table matrix for every feature a tree splits on, per batch', {
  skip: !HAS_SHARED,
}, async () => {
  const rows = await flows();
  const split = new Set<number>();
  for (const t of model.forest.trees) for (const f of t.feature) if (f >= 0) split.add(f);
  const nF = model.file.features.length;
  let checked = 0;
  // allColumns: the batch also carries every column as text cells, which the table path reads.
  const scorer = new FlowScorer(
    model,
    (b: ScoredBatch) => {
      const n = b.rows.length;
      const want = featureMatrix(b.table, model.file.features);
      for (let f = 0; f < nF; f++) {
        for (let r = 0; r < n; r++) {
          const got = b.x[f * n + r]!;
          const name = model.file.features[f];
          if (!split.has(f)) assert.ok(Number.isNaN(got), `${name}: not split on, missing`);
          else if (!Object.is(got, want[f * n + r]!))
            assert.fail(`${name}, row ${checked + r}: ${got} ≠ ${want[f * n + r]}`);
        }
      }
      checked += n;
    },
    // 100: batches of 6 × 16 staged rows and a remainder of 4; the last batch is short.
    { allColumns: true, batchSize: 100 },
  );
  for (const row of rows) scorer.add(row);
  scorer.flush();
  assert.equal(checked, rows.length);
  assert.ok(rows.length > 500, `${rows.length} flows`);
});

test('scores and reasons do not depend on the batch size or on shared reason lists', {
  skip: !HAS_SHARED,
}, async () => {
  const rows = await flows();
  const run = (batchSize: number, sharedReasons: boolean) => {
    const p: number[] = [];
    const reasons: string[][] = [];
    const scorer = new FlowScorer(
      model,
      (b) => {
        for (let r = 0; r < b.rows.length; r++) {
          p.push(b.p[r]!);
          reasons.push(b.reasons(r));
        }
      },
      { batchSize, sharedReasons },
    );
    for (const row of rows) scorer.add(row);
    scorer.flush();
    return { p, reasons };
  };
  const ref = run(1024, false);
  for (const [size, shared] of [
    [1, false],
    [7, true],
    [16, false],
    [333, true],
  ] as const) {
    const got = run(size, shared);
    assert.deepEqual(got.p, ref.p, `batch size ${size}`);
    assert.deepEqual(got.reasons, ref.reasons, `batch size ${size}`);
    if (shared) for (const list of got.reasons) assert.ok(Object.isFrozen(list));
    else for (const list of got.reasons) assert.ok(!Object.isFrozen(list));
  }
});

test('batches staged in a worker (classify --threads 2) score as one thread does, with the same identities', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flowsieve-staged-'));
  try {
    const mix = [...exchanges('10.7.0.10', '10.7.0.1', 40, 0), ...scan('10.7.0.99', '10.7.0.1', 2500, 5, 1000)];
    mix.sort((a, b) => a.tsUs - b.tsUs);
    const generated = path.join(dir, 'mix.pcap');
    writeFileSync(generated, writePcap(mix));
    const inputs = [generated, ...(HAS_SHARED ? [sharedPath('pcaps', 'lab', 'loopback-mix.pcap')] : [])];
    const features = featureOptionsFor(model.file.features);
    for (const file of inputs) {
      const one: { p: number[]; reasons: string[][]; identity: unknown[][] } = { p: [], reasons: [], identity: [] };
      const scorer = new FlowScorer(model, (b) => {
        for (let r = 0; r < b.rows.length; r++) {
          one.p.push(b.p[r]!);
          one.reasons.push(b.reasons(r));
          const row = b.rows[r]!;
          one.identity.push([...STAGED_NUMBERS.map((k) => row[k]), row.src_ip, row.dst_ip]);
        }
      });
      await runExtract({ inputs: [file], meters: defaultMeters(features), onFlow: (row) => scorer.add(row) });
      scorer.flush();
      const two: typeof one = { p: [], reasons: [], identity: [] };
      const forest = new CompiledForest(model.forest);
      const scratch = new Float64Array(model.file.features.length);
      let batches = 0;
      await runParallelExtract({
        inputs: [file],
        threads: 2,
        features,
        onFlow: () => assert.fail('staged rows must not reach onFlow'),
        staged: {
          model: model.file,
          withSourceFile: false,
          onBatch: (n, x, identity) => {
            batches++;
            const { p, reasons } = scoreStaged(model, forest, x, n, scratch, false);
            const w = STAGED_NUMBERS.length;
            for (let r = 0; r < n; r++) {
              two.p.push(p[r]!);
              two.reasons.push(reasons(r));
              const numbers = Array.from(identity.numbers.subarray(r * w, (r + 1) * w));
              two.identity.push([...numbers, identity.addresses[2 * r], identity.addresses[2 * r + 1]]);
            }
          },
        },
      });
      if (file === generated) assert.ok(one.p.length > 1024, `several batches (${one.p.length} flows)`);
      assert.equal(batches, Math.ceil(one.p.length / 1024), file);
      assert.deepEqual(two.identity, one.identity, file);
      assert.deepEqual(two.p, one.p, file);
      assert.deepEqual(two.reasons, one.reasons, file);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('staged batches need a worker thread and capture files', async () => {
  const staged = { model: model.file, withSourceFile: false, onBatch: () => {} };
  await assert.rejects(runParallelExtract({ inputs: ['-'], threads: 2, onFlow: () => {}, staged }), /worker thread/);
  await assert.rejects(runParallelExtract({ inputs: ['x.pcap'], threads: 1, onFlow: () => {}, staged }), /worker/);
});
