/**
 * Drivers: regular files, stdin and async byte streams, optionally gzip/zstd compressed, into CaptureParser.
 *
 * Regular uncompressed files are read with large sequential fs reads straight into one reused window (8 MiB); the
 * unconsumed tail (a partial record) is moved to the window's start before the next read, and a record larger than
 * the window grows it. Streams (stdin, decompressor output, readCaptureStream) copy each chunk into the same kind of
 * window. Compression is detected by magic bytes and decoded streaming: node:zlib createGunzip for gzip
 * (RFC 1952), fzstd's Decompress for zstd (RFC 8878; Node 20's zlib has no zstd). Neither holds more than its
 * window plus one chunk: the file is never inflated whole in memory (fzstd keeps one zstd window, at most the
 * frame's declared window size).
 */

import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { type Magic, magicHex, sniffMagic } from './magic.ts';
import { CaptureParser } from './parser.ts';
import { CaptureError, type CaptureSummary, type PacketCallback, type ReadOptions } from './types.ts';

/** Window size for file reads: large sequential reads amortise the syscall and the tail move. */
export const WINDOW_BYTES = 8 * 1024 * 1024;
/** Raw read size for compressed files (each read is a fresh buffer handed to the decompressor). */
const COMPRESSED_READ_BYTES = 1024 * 1024;
/** onWarning receives at most this many warnings per code and file; summary.warnings counts them all. */
export const WARNINGS_PER_CODE = 20;

/** A growable byte window: live bytes are buf[start, end); buf[0] is at absolute stream offset `base`. */
class ByteWindow {
  buf: Uint8Array;
  start = 0;
  end = 0;
  base = 0;

  constructor(bytes: number) {
    this.buf = new Uint8Array(bytes);
  }

  /** Moves the live bytes to the front, then grows so that `need` bytes from start and `minFree` free bytes fit. */
  makeRoom(need: number, minFree: number): void {
    if (this.start > 0) {
      this.buf.copyWithin(0, this.start, this.end);
      this.base += this.start;
      this.end -= this.start;
      this.start = 0;
    }
    const want = Math.max(need, this.end + minFree);
    if (want > this.buf.length) {
      let size = this.buf.length;
      while (size < want) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.buf.subarray(0, this.end));
      this.buf = grown;
    }
  }

  append(chunk: Uint8Array): void {
    if (chunk.length > this.buf.length - this.end) this.makeRoom(0, chunk.length);
    this.buf.set(chunk, this.end);
    this.end += chunk.length;
  }
}

/** Per-file state: parser, counters, warning throttle. */
class Session {
  readonly file: string;
  readonly parser: CaptureParser;
  compression: 'none' | 'gzip' | 'zstd' = 'none';
  bytesRead = 0;
  readonly totalBytes: number | undefined;
  private readonly warningCounts = new Map<string, number>();
  private readonly opts: ReadOptions;

  constructor(
    file: string,
    onPacket: PacketCallback,
    opts: ReadOptions,
    totalBytes: number | undefined,
    compression: Magic,
  ) {
    this.file = file;
    this.opts = opts;
    this.totalBytes = totalBytes;
    this.compression = compression === 'gzip' || compression === 'zstd' ? compression : 'none';
    this.parser = new CaptureParser(file, onPacket, this.warn, this.compression === 'none' ? '' : this.compression);
  }

  readonly warn = (code: string, offset: number, message: string): void => {
    const n = (this.warningCounts.get(code) ?? 0) + 1;
    this.warningCounts.set(code, n);
    const onWarning = this.opts.onWarning;
    if (onWarning === undefined || n > WARNINGS_PER_CODE + 1) return;
    if (n === WARNINGS_PER_CODE + 1) {
      onWarning({
        file: this.file,
        offset,
        code,
        message: `more ${code} warnings suppressed (summary.warnings counts them)`,
      });
      return;
    }
    onWarning({ file: this.file, offset, code, message });
  };

  countRead(n: number): void {
    this.bytesRead += n;
    this.opts.onProgress?.(this.bytesRead, this.totalBytes);
  }

  summary(): CaptureSummary {
    const p = this.parser;
    return {
      file: this.file,
      format: p.format ?? 'pcap',
      compression: this.compression,
      packetsDelivered: p.packetsDelivered,
      dropped: Object.fromEntries(p.dropped),
      bytesRead: this.bytesRead,
      linkTypes: [...p.linkTypes],
      warnings: Object.fromEntries(this.warningCounts),
    };
  }
}

