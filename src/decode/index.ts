/**
 * src/decode: one captured frame → the reused PacketView (link, IP, transport, tunnels down to the innermost IP).
 *
 * Usage: keep one PacketView, call decodeFrame per frame, and on 'ok' use the view before the next call (its
 * fields alias `buf`). Any other status is the name of a counter (DECODE_STATUSES, documented in
 * DECODE_STATUS_DOCS); for 'unsupported_link_type' name it with linkTypeName, for 'not_ip' with
 * etherTypeName(view.lastEtherType). An 'ok' packet may carry tolerated oddities in view.anomalies (DecodeAnomaly
 * bits, named by DECODE_ANOMALY_NAMES). Nothing here allocates per frame or throws, and no read leaves
 * [offset, offset + capLen) ∩ buf.
 */
export { decodeFrame } from './frame.ts';
export { EtherType, etherTypeName, IpProto, LinkType, linkTypeName } from './names.ts';
export { PacketView, TcpFlag, TUNNEL_NAMES, Tunnel } from './packet.ts';
export {
  DECODE_ANOMALY_NAMES,
  DECODE_STATUS_DOCS,
  DECODE_STATUSES,
  DecodeAnomaly,
  type DecodeStatus,
  MAX_IPV6_EXT_HEADERS,
  MAX_LINK_HEADERS,
  MAX_MPLS_LABELS,
  MAX_TUNNEL_DEPTH,
  MAX_VLAN_TAGS,
} from './status.ts';
