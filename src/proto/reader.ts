/**
 * One bounds-checked cursor over untrusted bytes, used by every parser in src/proto.
 *
 * Reads past `end` return 0 (or an empty range) and clear `ok`; `ok` is sticky, like Mercury's null datum, so a
 * parser is a straight line of reads that checks `ok` at decision points and at the end. Nothing here throws and
 * nothing indexes outside [pos, end). The reader aliases the buffer: ranges stay valid while the buffer does.
 */
export class ByteReader {
  buf: Uint8Array;
  pos: number;
  end: number;
  ok = true;

  constructor(buf: Uint8Array, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = Math.min(end, buf.length);
    if (pos > this.end) {
      this.pos = this.end;
      this.ok = false;
    }
  }

  /** Re-point this reader at new bytes (reuse instead of allocating in hot paths). */
  reset(buf: Uint8Array, pos = 0, end = buf.length): this {
    this.buf = buf;
    this.end = Math.min(end, buf.length);
    this.pos = Math.min(pos, this.end);
    this.ok = pos <= this.end;
    return this;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  has(n: number): boolean {
    return this.ok && n >= 0 && this.pos + n <= this.end;
  }

  private fail(): number {
    this.ok = false;
    this.pos = this.end;
    return 0;
  }

  u8(): number {
    if (!this.has(1)) return this.fail();
    return this.buf[this.pos++]!;
  }

  u16(): number {
    if (!this.has(2)) return this.fail();
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return (b[p]! << 8) | b[p + 1]!;
  }

  u24(): number {
    if (!this.has(3)) return this.fail();
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 3;
    return (b[p]! << 16) | (b[p + 1]! << 8) | b[p + 2]!;
  }

  u32(): number {
    if (!this.has(4)) return this.fail();
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }

  /** QUIC variable-length integer (RFC 9000 §16); values above 2^53 lose precision, which no length we use reaches. */
  varint(): number {
    if (!this.has(1)) return this.fail();
    const first = this.buf[this.pos]!;
    const len = 1 << (first >> 6);
    if (!this.has(len)) return this.fail();
    let v = first & 0x3f;
    for (let i = 1; i < len; i++) v = v * 256 + this.buf[this.pos + i]!;
    this.pos += len;
    return v;
  }

  peekU8(at = 0): number {
    const p = this.pos + at;
    return this.ok && p < this.end && at >= 0 ? this.buf[p]! : 0;
  }

  peekU16(at = 0): number {
    const p = this.pos + at;
    return this.ok && at >= 0 && p + 2 <= this.end ? (this.buf[p]! << 8) | this.buf[p + 1]! : 0;
  }

  skip(n: number): boolean {
    if (!this.has(n)) {
      this.fail();
      return false;
    }
    this.pos += n;
    return true;
  }

  /** A child reader over the next n bytes, which this reader skips; a short read gives a failed empty child. */
  sub(n: number): ByteReader {
    if (!this.has(n)) {
      this.fail();
      const r = new ByteReader(this.buf, this.end, this.end);
      r.ok = false;
      return r;
    }
    const r = new ByteReader(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return r;
  }

  /** The next n bytes as a view (no copy), or an empty view when short. */
  bytes(n: number): Uint8Array {
    if (!this.has(n)) {
      this.fail();
      return new Uint8Array(0);
    }
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
}

/**
 * Below this many bytes, concatenating one-char strings beats making a Buffer view and decoding it; above it the
 * decoder wins and its result is flat (a concatenation is a chain of cons strings that Map keys and writers must
 * flatten): 500–580 → 290 ns for 20 bytes (micro-benchmark, Node 20, decode plus a Map.set of the string). The
 * undocumented Buffer#latin1Slice would save another 150 ns; the documented Buffer view is kept.
 */
const LATIN1_NATIVE_MIN = 12;

/**
 * A Buffer over the whole ArrayBuffer latin1 decoded from last: most decodes read the capture window or a
 * meter's scratch bytes, so one view serves many calls instead of a Buffer object per string (24 bytes:
 * 465 → 263 ns, 200 bytes: 888 → 569 ns, decode plus a Map.set, micro-benchmark, Node 20). It keeps that one
 * ArrayBuffer reachable until a decode from another.
 */
let viewOf: ArrayBufferLike | null = null;
let view: Buffer = Buffer.alloc(0);

/** Latin-1 decode of a byte range; safe for any bytes, used for protocol tokens (SNI, ALPN, banners). */
export function latin1(buf: Uint8Array, start = 0, end = buf.length): string {
  const e = Math.min(end, buf.length);
  const b = Math.max(0, start);
  if (e - b >= LATIN1_NATIVE_MIN) {
    if (buf.buffer !== viewOf) {
      viewOf = buf.buffer;
      view = Buffer.from(buf.buffer);
    }
    return view.toString('latin1', buf.byteOffset + b, buf.byteOffset + e);
  }
  let s = '';
  for (let i = b; i < e; i++) s += String.fromCharCode(buf[i]!);
  return s;
}
