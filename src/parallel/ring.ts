/**
 * A single-producer single-consumer ring of packet records in shared memory: the reader (main thread) of a sharded
 * `extract --threads N` appends each packet to the ring of the worker that owns its flow, the worker replays them
 * through its pipeline (src/parallel/extract.ts, src/parallel/worker.ts).
 *
 * The ring is RING_SLOTS slots of SLOT_BYTES. The writer fills one slot with packed records, then publishes it
 * (state full, with the reader's clock and how far it has distributed packets) and moves to the next slot, waiting
 * while that one is still full: at most RING_SLOTS × SLOT_BYTES per worker are in flight, whatever the capture
 * size (back-pressure). The consumer processes a slot in place and then frees it. Waits are Atomics.wait on the
 * slot's state; the writer waits with a timeout so a failed worker (which raises `failed`, or stops freeing slots
 * for two minutes) cannot hang it.
 *
 * Record layout, 8-byte aligned: f64 ordinal (index of the packet among all packets of the file), f64 tsUs,
 * f64 clockUs (the reader's flow-table clock once this packet is added: the largest timestamp of any packet
 * that became a flow packet so far), u32 capLen, u32 wireLen, u32 linkType, u32 flags (OWNED), u32 ports
 * (srcPort << 16 | dstPort as the reader resolved them, fragments included), u32 unused, then capLen bytes.
 */
import { MAX_CAPLEN_BYTES } from '../capture/index.ts';

/**
 * 16 slots of 2 MiB: publishing (a store, a notify, a message from the worker per slot) is rare — about 2000 packets
 * of the lab capture per slot — and the 32 MiB per worker let the reader run ahead while the worker starts (loading
 * the bundled worker takes about 0.1 s) instead of waiting on a full ring.
 */
export const RING_SLOTS = 16;
export const SLOT_BYTES = 2 * 1024 * 1024;
export const RECORD_HEADER_BYTES = 48;
/** The packet belongs to this worker's shard (else it is a DNS packet processed only for the DNS context). */
export const OWNED = 1;

const EMPTY = 0;
const FULL = 1;
/** Full, and the last slot of the file. */
const LAST = 2;

/** The shared buffers of one ring: what the job message carries to the worker. */
export interface RingBuffers {
  /** Int32: state per slot, bytes used per slot, then the failed flag. */
  control: SharedArrayBuffer;
  /** Float64: per slot, the reader's clock and the ordinal it had distributed up to when publishing. */
  meta: SharedArrayBuffer;
  data: SharedArrayBuffer;
}

export function createRing(): RingBuffers {
  if (SLOT_BYTES < RECORD_HEADER_BYTES + MAX_CAPLEN_BYTES) throw new Error('SLOT_BYTES below the largest record');
  return {
    control: new SharedArrayBuffer((RING_SLOTS * 2 + 1) * 4),
    meta: new SharedArrayBuffer(RING_SLOTS * 2 * 8),
    data: new SharedArrayBuffer(RING_SLOTS * SLOT_BYTES),
  };
}

const FAILED = RING_SLOTS * 2;
/** The writer gives up on a worker that has not freed a slot for this long. */
const STALLED_MS = 120_000;

/** The reader's end of a ring. */
export class RingWriter {
  private readonly control: Int32Array;
  private readonly meta: Float64Array;
  private readonly bytes: Uint8Array;
  private readonly f64: Float64Array;
  private readonly u32: Uint32Array;
  private slot = 0;
  /** Write position inside the current slot, and where the slot starts in `bytes`. */
  private pos = 0;
  private base = 0;
  /** The current slot is ours to fill (it was free when we moved to it). */
  private open = false;
  /** Clock of the last record appended: what a slot published because it is full carries. */
  private lastClock = 0;

  constructor(
    ring: RingBuffers,
    /** Called while the writer waits when the worker raised its failed flag, or stalled: should throw. */
    private readonly onFailed: (stalled: boolean) => never,
  ) {
    this.control = new Int32Array(ring.control);
    this.meta = new Float64Array(ring.meta);
    this.bytes = new Uint8Array(ring.data);
    this.f64 = new Float64Array(ring.data);
    this.u32 = new Uint32Array(ring.data);
  }

