/** Tunnels (src/decode/tunnel.ts): innermost flow, outermost kind, carrier fallback, nesting bounds. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DecodeAnomaly, LinkType, MAX_TUNNEL_DEPTH, Tunnel } from '../../src/decode/index.ts';
import * as P from '../helpers/packets.ts';
import { decode, rel, v4 } from './util.ts';

const OUT_A = '198.51.100.1';
const OUT_B = '198.51.100.2';
const IN_A = '10.1.1.1';
const IN_B = '10.2.2.2';

/** The innermost packet: IPv4 / TCP 40000 → 443 with a 3-byte payload. */
const innerIp = P.ipv4({
  src: IN_A,
  dst: IN_B,
  protocol: 6,
  payload: P.tcp({ sport: 40000, dport: 443, flags: 'PA', payload: P.bytes('abc') }),
});
const innerEth = (vlans?: number[]) => P.ethernet({ etherType: 0x0800, vlans, payload: innerIp });
const innerIp6 = P.ipv6({
  src: 'fd00::a',
  dst: 'fd00::b',
  nextHeader: 17,
  payload: P.udp({ sport: 5000, dport: 53, payload: P.bytes('dns') }),
});
const arpFrame = P.ethernet({ etherType: 0x0806, payload: new Uint8Array(28) });

/** Outer Ethernet / IPv4 carrier of `protocol`. */
function outer(protocol: number, payload: Uint8Array, vlans?: number[]): Uint8Array {
  return P.ethernet({ etherType: 0x0800, vlans, payload: P.ipv4({ src: OUT_A, dst: OUT_B, protocol, payload }) });
}

/** Outer Ethernet / IPv4 / UDP carrier. */
function outerUdp(sport: number, dport: number, payload: Uint8Array): Uint8Array {
  return P.udpFrame({ src: OUT_A, dst: OUT_B, sport, dport, payload });
}

function assertInner(r: ReturnType<typeof decode>, tunnel: number, depth = 1): void {
  assert.equal(r.status, 'ok');
  assert.equal(r.view.ipVersion, 4);
  assert.equal(r.view.src[0], v4(IN_A));
  assert.equal(r.view.dst[0], v4(IN_B));
  assert.equal(r.view.srcPort, 40000);
  assert.equal(r.view.dstPort, 443);
  assert.equal(r.view.payloadLen, 3);
  assert.equal(r.view.tunnel, tunnel);
  assert.equal(r.view.tunnelDepth, depth);
}

function assertCarrier(r: ReturnType<typeof decode>, protocol: number, anomaly: number): void {
  assert.equal(r.status, 'ok');
  assert.equal(r.view.src[0], v4(OUT_A));
  assert.equal(r.view.protocol, protocol);
  assert.equal(r.view.tunnel, Tunnel.none);
  assert.equal(r.view.tunnelDepth, 0);
  assert.equal(r.view.anomalies & DecodeAnomaly.tunnelPayloadUndecoded, anomaly);
}

test('GRE: plain, with checksum/key/sequence, inner IPv6, inner MPLS', () => {
  assertInner(decode(outer(47, P.gre({ protocol: 0x0800, payload: innerIp }))), Tunnel.gre);
  const full = decode(outer(47, P.gre({ protocol: 0x0800, checksum: true, key: 9, seq: 3, payload: innerIp })));
  assertInner(full, Tunnel.gre);
  // l3Offset points at the inner IP header: 14 + 20 + 16 bytes of GRE.
  assert.equal(rel(full.view, full.view.l3Offset), 50);
  const v6 = decode(outer(47, P.gre({ protocol: 0x86dd, key: 1, payload: innerIp6 })));
  assert.equal(v6.status, 'ok');
  assert.equal(v6.view.ipVersion, 6);
  assert.equal(v6.view.dstPort, 53);
  assert.equal(v6.view.tunnel, Tunnel.gre);
  // MPLS over GRE: labels inside a tunnel are not the capture point's.
  const mpls = decode(outer(47, P.gre({ protocol: 0x8847, payload: P.mpls([30], innerIp) })));
  assertInner(mpls, Tunnel.gre);
  assert.equal(mpls.view.mplsLabels, 0);
});

