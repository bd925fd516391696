/** Names for counters (src/decode/names.ts) and the closed status/anomaly lists (src/decode/status.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DECODE_ANOMALY_NAMES,
  DECODE_STATUS_DOCS,
  DECODE_STATUSES,
  DecodeAnomaly,
  etherTypeName,
  linkTypeName,
} from '../../src/decode/index.ts';

test('linkTypeName names the pcap link types counters will mention', () => {
  assert.equal(linkTypeName(1), 'ethernet');
  assert.equal(linkTypeName(101), 'raw');
  assert.equal(linkTypeName(113), 'linux_sll');
  assert.equal(linkTypeName(276), 'linux_sll2');
  assert.equal(linkTypeName(105), 'ieee802_11');
  assert.equal(linkTypeName(127), 'ieee802_11_radiotap');
  assert.equal(linkTypeName(0), 'null');
  assert.equal(linkTypeName(108), 'loop');
  assert.equal(linkTypeName(64999), 'unknown');
});

test('etherTypeName: registry names, llc for 802.3 lengths, none for 0, hex otherwise', () => {
  assert.equal(etherTypeName(0x0806), 'arp');
  assert.equal(etherTypeName(0x88cc), 'lldp');
  assert.equal(etherTypeName(0x8863), 'pppoe_discovery');
  assert.equal(etherTypeName(0x880b), 'ppp');
  assert.equal(etherTypeName(46), 'llc');
  assert.equal(etherTypeName(1500), 'llc');
  assert.equal(etherTypeName(0), 'none');
  assert.equal(etherTypeName(0x88b5), 'ethertype_0x88b5');
  assert.equal(etherTypeName(0x0601), 'ethertype_0x0601');
});

test('the status list is closed, unique, snake case, and documented', () => {
  assert.equal(new Set(DECODE_STATUSES).size, DECODE_STATUSES.length);
  assert.equal(DECODE_STATUSES[0], 'ok');
  for (const s of DECODE_STATUSES) {
    assert.match(s, /^[a-z][a-z0-9_]*$/);
    assert.ok(DECODE_STATUS_DOCS[s].length > 20, s);
  }
});

test('anomaly bits and names line up', () => {
  const bits = Object.values(DecodeAnomaly);
  assert.equal(bits.length, DECODE_ANOMALY_NAMES.length);
  bits.forEach((bit, i) => {
    assert.equal(bit, 1 << i);
  });
});
