/**
 * Scoring flows as they finish: rows from the extract pipeline are gathered into small batches, scored with the
 * compiled forest and handed on. Memory holds one batch, not the capture's flows, so `classify` streams a large
 * capture or a live `tcpdump -w -` pipe.
 *
 * Features equal what the flow table of the same flows (CSV/JSONL/Parquet) gives: flow columns are read straight
 * from the record with the value a table cell parses to (featureValue: cellToNumber of cellText, without formatting
 * ~150 numbers per flow and parsing them back — that round trip was half of classify's time), and derived columns
 * are computed per record by derivedValues (src/ml/features.ts) with the values withDerivedColumns' cells parse to.
 * With `allColumns` (the report wants every column as text) or a feature no flow column provides, the features
 * other than numeric columns come from text cells by the very code that scores flow tables.
 *
 * A batch closes when it holds `batchSize` flows, or `maxDelayMs` after its first flow when the input is quiet (a
 * live stream must not sit on a finished flow waiting for more traffic).
 */
import { type ColumnSpec, type FlowRow, flatName } from './features/meter.ts';
import { statsVector } from './features/record.ts';
import { STATS_COLUMNS, STATS_INDEX } from './features/stats.ts';
import { CompiledForest } from './ml/compile.ts';
import { featureMatrix } from './ml/dataset.ts';
import { topReasons } from './ml/explain.ts';
import { DERIVED_COLUMNS, DERIVED_SOURCE_COLUMNS, derivedValues, withDerivedColumns } from './ml/features.ts';
import type { Model } from './ml/model.ts';
import { cellToNumber, type RawTable } from './ml/table.ts';
import { CIC_SOURCE } from './output/cic2017.ts';
import { type Accessor, columnAccessor, lookupGroup } from './output/columns.ts';
import { cellText, featureOptionsFor, flowColumns, mapFeatures } from './tables.ts';

/** One batch of scored flows: the flow records, their table cells, features and scores. */
export interface ScoredBatch {
  /** The flows as extracted (FlowRow, nested per protocol group). */
  rows: FlowRow[];
  /**
   * The same flows as flow-table cells (text) with derived and model-mapped columns: every column with
   * `allColumns`, else only the columns features computed from text need (usually none: see the header).
   */
  table: RawTable;
  /**
   * Column-major feature matrix (model features × rows). Features that no tree of the model splits on are NaN
   * (missing) when read from flow records: they cannot change a score or a reason.
   */
  x: Float32Array;
  /** p_malicious per row. */
  p: Float64Array;
  /** The top three reasons of row r (tree-path contributions). */
  reasons(r: number): string[];
}

/**
 * A batch's feature matrix without scores: what a worker thread stages for the main thread's forest
 * (FlowScorerOptions.onStaged; classify --threads, src/parallel/extract.ts). x is laid out as ScoredBatch.x.
 */
export interface StagedBatch {
  rows: FlowRow[];
  x: Float32Array;
}

/**
 * Scores and reasons of a staged batch: one kernel pass for the scores and the rows' leaves, then reasons(r) needs
 * no tree walks. `forest` is `model.forest` compiled; `scratch` holds model.file.features.length numbers.
 */
export function scoreStaged(
  model: Model,
  forest: CompiledForest,
  x: Float32Array,
  n: number,
  scratch: Float64Array,
  sharedReasons: boolean,
): { p: Float64Array; reasons: (r: number) => string[] } {
  const { p, leaves } = forest.pMaliciousAndLeaves(x, n);
  const features = model.file.features;
  const trees = model.forest;
  return { p, reasons: (r) => topReasons(trees, features, x, n, r, scratch, 3, leaves, sharedReasons) };
}

export interface FlowScorerOptions {
  /** Keep every column of the flow record in `table` (the report wants SNI, JA3, certificates); default: only
   *  what features computed from text read. */
  allColumns?: boolean;
  /** Compute derived features from text cells as for a flow table, not per record (for tests comparing both). */
  derivedFromText?: boolean;
  /** The rows carry `source_file` (several inputs). */
  withSourceFile?: boolean;
  /**
   * `reasons(r)` may give rows with the same reasons one frozen array (topReasons `shared`): for callers that keep
   * many rows' lists and never modify them.
   */
  sharedReasons?: boolean;
  /** Label for `table.source`. */
  source?: string;
  batchSize?: number;
  /** Close a non-empty batch this long after its first flow even if it is not full (0: only by size/flush). */
  maxDelayMs?: number;
  /**
   * Hand each batch over with its features staged but not scored (a worker thread's part of classify --threads;
   * the main thread scores it with scoreStaged). onBatch is then not called.
   */
  onStaged?: (batch: StagedBatch) => void;
}

