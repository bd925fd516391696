/**
 * ByteSink: a growable byte buffer for building Parquet pages and the Thrift footer, with the Thrift compact
 * protocol writer (Apache Thrift, doc/specs/thrift-compact-protocol.md: field headers as id deltas, zigzag
 * varints, `0` ends a struct) that Parquet uses for page headers and the file footer (parquet.thrift).
 */

/** Compact-protocol type codes (the low nibble of a field header). */
export const T_TRUE = 1;
export const T_FALSE = 2;
export const T_I32 = 5;
export const T_I64 = 6;
export const T_BINARY = 8;
export const T_LIST = 9;
export const T_STRUCT = 12;

export class ByteSink {
  buf: Buffer;
  pos = 0;
  private dv: DataView;
  /** Last field id of each open struct (compact field headers are deltas from it). */
  private readonly lastField: number[] = [];
  private last = 0;

  constructor(initial = 1 << 16) {
    // Not Node's shared pool: a finished page may be transferred to another thread (src/parallel).
    this.buf = Buffer.from(new ArrayBuffer(initial));
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** Make room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = Math.max(this.buf.length * 2, 64);
    while (size < this.pos + n) size *= 2;
    const next = Buffer.from(new ArrayBuffer(size));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.dv = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }

  reset(): void {
    this.pos = 0;
    this.lastField.length = 0;
    this.last = 0;
  }

  /** The bytes written, as a plain Uint8Array view (valid until the sink is written again). */
  view(): Uint8Array {
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.pos);
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u32le(v: number): void {
    this.ensure(4);
    this.dv.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  /** Patch a u32 written earlier. */
  setU32le(at: number, v: number): void {
    this.dv.setUint32(at, v, true);
  }

  /** A signed integer of up to 53 bits as 8 little-endian bytes (two's complement). */
  i64le(v: number): void {
    this.ensure(8);
    this.dv.setUint32(this.pos, v >>> 0, true);
    this.dv.setInt32(this.pos + 4, Math.floor(v / 4294967296) | 0, true);
    this.pos += 8;
  }

  /** `count` values of `src` as i64le writes each, with one bounds check (PLAIN INT64 pages). */
  i64leArray(src: Float64Array, count: number): void {
    this.ensure(count * 8);
    const dv = this.dv;
    let p = this.pos;
    // pos is advanced before the loop, not after it: the first call's loop is optimised on-stack before any code
    // after it has run, and a store there without type feedback deoptimised the function at the end of every
    // call (node --trace-deopt: 198 bailouts on a 60 MB capture; this function was 6 % of extract -o x.parquet).
    this.pos = p + count * 8;
    for (let k = 0; k < count; k++, p += 8) {
      const v = src[k]!;
      dv.setUint32(p, v >>> 0, true);
      dv.setInt32(p + 4, Math.floor(v / 4294967296) | 0, true);
    }
  }

  f64le(v: number): void {
    this.ensure(8);
    this.dv.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Unsigned LEB128 varint of a non-negative integer up to 2^53. */
  varint(v: number): void {
    this.ensure(10);
    while (v >= 128) {
      this.buf[this.pos++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  /** UTF-8 bytes of a string, no length; returns the byte count. */
  utf8(s: string): number {
    this.ensure(s.length * 3); // UTF-8 takes at most 3 bytes per UTF-16 unit
    const n = s.length === 0 ? 0 : this.buf.write(s, this.pos, 'utf8');
    this.pos += n;
    return n;
  }

  // --- Thrift compact protocol ----------------------------------------------------------------------------------

  private fieldHeader(id: number, type: number): void {
    const delta = id - this.last;
    if (delta > 0 && delta <= 15) this.u8((delta << 4) | type);
    else {
      this.u8(type);
      this.varint(zigzag(id));
    }
    this.last = id;
  }

  i32(id: number, v: number): void {
    this.fieldHeader(id, T_I32);
    this.varint(zigzag(v));
  }

  i64(id: number, v: number): void {
    this.fieldHeader(id, T_I64);
    this.varint(zigzag(v));
  }

  bool(id: number, v: boolean): void {
    this.fieldHeader(id, v ? T_TRUE : T_FALSE);
  }

  binary(id: number, b: Uint8Array): void {
    this.fieldHeader(id, T_BINARY);
    this.varint(b.length);
    this.bytes(b);
  }

  string(id: number, s: string): void {
    this.binary(id, Buffer.from(s, 'utf8'));
  }

  /** Open a struct field (or, with id 0, a struct that is a list element). */
  structBegin(id: number): void {
    if (id > 0) this.fieldHeader(id, T_STRUCT);
    this.lastField.push(this.last);
    this.last = 0;
  }

  structEnd(): void {
    this.u8(0);
    this.last = this.lastField.pop() ?? 0;
  }

  /** A list field header; the caller then writes `size` elements of `elemType`. */
  listBegin(id: number, elemType: number, size: number): void {
    this.fieldHeader(id, T_LIST);
    if (size < 15) this.u8((size << 4) | elemType);
    else {
      this.u8(0xf0 | elemType);
      this.varint(size);
    }
  }

  /** A list element of type I32. */
  elemI32(v: number): void {
    this.varint(zigzag(v));
  }

  /** A list element of type BINARY (a string). */
  elemString(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.varint(b.length);
    this.bytes(b);
  }
}

/** ZigZag mapping of a signed integer (|v| < 2^52) to an unsigned one. */
function zigzag(v: number): number {
  return v >= 0 ? v * 2 : -v * 2 - 1;
}
