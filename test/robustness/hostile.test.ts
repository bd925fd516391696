/**
 * Hostile inputs built by code, each through the real pipeline (flowsOf / extract): every one is bounded, counted
 * and leaves packets_read = packets_in_flows + Σ dropped. Capture damage is reported with a byte offset and reading
 * continues with the next readable record.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { extract } from '../../src/api.ts';
import type { CaptureWarning } from '../../src/capture/index.ts';
import { MAX_MPLS_LABELS, MAX_TUNNEL_DEPTH, MAX_VLAN_TAGS } from '../../src/decode/status.ts';
import type { ExtractStats } from '../../src/pipeline.ts';
import { TLS_MAX_CERTS } from '../../src/proto/tls.ts';
import {
  dnsFrame,
  dnsPointerCycle,
  dnsSelfPointer,
  mplsStackFrame,
  nestedTunnelFrame,
  T0_US,
  tcpConversation,
  vlanStackFrame,
} from '../fixtures-gen/hostile.ts';
import { udpFrame } from '../helpers/packets.ts';
import { writePcap, writePcapng } from '../helpers/pcap-writer.ts';
import { dropped, flowsOf, type Row } from '../helpers/run.ts';
import {
  buildCertificate,
  certificateBody,
  clientHelloBody,
  concat,
  extSni,
  handshake,
  record,
  records,
  serverHelloBody,
  u8,
  u24,
} from '../helpers/tls-builder.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'flowsieve-hostile-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function assertAccounting(stats: ExtractStats): void {
  assert.equal(stats.packets_read, stats.packets_in_flows + dropped(stats), JSON.stringify(stats.dropped));
}

/** Runs extract over raw capture bytes, collecting warnings. */
async function extractBytes(bytes: Uint8Array, name: string) {
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  const warnings: CaptureWarning[] = [];
  const rows: Row[] = [];
  const { stats } = await extract({
    inputs: [file],
    onWarning: (w) => warnings.push(w),
    onFlow: (r) => rows.push(r as Row),
  });
  assertAccounting(stats);
  return { stats, warnings, rows };
}

const tlsOf = (r: Row) => (r.toJSON!().tls ?? {}) as Record<string, unknown> & { cert?: Record<string, unknown> };
const hello = handshake(1, clientHelloBody({ extensions: [extSni('big.example')] }));

test('a TLS handshake message claiming 16 MB is cut at the handshake limit, hello fields kept', async () => {
  // ClientHello header with length 0xFFFFFF (RFC 8446 §4: uint24), its real body, then 1 MiB of filler in 64 records.
  const claim = concat(u8(1), u24(0xffffff), hello.subarray(4));
  const stream = records(22, concat(claim, new Uint8Array(1 << 20).fill(0x42)));
  const { rows, stats } = await flowsOf(tcpConversation([[0, stream]]));
  assertAccounting(stats);
  assert.equal(rows.length, 1);
  assert.equal(stats.anomalies.tls_handshake_too_long, 1);
  assert.equal(tlsOf(rows[0]!).anomaly, 'tls_handshake_too_long');
});

test('a TLS record header claiming 65535 bytes (above 2^14 + 2048) is flagged, the flow still ends in a row', async () => {
  const { rows, stats } = await flowsOf(tcpConversation([[0, concat([22, 3, 1, 0xff, 0xff], hello)]]));
  assertAccounting(stats);
  assert.equal(rows.length, 1);
  assert.equal(stats.anomalies.tls_record_too_long, 1);
});

test('a certificate chain of 1,000 entries: at most TLS_MAX_CERTS parsed, the excess flagged', async () => {
  // 1,000 tiny DER "certificates" (INTEGER 1 inside a SEQUENCE): the message fits the 64 KiB handshake buffer,
  // so the certificate-count limit is what must hold.
  const tiny = new Uint8Array([0x30, 0x03, 2, 1, 1]);
  const chain = handshake(11, certificateBody(Array.from({ length: 1000 }, () => tiny)));
  const server = concat(record(22, handshake(2, serverHelloBody()), 0x0303), records(22, chain));
  const { rows, stats } = await flowsOf(
    tcpConversation([
      [0, record(22, hello)],
      [1, server],
    ]),
  );
  assertAccounting(stats);
  assert.equal(rows.length, 1);
  assert.equal(stats.anomalies.tls_too_many_certificates, 1);
  assert.ok((stats.anomalies.tls_bad_certificate ?? 0) <= TLS_MAX_CERTS);
  // 1,000 real certificates (≈560 KB): the handshake buffer limit cuts it first.
  const cert = buildCertificate({ san: ['x.example'] });
  const big = handshake(11, certificateBody(Array.from({ length: 1000 }, () => cert)));
  const r2 = await flowsOf(
    tcpConversation([
      [0, record(22, hello)],
      [1, concat(record(22, handshake(2, serverHelloBody()), 0x0303), records(22, big))],
    ]),
  );
  assertAccounting(r2.stats);
  assert.equal(r2.rows.length, 1);
  assert.equal(r2.stats.anomalies.tls_handshake_too_long, 1);
});

test('DNS compression loops (self pointer, two-pointer cycle) end as dns_pointer_loop', async () => {
  const { rows, stats } = await flowsOf([
    { tsUs: T0_US, data: dnsFrame(dnsSelfPointer(), 1) },
    { tsUs: T0_US + 10, data: dnsFrame(dnsPointerCycle(), 2) },
  ]);
  assertAccounting(stats);
  assert.equal(rows.length, 2);
  assert.equal(stats.anomalies.dns_pointer_loop, 2);
});

