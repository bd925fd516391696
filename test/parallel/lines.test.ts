/**
 * CSV and JSONL with `--threads N`: the workers format the lines (lineFormat, src/output/index.ts) and the merge
 * replaces each shard's own flow ids (src/parallel/batcher.ts, extract.ts). The files must hold the single-threaded
 * run's bytes: the same header, and the same lines (compared byte for byte, sorted: shards finish flows in another
 * order) — on a generated capture with enough flows for several line batches per shard and for flow ids to change
 * width (a shard's local id 9 may become 1503), and on a shared capture with TLS, DNS and HTTP groups. Also: a
 * pipe closed by its reader ends the run quietly, as with one thread.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { extract } from '../../src/api.ts';
import { defaultMeters, meterColumns } from '../../src/features/index.ts';
import { openSink } from '../../src/output/index.ts';
import { runParallelExtract } from '../../src/parallel/extract.ts';
import { IDENTITY_COLUMNS } from '../../src/pipeline.ts';
import { udpFrame } from '../helpers/packets.ts';
import { type WritePacket, writePcap } from '../helpers/pcap-writer.ts';
import { at } from '../helpers/run.ts';
import { HAS_SHARED, PROJECT_ROOT, sharedPath } from '../helpers/shared.ts';
import { exchanges, scan } from '../helpers/traffic.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'flowsieve-lines-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * 3000 flows: HTTP-like exchanges (a JSONL line ≈ 3 KB, so several 1 MiB line batches per shard), a port scan, and
 * UDP flows whose payload is non-ASCII text.
 */
function generatedCapture(copies = 1): string {
  const packets: WritePacket[] = [
    ...exchanges('10.0.0.1', '10.0.0.2', 1500, 0),
    ...scan('10.0.0.9', '10.0.0.2', 1000, 2000, 1),
  ];
  const text = new TextEncoder().encode('é ✓ ünïcödé');
  for (let i = 0; i < 500; i++) {
    packets.push({
      tsUs: at(3000 + i * 0.01),
      data: udpFrame({
        src: `10.2.${i >> 8}.${i & 255}`,
        dst: '10.0.0.53',
        sport: 5000 + i,
        dport: 9999,
        payload: text,
      }),
    });
  }
  // Copies come 4000 s apart, after every flow of the previous copy has ended.
  const all = Array.from({ length: copies }, (_, c) => packets.map((p) => ({ ...p, tsUs: p.tsUs + c * 4000e6 })));
  const file = path.join(dir, `generated-${copies}.pcap`);
  writeFileSync(file, writePcap(all.flat()));
  return file;
}

/** A text output as bytes (latin1: one character per byte): the first line, then the rest sorted. */
function headerAndSortedLines(file: string, withHeader: boolean): { header: string; lines: string[] } {
  const lines = readFileSync(file, 'latin1').split('\n');
  assert.equal(lines.pop(), '', 'the file ends with a newline');
  const header = withHeader ? lines.shift()! : '';
  return { header, lines: lines.sort() };
}

const OUTPUTS = [
  { name: 'JSONL', ext: 'jsonl', dialect: undefined, header: false },
  { name: 'CSV', ext: 'csv', dialect: undefined, header: true },
  { name: 'CSV --dialect cic2017', ext: 'csv', dialect: 'cic2017', header: true },
] as const;

async function compareThreads(input: string, outputs: readonly (typeof OUTPUTS)[number][], threadCounts: number[]) {
  for (const out of outputs) {
    const one = path.join(dir, `1.${out.ext}`);
    const first = await extract({ inputs: [input], output: one, dialect: out.dialect });
    assert.ok(first.rows > 0);
    const expected = headerAndSortedLines(one, out.header);
    for (const threads of threadCounts) {
      const many = path.join(dir, `${threads}.${out.ext}`);
      const r = await extract({ inputs: [input], output: many, dialect: out.dialect, threads });
      assert.equal(r.rows, first.rows, `${out.name}, ${threads} threads: rows`);
      const got = headerAndSortedLines(many, out.header);
      assert.equal(got.header, expected.header, `${out.name}, ${threads} threads: header`);
      assert.deepEqual(got.lines, expected.lines, `${out.name}, ${threads} threads: lines`);
    }
  }
}

test('CSV and JSONL lines formatted by the workers equal one thread: generated capture', async () => {
  const input = generatedCapture();
  await compareThreads(input, OUTPUTS, [2]);
  // Three shards: two workers' lines interleave in the merge (JSONL only: worker start-up dominates the run time).
  await compareThreads(input, [OUTPUTS[0]], [3]);
});

test('CSV and JSONL lines formatted by the workers equal one thread: shared capture', {
  skip: !HAS_SHARED,
}, async () => {
  await compareThreads(sharedPath('pcaps/lab/loopback-mix.pcap'), OUTPUTS, [2]);
  // Closed TCP flows whose linger ends while another closed flow still lingers, each with a late packet: whether
  // that packet joins the closed flow must not depend on which flows share its table.
  await compareThreads(sharedPath('pcaps/acandeias-intrusiondetection/tesla.pcap'), [OUTPUTS[0]], [2]);
});

test('several files (one worker per file): JSONL lines keep the flow ids of their file', {
  skip: !HAS_SHARED,
}, async () => {
  const input = sharedPath('pcaps/foxio-ja4');
  await extract({ inputs: [input], output: path.join(dir, 'd1.jsonl') });
  await extract({ inputs: [input], output: path.join(dir, 'd2.jsonl'), threads: 2 });
  assert.deepEqual(
    headerAndSortedLines(path.join(dir, 'd2.jsonl'), false),
    headerAndSortedLines(path.join(dir, 'd1.jsonl'), false),
  );
});

test('with a text sink the rows never reach the main thread: lines come formatted', async () => {
  const input = generatedCapture();
  const columns = [...IDENTITY_COLUMNS, ...meterColumns(defaultMeters())];
  for (const ext of ['jsonl', 'csv']) {
    const sink = openSink({ path: path.join(dir, `direct.${ext}`), columns });
    assert.ok(sink.lines, `${ext}: the sink takes formatted lines`);
    await runParallelExtract({
      inputs: [input],
      threads: 2,
      lines: sink.lines,
      onFlow: () => assert.fail('a row was sent to the main thread'),
    });
    await sink.close();
    assert.equal(sink.rows, 3000);
  }
});

test('a CSV whose flow_id is not the first column takes no formatted lines (its ids could not be replaced)', () => {
  const [flowId, ...rest] = IDENTITY_COLUMNS;
  const sink = openSink({ path: path.join(dir, 'reordered.csv'), columns: [...rest, flowId!] });
  try {
    assert.equal(sink.lines, undefined);
  } finally {
    sink.abort();
  }
});

test('--threads 2 to a pipe the reader closes early (`| head`): exit 0, nothing on stderr', async () => {
  // Long enough that the pipe closes while the main thread still reads: the failed write then comes from a worker's
  // batch (before, an unhandled rejection with a stack trace, exit 1).
  const input = generatedCapture(8);
  const child = spawn(process.execPath, [
    path.join(PROJECT_ROOT, 'bin/flowsieve.js'),
    'extract',
    input,
    '--threads',
    '2',
    '-o',
    '-',
    '-q',
  ]);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  // The first lines, then the pipe closes while ~9 MB of JSON lines are still to come.
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.stdout.destroy();
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(stderr, '');
  assert.equal(code, 0);
});
