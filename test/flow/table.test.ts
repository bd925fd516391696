/**
 * Flow semantics through the real pipeline: direction, TCP close (FIN both ways + final ACK, RST, SYN reuse),
 * idle and active timeouts, eviction under a cap, --local-net direction, ICMP pairing, IP fragments, accounting.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCidr } from '../../src/flow/key.ts';
import { bytes, ethernet, icmpFrame, ipv4, tcpFrame, udp, udpFrame } from '../helpers/packets.ts';
import { at, dropped, flowsOf } from '../helpers/run.ts';

const A = '10.0.0.1';
const B = '192.0.2.80';

/** A complete TCP conversation: handshake, one request, one response, FIN from both sides, final ACK. */
function tcpConversation(t: number, sport = 40000) {
  const c = (flags: string, payload = '', dt = 0) => ({
    tsUs: at(t + dt),
    data: tcpFrame({ src: A, dst: B, sport, dport: 80, flags, payload: bytes(payload) }),
  });
  const s = (flags: string, payload = '', dt = 0) => ({
    tsUs: at(t + dt),
    data: tcpFrame({ src: B, dst: A, sport: 80, dport: sport, flags, payload: bytes(payload) }),
  });
  return [
    c('S', '', 0),
    s('SA', '', 0.01),
    c('A', '', 0.02),
    c('PA', 'GET / HTTP/1.1\r\n\r\n', 0.03),
    s('PA', 'HTTP/1.1 200 OK\r\n\r\n', 0.04),
    c('FA', '', 0.05), // the first FIN must not end the flow (CICFlowMeter bug 1)
    s('FA', '', 0.06),
    c('A', '', 0.07), // final ACK belongs to the same flow
  ];
}

test('a TCP conversation is one flow: direction from the first packet, FIN both ways + final ACK', async () => {
  const { rows, stats } = await flowsOf(tcpConversation(0));
  assert.equal(rows.length, 1);
  const r = rows[0]!;
  assert.equal(r.src_ip, A);
  assert.equal(r.dst_port, 80);
  assert.equal(r.fwd_packets, 5);
  assert.equal(r.bwd_packets, 3);
  assert.equal(r.end_reason, 'fin');
  assert.equal(r.fwd_payload_bytes, 18);
  assert.equal(r.bwd_payload_bytes, 19);
  assert.equal(r.duration_us, 70_000);
  assert.equal(stats.packets_read, 8);
  assert.equal(stats.packets_in_flows, 8);
});

test('RST ends a flow; a retransmitted RST joins it; a new SYN on the same key starts a new flow', async () => {
  const f = (t: number, src: string, dst: string, sport: number, dport: number, flags: string) => ({
    tsUs: at(t),
    data: tcpFrame({ src, dst, sport, dport, flags }),
  });
  const { rows } = await flowsOf([
    f(0, A, B, 40001, 443, 'S'),
    f(0.01, B, A, 443, 40001, 'R'),
    f(0.02, B, A, 443, 40001, 'R'), // retransmission: same flow, not a one-packet "appendix" flow
    f(1, A, B, 40001, 443, 'S'), // port reuse: a new flow
    f(1.01, B, A, 443, 40001, 'SA'),
  ]);
  assert.equal(rows.length, 2);
  assert.deepEqual(
    rows.map((r) => [r.fwd_packets, r.bwd_packets, r.end_reason]),
    [
      [1, 2, 'rst'],
      [1, 1, 'end_of_capture'],
    ],
  );
});

test('idle timeout splits a conversation after a long silence; active timeout splits a long one', async () => {
  const u = (t: number) => ({
    tsUs: at(t),
    data: udpFrame({ src: A, dst: B, sport: 5000, dport: 53, payload: bytes('x') }),
  });
  const idle = await flowsOf([u(0), u(1), u(200)], { flow: { idleTimeoutUs: 120e6 } });
  assert.deepEqual(
    idle.rows.map((r) => [r.fwd_packets, r.end_reason]),
    [
      [2, 'idle'],
      [1, 'end_of_capture'],
    ],
  );
  const active = await flowsOf(
    Array.from({ length: 25 }, (_, i) => u(i)),
    { flow: { activeTimeoutUs: 10e6 } },
  );
  assert.deepEqual(
    active.rows.map((r) => [r.fwd_packets, r.end_reason]),
    [
      [11, 'active'],
      [11, 'active'],
      [3, 'end_of_capture'],
    ],
  );
});