/**
 * A row value as a model feature: what cellToNumber(cellText(v)) gives, without the text round trip, and with
 * non-finite values as NaN and −0 as 0 (as a table cell reads back).
 */
function featureValue(v: unknown): number {
  if (typeof v === 'number') return v - v === 0 ? v + 0 : Number.NaN; // + 0: −0 reads back as "0"
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v === null || v === undefined) return Number.NaN;
  const x = cellToNumber(cellText(v));
  return x - x === 0 ? x + 0 : Number.NaN;
}

/** Rows per block moved from the staging buffer into the matrix (16 rows × ~130 doubles: 17 KiB, in L1). */
const UNSTAGE_ROWS = 16;

export class FlowScorer {
  /** Columns gathered as text cells: what derived columns read and text features (every column with allColumns). */
  private readonly specs: ColumnSpec[];
  private readonly getters: Accessor[];
  private readonly names: string[];
  /**
   * Model features read straight from the row into the matrix (flow columns and CIC aliases of them; derived
   * columns too unless text cells are needed anyway), only those some tree splits on. add stages each row's values
   * side by side in `staged` (`width` doubles per row): the stats vector whole at 0 … K − 1 (K =
   * STATS_COLUMNS.length), the other direct features after it; unstage moves them into the matrix. Per direct
   * feature: its model feature and its column in `staged`.
   */
  private readonly directFeature: Int32Array;
  private readonly directColumn: Int32Array;
  /** Direct features no tree splits on: NaN in every row of the matrix. */
  private readonly unsplit: Int32Array;
  /** Floats per row in `staged`. */
  private readonly width: number;
  /** Statistics: their stats-vector index and accessor (for rows without a stats vector). */
  private readonly statsIndex: Int32Array;
  private readonly statsGet: Accessor[];
  /** Derived columns: their index among DERIVED_COLUMNS and their column in `staged`. */
  private readonly derivedIndex: Int32Array;
  private readonly derivedAt: Int32Array;
  /** Other columns of the record: their column in `staged` and accessor. */
  private readonly otherAt: Int32Array;
  private readonly otherGet: Accessor[];
  /**
   * Direct features of protocol groups (tls, dns, ...), read group by group: most flows lack most groups, and one
   * lookup of the group then settles all its features (NaN) instead of an accessor call per feature. Per group its
   * path (tls.cert: ['tls', 'cert']), and its features' columns in `staged` and keys.
   */
  private readonly groupReads: { path: string[]; at: Int32Array; keys: string[] }[];
  /**
   * DERIVED_SOURCE_COLUMNS when some direct feature is derived (else none): those of protocol groups read group by
   * group as groupReads does (their positions among the sources and keys), the others by accessor; and the
   * sources of the current row.
   */
  private readonly derivedGroups: { path: string[]; slots: Int32Array; keys: string[] }[];
  private readonly derivedOthers: { slot: number; get: Accessor }[];
  private readonly derivedSources: unknown[];
  private readonly derived = new Float64Array(DERIVED_COLUMNS.length);
  /** The other features (derived columns, text), computed from the text cells as for a flow table. */
  private readonly tableFeatures: string[];
  private readonly tableFeature: Int32Array;
  private readonly allColumns: boolean;
  private readonly sharedReasons: boolean;
  /** The compiled forest, made at the first batch scored here (none when batches are only staged). */
  private forest: CompiledForest | null = null;
  private readonly onStaged: ((batch: StagedBatch) => void) | undefined;
  private readonly scratch: Float64Array;
  private readonly batchSize: number;
  private readonly maxDelayMs: number;
  private readonly source: string;
  private rows: FlowRow[] = [];
  private cells: (string | null)[][];
  /**
   * The last rows' direct features, row after row (see directColumn): a row's stats vector is one copy, and every
   * UNSTAGE_ROWS rows the block moves into the batch's column-major matrix `x`. The block stays in the L1 cache;
   * storing each value at its place in a feature-major buffer instead put a row's ~145 stores on as many cache
   * lines, and with 1024 rows (4 KiB) between features all of them in one set of the L1 cache (lab500 classify,
   * node --cpu-prof: add 324 ms, 143 ms on that store line); staging the whole batch (1 MB) missed the cache on
   * both sides.
   */
  private readonly staged: Float64Array;
  /** The batch's matrix, feature f of row r at f · batchSize + r (null before the batch's first row). */
  private x: Float32Array | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** A failure inside a timer-driven flush, rethrown by the next add/flush (a timer has no caller to throw to). */
  private pending: unknown = null;

