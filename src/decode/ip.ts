/**
 * Network and transport layers: IPv4 (RFC 791), IPv6 and its extension headers (RFC 8200 §4), then TCP (RFC 9293
 * §3.1), UDP (RFC 768), SCTP common header (RFC 9260 §3.1), ICMP (RFC 792) and ICMPv6 (RFC 4443 §2.1).
 *
 * Lengths: every header is checked once against `end` (captured bytes) and against `wireEnd` (what the IP header
 * says); the payload is clamped to both, so Ethernet padding never counts as payload and a snaplen cut sets
 * `truncated` while the rest of the packet is still decoded. Limits: MAX_IPV6_EXT_HEADERS extension headers,
 * MAX_TUNNEL_DEPTH decapsulations (see tunnel.ts).
 */
import { u16, u32 } from './bytes.ts';
import { IpProto } from './names.ts';
import type { PacketView } from './packet.ts';
import { DecodeAnomaly, type DecodeStatus, MAX_IPV6_EXT_HEADERS, MAX_TUNNEL_DEPTH } from './status.ts';
import { decodeGre, decodeIpInIp, decodeUdpTunnel, isUdpTunnelPort, type TunnelStatus } from './tunnel.ts';

/** Depth passed when re-decoding a carrier whose tunnel payload failed: no descent, and no depth-limit anomaly. */
const NO_DESCENT = MAX_TUNNEL_DEPTH + 1;

/** IP header of either version, chosen by the first nibble (raw IP link types, MPLS, GTP-U, Teredo). */
export function decodeIpByNibble(v: PacketView, b: Uint8Array, off: number, end: number, depth: number): DecodeStatus {
  if (off >= end) return 'truncated_ip';
  const version = b[off]! >> 4;
  if (version === 4) return decodeIPv4(v, b, off, end, depth);
  if (version === 6) return decodeIPv6(v, b, off, end, depth);
  return 'not_ip';
}

/** IPv4 header at `off` (RFC 791 §3.1); `end` is the captured end of the enclosing frame or tunnel payload. */
export function decodeIPv4(v: PacketView, b: Uint8Array, off: number, end: number, depth: number): DecodeStatus {
  if (end - off < 20) return 'truncated_ip';
  const b0 = b[off]!;
  if (b0 >> 4 !== 4) return 'malformed_ipv4';
  const headerLen = (b0 & 0x0f) * 4;
  if (headerLen < 20) return 'malformed_ipv4';
  const totalLen = u16(b, off + 2);
  let wireEnd: number;
  if (totalLen === 0) {
    // Total length 0: the NIC segments (TSO/LSO) and fills lengths in later, so a capture on the sending host
    // shows 0. Trust the captured bytes, as gopacket's ip4.go does.
    wireEnd = end;
    v.anomalies |= DecodeAnomaly.ipLengthZero;
  } else {
    if (totalLen < headerLen) return 'malformed_ipv4';
    wireEnd = off + totalLen;
  }
  if (off + headerLen > end) return 'truncated_ip';

  v.ipVersion = 4;
  v.l3Offset = off;
  v.tos = b[off + 1]!;
  v.ipId = u16(b, off + 4);
  const fragField = u16(b, off + 6);
  // Flags(3) fragment offset(13) in 8-byte units; bit 0x2000 is More Fragments.
  v.fragOffset = (fragField & 0x1fff) * 8;
  v.moreFragments = (fragField & 0x2000) !== 0;
  v.ttl = b[off + 8]!;
  v.protocol = b[off + 9]!;
  v.src[0] = u32(b, off + 12);
  v.src[1] = 0;
  v.src[2] = 0;
  v.src[3] = 0;
  v.dst[0] = u32(b, off + 16);
  v.dst[1] = 0;
  v.dst[2] = 0;
  v.dst[3] = 0;
  v.ipHeaderLen = headerLen;
  v.ipTotalLen = wireEnd - off;
  if (wireEnd > end) ipCut(v);
  const payloadEnd = Math.min(wireEnd, end);
  let l4 = off + headerLen;
  if (v.protocol === IpProto.ah && v.fragOffset === 0 && payloadEnd - l4 >= 2) {
    // Authentication Header (RFC 4302 §2.2) in transport mode: authenticated, not encrypted, so the transport
    // header follows it; skip it as IPv6 does (one AH; a cut or overlong one leaves protocol 51, port-less).
    const ahLen = (b[l4 + 1]! + 2) * 4;
    if (l4 + ahLen <= payloadEnd) {
      v.protocol = b[l4]!;
      l4 += ahLen;
      v.ipHeaderLen = headerLen + ahLen;
    }
  }
  return decodeTransport(v, b, l4, payloadEnd, wireEnd, depth);
}