/**
 * Windows are recycled across reads: a small compressed capture reads twice as fast with a pooled window
 * (zeek/tls/tls-fragmented-handshake.pcap.gz: 1.4 ms vs 2.8 ms per read, bench/capture-read.ts --iterations 50;
 * uncompressed files showed no difference beyond noise). Concurrent reads each take their own window; at most
 * WINDOW_POOL_MAX idle ones are kept.
 */
const WINDOW_POOL_MAX = 2;
const windowPool: ByteWindow[] = [];

function takeWindow(): ByteWindow {
  const w = windowPool.pop() ?? new ByteWindow(WINDOW_BYTES);
  w.start = 0;
  w.end = 0;
  w.base = 0;
  return w;
}

function releaseWindow(w: ByteWindow): void {
  // Windows grown for a huge record go back to the default size rather than pinning memory.
  if (windowPool.length < WINDOW_POOL_MAX && w.buf.length === WINDOW_BYTES) windowPool.push(w);
}

/** Copies stream chunks into a window and parses after each one. */
class StreamFeeder {
  private readonly win = takeWindow();
  private readonly parser: CaptureParser;
  private released = false;
  bytesFed = 0;

  constructor(parser: CaptureParser) {
    this.parser = parser;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const win = this.win;
    win.append(chunk);
    this.bytesFed += chunk.length;
    win.start = this.parser.parse(win.buf, win.start, win.end, win.base, false);
  }

  finish(): void {
    const win = this.win;
    this.parser.finish(win.buf, win.start, win.end, win.base);
  }

  /** Returns the window to the pool; the feeder must not be used afterwards. */
  release(): void {
    if (this.released) return;
    this.released = true;
    releaseWindow(this.win);
  }
}

function errnoCode(e: unknown): string {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : '';
}

function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function openError(e: unknown, path: string): CaptureError {
  const code = errnoCode(e);
  if (code === 'ENOENT' || code === 'ENOTDIR') return new CaptureError('not_found', path, 0, `${path}: no such file`);
  return new CaptureError('unreadable', path, 0, `${path}: cannot read (${code || errMessage(e)})`);
}

/** Captures being read from stdin right now, and whether the user ended stdin (endStdinCapture). */
let stdinReaders = 0;
let stdinEndedByUser = false;

/**
 * End a capture being read from stdin as if the stream had ended: what was read is processed and written. Ctrl-C
 * on `tcpdump -w - | flowsieve extract - -o flows.parquet` means "stop capturing", not "throw the flows away".
 * Returns false when no stdin capture is being read (the caller then aborts as usual).
 */
export function endStdinCapture(): boolean {
  if (stdinReaders === 0) return false;
  stdinEndedByUser = true;
  process.stdin.destroy();
  return true;
}

/** Reads one capture file ('-' = process.stdin), calling onPacket for every packet record. */
export async function readCapture(
  path: string,
  onPacket: PacketCallback,
  opts: ReadOptions = {},
): Promise<CaptureSummary> {
  if (path === '-') {
    stdinReaders++;
    try {
      return await readCaptureStream(process.stdin, '-', onPacket, opts, () => stdinEndedByUser);
    } finally {
      stdinReaders--;
    }
  }
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw openError(e, path);
  }
  try {
    return await readOpenFile(fh, path, onPacket, opts);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

async function readOpenFile(
  fh: FileHandle,
  path: string,
  onPacket: PacketCallback,
  opts: ReadOptions,
): Promise<CaptureSummary> {
  let totalBytes: number | undefined;
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw new CaptureError('unreadable', path, 0, `${path}: is a directory`);
    totalBytes = st.isFile() ? st.size : undefined;
  } catch (e) {
    if (e instanceof CaptureError) throw e;
    throw openError(e, path);
  }
  const win = takeWindow();
  try {
    return await readWindowed(fh, path, win, totalBytes, onPacket, opts);
  } finally {
    releaseWindow(win);
  }
}

