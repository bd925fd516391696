/**
 * Output is never half-written under the requested name: src/output writes `<path>.<pid>.tmp` and renames it on
 * close. Checked for an extract that fails part-way (library) and for a CLI process killed while writing.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { extract } from '../../src/api.ts';
import { synFlood } from '../fixtures-gen/hostile.ts';
import { udpFrame } from '../helpers/packets.ts';
import { writePcap } from '../helpers/pcap-writer.ts';
import { PROJECT_ROOT } from '../helpers/shared.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'flowsieve-output-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const T0 = 1_704_067_200_000_000;

for (const ext of ['jsonl', 'csv', 'parquet']) {
  test(`an extract failing after rows were written leaves neither ${ext} output nor temporary file`, async () => {
    // Two flows; the consumer fails on the second row, after the first was written to the sink.
    const input = path.join(dir, `two-flows-${ext}.pcap`);
    writeFileSync(
      input,
      writePcap(
        [1, 2].map((i) => ({ tsUs: T0 + i, data: udpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: i, dport: 9 }) })),
      ),
    );
    const out = path.join(dir, `failed.${ext}`);
    let seen = 0;
    await assert.rejects(
      extract({
        inputs: [input],
        output: out,
        onFlow: () => {
          if (++seen === 2) throw new Error('consumer failed');
        },
      }),
      /consumer failed/,
    );
    assert.equal(seen, 2);
    assert.equal(existsSync(out), false);
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.startsWith(`failed.${ext}`)),
      [],
    );
  });
}

/** Starts `flowsieve extract - -o out` fed an endless SYN flood on stdin; resolves once rows reached the temp file. */
async function killWhileWriting(signal: NodeJS.Signals, out: string): Promise<{ tmp: string; code: number | null }> {
  const child = spawn(
    process.execPath,
    [path.join(PROJECT_ROOT, 'bin/flowsieve.js'), 'extract', '-', '-o', out, '-q', '--max-flows', '1000'],
    { stdio: ['pipe', 'ignore', 'ignore'] },
  );
  const tmp = `${out}.${child.pid}.tmp`;
  let stop = false;
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.stdin.on('error', () => {
    stop = true;
  });
  exited.then(() => {
    stop = true;
  });
  // Feed until the temporary file holds data (evicted flows are being written), then kill.
  for await (const chunk of synFlood(50_000_000, 3, 1024)) {
    if (stop) break;
    if (!child.stdin.write(chunk)) await new Promise((r) => child.stdin.once('drain', r));
    if (existsSync(tmp) && statSync(tmp).size > 0) {
      assert.equal(existsSync(out), false, 'output name appeared before the run finished');
      child.kill(signal);
      break;
    }
  }
  // Let the signal land before the input ends; closing stdin at the same moment races the signal with a clean EOF.
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  child.stdin.destroy();
  return { tmp, code: await exited };
}

test('a CLI extract killed (SIGKILL) mid-write leaves nothing under the output name', {
  timeout: 120_000,
}, async () => {
  const out = path.join(dir, 'killed.jsonl');
  const { tmp } = await killWhileWriting('SIGKILL', out);
  assert.equal(existsSync(out), false);
  // SIGKILL cannot be caught: the partial rows stay in the temporary file, clearly named as such.
  assert.ok(existsSync(tmp));
  rmSync(tmp, { force: true });
});

test('a CLI extract interrupted (SIGTERM) mid-write leaves neither the output nor its temporary file', {
  timeout: 120_000,
}, async () => {
  const out = path.join(dir, 'terminated.jsonl');
  const { tmp } = await killWhileWriting('SIGTERM', out);
  assert.equal(existsSync(out), false);
  const left = existsSync(tmp);
  rmSync(tmp, { force: true });
  assert.equal(left, false);
});
