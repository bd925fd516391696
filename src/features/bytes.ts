/**
 * Payload byte distribution, Shannon entropy and initial-data-packet (IDP) lengths (Joy's `byte_dist`, `entropy`
 * and `idp_len`; Anderson & McGrew, AISec 2016).
 *
 * - Distribution: counts of each byte value 0..255 over the first K captured payload bytes of each direction
 *   (K = 4096 by default, at most 65535 so counts fit 16 bits). Joy counts every payload byte; the bound keeps the
 *   per-packet cost constant once a flow is past its handshake, which is where the distribution is most telling.
 *   Bytes the capture cut off (snaplen) are not counted: only bytes present can be.
 * - Entropy: H = −Σ p·log2 p over the counted bytes, in bits per byte (0..8), per direction and both together.
 *   Joy's `total_entropy` (H × bytes) is `entropy × sampled` and is not repeated.
 * - Mean and population standard deviation of the byte values counted (Joy's byte_dist_mean / byte_dist_std).
 * - IDP length: the stated payload length of the first payload-carrying packet per direction (Joy records the
 *   whole first data packet; only its length is kept here). 0 when the direction sent no payload.
 *
 * Memory: a flow's first RAW_PER_DIRECTION payload bytes per direction are kept as they are, in a 256-byte block
 * from a pool; a flow that sends more gets 2 × 256 × 2 bytes of counts from another pool instead (its kept bytes
 * counted into them). Blocks are taken at the first payload byte and returned when the flow ends, so a
 * million-slot table of mostly payload-less scans does not cost a gigabyte. Per-packet cost: one check when both
 * directions are past K, else a copy of the bytes (small flows) or one increment per byte counted.
 *
 * Why the kept bytes: most flows carry little payload (a DNS exchange, a banner, a probe; three quarters of the
 * flows with payload in the mixed capture send at most 256 bytes), and incrementing counts in a cold 1 KB block
 * per flow cost about 4 ns per byte in place (cache misses; 1.2 ns in a micro-benchmark with the blocks in cache):
 * the bytes meter was 0.85 of the pipeline's 1.9 CPU-s on /tmp/big/mixed500.pcap. Small flows are counted at
 * expiry into one scratch block that stays in cache, with the same counts and sums as before, so the results are
 * bit-identical.
 */
import type { PacketView } from '../decode/packet.ts';
import type { ColumnSpec, FlowRow, Meter } from './meter.ts';
import { grow } from './meter.ts';

export interface BytesOptions {
  /** Payload bytes counted per direction (default 4096, 1..65535). */
  maxBytesPerDirection?: number;
  /**
   * Also output the 256 counts (`bytes.bidirectional_distribution_payload`). Off by default: as a 256-element list
   * per flow it was a third to a half of the Parquet writer's CPU (bench/results.md, mixed capture); the entropy and
   * byte mean/std summarise it and are always written.
   */
  distribution?: boolean;
}

export const BYTES_DEFAULT_PER_DIRECTION = 4096;
/** Count cells per flow: 256 per direction. */
const BLOCK = 512;
/** Payload bytes per direction a flow keeps as they are before it takes a count block (see the module doc). */
const RAW_PER_DIRECTION = 128;
/** A kept-bytes block: direction 0 at [0, 128), direction 1 at [128, 256). */
const RAW_BLOCK = 2 * RAW_PER_DIRECTION;

/**
 * c·log2(c) for every count a flow can hold (two directions of at most 65535 bytes each); 1 MiB, built once.
 * Replaces 3 × 256 Math.log2 calls per flow at expiry. Measured with `node --cpu-prof` over the pipeline on six
 * ../shared captures read 30 times (1.14 M packets, 89 820 flows): onExpire's self time fell from 11.6% to 6.4%.
 */
const C_LOG2_C = (() => {
  const t = new Float64Array(2 * 0xffff + 1);
  for (let c = 2; c < t.length; c++) t[c] = c * Math.log2(c);
  return t;
})();

