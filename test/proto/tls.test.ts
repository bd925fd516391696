import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ByteReader } from '../../src/proto/reader.ts';
import {
  clientKeyExchangeBits,
  clientMaxVersion,
  isGrease,
  looksLikeClientHello,
  looksLikeTls,
  parseCertificateList,
  parseClientHello,
  parseServerHello,
  parseSslv2ClientHello,
  proxyProtocolLength,
  serverKeyExchangeBits,
  TLS_MAX_CERTS,
  TLS_MAX_EXTENSIONS,
  TLS_MAX_HANDSHAKE_BYTES,
  TlsSession,
  TlsStatus,
} from '../../src/proto/tls.ts';
import {
  ascii,
  buildCertificate,
  certificateBody,
  clientHelloBody,
  concat,
  ext,
  extAlpn,
  extGroups,
  extKeyShare,
  extPointFormats,
  extSigAlgs,
  extSni,
  extVersions,
  handshake,
  record,
  records,
  serverHelloBody,
  u16,
  u24,
  vec8,
  vec16,
} from '../helpers/tls-builder.ts';

const reader = (b: Uint8Array) => new ByteReader(b);

/** A Chrome-like TLS 1.3 hello: GREASE cipher/extension/group, SNI, ALPN, versions, key share, PSK modes. */
const chromeLike = clientHelloBody({
  sessionId: new Uint8Array(32).fill(1),
  ciphers: [0x0a0a, 0x1301, 0x1302, 0xc02b],
  extensions: [
    ext(0x1a1a),
    extSni('www.example.com'),
    ext(23),
    extGroups([0x2a2a, 29, 23]),
    extPointFormats([0]),
    extSigAlgs([0x0403, 0x0804]),
    extAlpn(['h2', 'http/1.1']),
    extVersions([0x3a3a, 0x0304, 0x0303]),
    extKeyShare([0x2a2a, 29]),
    ext(45, vec8([1])),
    ext(35, [1, 2, 3]),
    ext(0xfe0d, [0]),
    ext(21, new Uint8Array(10)),
  ],
});

