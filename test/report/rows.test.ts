import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  certValidityDays,
  cipherName,
  fieldOf,
  flattenRow,
  flowApplication,
  flowBytes,
  flowPackets,
  flowReasons,
  flowScore,
  flowVerdict,
  labelClass,
  protocolName,
  rawLabel,
  tlsVersionName,
} from '../../src/report/rows.ts';

test('fieldOf reads flat and nested shapes alike, own properties only', () => {
  const nested = { tls: { sni: 'a.example', cert: { issuer: 'CN=x' } }, src2dst_mean_ps: 100 };
  const flat = { tls_sni: 'a.example', tls_cert_issuer: 'CN=x' };
  assert.equal(fieldOf(nested, 'tls_sni'), 'a.example');
  assert.equal(fieldOf(flat, 'tls_sni'), 'a.example');
  assert.equal(fieldOf(nested, 'tls_cert_issuer'), 'CN=x'); // two levels: tls → cert → issuer
  assert.equal(fieldOf(flat, 'tls_cert_issuer'), 'CN=x');
  assert.equal(fieldOf(nested, 'src2dst_mean_ps'), 100);
  assert.equal(fieldOf(nested, 'tls_ja3'), undefined);
  assert.equal(fieldOf({}, 'constructor'), undefined); // inherited Object.prototype members never resolve
  assert.equal(fieldOf({}, 'toString_x'), undefined);
  assert.equal(fieldOf(JSON.parse('{"__proto__": {"polluted": 1}}'), '__proto___polluted'), undefined);
});

test('bytes and packets: directional pair, else bidirectional total, else NaN', () => {
  assert.equal(flowBytes({ fwd_bytes: 10, bwd_bytes: 5 }), 15);
  assert.equal(flowBytes({ fwd_bytes: 10 }), 10);
  assert.equal(flowBytes({ bidirectional_bytes: 7 }), 7);
  assert.ok(Number.isNaN(flowBytes({})));
  assert.equal(flowPackets({ fwd_packets: 3n, bwd_packets: 2 }), 5); // Parquet int64 arrives as bigint
});

test('scores are clamped to [0, 1]; verdicts are case-insensitive', () => {
  assert.equal(flowScore({ p_malicious: 1.2 }), 1);
  assert.equal(flowScore({ p_malicious: -0.1 }), 0);
  assert.ok(Number.isNaN(flowScore({ p_malicious: 'n/a' })));
  assert.equal(flowVerdict({ verdict: 'Malicious' }), 'malicious');
  assert.equal(flowVerdict({ verdict: 'maybe' }), undefined);
});

test('labels: benign names per src/ml/labels.ts, everything else malicious, unlabelled markers skipped', () => {
  assert.equal(labelClass(rawLabel({ label: 'BENIGN' })!), 'benign');
  assert.equal(labelClass(rawLabel({ label: 'Normal' })!), 'benign');
  assert.equal(labelClass(rawLabel({ label: 0 })!), 'benign');
  assert.equal(labelClass(rawLabel({ label: 'DoS Hulk' })!), 'malicious');
  assert.equal(labelClass(rawLabel({ Label: 'Bot' })!), 'malicious'); // CIC CSV header
  assert.equal(rawLabel({ label: 'Background' }), undefined); // CTU-13: not labelled
  assert.equal(rawLabel({ label: '' }), undefined);
  assert.equal(rawLabel({}), undefined);
});

test('TLS version and cipher names from codes or text', () => {
  assert.equal(tlsVersionName(0x0303), 'TLS 1.2');
  assert.equal(tlsVersionName(772), 'TLS 1.3');
  assert.equal(tlsVersionName('0x0301'), 'TLS 1.0');
  assert.equal(tlsVersionName('TLSv1.3'), 'TLSv1.3');
  assert.equal(tlsVersionName(0x7f17), '0x7f17');
  assert.equal(cipherName(0x1301), 'TLS_AES_128_GCM_SHA256');
  assert.equal(cipherName('0xc02f'), 'ECDHE_RSA_AES_128_GCM_SHA256');
  assert.equal(cipherName(0xabcd), '0xabcd');
  assert.equal(cipherName(undefined), undefined);
});

test('protocol and application names', () => {
  assert.equal(protocolName({ protocol: 6 }), 'TCP');
  assert.equal(protocolName({ protocol: 250 }), 'IP proto 250');
  assert.equal(flowApplication({ protocol: 6, tls: { sni: 'x' } }), 'TLS');
  assert.equal(flowApplication({ protocol: 17, tls: { version: 772 } }), 'QUIC');
  assert.equal(flowApplication({ protocol: 17, dns_qname: 'a.example' }), 'DNS');
  assert.equal(flowApplication({ protocol: 6, dst_port: 22 }), 'SSH');
  assert.equal(flowApplication({ protocol: 6, dst_port: 40000, src_port: 40001 }), 'other TCP');
  assert.equal(flowApplication({ application: 'BitTorrent', protocol: 6 }), 'BitTorrent');
});

test('reasons: arrays of strings or objects, JSON-encoded or ;-separated CSV cells', () => {
  assert.deepEqual(flowReasons({ reasons: ['a', 'b'] }), [{ text: 'a' }, { text: 'b' }]);
  assert.deepEqual(flowReasons({ reasons: [{ feature: 'mean_ps', value: 80, contribution: 0.25 }] }), [
    { text: 'mean_ps = 80', contribution: 0.25 },
  ]);
  assert.deepEqual(flowReasons({ reasons: '[{"feature":"x","value":1.23456}]' }), [{ text: 'x = 1.235' }]);
  assert.deepEqual(flowReasons({ reasons: 'a; b|c' }), [{ text: 'a' }, { text: 'b' }, { text: 'c' }]);
  assert.deepEqual(flowReasons({ reasons: '[not json' }), [{ text: '[not json' }]);
  assert.deepEqual(flowReasons({}), []);
});

test('certificate validity from a days column or a not-before/not-after pair in any time unit', () => {
  assert.equal(certValidityDays({ tls_cert_validity_days: 90 }), 90);
  assert.equal(
    certValidityDays({ tls: { cert_not_before: '2026-01-01T00:00:00Z', cert_not_after: '2026-04-01T00:00:00Z' } }),
    90,
  );
  const s = Date.UTC(2026, 0, 1) / 1000;
  assert.equal(certValidityDays({ tls_cert_not_before: s, tls_cert_not_after: s + 86400 * 365 }), 365); // seconds
  assert.equal(certValidityDays({ tls_cert_not_before: s * 1e6, tls_cert_not_after: (s + 86400) * 1e6 }), 1); // µs
  assert.ok(Number.isNaN(certValidityDays({})));
});

test('flattenRow: nested groups joined with _, arrays skipped, a Map so names from files stay data', () => {
  const m = flattenRow({ a: 1, tls: { sni: 's', v: 2n }, splt: { ps: [1, 2] }, ok: true, empty: '', bad: Number.NaN });
  assert.deepEqual(
    [...m.entries()],
    [
      ['a', 1],
      ['tls_sni', 's'],
      ['tls_v', 2],
      ['ok', 1],
    ],
  );
});
