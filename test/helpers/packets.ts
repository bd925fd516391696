/**
 * Frame builders for test fixtures: crafted bytes with sensible defaults and correct checksums, so a test states
 * only what matters to it. Every builder returns a fresh Uint8Array; layers nest by passing one builder's output as
 * the next one's `payload`.
 *
 * Quick start:
 *   tcpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 443, flags: 'S', seq: 1 })
 *     → Ethernet / IPv4 / TCP SYN (an address with ':' makes it IPv6; `vlans: [100]` adds 802.1Q tags)
 *   udpFrame({ src: 'fd00::1', dst: 'fd00::2', sport: 5353, dport: 53, payload: bytes('abc') })
 *   icmpFrame({ src: '10.0.0.1', dst: '10.0.0.2', type: 8, code: 0 })   (ICMPv6 when the addresses are IPv6)
 * Layer by layer (for malformed variants, every length/offset field can be overridden):
 *   ethernet({ etherType: 0x0800, vlans: [10, 20], payload: ipv4({ src, dst, protocol: 17, payload: udp({...}) }) })
 *   ipv6({ src, dst, nextHeader: 6, extHeaders: [{ type: 0 }, { type: 44, more: true, id: 7 }], payload })
 *   gre / vxlan / geneve / gtpu / mpls / pppoe / teredo wrap an inner packet; linuxSll / linuxSll2 / nullLink /
 *   ppp / cHdlc / wlanData / radiotap give the other link types' headers (pass the result to decodeFrame with the
 *   LINKTYPE_ value).
 */

/** Bytes of a latin-1 / ASCII string. */
export function bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