async function readWindowed(
  fh: FileHandle,
  path: string,
  win: ByteWindow,
  totalBytes: number | undefined,
  onPacket: PacketCallback,
  opts: ReadOptions,
): Promise<CaptureSummary> {
  // Fill at least the magic (a FIFO may deliver fewer bytes per read).
  let eof = false;
  while (win.end < 4) {
    let n: number;
    try {
      n = (await fh.read(win.buf, win.end, win.buf.length - win.end, null)).bytesRead;
    } catch (e) {
      throw openError(e, path);
    }
    if (n === 0) {
      eof = true;
      break;
    }
    win.end += n;
  }
  if (win.end === 0) throw new CaptureError('empty', path, 0, `${path}: empty file`);
  const magic = sniffMagic(win.buf.subarray(0, win.end));
  if (magic === undefined) {
    throw new CaptureError(
      'not_a_capture',
      path,
      0,
      `${path}: not a pcap/pcapng/gzip/zstd capture (magic ${magicHex(win.buf.subarray(0, Math.min(4, win.end)))})`,
    );
  }
  const session = new Session(path, onPacket, opts, totalBytes, magic);
  session.countRead(win.end);

  if (magic === 'gzip' || magic === 'zstd') {
    const first = win.buf.slice(0, win.end);
    const raw = (async function* (): AsyncGenerator<Uint8Array> {
      yield first;
      if (eof) return;
      for (;;) {
        // Bytes read so far = the file offset of this read (see readOffset for the destination's place).
        const at = readOffset(0, session.bytesRead);
        const chunk = new Uint8Array(at + COMPRESSED_READ_BYTES);
        let n: number;
        try {
          n = (await fh.read(chunk, at, COMPRESSED_READ_BYTES, null)).bytesRead;
        } catch (e) {
          session.warn(
            'capture_read_error',
            session.bytesRead,
            `read error after ${session.bytesRead} bytes: ${errMessage(e)}`,
          );
          return;
        }
        if (n === 0) return;
        session.countRead(n);
        yield chunk.subarray(at, at + n);
      }
    })();
    await decompressInto(raw, session);
    return session.summary();
  }

  // Uncompressed file: parse in place, read straight into the window.
  const parser = session.parser;
  win.start = parser.parse(win.buf, 0, win.end, 0, false);
  if (!eof) await readAhead(fh, win, parser, session);
  parser.finish(win.buf, win.start, win.end, win.base);
  return session.summary();
}

/**
 * Bytes kept free at the front of a window that a read fills ahead: the unparsed tail of the previous window (a
 * record cut by the window's end) is copied there. A longer tail (a record above 512 KB) takes the slow path.
 */
const READ_AHEAD_HEAD = 512 * 1024;

/**
 * Where in a window a read of file offset `pos` starts, at or after `from`: 2048 bytes off the file offset's place
 * in its 4 KB page. The kernel copies page cache pages to the destination with `rep movsb`, which on this machine
 * type (AMD EPYC) runs about 3× slower when source and destination sit within 16 bytes of each other modulo 4 KB:
 * reading lab500.pcap 8 MB at a time, 240 ms at page-aligned destinations against 70–80 ms 16 bytes or more off.
 */
function readOffset(from: number, pos: number): number {
  return from + ((pos - from + 2048) & 4095);
}

/**
 * The rest of an uncompressed file: while the parser works through one window, the next read fills another, so the
 * reading thread waits for the page cache copy (or the disk) only when the parser is faster than it. Reading and
 * parsing in turn, `extract` on the lab500 capture waited 160 ms for 63 reads of 8 MB (270 ms with the Parquet
 * encoder thread beside it). On return `win` holds the unparsed tail, as parse left it.
 */
