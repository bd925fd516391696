/**
 * Just enough TLS 1.2 and X.509 writing to put realistic handshakes into the demo capture: ClientHello (SNI,
 * ALPN, groups, signature algorithms, GREASE), ServerHello, Certificate with real Ed25519-signed certificates made
 * from fixed seeds (so the sample is byte-identical on every run), ServerHelloDone, and application-data records.
 * Formats: RFC 5246 §7.4 (handshake), RFC 8446 §4.2 (extensions), RFC 5280 §4.1 (certificate), X.690 (DER).
 */
import { createPrivateKey, createPublicKey, sign } from 'node:crypto';

const u8 = (...b: number[]) => Uint8Array.from(b);
const u16 = (n: number) => u8(n >> 8, n & 255);
const u24 = (n: number) => u8(n >> 16, (n >> 8) & 255, n & 255);
export function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
const ascii = (s: string) => Uint8Array.from(Buffer.from(s, 'latin1'));
const vec16 = (b: Uint8Array) => cat(u16(b.length), b);
const vec8 = (b: Uint8Array) => cat(u8(b.length), b);

// ---- DER (X.690)
function derLen(n: number): Uint8Array {
  if (n < 128) return u8(n);
  const bytes: number[] = [];
  while (n > 0) {
    bytes.unshift(n & 255);
    n >>= 8;
  }
  return u8(0x80 | bytes.length, ...bytes);
}
const tlv = (tag: number, body: Uint8Array) => cat(u8(tag), derLen(body.length), body);
const seq = (...items: Uint8Array[]) => tlv(0x30, cat(...items));
const set = (...items: Uint8Array[]) => tlv(0x31, cat(...items));
function oid(dotted: string): Uint8Array {
  const parts = dotted.split('.').map(Number);
  const out = [40 * parts[0]! + parts[1]!];
  for (const p of parts.slice(2)) {
    const stack = [p & 0x7f];
    let v = p >> 7;
    while (v > 0) {
      stack.unshift(0x80 | (v & 0x7f));
      v >>= 7;
    }
    out.push(...stack);
  }
  return tlv(0x06, Uint8Array.from(out));
}
const integer = (b: Uint8Array) => tlv(0x02, b[0]! & 0x80 ? cat(u8(0), b) : b);
function utcTime(d: Date): Uint8Array {
  const p = (n: number) => String(n).padStart(2, '0');
  return tlv(
    0x17,
    ascii(
      `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`,
    ),
  );
}

export interface Name {
  cn: string;
  o?: string;
  c?: string;
}
function name(n: Name): Uint8Array {
  const rdn = (o: string, v: Uint8Array) => set(seq(oid(o), v));
  const parts: Uint8Array[] = [];
  if (n.c) parts.push(rdn('2.5.4.6', tlv(0x13, ascii(n.c))));
  if (n.o) parts.push(rdn('2.5.4.10', tlv(0x0c, ascii(n.o))));
  parts.push(rdn('2.5.4.3', tlv(0x0c, ascii(n.cn))));
  return seq(...parts);
}

/** An Ed25519 key pair from a fixed 32-byte seed (RFC 8410 PKCS#8 wrapping). */
function keyFromSeed(seed: number) {
  const raw = new Uint8Array(32).fill(seed & 255);
  const pkcs8 = cat(Uint8Array.from(Buffer.from('302e020100300506032b657004220420', 'hex')), raw);
  const privateKey = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
  const spki = new Uint8Array(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }));
  return { privateKey, spki };
}

export interface CertSpec {
  subject: Name;
  issuer: Name;
  serial: number;
  notBefore: Date;
  notAfter: Date;
  san?: string[];
  /** Seed of the subject's key; the issuer's key seed signs (same seed = self-signed). */
  keySeed: number;
  issuerKeySeed: number;
}

