/**
 * `extract --threads N`: the pipeline on N threads, rows merged in the main thread (which feeds the sink).
 *
 * - One input file: the main thread reads it and decodes each packet just enough to find its flow (the decoder
 *   resolves tunnels to the inner flow; IP fragments take the ports of their first fragment), and each flow belongs
 *   to one of N shards by its symmetric key hash, so both directions reach one shard (ShardOptions in
 *   src/pipeline.ts). Shard 0 runs in the main thread itself, on the packet it just decoded; the packets of the
 *   other shards are copied into a shared-memory ring per worker (src/parallel/ring.ts: bounded, so memory stays
 *   flat, and no message per packet), which the worker replays through its own pipeline. DNS packets go to every
 *   shard, for the DNS meter's cross-flow context. The main thread's share is smaller (mainShare), since it also
 *   reads. Why the main thread works too: on 2 cores a third busy thread only adds switching, and every thread that
 *   meters pays its own warm-up (V8 compiles the hot code again in each isolate, about 0.7 CPU-s on the lab capture).
 *   The former design — every worker reading and decoding the whole file — paid the per-packet work N times and made
 *   2 threads slower than 1 (lab500: 4.5-6.5 s wall against 3.5 s).
 * - Several input files: one worker per file at a time, each file read whole (flow ids are per file anyway).
 * - Output: rows reach the main thread (onFlow) only for a row listener. For a Parquet sink the shards encode
 *   whole row groups, for a CSV/JSONL sink they format the lines, with the sink's own code (src/parallel/batcher.ts);
 *   the main thread only writes the bytes, filling in the flow ids.
 * - stdin runs single-threaded.
 *
 * Results equal the single-threaded run (test/parallel): the same rows (in another order), and the same counters.
 * flow_id is the rank of the flow's first packet among all flows of the file: each shard reports the ordinals of
 * the first packets of the flows it starts, and a row is released once every shard has handled every packet before
 * its first packet, so its rank is known. Each packet carries the reader's flow-table clock (the largest timestamp
 * so far), so a late packet meets the same clock as in one table; idle and linger times count on that clock
 * (src/flow/table.ts), so when a flow ends does not depend on the other flows of its table. Differences remain when
 * the live-flow cap evicts flows (each shard holds its share of max-flows, and the least recently seen flow of a
 * shard is not that of the whole table).
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { CaptureError, listInputs, readCapture } from '../capture/index.ts';
import { defaultMeters, type FeatureOptions } from '../features/index.ts';
import type { FlowRow } from '../features/meter.ts';
import { FlowRecord } from '../features/record.ts';
import { STATS_COLUMNS, STATS_VECTOR } from '../features/stats.ts';
import { KEY_WORDS, packetKeyHash } from '../flow/key.ts';
import { DEFAULT_FLOW_OPTIONS } from '../flow/table.ts';
import type { ModelFile } from '../ml/model.ts';
import { type FlowSink, type LineBatch, lineFormat } from '../output/index.ts';
import type { EncodedRowGroup } from '../output/parquet.ts';
import {
  addFileSummary,
  type ExtractOptions,
  type ExtractStats,
  emptyStats,
  FlowPipeline,
  flowShard,
  isDnsFlow,
  runExtract,
  type ShardRouter,
} from '../pipeline.ts';
import { startWorker } from '../util/worker.ts';
import { ShardRunner } from './batcher.ts';
import type { BatchOutput, FromWorker, StagedIdentity, ToWorker } from './messages.ts';
import { createRing, markRingFailed, OWNED, type RingBuffers, RingWriter } from './ring.ts';

export interface ParallelExtractOptions extends Omit<ExtractOptions, 'meters'> {
  /**
   * Threads (≥ 2 to run in parallel; 1 runs the ordinary single-threaded pipeline). One file: the main thread and
   * threads − 1 workers each run a shard. Several files: up to `threads` workers, one file each.
   */
  threads: number;
  /** Meter options: every shard or file job builds its own default meters from them. */
  features?: FeatureOptions;
  /**
   * A Parquet sink's columnar entry (FlowSink.columnar): workers then encode the row groups themselves and the
   * main thread only merges and writes them (plus the flow_id column of shards); `onFlow` is not called. Without it
   * (and without `lines`) rows are sent to `onFlow`.
   */
  columnar?: NonNullable<FlowSink['columnar']>;
  /**
   * A CSV/JSONL sink's entry for lines formatted elsewhere (FlowSink.lines): workers format the lines themselves
   * and the main thread only merges and writes them (replacing the flow ids of shards); `onFlow` is not called.
   */
  lines?: NonNullable<FlowSink['lines']>;
  /**
   * Read even a single file whole in a worker (one job per file), instead of sharding it: for a caller whose row
   * listener is the main thread's heavy work (classify scores every row), so that thread is not also the reader and
   * a shard.
   */
  wholeFiles?: boolean;
  /**
   * Stage a model's features in the workers (classify): each file is read whole by a worker, whose scorer stages
   * every batch of its flows (FlowScorer, src/score.ts) and sends the feature matrix with the rows' identity
   * (StagedIdentity) to `onBatch`, in the order one thread would; the forest then runs in this thread
   * (scoreStaged). Rows do not cross threads, and `onFlow` is not called. Jobs run one file after another, so
   * batches of different files do not interleave.
   */
  staged?: {
    model: ModelFile;
    withSourceFile: boolean;
    onBatch: (n: number, x: Float32Array, identity: StagedIdentity) => void;
  };
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

