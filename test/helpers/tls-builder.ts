/**
 * Crafted TLS / X.509 / QUIC bytes for tests: every fixture is built here by code, field by field, so a test can
 * say exactly what is wrong with a malformed case. Nothing here parses; it only writes.
 */
import { createCipheriv } from 'node:crypto';
import { PacketView } from '../../src/decode/packet.ts';
import { initialKeys } from '../../src/proto/quic.ts';

export function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export const u8 = (v: number): number[] => [v & 0xff];
export const u16 = (v: number): number[] => [(v >> 8) & 0xff, v & 0xff];
export const u24 = (v: number): number[] => [(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
export const vec8 = (...p: (Uint8Array | number[])[]): Uint8Array => {
  const b = concat(...p);
  return concat(u8(b.length), b);
};
export const vec16 = (...p: (Uint8Array | number[])[]): Uint8Array => {
  const b = concat(...p);
  return concat(u16(b.length), b);
};
export const vec24 = (...p: (Uint8Array | number[])[]): Uint8Array => {
  const b = concat(...p);
  return concat(u24(b.length), b);
};
export const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
export const u16list = (vs: number[]): number[] => vs.flatMap(u16);

export interface Extension {
  type: number;
  data: Uint8Array | number[];
}

export const ext = (type: number, data: Uint8Array | number[] = []): Extension => ({ type, data });
export const extSni = (name: string): Extension => ext(0, vec16(u8(0), vec16(ascii(name))));
export const extAlpn = (protos: string[]): Extension => ext(16, vec16(...protos.map((p) => vec8(ascii(p)))));
export const extGroups = (groups: number[]): Extension => ext(10, vec16(u16list(groups)));
export const extPointFormats = (pf: number[]): Extension => ext(11, vec8(pf));
export const extSigAlgs = (algs: number[]): Extension => ext(13, vec16(u16list(algs)));
export const extVersions = (vs: number[]): Extension => ext(43, vec8(u16list(vs)));
export const extKeyShare = (groups: number[]): Extension =>
  ext(51, vec16(...groups.map((g) => concat(u16(g), vec16(new Uint8Array(g === 29 ? 32 : 1))))));

export interface ClientHelloSpec {
  version?: number;
  sessionId?: Uint8Array;
  ciphers?: number[];
  compression?: number[];
  /** undefined = no extension block at all (SSL 3.0 style). */
  extensions?: Extension[];
}

/** ClientHello body (RFC 8446 §4.1.2), without the 4-byte handshake header. */
export function clientHelloBody(spec: ClientHelloSpec = {}): Uint8Array {
  const parts: (Uint8Array | number[])[] = [
    u16(spec.version ?? 0x0303),
    new Uint8Array(32).fill(7),
    vec8(spec.sessionId ?? new Uint8Array(0)),
    vec16(u16list(spec.ciphers ?? [0x1301, 0xc02f])),
    vec8(spec.compression ?? [0]),
  ];
  if (spec.extensions !== undefined) {
    parts.push(vec16(...spec.extensions.map((e) => concat(u16(e.type), vec16(e.data)))));
  }
  return concat(...parts);
}

export interface ServerHelloSpec {
  version?: number;
  sessionId?: Uint8Array;
  cipher?: number;
  extensions?: Extension[];
  random?: Uint8Array;
}

export function serverHelloBody(spec: ServerHelloSpec = {}): Uint8Array {
  const parts: (Uint8Array | number[])[] = [
    u16(spec.version ?? 0x0303),
    spec.random ?? new Uint8Array(32).fill(9),
    vec8(spec.sessionId ?? new Uint8Array(0)),
    u16(spec.cipher ?? 0xc02f),
    u8(0),
  ];
  if (spec.extensions !== undefined) {
    parts.push(vec16(...spec.extensions.map((e) => concat(u16(e.type), vec16(e.data)))));
  }
  return concat(...parts);
}

/** Handshake message: type(1) length(3) body (RFC 8446 §4). */
export const handshake = (type: number, body: Uint8Array): Uint8Array => concat(u8(type), vec24(body));
/** TLS record: type(1) version(2) length(2) fragment (RFC 8446 §5.1). */
export const record = (type: number, fragment: Uint8Array | number[], version = 0x0301): Uint8Array =>
  concat(u8(type), u16(version), vec16(fragment));
/** A handshake stream split into records of at most `max` bytes (RFC 8446 §5.1: 2^14). */
export function records(type: number, data: Uint8Array, version = 0x0303, max = 16384): Uint8Array {
  const out: Uint8Array[] = [];
  for (let off = 0; off < data.length; off += max) out.push(record(type, data.subarray(off, off + max), version));
  return concat(...out);
}
/** Certificate message body (RFC 5246 §7.4.2): certificate_list<0..2^24-1> of DER certs with 3-byte lengths. */
export const certificateBody = (ders: Uint8Array[]): Uint8Array => vec24(...ders.map((d) => vec24(d)));

// ---- DER (X.690) ----------------------------------------------------------------------------------------------

export function derLen(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  while (n > 0) {
    bytes.unshift(n & 0xff);
    n = Math.floor(n / 256);
  }
  return [0x80 | bytes.length, ...bytes];
}
export const der = (tag: number, ...content: (Uint8Array | number[])[]): Uint8Array => {
  const c = concat(...content);
  return concat([tag], derLen(c.length), c);
};
export const seq = (...c: (Uint8Array | number[])[]): Uint8Array => der(0x30, ...c);
export const set = (...c: (Uint8Array | number[])[]): Uint8Array => der(0x31, ...c);
export function oid(dotted: string): Uint8Array {
  const parts = dotted.split('.').map(Number);
  const out: number[] = [parts[0]! * 40 + parts[1]!];
  for (const v of parts.slice(2)) {
    const b: number[] = [v & 0x7f];
    let x = Math.floor(v / 128);
    while (x > 0) {
      b.unshift(0x80 | (x & 0x7f));
      x = Math.floor(x / 128);
    }
    out.push(...b);
  }
  return der(0x06, out);
}
export const utf8Str = (s: string): Uint8Array => der(0x0c, new TextEncoder().encode(s));
export const printable = (s: string): Uint8Array => der(0x13, ascii(s));
export const utcTime = (s: string): Uint8Array => der(0x17, ascii(s));
export const genTime = (s: string): Uint8Array => der(0x18, ascii(s));

export interface NameSpec {
  CN?: string;
  O?: string;
  C?: string;
}
export function name(n: NameSpec): Uint8Array {
  const rdns: Uint8Array[] = [];
  if (n.C !== undefined) rdns.push(set(seq(oid('2.5.4.6'), printable(n.C))));
  if (n.O !== undefined) rdns.push(set(seq(oid('2.5.4.10'), utf8Str(n.O))));
  if (n.CN !== undefined) rdns.push(set(seq(oid('2.5.4.3'), utf8Str(n.CN))));
  return seq(...rdns);
}

export interface CertSpec {
  serial?: number[];
  subject?: NameSpec;
  issuer?: NameSpec;
  notBefore?: Uint8Array;
  notAfter?: Uint8Array;
  /** RSA modulus length in bytes (a leading 0x00 is added as DER requires for a set top bit). */
  rsaModulusBytes?: number;
  /** Use an EC P-256 key instead of RSA. */
  ecP256?: boolean;
  san?: string[];
  sigOid?: string;
}

/** A structurally valid X.509 v3 certificate (RFC 5280 §4.1); the signature is filler, never verified. */
export function buildCertificate(spec: CertSpec = {}): Uint8Array {
  const sigAlg = seq(oid(spec.sigOid ?? '1.2.840.113549.1.1.11'), der(0x05));
  let spki: Uint8Array;
  if (spec.ecP256) {
    const point = new Uint8Array(65).fill(1);
    point[0] = 4;
    spki = seq(seq(oid('1.2.840.10045.2.1'), oid('1.2.840.10045.3.1.7')), der(0x03, [0], point));
  } else {
    const mod = new Uint8Array((spec.rsaModulusBytes ?? 256) + 1).fill(0xc5);
    mod[0] = 0;
    const rsaKey = seq(der(0x02, mod), der(0x02, [1, 0, 1]));
    spki = seq(seq(oid('1.2.840.113549.1.1.1'), der(0x05)), der(0x03, [0], rsaKey));
  }
  const exts: Uint8Array[] = [];
  if (spec.san !== undefined) {
    const names = seq(...spec.san.map((n) => der(0x82, ascii(n))));
    exts.push(seq(oid('2.5.29.17'), der(0x04, names)));
  }
  exts.push(seq(oid('2.5.29.19'), der(0x01, [0xff]), der(0x04, seq(der(0x01, [0])))));
  const tbs = seq(
    der(0xa0, der(0x02, [2])),
    der(0x02, spec.serial ?? [0x10, 0x8b]),
    sigAlg,
    name(spec.issuer ?? { CN: 'Test CA', O: 'Flowsieve', C: 'US' }),
    seq(spec.notBefore ?? utcTime('230101000000Z'), spec.notAfter ?? utcTime('240101000000Z')),
    name(spec.subject ?? { CN: 'example.test' }),
    spki,
    der(0xa3, seq(...exts)),
  );
  return seq(tbs, sigAlg, der(0x03, [0], new Uint8Array(64).fill(0xab)));
}

// ---- QUIC (RFC 9000 §17.2.2, RFC 9001 §5) ---------------------------------------------------------------------

export function varint(v: number): number[] {
  if (v < 64) return [v];
  if (v < 16384) return [0x40 | (v >> 8), v & 0xff];
  if (v < 2 ** 30) return [0x80 | (v >>> 24), (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
  throw new Error('varint too large for tests');
}

/** CRYPTO frame (RFC 9000 §19.6). */
export const cryptoFrame = (offset: number, data: Uint8Array): Uint8Array =>
  concat([0x06], varint(offset), varint(data.length), data);

export interface InitialSpec {
  version?: number;
  dcid: Uint8Array;
  scid?: Uint8Array;
  packetNumber?: number;
  /** Plaintext frames; PADDING is appended up to `padTo` bytes of plaintext. */
  frames: Uint8Array;
  padTo?: number;
  token?: Uint8Array;
  /** DCID the Initial keys come from when it differs from the header's (client after the server's reply). */
  keyDcid?: Uint8Array;
}

/**
 * A protected client Initial packet: header, 2-byte packet number, AES-128-GCM payload and header protection,
 * using the same key schedule the parser derives (its correctness is pinned separately by RFC 9001 Appendix A).
 */
export function buildInitial(spec: InitialSpec): Uint8Array {
  const version = spec.version ?? 1;
  const keys = initialKeys(version, spec.keyDcid ?? spec.dcid, 'client');
  if (keys === undefined) throw new Error('version without Initial keys');
  const initialType = version === 0x6b3343cf ? 1 : 0;
  const pn = spec.packetNumber ?? 0;
  const pnLen = 2;
  const plain = new Uint8Array(Math.max(spec.frames.length, spec.padTo ?? 0));
  plain.set(spec.frames);
  const length = pnLen + plain.length + 16;
  const first = 0xc0 | (initialType << 4) | (pnLen - 1);
  const header = concat(
    [first],
    [(version >>> 24) & 0xff, (version >>> 16) & 0xff, (version >>> 8) & 0xff, version & 0xff],
    vec8(spec.dcid),
    vec8(spec.scid ?? new Uint8Array(0)),
    varint(spec.token?.length ?? 0),
    spec.token ?? new Uint8Array(0),
    [0x40 | (length >> 8), length & 0xff],
    u16(pn),
  );
  const nonce = Buffer.from(keys.iv);
  nonce[10] = nonce[10]! ^ ((pn >> 8) & 0xff);
  nonce[11] = nonce[11]! ^ (pn & 0xff);
  const gcm = createCipheriv('aes-128-gcm', keys.key, nonce);
  gcm.setAAD(header);
  const ct = concat(gcm.update(plain), gcm.final(), gcm.getAuthTag());
  const packet = concat(header, ct);
  const pnOffset = header.length - pnLen;
  const ecb = createCipheriv('aes-128-ecb', keys.hp, null);
  const mask = ecb.update(packet.subarray(pnOffset + 4, pnOffset + 20));
  packet[0] = packet[0]! ^ (mask[0]! & 0x0f);
  for (let i = 0; i < pnLen; i++) packet[pnOffset + i] = packet[pnOffset + i]! ^ mask[1 + i]!;
  return packet;
}

// ---- Packets for meters ---------------------------------------------------------------------------------------

/** A PacketView carrying `payload` as its transport payload (what a meter's onUpdate sees). */
export function packet(
  payload: Uint8Array,
  opts: { protocol?: number; seq?: number; flags?: number; tsUs?: number } = {},
): PacketView {
  const v = new PacketView();
  v.buf = payload;
  v.payloadOffset = 0;
  v.payloadLen = payload.length;
  v.payloadWireLen = payload.length;
  v.protocol = opts.protocol ?? 6;
  v.tcpSeq = (opts.seq ?? 0) >>> 0;
  v.tcpFlags = opts.flags ?? 0x18;
  v.tsUs = opts.tsUs ?? 1_700_000_000_000_000;
  return v;
}
