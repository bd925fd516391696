/**
 * Writes the demo capture: ten minutes of synthetic traffic on a small office network, made entirely by our own
 * code (no third-party capture in the repository). Deterministic: the same bytes on every run.
 *
 * Benign: DNS lookups, HTTPS sessions with browser-like ClientHellos and CA-issued certificates, plain HTTP.
 * Malicious-looking: a client beaconing every ~30 s over TLS to a self-signed server without SNI, a SYN port
 * scan, a SYN flood from spoofed sources, and DNS lookups of long random names (tunnelling-like).
 * Run: node --import tsx scripts/make-sample.ts [out.pcap]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tcpFrame, udpFrame } from '../test/helpers/packets.ts';
import { type WritePacket, writePcap } from '../test/helpers/pcap-writer.ts';
import { cat, certificate, clientHello, record, serverFlight } from './sample/tls.ts';

/** Small deterministic PRNG (mulberry32). */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(20261125);
const randInt = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
const randBytes = (n: number) => Uint8Array.from({ length: n }, () => randInt(0, 255));

const T0 = Date.UTC(2026, 10, 2, 9, 0, 0) * 1000; // µs
const packets: WritePacket[] = [];
const MSS = 1448;

/** A TCP conversation with sequence numbers, segmentation at the MSS and ACKs, ending with FIN/FIN/ACK. */
class TcpSession {
  private cseq = randInt(1, 2 ** 31);
  private sseq = randInt(1, 2 ** 31);
  t: number;
  constructor(
    private readonly client: string,
    private readonly server: string,
    private readonly cport: number,
    private readonly sport: number,
    startUs: number,
    private readonly rttUs: number,
  ) {
    this.t = startUs;
  }
  private emit(fromClient: boolean, flags: string, payload: Uint8Array = new Uint8Array(0)) {
    const f = fromClient
      ? tcpFrame({
          src: this.client,
          dst: this.server,
          sport: this.cport,
          dport: this.sport,
          seq: this.cseq,
          ack: flags === 'S' ? 0 : this.sseq,
          flags,
          payload,
          win: 64240,
        })
      : tcpFrame({
          src: this.server,
          dst: this.client,
          sport: this.sport,
          dport: this.cport,
          seq: this.sseq,
          ack: this.cseq,
          flags,
          payload,
          win: 65160,
        });
    packets.push({ tsUs: Math.round(this.t), data: f });
    if (fromClient)
      this.cseq = (this.cseq + payload.length + (flags.includes('S') || flags.includes('F') ? 1 : 0)) >>> 0;
    else this.sseq = (this.sseq + payload.length + (flags.includes('S') || flags.includes('F') ? 1 : 0)) >>> 0;
  }
  handshake(): this {
    this.emit(true, 'S');
    this.t += this.rttUs / 2;
    this.emit(false, 'SA');
    this.t += this.rttUs / 2;
    this.emit(true, 'A');
    return this;
  }
  send(fromClient: boolean, data: Uint8Array): this {
    this.t += randInt(50, 400);
    for (let o = 0; o < data.length; o += MSS) {
      this.emit(fromClient, o + MSS >= data.length ? 'PA' : 'A', data.slice(o, o + MSS));
      this.t += randInt(5, 60);
    }
    this.t += this.rttUs / 2;
    this.emit(!fromClient, 'A');
    this.t += this.rttUs / 2;
    return this;
  }
  close(): this {
    this.t += randInt(1000, 20000);
    this.emit(true, 'FA');
    this.t += this.rttUs / 2;
    this.emit(false, 'FA');
    this.t += this.rttUs / 2;
    this.emit(true, 'A');
    return this;
  }
}

// ---- DNS (RFC 1035 §4.1): one question, A answers.
const dnsName = (n: string) =>
  cat(...n.split('.').map((l) => cat(Uint8Array.of(l.length), new Uint8Array(Buffer.from(l)))), Uint8Array.of(0));
