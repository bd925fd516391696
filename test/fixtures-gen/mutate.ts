/**
 * Deterministic input mutation for fuzzing: a seeded PRNG and the mutators bench/fuzz.ts and the CI slice
 * (test/robustness/fuzz-slice.test.ts) apply to captures and to protocol messages.
 *
 * Mutators follow the classic AFL/libFuzzer set (bit flip, interesting values, insert, delete, duplicate, truncate,
 * splice) plus capture-aware ones that corrupt the length fields readers trust most: the pcap record header's
 * caplen/wirelen (draft-ietf-opsawg-pcap §5) and the pcapng block total length (draft-ietf-opsawg-pcapng §3.1).
 */

/** mulberry32: tiny, fast, good enough to pick mutations; the same seed replays the same inputs. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  u32(): number {
    return (this.next() * 4294967296) >>> 0;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

/** Values that hit boundaries in length and count fields. */
const INTERESTING_8 = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x10, 0x20, 0x40, 0x3f, 0xc0];
const INTERESTING_32 = [
  0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x3ffff, 0x40000, 0x40001, 0xffffff, 0x1000000,
  0x7fffffff, 0x80000000, 0xfffffffc, 0xfffffffe, 0xffffffff,
];

function concat3(a: Uint8Array, b: Uint8Array, c: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length + c.length);
  out.set(a, 0);
  out.set(b, a.length);
  out.set(c, a.length + b.length);
  return out;
}

function writeU32(b: Uint8Array, at: number, v: number, le: boolean): void {
  if (at < 0 || at + 4 > b.length) return;
  for (let i = 0; i < 4; i++) b[le ? at + i : at + 3 - i] = (v >>> (8 * i)) & 0xff;
}

function writeU16(b: Uint8Array, at: number, v: number, le: boolean): void {
  if (at < 0 || at + 2 > b.length) return;
  b[le ? at : at + 1] = v & 0xff;
  b[le ? at + 1 : at] = (v >>> 8) & 0xff;
}

