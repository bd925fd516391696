/**
 * A small capture writer for test fixtures: classic pcap and pcapng, both byte orders, built from a packet list.
 *
 *   const pcap = writePcap([{ tsUs: 1_700_000_000_000_000, data: frame }], { linkType: 1 });
 *   const ng = writePcapng([{ interfaces: [{ linkType: 1 }], packets: [{ tsUs, data: frame }] }]);
 *
 * pcap follows draft-ietf-opsawg-pcap §4-5 (µs or ns magic, optional Kuznetzov 24-byte record headers).
 * pcapng follows draft-ietf-opsawg-pcapng: one SHB per section (its own byte order), IDBs with if_tsresol and
 * if_tsoffset options, then EPB (default), SPB, obsolete PB or arbitrary raw blocks in the order given.
 * Nothing is validated: the writer happily produces odd files (caplen > snaplen, packets on undefined interfaces),
 * which is what corrupt-input tests need. Use `patch*` helpers or edit the returned bytes for deeper damage.
 */

export interface WritePacket {
  /** Timestamp in µs since the epoch. */
  tsUs: number;
  /** Captured bytes (caplen = data.length). */
  data: Uint8Array;
  /** Original length on the wire; default data.length. */
  wireLen?: number;
  /** pcap: unused (one link type per file). pcapng: unused (the interface decides); kept for callers' bookkeeping. */
  linkType?: number;
  /** pcapng: interface id (default 0). */
  ifIndex?: number;
  /** Extra nanoseconds (0..999) below tsUs, written in ns-resolution files to test rounding. */
  subUsNs?: number;
  /** pcapng: raw 64-bit timestamp in interface units, overriding tsUs (for resolution tests). */
  tsUnits?: bigint;
}

export interface PcapWriteOptions {
  /** Default true. */
  littleEndian?: boolean;
  /** Magic 0xA1B23C4D with ns fractions; default false (µs, 0xA1B2C3D4). */
  nanoseconds?: boolean;
  /** Kuznetzov's modified pcap (magic 0xA1B2CD34, 24-byte record headers); default false. */
  kuznetzov?: boolean;
  /** LINKTYPE_ value, default 1 (Ethernet). */
  linkType?: number;
  /** Bits OR-ed into the header's link type field (FCS length in bits 28-31, §4); default 0. */
  linkTypeHighBits?: number;
  /** Default 262144. */
  snaplen?: number;
  /** Default [2, 4]. */
  version?: [number, number];
}

class Bytes {
  private buf = new Uint8Array(1024);
  private dv = new DataView(this.buf.buffer);
  length = 0;
  constructor(private readonly le: boolean) {}

