/**
 * Flow tables as columns of strings/numbers, read from CSV (RFC 4180 quoting), JSON Lines and Parquet.
 *
 * Why our own CSV reader: the inputs are machine-written flow tables (our `extract` output, CICFlowMeter CSVs), a
 * few hundred MB at most, and we need exactly three quirks handled the same way everywhere: header names trimmed
 * (CIC-IDS2017 headers carry leading spaces, cic-columns.md), duplicate header names dropped after the first
 * (CIC-IDS2017 repeats "Fwd Header Length"), and cells parsed to numbers with `Infinity`/`NaN`/empty as
 * non-finite. Nested JSON objects are flattened with `_` (the same rule our writers use, e.g. `tls_ja3`).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** A table held by column. `cells[c][r]` is the raw cell text (or JSON scalar turned into text). */
export interface RawTable {
  /** Trimmed, de-duplicated column names. */
  names: string[];
  /** Column-wise cells; `null` for a missing value. */
  cells: (string | null)[][];
  nRows: number;
  /** Where the rows came from (a file path or `-` for stdin). */
  source: string;
  /** Names dropped because an earlier column had the same trimmed name. */
  droppedDuplicates: string[];
  /** SHA-256 of the file bytes (hex), for the model's training-data fingerprint. */
  sha256?: string;
}

/** Thrown for file-level input problems; the CLI prints `message` on one line and exits 2. */
export class InputError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
    this.name = 'InputError';
  }
}

/** Parse one CSV document (RFC 4180: `"` quoting with `""` escapes, CRLF or LF rows) into a RawTable. */
export function parseCsv(text: string, source: string): RawTable {
  let pos = 0;
  const n = text.length;
  if (text.charCodeAt(0) === 0xfeff) pos = 1; // UTF-8 BOM
  const row: string[] = [];

  // Reads one record into `row`; returns false at end of input.
  const readRow = (): boolean => {
    row.length = 0;
    if (pos >= n) return false;
    for (;;) {
      let field: string;
      if (text.charCodeAt(pos) === 34) {
        // Quoted field: scan to the closing quote, unescaping "".
        pos++;
        let buf = '';
        let start = pos;
        for (;;) {
          const q = text.indexOf('"', pos);
          if (q < 0) {
            buf += text.slice(start);
            pos = n;
            break;
          }
          if (text.charCodeAt(q + 1) === 34) {
            buf += text.slice(start, q + 1);
            pos = q + 2;
            start = pos;
            continue;
          }
          buf += text.slice(start, q);
          pos = q + 1;
          break;
        }
        // Anything between the closing quote and the delimiter is kept (lenient, like Python's csv module).
        let end = pos;
        while (end < n) {
          const c = text.charCodeAt(end);
          if (c === 44 || c === 10 || c === 13) break;
          end++;
        }
        field = buf + text.slice(pos, end);
        pos = end;
      } else {
        let end = pos;
        while (end < n) {
          const c = text.charCodeAt(end);
          if (c === 44 || c === 10 || c === 13) break;
          end++;
        }
        field = text.slice(pos, end);
        pos = end;
      }
      row.push(field);
      if (pos >= n) return true;
      const c = text.charCodeAt(pos);
      if (c === 44) {
        pos++;
        if (pos >= n) {
          row.push('');
          return true;
        }
        continue;
      }
      // End of record: LF, CR or CRLF.
      pos++;
      if (c === 13 && text.charCodeAt(pos) === 10) pos++;
      return true;
    }
  };

  if (!readRow()) throw new InputError('csv_empty', `${source}: empty CSV (no header row)`);
  const header = row.slice();
  const { names, keep, dropped } = dedupeHeader(header);
  const cells: (string | null)[][] = names.map(() => []);
  let nRows = 0;
  while (readRow()) {
    if (row.length === 1 && row[0] === '') continue; // blank line
    for (let k = 0; k < keep.length; k++) {
      const v = row[keep[k]!];
      cells[k]!.push(v === undefined || v === '' ? null : v);
    }
    nRows++;
  }
  return { names, cells, nRows, source, droppedDuplicates: dropped };
}

function dedupeHeader(header: string[]): { names: string[]; keep: number[]; dropped: string[] } {
  const seen = new Set<string>();
  const names: string[] = [];
  const keep: number[] = [];
  const dropped: string[] = [];
  header.forEach((raw, i) => {
    const name = raw.trim();
    if (seen.has(name)) {
      dropped.push(name);
      return;
    }
    seen.add(name);
    names.push(name);
    keep.push(i);
  });
  return { names, keep, dropped };
}

/** Flatten a JSON value into `out` with `_`-joined keys; arrays become their JSON text. */
function flattenInto(prefix: string, value: unknown, out: Map<string, string | null>): void {
  if (value === null || value === undefined) {
    out.set(prefix, null);
  } else if (typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      flattenInto(prefix ? `${prefix}_${k}` : k, v, out);
    }
  } else if (Array.isArray(value)) {
    out.set(prefix, JSON.stringify(value));
  } else if (typeof value === 'boolean') {
    out.set(prefix, value ? '1' : '0');
  } else {
    out.set(prefix, String(value));
  }
}

