/** Messages between runParallelExtract (main thread) and its workers (src/parallel/worker.ts). */
import type { CaptureWarning } from '../capture/index.ts';
import type { ColumnSpec, FlowRow } from '../features/meter.ts';
import type { ModelFile } from '../ml/model.ts';
import type { LineBatch, LineFormatSpec } from '../output/index.ts';
import type { EncodedRowGroup, ParquetCompression } from '../output/parquet.ts';
import type { ExtractStats } from '../pipeline.ts';
import type { RingBuffers } from './ring.ts';

/**
 * What a job sends back instead of rows: encoded Parquet row groups of these columns (see FlowSink.columnar),
 * text lines in this format (FlowSink.lines), or the model's feature matrix of each batch with the rows' identity
 * (ParallelExtractOptions.staged; whole-file jobs only).
 */
export type BatchOutput =
  | { kind: 'columns'; columns: readonly ColumnSpec[]; compression: ParquetCompression }
  | { kind: 'lines'; spec: LineFormatSpec }
  | { kind: 'features'; model: ModelFile; withSourceFile: boolean }
  | undefined;

/** The identity columns a staged batch carries per row (StagedIdentity), in this order. */
export const STAGED_NUMBERS = ['flow_id', 'src_port', 'dst_port', 'protocol', 'first_seen_us', 'last_seen_us'] as const;

/** A staged batch's rows, identity only: STAGED_NUMBERS row after row, and src_ip, dst_ip row after row. */
export interface StagedIdentity {
  numbers: Float64Array;
  addresses: string[];
}

export type ToWorker =
  | {
      /** One whole capture file. */
      type: 'job';
      id: number;
      file: string;
      sourceFileColumn: boolean;
      output: BatchOutput;
    }
  | {
      /** One shard of a capture the main thread reads: its packets arrive on `ring` (src/parallel/ring.ts). */
      type: 'shard';
      id: number;
      /** The capture (meters' onInputStart, source_file). */
      file: string;
      /** This shard's part of the live-flow cap. */
      maxFlows: number;
      ring: RingBuffers;
      sourceFileColumn: boolean;
      output: BatchOutput;
    }
  | { type: 'exit' };

export type FromWorker =
  | {
      type: 'batch';
      job: number;
      /** Own properties of each row (identity, source_file, meter groups); stats vectors travel in `vectors`. */
      rows: FlowRow[];
      /** rows.length × STATS_COLUMNS.length statistics, row after row (NaN = null). */
      vectors: Float64Array;
      /** Shard jobs: ordinal of each row's first packet in the file. */
      ordinals: Float64Array;
      /** Shard jobs: ordinals of the first packets of flows this shard started since the previous batch. */
      created: Float64Array;
      /** Shard jobs: packets of the file this worker has handled (Infinity when it finished the file). */
      packetsSeen: number;
    }
  | {
      type: 'columns';
      job: number;
      /** The rows of the batch as an encoded Parquet row group (shards skip the flow_id column; the merge fills it). */
      group: EncodedRowGroup;
      ordinals: Float64Array;
      created: Float64Array;
      packetsSeen: number;
    }
  | {
      type: 'lines';
      job: number;
      /** The rows of the batch as text lines (for shards, LineBatch.idAt tells where the merge puts the flow ids). */
      lines: LineBatch;
      ordinals: Float64Array;
      created: Float64Array;
      packetsSeen: number;
    }
  | {
      type: 'features';
      job: number;
      /** Rows in the batch, their feature matrix (FlowScorer's layout, n rows apart) and their identity. */
      n: number;
      x: Float32Array;
      identity: StagedIdentity;
    }
  | { type: 'warning'; job: number; warning: CaptureWarning }
  | {
      type: 'progress';
      job: number;
      bytesRead: number;
      totalBytes: number | undefined;
      /** Packets handled so far: of the whole file for a shard job, of this file's flows otherwise. */
      packets: number;
    }
  | { type: 'done'; job: number; stats: ExtractStats }
  | { type: 'error'; job: number; message: string; stack: string };
