/**
 * Numbers the decoder dispatches on, and their names for counters.
 *
 * Link types are the LINKTYPE_* values of pcap/pcapng files (https://www.tcpdump.org/linktypes.html); ethertypes
 * from the IEEE registry; IP protocol numbers from IANA. Names are lower-case snake case so the pipeline can build
 * counter names like `unsupported_link_type_ieee802_11_105` or `not_ip_arp`.
 */

/** Link types src/decode decodes (see decodeLink in link.ts for each header layout). */
export const LinkType = {
  null: 0,
  ethernet: 1,
  ppp: 9,
  /** DLT_RAW as written by some systems (12 on most, 14 on BSD/OS); pcap writers normally map it to 101. */
  raw12: 12,
  raw14: 14,
  pppHdlc: 50,
  pppoe: 51,
  raw: 101,
  cHdlc: 104,
  ieee80211: 105,
  loop: 108,
  linuxSll: 113,
  radiotap: 127,
  ppi: 192,
  nflog: 239,
  ipv4: 228,
  ipv6: 229,
  linuxSll2: 276,
} as const;

export const EtherType = {
  ipv4: 0x0800,
  arp: 0x0806,
  vlan: 0x8100,
  ipv6: 0x86dd,
  ppp: 0x880b,
  mplsUnicast: 0x8847,
  mplsMulticast: 0x8848,
  pppoeDiscovery: 0x8863,
  pppoeSession: 0x8864,
  qinq: 0x88a8,
  /** Pre-standard QinQ outer tags still seen on Cisco/Juniper gear. */
  qinq9100: 0x9100,
  qinq9200: 0x9200,
  /** Transparent Ethernet Bridging: a whole Ethernet frame (GRE NVGRE, Geneve). */
  teb: 0x6558,
  erspan2: 0x88be,
  erspan3: 0x22eb,
  vnTag: 0x8926,
  eTag: 0x893f,
  pbb: 0x88e7,
  ciscoMetaData: 0x8909,
  fabricPath: 0x8903,
} as const;

export const IpProto = {
  hopByHop: 0,
  icmp: 1,
  ipip: 4,
  tcp: 6,
  udp: 17,
  ipv6: 41,
  routing: 43,
  fragment: 44,
  gre: 47,
  esp: 50,
  ah: 51,
  icmpv6: 58,
  noNextHeader: 59,
  destOptions: 60,
  sctp: 132,
  mobility: 135,
  hip: 139,
  shim6: 140,
} as const;

const LINK_TYPE_NAMES = new Map<number, string>([
  [0, 'null'],
  [1, 'ethernet'],
  [3, 'ax25'],
  [6, 'ieee802_5'],
  [7, 'arcnet_bsd'],
  [8, 'slip'],
  [9, 'ppp'],
  [10, 'fddi'],
  [12, 'raw'],
  [14, 'raw'],
  [50, 'ppp_hdlc'],
  [51, 'ppp_ether'],
  [100, 'atm_rfc1483'],
  [101, 'raw'],
  [104, 'c_hdlc'],
  [105, 'ieee802_11'],
  [107, 'frelay'],
  [108, 'loop'],
  [113, 'linux_sll'],
  [114, 'ltalk'],
  [117, 'pflog'],
  [119, 'ieee802_11_prism'],
  [122, 'ip_over_fc'],
  [123, 'sunatm'],
  [127, 'ieee802_11_radiotap'],
  [129, 'arcnet_linux'],
  [137, 'juniper_atm1'],
  [138, 'juniper_atm2'],
  [140, 'mtp2'],
  [143, 'docsis'],
  [147, 'user0'],
  [148, 'user1'],
  [149, 'user2'],
  [150, 'user3'],
  [163, 'ieee802_11_avs'],
  [178, 'juniper_ether'],
  [187, 'bluetooth_hci_h4'],
  [189, 'usb_linux'],
  [192, 'ppi'],
  [195, 'ieee802_15_4'],
  [201, 'bluetooth_hci_h4_with_phdr'],
  [215, 'ieee802_15_4_nonask_phy'],
  [220, 'usb_linux_mmapped'],
  [227, 'can_socketcan'],
  [228, 'ipv4'],
  [229, 'ipv6'],
  [230, 'ieee802_15_4_nofcs'],
  [239, 'nflog'],
  [240, 'netanalyzer'],
  [249, 'usbpcap'],
  [251, 'bluetooth_le_ll'],
  [252, 'wireshark_upper_pdu'],
  [253, 'netlink'],
  [256, 'bluetooth_le_ll_with_phdr'],
  [258, 'pktap'],
  [263, 'ipmi_hpm_2'],
  [276, 'linux_sll2'],
]);

