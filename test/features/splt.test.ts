import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeFrame, PacketView } from '../../src/decode/index.ts';
import type { FlowRow } from '../../src/features/meter.ts';
import { SpltMeter } from '../../src/features/splt.ts';
import { bytes, tcpFrame, udpFrame } from '../helpers/packets.ts';

const pv = new PacketView();
/** Decode an Ethernet frame into the shared view at time tsUs. */
function at(frame: Uint8Array, tsUs: number): PacketView {
  assert.equal(decodeFrame(pv, frame, 0, frame.length, frame.length, tsUs, 1), 'ok');
  return pv;
}
const C = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 443 };
const S = { src: '10.0.0.2', dst: '10.0.0.1', sport: 443, dport: 40000 };
const data = (n: number) => new Uint8Array(n).fill(0x41);

/** A TCP flow: handshake (no payload), 3 data packets, pure ACKs between. Times in µs from 1e15. */
function drive(m: SpltMeter, slot: number): FlowRow {
  const t0 = 1_000_000_000_000_000;
  m.onInit(slot, at(tcpFrame({ ...C, flags: 'S' }), t0));
  const seq: [Uint8Array, number, 0 | 1][] = [
    [tcpFrame({ ...C, flags: 'S' }), t0, 0],
    [tcpFrame({ ...S, flags: 'SA' }), t0 + 100, 1],
    [tcpFrame({ ...C, flags: 'A' }), t0 + 200, 0],
    [tcpFrame({ ...C, flags: 'PA', payload: data(517) }), t0 + 300, 0], // ClientHello-sized
    [tcpFrame({ ...S, flags: 'A' }), t0 + 400, 1],
    [tcpFrame({ ...S, flags: 'PA', payload: data(1400) }), t0 + 5_000, 1],
    [tcpFrame({ ...C, flags: 'PA', payload: data(64) }), t0 + 5_050, 0],
  ];
  for (const [f, ts, dir] of seq) m.onUpdate(slot, at(f, ts), dir);
  const row: FlowRow = {};
  m.onExpire(slot, row);
  return row;
}

describe('SpltMeter', () => {
  it('records payload-carrying packets only, with directions and IATs (Joy default)', () => {
    const m = new SpltMeter();
    m.resize(8);
    const row = drive(m, 3);
    assert.deepEqual(row.splt, { lengths: [517, 1400, 64], directions: [0, 1, 0], iats_us: [300, 4700, 50] });
  });

  it('includeEmpty records every packet', () => {
    const m = new SpltMeter({ includeEmpty: true });
    m.resize(8);
    const row = drive(m, 0) as { splt: { lengths: number[]; iats_us: number[] } };
    assert.deepEqual(row.splt.lengths, [0, 0, 0, 517, 0, 1400, 64]);
    assert.deepEqual(row.splt.iats_us, [0, 100, 100, 100, 100, 4600, 50]);
  });

  it('stops at maxPackets, and a reused slot starts empty', () => {
    const m = new SpltMeter({ maxPackets: 2 });
    m.resize(2);
    const row = drive(m, 1) as { splt: { lengths: number[] } };
    assert.deepEqual(row.splt.lengths, [517, 1400]);
    const again = drive(m, 1) as { splt: { lengths: number[] } };
    assert.deepEqual(again.splt.lengths, [517, 1400]);
    const empty: FlowRow = {};
    m.onInit(1, at(tcpFrame({ ...C, flags: 'S' }), 5));
    m.onExpire(1, empty);
    assert.deepEqual(empty.splt, { lengths: [], directions: [], iats_us: [] });
  });

  it('keeps state across resize and gives 0 for a packet older than the previous one', () => {
    const m = new SpltMeter();
    m.resize(1);
    const u = { src: '10.0.0.1', dst: '10.0.0.9', sport: 5000, dport: 6000 };
    m.onInit(0, at(udpFrame({ ...u, payload: bytes('a') }), 1000));
    m.onUpdate(0, at(udpFrame({ ...u, payload: bytes('a') }), 1000), 0);
    m.resize(64);
    m.onUpdate(0, at(udpFrame({ ...u, payload: bytes('bb') }), 900), 0);
    m.onUpdate(0, at(udpFrame({ ...u, payload: bytes('ccc') }), 1500), 0);
    const row: FlowRow = {};
    m.onExpire(0, row);
    assert.deepEqual(row.splt, { lengths: [1, 2, 3], directions: [0, 0, 0], iats_us: [0, 0, 500] });
  });

  it('declares its columns with types and units', () => {
    assert.deepEqual(
      SpltMeter.columns.map((c) => [c.group, c.key, c.type, c.unit]),
      [
        ['splt', 'lengths', 'int_list', 'bytes'],
        ['splt', 'directions', 'int_list', ''],
        ['splt', 'iats_us', 'int_list', 'us'],
      ],
    );
    assert.equal(new SpltMeter().columns, SpltMeter.columns);
  });
});
