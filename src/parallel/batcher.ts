/**
 * Collects one job's finished rows and sends them to the merge (src/parallel/extract.ts) in batches: rows as
 * structured clones of their own properties plus one Float64Array holding the batch's stats vectors (a
 * Symbol-keyed property is not cloned); or — with a Parquet sink's columns — whole Parquet row groups encoded here
 * (src/output/parquet.ts), their bytes transferred, a shard leaving out the flow_id column, which the merge assigns;
 * or — with a CSV/JSONL sink's line format — the rows' text lines formatted here by the sink's own code
 * (lineFormat, src/output/index.ts) into one buffer per batch, transferred, with the place of each line's flow_id,
 * which the merge replaces (a shard numbers its flows on its own); or — for classify — each batch's feature matrix,
 * staged here by the scorer's own code (FlowScorer with onStaged, src/score.ts) and transferred with the rows'
 * identity, the main thread running the forest on it (whole-file jobs only).
 * Used by the workers (sending by postMessage) and by the main thread's own shard (handing messages to the merge).
 * ShardRunner: one shard's pipeline and batcher, in a worker or in the main thread.
 */
import { defaultMeters, type FeatureOptions } from '../features/index.ts';
import type { FlowRow } from '../features/meter.ts';
import { statsVector } from '../features/record.ts';
import { STATS_COLUMNS } from '../features/stats.ts';
import type { FlowTableOptions } from '../flow/table.ts';
import { modelFromJson } from '../ml/model.ts';
import { type LineBatch, type LineFormat, lineFormat } from '../output/index.ts';
import { ChunkEncoder, ColumnBuffers, type EncodedRowGroup, flowIdIndex, ownedRowGroup } from '../output/parquet.ts';
import { TextWriter } from '../output/text.ts';
import { type ExtractStats, FlowPipeline, type ShardOptions } from '../pipeline.ts';
import { FlowScorer, type StagedBatch } from '../score.ts';
import { type BatchOutput, type FromWorker, STAGED_NUMBERS } from './messages.ts';

/** Rows per message: large enough to amortise postMessage, small enough to keep the main thread busy early. */
const BATCH_ROWS = 4096;
/**
 * Rows per column batch: each batch is one Parquet row group, encoded here and written as is by the main thread.
 * 8192 rather than the single-threaded sink's 32768 (PARQUET_ROW_GROUP_ROWS): a batch waits in the main thread
 * until every shard has read past its flows, so smaller batches keep the merge's memory down; the file is a little
 * larger (lab500: 3.7 MB with 2 threads against 1.5 MB with one).
 */
const COLUMN_BATCH_ROWS = 8192;
/**
 * Text per line batch (at most BATCH_ROWS lines): like a column batch, it waits in the main thread until every
 * shard has read past its flows, so its size bounds the merge's memory.
 */
const LINE_BATCH_BYTES = 1 << 20;
/** A line batch's buffer: room for the line that crosses LINE_BATCH_BYTES, so the buffer rarely grows. */
const LINE_BUFFER_BYTES = LINE_BATCH_BYTES + (64 << 10);
const K = STATS_COLUMNS.length;

/** Collects a job's rows and sends them in batches (rows, encoded Parquet row groups, or text lines). */
export class RowBatcher {
  private rows: FlowRow[] = [];
  private vectors = new Float64Array(BATCH_ROWS * K);
  private ordinals: Float64Array;
  private created: number[] = [];
  private readonly columns: ColumnBuffers | undefined;
  private readonly encoder: ChunkEncoder | undefined;
  /** A shard's flow ids are assigned by the main thread's merge: that column is encoded there. */
  private readonly skipColumn: number;
  /** Line batches: the sink's line format, the batch's text and its number of lines. */
  private readonly lineFormat: LineFormat | undefined;
  private readonly text: TextWriter | undefined;
  private lines = 0;
  /** Shards whose lines hold a flow_id: what opens a line before its flow_id (LineFormat.idPrefix). */
  private readonly idPrefix: Uint8Array | undefined;
  /** Per line of the batch: start and end of its flow_id text (LineBatch.idAt). */
  private idAt: Uint32Array;
  /** Shard jobs: written by the pipeline (ShardOptions). */
  readonly shard: ShardOptions | undefined;
  /** Feature batches: the scorer staging them (it sends each batch itself, see sendStaged). */
  private readonly scorer: FlowScorer | undefined;

