/**
 * The bundled CLI (scripts/build.mjs, what `npm ci` builds and bin/flowsieve.js runs while it is fresh) behaves as
 * the TypeScript sources do: same version, same rows with worker threads (the workers start from the bundle), and
 * it finds the package's files (the default model) from its own location. The small dependencies (commander, zod,
 * cli-progress, fzstd) are bundled into it: zstd input, config validation and usage errors come from those copies.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { writePcap, zstdRawFrame } from '../helpers/pcap-writer.ts';
import { PROJECT_ROOT } from '../helpers/shared.ts';
import { exchanges, scan } from '../helpers/traffic.ts';

// Inside the project (gitignored) so the bundle finds package.json above it, as dist/ does.
const outdir = path.join(PROJECT_ROOT, '.scratch', `bundle-test-${process.pid}`);
const dir = mkdtempSync(path.join(tmpdir(), 'flowsieve-bundle-'));
const capture = path.join(dir, 'mix.pcap');
const runner = path.join(outdir, 'run.mjs');

before(() => {
  const built = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'scripts/build.mjs'), '--outdir', outdir]);
  assert.equal(built.status, 0, built.stderr.toString());
  writeFileSync(
    runner,
    "const { main } = await import('./cli/main.mjs');\nprocess.exitCode = await main(process.argv);\n",
  );
  const packets = [...exchanges('10.1.0.10', '10.1.0.1', 40, 0), ...scan('10.9.0.99', '10.9.0.1', 300, 5, 1)];
  packets.sort((a, b) => a.tsUs - b.tsUs);
  writeFileSync(capture, writePcap(packets));
  writeFileSync(path.join(dir, 'mix.pcap.zst'), zstdRawFrame(readFileSync(capture)));
});
after(() => {
  rmSync(outdir, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

function bundled(args: string[]) {
  const r = spawnSync(process.execPath, [runner, ...args], {
    cwd: dir,
    env: { ...process.env, NO_COLOR: '1' },
    maxBuffer: 64 << 20,
  });
  return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

function fromSource(args: string[]) {
  const r = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'bin/flowsieve.js'), ...args], {
    cwd: dir,
    env: { ...process.env, NO_COLOR: '1', FLOWSIEVE_FROM_SOURCE: '1' },
    maxBuffer: 64 << 20,
  });
  return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

const sorted = (jsonl: string) => jsonl.trim().split('\n').sort();

test('the bundle reports the package version', () => {
  const version = (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string })
    .version;
  assert.equal(bundled(['--version']).stdout.trim(), version);
});

test('bundled extract with two worker threads writes the rows the sources write on one thread', () => {
  const b = bundled(['extract', capture, '-o', '-', '-q', '--threads', '2']);
  assert.equal(b.code, 0, b.stderr);
  const s = fromSource(['extract', capture, '-o', '-', '-q', '--threads', '1']);
  assert.equal(s.code, 0, s.stderr);
  const rows = sorted(b.stdout);
  assert.equal(rows.length, 340);
  assert.deepEqual(rows, sorted(s.stdout));
});

test('bundled extract to Parquet with two threads (the encoder thread starts from the bundle) writes the sources’ file', () => {
  const b = bundled(['extract', capture, '-o', 'b.parquet', '-q', '--threads', '2']);
  assert.equal(b.code, 0, b.stderr);
  const s = fromSource(['extract', capture, '-o', 's.parquet', '-q', '--threads', '1']);
  assert.equal(s.code, 0, s.stderr);
  assert.ok(readFileSync(path.join(dir, 'b.parquet')).equals(readFileSync(path.join(dir, 's.parquet'))));
});

test('bundled classify finds the default model and scores as the sources do', () => {
  const b = bundled(['classify', capture, '-o', '-', '-q']);
  assert.equal(b.code, 0, b.stderr);
  const s = fromSource(['classify', capture, '-o', '-', '-q']);
  assert.equal(b.stdout, s.stdout);
  assert.match(b.stdout, /"p_malicious":/);
});

test('bundled zstd reading, config validation and usage errors behave as the sources do', () => {
  const b = bundled(['extract', 'mix.pcap.zst', '-o', '-', '-q']);
  assert.equal(b.code, 0, b.stderr);
  assert.equal(b.stdout.trim().split('\n').length, 340);
  assert.equal(b.stdout, fromSource(['extract', 'mix.pcap.zst', '-o', '-', '-q']).stdout);
  writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ extract: { idleTimeout: [60] } }));
  for (const args of [
    ['--config', 'bad.json', 'extract', capture, '-o', '-', '-q'],
    ['extract', capture, '-o', '-', '--no-such-flag'],
  ]) {
    const got = bundled(args);
    const want = fromSource(args);
    assert.equal(got.code, 2, got.stderr);
    assert.equal(got.stderr, want.stderr);
  }
  assert.match(
    bundled(['--config', 'bad.json', 'extract', capture, '-o', '-']).stderr,
    /bad\.json: extract\.idleTimeout/,
  );
});
