/**
 * Scoring flows as they finish: rows from the extract pipeline are gathered into small batches, turned into the
 * same flow-table cells a CSV/JSONL/Parquet input would give (so derived columns and feature mapping are computed by
 * the very code that scores flow tables), scored with the compiled forest and handed on. Memory holds one batch,
 * not the capture's flows, so `classify` streams a large capture or a live `tcpdump -w -` pipe.
 *
 * A batch closes when it holds `batchSize` flows, or `maxDelayMs` after its first flow when the input is quiet (a
 * live stream must not sit on a finished flow waiting for more traffic).
 */
import { type ColumnSpec, type FlowRow, flatName, getColumn } from './features/meter.ts';
import { CompiledForest } from './ml/compile.ts';
import { featureMatrix } from './ml/dataset.ts';
import { topReasons } from './ml/explain.ts';
import { DERIVED_SOURCE_COLUMNS, withDerivedColumns } from './ml/features.ts';
import type { Model } from './ml/model.ts';
import type { RawTable } from './ml/table.ts';
import { CIC2017_SOURCE } from './output/cic2017.ts';
import { IDENTITY_COLUMNS, SOURCE_FILE_COLUMN } from './pipeline.ts';
import { cellText, flowColumns, mapFeatures } from './tables.ts';

/** One batch of scored flows: the flow records, their table cells, features and scores. */
export interface ScoredBatch {
  /** The flows as extracted (FlowRow, nested per protocol group). */
  rows: FlowRow[];
  /** The same flows as flow-table cells (text), with derived and model-mapped columns. */
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
   *  identity columns and what the model reads. */
  allColumns?: boolean;
  /** The rows carry `source_file` (several inputs). */
  withSourceFile?: boolean;
  /** Label for `table.source`. */
  source?: string;
  batchSize?: number;
  /** Close a non-empty batch this long after its first flow even if it is not full (0: only by size/flush). */
  maxDelayMs?: number;
}

export class FlowScorer {
  private readonly specs: ColumnSpec[];
  private readonly names: string[];
  private readonly forest: CompiledForest;
  private readonly scratch: Float64Array;
  private readonly batchSize: number;
  private readonly maxDelayMs: number;
  private readonly source: string;
  private rows: FlowRow[] = [];
  private cells: (string | null)[][];
  private timer: NodeJS.Timeout | null = null;
  /** A failure inside a timer-driven flush, rethrown by the next add/flush (a timer has no caller to throw to). */
  private pending: unknown = null;

  constructor(
    private readonly model: Model,
    private readonly onBatch: (batch: ScoredBatch) => void,
    opts: FlowScorerOptions = {},
  ) {
    const features = model.file.features;
    const all = flowColumns(undefined, opts.withSourceFile === true);
    if (opts.allColumns) this.specs = all;
    else {
      // Identity columns for the output, the model's own columns, what derived columns and CIC aliases read.
      const needed = new Set<string>([...IDENTITY_COLUMNS, SOURCE_FILE_COLUMN].map(flatName));
      for (const f of features) {
        needed.add(f);
        const alias = CIC2017_SOURCE.get(f);
        if (alias !== undefined) needed.add(alias);
      }
      for (const s of DERIVED_SOURCE_COLUMNS) needed.add(s);
      this.specs = all.filter((c) => needed.has(flatName(c)));
    }
    this.names = this.specs.map(flatName);
    this.cells = this.names.map(() => []);
    this.forest = new CompiledForest(model.forest);
    this.scratch = new Float64Array(features.length);
    this.batchSize = opts.batchSize ?? 1024;
    this.maxDelayMs = opts.maxDelayMs ?? 0;
    this.source = opts.source ?? '';
    // Fail before any traffic is read when the model wants columns a flow record cannot provide.
    this.table(
      this.names.map(() => []),
      0,
    );
  }

  add(row: FlowRow): void {
    this.rethrow();
    for (let i = 0; i < this.specs.length; i++) this.cells[i]!.push(cellText(getColumn(row, this.specs[i]!)));
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
    const x = featureMatrix(table, features);
    const p = this.forest.pMalicious(x, n);
    const { forest } = this.model;
    const scratch = this.scratch;
    this.onBatch({ rows, table, x, p, reasons: (r) => topReasons(forest, features, x, n, r, scratch) });
  }

  private table(cells: (string | null)[][], nRows: number): RawTable {
    const t: RawTable = { names: this.names, cells, nRows, source: this.source, droppedDuplicates: [], sha256: '' };
    const mapped = mapFeatures(withDerivedColumns(t), this.model.file.features);
    if (nRows === 0) featureMatrix(mapped, this.model.file.features);
    return mapped;
  }

  private rethrow(): void {
    if (this.pending !== null) {
      const e = this.pending;
      this.pending = null;
      throw e;
    }
  }
}