test('GRE transparent Ethernet bridging: inner VLANs are not the outer VLAN', () => {
  const bridged = decode(outer(47, P.gre({ protocol: 0x6558, key: 7, payload: innerEth([20]) }), [10]));
  assertInner(bridged, Tunnel.gre);
  assert.equal(bridged.view.vlanId, 10);
  assert.equal(decode(outer(47, P.gre({ protocol: 0x6558, payload: innerEth([20]) }))).view.vlanId, 0);
});

test('GRE routing (RFC 1701 source routes) and bounds', () => {
  // R bit: checksum+offset word, one SRE (family 0x0800, offset 0, length 4, one address), then the null SRE.
  const sre = P.concat(
    P.hex('c0 00 08 00'),
    P.hex('00 00 00 00'),
    P.hex('08 00 00 04'),
    P.hex('0a 00 00 01'),
    P.hex('00 00 00 00'),
    innerIp,
  );
  assertInner(decode(outer(47, sre)), Tunnel.gre);
  // 20 non-null SREs: more than the bound; the packet stays a GRE flow.
  const many = P.concat(
    P.hex('40 00 08 00 00 00 00 00'),
    ...Array.from({ length: 20 }, () => P.hex('08 00 00 00')),
    innerIp,
  );
  const r = decode(outer(47, many));
  assert.equal(r.status, 'ok');
  assert.equal(r.view.protocol, 47);
  assert.equal(r.view.tunnel, Tunnel.none);
});

test('GRE version 1 (PPTP): PPP inside, acknowledgement-only packets', () => {
  const ppp = P.concat(P.hex('ff 03 00 21'), innerIp);
  assertInner(
    decode(outer(47, P.gre({ version: 1, protocol: 0x880b, callId: 5, seq: 1, ack: 2, payload: ppp }))),
    Tunnel.gre,
  );
  // Protocol-field-compressed PPP without address/control.
  assertInner(
    decode(outer(47, P.gre({ version: 1, protocol: 0x880b, seq: 1, payload: P.concat(P.hex('21'), innerIp) }))),
    Tunnel.gre,
  );
  // An acknowledgement with no payload: the GRE flow itself, no anomaly.
  assertCarrier(decode(outer(47, P.gre({ version: 1, protocol: 0x880b, ack: 9 }))), 47, 0);
  // PPP LCP inside: not IP, so the carrier's flow, flagged.
  assertCarrier(
    decode(outer(47, P.gre({ version: 1, protocol: 0x880b, seq: 1, payload: P.hex('ff 03 c0 21 01 01 00 04') }))),
    47,
    DecodeAnomaly.tunnelPayloadUndecoded,
  );
  // Version 2 does not exist: GRE flow.
  assertCarrier(decode(outer(47, P.concat(P.hex('00 02 08 00'), innerIp))), 47, 0);
});

test('ERSPAN types I, II and III', () => {
  assertInner(decode(outer(47, P.gre({ protocol: 0x88be, payload: innerEth() }))), Tunnel.erspan);
  const typeII = P.concat(P.hex('10 64 00 01 00 00 00 00'), innerEth());
  assertInner(decode(outer(47, P.gre({ protocol: 0x88be, seq: 4, payload: typeII }))), Tunnel.erspan);
  const typeIII = P.concat(P.hex('20 64 00 01 00 00 00 00 00 00 00 00'), innerEth());
  assertInner(decode(outer(47, P.gre({ protocol: 0x22eb, seq: 4, payload: typeIII }))), Tunnel.erspan);
  // Type III with the O bit: an 8-byte platform-specific subheader follows.
  const typeIIIo = P.concat(P.hex('20 64 00 01 00 00 00 00 00 00 00 01'), new Uint8Array(8), innerEth());
  assertInner(decode(outer(47, P.gre({ protocol: 0x22eb, seq: 4, payload: typeIIIo }))), Tunnel.erspan);
});

