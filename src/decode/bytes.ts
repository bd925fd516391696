/**
 * Big-endian reads at fixed offsets for the header decoders. Callers check the length once per header
 * (`off + N <= end`, with end never beyond buf.length) and then read fixed offsets inside it, gopacket style; these
 * helpers do no checking of their own so they inline to plain loads.
 */

export function u16(b: Uint8Array, i: number): number {
  return (b[i]! << 8) | b[i + 1]!;
}

export function u32(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}

/** Little-endian u16, for headers written in host order by little-endian machines (PPI, NFLOG TLVs). */
export function u16le(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8);
}

export function u32le(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}
