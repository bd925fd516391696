/**
 * Hostile inputs built by code: resource-exhaustion shapes an attacker can put on the wire or in a file.
 * Each builder says what limit it aims at; the tests in test/robustness check that the limit holds.
 */
import { constants, gzipSync } from 'node:zlib';
import {
  concat as concatBytes,
  ethernet,
  gre,
  ipv4,
  mpls,
  tcp,
  tcpFrame,
  udp,
  udpFrame,
  vxlan,
} from '../helpers/packets.ts';
import type { WritePacket } from '../helpers/pcap-writer.ts';
import { buildInitial, cryptoFrame } from '../helpers/tls-builder.ts';
import { Rng } from './mutate.ts';

export const T0_US = 1_704_067_200_000_000;

/**
 * A TCP conversation: handshake, then each [dir, payload] as one segment with correct sequence numbers, then FIN.
 * dir 0 = client → server. Payloads above 1460 bytes are split into MSS-sized segments.
 */
export function tcpConversation(
  messages: [0 | 1, Uint8Array][],
  o: { client?: string; server?: string; sport?: number; dport?: number; t0Us?: number } = {},
): WritePacket[] {
  const c = o.client ?? '10.0.0.1';
  const s = o.server ?? '10.0.0.2';
  const sport = o.sport ?? 40000;
  const dport = o.dport ?? 443;
  let t = o.t0Us ?? T0_US;
  const seq = [1000, 5000];
  const out: WritePacket[] = [];
  const send = (dir: 0 | 1, flags: string, payload: Uint8Array = new Uint8Array(0)) => {
    const [src, dst, sp, dp] = dir === 0 ? [c, s, sport, dport] : [s, c, dport, sport];
    const data = tcpFrame({ src, dst, sport: sp, dport: dp, seq: seq[dir]!, ack: seq[1 - dir]!, flags, payload });
    out.push({ tsUs: t, data });
    t += 1000;
    seq[dir] = (seq[dir]! + payload.length + (flags.includes('S') || flags.includes('F') ? 1 : 0)) >>> 0;
  };
  send(0, 'S');
  send(1, 'SA');
  send(0, 'A');
  for (const [dir, payload] of messages) {
    for (let off = 0; off < payload.length; off += 1460) send(dir, 'PA', payload.subarray(off, off + 1460));
  }
  send(0, 'FA');
  send(1, 'FA');
  send(0, 'A');
  return out;
}

/** Ethernet frame with `n` stacked 802.1ad/802.1Q tags before IPv4/UDP (decoder limit: MAX_VLAN_TAGS). */
export function vlanStackFrame(n: number): Uint8Array {
  const ip = ipv4({ src: '10.1.0.1', dst: '10.1.0.2', protocol: 17, payload: udp({ sport: 1, dport: 2 }) });
  return ethernet({ vlans: Array.from({ length: n }, (_, i) => (i % 4094) + 1), etherType: 0x0800, payload: ip });
}

/** Ethernet / `n` MPLS labels (bottom-of-stack on the last) / IPv4 / UDP (decoder limit: MAX_MPLS_LABELS). */
export function mplsStackFrame(n: number): Uint8Array {
  const ip = ipv4({ src: '10.2.0.1', dst: '10.2.0.2', protocol: 17, payload: udp({ sport: 1, dport: 2 }) });
  return ethernet({
    etherType: 0x8847,
    payload: mpls(
      Array.from({ length: n }, (_, i) => 16 + i),
      ip,
    ),
  });
}

/**
 * IPv4/TCP wrapped `depth` times, alternating GRE (IP proto 47, RFC 2784) and VXLAN (UDP 4789, RFC 7348, with its
 * inner Ethernet header), outermost in Ethernet. Decoder limit: MAX_TUNNEL_DEPTH.
 */
export function nestedTunnelFrame(depth: number): Uint8Array {
  let ip = ipv4({
    src: '192.168.0.1',
    dst: '192.168.0.2',
    protocol: 6,
    payload: tcp({ sport: 1234, dport: 80, flags: 'S' }),
  });
  for (let i = 0; i < depth; i++) {
    const outer = { src: `172.16.${i % 256}.1`, dst: `172.16.${i % 256}.2` };
    if (i % 2 === 0) ip = ipv4({ ...outer, protocol: 47, payload: gre({ protocol: 0x0800, payload: ip }) });
    else {
      const inner = ethernet({ etherType: 0x0800, payload: ip });
      ip = ipv4({ ...outer, protocol: 17, payload: udp({ sport: 50000, dport: 4789, payload: vxlan(i, inner) }) });
    }
  }
  return ethernet({ etherType: 0x0800, payload: ip });
}

