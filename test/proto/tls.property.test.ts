/**
 * Property tests: random and mutated bytes never make the TLS parsers throw, hang or read out of bounds (an
 * out-of-range typed-array read would surface as undefined → NaN in a number list, which the checks catch), and
 * valid input still parses afterwards.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ByteReader } from '../../src/proto/reader.ts';
import {
  clientKeyExchangeBits,
  parseCertificateList,
  parseClientHello,
  parseServerHello,
  parseSslv2ClientHello,
  serverKeyExchangeBits,
  TlsSession,
} from '../../src/proto/tls.ts';
import {
  buildCertificate,
  certificateBody,
  clientHelloBody,
  concat,
  ext,
  extAlpn,
  extGroups,
  extSni,
  extVersions,
  handshake,
  record,
  serverHelloBody,
} from '../helpers/tls-builder.ts';

const VALID_HELLO = clientHelloBody({
  ciphers: [0x1301, 0xc02f],
  extensions: [extSni('ok.test'), extAlpn(['h2']), extGroups([29]), extVersions([0x0304]), ext(57, [1, 1, 0])],
});
const VALID_CLIENT = record(22, handshake(1, VALID_HELLO));
const VALID_SERVER = concat(
  record(22, handshake(2, serverHelloBody({ extensions: [ext(0xff01, [0])] }))),
  record(22, handshake(11, certificateBody([buildCertificate()]))),
);

function allNumbers(xs: readonly number[]): boolean {
  return xs.every((x) => Number.isInteger(x) && x >= 0);
}

function parseAll(bytes: Uint8Array): void {
  const ch = parseClientHello(new ByteReader(bytes));
  assert.ok(allNumbers(ch.ciphers) && allNumbers(ch.extensions) && allNumbers(ch.supportedGroups));
  assert.ok(allNumbers(ch.signatureAlgorithms) && allNumbers(ch.keyShareGroups));
  parseClientHello(new ByteReader(bytes), true);
  const sh = parseServerHello(new ByteReader(bytes));
  assert.ok(allNumbers(sh.extensions) && Number.isInteger(sh.cipher));
  parseSslv2ClientHello(new ByteReader(bytes));
  const list = parseCertificateList(new ByteReader(bytes));
  assert.ok(list.ders.every((d) => d.length <= bytes.length));
  parseCertificateList(new ByteReader(bytes), true);
  assert.ok(Number.isInteger(clientKeyExchangeBits(new ByteReader(bytes))));
  assert.ok(Number.isInteger(serverKeyExchangeBits(new ByteReader(bytes))));
}

function mutate(base: Uint8Array, edits: [number, number][], cut: number): Uint8Array {
  const b = base.slice(0, Math.max(0, base.length - cut));
  for (const [i, v] of edits) if (b.length > 0) b[i % b.length] = v;
  return b;
}

describe('tls parsers under random and mutated input', () => {
  it('random bytes: no throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 700 }), (bytes) => parseAll(bytes)),
      { numRuns: 2000 },
    );
  });

  it('mutated hellos: no throw, and the valid hello still parses', () => {
    const edits = fc.array(fc.tuple(fc.nat(10_000), fc.integer({ min: 0, max: 255 })), { maxLength: 8 });
    fc.assert(
      fc.property(edits, fc.nat(VALID_HELLO.length), (e, cut) => parseAll(mutate(VALID_HELLO, e, cut))),
      { numRuns: 2000 },
    );
    assert.equal(parseClientHello(new ByteReader(VALID_HELLO)).sni, 'ok.test');
  });

  it('TlsSession: mutated streams in random segments never throw; a fresh session parses the valid stream', () => {
    const edits = fc.array(fc.tuple(fc.nat(100_000), fc.integer({ min: 0, max: 255 })), { maxLength: 6 });
    const sizes = fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(edits, sizes, fc.boolean(), (e, sz, shuffle) => {
        const s = new TlsSession({ collectAllHellos: true });
        for (const [dir, valid] of [
          [0, VALID_CLIENT],
          [1, VALID_SERVER],
        ] as const) {
          const stream = mutate(valid, e, 0);
          const segs: [number, number][] = [];
          for (let off = 0, i = 0; off < stream.length; i++) {
            const n = Math.min(sz[i % sz.length]!, stream.length - off);
            segs.push([off, n]);
            off += n;
          }
          if (shuffle) segs.reverse();
          for (const [off, n] of segs) s.dirs[dir].segment(stream, off, n, 5000 + off, false);
        }
        s.dirs[0].flush();
        assert.ok(s.anomalies >= 0);
      }),
      { numRuns: 500 },
    );
    const s = new TlsSession();
    s.dirs[0].segment(VALID_CLIENT, 0, VALID_CLIENT.length, 1, false);
    s.dirs[1].segment(VALID_SERVER, 0, VALID_SERVER.length, 1, false);
    assert.equal(s.clientHello?.sni, 'ok.test');
    assert.equal(s.chainLength, 1);
  });
});
