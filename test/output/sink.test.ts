/**
 * The stdout sink (src/output/index.ts) streams: a finished flow reaches the reader soon after it ends even when
 * no further row follows (a live capture that goes quiet), instead of waiting in the buffer for the next write.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runLive } from '../helpers/live.ts';
import { writePcap } from '../helpers/pcap-writer.ts';
import { scan } from '../helpers/traffic.ts';

test('JSONL on stdout: rows of flows that ended are written while stdin stays open and idle', async () => {
  // Three connection attempts refused by RST; a tiny TCP linger ends each flow when the next packet arrives.
  const live = scan('10.5.0.9', '10.5.0.1', 3, 0, 100);
  const run = runLive(['extract', '-', '-o', '-', '-q', '--tcp-linger', '0.000001']);
  // stdin is written and left open: no end of input, no later row to carry the buffer out.
  run.child.stdin.write(writePcap(live));
  try {
    // Before the sink flushed on a timer this row never came.
    const [line] = await run.lines(1);
    const first = JSON.parse(line!) as { dst_port: number; end_reason: string };
    assert.equal(first.end_reason, 'rst');
    assert.equal(first.dst_port, 100);
  } finally {
    run.child.kill('SIGKILL');
    await run.closed;
  }
});
