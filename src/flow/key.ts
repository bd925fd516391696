/**
 * Flow keys as integers: canonical order (lower endpoint first) plus a direction bit, so both directions of a
 * conversation land on one key (Mercury's flow_key, gopacket's symmetric Flow).
 *
 * Layout (KEY_WORDS u32 words): [0..3] address of endpoint A, [4..7] address of endpoint B (IPv4 in word 0, words
 * 1..3 zero; IPv6 as four big-endian words), [8] (portA << 16 | portB), [9] protocol | ipVersion << 8 | vlanId << 12.
 * A is the endpoint that compares lower (address words, then port). ICMP has no ports; it uses its message kind
 * (see icmpKind) on both sides so an echo request and its reply share a key while errors form their own flow.
 */
import type { PacketView } from '../decode/packet.ts';

export const KEY_WORDS = 10;

/** Fills `out` with the canonical key of `pkt` with ports sp/dp (ICMP passes its kind); returns 1 when the packet travels A→B, 0 when B→A. */
export function canonicalKey(pkt: PacketView, out: Uint32Array, sp: number, dp: number): 0 | 1 {
  const s = pkt.src;
  const d = pkt.dst;
  let cmp = 0;
  for (let i = 0; i < 4 && cmp === 0; i++) {
    const a = s[i]!;
    const b = d[i]!;
    if (a !== b) cmp = a < b ? -1 : 1;
  }
  if (cmp === 0 && sp !== dp) cmp = sp < dp ? -1 : 1;
  const aToB = cmp <= 0;
  const a = aToB ? s : d;
  const b = aToB ? d : s;
  out[0] = a[0]!;
  out[1] = a[1]!;
  out[2] = a[2]!;
  out[3] = a[3]!;
  out[4] = b[0]!;
  out[5] = b[1]!;
  out[6] = b[2]!;
  out[7] = b[3]!;
  out[8] = aToB ? ((sp << 16) | dp) >>> 0 : ((dp << 16) | sp) >>> 0;
  out[9] = (pkt.protocol | (pkt.ipVersion << 8) | ((pkt.vlanId & 0xfff) << 12)) >>> 0;
  return aToB ? 1 : 0;
}

