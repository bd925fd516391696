/**
 * Lazy meters (src/features/meter.ts, "Lazy meters"): the pipeline calls a lazy meter only for flows of its
 * protocols, from the first packet its onUpdate would get, and skips its onExpire when it never started or when its
 * onInit declined. Checked here call by call with a recording meter; that the default meters' rows do not change is
 * test/features/early-finish.test.ts's job (its wrappers hide `lazyInit`, so every meter sees every flow there).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PacketView } from '../../src/decode/packet.ts';
import { defaultMeters } from '../../src/features/index.ts';
import type { FlowRow, Meter } from '../../src/features/meter.ts';
import { StatsMeter } from '../../src/features/stats.ts';
import { FlowPipeline } from '../../src/pipeline.ts';
import { bytes, tcpFrame, udpFrame } from '../helpers/packets.ts';

/** A meter that logs its calls: `init <payload length>`, `update <dir> <payload length>`, `expire`. */
class Recorder implements Meter {
  readonly name = 'recorder';
  readonly columns = [];
  readonly skipsEmptyPackets = true;
  readonly lazyInit: boolean;
  readonly payloadOnly: boolean;
  readonly protocols: readonly number[] | undefined;
  readonly calls: string[] = [];
  /** onInit's flowStartUs argument, per call. */
  readonly starts: number[] = [];
  private readonly decline: boolean;

  constructor(o: {
    lazy?: boolean;
    payloadOnly?: boolean;
    protocols?: readonly number[];
    decline?: boolean;
    unseen?: boolean;
  }) {
    this.lazyInit = o.lazy ?? true;
    if (o.unseen) this.onExpireUnseen = () => this.calls.push('unseen');
    this.payloadOnly = o.payloadOnly ?? false;
    this.protocols = o.protocols;
    this.decline = o.decline ?? false;
  }
  resize(): void {}
  onExpireUnseen?: (row: FlowRow) => void;
  onInit(_slot: number, pkt: PacketView, flowStartUs?: number): boolean {
    this.calls.push(`init ${pkt.payloadLen}`);
    this.starts.push(flowStartUs ?? -1);
    return !this.decline;
  }
  onUpdate(_slot: number, pkt: PacketView, dir: 0 | 1): void {
    this.calls.push(`update ${dir} ${pkt.payloadLen}`);
  }
  onExpire(_slot: number, _row: FlowRow): void {
    this.calls.push('expire');
  }
}

const C = '10.0.0.1';
const S = '10.0.0.2';
const syn = tcpFrame({ src: C, dst: S, sport: 40000, dport: 80, flags: 'S', seq: 100 });
const synAck = tcpFrame({ src: S, dst: C, sport: 80, dport: 40000, flags: 'SA', seq: 500, ack: 101 });
const ack = tcpFrame({ src: C, dst: S, sport: 40000, dport: 80, flags: 'A', seq: 101, ack: 501 });
const data = tcpFrame({ src: C, dst: S, sport: 40000, dport: 80, flags: 'PA', seq: 101, payload: bytes('abc') });
const reply = tcpFrame({ src: S, dst: C, sport: 80, dport: 40000, flags: 'PA', seq: 501, payload: bytes('hello') });
const otherSyn = tcpFrame({ src: C, dst: S, sport: 40001, dport: 80, flags: 'S', seq: 900 });
const datagram = udpFrame({ src: C, dst: S, sport: 40000, dport: 9000, payload: bytes('ping') });

/** One input through a pipeline with the statistics meter (eager) and `meter`; returns the rows. */
function run(frames: Uint8Array[], meter: Meter): FlowRow[] {
  const rows: FlowRow[] = [];
  const p = new FlowPipeline({
    meters: [new StatsMeter(), meter],
    onFlow: (r) => rows.push(r),
    sourceFileColumn: false,
  });
  p.startFile('test');
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]!;
    p.packet(f, 0, f.length, f.length, 1_700_000_000_000_000 + i * 1000, 1);
  }
  p.endFile();
  return rows;
}

