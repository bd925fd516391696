/**
 * Question: how many frames per second does decodeFrame handle? Run: `node --import tsx bench/decode.ts`.
 *
 * Builds one buffer of crafted frames (test/helpers/packets.ts), decodes it repeatedly into one PacketView, and
 * prints frames/s for plain Ethernet/IPv4/TCP and for a mix (VLAN, IPv6 + extension headers, UDP, ICMP, GRE,
 * VXLAN, GTP-U, MPLS, ARP). Best pass of 7, CPU time. Measured 2026-11-25, Node 20, shared 2-core container
 * (load ~5 from other jobs; six runs):
 *   ethernet/ipv4/tcp: 13.6-16.3 M frames/s (61-73 ns/frame)     mixed: 7.3-10.4 M frames/s (96-138 ns/frame)
 * `node --trace-gc --import tsx bench/decode.ts` shows no scavenge during the timed passes: no per-frame allocation.
 * The one trick this measured: PacketView.clear() zeroes the address words with stores instead of fill(0), which
 * took the Ethernet/IPv4/TCP case from ~9 to ~16 M frames/s (best of runs, same machine).
 */
import { decodeFrame } from '../src/decode/index.ts';
import { PacketView } from '../src/decode/packet.ts';
import * as P from '../test/helpers/packets.ts';

function pack(frames: Uint8Array[]): { buf: Uint8Array; offsets: Int32Array; lengths: Int32Array } {
  const buf = P.concat(...frames);
  const offsets = new Int32Array(frames.length);
  const lengths = new Int32Array(frames.length);
  let at = 0;
  frames.forEach((f, i) => {
    offsets[i] = at;
    lengths[i] = f.length;
    at += f.length;
  });
  return { buf, offsets, lengths };
}

const payload = P.bytes('GET / HTTP/1.1\r\nHost: example.com\r\n\r\n');
const tcpFrames: Uint8Array[] = [];
for (let i = 0; i < 256; i++) {
  tcpFrames.push(
    P.tcpFrame({ src: `10.0.${i}.1`, dst: '10.1.0.2', sport: 40000 + i, dport: 443, flags: 'PA', seq: i, payload }),
  );
}

const inner = P.tcpFrame({ src: '192.168.0.1', dst: '192.168.0.2', sport: 1, dport: 2, flags: 'A' });
const innerIp = inner.subarray(14);
const mixed: Uint8Array[] = [];
for (let i = 0; i < 32; i++) {
  mixed.push(
    P.tcpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1000 + i, dport: 80, flags: 'S', vlans: [10, 20] }),
    P.udpFrame({ src: 'fd00::1', dst: 'fd00::2', sport: 5353, dport: 53, payload }),
    P.ethernet({
      etherType: 0x86dd,
      payload: P.ipv6({
        src: 'fd00::1',
        dst: 'fd00::2',
        nextHeader: 6,
        extHeaders: [{ type: 0 }, { type: 60 }],
        payload: P.tcp({ sport: 1, dport: 2 }),
      }),
    }),
    P.icmpFrame({ src: '10.0.0.1', dst: '10.0.0.2', type: 8 }),
    P.ethernet({
      etherType: 0x0800,
      payload: P.ipv4({
        src: '1.1.1.1',
        dst: '2.2.2.2',
        protocol: 47,
        payload: P.gre({ protocol: 0x0800, key: 5, payload: innerIp }),
      }),
    }),
    P.udpFrame({ src: '1.1.1.1', dst: '2.2.2.2', sport: 5555, dport: 4789, payload: P.vxlan(1, inner) }),
    P.udpFrame({ src: '1.1.1.1', dst: '2.2.2.2', sport: 2152, dport: 2152, payload: P.gtpu(9, innerIp) }),
    P.ethernet({ etherType: 0x8847, payload: P.mpls([100, 200], innerIp) }),
    P.ethernet({ etherType: 0x0806, payload: new Uint8Array(28) }),
  );
}

/** Best of `trials` timed passes: the machine is shared, so the best pass is the least disturbed one. */
function run(name: string, frames: Uint8Array[], rounds: number, trials = 7): void {
  const { buf, offsets, lengths } = pack(frames);
  const view = new PacketView();
  let ok = 0;
  const once = () => {
    for (let i = 0; i < offsets.length; i++) {
      const len = lengths[i]!;
      if (decodeFrame(view, buf, offsets[i]!, len, len, i, 1) === 'ok') ok++;
    }
  };
  for (let r = 0; r < 200; r++) once(); // warm-up: let V8 optimise before timing
  let bestNs = Number.POSITIVE_INFINITY;
  for (let t = 0; t < trials; t++) {
    ok = 0;
    // CPU time, not wall time: on a shared machine descheduling would otherwise count as decode time.
    const t0 = process.cpuUsage();
    for (let r = 0; r < rounds; r++) once();
    const used = process.cpuUsage(t0);
    bestNs = Math.min(bestNs, (used.user + used.system) * 1000);
  }
  const n = rounds * offsets.length;
  const perFrame = bestNs / n;
  console.log(`${name}: ${(1e3 / perFrame).toFixed(2)} M frames/s (${perFrame.toFixed(1)} ns/frame, ${ok}/${n} ok)`);
}

run('ethernet/ipv4/tcp', tcpFrames, 8_000);
run('mixed', mixed, 8_000);
