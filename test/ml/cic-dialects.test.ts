/**
 * Models trained on CICFlowMeter CSVs of any dialect (CIC-IDS2017, current CICFlowMeter — the improved
 * CIC-IDS2017 release —, CSE-CIC-IDS2018 short names) score flowsieve output, captures and CSVs of the other
 * dialects: every CIC column maps to its flowsieve source (src/output/cic2017.ts CIC_SOURCE) or to the same column
 * under another dialect's name, and the few without an equivalent are filled as missing for flowsieve tables only.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { featureMatrix } from '../../src/ml/dataset.ts';
import type { RawTable } from '../../src/ml/table.ts';
import { CIC_SOURCE, CIC_WITHOUT_SOURCE, CIC2017_SOURCE, cicSynonyms } from '../../src/output/cic2017.ts';
import { mapFeatures } from '../../src/tables.ts';
import { writePcap } from '../helpers/pcap-writer.ts';
import { PROJECT_ROOT, sharedPath } from '../helpers/shared.ts';
import { exchanges, scan } from '../helpers/traffic.ts';

const COMPUTED = new Set([
  'Flow ID',
  'Src IP',
  'Source IP',
  'Src Port',
  'Source Port',
  'Dst IP',
  'Destination IP',
  'Timestamp',
  'Label',
]);

test('the three dialects name one column: same flowsieve source, synonyms both ways', () => {
  for (const names of [
    ['Total Fwd Packets', 'Total Fwd Packet', 'Tot Fwd Pkts'],
    ['Init_Win_bytes_forward', 'FWD Init Win Bytes', 'Init Fwd Win Byts'],
    ['min_seg_size_forward', 'Fwd Seg Size Min'],
    ['Min Packet Length', 'Packet Length Min', 'Pkt Len Min'],
    ['CWE Flag Count', 'CWR Flag Count'],
  ]) {
    const sources = new Set(names.map((n) => CIC_SOURCE.get(n)));
    assert.equal(sources.size, 1, names.join(' / '));
    assert.ok(!sources.has(undefined), names.join(' / '));
    for (const n of names) for (const m of names) if (m !== n) assert.ok(cicSynonyms(n).includes(m), `${n} ~ ${m}`);
  }
  assert.equal(CIC_SOURCE.get('Tot Fwd Pkts'), 'fwd_packets');
  assert.equal(CIC_SOURCE.get('Fwd RST Flags'), 'src2dst_rst_packets');
  for (const n of CIC_WITHOUT_SOURCE) assert.equal(CIC_SOURCE.get(n), undefined);
});

const reference = sharedPath('reference', 'cic-columns.md');
test('every non-computed column of the CIC-IDS2017 and current CICFlowMeter headers has a source', {
  skip: !existsSync(reference) && 'needs ../shared/reference/cic-columns.md',
}, () => {
  const md = readFileSync(reference, 'utf8');
  const list = (marker: string): string[] => {
    const at = md.indexOf(marker);
    assert.ok(at >= 0, marker);
    return md.slice(at).split('\n')[1]!.split(', ');
  };
  const cic2017 = list('**CIC-IDS2017 CSV header');
  const current = list('**Current master');
  assert.equal(cic2017.length, 85);
  assert.equal(current.length, 84);
  // Position by position once CIC-IDS2017's second "Fwd Header Length" is set aside.
  const paired = cic2017.filter((_, i) => i !== cic2017.lastIndexOf('Fwd Header Length'));
  for (const [i, name] of current.entries()) {
    if (COMPUTED.has(name)) continue;
    assert.equal(CIC_SOURCE.get(name), CIC2017_SOURCE.get(paired[i]!), `${name} vs ${paired[i]}`);
    assert.ok(CIC_SOURCE.get(name), name);
  }
  // The CSE-CIC-IDS2018 names the reference quotes.
  for (const n of ['Tot Fwd Pkts', 'TotLen Fwd Pkts', 'Fwd Pkt Len Max', 'Flow Byts/s', 'Fwd Header Len']) {
    assert.ok(CIC_SOURCE.get(n), n);
  }
  for (const n of ['FIN Flag Cnt', 'Init Fwd Win Byts', 'Fwd Seg Size Min']) assert.ok(CIC_SOURCE.get(n), n);
});

function table(names: string[], rows: (string | null)[][]): RawTable {
  return {
    names,
    cells: names.map((_, c) => rows.map((r) => r[c]!)),
    nRows: rows.length,
    source: 't',
    droppedDuplicates: [],
    sha256: '',
  };
}

test('mapFeatures: CSE names over flowsieve columns, current names over a CIC-IDS2017 CSV, missing only for flowsieve', () => {
  const ours = table(
    ['flow_id', 'first_seen_us', 'src_ip', 'fwd_packets', 'bidirectional_syn_packets'],
    [
      ['1', '10', '10.0.0.1', '3', '1'],
      ['2', '20', '10.0.0.2', '7', '0'],
    ],
  );
  const cse = ['Tot Fwd Pkts', 'SYN Flag Cnt', 'Total TCP Flow Time'];
  const x = featureMatrix(mapFeatures(ours, cse), cse);
  assert.deepEqual(Array.from(x), [3, 7, 1, 0, Number.NaN, Number.NaN]);

  const cic = table(
    ['Destination Port', 'Total Fwd Packets', 'Init_Win_bytes_forward', 'Label'],
    [['443', '5', '8192', 'BENIGN']],
  );
  const current = ['Dst Port', 'Total Fwd Packet', 'FWD Init Win Bytes'];
  assert.deepEqual(Array.from(featureMatrix(mapFeatures(cic, current), current)), [443, 5, 8192]);
  // A CIC CSV lacking a column is reported, not filled: only flowsieve tables read absent as "not observed".
  assert.throws(
    () => featureMatrix(mapFeatures(cic, ['Total TCP Flow Time']), ['Total TCP Flow Time']),
    /Total TCP Flow Time/,
  );
});

const dir = mkdtempSync(path.join(tmpdir(), 'flowsieve-cic-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]) {
  const r = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'bin/flowsieve.js'), ...args], {
    cwd: dir,
    env: { ...process.env, NO_COLOR: '1' },
    maxBuffer: 64 << 20,
  });
  return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** Our --dialect cic2017 CSV renamed to CSE-CIC-IDS2018 short names, with a Label, as that dataset ships. */