  private room(n: number): number {
    if (this.length + n > this.buf.length) {
      let size = this.buf.length;
      while (size < this.length + n) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.buf.subarray(0, this.length));
      this.buf = grown;
      this.dv = new DataView(grown.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }
  u8(v: number): this {
    const at = this.room(1);
    this.dv.setUint8(at, v);
    return this;
  }
  u16(v: number): this {
    const at = this.room(2);
    this.dv.setUint16(at, v, this.le);
    return this;
  }
  u32(v: number): this {
    const at = this.room(4);
    this.dv.setUint32(at, v >>> 0, this.le);
    return this;
  }
  u64(v: bigint): this {
    // pcapng 64-bit timestamps are two 32-bit words, high word first, each in section byte order (§4.3).
    this.u32(Number((v >> 32n) & 0xffffffffn));
    return this.u32(Number(v & 0xffffffffn));
  }
  i64(v: bigint): this {
    const at = this.room(8);
    this.dv.setBigInt64(at, v, this.le);
    return this;
  }
  bytes(b: Uint8Array): this {
    const at = this.room(b.length); // room() may replace this.buf: take the offset first
    this.buf.set(b, at);
    return this;
  }
  pad4(): this {
    while (this.length % 4 !== 0) this.u8(0);
    return this;
  }
  setU32(at: number, v: number): void {
    this.dv.setUint32(at, v >>> 0, this.le);
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** Classic pcap file. */
export function writePcap(packets: WritePacket[], opts: PcapWriteOptions = {}): Uint8Array {
  const le = opts.littleEndian ?? true;
  const ns = opts.nanoseconds ?? false;
  const w = new Bytes(le);
  w.u32(opts.kuznetzov ? 0xa1b2cd34 : ns ? 0xa1b23c4d : 0xa1b2c3d4);
  const [major, minor] = opts.version ?? [2, 4];
  w.u16(major).u16(minor).u32(0).u32(0);
  w.u32(opts.snaplen ?? 262144);
  w.u32(((opts.linkType ?? 1) | (opts.linkTypeHighBits ?? 0)) >>> 0);
  for (const p of packets) {
    const sec = Math.floor(p.tsUs / 1e6);
    const us = p.tsUs - sec * 1e6;
    w.u32(sec).u32(ns ? us * 1000 + (p.subUsNs ?? 0) : us);
    w.u32(p.data.length).u32(p.wireLen ?? p.data.length);
    if (opts.kuznetzov) w.u32(0).u16(0x0800).u8(0).u8(0); // ifindex, protocol, pkt_type, pad
    w.bytes(p.data);
  }
  return w.result();
}

export interface PcapngInterface {
  linkType: number;
  /** Default 0 (no limit). */
  snaplen?: number;
  /** Raw if_tsresol byte (10^-n, or 0x80|n for 2^-n); omitted (= 6, µs) when undefined. */
  tsresol?: number;
  /** if_tsoffset in seconds; omitted when undefined. */
  tsoffsetS?: number;
}

export type PcapngBlock =
  | { kind: 'epb'; packet: WritePacket }
  | { kind: 'spb'; packet: WritePacket }
  | { kind: 'pb'; packet: WritePacket }
  | { kind: 'idb'; iface: PcapngInterface }
  /** Any other block (NRB, ISB, custom, unknown): type and body as given, padded to 4 bytes. */
  | { kind: 'raw'; type: number; body: Uint8Array };

export interface PcapngSection {
  /** Default true. */
  littleEndian?: boolean;
  /** Written as IDBs right after the SHB, ids 0, 1, ... */
  interfaces: PcapngInterface[];
  /** Written as EPBs (used when `blocks` is absent). */
  packets?: WritePacket[];
  /** Blocks after the IDBs, in order (takes precedence over `packets`). */
  blocks?: PcapngBlock[];
  /** SHB major version, default 1. */
  majorVersion?: number;
}

/** Block framing: type, total length, body (padded), total length again (§3.1). */
function block(w: Bytes, type: number, body: (w: Bytes) => void): void {
  const start = w.length;
  w.u32(type).u32(0);
  body(w);
  w.pad4();
  const total = w.length - start + 4;
  w.u32(total);
  w.setU32(start + 4, total);
}

function tsUnitsOf(p: WritePacket, iface: PcapngInterface | undefined): bigint {
  if (p.tsUnits !== undefined) return p.tsUnits;
  const r = iface?.tsresol ?? 6;
  const perSecond = r & 0x80 ? 1n << BigInt(r & 0x7f) : 10n ** BigInt(r & 0x7f);
  const us = BigInt(p.tsUs) - BigInt(iface?.tsoffsetS ?? 0) * 1_000_000n;
  return (us * perSecond) / 1_000_000n + (BigInt(p.subUsNs ?? 0) * perSecond) / 1_000_000_000n;
}

/** pcapng file with one SHB per section. */
export function writePcapng(sections: PcapngSection[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const s of sections) {
    const w = new Bytes(s.littleEndian ?? true);
    const ifaces: PcapngInterface[] = [];
    block(w, 0x0a0d0d0a, (b) => {
      b.u32(0x1a2b3c4d)
        .u16(s.majorVersion ?? 1)
        .u16(0)
        .i64(-1n); // section length unknown
    });
    const writeIdb = (iface: PcapngInterface): void => {
      ifaces.push(iface);
      block(w, 1, (b) => {
        b.u16(iface.linkType)
          .u16(0)
          .u32(iface.snaplen ?? 0);
        if (iface.tsresol !== undefined) b.u16(9).u16(1).u8(iface.tsresol).pad4();
        if (iface.tsoffsetS !== undefined) b.u16(14).u16(8).i64(BigInt(iface.tsoffsetS));
        if (iface.tsresol !== undefined || iface.tsoffsetS !== undefined) b.u16(0).u16(0); // opt_endofopt
      });
    };
    for (const iface of s.interfaces) writeIdb(iface);
    const blocks: PcapngBlock[] = s.blocks ?? (s.packets ?? []).map((packet) => ({ kind: 'epb', packet }));
    for (const bl of blocks) {
      if (bl.kind === 'idb') writeIdb(bl.iface);
      else if (bl.kind === 'raw') block(w, bl.type, (b) => b.bytes(bl.body));
      else if (bl.kind === 'spb') {
        block(w, 3, (b) => b.u32(bl.packet.wireLen ?? bl.packet.data.length).bytes(bl.packet.data));
      } else {
        const p = bl.packet;
        const ifIndex = p.ifIndex ?? 0;
        const ts = tsUnitsOf(p, ifaces[ifIndex]);
        block(w, bl.kind === 'epb' ? 6 : 2, (b) => {
          if (bl.kind === 'epb') b.u32(ifIndex);
          else b.u16(ifIndex).u16(0); // obsolete PB: interface id, drops count
          b.u64(ts)
            .u32(p.data.length)
            .u32(p.wireLen ?? p.data.length)
            .bytes(p.data);
        });
      }
    }
    parts.push(w.result());
  }
  return concatBytes(parts);
}

export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * A zstd stream built by hand from raw (stored) blocks, RFC 8878 §3.1: no compression, but a valid frame that any
 * zstd decoder (fzstd included) must decode. Used when the `zstd` CLI is absent.
 */
export function zstdRawFrame(data: Uint8Array): Uint8Array {
  const BLOCK = 128 * 1024; // Block_Maximum_Size = min(window, 128 KiB) (§3.1.1.2.4)
  const parts: Uint8Array[] = [];
  // Magic, Frame_Header_Descriptor 0 (no single segment, no checksum, no dictionary, no content size),
  // Window_Descriptor 0x38: exponent 7 → window 2^(10+7) = 128 KiB (§3.1.1.1.2).
  parts.push(Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38));
  let at = 0;
  do {
    const size = Math.min(BLOCK, data.length - at);
    const last = at + size >= data.length ? 1 : 0;
    const hdr = last | (0 << 1) | (size << 3); // Block_Header: Last_Block, Block_Type 0 (Raw), Block_Size
    parts.push(Uint8Array.of(hdr & 0xff, (hdr >> 8) & 0xff, (hdr >> 16) & 0xff), data.subarray(at, at + size));
    at += size;
  } while (at < data.length);
  return concatBytes(parts);
}

/** A minimal Ethernet/IPv4/UDP frame of `size` bytes (>= 42) whose payload bytes encode `seq`, for fixtures. */
export function udpFrame(seq: number, size = 64): Uint8Array {
  const f = new Uint8Array(Math.max(42, size));
  f.set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00], 0); // dst MAC, src MAC, ethertype IPv4
  const ipLen = f.length - 14;
  f.set([0x45, 0, ipLen >> 8, ipLen & 0xff, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 14);
  const udpLen = ipLen - 20;
  f.set([0x30, 0x39, 0x00, 0x35, udpLen >> 8, udpLen & 0xff, 0, 0], 34);
  for (let i = 42; i < f.length; i++) f[i] = (seq + i) & 0xff;
  return f;
}
