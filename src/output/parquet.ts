/**
 * Parquet output, written by this module (Apache Parquet format: parquet.thrift, Encodings.md, Compression.md):
 * rows are buffered per column for one row group (PARQUET_ROW_GROUP_ROWS in ./index.ts), then each column chunk is encoded and
 * written, so memory holds at most one row group; the footer (Thrift compact FileMetaData) ends the file.
 *
 * Schema: every column is OPTIONAL; int → INT64, float → DOUBLE, bool → BOOLEAN, string → BYTE_ARRAY (STRING),
 * lists → the three-level LIST (`optional group <name> (LIST) { repeated group list { optional <item> } }`),
 * the same physical types, names and nesting the apache-arrow + parquet-wasm writer produced, so DuckDB, Arrow and
 * parquet-wasm read back the same types and values. Encodings: definition/repetition levels RLE (the
 * RLE/bit-packing hybrid); values RLE_DICTIONARY with a PLAIN dictionary page when a chunk has few distinct values
 * (most of the ~200 flow columns), else PLAIN. A chunk of at least COMPRESS_MIN_BYTES is GZIP-compressed
 * (node:zlib; or BROTLI, or not at all: ParquetCompression) when that makes it smaller; smaller chunks (all-null
 * protocol columns, dictionary chunks of a few bytes) stay UNCOMPRESSED, since each zlib call costs ~50–100 µs of
 * set-up. Column chunk statistics: null_count always,
 * min/max for INT64 and DOUBLE (TYPE_ORDER, NaN excluded, nan_count given), so DuckDB can skip row groups.
 *
 * Why not apache-arrow + parquet-wasm (the writer before, kept as dependencies for reading): measured on the
 * lab500 capture (740k packets, 132k flows × 216 columns, bench/extract.ts), `extract -o x.parquet` took
 * 9.8 CPU-s against 3.3 CPU-s without output: building Arrow data, the IPC copy into WebAssembly and the wasm
 * encoder cost ≈ 6 CPU-s (node --cpu-prof: wasm 22 %, apache-arrow 6 %, the row-to-Arrow buffering 11 %). With
 * this writer (same tree, interleaved runs): 8.42 → 5.54 CPU-s for the whole extract, the output's share 5.6 → 2.7
 * CPU-s, the file 3.07 → 1.49 MB (GZIP level 1 and 32k-row groups against ZSTD and 8k-row groups before), peak
 * RSS 344 → 246 MiB (bench/results.md, section "Output cost").
 * Then (issue 2), same capture, old and new writer run side by side in 6 pairs: 4.33–5.25 → 3.76–5.00 CPU-s for the
 * whole extract (0.25–0.87 less in each pair), peak RSS 215 → 147 MiB, the file byte for byte the same: rows no
 * longer kept alive until their row group is encoded (text dictionary-encoded and lists copied as rows arrive;
 * garbage collection beyond a run without output ~230 → 20–50 ms, node --cpu-prof), group columns stored only for rows that have the
 * group, no null pre-filling, property loads generated per group (ColumnBuffers.runReader), one-run shortcuts
 * for chunks with no null, only nulls or a single integer value.
 */
import { writeSync } from 'node:fs';
import { endianness } from 'node:os';
import { brotliCompressSync, gzipSync, constants as zlibConstants } from 'node:zlib';
import { type ColumnSpec, flatName } from '../features/meter.ts';
import { statsVector } from '../features/record.ts';
import { STATS_COLUMNS, STATS_INDEX } from '../features/stats.ts';
import { ByteSink, T_BINARY, T_I32, T_STRUCT } from './bytes.ts';
import { EncoderThread } from './encoder-thread.ts';

// parquet.thrift enums.
const TYPE_BOOLEAN = 0;
const TYPE_INT64 = 2;
const TYPE_DOUBLE = 5;
const TYPE_BYTE_ARRAY = 6;
const ENC_PLAIN = 0;
const ENC_RLE = 3;
const ENC_RLE_DICTIONARY = 8;
const CODEC_UNCOMPRESSED = 0;
const CODEC_GZIP = 2;
const CODEC_BROTLI = 4;
const PAGE_DATA = 0;
const PAGE_DICTIONARY = 2;
const REP_OPTIONAL = 1;
const REP_REPEATED = 2;
const CONVERTED_UTF8 = 0;
const CONVERTED_LIST = 3;

/** Chunks smaller than this are not compressed (zlib set-up per call outweighs the bytes saved). */
const COMPRESS_MIN_BYTES = 2048;
/** deflate level 1: on this data (mostly dictionary indices) levels 6–9 gave a few % smaller files for 2× the time. */
const GZIP_LEVEL = 1;

/**
 * Column chunk compression. gzip (the default) is the codec every Parquet reader has (Spark and Hive included).
 * brotli at quality 1 compresses the same chunks in about half the time, the file a few % larger; none skips
 * compression. Measured on the column chunks of mixed500 → Parquet (48 MB before compression, 1,775 chunks of at
 * least 2 KB, node:zlib, best of 2): gzip level 1 600 ms → 24.2 MB; brotli quality 1 330 ms → 25.9 MB; quality 0
 * 214 ms → 27.6 MB; quality 2 450 ms → 23.6 MB. Whole files: 25.3 MB gzip, 27.1 MB brotli, 49.5 MB none.
 */
export type ParquetCompression = 'gzip' | 'brotli' | 'none';
export const PARQUET_COMPRESSIONS: readonly ParquetCompression[] = ['gzip', 'brotli', 'none'];
const BROTLI_OPTIONS = { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 1 } };

/** `body` compressed with `codec` (CODEC_GZIP or CODEC_BROTLI). */
function compress(codec: number, body: Uint8Array): Uint8Array {
  return codec === CODEC_GZIP ? gzipSync(body, { level: GZIP_LEVEL }) : brotliCompressSync(body, BROTLI_OPTIONS);
}

const LITTLE_ENDIAN = endianness() === 'LE';
/** Integer chunks whose values span less than this use the direct dictionary (ChunkEncoder.smallIntDictionary). */
const DIRECT_RANGE = 1 << 16;
const TWO_POW_32 = 4294967296;

/** How a column's cells are held and encoded. */
const K_INT = 0;
const K_FLOAT = 1;
const K_BOOL = 2;
const K_STRING = 3;
const K_INT_LIST = 4;
const K_FLOAT_LIST = 5;
const K_STRING_LIST = 6;

function kindOf(c: ColumnSpec): number {
  switch (c.type) {
    case 'int':
      return K_INT;
    case 'float':
      return K_FLOAT;
    case 'bool':
      return K_BOOL;
    case 'string':
      return K_STRING;
    case 'int_list':
      return K_INT_LIST;
    case 'float_list':
      return K_FLOAT_LIST;
    case 'string_list':
      return K_STRING_LIST;
  }
}

/** Parquet physical type of a column's values (list columns: of their elements). */
function physicalType(kind: number): number {
  if (kind === K_INT || kind === K_INT_LIST) return TYPE_INT64;
  if (kind === K_FLOAT || kind === K_FLOAT_LIST) return TYPE_DOUBLE;
  if (kind === K_BOOL) return TYPE_BOOLEAN;
  return TYPE_BYTE_ARRAY;
}

const isList = (kind: number) => kind >= K_INT_LIST;

const K_STATS = STATS_COLUMNS.length;

