import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeFrame, PacketView } from '../../src/decode/index.ts';
import { BytesMeter } from '../../src/features/bytes.ts';
import type { FlowRow } from '../../src/features/meter.ts';
import { tcpFrame } from '../helpers/packets.ts';

const pv = new PacketView();
function at(frame: Uint8Array, tsUs: number): PacketView {
  assert.equal(decodeFrame(pv, frame, 0, frame.length, frame.length, tsUs, 1), 'ok');
  return pv;
}
const C = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 443, flags: 'PA' };
const S = { src: '10.0.0.2', dst: '10.0.0.1', sport: 443, dport: 40000, flags: 'PA' };
const TOL = 1e-6;

type Bytes = {
  bidirectional_distribution_payload: number[] | null;
  bidirectional_sampled_payload_bytes: number;
  bidirectional_entropy_payload: number | null;
  src2dst_entropy_payload: number | null;
  dst2src_entropy_payload: number | null;
  bidirectional_mean_payload_byte: number | null;
  bidirectional_stddev_payload_byte: number | null;
  src2dst_first_payload_bytes: number;
  dst2src_first_payload_bytes: number;
};

function run(m: BytesMeter, slot: number, pkts: [Uint8Array, 0 | 1][]): Bytes {
  m.onInit(slot, at(tcpFrame({ ...C, flags: 'S' }), 0));
  for (const [payload, dir] of pkts) m.onUpdate(slot, at(tcpFrame({ ...(dir === 0 ? C : S), payload }), 1), dir);
  const row: FlowRow = {};
  m.onExpire(slot, row);
  return row.bytes as Bytes;
}

const all256 = Uint8Array.from({ length: 256 }, (_, i) => i);

