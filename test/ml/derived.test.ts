/**
 * Derived columns per record (derivedValues, used by classify's scorer) against the flow-table path
 * (withDerivedColumns over text cells, then cellToNumber), and the scorer's two paths on real captures.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_MODEL } from '../../src/api.ts';
import { defaultMeters } from '../../src/features/index.ts';
import type { FlowRow } from '../../src/features/meter.ts';
import { DERIVED_COLUMNS, DERIVED_SOURCE_COLUMNS, derivedValues, withDerivedColumns } from '../../src/ml/features.ts';
import { loadModel } from '../../src/ml/model.ts';
import { cellToNumber, type RawTable } from '../../src/ml/table.ts';
import { runExtract } from '../../src/pipeline.ts';
import { FlowScorer, type ScoredBatch } from '../../src/score.ts';
import { cellText, featureOptionsFor } from '../../src/tables.ts';
import { HAS_SHARED, sharedPath } from '../helpers/shared.ts';

/** What the flow-table path gives for one record's source values: derived cells parsed as numbers. */
function viaText(src: readonly unknown[]): number[] {
  const t: RawTable = {
    names: [...DERIVED_SOURCE_COLUMNS],
    cells: src.map((v) => [cellText(v)]),
    nRows: 1,
    source: 'test',
    droppedDuplicates: [],
  };
  const d = withDerivedColumns(t);
  return DERIVED_COLUMNS.map((name) => {
    const i = d.names.indexOf(name);
    return i < 0 ? Number.NaN : cellToNumber(d.cells[i]![0] ?? null);
  });
}

function direct(src: readonly unknown[]): number[] {
  const out = new Float64Array(DERIVED_COLUMNS.length);
  derivedValues(src, out);
  return [...out];
}

test('derivedValues equals withDerivedColumns + cellToNumber on crafted records', () => {
  const cases: unknown[][] = [
    ['example.com', 1, 'TLS 1.3', '0x1301', 'a1.b22.example.org.', [100, 1400, 0, 5], [0, 1, 1, 0], [0, 10, 20.5, 3]],
    [null, 0, '', 'c02f', '', [], [], []],
    ['', 2, null, 'zz', '.', [-0, 3], [1, 1], [0]],
    [null, null, 'TLS 1.2', 'TLS_AES_128_GCM_SHA256', 'x..y', [7], [1], [0, 1e-7, 3.3333333]],
    [undefined, true, undefined, 4865, '123.45.6.7.in-addr.arpa', [1, 2, 3, 4, 5], [0, 0, 0, 0, 1], [0, 1, 2, 3, 4]],
  ];
  for (const c of cases) assert.deepEqual(direct(c), viaText(c), JSON.stringify(c));
});

test('derivedValues equals the table path on random records (property)', () => {
  const text = fc.oneof(fc.constant(null), fc.constant(''), fc.string({ maxLength: 12 }), fc.domain());
  const num = fc.oneof(fc.integer({ min: -5, max: 70000 }), fc.double({ noNaN: false }), fc.constant(-0));
  const list = fc.oneof(
    fc.constant(null),
    fc.array(num, { maxLength: 6 }),
    fc.array(fc.oneof(num, fc.constant(null)), { maxLength: 6 }),
  );
  const dirs = fc.oneof(fc.constant(null), fc.array(fc.constantFrom(0, 1), { maxLength: 6 }));
  const cipher = fc.oneof(
    text,
    fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEFx'), minLength: 1, maxLength: 6 }),
    fc.constant('0x1302'),
    num,
  );
  const flag = fc.oneof(fc.constant(null), fc.boolean(), fc.integer({ min: 0, max: 3 }), text);
  fc.assert(
    fc.property(fc.tuple(text, flag, flag, cipher, text, list, dirs, list), (src) => {
      assert.deepEqual(direct(src), viaText(src));
    }),
    { numRuns: 2000 },
  );
});

test('classify scorer: per-record features give the same scores and reasons as the text path', {
  skip: !HAS_SHARED,
}, async () => {
  const model = loadModel(DEFAULT_MODEL);
  const collect = (derivedFromText: boolean) => {
    const p: number[] = [];
    const reasons: string[] = [];
    const scorer = new FlowScorer(
      model,
      (b: ScoredBatch) => {
        for (let r = 0; r < b.rows.length; r++) {
          p.push(b.p[r]!);
          reasons.push(b.reasons(r).join('|'));
        }
      },
      { derivedFromText, batchSize: 256 },
    );
    return { scorer, p, reasons };
  };
  const a = collect(false);
  const b = collect(true);
  const rows: FlowRow[] = [];
  // TLS, DNS, HTTP, QUIC and plain flows (SPLT for all of them).
  for (const dir of ['lab', 'ndpi', 'zeek']) {
    await runExtract({
      inputs: [sharedPath('pcaps', dir)],
      meters: defaultMeters(featureOptionsFor(model.file.features)),
      onFlow: (row) => rows.push(row),
      onWarning: () => {},
    });
  }
  for (const row of rows) {
    a.scorer.add(row);
    b.scorer.add(row);
  }
  a.scorer.flush();
  b.scorer.flush();
  assert.ok(rows.length > 1000, `${rows.length} flows`);
  assert.equal(a.p.length, rows.length);
  assert.deepEqual(a.p, b.p);
  assert.deepEqual(a.reasons, b.reasons);
});
