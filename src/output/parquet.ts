/**
 * Parquet output: rows are buffered per column and turned into one Arrow record batch per row group
 * (apache-arrow builds the vectors, parquet-wasm encodes), streamed to the file descriptor as they are made, so
 * memory holds at most one row group. Column types: int → Int64, float → Float64, string → Utf8, bool → Bool,
 * lists → List of the element type; null/undefined → null.
 */
import { writeSync } from 'node:fs';
import * as arrow from 'apache-arrow';
import * as pq from 'parquet-wasm';
import { type ColumnSpec, flatName } from '../features/meter.ts';
import { columnValue } from './columns.ts';

function arrowType(c: ColumnSpec): arrow.DataType {
  switch (c.type) {
    case 'int':
      return new arrow.Int64();
    case 'float':
      return new arrow.Float64();
    case 'bool':
      return new arrow.Bool();
    case 'string':
      return new arrow.Utf8();
    case 'int_list':
      return new arrow.List(new arrow.Field('item', new arrow.Int64(), true));
    case 'float_list':
      return new arrow.List(new arrow.Field('item', new arrow.Float64(), true));
    case 'string_list':
      return new arrow.List(new arrow.Field('item', new arrow.Utf8(), true));
  }
}

function coerce(c: ColumnSpec, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (c.type) {
    case 'int':
      return typeof v === 'number' && Number.isFinite(v) ? BigInt(Math.trunc(v)) : typeof v === 'bigint' ? v : null;
    case 'float':
      return typeof v === 'number' ? v : null;
    case 'bool':
      return typeof v === 'boolean' ? v : null;
    case 'string':
      return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
    case 'int_list':
      return Array.isArray(v) ? v.map((x) => (typeof x === 'number' && Number.isFinite(x) ? BigInt(Math.trunc(x)) : null)) : null;
    case 'float_list':
      return Array.isArray(v) ? v.map((x) => (typeof x === 'number' ? x : null)) : null;
    case 'string_list':
      return Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))) : null;
  }
}

export class ParquetRowWriter {
  private readonly columns: readonly ColumnSpec[];
  private readonly types: arrow.DataType[];
  private buffers: unknown[][];
  private readonly schema: arrow.Schema;
  private readonly writerProps: pq.WriterProperties;
  private controller!: ReadableStreamDefaultController<pq.RecordBatch>;
  private readonly done: Promise<void>;

  constructor(
    private readonly fd: number,
    columns: readonly ColumnSpec[],
    private readonly rowGroupSize: number,
  ) {
    this.columns = columns;
    this.types = columns.map(arrowType);
    this.schema = new arrow.Schema(columns.map((c, i) => new arrow.Field(flatName(c), this.types[i]!, true)));
    this.buffers = columns.map(() => []);
    this.writerProps = new pq.WriterPropertiesBuilder().setCompression(pq.Compression.ZSTD).build();
    const batches = new ReadableStream<pq.RecordBatch>({
      start: (controller) => {
        this.controller = controller;
      },
    });
    this.done = (async () => {
      const bytes = await pq.transformParquetStream(batches, this.writerProps);
      const reader = bytes.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        let chunk = value as Uint8Array;
        while (chunk.length > 0) chunk = chunk.subarray(writeSync(this.fd, chunk));
      }
    })();
    // Surface errors at finish(), not as an unhandled rejection.
    this.done.catch(() => {});
  }

  add(row: Record<string, unknown>): void {
    const cols = this.columns;
    for (let i = 0; i < cols.length; i++) this.buffers[i]!.push(coerce(cols[i]!, columnValue(row, cols[i]!)));
    if (this.buffers[0] && this.buffers[0].length >= this.rowGroupSize) this.emit();
  }

  private emit(): void {
    const len = this.buffers[0]?.length ?? 0;
    if (len === 0 && this.columns.length > 0) return;
    const children = this.columns.map((_, i) => arrow.vectorFromArray(this.buffers[i]!, this.types[i]!).data[0]!);
    const struct = arrow.makeData({ type: new arrow.Struct(this.schema.fields), length: len, children, nullCount: 0 });
    const batch = new arrow.RecordBatch(this.schema, struct);
    const ipc = arrow.tableToIPC(new arrow.Table(batch), 'stream');
    const table = pq.Table.fromIPCStream(ipc);
    for (const b of table.recordBatches()) this.controller.enqueue(b);
    this.buffers = this.columns.map(() => []);
  }

  async finish(): Promise<void> {
    this.emit();
    if ((this.buffers[0]?.length ?? 0) === 0 && this.controller.desiredSize !== null) {
      // An empty output still gets a valid file with the schema.
    }
    this.controller.close();
    await this.done;
  }
}
