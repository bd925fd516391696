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
 * (most of the ~200 flow columns), else PLAIN. A chunk of at least GZIP_MIN_BYTES is GZIP-compressed (node:zlib)
 * when that makes it smaller; smaller chunks (all-null protocol columns, dictionary chunks of a few bytes) stay
 * UNCOMPRESSED, since each zlib call costs ~50–100 µs of set-up. Column chunk statistics: null_count always,
 * min/max for INT64 and DOUBLE (TYPE_ORDER, NaN excluded, nan_count given), so DuckDB can skip row groups.
 *
 * Why not apache-arrow + parquet-wasm (the writer before, kept as dependencies for reading): measured on the
 * lab500 capture (740k packets, 132k flows × 216 columns, bench/extract.ts), `extract -o x.parquet` took
 * 9.8 CPU-s against 3.3 CPU-s without output: building Arrow data, the IPC copy into WebAssembly and the wasm
 * encoder cost ≈ 6 CPU-s (node --cpu-prof: wasm 22 %, apache-arrow 6 %, the row-to-Arrow buffering 11 %). With
 * this writer (same tree, interleaved runs): 8.42 → 5.54 CPU-s for the whole extract, the output's share 5.6 → 2.7
 * CPU-s, the file 3.07 → 1.49 MB (GZIP level 1 and 32k-row groups against ZSTD and 8k-row groups before), peak
 * RSS 344 → 246 MiB (bench/results.md, section "Output cost").
 */
import { writeSync } from 'node:fs';
import { endianness } from 'node:os';
import { gzipSync } from 'node:zlib';
import { type ColumnSpec, flatName } from '../features/meter.ts';
import { statsVector } from '../features/record.ts';
import { STATS_COLUMNS, STATS_INDEX } from '../features/stats.ts';
import { ByteSink, T_BINARY, T_I32, T_STRUCT } from './bytes.ts';
import { lookupGroup } from './columns.ts';

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
const PAGE_DATA = 0;
const PAGE_DICTIONARY = 2;
const REP_OPTIONAL = 1;
const REP_REPEATED = 2;
const CONVERTED_UTF8 = 0;
const CONVERTED_LIST = 3;

/** Chunks smaller than this are not compressed (zlib set-up per call outweighs the bytes saved). */
const GZIP_MIN_BYTES = 2048;
/** deflate level 1: on this data (mostly dictionary indices) levels 6–9 gave a few % smaller files for 2× the time. */
const GZIP_LEVEL = 1;

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

/** Where a column's value comes from in a row. */
const FROM_STATS = 0; // the row's stats vector (src/features/record.ts), else row[key]
const FROM_TOP = 1; // row[key]
const FROM_GROUP = 2; // row[group...][key], dotted groups nested as setColumn writes them

const K_STATS = STATS_COLUMNS.length;

