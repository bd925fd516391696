/**
 * CSV (RFC 4180): header line, comma separated, fields quoted when they hold a comma, quote or line break.
 * Missing/null values are empty fields; lists are joined with ';'. Strings from traffic that start with
 * = + - @ (and tab/CR) get a leading apostrophe so a spreadsheet shows them instead of evaluating them
 * (OWASP "CSV injection"); numbers are never altered.
 */
import type { ColumnSpec } from '../features/meter.ts';
import { statsVector } from '../features/record.ts';
import { STATS_INDEX } from '../features/stats.ts';
import { lookupGroup } from './columns.ts';
import { encoded, type TextWriter } from './text.ts';

export function csvField(v: unknown): string {
  if (typeof v === 'number') {
    // Integers (most columns) take V8's fast small-integer path; NaN/Infinity are never written.
    if ((v | 0) === v) return `${v}`;
    return Number.isFinite(v) ? `${v}` : '';
  }
  if (v === null || v === undefined) return '';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Array.isArray(v)) return csvField(listText(v));
  let s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (s.length > 0 && '=+-@\t\r'.includes(s[0]!) && !/^-?\d/.test(s)) s = `'${s}`;
  if (NEEDS_QUOTES.test(s)) return `"${s.replace(/"/g, '""')}"`;
  return s;
}

const NEEDS_QUOTES = /[",\r\n]/;

export function csvLine(values: readonly unknown[]): string {
  let line = '';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) line += ',';
    line += csvField(values[i]);
  }
  return `${line}\n`;
}

/**
 * A list cell's text: elements joined with ';', objects as JSON, other values through String — what
 * `v.map(...).join(';')` gave (a hole, or an object whose JSON is undefined, joins as ''), without the array.
 */
function listText(v: readonly unknown[]): string {
  let s = '';
  for (let i = 0; i < v.length; i++) {
    if (i > 0) s += ';';
    const x = v[i];
    if (typeof x === 'number') s += `${x}`;
    else if (typeof x === 'object' && x !== null) s += (JSON.stringify(x) as string | undefined) ?? '';
    else if (x !== undefined || i in v) s += String(x);
  }
  return s;
}

const COMMA = 0x2c;
const NEWLINE = 0x0a;

/**
 * A CSV row writer for rows with these columns: the bytes csvLine gives for the columns' values (flat names,
 * src/output/columns.ts), written into the output buffer without a per-row array or line string. Statistics are
 * formatted straight from the row's vector; the columns of a group the row does not have (most flows carry no
 * tls/quic/dns/http/ssh group) become empty fields in one step.
 */
export function csvRowWriter(columns: readonly ColumnSpec[]): (w: TextWriter, row: Record<string, unknown>) => void {
  interface Run {
    /** Group path ([] for top-level columns), one lookup per row for the whole run. */
    path: string[];
    dotted: boolean;
    keys: string[];
    /** Per column: index into the stats vector, -1 when not a statistic. */
    stats: Int32Array;
    /** The separators of the run's fields when the group is absent (one comma less for the line's first run). */
    empty: Uint8Array;
  }
  const runs: Run[] = [];
  for (const c of columns) {
    const group = c.group ?? '';
    let run = runs[runs.length - 1];
    if (run === undefined || run.path.join('.') !== group) {
      run = {
        path: group === '' ? [] : group.split('.'),
        dotted: group.includes('.'),
        keys: [],
        stats: new Int32Array(0),
        empty: new Uint8Array(0),
      };
      runs.push(run);
    }
    run.keys.push(c.key);
  }
  runs.forEach((run, r) => {
    run.stats = Int32Array.from(run.keys, (k) => (run.path.length === 0 ? (STATS_INDEX.get(k) ?? -1) : -1));
    run.empty = encoded(','.repeat(r === 0 ? run.keys.length - 1 : run.keys.length));
  });
  return (w, row) => {
    const vec = statsVector(row);
    for (let r = 0; r < runs.length; r++) {
      const run = runs[r]!;
      const keys = run.keys;
      let obj: Record<string, unknown> | undefined;
      if (run.path.length === 0) obj = row;
      else if (!run.dotted) {
        // As columnAccessor reads an undotted group: row[group][key] unless the group is null or undefined.
        const g = row[run.path[0]!] as Record<string, unknown> | null | undefined;
        obj = g == null ? undefined : g;
      } else obj = lookupGroup(row, run.path);
      if (obj === undefined) {
        w.bytes(run.empty);
        continue;
      }
      const stats = run.stats;
      for (let i = 0; i < keys.length; i++) {
        if (r > 0 || i > 0) w.byte(COMMA);
        const si = stats[i]!;
        // NaN (null) and non-finite numbers are empty fields, as csvField writes them.
        if (si >= 0 && vec !== undefined) {
          const x = vec[si]!;
          if (x - x === 0) w.number(x);
          continue;
        }
        const v = obj[keys[i]!];
        if (typeof v === 'number') {
          if (v - v === 0) w.number(v);
        } else if (v !== null && v !== undefined) w.write(csvField(v));
      }
    }
    w.byte(NEWLINE);
  };
}
