/**
 * Property tests for decodeFrame (src/decode/frame.ts and everything below it): random and mutated frames under
 * every link type never throw, end in a documented status, read nothing outside the captured bytes, leave only
 * integer fields, and leave the reused view able to decode a valid frame exactly as a fresh view does.
 *
 * "Reads nothing outside": the same frame is decoded inside buffers filled with 0x00 and with 0xFF around it and in
 * a buffer of exactly its size (where an outside read yields undefined, hence NaN); all three views must agree.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  DECODE_STATUSES,
  type DecodeStatus,
  decodeFrame,
  LinkType,
  MAX_TUNNEL_DEPTH,
  PacketView,
} from '../../src/decode/index.ts';
import * as P from '../helpers/packets.ts';
import { snapshot } from './util.ts';

const A = '10.0.0.1';
const B = '10.0.0.2';
const ip4 = P.ipv4({ src: A, dst: B, protocol: 6, payload: P.tcp({ sport: 1, dport: 2, payload: P.bytes('data') }) });
const ip6 = P.ipv6({
  src: 'fd00::1',
  dst: 'fd00::2',
  nextHeader: 17,
  extHeaders: [{ type: 0 }, { type: 44, more: true, id: 3 }],
  payload: P.udp({ sport: 3, dport: 4, payload: P.bytes('x') }),
});
const eth = (etherType: number, payload: Uint8Array, vlans?: number[]) => P.ethernet({ etherType, payload, vlans });
const udpCarrier = (dport: number, payload: Uint8Array) =>
  eth(0x0800, P.ipv4({ src: A, dst: B, protocol: 17, payload: P.udp({ sport: 9, dport, payload }) }));

/** Valid frames reaching every decoder, each with its link type. */
const CORPUS: [frame: Uint8Array, linkType: number][] = [
  [P.tcpFrame({ src: A, dst: B, sport: 1, dport: 2, flags: 'SA', options: P.hex('02 04 05 b4'), vlans: [5, 6] }), 1],
  [P.udpFrame({ src: 'fd00::1', dst: 'fd00::2', sport: 1, dport: 2, payload: P.bytes('u') }), 1],
  [P.icmpFrame({ src: A, dst: B, type: 3, code: 1, payload: ip4 }), 1],
  [eth(0x86dd, ip6), 1],
  [eth(0x8847, P.mpls([1, 2], ip4)), 1],
  [eth(0x8847, P.mpls([1], P.concat(new Uint8Array(4), eth(0x0800, ip4)))), 1],
  [eth(0x8864, P.pppoe(0x0021, ip4), [7]), 1],
  [eth(38, P.concat(P.hex('aa aa 03 00 00 00 08 00'), ip4)), 1],
  [eth(0x8909, P.concat(P.hex('01 01 00 01 00 02 08 00'), ip4)), 1],
  [eth(0x0800, P.ipv4({ src: A, dst: B, protocol: 132, payload: P.sctp({ sport: 5, dport: 6 }) })), 1],
  [
    eth(
      0x0800,
      P.ipv4({
        src: A,
        dst: B,
        protocol: 47,
        payload: P.gre({ protocol: 0x6558, key: 1, seq: 2, payload: eth(0x0800, ip4) }),
      }),
    ),
    1,
  ],
  [
    eth(
      0x0800,
      P.ipv4({
        src: A,
        dst: B,
        protocol: 47,
        payload: P.gre({ version: 1, protocol: 0x880b, seq: 1, ack: 1, payload: P.ppp(0x0021, ip4) }),
      }),
    ),
    1,
  ],
  [
    eth(
      0x0800,
      P.ipv4({
        src: A,
        dst: B,
        protocol: 47,
        payload: P.gre({ protocol: 0x22eb, seq: 1, payload: P.concat(new Uint8Array(12), eth(0x0800, ip4)) }),
      }),
    ),
    1,
  ],
  [
    eth(
      0x0800,
      P.ipv4({ src: A, dst: B, protocol: 4, payload: P.ipv4({ src: B, dst: A, protocol: 41, payload: ip6 }) }),
    ),
    1,
  ],
  [udpCarrier(4789, P.vxlan(1, eth(0x86dd, ip6))), 1],
  [udpCarrier(6081, P.geneve(1, 0x6558, eth(0x0800, ip4), new Uint8Array(8))), 1],
  [udpCarrier(2152, P.gtpu(1, ip4, { extHeaders: [{ type: 0x85, content: P.hex('00 01') }] })), 1],
  [udpCarrier(3544, P.teredo(ip6, { port: 1, addr: '192.0.2.1' })), 1],
  [udpCarrier(1701, P.concat(P.hex('48 02 00 00 00 01 00 02 00 00 00 00 ff 03 00 21'), ip4)), 1],
  [udpCarrier(4754, P.gre({ protocol: 0x0800, payload: ip4 })), 1],
  [ip4, LinkType.raw],
  [ip6, LinkType.ipv6],
  [P.linuxSll(0x0800, ip4), LinkType.linuxSll],
  [P.linuxSll2(0x86dd, ip6), LinkType.linuxSll2],
  [P.nullLink(30, ip6), LinkType.null],
  [P.nullLink(2, ip4, true), LinkType.loop],
  [P.ppp(0x0021, ip4), LinkType.ppp],
  [P.cHdlc(0x0800, ip4), LinkType.cHdlc],
  [P.pppoe(0x0057, ip6), LinkType.pppoe],
  [P.concat(P.hex('00 00 08 00 01 00 00 00'), eth(0x0800, ip4)), LinkType.ppi],
  [P.concat(P.hex('02 00 00 00'), new Uint8Array([4 + ip4.length, 0, 9, 0]), ip4), LinkType.nflog],
  [P.radiotap(P.wlanData({ etherType: 0x0800, amsdu: true, fourAddress: true, payload: ip4 })), LinkType.radiotap],
  [
    eth(
      0x0800,
      P.ipv4({
        src: A,
        dst: B,
        protocol: 47,
        payload: P.gre({ protocol: 0x8200, payload: P.wlanData({ etherType: 0x86dd, payload: ip6 }) }),
      }),
    ),
    1,
  ],
  [
    udpCarrier(
      5247,
      P.concat(P.hex('00 10 03 00 00 00 00 00'), P.wlanData({ etherType: 0x0800, qos: true, payload: ip4 })),
    ),
    1,
  ],
];
const LINK_TYPES = [...new Set(CORPUS.map(([, lt]) => lt)), 12, 14, 228, 105, 119];

