import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_HTTP_LIMITS, detectHttp, HTTP_ANOMALIES, parseHttpHead } from '../../src/proto/http.ts';

const enc = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

const REQUEST = enc(
  'GET /index.html?q=1 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\nBODY',
);
const RESPONSE = enc(
  'HTTP/1.1 200 OK\r\nServer: nginx/1.24.0\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 5\r\n\r\nhello',
);

describe('detectHttp', () => {
  it('recognises requests and responses by their first bytes', () => {
    assert.equal(detectHttp(REQUEST, 0, REQUEST.length), 'request');
    assert.equal(detectHttp(RESPONSE, 0, RESPONSE.length), 'response');
    assert.equal(detectHttp(enc('POST /x HTTP/1.0\r\n'), 0, 18), 'request');
    // TLS record header, SSH banner, a method without its space, too-short prefix.
    assert.equal(detectHttp(Uint8Array.of(0x16, 3, 1, 0, 5), 0, 5), 'none');
    assert.equal(detectHttp(enc('SSH-2.0-x\r\n'), 0, 11), 'none');
    assert.equal(detectHttp(enc('GETX / HTTP/1.1'), 0, 15), 'none');
    // Too few bytes to tell: a proper prefix of a method or of HTTP/ is 'partial', anything else 'none'.
    assert.equal(detectHttp(enc('GE'), 0, 2), 'partial');
    assert.equal(detectHttp(enc('HTTP'), 0, 4), 'partial');
    assert.equal(detectHttp(enc('GET'), 0, 3), 'partial');
    assert.equal(detectHttp(enc('GX'), 0, 2), 'none');
    assert.equal(detectHttp(new Uint8Array(0), 0, 0), 'partial');
  });
});

