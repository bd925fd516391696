/**
 * PacketView: the one reused, decoded view of the current packet (gopacket's DecodingLayer idea).
 *
 * Ownership: `buf` aliases the capture reader's buffer and every offset points into it. The view is valid only
 * until the next packet is decoded; a consumer that needs bytes later must copy them. Every field is set in the
 * constructor so V8 keeps one hidden class, and `clear()` resets them before each decode.
 */

/** Tunnel kinds recorded on the inner flow. */
export const Tunnel = {
  none: 0,
  gre: 1,
  vxlan: 2,
  gtpu: 3,
  ipip: 4,
  teredo: 5,
  geneve: 6,
  erspan: 7,
  l2tp: 8,
  capwap: 9,
} as const;
export const TUNNEL_NAMES = [
  '',
  'gre',
  'vxlan',
  'gtpu',
  'ipip',
  'teredo',
  'geneve',
  'erspan',
  'l2tp',
  'capwap',
] as const;

export const TcpFlag = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

export class PacketView {
  /** Capture buffer holding the frame (aliased, not copied). */
  buf: Uint8Array = new Uint8Array(0);
  /** Offset of the frame's first byte in buf. */
  frameOffset = 0;
  /** Bytes captured (caplen) and the original length on the wire (len). */
  capLen = 0;
  wireLen = 0;
  /** Timestamp, integral microseconds since the Unix epoch. */
  tsUs = 0;
  /** DLT/LINKTYPE of the frame. */
  linkType = 0;

  /** 0 = no IP layer decoded, else 4 or 6 (innermost IP header when tunnelled). */
  ipVersion = 0;
  /** Offset in buf of the innermost IP header. */
  l3Offset = 0;
  /** Addresses: IPv4 in word 0 with words 1..3 zero; IPv6 as four big-endian words. */
  readonly src = new Uint32Array(4);
  readonly dst = new Uint32Array(4);
  /** IANA protocol number of the transport (after IPv6 extension headers). */
  protocol = 0;
  ttl = 0;
  /** IP header length in bytes (IPv6: 40 + extension headers). */
  ipHeaderLen = 0;
  /** Total length per the IP header (IPv4 total length; IPv6 40 + payload length). */
  ipTotalLen = 0;
  /** IPv4 fragment offset in bytes and more-fragments bit; IPv6 fragment header likewise. */
  fragOffset = 0;
  moreFragments = false;
  /** IPv4 identification or IPv6 fragment id (for fragment reassembly bookkeeping). */
  ipId = 0;

  /** Offset of the transport header in buf; its length (TCP data offset, 8 for UDP, 0 when none). */
  l4Offset = 0;
  l4HeaderLen = 0;
  srcPort = 0;
  dstPort = 0;
  /** TCP fields (0 when not TCP). */
  tcpFlags = 0;
  tcpSeq = 0;
  tcpAck = 0;
  tcpWindow = 0;
  /** ICMP/ICMPv6 type and code, -1 when not ICMP. */
  icmpType = -1;
  icmpCode = -1;

  /** Transport payload: offset in buf and captured length (clamped to the bytes present). */
  payloadOffset = 0;
  payloadLen = 0;
  /** Payload length as the headers state it (what was on the wire even if the capture cut it). */
  payloadWireLen = 0;

  /** Outermost 802.1Q VLAN id (0 = none), MPLS label count, tunnel kind (Tunnel.*). */
  vlanId = 0;
  mplsLabels = 0;
  tunnel = 0;
  /** The capture cut this frame short (capLen < wireLen) or a header said more than was captured. */
  truncated = false;
  /**
   * Last ethertype seen on the way in (after VLAN/MPLS/PPPoE), so a 'not_ip' packet can be counted by kind
   * (`etherTypeName` in src/decode/names.ts); values <= 1500 are 802.3 lengths (LLC); 0 when the link had none.
   */
  lastEtherType = 0;
  /** Number of tunnel layers decapsulated to reach the innermost IP header (0 = not tunnelled). */
  tunnelDepth = 0;
  /** IPv4 TOS / IPv6 traffic class byte of the innermost IP header (DSCP << 2 | ECN). */
  tos = 0;
  /** Oddities tolerated while decoding an 'ok' packet: bits of DecodeAnomaly (src/decode/status.ts). */
  anomalies = 0;

  /**
   * Reset every field set at or above the IP layer; link fields (VLAN, MPLS, tunnel kind and depth, last
   * ethertype) stay. Used when a tunnel's inner packet cannot be decoded and the carrier is decoded again.
   */
  clearNetwork(): void {
    this.ipVersion = 0;
    this.l3Offset = 0;
    // Element stores, not fill(0): the two TypedArray fill calls cost about as much as the whole decode
    // (bench/decode.ts, Ethernet/IPv4/TCP, best of runs: ~9 M frames/s with fill, ~16 M with stores).
    this.src[0] = 0;
    this.src[1] = 0;
    this.src[2] = 0;
    this.src[3] = 0;
    this.dst[0] = 0;
    this.dst[1] = 0;
    this.dst[2] = 0;
    this.dst[3] = 0;
    this.protocol = 0;
    this.ttl = 0;
    this.ipHeaderLen = 0;
    this.ipTotalLen = 0;
    this.fragOffset = 0;
    this.moreFragments = false;
    this.ipId = 0;
    this.l4Offset = 0;
    this.l4HeaderLen = 0;
    this.srcPort = 0;
    this.dstPort = 0;
    this.tcpFlags = 0;
    this.tcpSeq = 0;
    this.tcpAck = 0;
    this.tcpWindow = 0;
    this.icmpType = -1;
    this.icmpCode = -1;
    this.payloadOffset = 0;
    this.payloadLen = 0;
    this.payloadWireLen = 0;
    this.tos = 0;
    this.truncated = this.capLen < this.wireLen;
    this.anomalies = 0;
  }

  clear(): void {
    this.clearNetwork();
    this.vlanId = 0;
    this.mplsLabels = 0;
    this.tunnel = 0;
    this.truncated = false;
    this.lastEtherType = 0;
    this.tunnelDepth = 0;
  }
}
