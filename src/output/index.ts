/**
 * Sinks for flow rows: CSV (default or cic2017 dialect), JSON lines (nested per protocol group) and Parquet
 * (flat columns, written in row groups so memory stays flat).
 *
 * Files are written to `<path>.<pid>.tmp` and renamed into place by `close()`, so a crash or an interrupted run
 * never leaves a half-written file under the requested name (`abort()` removes the temporary). A path that is not
 * a regular file (/dev/null, a named pipe, a symbolic link: replaceableByRename) is written in place. `-` writes
 * CSV or JSONL to stdout as rows arrive.
 */
import { closeSync, openSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { type ColumnSpec, flatName } from '../features/meter.ts';
import { replaceableByRename } from '../util/files.ts';
import { CIC2017_COLUMNS } from './cic2017.ts';
import { uniqueColumns } from './columns.ts';
import { csvLine, csvRowWriter } from './csv.ts';
import { writeJsonLine } from './jsonl.ts';
import { type EncodedRowGroup, type ParquetCompression, ParquetRowWriter } from './parquet.ts';
import { encoded, OutputError, TextWriter } from './text.ts';

export { OutputError };

/**
 * Rows per Parquet row group. Footer metadata is per column chunk (216 columns): on the lab500 capture (132k
 * flows) 8192-row groups gave a 2.40 MB file (0.27 MB of it footer), 32768-row groups 1.49 MB for the same
 * encoding CPU time, with ≈ 55 MB of buffered rows (bench/results.md, "Output cost").
 */
export const PARQUET_ROW_GROUP_ROWS = 32768;

/** Streaming CSV/JSONL to stdout: the longest a finished flow waits in the buffer. */
const STREAM_FLUSH_MS = 100;

export type OutputFormat = 'csv' | 'jsonl' | 'parquet';
export type Dialect = 'default' | 'cic2017';
export type TextFormat = Exclude<OutputFormat, 'parquet'>;

/** What a text sink's lines are made of: given to parallel workers, which build the same LineFormat. */
export interface LineFormatSpec {
  readonly format: TextFormat;
  readonly dialect: Dialect;
  /** The sink's columns (after uniqueColumns). */
  readonly columns: readonly ColumnSpec[];
}

/** Lines formatted elsewhere (src/parallel), one after another. */
export interface LineBatch {
  readonly rows: number;
  readonly bytes: Uint8Array;
  /**
   * Per line, where its flow_id text starts and ends in `bytes` (2 entries per line), when the merge assigns the
   * flow ids; empty when the lines carry their final ids or have none.
   */
  readonly idAt: Uint32Array;
}

/** One text line per row: the single implementation behind the CSV and JSONL sinks and parallel workers. */
export interface LineFormat {
  /** Header line (CSV), written once by the sink. */
  readonly header: string | undefined;
  readonly write: (w: TextWriter, row: Record<string, unknown>) => void;
  /** Whether a line holds the row's flow_id. */
  readonly hasFlowId: boolean;
  /**
   * When a line holds a flow_id: the bytes that open the line just before its digits (JSONL `{"flow_id":`, since
   * flow_id is a pipeline row's first property; nothing for CSV with flow_id as first column). Undefined when the
   * flow_id is elsewhere: its place cannot be found without parsing the line.
   */
  readonly idPrefix: Uint8Array | undefined;
}

export function lineFormat(spec: LineFormatSpec): LineFormat {
  const { format, dialect, columns } = spec;
  if (format === 'jsonl') {
    return {
      header: undefined,
      write: writeJsonLine,
      hasFlowId: true,
      idPrefix: encoded('{"flow_id":'),
    };
  }
  if (dialect === 'cic2017') {
    return {
      header: csvLine(CIC2017_COLUMNS.map(([name]) => name)),
      write: (w, row) => w.write(csvLine(CIC2017_COLUMNS.map(([, get]) => get(row)))),
      hasFlowId: false,
      idPrefix: undefined,
    };
  }
  const names = columns.map(flatName);
  return {
    header: csvLine(names),
    write: csvRowWriter(columns),
    hasFlowId: names.includes('flow_id'),
    idPrefix: names[0] === 'flow_id' ? new Uint8Array(0) : undefined,
  };
}

export interface SinkOptions {
  /** File path or '-' for stdout. */
  path: string;
  format?: OutputFormat;
  dialect?: Dialect;
  columns: readonly ColumnSpec[];
  /** Rows per Parquet row group. */
  rowGroupSize?: number;
  /** Parquet: encode row groups on a thread of their own (./encoder-thread.ts); other formats ignore it. */
  encoderThread?: boolean;
  /** Parquet column chunk compression (default gzip); an error with another format. */
  compression?: ParquetCompression;
}

export interface FlowSink {
  write(row: Record<string, unknown>): void;
  /** Flush and move the file into place. */
  close(): Promise<void>;
  /** Drop what was written (error path). */
  abort(): void;
  readonly rows: number;
  /**
   * Parquet only: accept row groups that parallel workers encoded (src/parallel, ChunkEncoder.encodeRowGroup), so
   * the main thread only writes them. `columns` is the sink's column list the row groups follow; with `flowIds`
   * the flow_id column (which the worker skipped) is encoded from them.
   */
  readonly columnar?: {
    readonly columns: readonly ColumnSpec[];
    /** The codec the workers compress their column chunks with. */
    readonly compression: ParquetCompression;
    write(group: EncodedRowGroup, flowIds?: Float64Array): void;
  };
  /**
   * CSV and JSONL (files and stdout): accept lines that parallel workers formatted with lineFormat(spec), so the
   * main thread only copies them; with `flowIds` each line's flow_id (LineBatch.idAt) is replaced by its entry.
   * Absent when the lines' flow ids could not be replaced (a CSV whose flow_id is not the first column).
   */
  readonly lines?: {
    readonly spec: LineFormatSpec;
    write(batch: LineBatch, flowIds?: Float64Array): void;
  };
}

/** Temporary files of sinks not yet closed: removed if the process is interrupted (see removeTemporaryOutputs). */
const openTemporaries = new Set<string>();

/** Remove the temporary files of every unfinished output (called from signal handlers before exiting). */
export function removeTemporaryOutputs(): void {
  for (const tmp of openTemporaries) rmSync(tmp, { force: true });
  openTemporaries.clear();
}

export function formatFromPath(p: string): OutputFormat | undefined {
  const ext = path.extname(p.replace(/\.(gz|zst)$/, '')).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return 'jsonl';
  if (ext === '.parquet' || ext === '.pq') return 'parquet';
  return undefined;
}

/** The format of an output: the one given, else JSONL on stdout ('-'), else from the file's extension. */
export function outputFormat(path: string, format?: OutputFormat): OutputFormat | undefined {
  return format ?? (path === '-' ? 'jsonl' : formatFromPath(path));
}

/**
 * Open the output before any input is read, so an unwritable path fails at once (exit 2) rather than after
 * minutes of work.
 */
export function openSink(opts: SinkOptions): FlowSink {
  const toStdout = opts.path === '-';
  const format = outputFormat(opts.path, opts.format);
  if (!format)
    throw new OutputError(
      'unknown_format',
      `${opts.path}: cannot tell the output format from the extension; use --format csv|jsonl|parquet`,
    );
  if (toStdout && format === 'parquet')
    throw new OutputError('parquet_stdout', 'Parquet cannot be written to stdout; give a file name');
  const dialect = opts.dialect ?? 'default';
  if (dialect === 'cic2017' && format !== 'csv')
    throw new OutputError('dialect_format', '--dialect cic2017 writes CSV only');
  if (opts.compression !== undefined && format !== 'parquet')
    throw new OutputError('compression_format', '--compression applies to Parquet output only');
  const compression = opts.compression ?? 'gzip';
  // '' when there is no temporary: stdout, or a path written in place.
  const tmp = toStdout || !replaceableByRename(opts.path) ? '' : `${opts.path}.${process.pid}.tmp`;
  let fd: number;
  try {
    fd = toStdout ? 1 : openSync(tmp || opts.path, 'w');
    if (tmp) openTemporaries.add(tmp);
  } catch (e) {
    throw new OutputError(
      'unwritable',
      `${opts.path}: cannot write output (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
    );
  }
  const columns = uniqueColumns(opts.columns);
  let rows = 0;
  let closed = false;
  const finish = () => {
    if (toStdout) return;
    closeSync(fd);
    if (tmp) {
      renameSync(tmp, opts.path);
      openTemporaries.delete(tmp);
    }
  };
  const abort = () => {
    if (closed) return;
    closed = true;
    if (toStdout) return;
    try {
      closeSync(fd);
    } catch {}
    if (tmp) {
      rmSync(tmp, { force: true });
      openTemporaries.delete(tmp);
    }
  };

  if (format === 'parquet') {
    const writer = new ParquetRowWriter(
      fd,
      columns,
      opts.rowGroupSize ?? PARQUET_ROW_GROUP_ROWS,
      opts.encoderThread === true,
      compression,
    );
    return {
      get rows() {
        return rows;
      },
      write(row) {
        rows++;
        writer.add(row);
      },
      columnar: {
        columns,
        compression,
        write(group, flowIds) {
          rows += group.rows;
          writer.addEncoded(group, flowIds);
        },
      },
      async close() {
        if (closed) return;
        // A failure here (the encoder thread's) leaves the sink open for abort() to remove the temporary file.
        await writer.finish();
        closed = true;
        finish();
      },
      abort() {
        writer.abort();
        abort();
      },
    };
  }

  const out = new TextWriter(fd);
  const spec: LineFormatSpec = { format, dialect, columns };
  const lines = lineFormat(spec);
  if (lines.header !== undefined) out.write(lines.header);
  const writeLine = lines.write;
  // Streaming to a pipe: flows are emitted within STREAM_FLUSH_MS of ending, also when no further row follows (a
  // live capture that goes quiet); an error of a timed flush (the reader went away) surfaces at the next call.
  let flushTimer: NodeJS.Timeout | undefined;
  let flushError: unknown;
  const stopTimer = () => {
    if (flushTimer !== undefined) clearTimeout(flushTimer);
    flushTimer = undefined;
  };
  const streamed = () => {
    out.flushIfStale(STREAM_FLUSH_MS);
    if (out.pos > 0 && flushTimer === undefined) {
      flushTimer = setTimeout(() => {
        flushTimer = undefined;
        try {
          out.flush();
        } catch (e) {
          flushError = e;
        }
      }, STREAM_FLUSH_MS);
      flushTimer.unref();
    }
  };
  return {
    get rows() {
      return rows;
    },
    write(row) {
      if (flushError !== undefined) throw flushError;
      rows++;
      writeLine(out, row);
      if (toStdout) streamed();
    },
    lines:
      lines.hasFlowId && lines.idPrefix === undefined
        ? undefined
        : {
            spec,
            write(batch, flowIds) {
              if (flushError !== undefined) throw flushError;
              if (flowIds === undefined) out.bytes(batch.bytes);
              else out.linesWithIds(batch.bytes, batch.idAt, flowIds);
              rows += batch.rows;
              if (toStdout) streamed();
            },
          },
    async close() {
      if (closed) return;
      closed = true;
      stopTimer();
      if (flushError !== undefined) throw flushError;
      out.flush();
      finish();
    },
    abort() {
      stopTimer();
      abort();
    },
  };
}
