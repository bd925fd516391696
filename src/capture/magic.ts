/**
 * Format detection by magic bytes (never by file name).
 *
 * pcap: the 32-bit magic in the file's byte order (draft-ietf-opsawg-pcap §4): 0xA1B2C3D4 (µs timestamps),
 * 0xA1B23C4D (ns timestamps), 0xA1B2CD34 (Kuznetzov's modified pcap, 24-byte record headers, libpcap
 * sf-pcap.c "KUZNETZOV_TCPDUMP_MAGIC"). pcapng: Section Header Block type 0x0A0D0D0A, a palindrome so it reads
 * the same in both byte orders (draft-ietf-opsawg-pcapng §4.1). gzip: 1F 8B (RFC 1952 §2.3.1).
 * zstd: frame magic 0xFD2FB528 little-endian = 28 B5 2F FD (RFC 8878 §3.1.1).
 */

export type Magic = 'pcap' | 'pcapng' | 'gzip' | 'zstd';

/** Detects the container from the first bytes; undefined when too short or unknown. */
export function sniffMagic(b: Uint8Array): Magic | undefined {
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
  if (b.length < 4) return undefined;
  const b0 = b[0]!;
  const b1 = b[1]!;
  const b2 = b[2]!;
  const b3 = b[3]!;
  if (b0 === 0x28 && b1 === 0xb5 && b2 === 0x2f && b3 === 0xfd) return 'zstd';
  if (b0 === 0x0a && b1 === 0x0d && b2 === 0x0d && b3 === 0x0a) return 'pcapng';
  if (pcapMagicKind(b0, b1, b2, b3) !== undefined) return 'pcap';
  return undefined;
}

export interface PcapMagic {
  littleEndian: boolean;
  nanoseconds: boolean;
  /** Bytes per record header: 16, or 24 for the Kuznetzov variant (ifindex u32, protocol u16, pkt_type u8, pad). */
  recordHeaderBytes: number;
}

const MAGIC_MICRO = 0xa1b2c3d4;
const MAGIC_NANO = 0xa1b23c4d;
const MAGIC_KUZNETZOV = 0xa1b2cd34;

export function pcapMagicKind(b0: number, b1: number, b2: number, b3: number): PcapMagic | undefined {
  const le = (b0 | (b1 << 8) | (b2 << 16) | (b3 << 24)) >>> 0;
  const be = ((b0 << 24) | (b1 << 16) | (b2 << 8) | b3) >>> 0;
  for (const [value, littleEndian] of [
    [le, true],
    [be, false],
  ] as const) {
    if (value === MAGIC_MICRO) return { littleEndian, nanoseconds: false, recordHeaderBytes: 16 };
    if (value === MAGIC_NANO) return { littleEndian, nanoseconds: true, recordHeaderBytes: 16 };
    if (value === MAGIC_KUZNETZOV) return { littleEndian, nanoseconds: false, recordHeaderBytes: 24 };
  }
  return undefined;
}

/** "0x1f8b0800" style hex of up to the first 4 bytes, for error messages. */
export function magicHex(b: Uint8Array): string {
  let s = '0x';
  for (let i = 0; i < Math.min(4, b.length); i++) s += b[i]!.toString(16).padStart(2, '0');
  return b.length === 0 ? '(none)' : s;
}
