/**
 * Reading the report's inputs from files: flow tables streamed row by row (JSON Lines, CSV, Parquet, each
 * optionally gzip-compressed except Parquet), and JSON documents told apart by their keys (evaluation metrics,
 * extract statistics, a model). Streaming keeps memory flat for a million flows: the aggregator keeps only
 * samples and counters.
 *
 * File-level problems raise `InputError` (src/ml/table.ts) with a stable code and the position in the file;
 * the CLI prints the message on one line and exits 2.
 */
import { createReadStream, openAsBlob, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { InputError } from '../ml/table.ts';
import type { FlowRow } from './rows.ts';

export type JsonKind = 'evaluation' | 'stats' | 'model' | 'flows';

/** What a parsed JSON document is, by the keys it carries; undefined when it is none of the report's inputs. */
export function jsonKind(doc: unknown): JsonKind | undefined {
  if (Array.isArray(doc)) return doc.length === 0 || typeof doc[0] === 'object' ? 'flows' : undefined;
  if (typeof doc !== 'object' || doc === null) return undefined;
  const has = (k: string): boolean => Object.hasOwn(doc, k);
  // A model file (src/ml/model.ts) carries trees and may embed its validation metrics: check it first.
  if (has('trees') || (has('format') && has('features'))) return 'model';
  const metrics = has('metrics') ? (doc as { metrics: unknown }).metrics : undefined;
  const m = typeof metrics === 'object' && metrics !== null ? metrics : {};
  const evalKeys = [
    'roc_curve',
    'pr_curve',
    'confusion',
    'confusion_matrix',
    'macro_f1',
    'roc_auc',
    'pr_auc',
    'mcc',
    'tpr_at_fpr',
  ];
  if (evalKeys.some((k) => has(k) || Object.hasOwn(m, k))) return 'evaluation';
  if (has('packets_read') || has('packets_in_flows') || has('dropped')) return 'stats';
  if (has('feature_importance') || has('feature_importances') || has('trees') || has('learner') || has('features'))
    return 'model';
  return undefined;
}

function inputStream(file: string): Readable {
  const raw: Readable = file === '-' ? process.stdin : createReadStream(file);
  return file.toLowerCase().endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
}

/**
 * Lines of a text stream in batches (one batch per chunk read): LF or CRLF endings, UTF-8. Batching keeps the
 * async-iteration cost per chunk rather than per line (node:readline yields, and awaits, once per line).
 * Stream errors (missing file, bad gzip) become InputError.
 */
async function* lineBatches(file: string): AsyncGenerator<string[]> {
  const stream = inputStream(file);
  stream.setEncoding('utf8');
  let rest = '';
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      const text = rest === '' ? chunk : rest + chunk;
      const lines = text.split('\n');
      rest = lines.pop()!;
      for (let i = 0; i < lines.length; i++) {
        const l = lines[i]!;
        if (l.charCodeAt(l.length - 1) === 13) lines[i] = l.slice(0, -1);
      }
      if (lines.length > 0) yield lines;
    }
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT') throw new InputError('report_missing_file', `${file}: no such file`);
    throw new InputError('report_unreadable', `${file}: cannot read (${(e as Error).message})`);
  }
  if (rest !== '') yield [rest.charCodeAt(rest.length - 1) === 13 ? rest.slice(0, -1) : rest];
}

/** JSON Lines: one flow object per line; blank lines are skipped. */
export async function* readJsonl(file: string): AsyncGenerator<FlowRow> {
  let lineNo = 0;
  for await (const batch of lineBatches(file))
    for (const line of batch) {
      lineNo++;
      if (line.trim() === '') continue;
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch {
        throw new InputError('report_bad_jsonl', `${file}:${lineNo}: not valid JSON`);
      }
      if (typeof v !== 'object' || v === null || Array.isArray(v)) {
        throw new InputError('report_bad_jsonl', `${file}:${lineNo}: expected one JSON object per line`);
      }
      yield v as FlowRow;
    }
}

/** Parse one CSV record (RFC 4180 §2: fields may be quoted, `""` is a quote inside a quoted field). */
export function parseCsvRecord(rec: string): string[] {
  if (!rec.includes('"')) return rec.split(',');
  const out: string[] = [];
  let i = 0;
  const n = rec.length;
  for (;;) {
    if (rec.charCodeAt(i) === 34) {
      let field = '';
      let start = i + 1;
      i = start;
      for (;;) {
        const q = rec.indexOf('"', i);
        if (q < 0) {
          // Unterminated quote: take the rest as the field (the record joiner only ends on balanced quotes).
          field += rec.slice(start);
          i = n;
          break;
        }
        if (rec.charCodeAt(q + 1) === 34) {
          field += `${rec.slice(start, q)}"`;
          i = q + 2;
          start = i;
          continue;
        }
        field += rec.slice(start, q);
        i = q + 1;
        break;
      }
      // Anything between the closing quote and the next comma is kept, as lenient readers do.
      const comma = rec.indexOf(',', i);
      const tail = comma < 0 ? rec.slice(i) : rec.slice(i, comma);
      out.push(field + tail);
      if (comma < 0) return out;
      i = comma + 1;
    } else {
      const comma = rec.indexOf(',', i);
      if (comma < 0) {
        out.push(rec.slice(i));
        return out;
      }
      out.push(rec.slice(i, comma));
      i = comma + 1;
    }
  }
}

