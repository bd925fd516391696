import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { ja3, ja3String, ja3s, ja3sString } from '../../src/features/ja3.ts';
import { ByteReader } from '../../src/proto/reader.ts';
import { parseClientHello, parseServerHello } from '../../src/proto/tls.ts';
import {
  clientHelloBody,
  concat,
  ext,
  extGroups,
  extPointFormats,
  extSni,
  serverHelloBody,
  u16,
} from '../helpers/tls-builder.ts';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const hello = (b: Uint8Array) => parseClientHello(new ByteReader(b));

describe('JA3', () => {
  it('joins version, ciphers, extensions, groups and point formats, dropping GREASE', () => {
    const ch = hello(
      clientHelloBody({
        version: 0x0303,
        ciphers: [0x2a2a, 0x1301, 0xc02f],
        extensions: [ext(0x0a0a), extSni('a.test'), extGroups([0x1a1a, 29, 23]), extPointFormats([0]), ext(23)],
      }),
    );
    const s = '771,4865-49199,0-10-11-23,29-23,0';
    assert.equal(ja3String(ch), s);
    assert.deepEqual(ja3(ch), { ja3: md5(s), ja3Full: s });
  });

  it('leaves empty fields for a hello without extensions ("769,4-5,,,")', () => {
    assert.equal(ja3String(hello(clientHelloBody({ version: 0x0301, ciphers: [4, 5] }))), '769,4-5,,,');
  });

  it('ends after the ciphers when the extension block length is unusable, as tshark does', () => {
    const b = concat(u16(0x0301), new Uint8Array(32), [0], u16(4), u16(4), u16(5), [1, 0], u16(0xff00), [0, 0]);
    assert.equal(ja3String(hello(b)), '769,4-5,');
  });

  it('gives no JA3 when tshark aborts the hello (inner vector overrun, cipher vector overrun, SSLv2)', () => {
    const alpnOverrun = clientHelloBody({ extensions: [ext(16, concat(u16(500), [2, 0x68, 0x32]))] });
    assert.equal(ja3(hello(alpnOverrun)), null);
    const cipherOverrun = concat(u16(0x0301), new Uint8Array(32), [0], u16(134), new Uint8Array(133));
    assert.equal(ja3(hello(cipherOverrun)), null);
  });

  it('JA3S joins version, cipher and extensions', () => {
    const sh = parseServerHello(
      new ByteReader(
        serverHelloBody({ cipher: 0xc030, extensions: [ext(0xff01, [0]), ext(11, [1, 0]), ext(35), ext(23)] }),
      ),
    );
    assert.equal(ja3sString(sh), '771,49200,65281-11-35-23');
    assert.equal(ja3s(sh).ja3s, md5('771,49200,65281-11-35-23'));
  });
});
