/**
 * Tunnels, decoded down to the innermost IP flow: GRE (RFC 2784, key/sequence RFC 2890, routing RFC 1701 §2.1,
 * enhanced GRE for PPTP RFC 2637 §4.1), ERSPAN types I/II/III over GRE (draft-foschiano-erspan §4), IP-in-IP
 * (protocols 4 and 41, RFC 2003 / RFC 4213), VXLAN (RFC 7348 §5, UDP 4789), Geneve (RFC 8926 §3.4, UDP 6081),
 * GTP-U v1 G-PDUs with extension headers (3GPP TS 29.281 §5, UDP 2152), Teredo (RFC 4380 §5.1.1, UDP 3544),
 * L2TPv2 data messages (RFC 2661 §3.1, UDP 1701), GRE-in-UDP (RFC 8086, UDP 4754), CAPWAP data (RFC 5415, UDP
 * 5247) and Aruba's 802.11-in-GRE.
 *
 * Not decoded (the packet stays the carrier's flow): AYIYA, LISP, L2TPv3 (its cookie length is configuration),
 * VXLAN-GPE, DTLS-protected CAPWAP.
 *
 * Each decoder is entered at the carrier's `depth` and decodes the inner packet at depth + 1; ip.ts refuses to
 * enter beyond MAX_TUNNEL_DEPTH. A decoder returns 'not_tunnel' when it refuses the tunnel header before touching
 * the view (not a tunnel after all: a GTP echo, a PPTP ack without payload), else the inner packet's status; on
 * anything but 'ok' ip.ts re-decodes the carrier as a flow of its own. On success `view.tunnel` ends as the
 * outermost tunnel's kind (set on the way back out) and `view.tunnelDepth` as the number of layers.
 */
import { u16 } from './bytes.ts';
import { decodeIPv4, decodeIPv6, decodeIpByNibble } from './ip.ts';
import { decodeEthernet, decodeEtherType, decodeIeee80211, decodePpp } from './link.ts';
import { EtherType, IpProto } from './names.ts';
import { type PacketView, Tunnel } from './packet.ts';
import { type DecodeStatus, MAX_TUNNEL_OPTIONS } from './status.ts';

/** A tunnel decoder's result: the inner packet's status, or 'not_tunnel' (view untouched, carrier stands). */
export type TunnelStatus = DecodeStatus | 'not_tunnel';

/** UDP ports decoded as tunnels (IANA assignments; the destination port decides when both qualify). */
export const UdpTunnelPort = {
  vxlan: 4789,
  gtpu: 2152,
  geneve: 6081,
  teredo: 3544,
  l2tp: 1701,
  greInUdp: 4754,
  capwapData: 5247,
} as const;

function isTunnelPort(port: number): boolean {
  return (
    port === 4789 || port === 2152 || port === 6081 || port === 3544 || port === 1701 || port === 4754 || port === 5247
  );
}

export function isUdpTunnelPort(srcPort: number, dstPort: number): boolean {
  return isTunnelPort(dstPort) || isTunnelPort(srcPort);
}

/** Record a successful decapsulation at `depth` (called on the way out, so the outermost kind wins). */
function entered(v: PacketView, status: DecodeStatus, kind: number, depth: number): DecodeStatus {
  if (status === 'ok') {
    v.tunnel = kind;
    if (v.tunnelDepth < depth + 1) v.tunnelDepth = depth + 1;
  }
  return status;
}

/** UDP payload [off, end) on a tunnel port; the destination port decides when both ports are tunnel ports. */
export function decodeUdpTunnel(
  v: PacketView,
  b: Uint8Array,
  off: number,
  end: number,
  srcPort: number,
  dstPort: number,
  depth: number,
): TunnelStatus {
  const port = isTunnelPort(dstPort) ? dstPort : srcPort;
  switch (port) {
    case UdpTunnelPort.vxlan:
      return decodeVxlan(v, b, off, end, depth);
    case UdpTunnelPort.gtpu:
      return decodeGtpu(v, b, off, end, depth);
    case UdpTunnelPort.geneve:
      return decodeGeneve(v, b, off, end, depth);
    case UdpTunnelPort.l2tp:
      return decodeL2tp(v, b, off, end, depth);
    case UdpTunnelPort.capwapData:
      return decodeCapwap(v, b, off, end, depth);
    case UdpTunnelPort.greInUdp:
      // GRE-in-UDP (RFC 8086 §3): the UDP payload is a GRE header and its payload.
      return decodeGre(v, b, off, end, depth);
    default:
      return decodeTeredo(v, b, off, end, depth);
  }
}

/** VXLAN (RFC 7348 §5): flags(1) reserved(3) VNI(3) reserved(1), then an Ethernet frame. */
function decodeVxlan(v: PacketView, b: Uint8Array, off: number, end: number, depth: number): TunnelStatus {
  if (end - off < 8 + 14) return 'not_tunnel';
  return entered(v, decodeEthernet(v, b, off + 8, end, depth + 1), Tunnel.vxlan, depth);
}