async function readAhead(fh: FileHandle, win: ByteWindow, parser: CaptureParser, session: Session): Promise<void> {
  let cur = win;
  let spare = takeWindow();
  /** Where the read in flight puts its bytes in `spare`. */
  let at = 0;
  // A read in flight resolves to the bytes read or to its error (never rejects: it may outlive a parse that throws).
  const readInto = (w: ByteWindow, pos: number): Promise<number | Error> => {
    at = readOffset(READ_AHEAD_HEAD, pos);
    return fh.read(w.buf, at, w.buf.length - at, null).then(
      (r) => r.bytesRead,
      (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
    );
  };
  let reading: Promise<number | Error> | null = readInto(spare, cur.base + cur.end);
  try {
    while (reading !== null) {
      const n = await reading;
      reading = null;
      if (n instanceof Error) {
        const offset = cur.base + cur.end;
        session.warn('capture_read_error', offset, `read error at offset ${offset}: ${errMessage(n)}`);
        break;
      }
      if (n === 0) break;
      session.countRead(n);
      const tail = cur.end - cur.start;
      if (tail <= at) {
        // The tail goes in front of the new bytes, and the spare window becomes the current one.
        spare.buf.set(cur.buf.subarray(cur.start, cur.end), at - tail);
        spare.base = cur.base + cur.end - at;
        spare.start = at - tail;
        spare.end = at + n;
        const free = cur;
        cur = spare;
        spare = free;
      } else {
        // A record longer than the head: the new bytes join it in the current window (grown as needed).
        cur.makeRoom(parser.need, n);
        cur.buf.set(spare.buf.subarray(at, at + n), cur.end);
        cur.end += n;
      }
      // The spare window's bytes are all parsed or copied: the next read may fill it while this one is parsed.
      reading = readInto(spare, cur.base + cur.end);
      cur.start = parser.parse(cur.buf, cur.start, cur.end, cur.base, false);
    }
  } finally {
    // Never hand a window back to the pool while a read still writes into it.
    if (reading !== null) await reading;
    if (cur !== win) {
      // The caller finishes with `win`: give it the current window's state and keep the buffers straight.
      const { buf, start, end, base } = cur;
      cur.buf = win.buf;
      win.buf = buf;
      win.start = start;
      win.end = end;
      win.base = base;
      spare = cur;
    }
    releaseWindow(spare);
  }
}

/** Reads a capture from any async byte stream (stdin, tests); `name` labels warnings and errors. */
export async function readCaptureStream(
  chunks: AsyncIterable<Uint8Array>,
  name: string,
  onPacket: PacketCallback,
  opts: ReadOptions = {},
  /** True once the user ended the stream (endStdinCapture): the read error that follows is the normal end. */
  endedByUser: () => boolean = () => false,
): Promise<CaptureSummary> {
  const it = chunks[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let headLen = 0;
  let done = false;
  let readFailure: unknown;
  while (headLen < 4) {
    let r: IteratorResult<Uint8Array>;
    try {
      r = await it.next();
    } catch (e) {
      if (!endedByUser()) readFailure = e;
      break;
    }
    if (r.done) {
      done = true;
      break;
    }
    head.push(r.value);
    headLen += r.value.length;
  }
  if (headLen === 0) {
    if (readFailure !== undefined)
      throw new CaptureError('unreadable', name, 0, `${name}: cannot read (${errMessage(readFailure)})`);
    throw new CaptureError('empty', name, 0, `${name}: empty stream`);
  }
  const first = head.length === 1 ? head[0]! : Buffer.concat(head);
  const magic = sniffMagic(first);
  if (magic === undefined) {
    throw new CaptureError(
      'not_a_capture',
      name,
      0,
      `${name}: not a pcap/pcapng/gzip/zstd capture (magic ${magicHex(first)})`,
    );
  }
  const session = new Session(name, onPacket, opts, undefined, magic);
  session.countRead(first.length);
  const raw = (async function* (): AsyncGenerator<Uint8Array> {
    yield first;
    if (done) return;
    if (readFailure !== undefined) {
      session.warn(
        'capture_read_error',
        session.bytesRead,
        `read error after ${session.bytesRead} bytes: ${errMessage(readFailure)}`,
      );
      return;
    }
    for (;;) {
      let r: IteratorResult<Uint8Array>;
      try {
        r = await it.next();
      } catch (e) {
        if (endedByUser()) return;
        session.warn(
          'capture_read_error',
          session.bytesRead,
          `read error after ${session.bytesRead} bytes: ${errMessage(e)}`,
        );
        return;
      }
      if (r.done) return;
      session.countRead(r.value.length);
      yield r.value;
    }
  })();
  if (magic === 'gzip' || magic === 'zstd') {
    await decompressInto(raw, session);
  } else {
    const feeder = new StreamFeeder(session.parser);
    try {
      for await (const chunk of raw) feeder.push(chunk);
      feeder.finish();
    } finally {
      feeder.release();
    }
  }
  return session.summary();
}

/**
 * Decompresses raw chunks into the session's parser. A truncated or corrupt compressed stream is a warning; what
 * was decoded before it is delivered. Errors raised by the parser (CaptureError) or by the packet callback pass
 * through unchanged.
 */
async function decompressInto(raw: AsyncIterable<Uint8Array>, session: Session): Promise<void> {
  const feeder = new StreamFeeder(session.parser);
  try {
    await decompressWith(raw, session, feeder);
  } finally {
    feeder.release();
  }
}

async function decompressWith(raw: AsyncIterable<Uint8Array>, session: Session, feeder: StreamFeeder): Promise<void> {
  let downstream: { error: unknown } | undefined;
  const push = (chunk: Uint8Array): void => {
    try {
      feeder.push(chunk);
    } catch (e) {
      downstream = { error: e };
      throw e;
    }
  };
  let failure: { code: string; message: string } | undefined;
  if (session.compression === 'gzip') {
    // 256 KiB output chunks: fewer parse calls than zlib's 16 KiB default.
    const gunzip = createGunzip({ chunkSize: 256 * 1024 });
    try {
      await pipeline(Readable.from(raw), gunzip, async (source: AsyncIterable<Uint8Array>) => {
        for await (const chunk of source) push(chunk);
      });
    } catch (e) {
      if (downstream !== undefined) throw downstream.error;
      // zlib reports an input that ends inside the deflate stream as Z_BUF_ERROR "unexpected end of file".
      const truncated = errnoCode(e) === 'Z_BUF_ERROR';
      failure = { code: truncated ? 'capture_truncated_gzip' : 'capture_corrupt_gzip', message: errMessage(e) };
    }
  } else {
    const zstd = new Decompress((chunk) => push(chunk));
    let first = true;
    try {
      for await (const chunk of raw) {
        if (first) {
          first = false;
          const window = zstdWindowBytes(chunk);
          if (window > ZSTD_MAX_WINDOW_BYTES) {
            throw new CaptureError(
              'decompress_failed',
              session.file,
              0,
              `${session.file}: zstd window of ${window} bytes exceeds the ${ZSTD_MAX_WINDOW_BYTES}-byte limit`,
            );
          }
        }
        zstd.push(chunk);
      }
      zstd.push(new Uint8Array(0), true);
    } catch (e) {
      if (downstream !== undefined) throw downstream.error;
      if (e instanceof CaptureError) throw e;
      // fzstd ZstdErrorCode.UnexpectedEOF = 5: the input ended inside a frame.
      const truncated = errnoCode(e) === '5';
      failure = { code: truncated ? 'capture_truncated_zstd' : 'capture_corrupt_zstd', message: errMessage(e) };
    }
  }
  if (failure !== undefined) {
    if (session.parser.format === undefined && feeder.bytesFed < 4) {
      throw new CaptureError(
        'decompress_failed',
        session.file,
        0,
        `${session.file}: ${session.compression} stream fails before a capture header (${failure.message})`,
      );
    }
    const at = feeder.bytesFed;
    session.warn(
      failure.code,
      at,
      `${session.compression} stream ends or breaks after ${at} decoded bytes (${failure.message}); packets before it are delivered`,
    );
  }
  feeder.finish();
}

/**
 * fzstd allocates the frame's whole window up front (the content size for single-segment frames). Like the zstd
 * CLI's default (ZSTD_WINDOWLOG_LIMIT_DEFAULT = 27), frames needing more than 128 MiB are refused, so a hostile
 * header cannot make us allocate gigabytes. Only the first frame is checked (later ones are parsed inside fzstd).
 */
const ZSTD_MAX_WINDOW_BYTES = 128 * 1024 * 1024;

/** Window size declared by a zstd frame header (RFC 8878 §3.1.1.1); 0 when the bytes are too short to tell. */
export function zstdWindowBytes(b: Uint8Array): number {
  if (b.length < 6) return 0;
  const fhd = b[4]!;
  if (((fhd >> 5) & 1) === 0) {
    // Window_Descriptor: windowLog = 10 + Exponent; size = 2^windowLog + (2^windowLog / 8) * Mantissa
    const wd = b[5]!;
    const base = 2 ** (10 + (wd >> 3));
    return base + (base / 8) * (wd & 7);
  }
  // Single segment: the window is the Frame_Content_Size, after the optional Dictionary_ID.
  const at = 5 + [0, 1, 2, 4][fhd & 3]!;
  const fcsBytes = [1, 2, 4, 8][fhd >> 6]!;
  if (b.length < at + fcsBytes) return 0;
  let v = 0;
  for (let i = fcsBytes - 1; i >= 0; i--) v = v * 256 + b[at + i]!;
  return fcsBytes === 2 ? v + 256 : v;
}
