import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildDataset, candidateFeatures, detectDialect, isIdentityColumn } from '../../src/ml/dataset.ts';
import { cidrContains, globToRegExp, Labeler, parseCidr } from '../../src/ml/labels.ts';
import { foldRows, holdout, kFold } from '../../src/ml/split.ts';
import { parseCsv, parseJsonl } from '../../src/ml/table.ts';

test('CSV: quotes, CRLF, leading-space headers, duplicate columns, Infinity/NaN', () => {
  // CIC-IDS2017 style: " Flow Duration" with a leading space; "Fwd Header Length" twice; quoted comma in a field.
  const text =
    'Flow ID, Flow Duration,Fwd Header Length,Flow Bytes/s,Fwd Header Length,Label\r\n"a,b",10,20,Infinity,99,BENIGN\r\nc,"3",4,NaN,5,DDoS\r\n';
  const t = parseCsv(text, 'x.csv');
  assert.deepEqual(t.names, ['Flow ID', 'Flow Duration', 'Fwd Header Length', 'Flow Bytes/s', 'Label']);
  assert.deepEqual(t.droppedDuplicates, ['Fwd Header Length']);
  assert.equal(t.cells[0]![0], 'a,b');
  assert.equal(t.cells[2]![0], '20'); // the first of the duplicates is kept
  const ds = buildDataset([t], { multiclass: false, labeler: null });
  assert.deepEqual(ds.featureNames, ['Flow Duration', 'Fwd Header Length']); // Flow Bytes/s has no finite variation
  assert.deepEqual(Array.from(ds.y), [0, 1]);
});

test('JSON Lines: nested groups flattened with _, identity columns never features', () => {
  const t = parseJsonl(
    '{"flow_id":1,"src_ip":"10.0.0.1","src_port":5000,"dst_port":443,"first_seen_us":1,"tls":{"ja3":"abc","version":771},"fwd_packets":3,"label":"benign"}\n' +
      '{"flow_id":2,"src_ip":"10.0.0.2","src_port":5001,"dst_port":80,"first_seen_us":2,"tls":{"ja3":"def","version":772},"fwd_packets":9,"label":"malicious"}\n',
    'f.jsonl',
  );
  assert.ok(t.names.includes('tls_ja3') && t.names.includes('tls_version'));
  assert.equal(detectDialect(t.names), 'flowsieve');
  // ja3 is text (skipped); ids, addresses, src port, times, label excluded; dst_port kept.
  assert.deepEqual(candidateFeatures(t), ['dst_port', 'tls_version', 'fwd_packets']);
  for (const c of [
    'flow_id',
    'Src IP',
    'Source Port',
    'Timestamp',
    'first_seen_us',
    'source_file',
    'Attempted Category',
  ]) {
    assert.ok(isIdentityColumn(c), c);
  }
  assert.ok(!isIdentityColumn('Dst Port'));
});

test('labels: rules by file glob, CIDR, port and time; first match wins', () => {
  const l = new Labeler([
    { label: 'malicious', file: '**/bad/*.pcap' },
    { label: 'malicious', address: '10.1.0.0/16', port: '4444' },
    { label: 'malicious', address: '2001:db8::/32' },
    { label: 'benign', startUs: 100, endUs: 200 },
  ]);
  const f = (file: string, srcIp: string, dstPort: number, timeUs: number) =>
    l.labelFor({ file, srcIp, dstIp: '8.8.8.8', srcPort: 50000, dstPort, timeUs });
  assert.equal(f('/data/bad/x.pcap', '1.2.3.4', 80, 0), 'malicious');
  assert.equal(f('/data/good/x.pcap', '10.1.200.3', 4444, 0), 'malicious');
  assert.equal(f('/data/good/x.pcap', '10.1.200.3', 4445, 0), null);
  assert.equal(f('/data/good/x.pcap', '2001:db8::1', 1, 0), 'malicious');
  assert.equal(f('/data/good/x.pcap', '1.2.3.4', 80, 150), 'benign');
  assert.equal(f('/data/good/x.pcap', '1.2.3.4', 80, 250), null);
  assert.ok(cidrContains(parseCidr('::ffff:10.0.0.0/104')!, '::ffff:10.9.9.9'));
  assert.equal(parseCidr('10.0.0.0/33'), null);
  assert.ok(globToRegExp('a/*.pcap').test('a/b.pcap') && !globToRegExp('a/*.pcap').test('a/c/b.pcap'));
});

function groupsView(groups: number[], y: number[], times?: number[]) {
  return {
    nRows: groups.length,
    y: Int32Array.from(y),
    groups: Int32Array.from(groups),
    groupNames: [...new Set(groups)].map(String),
    timeUs: Float64Array.from(times ?? groups.map(() => Number.NaN)),
  };
}

test('split by capture never puts one capture on both sides', () => {
  const groups = Array.from({ length: 500 }, (_, i) => i % 13);
  const ds = groupsView(
    groups,
    groups.map((g) => g % 2),
  );
  const a = kFold(ds, 5, 'capture', 1);
  assert.equal(a.kind, 'capture');
  for (let f = 0; f < 5; f++) {
    const { train, test } = foldRows(a, f);
    const tg = new Set(Array.from(test, (r) => groups[r]));
    for (const r of train) assert.ok(!tg.has(groups[r]!), `capture ${groups[r]} on both sides of fold ${f}`);
  }
  const h = holdout(ds, 0.2, 'capture', 1);
  const vg = new Set(Array.from(h.valid, (r) => groups[r]));
  for (const r of h.train) assert.ok(!vg.has(groups[r]!));
});

test('one capture falls back to a time split (train on the past); stratified keeps class ratios', () => {
  const n = 100;
  const ds = groupsView(
    new Array(n).fill(0),
    Array.from({ length: n }, (_, i) => (i < 30 ? 1 : 0)),
    Array.from({ length: n }, (_, i) => 1000 - i),
  );
  const h = holdout(ds, 0.2, 'capture', 1);
  assert.equal(h.kind, 'time');
  const maxTrain = Math.max(...Array.from(h.train, (r) => ds.timeUs[r]!));
  const minValid = Math.min(...Array.from(h.valid, (r) => ds.timeUs[r]!));
  assert.ok(maxTrain < minValid);
  const s = kFold(ds, 5, 'stratified', 2);
  for (let f = 0; f < 5; f++) {
    const { test } = foldRows(s, f);
    assert.equal(Array.from(test).filter((r) => ds.y[r] === 1).length, 6);
  }
  assert.throws(() => kFold(groupsView([0, 1, 0, 1], [0, 1, 0, 1]), 3, 'capture', 1), /at least 3 input files/);
});