/** IPv6 header at `off` (RFC 8200 §3) and its extension headers (§4), up to the upper-layer header. */
export function decodeIPv6(v: PacketView, b: Uint8Array, off: number, end: number, depth: number): DecodeStatus {
  if (end - off < 40) return 'truncated_ip';
  if (b[off]! >> 4 !== 6) return 'malformed_ipv6';
  const payloadLen = u16(b, off + 4);
  // Payload length 0: a jumbogram (RFC 2675 §2, real length in a hop-by-hop option) or a segmentation-offload
  // capture (as IPv4 total length 0); either way the captured bytes are all we know.
  const wireEnd = payloadLen === 0 ? end : off + 40 + payloadLen;
  if (payloadLen === 0) v.anomalies |= DecodeAnomaly.ipLengthZero;
  const payloadEnd = Math.min(wireEnd, end);

  v.ipVersion = 6;
  v.l3Offset = off;
  v.tos = (u16(b, off) >> 4) & 0xff;
  v.ttl = b[off + 7]!;
  v.src[0] = u32(b, off + 8);
  v.src[1] = u32(b, off + 12);
  v.src[2] = u32(b, off + 16);
  v.src[3] = u32(b, off + 20);
  v.dst[0] = u32(b, off + 24);
  v.dst[1] = u32(b, off + 28);
  v.dst[2] = u32(b, off + 32);
  v.dst[3] = u32(b, off + 36);
  v.ipTotalLen = wireEnd - off;
  if (wireEnd > end) ipCut(v);

  let next = b[off + 6]!;
  let p = off + 40;
  // Each extension header is at least 8 bytes, so the walk ends by itself; the bound keeps crafted chains cheap.
  for (let count = 0; ; count++) {
    let len: number;
    switch (next) {
      case IpProto.hopByHop:
      case IpProto.routing:
      case IpProto.destOptions:
      case IpProto.mobility:
      case IpProto.hip:
      case IpProto.shim6:
        // Next header(1) Hdr Ext Len(1) in 8-byte units not counting the first 8 (RFC 8200 §4.3).
        if (p + 2 > payloadEnd) return p + 2 > wireEnd ? 'malformed_ipv6' : 'truncated_ip';
        len = (b[p + 1]! + 1) * 8;
        break;
      case IpProto.ah:
        // Payload Len in 4-byte units minus 2 (RFC 4302 §2.2).
        if (p + 2 > payloadEnd) return p + 2 > wireEnd ? 'malformed_ipv6' : 'truncated_ip';
        len = (b[p + 1]! + 2) * 4;
        break;
      case IpProto.fragment: {
        // Next header(1) reserved(1) offset(13)+res(2)+M(1) identification(4) (RFC 8200 §4.5).
        if (p + 8 > payloadEnd) return p + 8 > wireEnd ? 'malformed_ipv6' : 'truncated_ip';
        const fragField = u16(b, p + 2);
        v.fragOffset = fragField & 0xfff8;
        v.moreFragments = (fragField & 1) !== 0;
        v.ipId = u32(b, p + 4);
        len = 8;
        break;
      }
      default:
        len = 0;
        break;
    }
    if (len === 0) break;
    if (count >= MAX_IPV6_EXT_HEADERS) return 'too_many_ipv6_ext_headers';
    if (p + len > wireEnd) return 'malformed_ipv6';
    if (p + len > payloadEnd) return 'truncated_ip';
    next = b[p]!;
    p += len;
    // A non-first fragment holds no upper-layer header: the walk ends at the fragment header.
    if (v.fragOffset !== 0) break;
  }
  v.protocol = next;
  v.ipHeaderLen = p - off;
  return decodeTransport(v, b, p, payloadEnd, wireEnd, depth);
}

/**
 * Upper layer at `l4`: `end` is the captured end of the IP payload, `wireEnd` the end the IP header states. For a
 * non-first fragment there is no transport header (RFC 791 §2.3): the flow is port-less and the payload is the
 * fragment's bytes.
 */