describe('parseHttpHead: valid heads', () => {
  it('parses a request line and headers', () => {
    const h = parseHttpHead(REQUEST);
    assert.equal(h.status, 'ok');
    assert.equal(h.kind, 'request');
    assert.equal(h.method, 'GET');
    assert.equal(h.uri, '/index.html?q=1');
    assert.equal(h.uriLength, 15);
    assert.equal(h.version, 'HTTP/1.1');
    assert.equal(h.headers.get('host'), 'www.example.com');
    assert.equal(h.headers.get('user-agent'), 'curl/8.5.0');
    assert.equal(h.headerCount, 3);
    assert.equal(h.headEnd, REQUEST.length - 4);
  });

  it('parses a status line and response headers', () => {
    const h = parseHttpHead(RESPONSE);
    assert.equal(h.status, 'ok');
    assert.equal(h.kind, 'response');
    assert.equal(h.statusCode, 200);
    assert.equal(h.reason, 'OK');
    assert.equal(h.headers.get('server'), 'nginx/1.24.0');
    assert.equal(h.headers.get('content-type'), 'text/html; charset=utf-8');
  });

  it('accepts bare LF line ends (RFC 9112 §2.2) and a status line without reason', () => {
    const h = parseHttpHead(enc('HTTP/1.0 404\nServer: x\n\n'));
    assert.equal(h.status, 'ok');
    assert.equal(h.statusCode, 404);
    assert.equal(h.reason, '');
    assert.equal(h.headers.get('server'), 'x');
  });

  it('methods, versions and long mixed-case header names come out as written (lower-cased names)', () => {
    const req = parseHttpHead(enc('PATCH /a HTTP/1.0\r\nX-Forwarded-For-Some-Proxy: 1\r\nACCEPT: */*\r\n\r\n'));
    assert.equal(req.method, 'PATCH');
    assert.equal(req.version, 'HTTP/1.0');
    assert.equal(req.headers.get('x-forwarded-for-some-proxy'), '1');
    assert.equal(req.headers.get('accept'), '*/*');
    // A token that is not a known method still parses as a request line (RFC 9112 §3).
    const other = parseHttpHead(enc('PROPFIND / HTTP/1.1\r\n\r\n'));
    assert.equal(other.method, 'PROPFIND');
    const resp = parseHttpHead(enc('HTTP/2.0 200 OK\r\n\r\n'));
    assert.equal(resp.version, 'HTTP/2.0');
    assert.equal(parseHttpHead(enc('HTTP/1.1 204 No Content\r\n\r\n')).version, 'HTTP/1.1');
  });

  it('header names are case-insensitive and the first occurrence wins', () => {
    const h = parseHttpHead(enc('GET / HTTP/1.1\r\nHOST: a\r\nhost: b\r\n\r\n'));
    assert.equal(h.headers.get('host'), 'a');
    assert.equal(h.headerCount, 2);
  });

  it('a __proto__ header is just a Map entry', () => {
    const h = parseHttpHead(enc('GET / HTTP/1.1\r\n__proto__: polluted\r\n\r\n'));
    assert.equal(h.headers.get('__proto__'), 'polluted');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('truncates a long URI and header values but reports the full URI length', () => {
    const uri = `/${'a'.repeat(999)}`;
    const h = parseHttpHead(enc(`GET ${uri} HTTP/1.1\r\nUser-Agent: ${'u'.repeat(500)}\r\n\r\n`));
    assert.equal(h.status, 'ok');
    assert.equal(h.uriLength, 1000);
    assert.equal(h.uri.length, DEFAULT_HTTP_LIMITS.maxValueLength);
    assert.equal(h.headers.get('user-agent')?.length, DEFAULT_HTTP_LIMITS.maxValueLength);
  });

  it('obs-fold continuation lines are skipped', () => {
    const h = parseHttpHead(enc('GET / HTTP/1.1\r\nX-A: 1\r\n  continued\r\nHost: h\r\n\r\n'));
    assert.equal(h.status, 'ok');
    assert.equal(h.headers.get('host'), 'h');
  });
});

describe('parseHttpHead: valuesOf', () => {
  it('decodes only the values asked for; the other headers stay (empty) and still count toward maxHeaders', () => {
    const h = parseHttpHead(REQUEST, 0, REQUEST.length, DEFAULT_HTTP_LIMITS, new Set(['host']));
    assert.deepEqual(
      [...h.headers],
      [
        ['host', 'www.example.com'],
        ['user-agent', ''],
        ['accept', ''],
      ],
    );
    const all = parseHttpHead(REQUEST, 0, REQUEST.length);
    assert.equal(h.headerCount, all.headerCount);
    assert.equal(h.status, all.status);
    // One header past the limit is the same anomaly whether or not its values are decoded.
    const lines = Array.from({ length: DEFAULT_HTTP_LIMITS.maxHeaders + 1 }, (_, i) => `X-${i}: v${i}\r\n`).join('');
    const many = enc(`GET / HTTP/1.1\r\n${lines}Host: h\r\n\r\n`);
    const some = parseHttpHead(many, 0, many.length, DEFAULT_HTTP_LIMITS, new Set(['host']));
    const every = parseHttpHead(many, 0, many.length);
    assert.equal(some.anomaly, 'http_too_many_headers');
    assert.equal(some.anomaly, every.anomaly);
    assert.deepEqual([...some.headers.keys()], [...every.headers.keys()]);
    assert.equal(some.headers.get('host'), undefined);
  });
});

describe('parseHttpHead: malformed input table', () => {
  const cases: {
    what: string;
    bytes: Uint8Array;
    status: string;
    anomaly: string;
    check?: (h: ReturnType<typeof parseHttpHead>) => void;
  }[] = [
    // Head split across segments: first segment only, no empty line yet; fields so far are kept.
    {
      what: 'headers without the ending CRLF',
      bytes: enc('GET /a HTTP/1.1\r\nHost: h\r\nUser-Ag'),
      status: 'incomplete',
      anomaly: 'http_incomplete',
      check: (h) => assert.equal(h.headers.get('host'), 'h'),
    },
    {
      what: 'request line without CRLF',
      bytes: enc('GET /a HTTP/1.1'),
      status: 'incomplete',
      anomaly: 'http_incomplete',
    },
    // 1 MB header line: stops after maxLineLength bytes.
    {
      what: '1 MB header line',
      bytes: enc(`GET / HTTP/1.1\r\nX-Big: ${'x'.repeat(1 << 20)}\r\n\r\n`),
      status: 'malformed',
      anomaly: 'http_line_too_long',
    },
    {
      what: 'binary data',
      bytes: Uint8Array.of(0x16, 3, 1, 0, 0x0a),
      status: 'not_http',
      anomaly: 'http_bad_start_line',
    },
    { what: 'empty', bytes: new Uint8Array(0), status: 'incomplete', anomaly: 'http_incomplete' },
    { what: 'a prefix of a method', bytes: enc('PO'), status: 'incomplete', anomaly: 'http_incomplete' },
    { what: 'text that is not HTTP', bytes: enc('HELO x'), status: 'not_http', anomaly: 'http_not_http' },
    // Request line without version, e.g. HTTP/0.9 or garbage after a method.
    {
      what: 'request line without version',
      bytes: enc('GET /\r\n\r\n'),
      status: 'malformed',
      anomaly: 'http_bad_start_line',
    },
    {
      what: 'status code not 3 digits',
      bytes: enc('HTTP/1.1 2x0 OK\r\n\r\n'),
      status: 'malformed',
      anomaly: 'http_bad_start_line',
    },
    {
      what: 'header without colon (kept going)',
      bytes: enc('GET / HTTP/1.1\r\nnocolon\r\nHost: h\r\n\r\n'),
      status: 'ok',
      anomaly: 'http_bad_header',
      check: (h) => assert.equal(h.headers.get('host'), 'h'),
    },
    {
      what: 'too many headers',
      bytes: enc(`GET / HTTP/1.1\r\n${Array.from({ length: 100 }, (_, i) => `X-${i}: v\r\n`).join('')}\r\n`),
      status: 'ok',
      anomaly: 'http_too_many_headers',
      check: (h) => {
        assert.equal(h.headers.size, DEFAULT_HTTP_LIMITS.maxHeaders);
        assert.equal(h.headerCount, 100);
      },
    },
  ];
  for (const c of cases) {
    it(c.what, () => {
      const h = parseHttpHead(c.bytes);
      assert.equal(h.status, c.status);
      assert.equal(h.anomaly, c.anomaly);
      c.check?.(h);
    });
  }
});

describe('parseHttpHead: property tests', () => {
  const check = (b: Uint8Array) => {
    const h = parseHttpHead(b);
    assert.ok(['ok', 'incomplete', 'not_http', 'malformed'].includes(h.status));
    assert.ok(h.anomaly === '' || (HTTP_ANOMALIES as readonly string[]).includes(h.anomaly));
    assert.ok(h.headers.size <= DEFAULT_HTTP_LIMITS.maxHeaders);
    assert.ok(h.uri.length <= DEFAULT_HTTP_LIMITS.maxValueLength);
  };
  it('random bytes never throw', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), check), { numRuns: 3000 });
  });
  it('random text-ish input never throws', () => {
    const ch = fc.constantFrom(...'GET /HTP1.:\r\n abcXH-'.split(''));
    fc.assert(
      fc.property(fc.array(ch, { maxLength: 300 }), (cs) => check(enc(`GET / HTTP/1.1\r\n${cs.join('')}`))),
      { numRuns: 2000 },
    );
  });
  it('mutated valid heads never throw, then a valid head still parses', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(REQUEST.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.nat(REQUEST.length),
        (edits, cut) => {
          const b = REQUEST.slice(0, cut);
          for (const [i, v] of edits) if (i < b.length) b[i] = v;
          check(b);
          assert.equal(parseHttpHead(REQUEST).headers.get('host'), 'www.example.com');
        },
      ),
      { numRuns: 3000 },
    );
  });
});