/**
 * Flows with at most this many bytes counted (both directions) are summed by sumSparse at expiry: half the flows
 * with payload in the mixed capture (/tmp/big/mixed500.pcap) have at most 64, three quarters at most 256. Whole
 * flow (onInit, onUpdate, onExpire) in a micro-benchmark of this meter: 40 + 80 text bytes 1277 → 841 ns, 30 bytes
 * one way 704 → 397 ns; 4.5 KB (dense path) unchanged within noise (best of 6 runs × 15 × 20 000 flows, Node 20).
 */
const SPARSE_MAX_BYTES = 256;

/** Word reads below take byte k of a word as bits 8k..8k+7, which holds on little-endian hosts only. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

const col = (key: string, type: ColumnSpec['type'], unit: string, doc: string): ColumnSpec => ({
  key,
  group: 'bytes',
  type,
  unit,
  doc,
});

/**
 * Block numbers of a pool that grows by doubling (amortised O(1); only flows with payload take blocks): a number
 * from the free stack if any, else a new one, `grow(blocks)` being called first when the pool must hold more.
 */
class BlockIds {
  private free = new Int32Array(0);
  private top = 0;
  /** Blocks handed out so far: the pool holds at least this many. */
  count = 0;

  constructor(
    private readonly minBlocks: number,
    private readonly grow: (blocks: number) => void,
  ) {}

  take(): number {
    if (this.top > 0) return this.free[--this.top]!;
    const b = this.count++;
    if (this.count > this.free.length) {
      const blocks = Math.max(this.minBlocks, this.count * 2);
      this.grow(blocks);
      const f = new Int32Array(blocks);
      f.set(this.free.subarray(0, this.top));
      this.free = f;
    }
    return b;
  }

  /** Give back block `b` (count blocks are zeroed first: a taken block starts at zero counts). */
  give(b: number): void {
    this.free[this.top++] = b;
  }
}

export class BytesMeter implements Meter {
  static readonly columns: readonly ColumnSpec[] = [
    col(
      'bidirectional_distribution_payload',
      'int_list',
      'count',
      'Counts of byte values 0..255 over the first K payload bytes of each direction (K = 4096); null when no payload.',
    ),
    col(
      'bidirectional_sampled_payload_bytes',
      'int',
      'bytes',
      'Payload bytes counted in the distribution (both directions).',
    ),
    col(
      'bidirectional_entropy_payload',
      'float',
      'bits/byte',
      'Shannon entropy of the counted payload bytes; null when none.',
    ),
    col(
      'src2dst_entropy_payload',
      'float',
      'bits/byte',
      'Shannon entropy of the counted payload bytes sent by src; null when none.',
    ),
    col(
      'dst2src_entropy_payload',
      'float',
      'bits/byte',
      'Shannon entropy of the counted payload bytes sent by dst; null when none.',
    ),
    col(
      'bidirectional_mean_payload_byte',
      'float',
      '',
      'Mean value (0..255) of the counted payload bytes; null when none.',
    ),
    col(
      'bidirectional_stddev_payload_byte',
      'float',
      '',
      'Population standard deviation of the counted payload byte values; null when none.',
    ),
    col(
      'src2dst_first_payload_bytes',
      'int',
      'bytes',
      'Payload length of the first payload-carrying packet from src (IDP length); 0 when none.',
    ),
    col(
      'dst2src_first_payload_bytes',
      'int',
      'bytes',
      'Payload length of the first payload-carrying packet from dst (IDP length); 0 when none.',
    ),
  ];
  readonly name = 'bytes';
  /** Counts payload bytes only (a SYN without payload changes nothing either). */
  readonly skipsEmptyPackets = true;
  readonly payloadOnly = true;
  /**
   * Starts at a flow's first payload packet: flows without payload (96 % of the lab capture's, a third of the mixed
   * one's) get one shared group from onExpireUnseen instead of three calls and an object each.
   */
  readonly lazyInit = true;
  readonly columns: readonly ColumnSpec[];
  /** The group of a flow without payload (what onExpire writes for one), shared and frozen. */
  private readonly unseenGroup: Readonly<Record<string, unknown>>;
  private readonly withDistribution: boolean;
  readonly maxBytesPerDirection: number;