/** Name of a pcap LINKTYPE_ value ('ethernet', 'linux_sll', 'ieee802_11'...), 'unknown' when unlisted. */
export function linkTypeName(linkType: number): string {
  return LINK_TYPE_NAMES.get(linkType) ?? 'unknown';
}

const ETHER_TYPE_NAMES = new Map<number, string>([
  [0x0800, 'ipv4'],
  [0x0806, 'arp'],
  [0x0842, 'wake_on_lan'],
  [0x22eb, 'erspan3'],
  [0x22f0, 'avtp'],
  [0x22f3, 'trill'],
  [0x6002, 'dec_mop_rc'],
  [0x6003, 'decnet'],
  [0x6558, 'transparent_ethernet_bridging'],
  [0x8035, 'rarp'],
  [0x809b, 'appletalk'],
  [0x80f3, 'aarp'],
  [0x8100, 'vlan'],
  [0x8137, 'ipx'],
  [0x8204, 'qnx_qnet'],
  [0x86dd, 'ipv6'],
  [0x8808, 'ethernet_flow_control'],
  [0x8809, 'slow_protocols'],
  [0x880b, 'ppp'],
  [0x8819, 'cobranet'],
  [0x8847, 'mpls'],
  [0x8848, 'mpls_multicast'],
  [0x8863, 'pppoe_discovery'],
  [0x8864, 'pppoe_session'],
  [0x886d, 'intel_ans'],
  [0x887b, 'homeplug'],
  [0x888e, 'eapol'],
  [0x8892, 'profinet'],
  [0x889a, 'hyperscsi'],
  [0x88a2, 'ata_over_ethernet'],
  [0x88a4, 'ethercat'],
  [0x88a8, 'qinq'],
  [0x88ab, 'powerlink'],
  [0x88b8, 'goose'],
  [0x88b9, 'gse'],
  [0x88ba, 'sampled_values'],
  [0x88be, 'erspan2'],
  [0x88cc, 'lldp'],
  [0x88cd, 'sercos3'],
  [0x88e1, 'homeplug_av'],
  [0x88e3, 'mrp'],
  [0x88e5, 'macsec'],
  [0x88e7, 'pbb'],
  [0x88f7, 'ptp'],
  [0x88f8, 'nc_si'],
  [0x88fb, 'prp'],
  [0x8902, 'cfm'],
  [0x8903, 'fabricpath'],
  [0x8909, 'cisco_metadata'],
  [0x8926, 'vn_tag'],
  [0x893f, 'e_tag'],
  [0x8906, 'fcoe'],
  [0x8914, 'fcoe_init'],
  [0x8915, 'roce'],
  [0x891d, 'tte'],
  [0x892f, 'hsr'],
  [0x893a, 'ieee1905'],
  [0x894f, 'nsh'],
  [0x9000, 'loopback'],
  [0x9100, 'qinq'],
  [0x9200, 'qinq'],
]);

/**
 * Name of view.lastEtherType for 'not_ip' counters: a registry name ('arp', 'lldp'), 'llc' for 802.3 lengths
 * (<= 1500), 'none' for 0 (link types without an ethertype), else `ethertype_0x88b5`.
 */
export function etherTypeName(etherType: number): string {
  const known = ETHER_TYPE_NAMES.get(etherType);
  if (known !== undefined) return known;
  if (etherType === 0) return 'none';
  if (etherType <= 1500) return 'llc';
  return `ethertype_0x${(etherType & 0xffff).toString(16).padStart(4, '0')}`;
}
