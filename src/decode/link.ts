/**
 * Link layer: the capture's link type, then the ethertype chain (VLAN, MPLS, PPPoE, LLC/SNAP) down to IP.
 *
 * Header layouts: https://www.tcpdump.org/linktypes.html (LINKTYPE_NULL/LOOP, RAW, LINUX_SLL/SLL2, PPP, C_HDLC,
 * PPI, NFLOG), IEEE 802.3 / 802.1Q (VLAN, QinQ), RFC 3032 (MPLS label stack), RFC 4448 (Ethernet pseudowire control
 * word), RFC 2516 (PPPoE), RFC 1661/1662 (PPP, address/control and protocol-field compression), RFC 1042 (SNAP);
 * vendor shims tshark also reads: VN-Tag, 802.1BR E-TAG, 802.1ah PBB, Cisco MetaData (SGT), Cisco FabricPath;
 * IEEE 802.11 data frames (plain, radiotap) down to their LLC/SNAP ethertype.
 * Limits: MAX_VLAN_TAGS tags, MAX_LINK_HEADERS headers in one ethertype chain, MAX_MPLS_LABELS labels. Every
 * header is length-checked once against `end` (the captured end of the frame, never beyond buf.length) before its
 * fixed offsets are read.
 */
import { u16, u16le, u32le } from './bytes.ts';
import { decodeIPv4, decodeIPv6, decodeIpByNibble } from './ip.ts';
import { EtherType, LinkType } from './names.ts';
import type { PacketView } from './packet.ts';
import { type DecodeStatus, MAX_LINK_HEADERS, MAX_MPLS_LABELS, MAX_TUNNEL_DEPTH, MAX_VLAN_TAGS } from './status.ts';

/** Dispatch on the capture's link type; `off` is the frame's first byte, `end` its captured end. */
export function decodeLink(v: PacketView, b: Uint8Array, off: number, end: number, linkType: number): DecodeStatus {
  switch (linkType) {
    case LinkType.ethernet:
      return decodeEthernet(v, b, off, end, 0);
    case LinkType.raw:
    case LinkType.raw12:
    case LinkType.raw14:
      return decodeIpByNibble(v, b, off, end, 0);
    case LinkType.ipv4:
      return decodeIPv4(v, b, off, end, 0);
    case LinkType.ipv6:
      return decodeIPv6(v, b, off, end, 0);
    case LinkType.linuxSll:
      // packet type(2) ARPHRD(2) address length(2) address(8) protocol(2); protocol is an ethertype, or a value
      // <= 1500 for non-Ethernet-II payloads (4 = 802.2 LLC), which the LLC branch handles.
      if (end - off < 16) return 'truncated_link';
      return decodeEtherType(v, b, off + 16, end, u16(b, off + 14), 0);
    case LinkType.linuxSll2:
      // protocol(2) reserved(2) ifindex(4) ARPHRD(2) packet type(1) address length(1) address(8)
      if (end - off < 20) return 'truncated_link';
      return decodeEtherType(v, b, off + 20, end, u16(b, off), 0);
    case LinkType.null:
    case LinkType.loop:
      return decodeNull(v, b, off, end);
    case LinkType.ppp:
    case LinkType.pppHdlc:
      // Router captures labelled PPP often hold Cisco HDLC frames (address 0x0F unicast / 0x8F broadcast, never a
      // PPP address or protocol byte); tshark reads them the same way.
      if (end - off >= 1 && (b[off] === 0x0f || b[off] === 0x8f)) return decodeCiscoHdlc(v, b, off, end);
      return decodePpp(v, b, off, end, 0);
    case LinkType.cHdlc:
      return decodeCiscoHdlc(v, b, off, end);
    case LinkType.pppoe:
      return decodePppoe(v, b, off, end, 0);
    case LinkType.ppi:
      return decodePpi(v, b, off, end);
    case LinkType.nflog:
      return decodeNflog(v, b, off, end);
    case LinkType.ieee80211:
      return decodeIeee80211(v, b, off, end, 0);
    case LinkType.radiotap:
      // Radiotap (radiotap.org): version(1) pad(1) length(2, LE) present flags..., then the 802.11 frame. A trailing
      // FCS (radiotap flag 0x10) needs no handling: the IP length clamps the packet before it.
      if (end - off < 8 || u16le(b, off + 2) < 8) return 'truncated_link';
      return decodeIeee80211(v, b, off + u16le(b, off + 2), end, 0);
    default:
      return 'unsupported_link_type';
  }
}

