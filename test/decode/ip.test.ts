/** Network and transport layers (src/decode/ip.ts): IPv4, IPv6 + extension headers, TCP, UDP, SCTP, ICMP. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DecodeAnomaly, LinkType, MAX_IPV6_EXT_HEADERS, type PacketView } from '../../src/decode/index.ts';
import * as P from '../helpers/packets.ts';
import { decode, rel, v4 } from './util.ts';

const A = '10.0.0.1';
const B = '10.0.0.2';
const A6 = '2001:db8::1';
const B6 = '2001:db8::2';
const raw = LinkType.raw;

const tcpSeg = (o: Partial<P.TcpOpts> = {}) => P.tcp({ sport: 1111, dport: 2222, ...o });
const udpDgram = (o: Partial<P.UdpOpts> = {}) => P.udp({ sport: 3333, dport: 4444, ...o });

function payloadText(view: PacketView): string {
  return Buffer.from(view.buf.subarray(view.payloadOffset, view.payloadOffset + view.payloadLen)).toString('latin1');
}

test('IPv4 options are skipped by IHL', () => {
  // IHL 8: 12 option bytes (NOPs + End of Options), then TCP.
  const pkt = P.ipv4({
    src: A,
    dst: B,
    protocol: 6,
    options: P.hex('01 01 01 01 01 01 01 01 01 01 01 00'),
    payload: tcpSeg({ payload: P.bytes('x') }),
  });
  const { status, view } = decode(pkt, raw);
  assert.equal(status, 'ok');
  assert.equal(view.ipHeaderLen, 32);
  assert.equal(rel(view, view.l4Offset), 32);
  assert.equal(view.srcPort, 1111);
  assert.equal(payloadText(view), 'x');
});

test('IPv4 malformed and truncated headers', () => {
  const seg = tcpSeg();
  // IHL 4 (< 5 words).
  assert.equal(decode(P.ipv4({ src: A, dst: B, protocol: 6, ihl: 4, payload: seg }), raw).status, 'malformed_ipv4');
  // Version 5 under the IPv4 ethertype.
  const v5 = P.ethernet({
    etherType: 0x0800,
    payload: P.ipv4({ src: A, dst: B, protocol: 6, version: 5, payload: seg }),
  });
  assert.equal(decode(v5).status, 'malformed_ipv4');
  // Total length 19 (< the 20-byte header).
  assert.equal(
    decode(P.ipv4({ src: A, dst: B, protocol: 6, totalLength: 19, payload: seg }), raw).status,
    'malformed_ipv4',
  );
  // IHL 15 (60 bytes) but only 40 bytes captured and stated.
  assert.equal(decode(P.ipv4({ src: A, dst: B, protocol: 6, ihl: 15, payload: seg }), raw).status, 'malformed_ipv4');
  // IHL 15 with total length 100 but a 40-byte capture: the header itself is cut.
  const cut = P.ipv4({ src: A, dst: B, protocol: 6, ihl: 15, totalLength: 100, payload: seg });
  assert.equal(decode(cut, raw).status, 'truncated_ip');
  // Fewer than 20 bytes captured.
  assert.equal(
    decode(P.ipv4({ src: A, dst: B, protocol: 6, payload: seg }), raw, { capLen: 19 }).status,
    'truncated_ip',
  );
});

test('IPv4 total length 0 (segmentation offload): the captured bytes are the packet', () => {
  const pkt = P.ipv4({
    src: A,
    dst: B,
    protocol: 6,
    totalLength: 0,
    payload: tcpSeg({ payload: P.bytes('offloaded') }),
  });
  const { status, view } = decode(pkt, raw);
  assert.equal(status, 'ok');
  assert.equal(view.ipTotalLen, pkt.length);
  assert.equal(payloadText(view), 'offloaded');
  assert.equal(view.anomalies & DecodeAnomaly.ipLengthZero, DecodeAnomaly.ipLengthZero);
});

test('snaplen cut: truncated, decode what is there, wire lengths kept', () => {
  const frame = P.tcpFrame({ src: A, dst: B, sport: 1, dport: 2, payload: new Uint8Array(1000) });
  const { status, view } = decode(frame, 1, { capLen: 96 });
  assert.equal(status, 'ok');
  assert.equal(view.truncated, true);
  assert.equal(view.anomalies, 0);
  assert.equal(view.ipTotalLen, 1040);
  assert.equal(view.payloadLen, 96 - 54);
  assert.equal(view.payloadWireLen, 1000);
  // Cut inside the TCP header after the ports: still 'ok', ports only.
  const portsOnly = decode(frame, 1, { capLen: 14 + 20 + 6 });
  assert.equal(portsOnly.status, 'ok');
  assert.equal(portsOnly.view.truncated, true);
  assert.equal(portsOnly.view.dstPort, 2);
  assert.equal(portsOnly.view.tcpFlags, 0);
  assert.equal(portsOnly.view.payloadLen, 0);
  // Cut before the ports: counted.
  assert.equal(decode(frame, 1, { capLen: 14 + 20 + 3 }).status, 'truncated_tcp');
});

test('an IP length past the end of an uncut frame is flagged', () => {
  const pkt = P.ipv4({
    src: A,
    dst: B,
    protocol: 17,
    totalLength: 200,
    payload: udpDgram({ payload: P.bytes('abc') }),
  });
  const { status, view } = decode(pkt, raw);
  assert.equal(status, 'ok');
  assert.equal(view.truncated, true);
  assert.equal(view.anomalies & DecodeAnomaly.ipLengthExceedsFrame, DecodeAnomaly.ipLengthExceedsFrame);
});

test('IPv4 fragments: first fragment has ports, later ones do not', () => {
  const seg = tcpSeg({ payload: new Uint8Array(64) });
  const first = decode(P.ipv4({ src: A, dst: B, protocol: 6, id: 77, mf: true, payload: seg.subarray(0, 48) }), raw);
  assert.equal(first.status, 'ok');
  assert.equal(first.view.moreFragments, true);
  assert.equal(first.view.fragOffset, 0);
  assert.equal(first.view.ipId, 77);
  assert.equal(first.view.srcPort, 1111);
  const later = decode(P.ipv4({ src: A, dst: B, protocol: 6, id: 77, fragOffset: 48, payload: seg.subarray(48) }), raw);
  assert.equal(later.status, 'ok');
  assert.equal(later.view.fragOffset, 48);
  assert.equal(later.view.moreFragments, false);
  assert.equal(later.view.protocol, 6);
  assert.equal(later.view.srcPort, 0);
  assert.equal(later.view.dstPort, 0);
  assert.equal(later.view.tcpFlags, 0);
  assert.equal(later.view.payloadLen, seg.length - 48);
  assert.equal(rel(later.view, later.view.payloadOffset), 20);
  // A later fragment whose bytes happen to look like a UDP header of length 3: still no transport parse.
  const laterUdp = decode(
    P.ipv4({ src: A, dst: B, protocol: 17, fragOffset: 8, payload: P.hex('00 01 00 02 00 03 00 00') }),
    raw,
  );
  assert.equal(laterUdp.status, 'ok');
  // A first fragment too short for a TCP header (the RFC 1858 tiny-fragment attack).
  const tiny = P.ipv4({ src: A, dst: B, protocol: 6, mf: true, payload: seg.subarray(0, 8) });
  assert.equal(decode(tiny, raw).status, 'malformed_tcp');
});

test('IPv6: addresses, traffic class, hop limit, payload length clamps padding', () => {
  const pkt = P.ipv6({
    src: A6,
    dst: B6,
    nextHeader: 6,
    hopLimit: 9,
    trafficClass: 0xb8,
    payload: tcpSeg({ payload: P.bytes('v6') }),
  });
  const { status, view } = decode(P.ethernet({ etherType: 0x86dd, payload: P.concat(pkt, new Uint8Array(6)) }));
  assert.equal(status, 'ok');
  assert.deepEqual([...view.src], [0x20010db8, 0, 0, 1]);
  assert.deepEqual([...view.dst], [0x20010db8, 0, 0, 2]);
  assert.equal(view.ttl, 9);
  assert.equal(view.tos, 0xb8);
  assert.equal(view.ipHeaderLen, 40);
  assert.equal(payloadText(view), 'v6');
  assert.equal(decode(pkt, raw, { capLen: 39 }).status, 'truncated_ip');
  const bad = pkt.slice();
  bad[0] = 0x45;
  assert.equal(decode(P.ethernet({ etherType: 0x86dd, payload: bad })).status, 'malformed_ipv6');
});

test('IPv6 extension headers: hop-by-hop, routing, destination options, AH, mobility', () => {
  const pkt = P.ipv6({
    src: A6,
    dst: B6,
    nextHeader: 17,
    extHeaders: [{ type: 0 }, { type: 43, body: new Uint8Array(22) }, { type: 60 }, { type: 51 }, { type: 135 }],
    payload: udpDgram({ payload: P.bytes('after ext') }),
  });
  const { status, view } = decode(pkt, raw);
  assert.equal(status, 'ok');
  assert.equal(view.protocol, 17);
  // 8 + 24 + 8 + 12 + 8 bytes of extension headers.
  assert.equal(view.ipHeaderLen, 40 + 60);
  assert.equal(view.dstPort, 4444);
  assert.equal(payloadText(view), 'after ext');
});

test('IPv4 Authentication Header is skipped to the transport header', () => {
  // AH: next header 6, payload length 4 (24 bytes: SPI, sequence, 12-byte ICV), then TCP.
  const ah = P.concat(P.hex('06 04 00 00'), new Uint8Array(20));
  const { status, view } = decode(
    P.ipv4({ src: A, dst: B, protocol: 51, payload: P.concat(ah, tcpSeg({ payload: P.bytes('z') })) }),
    raw,
  );
  assert.equal(status, 'ok');
  assert.equal(view.protocol, 6);
  assert.equal(view.ipHeaderLen, 44);
  assert.equal(view.dstPort, 2222);
  assert.equal(payloadText(view), 'z');
  // An AH longer than the packet: protocol 51 stays, port-less.
  const long = decode(P.ipv4({ src: A, dst: B, protocol: 51, payload: P.hex('06 ff 00 00') }), raw);
  assert.equal(long.status, 'ok');
  assert.equal(long.view.protocol, 51);
});

test('IPv6 fragment header: first fragment decodes the transport, later ones do not', () => {
  const dgram = udpDgram({ payload: new Uint8Array(100) });
  const first = decode(
    P.ipv6({
      src: A6,
      dst: B6,
      nextHeader: 17,
      extHeaders: [{ type: 44, more: true, id: 0xdeadbeef }],
      payload: dgram.subarray(0, 56),
    }),
    raw,
  );
  assert.equal(first.status, 'ok');
  assert.equal(first.view.moreFragments, true);
  assert.equal(first.view.ipId, 0xdeadbeef);
  assert.equal(first.view.srcPort, 3333);
  // UDP length 108 > the 56 bytes present: expected in a first fragment, no anomaly, wire payload per UDP length.
  assert.equal(first.view.anomalies, 0);
  assert.equal(first.view.payloadWireLen, 100);
  const later = decode(
    P.ipv6({
      src: A6,
      dst: B6,
      nextHeader: 17,
      extHeaders: [{ type: 0 }, { type: 44, fragOffset: 56, id: 5 }],
      payload: dgram.subarray(56),
    }),
    raw,
  );
  assert.equal(later.status, 'ok');
  assert.equal(later.view.fragOffset, 56);
  assert.equal(later.view.protocol, 17);
  assert.equal(later.view.srcPort, 0);
  assert.equal(later.view.ipHeaderLen, 40 + 16);
  assert.equal(later.view.payloadLen, dgram.length - 56);
});

test('IPv6 ESP and no-next-header end the walk as port-less protocols', () => {
  const esp = decode(
    P.ipv6({ src: A6, dst: B6, nextHeader: 50, extHeaders: [{ type: 0 }], payload: new Uint8Array(32) }),
    raw,
  );
  assert.equal(esp.status, 'ok');
  assert.equal(esp.view.protocol, 50);
  assert.equal(esp.view.srcPort, 0);
  assert.equal(esp.view.payloadLen, 32);
  const none = decode(P.ipv6({ src: A6, dst: B6, nextHeader: 59 }), raw);
  assert.equal(none.status, 'ok');
  assert.equal(none.view.protocol, 59);
});

test('IPv6 extension headers that overrun, are cut, or chain too long', () => {
  // Hdr Ext Len 200 (1608 bytes) in a 60-byte packet: past the payload length.
  const overrun = P.ipv6({
    src: A6,
    dst: B6,
    nextHeader: 6,
    extHeaders: [{ type: 0, lenField: 200 }],
    payload: tcpSeg(),
  });
  assert.equal(decode(overrun, raw).status, 'malformed_ipv6');
  // The same header complete on the wire but cut by the capture.
  const whole = P.ipv6({
    src: A6,
    dst: B6,
    nextHeader: 6,
    extHeaders: [{ type: 60, body: new Uint8Array(62) }],
    payload: tcpSeg(),
  });
  assert.equal(decode(whole, raw, { capLen: 60, wireLen: whole.length }).status, 'truncated_ip');
  // A payload length too small to hold even the 2 fixed bytes of the header.
  assert.equal(
    decode(
      P.ipv6({ src: A6, dst: B6, nextHeader: 6, extHeaders: [{ type: 0 }], payloadLength: 1, payload: tcpSeg() }),
      raw,
    ).status,
    'malformed_ipv6',
  );
  // MAX_IPV6_EXT_HEADERS headers decode; one more is counted; a 4,000-header chain stops early.
  const chain = (n: number) =>
    P.ipv6({
      src: A6,
      dst: B6,
      nextHeader: 6,
      extHeaders: Array.from({ length: n }, () => ({ type: 60 })),
      payload: tcpSeg(),
    });
  assert.equal(decode(chain(MAX_IPV6_EXT_HEADERS), raw).status, 'ok');
  assert.equal(decode(chain(MAX_IPV6_EXT_HEADERS + 1), raw).status, 'too_many_ipv6_ext_headers');
  assert.equal(decode(chain(4000), raw).status, 'too_many_ipv6_ext_headers');
});

test('TCP: all flag bits, options, data offset checks', () => {
  const all = decode(P.ipv4({ src: A, dst: B, protocol: 6, payload: tcpSeg({ flags: 'FSRPAUEC' }) }), raw);
  assert.equal(all.view.tcpFlags, 0xff);
  // ECE + CWR + SYN (an ECN-setup SYN, RFC 3168 §6.1.1).
  assert.equal(
    decode(P.ipv4({ src: A, dst: B, protocol: 6, payload: tcpSeg({ flags: 'SEC' }) }), raw).view.tcpFlags,
    0xc2,
  );
  // 12 option bytes: MSS, SACK-permitted, NOP, window scale, NOP.
  const opts = P.hex('02 04 05 b4 04 02 01 03 03 07 01 00');
  const withOpts = decode(
    P.ipv4({ src: A, dst: B, protocol: 6, payload: tcpSeg({ options: opts, payload: P.bytes('data') }) }),
    raw,
  );
  assert.equal(withOpts.view.l4HeaderLen, 32);
  assert.equal(payloadText(withOpts.view), 'data');
  // Data offset 4 words (< 5), and 15 words (60 bytes) in a 24-byte segment.
  assert.equal(
    decode(P.ipv4({ src: A, dst: B, protocol: 6, payload: tcpSeg({ dataOffset: 4 }) }), raw).status,
    'malformed_tcp',
  );
  assert.equal(
    decode(
      P.ipv4({ src: A, dst: B, protocol: 6, payload: tcpSeg({ dataOffset: 15, payload: new Uint8Array(4) }) }),
      raw,
    ).status,
    'malformed_tcp',
  );
  // IP payload of 12 bytes: no room for a TCP header.
  assert.equal(
    decode(P.ipv4({ src: A, dst: B, protocol: 6, payload: new Uint8Array(12) }), raw).status,
    'malformed_tcp',
  );
  // Options present on the wire but cut by the capture: ok, truncated, no payload.
  const seg = P.ipv4({ src: A, dst: B, protocol: 6, payload: tcpSeg({ options: opts }) });
  const cut = decode(seg, raw, { capLen: 44, wireLen: seg.length });
  assert.equal(cut.status, 'ok');
  assert.equal(cut.view.truncated, true);
  assert.equal(cut.view.payloadLen, 0);
});

test('UDP: length clamps the payload, lies are flagged, short lengths are malformed', () => {
  // 4 trailing bytes after a datagram whose UDP length says 8 + 3.
  const trailing = P.ipv4({
    src: A,
    dst: B,
    protocol: 17,
    payload: P.concat(udpDgram({ payload: P.bytes('abc') }), P.bytes('XXXX')),
  });
  const t = decode(trailing, raw);
  assert.equal(t.status, 'ok');
  assert.equal(payloadText(t.view), 'abc');
  assert.equal(t.view.anomalies & DecodeAnomaly.udpLengthMismatch, DecodeAnomaly.udpLengthMismatch);
  // UDP length 500 in a 20-byte datagram: kept (tshark, Zeek do), payload = what the IP length allows.
  const lie = decode(
    P.ipv4({ src: A, dst: B, protocol: 17, payload: udpDgram({ length: 500, payload: P.bytes('twelve bytes') }) }),
    raw,
  );
  assert.equal(lie.status, 'ok');
  assert.equal(payloadText(lie.view), 'twelve bytes');
  assert.equal(lie.view.payloadWireLen, 12);
  assert.equal(lie.view.anomalies & DecodeAnomaly.udpLengthMismatch, DecodeAnomaly.udpLengthMismatch);
  // UDP length 5 (< 8).
  assert.equal(
    decode(P.ipv4({ src: A, dst: B, protocol: 17, payload: udpDgram({ length: 5 }) }), raw).status,
    'malformed_udp',
  );
  // IP payload of 6 bytes.
  assert.equal(
    decode(P.ipv4({ src: A, dst: B, protocol: 17, payload: new Uint8Array(6) }), raw).status,
    'malformed_udp',
  );
  // UDP length 0 (jumbogram / offload): the IP length rules.
  const zero = decode(
    P.ipv6({ src: A6, dst: B6, nextHeader: 17, payload: udpDgram({ length: 0, payload: P.bytes('jumbo') }) }),
    raw,
  );
  assert.equal(zero.status, 'ok');
  assert.equal(payloadText(zero.view), 'jumbo');
  // Capture cut before / after the ports.
  const d = P.ipv4({ src: A, dst: B, protocol: 17, payload: udpDgram({ payload: new Uint8Array(50) }) });
  assert.equal(decode(d, raw, { capLen: 22, wireLen: d.length }).status, 'truncated_udp');
  const ports = decode(d, raw, { capLen: 25, wireLen: d.length });
  assert.equal(ports.status, 'ok');
  assert.equal(ports.view.srcPort, 3333);
  assert.equal(ports.view.truncated, true);
});

test('ICMP and ICMPv6: type and code, errors are not folded into the quoted flow', () => {
  const echo = decode(P.icmpFrame({ src: A, dst: B, type: 8, code: 0, rest: 0x00010002, payload: P.bytes('ping') }));
  assert.equal(echo.status, 'ok');
  assert.equal(echo.view.protocol, 1);
  assert.equal(echo.view.icmpType, 8);
  assert.equal(echo.view.icmpCode, 0);
  assert.equal(echo.view.srcPort, 0);
  assert.equal(payloadText(echo.view), 'ping');
  // Port unreachable quoting a UDP datagram: the flow is ICMP between the ICMP endpoints, no ports.
  const quoted = P.ipv4({ src: B, dst: A, protocol: 17, payload: udpDgram() });
  const err = decode(P.icmpFrame({ src: A, dst: B, type: 3, code: 3, payload: quoted }));
  assert.equal(err.status, 'ok');
  assert.equal(err.view.icmpType, 3);
  assert.equal(err.view.icmpCode, 3);
  assert.equal(err.view.srcPort, 0);
  assert.equal(err.view.src[0], v4(A));
  assert.equal(err.view.payloadLen, quoted.length);
  const v6 = decode(P.icmpFrame({ src: A6, dst: B6, type: 128, code: 0 }));
  assert.equal(v6.view.protocol, 58);
  assert.equal(v6.view.icmpType, 128);
  // One byte of ICMP captured.
  const one = P.ipv4({ src: A, dst: B, protocol: 1, payload: P.icmp({ type: 8 }) });
  assert.equal(decode(one, raw, { capLen: 21, wireLen: one.length }).status, 'truncated_icmp');
  // Type and code captured, the rest cut: ok, truncated.
  const two = decode(one, raw, { capLen: 23, wireLen: one.length });
  assert.equal(two.status, 'ok');
  assert.equal(two.view.truncated, true);
});

test('SCTP ports; other protocols are port-less flows', () => {
  const sctp = decode(
    P.ipv4({
      src: A,
      dst: B,
      protocol: 132,
      payload: P.sctp({ sport: 2905, dport: 2906, payload: new Uint8Array(16) }),
    }),
    raw,
  );
  assert.equal(sctp.status, 'ok');
  assert.equal(sctp.view.srcPort, 2905);
  assert.equal(sctp.view.dstPort, 2906);
  assert.equal(sctp.view.payloadLen, 16);
  const s = P.ipv4({ src: A, dst: B, protocol: 132, payload: P.sctp({ sport: 1, dport: 2 }) });
  assert.equal(decode(s, raw, { capLen: 22, wireLen: s.length }).status, 'truncated_sctp');
  // OSPF (89): port-less, the IP payload is the payload.
  const ospf = decode(P.ipv4({ src: A, dst: B, protocol: 89, payload: P.bytes('hello ospf') }), raw);
  assert.equal(ospf.status, 'ok');
  assert.equal(ospf.view.protocol, 89);
  assert.equal(ospf.view.icmpType, -1);
  assert.equal(rel(ospf.view, ospf.view.l4Offset), 20);
  assert.equal(payloadText(ospf.view), 'hello ospf');
});

test('the view is fully reset between packets', () => {
  const tcpFrame = P.tcpFrame({ src: A6, dst: B6, sport: 9, dport: 10, flags: 'SA', seq: 5, vlans: [12] });
  decode(tcpFrame);
  const arp = decode(P.ethernet({ etherType: 0x0806, payload: new Uint8Array(28) }));
  assert.equal(arp.status, 'not_ip');
  for (const k of [
    'ipVersion',
    'srcPort',
    'dstPort',
    'tcpFlags',
    'tcpSeq',
    'vlanId',
    'protocol',
    'payloadLen',
  ] as const) {
    assert.equal(arp.view[k], 0, k);
  }
  assert.deepEqual([...arp.view.src], [0, 0, 0, 0]);
  assert.equal(arp.view.icmpType, -1);
});
