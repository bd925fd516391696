/**
 * The library API: the same code paths the CLI uses.
 *
 *   import { extract } from 'flowsieve';
 *   const { stats } = await extract({ inputs: ['capture.pcap'], output: 'flows.parquet' });
 *   await extract({ inputs: ['capture.pcap'], onFlow: (row) => console.log(row.src_ip, row.tls?.sni) });
 *   const { flows } = await classify({ inputs: ['capture.pcap'] });   // p_malicious, verdict, reasons per flow
 */
import type { CaptureWarning } from './capture/index.ts';
import { defaultMeters, type FeatureOptions, meterColumns } from './features/index.ts';
import type { FlowRow } from './features/meter.ts';
import type { FlowTableOptions } from './flow/table.ts';
import { loadModel } from './ml/model.ts';
import { type Dialect, type FlowSink, type OutputFormat, openSink, outputFormat } from './output/index.ts';
import type { ParquetCompression } from './output/parquet.ts';
import { runParallelExtract } from './parallel/extract.ts';
import {
  type ExtractOptions,
  type ExtractStats,
  IDENTITY_COLUMNS,
  runExtract,
  SOURCE_FILE_COLUMN,
} from './pipeline.ts';
import { FlowScorer } from './score.ts';
import { featureOptionsFor } from './tables.ts';
import { packagePath } from './util/package.ts';

export { flowColumns } from './tables.ts';

export interface ExtractRequest {
  inputs: string[];
  /** Output path ('-' = stdout); omit to only receive rows through onFlow. */
  output?: string;
  format?: OutputFormat;
  dialect?: Dialect;
  /** Parquet column chunk compression (default gzip). */
  compression?: ParquetCompression;
  flow?: Partial<FlowTableOptions>;
  features?: FeatureOptions;
  /** Called for every finished flow (after it is written, when an output is given). */
  onFlow?: (row: FlowRow) => void;
  onWarning?: (w: CaptureWarning) => void;
  onProgress?: ExtractOptions['onProgress'];
  /** Worker threads (default 1): > 1 shards one file by flow hash, or spreads several files (src/parallel). */
  threads?: number;
}

export async function extract(req: ExtractRequest): Promise<{ stats: ExtractStats; rows: number }> {
  const meters = defaultMeters(req.features);
  const several = req.inputs.length > 1 || (await isDirectoryInput(req.inputs));
  const columns = [...IDENTITY_COLUMNS, ...(several ? [SOURCE_FILE_COLUMN] : []), ...meterColumns(meters)];
  const threads = req.threads ?? 1;
  // Two threads, one input, Parquet: the pipeline in this thread and the encoder in the other (see
  // src/output/encoder-thread.ts for why that beats two flow shards); otherwise shards or one job per file.
  const encoderThread = threads === 2 && !several && !!req.output && outputFormat(req.output, req.format) === 'parquet';
  // The output is opened before any input is read: an unwritable path fails at once.
  const sink: FlowSink | undefined = req.output
    ? openSink({
        path: req.output,
        format: req.format,
        dialect: req.dialect,
        columns,
        encoderThread,
        compression: req.compression,
      })
    : undefined;
  let stats: ExtractStats;
  try {
    const common = {
      inputs: req.inputs,
      flow: req.flow,
      sourceFileColumn: several,
      onWarning: req.onWarning,
      onProgress: req.onProgress,
      onFlow: (row: FlowRow) => {
        sink?.write(row);
        req.onFlow?.(row);
      },
    };
    stats =
      threads > 1 && !encoderThread
        ? await runParallelExtract({
            ...common,
            features: req.features,
            threads,
            // Without a row listener: workers encode Parquet row groups or format CSV/JSONL lines themselves.
            columnar: req.onFlow ? undefined : sink?.columnar,
            lines: req.onFlow ? undefined : sink?.lines,
            // With one (classify's scorer), two threads split better as extraction in a worker and the listener
            // here than as two shards, one of them in the thread the listener already keeps busy.
            wholeFiles: req.onFlow !== undefined && threads === 2,
          })
        : await runExtract({ ...common, meters });
    // Closing writes what is buffered (and waits for the Parquet encoder thread): its failure drops the output too.
    await sink?.close();
  } catch (e) {
    sink?.abort();
    throw e;
  }
  return { stats, rows: sink?.rows ?? stats.flows };
}

async function isDirectoryInput(inputs: string[]): Promise<boolean> {
  const { stat } = await import('node:fs/promises');
  for (const p of inputs) {
    if (p === '-') continue;
    try {
      if ((await stat(p)).isDirectory()) return true;
    } catch {
      // A missing path is reported by the capture layer with its own message.
    }
  }
  return false;
}

export interface ClassifyRequest {
  /** Captures to extract and score (flow tables are scored by the `classify` command). */
  inputs: string[];
  /** Model file; default: the bundled models/default.json. */
  model?: string;
  flow?: ExtractRequest['flow'];
  /** Worker threads extracting the capture (default 1; see ExtractRequest.threads). Scoring runs in this thread. */
  threads?: number;
  /**
   * Called for each scored flow as its batch is scored (flows are scored in batches of up to 1024, and within a
   * second on a quiet live stream); when given, `flows` in the result stays empty, so memory does not grow with the
   * capture.
   */
  onFlow?: (flow: ScoredFlow) => void;
}

export interface ScoredFlow extends Record<string, unknown> {
  p_malicious: number;
  verdict: 'benign' | 'malicious';
  reasons: string[];
}

/** The bundled model (models/README.md says what it was trained on and what it cannot know). */
export const DEFAULT_MODEL = packagePath('models', 'default.json');

/**
 * Extract flows from captures and score them with a model: each flow as JSONL would show it, plus p_malicious,
 * verdict (at the model's threshold) and the top three reasons — the computation `flowsieve classify` does.
 */
export async function classify(
  req: ClassifyRequest,
): Promise<{ flows: ScoredFlow[]; threshold: number; stats: ExtractStats }> {
  const model = loadModel(req.model ?? DEFAULT_MODEL);
  const threshold = model.file.threshold;
  const flows: ScoredFlow[] = [];
  const emit = req.onFlow ?? ((f: ScoredFlow) => flows.push(f));
  const scorer = new FlowScorer(
    model,
    (b) => {
      for (let r = 0; r < b.rows.length; r++) {
        const row = b.rows[r]!;
        const score = b.p[r]!;
        emit({
          ...((row as { toJSON?: () => Record<string, unknown> }).toJSON?.() ?? row),
          p_malicious: Number(score.toFixed(6)),
          verdict: score >= threshold ? 'malicious' : 'benign',
          reasons: b.reasons(r),
        });
      }
    },
    { maxDelayMs: req.onFlow ? 1000 : 0, source: req.inputs.join(',') },
  );
  const { stats } = await extract({
    inputs: req.inputs,
    flow: req.flow,
    threads: req.threads,
    features: featureOptionsFor(model.file.features),
    onFlow: (row) => scorer.add(row),
  });
  scorer.flush();
  return { flows, threshold, stats };
}
