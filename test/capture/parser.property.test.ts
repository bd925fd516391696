/**
 * Property tests for the capture parser: random and mutated bytes never throw anything but CaptureError, never
 * hang (each property runs under a timeout), keep every callback inside the buffer, keep the accounting, and give
 * the same result whatever the chunking. Truncating a valid capture anywhere costs exactly the cut record.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  CAPTURE_WARNING_CODES,
  CaptureError,
  type CaptureSummary,
  DROP_CODES,
  MAX_CAPLEN_BYTES,
  readCaptureStream,
} from '../../src/capture/index.ts';
import { udpFrame, type WritePacket, writePcap, writePcapng } from '../helpers/pcap-writer.ts';
import { chunked, collect, sumDropped } from './collect.ts';

const WARNING_CODES = new Set<string>(CAPTURE_WARNING_CODES);
const DROPS = new Set<string>(DROP_CODES);

interface Outcome {
  summary?: CaptureSummary;
  errorCode?: string;
  calls: number;
  digest: number;
}

/** Reads bytes, checking every callback and warning; returns a comparable outcome. */
async function checkedRead(bytes: Uint8Array, sizes: number[]): Promise<Outcome> {
  let calls = 0;
  let digest = 0;
  try {
    const summary = await readCaptureStream(
      chunked(bytes, sizes),
      'prop',
      (buf, offset, capLen, wireLen, tsUs, linkType) => {
        calls++;
        assert.ok(Number.isInteger(offset) && offset >= 0 && offset + capLen <= buf.length, 'record inside the buffer');
        assert.ok(capLen <= wireLen && capLen <= MAX_CAPLEN_BYTES, 'capLen <= wireLen, <= limit');
        assert.ok(Number.isFinite(tsUs) && Number.isInteger(linkType));
        for (let i = offset; i < offset + capLen; i++) digest = (digest * 31 + buf[i]!) | 0;
        digest = (digest * 31 + capLen + wireLen + linkType) | 0;
      },
      {
        onWarning: (w) => {
          assert.ok(WARNING_CODES.has(w.code), w.code);
          assert.ok(w.offset >= 0 && w.offset <= bytes.length, `warning offset ${w.offset}`);
          assert.equal(w.message.includes('\n'), false);
        },
      },
    );
    assert.equal(summary.packetsDelivered, calls);
    for (const k of Object.keys(summary.dropped)) assert.ok(DROPS.has(k), k);
    return { summary, calls, digest };
  } catch (e) {
    if (!(e instanceof CaptureError)) throw e;
    return { errorCode: e.code, calls, digest };
  }
}

/** Starts that get random bytes past the magic check: every pcap variant and an SHB in both orders. */
const PREFIXES: Uint8Array[] = [
  new Uint8Array(0),
  writePcap([]),
  writePcap([], { littleEndian: false, nanoseconds: true }),
  writePcap([], { kuznetzov: true, snaplen: 100 }),
  writePcapng([{ interfaces: [] }]).subarray(0, 28),
  writePcapng([{ littleEndian: false, interfaces: [{ linkType: 1 }] }]),
];

const packetArb = fc.record({
  tsUs: fc.integer({ min: 0, max: 2 ** 32 - 1 }).map((s) => s * 1e6 + 17),
  size: fc.integer({ min: 0, max: 300 }),
  ifIndex: fc.integer({ min: 0, max: 1 }),
});

/** A valid capture of random packets in one of several layouts. */
const captureArb = fc
  .record({ packets: fc.array(packetArb, { maxLength: 12 }), layout: fc.integer({ min: 0, max: 4 }) })
  .map(({ packets, layout }) => {
    const ps: WritePacket[] = packets.map((p, i) => ({
      tsUs: p.tsUs,
      data: udpFrame(i, p.size).subarray(0, p.size),
      ifIndex: p.ifIndex,
    }));
    const ifaces = [{ linkType: 1 }, { linkType: 101, tsresol: 9 }];
    switch (layout) {
      case 0:
        return { bytes: writePcap(ps), packets: ps.length, headerBytes: 24 };
      case 1:
        return {
          bytes: writePcap(ps, { littleEndian: false, nanoseconds: true }),
          packets: ps.length,
          headerBytes: 24,
        };
      case 2:
        return { bytes: writePcapng([{ interfaces: ifaces, packets: ps }]), packets: ps.length, headerBytes: 28 };
      case 3:
        return {
          bytes: writePcapng([{ littleEndian: false, interfaces: ifaces, packets: ps }]),
          packets: ps.length,
          headerBytes: 28,
        };
      default:
        return {
          bytes: writePcapng([
            { interfaces: ifaces, packets: ps.slice(0, 6) },
            {
              littleEndian: false,
              interfaces: ifaces,
              blocks: ps.slice(6).map((packet) => ({ kind: 'pb' as const, packet })),
            },
          ]),
          packets: ps.length,
          headerBytes: 28,
        };
    }
  });