  constructor(
    private readonly jobId: number,
    output: BatchOutput,
    sharded: boolean,
    private readonly post: (msg: FromWorker, transfer?: ArrayBuffer[]) => void,
  ) {
    this.shard = sharded
      ? {
          flowOrdinal: 0,
          packetsSeen: 0,
          onFlowCreated: (ordinal) => {
            this.created.push(ordinal);
          },
        }
      : undefined;
    this.columns = output?.kind === 'columns' ? new ColumnBuffers(output.columns, COLUMN_BATCH_ROWS) : undefined;
    this.encoder = output?.kind === 'columns' ? new ChunkEncoder(output.compression) : undefined;
    this.skipColumn = this.columns && sharded ? flowIdIndex(this.columns.columns) : -1;
    this.ordinals = new Float64Array(this.columns ? COLUMN_BATCH_ROWS : BATCH_ROWS);
    this.lineFormat = output?.kind === 'lines' ? lineFormat(output.spec) : undefined;
    this.text = this.lineFormat ? TextWriter.inMemory(LINE_BUFFER_BYTES) : undefined;
    if (this.lineFormat?.hasFlowId && sharded) {
      // FlowSink.lines is offered only when the flow ids can be replaced.
      if (this.lineFormat.idPrefix === undefined) throw new Error('flowsieve: lines whose flow_id cannot be found');
      this.idPrefix = this.lineFormat.idPrefix;
    }
    this.idAt = new Uint32Array(this.idPrefix ? 2 * BATCH_ROWS : 0);
    if (output?.kind === 'features') {
      // A shard's rows would need the merge's flow ids, which a staged batch has no place for.
      if (sharded) throw new Error('flowsieve: feature batches are for whole-file jobs');
      this.scorer = new FlowScorer(modelFromJson(output.model), () => {}, {
        withSourceFile: output.withSourceFile,
        onStaged: (b) => this.sendStaged(b),
      });
    }
  }

  /** One staged batch to the main thread: its matrix and the identity of its rows (StagedIdentity), transferred. */
  private sendStaged(b: StagedBatch): void {
    const n = b.rows.length;
    const width = STAGED_NUMBERS.length;
    const numbers = new Float64Array(n * width);
    const addresses = new Array<string>(2 * n);
    for (let r = 0; r < n; r++) {
      const row = b.rows[r]!;
      for (let k = 0; k < width; k++) numbers[r * width + k] = row[STAGED_NUMBERS[k]!] as number;
      addresses[2 * r] = row.src_ip as string;
      addresses[2 * r + 1] = row.dst_ip as string;
    }
    this.post({ type: 'features', job: this.jobId, n, x: b.x, identity: { numbers, addresses } }, [
      b.x.buffer as ArrayBuffer,
      numbers.buffer,
    ]);
  }

  readonly add = (row: FlowRow): void => {
    if (this.scorer !== undefined) {
      this.scorer.add(row);
      return;
    }
    const shard = this.shard;
    const text = this.text;
    if (text) {
      const n = this.lines;
      const start = text.pos;
      this.lineFormat!.write(text, row);
      if (this.idPrefix) this.locateFlowId(n, start);
      this.ordinals[n] = shard ? shard.flowOrdinal : 0;
      this.lines = n + 1;
      if (this.lines >= BATCH_ROWS || text.pos >= LINE_BATCH_BYTES) this.flush(false);
      return;
    }
    const columns = this.columns;
    if (columns) {
      this.ordinals[columns.length] = shard ? shard.flowOrdinal : 0;
      columns.add(row);
      if (columns.length >= COLUMN_BATCH_ROWS) this.flush(false);
      return;
    }
    const i = this.rows.length;
    const v = statsVector(row);
    if (v) this.vectors.set(v, i * K);
    else this.vectors.fill(Number.NaN, i * K, (i + 1) * K);
    this.ordinals[i] = shard ? shard.flowOrdinal : 0;
    this.rows.push(row);
    if (this.rows.length >= BATCH_ROWS) this.flush(false);
  };

  /** Line `n`, written from `start`: record where its flow_id digits are (they follow idPrefix at once). */
  private locateFlowId(n: number, start: number): void {
    const text = this.text!;
    const buf = text.buf;
    const prefix = this.idPrefix!;
    const end = text.pos;
    let p = start;
    for (let i = 0; i < prefix.length; i++, p++) {
      if (p >= end || buf[p] !== prefix[i]) throw new Error('flowsieve: a line that does not open with its flow_id');
    }
    const idStart = p;
    while (p < end && buf[p]! >= 0x30 && buf[p]! <= 0x39) p++;
    if (p === idStart) throw new Error('flowsieve: a line without a flow_id');
    this.idAt[2 * n] = idStart;
    this.idAt[2 * n + 1] = p;
  }

  /** Rows waiting to be sent (file jobs send them once per read window). */
  get pending(): number {
    return this.columns || this.text || this.scorer ? 0 : this.rows.length;
  }

