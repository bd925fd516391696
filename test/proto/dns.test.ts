import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  DNS_ANOMALIES,
  formatIPv6Bytes,
  formatIPv6Words,
  MAX_POINTER_JUMPS,
  parseDns,
  parseDnsTcp,
} from '../../src/proto/dns.ts';

/** Encode a dotted name as uncompressed labels. */
function labels(name: string): number[] {
  const out: number[] = [];
  if (name !== '.') for (const l of name.split('.')) out.push(l.length, ...Array.from(l, (c) => c.charCodeAt(0)));
  out.push(0);
  return out;
}
const u16 = (v: number) => [v >> 8, v & 0xff];
const u32 = (v: number) => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
function header(id: number, flags: number, qd: number, an: number, ns = 0, ar = 0): number[] {
  return [...u16(id), ...u16(flags), ...u16(qd), ...u16(an), ...u16(ns), ...u16(ar)];
}

/** Query for example.com A, id 0x1234, RD set. */
const QUERY = Uint8Array.from([...header(0x1234, 0x0100, 1, 0), ...labels('example.com'), ...u16(1), ...u16(1)]);

/**
 * Response: question www.example.com A; answers: www.example.com CNAME cdn.example.net (name = pointer to 12),
 * cdn.example.net A 93.184.216.34 TTL 300 (name = pointer into the CNAME rdata), then AAAA 2001:db8::1 TTL 60.
 */
