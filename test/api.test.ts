/** The library API gives what the CLI gives: `classify()` scores equal `flowsieve classify` on the same capture. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { classify, extract } from '../src/index.ts';
import { bytes, tcpFrame, udpFrame } from './helpers/packets.ts';
import { writePcap } from './helpers/pcap-writer.ts';
import { at } from './helpers/run.ts';
import { PROJECT_ROOT } from './helpers/shared.ts';

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
