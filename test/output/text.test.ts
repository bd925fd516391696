/**
 * Text outputs (src/output/text.ts, jsonl.ts, csv.ts): the fast writers give exactly the text of the plain
 * formulations they replace — `JSON.stringify(row)` for JSON lines, csvLine over the flattened values for CSV,
 * `String(x)` for numbers — on random rows with nulls, non-finite numbers, −0, lists, groups and awkward strings.
 */
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import type { ColumnSpec } from '../../src/features/meter.ts';
import { FlowRecord } from '../../src/features/record.ts';
import { STATS_COLUMNS, STATS_INDEX, STATS_VECTOR } from '../../src/features/stats.ts';
import { columnAccessor } from '../../src/output/columns.ts';
import { csvLine, csvRowWriter } from '../../src/output/csv.ts';
import { writeJsonLine } from '../../src/output/jsonl.ts';
import { TextWriter } from '../../src/output/text.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'flowsieve-text-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** What `write` puts through a TextWriter (a small buffer, so flushes happen mid-way), as text. */
function written(write: (w: TextWriter) => void, bufferSize = 256): string {
  const file = path.join(dir, 'out.txt');
  const fd = openSync(file, 'w');
  const w = new TextWriter(fd, bufferSize);
  write(w);
  w.flush();
  closeSync(fd);
  return readFileSync(file, 'utf8');
}

test('TextWriter.number prints what String() prints', () => {
  const edge = [
    0,
    -0,
    1,
    -1,
    9,
    10,
    99,
    100,
    2 ** 31,
    -(2 ** 31),
    // Around the 32-bit path's limits and each digit count.
    ...Array.from({ length: 10 }, (_, k) => [10 ** (k + 1) - 1, 10 ** (k + 1)]).flat(),
    2 ** 32 - 1,
    2 ** 32,
    -(2 ** 32),
    2 ** 53 - 1,
    -(2 ** 53 - 1),
    2 ** 53,
    1e21,
    1.5,
    -0.1,
    5e-324,
    1.7976931348623157e308,
  ];
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.double({ noNaN: true, noDefaultInfinity: true }),
          fc.integer(),
          fc.maxSafeInteger(),
          fc.integer({ min: 0, max: 2 ** 31 - 1 }).map((n) => n * 3),
          fc.constantFrom(...edge),
        ),
      ),
      (xs) => {
        const text = written((w) => {
          for (const x of xs) {
            w.number(x);
            w.byte(0x20);
          }
        }, 64);
        assert.equal(text, xs.map((x) => `${String(x)} `).join(''));
      },
    ),
  );
});

const statKeys = new Set(STATS_INDEX.keys());
/** Own property names a row may carry: not a statistic (read-only getters), not integer-like, not special. */
const keyArb = fc
  .oneof(
    fc.constantFrom('flow_id', 'src_ip', 'tunnel', 'tls', 'dns', 'source_file', 'é"\\'),
    fc.string({ maxLength: 8 }),
  )
  .filter((k) => !statKeys.has(k) && k !== '__proto__' && k !== 'toJSON' && !/^(0|[1-9]\d*)$/.test(k));
const scalarArb = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom(
    '=cmd',
    '-5',
    '-cmd',
    '+x',
    '@a',
    'a,b',
    'q"q',
    'line\nbreak',
    '',
    'é',
    'a\x7f',
    'x'.repeat(300),
    'tab\tin',
  ),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
);
const valueArb = fc.oneof(
  scalarArb,
  fc.array(fc.oneof(scalarArb, fc.dictionary(fc.string({ maxLength: 3 }), scalarArb, { maxKeys: 2 })), {
    maxLength: 5,
  }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(scalarArb, fc.array(scalarArb, { maxLength: 3 })), {
    maxKeys: 4,
  }),
);
const vectorArb = fc.option(
  fc.array(fc.oneof(fc.double(), fc.integer(), fc.constantFrom(Number.NaN, -0)), {
    minLength: STATS_COLUMNS.length,
    maxLength: STATS_COLUMNS.length,
  }),
);
const rowArb = fc.tuple(fc.array(fc.tuple(keyArb, valueArb), { maxLength: 8 }), vectorArb).map(([props, vec]) => {
  const row = new FlowRecord({});
  for (const [k, v] of props) row[k] = v;
  if (vec) (row as unknown as Record<symbol, unknown>)[STATS_VECTOR] = Float64Array.from(vec);
  return row;
});