describe('parseClientHello', () => {
  it('reads every field of a crafted TLS 1.3 hello', () => {
    const ch = parseClientHello(reader(chromeLike));
    assert.equal(ch.status, TlsStatus.ok);
    assert.equal(ch.anomaly, '');
    assert.equal(ch.legacyVersion, 0x0303);
    assert.deepEqual(ch.ciphers, [0x0a0a, 0x1301, 0x1302, 0xc02b]);
    assert.deepEqual(ch.extensions, [0x1a1a, 0, 23, 10, 11, 13, 16, 43, 51, 45, 35, 0xfe0d, 21]);
    assert.equal(ch.sni, 'www.example.com');
    assert.equal(ch.hasSni, true);
    assert.deepEqual(ch.alpn, ['h2', 'http/1.1']);
    assert.deepEqual(ch.supportedVersions, [0x3a3a, 0x0304, 0x0303]);
    assert.deepEqual(ch.supportedGroups, [0x2a2a, 29, 23]);
    assert.deepEqual(ch.ecPointFormats, [0]);
    assert.deepEqual(ch.signatureAlgorithms, [0x0403, 0x0804]);
    assert.deepEqual(ch.keyShareGroups, [0x2a2a, 29]);
    assert.deepEqual(ch.pskKeyExchangeModes, [1]);
    assert.equal(ch.sessionTicketLength, 3);
    assert.equal(ch.hasEch, true);
    assert.equal(ch.grease, true);
    assert.equal(ch.sessionId.length, 32);
    assert.equal(clientMaxVersion(ch), 0x0304);
  });

  it('accepts a hello without an extension block (SSL 3.0 style)', () => {
    const ch = parseClientHello(reader(clientHelloBody({ version: 0x0300, ciphers: [4, 5] })));
    assert.equal(ch.status, TlsStatus.ok);
    assert.equal(ch.hasExtensionBlock, false);
    assert.deepEqual(ch.extensions, []);
    assert.equal(clientMaxVersion(ch), 0x0300);
  });

  it('keeps a zero-length SNI extension as present without a name', () => {
    const ch = parseClientHello(reader(clientHelloBody({ extensions: [ext(0)] })));
    assert.equal(ch.hasSni, true);
    assert.equal(ch.sni, '');
  });

  // Malformed-input table: each case names what is wrong; none may throw.
  const body = clientHelloBody({ ciphers: [0x1301], extensions: [extSni('a.test'), extAlpn(['h2'])] });
  const cases: {
    what: string;
    bytes: Uint8Array;
    status: number;
    anomaly: string;
    check?: (ch: ReturnType<typeof parseClientHello>) => void;
  }[] = [
    { what: 'empty body', bytes: new Uint8Array(0), status: TlsStatus.truncated, anomaly: 'tls_short_vector' },
    {
      what: 'cut inside the random',
      bytes: body.subarray(0, 20),
      status: TlsStatus.truncated,
      anomaly: 'tls_short_vector',
    },
    {
      what: 'session id length 200 with 4 bytes left',
      bytes: concat(u16(0x0303), new Uint8Array(32), [200, 1, 2, 3, 4]),
      status: TlsStatus.malformed,
      anomaly: 'tls_short_vector',
      check: (ch) => assert.equal(ch.fixedPartMalformed, true),
    },
    {
      what: 'odd cipher-suite length',
      bytes: concat(u16(0x0303), new Uint8Array(32), [0], u16(3), [0x13, 0x01, 0x13], [1, 0]),
      status: TlsStatus.malformed,
      anomaly: 'tls_odd_cipher_length',
      check: (ch) => assert.deepEqual(ch.ciphers, [0x1301]),
    },
    {
      what: 'extension block length larger than the hello (tshark ends JA3 after ciphers)',
      bytes: concat(u16(0x0301), new Uint8Array(32), [0], u16(2), u16(4), [1, 0], u16(0xffc0), [0, 0, 0, 0]),
      status: TlsStatus.malformed,
      anomaly: 'tls_short_vector',
      check: (ch) => assert.equal(ch.extensionBlockMalformed, true),
    },
    {
      what: 'single stray byte where the extension block length should be',
      bytes: concat(u16(0x0301), new Uint8Array(32), [0], u16(2), u16(4), [1, 0], [7]),
      status: TlsStatus.truncated,
      anomaly: 'tls_short_vector',
      check: (ch) => assert.equal(ch.extensionBlockMalformed, true),
    },
    {
      what: 'extension length running past the block',
      bytes: concat(u16(0x0303), new Uint8Array(32), [0], u16(2), u16(0x1301), [1, 0], vec16(u16(10), u16(50), [1, 2])),
      status: TlsStatus.malformed,
      anomaly: 'tls_short_vector',
      check: (ch) => assert.deepEqual(ch.extensions, [10]),
    },
    {
      what: 'ALPN list longer than its extension',
      bytes: clientHelloBody({ extensions: [ext(16, concat(u16(47241), [2, 0x68, 0x32]))] }),
      status: TlsStatus.malformed,
      anomaly: 'tls_short_vector',
      check: (ch) => assert.equal(ch.extensionBodyMalformed, true),
    },
    {
      what: 'zero-length fields everywhere',
      bytes: concat(u16(0), new Uint8Array(32), [0], u16(0), [0], u16(0)),
      status: TlsStatus.ok,
      anomaly: '',
      check: (ch) => {
        assert.deepEqual(ch.ciphers, []);
        assert.equal(ch.hasExtensionBlock, true);
      },
    },
    {
      what: 'trailing bytes after the extension block',
      bytes: concat(clientHelloBody({ extensions: [] }), [9, 9]),
      status: TlsStatus.ok,
      anomaly: 'tls_trailing_bytes',
    },
  ];
  for (const c of cases) {
    it(`malformed: ${c.what}`, () => {
      const ch = parseClientHello(reader(c.bytes));
      assert.equal(ch.status, c.status);
      assert.equal(ch.anomaly, c.anomaly);
      c.check?.(ch);
    });
  }

  it('bounds a huge extension count (20,000 empty extensions) to TLS_MAX_EXTENSIONS', () => {
    const many = Array.from({ length: 20000 }, (_, i) => ext(0x7000 + (i % 100)));
    // 20,000 × 4 bytes = 80,000 bytes: more than a 16-bit block length allows, so build the block by hand.
    const block = concat(...many.slice(0, 16000).map((e) => concat(u16(e.type), u16(0))));
    const bytes = concat(u16(0x0303), new Uint8Array(32), [0], u16(2), u16(0x1301), [1, 0], u16(block.length), block);
    const ch = parseClientHello(reader(bytes));
    assert.equal(ch.extensions.length, TLS_MAX_EXTENSIONS);
    assert.equal(ch.anomaly, 'tls_too_many_extensions');
  });

  it('GREASE values are recognised (RFC 8701)', () => {
    for (const g of [0x0a0a, 0x1a1a, 0xfafa]) assert.equal(isGrease(g), true);
    for (const v of [0x0a0b, 0x1301, 0x0a1a, 0]) assert.equal(isGrease(v), false);
  });
});

