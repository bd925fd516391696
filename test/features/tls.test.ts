/** The TLS meter driven directly with crafted packets (one flow in slot 0; dir 0 = client unless stated). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TcpFlag } from '../../src/decode/packet.ts';
import { type FlowRow, flatName, getColumn } from '../../src/features/meter.ts';
import { TLS_COLUMNS, TlsMeter } from '../../src/features/tls.ts';
import {
  ascii,
  buildCertificate,
  certificateBody,
  clientHelloBody,
  concat,
  ext,
  extAlpn,
  extSni,
  handshake,
  packet,
  record,
  serverHelloBody,
  u16,
  u24,
} from '../helpers/tls-builder.ts';

const HELLO = record(
  22,
  handshake(1, clientHelloBody({ ciphers: [0xc02f, 0x1301], extensions: [extSni('meter.test'), extAlpn(['h2'])] })),
);
const CERT = buildCertificate({
  subject: { CN: 'meter.test' },
  issuer: { CN: 'Meter CA', O: 'CA Org' },
  san: ['meter.test'],
});
const SERVER = record(
  22,
  concat(
    handshake(2, serverHelloBody({ cipher: 0xc02f, extensions: [ext(0xff01, [0]), extAlpn(['h2'])] })),
    handshake(11, certificateBody([CERT])),
    handshake(14, new Uint8Array(0)),
  ),
  0x0303,
);

function run(packets: [0 | 1, ReturnType<typeof packet>][]): { row: FlowRow; meter: TlsMeter } {
  const m = new TlsMeter();
  m.resize(4);
  m.onInit(0, packets[0]![1]);
  for (const [dir, p] of packets) m.onUpdate(0, p, dir);
  const row: FlowRow = {};
  m.onExpire(0, row);
  return { row, meter: m };
}

const tls = (row: FlowRow) => row.tls as Record<string, unknown>;

describe('TlsMeter', () => {
  it('fills the tls and tls.cert groups from a full handshake with SYNs', () => {
    const { row } = run([
      [0, packet(new Uint8Array(0), { seq: 100, flags: TcpFlag.SYN })],
      [1, packet(new Uint8Array(0), { seq: 900, flags: TcpFlag.SYN | TcpFlag.ACK })],
      [0, packet(HELLO, { seq: 101 })],
      [1, packet(SERVER, { seq: 901 })],
    ]);
    const t = tls(row);
    assert.equal(t.sni, 'meter.test');
    assert.equal(t.ja3_full, '771,49199-4865,0-16,,');
    assert.equal(t.version, 'TLSv1.2');
    assert.equal(t.cipher, 'c02f');
    assert.equal(t.alpn, 'h2');
    assert.equal(t.ja3s_full, '771,49199,65281-16');
    assert.match(String(t.ja4), /^t12d0202h2_/);
    assert.deepEqual(t.src2dst_record_lengths, [HELLO.length - 5]);
    const cert = (t.cert ?? {}) as Record<string, unknown>;
    assert.equal(cert.subject_cn, 'meter.test');
    assert.equal(cert.issuer, 'O=CA Org, CN=Meter CA');
    assert.equal(cert.chain_length, 1);
    assert.deepEqual(cert.san, ['meter.test']);
    // Every value written is a declared column, and the dotted group reads back through getColumn.
    for (const c of TLS_COLUMNS) {
      const v = getColumn(row, c);
      if (v !== undefined) assert.ok(flatName(c).startsWith('tls_'), flatName(c));
    }
    assert.equal(
      getColumn(row, TLS_COLUMNS.find((c) => c.group === 'tls.cert' && c.key === 'issuer')!),
      'O=CA Org, CN=Meter CA',
    );
  });

  it('detects TLS on any port without SYNs and handles a hello split over segments out of order', () => {
    const { row } = run([
      [0, packet(HELLO.subarray(0, 30), { seq: 5000 })],
      [0, packet(HELLO.subarray(60), { seq: 5060 })],
      [0, packet(HELLO.subarray(30, 60), { seq: 5030 })],
    ]);
    assert.equal(tls(row).sni, 'meter.test');
  });

  it('leaves a non-TLS flow without a tls group and stops inspecting it', () => {
    const { row } = run([[0, packet(ascii('GET / HTTP/1.1\r\n\r\n'), { seq: 1 })]]);
    assert.equal(row.tls, undefined);
  });

  it('finds TLS after a plaintext STARTTLS dialogue', () => {
    const { row } = run([
      [1, packet(ascii('220 mail ESMTP\r\n'), { seq: 1 })],
      [0, packet(ascii('STARTTLS\r\n'), { seq: 1 })],
      [1, packet(ascii('220 go ahead\r\n'), { seq: 17 })],
      [0, packet(HELLO, { seq: 11 })],
      [1, packet(SERVER, { seq: 31 })],
    ]);
    assert.equal(tls(row).sni, 'meter.test');
    assert.equal(tls(row).cipher, 'c02f');
  });

  it('skips a PROXY protocol header in front of the ClientHello', () => {
    const { row } = run([[0, packet(concat(ascii('PROXY TCP4 10.0.0.1 10.0.0.2 1234 443\r\n'), HELLO), { seq: 1 })]]);
    assert.equal(tls(row).sni, 'meter.test');
  });

  it('keeps the first ClientHello of a flow', () => {
    const second = record(22, handshake(1, clientHelloBody({ extensions: [extSni('second.test')] })));
    const { row } = run([[0, packet(concat(HELLO, second), { seq: 1 })]]);
    assert.equal(tls(row).sni, 'meter.test');
    assert.equal(tls(row).client_hellos, 2);
  });

  it('reads a DTLS ClientHello and ServerHello over UDP', () => {
    const body = clientHelloBody({ version: 0xfefd, ciphers: [0xc02b], extensions: [extSni('dtls.test')] });
    // DTLS hello body has a cookie after the session id (RFC 6347 §4.2.1): insert an empty one.
    const withCookie = concat(body.subarray(0, 35), [0], body.subarray(35));
    const dtlsRecord = (type: number, msg: Uint8Array) =>
      concat(
        [22],
        u16(0xfefd),
        u16(0),
        [0, 0, 0, 0, 0, 0],
        u16(msg.length + 12),
        [type],
        u24(msg.length),
        u16(0),
        u24(0),
        u24(msg.length),
        msg,
      );
    const sh = serverHelloBody({ version: 0xfefd, cipher: 0xc02b, extensions: [] });
    const { row } = run([
      [0, packet(dtlsRecord(1, withCookie), { protocol: 17 })],
      [1, packet(dtlsRecord(2, sh), { protocol: 17 })],
    ]);
    assert.equal(tls(row).sni, 'dtls.test');
    assert.match(String(tls(row).ja4), /^dd2d0101/);
    assert.equal(tls(row).cipher, 'c02b');
  });

  it('never throws on hostile records: 16 MB claims, junk after a valid header', () => {
    const { row } = run([
      [0, packet(HELLO, { seq: 1 })],
      [1, packet(concat([22, 3, 3, 0xff, 0xff, 11], u24(0xffffff), new Uint8Array(1400).fill(7)), { seq: 1 })],
      [1, packet(new Uint8Array(1400).fill(0xee), { seq: 1410 })],
    ]);
    assert.equal(tls(row).sni, 'meter.test');
    assert.equal(typeof tls(row).anomaly, 'string');
  });
});
