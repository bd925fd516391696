/**
 * Decompression bombs: a ~1 MB gzip file and a ~190 KB zstd file that each inflate to 1 GiB of pcap. extract() must
 * stream them (decompressor output parsed chunk by chunk) with memory bounded far below the inflated size, and
 * still read every record. Runs in its own test process (node --test isolates files), so RSS reflects this file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { extract } from '../../src/api.ts';
import { gzipBomb, zstdBomb } from '../fixtures-gen/hostile.ts';
import { dropped } from '../helpers/run.ts';

const GIB = 1024 ** 3;
/** Headroom over the RSS before the read: the 8 MiB window, zlib's buffers and V8 noise. 1 GiB would not fit. */
const MAX_GROWTH_BYTES = 192 * 1024 ** 2;

async function extractMeasured(bytes: Uint8Array, name: string) {
  const dir = mkdtempSync(path.join(tmpdir(), 'flowsieve-bomb-'));
  try {
    const file = path.join(dir, name);
    writeFileSync(file, bytes);
    globalThis.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sample = () => {
      peak = Math.max(peak, process.memoryUsage().rss);
    };
    const timer = setInterval(sample, 20);
    let flows = 0;
    try {
      const { stats } = await extract({
        inputs: [file],
        onProgress: sample,
        onFlow: () => {
          flows++;
        },
      });
      sample();
      return { stats, flows, growth: peak - before };
    } finally {
      clearInterval(timer);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const [kind, build, maxCompressed] of [
  ['gzip', gzipBomb, 4 * 1024 ** 2],
  ['zstd', zstdBomb, 1024 ** 2],
] as const) {
  test(`a ${kind} bomb (1 GiB inflated) is streamed with bounded memory`, { timeout: 120_000 }, async () => {
    const { bytes, records } = build(GIB);
    assert.ok(bytes.length < maxCompressed, `bomb is ${bytes.length} bytes`);
    const { stats, flows, growth } = await extractMeasured(bytes, `bomb.pcap.${kind === 'gzip' ? 'gz' : 'zst'}`);
    console.log(
      `${kind} bomb: ${bytes.length} bytes → ${records} records; RSS growth ${(growth / 2 ** 20).toFixed(0)} MiB`,
    );
    assert.equal(stats.files[0]?.compression, kind);
    // Every all-zero frame was read (and dropped as not IP): nothing skipped, nothing inflated whole.
    assert.equal(stats.packets_read, records);
    assert.equal(stats.packets_read, stats.packets_in_flows + dropped(stats));
    assert.equal(flows, 0);
    assert.ok(growth < MAX_GROWTH_BYTES, `RSS grew ${growth} bytes`);
  });
}