/** Add one job's counters (a worker's, or the reader's in a sharded run) to the run's. */
function mergeStats(into: ExtractStats, s: ExtractStats): void {
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
  into.bytes_read += s.bytes_read;
  into.files.push(...s.files);
  into.warnings += s.warnings;
  into.file_errors.push(...s.file_errors);
}

/** Raised by the reader when a worker flagged its ring failed; the worker's own error follows as a message. */
class WorkerFailed extends Error {}

/**
 * The main thread's share of the flows when it also reads the capture, for `threads` threads: with READER_COST the
 * main thread's extra work (reading, decoding and routing every packet, the merge) in units of metering all flows,
 * equal time per thread gives (1 − READER_COST·(threads − 1)) / threads. READER_COST is calibrated rather than
 * measured alone (each worker also pays its own warm-up). 0.2 (40% with 2 threads) balanced the two threads on
 * lab500 to Parquet in session 3 (main 2.2 CPU-s, worker 2.1); since the statistics meter and the flow table got
 * cheaper, the main thread's reading and copying weigh more, and 0.35 (32.5%) ran fastest: lab500 --threads 2 to
 * Parquet, three interleaved runs at load 1, 2.88–3.19 s wall against 3.33–3.61 s with 0.2 and 3.15–3.80 s with 0.05.
 * With formatted lines (CSV, JSONL), LINES_READER_COST: the main thread also copies and writes every shard's lines
 * and replaces their flow ids. Calibrated on lab500 (three runs per share; 2 cores shared with other sessions, load
 * 6–9): main and worker thread CPU-s balanced at a share of 0.3–0.35 for JSONL (0.35: 2.85 and 2.85 CPU-s) and
 * about 0.3 for CSV (1.76 and 1.66); 0.35 gives the main thread 32.5% with 2 threads.
 * When rows come to the main thread (an onFlow listener) rather than encoded Parquet row groups or formatted lines,
 * it also handles every row, which may cost more than metering them (lab500, 40% share, when CSV and JSONL were
 * formatted there: main thread 5.7 CPU-s against the worker's 2.0 for JSONL, 3.5 against 1.9 for CSV): it then
 * keeps only MIN_MAIN_SHARE, the share it keeps in any case — its own pipeline is what lets it work instead of
 * waiting on a full ring.
 */
const READER_COST = 0.35;
const LINES_READER_COST = 0.35;
const MIN_MAIN_SHARE = 0.05;
function mainShare(threads: number, output: BatchOutput): number {
  if (output === undefined) return MIN_MAIN_SHARE;
  const readerCost = output.kind === 'lines' ? LINES_READER_COST : READER_COST;
  return Math.max(MIN_MAIN_SHARE, (1 - readerCost * (threads - 1)) / threads);
}

/**
 * The main thread's part of a sharded run: read the capture, count what becomes no flow, run the flows of shard 0
 * itself (`local`) and append every other packet to the ring of its flow's shard (DNS packets to every shard).
 * Returns the reader's counters: packets that became no flow and the file-level ones (bytes, files, warnings,
 * file errors).
 */