function readU32(b: Uint8Array, at: number, le: boolean): number {
  if (at + 4 > b.length) return 0;
  return le
    ? (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0
    : ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

export const BYTE_MUTATORS = [
  'bitflip',
  'byte',
  'interesting8',
  'length16',
  'length32',
  'insert',
  'delete',
  'duplicate',
  'truncate',
  'splice',
] as const;

/** One generic mutation of `input` (never modified); `other` feeds splicing. Returns a new array. */
export function mutateBytes(rng: Rng, input: Uint8Array, other?: Uint8Array): Uint8Array {
  const n = input.length;
  const kind = n === 0 ? 'insert' : rng.pick(BYTE_MUTATORS);
  switch (kind) {
    case 'bitflip': {
      const out = input.slice();
      const flips = 1 + rng.int(8);
      for (let i = 0; i < flips; i++) {
        const at = rng.int(n);
        out[at] = out[at]! ^ (1 << rng.int(8));
      }
      return out;
    }
    case 'byte': {
      const out = input.slice();
      out[rng.int(n)] = rng.int(256);
      return out;
    }
    case 'interesting8': {
      const out = input.slice();
      out[rng.int(n)] = rng.pick(INTERESTING_8);
      return out;
    }
    case 'length16': {
      // A length field is usually big-endian in protocols and little-endian in capture headers: try both.
      const out = input.slice();
      const at = rng.int(Math.max(1, n - 1));
      const v =
        rng.next() < 0.5 ? rng.pick(INTERESTING_32) & 0xffff : (readU32(out, at, false) >>> 16) + rng.int(33) - 16;
      writeU16(out, at, v & 0xffff, rng.next() < 0.5);
      return out;
    }
    case 'length32': {
      const out = input.slice();
      writeU32(out, rng.int(Math.max(1, n - 3)), rng.pick(INTERESTING_32), rng.next() < 0.5);
      return out;
    }
    case 'insert': {
      const at = rng.int(n + 1);
      const len = 1 + rng.int(rng.next() < 0.9 ? 16 : 4096);
      const fill = rng.next() < 0.5 ? rng.bytes(len) : new Uint8Array(len).fill(rng.pick(INTERESTING_8));
      return concat3(input.subarray(0, at), fill, input.subarray(at));
    }
    case 'delete': {
      const at = rng.int(n);
      const len = 1 + rng.int(Math.min(n - at, rng.next() < 0.9 ? 16 : 4096));
      return concat3(input.subarray(0, at), new Uint8Array(0), input.subarray(at + len));
    }
    case 'duplicate': {
      const at = rng.int(n);
      const len = 1 + rng.int(Math.min(n - at, 2048));
      const piece = input.subarray(at, at + len);
      const to = rng.int(n + 1);
      return concat3(input.subarray(0, to), piece, input.subarray(to));
    }
    case 'truncate':
      return input.slice(0, rng.int(n));
    case 'splice': {
      if (!other || other.length === 0) return input.slice(0, rng.int(n));
      const cut = rng.int(n + 1);
      const from = rng.int(other.length);
      return concat3(input.subarray(0, cut), other.subarray(from), new Uint8Array(0));
    }
  }
}

/**
 * Record/block boundaries of a capture: [offset of each length field, byte order]. Walks pcap record headers or
 * pcapng block headers as far as they chain; gives up quietly on anything odd (it is a fuzzing aid, not a reader).
 */
export function captureLengthFields(b: Uint8Array, max = 4096): { at: number; le: boolean; kind: string }[] {
  const out: { at: number; le: boolean; kind: string }[] = [];
  if (b.length < 24) return out;
  const magicLe = readU32(b, 0, true);
  if (magicLe === 0x0a0d0d0a) {
    // pcapng: byte order from the SHB's byte-order magic.
    const le = readU32(b, 8, true) === 0x1a2b3c4d;
    let off = 0;
    while (off + 12 <= b.length && out.length < max) {
      const total = readU32(b, off + 4, le);
      out.push({ at: off + 4, le, kind: 'block_total' });
      if (total >= 12) out.push({ at: off + total - 4, le, kind: 'block_trailer' });
      const type = readU32(b, off, le);
      // EPB caplen at +20, wirelen at +24 (§4.3).
      if (type === 6) out.push({ at: off + 20, le, kind: 'epb_caplen' }, { at: off + 24, le, kind: 'epb_wirelen' });
      if (total < 12 || total % 4 !== 0) break;
      off += total;
    }
    return out;
  }
  let le: boolean;
  if (magicLe === 0xa1b2c3d4 || magicLe === 0xa1b23c4d || magicLe === 0xa1b2cd34) le = true;
  else if (readU32(b, 0, false) === 0xa1b2c3d4 || readU32(b, 0, false) === 0xa1b23c4d) le = false;
  else return out;
  out.push({ at: 16, le, kind: 'snaplen' }, { at: 20, le, kind: 'linktype' });
  let off = 24;
  while (off + 16 <= b.length && out.length < max) {
    const caplen = readU32(b, off + 8, le);
    out.push({ at: off + 8, le, kind: 'caplen' }, { at: off + 12, le, kind: 'wirelen' });
    if (caplen > 262144) break;
    off += 16 + caplen;
  }
  return out;
}

/** A capture-aware mutation: corrupt a record/block length field, or fall back to a generic mutation. */
export function mutateCapture(rng: Rng, input: Uint8Array, other?: Uint8Array): Uint8Array {
  if (rng.next() < 0.3) {
    const fields = captureLengthFields(input);
    if (fields.length > 0) {
      const f = rng.pick(fields);
      const out = input.slice();
      const old = readU32(out, f.at, f.le);
      const r = rng.next();
      const v = r < 0.4 ? rng.pick(INTERESTING_32) : r < 0.8 ? (old + rng.int(65) - 32) >>> 0 : rng.u32();
      writeU32(out, f.at, v, f.le);
      return out;
    }
  }
  // Several stacked mutations now and then: single changes rarely get past the first check.
  let out = mutateBytes(rng, input, other);
  const extra = rng.next() < 0.25 ? rng.int(4) : 0;
  for (let i = 0; i < extra; i++) out = mutateBytes(rng, out, other);
  return out;
}