  /** Count block index per slot, -1 when the flow has none (no payload yet, or its bytes are still kept raw). */
  private blockOf = new Int32Array(0);
  /** Kept-bytes block index per slot, -1 when none (no payload yet, or counted in a count block). */
  private rawOf = new Int32Array(0);
  private raw = new Uint8Array(0);
  private readonly rawIds = new BlockIds(256, (blocks) => {
    const next = new Uint8Array(blocks * RAW_BLOCK);
    next.set(this.raw);
    this.raw = next;
  });
  /** One count block, zero between uses, where kept bytes are counted at expiry (and its float view). */
  private readonly scratch = new Uint16Array(BLOCK);
  private readonly scratch64 = new Float64Array(this.scratch.buffer);
  /** Index slot*2+dir. */
  private sampled = new Uint16Array(0);
  private firstLen = new Int32Array(0);
  private pool = new Uint16Array(0);
  /**
   * The pool as 64-bit floats (four counts each): the expiry scan of sparse blocks skips four zero counts with one
   * load and compare. A float is 0 exactly when its four counts are (−0 would need a count of 0x8000 in the top
   * one; sparse blocks hold at most SPARSE_MAX_BYTES).
   */
  private pool64 = new Float64Array(0);
  private readonly countIds = new BlockIds(64, (blocks) => {
    const next = new Uint16Array(blocks * BLOCK);
    next.set(this.pool);
    this.pool = next;
    this.pool64 = new Float64Array(next.buffer);
  });
  /** Aligned 32-bit view of the last capture buffer seen (rebuilt when the buffer changes). */
  private words: Uint32Array<ArrayBufferLike> = new Uint32Array(0);
  private wordsOf: ArrayBufferLike | null = null;

  constructor(opts: BytesOptions = {}) {
    this.withDistribution = opts.distribution === true;
    this.columns = this.withDistribution
      ? BytesMeter.columns
      : BytesMeter.columns.filter((c) => c.key !== 'bidirectional_distribution_payload');
    this.unseenGroup = Object.freeze({
      ...(this.withDistribution ? { bidirectional_distribution_payload: null } : {}),
      bidirectional_sampled_payload_bytes: 0,
      bidirectional_entropy_payload: null,
      src2dst_entropy_payload: null,
      dst2src_entropy_payload: null,
      bidirectional_mean_payload_byte: null,
      bidirectional_stddev_payload_byte: null,
      src2dst_first_payload_bytes: 0,
      dst2src_first_payload_bytes: 0,
    });
    this.maxBytesPerDirection = Math.max(
      1,
      Math.min(0xffff, Math.floor(opts.maxBytesPerDirection ?? BYTES_DEFAULT_PER_DIRECTION)),
    );
  }

  resize(capacity: number): void {
    const old = this.blockOf.length;
    this.blockOf = grow(this.blockOf, capacity);
    this.blockOf.fill(-1, old);
    this.rawOf = grow(this.rawOf, capacity);
    this.rawOf.fill(-1, old);
    this.sampled = grow(this.sampled, capacity * 2);
    this.firstLen = grow(this.firstLen, capacity * 2);
  }

  /** Count blocks allocated in their pool (for tests and memory accounting). */
  get poolBlocks(): number {
    return this.countIds.count;
  }

  /** Kept-bytes blocks allocated in their pool (for tests and memory accounting). */
  get rawPoolBlocks(): number {
    return this.rawIds.count;
  }

  private releaseRaw(slot: number): void {
    const r = this.rawOf[slot]!;
    if (r >= 0) {
      this.rawIds.give(r);
      this.rawOf[slot] = -1;
    }
  }

