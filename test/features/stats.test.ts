/**
 * The CICFlowMeter statistical set: one regression test per known CICFlowMeter bug
 * (../shared/reference/cic-columns.md, "CICFlowMeter bugs and critiques"), plus hand-computed statistics.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { extract } from '../../src/api.ts';
import { decodeFrame, PacketView } from '../../src/decode/index.ts';
import type { FlowRow } from '../../src/features/meter.ts';
import { STATS_INDEX, STATS_VECTOR, StatsMeter } from '../../src/features/stats.ts';
import { CIC2017_COLUMNS } from '../../src/output/cic2017.ts';
import { bytes, tcpFrame, udpFrame } from '../helpers/packets.ts';
import { writePcap } from '../helpers/pcap-writer.ts';
import { at, flowsOf } from '../helpers/run.ts';
import { HAS_SHARED, sharedPath } from '../helpers/shared.ts';

const A = '10.1.1.1';
const B = '10.2.2.2';
const c2s = (t: number, flags: string, payload = 0, win = 64240) => ({
  tsUs: at(t),
  data: tcpFrame({ src: A, dst: B, sport: 50000, dport: 443, flags, win, payload: new Uint8Array(payload) }),
});
const s2c = (t: number, flags: string, payload = 0, win = 65160) => ({
  tsUs: at(t),
  data: tcpFrame({ src: B, dst: A, sport: 443, dport: 50000, flags, win, payload: new Uint8Array(payload) }),
});

test('bug 1 (first FIN closes the flow): the teardown stays in the flow', async () => {
  const { rows } = await flowsOf([
    c2s(0, 'S'),
    s2c(0.1, 'SA'),
    c2s(0.2, 'FA'),
    s2c(0.3, 'A', 10),
    s2c(0.4, 'FA'),
    c2s(0.5, 'A'),
  ]);
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.bidirectional_fin_packets, 2);
  assert.equal(rows[0]!.bwd_payload_bytes, 10);
});

test('bug 2 (subflow integer division): subflow means are real divisions', async () => {
  // 3 packets forward in 2 subflows (a gap > 1 s between them).
  const { rows } = await flowsOf([c2s(0, 'S'), c2s(0.5, 'A', 100), c2s(3, 'A', 101)]);
  const r = rows[0]!;
  assert.equal(r.subflow_count, 2);
  assert.equal(r.src2dst_subflow_mean_packets, 1.5);
  assert.equal(r.src2dst_subflow_mean_bytes, 100.5);
});

test('bug 3 (Bwd bulk columns echo Fwd): each direction has its own bulk values', async () => {
  const pk = [c2s(0, 'S'), s2c(0.01, 'SA')];
  for (let i = 0; i < 5; i++) pk.push(c2s(0.1 + i * 0.01, 'A', 100)); // fwd bulk: 5 × 100 bytes
  for (let i = 0; i < 4; i++) pk.push(s2c(0.3 + i * 0.01, 'A', 1000)); // bwd bulk: 4 × 1000 bytes
  const { rows } = await flowsOf(pk);
  const r = rows[0]!;
  assert.equal(r.src2dst_bulk_count, 1);
  assert.equal(r.src2dst_bulk_mean_bytes, 500);
  assert.equal(r.src2dst_bulk_mean_packets, 5);
  assert.equal(r.dst2src_bulk_count, 1);
  assert.equal(r.dst2src_bulk_mean_bytes, 4000);
  assert.equal(r.dst2src_bulk_mean_packets, 4);
  assert.ok(Math.abs((r.dst2src_bulk_rate_bytes_per_s as number) - 4000 / 0.03) < 0.01);
});

test('bug 5a (Init_Win_bytes_backward from the last packet): the first window of each direction', async () => {
  const { rows } = await flowsOf([
    c2s(0, 'S', 0, 1111),
    s2c(0.1, 'SA', 0, 2222),
    c2s(0.2, 'A', 0, 3333),
    s2c(0.3, 'A', 0, 4444),
  ]);
  assert.equal(rows[0]!.src2dst_init_window_bytes, 1111);
  assert.equal(rows[0]!.dst2src_init_window_bytes, 2222);
});

test('bug 5b ("Fwd Seg Size Min" is a header length): it is the smallest forward payload', async () => {
  const u = (t: number, n: number) => ({
    tsUs: at(t),
    data: udpFrame({ src: A, dst: B, sport: 1, dport: 2, payload: new Uint8Array(n) }),
  });
  const { rows } = await flowsOf([u(0, 100), u(0.1, 50), u(0.2, 70)]);
  assert.equal(rows[0]!.src2dst_min_payload_bytes, 50);
  assert.equal(rows[0]!.src2dst_header_bytes, 24);
});

test('bug 4 (PSH/URG counted on the first packet only): counted on every packet', async () => {
  const { rows } = await flowsOf([
    c2s(0, 'S'),
    s2c(0.1, 'SA'),
    c2s(0.2, 'PA', 5),
    c2s(0.3, 'PA', 5),
    c2s(0.4, 'PAU', 5),
    s2c(0.5, 'PA', 5),
  ]);
  const r = rows[0]!;
  assert.equal(r.src2dst_psh_packets, 3);
  assert.equal(r.src2dst_urg_packets, 1);
  assert.equal(r.dst2src_psh_packets, 1);
  assert.equal(r.bidirectional_psh_packets, 4);
});

test('bug 8a (negative IATs): packets out of order never give a negative inter-arrival time', async () => {
  const { rows } = await flowsOf([c2s(1, 'S'), c2s(0.5, 'A', 1), c2s(2, 'A', 1)]);
  const r = rows[0]!;
  assert.ok((r.src2dst_min_piat_us as number) >= 0);
  assert.ok((r.bidirectional_min_piat_us as number) >= 0);
  assert.equal(r.duration_us, 1_000_000);
});

test('bug 8b (Infinity/NaN rates for zero-duration flows): null in our dialect, 0 in cic2017, never Infinity', async () => {
  const { rows } = await flowsOf([c2s(0, 'S')]);
  const r = rows[0]!;
  assert.equal(r.duration_us, 0);
  assert.equal(r.bidirectional_bytes_per_s, null);
  assert.equal(r.bidirectional_packets_per_s, null);
  const json = JSON.stringify(r);
  assert.ok(!json.includes('Infinity') && !json.includes('NaN'));
  const getRate = CIC2017_COLUMNS.find(([n]) => n === 'Flow Bytes/s')![1];
  assert.equal(getRate(r), 0);
});

test('statistics match hand-computed values (sample std, µs)', async () => {
  const u = (t: number, n: number, fwd = true) => ({
    tsUs: at(t),
    data: fwd
      ? udpFrame({ src: A, dst: B, sport: 9, dport: 10, payload: new Uint8Array(n) })
      : udpFrame({ src: B, dst: A, sport: 10, dport: 9, payload: new Uint8Array(n) }),
  });
  const { rows } = await flowsOf([u(0, 10), u(1, 20, false), u(3, 30), u(6, 40, false)]);
  const r = rows[0]!;
  assert.equal(r.fwd_packets, 2);
  assert.equal(r.bwd_packets, 2);
  assert.equal(r.fwd_bytes, 2 * 42 + 40); // Ethernet 14 + IPv4 20 + UDP 8 per packet + payload
  assert.equal(r.bidirectional_mean_payload_bytes, 25);
  assert.equal(r.bidirectional_stddev_payload_bytes, Math.round(Math.sqrt(500 / 3) * 1000) / 1000);
  assert.equal(r.bidirectional_mean_piat_us, 2e6);
  assert.equal(r.bidirectional_max_piat_us, 3e6);
  assert.equal(r.src2dst_mean_piat_us, 3e6);
  assert.equal(r.bidirectional_packets_per_s, Math.round((4 / 6) * 1000) / 1000);
  // Active/idle at a 5 s threshold: gaps 1, 2, 3 s are all active, one period of 6 s.
  assert.equal(r.active_count, 1);
  assert.equal(r.active_mean_us, 6e6);
  assert.equal(r.idle_max_us, 0);
});

test('--dialect cic2017 writes the exact 85-column CIC-IDS2017 header', { skip: !HAS_SHARED }, async () => {
  const text = readFileSync(sharedPath('reference/cic-columns.md'), 'utf8');
  const line = text.split('\n')[text.split('\n').findIndex((l) => l.includes('CIC-IDS2017 CSV header')) + 1]!;
  const want = line.split(',').map((s) => s.trim());
  if (want.at(-1) === '') want.pop();
  assert.equal(want.length, 85);
  const dir = mkdtempSync(path.join(tmpdir(), 'flowsieve-cic-'));
  try {
    const input = path.join(dir, 'in.pcap');
    writeFileSync(input, writePcap([c2s(0, 'S'), s2c(0.1, 'SA'), c2s(0.2, 'PA', 20)]));
    const out = path.join(dir, 'out.csv');
    await extract({ inputs: [input], output: out, dialect: 'cic2017' });
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    assert.deepEqual(lines[0]!.split(','), want);
    const values = lines[1]!.split(',');
    assert.equal(values.length, 85);
    assert.equal(values[0], `${A}-${B}-50000-443-6`);
    assert.equal(values[7], '200000'); // Flow Duration in µs
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('resize to a smaller capacity (a new input file starts a new flow table) keeps working', () => {
  // runExtract over several files: the first file's table grew, the next file's table starts small again.
  const m = new StatsMeter();
  m.resize(8192);
  m.resize(4096);
  const v = new PacketView();
  const f = tcpFrame({ src: A, dst: B, sport: 50000, dport: 443, flags: 'S', win: 1000 });
  assert.equal(decodeFrame(v, f, 0, f.length, f.length, at(0), 1), 'ok');
  m.onInit(4095, v);
  m.onUpdate(4095, v, 0);
  const row: FlowRow = {};
  m.onExpire(4095, row);
  const vec = (row as Record<symbol, Float64Array>)[STATS_VECTOR]!;
  assert.equal(vec[STATS_INDEX.get('fwd_packets')!], 1);
  assert.equal(vec[STATS_INDEX.get('src2dst_init_window_bytes')!], 1000);
});

void bytes;
