/**
 * The library API gives what the CLI gives: `classify()` scores equal `flowsieve classify` on the same capture;
 * `train()` builds the same model as `flowsieve train` with the same options.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { classify, extract, InputError, type TrainProgress, train } from '../src/index.ts';
import { bytes, tcpFrame, udpFrame } from './helpers/packets.ts';
import { writePcap } from './helpers/pcap-writer.ts';
import { at } from './helpers/run.ts';
import { PROJECT_ROOT } from './helpers/shared.ts';
import { TRAIN_ARGS, writeLabelledCaptures } from './helpers/traffic.ts';

test('library classify() equals the classify command, flow by flow', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'flowsieve-api-'));
  try {
    const file = path.join(dir, 'in.pcap');
    const packets = [];
    for (let i = 0; i < 30; i++) {
      packets.push({
        tsUs: at(i * 0.01),
        data: tcpFrame({ src: '10.9.0.1', dst: '10.9.0.2', sport: 40000 + i, dport: 1 + i, flags: 'S' }),
      });
      packets.push({
        tsUs: at(i * 0.01 + 0.001),
        data: tcpFrame({ src: '10.9.0.2', dst: '10.9.0.1', sport: 1 + i, dport: 40000 + i, flags: 'RA' }),
      });
    }
    packets.push({
      tsUs: at(1),
      data: udpFrame({ src: '10.9.0.1', dst: '10.9.0.53', sport: 5555, dport: 53, payload: bytes('x') }),
    });
    writeFileSync(file, writePcap(packets));

    const { flows, threshold } = await classify({ inputs: [file] });
    assert.equal(flows.length, 31);
    assert.ok(threshold > 0 && threshold < 1);
    for (const f of flows) {
      assert.ok(f.p_malicious >= 0 && f.p_malicious <= 1);
      assert.equal(f.verdict, f.p_malicious >= threshold ? 'malicious' : 'benign');
      assert.equal(f.reasons.length, 3);
      assert.equal(typeof f.src2dst_syn_packets, 'number'); // the full flow record comes along
    }

    const cli = spawnSync(
      process.execPath,
      [path.join(PROJECT_ROOT, 'bin/flowsieve.js'), 'classify', file, '-q', '--top', '0'],
      { encoding: 'utf8' },
    );
    assert.equal(cli.status, 0, cli.stderr);
    const byId = new Map(
      cli.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .map((r) => [r.flow_id, r]),
    );
    for (const f of flows) {
      const c = byId.get(f.flow_id);
      assert.ok(c, `flow ${f.flow_id} scored by the CLI`);
      assert.equal(f.p_malicious, c.p_malicious);
      assert.deepEqual(f.reasons, c.reasons);
    }
    const { stats } = await extract({ inputs: [file] });
    assert.equal(stats.flows, 31);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('library train() builds the model `flowsieve train` builds, reports every round, and the model ranks scans first', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'flowsieve-api-train-'));
  try {
    const f = (n: string): string => path.join(dir, n);
    writeLabelledCaptures(dir);
    const progress: TrainProgress[] = [];
    const result = await train({
      labels: { benign: f('benign-*.pcap'), malicious: f('malicious-*.pcap') },
      features: 'behaviour',
      fit: { weightBy: 'capture', validFraction: 0, gbdt: { nTrees: 20 } },
      cv: 2,
      output: f('lib.json'),
      onProgress: (p) => progress.push(p),
    });
    assert.ok(result.model && result.cv);
    assert.deepEqual(result.dataset.counts, { benign: 70, malicious: 110 });
    assert.equal(result.dataset.inputs, 4);
    assert.ok(result.cv.metrics.roc_auc > 0.99, `cv ROC-AUC ${result.cv.metrics.roc_auc}`);
    // Progress: each capture, then rounds of both folds, then every round of the final fit.
    assert.deepEqual(
      progress.filter((p) => p.stage === 'extract').map((p) => (p.stage === 'extract' ? p.done : -1)),
      [0, 1, 2, 3, 4],
    );
    assert.ok(progress.some((p) => p.stage === 'cross-validate' && p.fold === 2));
    const fitRounds = progress.filter((p) => p.stage === 'fit');
    assert.equal(fitRounds.length, result.fit!.rounds);
    assert.deepEqual(fitRounds.at(-1), { stage: 'fit', round: result.fit!.rounds, rounds: 20 });

    const cli = spawnSync(
      process.execPath,
      [path.join(PROJECT_ROOT, 'bin/flowsieve.js'), ...TRAIN_ARGS, '--cv', '2', '-q', '-o', 'cli.json'],
      { cwd: dir, encoding: 'utf8' },
    );
    assert.equal(cli.status, 0, cli.stderr);
    const lib = JSON.parse(readFileSync(f('lib.json'), 'utf8'));
    const fromCli = JSON.parse(readFileSync(f('cli.json'), 'utf8'));
    assert.deepEqual(lib.trees, fromCli.trees);
    assert.deepEqual(lib.features, fromCli.features);
    assert.equal(lib.threshold, fromCli.threshold);

    const scored = await classify({ inputs: [f('malicious-1.pcap'), f('benign-1.pcap')], model: f('lib.json') });
    const scans = scored.flows.filter((x) => x.dst_ip === '10.9.0.1' || x.src_ip === '10.9.0.1');
    const others = scored.flows.filter((x) => !scans.includes(x));
    assert.equal(scans.length, 60);
    assert.ok(Math.min(...scans.map((x) => x.p_malicious)) > Math.max(...others.map((x) => x.p_malicious)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('library train() rejects bad requests with InputError, not a crash', async () => {
  await assert.rejects(train({ inputs: [] }), InputError);
  await assert.rejects(
    train({ inputs: ['/nonexistent/x.pcap'], labels: { benign: '/nonexistent/x.pcap' } }),
    /no such file/,
  );
  await assert.rejects(train({ labels: [['benign', '']] }), /expected <class>=<path\|glob>/);
});
