/**
 * Integration: every file of ../shared/pcaps (FILES.csv rows with dir=pcaps, ~2,100 files of which ~1,550 are
 * captures, many corrupt or fuzzed) is read with no exception other than CaptureError and no hang; where FILES.csv
 * says capinfos read the file cleanly (capinfos_ok=yes) and gives `packets`, our packetsDelivered + dropped must
 * equal it. Files capinfos could not read fully are only required not to throw.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CaptureError, readCapture } from '../../src/capture/index.ts';
import { HAS_SHARED, sharedPath } from '../helpers/shared.ts';
import { sumDropped } from './collect.ts';

/** Files capinfos counts but we justifiably do not, with the reason and the outcome we expect instead. */
const EXCEPTIONS = new Map<string, { reason: string; expectError: string }>([
  [
    'packetlife/iphttps.cap',
    {
      reason: 'Microsoft Network Monitor 2.x file (magic "GMBU"), not pcap/pcapng: Wireshark reads it, we do not',
      expectError: 'not_a_capture',
    },
  ],
]);

/** RFC 4180 CSV (quoted fields may hold commas and doubled quotes; FILES.csv has no newlines inside fields). */
function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

interface Row {
  rel: string;
  packets: number | undefined;
  capinfosOk: boolean;
}

function captureRows(): Row[] {
  const lines = readFileSync(sharedPath('pcaps', 'FILES.csv'), 'utf8').split('\n').filter(Boolean);
  const header = parseCsvLine(lines[0]!);
  const col = (name: string): number => {
    const i = header.indexOf(name);
    assert.ok(i >= 0, `FILES.csv has no column ${name}`);
    return i;
  };
  const [dir, source, file, packets, ok] = ['dir', 'source', 'file', 'packets', 'capinfos_ok'].map(col) as [
    number,
    number,
    number,
    number,
    number,
  ];
  return lines
    .slice(1)
    .map(parseCsvLine)
    .filter((r) => r[dir] === 'pcaps')
    .map((r) => ({
      rel: `${r[source]}/${r[file]}`,
      packets: r[packets] ? Number(r[packets]) : undefined,
      capinfosOk: r[ok] === 'yes',
    }));
}

describe('shared captures', { skip: !HAS_SHARED && '../shared not present' }, () => {
  it('reads every file without a raw exception; counts match capinfos where it read the file cleanly', {
    timeout: 120_000,
  }, async (t) => {
    const rows = captureRows();
    assert.ok(rows.length > 1500, `${rows.length} rows`);
    let compared = 0;
    let matched = 0;
    let delivered = 0;
    const errors = new Map<string, number>();
    const mismatches: string[] = [];
    for (const row of rows) {
      const exception = EXCEPTIONS.get(row.rel);
      let total: number | undefined;
      try {
        const s = await readCapture(sharedPath('pcaps', row.rel), () => {});
        total = s.packetsDelivered + sumDropped(s);
        delivered += s.packetsDelivered;
      } catch (e) {
        if (!(e instanceof CaptureError))
          throw new Error(`${row.rel}: raw exception ${e instanceof Error ? e.stack : e}`);
        errors.set(e.code, (errors.get(e.code) ?? 0) + 1);
        if (exception !== undefined) {
          assert.equal(e.code, exception.expectError, row.rel);
          continue;
        }
        // A file capinfos read cleanly must be readable by us too.
        assert.ok(!(row.capinfosOk && row.packets !== undefined), `${row.rel}: ${e.message}`);
        continue;
      }
      assert.equal(exception, undefined, `${row.rel} is listed as an exception but was read`);
      if (row.capinfosOk && row.packets !== undefined) {
        compared++;
        if (total === row.packets) matched++;
        else mismatches.push(`${row.rel}: ours ${total}, capinfos ${row.packets}`);
      }
    }
    t.diagnostic(
      `${rows.length} files; ${matched}/${compared} packet counts match capinfos (+${EXCEPTIONS.size} justified exception); ` +
        `${delivered} packets delivered; file-level errors ${JSON.stringify(Object.fromEntries(errors))}`,
    );
    assert.deepEqual(mismatches, []);
    assert.ok(compared > 1500);
  });
});