test('10,000 VLAN tags and 10,000 MPLS labels are dropped under their named counters', async () => {
  const { rows, stats } = await flowsOf([
    { tsUs: T0_US, data: vlanStackFrame(10_000) },
    { tsUs: T0_US + 1, data: mplsStackFrame(10_000) },
    // The limits themselves still decode.
    { tsUs: T0_US + 2, data: vlanStackFrame(MAX_VLAN_TAGS) },
    { tsUs: T0_US + 3, data: mplsStackFrame(MAX_MPLS_LABELS) },
  ]);
  assertAccounting(stats);
  assert.equal(stats.dropped.too_many_vlan_tags, 1);
  assert.equal(stats.dropped.too_many_mpls_labels, 1);
  assert.equal(stats.packets_in_flows, 2);
  assert.equal(rows.length, 2);
});

test('GRE in VXLAN in GRE ... 50 deep: decoding stops at MAX_TUNNEL_DEPTH, the packet still lands in a flow', async () => {
  const { rows, stats } = await flowsOf([{ tsUs: T0_US, data: nestedTunnelFrame(50) }]);
  assertAccounting(stats);
  assert.equal(rows.length, 1);
  // Level i (0 = innermost wrapper) uses 172.16.i.1; the outermost is 49, and MAX_TUNNEL_DEPTH levels are opened.
  assert.equal(rows[0]!.src_ip, `172.16.${49 - MAX_TUNNEL_DEPTH}.1`);
  assert.notEqual(rows[0]!.tunnel, '');
});

test('a zero-length packet is read, counted as dropped, and the next packet still flows', async () => {
  const good = udpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2 });
  const bytes = writePcap([
    { tsUs: T0_US, data: new Uint8Array(0) },
    { tsUs: T0_US + 1, data: good },
  ]);
  const { stats, rows } = await extractBytes(bytes, 'zero.pcap');
  assert.equal(stats.packets_read, 2);
  assert.equal(dropped(stats), 1);
  assert.equal(rows.length, 1);
});

test('a packet longer than snaplen is warned about with its offset and still delivered', async () => {
  const big = udpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, payload: new Uint8Array(1000) });
  const bytes = writePcap([{ tsUs: T0_US, data: big }], { snaplen: 100 });
  const { stats, warnings } = await extractBytes(bytes, 'snap.pcap');
  const w = warnings.find((x) => x.code === 'capture_caplen_over_snaplen');
  assert.ok(w, JSON.stringify(warnings));
  assert.equal(w.offset, 24); // the record header right after the 24-byte file header
  assert.match(w.message, /24/);
  assert.equal(stats.packets_in_flows, 1);
});

test('a truncated final record is counted with its offset; the records before it flow', async () => {
  const f = (i: number) => udpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1000 + i, dport: 2 });
  const full = writePcap([0, 1, 2].map((i) => ({ tsUs: T0_US + i, data: f(i) })));
  const cut = full.subarray(0, full.length - 10);
  const { stats, warnings, rows } = await extractBytes(cut, 'trunc.pcap');
  assert.equal(stats.dropped.capture_truncated_record, 1);
  assert.equal(rows.length, 2);
  const w = warnings.find((x) => x.code === 'capture_truncated_record');
  const lastRecord = 24 + 2 * (16 + f(0).length);
  assert.equal(w?.offset, lastRecord);
});

/** Four UDP packets in a pcapng section; EPB #1 (the second packet) gets total length `len`. */
function pcapngWithBadLength(len: number): { bytes: Uint8Array; at: number } {
  const f = (i: number) => udpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 2000 + i, dport: 2 });
  const bytes = writePcapng([
    { interfaces: [{ linkType: 1 }], packets: [0, 1, 2, 3].map((i) => ({ tsUs: T0_US + i, data: f(i) })) },
  ]);
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  // SHB is 28 bytes and the IDB 20: EPB #0 starts at 48, EPB #1 right after it.
  const at = 48 + dv.getUint32(48 + 4, true);
  dv.setUint32(at + 4, len, true);
  return { bytes, at };
}

for (const [what, len] of [
  ['not a multiple of 4', 13],
  ['below the 12-byte minimum', 8],
  ['one word too long (trailer mismatch)', 80],
  // Regression (fuzzing, fixed in src/capture/parser.ts finish()): a length under MAX_BLOCK_BYTES that reaches past
  // the end of the file made the rest of the file one "truncated record", silently hiding packets 2 and 3.
  ['reaching past the end of the file', 0x00fffff0],
] as const) {
  test(`a pcapng block length ${what} is reported at its offset and reading resynchronises`, async () => {
    const { bytes, at } = pcapngWithBadLength(len);
    const { stats, warnings, rows } = await extractBytes(bytes, `badblock-${len}.pcapng`);
    assert.equal(warnings[0]?.offset, at, JSON.stringify(warnings));
    assert.ok(warnings.some((w) => w.code === 'capture_resync' && w.offset === at));
    // Packet 1 is the damaged block (one dropped record); 0, 2 and 3 flow.
    assert.deepEqual(rows.map((r) => r.src_port).sort(), [2000, 2002, 2003]);
    assert.equal(stats.packets_read, 4);
    assert.equal(dropped(stats), 1);
  });
}