describe('parseServerHello', () => {
  it('reads version, cipher, extensions, ALPN and the TLS 1.3 selected version', () => {
    const sh = parseServerHello(
      reader(serverHelloBody({ cipher: 0x1301, extensions: [extVersions([]), ext(43, u16(0x0304)), extAlpn(['h2'])] })),
    );
    assert.equal(sh.status, TlsStatus.ok);
    assert.equal(sh.cipher, 0x1301);
    assert.equal(sh.selectedVersion, 0x0304);
    assert.equal(sh.alpn, 'h2');
    assert.deepEqual(sh.extensions, [43, 43, 16]);
  });

  it('recognises a HelloRetryRequest by its fixed random (RFC 8446 §4.1.3)', () => {
    const random = Uint8Array.from(
      Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex'),
    );
    const sh = parseServerHello(reader(serverHelloBody({ random, extensions: [ext(43, u16(0x0304))] })));
    assert.equal(sh.helloRetryRequest, true);
  });

  it('flags a truncated ServerHello', () => {
    const sh = parseServerHello(reader(serverHelloBody().subarray(0, 30)));
    assert.equal(sh.status, TlsStatus.truncated);
  });
});

describe('SSLv2-compatible ClientHello (RFC 5246 E.2)', () => {
  it('keeps the TLS cipher specs (first byte zero)', () => {
    const body = concat(
      [1],
      u16(0x0301),
      u16(9),
      u16(0),
      u16(16),
      [0, 0, 4],
      [1, 0, 0x80],
      [0, 0, 0x0a],
      new Uint8Array(16),
    );
    const ch = parseSslv2ClientHello(reader(body));
    assert.equal(ch.sslv2, true);
    assert.deepEqual(ch.ciphers, [4, 0x0a]);
    assert.equal(ch.legacyVersion, 0x0301);
  });
});

describe('certificates and key exchange', () => {
  it('counts a chain of 1,000 certificates but keeps TLS_MAX_CERTS', () => {
    const cert = new Uint8Array(20).fill(0x30);
    const list = parseCertificateList(reader(certificateBody(Array.from({ length: 1000 }, () => cert))));
    assert.equal(list.count, 1000);
    assert.equal(list.ders.length, TLS_MAX_CERTS);
    assert.equal(list.anomaly, 'tls_too_many_certificates');
  });

  it('reports a certificate cut short as truncated', () => {
    const list = parseCertificateList(reader(concat(u24(100), u24(90), new Uint8Array(10))));
    assert.equal(list.count, 0);
    assert.equal(list.status, TlsStatus.truncated);
  });

  it('measures ClientKeyExchange and ServerKeyExchange sizes', () => {
    assert.equal(clientKeyExchangeBits(reader(concat([65], new Uint8Array(65)))), 520); // ECDH point
    assert.equal(clientKeyExchangeBits(reader(concat(u16(256), new Uint8Array(256)))), 2048); // RSA
    assert.equal(clientKeyExchangeBits(reader(new Uint8Array(48))), 384); // SSL 3.0 RSA, no prefix
    const ecdhe = concat([3], u16(29), [32], new Uint8Array(32), u16(0x0804), vec16(new Uint8Array(64)));
    assert.equal(serverKeyExchangeBits(reader(ecdhe)), 256);
    const p = new Uint8Array(256).fill(0xff);
    assert.equal(serverKeyExchangeBits(reader(concat(vec16(p), vec16([2]), vec16(p)))), 2048);
  });
});