describe('lazy meters', () => {
  it('a flow without payload costs a payload-only meter nothing, SYN included', () => {
    const m = new Recorder({ payloadOnly: true });
    assert.equal(run([syn, synAck, ack], m).length, 1);
    assert.deepEqual(m.calls, []);
  });

  it('start at the first SYN unless payload-only', () => {
    const m = new Recorder({});
    run([ack, syn, synAck], m);
    // The flow's first packet (a bare ACK) goes to eager meters only; the SYN wakes this one.
    assert.deepEqual(m.calls, ['init 0', 'update 0 0', 'update 1 0', 'expire']);
  });

  it('start at the first payload packet, with that packet, and then see every packet they read', () => {
    const m = new Recorder({ payloadOnly: true });
    run([syn, synAck, ack, data, ack, reply], m);
    assert.deepEqual(m.calls, ['init 3', 'update 0 3', 'update 1 5', 'expire']);
  });

  it('get no call for flows of other protocols', () => {
    const tcpOnly = new Recorder({ payloadOnly: true, protocols: [6] });
    run([datagram], tcpOnly);
    assert.deepEqual(tcpOnly.calls, []);
    const udpOnly = new Recorder({ payloadOnly: true, protocols: [17] });
    run([datagram], udpOnly);
    assert.deepEqual(udpOnly.calls, ['init 4', 'update 0 4', 'expire']);
  });

  it('get neither onUpdate nor onExpire after onInit declined', () => {
    const m = new Recorder({ payloadOnly: true, decline: true });
    run([data, reply], m);
    assert.deepEqual(m.calls, ['init 3']);
  });

  it("are told the flow's start time when they start at a later packet", () => {
    const lazy = new Recorder({ payloadOnly: true });
    const eager = new Recorder({ lazy: false });
    run([syn, synAck, ack, data], lazy);
    run([syn, synAck, ack, data], eager);
    // run() stamps packet i at T0 + i ms: both start from the SYN's time.
    assert.deepEqual(lazy.starts, [1_700_000_000_000_000]);
    assert.deepEqual(eager.starts, [1_700_000_000_000_000]);
  });

  it('with onExpireUnseen: that call instead of onExpire for a flow they never saw, none after declining', () => {
    const m = new Recorder({ payloadOnly: true, unseen: true });
    run([syn, synAck, ack], m);
    assert.deepEqual(m.calls, ['unseen']);
    const seen = new Recorder({ payloadOnly: true, unseen: true });
    run([syn, data], seen);
    assert.deepEqual(seen.calls, ['init 3', 'update 0 3', 'expire']);
    const other = new Recorder({ payloadOnly: true, unseen: true, protocols: [17] });
    run([syn, synAck, ack], other);
    assert.deepEqual(other.calls, [], 'not a flow of its protocols');
    const declining = new Recorder({ payloadOnly: true, unseen: true, decline: true });
    run([data, reply], declining);
    assert.deepEqual(declining.calls, ['init 3']);
  });

  it("SPLT and bytes start lazily: rows as if they had seen the flow's first packet, shared groups without payload", () => {
    const flows: [string, Uint8Array[]][] = [
      ['data', [syn, synAck, ack, data, reply]],
      ['empty', [syn, synAck, ack]],
    ];
    for (const name of ['splt', 'bytes']) {
      const lazyMeter = () => defaultMeters({ byteDistribution: true }).find((m) => m.name === name)!;
      for (const [what, frames] of flows) {
        const lazy = run(frames, lazyMeter())[0]![name];
        // The same meter made eager (every flow from its first packet, onExpire for all): the reference.
        const eager = Object.assign(lazyMeter(), { lazyInit: false });
        assert.deepEqual(lazy, run(frames, eager)[0]![name], `${name} ${what}`);
        assert.deepEqual(Object.keys(lazy as object), Object.keys(run(frames, eager)[0]![name] as object));
      }
      // Two flows without payload through one meter: one shared group, frozen.
      const [a, b] = run([syn, otherSyn], lazyMeter());
      assert.equal(a![name], b![name], `${name}: one group for both`);
      assert.ok(Object.isFrozen(a![name]), `${name}: shared, so frozen`);
    }
    // The first entry's IAT counts from the SYN (3 ms earlier), not from the packet that woke the meter.
    const splt = run([syn, synAck, ack, data, reply], defaultMeters().find((m) => m.name === 'splt')!)[0]!.splt;
    assert.deepEqual(splt, { lengths: [3, 5], directions: [0, 1], iats_us: [3000, 1000] });
  });

  it('eager meters (lazyInit unset) still see every flow from its first packet', () => {
    const m = new Recorder({ lazy: false, payloadOnly: true });
    run([syn, synAck, ack], m);
    // The first packet always reaches an eager meter; the empty ones after it do not.
    assert.deepEqual(m.calls, ['init 0', 'update 0 0', 'expire']);
  });

  it('the protocol meters and the payload-only SPLT and bytes meters are lazy; stats and DNS context are not', () => {
    const meters = new Map(defaultMeters().map((m) => [m.name, m]));
    for (const name of ['tls', 'quic', 'http', 'ssh', 'splt', 'bytes'])
      assert.equal(meters.get(name)!.lazyInit, true, name);
    for (const name of ['stats', 'dns']) assert.notEqual(meters.get(name)!.lazyInit, true, name);
    for (const name of ['splt', 'bytes']) assert.equal(typeof meters.get(name)!.onExpireUnseen, 'function', name);
  });
});
