/**
 * The closed list of decode outcomes and the limits that bound every loop in src/decode.
 *
 * Every frame ends in exactly one status: 'ok' (an IP packet, ready for the flow table) or a counter name. A
 * malformed or hostile frame is a value here, never a throw (Zeek's "weird" idea, style guide §3).
 */

/** Stacked VLAN tags accepted (802.1Q inside 802.1ad inside ...); real networks use 1-2. */
export const MAX_VLAN_TAGS = 8;
/** Headers in one ethertype chain (VLAN tags, LLC/SNAP, VN-Tag, E-TAG, PBB, SGT, FabricPath) before giving up. */
export const MAX_LINK_HEADERS = 16;
/** MPLS labels accepted before bottom-of-stack (RFC 3032); real stacks are 1-4 deep. */
export const MAX_MPLS_LABELS = 16;
/** IPv6 extension headers walked (RFC 8200 §4.1 allows each once, Destination Options twice: 8 in all). */
export const MAX_IPV6_EXT_HEADERS = 12;
/**
 * Tunnel layers decapsulated (GRE, ERSPAN, VXLAN, Geneve, GTP-U, Teredo, L2TP, CAPWAP, IP-in-IP; an MPLS Ethernet
 * pseudowire counts as one too). Deeper nesting is not an error: decoding stops descending, the packet is the flow of
 * the deepest carrier reached (protocol 47, or UDP to port 4789...) and DecodeAnomaly.tunnelDepthLimit is set.
 */
export const MAX_TUNNEL_DEPTH = 4;
/** GTP-U extension headers (3GPP TS 29.281 §5.2) and GRE source-route entries (RFC 1701) walked. */
export const MAX_TUNNEL_OPTIONS = 8;

export const DECODE_STATUS_DOCS = {
  ok: 'IP packet decoded: ipVersion 4|6 and protocol set; ports for TCP/UDP/SCTP, type/code for ICMP(v6)',
  not_ip: 'the link carried something other than IP (ARP, LLDP, LLC, PPP control, ...); see view.lastEtherType',
  unsupported_link_type: 'the capture link type (DLT) is not one src/decode understands; see linkTypeName()',
  truncated_link:
    'the frame ends inside its link header (Ethernet, VLAN, MPLS, PPPoE, SLL, 802.11...) or states an impossible length',
  too_many_vlan_tags: `more than ${MAX_VLAN_TAGS} stacked 802.1Q/802.1ad tags`,
  too_many_link_headers: `more than ${MAX_LINK_HEADERS} headers (tags, shims, LLC/SNAP) in one ethertype chain`,
  too_many_mpls_labels: `more than ${MAX_MPLS_LABELS} MPLS labels before bottom-of-stack`,
  truncated_ip: 'the frame ends inside the IPv4/IPv6 header or an IPv6 extension header',
  malformed_ipv4: 'IPv4 header impossible: version is not 4, IHL < 5, or total length < header length',
  malformed_ipv6: 'IPv6 header impossible: version is not 6, or an extension header runs past the payload length',
  too_many_ipv6_ext_headers: `more than ${MAX_IPV6_EXT_HEADERS} IPv6 extension headers`,
  truncated_tcp: 'IP is fine but fewer than 4 bytes of the TCP header were captured (no ports)',
  malformed_tcp:
    'the IP payload cannot hold a TCP header (< 20 bytes), or the data offset is < 5 words or past the IP payload',
  truncated_udp: 'IP is fine but fewer than 4 bytes of the UDP header were captured (no ports)',
  malformed_udp: 'the IP payload cannot hold a UDP header (< 8 bytes), or the UDP length field is 1..7',
  truncated_sctp: 'IP is fine but fewer than 4 bytes of the SCTP common header were captured (no ports)',
  truncated_icmp: 'IP is fine but fewer than 2 bytes of the ICMP/ICMPv6 header were captured (no type/code)',
} as const;

/** Outcome of decodeFrame: 'ok' or the name of the counter the packet goes to. */
export type DecodeStatus = keyof typeof DECODE_STATUS_DOCS;

/** Every DecodeStatus, in documentation order. */
export const DECODE_STATUSES: readonly DecodeStatus[] = Object.keys(DECODE_STATUS_DOCS) as DecodeStatus[];

/**
 * Oddities tolerated in an 'ok' packet, as bits of view.anomalies (the packet still joins its flow; the pipeline
 * may count each bit under DECODE_ANOMALY_NAMES[i] for bit 1 << i).
 */
export const DecodeAnomaly = {
  /** IPv4 total length 0 or IPv6 payload length 0 (segmentation offload, jumbogram): captured length used. */
  ipLengthZero: 1 << 0,
  /**
   * The IP header states more bytes than the frame holds although the capture did not cut it (capLen = wireLen).
   * Also set on the inner packet of a tunnel whose carrier is a first fragment (the rest is in later fragments).
   */
  ipLengthExceedsFrame: 1 << 1,
  /** The UDP length disagrees with the IP payload length (unfragmented); the payload is clamped to the smaller. */
  udpLengthMismatch: 1 << 2,
  /** A tunnel at MAX_TUNNEL_DEPTH was not entered; the packet is the carrier's flow. */
  tunnelDepthLimit: 1 << 3,
  /** A tunnel's payload was not a decodable IP packet (ARP over VXLAN, a cut inner header): the carrier's flow. */
  tunnelPayloadUndecoded: 1 << 4,
  /**
   * The tunnel carrier was a first fragment: the inner packet is cut, and the datagram's later fragments decode as
   * the carrier's port-less fragments (they cannot be tied to the inner flow without reassembly).
   */
  tunnelInFirstFragment: 1 << 5,
} as const;

export const DECODE_ANOMALY_NAMES = [
  'ip_length_zero',
  'ip_length_exceeds_frame',
  'udp_length_mismatch',
  'tunnel_depth_limit',
  'tunnel_payload_undecoded',
  'tunnel_in_first_fragment',
] as const;