/** DNS response whose question name is a pointer to itself (offset 12): RFC 1035 §4.1.4 forbids nothing, we must. */
export function dnsSelfPointer(): Uint8Array {
  return new Uint8Array([0xab, 0xcd, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
}

/** DNS response with a two-pointer cycle: the answer name points at 14, which points back at 12... */
export function dnsPointerCycle(): Uint8Array {
  return new Uint8Array([
    0xab, 0xce, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
    // question name at 12: label "a" then pointer to 16 (the answer's name)
    1, 0x61, 0xc0, 16,
    // answer at 16: label "b" then pointer back to 12; type A, class IN, TTL, rdlength 4, address
    1, 0x62, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4,
  ]);
}

export function dnsFrame(payload: Uint8Array, id: number): Uint8Array {
  return udpFrame({ src: '10.3.0.1', dst: '10.3.0.53', sport: 30000 + id, dport: 53, payload });
}

/**
 * A gzip "bomb": a pcap whose decompressed size is `inflatedBytes` but whose gzip file is ~1/1000 of that.
 * Built as many gzip members (RFC 1952 §2.2 allows concatenation) of one compressed block of zero-filled 256 KiB
 * records, so building it never allocates the inflated size. Every record is a valid all-zero Ethernet frame
 * (ethertype 0: not IP), so the reader must decode all of it, counting `not_ip`.
 * Returns the bytes and the number of records they hold.
 */
export function gzipBomb(inflatedBytes: number): { bytes: Uint8Array; records: number } {
  const recordData = 262144;
  const recordsPerMember = 64; // 16 MiB of records per member
  const member = new Uint8Array(recordsPerMember * (16 + recordData));
  const dv = new DataView(member.buffer);
  for (let i = 0; i < recordsPerMember; i++) {
    const at = i * (16 + recordData);
    dv.setUint32(at, 1_704_067_200 + i, true);
    dv.setUint32(at + 8, recordData, true);
    dv.setUint32(at + 12, recordData, true);
  }
  const header = new Uint8Array(24);
  const h = new DataView(header.buffer);
  h.setUint32(0, 0xa1b2c3d4, true);
  h.setUint16(4, 2, true);
  h.setUint16(6, 4, true);
  h.setUint32(16, 262144, true);
  h.setUint32(20, 1, true);
  const gzHeader = gzipSync(header);
  const gzMember = gzipSync(member, { level: constants.Z_BEST_COMPRESSION });
  const members = Math.ceil(inflatedBytes / member.length);
  const bytes = new Uint8Array(gzHeader.length + members * gzMember.length);
  bytes.set(gzHeader, 0);
  for (let i = 0; i < members; i++) bytes.set(gzMember, gzHeader.length + i * gzMember.length);
  return { bytes, records: members * recordsPerMember };
}

const PCAP_HEADER = (() => {
  const b = new Uint8Array(24);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, 0xa1b2c3d4, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setUint32(16, 262144, true);
  dv.setUint32(20, 1, true);
  return b;
})();

/**
 * A SYN flood as a pcap byte stream: `flows` SYNs from random IPv4 sources and ports to 10.9.9.9:80, one per
 * flow, 1 µs apart, yielded in chunks of `perChunk` packets. The frame template is patched in place (checksums
 * are not recomputed: the decoder does not verify them), so the generator allocates one chunk buffer per yield.
 */
export async function* synFlood(flows: number, seed = 1, perChunk = 4096): AsyncGenerator<Uint8Array> {
  const rng = new Rng(seed);
  const frame = tcpFrame({ src: '1.1.1.1', dst: '10.9.9.9', sport: 1, dport: 80, flags: 'S', seq: 1 });
  const rec = 16 + frame.length;
  yield PCAP_HEADER.slice();
  for (let done = 0; done < flows; ) {
    const n = Math.min(perChunk, flows - done);
    const chunk = new Uint8Array(n * rec);
    const dv = new DataView(chunk.buffer);
    for (let i = 0; i < n; i++) {
      const at = i * rec;
      const tsUs = T0_US + done + i;
      dv.setUint32(at, Math.floor(tsUs / 1e6), true);
      dv.setUint32(at + 4, tsUs % 1e6, true);
      dv.setUint32(at + 8, frame.length, true);
      dv.setUint32(at + 12, frame.length, true);
      chunk.set(frame, at + 16);
      // IPv4 source at frame offset 14 + 12, TCP source port at 14 + 20.
      dv.setUint32(at + 16 + 26, rng.u32());
      dv.setUint16(at + 16 + 34, 1024 + rng.int(64512));
    }
    done += n;
    yield chunk;
  }
}

/**
 * One TCP flow of `totalBytes` client payload bytes as a pcap stream (1460-byte segments, 10 µs apart, one ACK
 * from the server every 64 segments). The payload opens like an HTTP request whose header never ends, the shape
 * most likely to make a parser buffer: HTTP, TLS and SSH must each give up after their documented limit.
 */
export async function* longTcpFlow(totalBytes: number, perChunk = 1024): AsyncGenerator<Uint8Array> {
  const mss = 1460;
  const payload = new Uint8Array(mss).fill(0x41);
  const firstPayload = concatBytes(new TextEncoder().encode('GET / HTTP/1.1\r\nX-Pad: '), payload).subarray(0, mss);
  const data = tcpFrame({ src: '10.5.0.1', dst: '10.5.0.2', sport: 41000, dport: 80, flags: 'PA', seq: 0, payload });
  const rec = 16 + data.length;
  yield PCAP_HEADER.slice();
  const segments = Math.ceil(totalBytes / mss);
  let seq = 1;
  let t = T0_US;
  const head = [
    tcpFrame({ src: '10.5.0.1', dst: '10.5.0.2', sport: 41000, dport: 80, flags: 'S', seq: 0 }),
    tcpFrame({ src: '10.5.0.2', dst: '10.5.0.1', sport: 80, dport: 41000, flags: 'SA', seq: 0, ack: 1 }),
  ];
  const hb = new Uint8Array(head.reduce((n, f) => n + 16 + f.length, 0));
  let o = 0;
  for (const f of head) {
    const dv = new DataView(hb.buffer, o);
    dv.setUint32(0, Math.floor(t / 1e6), true);
    dv.setUint32(4, t % 1e6, true);
    dv.setUint32(8, f.length, true);
    dv.setUint32(12, f.length, true);
    hb.set(f, o + 16);
    o += 16 + f.length;
    t += 10;
  }
  yield hb;
  const chunk = new Uint8Array(perChunk * rec);
  const dv = new DataView(chunk.buffer);
  for (let i = 0; i < perChunk; i++) chunk.set(data, i * rec + 16);
  for (let done = 0; done < segments; ) {
    const n = Math.min(perChunk, segments - done);
    for (let i = 0; i < n; i++) {
      const at = i * rec;
      dv.setUint32(at, Math.floor(t / 1e6), true);
      dv.setUint32(at + 4, t % 1e6, true);
      dv.setUint32(at + 8, data.length, true);
      dv.setUint32(at + 12, data.length, true);
      // TCP sequence number at frame offset 14 + 20 + 4.
      dv.setUint32(at + 16 + 38, seq >>> 0);
      if (done + i === 0) chunk.set(firstPayload, at + 16 + 54);
      else if (done + i === 1) chunk.set(payload, at + 16 + 54);
      seq += mss;
      t += 10;
    }
    done += n;
    // The consumer parses synchronously before the next pull, so the chunk can be reused (no allocation per chunk).
    yield chunk.subarray(0, n * rec);
  }
}

/**
 * A zstd "bomb" built by hand (RFC 8878): one frame, 128 KiB window, whose blocks alternate a Raw_Block holding a
 * 16-byte pcap record header and an RLE_Block expanding one zero byte to the record's 131072 data bytes
 * (§3.1.1.2: 4 bytes on disk for 128 KiB). ~190 KB of zstd inflate to 1 GiB; no compressor needed.
 */
export function zstdBomb(inflatedBytes: number): { bytes: Uint8Array; records: number } {
  const recordData = 131072;
  const records = Math.ceil(inflatedBytes / (16 + recordData));
  const blockHeader = (last: boolean, type: number, size: number) => {
    const v = (last ? 1 : 0) | (type << 1) | (size << 3);
    return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff];
  };
  // Magic 0xFD2FB528 (LE), Frame_Header_Descriptor 0 (window descriptor present, no FCS, no checksum),
  // Window_Descriptor: exponent 7 → windowLog 17 = 128 KiB.
  const head = [0x28, 0xb5, 0x2f, 0xfd, 0x00, 7 << 3, ...blockHeader(false, 0, 24), ...PCAP_HEADER];
  const per = 3 + 16 + 3 + 1;
  const out = new Uint8Array(head.length + records * per);
  out.set(head, 0);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < records; i++) {
    const at = head.length + i * per;
    out.set(blockHeader(false, 0, 16), at);
    dv.setUint32(at + 3, 1_704_067_200 + i, true);
    dv.setUint32(at + 3 + 8, recordData, true);
    dv.setUint32(at + 3 + 12, recordData, true);
    out.set(blockHeader(i === records - 1, 1, recordData), at + 19);
    out[at + 22] = 0;
  }
  return { bytes: out, records };
}

