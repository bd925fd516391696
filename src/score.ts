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
import { STATS_INDEX } from './features/stats.ts';
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
  /** Column-major feature matrix (model features × rows). */
  x: Float32Array;
  /** p_malicious per row. */
  p: Float64Array;
  /** The top three reasons of row r (tree-path contributions). */
  reasons(r: number): string[];
}

export interface FlowScorerOptions {
  /** Keep every column of the flow record in `table` (the report wants SNI, JA3, certificates); default: only
   *  what features computed from text read. */
  allColumns?: boolean;
  /** Compute derived features from text cells as for a flow table, not per record (for tests comparing both). */
  derivedFromText?: boolean;
  /** The rows carry `source_file` (several inputs). */
  withSourceFile?: boolean;
  /** Label for `table.source`. */
  source?: string;
  batchSize?: number;
  /** Close a non-empty batch this long after its first flow even if it is not full (0: only by size/flush). */
  maxDelayMs?: number;
}

/** A row value as a model feature: exactly what cellToNumber(cellText(v)) gives, without the text round trip. */
function featureValue(v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) ? v + 0 : Number.NaN; // + 0: −0 reads back as "0"
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v === null || v === undefined) return Number.NaN;
  return cellToNumber(cellText(v));
}

export class FlowScorer {
  /** Columns gathered as text cells: what derived columns read and text features (every column with allColumns). */
  private readonly specs: ColumnSpec[];
  private readonly getters: Accessor[];
  private readonly names: string[];
  /**
   * Model features read straight from the row into the matrix (flow columns and CIC aliases of them; derived
   * columns too unless text cells are needed anyway): their index among the features, the stats-vector index (−1:
   * not a statistic), the index among DERIVED_COLUMNS (−1: not derived) and the accessor (statistics also have
   * one, for rows without a stats vector).
   */
  private readonly directFeature: Int32Array;
  private readonly directStats: Int32Array;
  private readonly directDerived: Int32Array;
  private readonly directGet: Accessor[];
  /**
   * Direct features of protocol groups (tls, dns, ...), read group by group: most flows lack most groups, and one
   * lookup of the group then settles all its features (NaN) instead of an accessor call per feature. Per group its
   * path (tls.cert: ['tls', 'cert']), and its features' positions among the direct features and keys.
   */
  private readonly groupReads: { path: string[]; members: Int32Array; keys: string[] }[];
  /** Per direct feature: 1 when read through groupReads. */
  private readonly inGroup: Uint8Array;
  /** Accessors of DERIVED_SOURCE_COLUMNS, when some direct feature is derived (else empty); values per row. */
  private readonly derivedGet: Accessor[];
  private readonly derivedSources: unknown[];
  private readonly derived = new Float64Array(DERIVED_COLUMNS.length);
  /** The other features (derived columns, text), computed from the text cells as for a flow table. */
  private readonly tableFeatures: string[];
  private readonly tableFeature: Int32Array;
  private readonly allColumns: boolean;
  private readonly forest: CompiledForest;
  private readonly scratch: Float64Array;
  private readonly batchSize: number;
  private readonly maxDelayMs: number;
  private readonly source: string;
  private rows: FlowRow[] = [];
  private cells: (string | null)[][];
  /**
   * The batch's direct features, feature after feature (feature d of row r at d · batchSize + r), so flush copies
   * each into the model's column-major matrix whole. Gathering them from a row-major buffer (a stride of ~145
   * floats per row) was most of flush's time (lab500 classify, node --cpu-prof: 114 of 150 ms).
   */
  private readonly direct: Float32Array;
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
    const direct: { f: number; spec: ColumnSpec | undefined; derived: number }[] = [];
    let tableFeatures: { f: number; name: string; spec: ColumnSpec | undefined }[] = [];
    features.forEach((name, f) => {
      // A flowsieve column by its own name, else a CIC column by its flowsieve source (mapFeatures' alias).
      const spec = derived.has(name) ? undefined : (byName.get(name) ?? byName.get(CIC_SOURCE.get(name) ?? ''));
      if (spec !== undefined && (spec.type === 'int' || spec.type === 'float' || spec.type === 'bool')) {
        direct.push({ f, spec, derived: -1 });
      } else tableFeatures.push({ f, name, spec });
    });
    this.allColumns = opts.allColumns === true;
    // Without text cells to build anyway, text columns and derived columns are read per record too.
    const perRecord =
      !this.allColumns &&
      opts.derivedFromText !== true &&
      tableFeatures.every((t) => t.spec !== undefined || derived.has(t.name));
    if (perRecord) {
      for (const t of tableFeatures) direct.push({ f: t.f, spec: t.spec, derived: DERIVED_COLUMNS.indexOf(t.name) });
      tableFeatures = [];
    }
    this.directFeature = Int32Array.from(direct, (d) => d.f);
    this.directStats = Int32Array.from(direct, (d) =>
      d.spec === undefined || d.spec.group ? -1 : (STATS_INDEX.get(d.spec.key) ?? -1),
    );
    this.directDerived = Int32Array.from(direct, (d) => d.derived);
    this.directGet = direct.map((d) => (d.spec !== undefined ? columnAccessor(d.spec) : () => undefined));
    const groups = new Map<string, { members: number[]; keys: string[] }>();
    this.inGroup = new Uint8Array(direct.length);
    direct.forEach((d, i) => {
      const group = d.derived < 0 ? d.spec?.group : undefined;
      if (group === undefined) return;
      let g = groups.get(group);
      if (g === undefined) groups.set(group, (g = { members: [], keys: [] }));
      g.members.push(i);
      g.keys.push(d.spec!.key);
      this.inGroup[i] = 1;
    });
    this.groupReads = [...groups].map(([group, g]) => ({
      path: group.split('.'),
      members: Int32Array.from(g.members),
      keys: g.keys,
    }));
    this.derivedGet = direct.some((d) => d.derived >= 0)
      ? DERIVED_SOURCE_COLUMNS.map((name) => {
          const spec = byName.get(name);
          return spec !== undefined ? columnAccessor(spec) : () => undefined;
        })
      : [];
    this.derivedSources = this.derivedGet.map(() => undefined);
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
    this.forest = new CompiledForest(model.forest);
    this.scratch = new Float64Array(features.length);
    this.batchSize = opts.batchSize ?? 1024;
    this.direct = new Float32Array(this.directFeature.length * this.batchSize);
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
    // Into `direct` by feature: a row's stores go to ~145 cache lines that the next rows fill in turn.
    const direct = this.direct;
    const nD = this.directFeature.length;
    const B = this.batchSize;
    const vec = statsVector(row);
    const derivedGet = this.derivedGet;
    if (derivedGet.length > 0) {
      const src = this.derivedSources;
      for (let i = 0; i < derivedGet.length; i++) src[i] = derivedGet[i]!(row);
      derivedValues(src, this.derived);
    }
    const inGroup = this.inGroup;
    for (let d = 0; d < nD; d++) {
      if (inGroup[d] === 1) continue;
      const si = this.directStats[d]!;
      const di = this.directDerived[d]!;
      const v =
        vec !== undefined && si >= 0 ? vec[si]! : di >= 0 ? this.derived[di]! : featureValue(this.directGet[d]!(row));
      // The stats vector holds NaN for null; its finite values are the numbers the row shows.
      direct[d * B + r] = Number.isFinite(v) ? v + 0 : Number.NaN;
    }
    for (const g of this.groupReads) {
      // As the accessors read a group (lookupGroup): absent or not an object, every feature of it is missing.
      const obj = lookupGroup(row, g.path);
      const members = g.members;
      if (obj === undefined) {
        for (let m = 0; m < members.length; m++) direct[members[m]! * B + r] = Number.NaN;
        continue;
      }
      const keys = g.keys;
      for (let m = 0; m < members.length; m++) {
        const v = featureValue(obj[keys[m]!]);
        direct[members[m]! * B + r] = Number.isFinite(v) ? v + 0 : Number.NaN;
      }
    }
    this.rows.push(row);
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
    const rows = this.rows;
    const table = this.table(this.cells, n);
    this.rows = [];
    this.cells = this.names.map(() => []);
    const features = this.model.file.features;
    const nF = features.length;
    // A fresh matrix per batch, since reasons(r) may still read this one.
    const x = new Float32Array(nF * n);
    const direct = this.direct;
    const nD = this.directFeature.length;
    const B = this.batchSize;
    for (let d = 0; d < nD; d++) x.set(direct.subarray(d * B, d * B + n), this.directFeature[d]! * n);
    if (this.tableFeatures.length > 0) {
      const tx = featureMatrix(table, this.tableFeatures);
      for (let t = 0; t < this.tableFeature.length; t++)
        x.set(tx.subarray(t * n, (t + 1) * n), this.tableFeature[t]! * n);
    }
    const compiled = this.forest;
    const p = compiled.pMalicious(x, n);
    const { forest } = this.model;
    const scratch = this.scratch;
    // The rows' leaves, once per batch when the first reason is asked for: reasons then need no tree walks.
    let leaves: Uint8Array | null | undefined;
    const reasons = (r: number): string[] => {
      if (leaves === undefined) leaves = compiled.leafIndices(x, n);
      return topReasons(forest, features, x, n, r, scratch, 3, leaves);
    };
    this.onBatch({ rows, table, x, p, reasons });
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