/** Ethernet II / 802.3 header at `off` (no preamble, no FCS check: captures may or may not keep the FCS). */
export function decodeEthernet(v: PacketView, b: Uint8Array, off: number, end: number, depth: number): DecodeStatus {
  if (end - off < 14) return 'truncated_link';
  return decodeEtherType(v, b, off + 14, end, u16(b, off + 12), depth);
}

/**
 * The ethertype chain starting at `off` with `type` already read: VLAN tags and LLC/SNAP loop here (bounded), IP
 * ends it, MPLS and PPPoE hand over. `depth` > 0 means inside a tunnel: inner VLAN ids and MPLS labels are the
 * tenant's, not the capture point's, so only depth 0 records them.
 */
export function decodeEtherType(
  v: PacketView,
  b: Uint8Array,
  off: number,
  end: number,
  type: number,
  depth: number,
): DecodeStatus {
  let vlanTags = 0;
  // Each pass consumes at least 4 bytes; the bound covers MAX_VLAN_TAGS tags plus a few shims between them.
  for (let hop = 0; hop < MAX_LINK_HEADERS; hop++) {
    v.lastEtherType = type;
    switch (type) {
      case EtherType.ipv4:
        return decodeIPv4(v, b, off, end, depth);
      case EtherType.ipv6:
        return decodeIPv6(v, b, off, end, depth);
      case EtherType.vlan:
      case EtherType.qinq:
      case EtherType.qinq9100:
      case EtherType.qinq9200: {
        // 802.1Q tag: PCP(3) DEI(1) VID(12), then the next ethertype.
        if (++vlanTags > MAX_VLAN_TAGS) return 'too_many_vlan_tags';
        if (end - off < 4) return 'truncated_link';
        const vid = u16(b, off) & 0x0fff;
        // Outermost non-zero VID: VID 0 is a priority-only tag (802.1p), not a VLAN.
        if (depth === 0 && v.vlanId === 0) v.vlanId = vid;
        type = u16(b, off + 2);
        off += 4;
        continue;
      }
      case EtherType.mplsUnicast:
      case EtherType.mplsMulticast:
        return decodeMpls(v, b, off, end, depth);
      case EtherType.pppoeSession:
        return decodePppoe(v, b, off, end, depth);
      case EtherType.vnTag:
        // VN-Tag (Cisco FEX, later IEEE 802.1Qbh): 4 tag bytes, then the next ethertype.
        if (end - off < 6) return 'truncated_link';
        type = u16(b, off + 4);
        off += 6;
        continue;
      case EtherType.eTag:
        // IEEE 802.1BR E-TAG: 6 tag bytes, then the next ethertype.
        if (end - off < 8) return 'truncated_link';
        type = u16(b, off + 6);
        off += 8;
        continue;
      case EtherType.ciscoMetaData: {
        // Cisco MetaData (TrustSec SGT): version(1) length(1, 8-byte units, counting from the ethertype before
        // it to the next one included) options; the next ethertype closes it. Usual: length 1, one SGT option.
        if (end - off < 2) return 'truncated_link';
        const next = off + b[off + 1]! * 8 - 2;
        if (next < off + 2 || end - next < 2) return 'truncated_link';
        type = u16(b, next);
        off = next + 2;
        continue;
      }
      case EtherType.fabricPath:
        // Cisco FabricPath: FTag/TTL(2), then the original frame's MAC addresses and ethertype.
        if (end - off < 16) return 'truncated_link';
        type = u16(b, off + 14);
        off += 16;
        continue;
      case EtherType.pbb:
        // IEEE 802.1ah backbone I-TAG: flags + I-SID(4), customer MAC addresses(12), next ethertype.
        if (end - off < 18) return 'truncated_link';
        type = u16(b, off + 16);
        off += 18;
        continue;
      default:
        break;
    }
    // 802.3 length field: an LLC header follows. Only SNAP (AA AA 03) with OUI 00-00-00 carries an ethertype
    // (RFC 1042); anything else (STP, CDP, NetBIOS...) is not IP.
    if (type <= 1500 && end - off >= 8 && b[off] === 0xaa && b[off + 1] === 0xaa && b[off + 2] === 0x03) {
      if (b[off + 3] !== 0 || b[off + 4] !== 0 || b[off + 5] !== 0) return 'not_ip';
      type = u16(b, off + 6);
      off += 8;
      continue;
    }
    return 'not_ip';
  }
  return 'too_many_link_headers';
}

