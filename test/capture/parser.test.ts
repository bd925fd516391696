/**
 * pcap and pcapng parsing (src/capture/parser.ts) through readCaptureStream, on crafted captures built by
 * test/helpers/pcap-writer.ts. Every case says what it crafts; offsets in assertions are computed from the layout.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CaptureError, MAX_CAPLEN_BYTES, WARNINGS_PER_CODE } from '../../src/capture/index.ts';
import { concatBytes, udpFrame, type WritePacket, writePcap, writePcapng } from '../helpers/pcap-writer.ts';
import { codes, collect, sumDropped } from './collect.ts';

const T0 = 1_700_000_000_123_456; // 2023-11-14T22:13:20.123456Z in µs
const pkt = (i: number, extra: Partial<WritePacket> = {}): WritePacket => ({
  tsUs: T0 + i * 1_001,
  data: udpFrame(i, 60 + i),
  ...extra,
});
const THREE = [pkt(0), pkt(1), pkt(2)];

/** Asserts the delivered packets equal the written ones (data, lengths, timestamps, link type). */
function assertSame(got: Awaited<ReturnType<typeof collect>>['packets'], want: WritePacket[], linkType = 1): void {
  assert.equal(got.length, want.length);
  want.forEach((w, i) => {
    const g = got[i]!;
    assert.deepEqual(g.data, w.data, `packet ${i} bytes`);
    assert.equal(g.capLen, w.data.length);
    assert.equal(g.wireLen, w.wireLen ?? w.data.length);
    assert.equal(g.tsUs, w.tsUs, `packet ${i} timestamp`);
    assert.equal(g.linkType, linkType);
  });
}