/**
 * Geneve (RFC 8926 §3.4): Ver(2) Opt Len(6, 4-byte units) | O C Rsvd | Protocol Type(2) | VNI(3) Reserved(1) |
 * options. Protocol 0x6558 is an Ethernet frame, anything else an ethertype.
 */
function decodeGeneve(v: PacketView, b: Uint8Array, off: number, end: number, depth: number): TunnelStatus {
  if (end - off < 8) return 'not_tunnel';
  const b0 = b[off]!;
  if (b0 >> 6 !== 0) return 'not_tunnel';
  const inner = off + 8 + (b0 & 0x3f) * 4;
  if (inner >= end) return 'not_tunnel';
  const proto = u16(b, off + 2);
  const status =
    proto === EtherType.teb
      ? decodeEthernet(v, b, inner, end, depth + 1)
      : decodeEtherType(v, b, inner, end, proto, depth + 1);
  return entered(v, status, Tunnel.geneve, depth);
}

/**
 * GTP-U v1 (3GPP TS 29.281 §5.1): flags(1: version 3 bits = 1, PT = 1, E S PN) type(1) length(2) TEID(4); when
 * any of E/S/PN is set, sequence(2) N-PDU(1) next extension type(1). Extension headers (§5.2): length(1, 4-byte
 * units, including itself) content, next type as their last byte. Only G-PDUs (type 255) carry user IP packets;
 * echo and error messages stay UDP flows.
 */
function decodeGtpu(v: PacketView, b: Uint8Array, off: number, end: number, depth: number): TunnelStatus {
  if (end - off < 8) return 'not_tunnel';
  const flags = b[off]!;
  if (flags >> 5 !== 1 || (flags & 0x10) === 0 || b[off + 1] !== 0xff) return 'not_tunnel';
  const gtpEnd = Math.min(end, off + 8 + u16(b, off + 2));
  let p = off + 8;
  if ((flags & 0x07) !== 0) {
    if (gtpEnd - off < 12) return 'not_tunnel';
    let nextType = b[off + 11]!;
    p = off + 12;
    for (let n = 0; nextType !== 0; n++) {
      if (n >= MAX_TUNNEL_OPTIONS || p >= gtpEnd) return 'not_tunnel';
      const len = b[p]! * 4;
      if (len === 0 || p + len > gtpEnd) return 'not_tunnel';
      nextType = b[p + len - 1]!;
      p += len;
    }
  }
  return entered(v, decodeIpByNibble(v, b, p, gtpEnd, depth + 1), Tunnel.gtpu, depth);
}

/**
 * Teredo (RFC 4380 §5.1.1): an IPv6 packet, optionally preceded by an authentication indicator (0x0001, ID-len(1),
 * AU-len(1), client id, authentication value, nonce(8), confirmation(1)) and/or an origin indication (0x0000,
 * port(2), address(4)).
 */
function decodeTeredo(v: PacketView, b: Uint8Array, off: number, end: number, depth: number): TunnelStatus {
  let p = off;
  if (end - p >= 4 && b[p] === 0x00 && b[p + 1] === 0x01) p += 4 + b[p + 2]! + b[p + 3]! + 9;
  if (end - p >= 8 && b[p] === 0x00 && b[p + 1] === 0x00) p += 8;
  if (end - p < 40 || b[p]! >> 4 !== 6) return 'not_tunnel';
  return entered(v, decodeIPv6(v, b, p, end, depth + 1), Tunnel.teredo, depth);
}

/**
 * L2TPv2 data messages (RFC 2661 §3.1): T L x x S x O P x x x x Ver(4)=2, [length(2) if L], tunnel id(2), session
 * id(2), [Ns(2) Nr(2) if S], [offset size(2) + padding if O], then a PPP frame. Control messages (T) and L2TPv3
 * (whose cookie length is configuration, not on the wire) stay UDP flows.
 */
function decodeL2tp(v: PacketView, b: Uint8Array, off: number, end: number, depth: number): TunnelStatus {
  if (end - off < 6) return 'not_tunnel';
  const flags = u16(b, off);
  if ((flags & 0x8000) !== 0 || (flags & 0x000f) !== 2) return 'not_tunnel';
  let p = off + 2 + ((flags & 0x4000) !== 0 ? 2 : 0) + 4 + ((flags & 0x0800) !== 0 ? 4 : 0);
  if ((flags & 0x0200) !== 0) {
    if (end - p < 2) return 'not_tunnel';
    p += 2 + u16(b, p);
  }
  if (p >= end) return 'not_tunnel';
  return entered(v, decodePpp(v, b, p, end, depth + 1), Tunnel.l2tp, depth);
}

/**
 * CAPWAP data channel (RFC 5415 §4.1-4.3, UDP 5247): preamble(1: version 0, type 0 = clear text), then HLEN(5, in
 * 4-byte words, preamble included) RID(5) WBID(5) T(1) F L W M K flags(3) ...; the payload starts HLEN words in.
 * T = 1 with WBID 1 is a native 802.11 frame, T = 0 an 802.3 frame. DTLS-protected and fragmented packets stay
 * UDP flows.
 */
