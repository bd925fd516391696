/**
 * `extract --threads N`: the pipeline on N worker threads, rows merged in the main thread (which feeds the sink).
 *
 * - One input file: every worker reads the whole file and keeps the flows whose symmetric key hash falls in its
 *   shard (ShardOptions in src/pipeline.ts). Measured on the 526 MB lab capture (bench/extract.ts): reading and
 *   decoding a packet costs a small fraction of metering it and building its row, so N readers cost less than one
 *   reader handing packet copies to N workers, and no packet bytes cross threads.
 * - Several input files: one worker per file at a time, each file read whole (flow ids are per file anyway).
 * - stdin cannot be read twice: it runs single-threaded.
 *
 * Results equal the single-threaded run (test/parallel): the same rows (in another order), and the same counters.
 * flow_id is the rank of the flow's first packet among all flows of the file: each shard reports the ordinals of
 * the first packets of the flows it starts, and a row is released once every shard has read past its first packet,
 * so its rank is known. Differences remain only when the live-flow cap evicts flows (each worker holds
 * max-flows / N flows, and the least recently seen flow of a shard is not that of the whole table).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { listInputs } from '../capture/index.ts';
import { defaultMeters, type FeatureOptions } from '../features/index.ts';
import type { FlowRow } from '../features/meter.ts';
import { FlowRecord } from '../features/record.ts';
import { STATS_COLUMNS, STATS_VECTOR } from '../features/stats.ts';
import type { FlowSink } from '../output/index.ts';
import type { EncodedRowGroup } from '../output/parquet.ts';
import { type ExtractOptions, type ExtractStats, emptyStats, runExtract } from '../pipeline.ts';
import type { FromWorker, ToWorker } from './messages.ts';

export interface ParallelExtractOptions extends Omit<ExtractOptions, 'meters' | 'shard'> {
  /** Worker threads (≥ 2 to run in parallel; 1 runs the ordinary single-threaded pipeline). */
  threads: number;
  /** Meter options: every worker builds its own default meters from them. */
  features?: FeatureOptions;
  /**
   * A Parquet sink's columnar entry (FlowSink.columnar): workers then encode the row groups themselves and the
   * main thread only merges and writes them (plus the flow_id column of shards); `onFlow` is not called. Without it rows are sent to `onFlow`.
   */
  columnar?: NonNullable<FlowSink['columnar']>;
}

/** A sensible default for --threads: the cores Node may use. */
export function defaultThreads(): number {
  return availableParallelism();
}

const K = STATS_COLUMNS.length;

/** Rebuild a row from its structured clone and its stats vector (see src/parallel/worker.ts). */
function rebuildRow(plain: FlowRow, vectors: Float64Array, i: number): FlowRecord {
  const row = new FlowRecord(plain);
  if (K > 0) row[STATS_VECTOR] = vectors.subarray(i * K, (i + 1) * K);
  return row;
}

/** Growable sorted list of first-packet ordinals of the flows one shard started. */
class OrdinalList {
  private data = new Float64Array(1024);
  length = 0;
  append(values: Float64Array): void {
    if (this.length + values.length > this.data.length) {
      let size = this.data.length * 2;
      while (size < this.length + values.length) size *= 2;
      const d = new Float64Array(size);
      d.set(this.data.subarray(0, this.length));
      this.data = d;
    }
    this.data.set(values, this.length);
    this.length += values.length;
  }
  /** How many ordinals are < p (binary search; ordinals arrive in increasing order). */
  countBelow(p: number): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.data[mid]! < p) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
}

/**
 * Merge one job's counters. `wholeInput` is false for shards other than 0: their file-level counters (bytes,
 * files, warnings, errors) duplicate shard 0's.
 */
function mergeStats(into: ExtractStats, s: ExtractStats, wholeInput: boolean): void {
  into.packets_read += s.packets_read;
  into.packets_in_flows += s.packets_in_flows;
  addCounts(into.dropped, s.dropped);
  into.flows += s.flows;
  addCounts(into.flows_by_end_reason, s.flows_by_end_reason);
  into.evictions += s.evictions;
  addCounts(into.anomalies, s.anomalies);
  if (s.first_seen_us !== null && (into.first_seen_us === null || s.first_seen_us < into.first_seen_us))
    into.first_seen_us = s.first_seen_us;
  if (s.last_seen_us !== null && (into.last_seen_us === null || s.last_seen_us > into.last_seen_us))
    into.last_seen_us = s.last_seen_us;
  if (!wholeInput) return;
  into.bytes_read += s.bytes_read;
  into.files.push(...s.files);
  into.warnings += s.warnings;
  into.file_errors.push(...s.file_errors);
}

/**
 * Start a worker: the bundled dist/parallel/worker.mjs when this code runs from the bundle (`npm run build`), else
 * src/parallel/worker.ts through tsx's loader.
 */
function startWorker(config: unknown): Worker {
  if (!import.meta.url.endsWith('.ts')) {
    // Bundled: this code is part of <outdir>/cli/main.mjs, beside <outdir>/parallel/worker.mjs.
    return new Worker(new URL('../parallel/worker.mjs', import.meta.url), { workerData: config });
  }
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./worker.ts', import.meta.url).href;
  // A worker does not inherit loader hooks registered at run time (bin/flowsieve.js registers tsx that way).
  const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true, workerData: config });
}

