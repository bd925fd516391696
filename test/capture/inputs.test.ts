/** listInputs (src/capture/inputs.ts) over a directory tree written by code. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { CaptureError, listInputs } from '../../src/capture/index.ts';
import { udpFrame, writePcap, writePcapng, zstdRawFrame } from '../helpers/pcap-writer.ts';

describe('listInputs', () => {
  let root = '';
  const pcap = writePcap([{ tsUs: 1e15, data: udpFrame(0) }]);
  const put = (rel: string, bytes: Uint8Array | string): string => {
    const p = path.join(root, rel);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, bytes);
    return p;
  };

  before(() => {
    root = mkdtempSync(path.join(tmpdir(), 'flowsieve-inputs-'));
    put('tree/b.pcap', pcap);
    put('tree/B.cap', writePcap([], { littleEndian: false })); // uppercase sorts before lowercase (code units)
    put('tree/a.txt', 'not a capture');
    put('tree/sub/c.pcapng', writePcapng([{ interfaces: [{ linkType: 1 }] }]));
    put('tree/sub/noext', pcap); // captures are found by magic, not by name
    put('tree/d.pcap.gz', gzipSync(pcap));
    put('tree/e.json.gz', gzipSync('{"a": 1}')); // gzip, but not of a capture
    put('tree/f.zst', zstdRawFrame(pcap));
    put('tree/g.pcap', ''); // empty: no magic
    symlinkSync(path.join(root, 'tree'), path.join(root, 'tree/sub/loop')); // a cycle back to the top
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('walks directories in sorted order, keeping files whose magic is a capture', async () => {
    const got = await listInputs([path.join(root, 'tree')]);
    const rel = got.map((p) => path.relative(root, p));
    assert.deepEqual(rel, [
      'tree/B.cap',
      'tree/b.pcap',
      'tree/d.pcap.gz',
      'tree/f.zst',
      'tree/sub/c.pcapng',
      'tree/sub/noext',
    ]);
  });

  it("keeps explicit files (even non-captures) and '-' in the given order", async () => {
    const txt = path.join(root, 'tree/a.txt');
    const got = await listInputs(['-', txt, path.join(root, 'tree/sub')]);
    // From tree/sub the link 'loop' leads to tree, walked once (its own 'sub' is where we started).
    const loop = ['B.cap', 'b.pcap', 'd.pcap.gz', 'f.zst'].map((n) => path.join(root, 'tree/sub/loop', n));
    assert.deepEqual(got, ['-', txt, path.join(root, 'tree/sub/c.pcapng'), ...loop, path.join(root, 'tree/sub/noext')]);
  });

  it('raises not_found for a missing path', async () => {
    await assert.rejects(listInputs([path.join(root, 'nope')]), (e: unknown) => {
      assert.ok(e instanceof CaptureError);
      assert.equal(e.code, 'not_found');
      assert.match(e.message, /nope/);
      return true;
    });
  });
});
