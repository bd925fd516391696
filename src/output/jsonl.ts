/**
 * JSON lines: one flow per line, the text `JSON.stringify(row)` gives, built without the intermediate object.
 *
 * `JSON.stringify(flowRecord)` calls FlowRecord.toJSON (src/features/record.ts), which copies ~110 statistics out
 * of the row's Float64Array into a fresh plain object before it is serialised; on the lab500 capture (132k flows,
 * 450 MB of JSON) that was ≈ 40 % of `extract -o x.jsonl` (node --cpu-prof). Here the same text is concatenated
 * straight from the row: own properties in order (groups deferred), then the statistics (`null` for NaN and, as
 * JSON does, for ±Infinity), then the groups; strings, arrays and groups go through JSON.stringify itself, so their
 * escaping and formatting is exactly JSON's. Writing the pieces byte by byte into the output buffer instead
 * (as the CSV writer does) was slower here: the field names are long (bench/results.md, "Output cost").
 */
import { FlowRecord, statsVector } from '../features/record.ts';
import { STATS_COLUMNS } from '../features/stats.ts';

/** `,"key":` per statistics column, in vector order (the line's first field drops the comma). */
const STATS_PREFIX = STATS_COLUMNS.map((c) => `,${JSON.stringify(c.key)}:`);
/** `,"key":` per own property name seen so far (identity columns, source_file, groups). */
const keyPrefixes = new Map<string, string>();

function keyPrefix(k: string): string {
  let p = keyPrefixes.get(k);
  if (p === undefined) {
    p = `,${JSON.stringify(k)}:`;
    keyPrefixes.set(k, p);
  }
  return p;
}

/**
 * The prefix of the next field of a line being built: without its comma right after the opening brace. The line is
 * built from `{` on and closed with `}` appended, never sliced: slicing the rope of ~300 pieces flattened it into a
 * copy, and writing it flattened it a second time (lab500: the slice line was about a third of jsonLine's time,
 * node --cpu-prof).
 */
function sep(s: string, prefix: string): string {
  return s.length === 1 ? prefix.slice(1) : prefix;
}

/** One row as a JSON line (newline included): character for character `${JSON.stringify(row)}\n`. */
export function jsonLine(row: Record<string, unknown>): string {
  if (!(row instanceof FlowRecord)) return `${JSON.stringify(row)}\n`;
  let s = '{';
  const keys = Object.keys(row);
  let groups = 0;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const v = row[k];
    if (typeof v === 'number') s += sep(s, keyPrefix(k)) + (v - v === 0 ? `${v}` : 'null');
    else if (typeof v === 'string') s += sep(s, keyPrefix(k)) + JSON.stringify(v);
    else if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      // A group (an object that is not an array): written after the statistics, as FlowRecord.toJSON orders it.
      groups++;
    } else {
      // Arrays, booleans, null; undefined (and functions, symbols) drop the key, as in JSON.stringify.
      const j = JSON.stringify(v) as string | undefined;
      if (j !== undefined) s += sep(s, keyPrefix(k)) + j;
    }
  }
  const vec = statsVector(row);
  if (vec !== undefined) {
    for (let i = 0; i < STATS_PREFIX.length; i++) {
      const x = vec[i]!;
      s += sep(s, STATS_PREFIX[i]!) + (x - x === 0 ? `${x}` : 'null');
    }
  }
  if (groups > 0) {
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const v = row[k];
      if (v === null || typeof v !== 'object' || Array.isArray(v)) continue;
      const j = JSON.stringify(v) as string | undefined;
      if (j !== undefined) s += sep(s, keyPrefix(k)) + j;
    }
  }
  return `${s}}\n`;
}