function countQuotes(s: string): number {
  let c = 0;
  for (let i = s.indexOf('"'); i >= 0; i = s.indexOf('"', i + 1)) c++;
  return c;
}

const NUMERIC = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/** A CSV cell as a value: numbers become numbers, empty and non-finite (`Infinity`, `NaN`) cells are absent. */
function csvValue(cell: string): unknown {
  if (cell === '') return undefined;
  if (NUMERIC.test(cell)) return Number(cell);
  if (/^[-+]?(inf(inity)?|nan)$/i.test(cell)) return undefined;
  return cell;
}

/**
 * CSV with a header row. Header names are trimmed (CIC-IDS2017 pads them) and a repeated name keeps its first
 * column (CIC-IDS2017 repeats "Fwd Header Length"), matching src/ml/table.ts.
 */
export async function* readCsv(file: string): AsyncGenerator<FlowRow> {
  let header: (string | undefined)[] | undefined;
  let pending = '';
  let lineNo = 0;
  let recordLine = 0;
  for await (const batch of lineBatches(file))
    for (const line of batch) {
      lineNo++;
      const rec = pending === '' ? line : `${pending}\n${line}`;
      if (pending === '') recordLine = lineNo;
      if (countQuotes(rec) % 2 === 1) {
        pending = rec;
        continue;
      }
      pending = '';
      if (header === undefined) {
        const seen = new Set<string>();
        header = parseCsvRecord(rec.replace(/^\uFEFF/, '')).map((h) => {
          const name = h.trim();
          if (name === '' || name === '__proto__' || seen.has(name)) return undefined;
          seen.add(name);
          return name;
        });
        continue;
      }
      if (rec === '') continue;
      const cells = parseCsvRecord(rec);
      if (cells.length > header.length) {
        throw new InputError(
          'report_bad_csv',
          `${file}:${recordLine}: ${cells.length} fields, header has ${header.length}`,
        );
      }
      const row: FlowRow = {};
      for (let c = 0; c < cells.length; c++) {
        const name = header[c];
        if (name === undefined) continue;
        const v = csvValue(cells[c]!);
        if (v !== undefined) row[name] = v;
      }
      yield row;
    }
  if (pending !== '') throw new InputError('report_bad_csv', `${file}:${recordLine}: unterminated quoted field`);
}

/** Arrow values to plain JSON-like values: int64 → number, lists → arrays, structs → objects. */
function arrowValue(v: unknown): unknown {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v !== 'object') return v;
  if (v instanceof Date) return v.getTime();
  if (ArrayBuffer.isView(v))
    return Array.from(v as unknown as ArrayLike<number | bigint>, (x) => (typeof x === 'bigint' ? Number(x) : x));
  // Arrow vectors (lists) serialise to arrays, struct and map rows to objects.
  const o = v as { toJSON?: () => unknown };
  if (typeof o.toJSON === 'function') {
    const j = o.toJSON();
    if (Array.isArray(j)) return j.map(arrowValue);
    if (typeof j === 'object' && j !== null) {
      const out: FlowRow = {};
      for (const [k, x] of Object.entries(j)) {
        const c = arrowValue(x);
        if (c !== undefined && k !== '__proto__') out[k] = c;
      }
      return out;
    }
    return j;
  }
  return v;
}

/** Parquet, one row group at a time (parquet-wasm decodes, apache-arrow gives typed columns). */
export async function* readParquet(file: string): AsyncGenerator<FlowRow> {
  const [pw, arrow] = await Promise.all([import('parquet-wasm'), import('apache-arrow')]);
  let pf: Awaited<ReturnType<typeof pw.ParquetFile.fromFile>>;
  try {
    pf = await pw.ParquetFile.fromFile(await openAsBlob(file));
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT') throw new InputError('report_missing_file', `${file}: no such file`);
    throw new InputError(
      'report_bad_parquet',
      `${file}: not a readable Parquet file (${String((e as Error).message ?? e)})`,
    );
  }
  try {
    const groups = pf.metadata().numRowGroups();
    for (let g = 0; g < groups; g++) {
      const table = arrow.tableFromIPC((await pf.read({ rowGroups: [g] })).intoIPCStream());
      const names = table.schema.fields.map((f) => f.name);
      const cols = names.map((_, i) => table.getChildAt(i));
      for (let r = 0; r < table.numRows; r++) {
        const row: FlowRow = {};
        for (let c = 0; c < names.length; c++) {
          const name = names[c]!;
          if (name === '__proto__') continue;
          const v = arrowValue(cols[c]?.get(r));
          if (v !== undefined) row[name] = v;
        }
        yield row;
      }
    }
  } finally {
    pf.free();
  }
}

