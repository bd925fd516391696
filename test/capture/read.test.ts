/**
 * File, stdin and compressed reading (src/capture/read.ts): fixtures are written by code to a temporary directory.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { CaptureError, type CaptureWarning, readCapture } from '../../src/capture/index.ts';
import {
  concatBytes,
  type PcapngBlock,
  udpFrame,
  type WritePacket,
  writePcap,
  writePcapng,
  zstdRawFrame,
} from '../helpers/pcap-writer.ts';
import { PROJECT_ROOT } from '../helpers/shared.ts';
import { codes, collect, sumDropped } from './collect.ts';

const T0 = 1_700_000_000_000_000;
/** 2000 packets of 100..227 bytes: ~350 KB, enough for several gzip output chunks and zstd blocks. */
const MANY: WritePacket[] = Array.from({ length: 2000 }, (_, i) => ({
  tsUs: T0 + i * 17,
  data: udpFrame(i, 100 + (i % 128)),
}));
const PCAP = writePcap(MANY);
const HAS_ZSTD = spawnSync('zstd', ['--version']).status === 0;

let dir = '';
const file = (name: string, bytes: Uint8Array | string): string => {
  const p = path.join(dir, name);
  writeFileSync(p, bytes);
  return p;
};

async function readFile(p: string) {
  let count = 0;
  let capBytes = 0;
  let lastTs = 0;
  const warnings: CaptureWarning[] = [];
  const progress: [number, number | undefined][] = [];
  const summary = await readCapture(
    p,
    (_buf, _off, capLen, _wire, tsUs) => {
      count++;
      capBytes += capLen;
      lastTs = tsUs;
    },
    { onWarning: (w) => warnings.push(w), onProgress: (a, b) => progress.push([a, b]) },
  );
  return { count, capBytes, lastTs, warnings, progress, summary };
}

const MANY_BYTES = MANY.reduce((n, p) => n + p.data.length, 0);