function decodeTransport(
  v: PacketView,
  b: Uint8Array,
  l4: number,
  end: number,
  wireEnd: number,
  depth: number,
): DecodeStatus {
  v.l4Offset = l4;
  if (v.fragOffset === 0) {
    switch (v.protocol) {
      case IpProto.tcp:
        return decodeTcp(v, b, l4, end, wireEnd);
      case IpProto.udp:
        return decodeUdp(v, b, l4, end, wireEnd, depth);
      case IpProto.icmp:
      case IpProto.icmpv6:
        return decodeIcmp(v, b, l4, end, wireEnd);
      case IpProto.sctp:
        return decodeSctp(v, b, l4, end, wireEnd);
      // Tunnels are entered on first fragments too: the inner headers are there, and the inner flow then counts
      // one packet per datagram, as a reassembling analyser (tshark) does. The inner packet is marked truncated.
      case IpProto.gre:
        setPayload(v, l4, end, wireEnd);
        if (depth >= MAX_TUNNEL_DEPTH) {
          if (depth === MAX_TUNNEL_DEPTH) v.anomalies |= DecodeAnomaly.tunnelDepthLimit;
          return 'ok';
        }
        saveCarrier(v, end, depth);
        return carrierOr(v, b, v.moreFragments, decodeGre(v, b, l4, end, depth), depth);
      case IpProto.ipip:
      case IpProto.ipv6:
        setPayload(v, l4, end, wireEnd);
        if (depth >= MAX_TUNNEL_DEPTH) {
          if (depth === MAX_TUNNEL_DEPTH) v.anomalies |= DecodeAnomaly.tunnelDepthLimit;
          return 'ok';
        }
        saveCarrier(v, end, depth);
        return carrierOr(v, b, v.moreFragments, decodeIpInIp(v, b, l4, end, depth), depth);
      default:
        break;
    }
  }
  // Port-less protocols (ESP, OSPF, ...), fragments, and tunnels not descended into: the payload is the IP payload.
  setPayload(v, l4, end, wireEnd);
  return 'ok';
}

/** The IP header states more than was captured: a snaplen cut, or (when nothing was cut) a length that lies. */
function ipCut(v: PacketView): void {
  v.truncated = true;
  if (v.capLen >= v.wireLen) v.anomalies |= DecodeAnomaly.ipLengthExceedsFrame;
}

/** Payload = [start, end) captured, [start, wireEnd) on the wire; start may lie past a cut capture. */
function setPayload(v: PacketView, start: number, end: number, wireEnd: number): void {
  v.payloadOffset = Math.min(start, end);
  v.payloadLen = end > start ? end - start : 0;
  v.payloadWireLen = wireEnd > start ? wireEnd - start : 0;
}

/**
 * TCP header (RFC 9293 §3.1). With at least the ports captured the packet is 'ok' (truncated when the rest of the
 * header is cut); a header the IP payload cannot hold is malformed, including a first fragment too short for it
 * (the tiny-fragment attack, RFC 1858 §3.1).
 */
function decodeTcp(v: PacketView, b: Uint8Array, l4: number, end: number, wireEnd: number): DecodeStatus {
  const wireAvail = wireEnd - l4;
  if (wireAvail < 20) return 'malformed_tcp';
  if (end - l4 < 4) return 'truncated_tcp';
  v.srcPort = u16(b, l4);
  v.dstPort = u16(b, l4 + 2);
  if (end - l4 < 20) {
    // Header cut by the snaplen: ports only; assume no options for the stated payload length.
    v.truncated = true;
    setPayload(v, l4 + 20, end, wireEnd);
    return 'ok';
  }
  const headerLen = (b[l4 + 12]! >> 4) * 4;
  if (headerLen < 20 || headerLen > wireAvail) return 'malformed_tcp';
  v.tcpSeq = u32(b, l4 + 4);
  v.tcpAck = u32(b, l4 + 8);
  v.tcpFlags = b[l4 + 13]!;
  v.tcpWindow = u16(b, l4 + 14);
  v.l4HeaderLen = headerLen;
  if (l4 + headerLen > end) v.truncated = true;
  setPayload(v, l4 + headerLen, end, wireEnd);
  return 'ok';
}

/**
 * UDP header (RFC 768). The UDP length bounds the payload (bytes after it are trailer, not data); length 0 means
 * "use the IP length" (IPv6 jumbograms, RFC 2675 §4; UDP segmentation offload). A first fragment carries only part
 * of the datagram, so its UDP length may exceed the IP payload.
 */
