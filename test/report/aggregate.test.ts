import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aggregateFlows, FlowAggregator, SCORE_BINS } from '../../src/report/aggregate.ts';
import type { FlowRow } from '../../src/report/rows.ts';
import { syntheticFlows } from './synthetic.ts';

const T0 = Date.UTC(2026, 0, 1) * 1000;

function flow(i: number, over: FlowRow = {}): FlowRow {
  return {
    src_ip: `10.0.0.${i % 4}`,
    dst_ip: '192.0.2.1',
    src_port: 40000 + i,
    dst_port: 443,
    protocol: 6,
    first_seen_us: T0 + i * 1_000_000,
    last_seen_us: T0 + i * 1_000_000 + 500,
    fwd_packets: 2,
    bwd_packets: 1,
    fwd_bytes: 100,
    bwd_bytes: 50,
    ...over,
  };
}

test('exact totals, time span, hosts and tallies', async () => {
  const rows = Array.from({ length: 10 }, (_, i) => flow(i, { end_reason: i < 7 ? 'fin' : 'idle' }));
  const s = await aggregateFlows(rows);
  assert.equal(s.flows, 10);
  assert.equal(s.packets, 30);
  assert.equal(s.bytes, 1500);
  assert.equal(s.firstUs, T0);
  assert.equal(s.lastUs, T0 + 9_000_000 + 500);
  assert.equal(s.hosts, 5); // 4 sources + 1 destination
  assert.deepEqual(
    s.endReasons.map((t) => [t.key, t.flows]),
    [
      ['fin', 7],
      ['idle', 3],
    ],
  );
  assert.equal(s.protocols[0]!.key, 'TCP');
  assert.equal(s.srcHosts.length, 4);
  assert.equal(s.classBasis, 'none');
  assert.equal(s.scored, 0);
  assert.equal(s.riskiest.length, 0);
  assert.equal(s.confusion, undefined);
});

test('riskiest: the K highest scores, highest first, ties broken by bytes', async () => {
  const scores = [0.1, 0.9, 0.5, 0.95, 0.9, 0.3, 0.99, 0.2];
  const rows = scores.map((p, i) => flow(i, { p_malicious: p, fwd_bytes: i * 10 }));
  const s = await aggregateFlows(rows, { topFlows: 4 });
  assert.deepEqual(
    s.riskiest.map((r) => [r.p_malicious, r.fwd_bytes]),
    [
      [0.99, 60],
      [0.95, 30],
      [0.9, 40], // same score as index 1, more bytes first
      [0.9, 10],
    ],
  );
});

test('labels decide the class basis; confusion counts label vs verdict (or score ≥ threshold)', async () => {
  const rows: FlowRow[] = [
    flow(0, { label: 'BENIGN', verdict: 'benign', p_malicious: 0.1 }), // tn
    flow(1, { label: 'BENIGN', verdict: 'malicious', p_malicious: 0.7 }), // fp
    flow(2, { label: 'Bot', verdict: 'malicious', p_malicious: 0.8 }), // tp
    flow(3, { label: 'Bot', p_malicious: 0.4 }), // no verdict: 0.4 < 0.5 → fn
    flow(4, { label: 'DDoS', p_malicious: 0.6 }), // 0.6 ≥ 0.5 → tp
    flow(5, { verdict: 'malicious', p_malicious: 0.9 }), // unlabelled: not in the confusion
  ];
  const s = await aggregateFlows(rows);
  assert.equal(s.classBasis, 'label');
  assert.deepEqual(s.confusion, { tp: 2, fp: 1, tn: 1, fn: 1 });
  assert.deepEqual(s.classTotals, { benign: 2, malicious: 3 });
  assert.equal(s.labelled, 5);
  assert.equal(s.flagged, 4);
  assert.deepEqual(
    s.labels.map((l) => [l.label, l.cls, l.flows, l.flagged]),
    [
      ['BENIGN', 'benign', 2, 1],
      ['Bot', 'malicious', 2, 1],
      ['DDoS', 'malicious', 1, 1],
    ],
  );
  let benignScored = 0;
  for (const v of s.scoreHistograms.benign) benignScored += v;
  assert.equal(benignScored, 2);
  assert.equal(s.scoreHistograms.malicious[Math.floor(0.8 * SCORE_BINS)], 1);
});