function toCse2018(csv: string, label: string): string {
  const [header, ...rows] = csv.trim().split('\n');
  const names = header!.split(',');
  const rename = (n: string) => cicSynonyms(n).at(-1) ?? n;
  const label2 = names.indexOf('Label');
  return [
    names.map(rename).join(','),
    ...rows.map((r) => {
      const cells = r.split(',');
      cells[label2] = label;
      return cells.join(',');
    }),
  ].join('\n');
}

test('a model trained on CSE-CIC-IDS2018-named CSVs classifies a capture (scans above exchanges)', () => {
  const benign = exchanges('10.1.0.10', '10.1.0.1', 40, 0);
  const malicious = scan('10.9.0.99', '10.9.0.1', 60, 0, 1);
  writeFileSync(path.join(dir, 'b.pcap'), writePcap(benign));
  writeFileSync(path.join(dir, 'm.pcap'), writePcap(malicious));
  for (const [name, label] of [
    ['b', 'Benign'],
    ['m', 'Infilteration'],
  ] as const) {
    const r = run(['extract', `${name}.pcap`, '--dialect', 'cic2017', '-o', `${name}.csv`, '-q']);
    assert.equal(r.code, 0, r.stderr);
    writeFileSync(
      path.join(dir, `${name}-2018.csv`),
      toCse2018(readFileSync(path.join(dir, `${name}.csv`), 'utf8'), label),
    );
  }
  const trained = run([
    'train',
    'b-2018.csv',
    'm-2018.csv',
    '--split',
    'stratified',
    '--trees',
    '20',
    '-o',
    'cse.json',
    '-q',
  ]);
  assert.equal(trained.code, 0, trained.stderr);
  const model = JSON.parse(readFileSync(path.join(dir, 'cse.json'), 'utf8')) as { features: string[] };
  // Trained on the 2018 names themselves, every one of them with a flowsieve source.
  assert.ok(model.features.includes('TotLen Fwd Pkts'), String(model.features));
  for (const f of model.features) assert.ok(CIC_SOURCE.has(f), f);

  const both = [...benign, ...malicious.map((p) => ({ ...p, tsUs: p.tsUs + 100e6 }))];
  writeFileSync(path.join(dir, 'mix.pcap'), writePcap(both));
  const scored = run(['classify', 'mix.pcap', '--model', 'cse.json', '-o', '-', '-q']);
  assert.equal(scored.code, 0, scored.stderr);
  const rows = scored.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { dst_port: number; p_malicious: number });
  assert.equal(rows.length, 100);
  const scans = rows.filter((r) => r.dst_port !== 80).map((r) => r.p_malicious);
  const web = rows.filter((r) => r.dst_port === 80).map((r) => r.p_malicious);
  assert.ok(Math.min(...scans) > Math.max(...web), `scans ${Math.min(...scans)} vs web ${Math.max(...web)}`);
});