describe('content detection', () => {
  it('recognises TLS records, SSLv2 hellos and PROXY headers', () => {
    const hello = record(22, handshake(1, clientHelloBody({ extensions: [] })));
    assert.equal(looksLikeTls(hello, 0, hello.length), true);
    assert.equal(looksLikeClientHello(hello, 0, hello.length), true);
    assert.equal(looksLikeTls(ascii('GET / HTTP/1.1\r\n'), 0, 16), false);
    const v2 = concat([0x80, 0x2e, 1, 3, 1]);
    assert.equal(looksLikeTls(v2, 0, v2.length), true);
    const proxied = concat(ascii('PROXY TCP4 1.1.1.1 2.2.2.2 1 443\r\n'), hello);
    assert.equal(proxyProtocolLength(proxied, 0, proxied.length), 34);
    assert.equal(proxyProtocolLength(hello, 0, hello.length), 0);
  });
});

/** Feed a byte stream to one direction in segments of the given sizes, sequence numbers from `isn`. */
function feed(s: TlsSession, dir: 0 | 1, stream: Uint8Array, sizes: number[], isn = 1000): void {
  let off = 0;
  let i = 0;
  while (off < stream.length) {
    const n = Math.min(sizes[i % sizes.length]!, stream.length - off);
    s.dirs[dir].segment(stream, off, n, (isn + off) >>> 0, false);
    off += n;
    i++;
  }
}

