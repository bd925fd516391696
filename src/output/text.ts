/**
 * TextWriter: buffered text output to a file descriptor. Text is encoded straight into one reused 1 MiB buffer;
 * the CSV row writer (src/output/csv.ts) also writes its separators and the digits of integers into it byte by
 * byte, so a CSV line is never built as a string (lab500 capture: 5.1 against 5.7 CPU-s for the whole extract with
 * the line built by concatenation; bench/results.md, "Output cost").
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
  readonly buf: Buffer;
  pos = 0;
  private lastFlush = Date.now();

  constructor(
    private readonly fd: number,
    size = 1 << 20,
  ) {
    this.buf = Buffer.allocUnsafe(size);
  }

  write(s: string): void {
    // A UTF-8 character takes at most 3 bytes per UTF-16 unit.
    if (this.pos + s.length * 3 > this.buf.length) {
      this.flush();
      if (s.length * 3 > this.buf.length) {
        this.writeAll(Buffer.from(s, 'utf8'));
        return;
      }
    }
    if (s.length > 0) this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** Pre-encoded bytes (field names, separators). */
  bytes(b: Uint8Array): void {
    if (this.pos + b.length > this.buf.length) {
      this.flush();
      if (b.length > this.buf.length) {
        this.writeAll(b);
        return;
      }
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
    if (this.pos >= this.buf.length) this.flush();
    this.buf[this.pos++] = c;
  }

  /**
   * A finite number as JavaScript (and JSON) prints it: integers below 2^53 digit by digit, other values through
   * Number.prototype.toString. −0 prints as 0, as String(−0) does.
   */
  number(x: number): void {
    if (this.pos + MAX_PIECE > this.buf.length) this.flush();
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
    this.pos += buf.write(`${x}`, this.pos, 'latin1');
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

/** UTF-8 bytes of a piece written often (field names), in an array of their own. */
export function encoded(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s, 'utf8'));
}