/** Text of a string cell, as the writer always coerced it: objects as JSON, other scalars via String. */
function stringValue(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Stores one row's cells of a run of columns into the buffers `self` (see ColumnBuffers.runReader). */
type RunReader = (self: ColumnBuffers, row: Record<string, unknown>, r: number) => void;

/**
 * What ChunkEncoder.encodeRowGroup reads: a row group's values column by column, as ColumnBuffers holds them. The
 * encoder thread (./encoder-thread.ts) receives them as a plain object of this shape (ColumnBuffers.snapshot).
 */
export interface RowGroupColumns {
  readonly columns: readonly ColumnSpec[];
  readonly kinds: Uint8Array;
  readonly groupOf: Int32Array;
  readonly statsIndex: Int32Array;
  readonly length: number;
  readonly groupPresent: readonly Uint8Array[];
  readonly groupRows: Int32Array;
  readonly stats: Float64Array;
  /** Distance between two stats columns in `stats` (column-major; see ColumnBuffers.stats). */
  readonly statsStride: number;
  readonly numbers: readonly Float64Array[];
  readonly textIndex: readonly Int32Array[];
  readonly textValues: readonly (readonly string[])[];
  readonly cells: readonly (readonly unknown[])[];
  readonly listLengths: readonly Int32Array[];
  readonly listValues: readonly Float64Array[];
  readonly listLevels: readonly Uint8Array[];
}

/** The values column `i` holds: one per row for top-level columns, one per row that has the group otherwise. */
function valueCount(b: RowGroupColumns, i: number): number {
  const g = b.groupOf[i]!;
  return g < 0 ? b.length : b.groupRows[g]!;
}

/** The row group values of ColumnBuffers.snapshot: what changes from row group to row group. */
export type ColumnsSnapshot = Omit<RowGroupColumns, 'columns' | 'kinds' | 'groupOf' | 'statsIndex'>;

/**
 * Generated run readers by source: every ColumnBuffers of a column layout (one per file job in a worker, one per
 * shard) uses the same function, so V8 compiles it once. They read the buffers from their `self` argument: a
 * function per instance closing over its arrays was compiled anew for each one (extract --threads 2 of a directory
 * of 16 captures compiled readRun 172 times, 2.5 s of V8's optimizing compiler, node --trace-opt).
 */
const RUN_READERS = new Map<string, RunReader>();

/**
 * Rows buffered column by column for one row group. Statistics: the row's stats vector copied whole into one
 * Float64Array, row after row (one copy per row instead of ~100 stores). Other numeric columns: a Float64Array each
 * (NaN = null). Text: dictionary indices; integer and float lists: their elements copied; string lists: the cells.
 * Top-level columns hold one value per row. A group's columns (tls, dns, ...: absent from most flows) hold values
 * only for the rows that have the group, packed, and `groupPresent` marks those rows: a row without the group costs
 * one store. Nothing is pre-filled with nulls: each row writes every slot it owns. A row is not referenced once
 * added (except the arrays of string lists), so it dies young.
 * Used by the Parquet writer and by parallel workers, which encode their row groups themselves (encodeRowGroup)
 * and hand the bytes to the main thread.
 */
export class ColumnBuffers implements RowGroupColumns {
  readonly columns: readonly ColumnSpec[];
  readonly kinds: Uint8Array;
  /** Per column: index of its group (groupPresent, groupRows), -1 for a top-level column. */
  readonly groupOf: Int32Array;
  /** Per group: 1 for the rows that have it, 0 for the others. */
  readonly groupPresent: Uint8Array[];
  /** Per group: the rows of the row group that have it, i.e. the values each of its columns holds. */
  readonly groupRows: Int32Array;
  /** Stats index of a column read from the stats vector, -1 otherwise. */
  readonly statsIndex: Int32Array;
  /**
   * The rows' stats vectors, column-major: stats column k of row r at k·statsStride + r; NaN = null. Row-major
   * (one copy of each vector) made the encoder read each column with a 792-byte stride through 26 MB: 28–34 ms
   * per 32768-row group against 7–16 ms contiguous, while storing column-major costs 6–10 ms instead of 2–5
   * (micro-benchmark, Node 20). The stride is padded past the capacity so the 99 columns a row writes do not all
   * fall in the same cache sets (a 2^n stride: 21–23 ms to store).
   */
  readonly stats: Float64Array;
  readonly statsStride: number;
  /** Per column: a Float64Array for numeric columns not in the stats vector (else empty). */
  readonly numbers: Float64Array[];
  /**
   * Text columns, dictionary-encoded as rows arrive: per value its entry (-1 = null), and the row group's distinct
   * strings in first-seen order (the order the dictionary page lists them). Only distinct strings are kept, not
   * every row's: cells kept until the row group was encoded outlived the young generation, and the collector
   * copied and promoted them (lab500: ~230 ms of garbage collection in extract -o x.parquet against a run
   * without output, node --cpu-prof).
   */
  readonly textIndex: Int32Array[];
  readonly textValues: string[][];
  private readonly textLookup: Map<string, number>[];
  /**
   * Per text column: the last string stored and its entry. Consecutive flows often repeat a value (addresses, end
   * reasons, versions); comparing with the last one is cheaper than hashing a new string for the Map.
   */
  private readonly lastText: (string | null)[];
  private readonly lastEntry: Int32Array;
  /**
   * Integer and float list columns, copied as rows arrive (for the same reason): per value its element count
   * (-1 = null list); the elements, coerced, with their definition level (2 = null element, 3 = value).
   */
  readonly listLengths: Int32Array[];
  listValues: Float64Array[];
  listLevels: Uint8Array[];
  /** Per list column: the elements stored so far. */
  readonly listUsed: Int32Array;
  /** Per column: cells of string list columns (else empty). */
  readonly cells: unknown[][];
  /** Every column's run, and (for rows with a stats vector) the runs without the columns copied from it. */
  private readonly allRuns: RunReader[];
  private readonly rowRuns: RunReader[];
  private readonly hasStats: boolean;
  length = 0;

  /**
   * `shared`: the typed arrays live in SharedArrayBuffers, so the encoder thread reads a snapshot of them without
   * a copy (the writer then leaves this buffer alone until its row group is encoded). Only then: the writer's
   * stores into shared arrays cost more (lab500, one thread, shared arrays forced: 0.1–0.3 s more main-thread CPU
   * in 4 interleaved runs). Transferring plain ArrayBuffers to the thread and back instead was slower still
   * (lab500 --threads 2: 2.39–3.10 s against 1.79–2.43 s, 4 interleaved pairs).
   */
  constructor(
    columns: readonly ColumnSpec[],
    readonly capacity: number,
    readonly shared = false,
  ) {
    this.columns = columns;
    const n = columns.length;
    this.kinds = new Uint8Array(n);
    this.groupOf = new Int32Array(n).fill(-1);
    this.statsIndex = new Int32Array(n).fill(-1);
    const groupNames: string[] = [];
    let hasStats = false;
    for (let i = 0; i < n; i++) {
      const c = columns[i]!;
      const kind = kindOf(c);
      this.kinds[i] = kind;
      if (c.group) {
        let g = groupNames.indexOf(c.group);
        if (g < 0) g = groupNames.push(c.group) - 1;
        this.groupOf[i] = g;
        continue;
      }
      const si = kind > K_BOOL ? undefined : STATS_INDEX.get(c.key);
      if (si !== undefined) {
        this.statsIndex[i] = si;
        hasStats = true;
      }
    }
    this.hasStats = hasStats;
    this.groupPresent = groupNames.map(() => new Uint8Array(this.memory(capacity)));
    this.groupRows = new Int32Array(groupNames.length);
    // Zero-filled on allocation; no slot is read before a row wrote it.
    this.statsStride = hasStats ? ((capacity + 7) & ~7) + 24 : 0;
    this.stats = new Float64Array(this.memory(8 * this.statsStride * K_STATS));
    this.numbers = columns.map(
      (_, i) => new Float64Array(this.memory(8 * (this.kinds[i]! <= K_BOOL && this.statsIndex[i]! < 0 ? capacity : 0))),
    );
    const kinds = this.kinds;
    this.textIndex = columns.map((_, i) => new Int32Array(this.memory(4 * (kinds[i] === K_STRING ? capacity : 0))));
    this.textValues = columns.map(() => []);
    this.textLookup = columns.map(() => new Map());
    this.lastText = columns.map(() => null);
    this.lastEntry = new Int32Array(n);
    const numberList = (i: number) => kinds[i] === K_INT_LIST || kinds[i] === K_FLOAT_LIST;
    this.listLengths = columns.map((_, i) => new Int32Array(this.memory(4 * (numberList(i) ? capacity : 0))));
    this.listValues = columns.map((_, i) => new Float64Array(this.memory(8 * (numberList(i) ? 1024 : 0))));
    this.listLevels = columns.map((_, i) => new Uint8Array(this.memory(numberList(i) ? 1024 : 0)));
    this.listUsed = new Int32Array(n);
    // Cells are stored at 0, 1, 2, ... (one per row, or per row having the group): the arrays grow packed.
    this.cells = columns.map(() => []);
    const runsOf = (keep: (i: number) => boolean): RunReader[] => {
      const runs: RunReader[] = [];
      for (let g = -1; g < groupNames.length; g++) {
        const cols: number[] = [];
        for (let i = 0; i < n; i++) if (this.groupOf[i] === g && keep(i)) cols.push(i);
        if (cols.length > 0) runs.push(this.runReader(g < 0 ? [] : groupNames[g]!.split('.'), g, cols));
      }
      return runs;
    };
    this.allRuns = runsOf(() => true);
    this.rowRuns = runsOf((i) => this.statsIndex[i]! < 0);
  }

  /** `bytes` of zeroed memory for a typed array: shared with the encoder thread when `shared`. */
  private memory(bytes: number): ArrayBuffer | SharedArrayBuffer {
    return this.shared && bytes > 0 ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  }

  /**
   * The buffered row group for the encoder thread (structured-cloned by postMessage: the typed arrays share this
   * buffer's memory when `shared`, the strings and string lists are copied).
   */
  snapshot(): ColumnsSnapshot {
    return {
      length: this.length,
      groupPresent: this.groupPresent,
      groupRows: this.groupRows.slice(),
      stats: this.stats,
      statsStride: this.statsStride,
      numbers: this.numbers,
      textIndex: this.textIndex,
      textValues: this.textValues,
      cells: this.cells,
      listLengths: this.listLengths,
      listValues: this.listValues,
      listLevels: this.listLevels,
    };
  }

  /**
   * A function storing one row's cells of `cols`, the columns of group `g` (path: its nesting, as setColumn writes
   * it; -1 and [] for top-level columns). Each group name and column key is written into the source as a literal,
   * so every property load has an inline cache of its own that sees only that group's object shapes; one loop over
   * the keys (`obj[keys[i]]`) made a single megamorphic load site instead (lab500, node --cpu-prof: that line was
   * ~40 % of add). The source is generated from the column list, names quoted with JSON.stringify, never from packet
   * data; the coercions are the ones the writer documents (a group is looked up as lookupGroup in ./columns.ts
   * does; numbers: a boolean is 0/1, anything else not a number is null).
   */
  private runReader(path: string[], g: number, cols: number[]): RunReader {
    const lines: string[] = [];
    if (g >= 0) {
      // Most flows carry no tls/quic/dns/http/ssh group: a 0 in its presence row, nothing else.
      lines.push(`const present = self.groupPresent[${g}];`, 'let obj = row;');
      for (const part of path)
        lines.push(
          `obj = obj[${JSON.stringify(part)}];`,
          `if (obj === null || typeof obj !== 'object') { present[r] = 0; return; }`,
        );
      lines.push(
        'present[r] = 1;',
        'const groupRows = self.groupRows;',
        `const at = groupRows[${g}];`,
        `groupRows[${g}] = at + 1;`,
      );
    } else lines.push('const obj = row;', 'const at = r;');
    lines.push(
      'const stats = self.stats;',
      'const stride = self.statsStride;',
      'const numbers = self.numbers;',
      'const cells = self.cells;',
      'let v;',
    );
    for (const i of cols) {
      const kind = this.kinds[i]!;
      const si = this.statsIndex[i]!;
      lines.push(`v = obj[${JSON.stringify(this.columns[i]!.key)}];`);
      if (kind <= K_BOOL) {
        const target = si >= 0 ? `stats[${si} * stride + at]` : `numbers[${i}][at]`;
        const number = kind === K_BOOL ? 'NaN' : `typeof v === 'number' ? v : NaN`;
        lines.push(`${target} = typeof v === 'boolean' ? +v : ${number};`);
      } else if (kind === K_STRING) lines.push(`self.addText(${i}, at, v);`);
      else if (kind === K_STRING_LIST) lines.push(`cells[${i}][at] = Array.isArray(v) ? v : null;`);
      else lines.push(`self.addNumberList(${i}, at, v);`);
    }
    const source = `return function readRun(self, row, r) {\n  ${lines.join('\n  ')}\n};`;
    let reader = RUN_READERS.get(source);
    if (reader === undefined) {
      reader = new Function(source)() as RunReader;
      RUN_READERS.set(source, reader);
    }
    return reader;
  }

  /** Text column `i`, value `at`: its dictionary entry (stringValue's coercion; null and undefined are null). */
  addText(i: number, at: number, v: unknown): void {
    const s = stringValue(v);
    if (s === null) {
      this.textIndex[i]![at] = -1;
      return;
    }
    if (s === this.lastText[i]) {
      this.textIndex[i]![at] = this.lastEntry[i]!;
      return;
    }
    const lookup = this.textLookup[i]!;
    let e = lookup.get(s);
    if (e === undefined) {
      e = lookup.size;
      lookup.set(s, e);
      this.textValues[i]!.push(s);
    }
    this.textIndex[i]![at] = e;
    this.lastText[i] = s;
    this.lastEntry[i] = e;
  }

  /**
   * Integer or float list column `i`, value `at`: anything but an array is a null list; elements are coerced as
   * the Arrow writer did: int lists keep finite numbers (truncated, −0 as 0), float lists any number (NaN is a
   * value); other elements are null.
   */
  addNumberList(i: number, at: number, v: unknown): void {
    if (!Array.isArray(v)) {
      this.listLengths[i]![at] = -1;
      return;
    }
    const n = v.length;
    this.listLengths[i]![at] = n;
    const used = this.listUsed[i]!;
    if (used + n > this.listValues[i]!.length) {
      const size = Math.max(2 * this.listValues[i]!.length, used + n);
      const values = new Float64Array(this.memory(8 * size));
      values.set(this.listValues[i]!.subarray(0, used));
      this.listValues[i] = values;
      const levels = new Uint8Array(this.memory(size));
      levels.set(this.listLevels[i]!.subarray(0, used));
      this.listLevels[i] = levels;
    }
    const values = this.listValues[i]!;
    const levels = this.listLevels[i]!;
    const ints = this.kinds[i] === K_INT_LIST;
    for (let j = 0; j < n; j++) {
      const x: unknown = v[j];
      if (typeof x === 'number' && (!ints || x - x === 0)) {
        const t = ints ? Math.trunc(x) : x;
        values[used + j] = ints && t === 0 ? 0 : t;
        levels[used + j] = 3;
      } else levels[used + j] = 2;
    }
    this.listUsed[i] = used + n;
  }

  /** Buffer one row; the caller encodes before `capacity` rows are exceeded. */
  add(row: Record<string, unknown>): void {
    const r = this.length++;
    const vec = this.hasStats ? statsVector(row) : undefined;
    // With a stats vector, its columns are one copy and only the other columns are visited.
    const runs = vec !== undefined ? this.rowRuns : this.allRuns;
    if (vec !== undefined) {
      const stats = this.stats;
      const stride = this.statsStride;
      for (let k = 0, at = r; k < K_STATS; k++, at += stride) stats[at] = vec[k]!;
    }
    for (let g = 0; g < runs.length; g++) runs[g]!(this, row, r);
  }

  /** Values column `i` holds: one per row for top-level columns, one per row that has the group otherwise. */
  valueCount(i: number): number {
    return valueCount(this, i);
  }

  /** Empty the buffers after their rows were encoded (letting go of their strings and lists). */
  clear(): void {
    for (let i = 0; i < this.cells.length; i++) {
      const c = this.cells[i]!;
      if (c.length > 0) c.fill(null, 0, this.valueCount(i));
      if (this.kinds[i] === K_STRING) {
        this.textLookup[i]!.clear();
        this.textValues[i]!.length = 0;
        this.lastText[i] = null;
      }
    }
    this.listUsed.fill(0);
    this.groupRows.fill(0);
    this.length = 0;
  }
}

/**
 * A copy of an encoded row group with an ArrayBuffer of its own, to transfer to another thread: the encoder's
 * buffer is reused for the next row group (and a Node Buffer's slice() would share it, not copy it).
 */
export function ownedRowGroup(g: EncodedRowGroup): EncodedRowGroup {
  return { rows: g.rows, bytes: new Uint8Array(g.bytes), chunks: g.chunks };
}

/** One encoded column chunk; offsets are relative to the start of its row group's bytes. */
export interface ChunkMeta {
  /** Dictionary page offset, -1 when none. */
  dictOffset: number;
  dataOffset: number;
  /** Bytes from the first page to the end of the chunk (headers included). */
  compressedSize: number;
  uncompressedSize: number;
  /** Level entries (rows, or list elements plus null/empty lists). */
  numValues: number;
  codec: number;
  encodings: number[];
  nullCount: number;
  /** PLAIN-encoded bounds (INT64/DOUBLE), null when not written. */
  min: Uint8Array | null;
  max: Uint8Array | null;
  /** DOUBLE columns: NaN values counted; -1 for other types. */
  nanCount: number;
}

/** A row group as bytes plus the metadata of its column chunks (null for a column encoded elsewhere). */
export interface EncodedRowGroup {
  rows: number;
  bytes: Uint8Array;
  chunks: (ChunkMeta | null)[];
}

/**
 * Encodes column chunks. Scratch arrays (levels, values, dictionary hash table) are kept and grown, so a run
 * allocates them a few times, not per chunk.
 */
export class ChunkEncoder {
  /** The codec chunks are compressed with, when that makes them smaller (CODEC_UNCOMPRESSED: never). */
  private readonly codec: number;
  private defs = new Int32Array(0);
  private reps = new Int32Array(0);
  private vals = new Float64Array(0);
  private valsU32 = new Uint32Array(0);
  private strs: string[] = [];
  private idx = new Int32Array(0);
  /** At least one entry: a single-valued integer chunk writes dictVals[0] without the dictionary builders. */
  private dictVals = new Float64Array(64);
  /** presentRows: the rows of the presence array `rowsOf` over `rowsLen` rows. */
  private rows = new Int32Array(0);
  private rowsOf: Uint8Array | null = null;
  private rowsLen = 0;
  private dictU32 = new Uint32Array(this.dictVals.buffer);
  private stamp = new Int32Array(0);
  private slot = new Int32Array(0);
  private gen = 0;
  /** Integer chunks: the least and greatest value gathered (a small range takes the direct dictionary). */
  private intLo = 0;
  private intHi = 0;
  private direct = new Int32Array(0);
  private directStamp = new Int32Array(0);
  private readonly strMap = new Map<string, number>();
  /** A text chunk's dictionary, built as its rows arrived (ColumnBuffers.addText); null for string lists. */
  private textDictionary: readonly string[] | null = null;
  private readonly dictPage = new ByteSink();
  private readonly dataPage = new ByteSink();
  private readonly header = new ByteSink(256);
  /** The row group being built. */
  readonly out = new ByteSink(1 << 20);

  constructor(compression: ParquetCompression = 'gzip') {
    this.codec = compression === 'gzip' ? CODEC_GZIP : compression === 'brotli' ? CODEC_BROTLI : CODEC_UNCOMPRESSED;
  }

  private ensureLevels(n: number): void {
    if (this.defs.length >= n) return;
    const size = Math.max(n, this.defs.length * 2, 1024);
    this.defs = new Int32Array(size);
    this.reps = new Int32Array(size);
  }

  private ensureValues(n: number): void {
    if (this.vals.length >= n) return;
    const size = Math.max(n, this.vals.length * 2, 1024);
    this.vals = new Float64Array(size);
    this.valsU32 = new Uint32Array(this.vals.buffer);
    this.idx = new Int32Array(size);
  }

  /** Encode every column of the buffered rows (except `skip`) into one row group; `out` holds its bytes. */
  encodeRowGroup(b: RowGroupColumns, skip = -1): EncodedRowGroup {
    this.out.reset();
    // The presence arrays are reused from row group to row group: list their rows afresh.
    this.rowsOf = null;
    const len = b.length;
    const chunks: (ChunkMeta | null)[] = [];
    for (let i = 0; i < b.columns.length; i++) {
      if (i === skip) {
        chunks.push(null);
        continue;
      }
      const kind = b.kinds[i]!;
      const g = b.groupOf[i]!;
      const count = valueCount(b, i);
      // Presence matters only when some rows lack the group.
      const present = g >= 0 && count < len ? b.groupPresent[g]! : null;
      if (kind <= K_BOOL) {
        const si = b.statsIndex[i]!;
        if (si >= 0) chunks.push(this.numberChunk(kind, b.stats, si * b.statsStride, len, null, len));
        else chunks.push(this.numberChunk(kind, b.numbers[i]!, 0, len, present, count));
      } else if (kind === K_STRING) chunks.push(this.stringChunk(b, i, len, present));
      else if (kind === K_STRING_LIST) chunks.push(this.listChunk(b.cells[i]!, len, present, count));
      else chunks.push(this.numberListChunk(b, i, len, present, count));
    }
    return { rows: len, bytes: this.out.view(), chunks };
  }

  /** One INT64 column chunk from numbers (flow ids assigned by the parallel merge), as a row group of its own. */
  encodeInt64Column(values: Float64Array): EncodedRowGroup {
    this.out.reset();
    const chunk = this.numberChunk(K_INT, values, 0, values.length, null, values.length);
    return { rows: values.length, bytes: this.out.view(), chunks: [chunk] };
  }

  /**
   * A scalar numeric column of `len` rows, NaN = null: its `count` values are `src[off + k]`, one per row,
   * or with `present`, one per row marked present (the other rows are null).
   */
  private numberChunk(
    kind: number,
    src: Float64Array,
    off: number,
    len: number,
    present: Uint8Array | null,
    count: number,
  ): ChunkMeta {
    this.ensureLevels(len);
    this.ensureValues(len);
    const defs = this.defs;
    const vals = this.vals;
    let nn = 0;
    let p = off;
    if (count === 0) defs.fill(0, 0, len);
    else if (present !== null) nn = this.presentNumbers(kind, src, off, len, present, count);
    else if (kind === K_INT) {
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      for (let r = 0; r < len; r++) {
        const x = src[p]!;
        p++;
        // x − x is 0 only for finite x: NaN (null) and ±Infinity (no Int64 value) are null.
        if (x - x === 0) {
          const t = Math.trunc(x);
          vals[nn++] = t === 0 ? 0 : t; // −0 is 0 as an integer
          if (t < lo) lo = t;
          if (t > hi) hi = t;
          defs[r] = 1;
        } else defs[r] = 0;
      }
      this.intLo = lo;
      this.intHi = hi;
    } else if (kind === K_FLOAT) {
      for (let r = 0; r < len; r++) {
        const x = src[p]!;
        p++;
        if (!Number.isNaN(x)) {
          vals[nn++] = x;
          defs[r] = 1;
        } else defs[r] = 0;
      }
    } else {
      for (let r = 0; r < len; r++) {
        const x = src[p]!;
        p++;
        if (!Number.isNaN(x)) {
          vals[nn++] = x === 1 ? 1 : 0;
          defs[r] = 1;
        } else defs[r] = 0;
      }
    }
    return this.finishChunk(kind, 0, 1, len, nn, len - nn);
  }

  /**
   * The rows marked in `present` (a group's presence, shared by its columns), listed once per group and row group:
   * a group's columns then visit only its rows. Visiting every row of every group column (mostly rows without the
   * group: TLS, DNS, HTTP, SSH, QUIC are rare) was the writer's largest cost (lab500, node --cpu-prof).
   */
  private presentRows(present: Uint8Array, len: number): Int32Array {
    if (present === this.rowsOf && len === this.rowsLen) return this.rows;
    if (this.rows.length < len) this.rows = new Int32Array(Math.max(len, 2 * this.rows.length));
    const rows = this.rows;
    let q = 0;
    for (let r = 0; r < len; r++) if (present[r] !== 0) rows[q++] = r;
    this.rowsOf = present;
    this.rowsLen = len;
    return rows;
  }

  /** numberChunk's gathering for a group column: `count` values, one per row marked present; the others null. */
  private presentNumbers(
    kind: number,
    src: Float64Array,
    off: number,
    len: number,
    present: Uint8Array,
    count: number,
  ): number {
    const rows = this.presentRows(present, len);
    const defs = this.defs;
    const vals = this.vals;
    defs.fill(0, 0, len);
    let nn = 0;
    let p = off;
    if (kind === K_INT) {
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      for (let q = 0; q < count; q++, p++) {
        const x = src[p]!;
        if (x - x === 0) {
          const t = Math.trunc(x);
          vals[nn++] = t === 0 ? 0 : t;
          if (t < lo) lo = t;
          if (t > hi) hi = t;
          defs[rows[q]!] = 1;
        }
      }
      this.intLo = lo;
      this.intHi = hi;
    } else {
      for (let q = 0; q < count; q++, p++) {
        const x = src[p]!;
        if (!Number.isNaN(x)) {
          vals[nn++] = kind === K_FLOAT ? x : x === 1 ? 1 : 0;
          defs[rows[q]!] = 1;
        }
      }
    }
    return nn;
  }

  /** Text column `i`: its dictionary indices, one per row or, with `present`, per row marked present. */
  private stringChunk(b: RowGroupColumns, i: number, len: number, present: Uint8Array | null): ChunkMeta {
    this.ensureLevels(len);
    this.ensureValues(len);
    const defs = this.defs;
    const idx = this.idx;
    const index = b.textIndex[i]!;
    let nn = 0;
    if (present !== null) {
      const rows = this.presentRows(present, len);
      const count = valueCount(b, i);
      defs.fill(0, 0, len);
      for (let q = 0; q < count; q++) {
        const e = index[q]!;
        if (e >= 0) {
          defs[rows[q]!] = 1;
          idx[nn++] = e;
        }
      }
    } else {
      for (let r = 0; r < len; r++) {
        const e = index[r]!;
        if (e < 0) defs[r] = 0;
        else {
          defs[r] = 1;
          idx[nn++] = e;
        }
      }
    }
    this.textDictionary = b.textValues[i]!;
    return this.finishChunk(K_STRING, 0, 1, len, nn, len - nn);
  }

  /** An integer or float list column from its copied elements (ColumnBuffers.addNumberList); levels as listChunk. */
  private numberListChunk(
    b: RowGroupColumns,
    i: number,
    len: number,
    present: Uint8Array | null,
    count: number,
  ): ChunkMeta {
    const kind = b.kinds[i]!;
    const lengths = b.listLengths[i]!;
    const elements = b.listValues[i]!;
    const levels = b.listLevels[i]!;
    // Rows without the group: a null list each; a null or empty list: one entry.
    let entries = len - count;
    for (let q = 0; q < count; q++) entries += Math.max(lengths[q]!, 1);
    this.ensureLevels(entries);
    this.ensureValues(entries);
    const defs = this.defs;
    const reps = this.reps;
    const vals = this.vals;
    let k = 0;
    let e = 0;
    let nn = 0;
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    let q = 0;
    for (let r = 0; r < len; r++) {
      const n = present !== null && present[r] === 0 ? -1 : lengths[q++]!;
      if (n <= 0) {
        reps[k] = 0;
        defs[k++] = n < 0 ? 0 : 1;
        continue;
      }
      for (let j = 0; j < n; j++, k++, e++) {
        reps[k] = j === 0 ? 0 : 1;
        const d = levels[e]!;
        defs[k] = d;
        if (d === 3) {
          const x = elements[e]!;
          vals[nn++] = x;
          if (x < lo) lo = x;
          if (x > hi) hi = x;
        }
      }
    }
    this.intLo = lo;
    this.intHi = hi;
    return this.finishChunk(kind, 1, 3, entries, nn, entries - nn);
  }

  /**
   * A string list column (Parquet LogicalTypes.md, "Lists"): per row, a null list is one entry (rep 0, def 0), an
   * empty list one entry (rep 0, def 1), else one entry per element (rep 0 for the first, 1 after; def 2 for a null
   * element, 3 for a value). Elements are coerced as the Arrow writer did: strings stay, other values as JSON.
   * Integer and float lists: numberListChunk.
   */
  private listChunk(cells: readonly unknown[], len: number, present: Uint8Array | null, count: number): ChunkMeta {
    // Rows without the group: a null list each.
    let entries = len - count;
    for (let q = 0; q < count; q++) {
      const l = cells[q];
      entries += Array.isArray(l) && l.length > 0 ? l.length : 1;
    }
    this.ensureLevels(entries);
    const defs = this.defs;
    const reps = this.reps;
    const strs = this.strs;
    let k = 0;
    let nn = 0;
    let q = 0;
    for (let r = 0; r < len; r++) {
      const l = present !== null && present[r] === 0 ? null : cells[q++];
      if (!Array.isArray(l)) {
        reps[k] = 0;
        defs[k++] = 0;
        continue;
      }
      if (l.length === 0) {
        reps[k] = 0;
        defs[k++] = 1;
        continue;
      }
      for (let j = 0; j < l.length; j++, k++) {
        reps[k] = j === 0 ? 0 : 1;
        const x: unknown = l[j];
        // JSON.stringify(undefined) is undefined: a null element, as the Arrow writer stored it.
        const s = typeof x === 'string' ? x : (JSON.stringify(x) as string | undefined);
        if (s === undefined) defs[k] = 2;
        else {
          strs[nn++] = s;
          defs[k] = 3;
        }
      }
    }
    return this.finishChunk(K_STRING_LIST, 1, 3, entries, nn, entries - nn);
  }

  /**
   * Dictionary-encode vals[0, nn) by their bits (−0 and 0, and NaN payloads, stay distinct): idx gets each value's
   * entry, dictVals the entries. Gives up (returns -1) past `limit` entries.
   */
  private numberDictionary(nn: number, limit: number): number {
    let tableSize = 64;
    while (tableSize < limit * 2) tableSize *= 2;
    if (this.stamp.length < tableSize) {
      this.stamp = new Int32Array(tableSize);
      this.slot = new Int32Array(tableSize);
    }
    if (this.dictVals.length < limit + 1) {
      this.dictVals = new Float64Array(Math.max(limit + 1, this.dictVals.length * 2));
      this.dictU32 = new Uint32Array(this.dictVals.buffer);
    }
    const gen = ++this.gen;
    const mask = tableSize - 1;
    const stamp = this.stamp;
    const slot = this.slot;
    const u = this.valsU32;
    const d = this.dictU32;
    const idx = this.idx;
    let size = 0;
    for (let k = 0; k < nn; k++) {
      const lo = u[2 * k]!;
      const hi = u[2 * k + 1]!;
      let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
      h = (h ^ (h >>> 15)) & mask;
      for (;;) {
        if (stamp[h] !== gen) {
          if (size === limit) return -1;
          stamp[h] = gen;
          slot[h] = size;
          d[2 * size] = lo;
          d[2 * size + 1] = hi;
          idx[k] = size++;
          break;
        }
        const e = slot[h]!;
        if (d[2 * e] === lo && d[2 * e + 1] === hi) {
          idx[k] = e;
          break;
        }
        h = (h + 1) & mask;
      }
    }
    return size;
  }

  /**
   * numberDictionary for integers within DIRECT_RANGE of intLo (counts, flags, sizes, ports): the entry of a value
   * is found by indexing with value − intLo instead of hashing its bits (lab500 capture: about half of
   * numberDictionary's time, node --cpu-prof).
   */
  private smallIntDictionary(nn: number, limit: number): number {
    if (this.direct.length === 0) {
      this.direct = new Int32Array(DIRECT_RANGE);
      this.directStamp = new Int32Array(DIRECT_RANGE);
    }
    if (this.dictVals.length < limit + 1) {
      this.dictVals = new Float64Array(Math.max(limit + 1, this.dictVals.length * 2));
      this.dictU32 = new Uint32Array(this.dictVals.buffer);
    }
    const gen = ++this.gen;
    const lo = this.intLo;
    const direct = this.direct;
    const stamp = this.directStamp;
    const vals = this.vals;
    const dict = this.dictVals;
    const idx = this.idx;
    let size = 0;
    for (let k = 0; k < nn; k++) {
      const v = vals[k]!;
      const at = v - lo;
      if (stamp[at] !== gen) {
        if (size === limit) return -1;
        stamp[at] = gen;
        direct[at] = size;
        dict[size] = v;
        idx[k] = size++;
      } else idx[k] = direct[at]!;
    }
    return size;
  }

  /**
   * Levels are in defs (and reps for lists), values in vals or strs; write the chunk's pages into `out`.
   * maxRep/maxDef: 0/1 for scalar columns, 1/3 for lists.
   */
  private finishChunk(
    kind: number,
    maxRep: number,
    maxDef: number,
    entries: number,
    nn: number,
    nullCount: number,
  ): ChunkMeta {
    const type = physicalType(kind);
    const data = this.dataPage;
    const dict = this.dictPage;
    data.reset();
    dict.reset();
    if (maxRep > 0) levelRun(data, this.reps, entries, 1);
    // A scalar column with no null or only nulls: its levels are one run, written without scanning them.
    if (maxRep === 0 && (nn === entries || nn === 0) && entries >= 8) constantLevelRun(data, nn === 0 ? 0 : 1, entries);
    else levelRun(data, this.defs, entries, maxDef === 1 ? 1 : 2);
    let dictSize = -1;
    let min: Uint8Array | null = null;
    let max: Uint8Array | null = null;
    let nanCount = type === TYPE_DOUBLE ? 0 : -1;
    /** Every value equals the dictionary's single entry (idx is not filled). */
    let constant = false;
    const textDictionary = this.textDictionary;
    this.textDictionary = null;
    if (nn > 0 && textDictionary !== null) {
      // Text: always a dictionary (flow columns repeat: addresses, names, versions, fingerprints); idx is filled.
      for (let k = 0; k < textDictionary.length; k++) {
        const at = dict.pos;
        dict.u32le(0);
        dict.setU32le(at, dict.utf8(textDictionary[k]!));
      }
      dictSize = textDictionary.length;
    } else if (nn > 0 && type === TYPE_BYTE_ARRAY) {
      // String lists: the same, from their elements.
      const map = this.strMap;
      map.clear();
      const strs = this.strs;
      if (this.idx.length < nn) this.idx = new Int32Array(nn);
      const idx = this.idx;
      for (let k = 0; k < nn; k++) {
        const s = strs[k]!;
        let e = map.get(s);
        if (e === undefined) {
          e = map.size;
          map.set(s, e);
          const at = dict.pos;
          dict.u32le(0);
          dict.setU32le(at, dict.utf8(s));
        }
        idx[k] = e;
      }
      dictSize = map.size;
      map.clear();
      strs.length = 0;
    } else if (nn > 0 && type !== TYPE_BOOLEAN) {
      // Numbers: a dictionary unless more than half the values are distinct (times, ids, rates), then PLAIN.
      const limit = Math.max(16, nn >> 1);
      if (type === TYPE_INT64 && this.intLo === this.intHi) {
        // One value (a constant count, a flag never set): one entry, every index 0.
        dictSize = 1;
        this.dictVals[0] = this.intLo;
        constant = true;
      } else
        dictSize =
          type === TYPE_INT64 && this.intHi - this.intLo < DIRECT_RANGE
            ? this.smallIntDictionary(nn, limit)
            : this.numberDictionary(nn, limit);
      const src = dictSize >= 0 ? this.dictVals : this.vals;
      const count = dictSize >= 0 ? dictSize : nn;
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      for (let k = 0; k < count; k++) {
        const x = src[k]!;
        if (Number.isNaN(x)) nanCount++;
        else {
          if (x < lo) lo = x;
          if (x > hi) hi = x;
        }
      }
      if (dictSize >= 0 && nanCount > 0) {
        // NaN entries counted once each in the dictionary: count the values instead.
        nanCount = 0;
        for (let k = 0; k < nn; k++) if (Number.isNaN(this.vals[k]!)) nanCount++;
      }
      const target = dictSize >= 0 ? dict : data;
      if (type === TYPE_INT64) target.i64leArray(src, count);
      else if (LITTLE_ENDIAN) target.bytes(new Uint8Array(src.buffer, 0, count * 8));
      else for (let k = 0; k < count; k++) target.f64le(src[k]!);
      if (lo <= hi) {
        // Parquet's float ordering: a zero minimum is written as −0, a zero maximum as +0.
        min = plainBound(type, lo === 0 ? -0 : lo);
        max = plainBound(type, hi === 0 ? 0 : hi);
      }
    } else if (nn > 0) {
      // BOOLEAN, PLAIN: one bit per value, least significant bit first.
      data.ensure((nn + 7) >> 3);
      const vals = this.vals;
      for (let k = 0; k < nn; k += 8) {
        let byte = 0;
        for (let b = 0; b < 8 && k + b < nn; b++) if (vals[k + b] === 1) byte |= 1 << b;
        data.u8(byte);
      }
    }
    if (dictSize >= 0) {
      // RLE_DICTIONARY data: the bit width in one byte, then the indices in the hybrid encoding.
      const width = Math.max(1, 32 - Math.clz32(dictSize - 1));
      data.u8(width);
      if (!constant) rleHybrid(data, this.idx, nn, width);
      else if (nn >= 8) {
        // What rleHybrid writes for nn zeros: one RLE run.
        data.varint(nn * 2);
        data.u8(0);
      } else rleHybrid(data, this.idx.fill(0, 0, nn), nn, width);
    }
    const out = this.out;
    const start = out.pos;
    const raw = dict.pos + data.pos;
    let dictBody: Uint8Array = dict.buf.subarray(0, dict.pos);
    let dataBody: Uint8Array = data.buf.subarray(0, data.pos);
    let codec = CODEC_UNCOMPRESSED;
    if (raw >= COMPRESS_MIN_BYTES && this.codec !== CODEC_UNCOMPRESSED) {
      const zd = dictSize >= 0 ? compress(this.codec, dictBody) : dictBody;
      const zv = compress(this.codec, dataBody);
      if (zd.length + zv.length < raw) {
        dictBody = zd;
        dataBody = zv;
        codec = this.codec;
      }
    }
    let uncompressed = 0;
    let dictOffset = -1;
    if (dictSize >= 0) {
      dictOffset = start;
      uncompressed += this.pageHeader(PAGE_DICTIONARY, dict.pos, dictBody.length, dictSize, ENC_PLAIN);
      out.bytes(dictBody);
      uncompressed += dict.pos;
    }
    const dataOffset = out.pos;
    const encoding = dictSize >= 0 ? ENC_RLE_DICTIONARY : ENC_PLAIN;
    uncompressed += this.pageHeader(PAGE_DATA, data.pos, dataBody.length, entries, encoding);
    out.bytes(dataBody);
    uncompressed += data.pos;
    return {
      dictOffset,
      dataOffset,
      compressedSize: out.pos - start,
      uncompressedSize: uncompressed,
      numValues: entries,
      codec,
      encodings: dictSize >= 0 ? [ENC_PLAIN, ENC_RLE, ENC_RLE_DICTIONARY] : [ENC_PLAIN, ENC_RLE],
      nullCount,
      min,
      max,
      nanCount,
    };
  }

  /** Write a PageHeader into `out`; returns its size. */
  private pageHeader(type: number, rawSize: number, storedSize: number, values: number, encoding: number): number {
    const h = this.header;
    h.reset();
    h.structBegin(0);
    h.i32(1, type);
    h.i32(2, rawSize);
    h.i32(3, storedSize);
    if (type === PAGE_DATA) {
      h.structBegin(5);
      h.i32(1, values);
      h.i32(2, encoding);
      h.i32(3, ENC_RLE);
      h.i32(4, ENC_RLE);
      h.structEnd();
    } else {
      h.structBegin(7);
      h.i32(1, values);
      h.i32(2, encoding);
      h.bool(3, false);
      h.structEnd();
    }
    h.structEnd();
    this.out.bytes(h.buf.subarray(0, h.pos));
    return h.pos;
  }
}

function plainBound(type: number, x: number): Uint8Array {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  if (type === TYPE_INT64) {
    v.setUint32(0, x >>> 0, true);
    v.setInt32(4, Math.floor(x / TWO_POW_32) | 0, true);
  } else v.setFloat64(0, x, true);
  return b;
}

/** Levels of a data page v1: a 4-byte little-endian length, then the hybrid encoding. */
function levelRun(out: ByteSink, levels: Int32Array, n: number, width: number): void {
  const at = out.pos;
  out.u32le(0);
  rleHybrid(out, levels, n, width);
  out.setU32le(at, out.pos - at - 4);
}

/** Levels that are all `value` (0 or 1, `n` ≥ 8): the bytes levelRun writes for them, one RLE run. */
function constantLevelRun(out: ByteSink, value: number, n: number): void {
  const at = out.pos;
  out.u32le(0);
  out.varint(n * 2);
  out.u8(value);
  out.setU32le(at, out.pos - at - 4);
}

/**
 * The RLE / bit-packing hybrid (Encodings.md): a run of ≥ 8 equal values becomes an RLE run (varint count << 1,
 * then the value in ⌈width/8⌉ bytes), everything else bit-packed runs of groups of 8 (varint groups << 1 | 1,
 * values least significant bit first); a bit-packed run holds at most 63 groups, as parquet-mr writes them.
 * Only the last group of the data is padded. `width` ≤ 24.
 */
export function rleHybrid(out: ByteSink, vals: Int32Array, n: number, width: number): void {
  const valueBytes = (width + 7) >> 3;
  let packStart = 0;
  let i = 0;
  while (i < n) {
    const v = vals[i]!;
    let j = i + 1;
    while (j < n && vals[j] === v) j++;
    const pending = i - packStart;
    const pad = (8 - (pending & 7)) & 7;
    if (j - i - pad >= 8) {
      if (pending + pad > 0) bitPacked(out, vals, packStart, pending + pad, width);
      out.varint((j - i - pad) * 2);
      for (let b = 0; b < valueBytes; b++) out.u8((v >>> (8 * b)) & 255);
      packStart = j;
    }
    i = j;
    while (i - packStart >= 504) {
      bitPacked(out, vals, packStart, 504, width);
      packStart += 504;
    }
  }
  if (i > packStart) bitPacked(out, vals, packStart, i - packStart, width);
}

/** Bit-pack `count` values from `start` (padded with zeros to a multiple of 8). */
function bitPacked(out: ByteSink, vals: Int32Array, start: number, count: number, width: number): void {
  const groups = (count + 7) >> 3;
  out.varint(groups * 2 + 1);
  out.ensure(groups * width);
  const buf = out.buf;
  let pos = out.pos;
  let acc = 0;
  let bits = 0;
  const end = start + count;
  for (let k = start, stop = start + groups * 8; k < stop; k++) {
    acc |= (k < end ? vals[k]! : 0) << bits;
    bits += width;
    while (bits >= 8) {
      buf[pos++] = acc & 255;
      acc >>>= 8;
      bits -= 8;
    }
  }
  out.pos = pos;
}

/** A Parquet file on a file descriptor: "PAR1", row groups as they come, the footer at finish(). */
export class ParquetFileWriter {
  private offset = 0;
  private readonly groups: { rows: number; offset: number; chunks: ChunkMeta[] }[] = [];
  private rows = 0;

  constructor(
    private readonly fd: number,
    readonly columns: readonly ColumnSpec[],
  ) {
    this.write(Buffer.from('PAR1'));
  }

  private write(b: Uint8Array): void {
    let chunk = b;
    while (chunk.length > 0) chunk = chunk.subarray(writeSync(this.fd, chunk));
    this.offset += b.length;
  }

  /**
   * Write a row group. `fill`, when given, is a one-column row group (encodeInt64Column) for the column `group`
   * skipped, e.g. the flow ids the parallel merge assigned to a worker's row group.
   */
  writeRowGroup(group: EncodedRowGroup, fill?: { column: number; part: EncodedRowGroup }): void {
    if (group.rows === 0) return;
    const start = this.offset;
    this.write(group.bytes);
    const fillBase = this.offset;
    if (fill) this.write(fill.part.bytes);
    const chunks: ChunkMeta[] = [];
    for (let c = 0; c < this.columns.length; c++) {
      const fromFill = fill !== undefined && c === fill.column;
      const m = fromFill ? fill.part.chunks[0] : group.chunks[c];
      if (!m) throw new Error(`parquet: no chunk for column ${flatName(this.columns[c]!)}`);
      const base = fromFill ? fillBase : start;
      chunks.push({ ...m, dictOffset: m.dictOffset >= 0 ? m.dictOffset + base : -1, dataOffset: m.dataOffset + base });
    }
    this.groups.push({ rows: group.rows, offset: start, chunks });
    this.rows += group.rows;
  }

  /** Write the footer (FileMetaData) and the trailing length and magic. */
  finish(): void {
    const t = new ByteSink(1 << 16);
    const cols = this.columns;
    const kinds = cols.map(kindOf);
    t.structBegin(0);
    t.i32(1, 1);
    // Schema: the root, then each column depth first (a list column is three elements).
    let elements = 1;
    for (const k of kinds) elements += isList(k) ? 3 : 1;
    t.listBegin(2, T_STRUCT, elements);
    t.structBegin(0);
    t.string(4, 'schema');
    t.i32(5, cols.length);
    t.structEnd();
    for (let c = 0; c < cols.length; c++) {
      const kind = kinds[c]!;
      const name = flatName(cols[c]!);
      if (isList(kind)) {
        t.structBegin(0);
        t.i32(3, REP_OPTIONAL);
        t.string(4, name);
        t.i32(5, 1);
        t.i32(6, CONVERTED_LIST);
        t.structBegin(10);
        t.structBegin(3);
        t.structEnd();
        t.structEnd();
        t.structEnd();
        t.structBegin(0);
        t.i32(3, REP_REPEATED);
        t.string(4, 'list');
        t.i32(5, 1);
        t.structEnd();
      }
      t.structBegin(0);
      t.i32(1, physicalType(kind));
      t.i32(3, REP_OPTIONAL);
      t.string(4, isList(kind) ? 'item' : name);
      if (physicalType(kind) === TYPE_BYTE_ARRAY) {
        t.i32(6, CONVERTED_UTF8);
        t.structBegin(10);
        t.structBegin(1);
        t.structEnd();
        t.structEnd();
      }
      t.structEnd();
    }
    t.i64(3, this.rows);
    t.listBegin(4, T_STRUCT, this.groups.length);
    for (const g of this.groups) {
      t.structBegin(0);
      t.listBegin(1, T_STRUCT, g.chunks.length);
      let total = 0;
      let totalCompressed = 0;
      for (let c = 0; c < g.chunks.length; c++) {
        const m = g.chunks[c]!;
        const kind = kinds[c]!;
        const name = flatName(cols[c]!);
        total += m.uncompressedSize;
        totalCompressed += m.compressedSize;
        t.structBegin(0);
        t.i64(2, 0); // file_offset: deprecated, 0 when no ColumnMetaData is written outside the footer
        t.structBegin(3);
        t.i32(1, physicalType(kind));
        t.listBegin(2, T_I32, m.encodings.length);
        for (const e of m.encodings) t.elemI32(e);
        const path = isList(kind) ? [name, 'list', 'item'] : [name];
        t.listBegin(3, T_BINARY, path.length);
        for (const p of path) t.elemString(p);
        t.i32(4, m.codec);
        t.i64(5, m.numValues);
        t.i64(6, m.uncompressedSize);
        t.i64(7, m.compressedSize);
        t.i64(9, m.dataOffset);
        if (m.dictOffset >= 0) t.i64(11, m.dictOffset);
        t.structBegin(12);
        t.i64(3, m.nullCount);
        if (m.max !== null) t.binary(5, m.max);
        if (m.min !== null) t.binary(6, m.min);
        if (m.nanCount >= 0) t.i64(9, m.nanCount);
        t.structEnd();
        t.structEnd();
        t.structEnd();
      }
      t.i64(2, total);
      t.i64(3, g.rows);
      t.i64(5, g.offset);
      t.i64(6, totalCompressed);
      t.structEnd();
    }
    t.string(6, 'flowsieve (own Parquet writer, src/output/parquet.ts)');
    // column_orders: TYPE_ORDER for every leaf, so min_value/max_value are defined (parquet.thrift ColumnOrder).
    t.listBegin(7, T_STRUCT, cols.length);
    for (let c = 0; c < cols.length; c++) {
      t.structBegin(0);
      t.structBegin(1);
      t.structEnd();
      t.structEnd();
    }
    t.structEnd();
    const footerLength = t.pos;
    t.u32le(footerLength);
    t.bytes(Buffer.from('PAR1'));
    this.write(t.buf.subarray(0, t.pos));
  }
}

/**
 * Rows in, Parquet out: buffers a row group, encodes and writes it when full. With `encoderThread`, row groups are
 * encoded on a thread of their own (./encoder-thread.ts) while the next one fills; the file is the same.
 */
export class ParquetRowWriter {
  readonly columns: readonly ColumnSpec[];
  private buffers: ColumnBuffers;
  private readonly encoder: ChunkEncoder;
  private readonly file: ParquetFileWriter;
  private readonly flowIdColumn: number;
  private readonly thread: EncoderThread | undefined;
  /** With the thread: buffers free to fill, and those sent to it (oldest first; their row groups return in order). */
  private readonly free: ColumnBuffers[] = [];
  private readonly sent: ColumnBuffers[] = [];

  constructor(
    fd: number,
    columns: readonly ColumnSpec[],
    private readonly rowGroupSize: number,
    encoderThread = false,
    compression: ParquetCompression = 'gzip',
  ) {
    this.columns = columns;
    this.encoder = new ChunkEncoder(compression);
    this.file = new ParquetFileWriter(fd, columns);
    this.flowIdColumn = flowIdIndex(columns);
    this.buffers = new ColumnBuffers(columns, rowGroupSize, encoderThread);
    if (encoderThread) {
      // Two buffers: one fills while the other is encoded.
      this.free.push(new ColumnBuffers(columns, rowGroupSize, true));
      this.thread = new EncoderThread(columns, compression);
    }
  }

  add(row: Record<string, unknown>): void {
    this.buffers.add(row);
    if (this.buffers.length >= this.rowGroupSize) this.emitRows();
  }

  /**
   * Add a row group a worker encoded; `flowIds`, when given, becomes the flow_id column (the parallel merge
   * assigns ids; the worker then skipped that column).
   */
  addEncoded(group: EncodedRowGroup, flowIds?: Float64Array): void {
    if (group.rows === 0) return;
    this.emitRows();
    this.collect(true);
    if (flowIds && this.flowIdColumn >= 0) {
      const part = this.encoder.encodeInt64Column(flowIds);
      this.file.writeRowGroup(group, { column: this.flowIdColumn, part });
    } else this.file.writeRowGroup(group);
  }

  private emitRows(): void {
    if (this.buffers.length === 0) return;
    const thread = this.thread;
    if (thread === undefined) {
      this.file.writeRowGroup(this.encoder.encodeRowGroup(this.buffers));
      this.buffers.clear();
      return;
    }
    thread.submit(this.buffers.snapshot());
    this.sent.push(this.buffers);
    // Write what is ready; wait only when no buffer is free to fill.
    this.collect(false);
    if (this.free.length === 0) this.takeOne(true);
    this.buffers = this.free.pop()!;
  }

  /** Write the row groups the thread has encoded, in order: those ready, or (`all`) every one sent. */
  private collect(all: boolean): void {
    while (this.sent.length > 0 && this.takeOne(all));
  }

  /** Write the oldest row group sent, if it is ready or `wait`; its buffer is then free again. */
  private takeOne(wait: boolean): boolean {
    const group = this.thread!.take(wait);
    if (group === undefined) return false;
    this.wrote(group);
    return true;
  }

  /** The thread's row group for the oldest buffer sent: into the file, and the buffer is free again. */
  private wrote(group: EncodedRowGroup): void {
    this.file.writeRowGroup(group);
    const done = this.sent.shift()!;
    done.clear();
    this.free.push(done);
  }

  async finish(): Promise<void> {
    try {
      this.emitRows();
      for (let group = await this.thread?.takeAsync(); group !== undefined; group = await this.thread!.takeAsync())
        this.wrote(group);
      this.file.finish();
    } finally {
      this.thread?.close();
    }
  }

  /** Give up (the output is being removed): stop the encoder thread. */
  abort(): void {
    this.thread?.close();
  }
}

/** Index of the top-level flow_id column, -1 when absent. */
export function flowIdIndex(columns: readonly ColumnSpec[]): number {
  return columns.findIndex((c) => c.key === 'flow_id' && !c.group);
}
