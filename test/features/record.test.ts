/**
 * The rows the pipeline builds (FinishedFlow, linked to FlowRecord.prototype rather than derived from it) keep the
 * FlowRecord contract every sink and library user relies on: `instanceof FlowRecord`, the statistics getters, the
 * stats vector, toJSON's order (identity, statistics, groups) and a JSONL line equal to JSON.stringify's.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { readCapture } from '../../src/capture/index.ts';
import { defaultMeters } from '../../src/features/index.ts';
import type { FlowRow } from '../../src/features/meter.ts';
import { FinishedFlow, FlowRecord, statsVector } from '../../src/features/record.ts';
import { STATS_COLUMNS } from '../../src/features/stats.ts';
import { writeJsonLine } from '../../src/output/jsonl.ts';
import { TextWriter } from '../../src/output/text.ts';
import { FlowPipeline, IDENTITY_COLUMNS } from '../../src/pipeline.ts';
import { writePcap } from '../helpers/pcap-writer.ts';
import { exchanges } from '../helpers/traffic.ts';

test('a FinishedFlow is a FlowRecord with the identity columns in IDENTITY_COLUMNS order', () => {
  const row = new FinishedFlow(7, '10.0.0.1', 1234, '10.0.0.2', 443, 6, 4, 1_000, 3_500, 0, '', 'fin');
  assert.ok(row instanceof FlowRecord);
  assert.deepEqual(
    Object.keys(row),
    IDENTITY_COLUMNS.map((c) => c.key),
  );
  assert.equal(row.duration_us, 2_500);
  // No stats vector yet: the getters read null, toJSON has the identity only.
  assert.equal(row.fwd_packets, null);
  assert.equal(statsVector(row), undefined);
  assert.equal(typeof (row as unknown as FlowRecord).toJSON, 'function');
});

test('pipeline rows: statistics getters read the vector, toJSON and writeJsonLine give JSON.stringify order', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'flowsieve-record-'));
  try {
    const file = path.join(dir, 'x.pcap');
    writeFileSync(file, writePcap(exchanges('10.1.0.10', '10.1.0.1', 5, 0)));
    const rows: FlowRow[] = [];
    const pipeline = new FlowPipeline({
      meters: defaultMeters(),
      onFlow: (r) => rows.push(r),
      sourceFileColumn: false,
    });
    pipeline.startFile(file);
    await readCapture(file, pipeline.packet);
    pipeline.endFile();
    assert.equal(rows.length, 5);
    for (const row of rows) {
      assert.ok(row instanceof FlowRecord);
      const vec = statsVector(row)!;
      assert.equal(vec.length, STATS_COLUMNS.length);
      assert.ok((row.fwd_packets as number) > 0);
      assert.equal(row.fwd_packets, vec[STATS_COLUMNS.findIndex((c) => c.key === 'fwd_packets')]);
      const plain = (row as FlowRecord).toJSON();
      const keys = Object.keys(plain);
      assert.deepEqual(
        keys.slice(0, IDENTITY_COLUMNS.length),
        IDENTITY_COLUMNS.map((c) => c.key),
      );
      assert.equal(keys[IDENTITY_COLUMNS.length], STATS_COLUMNS[0]!.key);
      const w = TextWriter.inMemory(1 << 16);
      writeJsonLine(w, row);
      assert.equal(Buffer.from(w.take(16)).toString('utf8'), `${JSON.stringify(row)}\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