/** 32-bit hash of a key (multiply-rotate mixing; the key is already canonical so it need not be symmetric). */
export function hashKey(k: Uint32Array, base = 0): number {
  let h = 0x9e3779b9;
  for (let i = 0; i < KEY_WORDS; i++) {
    h = Math.imul(h ^ k[base + i]!, 0x85ebca6b);
    h = (h << 13) | (h >>> 19);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 13;
  return h >>> 0;
}

/**
 * Fills `out` with the key the flow table files `pkt` under (ICMP uses its message kind as both ports, as
 * FlowTable.add does) and returns its hash: both directions of a flow give the same value, so it can pick the
 * worker a flow belongs to (src/parallel).
 */
export function packetKeyHash(pkt: PacketView, out: Uint32Array): number {
  const isIcmp = pkt.protocol === 1 || pkt.protocol === 58;
  if (isIcmp) {
    const kind = icmpKind(pkt.protocol, pkt.icmpType);
    canonicalKey(pkt, out, kind, kind);
  } else canonicalKey(pkt, out, pkt.srcPort, pkt.dstPort);
  return hashKey(out);
}

/**
 * ICMP "port" used in the key: echo/timestamp/info/address-mask requests and their replies map to one value
 * (the request type), so the exchange is one bidirectional flow; every other type maps to itself (errors such as
 * destination unreachable form one flow per type between two hosts, not folded into the flow they quote).
 */
export function icmpKind(protocol: number, type: number): number {
  if (protocol === 1) {
    if (type === 0) return 8; // echo reply → echo request
    if (type === 14) return 13; // timestamp reply
    if (type === 16) return 15; // information reply
    if (type === 18) return 17; // address mask reply
    return type;
  }
  if (type === 129) return 128; // ICMPv6 echo reply → echo request (RFC 4443 §4)
  return type;
}

export function formatIpv4(w: number): string {
  return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
}

/** IPv6 text per RFC 5952 (lower case, longest run of ≥ 2 zero groups compressed), as tshark prints it. */
export function formatIpv6(w0: number, w1: number, w2: number, w3: number): string {
  const g = [w0 >>> 16, w0 & 0xffff, w1 >>> 16, w1 & 0xffff, w2 >>> 16, w2 & 0xffff, w3 >>> 16, w3 & 0xffff];
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (n: number) => n.toString(16);
  if (bestStart < 0) return g.map(hex).join(':');
  const head = g.slice(0, bestStart).map(hex).join(':');
  const tail = g
    .slice(bestStart + bestLen)
    .map(hex)
    .join(':');
  // IPv4-mapped addresses (::ffff:a.b.c.d) are printed in dotted form, as tshark and inet_ntop do.
  if (bestStart === 0 && bestLen === 5 && g[5] === 0xffff) return `::ffff:${formatIpv4(w3)}`;
  return `${head}::${tail}`;
}

export function formatAddress(version: number, words: ArrayLike<number>, base = 0): string {
  const w0 = words[base]!;
  const w1 = version === 6 ? words[base + 1]! : 0;
  const w2 = version === 6 ? words[base + 2]! : 0;
  const w3 = version === 6 ? words[base + 3]! : 0;
  // Direct-mapped cache of recent addresses: flows repeat their endpoints (a server, a resolver, the local host),
  // and one string per address is formatted once instead of per flow; sinks also see the same string again.
  const h = (Math.imul(w0 ^ Math.imul(w1 ^ w3, 0x9e3779b1) ^ w2 ^ version, 0x85ebca6b) >>> 20) & (ADDRESS_CACHE - 1);
  const k = h * 5;
  const keys = addressKeys;
  if (keys[k] === w0 && keys[k + 1] === w1 && keys[k + 2] === w2 && keys[k + 3] === w3 && keys[k + 4] === version)
    return addressTexts[h]!;
  const text = version === 6 ? formatIpv6(w0, w1, w2, w3) : formatIpv4(w0);
  keys[k] = w0;
  keys[k + 1] = w1;
  keys[k + 2] = w2;
  keys[k + 3] = w3;
  keys[k + 4] = version;
  addressTexts[h] = text;
  return text;
}

/** formatAddress's cache: 4096 entries of (address words, version) and text; version 0 marks an empty entry. */
const ADDRESS_CACHE = 4096;
const addressKeys = new Uint32Array(ADDRESS_CACHE * 5);
const addressTexts: string[] = new Array<string>(ADDRESS_CACHE).fill('');

/** Parse a CIDR ("10.0.0.0/8", "fd00::/8") to a matcher over address words; null when invalid. */
export function parseCidr(text: string): { version: 4 | 6; words: Uint32Array; bits: number } | null {
  const [addr, bitsText] = text.trim().split('/');
  if (!addr) return null;
  const words = new Uint32Array(4);
  let version: 4 | 6;
  if (addr.includes(':')) {
    version = 6;
    const parts = addr.split('::');
    if (parts.length > 2) return null;
    const headParts = parts[0] ? parts[0].split(':') : [];
    const tailParts = parts.length === 2 && parts[1] ? parts[1].split(':') : [];
    const fill = 8 - headParts.length - tailParts.length;
    if (fill < 0 || (parts.length === 1 && fill !== 0)) return null;
    const groups = [...headParts, ...new Array(parts.length === 2 ? fill : 0).fill('0'), ...tailParts];
    for (let i = 0; i < 8; i++) {
      const v = Number.parseInt(groups[i] ?? '', 16);
      if (!Number.isFinite(v) || v < 0 || v > 0xffff) return null;
      words[i >> 1] = (words[i >> 1]! | (i & 1 ? v : v << 16)) >>> 0;
    }
  } else {
    version = 4;
    const octets = addr.split('.').map((x) => Number(x));
    if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) return null;
    words[0] = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
  }
  const max = version === 4 ? 32 : 128;
  const bits = bitsText === undefined ? max : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > max) return null;
  return { version, words, bits };
}

export function cidrContains(
  cidr: { version: 4 | 6; words: Uint32Array; bits: number },
  version: number,
  words: ArrayLike<number>,
  base = 0,
): boolean {
  if (cidr.version !== version) return false;
  let bits = cidr.bits;
  for (let i = 0; i < 4 && bits > 0; i++) {
    const take = Math.min(32, bits);
    const mask = take === 32 ? 0xffffffff : ~(0xffffffff >>> take) >>> 0;
    if ((words[base + i]! & mask) >>> 0 !== (cidr.words[i]! & mask) >>> 0) return false;
    bits -= take;
  }
  return true;
}
