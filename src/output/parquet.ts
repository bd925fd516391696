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
import { type Accessor, columnAccessor } from './columns.ts';

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
      return Array.isArray(v)
        ? v.map((x) => (typeof x === 'number' && Number.isFinite(x) ? BigInt(Math.trunc(x)) : null))
        : null;
    case 'float_list':
      return Array.isArray(v) ? v.map((x) => (typeof x === 'number' ? x : null)) : null;
    case 'string_list':
      return Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))) : null;
  }
}

/** Numeric columns are buffered in a Float64Array (NaN/undefined → null) and converted once per row group. */
function numericVector(c: ColumnSpec, buf: Float64Array, len: number): arrow.Data {
  const validity = new Uint8Array((len + 7) >> 3);
  let nulls = 0;
  for (let r = 0; r < len; r++) {
    if (Number.isNaN(buf[r]!)) nulls++;
    else validity[r >> 3]! |= 1 << (r & 7);
  }
  if (c.type === 'int') {
    const data = new BigInt64Array(len);
    for (let r = 0; r < len; r++) {
      const x = buf[r]!;
      if (!Number.isNaN(x)) data[r] = BigInt(Math.trunc(x));
    }
    return arrow.makeData({ type: new arrow.Int64(), length: len, data, nullBitmap: validity, nullCount: nulls });
  }
  return arrow.makeData({
    type: new arrow.Float64(),
    length: len,
    data: buf.slice(0, len),
    nullBitmap: validity,
    nullCount: nulls,
  });
}

export class ParquetRowWriter {
  private readonly columns: readonly ColumnSpec[];
  private readonly types: arrow.DataType[];
  private readonly accessors: Accessor[];
  private readonly numeric: boolean[];
  private numbers: Float64Array[];
  private buffers: unknown[][];
  private length = 0;
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
    this.accessors = columns.map(columnAccessor);
    this.numeric = columns.map((c) => c.type === 'int' || c.type === 'float');
    this.numbers = columns.map((_, i) => new Float64Array(this.numeric[i] ? rowGroupSize : 0));
    this.schema = new arrow.Schema(columns.map((c, i) => new arrow.Field(flatName(c), this.types[i]!, true)));
    this.buffers = columns.map(() => []);
    const writerProps = new pq.WriterPropertiesBuilder().setCompression(pq.Compression.ZSTD).build();
    this.writerProps = writerProps;
    const batches = new ReadableStream<pq.RecordBatch>({
      start: (controller) => {
        this.controller = controller;
      },
    });
    this.done = (async () => {
      const bytes = await pq.transformParquetStream(batches, writerProps);
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
    const r = this.length++;
    for (let i = 0; i < cols.length; i++) {
      const v = this.accessors[i]!(row);
      if (this.numeric[i]) this.numbers[i]![r] = typeof v === 'number' ? v : typeof v === 'boolean' ? +v : Number.NaN;
      else this.buffers[i]!.push(coerce(cols[i]!, v));
    }
    if (this.length >= this.rowGroupSize) this.emit();
  }

  private emit(): void {
    const len = this.length;
    if (len === 0) return;
    const children = this.columns.map((c, i) =>
      this.numeric[i]
        ? numericVector(c, this.numbers[i]!, len)
        : arrow.vectorFromArray(this.buffers[i]!, this.types[i]!).data[0]!,
    );
    const struct = arrow.makeData({ type: new arrow.Struct(this.schema.fields), length: len, children, nullCount: 0 });
    const batch = new arrow.RecordBatch(this.schema, struct);
    const ipc = arrow.tableToIPC(new arrow.Table(batch), 'stream');
    const table = pq.Table.fromIPCStream(ipc);
    for (const b of table.recordBatches()) this.controller.enqueue(b);
    this.buffers = this.columns.map(() => []);
    this.length = 0;
  }

  async finish(): Promise<void> {
    this.emit();
    this.controller.close();
    await this.done;
  }
}
