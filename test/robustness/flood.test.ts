/**
 * Floods, CI size (bench/flood.ts runs the 10 M-flow and 1 GiB versions): a SYN flood from random sources against a
 * small flow-table cap, and one long TCP flow whose HTTP head never ends. Streamed from generators through
 * readCaptureStream into the full pipeline; nothing touches the disk.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { TLS_TCP_GLOBAL_PENDING_BYTES, tlsPendingBytes } from '../../src/proto/tls.ts';
import { longTcpFlow, quicHighOffsetFlood, synFlood, tlsHalfHandshakeFlood } from '../fixtures-gen/hostile.ts';
import { runPipelineOnStream } from '../fixtures-gen/targets.ts';
import { dropped } from '../helpers/run.ts';

// Retained-memory checks need a full collection before each reading (node --test runs without --expose-gc).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
/** Full collections until external (ArrayBuffer) memory freed by an earlier test has actually been released. */
async function settledMemory(): Promise<number> {
  const mem = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  let last = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 10; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
    const m = mem();
    if (m >= last - 2 ** 20) return m;
    last = m;
  }
  return last;
}

test('200k-flow SYN flood with --max-flows 5000: every flow evicted or ended, counted, nothing lost', {
  timeout: 120_000,
}, async () => {
  const flows = 200_000;
  const maxFlows = 5_000;
  let rows = 0;
  const { stats } = await runPipelineOnStream(synFlood(flows, 7), 'flood.pcap', {
    flow: { maxFlows },
    onFlow: () => {
      rows++;
    },
    markov: false,
  });
  assert.equal(stats.packets_read, flows);
  assert.equal(stats.packets_read, stats.packets_in_flows + dropped(stats));
  assert.equal(rows, flows);
  // Seed 7 gives 200k distinct 5-tuples: all but the last maxFlows are evicted, those end with the capture.
  assert.equal(stats.evictions, flows - maxFlows);
  assert.equal(stats.flows_by_end_reason.evicted, flows - maxFlows);
  assert.equal(stats.flows_by_end_reason.end_of_capture, maxFlows);
});

test('one 256 MiB TCP flow does not grow memory after its first tenth', { timeout: 120_000 }, async () => {
  const bytes = 256 * 2 ** 20;
  const totalChunks = Math.ceil(bytes / 1460 / 1024) + 2;
  let seen = 0;
  let early = 0;
  let peak = 0;
  async function* sampled() {
    for await (const c of longTcpFlow(bytes)) {
      seen++;
      const rss = process.memoryUsage().rss;
      if (seen === Math.ceil(totalChunks / 10)) early = rss;
      if (early > 0) peak = Math.max(peak, rss);
      yield c;
    }
  }
  let rows = 0;
  const { stats } = await runPipelineOnStream(sampled(), 'long.pcap', {
    onFlow: () => {
      rows++;
    },
  });
  assert.equal(rows, 1);
  assert.equal(stats.packets_read, stats.packets_in_flows + dropped(stats));
  assert.ok(early > 0);
  // Per-flow state is fixed-size; 32 MiB covers GC timing noise, the growth would be ~230 MiB if payload were kept.
  assert.ok(peak - early < 32 * 2 ** 20, `RSS grew ${(peak - early) / 2 ** 20} MiB`);
});

test('a TLS half-handshake flood (5,000 live flows, 16 out-of-order segments each) keeps reassembly memory bounded', {
  timeout: 120_000,
}, async () => {
  // Retained memory is measured when the capture ends and every flow is still live: at the first row.
  const mem = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const before = await settledMemory();
  let atFirstRow = 0;
  let pendingAtFirstRow = 0;
  const { stats } = await runPipelineOnStream(tlsHalfHandshakeFlood(5_000), 'tls-flood.pcap', {
    markov: false,
    onFlow: () => {
      if (atFirstRow > 0) return;
      pendingAtFirstRow = tlsPendingBytes();
      gc();
      atFirstRow = mem();
    },
  });
  // The exact bound: out-of-order bytes held by all flows together never exceed the global budget.
  assert.ok(pendingAtFirstRow > 0 && pendingAtFirstRow <= TLS_TCP_GLOBAL_PENDING_BYTES);
  assert.equal(stats.packets_read, stats.packets_in_flows + dropped(stats));
  // Every flow gives up reassembly: at the end with its gap, or earlier once the global budget is spent.
  assert.equal((stats.anomalies.tls_tcp_gap ?? 0) + (stats.anomalies.tls_tcp_budget ?? 0), 5_000);
  assert.ok((stats.anomalies.tls_tcp_budget ?? 0) > 0);
  // 5,000 flows × 16 × 1,400 bytes = 107 MiB of out-of-order payload sent; with the 16 MiB budget the whole heap
  // (all meters' per-flow state included) grows far less. The margin covers GC timing when gc is not exposed.
  const growth = atFirstRow - before;
  assert.ok(growth < 80 * 2 ** 20, `retained ${(growth / 2 ** 20).toFixed(0)} MiB for 5,000 flows`);
});

test('a QUIC Initial flood with CRYPTO frames at offset 60,000 does not pin 64 KiB per flow', {
  timeout: 120_000,
}, async () => {
  const mem = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const before = await settledMemory();
  let atFirstRow = 0;
  const flows = 2_000;
  const { stats } = await runPipelineOnStream(quicHighOffsetFlood(flows), 'quic-flood.pcap', {
    markov: false,
    onFlow: () => {
      if (atFirstRow > 0) return;
      gc();
      atFirstRow = mem();
    },
  });
  assert.equal(stats.packets_in_flows, flows);
  // 2,000 datagrams of ~1.2 KB: 24 MiB (12 KiB per flow) leaves room for every meter's per-flow state and the
  // table's growth; a buffer sized by the highest offset would retain 2,000 × 64 KiB = 125 MiB.
  const growth = atFirstRow - before;
  assert.ok(growth < 24 * 2 ** 20, `retained ${(growth / 2 ** 20).toFixed(0)} MiB for ${flows} flows`);
});
