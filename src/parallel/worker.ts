/**
 * A worker thread of `runParallelExtract` (src/parallel/extract.ts). It runs the ordinary pipeline over one job
 * at a time and streams finished rows back in batches:
 * - shard job: one capture file, every packet read, only the flows of shard `index` of `count` kept
 *   (see ShardOptions in src/pipeline.ts);
 * - file job: one whole capture file (several inputs are spread over the workers, one file per job).
 *
 * Rows cross the thread boundary as structured clones of their own properties (identity, source_file and the
 * meters' groups, in the order they were set, absent keys stay absent) plus one Float64Array holding the stats
 * vectors of the batch (a Symbol-keyed property is not cloned) — the main thread rebuilds identical FlowRecords.
 * With a Parquet sink (job.columns) the worker instead encodes Parquet row groups itself (src/output/parquet.ts)
 * and transfers their bytes; a shard leaves out the flow_id column, which the main thread's merge assigns.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { defaultMeters, type FeatureOptions } from '../features/index.ts';
import type { FlowRow } from '../features/meter.ts';
import { statsVector } from '../features/record.ts';
import { STATS_COLUMNS } from '../features/stats.ts';
import { DEFAULT_FLOW_OPTIONS, type FlowTableOptions } from '../flow/table.ts';
import { ChunkEncoder, ColumnBuffers, flowIdIndex, ownedRowGroup } from '../output/parquet.ts';
import { runExtract, type ShardOptions } from '../pipeline.ts';
import type { FromWorker, ToWorker } from './messages.ts';

/** Rows per message: large enough to amortise postMessage, small enough to keep the main thread busy early. */
const BATCH_ROWS = 4096;
/**
 * Rows per column batch: each batch is one Parquet row group, encoded here and written as is by the main thread.
 * 8192 rather than the single-threaded sink's 32768 (PARQUET_ROW_GROUP_ROWS): a batch waits in the main thread
 * until every shard has read past its flows, so smaller batches keep the merge's memory down; the file is a little
 * larger (lab500: 3.7 MB with 2 threads against 1.5 MB with one).
 */
const COLUMN_BATCH_ROWS = 8192;

interface WorkerConfig {
  flow?: Partial<FlowTableOptions>;
  features?: FeatureOptions;
}

const config = workerData as WorkerConfig;
const port = parentPort!;
const K = STATS_COLUMNS.length;

function post(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

async function runJob(job: Extract<ToWorker, { type: 'job' }>): Promise<void> {
  let rows: FlowRow[] = [];
  let vectors = new Float64Array(BATCH_ROWS * K);
  let ordinals = new Float64Array(BATCH_ROWS);
  let created: number[] = [];
  const shard: ShardOptions | undefined = job.shard
    ? {
        index: job.shard.index,
        count: job.shard.count,
        flowOrdinal: 0,
        packetsSeen: 0,
        onFlowCreated: (ordinal) => {
          created.push(ordinal);
        },
      }
    : undefined;
  const columns = job.columns ? new ColumnBuffers(job.columns, COLUMN_BATCH_ROWS) : undefined;
  const encoder = columns ? new ChunkEncoder() : undefined;
  // A shard's flow ids are assigned by the main thread's merge: that column is encoded there.
  const skipColumn = columns && shard ? flowIdIndex(columns.columns) : -1;
  if (columns) ordinals = new Float64Array(COLUMN_BATCH_ROWS);
  /** Send what is ready; with `partial` false, column batches go only when full (one Parquet row group each). */
  const flush = (partial: boolean) => {
    if (columns) {
      if (!partial && columns.length < COLUMN_BATCH_ROWS) {
        // Progress only: the main thread learns which flows this shard started and how far it has read.
        if (shard)
          post({
            type: 'columns',
            job: job.id,
            group: { rows: 0, bytes: new Uint8Array(0), chunks: [] },
            ordinals: new Float64Array(0),
            created: Float64Array.from(created),
            packetsSeen: shard.packetsSeen,
          });
        created = [];
        return;
      }
      const n = columns.length;
      // The encoder's buffer is reused: the row group's bytes get an ArrayBuffer of their own, transferred.
      const group = ownedRowGroup(encoder!.encodeRowGroup(columns, skipColumn));
      columns.clear();
      const msg: FromWorker = {
        type: 'columns',
        job: job.id,
        group,
        ordinals: ordinals.subarray(0, n),
        created: Float64Array.from(created),
        packetsSeen: shard ? shard.packetsSeen : 0,
      };
      post(msg, [group.bytes.buffer as ArrayBuffer, ordinals.buffer as ArrayBuffer, msg.created.buffer as ArrayBuffer]);
      ordinals = new Float64Array(COLUMN_BATCH_ROWS);
      created = [];
      return;
    }
    const n = rows.length;
    const msg: FromWorker = {
      type: 'batch',
      job: job.id,
      rows,
      vectors: vectors.subarray(0, n * K),
      ordinals: ordinals.subarray(0, n),
      created: Float64Array.from(created),
      packetsSeen: shard ? shard.packetsSeen : 0,
    };
    post(msg, [vectors.buffer as ArrayBuffer, ordinals.buffer as ArrayBuffer, msg.created.buffer as ArrayBuffer]);
    rows = [];
    vectors = new Float64Array(BATCH_ROWS * K);
    ordinals = new Float64Array(BATCH_ROWS);
    created = [];
  };
  // The live-flow cap holds for the whole run: each shard keeps its share of it.
  const flow: Partial<FlowTableOptions> | undefined =
    job.shard && config.flow?.maxFlows !== undefined
      ? { ...config.flow, maxFlows: Math.max(1, Math.ceil(config.flow.maxFlows / job.shard.count)) }
      : job.shard
        ? { ...config.flow, maxFlows: Math.ceil(DEFAULT_FLOW_OPTIONS.maxFlows / job.shard.count) }
        : config.flow;
  const stats = await runExtract({
    inputs: [job.file],
    flow,
    meters: defaultMeters(config.features),
    sourceFileColumn: job.sourceFileColumn,
    shard,
    onWarning: job.reportWarnings ? (w) => post({ type: 'warning', job: job.id, warning: w }) : undefined,
    onProgress: (p) => {
      // Once per read window: let the main thread advance (ids are final once every shard has passed them).
      if (shard || rows.length > 0) flush(false);
      if (job.reportProgress)
        post({
          type: 'progress',
          job: job.id,
          bytesRead: p.bytesRead,
          totalBytes: p.totalBytes,
          packets: shard ? shard.packetsSeen : p.packets,
        });
    },
    onFlow: (row) => {
      if (columns) {
        ordinals[columns.length] = shard ? shard.flowOrdinal : 0;
        columns.add(row);
        if (columns.length >= COLUMN_BATCH_ROWS) flush(false);
        return;
      }
      const i = rows.length;
      const v = statsVector(row);
      if (v) vectors.set(v, i * K);
      else vectors.fill(Number.NaN, i * K, (i + 1) * K);
      ordinals[i] = shard ? shard.flowOrdinal : 0;
      rows.push(row);
      if (rows.length >= BATCH_ROWS) flush(false);
    },
  });
  if (shard) shard.packetsSeen = Number.POSITIVE_INFINITY;
  flush(true);
  post({ type: 'done', job: job.id, stats });
}

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'exit') {
    port.close();
    return;
  }
  runJob(msg).catch((e: unknown) => {
    const err = e as Error;
    post({ type: 'error', job: msg.id, message: err?.message ?? String(e), stack: err?.stack ?? '' });
  });
});
