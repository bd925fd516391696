import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  initialKeys,
  looksLikeQuicInitial,
  parseLongHeader,
  QUIC_MAX_CRYPTO_BYTES,
  QUIC_V2,
  QuicInitialSession,
  quicVersionParams,
} from '../../src/proto/quic.ts';
import {
  buildInitial,
  clientHelloBody,
  concat,
  cryptoFrame,
  ext,
  extAlpn,
  extSni,
  extVersions,
  handshake,
} from '../helpers/tls-builder.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const DCID = Uint8Array.from(Buffer.from('8394c8f03e515708', 'hex'));
const HELLO = handshake(
  1,
  clientHelloBody({
    ciphers: [0x1301, 0x1302, 0x1303],
    extensions: [
      extSni('quic.example'),
      extAlpn(['h3']),
      extVersions([0x0304]),
      ext(57, [0x01, 0x01, 0x05, 0x02, 0x00]),
    ],
  }),
);

describe('QUIC Initial keys', () => {
  it('match RFC 9001 Appendix A.1 (v1, DCID 0x8394c8f03e515708)', () => {
    const c = initialKeys(1, DCID, 'client')!;
    assert.equal(hex(c.key), '1f369613dd76d5467730efcbe3b1a22d');
    assert.equal(hex(c.iv), 'fa044b2f42a3fd3b46fb255c');
    assert.equal(hex(c.hp), '9f50449e04a0e810283a1e9933adedd2');
    const s = initialKeys(1, DCID, 'server')!;
    assert.equal(hex(s.key), 'cf3a5331653c364c88f0f379b6067e37');
    assert.equal(hex(s.iv), '0ac1493ca1905853b0bba03e');
    assert.equal(hex(s.hp), 'c206b8d9b9f0f37644430b490eeaa314');
  });

  it('match RFC 9369 Appendix A.1 (v2, same DCID)', () => {
    const c = initialKeys(QUIC_V2, DCID, 'client')!;
    assert.equal(hex(c.key), '8b1a0bc121284290a29e0971b5cd045d');
    assert.equal(hex(c.iv), '91f73e2351d8fa91660e909f');
    assert.equal(hex(c.hp), '45b95e15235d6f45a6b19cbcb0294ba9');
  });

  it('know which versions they can decrypt', () => {
    assert.ok(quicVersionParams(1));
    assert.ok(quicVersionParams(QUIC_V2));
    assert.ok(quicVersionParams(0xff00001d)); // draft-29
    assert.ok(quicVersionParams(0x0a1a2a3a)); // reserved (version negotiation)
    assert.equal(quicVersionParams(0x51303433), undefined); // gQUIC Q043: no TLS
  });
});

