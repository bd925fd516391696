/** The QUIC meter driven directly with crafted Initial packets (slot 0; dir 0 = client). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FlowRow } from '../../src/features/meter.ts';
import { QuicMeter } from '../../src/features/quic.ts';
import {
  buildInitial,
  clientHelloBody,
  cryptoFrame,
  ext,
  extAlpn,
  extSni,
  extVersions,
  handshake,
  packet,
} from '../helpers/tls-builder.ts';

const DCID = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
const HELLO = handshake(
  1,
  clientHelloBody({
    ciphers: [0x1301, 0x1302, 0x1303],
    extensions: [extSni('h3.test'), extAlpn(['h3']), extVersions([0x0304]), ext(57, [4, 1, 9])],
  }),
);

function run(packets: [0 | 1, Uint8Array][]): FlowRow {
  const m = new QuicMeter();
  m.resize(2);
  m.onInit(0, packet(packets[0]![1], { protocol: 17 }));
  for (const [dir, p] of packets) m.onUpdate(0, packet(p, { protocol: 17 }), dir);
  const row: FlowRow = {};
  m.onExpire(0, row);
  return row;
}

describe('QuicMeter', () => {
  it('writes the quic group from a client Initial', () => {
    const row = run([[0, buildInitial({ dcid: DCID, frames: cryptoFrame(0, HELLO), padTo: 1162 })]]);
    const q = row.quic as Record<string, unknown>;
    assert.equal(q.sni, 'h3.test');
    assert.deepEqual(q.alpn, ['h3']);
    assert.equal(q.version, '00000001');
    assert.match(String(q.ja4), /^q13d0304h3_/);
    assert.deepEqual(q.transport_parameters, [4]);
    assert.equal(q.dcid, '0102030405060708');
  });

  it('ignores server packets and waits past a version negotiation', () => {
    const reserved = buildInitial({ version: 0x1a2a3a4a, dcid: DCID, frames: cryptoFrame(0, HELLO.subarray(0, 10)) });
    const vn = Uint8Array.from([0x80, 0, 0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 1]);
    const v1 = buildInitial({ dcid: DCID, packetNumber: 0, frames: cryptoFrame(0, HELLO) });
    const row = run([
      [0, reserved],
      [1, vn],
      [0, v1],
    ]);
    assert.equal((row.quic as Record<string, unknown>).sni, 'h3.test');
  });

  it('writes nothing for UDP that is not QUIC', () => {
    assert.equal(run([[0, Uint8Array.from([0x12, 0x34, 1, 0, 0, 1])]]).quic, undefined);
  });
});
