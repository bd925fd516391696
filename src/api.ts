/**
 * The library API: the same code paths the CLI uses.
 *
 *   import { extract } from 'flowsieve';
 *   const { stats } = await extract({ inputs: ['capture.pcap'], output: 'flows.parquet' });
 *   await extract({ inputs: ['capture.pcap'], onFlow: (row) => console.log(row.src_ip, row.tls?.sni) });
 */
import type { CaptureWarning } from './capture/index.ts';
import { defaultMeters, type FeatureOptions, meterColumns } from './features/index.ts';
import type { ColumnSpec, FlowRow } from './features/meter.ts';
import type { FlowTableOptions } from './flow/table.ts';
import { type Dialect, type FlowSink, type OutputFormat, openSink } from './output/index.ts';
import { runParallelExtract } from './parallel/extract.ts';
import {
  type ExtractOptions,
  type ExtractStats,
  IDENTITY_COLUMNS,
  runExtract,
  SOURCE_FILE_COLUMN,
} from './pipeline.ts';

export interface ExtractRequest {
  inputs: string[];
  /** Output path ('-' = stdout); omit to only receive rows through onFlow. */
  output?: string;
  format?: OutputFormat;
  dialect?: Dialect;
  flow?: Partial<FlowTableOptions>;
  features?: FeatureOptions;
  /** Called for every finished flow (after it is written, when an output is given). */
  onFlow?: (row: FlowRow) => void;
  onWarning?: (w: CaptureWarning) => void;
  onProgress?: ExtractOptions['onProgress'];
  /** Worker threads (default 1): > 1 shards one file by flow hash, or spreads several files (src/parallel). */
  threads?: number;
}

/** Every column of a flow record in the default dialect, in output order. */
export function flowColumns(features: FeatureOptions = {}, withSourceFile = false): ColumnSpec[] {
  return [
    ...IDENTITY_COLUMNS,
    ...(withSourceFile ? [SOURCE_FILE_COLUMN] : []),
    ...meterColumns(defaultMeters(features)),
  ];
}

export async function extract(req: ExtractRequest): Promise<{ stats: ExtractStats; rows: number }> {
  const meters = defaultMeters(req.features);
  const several = req.inputs.length > 1 || (await isDirectoryInput(req.inputs));
  const columns = [...IDENTITY_COLUMNS, ...(several ? [SOURCE_FILE_COLUMN] : []), ...meterColumns(meters)];
  // The output is opened before any input is read: an unwritable path fails at once.
  const sink: FlowSink | undefined = req.output
    ? openSink({ path: req.output, format: req.format, dialect: req.dialect, columns })
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
      (req.threads ?? 1) > 1
        ? await runParallelExtract({
            ...common,
            features: req.features,
            threads: req.threads!,
            // Parquet without a row listener: workers build the columns, the main thread only encodes.
            columnar: req.onFlow ? undefined : sink?.columnar,
          })
        : await runExtract({ ...common, meters });
  } catch (e) {
    sink?.abort();
    throw e;
  }
  await sink?.close();
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
