import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MAX_BANNER_BYTES, parseSshBanner, SSH_ANOMALIES, startsLikeSsh } from '../../src/proto/ssh.ts';

const enc = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
const CLIENT = enc('SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6\r\n\x00\x00\x05\xdc');

describe('parseSshBanner: valid banners', () => {
  it('splits protocol version, software version and comments (RFC 4253 §4.2)', () => {
    const b = parseSshBanner(CLIENT);
    assert.equal(b.status, 'ok');
    assert.equal(b.banner, 'SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6');
    assert.equal(b.protoVersion, '2.0');
    assert.equal(b.softwareVersion, 'OpenSSH_8.9p1');
    assert.equal(b.comments, 'Ubuntu-3ubuntu0.6');
    assert.equal(b.end, 41);
  });

  it('accepts a bare LF, no comments, and the 1.99 compatibility version', () => {
    const b = parseSshBanner(enc('SSH-1.99-dropbear_2022.83\n'));
    assert.equal(b.status, 'ok');
    assert.equal(b.protoVersion, '1.99');
    assert.equal(b.softwareVersion, 'dropbear_2022.83');
    assert.equal(b.comments, '');
  });

  it('skips server lines sent before the banner', () => {
    const b = parseSshBanner(enc('Welcome to host\r\nauthorised use only\r\nSSH-2.0-srv\r\n'));
    assert.equal(b.status, 'ok');
    assert.equal(b.softwareVersion, 'srv');
  });

  it('startsLikeSsh accepts a prefix of SSH- only', () => {
    assert.equal(startsLikeSsh(enc('SS'), 0, 2), true);
    assert.equal(startsLikeSsh(enc('SSH-2.0'), 0, 7), true);
    assert.equal(startsLikeSsh(enc('GET '), 0, 4), false);
    assert.equal(startsLikeSsh(new Uint8Array(0), 0, 0), false);
  });
});

describe('parseSshBanner: malformed input table', () => {
  const cases: { what: string; bytes: Uint8Array; status: string; anomaly: string }[] = [
    // Banner cut by a segment boundary before its LF.
    { what: 'no line end yet', bytes: enc('SSH-2.0-Open'), status: 'incomplete', anomaly: 'ssh_incomplete' },
    // 400-byte identification line, over the 255-byte limit.
    {
      what: 'banner over 255 bytes',
      bytes: enc(`SSH-2.0-${'x'.repeat(400)}\r\n`),
      status: 'malformed',
      anomaly: 'ssh_banner_too_long',
    },
    { what: 'missing software version', bytes: enc('SSH-2.0\r\n'), status: 'malformed', anomaly: 'ssh_bad_banner' },
    { what: 'empty software version', bytes: enc('SSH-2.0-\r\n'), status: 'malformed', anomaly: 'ssh_bad_banner' },
    { what: 'binary first line', bytes: Uint8Array.of(0x16, 3, 1, 0, 0x0a), status: 'not_ssh', anomaly: 'ssh_not_ssh' },
    {
      what: 'HTTP request',
      bytes: enc('GET / HTTP/1.1\r\nHost: h\r\n\r\n'),
      status: 'incomplete',
      anomaly: 'ssh_incomplete',
    },
    { what: 'too many pre-banner lines', bytes: enc('x\n'.repeat(40)), status: 'not_ssh', anomaly: 'ssh_not_ssh' },
  ];
  for (const c of cases) {
    it(c.what, () => {
      const b = parseSshBanner(c.bytes);
      assert.equal(b.status, c.status);
      assert.equal(b.anomaly, c.anomaly);
      assert.ok(b.banner.length <= MAX_BANNER_BYTES);
    });
  }
});

describe('parseSshBanner: property tests', () => {
  const check = (bytes: Uint8Array) => {
    const b = parseSshBanner(bytes);
    assert.ok(['ok', 'incomplete', 'not_ssh', 'malformed'].includes(b.status));
    assert.ok(b.anomaly === '' || (SSH_ANOMALIES as readonly string[]).includes(b.anomaly));
    assert.ok(b.banner.length <= MAX_BANNER_BYTES);
  };
  it('random bytes never throw', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), check), { numRuns: 3000 });
  });
  it('mutated banners never throw, then a valid banner still parses', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(CLIENT.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 5 }),
        fc.nat(CLIENT.length),
        (edits, cut) => {
          const b = CLIENT.slice(0, cut);
          for (const [i, v] of edits) if (i < b.length) b[i] = v;
          check(b);
          assert.equal(parseSshBanner(CLIENT).softwareVersion, 'OpenSSH_8.9p1');
        },
      ),
      { numRuns: 3000 },
    );
  });
});
