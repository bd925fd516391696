import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { ja4 } from '../../src/features/ja4.ts';
import { ByteReader } from '../../src/proto/reader.ts';
import { parseClientHello } from '../../src/proto/tls.ts';
import {
  ascii,
  clientHelloBody,
  ext,
  extAlpn,
  extGroups,
  extSigAlgs,
  extSni,
  extVersions,
  vec8,
  vec16,
} from '../helpers/tls-builder.ts';

const sha12 = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 12);
const hello = (b: Uint8Array) => parseClientHello(new ByteReader(b));

describe('JA4', () => {
  it('builds a, b, c and the raw form from a TLS 1.3 hello with GREASE', () => {
    const ch = hello(
      clientHelloBody({
        version: 0x0303,
        ciphers: [0x0a0a, 0x1302, 0x1301, 0xc02b],
        extensions: [
          ext(0x1a1a),
          extSni('x.test'),
          extAlpn(['h2', 'http/1.1']),
          extGroups([29]),
          extSigAlgs([0x0804, 0x0403]),
          extVersions([0x2a2a, 0x0304, 0x0303]),
          ext(0xff01, [0]),
        ],
      }),
    );
    // a: t, version 13 (supported_versions), d (SNI), 3 ciphers, 6 extensions (GREASE excluded), h2.
    const a = 't13d0306h2';
    const ciphers = '1301,1302,c02b';
    const exts = '000a,000d,002b,ff01_0804,0403';
    assert.deepEqual(ja4(ch, 't'), { ja4: `${a}_${sha12(ciphers)}_${sha12(exts)}`, ja4R: `${a}_${ciphers}_${exts}` });
    assert.equal(ja4(ch, 'q').ja4.slice(0, 1), 'q');
  });

  it('uses zero hashes and "00" for an empty hello, "i" without SNI', () => {
    const ch = hello(clientHelloBody({ version: 0x0301, ciphers: [], extensions: [] }));
    assert.deepEqual(ja4(ch, 't'), { ja4: 't10i000000_000000000000_000000000000', ja4R: 't10i000000__' });
  });

  it('omits the signature-algorithm part when there is none', () => {
    const ch = hello(clientHelloBody({ version: 0x0302, ciphers: [0x2f], extensions: [extGroups([23])] }));
    assert.equal(ja4(ch, 't').ja4R, 't11i010100_002f_000a');
  });

  it('ALPN edge cases: single character, non-alphanumeric ASCII, non-ASCII (FoxIO reference: 99)', () => {
    const code = (alpn: number[]) =>
      ja4(hello(clientHelloBody({ extensions: [ext(16, vec16(vec8(alpn)))] })), 't').ja4.slice(8, 10);
    assert.equal(code([...ascii('h')]), 'hh');
    assert.equal(code([0x68, 0x2f]), '6f'); // 'h/' → hex 682f: first and last hex digit
    assert.equal(code([0xba, 0xad]), '99');
  });

  it('caps counts at 99 and maps versions', () => {
    const ch = hello(clientHelloBody({ version: 0x0300, ciphers: Array.from({ length: 120 }, (_, i) => i + 1) }));
    assert.equal(ja4(ch, 't').ja4.slice(0, 10), 'ts3i990000');
    const dtls = hello(clientHelloBody({ version: 0xfefd, ciphers: [1] }));
    assert.equal(ja4(dtls, 'd').ja4.slice(0, 4), 'dd2i');
  });
});
