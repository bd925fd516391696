/**
 * The meters' early-finish contract (src/features/meter.ts): a meter that returns false from onInit/onUpdate, or
 * declares `skipsEmptyPackets` / `payloadOnly`, promises that the packets the pipeline then withholds would have
 * changed nothing; a lazy meter (`lazyInit`, `protocols`) promises that the flows it is never started for, or
 * declines in onInit, would have got no column from it. Checked on real traffic: the same captures through the
 * default meters (plus Markov and the byte distribution), once as they are and once behind wrappers that hide all
 * these signals, so every meter sees every packet of every flow; the rows and the anomaly counts must be identical.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeFrame } from '../../src/decode/index.ts';
import { PacketView } from '../../src/decode/packet.ts';
import { defaultMeters } from '../../src/features/index.ts';
import type { FlowRow, Meter } from '../../src/features/meter.ts';
import { SpltMeter } from '../../src/features/splt.ts';
import { runExtract } from '../../src/pipeline.ts';
import { bytes, tcpFrame, udpFrame } from '../helpers/packets.ts';
import { HAS_SHARED, sharedPath } from '../helpers/shared.ts';

/** The same meter with the early-finish and lazy signals hidden: the pipeline then calls it for every packet. */
function everyPacket(m: Meter): Meter {
  return {
    name: m.name,
    columns: m.columns,
    anomalies: m.anomalies,
    resize: (capacity) => m.resize(capacity),
    onInit: (slot, pkt) => {
      m.onInit(slot, pkt);
    },
    onUpdate: (slot, pkt, dir) => {
      m.onUpdate(slot, pkt, dir);
    },
    onExpire: (slot, row) => m.onExpire(slot, row),
    onInputStart: (file) => m.onInputStart?.(file),
  };
}

async function rowsOf(inputs: string[], wrap: boolean): Promise<{ rows: string[]; anomalies: string }> {
  const meters = defaultMeters({ markov: true, byteDistribution: true });
  const rows: string[] = [];
  const stats = await runExtract({
    inputs,
    meters: wrap ? meters.map(everyPacket) : meters,
    onFlow: (row: FlowRow) => rows.push(JSON.stringify(row)),
  });
  return { rows, anomalies: JSON.stringify(stats.anomalies) };
}

// TLS 1.2/1.3 and QUIC handshakes, DTLS, HTTP/1.x, SSH banners, DNS over UDP and TCP, scans and tunnels.
const CAPTURES = [
  'foxio-ja4/latest.pcapng',
  'foxio-ja4/browsers-x509.pcapng',
  'foxio-ja4/quic-tls-handshake.pcapng',
  'foxio-ja4/chrome-cloudflare-quic-with-secrets.pcapng',
  'foxio-ja4/dtls-udp.notest.cap',
  'foxio-ja4/http1-with-cookies.pcapng',
  'foxio-ja4/ssh.pcapng',
  'foxio-ja4/ssh-scp-1050.pcap',
  'foxio-ja4/gre-erspan-vxlan.pcap',
  'foxio-ja4/single-packets.pcap',
  'lab/loopback-mix.pcap',
];

test('withheld packets change nothing: rows equal with every packet dispatched', { skip: !HAS_SHARED }, async () => {
  const inputs = CAPTURES.map((c) => sharedPath('pcaps', c));
  const fast = await rowsOf(inputs, false);
  const full = await rowsOf(inputs, true);
  assert.ok(fast.rows.length > 100, `only ${fast.rows.length} flows`);
  assert.equal(fast.rows.length, full.rows.length);
  for (let i = 0; i < fast.rows.length; i++) assert.equal(fast.rows[i], full.rows[i], `flow ${i}`);
  assert.equal(fast.anomalies, full.anomalies);
});

function view(frame: Uint8Array): PacketView {
  const v = new PacketView();
  assert.equal(decodeFrame(v, frame, 0, frame.length, frame.length, 1_700_000_000_000_000, 1), 'ok');
  return v;
}

test('onInit declines flows of other transports (DNS: of other ports); onUpdate declines once decided', () => {
  const meters = new Map(defaultMeters().map((m) => [m.name, m]));
  for (const m of meters.values()) m.resize(4);
  // A UDP datagram to port 9999 carrying 'hello': not TCP (no TLS-over-TCP session, HTTP or SSH), not QUIC.
  const udp = view(udpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 9999, payload: bytes('hello') }));
  assert.equal(meters.get('http')!.onInit(0, udp), false);
  assert.equal(meters.get('ssh')!.onInit(0, udp), false);
  assert.notEqual(meters.get('quic')!.onInit(0, udp), false);
  assert.equal(meters.get('quic')!.onUpdate(0, udp, 0), false, 'no long header: not QUIC');
  assert.equal(meters.get('dns')!.onInit(0, udp), false, 'not port 53/5353: done once the context is taken');
  const query = view(udpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 53, payload: bytes('hello') }));
  assert.notEqual(meters.get('dns')!.onInit(2, query), false, 'port 53: its messages are wanted');
  // A TCP segment whose first payload is plain text: QUIC declines at once, HTTP and SSH after that payload
  // (both directions are decided only when the other one has spoken too).
  const tcp = view(
    tcpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40001, dport: 7000, flags: 'PA', payload: bytes('xyz') }),
  );
  assert.equal(meters.get('quic')!.onInit(1, tcp), false);
  assert.notEqual(meters.get('http')!.onInit(1, tcp), false);
  assert.notEqual(meters.get('http')!.onUpdate(1, tcp, 0), false, 'dst has not sent anything yet');
  assert.equal(meters.get('http')!.onUpdate(1, tcp, 1), false, 'neither direction starts like HTTP');
  // SPLT: done after N payload packets.
  const splt = new SpltMeter({ maxPackets: 2 });
  splt.resize(1);
  splt.onInit(0, tcp);
  assert.notEqual(splt.onUpdate(0, tcp, 0), false);
  assert.equal(splt.onUpdate(0, tcp, 1), false);
});

test('the payload meters declare that empty packets change nothing for them; stats does not', () => {
  const meters = new Map(defaultMeters().map((m) => [m.name, m]));
  assert.notEqual(meters.get('stats')!.skipsEmptyPackets, true);
  for (const name of ['splt', 'bytes', 'tls', 'quic', 'dns', 'http', 'ssh'])
    assert.equal(meters.get(name)!.skipsEmptyPackets, true, name);
  assert.equal(new SpltMeter({ includeEmpty: true }).skipsEmptyPackets, false);
  // Only TLS reads a SYN without payload (its sequence number starts the stream).
  for (const name of ['splt', 'bytes', 'quic', 'dns', 'http', 'ssh'])
    assert.equal(meters.get(name)!.payloadOnly, true, name);
  assert.notEqual(meters.get('tls')!.payloadOnly, true);
  assert.notEqual(new SpltMeter({ includeEmpty: true }).payloadOnly, true);
});