describe('BytesMeter', () => {
  it('entropy is 8 bits/byte for 256 distinct values and 0 for a constant', () => {
    const m = new BytesMeter({ distribution: true });
    m.resize(4);
    const b = run(m, 0, [
      [all256, 0],
      [new Uint8Array(100).fill(7), 1],
    ]);
    assert.ok(Math.abs(b.src2dst_entropy_payload! - 8) < TOL);
    assert.equal(b.dst2src_entropy_payload, 0);
    assert.equal(b.bidirectional_sampled_payload_bytes, 356);
    // Both: 255 values with p = 1/356 and value 7 with p = 101/356.
    const p1 = 1 / 356;
    const p7 = 101 / 356;
    const h = -(255 * p1 * Math.log2(p1) + p7 * Math.log2(p7));
    assert.ok(Math.abs(b.bidirectional_entropy_payload! - h) < TOL);
    assert.equal(b.bidirectional_distribution_payload?.length, 256);
    assert.equal(b.bidirectional_distribution_payload?.[7], 101);
    assert.equal(b.bidirectional_distribution_payload?.[200], 1);
    assert.equal(b.src2dst_first_payload_bytes, 256);
    assert.equal(b.dst2src_first_payload_bytes, 100);
  });

  it('mean and population standard deviation of byte values', () => {
    const m = new BytesMeter({ distribution: true });
    m.resize(1);
    // Bytes 0 and 255 once each: mean 127.5, population sd 127.5.
    const b = run(m, 0, [[Uint8Array.of(0, 255), 0]]);
    assert.ok(Math.abs(b.bidirectional_mean_payload_byte! - 127.5) < TOL);
    assert.ok(Math.abs(b.bidirectional_stddev_payload_byte! - 127.5) < TOL);
    assert.equal(b.dst2src_entropy_payload, null);
  });

  it('counts only the first K bytes per direction; the IDP length is the first payload packet', () => {
    const m = new BytesMeter({ maxBytesPerDirection: 10, distribution: true });
    m.resize(1);
    const b = run(m, 0, [
      [new Uint8Array(6).fill(1), 0],
      [new Uint8Array(6).fill(2), 0], // only 4 of these count
      [new Uint8Array(50).fill(3), 0], // none count
      [new Uint8Array(20).fill(9), 1], // 10 count
    ]);
    assert.equal(b.bidirectional_sampled_payload_bytes, 20);
    assert.equal(b.bidirectional_distribution_payload?.[1], 6);
    assert.equal(b.bidirectional_distribution_payload?.[2], 4);
    assert.equal(b.bidirectional_distribution_payload?.[3], 0);
    assert.equal(b.bidirectional_distribution_payload?.[9], 10);
    assert.equal(b.src2dst_first_payload_bytes, 6);
    assert.equal(b.dst2src_first_payload_bytes, 20);
  });

  it('a flow without payload has nulls and zero IDP lengths, and takes no pool block', () => {
    const m = new BytesMeter({ distribution: true });
    m.resize(1);
    const b = run(m, 0, []);
    assert.equal(b.bidirectional_distribution_payload, null);
    assert.equal(b.bidirectional_entropy_payload, null);
    assert.equal(b.bidirectional_mean_payload_byte, null);
    assert.equal(b.src2dst_first_payload_bytes, 0);
    assert.equal(m.poolBlocks, 0);
    assert.equal(m.rawPoolBlocks, 0);
  });

  it('blocks are reused: 1000 sequential flows over 10 slots use at most 10, counts start clean', () => {
    const m = new BytesMeter({ distribution: true });
    m.resize(10);
    for (let i = 0; i < 1000; i++) {
      // Alternately a small flow (its byte kept) and one past the 128 kept bytes (counted).
      const small = i % 2 === 0;
      const b = run(m, i % 10, [[new Uint8Array(small ? 1 : 200).fill(i & 0xff), 0]]);
      assert.equal(b.bidirectional_sampled_payload_bytes, small ? 1 : 200);
      assert.equal(b.bidirectional_distribution_payload?.[i & 0xff], small ? 1 : 200);
    }
    assert.ok(m.rawPoolBlocks <= 10 && m.poolBlocks <= 10);
    // Live flows at once: 300 slots each holding a block, then all expire.
    m.resize(300);
    for (let s = 0; s < 300; s++) {
      m.onInit(s, at(tcpFrame({ ...C, flags: 'S' }), 0));
      m.onUpdate(s, at(tcpFrame({ ...C, payload: new Uint8Array(s < 100 ? 1 : 129).fill(s & 0xff) }), 1), 0);
    }
    assert.ok(m.rawPoolBlocks >= 100);
    assert.ok(m.poolBlocks >= 200);
    for (let s = 0; s < 300; s++) {
      const row: FlowRow = {};
      m.onExpire(s, row);
      assert.equal((row.bytes as Bytes).bidirectional_distribution_payload?.[s & 0xff], s < 100 ? 1 : 129);
    }
  });

  it('equals a plain count of the first K bytes per direction, for small flows kept raw and large ones counted', () => {
    // Flows of a few packets each way, small (kept as bytes until expiry) and past the kept 128 bytes per direction
    // (counted from then on), on rotating slots, against the definitions computed from the payloads directly.
    const packet = fc.record({
      dir: fc.constantFrom<0 | 1>(0, 1),
      payload: fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ minLength: 60, maxLength: 300 })),
    });
    fc.assert(
      fc.property(
        fc.array(fc.array(packet, { maxLength: 8 }), { minLength: 1, maxLength: 12 }),
        fc.constantFrom(100, 150, 4096),
        (flows, k) => {
          const m = new BytesMeter({ maxBytesPerDirection: k, distribution: true });
          m.resize(3);
          flows.forEach((pkts, f) => {
            const got = run(
              m,
              f % 3,
              pkts.filter((p) => p.payload.length > 0).map((p) => [p.payload, p.dir]),
            );
            const counts = [new Array<number>(256).fill(0), new Array<number>(256).fill(0)];
            const seen = [0, 0];
            for (const { dir, payload } of pkts)
              for (const x of payload)
                if (seen[dir]! < k) {
                  seen[dir]!++;
                  counts[dir]![x]!++;
                }
            const total = seen[0]! + seen[1]!;
            assert.equal(got.bidirectional_sampled_payload_bytes, total);
            if (total === 0) {
              assert.equal(got.bidirectional_distribution_payload, null);
              return;
            }
            const both = counts[0]!.map((c, v) => c + counts[1]![v]!);
            assert.deepEqual(got.bidirectional_distribution_payload, both);
            const entropy = (c: number[], n: number) =>
              n === 0 ? null : -c.reduce((h, x) => (x === 0 ? h : h + (x / n) * Math.log2(x / n)), 0);
            const close = (a: number | null, b: number | null) =>
              a === null || b === null ? a === b : Math.abs(a - b) < TOL;
            assert.ok(close(got.bidirectional_entropy_payload, entropy(both, total)));
            assert.ok(close(got.src2dst_entropy_payload, entropy(counts[0]!, seen[0]!)));
            assert.ok(close(got.dst2src_entropy_payload, entropy(counts[1]!, seen[1]!)));
            const mean = both.reduce((a, c, v) => a + c * v, 0) / total;
            assert.ok(close(got.bidirectional_mean_payload_byte, mean));
          });
        },
      ),
      { numRuns: 150 },
    );
  });

  it('declares every column it writes', () => {
    const m = new BytesMeter({ distribution: true });
    m.resize(1);
    const b = run(m, 0, [[all256, 0]]);
    assert.deepEqual(Object.keys(b).sort(), BytesMeter.columns.map((c) => c.key).sort());
    assert.ok(BytesMeter.columns.every((c) => c.group === 'bytes' && c.doc.length > 0));
  });
});

it('the 256-count list is opt-in; entropy is written either way', () => {
  const m = new BytesMeter();
  assert.ok(!m.columns.some((c) => c.key === 'bidirectional_distribution_payload'));
  assert.ok(m.columns.some((c) => c.key === 'bidirectional_entropy_payload'));
  assert.ok(new BytesMeter({ distribution: true }).columns.some((c) => c.key === 'bidirectional_distribution_payload'));
});
