import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { InputError } from '../../src/ml/table.ts';
import { jsonKind, loadReportFiles, parseCsvRecord, readCsv, readFlowFile, readJsonl } from '../../src/report/load.ts';
import type { FlowRow } from '../../src/report/rows.ts';
import { flatten, syntheticEvaluation, syntheticFlows, syntheticStats } from './synthetic.ts';

async function collect(it: AsyncIterable<FlowRow>): Promise<FlowRow[]> {
  const out: FlowRow[] = [];
  for await (const r of it) out.push(r);
  return out;
}

async function rejectsWith(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof InputError, String(e));
    assert.equal(e.code, code);
    if (message) assert.match(e.message, message);
    return true;
  });
}

/** RFC 4180 writer for the property test: quote when the field has a comma, quote, CR or LF. */
function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

test('parseCsvRecord: quoting per RFC 4180 §2', () => {
  assert.deepEqual(parseCsvRecord('a,b,,c'), ['a', 'b', '', 'c']);
  assert.deepEqual(parseCsvRecord('"a,b","say ""hi""",x'), ['a,b', 'say "hi"', 'x']);
  assert.deepEqual(parseCsvRecord('"multi\nline",2'), ['multi\nline', '2']);
  assert.deepEqual(parseCsvRecord('""'), ['']);
  assert.deepEqual(parseCsvRecord('x,'), ['x', '']);
});

test('property: parseCsvRecord inverts an RFC 4180 writer (fields without CR)', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.string().map((s) => s.replace(/\r/g, '')),
        { minLength: 1, maxLength: 8 },
      ),
      (fields) => {
        assert.deepEqual(parseCsvRecord(fields.map(csvField).join(',')), fields);
      },
    ),
  );
});