describe('QuicInitialSession', () => {
  for (const [label, version] of [
    ['v1', 1],
    ['v2', QUIC_V2],
    ['draft-29', 0xff00001d],
  ] as const) {
    it(`decrypts a ${label} Initial and parses its ClientHello`, () => {
      const pkt = buildInitial({ version, dcid: DCID, frames: cryptoFrame(0, HELLO), padTo: 1162 });
      assert.equal(looksLikeQuicInitial(pkt, 0, pkt.length), true);
      const s = new QuicInitialSession();
      s.clientDatagram(pkt, 0, pkt.length);
      assert.equal(s.anomaly, '');
      assert.equal(s.clientHello?.sni, 'quic.example');
      assert.deepEqual(s.clientHello?.alpn, ['h3']);
      assert.deepEqual(s.clientHello?.quicTransportParameters, [1, 2]);
      assert.equal(s.dcidHex, '8394c8f03e515708');
      assert.equal(s.done, true);
    });
  }

  it('reassembles CRYPTO frames out of order, across packets and coalesced packets', () => {
    const a = HELLO.subarray(0, 40);
    const b = HELLO.subarray(40, 90);
    const c = HELLO.subarray(90);
    // Packet 1: the middle then PING/PADDING then the end; packet 2 (coalesced after an ACK-only one): the start.
    const p1 = buildInitial({
      dcid: DCID,
      packetNumber: 0,
      frames: concat(cryptoFrame(40, b), [0x01, 0x00], cryptoFrame(90, c)),
    });
    const ack = buildInitial({
      dcid: DCID,
      packetNumber: 1,
      frames: Uint8Array.from([0x02, 0x00, 0x00, 0x00, 0x00, 0x01]),
    });
    const p2 = buildInitial({ dcid: DCID, packetNumber: 2, frames: cryptoFrame(0, a) });
    const s = new QuicInitialSession();
    s.clientDatagram(p1, 0, p1.length);
    assert.equal(s.clientHello as unknown, null);
    const datagram = concat(ack, p2);
    s.clientDatagram(datagram, 0, datagram.length);
    assert.equal(s.clientHello?.sni, 'quic.example');
    assert.equal(s.initialPackets, 3);
  });

  it('keeps the original DCID keys after the client switches connection ID', () => {
    const p1 = buildInitial({ dcid: DCID, packetNumber: 0, frames: cryptoFrame(0, HELLO.subarray(0, 50)) });
    // RFC 9000 §7.2: later client Initials carry the server's CID but keep the original Initial keys.
    const serverCid = Uint8Array.from([9, 9, 9, 9]);
    const p2raw = buildInitial({
      dcid: serverCid,
      keyDcid: DCID,
      packetNumber: 1,
      frames: cryptoFrame(50, HELLO.subarray(50)),
    });
    const s = new QuicInitialSession();
    s.clientDatagram(p1, 0, p1.length);
    s.clientDatagram(p2raw, 0, p2raw.length);
    assert.equal(s.clientHello?.sni, 'quic.example');
  });

  it('reports a packet whose tag does not authenticate', () => {
    const pkt = buildInitial({ dcid: DCID, frames: cryptoFrame(0, HELLO), padTo: 600 });
    pkt[pkt.length - 20] = pkt[pkt.length - 20]! ^ 0xff;
    const s = new QuicInitialSession();
    s.clientDatagram(pkt, 0, pkt.length);
    assert.equal(s.clientHello, null);
    assert.equal(s.anomaly, 'quic_decrypt_failed');
    assert.equal(s.decryptFailures, 1);
  });

  it('bounds the CRYPTO stream: data past QUIC_MAX_CRYPTO_BYTES is an anomaly, not an allocation', () => {
    const pkt = buildInitial({ dcid: DCID, frames: cryptoFrame(QUIC_MAX_CRYPTO_BYTES + 10, new Uint8Array(8)) });
    const s = new QuicInitialSession();
    s.clientDatagram(pkt, 0, pkt.length);
    assert.equal(s.anomaly, 'quic_crypto_too_long');
  });

  it('stops at an unknown frame type inside an Initial', () => {
    const pkt = buildInitial({ dcid: DCID, frames: Uint8Array.from([0x1e, 0x00]) });
    const s = new QuicInitialSession();
    s.clientDatagram(pkt, 0, pkt.length);
    assert.equal(s.anomaly, 'quic_bad_frame');
  });

  it('rejects a first handshake message that is not a ClientHello', () => {
    const pkt = buildInitial({ dcid: DCID, frames: cryptoFrame(0, handshake(2, new Uint8Array(10))) });
    const s = new QuicInitialSession();
    s.clientDatagram(pkt, 0, pkt.length);
    assert.equal(s.anomaly, 'quic_bad_client_hello');
    assert.equal(s.done, true);
  });

  it('reads long headers and flags bad lengths', () => {
    const pkt = buildInitial({ dcid: DCID, frames: cryptoFrame(0, HELLO) });
    const h = parseLongHeader(pkt, 0, pkt.length);
    assert.equal(h.ok, true);
    assert.equal(h.end, pkt.length);
    assert.equal(parseLongHeader(pkt, 0, 20).anomaly, 'quic_bad_length');
    assert.equal(parseLongHeader(Uint8Array.from([0x40, 1, 2]), 0, 3).anomaly, 'quic_short_header');
    const unknown = pkt.slice();
    unknown.set([0x51, 0x30, 0x34, 0x33], 1);
    assert.equal(parseLongHeader(unknown, 0, unknown.length).anomaly, 'quic_unknown_version');
  });

  it('random and mutated datagrams never throw; a fresh session still decrypts', () => {
    const valid = buildInitial({ dcid: DCID, frames: cryptoFrame(0, HELLO), padTo: 400 });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (bytes, longHeader) => {
        if (longHeader && bytes.length > 0) bytes[0] = bytes[0]! | 0xc0;
        new QuicInitialSession({ collectAllHellos: true }).clientDatagram(bytes, 0, bytes.length);
      }),
      { numRuns: 1000 },
    );
    const edits = fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 });
    fc.assert(
      fc.property(edits, fc.nat(valid.length), (e, cut) => {
        const b = valid.slice(0, valid.length - cut);
        for (const [i, v] of e) if (i < b.length) b[i] = v;
        const s = new QuicInitialSession();
        s.clientDatagram(b, 0, b.length);
        assert.ok(s.initialPackets <= 1);
      }),
      { numRuns: 1000 },
    );
    const s = new QuicInitialSession();
    s.clientDatagram(valid, 0, valid.length);
    assert.equal(s.clientHello?.sni, 'quic.example');
  });
});
