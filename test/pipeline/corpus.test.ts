/**
 * Every capture in ../shared/pcaps through the full pipeline (all meters, Markov included):
 * - no exception, no hang (the test has a time limit), and packets_read = packets_in_flows + Σ dropped for every file;
 * - packets read = capinfos' count wherever capinfos reads the file cleanly (FILES.csv);
 * - packets per TCP/UDP 5-tuple = tshark's (reference/five-tuple-packets.tsv, innermost IP), except flows carrying
 *   IP fragments (tshark counts a reassembled datagram once, we count every fragment as the packet it is) and the
 *   files listed with their reason in test/helpers/five-tuple-differences.ts.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { defaultMeters } from '../../src/features/index.ts';
import { runExtract } from '../../src/pipeline.ts';
import { KNOWN_DIFFERENCES } from '../helpers/five-tuple-differences.ts';
import { HAS_SHARED, SHARED, sharedPath } from '../helpers/shared.ts';

function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else if (ch !== '\r') field += ch;
  }
  if (field || row.length) rows.push([...row, field]);
  return rows;
}

test('every shared capture: no crash, full accounting, capinfos totals, tshark 5-tuples', {
  skip: !HAS_SHARED,
  timeout: 300_000,
}, async () => {
  // capinfos packet counts per file.
  const csv = parseCsv(readFileSync(sharedPath('pcaps/FILES.csv'), 'utf8'));
  const h = csv[0]!;
  const capinfos = new Map<string, number>();
  for (const r of csv.slice(1)) {
    if (r[h.indexOf('dir')] !== 'pcaps' || r[h.indexOf('capinfos_ok')] !== 'yes') continue;
    const packets = r[h.indexOf('packets')];
    if (packets) capinfos.set(`pcaps/${r[h.indexOf('source')]}/${r[h.indexOf('file')]}`, Number(packets));
  }
  // tshark packets per 5-tuple.
  const tuples = new Map<string, Map<string, number>>();
  for (const line of readFileSync(sharedPath('reference/five-tuple-packets.tsv'), 'utf8').trim().split('\n').slice(1)) {
    const [file, proto, a, b, n] = line.split('\t');
    let m = tuples.get(file!);
    if (!m) {
      m = new Map();
      tuples.set(file!, m);
    }
    m.set(`${proto}|${a}|${b}`, Number(n));
  }

  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d).sort()) {
      const p = path.join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (!/\.(csv|md|tsv|json|txt|log)$/i.test(e)) files.push(p);
    }
  };
  walk(sharedPath('pcaps'));

  let read = 0;
  let capinfosChecked = 0;
  let tuplesChecked = 0;
  let tuplesFragmented = 0;
  const problems: string[] = [];
  const differing = new Set<string>();
  for (const file of files) {
    const rel = path.relative(SHARED, file);
    const got = new Map<string, number>();
    const fragmented = new Set<string>();
    const stats = await runExtract({
      inputs: [file],
      meters: defaultMeters({ markov: true }),
      onFlow: (r) => {
        if (r.protocol !== 6 && r.protocol !== 17) return;
        const [a, b] = [`${r.src_ip}|${r.src_port}`, `${r.dst_ip}|${r.dst_port}`].sort();
        const k = `${r.protocol}|${a}|${b}`;
        got.set(k, (got.get(k) ?? 0) + (r.fwd_packets as number) + (r.bwd_packets as number));
        if ((r.bidirectional_fragment_packets as number) > 0) fragmented.add(k);
      },
    });
    if (stats.file_errors.length > 0) continue;
    read++;
    const dropped = Object.values(stats.dropped).reduce((x, y) => x + y, 0);
    if (stats.packets_read !== stats.packets_in_flows + dropped)
      problems.push(`${rel}: accounting ${stats.packets_read} ≠ ${stats.packets_in_flows} + ${dropped}`);
    const want = capinfos.get(rel);
    if (want !== undefined) {
      capinfosChecked++;
      if (want !== stats.packets_read) problems.push(`${rel}: read ${stats.packets_read} packets, capinfos ${want}`);
    }
    const ref = tuples.get(rel);
    if (!ref) continue;
    if (KNOWN_DIFFERENCES.has(rel)) {
      differing.add(rel);
      continue;
    }
    for (const [k, n] of ref) {
      if (fragmented.has(k)) {
        tuplesFragmented++;
        continue;
      }
      tuplesChecked++;
      if (got.get(k) !== n) problems.push(`${rel}: ${k} tshark ${n}, flowsieve ${got.get(k) ?? 0}`);
    }
    for (const [k, n] of got) if (!ref.has(k) && !fragmented.has(k)) problems.push(`${rel}: extra ${k} (${n} packets)`);
  }
  console.log(
    `corpus: ${files.length} files, ${read} read as captures, ${capinfosChecked} checked against capinfos, ` +
      `${tuplesChecked} 5-tuples checked against tshark (${tuplesFragmented} with IP fragments skipped), ${problems.length} problems`,
  );
  assert.deepEqual(problems, []);
  assert.equal(differing.size, KNOWN_DIFFERENCES.size, 'every listed difference names a capture that exists');
});