describe('readCapture', () => {
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'flowsieve-capture-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a pcap file, reporting progress against the file size', async () => {
    const p = file('a.pcap', PCAP);
    const r = await readFile(p);
    assert.equal(r.count, 2000);
    assert.equal(r.capBytes, MANY_BYTES);
    assert.equal(r.lastTs, MANY[1999]!.tsUs);
    assert.equal(r.summary.bytesRead, PCAP.length);
    assert.deepEqual(r.progress.at(-1), [PCAP.length, PCAP.length]);
    assert.deepEqual(r.warnings, []);
  });

  it('reads a pcapng file larger than the window (records straddle reads)', async () => {
    // ~10 MiB: 6000 EPBs of ~1.7 KB, so at least one record crosses the 8 MiB window boundary.
    const packets = Array.from({ length: 6000 }, (_, i) => ({ tsUs: T0 + i, data: udpFrame(i, 1700 + (i % 50)) }));
    const bytes = writePcapng([{ interfaces: [{ linkType: 1 }], packets }]);
    const r = await readFile(file('big.pcapng', bytes));
    assert.equal(r.count, 6000);
    assert.equal(r.summary.format, 'pcapng');
    assert.equal(r.summary.bytesRead, bytes.length);
    assert.deepEqual(r.warnings, []);
  });

  it('grows the window for a block larger than it (9 MiB custom block) when reading a file', async () => {
    const bytes = writePcapng([
      {
        interfaces: [{ linkType: 1 }],
        blocks: [
          { kind: 'epb', packet: MANY[0]! },
          { kind: 'raw', type: 0xbad, body: new Uint8Array(9 * 1024 * 1024) },
          { kind: 'epb', packet: MANY[1]! },
        ],
      },
    ]);
    const r = await readFile(file('huge-block.pcapng', bytes));
    assert.equal(r.count, 2);
    assert.equal(r.lastTs, MANY[1]!.tsUs);
    assert.deepEqual(r.warnings, []);
  });

  it('reads ahead across several windows with every byte in place (records longer than the read head too)', async () => {
    // ~31 MiB of pcapng: 60 B..1.5 KB packets, custom blocks of 600 KB and 300 KB between them, so window ends fall
    // inside records of every kind, and one of 9 MiB: a record longer than the 512 KB kept in front of a read ahead
    // (the slow path) and than the window.
    const packets = Array.from({ length: 20_000 }, (_, i) => ({
      tsUs: T0 + i,
      data: udpFrame(i, 60 + ((i * 37) % 1441)),
    }));
    const blocks: PcapngBlock[] = [];
    for (let i = 0; i < packets.length; i++) {
      blocks.push({ kind: 'epb', packet: packets[i]! });
      if (i === 10_000) blocks.push({ kind: 'raw', type: 0xbad, body: new Uint8Array(9 * 1024 * 1024) });
      if (i % 700 === 350)
        blocks.push({ kind: 'raw', type: 0xbad, body: new Uint8Array(i % 1400 === 350 ? 600_000 : 300_000) });
    }
    const bytes = writePcapng([{ interfaces: [{ linkType: 1 }], blocks }]);
    assert.ok(bytes.length > 3 * 8 * 1024 * 1024, `fixture spans several windows (${bytes.length} bytes)`);
    const p = file('read-ahead.pcapng', bytes);
    // Every packet's bytes and timestamp as the callback sees them, against the fixture.
    let k = 0;
    let mismatches = 0;
    const summary = await readCapture(p, (buf, off, capLen, _wire, tsUs) => {
      const want = packets[k++]!;
      if (tsUs !== want.tsUs || capLen !== want.data.length) mismatches++;
      else for (let i = 0; i < capLen; i++) if (buf[off + i] !== want.data[i]) mismatches++;
    });
    assert.equal(k, packets.length);
    assert.equal(mismatches, 0);
    assert.equal(summary.bytesRead, bytes.length);
  });

  it('lets an exception from the packet callback propagate unchanged', async () => {
    const p = file('cb-throws.pcap', PCAP);
    const boom = new RangeError('consumer failed');
    await assert.rejects(
      readCapture(p, () => {
        throw boom;
      }),
      (e: unknown) => e === boom,
    );
    await assert.rejects(
      readCapture(file('cb-throws.pcap.gz', gzipSync(PCAP)), () => {
        throw boom;
      }),
      (e: unknown) => e === boom,
    );
    assert.equal((await readFile(p)).count, 2000); // and the next read is unaffected
  });

  it('reads gzip by magic, not by name, and counts compressed bytes', async () => {
    const gz = gzipSync(PCAP);
    const r = await readFile(file('no-extension', gz));
    assert.equal(r.count, 2000);
    assert.equal(r.summary.compression, 'gzip');
    assert.equal(r.summary.bytesRead, gz.length);
    assert.deepEqual(r.warnings, []);
  });

  it('reads concatenated gzip members (RFC 1952 §2.2) as one stream', async () => {
    const cut = 24 + 1000 * 16 + MANY.slice(0, 1000).reduce((n, p) => n + p.data.length, 0);
    const r = await readFile(
      file('multi.gz', concatBytes([gzipSync(PCAP.subarray(0, cut)), gzipSync(PCAP.subarray(cut))])),
    );
    assert.equal(r.count, 2000);
  });

  it('delivers what a truncated gzip stream decoded, with a warning', async () => {
    const gz = gzipSync(PCAP, { level: 1 });
    const r = await readFile(file('cut.pcap.gz', gz.subarray(0, Math.floor(gz.length * 0.6))));
    assert.ok(r.count > 500 && r.count < 2000, `${r.count} packets`);
    assert.ok(codes(r.warnings).includes('capture_truncated_gzip'), String(codes(r.warnings)));
    assert.ok(sumDropped(r.summary) <= 1);
  });

  it('warns on a corrupt gzip stream and keeps what came before', async () => {
    const gz = gzipSync(PCAP, { level: 1 });
    const bad = gz.slice();
    for (let i = Math.floor(bad.length / 2); i < Math.floor(bad.length / 2) + 64; i++) bad[i] = 0xff;
    const r = await readFile(file('corrupt.pcap.gz', bad));
    assert.ok(r.count < 2000);
    assert.ok(
      codes(r.warnings).some((c) => c === 'capture_corrupt_gzip' || c === 'capture_truncated_gzip'),
      String(codes(r.warnings)),
    );
  });

  it('reads a zstd stream built from raw blocks', async () => {
    const zst = zstdRawFrame(PCAP);
    const r = await readFile(file('raw.zst', zst));
    assert.equal(r.count, 2000);
    assert.equal(r.summary.compression, 'zstd');
    assert.equal(r.summary.bytesRead, zst.length);
    assert.deepEqual(r.warnings, []);
  });

  it('refuses a zstd frame declaring a window over 128 MiB instead of allocating it', async () => {
    // Frame header with Window_Descriptor 0xF8: windowLog 10 + 31 = 41 (2 TiB), then one empty raw last block.
    const p = file('huge-window.zst', Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xf8, 0x01, 0x00, 0x00));
    await assert.rejects(readFile(p), (e: unknown) => {
      assert.ok(e instanceof CaptureError);
      assert.equal(e.code, 'decompress_failed');
      assert.match(e.message, /zstd window of \d+ bytes exceeds/);
      return true;
    });
    // Single-segment frame whose content size (8-byte field) claims 2^40 bytes.
    const single = Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0xe0, 0, 0, 0, 0, 0, 1, 0, 0, 0x01, 0x00, 0x00);
    await assert.rejects(readFile(file('huge-content.zst', single)), { code: 'decompress_failed' });
  });

  it('delivers what a truncated zstd stream decoded, with a warning', async () => {
    const zst = zstdRawFrame(PCAP);
    const r = await readFile(file('cut.zst', zst.subarray(0, 200_000)));
    assert.ok(r.count > 500 && r.count < 2000, `${r.count} packets`);
    assert.ok(codes(r.warnings).includes('capture_truncated_zstd'), String(codes(r.warnings)));
  });

  it('reads a zstd file compressed by the zstd CLI', { skip: !HAS_ZSTD && 'zstd CLI not installed' }, async () => {
    const src = file('cli.pcapng', writePcapng([{ interfaces: [{ linkType: 1 }], packets: MANY }]));
    const z = spawnSync('zstd', ['-q', '-f', src, '-o', `${src}.zst`]);
    assert.equal(z.status, 0);
    const r = await readFile(`${src}.zst`);
    assert.equal(r.count, 2000);
    assert.equal(r.capBytes, MANY_BYTES);
  });

  it('rejects a gzip file that does not hold a capture, naming the file and the inner magic', async () => {
    const p = file('notes.gz', gzipSync(new TextEncoder().encode('hello, not a capture')));
    await assert.rejects(readFile(p), (e: unknown) => {
      assert.ok(e instanceof CaptureError);
      assert.equal(e.code, 'not_a_capture');
      assert.match(e.message, /notes\.gz: .*inside its gzip stream \(magic 0x68656c6c\)/);
      return true;
    });
  });

  it('raises decompress_failed when a compressed stream breaks before the capture header', async () => {
    const p = file('broken.gz', Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff));
    await assert.rejects(readFile(p), { name: 'CaptureError', code: 'decompress_failed' });
  });

  it('names file-level failures with stable codes', async () => {
    const cases: [string, string, RegExp][] = [
      [path.join(dir, 'missing.pcap'), 'not_found', /missing\.pcap/],
      [file('empty.pcap', new Uint8Array(0)), 'empty', /empty/],
      [
        file('text.pcap', 'area,dir\n'),
        'not_a_capture',
        /text\.pcap: not a pcap\/pcapng\/gzip\/zstd capture \(magic 0x61726561\)/,
      ],
      [file('short.pcap', Uint8Array.of(0xd4, 0xc3)), 'not_a_capture', /magic 0xd4c3\)/],
      [dir, 'unreadable', /is a directory/],
    ];
    for (const [p, code, message] of cases) {
      await assert.rejects(readFile(p), (e: unknown) => {
        assert.ok(e instanceof CaptureError, `${p}: ${e}`);
        assert.equal(e.code, code);
        assert.match(e.message, message);
        assert.equal(e.message.includes('\n'), false);
        return true;
      });
    }
  });

  it("reads stdin for '-' (a child process fed through a pipe)", () => {
    // tcpdump -w - | flowsieve ... in miniature: the child reads '-' and prints its summary.
    const script = `import { readCapture } from ${JSON.stringify(path.join(PROJECT_ROOT, 'src/capture/index.ts'))};
      const s = await readCapture('-', () => {}); console.log(JSON.stringify(s));`;
    const scriptPath = file('stdin-reader.mts', script);
    // gzip through stdin: the stream path shared with readCaptureStream, so one child covers both.
    const input = gzipSync(PCAP, { level: 1 });
    const child = spawnSync(process.execPath, ['--import', 'tsx', scriptPath], {
      input,
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
    });
    assert.equal(child.status, 0, child.stderr);
    const s = JSON.parse(child.stdout);
    assert.equal(s.file, '-');
    assert.equal(s.compression, 'gzip');
    assert.equal(s.packetsDelivered, 2000);
    assert.equal(s.bytesRead, input.length);
  });

  it('reads the same packets from a stream in any chunking as from the file', async () => {
    const p = file('same.pcap', PCAP);
    const fromFile = await readFile(p);
    const fromStream = await collect(PCAP, [4093]);
    assert.equal(fromStream.summary.packetsDelivered, fromFile.count);
    assert.deepEqual({ ...fromStream.summary, file: '' }, { ...fromFile.summary, file: '' });
  });
});

describe('readCapture reuses its window across files', () => {
  it('gives each concurrent read its own window', async () => {
    const d = mkdtempSync(path.join(tmpdir(), 'flowsieve-capture-conc-'));
    try {
      mkdirSync(d, { recursive: true });
      const a = path.join(d, 'a.pcap');
      const b = path.join(d, 'b.pcap');
      writeFileSync(a, PCAP);
      writeFileSync(b, writePcap(MANY.slice(0, 500), { littleEndian: false }));
      const sums = await Promise.all(
        [a, b, a, b].map(async (p) => {
          let s = 0;
          await readCapture(p, (buf, off, capLen) => {
            for (let i = off; i < off + capLen; i++) s = (s + buf[i]!) | 0;
          });
          return s;
        }),
      );
      assert.equal(sums[0], sums[2]);
      assert.equal(sums[1], sums[3]);
      assert.notEqual(sums[0], sums[1]);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
