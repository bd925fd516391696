/**
 * `extract --threads N` (src/parallel) gives the single-threaded results: the same rows (compared sorted, since
 * shards finish flows in another order), flow ids included, and the same counters, on shared captures chosen for
 * breadth — TLS, QUIC, DNS (whose context joins flows across shards), IP fragments — on a generated capture with
 * late packets (idle expiry must follow the one clock of the whole capture), on a file that is not a capture, and on a directory (one worker per file), through the row path (onFlow) and the Parquet column path.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
import type { FlowTableOptions } from '../../src/flow/table.ts';
import { runParallelExtract } from '../../src/parallel/extract.ts';
import { type ExtractStats, flowShard, runExtract } from '../../src/pipeline.ts';
import { udpFrame } from '../helpers/packets.ts';
import { type WritePacket, writePcap } from '../helpers/pcap-writer.ts';
import { at } from '../helpers/run.ts';
import { HAS_SHARED, sharedPath } from '../helpers/shared.ts';

async function single(
  inputs: string[],
  flow?: Partial<FlowTableOptions>,
): Promise<{ rows: string[]; stats: ExtractStats }> {
  const rows: string[] = [];
  const stats = await runExtract({
    inputs,
    flow,
    meters: defaultMeters(),
    onFlow: (r) => rows.push(JSON.stringify(r)),
  });
  return { rows: rows.sort(), stats };
}

async function parallel(
  inputs: string[],
  threads: number,
  flow?: Partial<FlowTableOptions>,
): Promise<{ rows: string[]; stats: ExtractStats }> {
  const rows: string[] = [];
  const stats = await runParallelExtract({ inputs, threads, flow, onFlow: (r) => rows.push(JSON.stringify(r)) });
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
  // Closed TCP flows whose linger ends while another closed flow still lingers; a late packet after each.
  'acandeias-intrusiondetection/tesla.pcap',
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

/**
 * 60 scenes 100 s apart, each of three UDP packets: flow A at 0 s, an unrelated flow B (another client, so often
 * another shard) at 10 s, then A again stamped 4 s — late, behind B in the file. With a 5 s idle timeout the
 * single-threaded table's clock is at 10 s when the late packet comes, so A has ended idle and the late packet starts
 * a new flow; a shard that only followed the clock of its own packets would add it to A instead.
 */
function lateCapture(): Uint8Array {
  const packets: WritePacket[] = [];
  for (let i = 0; i < 60; i++) {
    const t = i * 100;
    const a = { src: `10.0.${i}.1`, dst: '10.9.9.1', sport: 1000 + i, dport: 4000, payload: new Uint8Array(10) };
    const b = { src: `10.1.${i}.2`, dst: '10.9.9.1', sport: 2000 + i, dport: 4000, payload: new Uint8Array(20) };
    packets.push(
      { tsUs: at(t), data: udpFrame(a) },
      { tsUs: at(t + 10), data: udpFrame(b) },
      { tsUs: at(t + 4), data: udpFrame(a) },
    );
  }
  return writePcap(packets);
}

test('a late packet meets the clock of the whole capture, not of its shard', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flowsieve-parallel-'));
  try {
    const file = path.join(dir, 'late.pcap');
    writeFileSync(file, lateCapture());
    const flow = { idleTimeoutUs: 5_000_000 };
    const one = await single([file], flow);
    assert.equal(one.stats.flows, 180, 'every late packet starts a flow of its own');
    for (const threads of [2, 3]) {
      const many = await parallel([file], threads, flow);
      assert.deepEqual(counters(many.stats), counters(one.stats), `counters with ${threads} threads`);
      assert.deepEqual(many.rows, one.rows, `rows with ${threads} threads`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file that is not a capture is recorded like the single-threaded run does', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flowsieve-parallel-'));
  try {
    const file = path.join(dir, 'notes.pcap');
    writeFileSync(file, 'not a capture at all\n');
    const one = await single([file]);
    const many = await parallel([file], 2);
    assert.equal(one.stats.file_errors.length, 1);
    assert.deepEqual(counters(many.stats), counters(one.stats));
    assert.deepEqual(many.rows, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

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

test('Parquet with several threads (columns built in the workers) equals one thread', {
  skip: !HAS_SHARED,
}, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flowsieve-parallel-'));
  try {
    // One file with 3 threads (sharded, flow ids assigned by the merge) and a directory with 2 (one worker per file;
    // TLS certificates). One file with 2 threads: the encoder thread, tested below.
    for (const [input, threads] of [
      [sharedPath('pcaps/lab/loopback-mix.pcap'), 3],
      [sharedPath('pcaps/foxio-ja4'), 2],
    ] as const) {
      const one = await extract({ inputs: [input], output: path.join(dir, '1.parquet') });
      const many = await extract({ inputs: [input], output: path.join(dir, 'n.parquet'), threads });
      assert.equal(many.rows, one.rows);
      assert.deepEqual(counters(many.stats), counters(one.stats));
      assert.deepEqual(parquetRows(path.join(dir, 'n.parquet')), parquetRows(path.join(dir, '1.parquet')));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Parquet with --threads 2 on one file (encoder thread) is the one-thread file byte for byte', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flowsieve-encoder-'));
  try {
    // Generated traffic with more flows than two 32k-row groups hold, so the writer hands several row groups to the
    // thread and waits for a free buffer.
    const input = path.join(dir, 'many.pcap');
    writeFileSync(input, writePcap(manyFlows(70_000)));
    const one = await extract({ inputs: [input], output: path.join(dir, '1.parquet') });
    const two = await extract({ inputs: [input], output: path.join(dir, '2.parquet'), threads: 2 });
    assert.equal(one.rows, 70_000);
    assert.equal(two.rows, one.rows);
    assert.deepEqual(counters(two.stats), counters(one.stats));
    assert.ok(readFileSync(path.join(dir, '2.parquet')).equals(readFileSync(path.join(dir, '1.parquet'))));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** `n` one-packet UDP flows (each its own client address and port), 1 ms apart. */
function manyFlows(n: number): WritePacket[] {
  const payload = new Uint8Array(24);
  return Array.from({ length: n }, (_, i) => ({
    tsUs: at(i / 1000),
    data: udpFrame({
      src: `10.${(i >>> 16) & 0xff}.${(i >>> 8) & 0xff}.${i & 0xff}`,
      dst: '10.255.0.1',
      sport: 1024 + (i % 60_000),
      dport: 53_000,
      payload,
    }),
  }));
}

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
        // Shard 0 (the main thread's) may take any share of the flows.
        const share0 = (addr[0]! % 100) / 100;
        const forward = flowShard(packetKeyHash(v, key), count, share0);
        // The reply: addresses and ports swapped (an echo reply for ICMP).
        for (let i = 0; i < 4; i++) {
          v.src[i] = addr[i + 4]! >>> 0;
          v.dst[i] = addr[i]! >>> 0;
        }
        v.srcPort = dp;
        v.dstPort = sp;
        v.icmpType = protocol === 1 ? 0 : 129;
        const reverse = flowShard(packetKeyHash(v, key), count, share0);
        return forward === reverse && forward >= 0 && forward < count;
      },
    ),
  );
});