test('IP-in-IP: 4 and 41 under either outer version', () => {
  assertInner(decode(outer(4, innerIp)), Tunnel.ipip);
  const sixInFour = decode(outer(41, innerIp6));
  assert.equal(sixInFour.view.ipVersion, 6);
  assert.equal(sixInFour.view.tunnel, Tunnel.ipip);
  const fourInSix = P.ethernet({
    etherType: 0x86dd,
    payload: P.ipv6({ src: 'fd00::1', dst: 'fd00::2', nextHeader: 4, payload: innerIp }),
  });
  assertInner(decode(fourInSix), Tunnel.ipip);
  // Protocol 4 carrying garbage: the carrier's flow.
  assertCarrier(
    decode(outer(4, P.hex('ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff'))),
    4,
    DecodeAnomaly.tunnelPayloadUndecoded,
  );
});

test('VXLAN: inner Ethernet, either port, non-IP inner frames stay the UDP flow', () => {
  const r = decode(outerUdp(50000, 4789, P.vxlan(42, innerEth([30]))));
  assertInner(r, Tunnel.vxlan);
  assert.equal(r.view.vlanId, 0);
  assertInner(decode(outerUdp(4789, 50000, P.vxlan(42, innerEth()))), Tunnel.vxlan);
  // ARP inside: the outer UDP flow, ports intact.
  const arp = decode(outerUdp(50000, 4789, P.vxlan(42, arpFrame)));
  assertCarrier(arp, 17, DecodeAnomaly.tunnelPayloadUndecoded);
  assert.equal(arp.view.srcPort, 50000);
  assert.equal(arp.view.dstPort, 4789);
  assert.equal(arp.view.payloadLen, 8 + arpFrame.length);
  // Too short for a VXLAN header and an Ethernet header: just UDP, no anomaly.
  assertCarrier(decode(outerUdp(50000, 4789, new Uint8Array(10))), 17, 0);
});

test('Geneve: options skipped, Ethernet or direct IP payload', () => {
  const opts = new Uint8Array(12);
  assertInner(decode(outerUdp(40001, 6081, P.geneve(7, 0x6558, innerEth(), opts))), Tunnel.geneve);
  assertInner(decode(outerUdp(40001, 6081, P.geneve(7, 0x0800, innerIp))), Tunnel.geneve);
  // Version 1: not Geneve as we know it.
  const v1 = P.geneve(7, 0x0800, innerIp);
  v1[0] = 0x40;
  assertCarrier(decode(outerUdp(40001, 6081, v1)), 17, 0);
});

test('GTP-U: G-PDU plain, with sequence, with extension headers; other messages stay UDP', () => {
  assertInner(decode(outerUdp(2152, 2152, P.gtpu(0x1234, innerIp))), Tunnel.gtpu);
  assertInner(decode(outerUdp(2152, 2152, P.gtpu(0x1234, innerIp, { seq: 9 }))), Tunnel.gtpu);
  const ext = P.gtpu(1, innerIp, {
    extHeaders: [
      { type: 0x85, content: P.hex('00 09') },
      { type: 0xc0, content: P.hex('01 02 03 04 05 06') },
    ],
  });
  assertInner(decode(outerUdp(2152, 2152, ext)), Tunnel.gtpu);
  assert.equal(decode(outerUdp(2152, 2152, P.gtpu(1, innerIp6))).view.tunnel, Tunnel.gtpu);
  // Echo request (type 1): a GTP-U message without user data.
  const echo = P.gtpu(0, new Uint8Array(4));
  echo[1] = 1;
  assertCarrier(decode(outerUdp(2152, 2152, echo)), 17, 0);
  // Extension header with length 0 (would never advance): refused.
  const zero = P.gtpu(1, innerIp, { extHeaders: [{ type: 0x85, content: P.hex('00 09') }] });
  zero[12] = 0;
  assertCarrier(decode(outerUdp(2152, 2152, zero)), 17, 0);
  // GTP-U carrying something that is not IP (first nibble 0): the UDP flow, flagged.
  assertCarrier(decode(outerUdp(2152, 2152, P.gtpu(1, new Uint8Array(40)))), 17, DecodeAnomaly.tunnelPayloadUndecoded);
});