/** Values JSON.stringify treats specially, for the byte writer's fallbacks (toJSON, other prototypes, omission). */
const oddArb = fc.oneof(
  fc.constantFrom(
    new Date(0),
    new Map([[1, 2]]),
    Float64Array.of(1.5, Number.NaN),
    () => 1,
    Symbol('s'),
    { toJSON: () => 'own' },
    { toJSON: () => undefined },
    [{ toJSON: () => undefined }],
    { nested: { toJSON: () => ({ deeper: [1, undefined] }) } },
    Object.assign(Object.create(null), { b: 1, 2: 'two', a: [undefined, () => 0] }),
    { 10: 'ten', 2: 'two', z: -0, y: Number.POSITIVE_INFINITY },
    [[[[[[[[[[1, { deep: [2] }]]]]]]]]]],
    // Strings around the copied-as-is path: a lone surrogate, DEL, long ones with and without escapes.
    '\ud800x',
    'a\x7f',
    'back\\slash',
    'a'.repeat(300),
    `${'b'.repeat(255)}"`,
    'c'.repeat(256),
  ),
  valueArb,
);
const oddRowArb = fc
  .tuple(rowArb, fc.array(fc.tuple(keyArb, fc.dictionary(fc.string({ maxLength: 4 }), oddArb, { maxKeys: 5 }))))
  .map(([row, groups]) => {
    for (const [k, g] of groups) row[k] = g;
    return row;
  });

test('writeJsonLine writes the bytes of JSON.stringify(row)', () => {
  fc.assert(
    fc.property(oddRowArb, (row) => {
      // A small buffer: flushes fall inside field names, numbers and groups.
      assert.equal(
        written((w) => writeJsonLine(w, row), 64),
        `${JSON.stringify(row)}\n`,
      );
      const plainRow = { ...row };
      assert.equal(
        written((w) => writeJsonLine(w, plainRow), 64),
        `${JSON.stringify(plainRow)}\n`,
      );
    }),
    { numRuns: 400 },
  );
});

test('csvRowWriter gives csvLine over the flattened values', () => {
  const columns: ColumnSpec[] = [
    { key: 'flow_id', type: 'int', unit: '', doc: '' },
    { key: 'src_ip', type: 'string', unit: '', doc: '' },
    STATS_COLUMNS[0]!,
    STATS_COLUMNS[STATS_INDEX.get('bidirectional_mean_payload_bytes')!]!,
    { key: 'sni', group: 'tls', type: 'string', unit: '', doc: '' },
    { key: 'ids', group: 'tls', type: 'int_list', unit: '', doc: '' },
    { key: 'issuer', group: 'tls.cert', type: 'string', unit: '', doc: '' },
    { key: 'query', group: 'dns', type: 'string', unit: '', doc: '' },
    { key: 'tunnel', type: 'string', unit: '', doc: '' },
  ];
  // Also a line that starts with a group's columns (no leading comma when the group is absent).
  const startsWithGroup = [columns[4]!, columns[6]!, ...columns];
  const accessors = columns.map(columnAccessor);
  const write = csvRowWriter(columns);
  const accessors2 = startsWithGroup.map(columnAccessor);
  const write2 = csvRowWriter(startsWithGroup);
  // A list with a hole (joined as an empty element).
  const holey = new Array<number>(3);
  holey[0] = 1;
  holey[2] = 3;
  const groupArb = fc.option(
    fc.record({
      sni: valueArb,
      ids: fc.oneof(valueArb, fc.constant(holey)),
      cert: fc.option(fc.oneof(fc.record({ issuer: valueArb }), scalarArb)),
      query: valueArb,
    }),
    { nil: undefined },
  );
  fc.assert(
    fc.property(rowArb, groupArb, groupArb, (row, tls, dns) => {
      if (tls !== undefined) row.tls = tls;
      if (dns !== undefined) row.dns = dns === null ? null : { query: dns.query };
      assert.equal(
        written((w) => write(w, row)),
        csvLine(accessors.map((a) => a(row))),
      );
      assert.equal(
        written((w) => write2(w, row)),
        csvLine(accessors2.map((a) => a(row))),
      );
    }),
    { numRuns: 300 },
  );
});
