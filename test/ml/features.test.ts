/**
 * Feature sets, derived columns and capture weighting (src/ml/features.ts, src/ml/train.ts rowWeights).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Dataset } from '../../src/ml/dataset.ts';
import {
  charEntropyBits,
  DERIVED_COLUMNS,
  DERIVED_SOURCE_COLUMNS,
  inFeatureSet,
  listCell,
  withDerivedColumns,
} from '../../src/ml/features.ts';
import { logLoss } from '../../src/ml/gbdt.ts';
import { groupWeightedRanking } from '../../src/ml/metrics.ts';
import type { RawTable } from '../../src/ml/table.ts';
import { rowWeights } from '../../src/ml/train.ts';

test('behaviour set drops payload bytes, capture context, markov, dst_port, dates and text; keeps flow numbers', () => {
  for (const f of [
    'bytes_bidirectional_stddev_payload_byte',
    'dns_context_client_nxdomain',
    'markov_bidirectional_transition_ps_0_1',
    'dst_port',
    'ip_version',
    'tls_cert_not_after_us',
    'tls_cipher',
  ]) {
    assert.equal(inFeatureSet(f, 'behaviour'), false, f);
    assert.equal(inFeatureSet(f, 'all'), true, f);
  }
  for (const f of [
    'duration_us',
    'bidirectional_syn_packets',
    'tls_cert_self_signed',
    'splt_len_1',
    'dns_query_length',
  ]) {
    assert.equal(inFeatureSet(f, 'behaviour'), true, f);
  }
});

test('list cells parse in both writers’ forms', () => {
  assert.deepEqual(listCell('[1,-2,3]'), [1, -2, 3]); // JSON text (JSON Lines, capture path)
  assert.deepEqual(listCell('1;2;3'), [1, 2, 3]); // our CSV writer joins with ';'
  assert.deepEqual(listCell(''), []);
  assert.deepEqual(listCell(null), []);
  assert.ok(Number.isNaN(listCell('1;;3')[1]!));
});

test('derived columns: SNI presence, cipher id, DNS name shape, first SPLT lengths', () => {
  const t: RawTable = {
    // row 0: TLS without SNI; row 1: TLS with SNI; row 2: a DNS query; row 3: neither. Exactly the columns the
    // scorer keeps for derived columns (src/score.ts): if one were missing there, these rows would derive wrong.
    names: [...DERIVED_SOURCE_COLUMNS],
    cells: [
      [null, 'example.com', null, null],
      ['1', '1', null, null],
      ['TLSv1.2', 'TLSv1.3', null, null],
      ['c014', '1301', null, null],
      [null, null, 'ab12.c.example.', null],
      ['87;322;326', '[100,200]', '90;90', null],
      ['0;1;0', '[0,1]', '0;1', null],
      ['0;1000;3000', '[5,7]', '0;7405', null],
    ],
    nRows: 4,
    source: 't',
    droppedDuplicates: [],
  };
  const d = withDerivedColumns(t);
  const col = (n: string): (string | null)[] => d.cells[d.names.indexOf(n)]!;
  assert.deepEqual(d.names.slice(-DERIVED_COLUMNS.length), [...DERIVED_COLUMNS]);
  assert.deepEqual(col('tls_sni_present'), ['0', '1', null, null]);
  assert.deepEqual(col('tls_cipher_id'), ['49172', '4865', null, null]); // 0xc014, 0x1301
  assert.deepEqual(col('dns_query_length'), [null, null, '14', null]); // trailing root dot dropped
  assert.deepEqual(col('dns_query_labels'), [null, null, '3', null]);
  assert.deepEqual(col('dns_query_max_label_length'), [null, null, '7', null]);
  assert.equal(col('dns_query_digit_fraction')[2], String(Number((2 / 14).toPrecision(6))));
  assert.deepEqual(col('splt_len_1'), ['87', '100', '90', null]);
  assert.deepEqual(col('splt_len_2'), ['-322', '-200', '-90', null]); // responder's lengths negative
  assert.deepEqual(col('splt_len_4'), [null, null, null, null]);
  assert.deepEqual(col('splt_direction_changes'), ['2', '1', '1', null]);
  assert.deepEqual(col('splt_mean_iat_us'), ['2000', '7', '7405', null]); // first gap (from flow start) left out
  assert.equal(withDerivedColumns(d), d); // idempotent
});

test('character entropy: 0 for one symbol, log2(k) for k equally frequent symbols', () => {
  assert.equal(charEntropyBits('aaaa'), 0);
  assert.equal(charEntropyBits('abcd'), 2);
  assert.equal(charEntropyBits(''), 0);
});

/** Rows: capture 0 has 8 malicious flows, capture 1 has 2 malicious, capture 2 has 2 benign. */
function ds3(): Pick<Dataset, 'nRows' | 'y' | 'groups' | 'classes'> {
  const groups = Int32Array.from([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 2]);
  const y = Int32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
  return { nRows: 12, y, groups, classes: ['benign', 'malicious'] };
}