test('verdicts are the class basis when nothing is labelled', async () => {
  const s = await aggregateFlows([flow(0, { verdict: 'benign' }), flow(1, { verdict: 'malicious' })]);
  assert.equal(s.classBasis, 'verdict');
  assert.deepEqual(s.classTotals, { benign: 1, malicious: 1 });
});

test('timeline: the bin width steps up through round widths as the span grows, and no start is lost', () => {
  const agg = new FlowAggregator();
  // 50,000 flows over ~14 hours at irregular times: forces many coarsenings from the 1 ms start width.
  let expected = 0;
  for (let i = 0; i < 50_000; i++) {
    agg.add(flow(i, { first_seen_us: T0 + ((i * 7919) % 50_000) * 1_000_017, p_malicious: (i % 10) / 10 }));
    expected++;
  }
  const s = agg.finish();
  assert.ok(s.timeline.bins.length <= 240, `${s.timeline.bins.length} bins`);
  assert.equal(s.timeline.binUs, 6e8); // ~13.9 h: 2-minute bars would be 417 (> 240), so 10-minute bars
  let total = 0;
  for (const b of s.timeline.bins) for (const c of b.counts) total += c;
  assert.equal(total, expected);
  // bins are aligned to the width and sorted
  for (let i = 1; i < s.timeline.bins.length; i++) {
    assert.ok(s.timeline.bins[i]!.startUs > s.timeline.bins[i - 1]!.startUs);
    assert.equal(s.timeline.bins[i]!.startUs % s.timeline.binUs, 0);
  }
  // scored points: every flagged flow is offered to its own reservoir, capped
  assert.ok(s.timelinePoints.length <= 2000);
  assert.equal(s.timelinePointsFrom.flagged + s.timelinePointsFrom.other, 50_000);
});

test('samples stay bounded and reproducible for a fixed seed', async () => {
  const a = await aggregateFlows(syntheticFlows(5000, { hostile: false }), { samplePerClass: 300, seed: 3 });
  const b = await aggregateFlows(syntheticFlows(5000, { hostile: false }), { samplePerClass: 300, seed: 3 });
  assert.equal(a.samples.benign.length, 300);
  assert.ok(a.samples.malicious.length > 0 && a.samples.malicious.length <= 300);
  assert.deepEqual(
    a.samples.benign.map((r) => r.flow_id),
    b.samples.benign.map((r) => r.flow_id),
  );
  assert.equal(a.classTotals.benign + a.classTotals.malicious, 5000);
});

test('heavy-hitter tables prune to the largest and say they are approximate', async () => {
  // 150,000 distinct sources (one flow each) plus one source with 1,000 flows: the pruned table keeps it.
  async function* rows(): AsyncGenerator<FlowRow> {
    for (let i = 0; i < 150_000; i++) yield { src_ip: `s${i}`, fwd_bytes: 1 };
    for (let i = 0; i < 1000; i++) yield { src_ip: 'heavy', fwd_bytes: 1000 };
  }
  const s = await aggregateFlows(rows());
  assert.equal(s.talliesApproximate, true);
  assert.equal(s.srcHosts[0]!.key, 'heavy');
  assert.equal(s.srcHosts[0]!.flows, 1000);
  assert.equal(s.flows, 151_000);
});

test('rows missing every field still count as flows without breaking anything', async () => {
  const s = await aggregateFlows([{}, { tls: null }, { first_seen_us: 'soon' }]);
  assert.equal(s.flows, 3);
  assert.equal(s.bytes, 0);
  assert.ok(Number.isNaN(s.firstUs));
  assert.equal(s.timeline.bins.length, 0);
});
