/**
 * TextWriter: buffered text output to a file descriptor, or into memory (`TextWriter.inMemory`: the buffer grows
 * instead of being written; parallel workers format their lines that way, src/parallel/batcher.ts). Text is encoded
 * straight into one reused 1 MiB buffer; the CSV row writer (src/output/csv.ts) also writes its separators and the
 * digits of integers into it byte by byte, so a CSV line is never built as a string (lab500 capture: 5.1 against
 * 5.7 CPU-s for the whole extract with the line built by concatenation; bench/results.md, "Output cost").
 */
import { writeSync } from 'node:fs';

export class OutputError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'OutputError';
    this.code = code;
  }
}

/** Bytes the byte-level writers below may need at once (a number is at most 25 characters). */
const MAX_PIECE = 64;

export class TextWriter {
  /** Its own ArrayBuffer (never a slice of Node's pool), so an in-memory writer's bytes can be transferred. */
  buf: Buffer;
  pos = 0;
  private lastFlush = Date.now();

  /** `fd` −1: in memory (see inMemory). */
  constructor(
    private readonly fd: number,
    size = 1 << 20,
  ) {
    this.buf = Buffer.allocUnsafeSlow(size);
  }

  /** A writer that keeps everything in its buffer, growing it; `take()` hands the bytes over. */
  static inMemory(size: number): TextWriter {
    return new TextWriter(-1, size);
  }

  /**
   * Room for `n` more bytes: a file writer flushes, an in-memory one grows. False when the piece still does not
   * fit (a file writer then writes it directly).
   */
  private makeRoom(n: number): boolean {
    if (this.fd >= 0) {
      this.flush();
      return n <= this.buf.length;
    }
    let size = Math.max(MAX_PIECE, this.buf.length * 2);
    while (size < this.pos + n) size *= 2;
    const grown = Buffer.allocUnsafeSlow(size);
    grown.set(this.buf.subarray(0, this.pos));
    this.buf = grown;
    return true;
  }

  /**
   * Room for `n` more bytes at `buf[pos]`, for a caller writing into `buf` itself (then advancing `pos`); false
   * when a file writer's buffer cannot hold that many.
   */
  room(n: number): boolean {
    return this.pos + n <= this.buf.length || this.makeRoom(n);
  }

  /**
   * In-memory writer: the bytes written so far, in the buffer they were written to (whose ArrayBuffer may be
   * transferred); the writer continues in a fresh buffer of `size` bytes.
   */
  take(size: number): Uint8Array {
    const bytes = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafeSlow(size);
    this.pos = 0;
    return bytes;
  }

  write(s: string): void {
    // A UTF-8 character takes at most 3 bytes per UTF-16 unit.
    if (this.pos + s.length * 3 > this.buf.length && !this.makeRoom(s.length * 3)) {
      this.writeAll(Buffer.from(s, 'utf8'));
      return;
    }
    if (s.length > 0) this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** Pre-encoded bytes (field names, separators). */
  bytes(b: Uint8Array): void {
    if (this.pos + b.length > this.buf.length && !this.makeRoom(b.length)) {
      this.writeAll(b);
      return;
    }
    if (b.length > 16) {
      this.buf.set(b, this.pos);
      this.pos += b.length;
      return;
    }
    const buf = this.buf;
    let p = this.pos;
    // A byte loop for short pieces (separators): cheaper than a call to TypedArray.prototype.set.
    for (let i = 0; i < b.length; i++) buf[p++] = b[i]!;
    this.pos = p;
  }

  byte(c: number): void {
    if (this.pos >= this.buf.length) this.makeRoom(1);
    this.buf[this.pos++] = c;
  }

  /**
   * A finite number as JavaScript (and JSON) prints it: integers below 2^53 digit by digit, other values through
   * Number.prototype.toString. −0 prints as 0, as String(−0) does.
   */
  number(x: number): void {
    if (this.pos + MAX_PIECE > this.buf.length) this.makeRoom(MAX_PIECE);
    const buf = this.buf;
    if (Number.isInteger(x) && x <= 9007199254740991 && x >= -9007199254740991) {
      let p = this.pos;
      if (x < 0) {
        buf[p++] = 45; // '-'
        x = -x;
      }
      if (x < 10) {
        buf[p++] = 48 + x;
        this.pos = p;
        return;
      }
      if (x < 4294967296) {
        // Most values (counts, sizes, ports, durations): 32-bit integer division instead of Math.floor on doubles,
        // and the digit count by comparison with powers of ten (micro-benchmark: 80 → 50 ns per number).
        let n = x >>> 0;
        let digits = 2;
        for (let limit = 100; digits < 10 && n >= limit; limit *= 10) digits++;
        p += digits;
        this.pos = p;
        while (n >= 10) {
          const q = (n / 10) >>> 0;
          buf[--p] = 48 + n - q * 10;
          n = q;
        }
        buf[--p] = 48 + n;
        return;
      }
      let digits = 0;
      for (let n = x; n >= 1; n = Math.floor(n / 10)) digits++;
      p += digits;
      this.pos = p;
      while (x >= 1) {
        const q = Math.floor(x / 10);
        buf[--p] = 48 + (x - q * 10);
        x = q;
      }
      return;
    }
    // The digits of any other number are ASCII: copied by hand, without Buffer.write's native call (micro-benchmark,
    // Node 20: 265 → 185 ns per fractional number, most of the rest being the conversion itself).
    const s = `${x}`;
    let p = this.pos;
    for (let i = 0; i < s.length; i++) buf[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /**
   * Lines formatted by another writer (src/parallel): `bytes` as they are, except that line i's flow_id, the text
   * from idAt[2i] to idAt[2i + 1], becomes flowIds[i].
   */
  linesWithIds(bytes: Uint8Array, idAt: Uint32Array, flowIds: Float64Array): void {
    if (idAt.length !== 2 * flowIds.length) throw new Error('flowsieve: lines and flow ids do not match');
    let from = 0;
    for (let i = 0; i < flowIds.length; i++) {
      const start = idAt[2 * i]!;
      if (start > from) this.bytes(bytes.subarray(from, start));
      this.number(flowIds[i]!);
      from = idAt[2 * i + 1]!;
    }
    if (bytes.length > from) this.bytes(bytes.subarray(from));
  }

  /** Flush when the oldest buffered text is older than `ms`. */
  flushIfStale(ms: number): void {
    if (Date.now() - this.lastFlush >= ms) this.flush();
  }

  flush(): void {
    if (this.fd < 0) throw new Error('flowsieve: an in-memory TextWriter is emptied by take(), not flushed');
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

/** UTF-8 bytes of a piece written often (field names), in an array of their own. */
export function encoded(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s, 'utf8'));
}
