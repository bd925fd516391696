import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeFrame, PacketView } from '../../src/decode/index.ts';
import { HttpMeter, SegmentBuffers } from '../../src/features/http.ts';
import type { FlowRow } from '../../src/features/meter.ts';
import { bytes, tcpFrame, udpFrame } from '../helpers/packets.ts';

const pv = new PacketView();
function at(frame: Uint8Array, tsUs = 1): PacketView {
  assert.equal(decodeFrame(pv, frame, 0, frame.length, frame.length, tsUs, 1), 'ok');
  return pv;
}
// HTTP on a non-standard port: detection is by content.
const C = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 8081, flags: 'PA' };
const S = { src: '10.0.0.2', dst: '10.0.0.1', sport: 8081, dport: 40000, flags: 'PA' };

const REQ =
  'GET /download/payload.exe?id=42 HTTP/1.1\r\nHost: updates.example\r\nUser-Agent: Mozilla/4.0 (compatible)\r\nAccept: */*\r\n\r\n';
const RESP =
  'HTTP/1.1 200 OK\r\nServer: Apache/2.4.1\r\nContent-Type: application/octet-stream\r\nContent-Length: 3\r\n\r\nMZ\x90';

/** One flow: SYN, then the given segments [text, dir, seq]. */
function run(m: HttpMeter, segs: [string, 0 | 1, number][], slot = 0): FlowRow {
  m.onInit(slot, at(tcpFrame({ ...C, flags: 'S', seq: 0 })));
  m.onUpdate(slot, pv, 0);
  for (const [text, dir, seq] of segs)
    m.onUpdate(slot, at(tcpFrame({ ...(dir === 0 ? C : S), seq, payload: bytes(text) })), dir);
  const row: FlowRow = {};
  m.onExpire(slot, row);
  return row;
}

const EXPECTED = {
  method: 'GET',
  host: 'updates.example',
  uri: '/download/payload.exe?id=42',
  uri_length: 27,
  user_agent: 'Mozilla/4.0 (compatible)',
  version: 'HTTP/1.1',
  status: 200,
  content_type: 'application/octet-stream',
  server: 'Apache/2.4.1',
  anomaly: '',
};