/** Bytes from hex, spaces allowed: hex('45 00 00 14'). */
export function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new Error(`hex: bad input ${s}`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function be16(n: number): Uint8Array {
  return new Uint8Array([(n >> 8) & 0xff, n & 0xff]);
}

function be32(n: number): Uint8Array {
  return new Uint8Array([(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
}

function put16(b: Uint8Array, at: number, n: number): void {
  b[at] = (n >> 8) & 0xff;
  b[at + 1] = n & 0xff;
}

/** '00:11:22:33:44:55' → 6 bytes. */
export function mac(s: string): Uint8Array {
  const parts = s.split(/[:-]/);
  if (parts.length !== 6) throw new Error(`mac: bad address ${s}`);
  return new Uint8Array(parts.map((p) => Number.parseInt(p, 16)));
}

/** Dotted quad → 4 bytes. */
export function ipv4Addr(s: string): Uint8Array {
  const parts = s.split('.').map(Number);
  if (parts.length !== 4 || parts.some((n) => !(n >= 0 && n <= 255))) throw new Error(`ipv4Addr: bad address ${s}`);
  return new Uint8Array(parts);
}

/** IPv6 text (with '::' compression, optionally a trailing dotted quad) → 16 bytes. */
export function ipv6Addr(s: string): Uint8Array {
  let text = s;
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad?.[1]) {
    const q = ipv4Addr(quad[1]);
    const tail = `${((q[0]! << 8) | q[1]!).toString(16)}:${((q[2]! << 8) | q[3]!).toString(16)}`;
    text = text.slice(0, -quad[1].length) + tail;
  }
  const halves = text.split('::');
  if (halves.length > 2) throw new Error(`ipv6Addr: bad address ${s}`);
  const parse = (t: string) => (t === '' ? [] : t.split(':').map((w) => Number.parseInt(w, 16)));
  const a = parse(halves[0]!);
  const c = halves.length === 2 ? parse(halves[1]!) : [];
  const fill = 8 - a.length - c.length;
  if (halves.length === 2 ? fill < 0 : fill !== 0) throw new Error(`ipv6Addr: bad address ${s}`);
  const words = [...a, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...c];
  if (words.some((w) => !(w >= 0 && w <= 0xffff))) throw new Error(`ipv6Addr: bad address ${s}`);
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) put16(out, i * 2, words[i]!);
  return out;
}

/** Address text → 4 or 16 bytes (IPv6 when it contains ':'). */
export function ipAddr(s: string): Uint8Array {
  return s.includes(':') ? ipv6Addr(s) : ipv4Addr(s);
}

/** Internet checksum (RFC 1071) over the concatenation of parts. */
export function inetChecksum(...parts: Uint8Array[]): number {
  let sum = 0;
  let odd = -1;
  for (const p of parts) {
    for (let i = 0; i < p.length; i++) {
      if (odd < 0) odd = p[i]!;
      else {
        sum += (odd << 8) | p[i]!;
        odd = -1;
      }
    }
  }
  if (odd >= 0) sum += odd << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** TCP/UDP/ICMPv6 pseudo-header (RFC 9293 §3.1, RFC 8200 §8.1). */
function pseudoHeader(src: string, dst: string, protocol: number, length: number): Uint8Array {
  const s = ipAddr(src);
  const d = ipAddr(dst);
  if (s.length === 4) return concat(s, d, new Uint8Array([0, protocol]), be16(length));
  return concat(s, d, be32(length), new Uint8Array([0, 0, 0, protocol]));
}

/** Addresses for transport checksums; omit to leave the checksum 0. */
export interface Pseudo {
  src: string;
  dst: string;
}

// ---------------------------------------------------------------- link layers

export interface EthernetOpts {
  dst?: string;
  src?: string;
  /** 802.1Q VLAN ids, outermost first. */
  vlans?: number[];
  /** TPIDs for the tags (default 0x88a8 for outer tags of a stack, 0x8100 for the innermost). */
  vlanTpids?: number[];
  etherType: number;
  payload?: Uint8Array;
}

export function ethernet(o: EthernetOpts): Uint8Array {
  const vlans = o.vlans ?? [];
  const tags = vlans.map((vid, i) => {
    const tpid = o.vlanTpids?.[i] ?? (i < vlans.length - 1 ? 0x88a8 : 0x8100);
    return concat(be16(tpid), be16(vid & 0x0fff));
  });
  return concat(
    mac(o.dst ?? '02:00:00:00:00:02'),
    mac(o.src ?? '02:00:00:00:00:01'),
    ...tags,
    be16(o.etherType),
    o.payload ?? new Uint8Array(0),
  );
}

/** Linux cooked capture v1 (LINKTYPE_LINUX_SLL 113) header + payload. */
export function linuxSll(protocol: number, payload: Uint8Array, packetType = 0): Uint8Array {
  return concat(
    be16(packetType),
    be16(1),
    be16(6),
    mac('02:00:00:00:00:01'),
    new Uint8Array(2),
    be16(protocol),
    payload,
  );
}

/** Linux cooked capture v2 (LINKTYPE_LINUX_SLL2 276) header + payload. */
export function linuxSll2(protocol: number, payload: Uint8Array, ifIndex = 1): Uint8Array {
  return concat(
    be16(protocol),
    be16(0),
    be32(ifIndex),
    be16(1),
    new Uint8Array([0, 6]),
    mac('02:00:00:00:00:01'),
    new Uint8Array(2),
    payload,
  );
}

/** BSD NULL/LOOP header: 4-byte address family, little-endian (NULL from an x86 host) unless `bigEndian`. */
export function nullLink(family: number, payload: Uint8Array, bigEndian = false): Uint8Array {
  const h = new Uint8Array(4);
  if (bigEndian) h.set(be32(family));
  else h.set([family & 0xff, (family >> 8) & 0xff, 0, 0]);
  return concat(h, payload);
}

/** PPP frame (LINKTYPE_PPP 9): address/control FF 03 unless `compressed`, then a 2-byte protocol. */
export function ppp(protocol: number, payload: Uint8Array, compressed = false): Uint8Array {
  return concat(compressed ? new Uint8Array(0) : new Uint8Array([0xff, 0x03]), be16(protocol), payload);
}

/** Cisco HDLC (LINKTYPE_C_HDLC 104): address 0x0F, control 0, ethertype. */
export function cHdlc(etherType: number, payload: Uint8Array): Uint8Array {
  return concat(new Uint8Array([0x0f, 0x00]), be16(etherType), payload);
}

/** PPPoE session header + PPP protocol (put under ethernet({ etherType: 0x8864 })). */
export function pppoe(pppProtocol: number, payload: Uint8Array, sessionId = 1): Uint8Array {
  return concat(new Uint8Array([0x11, 0x00]), be16(sessionId), be16(payload.length + 2), be16(pppProtocol), payload);
}

/** MPLS label stack (labels outermost first, bottom-of-stack set on the last) + payload. */
export function mpls(labels: number[], payload: Uint8Array, ttl = 64): Uint8Array {
  const stack = labels.map((label, i) => {
    const bottom = i === labels.length - 1 ? 1 : 0;
    return be32(((label & 0xfffff) << 12) | (bottom << 8) | (ttl & 0xff));
  });
  return concat(...stack, payload);
}

export interface WlanDataOpts {
  etherType: number;
  payload?: Uint8Array;
  /** QoS data subtype (adds the 2-byte QoS control). */
  qos?: boolean;
  /** A-MSDU: QoS control bit 7 and one subframe header (DA, SA, length) before the LLC. */
  amsdu?: boolean;
  /** Both DS bits set: a 4-address (WDS/mesh) frame. */
  fourAddress?: boolean;
  protected?: boolean;
  /** Fragment number in the sequence control field. */
  fragment?: number;
}

/** IEEE 802.11 data frame (LINKTYPE_IEEE802_11 105) with LLC/SNAP and an ethertype. */
export function wlanData(o: WlanDataOpts): Uint8Array {
  const qos = o.qos || o.amsdu;
  const fc0 = 0x08 | (qos ? 0x80 : 0);
  const fc1 = (o.fourAddress ? 0x03 : 0x01) | (o.protected ? 0x40 : 0);
  const header = concat(
    new Uint8Array([fc0, fc1, 0, 0]),
    mac('02:00:00:00:00:0a'),
    mac('02:00:00:00:00:0b'),
    mac('02:00:00:00:00:0c'),
    new Uint8Array([(o.fragment ?? 0) & 0x0f, 0]),
    o.fourAddress ? mac('02:00:00:00:00:0d') : new Uint8Array(0),
    qos ? new Uint8Array([o.amsdu ? 0x80 : 0, 0]) : new Uint8Array(0),
  );
  const llc = concat(hex('aa aa 03 00 00 00'), be16(o.etherType), o.payload ?? new Uint8Array(0));
  const sub = o.amsdu
    ? concat(mac('02:00:00:00:00:0c'), mac('02:00:00:00:00:0b'), be16(llc.length))
    : new Uint8Array(0);
  return concat(header, sub, llc);
}

/** Minimal radiotap header (LINKTYPE_IEEE802_11_RADIOTAP 127): version 0, length 8, no fields present. */
export function radiotap(frame: Uint8Array): Uint8Array {
  return concat(new Uint8Array([0, 0, 8, 0, 0, 0, 0, 0]), frame);
}

// ---------------------------------------------------------------- IP

export interface Ipv4Opts {
  src: string;
  dst: string;
  protocol: number;
  payload?: Uint8Array;
  ttl?: number;
  id?: number;
  tos?: number;
  df?: boolean;
  mf?: boolean;
  /** Fragment offset in bytes (a multiple of 8). */
  fragOffset?: number;
  /** Options, padded here to a multiple of 4 bytes. */
  options?: Uint8Array;
  /** Overrides for malformed variants. */
  totalLength?: number;
  ihl?: number;
  version?: number;
}

export function ipv4(o: Ipv4Opts): Uint8Array {
  const opts = o.options ?? new Uint8Array(0);
  const optLen = (opts.length + 3) & ~3;
  const payload = o.payload ?? new Uint8Array(0);
  const h = new Uint8Array(20 + optLen);
  const ihl = o.ihl ?? (20 + optLen) / 4;
  h[0] = ((o.version ?? 4) << 4) | (ihl & 0x0f);
  h[1] = o.tos ?? 0;
  put16(h, 2, o.totalLength ?? h.length + payload.length);
  put16(h, 4, o.id ?? 0);
  put16(h, 6, (o.df ? 0x4000 : 0) | (o.mf ? 0x2000 : 0) | (((o.fragOffset ?? 0) / 8) & 0x1fff));
  h[8] = o.ttl ?? 64;
  h[9] = o.protocol;
  h.set(ipv4Addr(o.src), 12);
  h.set(ipv4Addr(o.dst), 16);
  h.set(opts, 20);
  put16(h, 10, inetChecksum(h));
  return concat(h, payload);
}

/** An IPv6 extension header: generic (type and body after the two fixed bytes) or a fragment header. */
export type Ipv6Ext =
  | { type: 44; fragOffset?: number; more?: boolean; id?: number }
  | { type: number; body?: Uint8Array /** Hdr Ext Len override (malformed variants). */; lenField?: number };

export interface Ipv6Opts {
  src: string;
  dst: string;
  /** Upper-layer protocol (the last extension header's next header). */
  nextHeader: number;
  payload?: Uint8Array;
  hopLimit?: number;
  trafficClass?: number;
  flowLabel?: number;
  extHeaders?: Ipv6Ext[];
  /** Override for malformed variants. */
  payloadLength?: number;
}

function ipv6Ext(e: Ipv6Ext, next: number): Uint8Array {
  if (e.type === 44 && !('body' in e) && !('lenField' in e)) {
    const f = e as { fragOffset?: number; more?: boolean; id?: number };
    return concat(new Uint8Array([next, 0]), be16(((f.fragOffset ?? 0) & 0xfff8) | (f.more ? 1 : 0)), be32(f.id ?? 0));
  }
  const g = e as { type: number; body?: Uint8Array; lenField?: number };
  if (g.type === 51) {
    // AH: length in 4-byte units minus 2; body padded to a multiple of 4 (minimum 10 bytes: SPI, seq, ICV 0).
    const body = g.body ?? new Uint8Array(10);
    const total = (2 + body.length + 3) & ~3;
    const h = new Uint8Array(total);
    h[0] = next;
    h[1] = g.lenField ?? total / 4 - 2;
    h.set(body, 2);
    return h;
  }
  const body = g.body ?? new Uint8Array(6);
  const total = (2 + body.length + 7) & ~7;
  const h = new Uint8Array(total);
  h[0] = next;
  h[1] = g.lenField ?? total / 8 - 1;
  h.set(body, 2);
  return h;
}

export function ipv6(o: Ipv6Opts): Uint8Array {
  const exts = o.extHeaders ?? [];
  const parts: Uint8Array[] = [];
  for (let i = 0; i < exts.length; i++)
    parts.push(ipv6Ext(exts[i]!, i + 1 < exts.length ? exts[i + 1]!.type : o.nextHeader));
  const ext = concat(...parts);
  const payload = o.payload ?? new Uint8Array(0);
  const h = new Uint8Array(40);
  const tc = o.trafficClass ?? 0;
  const fl = o.flowLabel ?? 0;
  h.set(be32((6 << 28) | (tc << 20) | (fl & 0xfffff)), 0);
  put16(h, 4, o.payloadLength ?? ext.length + payload.length);
  h[6] = exts.length > 0 ? exts[0]!.type : o.nextHeader;
  h[7] = o.hopLimit ?? 64;
  h.set(ipv6Addr(o.src), 8);
  h.set(ipv6Addr(o.dst), 24);
  return concat(h, ext, payload);
}

/** IPv4 or IPv6 by address family, with the common options. */
export function ipPacket(o: {
  src: string;
  dst: string;
  protocol: number;
  payload?: Uint8Array;
  ttl?: number;
  id?: number;
}): Uint8Array {
  if (o.src.includes(':')) {
    return ipv6({ src: o.src, dst: o.dst, nextHeader: o.protocol, payload: o.payload, hopLimit: o.ttl });
  }
  return ipv4({ src: o.src, dst: o.dst, protocol: o.protocol, payload: o.payload, ttl: o.ttl, id: o.id });
}

// ---------------------------------------------------------------- transport

/** TCP flags from letters F S R P A U E C (e.g. 'SA' = SYN+ACK), or a number. */
export function tcpFlags(flags: string | number): number {
  if (typeof flags === 'number') return flags;
  const bits: Record<string, number> = { F: 0x01, S: 0x02, R: 0x04, P: 0x08, A: 0x10, U: 0x20, E: 0x40, C: 0x80 };
  let n = 0;
  for (const ch of flags.toUpperCase()) {
    const bit = bits[ch];
    if (bit === undefined) throw new Error(`tcpFlags: unknown flag ${ch}`);
    n |= bit;
  }
  return n;
}

export interface TcpOpts {
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  flags?: string | number;
  win?: number;
  urgent?: number;
  /** Options, padded here with zeros (End of Option List) to a multiple of 4. */
  options?: Uint8Array;
  payload?: Uint8Array;
  /** Data offset override in 32-bit words (malformed variants). */
  dataOffset?: number;
}

export function tcp(o: TcpOpts, pseudo?: Pseudo): Uint8Array {
  const opts = o.options ?? new Uint8Array(0);
  const optLen = (opts.length + 3) & ~3;
  const payload = o.payload ?? new Uint8Array(0);
  const h = new Uint8Array(20 + optLen);
  put16(h, 0, o.sport);
  put16(h, 2, o.dport);
  h.set(be32(o.seq ?? 0), 4);
  h.set(be32(o.ack ?? 0), 8);
  h[12] = ((o.dataOffset ?? h.length / 4) & 0x0f) << 4;
  h[13] = tcpFlags(o.flags ?? 'A');
  put16(h, 14, o.win ?? 65535);
  put16(h, 18, o.urgent ?? 0);
  h.set(opts, 20);
  const seg = concat(h, payload);
  if (pseudo) put16(seg, 16, inetChecksum(pseudoHeader(pseudo.src, pseudo.dst, 6, seg.length), seg));
  return seg;
}

export interface UdpOpts {
  sport: number;
  dport: number;
  payload?: Uint8Array;
  /** UDP length override (malformed variants). */
  length?: number;
}

export function udp(o: UdpOpts, pseudo?: Pseudo): Uint8Array {
  const payload = o.payload ?? new Uint8Array(0);
  const h = new Uint8Array(8);
  put16(h, 0, o.sport);
  put16(h, 2, o.dport);
  put16(h, 4, o.length ?? 8 + payload.length);
  const dgram = concat(h, payload);
  if (pseudo) {
    const sum = inetChecksum(pseudoHeader(pseudo.src, pseudo.dst, 17, dgram.length), dgram);
    put16(dgram, 6, sum === 0 ? 0xffff : sum);
  }
  return dgram;
}

export interface IcmpOpts {
  type: number;
  code?: number;
  /** The 4 message-specific bytes (echo: identifier, sequence). */
  rest?: number;
  payload?: Uint8Array;
}

/** ICMP (IPv4, no pseudo-header) or ICMPv6 when `pseudo` has IPv6 addresses. */
export function icmp(o: IcmpOpts, pseudo?: Pseudo): Uint8Array {
  const m = concat(new Uint8Array([o.type, o.code ?? 0, 0, 0]), be32(o.rest ?? 0), o.payload ?? new Uint8Array(0));
  const v6 = pseudo?.src.includes(':') ?? false;
  const sum = v6 && pseudo ? inetChecksum(pseudoHeader(pseudo.src, pseudo.dst, 58, m.length), m) : inetChecksum(m);
  put16(m, 2, sum);
  return m;
}

/** SCTP common header (checksum left 0: CRC32c is not computed here) + chunks. */
export function sctp(o: { sport: number; dport: number; vtag?: number; payload?: Uint8Array }): Uint8Array {
  return concat(be16(o.sport), be16(o.dport), be32(o.vtag ?? 0), be32(0), o.payload ?? new Uint8Array(0));
}

// ---------------------------------------------------------------- tunnels

export interface GreOpts {
  /** Protocol type (an ethertype; 0x6558 Ethernet, 0x880B PPP, 0x88BE/0x22EB ERSPAN). */
  protocol: number;
  payload?: Uint8Array;
  checksum?: boolean;
  key?: number;
  seq?: number;
  /** Version 1 = PPTP enhanced GRE (key becomes payload length + call id; `ack` adds the acknowledgement). */
  version?: number;
  callId?: number;
  ack?: number;
}

export function gre(o: GreOpts): Uint8Array {
  const payload = o.payload ?? new Uint8Array(0);
  const version = o.version ?? 0;
  let flags = version & 7;
  const fields: Uint8Array[] = [];
  if (version === 1) {
    flags |= 0x2000;
    fields.push(be16(payload.length), be16(o.callId ?? 0));
    if (o.seq !== undefined) {
      flags |= 0x1000;
      fields.push(be32(o.seq));
    }
    if (o.ack !== undefined) {
      flags |= 0x0080;
      fields.push(be32(o.ack));
    }
  } else {
    if (o.checksum) {
      flags |= 0x8000;
      fields.push(new Uint8Array(4));
    }
    if (o.key !== undefined) {
      flags |= 0x2000;
      fields.push(be32(o.key));
    }
    if (o.seq !== undefined) {
      flags |= 0x1000;
      fields.push(be32(o.seq));
    }
  }
  const out = concat(be16(flags), be16(o.protocol), ...fields, payload);
  if (o.checksum && version === 0) put16(out, 4, inetChecksum(out));
  return out;
}

/** VXLAN header (I flag set) + inner Ethernet frame. */
export function vxlan(vni: number, innerFrame: Uint8Array): Uint8Array {
  return concat(new Uint8Array([0x08, 0, 0, 0]), be32((vni & 0xffffff) << 8), innerFrame);
}

/** Geneve header (options given raw, a multiple of 4 bytes) + payload of `protocol` (0x6558 = Ethernet). */
export function geneve(vni: number, protocol: number, payload: Uint8Array, options = new Uint8Array(0)): Uint8Array {
  return concat(
    new Uint8Array([(options.length / 4) & 0x3f, 0]),
    be16(protocol),
    be32((vni & 0xffffff) << 8),
    options,
    payload,
  );
}

/**
 * GTP-U v1 G-PDU + inner IP packet. `extHeaders` are raw extension headers (each a multiple of 4 bytes with its
 * length byte first and next-type byte last, which this builder chains); `seq` or extensions add the 4 optional bytes.
 */
export function gtpu(
  teid: number,
  inner: Uint8Array,
  o: { seq?: number; extHeaders?: { type: number; content: Uint8Array }[] } = {},
): Uint8Array {
  const exts = o.extHeaders ?? [];
  const opt = o.seq !== undefined || exts.length > 0;
  const extBytes = exts.map((e, i) => {
    const len = (e.content.length + 2 + 3) & ~3;
    const h = new Uint8Array(len);
    h[0] = len / 4;
    h.set(e.content, 1);
    h[len - 1] = i + 1 < exts.length ? exts[i + 1]!.type : 0;
    return h;
  });
  const optional = opt
    ? concat(be16(o.seq ?? 0), new Uint8Array([0, exts.length > 0 ? exts[0]!.type : 0]), ...extBytes)
    : new Uint8Array(0);
  const flags = 0x30 | (exts.length > 0 ? 0x04 : 0) | (o.seq !== undefined ? 0x02 : 0);
  return concat(new Uint8Array([flags, 0xff]), be16(optional.length + inner.length), be32(teid), optional, inner);
}

/** Teredo payload: optional origin indication (RFC 4380 §5.1.1) + inner IPv6 packet. */
export function teredo(innerIpv6: Uint8Array, origin?: { port: number; addr: string }): Uint8Array {
  if (!origin) return innerIpv6;
  const a = ipv4Addr(origin.addr).map((x) => x ^ 0xff);
  return concat(be16(0), be16(origin.port ^ 0xffff), a, innerIpv6);
}

// ---------------------------------------------------------------- whole frames

export interface FrameOpts {
  src: string;
  dst: string;
  vlans?: number[];
  ttl?: number;
  ipId?: number;
  srcMac?: string;
  dstMac?: string;
}

function ipFrame(o: FrameOpts, protocol: number, l4: Uint8Array): Uint8Array {
  const v6 = o.src.includes(':');
  const ip = v6
    ? ipv6({ src: o.src, dst: o.dst, nextHeader: protocol, payload: l4, hopLimit: o.ttl })
    : ipv4({ src: o.src, dst: o.dst, protocol, payload: l4, ttl: o.ttl, id: o.ipId });
  return ethernet({ src: o.srcMac, dst: o.dstMac, vlans: o.vlans, etherType: v6 ? 0x86dd : 0x0800, payload: ip });
}

/** Ethernet / IPv4 or IPv6 / TCP, checksums filled in. */
export function tcpFrame(o: FrameOpts & TcpOpts): Uint8Array {
  return ipFrame(o, 6, tcp(o, o));
}

/** Ethernet / IPv4 or IPv6 / UDP, checksums filled in. */
export function udpFrame(o: FrameOpts & UdpOpts): Uint8Array {
  return ipFrame(o, 17, udp(o, o));
}

/** Ethernet / IPv4 / ICMP, or Ethernet / IPv6 / ICMPv6 when the addresses are IPv6. */
export function icmpFrame(o: FrameOpts & IcmpOpts): Uint8Array {
  return ipFrame(o, o.src.includes(':') ? 58 : 1, icmp(o, o));
}
