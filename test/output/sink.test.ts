/**
 * The stdout sink (src/output/index.ts) streams: a finished flow reaches the reader soon after it ends even when
 * no further row follows (a live capture that goes quiet), instead of waiting in the buffer for the next write.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { tcpFrame } from '../helpers/packets.ts';
import { type WritePacket, writePcap } from '../helpers/pcap-writer.ts';
import { at } from '../helpers/run.ts';
import { PROJECT_ROOT } from '../helpers/shared.ts';

test('JSONL on stdout: rows of flows that ended are written while stdin stays open and idle', async () => {
  // Three connection attempts refused by RST; a tiny TCP linger ends each flow when the next packet arrives.
  const live: WritePacket[] = [];
  for (let i = 0; i < 3; i++) {
    const c = { src: '10.5.0.9', dst: '10.5.0.1', sport: 50000, dport: 100 + i };
    live.push(
      { tsUs: at(i), data: tcpFrame({ ...c, flags: 'S' }) },
      { tsUs: at(i + 0.001), data: tcpFrame({ src: c.dst, dst: c.src, sport: c.dport, dport: c.sport, flags: 'RA' }) },
    );
  }
  const bin = path.join(PROJECT_ROOT, 'bin/flowsieve.js');
  const child = spawn(process.execPath, [bin, 'extract', '-', '-o', '-', '-q', '--tcp-linger', '0.000001']);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  const closed = new Promise((resolve) => child.on('close', resolve));
  // stdin is written and left open: no end of input, no later row to carry the buffer out.
  child.stdin.write(writePcap(live));
  try {
    // A liveness bound, not a speed claim: before the sink flushed on a timer these rows never came.
    for (let waited = 0; !out.includes('\n') && waited < 30_000; waited += 50)
      await new Promise((r) => setTimeout(r, 50));
    const first = JSON.parse(out.split('\n')[0]!) as { dst_port: number; end_reason: string };
    assert.equal(first.end_reason, 'rst');
    assert.equal(first.dst_port, 100);
  } finally {
    child.kill('SIGKILL');
    await closed;
  }
});