function buildResponse(): Uint8Array {
  const q = labels('www.example.com'); // at offset 12
  const bytes = [...header(0xbeef, 0x8180, 1, 3), ...q, ...u16(1), ...u16(1)];
  // CNAME record: name -> pointer to 12
  bytes.push(0xc0, 12, ...u16(5), ...u16(1), ...u32(3600));
  const cnameRdata = [3, 0x63, 0x64, 0x6e, ...labels('example.net').slice(0)]; // cdn.example.net uncompressed
  bytes.push(...u16(cnameRdata.length));
  const cnameAt = bytes.length;
  bytes.push(...cnameRdata);
  // A record, owner = pointer to the CNAME target
  bytes.push(0xc0, cnameAt, ...u16(1), ...u16(1), ...u32(300), ...u16(4), 93, 184, 216, 34);
  // AAAA record, owner = pointer to CNAME target
  bytes.push(0xc0, cnameAt, ...u16(28), ...u16(1), ...u32(60), ...u16(16));
  bytes.push(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
  return Uint8Array.from(bytes);
}
const RESPONSE = buildResponse();

describe('parseDns: valid messages', () => {
  it('parses a query header and question', () => {
    const m = parseDns(QUERY);
    assert.equal(m.status, 'ok');
    assert.equal(m.anomaly, '');
    assert.equal(m.id, 0x1234);
    assert.equal(m.response, false);
    assert.equal(m.recursionDesired, true);
    assert.deepEqual(m.questions, [{ name: 'example.com', type: 1, class: 1 }]);
    assert.equal(m.answers.length, 0);
  });

  it('follows compression pointers in owner names and CNAME rdata', () => {
    const m = parseDns(RESPONSE);
    assert.equal(m.status, 'ok');
    assert.equal(m.response, true);
    assert.equal(m.rcode, 0);
    assert.equal(m.ancount, 3);
    assert.equal(m.questions[0]?.name, 'www.example.com');
    assert.deepEqual(
      m.answers.map((a) => [a.name, a.type, a.ttl, a.data]),
      [
        ['www.example.com', 5, 3600, 'cdn.example.net'],
        ['cdn.example.net', 1, 300, '93.184.216.34'],
        ['cdn.example.net', 28, 60, '2001:db8::1'],
      ],
    );
    assert.equal(m.answers[1]?.ipv4, ((93 << 24) | (184 << 16) | (216 << 8) | 34) >>> 0);
    assert.equal(m.answers[0]?.ipv4, -1);
  });

  it('parses inside a larger buffer (offsets relative to the message start)', () => {
    const buf = new Uint8Array(RESPONSE.length + 50);
    buf.set(RESPONSE, 30);
    const m = parseDns(buf, 30, 30 + RESPONSE.length);
    assert.equal(m.status, 'ok');
    assert.equal(m.answers[1]?.data, '93.184.216.34');
  });

  it('reads NXDOMAIN rcode and the root name', () => {
    // Response, rcode 3, question for the root "." type NS.
    const m = parseDns(Uint8Array.from([...header(1, 0x8183, 1, 0), 0, ...u16(2), ...u16(1)]));
    assert.equal(m.status, 'ok');
    assert.equal(m.rcode, 3);
    assert.equal(m.questions[0]?.name, '.');
  });

  it('escapes dots, backslashes and non-printable bytes in labels (RFC 1035 §5.1)', () => {
    // One label "a.b\<0x07>" then "x".
    const name = [5, 0x61, 0x2e, 0x62, 0x5c, 0x07, 1, 0x78, 0];
    const m = parseDns(Uint8Array.from([...header(1, 0x0100, 1, 0), ...name, ...u16(1), ...u16(1)]));
    assert.equal(m.status, 'ok');
    assert.equal(m.questions[0]?.name, 'a\\.b\\\\\\007.x');
  });

  it('caps the answers decoded without calling it an anomaly', () => {
    const bytes = [...header(1, 0x8180, 1, 40), ...labels('a.b'), ...u16(1), ...u16(1)];
    for (let i = 0; i < 40; i++) bytes.push(0xc0, 12, ...u16(1), ...u16(1), ...u32(i), ...u16(4), 10, 0, 0, i);
    const m = parseDns(Uint8Array.from(bytes), 0, bytes.length, { maxQuestions: 4, maxAnswers: 5 });
    assert.equal(m.status, 'ok');
    assert.equal(m.answers.length, 5);
    assert.equal(m.answers[4]?.data, '10.0.0.4');
  });

  it('parses DNS over TCP with its 2-byte length prefix', () => {
    const framed = Uint8Array.from([...u16(RESPONSE.length), ...RESPONSE, 0xff, 0xff]);
    const m = parseDnsTcp(framed);
    assert.ok(m);
    assert.equal(m.status, 'ok');
    assert.equal(m.tcpMessageLength, RESPONSE.length);
    assert.equal(m.answers.length, 3);
    assert.equal(parseDnsTcp(Uint8Array.of(0)), null);
  });

  it('a TCP length beyond the segment parses the part present as truncated', () => {
    const framed = Uint8Array.from([...u16(RESPONSE.length), ...RESPONSE.subarray(0, 60)]);
    const m = parseDnsTcp(framed);
    assert.ok(m);
    assert.equal(m.status, 'truncated');
    assert.equal(m.questions[0]?.name, 'www.example.com');
  });
});

describe('formatIPv6 (RFC 5952 §4)', () => {
  const cases: [number[], string][] = [
    [[0x20010db8, 0, 0, 1], '2001:db8::1'],
    [[0, 0, 0, 0], '::'],
    [[0, 0, 0, 1], '::1'],
    [[0x20010db8, 0x00000001, 0x00010001, 0x00010001], '2001:db8:0:1:1:1:1:1'], // single zero group not shortened
    [[0x20010db8, 0, 0x00010000, 0], '2001:db8:0:0:1::'], // the longer zero run is shortened
    [[0x20010db8, 0, 0x00010000, 1], '2001:db8::1:0:0:1'], // equal runs: the first is shortened
    [[0xfe800000, 0, 0x02004cff, 0xfe4f4f50], 'fe80::200:4cff:fe4f:4f50'],
  ];
  for (const [w, s] of cases) {
    it(s, () => {
      assert.equal(formatIPv6Words(w), s);
      const b = new Uint8Array(16);
      new DataView(b.buffer).setUint32(0, w[0]!);
      new DataView(b.buffer).setUint32(4, w[1]!);
      new DataView(b.buffer).setUint32(8, w[2]!);
      new DataView(b.buffer).setUint32(12, w[3]!);
      assert.equal(formatIPv6Bytes(b, 0), s);
    });
  }
});

describe('parseDns: malformed input table', () => {
  const q = (name: number[], qd = 1, an = 0) =>
    Uint8Array.from([...header(7, 0x0100, qd, an), ...name, ...u16(1), ...u16(1)]);
  const cases: { what: string; bytes: Uint8Array; status: string; anomaly: string }[] = [
    { what: 'empty', bytes: new Uint8Array(0), status: 'truncated', anomaly: 'dns_short_header' },
    {
      what: '11-byte header',
      bytes: Uint8Array.from(header(1, 0, 0, 0).slice(0, 11)),
      status: 'truncated',
      anomaly: 'dns_short_header',
    },
    // Pointer to itself at offset 12: the target is not below the pointer position.
    { what: 'self-pointer loop', bytes: q([0xc0, 12]), status: 'malformed', anomaly: 'dns_pointer_loop' },
    // Label "a" at 12, then a pointer back to 12: a two-step loop.
    { what: 'two-step loop', bytes: q([1, 0x61, 0xc0, 12]), status: 'malformed', anomaly: 'dns_pointer_loop' },
    // Pointer forward to offset 200, past the end.
    { what: 'pointer past end', bytes: q([0xc0, 200]), status: 'malformed', anomaly: 'dns_pointer_range' },
    // Pointer into the header.
    { what: 'pointer into header', bytes: q([0xc0, 3]), status: 'malformed', anomaly: 'dns_pointer_range' },
    // Length byte 0x40 (64 with top bits 01): "label > 63" is a reserved label type.
    {
      what: 'label length 64',
      bytes: q([0x40, ...new Array(64).fill(0x61), 0]),
      status: 'malformed',
      anomaly: 'dns_label_type',
    },
    { what: 'label type 0x80', bytes: q([0x80, 0]), status: 'malformed', anomaly: 'dns_label_type' },
    // Five 63-byte labels: 5 * 64 + 1 = 321 octets > 255.
    {
      what: 'name over 255 octets',
      bytes: q([...Array.from({ length: 5 }, () => [63, ...new Array(63).fill(0x61)]).flat(), 0]),
      status: 'malformed',
      anomaly: 'dns_name_too_long',
    },
    // Label says 10 bytes, only 3 follow.
    {
      what: 'label past end',
      bytes: Uint8Array.from([...header(1, 0, 1, 0), 10, 0x61, 0x62, 0x63]),
      status: 'truncated',
      anomaly: 'dns_short_question',
    },
    // QDCOUNT says 3 but only one question present.
    { what: 'question count lies', bytes: q(labels('a.b'), 3), status: 'truncated', anomaly: 'dns_short_question' },
    // ANCOUNT says 65535 with no answer bytes.
    { what: 'answer count lies', bytes: q(labels('a.b'), 1, 0xffff), status: 'truncated', anomaly: 'dns_short_record' },
    // Pointer cut after its first byte.
    {
      what: 'half pointer',
      bytes: Uint8Array.from([...header(1, 0, 1, 0), 0xc0]),
      status: 'truncated',
      anomaly: 'dns_short_question',
    },
  ];
  for (const c of cases) {
    it(c.what, () => {
      const m = parseDns(c.bytes);
      assert.equal(m.status, c.status);
      assert.equal(m.anomaly, c.anomaly);
      assert.ok((DNS_ANOMALIES as readonly string[]).includes(m.anomaly));
    });
  }

  it('A record with rdlength 5 flags the rdata but keeps the record in sync', () => {
    const bytes = [...header(1, 0x8180, 1, 2), ...labels('a.b'), ...u16(1), ...u16(1)];
    bytes.push(0xc0, 12, ...u16(1), ...u16(1), ...u32(5), ...u16(5), 1, 2, 3, 4, 5);
    bytes.push(0xc0, 12, ...u16(1), ...u16(1), ...u32(6), ...u16(4), 1, 2, 3, 4);
    const m = parseDns(Uint8Array.from(bytes));
    assert.equal(m.anomaly, 'dns_rdata_length');
    assert.equal(m.status, 'malformed');
    assert.equal(m.answers.length, 2);
    assert.equal(m.answers[1]?.data, '1.2.3.4');
  });

  it('rdlength beyond the message is a short record', () => {
    const bytes = [...header(1, 0x8180, 1, 1), ...labels('a.b'), ...u16(1), ...u16(1)];
    bytes.push(0xc0, 12, ...u16(1), ...u16(1), ...u32(5), ...u16(400), 1, 2, 3, 4);
    const m = parseDns(Uint8Array.from(bytes));
    assert.equal(m.anomaly, 'dns_short_record');
    assert.equal(m.answers.length, 0);
  });

  it('CNAME whose name runs past its rdata is flagged', () => {
    const bytes = [...header(1, 0x8180, 1, 1), ...labels('a.b'), ...u16(1), ...u16(1)];
    // rdlength 2 but the name inside is 5 bytes long.
    bytes.push(0xc0, 12, ...u16(5), ...u16(1), ...u32(5), ...u16(2), 3, 0x61, 0x62, 0x63, 0);
    const m = parseDns(Uint8Array.from(bytes));
    assert.equal(m.anomaly, 'dns_rdata_length');
  });

  it('a long chain of valid backward pointers is cut at the jump cap', () => {
    // Question 1 at 12 is "a"; question k >= 2 is a pointer to question k-1's name, so resolving it takes k-1
    // jumps, each strictly backward. Question 129 needs 128 jumps > MAX_POINTER_JUMPS.
    const bytes = [...header(1, 0x0100, 200, 0), 1, 0x61, 0, ...u16(1), ...u16(1)];
    let prev = 12;
    for (let k = 2; k <= 200; k++) {
      const at = bytes.length;
      bytes.push(0xc0 | (prev >> 8), prev & 0xff, ...u16(1), ...u16(1));
      prev = at;
    }
    const m = parseDns(Uint8Array.from(bytes));
    assert.equal(MAX_POINTER_JUMPS, 127);
    assert.equal(m.anomaly, 'dns_pointer_loop');
    assert.equal(m.questions.length, 4);
    assert.ok(m.questions.every((q) => q.name === 'a'));
    // With 128 questions (longest chain 127 jumps) everything resolves.
    const ok = bytes.slice(0, 12 + 7 + 6 * 127);
    ok[5] = 128;
    assert.equal(parseDns(Uint8Array.from(ok)).status, 'ok');
  });
});

describe('parseDns: property tests', () => {
  it('random bytes never throw and give a documented status', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const m = parseDns(bytes);
        assert.ok(['ok', 'truncated', 'malformed'].includes(m.status));
        assert.ok(m.anomaly === '' || (DNS_ANOMALIES as readonly string[]).includes(m.anomaly));
        assert.ok(m.answers.length <= 32 && m.questions.length <= 4);
        for (const q of m.questions) assert.ok(q.name.length <= 255 * 4);
      }),
      { numRuns: 3000 },
    );
  });

  it('mutated valid responses never throw, then a valid response still parses', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(RESPONSE.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.nat(RESPONSE.length),
        (edits, cut) => {
          const b = RESPONSE.slice(0, Math.max(cut, 1));
          for (const [i, v] of edits) if (i < b.length) b[i] = v;
          const m = parseDns(b);
          assert.ok(['ok', 'truncated', 'malformed'].includes(m.status));
          const again = parseDns(RESPONSE);
          assert.equal(again.status, 'ok');
          assert.equal(again.answers[1]?.data, '93.184.216.34');
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('names built from random labels round-trip', () => {
    const label = fc.string({
      unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-'),
      minLength: 1,
      maxLength: 20,
    });
    fc.assert(
      fc.property(fc.array(label, { minLength: 1, maxLength: 8 }), (ls) => {
        const name = ls.join('.');
        const m = parseDns(Uint8Array.from([...header(9, 0x0100, 1, 0), ...labels(name), ...u16(28), ...u16(1)]));
        assert.equal(m.status, 'ok');
        assert.equal(m.questions[0]?.name, name);
        assert.equal(m.questions[0]?.type, 28);
      }),
    );
  });
});