describe('files', () => {
  let dir: string;
  const file = (name: string) => path.join(dir, name);
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'flowsieve-load-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('JSONL (plain and gzip) round-trips rows; blank lines skipped; bad lines name their line', async () => {
    const rows = [...syntheticFlows(50, { hostile: false })];
    const text = `${rows.map((r) => JSON.stringify(r)).join('\n')}\n\n`;
    writeFileSync(file('f.jsonl'), text);
    writeFileSync(file('f.jsonl.gz'), gzipSync(text));
    assert.deepEqual(await collect(readJsonl(file('f.jsonl'))), rows);
    assert.deepEqual(await collect(readFlowFile(file('f.jsonl.gz'))), rows);
    writeFileSync(file('bad.jsonl'), '{"a":1}\n{"a":\n');
    await rejectsWith(collect(readJsonl(file('bad.jsonl'))), 'report_bad_jsonl', /bad\.jsonl:2:/);
    writeFileSync(file('arr.jsonl'), '[1,2]\n');
    await rejectsWith(collect(readJsonl(file('arr.jsonl'))), 'report_bad_jsonl');
    await rejectsWith(collect(readJsonl(file('missing.jsonl'))), 'report_missing_file');
  });

  test('CSV: numbers parsed, empties and Infinity absent, headers trimmed, duplicates and __proto__ dropped', async () => {
    // CIC-IDS2017 style header: leading spaces, a repeated name; a quoted cell with a newline and a comma.
    writeFileSync(
      file('f.csv'),
      '\uFEFF src_ip, Flow Bytes/s, Fwd Header Length, Fwd Header Length,__proto__,note, Label\r\n' +
        '10.0.0.1,Infinity,20,99,{"polluted":1},"two\r\nlines, one cell",BENIGN\r\n' +
        '10.0.0.2,1.5e3,,7,x,,DoS Hulk\r\n',
    );
    const rows = await collect(readCsv(file('f.csv')));
    assert.equal(rows.length, 2);
    assert.deepEqual(rows[0], {
      src_ip: '10.0.0.1',
      'Fwd Header Length': 20,
      note: 'two\nlines, one cell',
      Label: 'BENIGN',
    });
    assert.deepEqual(rows[1], { src_ip: '10.0.0.2', 'Flow Bytes/s': 1500, Label: 'DoS Hulk' });
    assert.equal(Object.getPrototypeOf(rows[0]), Object.prototype);
    writeFileSync(file('wide.csv'), 'a,b\n1,2,3\n');
    await rejectsWith(collect(readCsv(file('wide.csv'))), 'report_bad_csv', /wide\.csv:2:/);
    writeFileSync(file('open.csv'), 'a,b\n"1,2\n');
    await rejectsWith(collect(readCsv(file('open.csv'))), 'report_bad_csv', /unterminated/);
  });

  test('flat CSV rows of synthetic flows read back with the same values', async () => {
    const rows = [...syntheticFlows(20, { hostile: false, flat: true })];
    const names = [...new Set(rows.flatMap((r) => Object.keys(r)))];
    const lines = [names.join(',')];
    for (const r of rows) lines.push(names.map((n) => csvField(r[n] === undefined ? '' : String(r[n]))).join(','));
    writeFileSync(file('flat.csv'), `${lines.join('\n')}\n`);
    const back = await collect(readCsv(file('flat.csv')));
    assert.deepEqual(back, rows);
  });

  test('Parquet via parquet-wasm: row groups streamed, int64 → number, lists → arrays', async () => {
    const arrow = await import('apache-arrow');
    const pw = await import('parquet-wasm');
    const n = 3000;
    const listType = new arrow.List(new arrow.Field('item', new arrow.Utf8(), true));
    const table = new arrow.Table({
      src_ip: arrow.vectorFromArray(Array.from({ length: n }, (_, i) => `10.0.${i >> 8}.${i & 255}`)),
      first_seen_us: arrow.vectorFromArray(
        BigInt64Array.from({ length: n }, (_, i) => 1_700_000_000_000_000n + BigInt(i)),
      ),
      p_malicious: arrow.vectorFromArray(Float64Array.from({ length: n }, (_, i) => (i % 100) / 100)),
      tls_sni: arrow.vectorFromArray(Array.from({ length: n }, (_, i) => (i % 3 === 0 ? null : `h${i}.example`))),
      reasons: arrow.vectorFromArray(
        Array.from({ length: n }, (_, i) => [`r${i}`, 'x']),
        listType,
      ),
    });
    const props = new pw.WriterPropertiesBuilder().setMaxRowGroupSize(1000).build();
    writeFileSync(file('f.parquet'), pw.writeParquet(pw.Table.fromIPCStream(arrow.tableToIPC(table, 'stream')), props));
    const rows = await collect(readFlowFile(file('f.parquet')));
    assert.equal(rows.length, n);
    assert.deepEqual(rows[1], {
      src_ip: '10.0.0.1',
      first_seen_us: 1_700_000_000_000_001,
      p_malicious: 0.01,
      tls_sni: 'h1.example',
      reasons: ['r1', 'x'],
    });
    assert.equal(rows[0]!.tls_sni, undefined); // null → absent
    assert.equal(typeof rows[2999]!.first_seen_us, 'number');
    writeFileSync(file('bad.parquet'), 'PAR1 not really');
    await rejectsWith(collect(readFlowFile(file('bad.parquet'))), 'report_bad_parquet');
  });

  test('JSON inputs are told apart by their keys; unknown kinds and extensions are input errors', () => {
    assert.equal(jsonKind(syntheticEvaluation()), 'evaluation');
    assert.equal(jsonKind({ metrics: { roc_auc: 0.9 } }), 'evaluation');
    assert.equal(jsonKind(syntheticStats(1)), 'stats');
    assert.equal(jsonKind({ format: 'flowsieve-model', features: ['a'], trees: [], metrics: { roc_auc: 1 } }), 'model');
    assert.equal(jsonKind([{ src_ip: 'x' }]), 'flows');
    assert.equal(jsonKind({ hello: 1 }), undefined);

    writeFileSync(file('eval.json'), JSON.stringify(syntheticEvaluation()));
    writeFileSync(file('stats.json'), JSON.stringify(syntheticStats(5)));
    writeFileSync(file('rows.json'), JSON.stringify([{ src_ip: 'a' }, { src_ip: 'b' }]));
    writeFileSync(file('odd.json'), '{"hello": 1}');
    writeFileSync(file('broken.json'), '{');
    const loaded = loadReportFiles([file('eval.json'), file('stats.json'), file('rows.json')]);
    assert.equal(loaded.evaluation?.roc_auc, 0.973);
    assert.equal(loaded.stats?.packets_read, 1_000_000);
    assert.ok(loaded.flows !== undefined);
    assert.deepEqual(loaded.sources, ['eval.json', 'stats.json', 'rows.json']);
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return (e as InputError).code;
      }
      return 'no error';
    };
    assert.equal(
      code(() => loadReportFiles([file('odd.json')])),
      'report_unknown_input',
    );
    assert.equal(
      code(() => loadReportFiles([file('broken.json')])),
      'report_bad_json',
    );
    assert.equal(
      code(() => loadReportFiles([file('x.pcap')])),
      'report_unknown_input',
    );
    assert.equal(
      code(() => loadReportFiles([file('eval.json'), file('eval.json')])),
      'report_duplicate_input',
    );
    // --evaluation pins the kind of a file whose keys do not say it
    assert.equal(loadReportFiles([], { evaluation: file('odd.json') }).evaluation?.hello, 1);
  });

  test('flows from several files are concatenated in order', async () => {
    writeFileSync(file('a.jsonl'), '{"flow_id":1}\n{"flow_id":2}\n');
    writeFileSync(file('b.csv'), 'flow_id\n3\n');
    const loaded = loadReportFiles([file('a.jsonl'), file('b.csv')]);
    assert.deepEqual(
      (await collect(loaded.flows!)).map((r) => r.flow_id),
      [1, 2, 3],
    );
    assert.ok(flatten({ a: { b: 1 } }).a_b === 1);
  });
});