/**
 * A "half handshake" TLS flood as a pcap stream: `flows` connections from distinct sources, each sending a TLS
 * record whose ClientHello claims 65,532 bytes (only its first segment arrives), then `outOfOrder` 1,400-byte
 * segments beyond a one-segment gap. No flow ever completes: a TLS parser that keeps per-flow reassembly state
 * (handshake buffer, out-of-order queue) holds all of it until the flow ends, for every live flow at once.
 */
export async function* tlsHalfHandshakeFlood(flows: number, outOfOrder = 16, seed = 1): AsyncGenerator<Uint8Array> {
  const rng = new Rng(seed);
  const mss = 1400;
  const first = new Uint8Array(mss).fill(0x61);
  first.set([22, 3, 1, 0x40, 0x00, 1, 0x00, 0xff, 0xfc, 3, 3]);
  const filler = new Uint8Array(mss).fill(0x62);
  yield PCAP_HEADER.slice();
  let t = T0_US;
  for (let f = 0; f < flows; f++) {
    const src = `11.${(f >> 16) & 255}.${(f >> 8) & 255}.${f & 255}`;
    const sport = 1024 + rng.int(60000);
    const isn = rng.u32();
    const frames: Uint8Array[] = [
      tcpFrame({ src, dst: '10.8.8.8', sport, dport: 443, flags: 'S', seq: isn }),
      tcpFrame({ src, dst: '10.8.8.8', sport, dport: 443, flags: 'PA', seq: (isn + 1) >>> 0, payload: first }),
    ];
    for (let i = 0; i < outOfOrder; i++) {
      const seq = (isn + 1 + mss * (2 + i)) >>> 0;
      frames.push(tcpFrame({ src, dst: '10.8.8.8', sport, dport: 443, flags: 'PA', seq, payload: filler }));
    }
    const chunk = new Uint8Array(frames.reduce((n, fr) => n + 16 + fr.length, 0));
    const dv = new DataView(chunk.buffer);
    let o = 0;
    for (const fr of frames) {
      t += 1;
      dv.setUint32(o, Math.floor(t / 1e6), true);
      dv.setUint32(o + 4, t % 1e6, true);
      dv.setUint32(o + 8, fr.length, true);
      dv.setUint32(o + 12, fr.length, true);
      chunk.set(fr, o + 16);
      o += 16 + fr.length;
    }
    yield chunk;
  }
}

