/** The frame builders (test/helpers/packets.ts) produce what they claim: addresses, lengths, checksums. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as P from './packets.ts';

test('address parsing', () => {
  assert.deepEqual([...P.ipv4Addr('192.0.2.1')], [192, 0, 2, 1]);
  assert.equal(Buffer.from(P.ipv6Addr('2001:db8::1')).toString('hex'), '20010db8000000000000000000000001');
  assert.equal(Buffer.from(P.ipv6Addr('::')).toString('hex'), '0'.repeat(32));
  assert.equal(Buffer.from(P.ipv6Addr('::ffff:10.0.0.1')).toString('hex'), '00000000000000000000ffff0a000001');
  assert.equal(Buffer.from(P.ipv6Addr('fe80:1:2:3:4:5:6:7')).toString('hex'), 'fe800001000200030004000500060007');
  assert.throws(() => P.ipv6Addr('1::2::3'));
  assert.throws(() => P.ipv4Addr('1.2.3.400'));
  assert.deepEqual([...P.mac('00:11:22:aa:bb:cc')], [0, 0x11, 0x22, 0xaa, 0xbb, 0xcc]);
});

test('tcpFlags letters', () => {
  assert.equal(P.tcpFlags('S'), 0x02);
  assert.equal(P.tcpFlags('SA'), 0x12);
  assert.equal(P.tcpFlags('FPAU'), 0x39);
  assert.equal(P.tcpFlags(0x80), 0x80);
  assert.throws(() => P.tcpFlags('Z'));
});

test('IPv4 header and TCP/UDP checksums verify (a checksum over data + checksum is 0)', () => {
  const f = P.tcpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, payload: P.bytes('odd') });
  const ip = f.subarray(14);
  assert.equal(P.inetChecksum(ip.subarray(0, 20)), 0);
  const seg = ip.subarray(20);
  const pseudo = P.concat(ip.subarray(12, 20), new Uint8Array([0, 6, 0, seg.length]));
  assert.equal(P.inetChecksum(pseudo, seg), 0);
  const u = P.udpFrame({ src: 'fd00::1', dst: 'fd00::2', sport: 1, dport: 2, payload: P.bytes('xyz') }).subarray(14);
  const dgram = u.subarray(40);
  const pseudo6 = P.concat(u.subarray(8, 40), new Uint8Array([0, 0, 0, dgram.length, 0, 0, 0, 17]));
  assert.equal(P.inetChecksum(pseudo6, dgram), 0);
});

test('layer lengths: VLAN tags, IPv4 options, IPv6 extension headers, GTP-U extensions', () => {
  assert.equal(P.ethernet({ etherType: 0x0800, vlans: [1, 2] }).length, 14 + 8);
  const ip = P.ipv4({ src: '1.1.1.1', dst: '2.2.2.2', protocol: 6, options: P.hex('01') });
  assert.equal(ip.length, 24);
  assert.equal(ip[0], 0x46);
  const v6 = P.ipv6({
    src: '::1',
    dst: '::2',
    nextHeader: 6,
    extHeaders: [{ type: 0 }, { type: 44, fragOffset: 8, more: true, id: 1 }],
  });
  assert.equal(v6.length, 40 + 8 + 8);
  assert.equal(v6[6], 0);
  assert.equal(v6[40], 44);
  assert.equal(v6[48], 6);
  const g = P.gtpu(1, new Uint8Array(4), { extHeaders: [{ type: 0x85, content: P.hex('00 01') }] });
  // 8 mandatory + 4 optional + 4 extension + 4 payload; the length field counts everything after the first 8.
  assert.equal(g.length, 20);
  assert.equal((g[2]! << 8) | g[3]!, 12);
});
