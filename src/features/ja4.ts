/**
 * JA4 and JA4_r (raw) client fingerprints, our own code after FoxIO's specification (technical_details/JA4.md,
 * BSD-3-Clause for JA4 itself; JA4S/JA4H/JA4X/JA4T/JA4L are under FoxIO's separate licence and not implemented).
 *
 * JA4 = a_b_c:
 * - a: transport ('t' TCP, 'q' QUIC, 'd' DTLS); version: highest non-GREASE supported_versions entry, else the
 *   legacy version ('13','12','11','10','s3','s2','d1','d2','d3', otherwise '00'); 'd' when an SNI extension is
 *   present else 'i'; cipher count and extension count (GREASE excluded, SNI and ALPN included), two digits
 *   capped at 99; first and last character of the first ALPN value ('00' without ALPN; '99' when it starts with
 *   a non-ASCII byte, as FoxIO's reference outputs have it; otherwise, when either end byte is not ASCII
 *   alphanumeric, the first and last hex digits of the value).
 * - b: first 12 hex of SHA-256 over the sorted 4-hex cipher list, comma-joined ('000000000000' when empty).
 * - c: first 12 hex of SHA-256 over the sorted extension list without GREASE, SNI (0000) and ALPN (0010),
 *   then '_' and the signature algorithms in wire order (the '_' part omitted when there are none);
 *   '000000000000' when there are no such extensions.
 * JA4_r spells b and c out instead of hashing them.
 */
import { createHash } from 'node:crypto';
import { latin1 } from '../proto/reader.ts';
import {
  type ClientHello,
  clientMaxVersion,
  isGrease,
  TLS_MAX_CIPHERS,
  TLS_MAX_EXTENSIONS,
  TLS_MAX_LIST,
} from '../proto/tls.ts';

export type Ja4Transport = 't' | 'q' | 'd';

const ZERO_HASH = '000000000000';

function hex4(v: number): string {
  return v.toString(16).padStart(4, '0');
}

/**
 * The sorted lists are written as Latin-1 bytes here and decoded once each (flat strings, no per-value hex strings,
 * array joins or comparator sorts); measured with ja3.ts's string building (see there). Bound: TLS_MAX_CIPHERS or TLS_MAX_EXTENSIONS + TLS_MAX_LIST values of 4 hex
 * digits and a separator.
 */
const text = new Uint8Array(5 * Math.max(TLS_MAX_CIPHERS, TLS_MAX_EXTENSIONS + TLS_MAX_LIST) + 8);
/** Values to sort (u16 ids; a typed-array sort is numeric without a comparator). */
const sortBuf = new Uint16Array(Math.max(TLS_MAX_CIPHERS, TLS_MAX_EXTENSIONS));
const HEX_DIGITS = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

/** Write `v` as 4 lower-case hex digits at `n`; returns the new length. */
function putHex4(out: Uint8Array, n: number, v: number): number {
  out[n] = HEX_DIGITS[(v >>> 12) & 15]!;
  out[n + 1] = HEX_DIGITS[(v >>> 8) & 15]!;
  out[n + 2] = HEX_DIGITS[(v >>> 4) & 15]!;
  out[n + 3] = HEX_DIGITS[v & 15]!;
  return n + 4;
}

/** The first `count` values of sortBuf, sorted, as comma-joined 4-hex at `n`; returns the new length. */
function putSortedHex(out: Uint8Array, n: number, count: number): number {
  const sorted = sortBuf.subarray(0, count).sort();
  for (let i = 0; i < count; i++) {
    if (i > 0) out[n++] = 0x2c;
    n = putHex4(out, n, sorted[i]!);
  }
  return n;
}

/** Truncated SHA-256, remembered for repeated inputs like ja3.ts's md5Hex (bounded; cleared when full). */
const SHA_CACHE_ENTRIES = 4096;
const shaCache = new Map<string, string>();

function sha12(s: string): string {
  let h = shaCache.get(s);
  if (h === undefined) {
    h = createHash('sha256').update(s, 'latin1').digest('hex').slice(0, 12);
    if (shaCache.size >= SHA_CACHE_ENTRIES) shaCache.clear();
    shaCache.set(s, h);
  }
  return h;
}

function versionCode(v: number): string {
  switch (v) {
    case 0x0304:
      return '13';
    case 0x0303:
      return '12';
    case 0x0302:
      return '11';
    case 0x0301:
      return '10';
    case 0x0300:
      return 's3';
    case 0x0002:
      return 's2';
    case 0xfeff:
      return 'd1';
    case 0xfefd:
      return 'd2';
    case 0xfefc:
      return 'd3';
    default:
      return '00';
  }
}

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function alpnCode(alpn: readonly string[]): string {
  const first = alpn[0];
  if (first === undefined || first.length === 0) return '00';
  const a = first.charCodeAt(0);
  const z = first.charCodeAt(first.length - 1);
  if (isAlnum(a) && isAlnum(z)) return first[0]! + first[first.length - 1]!;
  // FoxIO's ja4.py, which produced the reference outputs, writes '99' when the value starts with a non-ASCII byte
  // (foxio-ja4/tls-non-ascii-alpn.pcapng: ALPN 0xbaad → '99'); JA4.md's newer text would give 'bd'. We follow the
  // reference outputs; other non-alphanumeric values take the first and last hex digits as JA4.md says.
  if (a > 0x7f) return '99';
  return hex4(a).slice(2, 3) + hex4(z).slice(3, 4);
}

function count2(n: number): string {
  return String(Math.min(n, 99)).padStart(2, '0');
}

export interface Ja4 {
  ja4: string;
  ja4R: string;
}

export function ja4(ch: ClientHello, transport: Ja4Transport): Ja4 {
  const out = text;
  let nCiphers = 0;
  for (const c of ch.ciphers) if (!isGrease(c)) sortBuf[nCiphers++] = c;
  const cipherList = latin1(out, 0, putSortedHex(out, 0, nCiphers));
  let extCount = 0;
  let nExts = 0;
  for (const e of ch.extensions) {
    if (isGrease(e)) continue;
    extCount++;
    if (e !== 0x0000 && e !== 0x0010) sortBuf[nExts++] = e;
  }
  let n = putSortedHex(out, 0, nExts);
  let sigs = 0;
  for (const s of ch.signatureAlgorithms) {
    if (isGrease(s)) continue;
    out[n++] = sigs === 0 ? 0x5f : 0x2c;
    n = putHex4(out, n, s);
    sigs++;
  }
  const extList = latin1(out, 0, n);
  const a = `${transport}${versionCode(clientMaxVersion(ch))}${ch.hasSni ? 'd' : 'i'}${count2(nCiphers)}${count2(extCount)}${alpnCode(ch.alpn)}`;
  const b = nCiphers === 0 ? ZERO_HASH : sha12(cipherList);
  const c = nExts === 0 ? ZERO_HASH : sha12(extList);
  return { ja4: `${a}_${b}_${c}`, ja4R: `${a}_${cipherList}_${extList}` };
}