describe('TlsSession (record layer and TCP reassembly)', () => {
  const chMsg = handshake(1, chromeLike);
  const clientStream = record(22, chMsg);
  const cert = buildCertificate({ subject: { CN: 'leaf.test' }, issuer: { CN: 'CA' } });
  const serverFlight = record(
    22,
    concat(
      handshake(2, serverHelloBody({ cipher: 0xc02f, extensions: [ext(0xff01, [0]), extAlpn(['h2'])] })),
      handshake(11, certificateBody([cert, cert])),
      handshake(12, concat([3], u16(23), [65], new Uint8Array(65), u16(0x0401), vec16(new Uint8Array(8)))),
      handshake(14, new Uint8Array(0)),
    ),
    0x0303,
  );

  it('parses several messages in one record and a hello split byte by byte', () => {
    const s = new TlsSession();
    feed(s, 0, clientStream, [1]);
    feed(s, 1, serverFlight, [7, 1460]);
    assert.equal(s.clientHello?.sni, 'www.example.com');
    assert.equal(s.clientDir, 0);
    assert.equal(s.serverHello?.cipher, 0xc02f);
    assert.equal(s.serverHello?.alpn, 'h2');
    assert.equal(s.chainLength, 2);
    assert.equal(s.certificates[0]?.subjectCN, 'leaf.test');
    assert.equal(s.serverKeyBits, 520);
    assert.deepEqual(s.dirs[0].recordLengths, [chMsg.length]);
  });

  it('joins one handshake message split over three records', () => {
    const a = chMsg.subarray(0, 10);
    const b = chMsg.subarray(10, 100);
    const c = chMsg.subarray(100);
    const s = new TlsSession();
    feed(s, 0, concat(record(22, a), record(22, b), record(22, c)), [1460]);
    assert.equal(s.clientHello?.sni, 'www.example.com');
    assert.equal(s.dirs[0].records, 3);
  });

  it('reorders out-of-order segments and ignores retransmissions', () => {
    const s = new TlsSession();
    const d = s.dirs[0];
    d.segment(clientStream, 0, 0, 999, true); // SYN, ISN 999 → data starts at 1000
    d.segment(clientStream, 100, clientStream.length - 100, 1100, false); // second half first
    d.segment(clientStream, 0, 60, 1000, false);
    d.segment(clientStream, 0, 60, 1000, false); // retransmission
    d.segment(clientStream, 40, 60, 1040, false); // overlap: bytes 60..100 are new
    assert.equal(s.clientHello?.sni, 'www.example.com');
    assert.equal(d.retransmittedSegments, 1);
    assert.equal(d.outOfOrderSegments, 1);
  });

  it('wraps sequence numbers around 2^32', () => {
    const s = new TlsSession();
    feed(s, 0, clientStream, [50], 0xffffffff - 60);
    assert.equal(s.clientHello?.sni, 'www.example.com');
  });

  it('gives up cleanly on a gap beyond the window', () => {
    const s = new TlsSession();
    s.dirs[0].segment(clientStream, 0, 10, 1000, false);
    s.dirs[0].segment(clientStream, 20, 10, 1000 + 200_000, false);
    assert.equal(s.dirs[0].failed, true);
    assert.equal(s.anomaly, 'tls_tcp_window');
  });

  it('reports a gap never filled at flush', () => {
    const s = new TlsSession();
    s.dirs[0].segment(clientStream, 0, 10, 1000, false);
    s.dirs[0].segment(clientStream, 30, 10, 1030, false);
    s.dirs[0].flush();
    assert.equal(s.anomaly, 'tls_tcp_gap');
  });

  it('a record claiming 16 MB buffers at most TLS_MAX_HANDSHAKE_BYTES', () => {
    const s = new TlsSession();
    const header = concat([22], u16(0x0303), u16(0xffff));
    const msgHeader = concat([11], u24(16 * 1024 * 1024));
    const chunk = new Uint8Array(1460).fill(0x41);
    const d = s.dirs[1];
    d.segment(concat(header, msgHeader), 0, 9, 1, false);
    for (let i = 0; i < 60; i++) d.segment(chunk, 0, chunk.length, 10 + i * 1460, false);
    assert.ok((d.hs?.length ?? 0) <= TLS_MAX_HANDSHAKE_BYTES);
    assert.equal(s.anomaly, 'tls_record_too_long');
  });

  it('parses the first complete certificates of a chain larger than the buffer', () => {
    const big = buildCertificate({ rsaModulusBytes: 512 });
    const chain = Array.from({ length: 1000 }, () => big);
    const s = new TlsSession();
    feed(s, 1, records(22, handshake(11, certificateBody(chain))), [1460]);
    assert.equal(s.certificates.length, TLS_MAX_CERTS);
    assert.ok(s.chainLength > TLS_MAX_CERTS && s.chainLength < 1000);
    assert.ok(s.anomalies >= 1);
  });

  it('stops at a non-TLS stream start without throwing', () => {
    const s = new TlsSession();
    feed(s, 0, ascii('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), [5]);
    assert.equal(s.clientHello, null);
    assert.equal(s.dirs[0].failed, true);
    assert.equal(s.anomaly, 'tls_bad_record');
  });

  it('reads the second ClientHello after a TLS 1.3 compatibility ChangeCipherSpec', () => {
    const s = new TlsSession({ collectAllHellos: true });
    const second = handshake(1, clientHelloBody({ extensions: [extSni('second.test')] }));
    feed(s, 0, concat(clientStream, record(20, [1]), record(22, second)), [1460]);
    assert.equal(s.allClientHellos?.length, 2);
    assert.equal(s.allClientHellos?.[1]?.sni, 'second.test');
    assert.equal(s.clientHello?.sni, 'www.example.com');
  });

  it('keeps the first alert and counts alerts', () => {
    const s = new TlsSession();
    feed(s, 1, concat(record(21, [2, 40]), record(21, [2, 70])), [3]);
    assert.equal(s.dirs[1].alertLevel, 2);
    assert.equal(s.dirs[1].alertDescription, 40);
    assert.equal(s.dirs[1].alertCount, 2);
  });

  it('records the first 8 record lengths and then finishes the direction', () => {
    const s = new TlsSession();
    const app = Array.from({ length: 10 }, (_, i) => record(23, new Uint8Array(10 + i), 0x0303));
    feed(s, 0, concat(clientStream, ...app), [100]);
    assert.deepEqual(s.dirs[0].recordLengths, [chMsg.length, 10, 11, 12, 13, 14, 15, 16]);
    assert.equal(s.dirs[0].finished, true);
  });

  it('detects resumption by an echoed session id', () => {
    const sid = new Uint8Array(32).fill(1);
    const s = new TlsSession();
    feed(s, 0, clientStream, [1460]);
    feed(s, 1, record(22, handshake(2, serverHelloBody({ sessionId: sid }))), [1460]);
    assert.equal(s.resumed, true);
  });

  it('measures the client key exchange and stops buffering after it', () => {
    const s = new TlsSession();
    feed(s, 0, concat(clientStream, record(22, handshake(16, concat(u16(256), new Uint8Array(256))))), [1460]);
    assert.equal(s.clientKeyBits, 2048);
    assert.equal(s.dirs[0].hs, null);
  });
});