describe('HttpMeter', () => {
  it('reads the first request and response, each in one segment', () => {
    const m = new HttpMeter();
    m.resize(4);
    assert.deepEqual(
      run(m, [
        [REQ, 0, 1],
        [RESP, 1, 1],
      ]).http,
      EXPECTED,
    );
  });

  it('reassembles heads split across segments, ignoring a retransmission', () => {
    const m = new HttpMeter();
    m.resize(4);
    const a = REQ.slice(0, 20);
    const b = REQ.slice(20, 60);
    const c = REQ.slice(60);
    const r1 = RESP.slice(0, 30);
    const r2 = RESP.slice(30);
    const row = run(m, [
      [a, 0, 1],
      [r1, 1, 1],
      [a, 0, 1], // retransmission of the first segment
      [b, 0, 1 + a.length],
      [c, 0, 1 + a.length + b.length],
      [r2, 1, 1 + r1.length],
    ]);
    assert.deepEqual(row.http, EXPECTED);
  });

  it('a sequence gap ends the wait with the fields parsed so far', () => {
    const m = new HttpMeter();
    m.resize(1);
    const a = REQ.slice(0, 70); // request line and Host complete (65 bytes), User-Agent begun
    const row = run(m, [
      [a, 0, 1],
      [REQ.slice(80), 0, 81], // 10 bytes missing
    ]);
    const http = row.http as Record<string, unknown>;
    assert.equal(http.host, 'updates.example');
    assert.equal(http.user_agent, null);
    assert.equal(http.anomaly, 'http_incomplete');
  });

  it('a head longer than the buffer is cut at the bound', () => {
    const m = new HttpMeter({ maxHeadBytes: 128 });
    m.resize(1);
    const big = `GET / HTTP/1.1\r\nHost: h\r\nX-Pad: ${'p'.repeat(100)}\r\n`;
    const row = run(m, [
      [big, 0, 1],
      ['X-More: 1\r\n', 0, 1 + big.length],
      ['\r\n', 0, 1 + big.length + 11],
    ]);
    const http = row.http as Record<string, unknown>;
    assert.equal(http.host, 'h');
    assert.equal(http.anomaly, 'http_incomplete');
  });

  it('a head still incomplete when the flow ends keeps what was parsed', () => {
    const m = new HttpMeter();
    m.resize(1);
    const http = run(m, [['POST /api HTTP/1.0\r\nHost: a\r\n', 0, 1]]).http as Record<string, unknown>;
    assert.equal(http.method, 'POST');
    assert.equal(http.host, 'a');
    assert.equal(http.status, null);
  });

  it('non-HTTP TCP and UDP flows get no http group', () => {
    const m = new HttpMeter();
    m.resize(2);
    assert.equal(
      run(m, [
        ['\x16\x03\x01\x02\x00\x01', 0, 1],
        ['GET / HTTP/1.1\r\n\r\n', 0, 7],
      ]).http,
      undefined,
    );
    m.onInit(1, at(udpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 80, payload: bytes(REQ) })));
    m.onUpdate(1, pv, 0);
    const row: FlowRow = {};
    m.onExpire(1, row);
    assert.equal(row.http, undefined);
  });

  it('property: any segmentation of the heads, with retransmitted segments, gives the same fields', () => {
    const m = new HttpMeter();
    m.resize(1);
    const cuts = (text: string) => fc.uniqueArray(fc.integer({ min: 1, max: text.length - 1 }), { maxLength: 8 });
    fc.assert(
      fc.property(cuts(REQ), cuts(RESP), fc.array(fc.nat(20), { maxLength: 3 }), (rc, sc, dups) => {
        const segments = (text: string, at: number[], dir: 0 | 1): [string, 0 | 1, number][] => {
          const bounds = [0, ...[...at].sort((a, b) => a - b), text.length];
          return bounds.slice(1).map((end, i) => [text.slice(bounds[i]!, end), dir, 1 + bounds[i]!]);
        };
        const segs = [...segments(REQ, rc, 0), ...segments(RESP, sc, 1)];
        for (const d of dups) {
          const s = segs[d % segs.length]!;
          segs.splice((d % segs.length) + 1, 0, s); // the same segment again right after: a retransmission
        }
        assert.deepEqual(run(m, segs).http, EXPECTED);
      }),
      { numRuns: 300 },
    );
  });

  it('declares every column it writes', () => {
    const m = new HttpMeter();
    m.resize(1);
    const http = run(m, [
      [REQ, 0, 1],
      [RESP, 1, 1],
    ]).http as object;
    assert.deepEqual(Object.keys(http).sort(), HttpMeter.columns.map((c) => c.key).sort());
  });
});

describe('SegmentBuffers', () => {
  it('appends in order, trims overlaps, reports gaps, duplicates and the bound', () => {
    const sb = new SegmentBuffers(10);
    sb.resize(1);
    const seg = (seq: number, text: string) => at(tcpFrame({ ...C, seq, payload: bytes(text) }));
    assert.equal(sb.append(0, 0, seg(100, 'abc')), 'ok');
    assert.equal(sb.append(0, 0, seg(100, 'abc')), 'duplicate');
    assert.equal(sb.append(0, 0, seg(101, 'bcde')), 'ok'); // overlap: only "de" is new
    assert.equal(new TextDecoder().decode(sb.view(0, 0)), 'abcde');
    assert.equal(sb.position(0, 0, seg(105, 'x')), 0);
    assert.equal(sb.position(0, 0, seg(200, 'x')), 1);
    assert.equal(sb.append(0, 0, seg(200, 'x')), 'gap');
    assert.equal(sb.append(0, 0, seg(105, 'fghijklm')), 'full');
    assert.equal(new TextDecoder().decode(sb.view(0, 0)), 'abcdefghij');
    sb.consume(0, 0, 4);
    assert.equal(new TextDecoder().decode(sb.view(0, 0)), 'efghij');
    sb.clear(0, 0);
    assert.equal(sb.length(0, 0), 0);
  });

  it('sequence numbers wrap modulo 2^32 (RFC 9293 §3.4)', () => {
    const sb = new SegmentBuffers(16);
    sb.resize(1);
    const seg = (seq: number, text: string) => at(tcpFrame({ ...C, seq, payload: bytes(text) }));
    assert.equal(sb.append(0, 1, seg(0xfffffffe, 'abcd')), 'ok');
    assert.equal(sb.append(0, 1, seg(2, 'ef')), 'ok');
    assert.equal(new TextDecoder().decode(sb.view(0, 1)), 'abcdef');
  });
});