  /** Append one packet record, publishing the current slot first when the record does not fit. */
  append(
    buf: Uint8Array,
    offset: number,
    capLen: number,
    wireLen: number,
    tsUs: number,
    linkType: number,
    ordinal: number,
    clockUs: number,
    flags: number,
    ports: number,
  ): void {
    if (!this.open) this.acquire();
    const size = (RECORD_HEADER_BYTES + capLen + 7) & ~7;
    if (this.pos + size > SLOT_BYTES) {
      // Distributed up to this packet (not yet written anywhere); the clock as it was before it.
      this.publish(FULL, this.lastClock, ordinal);
      this.acquire();
    }
    const at = this.base + this.pos;
    const w8 = at >>> 3;
    this.f64[w8] = ordinal;
    this.f64[w8 + 1] = tsUs;
    this.f64[w8 + 2] = clockUs;
    const w4 = at >>> 2;
    const u32 = this.u32;
    u32[w4 + 6] = capLen;
    u32[w4 + 7] = wireLen;
    u32[w4 + 8] = linkType;
    u32[w4 + 9] = flags;
    u32[w4 + 10] = ports;
    this.bytes.set(buf.subarray(offset, offset + capLen), at + RECORD_HEADER_BYTES);
    this.pos += size;
    this.lastClock = clockUs;
  }

  /**
   * Publish what the current slot holds (possibly nothing): the worker learns the reader's clock and that every
   * packet before `upTo` was distributed. `last` ends the stream.
   */
  flush(clockUs: number, upTo: number, last: boolean): void {
    if (!this.open) this.acquire();
    this.publish(last ? LAST : FULL, clockUs, upTo);
  }

  private publish(state: number, clockUs: number, upTo: number): void {
    const s = this.slot;
    this.meta[s * 2] = clockUs;
    this.meta[s * 2 + 1] = upTo;
    this.control[RING_SLOTS + s] = this.pos;
    Atomics.store(this.control, s, state);
    Atomics.notify(this.control, s);
    this.slot = (s + 1) % RING_SLOTS;
    this.open = false;
  }

  /** Take the next slot, waiting while the worker still processes it. */
  private acquire(): void {
    const c = this.control;
    const s = this.slot;
    let waitedMs = 0;
    while (Atomics.load(c, s) !== EMPTY) {
      // A worker that died without raising its flag (out of memory) never frees the slot: give up after a delay
      // no slot needs (a few ms of packets each).
      if (Atomics.load(c, FAILED) !== 0) this.onFailed(false);
      if (waitedMs > STALLED_MS) this.onFailed(true);
      if (Atomics.wait(c, s, Atomics.load(c, s), 50) === 'timed-out') waitedMs += 50;
    }
    this.base = s * SLOT_BYTES;
    this.pos = 0;
    this.open = true;
  }
}

/** What the consumer does with each record and at the end of each slot. */
export interface RingConsumer {
  packet(
    buf: Uint8Array,
    offset: number,
    capLen: number,
    wireLen: number,
    tsUs: number,
    linkType: number,
    ordinal: number,
    clockUs: number,
    flags: number,
    ports: number,
  ): void;
  /** A slot was consumed: the reader's clock and distributed-up-to ordinal when it published it. */
  slotDone(clockUs: number, upTo: number): void;
}

/** The worker's end: replay every record until the last slot (blocking between slots). */
export function consumeRing(ring: RingBuffers, consumer: RingConsumer): void {
  const control = new Int32Array(ring.control);
  const meta = new Float64Array(ring.meta);
  const bytes = new Uint8Array(ring.data);
  const f64 = new Float64Array(ring.data);
  const u32 = new Uint32Array(ring.data);
  for (let s = 0; ; s = (s + 1) % RING_SLOTS) {
    while (Atomics.load(control, s) === EMPTY) Atomics.wait(control, s, EMPTY);
    const state = Atomics.load(control, s);
    const base = s * SLOT_BYTES;
    const end = base + control[RING_SLOTS + s]!;
    for (let at = base; at < end; ) {
      const w8 = at >>> 3;
      const w4 = at >>> 2;
      const capLen = u32[w4 + 6]!;
      consumer.packet(
        bytes,
        at + RECORD_HEADER_BYTES,
        capLen,
        u32[w4 + 7]!,
        f64[w8 + 1]!,
        u32[w4 + 8]!,
        f64[w8]!,
        f64[w8 + 2]!,
        u32[w4 + 9]!,
        u32[w4 + 10]!,
      );
      at += (RECORD_HEADER_BYTES + capLen + 7) & ~7;
    }
    const clockUs = meta[s * 2]!;
    const upTo = meta[s * 2 + 1]!;
    Atomics.store(control, s, EMPTY);
    Atomics.notify(control, s);
    consumer.slotDone(clockUs, upTo);
    if (state === LAST) return;
  }
}

/** Tell the writer this consumer failed (it stops waiting for free slots and raises). */
export function markRingFailed(ring: RingBuffers): void {
  const control = new Int32Array(ring.control);
  Atomics.store(control, FAILED, 1);
  for (let s = 0; s < RING_SLOTS; s++) Atomics.notify(control, s);
}