export async function runParallelExtract(opts: ParallelExtractOptions): Promise<ExtractStats> {
  const started = performance.now();
  const files = await listInputs(opts.inputs);
  const threads = Math.max(1, Math.floor(opts.threads));
  if (threads < 2 || files.length === 0 || files.includes('-')) {
    return runExtract({ ...opts, meters: defaultMeters(opts.features) });
  }
  const sourceFileColumn = opts.sourceFileColumn ?? files.length > 1;
  const sharded = files.length === 1;
  const workerCount = sharded ? threads : Math.min(threads, files.length);
  const stats = emptyStats();
  const workers: Worker[] = [];
  for (let w = 0; w < workerCount; w++) workers.push(startWorker({ flow: opts.flow, features: opts.features }));

  // Shard bookkeeping (one file read by every worker).
  const created = workers.map(() => new OrdinalList());
  const seen = workers.map(() => 0);
  const pending: {
    rows: FlowRow[] | null;
    group: EncodedRowGroup | null;
    count: number;
    vectors: Float64Array;
    ordinals: Float64Array;
    maxOrdinal: number;
  }[] = [];
  const emit = (row: FlowRow) => {
    opts.onFlow(row);
  };
  const releaseShardRows = () => {
    let floor = Number.POSITIVE_INFINITY;
    for (const s of seen) if (s < floor) floor = s;
    // Release every batch whose rows' first packets all precede what every shard has read.
    let keep = 0;
    for (let b = 0; b < pending.length; b++) {
      const batch = pending[b]!;
      if (batch.maxOrdinal >= floor) {
        pending[keep++] = batch;
        continue;
      }
      const ids = new Float64Array(batch.count);
      for (let i = 0; i < batch.count; i++) {
        const p = batch.ordinals[i]!;
        let id = 1;
        for (const list of created) id += list.countBelow(p);
        ids[i] = id;
      }
      if (batch.group) opts.columnar!.write(batch.group, ids);
      else {
        for (let i = 0; i < batch.count; i++) {
          const row = rebuildRow(batch.rows![i]!, batch.vectors, i);
          row.flow_id = ids[i]!;
          emit(row);
        }
      }
    }
    pending.length = keep;
  };

  // Jobs: the shards of the one file, or one job per file.
  const jobs: ToWorker[] = sharded
    ? workers.map((_, w) => ({
        type: 'job',
        id: w,
        file: files[0]!,
        shard: { index: w, count: workerCount },
        sourceFileColumn,
        columns: opts.columnar?.columns,
        reportWarnings: w === 0,
        reportProgress: w === 0,
      }))
    : files.map((file, i) => ({
        type: 'job',
        id: i,
        file,
        sourceFileColumn,
        columns: opts.columnar?.columns,
        reportWarnings: true,
        reportProgress: true,
      }));
  const jobStats: (ExtractStats | undefined)[] = jobs.map(() => undefined);
  let nextJob = 0;
  const jobPackets = jobs.map(() => 0);

  await new Promise<void>((resolve, reject) => {
    let running = workers.length;
    let failed = false;
    const fail = (e: Error) => {
      if (failed) return;
      failed = true;
      for (const w of workers) void w.terminate();
      reject(e);
    };
    const assign = (w: number) => {
      const job = jobs[nextJob++];
      if (job === undefined) {
        workers[w]!.postMessage({ type: 'exit' } satisfies ToWorker);
        if (--running === 0) resolve();
        return;
      }
      workers[w]!.postMessage(job);
    };
    workers.forEach((worker, w) => {
      worker.on('error', fail);
      worker.on('exit', (code) => {
        if (code !== 0) fail(new Error(`flowsieve: worker ${w} exited with code ${code}`));
      });
      worker.on('message', (msg: FromWorker) => {
        try {
          switch (msg.type) {
            case 'batch':
              if (!sharded) {
                for (let i = 0; i < msg.rows.length; i++) emit(rebuildRow(msg.rows[i]!, msg.vectors, i));
                return;
              }
              created[w]!.append(msg.created);
              seen[w] = msg.packetsSeen;
              if (msg.rows.length > 0) {
                let max = -1;
                for (const p of msg.ordinals) if (p > max) max = p;
                pending.push({
                  rows: msg.rows,
                  group: null,
                  count: msg.rows.length,
                  vectors: msg.vectors,
                  ordinals: msg.ordinals,
                  maxOrdinal: max,
                });
              }
              releaseShardRows();
              return;
            case 'columns':
              if (!sharded) {
                opts.columnar!.write(msg.group);
                return;
              }
              created[w]!.append(msg.created);
              seen[w] = msg.packetsSeen;
              if (msg.group.rows > 0) {
                let max = -1;
                for (const p of msg.ordinals) if (p > max) max = p;
                pending.push({
                  rows: null,
                  group: msg.group,
                  count: msg.group.rows,
                  vectors: new Float64Array(0),
                  ordinals: msg.ordinals,
                  maxOrdinal: max,
                });
              }
              releaseShardRows();
              return;
            case 'warning':
              opts.onWarning?.(msg.warning);
              return;
            case 'progress': {
              const job = jobs[msg.job] as Extract<ToWorker, { type: 'job' }>;
              jobPackets[msg.job] = msg.packets;
              opts.onProgress?.({
                file: job.file,
                fileIndex: sharded ? 0 : msg.job,
                files: files.length,
                bytesRead: msg.bytesRead,
                totalBytes: msg.totalBytes,
                packets: sharded ? msg.packets : jobPackets.reduce((a, b) => a + b, 0),
              });
              return;
            }
            case 'done':
              jobStats[msg.job] = msg.stats;
              assign(w);
              return;
            case 'error':
              fail(Object.assign(new Error(msg.message), { stack: msg.stack }));
              return;
          }
        } catch (e) {
          fail(e as Error);
        }
      });
      assign(w);
    });
  });
  if (sharded) {
    seen.fill(Number.POSITIVE_INFINITY);
    releaseShardRows();
  }
  jobStats.forEach((s, i) => {
    if (s) mergeStats(stats, s, !sharded || i === 0);
  });
  stats.elapsed_s = (performance.now() - started) / 1000;
  return stats;
}
