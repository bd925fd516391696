import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeFrame, PacketView } from '../../src/decode/index.ts';
import { MarkovMeter } from '../../src/features/markov.ts';
import { type FlowRow, flatName } from '../../src/features/meter.ts';
import { flattenRow } from '../../src/output/columns.ts';
import { tcpFrame } from '../helpers/packets.ts';

const pv = new PacketView();
function at(frame: Uint8Array, tsUs: number): PacketView {
  assert.equal(decodeFrame(pv, frame, 0, frame.length, frame.length, tsUs, 1), 'ok');
  return pv;
}
const C = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 443, flags: 'PA' };

/** Run payload lengths at the given times (µs) through one flow. */
function run(m: MarkovMeter, lens: number[], times: number[]): Record<string, number> {
  m.onInit(0, at(tcpFrame({ ...C, flags: 'S' }), 0));
  m.onUpdate(0, pv, 0);
  for (let i = 0; i < lens.length; i++) {
    m.onUpdate(0, at(tcpFrame({ ...C, payload: new Uint8Array(lens[i]!) }), times[i]!), 0);
  }
  const row: FlowRow = {};
  m.onExpire(0, row);
  return row.markov as Record<string, number>;
}

describe('MarkovMeter', () => {
  it('row-normalised transition matrices of 150-byte length bins and 50 ms IAT bins', () => {
    const m = new MarkovMeter();
    m.resize(1);
    // Lengths 100 (bin 0), 200 (bin 1), 100 (bin 0), 1500 (bin 9): transitions 0→1, 1→0, 0→9.
    // IATs from the SYN at 0: 10 ms (bin 0), 60 ms (bin 1), 1000 ms (bin 9), 10 ms (bin 0):
    // transitions 0→1, 1→9, 9→0.
    const mk = run(m, [100, 200, 100, 1500], [10_000, 70_000, 1_070_000, 1_080_000]);
    const nonzero = Object.entries(mk).filter(([, v]) => v !== 0);
    assert.deepEqual(Object.fromEntries(nonzero), {
      bidirectional_transition_ps_0_1: 0.5,
      bidirectional_transition_ps_0_9: 0.5,
      bidirectional_transition_ps_1_0: 1,
      bidirectional_transition_piat_0_1: 1,
      bidirectional_transition_piat_1_9: 1,
      bidirectional_transition_piat_9_0: 1,
    });
    assert.equal(Object.keys(mk).length, 200);
  });

  it('each visited row sums to 1 and only the first maxPackets count', () => {
    const m = new MarkovMeter({ maxPackets: 3 });
    m.resize(1);
    const mk = run(m, [1400, 1400, 1400, 10, 10], [1, 2, 3, 4, 5]);
    assert.equal(mk.bidirectional_transition_ps_9_9, 1);
    assert.equal(mk.bidirectional_transition_ps_9_0, 0);
    let sum = 0;
    for (let j = 0; j < 10; j++) sum += mk[`bidirectional_transition_piat_0_${j}`]!;
    assert.ok(Math.abs(sum - 1) < 1e-9);
  });

  it('its group object flattens to the 200 declared flat columns', () => {
    const m = new MarkovMeter();
    m.resize(1);
    m.onInit(0, at(tcpFrame({ ...C, payload: new Uint8Array(10) }), 0));
    m.onUpdate(0, pv, 0);
    m.onUpdate(0, at(tcpFrame({ ...C, payload: new Uint8Array(10) }), 1), 0);
    const row: FlowRow = {};
    m.onExpire(0, row);
    const flat = flattenRow(row, MarkovMeter.columns);
    assert.equal(flat.markov_bidirectional_transition_ps_0_0, 1);
    assert.equal(flat.markov_bidirectional_transition_piat_9_9, 0);
    assert.deepEqual(Object.keys(flat), MarkovMeter.columns.map(flatName));
    assert.equal(JSON.parse(JSON.stringify(row)).markov.bidirectional_transition_ps_0_0, 1);
  });

  it('declares 200 float columns in group markov', () => {
    assert.equal(MarkovMeter.columns.length, 200);
    assert.ok(MarkovMeter.columns.every((c) => c.group === 'markov' && c.type === 'float'));
    assert.equal(new Set(MarkovMeter.columns.map((c) => c.key)).size, 200);
  });
});
