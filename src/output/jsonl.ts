/**
 * JSON lines: one flow per line, the text `JSON.stringify(row)` gives, written as bytes into the output buffer.
 *
 * `JSON.stringify(flowRecord)` calls FlowRecord.toJSON (src/features/record.ts), which copies ~110 statistics out
 * of the row's Float64Array into a fresh plain object before it is serialised; on the lab500 capture (132k flows,
 * 450 MB of JSON) that was ≈ 40 % of `extract -o x.jsonl` (node --cpu-prof). Here the same text is written straight
 * from the row: own properties in order (groups deferred), then the statistics (`null` for NaN and, as JSON does,
 * for ±Infinity), then the groups. Field names are pre-encoded, numbers written digit by digit (TextWriter.number),
 * strings through JSON.stringify itself, and any value JSON.stringify treats specially (a toJSON method, a prototype
 * other than Object's or Array's, a typed array, a bigint) is left to JSON.stringify, so the text is exactly JSON's.
 * The line used to be concatenated as a string of ~300 pieces, which writing then flattened and encoded. As bytes,
 * `extract -o - --format jsonl` (3 interleaved runs, medians): lab500 3.05 → 2.58 s, mixed500 7.60 → 6.67 s, the
 * output identical (bench/results.md, 2026-11-26 session notes).
 */
import { FlowRecord, statsVector } from '../features/record.ts';
import { STATS_COLUMNS } from '../features/stats.ts';
import { encoded, type TextWriter } from './text.ts';

/** `"key":` per statistics column, in vector order, as bytes. */
const STATS_KEY_BYTES = STATS_COLUMNS.map((c) => encoded(`${JSON.stringify(c.key)}:`));
/**
 * `"key":` as bytes per property name seen so far (identity columns, source_file, groups and their fields), up to
 * KEY_CACHE_SIZE names: meters' names are a few hundred, and a name taken from traffic must not grow it forever.
 */
const keyBytes = new Map<string, Uint8Array>();
const KEY_CACHE_SIZE = 4096;
const NULL_BYTES = encoded('null');
const TRUE_BYTES = encoded('true');
const FALSE_BYTES = encoded('false');
const COMMA = 0x2c;
/** Nesting past which a value is left to JSON.stringify (meters' groups are 2–3 levels deep). */
const MAX_DEPTH = 8;

function writeKey(w: TextWriter, k: string, first: boolean): void {
  if (!first) w.byte(COMMA);
  let b = keyBytes.get(k);
  if (b === undefined) {
    if (keyBytes.size >= KEY_CACHE_SIZE) {
      w.write(`${JSON.stringify(k)}:`);
      return;
    }
    b = encoded(`${JSON.stringify(k)}:`);
    keyBytes.set(k, b);
  }
  w.bytes(b);
}

/** A number as JSON writes it: null when not finite. */
function writeNumber(w: TextWriter, x: number): void {
  if (x - x === 0) w.number(x);
  else w.bytes(NULL_BYTES);
}

/** Whether JSON.stringify drops an object property holding `v` (and writes null for it in an array). */
function omitted(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}

/** Strings longer than this go to JSON.stringify directly (its scan is native; the copy below is per character). */
const SHORT_STRING = 256;

/**
 * A string as JSON.stringify writes it. Printable ASCII without a quote or backslash (names, versions, fingerprints,
 * most of the strings of a flow) needs no escape and is copied as it is, without a native call; any other string,
 * or a long one, goes through JSON.stringify.
 */
function writeString(w: TextWriter, s: string): void {
  const n = s.length;
  if (n <= SHORT_STRING && w.room(n + 2)) {
    const buf = w.buf;
    let p = w.pos;
    buf[p++] = 0x22;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) break;
      buf[p++] = c;
    }
    if (i === n) {
      buf[p++] = 0x22;
      w.pos = p;
      return;
    }
  }
  w.write(JSON.stringify(s));
}