test('the table is capped: the least recently seen flow is evicted and counted, no packet lost', async () => {
  const packets = Array.from({ length: 100 }, (_, i) => ({
    tsUs: at(i * 0.001),
    data: tcpFrame({ src: '198.51.100.7', dst: B, sport: 1000 + i, dport: 22, flags: 'S' }),
  }));
  const { rows, stats } = await flowsOf(packets, { flow: { maxFlows: 10 } });
  assert.equal(rows.length, 100);
  assert.equal(stats.evictions, 90);
  assert.equal(rows.filter((r) => r.end_reason === 'evicted').length, 90);
  // Evicted in order of last activity: the first ten out are the first ten in.
  assert.deepEqual(
    rows.slice(0, 10).map((r) => r.src_port),
    Array.from({ length: 10 }, (_, i) => 1000 + i),
  );
  assert.equal(stats.packets_in_flows, 100);
});

test('--local-net makes the local endpoint src even when the outside spoke first', async () => {
  const packets = [
    { tsUs: at(0), data: udpFrame({ src: B, dst: A, sport: 53, dport: 5353, payload: bytes('a') }) },
    { tsUs: at(0.1), data: udpFrame({ src: A, dst: B, sport: 5353, dport: 53, payload: bytes('bb') }) },
  ];
  const plain = await flowsOf(packets);
  assert.equal(plain.rows[0]!.src_ip, B);
  const local = await flowsOf(packets, { flow: { localNets: [parseCidr('10.0.0.0/8')!] } });
  assert.equal(local.rows[0]!.src_ip, A);
  assert.equal(local.rows[0]!.fwd_payload_bytes, 2);
  assert.equal(local.rows[0]!.bwd_payload_bytes, 1);
});

test('ICMP echo request and reply form one flow; an unreachable error forms its own', async () => {
  const { rows } = await flowsOf([
    { tsUs: at(0), data: icmpFrame({ src: A, dst: B, type: 8, rest: 0x00010001 }) },
    { tsUs: at(0.01), data: icmpFrame({ src: B, dst: A, type: 0, rest: 0x00010001 }) },
    { tsUs: at(0.02), data: icmpFrame({ src: B, dst: A, type: 3, code: 3 }) },
  ]);
  assert.equal(rows.length, 2);
  const echo = rows.find((r) => r.icmp_type === 8)!;
  assert.equal(echo.fwd_packets, 1);
  assert.equal(echo.bwd_packets, 1);
  const unreach = rows.find((r) => r.icmp_type === 3)!;
  assert.equal(unreach.icmp_code, 3);
  assert.equal(unreach.src_ip, B);
});

test('IPv6 flows use RFC 5952 addresses', async () => {
  const { rows } = await flowsOf([
    {
      tsUs: at(0),
      data: udpFrame({ src: '2001:db8::1', dst: '2001:db8:0:0:1::2', sport: 1234, dport: 53, payload: bytes('q') }),
    },
  ]);
  assert.equal(rows[0]!.src_ip, '2001:db8::1');
  assert.equal(rows[0]!.dst_ip, '2001:db8::1:0:0:2'); // RFC 5952 §4.2.3: of equal zero runs, the first is compressed
  assert.equal(rows[0]!.ip_version, 6);
});