/** Text of a string cell, as the writer always coerced it: objects as JSON, other scalars via String. */
function stringValue(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Adjacent columns of one group ([] path: top level). */
interface ColumnRun {
  path: string[];
  columns: Int32Array;
}

/**
 * Rows buffered column by column for one row group: the stats vectors row after row in one Float64Array (one
 * copy per row instead of ~100 stores into separate buffers), other numeric columns in a Float64Array each
 * (NaN = null), text and list cells in arrays. Used by the Parquet writer and by parallel workers, which encode
 * their row groups themselves (encodeRowGroup) and hand the bytes to the main thread.
 */
export class ColumnBuffers {
  readonly columns: readonly ColumnSpec[];
  readonly kinds: Uint8Array;
  private readonly source: Uint8Array;
  /** Stats index of a FROM_STATS column, -1 otherwise. */
  readonly statsIndex: Int32Array;
  private readonly keys: string[];
  private readonly groupNames: string[];
  /**
   * Columns in runs of adjacent columns of one group (looked up once per row): every column, and only those not
   * read from the stats vector (rows that have one).
   */
  private readonly allRuns: ColumnRun[];
  private readonly rowRuns: ColumnRun[];
  /** Stats vectors, row r at [r·K, (r+1)·K); NaN = null. */
  readonly stats: Float64Array;
  /** Per column: a Float64Array for numeric columns not in the stats vector (else empty). */
  readonly numbers: Float64Array[];
  /** Per column: cells of text and list columns (else empty). */
  readonly cells: unknown[][];
  private readonly hasStats: boolean;
  length = 0;

  constructor(
    columns: readonly ColumnSpec[],
    readonly capacity: number,
  ) {
    this.columns = columns;
    const n = columns.length;
    this.kinds = new Uint8Array(n);
    this.source = new Uint8Array(n);
    this.statsIndex = new Int32Array(n).fill(-1);
    this.keys = columns.map((c) => c.key);
    this.groupNames = columns.map((c) => c.group ?? '');
    let hasStats = false;
    for (let i = 0; i < n; i++) {
      const c = columns[i]!;
      const kind = kindOf(c);
      this.kinds[i] = kind;
      const si = c.group || kind > K_BOOL ? undefined : STATS_INDEX.get(c.key);
      this.source[i] = c.group ? FROM_GROUP : si !== undefined ? FROM_STATS : FROM_TOP;
      if (si !== undefined) {
        this.statsIndex[i] = si;
        hasStats = true;
      }
    }
    this.hasStats = hasStats;
    const runsOf = (keep: (i: number) => boolean): ColumnRun[] => {
      const runs: ColumnRun[] = [];
      let last = '';
      let cols: number[] = [];
      const close = () => {
        if (cols.length > 0) runs.push({ path: last === '' ? [] : last.split('.'), columns: Int32Array.from(cols) });
        cols = [];
      };
      for (let i = 0; i < n; i++) {
        if (!keep(i)) continue;
        if (this.groupNames[i] !== last) {
          close();
          last = this.groupNames[i]!;
        }
        cols.push(i);
      }
      close();
      return runs;
    };
    this.allRuns = runsOf(() => true);
    this.rowRuns = runsOf((i) => this.source[i] !== FROM_STATS);
    this.stats = new Float64Array(hasStats ? capacity * K_STATS : 0).fill(Number.NaN);
    this.numbers = columns.map((_, i) =>
      new Float64Array(this.kinds[i]! <= K_BOOL && this.source[i] !== FROM_STATS ? capacity : 0).fill(Number.NaN),
    );
    // Cell arrays allocated once (packed, null-filled) and cleared after each row group.
    this.cells = columns.map((_, i) => (this.kinds[i]! <= K_BOOL ? [] : new Array<unknown>(capacity).fill(null)));
  }

  /** Buffer one row; the caller encodes before `capacity` rows are exceeded. */
  add(row: Record<string, unknown>): void {
    const r = this.length++;
    const vec = this.hasStats ? statsVector(row) : undefined;
    // With a stats vector, its columns are one copy and only the other columns are visited.
    const runs = vec !== undefined ? this.rowRuns : this.allRuns;
    if (vec !== undefined) this.stats.set(vec, r * K_STATS);
    for (let g = 0; g < runs.length; g++) {
      const run = runs[g]!;
      // Most flows carry no tls/quic/dns/http/ssh group: its cells stay null (NaN-filled numbers, null cells).
      const obj = run.path.length === 0 ? row : lookupGroup(row, run.path);
      if (obj === undefined) continue;
      const cols = run.columns;
      for (let j = 0; j < cols.length; j++) {
        const i = cols[j]!;
        const v = obj[this.keys[i]!];
        const kind = this.kinds[i]!;
        if (kind <= K_BOOL) {
          const x =
            kind === K_BOOL
              ? typeof v === 'boolean'
                ? +v
                : Number.NaN
              : typeof v === 'number'
                ? v
                : typeof v === 'boolean'
                  ? +v
                  : Number.NaN;
          if (this.source[i] === FROM_STATS) this.stats[r * K_STATS + this.statsIndex[i]!] = x;
          else this.numbers[i]![r] = x;
        } else if (kind === K_STRING) this.cells[i]![r] = stringValue(v);
        else this.cells[i]![r] = Array.isArray(v) ? v : null;
      }
    }
  }

  /** Empty the buffers after their rows were encoded. */
  clear(): void {
    const len = this.length;
    for (const c of this.cells) if (c.length > 0) c.fill(null, 0, len);
    for (const b of this.numbers) if (b.length > 0) b.fill(Number.NaN, 0, len);
    this.stats.fill(Number.NaN, 0, len * K_STATS);
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
  private defs = new Int32Array(0);
  private reps = new Int32Array(0);
  private vals = new Float64Array(0);
  private valsU32 = new Uint32Array(0);
  private strs: string[] = [];
  private idx = new Int32Array(0);
  private dictVals = new Float64Array(0);
  private dictU32 = new Uint32Array(0);
  private stamp = new Int32Array(0);
  private slot = new Int32Array(0);
  private gen = 0;
  /** Integer chunks: the least and greatest value gathered (a small range takes the direct dictionary). */
  private intLo = 0;
  private intHi = 0;
  private direct = new Int32Array(0);
  private directStamp = new Int32Array(0);
  private readonly strMap = new Map<string, number>();
  private readonly dictPage = new ByteSink();
  private readonly dataPage = new ByteSink();
  private readonly header = new ByteSink(256);
  /** The row group being built. */
  readonly out = new ByteSink(1 << 20);

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
  encodeRowGroup(b: ColumnBuffers, skip = -1): EncodedRowGroup {
    this.out.reset();
    const len = b.length;
    const chunks: (ChunkMeta | null)[] = [];
    for (let i = 0; i < b.columns.length; i++) {
      if (i === skip) {
        chunks.push(null);
        continue;
      }
      const kind = b.kinds[i]!;
      const si = b.statsIndex[i]!;
      if (kind <= K_BOOL) {
        if (si >= 0) chunks.push(this.numberChunk(kind, b.stats, si, K_STATS, len));
        else chunks.push(this.numberChunk(kind, b.numbers[i]!, 0, 1, len));
      } else if (kind === K_STRING) chunks.push(this.stringChunk(b.cells[i]!, len));
      else chunks.push(this.listChunk(kind, b.cells[i]!, len));
    }
    return { rows: len, bytes: this.out.view(), chunks };
  }

  /** One INT64 column chunk from numbers (flow ids assigned by the parallel merge), as a row group of its own. */
  encodeInt64Column(values: Float64Array): EncodedRowGroup {
    this.out.reset();
    const chunk = this.numberChunk(K_INT, values, 0, 1, values.length);
    return { rows: values.length, bytes: this.out.view(), chunks: [chunk] };
  }

  /** A scalar numeric column: `src[off + r·stride]` for row r, NaN = null. */
  private numberChunk(kind: number, src: Float64Array, off: number, stride: number, len: number): ChunkMeta {
    this.ensureLevels(len);
    this.ensureValues(len);
    const defs = this.defs;
    const vals = this.vals;
    let nn = 0;
    let p = off;
    if (kind === K_INT) {
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      for (let r = 0; r < len; r++, p += stride) {
        const x = src[p]!;
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
      for (let r = 0; r < len; r++, p += stride) {
        const x = src[p]!;
        if (!Number.isNaN(x)) {
          vals[nn++] = x;
          defs[r] = 1;
        } else defs[r] = 0;
      }
    } else {
      for (let r = 0; r < len; r++, p += stride) {
        const x = src[p]!;
        if (!Number.isNaN(x)) {
          vals[nn++] = x === 1 ? 1 : 0;
          defs[r] = 1;
        } else defs[r] = 0;
      }
    }
    return this.finishChunk(kind, 0, 1, len, nn, len - nn);
  }

  private stringChunk(cells: unknown[], len: number): ChunkMeta {
    this.ensureLevels(len);
    const defs = this.defs;
    const strs = this.strs;
    let nn = 0;
    for (let r = 0; r < len; r++) {
      const s = cells[r] as string | null;
      if (s === null) defs[r] = 0;
      else {
        defs[r] = 1;
        strs[nn++] = s;
      }
    }
    return this.finishChunk(K_STRING, 0, 1, len, nn, len - nn);
  }

  /**
   * A list column (Parquet LogicalTypes.md, "Lists"): per row, a null list is one entry (rep 0, def 0), an empty
   * list one entry (rep 0, def 1), else one entry per element (rep 0 for the first, 1 after; def 2 for a null
   * element, 3 for a value). Elements are coerced as the Arrow writer did: int lists keep finite numbers
   * (truncated), float lists any number (NaN is a value), string lists strings, other values as JSON.
   */
  private listChunk(kind: number, cells: unknown[], len: number): ChunkMeta {
    let entries = 0;
    for (let r = 0; r < len; r++) {
      const l = cells[r];
      entries += Array.isArray(l) && l.length > 0 ? l.length : 1;
    }
    this.ensureLevels(entries);
    this.ensureValues(entries);
    const defs = this.defs;
    const reps = this.reps;
    const vals = this.vals;
    const strs = this.strs;
    let k = 0;
    let nn = 0;
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let r = 0; r < len; r++) {
      const l = cells[r];
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
        if (kind === K_INT_LIST) {
          if (typeof x === 'number' && x - x === 0) {
            const t = Math.trunc(x);
            vals[nn++] = t === 0 ? 0 : t;
            if (t < lo) lo = t;
            if (t > hi) hi = t;
            defs[k] = 3;
          } else defs[k] = 2;
        } else if (kind === K_FLOAT_LIST) {
          if (typeof x === 'number') {
            vals[nn++] = x;
            defs[k] = 3;
          } else defs[k] = 2;
        } else {
          // JSON.stringify(undefined) is undefined: a null element, as the Arrow writer stored it.
          const s = typeof x === 'string' ? x : (JSON.stringify(x) as string | undefined);
          if (s === undefined) defs[k] = 2;
          else {
            strs[nn++] = s;
            defs[k] = 3;
          }
        }
      }
    }
    this.intLo = lo;
    this.intHi = hi;
    return this.finishChunk(kind, 1, 3, entries, nn, entries - nn);
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
    levelRun(data, this.defs, entries, maxDef === 1 ? 1 : 2);
    let dictSize = -1;
    let min: Uint8Array | null = null;
    let max: Uint8Array | null = null;
    let nanCount = type === TYPE_DOUBLE ? 0 : -1;
    if (nn > 0 && type === TYPE_BYTE_ARRAY) {
      // Text: always a dictionary (flow columns repeat: addresses, names, versions, fingerprints).
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
      if (type === TYPE_INT64) for (let k = 0; k < count; k++) target.i64le(src[k]!);
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
      rleHybrid(data, this.idx, nn, width);
    }
    const out = this.out;
    const start = out.pos;
    const raw = dict.pos + data.pos;
    let dictBody: Uint8Array = dict.buf.subarray(0, dict.pos);
    let dataBody: Uint8Array = data.buf.subarray(0, data.pos);
    let codec = CODEC_UNCOMPRESSED;
    if (raw >= GZIP_MIN_BYTES) {
      const zd = dictSize >= 0 ? gzipSync(dictBody, { level: GZIP_LEVEL }) : dictBody;
      const zv = gzipSync(dataBody, { level: GZIP_LEVEL });
      if (zd.length + zv.length < raw) {
        dictBody = zd;
        dataBody = zv;
        codec = CODEC_GZIP;
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

/** Rows in, Parquet out: buffers a row group, encodes and writes it when full. */
export class ParquetRowWriter {
  readonly columns: readonly ColumnSpec[];
  private readonly buffers: ColumnBuffers;
  private readonly encoder = new ChunkEncoder();
  private readonly file: ParquetFileWriter;
  private readonly flowIdColumn: number;

  constructor(
    fd: number,
    columns: readonly ColumnSpec[],
    private readonly rowGroupSize: number,
  ) {
    this.columns = columns;
    this.buffers = new ColumnBuffers(columns, rowGroupSize);
    this.file = new ParquetFileWriter(fd, columns);
    this.flowIdColumn = flowIdIndex(columns);
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
    if (flowIds && this.flowIdColumn >= 0) {
      const part = this.encoder.encodeInt64Column(flowIds);
      this.file.writeRowGroup(group, { column: this.flowIdColumn, part });
    } else this.file.writeRowGroup(group);
  }

  private emitRows(): void {
    if (this.buffers.length === 0) return;
    this.file.writeRowGroup(this.encoder.encodeRowGroup(this.buffers));
    this.buffers.clear();
  }

  async finish(): Promise<void> {
    this.emitRows();
    this.file.finish();
  }
}

/** Index of the top-level flow_id column, -1 when absent. */
export function flowIdIndex(columns: readonly ColumnSpec[]): number {
  return columns.findIndex((c) => c.key === 'flow_id' && !c.group);
}