/** A DER X.509 v3 certificate, really signed with Ed25519 (OID 1.3.101.112). */
export function certificate(s: CertSpec): Uint8Array {
  const alg = seq(oid('1.3.101.112'));
  const exts: Uint8Array[] = [];
  if (s.san?.length) {
    const names = cat(...s.san.map((d) => tlv(0x82, ascii(d))));
    exts.push(seq(oid('2.5.29.17'), tlv(0x04, seq(names))));
  }
  const tbs = seq(
    tlv(0xa0, integer(u8(2))),
    integer(u8((s.serial >> 24) & 255, (s.serial >> 16) & 255, (s.serial >> 8) & 255, s.serial & 255)),
    alg,
    name(s.issuer),
    seq(utcTime(s.notBefore), utcTime(s.notAfter)),
    name(s.subject),
    keyFromSeed(s.keySeed).spki,
    ...(exts.length ? [tlv(0xa3, seq(...exts))] : []),
  );
  const sig = new Uint8Array(sign(null, tbs, keyFromSeed(s.issuerKeySeed).privateKey));
  return seq(tbs, alg, tlv(0x03, cat(u8(0), sig)));
}

// ---- TLS records and handshakes
export const record = (type: number, body: Uint8Array, version = 0x0303) =>
  cat(u8(type), u16(version), u16(body.length), body);
const handshake = (type: number, body: Uint8Array) => cat(u8(type), u24(body.length), body);
const ext = (type: number, body: Uint8Array) => cat(u16(type), u16(body.length), body);

export interface ClientHelloSpec {
  sni?: string;
  alpn?: string[];
  ciphers: number[];
  groups?: number[];
  sigAlgs?: number[];
  grease?: boolean;
  supportedVersions?: number[];
  random: Uint8Array;
}

export function clientHello(s: ClientHelloSpec): Uint8Array {
  const g = s.grease ? [0x0a0a] : [];
  const exts: Uint8Array[] = [];
  if (s.grease) exts.push(ext(0x1a1a, new Uint8Array(0)));
  if (s.sni) exts.push(ext(0, vec16(cat(u8(0), vec16(ascii(s.sni))))));
  exts.push(ext(23, new Uint8Array(0))); // extended_master_secret
  exts.push(ext(0xff01, u8(0))); // renegotiation_info
  if (s.groups) exts.push(ext(10, vec16(cat(...[...g, ...s.groups].map(u16)))));
  exts.push(ext(11, vec8(u8(0)))); // ec_point_formats: uncompressed
  exts.push(ext(35, new Uint8Array(0))); // session_ticket
  if (s.alpn) exts.push(ext(16, vec16(cat(...s.alpn.map((p) => vec8(ascii(p)))))));
  if (s.sigAlgs) exts.push(ext(13, vec16(cat(...s.sigAlgs.map(u16)))));
  if (s.supportedVersions) exts.push(ext(43, vec8(cat(...[...g, ...s.supportedVersions].map(u16)))));
  const body = cat(
    u16(0x0303),
    s.random,
    vec8(new Uint8Array(0)),
    vec16(cat(...[...g, ...s.ciphers].map(u16))),
    vec8(u8(0)),
    vec16(cat(...exts)),
  );
  return record(22, handshake(1, body), 0x0301);
}

export function serverFlight(opts: {
  cipher: number;
  alpn?: string;
  random: Uint8Array;
  chain: Uint8Array[];
}): Uint8Array {
  const exts: Uint8Array[] = [ext(0xff01, u8(0)), ext(23, new Uint8Array(0))];
  if (opts.alpn) exts.push(ext(16, vec16(vec8(ascii(opts.alpn)))));
  const hello = handshake(
    2,
    cat(u16(0x0303), opts.random, vec8(new Uint8Array(32).fill(7)), u16(opts.cipher), u8(0), vec16(cat(...exts))),
  );
  const certs = cat(...opts.chain.map((c) => cat(u24(c.length), c)));
  const certificateMsg = handshake(11, cat(u24(certs.length), certs));
  const done = handshake(14, new Uint8Array(0));
  // One record holding all three messages, as many servers send it.
  return record(22, cat(hello, certificateMsg, done));
}