/** Build a RawTable from row objects (JSON Lines, Parquet rows, pipeline rows). Columns = union of keys in order. */
export function tableFromRecords(records: Iterable<Record<string, unknown>>, source: string): RawTable {
  const index = new Map<string, number>();
  const names: string[] = [];
  const cells: (string | null)[][] = [];
  let nRows = 0;
  const flat = new Map<string, string | null>();
  for (const rec of records) {
    flat.clear();
    flattenInto('', rec, flat);
    for (const [k, v] of flat) {
      const name = k.trim();
      let c = index.get(name);
      if (c === undefined) {
        c = names.length;
        index.set(name, c);
        names.push(name);
        cells.push(new Array<string | null>(nRows).fill(null));
      }
      const col = cells[c]!;
      while (col.length < nRows) col.push(null);
      col.push(v);
    }
    nRows++;
    for (const col of cells) while (col.length < nRows) col.push(null);
  }
  return { names, cells, nRows, source, droppedDuplicates: [] };
}

/** Parse JSON Lines text (one object per line; blank lines skipped). */
export function parseJsonl(text: string, source: string): RawTable {
  const records: Record<string, unknown>[] = [];
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    const t = line.trim();
    if (t === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(t);
    } catch {
      throw new InputError('jsonl_bad_line', `${source}:${lineNo}: not valid JSON`);
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      throw new InputError('jsonl_not_object', `${source}:${lineNo}: each line must be a JSON object`);
    }
    records.push(v as Record<string, unknown>);
  }
  return tableFromRecords(records, source);
}

/** Read a Parquet file through parquet-wasm (Parquet → Arrow IPC) and apache-arrow (IPC → rows). */
export async function parseParquet(bytes: Uint8Array, source: string): Promise<RawTable> {
  const pq = await import('parquet-wasm/node');
  const arrow = await import('apache-arrow');
  let ipc: Uint8Array;
  try {
    ipc = pq.readParquet(bytes).intoIPCStream();
  } catch (err) {
    throw new InputError('parquet_bad_file', `${source}: not a readable Parquet file (${String(err).split('\n')[0]})`);
  }
  const table = arrow.tableFromIPC(ipc);
  const names = table.schema.fields.map((f) => f.name.trim());
  const cells: (string | null)[][] = [];
  for (let c = 0; c < names.length; c++) {
    const vec = table.getChildAt(c)!;
    const col: (string | null)[] = new Array(table.numRows);
    for (let r = 0; r < table.numRows; r++) {
      const v: unknown = vec.get(r);
      // int64 columns arrive as BigInt; lists as Arrow vectors (their toJSON gives an array).
      col[r] =
        v === null || v === undefined
          ? null
          : typeof v === 'object'
            ? JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x))
            : typeof v === 'boolean'
              ? v
                ? '1'
                : '0'
              : String(v);
    }
    cells.push(col);
  }
  return { names, cells, nRows: table.numRows, source, droppedDuplicates: [] };
}

export type TableFormat = 'csv' | 'jsonl' | 'parquet';

/** Format from the file extension (`.csv`, `.jsonl`/`.ndjson`/`.json`, `.parquet`/`.pq`), or null. */
export function tableFormatOf(file: string): TableFormat | null {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.csv' || ext === '.tsv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return 'jsonl';
  if (ext === '.parquet' || ext === '.pq') return 'parquet';
  return null;
}

/** Sniff the format of bytes read from stdin: Parquet magic, `{` for JSON Lines, else CSV. */
export function sniffFormat(bytes: Uint8Array): TableFormat {
  if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x41 && bytes[2] === 0x52 && bytes[3] === 0x31) {
    return 'parquet';
  }
  for (const b of bytes) {
    if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09 || b === 0xef || b === 0xbb || b === 0xbf) continue;
    return b === 0x7b ? 'jsonl' : 'csv';
  }
  return 'csv';
}

/** Parse bytes of a known format. */
export async function parseTableBytes(bytes: Uint8Array, format: TableFormat, source: string): Promise<RawTable> {
  if (format === 'parquet') return parseParquet(bytes, source);
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  return format === 'csv' ? parseCsv(text, source) : parseJsonl(text, source);
}

/** Read one flow-table file. */
export async function readTableFile(file: string): Promise<RawTable> {
  const format = tableFormatOf(file);
  if (format === null)
    throw new InputError('table_unknown_format', `${file}: unknown table format (want .csv, .jsonl, .parquet)`);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new InputError(
      'table_unreadable',
      `${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  const table = await parseTableBytes(bytes, format, file);
  table.sha256 = createHash('sha256').update(bytes).digest('hex');
  return table;
}

/** Parse a cell to a number; empty, unparseable text and ±Infinity/NaN all become NaN (= missing). */
export function cellToNumber(cell: string | null): number {
  if (cell === null) return Number.NaN;
  // Booleans as written by CSV/JSON writers: the same 1/0 the capture path produces.
  if (cell === 'true') return 1;
  if (cell === 'false') return 0;
  const v = Number(cell);
  if (Number.isFinite(v)) {
    // Number('') and Number('  ') are 0; a blank cell is missing, not zero.
    if (v === 0 && cell.trim() === '') return Number.NaN;
    return v;
  }
  return Number.NaN;
}

/** True when every non-missing cell parses as a number (Infinity/NaN words count as numeric). */
export function isNumericColumn(col: (string | null)[]): boolean {
  for (const cell of col) {
    if (cell === null) continue;
    const t = cell.trim();
    if (
      t === '' ||
      t === 'true' ||
      t === 'false' ||
      t === 'NaN' ||
      t === 'nan' ||
      t === 'Infinity' ||
      t === '-Infinity' ||
      t === 'inf' ||
      t === '-inf'
    )
      continue;
    if (!Number.isFinite(Number(t))) return false;
  }
  return true;
}
