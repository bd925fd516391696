/**
 * A worker thread of `runParallelExtract` (src/parallel/extract.ts). It runs the ordinary pipeline over one job
 * at a time and streams finished rows back in batches (src/parallel/batcher.ts):
 * - shard job: the flows of one shard of a capture the main thread reads; the packets arrive on a shared-memory
 *   ring (src/parallel/ring.ts) and are replayed through FlowPipeline.routedPacket (see ShardOptions in
 *   src/pipeline.ts). The worker blocks on the ring between slots: it has nothing else to do;
 * - file job: one whole capture file (several inputs are spread over the workers, one file per job).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { defaultMeters, type FeatureOptions } from '../features/index.ts';
import type { FlowTableOptions } from '../flow/table.ts';
import { extractFiles, FlowPipeline } from '../pipeline.ts';
import { RowBatcher, ShardRunner } from './batcher.ts';
import type { FromWorker, ToWorker } from './messages.ts';
import { consumeRing, markRingFailed, OWNED } from './ring.ts';

interface WorkerConfig {
  flow?: Partial<FlowTableOptions>;
  features?: FeatureOptions;
}

const config = workerData as WorkerConfig;
const port = parentPort!;

function post(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

/**
 * The pipeline of file jobs, kept from job to job: the same meters and closures for every file this worker is
 * given, so the code V8 optimized for one file serves the next. A pipeline per job made each job's closures new,
 * and the optimized code that had inlined the last job's ones was thrown away and compiled again: extract
 * --threads 2 of 16 captures took 10.4–12.0 CPU-s against 6.5–6.9 with one thread (the same files, node
 * --trace-opt: each worker compiled the table and meter methods once per file).
 */
let filePipeline: { pipeline: FlowPipeline; sourceFileColumn: boolean } | undefined;

/** One whole file, through the worker's file pipeline. */
async function runFileJob(job: Extract<ToWorker, { type: 'job' }>): Promise<void> {
  const started = performance.now();
  const batcher = new RowBatcher(job.id, job.output, false, post);
  if (filePipeline?.sourceFileColumn !== job.sourceFileColumn) {
    const pipeline = new FlowPipeline({
      flow: config.flow,
      meters: defaultMeters(config.features),
      sourceFileColumn: job.sourceFileColumn,
      onFlow: batcher.add,
    });
    filePipeline = { pipeline, sourceFileColumn: job.sourceFileColumn };
  }
  const pipeline = filePipeline.pipeline;
  pipeline.setOnFlow(batcher.add);
  await extractFiles(pipeline, [job.file], {
    onWarning: (w) => post({ type: 'warning', job: job.id, warning: w }),
    onProgress: (p) => {
      if (batcher.pending > 0) batcher.flush(false);
      post({ type: 'progress', job: job.id, bytesRead: p.bytesRead, totalBytes: p.totalBytes, packets: p.packets });
    },
  });
  const stats = pipeline.takeStats();
  stats.elapsed_s = (performance.now() - started) / 1000;
  batcher.flush(true);
  post({ type: 'done', job: job.id, stats });
}

/** One shard: replay the ring's packets through a pipeline until the reader's last slot. */
function runShardJob(job: Extract<ToWorker, { type: 'shard' }>): void {
  const runner = new ShardRunner(
    job.id,
    {
      file: job.file,
      flow: config.flow,
      features: config.features,
      maxFlows: job.maxFlows,
      sourceFileColumn: job.sourceFileColumn,
      output: job.output,
    },
    post,
  );
  const pipeline = runner.pipeline;
  try {
    consumeRing(job.ring, {
      packet: (buf, offset, capLen, wireLen, tsUs, linkType, ordinal, clockUs, flags, ports) =>
        pipeline.routedPacket(
          buf,
          offset,
          capLen,
          wireLen,
          tsUs,
          linkType,
          ordinal,
          clockUs,
          (flags & OWNED) !== 0,
          ports,
        ),
      slotDone: (clockUs, upTo) => runner.progress(clockUs, upTo),
    });
  } catch (e) {
    markRingFailed(job.ring);
    throw e;
  }
  post({ type: 'done', job: job.id, stats: runner.finish() });
}

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'exit') {
    port.close();
    return;
  }
  (msg.type === 'shard' ? Promise.resolve().then(() => runShardJob(msg)) : runFileJob(msg)).catch((e: unknown) => {
    const err = e as Error;
    post({ type: 'error', job: msg.id, message: err?.message ?? String(e), stack: err?.stack ?? '' });
  });
});