/** Decode `frame` captured up to capLen in three placements; assert they agree and the result is sane. */
function decodeEverywhere(frame: Uint8Array, capLen: number, wireLen: number, linkType: number, view: PacketView) {
  const results: { status: DecodeStatus; snap: Record<string, unknown> }[] = [];
  for (const fill of [0x00, 0xff, -1]) {
    let buf: Uint8Array;
    let offset: number;
    if (fill < 0) {
      // Exactly the captured bytes: any read past them is past the buffer.
      buf = frame.slice(0, capLen);
      offset = 0;
    } else {
      buf = new Uint8Array(frame.length + 64).fill(fill);
      buf.set(frame.subarray(0, capLen), 32);
      offset = 32;
    }
    const status = decodeFrame(view, buf, offset, capLen, wireLen, 0, linkType);
    assert.ok(DECODE_STATUSES.includes(status), `unknown status ${status}`);
    const snap = snapshot(view, status === 'ok');
    for (const [k, val] of Object.entries(snap)) {
      if (typeof val === 'number') assert.ok(Number.isInteger(val), `${k} = ${val}`);
      if (Array.isArray(val)) for (const w of val) assert.ok(Number.isInteger(w), `${k} word ${w}`);
    }
    if (status === 'ok') checkOk(view, capLen);
    results.push({ status, snap });
  }
  assert.deepEqual(results[1], results[0]);
  assert.deepEqual(results[2], results[0]);
  return results[0]!;
}