  constructor(
    private readonly model: Model,
    private readonly onBatch: (batch: ScoredBatch) => void,
    opts: FlowScorerOptions = {},
  ) {
    const features = model.file.features;
    const all = flowColumns(featureOptionsFor(features), opts.withSourceFile === true);
    const byName = new Map(all.map((c) => [flatName(c), c]));
    const derived = new Set(DERIVED_COLUMNS);
    let direct: { f: number; spec: ColumnSpec | undefined; derived: number }[] = [];
    let tableFeatures: { f: number; name: string; spec: ColumnSpec | undefined }[] = [];
    features.forEach((name, f) => {
      // A flowsieve column by its own name, else a CIC column by its flowsieve source (mapFeatures' alias).
      const spec = derived.has(name) ? undefined : (byName.get(name) ?? byName.get(CIC_SOURCE.get(name) ?? ''));
      if (spec !== undefined && (spec.type === 'int' || spec.type === 'float' || spec.type === 'bool')) {
        direct.push({ f, spec, derived: -1 });
      } else tableFeatures.push({ f, name, spec });
    });
    this.allColumns = opts.allColumns === true;
    this.sharedReasons = opts.sharedReasons === true;
    // Without text cells to build anyway, text columns and derived columns are read per record too.
    const perRecord =
      !this.allColumns &&
      opts.derivedFromText !== true &&
      tableFeatures.every((t) => t.spec !== undefined || derived.has(t.name));
    if (perRecord) {
      for (const t of tableFeatures) direct.push({ f: t.f, spec: t.spec, derived: DERIVED_COLUMNS.indexOf(t.name) });
      tableFeatures = [];
    }
    // A feature no tree splits on moves no score and no reason: its row of the matrix is left missing instead of
    // read from every record (the default model splits on 115 of its 145 features).
    const split = new Set<number>();
    for (const t of model.forest.trees) for (const f of t.feature) if (f >= 0) split.add(f);
    this.unsplit = Int32Array.from(
      direct.filter((d) => !split.has(d.f)),
      (d) => d.f,
    );
    direct = direct.filter((d) => split.has(d.f));
    this.batchSize = opts.batchSize ?? 1024;
    const K = STATS_COLUMNS.length;
    const stats: number[] = [];
    const derivedFeatures: number[] = [];
    const others: number[] = [];
    const groups = new Map<string, { at: number[]; keys: string[] }>();
    // Columns of `staged` after the stats vector, in the order add writes them.
    const column = new Int32Array(direct.length);
    let next = K;
    direct.forEach((d, i) => {
      if (d.derived < 0 && d.spec?.group === undefined && d.spec !== undefined && STATS_INDEX.has(d.spec.key)) {
        stats.push(i);
        column[i] = STATS_INDEX.get(d.spec.key)!;
      }
    });
    direct.forEach((d, i) => {
      if (d.derived >= 0) {
        derivedFeatures.push(i);
        column[i] = next++;
      }
    });
    direct.forEach((d, i) => {
      if (d.derived < 0 && d.spec?.group === undefined && !stats.includes(i)) {
        others.push(i);
        column[i] = next++;
      }
    });
    direct.forEach((d, i) => {
      const group = d.derived < 0 ? d.spec?.group : undefined;
      if (group === undefined) return;
      let g = groups.get(group);
      if (g === undefined) {
        g = { at: [], keys: [] };
        groups.set(group, g);
      }
      g.at.push(next);
      g.keys.push(d.spec!.key);
      column[i] = next++;
    });
    this.width = next;
    this.directFeature = Int32Array.from(direct, (d) => d.f);
    this.directColumn = column;
    this.statsIndex = Int32Array.from(stats, (i) => column[i]!);
    this.statsGet = stats.map((i) => columnAccessor(direct[i]!.spec!));
    this.derivedIndex = Int32Array.from(derivedFeatures, (i) => direct[i]!.derived);
    this.derivedAt = Int32Array.from(derivedFeatures, (i) => column[i]!);
    this.otherAt = Int32Array.from(others, (i) => column[i]!);
    // A feature with neither a column nor a derivation is missing in every row (the accessor gives undefined).
    this.otherGet = others.map((i) => {
      const spec = direct[i]!.spec;
      return spec !== undefined ? columnAccessor(spec) : () => undefined;
    });
    this.groupReads = [...groups].map(([group, g]) => ({
      path: group.split('.'),
      at: Int32Array.from(g.at),
      keys: g.keys,
    }));
    const sourceGroups = new Map<string, { slots: number[]; keys: string[] }>();
    this.derivedOthers = [];
    if (direct.some((d) => d.derived >= 0)) {
      DERIVED_SOURCE_COLUMNS.forEach((name, slot) => {
        const spec = byName.get(name);
        if (spec?.group === undefined) {
          this.derivedOthers.push({ slot, get: spec !== undefined ? columnAccessor(spec) : () => undefined });
          return;
        }
        let g = sourceGroups.get(spec.group);
        if (g === undefined) {
          g = { slots: [], keys: [] };
          sourceGroups.set(spec.group, g);
        }
        g.slots.push(slot);
        g.keys.push(spec.key);
      });
    }
    this.derivedGroups = [...sourceGroups].map(([group, g]) => ({
      path: group.split('.'),
      slots: Int32Array.from(g.slots),
      keys: g.keys,
    }));
    this.derivedSources = DERIVED_SOURCE_COLUMNS.map(() => undefined);
    this.tableFeatures = tableFeatures.map((t) => t.name);
    this.tableFeature = Int32Array.from(tableFeatures, (t) => t.f);
    if (this.allColumns) this.specs = all;
    else {
      // What derived columns and the table features (and their aliases) read; callers take identity from `rows`.
      const needed = new Set<string>();
      for (const f of this.tableFeatures) {
        needed.add(f);
        const alias = CIC_SOURCE.get(f);
        if (alias !== undefined) needed.add(alias);
      }
      if (tableFeatures.length > 0) for (const s of DERIVED_SOURCE_COLUMNS) needed.add(s);
      this.specs = all.filter((c) => needed.has(flatName(c)));
    }
    this.getters = this.specs.map(columnAccessor);
    this.names = this.specs.map(flatName);
    this.cells = this.names.map(() => []);
    this.onStaged = opts.onStaged;
    this.scratch = new Float64Array(features.length);
    this.staged = new Float64Array(this.width * UNSTAGE_ROWS);
    this.maxDelayMs = opts.maxDelayMs ?? 0;
    this.source = opts.source ?? '';
    // Fail before any traffic is read when the model wants columns a flow record cannot provide.
    featureMatrix(
      this.table(
        this.names.map(() => []),
        0,
      ),
      this.tableFeatures,
    );
  }

