/**
 * The extract command as a user runs it: help and version, exit codes and one-line errors, stdin streaming,
 * stdout output, unwritable output detected before reading, the config file, and Parquet that DuckDB reads back.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { runLive } from '../helpers/live.ts';
import { bytes, tcpFrame, udpFrame } from '../helpers/packets.ts';
import { writePcap, writePcapng } from '../helpers/pcap-writer.ts';
import { at } from '../helpers/run.ts';
import { PROJECT_ROOT } from '../helpers/shared.ts';
import { scan } from '../helpers/traffic.ts';

const BIN = path.join(PROJECT_ROOT, 'bin/flowsieve.js');
const dir = mkdtempSync(path.join(tmpdir(), 'flowsieve-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], opts: { input?: Uint8Array; cwd?: string } = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    input: opts.input,
    cwd: opts.cwd ?? dir,
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

const packets = [
  { tsUs: at(0), data: tcpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1111, dport: 80, flags: 'S' }) },
  { tsUs: at(0.1), data: tcpFrame({ src: '10.0.0.2', dst: '10.0.0.1', sport: 80, dport: 1111, flags: 'SA' }) },
  {
    tsUs: at(0.2),
    data: udpFrame({ src: '10.0.0.1', dst: '10.0.0.3', sport: 5353, dport: 53, payload: bytes('abc') }),
  },
];
const pcap = writePcap(packets);
const pcapFile = path.join(dir, 'in.pcap');
writeFileSync(pcapFile, pcap);

test('--help shows examples, --version the version, an unknown flag fails with a hint (exit 2)', () => {
  const help = run(['extract', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Examples:/);
  assert.match(run(['--version']).stdout, /^\d+\.\d+\.\d+/);
  const bad = run(['extract', pcapFile, '--idle-timout', '5']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown option '--idle-timout'/);
  assert.match(bad.stderr, /Did you mean --idle-timeout\?/);
});

test('not a capture: one line naming the file and its magic bytes, exit 2, no stack trace', () => {
  const notCapture = path.join(dir, 'notes.txt');
  writeFileSync(notCapture, 'hello world, not a pcap');
  const r = run(['extract', notCapture, '-o', '-', '-q']);
  assert.equal(r.code, 2);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /notes\.txt.*0x68656c6c/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('an unwritable output fails before any input is read', () => {
  const r = run(['extract', pcapFile, '-o', '/nonexistent-dir/flows.csv']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /cannot write output/);
  assert.doesNotMatch(r.stderr, /summary/);
});

test('a symbolic link or a named pipe as output is written in place, not replaced', { timeout: 60_000 }, async () => {
  // A finished temporary renamed over them replaced them: run as root, `-o /dev/null` left /dev/null a regular file.
  const target = path.join(dir, 'target.csv');
  const link = path.join(dir, 'link.csv');
  writeFileSync(target, 'old');
  symlinkSync(target, link);
  const r = run(['extract', pcapFile, '-o', link, '-q']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(lstatSync(link).isSymbolicLink());
  assert.match(readFileSync(target, 'utf8'), /^flow_id,/);
  // The report too.
  const flows = path.join(dir, 'for-report.jsonl');
  assert.equal(run(['extract', pcapFile, '-o', flows, '-q']).code, 0);
  const htmlTarget = path.join(dir, 'target.html');
  const htmlLink = path.join(dir, 'link.html');
  symlinkSync(htmlTarget, htmlLink);
  const report = run(['report', flows, '-o', htmlLink]);
  assert.equal(report.code, 0, report.stderr);
  assert.ok(lstatSync(htmlLink).isSymbolicLink());
  assert.match(readFileSync(htmlTarget, 'utf8'), /^<!doctype html>/i);

  const fifo = path.join(dir, 'flows.fifo');
  execFileSync('mkfifo', [fifo]);
  const child = spawn(process.execPath, [BIN, 'extract', pcapFile, '-o', fifo, '--format', 'jsonl', '-q']);
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const text = await readFile(fifo, 'utf8');
  assert.equal(await exited, 0);
  assert.equal(text.trim().split('\n').length, 2);
  assert.ok(lstatSync(fifo).isFIFO());
});

test('a pcapng stream on stdin becomes JSONL on stdout; the summary goes to stderr', () => {
  const ng = writePcapng([{ interfaces: [{ linkType: 1 }], packets }]);
  const r = run(['extract', '-', '-o', '-'], { input: ng });
  assert.equal(r.code, 0);
  const rows = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(rows.length, 2);
  assert.deepEqual(rows.map((x) => x.protocol).sort(), [17, 6]);
  assert.match(r.stderr, /packets read\s+3/);
});

test('CSV to stdout has the documented header; --stats writes the counters', () => {
  const statsFile = path.join(dir, 'stats.json');
  const r = run(['extract', pcapFile, '-o', '-', '--format', 'csv', '--stats', statsFile, '-q']);
  assert.equal(r.code, 0);
  const header = r.stdout.split('\n')[0]!.split(',');
  for (const c of [
    'flow_id',
    'src_ip',
    'src_port',
    'dst_ip',
    'dst_port',
    'protocol',
    'first_seen_us',
    'last_seen_us',
    'fwd_packets',
    'bwd_packets',
    'fwd_bytes',
    'bwd_bytes',
    'fwd_payload_bytes',
    'bwd_payload_bytes',
    'end_reason',
    'tls_ja3',
    'tls_sni',
  ]) {
    assert.ok(header.includes(c), `missing column ${c}`);
  }
  const stats = JSON.parse(readFileSync(statsFile, 'utf8'));
  assert.equal(stats.packets_read, 3);
  assert.equal(stats.packets_in_flows, 3);
  assert.deepEqual(stats.dropped, {});
});

test('flowsieve.config.json supplies defaults; flags override; bad keys are named', () => {
  const cwd = mkdtempSync(path.join(dir, 'cfg-'));
  writeFileSync(path.join(cwd, 'flowsieve.config.json'), JSON.stringify({ extract: { format: 'csv', quiet: true } }));
  const r = run(['extract', pcapFile, '-o', '-'], { cwd });
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^flow_id,/);
  assert.equal(r.stderr, '');
  writeFileSync(path.join(cwd, 'flowsieve.config.json'), JSON.stringify({ extract: { idleTimout: 5 } }));
  const bad = run(['extract', pcapFile, '-o', '-'], { cwd });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /extract\.idleTimout: not an option/);
});

test('Parquet output reads back in DuckDB with the same rows and types', async () => {
  const out = path.join(dir, 'flows.parquet');
  const r = run(['extract', pcapFile, '-o', out, '-q']);
  assert.equal(r.code, 0);
  assert.ok(existsSync(out));
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const conn = await (await DuckDBInstance.create()).connect();
  const rows = (
    await conn.runAndReadAll(
      `select protocol, fwd_packets, bwd_packets, src_ip, tls_sni from '${out}' order by protocol`,
    )
  ).getRowObjects();
  assert.equal(rows.length, 2);
  assert.equal(rows[0]!.protocol, 6n);
  assert.equal(rows[0]!.fwd_packets, 1n);
  assert.equal(rows[0]!.bwd_packets, 1n);
  assert.equal(rows[1]!.src_ip, '10.0.0.1');
  assert.equal(rows[1]!.tls_sni, null);
});

test('--compression picks the Parquet codec of every writer (inline, encoder thread, file workers); the same rows read back', async () => {
  // 3,000 flows: column chunks past the 2 KB below which none is compressed.
  const scans = [path.join(dir, 'scan-a.pcap'), path.join(dir, 'scan-b.pcap')];
  writeFileSync(scans[0]!, writePcap(scan('10.6.0.9', '10.6.0.1', 3000, 0, 1000)));
  writeFileSync(scans[1]!, writePcap(scan('10.7.0.9', '10.7.0.1', 3000, 0, 1000)));
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const conn = await (await DuckDBInstance.create()).connect();
  const query = async (sql: string) => (await conn.runAndReadAll(sql)).getRowObjectsJS();
  const runs: [string, string[]][] = [
    ['inline', [scans[0]!]],
    ['encoder thread', [scans[0]!, '--threads', '2']],
    ['file workers', [...scans, '--threads', '2']],
  ];
  for (const [name, args] of runs) {
    const contents: string[] = [];
    for (const codec of ['gzip', 'brotli', 'none']) {
      const out = path.join(dir, `scan-${codec}.parquet`);
      const r = run(['extract', ...args, '-o', out, '-q', '--compression', codec]);
      assert.equal(r.code, 0, r.stderr);
      const codecs = (await query(`select distinct compression from parquet_metadata('${out}')`)).map((c) =>
        String(c.compression),
      );
      const want = codec === 'none' ? ['UNCOMPRESSED'] : ['UNCOMPRESSED', codec.toUpperCase()];
      assert.deepEqual(codecs.sort(), want.sort(), `${name}, ${codec}`);
      const rows = await query(`select * exclude (flow_id) from '${out}' order by all`);
      contents.push(JSON.stringify(rows, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)));
    }
    assert.equal(contents[1], contents[0], `${name}: brotli rows`);
    assert.equal(contents[2], contents[0], `${name}: uncompressed rows`);
  }
  const bad = run(['extract', pcapFile, '-o', path.join(dir, 'x.parquet'), '--compression', 'zstd']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--compression: expected gzip, brotli, none, got 'zstd'/);
  const csv = run(['extract', pcapFile, '-o', path.join(dir, 'x.csv'), '--compression', 'brotli']);
  assert.equal(csv.code, 2);
  assert.match(csv.stderr, /--compression applies to Parquet output only/);
});

test('Ctrl-C on a live stdin capture ends the input: the flows read so far are finished and written', async () => {
  // A scan whose flows end by RST (written once the 5 s linger has passed in capture time), then one open TCP flow; stdin stays open like a live pipe.
  const live = scan('10.5.0.9', '10.5.0.1', 3, 0, 100);
  live.push({
    tsUs: at(10),
    data: tcpFrame({ src: '10.5.0.9', dst: '10.5.0.2', sport: 50001, dport: 22, flags: 'S' }),
  });
  const run = runLive(['extract', '-', '-o', '-'], dir);
  run.child.stdin.write(writePcap(live));
  // The first finished flow on stdout shows the stream is being read; then the user presses Ctrl-C.
  await run.lines(1);
  run.child.kill('SIGINT');
  assert.equal(await run.closed, 0, run.stderr());
  const rows = run
    .stdout()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { dst_port: number; end_reason: string });
  assert.equal(rows.length, 4);
  assert.deepEqual(rows.map((r) => r.end_reason).sort(), ['end_of_capture', 'rst', 'rst', 'rst']);
  assert.match(run.stderr(), /input ended; finishing the flows read so far/);
  run.child.stdin.destroy();
});
