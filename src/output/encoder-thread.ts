/**
 * A Parquet encoder on a thread of its own: `extract --threads 2` on one input runs the pipeline in the main thread
 * and encodes (and compresses) the row groups here, instead of running two flow shards. On two cores that is the
 * faster split: encoding is about a quarter of the single-threaded run's main thread on the lab capture (node
 * --cpu-prof), and the encoder isolate compiles only the encoder, where a second shard compiles the whole packet
 * path and every meter again (V8's TurboFan: about 0.9 CPU-s per isolate there). bench/results.md, 07:10Z–07:29Z:
 * lab500 1.89–2.58 s against 1.98–2.61 s with one thread (two shards: 3.07–3.31 s in interleaved runs), mixed500
 * 5.85–6.14 s against 6.22–8.39 s. The file is byte for byte the one the main thread alone writes: the same rows
 * in the same order, encoded by the same code.
 *
 * The writer fills a row group in a ColumnBuffers over SharedArrayBuffers and hands the thread a snapshot (the
 * typed arrays shared, the strings copied), then fills a second buffer while the first is encoded. Replies come
 * back on a MessagePort the writer reads synchronously (receiveMessageOnPort), because rows arrive from the
 * synchronous packet loop: when both buffers are busy the writer sleeps on a shared counter (Atomics.wait) that
 * the thread bumps after each reply.
 */
import { MessageChannel, type MessagePort, receiveMessageOnPort, type Worker } from 'node:worker_threads';
import type { ColumnSpec } from '../features/meter.ts';
import { startWorker } from '../util/worker.ts';
import type { ColumnsSnapshot, EncodedRowGroup, ParquetCompression } from './parquet.ts';

/** workerData of ./encoder-worker.ts. */
export interface EncoderData {
  columns: readonly ColumnSpec[];
  compression: ParquetCompression;
  /** Where replies go (the writer reads the other end synchronously). */
  port: MessagePort;
  /** [0]: replies posted so far. */
  signal: Int32Array;
}

/** Atomics.waitAsync (ES2024; in Node since 16): not in the ES2022 library this project compiles against. */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(
      a: Int32Array,
      index: number,
      value: number,
      timeoutMs: number,
    ): { async: false; value: string } | { async: true; value: Promise<string> };
  }
).waitAsync;

/** One reply per snapshot, in the order they were sent. */
export type EncoderReply = { group: EncodedRowGroup } | { error: string };

/** How long one Atomics.wait sleeps before the writer checks the thread is still there. */
const WAIT_SLICE_MS = 200;
/** A thread silent this long while the writer waits is taken for dead (an encode takes well under a second). */
const STALL_MS = 60_000;

export class EncoderThread {
  private readonly worker: Worker;
  private readonly replies: MessagePort;
  private readonly signal = new Int32Array(new SharedArrayBuffer(4));
  private waiting = 0;
  private failure: Error | undefined;

  constructor(columns: readonly ColumnSpec[], compression: ParquetCompression) {
    const { port1, port2 } = new MessageChannel();
    const data: EncoderData = { columns, compression, port: port2, signal: this.signal };
    this.worker = startWorker('output/encoder-worker', data, [port2]);
    // The process ends when extraction does; close() stops the thread.
    this.worker.unref();
    this.worker.on('error', (e) => {
      this.failure = e;
    });
    this.worker.on('exit', (code) => {
      this.failure ??= new Error(`stopped (exit code ${code})`);
    });
    this.replies = port1;
  }

  /** Row groups sent and not yet taken. */
  get pending(): number {
    return this.waiting;
  }

  submit(snapshot: ColumnsSnapshot): void {
    this.check();
    this.worker.postMessage(snapshot);
    this.waiting++;
  }

  /**
   * The oldest encoded row group not yet taken (row groups come back in the order they were sent): undefined when
   * none was sent, or when it is not ready and `wait` is false.
   */
  take(wait: boolean): EncodedRowGroup | undefined {
    if (this.waiting === 0) return undefined;
    let silentMs = 0;
    for (;;) {
      // Read the counter before looking: a reply posted after the look changes it, so the wait returns at once.
      const seen = Atomics.load(this.signal, 0);
      const got = receiveMessageOnPort(this.replies);
      if (got !== undefined) {
        this.waiting--;
        const reply = got.message as EncoderReply;
        if ('error' in reply) throw new Error(`Parquet encoder thread failed: ${reply.error}`);
        return reply.group;
      }
      if (!wait) return undefined;
      this.check();
      if (Atomics.wait(this.signal, 0, seen, WAIT_SLICE_MS) === 'timed-out') {
        silentMs += WAIT_SLICE_MS;
        if (silentMs >= STALL_MS) throw new Error('the Parquet encoder thread stopped answering');
      }
    }
  }

  /**
   * take(true) for the end of the output, where waiting may yield: the event loop then runs, so a thread that
   * could not start or died is reported at once rather than after STALL_MS.
   */
  async takeAsync(): Promise<EncodedRowGroup | undefined> {
    let silentMs = 0;
    // A pending Atomics.waitAsync does not keep the process alive: the (otherwise unref'd) thread does meanwhile.
    this.worker.ref();
    try {
      for (;;) {
        const seen = Atomics.load(this.signal, 0);
        const group = this.take(false);
        if (group !== undefined || this.waiting === 0) return group;
        this.check();
        const started = performance.now();
        const w = waitAsync(this.signal, 0, seen, WAIT_SLICE_MS);
        if (w.async) await w.value;
        silentMs += performance.now() - started;
        if (silentMs >= STALL_MS) throw new Error('the Parquet encoder thread stopped answering');
      }
    } finally {
      this.worker.unref();
    }
  }

  /** Stop the thread (after the last take, or to give up). */
  close(): void {
    this.failure ??= new Error('closed');
    this.replies.close();
    void this.worker.terminate();
  }

  private check(): void {
    if (this.failure !== undefined) throw new Error(`Parquet encoder thread: ${this.failure.message}`);
  }
}