const chunkSizesArb = fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 5 });

function sameOutcome(a: Outcome, b: Outcome): void {
  assert.equal(a.errorCode, b.errorCode);
  assert.equal(a.calls, b.calls);
  assert.equal(a.digest, b.digest);
  assert.deepEqual(a.summary, b.summary);
}

describe('capture parser properties', () => {
  it('random bytes after any prefix: only CaptureError, bounded callbacks, chunking-independent', {
    timeout: 60_000,
  }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: PREFIXES.length - 1 }),
        fc.uint8Array({ maxLength: 1500 }),
        chunkSizesArb,
        async (prefixIndex, tail, sizes) => {
          const p = PREFIXES[prefixIndex]!;
          const bytes = new Uint8Array(p.length + tail.length);
          bytes.set(p);
          bytes.set(tail, p.length);
          sameOutcome(await checkedRead(bytes, sizes), await checkedRead(bytes, [bytes.length || 1]));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('mutated valid captures: same invariants, and the reader still reads valid input after', {
    timeout: 60_000,
  }, async () => {
    await fc.assert(
      fc.asyncProperty(
        captureArb,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        chunkSizesArb,
        async (cap, mutations, sizes) => {
          const bytes = cap.bytes.slice();
          for (const [at, v] of mutations) bytes[at % bytes.length] = v;
          const whole = await checkedRead(bytes, [bytes.length]);
          sameOutcome(await checkedRead(bytes, sizes), whole);
          const valid = await checkedRead(cap.bytes, sizes);
          assert.equal(valid.summary?.packetsDelivered, cap.packets);
          assert.deepEqual(valid.summary?.dropped, {});
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a valid capture cut anywhere delivers the complete records and counts the cut one', {
    timeout: 60_000,
  }, async () => {
    await fc.assert(
      fc.asyncProperty(captureArb, fc.double({ min: 0, max: 1, noNaN: true }), async (cap, where) => {
        const whole = await collect(cap.bytes);
        // Record boundaries: where each delivered record ends, found by cutting right after it below.
        const cut = cap.headerBytes + Math.floor(where * (cap.bytes.length - cap.headerBytes));
        const r = await collect(cap.bytes.subarray(0, cut));
        const complete = whole.packets.filter(
          (_, i) => recordEnd(cap.bytes, i, whole.packets.length, cap.headerBytes) <= cut,
        ).length;
        assert.equal(r.summary.packetsDelivered, complete);
        assert.deepEqual(r.packets, whole.packets.slice(0, complete));
        // delivered + dropped never exceeds the records that start before the cut
        assert.ok(r.summary.packetsDelivered + sumDropped(r.summary) <= whole.packets.length);
        assert.ok(sumDropped(r.summary) <= 1);
      }),
      { numRuns: 300 },
    );
  });
});

/**
 * End offset of the i-th packet record, found by walking block/record lengths (pcap: 16-byte headers; pcapng:
 * block lengths, skipping non-packet blocks). Only used on valid captures from captureArb.
 */
function recordEnd(bytes: Uint8Array, index: number, _total: number, headerBytes: number): number {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (headerBytes === 24) {
    const le = dv.getUint32(0, true) === 0xa1b2c3d4 || dv.getUint32(0, true) === 0xa1b23c4d;
    let pos = 24;
    for (let i = 0; ; i++) {
      const end = pos + 16 + dv.getUint32(pos + 8, le);
      if (i === index) return end;
      pos = end;
    }
  }
  let pos = 0;
  let le = true;
  let seen = -1;
  for (;;) {
    if (dv.getUint32(pos, true) === 0x0a0d0d0a) le = dv.getUint32(pos + 8, true) === 0x1a2b3c4d;
    const type = dv.getUint32(pos, le);
    const end = pos + dv.getUint32(pos + 4, le);
    if (type === 2 || type === 3 || type === 6) seen++;
    if (seen === index) return end;
    pos = end;
  }
}
