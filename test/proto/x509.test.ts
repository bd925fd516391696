import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  clearCertificateCache,
  parseCertificate,
  parseCertificateUncached,
  X509Status,
  x509CacheStats,
} from '../../src/proto/x509.ts';
import { buildCertificate, concat, der, genTime, seq, utcTime } from '../helpers/tls-builder.ts';

const LEAF = buildCertificate({
  serial: [0x01, 0xab, 0xcd],
  subject: { CN: 'www.example.test', O: 'Example Ltd', C: 'GB' },
  issuer: { CN: 'Example CA', O: 'Example Trust', C: 'US' },
  notBefore: utcTime('230315120000Z'),
  notAfter: utcTime('240315120000Z'),
  rsaModulusBytes: 256,
  san: ['www.example.test', 'example.test'],
});

describe('parseCertificate', () => {
  it('reads names, serial, validity, key, signature and SAN of a crafted v3 certificate', () => {
    const c = parseCertificateUncached(LEAF, Date.UTC(2025, 0, 1) * 1000);
    assert.equal(c.status, X509Status.ok);
    assert.equal(c.anomaly, '');
    assert.equal(c.version, 3);
    assert.equal(c.serial, '01abcd');
    assert.equal(c.subject, 'C=GB, O=Example Ltd, CN=www.example.test');
    assert.equal(c.issuer, 'C=US, O=Example Trust, CN=Example CA');
    assert.equal(c.subjectCN, 'www.example.test');
    assert.equal(c.issuerO, 'Example Trust');
    assert.equal(c.issuerC, 'US');
    assert.equal(c.notBeforeUs, Date.UTC(2023, 2, 15, 12) * 1000);
    assert.equal(c.notAfterUs, Date.UTC(2024, 2, 15, 12) * 1000);
    assert.equal(c.validityDays, 366);
    assert.equal(c.expired, true);
    assert.equal(c.selfSigned, false);
    assert.equal(c.keyAlgorithm, 'rsa');
    assert.equal(c.keyBits, 2048);
    assert.equal(c.signatureAlgorithm, 'sha256WithRSAEncryption');
    assert.equal(c.sanCount, 2);
    assert.deepEqual(c.sanNames, ['www.example.test', 'example.test']);
    assert.equal(c.isCA, false);
  });

  it('detects self-signed (issuer Name = subject Name), EC P-256 keys and GeneralizedTime', () => {
    const n = { CN: 'self', O: 'Me' };
    const c = parseCertificateUncached(
      buildCertificate({
        subject: n,
        issuer: n,
        ecP256: true,
        sigOid: '1.2.840.10045.4.3.2',
        notAfter: genTime('20500101000000Z'),
      }),
      Date.UTC(2025, 0, 1) * 1000,
    );
    assert.equal(c.selfSigned, true);
    assert.equal(c.keyAlgorithm, 'ec');
    assert.equal(c.keyCurve, 'secp256r1');
    assert.equal(c.keyBits, 256);
    assert.equal(c.signatureAlgorithm, 'ecdsa-with-SHA256');
    assert.equal(c.expired, false);
    assert.equal(c.notAfterUs, Date.UTC(2050, 0, 1) * 1000);
  });

  it('names an unknown signature algorithm by its dotted OID', () => {
    const c = parseCertificateUncached(buildCertificate({ sigOid: '1.3.6.1.4.1.99999.1' }));
    assert.equal(c.signatureAlgorithm, '1.3.6.1.4.1.99999.1');
  });

  // Malformed table: each case is a specific breakage; none may throw.
  const cases: { what: string; bytes: Uint8Array; anomaly: string }[] = [
    { what: 'empty input', bytes: new Uint8Array(0), anomaly: 'x509_bad_tag' },
    { what: 'not a SEQUENCE', bytes: Uint8Array.from([0x04, 0x01, 0x00]), anomaly: 'x509_bad_tag' },
    {
      what: 'length longer than the data',
      bytes: concat([0x30, 0x82, 0x10, 0x00], LEAF.subarray(4, 50)),
      anomaly: 'x509_bad_tag',
    },
    {
      what: 'indefinite length (BER, not DER)',
      bytes: concat([0x30, 0x80], LEAF.subarray(4)),
      anomaly: 'x509_bad_tag',
    },
    { what: 'five-byte length', bytes: Uint8Array.from([0x30, 0x85, 0, 0, 0, 0, 1, 0]), anomaly: 'x509_bad_tag' },
    { what: 'empty tbsCertificate', bytes: seq(seq()), anomaly: 'x509_bad_length' },
    {
      what: 'bad validity time',
      bytes: buildCertificate({ notBefore: utcTime('23XX01000000Z') }),
      anomaly: 'x509_bad_time',
    },
    { what: 'trailing bytes after the certificate', bytes: concat(LEAF, [0, 0]), anomaly: 'x509_trailing_bytes' },
    { what: 'a cut certificate', bytes: LEAF.subarray(0, LEAF.length - 30), anomaly: 'x509_bad_tag' },
  ];
  for (const c of cases) {
    it(`malformed: ${c.what}`, () => {
      const info = parseCertificateUncached(c.bytes);
      assert.equal(info.status, X509Status.malformed);
      assert.equal(info.anomaly, c.anomaly);
    });
  }

  it('caches by content and recomputes expiry per capture time', () => {
    clearCertificateCache();
    const hits = x509CacheStats.hits;
    const a = parseCertificate(LEAF, Date.UTC(2023, 5, 1) * 1000);
    const b = parseCertificate(LEAF.slice(), Date.UTC(2025, 5, 1) * 1000);
    assert.equal(x509CacheStats.hits, hits + 1);
    assert.equal(a.expired, false);
    assert.equal(b.expired, true);
    assert.equal(b.subject, a.subject);
  });

  it('random and mutated DER never throws; the valid certificate still parses', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        const c = parseCertificateUncached(bytes);
        assert.ok(c.status === X509Status.ok || c.status === X509Status.malformed);
      }),
      { numRuns: 2000 },
    );
    const edits = fc.array(fc.tuple(fc.nat(LEAF.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 });
    fc.assert(
      fc.property(edits, fc.nat(LEAF.length), (e, cut) => {
        const b = LEAF.slice(0, LEAF.length - cut);
        for (const [i, v] of e) if (i < b.length) b[i] = v;
        const c = parseCertificate(b);
        assert.ok(Number.isFinite(c.keyBits) && c.sanNames.length <= 32 && c.sanCount >= 0);
      }),
      { numRuns: 2000 },
    );
    assert.equal(parseCertificate(LEAF).subjectCN, 'www.example.test');
  });

  it('a DER length field claiming 4 GiB does not allocate or throw', () => {
    const c = parseCertificateUncached(concat([0x30, 0x84, 0xff, 0xff, 0xff, 0xff], der(0x02, [1])));
    assert.equal(c.status, X509Status.malformed);
  });
});