function decodeCapwap(v: PacketView, b: Uint8Array, off: number, end: number, depth: number): TunnelStatus {
  if (end - off < 8 || b[off] !== 0) return 'not_tunnel';
  const headerLen = (b[off + 1]! >> 3) * 4;
  const native = (b[off + 2]! & 1) === 1;
  const wbid = (b[off + 2]! >> 1) & 0x1f;
  if (headerLen < 8 || (b[off + 3]! & 0x80) !== 0 || off + headerLen >= end) return 'not_tunnel';
  const p = off + headerLen;
  if (native && wbid !== 1) return 'not_tunnel';
  const status = native ? decodeIeee80211(v, b, p, end, depth + 1) : decodeEthernet(v, b, p, end, depth + 1);
  return entered(v, status, Tunnel.capwap, depth);
}

/** IP-in-IP: protocol 4 carries IPv4 (RFC 2003), 41 IPv6 (RFC 4213 §3.5), under either outer version. */
export function decodeIpInIp(v: PacketView, b: Uint8Array, off: number, end: number, depth: number): TunnelStatus {
  const status =
    v.protocol === IpProto.ipip ? decodeIPv4(v, b, off, end, depth + 1) : decodeIPv6(v, b, off, end, depth + 1);
  return entered(v, status, Tunnel.ipip, depth);
}

/**
 * GRE header (RFC 2784 §2.1 + RFC 2890 §2: C(1) R(1) K(1) S(1) s(1) Recur(3) A(1) Flags(4) Ver(3) | Protocol(2)),
 * then optional checksum+offset (present when C or R), key, sequence, and RFC 1701 source-route entries when R.
 * Version 1 is PPTP's enhanced GRE (RFC 2637 §4.1): K required, key = payload length(2) call id(2), optional
 * sequence and acknowledgement (A), protocol 0x880B (PPP).
 */
export function decodeGre(v: PacketView, b: Uint8Array, off: number, end: number, depth: number): TunnelStatus {
  if (end - off < 4) return 'not_tunnel';
  const flags = u16(b, off);
  const proto = u16(b, off + 2);
  const version = flags & 0x0007;
  let p = off + 4;
  let innerEnd = end;
  if (version === 0) {
    if ((flags & 0xc000) !== 0) p += 4;
    if ((flags & 0x2000) !== 0) p += 4;
    if ((flags & 0x1000) !== 0) p += 4;
    if ((flags & 0x4000) !== 0) {
      // Source Route Entries: address family(2) SRE offset(1) SRE length(1) entries; a null SRE (family 0,
      // length 0) ends the list.
      for (let n = 0; ; n++) {
        if (n >= MAX_TUNNEL_OPTIONS || end - p < 4) return 'not_tunnel';
        const family = u16(b, p);
        const len = b[p + 3]!;
        p += 4 + len;
        if (family === 0 && len === 0) break;
      }
    }
  } else if (version === 1) {
    if ((flags & 0x2000) === 0 || proto !== EtherType.ppp) return 'not_tunnel';
    if (end - off < 8) return 'not_tunnel';
    p = off + 8 + ((flags & 0x1000) !== 0 ? 4 : 0) + ((flags & 0x0080) !== 0 ? 4 : 0);
    innerEnd = Math.min(end, p + u16(b, off + 4));
  } else {
    return 'not_tunnel';
  }
  // Nothing after the header: a keepalive, a PPTP acknowledgement, or a cut capture.
  if (p >= innerEnd) return 'not_tunnel';

  switch (proto) {
    case EtherType.teb:
      return entered(v, decodeEthernet(v, b, p, innerEnd, depth + 1), Tunnel.gre, depth);
    case EtherType.ppp:
      return entered(v, decodePpp(v, b, p, innerEnd, depth + 1), Tunnel.gre, depth);
    case EtherType.erspan2:
      // Type II (GRE sequence present) has an 8-byte header: Ver(4) VLAN(12) COS(3) En(2) T(1) Session(10)
      // Reserved(12) Index(20); type I (no sequence) has none.
      if ((flags & 0x1000) !== 0) p += 8;
      return entered(v, decodeEthernet(v, b, p, innerEnd, depth + 1), Tunnel.erspan, depth);
    case EtherType.erspan3:
      // Type III: 12 bytes, the last bit (O) announcing an 8-byte platform-specific subheader.
      if (innerEnd - p < 12) return 'not_tunnel';
      p += (b[p + 11]! & 1) === 1 ? 20 : 12;
      return entered(v, decodeEthernet(v, b, p, innerEnd, depth + 1), Tunnel.erspan, depth);
    default:
      // Aruba access points tunnel 802.11 frames to their controller in GRE types 0x8200-0x8299 (Zeek's GRE
      // analyzer reads them the same way).
      if (proto >= 0x8200 && proto <= 0x8299) {
        return entered(v, decodeIeee80211(v, b, p, innerEnd, depth + 1), Tunnel.gre, depth);
      }
      return entered(v, decodeEtherType(v, b, p, innerEnd, proto, depth + 1), Tunnel.gre, depth);
  }
}