/**
 * MPLS label stack (RFC 3032 §2.1: label(20) TC(3) S(1) TTL(8)); after bottom-of-stack the payload type is not
 * signalled, so guess by first nibble like every analyser does: 4 IPv4, 6 IPv6, 0 an Ethernet pseudowire with the
 * RFC 4448 §3 control word (first nibble 0), then the Ethernet frame.
 */
export function decodeMpls(v: PacketView, b: Uint8Array, off: number, end: number, depth: number): DecodeStatus {
  let labels = 0;
  for (;;) {
    if (++labels > MAX_MPLS_LABELS) return 'too_many_mpls_labels';
    if (end - off < 4) return 'truncated_link';
    const bottom = b[off + 2]! & 1;
    off += 4;
    if (bottom === 1) break;
  }
  if (depth === 0) v.mplsLabels += labels;
  if (off >= end) return 'truncated_link';
  const nibble = b[off]! >> 4;
  if (nibble === 4) return decodeIPv4(v, b, off, end, depth);
  if (nibble === 6) return decodeIPv6(v, b, off, end, depth);
  // A pseudowire nests a whole Ethernet frame, which may hold MPLS again: count it against the tunnel depth so
  // crafted PW-in-PW chains stay bounded.
  if (nibble === 0 && depth < MAX_TUNNEL_DEPTH) return decodeEthernet(v, b, off + 4, end, depth + 1);
  return 'not_ip';
}

/**
 * PPPoE session stage (RFC 2516 §4: ver/type(1)=0x11 code(1)=0 session(2) length(2)), then the PPP protocol.
 * The PPPoE length is not used to bound the packet: real captures (zeek/pppoe-over-qinq.pcap) carry lengths
 * shorter than the IP packet they hold, and tshark reads the IP to its total length; that clamps padding anyway.
 */
function decodePppoe(v: PacketView, b: Uint8Array, off: number, end: number, depth: number): DecodeStatus {
  if (end - off < 6) return 'truncated_link';
  if (b[off] !== 0x11 || b[off + 1] !== 0) return 'not_ip';
  return decodePpp(v, b, off + 6, end, depth);
}

/**
 * PPP frame at `off` (RFC 1661 §2, RFC 1662 §3.1): optional address/control 0xFF 0x03, then a protocol field of 2
 * bytes, or 1 byte when protocol-field compression applies (an odd first byte, RFC 1661 §6.5).
 */
export function decodePpp(v: PacketView, b: Uint8Array, off: number, end: number, depth: number): DecodeStatus {
  if (end - off >= 2 && b[off] === 0xff && b[off + 1] === 0x03) off += 2;
  if (off >= end) return 'truncated_link';
  let proto: number;
  if ((b[off]! & 1) === 1) {
    proto = b[off]!;
    off += 1;
  } else {
    if (end - off < 2) return 'truncated_link';
    proto = u16(b, off);
    off += 2;
  }
  v.lastEtherType = EtherType.ppp;
  switch (proto) {
    case 0x0021:
      return decodeIPv4(v, b, off, end, depth);
    case 0x0057:
      return decodeIPv6(v, b, off, end, depth);
    case 0x0281:
    case 0x0283:
      return decodeMpls(v, b, off, end, depth);
    default:
      // LCP, IPCP, CHAP, compressed TCP/IP (0x002d/0x002f, RFC 1144): no IP header to read.
      return 'not_ip';
  }
}

/** Cisco HDLC: address(1) control(1) protocol(2, an ethertype). */
function decodeCiscoHdlc(v: PacketView, b: Uint8Array, off: number, end: number): DecodeStatus {
  if (end - off < 4) return 'truncated_link';
  return decodeEtherType(v, b, off + 4, end, u16(b, off + 2), 0);
}

/**
 * IEEE 802.11 data frame (IEEE 802.11-2020 §9.2.4, §9.3.2): frame control(2) duration(2) addresses 1-3(18)
 * sequence control(2), address 4 when both DS bits are set, QoS control(2) for QoS subtypes, HT control(4) when
 * the +HTC/order bit is set on a QoS frame; then LLC/SNAP and an ethertype. Management, control, null-data,
 * protected (encrypted) and non-first fragments carry no readable IP: 'not_ip'. For an A-MSDU (QoS control bit 7)
 * the first subframe (DA SA length, §9.3.2.2.2) is decoded.
 */