function dns(id: number, qname: string, answers: string[] | null, nx = false): Uint8Array {
  const flags = answers || nx ? 0x8180 | (nx ? 3 : 0) : 0x0100;
  const header = Uint8Array.of(id >> 8, id & 255, flags >> 8, flags & 255, 0, 1, 0, answers?.length ?? 0, 0, 0, 0, 0);
  const q = cat(dnsName(qname), Uint8Array.of(0, 1, 0, 1));
  const ans = (answers ?? []).map((ip) =>
    cat(Uint8Array.of(0xc0, 12, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4), Uint8Array.from(ip.split('.').map(Number))),
  );
  return cat(header, q, ...ans);
}
const DNS_SERVER = '10.0.0.2';
const resolved = new Map<string, string>();
function lookup(client: string, name: string, ip: string | null, t: number): number {
  const id = randInt(1, 65535);
  const sport = randInt(32768, 60999);
  packets.push({
    tsUs: t,
    data: udpFrame({ src: client, dst: DNS_SERVER, sport, dport: 53, payload: dns(id, name, null) }),
  });
  packets.push({
    tsUs: t + randInt(800, 9000),
    data: udpFrame({
      src: DNS_SERVER,
      dst: client,
      sport: 53,
      dport: sport,
      payload: dns(id, name, ip ? [ip] : [], !ip),
    }),
  });
  if (ip) resolved.set(name, ip);
  return t + 10_000;
}

// ---- certificates
const day = 86_400_000;
const now = new Date(T0 / 1000);
const caName = { cn: 'Example Trust RSA CA 2024', o: 'Example Trust Inc', c: 'US' };
const ca = certificate({
  subject: caName,
  issuer: caName,
  serial: 1,
  notBefore: new Date(+now - 900 * day),
  notAfter: new Date(+now + 2000 * day),
  keySeed: 1,
  issuerKeySeed: 1,
});
const siteCert = (host: string, seed: number) =>
  certificate({
    subject: { cn: host, o: 'Example Sites', c: 'US' },
    issuer: caName,
    serial: 1000 + seed,
    notBefore: new Date(+now - 30 * day),
    notAfter: new Date(+now + 335 * day),
    san: [host, `www.${host.replace(/^www\./, '')}`],
    keySeed: 10 + seed,
    issuerKeySeed: 1,
  });
const c2Name = { cn: 'localhost' };
const c2Cert = certificate({
  subject: c2Name,
  issuer: c2Name,
  serial: 0x1337,
  notBefore: new Date(+now - 2 * day),
  notAfter: new Date(+now + 5 * day),
  keySeed: 66,
  issuerKeySeed: 66,
});

const BROWSER_CIPHERS = [
  0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f,
  0x0035,
];
const BROWSER_GROUPS = [0x001d, 0x0017, 0x0018];
const BROWSER_SIGALGS = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601];

/** Application data split into records of at most 2^14 bytes (RFC 5246 §6.2.1). */
function appData(n: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let left = n; left > 0; left -= 16384) parts.push(record(23, randBytes(Math.min(16384, left))));
  return cat(...parts);
}

function httpsSession(client: string, host: string, serverIp: string, t: number, seed: number, requests: number) {
  const s = new TcpSession(client, serverIp, randInt(49152, 65535), 443, t, randInt(8000, 60000)).handshake();
  s.send(
    true,
    clientHello({
      sni: host,
      alpn: ['h2', 'http/1.1'],
      ciphers: BROWSER_CIPHERS,
      groups: BROWSER_GROUPS,
      sigAlgs: BROWSER_SIGALGS,
      grease: true,
      random: randBytes(32),
    }),
  );
  s.send(false, serverFlight({ cipher: 0xc02f, alpn: 'h2', random: randBytes(32), chain: [siteCert(host, seed), ca] }));
  s.send(true, cat(record(22, randBytes(37)), record(20, Uint8Array.of(1)), record(22, randBytes(40))));
  s.send(false, cat(record(20, Uint8Array.of(1)), record(22, randBytes(40))));
  for (let i = 0; i < requests; i++) {
    s.send(true, record(23, randBytes(randInt(300, 900))));
    s.send(false, appData(randInt(2000, 60000)));
    s.t += randInt(100_000, 3_000_000);
  }
  return s.close().t;
}