  /**
   * Count the kept bytes of both directions (`s0`, `s1` of them) into `counts` at `base` (256 cells per direction).
   */
  private countRaw(r: number, s0: number, s1: number, counts: Uint16Array, base: number): void {
    const raw = this.raw;
    const at = r * RAW_BLOCK;
    for (let i = 0; i < s0; i++) {
      const k = base + raw[at + i]!;
      counts[k] = counts[k]! + 1;
    }
    const at1 = at + RAW_PER_DIRECTION;
    const base1 = base + 256;
    for (let i = 0; i < s1; i++) {
      const k = base1 + raw[at1 + i]!;
      counts[k] = counts[k]! + 1;
    }
  }

  /** Return the slot's block to the pool; `zeroed`: its counts are already all 0 (else they are cleared here). */
  private release(slot: number, zeroed: boolean): void {
    const b = this.blockOf[slot]!;
    if (b >= 0) {
      if (!zeroed) this.pool.fill(0, b * BLOCK, (b + 1) * BLOCK);
      this.countIds.give(b);
      this.blockOf[slot] = -1;
    }
  }

  onInit(slot: number, _pkt: PacketView): void {
    this.release(slot, false);
    this.releaseRaw(slot);
    this.sampled[slot * 2] = 0;
    this.sampled[slot * 2 + 1] = 0;
    this.firstLen[slot * 2] = 0;
    this.firstLen[slot * 2 + 1] = 0;
  }

  /** Returns false once both directions have K bytes counted (their IDP lengths are then known too). */
  onUpdate(slot: number, pkt: PacketView, dir: 0 | 1): boolean {
    const n = pkt.payloadLen;
    if (n === 0) return true;
    const i = slot * 2 + dir;
    if (this.firstLen[i] === 0) this.firstLen[i] = Math.max(pkt.payloadWireLen, n);
    const have = this.sampled[i]!;
    const room = this.maxBytesPerDirection - have;
    if (room <= 0) return this.sampled[i ^ 1]! < this.maxBytesPerDirection;
    const take = Math.min(n, room);
    const buf = pkt.buf;
    const start = pkt.payloadOffset;
    const end = Math.min(start + take, buf.length);
    let b = this.blockOf[slot]!;
    if (b < 0) {
      if (have + (end - start) <= RAW_PER_DIRECTION) {
        // Still a small flow: keep the bytes (see the module doc).
        let r = this.rawOf[slot]!;
        if (r < 0) {
          r = this.rawIds.take();
          this.rawOf[slot] = r;
        }
        const raw = this.raw;
        const to = r * RAW_BLOCK + dir * RAW_PER_DIRECTION + have - start;
        for (let q = start; q < end; q++) raw[to + q] = buf[q]!;
        this.sampled[i] = have + (end - start);
        return this.sampled[i]! < this.maxBytesPerDirection || this.sampled[i ^ 1]! < this.maxBytesPerDirection;
      }
      b = this.countIds.take();
      this.blockOf[slot] = b;
      const r = this.rawOf[slot]!;
      if (r >= 0) {
        // Past the kept bytes: count them into the new block, then go on counting there.
        this.countRaw(r, this.sampled[slot * 2]!, this.sampled[slot * 2 + 1]!, this.pool, b * BLOCK);
        this.releaseRaw(slot);
      }
    }
    const counts = this.pool;
    const base = b * BLOCK + dir * 256;
    let p = start;
    if (LITTLE_ENDIAN && end - start >= 16) {
      // Whole aligned words, one load per four bytes: 2.5 → 1.4 ns per byte against the plain byte loop in a
      // micro-benchmark of this loop (1400-byte payloads into 32 rotating blocks, best of 15, Node 20); the mixed
      // capture has 110 M bytes to count (bench/meters.ts).
      if (buf.buffer !== this.wordsOf) {
        this.wordsOf = buf.buffer;
        this.words = new Uint32Array(buf.buffer, 0, buf.buffer.byteLength >>> 2);
      }
      const w = this.words;
      const shift = buf.byteOffset;
      for (; ((p + shift) & 3) !== 0; p++) {
        const k = base + buf[p]!;
        counts[k] = counts[k]! + 1;
      }
      const qEnd = (end + shift) >>> 2;
      let q = (p + shift) >>> 2;
      for (; q < qEnd; q++) {
        const x = w[q]!;
        const k0 = base + (x & 0xff);
        counts[k0] = counts[k0]! + 1;
        const k1 = base + ((x >>> 8) & 0xff);
        counts[k1] = counts[k1]! + 1;
        const k2 = base + ((x >>> 16) & 0xff);
        counts[k2] = counts[k2]! + 1;
        const k3 = base + (x >>> 24);
        counts[k3] = counts[k3]! + 1;
      }
      p = q * 4 - shift;
    }
    for (; p < end; p++) {
      const k = base + buf[p]!;
      counts[k] = counts[k]! + 1;
    }
    this.sampled[i] = have + (end - start);
    return this.sampled[i]! < this.maxBytesPerDirection || this.sampled[i ^ 1]! < this.maxBytesPerDirection;
  }