/**
 * Whether `v` (not a number, string, boolean, null or omitted value) is left to JSON.stringify: a bigint, a toJSON
 * method, a prototype other than Object's or Array's (typed arrays, Maps, class instances), or nesting past MAX_DEPTH.
 */
function special(v: unknown, depth: number): boolean {
  if (typeof v !== 'object' || v === null || depth >= MAX_DEPTH) return true;
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return true;
  if (Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto !== Object.prototype && proto !== null;
}

/**
 * `v` as JSON.stringify writes it (not an omitted value): numbers, strings, booleans, null, plain arrays and plain
 * objects by hand; anything `special` through JSON.stringify itself, so the text stays exactly JSON's (`null` where
 * a toJSON gives undefined, as in an array; object properties holding such a value are dropped by the callers).
 */
function writeValue(w: TextWriter, v: unknown, depth: number): void {
  if (typeof v === 'number') writeNumber(w, v);
  else if (typeof v === 'string') writeString(w, v);
  else if (v === null) w.bytes(NULL_BYTES);
  else if (typeof v === 'boolean') w.bytes(v ? TRUE_BYTES : FALSE_BYTES);
  else if (special(v, depth)) w.write((JSON.stringify(v) as string | undefined) ?? 'null');
  else if (Array.isArray(v)) {
    w.byte(0x5b);
    for (let i = 0; i < v.length; i++) {
      if (i > 0) w.byte(COMMA);
      const x: unknown = v[i];
      // Most elements are numbers (SPLT lengths and times, counts): written here rather than through writeValue.
      if (typeof x === 'number') writeNumber(w, x);
      else if (omitted(x)) w.bytes(NULL_BYTES);
      else writeValue(w, x, depth + 1);
    }
    w.byte(0x5d);
  } else {
    // Own enumerable string keys in JSON.stringify's order, and their values in one pass (see writeJsonLine).
    const keys = Object.keys(v as object);
    const values = Object.values(v as object);
    w.byte(0x7b);
    let first = true;
    for (let i = 0; i < keys.length; i++) {
      if (writeField(w, keys[i]!, values[i], first, depth + 1)) first = false;
    }
    w.byte(0x7d);
  }
}

/** The field `"k":v` of an object (after a comma unless `first`); false when JSON.stringify would drop it. */
function writeField(w: TextWriter, k: string, v: unknown, first: boolean, depth: number): boolean {
  if (omitted(v)) return false;
  if (typeof v === 'object' && v !== null && special(v, depth)) {
    const j = JSON.stringify(v) as string | undefined;
    if (j === undefined) return false;
    writeKey(w, k, first);
    w.write(j);
    return true;
  }
  writeKey(w, k, first);
  writeValue(w, v, depth);
  return true;
}

/** One row as a JSON line (newline included): the bytes of `${JSON.stringify(row)}\n`. */
export function writeJsonLine(w: TextWriter, row: Record<string, unknown>): void {
  const vec = row instanceof FlowRecord ? statsVector(row) : undefined;
  if (vec === undefined) {
    // Any other row (a plain object, or a record without statistics) is written as any value is.
    writeValue(w, row, 0);
    w.byte(0x0a);
    return;
  }
  w.byte(0x7b);
  const keys = Object.keys(row);
  // The values in the same order, read in one pass: `row[k]` with a different k each time is a megamorphic keyed
  // load per property (mixed500 → JSONL: ~150 ms of the line writer, node --cpu-prof).
  const values = Object.values(row);
  let first = true;
  let groups = 0;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const v = values[i];
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) groups++;
    else if (writeField(w, k, v, first, 1)) first = false;
  }
  for (let i = 0; i < STATS_KEY_BYTES.length; i++) {
    if (!first) w.byte(COMMA);
    first = false;
    w.bytes(STATS_KEY_BYTES[i]!);
    writeNumber(w, vec[i]!);
  }
  if (groups > 0) {
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const v = values[i];
      if (v === null || typeof v !== 'object' || Array.isArray(v)) continue;
      writeField(w, k, v, false, 1);
    }
  }
  w.byte(0x7d);
  w.byte(0x0a);
}