// ---- benign office traffic
const SITES = [
  'www.example.com',
  'docs.example.org',
  'cdn.example.net',
  'mail.example.com',
  'news.example.org',
  'shop.example.net',
];
const siteIp = (i: number) => `93.184.216.${10 + i}`;
for (let h = 0; h < 12; h++) {
  const client = `10.0.0.${20 + h}`;
  let t = T0 + randInt(0, 20_000_000);
  while (t < T0 + 540_000_000) {
    const i = randInt(0, SITES.length - 1);
    const host = SITES[i]!;
    t = lookup(client, host, siteIp(i), t);
    t = httpsSession(client, host, siteIp(i), t, i, randInt(1, 6));
    if (rand() < 0.25) {
      const s = new TcpSession(client, '198.51.100.20', randInt(49152, 65535), 80, t, 20000).handshake();
      s.send(
        true,
        Buffer.from(
          `GET /index.html HTTP/1.1\r\nHost: intranet.example\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0\r\nAccept: */*\r\n\r\n`,
        ),
      );
      s.send(
        false,
        cat(
          Buffer.from(
            'HTTP/1.1 200 OK\r\nServer: nginx/1.24.0\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n\r\n',
          ),
          randBytes(5000),
        ),
      );
      t = s.close().t;
    }
    t += randInt(5_000_000, 60_000_000);
  }
}

// ---- beaconing implant: same small exchange every ~30 s to a self-signed server, no SNI, old cipher list.
const C2 = '203.0.113.50';
for (let t = T0 + 15_000_000, k = 0; t < T0 + 580_000_000; t += 30_000_000 + randInt(-2_000_000, 2_000_000), k++) {
  const s = new TcpSession('10.0.0.66', C2, randInt(49152, 65535), 443, t, 90000).handshake();
  s.send(
    true,
    clientHello({ ciphers: [0xc014, 0xc013, 0x0035, 0x002f, 0x000a], groups: [0x0017], random: randBytes(32) }),
  );
  s.send(false, serverFlight({ cipher: 0xc014, random: randBytes(32), chain: [c2Cert] }));
  s.send(true, cat(record(22, randBytes(262)), record(20, Uint8Array.of(1)), record(22, randBytes(48))));
  s.send(false, cat(record(20, Uint8Array.of(1)), record(22, randBytes(48))));
  s.send(true, record(23, randBytes(213)));
  s.send(false, record(23, randBytes(k % 7 === 3 ? 4200 : 85)));
  s.close();
}

// ---- SYN port scan: one source, 300 ports, RST from closed ports, SYN-ACK from open ones.
for (let p = 1; p <= 300; p++) {
  const t = T0 + 200_000_000 + p * 2000;
  packets.push({
    tsUs: t,
    data: tcpFrame({ src: '10.0.0.99', dst: '10.0.0.5', sport: 61000, dport: p, flags: 'S', seq: 1000 }),
  });
  const open = p === 22 || p === 80 || p === 443;
  packets.push({
    tsUs: t + 150,
    data: tcpFrame({ src: '10.0.0.5', dst: '10.0.0.99', sport: p, dport: 61000, flags: open ? 'SA' : 'RA', ack: 1001 }),
  });
  if (open)
    packets.push({
      tsUs: t + 300,
      data: tcpFrame({ src: '10.0.0.99', dst: '10.0.0.5', sport: 61000, dport: p, flags: 'R', seq: 1001 }),
    });
}

// ---- SYN flood from spoofed sources at the web server.
for (let i = 0; i < 400; i++) {
  const t = T0 + 400_000_000 + i * 500;
  const src = `${randInt(1, 223)}.${randInt(0, 255)}.${randInt(0, 255)}.${randInt(1, 254)}`;
  packets.push({
    tsUs: t,
    data: tcpFrame({
      src,
      dst: '10.0.0.80',
      sport: randInt(1024, 65535),
      dport: 80,
      flags: 'S',
      seq: randInt(1, 2 ** 31),
    }),
  });
}

// ---- DNS tunnelling-like: long random labels under one domain.
for (let i = 0, t = T0 + 100_000_000; i < 60; i++, t += randInt(1_000_000, 4_000_000)) {
  const label = Array.from({ length: 52 }, () => 'abcdefghijklmnopqrstuvwxyz0123456789'[randInt(0, 35)]).join('');
  lookup('10.0.0.77', `${label}.t.exfil-example.net`, rand() < 0.5 ? null : '192.0.2.53', t);
}

packets.sort((a, b) => a.tsUs - b.tsUs);
const out = process.argv[2] ?? 'demo/sample.pcap';
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, writePcap(packets, { linkType: 1 }));
console.error(`wrote ${out}: ${packets.length} packets, ${resolved.size} names resolved`);
