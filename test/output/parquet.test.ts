/**
 * The Parquet writer (src/output/parquet.ts): files it writes read back, value for value, through DuckDB and
 * through parquet-wasm + apache-arrow (the project's two readers); the RLE/bit-packing hybrid decodes to its input;
 * and, over a real capture, every column of the Parquet output equals the JSONL output of the same run.
 */
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import * as arrow from 'apache-arrow';
import fc from 'fast-check';
import * as pq from 'parquet-wasm';
import { extract } from '../../src/api.ts';
import { type ColumnSpec, flatName, getColumn } from '../../src/features/meter.ts';
import { FlowRecord } from '../../src/features/record.ts';
import { STATS_COLUMNS, STATS_INDEX, STATS_VECTOR } from '../../src/features/stats.ts';
import { ByteSink } from '../../src/output/bytes.ts';
import { EncoderThread } from '../../src/output/encoder-thread.ts';
import {
  ChunkEncoder,
  ColumnBuffers,
  type ColumnsSnapshot,
  ownedRowGroup,
  ParquetRowWriter,
  rleHybrid,
} from '../../src/output/parquet.ts';
import { HAS_SHARED, sharedPath } from '../helpers/shared.ts';

type Row = Record<string, unknown>;

/** DuckDB rows of a Parquet file (BIGINT as bigint, lists as arrays). */
async function duckRows(file: string, sql = `select * from '${file}'`): Promise<Row[]> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const conn = await (await DuckDBInstance.create(':memory:')).connect();
  return (await conn.runAndReadAll(sql)).getRowObjectsJS() as Row[];
}

/** parquet-wasm + apache-arrow rows (Int64 as bigint, lists as arrays). */
function arrowRows(file: string): { rows: Row[]; types: Map<string, string> } {
  const table = arrow.tableFromIPC(pq.readParquet(readFileSync(file)).intoIPCStream());
  const types = new Map(table.schema.fields.map((f) => [f.name, String(f.type)]));
  const rows: Row[] = [];
  for (let r = 0; r < table.numRows; r++) {
    const row: Row = {};
    for (let c = 0; c < table.numCols; c++) {
      const v: unknown = table.getChildAt(c)!.get(r);
      row[table.schema.fields[c]!.name] = v instanceof arrow.Vector ? [...(v as arrow.Vector)] : v;
    }
    rows.push(row);
  }
  return { rows, types };
}

/** Numbers read back as bigint (INT64) made comparable with plain numbers. */
function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(plain);
  return v;
}

const i = (key: string, group?: string): ColumnSpec => ({ key, group, type: 'int', unit: '', doc: '' });
const COLUMNS: ColumnSpec[] = [
  i('flow_id'),
  { key: 'name', type: 'string', unit: '', doc: '' },
  { key: 'ratio', type: 'float', unit: '', doc: '' },
  { key: 'flag', type: 'bool', unit: '', doc: '' },
  { key: 'ids', type: 'int_list', unit: '', doc: '' },
  { key: 'xs', type: 'float_list', unit: '', doc: '' },
  { key: 'tags', type: 'string_list', unit: '', doc: '' },
  // Statistics come from the row's vector (FlowRecord), not from properties.
  STATS_COLUMNS[STATS_INDEX.get('fwd_packets')!]!,
  STATS_COLUMNS[STATS_INDEX.get('bidirectional_mean_payload_bytes')!]!,
  i('port', 'g'),
  { key: 'issuer', group: 'g.cert', type: 'string', unit: '', doc: '' },
  i('always_null'),
];