test('GTP-U in the first fragment of its carrier: the inner flow, marked truncated', () => {
  const gtp = P.udp({ sport: 2152, dport: 2152, payload: P.gtpu(1, innerIp) });
  const first = P.ethernet({
    etherType: 0x0800,
    payload: P.ipv4({ src: OUT_A, dst: OUT_B, protocol: 17, mf: true, payload: gtp.subarray(0, 8 + 8 + 40) }),
  });
  const r = decode(first);
  assert.equal(r.status, 'ok');
  assert.equal(r.view.tunnel, Tunnel.gtpu);
  assert.equal(r.view.srcPort, 40000);
  assert.equal(r.view.truncated, true);
  assert.equal(r.view.anomalies & DecodeAnomaly.tunnelInFirstFragment, DecodeAnomaly.tunnelInFirstFragment);
  // The same datagram unfragmented: no such flag.
  assert.equal(decode(outerUdp(2152, 2152, P.gtpu(1, innerIp))).view.anomalies, 0);
});

test('Teredo: bare IPv6, with origin indication; non-IPv6 stays UDP', () => {
  const r = decode(outerUdp(3544, 61000, P.teredo(innerIp6)));
  assert.equal(r.status, 'ok');
  assert.equal(r.view.ipVersion, 6);
  assert.equal(r.view.dstPort, 53);
  assert.equal(r.view.tunnel, Tunnel.teredo);
  const origin = decode(outerUdp(3544, 61000, P.teredo(innerIp6, { port: 40000, addr: '192.0.2.9' })));
  assert.equal(origin.view.tunnel, Tunnel.teredo);
  assert.equal(origin.view.srcPort, 5000);
  assertCarrier(decode(outerUdp(3544, 61000, P.bytes('X: not an IPv6 packet at all, just some bytes....'))), 17, 0);
});

test('L2TPv2 data messages carry PPP; control messages stay UDP', () => {
  // Flags: L (length) + S (Ns/Nr), version 2; length, tunnel id, session id, Ns, Nr, then PPP.
  const l2tp = P.concat(P.hex('48 02 00 00 00 01 00 02 00 00 00 00'), P.hex('ff 03 00 21'), innerIp);
  assertInner(decode(outerUdp(1701, 1701, l2tp)), Tunnel.l2tp);
  // Offset field: size 4, then 4 padding bytes.
  const withOffset = P.concat(P.hex('02 02 00 01 00 02 00 04 00 00 00 00'), P.hex('ff 03 00 21'), innerIp);
  assertInner(decode(outerUdp(1701, 1701, withOffset)), Tunnel.l2tp);
  const control = P.concat(P.hex('c8 02 00 0c 00 01 00 00 00 00 00 00'));
  assertCarrier(decode(outerUdp(1701, 1701, control)), 17, 0);
});

test('802.11 tunnels: Aruba GRE (0x8200-0x8299) and CAPWAP data (5247)', () => {
  const wlan = P.wlanData({ etherType: 0x0800, qos: true, payload: innerIp });
  assertInner(decode(outer(47, P.gre({ protocol: 0x8200, payload: wlan }))), Tunnel.gre);
  assertInner(
    decode(
      outer(47, P.gre({ protocol: 0x8240, payload: P.wlanData({ etherType: 0x0800, amsdu: true, payload: innerIp }) })),
    ),
    Tunnel.gre,
  );
  // CAPWAP: preamble 0, HLEN 2 words, WBID 1, T 1 (native 802.11).
  assertInner(decode(outerUdp(12345, 5247, P.concat(P.hex('00 10 03 00 00 00 00 00'), wlan))), Tunnel.capwap);
  // T 0: an 802.3 frame.
  assertInner(decode(outerUdp(12345, 5247, P.concat(P.hex('00 10 02 00 00 00 00 00'), innerEth()))), Tunnel.capwap);
  // DTLS preamble (type 1), and a fragment (F bit): stay UDP flows.
  assertCarrier(decode(outerUdp(12345, 5247, P.concat(P.hex('01 10 03 00 00 00 00 00'), wlan))), 17, 0);
  assertCarrier(decode(outerUdp(12345, 5247, P.concat(P.hex('00 10 03 80 00 00 00 00'), wlan))), 17, 0);
  // An 802.11 management frame inside: the carrier, flagged.
  const mgmt = wlan.slice();
  mgmt[0] = 0x40;
  assertCarrier(
    decode(outerUdp(12345, 5247, P.concat(P.hex('00 10 03 00 00 00 00 00'), mgmt))),
    17,
    DecodeAnomaly.tunnelPayloadUndecoded,
  );
});