export function decodeIeee80211(v: PacketView, b: Uint8Array, off: number, end: number, depth: number): DecodeStatus {
  if (end - off < 24) return 'truncated_link';
  const fc0 = b[off]!;
  const fc1 = b[off + 1]!;
  const subtype = fc0 >> 4;
  // Protocol version 0, type 2 (data), not a null-data subtype (bit 2), not protected, first fragment only.
  if ((fc0 & 0x0f) !== 0x08 || (subtype & 0x04) !== 0 || (fc1 & 0x40) !== 0) return 'not_ip';
  if ((u16le(b, off + 22) & 0x000f) !== 0) return 'not_ip';
  let p = off + 24;
  if ((fc1 & 0x03) === 0x03) p += 6;
  let amsdu = false;
  if ((subtype & 0x08) !== 0) {
    if (end - p < 2) return 'truncated_link';
    amsdu = (b[p]! & 0x80) !== 0;
    p += 2;
    if ((fc1 & 0x80) !== 0) p += 4;
  }
  if (amsdu) p += 14;
  // LLC/SNAP (RFC 1042, or 802.1H bridge tunnel OUI 00-00-F8) then the ethertype.
  if (end - p < 8) return 'truncated_link';
  if (b[p] !== 0xaa || b[p + 1] !== 0xaa || b[p + 2] !== 0x03 || b[p + 3] !== 0 || b[p + 4] !== 0) return 'not_ip';
  if (b[p + 5] !== 0 && b[p + 5] !== 0xf8) return 'not_ip';
  return decodeEtherType(v, b, p + 8, end, u16(b, p + 6), depth);
}

/**
 * BSD loopback (LINKTYPE_NULL, LOOP): a 4-byte address family. NULL writes it in the capturing host's byte order
 * and LOOP in network order, and files travel, so accept either: the family is small, so its non-zero bytes show
 * the order. IPv6 is 24 (NetBSD/OpenBSD), 28 (FreeBSD) or 30 (macOS), per the link-type registry.
 */
function decodeNull(v: PacketView, b: Uint8Array, off: number, end: number): DecodeStatus {
  if (end - off < 4) return 'truncated_link';
  const family = b[off] === 0 && b[off + 1] === 0 ? u16(b, off + 2) : u16le(b, off);
  if (family === 2) return decodeIPv4(v, b, off + 4, end, 0);
  if (family === 24 || family === 28 || family === 30) return decodeIPv6(v, b, off + 4, end, 0);
  return 'not_ip';
}

/**
 * PPI (Per-Packet Information): version(1) flags(1) header length(2, LE) inner link type(4, LE), then the frame.
 * PPI inside PPI is refused, so the recursion is one level.
 */
function decodePpi(v: PacketView, b: Uint8Array, off: number, end: number): DecodeStatus {
  if (end - off < 8) return 'truncated_link';
  const headerLen = u16le(b, off + 2);
  const inner = u32le(b, off + 4);
  if (headerLen < 8 || headerLen > end - off) return 'truncated_link';
  if (inner === LinkType.ppi) return 'unsupported_link_type';
  return decodeLink(v, b, off + headerLen, end, inner);
}

/**
 * NFLOG (Linux netfilter log): family(1) version(1) resource id(2), then TLVs of length(2) type(2) value, length
 * including the 4-byte TLV header and TLVs padded to 4 bytes; length and type are in the capturing host's order,
 * which is little-endian on every machine we expect. Type 9 (NFULA_PAYLOAD) holds the IP packet.
 */
function decodeNflog(v: PacketView, b: Uint8Array, off: number, end: number): DecodeStatus {
  if (end - off < 4) return 'truncated_link';
  const family = b[off]!;
  let p = off + 4;
  // Each TLV is at least 4 bytes, so the loop ends by itself; the bound keeps crafted frames cheap.
  for (let tlv = 0; tlv < 64 && end - p >= 4; tlv++) {
    const len = u16le(b, p);
    const type = u16le(b, p + 2);
    if (len < 4) return 'truncated_link';
    if (type === 9) {
      const valueEnd = Math.min(end, p + len);
      if (family === 2) return decodeIPv4(v, b, p + 4, valueEnd, 0);
      if (family === 10) return decodeIPv6(v, b, p + 4, valueEnd, 0);
      return decodeIpByNibble(v, b, p + 4, valueEnd, 0);
    }
    p += (len + 3) & ~3;
  }
  return 'not_ip';
}