async function readShards(
  file: string,
  local: ShardRunner,
  rings: RingBuffers[],
  share0: number,
  opts: ParallelExtractOptions,
): Promise<ExtractStats> {
  const count = rings.length + 1;
  const writers = rings.map(
    (r) =>
      new RingWriter(r, (stalled) => {
        if (stalled) throw new Error('flowsieve: a worker stopped taking packets for 2 minutes');
        throw new WorkerFailed('flowsieve: a worker failed');
      }),
  );
  const key = new Uint32Array(KEY_WORDS);
  const own = local.pipeline;
  // The flow table's clock in a single-threaded run: the largest timestamp of any flow packet so far.
  let clockUs = 0;
  const router: ShardRouter = {
    route(view, buf, offset, capLen, wireLen, tsUs, linkType, ordinal) {
      if (tsUs > clockUs) clockUs = tsUs;
      const owner = flowShard(packetKeyHash(view, key), count, share0);
      const ports = ((view.srcPort << 16) | view.dstPort) >>> 0;
      if (isDnsFlow(view)) {
        for (let w = 1; w < count; w++) {
          const flags = w === owner ? OWNED : 0;
          writers[w - 1]!.append(buf, offset, capLen, wireLen, tsUs, linkType, ordinal, clockUs, flags, ports);
        }
        own.routedView(view, ordinal, clockUs, owner === 0);
      } else if (owner === 0) own.routedView(view, ordinal, clockUs, true);
      else writers[owner - 1]!.append(buf, offset, capLen, wireLen, tsUs, linkType, ordinal, clockUs, OWNED, ports);
    },
  };
  const reader = new FlowPipeline({ flow: opts.flow, meters: [], onFlow: () => {}, sourceFileColumn: false, router });
  const stats = reader.stats;
  reader.startFile(file);
  try {
    const summary = await readCapture(file, reader.packet, {
      onWarning: (w) => {
        stats.warnings++;
        opts.onWarning?.(w);
      },
      onProgress: (bytesRead, totalBytes) => {
        // Once per read window: every shard learns the clock and how far packets were distributed, so it ends
        // idle flows and the merge can release rows even when a ring fills slowly.
        const upTo = reader.packetsOfFile;
        for (const w of writers) w.flush(clockUs, upTo, false);
        local.progress(clockUs, upTo);
        opts.onProgress?.({ file, fileIndex: 0, files: 1, bytesRead, totalBytes, packets: upTo });
      },
    });
    addFileSummary(stats, file, summary);
  } catch (e) {
    if (!(e instanceof CaptureError)) throw e;
    // Not a capture at all: recorded like the single-threaded run does; the shards end with no packets.
    stats.file_errors.push({ file, code: e.code, offset: e.offset, message: e.message });
  } finally {
    reader.endFile();
  }
  // The last flow packet's clock ended the flows idle by then in the single-threaded table too.
  for (const w of writers) w.flush(clockUs, reader.packetsOfFile, true);
  local.progress(clockUs, reader.packetsOfFile);
  return stats;
}

