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
  private readonly decline: boolean;

  constructor(o: { lazy?: boolean; payloadOnly?: boolean; protocols?: readonly number[]; decline?: boolean }) {
    this.lazyInit = o.lazy ?? true;
    this.payloadOnly = o.payloadOnly ?? false;
    this.protocols = o.protocols;
    this.decline = o.decline ?? false;
  }
  resize(): void {}
  onInit(_slot: number, pkt: PacketView): boolean {
    this.calls.push(`init ${pkt.payloadLen}`);
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

  it('eager meters (lazyInit unset) still see every flow from its first packet', () => {
    const m = new Recorder({ lazy: false, payloadOnly: true });
    run([syn, synAck, ack], m);
    // The first packet always reaches an eager meter; the empty ones after it do not.
    assert.deepEqual(m.calls, ['init 0', 'update 0 0', 'expire']);
  });

  it('the protocol meters are lazy; the meters that write columns for every flow are not', () => {
    const meters = new Map(defaultMeters().map((m) => [m.name, m]));
    for (const name of ['tls', 'quic', 'http', 'ssh']) assert.equal(meters.get(name)!.lazyInit, true, name);
    for (const name of ['stats', 'splt', 'bytes', 'dns']) assert.notEqual(meters.get(name)!.lazyInit, true, name);
  });
});