/**
 * QUIC Initial flood: `flows` client datagrams from distinct sources, each one valid, decryptable Initial (RFC 9001
 * §5.2 keys come from the public DCID) carrying a 100-byte CRYPTO frame at stream offset 60,000 (RFC 9000 §19.6),
 * i.e. a hole before it. An assembler that sizes its buffer by the highest offset pins ~64 KiB per flow for
 * ~1.2 KB sent.
 */
export async function* quicHighOffsetFlood(flows: number): AsyncGenerator<Uint8Array> {
  const initial = buildInitial({
    dcid: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]),
    frames: cryptoFrame(60_000, new Uint8Array(100)),
    padTo: 1162,
  });
  yield PCAP_HEADER.slice();
  let t = T0_US;
  for (let f = 0; f < flows; f++) {
    const src = `12.${(f >> 16) & 255}.${(f >> 8) & 255}.${f & 255}`;
    const fr = udpFrame({ src, dst: '10.7.7.7', sport: 40000, dport: 443, payload: initial });
    const chunk = new Uint8Array(16 + fr.length);
    const dv = new DataView(chunk.buffer);
    t += 1;
    dv.setUint32(0, Math.floor(t / 1e6), true);
    dv.setUint32(4, t % 1e6, true);
    dv.setUint32(8, fr.length, true);
    dv.setUint32(12, fr.length, true);
    chunk.set(fr, 16);
    yield chunk;
  }
}