  /**
   * Send what is ready; with `partial` false, column batches go only when full (one Parquet row group each), line
   * batches too (LINE_BATCH_BYTES or BATCH_ROWS).
   */
  flush(partial: boolean): void {
    if (this.scorer !== undefined) {
      // Feature batches go when full (the scorer sends them), and the last one at the end of the job.
      if (partial) this.scorer.flush();
      return;
    }
    const text = this.text;
    const columns = this.columns;
    const full = text
      ? this.lines >= BATCH_ROWS || text.pos >= LINE_BATCH_BYTES
      : columns !== undefined && columns.length >= COLUMN_BATCH_ROWS;
    if ((text || columns) && !partial && !full) {
      // Progress only: the main thread learns which flows this shard started and how far it has read.
      if (this.shard)
        this.send(
          text
            ? { type: 'lines', lines: { rows: 0, bytes: new Uint8Array(0), idAt: new Uint32Array(0) } }
            : { type: 'columns', group: { rows: 0, bytes: new Uint8Array(0), chunks: [] } },
          -1,
          [],
        );
      else this.created = [];
      return;
    }
    if (text) {
      const n = this.lines;
      const bytes = text.take(LINE_BUFFER_BYTES);
      const idAt = this.idAt.subarray(0, this.idPrefix ? 2 * n : 0);
      this.send({ type: 'lines', lines: { rows: n, bytes, idAt } }, n, [bytes.buffer, this.idAt.buffer]);
      this.lines = 0;
      // Not this.idAt.length: a transferred array is detached, of length 0.
      this.idAt = new Uint32Array(this.idPrefix ? 2 * BATCH_ROWS : 0);
    } else if (columns) {
      const n = columns.length;
      // The encoder's buffer is reused: the row group's bytes get an ArrayBuffer of their own, transferred.
      const group = ownedRowGroup(this.encoder!.encodeRowGroup(columns, this.skipColumn));
      columns.clear();
      this.send({ type: 'columns', group }, n, [group.bytes.buffer]);
    } else {
      const n = this.rows.length;
      this.send({ type: 'batch', rows: this.rows, vectors: this.vectors.subarray(0, n * K) }, n, [this.vectors.buffer]);
      this.rows = [];
      this.vectors = new Float64Array(BATCH_ROWS * K);
    }
  }

  /**
   * Post one message: its own part plus what every message carries (its rows' ordinals, the first packets of the
   * flows started since the last message, how far the shard has read), transferring `transfer` and the ordinals'
   * buffer, which is then replaced. `rows` −1: a progress message, with no rows and no ordinals.
   */
  private send(
    part:
      | { type: 'lines'; lines: LineBatch }
      | { type: 'columns'; group: EncodedRowGroup }
      | { type: 'batch'; rows: FlowRow[]; vectors: Float64Array },
    rows: number,
    transfer: ArrayBufferLike[],
  ): void {
    const created = Float64Array.from(this.created);
    const ordinals = rows >= 0 ? this.ordinals.subarray(0, rows) : new Float64Array(0);
    const msg = {
      ...part,
      job: this.jobId,
      ordinals,
      created,
      packetsSeen: this.shard ? this.shard.packetsSeen : 0,
    } as FromWorker;
    if (rows >= 0) {
      // Its length before the transfer detaches it (a detached array has length 0).
      const size = this.ordinals.length;
      this.post(msg, [...transfer, this.ordinals.buffer, created.buffer] as ArrayBuffer[]);
      this.ordinals = new Float64Array(size);
    } else this.post(msg);
    this.created = [];
  }
}

/** Options of one shard's pipeline (the same in a worker and in the main thread). */
export interface ShardRunnerOptions {
  file: string;
  flow: Partial<FlowTableOptions> | undefined;
  features: FeatureOptions | undefined;
  /** This shard's part of the live-flow cap. */
  maxFlows: number;
  sourceFileColumn: boolean;
  output: BatchOutput;
}

/**
 * One shard of a capture the main thread reads: a pipeline fed with the packets routed to it
 * (FlowPipeline.routedPacket / routedView) and the rows it finishes, batched for the merge.
 */
export class ShardRunner {
  readonly pipeline: FlowPipeline;
  private readonly batcher: RowBatcher;
  private readonly shard: ShardOptions;

  constructor(jobId: number, opts: ShardRunnerOptions, send: (msg: FromWorker, transfer?: ArrayBuffer[]) => void) {
    this.batcher = new RowBatcher(jobId, opts.output, true, send);
    this.shard = this.batcher.shard!;
    this.pipeline = new FlowPipeline({
      flow: { ...opts.flow, maxFlows: opts.maxFlows },
      meters: defaultMeters(opts.features),
      sourceFileColumn: opts.sourceFileColumn,
      shard: this.shard,
      onFlow: this.batcher.add,
    });
    this.pipeline.startFile(opts.file);
  }

  /**
   * The reader had distributed every packet before `upTo`, and its clock was `clockUs`: end the flows idle by then
   * and tell the merge (rows whose first packet precedes `upTo` may be released once every shard got there).
   */
  progress(clockUs: number, upTo: number): void {
    this.pipeline.advanceClock(clockUs);
    this.shard.packetsSeen = upTo;
    this.batcher.flush(false);
  }

  /** End of the capture: the remaining flows end, every row is sent; returns this shard's counters. */
  finish(): ExtractStats {
    this.pipeline.endFile();
    const stats = this.pipeline.finish();
    this.shard.packetsSeen = Number.POSITIVE_INFINITY;
    this.batcher.flush(true);
    return stats;
  }
}