  /** Per-flow sums at expiry, [Σ c·log2 c src2dst, dst2src, both; Σ v·c; Σ v²·c] (reused: no allocation). */
  private readonly sums = new Float64Array(5);

  /**
   * The sums over all 256 values of a block, in value order, then the block zeroed. No test for empty values:
   * their terms are exactly +0 (C_LOG2_C[0] = 0), so the sums are bit-identical, and the unpredictable branch cost
   * more than the adds (1.22 → 0.82 µs per flow, micro-benchmark of this loop).
   */
  private sumDense(c: Uint16Array, base: number, s0: number, s1: number, out: Float64Array): void {
    let e0 = 0;
    let e1 = 0;
    let eb = 0;
    let sum = 0;
    let sumSq = 0;
    if (s0 === 0 || s1 === 0) {
      // One direction only (a query without answer, a scan, one-way UDP): the other's counts are all 0, so the
      // both-ways sum equals this direction's, term by term, and the other's is exactly 0.
      const one = s0 > 0 ? base : base + 256;
      let e = 0;
      for (let v = 0; v < 256; v++) {
        const a = c[one + v]!;
        e += C_LOG2_C[a]!;
        sum += v * a;
        sumSq += v * v * a;
      }
      if (s0 > 0) e0 = e;
      else e1 = e;
      eb = e;
    } else {
      for (let v = 0; v < 256; v++) {
        const a = c[base + v]!;
        const d = c[base + 256 + v]!;
        const t = a + d;
        e0 += C_LOG2_C[a]!;
        e1 += C_LOG2_C[d]!;
        eb += C_LOG2_C[t]!;
        sum += v * t;
        sumSq += v * v * t;
      }
    }
    c.fill(0, base, base + BLOCK);
    out[0] = e0;
    out[1] = e1;
    out[2] = eb;
    out[3] = sum;
    out[4] = sumSq;
  }

  /**
   * The same sums for a block with few bytes counted (most flows: a DNS exchange, a banner, a scan probe), four
   * counts per 64-bit float, skipping floats where both directions count 0 and zeroing the others. The values left
   * out contribute exactly +0 to every sum and the rest are added in the same order as sumDense, so the results
   * are bit-identical (counts are read through the 16-bit view: any byte order).
   */
  private sumSparse(c: Uint16Array, f: Float64Array, base: number, s0: number, s1: number, out: Float64Array): void {
    let e0 = 0;
    let e1 = 0;
    let eb = 0;
    let sum = 0;
    let sumSq = 0;
    if (s0 === 0 || s1 === 0) {
      const one = s0 > 0 ? base : base + 256;
      const f0 = one >>> 2;
      let e = 0;
      for (let j = 0; j < 64; j++) {
        if (f[f0 + j] === 0) continue;
        const at = one + 4 * j;
        for (let k = 0; k < 4; k++) {
          const a = c[at + k]!;
          const v = 4 * j + k;
          e += C_LOG2_C[a]!;
          sum += v * a;
          sumSq += v * v * a;
        }
        f[f0 + j] = 0;
      }
      if (s0 > 0) e0 = e;
      else e1 = e;
      eb = e;
    } else {
      const f0 = base >>> 2;
      const f1 = f0 + 64;
      for (let j = 0; j < 64; j++) {
        if (f[f0 + j] === 0 && f[f1 + j] === 0) continue;
        const at = base + 4 * j;
        for (let k = 0; k < 4; k++) {
          const a = c[at + k]!;
          const d = c[at + 256 + k]!;
          const t = a + d;
          const v = 4 * j + k;
          e0 += C_LOG2_C[a]!;
          e1 += C_LOG2_C[d]!;
          eb += C_LOG2_C[t]!;
          sum += v * t;
          sumSq += v * v * t;
        }
        f[f0 + j] = 0;
        f[f1 + j] = 0;
      }
    }
    out[0] = e0;
    out[1] = e1;
    out[2] = eb;
    out[3] = sum;
    out[4] = sumSq;
  }

