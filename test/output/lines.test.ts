/**
 * The pieces behind lines formatted outside the sink (src/parallel): a TextWriter in memory grows instead of
 * writing and hands its bytes over; linesWithIds writes lines with other flow ids in place of theirs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { lineFormat, openSink } from '../../src/output/index.ts';
import { TextWriter } from '../../src/output/text.ts';
import { IDENTITY_COLUMNS } from '../../src/pipeline.ts';

test('an in-memory TextWriter grows, keeps every byte, and starts afresh after take()', () => {
  const w = TextWriter.inMemory(16);
  const long = 'ü'.repeat(40);
  w.write('a,');
  w.number(12345678901);
  w.byte(0x2c);
  w.write(long);
  w.bytes(new Uint8Array(100).fill(0x41));
  const expected = `a,12345678901,${long}${'A'.repeat(100)}`;
  assert.equal(Buffer.from(w.take(16)).toString('utf8'), expected);
  assert.equal(w.pos, 0);
  w.write('next');
  assert.equal(Buffer.from(w.take(16)).toString('utf8'), 'next');
  assert.throws(() => w.flush(), /in-memory/);
});

test('linesWithIds replaces each line’s flow id, whatever the widths', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flowsieve-lines-'));
  try {
    const file = path.join(dir, 'out.jsonl');
    const sink = openSink({ path: file, columns: IDENTITY_COLUMNS });
    const text = '{"flow_id":7,"x":"é"}\n{"flow_id":12,"x":1}\n{"flow_id":3}\n';
    const bytes = new TextEncoder().encode(text);
    // Where the digits of each flow_id are (byte offsets: "é" takes two).
    const idAt = new Uint32Array([11, 12, 34, 36, 55, 56]);
    sink.lines!.write({ rows: 3, bytes, idAt }, Float64Array.from([1000, 2, 30]));
    sink.lines!.write({ rows: 1, bytes: new TextEncoder().encode('{"flow_id":5}\n'), idAt: new Uint32Array(0) });
    assert.throws(() => sink.lines!.write({ rows: 1, bytes, idAt }, Float64Array.from([1])), /do not match/);
    await sink.close();
    assert.equal(
      readFileSync(file, 'utf8'),
      '{"flow_id":1000,"x":"é"}\n{"flow_id":2,"x":1}\n{"flow_id":30}\n{"flow_id":5}\n',
    );
    assert.equal(sink.rows, 4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lineFormat: where a line’s flow_id is, per format and dialect', () => {
  const columns = IDENTITY_COLUMNS;
  const jsonl = lineFormat({ format: 'jsonl', dialect: 'default', columns });
  assert.equal(Buffer.from(jsonl.idPrefix!).toString(), '{"flow_id":');
  assert.equal(jsonl.header, undefined);
  const csv = lineFormat({ format: 'csv', dialect: 'default', columns });
  assert.deepEqual([csv.hasFlowId, csv.idPrefix?.length], [true, 0]);
  assert.match(csv.header!, /^flow_id,src_ip,/);
  // The CIC-IDS2017 columns have no flow_id ("Flow ID" is the 5-tuple): nothing to replace.
  const cic = lineFormat({ format: 'csv', dialect: 'cic2017', columns });
  assert.deepEqual([cic.hasFlowId, cic.idPrefix], [false, undefined]);
  assert.match(cic.header!, /^Flow ID,Source IP,/);
});