export async function runParallelExtract(opts: ParallelExtractOptions): Promise<ExtractStats> {
  const started = performance.now();
  const threads = Math.max(1, Math.floor(opts.threads));
  if (opts.staged && (threads < 2 || opts.inputs.includes('-'))) {
    throw new Error('flowsieve: staged feature batches need a worker thread and capture files');
  }
  const files = await listInputs(opts.inputs);
  if (threads < 2 || files.length === 0 || files.includes('-')) {
    return runExtract({ ...opts, meters: defaultMeters(opts.features) });
  }
  const sourceFileColumn = opts.sourceFileColumn ?? files.length > 1;
  const staged = opts.staged;
  const sharded = files.length === 1 && opts.wholeFiles !== true && staged === undefined;
  // One file: the main thread reads it and runs shard 0, the workers the other shards (see readShards). Staged
  // batches: one worker, the main thread scoring what it stages.
  const workerCount = sharded ? threads - 1 : staged ? 1 : Math.min(threads, files.length);
  const stats = emptyStats();
  const workers: Worker[] = [];
  for (let w = 0; w < workerCount; w++)
    workers.push(startWorker('parallel/worker', { flow: opts.flow, features: opts.features }));
  const rings = sharded ? workers.map(() => createRing()) : [];
  const output: BatchOutput = staged
    ? { kind: 'features', model: staged.model, withSourceFile: staged.withSourceFile }
    : opts.columnar
      ? { kind: 'columns', columns: opts.columnar.columns, compression: opts.columnar.compression }
      : opts.lines
        ? { kind: 'lines', spec: opts.lines.spec }
        : undefined;
  const share0 = mainShare(threads, output);
  /** Whether the lines of shards hold flow ids for the merge to replace. */
  const linesHaveIds = opts.lines !== undefined && lineFormat(opts.lines.spec).hasFlowId;
  const maxFlows = opts.flow?.maxFlows ?? DEFAULT_FLOW_OPTIONS.maxFlows;
  /** Each shard holds its part of the live-flow cap. */
  const shardMaxFlows = (share: number) => Math.max(1, Math.ceil(maxFlows * share));

  // Shard bookkeeping (one file): shard 0 is the main thread's, shard w + 1 worker w's.
  const shardCount = sharded ? threads : 0;
  const created = Array.from({ length: shardCount }, () => new OrdinalList());
  const seen = Array.from({ length: shardCount }, () => 0);
  const pending: {
    rows: FlowRow[] | null;
    group: EncodedRowGroup | null;
    lines: LineBatch | null;
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
    // Release every batch whose rows' first packets all precede what every shard has handled.
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
      else if (batch.lines) opts.lines!.write(batch.lines, linesHaveIds ? ids : undefined);
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
  /** Rows (or a row group) and progress of shard `shard`: wait until every shard has passed their first packets. */
  const shardBatch = (shard: number, msg: Extract<FromWorker, { type: 'batch' | 'columns' | 'lines' }>) => {
    created[shard]!.append(msg.created);
    seen[shard] = msg.packetsSeen;
    const count = msg.type === 'batch' ? msg.rows.length : msg.type === 'columns' ? msg.group.rows : msg.lines.rows;
    if (count > 0) {
      let max = -1;
      for (const p of msg.ordinals) if (p > max) max = p;
      pending.push({
        rows: msg.type === 'batch' ? msg.rows : null,
        group: msg.type === 'columns' ? msg.group : null,
        lines: msg.type === 'lines' ? msg.lines : null,
        count,
        vectors: msg.type === 'batch' ? msg.vectors : new Float64Array(0),
        ordinals: msg.ordinals,
        maxOrdinal: max,
      });
    }
    releaseShardRows();
  };

  // Jobs: the shards of the one file, or one job per file.
  const jobs: Extract<ToWorker, { type: 'job' | 'shard' }>[] = sharded
    ? workers.map((_, w) => ({
        type: 'shard',
        id: w,
        file: files[0]!,
        maxFlows: shardMaxFlows((1 - share0) / workerCount),
        ring: rings[w]!,
        sourceFileColumn,
        output,
      }))
    : files.map((file, i) => ({ type: 'job', id: i, file, sourceFileColumn, output }));
  const jobStats: (ExtractStats | undefined)[] = jobs.map(() => undefined);
  let nextJob = 0;
  const jobPackets = jobs.map(() => 0);

  let failed = false;
  const finished = new Promise<void>((resolve, reject) => {
    let running = workers.length;
    const fail = (e: Error) => {
      if (failed) return;
      failed = true;
      for (const w of workers) void w.terminate();
      // The reader stops at its next wait for a ring slot (WorkerFailed) instead of waiting for stopped workers.
      for (const r of rings) markRingFailed(r);
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
              if (sharded) shardBatch(w + 1, msg);
              else for (let i = 0; i < msg.rows.length; i++) emit(rebuildRow(msg.rows[i]!, msg.vectors, i));
              return;
            case 'columns':
              if (sharded) shardBatch(w + 1, msg);
              else opts.columnar!.write(msg.group);
              return;
            case 'lines':
              if (sharded) shardBatch(w + 1, msg);
              else opts.lines!.write(msg.lines);
              return;
            case 'features':
              staged!.onBatch(msg.n, msg.x, msg.identity);
              return;
            case 'warning':
              opts.onWarning?.(msg.warning);
              return;
            case 'progress': {
              const job = jobs[msg.job]!;
              jobPackets[msg.job] = msg.packets;
              opts.onProgress?.({
                file: job.file,
                fileIndex: msg.job,
                files: files.length,
                bytesRead: msg.bytesRead,
                totalBytes: msg.totalBytes,
                packets: jobPackets.reduce((a, b) => a + b, 0),
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
  // Awaited once the reader is done: a failure while it reads (a worker's error, the output pipe closed in the
  // merge) must not count as an unhandled rejection meanwhile.
  finished.catch(() => {});
  if (sharded) {
    try {
      const local = new ShardRunner(
        -1,
        {
          file: files[0]!,
          flow: opts.flow,
          features: opts.features,
          maxFlows: shardMaxFlows(share0),
          sourceFileColumn,
          output,
        },
        (msg) => {
          if (msg.type === 'batch' || msg.type === 'columns' || msg.type === 'lines') shardBatch(0, msg);
        },
      );
      mergeStats(stats, await readShards(files[0]!, local, rings, share0, opts));
      mergeStats(stats, local.finish());
    } catch (e) {
      // A worker's failure surfaces as its own error (below); anything else stops the workers.
      if (!(e instanceof WorkerFailed)) {
        for (const w of workers) void w.terminate();
        throw e;
      }
    }
  }
  await finished;
  if (sharded) {
    seen.fill(Number.POSITIVE_INFINITY);
    releaseShardRows();
  }
  for (const s of jobStats) if (s) mergeStats(stats, s);
  stats.elapsed_s = (performance.now() - started) / 1000;
  return stats;
}
