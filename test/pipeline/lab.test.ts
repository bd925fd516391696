/**
 * Reference check: the lab capture's own per-flow truth (../shared/pcaps/lab/loopback-mix.flows.csv, made from
 * tshark per-packet fields) — every flow found with equal packets, frame bytes and TCP payload bytes per direction,
 * and no extra flow. The lab capture has no idle gaps above our timeouts, so its flow definition and ours coincide.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { extract } from '../../src/api.ts';
import type { FlowRow } from '../../src/features/meter.ts';
import { HAS_SHARED, sharedPath } from '../helpers/shared.ts';

const PROTO: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58 };

test('lab capture: all 582 reference flows, equal counts per direction, nothing extra', {
  skip: !HAS_SHARED,
}, async () => {
  const rows: FlowRow[] = [];
  const { stats } = await extract({ inputs: [sharedPath('pcaps/lab/loopback-mix.pcap')], onFlow: (r) => rows.push(r) });
  const lines = readFileSync(sharedPath('pcaps/lab/loopback-mix.flows.csv'), 'utf8').trim().split('\n');
  const header = lines[0]!.split(',');
  const col = (name: string) => header.indexOf(name);
  const ours = new Map<string, FlowRow>();
  for (const r of rows)
    ours.set(`${r.protocol}|${r.src_ip}|${r.src_port}|${r.dst_ip}|${r.dst_port}|${r.first_seen_us}`, r);
  let matched = 0;
  const problems: string[] = [];
  for (const line of lines.slice(1)) {
    const f = line.split(',');
    const proto = PROTO[f[col('proto')]!]!;
    const firstUs = Math.round(Number(f[col('first_ts')]) * 1e6);
    const key = `${proto}|${f[col('src')]}|${f[col('sport')]}|${f[col('dst')]}|${f[col('dport')]}|${firstUs}`;
    const r = ours.get(key);
    if (!r) {
      problems.push(`missing ${key}`);
      continue;
    }
    const payload = (x: unknown) => (proto === 6 ? x : 0);
    const got = [
      r.fwd_packets,
      r.bwd_packets,
      r.fwd_bytes,
      r.bwd_bytes,
      payload(r.fwd_payload_bytes),
      payload(r.bwd_payload_bytes),
    ];
    const want = ['fwd_pkts', 'bwd_pkts', 'fwd_bytes', 'bwd_bytes', 'fwd_tcp_payload', 'bwd_tcp_payload'].map((n) =>
      Number(f[col(n)]),
    );
    if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`${key}: got ${got} want ${want}`);
    else matched++;
    ours.delete(key);
  }
  for (const k of ours.keys()) problems.push(`extra ${k}`);
  assert.deepEqual(problems.slice(0, 10), []);
  assert.equal(matched, 582);
  assert.equal(stats.packets_read, 3261);
  assert.equal(stats.packets_in_flows + Object.values(stats.dropped).reduce((a, b) => a + b, 0), stats.packets_read);
});