  onExpire(slot: number, row: FlowRow): void {
    const s0 = this.sampled[slot * 2]!;
    const s1 = this.sampled[slot * 2 + 1]!;
    const b = this.blockOf[slot]!;
    const total = s0 + s1;
    let dist: number[] | null = null;
    let hBoth: number | null = null;
    let h0: number | null = null;
    let h1: number | null = null;
    let mean: number | null = null;
    let std: number | null = null;
    const r = this.rawOf[slot]!;
    if ((b >= 0 || r >= 0) && total > 0) {
      // H = log2(N) − (Σ c·log2 c) / N, with c·log2 c from a table: no log call per byte value.
      // A small flow's kept bytes are counted into the scratch block first (the sums leave it at 0 again).
      const c = b >= 0 ? this.pool : this.scratch;
      const base = b >= 0 ? b * BLOCK : 0;
      if (b < 0) this.countRaw(r, s0, s1, c, 0);
      if (this.withDistribution) {
        dist = new Array<number>(256);
        for (let v = 0; v < 256; v++) dist[v] = c[base + v]! + c[base + 256 + v]!;
      }
      const sums = this.sums;
      if (total <= SPARSE_MAX_BYTES) this.sumSparse(c, b >= 0 ? this.pool64 : this.scratch64, base, s0, s1, sums);
      else this.sumDense(c, base, s0, s1, sums);
      hBoth = round6(Math.log2(total) - sums[2]! / total);
      h0 = s0 > 0 ? round6(Math.log2(s0) - sums[0]! / s0) : null;
      h1 = s1 > 0 ? round6(Math.log2(s1) - sums[1]! / s1) : null;
      mean = sums[3]! / total;
      std = round6(Math.sqrt(Math.max(0, sums[4]! / total - mean * mean)));
      mean = round6(mean);
    }
    // The group object is built whole (same keys, same order as the column list): one object literal per flow
    // instead of nine setColumn calls, each splitting the group name, or properties added one at a time.
    const first0 = this.firstLen[slot * 2]!;
    const first1 = this.firstLen[slot * 2 + 1]!;
    row.bytes = this.withDistribution
      ? {
          bidirectional_distribution_payload: dist,
          bidirectional_sampled_payload_bytes: total,
          bidirectional_entropy_payload: hBoth,
          src2dst_entropy_payload: h0,
          dst2src_entropy_payload: h1,
          bidirectional_mean_payload_byte: mean,
          bidirectional_stddev_payload_byte: std,
          src2dst_first_payload_bytes: first0,
          dst2src_first_payload_bytes: first1,
        }
      : {
          bidirectional_sampled_payload_bytes: total,
          bidirectional_entropy_payload: hBoth,
          src2dst_entropy_payload: h0,
          dst2src_entropy_payload: h1,
          bidirectional_mean_payload_byte: mean,
          bidirectional_stddev_payload_byte: std,
          src2dst_first_payload_bytes: first0,
          dst2src_first_payload_bytes: first1,
        };
    // The sums above left the block's counts at 0.
    this.release(slot, true);
    this.releaseRaw(slot);
  }

  onExpireUnseen(row: FlowRow): void {
    row.bytes = this.unseenGroup;
  }
}

/** Six decimals: entropy and moments are model inputs, not exact quantities; keeps JSONL/CSV short. */
function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