  add(row: FlowRow): void {
    this.rethrow();
    const r = this.rows.length;
    for (let i = 0; i < this.getters.length; i++) this.cells[i]!.push(cellText(this.getters[i]!(row)));
    // A fresh matrix per batch, since the last batch's reasons(r) may still read its own.
    if (r === 0) this.x = new Float32Array(this.model.file.features.length * this.batchSize);
    // Values as they are read; unstage stores them as their table cells parse (non-finite as NaN, −0 as 0).
    const staged = this.staged;
    const at = (r % UNSTAGE_ROWS) * this.width;
    const vec = statsVector(row);
    if (vec !== undefined) staged.set(vec, at);
    else {
      const statsIndex = this.statsIndex;
      for (let j = 0; j < statsIndex.length; j++) staged[at + statsIndex[j]!] = featureValue(this.statsGet[j]!(row));
    }
    const derivedAt = this.derivedAt;
    if (derivedAt.length > 0) {
      const src = this.derivedSources;
      const sourceGroups = this.derivedGroups;
      for (let g = 0; g < sourceGroups.length; g++) {
        const { path, slots, keys } = sourceGroups[g]!;
        const obj = lookupGroup(row, path);
        for (let m = 0; m < slots.length; m++) src[slots[m]!] = obj === undefined ? undefined : obj[keys[m]!];
      }
      const others = this.derivedOthers;
      for (let i = 0; i < others.length; i++) src[others[i]!.slot] = others[i]!.get(row);
      const values = this.derived;
      derivedValues(src, values);
      const derivedIndex = this.derivedIndex;
      for (let j = 0; j < derivedAt.length; j++) staged[at + derivedAt[j]!] = values[derivedIndex[j]!]!;
    }
    const otherAt = this.otherAt;
    for (let j = 0; j < otherAt.length; j++) staged[at + otherAt[j]!] = featureValue(this.otherGet[j]!(row));
    const groups = this.groupReads;
    for (let g = 0; g < groups.length; g++) {
      const { path, at: columns, keys } = groups[g]!;
      // As the accessors read a group (lookupGroup): absent or not an object, every feature of it is missing.
      const obj = lookupGroup(row, path);
      if (obj === undefined) {
        for (let m = 0; m < columns.length; m++) staged[at + columns[m]!] = Number.NaN;
        continue;
      }
      for (let m = 0; m < columns.length; m++) staged[at + columns[m]!] = featureValue(obj[keys[m]!]);
    }
    this.rows.push(row);
    if (r % UNSTAGE_ROWS === UNSTAGE_ROWS - 1) this.unstage(r + 1 - UNSTAGE_ROWS, r + 1);
    if (this.rows.length >= this.batchSize) this.flush();
    else if (this.maxDelayMs > 0 && this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        try {
          this.flush();
        } catch (e) {
          this.pending = e;
        }
      }, this.maxDelayMs);
      this.timer.unref();
    }
  }

  /** Score and hand on what is gathered (call once more at the end of the input). */
  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.rethrow();
    const n = this.rows.length;
    if (n === 0) return;
    if (n % UNSTAGE_ROWS !== 0) this.unstage(n - (n % UNSTAGE_ROWS), n);
    const rows = this.rows;
    const table = this.table(this.cells, n);
    this.rows = [];
    this.cells = this.names.map(() => []);
    const features = this.model.file.features;
    const nF = features.length;
    let x = this.x!;
    this.x = null;
    const B = this.batchSize;
    if (n < B) {
      // A short batch (the last one, or a quiet live input): its features packed to n rows apart.
      const packed = new Float32Array(nF * n);
      for (let f = 0; f < nF; f++) packed.set(x.subarray(f * B, f * B + n), f * n);
      x = packed;
    }
    for (const f of this.unsplit) x.fill(Number.NaN, f * n, (f + 1) * n);
    if (this.tableFeatures.length > 0) {
      const tx = featureMatrix(table, this.tableFeatures);
      for (let t = 0; t < this.tableFeature.length; t++)
        x.set(tx.subarray(t * n, (t + 1) * n), this.tableFeature[t]! * n);
    }
    if (this.onStaged !== undefined) {
      this.onStaged({ rows, x });
      return;
    }
    this.forest ??= new CompiledForest(this.model.forest);
    const { p, reasons } = scoreStaged(this.model, this.forest, x, n, this.scratch, this.sharedReasons);
    this.onBatch({ rows, table, x, p, reasons });
  }

  /**
   * Rows r0 … r1 − 1 (r1 − r0 ≤ UNSTAGE_ROWS, r0 a multiple of it) from the staging block into the batch's matrix,
   * as their table cells parse: non-finite values as NaN, −0 as 0.
   */
  private unstage(r0: number, r1: number): void {
    const x = this.x!;
    const B = this.batchSize;
    const staged = this.staged;
    const width = this.width;
    const feature = this.directFeature;
    const column = this.directColumn;
    for (let d = 0; d < feature.length; d++) {
      const out = feature[d]! * B;
      for (let r = r0, i = column[d]!; r < r1; r++, i += width) {
        const v = staged[i]!;
        x[out + r] = v - v === 0 ? v + 0 : Number.NaN;
      }
    }
  }

  private table(cells: (string | null)[][], nRows: number): RawTable {
    const t: RawTable = { names: this.names, cells, nRows, source: this.source, droppedDuplicates: [], sha256: '' };
    return mapFeatures(withDerivedColumns(t), this.allColumns ? this.model.file.features : this.tableFeatures, true);
  }

  private rethrow(): void {
    if (this.pending !== null) {
      const e = this.pending;
      this.pending = null;
      throw e;
    }
  }
}
