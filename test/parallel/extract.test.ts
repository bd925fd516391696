/**
 * `extract --threads N` (src/parallel) gives the single-threaded results: the same rows (compared sorted, since
 * workers finish flows in another order), flow ids included, and the same counters, on shared captures chosen for
 * breadth — TLS, QUIC, DNS (whose context joins flows across shards), IP fragments — and a directory (one worker
 * per file), through the row path (onFlow) and the Parquet column path.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import * as arrow from 'apache-arrow';
import fc from 'fast-check';
import * as pq from 'parquet-wasm';
import { extract } from '../../src/api.ts';
import { PacketView } from '../../src/decode/packet.ts';
import { defaultMeters } from '../../src/features/index.ts';
import { KEY_WORDS, packetKeyHash } from '../../src/flow/key.ts';
import { runParallelExtract } from '../../src/parallel/extract.ts';
import { type ExtractStats, flowShard, runExtract } from '../../src/pipeline.ts';
import { HAS_SHARED, sharedPath } from '../helpers/shared.ts';

async function single(inputs: string[]): Promise<{ rows: string[]; stats: ExtractStats }> {
  const rows: string[] = [];
  const stats = await runExtract({ inputs, meters: defaultMeters(), onFlow: (r) => rows.push(JSON.stringify(r)) });
  return { rows: rows.sort(), stats };
}

async function parallel(inputs: string[], threads: number): Promise<{ rows: string[]; stats: ExtractStats }> {
  const rows: string[] = [];
  const stats = await runParallelExtract({ inputs, threads, onFlow: (r) => rows.push(JSON.stringify(r)) });
  return { rows: rows.sort(), stats };
}

/** The counters that must match; per-file entries sorted (files finish in any order with one worker per file). */
function counters(s: ExtractStats) {
  return {
    packets_read: s.packets_read,
    packets_in_flows: s.packets_in_flows,
    dropped: s.dropped,
    flows: s.flows,
    flows_by_end_reason: s.flows_by_end_reason,
    evictions: s.evictions,
    bytes_read: s.bytes_read,
    files: [...s.files].sort((a, b) => a.file.localeCompare(b.file)),
    warnings: s.warnings,
    file_errors: [...s.file_errors].sort((a, b) => a.file.localeCompare(b.file)),
    anomalies: s.anomalies,
    first_seen_us: s.first_seen_us,
    last_seen_us: s.last_seen_us,
  };
}

const CAPTURES = [
  'lab/loopback-mix.pcap', // 582 flows: TCP, TLS, DNS, HTTP, ICMP on one host
  'foxio-ja4/chrome-cloudflare-quic-with-secrets.pcapng', // QUIC + DNS
  'chrissanders-packets/dns_isp_hijack.pcapng', // DNS context across flows
  'stopddos/amp.dns.RRSIG.fragmented.pcap', // IP fragments of DNS responses
];

for (const file of CAPTURES) {
  test(`--threads 2 equals one thread: ${file}`, { skip: !HAS_SHARED }, async () => {
    const input = [sharedPath('pcaps', file)];
    const one = await single(input);
    assert.ok(one.rows.length > 0, 'the capture yields flows');
    // Three shards on the lab capture only: worker start-up dominates these small files' run time.
    for (const threads of file.startsWith('lab/') ? [2, 3] : [2]) {
      const many = await parallel(input, threads);
      assert.deepEqual(counters(many.stats), counters(one.stats), `counters with ${threads} threads`);
      assert.equal(many.rows.length, one.rows.length);
      assert.deepEqual(many.rows, one.rows, `rows with ${threads} threads`);
    }
  });
}

/** Rows of a Parquet file as sorted JSON lines (Int64 as text, lists as arrays). */
function parquetRows(file: string): string[] {
  const table = arrow.tableFromIPC(pq.readParquet(readFileSync(file)).intoIPCStream());
  const text = (_k: string, v: unknown) =>
    typeof v === 'bigint' ? `${v}n` : v instanceof arrow.Vector ? [...(v as arrow.Vector)] : v;
  return table
    .toArray()
    .map((r) => JSON.stringify((r as { toJSON(): unknown }).toJSON(), text))
    .sort();
}

test('Parquet with --threads 2 (columns built in the workers) equals one thread', { skip: !HAS_SHARED }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flowsieve-parallel-'));
  try {
    // One file (sharded, flow ids assigned by the merge) and a directory (one worker per file; TLS certificates).
    for (const input of [sharedPath('pcaps/lab/loopback-mix.pcap'), sharedPath('pcaps/foxio-ja4')]) {
      const one = await extract({ inputs: [input], output: path.join(dir, '1.parquet') });
      const two = await extract({ inputs: [input], output: path.join(dir, '2.parquet'), threads: 2 });
      assert.equal(two.rows, one.rows);
      assert.deepEqual(counters(two.stats), counters(one.stats));
      assert.deepEqual(parquetRows(path.join(dir, '2.parquet')), parquetRows(path.join(dir, '1.parquet')));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a worker that cannot read its file reports it like the single-threaded run', async () => {
  const input = ['/nonexistent/flowsieve-test.pcap'];
  const one = await runExtract({ inputs: input, meters: defaultMeters(), onFlow: () => {} }).catch((e: Error) => e);
  const many = await runParallelExtract({ inputs: input, threads: 2, onFlow: () => {} }).catch((e: Error) => e);
  // listInputs rejects a missing path before any worker starts, in both modes, with the same message.
  assert.equal(String(many), String(one));
});

test('flowShard(packetKeyHash) is symmetric: both directions of a flow reach one worker', () => {
  const v = new PacketView();
  const key = new Uint32Array(KEY_WORDS);
  fc.assert(
    fc.property(
      fc.array(fc.nat(), { minLength: 8, maxLength: 8 }),
      fc.nat(0xffff),
      fc.nat(0xffff),
      fc.constantFrom(6, 17, 1, 58, 132),
      fc.integer({ min: 1, max: 8 }),
      (addr, sp, dp, protocol, count) => {
        v.ipVersion = 6;
        v.protocol = protocol;
        v.icmpType = protocol === 1 ? 8 : 128;
        for (let i = 0; i < 4; i++) {
          v.src[i] = addr[i]! >>> 0;
          v.dst[i] = addr[i + 4]! >>> 0;
        }
        v.srcPort = sp;
        v.dstPort = dp;
        const forward = flowShard(packetKeyHash(v, key), count);
        // The reply: addresses and ports swapped (an echo reply for ICMP).
        for (let i = 0; i < 4; i++) {
          v.src[i] = addr[i + 4]! >>> 0;
          v.dst[i] = addr[i]! >>> 0;
        }
        v.srcPort = dp;
        v.dstPort = sp;
        v.icmpType = protocol === 1 ? 0 : 129;
        const reverse = flowShard(packetKeyHash(v, key), count);
        return forward === reverse && forward >= 0 && forward < count;
      },
    ),
  );
});