describe('pcap', () => {
  for (const littleEndian of [true, false]) {
    for (const nanoseconds of [false, true]) {
      it(`reads ${littleEndian ? 'little' : 'big'}-endian ${nanoseconds ? 'ns' : 'µs'} files`, async () => {
        const r = await collect(writePcap(THREE, { littleEndian, nanoseconds }));
        assertSame(r.packets, THREE);
        assert.equal(r.summary.format, 'pcap');
        assert.equal(r.summary.compression, 'none');
        assert.equal(r.summary.packetsDelivered, 3);
        assert.deepEqual(r.summary.dropped, {});
        assert.deepEqual(r.summary.linkTypes, [1]);
        assert.deepEqual(r.warnings, []);
      });
    }
  }

  it('rounds nanoseconds down to microseconds', async () => {
    // Two packets 999 ns and 1 ns past a µs boundary: both stay on that µs (floor, never later than stamped).
    const packets = [pkt(0, { subUsNs: 999 }), pkt(1, { subUsNs: 1 })];
    const r = await collect(writePcap(packets, { nanoseconds: true, littleEndian: false }));
    assert.deepEqual(
      r.packets.map((p) => p.tsUs),
      [T0, T0 + 1_001],
    );
  });

  it("reads Kuznetzov's modified pcap (magic a1b2cd34, 24-byte record headers)", async () => {
    for (const littleEndian of [true, false]) {
      const r = await collect(writePcap(THREE, { kuznetzov: true, littleEndian }));
      assertSame(r.packets, THREE);
    }
  });

  it('masks the FCS length and flag bits out of the link type field', async () => {
    // 0xA0000000: FCS length 4 bytes in bits 28-31 (draft-ietf-opsawg-pcap §4) on top of LINKTYPE_ETHERNET.
    const r = await collect(writePcap(THREE, { linkType: 1, linkTypeHighBits: 0xa0000000 }));
    assertSame(r.packets, THREE, 1);
    assert.deepEqual(r.summary.linkTypes, [1]);
  });

  it('keeps the wire length of snaplen-truncated packets', async () => {
    const p = pkt(0, { wireLen: 1514 }); // 60 bytes captured of a 1514-byte frame
    const r = await collect(writePcap([p], { snaplen: 96 }));
    assert.equal(r.packets[0]!.capLen, 60);
    assert.equal(r.packets[0]!.wireLen, 1514);
    assert.deepEqual(r.warnings, []);
  });

  it('delivers caplen > snaplen with a warning, and wire length < caplen raised to caplen', async () => {
    // Record 0: 60 bytes with snaplen 50. Record 1: wire length 10 < caplen 61.
    const r = await collect(writePcap([pkt(0), pkt(1, { wireLen: 10 })], { snaplen: 50 }));
    assert.equal(r.summary.packetsDelivered, 2);
    assert.equal(r.packets[1]!.wireLen, 61);
    assert.deepEqual(codes(r.warnings), [
      'capture_caplen_over_snaplen',
      'capture_caplen_over_snaplen',
      'capture_wirelen_below_caplen',
    ]);
    assert.equal(r.warnings[0]!.offset, 24);
    assert.match(r.warnings[0]!.message, /offset 24\b/);
  });

  it('warns on an unusual version and reads on', async () => {
    const r = await collect(writePcap(THREE, { version: [2, 3] }));
    assertSame(r.packets, THREE);
    assert.deepEqual(codes(r.warnings), ['capture_unusual_version']);
  });

  it('reads a header-only file as zero packets', async () => {
    const r = await collect(writePcap([]));
    assert.equal(r.summary.packetsDelivered, 0);
    assert.deepEqual(r.summary.linkTypes, []);
    assert.deepEqual(r.warnings, []);
  });

  it('counts a final record cut inside its data as capture_truncated_record', async () => {
    const full = writePcap(THREE);
    const lastStart = full.length - (16 + THREE[2]!.data.length);
    const r = await collect(full.subarray(0, full.length - 5)); // 5 bytes of the last frame missing
    assertSame(r.packets, THREE.slice(0, 2));
    assert.deepEqual(r.summary.dropped, { capture_truncated_record: 1 });
    assert.deepEqual(codes(r.warnings), ['capture_truncated_record']);
    assert.equal(r.warnings[0]!.offset, lastStart);
    assert.match(r.warnings[0]!.message, new RegExp(`offset ${lastStart}\\b`));
  });

  it('counts a final record cut inside its header as capture_truncated_record', async () => {
    const full = writePcap(THREE);
    const lastStart = full.length - (16 + THREE[2]!.data.length);
    const r = await collect(full.subarray(0, lastStart + 7)); // 7 of 16 header bytes
    assert.equal(r.summary.packetsDelivered, 2);
    assert.deepEqual(r.summary.dropped, { capture_truncated_record: 1 });
    assert.equal(r.warnings[0]!.offset, lastStart);
  });

  it('resyncs after an absurd caplen and recovers the records behind it', async () => {
    // Five records; record 2's caplen is overwritten with 0x00F00000 (> 256 KiB): it is dropped, the scan skips
    // its bytes and finds record 3, confirmed by record 4.
    const five = [0, 1, 2, 3, 4].map((i) => pkt(i));
    const bytes = writePcap(five);
    const rec2 = 24 + (16 + 60) + (16 + 61);
    new DataView(bytes.buffer).setUint32(rec2 + 8, 0x00f00000, true);
    const r = await collect(bytes);
    assertSame(r.packets, [five[0]!, five[1]!, five[3]!, five[4]!]);
    assert.deepEqual(r.summary.dropped, { capture_caplen_too_big: 1 });
    assert.equal(r.summary.packetsDelivered + sumDropped(r.summary), 5); // packets_read accounting
    assert.deepEqual(codes(r.warnings), ['capture_caplen_too_big', 'capture_resync']);
    assert.equal(r.warnings[0]!.offset, rec2);
    assert.equal(r.warnings[1]!.offset, rec2);
    assert.match(r.warnings[1]!.message, new RegExp(`skipped ${16 + 62} bytes`));
  });

  it('stops cleanly when nothing plausible follows a bad record', async () => {
    // The last record's caplen is absurd and only its own bytes follow: dropped, then skipped to the end.
    const bytes = writePcap(THREE);
    const rec2 = 24 + (16 + 60) + (16 + 61);
    new DataView(bytes.buffer).setUint32(rec2 + 8, MAX_CAPLEN_BYTES + 1, true);
    const r = await collect(bytes);
    assert.equal(r.summary.packetsDelivered, 2);
    assert.deepEqual(r.summary.dropped, { capture_caplen_too_big: 1 });
    assert.deepEqual(codes(r.warnings), ['capture_caplen_too_big', 'capture_resync']);
  });

  it('recovers records behind a corrupt but in-range caplen at the end of the stream', async () => {
    // Record 1 claims 4000 bytes (in range) while 2 short records follow: it looks truncated at the end, is
    // counted so, and the records after it are found by a resync (pcapfix's test_damaged.pcap has this shape).
    const four = [0, 1, 2, 3].map((i) => pkt(i));
    const bytes = writePcap(four);
    new DataView(bytes.buffer).setUint32(24 + (16 + 60) + 8, 4000, true);
    const r = await collect(bytes);
    assertSame(r.packets, [four[0]!, four[2]!, four[3]!]);
    assert.deepEqual(r.summary.dropped, { capture_truncated_record: 1 });
    assert.deepEqual(codes(r.warnings), ['capture_truncated_record', 'capture_resync']);
  });

  it('throws CaptureError truncated_header for a file header under 24 bytes', async () => {
    await assert.rejects(collect(writePcap([]).subarray(0, 20)), (e: unknown) => {
      assert.ok(e instanceof CaptureError);
      assert.equal(e.code, 'truncated_header');
      return true;
    });
  });

  it('limits warnings per code and counts them all in the summary', async () => {
    // 30 records each with wire length < caplen: 20 warnings, one "suppressed" notice, 30 counted.
    const many = Array.from({ length: 30 }, (_, i) => pkt(i, { wireLen: 1 }));
    const r = await collect(writePcap(many));
    assert.equal(r.summary.packetsDelivered, 30);
    assert.equal(r.warnings.length, WARNINGS_PER_CODE + 1);
    assert.match(r.warnings.at(-1)!.message, /suppressed/);
    assert.deepEqual(r.summary.warnings, { capture_wirelen_below_caplen: 30 });
  });
});