/** Deterministic pseudo-random numbers (a test must not depend on the run). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** Crafted rows covering what the writer must coerce: nulls, non-finite and negative zero, huge integers, lists. */
function craftedRows(n: number): Row[] {
  const rnd = lcg(7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const rows: Row[] = [];
  for (let r = 0; r < n; r++) {
    const row = new FlowRecord({
      // Distinct per row (the PLAIN fallback), with the extremes an Int64 from a number can hold.
      flow_id: r === 0 ? 2 ** 53 - 1 : r === 1 ? -(2 ** 53 - 1) : r * 1_000_003 + 0.75,
      name: pick(['a', '', 'é', '中文', '🙂 emoji', null, undefined, 42, { o: 1 }, `row${r % 5}`]),
      ratio: pick([0.5, -0, 0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e300, null, r / 3]),
      flag: pick([true, false, null, undefined, 1]),
      ids: pick([null, [], [1, 2, 3], [r, null, 'x', Number.NaN, -0, 2 ** 40], [Number.POSITIVE_INFINITY]]),
      xs: pick([null, [], [0.5, Number.NaN, -0], [1, 'x', Number.NEGATIVE_INFINITY]]),
      tags: pick([null, [], ['a', 'b'], ['x', 1, { k: true }, undefined, null]]),
      always_null: null,
    });
    const vec = new Float64Array(STATS_COLUMNS.length).fill(Number.NaN);
    vec[STATS_INDEX.get('fwd_packets')!] = pick([1, 2, 3, Number.NaN, 65535]);
    vec[STATS_INDEX.get('bidirectional_mean_payload_bytes')!] = pick([0, -0, 1.25, Number.NaN, r + 0.125]);
    (row as unknown as Record<symbol, unknown>)[STATS_VECTOR] = vec;
    if (rnd() < 0.6) row.g = rnd() < 0.5 ? { port: Math.floor(rnd() * 70000) } : { port: 443, cert: { issuer: 'CA' } };
    if (r % 10 === 9) {
      // A plain object (a row read back from a file): statistics are its own properties, not a vector.
      const plainRow: Row = Object.fromEntries(Object.entries(row));
      plainRow.fwd_packets = pick([4, null, true, '5']);
      plainRow.bidirectional_mean_payload_bytes = pick([2.5, undefined, Number.NaN]);
      rows.push(plainRow);
    } else rows.push(row);
  }
  return rows;
}

/** The value a cell must read back as: the coercions the writer documents (and the Arrow writer applied). */
function expected(c: ColumnSpec, row: Row): unknown {
  const v = getColumn(row, c);
  const int = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? Math.trunc(x) + 0 : null);
  switch (c.type) {
    case 'int':
      return typeof v === 'boolean' ? +v : int(v);
    case 'float':
      return typeof v === 'number' && !Number.isNaN(v) ? v : typeof v === 'boolean' ? +v : null;
    case 'bool':
      return typeof v === 'boolean' ? v : null;
    case 'string':
      return v === null || v === undefined
        ? null
        : typeof v === 'string'
          ? v
          : typeof v === 'object'
            ? JSON.stringify(v)
            : String(v);
    case 'int_list':
      return Array.isArray(v) ? v.map(int) : null;
    case 'float_list':
      return Array.isArray(v) ? v.map((x) => (typeof x === 'number' ? x : null)) : null;
    case 'string_list':
      return Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? x : (JSON.stringify(x) ?? null))) : null;
  }
}

