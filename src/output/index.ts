/**
 * Sinks for flow rows: CSV (default or cic2017 dialect), JSON lines (nested per protocol group) and Parquet
 * (flat columns, written in row groups so memory stays flat).
 *
 * Files are written to `<path>.<pid>.tmp` and renamed into place by `close()`, so a crash or an interrupted run
 * never leaves a half-written file under the requested name (`abort()` removes the temporary). `-` writes CSV or
 * JSONL to stdout as rows arrive.
 */
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { type ColumnSpec, flatName } from '../features/meter.ts';
import { CIC2017_COLUMNS } from './cic2017.ts';
import { columnAccessor, uniqueColumns } from './columns.ts';
import { csvLine } from './csv.ts';
import { type ColumnParts, ParquetRowWriter } from './parquet.ts';

export type OutputFormat = 'csv' | 'jsonl' | 'parquet';
export type Dialect = 'default' | 'cic2017';

export interface SinkOptions {
  /** File path or '-' for stdout. */
  path: string;
  format?: OutputFormat;
  dialect?: Dialect;
  columns: readonly ColumnSpec[];
  /** Rows per Parquet row group. */
  rowGroupSize?: number;
}

export interface FlowSink {
  write(row: Record<string, unknown>): void;
  /** Flush and move the file into place. */
  close(): Promise<void>;
  /** Drop what was written (error path). */
  abort(): void;
  readonly rows: number;
  /**
   * Parquet only: accept rows as column parts built by parallel workers (src/parallel), so the main thread only
   * merges and encodes. `columns` is the sink's column list the parts must follow.
   */
  readonly columnar?: {
    readonly columns: readonly ColumnSpec[];
    write(parts: readonly ColumnParts[], rows: number, flowIds?: Float64Array): void;
  };
}

export class OutputError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'OutputError';
    this.code = code;
  }
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

/** Buffered writer to a file descriptor: text is encoded straight into one reused 1 MiB buffer. */
class TextWriter {
  private readonly buf = Buffer.allocUnsafe(1 << 20);
  private pos = 0;
  private lastFlush = Date.now();
  constructor(private readonly fd: number) {}
  write(s: string): void {
    // A UTF-8 character takes at most 3 bytes per UTF-16 unit.
    if (this.pos + s.length * 3 > this.buf.length) {
      this.flush();
      if (s.length * 3 > this.buf.length) {
        this.writeAll(Buffer.from(s, 'utf8'));
        return;
      }
    }
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }
  /** Flush when the oldest buffered text is older than `ms`. */
  flushIfStale(ms: number): void {
    if (Date.now() - this.lastFlush >= ms) this.flush();
  }
  flush(): void {
    this.lastFlush = Date.now();
    if (this.pos === 0) return;
    this.writeAll(this.buf.subarray(0, this.pos));
    this.pos = 0;
  }
  private writeAll(data: Uint8Array): void {
    while (data.length > 0) {
      try {
        data = data.subarray(writeSync(this.fd, data));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        // The reader went away (`| head`): stop quietly, as command-line tools do.
        if (code === 'EPIPE') throw new OutputError('broken_pipe', 'output pipe closed by the reader');
        // stdout as a non-blocking pipe can report EAGAIN; retry until the reader catches up.
        if (code !== 'EAGAIN') throw e;
      }
    }
  }
}

/**
 * Open the output before any input is read, so an unwritable path fails at once (exit 2) rather than after
 * minutes of work.
 */
export function openSink(opts: SinkOptions): FlowSink {
  const toStdout = opts.path === '-';
  const format = opts.format ?? (toStdout ? 'jsonl' : formatFromPath(opts.path));
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
  const tmp = toStdout ? '' : `${opts.path}.${process.pid}.tmp`;
  let fd: number;
  try {
    fd = toStdout ? 1 : openSync(tmp, 'w');
    if (!toStdout) openTemporaries.add(tmp);
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
    if (!toStdout) {
      closeSync(fd);
      renameSync(tmp, opts.path);
      openTemporaries.delete(tmp);
    }
  };
  const abort = () => {
    if (closed) return;
    closed = true;
    if (!toStdout) {
      try {
        closeSync(fd);
      } catch {}
      rmSync(tmp, { force: true });
      openTemporaries.delete(tmp);
    }
  };

  if (format === 'parquet') {
    const writer = new ParquetRowWriter(fd, columns, opts.rowGroupSize ?? 8192);
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
        write(parts, n, flowIds) {
          rows += n;
          writer.addParts(parts, n, flowIds);
        },
      },
      async close() {
        if (closed) return;
        closed = true;
        await writer.finish();
        finish();
      },
      abort,
    };
  }

  const out = new TextWriter(fd);
  const accessors = columns.map(columnAccessor);
  if (format === 'csv') {
    if (dialect === 'cic2017') out.write(csvLine(CIC2017_COLUMNS.map(([name]) => name)));
    else out.write(csvLine(columns.map(flatName)));
  }
  return {
    get rows() {
      return rows;
    },
    write(row) {
      rows++;
      if (format === 'jsonl') out.write(`${JSON.stringify(row)}\n`);
      else if (dialect === 'cic2017') out.write(csvLine(CIC2017_COLUMNS.map(([, get]) => get(row))));
      else {
        const values = new Array(columns.length);
        for (let i = 0; i < columns.length; i++) values[i] = accessors[i]!(row);
        out.write(csvLine(values));
      }
      // Streaming to a pipe: emit flows soon after they end rather than holding a megabyte back.
      if (toStdout) out.flushIfStale(100);
    },
    async close() {
      if (closed) return;
      closed = true;
      out.flush();
      finish();
    },
    abort,
  };
}