test('GRE-in-UDP (4754)', () => {
  assertInner(decode(outerUdp(50000, 4754, P.gre({ protocol: 0x0800, payload: innerIp }))), Tunnel.gre);
});

test('nesting: the outermost kind wins, depth counts every layer, descent is bounded', () => {
  // GRE carrying VXLAN carrying IP-in-IP.
  const vx = P.udpFrame({
    src: '172.16.0.1',
    dst: '172.16.0.2',
    sport: 1,
    dport: 4789,
    payload: P.vxlan(
      1,
      P.ethernet({
        etherType: 0x0800,
        payload: P.ipv4({ src: '172.17.0.1', dst: '172.17.0.2', protocol: 4, payload: innerIp }),
      }),
    ),
  });
  const r = decode(outer(47, P.gre({ protocol: 0x6558, payload: vx })));
  assertInner(r, Tunnel.gre, 3);
  // IP-in-IP nested `n` times.
  const nest = (n: number) => {
    let pkt = innerIp;
    for (let i = 0; i < n; i++)
      pkt = P.ipv4({ src: `192.0.2.${(i % 250) + 1}`, dst: '192.0.2.200', protocol: 4, payload: pkt });
    return pkt;
  };
  assertInner(decode(nest(MAX_TUNNEL_DEPTH), LinkType.raw), Tunnel.ipip, MAX_TUNNEL_DEPTH);
  // One more than allowed: decoding stops at the deepest carrier reached, flagged.
  const deep = decode(nest(MAX_TUNNEL_DEPTH + 1), LinkType.raw);
  assert.equal(deep.status, 'ok');
  assert.equal(deep.view.protocol, 4);
  assert.equal(deep.view.src[0], v4('192.0.2.1'));
  assert.equal(deep.view.tunnelDepth, MAX_TUNNEL_DEPTH);
  assert.equal(deep.view.tunnel, Tunnel.ipip);
  assert.equal(deep.view.anomalies & DecodeAnomaly.tunnelDepthLimit, DecodeAnomaly.tunnelDepthLimit);
  // 300 levels: same answer, bounded work.
  assert.equal(decode(nest(300), LinkType.raw).view.tunnelDepth, MAX_TUNNEL_DEPTH);
});

test('a failed inner decode restores the carrier completely', () => {
  // VXLAN whose inner IPv4/TCP has a bad data offset: the UDP carrier, with its own fields, none of the inner's.
  const badInner = P.ethernet({
    etherType: 0x0800,
    payload: P.ipv4({
      src: IN_A,
      dst: IN_B,
      protocol: 6,
      payload: P.tcp({ sport: 1, dport: 2, dataOffset: 2, flags: 'S' }),
    }),
  });
  const r = decode(outerUdp(50000, 4789, P.vxlan(1, badInner)));
  assertCarrier(r, 17, DecodeAnomaly.tunnelPayloadUndecoded);
  assert.equal(r.view.tcpFlags, 0);
  assert.equal(r.view.dst[0], v4(OUT_B));
  assert.equal(rel(r.view, r.view.l3Offset), 14);
  assert.equal(rel(r.view, r.view.payloadOffset), 42);
  assert.equal(r.view.truncated, false);
  // Two levels: GRE → VXLAN → ARP. The VXLAN carrier (inside GRE) is the flow; GRE is the tunnel.
  const two = decode(
    outer(
      47,
      P.gre({
        protocol: 0x0800,
        payload: P.ipv4({
          src: IN_A,
          dst: IN_B,
          protocol: 17,
          payload: P.udp({ sport: 7, dport: 4789, payload: P.vxlan(1, arpFrame) }),
        }),
      }),
    ),
  );
  assert.equal(two.status, 'ok');
  assert.equal(two.view.src[0], v4(IN_A));
  assert.equal(two.view.dstPort, 4789);
  assert.equal(two.view.tunnel, Tunnel.gre);
  assert.equal(two.view.tunnelDepth, 1);
});