describe('pcapng', () => {
  for (const littleEndian of [true, false]) {
    it(`reads a ${littleEndian ? 'little' : 'big'}-endian section with EPBs`, async () => {
      const r = await collect(writePcapng([{ littleEndian, interfaces: [{ linkType: 1 }], packets: THREE }]));
      assertSame(r.packets, THREE);
      assert.equal(r.summary.format, 'pcapng');
      assert.deepEqual(r.warnings, []);
    });
  }

  it('converts if_tsresol powers of 10 and 2 and applies if_tsoffset, rounding down', async () => {
    // One interface per resolution; each packet carries a raw timestamp in its interface's units.
    const sec = 1_700_000_000n;
    const interfaces = [
      { linkType: 1, tsresol: 9 }, // ns
      { linkType: 1, tsresol: 3 }, // ms
      { linkType: 1, tsresol: 12 }, // ps (two-step division path)
      { linkType: 1, tsresol: 15 }, // fs (BigInt path)
      { linkType: 1, tsresol: 0x80 | 20 }, // 2^-20 s
      { linkType: 1, tsresol: 0x80 | 30 }, // 2^-30 s
      { linkType: 1, tsoffsetS: 1_000_000_000 }, // µs units, +1e9 s offset
      { linkType: 1, tsresol: 9, tsoffsetS: -5 }, // ns with a negative offset
    ];
    const d = udpFrame(0);
    const packets: WritePacket[] = [
      { tsUs: 0, data: d, ifIndex: 0, tsUnits: sec * 1_000_000_000n + 123_456_789n },
      { tsUs: 0, data: d, ifIndex: 1, tsUnits: sec * 1000n + 123n },
      // 64 bits of ps reach only 2^64 / 1e12 s ≈ 213 days, fs ≈ 5 h: small epochs for these two.
      { tsUs: 0, data: d, ifIndex: 2, tsUnits: 1_000_000n * 10n ** 12n + 123_456_999_999n },
      { tsUs: 0, data: d, ifIndex: 3, tsUnits: 10_000n * 10n ** 15n + 123_456_999_999_999n },
      { tsUs: 0, data: d, ifIndex: 4, tsUnits: (sec << 20n) + (1n << 19n) + 1n }, // .5 s + 2^-20 s (0.95 µs)
      { tsUs: 0, data: d, ifIndex: 5, tsUnits: (sec << 30n) + 1073n }, // 1073 / 2^30 s = 0.9993 µs
      { tsUs: 0, data: d, ifIndex: 6, tsUnits: 700_000_000_000_001n },
      { tsUs: 0, data: d, ifIndex: 7, tsUnits: sec * 1_000_000_000n + 1_999n },
    ];
    const r = await collect(writePcapng([{ interfaces, blocks: packets.map((packet) => ({ kind: 'epb', packet })) }]));
    const s = Number(sec) * 1e6;
    assert.deepEqual(
      r.packets.map((p) => p.tsUs),
      [s + 123_456, s + 123_000, 1e12 + 123_456, 1e10 + 123_456, s + 500_000, s, 7e14 + 1 + 1e15, s - 5_000_000 + 1],
    );
  });

  it('reads several sections with different byte orders; interface ids restart per section', async () => {
    // Section 1 (big-endian): Ethernet + raw IP interfaces. Section 2 (little-endian): one Linux SLL interface,
    // and a packet naming interface 1, which section 2 does not define.
    const raw = udpFrame(5).subarray(14);
    const bytes = writePcapng([
      {
        littleEndian: false,
        interfaces: [{ linkType: 1 }, { linkType: 101 }],
        packets: [pkt(0), { tsUs: T0 + 5, data: raw, ifIndex: 1 }],
      },
      { littleEndian: true, interfaces: [{ linkType: 113 }], packets: [pkt(2), pkt(3, { ifIndex: 1 })] },
    ]);
    const r = await collect(bytes);
    assert.deepEqual(
      r.packets.map((p) => p.linkType),
      [1, 101, 113],
    );
    assert.deepEqual(r.packets[1]!.data, raw);
    assert.deepEqual(r.summary.linkTypes, [1, 101, 113]);
    assert.deepEqual(r.summary.dropped, { capture_unknown_interface: 1 });
    assert.deepEqual(codes(r.warnings), ['capture_unknown_interface']);
  });

  it('reads SPBs: interface 0 snaplen, wire length from the block, previous timestamp', async () => {
    // Interface 0 has snaplen 40; the SPB holds a 60-byte frame (padded) of a 1000-byte original.
    const frame = udpFrame(1, 60);
    const bytes = writePcapng([
      {
        interfaces: [{ linkType: 1, snaplen: 40 }],
        blocks: [
          { kind: 'epb', packet: { tsUs: T0, data: frame.subarray(0, 40) } },
          { kind: 'spb', packet: { tsUs: 0, data: frame, wireLen: 1000 } },
        ],
      },
    ]);
    const r = await collect(bytes);
    assert.equal(r.packets.length, 2);
    const spb = r.packets[1]!;
    assert.equal(spb.capLen, 40);
    assert.equal(spb.wireLen, 1000);
    assert.equal(spb.tsUs, T0);
    assert.deepEqual(spb.data, frame.subarray(0, 40));
  });

  it('reads an SPB whose data is shorter than snaplen: caplen = original length', async () => {
    const frame = udpFrame(1, 61); // 61 bytes: padded to 64 in the block, delivered as 61
    const r = await collect(
      writePcapng([{ interfaces: [{ linkType: 1 }], blocks: [{ kind: 'spb', packet: { tsUs: 0, data: frame } }] }]),
    );
    assert.deepEqual(r.packets[0]!.data, frame);
  });

  it('reads obsolete Packet Blocks (type 2)', async () => {
    const r = await collect(
      writePcapng([{ interfaces: [{ linkType: 1 }], blocks: THREE.map((packet) => ({ kind: 'pb', packet })) }]),
    );
    assertSame(r.packets, THREE);
  });

  it('skips unknown, custom and NRB/ISB blocks by their length', async () => {
    const bytes = writePcapng([
      {
        interfaces: [{ linkType: 1 }],
        blocks: [
          { kind: 'raw', type: 4, body: new Uint8Array(12) }, // NRB (content irrelevant)
          { kind: 'epb', packet: THREE[0]! },
          { kind: 'raw', type: 0x40000bad, body: new Uint8Array(7) }, // custom block, 7 bytes padded to 8
          { kind: 'epb', packet: THREE[1]! },
          { kind: 'raw', type: 0x7fff1234, body: new Uint8Array(0) }, // unknown type
          { kind: 'raw', type: 5, body: new Uint8Array(12) }, // ISB
          { kind: 'epb', packet: THREE[2]! },
        ],
      },
    ]);
    const r = await collect(bytes);
    assertSame(r.packets, THREE);
    assert.deepEqual(r.warnings, []);
  });

  it('accepts an IDB defined after packets of other interfaces', async () => {
    const bytes = writePcapng([
      {
        interfaces: [{ linkType: 1 }],
        blocks: [
          { kind: 'epb', packet: THREE[0]! },
          { kind: 'idb', iface: { linkType: 228 } },
          { kind: 'epb', packet: { tsUs: T0, data: udpFrame(1).subarray(14), ifIndex: 1 } },
        ],
      },
    ]);
    const r = await collect(bytes);
    assert.deepEqual(
      r.packets.map((p) => p.linkType),
      [1, 228],
    );
  });

  it('resyncs after a block with a bad length', async () => {
    // Block 2 (first EPB after SHB+IDB) gets length 13 (not a multiple of 4): dropped as a bad packet block;
    // the scan lands on the next EPB.
    const bytes = writePcapng([{ interfaces: [{ linkType: 1 }], packets: THREE }]);
    const epb0 = 28 + 20;
    new DataView(bytes.buffer).setUint32(epb0 + 4, 13, true);
    const r = await collect(bytes);
    assertSame(r.packets, THREE.slice(1));
    assert.deepEqual(r.summary.dropped, { capture_bad_block: 1 });
    assert.deepEqual(codes(r.warnings), ['capture_bad_block', 'capture_resync']);
    assert.equal(r.warnings[0]!.offset, epb0);
    // Same on the second EPB (96 bytes, so the next block is 4 mod 8 bytes away: the scan must step by 4).
    const again = writePcapng([{ interfaces: [{ linkType: 1 }], packets: THREE }]);
    new DataView(again.buffer).setUint32(epb0 + 92 + 4, 13, true);
    const r2 = await collect(again);
    assertSame(r2.packets, [THREE[0]!, THREE[2]!]);
  });

  it('resyncs after a trailing length that differs from the leading one', async () => {
    const bytes = writePcapng([{ interfaces: [{ linkType: 1 }], packets: THREE }]);
    const epb0 = 28 + 20;
    const len0 = 32 + 60;
    new DataView(bytes.buffer).setUint32(epb0 + len0 - 4, 0xdeadbeef, true);
    const r = await collect(bytes);
    assertSame(r.packets, THREE.slice(1));
    assert.deepEqual(r.summary.dropped, { capture_bad_block: 1 });
  });

  it('drops an EPB whose caplen exceeds its block and reads on', async () => {
    const bytes = writePcapng([{ interfaces: [{ linkType: 1 }], packets: THREE }]);
    new DataView(bytes.buffer).setUint32(28 + 20 + 20, 1000, true); // first EPB's caplen
    const r = await collect(bytes);
    assertSame(r.packets, THREE.slice(1));
    assert.deepEqual(r.summary.dropped, { capture_bad_block: 1 });
    assert.deepEqual(codes(r.warnings), ['capture_bad_block']);
  });

  it('counts a truncated final EPB, and warns without counting for a truncated non-packet block', async () => {
    const bytes = writePcapng([{ interfaces: [{ linkType: 1 }], packets: THREE }]);
    const a = await collect(bytes.subarray(0, bytes.length - 3));
    assert.equal(a.summary.packetsDelivered, 2);
    assert.deepEqual(a.summary.dropped, { capture_truncated_record: 1 });
    const withNrb = concatBytes([
      writePcapng([
        {
          interfaces: [{ linkType: 1 }],
          blocks: [
            { kind: 'epb', packet: THREE[0]! },
            { kind: 'raw', type: 4, body: new Uint8Array(40) },
          ],
        },
      ]),
    ]);
    const b = await collect(withNrb.subarray(0, withNrb.length - 10));
    assert.equal(b.summary.packetsDelivered, 1);
    assert.deepEqual(b.summary.dropped, {});
    assert.deepEqual(codes(b.warnings), ['capture_truncated_block']);
  });

  it('skips a section with an unknown major version, counting its packets', async () => {
    const bytes = writePcapng([
      { interfaces: [{ linkType: 1 }], packets: [THREE[0]!] },
      { majorVersion: 2, interfaces: [{ linkType: 1 }], packets: [THREE[1]!, THREE[2]!] },
      { interfaces: [{ linkType: 1 }], packets: [THREE[2]!] },
    ]);
    const r = await collect(bytes);
    assert.equal(r.summary.packetsDelivered, 2);
    assert.deepEqual(r.summary.dropped, { capture_unsupported_section: 2 });
  });

  it('throws CaptureError bad_header for a first SHB with a bad byte-order magic', async () => {
    const bytes = writePcapng([{ interfaces: [{ linkType: 1 }], packets: THREE }]);
    bytes[8] = 0;
    await assert.rejects(collect(bytes), { name: 'CaptureError', code: 'bad_header' });
  });

  it('drops EPBs with caplen > 256 KiB', async () => {
    const big = new Uint8Array(MAX_CAPLEN_BYTES + 4);
    const r = await collect(
      writePcapng([{ interfaces: [{ linkType: 1 }], packets: [{ tsUs: T0, data: big }, THREE[0]!] }]),
    );
    assert.equal(r.summary.packetsDelivered, 1);
    assert.deepEqual(r.summary.dropped, { capture_caplen_too_big: 1 });
  });

  it('grows the window for a block larger than it (a 9 MiB custom block)', async () => {
    const bytes = writePcapng([
      {
        interfaces: [{ linkType: 1 }],
        blocks: [
          { kind: 'epb', packet: THREE[0]! },
          { kind: 'raw', type: 0xbad, body: new Uint8Array(9 * 1024 * 1024) },
          { kind: 'epb', packet: THREE[1]! },
        ],
      },
    ]);
    const r = await collect(bytes, [1 << 20]);
    assertSame(r.packets, THREE.slice(0, 2));
    assert.deepEqual(r.warnings, []);
  });
});

describe('incremental parsing', () => {
  it('gives the same result for every chunking, down to one byte at a time', async () => {
    // A mix exercising carry-over at every byte position: pcap and pcapng with a resync in the middle.
    const pcap = writePcap([0, 1, 2, 3, 4].map((i) => pkt(i)));
    new DataView(pcap.buffer).setUint32(24 + 76 + 8, 0x01000000, true);
    const ng = writePcapng([
      { littleEndian: false, interfaces: [{ linkType: 1 }], packets: THREE },
      { interfaces: [{ linkType: 1, tsresol: 9 }], packets: THREE },
    ]);
    new DataView(ng.buffer).setUint32(28 + 20 + 4, 0x0fff, false);
    for (const bytes of [pcap, ng]) {
      const whole = await collect(bytes);
      for (const sizes of [[1], [3], [7, 1, 64], [100, 5]]) {
        const r = await collect(bytes, sizes);
        assert.deepEqual(r.packets, whole.packets, `chunks ${sizes}`);
        assert.deepEqual(r.summary, whole.summary);
        assert.deepEqual(r.warnings, whole.warnings);
      }
    }
  });
});
