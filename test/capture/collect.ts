/** Test helper: run the capture reader over bytes and collect copies of what it delivers. */
import { type CaptureSummary, type CaptureWarning, readCaptureStream } from '../../src/capture/index.ts';

export interface Delivered {
  data: Uint8Array;
  capLen: number;
  wireLen: number;
  tsUs: number;
  linkType: number;
}

export interface Collected {
  packets: Delivered[];
  warnings: CaptureWarning[];
  summary: CaptureSummary;
}

/** Splits bytes into chunks of the given sizes (cycled), as a stream would deliver them. */
export async function* chunked(bytes: Uint8Array, sizes: number[] = [bytes.length || 1]): AsyncGenerator<Uint8Array> {
  let at = 0;
  let i = 0;
  while (at < bytes.length) {
    const n = Math.max(1, sizes[i++ % sizes.length]!);
    // Copy: a real stream hands out fresh chunks, and the reader must not rely on them staying intact.
    yield bytes.slice(at, at + n);
    at += n;
  }
}

export function sumDropped(s: CaptureSummary): number {
  return Object.values(s.dropped).reduce((a, b) => a + b, 0);
}

/** Reads bytes through readCaptureStream, copying every packet (the reader reuses its buffer). */
export async function collect(bytes: Uint8Array, chunkSizes?: number[], name = 'test'): Promise<Collected> {
  const packets: Delivered[] = [];
  const warnings: CaptureWarning[] = [];
  const summary = await readCaptureStream(
    chunked(bytes, chunkSizes),
    name,
    (buf, offset, capLen, wireLen, tsUs, linkType) => {
      packets.push({ data: buf.slice(offset, offset + capLen), capLen, wireLen, tsUs, linkType });
    },
    { onWarning: (w) => warnings.push(w) },
  );
  return { packets, warnings, summary };
}

/** The warning codes in order, for compact assertions. */
export function codes(ws: CaptureWarning[]): string[] {
  return ws.map((w) => w.code);
}