test('capture weighting gives each capture of a class the same total weight; balance equalises classes', () => {
  const d = ds3() as Dataset;
  const rows = Uint32Array.from({ length: 12 }, (_, i) => i);
  assert.equal(rowWeights(d, rows, 'none', 'none'), null);
  const w = rowWeights(d, rows, 'none', 'capture')!;
  const sum = (a: number, b: number): number => w.slice(a, b).reduce((s, v) => s + v, 0);
  assert.ok(Math.abs(sum(0, 8) - sum(8, 10)) < 1e-12); // 8-flow and 2-flow capture weigh the same
  assert.ok(Math.abs(sum(0, 12) - 12) < 1e-9); // mean weight 1
  const wb = rowWeights(d, rows, 'weight', 'capture')!;
  const sb = (a: number, b: number): number => wb.slice(a, b).reduce((s, v) => s + v, 0);
  assert.ok(Math.abs(sb(0, 10) - sb(10, 12)) < 1e-9); // classes equal in total
  // Only the given rows get weight.
  const part = rowWeights(d, Uint32Array.from([0, 1, 10]), 'none', 'capture')!;
  assert.equal(part[5], 0);
  assert.ok(Math.abs(part[0]! + part[1]! + part[10]! - 3) < 1e-12);
});

test('weighted log-loss: weights scale each row’s share; no weights = plain mean', () => {
  const raw = Float64Array.from([0, 0]);
  const y = Int32Array.from([1, 0]);
  assert.ok(Math.abs(logLoss(raw, y, 2, 2) - Math.LN2) < 1e-12);
  // z = 2 for a positive row: loss log(1 + e^-2); for a negative row: log(1 + e^2).
  const r2 = Float64Array.from([2, 2]);
  const lp = Math.log1p(Math.exp(-2));
  const ln = Math.log1p(Math.exp(2));
  assert.ok(Math.abs(logLoss(r2, y, 2, 2, Float64Array.from([3, 1])) - (3 * lp + ln) / 4) < 1e-12);
});

test('capture-weighted ranking: each (capture, class) pair weighs 1 (hand-computed)', () => {
  // Capture 0: two malicious flows scored 0.9 and 0.8 (weight ½ each); capture 1: one malicious flow at 0.2
  // (weight 1); capture 2: one benign flow at 0.5. Malicious weight above the benign flow: ½ + ½ = 1 of 2, so
  // AUC = 0.5 (a flow-level AUC would say 2/3), and TPR at FPR 0 is 0.5.
  const g = groupWeightedRanking([1, 1, 1, 0], [0.9, 0.8, 0.2, 0.5], [0, 0, 1, 2]);
  assert.equal(g.roc_auc, 0.5);
  assert.equal(g.tpr_at_fpr['0.01'], 0.5);
  assert.deepEqual(g.groups, { positive: 2, negative: 1 });
  // Ties between a positive and a negative count one half.
  assert.equal(groupWeightedRanking([1, 0], [0.5, 0.5], [0, 1]).roc_auc, 0.5);
  assert.ok(Number.isNaN(groupWeightedRanking([1, 1], [0.5, 0.4], [0, 1]).roc_auc)); // no negatives
});