/** The flow-table format of a path, by extension. */
export function flowFormat(file: string): 'jsonl' | 'csv' | 'parquet' | 'json' | undefined {
  if (file === '-') return 'jsonl';
  const f = file.toLowerCase().replace(/\.gz$/, '');
  if (f.endsWith('.jsonl') || f.endsWith('.ndjson')) return 'jsonl';
  if (f.endsWith('.csv')) return 'csv';
  if (f.endsWith('.parquet') || f.endsWith('.pq')) return 'parquet';
  if (f.endsWith('.json')) return 'json';
  return undefined;
}

/** Rows of one flow file (JSONL, CSV or Parquet). */
export function readFlowFile(file: string): AsyncIterable<FlowRow> {
  const format = flowFormat(file);
  if (format === 'jsonl') return readJsonl(file);
  if (format === 'csv') return readCsv(file);
  if (format === 'parquet') return readParquet(file);
  throw new InputError('report_unknown_input', `${file}: unknown file type (expected .jsonl, .csv, .parquet or .json)`);
}

export function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new InputError(
      code === 'ENOENT' ? 'report_missing_file' : 'report_unreadable',
      `${file}: ${code === 'ENOENT' ? 'no such file' : 'cannot read'}`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InputError('report_bad_json', `${file}: not valid JSON (${(e as Error).message})`);
  }
}

/** The report inputs gathered from a list of files (see `loadReportFiles`). */
export interface LoadedFiles {
  flowFiles: string[];
  /** Rows of every flow file in order, streamed. */
  flows: AsyncIterable<FlowRow> | undefined;
  evaluation?: Record<string, unknown>;
  stats?: Record<string, unknown>;
  model?: Record<string, unknown>;
  sources: string[];
}

async function* concatFlows(files: readonly string[], arrays: readonly FlowRow[][]): AsyncGenerator<FlowRow> {
  for (const rows of arrays) yield* rows;
  for (const f of files) yield* readFlowFile(f);
}

/**
 * Sort files into flow tables and JSON documents. JSON documents are read now (they are small); flow files
 * are opened lazily when `flows` is iterated. `explicit` pins a kind for files given with --evaluation etc.
 */
export function loadReportFiles(
  files: readonly string[],
  explicit: { evaluation?: string; stats?: string; model?: string } = {},
): LoadedFiles {
  const out: LoadedFiles = { flowFiles: [], flows: undefined, sources: [] };
  const jsonFlows: FlowRow[][] = [];
  const take = (kind: JsonKind, file: string, doc: unknown): void => {
    if (kind === 'flows') {
      if (!Array.isArray(doc)) throw new InputError('report_bad_json', `${file}: expected an array of flow objects`);
      jsonFlows.push(doc.filter((r): r is FlowRow => typeof r === 'object' && r !== null && !Array.isArray(r)));
      return;
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
      throw new InputError('report_bad_json', `${file}: expected a JSON object for --${kind}`);
    }
    if (out[kind] !== undefined)
      throw new InputError('report_duplicate_input', `${file}: a second ${kind} file; give one`);
    out[kind] = doc as Record<string, unknown>;
  };
  for (const kind of ['evaluation', 'stats', 'model'] as const) {
    const f = explicit[kind];
    if (f !== undefined) {
      take(kind, f, readJsonFile(f));
      out.sources.push(path.basename(f));
    }
  }
  for (const f of files) {
    const format = flowFormat(f);
    if (format === undefined) {
      throw new InputError(
        'report_unknown_input',
        `${f}: unknown file type (expected .jsonl, .csv, .parquet or .json)`,
      );
    }
    out.sources.push(f === '-' ? 'stdin' : path.basename(f));
    if (format !== 'json') {
      out.flowFiles.push(f);
      continue;
    }
    const doc = readJsonFile(f);
    const kind = jsonKind(doc);
    if (kind === undefined) {
      throw new InputError(
        'report_unknown_input',
        `${f}: not an evaluation, extract statistics, model or flow-array JSON (pass it with --evaluation/--stats/--model to force)`,
      );
    }
    take(kind, f, doc);
  }
  if (out.flowFiles.length > 0 || jsonFlows.length > 0) out.flows = concatFlows(out.flowFiles, jsonFlows);
  return out;
}
