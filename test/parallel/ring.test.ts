/**
 * The packet ring between the reader and a shard worker (src/parallel/ring.ts): records come out as they went in —
 * fields, bytes and order — across slot boundaries, each published slot carries the reader's clock and how far it
 * had distributed packets, and a writer facing a full ring of a failed worker raises instead of waiting forever.
 * (Both ends run in this one thread here, so the writer never fills more slots than the ring has.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  consumeRing,
  createRing,
  markRingFailed,
  RING_SLOTS,
  RingWriter,
  SLOT_BYTES,
} from '../../src/parallel/ring.ts';

interface Record {
  ordinal: number;
  tsUs: number;
  clockUs: number;
  wireLen: number;
  linkType: number;
  flags: number;
  ports: number;
  bytes: number[];
}

function failing(): never {
  throw new Error('worker failed');
}

test('records cross the ring unchanged, in order, over several slots', () => {
  const ring = createRing();
  const writer = new RingWriter(ring, failing);
  const sent: Record[] = [];
  // Packets of 1..1500 bytes until about 2.5 slots are used, read from a larger buffer at an offset.
  const source = new Uint8Array(4000).map((_, i) => (i * 7) & 0xff);
  let used = 0;
  for (let i = 0; used < SLOT_BYTES * 2.5; i++) {
    const capLen = 1 + ((i * 977) % 1500);
    const offset = (i * 13) % 2000;
    const r: Record = {
      ordinal: i * 2,
      tsUs: 1_700_000_000_000_000 + i * 1000,
      clockUs: 1_700_000_000_000_000 + i * 1000 + 5,
      wireLen: capLen + (i % 3),
      linkType: i % 2 === 0 ? 1 : 101,
      flags: i % 2,
      ports: (((1024 + i) << 16) | 443) >>> 0,
      bytes: [...source.subarray(offset, offset + capLen)],
    };
    writer.append(source, offset, capLen, r.wireLen, r.tsUs, r.linkType, r.ordinal, r.clockUs, r.flags, r.ports);
    sent.push(r);
    used += 48 + capLen + 8;
  }
  writer.flush(42, 1e6, true);
  const got: Record[] = [];
  const slots: { clockUs: number; upTo: number; records: number }[] = [];
  consumeRing(ring, {
    packet(buf, offset, capLen, wireLen, tsUs, linkType, ordinal, clockUs, flags, ports) {
      const bytes = [...buf.subarray(offset, offset + capLen)];
      got.push({ ordinal, tsUs, clockUs, wireLen, linkType, flags, ports, bytes });
    },
    slotDone(clockUs, upTo) {
      slots.push({ clockUs, upTo, records: got.length });
    },
  });
  assert.equal(got.length, sent.length);
  for (let i = 0; i < sent.length; i++) assert.deepEqual(got[i], sent[i], `record ${i}`);
  assert.equal(slots.length, 3, 'two full slots and the last one');
  // A full slot is published when the next record does not fit: with the clock of its own last record, and
  // distributed up to the ordinal of the record that did not fit.
  for (const slot of slots.slice(0, 2)) {
    assert.equal(slot.clockUs, got[slot.records - 1]!.clockUs);
    assert.equal(slot.upTo, got[slot.records]!.ordinal);
  }
  assert.deepEqual(slots[2], { clockUs: 42, upTo: 1e6, records: sent.length }, 'the last slot: what flush was given');
});

test('an empty flush still tells the worker the clock and how far packets were distributed', () => {
  const ring = createRing();
  const writer = new RingWriter(ring, failing);
  writer.flush(1000, 7, false);
  writer.flush(2000, 9, true);
  const slots: [number, number][] = [];
  let packets = 0;
  consumeRing(ring, {
    packet() {
      packets++;
    },
    slotDone(clockUs, upTo) {
      slots.push([clockUs, upTo]);
    },
  });
  assert.equal(packets, 0);
  assert.deepEqual(slots, [
    [1000, 7],
    [2000, 9],
  ]);
});

test('a writer facing a full ring of a failed worker raises', () => {
  const ring = createRing();
  const writer = new RingWriter(ring, (stalled) => {
    throw new Error(stalled ? 'stalled' : 'worker failed');
  });
  for (let s = 0; s < RING_SLOTS; s++) writer.flush(0, s, false);
  markRingFailed(ring);
  const packet = new Uint8Array(60);
  assert.throws(() => writer.append(packet, 0, 60, 60, 0, 1, 0, 0, 1, 0), /^Error: worker failed$/);
});
