/** Link layer (src/decode/link.ts): every link type, the ethertype chain, and their malformed variants. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EtherType, etherTypeName, LinkType, MAX_VLAN_TAGS, Tunnel } from '../../src/decode/index.ts';
import * as P from '../helpers/packets.ts';
import { decode, rel, v4 } from './util.ts';

// A small IPv4/TCP and IPv6/UDP packet reused under every link header.
const ip4 = P.ipv4({
  src: '10.0.0.1',
  dst: '10.0.0.2',
  protocol: 6,
  payload: P.tcp({ sport: 1234, dport: 80, flags: 'S', seq: 7 }, { src: '10.0.0.1', dst: '10.0.0.2' }),
});
const ip6 = P.ipv6({
  src: 'fd00::1',
  dst: 'fd00::2',
  nextHeader: 17,
  payload: P.udp({ sport: 5353, dport: 53, payload: P.bytes('q') }, { src: 'fd00::1', dst: 'fd00::2' }),
});

function assertIp4Tcp(r: ReturnType<typeof decode>, l3: number): void {
  assert.equal(r.status, 'ok');
  assert.equal(r.view.ipVersion, 4);
  assert.equal(rel(r.view, r.view.l3Offset), l3);
  assert.equal(r.view.src[0], v4('10.0.0.1'));
  assert.equal(r.view.srcPort, 1234);
  assert.equal(r.view.dstPort, 80);
  assert.equal(r.view.protocol, 6);
}

function assertIp6Udp(r: ReturnType<typeof decode>, l3: number): void {
  assert.equal(r.status, 'ok');
  assert.equal(r.view.ipVersion, 6);
  assert.equal(rel(r.view, r.view.l3Offset), l3);
  assert.deepEqual([...r.view.dst], [0xfd000000, 0, 0, 2]);
  assert.equal(r.view.srcPort, 5353);
  assert.equal(r.view.dstPort, 53);
  assert.equal(r.view.payloadLen, 1);
}

test('Ethernet / IPv4 / TCP: every field', () => {
  const f = P.tcpFrame({
    src: '192.168.1.10',
    dst: '93.184.216.34',
    sport: 51000,
    dport: 443,
    flags: 'PA',
    seq: 0xfffffff0,
    ack: 42,
    win: 501,
    ttl: 63,
    ipId: 0xbeef,
    payload: P.bytes('hello'),
  });
  const { status, view } = decode(f);
  assert.equal(status, 'ok');
  assert.equal(view.linkType, LinkType.ethernet);
  assert.equal(view.capLen, f.length);
  assert.equal(view.tsUs, 1_700_000_000_000_000);
  assert.equal(view.ipVersion, 4);
  assert.equal(rel(view, view.l3Offset), 14);
  assert.equal(view.src[0], v4('192.168.1.10'));
  assert.equal(view.dst[0], v4('93.184.216.34'));
  assert.deepEqual([...view.src.subarray(1)], [0, 0, 0]);
  assert.equal(view.ttl, 63);
  assert.equal(view.ipId, 0xbeef);
  assert.equal(view.ipHeaderLen, 20);
  assert.equal(view.ipTotalLen, 45);
  assert.equal(rel(view, view.l4Offset), 34);
  assert.equal(view.l4HeaderLen, 20);
  assert.equal(view.tcpFlags, 0x18);
  assert.equal(view.tcpSeq, 0xfffffff0);
  assert.equal(view.tcpAck, 42);
  assert.equal(view.tcpWindow, 501);
  assert.equal(rel(view, view.payloadOffset), 54);
  assert.equal(view.payloadLen, 5);
  assert.equal(view.payloadWireLen, 5);
  assert.equal(view.vlanId, 0);
  assert.equal(view.tunnel, Tunnel.none);
  assert.equal(view.truncated, false);
  assert.equal(view.anomalies, 0);
  assert.equal(view.lastEtherType, EtherType.ipv4);
});

test('Ethernet padding after a short IP packet is not payload', () => {
  // A SYN is 54 bytes; Ethernet pads to 60 (plus 4 FCS bytes some captures keep).
  const f = P.concat(
    P.tcpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, flags: 'S' }),
    new Uint8Array(10),
  );
  const { status, view } = decode(f);
  assert.equal(status, 'ok');
  assert.equal(view.payloadLen, 0);
  assert.equal(view.payloadWireLen, 0);
  assert.equal(view.truncated, false);
});

test('VLAN: 802.1Q, 802.1ad QinQ, legacy 0x9100, priority tags; outermost non-zero id', () => {
  // Single 802.1Q tag.
  assertIp4Tcp(decode(P.ethernet({ etherType: 0x0800, vlans: [100], payload: ip4 })), 18);
  assert.equal(decode(P.ethernet({ etherType: 0x0800, vlans: [100], payload: ip4 })).view.vlanId, 100);
  // QinQ: outer 802.1ad (0x88a8) 200, inner 802.1Q 300: outermost is 200.
  const qinq = decode(P.ethernet({ etherType: 0x86dd, vlans: [200, 300], payload: ip6 }));
  assertIp6Udp(qinq, 22);
  assert.equal(qinq.view.vlanId, 200);
  // Legacy 0x9100 outer tag.
  const legacy = decode(P.ethernet({ etherType: 0x0800, vlans: [7, 8], vlanTpids: [0x9100, 0x8100], payload: ip4 }));
  assert.equal(legacy.view.vlanId, 7);
  // Priority-only tag (VID 0) outside a real tag: the VLAN is the inner one.
  assert.equal(decode(P.ethernet({ etherType: 0x0800, vlans: [0, 55], payload: ip4 })).view.vlanId, 55);
});

test('VLAN stacks are bounded: MAX_VLAN_TAGS decode, one more is counted, 10,000 stop early', () => {
  const max = Array.from({ length: MAX_VLAN_TAGS }, (_, i) => i + 1);
  const ok = decode(P.ethernet({ etherType: 0x0800, vlans: max, payload: ip4 }));
  assertIp4Tcp(ok, 14 + 4 * MAX_VLAN_TAGS);
  assert.equal(ok.view.vlanId, 1);
  assert.equal(
    decode(P.ethernet({ etherType: 0x0800, vlans: [...max, 99], payload: ip4 })).status,
    'too_many_vlan_tags',
  );
  const huge = decode(P.ethernet({ etherType: 0x0800, vlans: Array.from({ length: 10_000 }, () => 5), payload: ip4 }));
  assert.equal(huge.status, 'too_many_vlan_tags');
});

test('truncated link headers', () => {
  // 13 bytes: no ethertype yet.
  assert.equal(decode(new Uint8Array(13)).status, 'truncated_link');
  assert.equal(decode(new Uint8Array(0)).status, 'truncated_link');
  // A VLAN tag cut after 2 of its 4 bytes.
  const tagged = P.ethernet({ etherType: 0x0800, vlans: [5], payload: ip4 });
  assert.equal(decode(tagged, 1, { capLen: 16 }).status, 'truncated_link');
  // Ethernet header complete but the IP header cut: that is the IP layer's status.
  assert.equal(decode(tagged, 1, { capLen: 18 + 10 }).status, 'truncated_ip');
});

test('non-IP ethertypes and 802.3/LLC are not_ip with lastEtherType named', () => {
  const arp = decode(P.ethernet({ etherType: 0x0806, payload: new Uint8Array(28) }));
  assert.equal(arp.status, 'not_ip');
  assert.equal(etherTypeName(arp.view.lastEtherType), 'arp');
  // ARP behind a VLAN tag: the ethertype after the tag is the one reported.
  const vlanArp = decode(P.ethernet({ etherType: 0x0806, vlans: [3], payload: new Uint8Array(28) }));
  assert.equal(vlanArp.status, 'not_ip');
  assert.equal(vlanArp.view.lastEtherType, 0x0806);
  assert.equal(vlanArp.view.vlanId, 3);
  const lldp = decode(P.ethernet({ etherType: 0x88cc, payload: new Uint8Array(30) }));
  assert.equal(etherTypeName(lldp.view.lastEtherType), 'lldp');
  // 802.3 length 38 + LLC for STP (DSAP 0x42): not IP.
  const stp = decode(P.ethernet({ etherType: 38, payload: P.concat(P.hex('42 42 03'), new Uint8Array(35)) }));
  assert.equal(stp.status, 'not_ip');
  assert.equal(etherTypeName(stp.view.lastEtherType), 'llc');
  // 802.3 + SNAP (AA AA 03, OUI 0) + ethertype 0x0800: IP after all (RFC 1042).
  const snap = decode(
    P.ethernet({ etherType: ip4.length + 8, payload: P.concat(P.hex('aa aa 03 00 00 00 08 00'), ip4) }),
  );
  assertIp4Tcp(snap, 22);
  // SNAP with a vendor OUI (Cisco CDP): not IP.
  const cdp = decode(
    P.ethernet({ etherType: 40, payload: P.concat(P.hex('aa aa 03 00 00 0c 20 00'), new Uint8Array(32)) }),
  );
  assert.equal(cdp.status, 'not_ip');
});

test('vendor shims: VN-Tag, E-TAG, PBB, Cisco MetaData (SGT), FabricPath', () => {
  // VN-Tag: 4 bytes then the next ethertype.
  assertIp4Tcp(decode(P.ethernet({ etherType: 0x8926, payload: P.concat(P.hex('00 00 00 33 08 00'), ip4) })), 20);
  // E-TAG: 6 bytes then the next ethertype.
  assertIp4Tcp(decode(P.ethernet({ etherType: 0x893f, payload: P.concat(P.hex('00 00 00 00 00 01 08 00'), ip4) })), 22);
  // PBB I-TAG(4) + customer MACs(12) + ethertype.
  const pbb = P.concat(P.hex('00 00 00 01'), new Uint8Array(12), P.hex('08 00'), ip4);
  assertIp4Tcp(decode(P.ethernet({ etherType: 0x88e7, payload: pbb })), 32);
  // Cisco MetaData: version 1, length 1 (8 bytes from the 0x8909 ethertype), SGT option, then 0x0800.
  assertIp4Tcp(decode(P.ethernet({ etherType: 0x8909, payload: P.concat(P.hex('01 01 00 01 00 02 08 00'), ip4) })), 22);
  // Cisco MetaData with a length too small to hold the next ethertype.
  assert.equal(
    decode(P.ethernet({ etherType: 0x8909, payload: P.concat(P.hex('01 00 00 01'), ip4) })).status,
    'truncated_link',
  );
  // FabricPath: FTag/TTL(2) then the inner frame's MACs and ethertype (here a VLAN tag first).
  const fp = P.concat(P.hex('40 20'), P.ethernet({ etherType: 0x0800, vlans: [7], payload: ip4 }));
  const fabric = decode(P.ethernet({ etherType: 0x8903, payload: fp }));
  assertIp4Tcp(fabric, 14 + 2 + 18);
  assert.equal(fabric.view.vlanId, 7);
});

test('MPLS: label stacks, IPv4/IPv6 guess, Ethernet pseudowire, bounds', () => {
  const one = decode(P.ethernet({ etherType: 0x8847, payload: P.mpls([16], ip4) }));
  assertIp4Tcp(one, 18);
  assert.equal(one.view.mplsLabels, 1);
  const two = decode(P.ethernet({ etherType: 0x8848, payload: P.mpls([16, 17], ip6) }));
  assertIp6Udp(two, 22);
  assert.equal(two.view.mplsLabels, 2);
  // MPLS inside a VLAN.
  const vm = decode(P.ethernet({ etherType: 0x8847, vlans: [9], payload: P.mpls([100], ip4) }));
  assert.equal(vm.view.vlanId, 9);
  assert.equal(vm.view.mplsLabels, 1);
  // Ethernet pseudowire: control word 0000 0000, then a whole Ethernet frame (RFC 4448).
  const pw = P.concat(new Uint8Array(4), P.ethernet({ etherType: 0x0800, vlans: [44], payload: ip4 }));
  const pwr = decode(P.ethernet({ etherType: 0x8847, payload: P.mpls([20], pw) }));
  assertIp4Tcp(pwr, 14 + 4 + 4 + 18);
  // The customer's VLAN inside the pseudowire is not the capture point's VLAN.
  assert.equal(pwr.view.vlanId, 0);
  // First nibble 9 after the stack: no way to tell what it is.
  assert.equal(decode(P.ethernet({ etherType: 0x8847, payload: P.mpls([16], P.hex('90 00 00 00')) })).status, 'not_ip');
  // Bottom-of-stack never reached within the capture.
  assert.equal(
    decode(P.ethernet({ etherType: 0x8847, payload: P.hex('00 01 00 40 00 01 00') })).status,
    'truncated_link',
  );
  // 17 labels, then 10,000 labels: bounded at MAX_MPLS_LABELS.
  const many = (n: number) =>
    P.ethernet({
      etherType: 0x8847,
      payload: P.mpls(
        Array.from({ length: n }, () => 1),
        ip4,
      ),
    });
  assert.equal(decode(many(16)).status, 'ok');
  assert.equal(decode(many(17)).status, 'too_many_mpls_labels');
  assert.equal(decode(many(10_000)).status, 'too_many_mpls_labels');
});

test('MPLS pseudowires nesting pseudowires stay bounded', () => {
  // 50 nested Ethernet pseudowires: descent stops at the tunnel depth limit.
  let frame = P.ethernet({ etherType: 0x0800, payload: ip4 });
  for (let i = 0; i < 50; i++)
    frame = P.ethernet({ etherType: 0x8847, payload: P.mpls([i + 16], P.concat(new Uint8Array(4), frame)) });
  assert.equal(decode(frame).status, 'not_ip');
});

test('PPPoE session: IPv4, IPv6, control protocols, discovery', () => {
  assertIp4Tcp(decode(P.ethernet({ etherType: 0x8864, payload: P.pppoe(0x0021, ip4) })), 22);
  assertIp6Udp(decode(P.ethernet({ etherType: 0x8864, vlans: [1, 2], payload: P.pppoe(0x0057, ip6) })), 30);
  const lcp = decode(P.ethernet({ etherType: 0x8864, payload: P.pppoe(0xc021, new Uint8Array(10)) }));
  assert.equal(lcp.status, 'not_ip');
  assert.equal(etherTypeName(lcp.view.lastEtherType), 'ppp');
  const disc = decode(P.ethernet({ etherType: 0x8863, payload: new Uint8Array(20) }));
  assert.equal(etherTypeName(disc.view.lastEtherType), 'pppoe_discovery');
  // Version/type not 0x11.
  const bad = P.pppoe(0x0021, ip4);
  bad[0] = 0x22;
  assert.equal(decode(P.ethernet({ etherType: 0x8864, payload: bad })).status, 'not_ip');
  assert.equal(decode(P.ethernet({ etherType: 0x8864, payload: P.hex('11 00 00') })).status, 'truncated_link');
});

test('raw IP link types: 101, 12, 14, 228 (IPv4 only), 229 (IPv6 only)', () => {
  assertIp4Tcp(decode(ip4, LinkType.raw), 0);
  assertIp6Udp(decode(ip6, LinkType.raw), 0);
  assertIp4Tcp(decode(ip4, 12), 0);
  assertIp6Udp(decode(ip6, 14), 0);
  assertIp4Tcp(decode(ip4, LinkType.ipv4), 0);
  assertIp6Udp(decode(ip6, LinkType.ipv6), 0);
  // The IPv4-only link type given IPv6 bytes: a broken IPv4 header.
  assert.equal(decode(ip6, LinkType.ipv4).status, 'malformed_ipv4');
  assert.equal(decode(ip4, LinkType.ipv6).status, 'malformed_ipv6');
  // Raw with an impossible version nibble, and an empty raw frame.
  assert.equal(decode(P.hex('50 00 00 14'), LinkType.raw).status, 'not_ip');
  assert.equal(decode(new Uint8Array(0), LinkType.raw).status, 'truncated_ip');
});

test('Linux cooked captures SLL (113) and SLL2 (276)', () => {
  assertIp4Tcp(decode(P.linuxSll(0x0800, ip4), LinkType.linuxSll), 16);
  assertIp6Udp(decode(P.linuxSll(0x86dd, ip6, 4), LinkType.linuxSll), 16);
  assert.equal(decode(P.linuxSll(0x0806, new Uint8Array(28)), LinkType.linuxSll).status, 'not_ip');
  // Protocol 4 = 802.2 LLC frames (not SNAP here).
  assert.equal(decode(P.linuxSll(0x0004, P.hex('42 42 03 00')), LinkType.linuxSll).status, 'not_ip');
  assert.equal(decode(new Uint8Array(15), LinkType.linuxSll).status, 'truncated_link');
  assertIp4Tcp(decode(P.linuxSll2(0x0800, ip4), LinkType.linuxSll2), 20);
  assertIp6Udp(decode(P.linuxSll2(0x86dd, ip6), LinkType.linuxSll2), 20);
  assert.equal(decode(new Uint8Array(19), LinkType.linuxSll2).status, 'truncated_link');
});

test('BSD NULL (0) and LOOP (108): family in either byte order, IPv6 as 24, 28 or 30', () => {
  assertIp4Tcp(decode(P.nullLink(2, ip4), LinkType.null), 4);
  assertIp4Tcp(decode(P.nullLink(2, ip4, true), LinkType.null), 4);
  for (const family of [24, 28, 30]) {
    assertIp6Udp(decode(P.nullLink(family, ip6), LinkType.null), 4);
    assertIp6Udp(decode(P.nullLink(family, ip6, true), LinkType.loop), 4);
  }
  // AF 7 (OSI) and AF 23 (IPX): not IP.
  assert.equal(decode(P.nullLink(7, new Uint8Array(20)), LinkType.null).status, 'not_ip');
  assert.equal(decode(P.nullLink(23, new Uint8Array(20), true), LinkType.loop).status, 'not_ip');
  assert.equal(decode(P.hex('02 00 00'), LinkType.null).status, 'truncated_link');
});

test('PPP (9, 50), Cisco HDLC (104) and Cisco HDLC frames inside PPP captures', () => {
  assertIp4Tcp(decode(P.ppp(0x0021, ip4), LinkType.ppp), 4);
  assertIp6Udp(decode(P.ppp(0x0057, ip6), LinkType.pppHdlc), 4);
  // Without address/control, and with a 1-byte (compressed) protocol field 0x21.
  assertIp4Tcp(decode(P.ppp(0x0021, ip4, true), LinkType.ppp), 2);
  assertIp4Tcp(decode(P.concat(P.hex('21'), ip4), LinkType.ppp), 1);
  // LCP: not IP.
  assert.equal(decode(P.ppp(0xc021, new Uint8Array(8)), LinkType.ppp).status, 'not_ip');
  assert.equal(decode(P.hex('ff 03'), LinkType.ppp).status, 'truncated_link');
  assertIp4Tcp(decode(P.cHdlc(0x0800, ip4), LinkType.cHdlc), 4);
  assertIp4Tcp(decode(P.cHdlc(0x0800, ip4), LinkType.ppp), 4);
  assert.equal(decode(P.cHdlc(0x8035, new Uint8Array(20)), LinkType.cHdlc).status, 'not_ip');
  assert.equal(decode(P.hex('0f 00 08'), LinkType.cHdlc).status, 'truncated_link');
  // PPPoE without Ethernet (LINKTYPE_PPP_ETHER 51).
  assertIp4Tcp(decode(P.pppoe(0x0021, ip4), LinkType.pppoe), 8);
});

test('PPI (192) wraps another link type; NFLOG (239) carries IP in a TLV', () => {
  // PPI: version 0, flags 0, header length 8 (LE), inner DLT 1 (LE).
  const ppi = P.concat(P.hex('00 00 08 00 01 00 00 00'), P.ethernet({ etherType: 0x0800, payload: ip4 }));
  assertIp4Tcp(decode(ppi, LinkType.ppi), 22);
  // PPI inside PPI is refused; a header length past the frame is truncated.
  assert.equal(decode(P.concat(P.hex('00 00 08 00 c0 00 00 00'), ppi), LinkType.ppi).status, 'unsupported_link_type');
  assert.equal(decode(P.hex('00 00 ff 00 01 00 00 00'), LinkType.ppi).status, 'truncated_link');
  // NFLOG: family AF_INET, version 0, resource id 0; a prefix TLV (type 10, 8 bytes), then the payload TLV (type 9).
  const tlv = (type: number, value: Uint8Array) => {
    const len = 4 + value.length;
    const pad = (4 - (len % 4)) % 4;
    return P.concat(new Uint8Array([len & 0xff, len >> 8, type, 0]), value, new Uint8Array(pad));
  };
  const nflog = P.concat(P.hex('02 00 00 00'), tlv(10, P.bytes('abc')), tlv(9, ip4));
  assertIp4Tcp(decode(nflog, LinkType.nflog), 16);
  const nflog6 = P.concat(P.hex('0a 00 00 00'), tlv(9, ip6));
  assertIp6Udp(decode(nflog6, LinkType.nflog), 8);
  // No payload TLV; a TLV length below 4.
  assert.equal(decode(P.concat(P.hex('02 00 00 00'), tlv(10, P.bytes('abcd'))), LinkType.nflog).status, 'not_ip');
  assert.equal(decode(P.hex('02 00 00 00 02 00 09 00'), LinkType.nflog).status, 'truncated_link');
});

test('IEEE 802.11 (105) and radiotap (127): data frames to IP, everything else not IP', () => {
  assertIp4Tcp(decode(P.wlanData({ etherType: 0x0800, payload: ip4 }), LinkType.ieee80211), 32);
  assertIp6Udp(decode(P.radiotap(P.wlanData({ etherType: 0x86dd, payload: ip6 })), LinkType.radiotap), 8 + 32);
  // QoS data (2 more bytes), 4-address (6 more), A-MSDU first subframe (14 more).
  assertIp4Tcp(decode(P.wlanData({ etherType: 0x0800, qos: true, payload: ip4 }), LinkType.ieee80211), 34);
  assertIp4Tcp(decode(P.wlanData({ etherType: 0x0800, fourAddress: true, payload: ip4 }), LinkType.ieee80211), 38);
  assertIp4Tcp(decode(P.wlanData({ etherType: 0x0800, amsdu: true, payload: ip4 }), LinkType.ieee80211), 48);
  // Protected (encrypted) data, a later fragment, a beacon (management), EAPOL: not IP.
  assert.equal(
    decode(P.wlanData({ etherType: 0x0800, protected: true, payload: ip4 }), LinkType.ieee80211).status,
    'not_ip',
  );
  assert.equal(
    decode(P.wlanData({ etherType: 0x0800, fragment: 1, payload: ip4 }), LinkType.ieee80211).status,
    'not_ip',
  );
  const beacon = P.wlanData({ etherType: 0x0800, payload: ip4 });
  beacon[0] = 0x80;
  assert.equal(decode(beacon, LinkType.ieee80211).status, 'not_ip');
  const eapol = decode(P.wlanData({ etherType: 0x888e, payload: new Uint8Array(20) }), LinkType.ieee80211);
  assert.equal(etherTypeName(eapol.view.lastEtherType), 'eapol');
  assert.equal(decode(new Uint8Array(20), LinkType.ieee80211).status, 'truncated_link');
  assert.equal(decode(P.hex('00 00 08 00'), LinkType.radiotap).status, 'truncated_link');
});

test('other link types are unsupported', () => {
  for (const lt of [119, 147, 65000, -1]) {
    assert.equal(decode(P.ethernet({ etherType: 0x0800, payload: ip4 }), lt).status, 'unsupported_link_type');
  }
});