test('crafted rows read back identically through DuckDB and parquet-wasm (several row groups)', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'flowsieve-parquet-'));
  try {
    const file = path.join(dir, 'x.parquet');
    const rows = craftedRows(300);
    const fd = openSync(file, 'w');
    // 128-row groups: three row groups, the last one short.
    const w = new ParquetRowWriter(fd, COLUMNS, 128);
    for (const r of rows) w.add(r);
    await w.finish();
    closeSync(fd);
    const want = rows.map((r) => Object.fromEntries(COLUMNS.map((c) => [flatName(c), expected(c, r)])));

    const duck = await duckRows(file);
    assert.equal(duck.length, rows.length);
    for (let r = 0; r < rows.length; r++)
      assert.deepStrictEqual(plain(Object.values(duck[r]!)), Object.values(want[r]!), `DuckDB row ${r}`);
    const types = await duckRows(file, `select column_name, column_type from (describe select * from '${file}')`);
    assert.deepEqual(
      types.map((t) => t.column_type),
      [
        'BIGINT',
        'VARCHAR',
        'DOUBLE',
        'BOOLEAN',
        'BIGINT[]',
        'DOUBLE[]',
        'VARCHAR[]',
        'BIGINT',
        'DOUBLE',
        'BIGINT',
        'VARCHAR',
        'BIGINT',
      ],
    );

    const a = arrowRows(file);
    assert.equal(a.types.get('ids'), 'List<Int64>');
    assert.equal(a.types.get('name'), 'Utf8');
    for (let r = 0; r < rows.length; r++) {
      const got = a.rows[r]!;
      assert.deepStrictEqual(plain(Object.values(got)), Object.values(want[r]!), `parquet-wasm row ${r}`);
    }

    // Column statistics drive DuckDB's row-group skipping: filters must give what a scan gives.
    const filtered = await duckRows(
      file,
      `select count(*) n from '${file}' where fwd_packets = 65535 or g_port > 60000`,
    );
    const scanned = want.filter((r) => r.fwd_packets === 65535 || (typeof r.g_port === 'number' && r.g_port > 60000));
    assert.equal(Number(filtered[0]!.n), scanned.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the encoder thread writes the same file byte for byte (crafted rows of every column kind)', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'flowsieve-parquet-'));
  try {
    const rows = craftedRows(1000);
    const write = async (file: string, encoderThread: boolean) => {
      const fd = openSync(file, 'w');
      // 64-row groups: 16 of them, so the writer waits for the thread's buffers many times.
      const w = new ParquetRowWriter(fd, COLUMNS, 64, encoderThread);
      for (const r of rows) w.add(r);
      await w.finish();
      closeSync(fd);
      return readFileSync(file);
    };
    const inline = await write(path.join(dir, 'inline.parquet'), false);
    const threaded = await write(path.join(dir, 'threaded.parquet'), true);
    assert.ok(threaded.equals(inline));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an encoder thread that fails reports it to the waiting writer instead of hanging', () => {
  const thread = new EncoderThread(COLUMNS, 'gzip');
  try {
    // A snapshot without its columns' arrays: encoding throws in the thread.
    thread.submit({ length: 3 } as unknown as ColumnsSnapshot);
    assert.throws(() => thread.take(true), /Parquet encoder thread failed: TypeError/);
    assert.equal(thread.pending, 0);
  } finally {
    thread.close();
  }
});

test('row groups encoded elsewhere (the --threads path): transferred, flow ids filled in, read back', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'flowsieve-parquet-'));
  try {
    const file = path.join(dir, 'w.parquet');
    const rows = craftedRows(200);
    const fd = openSync(file, 'w');
    const w = new ParquetRowWriter(fd, COLUMNS, 1000);
    // As a shard worker: 64-row groups without the flow_id column (column 0), each copied out and transferred
    // (detaching the copy), the encoder reused for the next; the main thread encodes the ids it assigned.
    const buffers = new ColumnBuffers(COLUMNS, 64);
    const encoder = new ChunkEncoder();
    const ids: number[] = [];
    for (let start = 0; start < rows.length; start += 64) {
      const part = rows.slice(start, start + 64);
      for (const r of part) buffers.add(r);
      const owned = ownedRowGroup(encoder.encodeRowGroup(buffers, 0));
      buffers.clear();
      const moved = structuredClone(owned, { transfer: [owned.bytes.buffer as ArrayBuffer] });
      assert.equal(owned.bytes.byteLength, 0, 'the transferred copy is detached');
      const groupIds = Float64Array.from(part, (_, k) => 1000 + start + k);
      ids.push(...groupIds);
      w.addEncoded(moved, groupIds);
    }
    await w.finish();
    closeSync(fd);
    const duck = await duckRows(file);
    assert.equal(duck.length, rows.length);
    for (let r = 0; r < rows.length; r++) {
      const want = COLUMNS.map((c) => (c.key === 'flow_id' ? ids[r] : expected(c, rows[r]!)));
      assert.deepStrictEqual(plain(Object.values(duck[r]!)), want, `row ${r}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('row groups where a group is in no row, in every row, or in some; constant and short chunks', async () => {
  // The writer keeps a group's values only for the rows that have it and takes shortcuts for chunks without a null
  // or with only nulls (one level run) and for integer chunks of a single value (one dictionary entry): each case
  // in a row group of its own (16 rows), and a last row group of 5 rows (below the 8 values of an RLE run).
  const dir = mkdtempSync(path.join(tmpdir(), 'flowsieve-parquet-'));
  try {
    const file = path.join(dir, 'p.parquet');
    const rows: Row[] = [];
    const phase = (n: number, make: (k: number) => Row | undefined, flow: (k: number) => number) => {
      for (let k = 0; k < n; k++) {
        const row = new FlowRecord({
          flow_id: flow(k),
          name: k % 3 === 0 ? 'same' : `n${k % 2}`,
          ratio: 0.25,
          flag: true,
          ids: [7, 7],
          xs: k % 2 ? [0.5] : [],
          tags: ['t'],
          always_null: null,
        });
        const vec = new Float64Array(STATS_COLUMNS.length).fill(Number.NaN);
        vec[STATS_INDEX.get('fwd_packets')!] = 3;
        vec[STATS_INDEX.get('bidirectional_mean_payload_bytes')!] = k % 4 === 0 ? Number.NaN : 1.5;
        (row as unknown as Record<symbol, unknown>)[STATS_VECTOR] = vec;
        const g = make(k);
        if (g !== undefined) row.g = g;
        rows.push(row);
      }
    };
    phase(
      16,
      () => undefined,
      (k) => k,
    ); // no row has the group
    phase(
      16,
      (k) => ({ port: 443, cert: { issuer: k % 2 ? 'A' : 'B' } }),
      () => 9,
    ); // every row, constant port
    phase(
      16,
      (k) => (k % 5 === 0 ? { port: k } : undefined),
      (k) => 2 ** 40 + k,
    ); // some rows, no cert
    phase(
      5,
      () => ({ port: 22 }),
      () => -3,
    ); // a short row group, constant values
    const fd = openSync(file, 'w');
    const w = new ParquetRowWriter(fd, COLUMNS, 16);
    for (const r of rows) w.add(r);
    await w.finish();
    closeSync(fd);
    const want = rows.map((r) => COLUMNS.map((c) => expected(c, r)));
    const duck = await duckRows(file);
    assert.equal(duck.length, rows.length);
    for (let r = 0; r < rows.length; r++)
      assert.deepStrictEqual(plain(Object.values(duck[r]!)), want[r], `DuckDB row ${r}`);
    const a = arrowRows(file);
    for (let r = 0; r < rows.length; r++)
      assert.deepStrictEqual(plain(Object.values(a.rows[r]!)), want[r], `parquet-wasm row ${r}`);
    // Statistics of the shortcut chunks: min/max of the constant port, null counts of the absent group.
    const meta = await duckRows(
      file,
      `select row_group_id, stats_min_value, stats_max_value, stats_null_count from parquet_metadata('${file}') where path_in_schema = 'g_port' order by 1`,
    );
    assert.deepEqual(
      meta.map((m) => [Number(m.row_group_id), m.stats_min_value, m.stats_max_value, Number(m.stats_null_count)]),
      [
        [0, null, null, 16],
        [1, '443', '443', 0],
        [2, '0', '15', 12],
        [3, '22', '22', 0],
      ],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Decoder of the RLE / bit-packing hybrid (Parquet Encodings.md), for checking the encoder. */
function decodeHybrid(bytes: Uint8Array, n: number, width: number): number[] {
  const out: number[] = [];
  let pos = 0;
  const varint = () => {
    let v = 0;
    let mul = 1;
    for (;;) {
      const b = bytes[pos++]!;
      v += (b & 127) * mul;
      if (b < 128) return v;
      mul *= 128;
    }
  };
  while (out.length < n) {
    const h = varint();
    if (h & 1) {
      const count = (h >>> 1) * 8;
      let bit = 0;
      for (let k = 0; k < count; k++) {
        let v = 0;
        for (let b = 0; b < width; b++, bit++) if (bytes[pos + (bit >> 3)]! & (1 << (bit & 7))) v |= 1 << b;
        out.push(v);
      }
      pos += (h >>> 1) * width;
    } else {
      let v = 0;
      for (let b = 0; b < (width + 7) >> 3; b++) v |= bytes[pos++]! << (8 * b);
      for (let k = 0; k < h >>> 1; k++) out.push(v);
    }
  }
  assert.equal(pos, bytes.length, 'no bytes left over');
  return out.slice(0, n);
}

test('RLE/bit-packed hybrid: random runs decode to the input, for widths 1–20', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 20 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 40 })), { maxLength: 60 }),
      (width, runs) => {
        const vals: number[] = [];
        for (const [v, len] of runs) for (let k = 0; k < len; k++) vals.push(v % 2 ** width);
        const sink = new ByteSink(16);
        rleHybrid(sink, Int32Array.from(vals), vals.length, width);
        assert.deepEqual(decodeHybrid(sink.buf.subarray(0, sink.pos), vals.length, width), vals);
      },
    ),
  );
  // 2000 alternating values: bit-packed runs are cut at 63 groups (504 values), as parquet-mr writes them.
  const alt = Int32Array.from({ length: 2000 }, (_, k) => k & 1);
  const sink = new ByteSink();
  rleHybrid(sink, alt, alt.length, 1);
  assert.deepEqual(decodeHybrid(sink.buf.subarray(0, sink.pos), alt.length, 1), [...alt]);
  assert.equal(sink.buf[0], 63 * 2 + 1);
});

test('Thrift compact protocol: field deltas, long jumps, zigzag, list headers', () => {
  const t = new ByteSink(8);
  t.structBegin(0);
  t.i32(1, -1); // delta 1, type i32 (5): 0x15; zigzag(−1) = 1
  t.i64(20, 300); // jump of 19 > 15: type byte 0x06, zigzag field id 40 = 0x28, zigzag(300) = 600 = 0xd8 0x04
  t.bool(21, true); // delta 1, BOOLEAN_TRUE (1): 0x11
  t.listBegin(22, 5, 15); // delta 1, list (9): 0x19; 15 elements need the long form 0xf5 0x0f
  t.structEnd();
  assert.deepEqual([...t.buf.subarray(0, t.pos)], [0x15, 0x01, 0x06, 0x28, 0xd8, 0x04, 0x11, 0x19, 0xf5, 0x0f, 0x00]);
});

test('every column of the Parquet output equals the JSONL output of the same run', { skip: !HAS_SHARED }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'flowsieve-parquet-'));
  try {
    const input = sharedPath('pcaps/lab/loopback-mix.pcap');
    // The optional list and float columns too: byte distribution (int list), Markov matrices (floats).
    const features = { byteDistribution: true, markov: true };
    const pqFile = path.join(dir, 'f.parquet');
    const jsonFile = path.join(dir, 'f.jsonl');
    await extract({ inputs: [input], output: pqFile, features });
    await extract({ inputs: [input], output: jsonFile, features });
    const json = readFileSync(jsonFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Row);
    const duck = await duckRows(pqFile);
    assert.equal(duck.length, json.length);
    assert.ok(json.length > 100, 'the capture yields flows');
    const names = Object.keys(duck[0]!);
    assert.ok(names.length > 200, 'all columns are present');
    // Flat column name → the JSON path: statistics and identity at the top, groups nested ('tls_cert_issuer').
    const { defaultMeters, meterColumns } = await import('../../src/features/index.ts');
    const { IDENTITY_COLUMNS } = await import('../../src/pipeline.ts');
    const specs = new Map([...IDENTITY_COLUMNS, ...meterColumns(defaultMeters(features))].map((c) => [flatName(c), c]));
    let cells = 0;
    for (let r = 0; r < json.length; r++) {
      for (const name of names) {
        const spec = specs.get(name);
        assert.ok(spec, `column ${name} is a known column`);
        const fromJson = getColumn(json[r]!, spec) ?? null;
        let fromParquet = plain(duck[r]![name]);
        // JSON has no NaN or ±Infinity (it writes null); a DOUBLE keeps them.
        if (typeof fromParquet === 'number' && !Number.isFinite(fromParquet) && fromJson === null) fromParquet = null;
        assert.deepStrictEqual(fromParquet, fromJson, `row ${r} column ${name}`);
        cells++;
      }
    }
    assert.equal(cells, json.length * names.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