function decodeUdp(
  v: PacketView,
  b: Uint8Array,
  l4: number,
  end: number,
  wireEnd: number,
  depth: number,
): DecodeStatus {
  const wireAvail = wireEnd - l4;
  if (wireAvail < 8) return 'malformed_udp';
  if (end - l4 < 4) return 'truncated_udp';
  const srcPort = u16(b, l4);
  const dstPort = u16(b, l4 + 2);
  v.srcPort = srcPort;
  v.dstPort = dstPort;
  if (end - l4 < 8) {
    v.truncated = true;
    setPayload(v, l4 + 8, end, wireEnd);
    return 'ok';
  }
  v.l4HeaderLen = 8;
  const udpLen = u16(b, l4 + 4);
  let udpEnd = wireEnd;
  if (udpLen !== 0) {
    if (udpLen < 8) return 'malformed_udp';
    if (udpLen < wireAvail) {
      udpEnd = l4 + udpLen;
      v.anomalies |= DecodeAnomaly.udpLengthMismatch;
    } else if (udpLen > wireAvail && !v.moreFragments) {
      // A UDP length past the IP payload: keep the packet (tshark and Zeek do, flagging it), payload clamped.
      v.anomalies |= DecodeAnomaly.udpLengthMismatch;
    } else {
      udpEnd = l4 + udpLen;
    }
  }
  const payloadEnd = Math.min(udpEnd, end);
  setPayload(v, l4 + 8, payloadEnd, Math.min(udpEnd, wireEnd));
  // A first fragment holds part of the datagram: its payload on the wire is what the UDP length says.
  if (v.moreFragments && udpLen > 8) v.payloadWireLen = udpLen - 8;
  if (isUdpTunnelPort(srcPort, dstPort)) {
    if (depth >= MAX_TUNNEL_DEPTH) {
      if (depth === MAX_TUNNEL_DEPTH) v.anomalies |= DecodeAnomaly.tunnelDepthLimit;
      return 'ok';
    }
    saveCarrier(v, end, depth);
    const fragmented = v.moreFragments;
    return carrierOr(v, b, fragmented, decodeUdpTunnel(v, b, l4 + 8, payloadEnd, srcPort, dstPort, depth), depth);
  }
  return 'ok';
}

/** ICMP (RFC 792) / ICMPv6 (RFC 4443 §2.1): type(1) code(1) checksum(2) and 4 message-specific bytes. */
function decodeIcmp(v: PacketView, b: Uint8Array, l4: number, end: number, wireEnd: number): DecodeStatus {
  if (end - l4 < 2) return 'truncated_icmp';
  v.icmpType = b[l4]!;
  v.icmpCode = b[l4 + 1]!;
  // Errors quote the offending packet's IP header: that stays payload here, never a flow of its own.
  const headerLen = wireEnd - l4 < 8 ? Math.max(0, wireEnd - l4) : 8;
  v.l4HeaderLen = headerLen;
  if (end - l4 < headerLen) v.truncated = true;
  setPayload(v, l4 + headerLen, end, wireEnd);
  return 'ok';
}

/** SCTP common header (RFC 9260 §3.1): ports(4) verification tag(4) checksum(4); chunks are the payload. */
function decodeSctp(v: PacketView, b: Uint8Array, l4: number, end: number, wireEnd: number): DecodeStatus {
  if (end - l4 < 4) return 'truncated_sctp';
  v.srcPort = u16(b, l4);
  v.dstPort = u16(b, l4 + 2);
  v.l4HeaderLen = 12;
  if (end - l4 < 12) v.truncated = true;
  setPayload(v, l4 + 12, end, wireEnd);
  return 'ok';
}

/**
 * After a tunnel attempt: 'ok' means the inner packet is in the view; 'not_tunnel' means the tunnel header was
 * refused before the view was touched, so the carrier is still there. Anything else (inner bytes not IP, cut,
 * malformed) means the packet is the carrier's own flow, as other analysers count it (tshark shows the outer
 * UDP/GRE): re-decode the carrier from the position saved before descending.
 */
function carrierOr(
  v: PacketView,
  b: Uint8Array,
  carrierFragmented: boolean,
  status: TunnelStatus,
  depth: number,
): DecodeStatus {
  if (status === 'ok') {
    if (carrierFragmented) v.anomalies |= DecodeAnomaly.tunnelInFirstFragment;
    return 'ok';
  }
  if (status === 'not_tunnel') return 'ok';
  const carrier = redecodeCarrier(v, b, depth);
  v.anomalies |= DecodeAnomaly.tunnelPayloadUndecoded;
  return carrier;
}

/**
 * Carrier position saved by the tunnel decoders before they overwrite the view, one slot per depth (a module-level
 * stack instead of closures: nothing is allocated per packet).
 */
const carrierL3 = new Int32Array(MAX_TUNNEL_DEPTH + 1);
const carrierEnd = new Int32Array(MAX_TUNNEL_DEPTH + 1);

/** Remember the carrier IP header (and its captured end) of a tunnel about to be entered at `depth`. */
function saveCarrier(v: PacketView, end: number, depth: number): void {
  carrierL3[depth] = v.l3Offset;
  carrierEnd[depth] = end;
}

function redecodeCarrier(v: PacketView, b: Uint8Array, depth: number): DecodeStatus {
  const l3 = carrierL3[depth]!;
  const end = carrierEnd[depth]!;
  v.clearNetwork();
  return decodeIpByNibble(v, b, l3, end, NO_DESCENT);
}
