/**
 * train / evaluate / classify as a user runs them (`node bin/flowsieve.js`): a model trained on small generated
 * captures, evaluate's JSON keys, classify on stdin, --min-score, --fail-on-score (exit 1), --report, and a model
 * whose features the input lacks (one-line error naming the columns, exit 2).
 *
 * Data: two "benign" captures of complete HTTP-like exchanges (handshake, request, response, FIN) and two
 * "malicious" captures of SYN port scans (one SYN per port, answered by RST) — separable by TCP flags alone, so a
 * 20-tree model must rank every scan flow above every exchange.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { runLive } from '../helpers/live.ts';
import { writePcap } from '../helpers/pcap-writer.ts';
import { PROJECT_ROOT } from '../helpers/shared.ts';
import { exchanges, scan, TRAIN_ARGS, writeLabelledCaptures } from '../helpers/traffic.ts';

const BIN = path.join(PROJECT_ROOT, 'bin/flowsieve.js');
const dir = mkdtempSync(path.join(tmpdir(), 'flowsieve-ml-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], input?: Uint8Array) {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, cwd: dir, env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

const file = (name: string): string => path.join(dir, name);

before(() => {
  writeLabelledCaptures(dir);
  const r = run([...TRAIN_ARGS, '-q', '-o', 'model.json', '--report', 'train.html']);
  assert.equal(r.code, 0, r.stderr);
});

test('train writes a model with the behaviour feature set (no dst_port, no payload bytes) and a report', () => {
  const m = JSON.parse(readFileSync(file('model.json'), 'utf8')) as {
    features: string[];
    params: Record<string, unknown>;
  };
  assert.equal(m.params.feature_set, 'behaviour');
  assert.equal(m.params.weight_by, 'capture');
  assert.ok(!m.features.includes('dst_port'));
  assert.ok(!m.features.some((f) => f.startsWith('bytes_') || f.startsWith('dns_context_')));
  assert.match(readFileSync(file('train.html'), 'utf8'), /<html/i);
});

test('evaluate --json writes the documented metric keys', () => {
  const r = run([
    'evaluate',
    '--model',
    'model.json',
    '--label',
    'benign=benign-*.pcap',
    '--label',
    'malicious=malicious-*.pcap',
    '--json',
    'eval.json',
    '-q',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const m = JSON.parse(readFileSync(file('eval.json'), 'utf8')) as Record<string, unknown>;
  for (const k of ['macro_f1', 'f1', 'roc_auc', 'pr_auc', 'mcc', 'confusion', 'tpr_at_fpr']) assert.ok(k in m, k);
  // Separable by flags: every scan flow outranks every exchange.
  assert.equal(m.roc_auc, 1);
  assert.deepEqual(Object.keys(m.tpr_at_fpr as object).sort(), ['0.001', '0.01']);
});

test('classify reads a capture on stdin; --min-score keeps only the scan; --report writes HTML', () => {
  const mixed = writePcap([...exchanges('10.3.0.10', '10.3.0.1', 5, 0), ...scan('10.3.0.99', '10.3.0.1', 8, 10, 100)]);
  const all = run(['classify', '-', '--model', 'model.json', '-q'], mixed);
  assert.equal(all.code, 0, all.stderr);
  const rows = all.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { src_ip: string; p_malicious: number; verdict: string; reasons: string[] });
  assert.equal(rows.length, 13);
  for (const row of rows) {
    assert.ok(row.p_malicious >= 0 && row.p_malicious <= 1);
    assert.ok(row.reasons.length <= 3);
  }
  const scanScores = rows.filter((r) => r.src_ip === '10.3.0.99').map((r) => r.p_malicious);
  const otherScores = rows.filter((r) => r.src_ip !== '10.3.0.99').map((r) => r.p_malicious);
  assert.ok(Math.min(...scanScores) > Math.max(...otherScores));

  const risky = run(
    ['classify', '-', '--model', 'model.json', '--min-score', '0.5', '--report', 'c.html', '-q'],
    mixed,
  );
  assert.equal(risky.code, 0, risky.stderr);
  const kept = risky.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { src_ip: string });
  assert.equal(kept.length, 8);
  assert.ok(kept.every((r) => r.src_ip === '10.3.0.99'));
  assert.ok(existsSync(file('c.html')));
});

test('classify on a live stdin pipe writes verdicts while the pipe is still open', async () => {
  // First the scan (its flows end idle once traffic 200 s later arrives), then that later traffic; stdin stays
  // open: the verdicts must come out without waiting for the end of the stream.
  const first = writePcap([...scan('10.4.0.99', '10.4.0.1', 5, 0, 100), ...exchanges('10.4.0.10', '10.4.0.1', 1, 200)]);
  const run = runLive(['classify', '-', '--model', 'model.json', '-q'], dir);
  run.child.stdin.write(first);
  const lines = await run.lines(5);
  assert.equal(run.child.exitCode, null, 'stdin is still open');
  for (const l of lines) assert.equal((JSON.parse(l) as { src_ip: string }).src_ip, '10.4.0.99');
  run.child.stdin.end();
  assert.equal(await run.closed, 0);
  assert.equal(run.stdout().trim().split('\n').length, 6);
});

test('--fail-on-score exits 1 when a flow reaches it, 0 otherwise', () => {
  assert.equal(
    run(['classify', 'malicious-1.pcap', '--model', 'model.json', '--fail-on-score', '0.5', '-q', '-o', 'x.jsonl'])
      .code,
    1,
  );
  assert.equal(
    run(['classify', 'benign-1.pcap', '--model', 'model.json', '--fail-on-score', '0.5', '-q', '-o', 'y.jsonl']).code,
    0,
  );
});

test('a model whose features the input lacks fails with one line naming them (exit 2)', () => {
  const m = JSON.parse(readFileSync(file('model.json'), 'utf8')) as { features: string[] };
  m.features[0] = 'no_such_column';
  writeFileSync(file('bad-model.json'), JSON.stringify(m));
  const r = run(['classify', 'benign-1.pcap', '--model', 'bad-model.json', '-q']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no_such_column/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});

test('bad option values are one-line errors (exit 2)', () => {
  for (const args of [
    ['train', 'benign-1.pcap', '--features', 'payload', '-o', 'm.json'],
    ['train', 'benign-1.pcap', '--weight-by', 'host', '-o', 'm.json'],
    ['classify', 'benign-1.pcap', '--model', 'model.json', '-o', 'c.parquet', '--compression', 'lz4'],
    ['classify', 'benign-1.pcap', '--model', 'model.json', '-o', 'c.jsonl', '--compression', 'none'],
  ]) {
    const r = run(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
});

test('classify --compression sets the Parquet codec of the scored flows (DuckDB reads them back)', async () => {
  // 3,000 flows: column chunks past the 2 KB below which none is compressed.
  writeFileSync(file('big-scan.pcap'), writePcap(scan('10.8.0.9', '10.8.0.1', 3000, 0, 1000)));
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const conn = await (await DuckDBInstance.create()).connect();
  const query = async (sql: string) => (await conn.runAndReadAll(sql)).getRowObjectsJS();
  for (const codec of ['brotli', 'none']) {
    const out = file(`c-${codec}.parquet`);
    const r = run([
      'classify',
      'big-scan.pcap',
      '--model',
      'model.json',
      '-q',
      '--top',
      '0',
      '-o',
      out,
      '--compression',
      codec,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const codecs = (await query(`select distinct compression from parquet_metadata('${out}')`)).map((c) =>
      String(c.compression),
    );
    assert.deepEqual(codecs.sort(), codec === 'none' ? ['UNCOMPRESSED'] : ['BROTLI', 'UNCOMPRESSED']);
    const scored = (await query(`select count(*) n, min(p_malicious) lo from '${out}'`))[0]!;
    assert.equal(Number(scored.n), 3000);
    assert.ok(typeof scored.lo === 'number' && scored.lo >= 0);
  }
});

test('a capture and its extracted CSV get the same scores (derived columns agree across formats)', () => {
  assert.equal(run(['extract', 'malicious-1.pcap', '-o', 'm1.csv', '-q']).code, 0);
  const score = (input: string): Map<string, number> => {
    const r = run(['classify', input, '--model', 'model.json', '-q']);
    assert.equal(r.code, 0, r.stderr);
    const m = new Map<string, number>();
    for (const l of r.stdout.trim().split('\n')) {
      const row = JSON.parse(l) as { src_port: number; dst_port: number; p_malicious: number };
      m.set(`${row.src_port}-${row.dst_port}`, row.p_malicious);
    }
    return m;
  };
  assert.deepEqual(score('m1.csv'), score('malicious-1.pcap'));
});

test('a model trained on flows extracted with --markov turns the Markov meter on when it classifies a capture', () => {
  for (const name of ['benign-1', 'malicious-1']) {
    const r = run(['extract', `${name}.pcap`, '--markov', '-o', `${name}-markov.jsonl`, '-q']);
    assert.equal(r.code, 0, r.stderr);
  }
  const trained = run([
    'train',
    '--label',
    'benign=benign-1-markov.jsonl',
    '--label',
    'malicious=malicious-1-markov.jsonl',
    '--features',
    'all',
    '--split',
    'stratified',
    '--trees',
    '10',
    '-o',
    'markov.json',
    '-q',
  ]);
  assert.equal(trained.code, 0, trained.stderr);
  const m = JSON.parse(readFileSync(file('markov.json'), 'utf8')) as { features: string[] };
  assert.ok(m.features.some((f) => f.startsWith('markov_')));
  const r = run(['classify', 'malicious-1.pcap', '--model', 'markov.json', '-q']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n').length, 60);
});

test('classify --threads 2 writes what one thread writes, row for row, and the same warnings', () => {
  const mix = [...exchanges('10.6.0.10', '10.6.0.1', 30, 0), ...scan('10.6.0.99', '10.6.0.1', 200, 3, 1000)];
  mix.sort((a, b) => a.tsUs - b.tsUs);
  const pcap = writePcap(mix);
  writeFileSync(file('threads.pcap'), pcap);
  // A second capture cut inside its last record: several inputs (source_file) and a warning.
  writeFileSync(file('threads-cut.pcap'), pcap.subarray(0, pcap.length - 20));
  const classify = (threads: string, ...inputs: string[]) => {
    const r = spawnSync(
      process.execPath,
      [BIN, 'classify', ...inputs, '--model', 'model.json', '--top', '0', '--threads', threads],
      { cwd: dir, env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 64 << 20 },
    );
    assert.equal(r.status, 0, r.stderr.toString());
    return { rows: r.stdout.toString().trim().split('\n'), stderr: r.stderr.toString() };
  };
  const one = classify('1', 'threads.pcap');
  assert.equal(one.rows.length, 230);
  // The scores come from a worker's feature batches (src/parallel/batcher.ts), in the order one thread gives.
  assert.deepEqual(classify('2', 'threads.pcap').rows, one.rows);
  const both = classify('1', 'threads.pcap', 'threads-cut.pcap');
  assert.match(both.stderr, /threads-cut\.pcap.*offset \d+/);
  assert.ok(both.rows.every((line) => 'source_file' in JSON.parse(line)));
  const both2 = classify('2', 'threads.pcap', 'threads-cut.pcap');
  assert.deepEqual(both2.rows, both.rows);
  assert.equal(both2.stderr, both.stderr);
});