/** What an 'ok' view promises: an IP version, and every range inside the captured frame. */
function checkOk(v: PacketView, capLen: number): void {
  const start = v.frameOffset;
  const end = start + capLen;
  assert.ok(v.ipVersion === 4 || v.ipVersion === 6);
  assert.ok(v.l3Offset >= start && v.l3Offset < end, 'l3Offset inside the frame');
  assert.ok(v.l4Offset >= v.l3Offset && v.l4Offset <= end, 'l4Offset inside the frame');
  assert.ok(v.payloadLen >= 0 && v.payloadWireLen >= 0);
  assert.ok(v.payloadOffset >= start && v.payloadOffset + v.payloadLen <= end, 'payload inside the frame');
  assert.ok(v.srcPort >= 0 && v.srcPort <= 0xffff && v.dstPort >= 0 && v.dstPort <= 0xffff);
  assert.ok(v.protocol >= 0 && v.protocol <= 255);
  assert.ok(v.tunnelDepth >= 0 && v.tunnelDepth <= MAX_TUNNEL_DEPTH);
  assert.equal(v.tunnel === 0, v.tunnelDepth === 0);
}

/** Fresh-view decode of every corpus frame: what the reused view must reproduce after any garbage. */
const EXPECTED = CORPUS.map(([frame, lt]) => {
  const view = new PacketView();
  const r = decodeEverywhere(frame, frame.length, frame.length, lt, view);
  return r;
});

test('every corpus frame decodes ok', () => {
  EXPECTED.forEach((r, i) => {
    assert.equal(r.status, 'ok', `corpus frame ${i}`);
  });
});

test('random bytes under every link type: documented status, no outside reads, view still reusable', () => {
  const view = new PacketView();
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 200 }),
      fc.constantFrom(...LINK_TYPES),
      fc.nat(CORPUS.length - 1),
      (bytes, linkType, pick) => {
        decodeEverywhere(bytes, bytes.length, bytes.length + (bytes[0] ?? 0), linkType, view);
        const [frame, lt] = CORPUS[pick]!;
        assert.deepEqual(decodeEverywhere(frame, frame.length, frame.length, lt, view), EXPECTED[pick]);
      },
    ),
    { numRuns: 3000 },
  );
});

test('mutated valid frames: byte flips, cuts and lying wire lengths', () => {
  const view = new PacketView();
  fc.assert(
    fc.property(
      fc.nat(CORPUS.length - 1),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
      fc.nat(),
      fc.nat(3000),
      (pick, flips, cutSeed, extraWire) => {
        const [orig, lt] = CORPUS[pick]!;
        const frame = orig.slice();
        for (const [at, value] of flips) frame[at % frame.length] = value;
        const capLen = cutSeed % 3 === 0 ? cutSeed % (frame.length + 1) : frame.length;
        decodeEverywhere(frame, capLen, capLen + extraWire, lt, view);
        assert.deepEqual(decodeEverywhere(orig, orig.length, orig.length, lt, view), EXPECTED[pick]);
      },
    ),
    { numRuns: 6000 },
  );
});

test('frames spliced from corpus pieces (headers from one frame, bytes from another)', () => {
  const view = new PacketView();
  fc.assert(
    fc.property(fc.nat(CORPUS.length - 1), fc.nat(CORPUS.length - 1), fc.nat(), fc.nat(), (a, b, cutA, cutB) => {
      const [fa, lt] = CORPUS[a]!;
      const [fb] = CORPUS[b]!;
      const frame = P.concat(fa.subarray(0, cutA % (fa.length + 1)), fb.subarray(cutB % (fb.length + 1)));
      decodeEverywhere(frame, frame.length, frame.length, lt, view);
    }),
    { numRuns: 3000 },
  );
});

test('bad arguments to decodeFrame are an empty frame, not a crash', () => {
  const view = new PacketView();
  const buf = new Uint8Array(10);
  assert.equal(decodeFrame(view, buf, -1, 5, 5, 0, 1), 'truncated_link');
  assert.equal(decodeFrame(view, buf, 11, 5, 5, 0, 1), 'truncated_link');
  assert.equal(decodeFrame(view, buf, 1.5, 5, 5, 0, 1), 'truncated_link');
  assert.equal(decodeFrame(view, buf, Number.NaN, 5, 5, 0, 1), 'truncated_link');
  assert.equal(decodeFrame(view, buf, 0, -3, 5, 0, 1), 'truncated_link');
  // capLen past the end of buf: only buf's bytes are read.
  const frame = P.tcpFrame({ src: A, dst: B, sport: 1, dport: 2 });
  assert.equal(decodeFrame(view, frame, 0, frame.length + 100, frame.length + 100, 0, 1), 'ok');
  assert.equal(view.truncated, false);
});
