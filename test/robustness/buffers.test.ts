/**
 * Per-flow buffers under floods: memory a flow pins must follow the bytes it sent, not a fixed maximum.
 * Regression (found by the flood measurements of bench/flood.ts, fixed in src/features/http.ts SegmentBuffers):
 * the first payload byte of an HTTP, DNS-over-TCP or SSH flow allocated the whole bound (8 KiB for HTTP heads) per
 * direction, so 20,000 flows sending "GET / HTTP/1.1\r\n" each held 12.4 KiB instead of 4.7 KiB.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SegmentBuffers } from '../../src/features/http.ts';
import { packet } from '../helpers/tls-builder.ts';

const ascii = (s: string) => new TextEncoder().encode(s);

test('SegmentBuffers: a 16-byte head pins 256 bytes, not the 8 KiB bound; growth keeps the bytes and the bound', () => {
  const b = new SegmentBuffers(8192);
  b.resize(4);
  const head = ascii('GET / HTTP/1.1\r\n');
  assert.equal(b.append(1, 0, packet(head, { seq: 1000 })), 'ok');
  assert.equal(b.view(1, 0).buffer.byteLength, 256);
  assert.deepEqual(b.view(1, 0), head);
  // Segment after segment in order: the buffer doubles as needed and never exceeds the bound.
  const filler = new Uint8Array(1000).fill(0x41);
  let seq = 1000 + head.length;
  let r = 'ok';
  for (let i = 0; i < 9 && r === 'ok'; i++) {
    r = b.append(1, 0, packet(filler, { seq }));
    seq += filler.length;
  }
  assert.equal(r, 'full');
  assert.equal(b.length(1, 0), 8192);
  assert.equal(b.view(1, 0).buffer.byteLength, 8192);
  assert.deepEqual(b.view(1, 0).subarray(0, head.length), head);
  assert.equal(b.view(1, 0)[8191], 0x41);
  // Another direction and slot are untouched.
  assert.equal(b.length(1, 1), 0);
  assert.equal(b.length(0, 0), 0);
});

test('SegmentBuffers: consume then append reuses the grown buffer', () => {
  const b = new SegmentBuffers(1024);
  b.resize(1);
  b.append(0, 1, packet(new Uint8Array(600).fill(1), { seq: 0 }));
  b.consume(0, 1, 500);
  assert.equal(b.length(0, 1), 100);
  b.append(0, 1, packet(new Uint8Array(300).fill(2), { seq: 600 }));
  assert.equal(b.length(0, 1), 400);
  assert.equal(b.view(0, 1)[99], 1);
  assert.equal(b.view(0, 1)[100], 2);
  assert.equal(b.view(0, 1).buffer.byteLength, 1024);
});