test('IP fragments: later fragments join the first fragment’s flow; an orphan fragment is counted', async () => {
  const dgram = udp({ sport: 7000, dport: 7001, payload: new Uint8Array(40).fill(7) });
  const first = dgram.subarray(0, 24);
  const rest = dgram.subarray(24);
  const frame = (payload: Uint8Array, fragOffset: number, mf: boolean, id: number) =>
    ethernet({ etherType: 0x0800, payload: ipv4({ src: A, dst: B, protocol: 17, payload, id, fragOffset, mf }) });
  const { rows, stats } = await flowsOf([
    { tsUs: at(0), data: frame(first, 0, true, 77) },
    { tsUs: at(0.001), data: frame(rest, 24, false, 77) },
    { tsUs: at(0.002), data: frame(rest, 24, false, 99) }, // never saw its first fragment
  ]);
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.fwd_packets, 2);
  assert.equal(rows[0]!.src_port, 7000);
  assert.equal(stats.dropped.ip_fragment_without_first, 1);
  assert.equal(stats.packets_read, stats.packets_in_flows + dropped(stats));
});

test('accounting: every packet is in a flow or a named counter', async () => {
  const arp = ethernet({ etherType: 0x0806, payload: new Uint8Array(28) });
  const shortIp = ethernet({ etherType: 0x0800, payload: new Uint8Array(10) });
  const { stats } = await flowsOf([...tcpConversation(0), { tsUs: at(1), data: arp }, { tsUs: at(2), data: shortIp }]);
  assert.equal(stats.packets_read, 10);
  assert.equal(stats.packets_in_flows, 8);
  assert.equal(dropped(stats), 2);
  assert.ok(Object.keys(stats.dropped).some((k) => k.startsWith('not_ip')));
});

test('idle time counts on the capture clock: a flow whose packets run behind it is not split at every packet', async () => {
  const u = (t: number, sport: number) => ({
    tsUs: at(t),
    data: udpFrame({ src: A, dst: B, sport, dport: 53, payload: new Uint8Array(8) }),
  });
  // A flow at 1000 s sets the clock; a second flow's packets are stamped 10–12 s (a merged capture, a clock step).
  // The cap of one live flow evicts the first, so the late flow stands alone in the table.
  const { rows } = await flowsOf([u(1000, 1000), u(10, 2000), u(11, 2000), u(12, 2000)], {
    flow: { idleTimeoutUs: 5e6, maxFlows: 1 },
  });
  assert.deepEqual(
    rows.map((r) => [r.src_port, r.fwd_packets, r.end_reason]),
    [
      [1000, 1, 'evicted'],
      [2000, 3, 'end_of_capture'],
    ],
  );
});

test('a closed TCP flow takes packets for its linger time only, whatever other closed flows do', async () => {
  const f = (t: number, sport: number, flags: string, fromClient = true) => ({
    tsUs: at(t),
    data: fromClient
      ? tcpFrame({ src: A, dst: B, sport, dport: 80, flags })
      : tcpFrame({ src: B, dst: A, sport: 80, dport: sport, flags }),
  });
  const { rows } = await flowsOf(
    [
      // Y closes first, then Z; a late ACK of Y at 4 s keeps Y lingering until 9 s.
      f(0, 41000, 'S'),
      f(0.5, 41000, 'FA'),
      f(1, 41000, 'FA', false),
      f(1.5, 42000, 'S'),
      f(1.6, 42000, 'FA'),
      f(2, 42000, 'FA', false),
      f(4, 41000, 'A'),
      // 5.5 s after Z's last packet: past its 5 s linger, so a new flow, although Y (closed before Z) still lingers.
      f(7.5, 42000, 'A'),
    ],
    { flow: { tcpCloseLingerUs: 5e6 } },
  );
  const z = rows.filter((r) => r.src_port === 42000).map((r) => [r.fwd_packets, r.bwd_packets, r.end_reason]);
  assert.deepEqual(z, [
    [2, 1, 'fin'],
    [1, 0, 'end_of_capture'],
  ]);
  const y = rows.filter((r) => r.src_port === 41000).map((r) => [r.fwd_packets, r.bwd_packets, r.end_reason]);
  assert.deepEqual(y, [[3, 1, 'fin']]);
});
