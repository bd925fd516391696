/** Shared by the reference tests that compare per-5-tuple packet counts with tshark's. */
/**
 * Captures whose counts differ from tshark's for a reason outside src/decode's contract. Reasons:
 * - MIXED: an IPv4 carrier tunnels IPv6; the reference takes the last ip.src and the last ipv6.src separately and
 *   keeps the IPv4 one, so it pairs the carrier's IPv4 addresses with the inner ports. We report the inner IPv6.
 * - INNER_NOT_TCP_UDP: the innermost packet is ICMP/IGMP/no-next-header (Teredo bubbles, IGMP over VXLAN, ICMP in
 *   an sFlow sample or GTP'); the reference counts or drops the carrier UDP packet, we report the inner flow.
 * - REASSEMBLY: tshark reassembles IP fragments and counts a datagram on its completing fragment (or not at all when
 *   fragments are missing, overlap, or split the TCP header); we count the first fragment.
 * - UNSUPPORTED: Cisco's CAPWAP variant (byte-swapped 802.11 frame control, 2 bytes past HLEN; we read RFC 5415
 *   CAPWAP), AYIYA, LISP, Van Jacobson compressed TCP over PPP.
 * - RESYNC: the file is damaged part-way (an absurd record length, an unsupported pcapng section); tshark stops
 *   there, flowsieve counts the bad record, resynchronises and reads the packets after it.
 * - FUZZ: deliberately corrupt captures where tshark shows ports of headers we call malformed (a TCP data offset
 *   below 5 words: tshark keeps the ports, Zeek drops the packet as we do).
 */
export const KNOWN_DIFFERENCES = new Map<string, string>([
  ['pcaps/cisco-mercury/ip_encapsulation.pcap', 'MIXED'],
  ['pcaps/ndpi/6in4tunnel.pcap', 'MIXED'],
  ['pcaps/ndpi/syslog.pcap', 'MIXED'],
  ['pcaps/ndpi/ipv6_in_gtp.pcap', 'MIXED'],
  ['pcaps/debian-dpkt/nb6-http.pcap', 'MIXED'],
  ['pcaps/zeek/erspan.pcap', 'MIXED'],
  ['pcaps/zeek/tunnels/6in4.pcap', 'MIXED'],
  ['pcaps/zeek/tunnels/gtp/gtp7_ipv6.pcap', 'MIXED'],
  ['pcaps/cisco-mercury/emix.pcap', 'INNER_NOT_TCP_UDP'],
  ['pcaps/ndpi/teredo.pcap', 'INNER_NOT_TCP_UDP'],
  ['pcaps/ndpi/sflow.pcap', 'INNER_NOT_TCP_UDP'],
  ['pcaps/packetlife/sflow.cap', 'INNER_NOT_TCP_UDP'],
  ['pcaps/zeek/tunnels/Teredo.pcap', 'INNER_NOT_TCP_UDP'],
  ['pcaps/zeek/tunnels/teredo_bubble_with_payload.pcap', 'INNER_NOT_TCP_UDP'],
  ['pcaps/zeek/tunnels/gtp/gtp8_teredo.pcap', 'INNER_NOT_TCP_UDP'],
  ['pcaps/zeek/tunnels/gtp/gtp_control_prime.pcap', 'INNER_NOT_TCP_UDP'],
  ['pcaps/zeek/tunnels/vxlan-encapsulated-igmp-v2.pcap', 'INNER_NOT_TCP_UDP'],
  ['pcaps/stopddos/amp.dns.RRSIG.fragmented.pcap', 'REASSEMBLY'],
  ['pcaps/zeek/ipv4/fragmented-1.pcap', 'REASSEMBLY'],
  ['pcaps/zeek/ipv4/fragmented-syn.pcap', 'REASSEMBLY'],
  ['pcaps/zeek/tunnels/gtp/gtp1_gn_normal_incl_fragmentation.pcap', 'REASSEMBLY'],
  ['pcaps/ndpi/ip_fragmented_garbage.pcap', 'REASSEMBLY'],
  ['pcaps/ndpi/capwap.pcap', 'UNSUPPORTED'],
  ['pcaps/zeek/tunnels/ayiya3.pcap', 'UNSUPPORTED'],
  ['pcaps/packetlife/PPP_TCP_compression.cap', 'UNSUPPORTED'],
  ['pcaps/ndpi/fuzz-2006-06-26-2594.pcap', 'FUZZ'],
  ['pcaps/ndpi/fuzz-2006-09-29-28586.pcap', 'FUZZ'],
  ['pcaps/tcpdump/LINKTYPE_IPV4_invalid.pcap', 'FUZZ'],
  ['pcaps/ndpi/kerberos_fuzz.pcapng', 'FUZZ'],
  ['pcaps/ndpi/reasm_crash_anon.pcapng', 'FUZZ'], // one TCP header with data offset 0
  ['pcaps/ndpi/capwap_data.pcapng', 'UNSUPPORTED'],
  ['pcaps/packetlife/lispmn_IPv6-RLOC.pcapng.cap', 'UNSUPPORTED'], // LISP data and control encapsulation
  ['pcaps/packetlife/gmail.pcapng.cap', 'INNER_NOT_TCP_UDP'],
  ['pcaps/zeek/tunnels/gtp/pdp_ctx_messages.pcapng', 'INNER_NOT_TCP_UDP'],
  ['pcaps/debian-pcapfix/test_damaged.pcap', 'RESYNC'],
  ['pcaps/suricata-verify/bug-1450-04/tls_DER-incomplete-header.pcap', 'RESYNC'],
  ['pcaps/suricata-verify/bug-1450-05/tls_DER-incomplete-content.pcap', 'RESYNC'],
  ['pcaps/debian-gopacket/pcapgo/tests/le/test901.pcapng', 'RESYNC'],
  ['pcaps/debian-gopacket/pcapgo/tests/be/test901.pcapng', 'RESYNC'],
]);
